/*
 * Framing and message codec for protocol v1.
 */
#include <errno.h>
#include <string.h>

#include "guest/proto.h"
#include "guest/util.h"

/* Message.data is field 1, wire type 2; Data.stream field 1 (varint),
 * Data.data field 2 (length-delimited). */
#define TAG_MESSAGE_DATA	0x0a
#define TAG_DATA_STREAM		0x08
#define TAG_DATA_BYTES		0x12
#define TAG_DATA_PAD		0x1a

long
guest_frame_parse(const uint8_t *p, size_t n, size_t cap,
    const uint8_t **body, size_t *body_len)
{
	uint32_t len;

	if (n < GUEST_FRAME_HDR)
		return 0;
	len = guest_get_be32(p);
	if (len > cap)
		return -EMSGSIZE;
	if (n - GUEST_FRAME_HDR < len)
		return 0;
	*body = p + GUEST_FRAME_HDR;
	*body_len = len;
	return (long)len + GUEST_FRAME_HDR;
}

static size_t
put_varint(uint8_t *p, uint32_t v)
{
	size_t i = 0;

	while (v >= 0x80) {
		p[i++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[i++] = (uint8_t)v;
	return i;
}

static size_t
varint_len(uint32_t v)
{
	size_t i = 1;

	while (v >= 0x80) {
		v >>= 7;
		i++;
	}
	return i;
}

/* Header bytes for a payload of n with a pad field of pad bytes in all
 * (tag and length included); *inner gets Data's length. */
static size_t
data_header_len(uint32_t stream, size_t n, size_t pad, uint32_t *inner)
{
	*inner = 1 + (uint32_t)varint_len(stream) + (uint32_t)pad + 1 +
	    (uint32_t)varint_len((uint32_t)n) + (uint32_t)n;
	return GUEST_FRAME_HDR + 1 + varint_len(*inner) + *inner - n;
}

size_t
guest_data_header(uint8_t hdr[GUEST_DATA_HDR_MAX], uint32_t stream, size_t n,
    uint64_t at)
{
	uint32_t inner;
	size_t i = GUEST_FRAME_HDR, pad = 0, h;

	/* Data { stream = 1 (always written, so the size is predictable);
	 *        pad = 3 (0 or 2..65 bytes in all, so that a big payload
	 *        starts at a multiple of 64 in the stream);
	 *        data = 2 } inside Message field 1. */
	h = data_header_len(stream, n, 0, &inner);
	if (n >= GUEST_DATA_ALIGN_MIN && (at + h) % GUEST_DATA_ALIGN != 0)
		for (pad = 2; pad < 2 + GUEST_DATA_ALIGN; pad++) {
			h = data_header_len(stream, n, pad, &inner);
			if ((at + h) % GUEST_DATA_ALIGN == 0)
				break;
		}
	guest_put_be32(hdr, 1 + (uint32_t)varint_len(inner) + inner);
	hdr[i++] = TAG_MESSAGE_DATA;
	i += put_varint(hdr + i, inner);
	hdr[i++] = TAG_DATA_STREAM;
	i += put_varint(hdr + i, stream);
	if (pad > 0) {
		hdr[i++] = TAG_DATA_PAD;
		hdr[i++] = (uint8_t)(pad - 2);
		memset(hdr + i, 0, pad - 2);
		i += pad - 2;
	}
	hdr[i++] = TAG_DATA_BYTES;
	i += put_varint(hdr + i, (uint32_t)n);
	return i;
}

int
guest_frame_pack(struct guest_buf *out, const GuestMessage *m)
{
	size_t len = guest__v1__message__get_packed_size(m);
	uint8_t *p;
	int r;

	if (len > GUEST_FRAME_MAX)
		return -EMSGSIZE;
	if ((r = guest_buf_reserve(out, GUEST_FRAME_HDR + len, &p)) < 0)
		return r;
	guest_put_be32(p, (uint32_t)len);
	guest__v1__message__pack(m, p + GUEST_FRAME_HDR);
	guest_buf_commit(out, GUEST_FRAME_HDR + len);
	return 0;
}

/* Read a varint of at most 32 bits; returns bytes used or 0 if malformed. */
static size_t
get_varint(const uint8_t *p, size_t n, uint32_t *v)
{
	uint64_t acc = 0;
	size_t i;

	for (i = 0; i < n && i < 5; i++) {
		acc |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if ((p[i] & 0x80) == 0) {
			if (acc > UINT32_MAX)
				return 0;
			*v = (uint32_t)acc;
			return i + 1;
		}
	}
	return 0;
}

/* Parse a Data body at p[0..n): stream and payload, unknown fields
 * skipped as protobuf requires.  Returns 0 or -EBADMSG. */
static int
decode_data(const uint8_t *p, size_t n, struct guest_msg *m)
{
	uint32_t tag, v, stream = 0;
	const uint8_t *data = NULL;
	size_t i = 0, k, dlen = 0;

	while (i < n) {
		if ((k = get_varint(p + i, n - i, &tag)) == 0)
			return -EBADMSG;
		i += k;
		if ((tag >> 3) == 0)
			return -EBADMSG;
		switch (tag & 7) {
		case 0:
			if ((k = get_varint(p + i, n - i, &v)) == 0)
				return -EBADMSG;
			i += k;
			if ((tag >> 3) == 1)
				stream = v;
			break;
		case 2:
			if ((k = get_varint(p + i, n - i, &v)) == 0)
				return -EBADMSG;
			i += k;
			if (v > n - i)
				return -EBADMSG;
			if ((tag >> 3) == 2) {
				data = p + i;
				dlen = v;
			}
			i += v;
			break;
		case 1:
			if (n - i < 8)
				return -EBADMSG;
			i += 8;
			break;
		case 5:
			if (n - i < 4)
				return -EBADMSG;
			i += 4;
			break;
		default:
			return -EBADMSG;
		}
	}
	m->type = GUEST__V1__MESSAGE__BODY_DATA;
	m->stream = stream;
	m->data = data != NULL ? data : p;
	m->len = dlen;
	m->pb = NULL;
	return 0;
}

int
guest_msg_decode(const uint8_t *body, size_t len, struct guest_msg *m)
{
	GuestMessage *pb;
	uint32_t inner;
	size_t k;

	/* Fast path: a frame that is exactly one Message.data. */
	if (len > 1 && body[0] == TAG_MESSAGE_DATA &&
	    (k = get_varint(body + 1, len - 1, &inner)) != 0 &&
	    1 + k + inner == len)
		return decode_data(body + 1 + k, inner, m);

	pb = guest__v1__message__unpack(NULL, len, body);
	if (pb == NULL)
		return -EBADMSG;
	if (pb->body_case == GUEST__V1__MESSAGE__BODY__NOT_SET) {
		guest__v1__message__free_unpacked(pb, NULL);
		return -EBADMSG;
	}
	memset(m, 0, sizeof *m);
	m->type = pb->body_case;
	m->pb = pb;
	if (pb->body_case == GUEST__V1__MESSAGE__BODY_DATA) {
		m->stream = pb->data->stream;
		m->data = pb->data->data.data;
		m->len = pb->data->data.len;
	}
	return 0;
}

void
guest_msg_clear(struct guest_msg *m)
{
	if (m == NULL)
		return;
	if (m->pb != NULL)
		guest__v1__message__free_unpacked(m->pb, NULL);
	memset(m, 0, sizeof *m);
}

const char *
guest_msg_name(Guest__V1__Message__BodyCase c)
{
	switch (c) {
	case GUEST__V1__MESSAGE__BODY_DATA:		return "data";
	case GUEST__V1__MESSAGE__BODY_HELLO:		return "hello";
	case GUEST__V1__MESSAGE__BODY_ERROR:		return "error";
	case GUEST__V1__MESSAGE__BODY_EXEC_REQUEST:	return "exec_request";
	case GUEST__V1__MESSAGE__BODY_EXEC_STARTED:	return "exec_started";
	case GUEST__V1__MESSAGE__BODY_EXEC_EXIT:	return "exec_exit";
	case GUEST__V1__MESSAGE__BODY_EOF:		return "eof";
	case GUEST__V1__MESSAGE__BODY_SIGNAL:		return "signal";
	case GUEST__V1__MESSAGE__BODY_WINDOW_SIZE:	return "window_size";
	case GUEST__V1__MESSAGE__BODY_CREDIT:		return "credit";
	case GUEST__V1__MESSAGE__BODY_INFO_REQUEST:	return "info_request";
	case GUEST__V1__MESSAGE__BODY_INFO_REPLY:	return "info_reply";
	case GUEST__V1__MESSAGE__BODY_COPY_REQUEST:	return "copy_request";
	case GUEST__V1__MESSAGE__BODY_COPY_TOTALS:	return "copy_totals";
	case GUEST__V1__MESSAGE__BODY_FILE_HEADER:	return "file_header";
	case GUEST__V1__MESSAGE__BODY_FILE_HOLE:	return "file_hole";
	case GUEST__V1__MESSAGE__BODY_FILE_END:		return "file_end";
	case GUEST__V1__MESSAGE__BODY_FILE_RESULT:	return "file_result";
	case GUEST__V1__MESSAGE__BODY_COPY_DONE:	return "copy_done";
	case GUEST__V1__MESSAGE__BODY_CONSOLE_REQUEST:	return "console_request";
	case GUEST__V1__MESSAGE__BODY_CONSOLE_STARTED:	return "console_started";
	case GUEST__V1__MESSAGE__BODY_CONSOLE_EVENT:	return "console_event";
	default:					return "unknown";
	}
}
