#!/usr/bin/env bash
# CNI ADD end to end: bin/vesicle-cni exec'd as a runtime execs it (libcni's environment and
# stdin), timed from exec to exit (JVM start included), 100 sequential and 100 with 8 in
# parallel, against bin/vesicle agent running for a node namespace; then the agent's own
# endpoint creation (PUT /v1/endpoints). Prints p50/p99 and the goals. Needs `make build` first.
#   bench/cni-add.sh                      # defaults
#   BENCH_OPTS="-Dbench.adds=200" bench/cni-add.sh
# Everything lives in namespaces, temporary directories and pins named vt<pid>x*, removed on exit.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
for f in "$top/bench/target/vesicle-bench.jar" "$top/bin/vesicle-cni" "$top/agent/target/vesicle-agent.jar"; do
    [ -e "$f" ] || { echo "cni-add: $f is missing; run 'make build' first" >&2; exit 1; }
done
exec java ${BENCH_OPTS:-} -Dvesicle.root="$top" -cp "$top/bench/target/vesicle-bench.jar:$top/bench/target/lib/*" \
    io.vesicle.bench.CniAddBenchmark
