/*
 * guest info [ENV [GUEST [PORT]]] [--json]: what the agent says about its
 * guest.
 */
#include <getopt.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "guest.h"
#include "guest/session.h"
#include "guest/util.h"

static const struct option info_opts[] = {
	{ "json",	no_argument,	NULL, 'j' },
	{ "help",	no_argument,	NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* The record as a document. */
static int
print_json(const char *addr, const Guest__V1__InfoReply *r, uint32_t protocol)
{
	json_object *doc = cli_json_doc(), *agent = json_object_new_object(),
	    *svc = json_object_new_array();
	size_t i;

	json_object_object_add(doc, "address", cli_json_str(addr));
	json_object_object_add(doc, "hostname", cli_json_str(r->hostname));
	json_object_object_add(doc, "vm_uuid", cli_json_str(r->vm_uuid));
	json_object_object_add(doc, "os", cli_json_str(r->os));
	json_object_object_add(doc, "kernel", cli_json_str(r->kernel));
	json_object_object_add(doc, "uptime_seconds",
	    json_object_new_int64((int64_t)r->uptime_seconds));
	json_object_object_add(agent, "software", cli_json_str(r->agent));
	json_object_object_add(agent, "pid",
	    json_object_new_int64(r->agent_pid));
	json_object_object_add(agent, "uid",
	    json_object_new_int64(r->agent_uid));
	json_object_object_add(agent, "protocol",
	    json_object_new_int64(protocol));
	json_object_object_add(doc, "agent", agent);
	for (i = 0; i < r->n_services; i++)
		json_object_array_add(svc, cli_json_str(r->services[i]));
	json_object_object_add(doc, "services", svc);
	return cli_json_print(doc, false);
}

static int
cmd_info(struct cli *cli, const struct cmd_entry *c, int argc, char **argv)
{
	GuestMessage req = GUEST__V1__MESSAGE__INIT;
	Guest__V1__InfoRequest ir = GUEST__V1__INFO_REQUEST__INIT;
	Guest__V1__InfoReply *r;
	struct guest_agent_hello hello;
	struct guest_error e = { 0 };
	struct guest_conn conn;
	struct guest_client client;
	struct guest_msg m = { 0 };
	struct guest_target t;
	char s[GUEST_ADDR_STR_MAX];
	size_t i;
	int ch, rc = EXIT_LOCAL;
	bool json = false;

	if ((ch = cli_json_only(c, info_opts, argc, argv, &json)) >= 0)
		return ch;
	if ((ch = cli_target(cli, c, argc - optind, argv + optind, &t)) < 0)
		return ch == CLI_TARGET_USAGE ? EXIT_USAGE : EXIT_LOCAL;
	req.body_case = GUEST__V1__MESSAGE__BODY_INFO_REQUEST;
	req.info_request = &ir;
	cli_client(cli, &t, &client);
	if (guest_session_open(&t.addr, &client, "info", &req, &conn, &hello,
	    &e) < 0) {
		cli_error(c, "%s", e.msg);
		return EXIT_LOCAL;
	}
	if (guest_conn_recv_until(&conn, &m, guest_now_ms() +
	    GUEST_HANDSHAKE_TIMEOUT_MS) < 0 ||
	    m.type != GUEST__V1__MESSAGE__BODY_INFO_REPLY) {
		guest_session_fail(&conn, &t.addr, -ECONNRESET,
		    m.type ? &m : NULL, &e);
		cli_error(c, "%s", e.msg);
		goto out;
	}
	r = m.pb->info_reply;
	guest_addr_format(&t.addr, s, sizeof s);
	if (json) {
		rc = print_json(s, r, hello.protocol_version) < 0 ? 1 : 0;
		goto out;
	}
	printf("address:   %s\n", s);
	printf("hostname:  %s\n", r->hostname);
	printf("vm-uuid:   %s\n", *r->vm_uuid ? r->vm_uuid : "-");
	printf("os:        %s\n", r->os);
	printf("kernel:    %s\n", r->kernel);
	printf("uptime:    %" PRIu64 "s\n", r->uptime_seconds);
	printf("agent:     %s (pid %" PRIu32 ", uid %" PRIu32 ", protocol %"
	    PRIu32 ")\n", r->agent, r->agent_pid, r->agent_uid,
	    hello.protocol_version);
	printf("services:  ");
	for (i = 0; i < r->n_services; i++)
		printf("%s%s", i ? " " : "", r->services[i]);
	printf("\n");
	rc = 0;
out:
	guest_msg_clear(&m);
	guest_conn_close(&conn);
	return rc;
}

const struct cmd_entry cmd_info_entry = {
	.name = "info",
	.usage = "[ENV [GUEST [PORT]]] [--json]",
	.summary = "Show what the agent says about its guest",
	.help =
	    "Options:\n"
	    "  -j, --json      JSON for scripts (schema in guest(1))\n",
	.exec = cmd_info,
	.opts = info_opts,
	.operands = "target",
};
