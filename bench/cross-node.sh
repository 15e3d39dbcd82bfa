#!/usr/bin/env bash
# Cross-node pod-to-pod on two node namespaces over a veth underlay (the topology of
# demo/topology.sh), alternating rounds in one invocation, medians and ratios printed:
#   overlay   Vesicle, routingMode overlay (BPF VXLAN encapsulation, collect_md device)
#   native    Vesicle, routingMode native (bpf_fib_lookup + bpf_redirect_neigh, a route per node)
#   flannel   Flannel's vxlan backend rebuilt with ip commands: a kernel VXLAN device flannel.1
#             (VNI 1, port 8472, no learning, MTU 1450) with static routes, neighbours and FDB
#             entries per peer, and pods on a Linux bridge cni0 (MTU 1450)
#   underlay  node to node, no pods: the ceiling
# Single-stream TCP (iperf3), 64-byte UDP (iperf3 -l 64 -b 0; Mbit/s of payload received is
# proportional to the packet rate) and TCP request/response latency (sockperf ping-pong).
#   ROUNDS=3 SECONDS_PER_RUN=4 VARIANTS="overlay native flannel underlay" [BENCH_RAW=FILE] bench/cross-node.sh
# Needs `make build`. Everything lives in namespaces vbench<pid>-*, /tmp/vbench<pid>,
# /dev/shm/vbench<pid>-etcd and /sys/fs/bpf/vbench<pid>-*, removed on exit.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
rounds=${ROUNDS:-3}
secs=${SECONDS_PER_RUN:-4}
variants=${VARIANTS:-overlay native flannel underlay}
prefix="vbench$$"
work="/tmp/$prefix"
results="$work/results"
# shellcheck source=demo/topology.sh
. "$top/demo/topology.sh"
# shellcheck source=bench/measure.sh
. "$top/bench/measure.sh"

cleanup() {
    set +e
    bench_stop_servers
    topo_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM
topo_sweep vbench
mkdir -p "$work"
chmod 700 "$work"
: >"$results"

has() { [[ " $variants " == *" $1 "* ]]; }

# --- flannel: nodes 11 and 12, pod subnets 10.250.<node>.0/24, one pod per node
flannel_node() {
    local i=$1 ns="$prefix-n$1" pod="$prefix-f$1"
    topo_node "$i"
    ip -n "$ns" link add flannel.1 type vxlan id 1 local "$TOPO_NET.$i" dev eth0 dstport 8472 nolearning
    ip -n "$ns" link set flannel.1 mtu 1450 up
    ip -n "$ns" addr add "10.250.$i.0/32" dev flannel.1
    ip -n "$ns" link add cni0 mtu 1450 type bridge
    ip -n "$ns" addr add "10.250.$i.1/24" dev cni0
    ip -n "$ns" link set cni0 up
    mkns "$pod"
    ip -n "$ns" link add veth0 mtu 1450 type veth peer name eth0 netns "$pod"
    ip -n "$ns" link set veth0 master cni0 up
    ip -n "$pod" link set eth0 up
    ip -n "$pod" addr add "10.250.$i.2/24" dev eth0
    ip -n "$pod" route add default via "10.250.$i.1"
}

# flannel_peer I J: what flanneld programs on node I for node J.
flannel_peer() {
    local ns="$prefix-n$1" j=$2 mac
    mac=$(ip -n "$prefix-n$j" -j link show flannel.1 | jq -r '.[0].address')
    ip -n "$ns" route add "10.250.$j.0/24" via "10.250.$j.0" dev flannel.1 onlink
    ip -n "$ns" neigh add "10.250.$j.0" lladdr "$mac" dev flannel.1 nud permanent
    in_ns "$ns" bridge fdb append "$mac" dev flannel.1 dst "$TOPO_NET.$j"
}

# await_reach FROM-NETNS IP: ping until answered (30 s).
await_reach() {
    in_ns "$1" ping -q -c 1 -i 0.2 -w 30 "$2" >/dev/null || { echo "no path from $1 to $2" >&2; return 1; }
}

topo_underlay
declare -A client server_ip
if has flannel || has underlay; then
    flannel_node 11
    flannel_node 12
    flannel_peer 11 12
    flannel_peer 12 11
fi
if has flannel; then
    bench_servers "$prefix-f12" 10.250.12.2
    await_reach "$prefix-f11" 10.250.12.2
    client[flannel]="$prefix-f11"; server_ip[flannel]=10.250.12.2
fi
if has underlay; then
    bench_servers "$prefix-n12" "$TOPO_NET.12"
    client[underlay]="$prefix-n11"; server_ip[underlay]="$TOPO_NET.12"
fi
if has overlay || has native; then
    topo_etcd
fi
# vesicle_pair MODE I J CIDR: nodes I and J with agents in MODE (a cluster of their own in etcd),
# one pod each; the benchmark runs from I's pod to J's.
vesicle_pair() {
    local mode=$1 i=$2 j=$3 cidr=$4 n
    for n in "$i" "$j"; do
        topo_node "$n"
        topo_agent "$n" "$mode" "$cidr" "/vbench-$mode"
        topo_await_agent "$n"
    done
    for n in "$i" "$j"; do topo_pod "$n" "$mode$n" >/dev/null; done
    bench_servers "$prefix-$mode$j" "$(topo_pod_ip "$mode$j")"
    await_reach "$prefix-$mode$i" "$(topo_pod_ip "$mode$j")"
    client[$mode]="$prefix-$mode$i"; server_ip[$mode]=$(topo_pod_ip "$mode$j")
}
if has overlay; then vesicle_pair overlay 1 2 10.244.0.0/16; fi
if has native; then vesicle_pair native 3 4 10.245.0.0/16; fi

labels=()
for v in overlay native flannel underlay; do has "$v" && labels+=("$v"); done
for r in $(seq "$rounds"); do
    echo "round $r/$rounds" >&2
    for v in "${labels[@]}"; do bench_measure "$v" "${client[$v]}" "${server_ip[$v]}"; done
done

# BENCH_RAW=FILE keeps every round's figures ("label metric value" lines) for a closer look.
if [ -n "${BENCH_RAW:-}" ]; then cp "$results" "$BENCH_RAW"; fi
bench_table "cross node, $rounds rounds" "${labels[@]}"
echo "ratios (>1: the first is better):"
if has overlay && has flannel; then
    bench_ratio tcp overlay flannel "goal >= 1.2x"
    bench_ratio udp64 overlay flannel "goal >= 1.2x"
    bench_ratio tcpcpu overlay flannel "the same, per CPU-second"
    bench_ratio udp64cpu overlay flannel "the same, per CPU-second"
    bench_ratio p50 overlay flannel "goal >= 1.0x"
    bench_ratio p99 overlay flannel ""
fi
if has native && has underlay; then
    for m in tcp udp64; do bench_ratio "$m" native underlay "goal >= 0.97x"; done
    for m in tcpcpu udp64cpu; do bench_ratio "$m" native underlay "the same, per CPU-second"; done
    for m in p50 p99; do bench_ratio "$m" native underlay ""; done
fi
if has flannel && has underlay; then
    for m in tcp udp64; do bench_ratio "$m" flannel underlay "baseline's cost"; done
fi
