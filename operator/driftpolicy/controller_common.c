/* What the steps of the DriftPolicy controller share (controller.c, controller_eval.c,
 * controller_act.c): the resources it reads and writes, the Degraded note, the log line and a
 * GET. Calls none of the steps. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "operator/driftpolicy/controller_internal.h"

const struct kube_resource driftpolicy__res_dp = {"saqr.dev", "v1alpha1", "driftpolicies", true};
const struct kube_resource driftpolicy__res_md = {"saqr.dev", "v1alpha1", "modeldeployments", true};
const struct kube_resource driftpolicy__res_tj = {"saqr.dev", "v1alpha1", "trainingjobs", true};
const struct kube_resource driftpolicy__res_configmaps = {"", "v1", "configmaps", true};
const struct kube_resource driftpolicy__res_secrets = {"", "v1", "secrets", true};
const struct kube_resource driftpolicy__res_endpointslices = {"discovery.k8s.io", "v1", "endpointslices",
							      true};

void driftpolicy__degrade(struct driftpolicy__run *run, const char *reason, const char *fmt, ...)
{
	size_t n = strlen(run->degraded_message);
	va_list ap;

	if (!run->degraded_reason[0])
		snprintf(run->degraded_reason, sizeof(run->degraded_reason), "%s", reason);
	if (n && n + 2 < sizeof(run->degraded_message)) {
		memcpy(run->degraded_message + n, "; ", 3);
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(run->degraded_message + n, sizeof(run->degraded_message) - n, fmt, ap);
	va_end(ap);
}

void driftpolicy__log(const struct driftpolicy__run *run, int level, const char *msg, ...)
{
	json_t *fields = json_pack("{s:s, s:s, s:s}", "controller", DRIFTPOLICY_CONTROLLER, "namespace",
				   run->ns, "name", run->name);
	const char *k, *v;
	va_list ap;

	if (!log_enabled((enum log_level)level)) {
		json_decref(fields);
		return;
	}
	va_start(ap, msg);
	while (fields && (k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		json_object_set_new(fields, k, json_string(v ? v : ""));
	}
	va_end(ap);
	log_json((enum log_level)level, msg, fields);
}

json_t *driftpolicy__get(struct driftpolicy__run *run, const struct kube_resource *res, const char *name,
			 char *err, size_t errlen)
{
	const struct kubeops *ops = run->c->ops;
	struct kube_status st = {0};
	json_t *obj = NULL;
	int rc = ops->get(ops, res, run->ns, name, &obj, &st);

	if (rc) {
		snprintf(err, errlen, "%s %s: %s", res->resource, name,
			 rc == SAQR_ENOTFOUND ? "not found"
					      : (st.message[0] ? st.message : saqr_strerror(rc)));
		return NULL;
	}
	return obj;
}
