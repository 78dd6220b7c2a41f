/*
 * rawcat: bulk bytes through `cat` over a bare Unix socket, the baseline
 * for `guest vsh -T -- cat`.
 *
 *   rawcat serve PATH   accept, fork, exec cat with the socket as stdio
 *   rawcat sink PATH    accept, fork, read and discard until EOF
 *   rawcat run PATH     stdin to the socket (then half-close), the socket
 *                       to stdout, with the same poll loop and chunk size
 *                       a relay needs
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sock.h"

#define CHUNK (128 * 1024)

static void
sink(int c, void *arg)
{
	static char buf[CHUNK];

	(void)arg;
	while (read(c, buf, sizeof buf) > 0)
		;
}

static void
run_cat(int c, void *arg)
{
	(void)arg;
	dup2(c, 0);
	dup2(c, 1);
	execlp("cat", "cat", (char *)NULL);
	_exit(127);
}

int
main(int argc, char **argv)
{
	static char a[CHUNK], b[CHUNK];
	struct pollfd p[2];
	ssize_t n;
	int fd, in_open = 1;
	size_t pend = 0, off = 0;

	if (argc != 3)
		return 2;
	if (strcmp(argv[1], "serve") == 0 || strcmp(argv[1], "sink") == 0) {
		if ((fd = bench_listen(argv[2], 0)) < 0)
			return 1;
		bench_serve_forked(fd, strcmp(argv[1], "sink") == 0 ? sink :
		    run_cat, NULL);
	}
	if ((fd = bench_connect(argv[2], 1 << 20)) < 0)
		return 1;
	/* Never block writing to the socket: the far end's cat may be
	 * blocked writing back to us, and then we must go on reading. */
	fcntl(fd, F_SETFL, O_NONBLOCK);
	for (;;) {
		p[0].fd = in_open && pend == 0 ? 0 : -1;
		p[0].events = POLLIN;
		p[1].fd = fd;
		p[1].events = POLLIN | (pend > 0 ? POLLOUT : 0);
		if (poll(p, 2, -1) < 0)
			return 1;
		if (p[0].revents) {
			n = read(0, a, sizeof a);
			if (n <= 0) {
				in_open = 0;
				shutdown(fd, SHUT_WR);
			} else {
				pend = (size_t)n;
				off = 0;
			}
		}
		if (pend > 0) {
			n = write(fd, a + off, pend);
			if (n > 0) {
				off += (size_t)n;
				pend -= (size_t)n;
			} else if (n < 0 && errno != EAGAIN)
				return 1;
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(fd, b, sizeof b);
			if (n == 0)
				return 0;
			if (n < 0 && errno != EAGAIN)
				return 1;
			if (n > 0 && write(1, b, (size_t)n) != n)
				return 1;
		}
	}
}
