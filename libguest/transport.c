/*
 * Address parsing and the three transports.  Every connect has a deadline
 * and every failure is turned into words a person can act on.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include "guest/transport.h"
#include "guest/util.h"

static int
parse_u32(const char *s, size_t n, uint32_t *out)
{
	char tmp[16], *end;
	unsigned long long v;

	if (n == 0 || n >= sizeof tmp)
		return -EINVAL;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (tmp[0] < '0' || tmp[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(tmp, &end, 10);
	if (errno != 0 || *end != '\0' || v > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int
parse_path(const char *s, size_t n, char *out, const char *what,
    struct guest_error *e)
{
	if (n == 0)
		return guest_error_set(e, -EINVAL, "%s: empty socket path", what);
	if (n >= GUEST_ADDR_PATH_MAX)
		return guest_error_set(e, -ENAMETOOLONG,
		    "%s: socket path longer than %d bytes", what,
		    GUEST_ADDR_PATH_MAX - 1);
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

int
guest_addr_parse(const char *s, int flags, struct guest_addr *out,
    struct guest_error *e)
{
	struct guest_addr a;
	const char *rest, *colon;
	int r;

	memset(&a, 0, sizeof a);
	if (strncmp(s, "vsock:", 6) == 0) {
		a.kind = GUEST_ADDR_VSOCK;
		rest = s + 6;
		colon = strchr(rest, ':');
		if (colon == NULL) {
			if (!(flags & GUEST_ADDR_LISTEN))
				return guest_error_set(e, -EINVAL,
				    "%s: expected vsock:CID:PORT", s);
			a.cid = GUEST_CID_ANY;
			if (parse_u32(rest, strlen(rest), &a.port) < 0)
				return guest_error_set(e, -EINVAL,
				    "%s: bad port", s);
		} else {
			if (strcmp(rest, "") == 0 ||
			    parse_u32(rest, (size_t)(colon - rest), &a.cid) < 0)
				return guest_error_set(e, -EINVAL,
				    "%s: bad CID", s);
			if (parse_u32(colon + 1, strlen(colon + 1), &a.port) < 0)
				return guest_error_set(e, -EINVAL,
				    "%s: bad port", s);
			if (a.cid == GUEST_CID_ANY && !(flags & GUEST_ADDR_LISTEN))
				return guest_error_set(e, -EINVAL,
				    "%s: cannot connect to CID %" PRIu32, s,
				    a.cid);
		}
		if (a.port == 0xffffffffu)
			return guest_error_set(e, -EINVAL, "%s: bad port", s);
	} else if (strncmp(s, "unix:", 5) == 0) {
		a.kind = GUEST_ADDR_UNIX;
		if ((r = parse_path(s + 5, strlen(s + 5), a.path, s, e)) < 0)
			return r;
	} else if (strncmp(s, "hvsock:", 7) == 0) {
		if (flags & GUEST_ADDR_LISTEN)
			return guest_error_set(e, -EINVAL,
			    "%s: cannot listen on hvsock (listen on unix:PATH_PORT)",
			    s);
		a.kind = GUEST_ADDR_HVSOCK;
		rest = s + 7;
		colon = strrchr(rest, ':');
		if (colon == NULL)
			return guest_error_set(e, -EINVAL,
			    "%s: expected hvsock:PATH:PORT", s);
		if ((r = parse_path(rest, (size_t)(colon - rest), a.path, s,
		    e)) < 0)
			return r;
		if (parse_u32(colon + 1, strlen(colon + 1), &a.port) < 0)
			return guest_error_set(e, -EINVAL, "%s: bad port", s);
	} else {
		return guest_error_set(e, -EINVAL,
		    "%s: unknown address (use vsock:CID:PORT, unix:PATH or "
		    "hvsock:PATH:PORT)", s);
	}
	*out = a;
	return 0;
}

char *
guest_addr_format(const struct guest_addr *a, char *buf, size_t n)
{
	switch (a->kind) {
	case GUEST_ADDR_VSOCK:
		if (a->cid == GUEST_CID_ANY)
			snprintf(buf, n, "vsock:%" PRIu32, a->port);
		else
			snprintf(buf, n, "vsock:%" PRIu32 ":%" PRIu32, a->cid,
			    a->port);
		break;
	case GUEST_ADDR_UNIX:
		snprintf(buf, n, "unix:%s", a->path);
		break;
	case GUEST_ADDR_HVSOCK:
		snprintf(buf, n, "hvsock:%s:%" PRIu32, a->path, a->port);
		break;
	}
	return buf;
}

static socklen_t
make_sockaddr(const struct guest_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	if (a->kind == GUEST_ADDR_VSOCK) {
		struct sockaddr_vm *vm = (struct sockaddr_vm *)ss;

		vm->svm_family = AF_VSOCK;
		vm->svm_cid = a->cid;
		vm->svm_port = a->port;
		return sizeof *vm;
	} else {
		struct sockaddr_un *un = (struct sockaddr_un *)ss;

		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, a->path, strlen(a->path) + 1);
		return (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
		    strlen(a->path) + 1);
	}
}

/* The words for a failed connect, by transport; ms is how long it took. */
static int
connect_error(const struct guest_addr *a, int err, int ms, const char *why,
    struct guest_error *e)
{
	char s[GUEST_ADDR_STR_MAX], hint[128] = "";

	guest_addr_format(a, s, sizeof s);
	if (why != NULL)
		snprintf(hint, sizeof hint, " (%s)", why);
	switch (err) {
	case ECONNRESET:
	case ECONNREFUSED:
		return guest_error_set(e, -err,
		    "cannot connect to %s: nothing listening%s", s, hint);
	case ENOENT:
		return guest_error_set(e, -err,
		    "cannot connect to %s: no such socket%s", s, hint);
	case ENODEV:
	case EHOSTUNREACH:
	case ENETUNREACH:
		return guest_error_set(e, -err,
		    "cannot connect to %s: no VM with CID %" PRIu32
		    " (is it running, with a vsock device?)", s, a->cid);
	case ETIMEDOUT:
		/* vsock: the host's vhost (or the guest's transport) sent the
		 * request and nothing came back: no guest kernel answering
		 * on that CID yet, rather than no agent. */
		if (a->kind == GUEST_ADDR_VSOCK)
			return guest_error_set(e, -err,
			    "cannot connect to %s: no answer from CID %" PRIu32
			    " in %d ms (is the guest still booting, or without "
			    "a vsock driver?)", s, a->cid, ms);
		return guest_error_set(e, -err,
		    "cannot connect to %s: timed out after %d ms%s", s, ms,
		    hint);
	case EACCES:
	case EPERM:
		return guest_error_set(e, -err,
		    "cannot connect to %s: permission denied", s);
	case EAFNOSUPPORT:
		return guest_error_set(e, -err,
		    "cannot connect to %s: this kernel has no vsock support "
		    "(modprobe vhost_vsock or vsock_loopback?)", s);
	default:
		return guest_error_set(e, -err, "cannot connect to %s: %s", s,
		    strerror(err));
	}
}

/* The ms a connect took when it failed: the kernel's own timeout (vsock
 * gives up after 2 s) can come before ours. */
static int
spent(int64_t deadline, int timeout_ms)
{
	int64_t ms = guest_now_ms() - (deadline - timeout_ms);

	return ms < 0 ? 0 : ms > timeout_ms ? timeout_ms : (int)ms;
}

/* Firecracker's hybrid vsock: "CONNECT PORT\n", then "OK N\n". */
static int
hvsock_handshake(int fd, const struct guest_addr *a, int64_t deadline,
    int timeout_ms, const char *why, struct guest_error *e)
{
	char line[32], s[GUEST_ADDR_STR_MAX];
	size_t got = 0;
	ssize_t n;
	int len, r;

	guest_addr_format(a, s, sizeof s);
	len = snprintf(line, sizeof line, "CONNECT %" PRIu32 "\n", a->port);
	if (send(fd, line, (size_t)len, MSG_NOSIGNAL) != len)
		return guest_error_set(e, -errno, "cannot connect to %s: %s",
		    s, strerror(errno));
	/* Read byte by byte: whatever follows the newline is the agent's. */
	while (got < sizeof line - 1) {
		if ((r = guest_wait_fd(fd, POLLIN, deadline)) < 0)
			return connect_error(a, -r, spent(deadline, timeout_ms),
			    why, e);
		n = read(fd, line + got, 1);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return connect_error(a, errno, spent(deadline,
			    timeout_ms), why, e);
		if (n == 0)
			return guest_error_set(e, -ECONNRESET,
			    "cannot connect to %s: the VMM closed the connection "
			    "(nothing listening on port %" PRIu32
			    " in the guest?%s%s)", s, a->port,
			    why ? " " : "", why ? why : "");
		if (line[got++] == '\n')
			break;
	}
	line[got] = '\0';
	if (strncmp(line, "OK ", 3) != 0 || line[got - 1] != '\n')
		return guest_error_set(e, -EPROTO,
		    "cannot connect to %s: unexpected answer from the VMM: %.*s",
		    s, (int)strcspn(line, "\n"), line);
	return 0;
}

int
guest_connect(const struct guest_addr *a, int timeout_ms, const char *why,
    int *fdp, struct guest_error *e)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int64_t deadline;
	int fd, r, err = 0;
	socklen_t el = sizeof err;

	if (timeout_ms <= 0)
		timeout_ms = GUEST_CONNECT_TIMEOUT_MS;
	deadline = guest_now_ms() + timeout_ms;
	sl = make_sockaddr(a, &ss);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (fd < 0)
		return connect_error(a, errno, spent(deadline, timeout_ms),
		    why, e);
	/* A Unix socket whose listener's backlog is full says EAGAIN and
	 * queues nothing (no connect completes later, whatever poll says):
	 * try again, as the listener drains it, until the deadline. */
	while ((r = connect(fd, (struct sockaddr *)&ss, sl)) < 0 &&
	    errno == EAGAIN && ss.ss_family == AF_UNIX) {
		if (guest_now_ms() >= deadline) {
			errno = ETIMEDOUT;
			break;
		}
		usleep(2000);
	}
	if (r < 0) {
		if (errno != EINPROGRESS && errno != EAGAIN) {
			r = connect_error(a, errno, spent(deadline,
			    timeout_ms), why, e);
			goto fail;
		}
		if ((r = guest_wait_fd(fd, POLLOUT, deadline)) < 0) {
			r = connect_error(a, -r, spent(deadline,
			    timeout_ms), why, e);
			goto fail;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
			err = errno;
		if (err != 0) {
			r = connect_error(a, err, spent(deadline,
			    timeout_ms), why, e);
			goto fail;
		}
	}
	if (a->kind == GUEST_ADDR_HVSOCK &&
	    (r = hvsock_handshake(fd, a, deadline, timeout_ms, why, e)) < 0)
		goto fail;
	guest_socket_tune(fd);
	*fdp = fd;
	return 0;
fail:
	close(fd);
	return r;
}

/* Is somebody listening on this Unix socket path?  Asked of
 * /proc/net/unix rather than by connecting: a probe connection would be
 * accepted, and a one-shot listener (socat-listen) would take it for its
 * one peer. */
static bool
unix_listening(const char *path)
{
	char line[512];
	unsigned long flags;
	bool found = false;
	int off = 0;
	FILE *f;

	if ((f = fopen("/proc/net/unix", "re")) == NULL)
		return true;	/* cannot tell: do not take it over */
	while (!found && fgets(line, sizeof line, f) != NULL) {
		/* Num RefCount Protocol Flags Type St Inode Path: the path
		 * is the rest of the line, spaces and all. */
		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%*s %*s %*s %lx %*s %*s %*s %n", &flags,
		    &off) == 1 && off > 0 && (flags & 0x10000) &&
		    strcmp(line + off, path) == 0)
			found = true;
	}
	fclose(f);
	return found;
}

int
guest_listen(const struct guest_addr *a, int *fdp, struct guest_error *e)
{
	struct sockaddr_storage ss;
	char s[GUEST_ADDR_STR_MAX];
	struct stat st;
	socklen_t sl;
	mode_t old;
	int fd, r;

	guest_addr_format(a, s, sizeof s);
	if (a->kind == GUEST_ADDR_HVSOCK)
		return guest_error_set(e, -EINVAL, "cannot listen on %s", s);
	sl = make_sockaddr(a, &ss);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (fd < 0)
		return guest_error_set(e, -errno, "cannot listen on %s: %s", s,
		    errno == EAFNOSUPPORT ? "this kernel has no vsock support" :
		    strerror(errno));
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&ss, sl);
	/* A socket file nobody listens on is left from a crash: replace it. */
	if (r < 0 && errno == EADDRINUSE && a->kind == GUEST_ADDR_UNIX &&
	    lstat(a->path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    !unix_listening(a->path) && unlink(a->path) == 0)
		r = bind(fd, (struct sockaddr *)&ss, sl);
	umask(old);
	if (r < 0) {
		r = -errno;
		guest_error_set(e, r, "cannot listen on %s: %s", s,
		    r == -EADDRINUSE ? "address in use" : strerror(-r));
		goto fail;
	}
	if (a->kind == GUEST_ADDR_UNIX && chmod(a->path, 0600) < 0) {
		r = guest_error_set(e, -errno, "cannot listen on %s: chmod: %s",
		    s, strerror(errno));
		goto fail;
	}
	if (listen(fd, 128) < 0) {
		r = guest_error_set(e, -errno, "cannot listen on %s: %s", s,
		    strerror(errno));
		goto fail;
	}
	*fdp = fd;
	return 0;
fail:
	close(fd);
	return r;
}

int
guest_vsock_local_cid(uint32_t *cid)
{
	unsigned int c;
	int fd, r = 0;

	fd = open("/dev/vsock", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &c) < 0)
		r = -errno;
	else
		*cid = c;
	close(fd);
	return r;
}

void
guest_socket_tune(int fd)
{
	int sz = 1024 * 1024;

	/* Best effort: the kernel clamps to its limits. */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
}
