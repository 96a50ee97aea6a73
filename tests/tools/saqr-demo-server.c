/* saqr-demo-server: the two outside parties of `make demo` and of by-hand testing, on one
 * plain-HTTP port on loopback:
 *  - a model server's metrics: GET /metrics answers the current contents of --metrics FILE
 *    (re-read on every request, so a script can make a drift appear by rewriting it);
 *  - an incident sink: any POST/PATCH/PUT is answered 200 and appended as one JSON line
 *    {"time","method","path","body"} to --record FILE (ServiceNow-style paths get a sys_id).
 * With --cert-file and --key-file it serves HTTPS (a model server with TLS, as Saqr's
 * hardened ModelDeployments have). It prints "port=N" on stdout once listening and stops on SIGTERM or SIGINT. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>

#include "common/buf.h"
#include "common/err.h"
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
	line = json_pack("{s:s, s:s, s:s, s:o}", "time", when, "method", req->method, "path", req->path, "body",
			 body ? body : json_stringn(req->body, req->body_len));
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

static void demo_handle(void *ud, const struct httpd_request *req, struct httpd_response *resp)
{
	struct demo *d = ud;

	if (strcmp(req->method, "GET") == 0 && strcmp(req->path, "/metrics") == 0)
		demo_metrics(d, resp);
	else if (strcmp(req->method, "GET") == 0 && strcmp(req->path, "/healthz") == 0)
		buf_adds(&resp->body, "{\"status\":\"ok\"}");
	else if (strcmp(req->method, "GET") != 0 && d->record)
		demo_record(d, req, resp);
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
	struct demo d = { .metrics = "/dev/null", .record = NULL };
	struct httpd_opts o = { .address = "127.0.0.1", .max_body = 1 << 20, .handler = demo_handle, .ud = &d };
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
	fflush(stdout);
	while (!demo_stop)
		pause();
	httpd_stop(h);
	pthread_mutex_destroy(&d.lock);
	return 0;
}
