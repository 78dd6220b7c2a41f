/*
 * guest launch: a VM from a kernel, a disk image or a domain XML file,
 * with Fuchsia's device options, started paused when its serial console
 * is to be shown from the first byte.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "virt-int.h"

#define DEFAULT_MEMORY		(1ULL << 30)	/* Fuchsia's */
#define MAX_XML			(1 << 20)

/* Domain XML ------------------------------------------------------------ */

struct xbuf {
	char	*s;
	size_t	 len, cap;
	bool	 failed;
};

static void __attribute__((format(printf, 2, 3)))
xadd(struct xbuf *x, const char *fmt, ...)
{
	va_list ap;
	size_t need;
	char *s;
	int n;

	if (x->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	need = x->len + (size_t)n + 1;
	if (need > x->cap) {
		if ((s = realloc(x->s, need * 2)) == NULL) {
			x->failed = true;
			return;
		}
		x->s = s;
		x->cap = need * 2;
	}
	va_start(ap, fmt);
	vsnprintf(x->s + x->len, x->cap - x->len, fmt, ap);
	va_end(ap);
	x->len += (size_t)n;
}

/* Text with XML's five characters escaped. */
static void
xtext(struct xbuf *x, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '<':	xadd(x, "&lt;"); break;
		case '>':	xadd(x, "&gt;"); break;
		case '&':	xadd(x, "&amp;"); break;
		case '\'':	xadd(x, "&apos;"); break;
		case '"':	xadd(x, "&quot;"); break;
		default:	xadd(x, "%c", *s); break;
		}
	}
}

int
guest_launch_xml(const struct guest_launch_spec *sp, enum guest_image_kind kind,
    const char *name, bool kvm, bool x86, unsigned host_cpus, char **xml,
    struct guest_error *e)
{
	struct xbuf x = { 0 };
	uint64_t mem = sp->memory ? sp->memory : DEFAULT_MEMORY;
	unsigned cpus = sp->cpus ? sp->cpus : host_cpus ? host_cpus : 1;
	size_t i;

	*xml = NULL;
	if (kind == GUEST_IMAGE_XML)
		return guest_error_set(e, -EINVAL, "a domain XML file is used "
		    "as it is");
	xadd(&x, "<domain type='%s'>\n  <name>", kvm ? "kvm" : "qemu");
	xtext(&x, name);
	xadd(&x, "</name>\n  <memory unit='KiB'>%llu</memory>\n"
	    "  <vcpu>%u</vcpu>\n  <os>\n",
	    (unsigned long long)(mem / 1024), cpus);
	xadd(&x, "    <type%s>hvm</type>\n", x86 ? " machine='q35'" : "");
	if (kind == GUEST_IMAGE_KERNEL) {
		xadd(&x, "    <kernel>");
		xtext(&x, sp->image);
		xadd(&x, "</kernel>\n");
		if (sp->initrd != NULL) {
			xadd(&x, "    <initrd>");
			xtext(&x, sp->initrd);
			xadd(&x, "</initrd>\n");
		}
		/* Its messages on the serial port, where guest launch and
		 * guest serial show them. */
		xadd(&x, "    <cmdline>%s", x86 ? "console=ttyS0" :
		    "console=ttyAMA0");
		for (i = 0; i < sp->ncmdline; i++) {
			xadd(&x, " ");
			xtext(&x, sp->cmdline[i]);
		}
		xadd(&x, "</cmdline>\n");
	} else {
		xadd(&x, "    <boot dev='hd'/>\n");
	}
	if (sp->owner_keys != NULL && x86)
		xadd(&x, "    <smbios mode='sysinfo'/>\n");
	xadd(&x, "  </os>\n");
	/* The owner's keys, as a systemd credential in an SMBIOS OEM string
	 * (public keys only: the host's process list shows them). */
	if (sp->owner_keys != NULL && x86) {
		xadd(&x, "  <sysinfo type='smbios'>\n    <oemStrings>\n"
		    "      <entry>io.systemd.credential:"
		    "guest-agent.authorized_keys=");
		xtext(&x, sp->owner_keys);
		xadd(&x, "</entry>\n    </oemStrings>\n  </sysinfo>\n");
	}
	/* A secret goes by file, never on QEMU's command line. */
	if (sp->host_key_file != NULL && x86) {
		xadd(&x, "  <sysinfo type='fwcfg'>\n    <entry name='opt/"
		    "io.systemd.credentials/guest-agent.host_key' file='");
		xtext(&x, sp->host_key_file);
		xadd(&x, "'/>\n  </sysinfo>\n");
	}
	xadd(&x, "  <features><acpi/></features>\n");
	if (kvm)
		xadd(&x, "  <cpu mode='host-passthrough'/>\n");
	xadd(&x, "  <on_poweroff>destroy</on_poweroff>\n"
	    "  <on_reboot>restart</on_reboot>\n"
	    "  <on_crash>destroy</on_crash>\n  <devices>\n");
	if (kind == GUEST_IMAGE_QCOW2 || kind == GUEST_IMAGE_RAW) {
		xadd(&x, "    <disk type='file' device='disk'>\n"
		    "      <driver name='qemu' type='%s'/>\n"
		    "      <source file='", kind == GUEST_IMAGE_QCOW2 ?
		    "qcow2" : "raw");
		xtext(&x, sp->image);
		xadd(&x, "'/>\n      <target dev='vda' bus='virtio'/>\n"
		    "    </disk>\n");
	}
	xadd(&x, "    <serial type='pty'><target port='0'/></serial>\n"
	    "    <console type='pty'><target type='serial' port='0'/>"
	    "</console>\n");
	if (sp->console)
		xadd(&x, "    <console type='pty'><target type='virtio' "
		    "port='1'/></console>\n");
	if (sp->net)
		xadd(&x, "    <interface type='user'><model type='virtio'/>"
		    "</interface>\n");
	/* libvirt adds a balloon unless told not to. */
	if (sp->balloon)
		xadd(&x, "    <memballoon model='virtio'><stats period='5'/>"
		    "</memballoon>\n");
	else
		xadd(&x, "    <memballoon model='none'/>\n");
	if (sp->rng)
		xadd(&x, "    <rng model='virtio'><backend model='random'>"
		    "/dev/urandom</backend></rng>\n");
	if (sp->vsock)
		xadd(&x, "    <vsock model='virtio'><cid auto='yes'/></vsock>\n");
	if (sp->gpu)
		xadd(&x, "    <video><model type='virtio'/></video>\n");
	if (sp->sound)
		xadd(&x, "    <sound model='virtio'/>\n"
		    "    <audio id='1' type='none'/>\n");
	xadd(&x, "  </devices>\n</domain>\n");
	if (x.failed) {
		free(x.s);
		return guest_error_set(e, -ENOMEM, "out of memory");
	}
	*xml = x.s;
	return 0;
}

/* Launch ---------------------------------------------------------------- */

/* A domain name from the image's file name: its base without the
 * extension, characters libvirt and shells dislike made '-'. */
static void
name_from(const char *image, char *out, size_t n)
{
	const char *base = strrchr(image, '/');
	char *dot;
	size_t i;

	snprintf(out, n, "%s", base != NULL ? base + 1 : image);
	if ((dot = strrchr(out, '.')) != NULL && dot != out)
		*dot = '\0';
	for (i = 0; out[i] != '\0'; i++)
		if (!((out[i] >= 'a' && out[i] <= 'z') ||
		    (out[i] >= 'A' && out[i] <= 'Z') ||
		    (out[i] >= '0' && out[i] <= '9') || out[i] == '-' ||
		    out[i] == '_' || out[i] == '.'))
			out[i] = '-';
	if (out[0] == '\0')
		snprintf(out, n, "vm");
}

static bool
name_taken(virConnectPtr conn, const char *name)
{
	virDomainPtr d = virDomainLookupByName(conn, name);

	if (d == NULL)
		return false;
	virDomainFree(d);
	return true;
}

/* libvirt's words for a device the host cannot give, made ours: which one
 * and how to do without it. */
static int
start_error(const struct guest_launch_spec *sp, const char *uri,
    const char *name, struct guest_error *e)
{
	const char *why = virt_last_error();

	if (sp->vsock && strstr(why, "vhost-vsock") != NULL)
		return guest_error_set(e, -ENODEV, "%s: this host has no "
		    "vhost-vsock (/dev/vhost-vsock; modprobe vhost_vsock "
		    "loads it), so no vsock device; launch with "
		    "--virtio-vsock false to do without", name);
	if (sp->sound && strstr(why, "sound") != NULL)
		return guest_error_set(e, -ENODEV, "%s: %s's libvirt or QEMU "
		    "has no virtio sound device (libvirt 10.4 and QEMU 8.2 "
		    "do); launch with --virtio-sound false", name, uri);
	if (sp->gpu && (strstr(why, "video") != NULL ||
	    strstr(why, "virtio-vga") != NULL ||
	    strstr(why, "virtio-gpu") != NULL))
		return guest_error_set(e, -ENODEV, "%s: no virtio GPU on this "
		    "host (%s); launch with --virtio-gpu false", name, why);
	if (sp->rng && strstr(why, "rng") != NULL)
		return guest_error_set(e, -ENODEV, "%s: no virtio RNG on this "
		    "host (%s); launch with --virtio-rng false", name, why);
	if (strstr(why, "already exists") != NULL && name[0] != '\0')
		return guest_error_set(e, -EEXIST, "a VM named '%s' exists "
		    "already in %s; pick another with --name", name, uri);
	if (strstr(why, "already exists") != NULL)
		return guest_error_set(e, -EEXIST, "%s: %s", uri, why);
	return guest_error_set(e, -EIO, "cannot start %s: %s",
	    name[0] != '\0' ? name : sp->image, why);
}

/* Is KVM there for this connection?  Its domain capabilities say. */
static bool
have_kvm(virConnectPtr conn)
{
	char *caps = virConnectGetDomainCapabilities(conn, NULL, NULL, NULL,
	    "kvm", 0);

	free(caps);
	return caps != NULL;
}

static int
read_xml(const char *path, char **out, struct guest_error *e)
{
	FILE *f;
	char *s;
	size_t n;

	if ((f = fopen(path, "re")) == NULL)
		return guest_error_set(e, -errno, "%s: %s", path,
		    strerror(errno));
	if ((s = malloc(MAX_XML + 1)) == NULL) {
		fclose(f);
		return guest_error_set(e, -ENOMEM, "out of memory");
	}
	n = fread(s, 1, MAX_XML + 1, f);
	fclose(f);
	if (n > MAX_XML) {
		free(s);
		return guest_error_set(e, -EFBIG, "%s: more than 1 MiB of "
		    "XML", path);
	}
	s[n] = '\0';
	*out = s;
	return 0;
}

int
virt_launch(const char *uri, const struct guest_launch_spec *spec,
    const struct guest_serial_opts *attach, guest_launched_fn started,
    void *arg, struct guest_dom *out, struct guest_error *e)
{
	struct guest_launch_spec sp = *spec;
	enum guest_image_kind kind;
	virConnectPtr conn = NULL;
	virDomainPtr d = NULL;
	virNodeInfo node;
	struct utsname u;
	char image[PATH_MAX], initrd[PATH_MAX], name[256], base[240];
	char *xml = NULL;
	unsigned flags = attach != NULL ? VIR_DOMAIN_START_PAUSED : 0;
	bool defined = false, resumed = false;
	int r, i;

	memset(out, 0, sizeof *out);
	out->cid = GUEST_NO_CID;
	if ((r = guest_image_kind(sp.image, &kind, e)) < 0)
		return r;
	if (kind == GUEST_IMAGE_XML && sp.shaped)
		return guest_error_set(e, -EINVAL, "%s is a domain XML file: "
		    "it says what the VM is, so options that shape the VM do "
		    "not go with it (only --detach and --persistent do)",
		    sp.image);
	if (kind != GUEST_IMAGE_KERNEL && (sp.initrd != NULL ||
	    sp.ncmdline > 0))
		return guest_error_set(e, -EINVAL, "%s is a disk image: "
		    "--initrd and --cmdline-add go with a kernel", sp.image);
	/* The daemon does not share our working directory. */
	if (realpath(sp.image, image) == NULL)
		return guest_error_set(e, -errno, "%s: %s", sp.image,
		    strerror(errno));
	sp.image = image;
	if (sp.initrd != NULL) {
		if (realpath(sp.initrd, initrd) == NULL ||
		    access(initrd, R_OK) < 0)
			return guest_error_set(e, -errno, "%s: %s", sp.initrd,
			    strerror(errno));
		sp.initrd = initrd;
	}
	if (sp.sound_input && !sp.sound)
		return guest_error_set(e, -EINVAL, "--virtio-sound-input true "
		    "needs --virtio-sound true");
	if ((conn = virt_open(uri, false, attach != NULL, e)) == NULL)
		return e->code;
	if (kind == GUEST_IMAGE_XML) {
		if ((r = read_xml(sp.image, &xml, e)) < 0)
			goto out;
		name[0] = '\0';	/* the XML's own */
	} else {
		if (sp.name != NULL) {
			snprintf(name, sizeof name, "%s", sp.name);
			if (name_taken(conn, name)) {
				r = guest_error_set(e, -EEXIST, "a VM named "
				    "'%s' exists already in %s; pick another "
				    "with --name", name, uri);
				goto out;
			}
		} else {
			/* vmlinux, then vmlinux-2, vmlinux-3... */
			name_from(sp.image, base, sizeof base);
			snprintf(name, sizeof name, "%s", base);
			for (i = 2; name_taken(conn, name) && i < 1000; i++)
				snprintf(name, sizeof name, "%s-%d", base, i);
		}
		if (virNodeGetInfo(conn, &node) < 0)
			node.cpus = 1;
		if (uname(&u) < 0)
			snprintf(u.machine, sizeof u.machine, "x86_64");
		if ((r = guest_launch_xml(&sp, kind, name, have_kvm(conn),
		    strcmp(u.machine, "x86_64") == 0, node.cpus, &xml, e)) < 0)
			goto out;
	}
	if (sp.persistent) {
		if ((d = virDomainDefineXML(conn, xml)) != NULL) {
			defined = true;
			if (virDomainCreateWithFlags(d, flags) < 0) {
				r = start_error(&sp, uri, virDomainGetName(d),
				    e);
				goto out;
			}
		}
	} else
		d = virDomainCreateXML(conn, xml, flags);
	if (d == NULL) {
		r = start_error(&sp, uri, name, e);
		goto out;
	}
	/* Attached, the console waits for nothing but the name: the VM is
	 * paused until it is open. */
	if ((r = virt_dom_fill(d, out, attach == NULL, e)) < 0)
		goto out;
	if (attach == NULL) {
		if (started != NULL)
			started(out, arg);
		r = 0;
		goto out;
	}
	r = virt_serial_relay(conn, d, out->name, attach, &resumed, started,
	    out, arg, e);
	if (r < 0 && !resumed) {
		/* Started paused and never shown: nothing half-made stays. */
		virDomainDestroy(d);
		goto out;
	}
	defined = false;	/* it ran: it stays */
out:
	if (r < 0 && defined && d != NULL && virDomainIsActive(d) != 1)
		virDomainUndefine(d);
	if (d != NULL)
		virDomainFree(d);
	free(xml);
	virConnectClose(conn);
	return r;
}
