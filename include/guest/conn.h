/*
 * A protocol connection: a non-blocking socket, a bounded receive buffer
 * that frames are parsed out of in place, and a send queue whose Data
 * entries point at the caller's buffer (header and payload leave in one
 * sendmsg, with no copy and no allocation per chunk).
 */
#ifndef GUEST_CONN_H
#define GUEST_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "guest/buf.h"
#include "guest/error.h"
#include "guest/proto.h"

#define GUEST_TXQ_LEN		32
#define GUEST_TX_INLINE		128

struct guest_tx {
	uint8_t		 head[GUEST_TX_INLINE];	/* Data header or small frame */
	size_t		 head_len;
	uint8_t		*big;			/* owned, for large frames */
	const uint8_t	*payload;		/* borrowed, Data only */
	size_t		 payload_len;
	size_t		 piped;			/* of payload, in the pipe */
	size_t		 sent;
	bool		*busy;			/* cleared once sent */
};

struct guest_conn {
	int		 fd;
	size_t		 cap;		/* frame cap in force */
	struct guest_buf rx;
	size_t		 rx_hold;	/* bytes of the last frame handed out */
	struct guest_tx	 txq[GUEST_TXQ_LEN];
	unsigned	 tx_head, tx_count;
	uint64_t	 tx_total;	/* bytes queued since the start */
	bool		 eof;		/* peer closed its sending side */
	int		 pipe[2];	/* file pages on their way, or -1 */
	bool		 no_splice;	/* the socket or a file refused it */
	bool		 splice_ok;	/* the socket has taken pipe pages */
};

void	guest_conn_init(struct guest_conn *, int fd);
/* Frees buffers and closes the socket. */
void	guest_conn_close(struct guest_conn *);
/* Drop everything queued, releasing the callers' buffers. */
void	guest_conn_discard(struct guest_conn *);

/* Switch from the pre-handshake cap to GUEST_FRAME_MAX. */
void	guest_conn_established(struct guest_conn *);

/* Queue a message.  -ENOBUFS when the queue is full. */
int	guest_conn_send(struct guest_conn *, const GuestMessage *);
/* Queue n payload bytes on a stream; *busy is true until they have gone
 * out, and the caller must not touch payload until then. */
int	guest_conn_send_data(struct guest_conn *, uint32_t stream,
	    const uint8_t *payload, size_t n, bool *busy);
/* The same, for the n bytes of fd at off: the connection moves them
 * from the file with splice(2), without copying them into the socket,
 * wherever the kernel allows, and from payload otherwise.  *from says
 * where payload must hold the file's bytes before the next flush: n
 * when every byte is in the pipe and the socket is known to take pipe
 * pages (payload is then never read), else the first byte that may go
 * from payload (0 until the socket has taken a splice).  1 when fd
 * refused splice (its next bytes are better sent with send_data). */
int	guest_conn_send_file_data(struct guest_conn *, uint32_t stream,
	    const uint8_t *payload, size_t n, bool *busy, int fd, off_t off,
	    size_t *from);
/* Whether file data is still worth giving to send_file_data. */
static inline bool
guest_conn_splicing(const struct guest_conn *c)
{
	return !c->no_splice;
}
/* Data may fill half the queue; the rest is kept for control messages,
 * so a credit or a signal always finds a place. */
static inline bool
guest_conn_tx_full(const struct guest_conn *c)
{
	return c->tx_count >= GUEST_TXQ_LEN / 2;
}
static inline bool
guest_conn_tx_room(const struct guest_conn *c, unsigned n)
{
	return c->tx_count + n <= GUEST_TXQ_LEN;
}
static inline bool
guest_conn_tx_pending(const struct guest_conn *c)
{
	return c->tx_count > 0;
}
/* Write what can be written now: 0 when the queue is empty, -EAGAIN when
 * some is left, another negative errno when the connection broke. */
int	guest_conn_flush(struct guest_conn *);

/* Read what the socket has.  Returns bytes read, 0 at EOF (c->eof is
 * set), -EAGAIN, or another negative errno. */
ssize_t	guest_conn_fill(struct guest_conn *);
/* Next complete frame, decoded: 1 and *m filled, 0 when more bytes are
 * needed, negative on a bad frame (-EMSGSIZE, -EBADMSG).  The previous
 * frame's bytes (and so its Data pointers) are released by this call. */
int	guest_conn_next(struct guest_conn *, struct guest_msg *m);
/* Is a whole frame waiting in the receive buffer? */
bool	guest_conn_has_frame(const struct guest_conn *);

/* Blocking forms for the handshake, against a deadline (guest_now_ms()). */
int	guest_conn_flush_until(struct guest_conn *, int64_t deadline);
int	guest_conn_recv_until(struct guest_conn *, struct guest_msg *m,
	    int64_t deadline);

/* A one-line description of an Error message's code. */
const char *guest_error_code_name(int code);

/* Queue an Error message. */
int	guest_conn_send_error(struct guest_conn *, int code, const char *fmt,
	    ...) __attribute__((format(printf, 3, 4)));

#endif
