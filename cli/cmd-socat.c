/*
 * guest socat ENV GUEST PORT: stdin to a vsock port in the guest and the
 * port to stdout, as Fuchsia's "guest socat".  No agent is involved.
 */
#include <stdio.h>
#include <unistd.h>

#include "guest.h"
#include "guest/relay.h"

static int
cmd_socat(struct cli *cli, const struct cmd_entry *c, int argc, char **argv)
{
	struct guest_error e = { 0 };
	struct guest_target t;
	int ch, fd, npos;

	if ((ch = cli_no_options(c, argc, argv)) >= 0)
		return ch;
	npos = argc - optind;
	if (cli->connect == NULL && npos != 3) {
		cli_error(c, "give ENV GUEST PORT (or -C ADDR)");
		return EXIT_USAGE;
	}
	if ((ch = cli_target(cli, c, npos, argv + optind, &t)) < 0)
		return ch == CLI_TARGET_USAGE ? EXIT_USAGE : 1;
	if (guest_connect(&t.addr, cli->connect_ms, NULL, &fd, &e) < 0) {
		cli_error(c, "%s", e.msg);
		return 1;
	}
	if (guest_relay(fd, STDIN_FILENO, STDOUT_FILENO, &e) < 0) {
		cli_error(c, "%s", e.msg);
		close(fd);
		return 1;
	}
	close(fd);
	return 0;
}

const struct cmd_entry cmd_socat_entry = {
	.name = "socat",
	.usage = "[ENV GUEST PORT]",
	.summary = "Connect stdin and stdout to a vsock port in a guest",
	.help =
	    "Relays stdin to the port and the port to stdout.  End of stdin\n"
	    "shuts down the sending side only; output goes on until the guest\n"
	    "closes.  Exit status 0 on a clean end, 1 on an error.  With -C,\n"
	    "any address: unix:PATH, hvsock:PATH:PORT.\n",
	.exec = cmd_socat,
	.operands = "target",
};
