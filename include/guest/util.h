/*
 * Small internal helpers shared by libguest's modules.
 */
#ifndef GUEST_UTIL_H
#define GUEST_UTIL_H

#include <stdint.h>
#include <unistd.h>

int64_t	guest_now_ms(void);
int	guest_set_nonblock(int fd, int on);
/* poll one fd for events until deadline (guest_now_ms()): 0 when ready,
 * -ETIMEDOUT, or another negative errno. */
int	guest_wait_fd(int fd, short events, int64_t deadline);

static inline void
guest_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

#endif
