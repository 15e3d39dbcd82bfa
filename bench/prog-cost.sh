#!/usr/bin/env bash
# What from_container itself costs per packet (BPF_PROG_TEST_RUN's mean time per run, median of
# alternating rounds): the one figure that stays put on a busy machine, for changes inside the
# program (lookups, counters). Other objects given as arguments (a variant built elsewhere) are
# measured in the same rounds. Needs `make build` first.
#   ROUNDS=9 bench/prog-cost.sh [OTHER.o...]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
object="$top/bpf/target/classes/META-INF/bpf/bpf_lxc.o"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

gcc -O2 -Wall -o "$work/prog_cost_bench" "$top/bench/c/prog_cost_bench.c" -lbpf
echo "from_container, same-node 64-byte UDP, ns per run (median of ${ROUNDS:-9} rounds):"
"$work/prog_cost_bench" "${ROUNDS:-9}" "$object" "$@"
