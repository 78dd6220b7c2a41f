/*
 * Unit tests for transport templates and the check of the agent's VM
 * UUID against the inventory.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "guest/inventory.h"
#include "guest/target.h"

#define UUID "6695eb01-f6a4-8304-79aa-97f2502e193f"

static void
expands(const char *tmpl, int64_t cid, const char *name, const char *want)
{
	struct guest_error e;
	char buf[GUEST_ADDR_STR_MAX];

	assert_int_equal(guest_template_expand(tmpl, cid, 9001, name, UUID,
	    buf, sizeof buf, &e), 0);
	assert_string_equal(buf, want);
}

static void
test_expand(void **state)
{
	expands("vsock:%c:%p", 3, "web1", "vsock:3:9001");
	expands("unix:/run/agents/%n.sock", -1, "web1",
	    "unix:/run/agents/web1.sock");
	expands("hvsock:/srv/fc/%u.vsock:%p", -1, NULL,
	    "hvsock:/srv/fc/" UUID ".vsock:9001");
	expands("unix:/tmp/100%%/%n", -1, "a b", "unix:/tmp/100%/a b");
	expands("unix:/x", -1, NULL, "unix:/x");
}

static void
fails(const char *tmpl, int64_t cid, const char *name, int code,
    const char *words)
{
	struct guest_error e;
	char buf[64];

	assert_int_equal(guest_template_expand(tmpl, cid, 9001, name, NULL,
	    buf, sizeof buf, &e), code);
	assert_non_null(strstr(e.msg, words));
}

static void
test_expand_errors(void **state)
{
	fails("vsock:%c:%p", -1, NULL, -ENOENT, "no CID");
	fails("unix:/a/%n", 3, NULL, -ENOENT, "no domain name");
	fails("unix:/a/%u", 3, NULL, -ENOENT, "no UUID");
	fails("unix:/a/%x", 3, "n", -EINVAL, "unknown %x");
	fails("unix:/a/%", 3, "n", -EINVAL, "lone %");
	/* A name never climbs out of the directory it is put in. */
	fails("unix:/a/%n.sock", 3, "../etc", -EINVAL, "cannot go into a path");
	fails("unix:/a/%n", 3, "..", -EINVAL, "cannot go into a path");
	fails("unix:/a/%n", 3, "", -EINVAL, "cannot go into a path");
	/* Too long for the buffer: an error, not a cut. */
	fails("unix:/a/%n", 3, "a-very-long-domain-name-that-does-not-fit-"
	    "in-sixty-four-bytes", -ENAMETOOLONG, "too long");
}

static void
test_check(void **state)
{
	struct guest_error e;

	assert_int_equal(guest_template_check("vsock:%c:%p", &e), 0);
	assert_int_equal(guest_template_check("unix:/run/%n.sock", &e), 0);
	assert_int_equal(guest_template_check("hvsock:/fc/%n:%p", &e), 0);
	assert_int_equal(guest_template_check("tcp:%c", &e), -EINVAL);
	assert_int_equal(guest_template_check("vsock:%c", &e), -EINVAL);
	assert_int_equal(guest_template_check("vsock:%c:%z", &e), -EINVAL);
	assert_true(guest_template_needs_domain("unix:/%n"));
	assert_true(guest_template_needs_domain("unix:/%u"));
	assert_false(guest_template_needs_domain("vsock:%c:%p"));
	assert_false(guest_template_needs_domain("unix:/100%%n"));
}

static void
test_uuid_check(void **state)
{
	struct guest_target t = { .known = true, .env = 0, .cid = 3 };
	struct guest_error e;

	strcpy(t.name, "web1");
	strcpy(t.uuid, UUID);
	assert_int_equal(guest_target_check(&t, UUID, &e), 0);
	assert_int_equal(guest_target_check(&t,
	    "6695EB01-F6A4-8304-79AA-97F2502E193F", &e), 0);
	/* An agent that cannot read its UUID cannot be checked. */
	assert_int_equal(guest_target_check(&t, "", &e), 0);
	assert_int_equal(guest_target_check(&t,
	    "00000000-0000-0000-0000-000000000001", &e), -ESTALE);
	assert_non_null(strstr(e.msg, "web1 (env 0, CID 3)"));
	assert_non_null(strstr(e.msg, "belongs to another VM"));
	/* Not from the inventory (a bare CID, -C): nothing to compare. */
	t.known = false;
	assert_int_equal(guest_target_check(&t,
	    "00000000-0000-0000-0000-000000000001", &e), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_expand_errors),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_uuid_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
