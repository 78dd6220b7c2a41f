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
. "$here/lib.sh"

"$here/kernel.sh" "$out"

root=$out/root
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,run,root,etc,lib/modules,test}
cp "$(command -v busybox)" "$root/bin/busybox"
for m in vsock vmw_vsock_virtio_transport_common vsock_loopback; do
	cp "$out/kernel/modules/$m.ko" "$root/lib/modules/"
done

copy_binaries "$root" "$@"

# Keys: the owner's (the client's default key, and trusted by the agent
# through the SMBIOS credential run.sh hands in) and a stranger's.
mkdir -p "$out/keys" "$root/root/.ssh"
for k in owner stranger; do
	[ -f "$out/keys/$k" ] || ssh-keygen -q -t ed25519 -N '' -C "$k@vm-test" -f "$out/keys/$k"
done
cp "$out/keys/owner" "$root/root/.ssh/id_ed25519"
cp "$out/keys/owner.pub" "$root/root/.ssh/id_ed25519.pub"
cp "$out/keys/stranger" "$out/keys/stranger.pub" "$root/test/"

cp "$here/init" "$root/init"
chmod 755 "$root/init"
cp "$here"/guest-*.sh "$here/expect.sh" "$root/test/"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
echo guestvm >"$root/etc/hostname"

(cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null) >"$out/initrd.cpio"
