/* Unit tests for operator/driftpolicy/driftsource*.c: readings from recorded exposition text
 * (tests/data/driftpolicy/, .prom files), increases with counter resets, sums over pods, the
 * per-policy store (first window, new pods, failed pods, uid change), scrape targets from
 * EndpointSlices, the source configuration, the Prometheus queries and answers, and HTTP GETs
 * against a local receiver (errors, size cap, bearer token). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "drift/promtext.h"
#include "operator/driftpolicy/driftsource.h"
#include "../support/httprecv.h"
#include "../support/kubetest.h"

static json_t *load_json(const char *name)
{
	char path[256];
	char *text;
	json_t *v;

	snprintf(path, sizeof(path), "tests/data/driftpolicy/%s", name);
	text = kubetest_read(path, NULL);
	assert_non_null(text);
	v = json_loads(text, 0, NULL);
	free(text);
	assert_non_null(v);
	return v;
}

/* A reading of fixture name with the default metric names. */
static void reading(const char *name, struct driftsource_data *out)
{
	struct driftsource_names names;
	struct promtext *pt = NULL;
	char path[256], err[256];
	size_t len = 0;
	char *text;

	snprintf(path, sizeof(path), "tests/data/driftpolicy/%s", name);
	text = kubetest_read(path, &len);
	assert_non_null(text);
	assert_int_equal(promtext_parse(text, len, 0, &pt, err, sizeof(err)), 0);
	driftsource_names_from_spec(NULL, &names);
	assert_int_equal(driftsource_extract(pt, &names, out, err, sizeof(err)), 0);
	promtext_free(pt);
	free(text);
}

static double count_of(const struct driftsource_feature *f, const char *key)
{
	for (size_t i = 0; i < f->ncats; i++)
		if (strcmp(f->cats[i].key, key) == 0)
			return f->cats[i].value;
	return -1;
}

static void test_names_default_and_override(void **state)
{
	json_t *dp = json_pack("{s:{s:{s:s}}}", "spec", "metrics", "featureValue", "my_features");
	struct driftsource_names n;

	(void)state;
	driftsource_names_from_spec(dp, &n);
	assert_string_equal(n.feature_value, "my_features");
	assert_string_equal(n.feature_category, "saqr_feature_category_total");
	assert_string_equal(n.latency, "saqr_inference_latency_seconds");
	assert_string_equal(n.requests, "saqr_inference_requests_total");
	assert_string_equal(n.quality, "saqr_model_quality");
	json_decref(dp);
}

static void test_extract_reading(void **state)
{
	struct driftsource_data d;
	const struct driftsource_feature *amount, *channel;

	(void)state;
	reading("t0.prom", &d);
	assert_int_equal(d.nfeatures, 2);
	amount = driftsource_find(&d, "amount_aed", false);
	channel = driftsource_find(&d, "channel", true);
	assert_non_null(amount);
	assert_non_null(channel);
	assert_null(driftsource_find(&d, "amount_aed", true));
	assert_int_equal(amount->hist.n, 5);
	assert_true(isinf(amount->hist.le[4]));
	assert_true(amount->hist.cum[4] == 1000);
	assert_int_equal(channel->ncats, 3);
	assert_true(count_of(channel, "wallet") == 230);
	assert_int_equal(d.latency.n, 6);
	assert_int_equal(d.ncodes, 2);
	assert_true(d.has_requests);
	assert_true(d.has_quality && d.quality == 0.95);
	driftsource_data_release(&d);
	driftsource_data_release(&d); /* released twice: a no-op */
	driftsource_data_release(NULL);
}

static void test_extract_rejects_a_broken_histogram(void **state)
{
	static const char text[] = "# TYPE saqr_feature_value histogram\n"
				   "saqr_feature_value_bucket{feature=\"x\",le=\"1\"} 3\n"
				   "saqr_feature_value_count{feature=\"x\"} 3\n";
	struct driftsource_names names;
	struct driftsource_data d;
	struct promtext *pt;
	char err[256] = "";

	(void)state;
	assert_int_equal(promtext_parse(text, strlen(text), 0, &pt, err, sizeof(err)), 0);
	driftsource_names_from_spec(NULL, &names);
	assert_int_equal(driftsource_extract(pt, &names, &d, err, sizeof(err)), SAQR_EINVAL);
	assert_non_null(strstr(err, "feature x"));
	promtext_free(pt);
}

static void test_increase_over_a_window(void **state)
{
	struct driftsource_data t0, t1, w;
	const struct driftsource_feature *amount, *channel;

	(void)state;
	reading("t0.prom", &t0);
	reading("t1_nodrift.prom", &t1);
	assert_int_equal(driftsource_increase(&t0, &t1, &w), 0);
	driftsource_finish(&w);
	amount = driftsource_find(&w, "amount_aed", false);
	channel = driftsource_find(&w, "channel", true);
	assert_true(amount->hist.cum[0] == 366);
	assert_true(amount->hist.cum[4] == 2000);
	assert_true(count_of(channel, "card") == 1240);
	assert_true(w.requests == 2000);
	assert_true(w.errors == 10);
	assert_true(w.has_latency_p99);
	assert_true(fabs(w.latency_p99_seconds - 0.2) < 1e-9);
	assert_true(w.quality == 0.94);
	driftsource_data_release(&w);
	driftsource_data_release(&t0);
	driftsource_data_release(&t1);
}

static void test_counter_reset_counts_from_zero(void **state)
{
	struct driftsource_data t0, t1, w;
	const struct driftsource_feature *amount, *channel;

	(void)state;
	reading("t0.prom", &t0);
	reading("t1_reset.prom", &t1);
	assert_int_equal(driftsource_increase(&t0, &t1, &w), 0);
	driftsource_finish(&w);
	amount = driftsource_find(&w, "amount_aed", false);
	channel = driftsource_find(&w, "channel", true);
	/* the process restarted: the increase is what it counted since, never negative */
	assert_true(amount->hist.cum[0] == 37);
	assert_true(amount->hist.cum[4] == 200);
	assert_true(count_of(channel, "card") == 124);
	assert_true(w.requests == 200);
	assert_true(w.errors == 1);
	driftsource_data_release(&w);
	driftsource_data_release(&t0);
	driftsource_data_release(&t1);
}

static void test_increase_without_previous_is_the_reading(void **state)
{
	struct driftsource_data t0, w;

	(void)state;
	reading("t0.prom", &t0);
	assert_int_equal(driftsource_increase(NULL, &t0, &w), 0);
	assert_true(driftsource_find(&w, "amount_aed", false)->hist.cum[4] == 1000);
	driftsource_data_release(&w);
	driftsource_data_release(&t0);
}

static void test_add_sums_pods_and_refuses_other_buckets(void **state)
{
	struct driftsource_data a, b, acc;
	char err[256] = "";

	(void)state;
	reading("t0.prom", &a);
	reading("t1_nodrift.prom", &b);
	memset(&acc, 0, sizeof(acc));
	assert_int_equal(driftsource_add(&acc, &a, err, sizeof(err)), 0);
	assert_int_equal(driftsource_add(&acc, &b, err, sizeof(err)), 0);
	assert_true(driftsource_find(&acc, "amount_aed", false)->hist.cum[4] == 4000);
	assert_true(count_of(driftsource_find(&acc, "channel", true), "transfer") == 600);
	assert_true(acc.quality == 0.94); /* the lowest pod */
	/* a pod with other buckets cannot be summed */
	b.features[0].hist.le[0] = 42;
	assert_int_equal(driftsource_add(&acc, &b, err, sizeof(err)), SAQR_EINVAL);
	assert_non_null(strstr(err, "amount_aed"));
	driftsource_data_release(&acc);
	driftsource_data_release(&a);
	driftsource_data_release(&b);
}

static void test_error_codes(void **state)
{
	(void)state;
	assert_true(driftsource_code_is_error("500"));
	assert_true(driftsource_code_is_error("503"));
	assert_true(driftsource_code_is_error("14"));
	assert_true(driftsource_code_is_error("UNAVAILABLE"));
	assert_true(driftsource_code_is_error("internal"));
	assert_false(driftsource_code_is_error("200"));
	assert_false(driftsource_code_is_error("404"));
	assert_false(driftsource_code_is_error("5000"));
	assert_false(driftsource_code_is_error("0"));
	assert_false(driftsource_code_is_error("OK"));
	assert_false(driftsource_code_is_error(""));
	assert_false(driftsource_code_is_error(NULL));
}

/* ---- the store ---- */

static struct driftsource_data *heap_reading(const char *name)
{
	struct driftsource_data *d = malloc(sizeof(*d));

	assert_non_null(d);
	reading(name, d);
	return d;
}

static void test_store_first_reading_only_records(void **state)
{
	struct driftsource_target t[2] = {{"pod-a", "http://a/metrics"}, {"pod-b", "http://b/metrics"}};
	struct driftsource_data *r[2], w;
	struct driftsource_scrape_result res = {0};
	struct driftsource_store *s;
	char err[256];

	(void)state;
	assert_int_equal(driftsource_store_new(&s), 0);
	assert_false(driftsource_store_has(s, "ns/dp", "uid-1"));
	r[0] = heap_reading("t0.prom");
	r[1] = NULL; /* pod-b could not be read */
	assert_int_equal(
	    driftsource_store_update(s, "ns/dp", "uid-1", t, r, 2, 100.0, &w, &res, err, sizeof(err)), 0);
	assert_true(res.first);
	assert_int_equal(res.scraped, 1);
	assert_true(driftsource_store_has(s, "ns/dp", "uid-1"));
	assert_false(driftsource_store_has(s, "ns/dp", "uid-2"));
	/* one window later: pod-a gives a window, pod-b (new) only records */
	r[0] = heap_reading("t1_nodrift.prom");
	r[1] = heap_reading("t0.prom");
	assert_int_equal(
	    driftsource_store_update(s, "ns/dp", "uid-1", t, r, 2, 700.0, &w, &res, err, sizeof(err)), 0);
	assert_false(res.first);
	assert_int_equal(w.pods, 1);
	assert_true(w.seconds == 600.0);
	assert_true(driftsource_find(&w, "amount_aed", false)->hist.cum[4] == 2000);
	assert_true(w.requests == 2000);
	driftsource_data_release(&w);
	/* pod-a fails now: its old reading stays; pod-b gives a window */
	r[0] = NULL;
	r[1] = heap_reading("t1_nodrift.prom");
	assert_int_equal(
	    driftsource_store_update(s, "ns/dp", "uid-1", t, r, 2, 1300.0, &w, &res, err, sizeof(err)), 0);
	assert_int_equal(w.pods, 1);
	driftsource_data_release(&w);
	/* pod-a is back, after a restart: the reset is handled */
	r[0] = heap_reading("t1_reset.prom");
	r[1] = NULL;
	assert_int_equal(
	    driftsource_store_update(s, "ns/dp", "uid-1", t, r, 2, 1900.0, &w, &res, err, sizeof(err)), 0);
	assert_true(driftsource_find(&w, "amount_aed", false)->hist.cum[4] == 200);
	driftsource_data_release(&w);
	/* the policy was deleted and created again (new uid): start over */
	r[0] = heap_reading("t1_nodrift.prom");
	r[1] = NULL;
	assert_int_equal(
	    driftsource_store_update(s, "ns/dp", "uid-2", t, r, 2, 2500.0, &w, &res, err, sizeof(err)), 0);
	assert_true(res.first);
	driftsource_store_forget(s, "ns/dp");
	assert_false(driftsource_store_has(s, "ns/dp", "uid-2"));
	driftsource_store_forget(s, "ns/none");
	driftsource_store_free(s);
	driftsource_store_free(NULL);
}

static void test_store_refuses_pods_with_other_buckets(void **state)
{
	struct driftsource_target t[2] = {{"pod-a", "http://a/metrics"}, {"pod-b", "http://b/metrics"}};
	struct driftsource_data *r[2], w;
	struct driftsource_scrape_result res = {0};
	struct driftsource_store *s;
	char err[256] = "";

	(void)state;
	assert_int_equal(driftsource_store_new(&s), 0);
	r[0] = heap_reading("t0.prom");
	r[1] = heap_reading("t0.prom");
	assert_int_equal(driftsource_store_update(s, "ns/dp", "u", t, r, 2, 0.0, &w, &res, err, sizeof(err)),
			 0);
	r[0] = heap_reading("t1_nodrift.prom");
	r[1] = heap_reading("t1_nodrift.prom");
	r[1]->features[0].hist.le[1] = 250;
	assert_int_equal(driftsource_store_update(s, "ns/dp", "u", t, r, 2, 60.0, &w, &res, err, sizeof(err)),
			 SAQR_EINVAL);
	assert_non_null(strstr(err, "different buckets"));
	driftsource_store_free(s);
}

/* ---- targets and configuration ---- */

static void test_targets_from_endpointslices(void **state)
{
	json_t *slices = load_json("endpointslices.json"), *dp = load_json("dp_scrape.json");
	json_t *md = load_json("md_history.json");
	struct driftsource_config cfg;
	struct driftsource_target *t = NULL;
	size_t n = 0;
	char err[256];

	(void)state;
	assert_int_equal(driftsource_config(dp, md, 600, &cfg, err, sizeof(err)), 0);
	assert_int_equal(driftsource_targets(slices, &cfg, &t, &n), 0);
	/* ready (or unset) endpoints, each pod once (dual-stack, duplicate slices), bad hosts dropped */
	assert_int_equal(n, 3);
	assert_string_equal(t[0].url, "http://10.1.0.5:9090/metrics");
	assert_string_equal(t[0].key, "fraud-detector-7d9f-aaaaa");
	assert_string_equal(t[1].url, "http://10.1.0.7:9090/metrics");
	assert_string_equal(t[2].url, "http://model.localhost:9090/metrics");
	assert_string_equal(t[2].key, "model.localhost");
	free(t);
	/* IPv6 in brackets */
	json_array_remove(json_object_get(slices, "items"), 0);
	assert_int_equal(driftsource_targets(slices, &cfg, &t, &n), 0);
	assert_string_equal(t[0].url, "http://[fd00::5]:9090/metrics");
	free(t);
	/* nothing ready */
	assert_int_equal(driftsource_targets(json_object_get(slices, "nothing"), &cfg, &t, &n), 0);
	assert_int_equal(n, 0);
	json_decref(slices);
	json_decref(dp);
	json_decref(md);
}

static void test_targets_are_capped(void **state)
{
	json_t *eps = json_array(), *slices;
	struct driftsource_config cfg = {.path = "/metrics", .port = 80};
	struct driftsource_target *t = NULL;
	size_t n = 0;

	(void)state;
	for (int i = 0; i < DRIFTSOURCE_MAX_TARGETS + 1; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 200, i % 200);
		json_array_append_new(eps, json_pack("{s:[s]}", "addresses", ip));
	}
	slices = json_pack("{s:[{s:s, s:o}]}", "items", "addressType", "IPv4", "endpoints", eps);
	/* a large Service: the first ones are read */
	assert_int_equal(driftsource_targets(slices, &cfg, &t, &n), 0);
	assert_int_equal(n, DRIFTSOURCE_MAX_TARGETS);
	assert_string_equal(t[0].url, "http://10.0.0.0:80/metrics");
	free(t);
	json_decref(slices);
}

static void test_source_config(void **state)
{
	json_t *dp = load_json("dp_scrape.json"), *md = load_json("md_history.json");
	struct driftsource_config cfg;
	char err[256];

	(void)state;
	/* scrape: the saqr-agent's metrics port (on by default) when the policy names none */
	json_object_set_new(json_path(md, "spec.server"), "port", json_integer(8080));
	assert_int_equal(driftsource_config(dp, md, 600, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.kind, DRIFTSOURCE_SCRAPE);
	assert_int_equal(cfg.port, 9090);
	assert_string_equal(cfg.path, "/metrics");
	assert_string_equal(cfg.service, "fraud-detector");
	assert_string_equal(cfg.namespace, "payments");
	assert_null(cfg.tls_secret);
	/* with a TLS Secret: the agent's metrics port stays plain HTTP, its proxy port is HTTPS */
	json_object_set_new(json_path(md, "spec"), "security",
			    json_pack("{s:s}", "tlsSecretName", "fraud-tls"));
	json_object_set_new(json_path(md, "spec"), "agent",
			    json_pack("{s:i, s:i}", "port", 9443, "metricsPort", 9091));
	assert_int_equal(driftsource_config(dp, md, 600, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.port, 9091);
	assert_null(cfg.tls_secret);
	json_object_set_new(json_path(dp, "spec.source.scrape"), "port", json_integer(9443));
	assert_int_equal(driftsource_config(dp, md, 600, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.tls_secret, "fraud-tls");
	/* the server behind the agent speaks plain HTTP */
	json_object_set_new(json_path(dp, "spec.source.scrape"), "port", json_integer(8080));
	assert_int_equal(driftsource_config(dp, md, 600, &cfg, err, sizeof(err)), 0);
	assert_null(cfg.tls_secret);
	/* a gRPC server has no agent: its own port; and without the agent the TLS Secret means HTTPS */
	json_object_del(json_path(dp, "spec.source.scrape"), "port");
	json_object_set_new(json_path(md, "spec.server"), "protocol", json_string("grpc"));
	assert_int_equal(driftsource_config(dp, md, 600, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.port, 8080);
	assert_string_equal(cfg.tls_secret, "fraud-tls");
	json_object_set_new(json_path(md, "spec.server"), "protocol", json_string("http"));
	json_object_set_new(json_path(md, "spec.agent"), "enabled", json_false());
	json_object_set_new(json_path(dp, "spec.source.scrape"), "port", json_integer(9100));
	assert_int_equal(driftsource_config(dp, md, 600, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.port, 9100);
	assert_string_equal(cfg.tls_secret, "fraud-tls");
	/* prometheus with its secrets */
	json_object_set_new(json_path(dp, "spec"), "source",
			    json_pack("{s:{s:s, s:{s:s}, s:{s:s, s:s}}}", "prometheus", "url",
				      "https://prom:9090", "bearerTokenSecretRef", "name", "prom-token",
				      "caSecretRef", "name", "prom-ca", "key", "bundle.pem"));
	assert_int_equal(driftsource_config(dp, md, 600, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.kind, DRIFTSOURCE_PROMETHEUS);
	assert_string_equal(cfg.url, "https://prom:9090");
	assert_string_equal(cfg.token_secret, "prom-token");
	assert_string_equal(cfg.token_key, "token");
	assert_string_equal(cfg.ca_key, "bundle.pem");
	/* a Secret in the policy's own namespace only: another namespace is refused */
	json_object_set_new(json_path(dp, "spec.source.prometheus.caSecretRef"), "namespace",
			    json_string("payments"));
	assert_int_equal(driftsource_config(dp, md, 600, &cfg, err, sizeof(err)), 0);
	json_object_set_new(json_path(dp, "spec.source.prometheus.bearerTokenSecretRef"), "namespace",
			    json_string("kube-system"));
	assert_int_equal(driftsource_config(dp, md, 600, &cfg, err, sizeof(err)), SAQR_EINVAL);
	assert_non_null(strstr(err, "another namespace"));
	/* neither */
	json_object_set_new(json_path(dp, "spec"), "source", json_object());
	assert_int_equal(driftsource_config(dp, md, 600, &cfg, err, sizeof(err)), SAQR_EINVAL);
	assert_non_null(strstr(err, "prometheus or scrape"));
	/* a target without a name */
	assert_int_equal(driftsource_config(dp, NULL, 600, &cfg, err, sizeof(err)), SAQR_EINVAL);
	json_decref(dp);
	json_decref(md);
}

/* ---- prometheus ---- */

static void prom_cfg(struct driftsource_config *cfg, struct driftsource_names *names)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->kind = DRIFTSOURCE_PROMETHEUS;
	cfg->namespace = "payments";
	snprintf(cfg->service, sizeof(cfg->service), "fraud-detector");
	cfg->url = "http://prom:9090/";
	cfg->window_seconds = 299.5;
	driftsource_names_from_spec(NULL, names);
}

static void test_prometheus_queries(void **state)
{
	struct driftsource_config cfg;
	struct driftsource_names names;
	struct buf q;
	char *url;

	(void)state;
	prom_cfg(&cfg, &names);
	buf_init(&q, 4096);
	assert_int_equal(driftsource_prom_query(DRIFTSOURCE_Q_FEATURES, &cfg, &names, &q), 0);
	assert_string_equal(buf_str(&q), "sum by (feature, le) (increase(saqr_feature_value_bucket"
					 "{namespace=\"payments\",service=\"fraud-detector\"}[300s]))");
	buf_reset(&q);
	assert_int_equal(driftsource_prom_query(DRIFTSOURCE_Q_LATENCY, &cfg, &names, &q), 0);
	assert_string_equal(buf_str(&q),
			    "histogram_quantile(0.99, sum by (le) (increase(saqr_inference_latency_seconds"
			    "_bucket{namespace=\"payments\",service=\"fraud-detector\"}[300s])))");
	buf_reset(&q);
	assert_int_equal(driftsource_prom_query(DRIFTSOURCE_Q_REQUESTS, &cfg, &names, &q), 0);
	assert_non_null(strstr(buf_str(&q), "sum by (code) (increase(saqr_inference_requests_total{"));
	buf_reset(&q);
	assert_int_equal(driftsource_prom_query(DRIFTSOURCE_Q_QUALITY, &cfg, &names, &q), 0);
	assert_string_equal(buf_str(&q),
			    "min(saqr_model_quality{namespace=\"payments\",service=\"fraud-detector\"})");
	buf_reset(&q);
	assert_int_equal(driftsource_prom_query(DRIFTSOURCE_Q_COUNT, &cfg, &names, &q), SAQR_EINVAL);
	url = driftsource_prom_url(cfg.url, "min(x{a=\"b c\"})");
	assert_string_equal(url, "http://prom:9090/api/v1/query?query=min%28x%7Ba%3D%22b%20c%22%7D%29");
	free(url);
	buf_release(&q);
}

static json_t *vector(const char *result)
{
	char text[4096];
	json_t *v;

	snprintf(text, sizeof(text),
		 "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":%s}}", result);
	v = json_loads(text, 0, NULL);
	assert_non_null(v);
	return v;
}

static void test_prometheus_answers(void **state)
{
	struct driftsource_data w;
	const struct driftsource_feature *f;
	char err[256] = "";
	json_t *a;

	(void)state;
	memset(&w, 0, sizeof(w));
	/* le out of order, extrapolation noise (a bucket below the one before it) evened out */
	a = vector("[{\"metric\":{\"feature\":\"x\",\"le\":\"+Inf\"},\"value\":[1,\"10\"]},"
		   "{\"metric\":{\"feature\":\"x\",\"le\":\"1\"},\"value\":[1,\"4.2\"]},"
		   "{\"metric\":{\"feature\":\"x\",\"le\":\"2\"},\"value\":[1,\"4.1\"]},"
		   "{\"metric\":{\"feature\":\"y\",\"le\":\"2\"},\"value\":[1,\"3\"]}]");
	assert_int_equal(driftsource_prom_parse(DRIFTSOURCE_Q_FEATURES, a, &w, err, sizeof(err)), 0);
	json_decref(a);
	f = driftsource_find(&w, "x", false);
	assert_non_null(f);
	assert_int_equal(f->hist.n, 3);
	assert_true(f->hist.le[0] == 1 && f->hist.cum[1] == 4.2 && f->hist.count == 10);
	assert_null(driftsource_find(&w, "y", false)); /* no +Inf bucket: skipped */
	a = vector("[{\"metric\":{\"feature\":\"c\",\"value\":\"card\"},\"value\":[1,\"7\"]},"
		   "{\"metric\":{\"feature\":\"c\",\"value\":\"cash\"},\"value\":[1,\"3\"]}]");
	assert_int_equal(driftsource_prom_parse(DRIFTSOURCE_Q_CATEGORIES, a, &w, err, sizeof(err)), 0);
	json_decref(a);
	assert_true(count_of(driftsource_find(&w, "c", true), "cash") == 3);
	a = vector("[{\"metric\":{},\"value\":[1,\"0.412\"]}]");
	assert_int_equal(driftsource_prom_parse(DRIFTSOURCE_Q_LATENCY, a, &w, err, sizeof(err)), 0);
	json_decref(a);
	assert_true(w.has_latency_p99 && w.latency_p99_seconds == 0.412);
	a = vector("[{\"metric\":{},\"value\":[1,\"NaN\"]}]"); /* no observations */
	assert_int_equal(driftsource_prom_parse(DRIFTSOURCE_Q_LATENCY, a, &w, err, sizeof(err)), 0);
	json_decref(a);
	assert_false(w.has_latency_p99);
	a = vector("[{\"metric\":{\"code\":\"200\"},\"value\":[1,\"95\"]},{\"metric\":{\"code\":\"503\"},"
		   "\"value\":[1,\"5\"]}]");
	assert_int_equal(driftsource_prom_parse(DRIFTSOURCE_Q_REQUESTS, a, &w, err, sizeof(err)), 0);
	json_decref(a);
	a = vector("[]");
	assert_int_equal(driftsource_prom_parse(DRIFTSOURCE_Q_QUALITY, a, &w, err, sizeof(err)), 0);
	json_decref(a);
	assert_false(w.has_quality);
	driftsource_finish(&w);
	assert_true(w.requests == 100 && w.errors == 5);
	assert_true(w.has_latency_p99 == false);
	/* errors */
	a = json_pack("{s:s, s:s, s:s}", "status", "error", "errorType", "bad_data", "error",
		      "parse error at char 4");
	assert_int_equal(driftsource_prom_parse(DRIFTSOURCE_Q_REQUESTS, a, &w, err, sizeof(err)),
			 SAQR_EPARSE);
	assert_non_null(strstr(err, "bad_data: parse error at char 4"));
	json_decref(a);
	a = json_pack("{s:s, s:{s:s, s:[]}}", "status", "success", "data", "resultType", "matrix", "result");
	assert_int_equal(driftsource_prom_parse(DRIFTSOURCE_Q_REQUESTS, a, &w, err, sizeof(err)),
			 SAQR_EPARSE);
	json_decref(a);
	driftsource_data_release(&w);
}

static void test_prometheus_end_to_end(void **state)
{
	struct driftsource_config cfg;
	struct driftsource_names names;
	struct driftsource_http http = {.bearer_token = "prom-t0ken"};
	struct driftsource_data w;
	struct httprecv *prom;
	char url[128], err[256] = "";
	json_t *req;

	(void)state;
	assert_int_equal(httprecv_start(&prom), 0);
	prom_cfg(&cfg, &names);
	httprecv_url(prom, url, sizeof(url));
	cfg.url = url;
	httprecv_reply(prom, 200,
		       "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
		       "[{\"metric\":{\"code\":\"200\"},\"value\":[1,\"10\"]}]}}");
	assert_int_equal(driftsource_prometheus(&cfg, &names, &http, &w, err, sizeof(err)), 0);
	assert_int_equal(httprecv_count(prom), DRIFTSOURCE_Q_COUNT);
	req = httprecv_request(prom, 0);
	assert_string_equal(json_path_str(req, "method", ""), "GET");
	assert_non_null(
	    strstr(json_path_str(req, "path", ""), "/api/v1/query?query=sum%20by%20%28feature%2C%20le%29"));
	assert_string_equal(json_path_str(req, "headers.authorization", ""), "Bearer prom-t0ken");
	json_decref(req);
	assert_true(w.seconds == 299.5);
	assert_true(w.has_requests);
	driftsource_data_release(&w);
	/* Prometheus' own words when it refuses a query */
	httprecv_reply(prom, 400,
		       "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"unknown function\"}");
	assert_int_equal(driftsource_prometheus(&cfg, &names, &http, &w, err, sizeof(err)), SAQR_EAPI);
	assert_non_null(strstr(err, "bad_data: unknown function"));
	assert_null(strstr(err, "prom-t0ken"));
	httprecv_set_down(prom, 1);
	assert_int_equal(driftsource_prometheus(&cfg, &names, NULL, &w, err, sizeof(err)), SAQR_ETRANSPORT);
	httprecv_stop(prom);
}

/* The outbound policy reaches both sources: a Prometheus or a pod on loopback is refused by
 * default, and the bearer token is not sent over http:// unless allowed. Nothing is sent. */
static void test_outbound_policy(void **state)
{
	struct http_netpolicy strict = {.allow_insecure_credentials = true};
	struct http_netpolicy loop = {.allow_loopback = true};
	struct driftsource_http http = {.bearer_token = "prom-t0ken", .net = &strict};
	struct driftsource_config cfg;
	struct driftsource_names names;
	struct driftsource_data w;
	struct httprecv *prom;
	struct buf body;
	char url[128], err[256] = "";

	(void)state;
	assert_int_equal(httprecv_start(&prom), 0);
	prom_cfg(&cfg, &names);
	httprecv_url(prom, url, sizeof(url));
	cfg.url = url;
	assert_int_equal(driftsource_prometheus(&cfg, &names, &http, &w, err, sizeof(err)), SAQR_EFORBIDDEN);
	assert_non_null(strstr(err, "loopback"));
	http.net = &loop;
	assert_int_equal(driftsource_prometheus(&cfg, &names, &http, &w, err, sizeof(err)), SAQR_EFORBIDDEN);
	assert_non_null(strstr(err, "plain http://"));
	assert_null(strstr(err, "prom-t0ken"));
	buf_init(&body, 4096);
	http.bearer_token = NULL;
	http.net = &strict;
	assert_int_equal(
	    driftsource_http_get("http://169.254.169.254/latest/meta-data/", &http, &body, err, sizeof(err)),
	    SAQR_EFORBIDDEN);
	assert_non_null(strstr(err, "metadata"));
	buf_release(&body);
	assert_int_equal(httprecv_count(prom), 0);
	httprecv_stop(prom);
}

/* ---- HTTP ---- */

static void test_http_get_answers_and_errors(void **state)
{
	struct driftsource_http opts = {.bearer_token = "s3cret", .json = true};
	struct httprecv *r;
	struct buf body;
	char url[128], err[256] = "";
	json_t *req;

	(void)state;
	assert_int_equal(httprecv_start(&r), 0);
	httprecv_url(r, url, sizeof(url));
	httprecv_reply(r, 200, "{\"ok\":true}");
	buf_init(&body, 1 << 20);
	assert_int_equal(driftsource_http_get(url, &opts, &body, err, sizeof(err)), 0);
	assert_string_equal(buf_str(&body), "{\"ok\":true}");
	req = httprecv_request(r, 0);
	assert_string_equal(json_path_str(req, "headers.authorization", ""), "Bearer s3cret");
	assert_string_equal(json_path_str(req, "headers.accept", ""), "application/json");
	json_decref(req);
	/* an error status names the host, never the token */
	httprecv_reply(r, 503, "unavailable");
	buf_reset(&body);
	assert_int_equal(driftsource_http_get(url, &opts, &body, err, sizeof(err)), SAQR_EAPI);
	assert_non_null(strstr(err, "HTTP 503"));
	assert_null(strstr(err, "s3cret"));
	/* the size cap */
	httprecv_reply(r, 200, "0123456789abcdefghij");
	buf_reset(&body);
	opts.max_body = 8;
	assert_int_equal(driftsource_http_get(url, &opts, &body, err, sizeof(err)), SAQR_ETOOBIG);
	/* nobody listening */
	httprecv_set_down(r, 1);
	buf_reset(&body);
	assert_int_equal(driftsource_http_get(url, NULL, &body, err, sizeof(err)), SAQR_ETRANSPORT);
	assert_non_null(strstr(err, "127.0.0.1"));
	buf_release(&body);
	httprecv_stop(r);
}

static void test_scrape_reads_pods(void **state)
{
	struct driftsource_target t[2];
	struct driftsource_scrape_result res;
	struct driftsource_names names;
	struct driftsource_store *s;
	struct driftsource_data w;
	struct httprecv *pod;
	char *t0 = kubetest_read("tests/data/driftpolicy/t0.prom", NULL);
	char *t1 = kubetest_read("tests/data/driftpolicy/t1_drift_slo.prom", NULL);
	char err[256] = "";

	(void)state;
	assert_int_equal(httprecv_start(&pod), 0);
	assert_int_equal(driftsource_store_new(&s), 0);
	driftsource_names_from_spec(NULL, &names);
	snprintf(t[0].key, sizeof(t[0].key), "pod-a");
	snprintf(t[0].url, sizeof(t[0].url), "http://127.0.0.1:%d/metrics", httprecv_port(pod));
	snprintf(t[1].key, sizeof(t[1].key), "pod-gone");
	snprintf(t[1].url, sizeof(t[1].url), "http://127.0.0.1:1/metrics");
	/* no target at all, then no target readable: the source is unavailable */
	assert_int_equal(
	    driftsource_scrape(s, "ns/dp", "u", NULL, t, 0, &names, 0, &w, &res, err, sizeof(err)),
	    SAQR_ETRANSPORT);
	assert_string_equal(err, "no ready endpoints");
	assert_int_equal(
	    driftsource_scrape(s, "ns/dp", "u", NULL, t + 1, 1, &names, 0, &w, &res, err, sizeof(err)),
	    SAQR_ETRANSPORT);
	httprecv_reply(pod, 200, t0);
	assert_int_equal(
	    driftsource_scrape(s, "ns/dp", "u", NULL, t, 2, &names, 0, &w, &res, err, sizeof(err)), 0);
	assert_true(res.first);
	assert_int_equal(res.failed, 1);
	httprecv_reply(pod, 200, t1);
	assert_int_equal(
	    driftsource_scrape(s, "ns/dp", "u", NULL, t, 2, &names, 60, &w, &res, err, sizeof(err)), 0);
	assert_false(res.first);
	assert_true(w.errors == 100 && w.requests == 2000);
	assert_true(fabs(w.latency_p99_seconds - 0.9) < 1e-9);
	driftsource_data_release(&w);
	/* malformed metrics count as a failed pod */
	httprecv_reply(pod, 200, "this is { not metrics");
	assert_int_equal(
	    driftsource_scrape(s, "ns/dp", "u", NULL, t, 1, &names, 120, &w, &res, err, sizeof(err)),
	    SAQR_ETRANSPORT);
	assert_non_null(strstr(err, "line 1"));
	driftsource_store_free(s);
	httprecv_stop(pod);
	free(t0);
	free(t1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names_default_and_override),
	    cmocka_unit_test(test_extract_reading),
	    cmocka_unit_test(test_extract_rejects_a_broken_histogram),
	    cmocka_unit_test(test_increase_over_a_window),
	    cmocka_unit_test(test_counter_reset_counts_from_zero),
	    cmocka_unit_test(test_increase_without_previous_is_the_reading),
	    cmocka_unit_test(test_add_sums_pods_and_refuses_other_buckets),
	    cmocka_unit_test(test_error_codes),
	    cmocka_unit_test(test_store_first_reading_only_records),
	    cmocka_unit_test(test_store_refuses_pods_with_other_buckets),
	    cmocka_unit_test(test_targets_from_endpointslices),
	    cmocka_unit_test(test_targets_are_capped),
	    cmocka_unit_test(test_source_config),
	    cmocka_unit_test(test_prometheus_queries),
	    cmocka_unit_test(test_prometheus_answers),
	    cmocka_unit_test(test_prometheus_end_to_end),
	    cmocka_unit_test(test_outbound_policy),
	    cmocka_unit_test(test_http_get_answers_and_errors),
	    cmocka_unit_test(test_scrape_reads_pods),
	};

	return cmocka_run_group_tests_name("driftsource", tests, NULL, NULL);
}
