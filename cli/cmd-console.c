/*
 * guest console [ENV [GUEST]] [--port PORT] [--no-history | --history BYTES]
 *     [--force | --read-only] [--log]
 */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest.h"
#include "guest/console.h"
#include "guest/util.h"

static const struct option console_opts[] = {
	{ "port",	required_argument,	NULL, 'p' },
	{ "history",	required_argument,	NULL, 'H' },
	{ "no-history",	no_argument,		NULL, 'N' },
	{ "force",	no_argument,		NULL, 'f' },
	{ "read-only",	no_argument,		NULL, 'r' },
	{ "log",	no_argument,		NULL, 'l' },
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static int
cmd_console(struct cli *cli, const struct cmd_entry *c, int argc, char **argv)
{
	struct guest_console_opts o = { 0 };
	struct guest_error e = { 0 };
	struct guest_target t;
	struct passwd *pw;
	char s[GUEST_ADDR_STR_MAX], who[320], host[256];
	uint32_t port = GUEST_PORT_DEFAULT;
	int ch, r, history_set = 0, log = 0, force = 0, ro = 0;

	o.all_history = true;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "p:frh", console_opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			if (cli_parse_num(optarg, &port) < 0 ||
			    port == 0xffffffffu) {
				cli_error(c, "--port %s: not a port", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'H':
			if (guest_parse_size(optarg, &o.history) < 0) {
				cli_error(c, "--history %s: expected a number "
				    "of bytes (K, M, G allowed)", optarg);
				return EXIT_USAGE;
			}
			o.all_history = false;
			history_set++;
			break;
		case 'N':
			o.all_history = false;
			o.history = 0;
			history_set++;
			break;
		case 'f':
			force = 1;
			break;
		case 'r':
			ro = 1;
			break;
		case 'l':
			log = 1;
			break;
		case 'h':
			cmd_usage(c, stdout);
			return 0;
		default:
			cmd_usage(c, stderr);
			return EXIT_USAGE;
		}
	}
	if (history_set > 1) {
		cli_error(c, "--history and --no-history go one at a time");
		return EXIT_USAGE;
	}
	if (force + ro + log > 1) {
		cli_error(c, "--force, --read-only and --log go one at a time");
		return EXIT_USAGE;
	}
	o.mode = log ? GUEST_CONSOLE_LOG : ro ? GUEST_CONSOLE_READ_ONLY :
	    force ? GUEST_CONSOLE_FORCE : GUEST_CONSOLE_WRITE;
	if ((r = cli_target_port(cli, c, argc - optind, argv + optind, port,
	    &t)) < 0)
		return r == CLI_TARGET_USAGE ? EXIT_USAGE : EXIT_LOCAL;

	/* Who we are, for whoever asks who holds the keyboard. */
	pw = getpwuid(getuid());
	if (gethostname(host, sizeof host) < 0)
		snprintf(host, sizeof host, "?");
	host[sizeof host - 1] = '\0';
	snprintf(who, sizeof who, "%s@%s", pw ? pw->pw_name : "?", host);
	o.client = who;
	guest_addr_format(&t.addr, s, sizeof s);
	o.name = t.known ? t.name : s;
	cli_client(cli, &t, &o.open);
	r = guest_console(&t.addr, &o, &e);
	if (r == -EBUSY) {
		cli_error(c, "%s", e.msg);
		return 1;
	}
	if (r < 0) {
		cli_error(c, "%s", e.msg);
		return EXIT_LOCAL;
	}
	return 0;
}

const struct cmd_entry cmd_console_entry = {
	.name = "console",
	.usage = "[ENV [GUEST]] [--port PORT] [--no-history | --history BYTES] "
	    "[--force | --read-only] [--log]",
	.summary = "Attach to the guest's console, with what it printed before",
	.help =
	    "The agent keeps one terminal session (a login shell, or the program\n"
	    "given to guest-agent --console-program) running for as long as it\n"
	    "runs, and records its output in a ring buffer (1 MiB by default).\n"
	    "Attaching replays that history, then shows live output; keystrokes\n"
	    "go in.  ^] (Ctrl + ]) detaches and leaves the session running; so\n"
	    "does the end of stdin when it is not a terminal.  Any number of\n"
	    "clients may watch; one at a time holds the keyboard.\n"
	    "\n"
	    "Options:\n"
	    "  --port PORT       the agent's port (default 9001)\n"
	    "  --history BYTES   replay at most the last BYTES (K, M, G)\n"
	    "  --no-history      live output only\n"
	    "  -r, --read-only   watch; keystrokes are not sent\n"
	    "  -f, --force       take the keyboard from whoever holds it (they\n"
	    "                    are told, and watch from then on)\n"
	    "  --log             print the history and exit (no terminal needed)\n"
	    "\n"
	    "Exit status: 0 after a detach or a --log, 1 when someone else holds\n"
	    "the keyboard (the message names them), 255 when the agent cannot be\n"
	    "reached or the connection is lost.\n",
	.exec = cmd_console,
	.opts = console_opts,
	.operands = "target",
};
