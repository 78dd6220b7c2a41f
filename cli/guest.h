/*
 * The guest CLI: global state, the command table and the helpers commands
 * share.  Each command lives in cli/cmd-<name>.c and stays thin: parse,
 * call libguest, print.
 */
#ifndef GUEST_CLI_H
#define GUEST_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "guest/transport.h"

/* ssh's convention: the remote status, or 255 for our own failures. */
#define EXIT_LOCAL	255
#define EXIT_USAGE	2

struct cli {
	const char	*connect;	/* -C ADDR */
	int		 verbose;
	int		 connect_ms;	/* --connect-timeout, 0: default */
};

struct cmd_entry {
	const char	*name;
	const char	*usage;		/* what follows "guest NAME" */
	const char	*summary;	/* one line for guest --help */
	const char	*help;		/* options and details */
	int		(*exec)(struct cli *, const struct cmd_entry *, int argc,
			    char **argv);
};

extern const struct cmd_entry cmd_vsh_entry;
extern const struct cmd_entry cmd_info_entry;
extern const struct cmd_entry cmd_socat_entry;
extern const struct cmd_entry cmd_socat_listen_entry;
extern const struct cmd_entry *const cmd_table[];

const struct cmd_entry *cmd_find(const char *name);
void	cmd_usage(const struct cmd_entry *, FILE *);
void	cli_help(FILE *);

/* "guest: NAME: message" on stderr. */
void	cli_error(const struct cmd_entry *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* A decimal number that fits in 32 bits; -EINVAL otherwise. */
int	cli_parse_num(const char *s, uint32_t *out);

/* For commands whose only option is -h: -1 to go on (optind at the first
 * operand), or the exit status to return now. */
int	cli_no_options(const struct cmd_entry *, int argc, char **argv);

/* The address of a guest, from -C or from ENV CID [PORT]. */
int	cli_target(struct cli *, const struct cmd_entry *, int npos,
	    char **pos, struct guest_addr *a);

#endif
