/* saqr-operator: the controller manager process. It parses flags, connects to the API server,
 * registers the ModelDeployment and TrainingJob (and DriftPolicy) controllers, serves /metrics,
 * /healthz and /readyz, and runs until SIGTERM/SIGINT (exit 0, the Lease released so a standby
 * takes over at once) or until it loses the Lease (exit 1, so that Kubernetes restarts it as a
 * standby). Logs are JSON lines on stderr. */
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "common/err.h"
#include "common/flags.h"
#include "common/log.h"
#include "operator/runtime/kubeops.h"
#include "operator/runtime/manager.h"
#include "httpd/httpd.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "operator/admissionpolicy/admissionpolicy.h"
#include "operator/audit/audit.h"
#include "operator/modeldeployment/modeldeployment.h"
#include "operator/operator.h"

#define OP_DEFAULT_WORKERS 4
#define OP_MAX_WORKERS 64
#define OP_DEFAULT_METRICS_PORT 8080
#define OP_ID_MAX 256
#define OP_LIST_PAGE_SIZE 50		  /* a page of full Deployments parses into ~3 MiB of trees */
#define OP_MALLOC_ARENAS 2		  /* glibc: fewer arenas, less memory kept by each thread */
#define OP_POLICY_CONFIGMAP "saqr-policy" /* --policy-configmap's name when only the resource is given */

struct op_flags {
	const char *kubeconfig;
	const char *namespace; /* NULL: all namespaces */
	int workers;
	bool leader_elect;
	const char *lease_namespace; /* NULL: POD_NAMESPACE, the kubeconfig's, "default" */
	const char *lease_name;
	char metrics_host[256];	 /* "" : every address */
	int metrics_port;	 /* -1: no metrics server */
	int port_override;	 /* --metrics-port, -1 when not given */
	const char *agent_image; /* ModelDeployment pods: NULL for the built-in defaults */
	const char *fetch_image;
	const char *trusted_keys_secret;
	const char *trusted_key_names;
	enum log_level level;
	bool audit;		 /* run the audit controller (default true) */
	const char *policy_file; /* NULL: the built-in default policy */
	enum audit_format report_format;
	const char *compliance_sink;	   /* NULL: no break-glass incidents */
	const char *audit_skip_namespaces; /* comma-separated; NULL: none */
	const char *audit_skip_label;	   /* a namespace label whose value "disabled" skips it */
	const char *policy_resource;	   /* --policy-resource: the AdmissionPolicy to follow; NULL: off */
	const char *policy_configmap;	   /* --policy-configmap NAMESPACE/NAME; NULL: <own ns>/saqr-policy */
	struct http_netpolicy outbound;	   /* --allow-outbound-*, --allow-insecure-credentials */
	bool allow_apiserver;		   /* --allow-outbound-apiserver */
	bool help;			   /* --help was given (and the usage printed) */
};

struct op_app {
	struct op_flags flags;
	struct kube_config *cfg;
	struct kube_client *client;
	struct kubeops ops;
	struct manager *mgr;
	struct operator_ctx ctx;
	struct http_netrules apiserver; /* refused to DriftPolicy requests */
	struct httpd *httpd;
	char identity[OP_ID_MAX];
	char own_namespace[256];
	char policy_cm_ns[256]; /* --policy-configmap, split */
	char policy_cm_name[256];
	pthread_t signal_thread;
	atomic_bool stopping;
};

/* ---- flags ---- */

/* "[host]:port", or "0" for no server. */
static int op_parse_addr(const char *s, void *target)
{
	struct op_flags *f = target;
	const char *colon = strrchr(s, ':');
	char *end;
	size_t hlen;
	long port;

	if (strcmp(s, "0") == 0) {
		f->metrics_port = -1;
		return 0;
	}
	if (!colon)
		return SAQR_EINVAL;
	hlen = (size_t)(colon - s);
	if (hlen >= sizeof(f->metrics_host))
		return SAQR_EINVAL;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port < 0 || port > 65535)
		return SAQR_EINVAL;
	memcpy(f->metrics_host, s, hlen);
	f->metrics_host[hlen] = '\0';
	f->metrics_port = (int)port;
	return 0;
}

static int op_parse_level(const char *s, void *target)
{
	return log_parse_level(s, target);
}

static int op_parse_report_format(const char *s, void *target)
{
	return audit_format_parse(s, target);
}

static void op_usage(const struct flags_opt *opts, FILE *out)
{
	const struct flags_set set = {
	    .opts = opts,
	    .head = "Usage: saqr-operator [flags]\n"
		    "Runs the Saqr controllers (ModelDeployment, TrainingJob, DriftPolicy, audit).\n"
		    "\n",
	    .tail = "\nThe identity in the Lease is $POD_NAME, else <hostname>_<random>.\n",
	    .column = 36,
	};

	flags_usage(&set, out);
}

static void op_flags_defaults(struct op_flags *f)
{
	memset(f, 0, sizeof(*f));
	f->workers = OP_DEFAULT_WORKERS;
	f->metrics_port = OP_DEFAULT_METRICS_PORT;
	f->port_override = -1;
	f->level = LOG_LVL_INFO;
	f->audit = true;
}

/* What depends on more than one flag: "--namespace ''" is every namespace, and --metrics-port
 * overrides the port of --metrics-addr unless that turned the server off. */
static void op_flags_settle(struct op_flags *f)
{
	if (f->namespace && !*f->namespace)
		f->namespace = NULL;
	if (f->port_override >= 0 && f->metrics_port >= 0)
		f->metrics_port = f->port_override;
}

/* 0, or SAQR_EINVAL (a message and the usage are printed). --help prints the usage and sets
 * f->help. */
static int op_parse_flags(int argc, char **argv, struct op_flags *f)
{
	const struct flags_opt opts[] = {
	    {"kubeconfig", NULL, FLAGS_STRING, &f->kubeconfig, .arg = "PATH",
	     .help = "kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube/config)"},
	    {"namespace", "watch-namespace", FLAGS_STRING, &f->namespace, .arg = "NS",
	     .help = "watch only NS (default: every namespace)"},
	    {"workers", NULL, FLAGS_INT, &f->workers, 1, OP_MAX_WORKERS, .arg = "N",
	     .help = "reconcile workers per controller (default 4)"},
	    {"leader-elect", NULL, FLAGS_BOOL, &f->leader_elect, .arg = "[=true|false]",
	     .help = "run only while holding the Lease (default false)"},
	    {"leader-election-namespace", NULL, FLAGS_STRING, &f->lease_namespace, .arg = "NS",
	     .help =
		 "namespace of the Lease (default: $POD_NAMESPACE, the\nkubeconfig's namespace, default)"},
	    {"leader-election-id", NULL, FLAGS_STRING, &f->lease_name, .arg = "NAME",
	     .help = "name of the Lease (default saqr-operator)"},
	    {"metrics-addr", NULL, FLAGS_FUNC, f, .parse = op_parse_addr, .arg = "[HOST]:PORT",
	     .help = "serve /metrics /healthz /readyz here (default :8080;\n\"0\" turns the server off)"},
	    {"metrics-bind-address", NULL, FLAGS_FUNC, f, .parse = op_parse_addr},
	    {"metrics-port", NULL, FLAGS_INT, &f->port_override, 0, 65535, .arg = "PORT",
	     .help = "the port alone (overrides the one in --metrics-addr)"},
	    {"agent-image", NULL, FLAGS_STRING, &f->agent_image, .arg = "IMAGE",
	     .help = "saqr-agent sidecar of ModelDeployment pods without spec.agent.image\n"
		     "(default " MD_AGENT_DEFAULT_IMAGE ")"},
	    {"fetch-image", NULL, FLAGS_STRING, &f->fetch_image, .arg = "IMAGE",
	     .help = "saqr-fetch init container of ModelDeployment pods without\nspec.fetch.image "
		     "(default " MD_FETCH_DEFAULT_IMAGE ")"},
	    {"trusted-keys-secret", NULL, FLAGS_STRING, &f->trusted_keys_secret, .arg = "NAME",
	     .help = "Secret, in each ModelDeployment's namespace, with the public keys\n"
		     "saqr-fetch trusts for spec.model.signature (default: none)"},
	    {"trusted-key-names", NULL, FLAGS_STRING, &f->trusted_key_names, .arg = "KEY[,KEY...]",
	     .help = "the keys of that Secret, PEM files (default " MD_TRUSTED_KEYS_DEFAULT ")"},
	    {"log-level", NULL, FLAGS_FUNC, &f->level, .parse = op_parse_level,
	     .arg = "debug|info|warn|error", .help = "(default info)"},
	    {"audit", NULL, FLAGS_BOOL, &f->audit, .arg = "[=true|false]",
	     .help = "audit existing objects into policy reports (default true)"},
	    {"policy", NULL, FLAGS_STRING, &f->policy_file, .arg = "FILE",
	     .help = "admission policy the audit applies, reloaded when it\nchanges (default: the built-in "
		     "policy)"},
	    {"report-format", NULL, FLAGS_FUNC, &f->report_format, .parse = op_parse_report_format,
	     .arg = "openreports|wgpolicy", .help = "kind of the policy reports (default openreports)"},
	    {"policy-resource", NULL, FLAGS_STRING, &f->policy_resource, .arg = "NAME",
	     .help = "follow the AdmissionPolicy NAME: validate each change and\nwrite it into "
		     "--policy-configmap (default: off)"},
	    {"policy-configmap", NULL, FLAGS_STRING, &f->policy_configmap, .arg = "NAMESPACE/NAME",
	     .help = "ConfigMap (key policy.yaml) the webhook and the audit mount\n(default: "
		     "<own namespace>/" OP_POLICY_CONFIGMAP ")"},
	    {"compliance-sink", NULL, FLAGS_STRING, &f->compliance_sink, .arg = "URL",
	     .help = "webhook that receives break-glass expiry incidents"},
	    {"audit-skip-namespaces", NULL, FLAGS_STRING, &f->audit_skip_namespaces, .arg = "NS[,NS...]",
	     .help =
		 "namespaces the audit leaves out, as the webhook's\nnamespaceSelector does (default none)"},
	    {"audit-skip-label", NULL, FLAGS_STRING, &f->audit_skip_label, .arg = "KEY",
	     .help =
		 "leave out namespaces whose label KEY is \"disabled\",\nas the webhook does (default none)"},
	    {"allow-outbound-loopback", NULL, FLAGS_BOOL, &f->outbound.allow_loopback, .arg = "[=true|false]",
	     .help =
		 "let DriftPolicy sinks, Prometheus and scrapes reach\nloopback addresses (default false)"},
	    {"allow-outbound-link-local", NULL, FLAGS_BOOL, &f->outbound.allow_link_local,
	     .arg = "[=true|false]",
	     .help =
		 "... link-local and cloud metadata addresses\n(169.254.0.0/16, fe80::/10, fd00:ec2::254,\n"
		 "100.100.100.200) (default false)"},
	    {"allow-outbound-apiserver", NULL, FLAGS_BOOL, &f->allow_apiserver, .arg = "[=true|false]",
	     .help = "... the API server's own address (default false)"},
	    {"allow-insecure-credentials", NULL, FLAGS_BOOL, &f->outbound.allow_insecure_credentials,
	     .arg = "[=true|false]",
	     .help = "send sink and Prometheus credentials over plain\nhttp:// (default false)"},
	    {"help", NULL, FLAGS_HELP, &f->help, .help = "this text"},
	    {NULL},
	};
	const struct flags_set set = {.opts = opts};
	char err[512];

	op_flags_defaults(f);
	if (flags_parse(&set, argc, argv, err, sizeof(err)) != 0) {
		fprintf(stderr, "saqr-operator: %s\n", err);
		op_usage(opts, stderr);
		return SAQR_EINVAL;
	}
	if (f->help)
		op_usage(opts, stdout);
	op_flags_settle(f);
	if (f->policy_configmap && !f->policy_resource) {
		fprintf(stderr, "saqr-operator: --policy-configmap needs --policy-resource\n");
		return SAQR_EINVAL;
	}
	return 0;
}

/* ---- identity and namespaces ---- */

static void op_identity(struct op_app *a)
{
	const char *pod = getenv("POD_NAME");
	char host[HOST_NAME_MAX + 1] = "saqr-operator";
	unsigned char rnd[4] = {0};

	if (pod && *pod) {
		snprintf(a->identity, sizeof(a->identity), "%s", pod);
		return;
	}
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "saqr-operator");
	host[sizeof(host) - 1] = '\0';
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		memset(rnd, 0, sizeof(rnd));
	snprintf(a->identity, sizeof(a->identity), "%s_%02x%02x%02x%02x", host, rnd[0], rnd[1], rnd[2],
		 rnd[3]);
}

static void op_own_namespace(struct op_app *a)
{
	const char *ns = getenv("POD_NAMESPACE");

	if (a->flags.lease_namespace && *a->flags.lease_namespace)
		ns = a->flags.lease_namespace;
	else if (!ns || !*ns)
		ns = a->cfg->namespace && *a->cfg->namespace ? a->cfg->namespace : "default";
	snprintf(a->own_namespace, sizeof(a->own_namespace), "%s", ns);
}

/* ---- setup ---- */

static int op_connect(struct op_app *a)
{
	char err[512] = "";
	int rc = kube_config_load_default(a->flags.kubeconfig, &a->cfg, err, sizeof(err));

	if (rc) {
		log_error("cannot load the Kubernetes configuration", "error", saqr_strerror(rc), "detail",
			  err);
		return rc;
	}
	rc = kube_client_new(a->cfg, &a->client);
	if (rc) {
		log_error("cannot create the Kubernetes client", "error", saqr_strerror(rc));
		return rc;
	}
	kubeops_init_kube(&a->ops, a->client, NULL, NULL);
	return 0;
}

/* The outbound policy of DriftPolicy requests: the flags, and the API server's address unless
 * allowed. An API server name that does not resolve here is logged, not fatal. */
static void op_outbound(struct op_app *a)
{
	int rc = 0;

	if (!a->flags.allow_apiserver)
		rc = http_netrules_add_url(&a->apiserver, a->cfg->server, "the API server's address");
	if (rc)
		log_warn("cannot refuse the API server's address to DriftPolicy requests", "error",
			 saqr_strerror(rc), "server", a->cfg->server);
	a->flags.outbound.deny = a->apiserver.rule;
	a->ctx.outbound = &a->flags.outbound;
}

/* --policy-resource: the AdmissionPolicy controller, writing into --policy-configmap. */
static int op_register_policy_resource(struct op_app *a)
{
	struct ap_config ac = {.name = a->flags.policy_resource};

	if (!a->flags.policy_configmap) {
		snprintf(a->policy_cm_ns, sizeof(a->policy_cm_ns), "%s", a->own_namespace);
		snprintf(a->policy_cm_name, sizeof(a->policy_cm_name), "%s", OP_POLICY_CONFIGMAP);
	} else if (ap_configmap_ref_parse(a->flags.policy_configmap, a->policy_cm_ns, sizeof(a->policy_cm_ns),
					  a->policy_cm_name, sizeof(a->policy_cm_name))) {
		log_error("--policy-configmap: expected NAMESPACE/NAME", "value", a->flags.policy_configmap);
		return SAQR_EINVAL;
	}
	ac.configmap_namespace = a->policy_cm_ns;
	ac.configmap_name = a->policy_cm_name;
	return operator_register_admissionpolicy(&a->ctx, &ac);
}

static int op_register(struct op_app *a)
{
	int rc;

	a->ctx.mgr = a->mgr;
	a->ctx.client = a->client;
	a->ctx.ops = manager_kubeops(a->mgr);
	a->ctx.events = manager_events(a->mgr);
	a->ctx.own_namespace = a->own_namespace;
	a->ctx.workers = a->flags.workers;
	op_outbound(a);
	a->ctx.agent_image = a->flags.agent_image;
	a->ctx.fetch_image = a->flags.fetch_image;
	a->ctx.trusted_keys_secret = a->flags.trusted_keys_secret;
	a->ctx.trusted_key_names = a->flags.trusted_key_names;
	rc = operator_register_modeldeployment(&a->ctx);
	if (rc == 0)
		rc = operator_register_trainingjob(&a->ctx);
	if (rc == 0)
		rc = operator_register_driftpolicy(&a->ctx);
	if (rc == 0 && a->flags.audit)
		rc = operator_register_audit(
		    &a->ctx, &(struct audit_config){.policy_file = a->flags.policy_file,
						    .format = a->flags.report_format,
						    .compliance_sink = a->flags.compliance_sink,
						    .namespace = a->flags.namespace,
						    .skip_namespaces = a->flags.audit_skip_namespaces,
						    .skip_label = a->flags.audit_skip_label});
	if (rc == 0 && a->flags.policy_resource && *a->flags.policy_resource)
		rc = op_register_policy_resource(a);
	if (rc)
		log_error("cannot register the controllers", "error", saqr_strerror(rc));
	return rc;
}

static int op_new_manager(struct op_app *a)
{
	struct manager_config mc = {.identity = a->identity,
				    .leader_election = a->flags.leader_elect,
				    .lease_namespace = a->own_namespace,
				    .lease_name = a->flags.lease_name,
				    .namespace = a->flags.namespace,
				    .compact_cache = true,
				    .list_page_size = OP_LIST_PAGE_SIZE};
	int rc = manager_new(&a->ops, &mc, &a->mgr);

	if (rc) {
		log_error("cannot create the controller manager", "error", saqr_strerror(rc));
		return rc;
	}
	return op_register(a);
}

static int op_serve(struct op_app *a)
{
	struct httpd_opts ho = {.address = a->flags.metrics_host[0] ? a->flags.metrics_host : NULL,
				.port = a->flags.metrics_port,
				.max_body = 4096,
				.threads = 1,
				.handler = manager_http_handler,
				.ud = a->mgr};
	char port[16];
	int rc;

	if (a->flags.metrics_port < 0)
		return 0;
	rc = httpd_start(&ho, &a->httpd);
	if (rc) {
		log_error("cannot serve metrics", "error", saqr_strerror(rc), "address",
			  a->flags.metrics_host);
		return rc;
	}
	snprintf(port, sizeof(port), "%d", httpd_port(a->httpd));
	log_info("serving /metrics /healthz /readyz", "address",
		 a->flags.metrics_host[0] ? a->flags.metrics_host : "*", "port", port);
	return 0;
}

/* ---- signals ---- */

static void op_signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGUSR1); /* main: stop waiting */
}

/* SIGTERM or SIGINT stop the manager (which releases the Lease); SIGUSR1 ends the thread. */
static void *op_signal_main(void *arg)
{
	struct op_app *a = arg;
	sigset_t set;
	int sig = 0;

	op_signal_set(&set);
	while (sigwait(&set, &sig) != 0)
		;
	if (sig != SIGUSR1) {
		log_info("stopping", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		atomic_store(&a->stopping, true);
		manager_stop(a->mgr);
	}
	return NULL;
}

/* ---- run ---- */

/* Start, then wait for a signal or the loss of the Lease. The process's exit status. */
static int op_run(struct op_app *a)
{
	char workers[16];
	int rc;

	snprintf(workers, sizeof(workers), "%d", a->flags.workers);
	log_info("starting saqr-operator", "identity", a->identity, "namespace",
		 a->flags.namespace ? a->flags.namespace : "(all)", "workers", workers, "leaderElection",
		 a->flags.leader_elect ? "true" : "false", "leaseNamespace", a->own_namespace);
	if (pthread_create(&a->signal_thread, NULL, op_signal_main, a) != 0)
		return 1;
	rc = atomic_load(&a->stopping) ? 0 : manager_start(a->mgr);
	if (rc && !atomic_load(&a->stopping))
		log_error("cannot start: caches did not sync", "error", saqr_strerror(rc));
	else
		rc = manager_wait(a->mgr);
	pthread_kill(a->signal_thread, SIGUSR1);
	pthread_join(a->signal_thread, NULL);
	manager_stop(a->mgr);
	if (rc == SAQR_ECLOSED) {
		log_error("leadership lost: exiting so that a standby takes over", "identity", a->identity);
		return 1;
	}
	if (rc && !atomic_load(&a->stopping))
		return 1;
	log_info("stopped", "identity", a->identity);
	return 0;
}

static void op_cleanup(struct op_app *a)
{
	httpd_stop(a->httpd);
	manager_free(a->mgr);
	operator_release(&a->ctx);
	kube_client_free(a->client);
	kube_config_free(a->cfg);
}

int main(int argc, char **argv)
{
	static struct op_app app;
	sigset_t set;
	int status = 1;

	if (op_parse_flags(argc, argv, &app.flags) != 0)
		return 2;
	if (app.flags.help)
		return 0;
	log_set_level(app.flags.level);
#ifndef __SANITIZE_ADDRESS__ /* ASan's allocator replaces glibc's */
	mallopt(M_ARENA_MAX, OP_MALLOC_ARENAS);
#endif
	/* Every thread inherits this mask; only the signal thread takes the signals. */
	op_signal_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	op_identity(&app);
	if (op_connect(&app) == 0) {
		op_own_namespace(&app);
		if (op_new_manager(&app) == 0 && op_serve(&app) == 0)
			status = op_run(&app);
	}
	op_cleanup(&app);
	curl_global_cleanup();
	return status;
}
