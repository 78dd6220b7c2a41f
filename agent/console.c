/*
 * The console service: one long-lived terminal session per agent, like a
 * serial port that is there before anyone connects and after they leave.
 *
 * A process of its own, the keeper (forked by the listener at start),
 * owns the program's PTY and a ring buffer of everything it printed, and
 * serves every attached client from one poll loop.  A session process
 * that gets a ConsoleRequest does the handshake as usual and then hands
 * the connection itself to the keeper (SCM_RIGHTS over a SEQPACKET pair),
 * so keystrokes and echoes cross no process in between.
 *
 * Output goes into the ring; each client has a position in the output
 * stream and is sent what lies between it and the end, as fast as it
 * reads.  A client that falls a whole ring behind is told how much it
 * lost and jumps ahead: a slow watcher never holds the program up, and
 * memory stays bounded whatever the clients do.  One client at a time
 * holds the keyboard.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "guest/util.h"

#define MAX_CLIENTS	64
#define OUT_CHUNK	(16 * 1024)	/* per Data frame to a client */
#define IN_MAX		(64 * 1024)	/* keystrokes waiting for the PTY;
					 * past it, the socket waits (the
					 * buffer holds one frame more) */
#define REST_MAX	(64 * 1024)	/* bytes that came with the request */
#define CLOSE_MS	5000		/* a closing client's last words */
#define BACKOFF_MIN_MS	250
#define BACKOFF_MAX_MS	10000
#define QUICK_EXIT_MS	5000		/* a program ending sooner backs off */

/* What a session sends the keeper along with the connection. */
struct handoff {
	uint32_t	req_len;	/* packed ConsoleRequest */
	uint32_t	rest_len;	/* bytes read past it */
	char		peer[96];
};

struct ring {
	uint8_t		*buf;
	size_t		 size;
	uint64_t	 total;		/* bytes ever written */
};

struct client {
	struct guest_conn c;
	uint64_t	 pos;		/* next output byte to send */
	uint64_t	 stop;		/* --log: the end of the history */
	bool		 attached;	/* ConsoleStarted is out: events next */
	bool		 deaf;		/* it stopped reading: only its input
					 * is left to take */
	bool		 closing;	/* send what is queued, then go */
	int64_t		 close_by;
	char		 who[256];
	int64_t		 since;		/* wall clock, ms */
};

struct keeper {
	const struct console_opts *o;
	int		 ctl, sfd;
	struct ring	 ring;
	pid_t		 pid;		/* the program, or -1 */
	int		 master;	/* its PTY, or -1 */
	bool		 master_eof;	/* EIO: the terminal has no program */
	bool		 wanted;	/* started once: keep it running */
	int64_t		 started;
	int64_t		 restart_at;	/* 0: no restart waiting */
	unsigned	 backoff;
	char		 term[64];
	struct winsize	 ws;
	struct client	*cl[MAX_CLIENTS];
	size_t		 n;
	struct client	*writer;
	struct guest_buf in;		/* keystrokes for the PTY: they go in
					 * even after their writer left */
};

/* Ring ----------------------------------------------------------------- */

static uint64_t
ring_start(const struct ring *r)
{
	return r->total > r->size ? r->total - r->size : 0;
}

static void
ring_put(struct ring *r, const uint8_t *p, size_t n)
{
	size_t off, k;

	if (n > r->size) {
		r->total += n - r->size;
		p += n - r->size;
		n = r->size;
	}
	while (n > 0) {
		off = (size_t)(r->total % r->size);
		k = r->size - off < n ? r->size - off : n;
		memcpy(r->buf + off, p, k);
		r->total += k;
		p += k;
		n -= k;
	}
}

/* Bytes from pos (not before ring_start) that lie together in the ring. */
static size_t
ring_peek(const struct ring *r, uint64_t pos, const uint8_t **p)
{
	size_t off = (size_t)(pos % r->size);
	uint64_t left = r->total - pos;

	*p = r->buf + off;
	return left < r->size - off ? (size_t)left : r->size - off;
}

static uint8_t
ring_at(const struct ring *r, uint64_t pos)
{
	return r->buf[pos % r->size];
}

/* Messages --------------------------------------------------------------- */

static int
send_event(struct client *cl, const Guest__V1__ConsoleEvent *ev)
{
	GuestMessage m = GUEST__V1__MESSAGE__INIT;

	m.body_case = GUEST__V1__MESSAGE__BODY_CONSOLE_EVENT;
	m.console_event = (Guest__V1__ConsoleEvent *)ev;
	return guest_conn_send(&cl->c, &m);
}

static void
broadcast(struct keeper *k, const Guest__V1__ConsoleEvent *ev)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		if (k->cl[i]->attached && !k->cl[i]->closing &&
		    k->cl[i]->stop == UINT64_MAX)
			(void)send_event(k->cl[i], ev);
}

static void
client_close(struct client *cl)
{
	cl->closing = true;
	cl->close_by = guest_now_ms() + CLOSE_MS;
}

/* Queue output for cl while its queue has room; 0, or <0 when it broke. */
static int
client_push(struct keeper *k, struct client *cl)
{
	GuestMessage m = GUEST__V1__MESSAGE__INIT;
	Guest__V1__Data d = GUEST__V1__DATA__INIT;
	Guest__V1__ConsoleEvent ev = GUEST__V1__CONSOLE_EVENT__INIT;
	Guest__V1__Eof eof = GUEST__V1__EOF__INIT;
	uint64_t end = k->ring.total < cl->stop ? k->ring.total : cl->stop;
	const uint8_t *p;
	size_t n;
	int r;

	if (cl->deaf)
		return 0;
again:
	while (!cl->closing && cl->pos < end && !guest_conn_tx_full(&cl->c)) {
		if (cl->pos < ring_start(&k->ring)) {
			/* It fell a whole ring behind. */
			ev.kind = GUEST__V1__CONSOLE_EVENT__KIND__EVENT_DROPPED;
			ev.bytes = ring_start(&k->ring) - cl->pos;
			if ((r = send_event(cl, &ev)) < 0)
				return r;
			cl->pos = ring_start(&k->ring);
			continue;
		}
		n = ring_peek(&k->ring, cl->pos, &p);
		if (n > end - cl->pos)
			n = (size_t)(end - cl->pos);
		if (n > OUT_CHUNK)
			n = OUT_CHUNK;
		d.stream = GUEST_STREAM_STDOUT;
		d.data.data = (uint8_t *)p;
		d.data.len = n;
		m.body_case = GUEST__V1__MESSAGE__BODY_DATA;
		m.data = &d;
		if ((r = guest_conn_send(&cl->c, &m)) < 0)
			return r;
		cl->pos += n;
	}
	if (!cl->closing && cl->stop != UINT64_MAX && cl->pos >= cl->stop &&
	    guest_conn_tx_room(&cl->c, 1)) {
		eof.stream = GUEST_STREAM_STDOUT;
		m.body_case = GUEST__V1__MESSAGE__BODY_EOF;
		m.eof = &eof;
		if ((r = guest_conn_send(&cl->c, &m)) < 0)
			return r;
		client_close(cl);
	}
	r = guest_conn_flush(&cl->c);
	/* The socket took the whole queue: queue more now, for nothing
	 * else would wake us (a replay has no new output behind it). */
	if (r == 0 && !cl->closing && (cl->pos < end ||
	    (cl->stop != UINT64_MAX && cl->pos >= cl->stop)))
		goto again;
	if (r == -EPIPE || r == -ECONNRESET) {
		/* A writer that detached right after typing: what it sent
		 * still goes in, up to its end (it keeps the keyboard until
		 * then). */
		guest_conn_discard(&cl->c);
		cl->deaf = true;
		return 0;
	}
	return r == -EAGAIN ? 0 : r;
}

/* The program -------------------------------------------------------------- */

static void
program_start(struct keeper *k)
{
	Guest__V1__ConsoleEvent ev = GUEST__V1__CONSOLE_EVENT__INIT;
	struct spawn_req sr = { 0 };
	struct agent_env env;
	struct spawned sp;
	struct passwd *pw;
	char msg[512];
	unsigned code = 0;
	int r;

	k->wanted = true;
	k->restart_at = 0;
	k->started = guest_now_ms();
	pw = agent_self(NULL);
	agent_env_login(&env, pw, k->term);
	sr.pw = pw;
	sr.argv = k->o->argv;
	sr.argc = k->o->argc;
	sr.envp = env.envp;
	sr.pty = true;
	sr.ws = k->ws;
	r = agent_spawn(&sr, &sp, msg, sizeof msg, &code);
	if (r == 0) {
		k->pid = sp.pid;
		k->master = sp.in_fd;
		guest_closep(&sp.out_fd);
		k->master_eof = false;
		agent_debug("console: started pid %d", (int)k->pid);
		ev.kind = GUEST__V1__CONSOLE_EVENT__KIND__EVENT_STARTED;
		ev.pid = (uint32_t)k->pid;
		broadcast(k, &ev);
		return;
	}
	if (r < 0)
		snprintf(msg, sizeof msg, "%s", strerror(-r));
	agent_log("console: cannot start the program: %s", msg);
	k->backoff = k->backoff ? k->backoff * 2 : BACKOFF_MIN_MS;
	if (k->backoff > BACKOFF_MAX_MS)
		k->backoff = BACKOFF_MAX_MS;
	k->restart_at = guest_now_ms() + k->backoff;
	ev.kind = GUEST__V1__CONSOLE_EVENT__KIND__EVENT_EXITED;
	ev.code = r < 0 ? 1 : code;
	ev.restart_ms = k->backoff;
	ev.who = msg;
	broadcast(k, &ev);
}

/* Read what the program printed into the ring. */
static void
read_master(struct keeper *k)
{
	static uint8_t buf[64 * 1024];
	ssize_t n;

	for (;;) {
		n = read(k->master, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0) {
			ring_put(&k->ring, buf, (size_t)n);
			if ((size_t)n == sizeof buf)
				continue;
			return;
		}
		if (n < 0 && errno == EAGAIN)
			return;
		/* EIO: nothing holds the terminal any more. */
		k->master_eof = true;
		return;
	}
}

static void
program_ended(struct keeper *k, int st)
{
	Guest__V1__ConsoleEvent ev = GUEST__V1__CONSOLE_EVENT__INIT;
	int64_t ran = guest_now_ms() - k->started;

	if (k->master >= 0 && !k->master_eof)
		read_master(k);
	guest_closep(&k->master);	/* hangs up what is left on it */
	k->pid = -1;
	if (ran < QUICK_EXIT_MS)
		k->backoff = k->backoff ? k->backoff * 2 : BACKOFF_MIN_MS;
	else
		k->backoff = BACKOFF_MIN_MS;
	if (k->backoff > BACKOFF_MAX_MS)
		k->backoff = BACKOFF_MAX_MS;
	k->restart_at = guest_now_ms() + k->backoff;
	ev.kind = GUEST__V1__CONSOLE_EVENT__KIND__EVENT_EXITED;
	if (WIFSIGNALED(st)) {
		ev.signal = (uint32_t)WTERMSIG(st);
		ev.code = 128 + ev.signal;
	} else
		ev.code = (uint32_t)WEXITSTATUS(st);
	ev.restart_ms = k->backoff;
	agent_debug("console: program ended (%u); restart in %u ms", ev.code,
	    k->backoff);
	broadcast(k, &ev);
}

static void
write_master(struct keeper *k)
{
	ssize_t n;

	if (guest_buf_used(&k->in) == 0)
		return;
	if (k->master < 0) {	/* nobody to type to: as a serial line */
		guest_buf_consume(&k->in, guest_buf_used(&k->in));
		return;
	}
	n = write(k->master, guest_buf_ptr(&k->in), guest_buf_used(&k->in));
	if (n > 0)
		guest_buf_consume(&k->in, (size_t)n);
	else if (n < 0 && errno != EAGAIN && errno != EINTR)
		guest_buf_consume(&k->in, guest_buf_used(&k->in));
}

static void
set_window(struct keeper *k, const Guest__V1__WindowSize *w)
{
	if (w == NULL || w->rows == 0 || w->cols == 0 || w->rows > 0xffff ||
	    w->cols > 0xffff)
		return;
	k->ws.ws_row = (unsigned short)w->rows;
	k->ws.ws_col = (unsigned short)w->cols;
	k->ws.ws_xpixel = (unsigned short)(w->xpixel & 0xffff);
	k->ws.ws_ypixel = (unsigned short)(w->ypixel & 0xffff);
	if (k->master >= 0)
		(void)ioctl(k->master, TIOCSWINSZ, &k->ws);
}

/* Clients ------------------------------------------------------------------ */

static void
client_free(struct keeper *k, size_t i)
{
	struct client *cl = k->cl[i];

	if (k->writer == cl)
		k->writer = NULL;
	guest_conn_close(&cl->c);
	free(cl);
	k->cl[i] = k->cl[--k->n];
}

static void
format_since(int64_t ms, char *buf, size_t n)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* A TERM worth passing on: a plain name, nothing a terminfo lookup
 * could take for a path. */
static bool
term_ok(const char *t)
{
	size_t i;

	if (t == NULL || *t == '\0' || strlen(t) >= 64)
		return false;
	for (i = 0; t[i] != '\0'; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' &&
		    t[i] <= 'Z') || (t[i] >= '0' && t[i] <= '9') ||
		    strchr("._+-", t[i]) != NULL))
			return false;
	return true;
}

/* A new client with its request: placement in the stream, the keyboard,
 * and the program if it is not running yet. */
static void
attach(struct keeper *k, struct client *cl, const Guest__V1__ConsoleRequest *q)
{
	GuestMessage m = GUEST__V1__MESSAGE__INIT;
	Guest__V1__ConsoleStarted st = GUEST__V1__CONSOLE_STARTED__INIT;
	Guest__V1__ConsoleEvent ev = GUEST__V1__CONSOLE_EVENT__INIT;
	uint64_t want, pos, i;
	char since[64];

	switch (q->mode) {
	case GUEST__V1__CONSOLE_MODE__CONSOLE_WRITE:
		if (k->writer != NULL) {
			format_since(k->writer->since, since, sizeof since);
			guest_conn_send_error(&cl->c,
			    GUEST__V1__ERROR_CODE__ERROR_BUSY,
			    "the console is in use by %s since %s (--force "
			    "takes it over, --read-only watches)",
			    k->writer->who, since);
			client_close(cl);
			return;
		}
		k->writer = cl;
		break;
	case GUEST__V1__CONSOLE_MODE__CONSOLE_FORCE:
		if (k->writer != NULL) {
			ev.kind = GUEST__V1__CONSOLE_EVENT__KIND__EVENT_TAKEN;
			ev.who = cl->who;
			(void)send_event(k->writer, &ev);
			st.holder = k->writer->who;
			agent_log("console: %s took the keyboard from %s",
			    cl->who, k->writer->who);
		}
		k->writer = cl;
		break;
	case GUEST__V1__CONSOLE_MODE__CONSOLE_READ_ONLY:
		break;
	case GUEST__V1__CONSOLE_MODE__CONSOLE_LOG:
		cl->stop = k->ring.total;
		break;
	default:
		guest_conn_send_error(&cl->c,
		    GUEST__V1__ERROR_CODE__ERROR_PROTOCOL,
		    "unknown console mode %d", (int)q->mode);
		client_close(cl);
		return;
	}
	if (k->writer == cl) {
		if (k->pid < 0 && term_ok(q->term))
			snprintf(k->term, sizeof k->term, "%s", q->term);
		set_window(k, q->window);
	}

	/* Where its replay starts.  Past a wrap, at the next line. */
	want = q->all_history ? k->ring.total : q->history;
	if (want > k->ring.total)
		want = k->ring.total;
	pos = k->ring.total - want;
	if (pos < ring_start(&k->ring)) {
		pos = ring_start(&k->ring);
		for (i = pos; i < k->ring.total && i < pos + 4096; i++)
			if (ring_at(&k->ring, i) == '\n') {
				pos = i + 1;
				break;
			}
	}
	cl->pos = pos;
	st.writer = k->writer == cl;
	st.history = k->ring.total - pos;
	st.dropped = pos - (k->ring.total - want);
	st.buffer_size = k->ring.size;

	/* The first attach starts the program, unless it is waiting out a
	 * back-off; a log never does. */
	if (k->pid < 0 && k->restart_at == 0 && cl->stop == UINT64_MAX)
		program_start(k);
	st.pid = k->pid > 0 ? (uint32_t)k->pid : 0;
	m.body_case = GUEST__V1__MESSAGE__BODY_CONSOLE_STARTED;
	m.console_started = &st;
	if (guest_conn_send(&cl->c, &m) < 0)
		client_close(cl);
	cl->attached = true;
	agent_debug("console: %s attached (%s)", cl->who, k->writer == cl ?
	    "keyboard" : cl->stop != UINT64_MAX ? "log" : "read-only");
}

/* A connection handed over by a session process. */
static void
take_handoff(struct keeper *k)
{
	static uint8_t buf[sizeof(struct handoff) + GUEST_FRAME_HELLO_MAX +
	    REST_MAX];
	union {
		struct cmsghdr	h;
		char		b[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { buf, sizeof buf };
	struct msghdr mh = { 0 };
	struct handoff h;
	struct cmsghdr *c;
	struct client *cl;
	Guest__V1__ConsoleRequest *q;
	uint8_t *dst;
	ssize_t n;
	int fd = -1;

	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.b;
	mh.msg_controllen = sizeof cm.b;
	n = recvmsg(k->ctl, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0)
		return;
	if (n == 0) {		/* the agent is gone, and every session */
		agent_debug("console: the agent has gone; exiting");
		if (k->pid > 0)
			kill(-k->pid, SIGHUP);
		_exit(0);
	}
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(c), sizeof fd);
	if (fd < 0)
		return;
	memcpy(&h, buf, n >= (ssize_t)sizeof h ? sizeof h : 0);
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    (size_t)n < sizeof h || h.req_len > GUEST_FRAME_HELLO_MAX ||
	    h.rest_len > REST_MAX ||
	    (size_t)n != sizeof h + h.req_len + h.rest_len) {
		close(fd);
		return;
	}
	h.peer[sizeof h.peer - 1] = '\0';
	if ((cl = calloc(1, sizeof *cl)) == NULL) {
		close(fd);
		return;
	}
	guest_conn_init(&cl->c, fd);
	guest_conn_established(&cl->c);
	cl->stop = UINT64_MAX;
	cl->since = (int64_t)time(NULL) * 1000;
	if (h.rest_len > 0 && guest_buf_reserve(&cl->c.rx, h.rest_len,
	    &dst) == 0) {
		memcpy(dst, buf + sizeof h + h.req_len, h.rest_len);
		guest_buf_commit(&cl->c.rx, h.rest_len);
	}
	if (k->n == MAX_CLIENTS) {
		guest_conn_send_error(&cl->c,
		    GUEST__V1__ERROR_CODE__ERROR_INTERNAL,
		    "too many console clients (at most %d)", MAX_CLIENTS);
		(void)guest_conn_flush(&cl->c);
		guest_conn_close(&cl->c);
		free(cl);
		return;
	}
	k->cl[k->n++] = cl;
	q = guest__v1__console_request__unpack(NULL, h.req_len,
	    buf + sizeof h);
	if (q == NULL) {
		snprintf(cl->who, sizeof cl->who, "%s", h.peer);
		guest_conn_send_error(&cl->c,
		    GUEST__V1__ERROR_CODE__ERROR_PROTOCOL,
		    "malformed console request");
		client_close(cl);
		return;
	}
	snprintf(cl->who, sizeof cl->who, "%.120s%s(%s)",
	    q->client != NULL ? q->client : "", q->client && *q->client ?
	    " " : "", h.peer);
	/* Names come from the peer: nothing that could move a terminal. */
	for (dst = (uint8_t *)cl->who; *dst != '\0'; dst++)
		if (*dst < 0x20 || *dst == 0x7f)
			*dst = '?';
	attach(k, cl, q);
	guest__v1__console_request__free_unpacked(q, NULL);
}

/* One message from a client. */
static int
client_msg(struct keeper *k, struct client *cl, struct guest_msg *m)
{
	switch (m->type) {
	case GUEST__V1__MESSAGE__BODY_DATA:
		if (m->stream != GUEST_STREAM_STDIN)
			return -EBADMSG;
		if (k->writer != cl)
			return 0;	/* typed before it heard; dropped */
		if (guest_buf_append(&k->in, m->data, m->len) < 0)
			return -EBADMSG;	/* cannot be: see IN_MAX */
		write_master(k);
		return 0;
	case GUEST__V1__MESSAGE__BODY_WINDOW_SIZE:
		if (k->writer == cl)
			set_window(k, m->pb->window_size);
		return 0;
	default:
		return -EBADMSG;
	}
}

/* Handle the frames already read, while the keystrokes waiting for the
 * PTY leave room. */
static void
client_process(struct keeper *k, struct client *cl)
{
	struct guest_msg m = { 0 };
	int r = 0;

	while (!cl->closing && guest_buf_used(&k->in) <= IN_MAX &&
	    (r = guest_conn_next(&cl->c, &m)) > 0) {
		r = client_msg(k, cl, &m);
		guest_msg_clear(&m);
		if (r < 0)
			break;
	}
	if (r < 0) {
		guest_conn_discard(&cl->c);
		guest_conn_send_error(&cl->c,
		    GUEST__V1__ERROR_CODE__ERROR_PROTOCOL, "%s",
		    r == -EMSGSIZE ? "frame larger than allowed" :
		    "unexpected message on the console");
		client_close(cl);
		return;
	}
	if (cl->c.eof && !guest_conn_has_frame(&cl->c))
		client_close(cl);
}

static void
client_read(struct keeper *k, struct client *cl)
{
	ssize_t n = guest_conn_fill(&cl->c);

	if (n < 0 && n != -EAGAIN) {
		client_close(cl);
		return;
	}
	client_process(k, cl);
}

/* The loop ----------------------------------------------------------------- */

static void
on_signals(struct keeper *k)
{
	struct signalfd_siginfo si;
	pid_t pid;
	int st;

	while (read(k->sfd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGCHLD)
			continue;
		agent_debug("console: exiting on signal %u", si.ssi_signo);
		if (k->pid > 0)
			kill(-k->pid, SIGHUP);
		_exit(0);
	}
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		if (pid == k->pid)
			program_ended(k, st);
}

static void __attribute__((noreturn))
keeper_loop(struct keeper *k)
{
	struct pollfd p[MAX_CLIENTS + 3];
	struct client *cl;
	int64_t now, wait;
	size_t i, np;
	int r;

	for (;;) {
		now = guest_now_ms();
		if (k->wanted && k->pid < 0 && k->restart_at != 0 &&
		    now >= k->restart_at)
			program_start(k);
		/* Output and last words to everyone; the finished go. */
		for (i = 0; i < k->n; ) {
			cl = k->cl[i];
			r = client_push(k, cl);
			if (r < 0 || (cl->closing &&
			    (!guest_conn_tx_pending(&cl->c) ||
			    now >= cl->close_by))) {
				client_free(k, i);
				continue;
			}
			i++;
		}
		write_master(k);
		/* Frames left in a buffer while the PTY was full. */
		for (i = 0; i < k->n; i++)
			if (guest_buf_used(&k->in) <= IN_MAX &&
			    guest_conn_has_frame(&k->cl[i]->c))
				client_process(k, k->cl[i]);

		wait = -1;
		if (k->restart_at != 0)
			wait = k->restart_at > now ? k->restart_at - now : 0;
		p[0].fd = k->ctl;
		p[0].events = POLLIN;
		p[1].fd = k->sfd;
		p[1].events = POLLIN;
		p[2].fd = k->master >= 0 && !k->master_eof ? k->master : -1;
		p[2].events = POLLIN;
		if (k->master >= 0 && guest_buf_used(&k->in) > 0) {
			p[2].fd = k->master;
			p[2].events |= POLLOUT;
		}
		for (i = 0; i < k->n; i++) {
			cl = k->cl[i];
			p[3 + i].fd = cl->c.fd;
			p[3 + i].events = 0;
			if (!cl->closing && guest_buf_used(&k->in) <= IN_MAX)
				p[3 + i].events |= POLLIN;
			if (guest_conn_tx_pending(&cl->c))
				p[3 + i].events |= POLLOUT;
			if (p[3 + i].events == 0)	/* POLLHUP would spin */
				p[3 + i].fd = -1;
			if (cl->closing) {
				int64_t left = cl->close_by - now;

				if (wait < 0 || left < wait)
					wait = left > 0 ? left : 0;
			}
		}
		np = 3 + k->n;
		if (poll(p, np, (int)(wait > 60000 ? 60000 : wait)) < 0) {
			if (errno == EINTR)
				continue;
			agent_log("console: poll: %s", strerror(errno));
			_exit(1);
		}
		if (p[2].revents & POLLOUT)
			write_master(k);
		if (p[2].revents & (POLLIN | POLLHUP | POLLERR))
			read_master(k);
		/* Clients in the order polled: frees come after. */
		for (i = 0; i < np - 3 && i < k->n; i++)
			if (p[3 + i].revents & (POLLIN | POLLHUP | POLLERR))
				client_read(k, k->cl[i]);
		if (p[1].revents)
			on_signals(k);
		if (p[0].revents)
			take_handoff(k);
	}
}

void
console_keeper(int ctl, pid_t parent, const struct console_opts *o)
{
	struct keeper k = { 0 };
	sigset_t mask;

	(void)prctl(PR_SET_NAME, "guest-console");
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	k.o = o;
	k.ctl = ctl;
	k.pid = -1;
	k.master = -1;
	snprintf(k.term, sizeof k.term, "vt220");
	k.ring.size = o->buffer;
	guest_buf_init(&k.in, IN_MAX + GUEST_FRAME_MAX);
	if ((k.ring.buf = malloc(k.ring.size)) == NULL) {
		agent_log("console: cannot allocate %zu bytes", k.ring.size);
		_exit(1);
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((k.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		agent_log("console: signalfd: %s", strerror(errno));
		_exit(1);
	}
	if (getppid() != parent)	/* it died before PDEATHSIG was set */
		_exit(0);
	if (o->at_start)
		program_start(&k);
	keeper_loop(&k);
}

/* Session side --------------------------------------------------------------- */

int
console_serve(struct guest_conn *c, const Guest__V1__ConsoleRequest *q,
    const char *peer)
{
	union {
		struct cmsghdr	h;
		char		b[CMSG_SPACE(sizeof(int))];
	} cm;
	struct handoff h = { 0 };
	struct iovec iov[3];
	struct msghdr mh = { 0 };
	struct cmsghdr *cmh;
	uint8_t req[GUEST_FRAME_HELLO_MAX];
	size_t len = guest__v1__console_request__get_packed_size(q);
	size_t rest = guest_buf_used(&c->rx) - c->rx_hold;
	ssize_t n;

	if (agent.console_fd < 0) {
		guest_conn_send_error(c, GUEST__V1__ERROR_CODE__ERROR_INTERNAL,
		    "the console is not running in this agent");
		goto refused;
	}
	if (len > sizeof req || rest > REST_MAX) {
		guest_conn_send_error(c, GUEST__V1__ERROR_CODE__ERROR_PROTOCOL,
		    "console request too large");
		goto refused;
	}
	/* Our Hello goes first; then the connection changes hands. */
	if (agent_flush(c, 5000) < 0)
		return 1;
	guest__v1__console_request__pack(q, req);
	h.req_len = (uint32_t)len;
	h.rest_len = (uint32_t)rest;
	snprintf(h.peer, sizeof h.peer, "%s", peer);
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof h;
	iov[1].iov_base = req;
	iov[1].iov_len = len;
	iov[2].iov_base = (void *)(guest_buf_ptr(&c->rx) + c->rx_hold);
	iov[2].iov_len = rest;
	mh.msg_iov = iov;
	mh.msg_iovlen = 3;
	mh.msg_control = cm.b;
	mh.msg_controllen = sizeof cm.b;
	cmh = CMSG_FIRSTHDR(&mh);
	cmh->cmsg_level = SOL_SOCKET;
	cmh->cmsg_type = SCM_RIGHTS;
	cmh->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmh), &c->fd, sizeof(int));
	do
		n = sendmsg(agent.console_fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int e = errno;

		agent_log("%s: console: cannot reach the keeper: %s", peer,
		    strerror(e));
		guest_conn_send_error(c, GUEST__V1__ERROR_CODE__ERROR_INTERNAL,
		    e == EAGAIN ? "the console is not answering" :
		    "the console is not running in this agent");
		goto refused;
	}
	return 0;
refused:
	agent_flush(c, 5000);
	return 1;
}
