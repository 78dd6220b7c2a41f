/*
 * guest balloon [ENV] GUEST NUM_PAGES | [ENV] GUEST --target SIZE
 *     [--wait[=SECONDS]] [--floor SIZE]: a running VM's memory through its
 * virtio balloon, as Fuchsia's guest balloon.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest.h"
#include "guest/util.h"
#include "guest/virt.h"

#define PAGE_KIB	4		/* Fuchsia's pages: 4 KiB */
#define FLOOR_KIB	(64 * 1024)	/* never below 64 MiB by default */

/* Progress on a terminal while --wait waits. */
static void
progress(const struct guest_balloon *b, void *arg)
{
	char a[32], t[32];

	fprintf(stderr, "\r%s: %s, target %s   ", b->name,
	    cli_kib(b->actual_kib, a, sizeof a),
	    cli_kib(b->target_kib, t, sizeof t));
}

static const struct option balloon_opts[] = {
	{ "target",	required_argument,	NULL, 't' },
	{ "wait",	optional_argument,	NULL, 'w' },
	{ "floor",	required_argument,	NULL, 'f' },
	{ "json",	no_argument,		NULL, 'j' },
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* The record as a document: sizes in bytes; after and reached only when
 * it waited (null otherwise). */
static int
print_json(const struct guest_domain_ref *ref, uint64_t target_kib,
    const struct guest_balloon *before, const struct guest_balloon *after,
    bool reached)
{
	json_object *doc = cli_json_doc();

	json_object_object_add(doc, "guest", cli_json_str(ref->name));
	json_object_object_add(doc, "uuid", cli_json_str(ref->uuid));
	json_object_object_add(doc, "env", json_object_new_int64(ref->env.id));
	json_object_object_add(doc, "balloon_pages", json_object_new_int64(
	    (int64_t)((before->max_kib - target_kib) / PAGE_KIB)));
	json_object_object_add(doc, "target",
	    json_object_new_int64((int64_t)target_kib * 1024));
	json_object_object_add(doc, "before",
	    json_object_new_int64((int64_t)before->actual_kib * 1024));
	json_object_object_add(doc, "after", after != NULL ?
	    json_object_new_int64((int64_t)after->actual_kib * 1024) : NULL);
	json_object_object_add(doc, "reached", after != NULL ?
	    json_object_new_boolean(reached) : NULL);
	json_object_object_add(doc, "maximum",
	    json_object_new_int64((int64_t)before->max_kib * 1024));
	return cli_json_print(doc, false);
}

static int
cmd_balloon(struct cli *cli, const struct cmd_entry *c, int argc, char **argv)
{
	struct guest_balloon before, after;
	struct guest_domain_ref ref;
	struct guest_error e = { 0 };
	uint64_t target = 0, floor = 0, target_kib;
	uint32_t pages = 0;
	char s1[32], s2[32], s3[32];
	bool by_target = false, floor_set = false, json = false, tty;
	int ch, r, npos, wait_ms = 0;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "t:jh", balloon_opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			if (guest_parse_size(optarg, &target) < 0 ||
			    target < 1024 * 1024) {
				cli_error(c, "--target %s: expected a size like "
				    "512M or 2G", optarg);
				return EXIT_USAGE;
			}
			by_target = true;
			break;
		case 'w':
			wait_ms = 60 * 1000;
			if (optarg != NULL && cli_parse_seconds(optarg, 86400,
			    &wait_ms) < 0) {
				cli_error(c, "--wait=%s: expected seconds, more "
				    "than 0", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'f':
			if (guest_parse_size(optarg, &floor) < 0) {
				cli_error(c, "--floor %s: expected a size like "
				    "256M, or 0", optarg);
				return EXIT_USAGE;
			}
			floor_set = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			cmd_usage(c, stdout);
			return 0;
		default:
			cmd_usage(c, stderr);
			return EXIT_USAGE;
		}
	}
	npos = argc - optind;
	if (!by_target) {
		if (npos < 2 || npos > 3) {
			cli_error(c, npos < 2 ? "how many pages? (guest balloon "
			    "[ENV] GUEST NUM_PAGES, or --target SIZE)" :
			    "unexpected argument '%s'", argv[optind + 3]);
			return EXIT_USAGE;
		}
		if (cli_parse_num(argv[argc - 1], &pages) < 0) {
			cli_error(c, "NUM_PAGES %s: expected a number of 4 KiB "
			    "pages", argv[argc - 1]);
			return EXIT_USAGE;
		}
		npos--;
	}
	if ((r = cli_domain(cli, c, npos, argv + optind, &ref)) != 0)
		return r;
	/* The VM's maximum first: the pages are counted from it. */
	if ((r = guest_virt_balloon(ref.env.uri, ref.uuid, 0, 0, NULL, NULL,
	    NULL, &before, &e)) < 0)
		goto fail;
	if (by_target)
		target_kib = target / 1024;
	else if ((uint64_t)pages * PAGE_KIB > before.max_kib) {
		cli_error(c, "%s has %" PRIu64 " pages of 4 KiB (%s): a balloon "
		    "of %" PRIu32 " pages would leave it nothing", ref.name,
		    before.max_kib / PAGE_KIB, cli_kib(before.max_kib, s1,
		    sizeof s1), pages);
		r = EXIT_USAGE;
		goto out;
	} else
		target_kib = before.max_kib - (uint64_t)pages * PAGE_KIB;
	if (target_kib > before.max_kib) {
		cli_error(c, "%s: a target of %s is above its maximum memory, "
		    "%s (a balloon cannot give a guest more than it booted "
		    "with)", ref.name, cli_kib(target_kib, s1, sizeof s1),
		    cli_kib(before.max_kib, s2, sizeof s2));
		r = EXIT_USAGE;
		goto out;
	}
	/* The floor: what the guest uses now (total minus available), and
	 * never below 64 MiB, unless --floor says otherwise. */
	if (!floor_set) {
		floor = (uint64_t)FLOOR_KIB * 1024;
		if (before.used_kib * 1024 > floor)
			floor = before.used_kib * 1024;
	}
	if (target_kib * 1024 < floor) {
		cli_error(c, "%s: a target of %s is below the floor of %s (%s); "
		    "--floor SIZE sets another, --floor 0 none", ref.name,
		    cli_kib(target_kib, s1, sizeof s1),
		    cli_kib(floor / 1024, s2, sizeof s2), floor_set ?
		    "--floor" : before.used_kib * 1024 > (uint64_t)FLOOR_KIB *
		    1024 ? "what the guest uses now: total minus available "
		    "memory" : "64 MiB, the least guest balloon leaves by "
		    "default");
		r = EXIT_LOCAL;
		goto out;
	}
	if (!json) {
		printf("Resizing memory balloon to %" PRIu64 " pages\n",
		    (before.max_kib - target_kib) / PAGE_KIB);
		fflush(stdout);
	}
	tty = wait_ms > 0 && isatty(2);
	r = guest_virt_balloon(ref.env.uri, ref.uuid, target_kib, wait_ms,
	    tty ? progress : NULL, NULL, NULL, &after, &e);
	if (tty)
		fprintf(stderr, "\n");
	if (r < 0 && r != -ETIMEDOUT)
		goto fail;
	if (json) {
		if (print_json(&ref, target_kib, &before, wait_ms > 0 ? &after :
		    NULL, r != -ETIMEDOUT) < 0) {
			r = 1;
			goto out;
		}
	} else {
	printf("memory before: %s\n", cli_kib(before.actual_kib, s1,
	    sizeof s1));
	printf("memory after:  %s%s\n", cli_kib(wait_ms > 0 ?
	    after.actual_kib : target_kib, s2, sizeof s2), wait_ms > 0 ? "" :
	    " (the target; the guest gives it over time, --wait waits)");
	printf("maximum:       %s\n", cli_kib(before.max_kib, s3, sizeof s3));
	}
	if (r == -ETIMEDOUT) {
		cli_error(c, "%s", e.msg);
		r = 1;
	} else
		r = 0;
	goto out;
fail:
	cli_error(c, "%s", e.msg);
	r = EXIT_LOCAL;
out:
	guest_env_clear(&ref.env);
	return r;
}

const struct cmd_entry cmd_balloon_entry = {
	.name = "balloon",
	.usage = "[ENV] GUEST NUM_PAGES | [ENV] GUEST --target SIZE "
	    "[--wait[=SECONDS]] [--floor SIZE] [--json]",
	.summary = "Resize a running VM's memory balloon",
	.help =
	    "As Fuchsia's guest balloon: the balloon holds NUM_PAGES pages of\n"
	    "4 KiB afterwards, so the guest's memory target is its maximum\n"
	    "memory minus NUM_PAGES x 4 KiB.  --target gives the guest's memory\n"
	    "instead.  Prints the pages, then the guest's memory before and\n"
	    "after.  The guest gives memory back (or takes it again) over time;\n"
	    "--wait waits until the balloon's actual size reaches the target.\n"
	    "\n"
	    "Options:\n"
	    "  -t, --target SIZE     the guest's memory (K, M, G)\n"
	    "  --wait[=SECONDS]      wait for the guest (60 s), with progress on\n"
	    "                        a terminal; exit 1 if it is not there by then\n"
	    "  --floor SIZE          refuse targets below SIZE (default: what the\n"
	    "                        guest uses now, total minus available memory\n"
	    "                        by its balloon statistics, and at least 64M);\n"
	    "                        --floor 0 for none\n"
	    "  -j, --json            the record as JSON (schema in guest(1))\n",
	.exec = cmd_balloon,
	.opts = balloon_opts,
	.operands = "target",
};
