#!/usr/bin/env bash
# compose/tls-smoke.sh [--no-build]: the compose cluster's TLS, end to end. Builds the image
# (compose/build.sh; --no-build reuses skiff:local), makes a CA and every certificate with
# `skiff certs`, starts the cluster as its own compose project on its own network (host
# ports chosen by Docker), waits for health, then checks from the host:
#   - `skiff get nodes` through TLS (the cluster CA), and that skiff without the CA fails;
#   - etcdctl with the etcd-client certificate works, without a client certificate it is
#     refused (and the store member logs why), over plain http too;
#   - `skiff logs` of a pod: the apiserver reaches the nodelet's TLS log service with its
#     kubelet client certificate.
# Always tears the project down (`down -v`: containers, network, volumes), on failure too.
#
# Not part of `cargo nextest run`: the static release build alone takes minutes.
# Exit status 0 = passed. SKIFF_SMOKE_TIMEOUT (default 120) bounds each wait, in seconds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=chaos/lib.sh
. "$here/chaos/lib.sh"

build=1
case ${1:-} in
--no-build) build=0 ;;
"") ;;
*) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
limit=${SKIFF_SMOKE_TIMEOUT:-120}
skiff_bin=${SKIFF_TARGET_DIR:-$repo_dir/target/compose}/x86_64-unknown-linux-gnu/release/skiff
command -v etcdctl >/dev/null || { say "etcdctl is missing (Debian package etcd-client)"; exit 1; }

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

if [ "$build" = 1 ]; then
    say "=== build (compose/build.sh)"
    "$here/build.sh"
else
    docker image inspect "${SKIFF_IMAGE:-skiff:local}" >/dev/null ||
        fail "no image ${SKIFF_IMAGE:-skiff:local}: run without --no-build"
fi
[ -x "$skiff_bin" ] || fail "$skiff_bin is missing: run compose/build.sh"

# A project, token file, certificates and /24 of its own; host ports left to Docker.
export SKIFF_PROJECT="skiff-tls-$$-$RANDOM"
work=$(mktemp -d)
used_subnets=$(docker network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' \
    $(docker network ls -q) 2>/dev/null || true)
for _ in $(seq 1 50); do
    candidate="10.87.$((RANDOM % 200 + 50))"
    case " $used_subnets " in *" $candidate.0/"*) continue ;; esac
    export SKIFF_SUBNET=$candidate
    break
done
[ -n "${SKIFF_SUBNET:-}" ] || fail "no free 10.87.x.0/24 subnet"
export SKIFF_TOKEN_FILE=$work/tokens.csv SKIFF_API1_PORT= SKIFF_API2_PORT= \
    SKIFF_STORE1_PORT= SKIFF_STORE2_PORT= SKIFF_STORE3_PORT= \
    SKIFF_API1_HTTPS_PORT= SKIFF_API2_HTTPS_PORT= SKIFF_PKI_DIR=$work/pki
make_certs "$skiff_bin" "$work/pki" >/dev/null
"$here/tokens.sh" "$work" >/dev/null

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [ $status -ne 0 ]; then
        say "--- diagnostics"
        dc ps >&2 || true
        dc logs --tail 30 >&2 2>&1 || true
    fi
    say "=== tear down project $SKIFF_PROJECT"
    dc down -v --remove-orphans -t 5 >&2 2>&1 || true
    rm -rf "$work"
    if [ $status -eq 0 ]; then
        say "PASSED in $((SECONDS - t0))s"
    else
        say "FAILED after $((SECONDS - t0))s"
    fi
    exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "=== up: project $SKIFF_PROJECT, network $SKIFF_SUBNET.0/24"
timeout $((limit * 2)) "${compose_bin[@]}" -f "$compose_file" -p "$SKIFF_PROJECT" up -d ||
    fail "docker compose up"
all_healthy() {
    local s id
    for s in "${components[@]}"; do
        id=$(container_of "$s")
        [ -n "$id" ] || return 1
        [ "$(docker inspect -f '{{.State.Health.Status}}' "$id")" = healthy ] || return 1
    done
}
wait_for "every container healthy" all_healthy

api1=$(dc port apiserver-1 6443)
api2=$(dc port apiserver-2 6443)
token=$(awk -F, '$2 == "admin" { print $1; exit }' "$SKIFF_TOKEN_FILE")
sk=("$skiff_bin" --server "$api1,$api2" --token "$token" --certificate-authority "$work/pki/ca.crt")

say "=== skiff get nodes through TLS ($api1, $api2; the cluster CA)"
two_nodes_ready() {
    [ "$("${sk[@]}" get nodes 2>/dev/null | awk 'NR > 1 && $2 == "Ready"' | wc -l)" -eq 2 ]
}
wait_for "2 Ready nodes" two_nodes_ready
"${sk[@]}" get nodes >&2
if "$skiff_bin" --server "$api1" --token "$token" get nodes >/dev/null 2>&1; then
    fail "skiff without the cluster CA (plain text) reached the apiserver"
fi
say "skiff without the CA: refused"

say "=== etcdctl against the store members' published client ports"
stores=$(printf 'https://%s,' "$(dc port s1 2379)" "$(dc port s2 2379)" "$(dc port s3 2379)")
stores=${stores%,}
tls=(--cacert "$work/pki/ca.crt" --cert "$work/pki/etcd-client.crt" --key "$work/pki/etcd-client.key")
ETCDCTL_API=3 etcdctl --endpoints "$stores" "${tls[@]}" --dial-timeout 3s endpoint status -w table >&2 ||
    fail "etcdctl with the etcd-client certificate"
ETCDCTL_API=3 etcdctl --endpoints "$stores" "${tls[@]}" put /tls-smoke ok >/dev/null ||
    fail "etcdctl put with the etcd-client certificate"
s1=$(printf 'https://%s' "$(dc port s1 2379)")
if out=$(ETCDCTL_API=3 etcdctl --endpoints "$s1" --cacert "$work/pki/ca.crt" \
    --dial-timeout 3s --command-timeout 5s get /tls-smoke 2>&1); then
    fail "etcdctl without a client certificate was answered: $out"
fi
say "etcdctl without a client certificate: refused ($(echo "$out" | tail -n 1))"
no_cert_logged() {
    dc logs s1 2>&1 | grep -q "presented no certificate"
}
wait_for "s1 to log the client without a certificate" no_cert_logged
dc logs s1 2>&1 | grep "presented no certificate" | tail -n 1 >&2
plain=$(printf 'http://%s' "$(dc port s1 2379)")
if out=$(ETCDCTL_API=3 etcdctl --endpoints "$plain" --dial-timeout 3s --command-timeout 5s \
    get /tls-smoke 2>&1); then
    fail "etcdctl over plain http was answered: $out"
fi
say "etcdctl over plain http: refused"

say "=== skiff logs: apiserver -> nodelet log service with the kubelet client certificate"
cat >"$work/pod.yaml" <<'POD'
apiVersion: v1
kind: Pod
metadata:
  name: tls-smoke
spec:
  containers:
  - name: kubia
    image: luksa/kubia
    ports:
    - containerPort: 8080
POD
"${sk[@]}" create -f "$work/pod.yaml" >&2
pod_running() {
    "${sk[@]}" get po tls-smoke 2>/dev/null | awk 'NR == 2 && $3 == "Running" { ok = 1 } END { exit !ok }'
}
wait_for "pod tls-smoke Running" pod_running
logs_served() {
    "${sk[@]}" logs tls-smoke >"$work/logs.txt" 2>&1 && [ -s "$work/logs.txt" ]
}
wait_for "skiff logs tls-smoke" logs_served
head -n 3 "$work/logs.txt" >&2
