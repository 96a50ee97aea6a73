/* `saqrctl model digest|sign|verify`: the digest of a model (a file, or a directory through its
 * canonical manifest), and OpenSSF Model Signing bundles signed and checked with ECDSA keys the
 * user brings. verify refuses a model with files the signature does not list, or without files
 * it lists. Exit 0 success, 1 verification failed, 2 usage or I/O error. */
#include "model.h"

#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "oms/bundle.h"
#include "oms/manifest.h"

#define MODEL_EXIT_OK 0
#define MODEL_EXIT_FAILED 1
#define MODEL_EXIT_ERROR 2
#define MODEL_MAX_KEYS 16
#define MODEL_DEFAULT_SIG "model.sig"

struct model_cli {
	const char *keys[MODEL_MAX_KEYS];
	size_t nkeys;
	const char *signature; /* sign: --output; verify: --signature */
	const char *name;
	bool manifest;
	const char *path;
};

static const char model_usage[] =
    "usage: saqrctl model digest [--manifest] PATH\n"
    "       saqrctl model sign --key KEY.pem [--output model.sig] [--name NAME] PATH\n"
    "       saqrctl model verify --key PUB.pem [--key PUB.pem]... [--signature model.sig] PATH\n"
    "\n"
    "PATH is a model file or directory. A file's digest is its SHA-256; a directory's is the\n"
    "SHA-256 of its canonical manifest (\"<sha256 hex>  <relative path>\\n\" per file, sorted by\n"
    "path; --manifest prints it). sign writes an OpenSSF Model Signing (OMS v1.0) bundle signed\n"
    "with an ECDSA P-256/P-384 private key; verify checks it with trusted public keys and refuses\n"
    "files missing from, or not listed in, the signed manifest. The signature file is left out of\n"
    "the manifest when it lies inside the model directory.\n";

static int model_parse(int argc, char **argv, struct model_cli *c, FILE *errs)
{
	static const struct option opts[] = {
	    {"key", required_argument, NULL, 'k'},
	    {"output", required_argument, NULL, 'o'},
	    {"signature", required_argument, NULL, 's'},
	    {"name", required_argument, NULL, 'n'},
	    {"manifest", no_argument, NULL, 'm'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+hk:o:s:n:m", opts, NULL)) != -1) {
		if (ch == 'k' && c->nkeys < MODEL_MAX_KEYS)
			c->keys[c->nkeys++] = optarg;
		else if (ch == 'o' || ch == 's')
			c->signature = optarg;
		else if (ch == 'n')
			c->name = optarg;
		else if (ch == 'm')
			c->manifest = true;
		else if (ch == 'h')
			return 1;
		else {
			fprintf(errs, "saqrctl model: bad or repeated option %s\n", argv[optind - 1]);
			return -1;
		}
	}
	if (optind != argc - 1) {
		fprintf(errs, "saqrctl model: expected one model PATH\n");
		return -1;
	}
	c->path = argv[optind];
	return 0;
}

/* The relative path of the signature file inside the model directory, to leave out of the
 * manifest, or nothing (ignore[0] NULL). */
static void model_ignore(const struct model_cli *c, char *rel, size_t relsize, const char *ignore[2])
{
	ignore[0] = oms_path_within(c->path, c->signature, rel, relsize) ? rel : NULL;
	ignore[1] = NULL;
}

static int model_scan(const struct model_cli *c, struct oms_manifest *m, const char *const *ignore,
		      FILE *errs)
{
	char err[512];
	int rc = oms_manifest_scan(m, c->path, ignore, err, sizeof(err));

	if (rc)
		fprintf(errs, "saqrctl model: %s\n", err);
	return rc;
}

static int model_digest(const struct model_cli *c, FILE *out, FILE *errs)
{
	unsigned char d[OMS_SHA256_LEN];
	char hex[OMS_SHA256_HEX];
	struct oms_manifest m;
	struct buf text;
	int rc;

	oms_manifest_init(&m);
	buf_init(&text, (size_t)1 << 30);
	rc = model_scan(c, &m, NULL, errs);
	rc = rc ? rc : oms_manifest_model_digest(&m, d);
	if (!rc && c->manifest)
		rc = oms_manifest_canonical(&m, &text);
	if (!rc) {
		oms_hex(d, hex);
		fprintf(out, "%ssha256:%s\n", buf_str(&text), hex);
	}
	buf_release(&text);
	oms_manifest_release(&m);
	return rc ? MODEL_EXIT_ERROR : MODEL_EXIT_OK;
}

/* The model's name for the statement: --name, else the base name of PATH. */
static void model_name(const struct model_cli *c, char *name, size_t len)
{
	char *copy = strdup(c->path);

	snprintf(name, len, "%s", c->name ? c->name : copy ? basename(copy) : c->path);
	free(copy);
}

static int model_write(const char *path, const struct buf *b, FILE *errs)
{
	FILE *f = fopen(path, "wb");
	bool ok = f && fwrite(b->data, 1, b->len, f) == b->len;

	if (f && fclose(f) != 0)
		ok = false;
	if (!ok)
		fprintf(errs, "saqrctl model: %s: cannot write\n", path);
	return ok ? 0 : SAQR_EIO;
}

static int model_sign(const struct model_cli *c, FILE *out, FILE *errs)
{
	char err[512], rel[PATH_MAX], name[256];
	const char *ignore[2];
	struct oms_key *key = NULL;
	struct oms_manifest m;
	struct buf bundle;
	int rc;

	if (c->nkeys != 1) {
		fprintf(errs, "saqrctl model sign: one --key (a PEM private key) is needed\n");
		return MODEL_EXIT_ERROR;
	}
	oms_manifest_init(&m);
	buf_init(&bundle, OMS_BUNDLE_MAX);
	model_ignore(c, rel, sizeof(rel), ignore);
	model_name(c, name, sizeof(name));
	rc = oms_key_load(c->keys[0], true, &key, err, sizeof(err));
	if (rc)
		fprintf(errs, "saqrctl model sign: %s\n", err);
	rc = rc ? rc : model_scan(c, &m, ignore, errs);
	if (!rc && (rc = oms_sign(&m, name, ignore, key, &bundle, err, sizeof(err))))
		fprintf(errs, "saqrctl model sign: %s\n", err);
	rc = rc ? rc : model_write(c->signature, &bundle, errs);
	if (!rc)
		fprintf(out, "signed %zu file(s) of %s with key %.16s into %s\n", m.n, name, key->id,
			c->signature);
	oms_key_free(key);
	buf_release(&bundle);
	oms_manifest_release(&m);
	return rc ? MODEL_EXIT_ERROR : MODEL_EXIT_OK;
}

static int model_load_keys(const struct model_cli *c, struct oms_key **keys, FILE *errs)
{
	char err[512];

	for (size_t i = 0; i < c->nkeys; i++)
		if (oms_key_load(c->keys[i], false, &keys[i], err, sizeof(err))) {
			fprintf(errs, "saqrctl model verify: %s\n", err);
			return SAQR_EINVAL;
		}
	return 0;
}

/* Check the bundle and then the files. MODEL_EXIT_* */
static int model_check(const struct model_cli *c, struct oms_key *const *keys, FILE *out, FILE *errs)
{
	char err[1024] = "", rel[PATH_MAX];
	const char *ignore[2];
	struct oms_verified v;
	struct oms_manifest m;
	struct buf bundle;
	int rc, status = MODEL_EXIT_ERROR;

	oms_manifest_init(&m);
	buf_init(&bundle, OMS_BUNDLE_MAX);
	memset(&v, 0, sizeof(v));
	model_ignore(c, rel, sizeof(rel), ignore);
	if (oms_read_file(c->signature, OMS_BUNDLE_MAX, &bundle, err, sizeof(err)) ||
	    model_scan(c, &m, ignore, errs))
		goto out;
	status = MODEL_EXIT_FAILED;
	rc = oms_verify(buf_str(&bundle), bundle.len, keys, c->nkeys, &v, err, sizeof(err));
	rc = rc ? rc : oms_manifest_compare(&v.manifest, &m, err, sizeof(err));
	if (rc)
		goto out;
	fprintf(out, "verified %zu file(s) of %s, signed by key %.16s\n", m.n, v.model_name, v.key_id);
	status = MODEL_EXIT_OK;
out:
	if (status != MODEL_EXIT_OK && err[0])
		fprintf(errs, "saqrctl model verify: %s\n", err);
	oms_verified_release(&v);
	buf_release(&bundle);
	oms_manifest_release(&m);
	return status;
}

static int model_verify(const struct model_cli *c, FILE *out, FILE *errs)
{
	struct oms_key *keys[MODEL_MAX_KEYS] = {NULL};
	int status = MODEL_EXIT_ERROR;

	if (c->nkeys == 0)
		fprintf(errs, "saqrctl model verify: at least one --key (a trusted public key) is needed\n");
	else if (model_load_keys(c, keys, errs) == 0)
		status = model_check(c, keys, out, errs);
	for (size_t i = 0; i < c->nkeys; i++)
		oms_key_free(keys[i]);
	return status;
}

int saqrctl_model_run(int argc, char **argv, FILE *out, FILE *errs)
{
	struct model_cli c = {.signature = MODEL_DEFAULT_SIG};
	const char *verb = argc > 1 ? argv[1] : "";
	int rc;

	if (strcmp(verb, "-h") == 0 || strcmp(verb, "--help") == 0) {
		fputs(model_usage, out);
		return MODEL_EXIT_OK;
	}
	rc = model_parse(argc - 1, argv + 1, &c, errs);
	if (rc) {
		fputs(model_usage, rc > 0 ? out : errs);
		return rc > 0 ? MODEL_EXIT_OK : MODEL_EXIT_ERROR;
	}
	if (strcmp(verb, "digest") == 0)
		return model_digest(&c, out, errs);
	if (strcmp(verb, "sign") == 0)
		return model_sign(&c, out, errs);
	if (strcmp(verb, "verify") == 0)
		return model_verify(&c, out, errs);
	fprintf(errs, "saqrctl model: unknown command \"%s\"\n%s", verb, model_usage);
	return MODEL_EXIT_ERROR;
}

int saqrctl_model_main(int argc, char **argv)
{
	return saqrctl_model_run(argc, argv, stdout, stderr);
}
