/*
 * guest env [list [--json] | add URI [--name NAME] [--transport TEMPLATE]
 *            | remove ENV]: the environments guests are found in.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest.h"
#include "guest/inventory.h"

static int
open_store(struct cli *cli, const struct cmd_entry *c, int flags,
    struct guest_inventory **inv)
{
	struct guest_error e;
	char path[4096];
	int r;

	if (guest_inventory_path(cli->inventory, path, sizeof path, &e) < 0 ||
	    (r = guest_inventory_open(path, flags, inv, &e)) < 0) {
		if ((flags & GUEST_INV_READONLY) && e.code == -ENOENT) {
			*inv = NULL;
			return 0;
		}
		cli_error(c, "%s", e.msg);
		return -1;
	}
	return 0;
}

static const struct option env_list_opts[] = {
	{ "json",	no_argument,	NULL, 'j' },
	{ "help",	no_argument,	NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static int
env_list(struct cli *cli, const struct cmd_entry *c, int argc, char **argv)
{
	struct guest_inventory *inv;
	struct guest_env *envs = NULL;
	struct guest_error e;
	char name[256], uri[1024], tr[1024];
	size_t n = 0, i;
	int ch, wn = 4, wu = 3, len, rc = 0;
	bool json = false;

	if ((ch = cli_json_only(c, env_list_opts, argc, argv, &json)) >= 0)
		return ch;
	if (optind < argc) {
		cli_error(c, "unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (open_store(cli, c, GUEST_INV_READONLY, &inv) < 0)
		return 1;
	if (guest_inventory_envs(inv, &envs, &n, &e) < 0) {
		cli_error(c, "%s", e.msg);
		guest_inventory_close(inv);
		return 1;
	}
	if (json) {
		json_object *doc = cli_json_doc(), *a = json_object_new_array();

		json_object_object_add(doc, "environments", a);
		for (i = 0; i < n; i++)
			json_object_array_add(a, cli_json_env(&envs[i]));
		if (cli_json_print(doc, false) < 0)
			rc = 1;
	} else {
		for (i = 0; i < n; i++) {
			len = (int)strlen(cli_safe(envs[i].name ? envs[i].name :
			    "-", name, sizeof name));
			wn = len > wn ? len : wn;
			len = (int)strlen(cli_safe(envs[i].uri, uri,
			    sizeof uri));
			wu = len > wu ? len : wu;
		}
		printf("ENV  %-*s  %-*s  TRANSPORT\n", wn, "NAME", wu, "URI");
		for (i = 0; i < n; i++)
			printf("%-3u  %-*s  %-*s  %s%s\n", envs[i].id, wn,
			    cli_safe(envs[i].name ? envs[i].name : "-", name,
			    sizeof name), wu, cli_safe(envs[i].uri, uri,
			    sizeof uri), cli_safe(envs[i].transport, tr,
			    sizeof tr), envs[i].implicit ? "  (default)" : "");
	}
	guest_env_list_free(envs, n);
	guest_inventory_close(inv);
	return rc;
}

static const struct option env_add_opts[] = {
	{ "name",	required_argument,	NULL, 'n' },
	{ "transport",	required_argument,	NULL, 't' },
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static int
env_add(struct cli *cli, const struct cmd_entry *c, int argc, char **argv)
{
	struct guest_inventory *inv;
	struct guest_env *envs = NULL;
	struct guest_error e;
	const struct guest_env *env;
	const char *name = NULL, *transport = NULL;
	char idstr[16], uri[1024];
	size_t n = 0;
	uint32_t id;
	int ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "n:t:h", env_add_opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			name = optarg;
			break;
		case 't':
			transport = optarg;
			break;
		case 'h':
			cmd_usage(c, stdout);
			return 0;
		default:
			cmd_usage(c, stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		cli_error(c, argc - optind == 0 ? "add: which libvirt URI?" :
		    "add: one URI only");
		return EXIT_USAGE;
	}
	if (strchr(argv[optind], ':') == NULL) {
		cli_error(c, "add: '%s' is not a libvirt URI (such as "
		    "qemu:///system or qemu+ssh://host/system)",
		    cli_safe(argv[optind], uri, sizeof uri));
		return EXIT_USAGE;
	}
	if (transport != NULL && guest_template_check(transport, &e) < 0) {
		cli_error(c, "%s", e.msg);
		return EXIT_USAGE;
	}
	if (open_store(cli, c, 0, &inv) < 0)
		return 1;
	if (guest_inventory_env_add(inv, argv[optind], name, transport, &id,
	    &e) < 0) {
		cli_error(c, "%s", e.msg);
		guest_inventory_close(inv);
		return e.code == -EINVAL ? EXIT_USAGE : 1;
	}
	printf("env:%u %s\n", id, cli_safe(argv[optind], uri, sizeof uri));
	/* Learn its guests now; an unreachable one is still added. */
	snprintf(idstr, sizeof idstr, "%u", id);
	if (guest_inventory_envs(inv, &envs, &n, &e) == 0 &&
	    (env = guest_env_find(envs, n, idstr)) != NULL &&
	    guest_inventory_refresh(inv, env, NULL, &e) < 0)
		fprintf(stderr, "guest: env: warning: added, but %s\n", e.msg);
	guest_env_list_free(envs, n);
	guest_inventory_close(inv);
	return 0;
}

static int
env_remove(struct cli *cli, const struct cmd_entry *c, int argc, char **argv)
{
	struct guest_inventory *inv;
	struct guest_env *envs = NULL;
	struct guest_error e;
	const struct guest_env *env;
	char spec[256];
	size_t n = 0;
	int ch, rc = 0;

	if ((ch = cli_no_options(c, argc, argv)) >= 0)
		return ch;
	if (argc - optind != 1) {
		cli_error(c, "remove: which environment?");
		return EXIT_USAGE;
	}
	if (open_store(cli, c, 0, &inv) < 0)
		return 1;
	if (guest_inventory_envs(inv, &envs, &n, &e) < 0) {
		cli_error(c, "%s", e.msg);
		rc = 1;
	} else if ((env = guest_env_find(envs, n, argv[optind])) == NULL) {
		cli_error(c, "remove: no environment '%s'",
		    cli_safe(argv[optind], spec, sizeof spec));
		rc = 1;
	} else if (env->implicit) {
		cli_error(c, "remove: env %u is the default (%s), not one that "
		    "was added", env->id, env->uri);
		rc = 1;
	} else if (guest_inventory_env_remove(inv, env->id, &e) < 0) {
		cli_error(c, "%s", e.msg);
		rc = 1;
	}
	guest_env_list_free(envs, n);
	guest_inventory_close(inv);
	return rc;
}

static int
cmd_env(struct cli *cli, const struct cmd_entry *c, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "list";

	if (argc > 1 && (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0)) {
		cmd_usage(c, stdout);
		return 0;
	}
	if (argc > 1 && sub[0] == '-')
		sub = "list";
	else if (argc > 1) {
		argc--;
		argv++;
	}
	if (strcmp(sub, "list") == 0 || strcmp(sub, "ls") == 0)
		return env_list(cli, c, argc, argv);
	if (strcmp(sub, "add") == 0)
		return env_add(cli, c, argc, argv);
	if (strcmp(sub, "remove") == 0 || strcmp(sub, "rm") == 0)
		return env_remove(cli, c, argc, argv);
	cli_error(c, "no subcommand '%s' (list, add or remove)", sub);
	return EXIT_USAGE;
}

static const struct cmd_sub env_subs[] = {
	{ "list",	env_list_opts,	NULL },
	{ "add",	env_add_opts,	NULL },
	{ "remove",	NULL,		"env" },
	{ NULL, NULL, NULL }
};

const struct cmd_entry cmd_env_entry = {
	.name = "env",
	.usage = "[list [--json] | add URI [--name NAME] [--transport TEMPLATE] "
	    "| remove ENV]",
	.summary = "List, add and remove environments (libvirt URIs)",
	.help =
	    "An environment is a libvirt URI and a transport template that\n"
	    "turns a guest into an address.  With none added, env 0 is\n"
	    "$LIBVIRT_DEFAULT_URI, else qemu:///system; the first one added\n"
	    "becomes env 0.  ENV is the number or the name.\n"
	    "\n"
	    "Template escapes: %c CID, %p port, %n domain name, %u UUID, %%.\n"
	    "  vsock:%c:%p                  (the default) the host's vsock\n"
	    "  unix:/run/agents/%n.sock     an agent socket per domain\n"
	    "  hvsock:/srv/fc/%n.vsock:%p   Firecracker/Cloud Hypervisor\n"
	    "\n"
	    "Options of add:\n"
	    "  -n, --name NAME        a name to use instead of the number\n"
	    "  -t, --transport TMPL   how to reach its guests\n",
	.exec = cmd_env,
	.subs = env_subs,
};
