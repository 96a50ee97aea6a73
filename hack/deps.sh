#!/usr/bin/env bash
# Installs the Debian packages Saqr builds and tests with, only those missing.
# Quiet when everything is there. Needs root (or sudo) only when something is missing.
#   hack/deps.sh          what building and the tests need
#   hack/deps.sh node     also what a real single-node cluster needs (hack/local-cluster.sh
#                         node-up): containerd (CRI built in), runc, the CNI plugins, and
#                         busybox-static for the sandbox image. SAQR_NODE=1 does the same.
set -euo pipefail

packages=(
	gcc make pkg-config git curl openssl ca-certificates
	libcurl4-openssl-dev libyaml-dev libjansson-dev libssl-dev libwebsockets-dev libcmocka-dev
	clang clang-format clang-tidy cppcheck libclang-rt-14-dev lua5.4 lua5.1 wrk time
)
if [ "${1:-}" = node ] || [ "${SAQR_NODE:-0}" = 1 ]; then
	packages+=(containerd runc containernetworking-plugins busybox-static)
fi
[ -n "${SAQR_EXTRA_PACKAGES:-}" ] && read -r -a extra <<<"$SAQR_EXTRA_PACKAGES" && packages+=("${extra[@]}")

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
