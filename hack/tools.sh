#!/usr/bin/env bash
# Builds the upstream tools Saqr's tests run (kube-apiserver, etcd, kubectl, helm) from the Go
# modules pinned in hack/tools/go.mod, once, into ${XDG_CACHE_HOME:-$HOME/.cache}/saqr/tools/<hash>/.
#   hack/tools.sh build   build what is missing (prints timing when it builds)
#   hack/tools.sh bindir  print the directory holding the binaries (building first if needed)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
mod="$here/tools"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/saqr"
key=$(cat "$mod/go.mod" "$mod/go.sum" "$mod"/etcd/*.go | sha256sum | cut -c1-16)
bindir="$cache/tools/$key/bin"
tools=(etcd kube-apiserver kubectl helm)

built() {
	for t in "${tools[@]}"; do [ -x "$bindir/$t" ] || return 1; done
}

build() {
	built && return 0
	mkdir -p "$cache/tools"
	exec 9>"$cache/tools/.lock"
	flock 9
	built && return 0
	command -v go >/dev/null || { echo "tools: Go is needed to build the control plane (go not found)" >&2; exit 1; }
	mkdir -p "$bindir"
	local start=$SECONDS tmp
	tmp=$(mktemp -d "$cache/tools/build.XXXXXX")
	echo "tools: building ${tools[*]} from hack/tools/go.mod (first time only)" >&2
	(cd "$mod" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -o "$tmp/" \
		./etcd k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl helm.sh/helm/v3/cmd/helm) >&2
	mv "$tmp"/* "$bindir/"
	rmdir "$tmp"
	echo "tools: built in $((SECONDS - start))s into $bindir" >&2
}

case "${1:-}" in
build) build ;;
bindir) build; echo "$bindir" ;;
*) echo "usage: $0 build|bindir" >&2; exit 2 ;;
esac
