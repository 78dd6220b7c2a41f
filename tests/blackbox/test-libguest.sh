# libguest for other programs: installed from this build into a scratch
# prefix, found with pkg-config, the two examples in docs/examples/ built
# against it (warnings are errors) and run: vsock-echo on a Unix socket
# (the same calls serve vsock and hybrid vsock), guest-run against a real
# agent (status, stdout, stderr, stdin, who answered).
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(dirname "$GUEST")
P=$T/prefix
if ! cmake --install "$BUILD" --prefix "$P" >"$T/install.log" 2>&1; then
	fail "cmake --install"; cat "$T/install.log"; finish; exit
fi
export PKG_CONFIG_PATH=$P/lib/pkgconfig
expect_eq "pkg-config finds libguest, at guest's version" \
    "$("$GUEST" --version | awk '{ print $2 }')" \
    "$(pkg-config --modversion libguest 2>&1)"
flags=$(pkg-config --cflags --libs libguest)
# (A library built with the sanitizers needs its programs built so too.)
nm "$P/lib/libguest.a" 2>/dev/null | grep -q __asan_ &&
    flags="$flags -fsanitize=address,undefined"
expect_in "its flags point into the prefix it was installed in" "$P/" \
    "$(realpath -m "$(printf '%s\n' $flags | sed -n 's/^-I//p')")/"
check "the headers are installed (not the host-only ones)" \
    test -f "$P/include/guest/vsh.h" -a ! -e "$P/include/guest/inventory.h"
# The stability promise (docs/LIBGUEST.md): the functions and data the
# installed library defines and its headers declare are those of
# tests/libguest/api.txt, no fewer (one went away: a break) and no more (a
# new one is a promise too: added there on purpose).
for s in $(nm -g --defined-only "$P/lib/libguest.a" | awk '$2 ~ /^[TDRB]$/ { print $3 }' | sort -u); do
	grep -qw -- "$s" "$P"/include/guest/*.h && echo "$s"
done >"$T/api.txt"
if diff -u "$SRC/tests/libguest/api.txt" "$T/api.txt" >"$T/api.diff"; then
	pass "the public API is tests/libguest/api.txt ($(wc -l <"$T/api.txt") names)"
else
	fail "the public API is tests/libguest/api.txt ('-': gone, a break; '+': new, add it on purpose)"
	grep '^[-+][a-z]' "$T/api.diff"
fi
for ex in vsock-echo guest-run; do
	if cc -Wall -Wextra -Werror -o "$T/$ex" "$SRC/docs/examples/$ex.c" \
	    $flags 2>"$T/cc.log"; then
		pass "docs/examples/$ex.c builds against the installed library"
	else
		fail "docs/examples/$ex.c builds against the installed library"
		cat "$T/cc.log"
	fi
done

# vsock-echo: listen, accept, connect, send, receive.
"$T/vsock-echo" serve "unix:$T/echo.sock" >"$T/echo.out" 2>&1 &
echo_pid=$!
wait_for_socket "$T/echo.sock"
expect_eq "vsock-echo: the message comes back" "hello, guest" \
    "$("$T/vsock-echo" send "unix:$T/echo.sock" "hello, guest")"
expect_eq "vsock-echo: a second peer" "again" \
    "$("$T/vsock-echo" send "unix:$T/echo.sock" again)"
out=$("$T/vsock-echo" send "unix:$T/nobody.sock" x 2>&1); rc=$?
expect_eq "vsock-echo: nobody listening: status" 1 "$rc"
expect_in "vsock-echo: nobody listening: libguest's words" \
    "unix:$T/nobody.sock" "$out"
out=$("$T/vsock-echo" send "tcp:1:2" x 2>&1); rc=$?
expect_eq "vsock-echo: a bad address: status" 2 "$rc"
expect_eq "vsock-echo: a bad address: one line" 1 "$(printf '%s\n' "$out" | grep -c .)"
kill "$echo_pid"; wait "$echo_pid" 2>/dev/null

# guest-run: one command through the agent protocol.
start_agent
"$T/guest-run" "unix:$SOCK" sh -c 'read l; echo "out $l"; echo err >&2; exit 7' \
    <<<"in" >"$T/run.out" 2>"$T/run.err"; rc=$?
expect_eq "guest-run: the command's status" 7 "$rc"
expect_eq "guest-run: stdin in, stdout out" "out in" "$(cat "$T/run.out")"
expect_in "guest-run: stderr apart" "err" "$(cat "$T/run.err")"
expect_in "guest-run: who answered, by its host key" \
    "host key $(ssh-keygen -lf "$T/state/host_key.pub" | awk '{ print $2 }')" \
    "$(cat "$T/run.err")"
out=$("$T/guest-run" "unix:$SOCK" /nonexistent 2>&1); rc=$?
expect_eq "guest-run: a missing command: 127" 127 "$rc"
stop_agent
out=$("$T/guest-run" "unix:$SOCK" true 2>&1); rc=$?
expect_eq "guest-run: no agent: 255" 255 "$rc"
finish
