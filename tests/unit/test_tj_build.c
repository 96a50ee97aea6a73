/* Unit tests for operator/trainingjob/trainingjob.c: the Indexed Job and headless Service of a
 * TrainingJob, field by field; PyTorch and TensorFlow rendezvous variables; Kueue and suspend;
 * a finished TrainingJob's Job left alone; the one "finished" rule; the checks the CRD cannot
 * make. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "../support/opfixture.h"
#include "common/err.h"
#include "common/jsonutil.h"
#include "operator/trainingjob/trainingjob.h"

#define S(obj, path) json_path_str((obj), (path), "<missing>")
#define I(obj, path) json_path_int((obj), (path), -12345)
#define INDEX_FIELD "metadata.annotations['batch.kubernetes.io/job-completion-index']"

static json_t *load(const char *name)
{
	json_t *v = opfix_load(name);

	assert_non_null(v);
	return v;
}

static void set(json_t *root, const char *parent, const char *key, json_t *v)
{
	json_t *obj = parent ? json_path(root, parent) : root;

	assert_non_null(obj);
	assert_int_equal(json_object_set_new(obj, key, v), 0);
}

static const char *label(const json_t *labels, const char *key)
{
	const char *v = json_string_value(json_object_get(labels, key));

	return v ? v : "<missing>";
}

static const char *env_val(const json_t *c, const char *name)
{
	return json_path_str(opfix_env(c, name), "value", "<missing>");
}

static const char *env_field(const json_t *c, const char *name)
{
	return json_path_str(opfix_env(c, name), "valueFrom.fieldRef.fieldPath", "<missing>");
}

static void test_job(void **state)
{
	json_t *tj = load("tj_fraud.json");
	struct tj_desired d;
	const json_t *job, *ref, *labels, *spec;

	(void)state;
	assert_int_equal(tj_desired(tj, &d), 0);
	assert_int_equal(d.owned[TJ_OWNED_JOB].action, OBJMETA_APPLY);
	assert_string_equal(d.owned[TJ_OWNED_JOB].name, "fraud-train");
	assert_string_equal(d.owned[TJ_OWNED_JOB].res.group, "batch");
	assert_string_equal(d.owned[TJ_OWNED_JOB].res.resource, "jobs");
	job = d.owned[TJ_OWNED_JOB].obj;
	assert_string_equal(S(job, "apiVersion"), "batch/v1");
	assert_string_equal(S(job, "kind"), "Job");
	assert_string_equal(S(job, "metadata.name"), "fraud-train"); /* Job name = TrainingJob name */
	assert_string_equal(S(job, "metadata.namespace"), "ml");
	ref = json_path(job, "metadata.ownerReferences.0");
	assert_string_equal(S(ref, "kind"), "TrainingJob");
	assert_string_equal(S(ref, "uid"), "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d");
	assert_true(json_is_true(json_object_get(ref, "controller")));
	assert_true(json_is_true(json_object_get(ref, "blockOwnerDeletion")));
	labels = json_path(job, "metadata.labels");
	assert_string_equal(label(labels, "kueue.x-k8s.io/queue-name"), "ml-gpu");
	assert_string_equal(label(labels, "app.kubernetes.io/component"), "trainer");
	assert_string_equal(label(labels, "app.kubernetes.io/managed-by"), "saqr-operator");
	assert_string_equal(label(labels, "saqr.dev/trainingjob"), "fraud-train");
	spec = json_object_get(job, "spec");
	assert_string_equal(S(spec, "completionMode"), "Indexed");
	assert_int_equal(I(spec, "completions"), 4);
	assert_int_equal(I(spec, "parallelism"), 4);
	assert_int_equal(I(spec, "backoffLimit"), 2);
	assert_int_equal(I(spec, "activeDeadlineSeconds"), 86400);
	assert_int_equal(I(spec, "ttlSecondsAfterFinished"), 3600);
	/* queued in Kueue and not suspended by the user: Kueue owns spec.suspend */
	assert_null(json_object_get(spec, "suspend"));
	assert_null(json_object_get(spec, "selector")); /* the Job controller generates it */
	/* the pod template does not carry the queue label (only the Job does) */
	assert_string_equal(label(json_path(spec, "template.metadata.labels"), "kueue.x-k8s.io/queue-name"),
			    "<missing>");
	assert_string_equal(label(json_path(spec, "template.metadata.labels"), "saqr.dev/trainingjob"),
			    "fraud-train");
	tj_desired_release(&d);
	json_decref(tj);
}

/* The compliance labels and annotations reach the Job and its pod template, so the Job's pods
 * are admitted and a break-glass reaches them. */
static void test_compliance_inherited(void **state)
{
	json_t *tj = load("tj_fraud.json");
	const json_t *job, *where[2];
	struct tj_desired d;

	(void)state;
	set(tj, "metadata", "labels",
	    json_pack("{s:s, s:s, s:s, s:s}", "saqr.dev/data-residency", "uae",
		      "saqr.dev/data-classification", "restricted", "saqr.dev/personal-data", "true", "team",
		      "risk"));
	set(tj, "metadata", "annotations",
	    json_pack("{s:s, s:s}", "saqr.dev/lawful-basis", "consent", "saqr.dev/retention", "P90D"));
	assert_int_equal(tj_desired(tj, &d), 0);
	job = d.owned[TJ_OWNED_JOB].obj;
	where[0] = json_path(job, "metadata");
	where[1] = json_path(job, "spec.template.metadata");
	for (int i = 0; i < 2; i++) {
		const json_t *l = json_object_get(where[i], "labels");
		const json_t *a = json_object_get(where[i], "annotations");

		assert_string_equal(label(l, "saqr.dev/data-residency"), "uae");
		assert_string_equal(label(l, "saqr.dev/data-classification"), "restricted");
		assert_string_equal(label(l, "saqr.dev/personal-data"), "true");
		assert_null(json_object_get(l, "team"));
		assert_string_equal(label(a, "saqr.dev/lawful-basis"), "consent");
		assert_string_equal(label(a, "saqr.dev/retention"), "P90D");
	}
	assert_string_equal(label(json_path(job, "spec.template.metadata.labels"), "saqr.dev/trainingjob"),
			    "fraud-train");
	tj_desired_release(&d);
	json_decref(tj);
}

static void test_pod(void **state)
{
	json_t *tj = load("tj_fraud.json");
	struct tj_desired d;
	const json_t *pod, *c;

	(void)state;
	assert_int_equal(tj_desired(tj, &d), 0);
	pod = json_path(d.owned[TJ_OWNED_JOB].obj, "spec.template.spec");
	assert_string_equal(S(pod, "restartPolicy"), "Never");
	assert_string_equal(S(pod, "subdomain"), "fraud-train");
	assert_string_equal(S(pod, "serviceAccountName"), "fraud-trainer");
	assert_true(json_is_false(json_object_get(pod, "automountServiceAccountToken")));
	assert_true(json_is_true(json_path(pod, "securityContext.runAsNonRoot")));
	assert_string_equal(S(pod, "securityContext.seccompProfile.type"), "RuntimeDefault");
	assert_true(
	    json_equal(json_object_get(pod, "nodeSelector"), json_path(tj, "spec.scheduling.nodeSelector")));
	assert_true(
	    json_equal(json_object_get(pod, "tolerations"), json_path(tj, "spec.scheduling.tolerations")));
	assert_string_equal(S(pod, "priorityClassName"), "ml-training");
	assert_null(json_object_get(pod, "affinity"));
	c = json_path(pod, "containers.0");
	assert_string_equal(S(c, "name"), "trainer");
	assert_string_equal(S(c, "image"), S(tj, "spec.image"));
	assert_true(json_equal(json_object_get(c, "command"), json_path(tj, "spec.command")));
	assert_true(json_equal(json_object_get(c, "args"), json_path(tj, "spec.args")));
	/* GPUs pass through untouched */
	assert_true(json_equal(json_object_get(c, "resources"), json_path(tj, "spec.resources")));
	assert_string_equal(
	    json_string_value(json_object_get(json_path(c, "resources.limits"), "nvidia.com/gpu")), "2");
	assert_true(json_is_false(json_path(c, "securityContext.allowPrivilegeEscalation")));
	assert_true(json_is_true(json_path(c, "securityContext.readOnlyRootFilesystem")));
	assert_string_equal(S(c, "securityContext.capabilities.drop.0"), "ALL");
	/* /tmp and a memory-backed /dev/shm */
	assert_int_equal(json_array_size(json_object_get(pod, "volumes")), 2);
	assert_string_equal(S(pod, "volumes.0.name"), "tmp");
	assert_string_equal(S(pod, "volumes.1.name"), "dshm");
	assert_string_equal(S(pod, "volumes.1.emptyDir.medium"), "Memory");
	assert_string_equal(S(c, "volumeMounts.1.mountPath"), "/dev/shm");
	assert_string_equal(S(c, "ports.0.name"), "rendezvous");
	assert_int_equal(I(c, "ports.0.containerPort"), 29500);
	tj_desired_release(&d);
	json_decref(tj);
}

static void test_pytorch_env(void **state)
{
	json_t *tj = load("tj_fraud.json");
	struct tj_desired d;
	const json_t *c;

	(void)state;
	assert_int_equal(tj_desired(tj, &d), 0);
	c = json_path(d.owned[TJ_OWNED_JOB].obj, "spec.template.spec.containers.0");
	assert_string_equal(env_val(c, "SAQR_DATASET_URI"), "s3://saqr-data/fraud/2024-05/");
	assert_string_equal(env_val(c, "SAQR_OUTPUT_URI"), "s3://saqr-models/fraud/1.5.0/model.onnx");
	assert_string_equal(env_val(c, "MASTER_ADDR"), "fraud-train-0.fraud-train");
	assert_string_equal(env_val(c, "MASTER_PORT"), "29500");
	assert_string_equal(env_val(c, "WORLD_SIZE"), "8"); /* 4 nodes x 2 processes */
	assert_string_equal(env_val(c, "NNODES"), "4");
	assert_string_equal(env_field(c, "NODE_RANK"), INDEX_FIELD);
	assert_null(opfix_env(c, "RANK")); /* torchrun sets RANK per process */
	assert_string_equal(env_val(c, "PET_MASTER_ADDR"), "fraud-train-0.fraud-train");
	assert_string_equal(env_val(c, "PET_MASTER_PORT"), "29500");
	assert_string_equal(env_val(c, "PET_NNODES"), "4");
	assert_string_equal(env_field(c, "PET_NODE_RANK"), INDEX_FIELD);
	assert_string_equal(env_val(c, "PET_NPROC_PER_NODE"), "2");
	assert_null(opfix_env(c, "TF_CONFIG"));
	/* user env last */
	assert_int_equal(opfix_env_index(c, "EPOCHS"), (int)json_array_size(json_object_get(c, "env")) - 1);
	tj_desired_release(&d);
	/* one process per node: RANK is the node's index */
	set(tj, "spec.distributed", "nprocPerNode", json_integer(1));
	assert_int_equal(tj_desired(tj, &d), 0);
	c = json_path(d.owned[TJ_OWNED_JOB].obj, "spec.template.spec.containers.0");
	assert_string_equal(env_field(c, "RANK"), INDEX_FIELD);
	assert_string_equal(env_val(c, "WORLD_SIZE"), "4");
	tj_desired_release(&d);
	json_decref(tj);
}

/* pvc:// dataset and output: the claims mounted (the dataset read-only), the paths in the env */
static void test_pvc_mounts(void **state)
{
	json_t *tj = load("tj_fraud.json");
	struct tj_desired d;
	const json_t *pod, *c;

	(void)state;
	set(tj, "spec.dataset", "uri", json_string("pvc://fraud-data/2024-05/"));
	set(tj, "spec.output", "uri", json_string("pvc://fraud-models/v4/model.onnx"));
	assert_int_equal(tj_desired(tj, &d), 0);
	pod = json_path(d.owned[TJ_OWNED_JOB].obj, "spec.template.spec");
	c = json_path(pod, "containers.0");
	assert_int_equal(json_array_size(json_object_get(pod, "volumes")), 4);
	assert_string_equal(S(pod, "volumes.1.name"), "saqr-dataset");
	assert_string_equal(S(pod, "volumes.1.persistentVolumeClaim.claimName"), "fraud-data");
	assert_true(json_is_true(json_path(pod, "volumes.1.persistentVolumeClaim.readOnly")));
	assert_string_equal(S(c, "volumeMounts.1.mountPath"), "/var/run/saqr/dataset");
	assert_true(json_is_true(json_path(c, "volumeMounts.1.readOnly")));
	assert_string_equal(S(pod, "volumes.2.name"), "saqr-output");
	assert_string_equal(S(pod, "volumes.2.persistentVolumeClaim.claimName"), "fraud-models");
	assert_true(json_is_false(json_path(pod, "volumes.2.persistentVolumeClaim.readOnly")));
	assert_string_equal(S(c, "volumeMounts.2.mountPath"), "/var/run/saqr/output");
	assert_null(json_path(c, "volumeMounts.2.readOnly"));
	assert_string_equal(env_val(c, "SAQR_DATASET_PATH"), "/var/run/saqr/dataset/2024-05/");
	assert_string_equal(env_val(c, "SAQR_OUTPUT_PATH"), "/var/run/saqr/output/v4/model.onnx");
	assert_string_equal(env_val(c, "SAQR_OUTPUT_URI"), "pvc://fraud-models/v4/model.onnx");
	tj_desired_release(&d);
	/* other schemes: nothing mounted, no paths */
	set(tj, "spec.output", "uri", json_string("s3://saqr-models/fraud/v4/model.onnx"));
	set(tj, "spec.dataset", "uri", json_string("s3://saqr-data/fraud/"));
	assert_int_equal(tj_desired(tj, &d), 0);
	c = json_path(d.owned[TJ_OWNED_JOB].obj, "spec.template.spec.containers.0");
	assert_null(opfix_env(c, "SAQR_OUTPUT_PATH"));
	assert_null(opfix_env(c, "SAQR_DATASET_PATH"));
	assert_int_equal(json_array_size(json_path(d.owned[TJ_OWNED_JOB].obj, "spec.template.spec.volumes")),
			 2);
	tj_desired_release(&d);
	json_decref(tj);
}

static void test_headless_service(void **state)
{
	json_t *tj = load("tj_fraud.json");
	struct tj_desired d;
	const json_t *svc;

	(void)state;
	assert_int_equal(tj_desired(tj, &d), 0);
	assert_int_equal(d.owned[TJ_OWNED_SERVICE].action, OBJMETA_APPLY);
	svc = d.owned[TJ_OWNED_SERVICE].obj;
	assert_string_equal(S(svc, "apiVersion"), "v1");
	assert_string_equal(S(svc, "kind"), "Service");
	assert_string_equal(S(svc, "metadata.name"), "fraud-train"); /* = the pods' subdomain */
	assert_string_equal(S(svc, "metadata.ownerReferences.0.name"), "fraud-train");
	assert_string_equal(S(svc, "spec.clusterIP"), "None");
	assert_true(json_is_true(json_path(svc, "spec.publishNotReadyAddresses")));
	assert_int_equal(json_object_size(json_path(svc, "spec.selector")), 1);
	assert_string_equal(label(json_path(svc, "spec.selector"), "saqr.dev/trainingjob"), "fraud-train");
	assert_int_equal(I(svc, "spec.ports.0.port"), 29500);
	tj_desired_release(&d);
	json_decref(tj);
}

static void test_tensorflow_config(void **state)
{
	json_t *tj = load("tj_fraud.json");
	struct tj_desired d;
	const json_t *c;
	int idx, cfg;

	(void)state;
	set(tj, "spec", "replicas", json_integer(3));
	set(tj, "spec", "distributed", json_pack("{s:s, s:i}", "framework", "tensorflow", "port", 2222));
	assert_int_equal(tj_desired(tj, &d), 0);
	c = json_path(d.owned[TJ_OWNED_JOB].obj, "spec.template.spec.containers.0");
	assert_string_equal(env_val(c, "TF_CONFIG"),
			    "{\"cluster\":{\"worker\":[\"fraud-train-0.fraud-train:2222\","
			    "\"fraud-train-1.fraud-train:2222\",\"fraud-train-2.fraud-train:2222\"]},"
			    "\"task\":{\"type\":\"worker\",\"index\":$(SAQR_TF_TASK_INDEX)}}");
	/* the kubelet expands $(VAR) only from variables defined earlier in the list */
	idx = opfix_env_index(c, "SAQR_TF_TASK_INDEX");
	cfg = opfix_env_index(c, "TF_CONFIG");
	assert_true(idx >= 0 && idx < cfg);
	assert_string_equal(env_field(c, "SAQR_TF_TASK_INDEX"), INDEX_FIELD);
	assert_null(opfix_env(c, "MASTER_ADDR"));
	assert_int_equal(I(d.owned[TJ_OWNED_SERVICE].obj, "spec.ports.0.port"), 2222);
	tj_desired_release(&d);
	json_decref(tj);
}

static void test_single_replica(void **state)
{
	json_t *tj = load("tj_fraud.json");
	struct tj_desired d;
	const json_t *pod, *c;

	(void)state;
	set(tj, "spec", "replicas", json_integer(1));
	assert_int_equal(tj_desired(tj, &d), 0);
	pod = json_path(d.owned[TJ_OWNED_JOB].obj, "spec.template.spec");
	c = json_path(pod, "containers.0");
	assert_int_equal(I(d.owned[TJ_OWNED_JOB].obj, "spec.completions"), 1);
	assert_null(json_object_get(pod, "subdomain"));
	assert_null(json_object_get(c, "ports"));
	assert_string_equal(env_val(c, "MASTER_ADDR"), "localhost");
	assert_int_equal(d.owned[TJ_OWNED_SERVICE].action, OBJMETA_DELETE);
	assert_string_equal(d.owned[TJ_OWNED_SERVICE].name, "fraud-train");
	assert_null(d.owned[TJ_OWNED_SERVICE].obj);
	tj_desired_release(&d);
	/* framework none: no rendezvous variables, defaults applied */
	set(tj, "spec", "distributed", json_pack("{s:s}", "framework", "none"));
	json_object_del(json_object_get(tj, "spec"), "backoffLimit");
	json_object_del(json_object_get(tj, "spec"), "activeDeadlineSeconds");
	json_object_del(json_object_get(tj, "spec"), "ttlSecondsAfterFinished");
	assert_int_equal(tj_desired(tj, &d), 0);
	c = json_path(d.owned[TJ_OWNED_JOB].obj, "spec.template.spec.containers.0");
	assert_null(opfix_env(c, "MASTER_ADDR"));
	assert_int_equal(I(d.owned[TJ_OWNED_JOB].obj, "spec.backoffLimit"), 3);
	assert_null(json_path(d.owned[TJ_OWNED_JOB].obj, "spec.activeDeadlineSeconds"));
	assert_null(json_path(d.owned[TJ_OWNED_JOB].obj, "spec.ttlSecondsAfterFinished"));
	tj_desired_release(&d);
	json_decref(tj);
}

static void test_suspend_mapping(void **state)
{
	json_t *tj = load("tj_fraud.json");
	struct tj_desired d;

	(void)state;
	/* with Kueue, a user suspend is applied */
	set(tj, "spec", "suspend", json_true());
	assert_int_equal(tj_desired(tj, &d), 0);
	assert_true(json_is_true(json_path(d.owned[TJ_OWNED_JOB].obj, "spec.suspend")));
	tj_desired_release(&d);
	/* without Kueue, suspend is applied both ways */
	json_object_del(json_object_get(tj, "spec"), "queueName");
	assert_int_equal(tj_desired(tj, &d), 0);
	assert_true(json_is_true(json_path(d.owned[TJ_OWNED_JOB].obj, "spec.suspend")));
	assert_null(json_object_get(json_path(d.owned[TJ_OWNED_JOB].obj, "metadata.labels"),
				    "kueue.x-k8s.io/queue-name"));
	tj_desired_release(&d);
	set(tj, "spec", "suspend", json_false());
	assert_int_equal(tj_desired(tj, &d), 0);
	assert_true(json_is_false(json_path(d.owned[TJ_OWNED_JOB].obj, "spec.suspend")));
	tj_desired_release(&d);
	json_decref(tj);
}

/* A status whose conditions are one of type with status. */
static json_t *status_with(const char *type, const char *status)
{
	json_t *st = json_pack("{s:[{s:s, s:s}]}", "conditions", "type", type, "status", status);

	assert_non_null(st);
	return st;
}

/* The rule the controller and the DriftPolicy retraining share: Succeeded or Failed is True. */
static void test_finished_rule(void **state)
{
	static const struct {
		const char *type, *status;
		bool finished;
	} cases[] = {
	    {"Succeeded", "True", true},  {"Failed", "True", true},   {"Succeeded", "False", false},
	    {"Failed", "Unknown", false}, {"Running", "True", false}, {"Complete", "True", false},
	};
	json_t *st;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		st = status_with(cases[i].type, cases[i].status);
		assert_int_equal(tj_finished(st), cases[i].finished);
		json_decref(st);
	}
	st = json_pack("{s:[{s:s, s:s}, {s:s, s:s}]}", "conditions", "type", "Running", "status", "False",
		       "type", "Failed", "status", "True");
	assert_true(tj_finished(st));
	json_decref(st);
	st = json_pack("{s:[]}", "conditions");
	assert_false(tj_finished(st));
	json_decref(st);
	assert_false(tj_finished(NULL));
}

static void test_finished_job_left_alone(void **state)
{
	json_t *tj = load("tj_fraud.json");
	struct tj_desired d;

	(void)state;
	set(tj, NULL, "status",
	    json_pack("{s:[{s:s, s:s, s:s, s:s, s:s}]}", "conditions", "type", "Succeeded", "status", "True",
		      "reason", "CompletionsReached", "message", "", "lastTransitionTime",
		      "2024-05-01T14:31:52Z"));
	assert_int_equal(tj_desired(tj, &d), 0);
	/* never re-create a finished training, even after ttlSecondsAfterFinished removed the Job */
	assert_int_equal(d.owned[TJ_OWNED_JOB].action, OBJMETA_LEAVE);
	assert_null(d.owned[TJ_OWNED_JOB].obj);
	assert_string_equal(d.owned[TJ_OWNED_JOB].name, "fraud-train");
	/* the rendezvous Service is no longer needed */
	assert_int_equal(d.owned[TJ_OWNED_SERVICE].action, OBJMETA_DELETE);
	tj_desired_release(&d);
	json_decref(tj);
}

static void test_long_name(void **state)
{
	json_t *tj = load("tj_fraud.json");
	struct tj_desired d;
	char name[OBJMETA_NAME_BUF];

	(void)state;
	set(tj, "metadata", "name",
	    json_string("fraud-detection-retraining-run-for-the-may-2024-dataset-window"));
	assert_int_equal(tj_desired(tj, &d), 0);
	/* "<job>-<index>" must stay a 63-character hostname */
	assert_true(strlen(d.owned[TJ_OWNED_JOB].name) <= TJ_NAME_MAX);
	assert_string_equal(S(d.owned[TJ_OWNED_JOB].obj, "metadata.name"), d.owned[TJ_OWNED_JOB].name);
	assert_string_equal(d.owned[TJ_OWNED_SERVICE].name, d.owned[TJ_OWNED_JOB].name);
	assert_string_equal(S(d.owned[TJ_OWNED_JOB].obj, "spec.template.spec.subdomain"),
			    d.owned[TJ_OWNED_JOB].name);
	assert_int_equal(tj_job_name(tj, name, sizeof(name)), 0);
	assert_string_equal(name, d.owned[TJ_OWNED_JOB].name);
	tj_desired_release(&d);
	json_decref(tj);
}

static void expect_invalid(json_t *tj, const char *needle)
{
	char reason[64] = "", msg[512] = "";
	struct tj_desired d;

	assert_false(tj_validate(tj, reason, sizeof(reason), msg, sizeof(msg)));
	assert_string_equal(reason, "InvalidSpec");
	if (!strstr(msg, needle))
		fail_msg("message \"%s\" lacks \"%s\"", msg, needle);
	assert_int_equal(tj_desired(tj, &d), SAQR_EINVAL);
	json_decref(tj);
}

static void test_validation(void **state)
{
	char reason[64], msg[512];
	json_t *tj = load("tj_fraud.json");

	(void)state;
	assert_true(tj_validate(tj, reason, sizeof(reason), msg, sizeof(msg)));
	json_decref(tj);

	tj = load("tj_fraud.json");
	set(tj, "spec.promote", "modelDeployment", json_string("serving/fraud"));
	expect_invalid(tj, "promotes only into a ModelDeployment of its own namespace");

	tj = load("tj_fraud.json");
	json_object_del(json_object_get(tj, "spec"), "output");
	expect_invalid(tj, "spec.promote needs spec.output.uri");

	tj = load("tj_fraud.json");
	set(tj, "spec.promote", "version", json_string(""));
	expect_invalid(tj, "spec.promote.version is empty");

	tj = load("tj_fraud.json");
	set(tj, "spec.promote", "modelDeployment", json_string(""));
	expect_invalid(tj, "spec.promote.modelDeployment is empty");

	tj = load("tj_fraud.json");
	set(tj, "spec", "replicas", json_integer(0));
	expect_invalid(tj, "spec.replicas is 0");

	tj = load("tj_fraud.json");
	set(tj, "spec", "replicas", json_integer(1001));
	set(tj, "spec.distributed", "framework", json_string("tensorflow"));
	expect_invalid(tj, "TensorFlow jobs take at most 1000 workers");

	tj = load("tj_fraud.json");
	json_array_append_new(json_path(tj, "spec.env"),
			      json_pack("{s:s, s:s}", "name", "WORLD_SIZE", "value", "1"));
	expect_invalid(tj, "spec.env[1] sets WORLD_SIZE");

	tj = load("tj_fraud.json");
	set(tj, "spec.distributed", "nprocPerNode", json_integer(0));
	expect_invalid(tj, "nprocPerNode must be at least 1");

	tj = load("tj_fraud.json");
	set(tj, "spec", "backoffLimit", json_integer(-1));
	expect_invalid(tj, "backoffLimit must not be negative");

	tj = load("tj_fraud.json");
	set(tj, "spec.distributed", "port", json_integer(0));
	expect_invalid(tj, "out of range");

	tj = load("tj_fraud.json");
	set(tj, "spec", "image", json_string(""));
	expect_invalid(tj, "spec.image is empty");

	tj = load("tj_fraud.json");
	set(tj, "spec.output", "uri", json_string("pvc:///v4/model.onnx"));
	expect_invalid(tj, "spec.output.uri \"pvc:///v4/model.onnx\" is not pvc://<claim>/<path>");

	tj = load("tj_fraud.json");
	set(tj, "spec.dataset", "uri", json_string("pvc://data/../etc/"));
	expect_invalid(tj, "spec.dataset.uri");

	tj = load("tj_fraud.json");
	json_array_append_new(json_path(tj, "spec.env"),
			      json_pack("{s:s, s:s}", "name", "SAQR_OUTPUT_PATH", "value", "/x"));
	expect_invalid(tj, "sets SAQR_OUTPUT_PATH");
}

static void test_errors(void **state)
{
	json_t *tj = load("tj_fraud.json");
	struct tj_desired d;
	char name[OBJMETA_NAME_BUF];

	(void)state;
	assert_int_equal(tj_desired(tj, NULL), SAQR_EINVAL);
	assert_int_equal(tj_desired(NULL, &d), SAQR_EINVAL);
	json_object_del(json_object_get(tj, "metadata"), "uid");
	assert_int_equal(tj_desired(tj, &d), SAQR_EINVAL);
	json_object_del(json_object_get(tj, "metadata"), "name");
	assert_int_equal(tj_job_name(tj, name, sizeof(name)), SAQR_EINVAL);
	tj_desired_release(NULL);
	json_decref(tj);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_job),
	    cmocka_unit_test(test_compliance_inherited),
	    cmocka_unit_test(test_pod),
	    cmocka_unit_test(test_pytorch_env),
	    cmocka_unit_test(test_pvc_mounts),
	    cmocka_unit_test(test_headless_service),
	    cmocka_unit_test(test_tensorflow_config),
	    cmocka_unit_test(test_single_replica),
	    cmocka_unit_test(test_suspend_mapping),
	    cmocka_unit_test(test_finished_rule),
	    cmocka_unit_test(test_finished_job_left_alone),
	    cmocka_unit_test(test_long_name),
	    cmocka_unit_test(test_validation),
	    cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
