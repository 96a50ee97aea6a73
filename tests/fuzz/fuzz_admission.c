/* libFuzzer target for the AdmissionReview path: the bytes are read by fastjson and by jansson,
 * which must agree (same acceptance, equal values), then parsed as an AdmissionReview and, when
 * that succeeds, answered with a denial whose message and warnings come from the request. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "webhook/admission.h"
#include "webhook/arena.h"
#include "webhook/fastjson.h"

static void fuzz_differential(const uint8_t *data, size_t size)
{
	json_error_t je;
	char err[256];
	json_t *fast = fastjson_parse((const char *)data, size, err, sizeof(err));
	json_t *ref = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);

	/* jansson takes a NUL byte outside a string for the end of the input ("3\0x" reads as 3);
	 * fastjson refuses it. Only NUL-free inputs must agree. */
	if (!memchr(data, 0, size) && (!fast != !ref || (fast && !json_equal(fast, ref))))
		abort();
	json_decref(fast);
	json_decref(ref);
}

static void fuzz_review(const uint8_t *data, size_t size)
{
	struct admission_request req;
	const char *warnings[3];
	struct admission_verdict v = {
	    .code = 403, .reason = "Forbidden", .warnings = warnings, .nwarnings = 3};
	struct buf out;
	char err[512];
	json_t *reply;

	buf_init(&out, 1 << 20);
	if (admission_parse((const char *)data, size, 1 << 20, &req, err, sizeof(err)) != 0) {
		if (!err[0] || admission_error_body(400, "BadRequest", err, &out) != 0)
			abort();
		goto check;
	}
	warnings[0] = req.name;
	warnings[1] = req.username;
	warnings[2] = req.kind;
	v.message = req.namespace;
	v.allowed = req.dry_run;
	v.audit_annotations = req.object;
	if (admission_response(&req, &v, &out) != 0)
		abort();
	admission_request_release(&req);
check:
	reply = json_loadb(out.data, out.len, 0, NULL); /* whatever we write must be JSON */
	if (!reply)
		abort();
	json_decref(reply);
	buf_release(&out);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	arena_install(); /* as saqr-webhook runs */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_differential(data, size);
	fuzz_review(data, size);
	return 0;
}
