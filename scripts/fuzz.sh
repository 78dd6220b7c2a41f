#!/bin/sh
# libFuzzer runs of every fuzz target (clang, ASan + UBSan, undefined
# behaviour fatal), each starting from its saved corpus.
#
#   scripts/fuzz.sh [--seconds N] [--keep] [TARGET...]
#
# --seconds N  per target (default 60, what CI gives each)
# --keep       for a campaign before a release: merge what found new
#              coverage into tests/fuzz/corpus/TARGET and keep every
#              crash, leak or timeout there too, so that CTest's corpus
#              replay runs it from then on (and fails until it is fixed)
# TARGET       frame, copy, virt-rpc, auth (default: all)
#
# Exits 1 when a target found anything, printing its input's path.
set -eu
cd "$(dirname "$0")/.."
seconds=60
keep=
while [ $# -gt 0 ]; do
	case "$1" in
	--seconds) seconds=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	-*) echo "usage: scripts/fuzz.sh [--seconds N] [--keep] [TARGET...]" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || set -- frame copy virt-rpc auth
jobs=$(nproc)
# binutils' ar, named here: CMake would otherwise keep the llvm-ar it
# finds where llvm is installed, and a tree configured so fails where it
# is not (scripts/only.sh): such a tree is made anew.
for tool in $(sed -n 's/^set(CMAKE_AR "\(.*\)")$/\1/p' build-fuzz/CMakeFiles/*/CMakeCCompiler.cmake 2>/dev/null); do
	[ -x "$tool" ] || rm -rf build-fuzz
done
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DGUEST_FUZZ=ON \
    -DCMAKE_AR="$(command -v ar)" -DCMAKE_RANLIB="$(command -v ranlib)" >/dev/null
for t in "$@"; do
	cmake --build build-fuzz -j "$jobs" --target "fuzz-$t" >/dev/null
done

# The cp receiver's scratch files, on tmpfs where there is one; removed
# here, since not every way out of libFuzzer runs the target's cleanup.
scratch=$(mktemp -d "$( [ -w /dev/shm ] && echo /dev/shm || echo /tmp )/guest-fuzz.XXXXXX")
export FUZZ_TMPDIR=$scratch
trap 'rm -rf "$scratch"' EXIT
found=0
for t in "$@"; do
	corpus=tests/fuzz/corpus/$t
	work=$(mktemp -d)
	art=$(mktemp -d)
	cp "$corpus"/* "$work/"
	echo "== fuzz-$t: $seconds s from $(ls "$corpus" | wc -l) saved inputs"
	rc=0
	build-fuzz/tests/fuzz-$t -max_total_time="$seconds" -timeout=10 \
	    -print_final_stats=1 -artifact_prefix="$art/" "$work" \
	    >"build-fuzz/fuzz-$t.log" 2>&1 || rc=$?
	grep -E '^#[0-9]+.*DONE|^stat::number_of_executed_units|^stat::average_exec_per_sec' \
	    "build-fuzz/fuzz-$t.log" || true
	if [ "$rc" -ne 0 ] || [ -n "$(ls "$art")" ]; then
		found=1
		tail -n 40 "build-fuzz/fuzz-$t.log"
		echo "fuzz-$t: FOUND (exit $rc); the log: build-fuzz/fuzz-$t.log"
	fi
	if [ -n "$keep" ]; then
		for f in "$art"/*; do
			[ -e "$f" ] || continue
			cp "$f" "$corpus/"
			echo "fuzz-$t: kept $corpus/$(basename "$f")"
		done
		before=$(ls "$corpus" | wc -l)
		build-fuzz/tests/fuzz-$t -merge=1 "$corpus" "$work" \
		    >"build-fuzz/merge-$t.log" 2>&1
		echo "fuzz-$t: corpus $before -> $(ls "$corpus" | wc -l) inputs"
	else
		for f in "$art"/*; do
			[ -e "$f" ] && cp "$f" build-fuzz/ && echo "fuzz-$t: input in build-fuzz/$(basename "$f")"
		done
	fi
	rm -rf "$work" "$art"
done
[ "$found" -eq 0 ] && echo "fuzz: nothing found"
exit "$found"
