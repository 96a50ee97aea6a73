/* TrainingJob → an Indexed batch/v1 Job (completions = parallelism = replicas) with hardened
 * pods and framework rendezvous variables, and a headless Service so that "<job>-<index>.<svc>"
 * resolves; and whether a TrainingJob has finished. Status and promotion live in status.c,
 * which builds on this file (never the other way). */
#include "operator/trainingjob/trainingjob.h"

#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/jsonutil.h"
#include "operator/conditions.h"
#include "operator/podtmpl.h"

#define TF_CONFIG_MAX ((size_t)256 * 1024)

static const char *const tj_reserved_env[] = {"SAQR_DATASET_URI",   "SAQR_OUTPUT_URI",
					      "MASTER_ADDR",	    "MASTER_PORT",
					      "WORLD_SIZE",	    "NNODES",
					      "NODE_RANK",	    "RANK",
					      "PET_MASTER_ADDR",    "PET_MASTER_PORT",
					      "PET_NNODES",	    "PET_NODE_RANK",
					      "PET_NPROC_PER_NODE", "TF_CONFIG",
					      TJ_TF_INDEX_ENV,	    "SAQR_DATASET_PATH",
					      "SAQR_OUTPUT_PATH",   NULL};

enum framework { FW_NONE, FW_PYTORCH, FW_TENSORFLOW };

/* What the builders need, derived once from tj. */
struct tj_plan {
	const json_t *tj, *spec;
	const char *name;
	enum framework fw;
	long long replicas, port, nproc;
	char job[OBJMETA_NAME_BUF]; /* Job and Service name */
};

static enum framework framework_of(const json_t *spec)
{
	const char *f = json_path_str(spec, "distributed.framework", "none");

	if (strcmp(f, "pytorch") == 0)
		return FW_PYTORCH;
	if (strcmp(f, "tensorflow") == 0)
		return FW_TENSORFLOW;
	return FW_NONE;
}

int tj_job_name(const json_t *tj, char *out, size_t outlen)
{
	const char *name = json_path_str(tj, "metadata.name", NULL);

	return name && objmeta_name(name, NULL, TJ_NAME_MAX, out, outlen) == 0 ? 0 : SAQR_EINVAL;
}

static int plan_init(const json_t *tj, struct tj_plan *p)
{
	memset(p, 0, sizeof(*p));
	p->tj = tj;
	p->spec = json_object_get(tj, "spec");
	p->name = json_path_str(tj, "metadata.name", NULL);
	if (!json_is_object(p->spec) || !p->name || !json_path_str(tj, "metadata.namespace", NULL) ||
	    !json_path_str(tj, "metadata.uid", NULL))
		return SAQR_EINVAL;
	p->fw = framework_of(p->spec);
	p->replicas = json_path_int(p->spec, "replicas", 1);
	p->port = json_path_int(p->spec, "distributed.port", TJ_DEFAULT_PORT);
	p->nproc = json_path_int(p->spec, "distributed.nprocPerNode", 1);
	return tj_job_name(tj, p->job, sizeof(p->job));
}

/* ---- validation ---- */

static bool check_shape(const json_t *spec, char *msg, size_t msglen)
{
	long long replicas = json_path_int(spec, "replicas", 1);
	long long port = json_path_int(spec, "distributed.port", TJ_DEFAULT_PORT);

	if (!*json_path_str(spec, "image", ""))
		snprintf(msg, msglen, "spec.image is empty; set the training image");
	else if (replicas < 1 || replicas > TJ_MAX_REPLICAS)
		snprintf(msg, msglen, "spec.replicas is %lld; use 1 to %d", replicas, TJ_MAX_REPLICAS);
	else if (framework_of(spec) == FW_TENSORFLOW && replicas > TJ_TF_MAX_REPLICAS)
		snprintf(msg, msglen, "spec.replicas is %lld; TensorFlow jobs take at most %d workers",
			 replicas, TJ_TF_MAX_REPLICAS);
	else if (port < 1 || port > 65535)
		snprintf(msg, msglen, "spec.distributed.port %lld is out of range; use 1-65535", port);
	else if (json_path_int(spec, "distributed.nprocPerNode", 1) < 1)
		snprintf(msg, msglen, "spec.distributed.nprocPerNode must be at least 1");
	else if (json_path_int(spec, "backoffLimit", TJ_DEFAULT_BACKOFF_LIMIT) < 0)
		snprintf(msg, msglen, "spec.backoffLimit must not be negative");
	else
		return true;
	return false;
}

static bool check_promote(const json_t *spec, char *msg, size_t msglen)
{
	const json_t *promote = json_object_get(spec, "promote");
	const char *target = json_path_str(promote, "modelDeployment", "");

	if (!promote)
		return true;
	if (!*target)
		snprintf(msg, msglen,
			 "spec.promote.modelDeployment is empty; name the ModelDeployment to update");
	else if (strchr(target, '/'))
		snprintf(msg, msglen,
			 "spec.promote.modelDeployment \"%s\" points into another namespace; a TrainingJob "
			 "promotes only into a ModelDeployment of its own namespace: give just its name",
			 target);
	else if (!*json_path_str(promote, "version", ""))
		snprintf(msg, msglen,
			 "spec.promote.version is empty; set the version the promoted model gets");
	else if (!*json_path_str(spec, "output.uri", ""))
		snprintf(msg, msglen, "spec.promote needs spec.output.uri: the trained model to promote");
	else
		return true;
	return false;
}

/* A pvc:// URI names its claim: pvc://<claim>[/<path>]. */
static bool check_pvc(const json_t *spec, const char *field, char *msg, size_t msglen)
{
	char key[16];
	const char *uri;
	size_t n;

	snprintf(key, sizeof(key), "%s.uri", field);
	uri = json_path_str(spec, key, "");
	if (strncmp(uri, "pvc://", 6) != 0)
		return true;
	n = strcspn(uri + 6, "/");
	if (n > 0 && n <= 253 && !strstr(uri, "/../") && !strstr(uri, "/./"))
		return true;
	snprintf(msg, msglen,
		 "spec.%s.uri \"%s\" is not pvc://<claim>/<path>: name a PersistentVolumeClaim of the "
		 "namespace, then the path inside it (no . or .. segments)",
		 field, uri);
	return false;
}

bool tj_validate(const json_t *tj, char *reason, size_t reasonlen, char *msg, size_t msglen)
{
	const json_t *spec = json_object_get(tj, "spec");
	bool ok;

	if (!json_is_object(spec)) {
		snprintf(msg, msglen, "the TrainingJob has no spec");
		ok = false;
	} else {
		ok =
		    check_shape(spec, msg, msglen) && check_promote(spec, msg, msglen) &&
		    check_pvc(spec, "dataset", msg, msglen) && check_pvc(spec, "output", msg, msglen) &&
		    podtmpl_env_check(json_object_get(spec, "env"), tj_reserved_env, "spec.env", msg, msglen);
	}
	if (!ok)
		snprintf(reason, reasonlen, "%s", TJ_REASON_INVALID);
	return ok;
}

/* ---- environment ---- */

static int env_num(json_t *env, const char *name, long long v)
{
	char s[32];

	snprintf(s, sizeof(s), "%lld", v);
	return podtmpl_env(env, name, s);
}

static int env_opt(json_t *env, const char *name, const char *value)
{
	return value && *value ? podtmpl_env(env, name, value) : 0;
}

/* PyTorch: the torch.distributed env:// variables and torchrun's PET_* equivalents, with static
 * rendezvous on pod 0. The node rank is the pod's completion index. */
static int env_pytorch(json_t *env, const struct tj_plan *p)
{
	char master[2 * OBJMETA_NAME_BUF + 8];

	if (p->replicas > 1)
		snprintf(master, sizeof(master), "%s-0.%s", p->job, p->job);
	else
		snprintf(master, sizeof(master), "localhost");
	if (podtmpl_env(env, "MASTER_ADDR", master) || env_num(env, "MASTER_PORT", p->port) ||
	    env_num(env, "WORLD_SIZE", p->replicas * p->nproc) || env_num(env, "NNODES", p->replicas) ||
	    podtmpl_env_field(env, "NODE_RANK", TJ_INDEX_FIELD) ||
	    (p->nproc == 1 && podtmpl_env_field(env, "RANK", TJ_INDEX_FIELD)) ||
	    podtmpl_env(env, "PET_MASTER_ADDR", master) || env_num(env, "PET_MASTER_PORT", p->port) ||
	    env_num(env, "PET_NNODES", p->replicas) ||
	    podtmpl_env_field(env, "PET_NODE_RANK", TJ_INDEX_FIELD) ||
	    env_num(env, "PET_NPROC_PER_NODE", p->nproc))
		return SAQR_ENOMEM;
	return 0;
}

/* TensorFlow: TF_CONFIG lists every worker "<job>-<i>.<svc>:<port>"; the task index differs per
 * pod, so it is written as $(SAQR_TF_TASK_INDEX), which the kubelet expands from the variable
 * defined just before it (the completion index). One worker needs no TF_CONFIG. */
static int env_tensorflow(json_t *env, const struct tj_plan *p)
{
	struct buf b;
	int rc = 0;

	if (p->replicas < 2)
		return 0;
	buf_init(&b, TF_CONFIG_MAX);
	rc = buf_adds(&b, "{\"cluster\":{\"worker\":[");
	for (long long i = 0; i < p->replicas && !rc; i++)
		rc = buf_addf(&b, "%s\"%s-%lld.%s:%lld\"", i ? "," : "", p->job, i, p->job, p->port);
	if (!rc)
		rc = buf_adds(&b, "]},\"task\":{\"type\":\"worker\",\"index\":$(" TJ_TF_INDEX_ENV ")}}");
	if (!rc && (podtmpl_env_field(env, TJ_TF_INDEX_ENV, TJ_INDEX_FIELD) ||
		    podtmpl_env(env, "TF_CONFIG", buf_str(&b))))
		rc = SAQR_ENOMEM;
	buf_release(&b);
	return rc;
}

/* The claim of a pvc:// URI into claim, and where the trainer finds what it names into path;
 * false for any other scheme. */
static bool pvc_split(const char *uri, const char *dir, char *claim, size_t claimlen, char *path,
		      size_t pathlen)
{
	const char *c, *rest;
	size_t n;

	if (!uri || strncmp(uri, "pvc://", 6) != 0)
		return false;
	c = uri + 6;
	n = strcspn(c, "/");
	rest = c + n;
	while (*rest == '/')
		rest++;
	snprintf(claim, claimlen, "%.*s", (int)(n < claimlen ? n : claimlen - 1), c);
	snprintf(path, pathlen, "%s%s%s", dir, *rest ? "/" : "", rest);
	return true;
}

static int env_pvc_path(json_t *env, const struct tj_plan *p, const char *field, const char *dir,
			const char *name)
{
	char key[16], claim[256], path[1024];

	snprintf(key, sizeof(key), "%s.uri", field);
	if (!pvc_split(json_path_str(p->spec, key, NULL), dir, claim, sizeof(claim), path, sizeof(path)))
		return 0;
	return podtmpl_env(env, name, path);
}

static json_t *trainer_env(const struct tj_plan *p)
{
	json_t *env = json_array();
	int rc;

	if (!env)
		return NULL;
	rc = env_opt(env, "SAQR_DATASET_URI", json_path_str(p->spec, "dataset.uri", NULL));
	if (!rc)
		rc = env_opt(env, "SAQR_OUTPUT_URI", json_path_str(p->spec, "output.uri", NULL));
	if (!rc)
		rc = env_pvc_path(env, p, "dataset", TJ_DATASET_DIR, "SAQR_DATASET_PATH");
	if (!rc)
		rc = env_pvc_path(env, p, "output", TJ_OUTPUT_DIR, "SAQR_OUTPUT_PATH");
	if (!rc && p->fw == FW_PYTORCH)
		rc = env_pytorch(env, p);
	if (!rc && p->fw == FW_TENSORFLOW)
		rc = env_tensorflow(env, p);
	if (!rc)
		rc = podtmpl_env_user(env, json_object_get(p->spec, "env"));
	if (rc) {
		json_decref(env);
		return NULL;
	}
	return env;
}

/* ---- Job ---- */

/* A pvc:// dataset or output: its claim as a volume of the pod, mounted at dir. */
static int pvc_volume(json_t *pod, const struct tj_plan *p, const char *field, const char *vol,
		      const char *dir, bool read_only)
{
	char key[16], claim[256], path[1024];

	snprintf(key, sizeof(key), "%s.uri", field);
	if (!pvc_split(json_path_str(p->spec, key, NULL), dir, claim, sizeof(claim), path, sizeof(path)))
		return 0;
	return podtmpl_add_volume(pod,
				  json_pack("{s:s, s:{s:s, s:b}}", "name", vol, "persistentVolumeClaim",
					    "claimName", claim, "readOnly", read_only),
				  dir, read_only);
}

static int pod_extras(json_t *pod, const struct tj_plan *p)
{
	json_t *c = json_path(pod, "containers.0");

	if (json_object_set_new(pod, "restartPolicy", json_string("Never")) ||
	    (p->replicas > 1 && json_object_set_new(pod, "subdomain", json_string(p->job))))
		return SAQR_ENOMEM;
	if (p->fw != FW_NONE && p->replicas > 1 &&
	    json_object_set_new(c, "ports",
				json_pack("[{s:s, s:I, s:s}]", "name", TJ_PORT_NAME, "containerPort",
					  (json_int_t)p->port, "protocol", "TCP")))
		return SAQR_ENOMEM;
	if (pvc_volume(pod, p, "dataset", "saqr-dataset", TJ_DATASET_DIR, true) ||
	    pvc_volume(pod, p, "output", "saqr-output", TJ_OUTPUT_DIR, false))
		return SAQR_ENOMEM;
	/* Data loaders share tensors through /dev/shm, which a container caps at 64 MiB. */
	return podtmpl_add_volume(pod,
				  json_pack("{s:s, s:{s:s}}", "name", "dshm", "emptyDir", "medium", "Memory"),
				  TJ_SHM_PATH, false);
}

static json_t *trainer_pod(const struct tj_plan *p)
{
	json_t *c =
	    podtmpl_container(TJ_CONTAINER, json_path_str(p->spec, "image", ""), p->spec, trainer_env(p));
	json_t *pod = c ? podtmpl_pod(c, json_path_str(p->spec, "serviceAccountName", NULL),
				      json_object_get(p->spec, "scheduling"))
			: NULL;

	if (pod && pod_extras(pod, p)) {
		json_decref(pod);
		return NULL;
	}
	return pod;
}

static int set_int_opt(json_t *obj, const json_t *spec, const char *key)
{
	json_t *v = json_object_get(spec, key);

	return json_is_integer(v) ? json_object_set_new(obj, key, json_deep_copy(v)) : 0;
}

/* spec.suspend is applied as is, except under Kueue (queueName), which owns suspend: then it is
 * applied only when true, so Saqr never resumes a Job that Kueue has not admitted. */
static int set_suspend(json_t *js, const json_t *spec)
{
	bool suspend = json_path_bool(spec, "suspend", false, NULL);
	bool queued = *json_path_str(spec, "queueName", "") != '\0';

	if (queued && !suspend)
		return 0;
	return json_object_set_new(js, "suspend", json_boolean(suspend)) ? SAQR_ENOMEM : 0;
}

static json_t *job_spec(const struct tj_plan *p, json_t *labels)
{
	json_t *js =
	    json_pack("{s:s, s:I, s:I, s:I, s:{s:{s:O}, s:o}}", "completionMode", "Indexed", "completions",
		      (json_int_t)p->replicas, "parallelism", (json_int_t)p->replicas, "backoffLimit",
		      (json_int_t)json_path_int(p->spec, "backoffLimit", TJ_DEFAULT_BACKOFF_LIMIT),
		      "template", "metadata", "labels", labels, "spec", trainer_pod(p));

	if (js && (set_int_opt(js, p->spec, "activeDeadlineSeconds") ||
		   set_int_opt(js, p->spec, "ttlSecondsAfterFinished") || set_suspend(js, p->spec))) {
		json_decref(js);
		return NULL;
	}
	return js;
}

static json_t *tj_labels(const struct tj_plan *p)
{
	return objmeta_labels(p->name, p->name, TJ_COMPONENT, OBJMETA_LABEL_TJ);
}

static json_t *job(const struct tj_plan *p)
{
	const char *queue = json_path_str(p->spec, "queueName", "");
	json_t *labels = tj_labels(p), *job_labels, *obj, *spec;

	if (!labels)
		return NULL;
	spec = job_spec(p, labels);
	job_labels = json_copy(labels);
	if (job_labels && *queue && json_object_set_new(job_labels, TJ_LABEL_QUEUE, json_string(queue))) {
		json_decref(job_labels);
		job_labels = NULL;
	}
	json_decref(labels);
	obj = objmeta_object("batch/v1", "Job", p->job, job_labels, p->tj);
	if (!obj || !spec || json_object_set_new(obj, "spec", spec) || podtmpl_inherit(p->tj, obj)) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

/* Headless, publishing not-ready pods, so every pod's DNS name exists before rendezvous. */
static json_t *rendezvous_service(const struct tj_plan *p)
{
	json_t *labels = tj_labels(p);
	json_t *sel = json_pack("{s:O}", OBJMETA_LABEL_TJ, json_object_get(labels, OBJMETA_LABEL_TJ));
	json_t *obj = objmeta_object("v1", "Service", p->job, labels, p->tj);
	json_t *spec =
	    json_pack("{s:s, s:b, s:o, s:[{s:s, s:I, s:I, s:s}]}", "clusterIP", "None",
		      "publishNotReadyAddresses", 1, "selector", sel, "ports", "name", TJ_PORT_NAME, "port",
		      (json_int_t)p->port, "targetPort", (json_int_t)p->port, "protocol", "TCP");

	if (!obj || !spec || json_object_set_new(obj, "spec", spec)) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

bool tj_finished(const json_t *status)
{
	const json_t *conds = json_object_get(status, "conditions");

	return cond_has_status(conds, "Succeeded", COND_TRUE) || cond_has_status(conds, "Failed", COND_TRUE);
}

static void owned_set(struct objmeta_owned *o, const struct kube_resource *res, const char *kind,
		      const char *name, enum objmeta_action action, json_t *obj)
{
	o->res = *res;
	o->kind = kind;
	o->action = action;
	snprintf(o->name, sizeof(o->name), "%s", name);
	o->obj = obj;
}

int tj_desired(const json_t *tj, struct tj_desired *out)
{
	char reason[64], msg[512];
	struct tj_desired d;
	struct tj_plan p;
	bool done, svc;

	if (!out || !tj_validate(tj, reason, sizeof(reason), msg, sizeof(msg)) || plan_init(tj, &p))
		return SAQR_EINVAL;
	memset(&d, 0, sizeof(d));
	done = tj_finished(json_object_get(tj, "status"));
	svc = !done && p.replicas > 1;
	owned_set(&d.owned[TJ_OWNED_JOB], &objmeta_res_jobs, "Job", p.job,
		  done ? OBJMETA_LEAVE : OBJMETA_APPLY, done ? NULL : job(&p));
	owned_set(&d.owned[TJ_OWNED_SERVICE], &objmeta_res_services, "Service", p.job,
		  svc ? OBJMETA_APPLY : OBJMETA_DELETE, svc ? rendezvous_service(&p) : NULL);
	if ((!done && !d.owned[TJ_OWNED_JOB].obj) || (svc && !d.owned[TJ_OWNED_SERVICE].obj)) {
		tj_desired_release(&d);
		return SAQR_ENOMEM;
	}
	*out = d;
	return 0;
}

void tj_desired_release(struct tj_desired *d)
{
	if (!d)
		return;
	for (int i = 0; i < TJ_OWNED_COUNT; i++)
		objmeta_owned_release(&d->owned[i]);
}
