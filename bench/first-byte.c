/*
 * first-byte: how long until a pattern shows in a terminal client's
 * output.
 *
 *   first-byte [-t SECONDS] PATTERN -- CMD ARGS...
 *
 * Runs CMD on a PTY of its own (as a person's terminal would) and prints
 * the microseconds from just before its start until PATTERN has appeared
 * in its output, then hangs it up (SIGHUP, then SIGKILL).  Exit status 1
 * when PATTERN does not come within the timeout (60 s).
 */
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int
main(int argc, char **argv)
{
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	char buf[65536];
	const char *pat;
	size_t have = 0, plen;
	int64_t t0, end;
	int o, m, i, timeout = 60, found = 0;
	struct pollfd p;
	ssize_t n;
	pid_t pid;

	while ((o = getopt(argc, argv, "t:")) != -1) {
		if (o != 't')
			return 2;
		timeout = atoi(optarg);
	}
	if (optind + 1 >= argc)
		return 2;
	pat = argv[optind++];
	plen = strlen(pat);
	if (plen == 0 || plen >= sizeof buf / 2)
		return 2;
	t0 = now_us();
	pid = forkpty(&m, NULL, NULL, &ws);
	if (pid < 0)
		return 1;
	if (pid == 0) {
		execvp(argv[optind], argv + optind);
		_exit(127);
	}
	end = t0 + (int64_t)timeout * 1000000;
	p.fd = m;
	p.events = POLLIN;
	while (!found && now_us() < end) {
		if (poll(&p, 1, 100) <= 0)
			continue;
		n = read(m, buf + have, sizeof buf - have - 1);
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		if (memmem(buf, have, pat, plen) != NULL) {
			found = 1;
			break;
		}
		/* Keep the tail that may hold the start of a match. */
		if (have > plen) {
			memmove(buf, buf + have - plen, plen);
			have = plen;
		}
	}
	if (found)
		printf("%lld\n", (long long)(now_us() - t0));
	else
		fprintf(stderr, "first-byte: no '%s' from %s\n", pat,
		    argv[optind]);
	kill(pid, SIGHUP);
	for (i = 0; i < 200 && waitpid(pid, NULL, WNOHANG) == 0; i++)
		usleep(10000);
	if (i == 200) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return found ? 0 : 1;
}
