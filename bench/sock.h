/*
 * Unix sockets for the bench's baselines: one way to listen, to connect
 * and to serve each connection in a process of its own.
 */
#ifndef BENCH_SOCK_H
#define BENCH_SOCK_H

#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* A stream socket for path, its buffers bufsz bytes when not 0. */
static inline int
bench_socket(const char *path, int bufsz, struct sockaddr_un *sa)
{
	int fd;

	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa->sun_path)
		return -1;
	strcpy(sa->sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (bufsz > 0) {
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof bufsz);
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof bufsz);
	}
	return fd;
}

/* Listening on path (replacing what was there): the socket, or -1. */
static inline int
bench_listen(const char *path, int bufsz)
{
	struct sockaddr_un sa;
	int fd;

	if ((fd = bench_socket(path, bufsz, &sa)) < 0)
		return -1;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    listen(fd, 64) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Connected to path: the socket, or -1. */
static inline int
bench_connect(const char *path, int bufsz)
{
	struct sockaddr_un sa;
	int fd;

	if ((fd = bench_socket(path, bufsz, &sa)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Accept on fd for ever; each connection goes to fn in a child of its
 * own, which exits when fn returns. */
static inline void __attribute__((noreturn))
bench_serve_forked(int fd, void (*fn)(int c, void *arg), void *arg)
{
	int c;

	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		if ((c = accept(fd, NULL, NULL)) < 0)
			continue;
		if (fork() == 0) {
			close(fd);
			signal(SIGCHLD, SIG_DFL);
			fn(c, arg);
			_exit(0);
		}
		close(c);
	}
}

#endif
