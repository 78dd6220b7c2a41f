#!/bin/sh
# Debian packages from the tree: guest (the CLI, its libvirt module, guest(1),
# bash completion), guest-agent (the static agent, its systemd units,
# guest-agent(8)) and libguest-dev (headers, static library, pkg-config),
# built with debhelper from scripts/debian/ and checked with lintian.
#
#   scripts/package.sh            build them into build/packages/
#
# The version is the project's (CMakeLists.txt).  The sources are copied
# with scripts/debian/ as debian/ into build/packages/src and built there,
# so the tree itself holds no debian/ directory.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
scripts/deps.sh build package
out=$top/build/packages
version=$(sed -n 's/^project(guest VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
[ -n "$version" ] || { echo "package: no version in CMakeLists.txt" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out/src"
# The sources CMake builds from, and the packaging.
cp -a CMakeLists.txt README.md proto cli agent libguest include docs bench \
    tests "$out/src/"
cp -a scripts/debian "$out/src/debian"
date=$(date -R -d "@$(git log -1 --format=%ct 2>/dev/null || date +%s)")
cat >"$out/src/debian/changelog" <<CHANGELOG
guest ($version) unstable; urgency=medium

  * Built from the tree at $(git rev-parse --short HEAD 2>/dev/null || echo "an unknown commit").

 -- guest developers <guest-devel@example.org>  $date
CHANGELOG
(cd "$out/src" && dpkg-buildpackage -b -uc -us --no-sign >"$out/build.log" 2>&1) || {
	tail -n 40 "$out/build.log"
	echo "package: dpkg-buildpackage failed (whole log: $out/build.log)" >&2
	exit 1
}
rm -rf "$out/src"
ls "$out"/*.deb
# lintian: no errors (warnings are printed).
lintian --fail-on error --suppress-tags-from-file /dev/null "$out"/*.changes
