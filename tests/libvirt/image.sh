#!/bin/bash
# Builds the test VM for the libvirt tests, the demo and the topology
# suite, cached under OUT:
#   OUT/kernel/vmlinux      Debian's kernel (tests/vm/kernel.sh)
#   OUT/DIR/initrd.cpio     busybox, the modules in tests/libvirt/modules,
#                           the given binaries with their libraries, and
#                           tests/libvirt/init: a shell on the serial port,
#                           poweroff on the ACPI power button, and
#                           guest-agent started as a user would start it
#                           when it is one of the binaries
#
#   image.sh OUT [DIR [BINARY...]]      (DIR: libvirt)
set -euo pipefail
out=$1
dir=${2:-libvirt}
shift $(($# > 1 ? 2 : 1))
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../vm/lib.sh"
"$here/../vm/kernel.sh" "$out" >/dev/null
root=$out/$dir/root
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,root,etc/acpi/PWRF,lib/modules}
cp "$(command -v busybox)" "$root/bin/busybox"
# The modules the init loads, in the order it loads them (each after what
# it depends on).
cp "$here/modules" "$root/etc/modules"
while read -r m; do
	cp "$out/kernel/modules/$m.ko" "$root/lib/modules/"
done <"$here/modules"
copy_binaries "$root" "$@"
cp "$here/init" "$root/init"
chmod 755 "$root/init"
# busybox acpid runs /etc/acpi/PWRF/00000080 on the power button.
printf '#!/bin/sh\necho "acpid: power button, powering off" >/dev/ttyS0\nsync\npoweroff -f\n' \
    >"$root/etc/acpi/PWRF/00000080"
chmod 755 "$root/etc/acpi/PWRF/00000080"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
echo testvm >"$root/etc/hostname"
(cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null) \
    >"$out/$dir/initrd.cpio.tmp"
mv "$out/$dir/initrd.cpio.tmp" "$out/$dir/initrd.cpio"
