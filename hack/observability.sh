#!/usr/bin/env bash
# Builds Prometheus and Alertmanager, the real servers Saqr's observability integration tests run
# (tests/integration/test_observability.c), from the Go modules pinned in hack/observability/go.mod,
# once, into ${XDG_CACHE_HOME:-$HOME/.cache}/saqr/observability/<hash>/bin. Its own module and cache
# key: hack/tools/go.mod's hash keys the kube tools, and is left alone.
#   hack/observability.sh build    build what is missing (prints timing when it builds)
#   hack/observability.sh bindir   print the directory holding the binaries (building first if needed)
# Each tool is built on its own: when one fails, its error is printed and the other is still built;
# the exit status is then 1 (bindir prints the directory anyway, so callers can test for a binary).
#
# The upstream release builds embed web UIs made with npm; the Go modules carry no built assets.
# Prometheus without the builtinassets tag serves its UI from disk (absent here; the API works).
# Prometheus with remove_all_sd keeps only static, file and HTTP service discovery: the tests
# scrape static targets, and the cloud SDKs are most of the build. Alertmanager embeds
# ui/app/dist unconditionally, so a placeholder page stands in for it (alertmanager_src).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
mod="$here/observability"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/saqr"
key=$(cat "$mod/go.mod" "$mod/go.sum" "$mod/ui-placeholder.html" "$0" | sha256sum | cut -c1-16)
bindir="$cache/observability/$key/bin"
tmp=""
tools=(prometheus alertmanager)
declare -A pkg=(
	[prometheus]=github.com/prometheus/prometheus/cmd/prometheus
	[alertmanager]=github.com/prometheus/alertmanager/cmd/alertmanager
)
declare -A tags=([prometheus]=remove_all_sd [alertmanager]=)

modver() { awk -v m="$1" '$1 == m {print $2}' "$mod/go.mod"; }

# Version stamps, as promu sets them. Prometheus v3.X.Y is published as the Go module v0.3XX.Y.
version() {
	local v
	case $1 in
	prometheus)
		v=$(modver github.com/prometheus/prometheus)
		v=${v#v0.}
		printf '%s.%s.%s' "${v:0:1}" "$((10#${v:1:2}))" "${v#*.}"
		;;
	alertmanager) v=$(modver github.com/prometheus/alertmanager) && printf '%s' "${v#v}" ;;
	esac
}

ldflags() {
	local p=github.com/prometheus/common/version
	printf -- '-X %s.Version=%s -X %s.Branch=HEAD -X %s.Revision=%s -X %s.BuildUser=saqr -X %s.BuildDate=%s' \
		"$p" "$(version "$1")" "$p" "$p" "$(modver "${pkg[$1]%%/cmd/*}")" "$p" "$p" 19700101-00:00:00
}

# Alertmanager is built as its release is, in its own module with its own go.mod (in this
# module's graph Prometheus raises github.com/KimMachineGun/automemlimit past the API it calls).
# Its ui package embeds app/dist, which only `make` (npm) produces, and Go refuses an -overlay of
# files in the module cache: so the build runs in a copy of the module (the version pinned in
# hack/observability/go.mod) with a placeholder page there. Prints the copy's directory.
alertmanager_src() {
	local src copy=$1/alertmanager-src d
	# (called in a condition, where set -e does not apply: every step checks)
	src=$(cd "$mod" && GOFLAGS=-mod=mod go list -m -f '{{.Dir}}' github.com/prometheus/alertmanager) &&
		[ -n "$src" ] && cp -R "$src" "$copy" && chmod -R u+w "$copy" || return 1
	for d in elm mantine; do
		mkdir -p "$copy/ui/app/dist/$d" && cp "$mod/ui-placeholder.html" "$copy/ui/app/dist/$d/index.html" ||
			return 1
	done
	printf '%s' "$copy"
}

built() {
	for t in "${tools[@]}"; do [ -x "$bindir/$t" ] || return 1; done
}

build() {
	built && return 0
	mkdir -p "$cache/observability"
	exec 9>"$cache/observability/.lock"
	flock 9
	built && return 0
	command -v go >/dev/null || { echo "observability: Go is needed to build Prometheus and Alertmanager (go not found)" >&2; return 1; }
	mkdir -p "$bindir"
	local t start rc=0 dir
	tmp=$(mktemp -d "$cache/observability/build.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	for t in "${tools[@]}"; do
		[ -x "$bindir/$t" ] && continue
		start=$SECONDS
		echo "observability: building $t $(version "$t") (pinned in hack/observability/go.mod; first time only)" >&2
		dir=$mod
		if [ "$t" = alertmanager ] && ! dir=$(alertmanager_src "$tmp"); then
			echo "observability: cannot copy the alertmanager module" >&2
			rc=1
			continue
		fi
		if (cd "$dir" && GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0 go build -trimpath \
			-tags "${tags[$t]}" -ldflags "$(ldflags "$t")" -o "$tmp/$t" "${pkg[$t]}") >&2; then
			mv "$tmp/$t" "$bindir/$t"
			echo "observability: built $t in $((SECONDS - start))s into $bindir" >&2
		else
			echo "observability: building $t failed after $((SECONDS - start))s" >&2
			rc=1
		fi
	done
	return $rc
}

case "${1:-}" in
build) build ;;
bindir)
	rc=0
	build || rc=$?
	echo "$bindir"
	exit $rc
	;;
*) echo "usage: $0 build|bindir" >&2; exit 2 ;;
esac
