/*
 * ptylocal: run a command on a local PTY and copy its output to stdout,
 * the floor for `guest vsh -t -- CMD` (one relay hop, no network).
 *
 *   ptylocal CMD ARGS...
 */
#include <pty.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	static char buf[65536];
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	ssize_t n;
	pid_t pid;
	int m, st;

	if (argc < 2)
		return 2;
	pid = forkpty(&m, NULL, NULL, &ws);
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	while ((n = read(m, buf, sizeof buf)) > 0)
		if (write(1, buf, (size_t)n) != n)
			return 1;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
