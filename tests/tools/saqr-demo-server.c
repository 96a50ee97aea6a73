/* saqr-demo-server: the outside parties of `make demo` and of by-hand testing, on one
 * plain-HTTP port on loopback (or --address):
 *  - a model server (image saqr.local/saqr-demo-server:dev behind saqr-agent): KServe V1
 *    `POST /v1/models/<m>:predict` and Open Inference Protocol V2 `POST /v2/models/<m>/infer`
 *    answer one fraud score per row (from the row's first number), `GET /v2/health/ready` and
 *    `/v2/health/live` 200; the model it serves is $SAQR_MODEL_URI (printed at start);
 *  - a model server's metrics: GET /metrics answers the current contents of --metrics FILE
 *    (re-read on every request, so a script can make a drift appear by rewriting it);
 *  - an incident sink: with --record FILE, any POST/PATCH/PUT is answered 200 and appended as
 *    one JSON line {"time","method","path","body"} to FILE (ServiceNow-style paths get a sys_id).
 * With --cert-file and --key-file it serves HTTPS (a model server with TLS, as Saqr's
 * hardened ModelDeployments have). It prints "port=N" on stdout once listening and stops on SIGTERM or
 * SIGINT. */
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/jsonutil.h"
#include "httpd/httpd.h"

struct demo {
	const char *metrics;
	const char *record;
	pthread_mutex_t lock;
	unsigned long seq;
};

static volatile sig_atomic_t demo_stop;

static void demo_on_signal(int sig)
{
	(void)sig;
	demo_stop = 1;
}

static void demo_metrics(struct demo *d, struct httpd_response *resp)
{
	char chunk[4096];
	size_t n;
	FILE *f = fopen(d->metrics, "r");

	resp->content_type = "text/plain; version=0.0.4";
	if (!f) {
		resp->status = 404;
		buf_adds(&resp->body, "no metrics file\n");
		return;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_add(&resp->body, chunk, n))
			break;
	fclose(f);
}

static void demo_record(struct demo *d, const struct httpd_request *req, struct httpd_response *resp)
{
	json_t *body = json_loadb(req->body, req->body_len, 0, NULL);
	json_t *line;
	char when[32], id[64];
	time_t now = time(NULL);
	struct tm tm;
	FILE *f;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	line = json_pack("{s:s, s:s, s:s, s:o}", "time", when, "method", req->method, "path", req->path,
			 "body", body ? body : json_stringn(req->body, req->body_len));
	pthread_mutex_lock(&d->lock);
	d->seq++;
	snprintf(id, sizeof(id), "demo-%lu", d->seq);
	f = fopen(d->record, "a");
	if (f && line) {
		json_dumpf(line, f, JSON_COMPACT);
		fputc('\n', f);
	}
	if (f)
		fclose(f);
	pthread_mutex_unlock(&d->lock);
	json_decref(line);
	if (strstr(req->path, "/api/now/table/incident"))
		buf_addf(&resp->body, "{\"result\":{\"sys_id\":\"%s\"}}", id);
	else
		buf_adds(&resp->body, "{}");
}

/* The "model": a fraud score in [0, 1) that grows with the amount (a row's first number). */
static double demo_score(const json_t *row)
{
	const json_t *v = json_is_array(row) ? json_array_get(row, 0) : row;
	double amount = json_is_number(v) ? json_number_value(v) : 0;

	return amount > 0 ? amount / (amount + 1000.0) : 0;
}

static bool demo_prefixed(const char *path, const char *prefix, const char *suffix)
{
	size_t lp = strlen(prefix), ls = strlen(suffix), l = strlen(path);

	return l > lp + ls && strncmp(path, prefix, lp) == 0 && strcmp(path + l - ls, suffix) == 0;
}

/* V1 {"instances": [row...]} -> {"predictions": [score...]}; V2 {"inputs": [{"data": [...],
 * "shape": [n, w]}]} -> one FP32 output of n scores (rows of width shape[1], default 1). */
static void demo_infer(const struct httpd_request *req, bool v2, struct httpd_response *resp)
{
	json_t *in = json_loadb(req->body, req->body_len, 0, NULL), *scores = json_array(), *out = NULL;
	const json_t *rows = v2 ? json_path(in, "inputs.0.data") : json_object_get(in, "instances");
	long long width = v2 ? json_path_int(in, "inputs.0.shape.1", 1) : 1;
	size_t i;
	json_t *row;

	resp->content_type = "application/json";
	if (!json_is_array(rows) || width < 1) {
		resp->status = 400;
		buf_adds(&resp->body, "{\"error\":\"no instances (V1) or inputs[0].data (V2)\"}");
		goto out;
	}
	json_array_foreach(rows, i, row)
	{
		if (!v2 || json_is_array(row) || i % (size_t)width == 0)
			json_array_append_new(scores, json_real(demo_score(row)));
	}
	out = v2 ? json_pack("{s:s, s:[{s:s, s:s, s:[I], s:O}]}", "model_name", "demo", "outputs", "name",
			     "output", "datatype", "FP32", "shape", (json_int_t)json_array_size(scores),
			     "data", scores)
		 : json_pack("{s:O}", "predictions", scores);
	if (out) {
		char *text = json_dumps(out, JSON_COMPACT);

		if (text)
			buf_adds(&resp->body, text);
		free(text);
	}
out:
	json_decref(out);
	json_decref(scores);
	json_decref(in);
}

static void demo_handle(void *ud, const struct httpd_request *req, struct httpd_response *resp)
{
	struct demo *d = ud;
	bool get = strcmp(req->method, "GET") == 0;

	if (get && strcmp(req->path, "/metrics") == 0)
		demo_metrics(d, resp);
	else if (get && (strcmp(req->path, "/healthz") == 0 || strcmp(req->path, "/v2/health/ready") == 0 ||
			 strcmp(req->path, "/v2/health/live") == 0))
		buf_adds(&resp->body, "{\"status\":\"ok\"}");
	else if (!get && d->record)
		demo_record(d, req, resp);
	else if (strcmp(req->method, "POST") == 0 && demo_prefixed(req->path, "/v1/models/", ":predict"))
		demo_infer(req, false, resp);
	else if (strcmp(req->method, "POST") == 0 && demo_prefixed(req->path, "/v2/models/", "/infer"))
		demo_infer(req, true, resp);
	else
		resp->status = 404;
}

static int demo_usage(int code)
{
	fprintf(code ? stderr : stdout,
		"usage: saqr-demo-server [--address A] [--port N] [--metrics FILE] [--record FILE]\n"
		"                        [--cert-file PEM --key-file PEM]\n"
		"Serves GET /metrics from FILE and records every POST/PATCH/PUT as a JSON line.\n");
	return code;
}

int main(int argc, char **argv)
{
	struct demo d = {.metrics = "/dev/null", .record = NULL};
	struct httpd_opts o = {.address = "127.0.0.1", .max_body = 1 << 20, .handler = demo_handle, .ud = &d};
	struct httpd *h = NULL;
	int rc;

	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return demo_usage(0);
		if (!v)
			return demo_usage(2);
		if (strcmp(argv[i], "--port") == 0)
			o.port = (int)strtol(v, NULL, 10);
		else if (strcmp(argv[i], "--address") == 0)
			o.address = v;
		else if (strcmp(argv[i], "--metrics") == 0)
			d.metrics = v;
		else if (strcmp(argv[i], "--record") == 0)
			d.record = v;
		else if (strcmp(argv[i], "--cert-file") == 0)
			o.cert_file = v;
		else if (strcmp(argv[i], "--key-file") == 0)
			o.key_file = v;
		else
			return demo_usage(2);
		i++;
	}
	pthread_mutex_init(&d.lock, NULL);
	signal(SIGTERM, demo_on_signal);
	signal(SIGINT, demo_on_signal);
	rc = httpd_start(&o, &h);
	if (rc) {
		fprintf(stderr, "saqr-demo-server: cannot listen: %s\n", saqr_strerror(rc));
		return 1;
	}
	printf("port=%d\n", httpd_port(h));
	if (getenv("SAQR_MODEL_URI"))
		printf("model=%s version=%s\n", getenv("SAQR_MODEL_URI"),
		       getenv("SAQR_MODEL_VERSION") ? getenv("SAQR_MODEL_VERSION") : "-");
	fflush(stdout);
	while (!demo_stop)
		pause();
	httpd_stop(h);
	pthread_mutex_destroy(&d.lock);
	return 0;
}
