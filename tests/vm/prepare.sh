#!/bin/bash
# Builds the nested test guest, cached under OUT:
#   OUT/kernel/vmlinux   Debian's kernel as a bare ELF (QEMU boots it by its
#                        PVH note, skipping the bzImage's slow self-unpacking)
#   OUT/initrd.cpio      busybox, the vsock modules, the given binaries with
#                        their libraries, tests/vm/init and the test scripts
#
#   prepare.sh OUT BINARY...
set -euo pipefail
out=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out/kernel"

if [ ! -s "$out/kernel/vmlinux" ]; then
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
	[ -n "$pkg" ] || { echo "prepare: cannot resolve linux-image-amd64" >&2; exit 1; }
	rm -f "$out/kernel/"*.deb
	(cd "$out/kernel" && apt-get download "$pkg" 2>/dev/null)
	dpkg-deb --fsys-tarfile "$out/kernel/$pkg"_*.deb |
	    tar x -C "$out/kernel" --wildcards './boot/vmlinuz-*' \
	    './lib/modules/*/kernel/net/vmw_vsock/vsock.ko' \
	    './lib/modules/*/kernel/net/vmw_vsock/vmw_vsock_virtio_transport_common.ko' \
	    './lib/modules/*/kernel/net/vmw_vsock/vsock_loopback.ko'
	rm -f "$out/kernel/"*.deb
	vmlinuz=$(ls "$out/kernel/boot/"vmlinuz-*)
	off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" | head -n 1 | cut -d: -f1)
	# xz complains about the bytes after its stream; the stream is whole.
	tail -c +$((off + 1)) "$vmlinuz" | xz -dc >"$out/kernel/vmlinux.tmp" 2>/dev/null || true
	file -b "$out/kernel/vmlinux.tmp" | grep -q '^ELF 64-bit' ||
	    { echo "prepare: no ELF vmlinux in $vmlinuz" >&2; exit 1; }
	mv "$out/kernel/vmlinux.tmp" "$out/kernel/vmlinux"
fi

root=$out/root
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,run,root,etc,lib/modules,test}
cp "$(command -v busybox)" "$root/bin/busybox"
for m in vsock vmw_vsock_virtio_transport_common vsock_loopback; do
	cp "$out/kernel/lib/modules/"*/kernel/net/vmw_vsock/$m.ko "$root/lib/modules/"
done

# Binaries with what ldd says they load, at the same paths.
for b in "$@"; do
	cp "$b" "$root/bin/"
	for lib in $(ldd "$b" 2>/dev/null | grep -o '/[^ ]*'); do
		[ -e "$root$lib" ] || cp --parents -L "$lib" "$root"
	done
done

cp "$here/init" "$root/init"
chmod 755 "$root/init"
cp "$here"/guest-*.sh "$root/test/"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
echo guestvm >"$root/etc/hostname"

(cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null) >"$out/initrd.cpio"
