# Shared by compose/*.sh and compose/chaos/*.sh (sourced, not run).
#
# COMPOSE_FILE_PATH   the compose file (default: this directory's docker-compose.yml)
# SKIFF_PROJECT       the compose project name (default: compose's own default, "compose")

compose_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(dirname "$compose_dir")
compose_file=${COMPOSE_FILE_PATH:-$compose_dir/docker-compose.yml}

# `docker compose` (v2 plugin) when present, else `docker-compose` (v1).
if docker compose version >/dev/null 2>&1; then
    compose_bin=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
    compose_bin=(docker-compose)
else
    echo "neither 'docker compose' nor 'docker-compose' is installed" >&2
    exit 1
fi

# dc ARGS...: docker compose with this cluster's file and project.
dc() {
    if [ -n "${SKIFF_PROJECT:-}" ]; then
        "${compose_bin[@]}" -f "$compose_file" -p "$SKIFF_PROJECT" "$@"
    else
        "${compose_bin[@]}" -f "$compose_file" "$@"
    fi
}

# container_of SERVICE: the id of the service's (first) container, running or not.
container_of() {
    dc ps -a -q "$1" 2>/dev/null | head -n 1
}

# say TEXT...: a progress line on stderr, with the time.
say() {
    printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

# make_certs SKIFF DIR: the cluster's certificates in DIR with the CLI at SKIFF (`skiff
# certs`, `skiff up`'s layout; the CA is kept if DIR has one). Serving certificates also name
# the apiservers' host names, localhost and the store members' addresses on the network
# (their peer URLs use them): the certificates fit only the subnet SKIFF_SUBNET they were
# made for.
make_certs() {
    local skiff=$1 dir=$2 net=${SKIFF_SUBNET:-10.87.0}
    "$skiff" certs --dir "$dir" --store-members s1,s2,s3 --nodes node-1,node-2 \
        --hosts "apiserver-1,apiserver-2,localhost,127.0.0.1,$net.11,$net.12,$net.13"
}

# free_port: a TCP port nobody listens on now, 20000-59999. The chaos run publishes every
# port it uses at a fixed host port: a port left to Docker (`127.0.0.1::PORT`) is chosen
# again at each container start, so a restarted container would move.
free_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 40000))
        ss -Htln "sport = :$port" | grep -q . || { echo "$port"; return; }
    done
}

# pick_subnet: exports SKIFF_SUBNET, a 10.87.x prefix (of a /24) no docker network uses, so a
# project runs beside any other; fails after 50 tries.
pick_subnet() {
    local used candidate
    used=$(docker network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' \
        $(docker network ls -q) 2>/dev/null || true)
    for _ in $(seq 1 50); do
        candidate="10.87.$((RANDOM % 200 + 50))"
        case " $used " in *" $candidate.0/"*) continue ;; esac
        export SKIFF_SUBNET=$candidate
        return 0
    done
    echo "no free 10.87.x.0/24 subnet among the docker networks" >&2
    return 1
}

# tear_down_project STATUS LOG_LINES: the end of a project of its own ($SKIFF_PROJECT, its
# temporary directory $work): after a failure (STATUS not 0) its containers and the last
# LOG_LINES of their logs, then `down -v` (containers, network, volumes) and $work removed.
tear_down_project() {
    if [ "$1" -ne 0 ]; then
        say "--- diagnostics"
        dc ps >&2 || true
        dc logs --tail "$2" >&2 2>&1 || true
    fi
    say "=== tear down project $SKIFF_PROJECT"
    dc down -v --remove-orphans -t 5 >&2 2>&1 || true
    rm -rf "$work"
}
