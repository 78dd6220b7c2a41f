/*
 * The agent's key checks (agent/auth.c): the SMBIOS type 11 credential in
 * a DMI table, authorized_keys lines, and a signed request's principals;
 * and key.c's formats against fixed vectors.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "../../agent/agent.h"

struct agent agent;

void
agent_log(const char *fmt, ...)
{
	(void)fmt;
}

static struct guest_key user;
static char line[256];

static int
setup(void **state)
{
	uint8_t seed[32];

	assert_int_equal(guest_crypto_init(), 0);
	memset(seed, 7, sizeof seed);
	guest_key_from_seed(seed, &user);
	memset(seed, 9, sizeof seed);
	guest_key_from_seed(seed, &agent.host_key);
	guest_key_format_pub(user.pub, "u@h", line, sizeof line);
	agent.keys_file = "/nonexistent/authorized_keys";
	return 0;
}

/* A DMI table: a type 1 with a string, a type 11 with the given strings,
 * the end-of-table type 127. */
static size_t
table(uint8_t *t, const char *const *strs, size_t n)
{
	size_t o = 0, i;

	memcpy(t, "\x01\x04\x00\x00" "abc\0\0", 9);
	o = 9;
	memcpy(t + o, "\x0b\x05\x01\x00\x02", 5);
	o += 5;
	for (i = 0; i < n; i++) {
		strcpy((char *)t + o, strs[i]);
		o += strlen(strs[i]) + 1;
	}
	if (n == 0)
		t[o++] = 0;
	t[o++] = 0;
	memcpy(t + o, "\x7f\x04\x02\x00\0\0", 6);
	return o + 6;
}

static void
test_smbios(void **state)
{
	uint8_t t[2048];
	char text[512], b64[512], *out = NULL;
	const char *strs[3];
	size_t n;

	snprintf(text, sizeof text, "io.systemd.credential:"
	    "guest-agent.authorized_keys=root %s", line);
	strs[0] = "io.systemd.credential:other.name=x";
	strs[1] = text;
	n = table(t, strs, 2);
	assert_int_equal(auth_smbios_credential(t, n, &out), 1);
	assert_non_null(strstr(out, "root ssh-ed25519 "));
	assert_int_equal(auth_count_keys(out), 1);
	free(out);
	/* The binary form: two lines, base64. */
	snprintf(text, sizeof text, "root %s\n* %s", line, line);
	strcpy(b64, "io.systemd.credential.binary:guest-agent.authorized_keys=");
	sodium_bin2base64(b64 + strlen(b64), sizeof b64 - strlen(b64),
	    (const unsigned char *)text, strlen(text),
	    sodium_base64_VARIANT_ORIGINAL);
	strs[0] = b64;
	n = table(t, strs, 1);
	assert_int_equal(auth_smbios_credential(t, n, &out), 1);
	assert_int_equal(auth_count_keys(out), 2);
	free(out);
	/* None, an empty string set, and every truncation: no crash, and
	 * nothing found where the string is cut. */
	n = table(t, strs, 0);
	assert_int_equal(auth_smbios_credential(t, n, &out), 0);
	n = table(t, (const char *const[]){ b64 }, 1);
	for (size_t k = 0; k < n - 6; k++) {
		out = NULL;
		if (auth_smbios_credential(t, k, &out) > 0)
			free(out);
	}
}

static void
test_lines(void **state)
{
	char text[1024];

	snprintf(text, sizeof text, "# comment\n\n%s\nroot ssh-rsa AAAA x\n"
	    "root ssh-ed25519 AAAAnotbase64!\nroot,alice %s\n  * %s\n",
	    line, line, line);
	/* No principals, an RSA key, bad base64: three lines left out. */
	assert_int_equal(auth_count_keys(text), 2);
}

/* An Auth for "echo" as user, signed by k over nonces of zeros. */
static void
signed_auth(const struct guest_key *k, const char *user_name,
    Guest__V1__Auth *a, uint8_t **req, uint8_t sig[GUEST_SIG_BLOB],
    uint8_t blob[GUEST_KEY_BLOB])
{
	static const uint8_t zero[GUEST_NONCE];
	static Guest__V1__KeySignature ks, *ksp = &ks;
	GuestMessage m = GUEST__V1__MESSAGE__INIT;
	Guest__V1__ExecRequest x = GUEST__V1__EXEC_REQUEST__INIT;
	uint8_t hb[GUEST_KEY_BLOB], *msg;
	char *argv[] = { "echo" };
	size_t rn, mn;

	x.argv = argv;
	x.n_argv = 1;
	x.user = (char *)user_name;
	m.body_case = GUEST__V1__MESSAGE__BODY_EXEC_REQUEST;
	m.exec_request = &x;
	rn = guest__v1__message__get_packed_size(&m);
	*req = malloc(rn);
	guest__v1__message__pack(&m, *req);
	guest_key_blob(agent.host_key.pub, hb);
	msg = guest_auth_session_msg(zero, zero, hb, "unix:/t", *req, rn, &mn);
	guest_sshsig_sign(k, GUEST_NS_SESSION, msg, mn, sig);
	free(msg);
	guest_key_blob(k->pub, blob);
	guest__v1__key_signature__init(&ks);
	ks.public_key.data = blob;
	ks.public_key.len = GUEST_KEY_BLOB;
	ks.signature.data = sig;
	ks.signature.len = GUEST_SIG_BLOB;
	guest__v1__auth__init(a);
	a->signatures = &ksp;
	a->n_signatures = 1;
	a->address = "unix:/t";
	a->request.data = *req;
	a->request.len = rn;
}

static int
try(const char *keys, const char *user_name, char *why)
{
	static const uint8_t zero[GUEST_NONCE];
	Guest__V1__Auth a;
	struct guest_msg req = { 0 };
	uint8_t *r, sig[GUEST_SIG_BLOB], blob[GUEST_KEY_BLOB];
	int ret;

	agent.cred_keys = (char *)keys;
	signed_auth(&user, user_name, &a, &r, sig, blob);
	ret = auth_request(&a, zero, zero, true, "t", &req, why, 256);
	guest_msg_clear(&req);
	free(r);
	return ret;
}

static void
test_principals(void **state)
{
	char keys[600], why[256];

	snprintf(keys, sizeof keys, "alice,bob %s\n", line);
	assert_int_equal(try(keys, "bob", why), 0);
	assert_int_equal(try(keys, "carol", why), -EACCES);
	assert_non_null(strstr(why, "may not act as carol"));
	assert_int_equal(try(keys, "bo", why), -EACCES);
	snprintf(keys, sizeof keys, "* %s\n", line);
	assert_int_equal(try(keys, "anyone", why), 0);
	assert_int_equal(try("", "bob", why), -EACCES);
	assert_non_null(strstr(why, "no key offered is trusted"));
}

/* Formats: OpenSSH's fingerprint of a fixed key, a line round trip. */
static void
test_formats(void **state)
{
	uint8_t pub[GUEST_KEY_PUB], blob[GUEST_KEY_BLOB], back[GUEST_KEY_PUB];
	char fp[GUEST_FP_MAX], l[256], comment[64];

	/* ssh-keygen -lf of this key prints this fingerprint. */
	assert_int_equal(guest_key_parse_pub("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5"
	    "AAAAIH1SVSFxOdgnRIS48RxEMNKfUy7ITei4aLYzWdptIQvq a b", pub,
	    comment, sizeof comment, NULL), 0);
	assert_string_equal(comment, "a b");
	assert_string_equal(guest_key_fingerprint(pub, fp),
	    "SHA256:cEWV9DYgHd2xwHiH8i+S02fs89Ho4AYheUVota7L+Ag");
	guest_key_format_pub(pub, NULL, l, sizeof l);
	assert_int_equal(guest_key_parse_pub(l, back, NULL, 0, NULL), 0);
	assert_memory_equal(pub, back, GUEST_KEY_PUB);
	guest_key_blob(pub, blob);
	assert_int_equal(guest_key_from_blob(blob, sizeof blob - 1, back, NULL,
	    0), -EINVAL);
	assert_int_equal(guest_key_parse_pub("ssh-rsa AAAA", pub, NULL, 0,
	    NULL), -EPROTONOSUPPORT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smbios),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_principals),
		cmocka_unit_test(test_formats),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
