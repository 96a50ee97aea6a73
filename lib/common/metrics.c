/* Prometheus registry. Families and series live in growable arrays searched linearly:
 * Saqr exports tens of series, so a lookup is a few string compares. */
#include "common/metrics.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

struct series {
	char *labels;
	double value; /* counter or gauge; histogram sum */
	unsigned long long count;
	unsigned long long *bucket_counts; /* histogram: one per bucket (cumulative at render) */
};

struct family {
	char *name;
	char *help;
	enum metric_type type;
	double *buckets;
	size_t nbuckets;
	struct series *series;
	size_t nseries;
};

struct metrics {
	pthread_mutex_t lock;
	struct family *fams;
	size_t nfams;
};

struct metrics *metrics_new(void)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (m)
		pthread_mutex_init(&m->lock, NULL);
	return m;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nfams; i++) {
		struct family *f = &m->fams[i];

		for (size_t j = 0; j < f->nseries; j++) {
			free(f->series[j].labels);
			free(f->series[j].bucket_counts);
		}
		free(f->series);
		free(f->name);
		free(f->help);
		free(f->buckets);
	}
	free(m->fams);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static struct family *metrics_family(struct metrics *m, const char *name, const char *help,
				     enum metric_type type, const double *buckets, size_t nb)
{
	struct family *f;

	for (size_t i = 0; i < m->nfams; i++)
		if (strcmp(m->fams[i].name, name) == 0)
			return m->fams[i].type == type ? &m->fams[i] : NULL;
	f = realloc(m->fams, (m->nfams + 1) * sizeof(*f));
	if (!f)
		return NULL;
	m->fams = f;
	f = &m->fams[m->nfams];
	memset(f, 0, sizeof(*f));
	f->name = strdup(name);
	f->help = strdup(help ? help : "");
	f->type = type;
	if (nb) {
		f->buckets = malloc(nb * sizeof(double));
		if (f->buckets)
			memcpy(f->buckets, buckets, nb * sizeof(double));
		f->nbuckets = nb;
	}
	if (!f->name || !f->help || (nb && !f->buckets)) {
		free(f->name);
		free(f->help);
		free(f->buckets);
		return NULL;
	}
	m->nfams++;
	return f;
}

static struct series *metrics_series(struct family *f, const char *labels)
{
	struct series *s;

	for (size_t i = 0; i < f->nseries; i++)
		if (strcmp(f->series[i].labels, labels) == 0)
			return &f->series[i];
	s = realloc(f->series, (f->nseries + 1) * sizeof(*s));
	if (!s)
		return NULL;
	f->series = s;
	s = &f->series[f->nseries];
	memset(s, 0, sizeof(*s));
	s->labels = strdup(labels);
	if (f->nbuckets)
		s->bucket_counts = calloc(f->nbuckets, sizeof(*s->bucket_counts));
	if (!s->labels || (f->nbuckets && !s->bucket_counts)) {
		free(s->labels);
		free(s->bucket_counts);
		return NULL;
	}
	f->nseries++;
	return s;
}

static int metrics_update(struct metrics *m, const char *name, const char *help, const char *labels,
			  enum metric_type type, const double *buckets, size_t nb, double v)
{
	struct family *f;
	struct series *s;
	int rc = 0;

	pthread_mutex_lock(&m->lock);
	f = metrics_family(m, name, help, type, buckets, nb);
	s = f ? metrics_series(f, labels ? labels : "") : NULL;
	if (!s) {
		rc = f ? SAQR_ENOMEM : SAQR_EINVAL;
		goto out;
	}
	if (type == METRIC_GAUGE) {
		s->value = v;
	} else if (type == METRIC_COUNTER) {
		s->value += v;
	} else {
		s->value += v;
		s->count++;
		for (size_t i = 0; i < f->nbuckets; i++)
			if (v <= f->buckets[i]) {
				s->bucket_counts[i]++;
				break;
			}
	}
out:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int metrics_counter_add(struct metrics *m, const char *name, const char *help, const char *labels, double v)
{
	return metrics_update(m, name, help, labels, METRIC_COUNTER, NULL, 0, v);
}

int metrics_gauge_set(struct metrics *m, const char *name, const char *help, const char *labels, double v)
{
	return metrics_update(m, name, help, labels, METRIC_GAUGE, NULL, 0, v);
}

int metrics_histogram_observe(struct metrics *m, const char *name, const char *help, const char *labels,
			      const double *buckets, size_t nbuckets, double v)
{
	return metrics_update(m, name, help, labels, METRIC_HISTOGRAM, buckets, nbuckets, v);
}

double metrics_value(struct metrics *m, const char *name, const char *labels)
{
	double v = 0;

	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->nfams; i++) {
		struct family *f = &m->fams[i];

		if (strcmp(f->name, name) != 0)
			continue;
		for (size_t j = 0; j < f->nseries; j++)
			if (strcmp(f->series[j].labels, labels ? labels : "") == 0)
				v = f->series[j].value;
	}
	pthread_mutex_unlock(&m->lock);
	return v;
}

static int metrics_render_histogram(const struct family *f, const struct series *s, struct buf *out)
{
	unsigned long long cum = 0;
	const char *sep = s->labels[0] ? "," : "";
	int rc = 0;

	for (size_t i = 0; i < f->nbuckets && !rc; i++) {
		cum += s->bucket_counts[i];
		rc = buf_addf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", f->name, s->labels, sep, f->buckets[i],
			      cum);
	}
	if (!rc)
		rc = buf_addf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", f->name, s->labels, sep, s->count);
	if (!rc)
		rc = buf_addf(out, "%s_sum{%s} %.9g\n%s_count{%s} %llu\n", f->name, s->labels, s->value,
			      f->name, s->labels, s->count);
	return rc;
}

int metrics_render(struct metrics *m, struct buf *out)
{
	static const char *const types[] = {"counter", "gauge", "histogram"};
	int rc = 0;

	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->nfams && !rc; i++) {
		const struct family *f = &m->fams[i];

		rc = buf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, types[f->type]);
		for (size_t j = 0; j < f->nseries && !rc; j++) {
			const struct series *s = &f->series[j];

			if (f->type == METRIC_HISTOGRAM)
				rc = metrics_render_histogram(f, s, out);
			else if (s->labels[0])
				rc = buf_addf(out, "%s{%s} %.17g\n", f->name, s->labels, s->value);
			else
				rc = buf_addf(out, "%s %.17g\n", f->name, s->value);
		}
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

void metrics_escape_label(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	if (!outlen)
		return;
	for (; in && *in && o + 2 < outlen; in++) {
		if (*in == '\\' || *in == '"') {
			out[o++] = '\\';
			out[o++] = *in;
		} else if (*in == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
}
