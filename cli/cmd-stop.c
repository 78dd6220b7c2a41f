/*
 * guest stop [ENV] GUEST [--timeout SECONDS] [--force]: ACPI shutdown with
 * a deadline, or destroy.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>

#include "guest.h"
#include "guest/virt.h"

static const struct option stop_opts[] = {
	{ "timeout",	required_argument,	NULL, 't' },
	{ "force",	no_argument,		NULL, 'f' },
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static int
cmd_stop(struct cli *cli, const struct cmd_entry *c, int argc, char **argv)
{
	struct guest_domain_ref ref;
	struct guest_error e = { 0 };
	struct guest_dom dom;
	int ch, r, timeout_ms = 60 * 1000;
	bool force = false;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "t:fh", stop_opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			if (cli_parse_seconds(optarg, 86400, &timeout_ms) < 0) {
				cli_error(c, "--timeout %s: expected seconds, "
				    "more than 0", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'f':
			force = true;
			break;
		case 'h':
			cmd_usage(c, stdout);
			return 0;
		default:
			cmd_usage(c, stderr);
			return EXIT_USAGE;
		}
	}
	if ((r = cli_domain(cli, c, argc - optind, argv + optind, &ref)) != 0)
		return r;
	r = guest_virt_stop(ref.env.uri, ref.uuid, timeout_ms, force, &dom, &e);
	if (r < 0) {
		cli_error(c, "%s", e.msg);
		guest_env_clear(&ref.env);
		return r == -ETIMEDOUT ? 1 : EXIT_LOCAL;
	}
	/* Out of the inventory's running guests at once. */
	if (guest_target_refresh(cli->inventory, argc - optind == 2 ?
	    argv[optind] : NULL, &e) < 0)
		fprintf(stderr, "guest: stop: warning: the inventory was not "
		    "updated: %s\n", e.msg);
	fprintf(stderr, "guest: %s %s%s\n", dom.name, force ? "destroyed" :
	    "shut down", dom.persistent ? " (still defined)" : "");
	guest_env_clear(&ref.env);
	return 0;
}

const struct cmd_entry cmd_stop_entry = {
	.name = "stop",
	.usage = "[ENV] GUEST [--timeout SECONDS] [--force]",
	.summary = "Shut a VM down (ACPI, with a deadline) or destroy it",
	.help =
	    "Presses the VM's ACPI power button and waits until it has stopped.\n"
	    "A transient VM (guest launch without --persistent) is then gone\n"
	    "from libvirt; a persistent one stays defined, shut off, and can be\n"
	    "started again.  A guest that ignores the button is left running\n"
	    "when the deadline passes.\n"
	    "\n"
	    "Options:\n"
	    "  -t, --timeout SECONDS  how long to wait (60)\n"
	    "  -f, --force            destroy it at once (pulling the plug)\n"
	    "\n"
	    "Exit status: 0 when it stopped, 1 when it was still running at the\n"
	    "deadline, 255 for other failures.\n",
	.exec = cmd_stop,
	.opts = stop_opts,
	.operands = "target",
};
