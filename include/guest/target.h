/*
 * From what a person types (ENV and a CID, name or UUID) to an address to
 * connect to, through the inventory and the environment's transport
 * template (host only).
 *
 * A lookup reads the cached inventory and never loads libvirt; libvirt is
 * asked only when the cache cannot answer (nothing cached yet, or a name
 * it does not know).
 */
#ifndef GUEST_TARGET_H
#define GUEST_TARGET_H

#include <stdbool.h>
#include <stdint.h>

#include "guest/error.h"
#include "guest/inventory.h"
#include "guest/transport.h"

struct guest_target {
	struct guest_addr addr;
	uint32_t	 env;
	int64_t		 cid;		/* GUEST_NO_CID when not by CID */
	bool		 known;		/* found in the inventory */
	char		 name[256];	/* when known */
	char		 uuid[GUEST_UUID_STR];	/* when known */
};

/* Resolve ENV (NULL: env 0) and GUEST (NULL: the only running guest with
 * a CID; else a CID, a domain name or a UUID) with port.  inventory is
 * the --inventory override or NULL. */
int	guest_target_resolve(const char *inventory, const char *env,
	    const char *guest, uint32_t port, struct guest_target *t,
	    struct guest_error *e);

/* A domain of an environment, for the commands that act on the VM itself
 * through libvirt (serial, stop): GUEST is a name, a UUID or the CID of a
 * running guest; no vsock needed.  env is filled (free it with
 * guest_env_clear); name and uuid say which domain. */
struct guest_domain_ref {
	struct guest_env env;
	char		 name[256];
	char		 uuid[GUEST_UUID_STR];
	bool		 active;
	char		 state[16];
};
int	guest_target_domain(const char *inventory, const char *env,
	    const char *guest, struct guest_domain_ref *out,
	    struct guest_error *e);

/* Ask libvirt for env's guests now and store them (after a launch or a
 * stop, so the inventory knows at once). */
int	guest_target_refresh(const char *inventory, const char *env,
	    struct guest_error *e);

/* The environment itself, for commands that take only ENV. */
int	guest_target_env(const char *inventory, const char *env,
	    struct guest_env *out, struct guest_error *e);

/* After Hello: is the agent in the VM the inventory says holds this CID?
 * An agent that reports no UUID cannot be checked and passes. */
int	guest_target_check(const struct guest_target *t, const char *vm_uuid,
	    struct guest_error *e);

#endif
