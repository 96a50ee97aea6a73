/* saqr-agent: the sidecar of a ModelDeployment pod. Terminates TLS in front of the model
 * server on loopback, forwards every request, and exports request latency, status codes and
 * the feature distributions of KServe V1 / Open Inference Protocol V2 payloads as the metrics a
 * DriftPolicy reads, on a separate plain-HTTP port. SIGTERM or SIGINT stops it. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "common/err.h"
#include "common/flags.h"
#include "common/log.h"
#include "httpd/httpd.h"

struct flags {
	struct agent_opts o;
	int port;
	int metrics_port;
	const char *metrics_address;
	int max_body_mib, max_inspect_kib, budget_mib, log_max;
	double log_rate;
	enum log_level level;
	bool help;
};

static int parse_level(const char *s, void *target)
{
	return log_parse_level(s, target);
}

static int parse_rate(const char *s, void *target)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v >= 0 && v <= 1))
		return SAQR_EINVAL;
	*(double *)target = v;
	return 0;
}

static int parse_flags(int argc, char **argv, struct flags *f)
{
	const struct flags_opt opts[] = {
	    {"upstream", NULL, FLAGS_STRING, &f->o.upstream, .arg = "HOST:PORT",
	     .help = "the model server, on loopback only (default 127.0.0.1:8080)"},
	    {"cert-file", NULL, FLAGS_STRING, &f->o.cert_file, .arg = "PATH",
	     .help =
		 "serving certificate (PEM, leaf first); reloaded when it changes;\nwithout it: plain HTTP"},
	    {"key-file", NULL, FLAGS_STRING, &f->o.key_file, .arg = "PATH", .help = "its private key (PEM)"},
	    {"config-file", NULL, FLAGS_STRING, &f->o.config_file, .arg = "PATH",
	     .help = "features to record (JSON or YAML, docs/agent.md); reloaded when it\nchanges"},
	    {"address", NULL, FLAGS_STRING, &f->o.address, .arg = "ADDR",
	     .help = "address to listen on (default 0.0.0.0)"},
	    {"port", NULL, FLAGS_INT, &f->port, 0, 65535, .arg = "N", .help = "proxy port (default 8443)"},
	    {"metrics-address", NULL, FLAGS_STRING, &f->metrics_address, .arg = "ADDR",
	     .help = "address of the metrics port (default 0.0.0.0)"},
	    {"metrics-port", NULL, FLAGS_INT, &f->metrics_port, 0, 65535, .arg = "N",
	     .help = "plain-HTTP /metrics, /healthz, /readyz (default 9090)"},
	    {"max-body-mib", NULL, FLAGS_INT, &f->max_body_mib, 1, 4096, .arg = "N",
	     .help = "larger request bodies get 413 (default 64)"},
	    {"max-inspect-kib", NULL, FLAGS_INT, &f->max_inspect_kib, 1, 65536, .arg = "N",
	     .help = "larger payloads are forwarded but not inspected (default 1024)"},
	    {"inspect-budget-mib", NULL, FLAGS_INT, &f->budget_mib, 1, 4096, .arg = "N",
	     .help = "payload bytes held for inspection at once (default 64)"},
	    {"max-connections", NULL, FLAGS_INT, &f->o.max_connections, 1, 65536, .arg = "N",
	     .help = "client connections at once (default 256)"},
	    {"timeout-ms", NULL, FLAGS_INT, &f->o.timeout_ms, 1, 3600000, .arg = "MS",
	     .help = "idle client, and upstream answer (default 60000)"},
	    {"payload-log-sample-rate", NULL, FLAGS_FUNC, &f->log_rate, .parse = parse_rate, .arg = "R",
	     .help = "log this share (0-1) of inference request bodies (default 0:\nnever)"},
	    {"payload-log-max-bytes", NULL, FLAGS_INT, &f->log_max, 1, 1 << 20, .arg = "N",
	     .help = "bytes of a logged body (default 1024)"},
	    {"log-level", NULL, FLAGS_FUNC, &f->level, .parse = parse_level, .arg = "LEVEL",
	     .help = "debug, info, warn or error (default info)"},
	    {"help", NULL, FLAGS_HELP, &f->help, .help = "this text"},
	    {NULL},
	};
	const struct flags_set set = {
	    .opts = opts,
	    .head = "Usage: saqr-agent --upstream 127.0.0.1:8080 [flags]\n\n"
		    "TLS in front of a model server on loopback; request metrics and the feature\n"
		    "distributions of KServe V1 / Open Inference Protocol V2 payloads on /metrics.\n\n",
	    .column = 28,
	    .short_help = true,
	};
	char err[512];

	if (flags_parse(&set, argc, argv, err, sizeof(err)) != 0) {
		fprintf(stderr, "saqr-agent: %s\n", err);
		return SAQR_EINVAL;
	}
	if (f->help)
		flags_usage(&set, stdout);
	return 0;
}

static void handle_ops(void *ud, const struct httpd_request *req, struct httpd_response *resp)
{
	if (strcmp(req->path, "/metrics") == 0) {
		resp->content_type = "text/plain; version=0.0.4";
		if (agent_metrics(ud, &resp->body) != 0)
			resp->status = 500;
	} else if (strcmp(req->path, "/healthz") == 0 || strcmp(req->path, "/readyz") == 0) {
		buf_adds(&resp->body, "{\"status\":\"ok\"}");
	} else {
		resp->status = 404;
	}
}

static void apply_defaults(struct flags *f)
{
	f->o.port = f->port;
	f->o.upstream = f->o.upstream ? f->o.upstream : "127.0.0.1:8080";
	f->o.max_body = (size_t)f->max_body_mib << 20;
	f->o.max_inspect = (size_t)f->max_inspect_kib << 10;
	f->o.inspect_budget = (size_t)f->budget_mib << 20;
	f->o.payload_log_rate = f->log_rate;
	f->o.payload_log_max = (size_t)f->log_max;
}

static int wait_for_stop(void)
{
	sigset_t set;
	int sig = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	while (sigwait(&set, &sig) != 0)
		;
	return sig;
}

int main(int argc, char **argv)
{
	struct flags f = {.port = 8443, .metrics_port = 9090, .level = LOG_LVL_INFO};
	struct httpd_opts ops = {.max_body = 4096, .threads = 1, .handler = handle_ops};
	struct httpd *h = NULL;
	struct agent *a = NULL;
	char err[512] = "", port[16], mport[16];
	sigset_t set;
	int rc;

	if (parse_flags(argc, argv, &f) != 0)
		return 2;
	if (f.help)
		return 0;
	log_set_level(f.level);
	apply_defaults(&f);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	rc = agent_start(&f.o, &a, err, sizeof(err));
	if (rc) {
		log_error("cannot start", "error", err[0] ? err : saqr_strerror(rc));
		return 1;
	}
	ops.address = f.metrics_address;
	ops.port = f.metrics_port;
	ops.ud = a;
	rc = httpd_start(&ops, &h);
	if (rc) {
		log_error("cannot serve metrics", "error", saqr_strerror(rc));
		agent_stop(a);
		return 1;
	}
	snprintf(port, sizeof(port), "%d", agent_port(a));
	snprintf(mport, sizeof(mport), "%d", httpd_port(h));
	log_info("serving", "port", port, "metricsPort", mport, "upstream", f.o.upstream, "tls",
		 f.o.cert_file ? "true" : "false");
	rc = wait_for_stop();
	log_info("shutting down", "signal", rc == SIGTERM ? "SIGTERM" : "SIGINT");
	httpd_stop(h);
	agent_stop(a);
	return 0;
}
