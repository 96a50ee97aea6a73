/* Unit tests for operator/modeldeployment/modeldeployment.c: the desired Deployment(s), Service, HPA,
 * NetworkPolicy and PDB of a ModelDeployment, field by field; the canary replica split; the
 * checks the CRD cannot make. */
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
	json_t *md = load("md_fraud.json");
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
		assert_string_equal(label(a, "saqr.dev/break-glass"), "incident 42; expires=2030-01-01T00:00:00Z");
		assert_null(json_object_get(a, "kubectl.kubernetes.io/last-applied-configuration"));
	}
	/* the model annotations stay on the template */
	assert_string_equal(label(json_object_get(where[1], "annotations"), "saqr.dev/model-version"), "1.4.0");
	/* the selector does not change */
	assert_int_equal(json_object_size(json_path(dep, "spec.selector.matchLabels")), 2);
	md_desired_release(&d);
	json_decref(md);
}

static void test_primary_container_env_ports_probe_tls(void **state)
{
	json_t *md = load("md_fraud.json");
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
	json_t *md = load("md_fraud.json");
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
	json_t *md = load("md_fraud.json");
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
