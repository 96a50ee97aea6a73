/* The pure part of the TrainingJob reconciler: from a TrainingJob (and the Job observed in the
 * cluster) to the Indexed Job and headless Service to apply, the status to write, and the
 * one-time promotion of the trained model into a ModelDeployment. No I/O.
 *
 * Wiring (one reconcile of tj):
 *   tj_desired(tj, &d) (SAQR_EINVAL: invalid spec, status only); for each d.owned[i]:
 *       APPLY → server-side apply; DELETE → delete when objmeta_is_controlled_by(live, tj);
 *       LEAVE → nothing (the TrainingJob finished: its Job is never re-created, even after
 *       ttlSecondsAfterFinished removed it); tj_desired_release(&d)
 *   if (tj_output_wanted(tj, job)) {
 *       pods = LIST pods labelled batch.kubernetes.io/job-name=<job> in tj's namespace
 *       tj_output_from_pods(tj, job, pods, digest, err) → obs.output_digest or obs.output_error
 *   }
 *   tj_status(tj, &obs, now, &st)
 *   if (tj_promotion_pending(tj, st)) {
 *       no tj_output_digest(st) → tj_set_promoted(st, tj, TJ_REASON_DIGEST_MISSING, ...)
 *       md = GET modeldeployments/<tj_promotion_target(tj)> in tj's namespace (NULL on 404)
 *       rc = tj_promotion(tj, st, md, &patch)  → patch != NULL: merge-PATCH md with it
 *       tj_set_promoted(st, tj, rc/patch failed ? reason : NULL, message, now)
 *   }
 *   if (!cond_status_equal(st, tj.status)) write the status subresource
 */
#ifndef SAQR_OPERATOR_TRAININGJOB_H
#define SAQR_OPERATOR_TRAININGJOB_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "operator/objmeta.h"

#define TJ_KIND "TrainingJob"
#define TJ_DEFAULT_BACKOFF_LIMIT 3
#define TJ_DEFAULT_PORT 29500
/* The Job name is the TrainingJob name, cut (with a hash) to 57 characters so that the pod
 * hostname "<job>-<index>" stays a 63-character DNS label for up to TJ_MAX_REPLICAS pods. */
#define TJ_NAME_MAX 57
#define TJ_MAX_REPLICAS 99999
#define TJ_TF_MAX_REPLICAS 1000 /* TF_CONFIG lists every worker; keep the pod spec small */
#define TJ_CONTAINER "trainer"
#define TJ_COMPONENT "trainer"
#define TJ_PORT_NAME "rendezvous"
#define TJ_SHM_PATH "/dev/shm"
/* A pvc:// dataset or output is the claim mounted here (the dataset read-only); the file or
 * directory the URI names inside it is given to the trainer as SAQR_DATASET_PATH and
 * SAQR_OUTPUT_PATH. */
#define TJ_DATASET_DIR "/var/run/saqr/dataset"
#define TJ_OUTPUT_DIR "/var/run/saqr/output"
#define TJ_LABEL_QUEUE "kueue.x-k8s.io/queue-name"
#define TJ_ANN_INDEX "batch.kubernetes.io/job-completion-index"
#define TJ_INDEX_FIELD "metadata.annotations['" TJ_ANN_INDEX "']"
#define TJ_TF_INDEX_ENV "SAQR_TF_TASK_INDEX"
#define TJ_ANN_PROMOTED_FROM "saqr.dev/promoted-from"
#define TJ_COND_PROMOTED "Promoted"
#define TJ_REASON_INVALID "InvalidSpec"
#define TJ_REASON_APPLY_FAILED "ApplyFailed"
#define TJ_REASON_PROMOTION_FAILED "PromotionFailed"
#define TJ_REASON_DIGEST_MISSING "OutputDigestMissing"
/* The trainer's report: its termination message, at most what the kubelet keeps of one. */
#define TJ_TERMINATION_PATH "/dev/termination-log"
#define TJ_TERMINATION_MAX 4096
#define TJ_DIGEST_BUF 72      /* "sha256:" + 64 hex digits + NUL */
#define TJ_SIGNATURE_MAX 2048 /* as spec.model.signature of a ModelDeployment */

/* What the trainer reported of its output. */
struct tj_output {
	char digest[TJ_DIGEST_BUF];
	char signature[TJ_SIGNATURE_MAX + 1]; /* its OMS bundle, "" when the trainer signed nothing */
};

enum tj_owned_index {
	TJ_OWNED_JOB,	  /* APPLY; LEAVE once the TrainingJob has finished */
	TJ_OWNED_SERVICE, /* headless Service: APPLY with replicas > 1 while running, else DELETE */
	TJ_OWNED_COUNT
};

struct tj_desired {
	struct objmeta_owned owned[TJ_OWNED_COUNT];
};

/* Check what the CRD schema cannot: replica bounds, a promote target in another namespace or
 * without an output, user env that collides with the variables Saqr sets or repeats a name.
 * true when valid; else false with reason TJ_REASON_INVALID and a message saying what to do. */
bool tj_validate(const json_t *tj, char *reason, size_t reasonlen, char *msg, size_t msglen);

/* The Job (and Service) name for tj into out (OBJMETA_NAME_BUF bytes). 0 or SAQR_EINVAL. */
int tj_job_name(const json_t *tj, char *out, size_t outlen);

/* Desired owned objects of tj (apiVersion, kind, metadata with name, namespace, uid; spec;
 * status is read to know whether it finished). Each APPLY entry is apply-ready with labels and
 * a controller ownerReference. *out is filled only on success (free with tj_desired_release).
 * 0, SAQR_EINVAL (invalid tj, see tj_validate), SAQR_ENOMEM. */
int tj_desired(const json_t *tj, struct tj_desired *out);

/* Free the objects of d. NULL is a no-op. */
void tj_desired_release(struct tj_desired *d);

/* What the controller observed for tj. Borrowed; any may be NULL. */
struct tj_observed {
	const json_t *job;	      /* the Job as read back after apply, or NULL when absent */
	const char *apply_error;      /* what failed while applying, or NULL */
	const char *output_digest;    /* from tj_output_from_pods, or NULL */
	const char *output_signature; /* with output_digest: the signature reported, or NULL */
};

/* ---- output (output.c; tj_output_wanted in status.c) ---- */

/* Parse the trainer's termination message text (at most TJ_TERMINATION_MAX bytes):
 *   {"output":{"uri":"<spec.output.uri>","digest":"sha256:<64 lowercase hex>",
 *              "signature":"<where its OMS bundle is>"}}
 * output.digest is required; output.uri may be left out, but when present must equal want_uri
 * (spec.output.uri; NULL: not checked); output.signature is optional (1 to TJ_SIGNATURE_MAX
 * printable characters: a URI in the model's store or a path, as spec.model.signature); other
 * keys are ignored. out is written only on success. 0; SAQR_ETOOBIG; SAQR_EPARSE (not a JSON
 * object); SAQR_EINVAL (a field missing, of the wrong type or malformed). err names the field
 * and what it must be. */
int tj_output_parse(const char *text, const char *want_uri, struct tj_output *out, char *err, size_t errlen);

/* The digest the trainer reported, from pods (the Job's Pods, an array; borrowed): the first pod
 * controlled by job with completion index 0 whose trainer container terminated with exit code 0
 * is authoritative; its state.terminated.message goes through tj_output_parse. 0 (digest set);
 * SAQR_ENOTFOUND (no such pod) or tj_output_parse's error, err saying which pod and why. */
int tj_output_from_pods(const json_t *tj, const json_t *job, const json_t *pods, struct tj_output *out,
			char *err, size_t errlen);

/* Whether to read the Job's pods for the digest: job (live; NULL: gone) completed, tj has
 * spec.output, its status records no digest yet, and either the success is new or a
 * promotion still waits. */
bool tj_output_wanted(const json_t *tj, const json_t *job);

/* status.outputModel.digest of a TrainingJob status, or NULL. Borrowed. */
const char *tj_output_digest(const json_t *status);

/* status.outputModel.signature of a TrainingJob status, or NULL. Borrowed. */
const char *tj_output_signature(const json_t *status);

/* The full status tj should have: observedGeneration, jobName, startTime, completionTime,
 * active, succeeded, failed, outputModel {uri, version, digest} (after success with spec.output;
 * the digest from obs, else as recorded before for the same uri), and
 * conditions Ready, Created, Running, Suspended, Succeeded, Failed (plus Promoted, carried over
 * from the current status). Once tj has finished, a Job removed by TTL does not undo the result:
 * the recorded counts and outcome are kept. now is RFC 3339. *status_out is a new reference,
 * written only on success. 0, SAQR_EINVAL, SAQR_ENOMEM. */
int tj_status(const json_t *tj, const struct tj_observed *obs, const char *now, json_t **status_out);

/* Whether status (a TrainingJob's .status, as from tj_status; NULL is not finished) says the
 * training finished: condition Succeeded or Failed is True. The one rule for it: the
 * TrainingJob controller and the DriftPolicy retraining both ask it. */
bool tj_finished(const json_t *status);

/* The ModelDeployment name tj promotes into (borrowed), or NULL without spec.promote. */
const char *tj_promotion_target(const json_t *tj);

/* Whether promotion is still to do: tj is valid, has spec.promote, status says Succeeded and
 * Promoted is not True. Once Promoted is True this stays false: a model is promoted once. */
bool tj_promotion_pending(const json_t *tj, const json_t *status);

/* The merge patch (application/merge-patch+json) that puts tj's output in force in md without
 * rewriting spec.model, which Git owns (operator/modeloverride.h):
 * {"metadata":{"annotations":{"saqr.dev/promoted-from":"<tj>"}},
 *  "spec":{"modelOverride":{"model":{spec.model's name and format, "uri":<output.uri>,
 *          "version":<promote.version>,"digest":<digest>,"signature":<signature, or removed>},
 *          "reason":"Promotion","source":"TrainingJob/<tj>","base":{spec.model's uri, version,
 *          digest}}}}
 * with the digest and signature the trainer reported (status.outputModel; status as from
 * tj_status): the previous model's signature never stays on the new model.
 * *patch is NULL when md's model in force already is that uri, version, digest and signature.
 * md is the target as read (NULL when it does not exist). 0, SAQR_EEMPTY (no digest in status),
 * SAQR_ENOTFOUND (md NULL), SAQR_EINVAL (md is not the target, or tj cannot promote),
 * SAQR_ENOMEM. */
int tj_promotion(const json_t *tj, const json_t *status, const json_t *md, json_t **patch);

/* Record the promotion outcome in status (as from tj_status): fail_reason NULL means the target
 * now serves the output (Promoted=True, Ready=True); otherwise Promoted=False with fail_reason
 * (e.g. "TargetNotFound", "PatchFailed", TJ_REASON_DIGEST_MISSING) and message, and Ready=False
 * PromotionFailed. lastTransitionTime carries over from tj's status. 0, SAQR_EINVAL, SAQR_ENOMEM. */
int tj_set_promoted(json_t *status, const json_t *tj, const char *fail_reason, const char *message,
		    const char *now);

#endif
