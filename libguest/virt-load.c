/*
 * Loading guest-virt.so, the libvirt module, when a command first needs
 * it (host only).  It is looked for next to the running program (the build
 * tree, or a relocated install) and then where it is installed.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest/virt.h"
#include "guest/virt-rpc.h"

#ifndef GUEST_MODULE_DIR
#define GUEST_MODULE_DIR "/usr/local/lib/guest"
#endif
#define MODULE_NAME "guest-virt.so"

static const struct guest_virt_module *module;

/* dlopen path; on failure keep dlerror() when the file was there. */
static void *
try_load(const char *dir, char *path, size_t n, const char **why)
{
	void *h;

	snprintf(path, n, "%s/%s", dir, MODULE_NAME);
	if (access(path, F_OK) < 0)
		return NULL;
	if ((h = dlopen(path, RTLD_LAZY | RTLD_LOCAL)) == NULL)
		*why = dlerror();
	return h;
}

static int
load(struct guest_error *e)
{
	char self[PATH_MAX] = "", path[PATH_MAX + 32], *slash;
	const char *why = NULL;
	void *h = NULL;
	ssize_t n;

	if (module != NULL)
		return 0;
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL)
			*slash = '\0';
		h = try_load(self, path, sizeof path, &why);
	}
	if (h == NULL && why == NULL)
		h = try_load(GUEST_MODULE_DIR, path, sizeof path, &why);
	if (h == NULL && why != NULL)
		return guest_error_set(e, -ELIBBAD, "cannot load the libvirt "
		    "module: %s", why);
	if (h == NULL)
		return guest_error_set(e, -ENOENT, "the libvirt module %s is not "
		    "installed (looked in %s and %s)", MODULE_NAME, self,
		    GUEST_MODULE_DIR);
	module = dlsym(h, "guest_virt_module");
	if (module == NULL || module->abi != GUEST_VIRT_ABI) {
		module = NULL;
		dlclose(h);
		return guest_error_set(e, -ELIBBAD, "%s: not a module for this "
		    "guest (ABI %d wanted)", path, GUEST_VIRT_ABI);
	}
	return 0;
}

/* The daemon's answer through the fast path, if it can give it all: every
 * running domain's CID must be known from the last refresh (a domain id
 * is new each time a domain starts, and a running domain's CID cannot
 * change); otherwise its XML is needed, which is the module's work. */
static int
discover_fast(const char *uri, const struct guest_vm *known, size_t nknown,
    struct guest_vm **out, size_t *nout, struct guest_error *e)
{
	const struct guest_vm *k;
	size_t i, j;
	int r;

	if ((r = guest_virt_rpc_discover(uri, out, nout, e)) != 1)
		return r;
	for (i = 0; i < *nout; i++) {
		if (!(*out)[i].active)
			continue;
		for (j = 0, k = NULL; j < nknown && k == NULL; j++)
			if (strcmp(known[j].uuid, (*out)[i].uuid) == 0)
				k = &known[j];
		if (k == NULL || !k->active || k->id != (*out)[i].id) {
			guest_vm_list_free(*out, *nout);
			*out = NULL;
			*nout = 0;
			return 0;
		}
		(*out)[i].cid = k->cid;
		(*out)[i].has_vsock = k->has_vsock;
	}
	return 1;
}

int
guest_virt_discover(const char *uri, const struct guest_vm *known,
    size_t nknown, struct guest_vm **out, size_t *nout, size_t *xml_fetched,
    struct guest_error *e)
{
	size_t fetched = 0;
	int r;

	*out = NULL;
	*nout = 0;
	if (xml_fetched != NULL)
		*xml_fetched = 0;
	if ((r = discover_fast(uri, known, nknown, out, nout, e)) != 0)
		return r < 0 ? r : 0;
	if ((r = load(e)) < 0)
		return r;
	r = module->discover(uri, known, nknown, out, nout, &fetched, e);
	if (xml_fetched != NULL)
		*xml_fetched = fetched;
	return r;
}

int
guest_virt_launch(const char *uri, const struct guest_launch_spec *spec,
    const struct guest_serial_opts *attach, guest_launched_fn started,
    void *arg, struct guest_dom *out, struct guest_error *e)
{
	int r;

	if ((r = load(e)) < 0)
		return r;
	return module->launch(uri, spec, attach, started, arg, out, e);
}

int
guest_virt_serial(const char *uri, const char *dom,
    const struct guest_serial_opts *o, struct guest_error *e)
{
	int r;

	if ((r = load(e)) < 0)
		return r;
	return module->serial(uri, dom, o, e);
}

int
guest_virt_stop(const char *uri, const char *dom, int timeout_ms, bool force,
    struct guest_dom *out, struct guest_error *e)
{
	int r;

	if ((r = load(e)) < 0)
		return r;
	return module->stop(uri, dom, timeout_ms, force, out, e);
}

int
guest_virt_balloon(const char *uri, const char *dom, uint64_t target_kib,
    int wait_ms, guest_balloon_fn fn, void *arg, struct guest_balloon *before,
    struct guest_balloon *after, struct guest_error *e)
{
	int r;

	if ((r = load(e)) < 0)
		return r;
	return module->balloon(uri, dom, target_kib, wait_ms, fn, arg, before,
	    after, e);
}

int
guest_virt_memstats(const char *uri, const char *dom, int period_s,
    int wait_ms, struct guest_memstats *out, struct guest_error *e)
{
	int r;

	if ((r = load(e)) < 0)
		return r;
	return module->memstats(uri, dom, period_s, wait_ms, out, e);
}
