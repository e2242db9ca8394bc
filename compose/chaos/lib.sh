# Shared by the chaos scripts (sourced). See compose/README.md, "Break it".

# shellcheck source=../lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"

stores=(s1 s2 s3)
components=(s1 s2 s3 apiserver-1 apiserver-2 controller-manager-1 controller-manager-2
    scheduler-1 scheduler-2 node-1 node-2)

# program_of SERVICE: the binary the service's container runs.
program_of() {
    case $1 in
    s[0-9]*) echo skiff-store ;;
    apiserver-*) echo skiff-apiserver ;;
    controller-manager-*) echo skiff-controller-manager ;;
    scheduler-*) echo skiff-scheduler ;;
    node-*) echo skiff-nodelet ;;
    *) return 1 ;;
    esac
}

# running_container SERVICE: the service's container id if it is running, else fails.
running_container() {
    local id
    id=$(container_of "$1")
    [ -n "$id" ] && [ "$(docker inspect -f '{{.State.Running}}' "$id" 2>/dev/null)" = true ] &&
        echo "$id"
}

restarts_of() {
    docker inspect -f '{{.RestartCount}}' "$1"
}

# crash SERVICE: SIGKILLs the service's component process inside its container. Its PID 1
# (tini) then exits and takes every other process of the container with it (a node's pods
# too), and the restart policy starts the container again, as after a real crash.
# (`docker kill` would not do: Docker counts it as a manual stop, and `unless-stopped`
# then leaves the container down; `--docker-kill` does that and starts it again itself.)
crash() {
    local service=$1 id program
    id=$(running_container "$service") || {
        echo "$service is not running" >&2
        return 1
    }
    program=$(program_of "$service")
    if [ "${CHAOS_DOCKER_KILL:-0}" = 1 ]; then
        docker kill -s KILL "$id" >/dev/null
        say "docker kill -s KILL $service (container ${id:0:12})"
        say "Docker treats that as a manual stop: starting $service again in ${CHAOS_RESTART_AFTER:-2}s"
        sleep "${CHAOS_RESTART_AFTER:-2}"
        docker start "$id" >/dev/null
        say "docker start $service"
        return 0
    fi
    local before
    before=$(restarts_of "$id")
    docker exec "$id" sh -c "kill -KILL \$(pidof $program)"
    say "SIGKILLed $program in $service (container ${id:0:12})"
    local deadline=$((SECONDS + 15))
    while [ $SECONDS -lt $deadline ]; do
        if [ "$(restarts_of "$id")" -gt "$before" ] && running_container "$service" >/dev/null; then
            say "$service restarted by its restart policy (restart count $(restarts_of "$id"))"
            return 0
        fi
        sleep 0.2
    done
    say "$service is not running again after 15s: see $(compose_hint) ps"
    return 1
}

# store_leader: the store member whose /metrics says skiff_store_is_leader 1.
store_leader() {
    local s id
    for s in "${stores[@]}"; do
        id=$(running_container "$s") || continue
        if docker exec "$id" timeout 3 wget -q -O - http://127.0.0.1:2381/metrics 2>/dev/null |
            grep -q '^skiff_store_is_leader 1'; then
            echo "$s"
            return 0
        fi
    done
    return 1
}

# The CLI on the host, for the hints printed after each action.
skiff_hint() {
    local config=$compose_dir/skiff.config
    echo "skiff --config $config $*"
}

watch_hints() {
    say "watch it heal:"
    echo "    $(skiff_hint get pods -o wide -w)" >&2
    echo "    $(skiff_hint status)" >&2
    echo "    $(compose_hint) ps" >&2
}

compose_hint() {
    echo "${compose_bin[*]} -f $compose_file${SKIFF_PROJECT:+ -p $SKIFF_PROJECT}"
}

# all_healthy: every component's container exists and Docker reports it healthy.
all_healthy() {
    local s id
    for s in "${components[@]}"; do
        id=$(container_of "$s")
        [ -n "$id" ] || return 1
        [ "$(docker inspect -f '{{.State.Health.Status}}' "$id")" = healthy ] || return 1
    done
}
