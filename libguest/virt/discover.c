/*
 * Discovery, for guest list and the inventory.
 *
 * One refresh costs one connection, one bulk call for every domain and its
 * state (virConnectGetAllDomainStats, or virConnectListAllDomains where
 * that is not supported), and the live XML only of active domains whose id
 * changed since the last refresh: a domain id is new each time a domain
 * starts, and a running domain's vsock CID cannot change.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "virt-int.h"

int
guest_virt_xml_cid(const char *xml, size_t len, int64_t *cid, bool *has_vsock)
{
	xmlDocPtr doc;
	xmlXPathContextPtr ctx = NULL;
	xmlXPathObjectPtr dev = NULL, obj = NULL;
	xmlChar *s;
	char *end;
	long long v;
	int r = 0;

	*cid = GUEST_NO_CID;
	*has_vsock = false;
	if (len > 64 * 1024 * 1024)
		return -EBADMSG;
	doc = xmlReadMemory(xml, (int)len, "domain.xml", NULL, XML_PARSE_NONET |
	    XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL)
		return -EBADMSG;
	if ((ctx = xmlXPathNewContext(doc)) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	dev = xmlXPathEvalExpression(BAD_CAST "/domain/devices/vsock", ctx);
	*has_vsock = dev != NULL && dev->type == XPATH_NODESET &&
	    dev->nodesetval != NULL && dev->nodesetval->nodeNr > 0;
	obj = xmlXPathEvalExpression(
	    BAD_CAST "string(/domain/devices/vsock/cid/@address)", ctx);
	if (obj != NULL && obj->type == XPATH_STRING && obj->stringval != NULL &&
	    obj->stringval[0] != '\0') {
		s = obj->stringval;
		errno = 0;
		v = strtoll((const char *)s, &end, 10);
		if (*end == '\0' && errno == 0 && v > 2 && v < 0xffffffffLL) {
			*cid = v;
			r = 1;
		}
	}
out:
	if (obj != NULL)
		xmlXPathFreeObject(obj);
	if (dev != NULL)
		xmlXPathFreeObject(dev);
	if (ctx != NULL)
		xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return r;
}

static void
vms_free(struct guest_vm *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i].name);
	free(v);
}

static int
known_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct guest_vm *)elem)->uuid);
}

/* Fill vm from a domain handle (name, UUID and id are known locally) and
 * its state; fetch its XML only when the last refresh cannot tell. */
static int
fill(virDomainPtr d, int state, const struct guest_vm *known, size_t nknown,
    struct guest_vm *vm, size_t *fetched, char *err, size_t errn)
{
	const struct guest_vm *k;
	unsigned int id;
	char *xml;
	size_t i;
	int r;

	memset(vm, 0, sizeof *vm);
	vm->cid = GUEST_NO_CID;
	if (virDomainGetUUIDString(d, vm->uuid) < 0) {
		snprintf(err, errn, "%s", virt_last_error());
		return -EIO;
	}
	for (i = 0; vm->uuid[i] != '\0'; i++)
		if (vm->uuid[i] >= 'A' && vm->uuid[i] <= 'F')
			vm->uuid[i] = (char)(vm->uuid[i] - 'A' + 'a');
	if ((vm->name = strdup(virDomainGetName(d))) == NULL)
		return -ENOMEM;
	snprintf(vm->state, sizeof vm->state, "%s", guest_virt_state_name(state));
	id = virDomainGetID(d);
	vm->active = id != (unsigned int)-1;
	vm->id = vm->active ? (int)id : -1;
	if (!vm->active)
		return 0;
	k = nknown > 0 ? bsearch(vm->uuid, known, nknown, sizeof *known,
	    known_cmp) : NULL;
	if (k != NULL && k->active && k->id == vm->id) {
		vm->cid = k->cid;
		vm->has_vsock = k->has_vsock;
		return 0;
	}
	if ((xml = virDomainGetXMLDesc(d, 0)) == NULL) {
		/* Gone between the list and now: leave it without a CID. */
		return 0;
	}
	(*fetched)++;
	r = guest_virt_xml_cid(xml, strlen(xml), &vm->cid, &vm->has_vsock);
	free(xml);
	if (r == -EBADMSG) {
		snprintf(err, errn, "%s: domain XML does not parse", vm->name);
		return r;
	}
	return r < 0 ? r : 0;
}

int
virt_discover(const char *uri, const struct guest_vm *known, size_t nknown,
    struct guest_vm **out, size_t *nout, size_t *fetched,
    struct guest_error *e)
{
	virConnectPtr conn;
	virDomainStatsRecordPtr *stats = NULL;
	virDomainPtr *doms = NULL;
	struct guest_vm *vms = NULL;
	char err[GUEST_ERROR_MAX] = "";
	int n, i, j, r = 0, st, reason;

	*out = NULL;
	*nout = 0;
	*fetched = 0;
	if ((conn = virt_open(uri, true, false, e)) == NULL)
		return e->code;
	n = virConnectGetAllDomainStats(conn, VIR_DOMAIN_STATS_STATE, &stats,
	    0);
	if (n < 0) {
		/* Not every driver has the bulk call: list, then ask each
		 * domain its state. */
		n = virConnectListAllDomains(conn, &doms, 0);
		if (n < 0) {
			r = guest_error_set(e, -EIO, "%s: cannot list domains: %s",
			    uri, virt_last_error());
			goto out;
		}
	}
	if (n > 0 && (vms = calloc((size_t)n, sizeof *vms)) == NULL) {
		r = guest_error_set(e, -ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		virDomainPtr d = stats != NULL ? stats[i]->dom : doms[i];

		st = VIR_DOMAIN_NOSTATE;
		if (stats != NULL) {
			for (j = 0; j < stats[i]->nparams; j++)
				if (strcmp(stats[i]->params[j].field,
				    "state.state") == 0)
					st = stats[i]->params[j].value.i;
		} else if (virDomainGetState(d, &st, &reason, 0) < 0)
			st = VIR_DOMAIN_NOSTATE;
		if ((r = fill(d, st, known, nknown, &vms[i], fetched, err,
		    sizeof err)) < 0) {
			if (err[0] == '\0')
				snprintf(err, sizeof err, "%s", strerror(-r));
			guest_error_set(e, r, "%s: %s", uri, err);
			*nout = (size_t)i + 1;
			goto out;
		}
	}
	*nout = (size_t)n;
out:
	if (r < 0) {
		vms_free(vms, *nout);
		vms = NULL;
		*nout = 0;
	}
	if (stats != NULL)
		virDomainStatsRecordListFree(stats);
	if (doms != NULL) {
		for (i = 0; i < n; i++)
			virDomainFree(doms[i]);
		free(doms);
	}
	virConnectClose(conn);
	*out = vms;
	return r;
}
