/*
 * guest list [ENV] [--all] [--json] [--cached]: the guests libvirt runs in
 * each environment, with their vsock CIDs, refreshed into the inventory.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guest.h"
#include "guest/inventory.h"

#define EXIT_STALE	3	/* shown from the cache: libvirt unreachable */

static const char *
local_time(int64_t ms, char *buf, size_t n)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	strftime(buf, n, "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
	return buf;
}

static bool
shown(const struct guest_record *g, bool all)
{
	return all || g->vm.active;
}

static void
print_env_line(const struct guest_env *env)
{
	char name[256], uri[1024];

	printf("env:%u%s%s%s %s\n", env->id, env->name ? " (" : "",
	    env->name ? cli_safe(env->name, name, sizeof name) : "",
	    env->name ? ")" : "", cli_safe(env->uri, uri, sizeof uri));
}

static void
print_table(const struct guest_env *env, const struct guest_record *g,
    size_t n, bool all)
{
	char cid[24], name[1024];
	int wc = 1, wn = 1, len;
	size_t i;

	print_env_line(env);
	for (i = 0; i < n; i++) {
		if (!shown(&g[i], all))
			continue;
		len = snprintf(cid, sizeof cid, "%" PRId64, g[i].vm.cid);
		if (g[i].vm.cid >= 0 && len > wc)
			wc = len;
		len = (int)strlen(cli_safe(g[i].vm.name, name, sizeof name));
		if (len > wn)
			wn = len;
	}
	for (i = 0; i < n; i++) {
		if (!shown(&g[i], all))
			continue;
		if (g[i].vm.cid >= 0)
			snprintf(cid, sizeof cid, "%" PRId64, g[i].vm.cid);
		else
			snprintf(cid, sizeof cid, "-");
		printf("  %*s  %-*s  %s\n", wc, cid, wn,
		    cli_safe(g[i].vm.name, name, sizeof name), g[i].vm.state);
	}
}

/* One environment of guest list --json, with its guests. */
static json_object *
json_env(const struct guest_env *env, const char *error,
    const struct guest_record *g, size_t n, bool all)
{
	json_object *o = cli_json_env(env), *a, *r;
	size_t i;

	json_object_object_add(o, "stale", json_object_new_boolean(error !=
	    NULL));
	json_object_object_add(o, "error", cli_json_str(error));
	a = json_object_new_array();
	for (i = 0; i < n; i++) {
		if (!shown(&g[i], all))
			continue;
		r = json_object_new_object();
		json_object_object_add(r, "name", cli_json_str(g[i].vm.name));
		json_object_object_add(r, "uuid", cli_json_str(g[i].vm.uuid));
		json_object_object_add(r, "cid", g[i].vm.cid >= 0 ?
		    json_object_new_int64(g[i].vm.cid) : NULL);
		/* Known only for what runs: a shut-off domain's XML is not
		 * read. */
		json_object_object_add(r, "vsock", g[i].vm.active ?
		    json_object_new_boolean(g[i].vm.has_vsock) : NULL);
		json_object_object_add(r, "state", cli_json_str(g[i].vm.state));
		json_object_object_add(r, "active",
		    json_object_new_boolean(g[i].vm.active));
		json_object_object_add(r, "id", g[i].vm.active ?
		    json_object_new_int(g[i].vm.id) : NULL);
		json_object_object_add(r, "first_seen",
		    cli_json_time(g[i].first_seen));
		json_object_object_add(r, "last_seen",
		    cli_json_time(g[i].last_seen));
		json_object_array_add(a, r);
	}
	json_object_object_add(o, "guests", a);
	return o;
}

static const struct option list_opts[] = {
	{ "all",	no_argument,	NULL, 'a' },
	{ "json",	no_argument,	NULL, 'j' },
	{ "cached",	no_argument,	NULL, 'c' },
	{ "help",	no_argument,	NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static int
cmd_list(struct cli *cli, const struct cmd_entry *c, int argc, char **argv)
{
	struct guest_inventory *inv = NULL;
	struct guest_env *envs = NULL;
	struct guest_record *g;
	struct guest_error e;
	const struct guest_env *one = NULL;
	char path[4096], when[32], uri[1024], (*errors)[GUEST_ERROR_MAX] = NULL;
	size_t nenvs = 0, ng, i;
	json_object *doc = NULL, *jenvs = NULL;
	bool all = false, json = false, cached = false;
	int ch, r, rc = 0;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "ajch", list_opts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			all = true;
			break;
		case 'j':
			json = true;
			break;
		case 'c':
			cached = true;
			break;
		case 'h':
			cmd_usage(c, stdout);
			return 0;
		default:
			cmd_usage(c, stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		cli_error(c, "unexpected argument '%s'", argv[optind + 1]);
		return EXIT_USAGE;
	}
	if (guest_inventory_path(cli->inventory, path, sizeof path, &e) < 0) {
		cli_error(c, "%s", e.msg);
		return 1;
	}
	r = guest_inventory_open(path, cached ? GUEST_INV_READONLY : 0, &inv,
	    &e);
	if (r == -ENOENT && cached)
		inv = NULL;		/* nothing stored yet: the default */
	else if (r < 0) {
		cli_error(c, "%s", e.msg);
		rc = 1;
		goto out;
	}
	if (guest_inventory_envs(inv, &envs, &nenvs, &e) < 0) {
		cli_error(c, "%s", e.msg);
		rc = 1;
		goto out;
	}
	if (optind < argc &&
	    (one = guest_env_find(envs, nenvs, argv[optind])) == NULL) {
		cli_error(c, "no environment '%s' (see guest env list)",
		    argv[optind]);
		rc = 1;
		goto out;
	}
	if ((errors = calloc(nenvs, sizeof *errors)) == NULL) {
		cli_error(c, "out of memory");
		rc = 1;
		goto out;
	}
	/* Ask libvirt, then read back what is stored (fresh or not). */
	for (i = 0; i < nenvs && !cached; i++) {
		size_t fetched = 0;

		if (one != NULL && one != &envs[i])
			continue;
		if (guest_inventory_refresh(inv, &envs[i], &fetched, &e) < 0)
			snprintf(errors[i], sizeof errors[i], "%s", e.msg);
		else if (cli->verbose)
			fprintf(stderr, "guest: list: env:%u: refreshed, domain "
			    "XML fetched for %zu\n", envs[i].id, fetched);
	}
	if (!cached) {
		uint32_t want = one != NULL ? one->id : 0;
		struct guest_env *fresh;
		size_t nfresh;

		if (guest_inventory_envs(inv, &fresh, &nfresh, &e) < 0) {
			cli_error(c, "%s", e.msg);
			rc = 1;
			goto out;
		}
		/* Same environments, in the same order: nothing is added
		 * by a refresh. */
		if (nfresh == nenvs) {
			guest_env_list_free(envs, nenvs);
			envs = fresh;
			if (one != NULL) {
				for (i = 0, one = NULL; i < nenvs; i++)
					if (envs[i].id == want)
						one = &envs[i];
				if (one == NULL) {
					cli_error(c, "env %u went away", want);
					rc = 1;
					goto out;
				}
			}
		} else
			guest_env_list_free(fresh, nfresh);
	}
	if (json) {
		doc = cli_json_doc();
		jenvs = json_object_new_array();
		json_object_object_add(doc, "environments", jenvs);
	}
	for (i = 0; i < nenvs; i++) {
		const struct guest_env *env = &envs[i];

		if (one != NULL && one != env)
			continue;
		g = NULL;
		ng = 0;
		if (inv != NULL && env->refreshed != 0 &&
		    guest_inventory_guests(inv, env->id, &g, &ng, &e) < 0) {
			cli_error(c, "%s", e.msg);
			rc = 1;
			continue;
		}
		if (errors[i][0] != '\0') {
			if (env->refreshed > 0)
				fprintf(stderr, "guest: list: warning: env:%u %s "
				    "is stale since %s: %s\n", env->id,
				    cli_safe(env->uri, uri, sizeof uri),
				    local_time(env->refreshed, when,
				    sizeof when), errors[i]);
			else
				fprintf(stderr, "guest: list: warning: env:%u %s:"
				    " nothing cached yet: %s\n", env->id,
				    cli_safe(env->uri, uri, sizeof uri),
				    errors[i]);
			if (rc == 0)
				rc = EXIT_STALE;
		}
		if (json)
			json_object_array_add(jenvs, json_env(env,
			    errors[i][0] ? errors[i] : NULL, g, ng, all));
		else
			print_table(env, g, ng, all);
		guest_record_list_free(g, ng);
	}
	if (json) {
		if (cli_json_print(doc, false) < 0)
			rc = 1;
		doc = NULL;
	}
out:
	json_object_put(doc);
	free(errors);
	guest_env_list_free(envs, nenvs);
	guest_inventory_close(inv);
	return rc;
}

const struct cmd_entry cmd_list_entry = {
	.name = "list",
	.usage = "[ENV] [--all] [--json] [--cached]",
	.summary = "List the guests libvirt runs, with their vsock CIDs",
	.help =
	    "Asks libvirt for the domains of every environment (or of ENV),\n"
	    "remembers them in the inventory and prints, for each environment,\n"
	    "an env:N URI line and one line per running guest: CID (- without\n"
	    "a vsock device), name, state.  When libvirt cannot be reached the\n"
	    "cached inventory is printed with a warning and the exit status\n"
	    "is 3.\n"
	    "\n"
	    "Options:\n"
	    "  -a, --all       also the domains that are not running\n"
	    "  -j, --json      JSON for scripts (schema in guest(1))\n"
	    "  -c, --cached    print the inventory without asking libvirt\n",
	.exec = cmd_list,
	.opts = list_opts,
	.operands = "env",
};
