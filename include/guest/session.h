/*
 * Opening a session: connect, exchange Hello (version, software, services,
 * the guest's identity) and send the request that selects a service.
 */
#ifndef GUEST_SESSION_H
#define GUEST_SESSION_H

#include <stdint.h>

#include "guest/conn.h"
#include "guest/error.h"
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
};

/* A check of the agent's Hello before the session is used (that it is the
 * VM we meant); a negative return refuses the session with e. */
typedef int (*guest_hello_fn)(const struct guest_agent_hello *, void *arg,
	    struct guest_error *e);

/* Hostname and the VM UUID from /sys/class/dmi/id/product_uuid. */
void	guest_identity_read(struct guest_identity *);

/* Queue our Hello (id NULL on the host side). */
int	guest_hello_queue(struct guest_conn *, const char *software,
	    const struct guest_identity *id, const char *const *services);

/* Do the peer's versions overlap ours?  Returns the version to use, or
 * -EPROTONOSUPPORT with the words in e. */
int	guest_hello_check(const Guest__V1__Hello *, const char *who,
	    struct guest_error *e);

/* Connect to a (within connect_ms, 0 for the default), send Hello and
 * the request, read the agent's Hello and pass it to check (if not NULL).
 * Without a check the request goes with our Hello (one round trip); with
 * one it goes only once the check has passed, so that a refused agent
 * never gets it.  On success c is established and the next frame is the
 * reply to the request.  Errors name the address. */
int	guest_session_open(const struct guest_addr *a, int connect_ms,
	    const char *service, const GuestMessage *request,
	    guest_hello_fn check, void *check_arg, struct guest_conn *c,
	    struct guest_agent_hello *hello, struct guest_error *e);

/* The error for an unexpected message or a broken connection during a
 * session, naming the address. */
int	guest_session_fail(struct guest_conn *c, const struct guest_addr *a,
	    int err, const struct guest_msg *m, struct guest_error *e);

#endif
