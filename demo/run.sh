#!/usr/bin/env bash
# The datapath demo: a node namespace and two pod namespaces, wired through from_container by
# bin/vesicle, then ping and a TCP transfer between the pods, the counters, and a full cleanup.
# Everything lives in namespaces named vdemo<pid>-*; the root namespace is never touched.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
vesicle="$top/bin/vesicle"
prefix="vdemo$$"
node="$prefix-node"
pins="/sys/fs/bpf/$prefix"
gateway=10.199.0.1

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
in_ns() { local ns=$1; shift; nsenter --net="/var/run/netns/$ns" -- "$@"; }

cleanup() {
    set +e
    [ -n "${iperf_pid:-}" ] && kill "$iperf_pid" 2>/dev/null
    for ns in "$prefix-pod-b" "$prefix-pod-a" "$node"; do
        ip netns del "$ns" 2>/dev/null
    done
    rm -rf "$pins"
}
trap cleanup EXIT

# Leftovers of a demo that was killed: their names carry a pid that is gone.
for ns in $(ip netns list | awk '{print $1}' | grep -E '^vdemo[0-9]+-' || true); do
    pid=${ns#vdemo}; pid=${pid%%-*}
    kill -0 "$pid" 2>/dev/null || ip netns del "$ns"
done
for dir in /sys/fs/bpf/vdemo*; do
    [ -e "$dir" ] || continue
    pid=${dir#/sys/fs/bpf/vdemo}
    kill -0 "$pid" 2>/dev/null || rm -rf "$dir"
done

step "namespaces: $node, $prefix-pod-a, $prefix-pod-b"
for ns in "$node" "$prefix-pod-a" "$prefix-pod-b"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
done
# No forwarding in the node: pod-to-pod traffic can only go through the BPF program.
in_ns "$node" sysctl -qw net.ipv4.ip_forward=0

step "wiring the pods through the datapath (bin/vesicle wire)"
"$vesicle" wire --node-netns "/var/run/netns/$node" --pod-netns "/var/run/netns/$prefix-pod-a" \
    --id 1 --ip 10.199.0.2 --gateway $gateway --pin-root "$pins"
"$vesicle" wire --node-netns "/var/run/netns/$node" --pod-netns "/var/run/netns/$prefix-pod-b" \
    --id 2 --ip 10.199.0.3 --gateway $gateway --pin-root "$pins"
"$vesicle" endpoints --pin-root "$pins"
in_ns "$node" tc filter show dev lxc1 ingress

step "ping pod-a -> pod-b"
in_ns "$prefix-pod-a" ping -c 3 -i 0.2 10.199.0.3

step "TCP transfer pod-a -> pod-b (iperf3, 3 s)"
in_ns "$prefix-pod-b" iperf3 -s -1 -p 5201 >/dev/null &
iperf_pid=$!
for _ in $(seq 50); do in_ns "$prefix-pod-b" ss -ltn | grep -q ':5201' && break; sleep 0.1; done
in_ns "$prefix-pod-a" iperf3 -c 10.199.0.3 -p 5201 -t 3 | grep -E 'sender|receiver'
wait "$iperf_pid" 2>/dev/null || true
iperf_pid=

step "datapath counters (bin/vesicle metrics)"
"$vesicle" metrics --pin-root "$pins"

step "a spoofed source is dropped: pod-a sends from 10.199.0.99"
ip -n "$prefix-pod-a" addr add 10.199.0.99/32 dev eth0
in_ns "$prefix-pod-a" ping -c 2 -W 1 -I 10.199.0.99 10.199.0.3 >/dev/null && echo "unexpected: spoofed ping answered" \
    || echo "spoofed ping dropped"
"$vesicle" metrics --pin-root "$pins" | grep -E 'REASON|invalid_source'

step "unwiring and removing everything"
"$vesicle" unwire --node-netns "/var/run/netns/$node" --id 1 --ip 10.199.0.2 --pin-root "$pins"
"$vesicle" unwire --node-netns "/var/run/netns/$node" --id 2 --ip 10.199.0.3 --pin-root "$pins"
cleanup
trap - EXIT
echo "demo done: namespaces and pins removed"
