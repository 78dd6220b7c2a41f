/*
 * The byte relay behind guest socat and socat-listen.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest/buf.h"
#include "guest/relay.h"
#include "guest/util.h"

#define RELAY_BUF	(256 * 1024)
#define RELAY_LINGER_MS	500	/* input still sent after the peer's EOF */

/* One direction: from fd into buf, then out to the other fd; or, when
 * one end is a pipe, splice(2) straight across with no copy through here. */
struct dir {
	int		 from, to;
	struct guest_buf buf;
	bool		 eof;		/* from is done */
	bool		 shut;		/* to has been told */
	bool		 splice;
	bool		 blocked_out;	/* splice waits for room in to */
};

static bool
is_pipe(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

/* Move what can be moved now.  After a readiness of the source, EAGAIN
 * means the destination is full; after one of the destination, that the
 * source is empty: wait for the other then. */
static int
step_splice(struct dir *d, bool source_ready)
{
	ssize_t n;

	for (;;) {
		n = splice(d->from, NULL, d->to, NULL, RELAY_BUF,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			d->blocked_out = false;
			source_ready = true;
			continue;
		}
		if (n == 0) {
			d->eof = true;
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			d->blocked_out = source_ready;
			return 0;
		}
		if (errno == EINVAL || errno == ENOSYS) {
			/* Not for these fds after all: copy instead. */
			d->splice = false;
			d->blocked_out = false;
			return 0;
		}
		return -errno;
	}
}

static int
step_read(struct dir *d)
{
	ssize_t n = guest_buf_read_fd(&d->buf, d->from, 0);

	if (n == 0 || n == -EIO)
		d->eof = true;
	else if (n < 0 && n != -EAGAIN)
		return (int)n;
	return 0;
}

static int
step_write(struct dir *d)
{
	ssize_t n = guest_buf_write_fd(&d->buf, d->to);

	return n < 0 && n != -EAGAIN ? (int)n : 0;
}

/* p[0] watches the source, p[1] the destination. */
static void
relay_pollfds(const struct dir *d, struct pollfd *p)
{
	p[0].events = POLLIN;
	p[1].events = POLLOUT;
	p[0].fd = p[1].fd = -1;
	if (d->splice) {
		if (!d->eof && d->blocked_out)
			p[1].fd = d->to;
		else if (!d->eof)
			p[0].fd = d->from;
		return;
	}
	if (!d->eof && guest_buf_avail(&d->buf) > 0)
		p[0].fd = d->from;
	if (guest_buf_used(&d->buf) > 0)
		p[1].fd = d->to;
}

/* Act on one direction's poll results.  An unreadable input (not the
 * socket) is treated as an empty one. */
static int
relay_step(struct dir *d, const struct pollfd *p, bool input_side)
{
	int r;

	if (d->splice) {
		if (p[0].revents || p[1].revents)
			return step_splice(d, p[0].revents != 0);
		return 0;
	}
	if (p[0].revents && (r = step_read(d)) < 0) {
		if (!input_side)
			return r;
		d->eof = true;
	}
	if (p[1].revents && (r = step_write(d)) < 0)
		return r;
	return 0;
}

int
guest_relay(int sock, int in_fd, int out_fd, struct guest_error *e)
{
	struct dir up = { .from = in_fd, .to = sock };
	struct dir down = { .from = sock, .to = out_fd };
	struct pollfd p[4];
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	struct stat st;
	bool timed_out = false;
	int r = 0, outfl = -1, n;

	guest_buf_init(&up.buf, RELAY_BUF);
	guest_buf_init(&down.buf, RELAY_BUF);
	up.splice = is_pipe(in_fd);
	down.splice = is_pipe(out_fd);
	/* Bigger pipes around us: fewer, larger moves. */
	if (up.splice)
		(void)fcntl(in_fd, F_SETPIPE_SZ, 1024 * 1024);
	if (down.splice)
		(void)fcntl(out_fd, F_SETPIPE_SZ, 1024 * 1024);
	(void)guest_set_nonblock(sock, 1);
	sigaction(SIGPIPE, &ign, &old);
	/* A pipe on our output must not block the loop (restored below). */
	if (fstat(out_fd, &st) == 0 && (S_ISFIFO(st.st_mode) ||
	    S_ISSOCK(st.st_mode)) && (outfl = fcntl(out_fd, F_GETFL)) >= 0)
		(void)fcntl(out_fd, F_SETFL, outfl | O_NONBLOCK);

	for (;;) {
		/* Our input is done and sent: say so, once. */
		if (up.eof && guest_buf_used(&up.buf) == 0 && !up.shut) {
			shutdown(sock, SHUT_WR);
			up.shut = true;
		}
		/* Both ways done.  The peer's EOF may be a half-close, so our
		 * input still goes out while it keeps coming (socat's -t). */
		if (down.eof && guest_buf_used(&down.buf) == 0 &&
		    (up.shut || timed_out))
			break;
		memset(p, 0, sizeof p);
		relay_pollfds(&up, p);
		relay_pollfds(&down, p + 2);
		n = poll(p, 4, down.eof && guest_buf_used(&down.buf) == 0 ?
		    RELAY_LINGER_MS : -1);
		if (n == 0)
			timed_out = true;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = guest_error_set(e, -errno, "poll: %s",
			    strerror(errno));
			break;
		}
		if ((r = relay_step(&up, p, true)) < 0) {
			/* After its EOF the peer may have closed for good. */
			if (down.eof && (r == -EPIPE || r == -ECONNRESET)) {
				r = 0;
				break;
			}
			r = guest_error_set(e, r, "sending: %s", strerror(-r));
			break;
		}
		if ((r = relay_step(&down, p + 2, false)) < 0) {
			r = guest_error_set(e, r, "receiving: %s",
			    strerror(-r));
			break;
		}
	}
	if (outfl >= 0)
		(void)fcntl(out_fd, F_SETFL, outfl);
	sigaction(SIGPIPE, &old, NULL);
	guest_buf_free(&up.buf);
	guest_buf_free(&down.buf);
	return r;
}
