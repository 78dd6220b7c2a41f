#!/bin/sh
# Run a command on this machine as if only a minimal Debian (the packages
# of priority required and important) and the given groups of
# scripts/packages.txt were installed, with what they depend on:
#
#   scripts/only.sh GROUP... -- COMMAND [ARG...]
#
# It checks that a README command needs no package its groups do not
# install, which a machine that already has that package cannot show: in
# a private mount namespace, COMMAND runs chrooted in a tree of hard links
# to those packages' files (dpkg's lists), with this machine's /etc,
# /var, /tmp, /dev, /proc, /sys, /run, /root and the repository bound in.
# pkg-config, CMake's searches, the dynamic loader and PATH then find
# nothing else: /usr/local and every other package are absent.
#
# Needs root (mount namespaces, chroot).  The tree is made anew each run
# (a few seconds) and removed after.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
groups=
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	groups="$groups $1"
	shift
done
[ $# -gt 1 ] && [ -n "$groups" ] || {
	echo "usage: scripts/only.sh GROUP... -- COMMAND [ARG...]" >&2
	exit 2
}
shift
if [ "$(id -u)" -ne 0 ]; then
	echo "only: needs root for a mount namespace and chroot" >&2
	exit 2
fi
# Where / is no mount point of its own (inside a chroot) the namespace
# cannot be made private, and bind mounts made in it would show outside:
# no view then, said plainly.
if ! unshare -m --propagation private true 2>/dev/null; then
	echo "only: no private mount namespace here (a chroot?): running with every installed package visible" >&2
	exec "$@"
fi

want=
for g in $groups; do
	want="$want $(awk -v g="$g" '$1 == g { print $2 }' scripts/packages.txt)"
done

# The installed packages: name, priority, essential, provides, depends.
# The closure of the base and the groups' packages over Depends and
# Pre-Depends (an alternative: the first one installed, by name or by
# what an installed package provides).
db=$(mktemp)
dpkg-query -W -f='${db:Status-Abbrev}\t${Package}\t${Priority}\t${Essential}\t${Provides}\t${Depends}, ${Pre-Depends}\n' |
    awk -F'\t' '$1 == "ii "' >"$db"
pkgs=$(awk -F'\t' -v want="$want" '
function bare(s) {	# "libfoo1:any (>= 2)" -> "libfoo1"
	sub(/^[ \t]+/, "", s); sub(/[ \t(].*/, "", s); sub(/:.*/, "", s)
	return s
}
{
	inst[$2] = 1; dep[$2] = $6
	if ($3 == "required" || $3 == "important" || $4 == "yes")
		queue[++qn] = $2
	np = split($5, pv, ",")
	for (i = 1; i <= np; i++) if (bare(pv[i]) != "" && !(bare(pv[i]) in prov))
		prov[bare(pv[i])] = $2
}
END {
	nw = split(want, w, " ")
	for (i = 1; i <= nw; i++) {
		if (!(w[i] in inst)) { print "only: " w[i] " is not installed" > "/dev/stderr"; exit 1 }
		queue[++qn] = w[i]
	}
	for (qi = 1; qi <= qn; qi++) {
		p = queue[qi]
		if (p in seen) continue
		seen[p] = 1; print p
		nd = split(dep[p], d, ",")
		for (i = 1; i <= nd; i++) {
			na = split(d[i], alt, "|")
			for (j = 1; j <= na; j++) {
				a = bare(alt[j])
				if (a == "") continue
				if (a in inst) { queue[++qn] = a; break }
				if (a in prov) { queue[++qn] = prov[a]; break }
			}
		}
	}
}' "$db")
rm -f "$db"

root=$(mktemp -d /var/tmp/guest-only.XXXXXX)
chmod 755 "$root"	# "/" for every user
cleanup() {
	# Bind mounts die with the namespace; the tree holds only links.
	rm -rf "$root"
}
trap cleanup EXIT INT TERM
# The merged-/usr links of this machine (/bin -> usr/bin, ...).
for l in /*; do
	[ -L "$l" ] && cp -P "$l" "$root/"
done
mkdir -p "$root/usr/bin" "$root/usr/sbin" "$root/usr/lib" "$root/usr/lib64"
# Every file of those packages, hard-linked (symlinks copied as they are);
# directories come with their files.
lists=
for p in $pkgs; do
	for f in /var/lib/dpkg/info/"$p".list /var/lib/dpkg/info/"$p":*.list; do
		[ -e "$f" ] && lists="$lists $f"
	done
done
# shellcheck disable=SC2086
cat $lists | sort -u | while IFS= read -r f; do
	[ -d "$f" ] && [ ! -L "$f" ] && continue
	[ -e "$f" ] || [ -L "$f" ] || continue
	printf '%s\n' "$f"
done | xargs -r -d '\n' cp -Pl --parents -t "$root" 2>/dev/null || true
# Links that update-alternatives made (/usr/bin/cc, ...), where what they
# lead to is there.
find /usr -lname '/etc/alternatives/*' 2>/dev/null | while IFS= read -r l; do
	t=$(readlink -f "$l") || continue
	[ -e "$root$t" ] && cp -P --parents "$l" "$root" 2>/dev/null || true
done
for d in etc var tmp dev proc sys run root; do
	mkdir -p "$root/$d"
done
mkdir -p "$root$top"
echo "only: $(echo "$pkgs" | wc -w) packages (a minimal Debian and$groups)" >&2

rc=0
unshare -m --propagation private sh -c '
	set -e
	root=$1; top=$2; shift 2
	for d in etc var tmp dev proc sys run root; do
		mount --rbind "/$d" "$root/$d"
	done
	mount --bind "$top" "$root$top"
	cd "$root$top"
	exec chroot "$root" sh -c "cd \"\$0\" && exec \"\$@\"" "$top" \
	    env PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
' only "$root" "$top" "$@" || rc=$?
exit "$rc"
