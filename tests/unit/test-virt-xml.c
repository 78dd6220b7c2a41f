/*
 * Unit tests for reading the vsock CID out of a domain's live XML.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "guest/virt.h"

static int
cid_of(const char *xml, int64_t *cid, bool *vsock)
{
	return guest_virt_xml_cid(xml, strlen(xml), cid, vsock);
}

static void
test_cids(void **state)
{
	int64_t cid;
	bool vsock;

	assert_int_equal(cid_of("<domain><devices><vsock model='virtio'>"
	    "<cid auto='no' address='3'/></vsock></devices></domain>", &cid,
	    &vsock), 1);
	assert_int_equal(cid, 3);
	assert_true(vsock);
	/* auto='yes': the live XML carries the address that was given. */
	assert_int_equal(cid_of("<domain type='kvm'><name>a</name><devices>"
	    "<disk/><vsock model='virtio'><cid auto='yes' address='1042'/>"
	    "<alias name='vsock0'/></vsock></devices></domain>", &cid, &vsock),
	    1);
	assert_int_equal(cid, 1042);
	/* No vsock device. */
	assert_int_equal(cid_of("<domain><devices><disk/></devices></domain>",
	    &cid, &vsock), 0);
	assert_int_equal(cid, GUEST_NO_CID);
	assert_false(vsock);
	/* A vsock whose CID is not assigned yet (inactive auto). */
	assert_int_equal(cid_of("<domain><devices><vsock model='virtio'>"
	    "<cid auto='yes'/></vsock></devices></domain>", &cid, &vsock), 0);
	assert_true(vsock);
	/* Not where the XPath looks: not a CID. */
	assert_int_equal(cid_of("<domain><vsock><cid address='5'/></vsock>"
	    "</domain>", &cid, &vsock), 0);
}

static void
test_bad(void **state)
{
	int64_t cid;
	bool vsock;

	assert_int_equal(cid_of("<domain><devices>", &cid, &vsock), -EBADMSG);
	assert_int_equal(cid_of("", &cid, &vsock), -EBADMSG);
	/* CIDs 0-2 are never a guest's; junk and overflow are refused. */
	assert_int_equal(cid_of("<domain><devices><vsock><cid address='2'/>"
	    "</vsock></devices></domain>", &cid, &vsock), 0);
	assert_int_equal(cid_of("<domain><devices><vsock><cid address='3x'/>"
	    "</vsock></devices></domain>", &cid, &vsock), 0);
	assert_int_equal(cid_of("<domain><devices><vsock><cid address="
	    "'99999999999'/></vsock></devices></domain>", &cid, &vsock), 0);
	assert_int_equal(cid, GUEST_NO_CID);
	/* No network, no external entities: never a CID from one. */
	assert_true(cid_of("<!DOCTYPE d [<!ENTITY x SYSTEM "
	    "'http://example.com/x'>]><domain><devices><vsock><cid "
	    "address='&x;'/></vsock></devices></domain>", &cid, &vsock) <= 0);
	assert_int_equal(cid, GUEST_NO_CID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cids),
		cmocka_unit_test(test_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
