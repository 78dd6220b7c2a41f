/*
 * holdconn: a flood of idle connections, for the handshake limit.
 *
 *   holdconn [--hello] ADDR N SECONDS
 *
 * Opens N connections to ADDR (any address guest takes: unix:PATH in the
 * tests on this machine, vsock:CID:PORT inside the nested guests), sends
 * nothing (with --hello: a client's Hello, then nothing: a client that
 * stalls in the handshake), prints "held N" once all are open (those the kernel refused,
 * its backlog full, are left out), and keeps them SECONDS (or until
 * killed), printing "closed N" each time the agent has closed more of
 * them (it refused them).
 */
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest/transport.h"
#include "guest/util.h"

int
main(int argc, char **argv)
{
	struct guest_addr a;
	struct guest_error e;
	struct pollfd *p;
	int n, i, fd, closed = 0, opened = 0;
	int64_t end;
	char b[512];
	/* A Hello of protocol 2..2 with a 32-byte nonce, as the tests'. */
	static const char hello[] = "\0\0\0\050\022\046\010\002\020\002\072\040"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	bool say_hello = argc > 1 && strcmp(argv[1], "--hello") == 0;

	argc -= say_hello;
	argv += say_hello;
	if (argc != 4 || guest_addr_parse(argv[1], 0, &a, &e) < 0)
		return 2;
	n = atoi(argv[2]);
	if (n <= 0 || (p = calloc((size_t)n, sizeof *p)) == NULL)
		return 2;
	for (i = 0; i < n; i++) {
		p[i].fd = -1;
		if (guest_connect(&a, 10000, NULL, &fd, &e) < 0) {
			fprintf(stderr, "holdconn: %s\n", e.msg);
			continue;
		}
		if (say_hello && write(fd, hello, sizeof hello - 1) !=
		    (ssize_t)(sizeof hello - 1)) {
			close(fd);
			continue;
		}
		p[i].fd = fd;
		p[i].events = POLLIN;
		opened++;
	}
	printf("held %d\n", opened);
	fflush(stdout);
	end = guest_now_ms() + atoi(argv[3]) * 1000LL;
	while (guest_now_ms() < end && closed < opened) {
		if (poll(p, (nfds_t)n, 200) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			if (read(p[i].fd, b, sizeof b) > 0)
				continue;	/* the Error; EOF next */
			close(p[i].fd);
			p[i].fd = -1;
			closed++;
		}
		printf("closed %d\n", closed);
		fflush(stdout);
	}
	for (i = 0; i < n; i++)
		if (p[i].fd >= 0)
			close(p[i].fd);
	free(p);
	return 0;
}
