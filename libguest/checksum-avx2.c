/*
 * checksum.c's update, compiled with -mavx2 (CMakeLists.txt) so that
 * xxhash uses its AVX2 code; called only where the CPU has AVX2.
 */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "checksum.h"

void
guest_sum_update_avx2(struct guest_sum *s, const void *p, size_t n)
{
	XXH3_128bits_update((XXH3_state_t *)(void *)s->state, p, n);
}
