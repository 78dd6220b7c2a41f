# guest cp: round trips both ways, destination rules, every safety case,
# interruptions, ENOSPC and a hostile agent.
. "$(dirname "$0")/lib.sh"
start_agent --state-dir "$T/state"
S=$T/src
D=$T/dst
mkdir -p "$S/sub/deeper" "$D" "$T/back"

# Files of every kind.
: >"$S/empty"
printf 'x' >"$S/one"
head -c 262143 /dev/urandom >"$S/chunk-1"
head -c 262145 /dev/urandom >"$S/chunk+1"
head -c 3000000 /dev/urandom >"$S/sub/big"
echo deep >"$S/sub/deeper/f"
echo spaced >"$S/with space"
echo newline >"$S/new
line"
echo utf >"$S/żółw ☃"
chmod 0751 "$S/one"
chmod 0700 "$S/sub/deeper"
touch -d '2001-02-03 04:05:06' "$S/chunk-1" "$S/sub"
ln -s one "$S/link"
ln -s /etc/passwd "$S/abslink"
truncate -s 5G "$S/sparse"
printf 'end' | dd of="$S/sparse" bs=1 seek=4500000000 conv=notrunc 2>/dev/null

# Push a tree, pull it back: the same bytes, modes, mtimes and links.
g cp -q -r -p "$S" ":$D"; expect_eq "push -r -p: status" 0 $?
g cp -q -r -p ":$D/src" "$T/back"; expect_eq "pull -r -p: status" 0 $?
check "round trip: same tree" diff -r --no-dereference "$S" "$T/back/src"
for f in one sub/deeper chunk-1 sub; do
	expect_eq "mode and mtime kept: $f" "$(stat -c '%a %Y' "$S/$f")" \
	    "$(stat -c '%a %Y' "$T/back/src/$f")"
done
expect_eq "links stay links" "one /etc/passwd" \
    "$(readlink "$T/back/src/link") $(readlink "$D/src/abslink")"
expect_eq "odd names" "spaced newline utf" "$(cat "$D/src/with space" \
    "$D/src/new
line" "$D/src/żółw ☃" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "sparse: size over 4 GiB" 5368709120 "$(stat -c %s "$D/src/sparse")"
check "sparse: holes kept (under 1 MiB on disk)" \
    test "$(du -k "$D/src/sparse" | cut -f1)" -lt 1024
check "sparse: content" cmp "$S/sparse" "$T/back/src/sparse"

# Modes, with and without -p: a temp made with its final mode where that
# is safe (no more open than 0755, left whole by the umask), else 0600 and
# chmod at the end; setuid dropped unless --owner as root.
if [ "$(umask)" = 0022 ]; then
	mkdir -p "$T/modes" "$D/modes" "$D/modes-p"
	for m in 600 644 755 777 4755 640; do
		echo "$m" >"$T/modes/m$m"; chmod "$m" "$T/modes/m$m"
	done
	g cp -q "$T/modes"/m* ":$D/modes/"
	g cp -q -p "$T/modes"/m* ":$D/modes-p/"
	expect_eq "modes without -p (umask 022)" "600 644 755 755 755 640" \
	    "$(for m in 600 644 755 777 4755 640; do stat -c %a "$D/modes/m$m"; done | tr '\n' ' ' | sed 's/ $//')"
	expect_eq "modes with -p" "600 644 755 777 755 640" \
	    "$(for m in 600 644 755 777 4755 640; do stat -c %a "$D/modes-p/m$m"; done | tr '\n' ' ' | sed 's/ $//')"
fi

# Destination rules, as cp and scp.
g cp -q "$S/one" ":$D/renamed"
check "file to a new name" cmp "$S/one" "$D/renamed"
g cp -q "$S/one" "$S/empty" ":$D/"
check "files into a directory" test -f "$D/one" -a -f "$D/empty"
err=$(g cp -q "$S/one" "$S/empty" ":$D/renamed" 2>&1); expect_eq "several into a file: 1" 1 $?
expect_in "several into a file explained" "not a directory" "$err"
err=$(g cp -q "$S/one" ":$D/no/such/x" 2>&1); expect_eq "missing parent: 1" 1 $?
expect_in "missing parent explained" "no such directory" "$err"
g cp -q --parents "$S/one" ":$D/made/for/you/x"
check "--parents" cmp "$S/one" "$D/made/for/you/x"
err=$(g cp -q "$S/sub" ":$D/x" 2>&1); expect_eq "directory without -r: 1" 1 $?
expect_in "directory without -r explained" "is a directory (use -r)" "$err"
err=$(g cp -q "$S/nosuch" "$S/one" ":$D/" 2>&1); expect_eq "one missing: 1" 1 $?
expect_in "the missing one named" "nosuch: No such file or directory" "$err"
check "the others still copied" cmp "$S/one" "$D/one"
echo "from stdin" | g cp - ":$D/stdin"
expect_eq "- as source" "from stdin" "$(cat "$D/stdin")"
expect_eq "- as destination" "deep" "$(g cp ":$S/sub/deeper/f" -)"
err=$(g cp "$S/one" "$S/empty" 2>&1); expect_eq "no guest side: 2" 2 $?

# Safety in the receiver.
echo outside >"$T/outside"
ln -s "$T/outside" "$D/victim"
g cp -q "$S/one" ":$D/victim"
expect_eq "last component a link: the outside file untouched" outside \
    "$(cat "$T/outside")"
check "last component a link: replaced by the file" test -f "$D/victim" -a ! -L "$D/victim"
ln "$T/outside" "$D/hardlinked"
g cp -q "$S/one" ":$D/hardlinked"
expect_eq "a hard link to an outside file: untouched" outside "$(cat "$T/outside")"
mkdir -p "$T/outdir" "$D/tree"
ln -s "$T/outdir" "$D/tree/sub"
err=$(g cp -q -r "$S/sub" ":$D/tree/" 2>&1); expect_eq "parent is a link: 1" 1 $?
expect_in "parent is a link explained" "not a directory (a link is never followed)" "$err"
expect_eq "parent is a link: nothing written through it" "" "$(ls "$T/outdir")"
mkfifo "$D/fifo"
err=$(timeout 10 "${G[@]}" cp -q "$S/one" ":$D/fifo" 2>&1); rc=$?
expect_eq "FIFO destination: refused, not blocked" 1 $rc
expect_in "FIFO explained" "not a regular file" "$err"
check "FIFO still a FIFO" test -p "$D/fifo"
echo mine >"$D/.guest-cp.1.0000000000000000~"
g cp -q "$S/one" ":$D/one"
expect_eq "a file at a temp-like name is not touched" mine \
    "$(cat "$D/.guest-cp.1.0000000000000000~")"
rm -f "$D/.guest-cp.1.0000000000000000~"
err=$(g cp -q "$S/one" ":$D/src/../one" 2>&1)
expect_eq "'..' in the path the user typed is the user's: 0" 0 $?

# A file that shrinks while it is read: the copy is refused or whole
# (the file before the truncate, if it was all read by then, or after
# it), never a torn one.
head -c 400000000 /dev/zero | tr '\0' 'a' >"$T/shrinks"
("${G[@]}" cp -q "$T/shrinks" ":$D/shrunk" >"$T/shrink.out" 2>&1; echo $? >"$T/shrink.rc") &
sleep 0.15
truncate -s 1000 "$T/shrinks"
for i in $(seq 1 600); do [ -s "$T/shrink.rc" ] && break; sleep 0.1; done
rc=$(cat "$T/shrink.rc")
whole_before() {
	[ "$(stat -c %s "$D/shrunk")" = 400000000 ] &&
	    [ "$(tr -d a <"$D/shrunk" | wc -c)" = 0 ]
}
if [ "$rc" = 1 ]; then
	expect_in "shrinking file: refused" "shrank while it was read" "$(cat "$T/shrink.out")"
	check "shrinking file: nothing kept" test ! -e "$D/shrunk"
else
	expect_eq "shrinking file: copied: status" 0 "$rc"
	check "shrinking file: whole, as before or after the truncate" \
	    eval 'cmp -s "$T/shrinks" "$D/shrunk" || whole_before'
fi

# Killed at many points: the destination is old or new, never partial;
# no temp is left once the agent has swept.
head -c 60000000 /dev/urandom >"$T/new"
head -c 60000000 /dev/urandom >"$T/old"
torn=0
for delay in 0.01 0.03 0.05 0.08 0.12 0.2 0.3; do
	cp "$T/old" "$D/victim2"
	"${G[@]}" cp -q "$T/new" ":$D/victim2" & p=$!
	sleep $delay; kill -KILL $p; wait $p 2>/dev/null
	sleep 0.2
	cmp -s "$D/victim2" "$T/old" || cmp -s "$D/victim2" "$T/new" || torn=$((torn + 1))
done
expect_eq "push killed 7 times: never torn" 0 $torn
torn=0
for delay in 0.01 0.03 0.05 0.08 0.12 0.2 0.3; do
	cp "$T/old" "$T/back/victim3"
	"${G[@]}" cp -q ":$T/new" "$T/back/victim3" & p=$!
	sleep $delay; kill -KILL $p; wait $p 2>/dev/null
	cmp -s "$T/back/victim3" "$T/old" || cmp -s "$T/back/victim3" "$T/new" || torn=$((torn + 1))
done
expect_eq "pull killed 7 times: never torn" 0 $torn
stop_agent
start_agent --state-dir "$T/state"
g cp -q ":$S/one" "$T/back/one"		# the host sweeps its own
expect_eq "no temps left (agent and host sweeps)" "" \
    "$(find "$D" "$T/back" -name '.guest-cp.*')"
expect_eq "no journal files left, agent's or host's" "" \
    "$(find "$T/state/cp-journal" "$T/cp-journal" -type f)"

# The agent's session killed mid-transfer: a clear error, quickly.
("${G[@]}" cp -q "$T/new" "$T/old" "$T/new" "$T/old" ":$D/" >"$T/cut.out" 2>&1; echo $? >"$T/cut.rc") &
for i in $(seq 1 250); do
	s=$(sessions_of "$AGENT_PID" | head -n 1)
	[ -n "$s" ] && [ -n "$(find "$D" -maxdepth 1 -name ".guest-cp.$s.*")" ] && break
	sleep 0.02
done
check "a session receiving into a temp" test -n "$(find "$D" -maxdepth 1 -name ".guest-cp.$s.*")"
kill -KILL "$s"
for i in $(seq 1 100); do [ -s "$T/cut.rc" ] && break; sleep 0.1; done
expect_eq "agent killed: 255" 255 "$(cat "$T/cut.rc" 2>/dev/null)"
expect_in "agent killed: explained" "connection was lost" "$(cat "$T/cut.out")"
# The agent sweeps when the session dies, not only at its next start.
for i in $(seq 1 50); do [ -z "$(find "$D" -name '.guest-cp.*')" ] && break; sleep 0.1; done
expect_eq "the killed session's temp is swept at once" "" "$(find "$D" -name '.guest-cp.*')"
expect_eq "and its journal file" "" "$(ls -A "$T/state/cp-journal")"
check "the agent is still running" agent_alive

# No space left: an error, the temp removed, the destination unchanged.
mkdir -p "$T/small"
if mount -t tmpfs -o size=1m tmpfs "$T/small" 2>/dev/null; then
	echo old >"$T/small/f"
	err=$(g cp -q "$S/sub/big" ":$T/small/f" 2>&1); expect_eq "ENOSPC: 1" 1 $?
	expect_in "ENOSPC explained" "No space left on device" "$err"
	expect_eq "ENOSPC: destination unchanged" old "$(cat "$T/small/f")"
	expect_eq "ENOSPC: temp removed" "f" "$(ls -A "$T/small")"
	umount "$T/small"
else
	fail "ENOSPC: cannot mount a small tmpfs (root needed)"
fi

# A hostile agent on pull: names that climb out, links to write through,
# a size that lies.  Each refused; the honest file arrives.
"$EVIL_AGENT" "$T/evil.sock" top & ep=$!
wait_for_socket "$T/evil.sock"
mkdir -p "$T/pulled"
err=$("$GUEST" -C "unix:$T/evil.sock" cp -q -r :/top "$T/pulled" 2>&1); rc=$?
wait $ep
expect_eq "hostile agent: 1" 1 $rc
for f in "$T/escaped-dotdot" /tmp/escaped-absolute "$T/escaped-inner" \
    /tmp/escaped-link /tmp/escaped-link2 "$T/pulled/not-asked-for"; do
	check "hostile agent: nothing at $f" test ! -e "$f"
done
expect_in "hostile: .. refused" "../escaped-dotdot: refused" "$err"
expect_in "hostile: absolute refused" "/tmp/escaped-absolute: refused" "$err"
expect_in "hostile: not asked for refused" "not-asked-for: refused: not under what was asked for" "$err"
expect_in "hostile: no writing through a link" "a parent is not a directory" "$err"
expect_in "hostile: a lying size" "more bytes than announced" "$err"
expect_eq "hostile: the honest file arrived" fine "$(cat "$T/pulled/top/honest")"
check "hostile: its link is only a link" test -L "$T/pulled/top/lnk"

# Control characters in names are escaped when printed.
err=$(g cp -q ":$S/new
line-nosuch" "$T/back/" 2>&1)
expect_in "names printed escaped" 'new\x0aline-nosuch' "$err"

# No agent: 255.
err=$("$GUEST" -C "unix:$T/none.sock" cp "$S/one" :/tmp/x 2>&1)
expect_eq "no agent: 255" 255 $?

finish
