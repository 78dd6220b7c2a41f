/*
 * rawpeer: a byte-level peer on a Unix socket for black-box tests, to
 * play a broken client or a broken agent.
 *
 *   rawpeer connect PATH   send stdin, then print what comes back
 *   rawpeer serve PATH     accept one connection, send stdin, print
 *                          what the client sent
 *
 * Both stop when the other side closes or after 15 seconds of silence
 * (exit 3).
 */
#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int
relay(int fd)
{
	char buf[65536];
	struct pollfd p[2];
	bool in_open = true;
	ssize_t n;

	for (;;) {
		p[0].fd = in_open ? 0 : -1;
		p[0].events = POLLIN;
		p[1].fd = fd;
		p[1].events = POLLIN;
		n = poll(p, 2, 15000);
		if (n == 0)
			return 3;
		if (n < 0)
			return 1;
		if (p[0].revents) {
			n = read(0, buf, sizeof buf);
			if (n <= 0) {
				in_open = false;
				shutdown(fd, SHUT_WR);
			} else if (write(fd, buf, (size_t)n) != n) {
				in_open = false;
			}
		}
		if (p[1].revents) {
			n = read(fd, buf, sizeof buf);
			if (n <= 0)
				return 0;
			if (write(1, buf, (size_t)n) != n)
				return 1;
		}
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, c;

	if (argc != 3 || strlen(argv[2]) >= sizeof sa.sun_path) {
		fprintf(stderr, "usage: rawpeer connect|serve PATH\n");
		return 2;
	}
	strcpy(sa.sun_path, argv[2]);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (strcmp(argv[1], "connect") == 0) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
			perror("rawpeer: connect");
			return 1;
		}
		return relay(fd);
	}
	unlink(sa.sun_path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    listen(fd, 1) < 0) {
		perror("rawpeer: listen");
		return 1;
	}
	if ((c = accept(fd, NULL, NULL)) < 0) {
		perror("rawpeer: accept");
		return 1;
	}
	return relay(c);
}
