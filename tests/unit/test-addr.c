/*
 * Unit tests for address parsing and formatting.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "guest/transport.h"

static void
roundtrip(const char *s, int flags, enum guest_addr_kind kind)
{
	struct guest_addr a;
	struct guest_error e;
	char out[GUEST_ADDR_STR_MAX];

	assert_int_equal(guest_addr_parse(s, flags, &a, &e), 0);
	assert_int_equal(a.kind, kind);
	assert_string_equal(guest_addr_format(&a, out, sizeof out), s);
}

static void
test_valid(void **state)
{
	struct guest_addr a;

	roundtrip("vsock:3:9001", 0, GUEST_ADDR_VSOCK);
	roundtrip("vsock:4294967294:1", 0, GUEST_ADDR_VSOCK);
	roundtrip("vsock:9001", GUEST_ADDR_LISTEN, GUEST_ADDR_VSOCK);
	roundtrip("unix:/run/guest agent.sock", 0, GUEST_ADDR_UNIX);
	roundtrip("unix:rel/a.sock", GUEST_ADDR_LISTEN, GUEST_ADDR_UNIX);
	roundtrip("hvsock:/srv/fc/v.sock:1024", 0, GUEST_ADDR_HVSOCK);
	/* A colon in the path: the port is after the last one. */
	roundtrip("hvsock:/srv/a:b.sock:52", 0, GUEST_ADDR_HVSOCK);

	assert_int_equal(guest_addr_parse("vsock:2:9001", 0, &a, NULL), 0);
	assert_int_equal(a.cid, 2);
	assert_int_equal(a.port, 9001);
	assert_int_equal(guest_addr_parse("vsock:7", GUEST_ADDR_LISTEN, &a,
	    NULL), 0);
	assert_int_equal(a.cid, GUEST_CID_ANY);
	assert_int_equal(a.port, 7);
	assert_int_equal(guest_addr_parse("hvsock:/x:5", 0, &a, NULL), 0);
	assert_string_equal(a.path, "/x");
	assert_int_equal(a.port, 5);
}

static void
bad(const char *s, int flags, const char *words)
{
	struct guest_addr a;
	struct guest_error e = { 0 };

	memset(&a, 0x5a, sizeof a);
	assert_true(guest_addr_parse(s, flags, &a, &e) < 0);
	assert_non_null(strstr(e.msg, words));
	/* The output is left alone on failure. */
	assert_int_equal(((unsigned char *)&a)[0], 0x5a);
}

static void
test_invalid(void **state)
{
	char longpath[300];

	bad("", 0, "unknown address");
	bad("tcp:1.2.3.4:5", 0, "unknown address");
	bad("vsock:", 0, "expected vsock:CID:PORT");
	bad("vsock:3", 0, "expected vsock:CID:PORT");
	bad("vsock:x:1", 0, "bad CID");
	bad("vsock:-1:1", 0, "bad CID");
	bad("vsock:3:", 0, "bad port");
	bad("vsock:3:9001x", 0, "bad port");
	bad("vsock:3:4294967296", 0, "bad port");
	bad("vsock:3:4294967295", 0, "bad port");
	bad("vsock:4294967295:1", 0, "cannot connect to CID");
	bad("vsock:+3:1", 0, "bad CID");
	bad("vsock: 3:1", 0, "bad CID");
	bad("unix:", 0, "empty socket path");
	bad("hvsock:/x", 0, "expected hvsock:PATH:PORT");
	bad("hvsock::5", 0, "empty socket path");
	bad("hvsock:/x:5", GUEST_ADDR_LISTEN, "cannot listen on hvsock");
	memset(longpath, 'a', sizeof longpath);
	memcpy(longpath, "unix:/", 6);
	longpath[sizeof longpath - 1] = '\0';
	bad(longpath, 0, "longer than");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
