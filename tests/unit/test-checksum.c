/*
 * cp's checksum (libguest/checksum.c): whichever update runs, the digest
 * is XXH3-128's, for any length, alignment and split of the input, and
 * holes hash as the zeros they stand for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "../../libguest/checksum.h"

#define MAXLEN	(3 * 65536 + 1000)

static uint8_t	*data;

static void
reference(const uint8_t *p, size_t n, uint8_t out[GUEST_SUM_LEN])
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, XXH3_128bits(p, n));
	memcpy(out, c.digest, GUEST_SUM_LEN);
}

typedef void (*update_fn)(struct guest_sum *, const void *, size_t);

/* Lengths around XXH3's block and stripe sizes, odd offsets, and the
 * input split in pieces of every size class. */
static void
check_update(update_fn update)
{
	static const size_t lens[] = { 0, 1, 3, 16, 17, 128, 129, 240, 241,
	    1023, 1024, 1025, 4096, 65536, 65537, MAXLEN - 64 };
	static const size_t pieces[] = { 1, 7, 64, 1000, 65536, SIZE_MAX };
	struct guest_sum s;
	uint8_t want[GUEST_SUM_LEN], got[GUEST_SUM_LEN];
	size_t i, j, off, done, k;

	for (i = 0; i < sizeof lens / sizeof *lens; i++)
		for (off = 0; off < 64; off += 21)
			for (j = 0; j < sizeof pieces / sizeof *pieces; j++) {
				if (pieces[j] == 1 && lens[i] > 5000)
					continue;
				reference(data + off, lens[i], want);
				guest_sum_reset(&s);
				for (done = 0; done < lens[i]; done += k) {
					k = lens[i] - done < pieces[j] ?
					    lens[i] - done : pieces[j];
					update(&s, data + off + done, k);
				}
				guest_sum_final(&s, got);
				assert_memory_equal(want, got, GUEST_SUM_LEN);
			}
}

static void
test_chosen(void **state)
{
	(void)state;
	check_update(guest_sum_update);
}

static void
test_avx2(void **state)
{
	(void)state;
#ifdef GUEST_SUM_AVX2
	__builtin_cpu_init();
	if (!__builtin_cpu_supports("avx2"))
		skip();
	check_update(guest_sum_update_avx2);
#else
	skip();
#endif
}

static void
test_zeros(void **state)
{
	static const uint64_t lens[] = { 0, 1, 65536, 65537, 200000 };
	struct guest_sum s;
	const size_t zlen = 200000 + 20;
	uint8_t *z = calloc(1, zlen);
	uint8_t want[GUEST_SUM_LEN], got[GUEST_SUM_LEN];
	size_t i;

	(void)state;
	assert_non_null(z);
	for (i = 0; i < sizeof lens / sizeof *lens; i++) {
		/* Data, a hole, data: as a sparse file is sent. */
		memcpy(z, data, 10);
		memcpy(z + 10 + lens[i], data, 10);
		reference(z, 20 + lens[i], want);
		guest_sum_reset(&s);
		guest_sum_update(&s, data, 10);
		guest_sum_zeros(&s, lens[i]);
		guest_sum_update(&s, data, 10);
		guest_sum_final(&s, got);
		assert_memory_equal(want, got, GUEST_SUM_LEN);
		memset(z, 0, zlen);
	}
	free(z);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chosen),
		cmocka_unit_test(test_avx2),
		cmocka_unit_test(test_zeros),
	};
	size_t i;
	int rc;

	data = malloc(MAXLEN);
	for (i = 0; i < MAXLEN; i++)
		data[i] = (uint8_t)(i * 2654435761u >> 13);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	free(data);
	return rc;
}
