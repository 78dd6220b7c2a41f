/*
 * Bounded byte buffer.
 *
 * The storage is 64-byte aligned and the live bytes keep their offset
 * modulo 64 (their "phase") when they are slid or the buffer empties: a
 * byte's address then matches its position in the stream it was read
 * from, so payloads a sender aligned in the stream land aligned in
 * memory, where the kernel copies into them several times faster.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest/buf.h"

#define ALIGN	64
#define PHASE(x) ((x) & (ALIGN - 1))
#define READ_MIN (64 * 1024)

const uint8_t guest_buf_nothing[1];

void
guest_buf_init(struct guest_buf *b, size_t max)
{
	memset(b, 0, sizeof *b);
	b->max = max;
}

void
guest_buf_free(struct guest_buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->off = b->len = b->cap = 0;
}

void
guest_buf_reset(struct guest_buf *b)
{
	b->off = b->len = 0;
}

int
guest_buf_reserve(struct guest_buf *b, size_t n, uint8_t **p)
{
	size_t used = guest_buf_used(b), want, phase;
	uint8_t *nd;

	if (n > b->max || used > b->max - n)
		return -ENOBUFS;
	if (b->data != NULL && b->cap - b->len >= n) {
		*p = b->data + b->len;
		return 0;
	}
	/* Slide the live bytes to the front (keeping their phase) before
	 * growing. */
	phase = PHASE(b->off);
	if (b->off > phase) {
		memmove(b->data + phase, b->data + b->off, used);
		b->slid += used;
		b->off = phase;
		b->len = phase + used;
		if (b->cap - b->len >= n) {
			*p = b->data + b->len;
			return 0;
		}
	}
	want = b->cap ? b->cap : 4096;
	while (want < phase + used + n)
		want *= 2;
	if (want > b->max + ALIGN)
		want = b->max + ALIGN;
	if (posix_memalign((void **)&nd, ALIGN, want) != 0)
		return -ENOMEM;
	if (used > 0)
		memcpy(nd + b->off, b->data + b->off, used);
	free(b->data);
	b->data = nd;
	b->cap = want;
	*p = b->data + b->len;
	return 0;
}

void
guest_buf_commit(struct guest_buf *b, size_t n)
{
	b->len += n;
}

void
guest_buf_consume(struct guest_buf *b, size_t n)
{
	if (n > guest_buf_used(b))
		n = guest_buf_used(b);
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = PHASE(b->off);
}

int
guest_buf_append(struct guest_buf *b, const void *src, size_t n)
{
	uint8_t *p;
	int r;

	if ((r = guest_buf_reserve(b, n, &p)) < 0)
		return r;
	if (n > 0)
		memcpy(p, src, n);
	guest_buf_commit(b, n);
	return 0;
}

/* What a read may take before the buffer has grown to its max, so that a
 * session of a few small messages never maps, faults in and frees
 * megabytes: its first storage (64 KiB), then what fits while it is
 * empty; once a partial
 * frame waits in it (a stream, not a few small messages), as much again
 * as it holds, so that it doubles on each such read up to its max, where
 * bulk reads go to the room at its end with no slide. */
static size_t
read_step(const struct guest_buf *b)
{
	if (b->cap == 0)
		return READ_MIN;
	if (guest_buf_used(b) == 0 && b->cap > ALIGN)
		return b->cap - ALIGN;
	return b->cap;
}

ssize_t
guest_buf_read_fd(struct guest_buf *b, int fd, size_t n)
{
	size_t step;
	uint8_t *p;
	ssize_t r;
	int e;

	if (n == 0 || n > guest_buf_avail(b)) {
		n = guest_buf_avail(b);
		if (b->cap < b->max && n > (step = read_step(b)))
			n = step;
	}
	if (n == 0)
		return -ENOBUFS;
	/* Reading into the room already at the end avoids sliding a
	 * partial frame forward on every read. */
	if (b->cap >= b->max && b->cap - b->len >= 65536 &&
	    b->cap - b->len >= n / 4) {
		p = b->data + b->len;
		if (n > b->cap - b->len)
			n = b->cap - b->len;
	} else if ((e = guest_buf_reserve(b, n, &p)) < 0)
		return e;
	do
		r = read(fd, p, n);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	guest_buf_commit(b, (size_t)r);
	return r;
}

ssize_t
guest_buf_write_fd(struct guest_buf *b, int fd)
{
	ssize_t r;

	if (guest_buf_used(b) == 0)
		return 0;
	do
		r = write(fd, guest_buf_ptr(b), guest_buf_used(b));
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	guest_buf_consume(b, (size_t)r);
	return r;
}
