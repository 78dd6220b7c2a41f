/*
 * exec-floor: the least a remote exec can do, as a baseline for
 * `guest vsh -- CMD`.
 *
 *   exec-floor serve PATH         accept, fork, read argv, run it with the
 *                                 connection as its stdio, send the status
 *   exec-floor run PATH CMD...    send argv, print output, exit with status
 *
 * No framing, no handshake, no policy: one request, one status byte.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sock.h"

static void
serve_one(int c, void *arg)
{
	char buf[4096], *argv[64];
	ssize_t n, got = 0;
	int argc = 0, st;
	unsigned char code;
	pid_t pid;
	char *p;

	(void)arg;
	/* argv as NUL-terminated strings, then an empty one. */
	while ((n = read(c, buf + got, sizeof buf - 1 - (size_t)got)) > 0) {
		got += n;
		if (got >= 2 && buf[got - 1] == '\0' && buf[got - 2] == '\0')
			break;
	}
	for (p = buf; p < buf + got && *p && argc < 63; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	pid = fork();
	if (pid == 0) {
		dup2(c, 0);
		dup2(c, 1);
		dup2(c, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	(void)!write(c, &code, 1);
}

int
main(int argc, char **argv)
{
	char buf[65536];
	unsigned char code = 255;
	ssize_t n;
	int fd, i;

	if (argc >= 3 && strcmp(argv[1], "serve") == 0) {
		if ((fd = bench_listen(argv[2], 0)) < 0)
			return 1;
		bench_serve_forked(fd, serve_one, NULL);
	}
	if (argc < 4 || strcmp(argv[1], "run") != 0)
		return 2;
	if ((fd = bench_connect(argv[2], 0)) < 0)
		return 255;
	for (i = 3; i < argc; i++)
		(void)!write(fd, argv[i], strlen(argv[i]) + 1);
	(void)!write(fd, "", 1);
	/* Output, then the status as the last byte before close. */
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		if (n > 1)
			(void)!write(1, buf, (size_t)n - 1);
		code = (unsigned char)buf[n - 1];
	}
	return code;
}
