#!/usr/bin/env bash
# compose/build.sh: builds skiff's binaries statically (release) and the image skiff:local
# FROM scratch, then writes compose/tokens.csv and compose/skiff.config if missing.
# Works offline: nothing is pulled.
#
#   compose/build.sh               cargo build, then docker build
#   compose/build.sh --no-cargo    reuse the binaries already built
#
# SKIFF_IMAGE         image tag (default skiff:local)
# SKIFF_TARGET_DIR    cargo target dir of the static build (default target/compose: its own,
#                     so it neither waits on nor invalidates the ordinary build)
# BUSYBOX             a statically linked busybox (default /bin/busybox, from Debian's
#                     busybox-static)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
image=${SKIFF_IMAGE:-skiff:local}
target_dir=${SKIFF_TARGET_DIR:-$repo/target/compose}
triple=x86_64-unknown-linux-gnu
busybox=${BUSYBOX:-/bin/busybox}
binaries=(skiff-store skiff-apiserver skiff-controller-manager skiff-scheduler
    skiff-nodelet skiff-nodelet-shim skiff)

cargo=1
for arg in "$@"; do
    case $arg in
    --no-cargo) cargo=0 ;;
    -h | --help)
        sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "unknown argument: $arg (try --help)" >&2
        exit 2
        ;;
    esac
done

static() {
    # ldd prints "statically linked" (static-pie) or "not a dynamic executable".
    local out
    out=$(ldd "$1" 2>&1 || true)
    case $out in *"statically linked"* | *"not a dynamic executable"*) return 0 ;; esac
    return 1
}

start=$(date +%s)
if [ "$cargo" = 1 ]; then
    bin_args=()
    for b in "${binaries[@]}"; do bin_args+=(--bin "$b"); done
    echo "== cargo build --release --target $triple (static, target dir $target_dir)"
    (cd "$repo" && RUSTFLAGS='-C target-feature=+crt-static' CARGO_TARGET_DIR="$target_dir" \
        cargo build --release --target "$triple" "${bin_args[@]}")
fi
out=$target_dir/$triple/release

if [ ! -x "$busybox" ] || ! static "$busybox"; then
    echo "$busybox is missing or not statically linked: apt-get install busybox-static (or set BUSYBOX)" >&2
    exit 1
fi

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
mkdir -p "$context/bin"
for b in "${binaries[@]}"; do
    if [ ! -x "$out/$b" ]; then
        echo "$out/$b is missing: run compose/build.sh without --no-cargo" >&2
        exit 1
    fi
    if ! static "$out/$b"; then
        echo "$out/$b is not statically linked: it would not run FROM scratch" >&2
        exit 1
    fi
    # Debug info makes up most of each file; symbols stay, for backtraces.
    if command -v strip >/dev/null; then
        strip --strip-debug -o "$context/bin/$b" "$out/$b"
    else
        cp "$out/$b" "$context/bin/"
    fi
done
cp "$here/image/with-token" "$here/image/node-init" "$context/bin/"
cp -r "$here/image/etc" "$context/etc"
cp "$busybox" "$context/busybox"
cp "$here/image/Dockerfile" "$context/Dockerfile"

echo "== docker build -t $image (FROM scratch, context $(du -sh "$context" | cut -f1))"
previous=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
docker build -q -t "$image" "$context"
# The image this one replaced, now untagged, is of no use (kept if a container still uses it).
if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect -f '{{.Id}}' "$image")" ]; then
    docker image rm "$previous" >/dev/null 2>&1 || true
fi
# The image must run its binaries with nothing but what it holds.
docker run --rm "$image" sh -c 'skiff version --client && skiff-store --version'
# The cluster's certificates (the CA is kept once made), then tokens and configs.
# shellcheck source=lib.sh
. "$here/lib.sh"
make_certs "$out/skiff" "$here/pki" >/dev/null
"$here/tokens.sh"
echo "== built $image in $(($(date +%s) - start))s"
