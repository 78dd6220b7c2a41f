#!/bin/bash
# A private libvirt daemon for the tests, the demo and the benchmarks:
# libvirtd serving qemu:///session as a user of its own, with every socket,
# state, log and config file under DIR.  Nothing of the machine's own
# libvirt configuration is read or touched, and no user is added to the
# machine: libvirt needs a passwd entry for the uid it runs as, and finds
# it in a copy of /etc/passwd with the user added, through nss_wrapper
# (LD_PRELOAD; no mount namespace, so it works in a chroot too).  QEMU's
# output goes to files, not through virtlogd (which would not have the
# wrapper).
#
#   daemon.sh start DIR   start it; prints the URI root reaches it by
#   daemon.sh stop DIR    stop it, its VMs with it (killed after a deadline)
#
# DIR/uri holds the URI, DIR/uid the daemon's uid (every process of that
# uid is the daemon's), DIR/log its log.
set -euo pipefail
cmd=$1
if [ "$1" = stop ] && [ ! -d "$2" ]; then
	echo "daemon: $2 is gone: cannot tell which daemon to stop" >&2
	exit 1
fi
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
nss=
for f in /usr/lib/*/libnss_wrapper.so /usr/lib/libnss_wrapper.so; do
	[ -f "$f" ] && { nss=$f; break; }
done
[ -n "$nss" ] ||
    { echo "daemon: no libnss_wrapper.so (scripts/deps.sh vm installs it)" >&2; exit 1; }
mkdir -p "$home/config/libvirt"
echo 'stdio_handler = "file"' >"$home/config/libvirt/qemu.conf"
chown -R "$uid:$uid" "$home/config"
(cd "$home" && exec setpriv --reuid "$uid" --regid "$uid" --clear-groups \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$home" USER=guesttest \
    XDG_RUNTIME_DIR="$home/run" XDG_CONFIG_HOME="$home/config" \
    XDG_CACHE_HOME="$home/cache" XDG_DATA_HOME="$home/data" \
    LD_PRELOAD="$nss" NSS_WRAPPER_PASSWD="$dir/passwd" \
    NSS_WRAPPER_GROUP="$dir/group" \
    LIBVIRT_LOG_FILTERS="1:daemon.stream 1:fdstream 1:conf.chrdev" \
    LIBVIRT_LOG_OUTPUTS="1:file:$home/libvirtd.log" \
    libvirtd -d --timeout 0)
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
