#!/usr/bin/env bash
# chaos/kill-random.sh [--docker-kill] [KIND|SERVICE]: SIGKILLs a random running skiff
# component: any, or one of a KIND (store, apiserver, controller-manager, scheduler, node),
# or the SERVICE named (s2, node-1, ...). Its container comes back by its restart policy.
# --docker-kill: `docker kill -s KILL` the container instead, then `docker start` it 2 s
# later (Docker never restarts a container stopped by `docker kill`).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

pattern='*'
for arg in "$@"; do
    case $arg in
    --docker-kill) export CHAOS_DOCKER_KILL=1 ;;
    -h | --help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    store) pattern='s[0-9]*' ;;
    apiserver | controller-manager | scheduler | node) pattern="$arg-*" ;;
    *) pattern=$arg ;;
    esac
done

candidates=()
for s in "${components[@]}"; do
    # shellcheck disable=SC2254 # $pattern is a glob on purpose
    case $s in $pattern) running_container "$s" >/dev/null && candidates+=("$s") ;; esac
done
if [ ${#candidates[@]} -eq 0 ]; then
    echo "no running service matches '$pattern'" >&2
    exit 1
fi
victim=${candidates[$((RANDOM % ${#candidates[@]}))]}
crash "$victim"
case $victim in
s[0-9]*) say "a store member: the others keep quorum; if it led, the others see its connections close and elect a new leader within a few hundred ms" ;;
apiserver-*) say "an apiserver: clients fail over to the other one" ;;
controller-manager-* | scheduler-*) say "if it held its lease (4s), the other instance or its own restart takes it over" ;;
node-*) say "a node: its pods died with its container; the nodelet starts them again when it is back" ;;
esac
watch_hints
