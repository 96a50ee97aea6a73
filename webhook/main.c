/* saqr-webhook: the validating admission webhook. Serves AdmissionReviews over HTTPS, judges
 * them with the policy file (hot-reloaded, as is the serving certificate), and shuts down
 * gracefully on SIGTERM or SIGINT. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "common/log.h"
#include "common/metrics.h"
#include "httpd/httpd.h"
#include "webhook/reload.h"
#include "webhook/webhook.h"

#define DEFAULT_PORT 8443
#define DEFAULT_THREADS 2

struct flags {
	const char *cert_file;
	const char *key_file;
	const char *client_ca_file;
	const char *policy_file;
	const char *address;
	int port;
	int metrics_port; /* -1: none */
	int threads;
	int shutdown_delay; /* seconds of serving while not ready, after a stop signal */
	enum log_level level;
};

/* What the daemon runs; torn down in reverse order. */
struct daemon {
	struct metrics *metrics;
	struct reload *reload;
	struct webhook *webhook;
	struct httpd *server;
	struct httpd *ops;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: saqr-webhook [flags]\n"
		"\n"
		"Saqr's validating admission webhook: POST /validate (AdmissionReview admission.k8s.io/v1),\n"
		"GET /healthz, /readyz and /metrics. The policy file and the serving certificate are\n"
		"reloaded when they change on disk; SIGTERM or SIGINT stops it gracefully.\n"
		"\n"
		"  --cert-file PATH       serving certificate (PEM, leaf first); without it: plain HTTP\n"
		"  --key-file PATH        its private key (PEM)\n"
		"  --client-ca-file PATH  require client certificates signed by this CA (PEM)\n"
		"  --policy-file PATH     admission policy (YAML); default: the built-in policy\n"
		"  --address ADDR         address to listen on (default: all)\n"
		"  --port N               HTTPS port (default %d)\n"
		"  --metrics-port N       also serve /metrics, /healthz and /readyz over plain HTTP on N\n"
		"  --threads N            service threads (default %d)\n"
		"  --shutdown-delay S     on SIGTERM, answer /readyz with 503 but keep serving for S\n"
		"                         seconds before stopping, so that endpoints drop the pod first\n"
		"                         (default 0)\n"
		"  --log-level LEVEL      debug, info, warn or error (default info)\n"
		"  --help                 this text\n",
		DEFAULT_PORT, DEFAULT_THREADS);
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return SAQR_EINVAL;
	*out = (int)v;
	return 0;
}

/* 0, 1 (--help) or SAQR_EINVAL (reported on stderr). */
static int parse_flags(int argc, char **argv, struct flags *f)
{
	enum {
		O_CERT = 256,
		O_KEY,
		O_CA,
		O_POLICY,
		O_ADDR,
		O_PORT,
		O_MPORT,
		O_THREADS,
		O_LEVEL,
		O_DELAY,
		O_HELP
	};
	static const struct option opts[] = {
	    {"cert-file", required_argument, NULL, O_CERT},
	    {"key-file", required_argument, NULL, O_KEY},
	    {"client-ca-file", required_argument, NULL, O_CA},
	    {"policy-file", required_argument, NULL, O_POLICY},
	    {"address", required_argument, NULL, O_ADDR},
	    {"port", required_argument, NULL, O_PORT},
	    {"metrics-port", required_argument, NULL, O_MPORT},
	    {"threads", required_argument, NULL, O_THREADS},
	    {"log-level", required_argument, NULL, O_LEVEL},
	    {"shutdown-delay", required_argument, NULL, O_DELAY},
	    {"help", no_argument, NULL, O_HELP},
	    {NULL, 0, NULL, 0},
	};
	int c, rc = 0;

	while (!rc && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_CERT:
			f->cert_file = optarg;
			break;
		case O_KEY:
			f->key_file = optarg;
			break;
		case O_CA:
			f->client_ca_file = optarg;
			break;
		case O_POLICY:
			f->policy_file = optarg;
			break;
		case O_ADDR:
			f->address = optarg;
			break;
		case O_PORT:
			rc = parse_int(optarg, 0, 65535, &f->port);
			break;
		case O_MPORT:
			rc = parse_int(optarg, 0, 65535, &f->metrics_port);
			break;
		case O_THREADS:
			rc = parse_int(optarg, 1, 64, &f->threads);
			break;
		case O_LEVEL:
			rc = log_parse_level(optarg, &f->level);
			break;
		case O_DELAY:
			rc = parse_int(optarg, 0, 300, &f->shutdown_delay);
			break;
		case 'h':
		case O_HELP:
			return 1;
		default:
			return SAQR_EINVAL;
		}
		if (rc)
			fprintf(stderr, "saqr-webhook: bad value for --%s: %s\n", opts[c - O_CERT].name,
				optarg);
	}
	if (!rc && optind < argc) {
		fprintf(stderr, "saqr-webhook: unexpected argument: %s\n", argv[optind]);
		rc = SAQR_EINVAL;
	}
	if (!rc && !f->cert_file != !f->key_file) {
		fprintf(stderr, "saqr-webhook: --cert-file and --key-file go together\n");
		rc = SAQR_EINVAL;
	}
	if (!rc && f->client_ca_file && !f->cert_file) {
		fprintf(stderr, "saqr-webhook: --client-ca-file needs --cert-file\n");
		rc = SAQR_EINVAL;
	}
	return rc;
}

static int reload_tls(void *ud)
{
	struct daemon *d = ud;

	return d->server ? httpd_reload_tls(d->server) : 0;
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
	struct flags f = {
	    .port = DEFAULT_PORT, .metrics_port = -1, .threads = DEFAULT_THREADS, .level = LOG_LVL_INFO};
	struct daemon d = {0};
	sigset_t set;
	int rc;

	rc = parse_flags(argc, argv, &f);
	if (rc == 1) {
		usage(stdout);
		return 0;
	}
	if (rc) {
		fprintf(stderr, "Run saqr-webhook --help for the flags.\n");
		return 2;
	}
	log_set_level(f.level);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	rc = start_daemon(&d, &f);
	if (!rc) {
		rc = wait_for_stop(&set);
		log_info("shutting down", "signal", rc == SIGTERM ? "SIGTERM" : "SIGINT");
		rc = 0;
	}
	stop_daemon(&d, rc ? 0 : f.shutdown_delay);
	if (!rc)
		log_info("stopped", "status", "clean");
	return rc ? 1 : 0;
}
