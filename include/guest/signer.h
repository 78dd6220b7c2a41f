/*
 * The user's keys, on the host: the Ed25519 keys ssh-agent holds
 * ($SSH_AUTH_SOCK) and a key file (-i FILE, or ~/.ssh/id_ed25519), to
 * sign a session's handshake with (host only).
 */
#ifndef GUEST_SIGNER_H
#define GUEST_SIGNER_H

#include <stdbool.h>
#include <stddef.h>

#include "guest/error.h"
#include "guest/key.h"

#define GUEST_SIGNERS_MAX	8

struct guest_signer {
	uint8_t		 pub[GUEST_KEY_PUB];
	char		 comment[256];
	bool		 in_agent;	/* signs through ssh-agent */
	const char	*fallback;	/* key file, if ssh-agent has not
					 * got the key after all */
	struct guest_key key;		/* the secret, when from a file */
};

struct guest_signers {
	struct guest_signer	 s[GUEST_SIGNERS_MAX];
	size_t			 n;
	int			 agent_fd;	/* ssh-agent, or -1 */
};

/* Gather the keys to offer.  identity (NULL: none given) is a private
 * key file, or its .pub when ssh-agent holds the key: only that key is
 * offered.  Without one: ssh-agent's Ed25519 keys, then ~/.ssh/id_ed25519
 * unless ssh-agent has it.  No key at all is an error that says how to
 * get one. */
int	guest_signers_load(struct guest_signers *, const char *identity,
	    struct guest_error *e);
/* The same keys' public halves only (no secret is read: a .pub file
 * stands for its key), as authorized_keys lines "* ssh-ed25519 KEY
 * COMMENT" in buf: how many keys, or a negative errno with e. */
int	guest_signers_authorized(const char *identity, char *buf, size_t n,
	    struct guest_error *e);

/* Sign msg in namespace ns with signer i. */
int	guest_signers_sign(struct guest_signers *, size_t i, const char *ns,
	    const void *msg, size_t n, uint8_t sig[GUEST_SIG_BLOB],
	    struct guest_error *e);
void	guest_signers_close(struct guest_signers *);

#endif
