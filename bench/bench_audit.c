/* Benchmark of the audit controller's pure part on generated objects: N Deployments (default
 * 10,000) in 10 namespaces, kept as compact JSON text as the informers' compact caches keep
 * them, are parsed one at a time, evaluated with the built-in policy (policy_eval) and added to
 * their namespace's report (audit_report_add); each report is built (audit_report_build). A
 * second pass audits the same objects against the first reports, the steady state: nothing
 * changed, nothing to write (audit_report_changed). Prints wall and CPU time per pass, per
 * object, the largest report's size and the process's peak RSS.
 * Usage: bench_audit [objects]. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "operator/audit/report.h"
#include "policy/policy.h"

#define NAMESPACES 10
#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define NOW ((time_t)1893456000)

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Deployment i: a third break Pod Security (hostPID), a third use an unpinned image, some
 * carry labels the compliance group asks for, one in 50 a break-glass in force. */
static char *object_text(size_t i)
{
	char name[32], ns[16], image[160];
	json_t *d;
	char *text;

	snprintf(name, sizeof(name), "app-%05zu", i);
	snprintf(ns, sizeof(ns), "team-%02zu", i % NAMESPACES);
	snprintf(image, sizeof(image),
		 i % 3 == 1 ? "registry.example.ae/app:1.%zu" : "registry.example.ae/app@" DIGEST, i % 7);
	d = json_pack(
	    "{s:s, s:s, s:{s:s, s:s, s:s, s:{s:s, s:s}}, s:{s:i, s:{s:{s:s}}, s:{s:{s:{s:s}}, "
	    "s:{s:b, s:b, s:s, s:{s:b, s:{s:s}}, s:[{s:s, s:s, s:{s:b, s:b, s:{s:[s]}}, s:[{s:i}]}]}}}}",
	    "apiVersion", "apps/v1", "kind", "Deployment", "metadata", "name", name, "namespace", ns, "uid",
	    name, "labels", "saqr.dev/owner", "team", "saqr.dev/data-classification",
	    i % 2 ? "internal" : "secret", "spec", "replicas", 2, "selector", "matchLabels", "app", name,
	    "template", "metadata", "labels", "app", name, "spec", "hostPID", i % 3 == 0,
	    "automountServiceAccountToken", 0, "serviceAccountName", "app", "securityContext", "runAsNonRoot",
	    1, "seccompProfile", "type", "RuntimeDefault", "containers", "name", "app", "image", image,
	    "securityContext", "allowPrivilegeEscalation", 0, "readOnlyRootFilesystem", 1, "capabilities",
	    "drop", "ALL", "ports", "containerPort", 8080);
	if (d && i % 50 == 0)
		json_object_set_new(
		    json_object_get(d, "metadata"), "annotations",
		    json_pack("{s:s}", "saqr.dev/break-glass", "INC-1; expires=2030-01-01T02:00:00Z"));
	text = d ? json_dumps(d, JSON_COMPACT) : NULL;
	json_decref(d);
	return text;
}

/* One audit of every namespace; prev[k] (may be NULL) is namespace k's report in the cluster.
 * Returns how many reports changed; docs[k] gets the new ones. */
static int audit_pass(const struct policy *p, char **texts, size_t n, json_t **prev, json_t **docs,
		      size_t *largest)
{
	int changed = 0;

	for (size_t k = 0; k < NAMESPACES; k++) {
		struct audit_report r;
		char ns[16];
		struct audit_report_meta m = {AUDIT_FORMAT_OPENREPORTS, NULL, ns};

		snprintf(ns, sizeof(ns), "team-%02zu", k);
		if (audit_report_init(&r))
			return -1;
		for (size_t i = k; i < n; i += NAMESPACES) {
			json_t *obj = json_loads(texts[i], 0, NULL);
			struct policy_input in = {
			    .object = obj, .operation = "CREATE", .namespace = ns, .now = NOW};
			struct policy_decision d;

			policy_decision_init(&d);
			if (!obj || policy_eval(p, &in, &d) || audit_report_add(&r, obj, &d, NOW))
				return -1;
			policy_decision_release(&d);
			json_decref(obj);
		}
		if (audit_report_build(&r, &m, prev ? prev[k] : NULL, NOW + 60, &docs[k]))
			return -1;
		changed += audit_report_changed(prev ? prev[k] : NULL, docs[k]);
		{
			char *s = json_dumps(docs[k], JSON_COMPACT);

			if (s && strlen(s) > *largest)
				*largest = strlen(s);
			free(s);
		}
		audit_report_release(&r);
	}
	return changed;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 10000, largest = 0, bytes = 0;
	json_t *first[NAMESPACES] = {0}, *second[NAMESPACES] = {0};
	struct policy *p = NULL;
	char **texts = calloc(n ? n : 1, sizeof(*texts));
	double w0, c0, w1, c1, w2, c2;
	int ch1, ch2;
	struct rusage ru;

	if (!texts || n == 0 || policy_load_default(&p))
		return 2;
	for (size_t i = 0; i < n; i++) {
		texts[i] = object_text(i);
		if (!texts[i])
			return 2;
		bytes += strlen(texts[i]);
	}
	w0 = wall_s(), c0 = cpu_s();
	ch1 = audit_pass(p, texts, n, NULL, first, &largest);
	w1 = wall_s(), c1 = cpu_s();
	ch2 = audit_pass(p, texts, n, first, second, &largest);
	w2 = wall_s(), c2 = cpu_s();
	if (ch1 < 0 || ch2 < 0)
		return 1;
	getrusage(RUSAGE_SELF, &ru);
	printf("bench-audit: %zu Deployments (%zu KiB as compact JSON) in %d namespaces, built-in policy\n",
	       n, bytes / 1024, NAMESPACES);
	printf("  first audit:  %.3f s wall, %.3f s CPU, %.1f us/object; %d reports to write\n", w1 - w0,
	       c1 - c0, (c1 - c0) * 1e6 / (double)n, ch1);
	printf("  steady state: %.3f s wall, %.3f s CPU, %.1f us/object; %d reports to write\n", w2 - w1,
	       c2 - c1, (c2 - c1) * 1e6 / (double)n, ch2);
	printf("  largest report: %zu KiB; peak RSS: %ld MiB\n", largest / 1024, ru.ru_maxrss / 1024);
	for (size_t k = 0; k < NAMESPACES; k++) {
		json_decref(first[k]);
		json_decref(second[k]);
	}
	for (size_t i = 0; i < n; i++)
		free(texts[i]);
	free(texts);
	policy_free(p);
	return ch2 == 0 ? 0 : 1;
}
