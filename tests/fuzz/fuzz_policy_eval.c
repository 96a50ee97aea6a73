/* libFuzzer target for policy_eval: any YAML or JSON document is evaluated against the
 * default policy as a ModelDeployment, a TrainingJob, a Deployment and as itself. Build it
 * like fuzz_policy_load.c; seeds are in tests/fuzz/corpus/fuzz_policy_eval/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/yamljson.h"
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_eval(const struct policy *p, json_t *obj)
{
	static const char *const groups[] = {"saqr:break-glass"};
	static const struct policy_user user = {"u", groups, 1};
	struct policy_input in = {obj, "UPDATE", NULL, &user, 1893456000};
	struct policy_decision d;
	struct buf msg;

	policy_decision_init(&d);
	if (policy_eval(p, &in, &d) == 0) {
		buf_init(&msg, 1 << 20);
		policy_decision_deny_message(&d, &msg);
		buf_release(&msg);
	}
	policy_decision_release(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const kinds[][2] = {{"saqr.dev/v1alpha1", "ModelDeployment"},
					       {"saqr.dev/v1alpha1", "TrainingJob"},
					       {"apps/v1", "Deployment"}};
	static struct policy *p;
	json_t *obj = NULL;
	size_t i;

	if (!p && policy_load_default(&p) != 0)
		abort();
	if (yaml_to_json((const char *)data, size, 1 << 20, &obj, NULL, 0) != 0)
		return 0;
	fuzz_eval(p, obj);
	for (i = 0; json_is_object(obj) && i < 3; i++) {
		json_object_set_new(obj, "apiVersion", json_string(kinds[i][0]));
		json_object_set_new(obj, "kind", json_string(kinds[i][1]));
		fuzz_eval(p, obj);
	}
	json_decref(obj);
	return 0;
}
