/* Unit tests for operator/modeldeployment/modeldeployment.c: the desired Deployment(s), Service, HPA,
 * NetworkPolicy and PDB of a ModelDeployment, field by field; the canary replica split; the
 * checks the CRD cannot make; the saqr-agent sidecar and saqr-fetch init container (sidecars.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "../support/opfixture.h"
#include "common/err.h"
#include "common/jsonutil.h"
#include "operator/modeldeployment/modeldeployment.h"

#define S(obj, path) json_path_str((obj), (path), "<missing>")
#define I(obj, path) json_path_int((obj), (path), -12345)

static json_t *load(const char *name)
{
	json_t *v = opfix_load(name);

	assert_non_null(v);
	return v;
}

/* name without the saqr-agent sidecar and the saqr-fetch init container: the builder's own pod. */
static json_t *load_plain(const char *name)
{
	json_t *v = load(name);
	json_t *spec = json_object_get(v, "spec");

	assert_int_equal(json_object_set_new(spec, "agent", json_pack("{s:b}", "enabled", 0)), 0);
	assert_int_equal(json_object_set_new(spec, "fetch", json_pack("{s:b}", "enabled", 0)), 0);
	return v;
}

static void set_path(json_t *root, const char *parent, const char *key, json_t *v)
{
	json_t *obj = parent ? json_path(root, parent) : root;

	assert_non_null(obj);
	assert_int_equal(json_object_set_new(obj, key, v), 0);
}

static void test_split_replicas(void **state)
{
	static const struct {
		long long total, weight, primary, canary;
	} cases[] = {
	    {3, 0, 3, 0},  {10, 10, 9, 1}, {10, 25, 7, 3},   {4, 25, 3, 1}, {2, 1, 1, 1},
	    {2, 50, 1, 1}, {2, 100, 1, 2}, {10, 100, 1, 10}, {5, 50, 2, 3}, /* 2.5 rounds half up */
	    {1, 50, 1, 1}, {0, 0, 0, 0},   {4, 150, 1, 4},   {4, -5, 4, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long long p = -1, c = -1;

		md_split_replicas(cases[i].total, cases[i].weight, &p, &c);
		assert_int_equal(p, cases[i].primary);
		assert_int_equal(c, cases[i].canary);
	}
}

static void check_meta(const json_t *obj, const char *api, const char *kind, const char *name)
{
	const json_t *ref = json_path(obj, "metadata.ownerReferences.0");

	assert_string_equal(S(obj, "apiVersion"), api);
	assert_string_equal(S(obj, "kind"), kind);
	assert_string_equal(S(obj, "metadata.name"), name);
	assert_string_equal(S(obj, "metadata.namespace"), "ml");
	assert_string_equal(json_string_value(json_object_get(json_path(obj, "metadata.labels"),
							      "app.kubernetes.io/instance")),
			    "fraud");
	assert_string_equal(json_string_value(json_object_get(json_path(obj, "metadata.labels"),
							      "app.kubernetes.io/managed-by")),
			    "saqr-operator");
	assert_string_equal(json_string_value(json_object_get(json_path(obj, "metadata.labels"),
							      "app.kubernetes.io/part-of")),
			    "saqr");
	assert_int_equal(json_array_size(json_path(obj, "metadata.ownerReferences")), 1);
	assert_string_equal(S(ref, "kind"), "ModelDeployment");
	assert_string_equal(S(ref, "apiVersion"), "saqr.dev/v1alpha1");
	assert_string_equal(S(ref, "name"), "fraud");
	assert_string_equal(S(ref, "uid"), "6f1c2a7e-0b9d-4c55-9e0e-2f7a1d3c4b10");
	assert_true(json_is_true(json_object_get(ref, "controller")));
	assert_true(json_is_true(json_object_get(ref, "blockOwnerDeletion")));
}

static const char *label(const json_t *labels, const char *key)
{
	const char *v = json_string_value(json_object_get(labels, key));

	return v ? v : "<missing>";
}

static void check_hardened(const json_t *pod)
{
	const json_t *c = json_path(pod, "containers.0");

	assert_true(json_is_false(json_object_get(pod, "automountServiceAccountToken")));
	assert_true(json_is_true(json_path(pod, "securityContext.runAsNonRoot")));
	assert_string_equal(S(pod, "securityContext.seccompProfile.type"), "RuntimeDefault");
	assert_true(json_is_false(json_path(c, "securityContext.allowPrivilegeEscalation")));
	assert_true(json_is_false(json_path(c, "securityContext.privileged")));
	assert_true(json_is_true(json_path(c, "securityContext.readOnlyRootFilesystem")));
	assert_int_equal(json_array_size(json_path(c, "securityContext.capabilities.drop")), 1);
	assert_string_equal(S(c, "securityContext.capabilities.drop.0"), "ALL");
	assert_null(json_path(c, "securityContext.capabilities.add"));
	/* writable /tmp on the read-only root filesystem */
	assert_string_equal(S(pod, "volumes.0.name"), "tmp");
	assert_true(json_is_object(json_path(pod, "volumes.0.emptyDir")));
	assert_string_equal(S(c, "volumeMounts.0.name"), "tmp");
	assert_string_equal(S(c, "volumeMounts.0.mountPath"), "/tmp");
}

static const char *env_val(const json_t *c, const char *name)
{
	return json_path_str(opfix_env(c, name), "value", "<missing>");
}

static void test_primary_deployment(void **state)
{
	json_t *md = load_plain("md_fraud.json");
	struct md_desired d;
	const json_t *dep, *tmpl, *pod, *c, *labels;

	(void)state;
	assert_int_equal(md_desired(md, NULL, &d), 0);
	assert_int_equal(d.owned[MD_OWNED_DEPLOYMENT].action, OBJMETA_APPLY);
	assert_string_equal(d.owned[MD_OWNED_DEPLOYMENT].name, "fraud");
	assert_string_equal(d.owned[MD_OWNED_DEPLOYMENT].res.resource, "deployments");
	assert_string_equal(d.owned[MD_OWNED_DEPLOYMENT].res.group, "apps");
	dep = d.owned[MD_OWNED_DEPLOYMENT].obj;
	check_meta(dep, "apps/v1", "Deployment", "fraud");
	labels = json_path(dep, "metadata.labels");
	assert_string_equal(label(labels, "app.kubernetes.io/name"), "fraud-detector");
	assert_string_equal(label(labels, "app.kubernetes.io/component"), "model-server");
	assert_string_equal(label(labels, "saqr.dev/modeldeployment"), "fraud");
	assert_int_equal(I(dep, "spec.replicas"), 3);
	/* the selector carries only labels that never change for the life of the resource */
	assert_int_equal(json_object_size(json_path(dep, "spec.selector.matchLabels")), 2);
	assert_string_equal(label(json_path(dep, "spec.selector.matchLabels"), "saqr.dev/modeldeployment"),
			    "fraud");
	assert_string_equal(label(json_path(dep, "spec.selector.matchLabels"), "app.kubernetes.io/component"),
			    "model-server");
	assert_string_equal(S(dep, "spec.strategy.type"), "RollingUpdate");
	assert_int_equal(I(dep, "spec.strategy.rollingUpdate.maxUnavailable"), 0);
	tmpl = json_path(dep, "spec.template");
	assert_true(json_equal(json_path(tmpl, "metadata.labels"), (json_t *)labels));
	assert_string_equal(label(json_path(tmpl, "metadata.annotations"), "saqr.dev/model-version"),
			    "1.4.0");
	assert_string_equal(label(json_path(tmpl, "metadata.annotations"), "saqr.dev/model-digest"),
			    S(md, "spec.model.digest"));
	pod = json_path(tmpl, "spec");
	check_hardened(pod);
	assert_string_equal(S(pod, "serviceAccountName"), "fraud-server");
	assert_true(
	    json_equal(json_object_get(pod, "nodeSelector"), json_path(md, "spec.scheduling.nodeSelector")));
	assert_true(
	    json_equal(json_object_get(pod, "tolerations"), json_path(md, "spec.scheduling.tolerations")));
	assert_true(json_equal(json_object_get(pod, "affinity"), json_path(md, "spec.scheduling.affinity")));
	assert_string_equal(S(pod, "priorityClassName"), "ml-serving");
	assert_null(json_object_get(pod, "restartPolicy"));
	c = json_path(pod, "containers.0");
	assert_int_equal(json_array_size(json_object_get(pod, "containers")), 1);
	assert_string_equal(S(c, "name"), "model-server");
	assert_string_equal(S(c, "image"), S(md, "spec.server.image"));
	assert_true(json_equal(json_object_get(c, "command"), json_path(md, "spec.server.command")));
	assert_true(json_equal(json_object_get(c, "args"), json_path(md, "spec.server.args")));
	assert_true(json_equal(json_object_get(c, "resources"), json_path(md, "spec.server.resources")));
	/* the pod template's labels are a copy: labelling the Deployment must not roll its pods */
	json_object_set_new(json_path(dep, "metadata.labels"), "team", json_string("payments"));
	assert_null(json_object_get(json_path(tmpl, "metadata.labels"), "team"));
	md_desired_release(&d);
	json_decref(md);
}

/* The compliance labels and annotations reach the Deployment and its pod template (so the
 * ReplicaSets and Pods Kubernetes creates from it are admitted); other labels do not. */
static void test_compliance_inherited(void **state)
{
	json_t *md = load("md_fraud.json");
	json_t *labels = json_path(md, "metadata.labels");
	const json_t *dep, *where[2];
	struct md_desired d;

	(void)state;
	json_object_set_new(labels, "saqr.dev/data-classification", json_string("confidential"));
	json_object_set_new(labels, "saqr.dev/owner", json_string("fraud-team"));
	json_object_set_new(labels, "team", json_string("payments"));
	set_path(md, "metadata", "annotations",
		 json_pack("{s:s, s:s}", "saqr.dev/break-glass", "incident 42; expires=2030-01-01T00:00:00Z",
			   "kubectl.kubernetes.io/last-applied-configuration", "{}"));
	assert_int_equal(md_desired(md, NULL, &d), 0);
	dep = d.owned[MD_OWNED_DEPLOYMENT].obj;
	where[0] = json_path(dep, "metadata");
	where[1] = json_path(dep, "spec.template.metadata");
	for (int i = 0; i < 2; i++) {
		const json_t *l = json_object_get(where[i], "labels");
		const json_t *a = json_object_get(where[i], "annotations");

		assert_string_equal(label(l, "saqr.dev/data-residency"), "uae");
		assert_string_equal(label(l, "saqr.dev/data-classification"), "confidential");
		assert_string_equal(label(l, "saqr.dev/owner"), "fraud-team");
		assert_null(json_object_get(l, "team"));
		assert_string_equal(label(a, "saqr.dev/break-glass"),
				    "incident 42; expires=2030-01-01T00:00:00Z");
		assert_null(json_object_get(a, "kubectl.kubernetes.io/last-applied-configuration"));
	}
	/* the model annotations stay on the template */
	assert_string_equal(label(json_object_get(where[1], "annotations"), "saqr.dev/model-version"),
			    "1.4.0");
	/* the selector does not change */
	assert_int_equal(json_object_size(json_path(dep, "spec.selector.matchLabels")), 2);
	md_desired_release(&d);
	json_decref(md);
}

static void test_primary_container_env_ports_probe_tls(void **state)
{
	json_t *md = load_plain("md_fraud.json");
	struct md_desired d;
	const json_t *pod, *c;

	(void)state;
	assert_int_equal(md_desired(md, NULL, &d), 0);
	pod = json_path(d.owned[MD_OWNED_DEPLOYMENT].obj, "spec.template.spec");
	c = json_path(pod, "containers.0");
	/* Saqr's variables first, then the user's, in order */
	assert_int_equal(opfix_env_index(c, "SAQR_MODEL_URI"), 0);
	assert_string_equal(env_val(c, "SAQR_MODEL_URI"), "s3://saqr-models/fraud/1.4.0/model.onnx");
	assert_string_equal(env_val(c, "SAQR_MODEL_DIGEST"), S(md, "spec.model.digest"));
	assert_string_equal(env_val(c, "SAQR_MODEL_FORMAT"), "onnx");
	assert_string_equal(env_val(c, "SAQR_MODEL_VERSION"), "1.4.0");
	assert_string_equal(env_val(c, "SAQR_TLS_DIR"), "/etc/saqr/tls");
	assert_int_equal(opfix_env_index(c, "LOG_LEVEL"), 6);
	assert_int_equal(opfix_env_index(c, "POD_NAME"), 7);
	assert_string_equal(S(opfix_env(c, "POD_NAME"), "valueFrom.fieldRef.fieldPath"), "metadata.name");
	assert_int_equal(json_array_size(json_object_get(c, "env")), 8);
	/* port named https: TLS is on */
	assert_int_equal(json_array_size(json_object_get(c, "ports")), 1);
	assert_string_equal(S(c, "ports.0.name"), "https");
	assert_int_equal(I(c, "ports.0.containerPort"), 8080);
	assert_string_equal(S(c, "ports.0.protocol"), "TCP");
	/* readiness on readinessPath, HTTPS because TLS is on */
	assert_string_equal(S(c, "readinessProbe.httpGet.path"), "/v2/health/ready");
	assert_string_equal(S(c, "readinessProbe.httpGet.port"), "https");
	assert_string_equal(S(c, "readinessProbe.httpGet.scheme"), "HTTPS");
	/* the TLS secret, read-only */
	assert_string_equal(S(pod, "volumes.1.name"), "tls");
	assert_string_equal(S(pod, "volumes.1.secret.secretName"), "fraud-tls");
	assert_string_equal(S(c, "volumeMounts.1.name"), "tls");
	assert_string_equal(S(c, "volumeMounts.1.mountPath"), "/etc/saqr/tls");
	assert_true(json_is_true(json_path(c, "volumeMounts.1.readOnly")));
	md_desired_release(&d);
	json_decref(md);
}

static void test_service_netpol_pdb(void **state)
{
	json_t *md = load_plain("md_fraud.json");
	struct md_desired d;
	const json_t *svc, *np, *pdb, *rule, *from;

	(void)state;
	assert_int_equal(md_desired(md, NULL, &d), 0);
	svc = d.owned[MD_OWNED_SERVICE].obj;
	check_meta(svc, "v1", "Service", "fraud");
	assert_string_equal(d.owned[MD_OWNED_SERVICE].res.resource, "services");
	assert_string_equal(S(svc, "spec.type"), "ClusterIP");
	/* selects the primary and the canary alike */
	assert_int_equal(json_object_size(json_path(svc, "spec.selector")), 1);
	assert_string_equal(label(json_path(svc, "spec.selector"), "saqr.dev/modeldeployment"), "fraud");
	assert_string_equal(S(svc, "spec.ports.0.name"), "https");
	assert_int_equal(I(svc, "spec.ports.0.port"), 8080);
	assert_string_equal(S(svc, "spec.ports.0.targetPort"), "https");

	np = d.owned[MD_OWNED_NETWORKPOLICY].obj;
	check_meta(np, "networking.k8s.io/v1", "NetworkPolicy", "fraud");
	assert_string_equal(label(json_path(np, "spec.podSelector.matchLabels"), "saqr.dev/modeldeployment"),
			    "fraud");
	assert_int_equal(json_array_size(json_path(np, "spec.policyTypes")), 1);
	assert_string_equal(S(np, "spec.policyTypes.0"), "Ingress");
	assert_int_equal(json_array_size(json_path(np, "spec.ingress")), 1);
	rule = json_path(np, "spec.ingress.0");
	assert_int_equal(json_array_size(json_object_get(rule, "ports")), 1);
	assert_int_equal(I(rule, "ports.0.port"), 8080);
	assert_string_equal(S(rule, "ports.0.protocol"), "TCP");
	from = json_object_get(rule, "from");
	assert_int_equal(json_array_size(from), 2);
	assert_int_equal(json_object_size(json_path(from, "0.podSelector")), 0); /* own namespace */
	assert_null(json_path(from, "0.namespaceSelector"));
	assert_string_equal(S(from, "1.namespaceSelector.matchExpressions.0.key"),
			    "kubernetes.io/metadata.name");
	assert_string_equal(S(from, "1.namespaceSelector.matchExpressions.0.operator"), "In");
	assert_true(json_equal(json_path(from, "1.namespaceSelector.matchExpressions.0.values"),
			       json_path(md, "spec.security.allowedNamespaces")));

	pdb = d.owned[MD_OWNED_PDB].obj;
	assert_int_equal(d.owned[MD_OWNED_PDB].action, OBJMETA_APPLY);
	check_meta(pdb, "policy/v1", "PodDisruptionBudget", "fraud");
	assert_int_equal(I(pdb, "spec.maxUnavailable"), 1);
	assert_string_equal(label(json_path(pdb, "spec.selector.matchLabels"), "saqr.dev/modeldeployment"),
			    "fraud");

	/* no canary, no autoscaling: those are deleted */
	assert_int_equal(d.owned[MD_OWNED_CANARY].action, OBJMETA_DELETE);
	assert_string_equal(d.owned[MD_OWNED_CANARY].name, "fraud-canary");
	assert_null(d.owned[MD_OWNED_CANARY].obj);
	assert_int_equal(d.owned[MD_OWNED_HPA].action, OBJMETA_DELETE);
	assert_string_equal(d.owned[MD_OWNED_HPA].name, "fraud");
	assert_string_equal(d.owned[MD_OWNED_HPA].res.group, "autoscaling");
	assert_string_equal(d.owned[MD_OWNED_HPA].res.version, "v2");
	assert_null(d.owned[MD_OWNED_HPA].obj);
	md_desired_release(&d);
	json_decref(md);
}

static void test_extra_ingress_namespace_and_minimal(void **state)
{
	json_t *md = load_plain("md_fraud.json");
	struct md_options opts = {.extra_ingress_namespace = "saqr-system"};
	struct md_desired d;
	const json_t *vals, *c, *pod;

	(void)state;
	assert_int_equal(md_desired(md, &opts, &d), 0);
	vals = json_path(d.owned[MD_OWNED_NETWORKPOLICY].obj,
			 "spec.ingress.0.from.1.namespaceSelector.matchExpressions.0.values");
	assert_int_equal(json_array_size(vals), 3);
	assert_string_equal(json_string_value(json_array_get(vals, 2)), "saqr-system");
	md_desired_release(&d);
	/* no allowedNamespaces, no TLS, no readinessPath, one replica, no scheduling */
	json_object_del(json_path(md, "spec"), "security");
	json_object_del(json_path(md, "spec"), "scheduling");
	json_object_del(json_path(md, "spec.server"), "readinessPath");
	set_path(md, "spec", "replicas", json_integer(1));
	assert_int_equal(md_desired(md, NULL, &d), 0);
	assert_int_equal(
	    json_array_size(json_path(d.owned[MD_OWNED_NETWORKPOLICY].obj, "spec.ingress.0.from")), 1);
	pod = json_path(d.owned[MD_OWNED_DEPLOYMENT].obj, "spec.template.spec");
	c = json_path(pod, "containers.0");
	assert_int_equal(json_array_size(json_object_get(pod, "volumes")), 1);
	assert_null(json_object_get(pod, "serviceAccountName"));
	assert_null(json_object_get(pod, "nodeSelector"));
	assert_null(opfix_env(c, "SAQR_TLS_DIR"));
	assert_string_equal(S(c, "readinessProbe.tcpSocket.port"), "http");
	assert_null(json_path(c, "readinessProbe.httpGet"));
	assert_int_equal(d.owned[MD_OWNED_PDB].action, OBJMETA_DELETE); /* one replica: no PDB */
	assert_null(d.owned[MD_OWNED_PDB].obj);
	md_desired_release(&d);
	json_decref(md);
}

static void test_canary_autoscaling_grpc(void **state)
{
	json_t *md = load("md_ranker_canary.json");
	struct md_desired d;
	const json_t *prim, *can, *hpa, *c, *svc;
	char url[256];

	(void)state;
	assert_int_equal(md_desired(md, NULL, &d), 0);
	prim = d.owned[MD_OWNED_DEPLOYMENT].obj;
	can = d.owned[MD_OWNED_CANARY].obj;
	/* autoscaling: the HPA owns the primary's replicas */
	assert_null(json_path(prim, "spec.replicas"));
	/* minReplicas 4, weight 25: canary round(4*25/100) = 1 */
	assert_int_equal(d.owned[MD_OWNED_CANARY].action, OBJMETA_APPLY);
	assert_string_equal(d.owned[MD_OWNED_CANARY].name, "ranker-canary");
	assert_string_equal(S(can, "metadata.name"), "ranker-canary");
	assert_int_equal(I(can, "spec.replicas"), 1);
	assert_string_equal(label(json_path(can, "spec.selector.matchLabels"), "app.kubernetes.io/component"),
			    "canary");
	assert_string_equal(label(json_path(can, "metadata.labels"), "app.kubernetes.io/component"),
			    "canary");
	/* the canary serves canary.model, inheriting the rest (format) from spec.model */
	c = json_path(can, "spec.template.spec.containers.0");
	assert_string_equal(env_val(c, "SAQR_MODEL_URI"),
			    "oci://registry.example.ae/models/ranker:2.1.0-rc1");
	assert_string_equal(env_val(c, "SAQR_MODEL_VERSION"), "2.1.0-rc1");
	assert_string_equal(env_val(c, "SAQR_MODEL_FORMAT"), "triton");
	assert_null(opfix_env(c, "SAQR_MODEL_DIGEST"));
	assert_string_equal(
	    label(json_path(can, "spec.template.metadata.annotations"), "saqr.dev/model-version"),
	    "2.1.0-rc1");
	/* gRPC: port named grpc, TCP readiness */
	assert_string_equal(S(c, "ports.0.name"), "grpc");
	assert_int_equal(I(c, "ports.0.containerPort"), 9000);
	assert_string_equal(S(c, "readinessProbe.tcpSocket.port"), "grpc");
	svc = d.owned[MD_OWNED_SERVICE].obj;
	assert_string_equal(S(svc, "spec.ports.0.name"), "grpc");
	assert_int_equal(I(svc, "spec.ports.0.port"), 9000);
	/* HPA on the primary: min 4-1 = 3, max 10-1 = 9 */
	hpa = d.owned[MD_OWNED_HPA].obj;
	assert_int_equal(d.owned[MD_OWNED_HPA].action, OBJMETA_APPLY);
	assert_string_equal(S(hpa, "apiVersion"), "autoscaling/v2");
	assert_string_equal(S(hpa, "kind"), "HorizontalPodAutoscaler");
	assert_string_equal(S(hpa, "spec.scaleTargetRef.apiVersion"), "apps/v1");
	assert_string_equal(S(hpa, "spec.scaleTargetRef.kind"), "Deployment");
	assert_string_equal(S(hpa, "spec.scaleTargetRef.name"), "ranker");
	assert_int_equal(I(hpa, "spec.minReplicas"), 3);
	assert_int_equal(I(hpa, "spec.maxReplicas"), 9);
	assert_int_equal(json_array_size(json_path(hpa, "spec.metrics")), 1);
	assert_string_equal(S(hpa, "spec.metrics.0.type"), "Resource");
	assert_string_equal(S(hpa, "spec.metrics.0.resource.name"), "cpu");
	assert_string_equal(S(hpa, "spec.metrics.0.resource.target.type"), "Utilization");
	assert_int_equal(I(hpa, "spec.metrics.0.resource.target.averageUtilization"), 65);
	/* minReplicas 4 ≥ 2: a PDB */
	assert_int_equal(d.owned[MD_OWNED_PDB].action, OBJMETA_APPLY);
	assert_int_equal(md_url(md, url, sizeof(url)), 0);
	assert_string_equal(url, "ranker.search.svc:9000");
	md_desired_release(&d);
	json_decref(md);
}

static void test_fixed_replicas_canary_split(void **state)
{
	json_t *md = load("md_fraud.json");
	struct md_desired d;
	const json_t *c;

	(void)state;
	set_path(md, "spec", "replicas", json_integer(10));
	set_path(md, "spec", "canary",
		 json_pack("{s:{s:s, s:s}, s:i}", "model", "version", "1.5.0", "uri",
			   "s3://saqr-models/fraud/1.5.0/", "weight", 20));
	assert_int_equal(md_desired(md, NULL, &d), 0);
	assert_int_equal(I(d.owned[MD_OWNED_DEPLOYMENT].obj, "spec.replicas"), 8);
	assert_int_equal(I(d.owned[MD_OWNED_CANARY].obj, "spec.replicas"), 2);
	/* the canary inherits name and format, never the primary's digest */
	c = json_path(d.owned[MD_OWNED_CANARY].obj, "spec.template.spec.containers.0");
	assert_string_equal(env_val(c, "SAQR_MODEL_URI"), "s3://saqr-models/fraud/1.5.0/");
	assert_string_equal(env_val(c, "SAQR_MODEL_FORMAT"), "onnx");
	assert_string_equal(env_val(c, "SAQR_MODEL_NAME"), "fraud-detector");
	assert_null(opfix_env(c, "SAQR_MODEL_DIGEST"));
	assert_null(
	    json_object_get(json_path(d.owned[MD_OWNED_CANARY].obj, "spec.template.metadata.annotations"),
			    "saqr.dev/model-digest"));
	md_desired_release(&d);
	/* weight 0: the canary is removed */
	set_path(md, "spec.canary", "weight", json_integer(0));
	assert_int_equal(md_desired(md, NULL, &d), 0);
	assert_int_equal(d.owned[MD_OWNED_CANARY].action, OBJMETA_DELETE);
	assert_int_equal(I(d.owned[MD_OWNED_DEPLOYMENT].obj, "spec.replicas"), 10);
	md_desired_release(&d);
	json_decref(md);
}

static void test_model_change_keeps_selector(void **state)
{
	json_t *md = load("md_fraud.json");
	struct md_desired a, b;
	const json_t *da, *db;

	(void)state;
	assert_int_equal(md_desired(md, NULL, &a), 0);
	set_path(md, "spec.model", "version", json_string("1.5.0"));
	set_path(md, "spec.model", "name", json_string("fraud-detector-v2"));
	set_path(md, "spec.model", "digest",
		 json_string("sha256:"
			     "abababababababababababababababababababababababababababababababab"));
	assert_int_equal(md_desired(md, NULL, &b), 0);
	da = a.owned[MD_OWNED_DEPLOYMENT].obj;
	db = b.owned[MD_OWNED_DEPLOYMENT].obj;
	assert_true(json_equal(json_path(da, "spec.selector"), json_path(db, "spec.selector")));
	assert_true(json_equal(json_path(a.owned[MD_OWNED_SERVICE].obj, "spec.selector"),
			       json_path(b.owned[MD_OWNED_SERVICE].obj, "spec.selector")));
	/* but the pod template changes, so the pods roll */
	assert_false(json_equal(json_path(da, "spec.template.metadata.annotations"),
				json_path(db, "spec.template.metadata.annotations")));
	md_desired_release(&a);
	md_desired_release(&b);
	json_decref(md);
}

static void test_deterministic(void **state)
{
	json_t *md = load("md_ranker_canary.json");
	struct md_desired a, b;

	(void)state;
	assert_int_equal(md_desired(md, NULL, &a), 0);
	assert_int_equal(md_desired(md, NULL, &b), 0);
	for (int i = 0; i < MD_OWNED_COUNT; i++) {
		assert_int_equal(a.owned[i].action, b.owned[i].action);
		assert_string_equal(a.owned[i].name, b.owned[i].name);
		assert_true(json_equal(a.owned[i].obj, b.owned[i].obj) ||
			    (!a.owned[i].obj && !b.owned[i].obj));
	}
	md_desired_release(&a);
	md_desired_release(&b);
	json_decref(md);
}

static void test_long_name(void **state)
{
	json_t *md = load("md_fraud.json");
	const char *name = "fraud-detection-model-for-the-payments-platform-in-the-uae-north-region";
	struct md_desired d;

	(void)state;
	set_path(md, "metadata", "name", json_string(name));
	assert_int_equal(md_desired(md, NULL, &d), 0);
	for (int i = 0; i < MD_OWNED_COUNT; i++)
		assert_true(strlen(d.owned[i].name) <= 63);
	assert_string_not_equal(d.owned[MD_OWNED_DEPLOYMENT].name, d.owned[MD_OWNED_CANARY].name);
	assert_string_equal(S(d.owned[MD_OWNED_DEPLOYMENT].obj, "metadata.name"),
			    d.owned[MD_OWNED_DEPLOYMENT].name);
	/* label values are cut too */
	assert_true(strlen(label(json_path(d.owned[MD_OWNED_DEPLOYMENT].obj, "metadata.labels"),
				 "app.kubernetes.io/instance")) <= 63);
	md_desired_release(&d);
	json_decref(md);
}

static void expect_invalid(json_t *md, const char *needle)
{
	char reason[64] = "", msg[512] = "";
	struct md_desired d;

	assert_false(md_validate(md, reason, sizeof(reason), msg, sizeof(msg)));
	assert_string_equal(reason, "InvalidSpec");
	if (!strstr(msg, needle))
		fail_msg("message \"%s\" lacks \"%s\"", msg, needle);
	assert_int_equal(md_desired(md, NULL, &d), SAQR_EINVAL);
	json_decref(md);
}

static void test_validation(void **state)
{
	json_t *md;
	char reason[64] = "", msg[512] = "";

	(void)state;
	md = load("md_fraud.json");
	assert_true(md_validate(md, reason, sizeof(reason), msg, sizeof(msg)));
	json_decref(md);

	md = load("md_fraud.json");
	set_path(md, "spec", "replicas", json_integer(1));
	set_path(md, "spec", "canary", json_pack("{s:{s:s}, s:i}", "model", "uri", "s3://m/2", "weight", 10));
	expect_invalid(md, "canary needs 2 or more replicas");

	md = load("md_fraud.json");
	set_path(md, "spec", "canary", json_pack("{s:{s:s}, s:i}", "model", "version", "2", "weight", 10));
	expect_invalid(md, "spec.canary.model.uri is empty");

	md = load("md_fraud.json");
	json_array_append_new(json_path(md, "spec.server.env"),
			      json_pack("{s:s, s:s}", "name", "SAQR_MODEL_URI", "value", "x"));
	expect_invalid(md, "spec.server.env[2] sets SAQR_MODEL_URI");

	md = load("md_fraud.json");
	json_array_append_new(json_path(md, "spec.server.env"),
			      json_pack("{s:s, s:s}", "name", "LOG_LEVEL", "value", "x"));
	expect_invalid(md, "repeats the variable LOG_LEVEL");

	md = load("md_fraud.json");
	json_array_append_new(json_path(md, "spec.server.env"), json_pack("{s:s}", "value", "x"));
	expect_invalid(md, "has no name");

	md = load("md_fraud.json");
	set_path(md, "spec", "autoscaling", json_pack("{s:i, s:i}", "minReplicas", 5, "maxReplicas", 2));
	expect_invalid(md, "minReplicas (5)");

	md = load("md_fraud.json");
	set_path(md, "spec.model", "uri", json_string(""));
	expect_invalid(md, "spec.model.uri is empty");

	md = load("md_fraud.json");
	json_object_del(json_path(md, "spec.server"), "image");
	expect_invalid(md, "spec.server.image is empty");

	md = load("md_fraud.json");
	set_path(md, "spec.server", "port", json_integer(70000));
	expect_invalid(md, "out of range");

	md = load("md_fraud.json");
	json_object_del(md, "spec");
	expect_invalid(md, "no spec");
}

static void test_canary_with_autoscaling_min_one_is_valid(void **state)
{
	json_t *md = load("md_ranker_canary.json");
	char reason[64], msg[512];
	struct md_desired d;

	(void)state;
	set_path(md, "spec.autoscaling", "minReplicas", json_integer(1));
	set_path(md, "spec.autoscaling", "maxReplicas", json_integer(1));
	assert_true(md_validate(md, reason, sizeof(reason), msg, sizeof(msg)));
	assert_int_equal(md_desired(md, NULL, &d), 0);
	assert_int_equal(I(d.owned[MD_OWNED_CANARY].obj, "spec.replicas"), 1);
	assert_int_equal(I(d.owned[MD_OWNED_HPA].obj, "spec.minReplicas"), 1);
	assert_int_equal(I(d.owned[MD_OWNED_HPA].obj, "spec.maxReplicas"), 1);
	assert_int_equal(d.owned[MD_OWNED_PDB].action, OBJMETA_DELETE);
	md_desired_release(&d);
	json_decref(md);
}

static void test_errors(void **state)
{
	json_t *md = load("md_fraud.json");
	struct md_desired d;
	char buf[OBJMETA_NAME_BUF], tiny[8];

	(void)state;
	assert_int_equal(md_desired(md, NULL, NULL), SAQR_EINVAL);
	assert_int_equal(md_desired(NULL, NULL, &d), SAQR_EINVAL);
	assert_int_equal(md_url(md, tiny, sizeof(tiny)), SAQR_ETOOBIG);
	assert_int_equal(md_url(NULL, buf, sizeof(buf)), SAQR_EINVAL);
	assert_int_equal(md_names(md, buf, NULL), 0);
	assert_string_equal(buf, "fraud");
	json_object_del(json_path(md, "metadata"), "uid");
	assert_int_equal(md_desired(md, NULL, &d), SAQR_EINVAL); /* no owner reference possible */
	json_object_del(json_path(md, "metadata"), "namespace");
	assert_int_equal(md_names(md, buf, NULL), SAQR_EINVAL);
	md_desired_release(NULL);
	json_decref(md);
}

/* ---- saqr-agent and saqr-fetch (sidecars.c) ---- */

/* The index of the first arg equal to flag in c's args, or -1. */
static int arg_index(const json_t *c, const char *flag)
{
	size_t i;
	json_t *a;

	json_array_foreach(json_object_get(c, "args"), i, a)
	{
		if (strcmp(json_string_value(a), flag) == 0)
			return (int)i;
	}
	return -1;
}

/* The value after flag, or "<missing>". */
static const char *arg_val(const json_t *c, const char *flag)
{
	int i = arg_index(c, flag);
	const char *v =
	    i < 0 ? NULL : json_string_value(json_array_get(json_object_get(c, "args"), (size_t)i + 1));

	return v ? v : "<missing>";
}

/* The mount of volume name in c, or NULL. */
static const json_t *mount_of(const json_t *c, const char *name)
{
	size_t i;
	json_t *m;

	json_array_foreach(json_object_get(c, "volumeMounts"), i, m)
	{
		if (strcmp(S(m, "name"), name) == 0)
			return m;
	}
	return NULL;
}

static const json_t *volume_of(const json_t *pod, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(json_object_get(pod, "volumes"), i, v)
	{
		if (strcmp(S(v, "name"), name) == 0)
			return v;
	}
	return NULL;
}

static void check_hardened_container(const json_t *c)
{
	assert_true(json_is_false(json_path(c, "securityContext.allowPrivilegeEscalation")));
	assert_true(json_is_false(json_path(c, "securityContext.privileged")));
	assert_true(json_is_true(json_path(c, "securityContext.readOnlyRootFilesystem")));
	assert_string_equal(S(c, "securityContext.capabilities.drop.0"), "ALL");
	assert_non_null(mount_of(c, "tmp"));
}

static void test_agent_sidecar(void **state)
{
	json_t *md = load("md_fraud.json");
	struct md_options opts = {.extra_ingress_namespace = "saqr-system",
				  .agent_image = "registry.example.ae/saqr/saqr-agent@sha256:aa"};
	struct md_desired d;
	const json_t *pod, *server, *agent, *svc, *np;

	(void)state;
	assert_int_equal(md_desired(md, &opts, &d), 0);
	pod = json_path(d.owned[MD_OWNED_DEPLOYMENT].obj, "spec.template.spec");
	check_hardened(pod);
	assert_int_equal(json_array_size(json_object_get(pod, "containers")), 2);
	server = json_path(pod, "containers.0");
	agent = json_path(pod, "containers.1");
	assert_string_equal(S(server, "name"), "model-server");
	assert_string_equal(S(agent, "name"), "saqr-agent");
	assert_string_equal(S(agent, "image"), opts.agent_image);
	check_hardened_container(agent);
	/* the agent terminates TLS with the ModelDeployment's Secret and forwards on loopback */
	assert_string_equal(arg_val(agent, "--upstream"), "127.0.0.1:8080");
	assert_string_equal(arg_val(agent, "--port"), "8443");
	assert_string_equal(arg_val(agent, "--metrics-port"), "9090");
	assert_string_equal(arg_val(agent, "--cert-file"), "/etc/saqr/tls/tls.crt");
	assert_string_equal(arg_val(agent, "--key-file"), "/etc/saqr/tls/tls.key");
	assert_int_equal(arg_index(agent, "--config-file"), -1);
	assert_string_equal(S(mount_of(agent, "tls"), "mountPath"), "/etc/saqr/tls");
	assert_true(json_is_true(json_object_get(mount_of(agent, "tls"), "readOnly")));
	assert_string_equal(S(agent, "ports.0.name"), "https");
	assert_int_equal(I(agent, "ports.0.containerPort"), 8443);
	assert_string_equal(S(agent, "ports.1.name"), "metrics");
	assert_int_equal(I(agent, "ports.1.containerPort"), 9090);
	assert_string_equal(S(agent, "readinessProbe.httpGet.path"), "/readyz");
	assert_string_equal(S(agent, "readinessProbe.httpGet.port"), "metrics");
	assert_string_equal(S(agent, "resources.requests.cpu"), "50m");
	/* the server speaks plain HTTP behind it: no TLS of its own, its port renamed */
	assert_null(opfix_env(server, "SAQR_TLS_DIR"));
	assert_null(mount_of(server, "tls"));
	assert_string_equal(S(server, "ports.0.name"), "server");
	assert_int_equal(I(server, "ports.0.containerPort"), 8080);
	assert_string_equal(S(server, "readinessProbe.httpGet.port"), "server");
	assert_string_equal(S(server, "readinessProbe.httpGet.scheme"), "HTTP");
	/* the Service's port targets the agent's TLS port (by name); the URL does not move */
	svc = d.owned[MD_OWNED_SERVICE].obj;
	assert_int_equal(I(svc, "spec.ports.0.port"), 8080);
	assert_string_equal(S(svc, "spec.ports.0.targetPort"), S(agent, "ports.0.name"));
	/* the NetworkPolicy opens the agent's port, and its metrics port to the operator's namespace */
	np = d.owned[MD_OWNED_NETWORKPOLICY].obj;
	assert_int_equal(json_array_size(json_path(np, "spec.ingress")), 2);
	assert_int_equal(I(np, "spec.ingress.0.ports.0.port"), 8443);
	assert_int_equal(json_array_size(json_path(np, "spec.ingress.1.from")), 1);
	assert_string_equal(label(json_path(np, "spec.ingress.1.from.0.namespaceSelector.matchLabels"),
				  "kubernetes.io/metadata.name"),
			    "saqr-system");
	assert_int_equal(I(np, "spec.ingress.1.ports.0.port"), 9090);
	md_desired_release(&d);
	/* without an operator namespace: no metrics rule; without TLS: plain http on the agent port */
	json_object_del(json_path(md, "spec.security"), "tlsSecretName");
	assert_int_equal(md_desired(md, NULL, &d), 0);
	pod = json_path(d.owned[MD_OWNED_DEPLOYMENT].obj, "spec.template.spec");
	agent = json_path(pod, "containers.1");
	assert_string_equal(S(agent, "image"), MD_AGENT_DEFAULT_IMAGE);
	assert_string_equal(S(agent, "ports.0.name"), "http");
	assert_int_equal(arg_index(agent, "--cert-file"), -1);
	assert_null(mount_of(agent, "tls"));
	assert_null(volume_of(pod, "tls"));
	assert_string_equal(S(d.owned[MD_OWNED_SERVICE].obj, "spec.ports.0.targetPort"), "http");
	assert_int_equal(json_array_size(json_path(d.owned[MD_OWNED_NETWORKPOLICY].obj, "spec.ingress")), 1);
	md_desired_release(&d);
	json_decref(md);
}

static void test_agent_settings(void **state)
{
	json_t *md = load("md_fraud.json");
	struct md_desired d;
	const json_t *pod, *agent;

	(void)state;
	set_path(md, "spec", "agent",
		 json_pack("{s:s, s:i, s:i, s:s, s:{s:{s:s}}}", "image", "my/agent@sha256:bb", "port", 9443,
			   "metricsPort", 9100, "config", "fraud-agent", "resources", "limits", "memory",
			   "1Gi"));
	assert_int_equal(md_desired(md, NULL, &d), 0);
	pod = json_path(d.owned[MD_OWNED_DEPLOYMENT].obj, "spec.template.spec");
	agent = json_path(pod, "containers.1");
	assert_string_equal(S(agent, "image"), "my/agent@sha256:bb");
	assert_string_equal(arg_val(agent, "--port"), "9443");
	assert_string_equal(arg_val(agent, "--metrics-port"), "9100");
	assert_string_equal(arg_val(agent, "--config-file"), "/etc/saqr-agent/agent.yaml");
	assert_string_equal(S(mount_of(agent, "agent-config"), "mountPath"), "/etc/saqr-agent");
	assert_string_equal(S(volume_of(pod, "agent-config"), "configMap.name"), "fraud-agent");
	assert_string_equal(S(agent, "resources.limits.memory"), "1Gi");
	assert_null(json_path(agent, "resources.requests"));
	assert_int_equal(I(d.owned[MD_OWNED_NETWORKPOLICY].obj, "spec.ingress.0.ports.0.port"), 9443);
	md_desired_release(&d);
	/* off: the server keeps its TLS and port as before */
	set_path(md, "spec.agent", "enabled", json_false());
	assert_int_equal(md_desired(md, NULL, &d), 0);
	pod = json_path(d.owned[MD_OWNED_DEPLOYMENT].obj, "spec.template.spec");
	assert_int_equal(json_array_size(json_object_get(pod, "containers")), 1);
	assert_string_equal(S(pod, "containers.0.ports.0.name"), "https");
	assert_string_equal(env_val(json_path(pod, "containers.0"), "SAQR_TLS_DIR"), "/etc/saqr/tls");
	assert_int_equal(I(d.owned[MD_OWNED_NETWORKPOLICY].obj, "spec.ingress.0.ports.0.port"), 8080);
	md_desired_release(&d);
	json_decref(md);
}

static void test_fetch_init_container(void **state)
{
	json_t *md = load("md_fraud.json");
	struct md_options opts = {.fetch_image = "registry.example.ae/saqr/saqr-fetch@sha256:cc",
				  .trusted_keys_secret = "saqr-trusted-keys",
				  .trusted_key_names = "signing.pub,next.pub"};
	struct md_desired d;
	const json_t *pod, *init, *server;

	(void)state;
	set_path(md, "spec.model", "signature", json_string("s3://saqr-models/fraud/1.4.0/model.sig"));
	set_path(md, "spec.storage", "secretRef", json_pack("{s:s}", "name", "fraud-s3"));
	set_path(md, "spec", "fetch", json_pack("{s:I}", "maxBytes", (json_int_t)4294967296LL));
	assert_int_equal(md_desired(md, &opts, &d), 0);
	pod = json_path(d.owned[MD_OWNED_DEPLOYMENT].obj, "spec.template.spec");
	assert_int_equal(json_array_size(json_object_get(pod, "initContainers")), 1);
	init = json_path(pod, "initContainers.0");
	server = json_path(pod, "containers.0");
	assert_string_equal(S(init, "name"), "saqr-fetch");
	assert_string_equal(S(init, "image"), opts.fetch_image);
	check_hardened_container(init);
	assert_null(json_object_get(init, "terminationMessagePath")); /* the default, read by the operator */
	assert_string_equal(arg_val(init, "--uri"), "s3://saqr-models/fraud/1.4.0/model.onnx");
	assert_string_equal(arg_val(init, "--dest"), "/models");
	assert_string_equal(arg_val(init, "--digest"), S(md, "spec.model.digest"));
	assert_string_equal(arg_val(init, "--signature"), "s3://saqr-models/fraud/1.4.0/model.sig");
	assert_string_equal(arg_val(init, "--trusted-key"), "/etc/saqr/trusted-keys/signing.pub");
	assert_string_equal(json_string_value(json_array_get(json_object_get(init, "args"),
							     (size_t)arg_index(init, "--trusted-key") + 3)),
			    "/etc/saqr/trusted-keys/next.pub");
	assert_string_equal(arg_val(init, "--s3-region"), "me-central-1");
	assert_string_equal(arg_val(init, "--credentials-dir"), "/etc/saqr/credentials");
	assert_string_equal(arg_val(init, "--max-bytes"), "4294967296");
	assert_true(arg_index(init, "--require-encrypted") >= 0); /* storage.encrypted */
	assert_string_equal(env_val(init, "SAQR_MODEL_PATH"), "/models");
	assert_string_equal(env_val(server, "SAQR_MODEL_PATH"), "/models");
	/* the model: written by saqr-fetch, read-only for the server */
	assert_string_equal(S(volume_of(pod, "model"), "emptyDir.sizeLimit"), "4294967296");
	assert_null(json_object_get(mount_of(init, "model"), "readOnly"));
	assert_string_equal(S(mount_of(init, "model"), "mountPath"), "/models");
	assert_true(json_is_true(json_object_get(mount_of(server, "model"), "readOnly")));
	/* credentials and trusted keys only for saqr-fetch */
	assert_string_equal(S(volume_of(pod, "credentials"), "secret.secretName"), "fraud-s3");
	assert_string_equal(S(volume_of(pod, "trusted-keys"), "secret.secretName"), "saqr-trusted-keys");
	assert_true(json_is_true(json_object_get(mount_of(init, "credentials"), "readOnly")));
	assert_true(json_is_true(json_object_get(mount_of(init, "trusted-keys"), "readOnly")));
	assert_null(mount_of(server, "credentials"));
	assert_null(mount_of(server, "trusted-keys"));
	md_desired_release(&d);
	json_decref(md);
}

static void test_fetch_schemes_and_off(void **state)
{
	json_t *md = load("md_fraud.json");
	struct md_desired d;
	const json_t *pod, *init;

	(void)state;
	/* pvc: the claim mounted read-only where saqr-fetch looks for it; no region, no encryption check */
	set_path(md, "spec.model", "uri", json_string("pvc://models/fraud/1.4.0/"));
	assert_int_equal(md_desired(md, NULL, &d), 0);
	pod = json_path(d.owned[MD_OWNED_DEPLOYMENT].obj, "spec.template.spec");
	init = json_path(pod, "initContainers.0");
	assert_string_equal(S(init, "image"), MD_FETCH_DEFAULT_IMAGE);
	assert_string_equal(S(volume_of(pod, "model-source"), "persistentVolumeClaim.claimName"), "models");
	assert_true(
	    json_is_true(json_path(volume_of(pod, "model-source"), "persistentVolumeClaim.readOnly")));
	assert_string_equal(S(mount_of(init, "model-source"), "mountPath"), "/mnt/pvc/models");
	assert_int_equal(arg_index(init, "--s3-region"), -1);
	assert_int_equal(arg_index(init, "--require-encrypted"), -1);
	assert_int_equal(arg_index(init, "--credentials-dir"), -1);
	assert_null(json_path(volume_of(pod, "model"), "emptyDir.sizeLimit"));
	md_desired_release(&d);
	/* gs: saqr-fetch cannot fetch it; the server loads the model itself */
	set_path(md, "spec.model", "uri", json_string("gs://models/fraud/model.onnx"));
	assert_int_equal(md_desired(md, NULL, &d), 0);
	pod = json_path(d.owned[MD_OWNED_DEPLOYMENT].obj, "spec.template.spec");
	assert_null(json_object_get(pod, "initContainers"));
	assert_null(volume_of(pod, "model"));
	assert_null(opfix_env(json_path(pod, "containers.0"), "SAQR_MODEL_PATH"));
	md_desired_release(&d);
	/* off */
	set_path(md, "spec.model", "uri", json_string("https://models.example.ae/fraud.onnx"));
	set_path(md, "spec", "fetch", json_pack("{s:b}", "enabled", 0));
	assert_int_equal(md_desired(md, NULL, &d), 0);
	pod = json_path(d.owned[MD_OWNED_DEPLOYMENT].obj, "spec.template.spec");
	assert_null(json_object_get(pod, "initContainers"));
	assert_null(volume_of(pod, "model"));
	md_desired_release(&d);
	json_decref(md);
}

static void test_sidecars_canary_grpc(void **state)
{
	json_t *md = load("md_ranker_canary.json");
	struct md_desired d;
	const json_t *prim, *can;

	(void)state;
	assert_int_equal(md_desired(md, NULL, &d), 0);
	prim = json_path(d.owned[MD_OWNED_DEPLOYMENT].obj, "spec.template.spec");
	can = json_path(d.owned[MD_OWNED_CANARY].obj, "spec.template.spec");
	/* gRPC: no agent (HTTP/1.1 only); the NetworkPolicy keeps the server's port */
	assert_int_equal(json_array_size(json_object_get(prim, "containers")), 1);
	assert_int_equal(json_array_size(json_object_get(can, "containers")), 1);
	assert_int_equal(I(d.owned[MD_OWNED_NETWORKPOLICY].obj, "spec.ingress.0.ports.0.port"),
			 I(md, "spec.server.port"));
	/* oci: no saqr-fetch */
	assert_null(json_object_get(prim, "initContainers"));
	md_desired_release(&d);
	/* each Deployment fetches its own model; the canary's digest is its own (here none) */
	set_path(md, "spec.model", "uri", json_string("https://models.example.ae/ranker/2.0.0/"));
	set_path(md, "spec.canary.model", "uri", json_string("s3://models/ranker/2.1.0-rc1/"));
	assert_int_equal(md_desired(md, NULL, &d), 0);
	prim = json_path(d.owned[MD_OWNED_DEPLOYMENT].obj, "spec.template.spec");
	can = json_path(d.owned[MD_OWNED_CANARY].obj, "spec.template.spec");
	assert_string_equal(arg_val(json_path(prim, "initContainers.0"), "--uri"),
			    "https://models.example.ae/ranker/2.0.0/");
	assert_string_equal(arg_val(json_path(can, "initContainers.0"), "--uri"),
			    "s3://models/ranker/2.1.0-rc1/");
	assert_int_equal(arg_index(json_path(can, "initContainers.0"), "--digest"), -1);
	md_desired_release(&d);
	json_decref(md);
}

/* md refused with part in the message; md is kept. */
static void expect_refused(json_t *md, const char *part)
{
	char reason[64], msg[512];

	assert_false(md_validate(md, reason, sizeof(reason), msg, sizeof(msg)));
	assert_string_equal(reason, "InvalidSpec");
	if (!strstr(msg, part))
		fail_msg("message \"%s\" lacks \"%s\"", msg, part);
}

static void test_sidecars_validation(void **state)
{
	json_t *md;
	char reason[64], msg[512];

	(void)state;
	md = load("md_fraud.json");
	set_path(md, "spec", "agent", json_pack("{s:i}", "port", 8080));
	expect_refused(md, "spec.agent.port 8080 is also spec.server.port");
	set_path(md, "spec", "agent", json_pack("{s:i}", "metricsPort", 8443));
	expect_refused(md, "both 8443");
	set_path(md, "spec", "agent", json_pack("{s:b, s:i}", "enabled", 0, "port", 8080));
	assert_true(md_validate(md, reason, sizeof(reason), msg, sizeof(msg))); /* off: no clash */
	json_decref(md);

	md = load("md_fraud.json");
	set_path(md, "spec.model", "signature", json_string("gs://m/model.sig"));
	set_path(md, "spec.model", "uri", json_string("gs://m/model.onnx"));
	expect_refused(md, "does not fetch this URI scheme");
	set_path(md, "spec.model", "uri", json_string("s3://m/model.onnx"));
	set_path(md, "spec", "fetch", json_pack("{s:b}", "enabled", 0));
	expect_refused(md, "spec.fetch.enabled is false");
	json_decref(md);

	md = load("md_fraud.json");
	assert_int_equal(
	    json_array_append_new(json_path(md, "spec.server.env"),
				  json_pack("{s:s, s:s}", "name", "SAQR_MODEL_PATH", "value", "/x")),
	    0);
	expect_refused(md, "SAQR_MODEL_PATH");
	json_decref(md);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_split_replicas),
	    cmocka_unit_test(test_primary_deployment),
	    cmocka_unit_test(test_compliance_inherited),
	    cmocka_unit_test(test_primary_container_env_ports_probe_tls),
	    cmocka_unit_test(test_service_netpol_pdb),
	    cmocka_unit_test(test_extra_ingress_namespace_and_minimal),
	    cmocka_unit_test(test_canary_autoscaling_grpc),
	    cmocka_unit_test(test_fixed_replicas_canary_split),
	    cmocka_unit_test(test_model_change_keeps_selector),
	    cmocka_unit_test(test_deterministic),
	    cmocka_unit_test(test_long_name),
	    cmocka_unit_test(test_validation),
	    cmocka_unit_test(test_canary_with_autoscaling_min_one_is_valid),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_agent_sidecar),
	    cmocka_unit_test(test_agent_settings),
	    cmocka_unit_test(test_fetch_init_container),
	    cmocka_unit_test(test_fetch_schemes_and_off),
	    cmocka_unit_test(test_sidecars_canary_grpc),
	    cmocka_unit_test(test_sidecars_validation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
