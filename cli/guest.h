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
#include <getopt.h>

#include <json-c/json.h>

#include "guest/session.h"
#include "guest/target.h"
#include "guest/transport.h"

/* ssh's convention: the remote status, or 255 for our own failures. */
#define EXIT_LOCAL	255
#define EXIT_USAGE	2

struct cli {
	const char	*connect;	/* -C ADDR */
	int		 verbose;
	int		 connect_ms;	/* --connect-timeout, 0: default */
	const char	*inventory;	/* --inventory PATH */
	const char	*identity;	/* -i FILE */
	const struct guest_target *target;	/* the one being opened */
};

/* For completion: a subcommand's name, long options and operands. */
struct cmd_sub {
	const char	*name;
	const struct option *opts;
	const char	*operands;
};

struct cmd_entry {
	const char	*name;
	const char	*usage;		/* what follows "guest NAME" */
	const char	*summary;	/* one line for guest --help */
	const char	*help;		/* options and details */
	int		(*exec)(struct cli *, const struct cmd_entry *, int argc,
			    char **argv);
	/* What completion offers (cli/cmd-complete.c): the long options
	 * (getopt_long's table; -h/--help when NULL), the operands ("target":
	 * [ENV] GUEST [PORT]; "env": ENV; "image": [ENV] IMAGE; "cp": local
	 * paths or GUEST:PATH), or subcommands with their own. */
	const struct option *opts;
	const char	*operands;
	const struct cmd_sub *subs;
	bool		 hidden;	/* not in guest --help */
};

extern const struct cmd_entry cmd_vsh_entry;
extern const struct cmd_entry cmd_info_entry;
extern const struct cmd_entry cmd_socat_entry;
extern const struct cmd_entry cmd_socat_listen_entry;
extern const struct cmd_entry cmd_list_entry;
extern const struct cmd_entry cmd_env_entry;
extern const struct cmd_entry cmd_cp_entry;
extern const struct cmd_entry cmd_console_entry;
extern const struct cmd_entry cmd_launch_entry;
extern const struct cmd_entry cmd_serial_entry;
extern const struct cmd_entry cmd_stop_entry;
extern const struct cmd_entry cmd_balloon_entry;
extern const struct cmd_entry cmd_balloon_stats_entry;
extern const struct cmd_entry cmd_forget_entry;
extern const struct cmd_entry cmd_completion_entry;
extern const struct cmd_entry cmd_complete_entry;
extern const struct option cli_global_opts[];
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

/* The guest to reach, from -C or from [ENV [GUEST [PORT]]] through the
 * inventory.  On failure the error is printed and the result is
 * CLI_TARGET_USAGE (bad arguments) or CLI_TARGET_FAILED (no such guest,
 * unusable inventory). */
#define CLI_TARGET_USAGE	(-1)
#define CLI_TARGET_FAILED	(-2)
int	cli_target(struct cli *, const struct cmd_entry *, int npos,
	    char **pos, struct guest_target *t);
/* The same from [ENV [GUEST]] with the port given apart (--port). */
int	cli_target_port(struct cli *, const struct cmd_entry *, int npos,
	    char **pos, uint32_t port, struct guest_target *t);

/* The VM of [ENV] GUEST, for the commands that act on it through libvirt
 * (serial, stop): 0 with ref filled (guest_env_clear(&ref->env) after),
 * or the exit status to return, the error printed. */
int	cli_domain(struct cli *, const struct cmd_entry *, int npos,
	    char **pos, struct guest_domain_ref *ref);

/* A boolean as Fuchsia's options take it: true/false (yes/no, on/off,
 * 1/0 too).  -EINVAL otherwise. */
int	cli_parse_bool(const char *s, bool *out);

/* A size in KiB for people: "256 MiB", "1.50 GiB". */
const char *cli_kib(uint64_t kib, char *buf, size_t n);

/* Seconds, more than 0 and at most max, as milliseconds; -EINVAL. */
int	cli_parse_seconds(const char *s, double max, int *ms);

/* How to open a session with target t: the deadline, the key to sign
 * in with, and the check of the agent's Hello (that it runs in the VM the
 * inventory says, and that its host key is the one pinned for it: pinned
 * now, with a line on stderr, the first time). */
void	cli_client(struct cli *, const struct guest_target *t,
	    struct guest_client *out);

/* --json (json.c): a new document (an object with "schema"), a string
 * (JSON null for NULL or ""), a time in ms as RFC 3339 UTC (null for 0); json-c
 * takes NULL as null.  cli_json_print prints the document (pretty, or on
 * one line) and frees it: 0, or -EIO when stdout failed. */
#define CLI_JSON_SCHEMA	1
json_object *cli_json_doc(void);
json_object *cli_json_str(const char *);
json_object *cli_json_time(int64_t ms);
int	cli_json_print(json_object *doc, bool line);
/* An environment as env list and list show it: env, name, uri,
 * transport, default, refreshed. */
struct guest_env;
json_object *cli_json_env(const struct guest_env *);
/* The options of a command whose only ones are --json and --help (opts,
 * 'j' and 'h'): -1 to go on, with *json set, else the status to return. */
int	cli_json_only(const struct cmd_entry *, const struct option *opts,
	    int argc, char **argv, bool *json);

/* A name as it may be printed: control characters escaped. */
const char *cli_safe(const char *s, char *buf, size_t n);

#endif
