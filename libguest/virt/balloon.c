/*
 * guest balloon and guest balloon-stats: a running VM's memory through its
 * virtio balloon (virDomainSetMemoryFlags, virDomainMemoryStats).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "virt-int.h"
#include "guest/util.h"

_Static_assert((int)GUEST_MEMSTAT_HUGETLB_PGFAIL ==
    (int)VIR_DOMAIN_MEMORY_STAT_HUGETLB_PGFAIL && (int)GUEST_MEMSTAT_USABLE ==
    (int)VIR_DOMAIN_MEMORY_STAT_USABLE && (int)GUEST_MEMSTAT_LAST_UPDATE ==
    (int)VIR_DOMAIN_MEMORY_STAT_LAST_UPDATE &&
    (int)VIR_DOMAIN_MEMORY_STAT_NR <= GUEST_MEMSTAT_NR,
    "libvirt's memory statistics tags");

/* What d's live XML says: a balloon device (a memballoon whose model is
 * not none) and its statistics period (0: none). */
struct facts {
	bool		 balloon;
	int		 period;
};

static double
xnum(xmlXPathContextPtr ctx, const char *expr)
{
	xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, ctx);
	double v = 0;

	if (o != NULL && o->type == XPATH_NUMBER && o->floatval == o->floatval)
		v = o->floatval;
	if (o != NULL)
		xmlXPathFreeObject(o);
	return v;
}

static int
facts(virDomainPtr d, struct facts *f)
{
	xmlDocPtr doc;
	xmlXPathContextPtr ctx;
	char *xml;

	memset(f, 0, sizeof *f);
	if ((xml = virDomainGetXMLDesc(d, 0)) == NULL)
		return -EIO;
	doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	free(xml);
	if (doc == NULL)
		return -EBADMSG;
	if ((ctx = xmlXPathNewContext(doc)) != NULL) {
		f->balloon = xnum(ctx, "count(/domain/devices/memballoon"
		    "[@model != 'none'])") > 0;
		f->period = (int)xnum(ctx, "number(/domain/devices/memballoon"
		    "/stats/@period)");
		xmlXPathFreeContext(ctx);
	}
	xmlFreeDoc(doc);
	return 0;
}

static int
stats(virDomainPtr d, struct guest_memstats *out)
{
	virDomainMemoryStatStruct st[VIR_DOMAIN_MEMORY_STAT_NR];
	int n, i;

	memset(out->have, 0, sizeof out->have);
	if ((n = virDomainMemoryStats(d, st, VIR_DOMAIN_MEMORY_STAT_NR, 0)) < 0)
		return -EIO;
	for (i = 0; i < n; i++)
		if (st[i].tag >= 0 && st[i].tag < GUEST_MEMSTAT_NR) {
			out->have[st[i].tag] = true;
			out->val[st[i].tag] = st[i].val;
		}
	return 0;
}

static int
sample(virDomainPtr d, struct guest_balloon *b, struct guest_error *e)
{
	struct guest_memstats m;
	virDomainInfo info;

	if (virDomainGetInfo(d, &info) < 0)
		return guest_error_set(e, -EIO, "%s: %s", b->name,
		    virt_last_error());
	b->max_kib = info.maxMem;
	/* libvirt keeps no target apart: its current memory follows what the
	 * balloon reports the guest has (virt_balloon sets the target it
	 * asked for). */
	b->target_kib = info.memory;
	b->actual_kib = info.memory;
	b->used_kib = 0;
	if (stats(d, &m) == 0) {
		if (m.have[VIR_DOMAIN_MEMORY_STAT_ACTUAL_BALLOON])
			b->actual_kib =
			    m.val[VIR_DOMAIN_MEMORY_STAT_ACTUAL_BALLOON];
		if (m.have[VIR_DOMAIN_MEMORY_STAT_AVAILABLE] &&
		    m.have[VIR_DOMAIN_MEMORY_STAT_USABLE] &&
		    m.val[VIR_DOMAIN_MEMORY_STAT_AVAILABLE] >
		    m.val[VIR_DOMAIN_MEMORY_STAT_USABLE])
			b->used_kib = m.val[VIR_DOMAIN_MEMORY_STAT_AVAILABLE] -
			    m.val[VIR_DOMAIN_MEMORY_STAT_USABLE];
	}
	return 0;
}

/* The domain, running, with a balloon: or e says why not. */
static virDomainPtr
balloon_dom(virConnectPtr conn, const char *uri, const char *spec,
    char *name, size_t n, struct facts *f, struct guest_error *e)
{
	virDomainPtr d;

	if ((d = virt_lookup(conn, uri, spec, e)) == NULL)
		return NULL;
	snprintf(name, n, "%s", virDomainGetName(d));
	if (virDomainIsActive(d) != 1)
		guest_error_set(e, -EHOSTDOWN, "%s is not running", name);
	else if (facts(d, f) == 0 && !f->balloon)
		guest_error_set(e, -ENODEV, "%s has no balloon device (its "
		    "XML says <memballoon model='none'/>; guest launch gives "
		    "one unless --virtio-balloon false)", name);
	else
		return d;
	virDomainFree(d);
	return NULL;
}

static void
nap(int ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000L },
	    NULL);
}

int
virt_balloon(const char *uri, const char *spec, uint64_t target_kib,
    int wait_ms, guest_balloon_fn fn, void *arg, struct guest_balloon *before,
    struct guest_balloon *after, struct guest_error *e)
{
	struct guest_balloon b0 = { 0 }, *b = after;
	struct facts f;
	virConnectPtr conn;
	virDomainPtr d;
	int64_t deadline;
	int r;

	memset(after, 0, sizeof *after);
	if ((conn = virt_open(uri, false, false, e)) == NULL)
		return e->code;
	if ((d = balloon_dom(conn, uri, spec, b0.name, sizeof b0.name, &f,
	    e)) == NULL) {
		virConnectClose(conn);
		return e->code;
	}
	if ((r = sample(d, &b0, e)) < 0)
		goto out;
	if (before != NULL)
		*before = b0;
	*b = b0;
	if (target_kib == 0)
		goto out;
	if (target_kib > b0.max_kib) {
		r = guest_error_set(e, -ERANGE, "%s: a target of %llu KiB is "
		    "above its maximum memory, %llu KiB (a balloon cannot give "
		    "a guest more than it booted with)", b0.name,
		    (unsigned long long)target_kib,
		    (unsigned long long)b0.max_kib);
		goto out;
	}
	if (virDomainSetMemoryFlags(d, target_kib, VIR_DOMAIN_AFFECT_LIVE) < 0) {
		r = guest_error_set(e, -EIO, "%s: cannot resize the balloon: %s",
		    b0.name, virt_last_error());
		goto out;
	}
	if ((r = sample(d, b, e)) < 0)
		goto out;
	b->target_kib = target_kib;
	deadline = guest_now_ms() + wait_ms;
	/* There: within a page of the target. */
	while (wait_ms > 0 && (b->actual_kib > target_kib + 4 ||
	    b->actual_kib + 4 < target_kib)) {
		if (fn != NULL)
			fn(b, arg);
		if (guest_now_ms() >= deadline) {
			r = guest_error_set(e, -ETIMEDOUT, "%s has %llu KiB after "
			    "%d s, not yet its target of %llu KiB (the balloon "
			    "goes on; guest balloon-stats shows it)", b->name,
			    (unsigned long long)b->actual_kib, wait_ms / 1000,
			    (unsigned long long)target_kib);
			goto out;
		}
		nap(200);
		if ((r = sample(d, b, e)) < 0)
			goto out;
		b->target_kib = target_kib;
	}
	if (fn != NULL && wait_ms > 0)
		fn(b, arg);
out:
	virDomainFree(d);
	virConnectClose(conn);
	return r;
}

int
virt_memstats(const char *uri, const char *spec, int period_s, int wait_ms,
    struct guest_memstats *out, struct guest_error *e)
{
	virConnectPtr conn;
	virDomainPtr d;
	struct facts f;
	uint64_t last;
	int64_t deadline;
	int r = 0;

	memset(out, 0, sizeof *out);
	if ((conn = virt_open(uri, false, false, e)) == NULL)
		return e->code;
	if ((d = balloon_dom(conn, uri, spec, out->name, sizeof out->name, &f,
	    e)) == NULL) {
		virConnectClose(conn);
		return e->code;
	}
	if (stats(d, out) < 0) {
		r = guest_error_set(e, -EIO, "%s: %s", out->name,
		    virt_last_error());
		goto out;
	}
	/* No period: the guest's figures are at most the ones its driver
	 * sent once when it started (or none, only the balloon's size and
	 * the RSS).  Set one and wait for a fresh sample rather than print
	 * stale figures or zeros. */
	if (f.period <= 0) {
		last = out->have[VIR_DOMAIN_MEMORY_STAT_LAST_UPDATE] ?
		    out->val[VIR_DOMAIN_MEMORY_STAT_LAST_UPDATE] : 0;
		if (virDomainSetMemoryStatsPeriod(d, period_s,
		    VIR_DOMAIN_AFFECT_LIVE) < 0) {
			r = guest_error_set(e, -EIO, "%s: cannot set a "
			    "statistics period: %s", out->name,
			    virt_last_error());
			goto out;
		}
		out->period_set = period_s;
		deadline = guest_now_ms() + wait_ms;
		while (stats(d, out) == 0 &&
		    (!out->have[VIR_DOMAIN_MEMORY_STAT_LAST_UPDATE] ||
		    out->val[VIR_DOMAIN_MEMORY_STAT_LAST_UPDATE] <= last)) {
			if (guest_now_ms() >= deadline) {
				r = guest_error_set(e, -ETIMEDOUT, "%s sent no "
				    "memory statistics within %d s of asking "
				    "(is the guest's virtio_balloon driver "
				    "loaded?)", out->name, wait_ms / 1000);
				goto out;
			}
			nap(100);
		}
	}
out:
	virDomainFree(d);
	virConnectClose(conn);
	return r;
}
