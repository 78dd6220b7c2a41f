/*
 * One connection, in its own process: the Hello exchange under the small
 * pre-handshake frame cap, then the request that picks a service.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
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

int
session_run(int fd, const char *peer)
{
	struct guest_conn c;
	struct guest_msg m = { 0 };
	struct guest_error err;
	int64_t deadline;
	int status = 1;

	guest_conn_init(&c, fd);
	deadline = guest_now_ms() + GUEST_HANDSHAKE_TIMEOUT_MS;
	if (recv_step(&c, &m, deadline, peer, "hello") < 0)
		goto out;
	if (m.type != GUEST__V1__MESSAGE__BODY_HELLO) {
		agent_log("%s: expected hello, got %s", peer,
		    guest_msg_name(m.type));
		guest_conn_send_error(&c, GUEST__V1__ERROR_CODE__ERROR_PROTOCOL,
		    "expected hello, got %s", guest_msg_name(m.type));
		agent_flush(&c, 1000);
		goto out;
	}
	/* Our Hello goes out even on a mismatch, so the client can say
	 * which versions the agent speaks. */
	guest_hello_queue(&c, "guest-agent " GUEST_VERSION, &agent.id,
	    agent_services);
	if (guest_hello_check(m.pb->hello, "the client", &err) < 0) {
		agent_log("%s: %s", peer, err.msg);
		guest_conn_send_error(&c, GUEST__V1__ERROR_CODE__ERROR_VERSION,
		    "%s", err.msg);
		agent_flush(&c, 1000);
		goto out;
	}
	agent_debug("%s: hello from %s", peer,
	    m.pb->hello->software ? m.pb->hello->software : "?");
	guest_msg_clear(&m);
	guest_conn_established(&c);
	/* A client that must check which VM we are in before it sends its
	 * request waits for our Hello; one that sent both at once gets it
	 * with the service's first answer, in one write. */
	if (!guest_conn_has_frame(&c) && agent_flush(&c, 5000) < 0)
		goto out;

	if (recv_step(&c, &m, deadline, peer, "request") < 0)
		goto out;
	switch (m.type) {
	case GUEST__V1__MESSAGE__BODY_EXEC_REQUEST:
		status = exec_serve(&c, m.pb->exec_request);
		break;
	case GUEST__V1__MESSAGE__BODY_INFO_REQUEST:
		status = info_serve(&c, m.pb->info_request);
		break;
	case GUEST__V1__MESSAGE__BODY_COPY_REQUEST:
		status = copy_serve(&c, m.pb->copy_request);
		break;
	case GUEST__V1__MESSAGE__BODY_CONSOLE_REQUEST:
		status = console_serve(&c, m.pb->console_request, peer);
		break;
	default:
		agent_log("%s: expected a request, got %s", peer,
		    guest_msg_name(m.type));
		guest_conn_send_error(&c,
		    GUEST__V1__ERROR_CODE__ERROR_UNSUPPORTED,
		    "no service for a %s message", guest_msg_name(m.type));
		agent_flush(&c, 1000);
		break;
	}
out:
	guest_msg_clear(&m);
	guest_conn_close(&c);
	return status;
}
