/* JSON text packing with a fixed dictionary of Kubernetes fragments (see jsonpack.h). */
#include "common/jsonpack.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

#define JSONPACK_MAX_TEXT ((size_t)64 * 1024 * 1024)

/* Token i + 1 stands for jsonpack_dict[i]. At most 31 entries (bytes 0x01-0x1F). The order is
 * part of the format only within one process: packed text is never stored or sent. */
static const char *const jsonpack_dict[] = {
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"",
    "\"ownerReferences\":[{\"apiVersion\":\"saqr.dev/v1alpha1\",\"kind\":\"",
    "\",\"controller\":true,\"blockOwnerDeletion\":true}]",
    "\"app.kubernetes.io/managed-by\":\"saqr-operator\"",
    "{\"apiVersion\":\"saqr.dev/v1alpha1\",\"kind\":\"",
    "\"annotations\":{\"saqr.dev/applied-hash\":\"",
    "\"app.kubernetes.io/part-of\":\"saqr\"",
    "\"app.kubernetes.io/component\":\"",
    "\"app.kubernetes.io/instance\":\"",
    "\"saqr.dev/modeldeployment\":\"",
    "\"app.kubernetes.io/name\":\"",
    "\"saqr.dev/trainingjob\":\"",
    "\"lastTransitionTime\":\"",
    "\"creationTimestamp\":\"",
    "\"observedGeneration\":",
    "\"resourceVersion\":\"",
    "\"conditions\":[",
    "\"apiVersion\":\"",
    "\"namespace\":\"",
    "\"generation\":",
    "\"metadata\":{",
    "\"message\":\"",
    "\"labels\":{",
    "\"reason\":\"",
    "\"status\":\"",
    "\"value\":\"",
    "\"spec\":{",
    "\"kind\":\"",
    "\"name\":\"",
    "\"type\":\"",
    "\"uid\":\"",
};

#define JSONPACK_NDICT (sizeof(jsonpack_dict) / sizeof(jsonpack_dict[0]))

_Static_assert(JSONPACK_NDICT <= 31, "tokens are the bytes 0x01-0x1F");

static size_t jsonpack_len[JSONPACK_NDICT];
/* For each first byte, the dictionary entries starting with it, longest first, ending with -1. */
static signed char jsonpack_index[256][JSONPACK_NDICT + 1];
static pthread_once_t jsonpack_once = PTHREAD_ONCE_INIT;

static void jsonpack_init(void)
{
	size_t fill[256] = {0};

	memset(jsonpack_index, -1, sizeof(jsonpack_index));
	for (size_t i = 0; i < JSONPACK_NDICT; i++)
		jsonpack_len[i] = strlen(jsonpack_dict[i]);
	for (size_t i = 0; i < JSONPACK_NDICT; i++) {
		unsigned char c = (unsigned char)jsonpack_dict[i][0];
		size_t j = fill[c]++;

		/* insertion: longest first, so the first match is the longest */
		for (; j > 0 && jsonpack_len[(int)jsonpack_index[c][j - 1]] < jsonpack_len[i]; j--)
			jsonpack_index[c][j] = jsonpack_index[c][j - 1];
		jsonpack_index[c][j] = (signed char)i;
	}
}

/* The longest dictionary entry at p, or -1. */
static int jsonpack_match(const char *p)
{
	const signed char *cand = jsonpack_index[(unsigned char)*p];

	for (; *cand >= 0; cand++)
		if (strncmp(p, jsonpack_dict[*cand], jsonpack_len[*cand]) == 0)
			return *cand;
	return -1;
}

char *jsonpack_encode(const char *json)
{
	struct buf out;
	char *packed, *shrunk;

	pthread_once(&jsonpack_once, jsonpack_init);
	buf_init(&out, JSONPACK_MAX_TEXT);
	for (const char *p = json; *p;) {
		int m = jsonpack_match(p);
		char tok = (char)(m + 1);
		int rc;

		if ((unsigned char)*p < 0x20) {
			buf_release(&out);
			return NULL;
		}
		rc = m >= 0 ? buf_add(&out, &tok, 1) : buf_add(&out, p, 1);
		if (rc) {
			buf_release(&out);
			return NULL;
		}
		p += m >= 0 ? jsonpack_len[m] : 1;
	}
	packed = buf_detach(&out);
	shrunk = packed ? realloc(packed, strlen(packed) + 1) : NULL;
	return shrunk ? shrunk : packed;
}

int jsonpack_decode(const char *packed, struct buf *out)
{
	const char *run = packed;
	int rc = 0;

	pthread_once(&jsonpack_once, jsonpack_init);
	for (const char *p = packed; rc == 0; p++) {
		unsigned char c = (unsigned char)*p;

		if (c >= 0x20)
			continue;
		/* flush the plain run before p, then expand the token */
		rc = buf_add(out, run, (size_t)(p - run));
		if (c == 0)
			break;
		if (rc == 0)
			rc = c <= JSONPACK_NDICT ? buf_add(out, jsonpack_dict[c - 1], jsonpack_len[c - 1])
						 : SAQR_EINVAL;
		run = p + 1;
	}
	return rc;
}

json_t *jsonpack_load(const char *packed)
{
	struct buf text;
	json_t *v = NULL;

	buf_init(&text, JSONPACK_MAX_TEXT);
	if (jsonpack_decode(packed, &text) == 0)
		v = json_loadb(buf_str(&text), text.len, 0, NULL);
	buf_release(&text);
	return v;
}

char *jsonpack_dump(const json_t *obj)
{
	char *text = json_dumps(obj, JSON_COMPACT);
	char *packed = text ? jsonpack_encode(text) : NULL;

	free(text);
	return packed;
}
