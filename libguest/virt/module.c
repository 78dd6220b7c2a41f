/*
 * guest-virt.so: the one place that talks to libvirt, loaded on demand by
 * virt-load.c so that commands which only read the inventory never load
 * libvirt.  This file holds what the jobs share and the table they are
 * exported through; each job has its file: discover.c (guest list),
 * launch.c, serial.c, stop.c, balloon.c (balloon and balloon-stats).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "virt-int.h"

/* libvirt prints its errors on stderr unless told otherwise; we say them
 * ourselves, once. */
static void
quiet(void *data, virErrorPtr err)
{
}

/* Nor libxml2, which prints I/O warnings itself (a node file that went
 * away, for the test driver). */
static void
quiet_xml(void *ctx, const char *fmt, ...)
{
}

const char *
virt_last_error(void)
{
	const char *s = virGetLastErrorMessage();

	return s != NULL ? s : "unknown libvirt error";
}

virConnectPtr
virt_open(const char *uri, bool ro, bool events, struct guest_error *e)
{
	static bool registered;
	virConnectPtr conn;

	virSetErrorFunc(NULL, quiet);
	xmlSetGenericErrorFunc(NULL, quiet_xml);
	if (events && !registered) {
		if (virEventRegisterDefaultImpl() < 0) {
			guest_error_set(e, -EIO, "libvirt's event loop: %s",
			    virt_last_error());
			return NULL;
		}
		registered = true;
	}
	conn = virConnectOpenAuth(uri, virConnectAuthPtrDefault,
	    ro ? VIR_CONNECT_RO : 0);
	if (conn == NULL) {
		guest_error_set(e, -ECONNREFUSED, "cannot reach %s: %s", uri,
		    virt_last_error());
		return NULL;
	}
	/* A daemon that dies or hangs under a console is noticed. */
	if (events)
		virConnectSetKeepAlive(conn, 5, 3);
	return conn;
}

virDomainPtr
virt_lookup(virConnectPtr conn, const char *uri, const char *spec,
    struct guest_error *e)
{
	virDomainPtr d;

	if ((d = virDomainLookupByUUIDString(conn, spec)) == NULL &&
	    (d = virDomainLookupByName(conn, spec)) == NULL)
		guest_error_set(e, -ENOENT, "no VM '%s' in %s", spec, uri);
	return d;
}

int
virt_dom_fill(virDomainPtr d, struct guest_dom *out, bool full,
    struct guest_error *e)
{
	char *xml;
	bool vsock;
	size_t i;

	memset(out, 0, sizeof *out);
	out->cid = GUEST_NO_CID;
	snprintf(out->name, sizeof out->name, "%s", virDomainGetName(d));
	if (virDomainGetUUIDString(d, out->uuid) < 0)
		return guest_error_set(e, -EIO, "%s: %s", out->name,
		    virt_last_error());
	for (i = 0; out->uuid[i] != '\0'; i++)
		if (out->uuid[i] >= 'A' && out->uuid[i] <= 'F')
			out->uuid[i] = (char)(out->uuid[i] - 'A' + 'a');
	if (!full)
		return 0;
	out->persistent = virDomainIsPersistent(d) == 1;
	if ((xml = virDomainGetXMLDesc(d, 0)) != NULL) {
		(void)guest_virt_xml_cid(xml, strlen(xml), &out->cid, &vsock);
		free(xml);
	}
	return 0;
}

__attribute__((visibility("default")))
const struct guest_virt_module guest_virt_module = {
	.abi = GUEST_VIRT_ABI,
	.discover = virt_discover,
	.launch = virt_launch,
	.serial = virt_serial,
	.stop = virt_stop,
	.balloon = virt_balloon,
	.memstats = virt_memstats,
};
