/*
 * guest cp, both ends: the sender walks and reads sources and streams them;
 * the receiver writes them beneath a destination, atomically and verified.
 * The host is the sender of a push and the receiver of a pull; the agent
 * the other way round.  The same code runs on both, so both get the same
 * checks: names, links, temps, checksums, sizes.
 */
#ifndef GUEST_COPY_H
#define GUEST_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/conn.h"
#include "guest/error.h"

#define GUEST_COPY_TMP_PREFIX	".guest-cp."

struct guest_copy_opts {
	bool		 recursive;
	bool		 preserve;	/* mode and mtime */
	bool		 owner;		/* and ownership, as root */
	bool		 parents;	/* create missing parents of dest */
	/* Receiver: a directory where each receiving process records the
	 * directories it makes temps in (a file named after its pid,
	 * removed when it is done), for guest_copy_sweep() after a crash
	 * (NULL: none). */
	const char	*journal;
	/* Receiver: the names the top-level entries may have (the sources'
	 * own names, on a pull); NULL: any single name. */
	char *const	*expect;
	size_t		 n_expect;
};

struct guest_copy_progress {
	uint64_t	 bytes, total_bytes;
	uint64_t	 entries, total_entries;
	uint64_t	 failed;
};

struct guest_copy_cb {
	/* An entry that failed, named as the sender called it. */
	void	(*failed)(void *arg, const char *path, const char *msg);
	void	(*progress)(void *arg, const struct guest_copy_progress *);
	void	 *arg;
};

/* Send paths ("-": standard input, as a stream) over c.  Returns 0 when
 * the copy ran to the end (out->failed says how many entries did not make
 * it), or a negative errno when the session broke, with e. */
int	guest_copy_send(struct guest_conn *c, char *const *paths, size_t n,
	    const struct guest_copy_opts *o, const struct guest_copy_cb *cb,
	    struct guest_copy_progress *out, struct guest_error *e);

/* Check the destination before anything is received: 0, or a negative
 * errno with e (a missing parent, several sources into a non-directory).
 * guest_copy_recv() checks again. */
int	guest_copy_check_dest(const char *dest, uint32_t nsources,
	    const struct guest_copy_opts *o, struct guest_error *e);

/* Receive into dest ("-": standard output, one regular file) what the
 * sender sends for nsources sources, as cp(1) would place it: into dest
 * when it is a directory, else as dest. */
int	guest_copy_recv(struct guest_conn *c, const char *dest,
	    uint32_t nsources, const struct guest_copy_opts *o,
	    const struct guest_copy_cb *cb, struct guest_copy_progress *out,
	    struct guest_error *e);

/* Remove the temps that dead copies left in the directories their
 * journal files list (a temp is named after the process that made it;
 * live ones are left alone), and those files.  Live copies' journals are
 * not touched, so copies may sweep each other. */
void	guest_copy_sweep(const char *journal);

/* The name a source path goes by on the other side: its last component
 * ("dir/" is "dir"); -EINVAL for "/", "..", "." and the like. */
int	guest_copy_source_name(const char *src, char *out, size_t n);

/* Is this one path component safe to create: not empty, not . or .., no
 * slash? */
bool	guest_copy_name_ok(const char *name, size_t len);

#endif
