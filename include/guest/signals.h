/*
 * Signals for poll loops: each caught signal becomes one byte (its
 * number) on a pipe the loop polls (the self-pipe trick).  One set at a
 * time per process; SIGPIPE in the list is ignored instead, so a reader
 * going away is an EPIPE to handle, not a death.
 */
#ifndef GUEST_SIGNALS_H
#define GUEST_SIGNALS_H

#include <signal.h>
#include <stddef.h>

#include "guest/error.h"

#define GUEST_SIGNALS_MAX	8

struct guest_signals {
	int		 fd;		/* read end: poll it, read bytes */
	const int	*sigs;
	size_t		 n;
	struct sigaction saved[GUEST_SIGNALS_MAX];
};

int	guest_signals_catch(struct guest_signals *, const int *sigs, size_t n,
	    struct guest_error *e);
/* Put the old handlers back and close the pipe. */
void	guest_signals_release(struct guest_signals *);

#endif
