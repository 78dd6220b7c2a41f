# The vsock suite, run by /init inside the nested guest (busybox sh) over
# real AF_VSOCK with the loopback transport: the agent listens on vsock
# port 9001 and accepts CID 1; guest dials vsock:1:9001 both with -C and
# with the positional "vsh 0 1".
set -u
. /test/expect.sh

guest-agent --listen vsock:9001 --allow-cid 1 -v 2>/tmp/agent.log &
AGENT=$!
i=0
while [ $i -lt 100 ] && ! guest -C vsock:1:9001 vsh -- true 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
expect_in "agent says its local CID" "listening on vsock:9001 (local CID" "$(cat /tmp/agent.log)"

for form in "-C vsock:1:9001 vsh" "vsh 0 1"; do
	name="[$form]"
	guest $form -- true; expect_eq "$name exit 0" 0 $?
	guest $form -- sh -c 'exit 3'; expect_eq "$name exit 3" 3 $?
	guest $form -- sh -c 'kill -TERM $$'; expect_eq "$name SIGTERM is 143" 143 $?
	guest $form -- no-such-cmd 2>/dev/null; expect_eq "$name not found is 127" 127 $?
	guest $form -- sh -c 'echo out; echo err >&2' >/tmp/o 2>/tmp/e
	expect_eq "$name stdout apart" out "$(cat /tmp/o)"
	expect_eq "$name stderr apart" err "$(cat /tmp/e)"
	expect_eq "$name stdin EOF" 2 "$(printf 'a\nb\n' | guest $form -- wc -l)"
	head -c 1048576 /dev/urandom >/tmp/big
	want=$(sha256sum </tmp/big | cut -d' ' -f1)
	expect_eq "$name 1 MiB out, checksum" "$want" "$(guest $form -- cat /tmp/big | sha256sum | cut -d' ' -f1)"
	expect_eq "$name 1 MiB in, checksum" "$want" "$(guest $form -- sha256sum </tmp/big | cut -d' ' -f1)"
	out=$(ptyrun 33 111 guest $form -t -- sh -c 'stty size; tty' | tr -d '\r')
	expect_in "$name PTY window size" "33 111" "$out"
	expect_in "$name PTY is a tty" "/dev/pts/" "$out"
	ptyrun 24 80 guest $form -- sh -c 'exit 6' >/dev/null; expect_eq "$name PTY shell status" 6 $?
done

# guest cp over vsock: a tree in and back out, a file both ways.
mkdir -p /tmp/cps/sub /tmp/cpd /tmp/cpb
head -c 700000 /dev/urandom >/tmp/cps/big
echo small >/tmp/cps/sub/small
ln -s big /tmp/cps/link
chmod 0751 /tmp/cps/sub/small
guest cp -q -r -p /tmp/cps 1:/tmp/cpd; expect_eq "cp push -r over vsock" 0 $?
guest cp -q -r -p 0/1:/tmp/cpd/cps /tmp/cpb; expect_eq "cp pull -r over vsock" 0 $?
expect_eq "cp round trip: content" "$(sha256sum </tmp/cps/big)" "$(sha256sum </tmp/cpb/cps/big)"
expect_eq "cp round trip: link" big "$(readlink /tmp/cpb/cps/link)"
expect_eq "cp round trip: mode" 751 "$(stat -c %a /tmp/cpb/cps/sub/small)"
expect_eq "cp -C vsock: to stdout" small "$(guest -C vsock:1:9001 cp :/tmp/cps/sub/small -)"
out=$(guest cp -q /tmp/cps/big 1:/nonexistent/x 2>&1); expect_eq "cp to a missing dir: 1" 1 $?
expect_in "cp to a missing dir: explained" "no such directory" "$out"

# guest console over vsock: what was printed with nobody attached, the
# same shell after a detach, the keyboard lock, a restart after exit.
console_log_has() {
	i=0
	while [ $i -lt 100 ]; do
		guest console 0 1 --log 2>/dev/null | grep -q -- "$1" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
printf '%s\n' 'V=kept; echo "vm-$((6*7))"' | guest console 0 1
expect_eq "console: a script types a line and detaches" 0 $?
console_log_has vm-42; expect_eq "console: --log has the output" 0 $?
printf '%s\n' 'echo "v=$V"' | guest -C vsock:1:9001 console --no-history
console_log_has v=kept; expect_eq "console: reattached to the same shell" 0 $?
sleep 30 | guest console 0 1 --no-history 2>/dev/null &
HOLDER=$!
sleep 1
out=$(guest console 0 1 </dev/null 2>&1); rc=$?
expect_eq "console: a second writer exits 1" 1 $rc
expect_in "console: the refusal names the holder" "in use by" "$out"
kill $HOLDER 2>/dev/null
wait $HOLDER 2>/dev/null
printf '%s\n' 'echo $$ >/tmp/con1; exit' | guest console 0 1 --no-history
sleep 1
printf '%s\n' 'echo $$ >/tmp/con2' | guest console 0 1 --no-history
i=0; while [ $i -lt 50 ] && [ ! -s /tmp/con2 ]; do sleep 0.1; i=$((i + 1)); done
if [ -s /tmp/con1 ] && [ -s /tmp/con2 ] && [ "$(cat /tmp/con1)" != "$(cat /tmp/con2)" ]; then
	pass "console: a new shell after exit"
else
	fail "console: a new shell after exit: [$(cat /tmp/con1 2>/dev/null)] [$(cat /tmp/con2 2>/dev/null)]"
fi

# Many sessions at once.
i=0
while [ $i -lt 20 ]; do
	guest vsh 0 1 -e N=$i -- sh -c 'sleep 1; echo $N' >/tmp/c.$i 2>&1 &
	i=$((i + 1))
done
wait_all=0
i=0
while [ $i -lt 20 ]; do
	while [ ! -s /tmp/c.$i ] && [ $wait_all -lt 600 ]; do sleep 0.1; wait_all=$((wait_all + 1)); done
	i=$((i + 1))
done
sleep 0.5
bad=0
i=0
while [ $i -lt 20 ]; do
	if [ "$(cat /tmp/c.$i)" != "$i" ]; then
		bad=$((bad + 1))
		echo "session $i: [$(cat /tmp/c.$i)]"
	fi
	i=$((i + 1))
done
expect_eq "20 concurrent sessions" 0 $bad

# An agent without --allow-cid 1 refuses the loopback peer.
guest-agent --listen vsock:9002 2>/tmp/agent2.log &
A2=$!
sleep 0.5
err=$(guest vsh 0 1 9002 -- true 2>&1); rc=$?
expect_eq "loopback refused without --allow-cid: 255" 255 $rc
expect_in "loopback refused: reason" "vsock peer CID 1 is not the host" "$err"
kill $A2

err=$(guest vsh 0 1 9999 -- true 2>&1); rc=$?
expect_eq "nothing listening: 255" 255 $rc
expect_eq "nothing listening: message" "guest: vsh: cannot connect to vsock:1:9999: nothing listening (is guest-agent running?)" "$err"
err=$(guest vsh 0 7 -- true 2>&1); rc=$?
expect_eq "no such CID: 255" 255 $rc
expect_eq "no such CID: message" "guest: vsh: cannot connect to vsock:7:9001: no VM with CID 7 (is it running, with a vsock device?)" "$err"

# guest socat / socat-listen against real socat over vsock (no agent).
socat VSOCK-LISTEN:7000 SYSTEM:'wc -c' &
S=$!
sleep 0.5
expect_eq "guest socat -> socat VSOCK-LISTEN, half-close" 1048576 "$(guest socat 0 1 7000 </tmp/big | tr -d ' ')"
wait $S
(sleep 4 | guest socat-listen 0 7001 -v >/tmp/vscp 2>/tmp/sl.err) &
L=$!
sleep 0.5
socat -u FILE:/tmp/big VSOCK-CONNECT:2:7001
wait $L
expect_eq "vscp: socat VSOCK-CONNECT:2 -> guest socat-listen > file" "$want" "$(sha256sum </tmp/vscp | cut -d' ' -f1)"
expect_in "socat-listen -v names the peer" "connection from vsock CID 1" "$(cat /tmp/sl.err)"
guest socat-listen 0 7002 </dev/null >/dev/null &
L=$!
sleep 0.5
err=$(guest socat-listen 0 7002 </dev/null 2>&1); rc=$?
expect_eq "socat-listen: port in use: 1" 1 $rc
expect_in "socat-listen: port in use: message" "address in use" "$err"
guest socat 0 1 7002 </dev/null
wait $L
guest socat-listen 0 7003 --allow-cid 5 -v </dev/null >/tmp/al 2>/tmp/al.err &
L=$!
sleep 0.5
echo x | socat - VSOCK-CONNECT:1:7003 2>/dev/null
sleep 0.3
expect_in "socat-listen --allow-cid refuses CID 1" "refused vsock CID 1" "$(cat /tmp/al.err)"
kill $L 2>/dev/null
err=$(guest socat 0 1 7999 </dev/null 2>&1); rc=$?
expect_eq "guest socat: nothing listening: 1" 1 $rc
expect_eq "guest socat: nothing listening: message" "guest: socat: cannot connect to vsock:1:7999: nothing listening" "$err"

# Authentication over vsock: the agent trusts the owner's key, handed in
# by QEMU as an SMBIOS type 11 credential (run.sh), for root and nobody.
log=$(cat /tmp/agent.log)
expect_in "the credential came in by SMBIOS type 11" "1 key(s) from the credential guest-agent.authorized_keys (SMBIOS type 11)" "$log"
expect_in "the owner's key was accepted over vsock" "accepted for root (dialled vsock:1:9001)" "$log"
expect_eq "the owner's key may act as nobody" nobody "$(guest vsh 0 1 -u nobody -- id -un 2>&1)"
err=$(guest -i /test/stranger vsh 0 1 -- true 2>&1); rc=$?
expect_eq "a stranger's key: 255" 255 $rc
expect_in "a stranger's key: why" "agent said: denied: no key offered is trusted here" "$err"
err=$(HOME=/nowhere guest vsh 0 1 -- true 2>&1); rc=$?
expect_eq "no key: 255" 255 $rc
expect_in "no key: how to get one" "the agent requires a key: no Ed25519 key to sign in with" "$err"
# With the SMBIOS table hidden, an agent that trusts no key refuses every
# vsock peer and says how to fix it; one with a file trusts that file.
mount -t tmpfs none /sys/firmware/dmi/tables
guest-agent --listen vsock:9004 --allow-cid 1 --state-dir /tmp/s4 2>/tmp/agent4.log &
A4=$!
echo "root $(cat /test/stranger.pub)" >/tmp/ak5
guest-agent --listen vsock:9005 --allow-cid 1 --state-dir /tmp/s5 --authorized-keys /tmp/ak5 2>/tmp/agent5.log &
A5=$!
guest-agent --listen vsock:9006 --allow-cid 1 --state-dir /tmp/s6 --no-auth 2>/tmp/agent6.log &
A6=$!
sleep 1
err=$(guest vsh 0 1 9004 -- true 2>&1); rc=$?
expect_eq "no trusted key: refused: 255" 255 $rc
expect_in "no trusted key: the fix" "this guest trusts no key yet: add one to /etc/guest-agent/authorized_keys" "$err"
expect_in "no trusted key: said at start" "no trusted key: vsock peers are refused" "$(cat /tmp/agent4.log)"
expect_eq "authorized_keys: its key in" ok "$(guest -i /test/stranger vsh 0 1 9005 -- echo ok 2>/dev/null)"
err=$(guest vsh 0 1 9005 -- true 2>&1)
expect_in "authorized_keys: the owner's key out" "no key offered is trusted here" "$err"
expect_eq "--no-auth: in without a key" ok "$(HOME=/nowhere guest vsh 0 1 9006 -- echo ok 2>/dev/null)"
expect_in "--no-auth: said loudly" "WARNING: --no-auth" "$(cat /tmp/agent6.log)"
kill $A4 $A5 $A6
umount /sys/firmware/dmi/tables
# The host checks who answers: another agent (another host key) where the
# pinned one was is refused until guest forget.
kill $AGENT
sleep 0.3
guest-agent --listen vsock:9001 --allow-cid 1 --state-dir /tmp/s7 2>/tmp/agent7.log &
AGENT=$!
sleep 1
err=$(guest vsh 0 1 -- true 2>&1); rc=$?
expect_eq "another agent at the pinned address: 255" 255 $rc
expect_in "another agent: refused, and how to accept it" "it may be an impostor; if its key changed on purpose, run: guest forget 0 1" "$err"
expect_in "guest forget" "forgot the host key pinned for vsock:1:9001" "$(guest forget 0 1)"
expect_eq "after forget: in" ok "$(guest vsh 0 1 -- echo ok 2>/dev/null)"

# A guest with no passwd entry for the agent's uid (an initramfs, a
# distroless image): commands still run, as uid 0 with HOME=/, /bin/sh
# and root's PATH, and the agent says so once at start.  -u NAME that
# does not exist stays an error.
mv /etc/passwd /etc/passwd.real
echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >/etc/passwd
# (The owner's key for any user here, so that -u nosuch reaches the
# user lookup: with the credential's root,nobody it would be refused
# before, as a key that may not act as nosuch.)
echo "* $(cat /root/.ssh/id_ed25519.pub)" >/tmp/ak3
guest-agent --listen vsock:9003 --allow-cid 1 --authorized-keys /tmp/ak3 2>/tmp/agent3.log &
A3=$!
i=0
while [ $i -lt 50 ] && ! guest vsh 0 1 9003 -- true 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
out=$(guest vsh 0 1 9003 -- sh -c 'echo "$(id -u) $HOME $SHELL $USER $PATH $(pwd)"' 2>&1)
expect_eq "no passwd entry: runs as uid 0 at / with /bin/sh" "0 / /bin/sh root /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /" "$out"
out=$(ptyrun 24 80 guest vsh 0 1 9003 -t -- sh -c 'echo "tty $HOME"' | tr -d '\r')
expect_in "no passwd entry: a PTY session" "tty /" "$out"
expect_in "no passwd entry: -u nobody still switches" 65534 "$(guest vsh 0 1 9003 -u nobody -- id -u)"
err=$(guest vsh 0 1 9003 -u nosuch -- true 2>&1); rc=$?
expect_eq "no passwd entry: -u nosuch: 255" 255 $rc
expect_in "no passwd entry: -u nosuch: message" "no user nosuch in the guest" "$err"
expect_eq "no passwd entry: the agent warns once" 1 "$(grep -c 'warning: no passwd entry for uid 0' /tmp/agent3.log)"
kill $A3
mv /etc/passwd.real /etc/passwd

kill $AGENT
echo "$PASSED passed, $FAILED failed"
[ $FAILED -eq 0 ]
