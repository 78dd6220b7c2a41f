# Signals: forwarded without a PTY; the session hung up when the host goes.
. "$(dirname "$0")/lib.sh"
start_agent

for sig in INT TERM HUP QUIT; do
	"${G[@]}" vsh -- sh -c "trap 'echo got $sig; exit 9' $sig; echo ready; sleep 30 & wait" >"$T/out" &
	pid=$!
	for i in $(seq 1 400); do grep -q ready "$T/out" 2>/dev/null && break; sleep 0.05; done
	kill -$sig $pid
	wait $pid; rc=$?
	expect_eq "SIG$sig forwarded: status" 9 $rc
	expect_eq "SIG$sig forwarded: trap ran" "ready
got $sig" "$(cat "$T/out")"
done

# An uncaught forwarded signal: 128+N.
"${G[@]}" vsh -- sh -c 'echo ready; exec sleep 30' >"$T/out" &
pid=$!
for i in $(seq 1 400); do grep -q ready "$T/out" 2>/dev/null && break; sleep 0.05; done
kill -INT $pid; wait $pid
expect_eq "uncaught SIGINT is 130" 130 $?

# The host vanishes: the agent sends SIGHUP to the group and reaps it.
marker=$((RANDOM + 40000))
"${G[@]}" vsh -- sh -c "sleep $marker" &
pid=$!
for i in $(seq 1 100); do pgrep -f "sleep $marker" >/dev/null && break; sleep 0.05; done
check "remote process is running" pgrep -f "sleep $marker" >/dev/null
kill -KILL $pid; wait $pid 2>/dev/null
gone=no
for i in $(seq 1 100); do pgrep -f "sleep $marker" >/dev/null || { gone=yes; break; }; sleep 0.05; done
expect_eq "session hung up after the host died" yes $gone
sleep 0.2
expect_eq "no zombies under the agent" 0 "$(zombies_of "$AGENT_PID")"

# A process that ignores SIGHUP is killed after the grace period.
marker=$((RANDOM + 40000))
"${G[@]}" vsh -- sh -c "trap '' HUP; sleep $marker" &
pid=$!
for i in $(seq 1 100); do pgrep -f "sleep $marker" >/dev/null && break; sleep 0.05; done
kill -KILL $pid; wait $pid 2>/dev/null
gone=no
for i in $(seq 1 150); do pgrep -f "sleep $marker" >/dev/null || { gone=yes; break; }; sleep 0.05; done
expect_eq "SIGHUP-proof process killed after grace" yes $gone

finish
