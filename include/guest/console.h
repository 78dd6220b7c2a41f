/*
 * The client side of the console service: attach this terminal to the
 * agent's long-lived console session (history first, then live), or
 * print its history and leave.
 */
#ifndef GUEST_CONSOLE_H
#define GUEST_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>

#include "guest/error.h"
#include "guest/session.h"
#include "guest/transport.h"

/* The detach key, as in virsh console and telnet: ^]. */
#define GUEST_CONSOLE_ESCAPE	0x1d

enum guest_console_mode {
	GUEST_CONSOLE_WRITE,		/* the keyboard, if nobody holds it */
	GUEST_CONSOLE_READ_ONLY,	/* watch */
	GUEST_CONSOLE_FORCE,		/* the keyboard, taken if need be */
	GUEST_CONSOLE_LOG,		/* print the history and leave */
};

struct guest_console_opts {
	enum guest_console_mode mode;
	bool		 all_history;	/* replay all of it, else ... */
	uint64_t	 history;	/* ... at most its last bytes */
	const char	*client;	/* "user@host", shown to others */
	const char	*name;		/* the console, in messages */
	struct guest_client open;	/* how to open the session */
};

/* Run it.  0 when the user detached (^] at a terminal, the end of stdin
 * otherwise) or the history is printed; -EBUSY when another client holds
 * the keyboard (e->msg names it); another negative errno for a local,
 * connection or protocol failure, described in e. */
int	guest_console(const struct guest_addr *a,
	    const struct guest_console_opts *o, struct guest_error *e);

#endif
