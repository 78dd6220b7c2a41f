/*
 * guest balloon-stats [ENV] GUEST [--json] [--watch SECONDS]: a running
 * VM's memory statistics from its virtio balloon, in Fuchsia's tags and
 * layout, then libvirt's own.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"
#include "guest/virt.h"

/* libvirt's tags (virDomainMemoryStatTags), in Fuchsia's order and names;
 * kib: libvirt gives KiB, printed in bytes as Fuchsia prints them. */
static const struct tag {
	int		 tag;
	const char	*name;		/* Fuchsia's */
	const char	*json;
	bool		 kib;
} tags[] = {
	{ GUEST_MEMSTAT_SWAP_IN,	 "swap-in", "swap_in", true },
	{ GUEST_MEMSTAT_SWAP_OUT,	 "swap-out", "swap_out", true },
	{ GUEST_MEMSTAT_MAJOR_FAULT,	 "major-faults", "major_faults",
	    false },
	{ GUEST_MEMSTAT_MINOR_FAULT,	 "minor-faults", "minor_faults",
	    false },
	{ GUEST_MEMSTAT_UNUSED,	 "free-memory", "free_memory",
	    true },
	{ GUEST_MEMSTAT_AVAILABLE,	 "total-memory", "total_memory",
	    true },
	{ GUEST_MEMSTAT_USABLE,	 "available-memory",
	    "available_memory", true },
	{ GUEST_MEMSTAT_DISK_CACHES,	 "disk-caches", "disk_caches",
	    true },
	{ GUEST_MEMSTAT_HUGETLB_PGALLOC, "hugetlb-allocations",
	    "hugetlb_allocations", false },
	{ GUEST_MEMSTAT_HUGETLB_PGFAIL, "hugetlb-failures",
	    "hugetlb_failures", false },
	/* libvirt's extras. */
	{ GUEST_MEMSTAT_ACTUAL_BALLOON, "actual-memory",
	    "actual_memory", true },
	{ GUEST_MEMSTAT_RSS,		 "rss", "rss", true },
};
#define NTAGS	(sizeof tags / sizeof tags[0])

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	stop = 1;
}

static uint64_t
value(const struct guest_memstats *m, const struct tag *t)
{
	return t->kib ? m->val[t->tag] * 1024 : m->val[t->tag];
}

static void
print_block(const struct guest_memstats *m)
{
	char name[32], when[32];
	time_t t;
	size_t i;

	for (i = 0; i < NTAGS; i++) {
		if (!m->have[tags[i].tag])
			continue;
		snprintf(name, sizeof name, "%s:", tags[i].name);
		printf("%-21s%" PRIu64 "\n", name, value(m, &tags[i]));
	}
	if (m->have[GUEST_MEMSTAT_LAST_UPDATE]) {
		t = (time_t)m->val[GUEST_MEMSTAT_LAST_UPDATE];
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
		printf("%-21s%s\n", "last-update:", when);
	}
}

/* One sample as a document on one line (--watch: JSON Lines). */
static int
print_json(const struct guest_memstats *m, uint32_t env)
{
	json_object *doc = cli_json_doc();
	size_t i;

	json_object_object_add(doc, "guest", cli_json_str(m->name));
	json_object_object_add(doc, "env", json_object_new_int64(env));
	for (i = 0; i < NTAGS; i++)
		json_object_object_add(doc, tags[i].json, m->have[tags[i].tag] ?
		    json_object_new_int64((int64_t)value(m, &tags[i])) : NULL);
	json_object_object_add(doc, "last_update",
	    cli_json_time(m->have[GUEST_MEMSTAT_LAST_UPDATE] ?
	    (int64_t)m->val[GUEST_MEMSTAT_LAST_UPDATE] * 1000 : 0));
	return cli_json_print(doc, true);
}

/* One row per sample, as vmstat: memory in MiB, faults as counts. */
static void
print_row(const struct guest_memstats *m, bool header)
{
	static const int cols[] = {
		GUEST_MEMSTAT_UNUSED, GUEST_MEMSTAT_USABLE,
		GUEST_MEMSTAT_AVAILABLE,
		GUEST_MEMSTAT_DISK_CACHES,
		GUEST_MEMSTAT_ACTUAL_BALLOON,
		GUEST_MEMSTAT_RSS, GUEST_MEMSTAT_SWAP_IN,
		GUEST_MEMSTAT_SWAP_OUT,
		GUEST_MEMSTAT_MAJOR_FAULT,
		GUEST_MEMSTAT_MINOR_FAULT,
	};
	size_t i;
	int c;

	if (header)
		printf("%8s %8s %8s %8s %8s %8s %8s %8s %8s %10s\n", "free",
		    "avail", "total", "caches", "actual", "rss", "swapin",
		    "swapout", "majflt", "minflt");
	for (i = 0; i < sizeof cols / sizeof cols[0]; i++) {
		c = cols[i];
		if (!m->have[c])
			printf("%*s", i == 9 ? 10 : 8, "-");
		else if (c == GUEST_MEMSTAT_MAJOR_FAULT ||
		    c == GUEST_MEMSTAT_MINOR_FAULT)
			printf("%*" PRIu64, i == 9 ? 10 : 8, m->val[c]);
		else
			printf("%8" PRIu64, m->val[c] / 1024);	/* MiB */
		printf(i == 9 ? "\n" : " ");
	}
	fflush(stdout);
}

static const struct option balloon_stats_opts[] = {
	{ "json",	no_argument,		NULL, 'j' },
	{ "watch",	required_argument,	NULL, 'w' },
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static int
cmd_balloon_stats(struct cli *cli, const struct cmd_entry *c, int argc,
    char **argv)
{
	struct guest_domain_ref ref;
	struct guest_memstats m;
	struct guest_error e = { 0 };
	struct sigaction sa;
	bool json = false;
	int ch, r, watch_ms = 0, n;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "jw:h", balloon_stats_opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = true;
			break;
		case 'w':
			if (cli_parse_seconds(optarg, 86400, &watch_ms) < 0) {
				cli_error(c, "--watch %s: expected seconds, more "
				    "than 0", optarg);
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
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (n = 0; !stop; n++) {
		r = guest_virt_memstats(ref.env.uri, ref.uuid, 2, 10 * 1000, &m,
		    &e);
		if (r < 0) {
			if (stop)
				break;
			cli_error(c, "%s", e.msg);
			guest_env_clear(&ref.env);
			return EXIT_LOCAL;
		}
		if (m.period_set > 0)
			fprintf(stderr, "guest: balloon-stats: %s had no "
			    "statistics period; set it to %d s (until the VM "
			    "stops)\n", m.name, m.period_set);
		if (json) {
			if (print_json(&m, ref.env.id) < 0) {
				guest_env_clear(&ref.env);
				return 1;
			}
		} else if (watch_ms > 0)
			print_row(&m, n == 0);
		else
			print_block(&m);
		fflush(stdout);
		if (watch_ms == 0)
			break;
		usleep((useconds_t)watch_ms * 1000);
	}
	guest_env_clear(&ref.env);
	return 0;
}

const struct cmd_entry cmd_balloon_stats_entry = {
	.name = "balloon-stats",
	.usage = "[ENV] GUEST [--json] [--watch SECONDS]",
	.summary = "Show a running VM's memory statistics from its balloon",
	.help =
	    "Fuchsia's tags, in its order and layout (the tag in 21 columns,\n"
	    "then the value; memory in bytes): swap-in, swap-out, major-faults,\n"
	    "minor-faults, free-memory, total-memory, available-memory,\n"
	    "disk-caches, hugetlb-allocations, hugetlb-failures; then libvirt's:\n"
	    "actual-memory (what the guest has now), rss (QEMU's resident\n"
	    "memory) and last-update.  Tags the guest does not report are left\n"
	    "out.  When the VM has no statistics period, one of 2 s is set (and\n"
	    "said) and the first sample awaited, rather than zeros printed.\n"
	    "\n"
	    "Options:\n"
	    "  -j, --json            one JSON object: guest, env, each tag in\n"
	    "                        snake_case (bytes or counts; null when not\n"
	    "                        reported), last_update (RFC 3339 or null)\n"
	    "  -w, --watch SECONDS   a new sample each period until interrupted:\n"
	    "                        one row each (MiB and counts), as vmstat;\n"
	    "                        with --json, one object per line\n",
	.exec = cmd_balloon_stats,
	.opts = balloon_stats_opts,
	.operands = "target",
};
