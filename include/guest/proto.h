/*
 * Protocol v1: frames (a 32-bit big-endian length, then one protobuf
 * Message) and the message codec.  The Data message is encoded and decoded
 * by hand so bulk bytes are never copied through protobuf-c; everything
 * else goes through the generated code.  See docs/PROTOCOL.md.
 */
#ifndef GUEST_PROTO_H
#define GUEST_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "guest.pb-c.h"
#include "guest/buf.h"

#define GUEST_PROTOCOL_VERSION	2
#define GUEST_PROTOCOL_MIN	2	/* 2: authentication both ways */

#define GUEST_FRAME_HDR		4
#define GUEST_FRAME_HELLO_MAX	4096		/* cap before the handshake */
#define GUEST_FRAME_MAX		(1024 * 1024)	/* cap after it */
#define GUEST_DATA_CHUNK	(256 * 1024)	/* largest payload we send */
#define GUEST_DATA_HDR_MAX	96		/* frame + Data header bytes */
#define GUEST_DATA_ALIGN	64		/* payloads start aligned ... */
#define GUEST_DATA_ALIGN_MIN	4096		/* ... from this size on */

#define GUEST_PORT_DEFAULT	9001

enum guest_stream {
	GUEST_STREAM_STDIN = 0,
	GUEST_STREAM_STDOUT = 1,
	GUEST_STREAM_STDERR = 2,
	GUEST_STREAM_FILE = 3,	/* guest cp: file content */
};

typedef Guest__V1__Message GuestMessage;

/* A decoded frame.  For Data, stream/data/len point into the frame body
 * (no copy) and pb is NULL; for everything else pb holds the unpacked
 * message until guest_msg_clear(). */
struct guest_msg {
	Guest__V1__Message__BodyCase	 type;
	uint32_t			 stream;
	const uint8_t			*data;
	size_t				 len;
	GuestMessage			*pb;
};

/* Look for one frame at p[0..n).  Returns the whole frame's length (header
 * included) and sets body/body_len when it is complete, 0 when more bytes
 * are needed, -EMSGSIZE when the announced length is above cap (checked
 * before any of the body is buffered). */
long	guest_frame_parse(const uint8_t *p, size_t n, size_t cap,
	    const uint8_t **body, size_t *body_len);

/* Write the frame and Data headers for a payload of n bytes (n at most
 * GUEST_DATA_CHUNK) on stream; returns the header length.  The payload
 * follows the header on the wire.  at is the stream offset the header
 * will be sent at: a payload of GUEST_DATA_ALIGN_MIN bytes or more is
 * put at a multiple of GUEST_DATA_ALIGN in the stream with Data.pad. */
size_t	guest_data_header(uint8_t hdr[GUEST_DATA_HDR_MAX], uint32_t stream,
	    size_t n, uint64_t at);

/* Pack m into a frame appended to out.  -EMSGSIZE past GUEST_FRAME_MAX,
 * -ENOBUFS when out is full. */
int	guest_frame_pack(struct guest_buf *out, const GuestMessage *m);

/* Decode a frame body.  -EBADMSG when it is not a valid Message or has
 * no body; m is untouched on failure. */
int	guest_msg_decode(const uint8_t *body, size_t len, struct guest_msg *m);
void	guest_msg_clear(struct guest_msg *m);

/* "hello", "exec_exit", ... for messages. */
const char *guest_msg_name(Guest__V1__Message__BodyCase);

#endif
