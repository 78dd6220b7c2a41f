/*
 * The exec service: start a command (or the user's login shell) on pipes
 * or a PTY, relay its streams with flow control, deliver signals and
 * window sizes, and report how it ended after all of its output.
 */
#include <errno.h>
#include <fcntl.h>
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

#include "agent.h"
#include "guest/util.h"

#define STDIN_WINDOW	(512u * 1024)	/* stdin bytes in flight */
#define CREDIT_BATCH	(64u * 1024)
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

static void
close_src(struct exec *x, struct src *s)
{
	s->closed = true;
	if (s->fd >= 0 && s->fd != x->in_fd)
		close(s->fd);
	s->fd = -1;
}

/* A PTY hands out at most its line discipline's 4 KiB a read. */
#define PTY_FULL_READ	2048

/* Read one chunk; after the child has exited, "nothing now" means done. */
static int
pump_src(struct exec *x, struct src *s)
{
	ssize_t n, m;
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
	/* A PTY read that came back full means more is on its way: take
	 * it into the same frame while it comes (a keystroke's echo, a
	 * short read, goes at once).  One frame per 4 KiB left bulk output
	 * at 0.74 of a local relay; the frames and wake-ups were the cost. */
	for (m = n; x->pty && m >= PTY_FULL_READ && (size_t)n < sizeof s->buf;
	    n += m)
		if ((m = read(s->fd, s->buf + n, sizeof s->buf - (size_t)n)) <= 0)
			break;
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

/* Give back what the child has taken, in batches.  Never per keystroke:
 * a Credit for each key would wake the host for nothing (an extra hop in
 * every echo), and typing cannot run out, since the host only waits when
 * the whole window is in flight, and then at least CREDIT_BATCH of it
 * is owed once the child has caught up. */
static int
maybe_credit(struct exec *x)
{
	if (x->in_closed || x->owed < CREDIT_BATCH ||
	    !guest_conn_tx_room(x->c, 2))
		return 0;
	return send_credit(x);
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
	struct spawn_req sr = { 0 };
	struct spawned sp;
	struct agent_env *env = NULL;
	char msg[PATH_MAX + 128];
	struct passwd *pw;
	struct exec *x = NULL;
	sigset_t mask;
	unsigned code = 0;
	size_t i;
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
	} else
		pw = agent_self(NULL);

	if ((env = malloc(sizeof *env)) == NULL ||
	    (x = calloc(1, sizeof *x)) == NULL) {
		guest_conn_send_error(c, GUEST__V1__ERROR_CODE__ERROR_INTERNAL,
		    "out of memory");
		goto refused;
	}
	/* A clean environment, as login and sshd give. */
	agent_env_login(env, pw, req->pty ? req->term : NULL);
	for (i = 0; i < req->n_env; i++)
		if (agent_env_put(env, req->env[i]) < 0) {
			guest_conn_send_error(c,
			    GUEST__V1__ERROR_CODE__ERROR_PROTOCOL,
			    "bad environment entry '%.64s' (NAME=VALUE, at "
			    "most %d)", req->env[i], AGENT_MAX_ENV);
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

	sr.pw = pw;
	sr.argv = req->argv;
	sr.argc = req->n_argv;
	sr.shell_args = req->shell_args;
	sr.n_shell_args = req->n_shell_args;
	sr.envp = env->envp;
	sr.cwd = req->cwd;
	sr.pty = req->pty;
	if (req->window != NULL) {
		sr.ws.ws_row = (unsigned short)req->window->rows;
		sr.ws.ws_col = (unsigned short)req->window->cols;
		sr.ws.ws_xpixel = (unsigned short)req->window->xpixel;
		sr.ws.ws_ypixel = (unsigned short)req->window->ypixel;
	}
	r = agent_spawn(&sr, &sp, msg, sizeof msg, &code);
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
	x->pid = sp.pid;
	x->in_fd = sp.in_fd;
	x->out.fd = sp.out_fd;
	x->err.fd = sp.err_fd;
	x->err.closed = req->pty;
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
	free(env);
	return status;
refused:
	agent_flush(c, 5000);
	free(x);
	free(env);
	return 1;
}
