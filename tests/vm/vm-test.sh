#!/bin/bash
# CTest entry (label vm): prepare the guest with this build's binaries,
# boot it, run the vsock suite inside.
#   vm-test.sh GUEST GUEST_AGENT PTYRUN OUT
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/prepare.sh" "$4" "$1" "$2" "$3" "$(command -v socat)"
exec "$here/run.sh" "$4" 600
