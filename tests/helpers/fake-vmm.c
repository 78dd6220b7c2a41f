/*
 * fake-vmm: the host side of Firecracker's hybrid vsock, for tests.
 *
 *   fake-vmm LISTEN_PATH PORT TARGET_PATH
 *
 * Accepts on LISTEN_PATH; a connection that says "CONNECT PORT\n" gets
 * "OK <n>\n" and is relayed to the Unix socket TARGET_PATH (standing in
 * for the agent in the guest); any other port is closed at once, as
 * Firecracker does when nothing listens there.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void
pump(int a, int b)
{
	char buf[65536];
	int fd[2] = { a, b };
	struct pollfd p[2] = { { a, POLLIN, 0 }, { b, POLLIN, 0 } };
	ssize_t n;
	int i;

	/* p[i].fd goes to -1 once side i has said EOF; fd[] keeps the
	 * sockets, since the other way may still be flowing. */
	while (p[0].fd >= 0 || p[1].fd >= 0) {
		if (poll(p, 2, -1) < 0)
			return;
		for (i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			n = read(fd[i], buf, sizeof buf);
			if (n <= 0) {
				shutdown(fd[1 - i], SHUT_WR);
				p[i].fd = -1;
				continue;
			}
			/* The other side gone (EPIPE): drop this way only;
			 * what it still has to say must get through, as a
			 * VMM's relay would let it. */
			if (write(fd[1 - i], buf, (size_t)n) != n) {
				shutdown(fd[i], SHUT_RD);
				p[i].fd = -1;
			}
		}
	}
}

static void
serve(int c, unsigned port, const char *target)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char line[64], want[32];
	size_t got = 0;
	int t;

	while (got < sizeof line - 1 && read(c, line + got, 1) == 1)
		if (line[got++] == '\n')
			break;
	line[got] = '\0';
	snprintf(want, sizeof want, "CONNECT %u\n", port);
	if (strcmp(line, want) != 0)
		return;
	strcpy(sa.sun_path, target);
	t = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(t, (struct sockaddr *)&sa, sizeof sa) < 0)
		return;
	if (write(c, "OK 1073741824\n", 14) != 14)
		return;
	pump(c, t);
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, c;

	if (argc != 4 || strlen(argv[1]) >= sizeof sa.sun_path ||
	    strlen(argv[3]) >= sizeof sa.sun_path) {
		fprintf(stderr, "usage: fake-vmm LISTEN_PATH PORT TARGET\n");
		return 2;
	}
	signal(SIGCHLD, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);	/* a closed side is handled, not fatal */
	strcpy(sa.sun_path, argv[1]);
	unlink(sa.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    listen(fd, 16) < 0) {
		perror("fake-vmm");
		return 1;
	}
	for (;;) {
		if ((c = accept(fd, NULL, NULL)) < 0)
			continue;
		if (fork() == 0) {
			close(fd);
			serve(c, (unsigned)atoi(argv[2]), argv[3]);
			_exit(0);
		}
		close(c);
	}
}
