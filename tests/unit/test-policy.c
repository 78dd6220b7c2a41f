/*
 * The peer policy table: vsock CIDs and Unix credentials.  Only structs
 * are built here; no socket is created.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/un.h>
#include <cmocka.h>

#include <linux/vm_sockets.h>

#include "guest/policy.h"
#include "guest/transport.h"

static int
check_cid(const struct guest_policy *p, uint32_t cid)
{
	struct sockaddr_vm vm;
	char why[128];

	memset(&vm, 0, sizeof vm);
	vm.svm_family = AF_VSOCK;
	vm.svm_cid = cid;
	vm.svm_port = 1234;
	return guest_policy_check(p, (struct sockaddr *)&vm, sizeof vm, NULL,
	    why, sizeof why);
}

static void
test_vsock_table(void **state)
{
	static const struct {
		uint32_t	cid;
		int		plain;		/* no --allow-cid */
		int		allow1;		/* --allow-cid 1 */
	} table[] = {
		{ 0,		-EPERM,	-EPERM },	/* hypervisor */
		{ 1,		-EPERM,	0 },		/* loopback */
		{ 2,		0,	0 },		/* the host */
		{ 3,		-EPERM,	-EPERM },	/* another guest */
		{ 0xffffffff,	-EPERM,	-EPERM },	/* ANY */
	};
	struct guest_policy plain = { .self_uid = 1000 }, allow1 = plain;
	size_t i;

	assert_int_equal(guest_policy_allow_cid(&allow1, 1), 0);
	for (i = 0; i < sizeof table / sizeof table[0]; i++) {
		assert_int_equal(check_cid(&plain, table[i].cid),
		    table[i].plain);
		assert_int_equal(check_cid(&allow1, table[i].cid),
		    table[i].allow1);
	}
}

static void
test_allow_list_limits(void **state)
{
	struct guest_policy p = { 0 };
	uint32_t i;

	assert_int_equal(guest_policy_allow_cid(&p, GUEST_CID_ANY), -EINVAL);
	for (i = 0; i < GUEST_POLICY_MAX_CIDS; i++)
		assert_int_equal(guest_policy_allow_cid(&p, 100 + i), 0);
	assert_int_equal(guest_policy_allow_cid(&p, 7), -ENOSPC);
	assert_int_equal(check_cid(&p, 100 + GUEST_POLICY_MAX_CIDS - 1), 0);
	assert_int_equal(check_cid(&p, 7), -EPERM);
}

static void
test_short_sockaddr(void **state)
{
	struct guest_policy p = { 0 };
	struct sockaddr_vm vm;
	char why[128] = "";

	memset(&vm, 0, sizeof vm);
	vm.svm_family = AF_VSOCK;
	vm.svm_cid = 2;
	/* Even the host's CID is refused when the address is cut short. */
	assert_int_equal(guest_policy_check(&p, (struct sockaddr *)&vm,
	    sizeof vm - 1, NULL, why, sizeof why), -EPERM);
	assert_non_null(strstr(why, "short"));
	assert_int_equal(guest_policy_check(&p, (struct sockaddr *)&vm, 1,
	    NULL, why, sizeof why), -EPERM);
	assert_int_equal(guest_policy_check(&p, NULL, 0, NULL, why,
	    sizeof why), -EPERM);
}

static void
test_unix_creds(void **state)
{
	struct guest_policy p = { .self_uid = 1000 };
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct ucred root = { .uid = 0 }, self = { .uid = 1000 },
	    other = { .uid = 1001 };
	char why[128];

	assert_int_equal(guest_policy_check(&p, (struct sockaddr *)&un,
	    sizeof un, &root, why, sizeof why), 0);
	assert_int_equal(guest_policy_check(&p, (struct sockaddr *)&un,
	    sizeof un, &self, why, sizeof why), 0);
	assert_int_equal(guest_policy_check(&p, (struct sockaddr *)&un,
	    sizeof un, &other, why, sizeof why), -EPERM);
	assert_non_null(strstr(why, "uid 1001"));
	assert_int_equal(guest_policy_check(&p, (struct sockaddr *)&un,
	    sizeof un, NULL, why, sizeof why), -EPERM);
}

static void
test_other_family(void **state)
{
	struct guest_policy p = { 0 };
	struct sockaddr sa = { .sa_family = AF_INET };
	char why[128];

	assert_int_equal(guest_policy_check(&p, &sa, sizeof sa, NULL, why,
	    sizeof why), -EPERM);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vsock_table),
		cmocka_unit_test(test_allow_list_limits),
		cmocka_unit_test(test_short_sockaddr),
		cmocka_unit_test(test_unix_creds),
		cmocka_unit_test(test_other_family),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
