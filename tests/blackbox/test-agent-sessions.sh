# Many sessions at once; no fd or zombie growth afterwards; the spare
# session process and its reuse; systemd socket activation.
. "$(dirname "$0")/lib.sh"
start_agent

# What a command sees of the process that started it: a session process
# serving its tenth session must leave the same as a fresh one.  (The
# shell's own descriptors by a glob: in a pipeline it would hold pipes;
# the mask and credentials a command it starts has, grep's own: the
# shell's would be read while it forks, with every signal blocked.)
cat >"$T/seen.sh" <<'EOF'
umask
for f in /proc/$$/fd/*; do printf '%s ' "${f##*/}"; done; echo
grep -E '^(SigBlk|SigIgn|SigCgt|Uid|Gid|Groups|NoNewPrivs|CapEff)' /proc/self/status
grep -E '^(SigBlk|SigIgn|Uid|Gid|Groups)' /proc/$PPID/status
ls /proc/$PPID/fd | wc -l
pwd
env | sort
EOF
seen_fresh=$(g vsh -- sh -c "$(cat "$T/seen.sh")")
# settle: every session process done with its session (idle, or gone), and
# a moment for the agent to have heard so.
settle() {
	local i
	for i in $(seq 1 100); do
		[ -z "$(sessions_of "$AGENT_PID")" ] && break
		sleep 0.05
	done
	sleep 0.2
}
settle
fds_before=$(fd_count "$AGENT_PID")
idle_before=$(idle_of "$AGENT_PID" | wc -l)

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
settle
# (The agent holds a channel to each idle session process; one let go
# closes its channel as it exits, which may take a moment.)
for i in $(seq 1 50); do
	idle_after=$(idle_of "$AGENT_PID" | wc -l)
	[ "$(fd_count "$AGENT_PID")" -eq "$((fds_before - idle_before + idle_after))" ] && break
	sleep 0.1
done
expect_eq "no fd growth in the agent (but the idle processes' channels)" \
    "$((fds_before - idle_before + idle_after))" "$(fd_count "$AGENT_PID")"
expect_eq "no zombies under the agent" 0 "$(zombies_of "$AGENT_PID")"
expect_eq "no session processes left" 0 "$(sessions_of "$AGENT_PID" | wc -l)"
check "at most 2 session processes kept idle after 100" test "$idle_after" -le 2

# Reuse: a session process that ends clean serves the next sessions, so
# ten one after the other take at most three processes (the spare and two
# idle), where each took one of its own before.  (Each once the last one's
# process is idle: back to back, a connection can come before the last
# process has said it is free, and then a spare is forked.)
for i in $(seq 1 10); do g vsh -- sh -c 'echo $PPID'; settle; done >"$T/ppids"
expect_eq "ten sessions one after the other: every one answered" 10 "$(grep -c . "$T/ppids")"
check "ten sessions one after the other: at most 3 processes" test "$(sort -u "$T/ppids" | wc -l)" -le 3
# Every kind of session, then what a reused process leaves a command.
echo data >"$T/src"
g vsh -t -- sh -c 'stty size' >/dev/null
g vsh -T -- sh -c 'kill -TERM $$' 2>/dev/null
g vsh -u no-such-user -- true 2>/dev/null
g cp "$T/src" :"$T/dst"
g cp :"$T/dst" "$T/back"
g info >/dev/null
sleep 5 | g vsh -- sleep 30 &
sleep 1
pkill -f "vsh -- sleep 30"
g console --log >/dev/null 2>&1 </dev/null
for i in $(seq 1 6); do
	out=$(g vsh -- sh -c "echo \$PPID; $(cat "$T/seen.sh")")
	pid=${out%%$'\n'*}
	grep -qx "$pid" "$T/ppids" && break
done
check "a session served by a reused process" grep -qx "$pid" "$T/ppids"
expect_eq "a reused process leaves a command what a fresh one does" "$seen_fresh" "${out#*$'\n'}"
# A running session holds no listening socket: with the agent gone, a
# client is refused, not left in a backlog nobody accepts.
g vsh -- sleep 3 &
vp=$!
sleep 1
s=$(sessions_of "$AGENT_PID" | head -1)
ino=$(awk -v p="$SOCK" '$NF == p && $4 == "00010000" { print $7 }' /proc/net/unix)
check "a running session holds no listener" sh -c "test -n '$s' && test -n '$ino' && ! ls -l /proc/$s/fd | grep -q 'socket:\[$ino\]'"
wait $vp
# Killed idle processes: the agent forks a spare instead, and serves on.
for p in $(idle_of "$AGENT_PID"); do kill -KILL "$p"; done
sleep 0.2
expect_eq "killed idle processes: the agent serves on" served "$(g vsh -- echo served)"
expect_eq "killed idle processes: the agent serves on, twice" served "$(g vsh -- echo served)"

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
expect_eq "the spare serves the next connection" "$s1" "$(g vsh -- sh -c 'echo $PPID')"
s2=$(new_spare "$s1")
check "a new spare once it is taken" test -n "$s2"
for i in $(seq 1 100); do idle_of "$AGENT_PID" | grep -qx "$s1" && break; sleep 0.05; done
idle_of "$AGENT_PID" >"$T/idle"
check "the spare served its session and waits idle" grep -qx "$s1" "$T/idle"
kill -KILL "$s2"
expect_eq "a killed spare: the agent serves on" served "$(g vsh -- echo served)"
s3=$(new_spare "$s2")
expect_eq "a killed spare: there is one again" 1 "$(spares | wc -l)"
expect_eq "no zombies after the killed spare" 0 "$(zombies_of "$AGENT_PID")"
stop_agent
sleep 0.2
# (Gone, or a zombie that its new parent has yet to reap.)
check "an idle spare goes with the agent" sh -c "test -n '$s3' && ! ps -o stat= -p '$s3' | grep -qv Z"
check "an idle session process goes with the agent" sh -c "! ps -o stat= -p '$s1' | grep -qv Z"

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
