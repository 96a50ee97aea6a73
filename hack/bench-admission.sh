#!/usr/bin/env bash
# Admission latency on a real local node (root): p50/p99 of N real Pod creates through
# kube-apiserver in three namespaces, side by side with the latency each adds over the first:
#   none     no admission check (the namespace carries saqr.dev/webhook=disabled)
#   webhook  saqr-webhook as a pod behind its Service (installed by charts/saqr, one replica)
#   vap      a ValidatingAdmissionPolicy + binding with the same core rules in CEL (privileged,
#            hostNetwork/hostPID/hostIPC, runAsNonRoot, allowPrivilegeEscalation, digest pin,
#            required labels); the webhook skips this namespace
# The client is one curl process with a client certificate and a keep-alive connection, sending
# the 3*N POSTs round-robin (none, webhook, vap, none, ...) so that its own cost and the
# machine's load weigh the same on the three; curl's time_total of each transfer is the sample.
# The Pods are compliant and carry a scheduling gate: real creates (admission, etcd), never
# scheduled or run; they are deleted at the end. Every create must answer 201.
#   hack/bench-admission.sh [N]      (default 300; `make bench-admission BENCH_N=...`)
set -euo pipefail

n=${1:-300}
e2e_name=bench-admission
# shellcheck source=tests/e2e/lib.sh
. "$(cd "$(dirname "$0")/.." && pwd)/tests/e2e/lib.sh"
modes=(none webhook vap)

vap() {
	kubectl apply -f - >/dev/null <<'YAML'
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: saqr-bench-core}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - {apiGroups: [""], apiVersions: [v1], resources: [pods], operations: [CREATE, UPDATE]}
  variables:
  - name: containers
    expression: "object.spec.containers + (has(object.spec.initContainers) ? object.spec.initContainers : [])"
  - name: podNonRoot
    expression: "has(object.spec.securityContext) && has(object.spec.securityContext.runAsNonRoot) && object.spec.securityContext.runAsNonRoot"
  validations:
  - expression: "variables.containers.all(c, !has(c.securityContext) || !has(c.securityContext.privileged) || !c.securityContext.privileged)"
    message: "[podSecurity.baseline.privileged] privileged containers are not allowed"
  - expression: "!(has(object.spec.hostNetwork) && object.spec.hostNetwork) && !(has(object.spec.hostPID) && object.spec.hostPID) && !(has(object.spec.hostIPC) && object.spec.hostIPC)"
    message: "[podSecurity.baseline.hostNamespaces] hostNetwork, hostPID and hostIPC must be false"
  - expression: "variables.containers.all(c, has(c.securityContext) && has(c.securityContext.runAsNonRoot) ? c.securityContext.runAsNonRoot : variables.podNonRoot)"
    message: "[podSecurity.restricted.runAsNonRoot] runAsNonRoot must be true"
  - expression: "variables.containers.all(c, has(c.securityContext) && has(c.securityContext.allowPrivilegeEscalation) && !c.securityContext.allowPrivilegeEscalation)"
    message: "[podSecurity.restricted.allowPrivilegeEscalation] allowPrivilegeEscalation must be false"
  - expression: "variables.containers.all(c, c.image.matches('@sha256:[a-f0-9]{64}$'))"
    message: "[zeroTrust.imageDigest] images must be pinned by digest"
  - expression: "has(object.metadata.labels) && ['saqr.dev/data-residency', 'saqr.dev/data-classification', 'saqr.dev/owner'].all(k, k in object.metadata.labels) && object.metadata.labels['saqr.dev/data-residency'] == 'uae'"
    message: "[compliance] labels saqr.dev/data-residency=uae, saqr.dev/data-classification and saqr.dev/owner are required"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: saqr-bench-core}
spec:
  policyName: saqr-bench-core
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels: {saqr.dev/bench-vap: "true"}
YAML
}

pod_json() { # name [bad]
	local sc='"securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}}'
	[ "${2:-}" = bad ] && sc='"securityContext": {"privileged": true}'
	printf '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "%s", "labels": {"saqr.dev/data-residency": "uae", "saqr.dev/data-classification": "internal", "saqr.dev/owner": "ml-platform"}}, "spec": {"schedulingGates": [{"name": "saqr.dev/bench"}], "serviceAccountName": "bench", "automountServiceAccountToken": false, "nodeSelector": {"topology.kubernetes.io/region": "uaenorth"}, "securityContext": {"runAsNonRoot": true, "runAsUser": 65532, "seccompProfile": {"type": "RuntimeDefault"}}, "containers": [{"name": "c", "image": "%s", "imagePullPolicy": "Never", %s}]}}' \
		"$1" "$image" "$sc"
}

# A curl config of POSTs separated by `next` (the caller drops the last one), one per line of "namespace name" on stdin; bodies in $work.
curl_config() {
	local ns name
	while read -r ns name; do
		pod_json "$name" >"$work/$name.json"
		cat <<CFG
url = "https://$node_gw:$api_port/api/v1/namespaces/$ns/pods"
header = "Content-Type: application/json"
data-binary = "@$work/$name.json"
cacert = "$dir/pki/ca.crt"
cert = "$dir/pki/admin.crt"
key = "$dir/pki/admin.key"
output = "/dev/null"
write-out = "$ns %{http_code} %{time_total}\\n"
next
CFG
	done
}

# Every namespace checks what it should: a privileged Pod is refused by the webhook, by the
# policy, and admitted with no check.
check_modes() {
	local m out i
	for m in webhook vap; do
		for i in $(seq 1 30); do
			out=$(pod_json "probe-$i" bad | kubectl -n "bench-$m" create -f - 2>&1) && { kubectl -n "bench-$m" delete pod "probe-$i" --wait=false >/dev/null; sleep 1; continue; }
			grep -q 'podSecurity.baseline.privileged' <<<"$out" && break
			sleep 1
		done
		grep -q 'podSecurity.baseline.privileged' <<<"$out" || { log "bench-$m does not refuse a privileged Pod: $out"; return 1; }
	done
	pod_json probe bad | kubectl -n bench-none create -f - >/dev/null || { log "bench-none refused a Pod"; return 1; }
	kubectl -n bench-none delete pod probe --wait=false >/dev/null
}

stats() { # mode: "p50 p99 mean" in ms of its 201 samples
	awk -v m="$1" '$1 == "bench-" m && $2 == 201 {print $3 * 1000}' "$work/out.txt" | sort -n |
		awk '{v[NR] = $1; s += $1} END {if (NR == 0) {print "- - -"; exit}
			i50 = int(NR * 0.50 + 0.5); i99 = int(NR * 0.99 + 0.5); if (i50 < 1) i50 = 1; if (i99 < 1) i99 = 1
			printf "%.1f %.1f %.1f %d\n", v[i50], v[i99], s / NR, NR}'
}

e2e_node_up
image=$(e2e_pinned saqr.local/saqr-demo-server:dev)
e2e_helm_install --set webhook.replicas=1 --set operator.replicas=1
work="$dir/bench"
mkdir -p "$work"
for m in "${modes[@]}"; do
	kubectl create namespace "bench-$m" >/dev/null
	kubectl -n "bench-$m" create serviceaccount bench >/dev/null
done
kubectl label namespace bench-none bench-vap saqr.dev/webhook=disabled >/dev/null
kubectl label namespace bench-vap saqr.dev/bench-vap=true >/dev/null
vap
check_modes
# Warm-up (connections, caches, the policy's compiled CEL), then the run.
for i in $(seq 1 20); do for m in "${modes[@]}"; do echo "bench-$m warm-$i"; done; done | curl_config | sed '$d' >"$work/warm.cfg"
curl -sS --config "$work/warm.cfg" >/dev/null
for i in $(seq 1 "$n"); do for m in "${modes[@]}"; do echo "bench-$m pod-$i"; done; done | curl_config | sed '$d' >"$work/run.cfg"
t=$(now)
curl -sS --config "$work/run.cfg" >"$work/out.txt"
timing "$((3 * n)) creates" "$(since "$t")"
bad=$(awk '$2 != 201' "$work/out.txt" | wc -l)
[ "$bad" -eq 0 ] || fail "$bad creates did not answer 201: $(awk '$2 != 201 {print $1, $2}' "$work/out.txt" | sort | uniq -c | tr '\n' ' ')"
read -r base _ _ _ <<<"$(stats none)"
read -r base99 _ <<<"$(stats none | awk '{print $2}')"
{
	printf '\nadmission latency, %d real Pod creates each (one keep-alive client, round-robin), ms\n' "$n"
	printf '%-9s %8s %8s %8s %6s %10s %10s\n' mode p50 p99 mean ok "+p50" "+p99"
	for m in "${modes[@]}"; do
		read -r p50 p99 mean ok <<<"$(stats "$m")"
		printf '%-9s %8s %8s %8s %6s %10s %10s\n' "$m" "$p50" "$p99" "$mean" "$ok" \
			"$(awk -v a="$p50" -v b="$base" 'BEGIN {printf "%+.1f", a - b}')" \
			"$(awk -v a="$p99" -v b="$base99" 'BEGIN {printf "%+.1f", a - b}')"
	done
} | tee "$work/table.txt" >&2
t=$(now)
for m in "${modes[@]}"; do kubectl -n "bench-$m" delete pods --all --grace-period=0 --wait=false >/dev/null; done
timing "delete $((3 * n)) Pods" "$(since "$t")"
e2e_rss
cp "$work/table.txt" "${TMPDIR:-/tmp}/saqr-bench-admission.txt"
log "table kept in ${TMPDIR:-/tmp}/saqr-bench-admission.txt"
