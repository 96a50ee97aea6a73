/* Integration tests for crds/ against a real kube-apiserver, driven through kubectl: the three CRDs
 * install and are Established, every field has a description, the samples are accepted, broken
 * objects are refused with clear messages, `kubectl explain` and the printer columns read well.
 * Needs KUBECONFIG, SAQR_ROOT and SAQR_TOOLS_BIN (hack/run-tests.sh sets them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/jsonutil.h"
#include "operator/driftpolicy/incident.h"
#include "../support/proc.h"

#define NS "saqr-test-crds"
#define OUT_MAX (8u << 20)
#define MAX_ARGS 24

static char kubectl_bin[1024];
static char repo_root[1024];

static const char *const crd_names[] = {"modeldeployments.saqr.dev", "trainingjobs.saqr.dev",
					"driftpolicies.saqr.dev"};
static const char *const samples[] = {"modeldeployment.yaml", "trainingjob.yaml", "driftpolicy.yaml"};

/* ---- running kubectl ---- */

/* Run kubectl with args (NULL-terminated) and stdin_data; stdout goes to out, stderr too unless err
 * is given. Returns kubectl's exit code; -1 when it could not run (the message is printed). */
static int kubectl_io(const char *stdin_data, struct buf *out, struct buf *err, const char *const args[])
{
	const char *argv[MAX_ARGS + 2] = {kubectl_bin};
	struct proc_opts opts = {.stdin_data = stdin_data, .err = err};
	int code = -1, n = 0, rc;

	while (n < MAX_ARGS && args[n]) {
		argv[n + 1] = args[n];
		n++;
	}
	if (args[n]) {
		fprintf(stderr, "kubectl %s: more than %d arguments\n", args[0], MAX_ARGS);
		return -1;
	}
	rc = proc_run_opts(argv, &opts, out, &code);
	if (rc != 0) {
		fprintf(stderr, "kubectl %s: %s\n", args[0], saqr_strerror(rc));
		return -1;
	}
	return code;
}

static int kubectl(struct buf *out, const char *const args[])
{
	buf_reset(out);
	return kubectl_io(NULL, out, NULL, args);
}

#define KUBECTL(out, ...) kubectl((out), (const char *const[]){__VA_ARGS__, NULL})

static const char *repo_path(char *dst, size_t n, const char *rel)
{
	snprintf(dst, n, "%s/%s", repo_root, rel);
	return dst;
}

/* Assert that kubectl exited with want (or with anything but 0 when want is -1) and printed needle. */
static void expect(int code, int want, const struct buf *out, const char *needle)
{
	bool code_ok = want == -1 ? code > 0 : code == want;

	if (!code_ok || (needle && !strstr(buf_str(out), needle)))
		fail_msg("kubectl exited %d (want %s%d), expected \"%s\" in:\n%s", code,
			 want == -1 ? "not " : "", want == -1 ? 0 : want, needle ? needle : "", buf_str(out));
}

/* Assert that the last output also holds needle. */
static void expect_output(const struct buf *out, const char *needle)
{
	expect(0, 0, out, needle);
}

/* Parse kubectl's JSON output; the caller frees it with json_decref. */
static json_t *parse_json(const struct buf *out)
{
	char err[256];
	json_t *doc = json_parse_capped(out->data ? out->data : "", out->len, OUT_MAX, err, sizeof(err));

	if (!doc)
		fail_msg("kubectl printed no JSON (%s):\n%s", err, buf_str(out));
	return doc;
}

static json_t *get_json(const char *const args[])
{
	struct buf out, err;
	json_t *doc;
	int code;

	buf_init(&out, OUT_MAX);
	buf_init(&err, OUT_MAX);
	code = kubectl_io(NULL, &out, &err, args);
	if (code != 0)
		fail_msg("kubectl %s %s exited %d: %s", args[0], args[1], code, buf_str(&err));
	doc = parse_json(&out);
	buf_release(&out);
	buf_release(&err);
	return doc;
}

/* Where header (one line) names column col as a whole word, or NULL. */
static const char *find_column(const char *header, const char *col)
{
	const char *eol = strchrnul(header, '\n'), *h = header;
	size_t n = strlen(col);

	while ((h = strstr(h, col)) && h < eol) {
		if ((h == header || h[-1] == ' ') && (h[n] == ' ' || h[n] == '\n' || !h[n]))
			return h;
		h += n;
	}
	return NULL;
}

/* The cell of row (len bytes) under column col of header; NULL when there is no such column.
 * Cells start where their column's header starts (kubectl pads with spaces). Caller frees. */
static char *row_cell(const char *header, const char *row, size_t len, const char *col)
{
	const char *h = find_column(header, col), *next;
	size_t start, stop;

	if (!h)
		return NULL;
	start = (size_t)(h - header);
	for (next = h + strlen(col); *next == ' '; next++)
		;
	stop = *next == '\n' || !*next ? len : (size_t)(next - header);
	if (stop > len)
		stop = len;
	while (stop > start && row[stop - 1] == ' ')
		stop--;
	return start < stop ? strndup(row + start, stop - start) : strdup("");
}

/* The cell under column col in the row of object name, in kubectl's table output (several tables,
 * each with its NAME header, may follow each other). Caller frees. */
static char *table_cell(const char *text, const char *name, const char *col)
{
	const char *header = NULL, *line, *end;
	size_t n = strlen(name);

	for (line = text; *line; line = *end ? end + 1 : end) {
		end = strchrnul(line, '\n');
		if (strncmp(line, "NAME ", 5) == 0)
			header = line;
		else if (header && strncmp(line, name, n) == 0 && line[n] == ' ')
			return row_cell(header, line, (size_t)(end - line), col);
	}
	return NULL;
}

static void expect_cell(const struct buf *out, const char *name, const char *col, const char *want)
{
	char *got = table_cell(buf_str(out), name, col);

	if (!got || strcmp(got, want) != 0)
		fail_msg("%s under %s: want \"%s\", got \"%s\" in:\n%s", name, col, want,
			 got ? got : "(none)", buf_str(out));
	free(got);
}

/* ---- group setup: install the CRDs, make the test namespace ---- */

static int setup(void **state)
{
	const char *bin = getenv("SAQR_TOOLS_BIN"), *root = getenv("SAQR_ROOT");
	char crds[1100];
	struct buf out;
	int code;

	(void)state;
	if (!bin || !root || !getenv("KUBECONFIG")) {
		fprintf(stderr, "test_crds: needs SAQR_TOOLS_BIN, SAQR_ROOT and KUBECONFIG "
				"(make test-integration sets them)\n");
		return -1;
	}
	snprintf(kubectl_bin, sizeof(kubectl_bin), "%s/kubectl", bin);
	snprintf(repo_root, sizeof(repo_root), "%s", root);
	buf_init(&out, OUT_MAX);
	code = KUBECTL(&out, "apply", "--server-side", "-f", repo_path(crds, sizeof(crds), "crds/"));
	if (code == 0)
		code = KUBECTL(&out, "wait", "--for", "condition=Established", "--timeout=60s",
			       "crd/modeldeployments.saqr.dev", "crd/trainingjobs.saqr.dev",
			       "crd/driftpolicies.saqr.dev", "crd/admissionpolicies.saqr.dev");
	if (code == 0) {
		buf_reset(&out);
		code = kubectl_io("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " NS "\n", &out, NULL,
				  (const char *const[]){"apply", "--server-side", "-f", "-", NULL});
	}
	if (code != 0)
		fprintf(stderr, "test_crds: setup failed (%d):\n%s\n", code, buf_str(&out));
	buf_release(&out);
	return code == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	struct buf out;

	(void)state;
	buf_init(&out, OUT_MAX);
	KUBECTL(&out, "delete", "-n", NS, "md,tj,dp", "--all", "--ignore-not-found", "--wait=false");
	buf_release(&out);
	return 0;
}

/* ---- the CRDs themselves ---- */

static void test_crds_are_established_with_names(void **state)
{
	static const char established_and_named[] =
	    "jsonpath={.status.conditions[?(@.type==\"Established\")].status}/"
	    "{.status.conditions[?(@.type==\"NamesAccepted\")].status}";
	struct buf out;

	(void)state;
	buf_init(&out, OUT_MAX);
	for (size_t i = 0; i < sizeof(crd_names) / sizeof(crd_names[0]); i++) {
		char crd[128];

		snprintf(crd, sizeof(crd), "crd/%s", crd_names[i]);
		expect(KUBECTL(&out, "get", crd, "-o", established_and_named), 0, &out, "True/True");
	}
	expect(KUBECTL(&out, "api-resources", "--api-group=saqr.dev", "-o", "wide"), 0, &out, NULL);
	for (size_t i = 0; i < sizeof(crd_names) / sizeof(crd_names[0]); i++) {
		static const char *const short_names[] = {"md", "tj", "dp"};
		static const char *const kinds[] = {"ModelDeployment", "TrainingJob", "DriftPolicy"};
		char plural[64];

		snprintf(plural, sizeof(plural), "%.*s", (int)strcspn(crd_names[i], "."), crd_names[i]);
		expect_cell(&out, plural, "SHORTNAMES", short_names[i]);
		expect_cell(&out, plural, "APIVERSION", "saqr.dev/v1alpha1");
		expect_cell(&out, plural, "NAMESPACED", "true");
		expect_cell(&out, plural, "KIND", kinds[i]);
		expect_cell(&out, plural, "CATEGORIES", "saqr");
	}
	buf_release(&out);
}

static json_t *crd_schema_scoped(const char *name, const char *scope)
{
	json_t *crd = get_json((const char *const[]){"get", "crd", name, "-o", "json", NULL});
	json_t *versions = json_path(crd, "spec.versions");
	json_t *schema;

	assert_int_equal(json_array_size(versions), 1);
	assert_string_equal(json_path_str(crd, "spec.scope", ""), scope);
	assert_true(json_path_bool(crd, "spec.versions.0.served", false, NULL));
	assert_true(json_path_bool(crd, "spec.versions.0.storage", false, NULL));
	assert_non_null(json_path(crd, "spec.versions.0.subresources.status"));
	schema = json_incref(json_path(crd, "spec.versions.0.schema.openAPIV3Schema"));
	json_decref(crd);
	assert_non_null(schema);
	return schema;
}

static json_t *crd_schema(const char *name)
{
	return crd_schema_scoped(name, "Namespaced");
}

/* Every property below schema needs a non-empty description (kubectl explain shows it), except the
 * root metadata, which the API server describes itself. */
static void collect_undescribed(const json_t *schema, const char *path, struct buf *missing, int *fields)
{
	const json_t *props = json_object_get(schema, "properties"), *child;
	const char *key;

	json_object_foreach((json_t *)props, key, child)
	{
		char p[1024];
		const char *d = json_string_value(json_object_get(child, "description"));

		snprintf(p, sizeof(p), "%s.%s", path, key);
		if (strcmp(p, ".metadata") != 0) {
			(*fields)++;
			if (!d || !*d)
				buf_addf(missing, "  %s\n", p);
		}
		collect_undescribed(child, p, missing, fields);
	}
	if (json_is_object(json_object_get(schema, "items")))
		collect_undescribed(json_object_get(schema, "items"), path, missing, fields);
	if (json_is_object(json_object_get(schema, "additionalProperties")))
		collect_undescribed(json_object_get(schema, "additionalProperties"), path, missing, fields);
}

static void test_every_field_has_a_description(void **state)
{
	const int min_fields[] = {95, 79, 146}; /* the fields there are today: catches a walk gone wrong */
	struct buf missing;

	(void)state;
	buf_init(&missing, OUT_MAX);
	for (size_t i = 0; i < sizeof(crd_names) / sizeof(crd_names[0]); i++) {
		json_t *schema = crd_schema(crd_names[i]);
		int fields = 0;

		collect_undescribed(schema, "", &missing, &fields);
		json_decref(schema);
		if (fields < min_fields[i])
			fail_msg("%s: only %d fields", crd_names[i], fields);
	}
	if (missing.len)
		fail_msg("fields without a description:\n%s", buf_str(&missing));
	buf_release(&missing);
}

/* Drop CEL rules that compare with oldSelf (they make sense on a TrainingJob, not in a template);
 * returns how many it dropped. */
static int drop_transition_rules(json_t *schema)
{
	json_t *rules = json_object_get(schema, "x-kubernetes-validations"), *child;
	const char *key;
	size_t i = 0;
	int dropped = 0;

	while (rules && i < json_array_size(rules)) {
		if (strstr(json_path_str(json_array_get(rules, i), "rule", ""), "oldSelf")) {
			json_array_remove(rules, i);
			dropped++;
		} else {
			i++;
		}
	}
	if (rules && json_array_size(rules) == 0)
		json_object_del(schema, "x-kubernetes-validations");
	json_object_foreach(schema, key, child)
	{
		if (json_is_object(child))
			dropped += drop_transition_rules(child);
	}
	return dropped;
}

static void test_retrain_template_mirrors_trainingjob_spec(void **state)
{
	json_t *tj = crd_schema("trainingjobs.saqr.dev"), *dp = crd_schema("driftpolicies.saqr.dev");
	json_t *spec = json_deep_copy(json_path(tj, "properties.spec"));
	json_t *tmpl = json_deep_copy(
	    json_path(dp, "properties.spec.properties.actions.properties.retrain.properties.template"));

	(void)state;
	assert_non_null(spec);
	assert_non_null(tmpl);
	assert_int_equal(drop_transition_rules(spec), 3); /* image, replicas, distributed */
	assert_int_equal(drop_transition_rules(tmpl), 0);
	json_object_del(spec, "description");
	json_object_del(tmpl, "description");
	if (!json_same(spec, tmpl))
		fail_msg("actions.retrain.template in the DriftPolicy CRD differs from the TrainingJob spec");
	json_decref(spec);
	json_decref(tmpl);
	json_decref(tj);
	json_decref(dp);
}

/* ---- samples and defaults ---- */

static void test_samples_pass_server_dry_run_then_create(void **state)
{
	struct buf out;
	char file[1200];

	(void)state;
	buf_init(&out, OUT_MAX);
	KUBECTL(&out, "delete", "-n", NS, "md,tj,dp", "--all", "--ignore-not-found");
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		char rel[128];

		snprintf(rel, sizeof(rel), "manifests/samples/%s", samples[i]);
		repo_path(file, sizeof(file), rel);
		expect(KUBECTL(&out, "apply", "--dry-run=server", "-n", NS, "-f", file), 0, &out,
		       "created (server dry run)");
		/* the dry run stored nothing */
		expect(KUBECTL(&out, "get", "-n", NS, "-f", file), 1, &out, "NotFound");
		expect(KUBECTL(&out, "create", "-n", NS, "-f", file), 0, &out, " created");
		expect(KUBECTL(&out, "get", "-n", NS, "-f", file, "-o", "name"), 0, &out,
		       "saqr.dev/fraud-detector");
	}
	buf_release(&out);
}

static void test_samples_kustomization_lists_all_three(void **state)
{
	struct buf out;
	char dir[1200];

	(void)state;
	buf_init(&out, OUT_MAX);
	repo_path(dir, sizeof(dir), "manifests/samples");
	expect(KUBECTL(&out, "kustomize", dir), 0, &out, "kind: ModelDeployment");
	expect_output(&out, "kind: TrainingJob");
	expect_output(&out, "kind: DriftPolicy");
	expect(KUBECTL(&out, "apply", "--server-side", "--dry-run=server", "-n", NS, "-k", dir), 0, &out,
	       "driftpolicy.saqr.dev/fraud-detector-drift serverside-applied (server dry run)");
	buf_release(&out);
}

/* Create the minimal fixture rel, return the stored object (defaults applied), then delete it. */
static json_t *create_minimal(const char *rel)
{
	char file[1200];
	struct buf out;
	json_t *obj;

	repo_path(file, sizeof(file), rel);
	buf_init(&out, OUT_MAX);
	KUBECTL(&out, "delete", "-n", NS, "-f", file, "--ignore-not-found");
	obj = get_json((const char *const[]){"create", "-n", NS, "-f", file, "-o", "json", NULL});
	expect(KUBECTL(&out, "delete", "-n", NS, "-f", file), 0, &out, "deleted");
	buf_release(&out);
	return obj;
}

static void test_defaults_fill_the_minimal_objects(void **state)
{
	json_t *md = create_minimal("tests/data/crds/valid-minimal-modeldeployment.yaml");
	json_t *tj = create_minimal("tests/data/crds/valid-minimal-trainingjob.yaml");
	json_t *dp = create_minimal("tests/data/crds/valid-minimal-driftpolicy.yaml");

	(void)state;
	assert_int_equal(json_path_int(md, "spec.server.port", 0), 8080);
	assert_string_equal(json_path_str(md, "spec.server.protocol", ""), "http");
	/* no default for replicas: the operator reads "unset" as 1, and a default would clash with
	 * autoscaling */
	assert_null(json_path(md, "spec.replicas"));
	assert_int_equal(json_path_int(tj, "spec.replicas", 0), 1);
	assert_int_equal(json_path_int(tj, "spec.backoffLimit", 0), 3);
	assert_string_equal(json_path_str(tj, "spec.distributed.framework", ""), "none");
	assert_int_equal(json_path_int(tj, "spec.distributed.nprocPerNode", 0), 1);
	assert_int_equal(json_path_int(tj, "spec.distributed.port", 0), 29500);
	assert_string_equal(json_path_str(dp, "spec.interval", ""), "5m");
	assert_string_equal(json_path_str(dp, "spec.actions.cooldown", ""), "1h");
	assert_string_equal(json_path_str(dp, "spec.source.scrape.path", ""), "/metrics");
	assert_string_equal(json_path_str(dp, "spec.metrics.featureValue", ""), "saqr_feature_value");
	assert_string_equal(json_path_str(dp, "spec.metrics.featureCategoryTotal", ""),
			    "saqr_feature_category_total");
	assert_string_equal(json_path_str(dp, "spec.metrics.inferenceLatencySeconds", ""),
			    "saqr_inference_latency_seconds");
	assert_string_equal(json_path_str(dp, "spec.metrics.inferenceRequestsTotal", ""),
			    "saqr_inference_requests_total");
	assert_string_equal(json_path_str(dp, "spec.metrics.modelQuality", ""), "saqr_model_quality");
	json_decref(md);
	json_decref(tj);
	json_decref(dp);
}

/* ---- invalid objects ---- */

static const struct invalid_case {
	const char *name; /* tests/data/crds/<name>.yaml */
	const char *message;
} invalid_cases[] = {
    {"md-bad-format",
     "spec.model.format: Unsupported value: \"pickle\": supported values: \"onnx\", \"pytorch\""},
    {"md-bad-digest", "spec.model.digest: Invalid value: \"sha256:ABC123\": spec.model.digest in body should "
		      "match '^sha256:[a-f0-9]{64}$'"},
    {"md-bad-uri", "spec.model.uri in body should match '^(s3|gs|azureblob|oci|pvc|https)://"},
    {"md-missing-model", "spec.model: Required value"},
    {"md-missing-image", "spec.server.image: Required value"},
    {"md-bad-port", "spec.server.port: Invalid value: 70000: spec.server.port in body should be less than or "
		    "equal to 65535"},
    {"md-bad-protocol",
     "spec.server.protocol: Unsupported value: \"websocket\": supported values: \"http\", \"grpc\""},
    {"md-bad-quantity", "spec.server.resources.limits.memory: Invalid value: \"2 GB\""},
    {"md-autoscaling-min-gt-max", "spec.autoscaling.minReplicas: Invalid value: autoscaling.minReplicas must "
				  "be less than or equal to autoscaling.maxReplicas"},
    {"md-replicas-and-autoscaling", "spec: Invalid value: set either replicas or autoscaling, not both"},
    {"md-canary-weight-101", "spec.canary.weight: Invalid value: 101: spec.canary.weight in body should be "
			     "less than or equal to 100"},
    {"md-canary-without-model", "spec.canary: Invalid value: canary.model is required"},
    {"md-canary-same-model", "canary.model must differ from spec.model in uri or version"},
    {"md-kms-unencrypted",
     "spec.storage.kmsKeyRef: Invalid value: storage.kmsKeyRef is set but storage.encrypted is not true"},
    {"md-bad-provider", "spec.storage.provider: Unsupported value: \"hetzner\": supported values: \"aws\", "
			"\"azure\", \"oci\", \"alibaba\", \"gcp\", \"onprem\""},
    {"md-env-value-and-from", "spec.server.env[0]: Invalid value: set value or valueFrom, not both"},
    {"tj-bad-framework", "spec.distributed.framework: Unsupported value: \"horovod\": supported values: "
			 "\"pytorch\", \"tensorflow\", \"none\""},
    {"tj-missing-image", "spec.image: Required value"},
    {"tj-negative-backoff", "spec.backoffLimit in body should be greater than or equal to 0"},
    {"tj-zero-replicas", "spec.replicas in body should be greater than or equal to 1"},
    {"tj-promote-without-output", "spec.promote: Invalid value: promote needs spec.output"},
    {"tj-nproc-without-pytorch",
     "spec.distributed.nprocPerNode: Invalid value: nprocPerNode above 1 needs framework pytorch"},
    {"tj-output-is-dataset", "spec.output.uri: Invalid value: output.uri must differ from dataset.uri"},
    {"tj-provider-without-region", "spec.dataset: Invalid value: set provider and region together"},
    {"dp-bad-interval", "spec.interval: Invalid value: \"5 minutes\": spec.interval in body should match "
			"'^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$'"},
    {"dp-bad-cooldown", "spec.actions.cooldown: Invalid value: \"1d\""},
    {"dp-bad-method", "spec.features[0].method: Unsupported value: \"kl\": supported values: \"psi\", "
		      "\"ks\", \"js\", \"wasserstein\", \"chisquare\""},
    {"dp-negative-threshold", "spec.features[0].threshold in body should be greater than or equal to 0"},
    {"dp-two-sources", "spec.source: Invalid value: source needs exactly one of prometheus or scrape"},
    {"dp-no-source", "spec.source: Invalid value: source needs exactly one of prometheus or scrape"},
    {"dp-no-features", "spec: Invalid value: set features (each with a baseline), or baseline.capture: true"},
    {"dp-feature-without-baseline",
     "spec.features: Invalid value: every feature needs a baseline unless baseline.capture is true"},
    {"dp-bins-mismatch",
     "spec.features[0].baseline.bins: Invalid value: bins.counts needs one entry per edge plus a last one"},
    {"dp-edges-unsorted",
     "spec.features[0].baseline.bins.edges: Invalid value: bins.edges must be in increasing order"},
    {"dp-two-baselines", "spec.features[0].baseline: Invalid value: baseline needs exactly one of bins, "
			 "categories or configMapRef"},
    {"dp-categorical-ks",
     "spec.features[1].method: Invalid value: methods ks and wasserstein need a numerical feature"},
    {"dp-categorical-bins",
     "spec.features[1].baseline: Invalid value: the baseline of a categorical feature is categories"},
    {"dp-pvalue-above-1",
     "spec.features[1].threshold: Invalid value: for ks and chisquare the threshold is a p-value"},
    {"dp-webhook-without-url", "spec.actions.alert.sinks[0]: Invalid value: url is required for "
			       "alertmanager, webhook and servicenow sinks"},
    {"dp-pagerduty-without-secret",
     "spec.actions.alert.sinks[0].secretRef: Invalid value: pagerduty and servicenow sinks need secretRef"},
    {"dp-bad-sink-type", "spec.actions.alert.sinks[0].type: Unsupported value: \"email\""},
    {"dp-bad-retrain-template", "spec.actions.retrain.template.distributed.nprocPerNode: Invalid value: "
				"nprocPerNode above 1 needs framework pytorch"},
};

#define N_INVALID (sizeof(invalid_cases) / sizeof(invalid_cases[0]))

static void check_rejected(const struct invalid_case *c, struct buf *out, struct buf *failures)
{
	char rel[256], file[1400];
	int code;

	snprintf(rel, sizeof(rel), "tests/data/crds/%s.yaml", c->name);
	code = KUBECTL(out, "create", "--dry-run=server", "-n", NS, "-f", repo_path(file, sizeof(file), rel));
	if (code <= 0 || !strstr(buf_str(out), " is invalid: ") || !strstr(buf_str(out), c->message))
		buf_addf(failures, "%s: exit %d, want \"%s\", got: %s\n", c->name, code, c->message,
			 buf_str(out));
}

static void test_invalid_objects_are_refused_with_clear_messages(void **state)
{
	struct buf out, failures;

	(void)state;
	buf_init(&out, OUT_MAX);
	buf_init(&failures, OUT_MAX);
	for (size_t i = 0; i < N_INVALID; i++)
		check_rejected(&invalid_cases[i], &out, &failures);
	if (failures.len)
		fail_msg("objects not refused as expected:\n%s", buf_str(&failures));
	buf_release(&out);
	buf_release(&failures);
}

static bool is_invalid_case(const char *file)
{
	for (size_t i = 0; i < N_INVALID; i++) {
		size_t n = strlen(invalid_cases[i].name);

		if (strncmp(file, invalid_cases[i].name, n) == 0 && strcmp(file + n, ".yaml") == 0)
			return true;
	}
	return false;
}

static void test_every_invalid_fixture_is_checked(void **state)
{
	char dir[1200];
	DIR *d;
	struct dirent *e;
	size_t seen = 0;

	(void)state;
	d = opendir(repo_path(dir, sizeof(dir), "tests/data/crds"));
	assert_non_null(d);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || strncmp(e->d_name, "valid-", 6) == 0)
			continue;
		if (!is_invalid_case(e->d_name))
			fail_msg("tests/data/crds/%s is not in invalid_cases", e->d_name);
		seen++;
	}
	closedir(d);
	assert_int_equal(seen, N_INVALID);
}

/* ---- updates: transition rules and the status subresource ---- */

static void test_trainingjob_keeps_its_pod_shape(void **state)
{
	char file[1200];
	struct buf out;

	(void)state;
	buf_init(&out, OUT_MAX);
	repo_path(file, sizeof(file), "tests/data/crds/valid-minimal-trainingjob.yaml");
	KUBECTL(&out, "delete", "-n", NS, "-f", file, "--ignore-not-found");
	expect(KUBECTL(&out, "create", "-n", NS, "-f", file), 0, &out, "created");
	expect(KUBECTL(&out, "patch", "-n", NS, "tj", "minimal-tj", "--type=merge", "-p",
		       "{\"spec\":{\"replicas\":4}}"),
	       -1, &out, "spec.replicas: Invalid value: replicas cannot change once the TrainingJob exists");
	expect(KUBECTL(&out, "patch", "-n", NS, "tj", "minimal-tj", "--type=merge", "-p",
		       "{\"spec\":{\"image\":\"registry.example.ae/ml/trainer:v2\"}}"),
	       -1, &out, "spec.image: Invalid value: image cannot change once the TrainingJob exists");
	expect(KUBECTL(&out, "patch", "-n", NS, "tj", "minimal-tj", "--type=merge", "-p",
		       "{\"spec\":{\"distributed\":{\"framework\":\"pytorch\"}}}"),
	       -1, &out, "spec.distributed: Invalid value: distributed cannot change");
	/* what a Job allows to change stays changeable */
	expect(KUBECTL(&out, "patch", "-n", NS, "tj", "minimal-tj", "--type=merge", "-p",
		       "{\"spec\":{\"suspend\":true,\"ttlSecondsAfterFinished\":600}}"),
	       0, &out, "patched");
	expect(KUBECTL(&out, "delete", "-n", NS, "-f", file), 0, &out, "deleted");
	buf_release(&out);
}

static void ensure_samples(struct buf *out)
{
	char dir[1200];

	expect(KUBECTL(out, "apply", "--server-side", "-n", NS, "-k",
		       repo_path(dir, sizeof(dir), "manifests/samples")),
	       0, out, "serverside-applied");
}

static void patch_status(const char *resource, const char *json, int want, const char *needle)
{
	struct buf out;

	buf_init(&out, OUT_MAX);
	expect(KUBECTL(&out, "patch", "-n", NS, resource, "--subresource=status", "--type=merge", "-p", json),
	       want, &out, needle);
	buf_release(&out);
}

#define COND(type, status, reason)                                                                           \
	"{\"type\":\"" type "\",\"status\":\"" status "\",\"reason\":\"" reason "\",\"message\":\"\","       \
	"\"lastTransitionTime\":\"2024-06-01T00:00:00Z\",\"observedGeneration\":1}"

static void test_status_is_a_validated_subresource(void **state)
{
	struct buf out, history;

	(void)state;
	buf_init(&out, OUT_MAX);
	buf_init(&history, 4096);
	ensure_samples(&out);
	/* a status sent to the main resource is dropped */
	expect(KUBECTL(&out, "patch", "-n", NS, "md/fraud-detector", "--type=merge", "-p",
		       "{\"status\":{\"url\":\"http://elsewhere\"}}"),
	       0, &out, NULL);
	expect(KUBECTL(&out, "get", "-n", NS, "md/fraud-detector", "-o", "jsonpath=[{.status.url}]"), 0, &out,
	       "[]");
	patch_status("md/fraud-detector",
		     "{\"status\":{\"conditions\":[" COND("Ready", "Maybe", "Unsure") "]}}", -1,
		     "Unsupported value: \"Maybe\": supported values: \"True\", \"False\", \"Unknown\"");
	patch_status("md/fraud-detector",
		     "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}", -1,
		     "status.conditions[0].reason: Required value");
	buf_adds(&history, "{\"status\":{\"history\":[");
	for (int i = 0; i < 11; i++)
		buf_addf(&history, "%s{\"version\":\"v%d\",\"uri\":\"s3://m/v%d\"}", i ? "," : "", i, i);
	buf_adds(&history, "]}}");
	patch_status("md/fraud-detector", buf_str(&history), -1,
		     "status.history: Too many: 11: must have at most 10 items");
	buf_release(&history);
	buf_release(&out);
}

/* What operator/driftpolicy/incident.c (and the DriftPolicy controller after it) writes in status must
 * survive the API server: a field missing from the schema would be pruned silently. */
static void test_driftpolicy_status_keeps_incidents_and_pending(void **state)
{
	static const char *const types[] = {"alertmanager", "servicenow"};
	struct incident_cfg cfg = {.policy_name = "fraud-detector-drift",
				   .cooldown_seconds = 3600,
				   .nsinks = 2,
				   .sink_types = types,
				   .retrain = true,
				   .rollback = true};
	struct incident_eval ev = {
	    .breached = true, .reason = "DriftDetected", .summary = "amount_aed psi 0.31"};
	struct incident_plan plan;
	struct buf out;
	json_t *status, *patch, *got, *inc;
	char *text;

	(void)state;
	buf_init(&out, OUT_MAX);
	ensure_samples(&out);
	assert_int_equal(incident_step(NULL, &ev, &cfg, 1780000000, &plan), 0);
	inc = json_array_get(plan.incidents, 0);
	json_object_set_new(inc, "trainingJob", json_string("fraud-detector-drift-retrain-1"));
	json_object_set_new(inc, "rolledBackTo", json_string("v2 (s3://models/fraud/v2)"));
	json_object_set_new(inc, "rollbackSkipped", json_string("no earlier model"));
	json_object_set_new(inc, "externalIds", json_pack("{s:s}", "1", "9d3f"));
	assert_int_equal(incident_pending_failed(json_array_get(plan.pending, 1),
						 "the sink answered HTTP 503", 1780000001),
			 0);
	status = json_pack("{s:O, s:O}", "incidents", plan.incidents, "pendingNotifications", plan.pending);
	patch = json_pack("{s:O}", "status", status);
	text = json_dumps(patch, JSON_COMPACT);
	patch_status("dp/fraud-detector-drift", text, 0, "patched");
	expect(KUBECTL(&out, "get", "-n", NS, "dp/fraud-detector-drift", "-o", "json"), 0, &out, NULL);
	got = parse_json(&out);
	assert_true(json_same(json_path(got, "status.incidents"), plan.incidents));
	assert_true(json_same(json_path(got, "status.pendingNotifications"), plan.pending));
	json_decref(got);
	free(text);
	json_decref(patch);
	json_decref(status);
	incident_plan_release(&plan);
	buf_release(&out);
}

/* ---- kubectl explain and get ---- */

/* kubectl explain reads the OpenAPI the server publishes a moment after the CRD is Established:
 * retry briefly until the field is there. */
static void explain(struct buf *out, const char *field)
{
	const struct timespec pause = {.tv_sec = 0, .tv_nsec = 500000000L};

	for (int attempt = 0; attempt < 60; attempt++) {
		if (KUBECTL(out, "explain", field) == 0)
			return;
		nanosleep(&pause, NULL);
	}
	fail_msg("kubectl explain %s kept failing:\n%s", field, buf_str(out));
}

static void test_explain_reads_well(void **state)
{
	static const char *const model_lines[] = {
	    "KIND:       ModelDeployment",
	    "FIELD: model <Object>",
	    "The model to serve. The model server reads it from the environment variables",
	    "digest\t<string>",
	    "SHA-256 digest of the model artifact as sha256:<64 lowercase hex digits>.",
	    "format\t<string> -required-",
	    "enum: onnx, pytorch, tensorflow, sklearn, ....",
	    "uri\t<string> -required-",
	    "azureblob://account/container/path, oci://registry/repository:tag,",
	    "version\t<string> -required-",
	    NULL,
	};
	struct buf out;

	(void)state;
	buf_init(&out, OUT_MAX);
	explain(&out, "modeldeployment.spec.model");
	for (const char *const *l = model_lines; *l; l++)
		expect_output(&out, *l);
	explain(&out, "trainingjob.spec.distributed.port");
	expect_output(&out, "Default 29500.");
	explain(&out, "driftpolicy.spec.features.method");
	expect_output(&out, "js\n    (Jensen-Shannon distance, base 2)");
	explain(&out, "driftpolicy.spec.interval");
	expect_output(&out, "a duration such as 30s, 5m, 1h30m. Default 5m.");
	buf_release(&out);
}

static void set_sample_statuses(void)
{
	patch_status("md/fraud-detector",
		     "{\"status\":{\"readyReplicas\":2,\"replicas\":2,\"url\":\"https://fraud-detector." NS
		     ".svc:8080\",\"currentModel\":{\"version\":\"v3\"},\"modelSource\":{\"type\":\"Spec\"},"
		     "\"conditions\":[" COND("Ready", "True", "Available") "]}}",
		     0, "patched");
	patch_status("tj/fraud-detector-train",
		     "{\"status\":{\"jobName\":\"fraud-detector-train-x7k2\",\"conditions\":[" COND(
			 "Ready", "False", "Running") "]}}",
		     0, "patched");
	patch_status("dp/fraud-detector-drift",
		     "{\"status\":{\"lastEvaluationTime\":\"2024-06-01T00:00:00Z\",\"conditions\":[" COND(
			 "DriftDetected", "True", "FeatureDrift") "," COND("SLOBreached", "False",
									   "WithinObjectives") "]}}",
		     0, "patched");
}

static void test_printer_columns(void **state)
{
	struct buf out;

	(void)state;
	buf_init(&out, OUT_MAX);
	ensure_samples(&out);
	set_sample_statuses();
	expect(KUBECTL(&out, "get", "-n", NS, "md,tj,dp"), 0, &out,
	       "NAME                                      MODEL            VERSION   SOURCE   READY   "
	       "REPLICAS   AGE");
	expect_output(&out, "FRAMEWORK   REPLICAS   STATUS    AGE");
	expect_output(&out, "TARGET           DRIFT   SLO     LAST EVALUATED   AGE");
	assert_null(strstr(buf_str(&out), "URL"));
	expect_cell(&out, "modeldeployment.saqr.dev/fraud-detector", "MODEL", "fraud-detector");
	expect_cell(&out, "modeldeployment.saqr.dev/fraud-detector", "VERSION", "v3");
	expect_cell(&out, "modeldeployment.saqr.dev/fraud-detector", "SOURCE", "Spec");
	expect_cell(&out, "modeldeployment.saqr.dev/fraud-detector", "READY", "True");
	expect_cell(&out, "modeldeployment.saqr.dev/fraud-detector", "REPLICAS", "2");
	expect_cell(&out, "trainingjob.saqr.dev/fraud-detector-train", "FRAMEWORK", "pytorch");
	expect_cell(&out, "trainingjob.saqr.dev/fraud-detector-train", "REPLICAS", "2");
	expect_cell(&out, "trainingjob.saqr.dev/fraud-detector-train", "STATUS", "Running");
	expect_cell(&out, "driftpolicy.saqr.dev/fraud-detector-drift", "TARGET", "fraud-detector");
	expect_cell(&out, "driftpolicy.saqr.dev/fraud-detector-drift", "DRIFT", "True");
	expect_cell(&out, "driftpolicy.saqr.dev/fraud-detector-drift", "SLO", "False");
	expect(KUBECTL(&out, "get", "-n", NS, "md,tj,dp", "-o", "wide"), 0, &out, NULL);
	expect_cell(&out, "modeldeployment.saqr.dev/fraud-detector", "URL",
		    "https://fraud-detector." NS ".svc:8080");
	expect_cell(&out, "trainingjob.saqr.dev/fraud-detector-train", "JOB", "fraud-detector-train-x7k2");
	buf_release(&out);
}

static void test_category_and_short_names(void **state)
{
	struct buf out;

	(void)state;
	buf_init(&out, OUT_MAX);
	ensure_samples(&out);
	expect(KUBECTL(&out, "get", "-n", NS, "saqr", "-o", "name"), 0, &out,
	       "modeldeployment.saqr.dev/fraud-detector\n");
	expect_output(&out, "trainingjob.saqr.dev/fraud-detector-train\n");
	expect_output(&out, "driftpolicy.saqr.dev/fraud-detector-drift\n");
	expect(KUBECTL(&out, "get", "-n", NS, "dp", "fraud-detector-drift", "-o",
		       "jsonpath={.spec.targetRef.name}"),
	       0, &out, "fraud-detector");
	buf_release(&out);
}

/* The cluster-scoped AdmissionPolicy: named, described field by field, and the policy file format
 * itself (the shipped default policy is a valid object). */
static void test_admissionpolicy_crd(void **state)
{
	json_t *schema = crd_schema_scoped("admissionpolicies.saqr.dev", "Cluster");
	char file[1100];
	struct buf out, missing;
	int fields = 0;

	(void)state;
	buf_init(&out, OUT_MAX);
	buf_init(&missing, OUT_MAX);
	collect_undescribed(schema, "", &missing, &fields);
	json_decref(schema);
	if (missing.len || fields < 60)
		fail_msg("%d fields; without a description:\n%s", fields, buf_str(&missing));
	expect(KUBECTL(&out, "api-resources", "--api-group=saqr.dev", "-o", "wide"), 0, &out, NULL);
	expect_cell(&out, "admissionpolicies", "SHORTNAMES", "ap");
	expect_cell(&out, "admissionpolicies", "NAMESPACED", "false");
	expect_cell(&out, "admissionpolicies", "KIND", "AdmissionPolicy");
	explain(&out, "admissionpolicy.spec.zeroTrust");
	expect_output(&out, "Zero Trust rules: allowed registries");
	expect_output(&out, "allowedRegistries\t<[]string>");
	explain(&out, "admissionpolicy.status.loaded");
	expect_output(&out, "Who has which generation in force");
	expect(KUBECTL(&out, "apply", "--server-side", "--dry-run=server", "-f",
		       repo_path(file, sizeof(file), "manifests/policy/default.yaml")),
	       0, &out, "admissionpolicy.saqr.dev/default serverside-applied (server dry run)");
	buf_release(&missing);
	buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crds_are_established_with_names),
	    cmocka_unit_test(test_every_field_has_a_description),
	    cmocka_unit_test(test_retrain_template_mirrors_trainingjob_spec),
	    cmocka_unit_test(test_samples_pass_server_dry_run_then_create),
	    cmocka_unit_test(test_samples_kustomization_lists_all_three),
	    cmocka_unit_test(test_defaults_fill_the_minimal_objects),
	    cmocka_unit_test(test_invalid_objects_are_refused_with_clear_messages),
	    cmocka_unit_test(test_every_invalid_fixture_is_checked),
	    cmocka_unit_test(test_trainingjob_keeps_its_pod_shape),
	    cmocka_unit_test(test_status_is_a_validated_subresource),
	    cmocka_unit_test(test_driftpolicy_status_keeps_incidents_and_pending),
	    cmocka_unit_test(test_explain_reads_well),
	    cmocka_unit_test(test_printer_columns),
	    cmocka_unit_test(test_category_and_short_names),
	    cmocka_unit_test(test_admissionpolicy_crd),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
