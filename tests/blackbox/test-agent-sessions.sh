# Many sessions at once; no fd or zombie growth afterwards; the spare
# session process; systemd socket activation.
. "$(dirname "$0")/lib.sh"
start_agent

g vsh -- true
sleep 0.2
fds_before=$(fd_count "$AGENT_PID")

pids=
for i in $(seq 1 100); do
	g vsh -e N=$i -- sh -c 'sleep 0.5; echo $N' >"$T/out.$i" 2>&1 &
	pids="$pids $!"
done
wait $pids
bad=0
for i in $(seq 1 100); do
	[ "$(cat "$T/out.$i")" = "$i" ] || bad=$((bad + 1))
done
expect_eq "100 concurrent sessions all answered" 0 $bad
sleep 0.5
expect_eq "no fd growth in the agent" "$fds_before" "$(fd_count "$AGENT_PID")"
expect_eq "no zombies under the agent" 0 "$(zombies_of "$AGENT_PID")"
expect_eq "no session processes left" 0 "$(sessions_of "$AGENT_PID" | wc -l)"

# The spare session process, forked ahead of the next connection: one at
# a time, a new one once it is taken, and the agent serves on without it.
spares() { ps -o pid=,comm= --ppid "$AGENT_PID" | awk '$2 == "guest-spare" { print $1 }'; }
# new_spare OLD: the spare's pid once there is one other than OLD (5 s at
# most: a busy machine may take a while to fork it).
new_spare() {
	local i s
	for i in $(seq 1 100); do
		s=$(spares)
		[ -n "$s" ] && [ "$s" != "$1" ] && { echo "$s"; return; }
		sleep 0.05
	done
}
s1=$(new_spare none)
expect_eq "one spare waits for the next connection" 1 "$(spares | wc -l)"
g vsh -- true
s2=$(new_spare "$s1")
check "a new spare once it is taken" test -n "$s2"
check "the spare became the session and ended" sh -c "! ps -o stat= -p '$s1' | grep -qv Z"
kill -KILL "$s2"
expect_eq "a killed spare: the agent serves on" served "$(g vsh -- echo served)"
s3=$(new_spare "$s2")
expect_eq "a killed spare: there is one again" 1 "$(spares | wc -l)"
expect_eq "no zombies after the killed spare" 0 "$(zombies_of "$AGENT_PID")"
stop_agent
sleep 0.2
# (Gone, or a zombie that its new parent has yet to reap.)
check "an idle spare goes with the agent" sh -c "test -n '$s3' && ! ps -o stat= -p '$s3' | grep -qv Z"

# Socket activation: systemd hands over a listening socket as fd 3.
if command -v systemd-socket-activate >/dev/null; then
	systemd-socket-activate -l "$T/act.sock" "$GUEST_AGENT" -v 2>>"$T/agent.log" &
	act=$!
	wait_for_socket "$T/act.sock"
	expect_eq "socket activation" activated "$("$GUEST" -C "unix:$T/act.sock" vsh -- echo activated)"
	expect_in "agent took the socket from systemd" "socket(s) from systemd" "$(cat "$T/agent.log")"
	kill $act; wait $act 2>/dev/null
else
	fail "systemd-socket-activate is missing (scripts/deps.sh installs systemd)"
fi

finish
