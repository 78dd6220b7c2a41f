/*
 * guest: main, global options and dispatch to cli/cmd-<name>.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest.h"
#include "guest/proto.h"
#include "guest/util.h"
#include "version.h"

const struct option cli_global_opts[] = {
	{ "connect",	required_argument,	NULL, 'C' },
	{ "connect-timeout", required_argument,	NULL, 'T' },
	{ "inventory",	required_argument,	NULL, 'I' },
	{ "identity",	required_argument,	NULL, 'i' },
	{ "verbose",	no_argument,		NULL, 'v' },
	{ "version",	no_argument,		NULL, 'V' },
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

int
main(int argc, char **argv)
{
	struct cli cli = { 0 };
	const struct cmd_entry *c;
	int ch;

	guest_sanitize_stdfds();
	/* "+": stop at the command name; its options are its own. */
	while ((ch = getopt_long(argc, argv, "+C:i:vVh", cli_global_opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'C':
			cli.connect = optarg;
			break;
		case 'T':
			if (cli_parse_seconds(optarg, 3600, &cli.connect_ms) < 0) {
				cli_error(NULL, "--connect-timeout %s: expected "
				    "seconds, more than 0 and at most 3600",
				    optarg);
				return EXIT_USAGE;
			}
			break;
		case 'I':
			cli.inventory = optarg;
			break;
		case 'i':
			cli.identity = optarg;
			break;
		case 'v':
			cli.verbose++;
			break;
		case 'V':
			printf("guest %s (protocol %d)\n", GUEST_VERSION,
			    GUEST_PROTOCOL_VERSION);
			return 0;
		case 'h':
			cli_help(stdout);
			return 0;
		default:
			cli_help(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		cli_help(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[optind], "help") == 0) {
		if (optind + 1 >= argc) {
			cli_help(stdout);
			return 0;
		}
		if ((c = cmd_find(argv[optind + 1])) == NULL) {
			cli_error(NULL, "no command '%s' (see guest --help)",
			    argv[optind + 1]);
			return EXIT_USAGE;
		}
		cmd_usage(c, stdout);
		return 0;
	}
	if ((c = cmd_find(argv[optind])) == NULL) {
		cli_error(NULL, "no command '%s' (see guest --help)",
		    argv[optind]);
		return EXIT_USAGE;
	}
	/* The command sees itself as argv[0]. */
	optind++;
	return c->exec(&cli, c, argc - optind + 1, argv + optind - 1);
}
