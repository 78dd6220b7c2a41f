# guest socat and socat-listen over Unix sockets (and hybrid vsock through
# a stand-in VMM): relaying, true half-close, the vscp workflow, errors.
. "$(dirname "$0")/lib.sh"
: "${FAKE_VMM:?}"
command -v socat >/dev/null || { fail "socat is missing (scripts/deps.sh installs it)"; finish; exit; }
head -c 3000000 /dev/urandom >"$T/in"

# socat-listen <- socat, a file through, both exit 0.
"$GUEST" -C "unix:$T/l.sock" socat-listen -v >"$T/out" 2>"$T/err" </dev/null &
L=$!
wait_for_socket "$T/l.sock"
"$GUEST" -C "unix:$T/l.sock" socat <"$T/in"; rc=$?
wait $L; lrc=$?
expect_eq "socat: status" 0 $rc
expect_eq "socat-listen: status" 0 $lrc
check "file arrives byte-identical" cmp -s "$T/in" "$T/out"
expect_in "socat-listen -v says who connected" "connection from" "$(cat "$T/err")"
check "socat-listen removed its socket" test ! -e "$T/l.sock"

# True half-close: our EOF reaches the peer, its answer still comes back.
socat "UNIX-LISTEN:$T/wc.sock" SYSTEM:'wc -c' &
S=$!
wait_for_socket "$T/wc.sock"
expect_eq "half-close: peer sees EOF and answers" 3000000 "$("$GUEST" -C "unix:$T/wc.sock" socat <"$T/in" | tr -d ' ')"
wait $S

# The vscp workflow, against real socat as the sender.
(sleep 5 | "$GUEST" -C "unix:$T/v.sock" socat-listen >"$T/vscp") &
V=$!
wait_for_socket "$T/v.sock"
socat -u "FILE:$T/in" "UNIX-CONNECT:$T/v.sock"
wait $V
check "vscp: socat-listen > file is byte-identical" cmp -s "$T/in" "$T/vscp"

# Real socat as the listener, guest socat as the client, both ways.
socat "UNIX-LISTEN:$T/e.sock" EXEC:cat &
S=$!
wait_for_socket "$T/e.sock"
out=$("$GUEST" -C "unix:$T/e.sock" socat <"$T/in" | sha256sum)
expect_eq "echo through real socat" "$(sha256sum <"$T/in")" "$out"
wait $S

# Hybrid vsock: socat-listen takes PATH_PORT; socat goes through CONNECT.
"$GUEST" -C "hvsock:$T/fc.vsock:5000" socat-listen >"$T/hv" </dev/null &
L=$!
wait_for_socket "$T/fc.vsock_5000"
check "hvsock socat-listen listens on PATH_PORT" test -S "$T/fc.vsock_5000"
socat -u "FILE:$T/in" "UNIX-CONNECT:$T/fc.vsock_5000"
wait $L
check "hvsock socat-listen relays" cmp -s "$T/in" "$T/hv"
socat "UNIX-LISTEN:$T/target.sock" SYSTEM:'wc -c' &
S=$!
wait_for_socket "$T/target.sock"
"$FAKE_VMM" "$T/vmm.sock" 6000 "$T/target.sock" & VMM=$!
wait_for_socket "$T/vmm.sock"
expect_eq "hvsock socat through CONNECT/OK" 3000000 "$("$GUEST" -C "hvsock:$T/vmm.sock:6000" socat <"$T/in" | tr -d ' ')"
kill $VMM; wait $VMM 2>/dev/null; wait $S

# Errors: one line, non-zero.
"$GUEST" -C "unix:$T/busy.sock" socat-listen </dev/null >/dev/null &
B=$!
wait_for_socket "$T/busy.sock"
err=$("$GUEST" -C "unix:$T/busy.sock" socat-listen 2>&1 </dev/null); rc=$?
expect_eq "port in use: status 1" 1 $rc
expect_in "port in use: message" "address in use" "$err"
"$GUEST" -C "unix:$T/busy.sock" socat </dev/null >/dev/null
wait $B
err=$("$GUEST" -C "unix:$T/none.sock" socat 2>&1 </dev/null); rc=$?
expect_eq "nothing listening: status 1" 1 $rc
expect_eq "nothing listening: message" "guest: socat: cannot connect to unix:$T/none.sock: no such socket" "$err"
err=$("$GUEST" socat 0 3 2>&1); expect_eq "socat needs a port: status 2" 2 $?
expect_in "socat needs a port: message" "give ENV GUEST PORT" "$err"
err=$("$GUEST" socat-listen 0 x 2>&1); expect_in "socat-listen bad port" "'x' is not a port" "$err"

finish
