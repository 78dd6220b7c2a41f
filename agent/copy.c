/*
 * The copy service (guest cp): on a push the agent receives into the
 * destination it was given; on a pull it sends the sources.  The work is
 * libguest's (copy.c), shared with the host; what is the agent's own is
 * the journal of directories with temps, swept when the agent starts.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "guest/copy.h"
#include "guest/transport.h"

static void
logged(void *arg, const char *path, const char *msg)
{
	agent_debug("copy: %s: %s", path, msg);
}

int
copy_serve(struct guest_conn *c, const Guest__V1__CopyRequest *req)
{
	struct guest_copy_opts o = {
		.recursive = req->recursive,
		.preserve = req->preserve || req->owner,
		.owner = req->owner,
		.parents = req->parents,
		.journal = agent.journal,
	};
	struct guest_copy_cb cb = { .failed = logged };
	struct guest_copy_progress p;
	struct guest_error e = { 0 };
	int r;

	/* Big socket buffers for bulk, as the host's side has. */
	guest_socket_tune(c->fd);
	if (req->pull) {
		if (req->n_paths == 0) {
			guest_conn_send_error(c,
			    GUEST__V1__ERROR_CODE__ERROR_PROTOCOL,
			    "a pull needs at least one source");
			agent_flush(c, 1000);
			return 1;
		}
		r = guest_copy_send(c, req->paths, req->n_paths, &o, &cb, &p,
		    &e);
	} else {
		if (req->n_paths != 1 || req->sources == 0) {
			guest_conn_send_error(c,
			    GUEST__V1__ERROR_CODE__ERROR_PROTOCOL,
			    "a push needs one destination and its sources");
			agent_flush(c, 1000);
			return 1;
		}
		/* Refuse a destination that cannot be, before any byte. */
		if (guest_copy_check_dest(req->paths[0], req->sources, &o,
		    &e) < 0) {
			agent_debug("copy: %s", e.msg);
			guest_conn_send_error(c, e.code == -ENOENT ||
			    e.code == -ENOTDIR ?
			    GUEST__V1__ERROR_CODE__ERROR_NOT_FOUND :
			    GUEST__V1__ERROR_CODE__ERROR_DENIED, "%s", e.msg);
			agent_flush(c, 1000);
			return 1;
		}
		r = guest_copy_recv(c, req->paths[0], req->sources, &o, &cb, &p,
		    &e);
	}
	if (r < 0) {
		agent_log("copy: %s", e.msg);
		guest_conn_send_error(c, GUEST__V1__ERROR_CODE__ERROR_INTERNAL,
		    "%s", e.msg);
		agent_flush(c, 1000);
		return 1;
	}
	agent_debug("copy: %s %llu entries, %llu bytes, %llu failed",
	    req->pull ? "sent" : "received", (unsigned long long)p.entries,
	    (unsigned long long)p.bytes, (unsigned long long)p.failed);
	return 0;
}
