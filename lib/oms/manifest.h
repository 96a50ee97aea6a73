/* A model's manifest: every file of the model (its path relative to the model's root, in POSIX
 * form) with its SHA-256, kept sorted by path (byte order). It is what an OMS signature lists and
 * what a model's digest is made from:
 *   - a single-file model's digest is the SHA-256 of the file;
 *   - a directory model's digest is the SHA-256 of its canonical manifest, one line per file,
 *     "<64 lower-case hex>  <path>\n" (two spaces, as sha256sum prints), sorted by path.
 * Paths are refused when they are absolute, hold "." or ".." segments, empty segments, control
 * characters or backslashes, so that the canonical form is unambiguous.
 *
 * Ownership: a manifest owns its entries and their names; oms_manifest_release frees them. */
#ifndef SAQR_OMS_MANIFEST_H
#define SAQR_OMS_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "oms/digest.h"

#define OMS_MAX_FILES 100000 /* files in one model */
#define OMS_MAX_PATH 4096    /* bytes of one relative path */
#define OMS_MAX_DEPTH 64     /* directory nesting */

struct oms_entry {
	char *name; /* relative POSIX path; owned */
	unsigned char digest[OMS_SHA256_LEN];
	uint64_t size; /* bytes, when known (0 for entries read from a signature) */
};

struct oms_manifest {
	struct oms_entry *entries;
	size_t n, cap;
	bool single_file; /* the model is one file (its digest is the file's) */
};

void oms_manifest_init(struct oms_manifest *m);
/* Free the entries; the manifest is empty and reusable. NULL is a no-op. */
void oms_manifest_release(struct oms_manifest *m);
/* A path acceptable in a manifest (see above). */
bool oms_path_ok(const char *name);
/* Add a copy of name with its digest. 0, SAQR_EINVAL (bad path), SAQR_ETOOBIG (OMS_MAX_FILES)
 * or SAQR_ENOMEM. Order does not matter: oms_manifest_sort puts the entries in order. */
int oms_manifest_add(struct oms_manifest *m, const char *name, const unsigned char digest[OMS_SHA256_LEN],
		     uint64_t size);
/* The name model_signing 1.0.0 gives the one resource of a single-file model: the file itself. */
#define OMS_SELF "."
/* Record a single-file model's one file under OMS_SELF (as read from such a signature), so that
 * oms_manifest_compare matches it with a scanned single file whatever that file is called.
 * 0, SAQR_EINVAL (m not empty) or SAQR_ENOMEM. */
int oms_manifest_add_self(struct oms_manifest *m, const unsigned char digest[OMS_SHA256_LEN]);
/* Sort by path. 0, or SAQR_EINVAL when a path appears twice (named in err). */
int oms_manifest_sort(struct oms_manifest *m, char *err, size_t errlen);
/* The entry for name, or NULL; the manifest must be sorted. Borrowed. */
const struct oms_entry *oms_manifest_find(const struct oms_manifest *m, const char *name);

/* Hash the model at path into m (empty on entry): a regular file (one entry named by its base
 * name, single_file set) or a directory walked recursively. Regular files only: a symbolic link
 * or a special file is refused (SAQR_EINVAL). ignore lists relative paths to leave out (the
 * signature file when it sits in the model); NULL: none. On error m may hold some entries.
 * 0, SAQR_EINVAL, SAQR_EIO, SAQR_ETOOBIG or SAQR_ENOMEM with a message in err. */
int oms_manifest_scan(struct oms_manifest *m, const char *path, const char *const *ignore, char *err,
		      size_t errlen);

/* Whether file (which need not exist yet, but its folder must) lies inside the directory dir;
 * if so its path relative to dir goes to rel (relsize bytes). Both are resolved (symbolic links,
 * "..") first. A dir that is not a directory holds nothing. */
bool oms_path_within(const char *dir, const char *file, char *rel, size_t relsize);

/* Append the canonical text form of the sorted manifest to out. 0 or a buf error. */
int oms_manifest_canonical(const struct oms_manifest *m, struct buf *out);
/* The model's digest (see above) of the sorted manifest. 0, SAQR_EEMPTY (no files) or
 * SAQR_ENOMEM. */
int oms_manifest_model_digest(const struct oms_manifest *m, unsigned char out[OMS_SHA256_LEN]);
/* The OMS subject digest: SHA-256 over the raw file digests in path order. 0 or SAQR_ENOMEM. */
int oms_manifest_root_digest(const struct oms_manifest *m, unsigned char out[OMS_SHA256_LEN]);

/* Check the files in actual against the signed manifest (both sorted): the same paths with the
 * same digests (a signed OMS_SELF entry and a scanned single file: the same digest). 0, or
 * SAQR_EINVAL with the first differences in err: a file not in the signed manifest, a signed file
 * that is missing, a file whose digest differs. */
int oms_manifest_compare(const struct oms_manifest *signed_m, const struct oms_manifest *actual, char *err,
			 size_t errlen);

#endif
