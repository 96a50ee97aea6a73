/* Shared controller pieces: owned informers, results, change reports. */
#include "operator/opctl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "operator/conditions.h"

int opctl_owned_informers(struct manager *m, struct owned_tracker *t, const struct kube_resource *const *res,
			  size_t n, struct informer **out)
{
	struct informer_handlers h = owned_tracker_handlers(t);

	for (size_t i = 0; i < n; i++) {
		bool seen = false;
		int rc;

		out[i] = manager_informer_with(m, res[i], OWNED_LABEL_SELECTOR, owned_cache_transform);
		if (!out[i])
			return SAQR_ETOOBIG;
		for (size_t j = 0; j < i; j++)
			seen = seen || out[j] == out[i];
		rc = seen ? 0 : informer_add_handlers(out[i], &h);
		if (rc)
			return rc;
	}
	return 0;
}

struct workqueue_result opctl_result(int rc, bool waiting)
{
	struct workqueue_result res = {0};

	if (rc == SAQR_ECONFLICT)
		res.requeue = true;
	else if (rc)
		res.err = rc;
	else if (waiting)
		res.requeue_after = OWNED_CACHE_GRACE;
	return res;
}

bool opctl_refused(int rc, const struct kube_status *st)
{
	(void)st;
	switch (rc) {
	case 0:
	case SAQR_ECONFLICT:  /* a newer version exists: just retry */
	case SAQR_ETRANSPORT: /* the API server is away */
	case SAQR_EBUSY:      /* 429 or 503 */
	case SAQR_ETIMEDOUT:
	case SAQR_ENOMEM:
	case SAQR_ECLOSED:
		return false;
	default:
		return true;
	}
}

void opctl_format(char *out, size_t outlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(out, outlen, fmt, ap) < 0 && outlen)
		out[0] = '\0';
	va_end(ap);
}

void opctl_now(char *out, size_t outlen)
{
	if (cond_format_time(time(NULL), out, outlen) != 0 && outlen)
		out[0] = '\0';
}

void opctl_changes_init(struct opctl_changes *ch)
{
	buf_init(&ch->created, OPCTL_LIST_MAX);
	buf_init(&ch->updated, OPCTL_LIST_MAX);
	buf_init(&ch->deleted, OPCTL_LIST_MAX);
}

void opctl_changes_release(struct opctl_changes *ch)
{
	buf_release(&ch->created);
	buf_release(&ch->updated);
	buf_release(&ch->deleted);
}

void opctl_changes_note(struct opctl_changes *ch, enum owned_outcome outcome, const char *kind,
			const char *name)
{
	struct buf *b = outcome == OWNED_CREATED   ? &ch->created
			: outcome == OWNED_UPDATED ? &ch->updated
			: outcome == OWNED_DELETED ? &ch->deleted
						   : NULL;

	/* A list cut at its cap still says enough. */
	if (b)
		(void)buf_addf(b, "%s%s/%s", b->len ? ", " : "", kind, name);
}

static void report_one(const struct buf *b, struct events_recorder *ev, const json_t *regarding,
		       const char *controller, const char *reason, const char *verb)
{
	if (!b->len)
		return;
	/* A full event queue drops the Event; the log line stays. */
	(void)events_record(ev, regarding, "Normal", reason, "Reconcile", "%s %s", verb, buf_str(b));
	log_info("owned objects changed", "controller", controller, "namespace",
		 json_path_str(regarding, "metadata.namespace", ""), "name",
		 json_path_str(regarding, "metadata.name", ""), "change", reason, "objects", buf_str(b));
}

void opctl_changes_report(const struct opctl_changes *ch, struct events_recorder *ev, const json_t *regarding,
			  const char *controller)
{
	report_one(&ch->created, ev, regarding, controller, "Created", "created");
	report_one(&ch->updated, ev, regarding, controller, "Updated", "updated");
	report_one(&ch->deleted, ev, regarding, controller, "Deleted", "deleted");
}
