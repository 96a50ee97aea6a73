/* The model manifest: building it from a file or directory tree, its canonical text form, the
 * model digest made from it, and the comparison of what is on disk with what was signed. */
#include "oms/manifest.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/err.h"

#define OMS_CANON_LINE (OMS_SHA256_HEX + 3) /* hex, two spaces, newline: the bytes around a path */

void oms_manifest_init(struct oms_manifest *m)
{
	memset(m, 0, sizeof(*m));
}

void oms_manifest_release(struct oms_manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->entries[i].name);
	free(m->entries);
	oms_manifest_init(m);
}

bool oms_path_ok(const char *name)
{
	const char *seg = name;
	size_t len = name ? strlen(name) : 0;

	if (!len || len > OMS_MAX_PATH || name[0] == '/')
		return false;
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\')
			return false;
	while (seg) {
		const char *end = strchr(seg, '/');
		size_t n = end ? (size_t)(end - seg) : strlen(seg);

		if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return false;
		seg = end ? end + 1 : NULL;
	}
	return true;
}

static int oms_manifest_push(struct oms_manifest *m, const char *name,
			     const unsigned char digest[OMS_SHA256_LEN], uint64_t size)
{
	struct oms_entry *e;

	if (m->n >= OMS_MAX_FILES)
		return SAQR_ETOOBIG;
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 16;
		struct oms_entry *v = realloc(m->entries, cap * sizeof(*v));

		if (!v)
			return SAQR_ENOMEM;
		m->entries = v;
		m->cap = cap;
	}
	e = &m->entries[m->n];
	e->name = strdup(name);
	if (!e->name)
		return SAQR_ENOMEM;
	memcpy(e->digest, digest, OMS_SHA256_LEN);
	e->size = size;
	m->n++;
	return 0;
}

int oms_manifest_add(struct oms_manifest *m, const char *name, const unsigned char digest[OMS_SHA256_LEN],
		     uint64_t size)
{
	return oms_path_ok(name) ? oms_manifest_push(m, name, digest, size) : SAQR_EINVAL;
}

int oms_manifest_add_self(struct oms_manifest *m, const unsigned char digest[OMS_SHA256_LEN])
{
	int rc = m->n ? SAQR_EINVAL : oms_manifest_push(m, OMS_SELF, digest, 0);

	if (rc == 0)
		m->single_file = true;
	return rc;
}

static int oms_entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct oms_entry *)a)->name, ((const struct oms_entry *)b)->name);
}

int oms_manifest_sort(struct oms_manifest *m, char *err, size_t errlen)
{
	if (m->n > 1)
		qsort(m->entries, m->n, sizeof(*m->entries), oms_entry_cmp);
	for (size_t i = 1; i < m->n; i++)
		if (strcmp(m->entries[i - 1].name, m->entries[i].name) == 0)
			return saqr_fail(SAQR_EINVAL, err, errlen, "%s: listed twice", m->entries[i].name);
	return 0;
}

const struct oms_entry *oms_manifest_find(const struct oms_manifest *m, const char *name)
{
	struct oms_entry key = {.name = (char *)name};

	if (!m->n)
		return NULL;
	return bsearch(&key, m->entries, m->n, sizeof(*m->entries), oms_entry_cmp);
}

/* ---- scanning a tree ---- */

struct oms_scan {
	struct oms_manifest *m;
	const char *const *ignore;
	struct buf abs;	 /* the path being visited, from the caller's root */
	size_t root_len; /* bytes of the root and its slash in abs */
	char *err;
	size_t errlen;
};

static bool oms_ignored(const struct oms_scan *s, const char *rel)
{
	for (size_t i = 0; s->ignore && s->ignore[i]; i++)
		if (strcmp(s->ignore[i], rel) == 0)
			return true;
	return false;
}

static int oms_scan_dir(struct oms_scan *s, int depth);

/* Visit abs (a directory entry): recurse into directories, hash regular files, refuse the rest. */
static int oms_scan_entry(struct oms_scan *s, int depth)
{
	const char *path = buf_str(&s->abs), *rel = path + s->root_len;
	unsigned char d[OMS_SHA256_LEN];
	uint64_t size = 0;
	struct stat st;
	int rc;

	if (oms_ignored(s, rel))
		return 0;
	if (lstat(path, &st) != 0)
		return saqr_fail(SAQR_EIO, s->err, s->errlen, "%s: %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return oms_scan_dir(s, depth + 1);
	if (!S_ISREG(st.st_mode))
		return saqr_fail(SAQR_EINVAL, s->err, s->errlen,
				 "%s: not a regular file (links and special files are refused)", path);
	rc = oms_sha256_file(path, d, &size, s->err, s->errlen);
	if (rc)
		return rc;
	rc = oms_manifest_add(s->m, rel, d, size);
	if (rc == SAQR_EINVAL)
		return saqr_fail(rc, s->err, s->errlen, "%s: a path a manifest cannot hold", path);
	if (rc)
		return saqr_fail(rc, s->err, s->errlen, "%s: %s", path, saqr_strerror(rc));
	return 0;
}

static int oms_scan_dir(struct oms_scan *s, int depth)
{
	size_t len = s->abs.len;
	struct dirent *de;
	DIR *dir;
	int rc = 0;

	if (depth > OMS_MAX_DEPTH)
		return saqr_fail(SAQR_ETOOBIG, s->err, s->errlen, "%s: nested deeper than %d",
				 buf_str(&s->abs), OMS_MAX_DEPTH);
	dir = opendir(buf_str(&s->abs));
	if (!dir)
		return saqr_fail(SAQR_EIO, s->err, s->errlen, "%s: %s", buf_str(&s->abs), strerror(errno));
	while (!rc && (de = readdir(dir))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		s->abs.len = len;
		s->abs.data[len] = '\0';
		rc = buf_addf(&s->abs, "%s%s", len > s->root_len ? "/" : "", de->d_name);
		if (rc)
			rc = saqr_fail(rc, s->err, s->errlen, "%s: path too long", buf_str(&s->abs));
		else
			rc = oms_scan_entry(s, depth);
	}
	closedir(dir);
	s->abs.len = len;
	if (s->abs.data)
		s->abs.data[len] = '\0';
	return rc;
}

static int oms_scan_file(struct oms_manifest *m, const char *path, char *err, size_t errlen)
{
	const char *base = strrchr(path, '/');
	unsigned char d[OMS_SHA256_LEN];
	uint64_t size = 0;
	int rc = oms_sha256_file(path, d, &size, err, errlen);

	if (rc)
		return rc;
	rc = oms_manifest_add(m, base ? base + 1 : path, d, size);
	if (rc)
		return saqr_fail(rc, err, errlen, "%s: %s", path, saqr_strerror(rc));
	m->single_file = true;
	return 0;
}

int oms_manifest_scan(struct oms_manifest *m, const char *path, const char *const *ignore, char *err,
		      size_t errlen)
{
	struct oms_scan s = {.m = m, .ignore = ignore, .err = err, .errlen = errlen};
	struct stat st;
	int rc;

	if (stat(path, &st) != 0)
		return saqr_fail(SAQR_EIO, err, errlen, "%s: %s", path, strerror(errno));
	if (S_ISREG(st.st_mode))
		return oms_scan_file(m, path, err, errlen);
	if (!S_ISDIR(st.st_mode))
		return saqr_fail(SAQR_EINVAL, err, errlen, "%s: neither a file nor a directory", path);
	buf_init(&s.abs, OMS_MAX_PATH + strlen(path) + 2);
	rc = buf_addf(&s.abs, "%s/", path);
	s.root_len = s.abs.len;
	rc = rc ? saqr_fail(rc, err, errlen, "%s: path too long", path) : oms_scan_dir(&s, 0);
	buf_release(&s.abs);
	rc = rc ? rc : oms_manifest_sort(m, err, errlen);
	if (!rc && m->n == 0)
		rc = saqr_fail(SAQR_EEMPTY, err, errlen, "%s: no files", path);
	return rc;
}

bool oms_path_within(const char *dir, const char *file, char *rel, size_t relsize)
{
	char *d = realpath(dir, NULL), *copy = strdup(file), *parent = NULL, *slash;
	struct stat st;
	bool in = false;
	size_t n;

	if (!d || !copy || stat(d, &st) != 0 || !S_ISDIR(st.st_mode))
		goto out;
	slash = strrchr(copy, '/');
	if (slash)
		*slash = '\0';
	parent = realpath(slash ? (copy[0] ? copy : "/") : ".", NULL);
	n = strlen(d);
	if (parent && strncmp(parent, d, n) == 0 && (parent[n] == '\0' || parent[n] == '/') &&
	    !(d[n - 1] == '/' && n > 1)) {
		const char *sub = parent[n] ? parent + n + 1 : "";

		in = snprintf(rel, relsize, "%s%s%s", sub, *sub ? "/" : "", slash ? slash + 1 : copy) <
		     (int)relsize;
	}
out:
	free(parent);
	free(copy);
	free(d);
	return in;
}

/* ---- canonical form and digests ---- */

int oms_manifest_canonical(const struct oms_manifest *m, struct buf *out)
{
	char hex[OMS_SHA256_HEX];
	int rc = 0;

	for (size_t i = 0; !rc && i < m->n; i++) {
		oms_hex(m->entries[i].digest, hex);
		rc = buf_addf(out, "%s  %s\n", hex, m->entries[i].name);
	}
	return rc;
}

int oms_manifest_model_digest(const struct oms_manifest *m, unsigned char out[OMS_SHA256_LEN])
{
	struct buf text;
	int rc;

	if (m->n == 0)
		return SAQR_EEMPTY;
	if (m->single_file && m->n == 1) {
		memcpy(out, m->entries[0].digest, OMS_SHA256_LEN);
		return 0;
	}
	buf_init(&text, (size_t)OMS_MAX_FILES * (OMS_MAX_PATH + OMS_CANON_LINE));
	rc = oms_manifest_canonical(m, &text);
	rc = rc ? rc : oms_sha256_mem(text.data, text.len, out);
	buf_release(&text);
	return rc;
}

int oms_manifest_root_digest(const struct oms_manifest *m, unsigned char out[OMS_SHA256_LEN])
{
	struct oms_sha256 s;
	int rc = oms_sha256_init(&s);

	for (size_t i = 0; !rc && i < m->n; i++)
		rc = oms_sha256_update(&s, m->entries[i].digest, OMS_SHA256_LEN);
	rc = rc ? rc : oms_sha256_final(&s, out);
	oms_sha256_release(&s);
	return rc;
}

/* ---- comparison ---- */

#define OMS_COMPARE_REPORTED 3 /* differences named in the message */

struct oms_diff {
	struct buf msg;
	size_t count;
};

static void oms_diff_note(struct oms_diff *d, const char *what, const char *name)
{
	if (d->count++ < OMS_COMPARE_REPORTED)
		(void)buf_addf(&d->msg, "%s%s: %s", d->msg.len ? "; " : "", name, what);
}

int oms_manifest_compare(const struct oms_manifest *signed_m, const struct oms_manifest *actual, char *err,
			 size_t errlen)
{
	struct oms_diff d = {.count = 0};
	size_t i = 0, j = 0;
	int rc = 0;

	if (signed_m->n == 1 && strcmp(signed_m->entries[0].name, OMS_SELF) == 0 && !actual->single_file)
		return saqr_fail(SAQR_EINVAL, err, errlen,
				 "the signature is for a single-file model, and this model is a directory");
	buf_init(&d.msg, 2048);
	if (signed_m->n == 1 && actual->n == 1 && strcmp(signed_m->entries[0].name, OMS_SELF) == 0 &&
	    actual->single_file) { /* the file itself, whatever its name */
		if (memcmp(signed_m->entries[0].digest, actual->entries[0].digest, OMS_SHA256_LEN) != 0)
			oms_diff_note(&d, "digest differs from the signed one", actual->entries[0].name);
		i = j = 1;
	}
	while (i < signed_m->n || j < actual->n) {
		int c = i >= signed_m->n ? 1
			: j >= actual->n ? -1
					 : strcmp(signed_m->entries[i].name, actual->entries[j].name);

		if (c < 0)
			oms_diff_note(&d, "signed but missing", signed_m->entries[i++].name);
		else if (c > 0)
			oms_diff_note(&d, "not in the signed manifest", actual->entries[j++].name);
		else if (memcmp(signed_m->entries[i++].digest, actual->entries[j++].digest, OMS_SHA256_LEN) !=
			 0)
			oms_diff_note(&d, "digest differs from the signed one", actual->entries[j - 1].name);
	}
	if (d.count) {
		rc = saqr_fail(SAQR_EINVAL, err, errlen, "%zu file(s) do not match the signed manifest: %s%s",
			       d.count, buf_str(&d.msg), d.count > OMS_COMPARE_REPORTED ? "; ..." : "");
	}
	buf_release(&d.msg);
	return rc;
}
