#!/usr/bin/env bash
# Same-node pod-to-pod: Vesicle's datapath against a bare veth pair joining the two pods (the
# ceiling: no node in between) and two pods on a Linux bridge (the cni0 layout), alternating runs
# in one invocation; prints medians and ratios. Needs `make build` first.
#   ROUNDS=3 SECONDS_PER_RUN=4 bench/same-node.sh
# Everything lives in namespaces vbench<pid>-*, removed on exit.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
here="$top/bench"
vesicle="$top/bin/vesicle"
rounds=${ROUNDS:-3}
secs=${SECONDS_PER_RUN:-4}
prefix="vbench$$"
pins="/sys/fs/bpf/$prefix"
results=$(mktemp)
# shellcheck source=demo/topology.sh
. "$top/demo/topology.sh"
# shellcheck source=bench/measure.sh
. "$here/measure.sh"

cleanup() {
    set +e
    bench_stop_servers
    for ns in $(ip netns list | awk '{print $1}' | grep "^$prefix-"); do ip netns del "$ns"; done
    rm -rf "$pins" "$results"
}
trap cleanup EXIT

# --- veth: the two pods joined by one veth pair, no node between them (the ceiling)
setup_veth() {
    mkns "$prefix-epod2"
    mkns "$prefix-epod3"
    ip -n "$prefix-epod2" link add eth0 type veth peer name eth0 netns "$prefix-epod3"
    for i in 2 3; do
        ip -n "$prefix-epod$i" addr add "10.196.0.$i/24" dev eth0
        ip -n "$prefix-epod$i" link set eth0 up
    done
}

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

setup_veth
setup_bridge
setup_vesicle
bench_servers "$prefix-epod3" 10.196.0.3
bench_servers "$prefix-bpod3" 10.198.0.3
bench_servers "$prefix-vpod3" 10.197.0.3
for r in $(seq "$rounds"); do
    echo "round $r/$rounds" >&2
    bench_measure veth "$prefix-epod2" 10.196.0.3
    bench_measure bridge "$prefix-bpod2" 10.198.0.3
    bench_measure vesicle "$prefix-vpod2" 10.197.0.3
done

# BENCH_RAW=FILE keeps every round's figures ("label metric value" lines) for a closer look.
if [ -n "${BENCH_RAW:-}" ]; then cp "$results" "$BENCH_RAW"; fi
bench_table "same node, $rounds rounds" veth bridge vesicle
echo "ratios (>1: the first is better):"
for m in udp64 tcp; do bench_ratio "$m" vesicle veth "goal >= 0.95x"; done
for m in udp64cpu tcpcpu; do bench_ratio "$m" vesicle veth "the same, per CPU-second"; done
for m in p50 p99; do bench_ratio "$m" vesicle veth ""; done
for m in udp64 tcp p50 p99; do bench_ratio "$m" vesicle bridge ""; done
for m in udp64 tcp; do bench_ratio "$m" veth bridge "ceiling over bridge"; done
