/*
 * Protocol connections: receive buffer, send queue, blocking helpers.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "guest/conn.h"
#include "guest/util.h"

/* The receive buffer holds at least one frame of the largest size plus
 * room to read ahead. */
#define RX_MAX	(GUEST_FRAME_HDR + GUEST_FRAME_MAX + 256 * 1024)

void
guest_conn_init(struct guest_conn *c, int fd)
{
	memset(c, 0, sizeof *c);
	c->fd = fd;
	c->pipe[0] = c->pipe[1] = -1;
	c->cap = GUEST_FRAME_HELLO_MAX;
	guest_buf_init(&c->rx, RX_MAX);
}

/* Drop the entry at the head of the send queue, releasing its buffer. */
static void
tx_retire(struct guest_conn *c)
{
	struct guest_tx *t = &c->txq[c->tx_head];

	free(t->big);
	t->big = NULL;
	if (t->busy != NULL)
		*t->busy = false;
	t->busy = NULL;
	c->tx_head = (c->tx_head + 1) % GUEST_TXQ_LEN;
	c->tx_count--;
}

void
guest_conn_discard(struct guest_conn *c)
{
	while (c->tx_count > 0)
		tx_retire(c);
	/* Whatever the pipe held belonged to those entries. */
	guest_closep(&c->pipe[0]);
	guest_closep(&c->pipe[1]);
}

void
guest_conn_close(struct guest_conn *c)
{
	if (c == NULL)
		return;
	guest_conn_discard(c);
	guest_buf_free(&c->rx);
	guest_closep(&c->fd);
}

void
guest_conn_established(struct guest_conn *c)
{
	c->cap = GUEST_FRAME_MAX;
}

static struct guest_tx *
tx_slot(struct guest_conn *c)
{
	struct guest_tx *t;

	if (c->tx_count >= GUEST_TXQ_LEN)
		return NULL;
	t = &c->txq[(c->tx_head + c->tx_count) % GUEST_TXQ_LEN];
	memset(t, 0, sizeof *t);
	return t;
}

int
guest_conn_send(struct guest_conn *c, const GuestMessage *m)
{
	size_t len = guest__v1__message__get_packed_size(m);
	struct guest_tx *t;
	uint8_t *p;

	if (len > GUEST_FRAME_MAX)
		return -EMSGSIZE;
	if ((t = tx_slot(c)) == NULL)
		return -ENOBUFS;
	if (GUEST_FRAME_HDR + len <= sizeof t->head) {
		p = t->head;
	} else {
		if ((t->big = malloc(GUEST_FRAME_HDR + len)) == NULL)
			return -ENOMEM;
		p = t->big;
	}
	p[0] = (uint8_t)(len >> 24);
	p[1] = (uint8_t)(len >> 16);
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	guest__v1__message__pack(m, p + GUEST_FRAME_HDR);
	t->head_len = GUEST_FRAME_HDR + len;
	c->tx_total += t->head_len;
	c->tx_count++;
	return 0;
}

int
guest_conn_send_data(struct guest_conn *c, uint32_t stream,
    const uint8_t *payload, size_t n, bool *busy)
{
	struct guest_tx *t;

	if (n > GUEST_DATA_CHUNK)
		return -EMSGSIZE;
	if ((t = tx_slot(c)) == NULL)
		return -ENOBUFS;
	t->head_len = guest_data_header(t->head, stream, n, c->tx_total);
	c->tx_total += t->head_len + n;
	t->payload = payload;
	t->payload_len = n;
	t->busy = busy;
	if (busy != NULL)
		*busy = true;
	c->tx_count++;
	return 0;
}

/* Splice pages -------------------------------------------------------- */

/* A pipe as deep as the file data a sender keeps in flight. */
#define PIPE_SIZE	(1024 * 1024)

static bool
pipe_ready(struct guest_conn *c)
{
	if (c->pipe[1] >= 0)
		return true;
	if (pipe2(c->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		c->pipe[0] = c->pipe[1] = -1;
		return false;
	}
	(void)fcntl(c->pipe[1], F_SETPIPE_SZ, PIPE_SIZE);
	return true;
}

int
guest_conn_send_file_data(struct guest_conn *c, uint32_t stream,
    const uint8_t *payload, size_t n, bool *busy, int fd, off_t off,
    size_t *from)
{
	struct guest_tx *t;
	bool refused = false;
	ssize_t m;
	int r;

	*from = 0;
	if ((r = guest_conn_send_data(c, stream, payload, n, busy)) < 0)
		return r;
	if (c->no_splice || !pipe_ready(c))
		return 0;
	t = &c->txq[(c->tx_head + c->tx_count - 1) % GUEST_TXQ_LEN];
	/* Page references into the pipe; a full pipe or a short move just
	 * leaves the rest to be sent from payload. */
	while (t->piped < n) {
		m = splice(fd, &off, c->pipe[1], NULL, n - t->piped,
		    SPLICE_F_NONBLOCK);
		if (m < 0 && errno == EINTR)
			continue;
		if (m < 0 && errno != EAGAIN)
			refused = true;		/* this file system cannot */
		if (m <= 0)
			break;
		t->piped += (size_t)m;
	}
	/* Until the socket has taken pipe pages, it may refuse them, and
	 * then the whole payload goes instead. */
	*from = c->splice_ok ? t->piped : 0;
	return refused ? 1 : 0;
}

/* Throw away the entry's bytes still in the pipe (it will send them
 * from its payload instead). */
static int
pipe_drop(struct guest_conn *c, struct guest_tx *t)
{
	uint8_t scratch[16384];
	size_t done = t->sent > t->head_len ? t->sent - t->head_len : 0;
	size_t left = t->piped - done;
	ssize_t m;

	while (left > 0) {
		m = read(c->pipe[0], scratch, left < sizeof scratch ? left :
		    sizeof scratch);
		if (m < 0 && errno == EINTR)
			continue;
		if (m <= 0)
			return -EIO;	/* cannot happen: they are there */
		left -= (size_t)m;
	}
	t->piped = done;
	return 0;
}

/* Move the head entry's piped bytes to the socket: 0 when they are all
 * gone (or will go from payload), -EAGAIN, or a broken connection. */
static int
flush_piped_sig(struct guest_conn *c, struct guest_tx *t)
{
	ssize_t m;

	while (t->sent < t->head_len + t->piped) {
		if (c->no_splice)
			return pipe_drop(c, t);
		m = splice(c->pipe[0], NULL, c->fd, NULL,
		    t->head_len + t->piped - t->sent,
		    SPLICE_F_NONBLOCK | SPLICE_F_MORE);
		if (m < 0 && errno == EINTR)
			continue;
		if (m < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return -EAGAIN;
		/* This socket cannot; once it has, payloads past what was
		 * piped may not hold the bytes (send_file_data's *from). */
		if (m < 0 && !c->splice_ok && (errno == EINVAL ||
		    errno == EOPNOTSUPP || errno == ENOSYS)) {
			c->no_splice = true;
			continue;
		}
		if (m < 0)
			return -errno;
		if (m == 0)
			return -EIO;
		t->sent += (size_t)m;
		c->splice_ok = true;
	}
	return 0;
}

/* splice(2) has no MSG_NOSIGNAL: a peer that went away raises SIGPIPE,
 * which must not kill the program using the library.  Hold it blocked
 * and take back one that this call raised, unless the program ignores it
 * anyway (the agent does): one system call a chunk instead of three. */
static int
flush_piped(struct guest_conn *c, struct guest_tx *t)
{
	static const struct timespec now;
	sigset_t pipe_only, old, pending;
	struct sigaction sa;
	bool was_pending;
	int r;

	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
		return flush_piped_sig(c, t);
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	r = flush_piped_sig(c, t);
	if (r == -EPIPE && !was_pending)
		(void)sigtimedwait(&pipe_only, NULL, &now);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

int
guest_conn_flush(struct guest_conn *c)
{
	struct iovec iov[2 * 16];
	struct msghdr mh;
	struct guest_tx *t;
	unsigned i, n;
	size_t first, hl;
	ssize_t w;
	int iovcnt, r;

	while (c->tx_count > 0) {
		t = &c->txq[c->tx_head];
		if (t->piped > 0 && t->sent >= t->head_len) {
			if ((r = flush_piped(c, t)) < 0)
				return r;
			if (t->sent == t->head_len + t->payload_len) {
				tx_retire(c);
				continue;
			}
		}
		iovcnt = 0;
		n = c->tx_count < 16 ? c->tx_count : 16;
		for (i = 0; i < n; i++) {
			t = &c->txq[(c->tx_head + i) % GUEST_TXQ_LEN];
			if (i > 0 && t->piped > 0)
				break;		/* its pages go by splice */
			first = i == 0 ? t->sent : 0;
			hl = t->head_len;
			if (first < hl) {
				iov[iovcnt].iov_base = (t->big ? t->big :
				    t->head) + first;
				iov[iovcnt++].iov_len = hl - first;
				if (t->piped > 0)
					break;	/* the header, then splice */
				first = 0;
			} else
				first -= hl;
			if (t->payload_len > first) {
				iov[iovcnt].iov_base = (void *)(t->payload +
				    first);
				iov[iovcnt++].iov_len = t->payload_len - first;
			}
		}
		memset(&mh, 0, sizeof mh);
		mh.msg_iov = iov;
		mh.msg_iovlen = (size_t)iovcnt;
		w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		}
		/* Retire the entries that went out whole. */
		while (w > 0 && c->tx_count > 0) {
			t = &c->txq[c->tx_head];
			size_t left = t->head_len + t->payload_len - t->sent;

			if ((size_t)w < left) {
				t->sent += (size_t)w;
				break;
			}
			w -= (ssize_t)left;
			tx_retire(c);
		}
	}
	return 0;
}

/* Room kept at the end of the buffer for the rest of a Data frame. */
#define FRAME_SPAN	(GUEST_FRAME_HDR + 64 + GUEST_DATA_CHUNK)

/* How much to read (0: all there is room for).  A read leaves room at
 * the end of the buffer for the rest of a Data frame it ends inside, and
 * a frame begun is read to its end and no further; the buffer then
 * empties once its frames are handled and the next read lands at its
 * front.  Otherwise the part of a frame at the end would have to slide
 * to the front (a copy of an eighth of a bulk stream's bytes); this
 * costs one read more a buffer's length. */
static size_t
fill_size(const struct guest_conn *c)
{
	const struct guest_buf *b = &c->rx;
	size_t used = guest_buf_used(b), room, rest;

	if (b->data == NULL)
		return 0;
	room = b->cap - b->len;
	if (used >= GUEST_FRAME_HDR) {
		rest = GUEST_FRAME_HDR +
		    (size_t)guest_get_be32(guest_buf_ptr(b));
		if (rest > used && rest - used <= room)
			return rest - used;
	}
	return room > FRAME_SPAN ? room - FRAME_SPAN : 0;
}

ssize_t
guest_conn_fill(struct guest_conn *c)
{
	ssize_t r;

	/* Release the frame handed out last, so there is room. */
	if (c->rx_hold > 0) {
		guest_buf_consume(&c->rx, c->rx_hold);
		c->rx_hold = 0;
	}
	r = guest_buf_read_fd(&c->rx, c->fd, fill_size(c));
	if (r == 0)
		c->eof = true;
	if (r == -EWOULDBLOCK)
		r = -EAGAIN;
	return r;
}

bool
guest_conn_has_frame(const struct guest_conn *c)
{
	const uint8_t *body;
	size_t blen;

	return guest_frame_parse(guest_buf_ptr(&c->rx) + c->rx_hold,
	    guest_buf_used(&c->rx) - c->rx_hold, c->cap, &body, &blen) != 0;
}

int
guest_conn_next(struct guest_conn *c, struct guest_msg *m)
{
	const uint8_t *body;
	size_t blen;
	long fl;
	int r;

	if (c->rx_hold > 0) {
		guest_buf_consume(&c->rx, c->rx_hold);
		c->rx_hold = 0;
	}
	fl = guest_frame_parse(guest_buf_ptr(&c->rx), guest_buf_used(&c->rx),
	    c->cap, &body, &blen);
	if (fl <= 0)
		return (int)fl;
	if ((r = guest_msg_decode(body, blen, m)) < 0)
		return r;
	c->rx_hold = (size_t)fl;
	return 1;
}

int
guest_conn_flush_until(struct guest_conn *c, int64_t deadline)
{
	int r;

	while ((r = guest_conn_flush(c)) == -EAGAIN)
		if ((r = guest_wait_fd(c->fd, POLLOUT, deadline)) < 0)
			return r;
	return r;
}

int
guest_conn_recv_until(struct guest_conn *c, struct guest_msg *m,
    int64_t deadline)
{
	ssize_t n;
	int r;

	for (;;) {
		if ((r = guest_conn_next(c, m)) != 0)
			return r;
		if (c->eof)
			return -ECONNRESET;
		n = guest_conn_fill(c);
		if (n == 0)
			return -ECONNRESET;
		if (n == -EAGAIN) {
			if ((r = guest_wait_fd(c->fd, POLLIN, deadline)) < 0)
				return r;
		} else if (n < 0)
			return (int)n;
	}
}

const char *
guest_error_code_name(int code)
{
	switch (code) {
	case GUEST__V1__ERROR_CODE__ERROR_VERSION:	return "version mismatch";
	case GUEST__V1__ERROR_CODE__ERROR_PROTOCOL:	return "protocol error";
	case GUEST__V1__ERROR_CODE__ERROR_UNSUPPORTED:	return "unsupported";
	case GUEST__V1__ERROR_CODE__ERROR_DENIED:	return "denied";
	case GUEST__V1__ERROR_CODE__ERROR_NOT_FOUND:	return "not found";
	case GUEST__V1__ERROR_CODE__ERROR_INTERNAL:	return "internal error";
	case GUEST__V1__ERROR_CODE__ERROR_EXISTS:	return "in the way";
	case GUEST__V1__ERROR_CODE__ERROR_NO_SPACE:	return "no space left";
	case GUEST__V1__ERROR_CODE__ERROR_IO:		return "I/O error";
	case GUEST__V1__ERROR_CODE__ERROR_BUSY:		return "busy";
	default:					return "error";
	}
}

int
guest_conn_send_error(struct guest_conn *c, int code, const char *fmt, ...)
{
	GuestMessage m = GUEST__V1__MESSAGE__INIT;
	Guest__V1__Error err = GUEST__V1__ERROR__INIT;
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	err.code = code;
	err.message = text;
	m.body_case = GUEST__V1__MESSAGE__BODY_ERROR;
	m.error = &err;
	return guest_conn_send(c, &m);
}
