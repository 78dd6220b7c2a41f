/*
 * guest cp, both ends (see guest/copy.h and docs/PROTOCOL.md).
 *
 * The sender never waits for the receiver's answers: headers, data and
 * ends go out back to back, file after file, and FileResults are read as
 * they come.  File bytes travel as Data frames straight from the buffer
 * they were read into; runs of zeros in sparse files as FileHole.
 *
 * The receiver writes each file to a temp beside its destination, made
 * O_CREAT|O_EXCL|O_NOFOLLOW under a random name (one taken by someone
 * else only means another draw), checks size and checksum, fsyncs,
 * renames it over the destination, fsyncs the directory, and only then
 * answers; answers wait until all that was read is handled, so that one
 * fsync of a directory serves all the files just renamed into it.  Every
 * name from the wire is one checked component, opened beneath the
 * destination with O_NOFOLLOW, so a link in the tree is never followed
 * and never written through.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest/copy.h"
#include "guest/util.h"
#include "checksum.h"

#define NBUF		4			/* read buffers in flight */
#define MAX_DEPTH	256
#define IDLE_MS		(120 * 1000)		/* a silent peer */
#define PROGRESS_EVERY	(4 * 1024 * 1024)
/* Smaller chunks (small files) go better batched in one sendmsg than as
 * a header and a splice each. */
#define SPLICE_MIN	(64 * 1024)
/* What a spliced chunk is hashed through: small enough to stay in the
 * cache, where NBUF chunk buffers in turn would not. */
#define SCRATCH		(64 * 1024)

typedef Guest__V1__FileHeader FileHeader;

static int
errno_code(int err)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:	return GUEST__V1__ERROR_CODE__ERROR_NOT_FOUND;
	case EACCES:
	case EPERM:
	case EROFS:	return GUEST__V1__ERROR_CODE__ERROR_DENIED;
	case EEXIST:
	case EISDIR:
	case ELOOP:	return GUEST__V1__ERROR_CODE__ERROR_EXISTS;
	case ENOSPC:
	case EDQUOT:	return GUEST__V1__ERROR_CODE__ERROR_NO_SPACE;
	default:	return GUEST__V1__ERROR_CODE__ERROR_IO;
	}
}

bool
guest_copy_name_ok(const char *name, size_t len)
{
	return len > 0 && len <= NAME_MAX && memchr(name, '/', len) == NULL &&
	    memchr(name, '\0', len) == NULL &&
	    !(len == 1 && name[0] == '.') &&
	    !(len == 2 && name[0] == '.' && name[1] == '.');
}

static void
progress(const struct guest_copy_cb *cb, const struct guest_copy_progress *p)
{
	if (cb != NULL && cb->progress != NULL)
		cb->progress(cb->arg, p);
}

static void
report(const struct guest_copy_cb *cb, const char *path, const char *msg)
{
	if (cb != NULL && cb->failed != NULL)
		cb->failed(cb->arg, path, msg);
}

/* The session's connection broke: the words for it, with the peer's
 * Error when one is waiting. */
static int
broken(struct guest_conn *c, int r, struct guest_error *e)
{
	struct guest_msg m = { 0 };

	if ((r == -EPIPE || r == -ECONNRESET) && c != NULL) {
		(void)guest_conn_fill(c);
		if (guest_conn_next(c, &m) > 0 &&
		    m.type == GUEST__V1__MESSAGE__BODY_ERROR) {
			r = guest_error_set(e, -EPROTO, "%s",
			    m.pb->error->message);
			guest_msg_clear(&m);
			return r;
		}
		guest_msg_clear(&m);
		return guest_error_set(e, r, "the connection was lost "
		    "(the other side went away)");
	}
	if (r == -ETIMEDOUT)
		return guest_error_set(e, r, "the other side stopped answering");
	return guest_error_set(e, r, "%s", strerror(-r));
}

/* Journal and sweep ----------------------------------------------------- */

/* The journal is a directory with a file per receiving process, named
 * after its pid: the directories it made temps in, a line each.  The
 * file goes when the process is done with its temps; a dead process's
 * is swept. */
static int
journal_file(const char *journal, long pid, char *buf, size_t n)
{
	int len = snprintf(buf, n, "%s/%ld", journal, pid);

	return len > 0 && (size_t)len < n ? 0 : -1;
}

static void
journal_add(const char *journal, const char *dir, char *last, size_t n)
{
	char path[PATH_MAX], line[PATH_MAX + 2];
	int fd, len;

	if (journal == NULL || strcmp(last, dir) == 0 ||
	    journal_file(journal, (long)getpid(), path, sizeof path) < 0)
		return;
	snprintf(last, n, "%s", dir);
	len = snprintf(line, sizeof line, "%s\n", dir);
	if (len <= 0 || (size_t)len >= sizeof line)
		return;
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0)
		return;
	(void)!write(fd, line, (size_t)len);
	close(fd);
}

/* This process made temps (last names a directory) and has none left. */
static void
journal_done(const char *journal, const char *last)
{
	char path[PATH_MAX];

	if (journal != NULL && last[0] != '\0' &&
	    journal_file(journal, (long)getpid(), path, sizeof path) == 0)
		(void)unlink(path);
}

/* ".guest-cp.PID.HEX~": the pid of the process that made it. */
static long
temp_pid(const char *name)
{
	const char *p;
	char *end;
	long pid;

	if (strncmp(name, GUEST_COPY_TMP_PREFIX,
	    sizeof GUEST_COPY_TMP_PREFIX - 1) != 0)
		return -1;
	p = name + sizeof GUEST_COPY_TMP_PREFIX - 1;
	pid = strtol(p, &end, 10);
	if (end == p || *end != '.' || pid <= 0 ||
	    strlen(end) != 1 + 16 + 1 || end[17] != '~')
		return -1;
	return pid;
}

static bool
pid_dead(long pid)
{
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/* Remove the temps of dead processes from the directories one journal
 * file lists. */
static void
sweep_listed(int jfd, const char *name)
{
	char line[PATH_MAX + 2];
	struct dirent *d;
	FILE *f;
	DIR *dir;
	long pid;
	int fd;

	if ((fd = openat(jfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return;
	if ((f = fdopen(fd, "re")) == NULL) {
		close(fd);
		return;
	}
	while (fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] != '/')
			continue;
		fd = open(line, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		while ((d = readdir(dir)) != NULL)
			if ((pid = temp_pid(d->d_name)) > 0 && pid_dead(pid))
				(void)unlinkat(dirfd(dir), d->d_name, 0);
		closedir(dir);
	}
	fclose(f);
}

void
guest_copy_sweep(const char *journal)
{
	struct dirent *d;
	DIR *jd;
	char *end;
	long pid;

	if (journal == NULL || (jd = opendir(journal)) == NULL)
		return;
	while ((d = readdir(jd)) != NULL) {
		pid = strtol(d->d_name, &end, 10);
		if (end == d->d_name || *end != '\0' || pid <= 0 ||
		    !pid_dead(pid))
			continue;	/* not a journal, or still copying */
		sweep_listed(dirfd(jd), d->d_name);
		(void)unlinkat(dirfd(jd), d->d_name, 0);
	}
	closedir(jd);
}

/* Sender --------------------------------------------------------------- */

struct item {
	char		*src;		/* local path; "-" for stdin */
	char		*rel;		/* entry path */
	struct stat	 st;
	char		*target;	/* symlinks */
	char		*error;		/* cannot be sent */
};

struct sender {
	struct guest_conn	*c;
	const struct guest_copy_cb *cb;
	struct guest_copy_progress p;
	struct item		*items;
	size_t			 n, cap;
	uint8_t			*buf[NBUF];
	bool			 busy[NBUF];
	uint8_t			*scratch;	/* SCRATCH bytes, for hashing */
	unsigned		 next;
	bool			 done;		/* the receiver's CopyDone */
	uint64_t		 last_progress;
	struct guest_error	*e;
};

static int pump_once(struct sender *);

static int
add_item(struct sender *s, const char *src, const char *rel,
    const struct stat *st, const char *error)
{
	struct item *it;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;

		if ((it = realloc(s->items, cap * sizeof *it)) == NULL)
			return -ENOMEM;
		s->items = it;
		s->cap = cap;
	}
	it = &s->items[s->n];
	memset(it, 0, sizeof *it);
	it->src = strdup(src);
	it->rel = strdup(rel);
	if (st != NULL)
		it->st = *st;
	if (error != NULL)
		it->error = strdup(error);
	if (it->src == NULL || it->rel == NULL ||
	    (error != NULL && it->error == NULL))
		return -ENOMEM;
	s->n++;
	return 0;
}

static int
walk(struct sender *s, const char *src, const char *rel, bool recursive)
{
	struct stat st;
	struct dirent **names = NULL;
	char *sub_src, *sub_rel, why[300];
	int i, n, r = 0;

	if (lstat(src, &st) < 0) {
		snprintf(why, sizeof why, "%s", strerror(errno));
		return add_item(s, src, rel, NULL, why);
	}
	if (S_ISREG(st.st_mode)) {
		s->p.total_bytes += (uint64_t)st.st_size;
		return add_item(s, src, rel, &st, NULL);
	}
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t len = readlink(src, target, sizeof target - 1);

		if (len < 0) {
			snprintf(why, sizeof why, "%s", strerror(errno));
			return add_item(s, src, rel, NULL, why);
		}
		target[len] = '\0';
		if ((r = add_item(s, src, rel, &st, NULL)) < 0)
			return r;
		if ((s->items[s->n - 1].target = strdup(target)) == NULL)
			return -ENOMEM;
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return add_item(s, src, rel, NULL, "not a regular file, "
		    "directory or symbolic link");
	if (!recursive)
		return add_item(s, src, rel, NULL, "is a directory (use -r)");
	if ((r = add_item(s, src, rel, &st, NULL)) < 0)
		return r;
	n = scandir(src, &names, NULL, alphasort);
	if (n < 0) {
		snprintf(why, sizeof why, "%s", strerror(errno));
		free(s->items[s->n - 1].error);
		s->items[s->n - 1].error = strdup(why);
		return 0;
	}
	for (i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;

		if (r == 0 && strcmp(nm, ".") != 0 && strcmp(nm, "..") != 0) {
			if (asprintf(&sub_src, "%s/%s", src, nm) < 0)
				r = -ENOMEM;
			else if (asprintf(&sub_rel, "%s/%s", rel, nm) < 0) {
				free(sub_src);
				r = -ENOMEM;
			} else {
				r = walk(s, sub_src, sub_rel, true);
				free(sub_src);
				free(sub_rel);
			}
		}
		free(names[i]);
	}
	free(names);
	return r;
}

/* The name a source goes by: its last component ("dir/" is "dir"). */
int
guest_copy_source_name(const char *src, char *out, size_t n)
{
	size_t len = strlen(src);
	const char *b;

	while (len > 1 && src[len - 1] == '/')
		len--;
	b = src + len;
	while (b > src && b[-1] != '/')
		b--;
	len = (size_t)(src + len - b);
	if (len == 0 || len >= n || !guest_copy_name_ok(b, len))
		return -EINVAL;
	memcpy(out, b, len);
	out[len] = '\0';
	return 0;
}

static int
handle_reply(struct sender *s, struct guest_msg *m)
{
	Guest__V1__FileResult *fr;

	switch (m->type) {
	case GUEST__V1__MESSAGE__BODY_FILE_RESULT:
		fr = m->pb->file_result;
		s->p.entries++;
		if (fr->code != GUEST__V1__ERROR_CODE__ERROR_UNSPECIFIED) {
			s->p.failed++;
			report(s->cb, fr->path, fr->message);
		}
		return 0;
	case GUEST__V1__MESSAGE__BODY_COPY_DONE:
		s->done = true;
		return 0;
	case GUEST__V1__MESSAGE__BODY_ERROR:
		return guest_error_set(s->e, -EPROTO, "%s",
		    m->pb->error->message);
	default:
		return guest_error_set(s->e, -EPROTO, "protocol error: "
		    "unexpected %s during a copy", guest_msg_name(m->type));
	}
}

/* One round without blocking: flush what is queued, read and handle the
 * answers that came. */
static int
pump_once(struct sender *s)
{
	struct guest_msg m = { 0 };
	ssize_t n;
	int r;

	r = guest_conn_flush(s->c);
	if (r < 0 && r != -EAGAIN)
		return broken(s->c, r, s->e);
	do {
		n = guest_conn_fill(s->c);
		if (n < 0 && n != -EAGAIN)
			return broken(s->c, (int)n, s->e);
		while ((r = guest_conn_next(s->c, &m)) > 0) {
			r = handle_reply(s, &m);
			guest_msg_clear(&m);
			if (r < 0)
				return r;
		}
		if (r < 0)
			return guest_error_set(s->e, r, "protocol error: "
			    "malformed message");
	} while (n > 0);
	if (s->c->eof && !s->done)
		return broken(s->c, -ECONNRESET, s->e);
	return 0;
}

/* Block until the socket can take more (when there is more to send) or
 * has something to read; a peer silent until deadline has gone away. */
static int
wait_io(struct sender *s, int64_t deadline)
{
	struct pollfd p;
	int64_t left;

	for (;;) {
		p.fd = s->c->fd;
		p.events = POLLIN | (s->c->tx_count > 0 ? POLLOUT : 0);
		p.revents = 0;
		if ((left = deadline - guest_now_ms()) <= 0)
			return broken(s->c, -ETIMEDOUT, s->e);
		if (poll(&p, 1, (int)(left > 1000 ? 1000 : left)) < 0 &&
		    errno != EINTR)
			return guest_error_set(s->e, -errno, "poll: %s",
			    strerror(errno));
		if (p.revents != 0)
			return 0;
	}
}

enum until { ROOM, NOT_FULL, BUFFER, FINISHED };

static bool
reached(const struct sender *s, enum until u)
{
	switch (u) {
	case ROOM:	return guest_conn_tx_room(s->c, 1);
	case NOT_FULL:	return !guest_conn_tx_full(s->c);
	case BUFFER:	return !s->busy[s->next];
	default:	return s->done && s->c->tx_count == 0;
	}
}

/* Move bytes both ways until u holds. */
static int
pump_until(struct sender *s, enum until u)
{
	int64_t deadline = guest_now_ms() + IDLE_MS;
	uint64_t answers = s->p.entries;
	int r;

	for (;;) {
		if ((r = pump_once(s)) < 0)
			return r;
		if (reached(s, u))
			return 0;
		if (s->p.entries != answers) {	/* the peer is alive */
			answers = s->p.entries;
			deadline = guest_now_ms() + IDLE_MS;
		}
		if ((r = wait_io(s, deadline)) < 0)
			return r;
	}
}

/* Queue a message, making room first. */
static int
queue(struct sender *s, const GuestMessage *m)
{
	int r;

	if (!reached(s, ROOM) && (r = pump_until(s, ROOM)) < 0)
		return r;
	if ((r = guest_conn_send(s->c, m)) < 0)
		return guest_error_set(s->e, r, "cannot queue a message: %s",
		    strerror(-r));
	return 0;
}

/* Queue buffer k's len bytes, by splice from fd at off where fd >= 0:
 * 1 when fd refused it, *from as guest_conn_send_file_data says. */
static int
queue_data(struct sender *s, unsigned k, size_t len, int fd, uint64_t off,
    size_t *from)
{
	int r;

	*from = 0;
	if (!reached(s, NOT_FULL) && (r = pump_until(s, NOT_FULL)) < 0)
		return r;
	if (fd >= 0)
		r = guest_conn_send_file_data(s->c, GUEST_STREAM_FILE,
		    s->buf[k], len, &s->busy[k], fd, (off_t)off, from);
	else
		r = guest_conn_send_data(s->c, GUEST_STREAM_FILE, s->buf[k],
		    len, &s->busy[k]);
	if (r < 0)
		return guest_error_set(s->e, r, "cannot queue data: %s",
		    strerror(-r));
	s->p.bytes += len;
	if (s->p.bytes - s->last_progress >= PROGRESS_EVERY) {
		s->last_progress = s->p.bytes;
		progress(s->cb, &s->p);
	}
	return r;
}

/* A free read buffer. */
static int
take_buffer(struct sender *s, unsigned *k)
{
	int r;

	if (!reached(s, BUFFER) && (r = pump_until(s, BUFFER)) < 0)
		return r;
	*k = s->next;
	s->next = (s->next + 1) % NBUF;
	return 0;
}

static int
send_end(struct sender *s, uint32_t id, struct guest_sum *h,
    const char *error)
{
	GuestMessage m = GUEST__V1__MESSAGE__INIT;
	Guest__V1__FileEnd fe = GUEST__V1__FILE_END__INIT;
	uint8_t sum[GUEST_SUM_LEN];

	fe.id = id;
	if (error != NULL)
		fe.error = (char *)error;
	else {
		guest_sum_final(h, sum);
		fe.checksum.data = sum;
		fe.checksum.len = sizeof sum;
	}
	m.body_case = GUEST__V1__MESSAGE__BODY_FILE_END;
	m.file_end = &fe;
	return queue(s, &m);
}

static int
send_hole(struct sender *s, struct guest_sum *h, uint64_t len)
{
	GuestMessage m = GUEST__V1__MESSAGE__INIT;
	Guest__V1__FileHole fh = GUEST__V1__FILE_HOLE__INIT;

	guest_sum_zeros(h, len);
	fh.length = len;
	m.body_case = GUEST__V1__MESSAGE__BODY_FILE_HOLE;
	m.file_hole = &fh;
	s->p.bytes += len;
	return queue(s, &m);
}

/* Read up to n bytes of fd into dst, at off (pread) or, when off is -1,
 * at its position: fewer only at the end of the file; -errno. */
static ssize_t
read_full(int fd, uint8_t *dst, size_t n, off_t off)
{
	size_t got = 0;
	ssize_t m;

	while (got < n) {
		m = off < 0 ? read(fd, dst + got, n - got) :
		    pread(fd, dst + got, n - got, off + (off_t)got);
		if (m < 0 && errno == EINTR)
			continue;
		if (m < 0)
			return -errno;
		if (m == 0)
			break;
		got += (size_t)m;
	}
	return (ssize_t)got;
}

#ifndef GUEST_BENCH_UNVERIFIED
/* Hash up to n bytes of fd from its position, through the scratch
 * buffer: the chunk itself goes by splice, not through user space. */
static ssize_t
hash_through(struct sender *s, struct guest_sum *h, int fd, size_t n)
{
	size_t got = 0;
	ssize_t m;

	while (got < n) {
		m = read_full(fd, s->scratch, n - got < SCRATCH ? n - got :
		    SCRATCH, -1);
		if (m <= 0)
			return m < 0 ? m : (ssize_t)got;
		guest_sum_update(h, s->scratch, (size_t)m);
		got += (size_t)m;
	}
	return (ssize_t)got;
}
#endif

/* One chunk of a regular file, want bytes at off (fd's position): hashed
 * through the scratch buffer and spliced, with the part the pipe did not
 * take read into buffer k; *n is what was sent, 0 at the end of the file.
 * 1 when the file refused splice. */
static int
send_spliced(struct sender *s, struct guest_sum *h, unsigned k, int fd,
    uint64_t off, size_t want, ssize_t *n)
{
	size_t from;
	ssize_t m;
	int r;

#ifdef GUEST_BENCH_UNVERIFIED
	/* What the checksum costs: no read, only the pipe. */
	(void)h;
	*n = (ssize_t)want;
	(void)lseek(fd, (off_t)(off + want), SEEK_SET);
#else
	if ((*n = hash_through(s, h, fd, want)) <= 0)
		return 0;
#endif
	if ((r = queue_data(s, k, (size_t)*n, fd, off, &from)) < 0)
		return r;
	if (from < (size_t)*n) {
		m = read_full(fd, s->buf[k] + from, (size_t)*n - from,
		    (off_t)(off + from));
		if (m != (ssize_t)*n - (ssize_t)from) {
			/* The frame is promised whole: zeros, and the file
			 * ends in an error after it. */
			memset(s->buf[k] + from + (m > 0 ? (size_t)m : 0), 0,
			    (size_t)*n - from - (m > 0 ? (size_t)m : 0));
			*n = m < 0 ? m : -ENODATA;
		}
	}
	return r;
}

/* Stream one regular file (or stdin, fd 0, of unknown size), its holes
 * as FileHole where holes says it may have some.  A read error or a file
 * that shrank ends it with FileEnd{error}.  The bytes are read once, to
 * be hashed; where the kernel can, the socket takes the file's own pages
 * and the bytes never go through a chunk buffer. */
static int
send_content(struct sender *s, uint32_t id, int fd, uint64_t size,
    bool stream, bool holes)
{
	struct guest_sum h;
	uint64_t off = 0, data_end;
	bool splice = !stream;
	off_t d, hole;
	unsigned k;
	ssize_t n;
	size_t want, from;
	char why[300] = "";
	int r;

	guest_sum_reset(&h);
	while (stream || off < size) {
		/* The next run of data, and the hole before it. */
		data_end = stream ? UINT64_MAX : size;
		if (holes) {
			d = lseek(fd, (off_t)off, SEEK_DATA);
			if (d < 0 && errno == ENXIO)
				d = (off_t)size;	/* a hole to the end */
			if (d >= 0) {
				if ((uint64_t)d > size)
					d = (off_t)size;
				if ((uint64_t)d > off) {
					if ((r = send_hole(s, &h,
					    (uint64_t)d - off)) < 0)
						return r;
					off = (uint64_t)d;
				}
				if (off >= size)
					break;
				hole = lseek(fd, (off_t)off, SEEK_HOLE);
				if (hole > (off_t)off && (uint64_t)hole < size)
					data_end = (uint64_t)hole;
				(void)lseek(fd, (off_t)off, SEEK_SET);
			}
		}
		while (off < data_end) {
			if ((r = take_buffer(s, &k)) < 0)
				return r;
			want = GUEST_DATA_CHUNK;
			if (data_end - off < want)
				want = (size_t)(data_end - off);
			if (splice && want >= SPLICE_MIN &&
			    guest_conn_splicing(s->c)) {
				if ((r = send_spliced(s, &h, k, fd, off, want,
				    &n)) < 0)
					return r;
				splice = r == 0;
			} else {
				n = read_full(fd, s->buf[k], want, -1);
				if (n > 0) {
					guest_sum_update(&h, s->buf[k],
					    (size_t)n);
					if ((r = queue_data(s, k, (size_t)n, -1,
					    0, &from)) < 0)
						return r;
				}
			}
			if (n < 0 && n != -ENODATA) {
				snprintf(why, sizeof why, "read: %s",
				    strerror((int)-n));
				return send_end(s, id, NULL, why);
			}
			if (n <= 0) {
				if (stream)
					return send_end(s, id, &h, NULL);
				return send_end(s, id, NULL, "the file shrank "
				    "while it was read");
			}
			off += (uint64_t)n;
		}
	}
	return send_end(s, id, &h, NULL);
}

/* Only a file with fewer blocks than its size needs can have a hole (the
 * test GNU cp makes): looking for holes costs a scan of the whole file
 * (about 5 ms a GiB on tmpfs, before the first byte goes), which a dense
 * file is spared. */
static bool
may_have_holes(const struct stat *st)
{
	return (uint64_t)st->st_blocks * 512 < (uint64_t)st->st_size;
}

static int
send_item(struct sender *s, const struct item *it, uint32_t id)
{
	GuestMessage m = GUEST__V1__MESSAGE__INIT;
	FileHeader fh = GUEST__V1__FILE_HEADER__INIT;
	struct stat st;
	bool stream = strcmp(it->src, "-") == 0 && it->error == NULL;
	int fd = -1, r;

	fh.id = id;
	fh.path = it->rel;
	m.body_case = GUEST__V1__MESSAGE__BODY_FILE_HEADER;
	m.file_header = &fh;
	if (it->error != NULL) {
		fh.error = it->error;
		return queue(s, &m);
	}
	if (stream) {
		fh.kind = GUEST__V1__FILE_KIND__FILE_REGULAR;
		fh.mode = 0644;
		fh.size_unknown = true;
		if ((r = queue(s, &m)) < 0)
			return r;
		return send_content(s, id, 0, 0, true, false);
	}
	fh.mode = it->st.st_mode & 07777;
	fh.mtime_sec = it->st.st_mtim.tv_sec;
	fh.mtime_nsec = (uint32_t)it->st.st_mtim.tv_nsec;
	fh.uid = it->st.st_uid;
	fh.gid = it->st.st_gid;
	if (S_ISDIR(it->st.st_mode)) {
		fh.kind = GUEST__V1__FILE_KIND__FILE_DIRECTORY;
		return queue(s, &m);
	}
	if (S_ISLNK(it->st.st_mode)) {
		fh.kind = GUEST__V1__FILE_KIND__FILE_SYMLINK;
		fh.target = it->target;
		return queue(s, &m);
	}
	/* A regular file, opened without following a link or blocking on a
	 * FIFO swapped in since the walk, and checked to be the same one. */
	fd = open(it->src, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_ino != it->st.st_ino || st.st_dev != it->st.st_dev) {
		char why[300];

		snprintf(why, sizeof why, "%s", fd < 0 ? strerror(errno) :
		    "changed while it was copied");
		if (fd >= 0)
			close(fd);
		fh.error = why;
		return queue(s, &m);
	}
	/* (O_NONBLOCK, there for the open, does nothing to a regular
	 * file's reads.) */
	if (st.st_size > GUEST_DATA_CHUNK)
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	fh.kind = GUEST__V1__FILE_KIND__FILE_REGULAR;
	fh.size = (uint64_t)st.st_size;
	if ((r = queue(s, &m)) == 0)
		r = send_content(s, id, fd, (uint64_t)st.st_size, false,
		    may_have_holes(&st));
	close(fd);
	return r;
}

int
guest_copy_send(struct guest_conn *c, char *const *paths, size_t n,
    const struct guest_copy_opts *o, const struct guest_copy_cb *cb,
    struct guest_copy_progress *out, struct guest_error *e)
{
	struct sender s = { .c = c, .cb = cb, .e = e };
	GuestMessage m = GUEST__V1__MESSAGE__INIT;
	Guest__V1__CopyTotals ct = GUEST__V1__COPY_TOTALS__INIT;
	Guest__V1__CopyDone cd = GUEST__V1__COPY_DONE__INIT;
	char name[NAME_MAX + 1];
	size_t i;
	int r = 0;

	(void)guest_set_nonblock(c->fd, 1);
	for (i = 0; i < n && r == 0; i++) {
		if (strcmp(paths[i], "-") == 0)
			r = add_item(&s, "-", "-", NULL, NULL);
		else if (guest_copy_source_name(paths[i], name, sizeof name) < 0)
			r = add_item(&s, paths[i], paths[i], NULL,
			    "cannot be copied by that name");
		else
			r = walk(&s, paths[i], name, o->recursive);
	}
	for (i = 0; i < NBUF && r == 0; i++)
		/* Page-aligned: the kernel copies into a misaligned
		 * buffer several times slower. */
		if (posix_memalign((void **)&s.buf[i], 4096,
		    GUEST_DATA_CHUNK) != 0)
			r = -ENOMEM;
	if (r == 0 && posix_memalign((void **)&s.scratch, 4096, SCRATCH) != 0)
		r = -ENOMEM;
	if (r < 0) {
		r = guest_error_set(e, r, "%s", strerror(-r));
		goto out;
	}
	s.p.total_entries = s.n;
	ct.bytes = s.p.total_bytes;
	ct.entries = s.n;
	m.body_case = GUEST__V1__MESSAGE__BODY_COPY_TOTALS;
	m.copy_totals = &ct;
	if ((r = queue(&s, &m)) < 0)
		goto out;
	progress(cb, &s.p);
	for (i = 0; i < s.n; i++)
		if ((r = send_item(&s, &s.items[i], (uint32_t)i + 1)) < 0)
			goto out;
	cd.entries = s.n;
	cd.bytes = s.p.bytes;
	m.body_case = GUEST__V1__MESSAGE__BODY_COPY_DONE;
	m.copy_done = &cd;
	if ((r = queue(&s, &m)) < 0)
		goto out;
	/* Everything out; then every answer in, up to the receiver's end. */
	if ((r = pump_until(&s, FINISHED)) < 0)
		goto out;
	progress(cb, &s.p);
out:
	if (out != NULL)
		*out = s.p;
	for (i = 0; i < s.n; i++) {
		free(s.items[i].src);
		free(s.items[i].rel);
		free(s.items[i].target);
		free(s.items[i].error);
	}
	free(s.items);
	/* Nothing may still point into the buffers. */
	guest_conn_discard(c);
	for (i = 0; i < NBUF; i++)
		free(s.buf[i]);
	free(s.scratch);
	return r;
}

/* Receiver ------------------------------------------------------------- */

struct dirfix {
	char		*rel;		/* components joined by '/' */
	mode_t		 mode;
	bool		 set_mode;
	struct timespec	 mtime;
	bool		 set_time;
	uid_t		 uid;
	gid_t		 gid;
	bool		 set_owner;
};

struct receiver {
	struct guest_conn	*c;
	const struct guest_copy_opts *o;
	const struct guest_copy_cb *cb;
	struct guest_copy_progress p;
	struct guest_error	*e;
	int			 basefd;
	char			 basepath[PATH_MAX];
	char			*rename_to;	/* dest names the one source */
	bool			 stream;	/* dest "-": standard output */
	int			 stack_fd[MAX_DEPTH];
	char			*stack_name[MAX_DEPTH];
	int			 depth;
	mode_t			 umask;
	bool			 root;
	char			 journal_last[PATH_MAX];
	struct dirfix		*fix;
	size_t			 nfix;
	uint64_t		 last_progress;
	int			 dirty;		/* renamed into, not yet synced */
	long			 pid;
	uint64_t		 tmp_key;	/* temps: random, counted up */
	/* The regular file being received. */
	bool			 active;
	uint32_t		 id;
	char			*path;		/* as the sender named it */
	char			*name;		/* final component */
	int			 fd, parentfd;
	char			 tmp[64];
	mode_t			 tmp_mode;	/* as created */
	uint64_t		 size, got;
	bool			 unknown;
	bool			 tail_hole;	/* ends in a hole so far */
	bool			 dest_existed;	/* at its header */
	struct guest_sum	 h;
	int			 err;		/* first failure, errno */
	char			 why[400];
	mode_t			 mode;
	struct timespec		 mtime;
	uid_t			 uid;
	gid_t			 gid;
};

/*
 * A rename is durable once its directory is synced, and an answer says
 * it is.  Answers wait in the send queue (they go out when the receiver
 * has read all it has, or the queue is full), and the directory they
 * renamed into is synced once before they go rather than once per file.
 */
static void
sync_dir(struct receiver *r)
{
	if (r->dirty >= 0)
		(void)fsync(r->dirty);
	r->dirty = -1;
}

static void
renamed_in(struct receiver *r, int dirfd)
{
	if (r->dirty != dirfd)
		sync_dir(r);
	r->dirty = dirfd;
}

/* Send the queued answers (waiting for room when wait). */
static int
answer(struct receiver *r, bool wait)
{
	int rc;

	sync_dir(r);
	rc = wait ? guest_conn_flush_until(r->c, guest_now_ms() + IDLE_MS) :
	    guest_conn_flush(r->c);
	if (rc < 0 && rc != -EAGAIN)
		return broken(r->c, rc, r->e);
	return 0;
}

static void
stack_pop(struct receiver *r, int depth)
{
	while (r->depth > depth) {
		r->depth--;
		if (r->stack_fd[r->depth] == r->dirty)
			sync_dir(r);
		close(r->stack_fd[r->depth]);
		free(r->stack_name[r->depth]);
	}
}

/* Open comp[0..k-1] beneath the base, one component at a time, never
 * following a link; the fd of the last is the parent of comp[k]. */
static int
enter(struct receiver *r, char **comp, int k, int *parentfd)
{
	int i = 0, fd;

	while (i < r->depth && i < k && strcmp(r->stack_name[i], comp[i]) == 0)
		i++;
	stack_pop(r, i);
	for (; i < k; i++) {
		fd = openat(i == 0 ? r->basefd : r->stack_fd[i - 1], comp[i],
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return errno == ELOOP || errno == ENOTDIR ? -ENOTDIR :
			    -errno;
		if ((r->stack_name[i] = strdup(comp[i])) == NULL) {
			close(fd);
			return -ENOMEM;
		}
		r->stack_fd[i] = fd;
		r->depth = i + 1;
	}
	*parentfd = k == 0 ? r->basefd : r->stack_fd[k - 1];
	return 0;
}

static void
parent_path(struct receiver *r, char *buf, size_t n)
{
	size_t o;
	int i;

	o = (size_t)snprintf(buf, n, "%s", r->basepath);
	for (i = 0; i < r->depth && o < n; i++)
		o += (size_t)snprintf(buf + o, n - o, "/%s", r->stack_name[i]);
}

/* Where name (in the current parent) is on this side, for messages. */
static const char *
where(struct receiver *r, const char *name, char *buf, size_t n)
{
	size_t o;

	if (r->stream)
		return "-";
	parent_path(r, buf, n);
	o = strlen(buf);
	snprintf(buf + o, n - o, "/%s", name);
	return buf;
}

static int
send_result(struct receiver *r, uint32_t id, const char *path, int err,
    const char *msg)
{
	GuestMessage m = GUEST__V1__MESSAGE__INIT;
	Guest__V1__FileResult fr = GUEST__V1__FILE_RESULT__INIT;
	int rc;

	r->p.entries++;
	fr.id = id;
	fr.path = (char *)path;
	if (err != 0 || msg != NULL) {
		r->p.failed++;
		fr.code = errno_code(err);
		fr.message = (char *)(msg != NULL ? msg : strerror(err));
		report(r->cb, path, fr.message);
	}
	m.body_case = GUEST__V1__MESSAGE__BODY_FILE_RESULT;
	m.file_result = &fr;
	if (!guest_conn_tx_room(r->c, 1) && (rc = answer(r, true)) < 0)
		return rc;
	if ((rc = guest_conn_send(r->c, &m)) < 0)
		return guest_error_set(r->e, rc, "%s", strerror(-rc));
	return 0;
}

/* Is what is at name in the way of a file or link replacing it?  A
 * directory is; so are FIFOs, devices and sockets, which are refused
 * without being opened. */
static int
in_the_way(int dirfd, const char *name, char *why, size_t n, bool *exists)
{
	struct stat st;

	if (exists != NULL)
		*exists = false;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (exists != NULL)
		*exists = true;
	if (S_ISDIR(st.st_mode)) {
		snprintf(why, n, "is a directory");
		return -EISDIR;
	}
	if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
		snprintf(why, n, "exists and is not a regular file (a FIFO, "
		    "device or socket is never replaced)");
		return -EEXIST;
	}
	return 0;
}

static mode_t
final_mode(struct receiver *r, mode_t mode)
{
	mode &= r->o->preserve ? 07777 : 0777 & ~r->umask;
	if (!(r->o->owner && r->root))
		mode &= ~(mode_t)(S_ISUID | S_ISGID);
	return mode;
}

/* A temp beside the destination: unpredictable, never an existing file. */
static int
make_temp(struct receiver *r, int dirfd, bool link, const char *target,
    mode_t mode)
{
	char dir[PATH_MAX];
	int i, fd;

	parent_path(r, dir, sizeof dir);
	journal_add(r->o->journal, dir, r->journal_last,
	    sizeof r->journal_last);
	for (i = 0; i < 16; i++) {
		/* 64 random bits, drawn once a copy and counted up for each
		 * temp; a name someone took first draws them again. */
		if (r->tmp_key == 0 || i > 0)
			if (getrandom(&r->tmp_key, sizeof r->tmp_key, 0) !=
			    sizeof r->tmp_key)
				return -EIO;
		r->tmp_key++;
		snprintf(r->tmp, sizeof r->tmp, GUEST_COPY_TMP_PREFIX
		    "%ld.%016llx~", r->pid, (unsigned long long)r->tmp_key);
		if (link) {
			if (symlinkat(target, dirfd, r->tmp) == 0)
				return 0;
		} else {
			fd = openat(dirfd, r->tmp, O_WRONLY | O_CREAT | O_EXCL |
			    O_NOFOLLOW | O_CLOEXEC, mode);
			if (fd >= 0)
				return fd;
		}
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

static void __attribute__((format(printf, 3, 4)))
entry_fail(struct receiver *r, int err, const char *fmt, ...)
{
	va_list ap;

	if (r->err != 0)
		return;
	r->err = err != 0 ? err : EIO;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof r->why, fmt, ap);
	va_end(ap);
}

static void
entry_clear(struct receiver *r)
{
	if (r->fd >= 0 && !r->stream)
		close(r->fd);
	if (r->tmp[0] != '\0' && !r->stream)
		(void)unlinkat(r->parentfd, r->tmp, 0);
	r->fd = -1;
	r->tmp[0] = '\0';
	free(r->path);
	r->path = NULL;
	free(r->name);
	r->name = NULL;
	r->active = false;
	r->err = 0;
	r->why[0] = '\0';
}

/* Split a wire path into checked components, mapped to where they go. */
static int
split(struct receiver *r, const char *path, char **comp, int *k, char *why,
    size_t n)
{
	const char *p = path, *slash;
	size_t len, i;
	int cnt = 0;

	if (*path == '\0' || *path == '/') {
		snprintf(why, n, "refused: not a relative name");
		return -EINVAL;
	}
	while (*p != '\0') {
		slash = strchr(p, '/');
		len = slash != NULL ? (size_t)(slash - p) : strlen(p);
		if (!guest_copy_name_ok(p, len)) {
			snprintf(why, n, "refused: '..', '.', an empty or an "
			    "overlong component");
			goto fail;
		}
		if (cnt == MAX_DEPTH) {
			snprintf(why, n, "refused: deeper than %d", MAX_DEPTH);
			goto fail;
		}
		if ((comp[cnt] = strndup(p, len)) == NULL)
			goto fail;
		cnt++;
		p += len;
		if (*p == '/' && *++p == '\0') {
			snprintf(why, n, "refused: ends with a slash");
			goto fail;
		}
	}
	/* The top component is one of the sources' names. */
	if (r->o->expect != NULL) {
		for (i = 0; i < r->o->n_expect; i++)
			if (strcmp(r->o->expect[i], comp[0]) == 0)
				break;
		if (i == r->o->n_expect) {
			snprintf(why, n, "refused: not under what was asked "
			    "for");
			goto fail;
		}
	}
	if (r->rename_to != NULL) {
		free(comp[0]);
		if ((comp[0] = strdup(r->rename_to)) == NULL)
			goto fail;
	}
	*k = cnt;
	return 0;
fail:
	while (cnt > 0)
		free(comp[--cnt]);
	if (why[0] == '\0')
		snprintf(why, n, "out of memory");
	return -EINVAL;
}

static int
add_fix(struct receiver *r, char **comp, int k, const FileHeader *fh,
    bool created)
{
	struct dirfix *f;
	size_t len = 0;
	int i;

	if (!created && !r->o->preserve && !r->o->owner)
		return 0;
	if ((f = realloc(r->fix, (r->nfix + 1) * sizeof *f)) == NULL)
		return -ENOMEM;
	r->fix = f;
	f = &r->fix[r->nfix];
	memset(f, 0, sizeof *f);
	for (i = 0; i < k; i++)
		len += strlen(comp[i]) + 1;
	if ((f->rel = malloc(len)) == NULL)
		return -ENOMEM;
	f->rel[0] = '\0';
	for (i = 0; i < k; i++) {
		if (i > 0)
			strcat(f->rel, "/");
		strcat(f->rel, comp[i]);
	}
	f->mode = final_mode(r, fh->mode);
	f->set_mode = created || r->o->preserve;
	f->mtime.tv_sec = fh->mtime_sec;
	f->mtime.tv_nsec = fh->mtime_nsec;
	f->set_time = r->o->preserve;
	f->uid = fh->uid;
	f->gid = fh->gid;
	f->set_owner = r->o->owner && r->root;
	r->nfix++;
	return 0;
}

/* Directories get their mode and mtime last, deepest first: writing into
 * them would change the mtime, and a read-only mode would stop us. */
static void
apply_fixes(struct receiver *r)
{
	char *comp[MAX_DEPTH], *p, *save;
	struct timespec ts[2];
	size_t i;
	int k, pfd, fd;

	for (i = r->nfix; i-- > 0; ) {
		struct dirfix *f = &r->fix[i];

		k = 0;
		for (p = strtok_r(f->rel, "/", &save); p != NULL && k < MAX_DEPTH;
		    p = strtok_r(NULL, "/", &save))
			comp[k++] = p;
		if (k == 0 || enter(r, comp, k - 1, &pfd) < 0)
			continue;
		fd = openat(pfd, comp[k - 1], O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (f->set_owner)
			(void)!fchown(fd, f->uid, f->gid);
		if (f->set_mode)
			(void)fchmod(fd, f->mode);
		if (f->set_time) {
			ts[0].tv_sec = 0;
			ts[0].tv_nsec = UTIME_OMIT;
			ts[1] = f->mtime;
			(void)futimens(fd, ts);
		}
		close(fd);
	}
	stack_pop(r, 0);
}

/* An entry refused at its header: answered now, or for a regular file
 * once its bytes have gone by (they are read and dropped). */
static int
refuse(struct receiver *r, const FileHeader *fh, int err, const char *why)
{
	if (fh->kind != GUEST__V1__FILE_KIND__FILE_REGULAR)
		return send_result(r, fh->id, fh->path, err, why);
	r->active = true;
	r->id = fh->id;
	r->fd = -1;
	r->tmp[0] = '\0';
	r->size = fh->size;
	r->unknown = fh->size_unknown;
	r->got = 0;
	if ((r->path = strdup(fh->path)) == NULL)
		return guest_error_set(r->e, -ENOMEM, "out of memory");
	entry_fail(r, err, "%s", why);
	return 0;
}

static int
on_header(struct receiver *r, const FileHeader *fh)
{
	char *comp[MAX_DEPTH], why[400] = "", dpath[PATH_MAX];
	struct timespec ts[2];
	struct stat st;
	int k = 0, i, pfd, rc = 0, err = 0;
	bool created = false;

	if (r->active)
		return guest_error_set(r->e, -EPROTO, "protocol error: a file "
		    "header before the last file's end");
	if (fh->error != NULL && fh->error[0] != '\0')
		return send_result(r, fh->id, fh->path, EIO, fh->error);
	if (split(r, fh->path, comp, &k, why, sizeof why) < 0)
		return refuse(r, fh, EINVAL, why);
	if (r->stream) {
		if (k != 1 || fh->kind != GUEST__V1__FILE_KIND__FILE_REGULAR ||
		    r->p.entries > 0) {
			rc = refuse(r, fh, EISDIR, "only one regular file can "
			    "go to standard output");
			goto out;
		}
		pfd = -1;
	} else if ((rc = enter(r, comp, k - 1, &pfd)) < 0) {
		err = -rc;
		rc = refuse(r, fh, err, err == ENOTDIR ? "a parent is not a "
		    "directory (a link is never followed)" : strerror(err));
		goto out;
	}
	switch (fh->kind) {
	case GUEST__V1__FILE_KIND__FILE_DIRECTORY:
		if (mkdirat(pfd, comp[k - 1], 0700) == 0)
			created = true;
		else if (errno != EEXIST)
			err = errno;
		else if (fstatat(pfd, comp[k - 1], &st, AT_SYMLINK_NOFOLLOW) < 0)
			err = errno;
		else if (!S_ISDIR(st.st_mode)) {
			err = EEXIST;
			snprintf(why, sizeof why, "exists and is not a directory");
		}
		if (err == 0 && add_fix(r, comp, k, fh, created) < 0)
			err = ENOMEM;
		rc = send_result(r, fh->id, where(r, comp[k - 1], dpath,
		    sizeof dpath), err, why[0] ? why : NULL);
		break;
	case GUEST__V1__FILE_KIND__FILE_SYMLINK:
		r->parentfd = pfd;
		if ((err = -in_the_way(pfd, comp[k - 1], why, sizeof why,
		    NULL)) == 0 &&
		    (err = -make_temp(r, pfd, true, fh->target ? fh->target :
		    "", 0)) == 0) {
			if (r->o->owner && r->root)
				(void)!fchownat(pfd, r->tmp, fh->uid, fh->gid,
				    AT_SYMLINK_NOFOLLOW);
			if (r->o->preserve) {
				ts[0].tv_sec = 0;
				ts[0].tv_nsec = UTIME_OMIT;
				ts[1].tv_sec = fh->mtime_sec;
				ts[1].tv_nsec = fh->mtime_nsec;
				(void)utimensat(pfd, r->tmp, ts,
				    AT_SYMLINK_NOFOLLOW);
			}
			if (renameat(pfd, r->tmp, pfd, comp[k - 1]) < 0)
				err = errno;
			else {
				r->tmp[0] = '\0';
				renamed_in(r, pfd);
			}
		}
		if (r->tmp[0] != '\0')
			(void)unlinkat(pfd, r->tmp, 0);
		r->tmp[0] = '\0';
		rc = send_result(r, fh->id, where(r, comp[k - 1], dpath,
		    sizeof dpath), err, why[0] ? why : NULL);
		break;
	case GUEST__V1__FILE_KIND__FILE_REGULAR:
		r->active = true;
		r->id = fh->id;
		r->path = strdup(fh->path);
		r->name = strdup(comp[k - 1]);
		r->parentfd = pfd;
		r->size = fh->size;
		r->unknown = fh->size_unknown;
		r->got = 0;
		r->mode = fh->mode;
		r->mtime.tv_sec = fh->mtime_sec;
		r->mtime.tv_nsec = fh->mtime_nsec;
		r->uid = fh->uid;
		r->gid = fh->gid;
		guest_sum_reset(&r->h);
		if (r->path == NULL || r->name == NULL) {
			entry_fail(r, ENOMEM, "%s", "out of memory");
			break;
		}
		if (r->stream) {
			r->fd = STDOUT_FILENO;
			break;
		}
		if ((err = -in_the_way(pfd, r->name, why, sizeof why,
		    &r->dest_existed)) != 0) {
			entry_fail(r, err, "%s", why);
			break;
		}
		/* Made with its final mode where that is no more open than
		 * 0755 and the umask leaves it whole (one fchmod less);
		 * otherwise 0600 until it is complete. */
		r->tmp_mode = final_mode(r, r->mode);
		if ((r->o->owner && r->root) || (r->tmp_mode & ~0755u) != 0 ||
		    (r->tmp_mode & r->umask) != 0)
			r->tmp_mode = 0600;
		if ((r->fd = make_temp(r, pfd, false, NULL, r->tmp_mode)) < 0) {
			err = -r->fd;
			r->fd = -1;
			r->tmp[0] = '\0';
			entry_fail(r, err, "cannot create a temp: %s",
			    strerror(err));
		}
		break;
	default:
		rc = send_result(r, fh->id, fh->path, EINVAL, "unknown kind");
	}
out:
	for (i = 0; i < k; i++)
		free(comp[i]);
	return rc;
}

static int
on_bytes(struct receiver *r, const uint8_t *data, uint64_t len)
{
	static const uint8_t zeros[64 * 1024];
	uint64_t left;
	ssize_t w;
	size_t k;

	if (!r->active)
		return guest_error_set(r->e, -EPROTO, "protocol error: file "
		    "data outside a file");
	if (!r->unknown && len > r->size - r->got)
		entry_fail(r, EIO, "%s", "more bytes than announced");
	r->got += len;
	if (r->err != 0)
		return 0;
	r->tail_hole = data == NULL && len > 0;
	if (data == NULL) {		/* a hole */
		guest_sum_zeros(&r->h, len);
		for (left = r->stream ? len : 0; left > 0; left -= k) {
			k = left > sizeof zeros ? sizeof zeros : (size_t)left;
			if (write(r->fd, zeros, k) != (ssize_t)k) {
				entry_fail(r, errno, "write: %s",
				    strerror(errno));
				return 0;
			}
		}
		if (!r->stream && lseek(r->fd, (off_t)len, SEEK_CUR) < 0)
			entry_fail(r, errno, "seek: %s", strerror(errno));
	} else {
#ifndef GUEST_BENCH_UNVERIFIED
		guest_sum_update(&r->h, data, (size_t)len);
#endif
		while (len > 0) {
			w = write(r->fd, data, (size_t)len);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0 && errno == EAGAIN && r->stream) {
				(void)guest_wait_fd(r->fd, POLLOUT,
				    guest_now_ms() + IDLE_MS);
				continue;
			}
			if (w <= 0) {
				entry_fail(r, w < 0 ? errno : EIO, "write: %s",
				    strerror(w < 0 ? errno : EIO));
				return 0;
			}
			data += w;
			len -= (uint64_t)w;
		}
	}
	return 0;
}

/* Rename the temp over the destination, unless something there is in
 * the way.  Where nothing was at the header (the usual case), a rename
 * that cannot replace needs no second look; if something has come since
 * or the file system cannot do that, look and rename. */
static void
put_in_place(struct receiver *r)
{
	int err;

	if (!r->dest_existed && renameat2(r->parentfd, r->tmp, r->parentfd,
	    r->name, RENAME_NOREPLACE) == 0)
		return;
	if ((err = -in_the_way(r->parentfd, r->name, r->why,
	    sizeof r->why, NULL)) != 0)
		r->err = err;
	else if (renameat(r->parentfd, r->tmp, r->parentfd, r->name) < 0)
		entry_fail(r, errno, "rename: %s", strerror(errno));
}

static int
on_end(struct receiver *r, const Guest__V1__FileEnd *fe)
{
	uint8_t sum[GUEST_SUM_LEN];
	struct timespec ts[2];
	char dpath[PATH_MAX];
	int rc;

	if (!r->active || fe->id != r->id)
		return guest_error_set(r->e, -EPROTO, "protocol error: an end "
		    "for a file not being sent");
	if (fe->error != NULL && fe->error[0] != '\0')
		entry_fail(r, EIO, "%s", fe->error);
	if (r->err == 0 && !r->unknown && r->got != r->size)
		entry_fail(r, EIO, "%s", "fewer bytes than announced");
	guest_sum_final(&r->h, sum);
#ifndef GUEST_BENCH_UNVERIFIED
	if (r->err == 0 && (fe->checksum.len != sizeof sum ||
	    memcmp(fe->checksum.data, sum, sizeof sum) != 0))
		entry_fail(r, EIO, "%s", "checksum mismatch: the copy was not "
		    "kept");
#endif
	if (r->err == 0 && !r->stream) {
		/* Sparse to the end: the size comes from truncate. */
		if (r->tail_hole && ftruncate(r->fd, (off_t)r->got) < 0)
			entry_fail(r, errno, "truncate: %s", strerror(errno));
		if (r->o->owner && r->root &&
		    fchown(r->fd, r->uid, r->gid) < 0)
			entry_fail(r, errno, "chown: %s", strerror(errno));
		if (r->tmp_mode != final_mode(r, r->mode) &&
		    fchmod(r->fd, final_mode(r, r->mode)) < 0)
			entry_fail(r, errno, "chmod: %s", strerror(errno));
		if (r->o->preserve) {
			ts[0].tv_sec = 0;
			ts[0].tv_nsec = UTIME_OMIT;
			ts[1] = r->mtime;
			if (futimens(r->fd, ts) < 0)
				entry_fail(r, errno, "utimens: %s",
				    strerror(errno));
		}
		if (r->err == 0 && fsync(r->fd) < 0)
			entry_fail(r, errno, "fsync: %s", strerror(errno));
		if (r->err == 0)
			put_in_place(r);
		if (r->err == 0) {
			r->tmp[0] = '\0';
			renamed_in(r, r->parentfd);
		}
	}
	rc = send_result(r, r->id, r->name == NULL ? r->path :
	    where(r, r->name, dpath, sizeof dpath), r->err,
	    r->err ? r->why : NULL);
	entry_clear(r);
	return rc;
}

/* Where entries go: into dest when it is a directory, else dest names the
 * one source and its parent is the base. */
static int
recv_setup(struct receiver *r, const char *dest, uint32_t nsources,
    struct guest_error *e)
{
	char parent[PATH_MAX], *slash;
	struct stat st;
	size_t len = strlen(dest);
	bool dir_wanted = len > 0 && dest[len - 1] == '/';
	int rc;

	r->basefd = -1;
	if (strcmp(dest, "-") == 0) {
		if (nsources != 1)
			return guest_error_set(e, -EINVAL, "standard output "
			    "takes one file");
		r->stream = true;
		return 0;
	}
	if (len == 0 || len >= PATH_MAX)
		return guest_error_set(e, -EINVAL, "'%s': not a destination",
		    dest);
	if (r->o->parents &&
	    (rc = guest_mkdir_parents(dest, 0777,
	    dir_wanted || nsources > 1)) < 0)
		return guest_error_set(e, rc, "%s: cannot create its parents: "
		    "%s", dest, strerror(-rc));
	if (stat(dest, &st) == 0 && S_ISDIR(st.st_mode)) {
		r->basefd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (r->basefd < 0)
			return guest_error_set(e, -errno, "%s: %s", dest,
			    strerror(errno));
		if (realpath(dest, r->basepath) == NULL)
			snprintf(r->basepath, sizeof r->basepath, "%s", dest);
		return 0;
	}
	if (nsources > 1 || dir_wanted)
		return guest_error_set(e, -ENOTDIR, "%s: %s", dest,
		    access(dest, F_OK) == 0 ? "not a directory" :
		    "no such directory");
	snprintf(parent, sizeof parent, "%s", dest);
	slash = strrchr(parent, '/');
	if (slash == NULL)
		snprintf(parent, sizeof parent, ".");
	else if (slash == parent)
		parent[1] = '\0';
	else
		*slash = '\0';
	slash = strrchr(dest, '/');
	if ((r->rename_to = strdup(slash ? slash + 1 : dest)) == NULL)
		return guest_error_set(e, -ENOMEM, "out of memory");
	if (!guest_copy_name_ok(r->rename_to, strlen(r->rename_to)))
		return guest_error_set(e, -EINVAL, "'%s': not a file name",
		    dest);
	r->basefd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->basefd < 0)
		return guest_error_set(e, -errno, "%s: %s", parent,
		    errno == ENOENT ? "no such directory" : strerror(errno));
	if (realpath(parent, r->basepath) == NULL)
		snprintf(r->basepath, sizeof r->basepath, "%s", parent);
	return 0;
}

int
guest_copy_check_dest(const char *dest, uint32_t nsources,
    const struct guest_copy_opts *o, struct guest_error *e)
{
	struct receiver r = { .o = o };
	int rc = recv_setup(&r, dest, nsources, e);

	if (r.basefd >= 0)
		close(r.basefd);
	free(r.rename_to);
	return rc;
}

static int
copy_done(struct receiver *r)
{
	GuestMessage m = GUEST__V1__MESSAGE__INIT;
	Guest__V1__CopyDone cd = GUEST__V1__COPY_DONE__INIT;
	int rc;

	apply_fixes(r);
	cd.entries = r->p.entries;
	cd.failed = r->p.failed;
	cd.bytes = r->p.bytes;
	m.body_case = GUEST__V1__MESSAGE__BODY_COPY_DONE;
	m.copy_done = &cd;
	if ((rc = answer(r, true)) < 0)
		return rc;
	if ((rc = guest_conn_send(r->c, &m)) < 0 ||
	    (rc = guest_conn_flush_until(r->c, guest_now_ms() + IDLE_MS)) < 0)
		return broken(r->c, rc, r->e);
	return 0;
}

int
guest_copy_recv(struct guest_conn *c, const char *dest, uint32_t nsources,
    const struct guest_copy_opts *o, const struct guest_copy_cb *cb,
    struct guest_copy_progress *out, struct guest_error *e)
{
	struct receiver r = { .c = c, .o = o, .cb = cb, .e = e, .fd = -1,
	    .dirty = -1 };
	struct guest_msg m = { 0 };
	size_t i;
	int rc;

	r.umask = umask(0);
	umask(r.umask);
	r.root = geteuid() == 0;
	r.pid = (long)getpid();
	if ((rc = recv_setup(&r, dest, nsources, e)) < 0)
		goto out;
	(void)guest_set_nonblock(c->fd, 1);
	for (;;) {
		/* Answers go once all that was read is handled. */
		if (!guest_conn_has_frame(c) && (rc = answer(&r, false)) < 0)
			break;
		if ((rc = guest_conn_recv_until(c, &m, guest_now_ms() +
		    IDLE_MS)) < 0) {
			rc = rc == -EBADMSG || rc == -EMSGSIZE ?
			    guest_error_set(e, rc, "protocol error: malformed "
			    "message") : broken(c, rc, e);
			break;
		}
		switch (m.type) {
		case GUEST__V1__MESSAGE__BODY_DATA:
			if (m.stream != GUEST_STREAM_FILE) {
				rc = guest_error_set(e, -EPROTO, "protocol "
				    "error: data on stream %u", m.stream);
				break;
			}
			rc = on_bytes(&r, m.data, m.len);
			r.p.bytes += m.len;
			break;
		case GUEST__V1__MESSAGE__BODY_FILE_HOLE:
			rc = on_bytes(&r, NULL, m.pb->file_hole->length);
			r.p.bytes += m.pb->file_hole->length;
			break;
		case GUEST__V1__MESSAGE__BODY_FILE_HEADER:
			rc = on_header(&r, m.pb->file_header);
			break;
		case GUEST__V1__MESSAGE__BODY_FILE_END:
			rc = on_end(&r, m.pb->file_end);
			break;
		case GUEST__V1__MESSAGE__BODY_COPY_TOTALS:
			r.p.total_bytes = m.pb->copy_totals->bytes;
			r.p.total_entries = m.pb->copy_totals->entries;
			break;
		case GUEST__V1__MESSAGE__BODY_COPY_DONE:
			if (r.active)
				rc = guest_error_set(e, -EPROTO, "protocol "
				    "error: the copy ended inside a file");
			else {
				guest_msg_clear(&m);
				rc = copy_done(&r);
				progress(cb, &r.p);
				goto out;
			}
			break;
		case GUEST__V1__MESSAGE__BODY_ERROR:
			rc = guest_error_set(e, -EPROTO, "%s",
			    m.pb->error->message);
			break;
		default:
			rc = guest_error_set(e, -EPROTO, "protocol error: "
			    "unexpected %s during a copy",
			    guest_msg_name(m.type));
		}
		guest_msg_clear(&m);
		if (rc < 0)
			break;
		if (r.p.bytes - r.last_progress >= PROGRESS_EVERY) {
			r.last_progress = r.p.bytes;
			progress(cb, &r.p);
		}
	}
out:
	if (r.active)
		entry_clear(&r);
	journal_done(o->journal, r.journal_last);
	stack_pop(&r, 0);
	for (i = 0; i < r.nfix; i++)
		free(r.fix[i].rel);
	free(r.fix);
	free(r.rename_to);
	if (r.basefd >= 0)
		close(r.basefd);
	if (out != NULL)
		*out = r.p;
	return rc;
}
