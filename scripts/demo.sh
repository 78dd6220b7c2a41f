#!/bin/sh
# Install, build and show guest's main job: commands, shells and streams
# in a machine over vsock.  Part 1 boots a small QEMU guest (the one the
# tests use, tests/vm/) and runs guest vsh, guest socat, socat-listen,
# guest console and guest cp inside it over real AF_VSOCK.  Part 2 drives a local agent on a Unix
# socket from this host.  Part 3 reaches guests by name through the
# inventory.  Part 4 launches VMs on a private libvirtd and shows their
# serial console.  This machine's own vsock is never touched.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh build vm
# The demo's packages only: no tests (cmocka is the test group's).
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGUEST_TESTS=OFF >/dev/null
cmake --build build -j "$(nproc)" >/dev/null

echo "== part 1: booting a QEMU guest (TCG, about 15 s) with guest and guest-agent inside"
tests/vm/prepare.sh build/vm build/guest build/guest-agent build/tests/ptyrun "$(command -v socat)"
GUEST_VM_LIVE=1 tests/vm/run.sh build/vm 300 demo | tr -d '\r' | grep --line-buffered -v -e '^GUEST-VM-RESULT' -e 'reboot: Restarting'
echo
echo "== part 2: a local guest-agent on a Unix socket, driven from this host"

dir=$(mktemp -d)
sock=$dir/agent.sock
build/guest-agent --listen "unix:$sock" 2>"$dir/agent.log" &
agent=$!
trap 'kill $agent 2>/dev/null; rm -rf "$dir"' EXIT INT TERM
listening() {	# bound is not enough: flag 0x10000 in /proc/net/unix
	until awk -v p="$1" '$NF == p && $4 == "00010000" { f = 1 }
	    END { exit !f }' /proc/net/unix; do sleep 0.05; done
}
listening "$sock"
G="build/guest -C unix:$sock"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }


step guest info
$G info
step guest vsh -- uname -a
$G vsh -- uname -a
step "guest vsh -- sh -c 'echo to stdout; echo to stderr >&2; exit 3'; echo status \$?"
$G vsh -- sh -c 'echo to stdout; echo to stderr >&2; exit 3' || echo "status $?"
step "printf 'a\\nb\\n' | guest vsh -- wc -l"
printf 'a\nb\n' | $G vsh -- wc -l
step "head -c 100M /dev/urandom | guest vsh -- sha256sum   (and locally)"
head -c 100000000 /dev/urandom >"$dir/blob"
$G vsh -- sha256sum <"$dir/blob"
sha256sum <"$dir/blob"
step "guest vsh -e GREETING=hello -w /tmp -- sh -c 'echo \$GREETING from \$(pwd)'"
$G vsh -e GREETING=hello -w /tmp -- sh -c 'echo $GREETING from $(pwd)'
step "guest vsh -- no-such-command; echo status \$?"
$G vsh -- no-such-command || echo "status $?"
step "guest vsh -t -- sh -c 'tty; stty size'   (a PTY in the guest)"
$G vsh -t -- sh -c 'tty; stty size' </dev/null
step "guest vsh 0 3 --dry-run   (env 0 is this host's vsock: CID 3, port 9001)"
build/guest vsh 0 3 --dry-run

echo
echo "== part 3: the inventory: guests found through libvirt, reached by name"
echo "(libvirt's in-process test driver stands in for a host's libvirtd:"
echo " tests/inventory/node.xml; each guest's agent on a Unix socket)"
export GUEST_INVENTORY="$dir/inventory.db"
cp tests/inventory/node.xml "$dir/node.xml"
build/guest-agent --listen "unix:$dir/web1.sock" \
    --vm-uuid 6695eb01-f6a4-8304-79aa-97f2502e193f 2>>"$dir/agent.log" &
agent2=$!
trap 'kill $agent $agent2 2>/dev/null; rm -rf "$dir"' EXIT INT TERM
listening "$dir/web1.sock"
step "guest env add test://$dir/node.xml --name demo --transport 'unix:$dir/%n.sock'"
build/guest env add "test://$dir/node.xml" --name demo --transport "unix:$dir/%n.sock"
step guest env list
build/guest env list
step "guest list --all"
build/guest list --all
step "guest vsh demo web1 -- sh -c 'echo hello from \$(hostname)'   (resolved from the inventory, no libvirt loaded)"
build/guest -v vsh demo web1 -- sh -c 'echo hello from $(hostname)'
step "guest vsh demo db1 -- true   (db1's socket is web1's agent: the VM UUID gives it away)"
ln -s web1.sock "$dir/db1.sock"
build/guest vsh demo db1 -- true || echo "status $?"
step "guest vsh demo off1"
build/guest vsh demo off1 || echo "status $?"
step "mv node.xml away; guest list   (libvirt unreachable: the cache, a warning, status 3)"
mv "$dir/node.xml" "$dir/node.away"
build/guest list || echo "status $?"
step "guest list --json | head -14"
build/guest list --json 2>/dev/null | head -n 14

echo
echo "== part 4: a real libvirtd: guest launch, guest serial, guest list, guest stop"
echo "(a private libvirtd as a user of its own, tests/libvirt/daemon.sh;"
echo " TCG VMs of Debian's kernel and busybox with a shell on ttyS0)"
tests/libvirt/image.sh build/vm
mkdir -p "$dir/lv" "$dir/img"
cp build/vm/kernel/vmlinux build/vm/libvirt/initrd.cpio "$dir/img/"
chmod 755 "$dir" "$dir/img"
trap 'kill $agent $agent2 2>/dev/null; tests/libvirt/daemon.sh stop "$dir/lv"; rm -rf "$dir"' EXIT INT TERM
uri=$(tests/libvirt/daemon.sh start "$dir/lv")
K="$dir/img/vmlinux --initrd $dir/img/initrd.cpio --memory 256M --virtio-vsock false"
step "guest env add '$uri' --name lab"
build/guest env add "$uri" --name lab
step "guest launch lab vmlinux --initrd initrd.cpio --memory 256M --virtio-vsock false --name web --detach"
# shellcheck disable=SC2086
build/guest launch lab $K --name web --detach
step "guest list lab   (in the inventory at once; no CID: this host has no vhost-vsock)"
build/guest list lab --cached
# (Until its shell answers on the serial port: a few seconds under TCG.)
for i in $(seq 60); do
	printf 'echo up-$((40+2))\r' | build/guest serial lab web 2>/dev/null |
	    grep -q up-42 && break
	sleep 1
done
step "printf 'uname -r; cat /proc/cmdline\\r' | guest serial lab web   (the VM's own serial port)"
printf 'uname -r; cat /proc/cmdline\r' | build/guest serial lab web | tr -d '\r'
echo
step "guest stop lab web   (the ACPI power button)"
build/guest stop lab web
step "(sleep 12; printf 'echo hello from \$(hostname); poweroff -f\\r') | guest launch lab vmlinux ... --cmdline-add quiet --name boot"
echo "(attached from the first byte: the VM waits paused until its console is open)"
# shellcheck disable=SC2086
(sleep 12; printf 'echo hello from $(hostname); poweroff -f\r') |
    build/guest launch lab $K --cmdline-add quiet --name boot | tr -d '\r'
echo
echo "(launch ended with its VM; in a terminal, ^] leaves a VM running.)"
echo
echo "For an interactive shell: build/guest -C unix:SOCKET vsh  (~. leaves a hung one)."
