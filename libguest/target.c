/*
 * Resolving ENV and GUEST to an address: transport templates and lookups
 * in the inventory (host only).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "guest/target.h"

/* Templates ------------------------------------------------------------- */

static int
expand(const char *tmpl, int64_t cid, uint32_t port, const char *name,
    const char *uuid, char *buf, size_t n, struct guest_error *e)
{
	size_t o = 0;
	const char *p;
	char num[24];
	const char *add;

	for (p = tmpl; *p != '\0'; p++) {
		if (*p != '%') {
			if (o + 1 >= n)
				goto long_;
			buf[o++] = *p;
			continue;
		}
		switch (*++p) {
		case 'c':
			if (cid < 0)
				return guest_error_set(e, -ENOENT, "no CID for %%c "
				    "in '%s'", tmpl);
			snprintf(num, sizeof num, "%" PRId64, cid);
			add = num;
			break;
		case 'p':
			snprintf(num, sizeof num, "%" PRIu32, port);
			add = num;
			break;
		case 'n':
			if (name == NULL)
				return guest_error_set(e, -ENOENT, "no domain "
				    "name for %%n in '%s'", tmpl);
			/* Names go into paths: nothing that climbs out. */
			if (strchr(name, '/') != NULL || strcmp(name, ".") == 0 ||
			    strcmp(name, "..") == 0 || *name == '\0')
				return guest_error_set(e, -EINVAL, "domain name "
				    "'%s' cannot go into a path", name);
			add = name;
			break;
		case 'u':
			if (uuid == NULL || *uuid == '\0')
				return guest_error_set(e, -ENOENT, "no UUID for "
				    "%%u in '%s'", tmpl);
			add = uuid;
			break;
		case '%':
			add = "%";
			break;
		case '\0':
			return guest_error_set(e, -EINVAL, "transport '%s' ends "
			    "with a lone %%", tmpl);
		default:
			return guest_error_set(e, -EINVAL, "transport '%s': "
			    "unknown %%%c (use %%c, %%p, %%n, %%u or %%%%)", tmpl,
			    isprint((unsigned char)*p) ? *p : '?');
		}
		if (o + strlen(add) >= n)
			goto long_;
		memcpy(buf + o, add, strlen(add));
		o += strlen(add);
	}
	buf[o] = '\0';
	return 0;
long_:
	return guest_error_set(e, -ENAMETOOLONG, "transport '%s': address too "
	    "long", tmpl);
}

int
guest_template_expand(const char *tmpl, int64_t cid, uint32_t port,
    const char *name, const char *uuid, char *buf, size_t n,
    struct guest_error *e)
{
	return expand(tmpl, cid, port, name, uuid, buf, n, e);
}

/* Does the template use one of these escapes (%% skipped)? */
static bool
template_uses(const char *tmpl, const char *escapes)
{
	const char *p;

	for (p = tmpl; (p = strchr(p, '%')) != NULL && p[1] != '\0'; p += 2)
		if (strchr(escapes, p[1]) != NULL)
			return true;
	return false;
}

bool
guest_template_needs_domain(const char *tmpl)
{
	return template_uses(tmpl, "nu");
}

static bool
template_needs_cid(const char *tmpl)
{
	return template_uses(tmpl, "c");
}

int
guest_template_check(const char *tmpl, struct guest_error *e)
{
	char buf[GUEST_ADDR_STR_MAX];
	struct guest_addr a;
	int r;

	if ((r = expand(tmpl, 3, 9001, "name", "00000000-0000-0000-0000-"
	    "000000000000", buf, sizeof buf, e)) < 0)
		return r;
	if ((r = guest_addr_parse(buf, 0, &a, e)) < 0)
		return guest_error_prefix(e, "transport '%s': ", tmpl);
	return 0;
}

/* Lookups --------------------------------------------------------------- */

struct lookup {
	const char		*path;
	struct guest_inventory	*inv;		/* NULL: no store yet */
	struct guest_env	*envs;
	size_t			 nenvs;
	const struct guest_env	*env;
	struct guest_record	*g;
	size_t			 ng;
	bool			 refreshed;	/* asked libvirt this time */
	char			 refresh_error[GUEST_ERROR_MAX];
};

static void
lookup_clear(struct lookup *l)
{
	guest_record_list_free(l->g, l->ng);
	l->g = NULL;
	l->ng = 0;
	guest_env_list_free(l->envs, l->nenvs);
	l->envs = NULL;
	l->nenvs = 0;
	l->env = NULL;
	guest_inventory_close(l->inv);
	l->inv = NULL;
}

static int
env_not_found(const struct lookup *l, const char *spec, struct guest_error *e)
{
	char known[256] = "";
	size_t i, o = 0;

	for (i = 0; i < l->nenvs && o < sizeof known; i++)
		o += (size_t)snprintf(known + o, sizeof known - o, "%s%u%s%s",
		    i ? ", " : "", l->envs[i].id, l->envs[i].name ? " " : "",
		    l->envs[i].name ? l->envs[i].name : "");
	return guest_error_set(e, -ENOENT, "no environment '%s' (there is %s; "
	    "see guest env list)", spec, known);
}

/* Open what there is (read-only unless write) and find the environment
 * and its cached guests. */
static int
lookup_load(struct lookup *l, const char *envspec, bool write,
    struct guest_error *e)
{
	uint32_t id;
	int r;

	/* No place for a store (no HOME): there is only the default. */
	r = l->path[0] == '\0' ? guest_error_set(e, -ENOENT, "no inventory") :
	    guest_inventory_open(l->path, write ? 0 : GUEST_INV_READONLY,
	    &l->inv, e);
	if (r == -EIO && !write)	/* unusable: rebuild it */
		r = guest_inventory_open(l->path, 0, &l->inv, e);
	if (r == -ENOENT && !write)
		l->inv = NULL;		/* nothing stored yet: the default */
	else if (r < 0)
		return r;
	if ((r = guest_inventory_envs(l->inv, &l->envs, &l->nenvs, e)) < 0)
		return r;
	if ((l->env = guest_env_find(l->envs, l->nenvs,
	    envspec != NULL ? envspec : "0")) == NULL)
		return env_not_found(l, envspec != NULL ? envspec : "0", e);
	id = l->env->id;
	if (l->inv != NULL && l->env->refreshed != 0)
		return guest_inventory_guests(l->inv, id, &l->g, &l->ng, e);
	return 0;
}

/* The cache cannot answer: ask libvirt, store, and load again.  A failure
 * is kept to explain a later "not found". */
static int
lookup_refresh(struct lookup *l, const char *envspec, struct guest_error *e)
{
	struct guest_error re;
	int r;

	if (l->path[0] == '\0') {
		snprintf(l->refresh_error, sizeof l->refresh_error, "no place "
		    "for the inventory (set HOME or GUEST_INVENTORY)");
		return 0;
	}
	lookup_clear(l);
	if ((r = lookup_load(l, envspec, true, e)) < 0)
		return r;
	l->refreshed = true;
	if (guest_inventory_refresh(l->inv, l->env, NULL, &re) < 0)
		snprintf(l->refresh_error, sizeof l->refresh_error, "%s",
		    re.msg);
	lookup_clear(l);
	return lookup_load(l, envspec, false, e);
}

static bool
reachable(const struct guest_record *g, const char *tmpl)
{
	return g->vm.active && (g->vm.cid >= 0 || !template_needs_cid(tmpl));
}

static int
no_guest(const struct lookup *l, const char *what, struct guest_error *e)
{
	char names[256] = "";
	size_t i, o = 0;

	for (i = 0; i < l->ng && o < sizeof names; i++)
		if (reachable(&l->g[i], l->env->transport))
			o += (size_t)snprintf(names + o, sizeof names - o,
			    "%s%s", o ? ", " : "", l->g[i].vm.name);
	if (l->refresh_error[0] != '\0')
		return guest_error_set(e, -ENOENT, "%s in the cached inventory "
		    "of env %u, and libvirt cannot tell more: %s", what,
		    l->env->id, l->refresh_error);
	return guest_error_set(e, -ENOENT, "%s in env %u (%s)%s%s", what,
	    l->env->id, l->env->uri, o ? "; running: " : "", names);
}

static int
parse_cid(const char *s, int64_t *cid)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0' || errno != 0 || v >= 0xffffffffull)
		return -EINVAL;
	*cid = (int64_t)v;
	return 0;
}

static const struct guest_record *
find_guest(const struct lookup *l, const char *spec, int64_t cid)
{
	size_t i;

	for (i = 0; i < l->ng; i++) {
		const struct guest_vm *v = &l->g[i].vm;

		if (spec == NULL ? v->active && v->cid == cid :
		    strcmp(v->name, spec) == 0 || strcasecmp(v->uuid, spec) == 0)
			return &l->g[i];
	}
	return NULL;
}

/* The one running guest the template can reach, or an error naming the
 * candidates. */
static int
only_guest(struct lookup *l, const struct guest_record **out,
    struct guest_error *e)
{
	char list[256] = "";
	size_t i, o = 0, n = 0;

	*out = NULL;
	for (i = 0; i < l->ng; i++) {
		if (!reachable(&l->g[i], l->env->transport))
			continue;
		n++;
		*out = &l->g[i];
		if (o < sizeof list) {
			if (l->g[i].vm.cid >= 0)
				o += (size_t)snprintf(list + o, sizeof list - o,
				    "%s%" PRId64 " %s", o ? ", " : "",
				    l->g[i].vm.cid, l->g[i].vm.name);
			else
				o += (size_t)snprintf(list + o, sizeof list - o,
				    "%s%s", o ? ", " : "", l->g[i].vm.name);
		}
	}
	if (n == 1)
		return 0;
	*out = NULL;
	if (n == 0)
		return no_guest(l, "no running guest with a CID", e);
	return guest_error_set(e, -EEXIST, "%zu running guests in env %u: say "
	    "which (%s)", n, l->env->id, list);
}

int
guest_target_resolve(const char *inventory, const char *envspec,
    const char *spec, uint32_t port, struct guest_target *t,
    struct guest_error *e)
{
	struct lookup l = { 0 };
	const struct guest_record *g = NULL;
	char path[4096], addr[GUEST_ADDR_STR_MAX], what[300];
	int64_t cid = GUEST_NO_CID;
	int r;

	memset(t, 0, sizeof *t);
	t->cid = GUEST_NO_CID;
	if (guest_inventory_path(inventory, path, sizeof path, NULL) < 0)
		path[0] = '\0';
	l.path = path;
	if ((r = lookup_load(&l, envspec, false, e)) < 0)
		goto out;
	if (spec != NULL && parse_cid(spec, &cid) == 0) {
		/* A CID works without the inventory, unless the template
		 * needs the domain's name or UUID. */
		g = find_guest(&l, NULL, cid);
		if (g == NULL && guest_template_needs_domain(l.env->transport)) {
			if ((r = lookup_refresh(&l, envspec, e)) < 0)
				goto out;
			if ((g = find_guest(&l, NULL, cid)) == NULL) {
				snprintf(what, sizeof what, "no running guest "
				    "with CID %" PRId64, cid);
				r = no_guest(&l, what, e);
				goto out;
			}
		}
	} else if (spec != NULL) {
		if ((g = find_guest(&l, spec, 0)) == NULL) {
			if ((r = lookup_refresh(&l, envspec, e)) < 0)
				goto out;
			g = find_guest(&l, spec, 0);
		}
		snprintf(what, sizeof what, "no guest '%s'", spec);
		if (g == NULL) {
			r = no_guest(&l, what, e);
			goto out;
		}
		if (!g->vm.active) {
			r = guest_error_set(e, -EHOSTDOWN, "%s is %s (env %u)",
			    g->vm.name, g->vm.state, l.env->id);
			goto out;
		}
		if (g->vm.cid < 0 && template_needs_cid(l.env->transport)) {
			r = guest_error_set(e, -ENODEV, "%s has no vsock device "
			    "(env %u reaches guests through %s)", g->vm.name,
			    l.env->id, l.env->transport);
			goto out;
		}
		cid = g->vm.cid;
	} else {
		if (l.inv == NULL || l.env->refreshed == 0) {
			if ((r = lookup_refresh(&l, envspec, e)) < 0)
				goto out;
		}
		if ((r = only_guest(&l, &g, e)) < 0)
			goto out;
		cid = g->vm.cid;
	}
	t->env = l.env->id;
	t->cid = cid;
	if (g != NULL) {
		t->known = true;
		snprintf(t->name, sizeof t->name, "%s", g->vm.name);
		snprintf(t->uuid, sizeof t->uuid, "%s", g->vm.uuid);
	}
	if ((r = expand(l.env->transport, cid, port, g ? g->vm.name : NULL,
	    g ? g->vm.uuid : NULL, addr, sizeof addr, e)) < 0 ||
	    (r = guest_addr_parse(addr, 0, &t->addr, e)) < 0)
		guest_error_prefix(e, "env %u: ", l.env->id);
out:
	lookup_clear(&l);
	return r;
}

int
guest_target_domain(const char *inventory, const char *envspec,
    const char *spec, struct guest_domain_ref *out, struct guest_error *e)
{
	struct lookup l = { 0 };
	const struct guest_record *g;
	char path[4096], what[300];
	int64_t cid = GUEST_NO_CID;
	int r;

	memset(out, 0, sizeof *out);
	if (guest_inventory_path(inventory, path, sizeof path, NULL) < 0)
		path[0] = '\0';
	l.path = path;
	if ((r = lookup_load(&l, envspec, false, e)) < 0)
		goto out;
	(void)parse_cid(spec, &cid);
	/* The cache may be behind (a VM just launched or stopped): what it
	 * does not know, or knows as not running, is asked of libvirt. */
	g = find_guest(&l, cid >= 0 ? NULL : spec, cid);
	if (g == NULL || !g->vm.active) {
		if ((r = lookup_refresh(&l, envspec, e)) < 0)
			goto out;
		g = find_guest(&l, cid >= 0 ? NULL : spec, cid);
	}
	if (g == NULL) {
		snprintf(what, sizeof what, cid >= 0 ? "no running guest with "
		    "CID %s" : "no guest '%s'", spec);
		r = no_guest(&l, what, e);
		goto out;
	}
	snprintf(out->name, sizeof out->name, "%s", g->vm.name);
	snprintf(out->uuid, sizeof out->uuid, "%s", g->vm.uuid);
	snprintf(out->state, sizeof out->state, "%s", g->vm.state);
	out->active = g->vm.active;
	out->env = *l.env;
	/* Taken over: keep lookup_clear from freeing it. */
	memset((struct guest_env *)l.env, 0, sizeof *l.env);
out:
	lookup_clear(&l);
	return r;
}

int
guest_target_refresh(const char *inventory, const char *envspec,
    struct guest_error *e)
{
	struct lookup l = { 0 };
	char path[4096];
	int r;

	if (guest_inventory_path(inventory, path, sizeof path, e) < 0)
		return e->code;
	l.path = path;
	if ((r = lookup_load(&l, envspec, true, e)) == 0)
		r = guest_inventory_refresh(l.inv, l.env, NULL, e);
	lookup_clear(&l);
	return r;
}

int
guest_target_env(const char *inventory, const char *envspec,
    struct guest_env *out, struct guest_error *e)
{
	struct lookup l = { 0 };
	char path[4096];
	int r;

	memset(out, 0, sizeof *out);
	if (guest_inventory_path(inventory, path, sizeof path, NULL) < 0)
		path[0] = '\0';
	l.path = path;
	if ((r = lookup_load(&l, envspec, false, e)) == 0) {
		*out = *l.env;
		/* Taken over: keep lookup_clear from freeing it. */
		memset((struct guest_env *)l.env, 0, sizeof *l.env);
	}
	lookup_clear(&l);
	return r;
}

int
guest_target_check(const struct guest_target *t, const char *vm_uuid,
    struct guest_error *e)
{
	if (!t->known || t->uuid[0] == '\0' || vm_uuid == NULL ||
	    vm_uuid[0] == '\0' || strcasecmp(t->uuid, vm_uuid) == 0)
		return 0;
	return guest_error_set(e, -ESTALE, "%s (env %u, CID %" PRId64 "): the "
	    "agent there runs in VM %s, not %s as the inventory says: the CID "
	    "now belongs to another VM (run guest list to refresh)", t->name,
	    t->env, t->cid, vm_uuid, t->uuid);
}
