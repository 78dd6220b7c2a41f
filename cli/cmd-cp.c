/*
 * guest cp [-r] [-p] [-a] [-q] [--parents] SRC... DEST: copy files and
 * trees between the host and a guest, either way.  A remote operand is
 * GUEST:PATH (GUEST is ENV/GUEST, a CID of env 0 or a domain name), or
 * :PATH with -C.  The copying itself, checks included, is libguest's.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"
#include "guest/copy.h"
#include "guest/inventory.h"
#include "guest/util.h"

#define MAX_OPERANDS	4096

struct operand {
	char		*guest;		/* NULL: local */
	char		*path;
};

struct ui {
	bool		 bar;		/* a progress bar on stderr */
	bool		 drawn;
	int64_t		 start, last;
};

/* GUEST:PATH, ENV/GUEST:PATH, or :PATH with -C; anything else is local
 * ("./a:b" for a local name with a colon, as with scp). */
static int
parse_operand(struct cli *cli, char *s, struct operand *op)
{
	char *colon = strchr(s, ':'), *slash;

	op->guest = NULL;
	op->path = s;
	if (strcmp(s, "-") == 0 || colon == NULL)
		return 0;
	if (cli->connect != NULL) {
		if (colon != s)
			return 0;
		op->guest = "";
		op->path = colon + 1;
		return 0;
	}
	if (colon == s)
		return -1;
	slash = memchr(s, '/', (size_t)(colon - s));
	if (slash != NULL && (slash == s || slash + 1 == colon ||
	    memchr(slash + 1, '/', (size_t)(colon - slash - 1)) != NULL))
		return 0;	/* a local path with a colon in it */
	*colon = '\0';
	op->guest = s;
	op->path = colon + 1;
	return 0;
}

static void
clear_bar(struct ui *ui)
{
	if (ui->drawn) {
		fputs("\r\033[K", stderr);
		ui->drawn = false;
	}
}

static void
failed(void *arg, const char *path, const char *msg)
{
	struct ui *ui = arg;
	char p[PATH_MAX], m[1024];

	clear_bar(ui);
	fprintf(stderr, "guest: cp: %s: %s\n", cli_safe(path, p, sizeof p),
	    cli_safe(msg, m, sizeof m));
}

static void
human(char *buf, size_t n, double v)
{
	const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(buf, n, i == 0 ? "%.0f %s" : "%.1f %s", v, unit[i]);
}

static void
show(void *arg, const struct guest_copy_progress *p)
{
	struct ui *ui = arg;
	int64_t now = guest_now_ms();
	double secs, rate;
	char done[32], total[32], r[32], eta[32] = "";

	/* Nothing for copies that are over at once; then ten a second. */
	if (!ui->bar || now - ui->start < 300 ||
	    (now - ui->last < 100 && p->bytes < p->total_bytes))
		return;
	ui->last = now;
	secs = (double)(now - ui->start) / 1000.0;
	rate = secs > 0 ? (double)p->bytes / secs : 0;
	human(done, sizeof done, (double)p->bytes);
	human(total, sizeof total, (double)p->total_bytes);
	human(r, sizeof r, rate);
	if (rate > 0 && p->total_bytes > p->bytes) {
		long left = (long)((double)(p->total_bytes - p->bytes) / rate);

		snprintf(eta, sizeof eta, "  ETA %ld:%02ld", left / 60,
		    left % 60);
	}
	fprintf(stderr, "\r\033[K%s / %s  %s/s%s", done, total, r, eta);
	if (p->total_entries > 1)
		fprintf(stderr, "  %llu/%llu files",
		    (unsigned long long)p->entries,
		    (unsigned long long)p->total_entries);
	ui->drawn = true;
}

/* The host's journal of directories with temps: beside the inventory. */
static void
host_journal(struct cli *cli, char *buf, size_t n)
{
	char *slash;

	buf[0] = '\0';
	if (guest_inventory_path(cli->inventory, buf, n, NULL) < 0 ||
	    (slash = strrchr(buf, '/')) == NULL) {
		buf[0] = '\0';
		return;
	}
	*slash = '\0';
	if (strlen(buf) + sizeof "/cp-journal" > n) {
		buf[0] = '\0';
		return;
	}
	strcat(buf, "/cp-journal");
	if (guest_mkdir_parents(buf, 0700, true) < 0)
		buf[0] = '\0';
}

static const struct option cp_opts[] = {
	{ "recursive",	no_argument,	NULL, 'r' },
	{ "preserve",	no_argument,	NULL, 'p' },
	{ "archive",	no_argument,	NULL, 'a' },
	{ "quiet",	no_argument,	NULL, 'q' },
	{ "parents",	no_argument,	NULL, 'P' },
	{ "help",	no_argument,	NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static int
cmd_cp(struct cli *cli, const struct cmd_entry *c, int argc, char **argv)
{
	struct guest_copy_opts o = { 0 };
	struct guest_copy_progress p = { 0 };
	struct ui ui = { 0 };
	struct guest_copy_cb cb = { .failed = failed, .progress = show,
	    .arg = &ui };
	GuestMessage req = GUEST__V1__MESSAGE__INIT;
	Guest__V1__CopyRequest cr = GUEST__V1__COPY_REQUEST__INIT;
	struct operand *ops = NULL;
	struct guest_target t;
	struct guest_client client;
	struct guest_error e = { 0 };
	struct guest_conn conn;
	char journal[PATH_MAX], **srcs = NULL, **names = NULL;
	char *env = NULL, *gname, *dest_path, *gpos[2];
	const char *remote = NULL;
	bool quiet = false, pull;
	int ch, n, i, rc = EXIT_LOCAL, npos;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "rpaqh", cp_opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			o.recursive = true;
			break;
		case 'p':
			o.preserve = true;
			break;
		case 'a':
			o.preserve = o.owner = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'P':
			o.parents = true;
			break;
		case 'h':
			cmd_usage(c, stdout);
			return 0;
		default:
			cmd_usage(c, stderr);
			return EXIT_USAGE;
		}
	}
	n = argc - optind;
	if (n < 2) {
		cli_error(c, "give SRC... DEST (one side GUEST:PATH)");
		return EXIT_USAGE;
	}
	if (n > MAX_OPERANDS || (ops = calloc((size_t)n, sizeof *ops)) == NULL) {
		cli_error(c, "too many operands");
		return EXIT_USAGE;
	}
	for (i = 0; i < n; i++) {
		if (parse_operand(cli, argv[optind + i], &ops[i]) < 0) {
			cli_error(c, "'%s': a guest name goes before the colon",
			    argv[optind + i]);
			goto usage;
		}
		if (ops[i].guest != NULL && ops[i].path[0] == '\0') {
			cli_error(c, "'%s': which path in the guest?",
			    argv[optind + i]);
			goto usage;
		}
	}
	pull = ops[n - 1].guest == NULL;
	for (i = 0; i < n - 1; i++) {
		if ((ops[i].guest != NULL) != pull) {
			cli_error(c, pull ? "sources are all in one guest, or "
			    "all here" : "copy from here to a guest, or from a "
			    "guest to here, not both");
			goto usage;
		}
		if (pull && strcmp(ops[i].guest, ops[0].guest) != 0) {
			cli_error(c, "all sources must be in the same guest");
			goto usage;
		}
		if (pull && strcmp(ops[i].path, "-") == 0) {
			cli_error(c, "'-' is standard input, not in a guest");
			goto usage;
		}
		if (!pull && strcmp(ops[i].path, "-") == 0 && n > 2) {
			cli_error(c, "'-' (standard input) goes alone");
			goto usage;
		}
	}
	if (!pull && strcmp(ops[n - 1].path, "-") == 0) {
		cli_error(c, "'-' as destination is for a copy from a guest");
		goto usage;
	}
	if (pull && ops[0].guest == NULL) {
		cli_error(c, "one side must be in a guest (GUEST:PATH%s)",
		    cli->connect ? ", :PATH with -C" : "");
		goto usage;
	}
	if (pull && strcmp(ops[n - 1].path, "-") == 0 && (n > 2 || o.recursive)) {
		cli_error(c, "standard output takes one file");
		goto usage;
	}
	remote = pull ? ops[0].guest : ops[n - 1].guest;

	/* The guest: ENV/GUEST, or GUEST of env 0, through the inventory. */
	npos = 0;
	if (cli->connect == NULL) {
		env = strdup(remote);
		if (env == NULL)
			goto out;
		if ((gname = strchr(env, '/')) != NULL) {
			*gname++ = '\0';
			gpos[npos++] = env;
			gpos[npos++] = gname;
		} else {
			gpos[npos++] = "0";
			gpos[npos++] = env;
		}
	}
	if ((ch = cli_target(cli, c, npos, gpos, &t)) < 0) {
		rc = ch == CLI_TARGET_USAGE ? EXIT_USAGE : EXIT_LOCAL;
		goto out;
	}
	if ((srcs = calloc((size_t)n, sizeof *srcs)) == NULL ||
	    (names = calloc((size_t)n, sizeof *names)) == NULL)
		goto out;
	for (i = 0; i < n - 1; i++)
		srcs[i] = ops[i].path;
	dest_path = ops[n - 1].path;
	cr.pull = pull;
	cr.recursive = o.recursive;
	cr.preserve = o.preserve;
	cr.owner = o.owner;
	cr.parents = o.parents;
	if (pull) {
		cr.paths = srcs;
		cr.n_paths = (size_t)n - 1;
		/* What comes back must be named as one of the sources. */
		for (i = 0; i < n - 1; i++) {
			char nm[NAME_MAX + 1];

			if (guest_copy_source_name(srcs[i], nm, sizeof nm) < 0 ||
			    (names[i] = strdup(nm)) == NULL) {
				cli_error(c, "'%s': cannot be copied by that "
				    "name", srcs[i]);
				rc = EXIT_USAGE;
				goto out;
			}
		}
		o.expect = names;
		o.n_expect = (size_t)n - 1;
		host_journal(cli, journal, sizeof journal);
		if (journal[0] != '\0') {
			guest_copy_sweep(journal);
			o.journal = journal;
		}
		/* Check here first what can be checked here. */
		if (guest_copy_check_dest(dest_path, (uint32_t)n - 1, &o,
		    &e) < 0) {
			cli_error(c, "%s", e.msg);
			rc = 1;
			goto out;
		}
	} else {
		cr.paths = &dest_path;
		cr.n_paths = 1;
		cr.sources = (uint32_t)n - 1;
		/* A push writes only to the socket (where a broken
		 * connection is an error, reported) and to the terminal: so
		 * libguest need not guard each splice against SIGPIPE. */
		signal(SIGPIPE, SIG_IGN);
	}
	req.body_case = GUEST__V1__MESSAGE__BODY_COPY_REQUEST;
	req.copy_request = &cr;
	cli_client(cli, &t, &client);
	if (guest_session_open(&t.addr, &client, "copy", &req, &conn, NULL,
	    &e) < 0) {
		cli_error(c, "%s", e.msg);
		goto out;
	}
	ui.bar = !quiet && isatty(STDERR_FILENO) &&
	    !(pull && strcmp(dest_path, "-") == 0 && isatty(STDOUT_FILENO));
	ui.start = guest_now_ms();
	if (pull)
		ch = guest_copy_recv(&conn, dest_path, (uint32_t)n - 1, &o, &cb,
		    &p, &e);
	else
		ch = guest_copy_send(&conn, srcs, (size_t)n - 1, &o, &cb, &p,
		    &e);
	guest_conn_close(&conn);
	clear_bar(&ui);
	if (ch < 0) {
		cli_error(c, "%s", e.msg);
		/* The agent said no (an Error): the copy failed; the
		 * connection broke: it could not be reached. */
		rc = ch == -EPROTO ? 1 : EXIT_LOCAL;
		goto out;
	}
	rc = p.failed > 0 ? 1 : 0;
	if (cli->verbose)
		fprintf(stderr, "guest: cp: %llu entries, %llu bytes, %llu "
		    "failed\n", (unsigned long long)p.entries,
		    (unsigned long long)p.bytes, (unsigned long long)p.failed);
out:
	if (names != NULL)
		for (i = 0; i < n; i++)
			free(names[i]);
	free(names);
	free(srcs);
	free(env);
	free(ops);
	return rc;
usage:
	free(ops);
	return EXIT_USAGE;
}

const struct cmd_entry cmd_cp_entry = {
	.name = "cp",
	.usage = "[-r] [-p] [-a] [-q] [--parents] SRC... DEST",
	.summary = "Copy files and trees between the host and a guest",
	.help =
	    "One side is in a guest, written GUEST:PATH: GUEST is ENV/GUEST,\n"
	    "or a CID or domain name of env 0 (with -C ADDR, just :PATH).\n"
	    "DEST is a directory to copy into, or the new name (one source).\n"
	    "'-' as SRC sends standard input, as DEST writes to standard\n"
	    "output.  Every file is checked (XXH3-128) and lands whole or not\n"
	    "at all: written to a temp beside it, synced, and renamed over it.\n"
	    "Exit status 0 when everything was copied, 1 when something was\n"
	    "not (each named), 255 when the agent could not be reached.\n"
	    "\n"
	    "Options:\n"
	    "  -r, --recursive  copy directories; links inside are copied as\n"
	    "                   links, never followed\n"
	    "  -p, --preserve   keep mode and modification time\n"
	    "  -a, --archive    -p, and ownership (when the receiver is root)\n"
	    "  -q, --quiet      no progress bar\n"
	    "      --parents    create missing parent directories of DEST\n",
	.exec = cmd_cp,
	.opts = cp_opts,
	.operands = "cp",
};
