#!/usr/bin/env bash
# Map updates from Java (JMH, MapUpdateBenchmark) against the same loop in C over libbpf,
# measured in one run; prints both and the ratios. Needs `make build` first.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
object="$top/bpf/target/classes/META-INF/bpf/bpf_lxc.o"
seconds=${SECONDS_PER_RUN:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

gcc -O2 -Wall -o "$work/map_update_bench" "$top/bench/c/map_update_bench.c" -lbpf
"$work/map_update_bench" "$object" "$seconds" | tee "$work/c.txt"

java -cp "$top/bench/target/vesicle-bench.jar:$top/bench/target/lib/*" org.openjdk.jmh.Main \
    'MapUpdateBenchmark' -f 1 -wi 3 -w "${seconds}s" -i 5 -r "${seconds}s" -rf csv -rff "$work/jmh.csv" \
    | grep -E '^(Benchmark|MapUpdateBenchmark)'

c_single=$(awk '/^single/ {print $2}' "$work/c.txt")
c_batch=$(awk '/^batch/ {print $2}' "$work/c.txt")
j_single=$(awk -F, '/singleUpdate/ {print $5}' "$work/jmh.csv")
j_batch=$(awk -F, '/batchUpdate/ {print $5}' "$work/jmh.csv")
awk -v cs="$c_single" -v cb="$c_batch" -v js="$j_single" -v jb="$j_batch" 'BEGIN {
    printf "\n%-16s %14s %14s %8s %6s\n", "map updates/s", "C (libbpf)", "Java", "ratio", "goal"
    printf "%-16s %14.0f %14.0f %7.2fx %5.2fx\n", "single", cs, js, js / cs, 0.8
    printf "%-16s %14.0f %14.0f %7.2fx %5.2fx\n", "batched entries", cb, jb, jb / cb, 0.9
}'
