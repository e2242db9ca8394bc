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
# shellcheck source=smoke-lib.sh
. "$here/smoke-lib.sh"

build=1
case ${1:-} in
--no-build) build=0 ;;
"") ;;
*) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
limit=${SKIFF_SMOKE_TIMEOUT:-120}
skiff_bin=${SKIFF_TARGET_DIR:-$repo_dir/target/compose}/x86_64-unknown-linux-gnu/release/skiff
command -v etcdctl >/dev/null || { say "etcdctl is missing (Debian package etcd-client)"; exit 1; }

ensure_image
new_project skiff-tls
say "=== up: project $SKIFF_PROJECT, network $SKIFF_SUBNET.0/24"
start_project

say "=== skiff get nodes through TLS ($api1, $api2; the cluster CA)"
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
