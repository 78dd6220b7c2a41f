# Many sessions at once; no fd or zombie growth afterwards; systemd socket
# activation.
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
stop_agent

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
