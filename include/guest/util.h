/*
 * Small internal helpers shared by libguest's modules.
 */
#ifndef GUEST_UTIL_H
#define GUEST_UTIL_H

#include <stdint.h>
#include <unistd.h>

int64_t	guest_now_ms(void);
int	guest_set_nonblock(int fd, int on);

static inline void
guest_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

#endif
