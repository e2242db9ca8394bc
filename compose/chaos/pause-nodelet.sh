#!/usr/bin/env bash
# chaos/pause-nodelet.sh [NODE] [SECONDS]: freezes a node's container (`docker pause`: the
# nodelet and its pods), waits SECONDS (default 20), then thaws it (`docker unpause`).
# SECONDS 0 leaves it frozen; `chaos/pause-nodelet.sh NODE unpause` thaws it.
# NODE defaults to a random one of node-1 and node-2.
#
# A frozen nodelet stops renewing its Lease: after 4s the node is NotReady, 2s later its
# pods are deleted and their controllers replace them on the other node. Thawed, the node is
# Ready again and drops the pods that were taken from it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

nodes=(node-1 node-2)
node=${1:-${nodes[$((RANDOM % 2))]}}
hold=${2:-20}
id=$(container_of "$node")
[ -n "$id" ] || {
    echo "no container for $node" >&2
    exit 1
}
if [ "$hold" = unpause ]; then
    docker unpause "$id" >/dev/null
    say "unpaused $node"
    exit 0
fi
docker pause "$id" >/dev/null
say "paused $node (container ${id:0:12}): NotReady in ~4s, its pods replaced on the other node ~2s later"
watch_hints
echo "    $(skiff_hint get nodes -w)" >&2
if [ "$hold" = 0 ]; then
    say "left paused; thaw it with: $0 $node unpause"
    exit 0
fi
trap 'docker unpause "$id" >/dev/null 2>&1 || true' EXIT
sleep "$hold"
docker unpause "$id" >/dev/null
trap - EXIT
say "unpaused $node after ${hold}s: Ready again within a heartbeat"
