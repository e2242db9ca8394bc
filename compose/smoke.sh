#!/usr/bin/env bash
# compose/smoke.sh [--no-build]: the compose cluster end to end, with chaos. Builds the image
# (compose/build.sh; --no-build reuses skiff:local), starts the cluster as its own compose
# project on its own network (host ports chosen by Docker, so it runs beside a cluster
# already up), waits for health, creates fixtures/seed/rc-crane.yaml, waits for 3 Running
# pods, checks that a pod on node-1 reaches a kubia pod on node-2 by pod IP (pods run in
# sandboxes; host-gw routes join the node containers), SIGKILLs the store leader and the
# nodelet running most of the pods, checks that both containers come back by their restart
# policy, that 3 crane pods are Running again (the killed node's pods restarted or
# replaced) and that the RC still has 3. Always tears the project down (`down -v`:
# containers, network, volumes), on failure too.
#
# Not part of `cargo nextest run`: the static release build alone takes minutes.
# Exit status 0 = passed. SKIFF_SMOKE_TIMEOUT (default 120) bounds each wait, in seconds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=smoke-lib.sh
. "$here/smoke-lib.sh"

build=1
case ${1:-} in
--no-build) build=0 ;;
"") ;;
*) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
limit=${SKIFF_SMOKE_TIMEOUT:-120}
skiff_bin=${SKIFF_TARGET_DIR:-$repo_dir/target/compose}/x86_64-unknown-linux-gnu/release/skiff

phase_start=$SECONDS
phase() {
    say "=== $* (after $((SECONDS - t0))s)"
    phase_start=$SECONDS
}
phase_done() {
    say "    done in $((SECONDS - phase_start))s"
}

phase "image"
ensure_image
phase_done

new_project skiff-smoke
phase "up: project $SKIFF_PROJECT, network $SKIFF_SUBNET.0/24"
start_project
phase_done

phase "nodes Ready"
wait_for "2 Ready nodes" two_nodes_ready
"${sk[@]}" get nodes --show-labels >&2
phase_done

phase "create fixtures/seed/rc-crane.yaml"
"${sk[@]}" create -f "$repo_dir/fixtures/seed/rc-crane.yaml" >&2
# crane_pods: NAME READY STATUS RESTARTS NODE of each crane pod (RESTARTS may read
# "1 (5s ago)", so NODE is taken from the end).
crane_pods() {
    "${sk[@]}" get pods -l app=crane -o wide 2>/dev/null |
        awk 'NR > 1 { print $1, $2, $3, $4, $NF }'
}
three_running() {
    [ "$(crane_pods | awk '$2 == "1/1" && $3 == "Running"' | wc -l)" -eq 3 ] &&
        [ "$(crane_pods | wc -l)" -eq 3 ]
}
wait_for "3 Running crane pods" three_running
crane_pods >&2
phase_done

phase "pod network: a pod on node-1 reaches kubia on node-2 by pod IP (host-gw routes)"
cat >"$work/net-pods.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: kubia-node-2}
spec:
  nodeName: node-2
  containers:
  - {name: main, image: luksa/kubia, ports: [{containerPort: 8080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client-node-1}
spec:
  nodeName: node-1
  containers:
  - {name: main, image: busybox, command: [sleep, "3600"]}
EOF
"${sk[@]}" create -f "$work/net-pods.yaml" >&2
# pod_field POD COLUMN: a column of `get pod -o wide` (3 = STATUS, 6 = IP).
pod_field() {
    "${sk[@]}" get pod "$1" -o wide 2>/dev/null | awk -v c="$2" 'NR == 2 { print $c }'
}
both_running() {
    [ "$(pod_field kubia-node-2 3)" = Running ] && [ "$(pod_field client-node-1 3)" = Running ]
}
wait_for "kubia-node-2 and client-node-1 Running" both_running
"${sk[@]}" get pods kubia-node-2 client-node-1 -o wide >&2
server_ip=$(pod_field kubia-node-2 6)
client_ip=$(pod_field client-node-1 6)
case $server_ip in 10.244.2.*) ;; *) fail "kubia-node-2's IP $server_ip is not in node-2's podCIDR 10.244.2.0/24" ;; esac
case $client_ip in 10.244.1.*) ;; *) fail "client-node-1's IP $client_ip is not in node-1's podCIDR 10.244.1.0/24" ;; esac
hostname=$("${sk[@]}" exec client-node-1 -- cat /etc/hostname) || fail "skiff exec client-node-1 failed"
[ "$hostname" = client-node-1 ] || fail "client-node-1's hostname is '$hostname'"
answer=
reaches_kubia() {
    # busybox 1.35 wget crashes on -T: `timeout` bounds each try instead.
    answer=$("${sk[@]}" exec client-node-1 -- timeout 5 wget -q -O - "http://$server_ip:8080/" 2>&1)
}
wait_for "client-node-1 to reach http://$server_ip:8080/" reaches_kubia
[ "$answer" = "You've hit kubia-node-2" ] || fail "kubia answered '$answer'"
say "client-node-1 ($client_ip) -> kubia-node-2 ($server_ip): $answer"
kubia_saw_client() {
    "${sk[@]}" logs kubia-node-2 2>/dev/null | grep -q "Received request from $client_ip"
}
wait_for "kubia-node-2's log to show a request from $client_ip" kubia_saw_client
"${sk[@]}" delete pod kubia-node-2 client-node-1 --now >&2
phase_done

phase "skiff logs through the apiserver's proxy to the pod's nodelet"
first_pod=$(crane_pods | awk 'NR == 1 { print $1 }')
"${sk[@]}" logs "$first_pod" >&2 || fail "skiff logs $first_pod failed"
phase_done

phase "SIGKILL the store leader"
leader=$(store_leader) || fail "no store leader"
leader_id=$(container_of "$leader")
leader_restarts=$(restarts_of "$leader_id")
crash "$leader"
new_leader_elected() {
    local l
    l=$(store_leader) && [ "$l" != "$leader" ]
}
wait_for "a new store leader" new_leader_elected
say "new store leader: $(store_leader) (after $((SECONDS - phase_start))s)"
came_back() {
    local id=$1 before=$2
    [ "$(restarts_of "$id")" -gt "$before" ] &&
        [ "$(docker inspect -f '{{.State.Health.Status}}' "$id")" = healthy ]
}
wait_for "$leader restarted by its restart policy and healthy" came_back "$leader_id" "$leader_restarts"
say "$leader is back (restart count $(restarts_of "$leader_id"))"
phase_done

phase "SIGKILL the nodelet running most crane pods"
before=$(crane_pods)
node=$(echo "$before" | awk '{ print $5 }' | sort | uniq -c | sort -rn | awk 'NR == 1 { print $2 }')
[ -n "$node" ] || fail "no node runs a crane pod"
node_id=$(container_of "$node")
node_restarts=$(restarts_of "$node_id")
crash "$node"
wait_for "$node restarted by its restart policy and healthy" came_back "$node_id" "$node_restarts"
say "$node is back (restart count $(restarts_of "$node_id"), after $((SECONDS - phase_start))s)"
# Every pod the killed node ran must have been restarted there or replaced; then 3 Running.
recovered() {
    local now name restarts
    now=$(crane_pods)
    three_running || return 1
    while read -r name _ _ restarts pod_node; do
        [ "$pod_node" = "$node" ] || continue
        if echo "$now" | awk -v n="$name" -v r="$restarts" '$1 == n && $4 <= r { found = 1 } END { exit !found }'; then
            return 1
        fi
    done <<<"$before"
}
wait_for "3 Running crane pods after the kills" recovered
say "before:"
echo "$before" >&2
say "after:"
crane_pods >&2
phase_done

phase "the RC still has 3"
rc_three() {
    "${sk[@]}" get rc crane 2>/dev/null | awk 'NR == 2 && $2 == 3 && $3 == 3 && $4 == 3 { ok = 1 } END { exit !ok }'
}
wait_for "rc/crane DESIRED 3 CURRENT 3 READY 3" rc_three
"${sk[@]}" get rc crane >&2
"${sk[@]}" status --store-endpoints "https://$(dc port s1 2379),https://$(dc port s2 2379),https://$(dc port s3 2379)" >&2 || true
phase_done
