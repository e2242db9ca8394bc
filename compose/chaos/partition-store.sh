#!/usr/bin/env bash
# chaos/partition-store.sh [MEMBER] [SECONDS]: cuts a store member off the network
# (`docker network disconnect`), waits SECONDS (default 20), then reconnects it with its
# address and name (`docker network connect --ip ... --alias ...`). MEMBER defaults to the
# current leader. SECONDS 0 leaves it cut off and prints the command that reconnects it.
#
# The other two keep quorum and elect a leader if needed; the cut-off member cannot serve
# linearizable reads or writes (no leader) and catches up when it is back.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

member=${1:-}
hold=${2:-20}
if [ -z "$member" ]; then
    member=$(store_leader) || {
        echo "no store member reports being the leader; name one: $0 s1" >&2
        exit 1
    }
fi
id=$(running_container "$member") || {
    echo "$member is not running" >&2
    exit 1
}
read -r network ip < <(docker inspect -f \
    '{{range $name, $n := .NetworkSettings.Networks}}{{$name}} {{$n.IPAMConfig.IPv4Address}}{{end}}' "$id")
[ -n "$network" ] && [ -n "$ip" ] || {
    echo "cannot tell $member's network and fixed address" >&2
    exit 1
}
reconnect=(docker network connect --ip "$ip" --alias "$member" "$network" "$id")

docker network disconnect "$network" "$id"
say "disconnected $member ($ip) from $network"
watch_hints
echo "    $(skiff_hint status)   # $member: unreachable, another member leads" >&2
if [ "$hold" = 0 ]; then
    say "left cut off; reconnect with: ${reconnect[*]}"
    exit 0
fi
trap '"${reconnect[@]}" 2>/dev/null || true' EXIT
sleep "$hold"
"${reconnect[@]}"
trap - EXIT
say "reconnected $member after ${hold}s; it catches up from the leader"
