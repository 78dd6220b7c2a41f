/*
 * Peer policy for guest-agent.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include <linux/vm_sockets.h>

#include "guest/policy.h"
#include "guest/transport.h"

int
guest_policy_allow_cid(struct guest_policy *p, uint32_t cid)
{
	if (cid == GUEST_CID_ANY)
		return -EINVAL;
	if (p->n_allow >= GUEST_POLICY_MAX_CIDS)
		return -ENOSPC;
	p->allow_cids[p->n_allow++] = cid;
	return 0;
}

int
guest_policy_check(const struct guest_policy *p, const struct sockaddr *sa,
    socklen_t len, const struct ucred *cred, char *why, size_t whylen)
{
	const struct sockaddr_vm *vm;
	size_t i;

	if (sa == NULL || len < (socklen_t)sizeof(sa_family_t)) {
		snprintf(why, whylen, "peer address unknown");
		return -EPERM;
	}
	switch (sa->sa_family) {
	case AF_VSOCK:
		if (len < (socklen_t)sizeof(*vm)) {
			snprintf(why, whylen, "short vsock peer address");
			return -EPERM;
		}
		vm = (const struct sockaddr_vm *)sa;
		if (vm->svm_cid == GUEST_CID_HOST)
			return 0;
		for (i = 0; i < p->n_allow; i++)
			if (p->allow_cids[i] == vm->svm_cid &&
			    vm->svm_cid != GUEST_CID_ANY)
				return 0;
		snprintf(why, whylen, "vsock peer CID %" PRIu32
		    " is not the host (add --allow-cid %" PRIu32 ")",
		    vm->svm_cid, vm->svm_cid);
		return -EPERM;
	case AF_UNIX:
		if (cred == NULL) {
			snprintf(why, whylen, "unix peer credentials unknown");
			return -EPERM;
		}
		if (cred->uid == 0 || cred->uid == p->self_uid)
			return 0;
		snprintf(why, whylen, "unix peer uid %u is neither root nor %u",
		    (unsigned)cred->uid, (unsigned)p->self_uid);
		return -EPERM;
	default:
		snprintf(why, whylen, "address family %d not served",
		    sa->sa_family);
		return -EPERM;
	}
}
