/*
 * known_agents: trust on first use of an agent's host key, as ssh's
 * known_hosts (see include/guest/pin.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "guest/pin.h"
#include "guest/util.h"

#define LINE_MAX_PIN	1024

void
guest_pin_name(const struct guest_target *t, char *buf, size_t n)
{
	if (t->known && t->uuid[0] != '\0')
		snprintf(buf, n, "uuid:%s", t->uuid);
	else
		guest_addr_format(&t->addr, buf, n);
}

int
guest_pin_path(const char *inventory, char *buf, size_t n,
    struct guest_error *e)
{
	const char *s = getenv("GUEST_KNOWN_AGENTS");
	char inv[4096], *slash;
	int r;

	if (s != NULL && *s != '\0') {
		snprintf(buf, n, "%s", s);
		return 0;
	}
	if ((r = guest_inventory_path(inventory, inv, sizeof inv, e)) < 0)
		return r;
	if ((slash = strrchr(inv, '/')) == NULL)
		snprintf(buf, n, "known_agents");
	else
		snprintf(buf, n, "%.*s/known_agents", (int)(slash - inv), inv);
	return 0;
}

/* The lines of path, or NULL with *len 0 when there is no file. */
static int
slurp(FILE *f, char **out)
{
	size_t cap = 4096, len = 0, r;
	char *buf = malloc(cap + 1), *nb;

	if (buf == NULL)
		return -ENOMEM;
	while ((r = fread(buf + len, 1, cap - len, f)) > 0) {
		len += r;
		if (len == cap) {
			if (cap > 64 * 1024 * 1024 ||
			    (nb = realloc(buf, cap * 2 + 1)) == NULL) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

/* Does line name name?  Then its key in pub (-EINVAL if unreadable). */
static int
line_for(const char *line, const char *name, uint8_t pub[GUEST_KEY_PUB])
{
	size_t n = strlen(name);

	if (strncmp(line, name, n) != 0 || (line[n] != ' ' && line[n] != '\t'))
		return 0;
	return guest_key_parse_pub(line + n, pub, NULL, 0, NULL) < 0 ?
	    -EINVAL : 1;
}

int
guest_pin_check(const char *path, const char *name,
    const uint8_t pub[GUEST_KEY_PUB], struct guest_error *e)
{
	uint8_t have[GUEST_KEY_PUB];
	char line[LINE_MAX_PIN], keyline[256], fp[GUEST_FP_MAX];
	char fp2[GUEST_FP_MAX];
	unsigned lineno = 0;
	FILE *f;
	int r, fd;

	if ((f = fopen(path, "re")) != NULL) {
		while (fgets(line, sizeof line, f) != NULL) {
			lineno++;
			if ((r = line_for(line, name, have)) == 0)
				continue;
			fclose(f);
			if (r > 0 && memcmp(have, pub, GUEST_KEY_PUB) == 0)
				return 0;
			if (r < 0)
				return guest_error_set(e, -EKEYREJECTED,
				    "%s:%u: the pin for %s is not a key this "
				    "guest reads", path, lineno, name);
			return guest_error_set(e, -EKEYREJECTED, "the agent "
			    "answered with host key %s, but %s is pinned for "
			    "it (%s:%u): it may be an impostor",
			    guest_key_fingerprint(pub, fp),
			    guest_key_fingerprint(have, fp2), path, lineno);
		}
		fclose(f);
	} else if (errno != ENOENT)
		return guest_error_set(e, -errno, "%s: %s", path,
		    strerror(errno));
	/* First use: pinned now, one line appended whole. */
	if ((r = guest_mkdir_parents(path, 0700, false)) < 0)
		return guest_error_set(e, r, "%s: %s", path, strerror(-r));
	guest_key_format_pub(pub, NULL, keyline, sizeof keyline);
	snprintf(line, sizeof line, "%s %s\n", name, keyline);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return guest_error_set(e, -errno, "%s: %s", path,
		    strerror(errno));
	r = guest_write_all(fd, line, strlen(line));
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		return guest_error_set(e, r, "%s: %s", path, strerror(-r));
	return 1;
}

int
guest_pin_forget(const char *path, const char *name, struct guest_error *e)
{
	uint8_t have[GUEST_KEY_PUB];
	char tmp[4096], *buf, *p, *nl;
	FILE *f;
	int r, fd, gone = 0;

	if ((f = fopen(path, "re")) == NULL)
		return errno == ENOENT ? 0 : guest_error_set(e, -errno,
		    "%s: %s", path, strerror(errno));
	r = slurp(f, &buf);
	fclose(f);
	if (r < 0)
		return guest_error_set(e, r, "%s: %s", path, strerror(-r));
	snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		free(buf);
		return guest_error_set(e, r, "%s: %s", tmp, strerror(-r));
	}
	for (p = buf; *p != '\0' && r == 0; p = nl) {
		nl = strchr(p, '\n');
		nl = nl != NULL ? nl + 1 : p + strlen(p);
		if (line_for(p, name, have) != 0) {
			gone++;
			continue;
		}
		r = guest_write_all(fd, p, (size_t)(nl - p));
	}
	free(buf);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return guest_error_set(e, r, "%s: %s", path, strerror(-r));
	}
	return gone;
}
