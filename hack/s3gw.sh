#!/usr/bin/env bash
# Builds VersityGW, the S3-compatible server of saqr-fetch's store tests (tests/integration/fetch)
# and bench-fetch, from the Go module pinned in hack/s3gw/go.mod, once, into
# ${XDG_CACHE_HOME:-$HOME/.cache}/saqr/s3gw/<hash>/versitygw. It is maintained and, unlike s3rver,
# checks every request's Signature V4 (a wrong secret is refused with SignatureDoesNotMatch).
#   hack/s3gw.sh bin    print the binary's path (building it first if needed)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
mod="$here/s3gw"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/saqr/s3gw"
key=$(cat "$mod/go.mod" "$mod/go.sum" "$mod/tools.go" "$0" | sha256sum | cut -c1-16)
bin="$cache/$key/versitygw"
tmp=""

build() {
	local start=$SECONDS ver
	[ -x "$bin" ] && return 0
	mkdir -p "$cache"
	exec 9>"$cache/.lock"
	flock 9
	[ -x "$bin" ] && return 0
	command -v go >/dev/null || { echo "s3gw: Go is needed to build VersityGW (go not found)" >&2; return 1; }
	ver=$(awk '{ for (i = 1; i < NF; i++) if ($i == "github.com/versity/versitygw") print $(i + 1) }' "$mod/go.mod")
	echo "s3gw: building versitygw $ver (pinned in hack/s3gw/go.mod; first time only)" >&2
	tmp=$(mktemp -d "$cache/build.XXXXXX")
	trap '[ -z "$tmp" ] || rm -rf "$tmp"' EXIT
	(cd "$mod" && GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0 go build -trimpath \
		-ldflags "-X main.Version=$ver" -o "$tmp/versitygw" github.com/versity/versitygw/cmd/versitygw) >&2
	mkdir -p "$(dirname "$bin")"
	mv "$tmp/versitygw" "$bin"
	echo "s3gw: built in $((SECONDS - start))s into $bin" >&2
}

case "${1:-}" in
bin) build && echo "$bin" ;;
*) echo "usage: $0 bin" >&2; exit 2 ;;
esac
