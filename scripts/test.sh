#!/bin/sh
# Install what the tests need, build, and run every test: the normal build
# (with the real-vsock suite in a nested QEMU guest, tests/vm/), then again
# under ASan+UBSan, a minute of libFuzzer for each fuzz target, and the
# fully static agent.
set -eu
cd "$(dirname "$0")/.."
if [ "${1:-}" != --inside ]; then
	scripts/deps.sh build test vm package
	# The README's two commands need no package their own groups do not
	# install: the demo runs, and then every test, with only their
	# groups and a minimal Debian visible (scripts/only.sh), whatever
	# else this machine has.
	if [ "$(id -u)" -eq 0 ]; then
		echo "== the demo with only its packages (build, vm) and a minimal Debian"
		log=$(mktemp)
		if ! scripts/only.sh build vm -- scripts/demo.sh >"$log" 2>&1; then
			tail -n 30 "$log"
			echo "FAIL: scripts/demo.sh needs more than the build and vm groups"
			exit 1
		fi
		rm -f "$log"
		echo "PASS: scripts/demo.sh runs with only the build and vm groups"
		echo "== every test with only build, test, vm and package and a minimal Debian"
		exec scripts/only.sh build test vm package -- scripts/test.sh --inside
	fi
	echo "(not root: the tests run with every installed package visible)"
fi
jobs=$(nproc)

echo "== build and test (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGUEST_TESTS=ON >/dev/null
cmake --build build -j "$jobs"
(cd build && ctest --output-on-failure -j 2)

echo "== build and test under AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DGUEST_SANITIZE=ON >/dev/null
cmake --build build-asan -j "$jobs"
# (The nested-VM suites and the Debian packages, which build without the
# sanitizers, run once, in the normal build: TCG is slow enough.)
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j 2 -LE "vm|topology|package")

echo "== libFuzzer: each target 60 s from its saved corpus (scripts/fuzz.sh)"
scripts/fuzz.sh --seconds 60

echo "== static agent"
cmake -S . -B build-static -DGUEST_STATIC_AGENT=ON -DGUEST_TESTS=OFF >/dev/null
cmake --build build-static -j "$jobs" --target guest-agent
if ldd build-static/guest-agent >/dev/null 2>&1; then
	echo "FAIL: build-static/guest-agent is dynamically linked"
	exit 1
fi
build-static/guest-agent --version
# The static agent serves a session, user switch included.
sdir=$(mktemp -d)
build-static/guest-agent --listen "unix:$sdir/a.sock" 2>"$sdir/log" &
spid=$!
# (Listening, not just bound: flag 0x10000 in /proc/net/unix.)
until awk -v p="$sdir/a.sock" '$NF == p && $4 == "00010000" { f = 1 }
    END { exit !f }' /proc/net/unix; do sleep 0.05; done
out=$(build/guest -C "unix:$sdir/a.sock" vsh -u nobody -- id -un)
kill $spid
rm -rf "$sdir"
if [ "$out" != nobody ]; then
	echo "FAIL: static agent: wanted nobody, got '$out'"
	exit 1
fi
echo "PASS: static agent runs a session as another user"
echo "all tests passed"
