/*
 * Session set-up shared by every client command and by the agent.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "guest/session.h"
#include "guest/util.h"
#include "version.h"

void
guest_identity_read(struct guest_identity *id)
{
	FILE *f;
	size_t i;

	memset(id, 0, sizeof *id);
	if (gethostname(id->hostname, sizeof id->hostname - 1) < 0)
		id->hostname[0] = '\0';
	f = fopen("/sys/class/dmi/id/product_uuid", "re");
	if (f != NULL) {
		if (fgets(id->vm_uuid, sizeof id->vm_uuid, f) == NULL)
			id->vm_uuid[0] = '\0';
		fclose(f);
	}
	id->vm_uuid[strcspn(id->vm_uuid, "\r\n")] = '\0';
	for (i = 0; id->vm_uuid[i] != '\0'; i++)
		id->vm_uuid[i] = (char)tolower((unsigned char)id->vm_uuid[i]);
}

int
guest_hello_queue(struct guest_conn *c, const char *software,
    const struct guest_identity *id, const char *const *services)
{
	GuestMessage m = GUEST__V1__MESSAGE__INIT;
	Guest__V1__Hello h = GUEST__V1__HELLO__INIT;
	size_t n = 0;

	h.protocol_version = GUEST_PROTOCOL_VERSION;
	h.min_protocol_version = GUEST_PROTOCOL_MIN;
	h.software = (char *)software;
	if (services != NULL)
		while (services[n] != NULL)
			n++;
	h.n_services = n;
	h.services = (char **)services;
	if (id != NULL) {
		h.hostname = (char *)id->hostname;
		h.vm_uuid = (char *)id->vm_uuid;
	}
	m.body_case = GUEST__V1__MESSAGE__BODY_HELLO;
	m.hello = &h;
	return guest_conn_send(c, &m);
}

int
guest_hello_check(const Guest__V1__Hello *h, const char *who,
    struct guest_error *e)
{
	uint32_t hi = h->protocol_version, lo = h->min_protocol_version;

	if (lo == 0)
		lo = hi;
	if (hi < GUEST_PROTOCOL_MIN || lo > GUEST_PROTOCOL_VERSION || lo > hi)
		return guest_error_set(e, -EPROTONOSUPPORT,
		    "protocol version mismatch: %s (%s) speaks %u..%u, this "
		    "side speaks %u..%u", who,
		    h->software && *h->software ? h->software : "unknown",
		    lo, hi, GUEST_PROTOCOL_MIN, GUEST_PROTOCOL_VERSION);
	return hi < GUEST_PROTOCOL_VERSION ? (int)hi : GUEST_PROTOCOL_VERSION;
}

static void
copy_str(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src != NULL ? src : "");
}

int
guest_session_fail(struct guest_conn *c, const struct guest_addr *a, int err,
    const struct guest_msg *m, struct guest_error *e)
{
	char s[GUEST_ADDR_STR_MAX];

	guest_addr_format(a, s, sizeof s);
	if (m != NULL && m->type == GUEST__V1__MESSAGE__BODY_ERROR)
		return guest_error_set(e, -EPROTO, "%s: agent said: %s: %s", s,
		    guest_error_code_name(m->pb->error->code),
		    m->pb->error->message ? m->pb->error->message : "");
	if (m != NULL)
		return guest_error_set(e, -EPROTO,
		    "%s: protocol error: unexpected %s message", s,
		    guest_msg_name(m->type));
	switch (err) {
	case -ECONNRESET:
	case -EPIPE:
		return guest_error_set(e, err,
		    "%s: connection closed by the agent%s", s,
		    c != NULL && c->cap == GUEST_FRAME_HELLO_MAX ?
		    " (is it a guest-agent?)" : "");
	case -ETIMEDOUT:
		return guest_error_set(e, err,
		    "%s: the agent did not answer in time", s);
	case -EMSGSIZE:
		return guest_error_set(e, err,
		    "%s: protocol error: frame larger than allowed", s);
	case -EBADMSG:
		return guest_error_set(e, err,
		    "%s: protocol error: malformed message", s);
	default:
		return guest_error_set(e, err, "%s: %s", s, strerror(-err));
	}
}

int
guest_session_open(const struct guest_addr *a, int connect_ms,
    const char *service, const GuestMessage *request, guest_hello_fn check,
    void *check_arg, struct guest_conn *c, struct guest_agent_hello *hello,
    struct guest_error *e)
{
	struct guest_agent_hello out;
	struct guest_msg m = { 0 };
	char s[GUEST_ADDR_STR_MAX];
	int64_t deadline;
	size_t i;
	int fd, r, v;

	if ((r = guest_connect(a, connect_ms, "is guest-agent running?", &fd,
	    e)) < 0)
		return r;
	guest_conn_init(c, fd);
	deadline = guest_now_ms() + GUEST_HANDSHAKE_TIMEOUT_MS;
	/* The request follows Hello at once: one round trip, not two.  But
	 * where the agent must first prove which VM it is in (a name from
	 * the inventory), the request waits for its Hello: a command sent
	 * to the wrong VM would run there before we could refuse. */
	if ((r = guest_hello_queue(c, "guest " GUEST_VERSION, NULL, NULL)) < 0 ||
	    (check == NULL && (r = guest_conn_send(c, request)) < 0))
		goto fail;
	r = guest_conn_flush_until(c, deadline);
	/* An agent that refuses us may close before our Hello is out; its
	 * Error is still waiting to be read, and says more than EPIPE. */
	if (r < 0 && r != -EPIPE && r != -ECONNRESET)
		goto fail;
	if ((r = guest_conn_recv_until(c, &m, deadline)) < 0)
		goto fail;
	if (m.type != GUEST__V1__MESSAGE__BODY_HELLO) {
		r = guest_session_fail(c, a, 0, &m, e);
		goto out;
	}
	guest_addr_format(a, s, sizeof s);
	if ((v = guest_hello_check(m.pb->hello, "the agent", e)) < 0) {
		r = guest_error_prefix(e, "%s: ", s);
		goto out;
	}
	memset(&out, 0, sizeof out);
	out.protocol_version = (uint32_t)v;
	copy_str(out.software, sizeof out.software, m.pb->hello->software);
	copy_str(out.hostname, sizeof out.hostname, m.pb->hello->hostname);
	copy_str(out.vm_uuid, sizeof out.vm_uuid, m.pb->hello->vm_uuid);
	r = -EPROTONOSUPPORT;
	for (i = 0; i < m.pb->hello->n_services; i++) {
		const char *sv = m.pb->hello->services[i];

		if (strcmp(sv, service) == 0)
			r = 0;
		if (strlen(out.services) + strlen(sv) + 2 < sizeof out.services) {
			if (i > 0)
				strcat(out.services, ",");
			strcat(out.services, sv);
		}
	}
	if (r < 0) {
		guest_error_set(e, r, "%s: the agent (%s) does not offer the "
		    "%s service", s, out.software, service);
		goto out;
	}
	if (check != NULL) {
		if ((r = check(&out, check_arg, e)) < 0)
			goto out;
		if ((r = guest_conn_send(c, request)) < 0 ||
		    (r = guest_conn_flush_until(c, deadline)) < 0)
			goto fail;
	}
	guest_conn_established(c);
	if (hello != NULL)
		*hello = out;
	guest_msg_clear(&m);
	return 0;
fail:
	guest_session_fail(c, a, r, NULL, e);
out:
	guest_msg_clear(&m);
	guest_conn_close(c);
	return r < 0 ? r : -EPROTO;
}
