/* Tests for Saqr's Argo CD health checks (deploy/argocd/health/saqr.dev_<Kind>.lua):
 * tests/argocd/run.lua runs each script on a sample object in every state (tests/data/argocd/)
 * under Lua 5.4
 * and Lua 5.1 (Argo CD's gopher-lua speaks 5.1); one cmocka test per case. Also checks that
 * the runner reports wrong expectations and that argocd-cm-patch.yaml ships the scripts as
 * they are. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonutil.h"
#include "common/yamljson.h"
#include "../support/kubetest.h"
#include "../support/proc.h"

#define ARGOCD_MAX_CASES 256

static const char *const interpreters[] = {"lua5.4", "lua5.1"};
#define NINTERP (sizeof(interpreters) / sizeof(interpreters[0]))

static char runner_path[4096];
static char data_dir[4096];
static struct proc_result runs[NINTERP];
static int runs_rc[NINTERP];

static char *argocd_read_file(const char *path, size_t *len_out)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	long size;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		data = malloc((size_t)size + 1);
		if (data != NULL && fread(data, 1, (size_t)size, f) == (size_t)size) {
			data[size] = '\0';
			if (len_out != NULL)
				*len_out = (size_t)size;
		} else {
			free(data);
			data = NULL;
		}
	}
	fclose(f);
	return data;
}

/* True when out holds exactly this line. */
static int has_line(const char *out, const char *line)
{
	size_t n = strlen(line);
	const char *p = out;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == out || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

/* Run every case once per interpreter; the per-case tests read the output. */
static int group_setup(void **state)
{
	(void)state;
	for (size_t i = 0; i < NINTERP; i++) {
		const char *argv[] = {interpreters[i], runner_path, NULL};

		runs_rc[i] = proc_capture(argv, NULL, &runs[i]);
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < NINTERP; i++)
		proc_result_release(&runs[i]);
	return 0;
}

static void test_case(void **state)
{
	const char *name = *state;

	for (size_t i = 0; i < NINTERP; i++) {
		char prefix[512];
		const char *p;

		if (runs_rc[i] != 0)
			fail_msg("%s could not be run (is it installed? hack/deps.sh installs it)",
				 interpreters[i]);
		snprintf(prefix, sizeof(prefix), "ok %s ", name);
		p = strstr(runs[i].out, prefix);
		if (p == NULL || (p != runs[i].out && p[-1] != '\n'))
			fail_msg("%s: case %s did not pass:\n%s%s", interpreters[i], name, runs[i].out,
				 runs[i].err);
	}
}

static void test_runner_exits_zero(void **state)
{
	(void)state;
	for (size_t i = 0; i < NINTERP; i++) {
		assert_int_equal(runs_rc[i], 0);
		if (runs[i].status != 0)
			fail_msg("%s exited %d:\n%s%s", interpreters[i], runs[i].status, runs[i].out,
				 runs[i].err);
		assert_non_null(strstr(runs[i].out, ", 0 failed"));
	}
}

/* The runner must catch a wrong status, a wrong message, a sample of the wrong kind, a
 * missing sample and malformed JSON, and still pass the right case beside them. */
static void test_runner_reports_wrong_expectations(void **state)
{
	char cases[4200];
	struct proc_result r;
	const char *argv[] = {"lua5.4", runner_path, "--cases", cases, NULL};

	(void)state;
	snprintf(cases, sizeof(cases), "%s/bad-cases.lua", data_dir);
	assert_int_equal(proc_capture(argv, NULL, &r), 0);
	assert_int_equal(r.status, 1);
	assert_true(has_line(r.out, "not ok wrong-status: status Healthy, want Degraded (message "
				    "\"Available: 2/2 replicas ready, serving fraud-scorer 3.2.0\")"));
	assert_non_null(strstr(r.out, "not ok wrong-message: message \"JobRunning: training on 4 nodes (4 "
				      "active)\", want \"Running\""));
	assert_true(has_line(r.out, "not ok wrong-kind: sample is a DriftPolicy, not a TrainingJob"));
	assert_non_null(strstr(r.out, "not ok missing-sample: "));
	assert_non_null(strstr(r.out, "not ok malformed-json: JSON: expected , or }"));
	assert_true(has_line(r.out, "ok right Progressing"));
	assert_true(has_line(r.out, "argocd: 1 passed, 5 failed"));
	proc_result_release(&r);
}

/* Asking for a case that does not exist runs nothing, which is a failure. */
static void test_runner_unknown_case_fails(void **state)
{
	struct proc_result r;
	const char *argv[] = {"lua5.4", runner_path, "no-such-case", NULL};

	(void)state;
	assert_int_equal(proc_capture(argv, NULL, &r), 0);
	assert_int_equal(r.status, 1);
	assert_true(has_line(r.out, "argocd: 0 passed, 0 failed"));
	proc_result_release(&r);
}

/* argocd-cm-patch.yaml carries each script, byte for byte, under its Argo CD key. */
static void test_cm_patch_ships_the_scripts(void **state)
{
	static const char *const kinds[] = {"ModelDeployment", "TrainingJob", "DriftPolicy"};
	const char *root = kubetest_root();
	char path[4096], key[256];
	size_t len = 0;
	char *yaml, err[256];
	json_t *cm = NULL;

	(void)state;
	snprintf(path, sizeof(path), "%s/deploy/argocd/argocd-cm-patch.yaml", root);
	yaml = argocd_read_file(path, &len);
	assert_non_null(yaml);
	if (yaml_to_json(yaml, len, 1 << 20, &cm, err, sizeof(err)) != 0)
		fail_msg("%s: %s", path, err);
	assert_string_equal(json_string_value(json_object_get(json_object_get(cm, "metadata"), "name")),
			    "argocd-cm");
	assert_int_equal(json_object_size(json_object_get(cm, "data")), 3);
	for (size_t i = 0; i < 3; i++) {
		char *script;
		const char *shipped;

		snprintf(path, sizeof(path), "%s/deploy/argocd/health/saqr.dev_%s.lua", root, kinds[i]);
		script = argocd_read_file(path, NULL);
		assert_non_null(script);
		snprintf(key, sizeof(key), "resource.customizations.health.saqr.dev_%s", kinds[i]);
		shipped = json_string_value(json_object_get(json_object_get(cm, "data"), key));
		if (shipped == NULL || strcmp(shipped, script) != 0)
			fail_msg("%s in argocd-cm-patch.yaml differs from %s (run `make manifests`)", key,
				 path);
		free(script);
	}
	json_decref(cm);
	free(yaml);
}

/* The example Application installs this repository's chart with a certificate mode that does
 * not depend on Helm's lookup (which Argo CD cannot do). */
static void test_application_uses_the_chart(void **state)
{
	char path[4096], err[256];
	size_t len = 0;
	char *yaml;
	json_t *app = NULL;

	(void)state;
	snprintf(path, sizeof(path), "%s/deploy/argocd/application.yaml", kubetest_root());
	yaml = argocd_read_file(path, &len);
	assert_non_null(yaml);
	if (yaml_to_json(yaml, len, 1 << 20, &app, err, sizeof(err)) != 0)
		fail_msg("%s: %s", path, err);
	assert_string_equal(json_path_str(app, "kind", ""), "Application");
	assert_string_equal(json_path_str(app, "spec.source.path", ""), "charts/saqr");
	assert_string_equal(json_path_str(app, "spec.source.helm.valuesObject.certificates.mode", ""),
			    "cert-manager");
	assert_string_equal(json_path_str(app, "spec.destination.namespace", ""), "saqr-system");
	snprintf(path, sizeof(path), "%s/charts/saqr/Chart.yaml", kubetest_root());
	free(yaml);
	yaml = argocd_read_file(path, NULL);
	assert_non_null(yaml);
	json_decref(app);
	free(yaml);
}

/* The process runner's own error path: a program that does not exist. */
static void test_proc_missing_program(void **state)
{
	struct proc_result r;
	const char *argv[] = {"saqr-no-such-program-xyz", NULL};

	(void)state;
	assert_int_not_equal(proc_capture(argv, NULL, &r), 0);
	assert_null(r.out);
	proc_result_release(&r);
	proc_result_release(NULL);
}

/* The case names, from `lua5.4 run.lua --list`; *out owns the strings (in *buf). */
static size_t list_cases(char **buf, char **names, size_t max)
{
	struct proc_result r;
	const char *argv[] = {"lua5.4", runner_path, "--list", NULL};
	size_t n = 0;
	char *line, *save = NULL;

	*buf = NULL;
	if (proc_capture(argv, NULL, &r) != 0 || r.status != 0) {
		fprintf(stderr, "test_argocd_health: `lua5.4 %s --list` failed\n", runner_path);
		proc_result_release(&r);
		return 0;
	}
	*buf = r.out;
	r.out = NULL;
	for (line = strtok_r(*buf, "\n", &save); line != NULL && n < max; line = strtok_r(NULL, "\n", &save))
		names[n++] = line;
	proc_result_release(&r);
	return n;
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
	    cmocka_unit_test(test_runner_exits_zero),
	    cmocka_unit_test(test_runner_reports_wrong_expectations),
	    cmocka_unit_test(test_runner_unknown_case_fails),
	    cmocka_unit_test(test_cm_patch_ships_the_scripts),
	    cmocka_unit_test(test_application_uses_the_chart),
	    cmocka_unit_test(test_proc_missing_program),
	};
	struct CMUnitTest tests[ARGOCD_MAX_CASES + sizeof(fixed) / sizeof(fixed[0])];
	char *names[ARGOCD_MAX_CASES], *buf;
	size_t n, nfixed = sizeof(fixed) / sizeof(fixed[0]);
	int rc;

	snprintf(runner_path, sizeof(runner_path), "%s/tests/argocd/run.lua", kubetest_root());
	snprintf(data_dir, sizeof(data_dir), "%s/tests/data/argocd", kubetest_root());
	n = list_cases(&buf, names, ARGOCD_MAX_CASES);
	if (n == 0)
		return 1;
	for (size_t i = 0; i < n; i++) {
		memset(&tests[i], 0, sizeof(tests[i]));
		tests[i].name = names[i];
		tests[i].test_func = test_case;
		tests[i].initial_state = names[i];
	}
	memcpy(&tests[n], fixed, sizeof(fixed));
	rc = _cmocka_run_group_tests("argocd_health", tests, n + nfixed, group_setup, group_teardown);
	free(buf);
	return rc;
}
