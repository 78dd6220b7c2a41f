# guest balloon and guest balloon-stats against a real libvirtd and a real
# TCG VM with a virtio balloon (its virtio_balloon driver loaded): Fuchsia's
# page count and output, --target, --wait until the guest has given the
# memory back (its own MemTotal shrinks), the floors and the maximum, the
# statistics in Fuchsia's layout and as JSON, a period set when there is
# none, --watch, and bad input with one line.
. "$(dirname "$0")/lib.sh"

"$GUEST" launch lab "$K" --initrd "$I" "${SMALL[@]}" --name b1 --detach >/dev/null
check "the VM boots" wait_shell b1
memtotal() {	# the guest's own MemTotal, in KiB
	printf 'grep MemTotal /proc/meminfo\r' | "$GUEST" serial lab b1 |
	    awk '/^MemTotal:/ { print $2 }'
}
t0=$(memtotal)
check "the guest reports its memory" test -n "$t0"

# --- balloon-stats ---------------------------------------------------------
out=$("$GUEST" balloon-stats lab b1); rc=$?
expect_eq "balloon-stats: status" 0 "$rc"
tags=$(printf '%s\n' "$out" | cut -c1-21 | tr -d ' ' | tr '\n' ' ')
expect_eq "balloon-stats: Fuchsia's tags in its order, then libvirt's" \
    "swap-in: swap-out: major-faults: minor-faults: free-memory: total-memory: available-memory: disk-caches: hugetlb-allocations: hugetlb-failures: actual-memory: rss: last-update: " "$tags"
check "balloon-stats: the value starts at column 22" \
    grep -Eq '^free-memory:         [0-9]+$' <<<"$out"
total=$(awk '/^total-memory:/ { print $2 }' <<<"$out")
expect_eq "total-memory is the guest's MemTotal, in bytes" $((t0 * 1024)) "$total"
expect_eq "actual-memory: all 256 MiB, in bytes" 268435456 \
    "$(awk '/^actual-memory:/ { print $2 }' <<<"$out")"
# The same sample as virsh dommemstat's (same last_update): the same
# figures, KiB made bytes.
same=no
for i in $(seq 1 10); do
	"$GUEST" balloon-stats lab b1 >"$T/g"
	virsh_ dommemstat b1 >"$T/v"
	g_up=$(date -u -d "$(awk '/^last-update:/ { print $2 }' "$T/g")" +%s)
	[ "$g_up" = "$(awk '$1 == "last_update" { print $2 }' "$T/v")" ] &&
	    { same=yes; break; }
done
expect_eq "balloon-stats and virsh dommemstat caught the same sample" yes "$same"
for pair in swap_in:swap-in swap_out:swap-out major_fault:major-faults \
    minor_fault:minor-faults unused:free-memory available:total-memory \
    usable:available-memory disk_caches:disk-caches actual:actual-memory \
    hugetlb_pgalloc:hugetlb-allocations hugetlb_pgfail:hugetlb-failures; do
	v=${pair%%:*}; g=${pair#*:}
	want=$(awk -v t="$v" '$1 == t { print $2 }' "$T/v")
	case $v in major_fault|minor_fault|hugetlb_*) ;; *) want=$((want * 1024)) ;; esac
	expect_eq "$g agrees with virsh dommemstat's $v" "$want" \
	    "$(awk -v t="$g:" '$1 == t { print $2 }' "$T/g")"
done
json=$("$GUEST" balloon-stats lab b1 --json)
expect_in "--json: the guest" '{ "schema": 1, "guest": "b1", "env": 0, "swap_in": ' "$json"
expect_in "--json: bytes" "\"total_memory\": $total" "$json"
check "--json: last_update is a time" grep -Eq '"last_update": "20[0-9-]+T[0-9:]+Z"' <<<"$json"

# --- balloon ---------------------------------------------------------------
out=$("$GUEST" balloon lab b1 16384); rc=$?
expect_eq "balloon NUM_PAGES: status" 0 "$rc"
expect_in "balloon: Fuchsia's line" "Resizing memory balloon to 16384 pages" "$out"
expect_in "balloon: before" "memory before: 256 MiB" "$out"
expect_in "balloon: after (the target)" "memory after:  192 MiB (the target" "$out"
actual() { "$GUEST" balloon-stats lab b1 | awk '/^actual-memory:/ { print $2 }'; }
# wait_actual BYTES: the guest has that much within 60 s.
wait_actual() {
	local i
	for i in $(seq 1 120); do
		[ "$(actual)" = "$1" ] && return 0
		sleep 0.5
	done
	return 1
}
check "the guest gives the pages back by itself (192 MiB)" wait_actual $((192 << 20))
out=$("$GUEST" balloon lab b1 --target 160M --wait=60); rc=$?
expect_eq "--target --wait: status" 0 "$rc"
expect_in "--target: the pages it means" "Resizing memory balloon to 24576 pages" "$out"
expect_in "--wait: the guest got there" "memory after:  160 MiB" "$out"
t1=$(memtotal)
check "the guest's own MemTotal shrank by the balloon (96 MiB)" \
    test $((t0 - t1)) -ge $((95 * 1024)) -a $((t0 - t1)) -le $((97 * 1024))
expect_eq "balloon-stats: actual-memory follows" $((160 << 20)) \
    "$("$GUEST" balloon-stats lab b1 | awk '/^actual-memory:/ { print $2 }')"
out=$("$GUEST" balloon lab b1 0 --wait=60); rc=$?
expect_eq "balloon 0 gives it all back: status" 0 "$rc"
expect_in "balloon 0: all of it" "memory after:  256 MiB" "$out"
check "the guest's MemTotal is back" test "$(memtotal)" = "$t0"
# --wait with a terminal shows progress.
$TM new-session -d -s W -x 100 -y 10 \
    "'$GUEST' balloon lab b1 --target 128M --wait=60; echo \"rc=\$?\" >'$T/rc.W'; sleep 60"
check "--wait on a terminal ends" wait_file "$T/rc.W" 70
expect_eq "--wait on a terminal: status" "rc=0" "$(cat "$T/rc.W")"
check "--wait on a terminal shows progress" wait_screen W "b1: .*, target 128 MiB" 1
"$GUEST" balloon lab b1 0 --wait=60 >/dev/null

before=$(actual)
one_line "above the maximum" 2 "a target of 1 GiB is above its maximum memory, 256 MiB" \
    "$GUEST" balloon lab b1 --target 1G
one_line "more pages than the VM has" 2 "b1 has 65536 pages of 4 KiB (256 MiB)" \
    "$GUEST" balloon lab b1 70000
one_line "below the default floor" 255 "below the floor of 64 MiB" \
    "$GUEST" balloon lab b1 --target 32M
one_line "below --floor" 255 "a target of 100 MiB is below the floor of 200 MiB (--floor)" \
    "$GUEST" balloon lab b1 --target 100M --floor 200M
one_line "not a page count" 2 "NUM_PAGES lots: expected a number of 4 KiB pages" \
    "$GUEST" balloon lab b1 lots
one_line "bad --target" 2 "--target 12Q: expected a size" \
    "$GUEST" balloon lab b1 --target 12Q
one_line "bad --wait" 2 "--wait=soon: expected seconds" \
    "$GUEST" balloon lab b1 100 --wait=soon
expect_eq "refused requests left the balloon alone" "$before" "$(actual)"
out=$("$GUEST" balloon lab b1 --target 40M --floor 0 2>&1); rc=$?
expect_eq "--floor 0 lets a low target through" 0 "$rc"
"$GUEST" balloon lab b1 0 >/dev/null

# --- no balloon, no statistics period, not running ------------------------
"$GUEST" launch lab "$K" --initrd "$I" "${SMALL[@]}" --name nob \
    --virtio-balloon false --detach >/dev/null
one_line "no balloon device" 255 "nob has no balloon device" \
    "$GUEST" balloon lab nob 100
one_line "no balloon device: stats" 255 "nob has no balloon device" \
    "$GUEST" balloon-stats lab nob
"$GUEST" stop --force lab nob >/dev/null 2>&1
cat >"$T/noperiod.xml" <<XML
<domain type='qemu'>
  <name>noperiod</name>
  <memory unit='MiB'>256</memory>
  <os><type machine='q35'>hvm</type><kernel>$K</kernel>
    <initrd>$I</initrd><cmdline>console=ttyS0</cmdline></os>
  <devices><serial type='pty'/><console type='pty'/>
    <memballoon model='virtio'/></devices>
</domain>
XML
"$GUEST" launch lab "$T/noperiod.xml" --detach >/dev/null
check "a VM without a statistics period boots" wait_shell noperiod
out=$("$GUEST" balloon-stats lab noperiod 2>"$T/err"); rc=$?
expect_eq "no period: status" 0 "$rc"
expect_in "no period: says it set one" "noperiod had no statistics period; set it to 2 s" "$(cat "$T/err")"
check "no period: real figures, not zeros" \
    grep -Eq '^total-memory: +[1-9][0-9]+$' <<<"$out"
err=$("$GUEST" balloon-stats lab noperiod 2>&1 >/dev/null)
expect_eq "the period stays: nothing said the second time" "" "$err"
"$GUEST" stop --force lab noperiod >/dev/null 2>&1

timeout 20 "$GUEST" balloon-stats lab b1 --watch 1 >"$T/watch" 2>&1 &
w=$!
sleep 3.5
kill -INT $w
wait $w; rc=$?
expect_eq "--watch ends on SIGINT with 0" 0 "$rc"
check "--watch: a header, then a row per period" \
    test "$(head -1 "$T/watch" | tr -s ' ')" = " free avail total caches actual rss swapin swapout majflt minflt" -a \
    "$(grep -c '^ *[0-9]' "$T/watch")" -ge 3
n=$(timeout 20 "$GUEST" balloon-stats lab b1 --watch 1 --json 2>/dev/null | head -2 | grep -c '^{ "schema": 1, "guest": "b1"')
expect_eq "--watch --json: one object per line" 2 "$n"

"$GUEST" launch lab "$K" --initrd "$I" "${SMALL[@]}" --name off --persistent \
    --detach --json >"$T/launch.json"
# launch --detach --json: the record, golden once libvirt's UUID (checked
# against virsh's) is replaced.
u=$(virsh_ domuuid off | sed '/^$/d')
check "launch --json: libvirt's UUID" grep -q "\"uuid\": \"$u\"" "$T/launch.json"
sed "s/$u/UUID/" "$T/launch.json" >"$T/out"
golden "launch --detach --json: the record" launch.json.golden
one_line "launch --json without --detach" 2 "--json prints the launched VM's record: it goes with --detach" \
    "$GUEST" launch lab "$K" --json
"$GUEST" stop --force lab off >/dev/null 2>&1
one_line "not running" 255 "off is shut off (env 0)" "$GUEST" balloon lab off 100
one_line "not running: stats" 255 "off is shut off (env 0)" "$GUEST" balloon-stats lab off
"$GUEST" env add "qemu+unix:///session?socket=$T/no-daemon.sock" --name dead >/dev/null
one_line "libvirt unreachable" 255 "libvirt cannot tell more: cannot reach" \
    "$GUEST" balloon dead b1 100
# Nothing of the daemon outlives the test (its VMs included).
uid=$(cat "$T/lv/uid")
lv_cleanup
check "the daemon and its VMs are gone after the test" test -z "$(pgrep -U "$uid")"
finish
