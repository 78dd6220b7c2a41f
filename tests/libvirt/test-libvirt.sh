# guest launch, serial, stop and list against a real libvirtd (a private
# one, tests/libvirt/daemon.sh) and real TCG VMs (tests/libvirt/image.sh):
# launch attached and detached, boot output from the first byte, a command
# typed through guest serial in tmux, detach and re-attach, the refusal and
# --force, stop, force-stop and the deadline, and bad input with one clear
# line and the VM list unchanged.
. "$(dirname "$0")/lib.sh"
# A raw disk whose boot sector writes a line to the serial port (COM1,
# 0x3f8) and halts: printed once, a few ms after start.
{
	printf '\x31\xc0\x8e\xd8\xba\xf8\x03\xbe\x16\x7c\xac\x84\xc0\x74\x03'
	printf '\xee\xeb\xf8\xfa\xf4\xeb\xfdraw-disk-boot-ok\r\n\0'
} >"$T/img/boot.raw"
truncate -s 510 "$T/img/boot.raw"
printf '\x55\xaa' >>"$T/img/boot.raw"
truncate -s 1M "$T/img/boot.raw"
# (QEMU opens a disk read-write.)
chown "$(cat "$T/lv/uid")" "$T/img/boot.raw"
expect_eq "list of an empty daemon" "env:0 (lab) $URI" \
    "$("$GUEST" list lab --all)"

# --- bad input: one line, the VM list unchanged --------------------------
before=$(doms)
one_line "missing image" 255 "$T/nope: No such file or directory" \
    "$GUEST" launch lab "$T/nope" "${SMALL[@]}"
mkdir -p "$T/nobody"
chown 65534 "$T/nobody"
cp "$K" "$T/img/secret"
chmod 600 "$T/img/secret"
# (A copy of guest that nobody may run, wherever the build tree is.)
cp "$GUEST" "$T/nobody/guest"
chmod 755 "$T/nobody" "$T/nobody/guest"
one_line "unreadable image" 255 "secret: Permission denied" \
    setpriv --reuid 65534 --regid 65534 --clear-groups \
    env GUEST_INVENTORY="$T/nobody/inv.db" "$T/nobody/guest" launch "$T/img/secret"
rm -f "$T/img/secret"
: >"$T/img/empty"
one_line "empty image" 255 "empty file" "$GUEST" launch lab "$T/img/empty"
echo "hello" >"$T/img/text"
one_line "not an image" 255 "not a kernel (ELF, bzImage), a disk image" \
    "$GUEST" launch lab "$T/img/text"
one_line "bad size" 2 "--memory 12Q: expected bytes or a size" \
    "$GUEST" launch lab "$K" --memory 12Q
one_line "too little memory" 2 "at least 16M" \
    "$GUEST" launch lab "$K" --memory 1M
one_line "bad CPU count" 2 "--cpus 0: expected 1 to 1024" \
    "$GUEST" launch lab "$K" --cpus 0
one_line "bad boolean" 2 "--virtio-gpu maybe: expected true or false" \
    "$GUEST" launch lab "$K" --virtio-gpu maybe
one_line "no vhost-vsock on this host" 255 \
    "no vsock device; launch with --virtio-vsock false to do without" \
    "$GUEST" launch lab "$K" --initrd "$I" --memory 256M
one_line "no virtio sound in this libvirt" 255 "launch with --virtio-sound false" \
    "$GUEST" launch lab "$K" "${SMALL[@]}" --virtio-sound true
one_line "sound input without sound" 255 "needs --virtio-sound true" \
    "$GUEST" launch lab "$K" "${SMALL[@]}" --virtio-sound-input true
one_line "a disk with --initrd" 255 "--initrd and --cmdline-add go with a kernel" \
    "$GUEST" launch lab "$T/img/boot.raw" --initrd "$I"
cat >"$T/img/dom.xml" <<XML
<domain type='qemu'>
  <name>fromxml</name>
  <memory unit='MiB'>128</memory>
  <os><type machine='q35'>hvm</type><kernel>$K</kernel>
    <initrd>$I</initrd><cmdline>console=ttyS0</cmdline></os>
  <devices><serial type='pty'/><console type='pty'/>
    <memballoon model='none'/></devices>
</domain>
XML
one_line "XML with shaping options" 255 "options that shape the VM do not go with it" \
    "$GUEST" launch lab "$T/img/dom.xml" --memory 1G
"$GUEST" env add "qemu+unix:///session?socket=$T/no-daemon.sock" --name dead >/dev/null
one_line "daemon unreachable: launch" 255 "cannot reach qemu+unix:///session?socket=$T/no-daemon.sock" \
    "$GUEST" launch dead "$K" "${SMALL[@]}"
one_line "daemon unreachable: serial" 255 "libvirt cannot tell more: cannot reach" \
    "$GUEST" serial dead vm1
one_line "unknown guest" 255 "no guest 'nosuch' in env 0" \
    "$GUEST" serial lab nosuch
one_line "stop: unknown guest" 255 "no guest 'nosuch' in env 0" \
    "$GUEST" stop lab nosuch
one_line "serial with -C" 2 "-C does not go with serial" \
    "$GUEST" -C unix:/x serial lab vm1
one_line "stop: bad timeout" 2 "--timeout 0: expected seconds" \
    "$GUEST" stop lab vm1 --timeout 0
expect_eq "bad input left the VM list as it was" "$before" "$(doms)"

# --- launch --detach: name, UUID, CID; in the inventory at once -----------
out=$("$GUEST" launch lab "$K" --initrd "$I" "${SMALL[@]}" --detach \
    --cmdline-add testvm.marker=7 2>&1); rc=$?
expect_eq "launch --detach: status" 0 "$rc"
expect_in "launch --detach: the name from the file" "name: vmlinux" "$out"
uuid=$(printf '%s\n' "$out" | awk '/^uuid:/ { print $2 }')
expect_eq "launch --detach: the UUID is libvirt's" "$(virsh_ domuuid vmlinux | sed '/^$/d')" "$uuid"
expect_in "launch --detach: no CID without vhost-vsock" "cid:  -" "$out"
expect_eq "it runs" running "$(state vmlinux)"
expect_in "in the inventory at once (list --cached)" "vmlinux  running" \
    "$("$GUEST" list lab --cached)"
virsh_ dumpxml vmlinux >"$T/vmlinux.xml"
expect_in "the kernel command line has --cmdline-add" \
    "console=ttyS0 testvm.marker=7" "$(cat "$T/vmlinux.xml")"
expect_in "TCG where there is no KVM" "type='qemu'" "$(head -1 "$T/vmlinux.xml")"
expect_in "256M asked, 256M given" "<memory unit='KiB'>262144</memory>" \
    "$(cat "$T/vmlinux.xml")"
expect_in "Fuchsia's default: a virtio console" "type='virtio'" \
    "$(grep -A2 '<console' "$T/vmlinux.xml")"
expect_in "Fuchsia's default: a balloon with stats" "stats period='5'" \
    "$(cat "$T/vmlinux.xml")"
expect_in "Fuchsia's default: an RNG" "<rng model='virtio'>" \
    "$(cat "$T/vmlinux.xml")"
out=$("$GUEST" launch lab "$K" --initrd "$I" "${SMALL[@]}" --detach 2>&1)
expect_in "a taken default name gets -2" "name: vmlinux-2" "$out"
before=$(doms)
one_line "--name taken" 255 "a VM named 'vmlinux' exists already" \
    "$GUEST" launch lab "$K" --initrd "$I" "${SMALL[@]}" --name vmlinux
expect_eq "name taken: the VM list as it was" "$before" "$(doms)"

# --- guest serial with pipes ---------------------------------------------
check "the serial shell answers a piped command" wait_shell vmlinux
out=$(printf 'cat /proc/cmdline\r' | "$GUEST" serial lab vmlinux)
expect_in "serial: the command's output comes back" "testvm.marker=7" "$out"
out=$(printf 'cat /sys/class/tty/hvc0/dev\r' | "$GUEST" serial lab vmlinux)
expect_in "the virtio console is hvc0 in the guest" "229:0" "$out"
one_line "an unknown device lists the real ones" 255 \
    "vmlinux has no console device 'nope' (it has: serial0, console1)" \
    "$GUEST" serial lab vmlinux --device nope
out=$(printf 'echo by-uuid\r' | "$GUEST" serial lab "$uuid")
expect_in "serial: a UUID names the VM" "by-uuid" "$out"

# --- launch attached in tmux: from the first byte, typing, ^], re-attach --
$TM new-session -d -s L -x 120 -y 40 \
    "env TERM=screen '$GUEST' launch lab '$T/img/boot.raw' ${SMALL[*]} --name rawboot; echo \"rc=\$?\" >'$T/rc.L'; sleep 600"
check "launch attached: a disk image boots, its first serial line shown" \
    wait_screen L "raw-disk-boot-ok"
check "launch attached: says how to detach" wait_screen L "(^] detaches)"
expect_eq "the raw disk runs" running "$(state rawboot)"
$TM send-keys -t L C-]
check "^] detaches launch" wait_file "$T/rc.L" 20
expect_eq "launch: status after ^]" "rc=0" "$(cat "$T/rc.L")"
check "launch: says the VM keeps running" wait_screen L "rawboot keeps running"
expect_eq "after ^] the VM runs on" running "$(state rawboot)"

$TM new-session -d -s A -x 120 -y 40 \
    "env TERM=screen '$GUEST' launch lab '$K' --initrd '$I' ${SMALL[*]} --name att; echo \"rc=\$?\" >'$T/rc.A'; sleep 600"
check "launch attached: the kernel's messages" wait_screen A "Linux version"
check "launch attached: the guest's init" wait_screen A "testvm: up"
check "launch attached: its shell" wait_screen A "/ #"
$TM send-keys -t A 'echo typed-$((6*7))' Enter
check "a command typed in the console runs" wait_screen A "^typed-42"
$TM send-keys -t A C-]
check "^] detaches" wait_file "$T/rc.A" 20
rm -f "$T/rc.A"
$TM respawn-window -k -t A \
    "env TERM=screen LIBVIRT_LOG_FILTERS='1:rpc.netclientstream 1:remote' LIBVIRT_LOG_OUTPUTS='1:file:$T/client-A.log' '$GUEST' serial lab att; echo \"rc=\$?\" >'$T/rc.A'; stty -a | grep -o -- '-\\?icanon' >'$T/stty.A'; sleep 600"
check "serial re-attaches" wait_screen A "connected to att's console"
$TM send-keys -t A 'echo again-$((6*7))' Enter
check "typing after re-attach" wait_screen A "^again-42"
err=$("$GUEST" serial lab att 2>&1 </dev/null); rc=$?
expect_eq "a second client is refused: status" 1 "$rc"
expect_in "a second client is refused: why" \
    "att's console is held by another client" "$err"
# (libvirt hands a taken console over asynchronously: output in the first
# moment may still reach the old client, so the line waits a second.)
out=$( (sleep 1; printf 'echo forced-$((6*7))\r') | "$GUEST" serial --force lab att 2>&1)
expect_in "--force takes the console" "forced-42" "$out"
if wait_file "$T/rc.A" 20; then
	pass "the client that had it ends"
else
	# (What each side of the stream did, should it come back.)
	fail "the client that had it ends"
	echo "--- the daemon's streams"; grep -E 'stream|chrdev' "$T/lv/log" | tail -n 60
	echo "--- the old client's"; tail -n 60 "$T/client-A.log"
	pid=$(pgrep -f "serial lab att$" | head -n 1)
	[ -n "$pid" ] && echo "--- its threads: $(cat /proc/$pid/task/*/wchan 2>/dev/null | tr '\0' ' ')"
fi
expect_eq "the client that had it: status" "rc=1" "$(cat "$T/rc.A")"
wait_file "$T/stty.A" 5
expect_eq "the terminal is restored after a taken console (icanon)" icanon "$(cat "$T/stty.A")"
check "the client that had it says why" wait_screen A "taken over by another client"
# Taken over again and again, each time just after the old client typed a
# line: it learns of it the moment the daemon drops its stream, and asks
# nothing of the daemon then (libvirtd 9.0 loses a call that reaches it
# while it removes the stream: an old client that asked at once waited for
# ever, at the sixth take here).  The old client logs its RPC as when that
# was found (the timing it makes is part of what showed it), and the log
# is shown if one does not end.
takes=0
for i in 1 2 3 4 5 6 7 8; do
	rm -f "$T/rc.A" "$T/old.err"
	$TM respawn-window -k -t A \
	    "env TERM=screen LIBVIRT_LOG_FILTERS='1:rpc.netclient 1:rpc.netclientstream 1:remote' LIBVIRT_LOG_OUTPUTS='1:file:$T/client-take.log' '$GUEST' serial lab att 2>'$T/old.err'; echo \"rc=\$?\" >'$T/rc.A'; sleep 600"
	for w in $(seq 1 300); do
		grep -q "connected to att's console" "$T/old.err" 2>/dev/null &&
		    break
		sleep 0.1
	done
	$TM send-keys -t A "echo take-$i" Enter
	(sleep 1; printf 'echo new-%d\r' "$i") |
	    "$GUEST" serial --force lab att >/dev/null 2>&1
	if wait_file "$T/rc.A" 20 && [ "$(cat "$T/rc.A")" = rc=1 ] &&
	    grep -q "taken over by another client" "$T/old.err"; then
		takes=$((takes + 1))
	else
		echo "take $i: $(cat "$T/rc.A" 2>/dev/null) $(cat "$T/old.err")"
		tail -n 30 "$T/client-take.log"
	fi
done
expect_eq "taken over 8 times: each old client ends, status 1, says why" 8 "$takes"

# --- stop -----------------------------------------------------------------
rm -f "$T/rc.A"
$TM respawn-window -k -t A \
    "env TERM=screen '$GUEST' serial lab att; echo \"rc=\$?\" >'$T/rc.A'; sleep 600"
check "attached again before the stop" wait_screen A "connected to att's console"
out=$("$GUEST" stop lab att 2>&1); rc=$?
expect_eq "stop: status" 0 "$rc"
expect_in "stop: says so" "att shut down" "$out"
check "the attached console ends when the VM stops" wait_file "$T/rc.A" 20
expect_eq "the attached console: status" "rc=0" "$(cat "$T/rc.A")"
check "the guest powered off by its power button" wait_screen A "reboot: Power down"
expect_eq "a transient VM is gone after stop" "" "$(state att)"
case " $("$GUEST" list lab --cached) " in
*" att "*) fail "the stopped VM left the inventory's running list" ;;
*) pass "the stopped VM left the inventory's running list" ;;
esac

"$GUEST" launch lab "$K" --initrd "$I" "${SMALL[@]}" --name keep \
    --persistent --detach >/dev/null
check "persistent VM boots" wait_shell keep
"$GUEST" stop lab keep >/dev/null 2>&1
expect_eq "a persistent VM stays defined, shut off" "shut off" "$(state keep)"
check "guest list --all shows it shut off" grep -Eq "keep +shut off" \
    <<<"$("$GUEST" list lab --all)"
one_line "serial of a VM that is not running" 255 "keep is shut off (env 0)" \
    "$GUEST" serial lab keep
one_line "stop of a VM that is not running" 255 "keep is shut off (env 0)" \
    "$GUEST" stop lab keep

"$GUEST" launch lab "$K" --initrd "$I" "${SMALL[@]}" --name deaf \
    --cmdline-add testvm.noacpid --detach >/dev/null
check "a guest that ignores the button boots" wait_shell deaf
out=$("$GUEST" stop lab deaf --timeout 2 2>&1); rc=$?
expect_eq "stop past its deadline: status" 1 "$rc"
expect_in "stop past its deadline: says so" \
    "deaf did not shut down within 2 s" "$out"
expect_eq "past the deadline it still runs" running "$(state deaf)"
out=$("$GUEST" stop lab deaf --force 2>&1); rc=$?
expect_eq "stop --force: status" 0 "$rc"
expect_in "stop --force: says so" "deaf destroyed" "$out"
expect_eq "stop --force: gone" "" "$(state deaf)"

# --- a domain XML file, and launch ending with its VM -------------------
out=$("$GUEST" launch lab "$T/img/dom.xml" --detach 2>&1)
expect_in "launch from a domain XML file" "name: fromxml" "$out"
expect_eq "the XML's VM runs" running "$(state fromxml)"
"$GUEST" stop --force lab fromxml >/dev/null 2>&1
rm -f "$T/rc.A"
$TM respawn-window -k -t A \
    "env TERM=screen '$GUEST' launch lab '$K' --initrd '$I' ${SMALL[*]} --name ends; echo \"rc=\$?\" >'$T/rc.A'; sleep 600"
check "launch attached again" wait_screen A "testvm: up"
"$GUEST" stop lab ends >/dev/null 2>&1
check "launch ends when its VM stops" wait_file "$T/rc.A" 30
expect_eq "launch: status when the VM stopped" "rc=0" "$(cat "$T/rc.A")"

# --- guest list against the real daemon ---------------------------------
out=$("$GUEST" list lab --all)
check "list: a running VM, no CID" grep -Eq -- "^ +- +vmlinux +running" <<<"$out"
check "list: a shut-off persistent VM" grep -Eq -- "keep +shut off" <<<"$out"
out=$("$GUEST" list lab --all --json)
expect_in "list --json: the VM's UUID" "\"uuid\": \"$uuid\"" "$out"
# The same names and states as virsh, through guest's own reading of the
# daemon's protocol: a steady refresh loads no libvirt library at all.
want=$(virsh_ list --all | awk 'NF >= 3 { $1 = ""; print }' | sed 's/^ //' |
    awk '{ n = $1; $1 = ""; sub(/^ /, ""); print n " " $0 }' | sort)
got=$("$GUEST" list lab --all | awk 'NR > 1 { $1 = ""; print }' | sed 's/^ //' |
    awk '{ n = $1; $1 = ""; sub(/^ /, ""); print n " " $0 }' | sort)
expect_eq "list: the domains and states virsh shows" "$want" "$got"
loaded=$(LD_DEBUG=files "$GUEST" list lab --all 2>&1 >/dev/null | grep -c 'file=.*libvirt.so')
expect_eq "a steady refresh of a local daemon does not load libvirt" 0 "$loaded"
"$GUEST" launch lab "$K" --initrd "$I" "${SMALL[@]}" --name fresh --detach >/dev/null
err=$("$GUEST" -v list lab 2>&1 >"$T/out")
expect_in "list after a start: already refreshed by launch" "XML fetched for 0" "$err"
expect_in "list after a start: the new VM" "fresh" "$(cat "$T/out")"
rm -f "$GUEST_INVENTORY" "$GUEST_INVENTORY-wal" "$GUEST_INVENTORY-shm"
# (env add refreshes at once.)
loaded=$(LD_DEBUG=files "$GUEST" env add "$URI" --name lab 2>&1 | grep -c 'file=.*libvirt.so')
check "a first refresh with running VMs loads libvirt for their XML" test "$loaded" -gt 0
"$GUEST" stop --force lab fresh >/dev/null 2>&1

# --- the harness: a hung daemon is killed by the deadline and reported ----
uid=$(cat "$T/lv/uid")
pkill -STOP -U "$uid" libvirtd
err=$("$LV/daemon.sh" stop "$T/lv" 2>&1)
expect_in "a hung daemon is killed and reported" "killing what uid $uid left running" "$err"
check "nothing of the daemon's user is left" test -z "$(pgrep -U "$uid")"
finish
