/*
 * The end-to-end checksum of guest cp: XXH3-128 (docs/PROTOCOL.md), with
 * the widest vector unit the CPU offers.  Private to libguest.
 */
#ifndef GUEST_CHECKSUM_H
#define GUEST_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

#define GUEST_SUM_LEN	16

/* An XXH3_state_t (576 bytes, 64-aligned), opaque here so that only the
 * checksum's own files include xxhash.h. */
struct guest_sum {
	_Alignas(64) unsigned char state[640];
};

void	guest_sum_reset(struct guest_sum *);
void	guest_sum_update(struct guest_sum *, const void *, size_t);
/* n zero bytes (a hole in a sparse file). */
void	guest_sum_zeros(struct guest_sum *, uint64_t n);
/* The digest in XXH128's canonical (big-endian) form. */
void	guest_sum_final(const struct guest_sum *, uint8_t out[GUEST_SUM_LEN]);
#ifdef GUEST_SUM_AVX2
/* The update compiled for AVX2 (checksum-avx2.c); call only where the
 * CPU has it.  guest_sum_update picks it by itself. */
void	guest_sum_update_avx2(struct guest_sum *, const void *, size_t);
#endif

#endif
