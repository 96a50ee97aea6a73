/* `saqrctl audit verify FILE`: check the hash chain of a saqr-webhook decision log (see
 * webhook/decisionlog.h). Lines without `seq` are other log lines and are skipped; every chained
 * line must follow the one before it (seq + 1) and carry its SHA-256 as `prev`. A line with
 * seq 1 and the all-zero prev starts a new chain (the webhook restarted). The chain cannot show
 * an altered or removed last line by itself: compare the printed head with one kept elsewhere,
 * or pass it with --head. */
#include "audit.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "webhook/decisionlog.h"

#define AUDIT_OK 0
#define AUDIT_BROKEN 1
#define AUDIT_ERROR 2
#define AUDIT_LINE_MAX ((size_t)4 << 20)

struct audit_chain {
	unsigned long line;	   /* physical line number in the file */
	unsigned long long expect; /* the next seq; 0 before the first chained line */
	char prev[DECISIONLOG_HASH_HEX];
	unsigned long nlines, nchains;
};

static void audit_usage(FILE *f)
{
	fputs("Usage: saqrctl audit verify FILE [--head SHA256]\n"
	      "\n"
	      "Check the hash chain of a saqr-webhook decision log (`kubectl logs` of a webhook pod,\n"
	      "saved to FILE; other log lines are skipped). Each decision line carries seq and prev,\n"
	      "the SHA-256 of the line before it. Reports the first altered, missing, reordered or\n"
	      "truncated line. --head: the SHA-256 the last line must have (kept from an earlier run).\n"
	      "Exit status: 0 the chain holds, 1 it is broken, 2 error.\n",
	      f);
}

/* One chained line (text without its newline, parsed as v). AUDIT_OK or AUDIT_BROKEN. */
static int audit_link(struct audit_chain *c, const char *text, const json_t *v, FILE *out)
{
	json_int_t seq = json_integer_value(json_object_get(v, "seq"));
	const char *prev = json_string_value(json_object_get(v, "prev"));

	if (!prev) {
		fprintf(out, "broken: line %lu (seq %lld) has no prev\n", c->line, (long long)seq);
		return AUDIT_BROKEN;
	}
	if (seq == 1 && strcmp(prev, DECISIONLOG_GENESIS) == 0) {
		c->nchains++; /* the first line of a process */
	} else if (!c->expect) {
		fprintf(out,
			"broken: line %lu: the log starts at seq %lld, not 1: earlier lines are missing\n",
			c->line, (long long)seq);
		return AUDIT_BROKEN;
	} else if ((unsigned long long)seq > c->expect) {
		fprintf(
		    out,
		    "broken: line %lu: seq %lld where %llu was expected: lines %llu to %lld are missing\n",
		    c->line, (long long)seq, c->expect, c->expect, (long long)seq - 1);
		return AUDIT_BROKEN;
	} else if ((unsigned long long)seq < c->expect) {
		fprintf(out,
			"broken: line %lu: seq %lld after seq %llu: lines are out of order or repeated\n",
			c->line, (long long)seq, c->expect - 1);
		return AUDIT_BROKEN;
	} else if (strcmp(prev, c->prev) != 0) {
		fprintf(
		    out,
		    "broken: line %lu (seq %lld): prev is not the SHA-256 of the line before it: the line "
		    "with seq %llu was altered, or lines were reordered\n",
		    c->line, (long long)seq, c->expect - 1);
		return AUDIT_BROKEN;
	}
	decisionlog_hash(text, strlen(text), c->prev);
	c->expect = (unsigned long long)seq + 1;
	c->nlines++;
	return AUDIT_OK;
}

/* One physical line of len bytes (newline included when there is one). */
static int audit_line(struct audit_chain *c, char *text, size_t len, FILE *out)
{
	bool newline = len && text[len - 1] == '\n';
	json_t *v;
	int rc = AUDIT_OK;

	if (newline)
		text[--len] = '\0';
	v = json_loadb(text, len, 0, NULL);
	if (json_is_object(v) && json_is_integer(json_object_get(v, "seq"))) {
		rc = newline ? audit_link(c, text, v, out) : AUDIT_BROKEN;
	} else if (!newline || strstr(text, "\"seq\":")) {
		rc = AUDIT_BROKEN; /* cut short, or a chained line that no longer parses */
	}
	if (rc == AUDIT_BROKEN && (!newline || !json_is_object(v)))
		fprintf(out, "broken: line %lu is %s\n", c->line,
			newline ? "damaged (not a JSON object)" : "truncated (no newline at its end)");
	json_decref(v);
	return rc;
}

static int audit_scan(FILE *in, struct audit_chain *c, FILE *out, FILE *errs)
{
	char *text = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = AUDIT_OK;

	while (rc == AUDIT_OK && (n = getline(&text, &cap, in)) > 0) {
		c->line++;
		if ((size_t)n > AUDIT_LINE_MAX) {
			fprintf(errs, "saqrctl audit: line %lu is longer than %zu bytes\n", c->line,
				AUDIT_LINE_MAX);
			rc = AUDIT_ERROR;
		} else if (!(n == 1 && text[0] == '\n')) {
			rc = audit_line(c, text, (size_t)n, out);
		}
	}
	if (rc == AUDIT_OK && ferror(in)) {
		fprintf(errs, "saqrctl audit: read error\n");
		rc = AUDIT_ERROR;
	}
	free(text);
	return rc;
}

int saqrctl_audit_verify(const char *path, const char *head, FILE *out, FILE *errs,
			 struct saqrctl_audit_chain *result)
{
	struct audit_chain c = {.line = 0};
	FILE *in = fopen(path, "r");
	int rc;

	if (!in) {
		fprintf(errs, "saqrctl audit: cannot open %s\n", path);
		return AUDIT_ERROR;
	}
	rc = audit_scan(in, &c, out, errs);
	fclose(in);
	if (rc == AUDIT_OK && !c.nlines) {
		fprintf(out, "broken: no decision log lines (with seq and prev) in %s\n", path);
		rc = AUDIT_BROKEN;
	}
	if (rc == AUDIT_OK && head && strcmp(head, c.prev) != 0) {
		fprintf(out,
			"broken: the last line's SHA-256 is %s, not %s: the log was cut or its end altered\n",
			c.prev, head);
		rc = AUDIT_BROKEN;
	}
	if (rc == AUDIT_OK)
		fprintf(out, "ok: %lu decision log lines in %lu chain(s), last seq %llu, head %s\n", c.nlines,
			c.nchains, c.expect - 1, c.prev);
	if (result) {
		result->nlines = c.nlines;
		result->nchains = c.nchains;
		result->last_seq = c.expect ? c.expect - 1 : 0;
		memcpy(result->head, c.prev, sizeof(result->head));
	}
	return rc;
}

int saqrctl_audit_run(int argc, char **argv, FILE *out, FILE *errs)
{
	const char *file = NULL, *head = NULL;

	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		audit_usage(out);
		return AUDIT_OK;
	}
	if (argc < 2 || strcmp(argv[1], "verify") != 0) {
		audit_usage(errs);
		return AUDIT_ERROR;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--head") == 0 && i + 1 < argc)
			head = argv[++i];
		else if (argv[i][0] != '-' && !file)
			file = argv[i];
		else
			file = NULL, i = argc; /* an unknown flag: usage */
	}
	if (!file) {
		audit_usage(errs);
		return AUDIT_ERROR;
	}
	return saqrctl_audit_verify(file, head, out, errs, NULL);
}

int saqrctl_audit_main(int argc, char **argv)
{
	return saqrctl_audit_run(argc, argv, stdout, stderr);
}
