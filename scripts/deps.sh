#!/bin/sh
# Install the Debian packages of the given groups (build, test, bench) from
# scripts/packages.txt.  Does nothing when they are all there already.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
[ $# -gt 0 ] || set -- build
pkgs=
for group in "$@"; do
	pkgs="$pkgs $(awk -v g="$group" '$1 == g { print $2 }' "$here/packages.txt")"
done
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
	    missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
