/* Unit tests for lib/cli (saqrctl check): document splitting (multi-document YAML, JSON, List
 * kinds), argument parsing, the text and JSON reports, directories, stdin and exit codes; YAML
 * read as kubectl reads it, and no metadata that skips a check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../support/policytest.h"
#include "saqrctl/check.h"
#include "saqrctl/documents.h"
#include "common/err.h"
#include "common/jsonutil.h"

#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* Only Pod Security, so that findings are few and predictable. */
static const char pss_only[] = "apiVersion: saqr.dev/v1alpha1\nkind: AdmissionPolicy\nspec:\n"
			       "  zeroTrust: {enabled: false}\n  dataResidency: {enabled: false}\n"
			       "  compliance: {enabled: false}\n";

static const char good_pod[] =
    "apiVersion: v1\nkind: Pod\nmetadata: {name: good, namespace: shop}\n"
    "spec:\n  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}\n"
    "  containers:\n  - name: app\n    image: x@" DIGEST "\n"
    "    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}\n";

/* good_pod plus hostPID. */
static const char bad_pod[] =
    "apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\n"
    "spec:\n  hostPID: true\n  securityContext: {runAsNonRoot: true, seccompProfile: {type: "
    "RuntimeDefault}}\n"
    "  containers:\n  - name: app\n    image: x@" DIGEST "\n"
    "    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}\n";

static char dir[64];

struct run {
	int rc;
	char *out;
	char *err;
};

static void write_file(const char *rel, const char *content)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static const char *at(const char *rel)
{
	static char paths[8][512];
	static int next;
	char *p = paths[next++ % 8];

	snprintf(p, 512, "%s/%s", dir, rel);
	return p;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	char sub[600];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/saqrctl-check-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	write_file("pss-only.yaml", pss_only);
	snprintf(sub, sizeof(sub), "%s/tree", dir);
	mkdir(sub, 0700);
	snprintf(sub, sizeof(sub), "%s/tree/nested", dir);
	mkdir(sub, 0700);
	snprintf(sub, sizeof(sub), "%s/tree/.git", dir);
	mkdir(sub, 0700);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Run `check args...` with stdin; capture stdout and stderr. */
static struct run check(const char *stdin_text, int argc, const char **args)
{
	char *argv[16];
	struct run r = {0, NULL, NULL};
	size_t olen, elen;
	FILE *in = fmemopen((void *)(stdin_text ? stdin_text : ""), stdin_text ? strlen(stdin_text) : 0, "r");
	FILE *out = open_memstream(&r.out, &olen), *err = open_memstream(&r.err, &elen);
	int i;

	assert_true(argc < 15);
	argv[0] = "check";
	for (i = 0; i < argc; i++)
		argv[i + 1] = (char *)args[i];
	argv[argc + 1] = NULL;
	r.rc = cli_check_main(argc + 1, argv, in, out, err);
	fclose(in);
	fclose(out);
	fclose(err);
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static void test_split_multi_document_yaml(void **state)
{
	const char yaml[] =
	    "# leading comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\n"
	    "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: p1}}\n"
	    "- {apiVersion: v1, kind: Pod, metadata: {name: p2}}\n---\n- not an object\n---\n"
	    "metadata: {name: no-kind}\n---\napiVersion: apps/v1\nkind: DeploymentList\nitems: []\n";
	json_t *out = NULL, *e;
	char err[128];

	(void)state;
	assert_int_equal(cli_documents_split(yaml, strlen(yaml), false, &out, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(out), 5);
	e = json_array_get(out, 0);
	assert_int_equal(json_integer_value(json_object_get(e, "document")), 1);
	assert_null(json_object_get(e, "item"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(e, "object"), "kind")),
			    "ConfigMap");
	e = json_array_get(out, 2);
	assert_int_equal(json_integer_value(json_object_get(e, "document")), 2);
	assert_int_equal(json_integer_value(json_object_get(e, "item")), 1);
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(json_object_get(e, "object"), "metadata"), "name")),
			    "p2");
	e = json_array_get(out, 3);
	assert_int_equal(json_integer_value(json_object_get(e, "document")), 3);
	assert_string_equal(json_string_value(json_object_get(e, "error")), "the document is not an object");
	e = json_array_get(out, 4);
	assert_string_equal(json_string_value(json_object_get(e, "error")),
			    "the document is not a Kubernetes object (it has no kind)");
	json_decref(out);
}

static void test_split_json_and_errors(void **state)
{
	const char json[] =
	    " {\"apiVersion\": \"v1\", \"kind\": \"PodList\", \"items\": [{\"kind\": \"Pod\"}]}";
	json_t *out = (json_t *)0x1;
	char err[128];

	(void)state;
	assert_true(cli_documents_is_json(json, strlen(json)));
	assert_false(cli_documents_is_json("kind: Pod", 9));
	assert_false(cli_documents_is_json("  ", 2));
	assert_int_equal(cli_documents_split(json, strlen(json), true, &out, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(out), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(out, 0), "item")), 0);
	json_decref(out);
	out = (json_t *)0x1;
	assert_int_equal(cli_documents_split("{\"kind\": ", 9, true, &out, err, sizeof(err)), SAQR_EPARSE);
	assert_ptr_equal(out, (json_t *)0x1);
	assert_int_equal(cli_documents_split("a: [1, 2\nb: 3\n", 14, false, &out, err, sizeof(err)),
			 SAQR_EPARSE);
	assert_non_null(strstr(err, "line "));
	assert_ptr_equal(out, (json_t *)0x1);
}

static void test_parse_args(void **state)
{
	char *a1[] = {"check", "-p", "pol.yaml", "-o", "json", "a", "b"};
	char *a2[] = {"check", "--policy=pol.yaml", "--output=text", "--", "-weird"};
	char *a3[] = {"check", "-ojson", "-"};
	char *bad1[] = {"check"};
	char *bad2[] = {"check", "-o", "xml", "a"};
	char *bad3[] = {"check", "--frobnicate", "a"};
	char *bad4[] = {"check", "a", "--policy"};
	char *bad5[] = {"check", "--policy"};
	struct cli_check_opts o;
	char err[128];

	(void)state;
	assert_int_equal(cli_check_parse_args(7, a1, &o, err, sizeof(err)), 0);
	assert_string_equal(o.policy, "pol.yaml");
	assert_true(o.json);
	assert_int_equal(o.npaths, 2);
	assert_string_equal(o.paths[1], "b");
	assert_int_equal(cli_check_parse_args(5, a2, &o, err, sizeof(err)), 0);
	assert_false(o.json);
	assert_int_equal(o.npaths, 1);
	assert_string_equal(o.paths[0], "-weird");
	assert_int_equal(cli_check_parse_args(3, a3, &o, err, sizeof(err)), 0);
	assert_true(o.json);
	assert_string_equal(o.paths[0], "-");
	assert_int_equal(cli_check_parse_args(1, bad1, &o, err, sizeof(err)), SAQR_EINVAL);
	assert_string_equal(err, "no PATH given");
	assert_int_equal(cli_check_parse_args(4, bad2, &o, err, sizeof(err)), SAQR_EINVAL);
	assert_string_equal(err, "-o: \"xml\" is not text or json");
	assert_int_equal(cli_check_parse_args(3, bad3, &o, err, sizeof(err)), SAQR_EINVAL);
	assert_string_equal(err, "unknown option --frobnicate");
	/* options come before paths: a later one is a path */
	assert_int_equal(cli_check_parse_args(3, bad4, &o, err, sizeof(err)), 0);
	assert_int_equal(o.npaths, 2);
	assert_int_equal(cli_check_parse_args(2, bad5, &o, err, sizeof(err)), SAQR_EINVAL);
	assert_string_equal(err, "--policy needs a value");
}

static void test_exit_codes_and_text(void **state)
{
	const char *allowed[] = {"--policy", at("pss-only.yaml"), at("good.yaml")};
	const char *denied[] = {"--policy", at("pss-only.yaml"), at("good.yaml"), at("bad.yaml")};
	char expect[1024];
	struct run r;

	(void)state;
	write_file("good.yaml", good_pod);
	write_file("bad.yaml", bad_pod);
	r = check(NULL, 3, allowed);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "1 object: 1 allowed, 0 denied, 0 warned\n");
	assert_string_equal(r.err, "");
	run_free(&r);
	r = check(NULL, 4, denied);
	assert_int_equal(r.rc, 1);
	snprintf(expect, sizeof(expect),
		 "%s: Pod bad: [podSecurity.baseline.hostNamespaces] spec.hostPID: host namespaces "
		 "(hostPID=true)\n"
		 "2 objects: 1 allowed, 1 denied, 0 warned\n",
		 at("bad.yaml"));
	assert_string_equal(r.out, expect);
	run_free(&r);
}

static void test_warnings_are_marked(void **state)
{
	const char *args[] = {"-p", at("warn.yaml"), "-"};
	struct run r;

	(void)state;
	write_file("warn.yaml", "apiVersion: saqr.dev/v1alpha1\nkind: AdmissionPolicy\nspec:\n"
				"  podSecurity: {enforcement: warn}\n  zeroTrust: {enabled: false}\n"
				"  dataResidency: {enabled: false}\n  compliance: {enabled: false}\n");
	r = check(bad_pod, 3, args);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out,
			    "-: Pod bad: warning: [podSecurity.baseline.hostNamespaces] spec.hostPID: host "
			    "namespaces (hostPID=true)\n1 object: 1 allowed, 0 denied, 1 warned\n");
	run_free(&r);
}

static void test_json_report_schema(void **state)
{
	const char *args[] = {"-o", "json", "--policy", at("pss-only.yaml"), at("list.json")};
	json_t *doc, *res, *v;
	json_error_t je;
	struct run r;

	(void)state;
	write_file("list.json",
		   "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": ["
		   "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"bad\", "
		   "\"namespace\": \"shop\"}, \"spec\": {\"hostIPC\": true, \"securityContext\": "
		   "{\"runAsNonRoot\": true, \"seccompProfile\": {\"type\": \"RuntimeDefault\"}}}}]}");
	r = check(NULL, 5, args);
	assert_int_equal(r.rc, 1);
	doc = json_loads(r.out, 0, &je);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "apiVersion")), "saqr.dev/v1alpha1");
	assert_string_equal(json_string_value(json_object_get(doc, "kind")), "CheckReport");
	assert_string_equal(json_string_value(json_object_get(doc, "policy")), at("pss-only.yaml"));
	v = json_object_get(doc, "summary");
	assert_int_equal(json_integer_value(json_object_get(v, "objects")), 1);
	assert_int_equal(json_integer_value(json_object_get(v, "allowed")), 0);
	assert_int_equal(json_integer_value(json_object_get(v, "denied")), 1);
	assert_int_equal(json_integer_value(json_object_get(v, "warned")), 0);
	assert_int_equal(json_integer_value(json_object_get(v, "errors")), 0);
	assert_int_equal(json_array_size(json_object_get(doc, "errors")), 0);
	res = json_array_get(json_object_get(doc, "results"), 0);
	assert_string_equal(json_string_value(json_object_get(res, "file")), at("list.json"));
	assert_int_equal(json_integer_value(json_object_get(res, "document")), 1);
	assert_int_equal(json_integer_value(json_object_get(res, "item")), 0);
	assert_string_equal(json_string_value(json_object_get(res, "apiVersion")), "v1");
	assert_string_equal(json_string_value(json_object_get(res, "kind")), "Pod");
	assert_string_equal(json_string_value(json_object_get(res, "namespace")), "shop");
	assert_string_equal(json_string_value(json_object_get(res, "name")), "bad");
	assert_true(json_is_false(json_object_get(res, "allowed")));
	assert_true(json_is_false(json_object_get(res, "exempt")));
	v = json_array_get(json_object_get(res, "violations"), 0);
	assert_string_equal(json_string_value(json_object_get(v, "rule")),
			    "podSecurity.baseline.hostNamespaces");
	assert_string_equal(json_string_value(json_object_get(v, "path")), "spec.hostIPC");
	assert_string_equal(json_string_value(json_object_get(v, "message")),
			    "host namespaces (hostIPC=true)");
	assert_string_equal(json_string_value(json_object_get(v, "enforcement")), "deny");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(res, "auditAnnotations"), "decision")),
	    "denied");
	json_decref(doc);
	run_free(&r);
}

static void test_directories_recursively(void **state)
{
	const char *args[] = {"--policy", at("pss-only.yaml"), at("tree")};
	char expect[2048];
	struct run r;

	(void)state;
	write_file("tree/a.yaml", good_pod);
	write_file("tree/nested/b.yml", bad_pod);
	write_file("tree/nested/c.json",
		   "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"c\"}}");
	write_file("tree/nested/notes.txt", "kind: [this is not checked");
	write_file("tree/.git/d.yaml", "kind: [this is not checked either");
	r = check(NULL, 3, args);
	assert_int_equal(r.rc, 1);
	snprintf(expect, sizeof(expect),
		 "%s/tree/nested/b.yml: Pod bad: [podSecurity.baseline.hostNamespaces] spec.hostPID: host "
		 "namespaces "
		 "(hostPID=true)\n3 objects: 2 allowed, 1 denied, 0 warned\n",
		 dir);
	assert_string_equal(r.out, expect);
	run_free(&r);
}

static void test_errors_exit_2(void **state)
{
	const char *parse[] = {"--policy", at("pss-only.yaml"), at("good.yaml"), at("broken.yaml"),
			       at("nokind.yaml")};
	const char *missing[] = {at("missing.yaml")};
	const char *badpolicy[] = {"--policy", at("badpolicy.yaml"), at("good.yaml")};
	const char *json[] = {"-o", "json", at("broken.yaml")};
	char expect[2048];
	json_t *doc;
	struct run r;

	(void)state;
	write_file("good.yaml", good_pod);
	write_file("broken.yaml", "kind: Pod\nmetadata: {name: [x\n");
	write_file("nokind.yaml",
		   "apiVersion: v1\nkind: Pod\nmetadata: {name: ok}\n---\nmetadata: {name: x}\n");
	write_file(
	    "badpolicy.yaml",
	    "apiVersion: saqr.dev/v1alpha1\nkind: AdmissionPolicy\nspec: {podSecurity: {level: max}}\n");
	r = check(NULL, 5, parse);
	assert_int_equal(r.rc, 2);
	snprintf(expect, sizeof(expect),
		 "saqrctl check: %s: document 2: the document is not a Kubernetes object (it has no kind)\n",
		 at("nokind.yaml"));
	assert_non_null(strstr(r.err, expect));
	snprintf(expect, sizeof(expect), "saqrctl check: %s: line ", at("broken.yaml"));
	assert_non_null(strstr(r.err, expect));
	assert_string_equal(r.out, "2 objects: 2 allowed, 0 denied, 0 warned, 2 errors\n");
	run_free(&r);

	r = check(NULL, 1, missing);
	assert_int_equal(r.rc, 2);
	snprintf(expect, sizeof(expect), "saqrctl check: %s: No such file or directory\n",
		 at("missing.yaml"));
	assert_string_equal(r.err, expect);
	run_free(&r);

	r = check(NULL, 3, badpolicy);
	assert_int_equal(r.rc, 2);
	snprintf(expect, sizeof(expect),
		 "saqrctl check: %s:3: spec.podSecurity.level: \"max\" is not one of baseline, restricted\n",
		 at("badpolicy.yaml"));
	assert_string_equal(r.err, expect);
	assert_string_equal(r.out, "");
	run_free(&r);

	r = check(NULL, 3, json);
	assert_int_equal(r.rc, 2);
	doc = json_loads(r.out, 0, NULL);
	assert_non_null(doc);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "summary"), "errors")), 1);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(json_object_get(doc, "errors"), 0), "file")),
	    at("broken.yaml"));
	json_decref(doc);
	run_free(&r);
}

static void test_help_and_usage(void **state)
{
	const char *help[] = {"--help"};
	const char *bad[] = {"-o", "yaml", "x"};
	struct run r;

	(void)state;
	r = check(NULL, 1, help);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, cli_check_usage);
	run_free(&r);
	r = check(NULL, 0, NULL);
	assert_int_equal(r.rc, 2);
	assert_true(strncmp(r.err, "saqrctl check: no PATH given\n\nUsage: saqrctl check", 50) == 0);
	run_free(&r);
	r = check(NULL, 3, bad);
	assert_int_equal(r.rc, 2);
	run_free(&r);
}

/* good_pod with the one line `from` replaced by `to`. */
static char *good_pod_with(const char *from, const char *to)
{
	const char *at_from = strstr(good_pod, from);
	size_t head, n = strlen(good_pod) - strlen(from) + strlen(to) + 1;
	char *out = malloc(n);

	assert_non_null(at_from);
	assert_non_null(out);
	head = (size_t)(at_from - good_pod);
	snprintf(out, n, "%.*s%s%s", (int)head, good_pod, to, at_from + strlen(from));
	return out;
}

/* What kubectl sends for these YAML 1.1 spellings is refused; saqrctl must see the same. */
static void test_yaml11_scalars_as_kubectl(void **state)
{
	static const struct {
		const char *from, *to, *rule;
	} cases[] = {
	    {"  containers:\n", "  hostNetwork: on\n  containers:\n", "podSecurity.baseline.hostNamespaces"},
	    {"  containers:\n", "  hostIPC: Yes\n  containers:\n", "podSecurity.baseline.hostNamespaces"},
	    {"allowPrivilegeEscalation: false", "allowPrivilegeEscalation: off, privileged: y",
	     "podSecurity.baseline.privileged"},
	    {"allowPrivilegeEscalation: false", "allowPrivilegeEscalation: !!bool \"true\"",
	     "podSecurity.restricted.allowPrivilegeEscalation"},
	    {"runAsNonRoot: true", "runAsNonRoot: NO", "podSecurity.restricted.runAsNonRoot"},
	    {"runAsNonRoot: true", "runAsNonRoot: true, runAsUser: 0x0", "podSecurity.restricted.runAsUser"},
	    {"    image:", "    ports: [{containerPort: 80.0, hostPort: 0x1bb}]\n    image:",
	     "podSecurity.baseline.hostPorts"},
	};
	const char *args[] = {"-p", at("pss-only.yaml"), "-o", "json", "-"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *yaml = good_pod_with(cases[i].from, cases[i].to);
		struct run r = check(yaml, 5, args);

		if (r.rc != 1 || !strstr(r.out, cases[i].rule))
			fail_msg("%s: exit %d, no %s: %s%s", yaml, r.rc, cases[i].rule, r.out, r.err);
		run_free(&r);
		free(yaml);
	}
}

/* Quoted, the same words are text, and the object is judged on that text. */
static void test_quoted_scalars_stay_text(void **state)
{
	const char *args[] = {"-p", at("pss-only.yaml"), "-"};
	char *yaml = good_pod_with("  containers:\n", "  hostNetwork: \"no\"\n  containers:\n");
	json_t *entries = NULL;
	char err[256];
	struct run r;

	(void)state;
	assert_int_equal(cli_documents_split(yaml, strlen(yaml), false, &entries, err, sizeof(err)), 0);
	assert_true(json_is_string(json_path(entries, "0.object.spec.hostNetwork")));
	json_decref(entries);
	r = check(yaml, 3, args);
	assert_int_equal(r.rc, 0);
	run_free(&r);
	free(yaml);
}

/* A JSON manifest's 443.0 reaches the API server as 443, as kubectl re-encodes it. */
static void test_json_integral_reals(void **state)
{
	const char *json =
	    "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"j\"}, \"spec\": "
	    "{\"containers\": [{\"name\": \"a\", \"ports\": [{\"containerPort\": 80.0, "
	    "\"hostPort\": 443.0}]}]}}";
	json_t *entries = NULL, *port;
	char err[256];

	(void)state;
	assert_int_equal(cli_documents_split(json, strlen(json), true, &entries, err, sizeof(err)), 0);
	port = json_path(entries, "0.object.spec.containers.0.ports.0.hostPort");
	assert_true(json_is_integer(port));
	assert_int_equal(json_integer_value(port), 443);
	json_decref(entries);
}

/* The API server clears deletionTimestamp on create before the webhook sees the object, so a
 * manifest that carries one is judged in full (it used to be skipped: allowed). */
static void test_deletion_timestamp_never_skips(void **state)
{
	static const char gone[] =
	    "apiVersion: v1\nkind: Pod\n"
	    "metadata: {name: gone, deletionTimestamp: \"2024-01-01T00:00:00Z\", deletionGracePeriodSeconds: "
	    "0}\n"
	    "spec:\n  hostPID: true\n  securityContext: {runAsNonRoot: true, seccompProfile: {type: "
	    "RuntimeDefault}}\n"
	    "  containers:\n  - name: app\n    image: x@" DIGEST "\n"
	    "    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}\n";
	const char *args[] = {"-p", at("pss-only.yaml"), "-"};
	struct run r;

	(void)state;
	r = check(gone, 3, args);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.out, "Pod gone: [podSecurity.baseline.hostNamespaces] spec.hostPID"));
	run_free(&r);
}

static void test_default_policy_on_fixtures(void **state)
{
	char *paths[2];
	struct run r;

	(void)state;
	paths[0] = strdup(policytest_path("tests/data/policy/deployment-4k.yaml"));
	paths[1] = strdup(policytest_path("tests/data/policy/compliant-saqr.yaml"));
	r = check(NULL, 2, (const char **)paths);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "3 objects: 3 allowed, 0 denied, 0 warned\n");
	run_free(&r);
	free(paths[0]);
	free(paths[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_split_multi_document_yaml),
	    cmocka_unit_test(test_split_json_and_errors),
	    cmocka_unit_test(test_parse_args),
	    cmocka_unit_test(test_exit_codes_and_text),
	    cmocka_unit_test(test_warnings_are_marked),
	    cmocka_unit_test(test_json_report_schema),
	    cmocka_unit_test(test_directories_recursively),
	    cmocka_unit_test(test_errors_exit_2),
	    cmocka_unit_test(test_help_and_usage),
	    cmocka_unit_test(test_default_policy_on_fixtures),
	    cmocka_unit_test(test_yaml11_scalars_as_kubectl),
	    cmocka_unit_test(test_quoted_scalars_stay_text),
	    cmocka_unit_test(test_json_integral_reals),
	    cmocka_unit_test(test_deletion_timestamp_never_skips),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
