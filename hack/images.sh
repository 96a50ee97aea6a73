#!/usr/bin/env bash
# Builds Saqr's container images without a Docker engine or a registry, as Docker image archives
# (one rootfs tar layer + config JSON + manifest.json; `ctr images import` and `docker load` read
# them), and imports them into a local node's containerd.
#   hack/images.sh build [OUTDIR]            build every image archive (default build/images)
#   hack/images.sh import SOCKET [OUTDIR]    import them into containerd at SOCKET (namespace k8s.io)
# Images (all saqr.local/<name>:dev, for imagePullPolicy IfNotPresent or Never):
#   saqr-operator, saqr-webhook, saqrctl,   bin/<cmd> in the tree hack/image-rootfs.sh assembles
#   saqr-agent, saqr-fetch
#   saqr-demo-server, saqr-demo-trainer     test programs from tests/tools (build/rel/tools/<name>)
#   pause                                   the sandbox image: build/rel/tools/saqr-pause, static
# Expects the binaries built (`make build images-bin` does it); user 65532 except pause.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
BIN=${BIN:-$root/bin}
BUILD=${BUILD:-$root/build}
registry=${SAQR_IMAGE_REGISTRY:-saqr.local}
tag=${SAQR_IMAGE_TAG:-dev}
products=(saqr-operator saqr-webhook saqrctl saqr-agent saqr-fetch)
tools=(saqr-demo-server saqr-demo-trainer)

log() { echo "images: $*" >&2; }

# One Docker image archive from a rootfs tree: deterministic layer (sorted, mtime 0).
archive() { # tree name entrypoint-json user out
	local tree=$1 name=$2 entry=$3 user=$4 out=$5 work layer_sha config config_sha
	work=$(mktemp -d)
	tar --sort=name --mtime=@0 --numeric-owner --format=gnu -C "$tree" -cf "$work/layer.tar" .
	layer_sha=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
	mkdir -p "$work/$layer_sha"
	mv "$work/layer.tar" "$work/$layer_sha/layer.tar"
	config=$(printf '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":{"User":"%s","Entrypoint":%s,"Env":["PATH=/usr/local/bin:/usr/bin:/bin"],"WorkingDir":"/","Labels":{"org.opencontainers.image.source":"saqr"}},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"hack/images.sh"}]}' \
		"$user" "$entry" "$layer_sha")
	config_sha=$(printf '%s' "$config" | sha256sum | cut -d' ' -f1)
	printf '%s' "$config" >"$work/$config_sha.json"
	printf '[{"Config":"%s.json","RepoTags":["%s/%s:%s"],"Layers":["%s/layer.tar"]}]' \
		"$config_sha" "$registry" "$name" "$tag" "$layer_sha" >"$work/manifest.json"
	tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work" -cf "$out" .
	rm -rf "$work"
	log "$registry/$name:$tag: $out ($(($(stat -c %s "$out") / 1024)) KiB)"
}

cmd_build() {
	local out=${1:-$BUILD/images} trees="$BUILD/rootfs" bins=() n
	mkdir -p "$out"
	for n in "${products[@]}"; do bins+=("$BIN/$n"); done
	for n in "${tools[@]}"; do bins+=("$BUILD/rel/tools/$n"); done
	"$here/image-rootfs.sh" "$trees" "${bins[@]}" >/dev/null
	for n in "${products[@]}" "${tools[@]}"; do
		archive "$trees/$n" "$n" "[\"/usr/local/bin/$n\"]" 65532 "$out/$n.tar"
	done
	# The sandbox image: one static binary that sleeps until SIGTERM.
	[ -x "$BUILD/rel/tools/saqr-pause" ] || { log "missing $BUILD/rel/tools/saqr-pause (make images-bin)"; return 1; }
	rm -rf "$trees/pause"
	mkdir -p "$trees/pause"
	cp "$BUILD/rel/tools/saqr-pause" "$trees/pause/pause"
	archive "$trees/pause" pause '["/pause"]' 65535 "$out/pause.tar"
}

cmd_import() { # socket [outdir]
	local sock=${1:?usage: $0 import SOCKET [OUTDIR]} out=${2:-$BUILD/images} f
	for f in "$out"/*.tar; do
		ctr -a "$sock" -n k8s.io images import "$f" >/dev/null ||
			{ log "import of $f failed"; return 1; }
	done
	log "imported $(ls "$out"/*.tar | wc -l) images into $sock"
}

case "${1:-}" in
build) shift; cmd_build "$@" ;;
import) shift; cmd_import "$@" ;;
*) sed -n '2,12p' "$0" >&2; exit 2 ;;
esac
