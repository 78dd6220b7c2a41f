/*
 * ptylocal: run a command on a local PTY, one relay hop and no network:
 * the floor for `guest vsh -t` and `guest console`.
 *
 *   ptylocal CMD ARGS...     copy the PTY's output to stdout (bulk)
 *   ptylocal -i CMD ARGS...  relay both ways, stdin raw when it is a
 *                            terminal, as guest's clients do (echo)
 *
 * And the same split in two processes over a Unix socket, with no
 * protocol at all: the least any remote terminal does (two relays and a
 * socket), for reference.
 *
 *   ptylocal -l SOCK CMD ARGS...  serve: CMD on a PTY of its own for each
 *                                 connection, relayed to the socket
 *   ptylocal -c SOCK              connect: stdin and stdout to the socket,
 *                                 stdin raw when it is a terminal
 */
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "sock.h"

static char buf[65536];

/* Relay in -> peer and peer -> out until peer or the PTY ends or ^] is
 * typed (as guest's escape).  At the end of in (stdin on /dev/null) only
 * peer -> out goes on, as guest's clients and ssh do.  One poll, one read
 * and one write a wake-up. */
static void
relay(int in, int out, int peer)
{
	struct pollfd p[2] = {
		{ .fd = in, .events = POLLIN },
		{ .fd = peer, .events = POLLIN },
	};
	ssize_t n;

	while (poll(p, 2, -1) > 0) {
		if (p[0].revents) {
			if ((n = read(in, buf, sizeof buf)) < 0)
				return;
			if (n == 0) {
				p[0].fd = -1;
				continue;
			}
			if (memchr(buf, 0x1d, (size_t)n) != NULL)
				return;
			if (write(peer, buf, (size_t)n) != n)
				return;
		}
		if (p[1].revents) {
			if ((n = read(peer, buf, sizeof buf)) <= 0)
				return;
			if (write(out, buf, (size_t)n) != n)
				return;
		}
	}
}

/* Relay stdin and stdout to peer, stdin raw while it lasts. */
static void
relay_terminal(int peer)
{
	struct termios saved, raw;
	int tty = 0;

	if (tcgetattr(0, &saved) == 0) {
		tty = 1;
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(0, TCSANOW, &raw);
	}
	relay(0, 1, peer);
	if (tty)
		tcsetattr(0, TCSANOW, &saved);
}

static pid_t
spawn(int *m, char **argv)
{
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	pid_t pid;

	if ((pid = forkpty(m, NULL, NULL, &ws)) == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

struct serve_arg {
	char	**argv;
};

/* One connection: the command on a PTY of its own, relayed to it. */
static void
serve_one(int c, void *arg)
{
	struct serve_arg *sa = arg;
	pid_t pid;
	int m;

	if ((pid = spawn(&m, sa->argv)) < 0)
		return;
	relay(m, m, c);
	kill(pid, SIGKILL);
}

int
main(int argc, char **argv)
{
	int m, st;
	ssize_t n;
	pid_t pid;

	if (argc > 3 && strcmp(argv[1], "-l") == 0) {
		struct serve_arg sa = { argv + 3 };

		if ((m = bench_listen(argv[2], 0)) < 0)
			return 1;
		bench_serve_forked(m, serve_one, &sa);
	}
	if (argc == 3 && strcmp(argv[1], "-c") == 0) {
		if ((m = bench_connect(argv[2], 0)) < 0)
			return 1;
		relay_terminal(m);
		return 0;
	}
	if (argc > 2 && strcmp(argv[1], "-i") == 0) {
		if ((pid = spawn(&m, argv + 2)) < 0)
			return 1;
		relay_terminal(m);
		/* SIGKILL: under nohup the command ignores SIGHUP. */
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		return 0;
	}
	if (argc < 2)
		return 2;
	if ((pid = spawn(&m, argv + 1)) < 0)
		return 1;
	while ((n = read(m, buf, sizeof buf)) > 0)
		if (write(1, buf, (size_t)n) != n)
			return 1;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
