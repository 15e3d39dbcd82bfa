#!/usr/bin/env bash
# Same-node pod-to-pod: Vesicle's datapath against two pods on a Linux bridge (the cni0 layout),
# alternating runs in one invocation; prints medians and ratios. Needs `make build` first.
#   ROUNDS=3 SECONDS_PER_RUN=4 bench/same-node.sh
# Everything lives in namespaces vbench<pid>-*, removed on exit.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
vesicle="$top/bin/vesicle"
rounds=${ROUNDS:-3}
secs=${SECONDS_PER_RUN:-4}
prefix="vbench$$"
pins="/sys/fs/bpf/$prefix"
results=$(mktemp)

in_ns() { local ns=$1; shift; nsenter --net="/var/run/netns/$ns" -- "$@"; }
cleanup() {
    set +e
    pkill -f "iperf3 -s -p 52[01]" 2>/dev/null
    pkill -f "sockperf sr .*1100[01]" 2>/dev/null
    for ns in $(ip netns list | awk '{print $1}' | grep "^$prefix-"); do ip netns del "$ns"; done
    rm -rf "$pins" "$results"
}
trap cleanup EXIT

mkns() { ip netns add "$1"; ip -n "$1" link set lo up; }

# --- bridge: pods on cni0 in their node namespace, /24 addresses, the node routes nothing
setup_bridge() {
    local node="$prefix-bnode"
    mkns "$node"
    ip -n "$node" link add cni0 type bridge
    ip -n "$node" addr add 10.198.0.1/24 dev cni0
    ip -n "$node" link set cni0 up
    for i in 2 3; do
        local pod="$prefix-bpod$i"
        mkns "$pod"
        ip -n "$node" link add "veth$i" type veth peer name eth0 netns "$pod"
        ip -n "$node" link set "veth$i" master cni0 up
        ip -n "$pod" addr add "10.198.0.$i/24" dev eth0
        ip -n "$pod" link set eth0 up
        ip -n "$pod" route add default via 10.198.0.1
    done
}

# --- vesicle: pods wired by bin/vesicle wire, joined by from_container
setup_vesicle() {
    local node="$prefix-vnode"
    mkns "$node"
    in_ns "$node" sysctl -qw net.ipv4.ip_forward=0
    for i in 2 3; do
        local pod="$prefix-vpod$i"
        mkns "$pod"
        "$vesicle" wire --node-netns "/var/run/netns/$node" --pod-netns "/var/run/netns/$pod" \
            --id "$i" --ip "10.197.0.$i" --gateway 10.197.0.1 --pin-root "$pins" >/dev/null
    done
}

start_servers() { # pod ip
    in_ns "$1" iperf3 -s -p 5201 -D >/dev/null
    nsenter --net="/var/run/netns/$1" -- sockperf sr --tcp -i "$2" -p 11000 >/dev/null 2>&1 &
    sleep 0.5
}

measure() { # label client-pod server-ip
    local label=$1 client=$2 ip=$3 out
    out=$(in_ns "$client" iperf3 -c "$ip" -p 5201 -u -l 64 -b 0 -t "$secs" -J)
    echo "$label udp64 $(jq '.end.sum.bits_per_second * (1 - .end.sum.lost_percent / 100) / 1e6' <<<"$out")" >>"$results"
    out=$(in_ns "$client" iperf3 -c "$ip" -p 5201 -t "$secs" -J)
    echo "$label tcp $(jq '.end.sum_received.bits_per_second / 1e9' <<<"$out")" >>"$results"
    out=$(in_ns "$client" sockperf pp --tcp -i "$ip" -p 11000 -t "$secs" 2>&1)
    echo "$label p50 $(sed -n 's/.*percentile 50.000 = *\([0-9.]*\).*/\1/p' <<<"$out")" >>"$results"
    echo "$label p99 $(sed -n 's/.*percentile 99.000 = *\([0-9.]*\).*/\1/p' <<<"$out")" >>"$results"
}

setup_bridge
setup_vesicle
start_servers "$prefix-bpod3" 10.198.0.3
start_servers "$prefix-vpod3" 10.197.0.3
for r in $(seq "$rounds"); do
    echo "round $r/$rounds" >&2
    measure bridge "$prefix-bpod2" 10.198.0.3
    measure vesicle "$prefix-vpod2" 10.197.0.3
done

median() { sort -n | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
get() { awk -v l="$1" -v m="$2" '$1==l && $2==m {print $3}' "$results" | median; }
printf '\n%-28s %12s %12s %8s %s\n' "same node, $rounds rounds" bridge vesicle ratio goal
row() { # metric label unit goal higher-is-better
    local b v
    b=$(get bridge "$1"); v=$(get vesicle "$1")
    awk -v b="$b" -v v="$v" -v n="$2" -v g="$3" -v hib="$4" 'BEGIN {
        r = hib ? v / b : b / v
        printf "%-28s %12.2f %12.2f %7.2fx %s\n", n, b, v, r, g }'
}
row udp64 "UDP 64 B (Mbit/s received)" ">= 1.35x" 1
row tcp "TCP 1 stream (Gbit/s)" ">= 1.05x" 1
row p50 "TCP RR p50 (usec; ratio b/v)" ">= 1.00x" 0
row p99 "TCP RR p99 (usec; ratio b/v)" "" 0
