/* libFuzzer target for saqr-agent's request path: the bytes are an HTTP/1.1 request fed to
 * agent/http1 in pieces whose sizes come from the first byte; a complete inference request's
 * body then goes through agent/infer (V1 or V2, by its path) with a fixed configuration, and the
 * exposition is rendered. Nothing may crash, leak or read out of bounds. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "agent/http1.h"
#include "agent/infer.h"
#include "agent/stats.h"
#include "common/buf.h"

static const char fuzz_cfg[] = "features:\n"
			       "  - {name: a, type: numerical, edges: [0, 1, 10], index: 0}\n"
			       "  - {name: c, type: categorical, categories: [x, y], index: 1}\n"
			       "  - {name: t, type: numerical, edges: [5], input: in0, index: 1}\n"
			       "predictions: {edges: [0.5], index: 0}\n";

static void fuzz_body(void *ud, const char *d, size_t n)
{
	buf_add(ud, d, n);
}

static void fuzz_inspect(const char *target, const struct buf *body)
{
	struct agent_config *cfg = NULL;
	struct agent_stats *st = NULL;
	enum infer_proto proto = infer_route("POST", target);
	struct buf out;

	if (proto == INFER_NONE || agent_config_parse(fuzz_cfg, strlen(fuzz_cfg), &cfg, NULL, 0) != 0)
		return;
	if (agent_stats_new(cfg, NULL, &st) == 0) {
		infer_request(st, proto, body->data ? body->data : "", body->len, NULL);
		infer_response(st, proto, body->data ? body->data : "", body->len, NULL);
		buf_init(&out, 1 << 20);
		agent_stats_render(st, &out);
		buf_release(&out);
	}
	agent_stats_free(st);
	agent_config_free(cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http1 *p;
	struct buf body;
	char target[512] = "";
	size_t off = 1, step, used;
	int rc = HTTP1_AGAIN;

	if (size < 1)
		return 0;
	step = (size_t)(data[0] % 16) + 1;
	p = malloc(sizeof(*p));
	if (!p)
		return 0;
	buf_init(&body, 1 << 20);
	http1_init(p, HTTP1_REQUEST, fuzz_body, &body);
	while (rc >= 0 && rc != HTTP1_DONE && (off < size || rc == HTTP1_HEAD)) {
		size_t n = size - off < step ? size - off : step;

		rc = http1_feed(p, (const char *)data + off, n, &used);
		off += used;
		if (rc == HTTP1_HEAD)
			strncpy(target, http1_head(p)->target, sizeof(target) - 1);
	}
	if (rc == HTTP1_AGAIN)
		rc = http1_eof(p);
	if (rc == HTTP1_DONE)
		fuzz_inspect(target, &body);
	buf_release(&body);
	free(p);
	return 0;
}
