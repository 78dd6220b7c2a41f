# Hostile and broken peers: garbage, oversized frames, wrong versions,
# peers of another uid; the agent survives and the next session works.
. "$(dirname "$0")/lib.sh"
: "${RAWPEER:?}" "${FAKE_VMM:?}"
start_agent

expect_eq "socket file is 0600" 600 "$(stat -c %a "$SOCK")"

sessions_work() { [ "$(g vsh -- echo ok 2>&1)" = ok ]; }

# A client that connects and says nothing is dropped after the 10 s
# handshake deadline (rawpeer returns 0 when the agent closes, 3 if it
# gave up first).  Runs in the background while the rest goes on.
mkfifo "$T/fifo"
("$RAWPEER" connect "$SOCK" <>"$T/fifo" >/dev/null; echo $? >"$T/silent") &
SILENT=$!

# Each of these is a whole conversation from a broken client.
head -c 4096 /dev/urandom | "$RAWPEER" connect "$SOCK" >/dev/null
check "random bytes: agent alive" agent_alive
printf '\377\377\377\377' | "$RAWPEER" connect "$SOCK" >"$T/r"
check "oversized length before hello: agent alive" agent_alive
expect_in "oversized length answered with an error" "frame larger than allowed" "$(tr -cd '[:print:]' <"$T/r")"
printf '\0\0\0\5hello' | "$RAWPEER" connect "$SOCK" >"$T/r"
expect_in "malformed hello answered" "malformed" "$(tr -cd '[:print:]' <"$T/r")"
# A valid hello, then a 2 MiB frame (over the 1 MiB cap).
printf "$HELLO"'\0\040\0\0' | "$RAWPEER" connect "$SOCK" >"$T/r"
expect_in "oversized frame after hello answered" "frame larger than allowed" "$(tr -cd '[:print:]' <"$T/r")"
# A valid hello, then a message that is not a request (a Signal).
printf "$HELLO"'\0\0\0\4\102\002\010\002' | "$RAWPEER" connect "$SOCK" >"$T/r"
expect_in "non-request answered" "no service for a signal message" "$(tr -cd '[:print:]' <"$T/r")"
# A client that speaks only protocol 99.
printf '\0\0\0\6\022\004\010\143\020\143' | "$RAWPEER" connect "$SOCK" >"$T/r"
expect_in "client version mismatch answered" "speaks 99..99" "$(tr -cd '[:print:]' <"$T/r")"
# Half a frame, then silence until the peer gives up.
printf '\0\0\0\100abc' | timeout 20 "$RAWPEER" connect "$SOCK" >/dev/null
check "truncated frame: agent alive" agent_alive
# Garbage in the middle of a running session (after the exec request).
{ printf "$HELLO"
  printf '\0\0\0\022\042\020\012\004sh\0\0\012\002-c\012\004cat\0'
  head -c 100 /dev/urandom; } | "$RAWPEER" connect "$SOCK" >/dev/null
check "garbage mid-session: agent alive" agent_alive
check "after all that, a session works" sessions_work
sleep 0.3
expect_eq "no zombies left" 0 "$(zombies_of "$AGENT_PID")"

# A broken agent: wrong version, garbage, oversized frame, silence.
fake() { # fake REPLY-BYTES... : serve one connection with these bytes
	rm -f "$T/fake.sock"
	printf "$1" | "$RAWPEER" serve "$T/fake.sock" >/dev/null &
	FAKE=$!
	wait_for_socket "$T/fake.sock"
}
fake '\0\0\0\6\022\004\010\143\020\143'
err=$("$GUEST" -C "unix:$T/fake.sock" vsh -- true 2>&1); rc=$?
expect_eq "agent version mismatch: 255" 255 $rc
expect_in "agent version mismatch explained" "protocol version mismatch: the agent (unknown) speaks 99..99, this side speaks 2..2: upgrade this side" "$err"
wait $FAKE
fake '\377\377\377\377'
err=$("$GUEST" -C "unix:$T/fake.sock" vsh -- true 2>&1); rc=$?
expect_eq "oversized frame from agent: 255" 255 $rc
expect_in "oversized frame from agent explained" "frame larger than allowed" "$err"
wait $FAKE
fake 'SSH-2.0-OpenSSH_9.2\r\n'
err=$("$GUEST" -C "unix:$T/fake.sock" vsh -- true 2>&1); rc=$?
expect_eq "not an agent: 255" 255 $rc
expect_in "not an agent explained" "unix:$T/fake.sock:" "$err"
wait $FAKE

# Unreachable agents: one line naming the address, with a hint.
err=$("$GUEST" -C "unix:$T/none.sock" vsh -- true 2>&1); rc=$?
expect_eq "no socket: 255" 255 $rc
expect_eq "no socket: message" "guest: vsh: cannot connect to unix:$T/none.sock: no such socket (is guest-agent running?)" "$err"
"$RAWPEER" serve "$T/stale.sock" </dev/null >/dev/null & p=$!; wait_for_socket "$T/stale.sock"; kill $p; wait $p 2>/dev/null
err=$("$GUEST" -C "unix:$T/stale.sock" vsh -- true 2>&1); rc=$?
expect_eq "stale socket: message" "guest: vsh: cannot connect to unix:$T/stale.sock: nothing listening (is guest-agent running?)" "$err"
# An agent replaces a stale socket file, but never a live one.
"$GUEST_AGENT" --listen "unix:$T/stale.sock" 2>/dev/null & A2=$!
for i in $(seq 1 100); do "$GUEST" -C "unix:$T/stale.sock" vsh -- true 2>/dev/null && break; sleep 0.05; done
expect_eq "agent takes over a stale socket file" ok "$("$GUEST" -C "unix:$T/stale.sock" vsh -- echo ok)"
err=$("$GUEST_AGENT" --listen "unix:$T/stale.sock" 2>&1); rc=$?
expect_eq "second agent on a live socket: status 1" 1 $rc
expect_in "second agent on a live socket: message" "address in use" "$err"
expect_eq "the live agent still answers" ok "$("$GUEST" -C "unix:$T/stale.sock" vsh -- echo ok)"
kill $A2; wait $A2 2>/dev/null

# Hybrid vsock through a stand-in VMM.
"$FAKE_VMM" "$T/vmm.sock" 9001 "$SOCK" & VMM=$!
wait_for_socket "$T/vmm.sock"
out=$("$GUEST" -C "hvsock:$T/vmm.sock:9001" vsh -- echo hi 2>"$T/err")
expect_eq "hvsock: a session through CONNECT/OK" hi "$out"
expect_in "hvsock: the first session pins the agent's key" "pinned the host key of the agent of hvsock:$T/vmm.sock:9001 (" "$(cat "$T/err")"
err=$("$GUEST" -C "hvsock:$T/vmm.sock:9002" vsh -- true 2>&1); rc=$?
expect_eq "hvsock: nothing on the port: 255" 255 $rc
expect_in "hvsock: nothing on the port explained" "nothing listening on port 9002" "$err"
kill $VMM; wait $VMM 2>/dev/null
# A VMM that accepts and never answers CONNECT: the deadline ends it.
mkfifo "$T/vmmfifo"
"$RAWPEER" serve "$T/mute.sock" <>"$T/vmmfifo" >/dev/null & MUTE=$!
wait_for_socket "$T/mute.sock"
err=$("$GUEST" --connect-timeout 1 -C "hvsock:$T/mute.sock:9001" vsh -- true 2>&1); rc=$?
expect_eq "hvsock: silent VMM: 255" 255 $rc
expect_in "hvsock: silent VMM times out" "timed out after 1000 ms" "$err"
kill $MUTE 2>/dev/null; wait $MUTE 2>/dev/null

# A peer of another uid is refused before anything is read.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	chmod 666 "$SOCK"
	err=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$GUEST" -C "unix:$SOCK" vsh -- true 2>&1); rc=$?
	chmod 600 "$SOCK"
	expect_eq "other uid refused: 255" 255 $rc
	expect_in "other uid refused: reason" "uid 65534 is neither root" "$err"
	expect_in "other uid refused: logged" "refused unix" "$(cat "$T/agent.log")"
	# Without the chmod the socket file itself keeps them out.
	err=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$GUEST" -C "unix:$SOCK" vsh -- true 2>&1)
	expect_in "0600 socket keeps others out" "permission denied" "$err"
fi

wait $SILENT 2>/dev/null
expect_eq "silent client dropped at the handshake deadline" 0 "$(cat "$T/silent")"
expect_in "silent client logged" "no hello: timed out" "$(cat "$T/agent.log")"

# Bad command lines: one line, usage status, nothing dialed.
# (No environment reachable here: env 0's libvirt is not running.)
err=$("$GUEST" vsh 2>&1); expect_eq "no target: status 255" 255 $?
expect_in "no target explained" "no running guest with a CID in the cached inventory of env 0, and libvirt cannot tell more: cannot reach" "$err"
err=$("$GUEST" vsh 7 3 2>&1); expect_in "unknown env explained" "no environment '7'" "$err"
err=$("$GUEST" vsh 0 x 2>&1); expect_in "unknown name explained" "no guest 'x'" "$err"
err=$("$GUEST" vsh 0 3 99999999999 2>&1); expect_eq "bad port: status 2" 2 $?
expect_in "bad port explained" "'99999999999' is not a port" "$err"
err=$("$GUEST" -C bogus vsh 2>&1); expect_in "bad address explained" "unknown address" "$err"
expect_eq "ENV CID maps to vsock" "vsock:3:9001" "$("$GUEST" vsh 0 3 --dry-run)"
expect_eq "ENV CID PORT maps to vsock" "vsock:3:5000" "$("$GUEST" vsh 0 3 5000 --dry-run -- ls)"

# guest info reports the identity from Hello.
out=$(g info)
expect_in "info: hostname" "hostname:  $(hostname)" "$out"
expect_in "info: services" "services:  exec info" "$out"
# --json: the same record, golden once what differs per machine and run
# is replaced (each value checked against its source first).
g info --json >"$T/info.json"
expect_in "info --json: hostname" "\"hostname\": \"$(hostname)\"" "$(cat "$T/info.json")"
expect_in "info --json: kernel" "\"kernel\": \"$(uname -srm)\"" "$(cat "$T/info.json")"
expect_in "info --json: the agent's pid" "\"pid\": $AGENT_PID," "$(cat "$T/info.json")"
expect_in "info --json: its uid" "\"uid\": $(id -u)," "$(cat "$T/info.json")"
sed -e "s|$T|T|g" -e "s|\"$(hostname)\"|\"HOST\"|" -e "s|\"$(uname -srm)\"|\"KERNEL\"|" \
    -e 's|"os": "[^"]*"|"os": "OS"|' -e 's|"uptime_seconds": [0-9]*|"uptime_seconds": N|' \
    -e "s|\"pid\": $AGENT_PID,|\"pid\": N,|" -e "s|\"uid\": $(id -u),|\"uid\": N,|" \
    -e 's|"guest-agent [^"]*"|"guest-agent VERSION"|' "$T/info.json" >"$T/out"
golden "info --json: the documented schema" info.json.golden

finish
