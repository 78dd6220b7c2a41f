/*
 * guest launch [ENV] IMAGE [options]: start a VM through libvirt, as
 * Fuchsia's guest launch does, and stay on its serial console.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest.h"
#include "guest/pin.h"
#include "guest/signer.h"
#include "guest/util.h"
#include "guest/virt.h"

struct launched {
	struct cli		*cli;
	const char		*envspec;
	bool			 detach;
	bool			 json;		/* --json, with --detach */
	int			 keys;		/* handed in; -1: not asked */
	struct guest_key	 host_key;	/* the agent's, handed in ... */
	char			 key_file[4096];/* ... from here ("": not) */
	bool			 persistent;
};

/* The agent's host key, made here and handed in by fw_cfg, so that it is
 * pinned before the VM starts: no trust on first use.  The file goes once
 * QEMU has read it, unless the domain is persistent (it is read at each
 * start). */
static void
host_key_make(struct cli *cli, struct launched *l)
{
	struct guest_error e;
	char path[4096], *slash;
	uint32_t rnd;

	if (guest_pin_path(cli->inventory, path, sizeof path, &e) < 0 ||
	    (slash = strrchr(path, '/')) == NULL)
		return;
	guest_random(&rnd, sizeof rnd);
	snprintf(l->key_file, sizeof l->key_file, "%.*s/host-keys/%08x.key",
	    (int)(slash - path), path, rnd);
	if (guest_key_generate(&l->host_key) < 0 ||
	    guest_mkdir_parents(l->key_file, 0700, false) < 0 ||
	    guest_key_save(l->key_file, &l->host_key, &e) < 0)
		l->key_file[0] = '\0';
}

static void
host_key_pin(struct launched *l, const struct guest_dom *d)
{
	struct guest_error e;
	char path[4096], name[GUEST_UUID_STR + 8], fp[GUEST_FP_MAX];

	if (l->key_file[0] == '\0')
		return;
	snprintf(name, sizeof name, "uuid:%s", d->uuid);
	if (guest_pin_path(l->cli->inventory, path, sizeof path, &e) < 0 ||
	    guest_pin_check(path, name, l->host_key.pub, &e) < 0)
		fprintf(stderr, "guest: launch: warning: the agent's host key "
		    "was not pinned: %s\n", e.msg);
	else
		fprintf(stderr, "guest: launch: pinned the host key the agent "
		    "in %s will use: %s %s\n", d->name, GUEST_KEY_TYPE,
		    guest_key_fingerprint(l->host_key.pub, fp));
	if (!l->persistent) {
		unlink(l->key_file);
		l->key_file[0] = '\0';
	}
}

/* The VM runs: into the inventory at once, so that guest list --cached,
 * vsh and cp know it while launch is still attached. */
static void
started(const struct guest_dom *d, void *arg)
{
	struct launched *l = arg;
	struct guest_error e;

	if (guest_target_refresh(l->cli->inventory, l->envspec, &e) < 0)
		fprintf(stderr, "guest: launch: warning: %s runs, but the "
		    "inventory was not updated: %s\n", d->name, e.msg);
	host_key_pin(l, d);
	if (l->keys > 0)
		fprintf(stderr, "guest: launch: the agent in %s will trust %d "
		    "key(s) of yours (credential guest-agent.authorized_keys)\n",
		    d->name, l->keys);
	else if (l->keys == 0)
		fprintf(stderr, "guest: launch: warning: no Ed25519 key of "
		    "yours (ssh-agent, ~/.ssh/id_ed25519.pub, -i) went to %s: "
		    "its agent will trust no one until a key is added there\n",
		    d->name);
	if (l->detach && l->json) {
		json_object *doc = cli_json_doc();

		json_object_object_add(doc, "name", cli_json_str(d->name));
		json_object_object_add(doc, "uuid", cli_json_str(d->uuid));
		json_object_object_add(doc, "cid", d->cid >= 0 ?
		    json_object_new_int64(d->cid) : NULL);
		json_object_object_add(doc, "persistent",
		    json_object_new_boolean(l->persistent));
		(void)cli_json_print(doc, false);
	} else if (l->detach) {
		printf("name: %s\nuuid: %s\n", d->name, d->uuid);
		if (d->cid >= 0)
			printf("cid:  %lld\n", (long long)d->cid);
		else
			printf("cid:  -\n");
		fflush(stdout);
	}
}

static const struct option launch_opts[] = {
	{ "cmdline-add",	required_argument, NULL, 'a' },
	{ "memory",		required_argument, NULL, 'm' },
	{ "cpus",		required_argument, NULL, 'c' },
	{ "default-net",	required_argument, NULL, 'N' },
	{ "virtio-balloon",	required_argument, NULL, 'B' },
	{ "virtio-console",	required_argument, NULL, 'C' },
	{ "virtio-rng",		required_argument, NULL, 'R' },
	{ "virtio-vsock",	required_argument, NULL, 'V' },
	{ "virtio-gpu",		required_argument, NULL, 'G' },
	{ "virtio-sound",	required_argument, NULL, 'S' },
	{ "virtio-sound-input",	required_argument, NULL, 'I' },
	{ "name",		required_argument, NULL, 'n' },
	{ "initrd",		required_argument, NULL, 'i' },
	{ "detach",		no_argument,	   NULL, 'd' },
	{ "json",		no_argument,	   NULL, 'j' },
	{ "persistent",		no_argument,	   NULL, 'p' },
	{ "help",		no_argument,	   NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static int
cmd_launch(struct cli *cli, const struct cmd_entry *c, int argc, char **argv)
{
	/* Fuchsia's defaults. */
	struct guest_launch_spec sp = {
		.net = true, .balloon = true, .console = true, .rng = true,
		.vsock = true, .gpu = true,
	};
	struct guest_serial_opts so = { .in_fd = 0, .out_fd = 1,
	    .idle_ms = -1 };
	struct launched l = { .cli = cli, .keys = -1 };
	struct guest_error e = { 0 };
	struct guest_env env;
	struct guest_dom dom;
	enum guest_image_kind kind;
	const char **cmdline = NULL, **grown;
	uint32_t cpus;
	bool *flag;
	int ch, r, npos, li = 0;
	char keys[8 * 600];

	optind = 0;
	while ((ch = getopt_long(argc, argv, "m:c:n:djph", launch_opts, &li)) != -1) {
		flag = NULL;
		switch (ch) {
		case 'a':
			grown = realloc(cmdline, (sp.ncmdline + 1) *
			    sizeof *cmdline);
			if (grown == NULL) {
				cli_error(c, "out of memory");
				free(cmdline);
				return EXIT_LOCAL;
			}
			cmdline = grown;
			cmdline[sp.ncmdline++] = optarg;
			sp.shaped = true;
			break;
		case 'm':
			if (guest_parse_size(optarg, &sp.memory) < 0 ||
			    sp.memory < 16 << 20) {
				cli_error(c, "--memory %s: expected bytes or a "
				    "size like 512M or 2G, at least 16M",
				    optarg);
				goto bad;
			}
			sp.shaped = true;
			break;
		case 'c':
			if (cli_parse_num(optarg, &cpus) < 0 || cpus == 0 ||
			    cpus > 1024) {
				cli_error(c, "--cpus %s: expected 1 to 1024",
				    optarg);
				goto bad;
			}
			sp.cpus = cpus;
			sp.shaped = true;
			break;
		case 'N': flag = &sp.net; break;
		case 'B': flag = &sp.balloon; break;
		case 'C': flag = &sp.console; break;
		case 'R': flag = &sp.rng; break;
		case 'V': flag = &sp.vsock; break;
		case 'G': flag = &sp.gpu; break;
		case 'S': flag = &sp.sound; break;
		case 'I': flag = &sp.sound_input; break;
		case 'n':
			sp.name = optarg;
			sp.shaped = true;
			break;
		case 'i':
			sp.initrd = optarg;
			sp.shaped = true;
			break;
		case 'd':
			l.detach = true;
			break;
		case 'j':
			l.json = true;
			break;
		case 'p':
			sp.persistent = true;
			break;
		case 'h':
			free(cmdline);
			cmd_usage(c, stdout);
			return 0;
		default:
			free(cmdline);
			cmd_usage(c, stderr);
			return EXIT_USAGE;
		}
		if (flag != NULL) {
			if (cli_parse_bool(optarg, flag) < 0) {
				cli_error(c, "--%s %s: expected true or false",
				    launch_opts[li].name, optarg);
				goto bad;
			}
			sp.shaped = true;
		}
	}
	sp.cmdline = cmdline;
	l.persistent = sp.persistent;
	if (l.json && !l.detach) {
		cli_error(c, "--json prints the launched VM's record: it goes "
		    "with --detach");
		goto bad;
	}
	npos = argc - optind;
	if (npos < 1 || npos > 2) {
		if (npos < 1)
			cli_error(c, "which image? (guest launch [ENV] IMAGE)");
		else
			cli_error(c, "unexpected argument '%s'",
			    argv[optind + 2]);
		goto bad;
	}
	if (cli->connect != NULL) {
		cli_error(c, "-C does not go with launch: it starts the VM "
		    "through libvirt");
		goto bad;
	}
	sp.image = argv[argc - 1];
	/* What is wrong with the file, before libvirt is loaded. */
	if (guest_image_kind(sp.image, &kind, &e) < 0) {
		cli_error(c, "%s", e.msg);
		free(cmdline);
		return EXIT_LOCAL;
	}
	/* The agent in the VM trusts its owner: the user's public keys go
	 * in as a credential, and nobody else's. */
	if (kind != GUEST_IMAGE_XML && sp.vsock) {
		if ((r = guest_signers_authorized(cli->identity, keys,
		    sizeof keys, &e)) < 0) {
			cli_error(c, "%s", e.msg);
			free(cmdline);
			return EXIT_LOCAL;
		}
		if (r > 0)
			sp.owner_keys = keys;
		l.keys = r;
		host_key_make(cli, &l);
		if (l.key_file[0] != '\0')
			sp.host_key_file = l.key_file;
	}
	l.envspec = npos == 2 ? argv[optind] : NULL;
	if (guest_target_env(cli->inventory, l.envspec, &env, &e) < 0) {
		cli_error(c, "%s", e.msg);
		free(cmdline);
		return EXIT_LOCAL;
	}
	r = guest_virt_launch(env.uri, &sp, l.detach ? NULL : &so, started,
	    &l, &dom, &e);
	/* QEMU may run as a user that cannot read our file: then without
	 * it, and the first session pins the key (trust on first use). */
	if (r < 0 && sp.host_key_file != NULL &&
	    strstr(e.msg, l.key_file) != NULL) {
		fprintf(stderr, "guest: launch: warning: QEMU could not read "
		    "the agent's host key (%s); launching without it: the "
		    "first session will pin the key it shows\n", l.key_file);
		unlink(l.key_file);
		l.key_file[0] = '\0';
		sp.host_key_file = NULL;
		r = guest_virt_launch(env.uri, &sp, l.detach ? NULL : &so,
		    started, &l, &dom, &e);
	}
	if (r < 0 && l.key_file[0] != '\0')
		unlink(l.key_file);
	explicit_bzero(&l.host_key, sizeof l.host_key);
	free(cmdline);
	if (r < 0) {
		cli_error(c, "%s", e.msg);
		guest_env_clear(&env);
		return r == -EINTR ? 130 : EXIT_LOCAL;
	}
	if (r == GUEST_SERIAL_DETACHED && !l.detach && isatty(0))
		fprintf(stderr, "guest: detached; %s keeps running (guest "
		    "serial %u %s returns to it, guest stop %u %s stops it)\n",
		    dom.name, env.id, dom.name, env.id, dom.name);
	if (r == GUEST_SERIAL_TAKEN) {
		cli_error(c, "%s", e.msg);
		r = 1;
	} else
		r = 0;
	guest_env_clear(&env);
	return r;
bad:
	free(cmdline);
	return EXIT_USAGE;
}

const struct cmd_entry cmd_launch_entry = {
	.name = "launch",
	.usage = "[ENV] IMAGE [--cmdline-add ARG]... [--memory SIZE] [--cpus N] "
	    "[--initrd FILE] [--name NAME] [--detach [--json]] [--persistent] "
	    "[--default-net BOOL] [--virtio-{balloon,console,rng,vsock,gpu,"
	    "sound,sound-input} BOOL]",
	.summary = "Start a VM through libvirt and stay on its serial console",
	.help =
	    "IMAGE is a kernel (ELF, bzImage: booted directly, messages on\n"
	    "ttyS0), a disk image (qcow2, or raw with a boot sector or GPT:\n"
	    "booted from its disk, used in place) or a libvirt domain XML file\n"
	    "(used as it is), told apart by content.  The VM starts paused\n"
	    "until its serial console is open, so the console shows it from\n"
	    "its first byte; ^] detaches and leaves it running, and launch\n"
	    "ends by itself when the VM stops.  It is in the inventory as soon\n"
	    "as it runs.  Without --persistent the VM is transient: libvirt\n"
	    "forgets it when it stops.\n"
	    "\n"
	    "Options (BOOL: true or false; defaults as in Fuchsia's guest):\n"
	    "  --cmdline-add ARG         add ARG to the kernel command line\n"
	    "                            (after console=ttyS0; repeatable)\n"
	    "  -m, --memory SIZE         memory: bytes, or K, M, G (1G)\n"
	    "  -c, --cpus N              virtual CPUs (the host's count)\n"
	    "  --initrd FILE             an initramfs for a kernel\n"
	    "  -n, --name NAME           the domain's name (from IMAGE's file\n"
	    "                            name, with -2, -3... when taken)\n"
	    "  -d, --detach              print name, UUID and CID and return\n"
	    "  -j, --json                with --detach, that record as JSON\n"
	    "                            (schema in guest(1))\n"
	    "  -p, --persistent          define the VM, not only start it\n"
	    "  --default-net BOOL        a virtio NIC on user networking (true)\n"
	    "  --virtio-balloon BOOL     a memory balloon with stats (true)\n"
	    "  --virtio-console BOOL     a virtio console, hvc0 (true)\n"
	    "  --virtio-rng BOOL         an RNG fed by /dev/urandom (true)\n"
	    "  --virtio-vsock BOOL       vsock, CID chosen by libvirt (true;\n"
	    "                            the host needs /dev/vhost-vsock)\n"
	    "  --virtio-gpu BOOL         a virtio GPU (true)\n"
	    "  --virtio-sound BOOL       virtio sound (false)\n"
	    "  --virtio-sound-input BOOL its input streams (false; libvirt's\n"
	    "                            virtio sound always has them)\n"
	    "\n"
	    "A device the host cannot give fails the launch with one line\n"
	    "naming it and the option that does without it.  Exit status: 0\n"
	    "when the VM stopped or ^] detached (or at once with --detach), 1\n"
	    "when another client took the console, 255 when it did not start.\n",
	.exec = cmd_launch,
	.opts = launch_opts,
	.operands = "image",
};
