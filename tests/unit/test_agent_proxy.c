/* saqr-agent end to end on 127.0.0.1: a small keep-alive model server (a thread of this test)
 * behind the agent, V1 and V2 requests over TLS through libcurl (one kept connection), chunked
 * bodies, an upstream that is down, the configuration and the certificate reloaded; the
 * metrics page is parsed with drift/promtext and its bins and counters checked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../support/certgen.h"
#include "agent/agent.h"
#include "agent/http1.h"
#include "common/buf.h"
#include "common/err.h"
#include "drift/promtext.h"

/* ---- the model server ---- */

#define UP_MAX_CONNS 16

struct upstream {
	int lfd, port;
	pthread_t thread, conns[UP_MAX_CONNS];
	int nconns;
	atomic_int requests;
	atomic_bool stop;
};

struct up_conn {
	struct upstream *u;
	int fd;
};

static void up_answer(int fd, const char *target)
{
	const char *body = strstr(target, "/v2/")
			       ? "{\"outputs\":[{\"name\":\"p\",\"shape\":[2],\"datatype\":\"FP32\","
				 "\"data\":[0.25,0.75]}]}"
			       : "{\"predictions\":[0.25,0.75]}";
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
			 strlen(body));

	assert_true(send(fd, head, (size_t)n, MSG_NOSIGNAL) == n);
	assert_true(send(fd, body, strlen(body), MSG_NOSIGNAL) == (ssize_t)strlen(body));
}

static void *up_conn_main(void *arg)
{
	struct up_conn *c = arg;
	struct http1 *p = malloc(sizeof(*p));
	char b[4096], target[512] = "";
	ssize_t n;

	http1_init(p, HTTP1_REQUEST, NULL, NULL);
	while ((n = recv(c->fd, b, sizeof(b), 0)) > 0) {
		size_t off = 0, used;

		while (off < (size_t)n || http1_head(p)) {
			int rc = http1_feed(p, b + off, (size_t)n - off, &used);

			off += used;
			if (rc == HTTP1_HEAD) {
				snprintf(target, sizeof(target), "%s", http1_head(p)->target);
				continue;
			}
			if (rc == HTTP1_DONE) {
				atomic_fetch_add(&c->u->requests, 1);
				up_answer(c->fd, target);
				http1_init(p, HTTP1_REQUEST, NULL, NULL);
				continue;
			}
			if (rc < 0)
				goto out;
			break;
		}
	}
out:
	close(c->fd);
	free(p);
	free(c);
	return NULL;
}

static void *up_main(void *arg)
{
	struct upstream *u = arg;

	while (!atomic_load(&u->stop)) {
		int fd = accept(u->lfd, NULL, NULL);
		struct up_conn *c;

		if (fd < 0)
			continue;
		if (atomic_load(&u->stop) || u->nconns == UP_MAX_CONNS) {
			close(fd);
			continue;
		}
		c = malloc(sizeof(*c));
		c->u = u;
		c->fd = fd;
		pthread_create(&u->conns[u->nconns++], NULL, up_conn_main, c);
	}
	return NULL;
}

static void up_start(struct upstream *u)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);

	memset(u, 0, sizeof(*u));
	u->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(u->lfd >= 0);
	assert_int_equal(bind(u->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(u->lfd, 16), 0);
	assert_int_equal(getsockname(u->lfd, (struct sockaddr *)&sa, &len), 0);
	u->port = ntohs(sa.sin_port);
	pthread_create(&u->thread, NULL, up_main, u);
}

static void up_stop(struct upstream *u)
{
	atomic_store(&u->stop, true);
	shutdown(u->lfd, SHUT_RDWR);
	pthread_join(u->thread, NULL);
	for (int i = 0; i < u->nconns; i++)
		pthread_join(u->conns[i], NULL);
	close(u->lfd);
}

/* ---- fixture ---- */

struct fx {
	char dir[64], ca[128], cert[128], key[128], config[128], upstream[64], url[128];
	struct certgen_ca *cagen;
	struct upstream up;
	struct agent *agent;
	CURL *curl;
	struct promtext *pt;
};

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const char config1[] = "features:\n"
			      "  - {name: amount, type: numerical, edges: [10, 100], index: 0}\n"
			      "  - {name: country, type: categorical, categories: [AE, SA], index: 1}\n"
			      "  - {name: age, type: numerical, edges: [30, 60]}\n"
			      "predictions: {edges: [0.5]}\n";

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct agent_opts o = {.address = "127.0.0.1", .reload_interval_ms = 3600000};
	char err[256];

	signal(SIGPIPE, SIG_IGN);
	snprintf(f->dir, sizeof(f->dir), "/tmp/saqr-agent-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->ca, sizeof(f->ca), "%s/ca.crt", f->dir);
	snprintf(f->cert, sizeof(f->cert), "%s/tls.crt", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/tls.key", f->dir);
	snprintf(f->config, sizeof(f->config), "%s/agent.yaml", f->dir);
	assert_int_equal(certgen_ca_new("agent-test-ca", &f->cagen), 0);
	assert_int_equal(certgen_ca_write(f->cagen, f->ca), 0);
	assert_int_equal(
	    certgen_leaf(f->cagen, "localhost", "IP:127.0.0.1,DNS:localhost", false, f->cert, f->key), 0);
	write_file(f->config, config1);
	up_start(&f->up);
	snprintf(f->upstream, sizeof(f->upstream), "127.0.0.1:%d", f->up.port);
	o.upstream = f->upstream;
	o.cert_file = f->cert;
	o.key_file = f->key;
	o.config_file = f->config;
	if (agent_start(&o, &f->agent, err, sizeof(err)) != 0)
		fail_msg("agent_start: %s", err);
	snprintf(f->url, sizeof(f->url), "https://127.0.0.1:%d", agent_port(f->agent));
	f->curl = curl_easy_init();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	curl_easy_cleanup(f->curl);
	agent_stop(f->agent);
	up_stop(&f->up);
	certgen_ca_free(f->cagen);
	promtext_free(f->pt);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static size_t sink(char *p, size_t size, size_t n, void *ud)
{
	return buf_add(ud, p, size * n) ? 0 : size * n;
}

/* POST body to path over the kept TLS connection; the status, the answer in out. */
static long post(struct fx *f, const char *path, const char *body, bool chunked, struct buf *out)
{
	struct curl_slist *h = NULL;
	char url[256];
	long code = 0;

	snprintf(url, sizeof(url), "%s%s", f->url, path);
	h = curl_slist_append(h, "Content-Type: application/json");
	if (chunked)
		h = curl_slist_append(h, "Transfer-Encoding: chunked");
	curl_easy_setopt(f->curl, CURLOPT_URL, url);
	curl_easy_setopt(f->curl, CURLOPT_CAINFO, f->ca);
	curl_easy_setopt(f->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(f->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(f->curl, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(f->curl, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(f->curl, CURLOPT_TIMEOUT, 10L);
	if (curl_easy_perform(f->curl) == CURLE_OK)
		curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(h);
	return code;
}

static void scrape(struct fx *f)
{
	struct buf b;
	char err[256];

	buf_init(&b, 1 << 20);
	assert_int_equal(agent_metrics(f->agent, &b), 0);
	promtext_free(f->pt);
	f->pt = NULL;
	if (promtext_parse(b.data, b.len, 0, &f->pt, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	buf_release(&b);
}

static void bins(struct fx *f, const char *family, const char *name, double *out, size_t n)
{
	struct promtext_label l = {"feature", name};
	struct promtext_hist h;
	double edges[8];
	char err[256];

	assert_int_equal(promtext_histogram(f->pt, family, &l, 1, &h, err, sizeof(err)), 0);
	assert_int_equal(h.n, n);
	assert_int_equal(promtext_hist_bins(&h, edges, out), 0);
	promtext_hist_release(&h);
}

static double counter(struct fx *f, const char *name, const char *k1, const char *v1, const char *k2,
		      const char *v2)
{
	struct promtext_label l[2] = {{k1, v1}, {k2, v2}};
	double v = -1;

	if (promtext_counter(f->pt, name, l, k2 ? 2 : (k1 ? 1 : 0), &v) != 0)
		return -1;
	return v;
}

/* Scrape until the agent has counted `inspected` inspected and `answered` answered requests:
 * it records a request just after the client has its answer. */
static void settle(struct fx *f, double inspected, double answered)
{
	for (int i = 0; i < 200; i++) {
		scrape(f);
		if (counter(f, "saqr_agent_inspections_total", "direction", "request", "result", "ok") >=
			inspected &&
		    counter(f, "saqr_inference_requests_total", "code", "200", NULL, NULL) >= answered)
			return;
		usleep(10000);
	}
	fail_msg("the agent did not record %g requests", inspected);
}

static void test_v1_v2_over_tls(void **state)
{
	struct fx *f = *state;
	struct buf out;
	double b[3];
	long conns = 0;

	buf_init(&out, 1 << 16);
	assert_int_equal(post(f, "/v1/models/m:predict",
			      "{\"instances\":[[5,\"AE\"],[50,\"FR\"],[500,\"SA\"]]}", false, &out),
			 200);
	assert_string_equal(buf_str(&out), "{\"predictions\":[0.25,0.75]}");
	buf_reset(&out);
	assert_int_equal(
	    post(f, "/v2/models/m/infer",
		 "{\"inputs\":[{\"name\":\"amount\",\"shape\":[2,1],\"datatype\":\"FP32\",\"data\":[7,70]},"
		 "{\"name\":\"age\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[45]}]}",
		 true, &out),
	    200);
	buf_reset(&out);
	assert_int_equal(post(f, "/other", "not json", false, &out), 200);
	curl_easy_getinfo(f->curl, CURLINFO_NUM_CONNECTS, &conns);
	assert_int_equal(conns, 0); /* the last request reused the connection */
	assert_int_equal(atomic_load(&f->up.requests), 3);
	assert_int_equal(f->up.nconns, 1); /* and so did the agent upstream */
	buf_release(&out);
	settle(f, 2, 3);
	bins(f, "saqr_feature_value", "amount", b, 3);
	assert_true(b[0] == 2 && b[1] == 2 && b[2] == 1);
	bins(f, "saqr_feature_value", "age", b, 3);
	assert_true(b[0] == 0 && b[1] == 1 && b[2] == 0);
	assert_true(counter(f, "saqr_feature_category_total", "feature", "country", "value", "AE") == 1);
	assert_true(counter(f, "saqr_feature_category_total", "feature", "country", "value", "__other__") ==
		    1);
	bins(f, "saqr_prediction_value", "prediction", b, 2);
	assert_true(b[0] == 2 && b[1] == 2);
	assert_true(counter(f, "saqr_inference_requests_total", "code", "200", NULL, NULL) == 3);
	assert_true(counter(f, "saqr_inference_latency_seconds_count", NULL, NULL, NULL, NULL) == 3);
	assert_true(counter(f, "saqr_agent_inspections_total", "direction", "request", "result", "ok") == 2);
}

static void test_upstream_down_and_refused(void **state)
{
	struct fx *f = *state;
	struct agent_opts o = {.address = "127.0.0.1", .upstream = "127.0.0.1:1"};
	struct agent *a = NULL;
	char err[256], host[64];
	int port;

	(void)f;
	assert_int_equal(agent_upstream_parse("10.0.0.1:8080", host, sizeof(host), &port, err, sizeof(err)),
			 SAQR_EINVAL);
	assert_int_equal(
	    agent_upstream_parse("model.example:80", host, sizeof(host), &port, err, sizeof(err)),
	    SAQR_EINVAL);
	assert_int_equal(agent_upstream_parse("127.0.0.1:0", host, sizeof(host), &port, err, sizeof(err)),
			 SAQR_EINVAL);
	assert_int_equal(agent_upstream_parse("[::1]:8080", host, sizeof(host), &port, err, sizeof(err)), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(agent_upstream_parse("localhost:9", host, sizeof(host), &port, err, sizeof(err)), 0);
	assert_int_equal(port, 9);
	assert_int_equal(agent_start(&o, &a, err, sizeof(err)), 0); /* plain HTTP, nothing on port 1 */
	{
		CURL *c = curl_easy_init();
		char url[128];
		long code = 0;

		snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/models/m:predict", agent_port(a));
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{}");
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
		{
			struct buf out;

			buf_init(&out, 4096);
			curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
			assert_int_equal(curl_easy_perform(c), CURLE_OK);
			buf_release(&out);
		}
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		assert_int_equal(code, 502);
		curl_easy_cleanup(c);
	}
	agent_stop(a);
}

static void test_reloads(void **state)
{
	struct fx *f = *state;
	struct buf out;
	double b[2];

	buf_init(&out, 1 << 16);
	write_file(f->config, "features:\n  - {name: score, type: numerical, edges: [1], index: 0}\n");
	assert_int_equal(certgen_leaf(f->cagen, "localhost", "IP:127.0.0.1", false, f->cert, f->key), 0);
	assert_int_equal(agent_reload_check(f->agent), 0);
	curl_easy_setopt(f->curl, CURLOPT_FORBID_REUSE, 1L);
	assert_int_equal(post(f, "/v1/models/m:predict", "{\"instances\":[[0.5],[3]]}", false, &out), 200);
	buf_release(&out);
	settle(f, 1, 1);
	bins(f, "saqr_feature_value", "score", b, 2);
	assert_true(b[0] == 1 && b[1] == 1);
	assert_true(counter(f, "saqr_agent_reloads_total", "what", "config", "result", "ok") == 1);
	assert_true(counter(f, "saqr_agent_reloads_total", "what", "tls", "result", "ok") == 1);
	write_file(f->config, "features: [{name: x}]\n");
	assert_true(agent_reload_check(f->agent) < 0); /* the old configuration stays */
	scrape(f);
	bins(f, "saqr_feature_value", "score", b, 2);
	assert_true(counter(f, "saqr_agent_reloads_total", "what", "config", "result", "error") == 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_v1_v2_over_tls, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_upstream_down_and_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reloads, setup, teardown),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
