#!/bin/bash
# Builds the test VM for the libvirt tests and the demo, cached under OUT:
#   OUT/kernel/vmlinux        Debian's kernel (tests/vm/kernel.sh)
#   OUT/libvirt/initrd.cpio   busybox, the modules in tests/libvirt/modules,
#                             and tests/libvirt/init: a shell on the serial
#                             port, poweroff on the ACPI power button
#
#   image.sh OUT
set -euo pipefail
out=$1
here=$(cd "$(dirname "$0")" && pwd)
"$here/../vm/kernel.sh" "$out" >/dev/null
root=$out/libvirt/root
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,root,etc/acpi/PWRF,lib/modules}
cp "$(command -v busybox)" "$root/bin/busybox"
# The modules the init loads, in the order it loads them (each after what
# it depends on).
cp "$here/modules" "$root/etc/modules"
while read -r m; do
	cp "$out/kernel/modules/$m.ko" "$root/lib/modules/"
done <"$here/modules"
cp "$here/init" "$root/init"
chmod 755 "$root/init"
# busybox acpid runs /etc/acpi/PWRF/00000080 on the power button.
printf '#!/bin/sh\necho "acpid: power button, powering off" >/dev/ttyS0\nsync\npoweroff -f\n' \
    >"$root/etc/acpi/PWRF/00000080"
chmod 755 "$root/etc/acpi/PWRF/00000080"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
echo testvm >"$root/etc/hostname"
(cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null) \
    >"$out/libvirt/initrd.cpio.tmp"
mv "$out/libvirt/initrd.cpio.tmp" "$out/libvirt/initrd.cpio"
