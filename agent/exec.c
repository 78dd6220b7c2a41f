/*
 * The exec service: start a command (or the user's login shell) on pipes
 * or a PTY, relay its streams with flow control, deliver signals and
 * window sizes, and report how it ended after all of its output.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <linux/close_range.h>

#include "agent.h"
#include "guest/util.h"

#define STDIN_WINDOW	(512u * 1024)	/* stdin bytes in flight */
#define CREDIT_BATCH	(64u * 1024)
#define MAX_ENV		1024
#define HANGUP_GRACE_MS	3000

struct src {
	int		fd;
	uint32_t	stream;
	bool		busy;		/* buf is queued on the connection */
	bool		closed;
	uint8_t		buf[GUEST_DATA_CHUNK];
};

struct exec {
	struct guest_conn *c;
	bool		 pty;
	pid_t		 pid;
	int		 sfd;		/* signalfd for SIGCHLD */
	bool		 exited;
	int		 wstatus;

	int		 in_fd;		/* child's stdin (or the PTY master) */
	bool		 in_closed;	/* child no longer reads */
	bool		 in_eof;	/* host sent EOF: close once drained */
	struct guest_buf pending;	/* stdin not yet written */
	uint32_t	 granted;	/* host may still send this much */
	uint32_t	 owed;		/* written, not yet credited */

	struct src	 out, err;
};

/* Where spawning failed, reported by the child through a pipe. */
enum stage { ST_PTY = 1, ST_USER, ST_CHDIR, ST_EXEC };
struct spawn_err {
	int	stage;
	int	err;
};

static void
child_fail(int fd, int stage, int err)
{
	struct spawn_err se = { stage, err };

	(void)!write(fd, &se, sizeof se);
	_exit(127);
}

static const char *
env_name_end(const char *s)
{
	const char *eq = strchr(s, '=');

	return eq != NULL && eq != s ? eq : NULL;
}

/* Set NAME=VALUE in env, replacing an earlier NAME. */
static int
env_put(char **env, size_t *n, char *entry)
{
	const char *eq = env_name_end(entry);
	size_t i, len;

	if (eq == NULL)
		return -EINVAL;
	len = (size_t)(eq - entry) + 1;
	for (i = 0; i < *n; i++)
		if (strncmp(env[i], entry, len) == 0) {
			env[i] = entry;
			return 0;
		}
	if (*n >= MAX_ENV)
		return -E2BIG;
	env[(*n)++] = entry;
	env[*n] = NULL;
	return 0;
}

static int
send_exit(struct exec *x, unsigned code, unsigned sig, bool core,
    const char *msg)
{
	GuestMessage m = GUEST__V1__MESSAGE__INIT;
	Guest__V1__ExecExit ee = GUEST__V1__EXEC_EXIT__INIT;

	ee.code = code;
	ee.signal = sig;
	ee.core_dumped = core;
	ee.message = (char *)(msg ? msg : "");
	m.body_case = GUEST__V1__MESSAGE__BODY_EXEC_EXIT;
	m.exec_exit = &ee;
	return guest_conn_send(x->c, &m);
}

static int
send_credit(struct exec *x)
{
	GuestMessage m = GUEST__V1__MESSAGE__INIT;
	Guest__V1__Credit cr = GUEST__V1__CREDIT__INIT;
	int r;

	cr.stream = GUEST_STREAM_STDIN;
	cr.bytes = x->owed;
	m.body_case = GUEST__V1__MESSAGE__BODY_CREDIT;
	m.credit = &cr;
	if ((r = guest_conn_send(x->c, &m)) < 0)
		return r;
	x->granted += x->owed;
	x->owed = 0;
	return 0;
}

/*
 * Fork and exec.  The child reports a failure before exec through errfd
 * (close-on-exec, so a successful exec closes it with nothing written).
 */
static int
spawn(struct exec *x, const Guest__V1__ExecRequest *req,
    const struct passwd *pw, char **envp, char *msg, size_t msglen,
    unsigned *code)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, er[2] = { -1, -1 };
	int ep[2] = { -1, -1 }, master = -1, r = 0;
	char slave[64], shell0[PATH_MAX], **argv, *const *args;
	const char *file, *shell, *base;
	struct spawn_err se;
	struct winsize ws;
	sigset_t all;
	size_t i, n;
	ssize_t got;
	pid_t pid;

	if (pipe2(ep, O_CLOEXEC) < 0)
		return -errno;
	if (req->pty) {
		master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (master < 0 || grantpt(master) < 0 ||
		    unlockpt(master) < 0 ||
		    ptsname_r(master, slave, sizeof slave) != 0) {
			r = -errno;
			goto fail;
		}
		memset(&ws, 0, sizeof ws);
		if (req->window != NULL) {
			ws.ws_row = (unsigned short)req->window->rows;
			ws.ws_col = (unsigned short)req->window->cols;
			ws.ws_xpixel = (unsigned short)req->window->xpixel;
			ws.ws_ypixel = (unsigned short)req->window->ypixel;
		}
		if (ws.ws_row == 0 || ws.ws_col == 0) {
			ws.ws_row = 24;
			ws.ws_col = 80;
		}
		(void)ioctl(master, TIOCSWINSZ, &ws);
	} else if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
	    pipe2(er, O_CLOEXEC) < 0) {
		r = -errno;
		goto fail;
	}

	/* argv: the command, or the login shell ("-bash") with --args. */
	shell = pw->pw_shell && *pw->pw_shell ? pw->pw_shell : "/bin/sh";
	if (req->n_argv > 0) {
		n = req->n_argv;
		args = req->argv;
		file = req->argv[0];
	} else {
		n = req->n_shell_args + 1;
		args = req->shell_args;
		file = shell;
		base = strrchr(shell, '/');
		snprintf(shell0, sizeof shell0, "-%s", base ? base + 1 : shell);
	}
	if ((argv = calloc(n + 1, sizeof *argv)) == NULL) {
		r = -ENOMEM;
		goto fail;
	}
	if (req->n_argv > 0)
		for (i = 0; i < n; i++)
			argv[i] = args[i];
	else {
		argv[0] = shell0;
		for (i = 1; i < n; i++)
			argv[i] = args[i - 1];
	}

	pid = fork();
	if (pid < 0) {
		r = -errno;
		free(argv);
		goto fail;
	}
	if (pid == 0) {
		int s;

		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		for (s = 1; s < NSIG; s++)
			signal(s, SIG_DFL);
		setsid();
		if (req->pty) {
			s = open(slave, O_RDWR);
			if (s < 0 || ioctl(s, TIOCSCTTY, 0) < 0)
				child_fail(ep[1], ST_PTY, errno);
			if (dup2(s, 0) < 0 || dup2(s, 1) < 0 || dup2(s, 2) < 0)
				child_fail(ep[1], ST_PTY, errno);
			if (s > 2)
				close(s);
		} else if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 ||
		    dup2(er[1], 2) < 0)
			child_fail(ep[1], ST_PTY, errno);
		/* The program holds fds 0-2 and nothing else. */
		if (close_range(3, ~0u, CLOSE_RANGE_CLOEXEC) < 0)
			for (s = 3; s < 4096; s++)
				(void)fcntl(s, F_SETFD, FD_CLOEXEC);
		if (pw->pw_uid != geteuid() || pw->pw_gid != getegid()) {
			if (agent_initgroups(pw->pw_name, pw->pw_gid) < 0 ||
			    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
			    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
				child_fail(ep[1], ST_USER, errno);
		}
		if (req->cwd != NULL && *req->cwd != '\0') {
			if (chdir(req->cwd) < 0)
				child_fail(ep[1], ST_CHDIR, errno);
		} else if (chdir(pw->pw_dir) < 0 && chdir("/") < 0)
			child_fail(ep[1], ST_CHDIR, errno);
		/* execvp searches the PATH of environ, so switch first. */
		environ = envp;
		execvp(file, argv);
		child_fail(ep[1], ST_EXEC, errno);
	}
	free(argv);
	close(ep[1]);
	ep[1] = -1;
	if (req->pty) {
		x->in_fd = master;
		x->out.fd = dup(master);
		x->err.closed = true;
		master = -1;
		if (x->out.fd < 0) {
			r = -errno;
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			goto fail;
		}
		(void)fcntl(x->out.fd, F_SETFD, FD_CLOEXEC);
	} else {
		close(in[0]);
		close(out[1]);
		close(er[1]);
		in[0] = out[1] = er[1] = -1;
		x->in_fd = in[1];
		x->out.fd = out[0];
		x->err.fd = er[0];
		/* Bigger pipes mean fewer, larger frames on bulk output. */
		(void)fcntl(x->out.fd, F_SETPIPE_SZ, 1024 * 1024);
		(void)fcntl(x->err.fd, F_SETPIPE_SZ, 1024 * 1024);
		(void)fcntl(x->in_fd, F_SETPIPE_SZ, 1024 * 1024);
		(void)guest_set_nonblock(x->err.fd, 1);
	}
	(void)guest_set_nonblock(x->in_fd, 1);
	(void)guest_set_nonblock(x->out.fd, 1);
	x->pid = pid;

	do
		got = read(ep[0], &se, sizeof se);
	while (got < 0 && errno == EINTR);
	close(ep[0]);
	if (got != (ssize_t)sizeof se)
		return 0;

	/* It failed before exec: say why, with the shell's codes. */
	waitpid(pid, NULL, 0);
	x->pid = -1;
	switch (se.stage) {
	case ST_EXEC:
		if (se.err == ENOENT) {
			*code = 127;
			snprintf(msg, msglen, "%s: command not found", file);
		} else {
			*code = 126;
			snprintf(msg, msglen, "%s: %s", file,
			    strerror(se.err));
		}
		break;
	case ST_CHDIR:
		*code = 1;
		snprintf(msg, msglen, "cannot change directory to %s: %s",
		    req->cwd && *req->cwd ? req->cwd : pw->pw_dir,
		    strerror(se.err));
		break;
	case ST_USER:
		*code = 1;
		snprintf(msg, msglen, "cannot switch to user %s: %s",
		    pw->pw_name, strerror(se.err));
		break;
	default:
		*code = 1;
		snprintf(msg, msglen, "cannot set up the terminal: %s",
		    strerror(se.err));
		break;
	}
	return 1;
fail:
	for (i = 0; i < 2; i++) {
		guest_closep(&in[i]);
		guest_closep(&out[i]);
		guest_closep(&er[i]);
		guest_closep(&ep[i]);
	}
	guest_closep(&master);
	return r;
}

static void
close_src(struct exec *x, struct src *s)
{
	s->closed = true;
	if (s->fd >= 0 && s->fd != x->in_fd)
		close(s->fd);
	s->fd = -1;
}

/* Read one chunk; after the child has exited, "nothing now" means done. */
static int
pump_src(struct exec *x, struct src *s)
{
	ssize_t n;
	int r;

	if (s->closed || s->busy || guest_conn_tx_full(x->c))
		return 0;
	n = read(s->fd, s->buf, sizeof s->buf);
	if (n < 0 && errno == EINTR)
		return 0;
	if (n < 0 && errno == EAGAIN) {
		if (x->exited)
			close_src(x, s);
		return 0;
	}
	if (n <= 0) {		/* EOF, or EIO from a PTY with no slave */
		close_src(x, s);
		return 0;
	}
	if ((r = guest_conn_send_data(x->c, s->stream, s->buf, (size_t)n,
	    &s->busy)) < 0)
		return r;
	return 0;
}

static void
close_stdin(struct exec *x)
{
	if (!x->pty)
		guest_closep(&x->in_fd);
	x->in_closed = true;
	guest_buf_reset(&x->pending);
}

/* Write what we can of p[0..n) to the child's stdin. */
static size_t
write_stdin(struct exec *x, const uint8_t *p, size_t n)
{
	ssize_t w;
	size_t done = 0;

	while (done < n) {
		w = write(x->in_fd, p + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			break;
		if (w < 0) {		/* EPIPE: it closed its stdin */
			close_stdin(x);
			return n;
		}
		done += (size_t)w;
	}
	x->owed += (uint32_t)done;
	return done;
}

static int
flush_pending(struct exec *x)
{
	size_t n;

	if (x->in_closed || guest_buf_used(&x->pending) == 0)
		goto eof;
	n = write_stdin(x, guest_buf_ptr(&x->pending),
	    guest_buf_used(&x->pending));
	if (x->in_closed)
		return 0;
	guest_buf_consume(&x->pending, n);
eof:
	if (x->in_eof && !x->in_closed && guest_buf_used(&x->pending) == 0) {
		if (x->pty) {
			/* A PTY has no EOF of its own: type the EOF key. */
			struct termios t;
			uint8_t c = 4;

			if (tcgetattr(x->in_fd, &t) == 0)
				c = t.c_cc[VEOF];
			(void)!write(x->in_fd, &c, 1);
			x->in_eof = false;
		} else
			close_stdin(x);
	}
	return 0;
}

/* Give back what the child has taken: in batches during bulk input, at
 * once when it has caught up (so typing never waits). */
static int
maybe_credit(struct exec *x)
{
	if (x->in_closed || x->owed == 0 || !guest_conn_tx_room(x->c, 2))
		return 0;
	if (x->owed >= CREDIT_BATCH || guest_buf_used(&x->pending) == 0)
		return send_credit(x);
	return 0;
}

static int
on_stdin(struct exec *x, const uint8_t *p, size_t n)
{
	size_t done;

	if (n > x->granted)
		return -EPROTO;
	x->granted -= (uint32_t)n;
	if (x->in_closed || x->in_eof)
		return 0;
	done = guest_buf_used(&x->pending) == 0 ? write_stdin(x, p, n) : 0;
	if (x->in_closed)
		return 0;
	if (done < n && guest_buf_append(&x->pending, p + done, n - done) < 0)
		return -EPROTO;
	return flush_pending(x);
}

/* A message from the host; -EPROTO ends the session. */
static int
on_msg(struct exec *x, struct guest_msg *m)
{
	struct winsize ws;
	uint32_t sig;

	switch (m->type) {
	case GUEST__V1__MESSAGE__BODY_DATA:
		if (m->stream != GUEST_STREAM_STDIN)
			return -EPROTO;
		return on_stdin(x, m->data, m->len);
	case GUEST__V1__MESSAGE__BODY_EOF:
		if (m->pb->eof->stream == GUEST_STREAM_STDIN) {
			x->in_eof = true;
			return flush_pending(x);
		}
		/* The host's reader of stdout or stderr went away: close our
		 * end so the program gets SIGPIPE, as it would locally. */
		if (!x->pty && m->pb->eof->stream == GUEST_STREAM_STDOUT)
			close_src(x, &x->out);
		else if (!x->pty && m->pb->eof->stream == GUEST_STREAM_STDERR)
			close_src(x, &x->err);
		return 0;
	case GUEST__V1__MESSAGE__BODY_SIGNAL:
		sig = m->pb->signal->signal;
		if (sig == 0 || sig >= (uint32_t)NSIG)
			return -EPROTO;
		if (!x->exited)
			(void)kill(-x->pid, (int)sig);
		return 0;
	case GUEST__V1__MESSAGE__BODY_WINDOW_SIZE:
		if (!x->pty)
			return 0;
		memset(&ws, 0, sizeof ws);
		ws.ws_row = (unsigned short)m->pb->window_size->rows;
		ws.ws_col = (unsigned short)m->pb->window_size->cols;
		ws.ws_xpixel = (unsigned short)m->pb->window_size->xpixel;
		ws.ws_ypixel = (unsigned short)m->pb->window_size->ypixel;
		(void)ioctl(x->in_fd, TIOCSWINSZ, &ws);
		return 0;
	default:
		return -EPROTO;
	}
}

static void
on_sigchld(struct exec *x)
{
	struct signalfd_siginfo si;
	int st;

	while (read(x->sfd, &si, sizeof si) == sizeof si)
		;
	if (!x->exited && x->pid > 0 && waitpid(x->pid, &st, WNOHANG) ==
	    x->pid) {
		x->exited = true;
		x->wstatus = st;
	}
}

/* The host went away: hang up the session's process group and reap. */
static void
hangup(struct exec *x)
{
	struct pollfd p = { .fd = x->sfd, .events = POLLIN };
	int64_t deadline = guest_now_ms() + HANGUP_GRACE_MS;

	if (x->exited || x->pid <= 0)
		return;
	(void)kill(-x->pid, SIGHUP);
	(void)kill(-x->pid, SIGCONT);
	while (!x->exited && guest_now_ms() < deadline) {
		(void)poll(&p, 1, 100);
		on_sigchld(x);
	}
	if (!x->exited) {
		(void)kill(-x->pid, SIGKILL);
		(void)waitpid(x->pid, NULL, 0);
		x->exited = true;
	}
}

static bool
exit_ready(const struct exec *x)
{
	return x->exited && x->out.closed && x->err.closed && !x->out.busy &&
	    !x->err.busy;
}

/*
 * Send what can be sent; once the child is gone, drain its output and
 * queue ExecExit behind it.  A flush that empties the queue frees a
 * source buffer, so the drain goes round again rather than waiting in
 * poll for a wake-up that an empty, still-open pipe would never give.
 * Returns 1 when ExecExit is out, 0 to poll, negative on failure.
 */
static int
settle(struct exec *x, bool *exit_sent)
{
	int r, st;

	for (;;) {
		if (x->exited && ((r = pump_src(x, &x->out)) < 0 ||
		    (r = pump_src(x, &x->err)) < 0))
			return r;
		if (!*exit_sent && exit_ready(x)) {
			st = x->wstatus;
			if (WIFSIGNALED(st))
				r = send_exit(x, 128 + (unsigned)WTERMSIG(st),
				    (unsigned)WTERMSIG(st), WCOREDUMP(st), NULL);
			else
				r = send_exit(x, (unsigned)WEXITSTATUS(st), 0,
				    false, NULL);
			if (r < 0)
				return r;
			*exit_sent = true;
		}
		r = guest_conn_flush(x->c);
		if (r == -EAGAIN)
			return 0;
		if (r < 0)
			return r;
		if (*exit_sent)
			return 1;
		if (!x->exited)
			return 0;
	}
}

static int
relay(struct exec *x)
{
	struct pollfd p[5];
	struct guest_msg m;
	bool exit_sent = false;
	ssize_t n;
	int r;

	for (;;) {
		/* Host messages are read even while the child's stdin is
		 * full: credit bounds what can arrive. */
		while ((r = guest_conn_next(x->c, &m)) > 0) {
			r = on_msg(x, &m);
			guest_msg_clear(&m);
			if (r < 0) {
				agent_log("exec: protocol error from host");
				return -EPROTO;
			}
		}
		if (r < 0) {
			agent_log("exec: bad frame from host");
			return r;
		}
		if ((r = maybe_credit(x)) < 0)
			return r;
		if ((r = settle(x, &exit_sent)) != 0)
			return r < 0 ? r : 0;
		if (x->c->eof)
			return -ECONNRESET;

		memset(p, 0, sizeof p);
		p[0].fd = x->c->fd;
		p[0].events = POLLIN |
		    (guest_conn_tx_pending(x->c) ? POLLOUT : 0);
		p[1].fd = x->sfd;
		p[1].events = POLLIN;
		p[2].fd = x->out.closed || x->out.busy ? -1 : x->out.fd;
		p[2].events = POLLIN;
		p[3].fd = x->err.closed || x->err.busy ? -1 : x->err.fd;
		p[3].events = POLLIN;
		p[4].fd = x->in_closed || guest_buf_used(&x->pending) == 0 ?
		    -1 : x->in_fd;
		p[4].events = POLLOUT;
		if (guest_conn_tx_full(x->c))
			p[2].fd = p[3].fd = -1;
		if (poll(p, 5, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[1].revents)
			on_sigchld(x);
		if (p[2].revents && (r = pump_src(x, &x->out)) < 0)
			return r;
		if (p[3].revents && (r = pump_src(x, &x->err)) < 0)
			return r;
		if (p[4].revents & (POLLOUT | POLLERR | POLLHUP) &&
		    (r = flush_pending(x)) < 0)
			return r;
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = guest_conn_fill(x->c);
			if (n == 0)
				return -ECONNRESET;
			if (n < 0 && n != -EAGAIN)
				return (int)n;
		}
	}
}

int
exec_serve(struct guest_conn *c, const Guest__V1__ExecRequest *req)
{
	GuestMessage m = GUEST__V1__MESSAGE__INIT;
	Guest__V1__ExecStarted started = GUEST__V1__EXEC_STARTED__INIT;
	static char root_path[] = "PATH=/usr/local/sbin:/usr/local/bin:"
	    "/usr/sbin:/usr/bin:/sbin:/bin";
	static char user_path[] = "PATH=/usr/local/bin:/usr/bin:/bin";
	char *envp[MAX_ENV + 1];
	char home[PATH_MAX + 8], user[300], logname[300], shell[PATH_MAX + 8];
	char term[300], msg[PATH_MAX + 128];
	struct passwd *pw;
	struct exec *x;
	sigset_t mask;
	unsigned code = 0;
	size_t n_env = 0, i;
	int r, status = 1;

	if (req->user != NULL && *req->user != '\0') {
		if ((pw = agent_getpwnam(req->user)) == NULL) {
			guest_conn_send_error(c,
			    GUEST__V1__ERROR_CODE__ERROR_NOT_FOUND,
			    "no user %s in the guest", req->user);
			goto refused;
		}
		if (geteuid() != 0 && pw->pw_uid != geteuid()) {
			guest_conn_send_error(c,
			    GUEST__V1__ERROR_CODE__ERROR_DENIED,
			    "the agent runs as uid %u and cannot switch to "
			    "user %s", (unsigned)geteuid(), req->user);
			goto refused;
		}
	} else if ((pw = agent_getpwuid(geteuid())) == NULL) {
		guest_conn_send_error(c, GUEST__V1__ERROR_CODE__ERROR_INTERNAL,
		    "the agent's uid %u has no passwd entry",
		    (unsigned)geteuid());
		goto refused;
	}

	/* A clean environment, as login and sshd give. */
	envp[0] = NULL;
	snprintf(home, sizeof home, "HOME=%s", pw->pw_dir);
	snprintf(user, sizeof user, "USER=%s", pw->pw_name);
	snprintf(logname, sizeof logname, "LOGNAME=%s", pw->pw_name);
	snprintf(shell, sizeof shell, "SHELL=%s",
	    pw->pw_shell && *pw->pw_shell ? pw->pw_shell : "/bin/sh");
	env_put(envp, &n_env, home);
	env_put(envp, &n_env, user);
	env_put(envp, &n_env, logname);
	env_put(envp, &n_env, shell);
	env_put(envp, &n_env, pw->pw_uid == 0 ? root_path : user_path);
	if (req->pty) {
		snprintf(term, sizeof term, "TERM=%s",
		    req->term && *req->term ? req->term : "dumb");
		env_put(envp, &n_env, term);
	}
	for (i = 0; i < req->n_env; i++)
		if (env_put(envp, &n_env, req->env[i]) < 0) {
			guest_conn_send_error(c,
			    GUEST__V1__ERROR_CODE__ERROR_PROTOCOL,
			    "bad environment entry '%.64s' (NAME=VALUE, at "
			    "most %d)", req->env[i], MAX_ENV);
			goto refused;
		}

	if ((x = calloc(1, sizeof *x)) == NULL) {
		guest_conn_send_error(c, GUEST__V1__ERROR_CODE__ERROR_INTERNAL,
		    "out of memory");
		goto refused;
	}
	x->c = c;
	x->pty = req->pty;
	x->pid = -1;
	x->in_fd = x->out.fd = x->err.fd = -1;
	x->out.stream = GUEST_STREAM_STDOUT;
	x->err.stream = GUEST_STREAM_STDERR;
	x->granted = STDIN_WINDOW;
	guest_buf_init(&x->pending, STDIN_WINDOW);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	x->sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

	r = spawn(x, req, pw, envp, msg, sizeof msg, &code);
	if (r < 0) {
		guest_conn_send_error(c, GUEST__V1__ERROR_CODE__ERROR_INTERNAL,
		    "cannot start: %s", strerror(-r));
		agent_flush(c, 5000);
		goto out;
	}
	if (r > 0) {		/* did not get as far as exec */
		send_exit(x, code, 0, false, msg);
		agent_flush(c, 5000);
		status = 0;
		goto out;
	}
	started.pid = (uint32_t)x->pid;
	started.stdin_credit = STDIN_WINDOW;
	m.body_case = GUEST__V1__MESSAGE__BODY_EXEC_STARTED;
	m.exec_started = &started;
	guest_conn_send(c, &m);

	r = relay(x);
	if (r < 0) {
		agent_debug("exec: host gone (%s); hanging up pid %d",
		    strerror(-r), (int)x->pid);
		hangup(x);
	} else
		status = 0;
out:
	/* Queued Data points into x: drop it before x goes. */
	guest_conn_discard(c);
	guest_closep(&x->in_fd);
	guest_closep(&x->out.fd);
	guest_closep(&x->err.fd);
	guest_closep(&x->sfd);
	guest_buf_free(&x->pending);
	free(x);
	return status;
refused:
	agent_flush(c, 5000);
	return 1;
}
