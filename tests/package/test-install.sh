# The Debian packages: scripts/package.sh builds guest, guest-agent and
# libguest-dev and checks them with lintian (no errors); here they are
# installed into a scratch root with a dpkg database of its own (the
# maintainer scripts run with DPKG_ROOT, as for a new system), and what
# they installed is run from there.
. "$(dirname "$0")/../blackbox/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$top/build/packages
version=$(sed -n 's/^project(guest VERSION \([0-9.]*\).*/\1/p' "$top/CMakeLists.txt")

if "$top/scripts/package.sh" >"$T/package.log" 2>&1; then
	pass "packages built, lintian finds no error"
else
	tail -n 30 "$T/package.log"
	fail "packages built, lintian finds no error"
	finish
	exit 1
fi
grep '^[EW]:' "$T/package.log"		# (warnings, for the reader)
for p in guest guest-agent libguest-dev; do
	check "$p ${version} built" test -f "$out/${p}_${version}_$(dpkg --print-architecture).deb"
done

R=$T/root
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates"
: >"$R/var/lib/dpkg/status"
: >"$R/var/lib/dpkg/available"
# (The libraries they depend on are this machine's, not the root's.)  The
# scripts never reach this machine's systemd: where it runs, they would
# ask it to start guest-agent.socket, and nothing here may listen on vsock.
mkdir "$T/stubs"
for s in systemctl deb-systemd-invoke; do
	printf '#!/bin/sh\necho "%s $*" >>"%s/stubs.log"\n' "$s" "$T" >"$T/stubs/$s"
	chmod +x "$T/stubs/$s"
done
dpkg_r() { PATH=$T/stubs:$PATH dpkg --root="$R" --force-depends --force-script-chrootless --log=/dev/null "$@"; }
if dpkg_r -i "$out/guest_${version}"_*.deb "$out/guest-agent_${version}"_*.deb \
    "$out/libguest-dev_${version}"_*.deb >"$T/dpkg.log" 2>&1; then
	pass "the three install into a scratch root"
else
	cat "$T/dpkg.log"
	fail "the three install into a scratch root"
fi
expect_eq "dpkg lists them installed" "guest ii
guest-agent ii
libguest-dev ii" "$(dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${Package} ${db:Status-Abbrev}\n' | sed 's/ *$//' | sort)"

expect_eq "guest --version from the root" "guest $version" "$("$R/usr/bin/guest" --version | head -1 | cut -d' ' -f1,2)"
expect_eq "guest-agent --version from the root" "guest-agent $version" "$("$R/usr/bin/guest-agent" --version | head -1 | cut -d' ' -f1,2)"
check "guest-agent is static" sh -c "file '$R/usr/bin/guest-agent' | grep -q 'statically linked'"
check "guest's libvirt module in its directory" test -f "$R/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/guest/guest-virt.so"
check "guest(1) and guest-agent(8)" test -f "$R/usr/share/man/man1/guest.1.gz" -a -f "$R/usr/share/man/man8/guest-agent.8.gz"
# The socket unit is enabled on installation; the service is started by it.
expect_eq "guest-agent.socket enabled" "/lib/systemd/system/guest-agent.socket" \
    "$(readlink "$R/etc/systemd/system/sockets.target.wants/guest-agent.socket")"
check "guest-agent.service not enabled on its own" test ! -e "$R/etc/systemd/system/multi-user.target.wants/guest-agent.service"

# The packaged completion, as bash runs it, with the packaged guest.
tab() {
	PATH=$R/usr/bin:$PATH bash --norc --noprofile -c '
		. "$1/usr/share/bash-completion/completions/guest"
		COMP_LINE=$2 COMP_POINT=${#2}
		read -ra COMP_WORDS <<<"$2"
		[[ $2 == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		complete -p guest >/dev/null && _guest
		printf "%s\n" "${COMPREPLY[@]}"' _ "$R" "$1" | sort | tr '\n' ' ' | sed 's/ $//'
}
expect_eq "completion from the root: commands" "serial socat socat-listen stop" "$(tab "guest s")"
expect_eq "completion from the root: options" "--force --help --timeout" "$(tab "guest stop --")"

# libguest-dev: pkg-config finds it in the root, and an example builds.
pc=$R/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/pkgconfig
expect_eq "pkg-config: libguest's version" "$version" "$(PKG_CONFIG_PATH=$pc pkg-config --modversion libguest)"
check "docs/examples/vsock-echo.c builds against the package" sh -c \
    "cc -Wall -Wextra -Werror -o '$T/echo' '$top/docs/examples/vsock-echo.c' \$(PKG_CONFIG_PATH='$pc' pkg-config --cflags --libs libguest)"

# Purged, nothing is left behind, not even the unit's link.
dpkg_r --purge guest guest-agent libguest-dev >"$T/dpkg.log" 2>&1 || cat "$T/dpkg.log"
expect_eq "purged: no file left in the root but dpkg's own" "" \
    "$(cd "$R" && find . ! -type d ! -path './var/lib/dpkg/*' | sort)"
finish
