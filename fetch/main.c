/* saqr-fetch: the init container of a ModelDeployment pod. Fetches the model at --uri into
 * --dest, checks its digest and OMS signature, and fails closed with a reason in the
 * termination message (FetchFailed, DigestMismatch, SignatureInvalid). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/flags.h"
#include "common/log.h"
#include "fetch/fetch.h"
#include "oms/key.h"

#define FETCH_SECRET_MAX 8192

struct fetch_cli {
	struct fetch_opts o;
	const char *max_bytes, *credentials_dir, *log_level;
	int timeout_s, backoff_ms;
	bool help;
	char *secrets[5];
};

static int fetch_add_key(const char *value, void *target)
{
	struct fetch_opts *o = target;

	if (o->nkeys >= FETCH_MAX_KEYS)
		return SAQR_EINVAL;
	o->trusted_keys[o->nkeys++] = value;
	return 0;
}

static const char fetch_head[] =
    "Usage: saqr-fetch --uri URI [--dest DIR] [flags]\n\n"
    "Fetch a model (https://, s3://bucket/key, azureblob://account/container/path,\n"
    "pvc://claim/path; a path ending in / is a directory model), verify it, fail closed.\n\n"
    "Flags:\n";
static const char fetch_tail[] =
    "\nCredentials (the storage.secretRef Secret mounted at --credentials-dir, else the environment):\n"
    "  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AZURE_STORAGE_SAS_TOKEN,\n"
    "  AZURE_STORAGE_KEY. Exit codes: 0 ok, 1 FetchFailed, 2 usage, 3 DigestMismatch, 4 SignatureInvalid.\n";

/* A credential: the file NAME in dir (trailing newline dropped), else $NAME; NULL if neither. */
static const char *fetch_secret(struct fetch_cli *c, size_t slot, const char *name)
{
	char path[4096], err[256];
	struct buf b;

	if (c->credentials_dir) {
		buf_init(&b, FETCH_SECRET_MAX);
		snprintf(path, sizeof(path), "%s/%s", c->credentials_dir, name);
		if (oms_read_file(path, FETCH_SECRET_MAX, &b, err, sizeof(err)) == 0) {
			while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
				b.data[--b.len] = '\0';
			c->secrets[slot] = buf_detach(&b);
			return c->secrets[slot];
		}
		buf_release(&b);
	}
	return getenv(name);
}

static void fetch_load_creds(struct fetch_cli *c)
{
	struct remote_creds *cr = &c->o.remote.creds;

	cr->aws_access_key = fetch_secret(c, 0, "AWS_ACCESS_KEY_ID");
	cr->aws_secret_key = fetch_secret(c, 1, "AWS_SECRET_ACCESS_KEY");
	cr->aws_session_token = fetch_secret(c, 2, "AWS_SESSION_TOKEN");
	cr->azure_sas = fetch_secret(c, 3, "AZURE_STORAGE_SAS_TOKEN");
	cr->azure_key = fetch_secret(c, 4, "AZURE_STORAGE_KEY");
}

static int fetch_finish_opts(struct fetch_cli *c, char *err, size_t errlen)
{
	enum log_level lvl;
	char *end = NULL;

	if (c->log_level && log_parse_level(c->log_level, &lvl) == 0)
		log_set_level(lvl);
	if (!c->o.uri)
		return saqr_fail(SAQR_EINVAL, err, errlen, "--uri is required");
	c->o.dest = c->o.dest ? c->o.dest : getenv("SAQR_MODEL_PATH");
	if (!c->o.dest)
		return saqr_fail(SAQR_EINVAL, err, errlen, "--dest is required (or SAQR_MODEL_PATH)");
	if (c->o.signature && !c->o.nkeys)
		return saqr_fail(SAQR_EINVAL, err, errlen, "--signature needs at least one --trusted-key");
	if (c->max_bytes) {
		c->o.max_bytes = strtoull(c->max_bytes, &end, 10);
		if (!*c->max_bytes || *end)
			return saqr_fail(SAQR_EINVAL, err, errlen, "bad value for --max-bytes: %s",
					 c->max_bytes);
	}
	c->o.remote.timeout_ms = (long)c->timeout_s * 1000;
	c->o.backoff_ms = c->backoff_ms;
	fetch_load_creds(c);
	return 0;
}

int main(int argc, char **argv)
{
	static struct fetch_cli c = {.o = {.retries = 4}, .timeout_s = 0, .backoff_ms = 500};
	const struct flags_opt opts[] = {
	    {"uri", NULL, FLAGS_STRING, &c.o.uri, 0, 0, NULL, "URI", "the model (see above)"},
	    {"dest", NULL, FLAGS_STRING, &c.o.dest, 0, 0, NULL, "DIR",
	     "where the model goes (default $SAQR_MODEL_PATH)"},
	    {"digest", NULL, FLAGS_STRING, &c.o.digest, 0, 0, NULL, "sha256:HEX", "required model digest"},
	    {"signature", NULL, FLAGS_STRING, &c.o.signature, 0, 0, NULL, "PATH|URI",
	     "OMS signature bundle to verify"},
	    {"trusted-key", NULL, FLAGS_FUNC, &c.o, 0, 0, fetch_add_key, "PEM",
	     "trusted public key (repeatable)"},
	    {"max-bytes", NULL, FLAGS_STRING, &c.max_bytes, 0, 0, NULL, "N",
	     "refuse models larger than N bytes"},
	    {"retries", NULL, FLAGS_INT, &c.o.retries, 0, 20, NULL, "N",
	     "attempts after the first (default 4)"},
	    {"backoff-ms", NULL, FLAGS_INT, &c.backoff_ms, 1, 600000, NULL, "MS",
	     "first retry wait, doubled (500)"},
	    {"timeout", NULL, FLAGS_INT, &c.timeout_s, 0, 86400, NULL, "SECONDS",
	     "per transfer (default none)"},
	    {"s3-region", NULL, FLAGS_STRING, &c.o.remote.s3_region, 0, 0, NULL, "REGION",
	     "S3 region (us-east-1)"},
	    {"s3-endpoint", NULL, FLAGS_STRING, &c.o.remote.s3_endpoint, 0, 0, NULL, "URL",
	     "S3-compatible server"},
	    {"azure-endpoint", NULL, FLAGS_STRING, &c.o.remote.azure_endpoint, 0, 0, NULL, "URL",
	     "Blob endpoint incl. account path"},
	    {"ca-file", NULL, FLAGS_STRING, &c.o.remote.ca_file, 0, 0, NULL, "PEM",
	     "CA bundle to trust instead"},
	    {"credentials-dir", NULL, FLAGS_STRING, &c.credentials_dir, 0, 0, NULL, "DIR",
	     "mounted credentials"},
	    {"pvc-root", NULL, FLAGS_STRING, &c.o.pvc_root, 0, 0, NULL, "DIR", "mount of a pvc:// claim"},
	    {"termination-log", NULL, FLAGS_STRING, &c.o.termination_log, 0, 0, NULL, "PATH",
	     "(default /dev/termination-log)"},
	    {"require-encrypted", NULL, FLAGS_BOOL, &c.o.require_encrypted, 0, 0, NULL, NULL,
	     "fail unless the store reports encryption at rest"},
	    {"allow-insecure-http", NULL, FLAGS_BOOL, &c.o.remote.allow_insecure_http, 0, 0, NULL, NULL,
	     "accept plain http:// endpoints"},
	    {"log-level", NULL, FLAGS_STRING, &c.log_level, 0, 0, NULL, "LEVEL", "debug, info, warn, error"},
	    {"help", NULL, FLAGS_HELP, &c.help, 0, 0, NULL, NULL, "this help"},
	    {NULL, NULL, 0, NULL, 0, 0, NULL, NULL, NULL},
	};
	const struct flags_set set = {opts, fetch_head, fetch_tail, 30, true};
	char err[512] = "";
	int code;

	if (flags_parse(&set, argc, argv, err, sizeof(err)) == 0 && c.help) {
		flags_usage(&set, stdout);
		return FETCH_EXIT_OK;
	}
	if (err[0] || fetch_finish_opts(&c, err, sizeof(err))) {
		fprintf(stderr, "saqr-fetch: %s\n", err);
		return FETCH_EXIT_USAGE;
	}
	code = fetch_run(&c.o);
	for (size_t i = 0; i < 5; i++)
		free(c.secrets[i]);
	return code;
}
