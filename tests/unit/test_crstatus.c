/* Unit tests for operator/crstatus.c: the status subresource is written only when the
 * status changed, with the cached resourceVersion; a write is remembered so that a cache
 * still holding the version it replaced is recognised; errors pass through. Also the
 * work-queue results of operator/opctl.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../support/ctrltest.h"
#include "common/err.h"
#include "common/jsonutil.h"
#include "operator/crstatus.h"
#include "operator/opctl.h"

static const struct kube_resource mds = {"saqr.dev", "v1alpha1", "modeldeployments", true};

static json_t *md_at(const char *rv, json_t *status)
{
	json_t *md = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:{s:i}}", "apiVersion", "saqr.dev/v1alpha1",
			       "kind", "ModelDeployment", "metadata", "name", "fraud", "namespace", "ml",
			       "resourceVersion", rv, "spec", "replicas", 2);

	if (status)
		json_object_set_new(md, "status", status);
	return md;
}

static json_t *status_with(const char *ready)
{
	return json_pack("{s:i, s:[{s:s, s:s, s:s, s:s, s:s}]}", "observedGeneration", 1, "conditions",
			 "type", "Ready", "status", ready, "reason", "R", "message", "m",
			 "lastTransitionTime", "2024-05-01T10:00:00Z");
}

static void test_writes_only_a_changed_status(void **state)
{
	struct ctrltest_ops f;
	struct crstatus_memo *m;
	struct kube_status st = {0};
	json_t *md = md_at("10", status_with("False")), *same = status_with("False"),
	       *next = status_with("True");
	const struct ctrltest_call *call;
	bool written = true;

	(void)state;
	ctrltest_ops_init(&f);
	assert_int_equal(crstatus_memo_new(&m), 0);
	/* equal: no call */
	assert_int_equal(crstatus_write(&f.ops, &mds, m, md, same, &written, &st), 0);
	assert_false(written);
	assert_int_equal(ctrltest_ncalls(&f, CTRLTEST_UPDATE), 0);
	/* changed: PUT of the cached object with the new status, on the status subresource */
	ctrltest_reply(&f, CTRLTEST_UPDATE, 0, md_at("11", json_incref(next)));
	assert_int_equal(crstatus_write(&f.ops, &mds, m, md, next, &written, &st), 0);
	assert_true(written);
	assert_int_equal(ctrltest_ncalls(&f, CTRLTEST_UPDATE), 1);
	call = ctrltest_call(&f, CTRLTEST_UPDATE, 0);
	assert_string_equal(call->resource, "modeldeployments");
	assert_string_equal(call->ns, "ml");
	assert_string_equal(json_path_str(call->body, "metadata.resourceVersion", ""), "10");
	assert_string_equal(json_path_str(call->body, "status.conditions.0.status", ""), "True");
	assert_int_equal(json_path_int(call->body, "spec.replicas", 0), 2);
	/* the cached object is left alone */
	assert_string_equal(json_path_str(md, "status.conditions.0.status", ""), "False");
	/* until the cache shows version 11, version 10 is known to be stale */
	assert_true(crstatus_cache_behind(m, md));
	json_object_set_new(json_object_get(md, "metadata"), "resourceVersion", json_string("11"));
	assert_false(crstatus_cache_behind(m, md));
	json_object_set_new(json_object_get(md, "metadata"), "resourceVersion", json_string("10"));
	crstatus_memo_forget(m, "ml", "fraud");
	assert_false(crstatus_cache_behind(m, md));
	crstatus_memo_free(m);
	crstatus_memo_free(NULL);
	ctrltest_ops_release(&f);
	json_decref(md);
	json_decref(same);
	json_decref(next);
}

static void test_conflict_and_no_status(void **state)
{
	struct ctrltest_ops f;
	struct crstatus_memo *m;
	struct kube_status st = {0};
	json_t *md = md_at("10", NULL), *next = status_with("True"), *empty = json_object();
	bool written = true;

	(void)state;
	ctrltest_ops_init(&f);
	assert_int_equal(crstatus_memo_new(&m), 0);
	/* no status yet, and an empty one computed: equal, nothing written */
	assert_int_equal(crstatus_write(&f.ops, &mds, m, md, empty, &written, &st), 0);
	assert_false(written);
	/* a stale cache: 409 passes through, nothing remembered */
	ctrltest_reply_status(&f, CTRLTEST_UPDATE, SAQR_ECONFLICT, 409, "Conflict");
	assert_int_equal(crstatus_write(&f.ops, &mds, m, md, next, &written, &st), SAQR_ECONFLICT);
	assert_false(written);
	assert_false(crstatus_cache_behind(m, md));
	/* a write the server answered with the same resourceVersion (nothing changed) is not
	 * remembered: the cache would never move past it */
	ctrltest_reply(&f, CTRLTEST_UPDATE, 0, md_at("10", json_incref(next)));
	assert_int_equal(crstatus_write(&f.ops, &mds, m, md, next, &written, &st), 0);
	assert_true(written);
	assert_false(crstatus_cache_behind(m, md));
	crstatus_memo_free(m);
	ctrltest_ops_release(&f);
	json_decref(md);
	json_decref(next);
	json_decref(empty);
}

static void test_results(void **state)
{
	struct workqueue_result r;
	struct kube_status st = {.http_code = 422};

	(void)state;
	r = opctl_result(0, false);
	assert_true(r.err == 0 && !r.requeue && r.requeue_after == 0);
	r = opctl_result(0, true);
	assert_true(r.err == 0 && r.requeue_after == OWNED_CACHE_GRACE);
	r = opctl_result(SAQR_ECONFLICT, false);
	assert_true(r.err == 0 && r.requeue);
	r = opctl_result(SAQR_ETRANSPORT, true);
	assert_int_equal(r.err, SAQR_ETRANSPORT);
	assert_true(opctl_refused(SAQR_EINVALID, &st));
	assert_true(opctl_refused(SAQR_EFORBIDDEN, &st));
	assert_true(opctl_refused(SAQR_EAPI, &st));
	assert_false(opctl_refused(SAQR_ECONFLICT, &st));
	assert_false(opctl_refused(SAQR_ETRANSPORT, &st));
	assert_false(opctl_refused(SAQR_EBUSY, &st));
	assert_false(opctl_refused(0, &st));
}

static void test_changes_lists(void **state)
{
	struct opctl_changes ch;

	(void)state;
	opctl_changes_init(&ch);
	opctl_changes_note(&ch, OWNED_CREATED, "Deployment", "a");
	opctl_changes_note(&ch, OWNED_CREATED, "Service", "a");
	opctl_changes_note(&ch, OWNED_UNCHANGED, "NetworkPolicy", "a");
	opctl_changes_note(&ch, OWNED_WAITING, "NetworkPolicy", "a");
	opctl_changes_note(&ch, OWNED_DELETED, "HorizontalPodAutoscaler", "a");
	assert_string_equal(buf_str(&ch.created), "Deployment/a, Service/a");
	assert_string_equal(buf_str(&ch.updated), "");
	assert_string_equal(buf_str(&ch.deleted), "HorizontalPodAutoscaler/a");
	opctl_changes_release(&ch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_writes_only_a_changed_status),
	    cmocka_unit_test(test_conflict_and_no_status),
	    cmocka_unit_test(test_results),
	    cmocka_unit_test(test_changes_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
