/*
 * Local terminal handling for interactive sessions.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "guest/tty.h"

static struct guest_tty *restore_at_exit;

static void
restore_hook(void)
{
	if (restore_at_exit != NULL)
		guest_tty_restore(restore_at_exit);
}

int
guest_tty_raw(struct guest_tty *t, int fd)
{
	static bool hooked;
	struct termios raw;

	t->fd = fd;
	t->raw = false;
	if (tcgetattr(fd, &t->saved) < 0)
		return -errno;
	raw = t->saved;
	cfmakeraw(&raw);
	/* Keep output post-processing off too: the guest's terminal does
	 * it, and doing it twice doubles carriage returns. */
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(fd, TCSADRAIN, &raw) < 0)
		return -errno;
	t->raw = true;
	restore_at_exit = t;
	if (!hooked) {
		atexit(restore_hook);
		hooked = true;
	}
	return 0;
}

void
guest_tty_restore(struct guest_tty *t)
{
	if (t == NULL || !t->raw)
		return;
	(void)tcsetattr(t->fd, TCSADRAIN, &t->saved);
	t->raw = false;
	if (restore_at_exit == t)
		restore_at_exit = NULL;
}

int
guest_tty_size(int fd, unsigned *rows, unsigned *cols, unsigned *xpixel,
    unsigned *ypixel)
{
	struct winsize ws;

	if (ioctl(fd, TIOCGWINSZ, &ws) < 0)
		return -errno;
	*rows = ws.ws_row;
	*cols = ws.ws_col;
	*xpixel = ws.ws_xpixel;
	*ypixel = ws.ws_ypixel;
	return 0;
}

void
guest_tty_window(Guest__V1__WindowSize *ws)
{
	unsigned r = 24, c = 80, x = 0, y = 0;

	if (guest_tty_size(STDIN_FILENO, &r, &c, &x, &y) < 0 &&
	    guest_tty_size(STDOUT_FILENO, &r, &c, &x, &y) < 0) {
		r = 24;
		c = 80;
	}
	ws->rows = r;
	ws->cols = c;
	ws->xpixel = x;
	ws->ypixel = y;
}
