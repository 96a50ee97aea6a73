#!/usr/bin/env bash
# Measures what admission of each Saqr kind costs at a real kube-apiserver (schema, defaults, CEL):
# N server-side dry-run creates of each sample over one keep-alive connection, against a ConfigMap
# as the baseline. Starts and stops a private control plane.
#   hack/bench-crds.sh [N]     (default 300)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
n=${1:-300}
export SAQR_CLUSTER_DIR="${SAQR_CLUSTER_DIR:-$root/build/cluster-bench}"
trap '"$here/local-cluster.sh" down >/dev/null 2>&1' EXIT
eval "$("$here/local-cluster.sh" up)"
kubectl="$("$here/tools.sh" bindir)/kubectl"
"$kubectl" apply --server-side -f "$root/crds/" >/dev/null
"$kubectl" wait --for condition=Established --timeout=60s crd --all >/dev/null
server=$("$kubectl" config view --minify -o jsonpath='{.clusters[0].cluster.server}')
pki="$SAQR_CLUSTER_DIR/pki"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; "$here/local-cluster.sh" down >/dev/null 2>&1' EXIT
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bench\ndata:\n  k: v\n' >"$tmp/cm.yaml"

bench() { # label path file
	local urls=()
	for _ in $(seq 1 "$n"); do urls+=(-o /dev/null "$server$2?dryRun=All"); done
	curl -sS --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
		-H 'Content-Type: application/yaml' --data-binary "@$3" \
		-w '%{http_code} %{time_total}\n' "${urls[@]}" >"$tmp/times"
	if grep -qv '^201 ' "$tmp/times"; then
		echo "bench-crds: $1: the server refused a request" >&2
		return 1
	fi
	awk '{print $2 * 1000}' "$tmp/times" | tail -n +11 | sort -n | awk -v label="$1" '
		{ v[NR] = $1; s += $1 }
		END { printf "%-16s n=%d  mean %.2f ms  p50 %.2f ms  p90 %.2f ms  p99 %.2f ms\n", label, NR,
		      s / NR, v[int(NR * 0.5)], v[int(NR * 0.9)], v[int(NR * 0.99)] }'
}

echo "bench-crds: $n server-side dry-run creates per kind (first 10 dropped as warm-up), one connection"
bench ConfigMap /api/v1/namespaces/default/configmaps "$tmp/cm.yaml"
bench ModelDeployment /apis/saqr.dev/v1alpha1/namespaces/default/modeldeployments "$root/manifests/samples/modeldeployment.yaml"
bench TrainingJob /apis/saqr.dev/v1alpha1/namespaces/default/trainingjobs "$root/manifests/samples/trainingjob.yaml"
bench DriftPolicy /apis/saqr.dev/v1alpha1/namespaces/default/driftpolicies "$root/manifests/samples/driftpolicy.yaml"
