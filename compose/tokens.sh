#!/usr/bin/env bash
# compose/tokens.sh [DIR]: writes DIR/tokens.csv (the apiservers' token file: an admin, a
# read-only viewer, one token per node) and DIR/skiff.config (a client config for the
# host: published apiserver and store ports, the admin token), and DIR/kubeconfig for
# kubectl when DIR/pki/ca.crt exists (`skiff certs`, run by compose/build.sh). DIR defaults
# to compose/.
# Existing files are kept; delete them to get new tokens.
#
# Ports written to skiff.config follow the same variables as docker-compose.yml:
# SKIFF_API1_PORT, SKIFF_API2_PORT (16443, 16444), SKIFF_STORE1_PORT..3 (23791..23793).
set -euo pipefail
dir=${1:-$(cd "$(dirname "$0")" && pwd)}
mkdir -p "$dir"
umask 077

token() {
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n'
}

if [ ! -s "$dir/tokens.csv" ]; then
    {
        echo "$(token),admin,uid-admin,\"system:masters\""
        echo "$(token),viewer,uid-viewer,\"skiff:viewers\""
        for node in node-1 node-2; do
            echo "$(token),system:node:$node,uid-node-$node,\"system:nodes\""
        done
    } >"$dir/tokens.csv"
    echo "wrote $dir/tokens.csv"
fi

admin=$(awk -F, '$2 == "admin" { print $1; exit }' "$dir/tokens.csv")
if [ ! -s "$dir/skiff.config" ]; then
    cat >"$dir/skiff.config" <<CONFIG
# skiff client configuration for the docker compose cluster (compose/docker-compose.yml).
apiservers:
- 127.0.0.1:${SKIFF_API1_PORT:-16443}
- 127.0.0.1:${SKIFF_API2_PORT:-16444}
token: $admin
certificate-authority: $dir/pki/ca.crt
pki-dir: $dir/pki
stores:
- https://127.0.0.1:${SKIFF_STORE1_PORT:-23791}
- https://127.0.0.1:${SKIFF_STORE2_PORT:-23792}
- https://127.0.0.1:${SKIFF_STORE3_PORT:-23793}
CONFIG
    echo "wrote $dir/skiff.config"
fi
# kubectl's config (the REST API of apiserver-1, published on 127.0.0.1:SKIFF_API1_HTTPS_PORT),
# once compose/build.sh (`skiff certs`) has made the CA in DIR/pki.
if [ ! -s "$dir/kubeconfig" ] && [ -s "$dir/pki/ca.crt" ]; then
    ca=$(base64 -w0 <"$dir/pki/ca.crt")
    cat >"$dir/kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: skiff-compose
  cluster:
    server: https://127.0.0.1:${SKIFF_API1_HTTPS_PORT:-16643}
    certificate-authority-data: $ca
users:
- name: skiff-compose-admin
  user:
    token: $admin
contexts:
- name: skiff-compose
  context:
    cluster: skiff-compose
    user: skiff-compose-admin
current-context: skiff-compose
KUBECONFIG
    echo "wrote $dir/kubeconfig (export KUBECONFIG=$dir/kubeconfig)"
fi
# The containers read the token file as root; the host copy stays private.
chmod 600 "$dir/tokens.csv" "$dir/skiff.config"
[ ! -e "$dir/kubeconfig" ] || chmod 600 "$dir/kubeconfig"
