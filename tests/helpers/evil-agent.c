/*
 * evil-agent: a hostile guest-agent for the tests of guest cp's pulls.
 * It accepts one connection on a Unix socket, shakes hands like an agent,
 * and answers a CopyRequest with entries that try to climb out of the
 * destination or write through links:
 *
 *   evil-agent PATH TOP
 *
 * TOP is the name the host asked for (the first component it expects).
 * Every entry is sent whatever the host answers; the host must refuse
 * each, and the test then checks that nothing landed outside.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "guest/conn.h"
#include "guest/session.h"
#include "guest/util.h"

static struct guest_conn c;

static void
send_msg(GuestMessage *m)
{
	if (guest_conn_send(&c, m) < 0 ||
	    guest_conn_flush_until(&c, guest_now_ms() + 5000) < 0)
		exit(3);
}

static void
header(uint32_t id, const char *path, Guest__V1__FileKind kind,
    const char *target, uint64_t size)
{
	GuestMessage m = GUEST__V1__MESSAGE__INIT;
	Guest__V1__FileHeader fh = GUEST__V1__FILE_HEADER__INIT;

	fh.id = id;
	fh.path = (char *)path;
	fh.kind = kind;
	fh.mode = 0644;
	fh.size = size;
	if (target != NULL)
		fh.target = (char *)target;
	m.body_case = GUEST__V1__MESSAGE__BODY_FILE_HEADER;
	m.file_header = &fh;
	send_msg(&m);
}

/* A regular file with this content, properly checksummed. */
static void
file(uint32_t id, const char *path, const char *content)
{
	GuestMessage m = GUEST__V1__MESSAGE__INIT;
	Guest__V1__FileEnd fe = GUEST__V1__FILE_END__INIT;
	XXH128_canonical_t sum;
	size_t n = strlen(content);

	header(id, path, GUEST__V1__FILE_KIND__FILE_REGULAR, NULL, n);
	if (guest_conn_send_data(&c, GUEST_STREAM_FILE,
	    (const uint8_t *)content, n, NULL) < 0)
		exit(3);
	XXH128_canonicalFromHash(&sum, XXH3_128bits(content, n));
	fe.id = id;
	fe.checksum.data = sum.digest;
	fe.checksum.len = sizeof sum.digest;
	m.body_case = GUEST__V1__MESSAGE__BODY_FILE_END;
	m.file_end = &fe;
	send_msg(&m);
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct guest_identity id = { .hostname = "evil" };
	static const char *const services[] = { "copy", NULL };
	GuestMessage m = GUEST__V1__MESSAGE__INIT;
	Guest__V1__CopyDone cd = GUEST__V1__COPY_DONE__INIT;
	struct guest_msg in = { 0 };
	struct guest_key key;
	uint8_t cn[GUEST_NONCE], nonce[GUEST_NONCE];
	char p[512];
	const char *top;
	int lfd, fd;
	uint32_t n = 0;

	if (argc != 3)
		return 2;
	top = argv[2];
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", argv[1]);
	unlink(argv[1]);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    listen(lfd, 1) < 0 || (fd = accept(lfd, NULL, NULL)) < 0)
		return 1;
	guest_conn_init(&c, fd);
	if (guest_conn_recv_until(&c, &in, guest_now_ms() + 5000) <= 0)
		return 3;
	if (in.type != GUEST__V1__MESSAGE__BODY_HELLO ||
	    in.pb->hello->nonce.len != GUEST_NONCE)
		return 3;
	memcpy(cn, in.pb->hello->nonce.data, GUEST_NONCE);
	guest_msg_clear(&in);
	/* A real handshake, with a host key of its own: the host pins it
	 * like any other agent's. */
	guest_key_generate(&key);
	guest_random(nonce, sizeof nonce);
	guest_agent_hello_queue(&c, &id, services, &key, cn, nonce, false);
	if (guest_conn_flush_until(&c, guest_now_ms() + 5000) < 0)
		return 3;
	guest_conn_established(&c);
	if (guest_conn_recv_until(&c, &in, guest_now_ms() + 5000) <= 0 ||
	    in.type != GUEST__V1__MESSAGE__BODY_COPY_REQUEST)
		return 3;
	guest_msg_clear(&in);

	/* Out of the destination by name. */
	file(++n, "../escaped-dotdot", "evil\n");
	file(++n, "/tmp/escaped-absolute", "evil\n");
	snprintf(p, sizeof p, "%s/../../escaped-inner", top);
	file(++n, p, "evil\n");
	file(++n, "not-asked-for", "evil\n");
	snprintf(p, sizeof p, "%s//double", top);
	file(++n, p, "evil\n");
	/* Through a link it planted: the link is made (a link is data),
	 * but nothing is written through it. */
	header(++n, top, GUEST__V1__FILE_KIND__FILE_DIRECTORY, NULL, 0);
	snprintf(p, sizeof p, "%s/lnk", top);
	header(++n, p, GUEST__V1__FILE_KIND__FILE_SYMLINK, "/tmp", 0);
	snprintf(p, sizeof p, "%s/lnk/escaped-link", top);
	file(++n, p, "evil\n");
	snprintf(p, sizeof p, "%s/outside", top);
	header(++n, p, GUEST__V1__FILE_KIND__FILE_SYMLINK, "/", 0);
	snprintf(p, sizeof p, "%s/outside/tmp/escaped-link2", top);
	file(++n, p, "evil\n");
	/* A file that lies about its size. */
	snprintf(p, sizeof p, "%s/liar", top);
	header(++n, p, GUEST__V1__FILE_KIND__FILE_REGULAR, NULL, 2);
	if (guest_conn_send_data(&c, GUEST_STREAM_FILE,
	    (const uint8_t *)"0123456789", 10, NULL) < 0)
		return 3;
	{
		Guest__V1__FileEnd fe = GUEST__V1__FILE_END__INIT;
		GuestMessage e = GUEST__V1__MESSAGE__INIT;

		fe.id = n;
		e.body_case = GUEST__V1__MESSAGE__BODY_FILE_END;
		e.file_end = &fe;
		send_msg(&e);
	}
	/* And one honest file, which must arrive. */
	snprintf(p, sizeof p, "%s/honest", top);
	file(++n, p, "fine\n");

	cd.entries = n;
	m.body_case = GUEST__V1__MESSAGE__BODY_COPY_DONE;
	m.copy_done = &cd;
	send_msg(&m);
	/* Read the host's answers until it is done. */
	while (guest_conn_recv_until(&c, &in, guest_now_ms() + 5000) > 0) {
		bool done = in.type == GUEST__V1__MESSAGE__BODY_COPY_DONE;

		guest_msg_clear(&in);
		if (done)
			break;
	}
	guest_conn_close(&c);
	return 0;
}
