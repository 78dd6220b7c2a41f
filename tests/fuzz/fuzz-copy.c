/*
 * Fuzz target: the receiving end of guest cp, fed what a hostile sender
 * could send after the handshake.  Each input is written into one end of
 * a socket pair; guest_copy_recv() reads the other into a fresh directory,
 * which is emptied again afterwards.  A thread drains the answers, so the
 * receiver never waits on us.
 */
#include <ftw.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest/copy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[64];

/* One thread for the whole run drains the answers of each input in turn:
 * it is handed the fd through a pipe and says when the fd reached its
 * end (a thread per input cost more than the receiver's work). */
static int to_drain[2] = { -1, -1 }, drained[2] = { -1, -1 };

static void *
drain(void *arg)
{
	char buf[65536];
	int fd;

	(void)arg;
	while (read(to_drain[0], &fd, sizeof fd) == (ssize_t)sizeof fd) {
		while (read(fd, buf, sizeof buf) > 0)
			;
		if (write(drained[1], &fd, sizeof fd) != (ssize_t)sizeof fd)
			abort();
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
		snprintf(root, sizeof root, "%s/fuzz-copy.XXXXXX",
		    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
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
	while (off < size && (n = write(sv[0], data + off, size - off)) > 0)
		off += (size_t)n;
	shutdown(sv[0], SHUT_WR);
	if (write(to_drain[1], &sv[0], sizeof sv[0]) != (ssize_t)sizeof sv[0])
		abort();
	o.expect = (size & 1) ? names : NULL;
	o.n_expect = 1;
	guest_conn_init(&c, sv[1]);
	guest_conn_established(&c);
	(void)guest_copy_recv(&c, root, (size & 2) ? 2 : 1, &o, NULL, &p, &e);
	guest_conn_close(&c);		/* closes sv[1]: the drain ends */
	if (read(drained[0], &sv[1], sizeof sv[1]) != (ssize_t)sizeof sv[1])
		abort();
	close(sv[0]);
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
