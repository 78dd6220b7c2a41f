/*
 * authpeer: a client that signs its way into an agent, honestly or not,
 * for the tests of authentication over a Unix socket.
 *
 *   authpeer SOCK KEY MODE [FILE]
 *
 * It sends Hello, reads the agent's, and asks to run "echo ok" in an Auth
 * signed with KEY (an OpenSSH private key file), bent as MODE says:
 *
 *   ok              as guest does
 *   record FILE     as guest does, and keep the Auth frame in FILE
 *   replay FILE     send FILE's Auth frame (from another session) instead
 *   other-request   sign "echo ok" but send "echo evil"
 *   other-hostkey   sign over another agent's host key
 *   nine            nine signatures (at most eight are allowed)
 *   truncated       half of the Auth frame, then close
 *   oversized       an Auth frame of 2 MiB
 *
 * Prints what came back: "out: TEXT" for output, "exit: N", or
 * "error: MESSAGE"; exits 0 when the agent answered at all.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "guest/conn.h"
#include "guest/key.h"
#include "guest/session.h"
#include "guest/util.h"

static int
pack_exec(const char *word, uint8_t **out, size_t *n)
{
	GuestMessage m = GUEST__V1__MESSAGE__INIT;
	Guest__V1__ExecRequest x = GUEST__V1__EXEC_REQUEST__INIT;
	char *argv[] = { "echo", (char *)word };

	x.argv = argv;
	x.n_argv = 2;
	m.body_case = GUEST__V1__MESSAGE__BODY_EXEC_REQUEST;
	m.exec_request = &x;
	*n = guest__v1__message__get_packed_size(&m);
	if ((*out = malloc(*n)) == NULL)
		return -1;
	guest__v1__message__pack(&m, *out);
	return 0;
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct guest_conn c;
	struct guest_msg m = { 0 };
	struct guest_key key, other;
	struct guest_error e;
	GuestMessage am = GUEST__V1__MESSAGE__INIT;
	Guest__V1__Auth auth = GUEST__V1__AUTH__INIT;
	Guest__V1__KeySignature ks[9], *ksp[9];
	uint8_t nonce[GUEST_NONCE], an[GUEST_NONCE], hb[GUEST_KEY_BLOB];
	uint8_t blob[GUEST_KEY_BLOB], sig[GUEST_SIG_BLOB], *req, *sent, *msg;
	uint8_t *frame = NULL, *big = NULL;
	size_t rn, sn, mn, i, fn = 0;
	const char *mode;
	char addr[200];
	int fd, r, rc = 1;
	FILE *f;

	if (argc < 4)
		return 2;
	mode = argv[3];
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", argv[1]);
	snprintf(addr, sizeof addr, "unix:%s", argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		return 1;
	if (guest_key_load(argv[2], &key, &e) < 0) {
		fprintf(stderr, "authpeer: %s\n", e.msg);
		return 2;
	}
	guest_conn_init(&c, fd);
	req = sent = msg = NULL;
	guest_random(nonce, sizeof nonce);
	guest_hello_queue(&c, "authpeer", nonce, NULL);
	if (guest_conn_flush_until(&c, guest_now_ms() + 5000) < 0 ||
	    guest_conn_recv_until(&c, &m, guest_now_ms() + 10000) <= 0)
		goto out;
	if (m.type != GUEST__V1__MESSAGE__BODY_HELLO) {
		if (m.type == GUEST__V1__MESSAGE__BODY_ERROR) {
			printf("error: %s\n", m.pb->error->message);
			rc = 0;
		}
		goto out;
	}
	if (m.pb->hello->nonce.len != GUEST_NONCE ||
	    m.pb->hello->host_key.len != GUEST_KEY_BLOB)
		goto out;
	memcpy(an, m.pb->hello->nonce.data, GUEST_NONCE);
	memcpy(hb, m.pb->hello->host_key.data, GUEST_KEY_BLOB);
	guest_msg_clear(&m);
	guest_conn_established(&c);

	if (pack_exec("ok", &req, &rn) < 0)
		goto out;
	sent = req;
	sn = rn;
	if (strcmp(mode, "other-request") == 0 && pack_exec("evil", &sent,
	    &sn) < 0)
		goto out;
	if (strcmp(mode, "other-hostkey") == 0) {
		guest_key_generate(&other);
		guest_key_blob(other.pub, hb);
	}
	if ((msg = guest_auth_session_msg(nonce, an, hb, addr, req, rn,
	    &mn)) == NULL)
		goto out;
	guest_sshsig_sign(&key, GUEST_NS_SESSION, msg, mn, sig);
	guest_key_blob(key.pub, blob);
	for (i = 0; i < 9; i++) {
		guest__v1__key_signature__init(&ks[i]);
		ks[i].public_key.data = blob;
		ks[i].public_key.len = sizeof blob;
		ks[i].signature.data = sig;
		ks[i].signature.len = sizeof sig;
		ksp[i] = &ks[i];
	}
	auth.signatures = ksp;
	auth.n_signatures = strcmp(mode, "nine") == 0 ? 9 : 1;
	auth.address = addr;
	auth.request.data = sent;
	auth.request.len = sn;
	if (strcmp(mode, "oversized") == 0) {
		auth.request.len = 2 * 1024 * 1024;
		if ((big = calloc(1, auth.request.len)) == NULL)
			goto out;
		auth.request.data = big;
	}
	am.body_case = GUEST__V1__MESSAGE__BODY_AUTH;
	am.auth = &auth;
	fn = guest__v1__message__get_packed_size(&am);
	if ((frame = malloc(fn + 4)) == NULL)
		goto out;
	guest_put_be32(frame, (uint32_t)fn);
	guest__v1__message__pack(&am, frame + 4);
	fn += 4;
	if (strcmp(mode, "record") == 0) {
		if ((f = fopen(argv[4], "w")) == NULL ||
		    fwrite(frame, 1, fn, f) != fn || fclose(f) != 0)
			goto out;
	}
	if (strcmp(mode, "replay") == 0) {
		free(frame);
		if ((frame = malloc(1 << 20)) == NULL ||
		    (f = fopen(argv[4], "r")) == NULL)
			goto out;
		fn = fread(frame, 1, 1 << 20, f);
		fclose(f);
	}
	if (strcmp(mode, "truncated") == 0)
		fn /= 2;
	/* The agent answers an oversized frame from its header. */
	if (strcmp(mode, "oversized") == 0)
		fn = 64 * 1024;
	if (guest_write_all(fd, frame, fn) < 0 && strcmp(mode,
	    "oversized") != 0)
		goto out;
	if (strcmp(mode, "truncated") == 0) {
		shutdown(fd, SHUT_WR);
	}
	for (;;) {
		r = guest_conn_recv_until(&c, &m, guest_now_ms() + 10000);
		if (r <= 0) {
			printf("closed\n");
			rc = 0;
			goto out;
		}
		switch (m.type) {
		case GUEST__V1__MESSAGE__BODY_DATA:
			printf("out: %.*s", (int)m.len, (const char *)m.data);
			break;
		case GUEST__V1__MESSAGE__BODY_EXEC_EXIT:
			printf("exit: %u\n", m.pb->exec_exit->code);
			rc = 0;
			goto out;
		case GUEST__V1__MESSAGE__BODY_ERROR:
			printf("error: %s\n", m.pb->error->message);
			rc = 0;
			goto out;
		default:
			break;
		}
		guest_msg_clear(&m);
	}
out:
	guest_msg_clear(&m);
	guest_conn_close(&c);
	if (sent != req)
		free(sent);
	free(req);
	free(msg);
	free(frame);
	free(big);
	return rc;
}
