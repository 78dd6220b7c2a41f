/*
 * Discovery of guests through libvirt (host only).
 *
 * The code that talks to libvirt lives in a loadable module, guest-virt.so,
 * so that only the commands that need libvirt pay for loading it (about
 * 11 ms per process start): resolving a name from the inventory does not.
 */
#ifndef GUEST_VIRT_H
#define GUEST_VIRT_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "guest/error.h"

#define GUEST_VIRT_ABI		1
#define GUEST_UUID_STR		37	/* 36 characters and the NUL */
#define GUEST_NO_CID		(-1)

/* One domain as libvirt shows it. */
struct guest_vm {
	char		 uuid[GUEST_UUID_STR];	/* lower case */
	char		*name;			/* malloc'ed */
	char		 state[16];		/* as virsh says it: "running" */
	bool		 active;		/* has a domain id */
	int		 id;			/* -1 when inactive */
	int64_t		 cid;			/* GUEST_NO_CID: no vsock */
	bool		 has_vsock;
};

/* What the module exports, under the symbol guest_virt_module. */
struct guest_virt_module {
	int	abi;			/* GUEST_VIRT_ABI */
	/* All domains behind uri.  known (sorted by uuid) is what the last
	 * refresh saw: the live XML of an active domain whose id has not
	 * changed is not fetched again.  *out is malloc'ed; free it with
	 * guest_vm_list_free(). */
	int	(*discover)(const char *uri, const struct guest_vm *known,
		    size_t nknown, struct guest_vm **out, size_t *nout,
		    size_t *xml_fetched, struct guest_error *e);
};

/* Load the module (once) and discover.  Errors say what to do. */
int	guest_virt_discover(const char *uri, const struct guest_vm *known,
	    size_t nknown, struct guest_vm **out, size_t *nout,
	    size_t *xml_fetched, struct guest_error *e);

void	guest_vm_list_free(struct guest_vm *, size_t);

/* The CID in a domain's XML (/domain/devices/vsock/cid/@address):
 * 1 with *cid set, 0 when the domain has no vsock or no address yet, or
 * -EBADMSG for XML that does not parse. */
int	guest_virt_xml_cid(const char *xml, size_t len, int64_t *cid,
	    bool *has_vsock);

#endif
