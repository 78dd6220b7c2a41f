/*
 * Who may come in: the agent's host key (made at first start, kept in its
 * state directory), the keys it trusts (authorized_keys, and the
 * credential guest-agent.authorized_keys handed in by the VM's owner), and
 * the check of a client's Auth.  See docs/SECURITY.md.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "agent.h"
#include "guest/util.h"

#define CRED_NAME	"guest-agent.authorized_keys"
#define CRED_HOST_KEY	"guest-agent.host_key"
#define FWCFG_DIR	"/sys/firmware/qemu_fw_cfg/by_name/opt/" \
			"io.systemd.credentials/"
#define CRED_MAX	(64 * 1024)
#define FWCFG_CRED	FWCFG_DIR CRED_NAME "/raw"
#define DMI_TABLE	"/sys/firmware/dmi/tables/DMI"
#define SMBIOS_TEXT	"io.systemd.credential:" CRED_NAME "="
#define SMBIOS_BINARY	"io.systemd.credential.binary:" CRED_NAME "="

/* Up to max bytes of a file, NUL-terminated; NULL when it cannot be read. */
static char *
slurp(const char *path, size_t max, size_t *len)
{
	char *buf;
	size_t n = 0;
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return NULL;
	if ((buf = malloc(max + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	while (n < max && (r = read(fd, buf + n, max - n)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			free(buf);
			return NULL;
		}
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

int
auth_smbios_credential(const uint8_t *t, size_t n, char **out)
{
	static const char *const forms[] = { SMBIOS_TEXT, SMBIOS_BINARY };
	size_t i = 0, len, vn, bn, k, pl = 0;
	const char *s, *end, *v;
	char *text = NULL, *nt;
	size_t have = 0;

	/* Structures: type, length, handle, the formatted area, then
	 * NUL-terminated strings ending with an empty one. */
	while (i + 4 <= n) {
		uint8_t type = t[i], flen = t[i + 1];
		size_t j;

		if (flen < 4 || i + flen > n)
			break;
		s = (const char *)t + i + flen;
		end = (const char *)t + n;
		for (j = i + flen; j + 1 < n && (t[j] || t[j + 1]); j++)
			;
		if (j + 1 >= n)
			break;
		end = (const char *)t + j;	/* the first NUL of the pair */
		for (; type == 11 && s < end; s += len + 1) {
			len = strnlen(s, (size_t)(end - s));
			for (k = 0; k < 2; k++) {
				pl = strlen(forms[k]);
				if (len > pl && strncmp(s, forms[k], pl) == 0)
					break;
			}
			if (k == 2)
				continue;
			v = s + pl;
			vn = len - pl;
			if ((nt = realloc(text, have + vn + 2)) == NULL)
				goto nomem;
			text = nt;
			if (k == 0)
				memcpy(text + have, v, (bn = vn));
			else if (sodium_base642bin((unsigned char *)text + have,
			    vn, v, vn, " \r\n", &bn, NULL,
			    sodium_base64_VARIANT_ORIGINAL) != 0)
				bn = 0;
			have += bn;
			text[have++] = '\n';
		}
		if (type == 127)
			break;
		i = j + 2;
	}
	if (text != NULL)
		text[have] = '\0';
	*out = text;
	return text != NULL ? 1 : 0;
nomem:
	free(text);
	return -ENOMEM;
}

/* The credential, from the first place that has it. */
static char *
credential(const char **from)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	char path[4096], *s;
	uint8_t *dmi;
	size_t n;

	if (dir != NULL && *dir != '\0') {
		snprintf(path, sizeof path, "%s/%s", dir, CRED_NAME);
		if ((s = slurp(path, CRED_MAX, NULL)) != NULL) {
			*from = "$CREDENTIALS_DIRECTORY";
			return s;
		}
	}
	if ((s = slurp(FWCFG_CRED, CRED_MAX, NULL)) != NULL) {
		*from = "fw_cfg";
		return s;
	}
	if ((dmi = (uint8_t *)slurp(DMI_TABLE, 1024 * 1024, &n)) != NULL) {
		s = NULL;
		(void)auth_smbios_credential(dmi, n, &s);
		free(dmi);
		if (s != NULL) {
			*from = "SMBIOS type 11";
			return s;
		}
	}
	return NULL;
}

/* Where the credential guest-agent.host_key is, if anywhere. */
static const char *
host_key_credential(char *path, size_t n)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");

	if (dir != NULL && *dir != '\0') {
		snprintf(path, n, "%s/%s", dir, CRED_HOST_KEY);
		if (access(path, R_OK) == 0)
			return "$CREDENTIALS_DIRECTORY";
	}
	snprintf(path, n, "%s", FWCFG_DIR CRED_HOST_KEY "/raw");
	return access(path, R_OK) == 0 ? "fw_cfg" : NULL;
}

/* Does the principals field (comma separated) let a key act as user? */
static bool
principal_ok(const char *p, size_t n, const char *user)
{
	size_t un = strlen(user), w;

	while (n > 0) {
		w = 0;
		while (w < n && p[w] != ',')
			w++;
		if ((w == 1 && p[0] == '*') ||
		    (un > 0 && w == un && memcmp(p, user, un) == 0))
			return true;
		p += w;
		n -= w;
		if (n > 0) {
			p++;
			n--;
		}
	}
	return false;
}

/* Walk the lines of text (authorized_keys' format): each good line's key
 * and principals to fn, which stops the walk by returning true.  Bad
 * lines are logged when log is set. */
typedef bool (*line_fn)(const uint8_t pub[GUEST_KEY_PUB], const char *princ,
    size_t pn, void *arg);

static size_t
walk(const char *text, const char *src, bool log, line_fn fn, void *arg)
{
	const char *p = text, *nl, *key;
	uint8_t pub[GUEST_KEY_PUB];
	struct guest_error e;
	char line[8192];
	unsigned lineno = 0;
	size_t pn, good = 0;

	for (; p != NULL && *p != '\0'; p = nl) {
		nl = strchr(p, '\n');
		snprintf(line, sizeof line, "%.*s", (int)(nl != NULL ?
		    (size_t)(nl - p) : strlen(p)), p);
		if (nl != NULL)
			nl++;
		lineno++;
		key = line + strspn(line, " \t\r");
		if (*key == '\0' || *key == '#')
			continue;
		pn = strcspn(key, " \t\r");
		if (strncmp(key, "ssh-", 4) == 0) {
			if (log)
				agent_log("%s:%u: no principals before the key "
				    "(write the guest users it may act as, or "
				    "*, first: \"root ssh-ed25519 ...\")", src,
				    lineno);
			continue;
		}
		if (guest_key_parse_pub(key + pn, pub, NULL, 0, &e) < 0) {
			if (log)
				agent_log("%s:%u: %s", src, lineno, e.msg);
			continue;
		}
		good++;
		if (fn != NULL && fn(pub, key, pn, arg))
			break;
	}
	return good;
}

/* host_key.pub beside it, as sshd's host keys have: what a host can pin
 * in advance (guest forget, known_agents) is read from there. */
static void
write_pub(const char *key_path)
{
	char path[4200], line[512];
	int fd, n;

	snprintf(path, sizeof path, "%s.pub", key_path);
	if ((n = guest_key_format_pub(agent.host_key.pub,
	    agent.host_key.comment, line, sizeof line - 1)) < 0)
		return;
	line[n++] = '\n';
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0644);
	if (fd < 0)
		return;
	(void)guest_write_all(fd, line, (size_t)n);
	close(fd);
}

size_t
auth_count_keys(const char *text)
{
	return walk(text, "", false, NULL, NULL);
}

int
auth_init(const char *state, bool no_auth, const char *keys_file)
{
	struct guest_error e;
	const char *from = NULL;
	char path[4096], fp[GUEST_FP_MAX], *text;
	size_t n = 0;
	int r;

	agent.no_auth = no_auth;
	agent.keys_file = keys_file;
	if (guest_crypto_init() < 0) {
		agent_log("cannot start libsodium");
		return -1;
	}
	/* The host key: handed in by whoever launched the VM (guest launch
	 * pins it on the host before the VM starts), or made once and kept;
	 * a guest whose state is not writable gets one for this run only,
	 * and says so. */
	if ((from = host_key_credential(path, sizeof path)) != NULL) {
		if ((r = guest_key_load(path, &agent.host_key, &e)) < 0) {
			agent_log("credential " CRED_HOST_KEY " (%s): %s", from,
			    e.msg);
			return -1;
		}
		agent_log("host key from the credential " CRED_HOST_KEY
		    " (%s)", from);
		snprintf(path, sizeof path, "%s/host_key", state);
		from = NULL;
	} else if (snprintf(path, sizeof path, "%s/host_key", state) < 0 ||
	    (r = guest_key_load(path, &agent.host_key, &e)) == -ENOENT) {
		guest_key_generate(&agent.host_key);
		snprintf(agent.host_key.comment, sizeof agent.host_key.comment,
		    "guest-agent@%s", agent.id.hostname);
		if (guest_mkdir_parents(path, 0700, false) < 0 ||
		    guest_key_save(path, &agent.host_key, &e) < 0)
			agent_log("warning: cannot keep the host key (%s): "
			    "hosts will see a new one at each start", e.msg);
		else
			agent_log("made the host key %s", path);
	} else if (r < 0) {
		agent_log("host key %s: %s", path, e.msg);
		return -1;
	}
	agent_log("host key %s %s", GUEST_KEY_TYPE,
	    guest_key_fingerprint(agent.host_key.pub, fp));
	write_pub(path);
	if ((text = credential(&from)) != NULL) {
		n = walk(text, "credential " CRED_NAME, true, NULL, NULL);
		agent_log("%zu key(s) from the credential " CRED_NAME " (%s)", n,
		    from);
		agent.cred_keys = text;
	}
	if ((text = slurp(keys_file, CRED_MAX, NULL)) != NULL) {
		size_t m = walk(text, keys_file, true, NULL, NULL);

		agent_log("%zu key(s) in %s", m, keys_file);
		n += m;
		free(text);
	}
	if (no_auth)
		agent_log("WARNING: --no-auth: every peer the CID policy "
		    "admits gets in without a key; for closed test rigs only");
	else if (n == 0)
		agent_log("no trusted key: vsock peers are refused until one "
		    "is added to %s or handed in as the credential " CRED_NAME,
		    keys_file);
	return 0;
}

/* Does any trusted key exist now?  (The file is read again: a key added
 * works at the next connection, as with sshd.) */
bool
auth_have_keys(void)
{
	char *text;
	size_t n = 0;

	if (agent.cred_keys != NULL)
		n = walk(agent.cred_keys, "", false, NULL, NULL);
	if (n == 0 && (text = slurp(agent.keys_file, CRED_MAX, NULL)) != NULL) {
		n = walk(text, "", false, NULL, NULL);
		free(text);
	}
	return n > 0;
}

struct match {
	const uint8_t	*pub;
	const char	*user;
	bool		 known, allowed;
};

static bool
match_line(const uint8_t pub[GUEST_KEY_PUB], const char *princ, size_t pn,
    void *arg)
{
	struct match *m = arg;

	if (memcmp(pub, m->pub, GUEST_KEY_PUB) != 0)
		return false;
	m->known = true;
	if (principal_ok(princ, pn, m->user))
		m->allowed = true;
	return m->allowed;
}

/* The user a request acts as: its own, or the agent's. */
static const char *
request_user(const struct guest_msg *m)
{
	if (m->type == GUEST__V1__MESSAGE__BODY_EXEC_REQUEST &&
	    m->pb->exec_request->user != NULL &&
	    *m->pb->exec_request->user != '\0')
		return m->pb->exec_request->user;
	return agent_self(NULL)->pw_name;
}

int
auth_request(const Guest__V1__Auth *a, const uint8_t *client_nonce,
    const uint8_t *agent_nonce, bool required, const char *peer,
    struct guest_msg *req, char *why, size_t why_len)
{
	int r;

	if (guest_msg_decode(a->request.data, a->request.len, req) < 0 ||
	    req->type == GUEST__V1__MESSAGE__BODY_DATA) {
		if (req->type == GUEST__V1__MESSAGE__BODY_DATA)
			guest_msg_clear(req);
		snprintf(why, why_len, "the request in the Auth is not a "
		    "request");
		return -EPROTO;
	}
	if (!required)
		return 0;
	if ((r = auth_check(a, client_nonce, agent_nonce, request_user(req),
	    peer, why, why_len)) < 0) {
		guest_msg_clear(req);
		return r == -EPROTO || r == -ENOMEM ? r : -EACCES;
	}
	return 0;
}

int
auth_check(const Guest__V1__Auth *a, const uint8_t *client_nonce,
    const uint8_t *agent_nonce, const char *user, const char *peer,
    char *why, size_t why_len)
{
	uint8_t host_blob[GUEST_KEY_BLOB], pub[GUEST_KEY_PUB], *msg;
	char fp[GUEST_FP_MAX], type[64], *file;
	size_t i, mn;
	bool any_known = false, bad_sig = false, wrong_user = false;
	int r = -EACCES;

	if (a->n_signatures == 0) {
		snprintf(why, why_len, "no key offered");
		return -EACCES;
	}
	if (a->n_signatures > 8) {
		snprintf(why, why_len, "%zu keys offered, at most 8",
		    a->n_signatures);
		return -EPROTO;
	}
	guest_key_blob(agent.host_key.pub, host_blob);
	msg = guest_auth_session_msg(client_nonce, agent_nonce, host_blob,
	    a->address ? a->address : "", a->request.data, a->request.len,
	    &mn);
	if (msg == NULL) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	file = slurp(agent.keys_file, CRED_MAX, NULL);
	snprintf(why, why_len, "no key offered is trusted here");
	for (i = 0; i < a->n_signatures; i++) {
		const Guest__V1__KeySignature *ks = a->signatures[i];
		struct match m = { .pub = pub, .user = user };

		if (guest_key_from_blob(ks->public_key.data,
		    ks->public_key.len, pub, type, sizeof type) < 0)
			continue;
		if (agent.cred_keys != NULL)
			walk(agent.cred_keys, "", false, match_line, &m);
		if (!m.allowed && file != NULL)
			walk(file, "", false, match_line, &m);
		if (!m.known)
			continue;
		any_known = true;
		/* The signature first: only a client that holds the key
		 * learns what the key may do. */
		if (!guest_sshsig_verify(pub, GUEST_NS_SESSION, msg, mn,
		    ks->signature.data, ks->signature.len)) {
			bad_sig = true;
			agent_log("%s: bad signature by key %s", peer,
			    guest_key_fingerprint(pub, fp));
			continue;
		}
		if (!m.allowed) {
			wrong_user = true;
			snprintf(why, why_len, "key %s may not act as %s here",
			    guest_key_fingerprint(pub, fp),
			    *user ? user : "this user");
			continue;
		}
		agent_log("%s: key %s accepted for %s (dialled %s)", peer,
		    guest_key_fingerprint(pub, fp), *user ? user : "?",
		    a->address ? a->address : "?");
		r = 0;
		break;
	}
	if (r < 0 && bad_sig && !wrong_user)
		snprintf(why, why_len, "bad signature (not over this session, "
		    "or not by the key it names)");
	else if (r < 0 && !any_known)
		snprintf(why, why_len, "no key offered is trusted here (add "
		    "one to %s in the guest)", agent.keys_file);
	free(file);
	free(msg);
	return r;
}
