/* Zero Trust: every image from an allowed registry and pinned by digest, no :latest, no
 * default ServiceAccount or automounted token, model servers with TLS and pinned (and, when the
 * policy says so, signed) models, and no plain http:// for models and training data. */
#include "policy/zerotrust.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/jsonutil.h"
#include "policy/finding.h"

#define ZT_PATH_MAX 256
#define ZT_REPO_MAX 512

static bool zt_is_sha256(const char *s)
{
	size_t i;

	if (strncmp(s, "sha256:", 7) != 0 || strlen(s) != 7 + 64)
		return false;
	for (i = 7; s[i]; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	return true;
}

bool zerotrust_image_pinned(const char *image)
{
	const char *at = image ? strchr(image, '@') : NULL;

	return at && zt_is_sha256(at + 1);
}

/* The tag of image (between the last ':' after the last '/' and any '@'), or NULL. */
static const char *zt_tag(const char *image, size_t *len)
{
	const char *end = strchr(image, '@');
	const char *slash, *colon;

	if (!end)
		end = image + strlen(image);
	slash = image;
	for (const char *p = image; p < end; p++)
		if (*p == '/')
			slash = p + 1;
	colon = memchr(slash, ':', (size_t)(end - slash));
	if (!colon)
		return NULL;
	*len = (size_t)(end - colon - 1);
	return colon + 1;
}

void zerotrust_image_repository(const char *image, char *out, size_t n)
{
	const char *end = strchr(image, '@');
	const char *slash = strchr(image, '/');
	size_t tag_len = 0;
	const char *tag;
	int len;

	if (!end)
		end = image + strlen(image);
	tag = zt_tag(image, &tag_len);
	if (tag)
		end = tag - 1;
	len = (int)(end - image);
	if (!slash || slash >= end)
		snprintf(out, n, "docker.io/library/%.*s", len, image);
	else if (memchr(image, '.', (size_t)(slash - image)) || memchr(image, ':', (size_t)(slash - image)) ||
		 (slash - image == 9 && strncmp(image, "localhost", 9) == 0))
		snprintf(out, n, "%.*s", len, image);
	else
		snprintf(out, n, "docker.io/%.*s", len, image);
}

/* An allowedRegistries entry matches the repository itself or anything below it. */
static bool zt_registry_allowed(const struct policy_strlist *allowed, const char *repo)
{
	size_t i;

	for (i = 0; i < allowed->n; i++) {
		const char *e = allowed->v[i];
		size_t n = strlen(e);

		while (n > 0 && e[n - 1] == '/')
			n--;
		if (strncmp(repo, e, n) == 0 && (repo[n] == '\0' || repo[n] == '/'))
			return true;
	}
	return false;
}

static void zt_report(struct policy_eval_ctx *ev, const char *rule, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void zt_report(struct policy_eval_ctx *ev, const char *rule, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	policy__vviolation(ev, ev->p->zero_trust.g.enforcement, rule, path, fmt, ap);
	va_end(ap);
}

/* Where an image reference sits in the object: a container's image or an image volume's
 * reference; the path is built only when there is a finding to report. */
struct zt_image {
	const char *ref;
	const struct podspec_container *c; /* NULL for an image volume */
	size_t volume;			   /* index in spec.volumes when c is NULL */
};

static const char *zt_image_path(const struct policy_eval_ctx *ev, const struct zt_image *im, char *out,
				 size_t n)
{
	char field[64];

	if (im->c) {
		podspec_path(&ev->pod, im->c, "image", out, n);
	} else {
		snprintf(field, sizeof(field), "volumes[%zu].image.reference", im->volume);
		podspec_path(&ev->pod, NULL, field, out, n);
	}
	return out;
}

static void zt_registry(struct policy_eval_ctx *ev, const struct zt_image *im)
{
	char repo[ZT_REPO_MAX], path[ZT_PATH_MAX];
	struct buf allowed;

	if (ev->p->zero_trust.allowed_registries.n == 0)
		return;
	zerotrust_image_repository(im->ref, repo, sizeof(repo));
	if (zt_registry_allowed(&ev->p->zero_trust.allowed_registries, repo))
		return;
	buf_init(&allowed, 4096);
	policy__strlist_join(&ev->p->zero_trust.allowed_registries, &allowed);
	zt_report(ev, "zeroTrust.imageRegistry", zt_image_path(ev, im, path, sizeof(path)),
		  "image \"%s\" (%s) is not from an allowed registry; allowed: %s", im->ref, repo,
		  buf_str(&allowed));
	buf_release(&allowed);
}

/* Registry, digest and tag rules for one image reference, wherever it appears. */
static void zt_image(struct policy_eval_ctx *ev, const struct zt_image *im)
{
	const struct policy_zero_trust *zt = &ev->p->zero_trust;
	char path[ZT_PATH_MAX];
	size_t tag_len = 0;
	const char *tag;
	bool pinned;

	zt_registry(ev, im);
	pinned = zerotrust_image_pinned(im->ref);
	if (zt->require_digest && !pinned)
		zt_report(ev, "zeroTrust.imageDigest", zt_image_path(ev, im, path, sizeof(path)),
			  "image \"%s\" is not pinned by digest; use <image>@sha256:<64 hex digits>",
			  im->ref);
	if (!zt->forbid_latest || pinned)
		return;
	tag = zt_tag(im->ref, &tag_len);
	if (!tag)
		zt_report(ev, "zeroTrust.imageLatest", zt_image_path(ev, im, path, sizeof(path)),
			  "image \"%s\" has no tag, which means :latest; pin a version tag or a digest",
			  im->ref);
	else if (tag_len == 6 && strncmp(tag, "latest", 6) == 0)
		zt_report(ev, "zeroTrust.imageLatest", zt_image_path(ev, im, path, sizeof(path)),
			  "image \"%s\" uses the :latest tag; pin a version tag or a digest", im->ref);
}

void zerotrust_container(struct policy_eval_ctx *ev, const struct podspec_container *c)
{
	struct zt_image im = {c->image, c, 0};

	if (c->image)
		zt_image(ev, &im);
}

/* Image volumes (volumes[].image.reference) pull an OCI image like a container does, so the
 * same rules apply. A missing reference is skipped as a container's missing image is: the
 * Pod that a controller makes from the template is checked when it is created. */
static void zt_image_volumes(struct policy_eval_ctx *ev)
{
	const json_t *vols = ev->pod.volumes;
	struct zt_image im = {NULL, NULL, 0};

	for (im.volume = 0; im.volume < json_array_size(vols); im.volume++) {
		const json_t *src = json_object_get(json_array_get(vols, im.volume), "image");

		im.ref = json_string_value(json_object_get(src, "reference"));
		if (im.ref)
			zt_image(ev, &im);
	}
}

static void zt_model_digest(struct policy_eval_ctx *ev, const char *field)
{
	const char *digest = json_path_str(ev->obj, field, NULL);

	if (!digest)
		zt_report(ev, "zeroTrust.modelDigest", field,
			  "unset; pin the model with its sha256:<64 hex digits> digest");
	else if (!zt_is_sha256(digest))
		zt_report(ev, "zeroTrust.modelDigest", field, "\"%s\" is not a sha256:<64 hex digits> digest",
			  digest);
}

/* Plain http:// lets anyone on the network path read the data or swap the model. The URI is
 * not repeated in the message: it may carry credentials. */
static void zt_transport(struct policy_eval_ctx *ev, const char *field)
{
	const char *uri = json_path_str(ev->obj, field, NULL);

	if (ev->p->zero_trust.forbid_insecure_transport && uri && strncasecmp(uri, "http://", 7) == 0)
		zt_report(
		    ev, "zeroTrust.insecureTransport", field,
		    "plain http://, which anyone on the network path can read or alter; use https:// or the "
		    "store's own scheme (s3://, azureblob://, pvc://)");
}

/* The URI schemes saqr-fetch fetches, and so the models whose signature something verifies
 * (the operator's rule, operator/modeldeployment/sidecars.c). */
static bool zt_fetchable(const char *uri)
{
	static const char *const schemes[] = {"https://", "s3://", "azureblob://", "pvc://"};
	size_t i;

	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strncmp(uri, schemes[i], strlen(schemes[i])) == 0)
			return true;
	return false;
}

/* One model ("spec.model", "spec.canary.model" or "spec.modelOverride.model") under
 * modelSignature.required. */
static void zt_model_signature(struct policy_eval_ctx *ev, const char *model)
{
	const json_t *m = json_path(ev->obj, model);
	const char *uri = json_path_str(m, "uri", "");
	char field[ZT_PATH_MAX];

	snprintf(field, sizeof(field), "%s.signature", model);
	if (json_path_str(m, "signature", "")[0] == '\0')
		zt_report(
		    ev, "zeroTrust.modelSignature", field,
		    "unset; this policy requires signed models: sign it with `saqrctl model sign --key KEY "
		    "DIR` (docs/model-integrity.md), store the bundle with the model and set %s to its URI",
		    field);
	snprintf(field, sizeof(field), "%s.uri", model);
	if (uri[0] && !zt_fetchable(uri))
		zt_report(
		    ev, "zeroTrust.modelSignature", field,
		    "saqr-fetch does not fetch this URI scheme, so nothing would verify the signature this "
		    "policy requires; use an https, s3, azureblob or pvc URI");
}

static void zt_model_signatures(struct policy_eval_ctx *ev)
{
	if (!ev->p->zero_trust.model_signature.required)
		return;
	zt_model_signature(ev, "spec.model");
	if (json_is_object(json_path(ev->obj, "spec.canary.model")))
		zt_model_signature(ev, "spec.canary.model");
	if (json_is_object(json_path(ev->obj, "spec.modelOverride.model")))
		zt_model_signature(ev, "spec.modelOverride.model");
	if (!json_path_bool(ev->obj, "spec.fetch.enabled", true, NULL))
		zt_report(
		    ev, "zeroTrust.modelSignature", "spec.fetch.enabled",
		    "false, but this policy requires signed models and the saqr-fetch init container is "
		    "what verifies them; remove spec.fetch.enabled or set it to true");
}

static void zt_model(struct policy_eval_ctx *ev)
{
	const char *tls = json_path_str(ev->obj, "spec.security.tlsSecretName", "");
	bool canary = json_is_object(json_path(ev->obj, "spec.canary.model"));
	/* the model Saqr's promotion or rollback put in force (spec.modelOverride) obeys the same */
	bool override = json_is_object(json_path(ev->obj, "spec.modelOverride.model"));

	if (ev->p->zero_trust.require_model_tls && tls[0] == '\0')
		zt_report(ev, "zeroTrust.modelTLS", "spec.security.tlsSecretName",
			  "unset; the model server must serve TLS: name a kubernetes.io/tls Secret");
	zt_transport(ev, "spec.model.uri");
	zt_transport(ev, "spec.model.signature");
	if (canary) {
		zt_transport(ev, "spec.canary.model.uri");
		zt_transport(ev, "spec.canary.model.signature");
	}
	if (override) {
		zt_transport(ev, "spec.modelOverride.model.uri");
		zt_transport(ev, "spec.modelOverride.model.signature");
	}
	zt_model_signatures(ev);
	if (!ev->p->zero_trust.require_model_digest)
		return;
	zt_model_digest(ev, "spec.model.digest");
	if (canary)
		zt_model_digest(ev, "spec.canary.model.digest");
	if (override)
		zt_model_digest(ev, "spec.modelOverride.model.digest");
}

void zerotrust_pod(struct policy_eval_ctx *ev)
{
	const struct podspec *ps = &ev->pod;
	char path[ZT_PATH_MAX];

	zt_image_volumes(ev);
	if (ev->p->zero_trust.forbid_default_sa &&
	    (!ps->service_account || strcmp(ps->service_account, "default") == 0)) {
		podspec_path(ps, NULL, ps->service_account_field, path, sizeof(path));
		zt_report(ev, "zeroTrust.serviceAccount", path,
			  "%s; pods must run as a dedicated ServiceAccount, not the namespace's \"default\"",
			  ps->service_account ? "\"default\"" : "unset");
	}
	if (ev->p->zero_trust.require_automount_disabled && ps->automount_token != PODSPEC_FALSE) {
		podspec_path(ps, NULL, "automountServiceAccountToken", path, sizeof(path));
		zt_report(
		    ev, "zeroTrust.automountToken", path,
		    "%s; set automountServiceAccountToken: false (mount a projected token only where the API "
		    "is needed)",
		    ps->automount_token == PODSPEC_TRUE ? "true" : "unset");
	}
	if (ev->kind == PODSPEC_KIND_MODEL_DEPLOYMENT) {
		zt_model(ev);
	} else if (ev->kind == PODSPEC_KIND_TRAINING_JOB) {
		zt_transport(ev, "spec.dataset.uri");
		zt_transport(ev, "spec.output.uri");
	}
}
