/* Integration test: `saqrctl check` agrees with saqr-webhook behind a real kube-apiserver.
 *
 * Each manifest of tests/data/parity (YAML 1.1 spellings kubectl reads as booleans and numbers,
 * tags, merge keys, metadata that must not skip a check, plus plain compliant and non-compliant
 * objects) is sent with `kubectl create --dry-run=server` through the API server to saqr-webhook
 * (default policy, registered as in test_webhook.c), and checked offline with
 * build/san/bin/saqrctl check -o json. Allowed or denied, and the rule ids of the denial, must
 * agree, and match the "# expect: allowed|denied" line of the manifest. Every disagreement is
 * listed before the test fails. Needs KUBECONFIG, SAQR_ROOT, SAQR_SAN_BIN and kubectl on PATH. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../support/proc.h"
#include "common/buf.h"

#define OUT_MAX (256 * 1024)
#define WEBHOOK_NAME "validate.saqr.dev"
#define DENIED "admission webhook \"" WEBHOOK_NAME "\" denied the request:"
#define USER "alice"
#define GROUP "ml-engineers"
#define CORPUS "tests/data/parity"

struct it {
	char root[512], bin[512], tmp[64];
	char ns[64], vwc[64];
	char user_kubeconfig[512];
	char policy[128], tls[128], log[128];
	char *ca_bundle;
	struct proc daemon; /* saqr-webhook */
	int port;
	char *out; /* the last program's output */
};

static struct it T;

/* ---- helpers (as in test_webhook.c) ---- */

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char chunk[4096];
	size_t n;
	char *out;

	if (!f)
		return NULL;
	buf_init(&b, OUT_MAX);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_add(&b, chunk, n) != 0)
			break;
	fclose(f);
	out = strdup(buf_str(&b));
	buf_release(&b);
	return out;
}

static void spit(const char *path, const char *data)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_true(fputs(data, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

/* Run argv to its end with env_extra (may be NULL); stdout and stderr into T.out. */
static int run_env(const char *const argv[], const char *const env_extra[])
{
	const struct proc_opts opts = {.env_extra = env_extra};
	struct buf b;
	int code = -1;

	buf_init(&b, OUT_MAX - 1);
	if (proc_run_opts(argv, &opts, &b, &code) != 0)
		code = -1;
	snprintf(T.out, OUT_MAX, "%s", buf_str(&b));
	buf_release(&b);
	return code;
}

static int run(const char *const argv[], bool as_user)
{
	char env[600];
	const char *extra[] = {env, NULL};

	snprintf(env, sizeof(env), "KUBECONFIG=%s", T.user_kubeconfig);
	return run_env(argv, as_user ? extra : NULL);
}

static void env_or_fail(const char *name, char *out, size_t n)
{
	const char *v = getenv(name);

	if (!v || !*v)
		fail_msg("%s is not set (run through make test-integration)", name);
	snprintf(out, n, "%s", v);
}

/* ---- the webhook behind the API server ---- */

static void make_certs(void)
{
	char script[600], out[700];
	const char *argv[] = {script, "--out", out, NULL};
	const char *b64;

	snprintf(script, sizeof(script), "%s/hack/webhook-certs.sh", T.root);
	snprintf(out, sizeof(out), "%s/tls", T.tmp);
	snprintf(T.tls, sizeof(T.tls), "%s/tls", T.tmp);
	if (run_env(argv, NULL) != 0)
		fail_msg("webhook-certs.sh: %s", T.out);
	b64 = strstr(T.out, "LS0tLS1CRUdJTi"); /* the caBundle: the base64 PEM line */
	assert_non_null(b64);
	T.ca_bundle = strndup(b64, strcspn(b64, "\n"));
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
	for (int i = 0; i < 600 && !T.port; i++) {
		sleep_ms(50);
		free(log);
		log = slurp(T.log);
		T.port = log ? port_after(log, "\"msg\":\"serving\"") : 0;
	}
	if (!T.port)
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
	snprintf(path, sizeof(path), "%s/vwc.yaml", T.tmp);
	spit(path, yaml);
	if (run(argv, false) != 0)
		fail_msg("cannot register the webhook: %s", T.out);
}

/* A plain user who may create workloads in the test namespace: no admin exemption hides a verdict. */
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
	snprintf(path, sizeof(path), "%s/rbac.yaml", T.tmp);
	spit(path, yaml);
	if (run(rbac, false) != 0)
		fail_msg("kubectl apply rbac: %s", T.out);
	if (run_env(user, NULL) != 0)
		fail_msg("local-cluster.sh user: %s", T.out);
	snprintf(T.user_kubeconfig, sizeof(T.user_kubeconfig), "%.*s", (int)strcspn(T.out, "\n"), T.out);
}

/* The API server picks a new configuration up asynchronously: wait until it calls us. */
static void await_webhook_active(void)
{
	char path[700];
	const char *argv[] = {"kubectl", "create", "--dry-run=server", "-n", T.ns, "-f", path, NULL};

	snprintf(path, sizeof(path), "%s/" CORPUS "/02-privileged-true.yaml", T.root);
	for (int i = 0; i < 300; i++) {
		if (run(argv, true) != 0 && strstr(T.out, DENIED))
			return;
		sleep_ms(100);
	}
	fail_msg("the apiserver never called the webhook: %s", T.out);
}

static int setup(void **state)
{
	char dir[400], *policy;

	(void)state;
	T.out = malloc(OUT_MAX);
	env_or_fail("SAQR_ROOT", T.root, sizeof(T.root));
	env_or_fail("SAQR_SAN_BIN", dir, sizeof(dir));
	snprintf(T.bin, sizeof(T.bin), "%.400s/saqr-webhook", dir);
	snprintf(T.tmp, sizeof(T.tmp), "/tmp/saqr-parity-it-XXXXXX");
	if (!T.out || !mkdtemp(T.tmp))
		return -1;
	snprintf(T.ns, sizeof(T.ns), "saqr-parity-it-%d", (int)getpid());
	snprintf(T.vwc, sizeof(T.vwc), "saqr-parity-it-%d", (int)getpid());
	snprintf(T.log, sizeof(T.log), "%s/webhook.log", T.tmp);
	snprintf(T.policy, sizeof(T.policy), "%s/policy.yaml", T.tmp);
	snprintf(dir, sizeof(dir), "%.360s/manifests/policy/default.yaml", T.root);
	policy = slurp(dir);
	if (!policy)
		return -1;
	spit(T.policy, policy);
	free(policy);
	make_certs();
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

/* ---- verdicts ---- */

struct verdict {
	bool allowed;
	char rules[2048]; /* the deny-mode rule ids, sorted, one per line */
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort and de-duplicate the n rule ids into v->rules. */
static void set_rules(struct verdict *v, char **ids, size_t n)
{
	size_t i, used = 0;

	qsort(ids, n, sizeof(*ids), cmp_str);
	v->rules[0] = '\0';
	for (i = 0; i < n; i++)
		if ((i == 0 || strcmp(ids[i], ids[i - 1]) != 0) && used < sizeof(v->rules))
			used += (size_t)snprintf(v->rules + used, sizeof(v->rules) - used, "%s\n", ids[i]);
}

/* What the API server said. false (with why) when the request never reached a verdict of the
 * webhook (kubectl or the API server refused it first). */
static bool online(const char *file, struct verdict *v, char *why, size_t whylen)
{
	const char *argv[] = {"kubectl", "create", "--dry-run=server", "-n", T.ns, "-f", file, NULL};
	char *ids[64], *at;
	size_t n = 0;
	int rc = run(argv, true);

	v->allowed = rc == 0;
	v->rules[0] = '\0';
	if (rc == 0)
		return true;
	at = strstr(T.out, DENIED);
	if (!at) {
		snprintf(why, whylen, "not a webhook verdict: %s", T.out);
		return false;
	}
	while (n < 64 && (at = strchr(at, '[')) != NULL) {
		size_t len = strcspn(at + 1, "] \n");

		if (at[1 + len] == ']' && strchr("abcdefghijklmnopqrstuvwxyz", at[1]) &&
		    memchr(at + 1, '.', len))
			ids[n++] = strndup(at + 1, len); /* a rule id, not an index such as containers[0] */
		at += 1 + len;
	}
	set_rules(v, ids, n);
	while (n > 0)
		free(ids[--n]);
	return true;
}

/* What saqrctl check -o json said about the one object of file. */
static bool offline(const char *file, struct verdict *v, char *why, size_t whylen)
{
	char bin[600];
	const char *argv[] = {bin, "check", "-o", "json", file, NULL};
	struct proc_result r = {0};
	json_t *doc, *res, *x;
	json_error_t jerr;
	char *ids[64];
	size_t i, n = 0;

	snprintf(bin, sizeof(bin), "%s/saqrctl", getenv("SAQR_SAN_BIN"));
	assert_int_equal(proc_capture(argv, NULL, &r), 0);
	doc = json_loads(r.out, 0, &jerr);
	res = json_array_get(json_object_get(doc, "results"), 0);
	if (!res || json_array_size(json_object_get(doc, "results")) != 1) {
		snprintf(why, whylen, "saqrctl exit %d: %s%s", r.status, r.out, r.err);
		json_decref(doc);
		proc_result_release(&r);
		return false;
	}
	v->allowed = json_is_true(json_object_get(res, "allowed"));
	json_array_foreach(json_object_get(res, "violations"), i,
			   x) if (n < 64 &&
				  strcmp(json_string_value(json_object_get(x, "enforcement")), "deny") == 0)
	    ids[n++] = strdup(json_string_value(json_object_get(x, "rule")));
	set_rules(v, ids, n);
	while (n > 0)
		free(ids[--n]);
	json_decref(doc);
	proc_result_release(&r);
	return true;
}

/* The "# expect: allowed|denied" line of a corpus file: 1 allowed, 0 denied, -1 missing. */
static int expected(const char *file)
{
	char *text = slurp(file);
	const char *at = text ? strstr(text, "# expect: ") : NULL;
	int e = !at ? -1 : strncmp(at + 10, "allowed", 7) == 0 ? 1 : 0;

	free(text);
	return e;
}

/* Compare one manifest; a disagreement is appended to report. Returns true when they agree. */
static bool compare(const char *name, struct buf *report)
{
	char file[1024], why[1024] = "";
	struct verdict on, off;
	int want;

	snprintf(file, sizeof(file), "%s/" CORPUS "/%s", T.root, name);
	want = expected(file);
	if (!online(file, &on, why, sizeof(why)) || !offline(file, &off, why, sizeof(why))) {
		buf_addf(report, "%s: %s\n", name, why);
		return false;
	}
	if (on.allowed == off.allowed && strcmp(on.rules, off.rules) == 0 && want == (int)on.allowed)
		return true;
	buf_addf(report, "%s: expected %s; webhook %s\n%s; saqrctl %s\n%s\n", name,
		 want < 0 ? "(no # expect line)"
		 : want	  ? "allowed"
			  : "denied",
		 on.allowed ? "allowed" : "denied", on.rules, off.allowed ? "allowed" : "denied", off.rules);
	return false;
}

static int only_yaml(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return n > 5 && strcmp(e->d_name + n - 5, ".yaml") == 0;
}

static void test_saqrctl_check_agrees_with_the_webhook(void **state)
{
	char dir[700];
	struct dirent **names;
	struct buf report;
	int n, i, agreed = 0;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/" CORPUS, T.root);
	n = scandir(dir, &names, only_yaml, alphasort);
	assert_true(n >= 20);
	buf_init(&report, 1 << 20);
	for (i = 0; i < n; i++) {
		agreed += compare(names[i]->d_name, &report);
		free(names[i]);
	}
	free(names);
	fprintf(stderr, "parity: %d of %d manifests agree\n", agreed, n);
	if (agreed != n) {
		fprintf(stderr, "saqrctl check and the webhook disagree:\n%s", buf_str(&report));
		fail_msg("%d of %d manifests disagree (listed above)", n - agreed, n);
	}
	buf_release(&report);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_saqrctl_check_agrees_with_the_webhook),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
