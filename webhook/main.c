/* saqr-webhook: the validating admission webhook. Serves AdmissionReviews over HTTPS, judges
 * them with the policy file (hot-reloaded, as is the serving certificate), and shuts down
 * gracefully on SIGTERM or SIGINT. With --policy-resource it also reports the policy it loaded in
 * the AdmissionPolicy's status (its only API server calls). */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "common/flags.h"
#include "common/log.h"
#include "common/metrics.h"
#include "httpd/httpd.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "webhook/apstatus.h"
#include "webhook/reload.h"
#include "webhook/webhook.h"

#define DEFAULT_PORT 8443
#define DEFAULT_THREADS 2

struct flags {
	const char *cert_file;
	const char *key_file;
	const char *client_ca_file;
	const char *policy_file;
	const char *policy_resource; /* report loads in this AdmissionPolicy's status; NULL: off */
	const char *address;
	int port;
	int metrics_port; /* -1: none */
	int threads;
	int shutdown_delay;  /* seconds of serving while not ready, after a stop signal */
	size_t max_inflight; /* request body bytes across all connections */
	enum log_level level;
	bool help; /* --help was given (and the usage printed) */
};

/* What the daemon runs; torn down in reverse order. */
struct daemon {
	struct metrics *metrics;
	struct kube_config *kube_cfg; /* with --policy-resource */
	struct kube_client *client;
	struct apstatus *apstatus;
	struct reload *reload;
	struct webhook *webhook;
	struct httpd *server;
	struct httpd *ops;
};

#define WH_STR_(x) #x
#define WH_STR(x) WH_STR_(x)

static void usage(const struct flags_opt *opts, FILE *out)
{
	const struct flags_set set = {
	    .opts = opts,
	    .head =
		"Usage: saqr-webhook [flags]\n"
		"\n"
		"Saqr's validating admission webhook: POST /validate (AdmissionReview admission.k8s.io/v1),\n"
		"GET /healthz, /readyz and /metrics. The policy file and the serving certificate are\n"
		"reloaded when they change on disk; SIGTERM or SIGINT stops it gracefully.\n"
		"\n",
	    .column = 25,
	};

	flags_usage(&set, out);
}

static int parse_level(const char *s, void *target)
{
	return log_parse_level(s, target);
}

/* A byte count: digits with an optional Ki, Mi or Gi suffix. */
static int parse_bytes(const char *s, void *target)
{
	static const struct {
		const char *suffix;
		unsigned shift;
	} units[] = {{"", 0}, {"Ki", 10}, {"Mi", 20}, {"Gi", 30}};
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return SAQR_EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix) == 0 && n <= (SIZE_MAX >> units[i].shift)) {
			*(size_t *)target = (size_t)n << units[i].shift;
			return 0;
		}
	}
	return SAQR_EINVAL;
}

/* The flags that only make sense together. 0 or SAQR_EINVAL (reported on stderr). */
static int check_flags(const struct flags *f)
{
	const char *pod = getenv("POD_NAME");

	if (!f->cert_file != !f->key_file) {
		fprintf(stderr, "saqr-webhook: --cert-file and --key-file go together\n");
		return SAQR_EINVAL;
	}
	if (f->client_ca_file && !f->cert_file) {
		fprintf(stderr, "saqr-webhook: --client-ca-file needs --cert-file\n");
		return SAQR_EINVAL;
	}
	if (f->policy_resource && (!f->policy_file || !pod || !*pod)) {
		fprintf(stderr, "saqr-webhook: --policy-resource needs --policy-file and $POD_NAME\n");
		return SAQR_EINVAL;
	}
	if (f->max_inflight / 4 * 3 < WEBHOOK_MAX_BODY) {
		fprintf(stderr,
			"saqr-webhook: --max-inflight-bytes must be at least 4Mi (4/3 of the %zu-byte body "
			"limit)\n",
			WEBHOOK_MAX_BODY);
		return SAQR_EINVAL;
	}
	return 0;
}

/* 0 or SAQR_EINVAL (reported on stderr). --help prints the usage and sets f->help. */
static int parse_flags(int argc, char **argv, struct flags *f)
{
	const struct flags_opt opts[] = {
	    {"cert-file", NULL, FLAGS_STRING, &f->cert_file, .arg = "PATH",
	     .help = "serving certificate (PEM, leaf first); without it: plain HTTP"},
	    {"key-file", NULL, FLAGS_STRING, &f->key_file, .arg = "PATH", .help = "its private key (PEM)"},
	    {"client-ca-file", NULL, FLAGS_STRING, &f->client_ca_file, .arg = "PATH",
	     .help = "require client certificates signed by this CA (PEM)"},
	    {"policy-file", NULL, FLAGS_STRING, &f->policy_file, .arg = "PATH",
	     .help = "admission policy (YAML); default: the built-in policy"},
	    {"policy-resource", NULL, FLAGS_STRING, &f->policy_resource, .arg = "NAME",
	     .help = "after each load of the policy file, report it as\nsaqr-webhook/$POD_NAME in the "
		     "status of the\nAdmissionPolicy NAME (default: off)"},
	    {"address", NULL, FLAGS_STRING, &f->address, .arg = "ADDR",
	     .help = "address to listen on (default: all)"},
	    {"port", NULL, FLAGS_INT, &f->port, 0, 65535, .arg = "N",
	     .help = "HTTPS port (default " WH_STR(DEFAULT_PORT) ")"},
	    {"metrics-port", NULL, FLAGS_INT, &f->metrics_port, 0, 65535, .arg = "N",
	     .help = "also serve /metrics, /healthz and /readyz over plain HTTP on N"},
	    {"threads", NULL, FLAGS_INT, &f->threads, 1, 64, .arg = "N",
	     .help = "service threads (default " WH_STR(DEFAULT_THREADS) ")"},
	    {"max-inflight-bytes", NULL, FLAGS_FUNC, &f->max_inflight, .parse = parse_bytes, .arg = "N",
	     .help = "request body bytes held at once across all connections\n(Ki, Mi, Gi suffixes; default "
		     "32Mi; at least 4Mi);\n"
		     "past it a review gets 429. The last quarter is kept\nfor reviews up to 64 KiB"},
	    {"shutdown-delay", NULL, FLAGS_INT, &f->shutdown_delay, 0, 300, .arg = "S",
	     .help = "on SIGTERM, answer /readyz with 503 but keep serving for S\nseconds before stopping, "
		     "so that "
		     "endpoints drop the pod first\n(default 0)"},
	    {"log-level", NULL, FLAGS_FUNC, &f->level, .parse = parse_level, .arg = "LEVEL",
	     .help = "debug, info, warn or error (default info)"},
	    {"help", NULL, FLAGS_HELP, &f->help, .help = "this text"},
	    {NULL},
	};
	const struct flags_set set = {.opts = opts, .short_help = true};
	char err[512];

	if (flags_parse(&set, argc, argv, err, sizeof(err)) != 0) {
		fprintf(stderr, "saqr-webhook: %s\n", err);
		return SAQR_EINVAL;
	}
	if (f->help) {
		usage(opts, stdout);
		return 0;
	}
	return check_flags(f);
}

static int reload_tls(void *ud)
{
	struct daemon *d = ud;

	return d->server ? httpd_reload_tls(d->server) : 0;
}

/* --policy-resource: the API client (in-cluster, or $KUBECONFIG) and the status reporter. */
static int start_reporter(struct daemon *d, const struct flags *f)
{
	struct apstatus_config ac = {
	    .resource = f->policy_resource, .pod = getenv("POD_NAME"), .policy_file = f->policy_file};
	char err[512] = "";
	int rc;

	if (!f->policy_resource)
		return 0;
	rc = kube_config_load_default(NULL, &d->kube_cfg, err, sizeof(err));
	if (rc == 0)
		rc = kube_client_new(d->kube_cfg, &d->client);
	ac.client = d->client;
	if (rc == 0)
		rc = apstatus_new(&ac, &d->apstatus);
	if (rc)
		log_error("cannot report to the AdmissionPolicy", "name", f->policy_resource, "error",
			  err[0] ? err : saqr_strerror(rc));
	return rc;
}

static int start_reloader(struct daemon *d, const struct flags *f)
{
	struct reload_opts ro = {
	    .policy_file = f->policy_file,
	    .cert_file = f->cert_file,
	    .key_file = f->key_file,
	    .reload_tls = reload_tls,
	    .tls_ud = d,
	    .metrics = d->metrics,
	    .on_policy = d->apstatus ? apstatus_note : NULL,
	    .policy_ud = d->apstatus,
	};
	char err[512] = "";
	int rc = reload_new(&ro, &d->reload, err, sizeof(err));

	if (rc)
		log_error("cannot load the policy", "file", f->policy_file ? f->policy_file : "(built-in)",
			  "error", err[0] ? err : saqr_strerror(rc));
	return rc;
}

static int start_servers(struct daemon *d, const struct flags *f)
{
	struct httpd_opts main_opts = {
	    .address = f->address,
	    .port = f->port,
	    .cert_file = f->cert_file,
	    .key_file = f->key_file,
	    .client_ca_file = f->client_ca_file,
	    .max_body = WEBHOOK_MAX_BODY,
	    .max_inflight_bytes = f->max_inflight,
	    .threads = f->threads,
	    .handler = webhook_handle,
	    .ud = d->webhook,
	};
	struct httpd_opts ops_opts = {
	    .address = f->address,
	    .port = f->metrics_port,
	    .max_body = 4096,
	    .threads = 1,
	    .handler = webhook_handle_ops,
	    .ud = d->webhook,
	};
	char port[16];
	int rc;

	rc = httpd_start(&main_opts, &d->server);
	if (!rc && f->metrics_port >= 0)
		rc = httpd_start(&ops_opts, &d->ops);
	if (rc) {
		log_error("cannot start serving", "error", saqr_strerror(rc));
		return rc;
	}
	snprintf(port, sizeof(port), "%d", httpd_port(d->server));
	log_info("serving", "port", port, "tls", f->cert_file ? "true" : "false", "clientAuth",
		 f->client_ca_file ? "true" : "false");
	if (!f->cert_file)
		log_warn("serving plain HTTP: the kube-apiserver calls webhooks over HTTPS only", "hint",
			 "give --cert-file and --key-file");
	if (d->ops) {
		snprintf(port, sizeof(port), "%d", httpd_port(d->ops));
		log_info("serving metrics and probes over HTTP", "port", port);
	}
	return 0;
}

/* Not ready from now on; keep answering for delay seconds while endpoints and load balancers
 * take the pod out, then stop accepting and finish what is in flight. */
static void stop_daemon(struct daemon *d, int delay)
{
	struct timespec rest = {.tv_sec = delay};

	if (d->webhook)
		webhook_set_serving(d->webhook, false);
	if (d->server && delay > 0)
		while (nanosleep(&rest, &rest) != 0 && errno == EINTR)
			;
	httpd_stop(d->server); /* finishes the requests in flight */
	httpd_stop(d->ops);
	reload_free(d->reload);
	apstatus_free(d->apstatus); /* after the reloader, which tells it */
	kube_client_free(d->client);
	kube_config_free(d->kube_cfg);
	webhook_free(d->webhook);
	metrics_free(d->metrics);
}

static int start_daemon(struct daemon *d, const struct flags *f)
{
	struct webhook_opts wo = {.max_body = WEBHOOK_MAX_BODY};
	int rc;

	d->metrics = metrics_new();
	if (!d->metrics)
		return SAQR_ENOMEM;
	rc = start_reporter(d, f);
	if (!rc)
		rc = start_reloader(d, f);
	if (rc)
		return rc;
	wo.reload = d->reload;
	wo.metrics = d->metrics;
	rc = webhook_new(&wo, &d->webhook);
	if (!rc)
		rc = start_servers(d, f);
	if (!rc)
		rc = reload_start(d->reload);
	if (!rc)
		webhook_set_serving(d->webhook, true);
	return rc;
}

/* Block the stop signals in every thread (so that the service threads never take them) and
 * wait for one here. */
static int wait_for_stop(const sigset_t *set)
{
	int sig = 0;

	while (sigwait(set, &sig) != 0)
		;
	return sig;
}

int main(int argc, char **argv)
{
	struct flags f = {.port = DEFAULT_PORT,
			  .metrics_port = -1,
			  .threads = DEFAULT_THREADS,
			  .level = LOG_LVL_INFO,
			  .max_inflight = HTTPD_DEFAULT_MAX_INFLIGHT};
	struct daemon d = {0};
	sigset_t set;
	int rc;

	if (parse_flags(argc, argv, &f) != 0) {
		fprintf(stderr, "Run saqr-webhook --help for the flags.\n");
		return 2;
	}
	if (f.help)
		return 0;
	log_set_level(f.level);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;

	rc = start_daemon(&d, &f);
	if (!rc) {
		rc = wait_for_stop(&set);
		log_info("shutting down", "signal", rc == SIGTERM ? "SIGTERM" : "SIGINT");
		rc = 0;
	}
	stop_daemon(&d, rc ? 0 : f.shutdown_delay);
	if (!rc)
		log_info("stopped", "status", "clean");
	curl_global_cleanup();
	return rc ? 1 : 0;
}
