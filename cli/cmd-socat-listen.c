/*
 * guest socat-listen ENV PORT: accept one connection on a host vsock port
 * and relay it to stdin and stdout, as Fuchsia's "guest socat-listen".
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include "guest.h"
#include "guest/relay.h"

#define MAX_ALLOW 64

/* Where to listen: from -C (unix:PATH as is, hvsock:PATH:PORT as
 * unix:PATH_PORT, Firecracker's convention for connections the guest
 * makes, vsock:CID:PORT as vsock:PORT), or from ENV PORT through the
 * environment's transport: vsock:PORT, or for a hybrid-vsock environment
 * whose template names one socket, its PATH_PORT. */
static int
listen_addr(struct cli *cli, const struct cmd_entry *c, int npos, char **pos,
    struct guest_addr *a)
{
	struct guest_error e;
	struct guest_env env;
	char spec[GUEST_ADDR_STR_MAX];
	uint32_t port;
	int n;

	if (cli->connect != NULL) {
		if (npos > 0) {
			cli_error(c, "'%s': ENV and PORT do not go with "
			    "--connect", pos[0]);
			return CLI_TARGET_USAGE;
		}
		snprintf(spec, sizeof spec, "%s", cli->connect);
	} else {
		if (npos != 2) {
			cli_error(c, "give ENV PORT, or -C ADDR");
			return CLI_TARGET_USAGE;
		}
		if (cli_parse_num(pos[1], &port) < 0 || port == 0xffffffffu) {
			cli_error(c, "'%s' is not a port", pos[1]);
			return CLI_TARGET_USAGE;
		}
		if (guest_target_env(cli->inventory, pos[0], &env, &e) < 0) {
			cli_error(c, "%s", e.msg);
			return CLI_TARGET_FAILED;
		}
		if (strncmp(env.transport, "vsock:", 6) == 0)
			snprintf(spec, sizeof spec, "vsock:%" PRIu32, port);
		else if (strncmp(env.transport, "hvsock:", 7) != 0 ||
		    guest_template_expand(env.transport, GUEST_NO_CID, port,
		    NULL, NULL, spec, sizeof spec, &e) < 0) {
			cli_error(c, "env %u reaches its guests through %s: "
			    "say which socket to listen on with -C", env.id,
			    env.transport);
			guest_env_clear(&env);
			return CLI_TARGET_FAILED;
		}
		guest_env_clear(&env);
	}
	if (guest_addr_parse(spec, 0, a, NULL) < 0 &&
	    guest_addr_parse(spec, GUEST_ADDR_LISTEN, a, &e) < 0) {
		cli_error(c, "%s", e.msg);
		return CLI_TARGET_USAGE;
	}
	if (a->kind == GUEST_ADDR_HVSOCK) {
		n = snprintf(NULL, 0, "%s_%" PRIu32, a->path, a->port);
		if (n >= GUEST_ADDR_PATH_MAX) {
			cli_error(c, "%s_%" PRIu32 ": path too long",
			    a->path, a->port);
			return CLI_TARGET_USAGE;
		}
		snprintf(a->path + strlen(a->path),
		    GUEST_ADDR_PATH_MAX - strlen(a->path), "_%" PRIu32,
		    a->port);
		a->kind = GUEST_ADDR_UNIX;
	} else if (a->kind == GUEST_ADDR_VSOCK)
		a->cid = GUEST_CID_ANY;
	return 0;
}

static void
describe(const struct sockaddr_storage *ss, char *buf, size_t n)
{
	const struct sockaddr_vm *vm = (const struct sockaddr_vm *)ss;

	if (ss->ss_family == AF_VSOCK)
		snprintf(buf, n, "vsock CID %" PRIu32 " port %" PRIu32,
		    vm->svm_cid, vm->svm_port);
	else
		snprintf(buf, n, "a unix peer");
}

static const struct option socat_listen_opts[] = {
	{ "allow-cid",	required_argument,	NULL, 'a' },
	{ "verbose",	no_argument,		NULL, 'v' },
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static int
cmd_socat_listen(struct cli *cli, const struct cmd_entry *c, int argc,
    char **argv)
{
	uint32_t allow[MAX_ALLOW];
	size_t n_allow = 0, i;
	struct sockaddr_storage ss;
	struct guest_error e = { 0 };
	struct guest_addr a;
	struct pollfd p;
	socklen_t sl;
	char who[96], s[GUEST_ADDR_STR_MAX];
	uint32_t cid;
	int ch, lfd, fd = -1, verbose = cli->verbose, r;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "a:vh", socat_listen_opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'a':
			if (cli_parse_num(optarg, &cid) < 0 ||
			    cid == GUEST_CID_ANY || n_allow == MAX_ALLOW) {
				cli_error(c, "--allow-cid %s: not a CID",
				    optarg);
				return EXIT_USAGE;
			}
			allow[n_allow++] = cid;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			cmd_usage(c, stdout);
			return 0;
		default:
			cmd_usage(c, stderr);
			return EXIT_USAGE;
		}
	}
	if ((r = listen_addr(cli, c, argc - optind, argv + optind, &a)) < 0)
		return r == CLI_TARGET_USAGE ? EXIT_USAGE : 1;
	if (guest_listen(&a, &lfd, &e) < 0) {
		cli_error(c, "%s", e.msg);
		return 1;
	}
	if (verbose)
		fprintf(stderr, "guest: socat-listen: listening on %s\n",
		    guest_addr_format(&a, s, sizeof s));
	/* Exactly one connection is relayed; refused peers do not count. */
	while (fd < 0) {
		p.fd = lfd;
		p.events = POLLIN;
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			break;
		sl = sizeof ss;
		memset(&ss, 0, sizeof ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		describe(&ss, who, sizeof who);
		if (n_allow > 0 && ss.ss_family == AF_VSOCK) {
			uint32_t peer = ((struct sockaddr_vm *)&ss)->svm_cid;

			for (i = 0; i < n_allow && allow[i] != peer; i++)
				;
			if (i == n_allow) {
				fprintf(stderr, "guest: socat-listen: refused "
				    "%s (not in --allow-cid)\n", who);
				close(fd);
				fd = -1;
				continue;
			}
		}
		if (verbose)
			fprintf(stderr, "guest: socat-listen: connection from "
			    "%s\n", who);
	}
	close(lfd);
	if (a.kind == GUEST_ADDR_UNIX)
		unlink(a.path);
	if (fd < 0) {
		cli_error(c, "accept: %s", strerror(errno));
		return 1;
	}
	r = guest_relay(fd, STDIN_FILENO, STDOUT_FILENO, &e);
	close(fd);
	if (r < 0) {
		cli_error(c, "%s", e.msg);
		return 1;
	}
	return 0;
}

const struct cmd_entry cmd_socat_listen_entry = {
	.name = "socat-listen",
	.usage = "[ENV PORT] [-v] [--allow-cid CID]...",
	.summary = "Accept one vsock connection from a guest and relay it",
	.help =
	    "Listens on the host's vsock PORT, accepts one connection, relays\n"
	    "it to stdin and stdout as guest socat does, and exits (0 on a\n"
	    "clean end, 1 on an error, such as the port being in use).\n"
	    "\n"
	    "Options:\n"
	    "  -v, --verbose      say who connected\n"
	    "  --allow-cid CID    accept only these CIDs (repeatable)\n"
	    "\n"
	    "With -C: unix:PATH listens there; hvsock:PATH:PORT listens on the\n"
	    "Unix socket PATH_PORT, where Firecracker and Cloud Hypervisor\n"
	    "deliver connections the guest makes to host port PORT.\n",
	.exec = cmd_socat_listen,
	.opts = socat_listen_opts,
	.operands = "env",
};
