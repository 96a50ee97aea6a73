#!/usr/bin/env bash
# Prints the `replace` block that hack/tools/go.mod needs for k8s.io/kubernetes VERSION:
# k8s.io/kubernetes requires its staging modules at v0.0.0 and resolves them with ./staging
# replaces that do not apply to dependents, so each is mapped to its published v0.<minor>.<patch>
# tag. The list comes from the kubernetes module's own go.mod, never by hand.
#   hack/tools/gen-replaces.sh v1.37.2    (then paste over the replace block and `go mod tidy`)
set -euo pipefail

version=${1:?usage: $0 vX.Y.Z}
staging="v0.${version#v1.}"
gomod=$(go mod download -json "k8s.io/kubernetes@$version" | awk -F'"' '$2 == "GoMod" {print $4}')
echo "replace ("
awk -v v="$staging" '$2 == "=>" && $3 ~ /^\.\/staging\/src\// {print "\t" $1 " => " $1 " " v}' "$gomod"
echo ")"
