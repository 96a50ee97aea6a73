#!/usr/bin/env bash
# `make demo-apiserver`: Saqr's main job on a local control plane without a node (no root
# needed), step by step. `make demo` (hack/demo.sh) is the same walk-through on a real node.
#   hack/demo-apiserver.sh up     start the control plane, saqr-webhook and saqr-operator, then walk through
#   hack/demo-apiserver.sh down   stop everything `up` started
# State (logs, certificates, pid files) lives in $SAQR_DEMO_DIR (default /tmp/saqr-demo-apiserver-$UID).
# There is no kubelet or controller-manager here: the demo plays their part by patching the
# status of Deployments and Jobs, and says so when it does.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir="${SAQR_DEMO_DIR:-${TMPDIR:-/tmp}/saqr-demo-apiserver-$(id -u)}"
export SAQR_CLUSTER_DIR="$dir/cluster"
ns=ml
# shellcheck source=hack/demo-lib.sh
. "$root/hack/demo-lib.sh"
kubectl() { "$tools/kubectl" "$@"; }

start_bg() { # name logfile cmd...
	local name=$1 log=$2
	shift 2
	"$@" >"$log" 2>&1 &
	echo $! >"$dir/$name.pid"
}

stop_bg() {
	local pid
	[ -f "$dir/$1.pid" ] || return 0
	pid=$(cat "$dir/$1.pid")
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
	kill -9 "$pid" 2>/dev/null || true
	rm -f "$dir/$1.pid"
}

free_port() { # below the ephemeral range, as hack/local-cluster.sh's (outgoing connections use it)
	local p lo
	lo=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	[ "$lo" -gt 21000 ] || lo=60000
	while :; do
		p=$((20000 + RANDOM % (lo - 20000)))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}

# ---- setup ----------------------------------------------------------------------------------

start_cluster() {
	step "Local control plane: etcd and kube-apiserver $("$tools/kube-apiserver" --version | awk '{print $2}') on 127.0.0.1"
	eval "$("$root/hack/local-cluster.sh" up)"
	export KUBECONFIG
	show kubectl get --raw /readyz
}

install_crds() {
	step "Install the CRDs"
	show kubectl apply --server-side -f "$root/crds/"
	kubectl wait --for condition=Established --timeout=60s crd --all >/dev/null
}

start_webhook() {
	step "Start saqr-webhook (HTTPS on 127.0.0.1) with the default policy, and register it"
	"$root/hack/webhook-certs.sh" --out "$dir/certs" --ip 127.0.0.1 >"$dir/cabundle"
	# The ITSM webhook of step 4 (saqr-demo-server), started now so that the policy can list it:
	# the default policy wants https sinks, or the endpoint in zeroTrust.allowedEndpoints.
	: >"$dir/sink.jsonl"
	start_bg sink "$dir/sink.log" "$root/build/rel/tools/saqr-demo-server" --record "$dir/sink.jsonl"
	until_ok 10 grep -q port= "$dir/sink.log"
	sport=$(sed -n 's/^port=//p' "$dir/sink.log")
	sed "s#^    allowedEndpoints: \[\]#    allowedEndpoints: [\"http://127.0.0.1:$sport/hooks/\"]#" \
		"$root/manifests/policy/default.yaml" >"$dir/policy.yaml"
	note "the default policy, with the demo's ITSM webhook in zeroTrust.allowedEndpoints: http://127.0.0.1:$sport/hooks/"
	wport=$(free_port)
	wmport=$(free_port)
	start_bg webhook "$dir/webhook.log" "$root/bin/saqr-webhook" --cert-file "$dir/certs/tls.crt" \
		--key-file "$dir/certs/tls.key" --policy-file "$dir/policy.yaml" \
		--address 127.0.0.1 --port "$wport" --metrics-port "$wmport"
	until_ok 30 curl -fsS "http://127.0.0.1:$wmport/readyz" || { tail -20 "$dir/webhook.log" >&2; exit 1; }
	note "saqr-webhook ready on https://127.0.0.1:$wport (metrics on :$wmport, log $dir/webhook.log)"
	kubectl patch --local -f "$root/manifests/webhook/validatingwebhookconfiguration.yaml" --type=json -o yaml \
		-p "[{\"op\":\"replace\",\"path\":\"/webhooks/0/clientConfig\",\"value\":{\"url\":\"https://127.0.0.1:$wport/validate\",\"caBundle\":\"$(cat "$dir/cabundle")\"}}]" \
		>"$dir/vwc.yaml"
	show kubectl apply -f "$dir/vwc.yaml"
}

start_operator() {
	step "Start saqr-operator as a local process"
	local kc
	# The operator's own identity, which the default policy exempts (its objects are judged
	# through the ModelDeployment or TrainingJob that asked for them).
	kc=$("$root/hack/local-cluster.sh" user system:serviceaccount:saqr-system:saqr-operator system:masters)
	oport=$(free_port)
	# Everything here is on loopback (the model's metrics, the ITSM webhook), which the operator
	# refuses to reach unless told.
	start_bg operator "$dir/operator.log" "$root/bin/saqr-operator" --kubeconfig "$kc" \
		--metrics-port "$oport" --log-level info --allow-outbound-loopback
	until_ok 60 curl -fsS "http://127.0.0.1:$oport/readyz" || { tail -20 "$dir/operator.log" >&2; exit 1; }
	note "saqr-operator ready (metrics on http://127.0.0.1:$oport/metrics, log $dir/operator.log)"
}

# ---- the walk-through -----------------------------------------------------------------------

admit_samples() {
	step "1. A compliant ModelDeployment and TrainingJob are admitted and reconciled (the DriftPolicy joins in step 4)"
	kubectl create namespace "$ns" >/dev/null
	kubectl -n "$ns" create secret generic itsm-webhook --from-literal=hmacKey=demo-signing-key >/dev/null
	show kubectl -n "$ns" apply -f "$root/manifests/samples/modeldeployment.yaml" \
		-f "$root/manifests/samples/trainingjob.yaml"
	until_ok 30 kubectl -n "$ns" get deployment fraud-detector
	until_ok 30 kubectl -n "$ns" get job fraud-detector-train
	note "what saqr-operator made (server-side apply, owned by the custom resources):"
	show kubectl -n "$ns" get deployments,services,horizontalpodautoscalers,networkpolicies,poddisruptionbudgets,jobs \
		-l app.kubernetes.io/managed-by=saqr-operator
	show kubectl -n "$ns" get md,tj
}

refuse_bad() {
	step "2. A non-compliant ModelDeployment and a privileged Pod are refused"
	note "image by tag, model bucket in Google Cloud's Doha region, no classification label, no TLS:"
	show kubectl -n "$ns" apply -f - <<'EOF' || true
apiVersion: saqr.dev/v1alpha1
kind: ModelDeployment
metadata:
  name: churn
  labels:
    saqr.dev/data-residency: uae
    saqr.dev/owner: growth-ml
spec:
  model:
    name: churn
    version: v1
    format: sklearn
    uri: gs://churn-models/v1/model.pkl
  server:
    image: docker.io/library/python:latest
  storage:
    provider: gcp
    region: me-central1
EOF
	note "a privileged Pod with hostPath and the default ServiceAccount:"
	show kubectl -n "$ns" apply -f - <<'EOF' || true
apiVersion: v1
kind: Pod
metadata:
  name: debug
spec:
  containers:
  - name: shell
    image: busybox
    securityContext:
      privileged: true
    volumeMounts:
    - {name: host, mountPath: /host}
  volumes:
  - name: host
    hostPath: {path: /}
EOF
}

# The Job's pod of completion index 0, made from the Job's template as the Job controller would,
# and its trainer's exit as the kubelet would report it: the termination message carries the
# trained model's digest, which the promotion pins in the ModelDeployment.
trainer_reports() {
	local job=fraud-detector-train pod=fraud-detector-train-0-demo labels annotations uid msg
	local digest=sha256:3f0a1c4e5b6d7a8f9e0d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a6f7e8d9c0b1a2f
	uid=$(jsonpath job "$job" '{.metadata.uid}')
	labels=$(jsonpath job "$job" '{.spec.template.metadata.labels}')
	annotations=$(jsonpath job "$job" '{.spec.template.metadata.annotations}')
	[ -n "$annotations" ] || annotations='{}'
	labels="${labels%\}}$([ "$labels" = "{}" ] || echo ,)\"batch.kubernetes.io/job-name\":\"$job\",\"batch.kubernetes.io/job-completion-index\":\"0\"}"
	annotations="${annotations%\}}$([ "$annotations" = "{}" ] || echo ,)\"batch.kubernetes.io/job-completion-index\":\"0\"}"
	kubectl -n "$ns" create -f - >/dev/null <<JSON
{"apiVersion": "v1", "kind": "Pod",
 "metadata": {"name": "$pod", "labels": $labels, "annotations": $annotations,
              "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "$job", "uid": "$uid",
                                   "controller": true, "blockOwnerDeletion": true}]},
 "spec": $(jsonpath job "$job" '{.spec.template.spec}')}
JSON
	msg="{\\\"output\\\":{\\\"uri\\\":\\\"$(jsonpath tj "$job" '{.spec.output.uri}')\\\",\\\"digest\\\":\\\"$digest\\\"}}"
	note "the trainer of completion index 0 reports its output's digest in its termination message:"
	show kubectl -n "$ns" patch pod "$pod" --subresource=status --type=merge -p \
		"{\"status\":{\"phase\":\"Succeeded\",\"containerStatuses\":[{\"name\":\"trainer\",\"ready\":false,\"restartCount\":0,\"image\":\"trainer\",\"imageID\":\"\",\"state\":{\"terminated\":{\"exitCode\":0,\"reason\":\"Completed\",\"message\":\"$msg\"}}}]}}"
}

play_controllers() {
	step "3. Playing the missing controllers: the Deployment becomes available, the Job succeeds"
	local gen
	note "(no kubelet or kube-controller-manager here: the demo patches their status, as they would)"
	gen=$(jsonpath deployment fraud-detector '{.metadata.generation}')
	show kubectl -n "$ns" patch deployment fraud-detector --subresource=status --type=merge -p \
		"{\"status\":{\"observedGeneration\":$gen,\"replicas\":2,\"updatedReplicas\":2,\"readyReplicas\":2,\"availableReplicas\":2,\"conditions\":[{\"type\":\"Available\",\"status\":\"True\",\"reason\":\"MinimumReplicasAvailable\",\"message\":\"Deployment has minimum availability.\"},{\"type\":\"Progressing\",\"status\":\"True\",\"reason\":\"NewReplicaSetAvailable\",\"message\":\"ReplicaSet has successfully progressed.\"}]}}"
	until_ok 30 cond_is md fraud-detector Ready True
	show kubectl -n "$ns" get md fraud-detector
	local now
	now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	trainer_reports
	show kubectl -n "$ns" patch job fraud-detector-train --subresource=status --type=merge -p \
		"{\"status\":{\"startTime\":\"$now\",\"completionTime\":\"$now\",\"succeeded\":2,\"conditions\":[{\"type\":\"SuccessCriteriaMet\",\"status\":\"True\",\"reason\":\"CompletionsReached\"},{\"type\":\"Complete\",\"status\":\"True\",\"reason\":\"CompletionsReached\"}]}}"
	until_ok 30 cond_is tj fraud-detector-train Succeeded True
	show kubectl -n "$ns" get tj fraud-detector-train
	note "promotion: the TrainingJob's output became the ModelDeployment's model"
	until_ok 30 '[ "$(jsonpath md fraud-detector {.spec.model.version})" = "$(jsonpath tj fraud-detector-train {.spec.promote.version})" ]'
	show kubectl -n "$ns" get md fraud-detector -o "jsonpath={.spec.model}{'\n'}"
	gen=$(jsonpath deployment fraud-detector '{.metadata.generation}')
	kubectl -n "$ns" patch deployment fraud-detector --subresource=status --type=merge -p \
		"{\"status\":{\"observedGeneration\":$gen}}" >/dev/null
	until_ok 30 '[ "$(jsonpath md fraud-detector {.status.currentModel.version})" = "$(jsonpath md fraud-detector {.spec.model.version})" ]'
	show kubectl -n "$ns" get md fraud-detector -o "jsonpath={range .status.history[*]}{.version} {.uri}{'\n'}{end}"
}

metrics_text() { # amount-bucket counts (5) and channel counts (3)
	local a=($1) c=($2) le=(50 200 1000 5000 +Inf) cum=0 i
	echo "# TYPE saqr_feature_value histogram"
	for i in 0 1 2 3 4; do
		cum=$((cum + a[i]))
		echo "saqr_feature_value_bucket{feature=\"amount_aed\",le=\"${le[i]}\"} $cum"
	done
	echo "saqr_feature_value_sum{feature=\"amount_aed\"} 0"
	echo "saqr_feature_value_count{feature=\"amount_aed\"} $cum"
	echo "# TYPE saqr_feature_category_total counter"
	echo "saqr_feature_category_total{feature=\"channel\",value=\"card\"} ${c[0]}"
	echo "saqr_feature_category_total{feature=\"channel\",value=\"wallet\"} ${c[1]}"
	echo "saqr_feature_category_total{feature=\"channel\",value=\"transfer\"} ${c[2]}"
	echo "# TYPE saqr_inference_latency_seconds histogram"
	echo "saqr_inference_latency_seconds_bucket{le=\"0.05\"} $((cum * 9 / 10))"
	echo "saqr_inference_latency_seconds_bucket{le=\"0.1\"} $cum"
	echo "saqr_inference_latency_seconds_bucket{le=\"+Inf\"} $cum"
	echo "saqr_inference_latency_seconds_sum 1"
	echo "saqr_inference_latency_seconds_count $cum"
	echo "# TYPE saqr_inference_requests_total counter"
	echo "saqr_inference_requests_total{code=\"200\"} $cum"
	echo "# TYPE saqr_model_quality gauge"
	echo "saqr_model_quality 0.95"
}

# One second of requests at a time, added to the cumulative counters of the model's /metrics,
# shaped like the baseline or drifted ($dir/traffic.mode). Runs in the background.
traffic() {
	local a=(0 0 0 0 0) c=(0 0 0) step_a step_c i
	while [ -f "$dir/traffic.mode" ]; do
		if [ "$(cat "$dir/traffic.mode" 2>/dev/null)" = drift ]; then
			step_a=(28 61 76 141 73) step_c=(122 223 25)
		else
			step_a=(18 41 26 11 3) step_c=(62 23 15)
		fi
		for i in 0 1 2 3 4; do a[i]=$((a[i] + step_a[i])); done
		for i in 0 1 2; do c[i]=$((c[i] + step_c[i])); done
		metrics_text "${a[*]}" "${c[*]}" >"$dir/metrics.tmp" && mv "$dir/metrics.tmp" "$dir/metrics.txt"
		sleep 1
	done
}

drift() {
	step "4. A drift appears in the model's metrics"
	local mport
	metrics_text "0 0 0 0 0" "0 0 0" >"$dir/metrics.txt"
	# The model serves TLS (security.tlsSecretName): its certificate, and the Secret the
	# DriftPolicy reads the CA from.
	"$root/hack/webhook-certs.sh" --service fraud-detector --namespace "$ns" --out "$dir/model-certs" \
		--ip 127.0.0.1 >/dev/null
	kubectl -n "$ns" create secret generic fraud-detector-tls --from-file=tls.crt="$dir/model-certs/tls.crt" \
		--from-file=tls.key="$dir/model-certs/tls.key" --from-file=ca.crt="$dir/model-certs/ca.crt" >/dev/null
	start_bg model "$dir/model.log" "$root/build/rel/tools/saqr-demo-server" --metrics "$dir/metrics.txt"
	until_ok 10 grep -q port= "$dir/model.log"
	mport=$(sed -n 's/^port=//p' "$dir/model.log")
	note "saqr-demo-server plays the saqr-agent's /metrics (plain HTTP, 127.0.0.1:$mport) and an ITSM webhook (127.0.0.1:$sport)"
	note "the model's pods are an EndpointSlice of its Service; the API server refuses loopback"
	note "addresses, so it names model.localhost, which resolves to 127.0.0.1 without DNS"
	endpointslice "$mport" | kubectl -n "$ns" apply -f - >/dev/null 2>&1
	sed -e "s#interval: 10m#interval: 5s#" -e "s#port: 9090#port: $mport#" -e "s#cooldown: 2h#cooldown: 1h#" \
		-e "s#https://itsm.example.ae/hooks/saqr#http://127.0.0.1:$sport/hooks/saqr#" \
		"$root/manifests/samples/driftpolicy.yaml" >"$dir/driftpolicy.yaml"
	note "the sample DriftPolicy, with a 5s interval and the local receiver as its webhook sink:"
	show kubectl -n "$ns" apply -f "$dir/driftpolicy.yaml"
	note "traffic shaped like the baseline: no drift"
	echo baseline >"$dir/traffic.mode"
	traffic &
	echo $! >"$dir/traffic.pid"
	until_ok 60 '[ -n "$(jsonpath dp fraud-detector-drift {.status.features[0].score})" ]'
	show kubectl -n "$ns" get dp fraud-detector-drift
	note "now large amounts dominate and wallets take over: the next window drifts"
	echo drift >"$dir/traffic.mode"
	until_ok 90 cond_is dp fraud-detector-drift DriftDetected True
	show kubectl -n "$ns" get dp fraud-detector-drift
	show kubectl -n "$ns" get dp fraud-detector-drift -o "jsonpath=$features_fmt"
	show kubectl -n "$ns" get dp fraud-detector-drift -o "jsonpath=$incidents_fmt"
	until_ok 60 test -s "$dir/sink.jsonl"
	note "what the ITSM webhook received (signed with X-Saqr-Signature-256):"
	head -c 700 "$dir/sink.jsonl" | sed 's/^/  /'
	echo
	note "the retraining TrainingJob, the rolled-back model, and the Events:"
	show kubectl -n "$ns" get tj
	show kubectl -n "$ns" get md fraud-detector -o "jsonpath={.spec.model.version}{'\n'}"
	show kubectl -n "$ns" get events --field-selector involvedObject.name=fraud-detector-drift -o \
		"custom-columns=TYPE:.type,REASON:.reason,MESSAGE:.message"
}

endpointslice() { # port
	cat <<EOF
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: fraud-detector-demo
  labels:
    kubernetes.io/service-name: fraud-detector
addressType: FQDN
ports:
- name: http
  port: $1
  protocol: TCP
endpoints:
- addresses: ["model.localhost"]
  conditions: {ready: true}
EOF
}

cmd_up() {
	mkdir -p "$dir"
	tools=$("$root/hack/tools.sh" bindir)
	[ -x "$root/bin/saqr-operator" ] && [ -x "$root/bin/saqr-webhook" ] || { echo "demo: run 'make demo' (it builds first)" >&2; exit 1; }
	cmd_down >/dev/null 2>&1 || true
	mkdir -p "$dir"
	start_cluster
	install_crds
	start_webhook
	start_operator
	admit_samples
	refuse_bad
	play_controllers
	drift
	step "Done. Saqr keeps running; explore with:"
	echo "  export KUBECONFIG=$KUBECONFIG PATH=$tools:\$PATH"
	echo "  kubectl -n $ns get md,tj,dp; kubectl -n $ns describe md fraud-detector"
	echo "  logs: $dir/operator.log $dir/webhook.log; stop everything with: make demo-down"
}

cmd_down() {
	rm -f "$dir/traffic.mode"
	stop_bg traffic
	stop_bg sink
	stop_bg model
	stop_bg operator
	stop_bg webhook
	"$root/hack/local-cluster.sh" down >/dev/null 2>&1 || true
	rm -rf "$dir"
	echo "demo: stopped"
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
*) sed -n '2,8p' "$0" >&2; exit 2 ;;
esac
