/*
 * guest-agent: listens on vsock (or a Unix socket, or sockets handed over
 * by systemd), applies the peer policy before reading a byte, and serves
 * each connection in a process of its own.  That process is forked ahead
 * of time: a spare waits in accept, and once it has taken a connection
 * the listener finds the next spare while the session runs, so no
 * connection waits for a fork.  A session process that ends its session
 * clean (no child, no descriptor, mask or credential left over) waits
 * idle to be the spare again, as prefork servers do: most connections
 * then cost no fork and no tear-down at all.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include "agent.h"
#include "guest/copy.h"
#include "guest/transport.h"
#include "guest/util.h"
#include "version.h"

#define MAX_LISTEN	16
#define MAX_SESSIONS	1024
#define MAX_STARTUPS	16	/* connections in the handshake at once */
#define STARTUP_GRACE	500	/* ms before one of them may be dropped */
#define HELLO_GRACE	5000	/* the same once its client's Hello came */
#define MAX_IDLE	2	/* finished session processes kept for reuse */
#define SESSION_REUSES	1000	/* sessions one process serves at most */

struct agent agent;
const char *const agent_services[] = { "exec", "info", "copy", "console",
    NULL };

struct listener {
	int			fd;
	struct guest_addr	addr;
	bool			from_systemd;
};

static struct listener listeners[MAX_LISTEN];
static size_t n_listeners;
static unsigned n_sessions;	/* the spare included */

/* The spare session process, and the socket on which it says that it
 * took a connection ("s", the connection and the peer's name), or that it
 * died idle (EOF). */
static pid_t spare_pid = -1;
static int spare_fd = -1;

/* Connections still in the handshake, as sshd's MaxStartups: past
 * MAX_STARTUPS one is refused with a busy Error, the newest while all are
 * younger than STARTUP_GRACE (a burst of real clients: guest retries), the
 * oldest otherwise.  A flood of idle connections so holds no place for
 * long, and a real client (whose handshake takes milliseconds) gets in.
 * One whose client has sent its Hello has HELLO_GRACE: a real handshake
 * on a loaded, slow guest (TCG) can take more than STARTUP_GRACE, and a
 * client that has sent its request cannot tell whether it was run.
 * At the limit there is no spare: the listener accepts, and refuses
 * without forking, so a flood costs no process per connection.
 * Each session says "h" on fd when its client's Hello has come, "a" once
 * it is in (or closes fd when it ends); conn is the listener's copy of the
 * connection, for the Error. */
struct startup {
	pid_t	 pid;
	int	 fd;
	int	 conn;
	int64_t	 since;
	bool	 hello;		/* its client's Hello came */
	char	 peer[96];
};
static struct startup startups[MAX_STARTUPS];
static size_t n_startups;

/* Session processes past their handshake, each with the channel on which
 * it says "r" once its session has ended and it is clean (or closes it as
 * it exits); and those kept idle, each waiting for "s" (be the spare) or
 * for its channel to close (exit). */
struct proc {
	pid_t	pid;
	int	fd;
};
static struct proc running[MAX_SESSIONS];
static size_t n_running;
static struct proc idle[MAX_IDLE];
static size_t n_idle;

/* The console keeper, restarted if it dies (at most KEEPER_RESTARTS in
 * a row that each lasted under a minute). */
#define KEEPER_RESTARTS	5
static struct console_opts console;
static pid_t keeper_pid = -1;
static int keeper_end = -1;	/* the keeper's end of the hand-over pair */
static int64_t keeper_started;
static unsigned keeper_restarts;

static void
vlog(const char *fmt, va_list ap)
{
	char line[1024];

	vsnprintf(line, sizeof line, fmt, ap);
	fprintf(stderr, "guest-agent[%d]: %s\n", (int)getpid(), line);
}

void
agent_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void
agent_debug(const char *fmt, ...)
{
	va_list ap;

	if (!agent.verbose)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: guest-agent [--listen ADDR]... [--allow-cid CID]... "
	    "[--vm-uuid UUID] [--state-dir DIR]\n"
	    "                   [--console-program CMD] [--console-buffer BYTES] "
	    "[--console-at-start]\n"
	    "                   [--authorized-keys FILE] [--no-auth] [-v]\n"
	    "\n"
	    "  -l, --listen ADDR     vsock:PORT or unix:PATH (default vsock:%d);\n"
	    "                        sockets passed by systemd (LISTEN_FDS) win\n"
	    "  -a, --allow-cid CID   also accept vsock peers with this CID\n"
	    "                        (the host, CID 2, is always accepted)\n"
	    "  -u, --vm-uuid UUID    the VM's UUID to report, where\n"
	    "                        /sys/class/dmi/id/product_uuid is not it\n"
	    "                        (Firecracker, Cloud Hypervisor)\n"
	    "  -s, --state-dir DIR   where to keep state (default\n"
	    "                        /var/lib/guest-agent)\n"
	    "  --console-program CMD the console's program, split at spaces\n"
	    "                        (default: the agent user's login shell)\n"
	    "  --console-buffer BYTES  the console's history (default 1M;\n"
	    "                        K, M, G suffixes; 4K to 1G)\n"
	    "  --console-at-start    start the console's program now, not at\n"
	    "                        the first attach\n"
	    "  --authorized-keys FILE  the keys that may come in, a line each:\n"
	    "                        USERS ssh-ed25519 KEY [COMMENT], USERS the\n"
	    "                        guest users it may act as (a,b or *);\n"
	    "                        default " AGENT_KEYS_FILE "\n"
	    "  --no-auth             let in every peer the CID policy admits,\n"
	    "                        with no key (closed test rigs only)\n"
	    "  -v, --verbose         log every connection to stderr\n"
	    "  -V, --version         print the version and exit\n"
	    "  -h, --help            this help\n", GUEST_PORT_DEFAULT);
}

/* --console-program: words split at spaces, no quoting. */
static int
split_program(const char *s)
{
	char *copy = strdup(s), *w, *save = NULL;
	char **argv = NULL, **na;
	size_t n = 0;

	if (copy == NULL)
		return -1;
	for (w = strtok_r(copy, " \t", &save); w != NULL;
	    w = strtok_r(NULL, " \t", &save)) {
		if ((na = realloc(argv, (n + 2) * sizeof *argv)) == NULL)
			return -1;
		argv = na;
		argv[n++] = w;
		argv[n] = NULL;
	}
	if (n == 0) {
		free(copy);
		return -1;
	}
	free(console.argv);
	console.argv = argv;
	console.argc = n;
	return 0;
}

static bool
uuid_valid(const char *s)
{
	size_t i;

	if (strlen(s) != 36)
		return false;
	for (i = 0; i < 36; i++)
		if ((i == 8 || i == 13 || i == 18 || i == 23) ? s[i] != '-' :
		    !isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* Sockets from systemd: LISTEN_PID is us, fds 3..3+LISTEN_FDS-1. */
static int
take_systemd_fds(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	long n, i;
	char *end;

	if (pid == NULL || fds == NULL || strtol(pid, &end, 10) != getpid())
		return 0;
	n = strtol(fds, &end, 10);
	if (*end != '\0' || n <= 0 || n > MAX_LISTEN)
		return 0;
	for (i = 0; i < n; i++) {
		struct listener *l = &listeners[n_listeners++];

		l->fd = 3 + (int)i;
		l->from_systemd = true;
		(void)fcntl(l->fd, F_SETFD, FD_CLOEXEC);
		(void)guest_set_nonblock(l->fd, 1);
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return (int)n;
}

static void
describe_peer(const struct sockaddr_storage *ss, const struct ucred *cred,
    char *buf, size_t n)
{
	if (ss->ss_family == AF_VSOCK)
		snprintf(buf, n, "vsock CID %" PRIu32 " port %" PRIu32,
		    ((const struct sockaddr_vm *)ss)->svm_cid,
		    ((const struct sockaddr_vm *)ss)->svm_port);
	else if (ss->ss_family == AF_UNIX && cred != NULL)
		snprintf(buf, n, "unix pid %d uid %u", (int)cred->pid,
		    (unsigned)cred->uid);
	else
		snprintf(buf, n, "family %d", ss->ss_family);
}

/* In a process forked off the listener (a session, the spare, the
 * keeper): drop the listener's own descriptors, and drop too the end of
 * the console's hand-over pair that is the other side's (a session
 * drops the keeper's, the keeper the sessions'); signal handling back
 * as it was. */
static void
child_setup(int sfd, const sigset_t *oldmask, int *other_end)
{
	size_t i;

	for (i = 0; i < n_startups; i++) {
		guest_closep(&startups[i].fd);
		guest_closep(&startups[i].conn);
	}
	n_startups = 0;
	for (i = 0; i < n_running; i++)
		close(running[i].fd);
	n_running = 0;
	for (i = 0; i < n_idle; i++)
		close(idle[i].fd);
	n_idle = 0;
	close(sfd);
	guest_closep(other_end);
	guest_closep(&spare_fd);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigprocmask(SIG_SETMASK, oldmask, NULL);
}

static void
close_listeners(void)
{
	size_t i;

	for (i = 0; i < n_listeners; i++)
		close(listeners[i].fd);
}

/* The hand-over pair outlives each keeper: sessions inherit
 * agent.console_fd, the end they hand connections over on, and the agent
 * keeps the keeper's end, so that a session forked before a restart
 * still reaches the next keeper (what it sends in between waits in the
 * socket). */
static void
keeper_stop_for_good(void)
{
	guest_closep(&keeper_end);	/* senders now get an error */
	guest_closep(&agent.console_fd);
}

/* Fork the console keeper. */
static void
keeper_start(const sigset_t *oldmask, int sfd)
{
	int sv[2];
	pid_t parent = getpid(), pid;

	if (keeper_end < 0) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
		    sv) < 0) {
			agent_log("console: socketpair: %s", strerror(errno));
			return;
		}
		keeper_end = sv[0];
		agent.console_fd = sv[1];
		/* A keeper that stops taking connections holds a session
		 * up for this long, not for ever. */
		(void)setsockopt(sv[1], SOL_SOCKET, SO_SNDTIMEO,
		    &(struct timeval){ .tv_sec = 5 }, sizeof(struct timeval));
	}
	pid = fork();
	if (pid < 0) {
		agent_log("console: fork: %s", strerror(errno));
		keeper_stop_for_good();
		return;
	}
	if (pid == 0) {
		close_listeners();
		child_setup(sfd, oldmask, &agent.console_fd);
		console_keeper(keeper_end, parent, &console);
	}
	keeper_pid = pid;
	keeper_started = guest_now_ms();
	agent_debug("console keeper %d", (int)pid);
}

/* Refuse a peer: one Error frame, sent without waiting, then close. */
static void
refuse(int fd, int code, const char *why)
{
	struct guest_conn c;

	guest_conn_init(&c, fd);
	if (guest_conn_send_error(&c, code, "%s", why) == 0)
		(void)guest_conn_flush(&c);
	guest_conn_close(&c);
}

/* Accept a connection on lfd and check its peer: the connection, or -1
 * (nothing waiting, or a peer refused with one Error and logged). */
static int
admit(int lfd, char *peer, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	struct ucred cred, *credp = NULL;
	socklen_t cl = sizeof cred;
	char why[160];
	int fd;

	memset(&ss, 0, sizeof ss);
	fd = accept4(lfd, (struct sockaddr *)&ss, &sl,
	    SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			agent_log("accept: %s", strerror(errno));
		return -1;
	}
	if (ss.ss_family == AF_UNIX &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0)
		credp = &cred;
	describe_peer(&ss, credp, peer, n);
	if (guest_policy_check(&agent.policy, (struct sockaddr *)&ss, sl,
	    credp, why, sizeof why) < 0) {
		agent_log("refused %s: %s", peer, why);
		refuse(fd, GUEST__V1__ERROR_CODE__ERROR_DENIED, why);
		return -1;
	}
	return fd;
}

/* What a session process holds between sessions, taken when it is forked:
 * a session that leaves anything else behind ends its process. */
#define SNAP_FDS	256
struct snapshot {
	uint8_t		fds[SNAP_FDS / 8];	/* open descriptors */
	int		hi;			/* the highest of them */
	sigset_t	mask;
	mode_t		umask;
	uid_t		uid[3];
	gid_t		gid[3];
	dev_t		cwd_dev;
	ino_t		cwd_ino;
};

static bool
fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0 || errno != EBADF;
}

/* (conn: the connection, open now, which the session closes.) */
static void
snapshot_take(struct snapshot *sn, int conn)
{
	struct stat st;
	int fd;

	memset(sn, 0, sizeof *sn);
	sn->hi = -1;
	for (fd = 0; fd < SNAP_FDS; fd++)
		if (fd != conn && fd_open(fd)) {
			sn->fds[fd / 8] |= 1u << (fd % 8);
			sn->hi = fd;
		}
	sigprocmask(SIG_SETMASK, NULL, &sn->mask);
	sn->umask = umask(022);
	umask(sn->umask);
	(void)getresuid(&sn->uid[0], &sn->uid[1], &sn->uid[2]);
	(void)getresgid(&sn->gid[0], &sn->gid[1], &sn->gid[2]);
	if (stat(".", &st) == 0) {
		sn->cwd_dev = st.st_dev;
		sn->cwd_ino = st.st_ino;
	}
}

/* After a session: put back what may be put back (the signal mask, the
 * umask; a descriptor opened above the process's own is closed), and say
 * whether the rest is as it was: whether the process may serve again. */
static bool
snapshot_restore(const struct snapshot *sn, const char **why)
{
	siginfo_t si;
	struct stat st;
	uid_t u[3];
	gid_t g[3];
	int fd;

	/* SIGCHLD that exec blocked is pending or not: unblocking it at its
	 * default disposition discards it. */
	sigprocmask(SIG_SETMASK, &sn->mask, NULL);
	umask(sn->umask);
	memset(&si, 0, sizeof si);
	if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0 ||
	    errno != ECHILD)
		return *why = "a child is left", false;
	if (sn->hi < 0 || sn->hi >= SNAP_FDS - 1 ||
	    close_range((unsigned)sn->hi + 1, ~0u, 0) < 0)
		return *why = "descriptors cannot be closed", false;
	for (fd = 0; fd <= sn->hi; fd++)
		if (fd_open(fd) != !!(sn->fds[fd / 8] & (1u << (fd % 8))))
			return *why = "descriptors changed", false;
	if (getresuid(&u[0], &u[1], &u[2]) < 0 ||
	    getresgid(&g[0], &g[1], &g[2]) < 0 ||
	    memcmp(u, sn->uid, sizeof u) != 0 ||
	    memcmp(g, sn->gid, sizeof g) != 0)
		return *why = "credentials changed", false;
	if (stat(".", &st) < 0 || st.st_dev != sn->cwd_dev ||
	    st.st_ino != sn->cwd_ino)
		return *why = "the directory changed", false;
	return true;
}

/* Wait on every listener for the first peer admitted, and tell the
 * listener on chan that it is taken: the connection. */
static int
spare_wait(int chan, char *peer, size_t n)
{
	struct pollfd p[MAX_LISTEN];
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = cbuf, .msg_controllen = sizeof cbuf };
	struct cmsghdr *cm;
	size_t i;
	int fd;

	for (;;) {
		for (i = 0; i < n_listeners; i++) {
			p[i].fd = listeners[i].fd;
			p[i].events = POLLIN;
		}
		if (poll(p, n_listeners, -1) < 0 && errno != EINTR)
			_exit(1);
		for (i = 0; i < n_listeners; i++)
			if ((p[i].revents & POLLIN) &&
			    (fd = admit(listeners[i].fd, peer, n)) >= 0)
				goto taken;
	}
taken:
	iov.iov_base = peer;
	iov.iov_len = strlen(peer) + 1;
	memset(cbuf, 0, sizeof cbuf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	(void)sendmsg(chan, &mh, MSG_NOSIGNAL);
	return fd;
}

/* Idle between sessions: tell the listener on chan, then wait for it to
 * make this process the spare, handing back the listening sockets (true),
 * or to let it go (false).  A session holds no listener: with the agent
 * gone, a connection is refused, not left waiting in a backlog. */
static bool
idle_wait(int chan, pid_t parent)
{
	struct pollfd p = { .fd = chan, .events = POLLIN };
	union {
		char		buf[CMSG_SPACE(sizeof(int) * MAX_LISTEN)];
		struct cmsghdr	align;
	} cbuf;
	char b = 0;
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = cbuf.buf, .msg_controllen = sizeof cbuf.buf };
	struct cmsghdr *cm;
	int fds[MAX_LISTEN];
	size_t i, n = 0;

	/* Idle, it goes with the agent, as a spare does. */
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		return false;
	(void)prctl(PR_SET_NAME, "guest-idle");
	if (send(chan, "r", 1, MSG_NOSIGNAL) != 1)
		return false;
	while (poll(&p, 1, -1) < 0)
		if (errno != EINTR)
			return false;
	if (recvmsg(chan, &mh, MSG_CMSG_CLOEXEC) != 1)
		return false;
	cm = CMSG_FIRSTHDR(&mh);
	if (cm != NULL && cm->cmsg_level == SOL_SOCKET &&
	    cm->cmsg_type == SCM_RIGHTS) {
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		memcpy(fds, CMSG_DATA(cm), n * sizeof(int));
	}
	if (b != 's' || n != n_listeners || (mh.msg_flags & MSG_CTRUNC)) {
		for (i = 0; i < n; i++)
			close(fds[i]);
		return false;
	}
	for (i = 0; i < n; i++)
		listeners[i].fd = fds[i];
	(void)prctl(PR_SET_NAME, "guest-spare");
	return true;
}

/* A session process: serve fd (when it is one already) or wait as the
 * spare for a connection, then, while each session leaves the process
 * clean, wait idle to serve again.  chan is its channel to the listener,
 * parent the listener. */
static int __attribute__((noreturn))
session_process(int chan, int fd, const char *first_peer, pid_t parent)
{
	struct snapshot sn;
	const char *why = NULL;
	char peer[96];
	unsigned served;
	int status = 0;

	snprintf(peer, sizeof peer, "%s", first_peer != NULL ?
	    first_peer : "");
	for (served = 0; served < SESSION_REUSES; served++) {
		if (fd < 0)
			fd = spare_wait(chan, peer, sizeof peer);
		close_listeners();
		if (served == 0)
			snapshot_take(&sn, fd);
		agent.startup_fd = chan;
		/* A session outlives the agent, as it would have forked
		 * late. */
		(void)prctl(PR_SET_PDEATHSIG, 0);
		(void)prctl(PR_SET_NAME, "guest-agent");
		agent_debug("session %d for %s", (int)getpid(), peer);
		status = session_run(fd, peer, strncmp(peer, "vsock", 5) == 0);
		fd = -1;
		agent.startup_fd = -1;
		if (!snapshot_restore(&sn, &why)) {
			agent_log("session %d ends its process: %s",
			    (int)getpid(), why);
			break;
		}
		if (served + 1 == SESSION_REUSES || !idle_wait(chan, parent))
			break;
	}
	_exit(status);
}

/* Make an idle session process the spare: "s" and the listening
 * sockets. */
static int
send_spare(int chan)
{
	union {
		char		buf[CMSG_SPACE(sizeof(int) * MAX_LISTEN)];
		struct cmsghdr	align;
	} cbuf;
	struct iovec iov = { .iov_base = "s", .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = cbuf.buf,
	    .msg_controllen = CMSG_SPACE(sizeof(int) * n_listeners) };
	struct cmsghdr *cm;
	size_t i;

	memset(cbuf.buf, 0, sizeof cbuf.buf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * n_listeners);
	for (i = 0; i < n_listeners; i++)
		memcpy(CMSG_DATA(cm) + i * sizeof(int), &listeners[i].fd,
		    sizeof(int));
	return sendmsg(chan, &mh, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

/* Fork a spare, unless there is one or the sessions are at their limit. */
static void
spare_start(const sigset_t *oldmask, int sfd)
{
	pid_t parent = getpid(), pid;
	int p[2];

	if (spare_pid > 0 || n_startups >= MAX_STARTUPS)
		return;
	/* The process that served last, its pages the warmest. */
	while (n_idle > 0) {
		struct proc *ip = &idle[--n_idle];

		if (send_spare(ip->fd) == 0) {
			agent_debug("session process %d is the spare again",
			    (int)ip->pid);
			spare_pid = ip->pid;
			spare_fd = ip->fd;
			return;
		}
		close(ip->fd);		/* gone meanwhile */
	}
	if (n_sessions >= MAX_SESSIONS)
		return;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0, p) < 0) {
		agent_log("socketpair: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid < 0) {
		agent_log("fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return;
	}
	if (pid == 0) {
		close(p[0]);
		child_setup(sfd, oldmask, &keeper_end);
		/* Idle, it goes with the agent. */
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(0);
		(void)prctl(PR_SET_NAME, "guest-spare");
		session_process(p[1], -1, NULL, parent);
	}
	close(p[1]);
	spare_pid = pid;
	spare_fd = p[0];
	n_sessions++;
}

/* Forget a handshake: the session is in, or gone. */
static void
startup_drop(size_t i)
{
	guest_closep(&startups[i].fd);
	guest_closep(&startups[i].conn);
	startups[i] = startups[--n_startups];
}

/* A session process said "r": its session ended and it is clean.  Kept
 * idle for reuse, or, with MAX_IDLE kept already, let go (its channel
 * closed, it exits). */
static void
proc_ready(pid_t pid, int fd)
{
	if (n_idle < MAX_IDLE) {
		idle[n_idle].pid = pid;
		idle[n_idle++].fd = fd;
		agent_debug("session process %d idle", (int)pid);
	} else
		close(fd);
}

/* A session process past its handshake said it is ready (or ended). */
static void
running_event(size_t i)
{
	char b;
	ssize_t n;

	while ((n = read(running[i].fd, &b, 1)) < 0 && errno == EINTR)
		;
	if (n < 0 && errno == EAGAIN)
		return;
	if (n == 1 && b == 'r')
		proc_ready(running[i].pid, running[i].fd);
	else
		close(running[i].fd);
	running[i] = running[--n_running];
}

/* A session said its client's Hello came ("h"), that it is in ("a"), or
 * that it ended, refused, and is ready for another ("r"), or it exited
 * (EOF).  Whether it is still in the handshake. */
static bool
startup_event(size_t i)
{
	char b[8];
	ssize_t n;

	for (;;) {
		n = read(startups[i].fd, b, sizeof b);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n > 0 && b[0] == 'h') {
			startups[i].hello = true;
			continue;
		}
		break;
	}
	if (n > 0 && b[0] == 'a' && n_running < MAX_SESSIONS) {
		running[n_running].pid = startups[i].pid;
		running[n_running++].fd = startups[i].fd;
		startups[i].fd = -1;
	} else if (n > 0 && b[0] == 'r') {
		proc_ready(startups[i].pid, startups[i].fd);
		startups[i].fd = -1;
	}
	startup_drop(i);
	return false;
}

/* The oldest handshake gives way if it has had its grace (STARTUP_GRACE,
 * or HELLO_GRACE once its client's Hello came): its session is killed
 * first, so that nothing else is written after the Error.  What the
 * sessions said is read first: one that is in is no longer a candidate.
 * Whether there is room now. */
static bool
startup_evict(void)
{
	int64_t now = guest_now_ms(), grace;
	struct startup *s;
	size_t i, old = MAX_STARTUPS;
	char why[200];

	for (i = 0; i < n_startups; )
		if (startup_event(i))
			i++;
	if (n_startups < MAX_STARTUPS)
		return true;
	for (i = 0; i < n_startups; i++) {
		grace = startups[i].hello ? HELLO_GRACE : STARTUP_GRACE;
		if (now - startups[i].since >= grace && (old == MAX_STARTUPS ||
		    startups[i].since < startups[old].since))
			old = i;
	}
	if (old == MAX_STARTUPS)
		return false;
	s = &startups[old];
	snprintf(why, sizeof why, "%d connections are in the handshake; this "
	    "one, the oldest (%" PRId64 " ms), gives way: try again",
	    MAX_STARTUPS, now - s->since);
	(void)kill(s->pid, SIGKILL);
	agent_log("refused %s: %s", s->peer, why);
	if (s->conn >= 0) {
		refuse(s->conn, GUEST__V1__ERROR_CODE__ERROR_BUSY, why);
		s->conn = -1;	/* closed by refuse() */
	}
	startup_drop(old);
	return true;
}

/* Refuse a new connection at the limit, without a process for it. */
static void
startup_refuse(int fd, const char *peer)
{
	char why[100];

	snprintf(why, sizeof why, "%d connections are in the handshake: try "
	    "again", MAX_STARTUPS);
	agent_log("refused %s: %s", peer, why);
	refuse(fd, GUEST__V1__ERROR_CODE__ERROR_BUSY, why);
}

/* A new handshake.  (Past the limit only if a spare took it in the
 * moment the limit was reached: then it is refused at once.) */
static void
startup_add(pid_t pid, int fd, int conn, const char *peer)
{
	struct startup *s;

	if (n_startups >= MAX_STARTUPS && !startup_evict()) {
		(void)kill(pid, SIGKILL);
		close(fd);
		if (conn >= 0)
			startup_refuse(conn, peer);
		return;
	}
	s = &startups[n_startups++];
	s->pid = pid;
	s->fd = fd;
	s->conn = conn;
	s->since = guest_now_ms();
	s->hello = false;
	snprintf(s->peer, sizeof s->peer, "%s", peer);
}

/* The spare took a connection (or died idle): the next one. */
static void
spare_taken(const sigset_t *oldmask, int sfd)
{
	char peer[96], cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = peer, .iov_len = sizeof peer - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = cbuf, .msg_controllen = sizeof cbuf };
	struct cmsghdr *cm;
	int conn = -1;
	ssize_t n;

	/* (Reaped already and replaced, the new one may have said nothing.) */
	if ((n = recvmsg(spare_fd, &mh, MSG_CMSG_CLOEXEC)) < 0 &&
	    errno == EAGAIN)
		return;
	if (n > 0) {
		peer[n] = '\0';
		cm = CMSG_FIRSTHDR(&mh);
		if (cm != NULL && cm->cmsg_type == SCM_RIGHTS)
			memcpy(&conn, CMSG_DATA(cm), sizeof conn);
		agent_debug("session %d started", (int)spare_pid);
		startup_add(spare_pid, spare_fd, conn, peer);
		spare_fd = -1;
	} else
		guest_closep(&spare_fd);
	spare_pid = -1;
	spare_start(oldmask, sfd);
}

/* With no spare (at the session limit, or it could not be forked): the
 * listener accepts itself, refuses past the limit, and forks. */
static void
serve(int lfd, const sigset_t *oldmask, int sfd)
{
	char peer[96];
	pid_t parent = getpid(), pid;
	int fd, sp[2];

	if ((fd = admit(lfd, peer, sizeof peer)) < 0)
		return;
	if (n_sessions >= MAX_SESSIONS) {
		agent_log("refused %s: %u sessions already", peer, n_sessions);
		refuse(fd, GUEST__V1__ERROR_CODE__ERROR_INTERNAL,
		    "too many sessions");
		return;
	}
	if (!startup_evict()) {
		startup_refuse(fd, peer);
		return;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0, sp) < 0)
		sp[0] = sp[1] = -1;
	pid = fork();
	if (pid < 0) {
		agent_log("fork: %s", strerror(errno));
		refuse(fd, GUEST__V1__ERROR_CODE__ERROR_INTERNAL,
		    "cannot fork");
		guest_closep(&sp[0]);
		guest_closep(&sp[1]);
		return;
	}
	if (pid == 0) {
		guest_closep(&sp[0]);
		child_setup(sfd, oldmask, &keeper_end);
		if (sp[1] < 0) {
			close_listeners();
			_exit(session_run(fd, peer,
			    strncmp(peer, "vsock", 5) == 0));
		}
		session_process(sp[1], fd, peer, parent);
	}
	n_sessions++;
	agent_debug("session %d for %s", (int)pid, peer);
	guest_closep(&sp[1]);
	if (sp[0] >= 0)
		startup_add(pid, sp[0], fd, peer);
	else
		close(fd);
	spare_start(oldmask, sfd);
}

static void
reap(const sigset_t *oldmask, int sfd)
{
	size_t i;
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (pid == keeper_pid) {
			agent_log("console keeper %d ended (%s %d)", (int)pid,
			    WIFSIGNALED(st) ? "signal" : "status",
			    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
			keeper_pid = -1;
			if (guest_now_ms() - keeper_started > 60000)
				keeper_restarts = 0;
			if (++keeper_restarts > KEEPER_RESTARTS) {
				agent_log("console: not restarted (ended %d "
				    "times in a row)", KEEPER_RESTARTS);
				keeper_stop_for_good();
			} else
				keeper_start(oldmask, sfd);
			continue;
		}
		if (n_sessions > 0)
			n_sessions--;
		for (i = 0; i < n_idle; i++)
			if (idle[i].pid == pid) {
				close(idle[i].fd);
				idle[i] = idle[--n_idle];
				break;
			}
		if (pid == spare_pid) {		/* died idle */
			guest_closep(&spare_fd);
			spare_pid = -1;
		}
		if (WIFSIGNALED(st)) {
			agent_log("session %d killed by signal %d", (int)pid,
			    WTERMSIG(st));
			guest_copy_sweep(agent.journal);	/* its temps */
		} else
			agent_debug("session %d ended", (int)pid);
	}
	spare_start(oldmask, sfd);	/* back under the limit */
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen",	required_argument,	NULL, 'l' },
		{ "allow-cid",	required_argument,	NULL, 'a' },
		{ "vm-uuid",	required_argument,	NULL, 'u' },
		{ "state-dir",	required_argument,	NULL, 's' },
		{ "console-program", required_argument,	NULL, 'P' },
		{ "console-buffer", required_argument,	NULL, 'B' },
		{ "console-at-start", no_argument,	NULL, 'S' },
		{ "authorized-keys", required_argument,	NULL, 'K' },
		{ "no-auth",	no_argument,		NULL, 'N' },
		{ "verbose",	no_argument,		NULL, 'v' },
		{ "version",	no_argument,		NULL, 'V' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *addrs[MAX_LISTEN], *vm_uuid = NULL;
	const char *state = "/var/lib/guest-agent";
	const char *keys_file = AGENT_KEYS_FILE;
	bool no_auth = false;
	static char journal[4096];
	size_t n_addrs = 0, i;
	struct guest_error err;
	static struct pollfd pfds[MAX_LISTEN + 2 + MAX_STARTUPS + MAX_SESSIONS];
	size_t n_pfds, first_run;
	struct signalfd_siginfo si;
	sigset_t mask, oldmask;
	char s[GUEST_ADDR_STR_MAX], *end;
	unsigned long cid;
	uint32_t local;
	uint64_t size;
	int c, sfd;
	bool stand_in;

	guest_sanitize_stdfds();
	agent.policy.self_uid = geteuid();
	agent.console_fd = -1;
	agent.startup_fd = -1;
	console.buffer = 1024 * 1024;
	while ((c = getopt_long(argc, argv, "l:a:u:s:vVh", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (n_addrs == MAX_LISTEN) {
				fprintf(stderr, "guest-agent: at most %d "
				    "--listen\n", MAX_LISTEN);
				return 2;
			}
			addrs[n_addrs++] = optarg;
			break;
		case 'a':
			errno = 0;
			cid = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg ||
			    cid >= GUEST_CID_ANY ||
			    guest_policy_allow_cid(&agent.policy,
			    (uint32_t)cid) < 0) {
				fprintf(stderr, "guest-agent: --allow-cid %s: "
				    "not a CID\n", optarg);
				return 2;
			}
			break;
		case 's':
			state = optarg;
			break;
		case 'P':
			if (split_program(optarg) < 0) {
				fprintf(stderr, "guest-agent: --console-program "
				    "'%s': expected a program and its "
				    "arguments\n", optarg);
				return 2;
			}
			break;
		case 'B':
			if (guest_parse_size(optarg, &size) < 0 ||
			    size < 4096 || size > (uint64_t)1 << 30) {
				fprintf(stderr, "guest-agent: --console-buffer "
				    "%s: expected 4K to 1G (bytes, or with K, "
				    "M or G)\n", optarg);
				return 2;
			}
			console.buffer = (size_t)size;
			break;
		case 'S':
			console.at_start = true;
			break;
		case 'K':
			keys_file = optarg;
			break;
		case 'N':
			no_auth = true;
			break;
		case 'u':
			if (!uuid_valid(optarg)) {
				fprintf(stderr, "guest-agent: --vm-uuid %s: not "
				    "a UUID (8-4-4-4-12 hex digits)\n", optarg);
				return 2;
			}
			vm_uuid = optarg;
			break;
		case 'v':
			agent.verbose++;
			break;
		case 'V':
			printf("guest-agent %s (protocol %d)\n", GUEST_VERSION,
			    GUEST_PROTOCOL_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "guest-agent: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		return 2;
	}

	/* Every disposition at its default, whatever started us (nohup, a
	 * shell's background job): the programs we start inherit them,
	 * and then need only SIGPIPE put back (agent/spawn.c). */
	for (c = 1; c < NSIG; c++)
		if (c != SIGKILL && c != SIGSTOP)
			(void)signal(c, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	guest_identity_read(&agent.id);
	(void)agent_self(&stand_in);
	if (stand_in)
		agent_log("warning: no passwd entry for uid %u: commands run "
		    "as uid %u with HOME=/ and /bin/sh", (unsigned)geteuid(),
		    (unsigned)geteuid());
	/* guest cp's temps: where they were made is journalled, and what
	 * a killed session left is removed now (and whenever a session
	 * dies of a signal: see reap()). */
	if (snprintf(journal, sizeof journal, "%s/cp-journal", state) <
	    (int)sizeof journal && guest_mkdir_parents(journal, 0700,
	    true) == 0 && access(journal, W_OK) == 0) {
		agent.journal = journal;
		guest_copy_sweep(journal);
	} else
		agent_log("no state directory %s (%s): temps of interrupted "
		    "copies will not be swept", state, strerror(errno));
	if (vm_uuid != NULL) {
		for (i = 0; vm_uuid[i] != '\0'; i++)
			agent.id.vm_uuid[i] = (char)tolower(
			    (unsigned char)vm_uuid[i]);
		agent.id.vm_uuid[i] = '\0';
	}
	if (auth_init(state, no_auth, keys_file) < 0)
		return 1;

	if (take_systemd_fds() == 0) {
		if (n_addrs == 0)
			addrs[n_addrs++] = "vsock:9001";
		for (i = 0; i < n_addrs; i++) {
			struct listener *l = &listeners[n_listeners];

			if (guest_addr_parse(addrs[i], GUEST_ADDR_LISTEN,
			    &l->addr, &err) < 0 ||
			    guest_listen(&l->addr, &l->fd, &err) < 0) {
				fprintf(stderr, "guest-agent: %s\n", err.msg);
				return 1;
			}
			n_listeners++;
			if (l->addr.kind == GUEST_ADDR_VSOCK &&
			    guest_vsock_local_cid(&local) == 0)
				agent_log("listening on %s (local CID %" PRIu32
				    ")", guest_addr_format(&l->addr, s,
				    sizeof s), local);
			else
				agent_log("listening on %s",
				    guest_addr_format(&l->addr, s, sizeof s));
		}
	} else
		agent_log("listening on %zu socket(s) from systemd",
		    n_listeners);

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, &oldmask);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		agent_log("signalfd: %s", strerror(errno));
		return 1;
	}
	keeper_start(&oldmask, sfd);
	spare_start(&oldmask, sfd);

	for (;;) {
		/* The listeners are the spare's while there is one. */
		for (i = 0; i < n_listeners; i++) {
			pfds[i].fd = spare_pid > 0 ? -1 : listeners[i].fd;
			pfds[i].events = POLLIN;
		}
		pfds[i].fd = sfd;
		pfds[i].events = POLLIN;
		pfds[i + 1].fd = spare_fd;
		pfds[i + 1].events = POLLIN;
		for (i = 0; i < n_startups; i++) {
			pfds[n_listeners + 2 + i].fd = startups[i].fd;
			pfds[n_listeners + 2 + i].events = POLLIN;
		}
		first_run = n_listeners + 2 + n_startups;
		for (i = 0; i < n_running; i++) {
			pfds[first_run + i].fd = running[i].fd;
			pfds[first_run + i].events = POLLIN;
		}
		n_pfds = first_run + n_running;
		if (poll(pfds, n_pfds, -1) < 0) {
			if (errno == EINTR)
				continue;
			agent_log("poll: %s", strerror(errno));
			return 1;
		}
		if (pfds[n_listeners].revents) {
			while (read(sfd, &si, sizeof si) == sizeof si) {
				if (si.ssi_signo == SIGCHLD)
					continue;
				if (si.ssi_signo == SIGHUP)
					continue;
				agent_log("exiting on signal %u", si.ssi_signo);
				for (i = 0; i < n_listeners; i++)
					if (!listeners[i].from_systemd &&
					    listeners[i].addr.kind ==
					    GUEST_ADDR_UNIX)
						unlink(listeners[i].addr.path);
				return 0;
			}
			reap(&oldmask, sfd);
		}
		/* Backwards: a dropped entry takes the last one's place (and
		 * a session may have moved from startups to running). */
		for (i = n_pfds - first_run; i-- > 0;)
			if (pfds[first_run + i].revents &&
			    i < n_running &&
			    pfds[first_run + i].fd == running[i].fd)
				running_event(i);
		for (i = n_startups; i-- > 0;)
			if (pfds[n_listeners + 2 + i].revents &&
			    pfds[n_listeners + 2 + i].fd == startups[i].fd)
				(void)startup_event(i);
		spare_start(&oldmask, sfd);	/* below the limit again */
		if (pfds[n_listeners + 1].revents && spare_fd >= 0)
			spare_taken(&oldmask, sfd);
		for (i = 0; i < n_listeners; i++)
			if (pfds[i].revents & POLLIN)
				serve(listeners[i].fd, &oldmask, sfd);
	}
}
