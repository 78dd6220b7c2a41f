/*
 * Signals as bytes on a pipe, for poll loops.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "guest/signals.h"
#include "guest/util.h"

static int write_end = -1;

static void
on_signal(int sig)
{
	int saved = errno;
	unsigned char c = (unsigned char)sig;

	(void)!write(write_end, &c, 1);
	errno = saved;
}

int
guest_signals_catch(struct guest_signals *s, const int *sigs, size_t n,
    struct guest_error *e)
{
	struct sigaction sa;
	int fds[2];
	size_t i;

	if (n > GUEST_SIGNALS_MAX)
		return guest_error_set(e, -EINVAL, "too many signals");
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
		return guest_error_set(e, -errno, "pipe: %s", strerror(errno));
	s->fd = fds[0];
	write_end = fds[1];
	s->sigs = sigs;
	s->n = n;
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < n; i++) {
		sa.sa_handler = sigs[i] == SIGPIPE ? SIG_IGN : on_signal;
		sigaction(sigs[i], &sa, &s->saved[i]);
	}
	return 0;
}

void
guest_signals_release(struct guest_signals *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		sigaction(s->sigs[i], &s->saved[i], NULL);
	s->n = 0;
	guest_closep(&s->fd);
	guest_closep(&write_end);
}
