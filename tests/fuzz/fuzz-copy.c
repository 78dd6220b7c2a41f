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

static void *
drain(void *arg)
{
	char buf[65536];
	int fd = *(int *)arg;

	while (read(fd, buf, sizeof buf) > 0)
		;
	return NULL;
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
		snprintf(root, sizeof root, "/tmp/fuzz-copy.XXXXXX");
		if (mkdtemp(root) == NULL)
			abort();
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
	pthread_create(&t, NULL, drain, &sv[0]);
	o.expect = (size & 1) ? names : NULL;
	o.n_expect = 1;
	guest_conn_init(&c, sv[1]);
	guest_conn_established(&c);
	(void)guest_copy_recv(&c, root, (size & 2) ? 2 : 1, &o, NULL, &p, &e);
	guest_conn_close(&c);		/* closes sv[1]: the drain ends */
	pthread_join(t, NULL);
	close(sv[0]);
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
