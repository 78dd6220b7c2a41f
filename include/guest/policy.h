/*
 * Which peers guest-agent talks to.  A pure function of the peer's address
 * and credentials, so it can be tested without sockets.
 *
 *   vsock: CID 2 (the host) always; other CIDs only when listed.
 *   unix:  peers whose SO_PEERCRED uid is root or the agent's own uid.
 */
#ifndef GUEST_POLICY_H
#define GUEST_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define GUEST_POLICY_MAX_CIDS	64

struct guest_policy {
	uint32_t	allow_cids[GUEST_POLICY_MAX_CIDS];
	size_t		n_allow;
	uid_t		self_uid;
};

/* -EINVAL for CID -1 (any), -ENOSPC when the list is full. */
int	guest_policy_allow_cid(struct guest_policy *, uint32_t cid);

/* 0 if the peer may talk to us, else -EPERM with the reason in why.
 * cred is the SO_PEERCRED of a Unix peer (NULL when unknown). */
int	guest_policy_check(const struct guest_policy *, const struct sockaddr *,
	    socklen_t, const struct ucred *cred, char *why, size_t whylen);

#endif
