# The frame of a compose smoke test (sourced by compose/smoke.sh and compose/tls-smoke.sh):
# bounded waits, a project of its own (subnet, token file, certificates; host ports chosen by
# Docker, so it runs beside a cluster already up), a teardown that always runs, and the
# `skiff` command line pointed at the two apiservers through the cluster CA.
#
# The caller sets: limit (seconds per wait), build (1 = run compose/build.sh), skiff_bin.

# shellcheck source=chaos/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/chaos/lib.sh"

t0=$SECONDS

fail() {
    say "FAILED: $*"
    exit 1
}

# wait_for WHAT COMMAND...: runs COMMAND every second until it succeeds, at most $limit s.
wait_for() {
    local what=$1 deadline=$((SECONDS + limit))
    shift
    until "$@"; do
        [ $SECONDS -lt $deadline ] || fail "timed out after ${limit}s waiting for $what"
        sleep 1
    done
}

# ensure_image: builds the image and the host's skiff (compose/build.sh) unless build=0,
# then checks both are there.
ensure_image() {
    if [ "$build" = 1 ]; then
        say "=== build (compose/build.sh)"
        "$compose_dir/build.sh"
    else
        docker image inspect "${SKIFF_IMAGE:-skiff:local}" >/dev/null ||
            fail "no image ${SKIFF_IMAGE:-skiff:local}: run without --no-build"
    fi
    [ -x "$skiff_bin" ] || fail "$skiff_bin is missing: run compose/build.sh"
}

# new_project PREFIX: a project named PREFIX-<pid>-<random> with its own subnet, token file
# and certificates in a temporary directory ($work); host ports left to Docker. The project
# is torn down (`down -v`) when the script exits, on failure too.
new_project() {
    export SKIFF_PROJECT="$1-$$-$RANDOM"
    work=$(mktemp -d)
    pick_subnet || fail "no free subnet"
    export SKIFF_TOKEN_FILE=$work/tokens.csv SKIFF_API1_PORT= SKIFF_API2_PORT= \
        SKIFF_STORE1_PORT= SKIFF_STORE2_PORT= SKIFF_STORE3_PORT= \
        SKIFF_API1_HTTPS_PORT= SKIFF_API2_HTTPS_PORT= SKIFF_PKI_DIR=$work/pki
    make_certs "$skiff_bin" "$work/pki" >/dev/null
    "$compose_dir/tokens.sh" "$work" >/dev/null
    trap end_project EXIT
    trap 'exit 130' INT TERM
}

# end_project: the EXIT trap; diagnostics on failure, then down -v and the verdict.
end_project() {
    local status=$?
    trap - EXIT INT TERM
    if [ $status -ne 0 ] && [ -n "${sk:-}" ]; then
        "${sk[@]}" get pods -o wide >&2 2>&1 || true
    fi
    tear_down_project $status 30
    if [ $status -eq 0 ]; then
        say "PASSED in $((SECONDS - t0))s"
    else
        say "FAILED after $((SECONDS - t0))s"
    fi
    exit $status
}

# start_project: `up -d`, every container healthy, then api1, api2, token and sk (the skiff
# command line through both apiservers and the cluster CA) set for the checks.
start_project() {
    timeout $((limit * 2)) "${compose_bin[@]}" -f "$compose_file" -p "$SKIFF_PROJECT" up -d ||
        fail "docker compose up"
    wait_for "every container healthy" all_healthy
    api1=$(dc port apiserver-1 6443)
    api2=$(dc port apiserver-2 6443)
    token=$(awk -F, '$2 == "admin" { print $1; exit }' "$SKIFF_TOKEN_FILE")
    sk=("$skiff_bin" --server "$api1,$api2" --token "$token" --certificate-authority "$work/pki/ca.crt")
    say "apiservers on the host: $api1, $api2"
}

two_nodes_ready() {
    [ "$("${sk[@]}" get nodes 2>/dev/null | awk 'NR > 1 && $2 == "Ready"' | wc -l)" -eq 2 ]
}
