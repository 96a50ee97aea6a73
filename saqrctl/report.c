/* Check results as JSON records, rendered as text or as a CheckReport document. */
#include "saqrctl/report.h"

#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"

int cli_report_init(struct cli_report *r)
{
	memset(r, 0, sizeof(*r));
	r->results = json_array();
	r->errors = json_array();
	if (r->results && r->errors)
		return 0;
	cli_report_release(r);
	return SAQR_ENOMEM;
}

void cli_report_release(struct cli_report *r)
{
	if (!r)
		return;
	json_decref(r->results);
	json_decref(r->errors);
	memset(r, 0, sizeof(*r));
}

static const char *cli_enforcement(enum policy_enforcement e)
{
	switch (e) {
	case POLICY_ENFORCE_DENY:
		return "deny";
	case POLICY_ENFORCE_WARN:
		return "warn";
	default:
		return "audit";
	}
}

static json_t *cli_violations(const struct policy_decision *d, bool *warned)
{
	json_t *arr = json_array();
	size_t i;

	*warned = false;
	for (i = 0; arr && i < d->nviolations; i++) {
		const struct policy_violation *v = &d->violations[i];

		if (json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s}", "rule", v->rule, "path",
							 v->path, "message", v->message, "enforcement",
							 cli_enforcement(v->enforcement))) != 0) {
			json_decref(arr);
			return NULL;
		}
		*warned = *warned || v->enforcement == POLICY_ENFORCE_WARN;
	}
	return arr;
}

static json_t *cli_str_or_null(const json_t *obj, const char *path)
{
	const char *s = json_path_str(obj, path, NULL);

	return s ? json_string(s) : json_null();
}

int cli_report_add(struct cli_report *r, const char *file, const json_t *entry,
		   const struct policy_decision *d)
{
	const json_t *obj = json_object_get(entry, "object");
	bool warned;
	json_t *viol = cli_violations(d, &warned);
	json_t *rec;

	if (!viol)
		return SAQR_ENOMEM;
	rec = json_pack("{s:s, s:O, s:o, s:o, s:o, s:o, s:b, s:b, s:o, s:o}", "file", file, "document",
			json_object_get(entry, "document"), "apiVersion", cli_str_or_null(obj, "apiVersion"),
			"kind", cli_str_or_null(obj, "kind"), "namespace",
			cli_str_or_null(obj, "metadata.namespace"), "name",
			cli_str_or_null(obj, "metadata.name"), "allowed", d->allowed, "exempt", d->exempt,
			"violations", viol, "auditAnnotations",
			d->audit_annotations ? json_incref(d->audit_annotations) : json_object());
	if (rec && json_object_get(entry, "item"))
		json_object_set(rec, "item", json_object_get(entry, "item"));
	if (!rec || json_array_append_new(r->results, rec) != 0)
		return SAQR_ENOMEM;
	if (!d->allowed)
		r->denied++;
	else
		r->allowed++;
	if (d->allowed && warned)
		r->warned++;
	return 0;
}

int cli_report_error(struct cli_report *r, const char *file, size_t document, const char *message)
{
	json_t *e = json_pack("{s:s, s:s}", "file", file, "message", message);

	if (e && document > 0)
		json_object_set_new(e, "document", json_integer((json_int_t)document));
	return e && json_array_append_new(r->errors, e) == 0 ? 0 : SAQR_ENOMEM;
}

/* "Deployment ns/name", "Deployment name" without a namespace, "<unnamed>" without a name. */
static void cli_object_label(const json_t *rec, char *out, size_t n)
{
	const char *ns = json_string_value(json_object_get(rec, "namespace"));
	const char *name = json_string_value(json_object_get(rec, "name"));

	snprintf(out, n, "%s %s%s%s", json_string_value(json_object_get(rec, "kind")), ns ? ns : "",
		 ns ? "/" : "", name ? name : "<unnamed>");
}

static void cli_text_record(const json_t *rec, FILE *out)
{
	const json_t *viol = json_object_get(rec, "violations");
	char label[512];
	size_t i;

	cli_object_label(rec, label, sizeof(label));
	for (i = 0; i < json_array_size(viol); i++) {
		const json_t *v = json_array_get(viol, i);
		const char *enf = json_string_value(json_object_get(v, "enforcement"));
		const char *mark = strcmp(enf, "deny") == 0   ? ""
				   : strcmp(enf, "warn") == 0 ? "warning: "
							      : "audit: ";

		fprintf(out, "%s: %s: %s[%s] %s: %s\n", json_string_value(json_object_get(rec, "file")),
			label, mark, json_string_value(json_object_get(v, "rule")),
			json_string_value(json_object_get(v, "path")),
			json_string_value(json_object_get(v, "message")));
	}
}

void cli_report_text(const struct cli_report *r, FILE *out, FILE *err)
{
	size_t i, nerr = json_array_size(r->errors);

	for (i = 0; i < json_array_size(r->results); i++)
		cli_text_record(json_array_get(r->results, i), out);
	for (i = 0; i < nerr; i++) {
		const json_t *e = json_array_get(r->errors, i);
		json_int_t doc = json_integer_value(json_object_get(e, "document"));

		if (doc > 0)
			fprintf(err, "saqrctl check: %s: document %lld: %s\n",
				json_string_value(json_object_get(e, "file")), (long long)doc,
				json_string_value(json_object_get(e, "message")));
		else
			fprintf(err, "saqrctl check: %s: %s\n", json_string_value(json_object_get(e, "file")),
				json_string_value(json_object_get(e, "message")));
	}
	fprintf(out, "%zu object%s: %zu allowed, %zu denied, %zu warned", json_array_size(r->results),
		json_array_size(r->results) == 1 ? "" : "s", r->allowed, r->denied, r->warned);
	if (nerr)
		fprintf(out, ", %zu error%s", nerr, nerr == 1 ? "" : "s");
	fputc('\n', out);
}

int cli_report_json(const struct cli_report *r, const char *policy_name, FILE *out)
{
	json_t *doc =
	    json_pack("{s:s, s:s, s:s, s:{s:I, s:I, s:I, s:I, s:I}, s:O, s:O}", "apiVersion",
		      "saqr.dev/v1alpha1", "kind", "CheckReport", "policy", policy_name, "summary", "objects",
		      (json_int_t)json_array_size(r->results), "allowed", (json_int_t)r->allowed, "denied",
		      (json_int_t)r->denied, "warned", (json_int_t)r->warned, "errors",
		      (json_int_t)json_array_size(r->errors), "results", r->results, "errors", r->errors);
	int rc;

	if (!doc)
		return SAQR_ENOMEM;
	rc = json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 ? 0 : SAQR_EIO;
	fputc('\n', out);
	json_decref(doc);
	return rc;
}

int cli_report_exit_code(const struct cli_report *r)
{
	if (json_array_size(r->errors) > 0)
		return CLI_EXIT_ERROR;
	return r->denied > 0 ? CLI_EXIT_DENIED : CLI_EXIT_ALLOWED;
}
