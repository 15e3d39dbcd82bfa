# shellcheck shell=bash
# Shared by the network benchmarks (sourced): servers in a namespace, one measurement round of
# single-stream TCP, 64-byte UDP and TCP request/response latency, medians and ratios from the
# rounds. The caller sources demo/topology.sh first (in_ns, topo_kill), sets prefix, secs and
# results (a file), and calls bench_stop_servers on exit.

bench_pids=()

# bench_servers NETNS IP: iperf3 and sockperf servers in NETNS, listening before it returns.
bench_servers() {
    local ns=$1 ip=$2 i
    # nsenter execs the server: $! is its pid, ours to kill.
    nsenter --net="/var/run/netns/$ns" -- iperf3 -s -p 5201 >/dev/null 2>&1 &
    bench_pids+=($!)
    nsenter --net="/var/run/netns/$ns" -- sockperf sr --tcp -i "$ip" -p 11000 >/dev/null 2>&1 &
    bench_pids+=($!)
    for i in $(seq 100); do
        in_ns "$ns" ss -Hltn 'sport = :5201' | grep -q . && in_ns "$ns" ss -Hltn 'sport = :11000' | grep -q . \
            && return 0
        sleep 0.1
    done
    echo "servers in $ns did not listen" >&2
    return 1
}

bench_stop_servers() {
    local pid
    for pid in "${bench_pids[@]}"; do topo_kill "$pid"; done
    bench_pids=()
}

# bench_measure LABEL CLIENT-NETNS SERVER-IP: one round; appends "LABEL METRIC VALUE" lines.
# Besides the rates, what they cost: the rate per CPU-second the two iperf3 processes used (their
# own time, and the softirq work the kernel ran in their context, which on veth paths is nearly
# the whole path). On a machine shared with other work a rate measures mostly the CPU share the
# benchmark got; the rate per CPU-second does not depend on that share.
bench_measure() {
    local label=$1 client=$2 ip=$3 out
    out=$(in_ns "$client" iperf3 -c "$ip" -p 5201 -u -l 64 -b 0 -t "$secs" -J)
    echo "$label udp64 $(jq '.end.sum.bits_per_second * (1 - .end.sum.lost_percent / 100) / 1e6' <<<"$out")" \
        >>"$results"
    echo "$label udp64cpu $(jq '.end.sum.bits_per_second * (1 - .end.sum.lost_percent / 100) / 1e6
        / ((.end.cpu_utilization_percent.host_total + .end.cpu_utilization_percent.remote_total) / 100)' \
        <<<"$out")" >>"$results"
    out=$(in_ns "$client" iperf3 -c "$ip" -p 5201 -t "$secs" -J)
    echo "$label tcp $(jq '.end.sum_received.bits_per_second / 1e9' <<<"$out")" >>"$results"
    echo "$label tcpcpu $(jq '.end.sum_received.bits_per_second / 1e9
        / ((.end.cpu_utilization_percent.host_total + .end.cpu_utilization_percent.remote_total) / 100)' \
        <<<"$out")" >>"$results"
    out=$(in_ns "$client" sockperf pp --tcp -i "$ip" -p 11000 -t "$secs" 2>&1)
    echo "$label p50 $(sed -n 's/.*percentile 50.000 = *\([0-9.]*\).*/\1/p' <<<"$out")" >>"$results"
    echo "$label p99 $(sed -n 's/.*percentile 99.000 = *\([0-9.]*\).*/\1/p' <<<"$out")" >>"$results"
}

bench_median() { sort -n | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
bench_get() { awk -v l="$1" -v m="$2" '$1==l && $2==m {print $3}' "$results" | bench_median; }

# bench_table TITLE LABEL...: the medians of every metric for each label, one column per label.
bench_table() {
    local title=$1 label metric name
    shift
    printf '\n%-30s' "$title"
    for label in "$@"; do printf ' %10s' "$label"; done
    printf '\n'
    for metric in tcp tcpcpu udp64 udp64cpu p50 p99; do
        case $metric in
            tcp) name="TCP 1 stream (Gbit/s)" ;;
            tcpcpu) name="  per CPU-second (Gbit)" ;;
            udp64) name="UDP 64 B (Mbit/s received)" ;;
            udp64cpu) name="  per CPU-second (Mbit)" ;;
            p50) name="TCP RR p50 (usec)" ;;
            p99) name="TCP RR p99 (usec)" ;;
        esac
        printf '%-30s' "$name"
        for label in "$@"; do printf ' %10.2f' "$(bench_get "$label" "$metric")"; done
        printf '\n'
    done
}

# bench_ratio METRIC A B GOAL: A against B on METRIC (throughput: A/B; latency: B/A, so >1 is A better).
bench_ratio() {
    local metric=$1 a=$2 b=$3 goal=$4
    awk -v m="$metric" -v a="$a" -v b="$b" -v va="$(bench_get "$a" "$metric")" -v vb="$(bench_get "$b" "$metric")" \
        -v g="$goal" 'BEGIN {
        lat = (m == "p50" || m == "p99")
        r = lat ? vb / va : va / vb
        printf "  %-6s %-9s vs %-9s %6.2fx  %s\n", m, a, b, r, g }'
}
