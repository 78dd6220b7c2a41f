/*
 * ptyrun: run a command on a new PTY of a given size and copy what it
 * prints to stdout, for tests that need a terminal (no tmux in the nested
 * guest).  Exits with the command's status.
 *
 *   ptyrun ROWS COLS CMD ARGS...
 */
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	static char buf[65536];
	struct winsize ws = { 0 };
	ssize_t n;
	pid_t pid;
	int m, st;

	if (argc < 4) {
		fprintf(stderr, "usage: ptyrun ROWS COLS CMD ARGS...\n");
		return 2;
	}
	ws.ws_row = (unsigned short)atoi(argv[1]);
	ws.ws_col = (unsigned short)atoi(argv[2]);
	pid = forkpty(&m, NULL, NULL, &ws);
	if (pid < 0) {
		perror("ptyrun: forkpty");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[3], argv + 3);
		_exit(127);
	}
	while ((n = read(m, buf, sizeof buf)) > 0)
		if (write(1, buf, (size_t)n) != n)
			break;
	if (waitpid(pid, &st, 0) < 0)
		return 1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
