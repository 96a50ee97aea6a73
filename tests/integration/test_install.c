/* Install paths end to end: the Helm chart (lint, renders under several values, schema
 * refusals, certificate reuse through `lookup`), the kustomize tree (manifests/ and the
 * cert-manager overlay), the generated copies (make manifests), and server-side dry runs of
 * both against the real kube-apiserver. Rendered objects are parsed and their key properties
 * asserted: hardened pods, least-privilege RBAC, PDBs, selectors that match, NetworkPolicies,
 * a webhook configuration whose CA verifies the serving certificate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glob.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../support/kubetest.h"
#include "../support/proc.h"
#include "common/jsonutil.h"
#include "common/yamljson.h"

#define NS "saqr-system"
#define KUBE_VERSION "1.34.0"
#define RENDER_MAX ((size_t)32 << 20)
#define TLS_SECRET "saqr-webhook-tls"
#define WEBHOOK_HOST "saqr-webhook." NS ".svc"

/* ---- running tools ---------------------------------------------------------------------- */

static char *path_in_root(const char *rel)
{
	const char *root = kubetest_root();
	size_t n = strlen(root) + strlen(rel) + 2;
	char *p = malloc(n);

	assert_non_null(p);
	snprintf(p, n, "%s/%s", root, rel);
	return p;
}

static char *read_all(const char *path, size_t *len_out)
{
	FILE *f = fopen(path, "rb");
	char *data;
	long size;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return NULL;
	}
	data = malloc((size_t)size + 1);
	if (data != NULL && fread(data, 1, (size_t)size, f) != (size_t)size) {
		free(data);
		data = NULL;
	}
	fclose(f);
	if (data != NULL) {
		data[size] = '\0';
		if (len_out != NULL)
			*len_out = (size_t)size;
	}
	return data;
}

/* Run argv; fail the test with its output unless it exits want_status (-1: anything). */
static void run(const char *const argv[], int want_status, struct proc_result *r)
{
	if (proc_capture(argv, NULL, r) != 0)
		fail_msg("could not run %s (is it on PATH? SAQR_TOOLS_BIN holds helm and kubectl)", argv[0]);
	if (want_status >= 0 && r->status != want_status)
		fail_msg("%s %s exited %d, want %d:\n%s\n%s", argv[0], argv[1] ? argv[1] : "", r->status,
			 want_status, r->out, r->err);
}

static json_t *parse_docs(const char *what, const char *yaml, size_t len)
{
	json_t *docs = NULL;
	char err[512];

	if (yaml_to_json_docs(yaml, len, RENDER_MAX, &docs, err, sizeof(err)) != 0)
		fail_msg("%s does not parse as YAML: %s", what, err);
	return docs;
}

/* `helm template saqr charts/saqr -n saqr-system` plus extra (NULL-terminated). */
static json_t *helm_render(const char *const *extra)
{
	const char *argv[48] = {"helm", "template", "saqr", NULL, "-n", NS, "--kube-version", KUBE_VERSION};
	size_t n = 8;
	struct proc_result r;
	char *chart = path_in_root("charts/saqr");
	json_t *docs;

	argv[3] = chart;
	for (; extra != NULL && *extra != NULL && n < 46; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	run(argv, 0, &r);
	docs = parse_docs("helm template output", r.out, r.out_len);
	proc_result_release(&r);
	free(chart);
	return docs;
}

static json_t *kustomize_render(const char *rel_dir)
{
	char *dir = path_in_root(rel_dir);
	const char *argv[] = {"kubectl", "kustomize", dir, NULL};
	struct proc_result r;
	json_t *docs;

	run(argv, 0, &r);
	docs = parse_docs(rel_dir, r.out, r.out_len);
	proc_result_release(&r);
	free(dir);
	return docs;
}

/* ---- reading rendered objects ------------------------------------------------------------ */

static const char *kind_of(const json_t *o)
{
	return json_path_str(o, "kind", "");
}
static const char *name_of(const json_t *o)
{
	return json_path_str(o, "metadata.name", "");
}

static json_t *find_obj(const json_t *docs, const char *kind, const char *name)
{
	size_t i;
	json_t *o;

	json_array_foreach(docs, i, o)
	{
		if (strcmp(kind_of(o), kind) == 0 && (name == NULL || strcmp(name_of(o), name) == 0))
			return o;
	}
	return NULL;
}

static json_t *must_find(const json_t *docs, const char *kind, const char *name)
{
	json_t *o = find_obj(docs, kind, name);

	if (o == NULL)
		fail_msg("no %s %s in the rendered objects", kind, name ? name : "");
	return o;
}

static size_t count_kind(const json_t *docs, const char *kind)
{
	size_t i, n = 0;
	json_t *o;

	json_array_foreach(docs, i, o) n += strcmp(kind_of(o), kind) == 0;
	return n;
}

static bool str_in_array(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	}
	return false;
}

/* Does a LabelSelector (matchLabels and matchExpressions) select these labels? */
static bool selector_matches(const json_t *sel, const json_t *labels)
{
	const char *k;
	json_t *v, *e;
	size_t i;

	if (!json_is_object(sel))
		return false;
	json_object_foreach(json_object_get(sel, "matchLabels"), k, v)
	{
		const char *have = json_string_value(json_object_get(labels, k));

		if (have == NULL || strcmp(have, json_string_value(v)) != 0)
			return false;
	}
	json_array_foreach(json_object_get(sel, "matchExpressions"), i, e)
	{
		const char *op = json_path_str(e, "operator", "");
		const char *have = json_string_value(json_object_get(labels, json_path_str(e, "key", "")));
		bool in = have != NULL && str_in_array(json_object_get(e, "values"), have);

		if ((strcmp(op, "In") == 0 && !in) || (strcmp(op, "NotIn") == 0 && in) ||
		    (strcmp(op, "Exists") == 0 && have == NULL) ||
		    (strcmp(op, "DoesNotExist") == 0 && have != NULL))
			return false;
	}
	return true;
}

/* A Service-style selector (a plain label map). */
static bool map_selects(const json_t *map, const json_t *labels)
{
	json_t *sel = json_pack("{sO}", "matchLabels", (json_t *)map);
	bool ok = json_object_size(map) > 0 && selector_matches(sel, labels);

	json_decref(sel);
	return ok;
}

/* A string under a map whose keys hold dots (labels, annotations, ConfigMap data), or NULL. */
static const char *dotted_key(const json_t *o, const char *map_path, const char *key)
{
	return json_string_value(json_object_get(json_path(o, map_path), key));
}

static json_t *pod_labels(const json_t *dep)
{
	return json_path(dep, "spec.template.metadata.labels");
}

/* ---- what every install must satisfy ------------------------------------------------------ */

static void check_container(const char *who, const json_t *c, const json_t *pod_sc)
{
	const char *name = json_path_str(c, "name", "?");
	const char *image = json_path_str(c, "image", "");
	json_t *sc = json_object_get(c, "securityContext");
	bool present;

	if (json_path_bool(sc, "allowPrivilegeEscalation", true, &present) || !present)
		fail_msg("%s/%s: allowPrivilegeEscalation must be false", who, name);
	if (!json_path_bool(sc, "readOnlyRootFilesystem", false, NULL))
		fail_msg("%s/%s: readOnlyRootFilesystem must be true", who, name);
	if (!str_in_array(json_path(sc, "capabilities.drop"), "ALL"))
		fail_msg("%s/%s: capabilities must drop ALL", who, name);
	if (json_path(sc, "capabilities.add") != NULL &&
	    json_array_size(json_path(sc, "capabilities.add")) > 0)
		fail_msg("%s/%s: adds capabilities", who, name);
	if (json_path_bool(sc, "privileged", false, NULL))
		fail_msg("%s/%s: privileged", who, name);
	if (!json_path_bool(sc, "runAsNonRoot", false, NULL) &&
	    !json_path_bool(pod_sc, "runAsNonRoot", false, NULL))
		fail_msg("%s/%s: runAsNonRoot must be true", who, name);
	if (json_path_int(sc, "runAsUser", 1) == 0 || json_path_int(pod_sc, "runAsUser", 1) == 0)
		fail_msg("%s/%s: runs as uid 0", who, name);
	if (strcmp(json_path_str(sc, "seccompProfile.type", json_path_str(pod_sc, "seccompProfile.type", "")),
		   "RuntimeDefault") != 0)
		fail_msg("%s/%s: seccompProfile must be RuntimeDefault", who, name);
	if (json_path_str(c, "resources.requests.cpu", NULL) == NULL ||
	    json_path_str(c, "resources.requests.memory", NULL) == NULL ||
	    json_path_str(c, "resources.limits.memory", NULL) == NULL)
		fail_msg("%s/%s: needs cpu and memory requests and a memory limit", who, name);
	if (image[0] == '\0' || strstr(image, ":latest") != NULL ||
	    strchr(strrchr(image, '/') ? strrchr(image, '/') : image, ':') == NULL)
		fail_msg("%s/%s: image %s must carry a version tag, not latest", who, name, image);
}

static void check_hardened_deployment(const json_t *dep)
{
	const char *who = name_of(dep);
	json_t *spec = json_path(dep, "spec.template.spec");
	json_t *pod_sc = json_object_get(spec, "securityContext");
	json_t *c;
	size_t i;

	if (!json_path_bool(pod_sc, "runAsNonRoot", false, NULL))
		fail_msg("%s: pod securityContext.runAsNonRoot must be true", who);
	if (strcmp(json_path_str(pod_sc, "seccompProfile.type", ""), "RuntimeDefault") != 0)
		fail_msg("%s: pod seccompProfile must be RuntimeDefault", who);
	if (json_path_bool(spec, "hostNetwork", false, NULL) || json_path_bool(spec, "hostPID", false, NULL))
		fail_msg("%s: uses host namespaces", who);
	assert_true(json_array_size(json_object_get(spec, "containers")) > 0);
	json_array_foreach(json_object_get(spec, "containers"), i, c)
	{
		check_container(who, c, pod_sc);
		if (json_path(c, "livenessProbe.httpGet.path") == NULL ||
		    json_path(c, "readinessProbe.httpGet.path") == NULL)
			fail_msg("%s/%s: needs HTTP liveness and readiness probes", who,
				 json_path_str(c, "name", "?"));
	}
}

static void check_no_wildcards(const json_t *role)
{
	static const char *const fields[] = {"apiGroups", "resources", "verbs"};
	static const char *const dangerous[] = {"*", "escalate", "bind", "impersonate"};
	json_t *rule;
	size_t i;

	json_array_foreach(json_object_get(role, "rules"), i, rule)
	{
		for (size_t f = 0; f < 3; f++) {
			for (size_t d = 0; d < 4; d++) {
				if (str_in_array(json_object_get(rule, fields[f]), dangerous[d]))
					fail_msg("%s %s: rule %zu has %s \"%s\"", kind_of(role),
						 name_of(role), i, fields[f], dangerous[d]);
			}
		}
		if (json_object_get(rule, "nonResourceURLs") != NULL)
			fail_msg("%s %s: non-resource URLs", kind_of(role), name_of(role));
	}
}

/* The verbs the role grants on group/resource (a JSON array, owned by the caller). */
static json_t *verbs_on(const json_t *role, const char *group, const char *resource)
{
	json_t *out = json_array(), *rule, *v;
	size_t i, j;

	json_array_foreach(json_object_get(role, "rules"), i, rule)
	{
		if (!str_in_array(json_object_get(rule, "apiGroups"), group) ||
		    !str_in_array(json_object_get(rule, "resources"), resource))
			continue;
		json_array_foreach(json_object_get(rule, "verbs"), j, v)
		{
			if (!str_in_array(out, json_string_value(v)))
				json_array_append(out, v);
		}
	}
	return out;
}

static void check_verbs(const json_t *role, const char *group, const char *resource, const char *want)
{
	json_t *got = verbs_on(role, group, resource), *v;
	char list[256] = "";
	size_t i, used = 0;

	json_array_foreach(got, i, v) used +=
	    (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? "," : "", json_string_value(v));
	if (strcmp(list, want) != 0)
		fail_msg("operator ClusterRole: %s/%s verbs \"%s\", want \"%s\"", group, resource, list,
			 want);
	json_decref(got);
}

static void check_operator_rbac(const json_t *docs, const char *role_name)
{
	json_t *role = must_find(docs, "ClusterRole", role_name), *o;
	size_t i;

	json_array_foreach(docs, i, o)
	{
		if (strcmp(kind_of(o), "ClusterRole") == 0 || strcmp(kind_of(o), "Role") == 0)
			check_no_wildcards(o);
	}
	check_verbs(role, "", "secrets", "get");
	check_verbs(role, "discovery.k8s.io", "endpointslices", "list,watch");
	check_verbs(role, "events.k8s.io", "events", "create,patch");
	check_verbs(role, "apps", "deployments", "get,list,watch,create,patch,delete");
	check_verbs(role, "saqr.dev", "modeldeployments/status", "get,patch,update");
	check_verbs(role, "coordination.k8s.io", "leases", "");
	/* The audit reads what the admission policy covers and writes its reports. */
	check_verbs(role, "", "pods", "get,list,watch");
	check_verbs(role, "batch", "cronjobs", "get,list,watch");
	check_verbs(role, "openreports.io", "reports", "get,list,watch,create,update,delete");
	check_verbs(role, "", "nodes", "");
	check_verbs(must_find(docs, "Role", "saqr-leader-election"), "coordination.k8s.io", "leases",
		    "get,create,update");
}

static bool deployment_has_port(const json_t *dep, const char *port_name)
{
	json_t *c, *p;
	size_t i, j;

	json_array_foreach(json_path(dep, "spec.template.spec.containers"), i, c)
	{
		json_array_foreach(json_object_get(c, "ports"), j, p)
		{
			if (strcmp(json_path_str(p, "name", ""), port_name) == 0)
				return true;
		}
	}
	return false;
}

static void check_pdb_for(const json_t *docs, const json_t *dep)
{
	json_t *o;
	size_t i;

	json_array_foreach(docs, i, o)
	{
		if (strcmp(kind_of(o), "PodDisruptionBudget") == 0 &&
		    selector_matches(json_path(o, "spec.selector"), pod_labels(dep)) &&
		    json_path_int(o, "spec.minAvailable", 0) >= 1)
			return;
	}
	fail_msg("no PodDisruptionBudget with minAvailable >= 1 selects the pods of %s", name_of(dep));
}

/* Does some NetworkPolicy selecting these pods let in (or out) the given port? any_peer: the
 * rule has no from/to (anyone). */
static bool netpol_allows(const json_t *docs, const json_t *labels, const char *dir, const char *port_name,
			  long long port_number, bool any_peer)
{
	json_t *o, *rule, *p;
	size_t i, j, k;

	json_array_foreach(docs, i, o)
	{
		if (strcmp(kind_of(o), "NetworkPolicy") != 0 ||
		    !selector_matches(json_path(o, "spec.podSelector"), labels))
			continue;
		json_array_foreach(json_path(o, strcmp(dir, "ingress") == 0 ? "spec.ingress" : "spec.egress"),
				   j, rule)
		{
			bool peer_any =
			    json_object_get(rule, strcmp(dir, "ingress") == 0 ? "from" : "to") == NULL;

			if (any_peer && !peer_any)
				continue;
			json_array_foreach(json_object_get(rule, "ports"), k, p)
			{
				json_t *port = json_object_get(p, "port");

				if ((json_is_string(port) && port_name &&
				     strcmp(json_string_value(port), port_name) == 0) ||
				    (json_is_integer(port) && json_integer_value(port) == port_number))
					return true;
			}
		}
	}
	return false;
}

static void check_network_policies(const json_t *docs, const json_t *op, const json_t *wh)
{
	json_t *o;
	size_t i;
	bool deny = false;

	json_array_foreach(docs, i, o)
	{
		if (strcmp(kind_of(o), "NetworkPolicy") == 0 && json_path(o, "spec.ingress") == NULL &&
		    json_path(o, "spec.egress") == NULL &&
		    str_in_array(json_path(o, "spec.policyTypes"), "Ingress") &&
		    str_in_array(json_path(o, "spec.policyTypes"), "Egress") &&
		    selector_matches(json_path(o, "spec.podSelector"), pod_labels(op)) &&
		    selector_matches(json_path(o, "spec.podSelector"), pod_labels(wh)))
			deny = true;
	}
	assert_true(deny);
	assert_true(netpol_allows(docs, pod_labels(wh), "ingress", "https", 8443, true));
	assert_false(netpol_allows(docs, pod_labels(wh), "ingress", "metrics", 8080, true));
	assert_true(netpol_allows(docs, pod_labels(wh), "ingress", "metrics", 8080, false));
	assert_true(netpol_allows(docs, pod_labels(op), "egress", NULL, 443, true));
	assert_true(netpol_allows(docs, pod_labels(op), "egress", NULL, 53, true));
	assert_false(netpol_allows(docs, pod_labels(op), "ingress", NULL, 8443, true));
}

static const json_t *volume_source(const json_t *dep, const char *field)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_path(dep, "spec.template.spec.volumes"), i, v)
	{
		if (json_object_get(v, field) != NULL)
			return json_object_get(v, field);
	}
	return NULL;
}

static void check_webhook_config(const json_t *docs, const json_t *wh_svc)
{
	json_t *vwc = must_find(docs, "ValidatingWebhookConfiguration", NULL), *w, *e;
	size_t i, j;

	assert_true(json_array_size(json_object_get(vwc, "webhooks")) > 0);
	json_array_foreach(json_object_get(vwc, "webhooks"), i, w)
	{
		bool excludes_self = false;

		assert_string_equal(json_path_str(w, "sideEffects", ""), "None");
		assert_string_equal(json_path_str(w, "failurePolicy", "Fail"), "Fail");
		assert_true(str_in_array(json_object_get(w, "admissionReviewVersions"), "v1"));
		assert_string_equal(json_path_str(w, "clientConfig.service.name", ""), name_of(wh_svc));
		assert_string_equal(json_path_str(w, "clientConfig.service.namespace", ""), NS);
		json_array_foreach(json_path(w, "namespaceSelector.matchExpressions"), j, e)
		{
			if (strcmp(json_path_str(e, "operator", ""), "NotIn") == 0 &&
			    strcmp(json_path_str(e, "key", ""), "kubernetes.io/metadata.name") == 0 &&
			    str_in_array(json_object_get(e, "values"), NS))
				excludes_self = true;
		}
		if (!excludes_self)
			fail_msg("webhook %s must exclude %s (else Saqr cannot restart while it is down)",
				 json_path_str(w, "name", "?"), NS);
	}
}

/* Everything both install paths must get right. */
static void check_install(const json_t *docs)
{
	json_t *op = must_find(docs, "Deployment", "saqr-operator");
	json_t *wh = must_find(docs, "Deployment", "saqr-webhook");
	json_t *metrics = must_find(docs, "Service", "saqr-metrics");
	json_t *wh_svc = must_find(docs, "Service", "saqr-webhook");
	json_t *args = json_path(op, "spec.template.spec.containers.0.args");
	const json_t *cm_vol = volume_source(wh, "configMap");
	const json_t *secret_vol = volume_source(wh, "secret");
	json_t *o;
	size_t i;

	check_hardened_deployment(op);
	check_hardened_deployment(wh);
	assert_int_equal(json_path_int(op, "spec.replicas", 0), 2);
	assert_true(json_path_int(wh, "spec.replicas", 0) >= 2);
	assert_true(str_in_array(args, "--leader-elect=true") || str_in_array(args, "--leader-elect"));
	assert_true(json_path_bool(op, "spec.template.spec.automountServiceAccountToken", false, NULL));
	assert_false(json_path_bool(wh, "spec.template.spec.automountServiceAccountToken", true, NULL));
	assert_true(json_array_size(json_path(op, "spec.template.spec.topologySpreadConstraints")) > 0);
	assert_true(selector_matches(json_path(op, "spec.selector"), pod_labels(op)));
	assert_false(selector_matches(json_path(op, "spec.selector"), pod_labels(wh)));
	check_pdb_for(docs, op);
	check_pdb_for(docs, wh);
	check_operator_rbac(docs, "saqr-operator");
	/* One metrics Service in front of both daemons' "metrics" ports. */
	assert_true(map_selects(json_path(metrics, "spec.selector"), pod_labels(op)));
	assert_true(map_selects(json_path(metrics, "spec.selector"), pod_labels(wh)));
	assert_string_equal(json_path_str(metrics, "spec.ports.0.targetPort", ""), "metrics");
	assert_true(deployment_has_port(op, "metrics") && deployment_has_port(wh, "metrics"));
	assert_true(map_selects(json_path(wh_svc, "spec.selector"), pod_labels(wh)));
	assert_false(map_selects(json_path(wh_svc, "spec.selector"), pod_labels(op)));
	check_network_policies(docs, op, wh);
	check_webhook_config(docs, wh_svc);
	/* The webhook mounts a policy ConfigMap that is installed, and the TLS Secret. */
	assert_non_null(cm_vol);
	assert_non_null(dotted_key(must_find(docs, "ConfigMap", json_path_str(cm_vol, "name", "")), "data",
				   "policy.yaml"));
	assert_non_null(secret_vol);
	assert_string_equal(json_path_str(secret_vol, "secretName", ""), TLS_SECRET);
	json_array_foreach(docs, i, o)
	{
		const char *k = kind_of(o);
		bool cluster_scoped =
		    strcmp(k, "Namespace") == 0 || strcmp(k, "CustomResourceDefinition") == 0 ||
		    strncmp(k, "Cluster", 7) == 0 || strcmp(k, "ValidatingWebhookConfiguration") == 0;

		if (!cluster_scoped && strcmp(json_path_str(o, "metadata.namespace", ""), NS) != 0)
			fail_msg("%s %s is not in %s", k, name_of(o), NS);
	}
}

static size_t count_source_crds(void)
{
	char *pattern = path_in_root("crds/*.yaml");
	glob_t g;
	size_t n = 0;

	if (glob(pattern, 0, NULL, &g) == 0)
		n = g.gl_pathc;
	globfree(&g);
	free(pattern);
	return n;
}

/* ---- certificates -------------------------------------------------------------------------- */

static X509 *x509_from_b64(const char *b64)
{
	size_t len = strlen(b64);
	unsigned char *pem = malloc(len + 1);
	int n;
	BIO *bio;
	X509 *x = NULL;

	assert_non_null(pem);
	n = EVP_DecodeBlock(pem, (const unsigned char *)b64, (int)len);
	if (n > 0) {
		while (len > 0 && b64[len - 1] == '=') {
			len--;
			n--;
		}
		bio = BIO_new_mem_buf(pem, n);
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	free(pem);
	return x;
}

/* The text that b64 encodes (NUL-terminated; free it). */
static char *b64_text(const char *b64)
{
	size_t len = strlen(b64);
	char *text = calloc(1, len + 1);
	int n;

	assert_non_null(text);
	n = EVP_DecodeBlock((unsigned char *)text, (const unsigned char *)b64, (int)len);
	assert_true(n >= 0);
	return text;
}

/* Does the CA (base64 PEM, as in a caBundle) verify the certificate for host? */
static bool cert_verifies(const char *crt_b64, const char *ca_b64, const char *host, const char **why)
{
	X509 *leaf = x509_from_b64(crt_b64), *ca = x509_from_b64(ca_b64);
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	bool ok = false;

	*why = "unreadable certificate";
	if (leaf != NULL && ca != NULL && store != NULL && ctx != NULL &&
	    X509_STORE_add_cert(store, ca) == 1 && X509_STORE_CTX_init(ctx, store, leaf, NULL) == 1) {
		X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx), host, 0);
		ok = X509_verify_cert(ctx) == 1;
		*why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
	}
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(leaf);
	X509_free(ca);
	return ok;
}

static void check_helm_certificate(const json_t *docs)
{
	json_t *secret = must_find(docs, "Secret", TLS_SECRET);
	json_t *vwc = must_find(docs, "ValidatingWebhookConfiguration", NULL);
	const char *crt = dotted_key(secret, "data", "tls.crt");
	const char *bundle = json_path_str(vwc, "webhooks.0.clientConfig.caBundle", "");
	const char *why;

	assert_non_null(crt);
	assert_non_null(dotted_key(secret, "data", "tls.key"));
	assert_string_equal(json_path_str(secret, "type", ""), "kubernetes.io/tls");
	if (!cert_verifies(crt, bundle, WEBHOOK_HOST, &why))
		fail_msg("the caBundle does not verify the serving certificate for %s: %s", WEBHOOK_HOST,
			 why);
	assert_false(cert_verifies(crt, bundle, "saqr-webhook.elsewhere.svc", &why));
}

/* ---- tests: the chart ----------------------------------------------------------------------- */

static void test_helm_lint_strict(void **state)
{
	char *chart = path_in_root("charts/saqr");
	const char *argv[] = {"helm", "lint", chart, "--strict", "--kube-version", KUBE_VERSION, NULL};
	struct proc_result r;

	(void)state;
	run(argv, 0, &r);
	assert_non_null(strstr(r.out, "1 chart(s) linted, 0 chart(s) failed"));
	assert_null(strstr(r.out, "[WARNING]"));
	proc_result_release(&r);
	free(chart);
}

static void test_helm_default_values(void **state)
{
	json_t *docs = helm_render(NULL), *o, *test_pod;
	char *policy_path = path_in_root("charts/saqr/files/policy.yaml");
	char *policy = read_all(policy_path, NULL);
	size_t i, ncrd = 0;

	(void)state;
	check_install(docs);
	check_helm_certificate(docs);
	/* no CA private key in the Secret unless asked for (certificates.helm.keepCAKey) */
	assert_null(dotted_key(must_find(docs, "Secret", TLS_SECRET), "data", "ca.key"));
	assert_int_equal(count_kind(docs, "ServiceMonitor"), 0);
	assert_int_equal(count_kind(docs, "Certificate"), 0);
	assert_int_equal(count_kind(docs, "ClusterRoleBinding"), 1);
	assert_int_equal(count_kind(docs, "NetworkPolicy"), 3);
	json_array_foreach(docs, i, o)
	{
		if (strcmp(kind_of(o), "CustomResourceDefinition") != 0)
			continue;
		ncrd++;
		assert_string_equal(dotted_key(o, "metadata.annotations", "helm.sh/resource-policy"), "keep");
		assert_non_null(dotted_key(o, "metadata.annotations", "argocd.argoproj.io/sync-options"));
		assert_non_null(strstr(
		    dotted_key(o, "metadata.annotations", "argocd.argoproj.io/sync-options"), "Prune=false"));
		assert_string_equal(dotted_key(o, "metadata.labels", "app.kubernetes.io/part-of"), "saqr");
	}
	assert_int_equal(ncrd, count_source_crds());
	/* The policy ships as the file is, comments and all. */
	assert_non_null(policy);
	assert_string_equal(dotted_key(must_find(docs, "ConfigMap", "saqr-policy"), "data", "policy.yaml"),
			    policy);
	/* The helm test pod is as hardened as the daemons. */
	test_pod = must_find(docs, "Pod", "saqr-test-webhook");
	assert_string_equal(dotted_key(test_pod, "metadata.annotations", "helm.sh/hook"), "test");
	check_container("test pod", json_path(test_pod, "spec.containers.0"),
			json_path(test_pod, "spec.securityContext"));
	assert_non_null(strstr(json_path_str(test_pod, "spec.containers.0.args.0", ""),
			       "https://" WEBHOOK_HOST ":443/readyz"));
	free(policy);
	free(policy_path);
	json_decref(docs);
}

static void test_helm_cert_manager_mode(void **state)
{
	const char *extra[] = {"--set", "certificates.mode=cert-manager", NULL};
	json_t *docs = helm_render(extra), *cert, *vwc;
	const char *inject;

	(void)state;
	check_install(docs);
	assert_null(find_obj(docs, "Secret", TLS_SECRET));
	must_find(docs, "Issuer", "saqr-selfsigned");
	cert = must_find(docs, "Certificate", "saqr-webhook");
	vwc = must_find(docs, "ValidatingWebhookConfiguration", NULL);
	inject = dotted_key(vwc, "metadata.annotations", "cert-manager.io/inject-ca-from");
	assert_non_null(inject);
	assert_string_equal(inject, NS "/saqr-webhook");
	assert_string_equal(json_path_str(cert, "spec.secretName", ""), TLS_SECRET);
	assert_true(str_in_array(json_path(cert, "spec.dnsNames"), WEBHOOK_HOST));
	assert_string_equal(json_path_str(cert, "spec.issuerRef.name", ""), "saqr-selfsigned");
	assert_null(json_path(vwc, "webhooks.0.clientConfig.caBundle"));
	json_decref(docs);
}

static void test_helm_existing_secret_mode(void **state)
{
	const char *extra[] = {"--set", "certificates.mode=existingSecret", "--set",
			       "certificates.existingSecret.caBundle=Q0E=", NULL};
	json_t *docs = helm_render(extra);

	(void)state;
	check_install(docs);
	assert_null(find_obj(docs, "Secret", TLS_SECRET));
	assert_int_equal(count_kind(docs, "Certificate"), 0);
	assert_string_equal(json_path_str(must_find(docs, "ValidatingWebhookConfiguration", NULL),
					  "webhooks.0.clientConfig.caBundle", ""),
			    "Q0E=");
	json_decref(docs);
}

static void test_helm_crds_disabled_or_not_kept(void **state)
{
	const char *off[] = {"--set", "crds.install=false", NULL};
	const char *unkept[] = {"--set", "crds.keep=false", NULL};
	json_t *docs = helm_render(off), *o;
	size_t i;

	(void)state;
	check_install(docs);
	assert_int_equal(count_kind(docs, "CustomResourceDefinition"), 0);
	json_decref(docs);
	docs = helm_render(unkept);
	assert_int_equal(count_kind(docs, "CustomResourceDefinition"), count_source_crds());
	json_array_foreach(docs, i, o)
	{
		if (strcmp(kind_of(o), "CustomResourceDefinition") == 0) {
			assert_null(dotted_key(o, "metadata.annotations", "helm.sh/resource-policy"));
			assert_null(dotted_key(o, "metadata.annotations", "argocd.argoproj.io/sync-options"));
		}
	}
	json_decref(docs);
}

/* watchNamespace binds the operator's rights in that namespace only. */
static void test_helm_watch_namespace(void **state)
{
	const char *extra[] = {"--set", "operator.watchNamespace=ml-team", NULL};
	json_t *docs = helm_render(extra), *rb;

	(void)state;
	/* Only reading Namespaces (the audit's work unit) is bound cluster-wide. */
	assert_int_equal(count_kind(docs, "ClusterRoleBinding"), 1);
	check_verbs(must_find(docs, "ClusterRole", "saqr-operator-namespaces"), "", "namespaces",
		    "get,list,watch");
	check_verbs(must_find(docs, "ClusterRole", "saqr-operator-namespaces"), "", "pods", "");
	rb = must_find(docs, "RoleBinding", "saqr-operator");
	assert_string_equal(json_path_str(rb, "metadata.namespace", ""), "ml-team");
	assert_string_equal(json_path_str(rb, "roleRef.kind", ""), "ClusterRole");
	assert_true(str_in_array(
	    json_path(must_find(docs, "Deployment", "saqr-operator"), "spec.template.spec.containers.0.args"),
	    "--watch-namespace=ml-team"));
	json_decref(docs);
}

/* policy: values merge over the shipped file; the other keys stay. */
static void test_helm_policy_override(void **state)
{
	const char *extra[] = {"--set", "policy.dataResidency.enforcement=warn", NULL};
	json_t *docs = helm_render(extra), *merged = NULL, *base = NULL, *v;
	char *path = path_in_root("charts/saqr/files/policy.yaml"), err[256];
	size_t len = 0;
	char *text = read_all(path, &len);
	const char *rendered, *k;

	(void)state;
	assert_non_null(text);
	assert_int_equal(yaml_to_json(text, len, RENDER_MAX, &base, err, sizeof(err)), 0);
	rendered = dotted_key(must_find(docs, "ConfigMap", "saqr-policy"), "data", "policy.yaml");
	assert_non_null(rendered);
	assert_int_equal(yaml_to_json(rendered, strlen(rendered), RENDER_MAX, &merged, err, sizeof(err)), 0);
	assert_string_equal(json_path_str(merged, "dataResidency.enforcement", ""), "warn");
	json_object_foreach(base, k, v) assert_non_null(json_object_get(merged, k));
	json_decref(base);
	json_decref(merged);
	free(text);
	free(path);
	json_decref(docs);
}

/* policy.resource.enabled: the AdmissionPolicy (a post-install/upgrade hook, since its CRD comes
 * with the release) carries the policy's spec, the operator follows it with the rights for that
 * and no more, and the ConfigMap is the file as it is. Off (the default), none of it. */
static void test_helm_policy_resource(void **state)
{
	const char *extra[] = {"--set", "policy.resource.enabled=true", NULL};
	json_t *docs = helm_render(extra), *off = helm_render(NULL), *base = NULL, *ap, *args, *wh;
	char *path = path_in_root("charts/saqr/files/policy.yaml"), err[256];
	size_t len = 0;
	char *text = read_all(path, &len);

	(void)state;
	assert_non_null(text);
	assert_int_equal(yaml_to_json(text, len, RENDER_MAX, &base, err, sizeof(err)), 0);
	ap = must_find(docs, "AdmissionPolicy", "saqr");
	assert_string_equal(json_path_str(ap, "apiVersion", ""), "saqr.dev/v1alpha1");
	assert_string_equal(dotted_key(ap, "metadata.annotations", "helm.sh/hook"),
			    "post-install,post-upgrade");
	assert_true(json_equal(json_object_get(ap, "spec"), json_object_get(base, "spec")));
	args =
	    json_path(must_find(docs, "Deployment", "saqr-operator"), "spec.template.spec.containers.0.args");
	assert_true(str_in_array(args, "--policy-resource=saqr"));
	assert_true(str_in_array(args, "--policy-configmap=" NS "/saqr-policy"));
	assert_true(str_in_array(args, "--policy=/etc/saqr/policy/policy.yaml"));
	assert_string_equal(dotted_key(must_find(docs, "ConfigMap", "saqr-policy"), "data", "policy.yaml"),
			    text);
	check_verbs(must_find(docs, "ClusterRole", "saqr-operator-admissionpolicies"), "saqr.dev",
		    "admissionpolicies", "get,list,watch");
	check_verbs(must_find(docs, "ClusterRole", "saqr-operator-admissionpolicies"), "saqr.dev",
		    "admissionpolicies/status", "get,patch");
	check_verbs(must_find(docs, "Role", "saqr-operator-policy"), "", "configmaps", "get,patch");
	assert_string_equal(
	    json_path_str(must_find(docs, "Role", "saqr-operator-policy"), "rules.0.resourceNames.0", ""),
	    "saqr-policy");
	/* The webhook reports its loads: a token, the API server's port, the right to its entry. */
	wh = must_find(docs, "Deployment", "saqr-webhook");
	assert_true(
	    str_in_array(json_path(wh, "spec.template.spec.containers.0.args"), "--policy-resource=saqr"));
	assert_true(json_path_bool(wh, "spec.template.spec.automountServiceAccountToken", false, NULL));
	assert_true(netpol_allows(docs, pod_labels(wh), "egress", NULL, 443, true));
	check_verbs(must_find(docs, "ClusterRole", "saqr-webhook-admissionpolicies"), "saqr.dev",
		    "admissionpolicies/status", "patch");
	check_verbs(must_find(docs, "ClusterRole", "saqr-webhook-admissionpolicies"), "saqr.dev",
		    "admissionpolicies", "");
	assert_false(json_path_bool(must_find(off, "Deployment", "saqr-webhook"),
				    "spec.template.spec.automountServiceAccountToken", true, NULL));
	assert_false(netpol_allows(off, pod_labels(must_find(off, "Deployment", "saqr-webhook")), "egress",
				   NULL, 443, true));
	assert_int_equal(count_kind(off, "AdmissionPolicy"), 0);
	assert_null(find_obj(off, "Role", "saqr-operator-policy"));
	assert_false(str_in_array(
	    json_path(must_find(off, "Deployment", "saqr-operator"), "spec.template.spec.containers.0.args"),
	    "--policy-resource=saqr"));
	json_decref(base);
	free(text);
	free(path);
	json_decref(off);
	json_decref(docs);
}

static void test_helm_service_monitor(void **state)
{
	const char *extra[] = {"--set", "serviceMonitor.enabled=true", "--set",
			       "serviceMonitor.labels.release=prom", NULL};
	json_t *docs = helm_render(extra), *sm;

	(void)state;
	sm = must_find(docs, "ServiceMonitor", "saqr");
	assert_true(
	    selector_matches(json_path(sm, "spec.selector"),
			     json_path(must_find(docs, "Service", "saqr-metrics"), "metadata.labels")));
	assert_false(
	    selector_matches(json_path(sm, "spec.selector"),
			     json_path(must_find(docs, "Service", "saqr-webhook"), "metadata.labels")));
	assert_string_equal(json_path_str(sm, "spec.endpoints.0.port", ""), "metrics");
	assert_string_equal(json_path_str(sm, "metadata.labels.release", ""), "prom");
	json_decref(docs);
}

/* The schema refuses what it should, with Helm's schema message. */
static void test_helm_schema_refuses_bad_values(void **state)
{
	static const char *const bad[] = {
	    "webhook.failurePolicy=Sometimes",
	    "webhook.timeoutSeconds=31",
	    "operator.replicass=2",
	    "certificates.mode=vault",
	    "operator.image.digest=sha256:xyz",
	    "operator.logLevel=loud",
	    "networkPolicy.apiServerPorts[0]=70000",
	};
	char *chart = path_in_root("charts/saqr");

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *argv[] = {"helm",	    "template", "saqr", chart, "--kube-version",
				      KUBE_VERSION, "--set",	bad[i], NULL};
		struct proc_result r;

		run(argv, -1, &r);
		if (r.status == 0 || strstr(r.err, "schema") == NULL)
			fail_msg("--set %s: exit %d, want a schema error; stderr: %s", bad[i], r.status,
				 r.err);
		proc_result_release(&r);
	}
	free(chart);
}

/* ---- tests: kustomize ------------------------------------------------------------------------ */

static void test_kustomize_manifests(void **state)
{
	json_t *docs = kustomize_render("manifests"), *ns;
	char *path = path_in_root("manifests/policy/default.yaml");
	char *policy = read_all(path, NULL);

	(void)state;
	check_install(docs);
	ns = must_find(docs, "Namespace", NS);
	assert_string_equal(dotted_key(ns, "metadata.labels", "pod-security.kubernetes.io/enforce"),
			    "restricted");
	assert_int_equal(count_kind(docs, "CustomResourceDefinition"), count_source_crds());
	assert_true(count_source_crds() >= 3);
	assert_non_null(policy);
	assert_string_equal(dotted_key(must_find(docs, "ConfigMap", "saqr-policy"), "data", "policy.yaml"),
			    policy);
	assert_int_equal(count_kind(docs, "Certificate"), 0);
	free(policy);
	free(path);
	json_decref(docs);
}

static void test_kustomize_cert_manager_overlay(void **state)
{
	json_t *docs = kustomize_render("deploy/kustomize/cert-manager"), *vwc, *cert;

	(void)state;
	check_install(docs);
	cert = must_find(docs, "Certificate", "saqr-webhook");
	must_find(docs, "Issuer", "saqr-selfsigned");
	vwc = must_find(docs, "ValidatingWebhookConfiguration", NULL);
	assert_string_equal(dotted_key(vwc, "metadata.annotations", "cert-manager.io/inject-ca-from"),
			    NS "/saqr-webhook");
	assert_string_equal(json_path_str(cert, "spec.secretName", ""), TLS_SECRET);
	assert_true(str_in_array(json_path(cert, "spec.dnsNames"), WEBHOOK_HOST));
	json_decref(docs);
}

/* The chart and the kustomize tree grant the operator the same rights. */
static void test_rbac_same_in_both_paths(void **state)
{
	json_t *chart = helm_render(NULL), *kust = kustomize_render("manifests");
	const char *roles[][2] = {{"ClusterRole", "saqr-operator"},
				  {"Role", "saqr-leader-election"},
				  {"ClusterRole", "saqr-edit"},
				  {"ClusterRole", "saqr-view"}};

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		if (!json_same(json_object_get(must_find(chart, roles[i][0], roles[i][1]), "rules"),
			       json_object_get(must_find(kust, roles[i][0], roles[i][1]), "rules")))
			fail_msg("%s %s: rules differ between charts/saqr and manifests/", roles[i][0],
				 roles[i][1]);
	}
	json_decref(chart);
	json_decref(kust);
}

/* ---- tests: generated copies ------------------------------------------------------------------ */

static void test_generated_copies_are_current(void **state)
{
	char *script = path_in_root("hack/install-sync.sh");
	const char *argv[] = {script, "--check", kubetest_root(), NULL};
	struct proc_result r;

	(void)state;
	run(argv, -1, &r);
	if (r.status != 0)
		fail_msg("generated copies are stale or sources missing (run `make manifests`):\n%s%s", r.out,
			 r.err);
	proc_result_release(&r);
	free(script);
}

/* --check names a drifted copy and a copy without a source; a sync repairs both. */
static void test_sync_check_finds_drift(void **state)
{
	char tmp[] = "/tmp/saqr-install-sync-XXXXXX";
	char *src[] = {path_in_root("hack"), path_in_root("crds"), path_in_root("manifests"),
		       path_in_root("charts"), path_in_root("deploy")};
	char script[512], drifted[512], stale[512];
	struct proc_result r;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(tmp));
	for (size_t i = 0; i < 5; i++) {
		const char *cp[] = {"cp", "-a", src[i], tmp, NULL};

		run(cp, 0, &r);
		proc_result_release(&r);
		free(src[i]);
	}
	snprintf(script, sizeof(script), "%s/hack/install-sync.sh", tmp);
	snprintf(drifted, sizeof(drifted), "%s/charts/saqr/files/policy.yaml", tmp);
	snprintf(stale, sizeof(stale), "%s/manifests/crds/old.yaml", tmp);
	assert_non_null(f = fopen(drifted, "a"));
	fputs("# edited by hand\n", f);
	fclose(f);
	assert_non_null(f = fopen(stale, "w"));
	fputs("kind: CustomResourceDefinition\n", f);
	fclose(f);
	{
		const char *check[] = {script, "--check", tmp, NULL};
		const char *sync[] = {script, tmp, NULL};

		run(check, 1, &r);
		assert_non_null(strstr(r.out, "charts/saqr/files/policy.yaml differs from its source"));
		assert_non_null(strstr(r.out, "manifests/crds/old.yaml has no source"));
		proc_result_release(&r);
		run(sync, 0, &r);
		proc_result_release(&r);
		run(check, 0, &r);
		proc_result_release(&r);
		assert_int_equal(access(stale, F_OK), -1);
	}
	{
		const char *rm[] = {"rm", "-rf", tmp, NULL};

		run(rm, 0, &r);
		proc_result_release(&r);
	}
}

/* ---- tests: image file trees ------------------------------------------------------------------ */

static bool file_exists(const char *dir, const char *rel)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	return access(path, F_OK) == 0;
}

/* make image-rootfs on a stand-in dynamic program (lua5.4) and on the Saqr programs that are
 * built: the tree holds the binary, its loader and libraries, passwd and CA bundle, and runs. */
static void test_image_rootfs_builds_runnable_trees(void **state)
{
	static const char *const cmds[] = {"saqr-operator", "saqr-webhook", "saqrctl"};
	char tmp[] = "/tmp/saqr-rootfs-XXXXXX", lua_root[512];
	char *script = path_in_root("hack/image-rootfs.sh");
	struct proc_result r;

	(void)state;
	assert_non_null(mkdtemp(tmp));
	setenv("IMAGE_ROOTFS_PROBE_ARGS", "-v", 1);
	{
		const char *argv[] = {script, tmp, "/usr/bin/lua5.4", NULL};

		run(argv, 0, &r);
	}
	unsetenv("IMAGE_ROOTFS_PROBE_ARGS");
	assert_non_null(strstr(r.out, "runs `lua5.4 -v` from the tree"));
	proc_result_release(&r);
	snprintf(lua_root, sizeof(lua_root), "%s/lua5.4", tmp);
	assert_true(file_exists(lua_root, "usr/local/bin/lua5.4"));
	assert_true(file_exists(lua_root, "lib64/ld-linux-x86-64.so.2"));
	assert_true(file_exists(lua_root, "lib/x86_64-linux-gnu/libc.so.6"));
	assert_true(file_exists(lua_root, "etc/ssl/certs/ca-certificates.crt"));
	{
		char *passwd_path = NULL;
		char path[600];

		snprintf(path, sizeof(path), "%s/etc/passwd", lua_root);
		passwd_path = read_all(path, NULL);
		assert_non_null(passwd_path);
		assert_non_null(strstr(passwd_path, "nonroot:x:65532:65532:"));
		free(passwd_path);
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char rel[64];
		char *bin;

		snprintf(rel, sizeof(rel), "bin/%s", cmds[i]);
		bin = path_in_root(rel);
		if (access(bin, X_OK) == 0) {
			const char *argv[] = {script, tmp, bin, NULL};

			run(argv, 0, &r);
			assert_non_null(strstr(r.out, "from the tree"));
			proc_result_release(&r);
		}
		free(bin);
	}
	{
		const char *rm[] = {"rm", "-rf", tmp, NULL};

		run(rm, 0, &r);
		proc_result_release(&r);
	}
	free(script);
}

static void test_image_rootfs_names_missing_binaries(void **state)
{
	char tmp[] = "/tmp/saqr-rootfs-XXXXXX";
	char *script = path_in_root("hack/image-rootfs.sh");
	struct proc_result r;

	(void)state;
	assert_non_null(mkdtemp(tmp));
	{
		const char *argv[] = {script, tmp, "/nonexistent/saqr-ghost", "/nonexistent/saqr-phantom",
				      NULL};

		run(argv, 1, &r);
	}
	assert_non_null(
	    strstr(r.err, "missing (run `make build`): /nonexistent/saqr-ghost /nonexistent/saqr-phantom"));
	proc_result_release(&r);
	rmdir(tmp);
	free(script);
}

/* ---- tests: the API server ---------------------------------------------------------------------- */

static void need_cluster(void)
{
	char *ns = path_in_root("manifests/namespace.yaml");
	const char *argv[] = {"kubectl", "apply", "-f", ns, NULL};
	struct proc_result r;

	if (getenv("KUBECONFIG") == NULL)
		fail_msg("KUBECONFIG is not set: run through `make test-install` (it starts the local "
			 "control plane)");
	run(argv, 0, &r);
	proc_result_release(&r);
	free(ns);
}

static void dry_run_file(const char *what, const char *path)
{
	const char *argv[] = {"kubectl", "apply", "--dry-run=server", "-f", path, NULL};
	struct proc_result r;

	run(argv, -1, &r);
	if (r.status != 0)
		fail_msg("the API server refused %s:\n%s", what, r.err);
	assert_non_null(strstr(r.out, "(server dry run)"));
	proc_result_release(&r);
}

static void dry_run_docs(const char *what, const json_t *docs)
{
	json_t *list =
	    json_pack("{s:s, s:s, s:O}", "apiVersion", "v1", "kind", "List", "items", (json_t *)docs);
	char *text = json_dumps(list, JSON_COMPACT), *path = NULL;

	assert_non_null(text);
	assert_int_equal(kubetest_write_temp(text, strlen(text), &path), 0);
	dry_run_file(what, path);
	unlink(path);
	free(path);
	free(text);
	json_decref(list);
}

static void test_server_dry_run_helm(void **state)
{
	const char *no_crds[] = {"--set", "crds.install=false", "--set", "operator.watchNamespace=default",
				 NULL};
	json_t *docs;

	(void)state;
	need_cluster();
	docs = helm_render(NULL);
	dry_run_docs("helm template (default values)", docs);
	json_decref(docs);
	docs = helm_render(no_crds);
	dry_run_docs("helm template (no CRDs, one namespace)", docs);
	json_decref(docs);
}

static void test_server_dry_run_kustomize(void **state)
{
	char *dir = path_in_root("manifests");
	const char *argv[] = {"kubectl", "apply", "--dry-run=server", "-k", dir, NULL};
	struct proc_result r;

	(void)state;
	need_cluster();
	run(argv, -1, &r);
	if (r.status != 0)
		fail_msg("the API server refused manifests/:\n%s", r.err);
	assert_non_null(strstr(r.out, "deployment.apps/saqr-operator created (server dry run)"));
	assert_non_null(
	    strstr(r.out, "validatingwebhookconfiguration.admissionregistration.k8s.io/saqr-webhook"));
	proc_result_release(&r);
	free(dir);
}

/* The Secret as the API server holds it, then rendered again with lookup (--dry-run=server). */
static json_t *render_admission(bool from_cluster, bool keep_ca_key)
{
	const char *extra[] = {"--show-only",
			       "templates/webhook-admission.yaml",
			       "--set",
			       keep_ca_key ? "certificates.helm.keepCAKey=true"
					   : "certificates.helm.keepCAKey=false",
			       from_cluster ? "--dry-run=server" : NULL,
			       NULL};

	return helm_render(extra);
}

static const char *secret_key(const json_t *docs, const char *key)
{
	return dotted_key(must_find(docs, "Secret", TLS_SECRET), "data", key);
}

static void kubectl(const char *const argv[])
{
	struct proc_result r;

	run(argv, 0, &r);
	proc_result_release(&r);
}

static void annotate_in_days(const char *annotation, int days)
{
	char value[256], arg[320];
	time_t t = time(NULL) + (time_t)days * 86400;
	struct tm tm;
	const char *argv[] = {"kubectl", "-n",	     NS,  "annotate", "--overwrite",
			      "secret",	 TLS_SECRET, arg, NULL};

	gmtime_r(&t, &tm);
	strftime(value, sizeof(value), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(arg, sizeof(arg), "%s=%s", annotation, value);
	kubectl(argv);
}

/* helm mode keeps the certificate across upgrades, renews the serving certificate near its
 * expiry with the same CA (so the caBundle does not change), and renews the CA near its own. */
static void test_helm_keeps_certificate(void **state)
{
	const char *del[] = {"kubectl", "-n", NS, "delete", "secret", TLS_SECRET, "--ignore-not-found", NULL};
	json_t *first, *again, *renewed, *newca, *one;
	char *text, *path = NULL;
	const char *why;

	(void)state;
	need_cluster();
	kubectl(del);
	first = render_admission(false, true);
	one = json_pack("{s:s, s:s, s:[O]}", "apiVersion", "v1", "kind", "List", "items",
			must_find(first, "Secret", TLS_SECRET));
	text = json_dumps(one, JSON_COMPACT);
	assert_int_equal(kubetest_write_temp(text, strlen(text), &path), 0);
	{
		const char *create[] = {"kubectl", "create", "-f", path, NULL};

		kubectl(create);
	}
	again = render_admission(true, true);
	assert_non_null(secret_key(first, "ca.key"));
	assert_string_equal(secret_key(again, "tls.crt"), secret_key(first, "tls.crt"));
	assert_string_equal(secret_key(again, "ca.crt"), secret_key(first, "ca.crt"));
	assert_string_equal(json_path_str(must_find(again, "ValidatingWebhookConfiguration", NULL),
					  "webhooks.0.clientConfig.caBundle", ""),
			    secret_key(first, "ca.crt"));

	annotate_in_days("saqr.dev/not-after", 10);
	renewed = render_admission(true, true);
	assert_string_not_equal(secret_key(renewed, "tls.crt"), secret_key(first, "tls.crt"));
	assert_string_equal(secret_key(renewed, "ca.crt"), secret_key(first, "ca.crt"));
	if (!cert_verifies(secret_key(renewed, "tls.crt"), secret_key(first, "ca.crt"), WEBHOOK_HOST, &why))
		fail_msg("the renewed certificate does not verify with the old CA: %s", why);

	annotate_in_days("saqr.dev/ca-not-after", 100);
	newca = render_admission(true, true);
	assert_string_not_equal(secret_key(newca, "ca.crt"), secret_key(first, "ca.crt"));
	check_helm_certificate(newca);

	kubectl(del);
	unlink(path);
	free(path);
	free(text);
	json_decref(one);
	json_decref(first);
	json_decref(again);
	json_decref(renewed);
	json_decref(newca);
}

/* Helm mode by default: no ca.key is ever stored; the certificate is kept while valid, and a
 * renewal makes a new CA with the caBundle trusting both the new and the previous CA. */
static void test_helm_renews_without_ca_key(void **state)
{
	const char *del[] = {"kubectl", "-n", NS, "delete", "secret", TLS_SECRET, "--ignore-not-found", NULL};
	json_t *first, *again, *renewed, *one;
	char *text, *path = NULL, *bundle, *old_ca;

	(void)state;
	need_cluster();
	kubectl(del);
	first = render_admission(false, false);
	assert_null(dotted_key(must_find(first, "Secret", TLS_SECRET), "data", "ca.key"));
	one = json_pack("{s:s, s:s, s:[O]}", "apiVersion", "v1", "kind", "List", "items",
			must_find(first, "Secret", TLS_SECRET));
	text = json_dumps(one, JSON_COMPACT);
	assert_int_equal(kubetest_write_temp(text, strlen(text), &path), 0);
	{
		const char *create[] = {"kubectl", "create", "-f", path, NULL};

		kubectl(create);
	}
	again = render_admission(true, false);
	assert_string_equal(secret_key(again, "tls.crt"), secret_key(first, "tls.crt"));
	assert_string_equal(secret_key(again, "ca.crt"), secret_key(first, "ca.crt"));
	assert_null(dotted_key(must_find(again, "Secret", TLS_SECRET), "data", "ca.key"));

	annotate_in_days("saqr.dev/not-after", 10);
	renewed = render_admission(true, false);
	assert_null(dotted_key(must_find(renewed, "Secret", TLS_SECRET), "data", "ca.key"));
	assert_string_not_equal(secret_key(renewed, "tls.crt"), secret_key(first, "tls.crt"));
	assert_string_not_equal(secret_key(renewed, "ca.crt"), secret_key(first, "ca.crt"));
	check_helm_certificate(renewed);
	bundle = b64_text(json_path_str(must_find(renewed, "ValidatingWebhookConfiguration", NULL),
					"webhooks.0.clientConfig.caBundle", ""));
	old_ca = b64_text(secret_key(first, "ca.crt"));
	old_ca[strcspn(old_ca, "\n") + 1 + strcspn(old_ca + strcspn(old_ca, "\n") + 1, "-")] = '\0';
	if (!strstr(bundle, old_ca)) /* the previous CA's base64 body is in the bundle */
		fail_msg("the caBundle after a renewal lacks the previous CA");

	kubectl(del);
	unlink(path);
	free(path);
	free(text);
	free(bundle);
	free(old_ca);
	json_decref(one);
	json_decref(first);
	json_decref(again);
	json_decref(renewed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_generated_copies_are_current),
	    cmocka_unit_test(test_sync_check_finds_drift),
	    cmocka_unit_test(test_helm_lint_strict),
	    cmocka_unit_test(test_helm_default_values),
	    cmocka_unit_test(test_helm_cert_manager_mode),
	    cmocka_unit_test(test_helm_existing_secret_mode),
	    cmocka_unit_test(test_helm_crds_disabled_or_not_kept),
	    cmocka_unit_test(test_helm_watch_namespace),
	    cmocka_unit_test(test_helm_policy_override),
	    cmocka_unit_test(test_helm_policy_resource),
	    cmocka_unit_test(test_helm_service_monitor),
	    cmocka_unit_test(test_helm_schema_refuses_bad_values),
	    cmocka_unit_test(test_kustomize_manifests),
	    cmocka_unit_test(test_kustomize_cert_manager_overlay),
	    cmocka_unit_test(test_rbac_same_in_both_paths),
	    cmocka_unit_test(test_image_rootfs_builds_runnable_trees),
	    cmocka_unit_test(test_image_rootfs_names_missing_binaries),
	    cmocka_unit_test(test_server_dry_run_helm),
	    cmocka_unit_test(test_server_dry_run_kustomize),
	    cmocka_unit_test(test_helm_keeps_certificate),
	    cmocka_unit_test(test_helm_renews_without_ca_key),
	};

	return cmocka_run_group_tests_name("install", tests, NULL, NULL);
}
