/*
 * The command table, help generated from it, and target resolution.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "guest.h"
#include "guest/pin.h"
#include "guest/proto.h"

const struct cmd_entry *const cmd_table[] = {
	&cmd_list_entry,
	&cmd_env_entry,
	&cmd_vsh_entry,
	&cmd_cp_entry,
	&cmd_console_entry,
	&cmd_launch_entry,
	&cmd_serial_entry,
	&cmd_stop_entry,
	&cmd_balloon_entry,
	&cmd_balloon_stats_entry,
	&cmd_info_entry,
	&cmd_socat_entry,
	&cmd_socat_listen_entry,
	&cmd_forget_entry,
	&cmd_completion_entry,
	&cmd_complete_entry,
	NULL
};

const struct cmd_entry *
cmd_find(const char *name)
{
	size_t i;

	for (i = 0; cmd_table[i] != NULL; i++)
		if (strcmp(cmd_table[i]->name, name) == 0)
			return cmd_table[i];
	return NULL;
}

void
cmd_usage(const struct cmd_entry *c, FILE *f)
{
	fprintf(f, "usage: guest [-C ADDR] %s %s\n\n%s\n", c->name, c->usage,
	    c->summary);
	if (c->help != NULL && *c->help != '\0')
		fprintf(f, "\n%s", c->help);
}

void
cli_help(FILE *f)
{
	size_t i;

	fprintf(f,
	    "usage: guest [-C ADDR] [-i KEY] [--inventory PATH] [-v] COMMAND "
	    "[ARGS...]\n"
	    "       guest help [COMMAND]\n"
	    "\n"
	    "Reach into virtual machines over vsock, without networking in "
	    "them.\n"
	    "\n"
	    "Commands:\n");
	for (i = 0; cmd_table[i] != NULL; i++)
		if (!cmd_table[i]->hidden)
			fprintf(f, "  %-13s %s\n", cmd_table[i]->name,
			    cmd_table[i]->summary);
	fprintf(f,
	    "\n"
	    "Global options:\n"
	    "  -C, --connect ADDR  talk to the agent at ADDR instead of "
	    "ENV GUEST:\n"
	    "                      vsock:CID:PORT, unix:PATH, hvsock:PATH:PORT\n"
	    "  -i, --identity KEY  sign in with this Ed25519 key (a private key\n"
	    "                      file, or its .pub if ssh-agent holds it);\n"
	    "                      default: ssh-agent's keys, ~/.ssh/id_ed25519\n"
	    "  --inventory PATH    the inventory (default "
	    "$XDG_STATE_HOME/guest/\n"
	    "                      inventory.db, or $GUEST_INVENTORY)\n"
	    "  --connect-timeout SECONDS\n"
	    "                      give up connecting after this long (default 10)\n"
	    "  -v, --verbose       say more\n"
	    "  -V, --version       print the version\n"
	    "  -h, --help          this help\n");
}

void
cli_error(const struct cmd_entry *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "guest: ");
	if (c != NULL)
		fprintf(stderr, "%s: ", c->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
cli_parse_num(const char *s, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end != '\0' || v > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* --help, and --json ('j') when json is not NULL: -1 to go on, else the
 * status to return. */
static int
simple_options(const struct cmd_entry *c, const struct option *opts,
    int argc, char **argv, bool *json)
{
	int ch;

	optind = 0;	/* 0: full reset, main parsed with "+" */
	while ((ch = getopt_long(argc, argv, json != NULL ? "jh" : "h", opts,
	    NULL)) != -1) {
		if (ch == 'j' && json != NULL) {
			*json = true;
			continue;
		}
		if (ch == 'h') {
			cmd_usage(c, stdout);
			return 0;
		}
		cmd_usage(c, stderr);
		return EXIT_USAGE;
	}
	return -1;
}

int
cli_no_options(const struct cmd_entry *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};

	return simple_options(c, opts, argc, argv, NULL);
}

int
cli_json_only(const struct cmd_entry *c, const struct option *opts, int argc,
    char **argv, bool *json)
{
	*json = false;
	return simple_options(c, opts, argc, argv, json);
}

int
cli_target(struct cli *cli, const struct cmd_entry *c, int npos, char **pos,
    struct guest_target *t)
{
	uint32_t port = GUEST_PORT_DEFAULT;

	if (cli->connect == NULL && npos > 3) {
		cli_error(c, "unexpected argument '%s' (a command goes after "
		    "--)", pos[3]);
		return CLI_TARGET_USAGE;
	}
	if (cli->connect == NULL && npos == 3 &&
	    (cli_parse_num(pos[2], &port) < 0 || port == 0xffffffffu)) {
		cli_error(c, "'%s' is not a port", pos[2]);
		return CLI_TARGET_USAGE;
	}
	return cli_target_port(cli, c, npos < 3 ? npos : 2, pos, port, t);
}

int
cli_target_port(struct cli *cli, const struct cmd_entry *c, int npos,
    char **pos, uint32_t port, struct guest_target *t)
{
	struct guest_error e;
	char s[GUEST_ADDR_STR_MAX];

	memset(t, 0, sizeof *t);
	t->cid = GUEST_NO_CID;
	if (cli->connect != NULL) {
		if (npos > 0) {
			cli_error(c, "'%s': ENV and GUEST do not go with "
			    "--connect", pos[0]);
			return CLI_TARGET_USAGE;
		}
		if (guest_addr_parse(cli->connect, 0, &t->addr, &e) < 0) {
			cli_error(c, "%s", e.msg);
			return CLI_TARGET_USAGE;
		}
		return 0;
	}
	if (npos > 2) {
		cli_error(c, "unexpected argument '%s'", pos[2]);
		return CLI_TARGET_USAGE;
	}
	if (guest_target_resolve(cli->inventory, npos > 0 ? pos[0] : NULL,
	    npos > 1 ? pos[1] : NULL, port, t, &e) < 0) {
		cli_error(c, "%s", e.msg);
		return CLI_TARGET_FAILED;
	}
	if (cli->verbose && t->known)
		fprintf(stderr, "guest: %s: %s is env %u guest %s (%s)\n",
		    c->name, guest_addr_format(&t->addr, s, sizeof s), t->env,
		    t->name, t->uuid);
	return 0;
}

int
cli_domain(struct cli *cli, const struct cmd_entry *c, int npos, char **pos,
    struct guest_domain_ref *ref)
{
	struct guest_error e;

	if (cli->connect != NULL) {
		cli_error(c, "-C does not go with %s: it acts on the VM "
		    "through libvirt, not on an agent", c->name);
		return EXIT_USAGE;
	}
	if (npos < 1 || npos > 2) {
		if (npos > 2)
			cli_error(c, "unexpected argument '%s'", pos[2]);
		else
			cli_error(c, "which guest? (guest %s [ENV] GUEST)",
			    c->name);
		return EXIT_USAGE;
	}
	if (guest_target_domain(cli->inventory, npos == 2 ? pos[0] : NULL,
	    pos[npos - 1], ref, &e) < 0) {
		cli_error(c, "%s", e.msg);
		return EXIT_LOCAL;
	}
	if (!ref->active) {
		cli_error(c, "%s is %s (env %u)", ref->name, ref->state,
		    ref->env.id);
		guest_env_clear(&ref->env);
		return EXIT_LOCAL;
	}
	return 0;
}

int
cli_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

const char *
cli_kib(uint64_t kib, char *buf, size_t n)
{
	if (kib >= 1024 * 1024 && kib % (1024 * 1024) == 0)
		snprintf(buf, n, "%" PRIu64 " GiB", kib / (1024 * 1024));
	else if (kib >= 1024 * 1024)
		snprintf(buf, n, "%.2f GiB", (double)kib / (1024 * 1024));
	else if (kib >= 1024 && kib % 1024 == 0)
		snprintf(buf, n, "%" PRIu64 " MiB", kib / 1024);
	else if (kib >= 1024)
		snprintf(buf, n, "%.1f MiB", (double)kib / 1024);
	else
		snprintf(buf, n, "%" PRIu64 " KiB", kib);
	return buf;
}

int
cli_parse_seconds(const char *s, double max, int *ms)
{
	double secs;
	char *end;

	errno = 0;
	secs = strtod(s, &end);
	if (*end != '\0' || end == s || errno != 0 || !(secs > 0) ||
	    secs > max)
		return -EINVAL;
	*ms = (int)(secs * 1000 + 0.5);
	if (*ms == 0)
		*ms = 1;
	return 0;
}

static int
check_hello(const struct guest_agent_hello *h, void *arg,
    struct guest_error *e)
{
	struct cli *cli = arg;
	const struct guest_target *t = cli->target;
	char path[4096], name[GUEST_ADDR_STR_MAX + 8], fp[GUEST_FP_MAX];
	int r;

	if ((r = guest_target_check(t, h->vm_uuid, e)) < 0)
		return r;
	guest_pin_name(t, name, sizeof name);
	if ((r = guest_pin_path(cli->inventory, path, sizeof path, e)) < 0)
		return r;
	r = guest_pin_check(path, name, h->host_key, e);
	if (r == -EKEYREJECTED) {
		char how[300], msg[GUEST_ERROR_MAX];

		if (cli->connect != NULL)
			snprintf(how, sizeof how, "guest -C %s forget",
			    cli->connect);
		else if (t->known)
			snprintf(how, sizeof how, "guest forget %u %s", t->env,
			    t->name);
		else
			snprintf(how, sizeof how, "guest forget %u %" PRId64
			    "%s%.0" PRIu32, t->env, t->cid,
			    t->addr.port != GUEST_PORT_DEFAULT ? " " : "",
			    t->addr.port != GUEST_PORT_DEFAULT ?
			    t->addr.port : 0);
		snprintf(msg, sizeof msg, "%s", e->msg);
		return guest_error_set(e, r, "%s: %s; if its key changed on "
		    "purpose, run: %s", name, msg, how);
	}
	if (r < 0)
		return guest_error_prefix(e, "pinning the agent's key: ");
	if (r == 1)
		fprintf(stderr, "guest: pinned the host key of the agent of %s "
		    "(%s): %s %s\n", name, h->hostname[0] ? h->hostname : "?",
		    GUEST_KEY_TYPE, guest_key_fingerprint(h->host_key, fp));
	return 0;
}

void
cli_client(struct cli *cli, const struct guest_target *t,
    struct guest_client *out)
{
	cli->target = t;
	out->connect_ms = cli->connect_ms;
	out->identity = cli->identity;
	out->check = check_hello;
	out->check_arg = cli;
}

const char *
cli_safe(const char *s, char *buf, size_t n)
{
	size_t o = 0;
	unsigned char ch;

	for (; *s != '\0' && o + 5 < n; s++) {
		ch = (unsigned char)*s;
		if (ch < 0x20 || ch == 0x7f || ch == '\\')
			o += (size_t)snprintf(buf + o, n - o, ch == '\\' ?
			    "\\\\" : "\\x%02x", ch);
		else
			buf[o++] = (char)ch;
	}
	buf[o] = '\0';
	return buf;
}
