/*
 * Framing and message decoding: every valid frame decodes; every 1-bit and
 * 2-bit flip and every truncation of each valid frame is handled without
 * a crash, an out-of-bounds view or a leak (run under ASan in CI).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "guest/proto.h"
#include "guest/session.h"

struct sample {
	uint8_t	*p;
	size_t	 n;
	int	 type;
};

#define N_SAMPLES 9
static struct sample samples[N_SAMPLES];

static void
put(struct sample *s, const GuestMessage *m)
{
	struct guest_buf b;

	guest_buf_init(&b, GUEST_FRAME_MAX + 4);
	assert_int_equal(guest_frame_pack(&b, m), 0);
	s->n = guest_buf_used(&b);
	s->p = malloc(s->n);
	memcpy(s->p, guest_buf_ptr(&b), s->n);
	s->type = m->body_case;
	guest_buf_free(&b);
}

static void
put_data(struct sample *s, uint32_t stream, const char *payload)
{
	uint8_t hdr[GUEST_DATA_HDR_MAX];
	size_t h, n = strlen(payload);

	h = guest_data_header(hdr, stream, n, 0);
	s->p = malloc(h + n);
	memcpy(s->p, hdr, h);
	memcpy(s->p + h, payload, n);
	s->n = h + n;
	s->type = GUEST__V1__MESSAGE__BODY_DATA;
}

static int
setup(void **state)
{
	GuestMessage m = GUEST__V1__MESSAGE__INIT;
	Guest__V1__Hello h = GUEST__V1__HELLO__INIT;
	Guest__V1__ExecRequest x = GUEST__V1__EXEC_REQUEST__INIT;
	Guest__V1__ExecExit ee = GUEST__V1__EXEC_EXIT__INIT;
	Guest__V1__Credit cr = GUEST__V1__CREDIT__INIT;
	Guest__V1__Error er = GUEST__V1__ERROR__INIT;
	Guest__V1__WindowSize ws = GUEST__V1__WINDOW_SIZE__INIT;
	Guest__V1__Signal sg = GUEST__V1__SIGNAL__INIT;
	char *svc[] = { "exec", "info" }, *argv[] = { "sh", "-c", "echo hi" };
	char *env[] = { "A=1" };

	h.protocol_version = 1;
	h.min_protocol_version = 1;
	h.software = "guest-agent 0.1.0";
	h.n_services = 2;
	h.services = svc;
	h.hostname = "vm1";
	h.vm_uuid = "4dea22b3-1d52-d8f3-2516-782e98ab3fa0";
	m.body_case = GUEST__V1__MESSAGE__BODY_HELLO;
	m.hello = &h;
	put(&samples[0], &m);

	x.n_argv = 3;
	x.argv = argv;
	x.n_env = 1;
	x.env = env;
	x.cwd = "/tmp";
	x.pty = 1;
	x.term = "xterm";
	ws.rows = 24;
	ws.cols = 80;
	x.window = &ws;
	m.body_case = GUEST__V1__MESSAGE__BODY_EXEC_REQUEST;
	m.exec_request = &x;
	put(&samples[1], &m);

	ee.code = 137;
	ee.signal = 9;
	m.body_case = GUEST__V1__MESSAGE__BODY_EXEC_EXIT;
	m.exec_exit = &ee;
	put(&samples[2], &m);

	cr.stream = 0;
	cr.bytes = 65536;
	m.body_case = GUEST__V1__MESSAGE__BODY_CREDIT;
	m.credit = &cr;
	put(&samples[3], &m);

	er.code = GUEST__V1__ERROR_CODE__ERROR_DENIED;
	er.message = "no";
	m.body_case = GUEST__V1__MESSAGE__BODY_ERROR;
	m.error = &er;
	put(&samples[4], &m);

	m.body_case = GUEST__V1__MESSAGE__BODY_WINDOW_SIZE;
	m.window_size = &ws;
	put(&samples[5], &m);

	sg.signal = 2;
	m.body_case = GUEST__V1__MESSAGE__BODY_SIGNAL;
	m.signal = &sg;
	put(&samples[6], &m);

	put_data(&samples[7], 1, "hello, world");
	put_data(&samples[8], 0, "");
	return 0;
}

static int
teardown(void **state)
{
	size_t i;

	for (i = 0; i < N_SAMPLES; i++)
		free(samples[i].p);
	return 0;
}

/* Decode whatever p[0..n) holds; a result must be self-consistent. */
static void
try_decode(const uint8_t *p, size_t n)
{
	const uint8_t *body;
	size_t blen;
	struct guest_msg m;
	long fl;

	fl = guest_frame_parse(p, n, GUEST_FRAME_MAX, &body, &blen);
	if (fl <= 0)
		return;
	assert_true((size_t)fl <= n);
	if (guest_msg_decode(body, blen, &m) < 0)
		return;
	assert_true(m.type > 0);
	if (m.type == GUEST__V1__MESSAGE__BODY_DATA && m.pb == NULL) {
		assert_true(m.data >= body);
		assert_true(m.data + m.len <= body + blen);
	}
	guest_msg_clear(&m);
}

static void
test_valid(void **state)
{
	const uint8_t *body;
	struct guest_msg m;
	size_t i, blen;

	for (i = 0; i < N_SAMPLES; i++) {
		assert_int_equal(guest_frame_parse(samples[i].p, samples[i].n,
		    GUEST_FRAME_MAX, &body, &blen), (long)samples[i].n);
		assert_int_equal(guest_msg_decode(body, blen, &m), 0);
		assert_int_equal(m.type, samples[i].type);
		guest_msg_clear(&m);
	}
	/* Data went through the fast path and points into the frame. */
	guest_frame_parse(samples[7].p, samples[7].n, GUEST_FRAME_MAX, &body,
	    &blen);
	assert_int_equal(guest_msg_decode(body, blen, &m), 0);
	assert_null(m.pb);
	assert_int_equal(m.stream, 1);
	assert_int_equal(m.len, 12);
	assert_memory_equal(m.data, "hello, world", 12);
	assert_ptr_equal(m.data, samples[7].p + samples[7].n - 12);
}

static void
test_truncations(void **state)
{
	const uint8_t *body;
	size_t i, k, blen;

	for (i = 0; i < N_SAMPLES; i++) {
		for (k = 0; k < samples[i].n; k++) {
			/* A cut frame is "need more", never a frame. */
			assert_int_equal(guest_frame_parse(samples[i].p, k,
			    GUEST_FRAME_MAX, &body, &blen), 0);
			/* A cut body, as if the length said so. */
			if (k >= GUEST_FRAME_HDR) {
				struct guest_msg m;

				if (guest_msg_decode(samples[i].p + 4, k - 4,
				    &m) == 0)
					guest_msg_clear(&m);
			}
		}
	}
}

static void
test_bit_flips(void **state)
{
	size_t i, a, b, bits;
	uint8_t *p;

	for (i = 0; i < N_SAMPLES; i++) {
		p = malloc(samples[i].n);
		bits = samples[i].n * 8;
		for (a = 0; a < bits; a++) {
			memcpy(p, samples[i].p, samples[i].n);
			p[a / 8] ^= (uint8_t)(1u << (a % 8));
			try_decode(p, samples[i].n);
			for (b = a + 1; b < bits; b++) {
				p[b / 8] ^= (uint8_t)(1u << (b % 8));
				try_decode(p, samples[i].n);
				p[b / 8] ^= (uint8_t)(1u << (b % 8));
			}
		}
		free(p);
	}
}

static void
test_cap_before_body(void **state)
{
	const uint8_t *body;
	size_t blen;
	uint8_t hdr[4] = { 0x00, 0x00, 0x10, 0x01 };	/* 4097 */
	uint8_t huge[4] = { 0xff, 0xff, 0xff, 0xff };

	/* Only the header is there: the cap is judged on it alone. */
	assert_int_equal(guest_frame_parse(hdr, 4, GUEST_FRAME_HELLO_MAX,
	    &body, &blen), -EMSGSIZE);
	assert_int_equal(guest_frame_parse(hdr, 4, GUEST_FRAME_MAX, &body,
	    &blen), 0);
	assert_int_equal(guest_frame_parse(huge, 4, GUEST_FRAME_MAX, &body,
	    &blen), -EMSGSIZE);
}

static void
test_data_header_sizes(void **state)
{
	static const size_t sizes[] = { 0, 1, 127, 128, 16383, 16384,
	    GUEST_DATA_CHUNK };
	uint8_t hdr[GUEST_DATA_HDR_MAX], *frame;
	const uint8_t *body;
	struct guest_msg m;
	GuestMessage *pb;
	size_t i, h, blen;

	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		h = guest_data_header(hdr, 2, sizes[i], 0);
		assert_true(h <= GUEST_DATA_HDR_MAX);
		frame = malloc(h + sizes[i]);
		memcpy(frame, hdr, h);
		memset(frame + h, 'z', sizes[i]);
		assert_int_equal(guest_frame_parse(frame, h + sizes[i],
		    GUEST_FRAME_MAX, &body, &blen), (long)(h + sizes[i]));
		assert_int_equal(guest_msg_decode(body, blen, &m), 0);
		assert_int_equal(m.stream, 2);
		assert_int_equal(m.len, sizes[i]);
		/* The hand-made header is ordinary protobuf. */
		pb = guest__v1__message__unpack(NULL, blen, body);
		assert_non_null(pb);
		assert_int_equal(pb->body_case, GUEST__V1__MESSAGE__BODY_DATA);
		assert_int_equal(pb->data->stream, 2);
		assert_int_equal(pb->data->data.len, sizes[i]);
		guest__v1__message__free_unpacked(pb, NULL);
		free(frame);
	}
}

/* A big payload starts at a multiple of 64 in the stream, whatever the
 * offset the header is sent at; small ones get no padding; every frame
 * still decodes, by the fast path and by protobuf-c. */
static void
test_data_header_align(void **state)
{
	static const size_t sizes[] = { 100, GUEST_DATA_ALIGN_MIN - 1,
	    GUEST_DATA_ALIGN_MIN, 16300, 16384, 100000, GUEST_DATA_CHUNK };
	uint8_t hdr[GUEST_DATA_HDR_MAX], *frame;
	const uint8_t *body;
	struct guest_msg m;
	GuestMessage *pb;
	size_t i, h, h0, blen;
	uint64_t at;

	(void)state;
	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		h0 = guest_data_header(hdr, 3, sizes[i], 0);
		for (at = 1000; at < 1000 + 2 * GUEST_DATA_ALIGN; at++) {
			h = guest_data_header(hdr, 3, sizes[i], at);
			assert_true(h <= GUEST_DATA_HDR_MAX);
			if (sizes[i] < GUEST_DATA_ALIGN_MIN)
				assert_int_equal(h, h0);
			else if (sizes[i] != 16300)	/* a varint may grow */
				assert_int_equal((at + h) % GUEST_DATA_ALIGN,
				    0);
			frame = malloc(h + sizes[i]);
			memcpy(frame, hdr, h);
			memset(frame + h, 'q', sizes[i]);
			assert_int_equal(guest_frame_parse(frame, h + sizes[i],
			    GUEST_FRAME_MAX, &body, &blen),
			    (long)(h + sizes[i]));
			assert_int_equal(guest_msg_decode(body, blen, &m), 0);
			assert_int_equal(m.stream, 3);
			assert_int_equal(m.len, sizes[i]);
			assert_ptr_equal(m.data, frame + h);
			pb = guest__v1__message__unpack(NULL, blen, body);
			assert_non_null(pb);
			assert_int_equal(pb->data->data.len, sizes[i]);
			assert_int_equal(pb->data->stream, 3);
			guest__v1__message__free_unpacked(pb, NULL);
			free(frame);
		}
	}
}

static void
test_data_then_more(void **state)
{
	/* Data followed by another field of Message: not the fast path's
	 * shape, so protobuf-c decides (the last oneof member wins). */
	static const uint8_t two[] = {
		0x0a, 0x04, 0x08, 0x01, 0x12, 0x00,
		0x52, 0x04, 0x08, 0x00, 0x10, 0x05,	/* credit */
	};
	struct guest_msg m;

	assert_int_equal(guest_msg_decode(two, sizeof two, &m), 0);
	assert_int_equal(m.type, GUEST__V1__MESSAGE__BODY_CREDIT);
	assert_int_equal(m.pb->credit->bytes, 5);
	guest_msg_clear(&m);
}

static void
test_data_fields(void **state)
{
	static const uint8_t body[] = {
		0x0a, 0x08,
		0x12, 0x02, 'h', 'i',
		0x38, 0x05,		/* unknown field 7 */
		0x08, 0x02,		/* stream last */
	};
	static const uint8_t bad[] = {
		0x0a, 0x04,
		0x12, 0x05, 'h', 'i',	/* length past the end */
	};
	struct guest_msg m;

	assert_int_equal(guest_msg_decode(body, sizeof body, &m), 0);
	assert_int_equal(m.type, GUEST__V1__MESSAGE__BODY_DATA);
	assert_int_equal(m.stream, 2);
	assert_int_equal(m.len, 2);
	assert_memory_equal(m.data, "hi", 2);
	guest_msg_clear(&m);
	assert_int_equal(guest_msg_decode(bad, sizeof bad, &m), -EBADMSG);
	/* An empty message has no body. */
	assert_int_equal(guest_msg_decode(bad, 0, &m), -EBADMSG);
}

static void
test_hello_versions(void **state)
{
	Guest__V1__Hello h = GUEST__V1__HELLO__INIT;
	struct guest_error e;

	h.protocol_version = 2;
	h.min_protocol_version = 2;
	assert_int_equal(guest_hello_check(&h, "peer", &e), 2);
	h.protocol_version = 5;		/* newer peer that still speaks 2 */
	assert_int_equal(guest_hello_check(&h, "peer", &e), 2);
	h.min_protocol_version = 3;	/* newer peer that dropped 2 */
	assert_int_equal(guest_hello_check(&h, "peer", &e), -EPROTONOSUPPORT);
	assert_non_null(strstr(e.msg, "speaks 3..5"));
	assert_non_null(strstr(e.msg, "upgrade this side"));
	h.protocol_version = 1;		/* older peer: before authentication */
	h.min_protocol_version = 1;
	assert_int_equal(guest_hello_check(&h, "peer", &e), -EPROTONOSUPPORT);
	assert_non_null(strstr(e.msg, "upgrade peer"));
	h.protocol_version = 0;
	h.min_protocol_version = 0;
	assert_int_equal(guest_hello_check(&h, "peer", &e), -EPROTONOSUPPORT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_bit_flips),
		cmocka_unit_test(test_cap_before_body),
		cmocka_unit_test(test_data_header_sizes),
		cmocka_unit_test(test_data_fields),
		cmocka_unit_test(test_data_then_more),
		cmocka_unit_test(test_data_header_align),
		cmocka_unit_test(test_hello_versions),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
