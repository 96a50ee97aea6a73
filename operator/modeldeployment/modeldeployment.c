/* ModelDeployment → desired owned objects: the model-server Deployment (and a canary), its
 * Service, HorizontalPodAutoscaler, NetworkPolicy and PodDisruptionBudget. Also the checks the
 * CRD schema cannot express. Status lives in modeldeployment_status.c. */
#include "operator/modeldeployment/modeldeployment.h"

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "operator/modeldeployment/internal.h"
#include "operator/podtmpl.h"

static const char *const md_reserved_env[] = {"SAQR_MODEL_URI",
					      "SAQR_MODEL_DIGEST",
					      "SAQR_MODEL_FORMAT",
					      "SAQR_MODEL_NAME",
					      "SAQR_MODEL_VERSION",
					      "SAQR_TLS_DIR",
					      NULL};

void md_split_replicas(long long total, long long weight, long long *primary, long long *canary)
{
	long long c;

	if (total < 0)
		total = 0;
	weight = weight < 0 ? 0 : weight > 100 ? 100 : weight;
	if (weight == 0) {
		*primary = total;
		*canary = 0;
		return;
	}
	c = (total * weight + 50) / 100;
	if (c < 1)
		c = 1;
	*canary = c;
	*primary = total - c < 1 ? 1 : total - c;
}

static bool canary_wanted(const json_t *spec)
{
	return json_is_object(json_path(spec, "canary.model")) && json_path_int(spec, "canary.weight", 0) > 0;
}

static void plan_replicas(struct md__plan *p)
{
	long long weight = p->canary ? json_path_int(p->spec, "canary.weight", 0) : 0;
	long long min, max;

	if (!p->autoscale) {
		p->total_min = json_path_int(p->spec, "replicas", 1);
		md_split_replicas(p->total_min, weight, &p->primary, &p->canary_replicas);
		return;
	}
	/* The HPA scales the primary; the canary keeps the share of minReplicas its weight gives. */
	min = json_path_int(p->spec, "autoscaling.minReplicas", 1);
	max = json_path_int(p->spec, "autoscaling.maxReplicas", min);
	p->total_min = min;
	md_split_replicas(min, weight, &p->primary, &p->canary_replicas);
	p->hpa_min = min - p->canary_replicas < 1 ? 1 : min - p->canary_replicas;
	p->hpa_max = max - p->canary_replicas < p->hpa_min ? p->hpa_min : max - p->canary_replicas;
}

int md__plan_init(const json_t *md, struct md__plan *p)
{
	memset(p, 0, sizeof(*p));
	p->md = md;
	p->spec = json_object_get(md, "spec");
	p->name = json_path_str(md, "metadata.name", NULL);
	p->ns = json_path_str(md, "metadata.namespace", NULL);
	if (!json_is_object(p->spec) || !p->name || !p->ns)
		return SAQR_EINVAL;
	p->generation = json_path_int(md, "metadata.generation", 0);
	p->port = json_path_int(p->spec, "server.port", MD_DEFAULT_PORT);
	p->grpc = strcmp(json_path_str(p->spec, "server.protocol", "http"), "grpc") == 0;
	p->tls = *json_path_str(p->spec, "security.tlsSecretName", "") != '\0';
	p->autoscale = json_is_object(json_object_get(p->spec, "autoscaling"));
	p->canary = canary_wanted(p->spec);
	plan_replicas(p);
	if (objmeta_name(p->name, NULL, OBJMETA_NAME_MAX, p->dep_name, sizeof(p->dep_name)) ||
	    objmeta_name(p->name, MD_CANARY_SUFFIX, OBJMETA_NAME_MAX, p->canary_name, sizeof(p->canary_name)))
		return SAQR_EINVAL;
	return 0;
}

int md_names(const json_t *md, char deployment[OBJMETA_NAME_BUF], char canary[OBJMETA_NAME_BUF])
{
	struct md__plan p;

	if (md__plan_init(md, &p))
		return SAQR_EINVAL;
	if (deployment)
		memcpy(deployment, p.dep_name, sizeof(p.dep_name));
	if (canary)
		memcpy(canary, p.canary_name, sizeof(p.canary_name));
	return 0;
}

int md_url(const json_t *md, char *out, size_t outlen)
{
	struct md__plan p;
	int n;

	if (!out || md__plan_init(md, &p))
		return SAQR_EINVAL;
	if (p.grpc)
		n = snprintf(out, outlen, "%s.%s.svc:%lld", p.dep_name, p.ns, p.port);
	else
		n = snprintf(out, outlen, "%s://%s.%s.svc:%lld", p.tls ? "https" : "http", p.dep_name, p.ns,
			     p.port);
	return n < 0 || (size_t)n >= outlen ? SAQR_ETOOBIG : 0;
}

/* ---- validation ---- */

static bool check_basics(const json_t *spec, char *msg, size_t msglen)
{
	long long port = json_path_int(spec, "server.port", MD_DEFAULT_PORT);

	if (!*json_path_str(spec, "model.uri", ""))
		snprintf(msg, msglen, "spec.model.uri is empty; set the URI of the model to serve");
	else if (!*json_path_str(spec, "server.image", ""))
		snprintf(msg, msglen, "spec.server.image is empty; set the model server image");
	else if (port < 1 || port > 65535)
		snprintf(msg, msglen, "spec.server.port %lld is out of range; use 1-65535", port);
	else
		return true;
	return false;
}

static bool check_scaling(const json_t *spec, char *msg, size_t msglen)
{
	long long min = json_path_int(spec, "autoscaling.minReplicas", 1);
	long long max = json_path_int(spec, "autoscaling.maxReplicas", min);

	if (!json_is_object(json_object_get(spec, "autoscaling")))
		return true;
	if (min < 1 || min > max) {
		snprintf(
		    msg, msglen,
		    "spec.autoscaling.minReplicas (%lld) must be at least 1 and at most maxReplicas (%lld)",
		    min, max);
		return false;
	}
	return true;
}

static bool check_canary(const json_t *spec, char *msg, size_t msglen)
{
	long long weight = json_path_int(spec, "canary.weight", 0);
	bool autoscale = json_is_object(json_object_get(spec, "autoscaling"));
	long long replicas = json_path_int(spec, "replicas", 1);

	if (weight <= 0)
		return true;
	if (!*json_path_str(spec, "canary.model.uri", "")) {
		snprintf(msg, msglen,
			 "spec.canary.weight is %lld but spec.canary.model.uri is empty; set the "
			 "canary model or set the weight to 0",
			 weight);
		return false;
	}
	if (!autoscale && replicas < 2) {
		snprintf(msg, msglen,
			 "spec.canary.weight is %lld but spec.replicas is %lld: traffic is split by replica "
			 "count, so a canary needs 2 or more replicas; raise spec.replicas, use "
			 "spec.autoscaling, or set the weight to 0",
			 weight, replicas);
		return false;
	}
	return true;
}

bool md_validate(const json_t *md, char *reason, size_t reasonlen, char *msg, size_t msglen)
{
	const json_t *spec = json_object_get(md, "spec");
	bool ok;

	if (!json_is_object(spec)) {
		snprintf(msg, msglen, "the ModelDeployment has no spec");
		ok = false;
	} else {
		ok = check_basics(spec, msg, msglen) && check_scaling(spec, msg, msglen) &&
		     check_canary(spec, msg, msglen) &&
		     podtmpl_env_check(json_path(spec, "server.env"), md_reserved_env, "spec.server.env", msg,
				       msglen) &&
		     md__sidecars_check(spec, msg, msglen);
	}
	if (!ok)
		snprintf(reason, reasonlen, "%s", MD_REASON_INVALID);
	return ok;
}

/* ---- Deployments ---- */

/* The model a Deployment serves: spec.model, or for the canary canary.model, which inherits only
 * name and format from spec.model (a digest or version of the primary never applies to another
 * URI). New reference or NULL. */
static json_t *model_for(const struct md__plan *p, bool canary)
{
	const json_t *primary = json_object_get(p->spec, "model");
	json_t *m;

	if (!canary)
		return json_deep_copy(primary);
	m = json_object();
	if (!m ||
	    (json_object_get(primary, "name") &&
	     json_object_set(m, "name", json_object_get(primary, "name"))) ||
	    (json_object_get(primary, "format") &&
	     json_object_set(m, "format", json_object_get(primary, "format"))) ||
	    json_object_update(m, json_path(p->spec, "canary.model"))) {
		json_decref(m);
		return NULL;
	}
	return m;
}

static int env_opt(json_t *env, const char *name, const char *value)
{
	return value && *value ? podtmpl_env(env, name, value) : 0;
}

static json_t *model_env(const struct md__plan *p, const json_t *model)
{
	json_t *env = json_array();

	if (!env || env_opt(env, "SAQR_MODEL_URI", json_path_str(model, "uri", NULL)) ||
	    env_opt(env, "SAQR_MODEL_DIGEST", json_path_str(model, "digest", NULL)) ||
	    env_opt(env, "SAQR_MODEL_FORMAT", json_path_str(model, "format", NULL)) ||
	    env_opt(env, "SAQR_MODEL_NAME", json_path_str(model, "name", NULL)) ||
	    env_opt(env, "SAQR_MODEL_VERSION", json_path_str(model, "version", NULL)) ||
	    (p->tls && podtmpl_env(env, "SAQR_TLS_DIR", MD_TLS_DIR)) ||
	    podtmpl_env_user(env, json_path(p->spec, "server.env"))) {
		json_decref(env);
		return NULL;
	}
	return env;
}

/* The name of the model port, which tells meshes and readers its protocol. */
static const char *port_name(const struct md__plan *p)
{
	return p->grpc ? "grpc" : p->tls ? "https" : "http";
}

/* http with readinessPath: HTTP GET; otherwise (gRPC, or no path) a TCP check on the port. */
static json_t *readiness_probe(const struct md__plan *p)
{
	const char *path = json_path_str(p->spec, "server.readinessPath", NULL);
	const char *port = port_name(p);

	if (!p->grpc && path && *path)
		return json_pack("{s:{s:s, s:s, s:s}}", "httpGet", "path", path, "port", port, "scheme",
				 p->tls ? "HTTPS" : "HTTP");
	return json_pack("{s:{s:s}}", "tcpSocket", "port", port);
}

static json_t *server_pod(const struct md__plan *p, const json_t *model)
{
	const char *tls = json_path_str(p->spec, "security.tlsSecretName", "");
	json_t *c, *pod;

	c = podtmpl_container(MD_CONTAINER, json_path_str(p->spec, "server.image", ""),
			      json_path(p->spec, "server"), model_env(p, model));
	if (!c ||
	    json_object_set_new(c, "ports",
				json_pack("[{s:s, s:I, s:s}]", "name", port_name(p), "containerPort",
					  (json_int_t)p->port, "protocol", "TCP")) ||
	    json_object_set_new(c, "readinessProbe", readiness_probe(p))) {
		json_decref(c);
		return NULL;
	}
	pod = podtmpl_pod(c, json_path_str(p->spec, "security.serviceAccountName", NULL),
			  json_path(p->spec, "scheduling"));
	if (pod && *tls &&
	    podtmpl_add_volume(pod, json_pack("{s:s, s:{s:s}}", "name", "tls", "secret", "secretName", tls),
			       MD_TLS_DIR, true)) {
		json_decref(pod);
		return NULL;
	}
	return pod;
}

/* Pod template annotations: the model's version and digest, so a model change rolls the pods
 * even when only the digest moves. */
static json_t *model_annotations(const json_t *model)
{
	json_t *a = json_object();
	const char *version = json_path_str(model, "version", "");
	const char *digest = json_path_str(model, "digest", "");

	if (!a || (*version && json_object_set_new(a, MD_ANN_MODEL_VERSION, json_string(version))) ||
	    (*digest && json_object_set_new(a, MD_ANN_MODEL_DIGEST, json_string(digest)))) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *selector(const struct md__plan *p, const char *component)
{
	json_t *all =
	    objmeta_labels(p->name, p->name, component ? component : MD_COMPONENT, OBJMETA_LABEL_MD);
	json_t *sel;

	if (!all)
		return NULL;
	sel = json_pack("{s:O}", OBJMETA_LABEL_MD, json_object_get(all, OBJMETA_LABEL_MD));
	if (sel && component &&
	    json_object_set(sel, "app.kubernetes.io/component",
			    json_object_get(all, "app.kubernetes.io/component"))) {
		json_decref(sel);
		sel = NULL;
	}
	json_decref(all);
	return sel;
}

static json_t *deployment_spec(const struct md__plan *p, const json_t *model, const char *component,
			       json_t *labels)
{
	/* the template gets its own copy: a later change to the object's labels must not roll pods */
	return json_pack("{s:{s:o}, s:{s:s, s:{s:i, s:s}}, s:{s:{s:o, s:o}, s:o}}", "selector", "matchLabels",
			 selector(p, component), "strategy", "type", "RollingUpdate", "rollingUpdate",
			 "maxUnavailable", 0, "maxSurge", "25%", "template", "metadata", "labels",
			 json_deep_copy(labels), "annotations", model_annotations(model), "spec",
			 server_pod(p, model));
}

/* replicas < 0: leave replicas out (the HPA owns it). */
static json_t *deployment(const struct md__plan *p, bool canary, long long replicas)
{
	const char *component = canary ? MD_COMPONENT_CANARY : MD_COMPONENT;
	json_t *model = model_for(p, canary), *labels, *obj = NULL, *spec;

	if (!model)
		return NULL;
	labels = objmeta_labels(json_path_str(model, "name", p->name), p->name, component, OBJMETA_LABEL_MD);
	if (!labels)
		goto out;
	spec = deployment_spec(p, model, component, labels);
	obj = objmeta_object("apps/v1", "Deployment", canary ? p->canary_name : p->dep_name, labels, p->md);
	if (!obj || !spec || json_object_set_new(obj, "spec", spec) || podtmpl_inherit(p->md, obj)) {
		json_decref(obj);
		obj = NULL;
		goto out;
	}
	if (replicas >= 0 && json_object_set_new(spec, "replicas", json_integer(replicas))) {
		json_decref(obj);
		obj = NULL;
	}
out:
	json_decref(model);
	return obj;
}

/* ---- Service, HPA, NetworkPolicy, PDB ---- */

static json_t *owned_object(const struct md__plan *p, const char *api, const char *kind, json_t *spec)
{
	json_t *labels = objmeta_labels(json_path_str(p->spec, "model.name", p->name), p->name, MD_COMPONENT,
					OBJMETA_LABEL_MD);
	json_t *obj = objmeta_object(api, kind, p->dep_name, labels, p->md);

	if (!obj || !spec || json_object_set_new(obj, "spec", spec)) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

static json_t *service(const struct md__plan *p)
{
	const char *port = port_name(p);

	return owned_object(p, "v1", "Service",
			    json_pack("{s:s, s:o, s:[{s:s, s:I, s:s, s:s}]}", "type", "ClusterIP", "selector",
				      selector(p, NULL), "ports", "name", port, "port", (json_int_t)p->port,
				      "targetPort", port, "protocol", "TCP"));
}

static json_t *hpa(const struct md__plan *p)
{
	long long target =
	    json_path_int(p->spec, "autoscaling.targetCPUUtilizationPercentage", MD_DEFAULT_CPU_TARGET);

	return owned_object(p, "autoscaling/v2", "HorizontalPodAutoscaler",
			    json_pack("{s:{s:s, s:s, s:s}, s:I, s:I, s:[{s:s, s:{s:s, s:{s:s, s:I}}}]}",
				      "scaleTargetRef", "apiVersion", "apps/v1", "kind", "Deployment", "name",
				      p->dep_name, "minReplicas", (json_int_t)p->hpa_min, "maxReplicas",
				      (json_int_t)p->hpa_max, "metrics", "type", "Resource", "resource",
				      "name", "cpu", "target", "type", "Utilization", "averageUtilization",
				      (json_int_t)target));
}

static bool in_list(const json_t *list, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	}
	return false;
}

/* The namespaces other than md's own that may reach the model port. New reference or NULL. */
static json_t *peer_namespaces(const struct md__plan *p, const struct md_options *opts)
{
	json_t *out = json_array(), *v;
	size_t i;

	json_array_foreach(json_path(p->spec, "security.allowedNamespaces"), i, v)
	{
		if (out && json_is_string(v) && !in_list(out, json_string_value(v)))
			json_array_append(out, v);
	}
	if (out && opts && opts->extra_ingress_namespace && !in_list(out, opts->extra_ingress_namespace))
		json_array_append_new(out, json_string(opts->extra_ingress_namespace));
	return out;
}

/* Ingress only to the model port, from md's namespace and the listed namespaces. */
static json_t *network_policy(const struct md__plan *p, const struct md_options *opts)
{
	json_t *peers = peer_namespaces(p, opts);
	json_t *from = json_pack("[{s:{}}]", "podSelector");

	if (peers && from && json_array_size(peers) > 0)
		json_array_append_new(
		    from, json_pack("{s:{s:[{s:s, s:s, s:O}]}}", "namespaceSelector", "matchExpressions",
				    "key", "kubernetes.io/metadata.name", "operator", "In", "values", peers));
	json_decref(peers);
	return owned_object(p, "networking.k8s.io/v1", "NetworkPolicy",
			    json_pack("{s:{s:o}, s:[s], s:[{s:o, s:[{s:s, s:I}]}]}", "podSelector",
				      "matchLabels", selector(p, NULL), "policyTypes", "Ingress", "ingress",
				      "from", from, "ports", "protocol", "TCP", "port", (json_int_t)p->port));
}

static json_t *pdb(const struct md__plan *p)
{
	return owned_object(
	    p, "policy/v1", "PodDisruptionBudget",
	    json_pack("{s:i, s:{s:o}}", "maxUnavailable", 1, "selector", "matchLabels", selector(p, NULL)));
}

/* ---- md_desired ---- */

static bool has_owner_ref(const json_t *md)
{
	json_t *ref = objmeta_owner_ref(md);
	bool ok = ref != NULL;

	json_decref(ref);
	return ok;
}

static void owned_set(struct objmeta_owned *o, const struct kube_resource *res, const char *kind,
		      const char *name, json_t *obj, bool wanted)
{
	o->res = *res;
	o->kind = kind;
	o->action = wanted ? OBJMETA_APPLY : OBJMETA_DELETE;
	snprintf(o->name, sizeof(o->name), "%s", name);
	o->obj = obj;
}

static int fill_desired(const struct md__plan *p, const struct md_options *opts, struct md_desired *d)
{
	bool pdb_wanted = p->total_min >= 2;
	json_t *objs[MD_OWNED_COUNT] = {
	    deployment(p, false, p->autoscale ? -1 : p->primary),
	    p->canary ? deployment(p, true, p->canary_replicas) : NULL,
	    service(p),
	    p->autoscale ? hpa(p) : NULL,
	    network_policy(p, opts),
	    pdb_wanted ? pdb(p) : NULL,
	};
	bool wanted[MD_OWNED_COUNT] = {true, p->canary, true, p->autoscale, true, pdb_wanted};
	int rc = 0;

	owned_set(&d->owned[MD_OWNED_DEPLOYMENT], &objmeta_res_deployments, "Deployment", p->dep_name,
		  objs[MD_OWNED_DEPLOYMENT], true);
	owned_set(&d->owned[MD_OWNED_CANARY], &objmeta_res_deployments, "Deployment", p->canary_name,
		  objs[MD_OWNED_CANARY], p->canary);
	owned_set(&d->owned[MD_OWNED_SERVICE], &objmeta_res_services, "Service", p->dep_name,
		  objs[MD_OWNED_SERVICE], true);
	owned_set(&d->owned[MD_OWNED_HPA], &objmeta_res_hpas, "HorizontalPodAutoscaler", p->dep_name,
		  objs[MD_OWNED_HPA], p->autoscale);
	owned_set(&d->owned[MD_OWNED_NETWORKPOLICY], &objmeta_res_networkpolicies, "NetworkPolicy",
		  p->dep_name, objs[MD_OWNED_NETWORKPOLICY], true);
	owned_set(&d->owned[MD_OWNED_PDB], &objmeta_res_pdbs, "PodDisruptionBudget", p->dep_name,
		  objs[MD_OWNED_PDB], pdb_wanted);
	for (int i = 0; i < MD_OWNED_COUNT; i++)
		if (wanted[i] && !objs[i])
			rc = SAQR_ENOMEM;
	return rc;
}

int md_desired(const json_t *md, const struct md_options *opts, struct md_desired *out)
{
	struct md_desired d;
	struct md__plan p;
	char reason[64], msg[512];
	int rc;

	if (!out)
		return SAQR_EINVAL;
	memset(&d, 0, sizeof(d));
	if (!md_validate(md, reason, sizeof(reason), msg, sizeof(msg)) || md__plan_init(md, &p) ||
	    !has_owner_ref(md))
		return SAQR_EINVAL;
	rc = fill_desired(&p, opts, &d);
	if (rc == 0)
		rc = md__sidecars_apply(&p, opts, &d); /* saqr-agent and saqr-fetch: sidecars.c */
	if (rc) {
		md_desired_release(&d);
		return rc;
	}
	*out = d;
	return 0;
}

void md_desired_release(struct md_desired *d)
{
	if (!d)
		return;
	for (int i = 0; i < MD_OWNED_COUNT; i++)
		objmeta_owned_release(&d->owned[i]);
}
