#!/usr/bin/env bash
# The node demo: bin/vesicle agent runs for a node namespace, and two pods are wired the way a
# container runtime wires them: by exec'ing bin/vesicle-cni with a network configuration list
# (libcni's environment and stdin), ADD, CHECK, DEL. Then ping and a TCP transfer between the
# pods, the datapath's counters, a clean stop of the agent (SIGTERM) and a full cleanup.
# Everything lives in namespaces vdemo<pid>-*, /tmp/vdemo<pid> and /sys/fs/bpf/vdemo<pid>;
# the root namespace is never touched. Leftovers of a killed demo are removed on the next run.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
vesicle="$top/bin/vesicle"
prefix="vdemo$$"
node="$prefix-node"
work="/tmp/$prefix"
pins="/sys/fs/bpf/$prefix"
socket="$work/vesicle.sock"
conflist="$work/net.d/10-vesicle.conflist"
cnibin="$work/cni-bin"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
in_ns() { local ns=$1; shift; nsenter --net="/var/run/netns/$ns" -- "$@"; }

agent_pid=
iperf_pid=
cleanup() {
    set +e
    [ -n "$iperf_pid" ] && kill "$iperf_pid" 2>/dev/null
    if [ -n "$agent_pid" ] && kill -0 "$agent_pid" 2>/dev/null; then
        kill -KILL "$agent_pid" 2>/dev/null
        wait "$agent_pid" 2>/dev/null
    fi
    for ns in "$prefix-pod-b" "$prefix-pod-a" "$node"; do
        ip netns del "$ns" 2>/dev/null
    done
    rm -rf "$pins" "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Leftovers of a demo that was killed: their names carry a pid that is gone. Its agent, if
# still running, is the pid it recorded, checked against its command line before the kill.
for dir in /tmp/vdemo*; do
    [ -d "$dir" ] || continue
    pid=${dir#/tmp/vdemo}
    kill -0 "$pid" 2>/dev/null && continue
    if [ -f "$dir/agent.pid" ]; then
        apid=$(cat "$dir/agent.pid")
        tr '\0' ' ' <"/proc/$apid/cmdline" 2>/dev/null | grep -q -- "--config $dir/agent.yaml" && kill -KILL "$apid"
    fi
    rm -rf "$dir"
done
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

step "the agent for $node (bin/vesicle agent, in the node's namespace)"
mkdir -p "$work/state" "$work/net.d" "$cnibin"
chmod 700 "$work"
cat >"$work/agent.yaml" <<YAML
nodeName: demo
podCIDR: 10.199.0.0/24
stateDir: $work/state
apiSocket: $socket
bpffsRoot: $pins
YAML
cat "$work/agent.yaml"
# nsenter and bin/vesicle exec, so $! is the agent itself (a backgrounded function would be a subshell).
nsenter --net="/var/run/netns/$node" -- "$vesicle" agent --config "$work/agent.yaml" >"$work/agent.log" 2>&1 &
agent_pid=$!
echo "$agent_pid" >"$work/agent.pid"

# The runtime's side: a network configuration list and CNI_PATH holding the plugin.
ln -s "$top/bin/vesicle-cni" "$cnibin/vesicle"
cat >"$conflist" <<JSON
{
  "cniVersion": "1.1.0",
  "name": "vesicle",
  "plugins": [
    {"type": "vesicle", "agentSocket": "$socket"}
  ]
}
JSON

# cni COMMAND POD CONTAINER-ID [CACHED-RESULT]: what libcni does for a list. Each plugin's config
# is its element with the list's name and cniVersion, plus prevResult: the previous plugin's
# result on ADD, the cached result on CHECK and DEL; DEL runs the plugins in reverse. The
# plugins run in the node's namespace, as the runtime does. ADD prints the result.
cni() {
    local cmd=$1 pod=$2 id=$3 result=${4:-} n order i conf type out
    n=$(jq '.plugins | length' "$conflist")
    if [ "$cmd" = DEL ]; then order=$(seq $((n - 1)) -1 0); else order=$(seq 0 $((n - 1))); fi
    for i in $order; do
        conf=$(jq -c --argjson i "$i" --arg prev "$result" \
            '.name as $n | .cniVersion as $v | .plugins[$i] + {name: $n, cniVersion: $v}
             + (if $prev == "" then {} else {prevResult: ($prev | fromjson)} end)' "$conflist")
        type=$(jq -r ".plugins[$i].type" "$conflist")
        if ! out=$(printf '%s' "$conf" | in_ns "$node" env CNI_COMMAND="$cmd" CNI_CONTAINERID="$id" \
                CNI_NETNS="/var/run/netns/$pod" CNI_IFNAME=eth0 CNI_PATH="$cnibin" \
                CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${pod#"$prefix"-};K8S_POD_INFRA_CONTAINER_ID=$id" \
                "$cnibin/$type"); then
            echo "cni $cmd $pod: plugin $type failed: $out" >&2
            return 1
        fi
        [ "$cmd" = ADD ] && result=$out
    done
    if [ "$cmd" = ADD ]; then printf '%s\n' "$result"; fi
}

# Ready when the plugin's STATUS says so (exit 0), as a runtime asks before it schedules pods.
status_conf=$(jq -c '.name as $n | .cniVersion as $v | .plugins[0] + {name: $n, cniVersion: $v}' "$conflist")
for i in $(seq 100); do
    printf '%s' "$status_conf" | in_ns "$node" env CNI_COMMAND=STATUS CNI_PATH="$cnibin" "$cnibin/vesicle" \
        >/dev/null 2>&1 && break
    kill -0 "$agent_pid" 2>/dev/null || { echo "the agent exited:"; cat "$work/agent.log"; exit 1; }
    [ "$i" = 100 ] && { echo "the agent did not become ready:"; cat "$work/agent.log"; exit 1; }
    sleep 0.2
done
echo "agent pid $agent_pid ready (CNI STATUS ok), API on $socket"

step "ADD: the runtime execs bin/vesicle-cni for each pod ($conflist)"
id_a=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
id_b=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
result_a=$(cni ADD "$prefix-pod-a" "$id_a")
result_b=$(cni ADD "$prefix-pod-b" "$id_b")
echo "pod-a: $result_a"
echo "pod-b: $result_b"
ip_b=$(printf '%s' "$result_b" | jq -r '.ips[0].address | split("/")[0]')
ip -n "$prefix-pod-a" -4 addr show dev eth0
ip -n "$prefix-pod-a" route
"$vesicle" endpoints --pin-root "$pins"

step "CHECK both pods"
cni CHECK "$prefix-pod-a" "$id_a" "$result_a"
cni CHECK "$prefix-pod-b" "$id_b" "$result_b"
echo "CHECK ok"

step "ping pod-a -> pod-b ($ip_b)"
in_ns "$prefix-pod-a" ping -c 3 -i 0.2 "$ip_b"

step "TCP transfer pod-a -> pod-b (iperf3, 3 s)"
nsenter --net="/var/run/netns/$prefix-pod-b" -- iperf3 -s -1 -p 5201 >/dev/null &
iperf_pid=$!
for _ in $(seq 50); do in_ns "$prefix-pod-b" ss -ltn | grep -q ':5201' && break; sleep 0.1; done
in_ns "$prefix-pod-a" iperf3 -c "$ip_b" -p 5201 -t 3 | grep -E 'sender|receiver'
wait "$iperf_pid" 2>/dev/null || true
iperf_pid=

step "datapath counters (bin/vesicle metrics)"
"$vesicle" metrics --pin-root "$pins"

step "the agent's Prometheus metrics and probes (127.0.0.1:9962 in $node)"
in_ns "$node" curl -sS http://127.0.0.1:9962/readyz
in_ns "$node" curl -sS http://127.0.0.1:9962/metrics \
    | grep -E '^vesicle_(forward_packets_total|endpoints|bpf_map_entries)' | grep -v ' 0\.0$' || true

step "DEL both pods (and a second DEL, which must succeed too)"
cni DEL "$prefix-pod-a" "$id_a" "$result_a"
cni DEL "$prefix-pod-b" "$id_b" "$result_b"
cni DEL "$prefix-pod-b" "$id_b"
echo "veths left in the node: $(ip -n "$node" -o link show type veth | wc -l)," \
    "endpoint state files: $(find "$work/state" -name '*.json' | wc -l)"

step "stopping the agent (SIGTERM)"
kill -TERM "$agent_pid"
rc=0
wait "$agent_pid" || rc=$?
agent_pid=
echo "agent exited with $rc; its log:"
sed 's/^/  | /' "$work/agent.log" | tail -n 15

step "removing everything"
cleanup
trap - EXIT
echo "demo done: agent stopped, namespaces, state and pins removed"
