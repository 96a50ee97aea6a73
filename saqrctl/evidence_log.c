/* `saqrctl report` over saqr-webhook's decision log: the hash chain verdict (the code of
 * `saqrctl audit verify`), decisions by outcome, break-glass and exemptions with who, when,
 * what and why, and denials per hour, summed per day when the log spans two days or more.
 * Lines other than "admission decision" ones are skipped, as audit verify skips them. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "common/err.h"
#include "policy/iso8601.h"
#include "saqrctl/audit.h"
#include "saqrctl/evidence_log.h"

#define EVL_LINE_MAX ((size_t)4 << 20) /* as audit verify */
#define EVL_HOUR 3600LL
#define EVL_DAY 86400LL
#define EVL_UNRECORDED "(not in the log)"

struct evl {
	const char *file;
	char *err;
	size_t errlen;
	unsigned long line;
	json_int_t decisions, allowed, denied, errors, dry_run, dropped, honoured, refused;
	time_t first, last;
	json_t *denials;	      /* hour start (decimal text) -> denials in that hour */
	json_t *break_glass, *exempt; /* rows, at most EVIDENCE_MAX_ROWS each */
	size_t nbreak_glass, nexempt; /* every row */
};

/* One "admission decision" line's fields, borrowed from its JSON. */
struct evl_decision {
	const char *time, *decision, *user, *kind, *ns, *name, *operation;
	const char *exempt_reason, *break_glass, *expires, *status, *waived;
	bool exempt, dry_run, refused_rule;
	time_t at;
};

static int evl_bad(const struct evl *l, const char *field, const char *problem)
{
	return saqr_fail(SAQR_EINVAL, l->err, l->errlen, "%s: line %lu: %s: %s", l->file, l->line, field,
			 problem);
}

static int evl_str(const struct evl *l, const json_t *v, const char *key, bool required, const char **out)
{
	const json_t *s = json_object_get(v, key);

	*out = json_string_value(s);
	if (!s && required)
		return evl_bad(l, key, "missing");
	if (s && !json_is_string(s))
		return evl_bad(l, key, "not a string");
	return 0;
}

static int evl_bool(const struct evl *l, const json_t *v, const char *key, bool *out)
{
	const json_t *b = json_object_get(v, key);

	*out = json_is_true(b);
	return !b || json_is_boolean(b) ? 0 : evl_bad(l, key, "not true or false");
}

/* rules: a list of strings, when there; whether it holds exemptions.breakGlass. */
static int evl_rules(const struct evl *l, const json_t *v, bool *refused)
{
	const json_t *rules = json_object_get(v, "rules"), *r;
	size_t i;

	*refused = false;
	if (rules && !json_is_array(rules))
		return evl_bad(l, "rules", "not a list");
	json_array_foreach(rules, i, r)
	{
		if (!json_is_string(r))
			return evl_bad(l, "rules", "an item is not a string");
		*refused = *refused || strcmp(json_string_value(r), "exemptions.breakGlass") == 0;
	}
	return 0;
}

static int evl_fields(const struct evl *l, const json_t *v, struct evl_decision *d)
{
	static const struct {
		const char *key;
		size_t off;
		bool required;
	} strs[] = {
	    {"time", offsetof(struct evl_decision, time), true},
	    {"decision", offsetof(struct evl_decision, decision), true},
	    {"user", offsetof(struct evl_decision, user), false},
	    {"kind", offsetof(struct evl_decision, kind), false},
	    {"namespace", offsetof(struct evl_decision, ns), false},
	    {"name", offsetof(struct evl_decision, name), false},
	    {"operation", offsetof(struct evl_decision, operation), false},
	    {"exemptReason", offsetof(struct evl_decision, exempt_reason), false},
	    {"breakGlass", offsetof(struct evl_decision, break_glass), false},
	    {"breakGlassExpires", offsetof(struct evl_decision, expires), false},
	    {"breakGlassStatus", offsetof(struct evl_decision, status), false},
	    {"waived", offsetof(struct evl_decision, waived), false},
	};
	int rc = 0;

	memset(d, 0, sizeof(*d));
	for (size_t i = 0; rc == 0 && i < sizeof(strs) / sizeof(strs[0]); i++)
		rc = evl_str(l, v, strs[i].key, strs[i].required, (const char **)((char *)d + strs[i].off));
	if (rc == 0)
		rc = evl_bool(l, v, "exempt", &d->exempt);
	if (rc == 0)
		rc = evl_bool(l, v, "dryRun", &d->dry_run);
	if (rc == 0)
		rc = evl_rules(l, v, &d->refused_rule);
	if (rc == 0 && rfc3339_parse(d->time, &d->at) != 0)
		rc = evl_bad(l, "time", "not an RFC 3339 time");
	return rc;
}

static json_t *evl_row(const struct evl_decision *d, const char *reason, const char *status)
{
	json_t *row =
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s}", "time", d->time, "user",
		      d->user ? d->user : "", "kind", d->kind ? d->kind : "", "namespace", d->ns ? d->ns : "",
		      "name", d->name ? d->name : "", "operation", d->operation ? d->operation : "", "dryRun",
		      d->dry_run, "reason", reason ? reason : EVL_UNRECORDED);

	if (row && status)
		json_object_set_new(row, "status", json_string(status));
	if (row && d->expires)
		json_object_set_new(row, "expires", json_string(d->expires));
	if (row && d->waived)
		json_object_set_new(row, "waived", json_string(d->waived));
	return row;
}

static int evl_keep(json_t *rows, size_t *n, json_t *row)
{
	if (!row)
		return SAQR_ENOMEM;
	if ((*n)++ >= EVIDENCE_MAX_ROWS) {
		json_decref(row);
		return 0;
	}
	return json_array_append_new(rows, row) ? SAQR_ENOMEM : 0;
}

/* A break-glass used (honoured) or attempted (refused), or another exemption. */
static int evl_exemption(struct evl *l, const struct evl_decision *d)
{
	const char *status = d->status;

	if (!d->break_glass && d->refused_rule && strcmp(d->decision, "deny") == 0)
		status = "refused"; /* a log from before breakGlass was logged */
	else if (!d->break_glass && !d->exempt)
		return 0;
	if (d->break_glass || status) {
		if (!status)
			status = d->exempt ? "honoured" : "refused";
		l->honoured += strcmp(status, "honoured") == 0;
		l->refused += strcmp(status, "refused") == 0;
		return evl_keep(l->break_glass, &l->nbreak_glass, evl_row(d, d->break_glass, status));
	}
	return evl_keep(l->exempt, &l->nexempt, evl_row(d, d->exempt_reason, NULL));
}

static int evl_deny_at(struct evl *l, time_t at)
{
	char key[32];
	long long hour = (long long)at - (((long long)at % EVL_HOUR) + EVL_HOUR) % EVL_HOUR;

	snprintf(key, sizeof(key), "%lld", hour);
	return json_object_set_new(l->denials, key,
				   json_integer(json_integer_value(json_object_get(l->denials, key)) + 1))
		   ? SAQR_ENOMEM
		   : 0;
}

static int evl_decision(struct evl *l, const json_t *v)
{
	struct evl_decision d;
	int rc = evl_fields(l, v, &d);

	if (rc)
		return rc;
	if (strcmp(d.decision, "allow") == 0)
		l->allowed++;
	else if (strcmp(d.decision, "deny") == 0)
		l->denied++;
	else if (strcmp(d.decision, "error") == 0)
		l->errors++;
	else
		return evl_bad(l, "decision", "not allow, deny or error");
	if (!l->decisions++ || d.at < l->first)
		l->first = d.at;
	if (l->decisions == 1 || d.at > l->last)
		l->last = d.at;
	l->dry_run += d.dry_run;
	if (strcmp(d.decision, "deny") == 0 && (rc = evl_deny_at(l, d.at)) != 0)
		return rc;
	return evl_exemption(l, &d);
}

static int evl_line(struct evl *l, const char *text, size_t len)
{
	json_t *v = json_loadb(text, len, 0, NULL);
	const char *msg = json_string_value(json_object_get(v, "msg"));
	int rc = 0;

	if (msg && strcmp(msg, "admission decision") == 0)
		rc = evl_decision(l, v);
	else if (json_is_integer(json_object_get(v, "seq")) && json_is_integer(json_object_get(v, "dropped")))
		l->dropped += json_integer_value(json_object_get(v, "dropped"));
	json_decref(v);
	return rc;
}

static int evl_scan(struct evl *l)
{
	FILE *f = fopen(l->file, "r");
	char *text = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;

	if (!f)
		return saqr_fail(SAQR_EIO, l->err, l->errlen, "%s: cannot open: %s", l->file,
				 strerror(errno));
	while (rc == 0 && (n = getline(&text, &cap, f)) > 0) {
		l->line++;
		if ((size_t)n > EVL_LINE_MAX)
			rc = saqr_fail(SAQR_ETOOBIG, l->err, l->errlen, "%s: line %lu: longer than %zu bytes",
				       l->file, l->line, EVL_LINE_MAX);
		else
			rc = evl_line(l, text, (size_t)n);
	}
	if (rc == 0 && ferror(f))
		rc = saqr_fail(SAQR_EIO, l->err, l->errlen, "%s: read error", l->file);
	free(text);
	fclose(f);
	return rc;
}

/* ---- the chain ---- */

/* The first line of text, without its newline, as a new JSON string. */
static json_t *evl_first_line(const char *text)
{
	size_t n = text ? strcspn(text, "\n") : 0;

	return json_stringn(text ? text : "", n);
}

/* "chain": the verdict of saqrctl_audit_verify on the file. */
static int evl_chain(struct evl *l, json_t **out)
{
	struct saqrctl_audit_chain c;
	char *text = NULL, *diag = NULL;
	size_t tlen = 0, dlen = 0;
	FILE *vout = open_memstream(&text, &tlen), *verr = open_memstream(&diag, &dlen);
	int rc = SAQR_ENOMEM, verdict;

	memset(&c, 0, sizeof(c));
	if (vout && verr) {
		verdict = saqrctl_audit_verify(l->file, NULL, vout, verr, &c);
		fclose(vout);
		fclose(verr);
		vout = verr = NULL;
		if (verdict == 2)
			rc = saqr_fail(SAQR_EIO, l->err, l->errlen, "%s: verifying the hash chain: %.*s",
				       l->file, (int)strcspn(diag ? diag : "", "\n"), diag ? diag : "");
		else
			*out = json_pack("{s:b, s:s, s:o, s:I, s:I, s:I, s:s}", "verified", verdict == 0,
					 "result", verdict == 0 ? "ok" : "broken", "message",
					 evl_first_line(text), "lines", (json_int_t)c.nlines, "chains",
					 (json_int_t)c.nchains, "lastSeq", (json_int_t)c.last_seq, "head",
					 c.head);
		if (verdict != 2)
			rc = *out ? 0 : SAQR_ENOMEM;
	}
	if (vout)
		fclose(vout);
	if (verr)
		fclose(verr);
	free(text);
	free(diag);
	return rc;
}

/* ---- denials over time ---- */

static json_t *evl_time(long long t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char text[32];

	gmtime_r(&tt, &tm);
	strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(text);
}

/* Counts per step from start, n buckets, filled from the hourly map. */
static void evl_fill(const json_t *denials, long long start, long long step, size_t n, json_int_t *counts)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)denials, key, v)
	{
		long long hour = strtoll(key, NULL, 10), at = hour - ((hour % step) + step) % step;

		if (at >= start && (at - start) / step < (long long)n)
			counts[(at - start) / step] += json_integer_value(v);
	}
}

/* "denials": {unit, truncated, max, buckets: [{start, denied}]}, one bucket per hour or day from
 * the first decision to the last (the latest EVIDENCE_MAX_BUCKETS). */
static json_t *evl_series(const struct evl *l)
{
	bool daily = (long long)l->last - (long long)l->first >= 2 * EVL_DAY;
	long long step = daily ? EVL_DAY : EVL_HOUR;
	long long start = (long long)l->first - (((long long)l->first % step) + step) % step;
	long long end = (long long)l->last - (((long long)l->last % step) + step) % step;
	size_t n = l->decisions ? (size_t)((end - start) / step + 1) : 0;
	bool truncated = n > EVIDENCE_MAX_BUCKETS;
	json_t *buckets = json_array(), *series;
	json_int_t *counts, max = 0;

	if (truncated) {
		start = end - (long long)(EVIDENCE_MAX_BUCKETS - 1) * step;
		n = EVIDENCE_MAX_BUCKETS;
	}
	counts = calloc(n ? n : 1, sizeof(*counts));
	if (counts && buckets)
		evl_fill(l->denials, start, step, n, counts);
	for (size_t i = 0; counts && buckets && i < n; i++) {
		max = counts[i] > max ? counts[i] : max;
		if (json_array_append_new(buckets, json_pack("{s:o, s:I}", "start",
							     evl_time(start + (long long)i * step), "denied",
							     counts[i]))) {
			json_decref(buckets);
			buckets = NULL;
		}
	}
	series = counts && buckets ? json_pack("{s:s, s:b, s:I, s:O}", "unit", daily ? "day" : "hour",
					       "truncated", truncated, "max", max, "buckets", buckets)
				   : NULL;
	free(counts);
	json_decref(buckets);
	return series;
}

/* ---- the section ---- */

static json_t *evl_doc(const struct evl *l, json_t *chain)
{
	return json_pack("{s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:{s:I, s:I, s:I, s:O}, "
			 "s:{s:I, s:O}, s:o}",
			 "file", l->file, "chain", chain, "decisions", l->decisions, "allowed", l->allowed,
			 "denied", l->denied, "errors", l->errors, "dryRun", l->dry_run, "droppedLines",
			 l->dropped, "first", l->decisions ? evl_time(l->first) : json_null(), "last",
			 l->decisions ? evl_time(l->last) : json_null(), "breakGlass", "total",
			 (json_int_t)l->nbreak_glass, "honoured", l->honoured, "refused", l->refused,
			 "events", l->break_glass, "exemptions", "total", (json_int_t)l->nexempt, "events",
			 l->exempt, "denials", evl_series(l));
}

int evidence_decision_log(json_t *doc, const char *path, char *err, size_t errlen)
{
	struct evl l = {.file = path, .err = err, .errlen = errlen};
	json_t *chain = NULL, *section;
	int rc;

	l.denials = json_object();
	l.break_glass = json_array();
	l.exempt = json_array();
	rc = l.denials && l.break_glass && l.exempt ? evl_scan(&l) : SAQR_ENOMEM;
	if (rc == 0)
		rc = evl_chain(&l, &chain);
	if (rc == 0) {
		section = evl_doc(&l, chain);
		rc = section && json_object_set_new(doc, "decisionLog", section) == 0 ? 0 : SAQR_ENOMEM;
	}
	if (rc == SAQR_ENOMEM)
		saqr_errf(err, errlen, "%s: %s", path, saqr_strerror(rc));
	json_decref(l.denials);
	json_decref(l.break_glass);
	json_decref(l.exempt);
	return rc;
}
