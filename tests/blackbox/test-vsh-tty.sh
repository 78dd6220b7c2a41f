# Interactive sessions through a real terminal driven by tmux: window size
# before and after a resize, TERM, the exit status of the shell, and the
# ~. escape leaving a hung session with the local terminal restored.
. "$(dirname "$0")/lib.sh"
command -v tmux >/dev/null || { fail "tmux is missing (scripts/deps.sh installs it)"; finish; exit; }
start_agent
TM="tmux -L guest-test-$$ -f /dev/null"

# wait_screen PATTERN: until the pane shows it (5 s at most).
wait_screen() {
	local i
	for i in $(seq 1 100); do
		$TM capture-pane -p -t t 2>/dev/null | grep -q -- "$1" && return 0
		sleep 0.05
	done
	return 1
}

$TM new-session -d -s t -x 100 -y 30 \
    "env TERM=screen-256color '$GUEST' -C 'unix:$SOCK' vsh; echo \"rc=\$?\" >'$T/rc'; sleep 30"
$TM send-keys -t t 'PS1="prompt> "; echo "si""ze $(stty size) ${TERM}"' Enter
check "initial window size seen by stty" wait_screen "size 30 100 screen-256color"
$TM resize-window -t t -x 120 -y 40
sleep 0.3
$TM send-keys -t t 'echo "af""ter $(stty size)"' Enter
check "resize seen by stty" wait_screen "after 40 120"
$TM send-keys -t t 'tty | sed "s/^/tty: /"' Enter
check "the shell has a PTY" wait_screen "tty: /dev/pts/"
$TM send-keys -t t 'exit 7' Enter
for i in $(seq 1 100); do [ -s "$T/rc" ] && break; sleep 0.05; done
expect_eq "exit status of the interactive shell" "rc=7" "$(cat "$T/rc" 2>/dev/null)"
$TM kill-server 2>/dev/null

# ~. leaves a session whose command ignores input; the terminal comes back
# in cooked mode (stty shows icanon and echo).
rm -f "$T/rc"
sleep 0.2
$TM new-session -d -s t -x 80 -y 24 \
    "'$GUEST' -C 'unix:$SOCK' vsh -t -- sleep 300; echo \"rc=\$?\" >'$T/rc'; stty -a | grep -o -- '-\\?icanon' >'$T/stty'; sleep 30"
sleep 0.5
$TM send-keys -t t Enter '~.'
for i in $(seq 1 100); do [ -s "$T/rc" ] && break; sleep 0.05; done
expect_eq "~. disconnects with 255" "rc=255" "$(cat "$T/rc" 2>/dev/null)"
check "~. message names the address" wait_screen "connection to unix:$SOCK closed (~.)"
for i in $(seq 1 40); do [ -s "$T/stty" ] && break; sleep 0.05; done
expect_eq "terminal restored to canonical mode" icanon "$(cat "$T/stty" 2>/dev/null)"
$TM kill-server 2>/dev/null

# SIGTERM to guest with a PTY: it leaves, restoring the terminal.
rm -f "$T/rc" "$T/stty"
sleep 0.2
$TM new-session -d -s t -x 80 -y 24 \
    "'$GUEST' -C 'unix:$SOCK' vsh -t -- sleep 301; echo \"rc=\$?\" >'$T/rc'; stty -a | grep -o -- '-\\?icanon' >'$T/stty'; sleep 30"
for i in $(seq 1 100); do pgrep -f "vsh -t -- sleep 301" >/dev/null && break; sleep 0.05; done
sleep 0.3
pkill -TERM -f "unix:$SOCK vsh -t -- sleep 301"
for i in $(seq 1 100); do [ -s "$T/rc" ] && break; sleep 0.05; done
expect_eq "SIGTERM with a PTY: 255" "rc=255" "$(cat "$T/rc" 2>/dev/null)"
for i in $(seq 1 40); do [ -s "$T/stty" ] && break; sleep 0.05; done
expect_eq "SIGTERM with a PTY: terminal restored" icanon "$(cat "$T/stty" 2>/dev/null)"
check "SIGTERM with a PTY: message" wait_screen "terminated by signal TERM"
$TM kill-server 2>/dev/null

# -t with a command: a PTY even without a terminal here; output and status.
g vsh -t -- sh -c 'test -t 0 && echo has-tty; exit 4' </dev/null >"$T/out"; rc=$?
expect_eq "-t gives a PTY" has-tty "$(tr -d '\r' <"$T/out")"
expect_eq "-t keeps the status" 4 $rc

finish
