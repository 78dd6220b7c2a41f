/*
 * Fuzz target: a CONNECT_GET_ALL_DOMAIN_STATS reply from a libvirt daemon
 * (guest list's fast path), decoded and freed.
 */
#include <stddef.h>
#include <stdint.h>

#include "guest/virt-rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_vm *v;
	size_t n;

	if (guest_virt_rpc_parse_stats(data, size, &v, &n) == 0)
		guest_vm_list_free(v, n);
	return 0;
}
