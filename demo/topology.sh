# shellcheck shell=bash
# A cluster in network namespaces for the demo and the benchmarks (sourced; the tests have the same
# layout in Java, tests/.../support/Topology.java):
#
#   $prefix-ul   the underlay: bridge br0 (10.77.0.250/24), where etcd listens for the nodes
#   $prefix-ext  the external host (10.77.0.254/24): the nodes' default gateway, no route to any pod
#   $prefix-nI   node I: uplink eth0 (10.77.0.I/24) plugged into br0, ip_forward=1, an agent
#
# The caller sets top (repository root), prefix (vdemo<pid> or vbench<pid>: the leftover sweep
# knows these) and work (a directory of its own), and calls topo_cleanup from its EXIT trap.
# Nothing outside namespaces named $prefix-*, $work and /sys/fs/bpf/$prefix-* is touched.

TOPO_NET=10.77.0
TOPO_ETCD=$TOPO_NET.250
TOPO_EXTERNAL=$TOPO_NET.254
topo_pids=()

in_ns() { local ns=$1; shift; nsenter --net="/var/run/netns/$ns" -- "$@"; }
mkns() { ip netns add "$1"; ip -n "$1" link set lo up; }

# Leftovers of killed runs named like ours ($1: vdemo or vbench) whose pid is gone: their processes
# (found by the namespace they run in, killed by pid), namespaces, work directories and pins.
topo_sweep() {
    local kind=$1 ns pid dir p
    for ns in $(ip netns list | awk '{print $1}' | grep -E "^$kind[0-9]+-" || true); do
        pid=${ns#"$kind"}; pid=${pid%%-*}
        kill -0 "$pid" 2>/dev/null && continue
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
    done
    for dir in /tmp/"$kind"[0-9]* /dev/shm/"$kind"[0-9]* /sys/fs/bpf/"$kind"[0-9]*; do
        [ -e "$dir" ] || continue
        pid=${dir##*/"$kind"}; pid=${pid%%[!0-9]*}
        kill -0 "$pid" 2>/dev/null || rm -rf "$dir"
    done
}

# topo_kill PID: SIGKILL to PID if it is still a child of this script (a pid that ended may have
# been reused by anyone's process), then reaps it.
topo_kill() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    stat=${stat##*) }
    [ "$(cut -d' ' -f2 <<<"$stat")" = "$$" ] || return 0
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# Kills what we started (by pid), removes our namespaces, work directory and pins.
topo_cleanup() {
    local pid ns
    for pid in "${topo_pids[@]}"; do topo_kill "$pid"; done
    topo_pids=()
    for ns in $(ip netns list | awk '{print $1}' | grep "^$prefix-" || true); do
        ip netns del "$ns" 2>/dev/null
    done
    rm -rf "$work" /dev/shm/"$prefix"-etcd /sys/fs/bpf/"$prefix"-*
}

# The underlay bridge and the external host.
topo_underlay() {
    mkns "$prefix-ul"
    ip -n "$prefix-ul" link add br0 mtu 1500 type bridge
    ip -n "$prefix-ul" addr add "$TOPO_ETCD/24" dev br0
    ip -n "$prefix-ul" link set br0 up
    mkns "$prefix-ext"
    topo_plug ext "$prefix-ext" "$TOPO_EXTERNAL"
}

# topo_plug PORT NETNS ADDRESS: a veth from br0 (port PORT) to eth0 of NETNS with ADDRESS/24.
topo_plug() {
    ip -n "$prefix-ul" link add "$1" mtu 1500 type veth peer name eth0 netns "$2"
    ip -n "$prefix-ul" link set "$1" master br0 up
    ip -n "$2" link set eth0 up
    ip -n "$2" addr add "$3/24" dev eth0
}

# topo_node I: node namespace $prefix-nI at $TOPO_NET.I, routed via the external host, forwarding.
topo_node() {
    local ns="$prefix-n$1"
    mkns "$ns"
    topo_plug "n$1" "$ns" "$TOPO_NET.$1"
    ip -n "$ns" route add default via "$TOPO_EXTERNAL"
    in_ns "$ns" sysctl -qw net.ipv4.ip_forward=1
}

# One etcd member in the underlay namespace, its data in memory (/dev/shm/$prefix-etcd: no fsync
# waits behind a busy disk), its log in $work/etcd; returns once it answers.
topo_etcd() {
    mkdir -p "$work/etcd"
    mkdir -m 700 "/dev/shm/$prefix-etcd"
    nsenter --net="/var/run/netns/$prefix-ul" -- etcd --name "$prefix" --data-dir "/dev/shm/$prefix-etcd/data" \
        --listen-client-urls "http://$TOPO_ETCD:2379" --advertise-client-urls "http://$TOPO_ETCD:2379" \
        --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
        --initial-cluster "$prefix=http://127.0.0.1:2380" --log-level warn >"$work/etcd/log" 2>&1 &
    topo_pids+=($!)
    local i
    for i in $(seq 150); do
        in_ns "$prefix-ul" bash -c "exec 3<>/dev/tcp/$TOPO_ETCD/2379 && printf 'GET /health HTTP/1.0\r\n\r\n' >&3 \
            && grep -q '\"health\":\"true\"' <&3" 2>/dev/null && return 0
        sleep 0.2
    done
    echo "etcd did not become healthy:" >&2; cat "$work/etcd/log" >&2; return 1
}

# topo_agent I MODE [CLUSTER_CIDR] [ETCD_PREFIX]: bin/vesicle agent for node I (overlay|native);
# its config, state and socket under $work/nI, pins under /sys/fs/bpf/$prefix-nI.
topo_agent() {
    local i=$1 mode=$2 cidr=${3:-10.244.0.0/16} store=${4:-/vesicle} dir="$work/n$1"
    mkdir -p "$dir"
    chmod 700 "$work" "$dir"
    cat >"$dir/agent.yaml" <<YAML
nodeName: node$i
routingMode: $mode
uplink: eth0
clusterState: etcd
etcdEndpoints: http://$TOPO_ETCD:2379
etcdPrefix: $store
etcdLeaseTTL: 5
clusterCIDR: $cidr
stateDir: $dir/state
apiSocket: $dir/vesicle.sock
bpffsRoot: /sys/fs/bpf/$prefix-n$i
YAML
    # nsenter execs bin/vesicle, which execs java: $! is the agent itself.
    nsenter --net="/var/run/netns/$prefix-n$i" -- "$top/bin/vesicle" agent --config "$dir/agent.yaml" \
        >"$dir/agent.log" 2>&1 &
    topo_pids+=($!)
    echo $! >"$dir/agent.pid"
}

# topo_await_agent I: until node I's agent serves its API (it creates the socket only once it is
# ready; polling the file costs no JVM start beside the agent's own); its log if it exits.
topo_await_agent() {
    local dir="$work/n$1" i
    for i in $(seq 600); do
        [ -S "$dir/vesicle.sock" ] && return 0
        kill -0 "$(cat "$dir/agent.pid")" 2>/dev/null || break
        sleep 0.2
    done
    echo "the agent of node$1 did not come up; its log:" >&2
    tail -n 30 "$dir/agent.log" >&2
    return 1
}

# topo_cni COMMAND I NAME: bin/vesicle-cni exec'd for pod NAME on node I the way a runtime (libcni)
# does it: CNI_* environment, the network's config on stdin, run in the node's namespace. ADD
# prints and caches the result; CHECK and DEL pass the cached result as prevResult.
topo_cni() {
    local cmd=$1 i=$2 name=$3 dir="$work/n$2" conf id out
    mkdir -p "$dir/cni-bin"
    [ -e "$dir/cni-bin/vesicle" ] || ln -s "$top/bin/vesicle-cni" "$dir/cni-bin/vesicle"
    [ -f "$dir/$name.id" ] || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/$name.id"
    id=$(cat "$dir/$name.id")
    conf=$(jq -nc --arg s "$dir/vesicle.sock" \
        '{cniVersion: "1.1.0", name: "vesicle", type: "vesicle", agentSocket: $s}')
    if [ "$cmd" != ADD ] && [ -f "$dir/$name.result" ]; then
        conf=$(jq -c --slurpfile r "$dir/$name.result" '. + {prevResult: $r[0]}' <<<"$conf")
    fi
    if ! out=$(printf '%s' "$conf" | in_ns "$prefix-n$i" env CNI_COMMAND="$cmd" CNI_CONTAINERID="$id" \
            CNI_NETNS="/var/run/netns/$prefix-$name" CNI_IFNAME=eth0 CNI_PATH="$dir/cni-bin" \
            CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=$name;K8S_POD_INFRA_CONTAINER_ID=$id" \
            "$dir/cni-bin/vesicle"); then
        echo "cni $cmd $name on node$i failed: $out" >&2
        return 1
    fi
    case $cmd in
        ADD) printf '%s\n' "$out" | tee "$dir/$name.result" ;;
        DEL) rm -f "$dir/$name.result" ;;
    esac
}

# topo_pod I NAME: a pod namespace $prefix-NAME wired on node I (CNI ADD); prints the result.
topo_pod() {
    mkns "$prefix-$2"
    topo_cni ADD "$1" "$2"
}

# topo_ipcache I: node I's ipcache as the kernel holds it (bpftool's raw bytes, decoded here:
# struct ipcache_key {u32 prefixlen (32 + IPv4 length); u8 family; u8 pad[3]; be32 addr; ...},
# struct ipcache_value {u32 identity; be32 tunnel_endpoint; u8 flags; ...}), one prefix a line.
topo_ipcache() {
    in_ns "$prefix-n$1" bpftool -j map dump pinned "/sys/fs/bpf/$prefix-n$1/vsl_ipcache" >"$work/ipcache.json"
    jq -r '
        def byte: ltrimstr("0x") | explode
                  | reduce .[] as $c (0; . * 16 + (if $c >= 97 then $c - 87 else $c - 48 end));
        def le32: map(byte) | .[0] + .[1] * 256 + .[2] * 65536 + .[3] * 16777216;
        def ip4: map(byte | tostring) | join(".");
        .[] | "\(.key[8:12] | ip4)/\(.key[0:4] | le32 - 32)\tidentity \(.value[0:4] | le32)"
              + "\ttunnel endpoint \(.value[4:8] | ip4)\tflags \(.value[8:9] | map(byte) | .[0])"
    ' "$work/ipcache.json" | sort -V || { echo "(bpftool printed:)"; cat "$work/ipcache.json"; }
}

# topo_pod_ip NAME: the pod's eth0 IPv4 address.
topo_pod_ip() {
    ip -n "$prefix-$1" -j -4 addr show dev eth0 | jq -r '.[0].addr_info[0].local'
}
