/*
 * Fuzz target: a byte stream as the agent or the client reads it.  Frames
 * are cut out under the pre-handshake cap first and the full cap after,
 * each decoded (Data by hand, the rest by protobuf-c) and freed.
 */
#include <stddef.h>
#include <stdint.h>

#include "guest/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *body;
	struct guest_msg m;
	size_t off = 0, blen, cap = GUEST_FRAME_HELLO_MAX;
	volatile uint8_t sink = 0;
	long fl;

	while (off < size) {
		fl = guest_frame_parse(data + off, size - off, cap, &body,
		    &blen);
		if (fl <= 0)
			break;
		off += (size_t)fl;
		cap = GUEST_FRAME_MAX;
		if (guest_msg_decode(body, blen, &m) < 0)
			continue;
		/* Touch the Data view's ends: ASan checks the bounds. */
		if (m.type == GUEST__V1__MESSAGE__BODY_DATA && m.len > 0)
			sink ^= m.data[0] ^ m.data[m.len - 1];
		guest_msg_clear(&m);
	}
	(void)sink;
	return 0;
}
