/*
 * Fuzz target: the receiving end of guest cp, fed what a hostile sender
 * could send after the handshake.  Each input is written into one end of
 * a socket pair; guest_copy_recv() reads the other into a fresh directory,
 * which is emptied again afterwards.  A thread drains the answers, so the
 * receiver never waits on us.
 */
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest/copy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[4096];	/* also removed at exit (libFuzzer's
				 * merge child leaves without it: see
				 * scripts/fuzz.sh) */

/* One thread for the whole run drains the answers of each input in turn:
 * it is handed the fd through a pipe and says when the fd reached its
 * end (a thread per input cost more than the receiver's work). */
static int to_drain[2] = { -1, -1 }, drained[2] = { -1, -1 };

/* One int through a pipe; libFuzzer's timer interrupts the wait. */
static void
pipe_int(int fd, int *v, bool out)
{
	ssize_t n;

	do
		n = out ? write(fd, v, sizeof *v) : read(fd, v, sizeof *v);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof *v)
		abort();
}

static void *
drain(void *arg)
{
	char buf[65536];
	ssize_t n;
	int fd;

	(void)arg;
	for (;;) {
		pipe_int(to_drain[0], &fd, false);
		while ((n = read(fd, buf, sizeof buf)) > 0 ||
		    (n < 0 && errno == EINTR))
			;
		pipe_int(drained[1], &fd, true);
	}
	return NULL;
}

static int rm_one(const char *, const struct stat *, int, struct FTW *);

static void
rm_root(void)
{
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	rmdir(root);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	if (f->level > 0)
		remove(path);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_copy_opts o = { .recursive = true, .preserve = true };
	char *const names[] = { "top" };
	struct guest_copy_progress p;
	struct guest_error e;
	struct guest_conn c;
	pthread_t t;
	size_t off = 0;
	ssize_t n;
	int sv[2], sz = 4 << 20;

	if (root[0] == '\0') {
		/* tmpfs where there is one: a disk file system's inode
		 * work was a good part of each input's time. */
		const char *base = getenv("FUZZ_TMPDIR");

		if (base == NULL || *base == '\0')
			base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" :
			    "/tmp";
		snprintf(root, sizeof root, "%.4000s/fuzz-copy.XXXXXX", base);
		if (mkdtemp(root) == NULL || pipe(to_drain) < 0 ||
		    pipe(drained) < 0 || pthread_create(&t, NULL, drain,
		    NULL) != 0)
			abort();
		pthread_detach(t);
		atexit(rm_root);
	}
	if (size > 256 * 1024)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	while (off < size && ((n = write(sv[0], data + off, size - off)) > 0 ||
	    (n < 0 && errno == EINTR)))
		off += n > 0 ? (size_t)n : 0;
	shutdown(sv[0], SHUT_WR);
	pipe_int(to_drain[1], &sv[0], true);
	o.expect = (size & 1) ? names : NULL;
	o.n_expect = 1;
	guest_conn_init(&c, sv[1]);
	guest_conn_established(&c);
	(void)guest_copy_recv(&c, root, (size & 2) ? 2 : 1, &o, NULL, &p, &e);
	guest_conn_close(&c);		/* closes sv[1]: the drain ends */
	pipe_int(drained[0], &sv[1], false);
	close(sv[0]);
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
