/*
 * Agents' host keys as the host has seen them (host only): trust on first
 * use, then a changed key is refused.  One file, known_agents, next to the
 * inventory (or $GUEST_KNOWN_AGENTS), a line per agent as in ssh's
 * known_hosts: "uuid:VM-UUID ssh-ed25519 BASE64" for a VM the inventory
 * knows, "ADDRESS ssh-ed25519 BASE64" for one reached by address (-C).
 */
#ifndef GUEST_PIN_H
#define GUEST_PIN_H

#include <stddef.h>
#include <stdint.h>

#include "guest/error.h"
#include "guest/key.h"
#include "guest/target.h"

/* The name a target's key is pinned under. */
void	guest_pin_name(const struct guest_target *, char *buf, size_t n);

/* The file: inventory is the --inventory override or NULL. */
int	guest_pin_path(const char *inventory, char *buf, size_t n,
	    struct guest_error *e);

/* 0 when pub is the key pinned under name; 1 when nothing was pinned and
 * pub is now (path says where); -EKEYREJECTED when another key is pinned,
 * with its fingerprint and line in e; another negative errno when the
 * file cannot be read or written. */
int	guest_pin_check(const char *path, const char *name,
	    const uint8_t pub[GUEST_KEY_PUB], struct guest_error *e);

/* Drop name's pin: how many lines went, or a negative errno. */
int	guest_pin_forget(const char *path, const char *name,
	    struct guest_error *e);

#endif
