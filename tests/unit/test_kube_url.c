/* Unit tests for lib/kube/url.c: resource paths (core, grouped, namespaced, cluster-scoped,
 * subresources), percent-escaping and the list, write and watch query strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "kube/client.h"
#include "kube/url.h"

static const struct kube_resource pods = {"", "v1", "pods", true};
static const struct kube_resource namespaces = {NULL, "v1", "namespaces", false};
static const struct kube_resource deployments = {"apps", "v1", "deployments", true};
static const struct kube_resource crds = {"apiextensions.k8s.io", "v1", "customresourcedefinitions", false};

static void assert_path(const struct kube_resource *res, const char *ns, const char *name, const char *sub,
			const char *want)
{
	char out[512];

	assert_int_equal(kube_resource_path(res, ns, name, sub, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void test_core_paths(void **state)
{
	(void)state;
	assert_path(&pods, "default", "web-0", NULL, "/api/v1/namespaces/default/pods/web-0");
	assert_path(&pods, "default", NULL, NULL, "/api/v1/namespaces/default/pods");
	assert_path(&pods, NULL, NULL, NULL, "/api/v1/pods");
	assert_path(&pods, "", NULL, NULL, "/api/v1/pods");
	assert_path(&pods, "kube-system", "p", "log", "/api/v1/namespaces/kube-system/pods/p/log");
}

static void test_grouped_paths(void **state)
{
	(void)state;
	assert_path(&deployments, "ml", "model", NULL, "/apis/apps/v1/namespaces/ml/deployments/model");
	assert_path(&deployments, "ml", "model", "status",
		    "/apis/apps/v1/namespaces/ml/deployments/model/status");
	assert_path(&deployments, "ml", "model", "scale",
		    "/apis/apps/v1/namespaces/ml/deployments/model/scale");
	assert_path(&deployments, NULL, NULL, NULL, "/apis/apps/v1/deployments");
}

static void test_cluster_scoped_paths(void **state)
{
	(void)state;
	/* a namespace argument means nothing for cluster-scoped kinds */
	assert_path(&namespaces, "ignored", "team-a", NULL, "/api/v1/namespaces/team-a");
	assert_path(&namespaces, NULL, "team-a", "status", "/api/v1/namespaces/team-a/status");
	assert_path(&crds, NULL, "widgets.test.saqr.dev", NULL,
		    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.test.saqr.dev");
}

static void test_segments_are_escaped(void **state)
{
	(void)state;
	assert_path(&pods, "a b", "x/../y?z#w", NULL, "/api/v1/namespaces/a%20b/pods/x%2F..%2Fy%3Fz%23w");
	assert_path(&pods, "n", "100%", NULL, "/api/v1/namespaces/n/pods/100%25");
	assert_path(&pods, "n", "\xc3\xa9t\xc3\xa9", NULL, "/api/v1/namespaces/n/pods/%C3%A9t%C3%A9");
	assert_path(&pods, "n", "A-z_0.9~", NULL, "/api/v1/namespaces/n/pods/A-z_0.9~");
}

static void test_path_errors(void **state)
{
	const struct kube_resource noversion = {"apps", NULL, "deployments", true};
	const struct kube_resource noresource = {"apps", "v1", "", true};
	char out[64];
	const char *want = "/api/v1/namespaces/default/pods/x";

	(void)state;
	assert_int_equal(kube_resource_path(NULL, "n", "x", NULL, out, sizeof(out)), SAQR_EINVAL);
	assert_int_equal(kube_resource_path(&noversion, "n", "x", NULL, out, sizeof(out)), SAQR_EINVAL);
	assert_int_equal(kube_resource_path(&noresource, "n", "x", NULL, out, sizeof(out)), SAQR_EINVAL);
	assert_int_equal(kube_resource_path(&pods, "n", NULL, "status", out, sizeof(out)), SAQR_EINVAL);
	assert_int_equal(kube_resource_path(&pods, "n", "x", NULL, out, 0), SAQR_EINVAL);
	/* exactly fitting, then one byte short */
	assert_int_equal(kube_resource_path(&pods, "default", "x", NULL, out, strlen(want) + 1), 0);
	assert_string_equal(out, want);
	assert_int_equal(kube_resource_path(&pods, "default", "x", NULL, out, strlen(want)), SAQR_ETOOBIG);
}

static void test_escape_and_param(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(kube_url_escape(&b, "a=b,c!=d&e f+g"), 0);
	assert_string_equal(buf_str(&b), "a%3Db%2Cc%21%3Dd%26e%20f%2Bg");
	buf_reset(&b);
	assert_int_equal(buf_adds(&b, "/api/v1/pods"), 0);
	assert_int_equal(kube_url_param(&b, "limit", "5"), 0);
	assert_int_equal(kube_url_param(&b, "skipped", NULL), 0);
	assert_int_equal(kube_url_param(&b, "skipped", ""), 0);
	assert_int_equal(kube_url_param(&b, "continue", "x?y"), 0);
	assert_string_equal(buf_str(&b), "/api/v1/pods?limit=5&continue=x%3Fy");
	buf_release(&b);

	buf_init(&b, 8);
	assert_int_equal(kube_url_escape(&b, "//////"), SAQR_ETOOBIG);
	buf_release(&b);
}

static void test_list_query(void **state)
{
	struct kube_list_opts o = {
	    .label_selector = "app=web,tier!=db",
	    .field_selector = "metadata.name=x",
	    .limit = 5,
	    .continue_token = "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ==",
	    .resource_version = "123",
	};
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(kube_url_list_query(&b, &o), 0);
	assert_string_equal(buf_str(&b),
			    "?labelSelector=app%3Dweb%2Ctier%21%3Ddb&fieldSelector=metadata.name%3Dx"
			    "&limit=5&continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ%3D%3D&resourceVersion=123");
	buf_reset(&b);
	assert_int_equal(kube_url_list_query(&b, NULL), 0);
	assert_string_equal(buf_str(&b), "");
	memset(&o, 0, sizeof(o));
	o.limit = -3; /* not positive: left to the server's default */
	assert_int_equal(kube_url_list_query(&b, &o), 0);
	assert_string_equal(buf_str(&b), "");
	buf_release(&b);
}

static void test_write_query(void **state)
{
	struct kube_write_opts o = {.field_manager = "saqr operator", .force = true, .dry_run = true};
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(kube_url_write_query(&b, &o, true), 0);
	assert_string_equal(buf_str(&b), "?fieldManager=saqr%20operator&force=true&dryRun=All");
	buf_reset(&b);
	/* force only means something to server-side apply */
	assert_int_equal(kube_url_write_query(&b, &o, false), 0);
	assert_string_equal(buf_str(&b), "?fieldManager=saqr%20operator&dryRun=All");
	buf_reset(&b);
	assert_int_equal(kube_url_write_query(&b, NULL, true), 0);
	assert_string_equal(buf_str(&b), "");
	buf_release(&b);
}

static void test_watch_query(void **state)
{
	struct kube_watch_opts o = {
	    .label_selector = "app in (a,b)",
	    .resource_version = "42",
	    .allow_bookmarks = true,
	    .timeout_seconds = 300,
	};
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(buf_adds(&b, "/api/v1/pods"), 0);
	assert_int_equal(kube_url_watch_query(&b, &o), 0);
	assert_string_equal(buf_str(&b), "/api/v1/pods?watch=1&labelSelector=app%20in%20%28a%2Cb%29"
					 "&resourceVersion=42&allowWatchBookmarks=true&timeoutSeconds=300");
	buf_reset(&b);
	assert_int_equal(kube_url_watch_query(&b, NULL), 0);
	assert_string_equal(buf_str(&b), "?watch=1");
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_core_paths),		 cmocka_unit_test(test_grouped_paths),
	    cmocka_unit_test(test_cluster_scoped_paths), cmocka_unit_test(test_segments_are_escaped),
	    cmocka_unit_test(test_path_errors),		 cmocka_unit_test(test_escape_and_param),
	    cmocka_unit_test(test_list_query),		 cmocka_unit_test(test_write_query),
	    cmocka_unit_test(test_watch_query),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
