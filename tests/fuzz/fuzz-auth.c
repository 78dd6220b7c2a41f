/*
 * Fuzz target: what an unauthenticated peer can make the agent read.
 * The input is split in three at its first two 0xff 0xfe pairs (a missing
 * part is empty): a Message as it would follow the Hello (an Auth is
 * checked as agent/auth.c checks it, against a trusted key whose real
 * signatures the seed corpus holds), a DMI table searched for the
 * credential, and authorized_keys lines.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct agent agent;

void
agent_log(const char *fmt, ...)
{
	(void)fmt;
}

/* The seed corpus was signed with this key (the seed of all 0x42s). */
static void
setup(void)
{
	static int done;
	uint8_t seed[32];
	char line[256];
	static char keys[512];

	if (done)
		return;
	done = 1;
	if (guest_crypto_init() < 0)
		abort();
	memset(seed, 0x42, sizeof seed);
	guest_key_from_seed(seed, &agent.host_key);
	guest_key_format_pub(agent.host_key.pub, "fuzz", line, sizeof line);
	snprintf(keys, sizeof keys, "root,alice %s\n* %s\n", line, line);
	agent.cred_keys = keys;
	agent.keys_file = "/nonexistent/authorized_keys";
}

static const uint8_t *
cut(const uint8_t **p, size_t *n, size_t *len)
{
	const uint8_t *s = *p;
	size_t i;

	for (i = 0; i + 1 < *n; i++)
		if (s[i] == 0xff && s[i + 1] == 0xfe) {
			*len = i;
			*p += i + 2;
			*n -= i + 2;
			return s;
		}
	*len = *n;
	*p += *n;
	*n = 0;
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t cn[GUEST_NONCE], an[GUEST_NONCE];
	const uint8_t *msg, *dmi, *lines;
	size_t mn, dn, ln;
	struct guest_msg m = { 0 }, req = { 0 };
	char why[512], *cred = NULL, *text;

	setup();
	msg = cut(&data, &size, &mn);
	dmi = cut(&data, &size, &dn);
	lines = cut(&data, &size, &ln);
	if (guest_msg_decode(msg, mn, &m) == 0) {
		if (m.type == GUEST__V1__MESSAGE__BODY_AUTH &&
		    auth_request(m.pb->auth, cn, an, true, "fuzz", &req, why,
		    sizeof why) == 0)
			guest_msg_clear(&req);
		guest_msg_clear(&m);
	}
	if (auth_smbios_credential(dmi, dn, &cred) > 0)
		free(cred);
	if ((text = malloc(ln + 1)) != NULL) {
		memcpy(text, lines, ln);
		text[ln] = '\0';
		(void)auth_count_keys(text);
		free(text);
	}
	return 0;
}
