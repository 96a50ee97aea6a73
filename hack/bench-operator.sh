#!/usr/bin/env bash
# make bench-operator: start a fresh private control plane, install the CRDs, and run the
# operator benchmark (bench/bench_operator.c) against it; stop the control plane after.
#   hack/bench-operator.sh BENCH_BINARY OPERATOR_BINARY
# Environment: BENCH_MD (2000), BENCH_TJ (1000), BENCH_LOADERS (16), BENCH_WORKERS (8),
# BENCH_QUIET (seconds of quiet window, 20).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bench=$1
operator=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
export SAQR_CLUSTER_DIR="$root/build/cluster-bench-operator"
# 3,000 custom resources own about 2,750 ClusterIP Services: more than the default /24 holds.
export SAQR_APISERVER_FLAGS="--service-cluster-ip-range=10.96.0.0/16 ${SAQR_APISERVER_FLAGS:-}"
logdir="$root/build/bench-operator"
"$here/local-cluster.sh" down >/dev/null 2>&1 || true
trap '"$here/local-cluster.sh" down >/dev/null 2>&1' EXIT
# Ports are picked at random: another control plane on the machine may take one first.
for try in 1 2 3; do
	if up=$("$here/local-cluster.sh" up); then
		eval "$up"
		break
	fi
	"$here/local-cluster.sh" down >/dev/null 2>&1 || true
	[ "$try" = 3 ] && { echo "bench-operator: the control plane did not start" >&2; exit 1; }
done
kubectl="$("$here/tools.sh" bindir)/kubectl"
"$kubectl" apply --server-side -f "$root/crds/" >/dev/null
"$kubectl" wait --for condition=Established --timeout=60s crd --all >/dev/null
mkdir -p "$logdir"
# The control plane's CPU tells whether the API server, not the operator, sets the pace.
export BENCH_SERVER_PIDS="$(cat "$SAQR_CLUSTER_DIR/apiserver.pid") $(cat "$SAQR_CLUSTER_DIR/etcd.pid")"
"$bench" "$operator" "$logdir"
echo "operator logs: $logdir"
