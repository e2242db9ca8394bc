#!/usr/bin/env bash
# chaos/kill-store-leader.sh [--docker-kill]: finds the store leader (the member whose
# /metrics has skiff_store_is_leader 1) and SIGKILLs it; the other two elect a new leader and
# the killed member rejoins when its container is back.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ "${1:-}" = --docker-kill ] && export CHAOS_DOCKER_KILL=1

leader=$(store_leader) || {
    echo "no store member reports being the leader" >&2
    exit 1
}
say "store leader: $leader"
crash "$leader"
say "the other members see its connections close and elect a new leader within a few hundred ms; nothing acknowledged is lost"
for _ in $(seq 1 20); do
    sleep 0.5
    if new=$(store_leader) && [ "$new" != "$leader" ]; then
        say "new store leader: $new"
        break
    fi
done
watch_hints
