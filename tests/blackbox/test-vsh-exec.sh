# guest vsh with a command: exit codes, streams, stdin, environment.
. "$(dirname "$0")/lib.sh"
start_agent

g vsh -- true; expect_eq "exit 0" 0 $?
g vsh -- false; expect_eq "exit 1" 1 $?
g vsh -- sh -c 'exit 42'; expect_eq "exit 42" 42 $?
g vsh -- sh -c 'exit 255'; expect_eq "remote 255 passes through" 255 $?
g vsh -- sh -c 'kill -TERM $$'; expect_eq "death by SIGTERM is 143" 143 $?
g vsh -- sh -c 'kill -KILL $$'; expect_eq "death by SIGKILL is 137" 137 $?

err=$(g vsh -- no-such-command-xyz 2>&1); rc=$?
expect_eq "command not found is 127" 127 $rc
expect_in "command not found says so" "no-such-command-xyz: command not found" "$err"
err=$(g vsh -- /etc/passwd 2>&1); rc=$?
expect_eq "not executable is 126" 126 $rc
expect_in "not executable says why" "Permission denied" "$err"

g vsh -- sh -c 'echo out; echo err >&2' >"$T/o" 2>"$T/e"
expect_eq "stdout kept apart" out "$(cat "$T/o")"
expect_eq "stderr kept apart" err "$(cat "$T/e")"

expect_eq "stdin EOF reaches the command" 2 "$(printf 'a\nb\n' | g vsh -- wc -l)"
expect_eq "empty stdin" 0 "$(g vsh -- wc -c </dev/null)"
# Closed stdin and stderr: the socket must not land on fd 0 or 2.
expect_eq "closed stdin is empty input" 0 "$(g vsh -- wc -c <&- 2>&-)"

# 1 MiB on each stream, then an immediate exit: nothing lost.
head -c 1048576 /dev/urandom >"$T/big1"
head -c 1048576 /dev/urandom >"$T/big2"
cp "$T/big1" "$T/big2" "$T/.." 2>/dev/null
g vsh -- sh -c "cat $T/big1; cat $T/big2 >&2; exit 3" >"$T/o" 2>"$T/e"; rc=$?
expect_eq "large output then exit: status" 3 $rc
check "large output: stdout intact" cmp -s "$T/big1" "$T/o"
check "large output: stderr intact" cmp -s "$T/big2" "$T/e"

# Bulk both ways through cat, with a checksum.
head -c 67108864 /dev/urandom >"$T/in"
want=$(sha256sum <"$T/in" | cut -d' ' -f1)
got=$(g vsh -- cat <"$T/in" | sha256sum | cut -d' ' -f1)
expect_eq "64 MiB through cat" "$want" "$got"

# Stdin in small pieces, more than twice the 512 KiB credit window, read
# in odd sizes: credit comes back in batches, and none is missed at the
# window's edge (that would hang here).
got=$( (for i in $(seq 1 40); do head -c 30000 /dev/zero; sleep 0.01; done) |
	timeout 60 "${G[@]}" vsh -- sh -c 'dd bs=777 status=none | wc -c')
expect_eq "1.2 MB of small stdin writes, read in 777-byte pieces" 1200000 "$got"

# A slow reader: output waits for it; memory stays bounded.
got=$(g vsh -- head -c 8388608 /dev/zero | (sleep 1; wc -c))
expect_eq "slow reader gets everything" 8388608 "$got"

# Memory stays bounded while an endless producer meets a stalled
# consumer, both ways (unbounded buffering would reach GiBs here).
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
session_pid() { sessions_of "$AGENT_PID" | head -n 1; }
# bounded_rss LABEL CLIENT-PATTERN: the client and its agent session stay
# under 64 MiB.
bounded_rss() {
	local c s
	c=$(pgrep -f "$2"); s=$(session_pid)
	if [ -z "$c" ] || [ -z "$s" ]; then
		fail "$1: client or session not found to measure"
		return
	fi
	check "$1: client RSS under 64 MiB ($(rss_kb "$c") kB)" test "$(rss_kb "$c")" -lt 65536
	check "$1: agent session RSS under 64 MiB ($(rss_kb "$s") kB)" test "$(rss_kb "$s")" -lt 65536
}
"${G[@]}" vsh -- cat /dev/zero | sleep 3 &
job=$!
sleep 2
bounded_rss "stalled reader" "unix:$SOCK vsh -- cat /dev/zero"
wait $job
cat /dev/zero | "${G[@]}" vsh -- sleep 3 &
job=$!
sleep 2
bounded_rss "stalled stdin" "unix:$SOCK vsh -- sleep 3"
wait $job

# The reader goes away: the command gets SIGPIPE, as locally.  Many
# times, as the end of a session races the output draining.
bad=0
for i in $(seq 1 40); do
	timeout 20 "${G[@]}" vsh -- yes </dev/null | head -n 2 >/dev/null
	[ "${PIPESTATUS[0]}" = 141 ] || bad=$((bad + 1))
done
expect_eq "yes | head: yes dies of SIGPIPE (40 runs)" 0 $bad

# A background process that keeps the output pipe open does not hold the
# session: the status comes once the command has exited and its output
# is drained.
start=$(date +%s)
out=$(timeout 20 "${G[@]}" vsh -- sh -c 'sleep 8 & echo hi')
expect_eq "background holder: output" hi "$out"
check "background holder: no wait for it" test $(( $(date +%s) - start )) -lt 5

out=$(g vsh -e FOO=bar -e 'SP=a b' -w /tmp -- sh -c 'echo "$FOO|$SP|$(pwd)"')
expect_eq "-e and -w" "bar|a b|/tmp" "$out"
out=$(g vsh -- sh -c 'echo "$HOME|$USER|$LOGNAME"')
expect_eq "HOME, USER, LOGNAME from passwd" "$(getent passwd "$(id -un)" | cut -d: -f6)|$(id -un)|$(id -un)" "$out"
out=$(g vsh -e PATH=/nowhere -- /bin/sh -c 'echo $PATH')
expect_eq "-e overrides the default" /nowhere "$out"
err=$(g vsh -w /no/such/dir -- true 2>&1); rc=$?
expect_eq "bad -w fails" 1 $rc
expect_in "bad -w says why" "cannot change directory to /no/such/dir" "$err"

if [ "$(id -u)" = 0 ]; then
	out=$(g vsh -u nobody -- sh -c 'echo "$(id -u) $(id -g) $USER $HOME"')
	expect_eq "-u nobody switches uid, gid, USER, HOME" \
	    "$(id -u nobody) $(id -g nobody) nobody $(getent passwd nobody | cut -d: -f6)" "$out"
	err=$(g vsh -u no-such-user-xyz -- true 2>&1); rc=$?
	expect_eq "unknown user is a request error" 255 $rc
	expect_in "unknown user named" "no user no-such-user-xyz" "$err"
fi

# No command: the login shell, with --args.
out=$(g vsh --args -c --args 'echo shell:$0' </dev/null)
expect_in "--args go to the login shell" "shell:-" "$out"

# The program holds fds 0-2 only.
# (stat each fd of the shell: listing the directory would open one.)
out=$(g vsh -- sh -c 'i=0; while [ $i -lt 1024 ]; do [ -e /proc/$$/fd/$i ] && printf "%s " $i; i=$((i + 1)); done')
expect_eq "only fds 0-2 are inherited" "0 1 2 " "$out"

# A command that ends before stdin's end has gone out: the agent closes,
# our send fails, and ExecExit must still be read (it once failed 1 in
# ~750 runs with "connection closed by the agent").
bad=0
for i in $(seq 1 400); do g vsh -- true </dev/null >/dev/null 2>&1 || bad=$((bad + 1)); done
expect_eq "400 quick sessions, none lost to the agent's close" 0 "$bad"

finish
