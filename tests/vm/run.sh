#!/bin/bash
# Boots the nested guest prepared in OUT, under QEMU TCG, and passes or
# fails with the suite run inside it.  A boot that hangs is killed at the
# deadline and reported.
#
#   run.sh OUT [DEADLINE_SECONDS [SCRIPT]]
#
# SCRIPT names tests/vm/guest-SCRIPT.sh (default: suite).  With
# GUEST_VM_LIVE=1 the serial console is shown as it comes.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
out=$1
limit=${2:-600}
script=${3:-suite}
log=$out/serial.log
rm -f "$log"
serial_open "$log"
t0=$(date +%s%N)
timeout --kill-after=10 "$limit" qemu-system-x86_64 -M q35 -accel tcg -smp 1 \
    -m 512 -nodefaults -no-user-config -display none -no-reboot -nic none \
    -serial "file:$log" -kernel "$out/kernel/vmlinux" \
    -initrd "$out/initrd.cpio" \
    -smbios "type=11,value=io.systemd.credential:guest-agent.authorized_keys=root,,nobody $(cat "$out/keys/owner.pub")" \
    -append "console=ttyS0 quiet panic=-1 cryptomgr.notests=1 guest.run=$script"
rc=$?
t1=$(date +%s%N)
serial_close "$log"
echo "vm: guest ran for $(( (t1 - t0) / 1000000 )) ms"
vm_verdict vm $rc "$limit" "$log" GUEST-VM-RESULT "the guest"
