/* What a TrainingJob produced, as its trainer reports it: the termination message of the
 * trainer container of completion index 0, {"output":{"uri":...,"digest":"sha256:<64 hex>"}},
 * read from the Job's pods once the Job completed. The digest pins the promoted model. */
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "operator/trainingjob/trainingjob.h"

#define DIGEST_PREFIX "sha256:"
#define DIGEST_HEX 64

static bool is_digest(const char *s)
{
	size_t n = strlen(DIGEST_PREFIX);

	if (strncmp(s, DIGEST_PREFIX, n) != 0 || strlen(s) != n + DIGEST_HEX)
		return false;
	for (s += n; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

/* output.uri, when the trainer wrote one, must be the TrainingJob's: a digest of another
 * artifact must not pin the promoted one. */
static int check_uri(const json_t *out, const char *want_uri, char *err, size_t errlen)
{
	const json_t *uri = json_object_get(out, "uri");

	if (!uri)
		return 0;
	if (!json_is_string(uri))
		return saqr_fail(SAQR_EINVAL, err, errlen, "output.uri is not a string");
	if (want_uri && strcmp(json_string_value(uri), want_uri) != 0)
		return saqr_fail(
		    SAQR_EINVAL, err, errlen,
		    "output.uri \"%.200s\" is not spec.output.uri \"%.200s\": the digest describes another "
		    "artifact",
		    json_string_value(uri), want_uri);
	return 0;
}

/* output.signature, when the trainer signed its output: where the OMS bundle is. */
static int check_signature(const json_t *out, char *err, size_t errlen)
{
	const json_t *sig = json_object_get(out, "signature");
	const char *s = json_string_value(sig);
	size_t n = s ? strlen(s) : 0;

	if (!sig)
		return 0;
	if (!s)
		return saqr_fail(SAQR_EINVAL, err, errlen, "output.signature is not a string");
	if (n == 0 || n > TJ_SIGNATURE_MAX)
		return saqr_fail(SAQR_EINVAL, err, errlen,
				 "output.signature has %zu characters; give 1 to %d", n, TJ_SIGNATURE_MAX);
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return saqr_fail(SAQR_EINVAL, err, errlen,
					 "output.signature holds a space or control character");
	return 0;
}

static int check_output(const json_t *doc, const char *want_uri, char *err, size_t errlen)
{
	const json_t *out = json_object_get(doc, "output");
	const json_t *digest = json_object_get(out, "digest");

	if (!out)
		return saqr_fail(SAQR_EINVAL, err, errlen, "output is missing");
	if (!json_is_object(out))
		return saqr_fail(SAQR_EINVAL, err, errlen, "output is not an object");
	if (!digest)
		return saqr_fail(SAQR_EINVAL, err, errlen, "output.digest is missing");
	if (!json_is_string(digest))
		return saqr_fail(SAQR_EINVAL, err, errlen, "output.digest is not a string");
	if (!is_digest(json_string_value(digest)))
		return saqr_fail(SAQR_EINVAL, err, errlen,
				 "output.digest \"%.80s\" is not sha256:<64 lowercase hex digits>",
				 json_string_value(digest));
	if (check_uri(out, want_uri, err, errlen))
		return SAQR_EINVAL;
	return check_signature(out, err, errlen);
}

int tj_output_parse(const char *text, const char *want_uri, struct tj_output *out, char *err, size_t errlen)
{
	char perr[128] = "";
	size_t len = text ? strlen(text) : 0;
	json_t *doc;
	int rc;

	if (!text || !out)
		return saqr_fail(SAQR_EINVAL, err, errlen, "no termination message");
	if (len > TJ_TERMINATION_MAX)
		return saqr_fail(SAQR_ETOOBIG, err, errlen,
				 "the termination message has %zu bytes; at most %d", len,
				 TJ_TERMINATION_MAX);
	if (len == 0)
		return saqr_fail(SAQR_EINVAL, err, errlen, "the termination message is empty");
	doc = json_parse_capped(text, len, TJ_TERMINATION_MAX, perr, sizeof(perr));
	if (!doc)
		return saqr_fail(SAQR_EPARSE, err, errlen, "the termination message is not JSON: %s", perr);
	if (!json_is_object(doc))
		rc = saqr_fail(SAQR_EPARSE, err, errlen, "the termination message is not a JSON object");
	else
		rc = check_output(doc, want_uri, err, errlen);
	if (rc == 0) {
		snprintf(out->digest, sizeof(out->digest), "%s", json_path_str(doc, "output.digest", ""));
		snprintf(out->signature, sizeof(out->signature), "%s",
			 json_path_str(doc, "output.signature", ""));
	}
	json_decref(doc);
	return rc;
}

/* ---- the authoritative pod ---- */

static const json_t *trainer_terminated(const json_t *pod)
{
	size_t i;
	json_t *s;

	json_array_foreach(json_path(pod, "status.containerStatuses"), i, s)
	{
		if (strcmp(json_path_str(s, "name", ""), TJ_CONTAINER) == 0)
			return json_path(s, "state.terminated");
	}
	return NULL;
}

static bool owned_by(const json_t *pod, const char *job_uid)
{
	size_t i;
	json_t *ref;

	json_array_foreach(json_path(pod, "metadata.ownerReferences"), i, ref)
	{
		if (json_path_bool(ref, "controller", false, NULL) &&
		    strcmp(json_path_str(ref, "kind", ""), "Job") == 0 &&
		    strcmp(json_path_str(ref, "uid", ""), job_uid) == 0)
			return true;
	}
	return false;
}

/* Completion index 0 of the Job, its trainer exited 0. */
static const json_t *authoritative(const json_t *pod, const char *job_uid)
{
	const json_t *ann = json_path(pod, "metadata.annotations");
	const char *index = json_string_value(json_object_get(ann, TJ_ANN_INDEX));
	const json_t *term = trainer_terminated(pod);

	if (!owned_by(pod, job_uid) || !index || strcmp(index, "0") != 0 || !json_is_object(term) ||
	    json_path_int(term, "exitCode", 1) != 0)
		return NULL;
	return term;
}

int tj_output_from_pods(const json_t *tj, const json_t *job, const json_t *pods, struct tj_output *out,
			char *err, size_t errlen)
{
	const char *job_uid = json_path_str(job, "metadata.uid", "");
	const char *want = json_path_str(tj, "spec.output.uri", NULL);
	char perr[512];
	size_t i;
	json_t *pod;

	json_array_foreach(pods, i, pod)
	{
		const json_t *term = authoritative(pod, job_uid);
		int rc;

		if (!term)
			continue;
		rc = tj_output_parse(json_path_str(term, "message", ""), want, out, perr, sizeof(perr));
		if (rc)
			return saqr_fail(rc, err, errlen, "pod %s: %s",
					 json_path_str(pod, "metadata.name", ""), perr);
		return 0;
	}
	return saqr_fail(SAQR_ENOTFOUND, err, errlen,
			 "no pod of Job %s with completion index 0 whose " TJ_CONTAINER
			 " container exited 0 is left to read",
			 json_path_str(job, "metadata.name", ""));
}

const char *tj_output_digest(const json_t *status)
{
	const char *d = json_path_str(status, "outputModel.digest", NULL);

	return d && *d ? d : NULL;
}

const char *tj_output_signature(const json_t *status)
{
	const char *s = json_path_str(status, "outputModel.signature", NULL);

	return s && *s ? s : NULL;
}
