#!/bin/bash
# Fetches Debian's kernel once, cached under OUT/kernel:
#   OUT/kernel/vmlinux     the bare ELF (QEMU boots it by its PVH note,
#                          skipping the bzImage's slow self-unpacking)
#   OUT/kernel/modules/    the few modules the test guests load: vsock,
#                          virtio (PCI, console, balloon, rng), the ACPI
#                          power button, and for a guest that is itself a
#                          host (tests/topology) vhost-vsock, 9p and
#                          overlayfs; flat, by name
#
#   kernel.sh OUT
set -euo pipefail
out=$1/kernel
# Bump when the set of modules changes: the cache is then made anew.
want=5
[ -s "$out/vmlinux" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$want" ] &&
    exit 0
rm -rf "$out"
mkdir -p "$out/modules"
# The package linux-image-amd64 points at; no ABI number hard-coded.
resolve() {
	apt-cache depends linux-image-amd64 2>/dev/null |
	    awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}
pkg=$(resolve)
if [ -z "$pkg" ]; then	# no package lists yet on this machine
	apt-get update -qq
	pkg=$(resolve)
fi
[ -n "$pkg" ] || { echo "kernel: cannot resolve linux-image-amd64" >&2; exit 1; }
(cd "$out" && apt-get download "$pkg" 2>/dev/null)
dpkg-deb --fsys-tarfile "$out/$pkg"_*.deb | tar x -C "$out" --wildcards \
    './boot/vmlinuz-*' \
    './lib/modules/*/kernel/net/vmw_vsock/vsock.ko' \
    './lib/modules/*/kernel/net/vmw_vsock/vmw_vsock_virtio_transport_common.ko' \
    './lib/modules/*/kernel/net/vmw_vsock/vmw_vsock_virtio_transport.ko' \
    './lib/modules/*/kernel/net/vmw_vsock/vsock_loopback.ko' \
    './lib/modules/*/kernel/drivers/virtio/*.ko' \
    './lib/modules/*/kernel/drivers/char/virtio_console.ko' \
    './lib/modules/*/kernel/drivers/char/hw_random/virtio-rng.ko' \
    './lib/modules/*/kernel/drivers/acpi/button.ko' \
    './lib/modules/*/kernel/drivers/input/evdev.ko' \
    './lib/modules/*/kernel/drivers/vhost/vhost.ko' \
    './lib/modules/*/kernel/drivers/vhost/vhost_iotlb.ko' \
    './lib/modules/*/kernel/drivers/vhost/vhost_vsock.ko' \
    './lib/modules/*/kernel/fs/9p/9p.ko' \
    './lib/modules/*/kernel/net/9p/9pnet.ko' \
    './lib/modules/*/kernel/net/9p/9pnet_virtio.ko' \
    './lib/modules/*/kernel/fs/netfs/netfs.ko' \
    './lib/modules/*/kernel/fs/fscache/fscache.ko' \
    './lib/modules/*/kernel/fs/overlayfs/overlay.ko' \
    './lib/modules/*/kernel/drivers/firmware/qemu_fw_cfg.ko'
rm -f "$out/"*.deb
find "$out/lib/modules" -name '*.ko' -exec mv {} "$out/modules/" \;
rm -rf "$out/lib"
vmlinuz=$(ls "$out/boot/"vmlinuz-*)
off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" | head -n 1 | cut -d: -f1)
# xz complains about the bytes after its stream; the stream is whole.
tail -c +$((off + 1)) "$vmlinuz" | xz -dc >"$out/vmlinux.tmp" 2>/dev/null || true
file -b "$out/vmlinux.tmp" | grep -q '^ELF 64-bit' ||
    { echo "kernel: no ELF vmlinux in $vmlinuz" >&2; exit 1; }
mv "$out/vmlinux.tmp" "$out/vmlinux"
rm -rf "$out/boot"
echo "$want" >"$out/stamp"
