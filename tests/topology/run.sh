#!/bin/bash
# The production topology (CTest label topology): this machine boots L1, a
# nested guest that plays the host, under QEMU TCG with the host's root
# shared read-only over 9p; L1 loads vhost-vsock, runs a libvirtd, and
# there `guest launch` starts L2, the guest, with a vhost-vsock device
# (CID 3) and guest-agent started by its init with its defaults.  The
# suite (tests/topology/l1-suite.sh) runs in L1 with this build's
# binaries, over real host-to-guest vsock.  No vsock on this machine.
#
#   run.sh GUEST GUEST_AGENT PTYRUN OUT [DEADLINE_SECONDS]
#
# Images are cached under OUT (OUT/kernel, OUT/topology).  L1's serial
# log is OUT/topology/l1.log (shown at the end, or as it comes with
# GUEST_VM_LIVE=1); L2's is printed by the suite when it fails.  At the
# end: one summary of what ran and how long each level took.
# By hand: GUEST_TOPOLOGY_TRACE=1 traces the suite (set -x);
# GUEST_TOPOLOGY_SHELL=1 gives a shell in L1's root on this terminal
# instead of the suite.
set -uo pipefail
guest=$(realpath "$1") agent=$(realpath "$2") ptyrun=$(realpath "$3")
out=$(realpath "$4")
limit=${5:-960}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../vm/lib.sh"
top=$out/topology
mkdir -p "$top"
t0=$(date +%s%N)
ms() { echo $(( ($(date +%s%N) - t0) / 1000000 )); }

# L2: the libvirt test VM with the agent and socat.
"$here/../libvirt/image.sh" "$out" topology/l2 "$agent" \
    "$(command -v socat)" || { echo "topology: FAIL: L2's image"; exit 1; }
# L1: busybox, its modules, its init, and where things are.
root=$top/l1
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,lib/modules,etc}
cp "$(command -v busybox)" "$root/bin/busybox"
cp "$here/l1-modules" "$root/etc/modules"
while read -r m; do
	cp "$out/kernel/modules/$m.ko" "$root/lib/modules/"
done <"$here/l1-modules"
cp "$here/l1-init" "$root/init"
chmod 755 "$root/init"
{
	printf 'export %s=%q\n' SUITE "$here/l1-suite.sh" GUEST "$guest" \
	    PTYRUN "$ptyrun" HOLDCONN "$(dirname "$ptyrun")/holdconn" \
	    KERNEL "$out/kernel/vmlinux" \
	    L2_INITRD "$top/l2/initrd.cpio" \
	    PATH /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	    HOME /root TERM dumb LANG C.UTF-8 GUEST_TOPOLOGY_TRACE "${GUEST_TOPOLOGY_TRACE:-}"
} >"$root/topology.env"
(cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null) >"$top/l1.cpio"
echo "topology: images ready in $(ms) ms"

log=$top/l1.log
serial_open "$log"
# tsc=reliable: with two TCG vCPUs L1's kernel finds the TSCs out of sync
# and falls back to the HPET, which makes every clock_gettime of L2's QEMU
# a trapped MMIO read; L2 boots in about 3/4 of the time with the TSC.
serial=(-serial "file:$log")
cmdline=
if [ "${GUEST_TOPOLOGY_SHELL:-}" = 1 ]; then
	serial=(-serial mon:stdio)
	cmdline=topology.shell
fi
t1=$(date +%s%N)
timeout --foreground --kill-after=10 "$limit" qemu-system-x86_64 -M q35 -accel tcg \
    -smp 2 -m 3072 -nodefaults -no-user-config -display none -no-reboot \
    -nic none "${serial[@]}" \
    -virtfs local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap \
    -kernel "$out/kernel/vmlinux" -initrd "$top/l1.cpio" \
    -append "console=ttyS0 quiet panic=-1 cryptomgr.notests=1 tsc=reliable $cmdline"
rc=$?
l1_ms=$(( ($(date +%s%N) - t1) / 1000000 ))
serial_close "$log"
echo "--- summary"
tr -d '\r' <"$log" | grep -E '^(topology: |[0-9]+ passed)'
echo "topology: L1 ran for $l1_ms ms; $(ms) ms in all"
vm_verdict topology $rc "$limit" "$log" TOPOLOGY-RESULT L1
