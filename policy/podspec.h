/* Finds the pod template in a Kubernetes object (Pod, the workload controllers, CronJob) or
 * synthesises the pod that Saqr's ModelDeployment and TrainingJob would produce, and reads
 * the fields the policy checks need in one pass, with the JSON path of each. */
#ifndef SAQR_POLICY_PODSPEC_H
#define SAQR_POLICY_PODSPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum podspec_kind {
	PODSPEC_KIND_OTHER = 0,
	PODSPEC_KIND_POD,
	PODSPEC_KIND_WORKLOAD, /* Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job,
				  CronJob, PodTemplate, and kinds found by paths (podspec_paths) */
	PODSPEC_KIND_MODEL_DEPLOYMENT,
	PODSPEC_KIND_TRAINING_JOB,
};

/* An optional boolean. */
enum podspec_tri { PODSPEC_UNSET = 0, PODSPEC_FALSE, PODSPEC_TRUE };

/* The fields of a pod- or container-level securityContext that the checks read. */
struct podspec_sc {
	const json_t *obj; /* NULL when absent */
	enum podspec_tri privileged;
	enum podspec_tri allow_privilege_escalation;
	enum podspec_tri run_as_non_root;
	enum podspec_tri host_process; /* windowsOptions.hostProcess */
	bool run_as_user_set;
	long long run_as_user;
	const char *seccomp_type;  /* seccompProfile.type */
	const char *apparmor_type; /* appArmorProfile.type */
	const json_t *selinux;	   /* seLinuxOptions */
	const char *proc_mount;
	const json_t *cap_add; /* capabilities.add */
	const json_t *cap_drop;
	const json_t *sysctls; /* pod level only */
};

#define PODSPEC_NLISTS 3
extern const char *const podspec_lists[PODSPEC_NLISTS]; /* containers, initContainers, ephemeralContainers */

struct podspec_container {
	const json_t *obj;
	const char *list; /* one of podspec_lists */
	size_t index;
	const char *name;  /* "" when missing */
	const char *image; /* NULL when missing */
	struct podspec_sc sc;
	const json_t *ports;
	const json_t *probes[3]; /* liveness, readiness, startup */
	const json_t *lifecycle;
};

/* Where the fields of a synthesised pod come from in the user's object. */
struct podspec_map {
	const char *root;	     /* "spec" */
	const char *container;	     /* "spec.server" */
	const char *image;	     /* "spec.server.image" */
	const char *service_account; /* "spec.security.serviceAccountName" */
	const char *scheduling;	     /* "spec.scheduling" */
};

#define PODSPEC_PATH_MAX 256

struct podspec {
	const json_t *spec;	       /* the pod spec (borrowed, or owned below) */
	const json_t *meta;	       /* the pod template's metadata, NULL when there is none */
	const char *spec_path;	       /* "spec.template.spec" */
	const char *meta_path;	       /* "spec.template.metadata" */
	const struct podspec_map *map; /* non-NULL for synthesised pods */
	json_t *owned;		       /* a synthesised pod spec, freed by podspec_release */
	struct podspec_sc sc;
	enum podspec_tri host_network, host_pid, host_ipc, host_users, automount_token;
	bool windows;			   /* spec.os.name == windows */
	const char *service_account;	   /* NULL when unset */
	const char *service_account_field; /* "serviceAccountName" or the deprecated "serviceAccount" */
	const json_t *volumes;
	const json_t *lists[PODSPEC_NLISTS];
	const json_t *node_selector;
	const json_t *affinity;
	char spec_buf[PODSPEC_PATH_MAX]; /* spec_path and meta_path of a pod found by paths */
	char meta_buf[PODSPEC_PATH_MAX];
};

/* Paths in a kind's objects, dotted, where "*" (or "[*]") stands for every key of an object
 * or every element of an array: "spec.pytorchReplicaSpecs.*.template". */
struct podspec_pathlist {
	const char *const *v;
	size_t n;
};

/* Where a kind that Saqr knows by paths keeps its pods and its storage URIs. */
struct podspec_paths {
	const char *group; /* API group ("" for the core group) */
	const char *kind;
	struct podspec_pathlist templates; /* PodTemplateSpecs: {metadata, spec} */
	struct podspec_pathlist pod_specs; /* PodSpecs inline (their pods carry the object's metadata) */
	struct podspec_pathlist uris;	   /* storage URIs (strings) */
};

/* The built-in entry for obj's kind and group among the ML ecosystem's kinds (KServe, Kubeflow
 * Training and Trainer, JobSet, Argo Rollouts, KubeRay, LeaderWorkerSet), or NULL. */
const struct podspec_paths *podspec_ecosystem(const json_t *obj);
/* Every built-in entry (for docs and tests); *n receives the count. */
const struct podspec_paths *podspec_ecosystem_all(size_t *n);
/* Whether obj is of k's kind and group (a missing apiVersion matches by kind alone). */
bool podspec_paths_match(const struct podspec_paths *k, const json_t *obj);

/* Fill ps with the n-th pod (0-based) of obj along k's templates, then its pod specs. 1 when
 * there is one, 0 when there are fewer. Release with podspec_release. */
int podspec_find_paths(const json_t *obj, const struct podspec_paths *k, size_t n, struct podspec *ps);

/* Call fn for every value at pattern in obj, with its path ("spec.a[0].b"). */
typedef void (*podspec_each_fn)(void *arg, const json_t *value, const char *path);
void podspec_each(const json_t *obj, const char *pattern, podspec_each_fn fn, void *arg);

/* Classify an object by kind and API group (a missing apiVersion matches by kind alone). */
enum podspec_kind podspec_kind_of(const json_t *obj);

/* Fill ps for obj of kind k. Returns 1 when the object has a pod, 0 when it has none (other
 * kinds, or a workload without a template), SAQR_ENOMEM. Release with podspec_release. */
int podspec_find(const json_t *obj, enum podspec_kind k, struct podspec *ps);
/* NULL-safe; frees a synthesised spec. */
void podspec_release(struct podspec *ps);

/* Number of containers in list l (0..PODSPEC_NLISTS-1), and the i-th read into c. */
size_t podspec_count(const struct podspec *ps, int l);
void podspec_container(const struct podspec *ps, int l, size_t i, struct podspec_container *c);

/* The path of field (dotted, may be NULL) in container c, or of a pod-level field when c is
 * NULL, as the user wrote it ("spec.template.spec.containers[0].securityContext.privileged";
 * "spec.server.image" for a ModelDeployment). Truncates to n bytes. */
void podspec_path(const struct podspec *ps, const struct podspec_container *c, const char *field, char *out,
		  size_t n);
/* The path of a key in the pod template's annotations. */
void podspec_annotation_path(const struct podspec *ps, const char *key, char *out, size_t n);

#endif
