/*
 * rawfile: the floor for guest cp, a file copied over a bare Unix socket
 * with nothing else: no framing, names, checksum or temp.  Both
 * directions, as guest cp has them: the process started for the copy is
 * the sender in a push and the receiver in a pull, the long-running one
 * (the agent's place) the other end.
 *
 *   rawfile serve SOCK OUT   (push) accept, write what comes to OUT
 *                            (truncated), then answer one byte: written
 *   rawfile send SOCK FILE   sendfile FILE to the socket, wait for the byte
 *   rawfile offer SOCK FILE  (pull) accept, sendfile FILE, wait for the byte
 *   rawfile fetch SOCK OUT   write what comes to OUT, answer one byte
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sock.h"

#define CHUNK (256 * 1024)

static char buf[CHUNK];

/* The file at path into fd, then the end of the stream: 0 or -1. */
static int
give(int fd, const char *path)
{
	struct stat st;
	off_t off = 0;
	int in, r = 0;

	if ((in = open(path, O_RDONLY)) < 0 || fstat(in, &st) < 0)
		return -1;
	while (r == 0 && off < st.st_size)
		if (sendfile(fd, in, &off, (size_t)(st.st_size - off)) <= 0)
			r = -1;
	close(in);
	shutdown(fd, SHUT_WR);
	return r;
}

/* What comes from fd to path (truncated), then the byte that says so. */
static int
take(int fd, const char *path)
{
	ssize_t n;
	int out, r = 0;

	if ((out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
		return -1;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n) {
			r = -1;
			break;
		}
	if (close(out) != 0 || n < 0)
		r = -1;
	if (r == 0 && write(fd, "k", 1) != 1)
		r = -1;
	return r;
}

int
main(int argc, char **argv)
{
	int fd, c, serve, offer;

	if (argc != 4)
		return 2;
	serve = strcmp(argv[1], "serve") == 0;
	offer = strcmp(argv[1], "offer") == 0;
	if (serve || offer) {
		if ((fd = bench_listen(argv[2], 1 << 20)) < 0)
			return 1;
		for (;;) {
			if ((c = accept(fd, NULL, NULL)) < 0)
				continue;
			if (serve)
				(void)take(c, argv[3]);
			else if (give(c, argv[3]) == 0)
				(void)!read(c, buf, 1);
			close(c);
		}
	}
	if ((fd = bench_connect(argv[2], 1 << 20)) < 0)
		return 1;
	if (strcmp(argv[1], "send") == 0)
		return give(fd, argv[3]) == 0 && read(fd, buf, 1) == 1 ? 0 : 1;
	if (strcmp(argv[1], "fetch") == 0)
		return take(fd, argv[3]) == 0 ? 0 : 1;
	return 2;
}
