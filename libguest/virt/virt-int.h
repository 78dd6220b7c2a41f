/*
 * What the files of the libvirt module (guest-virt.so) share: one way to
 * connect, to find a domain and to turn libvirt's errors into ours.
 */
#ifndef GUEST_VIRT_INT_H
#define GUEST_VIRT_INT_H

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "guest/error.h"
#include "guest/virt.h"

/* libvirt's last error message, never NULL. */
const char *virt_last_error(void);

/* Connect to uri (read-only with ro), libvirt's own printing silenced;
 * with events, libvirt's event loop is registered first (streams need
 * it).  NULL with e set ("cannot reach URI: why"). */
virConnectPtr virt_open(const char *uri, bool ro, bool events,
	    struct guest_error *e);

/* The domain called spec (a UUID or a name): NULL with e set. */
virDomainPtr virt_lookup(virConnectPtr, const char *uri, const char *spec,
	    struct guest_error *e);

/* Name and UUID (lower case), which libvirt knows locally; with full,
 * also persistence and the CID from the live XML (two calls to the
 * daemon). */
int	virt_dom_fill(virDomainPtr, struct guest_dom *, bool full,
	    struct guest_error *e);

/* Open the console of d and relay it (serial.c); dom_name for messages.
 * With resumed, the domain waits paused for the console to open: it is
 * resumed then (and *resumed set), and started(dom, arg) called. */
int	virt_serial_relay(virConnectPtr, virDomainPtr, const char *dom_name,
	    const struct guest_serial_opts *, bool *resumed,
	    guest_launched_fn started, const struct guest_dom *dom, void *arg,
	    struct guest_error *e);

/* The jobs, one file each. */
int	virt_discover(const char *uri, const struct guest_vm *known,
	    size_t nknown, struct guest_vm **out, size_t *nout,
	    size_t *fetched, struct guest_error *e);
int	virt_launch(const char *uri, const struct guest_launch_spec *,
	    const struct guest_serial_opts *attach, guest_launched_fn,
	    void *arg, struct guest_dom *out, struct guest_error *e);
int	virt_serial(const char *uri, const char *dom,
	    const struct guest_serial_opts *, struct guest_error *e);
int	virt_stop(const char *uri, const char *dom, int timeout_ms,
	    bool force, struct guest_dom *out, struct guest_error *e);
int	virt_balloon(const char *uri, const char *dom, uint64_t target_kib,
	    int wait_ms, guest_balloon_fn fn, void *arg,
	    struct guest_balloon *before, struct guest_balloon *after,
	    struct guest_error *e);
int	virt_memstats(const char *uri, const char *dom, int period_s,
	    int wait_ms, struct guest_memstats *out, struct guest_error *e);

#endif
