/*
 * Opening a session: connect, exchange Hello (version, software, services,
 * the guest's identity) and send the request that selects a service.
 */
#ifndef GUEST_SESSION_H
#define GUEST_SESSION_H

#include <stdint.h>

#include "guest/conn.h"
#include "guest/error.h"
#include "guest/key.h"
#include "guest/transport.h"

#define GUEST_HANDSHAKE_TIMEOUT_MS 10000

struct guest_identity {
	char	hostname[256];
	char	vm_uuid[64];	/* empty when unreadable */
};

/* What the agent said of itself in its Hello. */
struct guest_agent_hello {
	uint32_t	protocol_version;	/* the one in use */
	char		software[64];
	char		hostname[256];
	char		vm_uuid[64];
	char		services[128];		/* comma separated */
	uint8_t		host_key[GUEST_KEY_PUB];	/* proven by its signature */
	bool		auth_required;
};

/* A check of the agent's Hello before the session is used (that it is the
 * VM we meant); a negative return refuses the session with e. */
typedef int (*guest_hello_fn)(const struct guest_agent_hello *, void *arg,
	    struct guest_error *e);

/* How a client opens sessions: the connect deadline (0: the default), a
 * check of the agent's Hello (which VM it is in, its pinned host key; may
 * be NULL) and the key to sign in with (-i FILE; NULL: ssh-agent's keys,
 * then ~/.ssh/id_ed25519). */
struct guest_client {
	int		 connect_ms;
	guest_hello_fn	 check;
	void		*check_arg;
	const char	*identity;
};

/* Hostname and the VM UUID from /sys/class/dmi/id/product_uuid. */
void	guest_identity_read(struct guest_identity *);

/* Queue a Hello with our versions, software and nonce (GUEST_NONCE
 * bytes); the agent fills in the rest of h first (its identity, host key
 * and signature).  h may be NULL for the defaults. */
int	guest_hello_queue(struct guest_conn *, const char *software,
	    const uint8_t *nonce, Guest__V1__Hello *h);

/* An agent's Hello: identity, services, its nonce, the host key and
 * its signature over both nonces (none without client_nonce: a Hello
 * that only says which versions the agent speaks). */
int	guest_agent_hello_queue(struct guest_conn *,
	    const struct guest_identity *id, const char *const *services,
	    const struct guest_key *host_key, const uint8_t *client_nonce,
	    const uint8_t *nonce, bool auth_required);

/* The messages signed in the handshake (docs/PROTOCOL.md): the agent's
 * host key signs both nonces and itself; each user key the same, then the
 * address the client dialled and the encoded request.  The second is
 * malloc'ed (NULL when out of memory). */
#define GUEST_AUTH_HOST_MSG	(3 * 4 + 2 * GUEST_NONCE + GUEST_KEY_BLOB)
size_t	guest_auth_host_msg(const uint8_t *client_nonce,
	    const uint8_t *agent_nonce, const uint8_t host_blob[GUEST_KEY_BLOB],
	    uint8_t out[GUEST_AUTH_HOST_MSG]);
uint8_t	*guest_auth_session_msg(const uint8_t *client_nonce,
	    const uint8_t *agent_nonce, const uint8_t host_blob[GUEST_KEY_BLOB],
	    const char *address, const uint8_t *request, size_t request_len,
	    size_t *len);

/* Do the peer's versions overlap ours?  Returns the version to use, or
 * -EPROTONOSUPPORT with the words in e. */
int	guest_hello_check(const Guest__V1__Hello *, const char *who,
	    struct guest_error *e);

/* Connect to a, send our Hello, read the agent's, check that it holds
 * the host key it names (its signature over our nonce) and pass it to
 * cl->check; only then send the request, signed by the user's keys in an
 * Auth when the agent requires it.  On success c is established and the
 * next frame is the reply to the request.  Errors name the address. */
int	guest_session_open(const struct guest_addr *a,
	    const struct guest_client *cl, const char *service,
	    const GuestMessage *request, struct guest_conn *c,
	    struct guest_agent_hello *hello, struct guest_error *e);

/* The error for an unexpected message or a broken connection during a
 * session, naming the address. */
int	guest_session_fail(struct guest_conn *c, const struct guest_addr *a,
	    int err, const struct guest_msg *m, struct guest_error *e);

#endif
