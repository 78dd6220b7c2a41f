#!/bin/bash
# Reproduces the figures in docs/BENCHMARKS.md: every comparison runs side
# by side in one run (interleaved round by round by timeit), over Unix
# sockets on this machine.  Prints a Markdown table.
#
#   bench/run.sh            full run (a few minutes)
#   bench/run.sh --quick    fewer rounds, for a smoke test
#   bench/run.sh [--quick] SECTION...   only these: startup exec bulk
#                           socat cp list echo libvirt
set -eu
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = --quick ] && { quick=1; shift; }
sections=" ${*:-startup exec bulk socat cp list echo libvirt} "
want() { case $sections in *" $1 "*) return 0 ;; esac; return 1; }
scripts/deps.sh build bench vm
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DGUEST_TESTS=OFF >/dev/null
cmake --build build-bench -j "$(nproc)" >/dev/null
# guest cp without its checksum, for the cp rows' "what it costs" (never
# installed or used for anything else).
cmake -S . -B build-bench-unverified -DCMAKE_BUILD_TYPE=Release \
    -DGUEST_TESTS=OFF -DGUEST_BENCH_UNVERIFIED=ON >/dev/null
cmake --build build-bench-unverified -j "$(nproc)" --target guest-cli \
    guest-agent >/dev/null
U=$PWD/build-bench-unverified/guest
B=$PWD/build-bench/bench
G=$PWD/build-bench/guest
dir=$(mktemp -d)
shm=$(mktemp -d /dev/shm/guest-bench.XXXXXX)	# cp's files: tmpfs
pids=()
wq_old=
cleanup() {
	[ -n "$wq_old" ] && echo "$wq_old" 2>/dev/null >/sys/devices/virtual/workqueue/cpumask
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -f "$dir/sshd.pid" ] && kill "$(cat "$dir/sshd.pid")" 2>/dev/null
	[ -d "$dir/lv" ] && tests/libvirt/daemon.sh stop "$dir/lv"
	rm -rf "$dir" "$shm"
}
trap cleanup EXIT INT TERM
# Listening, not just bound (flag 0x10000 in /proc/net/unix).
waitsock() {
	until awk -v p="$1" '$NF == p && $4 == "00010000" { f = 1 }
	    END { exit !f }' /proc/net/unix; do sleep 0.05; done
}

"$PWD/build-bench/guest-agent" --listen "unix:$dir/agent.sock" \
    --state-dir "$dir/state" 2>/dev/null &
pids+=($!)
# The same agent trusting a key: over a Unix socket it then wants every
# session signed, as over vsock.  The user's key from a file (no .pub
# beside it, so ssh-agent is not asked) and through ssh-agent.
export GUEST_KNOWN_AGENTS=$dir/known_agents
ssh-keygen -q -t ed25519 -N '' -C bench -f "$dir/key"
mkdir "$dir/filekey" && cp "$dir/key" "$dir/filekey/key"
echo "* $(cat "$dir/key.pub")" >"$dir/authorized_keys"
"$PWD/build-bench/guest-agent" --listen "unix:$dir/auth.sock" \
    --state-dir "$dir/state2" --authorized-keys "$dir/authorized_keys" \
    2>/dev/null &
pids+=($!)
eval "$(ssh-agent -s)" >/dev/null
pids+=("$SSH_AGENT_PID")
ssh-add -q "$dir/key" 2>/dev/null
"$B/exec-floor" serve "$dir/floor.sock" & pids+=($!)
"$B/exec-floor" serve-fork "$dir/floor-fork.sock" & pids+=($!)
"$B/rawcat" serve "$dir/raw.sock" & pids+=($!)
"$B/rawcat" sink "$dir/sink.sock" & pids+=($!)
waitsock "$dir/agent.sock"; waitsock "$dir/floor.sock"; waitsock "$dir/raw.sock"
waitsock "$dir/auth.sock"
waitsock "$dir/floor-fork.sock"
waitsock "$dir/sink.sock"
A="-C unix:$dir/agent.sock"

# A private sshd on loopback for the ssh baseline, when there is one.
SSH=(); SCP=(); HOST=
if [ -x /usr/sbin/sshd ] && command -v ssh >/dev/null; then
	mkdir -p /run/sshd
	ssh-keygen -q -t ed25519 -N '' -f "$dir/hostkey"
	ssh-keygen -q -t ed25519 -N '' -f "$dir/userkey"
	cat >"$dir/sshd_config" <<CONF
Port 22022
ListenAddress 127.0.0.1
HostKey $dir/hostkey
AuthorizedKeysFile $dir/userkey.pub
PidFile $dir/sshd.pid
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
Subsystem sftp /usr/lib/openssh/sftp-server
CONF
	/usr/sbin/sshd -f "$dir/sshd_config"
	SSH=(ssh -F none -i "$dir/userkey" -p 22022 -o StrictHostKeyChecking=no
	    -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes
	    "$(id -un)@127.0.0.1")
	SCP=(scp -q -F none -i "$dir/userkey" -P 22022 -o StrictHostKeyChecking=no
	    -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes)
	HOST="$(id -un)@127.0.0.1"
	for i in $(seq 1 50); do "${SSH[@]}" true 2>/dev/null && break; sleep 0.1; done
fi

if [ $quick = 1 ]; then N1=50; N2=30; NB=2; BULK=268435456; PTYB=33554432
else N1=500; N2=300; NB=7; BULK=1073741824; PTYB=268435456; fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# pct FILE P: the P-th percentile of the samples in FILE.
pct() { sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END { i = int(NR * p / 100 + 0.5); if (i < 1) i = 1; print v[i] }'; }
mbs() { awk -v n="$1" -v us="$2" 'BEGIN { printf "%.0f", n / us }'; }

echo "Machine: $(nproc) cores, $(uname -r), $(date -u +%Y-%m-%d)"
echo
echo "| measurement | guest | baseline | ratio | target |"
echo "|---|---|---|---|---|"

if want startup; then
out=$("$B/timeit" -n $N1 -- "$G" --version ::: "$B/empty")
g=$(echo "$out" | sed -n 1p | cut -d' ' -f1); e=$(echo "$out" | sed -n 2p | cut -d' ' -f1)
echo "| start-up: \`guest --version\` vs an empty dynamic binary (median) | ${g} µs | ${e} µs | $(ratio "$g" "$e")x | ≤ 2x |"
# A Tab: guest __complete with an inventory of five guests (libvirt's test
# driver, refreshed once), against the bare start-up of the same binary.
cp tests/inventory/node.xml "$dir/node.xml"
GUEST_INVENTORY=$dir/tab.db "$G" env add "test://$dir/node.xml" --name lab >/dev/null
GUEST_INVENTORY=$dir/tab.db "$G" list lab >/dev/null
out=$(GUEST_INVENTORY=$dir/tab.db "$B/timeit" -n $N1 -- "$G" __complete "guest vsh lab " ::: "$G" __complete "guest cp lab/" ::: "$G" --version)
t=$(echo "$out" | sed -n 1p | cut -d' ' -f1); c=$(echo "$out" | sed -n 2p | cut -d' ' -f1)
v=$(echo "$out" | sed -n 3p | cut -d' ' -f1)
echo "| completion: a Tab (\`guest __complete 'guest vsh lab '\`: envs and guests from the inventory) vs \`guest --version\` (median) | ${t} µs | ${v} µs | +$((t - v)) µs | (a Tab: well under 100 ms) |"
echo "| completion: a Tab after \`guest cp lab/\` (ENV/GUEST:) vs \`guest --version\` (median) | ${c} µs | ${v} µs | +$((c - v)) µs | (a Tab: well under 100 ms) |"
fi

if want exec; then
# The floors side by side with guest; ssh apart, so that its half-second
# of key exchange between rounds does not cool the others' caches.
out=$("$B/timeit" -n $N2 -- $G $A vsh -- true ::: "$B/exec-floor" run "$dir/floor.sock" true ::: "$B/exec-floor" run "$dir/floor-fork.sock" true)
g=$(echo "$out" | sed -n 1p | cut -d' ' -f1); f=$(echo "$out" | sed -n 2p | cut -d' ' -f1)
o=$(echo "$out" | sed -n 3p | cut -d' ' -f1)
echo "| one-shot exec: \`guest vsh -- true\` vs the lean exec server (accept, posix_spawn, status byte; median) | ${g} µs | ${f} µs | $(ratio "$g" "$f")x | ≤ 1.3x |"
echo "| one-shot exec: \`guest vsh -- true\` vs the earlier floor (a process per connection, fork+exec) | ${g} µs | ${o} µs | $(ratio "$g" "$o")x | (reference) |"
# Where the difference lies: the agent's side alone (a recorded Hello and
# ExecRequest for true, sent by the floor's own minimal client), and the
# client's start-up.
printf '\0\0\0\065\022\063\010\002\020\002\032\013guest 0.1.0\072\040AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\0\0\0\010\042\006\012\004true' >"$dir/req.bin"
out=$("$B/timeit" -n $N2 -- "$B/exec-floor" send "$dir/agent.sock" "$dir/req.bin" ::: "$B/exec-floor" run "$dir/floor.sock" true ::: $G --version ::: "$B/empty")
a=$(echo "$out" | sed -n 1p | cut -d' ' -f1); f=$(echo "$out" | sed -n 2p | cut -d' ' -f1)
v=$(echo "$out" | sed -n 3p | cut -d' ' -f1); e=$(echo "$out" | sed -n 4p | cut -d' ' -f1)
echo "| one-shot exec, the agent's side: a minimal client's recorded request to guest-agent vs the same client to the lean server | ${a} µs | ${f} µs | $(ratio "$a" "$f")x | (reference) |"
echo "| one-shot exec, the client's side: \`guest --version\` vs an empty binary, in the same rounds | ${v} µs | ${e} µs | +$((v - e)) µs | (reference) |"
# Authentication: the same one-shot, signed with a key from a file and
# through ssh-agent, against the agent that wants no key (both prove
# their host key and pin it).
for s in agent auth; do $G -C "unix:$dir/$s.sock" -i "$dir/filekey/key" vsh -- true 2>/dev/null; done
# (HOME without keys: the default finds its key by asking ssh-agent.)
mkdir -p "$dir/home"
out=$(HOME=$dir/home "$B/timeit" -n $N2 -- $G -C "unix:$dir/auth.sock" -i "$dir/filekey/key" vsh -- true ::: $G -C "unix:$dir/auth.sock" -i "$dir/key.pub" vsh -- true ::: $G -C "unix:$dir/auth.sock" vsh -- true ::: $G $A vsh -- true)
k=$(echo "$out" | sed -n 1p | cut -d' ' -f1); s=$(echo "$out" | sed -n 2p | cut -d' ' -f1)
d=$(echo "$out" | sed -n 3p | cut -d' ' -f1); n=$(echo "$out" | sed -n 4p | cut -d' ' -f1)
echo "| one-shot exec signed with a key file (\`-i KEY\`) vs no key asked (median) | ${k} µs | ${n} µs | $(ratio "$k" "$n")x | ≤ 1.1x |"
echo "| one-shot exec signed through ssh-agent (\`-i KEY.pub\`: one request to it) vs no key asked (median) | ${s} µs | ${n} µs | $(ratio "$s" "$n")x | ≤ 1.1x |"
echo "| one-shot exec signed through ssh-agent, the key found by asking it (no \`-i\`: two requests) vs no key asked (median) | ${d} µs | ${n} µs | $(ratio "$d" "$n")x | ≤ 1.1x |"
if [ ${#SSH[@]} -gt 0 ]; then
	out=$("$B/timeit" -n $((N2 / 10)) -- $G $A vsh -- true ::: "${SSH[@]}" true)
	g=$(echo "$out" | sed -n 1p | cut -d' ' -f1); s=$(echo "$out" | sed -n 2p | cut -d' ' -f1)
	echo "| one-shot exec: \`guest vsh -- true\` vs \`ssh localhost true\` (median) | ${g} µs | ${s} µs | $(ratio "$g" "$s")x | (faster) |"
fi
fi

if want bulk; then
out=$("$B/timeit" -n $NB -w 1 -- sh -c "head -c $BULK /dev/zero | $G $A vsh -T -- cat" ::: sh -c "head -c $BULK /dev/zero | $B/rawcat run $dir/raw.sock")
g=$(echo "$out" | sed -n 1p | cut -d' ' -f1); r=$(echo "$out" | sed -n 2p | cut -d' ' -f1)
echo "| bulk without PTY: $((BULK >> 20)) MiB through \`vsh -T -- cat\` vs \`cat\` on a raw socket | $(mbs $BULK "$g") MB/s | $(mbs $BULK "$r") MB/s | $(ratio "$r" "$g") | ≥ 0.7 |"

# And, in the same rounds, the least any remote terminal does: the local
# relay split in two processes over a Unix socket, no protocol
# (ptylocal -c to ptylocal -l): what a socket hop and a second process
# cost here, whatever speaks over them.
"$B/ptylocal" -l "$dir/ptybulk.sock" head -c $PTYB /dev/zero & pids+=($!)
waitsock "$dir/ptybulk.sock"
out=$("$B/timeit" -n $NB -w 1 -- $G $A vsh -t -- head -c $PTYB /dev/zero ::: "$B/ptylocal" head -c $PTYB /dev/zero ::: "$B/ptylocal" -c "$dir/ptybulk.sock")
g=$(echo "$out" | sed -n 1p | cut -d' ' -f1); p=$(echo "$out" | sed -n 2p | cut -d' ' -f1)
x=$(echo "$out" | sed -n 3p | cut -d' ' -f1)
echo "| bulk through a PTY: $((PTYB >> 20)) MiB from \`vsh -t -- head\` vs a local PTY relay | $(mbs $PTYB "$g") MB/s | $(mbs $PTYB "$p") MB/s | $(ratio "$p" "$g") | ≥ 0.9 |"
echo "| bulk through a PTY: the least any remote terminal does (two relays and a socket, no protocol) vs the local PTY relay | $(mbs $PTYB "$x") MB/s | $(mbs $PTYB "$p") MB/s | $(ratio "$p" "$x") | (reference; \`vsh -t\` vs it: $(ratio "$x" "$g")) |"
fi

# The socat rows: a producer that writes 1 MiB blocks, so the relay, not
# the producer, is what is measured; then the same with `head -c`, whose
# 8 KiB writes make the producer share the two cores with the relay.
if want socat; then
SRC="dd if=/dev/zero bs=1M count=$((BULK >> 20)) status=none"
out=$("$B/timeit" -n $NB -w 1 -- sh -c "$SRC | $G -C unix:$dir/sink.sock socat" \
    ::: sh -c "$SRC | $B/rawcat run $dir/sink.sock" \
    ::: sh -c "$SRC | socat - UNIX-CONNECT:$dir/sink.sock" \
    ::: sh -c "$SRC | socat -b 262144 - UNIX-CONNECT:$dir/sink.sock")
g=$(echo "$out" | sed -n 1p | cut -d' ' -f1); r=$(echo "$out" | sed -n 2p | cut -d' ' -f1)
s8=$(echo "$out" | sed -n 3p | cut -d' ' -f1); s256=$(echo "$out" | sed -n 4p | cut -d' ' -f1)
echo "| socat relay: $((BULK >> 20)) MiB through \`guest socat\` vs a direct connection | $(mbs $BULK "$g") MB/s | $(mbs $BULK "$r") MB/s | $(ratio "$r" "$g") | ≥ 0.75 |"
echo "| socat relay: \`guest socat\` vs \`socat\` (default 8 KiB buffer) | $(mbs $BULK "$g") MB/s | $(mbs $BULK "$s8") MB/s | $(ratio "$s8" "$g")x | ≥ 4.5x |"
echo "| socat relay: \`guest socat\` vs \`socat -b 262144\` | $(mbs $BULK "$g") MB/s | $(mbs $BULK "$s256") MB/s | $(ratio "$s256" "$g")x | ≥ 1.5x |"
out=$("$B/timeit" -n $NB -w 1 -- sh -c "head -c $BULK /dev/zero | $G -C unix:$dir/sink.sock socat" \
    ::: sh -c "head -c $BULK /dev/zero | socat -b 262144 - UNIX-CONNECT:$dir/sink.sock")
g=$(echo "$out" | sed -n 1p | cut -d' ' -f1); s256=$(echo "$out" | sed -n 2p | cut -d' ' -f1)
echo "| socat relay, fed by \`head -c\` (8 KiB writes): \`guest socat\` vs \`socat -b 262144\` | $(mbs $BULK "$g") MB/s | $(mbs $BULK "$s256") MB/s | $(ratio "$s256" "$g")x | (producer-bound) |"
fi

# Keystroke echo: one key at a time through a terminal client to `cat` on
# a PTY at the far end and back (bench/echo-rtt), for guest console, guest
# vsh -t, a local PTY relay (the floor: ptylocal -i, one relay hop) and
# ssh -tt.  The same CPU placement for all: everything on CPU 1, the
# driver, the clients, the far ends (an agent of its own whose console
# program is cat; sshd) and the kernel's unbound workers, which move PTY
# bytes (on this VM a wake-up of an idle vCPU costs up to milliseconds, so
# a PTY worker landing on the other CPU would measure the host, not us).
# Rounds interleaved.
if want echo; then
EA="-C unix:$dir/echo.sock"
taskset -c 1 "$PWD/build-bench/guest-agent" --listen "unix:$dir/echo.sock" \
    --state-dir "$dir" --console-program cat --console-at-start 2>/dev/null &
pids+=($!)
waitsock "$dir/echo.sock"
# For reference, the least any remote terminal does: two relays and a
# socket, no protocol at all (ptylocal -c to ptylocal -l running cat).
taskset -c 1 "$B/ptylocal" -l "$dir/pair.sock" cat &
pids+=($!)
waitsock "$dir/pair.sock"
[ ${#SSH[@]} -gt 0 ] && taskset -a -p -c 1 "$(cat "$dir/sshd.pid")" >/dev/null
WQ=/sys/devices/virtual/workqueue/cpumask
wq_old=$(cat $WQ 2>/dev/null || true)
echo 2 2>/dev/null >$WQ || echo "(unbound workqueues could not be pinned)" >&2
NE=400; RE=10
[ $quick = 1 ] && { NE=200; RE=2; }
# A remote terminal's key crosses the floor's hops and at least a socket
# each way between two processes: that round trip, measured bare.
hop_unix=$(taskset -c 1 "$B/hop-rtt" | awk '$1 == "unix" { print $2 }')
for r in $(seq 1 $RE); do
	taskset -c 1 "$B/echo-rtt" -n $NE -- "$B/ptylocal" -i cat >>"$dir/e.floor"
	taskset -c 1 "$B/echo-rtt" -n $NE -- $G $EA console --no-history >>"$dir/e.console"
	taskset -c 1 "$B/echo-rtt" -n $NE -- $G $EA vsh -t -- cat >>"$dir/e.vsh"
	taskset -c 1 "$B/echo-rtt" -n $NE -- "$B/ptylocal" -c "$dir/pair.sock" >>"$dir/e.pair"
	if [ ${#SSH[@]} -gt 0 ]; then
		taskset -c 1 "$B/echo-rtt" -n $NE -- "${SSH[@]}" -tt cat >>"$dir/e.ssh"
	fi
done
[ -n "$wq_old" ] && echo "$wq_old" 2>/dev/null >$WQ || true
[ ${#SSH[@]} -gt 0 ] && taskset -a -p -c 0-$(($(nproc) - 1)) "$(cat "$dir/sshd.pid")" >/dev/null
f50=$(pct "$dir/e.floor" 50); f99=$(pct "$dir/e.floor" 99)
x50=$(pct "$dir/e.pair" 50); x99=$(pct "$dir/e.pair" 99)
lb=$(awk -v f="$f50" -v h="$hop_unix" 'BEGIN { printf "%.0f", f + h }')
echo "| echo p50: the least any remote terminal can take, the floor plus one bare socket round trip between two processes (${hop_unix} µs) | ${lb} µs | ${f50} µs | $(ratio "$lb" "$f50")x | (for reference) |"
for c in console vsh; do
	c50=$(pct "$dir/e.$c" 50); c99=$(pct "$dir/e.$c" 99)
	what="\`guest console\`"; [ $c = vsh ] && what="\`guest vsh -t\`"
	echo "| echo p50: $what vs a local PTY relay ($((NE * RE)) keys) | ${c50} µs | ${f50} µs | $(ratio "$c50" "$f50")x | ≤ 1.3x |"
	echo "| echo p99: $what vs a local PTY relay | ${c99} µs | ${f99} µs | $(ratio "$c99" "$f99")x | ≤ 2x |"
	if [ ${#SSH[@]} -gt 0 ]; then
		s50=$(pct "$dir/e.ssh" 50); s99=$(pct "$dir/e.ssh" 99)
		echo "| echo p50 / p99: $what vs \`ssh -tt localhost\` | ${c50} / ${c99} µs | ${s50} / ${s99} µs | $(ratio "$c50" "$s50")x / $(ratio "$c99" "$s99")x | below |"
	fi
	echo "| echo p50 / p99: $what vs a bare two-process relay (two relays and a socket, no protocol) | ${c50} / ${c99} µs | ${x50} / ${x99} µs | $(ratio "$c50" "$x50")x / $(ratio "$c99" "$x99")x | (for reference) |"
done
fi

# guest cp, on tmpfs (so the disk does not decide): one big file, 256 MiB
# (41 runs) and 2 GiB (11), pushed and pulled against two floors side by
# side, with a build without the checksum beside them: the bare copy in
# the same direction (sendfile into a bare socket, written out on the
# other side; the process started for it sends in a push and receives in
# a pull, as guest cp's does) and cp(1) of the same file on the same file
# system, the least a copy can cost at all; a pull also against the bare
# push, the floor its rows had before.  The 256 MiB copies again, guest
# cp against the bare copy only, with the two ends on separate CPUs.
# Each row gives the ratio of the medians and, beside it, of the 10th
# percentiles: on this VM a run is only ever slowed by the host (its
# faults on fresh pages, its scheduling), never sped up, so the fast end
# shows the copy with the least of that.  Then against scp over loopback,
# apart (its two seconds a run would heat the others' rounds).  A tree of
# 10,000 files of 4 KiB against a local tar c | tar x and scp -r.
if want cp; then
"$B/rawfile" serve "$dir/rawfile.sock" "$shm/raw.out" & pids+=($!)
"$B/rawfile" offer "$dir/rawoffer.sock" "$shm/big" & pids+=($!)
waitsock "$dir/rawfile.sock"; waitsock "$dir/rawoffer.sock"
# 41 runs of 256 MiB: on this VM a big file's fresh pages cost wildly
# different amounts from run to run (a page the VM gave back to the host
# costs a host fault when written again, and which pages a new file gets
# depends on the runs around it); more, smaller runs keep the median
# steady.  Every candidate first removes what it wrote last
# time, so that each writes a new file: fresh pages cost much more than
# pages a truncate has just freed, which would favour an in-place
# rewrite.
# The same copy by the build without the checksum (both ends: its own
# agent), to show what the checksum costs.
"$PWD/build-bench-unverified/guest-agent" --listen "unix:$dir/unverified.sock" \
    --state-dir "$dir/state3" 2>/dev/null & pids+=($!)
waitsock "$dir/unverified.sock"
$U -C "unix:$dir/unverified.sock" vsh -- true 2>/dev/null	# pins its key
# The ends on separate CPUs, as a host's and its guest's are: the servers
# (the agent's place) on CPU 1, the process started for the copy on CPU 0.
# Left to itself the scheduler of this VM of two CPUs now and then runs
# both ends on one, and the end with more work of its own loses more by
# it (guest cp's sender reads every byte to hash it; sendfile does not).
taskset -c 1 "$PWD/build-bench/guest-agent" --listen "unix:$dir/pinned.sock" \
    --state-dir "$dir/state4" 2>/dev/null & pids+=($!)
taskset -c 1 "$B/rawfile" serve "$dir/rawpin.sock" "$shm/raw.out" & pids+=($!)
taskset -c 1 "$B/rawfile" offer "$dir/offerpin.sock" "$shm/big" & pids+=($!)
waitsock "$dir/pinned.sock"; waitsock "$dir/rawpin.sock"; waitsock "$dir/offerpin.sock"
$G -C "unix:$dir/pinned.sock" vsh -- true 2>/dev/null
# The candidates, each against the servers on socket SOCK.
gcp() { echo "rm -f $shm/g.out; $G -C unix:$1 cp -q $2"; }	# SOCK WHAT
bare_push() { echo "rm -f $shm/raw.out; $B/rawfile send $1 $shm/big"; }
bare_pull() { echo "rm -f $shm/rawin.out; $B/rawfile fetch $1 $shm/rawin.out"; }
# vs_row SIZE LABEL GUEST FLOOR TARGET: guest cp against a floor (timeit
# lines), the medians and beside them the 10th-90th percentiles and the
# ratio of the 10th percentiles.
vs_row() {
	local size=$1 g=($3) r=($4)
	echo "| $2 (10th-90th percentile: $(mbs "$size" "${g[2]}")-$(mbs "$size" "${g[1]}") vs $(mbs "$size" "${r[2]}")-$(mbs "$size" "${r[1]}") MB/s; ratio of the 10th percentiles $(ratio "${r[1]}" "${g[1]}")) | $(mbs "$size" "${g[0]}") MB/s | $(mbs "$size" "${r[0]}") MB/s | $(ratio "${r[0]}" "${g[0]}") | $5 |"
}
# cp_rows SIZE RUNS [pinned]: the file both ways, against both floors;
# with pinned, also with the ends on separate CPUs.
cp_rows() {
	local size=$1 n=$2 what d g r u p bare also k L
	local push
	push=$(bare_push "$dir/rawfile.sock")
	head -c "$size" /dev/urandom >"$shm/big"
	for d in push pull; do
		if [ $d = push ]; then what="$shm/big :$shm/g.out"
			bare=$push; also=()
		else what=":$shm/big $shm/g.out"
			bare=$(bare_pull "$dir/rawoffer.sock")
			also=(::: sh -c "$push")
		fi
		out=$("$B/timeit" -n "$n" -w 1 -- sh -c "$(gcp "$dir/agent.sock" "$what")" \
		    ::: sh -c "$bare" \
		    ::: sh -c "rm -f $shm/cp.out; cp $shm/big $shm/cp.out" \
		    ::: sh -c "rm -f $shm/g.out; $U -C unix:$dir/unverified.sock cp -q $what" \
		    "${also[@]}")
		# One timeit line a candidate: median p10 p90 command.
		mapfile -t L <<<"$out"
		g=${L[0]%% *}; r=${L[1]%% *}; u=${L[3]%% *}
		vs_row "$size" "cp $d: $((size >> 20)) MiB, \`guest cp\` (verified) vs a bare file-to-socket-to-file $d" \
		    "${L[0]}" "${L[1]}" "≥ 0.9"
		if [ $d = pull ]; then
			p=${L[4]%% *}
			echo "| cp pull: $((size >> 20)) MiB, \`guest cp\` (verified) vs the bare push (the fresh process sends; the floor before) | $(mbs "$size" "$g") MB/s | $(mbs "$size" "$p") MB/s | $(ratio "$p" "$g") | (reference; bare pull vs push: $(ratio "$p" "$r")) |"
		fi
		vs_row "$size" "cp $d: $((size >> 20)) MiB, \`guest cp\` vs \`cp\` of the same file on the same file system" \
		    "${L[0]}" "${L[2]}" "(second floor)"
		echo "| cp $d: $((size >> 20)) MiB, what the checksum costs: a build without it vs the bare copy | $(mbs "$size" "$u") MB/s | $(mbs "$size" "$r") MB/s | $(ratio "$r" "$u") | (verified: $(ratio "$r" "$g")) |"
	done
	if [ "${3:-}" = pinned ]; then
		out=$("$B/timeit" -n "$n" -w 1 -- taskset -c 0 sh -c "$(gcp "$dir/pinned.sock" "$shm/big :$shm/g.out")" \
		    ::: taskset -c 0 sh -c "$(bare_push "$dir/rawpin.sock")" \
		    ::: taskset -c 0 sh -c "$(gcp "$dir/pinned.sock" ":$shm/big $shm/g.out")" \
		    ::: taskset -c 0 sh -c "$(bare_pull "$dir/offerpin.sock")")
		mapfile -t L <<<"$out"
		for d in push pull; do
			[ $d = push ] && k=0 || k=2
			vs_row "$size" "cp $d: $((size >> 20)) MiB, the ends on separate CPUs (as a host's and its guest's are), \`guest cp\` vs the bare $d" \
			    "${L[k]}" "${L[k + 1]}" "(≥ 0.9)"
		done
	fi
	rm -f "$shm"/*.out "$shm/big"
}
# What every copy costs before and after its bytes (start-up, handshake,
# fsync and rename, the answer): a 4 KiB file.
head -c 4096 /dev/urandom >"$shm/small"
out=$("$B/timeit" -n $N2 -w 3 -- sh -c "rm -f $shm/g.out; $G $A cp -q $shm/small :$shm/g.out" \
    ::: sh -c "rm -f $shm/raw.out; $B/rawfile send $dir/rawfile.sock $shm/small")
g=$(echo "$out" | sed -n 1p | cut -d' ' -f1); r=$(echo "$out" | sed -n 2p | cut -d' ' -f1)
echo "| cp push of 4 KiB: a copy's fixed cost, \`guest cp\` vs the bare copy (median) | ${g} µs | ${r} µs | +$((g - r)) µs | (reference) |"
if [ $quick = 1 ]; then cp_rows 67108864 5 pinned
else cp_rows 268435456 41 pinned; cp_rows 2147483648 11; fi
if [ ${#SSH[@]} -gt 0 ]; then
	CPB=268435456; [ $quick = 1 ] && CPB=67108864
	head -c $CPB /dev/urandom >"$shm/big"
	out=$("$B/timeit" -n $NB -w 1 -- sh -c "rm -f $shm/g.out; $G $A cp -q $shm/big :$shm/g.out" \
	    ::: sh -c "rm -f $shm/scp.out; ${SCP[*]} $shm/big $HOST:$shm/scp.out" \
	    ::: sh -c "rm -f $shm/g.in; $G $A cp -q :$shm/big $shm/g.in" \
	    ::: sh -c "rm -f $shm/scp.in; ${SCP[*]} $HOST:$shm/big $shm/scp.in")
	for d in push pull; do
		[ $d = push ] && k=1 || k=3
		g=$(echo "$out" | sed -n ${k}p | cut -d' ' -f1); s=$(echo "$out" | sed -n $((k + 1))p | cut -d' ' -f1)
		echo "| cp $d: $((CPB >> 20)) MiB, \`guest cp\` vs \`scp\` over loopback | $(mbs $CPB "$g") MB/s | $(mbs $CPB "$s") MB/s | $(ratio "$s" "$g")x | ≥ 5x |"
	done
fi
rm -f "$shm"/*.out "$shm"/*.in "$shm/big"
mkdir -p "$shm/tree" "$shm/t1" "$shm/t2" "$shm/t3"
for d in $(seq 1 100); do
	mkdir "$shm/tree/d$d"
	for f in $(seq 1 100); do head -c 4096 /dev/urandom >"$shm/tree/d$d/f$f"; done
done
NT=$NB; [ $quick = 1 ] && NT=2
cand=("$G" $A cp -q -r "$shm/tree" ":$shm/t1/" ::: sh -c "tar c -C $shm tree | tar x -C $shm/t2")
[ ${#SSH[@]} -gt 0 ] && cand+=(::: "${SCP[@]}" -r "$shm/tree" "$HOST:$shm/t3/")
out=$("$B/timeit" -n $NT -w 1 -- "${cand[@]}")
g=$(echo "$out" | sed -n 1p | cut -d' ' -f1); r=$(echo "$out" | sed -n 2p | cut -d' ' -f1)
echo "| cp -r: 10,000 files of 4 KiB, \`guest cp -r\` vs a local \`tar c \| tar x\` | $(awk -v u="$g" 'BEGIN { printf "%.2f", u / 1e6 }') s | $(awk -v u="$r" 'BEGIN { printf "%.2f", u / 1e6 }') s | $(ratio "$r" "$g") | ≥ 0.8 |"
if [ ${#SSH[@]} -gt 0 ]; then
	s=$(echo "$out" | sed -n 3p | cut -d' ' -f1)
	echo "| cp -r: \`guest cp -r\` vs \`scp -r\` over loopback | $(awk -v u="$g" 'BEGIN { printf "%.2f", u / 1e6 }') s | $(awk -v u="$s" 'BEGIN { printf "%.2f", u / 1e6 }') s | $(ratio "$s" "$g")x | ≥ 25x |"
fi
rm -rf "$shm/tree" "$shm/t1" "$shm/t2" "$shm/t3"
fi

# guest list against virsh list --all on libvirt's test driver, which both
# pay for on open (it parses the node XML: ~0.2 ms per domain).  guest has
# refreshed once before (its steady state: XML only for changed ids).
if want list; then
if [ $quick = 1 ]; then NL="10 100 1000"; else NL="10 100 1000 5000"; fi
declare -A lg lv
for n in $NL; do
	bench/gen-node.sh "$n" >"$dir/node$n.xml"
	export GUEST_INVENTORY="$dir/inv$n.db" LIBVIRT_DEFAULT_URI="test://$dir/node$n.xml"
	"$G" list >/dev/null
	case $n in 5000) k=7 ;; 1000) k=15 ;; *) k=40 ;; esac
	[ $quick = 1 ] && k=5
	out=$("$B/timeit" -n $k -w 1 -- "$G" list ::: virsh list --all)
	lg[$n]=$(echo "$out" | sed -n 1p | cut -d' ' -f1)
	lv[$n]=$(echo "$out" | sed -n 2p | cut -d' ' -f1)
	echo "| list: $n domains, \`guest list\` vs \`virsh list --all\` | $(awk -v u="${lg[$n]}" 'BEGIN { printf "%.1f", u / 1000 }') ms | $(awk -v u="${lv[$n]}" 'BEGIN { printf "%.1f", u / 1000 }') ms | $(ratio "${lg[$n]}" "${lv[$n]}")x | ≤ 1x |"
done
unset GUEST_INVENTORY LIBVIRT_DEFAULT_URI
echo
echo "Cost per domain above 10 domains, (t(N) - t(10)) / (N - 10):"
echo
echo "| N | guest list | virsh list --all |"
echo "|---|---|---|"
for n in $NL; do
	[ "$n" = 10 ] && continue
	echo "| $n | $(awk -v a="${lg[$n]}" -v b="${lg[10]}" -v n="$n" 'BEGIN { printf "%.0f", (a - b) / (n - 10) }') µs | $(awk -v a="${lv[$n]}" -v b="${lv[10]}" -v n="$n" 'BEGIN { printf "%.0f", (a - b) / (n - 10) }') µs |"
done
fi

# libvirt, on a real daemon (a private libvirtd, tests/libvirt/daemon.sh)
# and real TCG VMs (tests/libvirt/image.sh): guest launch against virsh
# create + virsh console, keystroke echo through guest serial against
# virsh console (the VM's shell runs cat on ttyS0: its line discipline
# echoes), and guest list --all against virsh list --all as the daemon's
# defined domains grow.  Rounds interleaved.
if want libvirt; then
tests/libvirt/image.sh build-bench/vm
mkdir -p "$dir/lv" "$dir/img"
chmod 755 "$dir" "$dir/img"
cp build-bench/vm/kernel/vmlinux build-bench/vm/libvirt/initrd.cpio "$dir/img/"
U=$(tests/libvirt/daemon.sh start "$dir/lv")
export GUEST_INVENTORY="$dir/lv.db"
"$G" env add "$U" --name bench >/dev/null
vx() {	# NAME: the VM both launch, as a domain XML file
	cat >"$dir/$1.xml" <<XML
<domain type='qemu'><name>$1</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>
<os><type machine='q35'>hvm</type><kernel>$dir/img/vmlinux</kernel>
<initrd>$dir/img/initrd.cpio</initrd><cmdline>console=ttyS0</cmdline></os>
<features><acpi/></features>
<devices><serial type='pty'/><console type='pty'/><memballoon model='none'/></devices>
</domain>
XML
}
gone() { virsh -q -c "$U" destroy "$1" >/dev/null 2>&1; while virsh -q -c "$U" domstate "$1" >/dev/null 2>&1; do sleep 0.1; done; }
if [ $quick = 1 ]; then RL=2; NE2=50; RE2=2; else RL=15; NE2=200; RE2=5; fi
vx fb
for r in $(seq 1 $RL); do
	"$B/first-byte" "Linux version" -- "$G" launch bench "$dir/fb.xml" >>"$dir/fb.guest"
	gone fb
	"$B/first-byte" "Linux version" -- sh -c "virsh -q -c '$U' create '$dir/fb.xml' >/dev/null && exec virsh -c '$U' console fb" >>"$dir/fb.virsh"
	gone fb
done
med() { sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
g=$(med "$dir/fb.guest"); v=$(med "$dir/fb.virsh")
echo "| launch to the kernel's first line on the serial console: \`guest launch\` vs \`virsh create\` + \`virsh console\` (TCG, median of $RL) | $(awk -v u="$g" 'BEGIN { printf "%.0f", u / 1000 }') ms | $(awk -v u="$v" 'BEGIN { printf "%.0f", u / 1000 }') ms | $(ratio "$g" "$v")x | ≤ 1.0x |"

vx echo
"$G" launch bench "$dir/echo.xml" --detach >/dev/null
for i in $(seq 1 120); do
	printf 'echo up-$((40+2))\r' | "$G" serial bench echo 2>/dev/null | grep -q up-42 && break
	sleep 1
done
printf 'exec cat\r' | "$G" serial bench echo >/dev/null
for r in $(seq 1 $RE2); do
	"$B/echo-rtt" -n $NE2 -- "$G" serial bench echo >>"$dir/se.guest"
	"$B/echo-rtt" -n $NE2 -- virsh -c "$U" console echo >>"$dir/se.virsh"
done
g50=$(pct "$dir/se.guest" 50); g99=$(pct "$dir/se.guest" 99)
v50=$(pct "$dir/se.virsh" 50); v99=$(pct "$dir/se.virsh" 99)
echo "| serial echo p50: \`guest serial\` vs \`virsh console\` (a TCG VM's ttyS0) | ${g50} µs | ${v50} µs | $(ratio "$g50" "$v50")x | ≤ 1.0x |"
echo "| serial echo p99 | ${g99} µs | ${v99} µs | $(ratio "$g99" "$v99")x | ≤ 1.0x |"
gone echo

# balloon-stats against virsh dommemstat, whole process: a VM with a
# balloon whose statistics come every 2 s.
"$G" launch bench "$dir/img/vmlinux" --initrd "$dir/img/initrd.cpio" \
    --memory 256M --cpus 1 --virtio-vsock false --virtio-gpu false \
    --default-net false --name bs --detach >/dev/null
for i in $(seq 1 120); do
	printf 'echo up-$((40+2))\r' | "$G" serial bench bs 2>/dev/null | grep -q up-42 && break
	sleep 1
done
"$G" balloon-stats bench bs >/dev/null 2>&1
k=40; [ $quick = 1 ] && k=10
out=$("$B/timeit" -n $k -w 2 -- "$G" balloon-stats bench bs ::: virsh -c "$U" dommemstat bs)
g=$(echo "$out" | sed -n 1p | cut -d' ' -f1); v=$(echo "$out" | sed -n 2p | cut -d' ' -f1)
echo "| balloon statistics: \`guest balloon-stats\` vs \`virsh dommemstat\` (whole process) | $(awk -v u="$g" 'BEGIN { printf "%.1f", u / 1000 }') ms | $(awk -v u="$v" 'BEGIN { printf "%.1f", u / 1000 }') ms | $(ratio "$g" "$v")x | ≤ 1.0x |"
gone bs

have=0
for n in 10 100 1000; do
	: >"$dir/def.cmds"
	while [ $have -lt $n ]; do
		have=$((have + 1))
		echo "<domain type='qemu'><name>d$have</name><memory>65536</memory><os><type>hvm</type></os></domain>" >"$dir/d.xml.$have"
		echo "define $dir/d.xml.$have" >>"$dir/def.cmds"
	done
	virsh -q -c "$U" <"$dir/def.cmds" >/dev/null
	"$G" list bench --all >/dev/null
	case $n in 1000) k=15 ;; *) k=40 ;; esac
	[ $quick = 1 ] && k=5
	out=$("$B/timeit" -n $k -w 1 -- "$G" list bench --all ::: virsh -c "$U" list --all)
	g=$(echo "$out" | sed -n 1p | cut -d' ' -f1); v=$(echo "$out" | sed -n 2p | cut -d' ' -f1)
	echo "| list on a real libvirtd: $n defined domains, \`guest list --all\` vs \`virsh list --all\` | $(awk -v u="$g" 'BEGIN { printf "%.1f", u / 1000 }') ms | $(awk -v u="$v" 'BEGIN { printf "%.1f", u / 1000 }') ms | $(ratio "$g" "$v")x | ≤ 0.25x |"
done
unset GUEST_INVENTORY
fi
