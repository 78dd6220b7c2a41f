# guest balloon and balloon-stats against libvirt's in-process test driver
# (its memory statistics are made up, and the same every time): every tag
# mapped, units (KiB in, bytes out), golden output for people and --json,
# the page arithmetic, the floors, and the errors.  The real VM's side is
# tests/libvirt/test-balloon.sh.
. "$(dirname "$0")/lib.sh"
cp "$FIX/balloon-node.xml" "$T/node.xml"
export LIBVIRT_DEFAULT_URI="test://$T/node.xml"

"$GUEST" balloon-stats bal >"$T/out"; rc=$?
expect_eq "balloon-stats: status" 0 "$rc"
golden "balloon-stats: Fuchsia's tags, order and 21 columns, bytes" \
    balloon-stats.golden
# The driver's KiB, times 1024 (virsh dommemstat shows them as they come).
virsh dommemstat bal >"$T/virsh"
for pair in swap_in:swap-in swap_out:swap-out major_fault:major-faults \
    minor_fault:minor-faults unused:free-memory available:total-memory \
    usable:available-memory disk_caches:disk-caches \
    hugetlb_pgalloc:hugetlb-allocations hugetlb_pgfail:hugetlb-failures \
    actual:actual-memory rss:rss; do
	v=${pair%%:*}; g=${pair#*:}
	want=$(awk -v t="$v" '$1 == t { print $2 }' "$T/virsh")
	case $v in major_fault|minor_fault|hugetlb_*) ;; *) want=$((want * 1024)) ;; esac
	expect_eq "tag $g is libvirt's $v" "$want" \
	    "$(awk -v t="$g:" '$1 == t { print $2 }' "$T/out")"
done
"$GUEST" balloon-stats bal --json >"$T/out"
golden "balloon-stats --json: the documented schema" balloon-stats.json.golden

out=$("$GUEST" balloon bal 65536); rc=$?
expect_eq "balloon NUM_PAGES: status" 0 "$rc"
expect_in "balloon: Fuchsia's line" "Resizing memory balloon to 65536 pages" "$out"
expect_in "balloon: before" "memory before: 512 MiB" "$out"
expect_in "balloon: after, the target" "memory after:  256 MiB (the target" "$out"
"$GUEST" balloon bal 65536 --json >"$T/out"
golden "balloon --json: the record (no wait: after and reached null)" balloon.json.golden
"$GUEST" balloon bal --target 384M --wait=5 --json >"$T/out"
golden "balloon --wait --json: after and reached" balloon-wait.json.golden
out=$("$GUEST" balloon bal --target 384M --wait=5); rc=$?
expect_eq "--target --wait: status" 0 "$rc"
expect_in "--target: its pages" "Resizing memory balloon to 32768 pages" "$out"
expect_in "--wait: the guest has it" "memory after:  384 MiB" "$out"
# The driver says the guest uses 256 MiB (total minus available).
err=$("$GUEST" balloon bal 70000 2>&1); rc=$?
expect_eq "below what the guest uses: status" 255 "$rc"
expect_in "below what the guest uses: which floor, how to override" \
    "a target of 238.6 MiB is below the floor of 256 MiB (what the guest uses now: total minus available memory); --floor SIZE sets another, --floor 0 none" "$err"
out=$("$GUEST" balloon bal 70000 --floor 0); rc=$?
expect_eq "--floor 0: status" 0 "$rc"
err=$("$GUEST" balloon bal --target 600M 2>&1); rc=$?
expect_eq "above the maximum: status" 2 "$rc"
expect_in "above the maximum: why" "a target of 600 MiB is above its maximum memory, 512 MiB" "$err"
err=$("$GUEST" balloon nob 10 2>&1); rc=$?
expect_eq "no balloon: status" 255 "$rc"
expect_in "no balloon: why" "nob has no balloon device" "$err"
err=$("$GUEST" balloon-stats nob 2>&1); rc=$?
expect_eq "no balloon, stats: status" 255 "$rc"
expect_eq "no balloon, stats: one line" 1 "$(printf '%s\n' "$err" | grep -c .)"
err=$("$GUEST" balloon nosuch 10 2>&1); rc=$?
expect_in "no such guest" "no guest 'nosuch' in env 0" "$err"
err=$("$GUEST" balloon bal 2>&1); rc=$?
expect_eq "no page count: status" 2 "$rc"
expect_in "no page count: what is wanted" "how many pages?" "$err"
err=$("$GUEST" balloon bal -5 2>&1); rc=$?
expect_eq "a negative page count: status" 2 "$rc"
err=$("$GUEST" balloon-stats bal --watch 0 2>&1); rc=$?
expect_eq "--watch 0: status" 2 "$rc"
err=$("$GUEST" balloon-stats 2>&1); rc=$?
expect_eq "balloon-stats without a guest: status" 2 "$rc"
expect_in "balloon-stats without a guest: why" "which guest?" "$err"
err=$(LIBVIRT_DEFAULT_URI="test://$T/gone.xml" GUEST_INVENTORY="$T/other.db" \
    "$GUEST" balloon bal 10 2>&1); rc=$?
expect_eq "libvirt unreachable: status" 255 "$rc"
expect_in "libvirt unreachable: why" "libvirt cannot tell more" "$err"
finish
