# Shared by the scripts that build and boot the test guests (tests/vm/,
# tests/libvirt/image.sh, tests/topology/).

# copy_binaries ROOT BINARY...: each binary into ROOT/bin, with what ldd
# says it loads at the same paths.
copy_binaries() {
	local root=$1 b lib
	shift
	for b in "$@"; do
		cp "$b" "$root/bin/"
		for lib in $(ldd "$b" 2>/dev/null | grep -o '/[^ ]*'); do
			[ -e "$root$lib" ] || cp --parents -L "$lib" "$root"
		done
	done
}

# serial_open LOG: an empty serial log, followed on this terminal as it
# grows with GUEST_VM_LIVE=1.  serial_close LOG: stop following it, or
# print it whole when it was not followed.
serial_open() {
	: >"$1"
	SERIAL_TAIL=
	if [ "${GUEST_VM_LIVE:-}" = 1 ]; then
		tail -n +1 -f "$1" &
		SERIAL_TAIL=$!
	fi
}
serial_close() {
	if [ -n "$SERIAL_TAIL" ]; then
		sleep 0.2
		kill "$SERIAL_TAIL" 2>/dev/null
	else
		tr -d '\r' <"$1"
	fi
}

# vm_verdict WHO RC LIMIT LOG MARKER WHAT: the outcome of a QEMU run that
# timeout(1) bounded by LIMIT seconds and whose guest printed
# "MARKER: PASS" on its serial console (LOG) when its suite passed.
vm_verdict() {
	local who=$1 rc=$2 limit=$3 log=$4 marker=$5 what=$6
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		echo "$who: FAIL: $what did not finish within $limit s and was killed"
		return 1
	fi
	if [ "$rc" -ne 0 ]; then
		echo "$who: FAIL: $what's qemu exited with status $rc"
		return 1
	fi
	grep -q "^$marker: PASS" "$log" && return 0
	echo "$who: FAIL: no passing result from $what"
	return 1
}
