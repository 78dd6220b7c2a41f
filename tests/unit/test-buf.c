/*
 * Unit tests for the bounded buffer.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "guest/buf.h"

static void
test_append_consume(void **state)
{
	struct guest_buf b;
	uint8_t *p;

	guest_buf_init(&b, 16);
	assert_int_equal(guest_buf_append(&b, "hello", 5), 0);
	assert_int_equal(guest_buf_used(&b), 5);
	assert_memory_equal(guest_buf_ptr(&b), "hello", 5);
	guest_buf_consume(&b, 2);
	assert_int_equal(guest_buf_used(&b), 3);
	assert_memory_equal(guest_buf_ptr(&b), "llo", 3);
	/* 13 more fit exactly (3 + 13 = 16), sliding the data forward. */
	assert_int_equal(guest_buf_reserve(&b, 13, &p), 0);
	memset(p, 'x', 13);
	guest_buf_commit(&b, 13);
	assert_int_equal(guest_buf_used(&b), 16);
	assert_memory_equal(guest_buf_ptr(&b), "lloxxxxxxxxxxxxx", 16);
	guest_buf_consume(&b, 100);	/* more than there is */
	assert_int_equal(guest_buf_used(&b), 0);
	guest_buf_free(&b);
}

static void
test_max_is_hard(void **state)
{
	struct guest_buf b;
	uint8_t *p = NULL;

	guest_buf_init(&b, 8);
	assert_int_equal(guest_buf_append(&b, "12345678", 8), 0);
	assert_int_equal(guest_buf_append(&b, "9", 1), -ENOBUFS);
	assert_int_equal(guest_buf_used(&b), 8);
	assert_int_equal(guest_buf_reserve(&b, (size_t)-1, &p), -ENOBUFS);
	assert_null(p);
	assert_int_equal(guest_buf_avail(&b), 0);
	guest_buf_free(&b);
	guest_buf_free(&b);	/* destructors take a freed buffer */
	guest_buf_free(NULL);
}

static void
test_fd_io(void **state)
{
	struct guest_buf b;
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	guest_buf_init(&b, 1 << 20);
	assert_int_equal(write(fds[1], "abcdef", 6), 6);
	assert_int_equal(guest_buf_read_fd(&b, fds[0], 4), 4);
	assert_int_equal(guest_buf_read_fd(&b, fds[0], 0), 2);
	assert_memory_equal(guest_buf_ptr(&b), "abcdef", 6);
	assert_int_equal(guest_buf_write_fd(&b, fds[1]), 6);
	assert_int_equal(guest_buf_used(&b), 0);
	close(fds[1]);
	assert_int_equal(guest_buf_read_fd(&b, fds[0], 0), 6);
	assert_int_equal(guest_buf_read_fd(&b, fds[0], 0), 0);	/* EOF */
	close(fds[0]);
	assert_int_equal(guest_buf_read_fd(&b, fds[0], 0), -EBADF);
	guest_buf_free(&b);
}

/* A byte's address modulo 64 stays its position in the stream modulo 64,
 * through slides, growth and emptying, and the buffer still holds max. */
static void
test_phase_kept(void **state)
{
	struct guest_buf b;
	uint8_t chunk[1000], *p;
	uint64_t pos = 0;	/* stream offset of the first live byte */
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof chunk; i++)
		chunk[i] = (uint8_t)i;
	guest_buf_init(&b, 4096);
	for (i = 0; i < 200; i++) {
		k = 1 + (i * 37) % sizeof chunk;
		if (k > guest_buf_avail(&b))
			k = guest_buf_avail(&b);
		assert_int_equal(guest_buf_append(&b, chunk, k), 0);
		assert_int_equal((uintptr_t)guest_buf_ptr(&b) % 64, pos % 64);
		k = (i * 53) % (guest_buf_used(&b) + 1);
		guest_buf_consume(&b, k);
		pos += k;
		assert_int_equal((uintptr_t)guest_buf_ptr(&b) % 64, pos % 64);
	}
	/* Full to max from an odd phase. */
	guest_buf_consume(&b, guest_buf_used(&b));
	assert_int_equal(guest_buf_reserve(&b, 4096, &p), 0);
	guest_buf_commit(&b, 4096);
	assert_int_equal(guest_buf_used(&b), 4096);
	guest_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_consume),
		cmocka_unit_test(test_max_is_hard),
		cmocka_unit_test(test_fd_io),
		cmocka_unit_test(test_phase_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
