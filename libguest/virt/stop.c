/*
 * guest stop: ACPI shutdown with a deadline, or destroy.
 *
 * A transient VM is gone once it stops; a persistent one stays defined,
 * shut off.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "virt-int.h"
#include "guest/util.h"

int
virt_stop(const char *uri, const char *spec, int timeout_ms, bool force,
    struct guest_dom *out, struct guest_error *e)
{
	virConnectPtr conn;
	virDomainPtr d;
	int64_t deadline;
	int r = 0;

	if ((conn = virt_open(uri, false, false, e)) == NULL)
		return e->code;
	if ((d = virt_lookup(conn, uri, spec, e)) == NULL) {
		virConnectClose(conn);
		return e->code;
	}
	if ((r = virt_dom_fill(d, out, true, e)) < 0)
		goto out;
	if (virDomainIsActive(d) != 1) {
		r = guest_error_set(e, -EHOSTDOWN, "%s is not running",
		    out->name);
		goto out;
	}
	if (force) {
		if (virDomainDestroy(d) < 0)
			r = guest_error_set(e, -EIO, "cannot destroy %s: %s",
			    out->name, virt_last_error());
		goto out;
	}
	if (virDomainShutdownFlags(d, VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN) < 0) {
		r = guest_error_set(e, -EIO, "cannot shut %s down: %s",
		    out->name, virt_last_error());
		goto out;
	}
	/* virDomainIsActive: 1 running, 0 stopped (persistent), -1 gone
	 * (transient) or the daemon away. */
	deadline = guest_now_ms() + timeout_ms;
	while ((r = virDomainIsActive(d)) == 1 && guest_now_ms() < deadline)
		nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
	if (r == 1)
		r = guest_error_set(e, -ETIMEDOUT, "%s did not shut down within "
		    "%d s (the guest may ignore the ACPI power button); guest "
		    "stop --force destroys it", out->name, timeout_ms / 1000);
	else if (r < 0 && virConnectIsAlive(conn) != 1)
		r = guest_error_set(e, -EIO, "lost %s while %s shut down: %s",
		    uri, out->name, virt_last_error());
	else
		r = 0;
out:
	virDomainFree(d);
	virConnectClose(conn);
	return r;
}
