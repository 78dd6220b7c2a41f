# An agent whose uid has no passwd entry (an initramfs, a distroless
# image) still runs commands: as that uid, at / with /bin/sh and the
# usual PATH, no USER for a uid without a name, and says so once at
# start.  Runs the agent as uid 4321 (root is needed to become it);
# the nested VM suite covers uid 0 without an entry.
. "$(dirname "$0")/lib.sh"
UID_X=4321
if [ "$(id -u)" != 0 ] || getent passwd $UID_X >/dev/null; then
	echo "SKIP: needs root and a uid without a passwd entry"
	finish
	exit
fi
mkdir "$T/x"
chown $UID_X:$UID_X "$T/x"
SOCK=$T/x/agent.sock
G=("$GUEST" -C "unix:$SOCK")
setpriv --reuid $UID_X --regid $UID_X --clear-groups \
    "$GUEST_AGENT" --listen "unix:$SOCK" --state-dir "$T/x/state" 2>"$T/agent.log" &
AGENT_PID=$!
wait_for_socket "$SOCK" || { cat "$T/agent.log"; exit 1; }

out=$(g vsh -- sh -c 'echo "$(id -u) $HOME $SHELL ${USER-none} ${LOGNAME-none} $PATH $(pwd)"')
expect_eq "a command runs as the uid, at /, with /bin/sh" "$UID_X / /bin/sh none none /usr/local/bin:/usr/bin:/bin /" "$out"
out=$(printf 'echo "in-$HOME"\n' | g vsh -- sh -s)
expect_eq "a shell on pipes" "in-/" "$out"
g vsh -- sh -c 'exit 5'
expect_eq "exit status" 5 $?
g vsh -- no-such-command 2>/dev/null
expect_eq "not found is 127" 127 $?
err=$(g vsh -u nosuch -- true 2>&1); rc=$?
expect_eq "-u nosuch: 255" 255 $rc
expect_in "-u nosuch: says so" "no user nosuch in the guest" "$err"
printf 'echo "con-$HOME-$(id -u)"\n' | g console --no-history
for i in $(seq 1 100); do g console --log | grep -q "con-/-$UID_X" && break; sleep 0.05; done
check "the console's shell runs too" sh -c "'$GUEST' -C 'unix:$SOCK' console --log | grep -q 'con-/-$UID_X'"
expect_eq "the agent warns once, at start" 1 "$(grep -c "warning: no passwd entry for uid $UID_X" "$T/agent.log")"
finish
