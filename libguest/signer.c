/*
 * The user's keys through ssh-agent (the protocol of OpenSSH's
 * PROTOCOL.agent: REQUEST_IDENTITIES and SIGN_REQUEST) or from a key file.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "guest/signer.h"
#include "guest/util.h"

#define AGENT_FAILURE		5
#define AGENT_REQUEST_IDS	11
#define AGENT_IDS_ANSWER	12
#define AGENT_SIGN_REQUEST	13
#define AGENT_SIGN_RESPONSE	14
#define AGENT_MSG_MAX		(256 * 1024)
#define AGENT_TIMEOUT_MS	30000	/* it may ask the user to confirm */

static int
agent_connect(void)
{
	const char *path = getenv("SSH_AUTH_SOCK");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (path == NULL || *path == '\0' ||
	    strlen(path) >= sizeof sun.sun_path)
		return -1;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
read_full(int fd, uint8_t *p, size_t n, int64_t deadline)
{
	ssize_t r;
	int w;

	while (n > 0) {
		if ((w = guest_wait_fd(fd, POLLIN, deadline)) < 0)
			return w;
		r = read(fd, p, n);
		if (r == 0)
			return -ECONNRESET;
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* One request and its answer; *reply is malloc'ed (type first). */
static int
agent_call(int fd, const uint8_t *req, size_t n, uint8_t **reply,
    size_t *reply_len)
{
	int64_t deadline = guest_now_ms() + AGENT_TIMEOUT_MS;
	uint8_t hdr[4], *buf;
	uint32_t len;
	int r;

	guest_put_be32(hdr, (uint32_t)n);
	if ((r = guest_write_all(fd, hdr, 4)) < 0 ||
	    (r = guest_write_all(fd, req, n)) < 0 ||
	    (r = read_full(fd, hdr, 4, deadline)) < 0)
		return r;
	len = guest_get_be32(hdr);
	if (len == 0 || len > AGENT_MSG_MAX)
		return -EBADMSG;
	if ((buf = malloc(len)) == NULL)
		return -ENOMEM;
	if ((r = read_full(fd, buf, len, deadline)) < 0) {
		free(buf);
		return r;
	}
	*reply = buf;
	*reply_len = len;
	return 0;
}

static bool
have(const struct guest_signers *ss, const uint8_t pub[GUEST_KEY_PUB])
{
	size_t i;

	for (i = 0; i < ss->n; i++)
		if (memcmp(ss->s[i].pub, pub, GUEST_KEY_PUB) == 0)
			return true;
	return false;
}

/* ssh-agent's Ed25519 keys (only want's, when want is not NULL). */
static void
agent_keys(struct guest_signers *ss, const uint8_t *want)
{
	struct guest_sshreader r;
	const uint8_t *blob, *comment;
	uint8_t req = AGENT_REQUEST_IDS, *reply, pub[GUEST_KEY_PUB];
	size_t len, bn, cn;
	uint32_t n, i;

	if ((ss->agent_fd = agent_connect()) < 0)
		return;
	if (agent_call(ss->agent_fd, &req, 1, &reply, &len) < 0)
		goto gone;
	r.p = reply + 1;
	r.n = len - 1;
	if (reply[0] != AGENT_IDS_ANSWER || guest_ssh_get_u32(&r, &n) < 0) {
		free(reply);
		goto gone;
	}
	for (i = 0; i < n && ss->n < GUEST_SIGNERS_MAX; i++) {
		if (guest_ssh_get_string(&r, &blob, &bn) < 0 ||
		    guest_ssh_get_string(&r, &comment, &cn) < 0)
			break;
		if (guest_key_from_blob(blob, bn, pub, NULL, 0) < 0 ||
		    (want != NULL && memcmp(pub, want, GUEST_KEY_PUB) != 0) ||
		    have(ss, pub))
			continue;
		memcpy(ss->s[ss->n].pub, pub, GUEST_KEY_PUB);
		snprintf(ss->s[ss->n].comment, sizeof ss->s[ss->n].comment,
		    "%.*s", (int)(cn < 255 ? cn : 255), (const char *)comment);
		ss->s[ss->n].in_agent = true;
		ss->n++;
	}
	free(reply);
	return;
gone:
	guest_closep(&ss->agent_fd);
}

/* The public half of a key file from FILE.pub (or FILE itself when it is
 * the .pub), without reading the secret. */
static int
pub_of(const char *path, uint8_t pub[GUEST_KEY_PUB])
{
	char p[4096], line[8192];
	size_t n = strlen(path);
	FILE *f;
	int r = -ENOENT;

	if (n > 4 && strcmp(path + n - 4, ".pub") == 0)
		snprintf(p, sizeof p, "%s", path);
	else
		snprintf(p, sizeof p, "%s.pub", path);
	if ((f = fopen(p, "re")) == NULL)
		return -errno;
	if (fgets(line, sizeof line, f) != NULL)
		r = guest_key_parse_pub(line, pub, NULL, 0, NULL);
	fclose(f);
	return r;
}

/* A key file: skipped when ssh-agent has it, else read. */
static int
file_key(struct guest_signers *ss, const char *path, struct guest_error *e)
{
	struct guest_signer *s = &ss->s[ss->n];
	uint8_t pub[GUEST_KEY_PUB];
	int r;

	if (pub_of(path, pub) == 0 && have(ss, pub))
		return 0;
	if ((r = guest_key_load(path, &s->key, e)) < 0)
		return r;
	if (have(ss, s->key.pub))
		return 0;
	memcpy(s->pub, s->key.pub, GUEST_KEY_PUB);
	snprintf(s->comment, sizeof s->comment, "%s", path);
	s->in_agent = false;
	ss->n++;
	return 0;
}

int
guest_signers_load(struct guest_signers *ss, const char *identity,
    struct guest_error *e)
{
	const char *home = getenv("HOME");
	struct guest_error fe = { 0 };
	uint8_t want[GUEST_KEY_PUB];
	char def[4096];
	int r;

	memset(ss, 0, sizeof *ss);
	ss->agent_fd = -1;
	if (identity != NULL) {
		size_t n = strlen(identity);
		bool is_pub = n > 4 && strcmp(identity + n - 4, ".pub") == 0;

		/* The key is known: ssh-agent is asked to sign with it at
		 * once (one exchange, not two); if it has not got it, the
		 * file's secret signs instead. */
		if (pub_of(identity, want) == 0 &&
		    (ss->agent_fd = agent_connect()) >= 0) {
			memcpy(ss->s[0].pub, want, GUEST_KEY_PUB);
			snprintf(ss->s[0].comment, sizeof ss->s[0].comment,
			    "%s", identity);
			ss->s[0].in_agent = true;
			ss->s[0].fallback = is_pub ? NULL : identity;
			ss->n = 1;
			return 0;
		}
		if (is_pub)
			return guest_error_set(e, -ENOENT, "%s: ssh-agent does "
			    "not hold this key (ssh-add the private key)",
			    identity);
		return file_key(ss, identity, e);
	}
	agent_keys(ss, NULL);
	if (home != NULL && *home != '\0') {
		snprintf(def, sizeof def, "%s/.ssh/id_ed25519", home);
		if (ss->n < GUEST_SIGNERS_MAX && (r = file_key(ss, def,
		    &fe)) < 0 && r != -ENOENT && ss->n == 0) {
			*e = fe;
			return r;
		}
	}
	if (ss->n == 0)
		return guest_error_set(e, -ENOKEY, "no Ed25519 key to sign in "
		    "with: make one with ssh-keygen -t ed25519, or add one to "
		    "ssh-agent (ssh-add), or give one with -i FILE");
	return 0;
}

int
guest_signers_sign(struct guest_signers *ss, size_t i, const char *ns,
    const void *msg, size_t n, uint8_t sig[GUEST_SIG_BLOB],
    struct guest_error *e)
{
	struct guest_signer *s = &ss->s[i];
	uint8_t h[64], data[GUEST_SSHSIG_DATA_MAX], blob[GUEST_KEY_BLOB];
	uint8_t req[1 + 4 + GUEST_KEY_BLOB + 4 + GUEST_SSHSIG_DATA_MAX + 4];
	struct guest_sshbuf b = { .p = req, .cap = sizeof req };
	struct guest_sshreader r;
	const uint8_t *sp;
	uint8_t *reply;
	size_t dn, len, sn;
	char fp[GUEST_FP_MAX];
	int ret;

	if (!s->in_agent) {
		guest_sshsig_sign(&s->key, ns, msg, n, sig);
		return 0;
	}
	guest_sha512(msg, n, h);
	dn = guest_sshsig_data(ns, h, data);
	guest_key_blob(s->pub, blob);
	req[0] = AGENT_SIGN_REQUEST;
	b.len = 1;
	guest_ssh_put_string(&b, blob, sizeof blob);
	guest_ssh_put_string(&b, data, dn);
	guest_ssh_put_u32(&b, 0);
	if ((ret = agent_call(ss->agent_fd, req, b.len, &reply, &len)) < 0)
		return guest_error_set(e, ret, "ssh-agent: %s", strerror(-ret));
	if (reply[0] == AGENT_FAILURE && s->fallback != NULL) {
		/* Not in ssh-agent after all: the file's own secret. */
		free(reply);
		if ((ret = guest_key_load(s->fallback, &s->key, e)) < 0)
			return ret;
		s->in_agent = false;
		guest_sshsig_sign(&s->key, ns, msg, n, sig);
		return 0;
	}
	if (reply[0] == AGENT_FAILURE && ss->n == 1 && s->fallback == NULL &&
	    strlen(s->comment) > 4 &&
	    strcmp(s->comment + strlen(s->comment) - 4, ".pub") == 0) {
		free(reply);
		return guest_error_set(e, -ENOENT, "%s: ssh-agent does not "
		    "hold this key (ssh-add the private key)", s->comment);
	}
	r.p = reply + 1;
	r.n = len - 1;
	ret = 0;
	/* The agent checks the signature; a wrong one fails there. */
	if (reply[0] != AGENT_SIGN_RESPONSE ||
	    guest_ssh_get_string(&r, &sp, &sn) < 0 || sn != GUEST_SIG_BLOB)
		ret = guest_error_set(e, -EACCES, "ssh-agent would not sign "
		    "with %s (%s)%s", guest_key_fingerprint(s->pub, fp),
		    s->comment, reply[0] == AGENT_FAILURE ?
		    ": it refused (a key that needs confirming?)" : "");
	else
		memcpy(sig, sp, GUEST_SIG_BLOB);
	free(reply);
	return ret;
}

int
guest_signers_authorized(const char *identity, char *buf, size_t n,
    struct guest_error *e)
{
	struct guest_signers ss;
	const char *home = getenv("HOME");
	char def[4096], line[600];
	uint8_t pub[GUEST_KEY_PUB];
	size_t i, o = 0;
	int r;

	memset(&ss, 0, sizeof ss);
	ss.agent_fd = -1;
	if (identity == NULL) {
		agent_keys(&ss, NULL);
		guest_closep(&ss.agent_fd);
	}
	if (identity == NULL && home != NULL && *home != '\0')
		snprintf(def, sizeof def, "%s/.ssh/id_ed25519", home);
	else
		snprintf(def, sizeof def, "%s", identity ? identity : "");
	if (*def != '\0' && ss.n < GUEST_SIGNERS_MAX) {
		if ((r = pub_of(def, pub)) == 0 && !have(&ss, pub)) {
			memcpy(ss.s[ss.n].pub, pub, GUEST_KEY_PUB);
			snprintf(ss.s[ss.n].comment,
			    sizeof ss.s[ss.n].comment, "%s", def);
			ss.n++;
		} else if (r < 0 && identity != NULL)
			return guest_error_set(e, r, "%s: no public key next to "
			    "it (%s.pub): %s", identity, identity,
			    strerror(-r));
	}
	for (i = 0; i < ss.n; i++) {
		guest_key_format_pub(ss.s[i].pub, ss.s[i].comment, line,
		    sizeof line);
		r = snprintf(buf + o, n - o, "* %s\n", line);
		if (r < 0 || (size_t)r >= n - o)
			return guest_error_set(e, -ENOSPC, "too many keys");
		o += (size_t)r;
	}
	if (o > 0)
		buf[o - 1] = '\0';	/* no newline after the last */
	else if (n > 0)
		buf[0] = '\0';
	return (int)ss.n;
}

void
guest_signers_close(struct guest_signers *ss)
{
	size_t i;

	guest_closep(&ss->agent_fd);
	for (i = 0; i < ss->n; i++)
		explicit_bzero(&ss->s[i].key, sizeof ss->s[i].key);
	ss->n = 0;
}
