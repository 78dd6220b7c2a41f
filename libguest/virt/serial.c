/*
 * guest serial (and guest launch in the foreground): a VM's own console
 * through virDomainOpenConsole, a non-blocking stream on libvirt's event
 * loop, independent of any agent.
 *
 * On a terminal: raw mode (always restored), ^] detaches.  Otherwise stdin
 * goes in as it is, and after its end the output keeps coming until it
 * has paused for idle_ms (or, with idle_ms < 0, until the console ends).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "virt-int.h"
#include "guest/console.h"
#include "guest/tty.h"
#include "guest/util.h"

#define STREAM_IN	(VIR_STREAM_EVENT_READABLE | VIR_STREAM_EVENT_ERROR | \
			 VIR_STREAM_EVENT_HANGUP)

struct relay {
	virConnectPtr		 conn;
	virDomainPtr		 d;
	virStreamPtr		 st;
	const struct guest_serial_opts *o;
	const char		*name;
	struct guest_error	*e;
	bool			 tty, in_eof, done;
	bool			 failed;	/* the stream said error */
	bool			 stopped;	/* libvirt said the VM stopped */
	int			 life_cb;	/* its lifecycle callback */
	char			 why[GUEST_ERROR_MAX];
	int			 result;
	int			 in_watch, timer, sig_watch;
	/* launch: told once the first output is out (or after a second
	 * without any), so its work does not delay the first byte. */
	guest_launched_fn	 started;
	const struct guest_dom	*dom;
	void			*arg;
	int			 started_timer;
	char			 pend[64 * 1024];	/* for the VM */
	size_t			 plen;
	bool			 want_write;
};

static int sig_pipe[2] = { -1, -1 };

static void
on_signal(int sig)
{
	unsigned char c = (unsigned char)sig;
	int saved = errno;

	if (write(sig_pipe[1], &c, 1) < 0) {
		/* full: one is already waiting */
	}
	errno = saved;
}

static void
finish(struct relay *r, int result)
{
	if (r->done)
		return;
	r->done = true;
	r->result = result;
}

static void
stream_events(struct relay *r)
{
	virStreamEventUpdateCallback(r->st, STREAM_IN |
	    (r->want_write ? VIR_STREAM_EVENT_WRITABLE : 0));
}

/* The stream failed: noted here, told apart after libvirt's callbacks. */
static void
stream_failed(struct relay *r)
{
	snprintf(r->why, sizeof r->why, "%s", virt_last_error());
	r->failed = true;
	finish(r, -EIO);
}

static int
on_lifecycle(virConnectPtr conn, virDomainPtr d, int event, int detail,
    void *opaque)
{
	struct relay *r = opaque;

	if (event == VIR_DOMAIN_EVENT_STOPPED) {
		r->stopped = true;
		if (r->failed)
			r->done = true;
	}
	return 0;
}

static void
on_grace(int timer, void *opaque)
{
	((struct relay *)opaque)->done = true;
}

/*
 * libvirt says only "stream had I/O failure" both when another client took
 * the console (--force) and when the VM went away.  The VM's stop comes as
 * a lifecycle event, often a little after the stream's end; without one
 * within the grace period, the domain's state decides.  That call is not
 * made at once: libvirtd (9.0) drops a call that reaches it while it is
 * still removing the failed stream (its stream filter frees whatever
 * message comes in then), and the call would wait for ever.
 */
#define FAILED_GRACE_MS	1000

static void
stream_failed_why(struct relay *r)
{
	int timer;

	r->done = r->stopped;
	if (!r->done && (timer = virEventAddTimeout(FAILED_GRACE_MS, on_grace,
	    r, NULL)) >= 0) {
		while (!r->done && virEventRunDefaultImpl() == 0)
			;
		virEventRemoveTimeout(timer);
	}
	r->done = false;
	if (r->stopped) {
		finish(r, GUEST_SERIAL_ENDED);
		return;
	}
	if (virConnectIsAlive(r->conn) == 1) {
		switch (virDomainIsActive(r->d)) {
		case 1:
			guest_error_set(r->e, -ECONNABORTED, "%s's console "
			    "was taken over by another client", r->name);
			finish(r, GUEST_SERIAL_TAKEN);
			return;
		case 0:
		case -1:
			finish(r, GUEST_SERIAL_ENDED);
			return;
		}
	}
	guest_error_set(r->e, -EIO, "%s's console: %s", r->name, r->why);
	finish(r, -EIO);
}

static void
flush(struct relay *r)
{
	int n;

	while (r->plen > 0 && !r->done) {
		n = virStreamSend(r->st, r->pend, r->plen);
		if (n == -2)
			break;
		if (n < 0) {
			stream_failed(r);
			return;
		}
		memmove(r->pend, r->pend + n, r->plen - (size_t)n);
		r->plen -= (size_t)n;
	}
	if (r->want_write != (r->plen > 0)) {
		r->want_write = r->plen > 0;
		stream_events(r);
	}
	/* Room again: read the keyboard again. */
	if (r->in_watch >= 0)
		virEventUpdateHandle(r->in_watch, r->plen < sizeof r->pend ?
		    VIR_EVENT_HANDLE_READABLE : 0);
}

static void
tell_started(struct relay *r)
{
	guest_launched_fn fn = r->started;

	if (fn == NULL)
		return;
	r->started = NULL;
	if (r->started_timer >= 0) {
		virEventRemoveTimeout(r->started_timer);
		r->started_timer = -1;
	}
	fn(r->dom, r->arg);
}

static void
on_started_timer(int timer, void *opaque)
{
	tell_started(opaque);
}

static void
on_stream(virStreamPtr st, int events, void *opaque)
{
	struct relay *r = opaque;
	char buf[64 * 1024];
	int n;

	if (events & VIR_STREAM_EVENT_WRITABLE)
		flush(r);
	if (!(events & STREAM_IN))
		return;
	while (!r->done) {
		n = virStreamRecv(st, buf, sizeof buf);
		if (n == -2)
			break;
		if (n == 0) {
			finish(r, GUEST_SERIAL_ENDED);
			break;
		}
		if (n < 0) {
			stream_failed(r);
			break;
		}
		if (guest_write_all(r->o->out_fd, buf, (size_t)n) < 0) {
			/* Nobody reads our output any more (| head). */
			finish(r, GUEST_SERIAL_DETACHED);
			break;
		}
		if (r->timer >= 0)
			virEventUpdateTimeout(r->timer, r->o->idle_ms);
	}
	tell_started(r);
}

static void
on_idle(int timer, void *opaque)
{
	finish(opaque, GUEST_SERIAL_DETACHED);
}

static void
on_input(int watch, int fd, int events, void *opaque)
{
	struct relay *r = opaque;
	char *esc;
	ssize_t n;

	n = read(fd, r->pend + r->plen, sizeof r->pend - r->plen);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n < 0) {
		guest_error_set(r->e, -errno, "reading stdin: %s",
		    strerror(errno));
		finish(r, -errno);
		return;
	}
	if (n == 0) {
		r->in_eof = true;
		virEventRemoveHandle(r->in_watch);
		r->in_watch = -1;
		if (r->o->idle_ms >= 0)
			r->timer = virEventAddTimeout(r->o->idle_ms, on_idle, r,
			    NULL);
		return;
	}
	if (r->tty && (esc = memchr(r->pend + r->plen, GUEST_CONSOLE_ESCAPE,
	    (size_t)n)) != NULL) {
		/* What came before ^] still goes. */
		r->plen = (size_t)(esc - r->pend);
		flush(r);
		finish(r, GUEST_SERIAL_DETACHED);
		return;
	}
	r->plen += (size_t)n;
	flush(r);
}

static void
on_sig(int watch, int fd, int events, void *opaque)
{
	struct relay *r = opaque;
	unsigned char c;

	if (read(fd, &c, 1) == 1) {
		guest_error_set(r->e, -EINTR, "%s", strsignal(c));
		finish(r, -EINTR);
	}
}

/* The console and serial devices of d, by alias: "serial0, console1". */
static void
device_names(virDomainPtr d, char *out, size_t n)
{
	xmlDocPtr doc;
	xmlXPathContextPtr ctx;
	xmlXPathObjectPtr obj;
	char *xml;
	size_t o = 0;
	int i;

	out[0] = '\0';
	if ((xml = virDomainGetXMLDesc(d, 0)) == NULL)
		return;
	doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	free(xml);
	if (doc == NULL)
		return;
	if ((ctx = xmlXPathNewContext(doc)) != NULL) {
		obj = xmlXPathEvalExpression(BAD_CAST "/domain/devices/*"
		    "[self::serial or self::console or self::channel]"
		    "/alias/@name", ctx);
		for (i = 0; obj != NULL && obj->nodesetval != NULL &&
		    i < obj->nodesetval->nodeNr && o < n; i++) {
			xmlChar *s = xmlNodeGetContent(
			    obj->nodesetval->nodeTab[i]);

			if (s != NULL && strstr(out, (char *)s) == NULL)
				o += (size_t)snprintf(out + o, n - o, "%s%s",
				    o ? ", " : "", (char *)s);
			xmlFree(s);
		}
		if (obj != NULL)
			xmlXPathFreeObject(obj);
		xmlXPathFreeContext(ctx);
	}
	xmlFreeDoc(doc);
}

static int
open_error(virDomainPtr d, const char *name, const struct guest_serial_opts *o,
    struct guest_error *e)
{
	const char *why = virt_last_error();
	char devs[256];

	if (strstr(why, "Active console session") != NULL)
		return guest_error_set(e, -EBUSY, "%s's console is held by "
		    "another client (guest serial or virsh console); --force "
		    "takes it over", name);
	if (o->device != NULL && strstr(why, "cannot find") != NULL) {
		device_names(d, devs, sizeof devs);
		return guest_error_set(e, -ENOENT, "%s has no console device "
		    "'%s' (it has: %s)", name, o->device, devs[0] ? devs :
		    "none");
	}
	return guest_error_set(e, -EIO, "%s's console: %s", name, why);
}

int
virt_serial_relay(virConnectPtr conn, virDomainPtr d, const char *name,
    const struct guest_serial_opts *o, bool *resumed,
    guest_launched_fn started, const struct guest_dom *dom, void *arg,
    struct guest_error *e)
{
	struct relay *r;
	struct guest_tty tty = { .fd = -1 };
	struct sigaction sa, old[4];
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
	unsigned flags = VIR_DOMAIN_CONSOLE_SAFE;
	int i, result;

	if ((r = calloc(1, sizeof *r)) == NULL)
		return guest_error_set(e, -ENOMEM, "out of memory");
	r->conn = conn;
	r->d = d;
	r->o = o;
	r->name = name;
	r->e = e;
	r->in_watch = r->timer = r->sig_watch = r->started_timer = -1;
	/* A stop told by event (see stream_failed_why); before the console
	 * opens, so that none is missed. */
	r->life_cb = virConnectDomainEventRegisterAny(conn, d,
	    VIR_DOMAIN_EVENT_ID_LIFECYCLE,
	    VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), r, NULL);
	if ((r->st = virStreamNew(conn, VIR_STREAM_NONBLOCK)) == NULL) {
		result = guest_error_set(e, -EIO, "%s", virt_last_error());
		goto out;
	}
	if (o->force)
		flags |= VIR_DOMAIN_CONSOLE_FORCE;
	if (virDomainOpenConsole(d, o->device, r->st, flags) < 0) {
		result = open_error(d, name, o, e);
		goto out;
	}
	if (virStreamEventAddCallback(r->st, STREAM_IN, on_stream, r,
	    NULL) < 0) {
		result = guest_error_set(e, -EIO, "%s", virt_last_error());
		goto out;
	}
	if (resumed != NULL) {
		if (virDomainResume(d) < 0) {
			result = guest_error_set(e, -EIO, "cannot resume %s: "
			    "%s", name, virt_last_error());
			goto out;
		}
		*resumed = true;
		r->started = started;
		r->dom = dom;
		r->arg = arg;
		if (started != NULL)
			r->started_timer = virEventAddTimeout(1000,
			    on_started_timer, r, NULL);
	}
	if (sig_pipe[0] < 0 && pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		result = guest_error_set(e, -errno, "pipe: %s",
		    strerror(errno));
		goto out;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	for (i = 0; i < 4; i++)
		sigaction(sigs[i], i == 3 ? &(struct sigaction){
		    .sa_handler = SIG_IGN } : &sa, &old[i]);
	r->sig_watch = virEventAddHandle(sig_pipe[0],
	    VIR_EVENT_HANDLE_READABLE, on_sig, r, NULL);
	r->tty = isatty(o->in_fd) && guest_tty_raw(&tty, o->in_fd) == 0;
	if (r->tty)
		fprintf(stderr, "guest: connected to %s's console (^] "
		    "detaches)\r\n", name);
	r->in_watch = virEventAddHandle(o->in_fd, VIR_EVENT_HANDLE_READABLE,
	    on_input, r, NULL);
	while (!r->done)
		if (virEventRunDefaultImpl() < 0) {
			guest_error_set(e, -EIO, "libvirt's event loop: %s",
			    virt_last_error());
			finish(r, -EIO);
		}
	if (r->failed) {
		/* The daemon has dropped the stream: no abort to send. */
		virStreamEventRemoveCallback(r->st);
		stream_failed_why(r);
	}
	result = r->result;
	tell_started(r);	/* ended before anything came */
	if (r->tty) {
		guest_tty_restore(&tty);
		fprintf(stderr, "\n");
	}
	if (r->in_watch >= 0)
		virEventRemoveHandle(r->in_watch);
	if (r->timer >= 0)
		virEventRemoveTimeout(r->timer);
	virEventRemoveHandle(r->sig_watch);
	for (i = 0; i < 4; i++)
		sigaction(sigs[i], &old[i], NULL);
out:
	if (r->st != NULL) {
		if (!r->failed) {
			virStreamEventRemoveCallback(r->st);
			/* Leaving while the VM goes on: abort, as virsh
			 * console does. */
			if (result == GUEST_SERIAL_ENDED)
				virStreamFinish(r->st);
			else
				virStreamAbort(r->st);
		}
		virStreamFree(r->st);
	}
	if (r->life_cb >= 0)
		virConnectDomainEventDeregisterAny(conn, r->life_cb);
	free(r);
	return result;
}

int
virt_serial(const char *uri, const char *spec,
    const struct guest_serial_opts *o, struct guest_error *e)
{
	virConnectPtr conn;
	virDomainPtr d;
	char name[256];
	int r;

	if ((conn = virt_open(uri, false, true, e)) == NULL)
		return e->code;
	if ((d = virt_lookup(conn, uri, spec, e)) == NULL) {
		virConnectClose(conn);
		return e->code;
	}
	snprintf(name, sizeof name, "%s", virDomainGetName(d));
	if (virDomainIsActive(d) != 1)
		r = guest_error_set(e, -EHOSTDOWN, "%s is not running", name);
	else
		r = virt_serial_relay(conn, d, name, o, NULL, NULL, NULL, NULL,
		    e);
	virDomainFree(d);
	virConnectClose(conn);
	return r;
}
