/*
 * hop-rtt: what one hop between two processes costs on this machine, as
 * a byte bounced between them (blocking read, write back), over a Unix
 * socket pair and over a PTY in raw mode.  Prints two lines, the median
 * round trip of each in microseconds:
 *
 *   unix US
 *   pty US
 *
 * For the echo rows: a remote terminal's key crosses at least the
 * floor's hops plus a socket each way.
 */
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define N	20000

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
bounce(int a, int b)
{
	static double t[N];
	struct timespec t0, t1;
	char c = 'x';
	pid_t pid;
	int i;

	if ((pid = fork()) == 0) {
		close(a);
		while (read(b, &c, 1) == 1)
			if (write(b, &c, 1) != 1)
				break;
		_exit(0);
	}
	for (i = 0; i < N; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (write(a, &c, 1) != 1 || read(a, &c, 1) != 1)
			exit(1);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		t[i] = (double)(t1.tv_sec - t0.tv_sec) * 1e6 +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	qsort(t, N, sizeof t[0], cmp);
	return t[N / 2];
}

int
main(void)
{
	struct termios raw;
	int sv[2], m, s;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 1;
	printf("unix %.1f\n", bounce(sv[0], sv[1]));
	if (openpty(&m, &s, NULL, NULL, NULL) < 0 || tcgetattr(s, &raw) < 0)
		return 1;
	cfmakeraw(&raw);
	tcsetattr(s, TCSANOW, &raw);
	printf("pty %.1f\n", bounce(m, s));
	return 0;
}
