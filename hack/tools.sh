#!/usr/bin/env bash
# Builds the upstream tools Saqr's tests run (kube-apiserver, etcd, kubectl, helm) from the Go
# modules pinned in hack/tools/go.mod, once, into ${XDG_CACHE_HOME:-$HOME/.cache}/saqr/tools/<hash>/.
#   hack/tools.sh build [node]   build what is missing (prints timing when it builds)
#   hack/tools.sh bindir [node]  print the directory holding the binaries (building first if needed)
# With `node`, also kube-controller-manager, kube-scheduler and kubelet (a real single-node cluster,
# hack/local-cluster.sh node-up); API-server-only users never build them.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
mod="$here/tools"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/saqr"
key=$(cat "$mod/go.mod" "$mod/go.sum" "$mod"/etcd/*.go "$0" | sha256sum | cut -c1-16)
bindir="$cache/tools/$key/bin"
tools=(etcd kube-apiserver kubectl helm)
node_tools=(kube-controller-manager kube-scheduler kubelet)
declare -A pkg=(
	[etcd]=./etcd [kube-apiserver]=k8s.io/kubernetes/cmd/kube-apiserver
	[kubectl]=k8s.io/kubernetes/cmd/kubectl [helm]=helm.sh/helm/v3/cmd/helm
	[kube-controller-manager]=k8s.io/kubernetes/cmd/kube-controller-manager
	[kube-scheduler]=k8s.io/kubernetes/cmd/kube-scheduler [kubelet]=k8s.io/kubernetes/cmd/kubelet
)
[ "${2:-}" = node ] && tools+=("${node_tools[@]}")

# Version stamps, as the upstream release builds set them (otherwise they report v0.0.0-master,
# which breaks Helm's kubeVersion checks).
ldflags() {
	local k8s helm major minor
	k8s=$(awk '$1 == "k8s.io/kubernetes" {print $2}' "$mod/go.mod")
	helm=$(awk '$1 == "helm.sh/helm/v3" {print $2}' "$mod/go.mod")
	major=${k8s#v}; major=${major%%.*}
	minor=${k8s#v*.}; minor=${minor%%.*}
	local v
	for v in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		printf -- '-X %s.gitVersion=%s -X %s.gitMajor=%s -X %s.gitMinor=%s -X %s.gitTreeState=clean ' \
			"$v" "$k8s" "$v" "$major" "$v" "$minor" "$v"
	done
	printf -- '-X helm.sh/helm/v3/internal/version.version=%s ' "$helm"
	for v in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
		printf -- '-X %s.k8sVersionMajor=%s -X %s.k8sVersionMinor=%s ' "$v" "$major" "$v" "$minor"
	done
}

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
	local start=$SECONDS tmp t missing=() pkgs=()
	for t in "${tools[@]}"; do [ -x "$bindir/$t" ] || { missing+=("$t"); pkgs+=("${pkg[$t]}"); }; done
	tmp=$(mktemp -d "$cache/tools/build.XXXXXX")
	echo "tools: building ${missing[*]} from hack/tools/go.mod (first time only)" >&2
	(cd "$mod" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "$(ldflags)" -o "$tmp/" "${pkgs[@]}") >&2
	mv "$tmp"/* "$bindir/"
	rmdir "$tmp"
	echo "tools: built in $((SECONDS - start))s into $bindir" >&2
}

case "${1:-}" in
build) build ;;
bindir) build; echo "$bindir" ;;
*) echo "usage: $0 build|bindir [node]" >&2; exit 2 ;;
esac
