/* Unit tests for lib/kube/kubeconfig.c: every field form (file paths relative to the
 * kubeconfig, inline -data, token, tokenFile, insecure, contexts, namespace), in-cluster
 * configuration under a scratch root, the default search order, and malformed files whose
 * errors name the field or the line. Fixtures: tests/data/kube/kubeconfig/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../support/kubetest.h"
#include "common/err.h"
#include "kube/kubeconfig.h"

#define CA_PEM "-----BEGIN CERTIFICATE-----\nZmFrZSBjYQ==\n-----END CERTIFICATE-----\n"
#define CERT_PEM "-----BEGIN CERTIFICATE-----\nZmFrZSBjbGllbnQ=\n-----END CERTIFICATE-----\n"
#define KEY_PEM "-----BEGIN EC PRIVATE KEY-----\nZmFrZSBrZXk=\n-----END EC PRIVATE KEY-----\n"

/* A scratch directory holding the files kubeconfigs point at, and the copied fixture. */
struct scratch {
	char *dir;
	char path[4096]; /* dir/config */
};

static int scratch_setup(void **state)
{
	struct scratch *s = calloc(1, sizeof(*s));
	char certs[4200];

	assert_non_null(s);
	s->dir = kubetest_tmpdir();
	assert_non_null(s->dir);
	snprintf(certs, sizeof(certs), "%s/certs", s->dir);
	assert_int_equal(mkdir(certs, 0700), 0);
	assert_int_equal(kubetest_write(s->dir, "ca.crt", CA_PEM), 0);
	assert_int_equal(kubetest_write(s->dir, "certs/client.crt", CERT_PEM), 0);
	assert_int_equal(kubetest_write(s->dir, "certs/client.key", KEY_PEM), 0);
	assert_int_equal(kubetest_write(s->dir, "token", "file-token\n"), 0);
	snprintf(s->path, sizeof(s->path), "%s/config", s->dir);
	*state = s;
	return 0;
}

static int scratch_teardown(void **state)
{
	struct scratch *s = *state;

	kubetest_rmtree(s->dir);
	free(s->dir);
	free(s);
	return 0;
}

/* Copy fixture tests/data/kube/kubeconfig/<name> to dir/config. */
static void use_fixture(const struct scratch *s, const char *name)
{
	char rel[256];
	char *text;

	snprintf(rel, sizeof(rel), "tests/data/kube/kubeconfig/%s", name);
	text = kubetest_read(rel, NULL);
	assert_non_null(text);
	assert_int_equal(kubetest_write(s->dir, "config", text), 0);
	free(text);
}

static void assert_in_dir(const char *got, const struct scratch *s, const char *rel)
{
	char want[4200];

	snprintf(want, sizeof(want), "%s/%s", s->dir, rel);
	assert_non_null(got);
	assert_string_equal(got, want);
}

static void test_file_paths_and_current_context(void **state)
{
	struct scratch *s = *state;
	struct kube_config *cfg = NULL;
	char err[512] = "";

	use_fixture(s, "files.yaml");
	assert_int_equal(kube_config_load_file(s->path, NULL, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg->server, "https://127.0.0.1:6443");
	assert_string_equal(cfg->namespace, "team-a");
	assert_in_dir(cfg->ca_file, s, "ca.crt");
	assert_in_dir(cfg->cert_file, s, "certs/client.crt");
	assert_in_dir(cfg->key_file, s, "certs/client.key");
	assert_null(cfg->ca_pem);
	assert_null(cfg->cert_pem);
	assert_null(cfg->key_pem);
	assert_null(cfg->token);
	assert_null(cfg->token_file);
	assert_false(cfg->insecure_skip_tls_verify);
	kube_config_free(cfg);
}

static void test_named_context_token_insecure(void **state)
{
	struct scratch *s = *state;
	struct kube_config *cfg = NULL;
	char err[512] = "";

	use_fixture(s, "files.yaml");
	assert_int_equal(kube_config_load_file(s->path, "ops", &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg->server, "https://ops.example.test");
	assert_string_equal(cfg->namespace, "default");
	assert_string_equal(cfg->token, "ops-token-123");
	assert_true(cfg->insecure_skip_tls_verify);
	assert_null(cfg->ca_file);
	assert_null(cfg->cert_file);
	kube_config_free(cfg);
	/* a context without a user is anonymous */
	assert_int_equal(kube_config_load_file(s->path, "anonymous", &cfg, err, sizeof(err)), 0);
	assert_null(cfg->token);
	assert_null(cfg->cert_file);
	kube_config_free(cfg);
}

static void test_inline_data_and_token_file(void **state)
{
	struct scratch *s = *state;
	struct kube_config *cfg = NULL;
	char err[512] = "";

	use_fixture(s, "data.yaml");
	assert_int_equal(kube_config_load_file(s->path, NULL, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg->server, "https://10.1.2.3:443");
	assert_string_equal(cfg->namespace, "ml");
	assert_string_equal(cfg->ca_pem, CA_PEM);
	assert_string_equal(cfg->cert_pem, CERT_PEM);
	assert_string_equal(cfg->key_pem, KEY_PEM);
	assert_null(cfg->ca_file); /* the -data form wins; the missing file is not even looked at */
	assert_null(cfg->cert_file);
	assert_null(cfg->key_file);
	assert_in_dir(cfg->token_file, s, "token");
	kube_config_free(cfg);
}

static void test_load_data_with_dir(void **state)
{
	struct scratch *s = *state;
	const char *yaml = "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:8080', "
			   "certificate-authority: ca.crt}}]\n"
			   "contexts: [{name: c, context: {cluster: c, namespace: 123}}]\n"
			   "current-context: c\n";
	struct kube_config *cfg = NULL;
	char err[512] = "";

	assert_int_equal(kube_config_load_data(yaml, strlen(yaml), s->dir, NULL, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg->server, "http://127.0.0.1:8080");
	assert_in_dir(cfg->ca_file, s, "ca.crt");
	assert_string_equal(cfg->namespace, "123");
	kube_config_free(cfg);
	kube_config_free(NULL);
}

/* Load yaml (with dir as its directory) and expect rc with a message containing want. */
static void assert_refused(const struct scratch *s, const char *yaml, const char *context, int rc,
			   const char *want)
{
	struct kube_config *cfg = (struct kube_config *)0x1;
	char err[512] = "";

	assert_int_equal(kube_config_load_data(yaml, strlen(yaml), s->dir, context, &cfg, err, sizeof(err)),
			 rc);
	assert_ptr_equal(cfg, (struct kube_config *)0x1);
	if (!strstr(err, want))
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

#define CLUSTER "clusters:\n- name: c\n  cluster:\n    server: https://h:6443\n"
#define CONTEXT "contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\n"

static void test_field_errors(void **state)
{
	struct scratch *s = *state;

	assert_refused(
	    s,
	    CLUSTER CONTEXT
	    "users:\n- name: u\n  user:\n    client-key-data: '%%%'\n    client-certificate: ca.crt\n",
	    NULL, SAQR_ECONFIG, "users[0].user.client-key-data: not valid base64");
	assert_refused(s,
		       CLUSTER CONTEXT "users:\n- name: u\n  user:\n    client-certificate-data: aGVsbG8=\n",
		       NULL, SAQR_ECONFIG, "users[0].user.client-certificate-data: not PEM data");
	assert_refused(
	    s, CLUSTER CONTEXT "users:\n- name: u\n  user:\n    client-certificate: certs/client.crt\n", NULL,
	    SAQR_ECONFIG, "users[0].user: client-certificate without client-key");
	assert_refused(s, CLUSTER CONTEXT "users:\n- name: u\n  user:\n    client-key: certs/client.key\n",
		       NULL, SAQR_ECONFIG, "users[0].user: client-key without client-certificate");
	assert_refused(s, CLUSTER CONTEXT "users:\n- name: u\n  user:\n    token: [a, b]\n", NULL,
		       SAQR_ECONFIG, "users[0].user.token: must be a string");
	assert_refused(s, CLUSTER CONTEXT "users:\n- name: u\n  user:\n    tokenFile: nope\n", NULL,
		       SAQR_ECONFIG, "users[0].user.tokenFile: ");
	assert_refused(s,
		       CLUSTER CONTEXT
		       "users:\n- name: x\n  user: {}\n- name: u\n  user:\n    exec: {command: aws}\n",
		       NULL, SAQR_ECONFIG, "users[1].user.exec: not supported");
	assert_refused(s, CLUSTER CONTEXT "users:\n- name: v\n  user: {}\n", NULL, SAQR_ECONFIG,
		       "contexts[0].context.user \"u\" is not among users");
}

static void test_cluster_errors(void **state)
{
	struct scratch *s = *state;
	const char *ctx = "contexts: [{name: c, context: {cluster: c}}]\ncurrent-context: c\n";
	char yaml[1024];

	snprintf(yaml, sizeof(yaml), "clusters: [{name: c, cluster: {}}]\n%s", ctx);
	assert_refused(s, yaml, NULL, SAQR_ECONFIG, "clusters[0].cluster.server: missing");
	snprintf(yaml, sizeof(yaml), "clusters: [{name: c, cluster: {server: 'ftp://x'}}]\n%s", ctx);
	assert_refused(s, yaml, NULL, SAQR_ECONFIG,
		       "clusters[0].cluster.server: \"ftp://x\" is not an http(s) URL");
	snprintf(
	    yaml, sizeof(yaml),
	    "clusters: [{name: c, cluster: {server: 'https://x', certificate-authority: missing.crt}}]\n%s",
	    ctx);
	assert_refused(s, yaml, NULL, SAQR_ECONFIG, "clusters[0].cluster.certificate-authority: ");
	assert_refused(s, yaml, NULL, SAQR_ECONFIG, "missing.crt: No such file or directory");
	snprintf(yaml, sizeof(yaml),
		 "clusters: [{name: c, cluster: {server: 'https://x', insecure-skip-tls-verify: 'yes'}}]\n%s",
		 ctx);
	assert_refused(s, yaml, NULL, SAQR_ECONFIG,
		       "clusters[0].cluster.insecure-skip-tls-verify: must be true or false");
	snprintf(yaml, sizeof(yaml),
		 "clusters: [{name: c, cluster: {server: 'https://x', insecure-skip-tls-verify: true, "
		 "certificate-authority: ca.crt}}]\n%s",
		 ctx);
	assert_refused(s, yaml, NULL, SAQR_ECONFIG,
		       "clusters[0].cluster: insecure-skip-tls-verify with a certificate authority");
	snprintf(yaml, sizeof(yaml), "clusters: [{name: d, cluster: {server: 'https://x'}}]\n%s", ctx);
	assert_refused(s, yaml, NULL, SAQR_ECONFIG,
		       "contexts[0].context.cluster \"c\" is not among clusters");
	snprintf(yaml, sizeof(yaml), "clusters: {c: 1}\n%s", ctx);
	assert_refused(s, yaml, NULL, SAQR_ECONFIG, "clusters: must be a list");
	snprintf(yaml, sizeof(yaml), "clusters: [{name: c, cluster: 'https://x'}]\n%s", ctx);
	assert_refused(s, yaml, NULL, SAQR_ECONFIG, "clusters[0].cluster: must be a mapping");
}

static void test_context_errors(void **state)
{
	struct scratch *s = *state;

	assert_refused(s, CLUSTER "contexts: [{name: c, context: {cluster: c}}]\n", NULL, SAQR_ECONFIG,
		       "current-context is not set");
	assert_refused(s, CLUSTER "contexts: [{name: c, context: {cluster: c}}]\ncurrent-context: c\n",
		       "prod", SAQR_ECONFIG, "context \"prod\" is not among contexts");
	assert_refused(s, CLUSTER "contexts: [{name: c, context: {user: u}}]\ncurrent-context: c\n", NULL,
		       SAQR_ECONFIG, "contexts[0].context.cluster: missing");
	assert_refused(s, "- just\n- a list\n", NULL, SAQR_ECONFIG, "not a YAML mapping");
	assert_refused(s, "a: *nope\n", NULL, SAQR_EPARSE, "line 1 column 4");
}

static void assert_file_refused(const struct scratch *s, const char *fixture, int rc, const char *want)
{
	struct kube_config *cfg = NULL;
	char err[512] = "";

	use_fixture(s, fixture);
	assert_int_equal(kube_config_load_file(s->path, NULL, &cfg, err, sizeof(err)), rc);
	assert_null(cfg);
	if (!strstr(err, want))
		fail_msg("%s: error \"%s\" lacks \"%s\"", fixture, err, want);
	/* file errors start with the file's name */
	assert_memory_equal(err, s->path, strlen(s->path));
}

static void test_malformed_files(void **state)
{
	struct scratch *s = *state;

	assert_file_refused(s, "bad-base64.yaml", SAQR_ECONFIG,
			    "users[0].user.client-key-data: not valid base64");
	assert_file_refused(s, "missing-context.yaml", SAQR_ECONFIG,
			    "current-context \"x\" is not among contexts");
	assert_file_refused(s, "bad-yaml.yaml", SAQR_EPARSE, "line 6 column");
}

static void test_unreadable_and_oversize(void **state)
{
	struct scratch *s = *state;
	struct kube_config *cfg = NULL;
	char err[512] = "", path[4200];
	size_t big = KUBECONFIG_MAX_BYTES + 1;
	char *text = malloc(big + 1);
	FILE *f;

	snprintf(path, sizeof(path), "%s/absent", s->dir);
	assert_int_equal(kube_config_load_file(path, NULL, &cfg, err, sizeof(err)), SAQR_EIO);
	assert_non_null(strstr(err, "No such file or directory"));
	assert_non_null(text);
	memset(text, '#', big);
	text[big] = '\0';
	f = fopen(s->path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, big, f), big);
	fclose(f);
	assert_int_equal(kube_config_load_file(s->path, NULL, &cfg, err, sizeof(err)), SAQR_ETOOBIG);
	assert_non_null(strstr(err, "1048576-byte limit"));
	assert_int_equal(kube_config_load_data(text, big, NULL, NULL, &cfg, err, sizeof(err)), SAQR_ETOOBIG);
	assert_null(cfg);
	free(text);
}

static void test_in_cluster(void **state)
{
	struct scratch *s = *state;
	struct kube_config *cfg = NULL;
	char err[512] = "";

	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	assert_int_equal(kubetest_write(s->dir, "namespace", "ml-serving\n"), 0);
	assert_int_equal(kube_config_in_cluster(s->dir, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg->server, "https://10.96.0.1:443");
	assert_in_dir(cfg->ca_file, s, "ca.crt");
	assert_in_dir(cfg->token_file, s, "token");
	assert_string_equal(cfg->namespace, "ml-serving");
	assert_null(cfg->token);
	kube_config_free(cfg);

	/* IPv6 hosts go in brackets; no namespace file means "default" */
	setenv("KUBERNETES_SERVICE_HOST", "fd00:10:96::1", 1);
	assert_int_equal(kubetest_write(s->dir, "namespace", ""), 0);
	assert_int_equal(kube_config_in_cluster(s->dir, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg->server, "https://[fd00:10:96::1]:443");
	assert_string_equal(cfg->namespace, "default");
	kube_config_free(cfg);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
}

static void test_in_cluster_errors(void **state)
{
	struct scratch *s = *state;
	struct kube_config *cfg = NULL;
	char err[512] = "", empty[4200];

	unsetenv("KUBERNETES_SERVICE_HOST");
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	assert_int_equal(kube_config_in_cluster(s->dir, &cfg, err, sizeof(err)), SAQR_ECONFIG);
	assert_non_null(strstr(err, "KUBERNETES_SERVICE_HOST"));
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "https", 1);
	assert_int_equal(kube_config_in_cluster(s->dir, &cfg, err, sizeof(err)), SAQR_ECONFIG);
	assert_non_null(strstr(err, "KUBERNETES_SERVICE_PORT \"https\" is not a port"));
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	snprintf(empty, sizeof(empty), "%s/certs", s->dir); /* no ca.crt or token there */
	assert_int_equal(kube_config_in_cluster(empty, &cfg, err, sizeof(err)), SAQR_EIO);
	assert_non_null(strstr(err, "certs/ca.crt: No such file or directory"));
	assert_null(cfg);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
}

static void test_default_order(void **state)
{
	struct scratch *s = *state;
	struct kube_config *cfg = NULL;
	char err[512] = "", env[8400], home[4200];

	use_fixture(s, "files.yaml");
	snprintf(home, sizeof(home), "%s/home", s->dir);
	assert_int_equal(mkdir(home, 0700), 0);
	setenv("HOME", home, 1);
	/* 1. the explicit path wins over $KUBECONFIG */
	setenv("KUBECONFIG", "/nonexistent/kubeconfig", 1);
	assert_int_equal(kube_config_load_default(s->path, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg->namespace, "team-a");
	kube_config_free(cfg);
	/* 2. $KUBECONFIG's first entry (empty entries skipped) */
	snprintf(env, sizeof(env), "::%s:/nonexistent/other", s->path);
	setenv("KUBECONFIG", env, 1);
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	assert_int_equal(kube_config_load_default(NULL, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg->server, "https://127.0.0.1:6443");
	kube_config_free(cfg);
	/* 3. in-cluster when KUBERNETES_SERVICE_HOST is set (here without the service-account files) */
	unsetenv("KUBECONFIG");
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	assert_int_equal(kube_config_load_default(NULL, &cfg, err, sizeof(err)), SAQR_EIO);
	assert_non_null(strstr(err, "in-cluster: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt"));
	/* 4. ~/.kube/config */
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	assert_int_equal(kube_config_load_default("", &cfg, err, sizeof(err)), SAQR_EIO);
	assert_non_null(strstr(err, "home/.kube/config"));
	unsetenv("HOME");
	assert_int_equal(kube_config_load_default(NULL, &cfg, err, sizeof(err)), SAQR_ECONFIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_file_paths_and_current_context, scratch_setup,
					    scratch_teardown),
	    cmocka_unit_test_setup_teardown(test_named_context_token_insecure, scratch_setup,
					    scratch_teardown),
	    cmocka_unit_test_setup_teardown(test_inline_data_and_token_file, scratch_setup, scratch_teardown),
	    cmocka_unit_test_setup_teardown(test_load_data_with_dir, scratch_setup, scratch_teardown),
	    cmocka_unit_test_setup_teardown(test_field_errors, scratch_setup, scratch_teardown),
	    cmocka_unit_test_setup_teardown(test_cluster_errors, scratch_setup, scratch_teardown),
	    cmocka_unit_test_setup_teardown(test_context_errors, scratch_setup, scratch_teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_files, scratch_setup, scratch_teardown),
	    cmocka_unit_test_setup_teardown(test_unreadable_and_oversize, scratch_setup, scratch_teardown),
	    cmocka_unit_test_setup_teardown(test_in_cluster, scratch_setup, scratch_teardown),
	    cmocka_unit_test_setup_teardown(test_in_cluster_errors, scratch_setup, scratch_teardown),
	    cmocka_unit_test_setup_teardown(test_default_order, scratch_setup, scratch_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
