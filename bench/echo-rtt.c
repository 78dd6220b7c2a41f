/*
 * echo-rtt: keystroke echo round trips through a terminal client.
 *
 *   echo-rtt [-n SAMPLES] [-w WARMUP] -- CMD ARGS...
 *
 * Runs CMD on a PTY of its own (as a person's terminal would), waits
 * until what it types comes back, then types one key at a time and
 * measures how long each takes to come back: CMD's far end is expected
 * to run `cat` on a terminal, whose line discipline echoes.  Every 64
 * keys a carriage return ends the line (cat's line stays short) and the
 * output settles.  Prints one sample per line, in microseconds.  At the
 * end it types ^] (guest's detach key; ptylocal -i leaves on it too),
 * then hangs CMD up.
 */
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Read until byte c comes (or timeout_ms passes): 0 or -1. */
static int
wait_byte(int m, char c, int timeout_ms)
{
	char buf[4096];
	int64_t end = now_us() + (int64_t)timeout_ms * 1000;
	struct pollfd p = { .fd = m, .events = POLLIN };
	ssize_t n;
	int left;

	for (;;) {
		left = (int)((end - now_us()) / 1000);
		if (left < 0)
			return -1;
		if (poll(&p, 1, left) <= 0)
			continue;
		n = read(m, buf, sizeof buf);
		if (n <= 0)
			return -1;
		if (memchr(buf, c, (size_t)n) != NULL)
			return 0;
	}
}

/* Read and discard until quiet for ms. */
static void
settle(int m, int ms)
{
	char buf[4096];
	struct pollfd p = { .fd = m, .events = POLLIN };

	while (poll(&p, 1, ms) > 0)
		if (read(m, buf, sizeof buf) <= 0)
			return;
}

int
main(int argc, char **argv)
{
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	struct termios raw;
	int n = 1000, warm = 50, i, m, o;
	int64_t t0, *samples;
	char c;
	pid_t pid;

	while ((o = getopt(argc, argv, "n:w:")) != -1) {
		switch (o) {
		case 'n':	n = atoi(optarg); break;
		case 'w':	warm = atoi(optarg); break;
		default:	return 2;
		}
	}
	if (optind >= argc || n <= 0)
		return 2;
	if ((samples = calloc((size_t)n, sizeof *samples)) == NULL)
		return 1;
	pid = forkpty(&m, NULL, NULL, &ws);
	if (pid == 0) {
		/* A raw terminal from the start: nothing may echo but the
		 * far end (a client still connecting would leave the local
		 * echo on). */
		if (tcgetattr(0, &raw) == 0) {
			cfmakeraw(&raw);
			tcsetattr(0, TCSANOW, &raw);
		}
		execvp(argv[optind], argv + optind);
		_exit(127);
	}
	/* Ready when a typed key comes back. */
	for (i = 0; i < 300; i++) {
		if (write(m, "#", 1) != 1)
			return 1;
		if (wait_byte(m, '#', 100) == 0)
			break;
	}
	if (i == 300) {
		fprintf(stderr, "echo-rtt: %s never echoed\n", argv[optind]);
		kill(pid, SIGKILL);
		return 1;
	}
	if (write(m, "\r", 1) != 1)
		return 1;
	settle(m, 100);
	for (i = -warm; i < n; i++) {
		c = (char)('a' + (i + warm) % 26);
		t0 = now_us();
		if (write(m, &c, 1) != 1 || wait_byte(m, c, 5000) < 0) {
			fprintf(stderr, "echo-rtt: no echo of key %d\n", i);
			kill(pid, SIGKILL);
			return 1;
		}
		if (i >= 0)
			samples[i] = now_us() - t0;
		if ((i + warm) % 64 == 63) {
			if (write(m, "\r", 1) != 1)
				return 1;
			settle(m, 20);
		}
	}
	for (i = 0; i < n; i++)
		printf("%lld\n", (long long)samples[i]);
	(void)!write(m, "\x1d", 1);
	settle(m, 200);
	/* Then SIGHUP, and SIGKILL for what ignores it (as under nohup). */
	kill(pid, SIGHUP);
	for (i = 0; i < 100 && waitpid(pid, NULL, WNOHANG) == 0; i++)
		usleep(10000);
	if (i == 100) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return 0;
}
