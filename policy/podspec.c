/* Pod templates of Kubernetes objects, and the pods Saqr's own kinds would produce.
 * Fields are read by walking each object's keys once (this runs on every admission). */
#include "policy/podspec.h"

#include <stdio.h>
#include <string.h>

#include "common/err.h"

const char *const podspec_lists[PODSPEC_NLISTS] = {"containers", "initContainers", "ephemeralContainers"};

struct podspec_kind_entry {
	const char *kind;
	const char *group;
	enum podspec_kind k;
	const char *spec_path; /* NULL: synthesised */
	const char *meta_path;
};

static const struct podspec_kind_entry podspec_kinds[] = {
    {"Pod", "", PODSPEC_KIND_POD, "spec", "metadata"},
    {"Deployment", "apps", PODSPEC_KIND_WORKLOAD, "spec.template.spec", "spec.template.metadata"},
    {"StatefulSet", "apps", PODSPEC_KIND_WORKLOAD, "spec.template.spec", "spec.template.metadata"},
    {"DaemonSet", "apps", PODSPEC_KIND_WORKLOAD, "spec.template.spec", "spec.template.metadata"},
    {"ReplicaSet", "apps", PODSPEC_KIND_WORKLOAD, "spec.template.spec", "spec.template.metadata"},
    {"ReplicationController", "", PODSPEC_KIND_WORKLOAD, "spec.template.spec", "spec.template.metadata"},
    {"Job", "batch", PODSPEC_KIND_WORKLOAD, "spec.template.spec", "spec.template.metadata"},
    {"CronJob", "batch", PODSPEC_KIND_WORKLOAD, "spec.jobTemplate.spec.template.spec",
     "spec.jobTemplate.spec.template.metadata"},
    {"PodTemplate", "", PODSPEC_KIND_WORKLOAD, "template.spec", "template.metadata"},
    {"ModelDeployment", "saqr.dev", PODSPEC_KIND_MODEL_DEPLOYMENT, NULL, NULL},
    {"TrainingJob", "saqr.dev", PODSPEC_KIND_TRAINING_JOB, NULL, NULL},
};

static const struct podspec_map podspec_model_map = {
    "spec", "spec.server", "spec.server.image", "spec.security.serviceAccountName", "spec.scheduling",
};

static const struct podspec_map podspec_training_map = {
    "spec", "spec", "spec.image", "spec.serviceAccountName", "spec.scheduling",
};

static bool podspec_group_matches(const char *api_version, const char *group)
{
	const char *slash;
	size_t n;

	if (!api_version)
		return true;
	slash = strchr(api_version, '/');
	if (!slash)
		return group[0] == '\0';
	n = (size_t)(slash - api_version);
	return strlen(group) == n && memcmp(api_version, group, n) == 0;
}

/* The value at a dotted path of object keys (no array indices), without copying segments. */
static const json_t *podspec_get(const json_t *obj, const char *path)
{
	const char *dot;

	while (obj && (dot = strchr(path, '.')) != NULL) {
		obj = json_object_getn(obj, path, (size_t)(dot - path));
		path = dot + 1;
	}
	return obj ? json_object_get(obj, path) : NULL;
}

static const struct podspec_kind_entry *podspec_entry(const json_t *obj)
{
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	const char *api = json_string_value(json_object_get(obj, "apiVersion"));
	size_t i;

	if (!kind)
		return NULL;
	for (i = 0; i < sizeof(podspec_kinds) / sizeof(podspec_kinds[0]); i++)
		if (strcmp(kind, podspec_kinds[i].kind) == 0 &&
		    podspec_group_matches(api, podspec_kinds[i].group))
			return &podspec_kinds[i];
	return NULL;
}

enum podspec_kind podspec_kind_of(const json_t *obj)
{
	const struct podspec_kind_entry *e = podspec_entry(obj);

	return e ? e->k : PODSPEC_KIND_OTHER;
}

static enum podspec_tri podspec_tri_of(const json_t *v)
{
	if (json_is_true(v))
		return PODSPEC_TRUE;
	return json_is_false(v) ? PODSPEC_FALSE : PODSPEC_UNSET;
}

/* Key dispatch switches on the first letter: this runs for every key of every container. */
static void podspec_read_sc_key(struct podspec_sc *sc, const char *key, const json_t *v)
{
	switch (key[0]) {
	case 'a':
		if (strcmp(key, "allowPrivilegeEscalation") == 0)
			sc->allow_privilege_escalation = podspec_tri_of(v);
		else if (strcmp(key, "appArmorProfile") == 0)
			sc->apparmor_type = json_string_value(json_object_get(v, "type"));
		break;
	case 'c':
		if (strcmp(key, "capabilities") == 0) {
			sc->cap_add = json_object_get(v, "add");
			sc->cap_drop = json_object_get(v, "drop");
		}
		break;
	case 'p':
		if (strcmp(key, "privileged") == 0)
			sc->privileged = podspec_tri_of(v);
		else if (strcmp(key, "procMount") == 0)
			sc->proc_mount = json_string_value(v);
		break;
	case 'r':
		if (strcmp(key, "runAsNonRoot") == 0) {
			sc->run_as_non_root = podspec_tri_of(v);
		} else if (strcmp(key, "runAsUser") == 0 && json_is_integer(v)) {
			sc->run_as_user_set = true;
			sc->run_as_user = json_integer_value(v);
		}
		break;
	case 's':
		if (strcmp(key, "seccompProfile") == 0)
			sc->seccomp_type = json_string_value(json_object_get(v, "type"));
		else if (strcmp(key, "seLinuxOptions") == 0)
			sc->selinux = json_is_object(v) ? v : NULL;
		else if (strcmp(key, "sysctls") == 0)
			sc->sysctls = json_is_array(v) ? v : NULL;
		break;
	case 'w':
		if (strcmp(key, "windowsOptions") == 0)
			sc->host_process = podspec_tri_of(json_object_get(v, "hostProcess"));
		break;
	default:
		break;
	}
}

static void podspec_read_sc(const json_t *obj, struct podspec_sc *sc)
{
	void *it;

	memset(sc, 0, sizeof(*sc));
	if (!json_is_object(obj))
		return;
	sc->obj = obj;
	for (it = json_object_iter((json_t *)obj); it; it = json_object_iter_next((json_t *)obj, it))
		podspec_read_sc_key(sc, json_object_iter_key(it), json_object_iter_value(it));
}

static void podspec_read_host_key(struct podspec *ps, const char *key, const json_t *v)
{
	if (strcmp(key, "hostNetwork") == 0)
		ps->host_network = podspec_tri_of(v);
	else if (strcmp(key, "hostPID") == 0)
		ps->host_pid = podspec_tri_of(v);
	else if (strcmp(key, "hostIPC") == 0)
		ps->host_ipc = podspec_tri_of(v);
	else if (strcmp(key, "hostUsers") == 0)
		ps->host_users = podspec_tri_of(v);
}

static void podspec_read_service_account(struct podspec *ps, const char *key, const json_t *v)
{
	if (json_string_length(v) == 0)
		return;
	if (strcmp(key, "serviceAccountName") == 0) {
		ps->service_account = json_string_value(v);
		ps->service_account_field = "serviceAccountName";
	} else if (strcmp(key, "serviceAccount") == 0 && !ps->service_account) {
		ps->service_account = json_string_value(v);
		ps->service_account_field = "serviceAccount";
	}
}

static void podspec_read_pod_key(struct podspec *ps, const char *key, const json_t *v)
{
	switch (key[0]) {
	case 'a':
		if (strcmp(key, "automountServiceAccountToken") == 0)
			ps->automount_token = podspec_tri_of(v);
		else if (strcmp(key, "affinity") == 0)
			ps->affinity = json_is_object(v) ? v : NULL;
		break;
	case 'c':
	case 'e':
	case 'i':
		for (int l = 0; l < PODSPEC_NLISTS; l++)
			if (strcmp(key, podspec_lists[l]) == 0)
				ps->lists[l] = json_is_array(v) ? v : NULL;
		break;
	case 'h':
		podspec_read_host_key(ps, key, v);
		break;
	case 'n':
		if (strcmp(key, "nodeSelector") == 0)
			ps->node_selector = json_is_object(v) ? v : NULL;
		break;
	case 'o':
		if (strcmp(key, "os") == 0) {
			const char *os = json_string_value(json_object_get(v, "name"));

			ps->windows = os && strcmp(os, "windows") == 0;
		}
		break;
	case 's':
		if (strcmp(key, "securityContext") == 0)
			podspec_read_sc(v, &ps->sc);
		else
			podspec_read_service_account(ps, key, v);
		break;
	case 'v':
		if (strcmp(key, "volumes") == 0)
			ps->volumes = json_is_array(v) ? v : NULL;
		break;
	default:
		break;
	}
}

static void podspec_read_pod(struct podspec *ps)
{
	void *it;

	ps->service_account_field = "serviceAccountName";
	for (it = json_object_iter((json_t *)ps->spec); it;
	     it = json_object_iter_next((json_t *)ps->spec, it))
		podspec_read_pod_key(ps, json_object_iter_key(it), json_object_iter_value(it));
}

/* A container with the hardening the operator applies to every pod it creates. */
static json_t *podspec_hardened_container(const char *name, const json_t *image)
{
	json_t *c = json_pack("{s:s, s:{s:b, s:b, s:b, s:{s:[s]}}}", "name", name, "securityContext",
			      "allowPrivilegeEscalation", 0, "readOnlyRootFilesystem", 1, "runAsNonRoot", 1,
			      "capabilities", "drop", "ALL");

	if (c && json_is_string(image) && json_object_set(c, "image", (json_t *)image) != 0) {
		json_decref(c);
		return NULL;
	}
	return c;
}

static int podspec_copy_field(json_t *dst, const json_t *src, const char *key)
{
	json_t *v = json_object_get(src, key);

	return v ? json_object_set(dst, key, v) : 0;
}

static json_t *podspec_synth(const json_t *image, const json_t *sa, const json_t *sched, const char *cname)
{
	static const char *const copied[] = {"nodeSelector", "affinity", "tolerations", "priorityClassName"};
	json_t *c = podspec_hardened_container(cname, image);
	json_t *spec;
	size_t i;

	if (!c)
		return NULL;
	spec =
	    json_pack("{s:b, s:{s:b, s:{s:s}}, s:[o]}", "automountServiceAccountToken", 0, "securityContext",
		      "runAsNonRoot", 1, "seccompProfile", "type", "RuntimeDefault", "containers", c);
	if (!spec)
		return NULL;
	if (json_is_string(sa) && json_object_set(spec, "serviceAccountName", (json_t *)sa) != 0)
		goto fail;
	for (i = 0; json_is_object(sched) && i < sizeof(copied) / sizeof(copied[0]); i++)
		if (podspec_copy_field(spec, sched, copied[i]) != 0)
			goto fail;
	return spec;
fail:
	json_decref(spec);
	return NULL;
}

static int podspec_synthesise(const json_t *obj, enum podspec_kind k, struct podspec *ps)
{
	const json_t *spec = json_object_get(obj, "spec");

	if (k == PODSPEC_KIND_MODEL_DEPLOYMENT) {
		ps->owned = podspec_synth(podspec_get(spec, "server.image"),
					  podspec_get(spec, "security.serviceAccountName"),
					  json_object_get(spec, "scheduling"), "server");
		ps->map = &podspec_model_map;
	} else {
		ps->owned =
		    podspec_synth(json_object_get(spec, "image"), json_object_get(spec, "serviceAccountName"),
				  json_object_get(spec, "scheduling"), "trainer");
		ps->map = &podspec_training_map;
	}
	if (!ps->owned)
		return SAQR_ENOMEM;
	ps->spec = ps->owned;
	ps->spec_path = ps->map->root;
	ps->meta_path = "metadata";
	return 1;
}

int podspec_find(const json_t *obj, enum podspec_kind k, struct podspec *ps)
{
	const struct podspec_kind_entry *e;
	int rc = 1;

	memset(ps, 0, sizeof(*ps));
	if (k == PODSPEC_KIND_OTHER)
		return 0;
	if (k == PODSPEC_KIND_MODEL_DEPLOYMENT || k == PODSPEC_KIND_TRAINING_JOB) {
		if (!json_is_object(json_object_get(obj, "spec")))
			return 0;
		rc = podspec_synthesise(obj, k, ps);
	} else {
		e = podspec_entry(obj);
		ps->spec = e ? podspec_get(obj, e->spec_path) : NULL;
		if (!json_is_object(ps->spec))
			return 0;
		ps->meta = podspec_get(obj, e->meta_path);
		ps->spec_path = e->spec_path;
		ps->meta_path = e->meta_path;
	}
	if (rc == 1)
		podspec_read_pod(ps);
	return rc;
}

void podspec_release(struct podspec *ps)
{
	if (!ps)
		return;
	json_decref(ps->owned);
	ps->owned = NULL;
}

size_t podspec_count(const struct podspec *ps, int l)
{
	return json_array_size(ps->lists[l]);
}

static void podspec_read_container_key(struct podspec_container *c, const char *key, const json_t *v)
{
	switch (key[0]) {
	case 'n':
		if (strcmp(key, "name") == 0)
			c->name = json_is_string(v) ? json_string_value(v) : "";
		break;
	case 'i':
		if (strcmp(key, "image") == 0)
			c->image = json_string_value(v);
		break;
	case 's':
		if (strcmp(key, "securityContext") == 0)
			podspec_read_sc(v, &c->sc);
		else if (strcmp(key, "startupProbe") == 0)
			c->probes[2] = v;
		break;
	case 'p':
		if (strcmp(key, "ports") == 0)
			c->ports = json_is_array(v) ? v : NULL;
		break;
	case 'l':
		if (strcmp(key, "livenessProbe") == 0)
			c->probes[0] = v;
		else if (strcmp(key, "lifecycle") == 0)
			c->lifecycle = v;
		break;
	case 'r':
		if (strcmp(key, "readinessProbe") == 0)
			c->probes[1] = v;
		break;
	default:
		break;
	}
}

void podspec_container(const struct podspec *ps, int l, size_t i, struct podspec_container *c)
{
	void *it;

	memset(c, 0, sizeof(*c));
	c->obj = json_array_get(ps->lists[l], i);
	c->list = podspec_lists[l];
	c->index = i;
	c->name = "";
	if (!json_is_object(c->obj))
		return;
	for (it = json_object_iter((json_t *)c->obj); it; it = json_object_iter_next((json_t *)c->obj, it))
		podspec_read_container_key(c, json_object_iter_key(it), json_object_iter_value(it));
}

static bool podspec_starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void podspec_synth_path(const struct podspec *ps, const struct podspec_container *c, const char *field,
			       char *out, size_t n)
{
	const struct podspec_map *m = ps->map;

	if (c)
		snprintf(out, n, "%s", field && strcmp(field, "image") == 0 ? m->image : m->container);
	else if (field && (podspec_starts(field, "serviceAccount") || podspec_starts(field, "automount")))
		snprintf(out, n, "%s", m->service_account);
	else if (field && (podspec_starts(field, "nodeSelector") || podspec_starts(field, "affinity") ||
			   podspec_starts(field, "tolerations")))
		snprintf(out, n, "%s.%s", m->scheduling, field);
	else
		snprintf(out, n, "%s", m->root);
}

void podspec_path(const struct podspec *ps, const struct podspec_container *c, const char *field, char *out,
		  size_t n)
{
	const char *dot = field ? "." : "";

	if (!field)
		field = "";
	if (ps->map)
		podspec_synth_path(ps, c, *field ? field : NULL, out, n);
	else if (c)
		snprintf(out, n, "%s.%s[%zu]%s%s", ps->spec_path, c->list, c->index, dot, field);
	else
		snprintf(out, n, "%s%s%s", ps->spec_path, dot, field);
}

void podspec_annotation_path(const struct podspec *ps, const char *key, char *out, size_t n)
{
	snprintf(out, n, "%s.annotations[%s]", ps->meta_path, key);
}

/* ---- kinds known by paths ---- */

#define PS_LIST(a)                                                                                           \
	{                                                                                                    \
		(a), sizeof(a) / sizeof((a)[0])                                                              \
	}
#define PS_NONE                                                                                              \
	{                                                                                                    \
		NULL, 0                                                                                      \
	}

static const char *const ps_kserve_specs[] = {"spec.predictor", "spec.transformer", "spec.explainer"};
static const char *const ps_kserve_uris[] = {"spec.predictor.*.storageUri", "spec.transformer.*.storageUri",
					     "spec.explainer.*.storageUri"};
static const char *const ps_pytorch[] = {"spec.pytorchReplicaSpecs.*.template"};
static const char *const ps_tf[] = {"spec.tfReplicaSpecs.*.template"};
static const char *const ps_mpi[] = {"spec.mpiReplicaSpecs.*.template"};
static const char *const ps_trainjob_uris[] = {"spec.initializer.dataset.storageUri",
					       "spec.initializer.model.storageUri"};
static const char *const ps_jobset[] = {"spec.replicatedJobs.*.template.spec.template"};
static const char *const ps_rollout[] = {"spec.template"};
static const char *const ps_raycluster[] = {"spec.headGroupSpec.template",
					    "spec.workerGroupSpecs.*.template"};
static const char *const ps_rayjob[] = {"spec.rayClusterSpec.headGroupSpec.template",
					"spec.rayClusterSpec.workerGroupSpecs.*.template",
					"spec.submitterPodTemplate"};
static const char *const ps_rayservice[] = {"spec.rayClusterConfig.headGroupSpec.template",
					    "spec.rayClusterConfig.workerGroupSpecs.*.template"};
static const char *const ps_lws[] = {"spec.leaderWorkerTemplate.leaderTemplate",
				     "spec.leaderWorkerTemplate.workerTemplate"};

static const struct podspec_paths ps_ecosystem[] = {
    {"serving.kserve.io", "InferenceService", PS_NONE, PS_LIST(ps_kserve_specs), PS_LIST(ps_kserve_uris)},
    {"kubeflow.org", "PyTorchJob", PS_LIST(ps_pytorch), PS_NONE, PS_NONE},
    {"kubeflow.org", "TFJob", PS_LIST(ps_tf), PS_NONE, PS_NONE},
    {"kubeflow.org", "MPIJob", PS_LIST(ps_mpi), PS_NONE, PS_NONE},
    {"trainer.kubeflow.org", "TrainJob", PS_NONE, PS_NONE, PS_LIST(ps_trainjob_uris)},
    {"jobset.x-k8s.io", "JobSet", PS_LIST(ps_jobset), PS_NONE, PS_NONE},
    {"argoproj.io", "Rollout", PS_LIST(ps_rollout), PS_NONE, PS_NONE},
    {"ray.io", "RayCluster", PS_LIST(ps_raycluster), PS_NONE, PS_NONE},
    {"ray.io", "RayJob", PS_LIST(ps_rayjob), PS_NONE, PS_NONE},
    {"ray.io", "RayService", PS_LIST(ps_rayservice), PS_NONE, PS_NONE},
    {"leaderworkerset.x-k8s.io", "LeaderWorkerSet", PS_LIST(ps_lws), PS_NONE, PS_NONE},
};

bool podspec_paths_match(const struct podspec_paths *k, const json_t *obj)
{
	const char *kind = json_string_value(json_object_get(obj, "kind"));

	return kind && strcmp(kind, k->kind) == 0 &&
	       podspec_group_matches(json_string_value(json_object_get(obj, "apiVersion")), k->group);
}

const struct podspec_paths *podspec_ecosystem(const json_t *obj)
{
	size_t i;

	for (i = 0; i < sizeof(ps_ecosystem) / sizeof(ps_ecosystem[0]); i++)
		if (podspec_paths_match(&ps_ecosystem[i], obj))
			return &ps_ecosystem[i];
	return NULL;
}

const struct podspec_paths *podspec_ecosystem_all(size_t *n)
{
	*n = sizeof(ps_ecosystem) / sizeof(ps_ecosystem[0]);
	return ps_ecosystem;
}

struct ps_walk {
	podspec_each_fn fn;
	void *arg;
	char path[PODSPEC_PATH_MAX];
};

/* Append ".seg" (or "seg" at the start) to w->path; false when it does not fit. */
static bool ps_push(struct ps_walk *w, size_t len, const char *seg, size_t seglen)
{
	int n = snprintf(w->path + len, sizeof(w->path) - len, "%s%.*s", len ? "." : "", (int)seglen, seg);

	return n > 0 && (size_t)n < sizeof(w->path) - len;
}

/* Append "[i]". */
static bool ps_push_index(struct ps_walk *w, size_t len, size_t i)
{
	int n = snprintf(w->path + len, sizeof(w->path) - len, "[%zu]", i);

	return n > 0 && (size_t)n < sizeof(w->path) - len;
}

static void ps_walk(struct ps_walk *w, const json_t *v, const char *pat, size_t len)
{
	size_t seglen = strcspn(pat, "."), i;
	const char *rest = pat[seglen] ? pat + seglen + 1 : pat + seglen;
	const char *key;
	json_t *child;

	if (!*pat) {
		w->fn(w->arg, v, w->path);
		return;
	}
	if (seglen == 1 && pat[0] == '*') {
		json_array_foreach((json_t *)v, i, child) if (ps_push_index(w, len, i))
		    ps_walk(w, child, rest, len + strlen(w->path + len));
		json_object_foreach((json_t *)v, key, child) if (ps_push(w, len, key, strlen(key)))
		    ps_walk(w, child, rest, len + strlen(w->path + len));
		return;
	}
	child = json_object_getn(v, pat, seglen);
	if (child && ps_push(w, len, pat, seglen))
		ps_walk(w, child, rest, len + strlen(w->path + len));
}

void podspec_each(const json_t *obj, const char *pattern, podspec_each_fn fn, void *arg)
{
	struct ps_walk w = {fn, arg, ""};
	char pat[PODSPEC_PATH_MAX];
	size_t i, j;

	/* "a[*].b" is "a.*.b" */
	for (i = j = 0; pattern[i] && j + 1 < sizeof(pat); i++) {
		if (strncmp(pattern + i, "[*]", 3) == 0) {
			pat[j++] = '.';
			pat[j++] = '*';
			i += 2;
		} else {
			pat[j++] = pattern[i];
		}
	}
	pat[j < sizeof(pat) ? j : sizeof(pat) - 1] = '\0';
	ps_walk(&w, obj, pat, 0);
}

struct ps_nth {
	size_t want, seen;
	bool template;
	struct podspec *ps;
	bool found;
};

static void ps_take(void *arg, const json_t *v, const char *path)
{
	struct ps_nth *t = arg;
	struct podspec *ps = t->ps;
	const json_t *spec = t->template ? json_object_get(v, "spec") : v;

	if (t->found || !json_is_object(spec) || t->seen++ != t->want)
		return;
	t->found = true;
	ps->spec = spec;
	if (t->template) {
		ps->meta = json_object_get(v, "metadata");
		snprintf(ps->spec_buf, sizeof(ps->spec_buf), "%s.spec", path);
		snprintf(ps->meta_buf, sizeof(ps->meta_buf), "%s.metadata", path);
		ps->meta_path = ps->meta_buf;
	} else {
		snprintf(ps->spec_buf, sizeof(ps->spec_buf), "%s", path);
		ps->meta_path = "metadata";
	}
	ps->spec_path = ps->spec_buf;
}

int podspec_find_paths(const json_t *obj, const struct podspec_paths *k, size_t n, struct podspec *ps)
{
	struct ps_nth t = {n, 0, true, ps, false};
	size_t i;

	memset(ps, 0, sizeof(*ps));
	for (i = 0; i < k->templates.n && !t.found; i++)
		podspec_each(obj, k->templates.v[i], ps_take, &t);
	t.template = false;
	for (i = 0; i < k->pod_specs.n && !t.found; i++)
		podspec_each(obj, k->pod_specs.v[i], ps_take, &t);
	if (!t.found)
		return 0;
	podspec_read_pod(ps);
	return 1;
}
