/*
 * Session set-up shared by every client command and by the agent.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest/session.h"
#include "guest/signer.h"
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
    const uint8_t *nonce, Guest__V1__Hello *h)
{
	GuestMessage m = GUEST__V1__MESSAGE__INIT;
	Guest__V1__Hello def = GUEST__V1__HELLO__INIT;

	if (h == NULL)
		h = &def;
	h->protocol_version = GUEST_PROTOCOL_VERSION;
	h->min_protocol_version = GUEST_PROTOCOL_MIN;
	h->software = (char *)software;
	if (nonce != NULL) {
		h->nonce.data = (uint8_t *)nonce;
		h->nonce.len = GUEST_NONCE;
	}
	m.body_case = GUEST__V1__MESSAGE__BODY_HELLO;
	m.hello = h;
	return guest_conn_send(c, &m);
}

int
guest_agent_hello_queue(struct guest_conn *c, const struct guest_identity *id,
    const char *const *services, const struct guest_key *host_key,
    const uint8_t *client_nonce, const uint8_t *nonce, bool auth_required)
{
	Guest__V1__Hello h = GUEST__V1__HELLO__INIT;
	uint8_t blob[GUEST_KEY_BLOB], msg[GUEST_AUTH_HOST_MSG];
	uint8_t sig[GUEST_SIG_BLOB];
	size_t n = 0;

	while (services[n] != NULL)
		n++;
	h.n_services = n;
	h.services = (char **)services;
	h.hostname = (char *)id->hostname;
	h.vm_uuid = (char *)id->vm_uuid;
	guest_key_blob(host_key->pub, blob);
	h.host_key.data = blob;
	h.host_key.len = sizeof blob;
	if (client_nonce != NULL) {
		n = guest_auth_host_msg(client_nonce, nonce, blob, msg);
		guest_sshsig_sign(host_key, GUEST_NS_AGENT, msg, n, sig);
		h.host_signature.data = sig;
		h.host_signature.len = sizeof sig;
	}
	h.auth_required = auth_required;
	return guest_hello_queue(c, "guest-agent " GUEST_VERSION, nonce, &h);
}

size_t
guest_auth_host_msg(const uint8_t *client_nonce, const uint8_t *agent_nonce,
    const uint8_t host_blob[GUEST_KEY_BLOB], uint8_t out[GUEST_AUTH_HOST_MSG])
{
	struct guest_sshbuf b = { .p = out, .cap = GUEST_AUTH_HOST_MSG };

	guest_ssh_put_string(&b, client_nonce, GUEST_NONCE);
	guest_ssh_put_string(&b, agent_nonce, GUEST_NONCE);
	guest_ssh_put_string(&b, host_blob, GUEST_KEY_BLOB);
	return b.len;
}

uint8_t *
guest_auth_session_msg(const uint8_t *client_nonce, const uint8_t *agent_nonce,
    const uint8_t host_blob[GUEST_KEY_BLOB], const char *address,
    const uint8_t *request, size_t request_len, size_t *len)
{
	struct guest_sshbuf b;

	b.cap = GUEST_AUTH_HOST_MSG + 8 + strlen(address) + request_len;
	b.len = 0;
	b.overflow = false;
	if ((b.p = malloc(b.cap)) == NULL)
		return NULL;
	guest_auth_host_msg(client_nonce, agent_nonce, host_blob, b.p);
	b.len = GUEST_AUTH_HOST_MSG;
	guest_ssh_put_cstring(&b, address);
	guest_ssh_put_string(&b, request, request_len);
	*len = b.len;
	return b.p;
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
		    "side speaks %u..%u: upgrade %s", who,
		    h->software && *h->software ? h->software : "unknown",
		    lo, hi, GUEST_PROTOCOL_MIN, GUEST_PROTOCOL_VERSION,
		    hi < GUEST_PROTOCOL_MIN ? who : "this side");
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

/* The agent's Hello: versions, and that it holds the host key it names
 * (its signature over our nonce and its own). */
static int
agent_hello(const Guest__V1__Hello *h, const uint8_t *nonce, const char *s,
    struct guest_agent_hello *out, struct guest_error *e)
{
	uint8_t msg[GUEST_AUTH_HOST_MSG];
	size_t n;
	int v;

	if ((v = guest_hello_check(h, "the agent", e)) < 0)
		return guest_error_prefix(e, "%s: ", s);
	memset(out, 0, sizeof *out);
	out->protocol_version = (uint32_t)v;
	copy_str(out->software, sizeof out->software, h->software);
	copy_str(out->hostname, sizeof out->hostname, h->hostname);
	copy_str(out->vm_uuid, sizeof out->vm_uuid, h->vm_uuid);
	if (h->nonce.len != GUEST_NONCE || h->host_key.len != GUEST_KEY_BLOB ||
	    guest_key_from_blob(h->host_key.data, h->host_key.len,
	    out->host_key, NULL, 0) < 0)
		return guest_error_set(e, -EPROTO, "%s: protocol error: the "
		    "agent's Hello has no nonce or no Ed25519 host key", s);
	n = guest_auth_host_msg(nonce, h->nonce.data, h->host_key.data, msg);
	if (guest_crypto_init() < 0 ||
	    !guest_sshsig_verify(out->host_key, GUEST_NS_AGENT, msg, n,
	    h->host_signature.data, h->host_signature.len))
		return guest_error_set(e, -EBADMSG, "%s: the agent's signature "
		    "does not match the host key it gave: refusing it", s);
	out->auth_required = h->auth_required;
	return 0;
}

/* The request, in an Auth signed by every key the user offers. */
static int
send_auth(struct guest_conn *c, const struct guest_client *cl,
    const char *s, const uint8_t *nonce, const Guest__V1__Hello *h,
    const GuestMessage *request, struct guest_error *e)
{
	GuestMessage m = GUEST__V1__MESSAGE__INIT;
	Guest__V1__Auth auth = GUEST__V1__AUTH__INIT;
	Guest__V1__KeySignature ks[GUEST_SIGNERS_MAX], *ksp[GUEST_SIGNERS_MAX];
	uint8_t blobs[GUEST_SIGNERS_MAX][GUEST_KEY_BLOB];
	uint8_t sigs[GUEST_SIGNERS_MAX][GUEST_SIG_BLOB];
	struct guest_signers ss;
	uint8_t *req = NULL, *msg = NULL;
	size_t rn, mn, i;
	int r;

	if ((r = guest_signers_load(&ss, cl != NULL ? cl->identity : NULL,
	    e)) < 0)
		return guest_error_prefix(e, "%s: the agent requires a key: ",
		    s);
	rn = guest__v1__message__get_packed_size(request);
	if ((req = malloc(rn ? rn : 1)) == NULL) {
		r = guest_error_set(e, -ENOMEM, "out of memory");
		goto out;
	}
	guest__v1__message__pack(request, req);
	if ((msg = guest_auth_session_msg(nonce, h->nonce.data,
	    h->host_key.data, s, req, rn, &mn)) == NULL) {
		r = guest_error_set(e, -ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < ss.n; i++) {
		if ((r = guest_signers_sign(&ss, i, GUEST_NS_SESSION, msg, mn,
		    sigs[i], e)) < 0)
			goto out;
		guest__v1__key_signature__init(&ks[i]);
		guest_key_blob(ss.s[i].pub, blobs[i]);
		ks[i].public_key.data = blobs[i];
		ks[i].public_key.len = GUEST_KEY_BLOB;
		ks[i].signature.data = sigs[i];
		ks[i].signature.len = GUEST_SIG_BLOB;
		ksp[i] = &ks[i];
	}
	auth.n_signatures = ss.n;
	auth.signatures = ksp;
	auth.address = (char *)s;
	auth.request.data = req;
	auth.request.len = rn;
	m.body_case = GUEST__V1__MESSAGE__BODY_AUTH;
	m.auth = &auth;
	r = guest_conn_send(c, &m);
	if (r < 0)
		guest_error_set(e, r, "%s: the request is too large to send",
		    s);
out:
	guest_signers_close(&ss);
	free(req);
	free(msg);
	return r;
}

int
guest_session_open(const struct guest_addr *a, const struct guest_client *cl,
    const char *service, const GuestMessage *request, struct guest_conn *c,
    struct guest_agent_hello *hello, struct guest_error *e)
{
	struct guest_agent_hello out;
	struct guest_msg m = { 0 };
	char s[GUEST_ADDR_STR_MAX];
	uint8_t nonce[GUEST_NONCE];
	int64_t deadline, busy_until;
	unsigned tries = 0, wait_ms;
	size_t i;
	int fd, r;

	busy_until = guest_now_ms() + (cl != NULL && cl->connect_ms > 0 ?
	    cl->connect_ms : GUEST_CONNECT_TIMEOUT_MS);
again:
	if ((r = guest_connect(a, cl != NULL ? cl->connect_ms : 0,
	    "is guest-agent running?", &fd, e)) < 0)
		return r;
	guest_conn_init(c, fd);
	guest_addr_format(a, s, sizeof s);
	deadline = guest_now_ms() + GUEST_HANDSHAKE_TIMEOUT_MS;
	if (guest_crypto_init() < 0) {
		r = guest_error_set(e, -EIO, "cannot start libsodium");
		goto out;
	}
	/* The request waits for the agent's Hello: the agent must first
	 * prove its host key (and which VM it is in), and the request is
	 * signed over its nonce. */
	guest_random(nonce, sizeof nonce);
	if ((r = guest_hello_queue(c, "guest " GUEST_VERSION, nonce,
	    NULL)) < 0)
		goto fail;
	r = guest_conn_flush_until(c, deadline);
	/* An agent that refuses us may close before our Hello is out; its
	 * Error is still waiting to be read, and says more than EPIPE. */
	if (r < 0 && r != -EPIPE && r != -ECONNRESET)
		goto fail;
	if ((r = guest_conn_recv_until(c, &m, deadline)) < 0)
		goto fail;
	/* Too many handshakes at once there (a burst of clients, or a
	 * flood): it told us before anything was asked, so try again, a
	 * little later each time, until the connect deadline. */
	if (m.type == GUEST__V1__MESSAGE__BODY_ERROR &&
	    m.pb->error->code == GUEST__V1__ERROR_CODE__ERROR_BUSY &&
	    guest_now_ms() < busy_until) {
		guest_msg_clear(&m);
		guest_conn_close(c);
		guest_random(&wait_ms, sizeof wait_ms);
		wait_ms = 20 + wait_ms % (50 * (tries < 8 ? ++tries : 8));
		usleep(wait_ms * 1000);
		goto again;
	}
	if (m.type != GUEST__V1__MESSAGE__BODY_HELLO) {
		r = guest_session_fail(c, a, 0, &m, e);
		goto out;
	}
	if ((r = agent_hello(m.pb->hello, nonce, s, &out, e)) < 0)
		goto out;
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
	if (cl != NULL && cl->check != NULL &&
	    (r = cl->check(&out, cl->check_arg, e)) < 0)
		goto out;
	if (out.auth_required)
		r = send_auth(c, cl, s, nonce, m.pb->hello, request, e);
	else if ((r = guest_conn_send(c, request)) < 0)
		guest_error_set(e, r, "%s: the request is too large to send",
		    s);
	if (r < 0)
		goto out;
	if ((r = guest_conn_flush_until(c, deadline)) < 0)
		goto fail;
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
