# Authentication over a Unix socket (an agent with trusted keys checks
# them there as over vsock): keys from files and from a real ssh-agent,
# principals, forged, replayed and broken handshakes from authpeer, the
# host's pin of the agent's key, the start-up limit, and OpenSSH reading
# our keys and signatures (ssh-keygen -l, -Y verify, -Y sign).
. "$(dirname "$0")/lib.sh"
: "${AUTHPEER:?}" "${SSHSIG_TOOL:?}" "${HOLDCONN:?}"
export HOME=$T/home
mkdir -p "$HOME/.ssh"
unset SSH_AUTH_SOCK SSH_AGENT_PID
K=$T/keys
mkdir "$K"
for k in alice bob mallory; do
	ssh-keygen -q -t ed25519 -N '' -C "$k@host" -f "$K/$k"
done
ssh-keygen -q -t ed25519 -N 'secret' -C enc@host -f "$K/enc"
ssh-keygen -q -t ecdsa -N '' -C ec@host -f "$K/ec"
AK=$T/authorized_keys
{ echo "# trusted here"
  echo "root $(cat "$K/alice.pub")"
  echo "nobody,daemon $(cat "$K/bob.pub")"
  echo "root $(cat "$K/enc.pub")"
  echo "$(cat "$K/mallory.pub")"; } >"$AK"	# no principals: ignored
start_agent --authorized-keys "$AK"
as() { local key=$1; shift; "$GUEST" -C "unix:$SOCK" -i "$key" "$@"; }

# OpenSSH reads what we write.
fp=$(ssh-keygen -lf "$T/state/host_key" | awk '{ print $2 }')
expect_in "ssh-keygen reads the agent's host key" "host key ssh-ed25519 $fp" "$(cat "$T/agent.log")"
expect_in "the bad line is named in the log" "authorized_keys:5: no principals" "$(cat "$T/agent.log")"
expect_in "the good lines are counted" "3 key(s) in $AK" "$(cat "$T/agent.log")"

# Keys that may come in.
out=$(as "$K/alice" vsh -- echo ok 2>"$T/err"); rc=$?
expect_eq "a trusted key file: status" 0 $rc
expect_eq "a trusted key file: output" ok "$out"
cp "$K/alice" "$K/alice.pub" "$HOME/.ssh/" && mv "$HOME/.ssh/alice" "$HOME/.ssh/id_ed25519" && mv "$HOME/.ssh/alice.pub" "$HOME/.ssh/id_ed25519.pub"
expect_eq "~/.ssh/id_ed25519 by default" ok "$(g vsh -- echo ok 2>&1)"
expect_eq "a key for nobody runs as nobody" nobody "$(as "$K/bob" vsh -u nobody -- id -un 2>&1)"
expect_in "the agent logs whose key came in" "accepted for nobody (dialled unix:$SOCK)" "$(cat "$T/agent.log")"

# Keys that may not.
err=$(as "$K/mallory" vsh -- echo ok 2>&1); rc=$?
expect_eq "an unknown key: 255" 255 $rc
expect_in "an unknown key: why" "agent said: denied: no key offered is trusted here (add one to $AK in the guest)" "$err"
expect_eq "an unknown key: one line" 1 "$(printf '%s\n' "$err" | grep -c .)"
err=$(as "$K/bob" vsh -- echo ok 2>&1); rc=$?
expect_eq "a key for other users, as root: 255" 255 $rc
expect_in "a key for other users, as root: why" "may not act as root here" "$err"
err=$(as "$K/enc" vsh -- echo ok 2>&1); rc=$?
expect_eq "an encrypted key without ssh-agent: 255" 255 $rc
expect_in "an encrypted key without ssh-agent: what to do" "$K/enc is encrypted: add it to ssh-agent (ssh-add $K/enc)" "$err"
err=$(as "$K/ec" vsh -- echo ok 2>&1)
expect_in "an ECDSA key: only Ed25519" "ecdsa-sha2-nistp256 keys are not supported (only ssh-ed25519)" "$err"
err=$(HOME=$T/nohome "$GUEST" -C "unix:$SOCK" vsh -- echo ok 2>&1)
expect_in "no key at all: how to get one" "no Ed25519 key to sign in with: make one with ssh-keygen -t ed25519" "$err"
check "after the refusals: agent alive" agent_alive

# ssh-agent, with the encrypted key added through SSH_ASKPASS.
eval "$(ssh-agent -s)" >/dev/null
printf '#!/bin/sh\necho secret\n' >"$T/askpass"; chmod +x "$T/askpass"
SSH_ASKPASS=$T/askpass SSH_ASKPASS_REQUIRE=force DISPLAY=none \
    ssh-add -q "$K/enc" </dev/null 2>/dev/null
expect_eq "ssh-agent: its key, named by the .pub" ok "$(as "$K/enc.pub" vsh -- echo ok 2>&1)"
expect_eq "ssh-agent: its key, named by the private file" ok "$(as "$K/enc" vsh -- echo ok 2>&1)"
mv "$HOME/.ssh/id_ed25519" "$HOME/.ssh/away"
expect_eq "ssh-agent: its keys by default" ok "$(g vsh -- echo ok 2>&1)"
ssh-add -q -D 2>/dev/null; ssh-add -q "$K/mallory" 2>/dev/null
err=$(g vsh -- echo ok 2>&1)
expect_in "ssh-agent with an unknown key only: refused" "no key offered is trusted here" "$err"
expect_eq "-i a key file that ssh-agent has not got: the file signs" ok "$(as "$K/alice" vsh -- echo ok 2>&1)"
err=$(as "$K/alice.pub" vsh -- echo ok 2>&1)
expect_in "-i a .pub that ssh-agent has not got: what to do" "$K/alice.pub: ssh-agent does not hold this key (ssh-add the private key)" "$err"
mv "$HOME/.ssh/away" "$HOME/.ssh/id_ed25519"
expect_eq "ssh-agent's unknown key, then the file's: in" ok "$(g vsh -- echo ok 2>&1)"
ssh-agent -k >/dev/null; unset SSH_AUTH_SOCK SSH_AGENT_PID

# Forged, replayed and broken handshakes.
out=$("$AUTHPEER" "$SOCK" "$K/alice" record "$T/auth.bin")
expect_in "authpeer: an honest session" "exit: 0" "$out"
out=$("$AUTHPEER" "$SOCK" "$K/alice" replay "$T/auth.bin")
expect_in "a replayed handshake: refused" "error: bad signature" "$out"
out=$("$AUTHPEER" "$SOCK" "$K/alice" other-request)
expect_in "a signature over another request: refused" "error: bad signature" "$out"
out=$("$AUTHPEER" "$SOCK" "$K/alice" other-hostkey)
expect_in "a signature over another agent's key: refused" "error: bad signature" "$out"
out=$("$AUTHPEER" "$SOCK" "$K/alice" nine)
expect_in "nine signatures: refused" "error: 9 keys offered, at most 8" "$out"
out=$("$AUTHPEER" "$SOCK" "$K/alice" truncated)
expect_in "a truncated Auth: closed" "closed" "$out"
out=$("$AUTHPEER" "$SOCK" "$K/alice" oversized)
expect_in "an oversized Auth: refused" "frame larger than allowed" "$out"
check "after the forgeries: agent alive" agent_alive
expect_eq "after the forgeries: a session works" ok "$(as "$K/alice" vsh -- echo ok 2>&1)"
expect_eq "a request without an Auth is refused" 1 "$(printf "$HELLO"'\0\0\0\002\132\0' | "$RAWPEER" connect "$SOCK" | grep -c 'a signed request was expected')"

# A key added to the file works at the next connection.
echo "* $(cat "$K/mallory.pub")" >>"$AK"
expect_eq "a key added while running: in" ok "$(as "$K/mallory" vsh -- echo ok 2>&1)"

# The host's pin: another agent (another host key) on the same address.
stop_agent
start_agent --authorized-keys "$AK" --state-dir "$T/state2"
err=$(as "$K/alice" vsh -- echo ok 2>&1); rc=$?
expect_eq "another agent on the pinned address: 255" 255 $rc
expect_in "another agent: refused, with both keys" "unix:$SOCK: the agent answered with host key $(ssh-keygen -lf "$T/state2/host_key" | awk '{ print $2 }'), but $fp is pinned for it" "$err"
expect_in "another agent: how to accept it" "if its key changed on purpose, run: guest -C unix:$SOCK forget" "$err"
expect_in "guest forget" "forgot the host key pinned for unix:$SOCK" "$(g forget)"
out=$(as "$K/alice" vsh -- echo ok 2>"$T/err")
expect_eq "after forget: in" ok "$out"
expect_in "after forget: the new key pinned and shown" "pinned the host key of the agent of unix:$SOCK (" "$(cat "$T/err")"
expect_eq "pinned once: no line the second time" "" "$(as "$K/alice" vsh -- true 2>&1)"

# --no-auth: anyone the socket admits, said loudly.
stop_agent
start_agent --authorized-keys "$AK" --state-dir "$T/state2" --no-auth
expect_eq "--no-auth: an unknown key gets in" ok "$(HOME=$T/nohome g vsh -- echo ok 2>&1)"
expect_in "--no-auth: logged" "WARNING: --no-auth" "$(cat "$T/agent.log")"
stop_agent

# The start-up limit: 200 idle connections hold 16 places at most, and a
# real session still gets in at once.
start_agent --authorized-keys "$AK" --state-dir "$T/state2"
"$HOLDCONN" "unix:$SOCK" 200 30 >"$T/held" & IDLE=$!
until grep -q held "$T/held"; do sleep 0.1; done
sleep 0.6	# past the grace: the oldest idle one gives way
t0=$(date +%s%N)
out=$(as "$K/alice" vsh -- echo ok 2>&1)
ms=$((($(date +%s%N) - t0) / 1000000))
echo "a session behind 200 idle connections took $ms ms"
expect_eq "200 idle connections: a session still gets in" ok "$out"
check "200 idle connections: in well under the handshake deadline ($ms ms)" test "$ms" -lt 5000
expect_eq "200 idle connections: all opened" "held 200" "$(grep held "$T/held")"
n=$(grep -c 'refused unix.*: 16 connections are in the handshake' "$T/agent.log")
check "200 idle connections: all but 16 refused, each logged ($n)" test "$n" -ge 184
expect_in "200 idle connections: the oldest idle one made room" "this one, the oldest" "$(cat "$T/agent.log")"
check "200 idle connections: agent alive" agent_alive
check "200 idle connections: at most 16 (+1 spare) waiting" test "$(sessions_of "$AGENT_PID" | wc -l)" -le 17
kill "$IDLE" 2>/dev/null; wait "$IDLE" 2>/dev/null
# A burst of 40 real clients: those refused as busy try again, and all
# get in.
BURST=()
for i in $(seq 1 40); do
	(as "$K/alice" vsh -- echo "$i" >"$T/burst.$i" 2>&1) & BURST+=($!)
done
wait "${BURST[@]}"
bad=0
for i in $(seq 1 40); do [ "$(cat "$T/burst.$i")" = "$i" ] || bad=$((bad + 1)); done
expect_eq "a burst of 40 sessions: all served" 0 $bad
# A client that has sent its Hello is not dropped after half a second (on a
# loaded, slow guest a real handshake can take longer), only after five:
# 16 of them stalled, a session that waits 2 s is refused as busy, one
# that waits the default 10 s gets in once the oldest has had its five.
"$HOLDCONN" --hello "unix:$SOCK" 16 30 >"$T/held" & IDLE=$!
until grep -q held "$T/held"; do sleep 0.1; done
sleep 1
out=$(as "$K/alice" --connect-timeout 2 vsh -- echo ok 2>&1); rc=$?
expect_eq "16 stalled after their Hello, 1 s on: a 2 s client: status" 255 "$rc"
expect_in "16 stalled after their Hello, 1 s on: busy" \
    "16 connections are in the handshake" "$out"
out=$(as "$K/alice" vsh -- echo ok 2>&1)
expect_eq "16 stalled after their Hello: a 10 s client gets in" ok "$out"
check "the oldest of them gave way after its 5 s" \
    grep -q "this one, the oldest (5[0-9][0-9][0-9] ms), gives way" "$T/agent.log"
expect_eq "16 stalled after their Hello: held" "held 16" "$(grep held "$T/held")"
kill "$IDLE" 2>/dev/null; wait "$IDLE" 2>/dev/null

# OpenSSH checks our signatures, and we check OpenSSH's.
printf 'a message\n' >"$T/msg"
"$SSHSIG_TOOL" sign "$K/alice" guest-session@guest <"$T/msg" >"$T/msg.ours"
echo "alice@host $(cut -d' ' -f1,2 "$K/alice.pub")" >"$T/allowed"
check "ssh-keygen -Y verify accepts our signature" ssh-keygen -q -Y verify -f "$T/allowed" -I alice@host -n guest-session@guest -s "$T/msg.ours" <"$T/msg" >/dev/null
ssh-keygen -q -Y sign -f "$K/alice" -n guest-session@guest "$T/msg" 2>/dev/null
check "we accept ssh-keygen -Y sign's signature" "$SSHSIG_TOOL" verify guest-session@guest "$T/msg.sig" <"$T/msg"
printf 'another message\n' >"$T/msg2"
not() { ! "$@"; }
check "we refuse it over another message" not "$SSHSIG_TOOL" verify guest-session@guest "$T/msg.sig" <"$T/msg2" 2>/dev/null
check "we refuse it in another namespace" not "$SSHSIG_TOOL" verify file "$T/msg.sig" <"$T/msg" 2>/dev/null
finish
