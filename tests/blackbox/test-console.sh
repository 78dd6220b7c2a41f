# guest console: history replayed to whoever attaches, the ring's drop
# marker and bounded memory, detach and reattach to the same shell, two
# watchers, the keyboard lock and --force, a killed client, the program
# restarted when it exits.  Interactive parts through tmux.
. "$(dirname "$0")/lib.sh"
: "${RAWPEER:?}"
command -v tmux >/dev/null || { fail "tmux is missing (scripts/deps.sh installs it)"; finish; exit; }
mkdir -p "$T/state"
# Under ASan, freed memory waits in a quarantine of up to 256 MiB, which
# would hide whether the keeper's memory stays bounded.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1"
start_agent --state-dir "$T/state" --console-buffer 64K
TM="tmux -L guest-console-$$ -f /dev/null"
trap '$TM kill-server 2>/dev/null' EXIT

# screen SESSION: what the pane shows.
screen() { $TM capture-pane -p -t "$1" 2>/dev/null; }
# wait_screen SESSION PATTERN: until the pane shows it (10 s at most).
wait_screen() {
	local i
	for i in $(seq 1 200); do
		screen "$1" | grep -q -- "$2" && return 0
		sleep 0.05
	done
	return 1
}
# wait_log PATTERN: until the console's history holds it (10 s at most).
wait_log() {
	local i
	for i in $(seq 1 200); do
		g console --log 2>/dev/null | grep -q -- "$1" && return 0
		sleep 0.05
	done
	return 1
}
# type LINE: one line into the console from a script (no terminal):
# attach, type, and the end of stdin detaches.
type_line() { printf '%s\n' "$1" | g console --no-history; }
# log_lacks PATTERN: the history does not hold it.
log_lacks() { ! g console --log 2>/dev/null | grep -q -- "$1"; }
keeper() { ps -o pid=,comm= --ppid "$AGENT_PID" | awk '$2 == "guest-console" { print $1 }'; }

# Usage errors, before any connection.
g console --history lots >/dev/null 2>"$T/err"
expect_eq "--history needs a size" 2 $?
g console --force --read-only >/dev/null 2>&1
expect_eq "--force with --read-only is refused" 2 $?
g console --log >"$T/empty" 2>&1
expect_eq "--log before anything ran" 0 $?
expect_eq "--log before anything ran prints nothing" "" "$(cat "$T/empty")"
check "the keeper runs under the agent" test -n "$(keeper)"

# Output printed while nobody was attached is there for the next one.
type_line 'PS1="c> "; echo "unseen-$((6*7))"'
expect_eq "a script's attach detaches at the end of its input" 0 $?
check "--log has what was printed with nobody attached" wait_log "unseen-42"
$TM new-session -d -s a -x 100 -y 30 \
    "env TERM=screen '$GUEST' -C 'unix:$SOCK' console; echo \"rc=\$?\" >'$T/rc.a'; stty -a | grep -o -- '-\\?icanon' >'$T/stty.a'; sleep 60"
check "attach replays the history" wait_screen a "unseen-42"
check "attach names the escape key" wait_screen a "Escape character is ^]"

# The writer's terminal size reaches the program, and follows it.
$TM send-keys -t a 'echo "si""ze $(stty size)"' Enter
check "window size of the attached terminal" wait_screen a "size 30 100"
$TM resize-window -t a -x 120 -y 40
sleep 0.3
$TM send-keys -t a 'echo "af""ter $(stty size)"' Enter
check "window size follows a resize" wait_screen a "after 40 120"

# A second writer is refused, naming the holder; a watcher is let in.
g console </dev/null >"$T/out.b" 2>"$T/err.b"
expect_eq "a second writer exits 1" 1 $?
expect_in "the refusal names the holder" "in use by $(id -un)@$(hostname)" "$(cat "$T/err.b")"
expect_in "the refusal says what to do" "--force" "$(cat "$T/err.b")"
$TM new-session -d -s w -x 100 -y 30 \
    "'$GUEST' -C 'unix:$SOCK' console --read-only --no-history; sleep 60"
check "a watcher attaches" wait_screen w "read-only"
sleep 0.3
$TM send-keys -t a 'echo "bo""th-$((3*3))"' Enter
check "the writer sees its output" wait_screen a "both-9"
check "the watcher sees the same output" wait_screen w "both-9"
$TM send-keys -t w 'echo "wat""cher-typed"' Enter
sleep 0.5
check "a watcher's keystrokes do not go in" log_lacks watcher-typed

# Detach with ^]: exit 0, terminal restored, the shell keeps its state.
$TM send-keys -t a 'export GVAR="kept$((40+2))"' Enter
sleep 0.3
$TM send-keys -t a C-]
for i in $(seq 1 100); do [ -s "$T/rc.a" ] && break; sleep 0.05; done
expect_eq "^] detaches with 0" "rc=0" "$(cat "$T/rc.a" 2>/dev/null)"
for i in $(seq 1 40); do [ -s "$T/stty.a" ] && break; sleep 0.05; done
expect_eq "the terminal is back in canonical mode" icanon "$(cat "$T/stty.a" 2>/dev/null)"
$TM kill-session -t a
$TM new-session -d -s a2 -x 100 -y 30 \
    "'$GUEST' -C 'unix:$SOCK' console --no-history; echo \"rc=\$?\" >'$T/rc.a2'; sleep 60"
wait_screen a2 "Escape character" >/dev/null
$TM send-keys -t a2 'echo "var=$GVAR"' Enter
check "reattached to the same shell (a variable survives)" wait_screen a2 "var=kept42"

# SIGTERM to the client: it leaves (255), the terminal restored.
$TM new-session -d -s t -x 80 -y 24 \
    "'$GUEST' -C 'unix:$SOCK' console --read-only --history 10; echo \"rc=\$?\" >'$T/rc.t'; stty -a | grep -o -- '-\\?icanon' >'$T/stty.t'; sleep 60"
wait_screen t "Escape character" >/dev/null
pkill -TERM -f "unix:$SOCK console --read-only --history 10"
for i in $(seq 1 100); do [ -s "$T/rc.t" ] && break; sleep 0.05; done
expect_eq "SIGTERM: the client exits 255" "rc=255" "$(cat "$T/rc.t" 2>/dev/null)"
for i in $(seq 1 40); do [ -s "$T/stty.t" ] && break; sleep 0.05; done
expect_eq "SIGTERM: the terminal is restored" icanon "$(cat "$T/stty.t" 2>/dev/null)"
check "SIGTERM: says why" wait_screen t "terminated by signal TERM"
$TM kill-session -t t

# --force takes the keyboard; the old writer is told and only watches.
printf 'echo "for""ced-$((5*5))"\n' | g console --force --no-history
expect_eq "--force attaches" 0 $?
check "the old writer is told who took over" wait_screen a2 "took the keyboard"
check "the forced input ran" wait_log "forced-25"
$TM send-keys -t a2 'echo "ign""ored-$((2*2))"' Enter
sleep 0.5
check "the old writer's keys no longer go in" log_lacks ignored-4
$TM send-keys -t a2 C-]
for i in $(seq 1 100); do [ -s "$T/rc.a2" ] && break; sleep 0.05; done
expect_eq "a writer turned watcher still detaches" "rc=0" "$(cat "$T/rc.a2" 2>/dev/null)"

# A client killed with SIGKILL leaves the console running and the
# keyboard free.
$TM new-session -d -s k -x 100 -y 30 "'$GUEST' -C 'unix:$SOCK' console --no-history; sleep 60"
wait_screen k "Escape character" >/dev/null
$TM send-keys -t k 'export KVAR=alive' Enter
sleep 0.3
pkill -KILL -f "unix:$SOCK console --no-history$"
sleep 0.3
type_line 'echo "k=$KVAR"'
expect_eq "the keyboard is free again after a SIGKILL" 0 $?
check "the shell survived the killed client" wait_log "k=alive"

# A paste far bigger than the terminal's buffers arrives whole, even
# though its writer leaves as soon as it has sent it.
seq -f "line %g of a long paste, long enough to fill buffers" 1 6000 >"$T/paste"
# (head -c, not cat and ^D: a ^D that arrives while the shell's line
# editor has the terminal in raw mode is a byte, not an end of file.)
{ echo "stty -echo; head -c $(wc -c <"$T/paste") >$T/pasted; stty echo"; cat "$T/paste"; } | g console --no-history
expect_eq "a big paste is sent" 0 $?
for i in $(seq 1 200); do cmp -s "$T/paste" "$T/pasted" 2>/dev/null && break; sleep 0.05; done
check "a big paste arrives whole after its writer left" cmp -s "$T/paste" "$T/pasted"

# The program exiting is restarted (another shell), and watchers hear.
type_line 'echo $$ >'"$T/pid1"'; exit 3'
check "the watcher is told the shell exited" wait_screen w "exited with status 3"
check "the watcher is told it started again" wait_screen w "started again"
for i in $(seq 1 100); do [ -s "$T/pid1" ] && break; sleep 0.05; done
type_line 'echo $$ >'"$T/pid2"
for i in $(seq 1 100); do [ -s "$T/pid2" ] && break; sleep 0.05; done
check "a new shell runs after exit" test -s "$T/pid2" -a "$(cat "$T/pid1" 2>/dev/null)" != "$(cat "$T/pid2" 2>/dev/null)"

# More than the ring holds: the last bytes and the drop marker, and the
# keeper's memory stays bounded (64 KiB ring, ~30 MB printed, a watcher
# attached).
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$(keeper)/status"; }
rss0=$(rss)
type_line 'seq 1 3000000; echo "end-$((1+1))"'
check "a flood of output is recorded to its end" wait_log "end-2"
g console --log >"$T/log" 2>&1
expect_eq "--log exits 0" 0 $?
expect_in "the drop marker comes first" "[guest console: " "$(head -n 1 "$T/log")"
expect_in "the drop marker counts bytes" "earlier bytes dropped]" "$(head -n 1 "$T/log")"
check "the marker counts more than a million dropped" test "$(head -n 1 "$T/log" | tr -dc 0-9)" -gt 1000000
check "the log holds no more than the ring" test "$(wc -c <"$T/log")" -le $((65536 + 100))
check "the log ends with the last lines" grep -q "^3000000" "$T/log"
rss1=$(rss)
check "the keeper's memory stays bounded (${rss0} kB, then ${rss1} kB)" test $((rss1 - rss0)) -lt 8192
check "the watcher still runs" wait_screen w "end-2"
g console --log --history 100 >"$T/log100"
check "--history BYTES gives at most BYTES" test "$(wc -c <"$T/log100")" -le 100

# The keeper killed: the agent starts another, and the console works
# again (with a new program: the old one went with it).  A connection
# accepted before the restart that asks for the console after it reaches
# the new keeper (the hand-over socket outlives each keeper).
LOG='\0\0\0\7\242\001\004\010\003\020\001'	# ConsoleRequest{LOG, all}
{ sleep 1.5; printf "$HELLO$LOG"; } | "$RAWPEER" connect "$SOCK" >"$T/early" &
early=$!
sleep 0.5
old=$(keeper)
kill -KILL "$old"
for i in $(seq 1 100); do k=$(keeper); [ -n "$k" ] && [ "$k" != "$old" ] && break; sleep 0.05; done
check "the agent restarts a killed keeper" test -n "$(keeper)" -a "$(keeper)" != "$old"
wait "$early"; rc=$?
expect_eq "a session from before the restart: served, then closed" 0 $rc
check "a session from before the restart: ConsoleStarted, no refusal" \
    sh -c "od -An -tx1 '$T/early' | tr -d ' \n' | grep -q 'aa01' && ! grep -q 'not running' '$T/early'"
type_line 'echo "again-$((2+3))"'
check "the console works after the keeper's restart" wait_log "again-5"

# A keeper that takes nothing (stopped): hand-overs wait in the socket
# until it is full, then the next session gives up after 5 s with a
# clear error instead of hanging; the waiting ones are served once it
# goes on.  Each request comes with 60 KB behind it, so a few fill the
# socket.
{ printf "$HELLO"'\0\0\0\5\242\001\002\010\001'; head -c 60000 /dev/zero; } >"$T/heavy"
kill -STOP "$(keeper)"
hp=()
for i in 1 2 3 4 5 6; do
	{ cat "$T/heavy"; sleep 9; } | "$RAWPEER" connect "$SOCK" >"$T/heavy.$i" &
	hp+=($!)
done
sleep 7
check "a stopped keeper: a session says the console is not answering" \
    sh -c "cat '$T'/heavy.? | grep -q 'the console is not answering'"
kill -CONT "$(keeper)"
wait "${hp[@]}"
type_line 'echo "goes-on-$((1+1))"'
check "the console works after the keeper goes on" wait_log "goes-on-2"

# Hostile clients, after a valid Hello: each is answered and dropped,
# and the console goes on.
RO='\0\0\0\5\242\001\002\010\001'		# ConsoleRequest{READ_ONLY}
printf "$HELLO"'\0\0\0\5\242\001\002\010\143' | "$RAWPEER" connect "$SOCK" >"$T/r"
expect_in "an unknown console mode is answered" "unknown console mode 99" "$(tr -cd '[:print:]' <"$T/r")"
printf "$HELLO$RO"'\0\0\0\3abc' | "$RAWPEER" connect "$SOCK" >"$T/r"
expect_in "a malformed frame on the console is answered" "unexpected message on the console" "$(tr -cd '[:print:]' <"$T/r")"
printf "$HELLO$RO"'\0\0\0\4\102\002\010\002' | "$RAWPEER" connect "$SOCK" >"$T/r"
expect_in "a signal on the console is answered" "unexpected message on the console" "$(tr -cd '[:print:]' <"$T/r")"
printf "$HELLO$RO"'\0\040\0\0' | "$RAWPEER" connect "$SOCK" >"$T/r"
expect_in "a 2 MiB frame on the console is answered" "frame larger than allowed" "$(tr -cd '[:print:]' <"$T/r")"
printf "$HELLO"'\0\0\0\5\242\001\003\377\377' | "$RAWPEER" connect "$SOCK" >"$T/r"
expect_in "a malformed console request is answered" "malformed" "$(tr -cd '[:print:]' <"$T/r")"
head -c 100000 /dev/urandom | { printf "$HELLO$RO"; cat; } | "$RAWPEER" connect "$SOCK" >/dev/null
type_line 'echo "still-$((3+4))"'
check "the console works after hostile clients" wait_log "still-7"

check "the agent is still running" agent_alive
$TM kill-server 2>/dev/null
finish
