#!/usr/bin/env bash
# The cluster demo: two nodes on an underlay, etcd as the cluster's store, bin/vesicle agent on
# each node (overlay by default: VXLAN encapsulated in BPF; --native: plain routing, no
# encapsulation), and two pods per node wired the way a container runtime wires them: by exec'ing
# bin/vesicle-cni (ADD, CHECK, DEL). Then ping and TCP between pods on different nodes, a capture
# of what the underlay carries, a pod reaching a host outside the cluster (which sees the node's
# address), the datapath's counters, a clean stop of the agents (SIGTERM) and a full cleanup.
#   demo/run.sh [--native]
# Everything lives in namespaces vdemo<pid>-*, /tmp/vdemo<pid>, /dev/shm/vdemo<pid>-etcd and
# /sys/fs/bpf/vdemo<pid>-*; the root namespace is never touched. Leftovers of a killed demo are
# removed on the next run.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
vesicle="$top/bin/vesicle"
mode=overlay
case "${1:-}" in
    "") ;;
    --native) mode=native ;;
    *) echo "usage: $0 [--native]" >&2; exit 2 ;;
esac
prefix="vdemo$$"
work="/tmp/$prefix"
# shellcheck source=demo/topology.sh
. "$top/demo/topology.sh"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

trap 'set +e; topo_cleanup' EXIT
trap 'exit 130' INT TERM
topo_sweep vdemo
mkdir -p "$work"
chmod 700 "$work"

step "underlay: bridge in $prefix-ul, external host $TOPO_EXTERNAL ($prefix-ext), node1 $TOPO_NET.1, node2 $TOPO_NET.2"
topo_underlay
topo_node 1
topo_node 2
ip -n "$prefix-n1" -br addr show dev eth0
ip -n "$prefix-n1" route

step "etcd on the underlay ($TOPO_ETCD:2379), its data in /dev/shm/$prefix-etcd"
topo_etcd
echo "etcd answers"

step "agents ($mode mode) on both nodes, each in its node's namespace"
for i in 1 2; do
    # One after the other: the first agent sets the cluster's CIDR in etcd, and two JVMs starting
    # side by side on a small machine are slow to make their first etcd call.
    topo_agent "$i" "$mode"
    topo_await_agent "$i"
done
cat "$work/n1/agent.yaml"
"$vesicle" status --api-socket "$work/n1/vesicle.sock"

step "ADD: the runtime execs bin/vesicle-cni for each pod (pod-a, pod-b on node1; pod-c, pod-d on node2)"
topo_pod 1 pod-a >/dev/null
topo_pod 1 pod-b >/dev/null
topo_pod 2 pod-c >/dev/null
topo_pod 2 pod-d >/dev/null
for pod in pod-a pod-b pod-c pod-d; do
    printf '%s: %s  (MTU %s)\n' "$pod" "$(topo_pod_ip "$pod")" \
        "$(ip -n "$prefix-$pod" -j link show dev eth0 | jq -r '.[0].mtu')"
done
ip_a=$(topo_pod_ip pod-a); ip_b=$(topo_pod_ip pod-b); ip_c=$(topo_pod_ip pod-c); ip_d=$(topo_pod_ip pod-d)

step "CHECK every pod"
for pod in pod-a pod-b; do topo_cni CHECK 1 "$pod"; done
for pod in pod-c pod-d; do topo_cni CHECK 2 "$pod"; done
echo "CHECK ok"

step "what node1 knows of the cluster: its ipcache (pinned map) and routes"
for i in $(seq 100); do
    in_ns "$prefix-pod-a" ping -q -c 1 -W 1 "$ip_c" >/dev/null 2>&1 && break
    [ "$i" = 100 ] && { echo "node2's pods never became reachable from node1"; exit 1; }
    sleep 0.2
done
topo_ipcache 1
ip -n "$prefix-n1" route

step "ping across nodes: pod-a ($ip_a, node1) -> pod-c ($ip_c, node2), and within node1: pod-a -> pod-b"
in_ns "$prefix-pod-a" ping -c 3 -i 0.2 "$ip_c"
in_ns "$prefix-pod-a" ping -c 2 -i 0.2 "$ip_b"

step "what the underlay carries between the nodes (tshark on node1's bridge port)"
nsenter --net="/var/run/netns/$prefix-ul" -- tshark -n -l -i n1 -c 4 -f "udp port 8472 or icmp" \
    -d udp.port==8472,vxlan -T fields -E separator=' ' -e ip.src -e ip.dst -e vxlan.vni \
    >"$work/capture" 2>"$work/capture.err" &
capture_pid=$!
topo_pids+=("$capture_pid")
for _ in $(seq 100); do grep -q Capturing "$work/capture.err" && break; sleep 0.1; done
in_ns "$prefix-pod-b" ping -q -c 3 -i 0.2 "$ip_d" >/dev/null
wait "$capture_pid" || true
if [ "$mode" = overlay ]; then
    echo "outer src, inner src, outer dst, inner dst, VNI (the sender's identity; 5 = init):"
else
    echo "src, dst (pod addresses, no encapsulation):"
fi
sed 's/^/  /' "$work/capture"

step "TCP across nodes: pod-b -> pod-d (iperf3, 3 s)"
nsenter --net="/var/run/netns/$prefix-pod-d" -- iperf3 -s -1 -p 5201 >/dev/null &
topo_pids+=($!)
for _ in $(seq 50); do in_ns "$prefix-pod-d" ss -Hltn 'sport = :5201' | grep -q . && break; sleep 0.1; done
in_ns "$prefix-pod-b" iperf3 -c "$ip_d" -p 5201 -t 3 | grep -E 'sender|receiver'

step "a pod reaching the external host $TOPO_EXTERNAL (no route to any pod there: it sees the node)"
nsenter --net="/var/run/netns/$prefix-ext" -- iperf3 -s -1 -p 5201 >"$work/external.log" 2>&1 &
topo_pids+=($!)
for _ in $(seq 50); do in_ns "$prefix-ext" ss -Hltn 'sport = :5201' | grep -q . && break; sleep 0.1; done
in_ns "$prefix-pod-c" iperf3 -c "$TOPO_EXTERNAL" -p 5201 -t 1 >/dev/null
echo "pod-c is $ip_c on node2 ($TOPO_NET.2); the external host says:"
grep -m1 'Accepted connection' "$work/external.log" | sed 's/^/  /'

step "datapath counters (bin/vesicle metrics) on node1 and node2"
"$vesicle" metrics --pin-root "/sys/fs/bpf/$prefix-n1"
"$vesicle" metrics --pin-root "/sys/fs/bpf/$prefix-n2"

step "DEL every pod (and pod-d twice: a repeated DEL must succeed)"
for pod in pod-a pod-b; do topo_cni DEL 1 "$pod"; done
for pod in pod-c pod-d; do topo_cni DEL 2 "$pod"; done
topo_cni DEL 2 pod-d
# What is left is the node's own: vsl_host/vsl_net (a veth pair) and vsl_vxlan.
for i in 1 2; do
    echo "node$i's links now: $(ip -n "$prefix-n$i" -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | xargs)"
done

step "stopping the agents (SIGTERM)"
for i in 1 2; do
    pid=$(cat "$work/n$i/agent.pid")
    kill -TERM "$pid"
    rc=0
    wait "$pid" || rc=$?
    echo "node$i's agent exited with $rc; the end of its log:"
    tail -n 5 "$work/n$i/agent.log" | sed 's/^/  | /'
done

step "removing everything"
topo_cleanup
trap - EXIT
echo "demo done: agents and etcd stopped, namespaces, state and pins removed"
