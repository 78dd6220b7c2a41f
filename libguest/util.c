/*
 * Clock and fd helpers.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "guest/util.h"

int64_t
guest_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
guest_set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	if (fcntl(fd, F_SETFL, fl) < 0)
		return -errno;
	return 0;
}

int
guest_wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t left;
	int r;

	for (;;) {
		left = deadline - guest_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

void
guest_sanitize_stdfds(void)
{
	int fd;

	/* open() returns the lowest free fd: stop once it is past 2. */
	while ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0 && fd <= 2)
		(void)fcntl(fd, F_SETFD, 0);
	if (fd > 2)
		close(fd);
}

int
guest_mkdir_parents(const char *path, mode_t mode, bool include_last)
{
	char buf[4096], *p, ch;
	size_t len;

	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
		return -ENAMETOOLONG;
	len = strlen(buf);
	while (len > 1 && buf[len - 1] == '/')
		buf[--len] = '\0';
	if (!include_last) {
		if ((p = strrchr(buf, '/')) == NULL)
			return 0;
		*p = '\0';
	}
	for (p = buf + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		ch = *p;
		*p = '\0';
		if (buf[0] != '\0' && mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = ch;
		if (ch == '\0')
			return 0;
	}
}

int
guest_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	v = strtoull(s, &end, 10);
	if (errno != 0 || v > (1ULL << 40))
		return -EINVAL;
	switch (*end) {
	case 'K': case 'k':	v <<= 10; end++; break;
	case 'M': case 'm':	v <<= 20; end++; break;
	case 'G': case 'g':	v <<= 30; end++; break;
	default:		break;
	}
	if (*end != '\0' || v > (1ULL << 40))
		return -EINVAL;
	*out = v;
	return 0;
}

int
guest_write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			(void)guest_wait_fd(fd, POLLOUT, guest_now_ms() + 60000);
			continue;
		}
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}
