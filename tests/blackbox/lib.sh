# Shared by the black-box tests: a private agent on a Unix socket in a
# temp dir, checks that print PASS/FAIL, and a closing count.
# GUEST, GUEST_AGENT, FAKE_VMM and RAWPEER come from CTest.
set -u
: "${GUEST:?}" "${GUEST_AGENT:?}"
T=$(mktemp -d /tmp/guest-test.XXXXXX)
# Never the user's inventory, nor the host's libvirt.
export GUEST_INVENTORY="$T/inventory.db"
export LIBVIRT_DEFAULT_URI="qemu:///system?socket=$T/no-libvirtd.sock"
chmod 755 "$T"
SOCK=$T/agent.sock
# A client's Hello as bytes, for raw peers: protocol 2..2 and a nonce.
HELLO='\0\0\0\050\022\046\010\002\020\002\072\040AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
# The agents' host keys seen here, never the user's.
export GUEST_KNOWN_AGENTS="$T/known_agents"
AGENT_PID=
PASSED=0
FAILED=0

pass() { PASSED=$((PASSED + 1)); echo "PASS: $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL: $1"; }

# check DESC COMMAND...: passes when COMMAND succeeds.
check() {
	local desc=$1
	shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}

# golden DESC FILE: $T/out is tests/inventory/FILE (the fixtures and
# golden outputs).  GUEST_GOLDEN_UPDATE=1 writes FILE instead, for a
# change of output that was meant: read its diff before committing it.
FIX=$(cd "$(dirname "${BASH_SOURCE[0]}")/../inventory" && pwd)
golden() {
	if [ -n "${GUEST_GOLDEN_UPDATE:-}" ]; then
		cp "$T/out" "$FIX/$2"
		pass "$1 (written)"
	elif diff -u "$FIX/$2" "$T/out" >"$T/diff"; then
		pass "$1"
	else
		fail "$1"
		cat "$T/diff"
	fi
}

# expect_eq DESC WANT GOT
expect_eq() {
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1: wanted [$2], got [$3]"
	fi
}

# expect_in DESC NEEDLE HAYSTACK
expect_in() {
	case "$3" in
	*"$2"*) pass "$1" ;;
	*) fail "$1: [$2] not in [$3]" ;;
	esac
}

wait_for_socket() {
	local i
	for i in $(seq 1 400); do	# 20 s: the machine may be busy
		# Listening, not just bound: the file appears at bind(), a
		# moment before listen(); flag 0x10000 is __SO_ACCEPTCON.
		awk -v p="$1" '$NF == p && $4 == "00010000" { f = 1 }
		    END { exit !f }' /proc/net/unix && return 0
		sleep 0.05
	done
	return 1
}

# start_agent [ARGS...]: an agent on $SOCK, logging to $T/agent.log, its
# state in $T/state unless ARGS say otherwise.  Its host key is pinned
# for $SOCK, as an operator would from host_key.pub.
start_agent() {
	local state=$T/state a prev=
	for a in "$@"; do
		[ "$prev" = --state-dir ] && state=$a
		prev=$a
	done
	"$GUEST_AGENT" --listen "unix:$SOCK" --state-dir "$T/state" -v "$@" \
	    2>>"$T/agent.log" &
	AGENT_PID=$!
	wait_for_socket "$SOCK" || { echo "agent did not start"; cat "$T/agent.log"; exit 1; }
	pin_agent "unix:$SOCK" "$state"
}

# pin_agent ADDR STATE-DIR: trust the key in STATE-DIR/host_key.pub for
# ADDR (once).
pin_agent() {
	grep -q "^$1 " "$GUEST_KNOWN_AGENTS" 2>/dev/null && return 0
	echo "$1 $(cut -d' ' -f1,2 "$2/host_key.pub")" >>"$GUEST_KNOWN_AGENTS"
}

stop_agent() {
	[ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
	AGENT_PID=
}

G=("$GUEST" -C "unix:$SOCK")
g() { "${G[@]}" "$@"; }

agent_alive() { kill -0 "$AGENT_PID" 2>/dev/null; }

fd_count() { ls "/proc/$1/fd" | wc -l; }

zombies_of() { ps -o stat= --ppid "$1" | grep -c '^Z' || true; }

# The agent's session processes: its children but the console keeper, the
# spare that waits for the next connection and those idle for reuse.
sessions_of() { ps -o pid=,comm= --ppid "$1" | awk '$2 != "guest-console" && $2 != "guest-spare" && $2 != "guest-idle" { print $1 }'; }
# Its session processes idle between sessions.
idle_of() { ps -o pid=,comm= --ppid "$1" | awk '$2 == "guest-idle" { print $1 }'; }

finish() {
	stop_agent
	if [ "$FAILED" -ne 0 ]; then
		echo "--- agent log"
		tail -n 50 "$T/agent.log" 2>/dev/null
	fi
	rm -rf "$T"
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}
trap 'stop_agent; rm -rf "$T"; exit 1' INT TERM
