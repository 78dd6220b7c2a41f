/*
 * guest forget: drop the pinned host key of a guest's agent, so that the
 * next session pins the key it then answers with (after the guest's key
 * was changed on purpose: a reinstall, a new state directory).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "guest.h"
#include "guest/pin.h"

static int
cmd_forget(struct cli *cli, const struct cmd_entry *c, int argc, char **argv)
{
	struct guest_target t;
	struct guest_error e;
	char path[4096], name[GUEST_ADDR_STR_MAX + 8];
	int r;

	if ((r = cli_no_options(c, argc, argv)) >= 0)
		return r;
	if (cli->connect == NULL && argc - optind < 1) {
		cli_error(c, "which guest? (guest forget [ENV] GUEST, or "
		    "guest -C ADDR forget)");
		return EXIT_USAGE;
	}
	if ((r = cli_target(cli, c, argc - optind, argv + optind, &t)) < 0)
		return r == CLI_TARGET_USAGE ? EXIT_USAGE : EXIT_LOCAL;
	guest_pin_name(&t, name, sizeof name);
	if (guest_pin_path(cli->inventory, path, sizeof path, &e) < 0 ||
	    (r = guest_pin_forget(path, name, &e)) < 0) {
		cli_error(c, "%s", e.msg);
		return EXIT_LOCAL;
	}
	if (r == 0)
		printf("no key was pinned for %s\n", name);
	else
		printf("forgot the host key pinned for %s (%s)\n", name, path);
	return 0;
}

const struct cmd_entry cmd_forget_entry = {
	.name = "forget",
	.usage = "[ENV] GUEST",
	.summary = "forget the pinned host key of a guest's agent",
	.help =
	    "The first session with a guest's agent pins the host key it\n"
	    "proves (trust on first use, as ssh's known_hosts); after that a\n"
	    "different key is refused.  When the guest's key changed on\n"
	    "purpose, forget the old one: the next session pins the new one\n"
	    "and prints its fingerprint.  Pins live in known_agents next to\n"
	    "the inventory (or $GUEST_KNOWN_AGENTS).\n",
	.exec = cmd_forget,
	.operands = "target",
};
