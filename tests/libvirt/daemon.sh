#!/bin/bash
# A private libvirt daemon for the tests, the demo and the benchmarks:
# libvirtd serving qemu:///session as a user of its own, with every socket,
# state, log and config file under DIR.  Nothing of the machine's own
# libvirt configuration is read or touched, and no user is added to the
# machine: the daemon runs in a mount namespace of its own where a copy of
# /etc/passwd, with its user added, is bound over the real one (libvirt
# needs a passwd entry for the uid it runs as).
#
#   daemon.sh start DIR   start it; prints the URI root reaches it by
#   daemon.sh stop DIR    stop it, its VMs with it (killed after a deadline)
#
# DIR/uri holds the URI, DIR/uid the daemon's uid (every process of that
# uid is the daemon's), DIR/log its log.
set -euo pipefail
cmd=$1
[ "$1" = stop ] && [ ! -d "$2" ] && exit 0	# gone with its temp dir
dir=$(cd "$2" && pwd)

stop() {
	[ -f "$dir/uid" ] || return 0
	local uid n
	uid=$(cat "$dir/uid")
	# The daemon, its virtlogd and its VMs (libvirtd leaves VMs running
	# when it exits): what does not go in 10 s is killed.
	pkill -TERM -U "$uid" 2>/dev/null || true
	for n in $(seq 100); do
		pgrep -U "$uid" >/dev/null || break
		sleep 0.1
	done
	if pgrep -U "$uid" >/dev/null; then
		echo "daemon: killing what uid $uid left running:" \
		    "$(pgrep -a -U "$uid" | cut -c1-60 | tr '\n' ';')" >&2
		pkill -KILL -U "$uid" 2>/dev/null || true
		for n in $(seq 50); do
			pgrep -U "$uid" >/dev/null || break
			sleep 0.1
		done
	fi
	rm -f "$dir/uid"
}

case $cmd in
stop)
	stop
	exit 0
	;;
start) ;;
*)
	echo "usage: daemon.sh start|stop DIR" >&2
	exit 2
	;;
esac

command -v libvirtd >/dev/null ||
    { echo "daemon: no libvirtd (scripts/deps.sh vm installs it)" >&2; exit 1; }
# A uid no one has: free in passwd and running nothing.
uid=
for try in $(seq 50); do
	u=$((40000 + (RANDOM % 20000)))
	getent passwd "$u" >/dev/null && continue
	pgrep -U "$u" >/dev/null && continue
	uid=$u
	break
done
[ -n "$uid" ] || { echo "daemon: no free uid" >&2; exit 1; }
home=$dir/home
# The daemon's user reaches its home through DIR.
chmod 711 "$dir"
mkdir -p "$home"
cp /etc/passwd "$dir/passwd"
cp /etc/group "$dir/group"
echo "guesttest:x:$uid:$uid:guest tests:$home:/bin/sh" >>"$dir/passwd"
echo "guesttest:x:$uid:" >>"$dir/group"
chown "$uid:$uid" "$home"
chmod 700 "$home"
echo "$uid" >"$dir/uid"
sock=$home/run/libvirt/libvirt-sock
uri="qemu+unix:///session?socket=$sock"
echo "$uri" >"$dir/uri"
# Its mount namespace must not pass the bind mounts on: private
# propagation.  In a chroot (scripts/only.sh's view) / is no mount point and
# cannot be made private; there the namespace we are in must be private
# already, and the new one inherits that.
prop=private
if ! unshare -m --propagation private true 2>/dev/null; then
	if findmnt -n -o PROPAGATION --target /etc/passwd | grep -q shared; then
		echo "daemon: no private mount namespace can be made here" >&2
		exit 1
	fi
	prop=unchanged
fi
unshare -m --propagation "$prop" sh -c '
	mount --bind "$1/passwd" /etc/passwd &&
	mount --bind "$1/group" /etc/group &&
	cd "$2" &&
	exec setpriv --reuid "$3" --regid "$3" --clear-groups env -i \
	    PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$2" USER=guesttest \
	    XDG_RUNTIME_DIR="$2/run" XDG_CONFIG_HOME="$2/config" \
	    XDG_CACHE_HOME="$2/cache" XDG_DATA_HOME="$2/data" \
	    LIBVIRT_LOG_OUTPUTS="3:file:$2/libvirtd.log" \
	    libvirtd -d --timeout 0' sh "$dir" "$home" "$uid"
# Up when it answers, within 30 s.
for n in $(seq 300); do
	if [ -S "$sock" ] && virsh -q -c "$uri" version >/dev/null 2>&1; then
		ln -sf "$home/libvirtd.log" "$dir/log"
		echo "$uri"
		exit 0
	fi
	sleep 0.1
done
echo "daemon: libvirtd did not answer on $sock within 30 s" >&2
tail -n 5 "$home/libvirtd.log" >&2 2>/dev/null || true
stop
exit 1
