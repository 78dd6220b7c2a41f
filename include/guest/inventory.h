/*
 * The inventory (host only): environments and the guests last seen in
 * them, in SQLite at $XDG_STATE_HOME/guest/inventory.db.
 *
 * An environment is a libvirt URI plus a transport template that turns a
 * guest into an address.  Guests are keyed by domain UUID, since CIDs are
 * reused.  With no environment configured, env 0 is $LIBVIRT_DEFAULT_URI,
 * else qemu:///system.
 */
#ifndef GUEST_INVENTORY_H
#define GUEST_INVENTORY_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "guest/error.h"
#include "guest/transport.h"
#include "guest/virt.h"

#define GUEST_TEMPLATE_DEFAULT	"vsock:%c:%p"
#define GUEST_INVENTORY_SCHEMA	1

struct guest_inventory;

struct guest_env {
	uint32_t	 id;
	char		*name;		/* NULL when none */
	char		*uri;
	char		*transport;	/* template */
	bool		 implicit;	/* env 0 by default, not configured */
	int64_t		 refreshed;	/* last good refresh, 0: never */
	int64_t		 stale_since;	/* first failure after it, 0: none */
	char		*stale_reason;	/* NULL when not stale */
};

/* A guest as stored: a domain plus when we saw it. */
struct guest_record {
	struct guest_vm	 vm;
	uint32_t	 env;
	int64_t		 first_seen, last_seen;
};

enum {
	GUEST_INV_READONLY	= 1 << 0,	/* do not create or write */
};

/* Where the store lives: the override, $GUEST_INVENTORY, or
 * $XDG_STATE_HOME/guest/inventory.db ($HOME/.local/state/...). */
int	guest_inventory_path(const char *override, char *buf, size_t n,
	    struct guest_error *e);

/* Open (and create, migrate or rebuild) the store.  READONLY on a file
 * that does not exist gives -ENOENT, so that a lookup never creates one.
 * A corrupt or foreign file is moved aside (warning on stderr) and a new
 * one made. */
int	guest_inventory_open(const char *path, int flags,
	    struct guest_inventory **out, struct guest_error *e);
void	guest_inventory_close(struct guest_inventory *);

/* Environments, in id order; with none configured (or no store: inv
 * NULL), the implicit env 0.  The caller frees with guest_env_list_free(). */
int	guest_inventory_envs(struct guest_inventory *, struct guest_env **out,
	    size_t *n, struct guest_error *e);
void	guest_env_list_free(struct guest_env *, size_t);

void	guest_env_clear(struct guest_env *);

/* Find an environment by number or name among envs. */
const struct guest_env *guest_env_find(const struct guest_env *envs,
	    size_t n, const char *spec);

/* Add: the lowest free number, returned in *id.  The first one added
 * replaces the implicit env 0 (keeping its guests if the URI is the
 * same). */
int	guest_inventory_env_add(struct guest_inventory *, const char *uri,
	    const char *name, const char *transport, uint32_t *id,
	    struct guest_error *e);
int	guest_inventory_env_remove(struct guest_inventory *, uint32_t id,
	    struct guest_error *e);

/* Guests of an environment, by name.  *out is malloc'ed; free with
 * guest_record_list_free(). */
int	guest_inventory_guests(struct guest_inventory *, uint32_t env,
	    struct guest_record **out, size_t *n, struct guest_error *e);
void	guest_record_list_free(struct guest_record *, size_t);

/* Ask libvirt and store what it says, or on failure mark the environment
 * stale with the reason (and return the error).  xml_fetched tells how
 * many domains needed their XML (may be NULL). */
int	guest_inventory_refresh(struct guest_inventory *,
	    const struct guest_env *, size_t *xml_fetched,
	    struct guest_error *e);

/* Templates: %c CID, %p port, %n domain name, %u UUID, %% a percent.
 * Check one (unknown escapes, and that the result is an address). */
int	guest_template_check(const char *tmpl, struct guest_error *e);
/* Does it need the inventory (%n or %u)? */
bool	guest_template_needs_domain(const char *tmpl);
/* Expand for a guest (name and uuid may be NULL when unknown). */
int	guest_template_expand(const char *tmpl, int64_t cid, uint32_t port,
	    const char *name, const char *uuid, char *buf, size_t n,
	    struct guest_error *e);

#endif
