/*
 * A domain state as virsh says it, shared by the libvirt module and the
 * host's own reading of libvirt's wire protocol (virt-rpc.c).
 */
#include "guest/virt.h"

const char *
guest_virt_state_name(int s)
{
	/* virDomainState's numbers, stable in libvirt's ABI. */
	switch (s) {
	case 1:		return "running";
	case 2:		return "idle";		/* blocked */
	case 3:		return "paused";
	case 4:		return "in shutdown";
	case 5:		return "shut off";
	case 6:		return "crashed";
	case 7:		return "pmsuspended";
	default:	return "no state";
	}
}
