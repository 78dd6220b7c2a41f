/*
 * guest console, client side: one poll loop between this terminal and the
 * agent's console session.  Output (history, then live) goes to stdout;
 * keystrokes go in while this client holds the keyboard; ^] at a
 * terminal detaches and leaves the session running.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest/conn.h"
#include "guest/console.h"
#include "guest/session.h"
#include "guest/signals.h"
#include "guest/tty.h"
#include "guest/util.h"

static const int caught[] = { SIGINT, SIGTERM, SIGHUP, SIGWINCH, SIGPIPE };
#define N_CAUGHT (sizeof caught / sizeof caught[0])

#define IN_CHUNK	4096

struct console {
	const struct guest_addr		*addr;
	const struct guest_console_opts	*o;
	struct guest_error		*e;
	struct guest_conn		 c;
	struct guest_signals		 sig;
	struct guest_tty		 tty;

	bool		 started;
	bool		 writer;
	bool		 tty_in;	/* stdin is a terminal */
	bool		 tty_out;	/* notices as a terminal wants them */
	bool		 done;		/* detached, or the log is out */
	bool		 in_busy;	/* in[] is queued */
	uint8_t		 in[IN_CHUNK];
};

static int
fail(struct console *k, int err, const struct guest_msg *m)
{
	if (m != NULL && m->type == GUEST__V1__MESSAGE__BODY_ERROR &&
	    m->pb->error->code == GUEST__V1__ERROR_CODE__ERROR_BUSY)
		return guest_error_set(k->e, -EBUSY, "%s",
		    m->pb->error->message ? m->pb->error->message : "busy");
	return guest_session_fail(&k->c, k->addr, err, m, k->e);
}

/* A line about the session on stderr, set apart from the guest's output
 * on a raw terminal. */
static void __attribute__((format(printf, 2, 3)))
notice(struct console *k, const char *fmt, ...)
{
	char line[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (k->tty_out)
		fprintf(stderr, "\r\n[guest console: %s]\r\n", line);
	else
		fprintf(stderr, "guest: console: %s\n", line);
}

static int
send_winsize(struct console *k)
{
	GuestMessage m = GUEST__V1__MESSAGE__INIT;
	Guest__V1__WindowSize ws = GUEST__V1__WINDOW_SIZE__INIT;
	int r;

	guest_tty_window(&ws);
	m.body_case = GUEST__V1__MESSAGE__BODY_WINDOW_SIZE;
	m.window_size = &ws;
	if ((r = guest_conn_send(&k->c, &m)) < 0)
		return fail(k, r, NULL);
	return 0;
}

static void
on_event(struct console *k, const Guest__V1__ConsoleEvent *ev)
{
	const char *who = ev->who != NULL ? ev->who : "";

	switch (ev->kind) {
	case GUEST__V1__CONSOLE_EVENT__KIND__EVENT_EXITED:
		if (*who != '\0')
			notice(k, "the program could not start: %s; "
			    "trying again in %.1f s", who,
			    ev->restart_ms / 1000.0);
		else if (ev->signal != 0)
			notice(k, "the program was killed by signal %s; "
			    "restarting in %.1f s",
			    sigabbrev_np((int)ev->signal) ?
			    sigabbrev_np((int)ev->signal) : "?",
			    ev->restart_ms / 1000.0);
		else
			notice(k, "the program exited with status %u; "
			    "restarting in %.1f s", ev->code,
			    ev->restart_ms / 1000.0);
		break;
	case GUEST__V1__CONSOLE_EVENT__KIND__EVENT_STARTED:
		notice(k, "started again (pid %u)", ev->pid);
		break;
	case GUEST__V1__CONSOLE_EVENT__KIND__EVENT_TAKEN:
		if (k->writer)
			notice(k, "%s took the keyboard; read-only now%s", who,
			    k->tty_in ? " (^] detaches)" : "");
		k->writer = false;
		break;
	case GUEST__V1__CONSOLE_EVENT__KIND__EVENT_DROPPED:
		notice(k, "%llu bytes of output lost: this client fell "
		    "behind", (unsigned long long)ev->bytes);
		break;
	default:
		break;		/* newer kinds: nothing to say */
	}
}

static int
on_started(struct console *k, const Guest__V1__ConsoleStarted *st)
{
	const char *name = k->o->name;
	char line[160];
	int n;

	k->started = true;
	k->writer = st->writer;
	if (k->o->mode == GUEST_CONSOLE_LOG) {
		if (st->dropped > 0)
			printf("[guest console: %llu earlier bytes dropped]\n",
			    (unsigned long long)st->dropped);
		fflush(stdout);
		return 0;
	}
	if (k->tty_in) {
		fprintf(stderr, "Connected to the console of %s%s%s%s\n"
		    "Escape character is ^] (Ctrl + ])\n", name,
		    st->writer ? "" : ", read-only",
		    st->holder && *st->holder ? "; took the keyboard from " :
		    "", st->holder ? st->holder : "");
		(void)guest_tty_raw(&k->tty, STDIN_FILENO);
		k->tty_out = isatty(STDERR_FILENO);
	}
	if (st->dropped > 0) {
		n = snprintf(line, sizeof line, "%s[guest console: %llu earlier "
		    "bytes dropped]%s", k->tty_out ? "\r\n" : "",
		    (unsigned long long)st->dropped, k->tty_out ? "\r\n" : "\n");
		(void)guest_write_all(STDOUT_FILENO, line, (size_t)n);
	}
	return 0;
}

static int
handle(struct console *k, struct guest_msg *m)
{
	int r;

	if (!k->started && m->type != GUEST__V1__MESSAGE__BODY_CONSOLE_STARTED)
		return fail(k, 0, m);
	switch (m->type) {
	case GUEST__V1__MESSAGE__BODY_CONSOLE_STARTED:
		if (k->started)
			return fail(k, 0, m);
		return on_started(k, m->pb->console_started);
	case GUEST__V1__MESSAGE__BODY_DATA:
		if (m->stream != GUEST_STREAM_STDOUT)
			return fail(k, -EBADMSG, NULL);
		if ((r = guest_write_all(STDOUT_FILENO, m->data, m->len)) < 0)
			return guest_error_set(k->e, r, "stdout: %s",
			    strerror(-r));
		return 0;
	case GUEST__V1__MESSAGE__BODY_CONSOLE_EVENT:
		on_event(k, m->pb->console_event);
		return 0;
	case GUEST__V1__MESSAGE__BODY_EOF:
		if (k->o->mode != GUEST_CONSOLE_LOG)
			return fail(k, 0, m);
		k->done = true;
		return 0;
	default:
		return fail(k, 0, m);
	}
}

/* Keystrokes: ^] at a terminal detaches; the rest goes in while this
 * client holds the keyboard, and is dropped while it watches. */
static int
read_stdin(struct console *k)
{
	uint8_t *esc;
	ssize_t n;
	size_t len;
	int r;

	n = read(STDIN_FILENO, k->in, sizeof k->in);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {		/* the end of a script's input */
		k->done = true;
		return 0;
	}
	len = (size_t)n;
	if (k->tty_in && (esc = memchr(k->in, GUEST_CONSOLE_ESCAPE, len))) {
		len = (size_t)(esc - k->in);
		k->done = true;
	}
	if (!k->writer || len == 0)
		return 0;
	r = guest_conn_send_data(&k->c, GUEST_STREAM_STDIN, k->in, len,
	    &k->in_busy);
	return r < 0 ? fail(k, r, NULL) : 0;
}

static int
on_signals(struct console *k)
{
	unsigned char sigs[8];
	ssize_t n, i;

	n = read(k->sig.fd, sigs, 4);
	for (i = 0; i < n; i++) {
		if (sigs[i] == SIGWINCH) {
			if (k->writer && k->tty_in && send_winsize(k) < 0)
				return -1;
			continue;
		}
		if (sigs[i] == SIGPIPE)
			continue;
		return guest_error_set(k->e, -EINTR, "terminated by signal %s",
		    sigabbrev_np(sigs[i]));
	}
	return 0;
}

static int
loop(struct console *k)
{
	struct pollfd p[3];
	struct guest_msg m;
	ssize_t n;
	int r;

	for (;;) {
		while (!k->done && (r = guest_conn_next(&k->c, &m)) != 0) {
			if (r < 0)
				return fail(k, r, NULL);
			r = handle(k, &m);
			guest_msg_clear(&m);
			if (r < 0)
				return -1;
		}
		if (k->done)
			break;
		if (k->c.eof)
			return fail(k, -ECONNRESET, NULL);
		r = guest_conn_flush(&k->c);
		if (r < 0 && r != -EAGAIN)
			return fail(k, r, NULL);

		p[0].fd = k->c.fd;
		p[0].events = POLLIN |
		    (guest_conn_tx_pending(&k->c) ? POLLOUT : 0);
		/* stdin: keystrokes for a writer; ^] from a watcher at a
		 * terminal; a watcher's non-terminal stdin is not read. */
		p[1].fd = STDIN_FILENO;
		p[1].events = POLLIN;
		if (!k->started || k->in_busy || guest_conn_tx_full(&k->c) ||
		    k->o->mode == GUEST_CONSOLE_LOG ||
		    (!k->writer && !k->tty_in))
			p[1].fd = -1;
		p[2].fd = k->sig.fd;
		p[2].events = POLLIN;
		if (!guest_conn_tx_room(&k->c, 4))
			p[2].fd = -1;
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return guest_error_set(k->e, -errno, "poll: %s",
			    strerror(errno));
		}
		if (p[2].revents && on_signals(k) < 0)
			return -1;
		if (p[1].revents && read_stdin(k) < 0)
			return -1;
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = guest_conn_fill(&k->c);
			if (n < 0 && n != -EAGAIN)
				return fail(k, (int)n, NULL);
		}
	}
	/* Detached: the last keystrokes still go out. */
	(void)guest_conn_flush_until(&k->c, guest_now_ms() + 2000);
	return 0;
}

int
guest_console(const struct guest_addr *a, const struct guest_console_opts *o,
    struct guest_error *e)
{
	GuestMessage m = GUEST__V1__MESSAGE__INIT;
	Guest__V1__ConsoleRequest req = GUEST__V1__CONSOLE_REQUEST__INIT;
	Guest__V1__WindowSize ws = GUEST__V1__WINDOW_SIZE__INIT;
	struct console *k;
	const char *term;
	int r;

	switch (o->mode) {
	case GUEST_CONSOLE_READ_ONLY:
		req.mode = GUEST__V1__CONSOLE_MODE__CONSOLE_READ_ONLY;
		break;
	case GUEST_CONSOLE_FORCE:
		req.mode = GUEST__V1__CONSOLE_MODE__CONSOLE_FORCE;
		break;
	case GUEST_CONSOLE_LOG:
		req.mode = GUEST__V1__CONSOLE_MODE__CONSOLE_LOG;
		break;
	default:
		req.mode = GUEST__V1__CONSOLE_MODE__CONSOLE_WRITE;
		break;
	}
	req.all_history = o->all_history;
	req.history = o->history;
	req.client = (char *)(o->client ? o->client : "");
	term = getenv("TERM");
	req.term = (char *)(term && *term ? term : "vt220");
	if (isatty(STDIN_FILENO)) {
		guest_tty_window(&ws);
		req.window = &ws;
	}
	m.body_case = GUEST__V1__MESSAGE__BODY_CONSOLE_REQUEST;
	m.console_request = &req;

	if ((k = calloc(1, sizeof *k)) == NULL)
		return guest_error_set(e, -ENOMEM, "out of memory");
	k->addr = a;
	k->o = o;
	k->e = e;
	k->sig.fd = -1;
	k->tty_in = o->mode != GUEST_CONSOLE_LOG && isatty(STDIN_FILENO);
	if (e != NULL)
		memset(e, 0, sizeof *e);
	if ((r = guest_session_open(a, &o->open, "console", &m,
	    &k->c, NULL, e)) < 0) {
		free(k);
		return r;
	}
	if ((r = guest_signals_catch(&k->sig, caught, N_CAUGHT, e)) == 0) {
		r = loop(k);
		guest_tty_restore(&k->tty);
		guest_signals_release(&k->sig);
		if (r < 0 && e != NULL)
			r = e->code != 0 ? e->code : -EPROTO;
	}
	guest_conn_close(&k->c);
	free(k);
	return r;
}
