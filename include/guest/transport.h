/*
 * Addresses and transports: AF_VSOCK (production), AF_UNIX (tests and
 * local agents) and the hybrid vsock of Firecracker and Cloud Hypervisor
 * (a Unix socket that takes "CONNECT PORT\n" and answers "OK N\n").
 *
 *   vsock:CID:PORT    connect to a port of a CID
 *   vsock:PORT        listen on a port, any local CID
 *   unix:PATH         connect or listen on a Unix socket
 *   hvsock:PATH:PORT  connect through a hybrid vsock socket
 */
#ifndef GUEST_TRANSPORT_H
#define GUEST_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "guest/error.h"

#define GUEST_ADDR_PATH_MAX	108	/* sizeof sun_path */
#define GUEST_ADDR_STR_MAX	(GUEST_ADDR_PATH_MAX + 32)
#define GUEST_CONNECT_TIMEOUT_MS 10000

#define GUEST_CID_ANY		0xffffffffu
#define GUEST_CID_LOCAL		1u
#define GUEST_CID_HOST		2u

enum guest_addr_kind {
	GUEST_ADDR_VSOCK,
	GUEST_ADDR_UNIX,
	GUEST_ADDR_HVSOCK,
};

struct guest_addr {
	enum guest_addr_kind	kind;
	uint32_t		cid;	/* vsock; GUEST_CID_ANY to listen */
	uint32_t		port;	/* vsock, hvsock */
	char			path[GUEST_ADDR_PATH_MAX]; /* unix, hvsock */
};

/* Parse flags. */
#define GUEST_ADDR_LISTEN	0x1	/* allow vsock:PORT, refuse hvsock */

int	guest_addr_parse(const char *s, int flags, struct guest_addr *out,
	    struct guest_error *e);
/* Always NUL-terminates; returns buf. */
char   *guest_addr_format(const struct guest_addr *a, char *buf, size_t n);

/* Connect within timeout_ms (<= 0: GUEST_CONNECT_TIMEOUT_MS).  On success
 * *fd is a non-blocking, close-on-exec stream socket.  hint (or NULL) is
 * added to "nothing listening" and timeout errors: "is guest-agent
 * running?". */
int	guest_connect(const struct guest_addr *a, int timeout_ms,
	    const char *hint, int *fd, struct guest_error *e);

/* A listening, non-blocking, close-on-exec socket.  Unix socket files are
 * created 0600; a stale file nobody listens on is replaced. */
int	guest_listen(const struct guest_addr *a, int *fd, struct guest_error *e);

/* This machine's vsock CID, from IOCTL_VM_SOCKETS_GET_LOCAL_CID on
 * /dev/vsock (no socket is created). */
int	guest_vsock_local_cid(uint32_t *cid);

/* Make a connected socket's buffers large for bulk transfers. */
void	guest_socket_tune(int fd);

#endif
