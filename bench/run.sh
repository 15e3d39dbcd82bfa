#!/usr/bin/env bash
# All benchmarks, each against its baseline in the same run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/map-updates.sh"
"$here/same-node.sh"
"$here/cross-node.sh"
"$here/cni-add.sh"
