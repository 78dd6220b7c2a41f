/*
 * A byte buffer with a hard maximum size, in the spirit of OpenSSH's sshbuf:
 * data lives between off and len; growth past max fails with -ENOBUFS
 * instead of allocating without bound.
 */
#ifndef GUEST_BUF_H
#define GUEST_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct guest_buf {
	uint8_t	*data;
	size_t	 off;	/* first unread byte */
	size_t	 len;	/* end of data */
	size_t	 cap;	/* allocated */
	size_t	 max;	/* never grow past this */
	uint64_t slid;	/* bytes moved to the front, ever */
};

/* An empty buffer that will never hold more than max bytes; it allocates
 * nothing until data comes.  guest_buf_free releases the storage (the
 * buffer is empty and usable again after); guest_buf_reset empties it and
 * keeps the storage. */
void	 guest_buf_init(struct guest_buf *, size_t max);
void	 guest_buf_free(struct guest_buf *);
void	 guest_buf_reset(struct guest_buf *);

/* Bytes held. */
static inline size_t
guest_buf_used(const struct guest_buf *b)
{
	return b->len - b->off;
}

/* What an empty buffer that never had storage points at: an offset from
 * NULL, even 0, is undefined, and so is NULL given to memcpy. */
extern const uint8_t guest_buf_nothing[];

static inline const uint8_t *
guest_buf_ptr(const struct guest_buf *b)
{
	return b->data != NULL ? b->data + b->off : guest_buf_nothing;
}

/* Room that can still be added without exceeding max. */
static inline size_t
guest_buf_avail(const struct guest_buf *b)
{
	return b->max - guest_buf_used(b);
}

/* Make room for n more bytes at the end, moving or growing the storage;
 * *p points at the room.  -ENOBUFS if that would pass max. */
int	 guest_buf_reserve(struct guest_buf *, size_t n, uint8_t **p);
/* Count n bytes written into reserved room as held. */
void	 guest_buf_commit(struct guest_buf *, size_t n);
/* Drop n bytes from the front (at most what is held). */
void	 guest_buf_consume(struct guest_buf *, size_t n);
/* Copy n bytes onto the end: 0, or -ENOBUFS past max (nothing added). */
int	 guest_buf_append(struct guest_buf *, const void *, size_t);

/* read(2) up to n bytes (0: as much as fits) onto the end.  Returns bytes
 * read, 0 on EOF, negative errno (-EAGAIN included) on failure. */
ssize_t	 guest_buf_read_fd(struct guest_buf *, int fd, size_t n);
/* write(2) from the front.  Returns bytes written or negative errno. */
ssize_t	 guest_buf_write_fd(struct guest_buf *, int fd);

#endif
