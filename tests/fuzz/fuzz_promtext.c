/* libFuzzer target for the Prometheus text and OpenMetrics parser (drift/promtext.c) and what a
 * DriftPolicy computes from a scrape: any bytes must give an exposition or an error naming the
 * line, never a crash or a leak. On success every family found is read as a counter and as a
 * histogram (with its increase over itself, quantiles and bins) and as a 5xx ratio. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "drift/promtext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The family a sample belongs to: its name without a histogram suffix, into out. */
static void family(const char *name, char *out, size_t outlen)
{
	static const char *const suffixes[] = {"_bucket", "_count", "_sum"};
	size_t n = strlen(name);

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t s = strlen(suffixes[i]);

		if (n > s && strcmp(name + n - s, suffixes[i]) == 0) {
			n -= s;
			break;
		}
	}
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, name, n);
	out[n] = '\0';
}

static void read_histogram(const struct promtext *p, const char *name, const struct promtext_label *filter,
			   size_t nfilter)
{
	struct promtext_hist h = {0}, inc = {0};
	double q, edges[258], counts[257];
	char err[256] = "";
	bool reset;
	int rc = promtext_histogram(p, name, filter, nfilter, &h, err, sizeof(err));

	if (rc != 0) {
		if (rc == SAQR_EINVAL && err[0] == '\0')
			abort(); /* an invalid histogram must say why */
		promtext_hist_release(&h);
		return;
	}
	if (promtext_increase(&h, &h, &inc, &reset) == 0)
		promtext_hist_release(&inc);
	(void)promtext_histogram_quantile(0.5, &h, &q);
	(void)promtext_histogram_quantile(0.99, &h, &q);
	if (h.n <= 257)
		(void)promtext_hist_bins(&h, edges, counts);
	promtext_hist_release(&h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct promtext *p = NULL;
	char err[256] = "", fam[256];
	double v, ratio, requests;

	if (promtext_parse((const char *)data, size, 1u << 20, &p, err, sizeof(err)) != 0) {
		if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL || p)
			abort();
		return 0;
	}
	for (size_t i = 0; i < promtext_sample_count(p) && i < 64; i++) {
		const struct promtext_sample *s = promtext_sample_at(p, i);
		const struct promtext_label *filter = s->nlabels ? &s->labels[0] : NULL;
		size_t nfilter = s->nlabels && strcmp(s->labels[0].name, "le") != 0 ? 1 : 0;

		if (!s || !s->name)
			abort();
		family(s->name, fam, sizeof(fam));
		(void)promtext_type_of(p, fam);
		(void)promtext_help(p, fam);
		(void)promtext_label_value(s, "le");
		(void)promtext_counter(p, s->name, filter, nfilter, &v);
		(void)promtext_error_ratio(p, p, s->name, NULL, 0, &ratio, &requests);
		(void)promtext_error_ratio(NULL, p, s->name, filter, nfilter, &ratio, &requests);
		read_histogram(p, fam, filter, nfilter);
	}
	if (promtext_sample_at(p, promtext_sample_count(p)) != NULL)
		abort();
	promtext_free(p);
	return 0;
}
