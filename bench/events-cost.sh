#!/usr/bin/env bash
# The forwarding cost of datapath events: pod-to-pod throughput and packet rate with events on
# (drop notifications and policy verdicts, the agent's default) against off, and the throughput
# between two pods while two unrelated ones flood a million packets the datapath drops (each one
# an event when on). Alternating rounds in one invocation, on one agent; prints medians, ratios and
# the events lost; before that, the program alone (EventsProgramCost: ns per packet through
# BPF_PROG_TEST_RUN, every setting). Needs `make build` first.
#   ROUNDS=3 SECONDS_PER_RUN=4 FLOOD=1000000 RUNS=1000000 bench/events-cost.sh
# Everything lives in namespaces vevbench<pid>-* and /tmp/vevbench<pid>, removed on exit.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
vesicle="$top/bin/vesicle"
rounds=${ROUNDS:-3}
secs=${SECONDS_PER_RUN:-4}
flood=${FLOOD:-1000000}
prefix="vevbench$$"
node="$prefix-node"
work="/tmp/$prefix"
pins="/sys/fs/bpf/$prefix"
socket="$work/vesicle.sock"
results="$work/results"
spoofed=10.196.0.250

in_ns() { local ns=$1; shift; nsenter --net="/var/run/netns/$ns" -- "$@"; }
pids=()
cleanup() {
    set +e
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
    for ns in $(ip netns list | awk '{print $1}' | grep "^$prefix-"); do ip netns del "$ns"; done
    rm -rf "$pins" "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$work/state"
chmod 700 "$work"
# The program alone first: ns per packet through BPF_PROG_TEST_RUN, no traffic noise.
java -cp "$top/bench/target/vesicle-bench.jar:$top/bench/target/lib/*" io.vesicle.bench.EventsProgramCost \
    "$rounds" "${RUNS:-1000000}"
gcc -O2 -Wall -o "$work/spoof_flood" "$top/bench/c/spoof_flood.c"
ip netns add "$node"
ip -n "$node" link set lo up
cat >"$work/agent.yaml" <<YAML
nodeName: bench
podCIDR: 10.196.0.0/24
stateDir: $work/state
apiSocket: $socket
bpffsRoot: $pins
YAML
in_ns "$node" "$vesicle" agent --config "$work/agent.yaml" >"$work/agent.log" 2>&1 &
pids+=($!)
for i in $(seq 150); do
    [ -S "$socket" ] && break
    kill -0 "${pids[0]}" 2>/dev/null || { cat "$work/agent.log"; exit 1; }
    sleep 0.2
done

# Pods through the agent's API, as the CNI plugin would: client, server, flooder, flood target.
declare -A ip_of
for pod in client server flooder target; do
    ip netns add "$prefix-$pod"
    ip -n "$prefix-$pod" link set lo up
    answer=$(curl -sf --unix-socket "$socket" -X PUT http://vesicle/v1/endpoints -H 'Content-Type: application/json' \
        -d "{\"containerID\":\"$pod$$\",\"ifname\":\"eth0\",\"netns\":\"/var/run/netns/$prefix-$pod\",\"podNamespace\":\"bench\",\"podName\":\"$pod\"}")
    ip_of[$pod]=$(jq -r '.address | split("/")[0]' <<<"$answer")
done

events() { "$vesicle" events --api-socket "$socket" "$@" -o json; }
set_mode() {
    case $1 in
        off) events --drops off --policy-verdicts off --traces off >/dev/null ;;
        on) events --drops on --policy-verdicts on --traces off >/dev/null ;;
    esac
}
lost_total() { events | jq '([.lostInDatapath[]] | add) + .lostBySubscribers'; }
read_total() { events | jq '.read.drop'; }

in_ns "$prefix-server" iperf3 -s -p 5201 >/dev/null 2>&1 &
pids+=($!)
sleep 0.5

measure() { # mode
    local mode=$1 out lost0 read0
    set_mode "$mode"
    out=$(in_ns "$prefix-client" iperf3 -c "${ip_of[server]}" -p 5201 -t "$secs" -J)
    echo "$mode tcp $(jq '.end.sum_received.bits_per_second / 1e9' <<<"$out")" >>"$results"
    out=$(in_ns "$prefix-client" iperf3 -c "${ip_of[server]}" -p 5201 -u -l 64 -b 0 -t "$secs" -J)
    echo "$mode pps $(jq '.end.sum.packets * (1 - .end.sum.lost_percent / 100) / .end.sum.seconds / 1e3' <<<"$out")" >>"$results"
    lost0=$(lost_total); read0=$(read_total)
    in_ns "$prefix-flooder" "$work/spoof_flood" "$spoofed" "${ip_of[target]}" 9 "$flood" "$secs" >"$work/flood" &
    local flooder=$!
    out=$(in_ns "$prefix-client" iperf3 -c "${ip_of[server]}" -p 5201 -t "$secs" -J)
    wait "$flooder"
    echo "$mode flood_tcp $(jq '.end.sum_received.bits_per_second / 1e9' <<<"$out")" >>"$results"
    echo "$mode flood_sent $(awk '{print $2 / $4 / 1e3}' "$work/flood")" >>"$results"
    if [ "$mode" = on ]; then
        echo "$mode lost $(( $(lost_total) - lost0 ))" >>"$results"
        echo "$mode read $(( $(read_total) - read0 ))" >>"$results"
    fi
}

for r in $(seq "$rounds"); do
    echo "round $r/$rounds" >&2
    if [ $((r % 2)) = 1 ]; then measure off; measure on; else measure on; measure off; fi
done
set_mode on

median() { sort -n | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
get() { awk -v l="$1" -v m="$2" '$1==l && $2==m {print $3}' "$results" | median; }
printf '\n%-44s %12s %12s %8s %s\n' "events, $rounds rounds of $secs s" off on ratio goal
range() { awk -v l="$1" -v m="$2" '$1==l && $2==m {print $3}' "$results" | sort -n | awk 'NR==1 {lo=$1} {hi=$1} END {printf "%.2f..%.2f", lo, hi}'; }
row() { # metric label goal
    awk -v off="$(get off "$1")" -v on="$(get on "$1")" -v n="$2" -v g="$3" -v ro="$(range off "$1")" \
        -v rn="$(range on "$1")" 'BEGIN {
        printf "%-44s %12.2f %12.2f %7.3fx %-9s (runs: off %s, on %s)\n", n, off, on, on / off, g, ro, rn }'
}
row tcp "TCP pod to pod (Gbit/s)" ">= 0.97x"
row pps "UDP 64 B pod to pod (kpps received)" ">= 0.97x"
row flood_tcp "TCP beside a flood of $flood drops (Gbit/s)" ">= 0.95x"
row flood_sent "  the flood (kpps sent)" ""
printf '%-44s %12s %12s\n' "events of the flood: read, lost (median)" "$(get on read)" "$(get on lost)"
