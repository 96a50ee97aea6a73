/* Unit tests for policy/zerotrust.c: registries, digests, :latest, ServiceAccounts, token
 * automount, a ModelDeployment's TLS secret, model digests and signatures, and plain http://
 * model, dataset and output URIs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../support/policytest.h"
#include "policy/zerotrust.h"

#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const char deployment[] = "apiVersion: apps/v1\n"
				 "kind: Deployment\n"
				 "metadata: {name: web, namespace: shop}\n"
				 "spec:\n"
				 "  template:\n"
				 "    spec:\n"
				 "      serviceAccountName: web\n"
				 "      automountServiceAccountToken: false\n"
				 "      containers:\n"
				 "      - {name: app, image: 'ghcr.io/acme/web@" DIGEST "'}\n";

static const char model[] = "apiVersion: saqr.dev/v1alpha1\n"
			    "kind: ModelDeployment\n"
			    "metadata: {name: fraud, namespace: ml}\n"
			    "spec:\n"
			    "  model: {name: fraud, uri: 's3://m/fraud', digest: '" DIGEST "'}\n"
			    "  server: {image: 'ghcr.io/acme/server@" DIGEST "'}\n"
			    "  security: {serviceAccountName: fraud, tlsSecretName: fraud-tls}\n";

static const char *image_path = "spec.template.spec.containers[0].image";

static size_t count(const struct policy *p, const json_t *obj, const char *rule, const char *path)
{
	struct policy_decision d;
	size_t n;

	policytest_eval(p, obj, &d);
	n = policytest_count(&d, rule, path);
	policy_decision_release(&d);
	return n;
}

static size_t total(const struct policy *p, const json_t *obj)
{
	struct policy_decision d;
	size_t n;

	policytest_eval(p, obj, &d);
	n = d.nviolations;
	if (n)
		policytest_dump(&d);
	policy_decision_release(&d);
	return n;
}

static void test_image_repository(void **state)
{
	static const char *const cases[][2] = {
	    {"nginx", "docker.io/library/nginx"},
	    {"nginx:1.27", "docker.io/library/nginx"},
	    {"nginx@" DIGEST, "docker.io/library/nginx"},
	    {"acme/web:2", "docker.io/acme/web"},
	    {"ghcr.io/acme/web:2@" DIGEST, "ghcr.io/acme/web"},
	    {"localhost:5000/web:1", "localhost:5000/web"},
	    {"localhost/web", "localhost/web"},
	    {"registry.example.com:443/a/b/c", "registry.example.com:443/a/b/c"},
	};
	char out[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		zerotrust_image_repository(cases[i][0], out, sizeof(out));
		assert_string_equal(out, cases[i][1]);
	}
}

static void test_image_pinned(void **state)
{
	(void)state;
	assert_true(zerotrust_image_pinned("nginx@" DIGEST));
	assert_true(zerotrust_image_pinned("ghcr.io/a/b:1@" DIGEST));
	assert_false(zerotrust_image_pinned("nginx:1.27"));
	assert_false(zerotrust_image_pinned("nginx@sha256:0123"));
	assert_false(zerotrust_image_pinned(
	    "nginx@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
	assert_false(zerotrust_image_pinned(
	    "nginx@sha512:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
	assert_false(zerotrust_image_pinned(NULL));
}

static void test_compliant_objects_pass(void **state)
{
	struct policy *p = policytest_only("zeroTrust", "    allowedRegistries: [ghcr.io/acme]\n");
	json_t *d = policytest_yaml(deployment), *m = policytest_yaml(model);

	(void)state;
	assert_int_equal(total(p, d), 0);
	assert_int_equal(total(p, m), 0);
	json_decref(d);
	json_decref(m);
	policy_free(p);
}

static void test_registries(void **state)
{
	struct policy *p =
	    policytest_only("zeroTrust", "    allowedRegistries: [ghcr.io/acme/, registry.example.com]\n");
	json_t *d = policytest_yaml(deployment);
	struct policy_decision dec;

	(void)state;
	policytest_set(d, "spec.template.spec.containers.0.image",
		       json_string("registry.example.com/x/y@" DIGEST));
	assert_int_equal(total(p, d), 0);
	/* a prefix must end at a path boundary */
	policytest_set(d, "spec.template.spec.containers.0.image",
		       json_string("ghcr.io/acmeevil/web@" DIGEST));
	policytest_eval(p, d, &dec);
	assert_int_equal(dec.nviolations, 1);
	assert_string_equal(dec.violations[0].rule, "zeroTrust.imageRegistry");
	assert_string_equal(dec.violations[0].path, image_path);
	assert_string_equal(dec.violations[0].message,
			    "image \"ghcr.io/acmeevil/web@" DIGEST
			    "\" (ghcr.io/acmeevil/web) is not from an allowed "
			    "registry; allowed: ghcr.io/acme/, registry.example.com");
	policy_decision_release(&dec);
	/* Docker Hub short names are docker.io/library/... */
	policytest_set(d, "spec.template.spec.containers.0.image", json_string("nginx@" DIGEST));
	assert_int_equal(count(p, d, "zeroTrust.imageRegistry", image_path), 1);
	json_decref(d);
	policy_free(p);
}

static void test_any_registry_when_unset(void **state)
{
	struct policy *p = policytest_only("zeroTrust", NULL);
	json_t *d = policytest_yaml(deployment);

	(void)state;
	policytest_set(d, "spec.template.spec.containers.0.image", json_string("quay.io/x/y@" DIGEST));
	assert_int_equal(total(p, d), 0);
	json_decref(d);
	policy_free(p);
}

static void test_digest_and_latest(void **state)
{
	struct policy *p = policytest_only("zeroTrust", NULL);
	json_t *d = policytest_yaml(deployment);
	struct policy_decision dec;

	(void)state;
	policytest_set(d, "spec.template.spec.containers.0.image", json_string("ghcr.io/acme/web:1.4.2"));
	assert_int_equal(count(p, d, "zeroTrust.imageDigest", image_path), 1);
	assert_int_equal(count(p, d, "zeroTrust.imageLatest", NULL), 0);
	policytest_set(d, "spec.template.spec.containers.0.image", json_string("ghcr.io/acme/web:latest"));
	policytest_eval(p, d, &dec);
	assert_int_equal(policytest_count(&dec, "zeroTrust.imageDigest", image_path), 1);
	assert_string_equal(
	    policytest_find(&dec, "zeroTrust.imageLatest", image_path)->message,
	    "image \"ghcr.io/acme/web:latest\" uses the :latest tag; pin a version tag or a digest");
	policy_decision_release(&dec);
	policytest_set(d, "spec.template.spec.containers.0.image", json_string("localhost:5000/web"));
	assert_int_equal(count(p, d, "zeroTrust.imageLatest", image_path), 1);
	/* a digest pins the image whatever the tag says */
	policytest_set(d, "spec.template.spec.containers.0.image",
		       json_string("ghcr.io/acme/web:latest@" DIGEST));
	assert_int_equal(total(p, d), 0);
	json_decref(d);
	policy_free(p);
}

static void test_switches_turn_rules_off(void **state)
{
	struct policy *p = policytest_only("zeroTrust", "    requireDigest: false\n    forbidLatest: false\n"
							"    forbidDefaultServiceAccount: false\n"
							"    requireAutomountDisabled: false\n");
	json_t *d = policytest_yaml(deployment);

	(void)state;
	policytest_set(d, "spec.template.spec.containers.0.image", json_string("nginx:latest"));
	policytest_set(d, "spec.template.spec.serviceAccountName", NULL);
	policytest_set(d, "spec.template.spec.automountServiceAccountToken", NULL);
	assert_int_equal(total(p, d), 0);
	json_decref(d);
	policy_free(p);
}

static void test_init_and_ephemeral_images(void **state)
{
	struct policy *p = policytest_only("zeroTrust", NULL);
	json_t *d = policytest_yaml(deployment);

	(void)state;
	policytest_set(d, "spec.template.spec.initContainers",
		       policytest_yaml("[{name: init, image: 'busybox:1.36'}]"));
	policytest_set(d, "spec.template.spec.ephemeralContainers",
		       policytest_yaml("[{name: dbg, image: 'busybox'}]"));
	assert_int_equal(count(p, d, "zeroTrust.imageDigest", "spec.template.spec.initContainers[0].image"),
			 1);
	assert_int_equal(
	    count(p, d, "zeroTrust.imageLatest", "spec.template.spec.ephemeralContainers[0].image"), 1);
	json_decref(d);
	policy_free(p);
}

/* Image volumes pull images too: the same registry, digest and tag rules, in every template. */
static void test_image_volumes(void **state)
{
	static const char *const vpath = "spec.template.spec.volumes[1].image.reference";
	struct policy *p = policytest_only("zeroTrust", "    allowedRegistries: [ghcr.io/acme]\n");
	json_t *d = policytest_yaml(deployment);
	json_t *cj = policytest_yaml(
	    "apiVersion: batch/v1\n"
	    "kind: CronJob\n"
	    "metadata: {name: c, namespace: shop}\n"
	    "spec:\n"
	    "  schedule: '@daily'\n"
	    "  jobTemplate:\n"
	    "    spec:\n"
	    "      template:\n"
	    "        spec:\n"
	    "          serviceAccountName: c\n"
	    "          automountServiceAccountToken: false\n"
	    "          containers: [{name: c, image: 'ghcr.io/acme/c@" DIGEST "'}]\n"
	    "          volumes: [{name: m, image: {reference: 'quay.io/evil/weights:latest'}}]\n");
	json_t *pod =
	    policytest_yaml("apiVersion: v1\n"
			    "kind: Pod\n"
			    "metadata: {name: p, namespace: shop}\n"
			    "spec:\n"
			    "  serviceAccountName: p\n"
			    "  automountServiceAccountToken: false\n"
			    "  containers: [{name: c, image: 'ghcr.io/acme/c@" DIGEST "'}]\n"
			    "  volumes: [{name: m, image: {reference: 'ghcr.io/acme/weights:3'}}]\n");
	struct policy_decision dec;

	(void)state;
	policytest_set(
	    d, "spec.template.spec.volumes",
	    policytest_yaml(
		"[{name: scratch, emptyDir: {}},"
		" {name: model, image: {reference: 'docker.io/evil/model', pullPolicy: Always}}]"));
	policytest_eval(p, d, &dec);
	assert_int_equal(dec.nviolations, 3);
	assert_string_equal(
	    policytest_find(&dec, "zeroTrust.imageRegistry", vpath)->message,
	    "image \"docker.io/evil/model\" (docker.io/evil/model) is not from an allowed registry; "
	    "allowed: ghcr.io/acme");
	assert_non_null(policytest_find(&dec, "zeroTrust.imageDigest", vpath));
	assert_non_null(policytest_find(&dec, "zeroTrust.imageLatest", vpath));
	policy_decision_release(&dec);
	/* a pinned reference from an allowed registry passes */
	policytest_set(d, "spec.template.spec.volumes.1.image.reference",
		       json_string("ghcr.io/acme/model@" DIGEST));
	assert_int_equal(total(p, d), 0);
	/* CronJob templates and bare Pods */
	assert_int_equal(count(p, cj, "zeroTrust.imageLatest",
			       "spec.jobTemplate.spec.template.spec.volumes[0].image.reference"),
			 1);
	assert_int_equal(count(p, cj, "zeroTrust.imageRegistry",
			       "spec.jobTemplate.spec.template.spec.volumes[0].image.reference"),
			 1);
	assert_int_equal(count(p, pod, "zeroTrust.imageDigest", "spec.volumes[0].image.reference"), 1);
	assert_int_equal(total(p, pod), 1);
	json_decref(d);
	json_decref(cj);
	json_decref(pod);
	policy_free(p);
}

static void test_service_account(void **state)
{
	struct policy *p = policytest_only("zeroTrust", NULL);
	json_t *d = policytest_yaml(deployment);
	struct policy_decision dec;

	(void)state;
	policytest_set(d, "spec.template.spec.serviceAccountName", json_string("default"));
	policytest_eval(p, d, &dec);
	assert_int_equal(dec.nviolations, 1);
	assert_string_equal(dec.violations[0].rule, "zeroTrust.serviceAccount");
	assert_string_equal(dec.violations[0].path, "spec.template.spec.serviceAccountName");
	assert_string_equal(
	    dec.violations[0].message,
	    "\"default\"; pods must run as a dedicated ServiceAccount, not the namespace's \"default\"");
	policy_decision_release(&dec);
	policytest_set(d, "spec.template.spec.serviceAccountName", NULL);
	assert_int_equal(count(p, d, "zeroTrust.serviceAccount", "spec.template.spec.serviceAccountName"), 1);
	/* the deprecated field counts too */
	policytest_set(d, "spec.template.spec.serviceAccount", json_string("web"));
	assert_int_equal(total(p, d), 0);
	policytest_set(d, "spec.template.spec.serviceAccount", json_string("default"));
	assert_int_equal(count(p, d, "zeroTrust.serviceAccount", "spec.template.spec.serviceAccount"), 1);
	json_decref(d);
	policy_free(p);
}

static void test_automount(void **state)
{
	struct policy *p = policytest_only("zeroTrust", NULL);
	json_t *d = policytest_yaml(deployment);

	(void)state;
	policytest_set(d, "spec.template.spec.automountServiceAccountToken", json_true());
	assert_int_equal(
	    count(p, d, "zeroTrust.automountToken", "spec.template.spec.automountServiceAccountToken"), 1);
	policytest_set(d, "spec.template.spec.automountServiceAccountToken", NULL);
	assert_int_equal(count(p, d, "zeroTrust.automountToken", NULL), 1);
	json_decref(d);
	policy_free(p);
}

static void test_model_deployment(void **state)
{
	struct policy *p = policytest_only("zeroTrust", NULL);
	json_t *m = policytest_yaml(model);
	struct policy_decision dec;

	(void)state;
	policytest_set(m, "spec.server.image", json_string("ghcr.io/acme/server:2"));
	policytest_set(m, "spec.security", NULL);
	policytest_set(m, "spec.model.digest", json_string("sha256:abc"));
	policytest_set(m, "spec.canary", policytest_yaml("{weight: 10, model: {uri: 's3://m/fraud-4'}}"));
	policytest_eval(p, m, &dec);
	assert_int_equal(policytest_count(&dec, "zeroTrust.imageDigest", "spec.server.image"), 1);
	assert_int_equal(
	    policytest_count(&dec, "zeroTrust.serviceAccount", "spec.security.serviceAccountName"), 1);
	assert_string_equal(
	    policytest_find(&dec, "zeroTrust.modelTLS", "spec.security.tlsSecretName")->message,
	    "unset; the model server must serve TLS: name a kubernetes.io/tls Secret");
	assert_string_equal(policytest_find(&dec, "zeroTrust.modelDigest", "spec.model.digest")->message,
			    "\"sha256:abc\" is not a sha256:<64 hex digits> digest");
	assert_non_null(policytest_find(&dec, "zeroTrust.modelDigest", "spec.canary.model.digest"));
	/* the operator sets automountServiceAccountToken: false itself */
	assert_int_equal(policytest_count(&dec, "zeroTrust.automountToken", NULL), 0);
	assert_int_equal(dec.nviolations, 5);
	policy_decision_release(&dec);
	json_decref(m);
	policy_free(p);
}

/* The model Saqr's promotion or rollback put in force obeys the same rules as spec.model. */
static void test_model_override(void **state)
{
	struct policy *p = policytest_only("zeroTrust", NULL);
	json_t *m = policytest_yaml(model);
	struct policy_decision dec;

	(void)state;
	policytest_set(m, "spec.modelOverride",
		       policytest_yaml("{reason: Rollback, base: {version: v3}, model: {version: v2, uri: "
				       "'http://models.example.ae/fraud/v2'}}"));
	policytest_eval(p, m, &dec);
	assert_non_null(policytest_find(&dec, "zeroTrust.modelDigest", "spec.modelOverride.model.digest"));
	assert_int_equal(
	    policytest_count(&dec, "zeroTrust.insecureTransport", "spec.modelOverride.model.uri"), 1);
	assert_int_equal(policytest_count(&dec, "zeroTrust.modelDigest", "spec.model.digest"), 0);
	policy_decision_release(&dec);
	json_decref(m);
	policy_free(p);
}

static void test_training_job(void **state)
{
	struct policy *p = policytest_only("zeroTrust", NULL);
	json_t *t = policytest_yaml("apiVersion: saqr.dev/v1alpha1\nkind: TrainingJob\nmetadata: {name: t}\n"
				    "spec: {image: 'pytorch/pytorch', serviceAccountName: default}\n");

	(void)state;
	assert_int_equal(count(p, t, "zeroTrust.imageLatest", "spec.image"), 1);
	assert_int_equal(count(p, t, "zeroTrust.serviceAccount", "spec.serviceAccountName"), 1);
	assert_int_equal(count(p, t, "zeroTrust.modelTLS", NULL), 0);
	json_decref(t);
	policy_free(p);
}

#define SIGNATURE_MESSAGE(field)                                                                             \
	"unset; this policy requires signed models: sign it with `saqrctl model sign --key KEY DIR` "        \
	"(docs/model-integrity.md), store the bundle with the model and set " field " to its URI"

/* modelSignature.required: every model (and canary model) names a signature that saqr-fetch
 * will verify; off by default. */
static void test_model_signature(void **state)
{
	struct policy *p = policytest_only("zeroTrust", "    modelSignature: {required: true}\n");
	struct policy *off = policytest_only("zeroTrust", NULL);
	json_t *m = policytest_yaml(model);
	struct policy_decision dec;

	(void)state;
	/* absent: refused, with what to do */
	assert_int_equal(total(off, m), 0);
	policytest_eval(p, m, &dec);
	assert_int_equal(dec.nviolations, 1);
	assert_false(dec.allowed);
	assert_string_equal(
	    policytest_find(&dec, "zeroTrust.modelSignature", "spec.model.signature")->message,
	    SIGNATURE_MESSAGE("spec.model.signature"));
	policy_decision_release(&dec);
	/* present: admitted */
	policytest_set(m, "spec.model.signature", json_string("s3://m/fraud.sig"));
	assert_int_equal(total(p, m), 0);
	policytest_set(m, "spec.model.signature", json_string(""));
	assert_int_equal(count(p, m, "zeroTrust.modelSignature", "spec.model.signature"), 1);
	policytest_set(m, "spec.model.signature", json_string("/mnt/pvc/models/fraud.sig"));
	assert_int_equal(total(p, m), 0);
	/* the canary model too */
	policytest_set(m, "spec.canary",
		       policytest_yaml("{weight: 10, model: {uri: 's3://m/fraud-4', digest: '" DIGEST "'}}"));
	policytest_eval(p, m, &dec);
	assert_int_equal(dec.nviolations, 1);
	assert_string_equal(
	    policytest_find(&dec, "zeroTrust.modelSignature", "spec.canary.model.signature")->message,
	    SIGNATURE_MESSAGE("spec.canary.model.signature"));
	policy_decision_release(&dec);
	policytest_set(m, "spec.canary.model.signature", json_string("s3://m/fraud-4.sig"));
	assert_int_equal(total(p, m), 0);
	json_decref(m);
	policy_free(p);
	policy_free(off);
}

/* A required signature that nothing would verify: saqr-fetch turned off, or a URI it does not
 * fetch (the server fetches gs:// and oci:// itself). */
static void test_model_signature_unverified(void **state)
{
	struct policy *p = policytest_only("zeroTrust", "    modelSignature:\n      required: true\n");
	json_t *m = policytest_yaml(model);
	struct policy_decision dec;

	(void)state;
	policytest_set(m, "spec.model.signature", json_string("s3://m/fraud.sig"));
	policytest_set(m, "spec.fetch", policytest_yaml("{enabled: false}"));
	policytest_eval(p, m, &dec);
	assert_int_equal(dec.nviolations, 1);
	assert_string_equal(
	    policytest_find(&dec, "zeroTrust.modelSignature", "spec.fetch.enabled")->message,
	    "false, but this policy requires signed models and the saqr-fetch init container is what "
	    "verifies them; remove spec.fetch.enabled or set it to true");
	policy_decision_release(&dec);
	policytest_set(m, "spec.fetch.enabled", json_true());
	assert_int_equal(total(p, m), 0);
	policytest_set(m, "spec.model.uri", json_string("gs://m/fraud"));
	policytest_eval(p, m, &dec);
	assert_int_equal(dec.nviolations, 1);
	assert_string_equal(
	    policytest_find(&dec, "zeroTrust.modelSignature", "spec.model.uri")->message,
	    "saqr-fetch does not fetch this URI scheme, so nothing would verify the signature this "
	    "policy requires; use an https, s3, azureblob or pvc URI");
	policy_decision_release(&dec);
	policytest_set(m, "spec.model.uri", json_string("pvc://models/fraud"));
	assert_int_equal(total(p, m), 0);
	/* warn mode: reported, admitted */
	policy_free(p);
	p = policytest_only("zeroTrust", "    enforcement: warn\n    modelSignature: {required: true}\n");
	policytest_set(m, "spec.model.signature", NULL);
	policytest_eval(p, m, &dec);
	assert_true(dec.allowed);
	assert_int_equal(policytest_count(&dec, "zeroTrust.modelSignature", "spec.model.signature"), 1);
	policy_decision_release(&dec);
	json_decref(m);
	policy_free(p);
}

/* Plain http:// model, signature, dataset and output URIs, unless the policy allows them. */
static void test_insecure_transport(void **state)
{
	struct policy *p = policytest_only("zeroTrust", NULL);
	struct policy *allow = policytest_only("zeroTrust", "    forbidInsecureTransport: false\n");
	json_t *m = policytest_yaml(model);
	json_t *t = policytest_yaml("apiVersion: saqr.dev/v1alpha1\nkind: TrainingJob\nmetadata: {name: t}\n"
				    "spec:\n  image: 'ghcr.io/acme/trainer@" DIGEST
				    "'\n  serviceAccountName: trainer\n"
				    "  dataset: {uri: 'http://data.example/train/'}\n"
				    "  output: {uri: 'HTTP://models.example/out/'}\n");
	struct policy_decision dec;

	(void)state;
	policytest_set(m, "spec.model.uri", json_string("http://models.example/fraud.onnx"));
	policytest_eval(p, m, &dec);
	assert_int_equal(dec.nviolations, 1);
	assert_false(dec.allowed);
	assert_string_equal(
	    policytest_find(&dec, "zeroTrust.insecureTransport", "spec.model.uri")->message,
	    "plain http://, which anyone on the network path can read or alter; use https:// or the "
	    "store's own scheme (s3://, azureblob://, pvc://)");
	policy_decision_release(&dec);
	assert_int_equal(total(allow, m), 0);
	policytest_set(m, "spec.model.uri", json_string("https://models.example/fraud.onnx"));
	policytest_set(m, "spec.model.signature", json_string("http://models.example/fraud.sig"));
	policytest_set(m, "spec.canary",
		       policytest_yaml("{model: {uri: 'http://models.example/f4', digest: '" DIGEST "'}}"));
	assert_int_equal(count(p, m, "zeroTrust.insecureTransport", "spec.model.signature"), 1);
	assert_int_equal(count(p, m, "zeroTrust.insecureTransport", "spec.canary.model.uri"), 1);
	assert_int_equal(total(allow, m), 0);
	/* a TrainingJob's data: both ends */
	assert_int_equal(count(p, t, "zeroTrust.insecureTransport", "spec.dataset.uri"), 1);
	assert_int_equal(count(p, t, "zeroTrust.insecureTransport", "spec.output.uri"), 1);
	assert_int_equal(total(allow, t), 0);
	policytest_set(t, "spec.dataset.uri", json_string("s3://data/train/"));
	policytest_set(t, "spec.output.uri", json_string("https://models.example/out/"));
	assert_int_equal(total(p, t), 0);
	json_decref(m);
	json_decref(t);
	policy_free(p);
	policy_free(allow);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_image_repository),
	    cmocka_unit_test(test_image_pinned),
	    cmocka_unit_test(test_compliant_objects_pass),
	    cmocka_unit_test(test_registries),
	    cmocka_unit_test(test_any_registry_when_unset),
	    cmocka_unit_test(test_digest_and_latest),
	    cmocka_unit_test(test_switches_turn_rules_off),
	    cmocka_unit_test(test_init_and_ephemeral_images),
	    cmocka_unit_test(test_image_volumes),
	    cmocka_unit_test(test_service_account),
	    cmocka_unit_test(test_automount),
	    cmocka_unit_test(test_model_deployment),
	    cmocka_unit_test(test_model_override),
	    cmocka_unit_test(test_training_job),
	    cmocka_unit_test(test_model_signature),
	    cmocka_unit_test(test_model_signature_unverified),
	    cmocka_unit_test(test_insecure_transport),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
