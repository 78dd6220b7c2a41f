/*
 * exec-floor: the least a remote exec can do, as a baseline for
 * `guest vsh -- CMD`.
 *
 *   exec-floor serve PATH         one connection at a time: accept, read
 *                                 argv, posix_spawn it with the
 *                                 connection as its stdio, wait, send the
 *                                 status byte
 *   exec-floor serve-fork PATH    the earlier floor, for reference: a
 *                                 process per connection, which forks
 *                                 and execs the command
 *   exec-floor run PATH CMD...    send argv, print output, exit with status
 *   exec-floor send PATH FILE     send FILE's bytes as they are (a
 *                                 recorded request), read to the end:
 *                                 a server's side of the time alone
 *
 * No framing, no handshake, no policy, no process per connection, no
 * environment of its own: one request, one spawn (vfork-like), one
 * status byte.
 */
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sock.h"

extern char **environ;

/* argv as NUL-terminated strings, then an empty one, into buf. */
static int
read_argv(int c, char *buf, size_t size, char **argv)
{
	ssize_t n, got = 0;
	int argc = 0;
	char *p;

	while ((n = read(c, buf + got, size - 1 - (size_t)got)) > 0) {
		got += n;
		if (got >= 2 && buf[got - 1] == '\0' && buf[got - 2] == '\0')
			break;
	}
	for (p = buf; p < buf + got && *p && argc < 63; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	return argc;
}

static void
serve_one(int c)
{
	char buf[4096], *argv[64];
	posix_spawn_file_actions_t fa;
	unsigned char code = 127;
	pid_t pid;
	int st;

	if (read_argv(c, buf, sizeof buf, argv) == 0)
		return;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, c, 0);
	posix_spawn_file_actions_adddup2(&fa, c, 1);
	posix_spawn_file_actions_adddup2(&fa, c, 2);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) == 0 &&
	    waitpid(pid, &st, 0) == pid)
		code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	posix_spawn_file_actions_destroy(&fa);
	(void)!write(c, &code, 1);
}

static void
serve_forked(int c, void *arg)
{
	char buf[4096], *argv[64];
	unsigned char code;
	pid_t pid;
	int st;

	(void)arg;
	if (read_argv(c, buf, sizeof buf, argv) == 0)
		return;
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
		for (;;) {
			int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

			if (c < 0)
				continue;
			serve_one(c);
			close(c);
		}
	}
	if (argc >= 3 && strcmp(argv[1], "serve-fork") == 0) {
		if ((fd = bench_listen(argv[2], 0)) < 0)
			return 1;
		bench_serve_forked(fd, serve_forked, NULL);
	}
	if (argc == 4 && strcmp(argv[1], "send") == 0) {
		FILE *f = fopen(argv[3], "rb");
		size_t len;

		if (f == NULL)
			return 2;
		len = fread(buf, 1, sizeof buf, f);
		fclose(f);
		if ((fd = bench_connect(argv[2], 0)) < 0)
			return 255;
		(void)!write(fd, buf, len);
		while (read(fd, buf, sizeof buf) > 0)
			;
		return 0;
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
