#!/usr/bin/env bash
# End-to-end test of `make demo` on a real node (hack/local-cluster.sh node-up), as root: the
# walk-through of hack/demo-node.sh, step by step, with assertions on what Kubernetes shows:
#  1. the sample ModelDeployment's pods (saqr-fetch from a PersistentVolumeClaim, then
#     saqr-demo-server + saqr-agent) Running and Ready, owned by a ReplicaSet that the Deployment
#     fraud-detector owns, the model verified;
#  2. non-compliant objects refused (the step prints the webhook's denials);
#  3. the TrainingJob's Job Complete with 2 succeeded pods; promotion to v4 and a new ReplicaSet;
#  4. the DriftPolicy scraping the agents through the EndpointSlice: DriftDetected True, the
#     incident delivered to the ITSM webhook, a retraining TrainingJob created, and the rollback
#     to v3 visible in the Deployment's pod template;
#  5. the audit's openreports.io Reports in the namespace, and saqrctl report's evidence (HTML, JSON);
#  6. model integrity: an altered file and an untrusted signature refused by saqr-fetch, a model
#     signed with `saqrctl model sign` verified and serving;
#  7. the drift through real Prometheus (scraping the agents) and real Alertmanager (host
#     processes on the node's address): a second DriftPolicy detects it and the alert is in
#     Alertmanager's API.
# Teardown always (EXIT trap, also on failure or a signal), then checks that nothing is left.
# Prints timings and the node's RSS. Expects the image archives ($SAQR_IMAGES, default build/images).
set -euo pipefail

e2e_name=e2e-demo
# shellcheck source=tests/e2e/lib.sh
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
root=$e2e_root
demo_dir="$dir/demo"
# shellcheck source=hack/demo-node.sh
. "$root/hack/demo-node.sh"

on_exit() { # on failure, what the namespace looked like; then teardown and the checks
	local rc=$?
	# A signal may land inside a redirected builtin (until_ok's eval): print to the real outputs.
	[ ! -e /proc/$$/fd/8 ] || exec 1>&8 2>&9
	[ "$rc" = 0 ] && [ "$e2e_fails" = 0 ] || demo_dump >&2 || true
	(exit "$rc")
	e2e_finish
}

# "name phase ready owner-kind/owner-name" for each pod of the ModelDeployment.
md_pods() {
	kubectl -n "$ns" get pods -l app.kubernetes.io/instance=fraud-detector -o \
		'jsonpath={range .items[*]}{.metadata.name} {.status.phase} {.status.conditions[?(@.type=="Ready")].status} {.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}{"\n"}{end}'
}

check_md_pods() {
	local pods n bad name phase ready owner rs_owner
	pods=$(md_pods)
	n=$(grep -c . <<<"$pods" || true)
	[ "$n" = 2 ] || fail "expected 2 ModelDeployment pods, got $n: $pods"
	bad=0
	while read -r name phase ready owner; do
		[ -n "$name" ] || continue
		[ "$phase" = Running ] && [ "$ready" = True ] || { fail "pod $name is $phase, Ready=$ready"; bad=1; }
		case "$owner" in
		ReplicaSet/*) ;;
		*) fail "pod $name is owned by $owner, not a ReplicaSet"; bad=1; continue ;;
		esac
		rs_owner=$(kubectl -n "$ns" get rs "${owner#ReplicaSet/}" -o \
			'jsonpath={.metadata.ownerReferences[?(@.controller==true)].kind}/{.metadata.ownerReferences[?(@.controller==true)].name}')
		[ "$rs_owner" = Deployment/fraud-detector ] || { fail "$owner is owned by '$rs_owner'"; bad=1; }
	done <<<"$pods"
	local containers fetched verified
	containers=$(kubectl -n "$ns" get deployment fraud-detector -o 'jsonpath={.spec.template.spec.containers[*].name}')
	[ "$containers" = "model-server saqr-agent" ] || fail "pod template containers: '$containers'"
	# saqr-fetch copied the model from the claim and verified its digest in every pod.
	fetched=$(kubectl -n "$ns" get pods -l app.kubernetes.io/instance=fraud-detector -o \
		'jsonpath={range .items[*]}{.status.initContainerStatuses[?(@.name=="saqr-fetch")].state.terminated.exitCode}{" "}{end}')
	[ "$fetched" = "0 0 " ] && log "ok: saqr-fetch fetched and verified the model in both pods" ||
		fail "saqr-fetch exit codes: '$fetched'"
	verified=$(jsonpath md fraud-detector '{.status.conditions[?(@.type=="ModelVerified")].status}')
	[ "$verified" = True ] || fail "ModelDeployment ModelVerified=$verified"
	[ "$bad" = 0 ] && log "ok: 2 ModelDeployment pods Running and Ready, owned by ReplicaSets of Deployment fraud-detector"
}

check_training() {
	local complete succeeded phases
	complete=$(kubectl -n "$ns" get job fraud-detector-train -o 'jsonpath={.status.conditions[?(@.type=="Complete")].status}')
	succeeded=$(kubectl -n "$ns" get job fraud-detector-train -o 'jsonpath={.status.succeeded}')
	phases=$(kubectl -n "$ns" get pods -l job-name=fraud-detector-train -o 'jsonpath={.items[*].status.phase}')
	[ "$complete" = True ] || fail "Job fraud-detector-train Complete=$complete"
	[ "$succeeded" = 2 ] || fail "Job fraud-detector-train succeeded=$succeeded, want 2"
	[ "$phases" = "Succeeded Succeeded" ] || fail "trainer pods: $phases"
	[ "$complete" = True ] && [ "$succeeded" = 2 ] && log "ok: Job fraud-detector-train Complete, 2 pods succeeded"
	local rs_after new
	rs_after=$(demo_replicasets)
	new=$(comm -13 <(echo "$demo_rs_before") <(echo "$rs_after"))
	[ "$(demo_template_version)" = v4 ] || fail "Deployment template at $(demo_template_version) after promotion, want v4"
	if [ -n "$new" ]; then
		[ "$(kubectl -n "$ns" get "$new" -o 'jsonpath={.status.readyReplicas}')" = 2 ] ||
			fail "the new ReplicaSet $new has not 2 ready pods"
		log "ok: promotion to v4 rolled out a new ReplicaSet ($new)"
	else
		fail "no new ReplicaSet after the promotion (before: $demo_rs_before, after: $rs_after)"
	fi
	until_ok 60 '[ "$(md_pods | grep -c .)" = 2 ]' || true # the old ReplicaSet's pods terminate
	check_md_pods
	# GitOps: spec.model stays Git's v3, the promotion is spec.modelOverride pinned by the digest
	# rank 0 reported; a server-side apply of the Git manifest by another field manager (what
	# Argo CD's self-heal does) leaves it in force.
	local digest
	digest=$(jsonpath tj fraud-detector-train '{.status.outputModel.digest}')
	[ "$(jsonpath md fraud-detector '{.spec.model.version}')" = v3 ] &&
		[ "$(jsonpath md fraud-detector '{.spec.modelOverride.model.digest}')" = "$digest" ] &&
		[ -n "$digest" ] && log "ok: spec.model is still v3; spec.modelOverride pins v4 by $digest" ||
		fail "promotion: spec.model $(jsonpath md fraud-detector '{.spec.model.version}'), override digest $(jsonpath md fraud-detector '{.spec.modelOverride.model.digest}'), trained $digest"
	# The trainer signed its output: the promotion carried the signature, saqr-fetch verified it.
	[ "$(jsonpath md fraud-detector '{.spec.modelOverride.model.signature}')" = /mnt/pvc/fraud-models/v4/model.sig ] &&
		[ "$(jsonpath md fraud-detector '{.status.conditions[?(@.type=="ModelVerified")].status}')" = True ] &&
		"$root/bin/saqrctl" model verify --key "$demo_dir/keys/signing.pub" --signature "$demo_dir/models/v4/model.sig" \
			"$demo_dir/models/v4/model.onnx" >/dev/null &&
		log "ok: the trained model was signed by the trainer, promoted with its signature and verified by saqr-fetch" ||
		fail "signed promotion: signature '$(jsonpath md fraud-detector '{.spec.modelOverride.model.signature}')', ModelVerified $(jsonpath md fraud-detector '{.status.conditions[?(@.type=="ModelVerified")].status}')"
	kubectl -n "$ns" apply --server-side --field-manager=argocd-controller --force-conflicts \
		-f "$demo_dir/modeldeployment.yaml" >/dev/null
	sleep 3
	[ "$(jsonpath md fraud-detector '{.spec.modelOverride.model.version}')" = v4 ] &&
		[ "$(demo_template_version)" = v4 ] &&
		[ "$(jsonpath md fraud-detector '{.status.modelSource.type}')" = Promotion ] &&
		log "ok: the promotion holds after an Argo CD-style server-side apply of the Git manifest" ||
		fail "after a server-side apply of the Git manifest: override $(jsonpath md fraud-detector '{.spec.modelOverride.model.version}'), template $(demo_template_version)"
}

check_drift() {
	local tj
	[ "$(jsonpath dp fraud-detector-drift '{.status.conditions[?(@.type=="DriftDetected")].status}')" = True ] &&
		log "ok: DriftDetected True" || fail "DriftDetected is not True"
	if grep -q '"event":"incident.opened"' "$demo_dir/sink.jsonl" 2>/dev/null &&
		grep -q '"path":"/hooks/saqr"' "$demo_dir/sink.jsonl"; then
		log "ok: the ITSM webhook received the incident ($(wc -l <"$demo_dir/sink.jsonl") delivery(ies))"
	else
		fail "the ITSM webhook received no incident.opened: $(head -c 300 "$demo_dir/sink.jsonl" 2>/dev/null)"
	fi
	tj=$(jsonpath dp fraud-detector-drift '{.status.incidents[0].trainingJob}')
	[ -n "$tj" ] && kubectl -n "$ns" get tj "$tj" >/dev/null 2>&1 && log "ok: retraining TrainingJob $tj created" ||
		fail "no retraining TrainingJob ('$tj')"
	# Its pods carry the policy's compliance labels, so saqr-webhook admits them and it runs.
	[ -n "$tj" ] && cond_is tj "$tj" Succeeded True && log "ok: $tj succeeded (its pods were admitted)" ||
		fail "the retraining TrainingJob '$tj' did not succeed"
	[ "$(jsonpath md fraud-detector '{.spec.modelOverride.model.version}')" = v3 ] &&
		[ "$(jsonpath md fraud-detector '{.spec.modelOverride.reason}')" = Rollback ] ||
		fail "the ModelDeployment's spec.modelOverride is not the rollback to v3"
	[ "$(demo_template_version)" = v3 ] && log "ok: the Deployment's pod template is back on v3 (SAQR_MODEL_VERSION)" ||
		fail "the Deployment's pod template is at '$(demo_template_version)', want v3"
}

check_compliance() {
	local n results
	n=$(kubectl -n "$ns" get reports.openreports.io -o name | grep -c . || true)
	results=$(kubectl -n "$ns" get reports.openreports.io -o 'jsonpath={range .items[*]}{.results[*].policy}{"\n"}{end}' | grep -c . || true)
	[ "$n" -ge 1 ] && [ "$results" -ge 1 ] && log "ok: the audit wrote $n policy Report(s) in $ns, with results" ||
		fail "policy reports in $ns: $n report(s), $results with results"
	grep -q '<html' "$demo_dir/compliance-report.html" 2>/dev/null &&
		log "ok: saqrctl report wrote the evidence page ($(wc -c <"$demo_dir/compliance-report.html") bytes)" ||
		fail "no HTML evidence page at $demo_dir/compliance-report.html"
	[ "$(head -c 1 "$demo_dir/compliance-report.json" 2>/dev/null)" = "{" ] &&
		log "ok: and its JSON form" || fail "the JSON evidence is not a JSON object"
}

# A ModelDeployment of one pod from the sample, model patch-json as its spec.model.
integrity_md() { # name model-patch-json
	demo_sample modeldeployment.yaml "{\"metadata\": {\"name\": \"$1\"}, \"spec\": {\"model\": $2,
		\"storage\": null, \"server\": {\"image\": \"$server_image\",
		\"args\": [\"--address\", \"0.0.0.0\", \"--port\", \"8080\"], \"resources\": $small_resources},
		\"agent\": {\"config\": \"fraud-detector-agent\", \"resources\": $small_resources}, \"fetch\": {\"maxBytes\": 1048576, \"resources\": $small_resources},
		\"autoscaling\": null, \"replicas\": 1}}" | kubectl -n "$ns" apply -f - >/dev/null
}

# "status reason" of the ModelVerified condition of md name.
verified() { jsonpath md "$1" '{.status.conditions[?(@.type=="ModelVerified")].status} {.status.conditions[?(@.type=="ModelVerified")].reason}'; }

# Model integrity on the node: saqr-fetch refuses an altered file and a signature by an untrusted
# key before the server starts, and lets a model signed by a trusted key (saqrctl model sign) serve.
check_integrity() {
	local keys="$demo_dir/keys" models="$demo_dir/models" got
	mkdir -p "$models/v3-altered"
	openssl ecparam -name prime256v1 -genkey -noout -out "$keys/rogue.pem" 2>/dev/null
	"$root/bin/saqrctl" model sign --key "$keys/signing.pem" --output "$models/v3/model.sig" \
		"$models/v3/model.onnx" >/dev/null
	"$root/bin/saqrctl" model sign --key "$keys/rogue.pem" --output "$models/v3/model-rogue.sig" \
		"$models/v3/model.onnx" >/dev/null
	{ cat "$models/v3/model.onnx"; printf x; } >"$models/v3-altered/model.onnx"
	chmod -R a+rX "$models"
	local v3="\"uri\": \"pvc://fraud-models/v3/model.onnx\", \"digest\": \"$model_digest_v3\""
	integrity_md fraud-altered "{\"uri\": \"pvc://fraud-models/v3-altered/model.onnx\", \"digest\": \"$model_digest_v3\"}"
	integrity_md fraud-forged "{$v3, \"signature\": \"/mnt/pvc/fraud-models/v3/model-rogue.sig\"}"
	integrity_md fraud-signed "{$v3, \"signature\": \"/mnt/pvc/fraud-models/v3/model.sig\"}"
	integrity_md fraud-wrongdigest "{\"uri\": \"pvc://fraud-models/v3/model.onnx\",
		\"digest\": \"sha256:$(printf 0%.0s $(seq 1 64))\"}"
	integrity_md fraud-nosig "{$v3, \"signature\": \"/mnt/pvc/fraud-models/v3/missing.sig\"}"
	until_ok 90 '[ "$(verified fraud-altered)" = "False DigestMismatch" ]' &&
		log "ok: an altered model file is refused before the server starts (ModelVerified=False DigestMismatch)" ||
		fail "altered model: ModelVerified is '$(verified fraud-altered)'"
	until_ok 60 '[ "$(verified fraud-forged)" = "False SignatureInvalid" ]' &&
		log "ok: a signature by an untrusted key is refused (ModelVerified=False SignatureInvalid)" ||
		fail "forged signature: ModelVerified is '$(verified fraud-forged)'"
	until_ok 60 '[ "$(verified fraud-wrongdigest)" = "False DigestMismatch" ]' &&
		log "ok: a wrong digest is refused (ModelVerified=False DigestMismatch)" ||
		fail "wrong digest: ModelVerified is '$(verified fraud-wrongdigest)'"
	until_ok 60 '[ "$(verified fraud-nosig | cut -d" " -f1)" = False ]' &&
		log "ok: a missing signature file is refused ($(verified fraud-nosig))" ||
		fail "missing signature: ModelVerified is '$(verified fraud-nosig)'"
	kubectl -n "$ns" get events --field-selector involvedObject.name=fraud-wrongdigest,reason=DigestMismatch \
		-o name | grep -q . && log "ok: and a Warning Event DigestMismatch on the ModelDeployment" ||
		fail "no DigestMismatch Event on fraud-wrongdigest"
	until_ok 90 '[ "$(verified fraud-signed)" = "True ModelVerified" ] && cond_is md fraud-signed Ready True' &&
		log "ok: a model signed with the trusted key (saqrctl model sign) is verified and serves" ||
		fail "signed model: ModelVerified is '$(verified fraud-signed)', Ready $(jsonpath md fraud-signed '{.status.conditions[?(@.type=="Ready")].status}')"
	got=$(kubectl -n "$ns" get pods -l app.kubernetes.io/instance=fraud-altered -o \
		'jsonpath={.items[0].status.containerStatuses[?(@.name=="model-server")].state.running}')
	[ -z "$got" ] && log "ok: the altered model's server never started" || fail "the altered model's server runs: $got"
	kubectl -n "$ns" delete md fraud-altered fraud-forged fraud-signed fraud-wrongdigest fraud-nosig \
		--wait=false >/dev/null
}

# A free TCP port on the node's address.
free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 20000))
		ss -ltn "( sport = :$p )" | grep -q ":$p" || { echo "$p"; return 0; }
	done
	return 1
}

# Real Prometheus and Alertmanager on the node's address (host processes, built from their Go
# modules by hack/observability.sh), before Saqr is installed: the chart's policy must list them
# in zeroTrust.allowedEndpoints. Prometheus scrapes the agents listed in a file_sd file.
obs_start() {
	local bin
	bin=$("$root/hack/observability.sh" bindir)
	prom_port=$(free_port) am_port=$(free_port)
	echo '[]' >"$demo_dir/prom-targets.json"
	cat >"$demo_dir/prometheus.yml" <<YAML
global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: saqr-agent
    file_sd_configs: [{files: ['$demo_dir/prom-targets.json'], refresh_interval: 1s}]
YAML
	cat >"$demo_dir/alertmanager.yml" <<YAML
global: {resolve_timeout: 1h}
route: {receiver: sink, group_by: [alertname, driftpolicy], group_wait: 1s, group_interval: 1s, repeat_interval: 1h}
receivers: [{name: sink}]
YAML
	demo_bg prometheus "$demo_dir/prometheus.log" "$bin/prometheus" --config.file "$demo_dir/prometheus.yml" \
		--storage.tsdb.path "$demo_dir/prometheus-data" --web.listen-address "$node_gw:$prom_port"
	demo_bg alertmanager "$demo_dir/alertmanager.log" "$bin/alertmanager" --config.file "$demo_dir/alertmanager.yml" \
		--storage.path "$demo_dir/alertmanager-data" --web.listen-address "$node_gw:$am_port" --cluster.listen-address=
	until_ok 60 curl -fsS "http://$node_gw:$prom_port/-/ready" -o /dev/null
	until_ok 60 curl -fsS "http://$node_gw:$am_port/-/ready" -o /dev/null
	log "Prometheus on $node_gw:$prom_port, Alertmanager on $node_gw:$am_port"
}

# The same drift through real Prometheus: a second DriftPolicy whose source is the Prometheus
# API scraping the agents, alerting real Alertmanager (no retrain, no rollback).
check_prometheus() {
	local ips targets alerts
	ips=$(kubectl -n "$ns" get pods -l app.kubernetes.io/instance=fraud-detector --field-selector=status.phase=Running \
		-o 'jsonpath={range .items[*]}"{.status.podIP}:9090",{end}')
	targets="[{\"targets\": [${ips%,}], \"labels\": {\"namespace\": \"$ns\", \"service\": \"fraud-detector\"}}]"
	echo "$targets" >"$demo_dir/prom-targets.json.new" && mv "$demo_dir/prom-targets.json.new" "$demo_dir/prom-targets.json"
	echo drift >"$demo_dir/traffic.mode"
	demo_sample driftpolicy.yaml "{\"metadata\": {\"name\": \"fraud-detector-drift-prom\"}, \"spec\": {\"interval\": \"5s\",
		\"source\": {\"scrape\": null, \"prometheus\": {\"url\": \"http://$node_gw:$prom_port\"}},
		\"actions\": {\"cooldown\": \"1h\", \"alert\": {\"sinks\": [{\"type\": \"alertmanager\",
			\"url\": \"http://$node_gw:$am_port\"}]}, \"retrain\": null, \"rollback\": null}}}" |
		kubectl -n "$ns" apply -f - >/dev/null
	until_ok 60 '[ "$(curl -fsS "http://$node_gw:$prom_port/api/v1/query?query=count(saqr_feature_value_bucket)" | grep -c "\"value\"")" = 1 ]' &&
		log "ok: real Prometheus scrapes the agents ($(echo "$ips" | tr ',' ' '))" ||
		fail "Prometheus has no saqr_feature_value_bucket series: $(curl -sS "http://$node_gw:$prom_port/api/v1/targets" | head -c 400)"
	until_ok 120 cond_is dp fraud-detector-drift-prom DriftDetected True &&
		log "ok: the DriftPolicy reading real Prometheus detects the drift" ||
		fail "DriftDetected on the Prometheus DriftPolicy: $(jsonpath dp fraud-detector-drift-prom '{.status.conditions[?(@.type=="DriftDetected")]}')"
	until_ok 60 'curl -fsS "http://$node_gw:$am_port/api/v2/alerts" | grep -q fraud-detector-drift-prom' &&
		log "ok: the incident is an alert in real Alertmanager's API" ||
		fail "no alert of fraud-detector-drift-prom in Alertmanager: $(curl -sS "http://$node_gw:$am_port/api/v2/alerts" | head -c 400)"
	kubectl -n "$ns" delete dp fraud-detector-drift-prom --wait=false >/dev/null
}

e2e_node_up
exec 8>&1 9>&2 # after the node's daemons started: they must not hold them
trap on_exit EXIT
trap 'exec 1>&8 2>&9; log interrupted; exit 130' INT TERM HUP
mkdir -p "$demo_dir"
t_all=$(now)
obs_start
demo_install --set "policy.spec.zeroTrust.allowedEndpoints[1]=http://$node_gw:$prom_port" \
	--set "policy.spec.zeroTrust.allowedEndpoints[2]=http://$node_gw:$am_port"
t=$(now)
demo_modeldeployment
timing "1. ModelDeployment pods Ready" "$(since "$t")"
check_md_pods
demo_refusals
t=$(now)
demo_training
timing "3. training, promotion, rollout" "$(since "$t")"
check_training
t=$(now)
demo_drift
timing "4. drift, incident, retrain, rollback" "$(since "$t")"
check_drift
t=$(now)
demo_compliance
timing "5. policy reports, evidence" "$(since "$t")"
check_compliance
t=$(now)
check_integrity
timing "model integrity (5 ModelDeployments)" "$(since "$t")"
t=$(now)
check_prometheus
timing "drift through real Prometheus, alert in Alertmanager" "$(since "$t")"
e2e_rss
timing "walk-through (install to last check)" "$(since "$t_all")"
