/* AdmissionReview v1: the request as the apiserver sends it, and the reply it accepts. */
#include "webhook/admission.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "webhook/arena.h"
#include "webhook/fastjson.h"

#define ADMISSION_OMIT_RESERVE 64 /* room kept for the "N more warnings omitted" note */

/* ---- parsing ---- */

/* An optional string member: "" when absent or null; SAQR_EINVAL (naming it) when not a string. */
static int admission__opt_str(const json_t *obj, const char *key, const char *where, const char **out,
			      char *err, size_t errlen)
{
	const json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v)) {
		*out = "";
		return 0;
	}
	if (!json_is_string(v)) {
		snprintf(err, errlen, "%s%s must be a string", where, key);
		return SAQR_EINVAL;
	}
	*out = json_string_value(v);
	return 0;
}

/* A required, non-empty string member. */
static int admission__req_str(const json_t *obj, const char *key, const char *where, const char **out,
			      char *err, size_t errlen)
{
	int rc = admission__opt_str(obj, key, where, out, err, errlen);

	if (!rc && !**out) {
		snprintf(err, errlen, "%s%s is missing", where, key);
		rc = SAQR_EINVAL;
	}
	return rc;
}

/* An optional object member: NULL when absent or null. */
static int admission__opt_obj(const json_t *obj, const char *key, const char *where, const json_t **out,
			      char *err, size_t errlen)
{
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v)) {
		snprintf(err, errlen, "%s%s must be a JSON object", where, key);
		return SAQR_EINVAL;
	}
	*out = v;
	return 0;
}

static int admission__envelope(const json_t *root, const json_t **request, char *err, size_t errlen)
{
	const char *api_version, *kind;

	if (!json_is_object(root)) {
		snprintf(err, errlen, "the body is not a JSON object");
		return SAQR_EINVAL;
	}
	if (admission__req_str(root, "apiVersion", "", &api_version, err, errlen))
		return SAQR_EINVAL;
	if (strcmp(api_version, ADMISSION_API_VERSION) != 0) {
		snprintf(err, errlen, "apiVersion %.64s is not served; send %s", api_version,
			 ADMISSION_API_VERSION);
		return SAQR_EINVAL;
	}
	if (admission__req_str(root, "kind", "", &kind, err, errlen))
		return SAQR_EINVAL;
	if (strcmp(kind, ADMISSION_KIND) != 0) {
		snprintf(err, errlen, "kind %.64s is not %s", kind, ADMISSION_KIND);
		return SAQR_EINVAL;
	}
	if (admission__opt_obj(root, "request", "", request, err, errlen))
		return SAQR_EINVAL;
	if (!*request) {
		snprintf(err, errlen, "request is missing");
		return SAQR_EINVAL;
	}
	return 0;
}

static int admission__kind(const json_t *request, struct admission_request *r, char *err, size_t errlen)
{
	const json_t *gvk, *gvr;

	if (admission__opt_obj(request, "kind", "request.", &gvk, err, errlen))
		return SAQR_EINVAL;
	if (!gvk) {
		snprintf(err, errlen, "request.kind is missing");
		return SAQR_EINVAL;
	}
	if (admission__req_str(gvk, "kind", "request.kind.", &r->kind, err, errlen) ||
	    admission__opt_str(gvk, "group", "request.kind.", &r->group, err, errlen) ||
	    admission__opt_str(gvk, "version", "request.kind.", &r->version, err, errlen) ||
	    admission__opt_obj(request, "resource", "request.", &gvr, err, errlen))
		return SAQR_EINVAL;
	r->resource = "";
	if (gvr && admission__opt_str(gvr, "resource", "request.resource.", &r->resource, err, errlen))
		return SAQR_EINVAL;
	return admission__opt_str(request, "subResource", "request.", &r->sub_resource, err, errlen);
}

static int admission__user(const json_t *request, struct admission_request *r, char *err, size_t errlen)
{
	const json_t *user, *groups;
	size_t i;

	r->username = "";
	if (admission__opt_obj(request, "userInfo", "request.", &user, err, errlen))
		return SAQR_EINVAL;
	if (!user)
		return 0;
	if (admission__opt_str(user, "username", "request.userInfo.", &r->username, err, errlen))
		return SAQR_EINVAL;
	groups = json_object_get(user, "groups");
	if (!groups || json_is_null(groups))
		return 0;
	if (!json_is_array(groups))
		goto bad_groups;
	r->groups = calloc(json_array_size(groups) + 1, sizeof(*r->groups));
	if (!r->groups)
		return SAQR_ENOMEM;
	for (i = 0; i < json_array_size(groups); i++) {
		const json_t *g = json_array_get(groups, i);

		if (!json_is_string(g))
			goto bad_groups;
		r->groups[r->ngroups++] = json_string_value(g);
	}
	return 0;
bad_groups:
	snprintf(err, errlen, "request.userInfo.groups must be a list of strings");
	return SAQR_EINVAL;
}

static int admission__objects(const json_t *request, struct admission_request *r, char *err, size_t errlen)
{
	const json_t *dry;

	if (admission__opt_obj(request, "object", "request.", &r->object, err, errlen) ||
	    admission__opt_obj(request, "oldObject", "request.", &r->old_object, err, errlen))
		return SAQR_EINVAL;
	if (!r->object && (strcmp(r->operation, "CREATE") == 0 || strcmp(r->operation, "UPDATE") == 0)) {
		snprintf(err, errlen, "request.object is missing for a %s", r->operation);
		return SAQR_EINVAL;
	}
	dry = json_object_get(request, "dryRun");
	if (dry && !json_is_null(dry) && !json_is_boolean(dry)) {
		snprintf(err, errlen, "request.dryRun must be a boolean");
		return SAQR_EINVAL;
	}
	r->dry_run = json_is_true(dry);
	return 0;
}

static int admission__request(const json_t *request, struct admission_request *r, char *err, size_t errlen)
{
	int rc;

	if (admission__req_str(request, "uid", "request.", &r->uid, err, errlen) ||
	    admission__req_str(request, "operation", "request.", &r->operation, err, errlen) ||
	    admission__opt_str(request, "namespace", "request.", &r->namespace, err, errlen) ||
	    admission__opt_str(request, "name", "request.", &r->name, err, errlen))
		return SAQR_EINVAL;
	rc = admission__kind(request, r, err, errlen);
	if (!rc)
		rc = admission__user(request, r, err, errlen);
	if (!rc)
		rc = admission__objects(request, r, err, errlen);
	return rc;
}

int admission_parse(const char *body, size_t len, size_t max, struct admission_request *out, char *err,
		    size_t errlen)
{
	struct admission_request r = {0};
	const json_t *request = NULL;
	char jerr[160];
	int rc;

	if (len > max) {
		snprintf(err, errlen, "the AdmissionReview of %zu bytes exceeds the limit of %zu bytes", len,
			 max);
		return SAQR_ETOOBIG;
	}
	arena_open(); /* the review's values die together at admission_request_release */
	r.review = fastjson_parse(body, len, jerr, sizeof(jerr));
	arena_close();
	if (!r.review) {
		snprintf(err, errlen, "malformed JSON: %s", jerr);
		return SAQR_EPARSE;
	}
	rc = admission__envelope(r.review, &request, err, errlen);
	if (!rc)
		rc = admission__request(request, &r, err, errlen);
	if (rc) {
		if (rc == SAQR_ENOMEM)
			snprintf(err, errlen, "out of memory");
		admission_request_release(&r);
		return rc;
	}
	*out = r;
	return 0;
}

void admission_request_release(struct admission_request *r)
{
	if (!r)
		return;
	json_decref(r->review);
	free(r->groups);
	memset(r, 0, sizeof(*r));
}

/* ---- the reply ---- */

/* Longest prefix of s, at most max bytes, that does not split a UTF-8 sequence. */
static size_t admission__utf8_cut(const char *s, size_t len, size_t max)
{
	size_t n;

	if (len <= max)
		return len;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

size_t admission_warning_fit(const char *in, char *out, size_t outlen)
{
	static const char prefix[] = "warning:";
	size_t cap = outlen - 1 < ADMISSION_WARNING_MAX ? outlen - 1 : ADMISSION_WARNING_MAX;
	size_t len, n;

	while (*in == ' ' || *in == '\t')
		in++;
	if (strncasecmp(in, prefix, sizeof(prefix) - 1) == 0)
		in += sizeof(prefix) - 1;
	while (*in == ' ' || *in == '\t')
		in++;
	len = strlen(in);
	n = len;
	if (len > cap)
		n = admission__utf8_cut(in, len, cap - 3);
	for (size_t i = 0; i < n; i++)
		out[i] = ((unsigned char)in[i] < 0x20 || in[i] == 0x7f) ? ' ' : in[i];
	if (n < len) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
	return n;
}

static int admission__add_warning(json_t *arr, const char *text)
{
	json_t *s = json_string(text);

	if (!s)
		return 0; /* not UTF-8: skipped rather than failing the whole reply */
	return json_array_append_new(arr, s) ? SAQR_ENOMEM : 0;
}

/* The warnings that fit: all when they fit in 4 KiB, else as many as fit with room for a note. */
static int admission__warnings(const struct admission_verdict *v, json_t *arr)
{
	char w[ADMISSION_WARNING_MAX + 1], note[ADMISSION_OMIT_RESERVE];
	size_t total = 0, all = 0, budget;
	int rc = 0;

	for (size_t i = 0; i < v->nwarnings; i++)
		all += admission_warning_fit(v->warnings[i], w, sizeof(w));
	budget = all <= ADMISSION_WARNINGS_TOTAL_MAX ? ADMISSION_WARNINGS_TOTAL_MAX
						     : ADMISSION_WARNINGS_TOTAL_MAX - ADMISSION_OMIT_RESERVE;
	for (size_t i = 0; i < v->nwarnings && !rc; i++) {
		size_t n = admission_warning_fit(v->warnings[i], w, sizeof(w));

		if (!n)
			continue;
		if (total + n > budget) {
			snprintf(note, sizeof(note), "%zu more warnings omitted", v->nwarnings - i);
			return admission__add_warning(arr, note);
		}
		total += n;
		rc = admission__add_warning(arr, w);
	}
	return rc;
}

bool admission_annotation_key_valid(const char *key)
{
	size_t n = strlen(key);

	if (n == 0 || n > 63 || !isalnum((unsigned char)key[0]) || !isalnum((unsigned char)key[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)key[i]) && key[i] != '-' && key[i] != '_' && key[i] != '.')
			return false;
	return true;
}

static json_t *admission__cut_string(const char *s, size_t max, const char *marker)
{
	size_t len = strlen(s), n = admission__utf8_cut(s, len, max);
	json_t *v;
	char *tmp;

	if (n == len)
		return json_string(s);
	tmp = malloc(n + strlen(marker) + 1);
	if (!tmp)
		return NULL;
	memcpy(tmp, s, n);
	memcpy(tmp + n, marker, strlen(marker) + 1);
	v = json_string(tmp);
	free(tmp);
	return v;
}

static int admission__annotations(const struct admission_verdict *v, json_t *resp)
{
	const char *key;
	json_t *value, *out;

	if (!json_is_object(v->audit_annotations) || !json_object_size(v->audit_annotations))
		return 0;
	out = json_object();
	if (!out || json_object_set_new(resp, "auditAnnotations", out))
		return SAQR_ENOMEM;
	json_object_foreach((json_t *)v->audit_annotations, key, value)
	{
		json_t *s;

		const char *name = strrchr(key, '/') ? strrchr(key, '/') + 1 : key;

		if (!json_is_string(value) || !admission_annotation_key_valid(name))
			continue;
		s = admission__cut_string(json_string_value(value), ADMISSION_ANNOTATION_VALUE_MAX, "...");
		if (!s || json_object_set_new(out, name, s))
			return SAQR_ENOMEM;
	}
	return 0;
}

static int admission__status(const struct admission_verdict *v, json_t *resp)
{
	json_t *st = json_pack("{s:s, s:i}", "status", "Failure", "code", v->code ? v->code : 403);
	json_t *msg;

	if (!st || json_object_set_new(resp, "status", st))
		return SAQR_ENOMEM;
	if (v->reason && json_object_set_new(st, "reason", json_string(v->reason)))
		return SAQR_ENOMEM;
	if (!v->message || !*v->message)
		return 0;
	msg = admission__cut_string(v->message, ADMISSION_MESSAGE_MAX, " ... (message truncated)");
	return msg && !json_object_set_new(st, "message", msg) ? 0 : SAQR_ENOMEM;
}

static int admission__dump_cb(const char *data, size_t size, void *ud)
{
	return buf_add(ud, data, size) ? -1 : 0;
}

static int admission__dump(const json_t *root, struct buf *out)
{
	size_t before = out->len;

	if (json_dump_callback(root, admission__dump_cb, out, JSON_COMPACT | JSON_PRESERVE_ORDER)) {
		out->len = before;
		if (out->data)
			out->data[before] = '\0';
		return SAQR_ETOOBIG;
	}
	return 0;
}

int admission_response(const struct admission_request *req, const struct admission_verdict *v,
		       struct buf *out)
{
	json_t *root, *resp, *warnings;
	int rc = SAQR_ENOMEM;

	root = json_pack("{s:s, s:s, s:{s:s, s:b}}", "apiVersion", ADMISSION_API_VERSION, "kind",
			 ADMISSION_KIND, "response", "uid", req->uid, "allowed", v->allowed);
	if (!root)
		return SAQR_ENOMEM;
	resp = json_object_get(root, "response");
	if (!v->allowed && admission__status(v, resp))
		goto out;
	if (v->nwarnings) {
		warnings = json_array();
		if (!warnings || json_object_set_new(resp, "warnings", warnings) ||
		    admission__warnings(v, warnings))
			goto out;
	}
	if (admission__annotations(v, resp))
		goto out;
	rc = admission__dump(root, out);
out:
	json_decref(root);
	return rc;
}

int admission_error_body(int code, const char *reason, const char *message, struct buf *out)
{
	char text[1024];
	json_t *st;
	size_t i = 0;
	int rc;

	/* error texts may quote the bad input: keep printable ASCII only, so that it stays JSON */
	for (; message && message[i] && i + 1 < sizeof(text); i++)
		text[i] = (message[i] >= 0x20 && message[i] < 0x7f) ? message[i] : '?';
	text[i] = '\0';
	st = json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}", "kind", "Status", "apiVersion", "v1",
		       "metadata", "status", "Failure", "message", text, "reason",
		       reason ? reason : "BadRequest", "code", code);
	if (!st)
		return SAQR_ENOMEM;
	rc = admission__dump(st, out);
	json_decref(st);
	return rc;
}
