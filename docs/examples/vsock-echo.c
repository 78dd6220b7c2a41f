/*
 * vsock-echo: an echo server and client on libguest's transports, the
 * ground a plain vsock library covers: listen, accept, connect, send,
 * receive, and the local CID.  Any address guest takes works: vsock:CID:PORT
 * (vsock:PORT to listen), unix:PATH, hvsock:PATH:PORT (Firecracker and
 * Cloud Hypervisor's hybrid vsock, to connect).
 *
 *   vsock-echo serve ADDR          echo back what each peer sends
 *   vsock-echo send ADDR MESSAGE   send MESSAGE, print what comes back
 *   vsock-echo cid                 this machine's vsock CID
 *
 * Build: cc vsock-echo.c $(pkg-config --cflags --libs libguest)
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <guest/transport.h>

/* Wait until fd is ready for events (the sockets are non-blocking). */
static int
wait_fd(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	return poll(&p, 1, 10000) == 1 ? 0 : -1;
}

static int
serve(const struct guest_addr *a)
{
	struct guest_error e = { 0 };
	char buf[4096];
	ssize_t n;
	int lfd, fd;

	if (guest_listen(a, &lfd, &e) < 0) {
		fprintf(stderr, "vsock-echo: %s\n", e.msg);
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		if (wait_fd(lfd, POLLIN) < 0 ||
		    (fd = accept(lfd, NULL, NULL)) < 0)
			continue;
		/* One peer at a time: echo until it closes its side. */
		while (wait_fd(fd, POLLIN) == 0 &&
		    (n = recv(fd, buf, sizeof buf, 0)) > 0)
			if (wait_fd(fd, POLLOUT) < 0 ||
			    send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
				break;
		close(fd);
	}
}

static int
send_one(const struct guest_addr *a, const char *msg)
{
	struct guest_error e = { 0 };
	size_t len = strlen(msg), got = 0;
	char buf[4096];
	ssize_t n;
	int fd;

	if (len > sizeof buf) {
		fprintf(stderr, "vsock-echo: at most %zu bytes\n", sizeof buf);
		return 2;
	}
	if (guest_connect(a, 0, NULL, &fd, &e) < 0) {
		fprintf(stderr, "vsock-echo: %s\n", e.msg);
		return 1;
	}
	if (wait_fd(fd, POLLOUT) < 0 ||
	    send(fd, msg, len, MSG_NOSIGNAL) != (ssize_t)len) {
		fprintf(stderr, "vsock-echo: send: %s\n", strerror(errno));
		close(fd);
		return 1;
	}
	shutdown(fd, SHUT_WR);
	while (got < len && wait_fd(fd, POLLIN) == 0 &&
	    (n = recv(fd, buf + got, sizeof buf - got, 0)) > 0)
		got += (size_t)n;
	close(fd);
	printf("%.*s\n", (int)got, buf);
	return got == len ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct guest_error e = { 0 };
	struct guest_addr a;
	uint32_t cid;

	if (argc == 2 && strcmp(argv[1], "cid") == 0) {
		if (guest_vsock_local_cid(&cid) < 0) {
			fprintf(stderr, "vsock-echo: no vsock here\n");
			return 1;
		}
		printf("%u\n", cid);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "serve") == 0) {
		if (guest_addr_parse(argv[2], GUEST_ADDR_LISTEN, &a, &e) < 0)
			goto bad;
		return serve(&a);
	}
	if (argc == 4 && strcmp(argv[1], "send") == 0) {
		if (guest_addr_parse(argv[2], 0, &a, &e) < 0)
			goto bad;
		return send_one(&a, argv[3]);
	}
	fprintf(stderr, "usage: vsock-echo serve ADDR | send ADDR MESSAGE | "
	    "cid\n");
	return 2;
bad:
	fprintf(stderr, "vsock-echo: %s\n", e.msg);
	return 2;
}
