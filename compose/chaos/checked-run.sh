#!/usr/bin/env bash
# compose/chaos/checked-run.sh [--no-build] [SECONDS] [SEED]: a checked chaos run on the
# compose cluster. Builds the image (compose/build.sh; --no-build reuses skiff:local), starts
# the cluster as its own compose project on its own network, waits for health, then runs
# `skiff-chaos run --compose` for SECONDS (default 600) with kills, pauses, network
# partitions and container restarts (SEED default: random, printed), prints the report and
# tears the project down (`down -v`), on failure too. Histories, the fault log and
# report.json stay in $SKIFF_CHAOS_OUT (default ./chaos-compose-out).
#
# skiff-chaos runs on the host: $SKIFF_CHAOS_BIN, else target/release/skiff-chaos, else
# target/debug/skiff-chaos (`cargo build --release -p skiff-chaos`). The cluster runs TLS
# with certificates made for it (`skiff certs`, in a temporary directory).
# Exit status: skiff-chaos's (0 = every checker green, 1 = an anomaly, 2 = an error).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

build=1
if [ "${1:-}" = --no-build ]; then
    build=0
    shift
fi
seconds=${1:-600}
seed=${2:-$RANDOM$RANDOM}
out=${SKIFF_CHAOS_OUT:-$PWD/chaos-compose-out}
chaos=${SKIFF_CHAOS_BIN:-}
for candidate in "$repo_dir/target/release/skiff-chaos" "$repo_dir/target/debug/skiff-chaos"; do
    [ -n "$chaos" ] || { [ -x "$candidate" ] && chaos=$candidate; }
done
[ -n "$chaos" ] || { echo "no skiff-chaos binary: cargo build --release -p skiff-chaos" >&2; exit 2; }
skiff_bin=${SKIFF_TARGET_DIR:-$repo_dir/target/compose}/x86_64-unknown-linux-gnu/release/skiff

if [ "$build" = 1 ]; then
    say "=== build (compose/build.sh)"
    "$repo_dir/compose/build.sh"
fi
[ -x "$skiff_bin" ] || { echo "$skiff_bin is missing: run compose/build.sh" >&2; exit 2; }

export SKIFF_PROJECT="skiff-chaos-$$-$RANDOM"
# docker-compose reads the project name from here when skiff-chaos calls it.
export COMPOSE_PROJECT_NAME=$SKIFF_PROJECT
work=$(mktemp -d)
pick_subnet || exit 2
# Fixed host ports: Docker would give a port it chooses a new value at every container
# (re)start, and the clients on the host would lose the restarted members.
export SKIFF_TOKEN_FILE=$work/tokens.csv SKIFF_API1_PORT=$(free_port) SKIFF_API2_PORT=$(free_port) \
    SKIFF_STORE1_PORT=$(free_port) SKIFF_STORE2_PORT=$(free_port) SKIFF_STORE3_PORT=$(free_port) \
    SKIFF_API1_HTTPS_PORT=$(free_port) SKIFF_API2_HTTPS_PORT=$(free_port) SKIFF_PKI_DIR=$work/pki
# The cluster's certificates for this subnet; skiff-chaos reaches the store members with
# etcd-client and trusts the apiservers through ca.crt.
make_certs "$skiff_bin" "$work/pki" >/dev/null
"$repo_dir/compose/tokens.sh" "$work" >/dev/null

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    tear_down_project $status 40
    exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "=== up: project $SKIFF_PROJECT, network $SKIFF_SUBNET.0/24"
dc up -d
deadline=$((SECONDS + 240))
until all_healthy; do
    [ $SECONDS -lt $deadline ] || { say "not healthy within 240s"; exit 2; }
    sleep 2
done

port_of() { dc port "$1" "$2" | awk -F: '{ print $NF }'; }
export SKIFF_STORE1_PORT=$(port_of s1 2379) SKIFF_STORE2_PORT=$(port_of s2 2379) \
    SKIFF_STORE3_PORT=$(port_of s3 2379)
api="127.0.0.1:$(port_of apiserver-1 6443),127.0.0.1:$(port_of apiserver-2 6443)"
SKIFF_TOKEN=$(awk -F, '$2 == "admin" { print $1; exit }' "$SKIFF_TOKEN_FILE")
export SKIFF_TOKEN

say "=== skiff-chaos: ${seconds}s, seed $seed, results in $out"
set +e
"$chaos" run --compose "$compose_file" --apiserver "$api" --duration "${seconds}s" \
    --pki-dir "$SKIFF_PKI_DIR" --seed "$seed" --faults kill,pause,partition,restart --interval 8s --max-hold 4s \
    --converge-within 180s --out "$out"
status=$?
set -e
exit $status
