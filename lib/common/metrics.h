/* A small Prometheus metrics registry: counters, gauges and histograms with labels,
 * rendered in the text exposition format. All calls are thread-safe. */
#ifndef SAQR_COMMON_METRICS_H
#define SAQR_COMMON_METRICS_H

#include <stddef.h>

#include "common/buf.h"

struct metrics;

/* New empty registry; NULL when out of memory. Free with metrics_free (NULL is a no-op). */
struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/* labels is the text between the braces, already escaped, e.g. `kind="Pod",decision="allow"`,
 * or "" for none. A family's help and type are fixed by its first use.
 * Each returns 0, SAQR_ENOMEM, or SAQR_EINVAL when name is reused with another type. */
int metrics_counter_add(struct metrics *m, const char *name, const char *help, const char *labels, double v);
int metrics_gauge_set(struct metrics *m, const char *name, const char *help, const char *labels, double v);
/* Buckets are the upper bounds in increasing order, without +Inf; they are fixed by first use. */
int metrics_histogram_observe(struct metrics *m, const char *name, const char *help, const char *labels,
			      const double *buckets, size_t nbuckets, double v);
/* Current value of a counter or gauge series (0 when absent). */
double metrics_value(struct metrics *m, const char *name, const char *labels);
/* Append the whole registry in text format to out. */
int metrics_render(struct metrics *m, struct buf *out);
/* Escape a label value (backslash, quote, newline) into out, NUL-terminated; truncates to outlen. */
void metrics_escape_label(const char *in, char *out, size_t outlen);

#endif
