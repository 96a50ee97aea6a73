/* OMS bundles: the in-toto statement of a manifest, its DSSE envelope signed with a user's key,
 * wrapped in a Sigstore bundle; and the reverse, checked field by field. */
#include "oms/bundle.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "oms/dsse.h"

/* ---- writing ---- */

static json_t *oms_resources(const struct oms_manifest *m)
{
	json_t *list = json_array();
	char hex[OMS_SHA256_HEX];

	for (size_t i = 0; list && i < m->n; i++) {
		oms_hex(m->entries[i].digest, hex);
		if (json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "name", m->entries[i].name,
							  "algorithm", "sha256", "digest", hex))) {
			json_decref(list);
			return NULL;
		}
	}
	return list;
}

static json_t *oms_serialization(const char *const *ignore)
{
	json_t *paths = json_array();

	for (size_t i = 0; paths && ignore && ignore[i]; i++)
		if (json_array_append_new(paths, json_string(ignore[i]))) {
			json_decref(paths);
			return NULL;
		}
	return json_pack("{s:s, s:s, s:b, s:o}", "method", "files", "hash_type", "sha256", "allow_symlinks",
			 0, "ignore_paths", paths);
}

int oms_statement(const struct oms_manifest *m, const char *model_name, const char *const *ignore,
		  struct buf *out)
{
	unsigned char root[OMS_SHA256_LEN];
	char hex[OMS_SHA256_HEX];
	json_t *st;
	char *text;
	int rc;

	if (m->n == 0)
		return SAQR_EEMPTY;
	rc = oms_manifest_root_digest(m, root);
	if (rc)
		return rc;
	oms_hex(root, hex);
	st =
	    json_pack("{s:s, s:[{s:s, s:{s:s}}], s:s, s:{s:o, s:o}}", "_type", OMS_STATEMENT_TYPE, "subject",
		      "name", model_name, "digest", "sha256", hex, "predicateType", OMS_PREDICATE_TYPE,
		      "predicate", "serialization", oms_serialization(ignore), "resources", oms_resources(m));
	text = st ? json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	rc = text ? buf_adds(out, text) : SAQR_ENOMEM;
	free(text);
	json_decref(st);
	return rc;
}

/* The envelope's signature over PAE(payload type, statement), base64. */
static int oms_envelope_sig(const struct buf *statement, const struct oms_key *key, struct buf *sig64)
{
	struct buf pae, sig;
	int rc;

	buf_init(&pae, OMS_BUNDLE_MAX);
	buf_init(&sig, 1024);
	rc = dsse_pae(OMS_PAYLOAD_TYPE, statement->data, statement->len, &pae);
	rc = rc ? rc : oms_key_sign(key, pae.data, pae.len, &sig);
	rc = rc ? rc : dsse_b64_encode(sig.data, sig.len, sig64);
	buf_release(&pae);
	buf_release(&sig);
	return rc;
}

static int oms_bundle_json(const struct buf *payload64, const struct buf *sig64, const struct oms_key *key,
			   struct buf *out)
{
	json_t *b = json_pack("{s:s, s:{s:{s:s}, s:[]}, s:{s:s, s:s, s:[{s:s, s:s}]}}", "mediaType",
			      OMS_BUNDLE_MEDIA_TYPE, "verificationMaterial", "publicKey", "hint", key->id,
			      "tlogEntries", "dsseEnvelope", "payload", buf_str(payload64), "payloadType",
			      OMS_PAYLOAD_TYPE, "signatures", "sig", buf_str(sig64), "keyid", "");
	char *text = b ? json_dumps(b, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	int rc = text ? buf_adds(out, text) : SAQR_ENOMEM;

	rc = rc ? rc : buf_adds(out, "\n");
	free(text);
	json_decref(b);
	return rc;
}

int oms_sign(const struct oms_manifest *m, const char *model_name, const char *const *ignore,
	     const struct oms_key *key, struct buf *out, char *err, size_t errlen)
{
	struct buf statement, payload64, sig64;
	int rc;

	if (!key->is_private)
		return saqr_fail(SAQR_EINVAL, err, errlen, "signing needs a private key");
	buf_init(&statement, OMS_BUNDLE_MAX);
	buf_init(&payload64, OMS_BUNDLE_MAX);
	buf_init(&sig64, 4096);
	rc = oms_statement(m, model_name, ignore, &statement);
	rc = rc ? rc : dsse_b64_encode(statement.data, statement.len, &payload64);
	rc = rc ? rc : oms_envelope_sig(&statement, key, &sig64);
	rc = rc ? rc : oms_bundle_json(&payload64, &sig64, key, out);
	if (rc)
		saqr_errf(err, errlen, "signing failed: %s", saqr_strerror(rc));
	buf_release(&statement);
	buf_release(&payload64);
	buf_release(&sig64);
	return rc;
}

/* ---- reading ---- */

void oms_verified_release(struct oms_verified *v)
{
	if (v)
		oms_manifest_release(&v->manifest);
}

/* Whether one of the envelope's signatures verifies over pae with one of the keys; the key's id
 * goes to key_id. */
static bool oms_sigs_verify(const json_t *sigs, const struct buf *pae, struct oms_key *const *keys,
			    size_t nkeys, char key_id[OMS_SHA256_HEX])
{
	struct buf sig;
	bool ok = false;
	size_t i;
	json_t *s;

	buf_init(&sig, 4096);
	json_array_foreach(sigs, i, s)
	{
		const char *text = json_string_value(json_object_get(s, "sig"));

		buf_reset(&sig);
		if (!text || dsse_b64_decode(text, &sig) || !sig.len)
			continue;
		for (size_t k = 0; !ok && k < nkeys; k++)
			if (keys[k] && oms_key_verify(keys[k], pae->data, pae->len, sig.data, sig.len)) {
				ok = true;
				memcpy(key_id, keys[k]->id, OMS_SHA256_HEX);
			}
		if (ok)
			break;
	}
	buf_release(&sig);
	return ok;
}

/* The envelope's payload (decoded into payload), once a trusted key verified its signature. */
static int oms_envelope_open(const json_t *bundle, struct oms_key *const *keys, size_t nkeys,
			     struct buf *payload, char key_id[OMS_SHA256_HEX], char *err, size_t errlen)
{
	const json_t *env = json_object_get(bundle, "dsseEnvelope");
	const char *type = json_path_str(env, "payloadType", NULL);
	const char *p64 = json_path_str(env, "payload", NULL);
	const json_t *sigs = json_object_get(env, "signatures");
	struct buf pae;
	int rc;

	if (!type || !p64 || !json_is_array(sigs) || json_array_size(sigs) == 0)
		return saqr_fail(SAQR_EPARSE, err, errlen,
				 "bundle: no DSSE envelope with a payload and signatures");
	if (strcmp(type, OMS_PAYLOAD_TYPE) != 0)
		return saqr_fail(SAQR_EPARSE, err, errlen, "bundle: payload type %s is not %s", type,
				 OMS_PAYLOAD_TYPE);
	if (dsse_b64_decode(p64, payload))
		return saqr_fail(SAQR_EPARSE, err, errlen, "bundle: the payload is not base64");
	buf_init(&pae, OMS_BUNDLE_MAX);
	rc = dsse_pae(type, payload->data, payload->len, &pae);
	if (rc)
		rc = saqr_fail(rc, err, errlen, "bundle: %s", saqr_strerror(rc));
	else if (!oms_sigs_verify(sigs, &pae, keys, nkeys, key_id))
		rc = saqr_fail(SAQR_EINVAL, err, errlen, "bundle: no trusted key verifies the signature");
	buf_release(&pae);
	return rc;
}

/* One resource into m. A lone resource named "." is the file of a single-file model, as
 * model_signing 1.0.0 signed it. */
static int oms_resource_add(struct oms_manifest *m, const json_t *r, bool lone, char *err, size_t errlen)
{
	const char *name = json_path_str(r, "name", NULL), *alg = json_path_str(r, "algorithm", NULL);
	unsigned char d[OMS_SHA256_LEN];
	int rc;

	if (!name || !alg || strcmp(alg, "sha256") != 0 || !oms_unhex(json_path_str(r, "digest", ""), d))
		return saqr_fail(SAQR_EPARSE, err, errlen,
				 "statement: a resource without a name and a sha256 digest");
	rc = lone && strcmp(name, OMS_SELF) == 0 ? oms_manifest_add_self(m, d)
						 : oms_manifest_add(m, name, d, 0);
	if (rc)
		return saqr_fail(rc == SAQR_EINVAL ? SAQR_EPARSE : rc, err, errlen,
				 "statement: resource \"%.200s\": %s", name,
				 rc == SAQR_EINVAL ? "a path a manifest cannot hold" : saqr_strerror(rc));
	return 0;
}

static int oms_statement_check(const json_t *st, char *err, size_t errlen)
{
	const json_t *subject = json_object_get(st, "subject");

	if (strcmp(json_path_str(st, "_type", ""), OMS_STATEMENT_TYPE) != 0)
		return saqr_fail(SAQR_EPARSE, err, errlen, "statement: _type is not %s", OMS_STATEMENT_TYPE);
	if (strcmp(json_path_str(st, "predicateType", ""), OMS_PREDICATE_TYPE) != 0)
		return saqr_fail(SAQR_EPARSE, err, errlen, "statement: predicateType is not %s",
				 OMS_PREDICATE_TYPE);
	if (!json_is_array(subject) || json_array_size(subject) != 1)
		return saqr_fail(SAQR_EPARSE, err, errlen, "statement: expected exactly one subject");
	if (strcmp(json_path_str(st, "predicate.serialization.method", ""), "files") != 0 ||
	    strcmp(json_path_str(st, "predicate.serialization.hash_type", ""), "sha256") != 0)
		return saqr_fail(SAQR_EPARSE, err, errlen,
				 "statement: only the \"files\" serialization with sha256 is supported");
	return 0;
}

/* The statement's resources into v->manifest, checked against the subject's digest. */
static int oms_statement_read(const json_t *st, struct oms_verified *v, char *err, size_t errlen)
{
	const json_t *list = json_path(st, "predicate.resources");
	unsigned char want[OMS_SHA256_LEN], got[OMS_SHA256_LEN];
	const json_t *r;
	size_t i;
	int rc = oms_statement_check(st, err, errlen);

	if (rc)
		return rc;
	if (!json_is_array(list) || !oms_unhex(json_path_str(st, "subject.0.digest.sha256", ""), want))
		return saqr_fail(SAQR_EPARSE, err, errlen,
				 "statement: no resources or no subject sha256 digest");
	snprintf(v->model_name, sizeof(v->model_name), "%s", json_path_str(st, "subject.0.name", ""));
	json_array_foreach(list, i, r)
	{
		rc = oms_resource_add(&v->manifest, r, json_array_size(list) == 1, err, errlen);
		if (rc)
			return rc;
	}
	rc = oms_manifest_sort(&v->manifest, err, errlen);
	if (rc)
		return SAQR_EPARSE;
	if (v->manifest.n == 0)
		return saqr_fail(SAQR_EPARSE, err, errlen, "statement: no resources");
	rc = oms_manifest_root_digest(&v->manifest, got);
	if (!rc && memcmp(want, got, sizeof(got)) != 0)
		rc = saqr_fail(SAQR_EINVAL, err, errlen,
			       "statement: the subject digest does not match the resources");
	return rc;
}

int oms_verify(const char *bundle, size_t len, struct oms_key *const *keys, size_t nkeys,
	       struct oms_verified *out, char *err, size_t errlen)
{
	char perr[160];
	struct buf payload;
	json_t *b, *st = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!nkeys)
		return saqr_fail(SAQR_EINVAL, err, errlen, "no trusted key to verify the signature with");
	b = json_parse_capped(bundle, len, OMS_BUNDLE_MAX, perr, sizeof(perr));
	if (!b)
		return saqr_fail(SAQR_EPARSE, err, errlen, "bundle: %s", perr);
	buf_init(&payload, OMS_BUNDLE_MAX);
	if (strncmp(json_path_str(b, "mediaType", ""), "application/vnd.dev.sigstore.bundle", 35) != 0) {
		rc = saqr_fail(SAQR_EPARSE, err, errlen, "bundle: not a Sigstore bundle (mediaType)");
		goto out;
	}
	rc = oms_envelope_open(b, keys, nkeys, &payload, out->key_id, err, errlen);
	if (rc)
		goto out;
	st = json_parse_capped(buf_str(&payload), payload.len, OMS_BUNDLE_MAX, perr, sizeof(perr));
	rc = st ? oms_statement_read(st, out, err, errlen)
		: saqr_fail(SAQR_EPARSE, err, errlen, "statement: %s", perr);
out:
	if (rc)
		oms_verified_release(out);
	json_decref(st);
	json_decref(b);
	buf_release(&payload);
	return rc;
}
