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

/* One direction: from fd into buf, then out to the other fd. */
struct dir {
	int		 from, to;
	struct guest_buf buf;
	bool		 eof;		/* from is done */
	bool		 shut;		/* to has been told */
};

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
		p[0].fd = !up.eof && guest_buf_avail(&up.buf) > 0 ? in_fd : -1;
		p[0].events = POLLIN;
		p[1].fd = guest_buf_used(&up.buf) > 0 ? sock : -1;
		p[1].events = POLLOUT;
		p[2].fd = !down.eof && guest_buf_avail(&down.buf) > 0 ? sock : -1;
		p[2].events = POLLIN;
		p[3].fd = guest_buf_used(&down.buf) > 0 ? out_fd : -1;
		p[3].events = POLLOUT;
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
		if (p[0].revents && (r = step_read(&up)) < 0) {
			/* An unreadable stdin is an empty one. */
			up.eof = true;
			r = 0;
		}
		if (p[1].revents && (r = step_write(&up)) < 0) {
			/* After its EOF the peer may have closed for good. */
			if (down.eof && (r == -EPIPE || r == -ECONNRESET)) {
				r = 0;
				break;
			}
			r = guest_error_set(e, r, "sending: %s", strerror(-r));
			break;
		}
		if (p[2].revents && (r = step_read(&down)) < 0) {
			r = guest_error_set(e, r, "receiving: %s",
			    strerror(-r));
			break;
		}
		if (p[3].revents && (r = step_write(&down)) < 0) {
			r = guest_error_set(e, r, "writing output: %s",
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
