/*
 * Guests through libvirt (host only): discovery, launch, the serial
 * console, stop.
 *
 * The code that talks to libvirt lives in a loadable module, guest-virt.so
 * (sources in libguest/virt/, one file per job), so that only the commands
 * that need libvirt pay for loading it (about 11 ms per process start):
 * resolving a name from the inventory does not.
 */
#ifndef GUEST_VIRT_H
#define GUEST_VIRT_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "guest/error.h"

#define GUEST_VIRT_ABI		3
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

/* A VM to launch.  Booleans are the devices, as Fuchsia's guest launch
 * names them. */
struct guest_launch_spec {
	const char	*image;		/* a kernel, a disk image or domain XML */
	const char	*initrd;	/* NULL: none (kernels only) */
	const char	*name;		/* NULL: from the image's file name */
	const char *const *cmdline;	/* --cmdline-add, in order (kernels) */
	size_t		 ncmdline;
	uint64_t	 memory;	/* bytes; 0: the default (1 GiB) */
	unsigned	 cpus;		/* 0: the host's CPUs */
	bool		 net, balloon, console, rng, vsock, gpu, sound,
			 sound_input;
	bool		 persistent;	/* defined, not only started */
	const char	*owner_keys;	/* authorized_keys lines handed in as
					 * the credential guest-agent.
					 * authorized_keys (SMBIOS type 11);
					 * NULL: none */
	const char	*host_key_file;	/* the agent's host key, handed in
					 * as the credential guest-agent.
					 * host_key (fw_cfg); NULL: none */
	bool		 shaped;	/* any of the above given (not with XML) */
};

/* What an image file is, by its content. */
enum guest_image_kind {
	GUEST_IMAGE_KERNEL,		/* ELF, bzImage or arm64 Image */
	GUEST_IMAGE_QCOW2,
	GUEST_IMAGE_RAW,		/* a boot sector or a GPT */
	GUEST_IMAGE_XML,		/* a libvirt domain */
};

/* A domain as launch and stop report it. */
struct guest_dom {
	char		 name[256];
	char		 uuid[GUEST_UUID_STR];
	int64_t		 cid;		/* GUEST_NO_CID: none */
	bool		 persistent;
};

/* The serial console relay (guest serial, guest launch). */
struct guest_serial_opts {
	const char	*device;	/* NULL: the first console (the serial
					 * port); else a device alias */
	bool		 force;		/* take it from another client */
	int		 idle_ms;	/* not a terminal: after stdin's end, go
					 * once output pauses this long; <0:
					 * wait for the console to end */
	int		 in_fd, out_fd;
};

/* How a relay ended (>= 0), or a negative errno with e set: -EBUSY when
 * another client holds the console (without force). */
#define GUEST_SERIAL_DETACHED	0	/* ^], or stdin ended and went quiet */
#define GUEST_SERIAL_ENDED	1	/* the console closed: the VM stopped */
#define GUEST_SERIAL_TAKEN	2	/* another client took it (--force) */

/* A VM's memory and its balloon, in KiB as libvirt counts. */
struct guest_balloon {
	char		 name[256];
	uint64_t	 max_kib;	/* the most the guest can have */
	uint64_t	 target_kib;	/* what it is asked to have */
	uint64_t	 actual_kib;	/* what it has now (the balloon's
					 * report; the target without one) */
	uint64_t	 used_kib;	/* total minus available, 0: unknown */
};

/* Waiting for the guest to reach its target: called with each sample. */
typedef void (*guest_balloon_fn)(const struct guest_balloon *, void *arg);

/* libvirt's memory statistics (virDomainMemoryStats), by its tags: the
 * same numbers as libvirt's VIR_DOMAIN_MEMORY_STAT_*. */
enum guest_memstat {
	GUEST_MEMSTAT_SWAP_IN = 0,
	GUEST_MEMSTAT_SWAP_OUT = 1,
	GUEST_MEMSTAT_MAJOR_FAULT = 2,
	GUEST_MEMSTAT_MINOR_FAULT = 3,
	GUEST_MEMSTAT_UNUSED = 4,		/* free */
	GUEST_MEMSTAT_AVAILABLE = 5,		/* total */
	GUEST_MEMSTAT_ACTUAL_BALLOON = 6,	/* what the guest has */
	GUEST_MEMSTAT_RSS = 7,
	GUEST_MEMSTAT_USABLE = 8,		/* available */
	GUEST_MEMSTAT_LAST_UPDATE = 9,		/* seconds since the epoch */
	GUEST_MEMSTAT_DISK_CACHES = 10,
	GUEST_MEMSTAT_HUGETLB_PGALLOC = 11,
	GUEST_MEMSTAT_HUGETLB_PGFAIL = 12,
};
#define GUEST_MEMSTAT_NR	16
struct guest_memstats {
	char		 name[256];
	bool		 have[GUEST_MEMSTAT_NR];
	uint64_t	 val[GUEST_MEMSTAT_NR];
	int		 period_set;	/* >0: the period we had to set */
};

/* Called once the VM runs (launch), before the console is relayed. */
typedef void (*guest_launched_fn)(const struct guest_dom *, void *arg);

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
	/* Create (and with persistent, define) the VM and start it; with
	 * attach, relay its serial console from the first byte (it starts
	 * paused until the console is open) and return how the relay
	 * ended.  Nothing is left behind when it cannot start. */
	int	(*launch)(const char *uri, const struct guest_launch_spec *,
		    const struct guest_serial_opts *attach, guest_launched_fn,
		    void *arg, struct guest_dom *out, struct guest_error *e);
	/* Relay the console of the running domain dom (a name or UUID). */
	int	(*serial)(const char *uri, const char *dom,
		    const struct guest_serial_opts *, struct guest_error *e);
	/* Shut dom down by ACPI and wait up to timeout_ms for it to stop;
	 * with force, destroy it at once.  -ETIMEDOUT when it is still
	 * running at the deadline. */
	int	(*stop)(const char *uri, const char *dom, int timeout_ms,
		    bool force, struct guest_dom *out, struct guest_error *e);
	/* The balloon of dom now (target_kib 0), or after asking for
	 * target_kib; with wait_ms > 0, wait that long for the guest to get
	 * there (-ETIMEDOUT), calling fn with each sample.  before may be
	 * NULL.  -ENODEV: no balloon device. */
	int	(*balloon)(const char *uri, const char *dom, uint64_t target_kib,
		    int wait_ms, guest_balloon_fn fn, void *arg,
		    struct guest_balloon *before, struct guest_balloon *after,
		    struct guest_error *e);
	/* Memory statistics of dom.  With none coming (no period set), set
	 * a period of period_s seconds and wait up to wait_ms for the first
	 * sample. */
	int	(*memstats)(const char *uri, const char *dom, int period_s,
		    int wait_ms, struct guest_memstats *out,
		    struct guest_error *e);
};

/* Load the module (once) and discover.  Errors say what to do. */
int	guest_virt_discover(const char *uri, const struct guest_vm *known,
	    size_t nknown, struct guest_vm **out, size_t *nout,
	    size_t *xml_fetched, struct guest_error *e);

int	guest_virt_launch(const char *uri, const struct guest_launch_spec *,
	    const struct guest_serial_opts *attach, guest_launched_fn,
	    void *arg, struct guest_dom *out, struct guest_error *e);
int	guest_virt_serial(const char *uri, const char *dom,
	    const struct guest_serial_opts *, struct guest_error *e);
int	guest_virt_stop(const char *uri, const char *dom, int timeout_ms,
	    bool force, struct guest_dom *out, struct guest_error *e);

int	guest_virt_balloon(const char *uri, const char *dom,
	    uint64_t target_kib, int wait_ms, guest_balloon_fn fn, void *arg,
	    struct guest_balloon *before, struct guest_balloon *after,
	    struct guest_error *e);
int	guest_virt_memstats(const char *uri, const char *dom, int period_s,
	    int wait_ms, struct guest_memstats *out, struct guest_error *e);

void	guest_vm_list_free(struct guest_vm *, size_t);

/* A virDomainState as virsh says it: "running", "shut off"... */
const char *guest_virt_state_name(int state);

/* What path holds, by its first bytes: 0 and *kind, or a negative errno
 * with e saying why (unreadable, empty, not a kind we know). */
int	guest_image_kind(const char *path, enum guest_image_kind *kind,
	    struct guest_error *e);
/* In the module's sources (and their unit tests). */
/* The domain XML for spec (image of kind), with name and the host's
 * answers (kvm: a usable KVM; x86: machine q35): malloc'ed in *xml. */
int	guest_launch_xml(const struct guest_launch_spec *,
	    enum guest_image_kind kind, const char *name, bool kvm, bool x86,
	    unsigned host_cpus, char **xml, struct guest_error *e);

/* The CID in a domain's XML (/domain/devices/vsock/cid/@address):
 * 1 with *cid set, 0 when the domain has no vsock or no address yet, or
 * -EBADMSG for XML that does not parse. */
int	guest_virt_xml_cid(const char *xml, size_t len, int64_t *cid,
	    bool *has_vsock);

#endif
