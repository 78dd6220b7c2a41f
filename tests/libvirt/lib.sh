# Shared by the libvirt tests: the black-box helpers, a private libvirtd
# (daemon.sh) in the test's temp dir with env "lab" pointing at it, the test
# VM's images where the daemon's QEMU reads them, and helpers to ask virsh
# and wait.  GUEST, GUEST_AGENT and VMDIR come from CTest.
. "$(dirname "${BASH_SOURCE[0]}")/../blackbox/lib.sh"
: "${VMDIR:?}"
LV=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v tmux >/dev/null || { fail "tmux is missing (scripts/deps.sh installs it)"; finish; exit; }
"$LV/image.sh" "$VMDIR" || { fail "image.sh"; finish; exit; }
mkdir -p "$T/lv" "$T/img"
TM="tmux -L guest-libvirt-$$ -f /dev/null"
lv_cleanup() {
	[ -n "${LV_DONE:-}" ] && return
	LV_DONE=1
	$TM kill-server 2>/dev/null
	"$LV/daemon.sh" stop "$T/lv"
}
# The daemon and its VMs go before the black-box finish removes $T (where
# daemon.sh keeps the daemon's uid).
eval "bb_$(declare -f finish)"
finish() {
	lv_cleanup
	bb_finish
}
trap lv_cleanup EXIT
trap 'lv_cleanup; rm -rf "$T"; exit 1' INT TERM
URI=$("$LV/daemon.sh" start "$T/lv") || { fail "libvirtd did not start"; finish; exit; }
pass "a private libvirtd answers at $URI"
# The daemon's QEMU runs as the daemon's user: the images where it reads.
cp "$VMDIR/kernel/vmlinux" "$VMDIR/libvirt/initrd.cpio" "$T/img/"
chmod 755 "$T/img"
chmod 644 "$T/img/"*
K="$T/img/vmlinux"
I="$T/img/initrd.cpio"
SMALL=(--memory 256M --cpus 1 --virtio-vsock false --virtio-gpu false
    --default-net false)
"$GUEST" env add "$URI" --name lab >/dev/null

virsh_() { virsh -q -c "$URI" "$@" 2>/dev/null; }
doms() { virsh_ list --all --name | sed '/^$/d' | sort | tr '\n' ' '; }
state() { virsh_ domstate "$1" | sed '/^$/d'; }
screen() { $TM capture-pane -p -t "$1" -S -200 2>/dev/null; }
# wait_screen SESSION PATTERN [SECONDS]: until the pane shows it.
wait_screen() {
	local i
	for i in $(seq 1 $((${3:-60} * 10))); do
		screen "$1" | grep -q -- "$2" && return 0
		sleep 0.1
	done
	return 1
}
# wait_file FILE [SECONDS]: until it has something in it.
wait_file() {
	local i
	for i in $(seq 1 $((${2:-60} * 10))); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
# The shell on the VM's serial port answers (a few seconds under TCG).
wait_shell() {
	local i out
	for i in $(seq 1 60); do
		out=$(printf 'echo ready-$((40+2))\r' |
		    "$GUEST" serial lab "$1" --idle 1 2>/dev/null)
		case $out in *ready-42*) return 0 ;; esac
		sleep 1
	done
	return 1
}
# one_line DESC WANT-STATUS NEEDLE COMMAND...: fails with one line.
one_line() {
	local desc=$1 want=$2 needle=$3 out rc
	shift 3
	out=$("$@" 2>&1 </dev/null); rc=$?
	expect_eq "$desc: status" "$want" "$rc"
	expect_in "$desc: says why" "$needle" "$out"
	expect_eq "$desc: one line" 1 "$(printf '%s\n' "$out" | grep -c .)"
}
