/*
 * guest vsh [ENV [CID [PORT]]] [options] [-- COMMAND [ARG...]]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest.h"
#include "guest/vsh.h"

#define MAX_LIST 1024

static int
add(const struct cmd_entry *c, char **list, size_t *n, char *s,
    const char *what)
{
	if (*n >= MAX_LIST) {
		cli_error(c, "too many %s (at most %d)", what, MAX_LIST);
		return -1;
	}
	list[(*n)++] = s;
	return 0;
}

static const struct option vsh_opts[] = {
	{ "env",	required_argument,	NULL, 'e' },
	{ "workdir",	required_argument,	NULL, 'w' },
	{ "user",	required_argument,	NULL, 'u' },
	{ "args",	required_argument,	NULL, 'A' },
	{ "dry-run",	no_argument,		NULL, 'n' },
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static int
cmd_vsh(struct cli *cli, const struct cmd_entry *c, int argc, char **argv)
{
	static char *env[MAX_LIST], *shargs[MAX_LIST];
	struct guest_vsh_opts o = { 0 };
	struct guest_error e = { 0 };
	struct guest_target t;
	char s[GUEST_ADDR_STR_MAX];
	int ch, dd, want_pty = -1, dry_run = 0, status = EXIT_LOCAL, r;

	/* Everything after "--" is the command, untouched by getopt. */
	for (dd = 1; dd < argc && strcmp(argv[dd], "--") != 0; dd++)
		;
	optind = 0;	/* 0: full reset, main parsed with "+" */
	while ((ch = getopt_long(dd, argv, "tTe:w:u:h", vsh_opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			want_pty = 1;
			break;
		case 'T':
			want_pty = 0;
			break;
		case 'e':
			if (strchr(optarg, '=') == NULL || optarg[0] == '=') {
				cli_error(c, "-e %s: expected NAME=VALUE",
				    optarg);
				return EXIT_USAGE;
			}
			if (add(c, env, &o.n_env, optarg, "-e") < 0)
				return EXIT_USAGE;
			break;
		case 'w':
			o.cwd = optarg;
			break;
		case 'u':
			o.user = optarg;
			break;
		case 'A':
			if (add(c, shargs, &o.n_shell_args, optarg, "--args") < 0)
				return EXIT_USAGE;
			break;
		case 'n':
			dry_run = 1;
			break;
		case 'h':
			cmd_usage(c, stdout);
			return 0;
		default:
			cmd_usage(c, stderr);
			return EXIT_USAGE;
		}
	}
	if ((r = cli_target(cli, c, dd - optind, argv + optind, &t)) < 0)
		return r == CLI_TARGET_USAGE ? EXIT_USAGE : EXIT_LOCAL;
	if (dry_run) {
		printf("%s\n", guest_addr_format(&t.addr, s, sizeof s));
		return 0;
	}
	o.env = env;
	o.shell_args = shargs;
	if (dd < argc) {
		o.argv = argv + dd + 1;
		o.argc = (size_t)(argc - dd - 1);
	}
	if (o.argc > 0 && o.n_shell_args > 0) {
		cli_error(c, "--args goes to the shell, not with a command");
		return EXIT_USAGE;
	}
	/* Like ssh: a terminal for a shell at a terminal, pipes for a
	 * command, unless -t or -T says otherwise. */
	o.pty = want_pty >= 0 ? want_pty : (o.argc == 0 && isatty(0));
	o.escape = true;
	cli_client(cli, &t, &o.client);

	if (cli->verbose)
		fprintf(stderr, "guest: vsh: connecting to %s (%s)\n",
		    guest_addr_format(&t.addr, s, sizeof s),
		    o.pty ? "with a terminal" : "pipes");
	r = guest_vsh(&t.addr, &o, &status, &e);
	if (r < 0) {
		cli_error(c, "%s", e.msg);
		return EXIT_LOCAL;
	}
	if (e.msg[0] != '\0')
		cli_error(c, "%s", e.msg);
	return status;
}

const struct cmd_entry cmd_vsh_entry = {
	.name = "vsh",
	.usage = "[ENV [GUEST [PORT]]] [options] [-- COMMAND [ARG...]]",
	.summary = "Run a shell or a command in a guest",
	.help =
	    "With no command, an interactive login shell on a terminal; with a\n"
	    "command, its stdin, stdout and stderr as pipes.  The exit status is\n"
	    "the command's (128+N if signal N ended it, 127 not found, 126 not\n"
	    "executable), or 255 if guest itself failed.  PORT defaults to 9001.\n"
	    "GUEST is a vsock CID, or a domain name or UUID from the inventory\n"
	    "(see guest list); ENV defaults to 0, GUEST to the only running\n"
	    "guest with a CID.\n"
	    "\n"
	    "Options:\n"
	    "  -t              force a terminal (PTY) in the guest\n"
	    "  -T              no terminal: separate stdout and stderr\n"
	    "  -e NAME=VALUE   set an environment variable (repeatable)\n"
	    "  -w, --workdir DIR  working directory (default: the user's home)\n"
	    "  -u, --user USER run as USER (the agent must run as root)\n"
	    "  --args ARG      pass ARG to the shell (repeatable)\n"
	    "  --dry-run       print the address that would be dialed, and exit\n"
	    "\n"
	    "With a terminal, ~. after a newline leaves a hung session, ~~ types\n"
	    "a ~ and ~? lists these.\n",
	.exec = cmd_vsh,
	.opts = vsh_opts,
	.operands = "target",
};
