#!/usr/bin/env bash
# Smoke test of the local node (hack/local-cluster.sh node-up), as root: bring it up with Saqr's
# images imported, run a hardened Deployment of the model server (TLS, /metrics) and a
# 2-pod Indexed Job of the trainer with the TrainingJob rank environment, then tear down and
# check that nothing is left: no process, no mount under the cluster dir, no bridge, no
# cgroup, no CNI result, the host sysctls as they were.
# Expects the image archives in $SAQR_IMAGES (default build/images; `make test-node-smoke`
# builds them). Prints timings and the RSS of the whole node.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# Outside the tree (mounts live under it while the node runs), one per checkout.
export SAQR_CLUSTER_DIR="${SAQR_CLUSTER_DIR:-${TMPDIR:-/tmp}/saqr-node-smoke-$(printf %s "$root" | cksum | cut -d' ' -f1)}"
export SAQR_IMAGES="${SAQR_IMAGES:-$root/build/images}"
dir=$SAQR_CLUSTER_DIR
lc="$root/hack/local-cluster.sh"
sysctls=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
	kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.ipv4.ip_forward)
fails=0

log() { echo "node-smoke: $*" >&2; }
fail() {
	log "FAIL: $*"
	fails=$((fails + 1))
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}'; }
sysctl_state() { for k in "${sysctls[@]}"; do echo "$k=$(sysctl -n "$k")"; done; }
# Host paths the kubelet, libcni and containerd hard-code (another instance may hold some).
host_paths() { ls -d /var/lib/kubelet /var/log/containers /run/containerd /var/lib/cni/results/* 2>/dev/null || true; }

[ "$(id -u)" = 0 ] || { log "needs root"; exit 1; }
bindir=$("$root/hack/tools.sh" bindir node)
kubectl() { "$bindir/kubectl" "$@"; }

"$lc" down >/dev/null 2>&1 || true
before=$(sysctl_state)
paths_before=$(host_paths)
trap '"$lc" down >/dev/null 2>&1 || true' EXIT

t=$(now)
eval "$("$lc" node-up)"
t_up=$(since "$t")
# shellcheck disable=SC1091
. "$dir/node.env"
log "node Ready in ${t_up}s (bridge $node_bridge, $node_subnet)"

# The model server: a hardened Deployment serving its model's /metrics over TLS.
tls=$(mktemp -d)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=model \
	-keyout "$tls/tls.key" -out "$tls/tls.crt" >/dev/null 2>&1
kubectl create secret tls model-tls --cert "$tls/tls.crt" --key "$tls/tls.key" >/dev/null
rm -rf "$tls"
kubectl create configmap model --from-literal=metrics='saqr_inference_requests_total{code="200"} 42
saqr_model_quality 0.93
' >/dev/null
t=$(now)
kubectl apply -f - >/dev/null <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: model, labels: {app: model}}
spec:
  replicas: 1
  selector: {matchLabels: {app: model}}
  template:
    metadata: {labels: {app: model}}
    spec:
      automountServiceAccountToken: false
      securityContext: {runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: server
        image: saqr.local/saqr-demo-server:dev
        imagePullPolicy: Never
        args: [--address, 0.0.0.0, --port, "8443", --metrics, /model/metrics,
               --cert-file, /tls/tls.crt, --key-file, /tls/tls.key]
        ports: [{containerPort: 8443}]
        readinessProbe:
          httpGet: {path: /metrics, port: 8443, scheme: HTTPS}
          periodSeconds: 1
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL]}
        volumeMounts:
        - {name: model, mountPath: /model, readOnly: true}
        - {name: tls, mountPath: /tls, readOnly: true}
      volumes:
      - {name: model, configMap: {name: model}}
      - {name: tls, secret: {secretName: model-tls}}
YAML
if kubectl wait --for=condition=Available deployment/model --timeout=120s >/dev/null; then
	t_avail=$(since "$t")
	log "Deployment model Available in ${t_avail}s"
	ip=$(kubectl get pod -l app=model -o jsonpath='{.items[0].status.podIP}')
	body=$(curl -sk --max-time 5 "https://$ip:8443/metrics" || true)
	grep -q 'saqr_model_quality 0.93' <<<"$body" && log "GET https://$ip:8443/metrics from the host: ok" ||
		fail "the model server at $ip did not answer its metrics over TLS: $body"
else
	fail "Deployment model not Available"
	kubectl describe pod -l app=model | tail -20 >&2
fi

# The trainer: an Indexed Job of 2 pods with the rank environment a TrainingJob gives them.
t=$(now)
kubectl apply -f - >/dev/null <<'YAML'
apiVersion: batch/v1
kind: Job
metadata: {name: train}
spec:
  completionMode: Indexed
  completions: 2
  parallelism: 2
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      automountServiceAccountToken: false
      securityContext: {runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: trainer
        image: saqr.local/saqr-demo-trainer:dev
        imagePullPolicy: Never
        args: [--output, /out/model.bin]
        env:
        - {name: MASTER_ADDR, value: train-0.train}
        - {name: MASTER_PORT, value: "29500"}
        - {name: WORLD_SIZE, value: "2"}
        - {name: NNODES, value: "2"}
        - name: NODE_RANK
          valueFrom: {fieldRef: {fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}
        - {name: PET_MASTER_ADDR, value: train-0.train}
        - {name: PET_MASTER_PORT, value: "29500"}
        - {name: PET_NNODES, value: "2"}
        - name: PET_NODE_RANK
          valueFrom: {fieldRef: {fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL]}
        volumeMounts: [{name: out, mountPath: /out}]
      volumes: [{name: out, emptyDir: {}}]
YAML
if kubectl wait --for=condition=Complete job/train --timeout=120s >/dev/null; then
	log "Indexed Job train Complete in $(since "$t")s"
	for i in 0 1; do
		pod=$(kubectl get pod -l "batch.kubernetes.io/job-completion-index=$i,job-name=train" -o jsonpath='{.items[0].metadata.name}')
		out=$(kubectl logs "$pod")
		grep -q "^sha256=[0-9a-f]\{64\} path=/out/model.bin rank=$i world=2$" <<<"$out" &&
			log "rank $i: $(tail -1 <<<"$out")" || fail "rank $i logs: $out"
	done
	# The report a TrainingJob's promotion reads: rank 0's termination message.
	pod=$(kubectl get pod -l "batch.kubernetes.io/job-completion-index=0,job-name=train" -o jsonpath='{.items[0].metadata.name}')
	msg=$(kubectl get pod "$pod" -o jsonpath='{.status.containerStatuses[0].state.terminated.message}')
	grep -q '^{"output":{"digest":"sha256:[0-9a-f]\{64\}"}}$' <<<"$msg" &&
		log "rank 0 termination message: $msg" || fail "rank 0 termination message: $msg"
else
	fail "Job train not Complete"
	kubectl describe job train | tail -15 >&2
	kubectl logs -l job-name=train --tail 20 >&2 || true
fi

# RSS of the whole node: its processes and everything in its cgroup.
pids=$( (find /sys/fs/cgroup/*/"$node_cgroup" -name cgroup.procs -exec cat {} + 2>/dev/null
	for p in /proc/[0-9]*; do tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF "$dir/" && echo "${p#/proc/}"; done) | sort -u || true)
rss=0
for p in $pids; do
	kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
	rss=$((rss + ${kb:-0}))
done
log "RSS of the node: $((rss / 1024)) MiB in $(wc -w <<<"$pids") processes"
for p in $pids; do printf '%s %s\n' "$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null)" "$(cat "/proc/$p/comm" 2>/dev/null)"; done |
	awk '{s[$2] += $1} END {for (c in s) printf "  %-16s %6.1f MiB\n", c, s[c] / 1024}' | sort -k2 -rn >&2

# Teardown, then nothing may be left.
t=$(now)
"$lc" down
trap - EXIT
log "teardown in $(since "$t")s"
left=$(for p in /proc/[0-9]*; do tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF "$dir/" && echo "${p#/proc/} $(cat "$p/comm" 2>/dev/null)"; done || true)
[ -z "$left" ] || fail "processes left: $left"
grep -qF " $dir" /proc/self/mountinfo && fail "mounts left: $(grep -F " $dir" /proc/self/mountinfo)"
ip link show "$node_bridge" >/dev/null 2>&1 && fail "bridge $node_bridge left"
ls -d /sys/fs/cgroup/*/"$node_cgroup" >/dev/null 2>&1 && fail "cgroups left: $(ls -d /sys/fs/cgroup/*/"$node_cgroup")"
paths_after=$(host_paths)
[ "$paths_before" = "$paths_after" ] ||
	fail "host paths left: $(diff <(echo "$paths_before") <(echo "$paths_after") | grep '^>' | tr '\n' ' ')"
[ -d "$dir" ] && fail "$dir left"
after=$(sysctl_state)
[ "$before" = "$after" ] || fail "sysctls differ: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | tr '\n' ' ')"
if [ "$fails" -eq 0 ]; then
	log "PASS (node up ${t_up}s, Deployment Available ${t_avail:-?}s)"
else
	log "$fails failure(s)"
	exit 1
fi
