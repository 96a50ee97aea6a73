#!/usr/bin/env bash
# End-to-end test of Saqr running as pods on a real node (hack/local-cluster.sh node-up), as root:
#  1. Helm: charts/saqr into saqr-system with the node's values (charts/saqr/ci/local-node-values.yaml,
#     one webhook replica); operator and webhook Ready, the operator's leader Lease written through
#     the API server at the node address. The API server reaches the webhook through its Service
#     (endpoint routing): a non-compliant Deployment, bare Pod and bare ReplicaSet are refused with
#     their rule ids; a compliant Deployment gets its Pods Running.
#  2. Failure: the webhook pod is killed (delete --force) while a loop creates compliant and
#     non-compliant Pods. With failurePolicy Fail every create is refused, errors, or is admitted
#     and compliant: no non-compliant Pod may exist afterwards. Admission recovers with the new pod.
#  3. kubectl apply -k deploy/kustomize/local-node (manifests/ with the local images), the
#     certificate from hack/webhook-certs.sh: the webhook refuses a non-compliant Pod.
# Teardown always (EXIT trap, also on failure or a signal), then checks that nothing is left.
# Prints timings and the node's RSS. Expects the image archives ($SAQR_IMAGES, default build/images).
set -euo pipefail

e2e_name=e2e-install
# shellcheck source=tests/e2e/lib.sh
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

ns=shop

# kubectl create from stdin; must be refused by the webhook with every listed rule id.
expect_denied() { # what rule-id... (manifest on stdin)
	local what=$1 out id
	shift
	if out=$(kubectl -n "$ns" create -f - 2>&1); then
		fail "$what was admitted: $out"
		return
	fi
	grep -q 'admission webhook "validate.saqr.dev" denied the request' <<<"$out" ||
		{ fail "$what refused, but not by the webhook: $out"; return; }
	for id in "$@"; do
		grep -qF "[$id]" <<<"$out" || fail "$what: rule $id missing from: $out"
	done
	log "$what refused: $(cut -c1-160 <<<"$out")..."
}

noncompliant_pod() { # name [labels-json]
	cat <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1, labels: {e2e: noncompliant}}
spec:
  schedulingGates: [{name: saqr.dev/e2e}]
  hostNetwork: true
  containers:
  - name: c
    image: nginx:latest
    securityContext: {privileged: true}
YAML
}

# Compliant, gated (never scheduled: the loop must not load the node).
compliant_pod() { # name
	cat <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: $1
  labels: {e2e: compliant, saqr.dev/data-residency: uae, saqr.dev/data-classification: internal, saqr.dev/owner: ml-platform}
spec:
  schedulingGates: [{name: saqr.dev/e2e}]
  serviceAccountName: scorer
  automountServiceAccountToken: false
  nodeSelector: {topology.kubernetes.io/region: uaenorth}
  securityContext: {runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: c
    image: $server_image
    imagePullPolicy: Never
    securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
YAML
}

test_helm() {
	e2e_helm_install --set webhook.replicas=1 --set operator.replicas=1 || return 1
	# The operator reaches the API server from its pod: its leader Lease exists and is renewed.
	local holder="" i
	for i in $(seq 1 60); do
		holder=$(kubectl -n saqr-system get lease saqr-operator -o jsonpath='{.spec.holderIdentity}' 2>/dev/null || true)
		[ -n "$holder" ] && break
		sleep 1
		: "$i"
	done
	[ -n "$holder" ] && log "operator pod holds Lease saqr-operator ($holder): it reaches https://$node_gw:$api_port" ||
		{ fail "the operator wrote no Lease"; kubectl -n saqr-system logs deploy/saqr-operator --tail 20 >&2 || true; }

	kubectl create namespace "$ns" >/dev/null
	kubectl -n "$ns" create serviceaccount scorer >/dev/null
	local t
	t=$(now)
	expect_denied "non-compliant Deployment" podSecurity.baseline.privileged podSecurity.baseline.hostNamespaces \
		zeroTrust.imageDigest dataResidency.label compliance.owner <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: bad}
spec:
  selector: {matchLabels: {app: bad}}
  template:
    metadata: {labels: {app: bad}}
    spec:
      hostNetwork: true
      containers: [{name: c, image: "nginx:latest", securityContext: {privileged: true}}]
YAML
	timing "first webhook decision" "$(since "$t")"
	noncompliant_pod bad | expect_denied "non-compliant bare Pod" podSecurity.baseline.privileged \
		podSecurity.baseline.hostNamespaces zeroTrust.imageLatest compliance.classification
	expect_denied "non-compliant bare ReplicaSet" podSecurity.restricted.runAsNonRoot zeroTrust.serviceAccount \
		dataResidency.placement <<YAML
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: bad}
spec:
  selector: {matchLabels: {app: bad}}
  template:
    metadata: {labels: {app: bad}}
    spec:
      containers: [{name: c, image: "nginx:1.27"}]
YAML

	t=$(now)
	sed "s|image: IMAGE|image: $server_image|" "$here/manifests/compliant-deployment.yaml" | kubectl -n "$ns" create -f - >/dev/null ||
		{ fail "the compliant Deployment was refused"; return 1; }
	if kubectl -n "$ns" wait --for=condition=Available deployment/scorer --timeout=120s >/dev/null; then
		timing "compliant Deployment Available" "$(since "$t")"
		kubectl -n "$ns" get pods -l app.kubernetes.io/name=scorer --no-headers >&2
	else
		fail "the compliant Deployment's pods are not Running"
		kubectl -n "$ns" get rs,pods >&2
		kubectl -n "$ns" get events --sort-by=.lastTimestamp | tail -10 >&2
	fi
}

# Creates in a loop until $1 exists: odd i compliant, even i not. One line per create.
create_loop() { # stop-file results
	local i=0 out
	while [ ! -e "$1" ]; do
		i=$((i + 1))
		if [ $((i % 2)) = 1 ]; then
			out=$(compliant_pod "loop-$i" | kubectl -n "$ns" create -f - 2>&1) && echo "$i compliant admitted" ||
				echo "$i compliant refused $(tr '\n' ' ' <<<"$out" | cut -c1-150)"
		else
			out=$(noncompliant_pod "loop-$i" | kubectl -n "$ns" create -f - 2>&1) && echo "$i noncompliant ADMITTED" ||
				echo "$i noncompliant refused $(tr '\n' ' ' <<<"$out" | cut -c1-150)"
		fi
	done >"$2"
}

test_kill_webhook() {
	local stop="$dir/loop.stop" res="$dir/loop.txt" old t t_ready i out admitted
	old=$(kubectl -n saqr-system get pod -l app.kubernetes.io/component=webhook -o jsonpath='{.items[0].metadata.name}')
	create_loop "$stop" "$res" &
	e2e_bg_pids=$!
	sleep 3
	t=$(now)
	kubectl -n saqr-system delete pod "$old" --force --grace-period=0 >/dev/null 2>&1
	log "killed webhook pod $old"
	# Recovery: the new pod Ready, then a compliant create admitted and a non-compliant one refused.
	kubectl -n saqr-system wait --for=condition=Ready pod -l app.kubernetes.io/component=webhook \
		--field-selector "metadata.name!=$old" --timeout=120s >/dev/null 2>&1 ||
		kubectl -n saqr-system rollout status deployment/saqr-webhook --timeout=120s >/dev/null
	t_ready=$(since "$t")
	admitted=""
	for i in $(seq 1 60); do
		if compliant_pod "after-$i" | kubectl -n "$ns" create -f - >/dev/null 2>&1; then
			admitted=$i
			break
		fi
		sleep 0.5
	done
	[ -n "$admitted" ] && timing "webhook kill to admission again" "$(since "$t")" ||
		fail "admission did not recover within 30 s of the new pod Ready"
	log "new webhook pod Ready ${t_ready}s after the kill"
	sleep 2
	touch "$stop"
	wait "$e2e_bg_pids" || true
	e2e_bg_pids=
	out=$(noncompliant_pod after-bad | kubectl -n "$ns" create -f - 2>&1) && fail "non-compliant Pod admitted after recovery" ||
		grep -q 'denied the request' <<<"$out" || fail "after recovery, not refused by the webhook: $out"
	log "loop: $(wc -l <"$res") creates: $(grep -c ' compliant admitted' "$res" || true) compliant admitted," \
		"$(grep -c ' compliant refused' "$res" || true) compliant refused/errored," \
		"$(grep -c 'noncompliant refused' "$res" || true) non-compliant refused," \
		"$(grep -c 'noncompliant ADMITTED' "$res" || true) non-compliant admitted"
	grep ' compliant refused' "$res" | grep -v 'denied the request' | head -2 | sed 's/^/  while down: /' >&2 || true
	grep -q 'noncompliant ADMITTED' "$res" && fail "non-compliant Pods admitted: $(grep ADMITTED "$res" | head -5 | tr '\n' ' ')"
	grep -q ' compliant refused' "$res" || fail "no create failed while the webhook was down (was it down?)"
	# What exists now: only the compliant ones.
	local bad
	bad=$(kubectl -n "$ns" get pods -l e2e=noncompliant -o name)
	[ -z "$bad" ] && log "no non-compliant Pod exists" || fail "non-compliant Pods exist: $bad"
	[ "$(kubectl -n "$ns" get pods -l e2e=compliant -o name | wc -l)" -gt 0 ] || fail "no compliant Pod exists"
}

test_kustomize() {
	local t certs="$dir/webhook-certs" ov="$dir/overlay" ca
	t=$(now)
	helm --kubeconfig "$KUBECONFIG" uninstall saqr -n saqr-system --wait --timeout 120s >/dev/null
	kubectl delete namespace saqr-system --timeout=120s >/dev/null
	timing "helm uninstall + namespace gone" "$(since "$t")"
	t=$(now)
	# The overlay plus what is specific to this node: the operator's API server address.
	mkdir -p "$ov"
	cat >"$ov/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [$(realpath --relative-to "$ov" "$e2e_root/deploy/kustomize/local-node")]
patches:
- target: {kind: Deployment, name: saqr-operator}
  patch: |-
    - {op: add, path: /spec/template/spec/containers/0/env/-, value: {name: KUBERNETES_SERVICE_HOST, value: "$node_gw"}}
    - {op: add, path: /spec/template/spec/containers/0/env/-, value: {name: KUBERNETES_SERVICE_PORT, value: "$api_port"}}
YAML
	kubectl apply --server-side --force-conflicts -k "$ov" >/dev/null
	ca=$("$e2e_root/hack/webhook-certs.sh" --out "$certs" 2>/dev/null)
	kubectl -n saqr-system create secret tls saqr-webhook-tls --cert "$certs/tls.crt" --key "$certs/tls.key" >/dev/null
	kubectl patch validatingwebhookconfiguration saqr-webhook --type=json \
		-p "[{\"op\":\"add\",\"path\":\"/webhooks/0/clientConfig/caBundle\",\"value\":\"$ca\"}]" >/dev/null
	e2e_wait_saqr || return 1
	timing "kubectl apply -k to pods Ready" "$(since "$t")"
	local i out=""
	for i in $(seq 1 30); do
		out=$(noncompliant_pod kbad | kubectl -n "$ns" create -f - 2>&1) && { fail "kustomize install admitted a non-compliant Pod"; return 1; }
		grep -q 'admission webhook "validate.saqr.dev" denied the request' <<<"$out" && break
		sleep 1
	done
	grep -q 'denied the request' <<<"$out" && grep -qF '[podSecurity.baseline.privileged]' <<<"$out" &&
		log "kustomize install: non-compliant Pod refused: $(cut -c1-120 <<<"$out")..." ||
		fail "kustomize install: not refused by the webhook: $out"
}

here=$(cd "$(dirname "$0")" && pwd)
e2e_node_up
server_image=$(e2e_pinned saqr.local/saqr-demo-server:dev)
log "pinned demo image: $server_image"
t_all=$(now)
test_helm && test_kill_webhook
e2e_rss
test_kustomize
timing "tests (install to last check)" "$(since "$t_all")"
