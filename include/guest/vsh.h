/*
 * The client side of the exec service: run a command or a shell in the
 * guest with this process's stdin, stdout and stderr (or its terminal).
 */
#ifndef GUEST_VSH_H
#define GUEST_VSH_H

#include <stdbool.h>
#include <stddef.h>

#include "guest/error.h"
#include "guest/session.h"
#include "guest/transport.h"

struct guest_vsh_opts {
	char	**argv;		/* command; NULL or empty: the login shell */
	size_t	  argc;
	char	**shell_args;	/* --args, given to the shell */
	size_t	  n_shell_args;
	char	**env;		/* NAME=VALUE */
	size_t	  n_env;
	const char *cwd;
	const char *user;
	bool	  pty;
	bool	  escape;	/* honour ~. when stdin is a terminal */
	struct guest_client client;	/* how to open the session */
};

/* Run the session.  Returns 0 with *status set to what the remote process
 * ended with (its exit code, 128+N for signal N, 126/127 when it could not
 * be started, with the reason in e->msg and e->code 0), or a negative
 * errno for a local, connection or protocol failure, described in e. */
int	guest_vsh(const struct guest_addr *a, const struct guest_vsh_opts *o,
	    int *status, struct guest_error *e);

#endif
