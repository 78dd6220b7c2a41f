/*
 * The local terminal: raw mode that is always undone, and window sizes.
 */
#ifndef GUEST_TTY_H
#define GUEST_TTY_H

#include <stdbool.h>
#include <termios.h>

#include "guest/proto.h"

struct guest_tty {
	int		fd;
	bool		raw;
	struct termios	saved;
};

/* Put fd in raw mode, remembering the old settings; also registers an
 * atexit hook so an exit() anywhere restores the terminal. */
int	guest_tty_raw(struct guest_tty *, int fd);
/* Undo guest_tty_raw; harmless when not raw. */
void	guest_tty_restore(struct guest_tty *);
/* rows and cols of the terminal on fd; -ENOTTY when it is not one. */
int	guest_tty_size(int fd, unsigned *rows, unsigned *cols,
	    unsigned *xpixel, unsigned *ypixel);

/* The size of the terminal on stdin (or stdout), 24x80 when neither is
 * one, as a WindowSize message. */
void	guest_tty_window(Guest__V1__WindowSize *);

#endif
