/*
 * guest list's fast path: libvirt's remote protocol spoken directly to a
 * local daemon's Unix socket (host only), so that a refresh does not pay
 * for loading libvirt's client library (17 ms of 25 here).
 *
 * Only what a refresh needs: open the connection (read-only, the socket's
 * auth "none"), one CONNECT_GET_ALL_DOMAIN_STATS for every domain and its
 * state, close.  The protocol is libvirt's stable wire format (XDR over
 * the daemon's socket, src/remote/remote_protocol.x); procedure numbers
 * never change.  Anything else (a remote URI, another driver, the test
 * driver, SASL or polkit auth, a domain whose CID has to be read from its
 * XML) is left to the libvirt module, which does all of it.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "guest/util.h"
#include "guest/virt.h"
#include "guest/virt-rpc.h"

#define PROGRAM		0x20008086u	/* REMOTE_PROGRAM */
#define VERSION		1u
#define PROC_OPEN	1
#define PROC_CLOSE	2
#define PROC_AUTH_LIST	66
#define PROC_ALL_STATS	344		/* CONNECT_GET_ALL_DOMAIN_STATS */
#define TYPE_CALL	0
#define TYPE_REPLY	1
#define STATUS_OK	0
#define STATUS_ERROR	1
#define HEADER		28		/* length word and six header words */
#define MESSAGE_MAX	(32 << 20)	/* the daemon's own limit */
#define STATS_STATE	1		/* VIR_DOMAIN_STATS_STATE */
#define CONNECT_RO	1		/* VIR_CONNECT_RO */
#define TIMEOUT_MS	10000

/* Decoding ---------------------------------------------------------------- */

int
guest_xdr_u32(struct guest_xdr *x, uint32_t *v)
{
	if (x->len - x->off < 4)
		return -EBADMSG;
	*v = guest_get_be32(x->p + x->off);
	x->off += 4;
	return 0;
}

/* A string (length, bytes, padding to 4): a pointer into the buffer. */
int
guest_xdr_string(struct guest_xdr *x, const uint8_t **s, uint32_t *n)
{
	uint32_t len, padded;

	if (guest_xdr_u32(x, &len) < 0 || len > x->len - x->off)
		return -EBADMSG;
	padded = (len + 3) & ~3u;
	if (padded > x->len - x->off)
		return -EBADMSG;
	*s = x->p + x->off;
	*n = len;
	x->off += padded;
	return 0;
}

static int
skip(struct guest_xdr *x, size_t n)
{
	if (x->len - x->off < n)
		return -EBADMSG;
	x->off += n;
	return 0;
}

int
guest_virt_rpc_parse_stats(const uint8_t *p, size_t len, struct guest_vm **out,
    size_t *nout)
{
	struct guest_xdr x = { p, len, 0 };
	struct guest_vm *vms = NULL, *v;
	const uint8_t *s;
	uint32_t n, i, j, np, slen, type, val, id;
	static const char hex[] = "0123456789abcdef";
	int k, r = -EBADMSG;

	*out = NULL;
	*nout = 0;
	if (guest_xdr_u32(&x, &n) < 0 || n > (len - x.off) / 32)
		return -EBADMSG;	/* a record is 32 bytes at least */
	if (n > 0 && (vms = calloc(n, sizeof *vms)) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		v = &vms[i];
		v->cid = GUEST_NO_CID;
		/* remote_nonnull_domain: name, uuid[16], id */
		if (guest_xdr_string(&x, &s, &slen) < 0 || slen == 0 ||
		    memchr(s, '\0', slen) != NULL ||
		    (v->name = strndup((const char *)s, slen)) == NULL)
			goto fail;
		if (x.len - x.off < 16)
			goto fail;
		for (k = 0, j = 0; k < 16; k++) {
			if (k == 4 || k == 6 || k == 8 || k == 10)
				v->uuid[j++] = '-';
			v->uuid[j++] = hex[x.p[x.off + k] >> 4];
			v->uuid[j++] = hex[x.p[x.off + k] & 15];
		}
		v->uuid[j] = '\0';
		x.off += 16;
		if (guest_xdr_u32(&x, &id) < 0)
			goto fail;
		v->active = (int32_t)id >= 0;
		v->id = v->active ? (int)id : -1;
		snprintf(v->state, sizeof v->state, "no state");
		/* remote_typed_param params<> */
		if (guest_xdr_u32(&x, &np) < 0 || np > (x.len - x.off) / 12)
			goto fail;
		for (j = 0; j < np; j++) {
			const uint8_t *f;
			uint32_t flen;

			if (guest_xdr_string(&x, &f, &flen) < 0 ||
			    guest_xdr_u32(&x, &type) < 0)
				goto fail;
			switch (type) {
			case 1: case 2: case 6:		/* int, uint, bool */
				if (guest_xdr_u32(&x, &val) < 0)
					goto fail;
				if (flen == 11 && memcmp(f, "state.state", 11) == 0)
					snprintf(v->state, sizeof v->state, "%s",
					    guest_virt_state_name((int)val));
				break;
			case 3: case 4: case 5:		/* (u)hyper, double */
				if (skip(&x, 8) < 0)
					goto fail;
				break;
			case 7:				/* string */
				if (guest_xdr_string(&x, &s, &slen) < 0)
					goto fail;
				break;
			default:
				goto fail;
			}
		}
	}
	if (x.off != x.len)
		goto fail;
	*out = vms;
	*nout = n;
	return 0;
fail:
	guest_vm_list_free(vms, n);
	return r;
}

/* The connection ------------------------------------------------------------ */

struct rpc {
	int		 fd;
	uint32_t	 serial;
	uint8_t		*buf;		/* the last reply */
	size_t		 len;
};

static int
io_full(int fd, void *buf, size_t n, bool out, int64_t deadline)
{
	uint8_t *p = buf;
	ssize_t k;
	int r;

	while (n > 0) {
		k = out ? send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT) :
		    recv(fd, p, n, MSG_DONTWAIT);
		if (k > 0) {
			p += k;
			n -= (size_t)k;
			continue;
		}
		if (k == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		if ((r = guest_wait_fd(fd, out ? POLLOUT : POLLIN,
		    deadline)) < 0)
			return r;
	}
	return 0;
}

/* A call and its reply: 0 with the reply's payload in r->buf (from
 * HEADER), or a negative errno with e said. */
static int
call(struct rpc *c, int proc, const uint8_t *args, size_t alen,
    struct guest_error *e)
{
	uint8_t h[HEADER];
	uint32_t len, prog, vers, rproc, type, serial, status;
	int64_t deadline = guest_now_ms() + TIMEOUT_MS;
	struct guest_xdr x;
	const uint8_t *s;
	uint32_t slen, has;
	int r;

	c->serial++;
	guest_put_be32(h, (uint32_t)(HEADER + alen));
	guest_put_be32(h + 4, PROGRAM);
	guest_put_be32(h + 8, VERSION);
	guest_put_be32(h + 12, (uint32_t)proc);
	guest_put_be32(h + 16, TYPE_CALL);
	guest_put_be32(h + 20, c->serial);
	guest_put_be32(h + 24, STATUS_OK);
	if ((r = io_full(c->fd, h, sizeof h, true, deadline)) < 0 ||
	    (alen > 0 && (r = io_full(c->fd, (void *)args, alen, true,
	    deadline)) < 0))
		return guest_error_set(e, r, "libvirt: %s", strerror(-r));
	if ((r = io_full(c->fd, h, 4, false, deadline)) < 0)
		return guest_error_set(e, r, "libvirt: %s", strerror(-r));
	x = (struct guest_xdr){ h, 4, 0 };
	(void)guest_xdr_u32(&x, &len);
	if (len < HEADER || len > MESSAGE_MAX)
		return guest_error_set(e, -EBADMSG, "libvirt: a reply of %u "
		    "bytes", len);
	free(c->buf);
	if ((c->buf = malloc(len)) == NULL)
		return guest_error_set(e, -ENOMEM, "out of memory");
	c->len = len;
	memcpy(c->buf, h, 4);
	if ((r = io_full(c->fd, c->buf + 4, len - 4, false, deadline)) < 0)
		return guest_error_set(e, r, "libvirt: %s", strerror(-r));
	x = (struct guest_xdr){ c->buf, len, 4 };
	(void)guest_xdr_u32(&x, &prog);
	(void)guest_xdr_u32(&x, &vers);
	(void)guest_xdr_u32(&x, &rproc);
	(void)guest_xdr_u32(&x, &type);
	(void)guest_xdr_u32(&x, &serial);
	(void)guest_xdr_u32(&x, &status);
	if (prog != PROGRAM || vers != VERSION || rproc != (uint32_t)proc ||
	    type != TYPE_REPLY || serial != c->serial)
		return guest_error_set(e, -EPROTO, "libvirt: an unexpected "
		    "message (program %#x procedure %u type %u)", prog, rproc,
		    type);
	if (status == STATUS_OK)
		return 0;
	/* remote_error: code, domain, then the message (a remote_string). */
	if (status == STATUS_ERROR && skip(&x, 8) == 0 &&
	    guest_xdr_u32(&x, &has) == 0 && has == 1 &&
	    guest_xdr_string(&x, &s, &slen) == 0)
		return guest_error_set(e, -EIO, "%.*s", (int)(slen < 400 ?
		    slen : 400), (const char *)s);
	return guest_error_set(e, -EPROTO, "libvirt: status %u", status);
}

/* Which socket and which name to open, for URIs this path takes: qemu
 * (+unix) with no host, /system or /session, and no parameter but
 * socket=.  0 when it does not take uri. */
static int
local_socket(const char *uri, char *path, size_t pn, char *name, size_t nn)
{
	const char *rest, *q, *dir;
	static const char *const sys[] = {
		"/run/libvirt/virtqemud-sock-ro",
		"/run/libvirt/libvirt-sock-ro",
	};
	char buf[4096];
	struct stat st;
	size_t i, plen;
	bool session;

	if (strncmp(uri, "qemu:///", 8) == 0)
		rest = uri + 8;
	else if (strncmp(uri, "qemu+unix:///", 13) == 0)
		rest = uri + 13;
	else
		return 0;
	q = strchr(rest, '?');
	plen = q != NULL ? (size_t)(q - rest) : strlen(rest);
	if (plen == 6 && strncmp(rest, "system", 6) == 0)
		session = false;
	else if (plen == 7 && strncmp(rest, "session", 7) == 0)
		session = true;
	else
		return 0;
	snprintf(name, nn, "qemu:///%s", session ? "session" : "system");
	if (q != NULL) {
		if (strncmp(q, "?socket=", 8) != 0 || strchr(q + 8, '&') ||
		    strchr(q + 8, '%') || q[8] != '/')
			return 0;
		snprintf(path, pn, "%s", q + 8);
		return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
	}
	if (!session) {
		for (i = 0; i < 2; i++)
			if (stat(sys[i], &st) == 0 && S_ISSOCK(st.st_mode)) {
				snprintf(path, pn, "%s", sys[i]);
				return 1;
			}
		return 0;
	}
	/* A session daemon that is not running would be started by
	 * libvirt's library: the module's work. */
	if ((dir = getenv("XDG_RUNTIME_DIR")) == NULL || *dir == '\0')
		return 0;
	for (i = 0; i < 2; i++) {
		snprintf(buf, sizeof buf, "%s/libvirt/%s", dir, i == 0 ?
		    "virtqemud-sock" : "libvirt-sock");
		if (stat(buf, &st) == 0 && S_ISSOCK(st.st_mode)) {
			snprintf(path, pn, "%s", buf);
			return 1;
		}
	}
	return 0;
}

int
guest_virt_rpc_discover(const char *uri, struct guest_vm **out, size_t *nout,
    struct guest_error *e)
{
	struct rpc c = { .fd = -1 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[sizeof sa.sun_path], name[32];
	uint8_t args[64];
	struct guest_xdr x;
	uint32_t n, t, i;
	size_t nlen;
	int r;

	*out = NULL;
	*nout = 0;
	if (local_socket(uri, path, sizeof path, name, sizeof name) != 1)
		return 0;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((c.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) < 0)
		return 0;
	if (connect(c.fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(c.fd);
		return 0;		/* let libvirt say why */
	}
	/* Only a socket that wants no authentication. */
	if ((r = call(&c, PROC_AUTH_LIST, NULL, 0, e)) < 0)
		goto out;
	x = (struct guest_xdr){ c.buf, c.len, HEADER };
	if (guest_xdr_u32(&x, &n) < 0 || n > 8) {
		r = guest_error_set(e, -EBADMSG, "libvirt: a bad auth list");
		goto out;
	}
	for (i = 0; i < n; i++)
		if (guest_xdr_u32(&x, &t) < 0 || t != 0) {
			r = 0;		/* SASL or polkit: the module's */
			goto out;
		}
	/* remote_connect_open_args: name (a remote_string), flags. */
	nlen = strlen(name);
	guest_put_be32(args, 1);
	guest_put_be32(args + 4, (uint32_t)nlen);
	memset(args + 8, 0, (nlen + 3) & ~3u);
	memcpy(args + 8, name, nlen);
	guest_put_be32(args + 8 + ((nlen + 3) & ~3u), CONNECT_RO);
	if ((r = call(&c, PROC_OPEN, args, 12 + ((nlen + 3) & ~3u), e)) < 0)
		goto out;
	/* No domains named (all of them), their state, no flags. */
	guest_put_be32(args, 0);
	guest_put_be32(args + 4, STATS_STATE);
	guest_put_be32(args + 8, 0);
	if ((r = call(&c, PROC_ALL_STATS, args, 12, e)) < 0)
		goto out;
	if ((r = guest_virt_rpc_parse_stats(c.buf + HEADER, c.len - HEADER,
	    out, nout)) < 0) {
		r = guest_error_set(e, r, "libvirt: %s: a domain list that "
		    "does not parse", uri);
		goto out;
	}
	(void)call(&c, PROC_CLOSE, NULL, 0, e);
	r = 1;
out:
	free(c.buf);
	close(c.fd);
	return r;
}
