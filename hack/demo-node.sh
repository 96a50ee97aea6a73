# shellcheck shell=bash
# The walk-through of `make demo` on a real node, one function per step (sourced by hack/demo.sh,
# which prints it, and tests/e2e/demo.sh, which asserts after each step). Nothing is played:
# the kubelet runs the pods, the Job controller completes the Job, saqr-agent counts real
# inference requests, the DriftPolicy scrapes the pods through their EndpointSlice.
# The caller has the node up with Saqr installed (tests/e2e/lib.sh: e2e_node_up,
# e2e_helm_install), defines kubectl, and sets root, node_gw, node_sock, and demo_dir (the
# demo's files; under the node's directory, so that node down removes them).
# Background processes (the ITSM sink, the traffic) are recorded in $demo_dir/*.pid and
# appended to e2e_bg_pids (which e2e_down kills).

ns=ml
# shellcheck source=hack/demo-lib.sh
. "$root/hack/demo-lib.sh"

demo_bg() { # name logfile cmd...: start in the background, record its pid
	local name=$1 log=$2
	shift 2
	"$@" >"$log" 2>&1 8>&- 9>&- &
	echo $! >"$demo_dir/$name.pid"
	e2e_bg_pids="${e2e_bg_pids:-} $!"
}

demo_stop_bg() { # stop what demo_bg started (a later shell: make demo-down)
	local f pid
	rm -f "$demo_dir/traffic.mode"
	for f in "$demo_dir"/*.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
		rm -f "$f"
	done
}

# The sample in manifests/samples with a JSON merge patch: what the demo changes is printed.
demo_sample() { # file patch-json
	kubectl patch --local -f "$root/manifests/samples/$1" --type merge -p "$2" -o yaml
}

small_resources='{"requests": {"cpu": "20m", "memory": "16Mi"}, "limits": {"cpu": null, "memory": "64Mi", "nvidia.com/gpu": null}}'

demo_images() { # the local images, pinned by the digest containerd knows (zeroTrust.imageDigest)
	server_image=$(e2e_pinned saqr.local/saqr-demo-server:dev)
	trainer_image=$(e2e_pinned saqr.local/saqr-demo-trainer:dev)
}

# ---- 0. Saqr ------------------------------------------------------------------------------

# Saqr by its Helm chart (one replica each), with the agent and fetch images pinned, and a policy
# that lets DriftPolicies notify the demo's ITSM webhook over plain http (the default policy
# wants https sinks, or the endpoint listed in zeroTrust.allowedEndpoints).
demo_install() { # [extra helm arguments]
	step "Install Saqr with its Helm chart into saqr-system (the images built here, imported into containerd)"
	demo_images
	demo_sink_start
	note "the ITSM webhook the DriftPolicy will notify: saqr-demo-server on the node's address"
	note "http://$node_gw:$sink_port (the operator refuses loopback and the API server's own address:port,"
	note "not other ports of the node); the chart's policy lists it in spec.zeroTrust.allowedEndpoints"
	e2e_helm_install --set webhook.replicas=1 --set operator.replicas=1 \
		--set "operator.agentImage.digest=$(e2e_pinned saqr.local/saqr-agent:dev | cut -d@ -f2)" \
		--set "operator.fetchImage.digest=$(e2e_pinned saqr.local/saqr-fetch:dev | cut -d@ -f2)" \
		--set "policy.spec.zeroTrust.allowedEndpoints[0]=http://$node_gw:$sink_port/hooks/" \
		--set reports.installCRDs=true \
		--set "operator.extraArgs[0]=--trusted-keys-secret=model-signing-keys" "$@"
	show kubectl -n saqr-system get pods -o wide
}

# ---- 1. the ModelDeployment ---------------------------------------------------------------

# What the ModelDeployment's pods need before they exist: ServiceAccounts, the TLS Secret the
# agent serves with, the agent's configuration (the two features the DriftPolicy watches, at
# its baseline's bin edges), and the ITSM webhook's signing key.
demo_prepare_namespace() {
	kubectl create namespace "$ns" >/dev/null
	kubectl -n "$ns" create serviceaccount fraud-detector >/dev/null
	kubectl -n "$ns" create serviceaccount fraud-detector-trainer >/dev/null
	"$root/hack/webhook-certs.sh" --service fraud-detector --namespace "$ns" --out "$demo_dir/model-certs" \
		--ip 127.0.0.1 >/dev/null
	kubectl -n "$ns" create secret generic fraud-detector-tls --type kubernetes.io/tls \
		--from-file=tls.crt="$demo_dir/model-certs/tls.crt" --from-file=tls.key="$demo_dir/model-certs/tls.key" \
		--from-file=ca.crt="$demo_dir/model-certs/ca.crt" >/dev/null
	kubectl -n "$ns" create secret generic itsm-webhook --from-literal=hmacKey=demo-signing-key >/dev/null
	# The model signing key pair: the trainer signs its output with the private key (a Secret in
	# its env), saqr-fetch verifies with the public one (--trusted-keys-secret=model-signing-keys).
	mkdir -p "$demo_dir/keys"
	openssl ecparam -name prime256v1 -genkey -noout -out "$demo_dir/keys/signing.pem" 2>/dev/null
	openssl ec -in "$demo_dir/keys/signing.pem" -pubout -out "$demo_dir/keys/signing.pub" 2>/dev/null
	kubectl -n "$ns" create secret generic model-signing-keys --from-file=signing.pub="$demo_dir/keys/signing.pub" >/dev/null
	kubectl -n "$ns" create secret generic model-signing-key --from-file=signing.pem="$demo_dir/keys/signing.pem" >/dev/null
	kubectl -n "$ns" create configmap fraud-detector-agent --from-file=agent.yaml=/dev/stdin >/dev/null <<'YAML'
features:
  - {name: amount_aed, type: numerical, edges: [50, 200, 1000, 5000], index: 0}
  - {name: channel, type: categorical, categories: [card, wallet, transfer], index: 1}
predictions: {name: fraud_score, type: numerical, edges: [0.25, 0.5, 0.75]}
YAML
}

# The model store: a PersistentVolume (a directory of the node, under the node's own directory)
# bound to the claim fraud-models, with the model file v3 and an empty v4/ for the TrainingJob's
# output (rank 0 writes it through the claim, which Saqr mounts). saqr-fetch copies the model
# from the claim and verifies its sha256 (pvc:// is in the cluster: residency is the placement).
demo_model_store() {
	local v
	mkdir -p "$demo_dir/models"
	mkdir -p "$demo_dir/models/v3" "$demo_dir/models/v4"
	awk 'BEGIN {printf "saqr demo fraud-detector model v3\n"; for (i = 0; i < 4096; i++) printf "%c", 33 + (i * 7 + 2) % 90}' \
		>"$demo_dir/models/v3/model.onnx"
	chmod -R a+rX "$demo_dir/models"
	# v4 is what the TrainingJob writes: its pods mount the claim and run as the images' user
	chown 65532:65532 "$demo_dir/models/v4"
	model_digest_v3="sha256:$(sha256sum "$demo_dir/models/v3/model.onnx" | cut -d' ' -f1)"
	kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: PersistentVolume
metadata: {name: fraud-models-$ns}
spec:
  capacity: {storage: 16Mi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: saqr-demo-models
  hostPath: {path: $demo_dir/models, type: Directory}
  claimRef: {namespace: $ns, name: fraud-models}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: fraud-models, namespace: $ns}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: saqr-demo-models
  resources: {requests: {storage: 16Mi}}
  volumeName: fraud-models-$ns
YAML
	until_ok 30 '[ "$(jsonpath pvc fraud-models {.status.phase})" = Bound ]'
}

demo_modeldeployment() {
	step "1. The sample ModelDeployment is admitted; its pods run: saqr-fetch, then saqr-demo-server behind the saqr-agent sidecar"
	demo_prepare_namespace
	demo_model_store
	note "the model store: the claim fraud-models (a PersistentVolume on the node) holds v3/model.onnx (v4/ is for the TrainingJob)"
	show kubectl -n "$ns" get pvc fraud-models
	note "manifests/samples/modeldeployment.yaml with the local images (pinned by digest), small resources,"
	note "2 replicas instead of the HPA (no metrics-server here), the agent's feature configuration, and the"
	note "model on that claim (pvc://fraud-models/v3/model.onnx, its sha256) instead of Azure Blob Storage,"
	note "which this machine cannot reach; saqr-fetch copies it into each pod and verifies the digest."
	demo_sample modeldeployment.yaml "{\"spec\": {\"model\": {\"uri\": \"pvc://fraud-models/v3/model.onnx\",
		\"digest\": \"$model_digest_v3\"}, \"storage\": null, \"server\": {\"image\": \"$server_image\",
		\"args\": [\"--address\", \"0.0.0.0\", \"--port\", \"8080\"], \"resources\": $small_resources},
		\"agent\": {\"config\": \"fraud-detector-agent\", \"resources\": $small_resources},
		\"fetch\": {\"maxBytes\": 1048576, \"resources\": $small_resources},
		\"autoscaling\": null, \"replicas\": 2}}" >"$demo_dir/modeldeployment.yaml"
	show kubectl -n "$ns" apply -f "$demo_dir/modeldeployment.yaml"
	until_ok 30 kubectl -n "$ns" get deployment fraud-detector
	note "what saqr-operator made (server-side apply, owned by the ModelDeployment):"
	show kubectl -n "$ns" get deployments,services,networkpolicies,poddisruptionbudgets -l app.kubernetes.io/managed-by=saqr-operator
	kubectl -n "$ns" rollout status deployment/fraud-detector --timeout=90s >/dev/null
	until_ok 60 cond_is md fraud-detector Ready True
	note "the kubelet runs them: the model server and saqr-agent (TLS on 8443, metrics on 9090) in each pod"
	show kubectl -n "$ns" get replicasets,pods -o wide -l app.kubernetes.io/instance=fraud-detector
	note "saqr-fetch in one of them:"
	kubectl -n "$ns" logs "$(kubectl -n "$ns" get pods -l app.kubernetes.io/instance=fraud-detector -o name | head -1)" \
		-c saqr-fetch 2>&1 | cut -c1-220 | sed 's/^/  /'
	show kubectl -n "$ns" get md fraud-detector -o \
		"jsonpath={range .status.conditions[*]}{.type}={.status} {.reason}: {.message}{'\n'}{end}"
	show kubectl -n "$ns" get md fraud-detector
}

# ---- 2. refusals --------------------------------------------------------------------------

demo_refusals() {
	step "2. A non-compliant ModelDeployment and a privileged Pod are refused by saqr-webhook (a pod, behind its Service)"
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
  model: {name: churn, version: v1, format: sklearn, uri: gs://churn-models/v1/model.pkl}
  server: {image: docker.io/library/python:latest}
  storage: {provider: gcp, region: me-central1}
EOF
	note "a privileged Pod with hostPath and the default ServiceAccount:"
	show kubectl -n "$ns" apply -f - <<'EOF' || true
apiVersion: v1
kind: Pod
metadata: {name: debug}
spec:
  containers:
  - name: shell
    image: busybox
    securityContext: {privileged: true}
    volumeMounts: [{name: host, mountPath: /host}]
  volumes: [{name: host, hostPath: {path: /}}]
EOF
}

# ---- 3. training and promotion ------------------------------------------------------------

demo_training() {
	step "3. The sample TrainingJob trains on 2 pods, succeeds, and promotes its model (v3 -> v4): a new ReplicaSet rolls out"
	note "manifests/samples/trainingjob.yaml with saqr-demo-trainer (it checks the rank environment), small"
	note "resources, and its output on the model claim: Saqr mounts the claim at /var/run/saqr/output, rank 0"
	note "writes v4/model.onnx there (SAQR_OUTPUT_PATH), signs it (OMS, the key from the Secret"
	note "model-signing-key in its env) into v4/model.sig, and reports both in its termination message"
	demo_sample trainingjob.yaml "{\"spec\": {\"image\": \"$trainer_image\",
		\"command\": [\"/usr/local/bin/saqr-demo-trainer\"], \"args\": [\"--steps\", \"2000\",
			\"--signing-key-env\", \"TRAINER_SIGNING_KEY\", \"--signature\", \"/var/run/saqr/output/v4/model.sig\",
			\"--signature-ref\", \"/mnt/pvc/fraud-models/v4/model.sig\"],
		\"env\": [{\"name\": \"TRAINER_SIGNING_KEY\", \"valueFrom\": {\"secretKeyRef\":
			{\"name\": \"model-signing-key\", \"key\": \"signing.pem\"}}}],
		\"output\": {\"uri\": \"pvc://fraud-models/v4/model.onnx\", \"provider\": null, \"region\": null},
		\"resources\": $small_resources}}" >"$demo_dir/trainingjob.yaml"
	demo_rs_before=$(demo_replicasets)
	show kubectl -n "$ns" apply -f "$demo_dir/trainingjob.yaml"
	until_ok 30 kubectl -n "$ns" get job fraud-detector-train
	note "an Indexed Job (completions = parallelism = 2) and a headless Service for the rendezvous:"
	show kubectl -n "$ns" get jobs,services -l app.kubernetes.io/instance=fraud-detector-train
	kubectl -n "$ns" wait --for=condition=Complete job/fraud-detector-train --timeout=90s >/dev/null
	until_ok 30 cond_is tj fraud-detector-train Succeeded True
	show kubectl -n "$ns" get pods -l job-name=fraud-detector-train
	note "what each rank saw (MASTER_ADDR, WORLD_SIZE, NODE_RANK from the TrainingJob) and wrote:"
	local p
	for p in $(kubectl -n "$ns" get pods -l job-name=fraud-detector-train -o name); do
		kubectl -n "$ns" logs "$p" | sed "s|^|  ${p#pod/}: |"
	done
	show kubectl -n "$ns" get tj fraud-detector-train
	note "promotion: the TrainingJob's output is the model in force, pinned by the digest rank 0 reported."
	note "spec.model stays what Git says (v3): Saqr writes spec.modelOverride, which no Git manifest"
	note "carries, so an Argo CD or Flux sync neither reverts it nor shows drift (deploy/argocd/)"
	until_ok 30 '[ "$(jsonpath md fraud-detector {.spec.modelOverride.model.version})" = v4 ]'
	show kubectl -n "$ns" get md fraud-detector -o "jsonpath={.spec.modelOverride}{'\n'}"
	until_ok 30 '[ "$(demo_template_version)" = v4 ]'
	kubectl -n "$ns" rollout status deployment/fraud-detector --timeout=90s >/dev/null
	until_ok 60 '[ "$(jsonpath md fraud-detector {.status.currentModel.version})" = v4 ]'
	show kubectl -n "$ns" get md fraud-detector
	note "saqr-fetch verified v4's digest and the trainer's signature (the key in the Secret model-signing-keys)"
	note "before the server started:"
	kubectl -n "$ns" logs deploy/fraud-detector -c saqr-fetch 2>&1 | grep -iE 'signature|verified' | cut -c1-220 | sed 's/^/  /'
	show kubectl -n "$ns" get md fraud-detector -o \
		"jsonpath={.status.conditions[?(@.type==\"ModelVerified\")].message}{'\n'}"
	note "the Deployment's new ReplicaSet (SAQR_MODEL_VERSION=v4) replaced the first one:"
	show kubectl -n "$ns" get replicasets -l app.kubernetes.io/instance=fraud-detector
	show kubectl -n "$ns" get md fraud-detector -o "jsonpath={range .status.history[*]}{.version} {.uri}{'\n'}{end}"
}

demo_replicasets() { kubectl -n "$ns" get rs -l app.kubernetes.io/instance=fraud-detector -o name | sort; }
demo_template_version() {
	kubectl -n "$ns" get deployment fraud-detector -o \
		'jsonpath={.spec.template.spec.containers[?(@.name=="model-server")].env[?(@.name=="SAQR_MODEL_VERSION")].value}'
}

# ---- 4. drift -----------------------------------------------------------------------------

# One V1 request body of 200 rows [amount_aed, channel], shaped like the DriftPolicy's baseline
# (bins 1830/4120/2610/1150/290, channels 62/23/15 %) or drifted (large amounts, wallets).
demo_body() { # baseline|drift
	local a c
	if [ "$1" = drift ]; then a="10 20 40 80 50" c="40 140 20"; else a="37 82 52 23 6" c="124 46 30"; fi
	awk -v a="$a" -v c="$c" 'BEGIN {
		split(a, na); split(c, nc); split("25 120 500 2500 8000", v); split("card wallet transfer", ch)
		n = 0; for (i = 1; i <= 5; i++) for (j = 0; j < na[i]; j++) amt[n++] = v[i]
		m = 0; for (i = 1; i <= 3; i++) for (j = 0; j < nc[i]; j++) chn[m++] = ch[i]
		printf "{\"instances\": ["
		for (k = 0; k < n; k++) printf "%s[%s, \"%s\"]", k ? ", " : "", amt[k], chn[(k * 7) % m]
		printf "]}\n"
	}'
}

# Real inference requests from the host to every ready pod's agent (TLS, 8443) through the
# Service's EndpointSlice, twice a second, shaped by $demo_dir/traffic.mode. In the background.
demo_traffic() {
	local ips ip mode
	demo_body baseline >"$demo_dir/body-baseline.json"
	demo_body drift >"$demo_dir/body-drift.json"
	while [ -f "$demo_dir/traffic.mode" ]; do
		mode=$(cat "$demo_dir/traffic.mode" 2>/dev/null || echo baseline)
		ips=$(kubectl -n "$ns" get endpointslices -l kubernetes.io/service-name=fraud-detector -o \
			'jsonpath={range .items[*].endpoints[?(@.conditions.ready==true)]}{.addresses[0]}{" "}{end}' 2>/dev/null || true)
		for ip in $ips; do
			curl -sS -o /dev/null --max-time 3 --cacert "$demo_dir/model-certs/ca.crt" \
				--resolve "fraud-detector.$ns.svc:8443:$ip" -H 'Content-Type: application/json' \
				--data-binary "@$demo_dir/body-$mode.json" \
				"https://fraud-detector.$ns.svc:8443/v1/models/fraud-detector:predict" \
				-w "%{http_code} $ip\n" >>"$demo_dir/traffic.log" 2>&1 || true
		done
		sleep 0.5
	done
}

demo_sink_start() { # the ITSM webhook: a host process on the node IP, which the operator pod reaches
	demo_bg sink "$demo_dir/sink.log" "$root/build/rel/tools/saqr-demo-server" --address "$node_gw" --port 0 \
		--record "$demo_dir/sink.jsonl"
	until_ok 10 grep -q port= "$demo_dir/sink.log"
	sink_port=$(sed -n 's/^port=//p' "$demo_dir/sink.log")
}

demo_drift() {
	step "4. Real traffic through saqr-agent, a drift, and what Saqr does about it"
	demo_sample driftpolicy.yaml "{\"spec\": {\"interval\": \"5s\", \"actions\": {\"cooldown\": \"1h\",
		\"alert\": {\"sinks\": [{\"type\": \"webhook\", \"url\": \"http://$node_gw:$sink_port/hooks/saqr\",
			\"secretRef\": {\"name\": \"itsm-webhook\"}}]},
		\"retrain\": {\"template\": {\"image\": \"$trainer_image\",
			\"command\": [\"/usr/local/bin/saqr-demo-trainer\"], \"args\": [\"--allow-single\"],
			\"resources\": $small_resources}}}}}" >"$demo_dir/driftpolicy.yaml"
	note "traffic from the host to each pod's agent (KServe V1, 200 rows a request), shaped like the baseline"
	echo baseline >"$demo_dir/traffic.mode"
	demo_bg traffic "$demo_dir/traffic.out" demo_traffic
	note "the sample DriftPolicy with a 5s interval, the local webhook, and the local trainer for retraining;"
	note "it scrapes each pod's agent metrics port (9090) through the Service's EndpointSlice:"
	show kubectl -n "$ns" apply -f "$demo_dir/driftpolicy.yaml"
	show kubectl -n "$ns" get endpointslices -l kubernetes.io/service-name=fraud-detector
	until_ok 60 '[ -n "$(jsonpath dp fraud-detector-drift {.status.features[0].score})" ]'
	show kubectl -n "$ns" get dp fraud-detector-drift
	show kubectl -n "$ns" get dp fraud-detector-drift -o "jsonpath=$features_fmt"
	note "what one agent exports (its feature histograms moved with the requests):"
	local ip
	ip=$(kubectl -n "$ns" get pods -l app.kubernetes.io/instance=fraud-detector -o 'jsonpath={.items[0].status.podIP}')
	curl -sS "http://$ip:9090/metrics" | grep -E '^saqr_feature_(value_bucket\{feature="amount_aed"|category_total)' | sed 's/^/  /'
	note "now large amounts dominate and wallets take over: the next window drifts"
	echo drift >"$demo_dir/traffic.mode"
	until_ok 90 cond_is dp fraud-detector-drift DriftDetected True
	show kubectl -n "$ns" get dp fraud-detector-drift
	show kubectl -n "$ns" get dp fraud-detector-drift -o "jsonpath=$features_fmt"
	show kubectl -n "$ns" get dp fraud-detector-drift -o "jsonpath=$incidents_fmt"
	until_ok 60 test -s "$demo_dir/sink.jsonl"
	note "what the ITSM webhook received (signed with X-Saqr-Signature-256):"
	head -c 700 "$demo_dir/sink.jsonl" | sed 's/^/  /'
	echo
	until_ok 60 '[ -n "$(jsonpath dp fraud-detector-drift {.status.incidents[0].trainingJob})" ]'
	local retrain
	retrain=$(jsonpath dp fraud-detector-drift '{.status.incidents[0].trainingJob}')
	note "the retraining TrainingJob $retrain runs (saqr-demo-trainer, one pod; promoted by a human afterwards):"
	until_ok 60 cond_is tj "$retrain" Succeeded True || note "($retrain has not succeeded yet)"
	show kubectl -n "$ns" get tj,jobs
	note "the rollback: the ModelDeployment is back on v3, and so is the Deployment's pod template"
	until_ok 60 '[ "$(demo_template_version)" = v3 ]'
	show kubectl -n "$ns" get md fraud-detector -o "jsonpath={.status.modelSource.message}{'\n'}"
	show kubectl -n "$ns" get deployment fraud-detector -o \
		"jsonpath={range .spec.template.spec.containers[?(@.name==\"model-server\")].env[*]}{.name}={.value}{'\n'}{end}"
	kubectl -n "$ns" rollout status deployment/fraud-detector --timeout=120s >/dev/null || true
	show kubectl -n "$ns" get replicasets -l app.kubernetes.io/instance=fraud-detector
	show kubectl -n "$ns" get events --field-selector involvedObject.name=fraud-detector-drift -o \
		"custom-columns=TYPE:.type,REASON:.reason,MESSAGE:.message"
}

# What went wrong, when a step fails: the objects, the pods' states and the recent Events.
# ---- 5. continuous compliance ---------------------------------------------------------------

# The audit's policy reports (one Report per namespace, read by Policy Reporter and friends), and
# the evidence page for an auditor from them and the webhook's decision log.
demo_compliance() {
	step "5. Continuous compliance: the audit's policy reports, and the evidence for an auditor"
	note "saqr-operator's audit evaluates every object the policy covers with the policy in force and"
	note "writes openreports.io Reports (the chart installed their CRDs: reports.installCRDs=true):"
	until_ok 60 '[ -n "$(kubectl -n "$ns" get reports.openreports.io -o name 2>/dev/null)" ]'
	show kubectl get reports -A
	kubectl get reports.openreports.io,clusterreports.openreports.io -A -o json >"$demo_dir/reports.json"
	kubectl -n saqr-system logs deploy/saqr-webhook >"$demo_dir/decisions.log" 2>/dev/null || true
	"$root/bin/saqrctl" report --reports "$demo_dir/reports.json" --decision-log "$demo_dir/decisions.log" \
		--format html -o "$demo_dir/compliance-report.html"
	"$root/bin/saqrctl" report --reports "$demo_dir/reports.json" --decision-log "$demo_dir/decisions.log" \
		-o "$demo_dir/compliance-report.json"
	note "saqrctl report: the policy in force, violations by rule, namespace and owner, break-glass,"
	note "each rule's clause, denials over time; one self-contained page:"
	echo "  $demo_dir/compliance-report.html"
}

demo_dump() {
	echo "---- state at the failure ----"
	kubectl -n "$ns" get md,tj,dp,deploy,rs,jobs,pods -o wide 2>&1 | sed 's/^/  /'
	kubectl -n "$ns" get events --sort-by=.lastTimestamp 2>&1 | tail -25 | sed 's/^/  /'
	kubectl -n "$ns" describe pods 2>&1 | grep -E '^(Name:|  [a-z-]+:$)|State|Reason|Message|Ready' | head -60 | sed 's/^/  /'
	kubectl -n saqr-system logs deploy/saqr-operator --tail 15 2>&1 | cut -c1-300 | sed 's/^/  /'
}
