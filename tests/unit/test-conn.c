/*
 * The connection layer over a socketpair: queued messages and zero-copy
 * Data arrive intact and in order, through partial writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "guest/conn.h"
#include "guest/util.h"

/* Two connections over a socketpair, handshake done; bufsz > 0 sets
 * the sender's SNDBUF and the receiver's RCVBUF. */
static void
conn_pair(struct guest_conn *a, struct guest_conn *b, int bufsz)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	if (bufsz > 0) {
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof bufsz);
		setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof bufsz);
	}
	guest_conn_init(a, sv[0]);
	guest_conn_init(b, sv[1]);
	guest_conn_established(a);
	guest_conn_established(b);
}

static void
test_order_and_partial_writes(void **state)
{
	struct guest_conn a, b;
	GuestMessage m = GUEST__V1__MESSAGE__INIT;
	Guest__V1__Credit cr = GUEST__V1__CREDIT__INIT;
	struct guest_msg got;
	uint8_t *big = malloc(GUEST_DATA_CHUNK);
	size_t i, seen = 0, credits = 0, datas = 0;
	bool busy[4] = { false };
	int r;

	/* Small buffers force many partial sendmsg calls. */
	conn_pair(&a, &b, 4096);
	for (i = 0; i < GUEST_DATA_CHUNK; i++)
		big[i] = (uint8_t)(i * 7);

	cr.bytes = 42;
	m.body_case = GUEST__V1__MESSAGE__BODY_CREDIT;
	m.credit = &cr;
	for (i = 0; i < 4; i++) {
		assert_int_equal(guest_conn_send_data(&a, 1, big,
		    GUEST_DATA_CHUNK, &busy[i]), 0);
		assert_true(busy[i]);
		assert_int_equal(guest_conn_send(&a, &m), 0);
	}
	while (seen < 8) {
		r = guest_conn_flush(&a);
		assert_true(r == 0 || r == -EAGAIN);
		(void)guest_conn_fill(&b);
		while ((r = guest_conn_next(&b, &got)) == 1) {
			if (seen % 2 == 0) {
				assert_int_equal(got.type,
				    GUEST__V1__MESSAGE__BODY_DATA);
				assert_int_equal(got.len, GUEST_DATA_CHUNK);
				assert_memory_equal(got.data, big,
				    GUEST_DATA_CHUNK);
				datas++;
			} else {
				assert_int_equal(got.type,
				    GUEST__V1__MESSAGE__BODY_CREDIT);
				assert_int_equal(got.pb->credit->bytes, 42);
				credits++;
			}
			guest_msg_clear(&got);
			seen++;
		}
		assert_true(r >= 0);
	}
	assert_int_equal(datas, 4);
	assert_int_equal(credits, 4);
	for (i = 0; i < 4; i++)
		assert_false(busy[i]);	/* released once sent */
	guest_conn_close(&a);
	guest_conn_close(&b);
	free(big);
}

static void
test_queue_bounds(void **state)
{
	struct guest_conn a;
	uint8_t byte = 'x';
	bool busy = false;
	unsigned i;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	guest_conn_init(&a, sv[0]);
	for (i = 0; i < GUEST_TXQ_LEN; i++)
		assert_int_equal(guest_conn_send_data(&a, 1, &byte, 1, &busy),
		    0);
	assert_int_equal(guest_conn_send_data(&a, 1, &byte, 1, &busy),
	    -ENOBUFS);
	assert_int_equal(guest_conn_send_data(&a, 1, &byte,
	    GUEST_DATA_CHUNK + 1, &busy), -EMSGSIZE);
	guest_conn_discard(&a);
	assert_false(busy);
	assert_false(guest_conn_tx_pending(&a));
	guest_conn_close(&a);
	close(sv[1]);
}

static void
test_eof_and_deadline(void **state)
{
	struct guest_conn a;
	struct guest_msg m;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	guest_conn_init(&a, sv[0]);
	/* Nothing arrives: the deadline ends the wait. */
	assert_int_equal(guest_conn_recv_until(&a, &m, guest_now_ms() + 50),
	    -ETIMEDOUT);
	/* Half a header, then the peer goes. */
	assert_int_equal(write(sv[1], "\0\0", 2), 2);
	close(sv[1]);
	assert_int_equal(guest_conn_recv_until(&a, &m, guest_now_ms() + 1000),
	    -ECONNRESET);
	guest_conn_close(&a);
}

static void
test_cap_in_force(void **state)
{
	struct guest_conn a;
	struct guest_msg m;
	int sv[2];
	/* 8 KiB announced: fine after the handshake, not before. */
	uint8_t hdr[4] = { 0, 0, 0x20, 0 };

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	guest_conn_init(&a, sv[0]);
	assert_int_equal(write(sv[1], hdr, 4), 4);
	assert_int_equal(guest_conn_recv_until(&a, &m, guest_now_ms() + 1000),
	    -EMSGSIZE);
	guest_conn_established(&a);
	assert_int_equal(guest_conn_recv_until(&a, &m, guest_now_ms() + 50),
	    -ETIMEDOUT);
	guest_conn_close(&a);
	close(sv[1]);
}

/* File pages spliced to a peer that has gone: the flush fails with EPIPE
 * and the program lives, whether it ignores SIGPIPE or not (splice has no
 * MSG_NOSIGNAL), with no SIGPIPE left pending.  In a child, so that a
 * failure kills only it. */
static int
splice_to_gone_peer(bool ignore)
{
	struct guest_conn a;
	char path[] = "/tmp/test-conn.XXXXXX";
	static uint8_t payload[GUEST_DATA_CHUNK];
	sigset_t pending;
	bool busy = false;
	size_t from;
	int sv[2], fd, r, small = 4096;

	if (ignore)
		signal(SIGPIPE, SIG_IGN);
	if ((fd = mkstemp(path)) < 0 ||
	    write(fd, payload, sizeof payload) != (ssize_t)sizeof payload)
		return 10;
	unlink(path);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
		return 11;
	/* A small buffer: the header goes, the pages wait for room; then
	 * the peer goes, and the next flush is a splice into nothing. */
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
	guest_conn_init(&a, sv[0]);
	guest_conn_established(&a);
	if (guest_conn_send_file_data(&a, 1, payload, sizeof payload, &busy,
	    fd, 0, &from) != 0 || from != 0)
		return 12;
	if (guest_conn_flush(&a) != -EAGAIN || a.txq[a.tx_head].sent == 0)
		return 13;
	close(sv[1]);
	r = guest_conn_flush(&a);
	if (r != -EPIPE)
		return 14;
	sigpending(&pending);
	if (sigismember(&pending, SIGPIPE))
		return 15;
	guest_conn_close(&a);
	close(fd);
	return 0;
}

/* Drain a into b until every queued entry is out; the Data payloads
 * received are appended at *out. */
static void
drain(struct guest_conn *a, struct guest_conn *b, uint8_t **out)
{
	struct guest_msg got;
	int r;

	for (;;) {
		r = guest_conn_flush(a);
		assert_true(r == 0 || r == -EAGAIN);
		(void)guest_conn_fill(b);
		while ((r = guest_conn_next(b, &got)) == 1) {
			assert_int_equal(got.type,
			    GUEST__V1__MESSAGE__BODY_DATA);
			memcpy(*out, got.data, got.len);
			*out += got.len;
			guest_msg_clear(&got);
		}
		assert_true(r >= 0);
		if (a->tx_count == 0 && !guest_conn_has_frame(b) &&
		    guest_buf_used(&b->rx) == 0)
			break;
	}
}

/* File data by splice: until the socket has taken pipe pages the whole
 * payload must hold the bytes (from 0); after that only what the pipe
 * did not take (from = piped), and the bytes before it are never read
 * from payload: here they are garbage, and what arrives is the file. */
static void
test_splice_from(void **state)
{
	enum { N = 8, LEN = 200 * 1024 };
	struct guest_conn a, b;
	char path[] = "/tmp/test-conn.XXXXXX";
	uint8_t *file = malloc((size_t)N * LEN), *got = malloc((size_t)N * LEN);
	uint8_t *pay[N], *at = got;
	bool busy[N] = { false }, partial = false;
	size_t i, from[N];
	int fd;

	(void)state;
	assert_non_null(file);
	assert_non_null(got);
	for (i = 0; i < (size_t)N * LEN; i++)
		file[i] = (uint8_t)(i * 2654435761u >> 11);
	assert_true((fd = mkstemp(path)) >= 0);
	unlink(path);
	assert_int_equal(write(fd, file, (size_t)N * LEN), N * LEN);
	conn_pair(&a, &b, 0);

	/* The first chunk: the socket has not taken a splice yet. */
	pay[0] = malloc(LEN);
	assert_int_equal(guest_conn_send_file_data(&a, 1, pay[0], LEN,
	    &busy[0], fd, 0, &from[0]), 0);
	assert_int_equal(from[0], 0);
	memcpy(pay[0], file, LEN);
	drain(&a, &b, &at);
	assert_true(a.splice_ok);

	/* Seven more queued before any flush: the 1 MiB pipe takes five
	 * and part of the sixth; the rest must come from payload. */
	for (i = 1; i < N; i++) {
		pay[i] = malloc(LEN);
		memset(pay[i], 0xee, LEN);
		assert_int_equal(guest_conn_send_file_data(&a, 1, pay[i], LEN,
		    &busy[i], fd, (off_t)(i * LEN), &from[i]), 0);
		assert_true(from[i] <= LEN);
		if (from[i] > 0 && from[i] < LEN)
			partial = true;
		memcpy(pay[i] + from[i], file + i * LEN + from[i],
		    LEN - from[i]);
	}
	assert_int_equal(from[1], LEN);		/* all in the pipe */
	assert_true(partial || from[N - 1] == 0);
	assert_int_equal(from[N - 1] < LEN, true);
	drain(&a, &b, &at);
	assert_int_equal((size_t)(at - got), (size_t)N * LEN);
	assert_memory_equal(got, file, (size_t)N * LEN);
	for (i = 0; i < N; i++) {
		assert_false(busy[i]);
		free(pay[i]);
	}
	guest_conn_close(&a);
	guest_conn_close(&b);
	close(fd);
	free(file);
	free(got);
}

/* A bulk stream of whole Data frames: the receiving buffer reads up to
 * a frame's end near its own end, so it empties and starts at the front
 * again instead of sliding a part of a frame there.  The slide used to
 * copy about an eighth of the bytes. */
static void
test_bulk_no_slide(void **state)
{
	enum { FRAMES = 64 };
	struct guest_conn a, b;
	struct guest_msg got;
	uint8_t *chunk = malloc(GUEST_DATA_CHUNK);
	bool busy[4] = { false };
	size_t sent = 0, seen = 0, i;
	uint64_t grown = 0;
	int r;

	(void)state;
	assert_non_null(chunk);
	for (i = 0; i < GUEST_DATA_CHUNK; i++)
		chunk[i] = (uint8_t)(i * 13);
	conn_pair(&a, &b, 1024 * 1024);
	while (seen < FRAMES) {
		/* Several frames in flight, so reads end inside them. */
		while (sent < FRAMES && !busy[sent % 4]) {
			assert_int_equal(guest_conn_send_data(&a, 1, chunk,
			    GUEST_DATA_CHUNK, &busy[sent % 4]), 0);
			sent++;
		}
		r = guest_conn_flush(&a);
		assert_true(r == 0 || r == -EAGAIN);
		r = (int)guest_conn_fill(&b);
		assert_true(r > 0 || r == -EAGAIN);
		while ((r = guest_conn_next(&b, &got)) == 1) {
			assert_int_equal(got.len, GUEST_DATA_CHUNK);
			assert_memory_equal(got.data, chunk, GUEST_DATA_CHUNK);
			guest_msg_clear(&got);
			if (++seen == 8)
				grown = b.rx.slid;
		}
		assert_true(r >= 0);
	}
	/* Past the first frames (the buffer growing), nothing slides. */
	assert_true(b.rx.slid == grown);
	guest_conn_close(&a);
	guest_conn_close(&b);
	free(chunk);
}

static void
test_splice_peer_gone(void **state)
{
	int ignore, st;
	pid_t pid;

	(void)state;
	for (ignore = 0; ignore < 2; ignore++) {
		if ((pid = fork()) == 0)
			_exit(splice_to_gone_peer(ignore));
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st));	/* not killed by SIGPIPE */
		assert_int_equal(WEXITSTATUS(st), 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_partial_writes),
		cmocka_unit_test(test_queue_bounds),
		cmocka_unit_test(test_eof_and_deadline),
		cmocka_unit_test(test_cap_in_force),
		cmocka_unit_test(test_splice_peer_gone),
		cmocka_unit_test(test_splice_from),
		cmocka_unit_test(test_bulk_no_slide),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
