#!/bin/sh
# Install, build and show guest's main job: commands and shells in a
# machine over the agent.  Until the nested QEMU guest lands (tests/vm/),
# the agent runs right here on a Unix socket, standing in for a guest; the
# same commands reach a VM with "guest vsh ENV CID" over vsock.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" >/dev/null

dir=$(mktemp -d)
sock=$dir/agent.sock
build/guest-agent --listen "unix:$sock" 2>"$dir/agent.log" &
agent=$!
trap 'kill $agent 2>/dev/null; rm -rf "$dir"' EXIT INT TERM
while [ ! -S "$sock" ]; do sleep 0.05; done
G="build/guest -C unix:$sock"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

echo "guest demo: a local guest-agent on unix:$sock stands in for a VM"
echo "(no AF_VSOCK here: real vsock runs inside the nested test guest)."

step guest info
$G info
step guest vsh -- uname -a
$G vsh -- uname -a
step "guest vsh -- sh -c 'echo to stdout; echo to stderr >&2; exit 3'; echo status \$?"
$G vsh -- sh -c 'echo to stdout; echo to stderr >&2; exit 3' || echo "status $?"
step "printf 'a\\nb\\n' | guest vsh -- wc -l"
printf 'a\nb\n' | $G vsh -- wc -l
step "head -c 100M /dev/urandom | guest vsh -- sha256sum   (and locally)"
head -c 100000000 /dev/urandom >"$dir/blob"
$G vsh -- sha256sum <"$dir/blob"
sha256sum <"$dir/blob"
step "guest vsh -e GREETING=hello -w /tmp -- sh -c 'echo \$GREETING from \$(pwd)'"
$G vsh -e GREETING=hello -w /tmp -- sh -c 'echo $GREETING from $(pwd)'
step "guest vsh -- no-such-command; echo status \$?"
$G vsh -- no-such-command || echo "status $?"
step "guest vsh -t -- sh -c 'tty; stty size'   (a PTY in the guest)"
$G vsh -t -- sh -c 'tty; stty size' </dev/null
step "guest vsh 0 3 --dry-run   (env 0 is this host's vsock: CID 3, port 9001)"
build/guest vsh 0 3 --dry-run
echo
echo "For an interactive shell: build/guest -C unix:SOCKET vsh  (~. leaves a hung one)."
