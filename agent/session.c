/*
 * One connection, in its own process: the Hello exchange under the small
 * pre-handshake frame cap, then the request that picks a service.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "guest/util.h"
#include "version.h"

int
agent_flush(struct guest_conn *c, int timeout_ms)
{
	return guest_conn_flush_until(c, guest_now_ms() + timeout_ms);
}

static const char *
recv_error(int r)
{
	switch (r) {
	case -EMSGSIZE:		return "frame larger than allowed";
	case -EBADMSG:		return "malformed message";
	case -ETIMEDOUT:	return "timed out";
	case -ECONNRESET:	return "connection closed";
	default:		return strerror(-r);
	}
}

/* Receive the next handshake message, logging and answering (where the
 * peer can still be answered) when there is none. */
static int
recv_step(struct guest_conn *c, struct guest_msg *m, int64_t deadline,
    const char *peer, const char *what)
{
	int r = guest_conn_recv_until(c, m, deadline);

	if (r >= 0)
		return r;
	agent_log("%s: no %s: %s", peer, what, recv_error(r));
	if (r == -EMSGSIZE || r == -EBADMSG) {
		guest_conn_send_error(c, GUEST__V1__ERROR_CODE__ERROR_PROTOCOL,
		    "expected %s: %s", what, recv_error(r));
		agent_flush(c, 1000);
	}
	return r;
}

/* Refuse the session: a log line and one Error to the client. */
static void
deny(struct guest_conn *c, const char *peer, int code, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	agent_log("%s: refused: %s", peer, why);
	guest_conn_send_error(c, code, "%s", why);
	agent_flush(c, 1000);
}

int
session_run(int fd, const char *peer, bool vsock)
{
	struct guest_conn c;
	struct guest_msg m = { 0 }, req = { 0 };
	struct guest_error err;
	uint8_t client_nonce[GUEST_NONCE], nonce[GUEST_NONCE];
	char why[512];
	int64_t deadline;
	int status = 1, r;
	bool required;

	guest_conn_init(&c, fd);
	deadline = guest_now_ms() + GUEST_HANDSHAKE_TIMEOUT_MS;
	if (recv_step(&c, &m, deadline, peer, "hello") < 0)
		goto out;
	if (m.type != GUEST__V1__MESSAGE__BODY_HELLO) {
		deny(&c, peer, GUEST__V1__ERROR_CODE__ERROR_PROTOCOL,
		    "expected hello, got %s", guest_msg_name(m.type));
		goto out;
	}
	guest_random(nonce, sizeof nonce);
	if (guest_hello_check(m.pb->hello, "the client", &err) < 0) {
		/* Our Hello still goes first, so the client can say which
		 * versions the agent speaks. */
		guest_agent_hello_queue(&c, &agent.id, agent_services,
		    &agent.host_key, NULL, nonce, false);
		deny(&c, peer, GUEST__V1__ERROR_CODE__ERROR_VERSION, "%s",
		    err.msg);
		goto out;
	}
	if (m.pb->hello->nonce.len != GUEST_NONCE) {
		deny(&c, peer, GUEST__V1__ERROR_CODE__ERROR_PROTOCOL,
		    "the client's Hello has no %d-byte nonce", GUEST_NONCE);
		goto out;
	}
	memcpy(client_nonce, m.pb->hello->nonce.data, GUEST_NONCE);
	/* A client that speaks: more time before it may be dropped. */
	if (agent.startup_fd >= 0)
		(void)!write(agent.startup_fd, "h", 1);
	agent_debug("%s: hello from %s", peer,
	    m.pb->hello->software ? m.pb->hello->software : "?");
	guest_msg_clear(&m);
	/* Over vsock a key is always needed (the CID says only that the
	 * peer is on the host); over a Unix socket SO_PEERCRED has already
	 * said who it is, and keys are checked once there are any. */
	required = !agent.no_auth && (vsock || auth_have_keys());
	if (required && vsock && !auth_have_keys()) {
		deny(&c, peer, GUEST__V1__ERROR_CODE__ERROR_DENIED,
		    "this guest trusts no key yet: add one to %s in the "
		    "guest (\"root ssh-ed25519 AAAA...\"), or hand one in as "
		    "the credential guest-agent.authorized_keys (guest launch "
		    "does)", agent.keys_file);
		goto out;
	}
	guest_agent_hello_queue(&c, &agent.id, agent_services,
	    &agent.host_key, client_nonce, nonce, required);
	guest_conn_established(&c);
	if (agent_flush(&c, 5000) < 0)
		goto out;

	if (recv_step(&c, &m, deadline, peer, "request") < 0)
		goto out;
	if (m.type == GUEST__V1__MESSAGE__BODY_AUTH) {
		if ((r = auth_request(m.pb->auth, client_nonce, nonce,
		    required, peer, &req, why, sizeof why)) < 0) {
			deny(&c, peer, r == -EACCES ?
			    GUEST__V1__ERROR_CODE__ERROR_DENIED :
			    GUEST__V1__ERROR_CODE__ERROR_PROTOCOL, "%s", why);
			goto out;
		}
	} else if (required) {
		deny(&c, peer, GUEST__V1__ERROR_CODE__ERROR_DENIED,
		    "a signed request was expected, got %s",
		    guest_msg_name(m.type));
		goto out;
	} else {
		req = m;
		memset(&m, 0, sizeof m);
	}
	/* In: the listener counts us no longer among the handshakes. */
	if (agent.startup_fd >= 0) {
		(void)!write(agent.startup_fd, "a", 1);
		agent.startup_fd = -1;	/* (the channel is the process's) */
	}
	switch (req.type) {
	case GUEST__V1__MESSAGE__BODY_EXEC_REQUEST:
		status = exec_serve(&c, req.pb->exec_request);
		break;
	case GUEST__V1__MESSAGE__BODY_INFO_REQUEST:
		status = info_serve(&c, req.pb->info_request);
		break;
	case GUEST__V1__MESSAGE__BODY_COPY_REQUEST:
		status = copy_serve(&c, req.pb->copy_request);
		break;
	case GUEST__V1__MESSAGE__BODY_CONSOLE_REQUEST:
		status = console_serve(&c, req.pb->console_request, peer);
		break;
	default:
		deny(&c, peer, GUEST__V1__ERROR_CODE__ERROR_UNSUPPORTED,
		    "no service for a %s message", guest_msg_name(req.type));
		break;
	}
out:
	guest_msg_clear(&req);
	guest_msg_clear(&m);
	guest_conn_close(&c);
	return status;
}
