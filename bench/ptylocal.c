/*
 * ptylocal: run a command on a local PTY, one relay hop and no network:
 * the floor for `guest vsh -t` and `guest console`.
 *
 *   ptylocal CMD ARGS...     copy the PTY's output to stdout (bulk)
 *   ptylocal -i CMD ARGS...  relay both ways, stdin raw when it is a
 *                            terminal, as guest's clients do (echo)
 */
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	static char buf[65536];
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	struct termios saved, raw;
	struct pollfd p[2];
	int m, st, inter = 0, tty = 0;
	ssize_t n;
	pid_t pid;

	if (argc > 1 && strcmp(argv[1], "-i") == 0) {
		inter = 1;
		argv++;
		argc--;
	}
	if (argc < 2)
		return 2;
	pid = forkpty(&m, NULL, NULL, &ws);
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	if (!inter) {
		while ((n = read(m, buf, sizeof buf)) > 0)
			if (write(1, buf, (size_t)n) != n)
				return 1;
		waitpid(pid, &st, 0);
		return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
	}
	if (tcgetattr(0, &saved) == 0) {
		tty = 1;
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(0, TCSANOW, &raw);
	}
	p[0].fd = 0;
	p[0].events = POLLIN;
	p[1].fd = m;
	p[1].events = POLLIN;
	while (poll(p, 2, -1) > 0) {
		if (p[0].revents) {
			if ((n = read(0, buf, sizeof buf)) <= 0)
				break;
			if (memchr(buf, 0x1d, (size_t)n) != NULL)
				break;		/* ^], as guest's escape */
			if (write(m, buf, (size_t)n) != n)
				break;
		}
		if (p[1].revents) {
			if ((n = read(m, buf, sizeof buf)) <= 0)
				break;
			if (write(1, buf, (size_t)n) != n)
				break;
		}
	}
	if (tty)
		tcsetattr(0, TCSANOW, &saved);
	/* SIGKILL: under nohup the command ignores SIGHUP. */
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return 0;
}
