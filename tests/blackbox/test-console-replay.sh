# guest console: a replay larger than the socket buffers arrives whole,
# with the default 1 MiB ring, to --log and to an attach with history,
# when the reader stalls, many times in a row.  (A replay used to stop
# at about what the socket held when the keeper's queue emptied in one
# write: no new output followed to wake it.)
. "$(dirname "$0")/lib.sh"
mkdir -p "$T/state"
start_agent --state-dir "$T/state"
RING=1048576
RUNS=${RUNS:-15}
ATTACH_RUNS=${ATTACH_RUNS:-5}	# each waits out its 2 s

printf '%s\n' 'head -c 3000000 /dev/zero | tr "\0" a | fold -w 100; echo; echo "END-$((1+1))"' |
    g console --no-history
for i in $(seq 1 200); do
	timeout 10 "${G[@]}" console --log 2>/dev/null | grep -q '^END-2.$' && break
	sleep 0.05
done

# whole FILE: the drop marker, then full lines of 'a', then END-2 (and
# the shell's prompt after it), about a ring's worth in all (the partial
# line after the wrap is skipped).
whole() {
	local size
	grep -q '^END-2.$' "$1" || return 1	# (\r\n: a PTY's lines)
	tr -d '\r' <"$1" | sed '/^END-2$/q' >"$1.h"
	size=$(wc -c <"$1")
	head -n 1 "$1.h" | grep -q '^\[guest console: [0-9]* earlier bytes dropped\]$' &&
	    [ "$(sed '1d;$d' "$1.h" | grep -vc '^a\{100\}$')" = 0 ] &&
	    [ "$size" -ge $((RING - 200)) ] && [ "$size" -le $((RING + 200)) ]
}

# Readers: one that drains at once, one that stalls before it reads, one
# that stalls again after 128 KiB (dd reads no more than it is asked).
stall_start() { sleep 0.3; cat; }
stall_mid() { sleep 0.2; dd bs=64k count=2 iflag=fullblock status=none; sleep 0.3; cat; }

bad=0
for i in $(seq 1 "$RUNS"); do
	for reader in cat stall_start stall_mid; do
		timeout 20 "${G[@]}" console --log 2>/dev/null | $reader >"$T/log"
		whole "$T/log" || { bad=$((bad + 1)); cp "$T/log" "$T/bad.$reader"; }
	done
done
expect_eq "--log: the whole ring and its end, $((RUNS * 3)) runs, stalling readers" 0 "$bad"

# An attach with all the history (a watcher: its stdin is not read); the
# shell prints nothing more, so the replay must finish by itself.
bad=0
for i in $(seq 1 "$ATTACH_RUNS"); do
	for reader in cat stall_start stall_mid; do
		{ timeout 2 "${G[@]}" console --read-only 2>/dev/null; } | $reader >"$T/att"
		whole "$T/att" || { bad=$((bad + 1)); cp "$T/att" "$T/bad-attach.$reader"; }
	done
done
expect_eq "attach: the whole history replayed, $((ATTACH_RUNS * 3)) runs, stalling readers" 0 "$bad"
check "the agent is still running" agent_alive
finish
