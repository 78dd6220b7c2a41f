/*
 * Unit tests for reading libvirt's CONNECT_GET_ALL_DOMAIN_STATS reply
 * (guest list's fast path): a real shape decoded, and every truncation,
 * an oversized count, an unknown parameter type, trailing bytes and a NUL
 * in a name refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "guest/virt-rpc.h"

struct enc {
	uint8_t	b[4096];
	size_t	n;
};

static void
u32(struct enc *x, uint32_t v)
{
	x->b[x->n++] = (uint8_t)(v >> 24);
	x->b[x->n++] = (uint8_t)(v >> 16);
	x->b[x->n++] = (uint8_t)(v >> 8);
	x->b[x->n++] = (uint8_t)v;
}

static void
str(struct enc *x, const char *s, size_t len)
{
	u32(x, (uint32_t)len);
	memcpy(x->b + x->n, s, len);
	x->n += len;
	while (x->n % 4 != 0)
		x->b[x->n++] = 0;
}

static void
dom(struct enc *x, const char *name, uint8_t uuid0, int32_t id, int state,
    bool extra)
{
	int i;

	str(x, name, strlen(name));
	for (i = 0; i < 16; i++)
		x->b[x->n++] = (uint8_t)(i == 0 ? uuid0 : 0xa0 + i);
	u32(x, (uint32_t)id);
	u32(x, extra ? 3 : 1);
	str(x, "state.state", 11);
	u32(x, 1);		/* int */
	u32(x, (uint32_t)state);
	if (extra) {
		str(x, "state.reason", 12);
		u32(x, 1);
		u32(x, 1);
		str(x, "x.hyper", 7);
		u32(x, 4);	/* unsigned hyper */
		u32(x, 0);
		u32(x, 7);
	}
}

static void
two(struct enc *x)
{
	x->n = 0;
	u32(x, 2);
	dom(x, "web1", 0x66, 3, 1, true);
	dom(x, "off", 0x01, -1, 5, false);
}

static void
test_parse(void **state)
{
	struct guest_vm *v;
	struct enc x;
	size_t n;

	two(&x);
	assert_int_equal(guest_virt_rpc_parse_stats(x.b, x.n, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "web1");
	assert_string_equal(v[0].uuid, "66a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf");
	assert_true(v[0].active);
	assert_int_equal(v[0].id, 3);
	assert_string_equal(v[0].state, "running");
	assert_int_equal(v[0].cid, GUEST_NO_CID);
	assert_string_equal(v[1].name, "off");
	assert_false(v[1].active);
	assert_int_equal(v[1].id, -1);
	assert_string_equal(v[1].state, "shut off");
	guest_vm_list_free(v, n);
	/* None at all. */
	x.n = 0;
	u32(&x, 0);
	assert_int_equal(guest_virt_rpc_parse_stats(x.b, x.n, &v, &n), 0);
	assert_int_equal(n, 0);
}

static void
test_bad(void **state)
{
	struct guest_vm *v;
	struct enc x;
	size_t n, cut;

	two(&x);
	/* Every truncation is refused, none read past the end (ASan). */
	for (cut = 0; cut < x.n; cut++) {
		uint8_t *p = malloc(cut ? cut : 1);

		memcpy(p, x.b, cut);
		assert_int_equal(guest_virt_rpc_parse_stats(p, cut, &v, &n),
		    -EBADMSG);
		assert_null(v);
		free(p);
	}
	/* Trailing bytes. */
	two(&x);
	u32(&x, 0);
	assert_int_equal(guest_virt_rpc_parse_stats(x.b, x.n, &v, &n),
	    -EBADMSG);
	/* A count far beyond the bytes. */
	x.n = 0;
	u32(&x, 0x7fffffff);
	assert_int_equal(guest_virt_rpc_parse_stats(x.b, x.n, &v, &n),
	    -EBADMSG);
	/* A parameter type libvirt does not have. */
	x.n = 0;
	u32(&x, 1);
	str(&x, "a", 1);
	memset(x.b + x.n, 0, 16);
	x.n += 16;
	u32(&x, 1);
	u32(&x, 1);
	str(&x, "f", 1);
	u32(&x, 9);
	u32(&x, 0);
	assert_int_equal(guest_virt_rpc_parse_stats(x.b, x.n, &v, &n),
	    -EBADMSG);
	/* A NUL inside a name. */
	x.n = 0;
	u32(&x, 1);
	str(&x, "a\0b", 3);
	memset(x.b + x.n, 0, 16);
	x.n += 16;
	u32(&x, 1);
	u32(&x, 0);
	assert_int_equal(guest_virt_rpc_parse_stats(x.b, x.n, &v, &n),
	    -EBADMSG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
