/*
 * timeit: run commands side by side, interleaved round by round (each
 * round starting with the next command) so the machine's noise falls on
 * all of them alike, and print the median, 10th and 90th percentile wall
 * time of each.
 *
 *   timeit [-n RUNS] [-w WARMUP] [-t SECONDS] -- CMD ARGS... [::: CMD ARGS...]...
 *
 * Each run is fork+exec with stdin and stdout on /dev/null (stderr kept);
 * a run that exits non-zero, or takes longer than -t SECONDS (default
 * 300, then its process group is killed), fails the whole measurement.
 * Output, one line per command: median_us p10_us p90_us argv0...
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CMDS 8

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int limit = 300;
static pid_t running;

static void
on_alarm(int sig)
{
	(void)sig;
	if (running > 0)
		kill(-running, SIGKILL);
}

static double
run(char **argv)
{
	double t0 = now_us();
	pid_t pid;
	int st, fd;

	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		fd = open("/dev/null", O_RDWR);
		dup2(fd, 0);
		dup2(fd, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	running = pid;
	alarm((unsigned)limit);
	while (waitpid(pid, &st, 0) < 0)
		;
	alarm(0);
	running = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "timeit: %s failed (status %d)\n", argv[0], st);
		exit(1);
	}
	return now_us() - t0;
}

int
main(int argc, char **argv)
{
	char **cmds[MAX_CMDS];
	double *t[MAX_CMDS];
	int runs = 200, warm = 10, n = 0, i, r, c;

	signal(SIGALRM, on_alarm);
	while ((c = getopt(argc, argv, "n:w:t:")) != -1) {
		if (c == 'n')
			runs = atoi(optarg);
		else if (c == 'w')
			warm = atoi(optarg);
		else if (c == 't')
			limit = atoi(optarg);
		else
			return 2;
	}
	if (optind >= argc || runs < 1)
		return 2;
	cmds[n++] = argv + optind;
	for (i = optind; i < argc && n < MAX_CMDS; i++)
		if (strcmp(argv[i], ":::") == 0) {
			argv[i] = NULL;
			cmds[n++] = argv + i + 1;
		}
	for (c = 0; c < n; c++)
		t[c] = calloc((size_t)runs, sizeof(double));
	/* Each round starts one command further on, so that none always
	 * runs right after the same one (and pays for what it left behind:
	 * memory being freed, a daemon's child still exiting). */
	for (r = 0; r < warm; r++)
		for (i = 0; i < n; i++)
			run(cmds[(r + i) % n]);
	for (r = 0; r < runs; r++)
		for (i = 0; i < n; i++) {
			c = (r + i) % n;
			t[c][r] = run(cmds[c]);
		}
	for (c = 0; c < n; c++) {
		qsort(t[c], (size_t)runs, sizeof(double), cmp);
		printf("%.0f %.0f %.0f", t[c][runs / 2], t[c][runs / 10],
		    t[c][runs * 9 / 10]);
		for (i = 0; cmds[c][i] != NULL; i++)
			printf(" %s", cmds[c][i]);
		printf("\n");
	}
	return 0;
}
