/* Integration test: build/san/bin/saqr-webhook behind a real kube-apiserver.
 *
 * The webhook runs on 127.0.0.1 with a certificate from hack/webhook-certs.sh, registered as a
 * `url:` ValidatingWebhookConfiguration limited to a namespace of this test. kubectl, as a plain
 * user (not system:masters), then applies compliant and non-compliant objects. What the webhook
 * must say is worked out by running the same policy engine in this process on the same object:
 * every deny-mode violation must be in the denial, every warn-mode one in kubectl's warnings.
 * Also: --dry-run=server, a policy hot reload (warn mode, then a broken file that is refused),
 * certificate rotation through a Secret-style `..data` symlink swap while requests flow, and a
 * graceful SIGTERM. Needs KUBECONFIG, SAQR_ROOT, SAQR_SAN_BIN and kubectl on PATH. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../support/proc.h"
#include "common/buf.h"
#include "common/yamljson.h"
#include "policy/policy.h"
#include "webhook/admission.h"

#define OUT_MAX (256 * 1024)
#define WEBHOOK_NAME "validate.saqr.dev"
#define DENIED "admission webhook \"" WEBHOOK_NAME "\" denied the request:"
#define USER "alice"
#define GROUP "ml-engineers"

struct it {
	char root[512], bin[512], tmp[64];
	char ns[64], vwc[64];
	char user_kubeconfig[512];
	char policy[128], default_policy[600];
	char tls[128]; /* holds ..data -> ../v1 and tls.crt, tls.key -> ..data/... */
	char log[128];
	char *ca_bundle;
	struct proc daemon; /* saqr-webhook */
	int port, metrics_port;
	char *out; /* kubectl output */
};

static struct it T;

/* ---- small helpers ---- */

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = malloc((size_t)n + 1);
	if (data && fread(data, 1, (size_t)n, f) == (size_t)n) {
		data[n] = '\0';
		if (len)
			*len = (size_t)n;
	} else {
		free(data);
		data = NULL;
	}
	fclose(f);
	return data;
}

static void spit(const char *path, const char *data)
{
	char tmp[512];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "wb");
	assert_non_null(f);
	assert_int_equal(fputs(data, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(tmp, path), 0); /* a new inode, as kubelet and editors do */
}

/* Run argv to its end with env_extra (may be NULL) added to the environment; its stdout and
 * stderr, interleaved, into out (OUT_MAX bytes, NUL-terminated). The exit status, or -1 when it
 * could not be run or printed too much. */
static int run_into(const char *const argv[], const char *const env_extra[], char *out)
{
	const struct proc_opts opts = {.env_extra = env_extra};
	struct buf b;
	int code = -1;

	buf_init(&b, OUT_MAX - 1);
	if (proc_run_opts(argv, &opts, &b, &code) != 0)
		code = -1;
	snprintf(out, OUT_MAX, "%s", buf_str(&b));
	buf_release(&b);
	return code;
}

/* Run argv; returns the exit status, output in T.out. */
static int run(const char *const argv[], bool as_user)
{
	char env[600];
	const char *extra[] = {env, NULL};

	snprintf(env, sizeof(env), "KUBECONFIG=%s", T.user_kubeconfig);
	return run_into(argv, as_user ? extra : NULL, T.out);
}

/* kubectl as the test user, in the test namespace, on one manifest file. */
static int kubectl_file(const char *verb, const char *file, const char *extra)
{
	const char *argv[] = {"kubectl", verb, "-n", T.ns, "-f", file, extra, NULL};

	return run(argv, true);
}

static void write_manifest(const char *name, const char *yaml, char *path, size_t n)
{
	snprintf(path, n, "%s/%.120s", T.tmp, name);
	spit(path, yaml);
}

/* A manifest from tests/data/webhook/manifests with metadata.name replaced (first "  name: "). */
static char *manifest(const char *file, const char *new_name)
{
	char path[700], *yaml, *at, *eol, *out;
	size_t len;

	snprintf(path, sizeof(path), "%s/tests/data/webhook/manifests/%s", T.root, file);
	yaml = slurp(path, &len);
	assert_non_null(yaml);
	if (!new_name)
		return yaml;
	at = strstr(yaml, "\n  name: ");
	assert_non_null(at);
	at += strlen("\n  name: ");
	eol = strchr(at, '\n');
	out = malloc(len + strlen(new_name) + 1);
	memcpy(out, yaml, (size_t)(at - yaml));
	memcpy(out + (at - yaml), new_name, strlen(new_name));
	memcpy(out + (at - yaml) + strlen(new_name), eol, strlen(eol) + 1);
	free(yaml);
	return out;
}

/* ---- the policy engine, in process ---- */

struct verdict {
	bool allowed;
	json_t *deny; /* "[rule] path" of each deny-mode finding */
	json_t *warn; /* same for warn mode */
	char summary[4096];
};

static void judge(const char *policy_file, json_t *doc, struct verdict *v)
{
	static const char *const groups[] = {GROUP, "system:authenticated"};
	struct policy_user user = {.username = USER, .groups = groups, .ngroups = 2};
	struct policy_input in = {.object = doc, .operation = "CREATE", .namespace = T.ns, .user = &user};
	struct policy *p = NULL;
	struct policy_decision d;
	char err[512] = "", item[1024];
	size_t used = 0;

	if (policy_load_file(policy_file, &p, err, sizeof(err)))
		fail_msg("the policy %s does not load: %s", policy_file, err);
	json_object_set_new(json_object_get(doc, "metadata"), "namespace", json_string(T.ns));
	in.now = time(NULL);
	policy_decision_init(&d);
	assert_int_equal(policy_eval(p, &in, &d), 0);
	v->allowed = d.allowed;
	v->deny = json_array();
	v->warn = json_array();
	v->summary[0] = '\0';
	for (size_t i = 0; i < d.nviolations; i++) {
		const struct policy_violation *x = &d.violations[i];

		snprintf(item, sizeof(item), "[%s] %s", x->rule, x->path ? x->path : "");
		if (x->enforcement == POLICY_ENFORCE_DENY)
			json_array_append_new(v->deny, json_string(item));
		else if (x->enforcement == POLICY_ENFORCE_WARN)
			json_array_append_new(v->warn, json_string(item));
		if (used + strlen(item) + 3 < sizeof(v->summary))
			used += (size_t)snprintf(v->summary + used, sizeof(v->summary) - used, "%s%s: %s",
						 used ? "; " : "", item, x->message ? x->message : "");
	}
	policy_decision_release(&d);
	policy_free(p);
}

static void verdict_release(struct verdict *v)
{
	json_decref(v->deny);
	json_decref(v->warn);
}

/* The documents of a YAML manifest (a JSON array). */
static json_t *docs_of(const char *yaml)
{
	json_t *docs = NULL;
	char err[256];

	if (yaml_to_json_docs(yaml, strlen(yaml), 1 << 20, &docs, err, sizeof(err)))
		fail_msg("bad test manifest: %s", err);
	return docs;
}

/* ---- the webhook's metrics ---- */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	return buf_add(ud, p, size * n) ? 0 : size * n;
}

/* The value of a series in the webhook's /metrics, or -1. */
static double metric(const char *series)
{
	CURL *c = curl_easy_init();
	char url[128], line[256];
	struct buf b;
	const char *at;
	double v = -1;

	buf_init(&b, 1 << 20);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", T.metrics_port);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	snprintf(line, sizeof(line), "\n%s ", series); /* a sample line, not the # HELP text */
	if (curl_easy_perform(c) == CURLE_OK && (at = strstr(buf_str(&b), line)) != NULL)
		v = strtod(at + strlen(line), NULL);
	curl_easy_cleanup(c);
	buf_release(&b);
	return v;
}

/* Wait, bounded, until a series reaches at least want. */
static void await_metric(const char *series, double want)
{
	for (int i = 0; i < 600 && metric(series) < want; i++)
		sleep_ms(50);
	if (metric(series) < want)
		fail_msg("%s stayed below %g (is %g); webhook log: %s", series, want, metric(series), T.log);
}

/* ---- setup and teardown ---- */

static void env_or_fail(const char *name, char *out, size_t n)
{
	const char *v = getenv(name);

	if (!v || !*v)
		fail_msg("%s is not set (run through make test-integration)", name);
	snprintf(out, n, "%s", v);
}

static void make_certs(const char *dir, const char *ca_from)
{
	char script[600], out[700];
	const char *argv[] = {script, "--out", out, ca_from ? "--ca-from" : NULL, ca_from, NULL};

	snprintf(script, sizeof(script), "%s/hack/webhook-certs.sh", T.root);
	snprintf(out, sizeof(out), "%s/%s", T.tmp, dir);
	assert_int_equal(run_into(argv, NULL, T.out), 0);
	if (!ca_from) { /* the output mixes stderr in: the caBundle is the base64 PEM line */
		const char *b64 = strstr(T.out, "LS0tLS1CRUdJTi");

		assert_non_null(b64);
		T.ca_bundle = strndup(b64, strcspn(b64, "\n"));
	}
}

/* tls/..data -> ../v1, tls/tls.crt -> ..data/tls.crt: a Secret volume's layout. */
static void make_tls_dir(void)
{
	char path[256];

	snprintf(T.tls, sizeof(T.tls), "%s/tls", T.tmp);
	assert_int_equal(mkdir(T.tls, 0700), 0);
	snprintf(path, sizeof(path), "%s/..data", T.tls);
	assert_int_equal(symlink("../v1", path), 0);
	snprintf(path, sizeof(path), "%s/tls.crt", T.tls);
	assert_int_equal(symlink("..data/tls.crt", path), 0);
	snprintf(path, sizeof(path), "%s/tls.key", T.tls);
	assert_int_equal(symlink("..data/tls.key", path), 0);
}

static int port_after(const char *log, const char *msg)
{
	const char *at = strstr(log, msg);

	at = at ? strstr(at, "\"port\":\"") : NULL;
	return at ? (int)strtol(at + 8, NULL, 10) : 0;
}

static void start_webhook(void)
{
	char cert[200], key[200];
	const char *argv[] = {T.bin,	"--cert-file", cert,	    "--key-file", key, "--policy-file",
			      T.policy, "--address",   "127.0.0.1", "--port",	  "0", "--metrics-port",
			      "0",	"--threads",   "2",	    NULL};
	char *log = NULL;

	snprintf(cert, sizeof(cert), "%s/tls.crt", T.tls);
	snprintf(key, sizeof(key), "%s/tls.key", T.tls);
	assert_int_equal(proc_start(&T.daemon, argv, NULL, T.log), 0);
	for (int i = 0; i < 600 && !T.metrics_port; i++) {
		sleep_ms(50);
		free(log);
		log = slurp(T.log, NULL);
		if (log) {
			T.port = port_after(log, "\"msg\":\"serving\"");
			T.metrics_port = port_after(log, "\"msg\":\"serving metrics");
		}
	}
	if (!T.port || !T.metrics_port)
		fail_msg("saqr-webhook did not start: %s", log ? log : "(no log)");
	free(log);
}

static void register_webhook(void)
{
	char yaml[16384], path[256];
	const char *argv[] = {"kubectl", "apply", "-f", path, NULL};

	snprintf(yaml, sizeof(yaml),
		 "apiVersion: admissionregistration.k8s.io/v1\n"
		 "kind: ValidatingWebhookConfiguration\n"
		 "metadata:\n  name: %s\n"
		 "webhooks:\n"
		 "- name: " WEBHOOK_NAME "\n"
		 "  admissionReviewVersions: [v1]\n  sideEffects: None\n  failurePolicy: Fail\n"
		 "  matchPolicy: Equivalent\n  timeoutSeconds: 5\n"
		 "  clientConfig:\n    url: https://127.0.0.1:%d/validate\n    caBundle: %s\n"
		 "  namespaceSelector:\n    matchExpressions:\n"
		 "    - {key: kubernetes.io/metadata.name, operator: In, values: [%s]}\n"
		 "  rules:\n"
		 "  - {apiGroups: [\"\"], apiVersions: [v1], operations: [CREATE, UPDATE], resources: "
		 "[pods], scope: Namespaced}\n"
		 "  - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: "
		 "[deployments, statefulsets, daemonsets, replicasets], scope: Namespaced}\n"
		 "  - {apiGroups: [batch], apiVersions: [v1], operations: [CREATE, UPDATE], resources: "
		 "[jobs, cronjobs], scope: Namespaced}\n",
		 T.vwc, T.port, T.ca_bundle, T.ns);
	write_manifest("vwc.yaml", yaml, path, sizeof(path));
	if (run(argv, false) != 0)
		fail_msg("cannot register the webhook: %s", T.out);
}

/* A plain user who may manage workloads in the test namespace (the aggregated "edit" role is
 * empty here: no controller-manager aggregates it), so no exemption for admins can hide a verdict. */
static void make_user(void)
{
	char script[600], path[256], yaml[2048];
	const char *user[] = {script, "user", USER, GROUP, NULL};
	const char *ns[] = {"kubectl", "create", "namespace", T.ns, NULL};
	const char *rbac[] = {"kubectl", "apply", "-f", path, NULL};

	snprintf(script, sizeof(script), "%s/hack/local-cluster.sh", T.root);
	snprintf(
	    yaml, sizeof(yaml),
	    "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\n"
	    "metadata: {name: workloads, namespace: %s}\n"
	    "rules:\n"
	    "- {apiGroups: [\"\", apps, batch], resources: [pods, deployments, statefulsets, daemonsets, "
	    "replicasets, jobs, cronjobs], verbs: [get, list, create, update, patch, delete]}\n"
	    "---\n"
	    "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n"
	    "metadata: {name: workloads-" USER ", namespace: %s}\n"
	    "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: workloads}\n"
	    "subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: " USER "}]\n",
	    T.ns, T.ns);
	if (run(ns, false) != 0)
		fail_msg("kubectl create namespace: %s", T.out);
	write_manifest("rbac.yaml", yaml, path, sizeof(path));
	if (run(rbac, false) != 0)
		fail_msg("kubectl apply rbac: %s", T.out);
	if (run_into(user, NULL, T.out) != 0)
		fail_msg("local-cluster.sh user: %s", T.out);
	snprintf(T.user_kubeconfig, sizeof(T.user_kubeconfig), "%.*s", (int)strcspn(T.out, "\n"), T.out);
}

/* The apiserver picks a new configuration up asynchronously: wait until it calls us. */
static void await_webhook_active(void)
{
	char path[256], *yaml = manifest("pod-privileged.yaml", "probe");

	write_manifest("probe.yaml", yaml, path, sizeof(path));
	free(yaml);
	for (int i = 0; i < 300; i++) {
		if (kubectl_file("create", path, "--dry-run=server") != 0 && strstr(T.out, DENIED))
			return;
		sleep_ms(100);
	}
	fail_msg("the apiserver never called the webhook: %s", T.out);
}

static int setup(void **state)
{
	(void)state;
	T.out = malloc(OUT_MAX);
	env_or_fail("SAQR_ROOT", T.root, sizeof(T.root));
	{
		char dir[400];

		env_or_fail("SAQR_SAN_BIN", dir, sizeof(dir));
		snprintf(T.bin, sizeof(T.bin), "%s/saqr-webhook", dir);
	}
	snprintf(T.tmp, sizeof(T.tmp), "/tmp/saqr-webhook-it-XXXXXX");
	if (!mkdtemp(T.tmp))
		return -1;
	snprintf(T.ns, sizeof(T.ns), "saqr-webhook-it-%d", (int)getpid());
	snprintf(T.vwc, sizeof(T.vwc), "saqr-webhook-it-%d", (int)getpid());
	snprintf(T.log, sizeof(T.log), "%s/webhook.log", T.tmp);
	snprintf(T.policy, sizeof(T.policy), "%s/policy.yaml", T.tmp);
	snprintf(T.default_policy, sizeof(T.default_policy), "%s/manifests/policy/default.yaml", T.root);
	{
		char *p = slurp(T.default_policy, NULL);

		if (!p)
			return -1;
		spit(T.policy, p);
		free(p);
	}
	make_certs("v1", NULL);
	make_tls_dir();
	start_webhook();
	make_user();
	register_webhook();
	await_webhook_active();
	return 0;
}

static int teardown(void **state)
{
	const char *del[] = {
	    "kubectl", "delete", "validatingwebhookconfiguration", T.vwc, "--ignore-not-found", NULL};
	char cmd[128];

	(void)state;
	run(del, false); /* first: a Fail webhook with no server behind it blocks the namespace */
	proc_kill(&T.daemon);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", T.tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", T.tmp);
	free(T.ca_bundle);
	free(T.out);
	return 0;
}

/* ---- assertions on kubectl's answer ---- */

static void assert_admitted(const char *what, int rc)
{
	if (rc != 0)
		fail_msg("%s was refused: %s", what, T.out);
}

static void assert_denied_with(const char *what, int rc, const struct verdict *v)
{
	size_t i;
	json_t *item;

	if (rc == 0 || !strstr(T.out, DENIED))
		fail_msg("%s was not denied by the webhook: %s", what, T.out);
	json_array_foreach(v->deny, i, item) if (!strstr(T.out, json_string_value(item)))
	    fail_msg("%s: the denial lacks %s: %s", what, json_string_value(item), T.out);
}

/* Every warn-mode finding that fits in the apiserver's warning budget shows as "Warning: ...". */
static void assert_warned_with(const char *what, const struct verdict *v)
{
	char fitted[ADMISSION_WARNING_MAX + 1], want[ADMISSION_WARNING_MAX + 16];
	size_t i, total = 0;
	json_t *item;

	json_array_foreach(v->warn, i, item)
	{
		total += admission_warning_fit(json_string_value(item), fitted, sizeof(fitted)) + 64;
		if (total > ADMISSION_WARNINGS_TOTAL_MAX - 64)
			break;
		snprintf(want, sizeof(want), "Warning: %s", json_string_value(item));
		if (!strstr(T.out, want))
			fail_msg("%s: kubectl shows no %s: %s", what, want, T.out);
	}
}

/* Judge each document of file (renamed when rename_to is set) with policy, apply it, compare. */
static void apply_with(const char *policy, const char *file, const char *rename_to, const char *extra,
		       bool expect_allowed)
{
	char *yaml = manifest(file, rename_to), path[256], one[512], label[300];
	json_t *docs = docs_of(yaml), *doc;
	size_t i;

	json_array_foreach(docs, i, doc)
	{
		struct verdict v;
		char *text = json_dumps(doc, JSON_INDENT(2)); /* JSON is YAML: one document per file */
		int rc;

		snprintf(one, sizeof(one), "doc-%zu-%s", i, file);
		write_manifest(one, text, path, sizeof(path));
		free(text);
		snprintf(label, sizeof(label), "%s %s", json_string_value(json_object_get(doc, "kind")),
			 json_string_value(json_object_get(json_object_get(doc, "metadata"), "name")));
		judge(policy, doc, &v);
		if (expect_allowed && !v.allowed)
			fail_msg("test fixture %s is not compliant under %s: %s", label, policy, v.summary);
		if (!expect_allowed && v.allowed)
			fail_msg("test fixture %s breaks nothing that %s denies: %s", label, policy,
				 v.summary);
		rc = kubectl_file("create", path, extra);
		if (v.allowed) {
			assert_admitted(label, rc);
			assert_warned_with(label, &v);
		} else {
			assert_denied_with(label, rc, &v);
		}
		verdict_release(&v);
	}
	json_decref(docs);
	free(yaml);
}

/* The same, judged with the policy file the webhook watches. */
static void apply_and_check(const char *file, const char *rename_to, const char *extra, bool expect_allowed)
{
	apply_with(T.policy, file, rename_to, extra, expect_allowed);
}

static bool exists(const char *kind, const char *name)
{
	const char *argv[] = {"kubectl", "get", kind, name, "-n", T.ns, "-o", "name", NULL};

	return run(argv, true) == 0;
}

/* ---- tests, in order ---- */

/* manifests/webhook builds with kustomize and the real apiserver accepts every object in it
 * (the policy ConfigMap and the PDB come from the top-level manifests/ kustomization). */
static void test_install_manifests_are_valid(void **state)
{
	char dir[600];
	const char *ns[] = {"kubectl", "create", "namespace", "saqr-system", NULL};
	const char *apply[] = {"kubectl", "apply", "-k", dir, "--dry-run=server", NULL};

	(void)state;
	snprintf(dir, sizeof(dir), "%s/manifests/webhook", T.root);
	if (run(ns, false) != 0 && !strstr(T.out, "AlreadyExists"))
		fail_msg("kubectl create namespace saqr-system: %s", T.out);
	if (run(apply, false) != 0)
		fail_msg("kubectl apply -k manifests/webhook --dry-run=server: %s", T.out);
	assert_non_null(
	    strstr(T.out, "validatingwebhookconfiguration.admissionregistration.k8s.io/saqr-webhook"));
	assert_non_null(strstr(T.out, "deployment.apps/saqr-webhook"));
	assert_non_null(strstr(T.out, "service/saqr-webhook"));
}

static void test_compliant_objects_are_admitted(void **state)
{
	(void)state;
	apply_and_check("pod-compliant.yaml", NULL, NULL, true);
	apply_and_check("deployment-compliant.yaml", NULL, NULL, true);
	assert_true(exists("pod", "scorer"));
	assert_true(exists("deployment", "scorer"));
}

static void test_violations_are_denied_with_every_finding(void **state)
{
	(void)state;
	apply_and_check("pod-privileged.yaml", NULL, NULL, false);
	apply_and_check("workloads-privileged.yaml", NULL, NULL, false);
	assert_false(exists("pod", "debug-shell"));
	assert_false(exists("cronjob", "bad-cronjob"));
	assert_true(
	    metric("saqr_admission_requests_total{kind=\"Pod\",operation=\"CREATE\",decision=\"deny\"}") >=
	    1);
}

static void test_dry_run_server(void **state)
{
	char *log;

	(void)state;
	apply_and_check("pod-compliant.yaml", "scorer-dry", "--dry-run=server", true);
	assert_non_null(strstr(T.out, "(server dry run)"));
	assert_false(exists("pod", "scorer-dry"));
	apply_and_check("pod-privileged.yaml", "debug-dry", "--dry-run=server", false);
	log = slurp(T.log, NULL);
	assert_non_null(strstr(log, "\"name\":\"debug-dry\""));
	assert_non_null(strstr(strstr(log, "\"name\":\"debug-dry\""), "\"dryRun\":true"));
	free(log);
}

/* The default policy with every "enforcement" set to "warn", written to path as JSON (which is
 * YAML). */
static void write_warn_policy(const char *path)
{
	char *yaml = slurp(T.default_policy, NULL), *text, err[256];
	json_t *root = NULL, *stack[64];
	int depth = 0, changed = 0;

	assert_non_null(yaml);
	if (yaml_to_json(yaml, strlen(yaml), 1 << 20, &root, err, sizeof(err)))
		fail_msg("default policy: %s", err);
	stack[depth++] = root;
	while (depth) {
		json_t *v = stack[--depth], *child;
		const char *key;
		size_t i;

		if (json_is_object(v)) {
			json_object_foreach(v, key, child)
			{
				if (strcmp(key, "enforcement") == 0 && json_is_string(child)) {
					json_object_set_new(v, key, json_string("warn"));
					changed++;
				} else if (depth < 64) {
					stack[depth++] = child;
				}
			}
		} else if (json_is_array(v)) {
			json_array_foreach(v, i, child) if (depth < 64) stack[depth++] = child;
		}
	}
	if (!changed)
		fail_msg("%s has no \"enforcement\" fields to turn to warn", T.default_policy);
	text = json_dumps(root, JSON_INDENT(2));
	spit(path, text);
	free(text);
	json_decref(root);
	free(yaml);
}

static void warn_policy_path(char *out, size_t n)
{
	snprintf(out, n, "%s/warn-policy.yaml", T.tmp);
}

static void test_warn_mode_findings_are_kubectl_warnings(void **state)
{
	char warn[256], *text;

	(void)state;
	warn_policy_path(warn, sizeof(warn));
	write_warn_policy(warn);
	text = slurp(warn, NULL);
	spit(T.policy, text); /* the hot reload under test */
	free(text);
	await_metric("saqr_policy_reloads_total{result=\"success\"}", 1);
	apply_and_check("pod-privileged.yaml", "debug-warn", NULL, true);
	assert_non_null(strstr(T.out, "Warning: "));
	assert_true(exists("pod", "debug-warn"));
}

static void test_a_broken_policy_keeps_the_last_good_one(void **state)
{
	char warn[256], *p;

	(void)state;
	warn_policy_path(warn, sizeof(warn));
	spit(T.policy, "podSecurity: [this is not YAML\n");
	await_metric("saqr_policy_reloads_total{result=\"error\"}", 1);
	/* the warn-mode policy is still the one in force */
	apply_with(warn, "pod-privileged.yaml", "debug-after-bad", NULL, true);
	assert_true(exists("pod", "debug-after-bad"));
	assert_true(metric("saqr_policy_last_reload_successful") == 0);
	/* and back to the default policy: denials again */
	p = slurp(T.default_policy, NULL);
	spit(T.policy, p);
	free(p);
	await_metric("saqr_policy_reloads_total{result=\"success\"}", 2);
	apply_and_check("pod-privileged.yaml", "debug-denied-again", NULL, false);
}

struct flow {
	atomic_bool stop;
	int ok, failed;
	char last_failure[2048];
};

/* Keep requests flowing: server-side dry runs of the compliant Pod, one after another. */
static void *flow_requests(void *arg)
{
	struct flow *fl = arg;
	char path[256], *yaml = manifest("pod-compliant.yaml", "scorer-flow");
	char env[600], *out = malloc(OUT_MAX);
	const char *extra[] = {env, NULL};
	const char *argv[] = {"kubectl", "create", "-n", T.ns, "-f", path, "--dry-run=server", NULL};

	snprintf(path, sizeof(path), "%s/flow.yaml", T.tmp);
	spit(path, yaml);
	snprintf(env, sizeof(env), "KUBECONFIG=%s", T.user_kubeconfig);
	while (!atomic_load(&fl->stop)) {
		if (run_into(argv, extra, out) == 0) {
			fl->ok++;
		} else {
			fl->failed++;
			snprintf(fl->last_failure, sizeof(fl->last_failure), "%s", out);
		}
	}
	free(out);
	free(yaml);
	return NULL;
}

/* The certificate a fresh TLS connection to the webhook presents equals the one in file. */
static bool serves_certificate(const char *file)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	BIO *bio;
	SSL *ssl;
	X509 *want = NULL, *got = NULL;
	char target[64];
	FILE *f = fopen(file, "r");
	bool same = false;

	if (f) {
		want = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	snprintf(target, sizeof(target), "127.0.0.1:%d", T.port);
	bio = BIO_new_ssl_connect(ctx);
	BIO_get_ssl(bio, &ssl);
	BIO_set_conn_hostname(bio, target);
	if (want && BIO_do_connect(bio) == 1 && BIO_do_handshake(bio) == 1) {
		got = SSL_get1_peer_certificate(ssl);
		same = got && X509_cmp(got, want) == 0;
	}
	X509_free(got);
	X509_free(want);
	BIO_free_all(bio);
	SSL_CTX_free(ctx);
	return same;
}

static void test_certificate_rotation_while_requests_flow(void **state)
{
	char v1[256], v2[256], data[256], swap[256];
	struct flow fl = {.ok = 0};
	pthread_t t;
	int before;

	(void)state;
	snprintf(v1, sizeof(v1), "%s/v1/tls.crt", T.tmp);
	snprintf(v2, sizeof(v2), "%s/v2/tls.crt", T.tmp);
	snprintf(data, sizeof(data), "%s/..data", T.tls);
	snprintf(swap, sizeof(swap), "%s/..data_tmp", T.tls);
	{
		char ca_dir[200];

		snprintf(ca_dir, sizeof(ca_dir), "%s/v1", T.tmp);
		make_certs("v2", ca_dir); /* a new leaf from the same CA: the caBundle stays */
	}
	assert_true(serves_certificate(v1));
	atomic_init(&fl.stop, false);
	assert_int_equal(pthread_create(&t, NULL, flow_requests, &fl), 0);
	while (fl.ok + fl.failed < 3)
		sleep_ms(20);
	/* kubelet's Secret update: a new ..data symlink renamed over the old one */
	assert_int_equal(symlink("../v2", swap), 0);
	assert_int_equal(rename(swap, data), 0);
	await_metric("saqr_tls_reloads_total{result=\"success\"}", 1);
	assert_true(serves_certificate(v2));
	before = fl.ok;
	while (fl.ok + fl.failed < before + 3)
		sleep_ms(20);
	atomic_store(&fl.stop, true);
	assert_int_equal(pthread_join(t, NULL), 0);
	if (fl.failed)
		fail_msg("%d of %d requests failed during the rotation; last: %s", fl.failed,
			 fl.ok + fl.failed, fl.last_failure);
	assert_true(fl.ok >= 6);
}

static void test_sigterm_stops_cleanly(void **state)
{
	char *log;

	(void)state;
	assert_int_equal(proc_stop(&T.daemon, SIGTERM, 60000), 0);
	assert_int_equal(T.daemon.exit_code, 0);
	log = slurp(T.log, NULL);
	assert_non_null(strstr(log, "\"msg\":\"stopped\""));
	free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_install_manifests_are_valid),
	    cmocka_unit_test(test_compliant_objects_are_admitted),
	    cmocka_unit_test(test_violations_are_denied_with_every_finding),
	    cmocka_unit_test(test_dry_run_server),
	    cmocka_unit_test(test_warn_mode_findings_are_kubectl_warnings),
	    cmocka_unit_test(test_a_broken_policy_keeps_the_last_good_one),
	    cmocka_unit_test(test_certificate_rotation_while_requests_flow),
	    cmocka_unit_test(test_sigterm_stops_cleanly),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, setup, teardown);
	curl_global_cleanup();
	return rc;
}
