/* saqr-fetch's steps: resolve the source, list it, stream each object into the destination while
 * hashing it, then check the model digest and the OMS signature; on any failure remove what was
 * written and report one reason. */
#include "fetch/fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "oms/bundle.h"
#include "oms/manifest.h"

#define FETCH_PROGRESS_SECONDS 2.0
#define FETCH_COPY_CHUNK ((size_t)1 << 20)
#define FETCH_TERMINATION_MAX 4000 /* Kubernetes keeps 4096 bytes of a termination message */

struct fetch_state {
	const struct fetch_opts *o;
	struct oms_manifest got; /* what was written, with the digests computed on the way */
	uint64_t total;		 /* bytes written so far, all files */
	char err[1024];
	struct oms_key *keys[FETCH_MAX_KEYS];
	const char *skip_rel; /* the signature object inside the prefix, not part of the model */
	char skip_buf[PATH_MAX];
	bool in_place; /* a pvc model checked where it lies: never removed */
};

const char *fetch_reason(int exit_code)
{
	switch (exit_code) {
	case FETCH_EXIT_OK:
		return "";
	case FETCH_EXIT_DIGEST_MISMATCH:
		return "DigestMismatch";
	case FETCH_EXIT_SIGNATURE_INVALID:
		return "SignatureInvalid";
	default:
		return "FetchFailed";
	}
}

static double fetch_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* mkdir -p of the folders of dest/rel. */
static int fetch_mkdirs(const char *path)
{
	char tmp[PATH_MAX];

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return SAQR_ETOOBIG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
			return SAQR_EIO;
		*p = '/';
	}
	return 0;
}

/* ---- one file ---- */

struct fetch_file {
	struct fetch_state *st;
	const char *rel;
	FILE *f;
	struct oms_sha256 sha;
	double t0, last_log;
	bool too_big;
};

static void fetch_progress(struct fetch_file *ff, bool done)
{
	double now = fetch_now(), secs = now - ff->t0;

	if (!done && now - ff->last_log < FETCH_PROGRESS_SECONDS)
		return;
	ff->last_log = now;
	log_json(LOG_LVL_INFO, done ? "fetched" : "progress",
		 json_pack("{s:s, s:I, s:I, s:f}", "file", ff->rel, "bytes", (json_int_t)ff->sha.bytes,
			   "totalBytes", (json_int_t)ff->st->total, "MBps",
			   secs > 0 ? (double)ff->sha.bytes / secs / 1e6 : 0.0));
}

static int fetch_file_write(void *ctx, const void *p, size_t n)
{
	struct fetch_file *ff = ctx;
	uint64_t cap = ff->st->o->max_bytes;

	if (cap && ff->st->total + n > cap) {
		ff->too_big = true;
		return SAQR_ETOOBIG;
	}
	if (oms_sha256_update(&ff->sha, p, n) || fwrite(p, 1, n, ff->f) != n)
		return SAQR_EIO;
	ff->st->total += n;
	fetch_progress(ff, false);
	return 0;
}

static int fetch_file_open(struct fetch_file *ff, const char *path)
{
	ff->f = fopen(path, "wb");
	if (!ff->f || oms_sha256_init(&ff->sha)) {
		if (ff->f)
			fclose(ff->f);
		ff->f = NULL;
		return SAQR_EIO;
	}
	ff->t0 = ff->last_log = fetch_now();
	return 0;
}

/* Close the file; on success add its digest to the manifest. */
static int fetch_file_close(struct fetch_file *ff, int rc)
{
	unsigned char d[OMS_SHA256_LEN];
	bool closed = fclose(ff->f) == 0;

	if (!rc && !closed)
		rc = SAQR_EIO;
	if (!rc)
		rc = oms_sha256_final(&ff->sha, d);
	if (!rc)
		rc = oms_manifest_add(&ff->st->got, ff->rel, d, ff->sha.bytes);
	if (!rc)
		fetch_progress(ff, true);
	oms_sha256_release(&ff->sha);
	return rc;
}

static void fetch_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Whether the store vouches for encryption at rest, as far as --require-encrypted is concerned. */
static int fetch_check_encrypted(struct fetch_state *st, const struct remote *r,
				 const struct remote_result *res, const char *rel)
{
	bool ok = res->encrypted[0] && strcmp(res->encrypted, "false") != 0;

	if (!st->o->require_encrypted || r->kind == REMOTE_HTTPS || ok)
		return 0;
	return saqr_fail(
	    SAQR_EFORBIDDEN, st->err, sizeof(st->err),
	    "%s: the store did not report encryption at rest (%s) and --require-encrypted is set", rel,
	    r->kind == REMOTE_S3 ? "x-amz-server-side-encryption" : "x-ms-server-encrypted: true");
}

/* GET key into dest/rel, retrying transport errors, 429 and 5xx with exponential backoff. */
static int fetch_remote_file(struct fetch_state *st, const struct remote *r, const char *key, const char *rel)
{
	struct fetch_file ff = {.st = st, .rel = rel};
	struct remote_result res = {0};
	uint64_t base = st->total;
	char path[PATH_MAX];
	int rc = SAQR_EIO;

	snprintf(path, sizeof(path), "%s/%s", st->o->dest, rel);
	if (fetch_mkdirs(path))
		return saqr_fail(SAQR_EIO, st->err, sizeof(st->err), "%s: cannot create its folder", path);
	for (int attempt = 0; attempt <= st->o->retries; attempt++) {
		if (attempt) {
			long wait = st->o->backoff_ms << (attempt - 1 < 10 ? attempt - 1 : 10);

			log_warn("retrying", "file", rel, "error", st->err);
			fetch_sleep_ms(wait);
		}
		st->total = base;
		if (fetch_file_open(&ff, path))
			return saqr_fail(SAQR_EIO, st->err, sizeof(st->err), "%s: %s", path, strerror(errno));
		rc = remote_get(r, key, fetch_file_write, &ff, &res, st->err, sizeof(st->err));
		rc = rc ? rc : fetch_check_encrypted(st, r, &res, rel);
		if (ff.too_big)
			saqr_errf(st->err, sizeof(st->err), "%s: the model exceeds --max-bytes %llu", rel,
				  (unsigned long long)st->o->max_bytes);
		rc = fetch_file_close(&ff, rc);
		if (!rc || !res.retryable || ff.too_big)
			break;
	}
	return rc;
}

/* ---- sources ---- */

static const char *fetch_basename(const char *path)
{
	const char *end = path + strcspn(path, "?#"), *slash = end;

	while (slash > path && slash[-1] != '/')
		slash--;
	return slash;
}

static int fetch_remote_model(struct fetch_state *st, const struct remote *r)
{
	struct remote_list l = {0};
	int rc;

	if (!r->is_prefix || r->kind == REMOTE_HTTPS) {
		const char *src = r->kind == REMOTE_HTTPS ? r->base : r->path;
		char *name = strndup(fetch_basename(src), strcspn(fetch_basename(src), "?#"));

		st->got.single_file = true;
		rc = name && oms_path_ok(name) ? fetch_remote_file(st, r, r->path, name)
					       : saqr_fail(SAQR_EINVAL, st->err, sizeof(st->err),
							   "%s: no file name in the URI", st->o->uri);
		free(name);
		return rc;
	}
	rc = remote_list_objects(r, &l, st->err, sizeof(st->err));
	for (size_t i = 0; !rc && i < l.n; i++)
		if (!st->skip_rel || strcmp(st->skip_rel, l.v[i].rel) != 0)
			rc = fetch_remote_file(st, r, l.v[i].key, l.v[i].rel);
	remote_list_release(&l);
	return rc;
}

/* Copy src to dest/rel, hashing on the way. */
static int fetch_copy_file(struct fetch_state *st, const char *src, const char *rel)
{
	struct fetch_file ff = {.st = st, .rel = rel};
	char path[PATH_MAX];
	unsigned char *chunk = malloc(FETCH_COPY_CHUNK);
	int fd = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", st->o->dest, rel);
	if (!chunk || fd < 0 || fetch_mkdirs(path) || fetch_file_open(&ff, path)) {
		rc = saqr_fail(SAQR_EIO, st->err, sizeof(st->err), "%s: %s", fd < 0 ? src : path,
			       strerror(errno));
		goto out;
	}
	while (!rc && (n = read(fd, chunk, FETCH_COPY_CHUNK)) != 0)
		rc = n < 0 ? (errno == EINTR ? 0 : SAQR_EIO) : fetch_file_write(&ff, chunk, (size_t)n);
	if (rc)
		saqr_errf(st->err, sizeof(st->err), "%s: %s", src,
			  ff.too_big ? "the model exceeds --max-bytes" : "copy failed");
	rc = fetch_file_close(&ff, rc);
out:
	if (fd >= 0)
		close(fd);
	free(chunk);
	return rc;
}

static __thread struct fetch_state *fetch_walk_state;
static __thread size_t fetch_walk_root;

static int fetch_walk_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	struct fetch_state *st = fetch_walk_state;
	const char *rel = path + fetch_walk_root;

	(void)sb;
	(void)ftw;
	if (flag == FTW_D || flag == FTW_DP)
		return 0;
	if (flag != FTW_F || !S_ISREG(sb->st_mode))
		return saqr_fail(SAQR_EINVAL, st->err, sizeof(st->err), "%s: not a regular file", path);
	if (st->skip_rel && strcmp(st->skip_rel, rel) == 0)
		return 0;
	return fetch_copy_file(st, path, rel);
}

/* pvc://<claim>/<path>: the claim is mounted at --pvc-root (default /mnt/pvc/<claim>). Copied
 * into dest, or verified in place when dest is the model's own folder. */
static int fetch_pvc_model(struct fetch_state *st)
{
	const char *rest = st->o->uri + 6, *slash = strchr(rest, '/');
	char src[PATH_MAX], a[PATH_MAX], b[PATH_MAX];
	struct stat sb;

	if (!slash || slash == rest)
		return saqr_fail(SAQR_EINVAL, st->err, sizeof(st->err), "%s: expected pvc://<claim>/<path>",
				 st->o->uri);
	if (st->o->pvc_root)
		snprintf(src, sizeof(src), "%s/%s", st->o->pvc_root, slash + 1);
	else
		snprintf(src, sizeof(src), "/mnt/pvc/%.*s/%s", (int)(slash - rest), rest, slash + 1);
	if (stat(src, &sb) != 0)
		return saqr_fail(SAQR_EIO, st->err, sizeof(st->err), "%s: %s", src, strerror(errno));
	if (realpath(src, a) && realpath(st->o->dest, b) && strcmp(a, b) == 0) {
		const char *ignore[] = {st->skip_rel, NULL};

		log_info("verifying in place", "path", src);
		st->in_place = true;
		return oms_manifest_scan(&st->got, src, ignore, st->err, sizeof(st->err));
	}
	if (S_ISREG(sb.st_mode)) {
		st->got.single_file = true;
		return fetch_copy_file(st, src, fetch_basename(src));
	}
	fetch_walk_state = st;
	fetch_walk_root = strlen(src) + (src[strlen(src) - 1] == '/' ? 0 : 1);
	return nftw(src, fetch_walk_one, 16, FTW_PHYS) ? (st->err[0] ? SAQR_EINVAL : SAQR_EIO) : 0;
}

/* ---- checks ---- */

static int fetch_buf_write(void *ctx, const void *p, size_t n)
{
	return buf_add(ctx, p, n);
}

static int fetch_load_signature(struct fetch_state *st, const struct remote *r, struct buf *bundle)
{
	const char *sig = st->o->signature;
	struct remote sr;
	struct remote_result res;
	int rc;

	if (!strstr(sig, "://"))
		return oms_read_file(sig, OMS_BUNDLE_MAX, bundle, st->err, sizeof(st->err));
	if (r && strncmp(sig, st->o->uri, strchr(st->o->uri, ':') - st->o->uri) != 0)
		return saqr_fail(SAQR_EINVAL, st->err, sizeof(st->err),
				 "--signature must be a local path or a URI of the same store");
	rc = remote_parse(&sr, sig, &st->o->remote, st->err, sizeof(st->err));
	if (rc)
		return rc;
	bundle->max = OMS_BUNDLE_MAX;
	rc = remote_get(&sr, sr.path, fetch_buf_write, bundle, &res, st->err, sizeof(st->err));
	remote_release(&sr);
	return rc;
}

static int fetch_check_signature(struct fetch_state *st, const struct remote *r)
{
	struct oms_verified v;
	struct buf bundle;
	char msg[1024];
	int rc;

	buf_init(&bundle, OMS_BUNDLE_MAX);
	rc = fetch_load_signature(st, r, &bundle);
	if (rc) {
		snprintf(msg, sizeof(msg), "%s", st->err);
		saqr_errf(st->err, sizeof(st->err), "signature: %s", msg);
		buf_release(&bundle);
		return rc;
	}
	rc = oms_verify(buf_str(&bundle), bundle.len, st->keys, st->o->nkeys, &v, st->err, sizeof(st->err));
	rc = rc ? rc : oms_manifest_compare(&v.manifest, &st->got, st->err, sizeof(st->err));
	if (!rc)
		log_info("signature verified", "model", v.model_name, "key", v.key_id);
	oms_verified_release(&v);
	buf_release(&bundle);
	return rc;
}

/* The reason-coded outcome of the checks after the transfer. */
static int fetch_checks(struct fetch_state *st, const struct remote *r, char digest_text[80])
{
	unsigned char d[OMS_SHA256_LEN], want[OMS_SHA256_LEN];
	char hex[OMS_SHA256_HEX];

	if (oms_manifest_sort(&st->got, st->err, sizeof(st->err)) || oms_manifest_model_digest(&st->got, d))
		return FETCH_EXIT_FAILED;
	oms_hex(d, hex);
	snprintf(digest_text, 80, "sha256:%s", hex);
	if (st->o->digest && (!oms_digest_parse(st->o->digest, want) || memcmp(want, d, sizeof(d)) != 0)) {
		saqr_errf(st->err, sizeof(st->err), "model digest %s is not the required %s", digest_text,
			  st->o->digest);
		return FETCH_EXIT_DIGEST_MISMATCH;
	}
	if (st->o->signature && fetch_check_signature(st, r))
		return FETCH_EXIT_SIGNATURE_INVALID;
	return FETCH_EXIT_OK;
}

/* ---- outcome ---- */

static void fetch_cleanup(struct fetch_state *st)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < st->got.n; i++) {
		snprintf(path, sizeof(path), "%s/%s", st->o->dest, st->got.entries[i].name);
		(void)unlink(path);
	}
}

static void fetch_terminate(const struct fetch_state *st, int code, const char *digest)
{
	const char *path = st->o->termination_log ? st->o->termination_log : "/dev/termination-log";
	json_t *msg =
	    json_pack("{s:s, s:s, s:s, s:I, s:I}", "reason", code ? fetch_reason(code) : "ModelVerified",
		      "message", code ? st->err : "", "digest", digest, "files", (json_int_t)st->got.n,
		      "bytes", (json_int_t)st->total);
	char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
	FILE *f = *path && text ? fopen(path, "w") : NULL;

	if (f) {
		fprintf(f, "%.*s", FETCH_TERMINATION_MAX, text);
		fclose(f);
	}
	free(text);
	json_decref(msg);
}

static int fetch_prepare(struct fetch_state *st)
{
	const struct fetch_opts *o = st->o;
	char sig_rel[PATH_MAX];

	if (mkdir(o->dest, 0755) != 0 && errno != EEXIST)
		return saqr_fail(SAQR_EIO, st->err, sizeof(st->err), "%s: %s", o->dest, strerror(errno));
	for (size_t i = 0; i < o->nkeys; i++)
		if (oms_key_load(o->trusted_keys[i], false, &st->keys[i], st->err, sizeof(st->err)))
			return SAQR_EINVAL;
	/* a signature stored inside the model's prefix is not part of the model */
	if (o->signature && strstr(o->signature, "://") &&
	    strncmp(o->signature, o->uri, strlen(o->uri)) == 0 && o->uri[strlen(o->uri) - 1] == '/')
		st->skip_rel = o->signature + strlen(o->uri);
	else if (o->signature && oms_path_within(o->dest, o->signature, sig_rel, sizeof(sig_rel))) {
		snprintf(st->skip_buf, sizeof(st->skip_buf), "%s", sig_rel);
		st->skip_rel = st->skip_buf;
	}
	return 0;
}

int fetch_run(const struct fetch_opts *o)
{
	struct fetch_state st = {.o = o};
	struct remote r = {0};
	char digest[80] = "";
	double t0 = fetch_now();
	int rc, code = FETCH_EXIT_FAILED;
	bool pvc = strncmp(o->uri, "pvc://", 6) == 0;

	oms_manifest_init(&st.got);
	rc = fetch_prepare(&st);
	if (!rc && !pvc)
		rc = remote_parse(&r, o->uri, &o->remote, st.err, sizeof(st.err));
	if (!rc)
		rc = pvc ? fetch_pvc_model(&st) : fetch_remote_model(&st, &r);
	if (!rc)
		code = fetch_checks(&st, pvc ? NULL : &r, digest);
	if (code != FETCH_EXIT_OK) {
		log_error("model refused", "reason", fetch_reason(code), "error", st.err, "uri", o->uri);
		if (!st.in_place)
			fetch_cleanup(&st);
	} else {
		double secs = fetch_now() - t0;

		log_json(LOG_LVL_INFO, "model ready",
			 json_pack("{s:s, s:s, s:I, s:I, s:f, s:b}", "uri", o->uri, "digest", digest, "files",
				   (json_int_t)st.got.n, "bytes", (json_int_t)st.total, "seconds", secs,
				   "signed", o->signature != NULL));
	}
	fetch_terminate(&st, code, digest);
	for (size_t i = 0; i < o->nkeys; i++)
		oms_key_free(st.keys[i]);
	oms_manifest_release(&st.got);
	remote_release(&r);
	return code;
}
