/*
 * Unit tests for the libvirt module's XML work: the vsock CID out of a
 * domain's live XML, what an image file is, and the domain XML guest
 * launch writes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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

/* Write n bytes of p at offset off of a fresh temp file; its path. */
static char *
image(const void *p, size_t n, size_t off, size_t size)
{
	static char path[64];
	FILE *f;
	int fd;

	snprintf(path, sizeof path, "/tmp/test-virt-image.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	if (size > 0)
		assert_int_equal(ftruncate(fd, (off_t)size), 0);
	fseek(f, (long)off, SEEK_SET);
	assert_int_equal(fwrite(p, 1, n, f), n);
	fclose(f);
	return path;
}

static int
kind_of(const void *p, size_t n, size_t off, size_t size,
    enum guest_image_kind *k)
{
	struct guest_error e;
	char *path = image(p, n, off, size);
	int r = guest_image_kind(path, k, &e);

	unlink(path);
	return r;
}

static void
test_image_kind(void **state)
{
	enum guest_image_kind k;
	struct guest_error e;

	assert_int_equal(kind_of("QFI\xfb\0\0\0\3", 8, 0, 0, &k), 0);
	assert_int_equal(k, GUEST_IMAGE_QCOW2);
	assert_int_equal(kind_of("\x7f" "ELF\2\1\1", 7, 0, 0, &k), 0);
	assert_int_equal(k, GUEST_IMAGE_KERNEL);
	assert_int_equal(kind_of("HdrS", 4, 0x202, 4096, &k), 0);
	assert_int_equal(k, GUEST_IMAGE_KERNEL);
	assert_int_equal(kind_of("\x55\xaa", 2, 510, 4096, &k), 0);
	assert_int_equal(k, GUEST_IMAGE_RAW);
	assert_int_equal(kind_of("EFI PART", 8, 512, 4096, &k), 0);
	assert_int_equal(k, GUEST_IMAGE_RAW);
	assert_int_equal(kind_of("\xef\xbb\xbf <?xml version='1.0'?>\n"
	    "<!-- a VM -->\n<domain type='kvm'>", 57, 0, 0, &k), 0);
	assert_int_equal(k, GUEST_IMAGE_XML);
	/* Not ours: text, another XML root, nothing at all. */
	assert_int_equal(kind_of("hello\n", 6, 0, 0, &k), -EINVAL);
	assert_int_equal(kind_of("<network>", 9, 0, 0, &k), -EINVAL);
	assert_int_equal(kind_of("<domainx>", 9, 0, 0, &k), -EINVAL);
	assert_int_equal(kind_of("", 0, 0, 0, &k), -EINVAL);
	assert_int_equal(guest_image_kind("/nonexistent/x", &k, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "No such file"));
	assert_int_equal(guest_image_kind("/tmp", &k, &e), -EINVAL);
}

static void
test_launch_xml(void **state)
{
	const char *args[] = { "quiet", "x=<&>" };
	struct guest_launch_spec sp = {
		.image = "/img/vmlinux", .initrd = "/img/init'rd",
		.cmdline = args, .ncmdline = 2, .memory = 256 << 20,
		.balloon = false, .console = true, .rng = true, .vsock = true,
	};
	struct guest_error e;
	char *xml;

	assert_int_equal(guest_launch_xml(&sp, GUEST_IMAGE_KERNEL, "a&b",
	    false, true, 2, &xml, &e), 0);
	assert_non_null(strstr(xml, "<domain type='qemu'>"));
	assert_non_null(strstr(xml, "<name>a&amp;b</name>"));
	assert_non_null(strstr(xml, "<memory unit='KiB'>262144</memory>"));
	assert_non_null(strstr(xml, "<vcpu>2</vcpu>"));	/* the host's */
	assert_non_null(strstr(xml, "machine='q35'"));
	assert_non_null(strstr(xml, "<initrd>/img/init&apos;rd</initrd>"));
	assert_non_null(strstr(xml, "<cmdline>console=ttyS0 quiet "
	    "x=&lt;&amp;&gt;</cmdline>"));
	assert_non_null(strstr(xml, "<memballoon model='none'/>"));
	assert_non_null(strstr(xml, "<target type='virtio' port='1'/>"));
	assert_non_null(strstr(xml, "<cid auto='yes'/>"));
	assert_null(strstr(xml, "<interface"));
	assert_null(strstr(xml, "<video"));
	assert_null(strstr(xml, "<sound"));
	assert_null(strstr(xml, "<disk"));
	free(xml);

	/* A disk, on KVM, Fuchsia's devices. */
	memset(&sp, 0, sizeof sp);
	sp.image = "/img/d.qcow2";
	sp.cpus = 3;
	sp.net = sp.balloon = sp.gpu = sp.sound = true;
	assert_int_equal(guest_launch_xml(&sp, GUEST_IMAGE_QCOW2, "d", true,
	    true, 8, &xml, &e), 0);
	assert_non_null(strstr(xml, "<domain type='kvm'>"));
	assert_non_null(strstr(xml, "<memory unit='KiB'>1048576</memory>"));
	assert_non_null(strstr(xml, "<vcpu>3</vcpu>"));
	assert_non_null(strstr(xml, "<boot dev='hd'/>"));
	assert_non_null(strstr(xml, "type='qcow2'"));
	assert_non_null(strstr(xml, "<source file='/img/d.qcow2'/>"));
	assert_non_null(strstr(xml, "<interface type='user'>"));
	assert_non_null(strstr(xml, "<stats period='5'/>"));
	assert_non_null(strstr(xml, "<video><model type='virtio'/></video>"));
	assert_non_null(strstr(xml, "<sound model='virtio'/>"));
	assert_null(strstr(xml, "<kernel"));
	assert_null(strstr(xml, "<vsock"));
	free(xml);
	assert_int_equal(guest_launch_xml(&sp, GUEST_IMAGE_XML, "d", true,
	    true, 8, &xml, &e), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cids),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_image_kind),
		cmocka_unit_test(test_launch_xml),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
