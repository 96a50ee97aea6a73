/* libFuzzer target for the policy loader: any bytes either load into a policy or fail with a
 * message; a loaded policy is then exercised on a fixed Deployment. Build it with clang
 * -fsanitize=fuzzer,address,undefined -I. -Ilib against lib/common and policy/; seeds are in
 * tests/fuzz/corpus/fuzz_policy_load/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/yamljson.h"
#include "policy/policy.h"

static const char fuzz_object[] =
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"d\",\"namespace\":\"n\","
    "\"labels\":{\"saqr.dev/data-residency\":\"uae\",\"saqr.dev/personal-data\":\"true\"},"
    "\"annotations\":{\"saqr.dev/break-glass\":\"x; expires=2030-01-01T01:00:00Z\"}},"
    "\"spec\":{\"template\":{\"spec\":{\"hostNetwork\":true,\"nodeSelector\":{\"topology.kubernetes.io/"
    "region\":"
    "\"me-central-1\"},\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const groups[] = {"sre"};
	static const struct policy_user user = {"u", groups, 1};
	struct policy *p = NULL;
	struct policy_decision d;
	struct policy_input in = {NULL, "CREATE", NULL, &user, 1893456000};
	char err[512];
	json_t *obj;
	struct buf msg;

	if (policy_load_buffer((const char *)data, size, "fuzz.yaml", &p, err, sizeof(err)) != 0) {
		if (strlen(err) == 0)
			abort(); /* every error names itself */
		return 0;
	}
	obj = json_loads(fuzz_object, 0, NULL);
	in.object = obj;
	policy_decision_init(&d);
	if (policy_eval(p, &in, &d) == 0) {
		buf_init(&msg, 1 << 20);
		policy_decision_deny_message(&d, &msg);
		buf_release(&msg);
	}
	policy_decision_release(&d);
	json_decref(obj);
	policy_free(p);
	return 0;
}
