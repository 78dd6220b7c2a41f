/*
 * guest serial [ENV] GUEST [--device NAME] [--force] [--idle SECONDS]:
 * the VM's own serial console through libvirt, agent or not.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "guest.h"
#include "guest/virt.h"

static const struct option serial_opts[] = {
	{ "device",	required_argument,	NULL, 'd' },
	{ "force",	no_argument,		NULL, 'f' },
	{ "idle",	required_argument,	NULL, 'i' },
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static int
cmd_serial(struct cli *cli, const struct cmd_entry *c, int argc, char **argv)
{
	struct guest_serial_opts so = { .in_fd = 0, .out_fd = 1,
	    .idle_ms = 1000 };
	struct guest_domain_ref ref;
	struct guest_error e = { 0 };
	int ch, r;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "d:fh", serial_opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			so.device = optarg;
			break;
		case 'f':
			so.force = true;
			break;
		case 'i':
			if (strcmp(optarg, "forever") == 0)
				so.idle_ms = -1;
			else if (cli_parse_seconds(optarg, 86400,
			    &so.idle_ms) < 0) {
				cli_error(c, "--idle %s: expected seconds, more "
				    "than 0, or forever", optarg);
				return EXIT_USAGE;
			}
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
	r = guest_virt_serial(ref.env.uri, ref.uuid, &so, &e);
	guest_env_clear(&ref.env);
	if (r == -EINTR)
		return 130;
	if (r < 0 || r == GUEST_SERIAL_TAKEN) {
		cli_error(c, "%s", e.msg);
		return r == -EBUSY || r == GUEST_SERIAL_TAKEN ? 1 : EXIT_LOCAL;
	}
	return 0;
}

const struct cmd_entry cmd_serial_entry = {
	.name = "serial",
	.usage = "[ENV] GUEST [--device NAME] [--force] [--idle SECONDS]",
	.summary = "Attach to the VM's own serial console (through libvirt)",
	.help =
	    "The console libvirt gives (virDomainOpenConsole): the VM's serial\n"
	    "port by default, from the hypervisor, so it works while the guest\n"
	    "boots or when its agent is dead.  GUEST is a name, a UUID or the\n"
	    "CID of a running guest.  On a terminal: raw mode, ^] detaches.\n"
	    "Otherwise stdin goes in as it is; once it ends, output is printed\n"
	    "until it pauses for --idle seconds (1), or, with --idle forever,\n"
	    "until the console closes.  One client at a time: while another\n"
	    "(guest serial, guest launch, virsh console) holds it, guest serial\n"
	    "refuses; --force takes it over, and the other one is told.\n"
	    "\n"
	    "Options:\n"
	    "  -d, --device NAME   another serial or console device, by its\n"
	    "                      alias (serial0, console1, as virsh dumpxml\n"
	    "                      shows them)\n"
	    "  -f, --force         take the console from whoever holds it\n"
	    "  --idle SECONDS      see above (1; or forever)\n"
	    "\n"
	    "Exit status: 0 when detached or the VM stopped, 1 when the console\n"
	    "is held by another client or was taken over, 130 on SIGINT, SIGTERM\n"
	    "or SIGHUP, 255 for other failures.\n",
	.exec = cmd_serial,
	.opts = serial_opts,
	.operands = "target",
};
