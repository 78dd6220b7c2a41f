/*
 * A plain byte relay between a connected stream socket and a pair of
 * local fds, for guest socat and socat-listen: no agent, no framing.
 */
#ifndef GUEST_RELAY_H
#define GUEST_RELAY_H

#include "guest/error.h"

/* Copy in_fd to sock and sock to out_fd.  EOF on in_fd shuts down our
 * sending side (a true half-close) and output keeps flowing until the
 * peer closes.  After the peer's EOF, our input still goes out while it
 * keeps coming (its EOF may be a half-close), and the relay ends when
 * input ends or pauses for half a second, as socat's -t.  Returns 0 on a
 * clean end, negative errno with the words in e otherwise. */
int	guest_relay(int sock, int in_fd, int out_fd, struct guest_error *e);

#endif
