/*
 * rawfile: the floor for guest cp, a file copied over a bare Unix socket
 * with nothing else: no framing, names, checksum or temp.
 *
 *   rawfile serve SOCK OUT   accept, write what comes to OUT (truncated),
 *                            then answer one byte: it is written
 *   rawfile send SOCK FILE   sendfile FILE to the socket, wait for the byte
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

int
main(int argc, char **argv)
{
	static char buf[CHUNK];
	struct stat st;
	off_t off = 0;
	ssize_t n;
	int fd, c, out, in;

	if (argc != 4)
		return 2;
	if (strcmp(argv[1], "serve") == 0) {
		if ((fd = bench_listen(argv[2], 1 << 20)) < 0)
			return 1;
		for (;;) {
			if ((c = accept(fd, NULL, NULL)) < 0)
				continue;
			out = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
			while ((n = read(c, buf, sizeof buf)) > 0)
				if (write(out, buf, (size_t)n) != n)
					break;
			close(out);
			(void)!write(c, "k", 1);
			close(c);
		}
	}
	if ((in = open(argv[3], O_RDONLY)) < 0 || fstat(in, &st) < 0 ||
	    (fd = bench_connect(argv[2], 1 << 20)) < 0)
		return 1;
	while (off < st.st_size)
		if (sendfile(fd, in, &off, (size_t)(st.st_size - off)) <= 0)
			return 1;
	shutdown(fd, SHUT_WR);
	return read(fd, buf, 1) == 1 ? 0 : 1;
}
