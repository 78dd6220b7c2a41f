/*
 * sshsig-tool: libguest's signatures in the file form of ssh-keygen -Y,
 * so the tests can check them against OpenSSH itself.
 *
 *   sshsig-tool sign KEY NAMESPACE < MESSAGE > SIGNATURE
 *   sshsig-tool verify NAMESPACE SIGNATURE < MESSAGE
 *
 * verify prints the signer's key and exits 0 when the signature is good.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest/key.h"

static char *
slurp(FILE *f, size_t *n)
{
	size_t cap = 1 << 20, len = 0, r;
	char *buf = malloc(cap + 1);

	while (buf != NULL && (r = fread(buf + len, 1, cap - len, f)) > 0)
		len += r;
	if (buf != NULL)
		buf[len] = '\0';
	*n = len;
	return buf;
}

int
main(int argc, char **argv)
{
	struct guest_key k;
	struct guest_error e;
	uint8_t sig[GUEST_SIG_BLOB], pub[GUEST_KEY_PUB];
	char out[1024], ns[256], line[256], *msg, *text;
	size_t n, tn;
	FILE *f;

	if (argc == 4 && strcmp(argv[1], "sign") == 0) {
		if (guest_key_load(argv[2], &k, &e) < 0) {
			fprintf(stderr, "sshsig-tool: %s\n", e.msg);
			return 2;
		}
		if ((msg = slurp(stdin, &n)) == NULL)
			return 1;
		guest_sshsig_sign(&k, argv[3], msg, n, sig);
		free(msg);
		if (guest_sshsig_armor(k.pub, argv[3], sig, out,
		    sizeof out) < 0)
			return 1;
		fputs(out, stdout);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "verify") == 0) {
		if (guest_crypto_init() < 0 || (f = fopen(argv[3], "r")) == NULL)
			return 2;
		text = slurp(f, &tn);
		fclose(f);
		if (text == NULL ||
		    guest_sshsig_dearmor(text, pub, ns, sizeof ns, sig) < 0) {
			free(text);
			fprintf(stderr, "sshsig-tool: not a signature\n");
			return 1;
		}
		free(text);
		if ((msg = slurp(stdin, &n)) == NULL)
			return 1;
		if (strcmp(ns, argv[2]) != 0 ||
		    !guest_sshsig_verify(pub, ns, msg, n, sig, sizeof sig)) {
			free(msg);
			fprintf(stderr, "sshsig-tool: bad signature\n");
			return 1;
		}
		free(msg);
		guest_key_format_pub(pub, NULL, line, sizeof line);
		printf("%s\n", line);
		return 0;
	}
	fprintf(stderr, "usage: sshsig-tool sign KEY NS | verify NS SIG\n");
	return 2;
}
