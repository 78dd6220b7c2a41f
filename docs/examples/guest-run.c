/*
 * guest-run: run one command in a guest through its agent, with this
 * program's stdin, stdout and stderr, and exit with the command's status,
 * as "guest -C ADDR vsh -- COMMAND" does.  The session is signed with the
 * user's key (ssh-agent's, or ~/.ssh/id_ed25519) when the agent asks for
 * one; the agent's host key is shown, not pinned (guest pins it).
 *
 *   guest-run ADDR COMMAND [ARG...]
 *
 * Build: cc guest-run.c $(pkg-config --cflags --libs libguest)
 */
#include <stdio.h>
#include <string.h>

#include <guest/key.h>
#include <guest/vsh.h>

/* Who answered: a real client compares the key with the one it pinned. */
static int
show_agent(const struct guest_agent_hello *h, void *arg,
    struct guest_error *e)
{
	char fp[GUEST_FP_MAX];

	(void)arg;
	(void)e;
	fprintf(stderr, "guest-run: %s (%s), host key %s\n", h->hostname,
	    h->software, guest_key_fingerprint(h->host_key, fp));
	return 0;
}

int
main(int argc, char **argv)
{
	struct guest_vsh_opts o;
	struct guest_error e = { 0 };
	struct guest_addr a;
	int status;

	if (argc < 3) {
		fprintf(stderr, "usage: guest-run ADDR COMMAND [ARG...]\n");
		return 2;
	}
	if (guest_addr_parse(argv[1], 0, &a, &e) < 0) {
		fprintf(stderr, "guest-run: %s\n", e.msg);
		return 2;
	}
	memset(&o, 0, sizeof o);
	o.argv = argv + 2;
	o.argc = (size_t)argc - 2;
	o.client.check = show_agent;
	if (guest_vsh(&a, &o, &status, &e) < 0) {
		fprintf(stderr, "guest-run: %s\n", e.msg);
		return 255;
	}
	if (e.msg[0] != '\0')
		fprintf(stderr, "guest-run: %s\n", e.msg);
	return status;
}
