# guest list, guest env and names, against libvirt's in-process test
# driver (test:///ABS/PATH/node.xml: no daemon, state only per process).
. "$(dirname "$0")/lib.sh"
cp "$FIX/node.xml" "$T/node.xml"
export LIBVIRT_DEFAULT_URI="test://$T/node.xml"
# Output with the temp dir and times made stable, for the golden files.
norm() { sed -e "s|$T|T|g" -e 's/"20[0-9][0-9]-[0-9-]*T[0-9:]*Z"/"TIME"/g'; }

# The inventory's SQLite is in guest, its math functions from libm only
# when called: no command loads libm at start (unit-libm-lazy checks the
# functions).
check "guest does not need libm at start" sh -c "! readelf -d '$GUEST' | grep NEEDED | grep -q 'libm\.so'"

# Golden output, for people and for scripts.
"$GUEST" list | norm >"$T/out"; rc=${PIPESTATUS[0]}
expect_eq "list: status" 0 "$rc"
golden "list: running guests, CIDs (fixed and auto), no-vsock" list.golden
"$GUEST" list --all | norm >"$T/out"
golden "list --all: shut-off domains too" list-all.golden
"$GUEST" list --all --json | norm >"$T/out"
golden "list --json: the documented schema" list.json.golden
"$GUEST" list --cached | norm >"$T/out"
golden "list --cached: the same from the store" list.golden
check "the store is where GUEST_INVENTORY says" test -s "$T/inventory.db"

# XML only for domains whose id changed since the last refresh.
err=$("$GUEST" -v list 2>&1 >/dev/null)
expect_in "second refresh fetches no XML" "XML fetched for 0" "$err"
rm -f "$T/inventory.db" "$T/inventory.db-wal" "$T/inventory.db-shm"
err=$("$GUEST" -v list 2>&1 >/dev/null)
expect_in "first refresh fetches the XML of the running ones" \
    "XML fetched for 3" "$err"
# A restart gives a domain a new id: its XML (and new CID) is read again.
sed -e 's/address="3"/address="5"/' "$FIX/node.xml" |
    awk '/<node/ { print; print "<domain type=\"test\"><name>first</name><uuid>00000000-1111-4222-8333-444444444444</uuid><memory>65536</memory><os><type>hvm</type></os></domain>"; next } { print }' >"$T/node2.xml"
cp "$T/node2.xml" "$T/node.xml"
err=$("$GUEST" -v list 2>&1 >"$T/out")
expect_in "changed ids: XML fetched again" "XML fetched for 4" "$err"
expect_in "changed ids: the new CID" "5  web1" "$(cat "$T/out")"
cp "$FIX/node.xml" "$T/node.xml"
"$GUEST" list >/dev/null

# Names, UUIDs and CIDs resolve from the cache, without loading libvirt.
expect_eq "name resolves" "vsock:3:9001" "$("$GUEST" vsh 0 web1 --dry-run)"
expect_eq "UUID resolves" "vsock:3:9001" \
    "$("$GUEST" vsh 0 6695EB01-F6A4-8304-79AA-97F2502E193F --dry-run)"
expect_eq "auto CID and a port" "vsock:42:5000" \
    "$("$GUEST" vsh 0 db1 5000 --dry-run)"
expect_eq "a CID still works" "vsock:9:9001" "$("$GUEST" vsh 0 9 --dry-run)"
loaded=$(LD_DEBUG=files "$GUEST" vsh 0 web1 --dry-run 2>&1 |
    grep -c 'libvirt\|guest-virt')
expect_eq "resolving from the cache does not load libvirt" 0 "$loaded"
loaded=$(LD_DEBUG=files "$GUEST" list 2>&1 | grep -c 'file=.*libvirt.so')
check "list does load libvirt" test "$loaded" -gt 0
err=$("$GUEST" vsh 0 plain -- true 2>&1); expect_eq "no vsock: 255" 255 $?
expect_in "no vsock explained" "plain has no vsock device" "$err"
err=$("$GUEST" vsh 0 off1 -- true 2>&1)
expect_in "shut off explained" "off1 is shut off (env 0)" "$err"
err=$("$GUEST" vsh 0 nosuch -- true 2>&1)
expect_in "unknown name lists the running ones" \
    "no guest 'nosuch' in env 0 (test://T/node.xml); running: db1, web1" \
    "$(echo "$err" | norm)"
err=$("$GUEST" vsh -- true 2>&1); expect_eq "several guests: 255" 255 $?
expect_in "no CID: the candidates" \
    "2 running guests in env 0: say which (42 db1, 3 web1)" "$err"
err=$("$GUEST" vsh 3 -- true 2>&1)
expect_in "unknown env" "no environment '3' (there is 0;" "$err"

# One running guest with a CID: no CID needed (Fuchsia's vsh default).
grep -v 'address="42"' "$FIX/node.xml" >"$T/one.xml"
expect_eq "the only guest with a CID is the default" "vsock:3:9001" \
    "$(LIBVIRT_DEFAULT_URI="test://$T/one.xml" \
    GUEST_INVENTORY="$T/one.db" "$GUEST" vsh --dry-run)"

# Environments: the first one added becomes env 0, then the lowest free.
"$GUEST" env add "test://$T/node.xml" --name lab \
    --transport "unix:$T/agents/%n.sock" >"$T/out"
expect_eq "env add says the number" "env:0 test://$T/node.xml" "$(cat "$T/out")"
"$GUEST" env add "test://$T/one.xml" >/dev/null
"$GUEST" env list | norm | tr -s ' ' >"$T/out"
golden "env list" env-list.golden
"$GUEST" env list --json | norm >"$T/out"
golden "env list --json: the documented schema" env-list.json.golden
expect_eq "env by name" "unix:$T/agents/web1.sock" \
    "$("$GUEST" vsh lab web1 --dry-run)"
expect_eq "env by number" "vsock:3:9001" "$("$GUEST" vsh 1 web1 --dry-run)"
err=$("$GUEST" env add "test://$T/one.xml" 2>&1); expect_eq "duplicate: 1" 1 $?
expect_in "duplicate explained" "is already an environment" "$err"
err=$("$GUEST" env add foo 2>&1); expect_eq "not a URI: 2" 2 $?
err=$("$GUEST" env add test:///x --transport 'vsock:%q' 2>&1)
expect_in "bad template explained" "unknown %q" "$err"
err=$("$GUEST" env add test:///x --transport 'tcp:%c' 2>&1)
expect_in "template must give an address" "unknown address" "$err"
"$GUEST" list | norm >"$T/out"
golden "list: every environment" list-envs.golden

# The agent must be in the VM the inventory says: a CID now held by
# another VM is refused.
mkdir -p "$T/agents"
"$GUEST_AGENT" -v --listen "unix:$T/agents/web1.sock" \
    --vm-uuid 6695eb01-f6a4-8304-79aa-97f2502e193f 2>>"$T/agent.log" &
AGENT_PID=$!
wait_for_socket "$T/agents/web1.sock"
expect_eq "the right VM answers" ok "$("$GUEST" vsh lab web1 -- echo ok)"
ln -s web1.sock "$T/agents/db1.sock"
# The request waits for the agent's Hello: the agent there logs a
# session that ended with no request, and runs nothing.
norequest() { grep -c "no request: connection closed" "$T/agent.log"; }
n0=$(norequest)
err=$("$GUEST" vsh lab db1 -- touch "$T/ran-in-web1" 2>&1); expect_eq "wrong VM: 255" 255 $?
sleep 0.3
expect_eq "wrong VM: the command was never sent there" $((n0 + 1)) "$(norequest)"
check "wrong VM: nothing ran there" test ! -e "$T/ran-in-web1"
expect_in "wrong VM explained" "db1 (env 0, CID 42): the agent there runs in VM 6695eb01-f6a4-8304-79aa-97f2502e193f, not 1d8b3e5a-0a6e-4b44-9f57-2c4a7a9b8c01 as the inventory says" "$err"
err=$("$GUEST" info lab db1 2>&1); expect_eq "info checks too" 255 $?
"$GUEST" cp -q "$FIX/node.xml" "lab/web1:$T/copied.xml"
check "cp to ENV/NAME:PATH" cmp "$FIX/node.xml" "$T/copied.xml"
expect_eq "cp from NAME:PATH (env 0)" "$(cat "$FIX/node.xml")" \
    "$("$GUEST" cp "web1:$T/copied.xml" -)"
err=$("$GUEST" cp -q "$FIX/node.xml" "lab/db1:$T/x" 2>&1)
expect_eq "cp checks the VM too" 255 $?
check "cp to the wrong VM wrote nothing there" test ! -e "$T/x"
stop_agent

# socat-listen ENV PORT listens where the environment's guests connect.
"$GUEST" env add "test://$T/node.xml" --name fc \
    --transport "hvsock:$T/fc.vsock:%p" >/dev/null
"$GUEST" socat-listen fc 5000 </dev/null >/dev/null 2>&1 & sl=$!
check "socat-listen on a hybrid-vsock env: PATH_PORT" \
    wait_for_socket "$T/fc.vsock_5000"
kill $sl; wait $sl 2>/dev/null
err=$("$GUEST" socat-listen lab 5000 2>&1); expect_eq "per-domain socket: 1" 1 $?
expect_in "per-domain socket explained" "say which socket to listen on with -C" "$err"
"$GUEST" env remove fc
err=$("$GUEST" env add "test://$T/absent.xml" --name gone 2>&1)
expect_eq "unreachable env is still added" 0 $?
expect_in "unreachable env: a warning" "warning: added, but cannot reach" "$err"
"$GUEST" env remove gone

"$GUEST" env remove lab; expect_eq "env remove" 0 $?
expect_eq "removed env's guests are gone" "" \
    "$("$GUEST" list --cached 0 2>/dev/null)"
"$GUEST" env add "test://$T/node.xml" --name again >/dev/null
expect_eq "lowest free number reused" "0" \
    "$("$GUEST" env list | awk '$2 == "again" { print $1 }')"
err=$("$GUEST" env remove nosuch 2>&1); expect_eq "remove unknown: 1" 1 $?

# Unreachable: the cache, a warning with the time and reason, status 3.
mv "$T/node.xml" "$T/node.away"
"$GUEST" list again >"$T/out" 2>"$T/err"; rc=$?
expect_eq "unreachable: status 3" 3 "$rc"
expect_in "unreachable: cached guests printed" "3  web1" "$(cat "$T/out")"
expect_in "unreachable: stale warning" "is stale since 20" "$(cat "$T/err")"
expect_in "unreachable: the reason" "cannot reach test://$T/node.xml" \
    "$(cat "$T/err")"
"$GUEST" list again --json >"$T/out" 2>/dev/null
expect_in "unreachable: JSON says stale" '"stale": true' "$(cat "$T/out")"
mv "$T/node.away" "$T/node.xml"
"$GUEST" list again >/dev/null 2>&1; expect_eq "reachable again: 0" 0 $?
err=$(GUEST_INVENTORY="$T/never.db" LIBVIRT_DEFAULT_URI="test://$T/none.xml" \
    "$GUEST" list 2>&1 >/dev/null); expect_eq "unreachable, no cache: 3" 3 $?
expect_eq "unreachable, no cache: one line" "guest: list: warning: env:0 test://T/none.xml: nothing cached yet: cannot reach test://T/none.xml: XML error: failed to parse xml document 'T/none.xml'" "$(echo "$err" | norm)"

# A corrupt file and a foreign database are moved aside and rebuilt.
export GUEST_INVENTORY="$T/bad/inventory.db"
mkdir -p "$T/bad"
head -c 8192 /dev/urandom >"$GUEST_INVENTORY"
"$GUEST" list >"$T/out" 2>"$T/err"; rc=$?
expect_eq "corrupt: still lists" 0 "$rc"
expect_in "corrupt: warned" "is unusable" "$(cat "$T/err")"
check "corrupt: moved aside" ls "$T/bad/inventory.db.bad-"*
expect_in "corrupt: rebuilt" "3  web1" "$(cat "$T/out")"
rm -f "$T/bad/"*
sqlite3 "$GUEST_INVENTORY" 'CREATE TABLE photos (id INTEGER);' 
"$GUEST" list >"$T/out" 2>"$T/err"
expect_in "foreign: warned" "not a guest inventory" "$(cat "$T/err")"
expect_in "foreign: rebuilt" "3  web1" "$(cat "$T/out")"
sqlite3 "$GUEST_INVENTORY" 'PRAGMA user_version = 99;'
err=$("$GUEST" list 2>&1); expect_eq "newer schema: 1" 1 $?
expect_in "newer schema: not destroyed" "newer than this guest knows" "$err"
export GUEST_INVENTORY="$T/inventory.db"

# 8 listings in parallel while others refresh and resolve: none may see
# "database is locked".
bench=$(cd "$(dirname "$0")/../../bench" && pwd)
"$bench/gen-node.sh" 1000 >"$T/big.xml"
export GUEST_INVENTORY="$T/par.db" LIBVIRT_DEFAULT_URI="test://$T/big.xml"
"$GUEST" list >/dev/null
pids=()
for i in 1 2 3 4 5 6 7 8; do
	"$GUEST" list --cached >"$T/par.$i.out" 2>"$T/par.$i.err" & pids+=($!)
	"$GUEST" list >"$T/ref.$i.out" 2>"$T/ref.$i.err" & pids+=($!)
	"$GUEST" vsh 0 vm00043 --dry-run >"$T/res.$i.out" 2>"$T/res.$i.err" &
	pids+=($!)
done
bad=0
for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
expect_eq "parallel: every process succeeded" 0 "$bad"
expect_eq "parallel: no 'database is locked'" 0 \
    "$(cat "$T"/par.*.err "$T"/ref.*.err "$T"/res.*.err | grep -ci 'locked\|busy')"
expect_eq "parallel: full listings" "859 859" \
    "$(wc -l <"$T/par.3.out") $(wc -l <"$T/ref.5.out")"
expect_eq "parallel: resolution" "vsock:45:9001" "$(cat "$T/res.8.out")"

finish
