/* The two Saqr programs in every ModelDeployment pod: the saqr-agent sidecar (TLS in front of the
 * model server, the metrics a DriftPolicy reads) and the saqr-fetch init container (fetch the
 * model into an emptyDir, verify digest and signature, fail closed). Applied to the objects
 * modeldeployment.c builds, so that the builder itself stays as it was. Pure, no I/O. */
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "operator/modeldeployment/internal.h"
#include "operator/podtmpl.h"

#define SERVER_PORT_NAME "server" /* the model server's port once the agent owns http(s) */
#define METRICS_PORT_NAME "metrics"
#define MODEL_VOLUME "model"
#define TRUSTED_KEYS_MAX 8 /* saqr-fetch's --trusted-key limit */
#define NUM_BUF 32

/* ---- pod template helpers ---- */

static json_t *container_named(const json_t *pod, const char *list, const char *name)
{
	size_t i;
	json_t *c;

	json_array_foreach(json_object_get(pod, list), i, c)
	{
		if (strcmp(json_path_str(c, "name", ""), name) == 0)
			return c;
	}
	return NULL;
}

static int add_mount(json_t *c, const char *name, const char *path, bool read_only)
{
	json_t *m = json_pack("{s:s, s:s}", "name", name, "mountPath", path);

	if (m && read_only && json_object_set_new(m, "readOnly", json_true())) {
		json_decref(m);
		return SAQR_ENOMEM;
	}
	return json_array_append_new(json_object_get(c, "volumeMounts"), m) ? SAQR_ENOMEM : 0;
}

/* Remove the entries of array c[key] whose "name" is name. */
static void del_named(json_t *c, const char *key, const char *name)
{
	json_t *arr = json_object_get(c, key);

	for (size_t i = json_array_size(arr); i-- > 0;)
		if (strcmp(json_path_str(json_array_get(arr, i), "name", ""), name) == 0)
			json_array_remove(arr, i);
}

static int add_volume(json_t *pod, json_t *volume)
{
	return volume && !json_array_append_new(json_object_get(pod, "volumes"), volume) ? 0 : SAQR_ENOMEM;
}

static int add_arg(json_t *args, const char *flag, const char *value)
{
	if (!value || !*value)
		return 0;
	if (json_array_append_new(args, json_string(flag)) || json_array_append_new(args, json_string(value)))
		return SAQR_ENOMEM;
	return 0;
}

static int add_arg_int(json_t *args, const char *flag, long long value)
{
	char num[NUM_BUF];

	snprintf(num, sizeof(num), "%lld", value);
	return add_arg(args, flag, num);
}

/* A hardened container of `name` with args and resources (both stolen). New reference or NULL. */
static json_t *saqr_container(const char *name, const char *image, json_t *args, json_t *resources)
{
	json_t *c = podtmpl_container(name, image, NULL, NULL);
	int bad_args = json_object_set_new(c, "args", args); /* steals args even when c is NULL */
	int bad_res = json_object_set_new(c, "resources", resources);

	if (!c || bad_args || bad_res) {
		json_decref(c);
		return NULL;
	}
	return c;
}

/* The user's resources for a Saqr container, else requests that fit its bounded memory use. */
static json_t *resources_or(const json_t *user, const char *cpu, const char *mem_req, const char *mem_lim)
{
	if (json_is_object(user))
		return json_deep_copy(user);
	return json_pack("{s:{s:s, s:s}, s:{s:s}}", "requests", "cpu", cpu, "memory", mem_req, "limits",
			 "memory", mem_lim);
}

/* ---- which ---- */

bool md_agent_enabled(const json_t *spec)
{
	return json_path_bool(spec, "agent.enabled", true, NULL) &&
	       strcmp(json_path_str(spec, "server.protocol", "http"), "grpc") != 0;
}

static bool has_scheme(const char *uri, const char *scheme)
{
	size_t n = strlen(scheme);

	return strncmp(uri, scheme, n) == 0 && strncmp(uri + n, "://", 3) == 0;
}

static bool fetchable(const char *uri)
{
	return has_scheme(uri, "https") || has_scheme(uri, "s3") || has_scheme(uri, "azureblob") ||
	       has_scheme(uri, "pvc");
}

bool md__fetch_wanted(const json_t *spec, const json_t *model)
{
	return json_path_bool(spec, "fetch.enabled", true, NULL) &&
	       fetchable(json_path_str(model, "uri", ""));
}

/* ---- checks ---- */

static bool check_ports(const json_t *spec, char *msg, size_t msglen)
{
	long long server = json_path_int(spec, "server.port", MD_DEFAULT_PORT);
	long long agent = json_path_int(spec, "agent.port", MD_AGENT_DEFAULT_PORT);
	long long metrics = json_path_int(spec, "agent.metricsPort", MD_AGENT_DEFAULT_METRICS_PORT);

	if (!md_agent_enabled(spec))
		return true;
	if (agent == server || metrics == server) {
		snprintf(msg, msglen,
			 "spec.agent.%s %lld is also spec.server.port; the agent and the model server share "
			 "the pod's network, so give them different ports",
			 agent == server ? "port" : "metricsPort", server);
		return false;
	}
	if (agent == metrics) {
		snprintf(msg, msglen,
			 "spec.agent.port and spec.agent.metricsPort are both %lld; use two ports", agent);
		return false;
	}
	return true;
}

static bool check_signature(const json_t *spec, const json_t *model, const char *where, char *msg,
			    size_t msglen)
{
	if (!*json_path_str(model, "signature", "") || md__fetch_wanted(spec, model))
		return true;
	snprintf(
	    msg, msglen,
	    "%s.signature is set but saqr-fetch does not run (%s), so the signature would never be "
	    "checked; enable spec.fetch, use an https, s3, azureblob or pvc URI, or remove the signature",
	    where,
	    json_path_bool(spec, "fetch.enabled", true, NULL) ? "it does not fetch this URI scheme"
							      : "spec.fetch.enabled is false");
	return false;
}

static bool check_env(const json_t *spec, char *msg, size_t msglen)
{
	static const char *const reserved[] = {"SAQR_MODEL_PATH", NULL};

	return podtmpl_env_check(json_path(spec, "server.env"), reserved, "spec.server.env", msg, msglen);
}

bool md__sidecars_check(const json_t *spec, char *msg, size_t msglen)
{
	return check_ports(spec, msg, msglen) &&
	       check_signature(spec, json_object_get(spec, "model"), "spec.model", msg, msglen) &&
	       check_signature(spec, json_path(spec, "canary.model"), "spec.canary.model", msg, msglen) &&
	       check_env(spec, msg, msglen);
}

/* ---- saqr-agent ---- */

static json_t *agent_args(const struct md__plan *p, long long port, long long metrics)
{
	char upstream[64];
	json_t *a = json_array();

	snprintf(upstream, sizeof(upstream), "127.0.0.1:%lld", p->port);
	if (!a || add_arg(a, "--upstream", upstream) || add_arg_int(a, "--port", port) ||
	    add_arg_int(a, "--metrics-port", metrics) ||
	    (p->tls && (add_arg(a, "--cert-file", MD_TLS_DIR "/tls.crt") ||
			add_arg(a, "--key-file", MD_TLS_DIR "/tls.key"))) ||
	    (*json_path_str(p->spec, "agent.config", "") &&
	     add_arg(a, "--config-file", MD_AGENT_CONFIG_DIR "/" MD_AGENT_CONFIG_KEY))) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *agent_container(const struct md__plan *p, const struct md_options *opts)
{
	long long port = json_path_int(p->spec, "agent.port", MD_AGENT_DEFAULT_PORT);
	long long metrics = json_path_int(p->spec, "agent.metricsPort", MD_AGENT_DEFAULT_METRICS_PORT);
	const char *image = json_path_str(p->spec, "agent.image", NULL);
	json_t *c;

	if (!image || !*image)
		image = opts && opts->agent_image ? opts->agent_image : MD_AGENT_DEFAULT_IMAGE;
	c = saqr_container(MD_AGENT_CONTAINER, image, agent_args(p, port, metrics),
			   resources_or(json_path(p->spec, "agent.resources"), "50m", "64Mi", "256Mi"));
	if (!c ||
	    json_object_set_new(c, "ports",
				json_pack("[{s:s, s:I, s:s}, {s:s, s:I, s:s}]", "name",
					  p->tls ? "https" : "http", "containerPort", (json_int_t)port,
					  "protocol", "TCP", "name", METRICS_PORT_NAME, "containerPort",
					  (json_int_t)metrics, "protocol", "TCP")) ||
	    json_object_set_new(
		c, "readinessProbe",
		json_pack("{s:{s:s, s:s}}", "httpGet", "path", "/readyz", "port", METRICS_PORT_NAME)) ||
	    json_object_set_new(
		c, "livenessProbe",
		json_pack("{s:{s:s, s:s}}", "httpGet", "path", "/healthz", "port", METRICS_PORT_NAME)) ||
	    (p->tls && add_mount(c, "tls", MD_TLS_DIR, true))) {
		json_decref(c);
		return NULL;
	}
	return c;
}

/* The server now speaks plain HTTP on loopback behind the agent: its port is renamed (the agent
 * takes the http/https name the Service targets), its probe is plain HTTP, TLS moves to the agent. */
static void server_behind_agent(json_t *server)
{
	json_t *probe = json_object_get(server, "readinessProbe");
	json_t *get = json_object_get(probe, "httpGet");

	json_object_set_new(json_path(server, "ports.0"), "name", json_string(SERVER_PORT_NAME));
	if (get) {
		json_object_set_new(get, "port", json_string(SERVER_PORT_NAME));
		json_object_set_new(get, "scheme", json_string("HTTP"));
	} else if (json_object_get(probe, "tcpSocket")) {
		json_object_set_new(json_object_get(probe, "tcpSocket"), "port",
				    json_string(SERVER_PORT_NAME));
	}
	del_named(server, "env", "SAQR_TLS_DIR");
	del_named(server, "volumeMounts", "tls");
}

static int agent_apply(const struct md__plan *p, const struct md_options *opts, json_t *pod)
{
	const char *config = json_path_str(p->spec, "agent.config", "");
	json_t *server = container_named(pod, "containers", MD_CONTAINER);
	json_t *agent;

	if (!server)
		return SAQR_EINVAL;
	server_behind_agent(server);
	agent = agent_container(p, opts);
	if (!agent)
		return SAQR_ENOMEM;
	if (*config && (add_mount(agent, "agent-config", MD_AGENT_CONFIG_DIR, true) ||
			add_volume(pod, json_pack("{s:s, s:{s:s}}", "name", "agent-config", "configMap",
						  "name", config)))) {
		json_decref(agent);
		return SAQR_ENOMEM;
	}
	return json_array_append_new(json_object_get(pod, "containers"), agent) ? SAQR_ENOMEM : 0;
}

/* ---- saqr-fetch ---- */

/* "claim" of pvc://claim/path into out. */
static void pvc_claim(const char *uri, char *out, size_t outlen)
{
	const char *c = uri + strlen("pvc://");
	size_t n = strcspn(c, "/");

	snprintf(out, outlen, "%.*s", (int)(n < outlen ? n : outlen - 1), c);
}

/* --trusted-key for each of the Secret's keys (comma-separated names), at most TRUSTED_KEYS_MAX. */
static int trusted_key_args(json_t *args, const char *names)
{
	char path[512];
	int n = 0;

	while (names && *names && n < TRUSTED_KEYS_MAX) {
		size_t len = strcspn(names, ",");

		if (len > 0 && len < 256) {
			snprintf(path, sizeof(path), "%s/%.*s", MD_TRUSTED_KEYS_DIR, (int)len, names);
			if (add_arg(args, "--trusted-key", path))
				return SAQR_ENOMEM;
			n++;
		}
		names += len + (names[len] == ',');
	}
	return 0;
}

static bool signed_with_keys(const json_t *model, const struct md_options *opts)
{
	return *json_path_str(model, "signature", "") && opts && opts->trusted_keys_secret &&
	       *opts->trusted_keys_secret;
}

static json_t *fetch_args(const struct md__plan *p, const struct md_options *opts, const json_t *model)
{
	const char *uri = json_path_str(model, "uri", "");
	bool cloud = has_scheme(uri, "s3") || has_scheme(uri, "azureblob");
	const char *key_names =
	    opts && opts->trusted_key_names ? opts->trusted_key_names : MD_TRUSTED_KEYS_DEFAULT;
	json_t *a = json_array();

	if (!a || add_arg(a, "--uri", uri) || add_arg(a, "--dest", MD_MODEL_DIR) ||
	    add_arg(a, "--digest", json_path_str(model, "digest", NULL)) ||
	    add_arg(a, "--signature", json_path_str(model, "signature", NULL)) ||
	    (signed_with_keys(model, opts) && trusted_key_args(a, key_names)) ||
	    (has_scheme(uri, "s3") &&
	     add_arg(a, "--s3-region", json_path_str(p->spec, "storage.region", NULL))) ||
	    (*json_path_str(p->spec, "storage.secretRef.name", "") &&
	     add_arg(a, "--credentials-dir", MD_CREDENTIALS_DIR)) ||
	    (json_path_int(p->spec, "fetch.maxBytes", 0) > 0 &&
	     add_arg_int(a, "--max-bytes", json_path_int(p->spec, "fetch.maxBytes", 0))) ||
	    (cloud && json_path_bool(p->spec, "storage.encrypted", false, NULL) &&
	     json_array_append_new(a, json_string("--require-encrypted")))) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *fetch_container(const struct md__plan *p, const struct md_options *opts, const json_t *model)
{
	const char *image = json_path_str(p->spec, "fetch.image", NULL);
	json_t *c;

	if (!image || !*image)
		image = opts && opts->fetch_image ? opts->fetch_image : MD_FETCH_DEFAULT_IMAGE;
	c = saqr_container(MD_FETCH_CONTAINER, image, fetch_args(p, opts, model),
			   resources_or(json_path(p->spec, "fetch.resources"), "100m", "64Mi", "256Mi"));
	if (!c || podtmpl_env(json_object_get(c, "env"), "SAQR_MODEL_PATH", MD_MODEL_DIR) ||
	    add_mount(c, MODEL_VOLUME, MD_MODEL_DIR, false)) {
		json_decref(c);
		return NULL;
	}
	return c;
}

static json_t *model_volume(const struct md__plan *p)
{
	long long max = json_path_int(p->spec, "fetch.maxBytes", 0);
	char num[NUM_BUF];

	if (max <= 0)
		return json_pack("{s:s, s:{}}", "name", MODEL_VOLUME, "emptyDir");
	snprintf(num, sizeof(num), "%lld", max);
	return json_pack("{s:s, s:{s:s}}", "name", MODEL_VOLUME, "emptyDir", "sizeLimit", num);
}

/* The volumes only saqr-fetch mounts: credentials, trusted keys, the source claim. */
static int fetch_inputs(const struct md__plan *p, const struct md_options *opts, const json_t *model,
			json_t *pod, json_t *init)
{
	const char *secret = json_path_str(p->spec, "storage.secretRef.name", "");
	const char *uri = json_path_str(model, "uri", "");
	char claim[256], path[512];

	if (*secret && (add_mount(init, "credentials", MD_CREDENTIALS_DIR, true) ||
			add_volume(pod, json_pack("{s:s, s:{s:s}}", "name", "credentials", "secret",
						  "secretName", secret))))
		return SAQR_ENOMEM;
	if (signed_with_keys(model, opts) &&
	    (add_mount(init, "trusted-keys", MD_TRUSTED_KEYS_DIR, true) ||
	     add_volume(pod, json_pack("{s:s, s:{s:s}}", "name", "trusted-keys", "secret", "secretName",
				       opts->trusted_keys_secret))))
		return SAQR_ENOMEM;
	if (!has_scheme(uri, "pvc"))
		return 0;
	pvc_claim(uri, claim, sizeof(claim));
	snprintf(path, sizeof(path), "%s/%s", MD_PVC_ROOT, claim);
	if (add_mount(init, "model-source", path, true) ||
	    add_volume(pod, json_pack("{s:s, s:{s:s, s:b}}", "name", "model-source", "persistentVolumeClaim",
				      "claimName", claim, "readOnly", 1)))
		return SAQR_ENOMEM;
	return 0;
}

static int fetch_apply(const struct md__plan *p, const struct md_options *opts, const json_t *model,
		       json_t *pod)
{
	json_t *server = container_named(pod, "containers", MD_CONTAINER);
	json_t *init;
	int rc;

	if (!server)
		return SAQR_EINVAL;
	init = fetch_container(p, opts, model);
	if (!init)
		return SAQR_ENOMEM;
	rc = fetch_inputs(p, opts, model, pod, init);
	if (rc) {
		json_decref(init);
		return rc;
	}
	if (json_object_set_new(pod, "initContainers", json_pack("[o]", init)) ||
	    add_volume(pod, model_volume(p)) || add_mount(server, MODEL_VOLUME, MD_MODEL_DIR, true) ||
	    podtmpl_env(json_object_get(server, "env"), "SAQR_MODEL_PATH", MD_MODEL_DIR))
		return SAQR_ENOMEM;
	return 0;
}

/* ---- the owned objects ---- */

static int pod_apply(const struct md__plan *p, const struct md_options *opts, const json_t *model,
		     json_t *dep)
{
	json_t *pod = json_path(dep, "spec.template.spec");
	int rc = 0;

	if (!dep)
		return 0;
	if (!json_is_object(pod))
		return SAQR_EINVAL;
	if (md__fetch_wanted(p->spec, model))
		rc = fetch_apply(p, opts, model, pod);
	if (rc == 0 && md_agent_enabled(p->spec))
		rc = agent_apply(p, opts, pod);
	return rc;
}

/* Ingress to the agent's port instead of the server's; its metrics port from the operator's
 * namespace (a DriftPolicy's scrape source). */
static int netpol_apply(const struct md__plan *p, const struct md_options *opts, json_t *np)
{
	long long port = json_path_int(p->spec, "agent.port", MD_AGENT_DEFAULT_PORT);
	long long metrics = json_path_int(p->spec, "agent.metricsPort", MD_AGENT_DEFAULT_METRICS_PORT);
	json_t *rule;

	if (!np)
		return 0;
	if (json_object_set_new(json_path(np, "spec.ingress.0.ports.0"), "port", json_integer(port)))
		return SAQR_EINVAL;
	if (!opts || !opts->extra_ingress_namespace)
		return 0;
	rule = json_pack("{s:[{s:{s:{s:s}}}], s:[{s:s, s:I}]}", "from", "namespaceSelector", "matchLabels",
			 "kubernetes.io/metadata.name", opts->extra_ingress_namespace, "ports", "protocol",
			 "TCP", "port", (json_int_t)metrics);
	return json_array_append_new(json_path(np, "spec.ingress"), rule) ? SAQR_ENOMEM : 0;
}

int md__sidecars_apply(const struct md__plan *p, const struct md_options *opts, struct md_desired *d)
{
	int rc = pod_apply(p, opts, json_object_get(p->spec, "model"), d->owned[MD_OWNED_DEPLOYMENT].obj);

	if (rc == 0)
		rc = pod_apply(p, opts, json_path(p->spec, "canary.model"), d->owned[MD_OWNED_CANARY].obj);
	if (rc == 0 && md_agent_enabled(p->spec))
		rc = netpol_apply(p, opts, d->owned[MD_OWNED_NETWORKPOLICY].obj);
	return rc;
}
