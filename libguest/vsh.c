/*
 * guest vsh, client side: one poll loop relaying stdin to the guest and
 * the guest's stdout and stderr (or terminal) back, with signals, window
 * size changes, flow control and an escape to leave a hung session.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest/conn.h"
#include "guest/session.h"
#include "guest/signals.h"
#include "guest/tty.h"
#include "guest/util.h"
#include "guest/vsh.h"

/* The agent never grants more stdin credit than this. */
#define CREDIT_MAX	(64u * 1024 * 1024)

static const int relayed[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH,
    SIGPIPE };
#define N_RELAYED (sizeof relayed / sizeof relayed[0])

struct vsh {
	const struct guest_addr		*addr;
	const struct guest_vsh_opts	*o;
	struct guest_error		*e;
	struct guest_conn		 c;

	uint8_t		 in[GUEST_DATA_CHUNK + 1];
	bool		 in_busy;	/* in[] is queued on the connection */
	bool		 in_eof;
	bool		 in_tty;
	bool		 started;
	uint32_t	 credit;

	struct guest_msg held;		/* output not yet fully written */
	size_t		 held_off;
	bool		 holding;
	bool		 out_closed[3];

	bool		 line_start, tilde;	/* escape state */

	bool		 exited;
	int		 status;

	struct guest_tty tty;
	int		 fl_saved[3];		/* fd flags to restore */
	struct guest_signals sig;
};

static int
fail(struct vsh *v, int err, const struct guest_msg *m)
{
	return guest_session_fail(&v->c, v->addr, err, m, v->e);
}

static int
send_msg(struct vsh *v, GuestMessage *m)
{
	int r = guest_conn_send(&v->c, m);

	return r < 0 ? fail(v, r, NULL) : 0;
}

static int
send_signal(struct vsh *v, int sig)
{
	GuestMessage m = GUEST__V1__MESSAGE__INIT;
	Guest__V1__Signal s = GUEST__V1__SIGNAL__INIT;

	s.signal = (uint32_t)sig;
	m.body_case = GUEST__V1__MESSAGE__BODY_SIGNAL;
	m.signal = &s;
	return send_msg(v, &m);
}

static int
send_eof(struct vsh *v, uint32_t stream)
{
	GuestMessage m = GUEST__V1__MESSAGE__INIT;
	Guest__V1__Eof eof = GUEST__V1__EOF__INIT;

	eof.stream = stream;
	m.body_case = GUEST__V1__MESSAGE__BODY_EOF;
	m.eof = &eof;
	return send_msg(v, &m);
}

static int
send_winsize(struct vsh *v)
{
	GuestMessage m = GUEST__V1__MESSAGE__INIT;
	Guest__V1__WindowSize ws = GUEST__V1__WINDOW_SIZE__INIT;

	guest_tty_window(&ws);
	m.body_case = GUEST__V1__MESSAGE__BODY_WINDOW_SIZE;
	m.window_size = &ws;
	return send_msg(v, &m);
}

/* Write held output; true when all of it is out (or its reader left). */
static int
write_held(struct vsh *v)
{
	int fd = v->held.stream == GUEST_STREAM_STDERR ? STDERR_FILENO :
	    STDOUT_FILENO;
	ssize_t n;

	while (v->held_off < v->held.len) {
		n = write(fd, v->held.data + v->held_off,
		    v->held.len - v->held_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0) {
			/* The reader is gone (EPIPE) or the output broke:
			 * tell the guest, as a closed pipe would. */
			v->out_closed[v->held.stream] = true;
			if (send_eof(v, v->held.stream) < 0)
				return -1;
			break;
		}
		v->held_off += (size_t)n;
	}
	v->holding = false;
	guest_msg_clear(&v->held);
	return 1;
}

static int
handle(struct vsh *v, struct guest_msg *m)
{
	Guest__V1__ExecExit *x;

	switch (m->type) {
	case GUEST__V1__MESSAGE__BODY_DATA:
		if (m->stream != GUEST_STREAM_STDOUT &&
		    m->stream != GUEST_STREAM_STDERR)
			return fail(v, -EBADMSG, NULL);
		if (v->out_closed[m->stream] || m->len == 0)
			break;
		v->held = *m;
		v->held_off = 0;
		v->holding = true;
		m->pb = NULL;	/* now owned by held */
		return write_held(v) < 0 ? -1 : 0;
	case GUEST__V1__MESSAGE__BODY_EXEC_STARTED:
		if (v->started)
			return fail(v, 0, m);
		v->started = true;
		v->credit = m->pb->exec_started->stdin_credit;
		if (v->credit > CREDIT_MAX)
			return fail(v, -EBADMSG, NULL);
		break;
	case GUEST__V1__MESSAGE__BODY_CREDIT:
		if (m->pb->credit->stream != GUEST_STREAM_STDIN ||
		    m->pb->credit->bytes > CREDIT_MAX - v->credit)
			return fail(v, -EBADMSG, NULL);
		v->credit += m->pb->credit->bytes;
		break;
	case GUEST__V1__MESSAGE__BODY_EXEC_EXIT:
		x = m->pb->exec_exit;
		v->exited = true;
		v->status = x->code > 255 ? 255 : (int)x->code;
		if (x->message != NULL && *x->message != '\0')
			guest_error_set(v->e, 0, "%s", x->message);
		break;
	default:
		return fail(v, 0, m);
	}
	return 0;
}

/* Apply the ~. escape to n bytes read at in+1; returns the bytes to send,
 * now starting at in[0], or -1 when the user asked to disconnect. */
static ssize_t
escape_filter(struct vsh *v, size_t n)
{
	static const char help[] = "\r\nSupported escape sequences:\r\n"
	    "  ~.  - disconnect\r\n  ~?  - this message\r\n"
	    "  ~~  - send the escape character by typing it twice\r\n"
	    "(Note that escapes are only recognized immediately after newline.)\r\n";
	uint8_t *src = v->in + 1, *dst = v->in, b;
	size_t i;

	for (i = 0; i < n; i++) {
		b = src[i];
		if (v->tilde) {
			v->tilde = false;
			if (b == '.')
				return -1;
			if (b == '?') {
				(void)!write(STDERR_FILENO, help, sizeof help - 1);
				v->line_start = true;
				continue;
			}
			if (b == '~') {
				*dst++ = '~';
				v->line_start = false;
				continue;
			}
			*dst++ = '~';
		}
		if (v->line_start && b == '~') {
			v->tilde = true;
			continue;
		}
		*dst++ = b;
		v->line_start = b == '\r' || b == '\n';
	}
	return dst - v->in;
}

static int
read_stdin(struct vsh *v)
{
	size_t want = v->credit < GUEST_DATA_CHUNK ? v->credit : GUEST_DATA_CHUNK;
	ssize_t n;
	int r;

	/* A pending tilde may go out with the next byte: keep room for it. */
	if (v->tilde)
		want--;

	n = read(STDIN_FILENO, v->in + 1, want);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		v->in_eof = true;
		return send_eof(v, GUEST_STREAM_STDIN);
	}
	if (v->in_tty && v->o->pty && v->o->escape) {
		n = escape_filter(v, (size_t)n);
		if (n < 0)
			return guest_error_set(v->e, -ECONNABORTED,
			    "connection to %s closed (~.)",
			    guest_addr_format(v->addr, (char[GUEST_ADDR_STR_MAX]){0},
			    GUEST_ADDR_STR_MAX));
		if (n == 0)
			return 0;
		/* escape_filter moved the bytes to in[0]; with a pending
		 * tilde flushed it may be one longer than was read, which
		 * the credit covers: we read one less. */
		r = guest_conn_send_data(&v->c, GUEST_STREAM_STDIN, v->in,
		    (size_t)n, &v->in_busy);
	} else
		r = guest_conn_send_data(&v->c, GUEST_STREAM_STDIN, v->in + 1,
		    (size_t)n, &v->in_busy);
	if (r < 0)
		return fail(v, r, NULL);
	v->credit = (size_t)n > v->credit ? 0 : v->credit - (uint32_t)n;
	return 0;
}

static int
on_signals(struct vsh *v)
{
	unsigned char sigs[32];
	ssize_t n, i;

	/* A few at a time, so each finds a place in the send queue. */
	n = read(v->sig.fd, sigs, 4);
	for (i = 0; i < n; i++) {
		if (sigs[i] == SIGWINCH) {
			if (v->o->pty && send_winsize(v) < 0)
				return -1;
			continue;
		}
		/* With a PTY, keys reach the guest as keys; a signal sent to
		 * this process ends it, and the agent hangs up the session. */
		if (v->o->pty && (sigs[i] == SIGTERM || sigs[i] == SIGHUP))
			return guest_error_set(v->e, -EINTR,
			    "terminated by signal %s", sigabbrev_np(sigs[i]));
		if (send_signal(v, sigs[i]) < 0)
			return -1;
	}
	return 0;
}

static int
loop(struct vsh *v)
{
	struct pollfd p[4];
	struct guest_msg m;
	ssize_t n;
	int r;

	for (;;) {
		while (!v->holding && !v->exited) {
			r = guest_conn_next(&v->c, &m);
			if (r == 0)
				break;
			if (r < 0)
				return fail(v, r, NULL);
			/* handle() takes what it keeps (held output);
			 * the rest is freed here on every path. */
			r = handle(v, &m);
			guest_msg_clear(&m);
			if (r < 0)
				return -1;
		}
		if (v->exited && !v->holding)
			return 0;
		if (v->c.eof && !v->holding)
			return fail(v, -ECONNRESET, NULL);
		r = guest_conn_flush(&v->c);
		if (r == -EPIPE || r == -ECONNRESET) {
			/* The agent has closed after its last word: the
			 * command ended while we still had something to say
			 * (stdin's end, a signal).  What it said, ExecExit
			 * included, is still there to be read. */
			guest_conn_discard(&v->c);
			v->in_eof = true;
		} else if (r < 0 && r != -EAGAIN)
			return fail(v, r, NULL);

		memset(p, 0, sizeof p);
		p[0].fd = v->c.fd;
		p[0].events = (v->holding ? 0 : POLLIN) |
		    (guest_conn_tx_pending(&v->c) ? POLLOUT : 0);
		if (p[0].events == 0)
			p[0].fd = -1;
		p[1].fd = STDIN_FILENO;
		p[1].events = POLLIN;
		if (!v->started || v->in_eof || v->in_busy || v->credit == 0 ||
		    (v->tilde && v->credit < 2) || guest_conn_tx_full(&v->c))
			p[1].fd = -1;
		p[2].fd = v->held.stream == GUEST_STREAM_STDERR ?
		    STDERR_FILENO : STDOUT_FILENO;
		p[2].events = POLLOUT;
		if (!v->holding)
			p[2].fd = -1;
		p[3].fd = guest_conn_tx_room(&v->c, 8) ? v->sig.fd : -1;
		p[3].events = POLLIN;
		if (poll(p, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			return guest_error_set(v->e, -errno, "poll: %s",
			    strerror(errno));
		}
		if (p[3].revents && on_signals(v) < 0)
			return -1;
		if (p[2].revents && write_held(v) < 0)
			return -1;
		if (p[1].revents && read_stdin(v) < 0)
			return -1;
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = guest_conn_fill(&v->c);
			if (n < 0 && n != -EAGAIN)
				return fail(v, (int)n, NULL);
		}
	}
}

/* Pipes and sockets on stdout/stderr become non-blocking for the session
 * so a slow reader of one never stalls the loop; terminals and files are
 * left alone.  The flags are put back afterwards. */
static void
set_outputs(struct vsh *v)
{
	struct stat st;
	int fd;

	for (fd = 0; fd < 3; fd++) {
		v->fl_saved[fd] = -1;
		if (fd == STDIN_FILENO || fstat(fd, &st) < 0 ||
		    !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
			continue;
		v->fl_saved[fd] = fcntl(fd, F_GETFL);
	}
	for (fd = 1; fd < 3; fd++)
		if (v->fl_saved[fd] >= 0)
			(void)fcntl(fd, F_SETFL, v->fl_saved[fd] | O_NONBLOCK);
}

static void
restore_outputs(struct vsh *v)
{
	int fd;

	for (fd = 1; fd < 3; fd++)
		if (v->fl_saved[fd] >= 0)
			(void)fcntl(fd, F_SETFL, v->fl_saved[fd]);
}

int
guest_vsh(const struct guest_addr *a, const struct guest_vsh_opts *o,
    int *status, struct guest_error *e)
{
	GuestMessage m = GUEST__V1__MESSAGE__INIT;
	Guest__V1__ExecRequest req = GUEST__V1__EXEC_REQUEST__INIT;
	Guest__V1__WindowSize ws = GUEST__V1__WINDOW_SIZE__INIT;
	struct vsh *v;
	struct stat st;
	const char *term;
	int r, fd;

	req.n_argv = o->argc;
	req.argv = o->argv;
	req.n_shell_args = o->n_shell_args;
	req.shell_args = o->shell_args;
	req.n_env = o->n_env;
	req.env = o->env;
	req.cwd = (char *)(o->cwd ? o->cwd : "");
	req.user = (char *)(o->user ? o->user : "");
	req.pty = o->pty;
	if (o->pty) {
		term = getenv("TERM");
		req.term = (char *)(term && *term ? term : "xterm");
		guest_tty_window(&ws);
		req.window = &ws;
	}
	m.body_case = GUEST__V1__MESSAGE__BODY_EXEC_REQUEST;
	m.exec_request = &req;

	if ((v = calloc(1, sizeof *v)) == NULL)
		return guest_error_set(e, -ENOMEM, "out of memory");
	v->addr = a;
	v->o = o;
	v->e = e;
	v->line_start = true;
	v->in_tty = isatty(STDIN_FILENO);
	/* Bigger pipes around us mean fewer, larger reads and writes. */
	for (fd = 0; fd < 3; fd++)
		if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
			(void)fcntl(fd, F_SETPIPE_SZ, 1024 * 1024);
	if (e != NULL)
		memset(e, 0, sizeof *e);

	if ((r = guest_session_open(a, &o->client, "exec", &m, &v->c,
	    NULL, e)) < 0) {
		free(v);
		return r;
	}
	/* A reader of ours going away is an EPIPE we pass on. */
	if ((r = guest_signals_catch(&v->sig, relayed, N_RELAYED, e)) < 0)
		goto out;
	set_outputs(v);
	if (o->pty && v->in_tty)
		(void)guest_tty_raw(&v->tty, STDIN_FILENO);
	r = loop(v);
	guest_tty_restore(&v->tty);
	restore_outputs(v);
	guest_signals_release(&v->sig);
	if (r == 0)
		*status = v->status;
	else if (e != NULL && e->code == 0)
		r = e->code = -EPROTO;
	else if (e != NULL)
		r = e->code;
out:
	guest_msg_clear(&v->held);
	guest_conn_close(&v->c);
	free(v);
	return r;
}
