/*
 * Ed25519 keys and sshsig signatures (see include/guest/key.h).  Every
 * primitive is libsodium's; this file only lays out OpenSSH's formats.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "guest/key.h"
#include "guest/util.h"

#define PRIV_BEGIN	"-----BEGIN OPENSSH PRIVATE KEY-----"
#define PRIV_END	"-----END OPENSSH PRIVATE KEY-----"
#define SIG_BEGIN	"-----BEGIN SSH SIGNATURE-----"
#define SIG_END		"-----END SSH SIGNATURE-----"
#define AUTH_MAGIC	"openssh-key-v1"	/* and its NUL */
#define KEY_FILE_MAX	(64 * 1024)

int
guest_crypto_init(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

void
guest_random(void *buf, size_t n)
{
	randombytes_buf(buf, n);
}

int
guest_key_generate(struct guest_key *k)
{
	memset(k, 0, sizeof *k);
	if (guest_crypto_init() < 0)
		return -EIO;
	crypto_sign_ed25519_keypair(k->pub, k->sk);
	k->has_secret = true;
	return 0;
}

void
guest_key_from_seed(const uint8_t seed[32], struct guest_key *k)
{
	memset(k, 0, sizeof *k);
	crypto_sign_ed25519_seed_keypair(k->pub, k->sk, seed);
	k->has_secret = true;
}

/* SSH wire strings. */

static void
put(struct guest_sshbuf *b, const void *p, size_t n)
{
	if (b->overflow || n > b->cap - b->len) {
		b->overflow = true;
		return;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void
guest_ssh_put_u32(struct guest_sshbuf *b, uint32_t v)
{
	uint8_t w[4];

	guest_put_be32(w, v);
	put(b, w, 4);
}

void
guest_ssh_put_string(struct guest_sshbuf *b, const void *p, size_t n)
{
	guest_ssh_put_u32(b, (uint32_t)n);
	put(b, p, n);
}

void
guest_ssh_put_cstring(struct guest_sshbuf *b, const char *s)
{
	guest_ssh_put_string(b, s, strlen(s));
}

int
guest_ssh_get_u32(struct guest_sshreader *r, uint32_t *v)
{
	if (r->n < 4)
		return -EINVAL;
	*v = guest_get_be32(r->p);
	r->p += 4;
	r->n -= 4;
	return 0;
}

int
guest_ssh_get_string(struct guest_sshreader *r, const uint8_t **p, size_t *n)
{
	uint32_t len;

	if (guest_ssh_get_u32(r, &len) < 0 || len > r->n)
		return -EINVAL;
	*p = r->p;
	*n = len;
	r->p += len;
	r->n -= len;
	return 0;
}

bool
guest_ssh_get_is(struct guest_sshreader *r, const char *s)
{
	const uint8_t *p;
	size_t n;

	return guest_ssh_get_string(r, &p, &n) == 0 && n == strlen(s) &&
	    memcmp(p, s, n) == 0;
}

/* Public keys. */

void
guest_key_blob(const uint8_t pub[GUEST_KEY_PUB], uint8_t blob[GUEST_KEY_BLOB])
{
	struct guest_sshbuf b = { .p = blob, .cap = GUEST_KEY_BLOB };

	guest_ssh_put_cstring(&b, GUEST_KEY_TYPE);
	guest_ssh_put_string(&b, pub, GUEST_KEY_PUB);
}

int
guest_key_from_blob(const uint8_t *blob, size_t n, uint8_t pub[GUEST_KEY_PUB],
    char *type, size_t type_len)
{
	struct guest_sshreader r = { blob, n };
	const uint8_t *t, *k;
	size_t tn, kn;

	if (guest_ssh_get_string(&r, &t, &tn) < 0)
		return -EINVAL;
	if (type != NULL)
		snprintf(type, type_len, "%.*s", (int)(tn < 64 ? tn : 64),
		    (const char *)t);
	if (tn != strlen(GUEST_KEY_TYPE) || memcmp(t, GUEST_KEY_TYPE, tn) != 0)
		return -EPROTONOSUPPORT;
	if (guest_ssh_get_string(&r, &k, &kn) < 0 || kn != GUEST_KEY_PUB ||
	    r.n != 0)
		return -EINVAL;
	memcpy(pub, k, GUEST_KEY_PUB);
	return 0;
}

char *
guest_key_fingerprint(const uint8_t pub[GUEST_KEY_PUB], char fp[GUEST_FP_MAX])
{
	uint8_t blob[GUEST_KEY_BLOB], h[crypto_hash_sha256_BYTES];

	guest_key_blob(pub, blob);
	crypto_hash_sha256(h, blob, sizeof blob);
	memcpy(fp, "SHA256:", 7);
	sodium_bin2base64(fp + 7, GUEST_FP_MAX - 7, h, sizeof h,
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	return fp;
}

int
guest_key_format_pub(const uint8_t pub[GUEST_KEY_PUB], const char *comment,
    char *buf, size_t n)
{
	uint8_t blob[GUEST_KEY_BLOB];
	char b64[sodium_base64_ENCODED_LEN(GUEST_KEY_BLOB,
	    sodium_base64_VARIANT_ORIGINAL)];
	int w;

	guest_key_blob(pub, blob);
	sodium_bin2base64(b64, sizeof b64, blob, sizeof blob,
	    sodium_base64_VARIANT_ORIGINAL);
	w = snprintf(buf, n, GUEST_KEY_TYPE " %s%s%s", b64,
	    comment != NULL && *comment ? " " : "",
	    comment != NULL ? comment : "");
	return w < 0 || (size_t)w >= n ? -ENOSPC : w;
}

int
guest_key_parse_pub(const char *line, uint8_t pub[GUEST_KEY_PUB],
    char *comment, size_t comment_len, struct guest_error *e)
{
	uint8_t blob[256];
	char type[64];
	const char *p = line, *b64, *end;
	size_t tn, bn, blen;
	int r;

	p += strspn(p, " \t");
	tn = strcspn(p, " \t\r\n");
	if (tn == 0)
		return guest_error_set(e, -EINVAL, "no key");
	snprintf(type, sizeof type, "%.*s", (int)(tn < 63 ? tn : 63), p);
	b64 = p + tn;
	b64 += strspn(b64, " \t");
	bn = strcspn(b64, " \t\r\n");
	if (strcmp(type, GUEST_KEY_TYPE) != 0)
		return guest_error_set(e, -EPROTONOSUPPORT,
		    "%s keys are not supported (only " GUEST_KEY_TYPE ")",
		    type);
	if (bn == 0 || sodium_base642bin(blob, sizeof blob, b64, bn, NULL,
	    &blen, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != b64 + bn)
		return guest_error_set(e, -EINVAL, "the key is not base64");
	if ((r = guest_key_from_blob(blob, blen, pub, NULL, 0)) < 0)
		return guest_error_set(e, -EINVAL, "the key's type and "
		    "contents do not match");
	if (comment != NULL) {
		p = b64 + bn;
		p += strspn(p, " \t");
		snprintf(comment, comment_len, "%.*s",
		    (int)strcspn(p, "\r\n"), p);
	}
	return 0;
}

/* Private key files. */

static int
read_file(const char *path, char **out, struct guest_error *e)
{
	char *buf;
	ssize_t n;
	size_t len = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return guest_error_set(e, -errno, "%s: %s", path,
		    strerror(errno));
	if ((buf = malloc(KEY_FILE_MAX + 1)) == NULL) {
		close(fd);
		return guest_error_set(e, -ENOMEM, "%s: out of memory", path);
	}
	while (len < KEY_FILE_MAX &&
	    (n = read(fd, buf + len, KEY_FILE_MAX - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			close(fd);
			free(buf);
			return guest_error_set(e, (int)n, "%s: %s", path,
			    strerror((int)-n));
		}
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*out = buf;
	return 0;
}

/* The bytes between begin and end lines, base64-decoded into a new
 * buffer. */
static int
dearmor(const char *text, const char *begin, const char *end, uint8_t **out,
    size_t *len)
{
	const char *b = strstr(text, begin), *z, *last;
	size_t cap;
	uint8_t *bin;

	if (b == NULL)
		return -EINVAL;
	b += strlen(begin);
	if ((z = strstr(b, end)) == NULL)
		return -EINVAL;
	cap = (size_t)(z - b);
	if ((bin = malloc(cap + 1)) == NULL)
		return -ENOMEM;
	if (sodium_base642bin(bin, cap + 1, b, (size_t)(z - b), " \t\r\n",
	    len, &last, sodium_base64_VARIANT_ORIGINAL) != 0 || last != z) {
		free(bin);
		return -EINVAL;
	}
	*out = bin;
	return 0;
}

static int
parse_private(const uint8_t *bin, size_t n, struct guest_key *k,
    const char *path, struct guest_error *e)
{
	struct guest_sshreader r = { bin, n }, s;
	const uint8_t *cipher, *pubblob, *sec, *pub, *sk, *comment;
	size_t cn, pn, sn, pubn, skn, comn;
	uint32_t nkeys, c1, c2;
	char type[64];
	int t;

	if (n < sizeof AUTH_MAGIC || memcmp(bin, AUTH_MAGIC,
	    sizeof AUTH_MAGIC) != 0)
		goto bad;
	r.p += sizeof AUTH_MAGIC;
	r.n -= sizeof AUTH_MAGIC;
	if (guest_ssh_get_string(&r, &cipher, &cn) < 0)
		goto bad;
	if (cn != 4 || memcmp(cipher, "none", 4) != 0)
		return guest_error_set(e, -EKEYREJECTED, "%s is encrypted: add "
		    "it to ssh-agent (ssh-add %s) and guest will use it from "
		    "there", path, path);
	if (!guest_ssh_get_is(&r, "none") || !guest_ssh_get_is(&r, "") ||
	    guest_ssh_get_u32(&r, &nkeys) < 0 || nkeys != 1 ||
	    guest_ssh_get_string(&r, &pubblob, &pn) < 0 ||
	    guest_ssh_get_string(&r, &sec, &sn) < 0)
		goto bad;
	if ((t = guest_key_from_blob(pubblob, pn, k->pub, type,
	    sizeof type)) == -EPROTONOSUPPORT)
		return guest_error_set(e, -EPROTONOSUPPORT, "%s: %s keys are "
		    "not supported (only " GUEST_KEY_TYPE ")", path, type);
	if (t < 0)
		goto bad;
	s.p = sec;
	s.n = sn;
	if (guest_ssh_get_u32(&s, &c1) < 0 || guest_ssh_get_u32(&s, &c2) < 0 ||
	    c1 != c2 || !guest_ssh_get_is(&s, GUEST_KEY_TYPE) ||
	    guest_ssh_get_string(&s, &pub, &pubn) < 0 || pubn != 32 ||
	    guest_ssh_get_string(&s, &sk, &skn) < 0 || skn != 64 ||
	    guest_ssh_get_string(&s, &comment, &comn) < 0 ||
	    memcmp(pub, k->pub, 32) != 0 || memcmp(sk + 32, pub, 32) != 0)
		goto bad;
	memcpy(k->sk, sk, 64);
	k->has_secret = true;
	snprintf(k->comment, sizeof k->comment, "%.*s",
	    (int)(comn < sizeof k->comment ? comn : sizeof k->comment - 1),
	    (const char *)comment);
	return 0;
bad:
	return guest_error_set(e, -EINVAL, "%s: not an OpenSSH private key "
	    "(openssh-key-v1)", path);
}

int
guest_key_load(const char *path, struct guest_key *k, struct guest_error *e)
{
	char *text = NULL;
	uint8_t *bin;
	size_t n;
	int r;

	memset(k, 0, sizeof *k);
	if (guest_crypto_init() < 0)
		return guest_error_set(e, -EIO, "cannot start libsodium");
	if ((r = read_file(path, &text, e)) < 0)
		return r;
	r = dearmor(text, PRIV_BEGIN, PRIV_END, &bin, &n);
	free(text);
	if (r < 0)
		return guest_error_set(e, -EINVAL, "%s: not an OpenSSH private "
		    "key (no " PRIV_BEGIN " block)", path);
	r = parse_private(bin, n, k, path, e);
	sodium_memzero(bin, n);
	free(bin);
	if (r < 0)
		sodium_memzero(k, sizeof *k);
	return r;
}

int
guest_key_save(const char *path, const struct guest_key *k,
    struct guest_error *e)
{
	uint8_t bin[512], sec[400], blob[GUEST_KEY_BLOB];
	struct guest_sshbuf b = { .p = bin, .cap = sizeof bin };
	struct guest_sshbuf s = { .p = sec, .cap = sizeof sec };
	char b64[sodium_base64_ENCODED_LEN(512, sodium_base64_VARIANT_ORIGINAL)];
	char tmp[4096], out[1024];
	uint32_t check;
	size_t i, o, len;
	int fd, r = 0;

	guest_random(&check, sizeof check);
	guest_key_blob(k->pub, blob);
	guest_ssh_put_u32(&s, check);
	guest_ssh_put_u32(&s, check);
	guest_ssh_put_cstring(&s, GUEST_KEY_TYPE);
	guest_ssh_put_string(&s, k->pub, 32);
	guest_ssh_put_string(&s, k->sk, 64);
	guest_ssh_put_cstring(&s, k->comment);
	for (i = 1; s.len % 8 != 0; i++)
		put(&s, &(uint8_t){ (uint8_t)i }, 1);
	put(&b, AUTH_MAGIC, sizeof AUTH_MAGIC);
	guest_ssh_put_cstring(&b, "none");
	guest_ssh_put_cstring(&b, "none");
	guest_ssh_put_cstring(&b, "");
	guest_ssh_put_u32(&b, 1);
	guest_ssh_put_string(&b, blob, sizeof blob);
	guest_ssh_put_string(&b, sec, s.len);
	sodium_memzero(sec, sizeof sec);
	if (b.overflow || s.overflow)
		return guest_error_set(e, -EINVAL, "key comment too long");
	sodium_bin2base64(b64, sizeof b64, bin, b.len,
	    sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(bin, sizeof bin);
	/* 70 columns, as ssh-keygen writes it. */
	o = (size_t)snprintf(out, sizeof out, PRIV_BEGIN "\n");
	len = strlen(b64);
	for (i = 0; i < len; i += 70)
		o += (size_t)snprintf(out + o, sizeof out - o, "%.70s\n",
		    b64 + i);
	o += (size_t)snprintf(out + o, sizeof out - o, PRIV_END "\n");
	sodium_memzero(b64, sizeof b64);
	snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd < 0)
		r = -errno;
	else if ((r = guest_write_all(fd, out, o)) == 0 && fsync(fd) < 0)
		r = -errno;
	sodium_memzero(out, sizeof out);
	if (fd >= 0 && close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		if (fd >= 0)
			unlink(tmp);
		return guest_error_set(e, r, "%s: %s", path, strerror(-r));
	}
	return 0;
}

/* Signatures. */

void
guest_sha512(const void *p, size_t n, uint8_t h[64])
{
	crypto_hash_sha512(h, p, n);
}

size_t
guest_sshsig_data(const char *ns, const uint8_t h[64],
    uint8_t out[GUEST_SSHSIG_DATA_MAX])
{
	struct guest_sshbuf b = { .p = out, .cap = GUEST_SSHSIG_DATA_MAX };

	put(&b, "SSHSIG", 6);
	guest_ssh_put_cstring(&b, ns);
	guest_ssh_put_cstring(&b, "");		/* reserved */
	guest_ssh_put_cstring(&b, "sha512");
	guest_ssh_put_string(&b, h, 64);
	return b.overflow ? 0 : b.len;
}

void
guest_sshsig_sign(const struct guest_key *k, const char *ns, const void *msg,
    size_t n, uint8_t sig[GUEST_SIG_BLOB])
{
	uint8_t h[64], data[GUEST_SSHSIG_DATA_MAX], raw[64];
	struct guest_sshbuf b = { .p = sig, .cap = GUEST_SIG_BLOB };
	size_t dn;

	guest_sha512(msg, n, h);
	dn = guest_sshsig_data(ns, h, data);
	crypto_sign_ed25519_detached(raw, NULL, data, dn, k->sk);
	guest_ssh_put_cstring(&b, GUEST_KEY_TYPE);
	guest_ssh_put_string(&b, raw, 64);
}

bool
guest_sshsig_verify(const uint8_t pub[GUEST_KEY_PUB], const char *ns,
    const void *msg, size_t n, const uint8_t *sig, size_t sig_len)
{
	struct guest_sshreader r = { sig, sig_len };
	uint8_t h[64], data[GUEST_SSHSIG_DATA_MAX];
	const uint8_t *raw;
	size_t rn, dn;

	if (!guest_ssh_get_is(&r, GUEST_KEY_TYPE) ||
	    guest_ssh_get_string(&r, &raw, &rn) < 0 || rn != 64 || r.n != 0)
		return false;
	guest_sha512(msg, n, h);
	if ((dn = guest_sshsig_data(ns, h, data)) == 0)
		return false;
	return crypto_sign_ed25519_verify_detached(raw, data, dn, pub) == 0;
}

int
guest_sshsig_armor(const uint8_t pub[GUEST_KEY_PUB], const char *ns,
    const uint8_t sig[GUEST_SIG_BLOB], char *buf, size_t n)
{
	uint8_t bin[512], blob[GUEST_KEY_BLOB];
	struct guest_sshbuf b = { .p = bin, .cap = sizeof bin };
	char b64[sodium_base64_ENCODED_LEN(512, sodium_base64_VARIANT_ORIGINAL)];
	size_t i, len, o;

	guest_key_blob(pub, blob);
	put(&b, "SSHSIG", 6);
	guest_ssh_put_u32(&b, 1);
	guest_ssh_put_string(&b, blob, sizeof blob);
	guest_ssh_put_cstring(&b, ns);
	guest_ssh_put_cstring(&b, "");
	guest_ssh_put_cstring(&b, "sha512");
	guest_ssh_put_string(&b, sig, GUEST_SIG_BLOB);
	if (b.overflow)
		return -ENOSPC;
	sodium_bin2base64(b64, sizeof b64, bin, b.len,
	    sodium_base64_VARIANT_ORIGINAL);
	o = (size_t)snprintf(buf, n, SIG_BEGIN "\n");
	len = strlen(b64);
	for (i = 0; i < len && o < n; i += 76)
		o += (size_t)snprintf(buf + o, n - o, "%.76s\n", b64 + i);
	if (o < n)
		o += (size_t)snprintf(buf + o, n - o, SIG_END "\n");
	return o >= n ? -ENOSPC : (int)o;
}

int
guest_sshsig_dearmor(const char *text, uint8_t pub[GUEST_KEY_PUB], char *ns,
    size_t ns_len, uint8_t sig[GUEST_SIG_BLOB])
{
	struct guest_sshreader r;
	const uint8_t *blob, *nsp, *s;
	uint8_t *bin;
	size_t n, bn, nsn, sn;
	uint32_t v;
	int ret = -EINVAL;

	if (dearmor(text, SIG_BEGIN, SIG_END, &bin, &n) < 0)
		return -EINVAL;
	r.p = bin;
	r.n = n;
	if (n >= 6 && memcmp(bin, "SSHSIG", 6) == 0) {
		r.p += 6;
		r.n -= 6;
		if (guest_ssh_get_u32(&r, &v) == 0 && v == 1 &&
		    guest_ssh_get_string(&r, &blob, &bn) == 0 &&
		    guest_key_from_blob(blob, bn, pub, NULL, 0) == 0 &&
		    guest_ssh_get_string(&r, &nsp, &nsn) == 0 &&
		    guest_ssh_get_is(&r, "") &&
		    guest_ssh_get_is(&r, "sha512") &&
		    guest_ssh_get_string(&r, &s, &sn) == 0 &&
		    sn == GUEST_SIG_BLOB && r.n == 0) {
			snprintf(ns, ns_len, "%.*s", (int)nsn,
			    (const char *)nsp);
			memcpy(sig, s, GUEST_SIG_BLOB);
			ret = 0;
		}
	}
	free(bin);
	return ret;
}
