/*
 * libvirt's remote protocol, spoken directly to a local daemon for guest
 * list's refresh (host only): see libguest/virt-rpc.c.
 */
#ifndef GUEST_VIRT_RPC_H
#define GUEST_VIRT_RPC_H

#include <stddef.h>
#include <stdint.h>

#include "guest/error.h"
#include "guest/virt.h"

/* XDR decoding over a buffer: each call checks the room it needs. */
struct guest_xdr {
	const uint8_t	*p;
	size_t		 len, off;
};
int	guest_xdr_u32(struct guest_xdr *, uint32_t *);
int	guest_xdr_string(struct guest_xdr *, const uint8_t **s, uint32_t *n);

/* Every domain and its state from a CONNECT_GET_ALL_DOMAIN_STATS reply's
 * payload: 0 with *out malloc'ed (no CIDs: those need the XML), or
 * -EBADMSG for anything that is not one, -ENOMEM. */
int	guest_virt_rpc_parse_stats(const uint8_t *p, size_t len,
	    struct guest_vm **out, size_t *nout);

/* Ask uri's daemon directly: 1 with *out filled, 0 when this path does
 * not take uri (a remote URI, another driver, an auth to go through, no
 * socket): ask the module; or a negative errno with e said. */
int	guest_virt_rpc_discover(const char *uri, struct guest_vm **out,
	    size_t *nout, struct guest_error *e);

#endif
