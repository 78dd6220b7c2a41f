/*
 * Ed25519 keys in OpenSSH's formats, and signatures in the form of
 * OpenSSH's PROTOCOL.sshsig, through libsodium (no primitive of our own).
 * Shared by the host (users' keys) and the agent (its host key, the keys
 * it trusts).  See docs/SECURITY.md.
 */
#ifndef GUEST_KEY_H
#define GUEST_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/error.h"

#define GUEST_KEY_PUB		32
#define GUEST_KEY_BLOB		51	/* string "ssh-ed25519", string pub */
#define GUEST_SIG_BLOB		83	/* string "ssh-ed25519", string sig */
#define GUEST_NONCE		32
#define GUEST_FP_MAX		56	/* "SHA256:" and 43 base64 digits */
#define GUEST_KEY_TYPE		"ssh-ed25519"

/* Signature namespaces (PROTOCOL.sshsig): what a signature may be used
 * for, so that one made for a session is never taken for anything else. */
#define GUEST_NS_AGENT		"guest-agent-hello@guest"
#define GUEST_NS_SESSION	"guest-session@guest"

struct guest_key {
	uint8_t	pub[GUEST_KEY_PUB];
	uint8_t	sk[64];			/* seed and pub, as libsodium has it */
	bool	has_secret;
	char	comment[256];
};

/* libsodium's set-up, once per process: 0 or -EIO. */
int	guest_crypto_init(void);
void	guest_random(void *buf, size_t n);

/* A new key pair; or the one of a 32-byte seed. */
int	guest_key_generate(struct guest_key *);
void	guest_key_from_seed(const uint8_t seed[32], struct guest_key *);

/* The SSH wire form of a public key, and back (-EINVAL unless it is one
 * ssh-ed25519 key, -EPROTONOSUPPORT for another type, with its name in
 * type when type is not NULL). */
void	guest_key_blob(const uint8_t pub[GUEST_KEY_PUB],
	    uint8_t blob[GUEST_KEY_BLOB]);
int	guest_key_from_blob(const uint8_t *blob, size_t n,
	    uint8_t pub[GUEST_KEY_PUB], char *type, size_t type_len);

/* "SHA256:..." as ssh-keygen -l prints it. */
char	*guest_key_fingerprint(const uint8_t pub[GUEST_KEY_PUB],
	    char fp[GUEST_FP_MAX]);

/* "ssh-ed25519 BASE64 COMMENT" (no newline): the bytes written, or
 * -ENOSPC. */
int	guest_key_format_pub(const uint8_t pub[GUEST_KEY_PUB],
	    const char *comment, char *buf, size_t n);
/* The same line back; the comment (may be NULL) is the rest of it.
 * -EINVAL with the reason in e. */
int	guest_key_parse_pub(const char *line, uint8_t pub[GUEST_KEY_PUB],
	    char *comment, size_t comment_len, struct guest_error *e);

/* OpenSSH private key files ("openssh-key-v1").  Load: -ENOENT, -EACCES
 * (cannot read), -EKEYREJECTED (encrypted: needs ssh-agent),
 * -EPROTONOSUPPORT (not Ed25519), -EINVAL (malformed), each with a line in
 * e.  Save: written whole to a temp, mode 0600, then renamed. */
int	guest_key_load(const char *path, struct guest_key *,
	    struct guest_error *e);
int	guest_key_save(const char *path, const struct guest_key *,
	    struct guest_error *e);

/* PROTOCOL.sshsig: the data that is signed for namespace ns and a
 * message whose SHA-512 is h (64 bytes).  Returns its length, at most
 * GUEST_SSHSIG_DATA_MAX. */
#define GUEST_SSHSIG_DATA_MAX	(6 + 4 + 64 + 4 + 4 + 6 + 4 + 64)
size_t	guest_sshsig_data(const char *ns, const uint8_t h[64],
	    uint8_t out[GUEST_SSHSIG_DATA_MAX]);
/* SHA-512 of n bytes. */
void	guest_sha512(const void *p, size_t n, uint8_t h[64]);
/* Sign msg (hashed here) in namespace ns with a key that has its secret:
 * the signature blob (string type, string signature). */
void	guest_sshsig_sign(const struct guest_key *, const char *ns,
	    const void *msg, size_t n, uint8_t sig[GUEST_SIG_BLOB]);
/* Is sig (a signature blob) pub's over msg in namespace ns? */
bool	guest_sshsig_verify(const uint8_t pub[GUEST_KEY_PUB], const char *ns,
	    const void *msg, size_t n, const uint8_t *sig, size_t sig_len);
/* The armoured form ssh-keygen -Y writes and reads ("-----BEGIN SSH
 * SIGNATURE-----"): the bytes written, or -ENOSPC; and back, -EINVAL. */
int	guest_sshsig_armor(const uint8_t pub[GUEST_KEY_PUB], const char *ns,
	    const uint8_t sig[GUEST_SIG_BLOB], char *buf, size_t n);
int	guest_sshsig_dearmor(const char *text, uint8_t pub[GUEST_KEY_PUB],
	    char *ns, size_t ns_len, uint8_t sig[GUEST_SIG_BLOB]);

/* SSH wire strings: a big-endian length, then the bytes. */
struct guest_sshbuf {
	uint8_t	*p;
	size_t	 len, cap;
	bool	 overflow;
};
void	guest_ssh_put_u32(struct guest_sshbuf *, uint32_t);
void	guest_ssh_put_string(struct guest_sshbuf *, const void *, size_t);
void	guest_ssh_put_cstring(struct guest_sshbuf *, const char *);
struct guest_sshreader {
	const uint8_t	*p;
	size_t		 n;
};
int	guest_ssh_get_u32(struct guest_sshreader *, uint32_t *);
int	guest_ssh_get_string(struct guest_sshreader *, const uint8_t **,
	    size_t *);
/* A string that must equal s. */
bool	guest_ssh_get_is(struct guest_sshreader *, const char *s);

#endif
