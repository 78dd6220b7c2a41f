# The topology suite, run by L1's init in L1's root (the host's, under an
# overlay): a libvirtd, L2 started by guest launch with vsock, and the
# user's commands against it over real host-to-guest vsock.  GUEST,
# PTYRUN, HOLDCONN, KERNEL, L2_INITRD come from /run/topology.env.
set -u
[ -n "${GUEST_TOPOLOGY_TRACE:-}" ] && set -x
. "$(dirname "$SUITE")/../vm/expect.sh"
up() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(up)" "BEGIN { printf \"%.1f\", b - a }"; }
# section NAME: the time of the section before it goes to the summary.
section() {
	[ -n "${SECTION:-}" ] && echo "topology: $SECTION took $(since $SECTION_T) s"
	SECTION=$1
	SECTION_T=$(up)
}
T=$(mktemp -d /tmp/topology.XXXXXX)

export GUEST_INVENTORY=$T/inventory.db
guest() { "$GUEST" "$@"; }
# The user in L1: an SSH key of their own, which guest launch hands to L2,
# and a stranger's.
export HOME=$T/home
mkdir -p "$HOME/.ssh"
unset SSH_AUTH_SOCK
ssh-keygen -q -t ed25519 -N '' -C owner@l1 -f "$HOME/.ssh/id_ed25519"
ssh-keygen -q -t ed25519 -N '' -C stranger@l1 -f "$T/stranger"
finish() {
	echo "$PASSED passed, $FAILED failed"
	[ $FAILED -eq 0 ]
	exit
}

# --- L1's libvirtd, as the launch/serial issue runs it as root -----------
cat >/etc/libvirt/qemu.conf <<'CONF'
user = "root"
group = "root"
cgroup_controllers = [ ]
namespaces = [ ]
security_driver = "none"
dynamic_ownership = 0
remember_owner = 0
stdio_handler = "file"
CONF
# The privileged QEMU driver wants its user even when qemu.conf says root;
# libvirt-daemon-system would add it.  (L1's /etc is an overlay: the real
# host's is untouched.)
getent passwd libvirt-qemu >/dev/null ||
    echo 'libvirt-qemu:x:64055:64055:libvirt-qemu:/var/lib/libvirt:/usr/sbin/nologin' >>/etc/passwd
getent group libvirt-qemu >/dev/null || echo 'libvirt-qemu:x:64055:' >>/etc/group
# (/var/lock is /run/lock: console lock files.)
mkdir -p /var/lib/libvirt/qemu /var/cache/libvirt/qemu /var/log/libvirt/qemu \
    /run/libvirt /run/lock
# past DEADLINE (seconds of L1's uptime)?
late() { awk -v d="$1" -v u="$(up)" 'BEGIN { exit !(u > d) }'; }
t=$(up)
LIBVIRT_LOG_OUTPUTS="3:file:/var/log/libvirt/libvirtd.log" libvirtd -d
until virsh -q -c qemu:///system version >/dev/null 2>&1; do
	if late $((${t%.*} + 60)); then
		fail "libvirtd did not answer within 60 s"
		cat /var/log/libvirt/libvirtd.log
		finish
	fi
	sleep 0.2
done
echo "topology: libvirtd answered in $(since $t) s"


# --- L2, started by guest launch with vsock -------------------------------
# Attached in the background: L2's serial output from the first byte is
# its log, printed when something about L2 fails.
l2_log() { echo "--- L2's serial console"; tr -d '\r' <$T/l2.log; echo "---"; }
t=$(up)
sleep 100000 | guest launch "$KERNEL" --initrd "$L2_INITRD" --memory 256M \
    --cpus 1 --virtio-gpu false --default-net false --cmdline-add quiet \
    --name l2 >$T/l2.log 2>&1 &
until [ "$(virsh -q -c qemu:///system domstate l2 2>/dev/null)" = running ]; do
	if late $((${t%.*} + 90)); then
		fail "guest launch did not start L2 within 90 s"
		l2_log
		finish
	fi
	sleep 0.5
done
echo "topology: L2 running $(since $t) s after guest launch"
booted=$(up)

# While L2 boots: what a user sees then, and for a CID nobody has.
err=$(guest vsh 0 3 -- true 2>&1); rc=$?
expect_eq "a guest still booting: status" 255 "$rc"
expect_eq "a guest still booting: why" "guest: vsh: cannot connect to vsock:3:9001: no answer from CID 3 in 2000 ms (is the guest still booting, or without a vsock driver?)" \
    "$(printf '%s' "$err" | sed 's/in [0-9]* ms/in 2000 ms/')"
err=$(guest vsh 0 7 -- true 2>&1); rc=$?
expect_eq "a CID nobody has: status" 255 "$rc"
expect_eq "a CID nobody has: why" "guest: vsh: cannot connect to vsock:7:9001: no VM with CID 7 (is it running, with a vsock device?)" "$err"
out=$(guest list)
expect_in "guest list: L2 with the CID libvirt gave it" "l2" "$out"
cid=$(guest list --json | tr -d '\n' | tr '{' '\n' | sed -n 's/.*"name": "l2".*"cid": \([0-9]*\).*/\1/p')
expect_eq "guest list --json: L2's CID" 3 "$cid"
expect_eq "libvirt's XML agrees" 3 \
    "$(virsh -q -c qemu:///system dumpxml l2 | sed -n "s/.*<cid auto='yes' address='\([0-9]*\)'.*/\1/p")"

# Readiness: a booting guest answers ETIMEDOUT, then ECONNRESET until the
# agent listens.
until guest vsh 0 3 -- true 2>/dev/null; do
	if late $((${t%.*} + 600)); then
		fail "L2's agent did not answer within 600 s of guest launch"
		l2_log
		finish
	fi
	sleep 1
done
echo "topology: L2's agent answered $(since $t) s after guest launch ($(since $booted) s after L2 started)"
ts=$(up)

# --- authentication: the owner's key went in with guest launch -------------
section "auth"
expect_in "guest launch: the owner's key handed in" "the agent in l2 will trust 1 key(s) of yours" "$(cat $T/l2.log)"
expect_in "guest launch: the agent's host key pinned before L2 ran" "pinned the host key the agent in l2 will use: ssh-ed25519 SHA256:" "$(cat $T/l2.log)"
uuid=$(virsh -q -c qemu:///system domuuid l2 | sed '/^$/d')
expect_in "the agent's key is pinned by the VM's UUID" "uuid:$uuid ssh-ed25519 " "$(cat $T/known_agents)"
expect_eq "the key file went once QEMU had it" "" "$(ls $T/host-keys 2>/dev/null)"
expect_eq "a session needs no first-use pin" "" "$(guest vsh 0 3 -- true 2>&1)"
alog=$(guest vsh 0 3 -- cat /tmp/agent.log)
expect_in "L2's agent: its host key from fw_cfg" "host key from the credential guest-agent.host_key (fw_cfg)" "$alog"
expect_in "L2's agent: the key from SMBIOS type 11" "1 key(s) from the credential guest-agent.authorized_keys (SMBIOS type 11)" "$alog"
expect_in "L2's agent: the owner came in from CID 2" "accepted for root (dialled vsock:3:9001)" "$alog"
err=$(guest -i $T/stranger vsh 0 3 -- true 2>&1); rc=$?
expect_eq "a stranger's key over vsock: status" 255 $rc
expect_eq "a stranger's key over vsock: why" "guest: vsh: vsock:3:9001: agent said: denied: no key offered is trusted here (add one to /etc/guest-agent/authorized_keys in the guest)" "$err"
# Another agent in L2 (another host key: fw_cfg's hidden from it)
# answering for the same VM.
guest vsh 0 3 -- sh -c "mount -t tmpfs none /sys/firmware/qemu_fw_cfg/by_name && { setsid guest-agent --listen vsock:9002 --state-dir /tmp/other </dev/null >/dev/null 2>/tmp/agent2.log & } && until grep -q listening /tmp/agent2.log; do sleep 0.5; done; umount /sys/firmware/qemu_fw_cfg/by_name"
t=$(up)
until guest vsh 0 3 -- grep -q 'listening on vsock:9002' /tmp/agent2.log 2>/dev/null; do
	late $((${t%.*} + 60)) && break
	sleep 1
done
err=$(guest vsh 0 3 9002 -- true 2>&1); rc=$?
expect_eq "another agent for the pinned VM: status" 255 $rc
expect_in "another agent for the pinned VM: refused" "it may be an impostor; if its key changed on purpose, run: guest forget 0 l2" "$err"
# 200 idle connections from L1 do not keep a real session out.  (L2 runs
# at a few percent of this machine's speed: its agent needs seconds to
# refuse them all, so the session is timed once it has.)
"$HOLDCONN" vsock:3:9001 200 300 >$T/held 2>/dev/null &
IDLE=$!
t=$(up)
until grep -q held $T/held; do late $((${t%.*} + 120)) && break; sleep 0.2; done
held=$(sed -n 's/^held //p' $T/held)
echo "topology: $held idle connections open in $(since $t) s (the rest refused by L2's kernel, its backlog full)"
until [ "$(sed -n 's/^closed //p' $T/held | tail -1)" -ge $((held - 16)) ] 2>/dev/null; do
	late $((${t%.*} + 120)) && break
	sleep 0.5
done
echo "topology: L2's agent refused $(sed -n 's/^closed //p' $T/held | tail -1) of them in $(since $t) s"
t=$(up)
expect_eq "200 idle connections: a session gets in" ok "$(guest vsh 0 3 -- echo ok 2>&1)"
echo "topology: a session behind 200 idle connections took $(since $t) s"
kill $IDLE 2>/dev/null
wait $IDLE 2>/dev/null
refused=$(guest vsh 0 3 -- grep -c 'connections are in the handshake' /tmp/agent.log)
expect_eq "200 idle connections: all but 16 refused, each logged" yes "$([ "$refused" -ge $((held - 16)) ] && echo yes || echo "no ($refused of $held)")"

# --- guest vsh over host-to-guest vsock -----------------------------------
section "vsh"
guest vsh 0 3 -- true; expect_eq "vsh: exit 0" 0 $?
guest vsh 0 3 -- sh -c 'exit 3'; expect_eq "vsh: exit 3" 3 $?
guest vsh 0 3 -- sh -c 'kill -TERM $$'; expect_eq "vsh: SIGTERM is 143" 143 $?
guest vsh 0 3 -- no-such-cmd 2>/dev/null; expect_eq "vsh: not found is 127" 127 $?
guest vsh 0 3 -- sh -c 'echo out; echo err >&2' >$T/o 2>$T/e
expect_eq "vsh: stdout apart" out "$(cat $T/o)"
expect_eq "vsh: stderr apart" err "$(cat $T/e)"
expect_eq "vsh: stdin EOF" 2 "$(printf 'a\nb\n' | guest vsh 0 3 -- wc -l)"
# By name: the inventory's CID, and the agent's VM UUID checked against it.
expect_eq "vsh 0 l2: by name" testvm "$(guest vsh 0 l2 -- hostname)"
guest vsh 0 l2 -- sh -c 'exit 5'; expect_eq "vsh 0 l2: exit 5" 5 $?
# (256 KiB: many frames each way; a process in L2 runs at a few percent
# of its speed here.)
head -c 262144 /dev/urandom >$T/kib
want=$(sha256sum <$T/kib | cut -d' ' -f1)
expect_eq "vsh: 256 KiB out, checksum" "$want" "$(guest vsh 0 3 -- cat <$T/kib | sha256sum | cut -d' ' -f1)"
expect_eq "vsh: 256 KiB in, checksum" "$want" "$(guest vsh 0 3 -- sha256sum <$T/kib | cut -d' ' -f1)"
out=$("$PTYRUN" 33 111 "$GUEST" vsh 0 3 -t -- sh -c 'stty size; tty' | tr -d '\r')
expect_in "vsh: PTY window size" "33 111" "$out"
expect_in "vsh: PTY is a tty" "/dev/pts/" "$out"
"$PTYRUN" 24 80 "$GUEST" vsh 0 3 -- sh -c 'exit 6' >/dev/null
expect_eq "vsh: PTY shell status" 6 $?
err=$(guest vsh 0 3 4444 -- true 2>&1); rc=$?
expect_eq "a closed port: status" 255 "$rc"
expect_eq "a closed port: why" "guest: vsh: cannot connect to vsock:3:4444: nothing listening (is guest-agent running?)" "$err"

# --- the agent's default policy and the VM's identity ---------------------
section "the agent and the UUID"
alog=$(guest vsh 0 3 -- cat /tmp/agent.log)
expect_in "the agent runs with its defaults: vsock port 9001" "listening on vsock:9001" "$alog"
expect_eq "L2's SMBIOS UUID is the domain's" "$uuid" \
    "$(guest vsh 0 3 -- cat /sys/class/dmi/id/product_uuid)"
info=$(guest info 0 l2)
expect_in "guest info: the VM's UUID" "vm-uuid:   $uuid" "$info"
expect_in "guest info: hostname" "hostname:  testvm" "$info"
expect_in "guest info: L2's kernel" "kernel:    Linux $(uname -r) x86_64" "$info"

# --- guest cp both ways ---------------------------------------------------
section "cp"
head -c $((2 << 20)) /dev/urandom >$T/big
tc=$(up)
guest cp -q $T/big 3:/tmp/big; expect_eq "cp push: 2 MiB" 0 $?
echo "topology: cp push of 2 MiB took $(since $tc) s"
expect_eq "cp push: checksum in L2" "$(sha256sum <$T/big | cut -d' ' -f1)" \
    "$(guest vsh 0 3 -- sha256sum /tmp/big | cut -d' ' -f1)"
tc=$(up)
guest cp -q 0/l2:/tmp/big $T/back; expect_eq "cp pull: 2 MiB" 0 $?
echo "topology: cp pull of 2 MiB took $(since $tc) s"
expect_eq "cp pull: checksum" "$(sha256sum <$T/big)" "$(sha256sum <$T/back)"
mkdir -p $T/tree/sub $T/treeback
head -c 300000 /dev/urandom >$T/tree/data
echo small >$T/tree/sub/small
chmod 0751 $T/tree/sub/small
ln -s data $T/tree/link
guest cp -q -r -p $T/tree 3:/tmp/; expect_eq "cp -r push: a tree" 0 $?
guest cp -q -r -p 3:/tmp/tree $T/treeback; expect_eq "cp -r pull: the tree" 0 $?
expect_eq "cp -r round trip: content" "$(sha256sum <$T/tree/data)" "$(sha256sum <$T/treeback/tree/data)"
expect_eq "cp -r round trip: link" data "$(readlink $T/treeback/tree/link)"
expect_eq "cp -r round trip: mode" 751 "$(stat -c %a $T/treeback/tree/sub/small)"

# --- guest console --------------------------------------------------------
section "console"
console_log_has() {
	local i
	for i in $(seq 1 100); do
		guest console 0 3 --log 2>/dev/null | grep -q -- "$1" && return 0
		sleep 0.2
	done
	return 1
}
printf '%s\n' 'V=kept; echo "topo-$((6*7))"' | guest console 0 3
expect_eq "console: a script types a line and detaches" 0 $?
console_log_has topo-42; expect_eq "console: --log has the output" 0 $?
printf '%s\n' 'echo "v=$V"' | guest console 0 l2 --no-history
console_log_has v=kept; expect_eq "console: the same shell after a detach, and its history" 0 $?

# --- guest socat / socat-listen against socat in L2 ------------------------
section "socat"
guest vsh 0 3 -- sh -c "setsid socat VSOCK-LISTEN:7000,fork SYSTEM:'wc -c' </dev/null >/dev/null 2>&1 &"
t=$(up)
until [ "$(guest socat 0 3 7000 </dev/null 2>/dev/null | tr -d ' ')" = 0 ]; do
	late $((${t%.*} + 30)) && break
	sleep 1
done
expect_eq "guest socat 0 3 PORT -> socat VSOCK-LISTEN in L2, half-close" 262144 \
    "$(guest socat 0 3 7000 <$T/kib | tr -d ' ')"
guest socat-listen 0 7001 -v </dev/null >$T/sl.out 2>$T/sl.err &
L=$!
sleep 0.5
guest vsh 0 3 -- sh -c 'echo from-l2 | socat - VSOCK-CONNECT:2:7001'
wait $L
expect_eq "socat-listen: a connection L2 starts" from-l2 "$(cat $T/sl.out)"
expect_in "socat-listen: its peer is CID 3" "connection from vsock CID 3" "$(cat $T/sl.err)"
guest socat-listen 0 7002 --allow-cid 4 -v </dev/null >$T/al.out 2>$T/al.err &
L=$!
sleep 0.5
guest vsh 0 3 -- sh -c 'echo x | socat - VSOCK-CONNECT:2:7002' 2>/dev/null
sleep 0.5
expect_in "socat-listen --allow-cid 4 refuses CID 3" "refused vsock CID 3" "$(cat $T/al.err)"
kill $L 2>/dev/null
err=$(guest socat 0 3 7999 </dev/null 2>&1); rc=$?
expect_eq "guest socat: a closed port: status" 1 "$rc"
expect_eq "guest socat: a closed port: why" "guest: socat: cannot connect to vsock:3:7999: nothing listening" "$err"

# --- guest serial and guest stop ------------------------------------------
section "serial and stop"
out=$( (sleep 1; printf 'echo serial-$((6*7))\r'; sleep 3) | guest serial --force 0 l2 2>&1)
expect_in "guest serial --force: a command on L2's serial console" "serial-42" "$out"
out=$(guest stop 0 l2 2>&1); rc=$?
expect_eq "guest stop: status" 0 "$rc"
expect_in "guest stop: says so" "l2 shut down" "$out"
expect_eq "L2 is gone" "" "$(virsh -q -c qemu:///system list --name | sed '/^$/d')"
section ""
echo "topology: the user's commands took $(since $ts) s in all"
[ $FAILED -eq 0 ] || l2_log
finish
