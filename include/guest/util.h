/*
 * Small internal helpers shared by libguest's modules.
 */
#ifndef GUEST_UTIL_H
#define GUEST_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>

int64_t	guest_now_ms(void);
int	guest_set_nonblock(int fd, int on);
/* Open /dev/null on any of fds 0-2 that is closed, so no socket we open
 * later lands there and gets mistaken for stdin or stdout. */
void	guest_sanitize_stdfds(void);
/* poll one fd for events until deadline (guest_now_ms()): 0 when ready,
 * -ETIMEDOUT, or another negative errno. */
int	guest_wait_fd(int fd, short events, int64_t deadline);

/* Write all n bytes to fd, through EINTR and, on a non-blocking fd,
 * EAGAIN (waiting up to a minute at a time): 0 or a negative errno. */
int	guest_write_all(int fd, const void *buf, size_t n);

/* A byte count: digits with an optional K, M or G (powers of 1024), at
 * most 1 TiB.  0, or -EINVAL. */
int	guest_parse_size(const char *s, uint64_t *out);

/* mkdir -p of path's parents (and path itself with include_last), new
 * ones with mode: 0, or a negative errno. */
int	guest_mkdir_parents(const char *path, mode_t mode, bool include_last);

/* Big-endian 32-bit words, as frames and XDR carry them. */
static inline void
guest_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t
guest_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static inline void
guest_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

#endif
