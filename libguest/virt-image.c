/*
 * What an image file for guest launch is, by its first bytes: shared by
 * the CLI (which says what is wrong with a file before loading libvirt)
 * and the libvirt module.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest/virt.h"

static bool
looks_xml(const unsigned char *b, size_t n)
{
	size_t i = 0;
	const char *p;

	if (n >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf)
		i = 3;			/* a UTF-8 byte order mark */
	while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' ||
	    b[i] == '\n'))
		i++;
	if (i >= n || b[i] != '<')
		return false;
	/* A prolog and comments may come first: the root must be a domain. */
	p = memmem(b + i, n - i, "<domain", 7);
	return p != NULL && (p[7] == ' ' || p[7] == '>' || p[7] == '\t' ||
	    p[7] == '\n' || p[7] == '\r');
}

int
guest_image_kind(const char *path, enum guest_image_kind *kind,
    struct guest_error *e)
{
	unsigned char b[4096];
	struct stat st;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return guest_error_set(e, -errno, "%s: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return guest_error_set(e, -EINVAL, "%s: not a regular file",
		    path);
	}
	n = pread(fd, b, sizeof b, 0);
	close(fd);
	if (n < 0)
		return guest_error_set(e, -errno, "%s: %s", path,
		    strerror(errno));
	if (n == 0)
		return guest_error_set(e, -EINVAL, "%s: empty file", path);
	if (n >= 4 && memcmp(b, "QFI\xfb", 4) == 0)
		*kind = GUEST_IMAGE_QCOW2;
	else if (n >= 4 && memcmp(b, "\x7f" "ELF", 4) == 0)
		*kind = GUEST_IMAGE_KERNEL;
	else if (n >= 0x206 && memcmp(b + 0x202, "HdrS", 4) == 0)
		*kind = GUEST_IMAGE_KERNEL;		/* x86 bzImage */
	else if (n >= 0x3c && memcmp(b + 0x38, "ARM\x64", 4) == 0)
		*kind = GUEST_IMAGE_KERNEL;		/* arm64 Image */
	else if (looks_xml(b, (size_t)n))
		*kind = GUEST_IMAGE_XML;
	else if ((n >= 520 && memcmp(b + 512, "EFI PART", 8) == 0) ||
	    (n >= 512 && b[510] == 0x55 && b[511] == 0xaa))
		*kind = GUEST_IMAGE_RAW;
	else
		return guest_error_set(e, -EINVAL, "%s: not a kernel (ELF, "
		    "bzImage), a disk image (qcow2, or raw with a boot sector "
		    "or GPT) or a domain XML file", path);
	return 0;
}

