/* Unit tests for policy/residency.c: URIs, (provider, region) pairs and the non-UAE traps,
 * the residency label, placement (nodeSelector, node affinity, spec.scheduling, the cluster's
 * own location) and DIFC/ADGM transfer bases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "../support/policytest.h"
#include "common/err.h"
#include "policy/residency.h"

static struct policy *policy;

static const char model[] = "apiVersion: saqr.dev/v1alpha1\n"
			    "kind: ModelDeployment\n"
			    "metadata:\n"
			    "  name: fraud\n"
			    "  namespace: ml\n"
			    "  labels: {saqr.dev/data-residency: uae}\n"
			    "spec:\n"
			    "  model: {uri: 's3://models/fraud/3'}\n"
			    "  server: {image: x}\n"
			    "  storage: {provider: aws, region: me-central-1}\n"
			    "  scheduling:\n"
			    "    nodeSelector: {topology.kubernetes.io/region: uaenorth}\n";

static const char training[] =
    "apiVersion: saqr.dev/v1alpha1\n"
    "kind: TrainingJob\n"
    "metadata: {name: t, namespace: ml, labels: {saqr.dev/data-residency: uae}}\n"
    "spec:\n"
    "  image: x\n"
    "  dataset: {uri: 'azureblob://acct/data', provider: azure, region: uaenorth}\n"
    "  output: {uri: 'oss://bucket/out', provider: alibaba, region: me-east-1}\n"
    "  scheduling: {nodeSelector: {topology.kubernetes.io/region: me-dubai-1}}\n";

static const char deployment[] = "apiVersion: apps/v1\n"
				 "kind: Deployment\n"
				 "metadata: {name: web, labels: {saqr.dev/data-residency: uae}}\n"
				 "spec:\n"
				 "  template:\n"
				 "    metadata: {labels: {saqr.dev/data-residency: uae}}\n"
				 "    spec:\n"
				 "      containers: [{name: app, image: x}]\n";

static int setup(void **state)
{
	(void)state;
	policy = policytest_only("dataResidency", NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	policy_free(policy);
	return 0;
}

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

#define S RESIDENCY_URI_STORAGE
#define H RESIDENCY_URI_HOST
#define U RESIDENCY_URI_UNKNOWN

/* What each URI proves: kind, provider, region, and the normalised host of host URIs. */
static const struct uri_case {
	const char *uri;
	enum residency_uri_kind kind;
	const char *provider, *region, *host;
} uri_cases[] = {
    /* bucket schemes: provider only */
    {"s3://bucket/key", S, "aws", "", ""},
    {"S3://bucket/key", S, "aws", "", ""},
    {"oss://bucket/k", S, "alibaba", "", ""},
    {"azureblob://account/container/m", S, "azure", "", ""},
    {"gs://bucket/m", S, "gcp", "", ""},
    /* S3, every endpoint form */
    {"https://bucket.s3.me-central-1.amazonaws.com/k", S, "aws", "me-central-1", ""},
    {"https://bucket.s3-me-central-1.amazonaws.com/k", S, "aws", "me-central-1", ""},
    {"https://s3.me-south-1.amazonaws.com/bucket/k", S, "aws", "me-south-1", ""},
    {"https://s3-me-south-1.amazonaws.com/bucket/k", S, "aws", "me-south-1", ""},
    {"https://s3.dualstack.me-central-1.amazonaws.com/bucket/k", S, "aws", "me-central-1", ""},
    {"https://bucket.s3.dualstack.me-central-1.amazonaws.com/k", S, "aws", "me-central-1", ""},
    {"https://s3-fips.us-east-1.amazonaws.com/bucket/k", S, "aws", "us-east-1", ""},
    {"https://bucket.s3-fips.dualstack.us-east-1.amazonaws.com/k", S, "aws", "us-east-1", ""},
    {"https://bucket.vpce-0a1b2c3d-4e5f.s3.me-central-1.vpce.amazonaws.com/k", S, "aws", "me-central-1", ""},
    {"https://ap-123456789012.s3-accesspoint.me-central-1.amazonaws.com/k", S, "aws", "me-central-1", ""},
    {"https://ap-1.s3-accesspoint.dualstack.me-south-1.amazonaws.com/k", S, "aws", "me-south-1", ""},
    {"https://b.s3-website-me-central-1.amazonaws.com/", S, "aws", "me-central-1", ""},
    {"https://b--mec1-az1--x-s3.s3express-mec1-az1.me-central-1.amazonaws.com/k", S, "aws", "me-central-1",
     ""},
    {"https://s3.amazonaws.com/bucket/k", S, "aws", "", ""},
    {"https://bucket.s3.amazonaws.com/k", S, "aws", "", ""},
    {"https://mrap.accesspoint.s3-global.amazonaws.com/k", S, "aws", "", ""},
    {"https://op-1.ec2.s3-outposts.me-central-1.amazonaws.com/k", S, "aws", "", ""},
    {"https://bucket.s3.cn-north-1.amazonaws.com.cn/k", S, "aws", "cn-north-1", ""},
    {"https://s3.amazonaws.com.cn/bucket/k", H, "", "", "s3.amazonaws.com.cn"},
    /* a bucket name with dots cannot pose as the endpoint: read from the right */
    {"https://s3.me-central-1.amazonaws.com.s3.me-south-1.amazonaws.com/k", S, "aws", "me-south-1", ""},
    /* normalisation: case, one trailing dot, userinfo, port */
    {"https://S3.ME-CENTRAL-1.AMAZONAWS.COM./bucket/k", S, "aws", "me-central-1", ""},
    {"https://user@BUCKET.S3.ME-CENTRAL-1.AMAZONAWS.COM:443/k", S, "aws", "me-central-1", ""},
    {"https://user:pw@bucket.s3.me-central-1.amazonaws.com/k", S, "aws", "me-central-1", ""},
    /* tricks */
    {"https://s3.me-central-1.amazonaws.com.evil.com/k", H, "", "", "s3.me-central-1.amazonaws.com.evil.com"},
    {"https://evil.com/s3.me-central-1.amazonaws.com/k", H, "", "", "evil.com"},
    {"https://s3.me-central-1.amazonaws.com@evil.com/k", H, "", "", "evil.com"},
    {"https://evil.com?x=.s3.me-central-1.amazonaws.com", H, "", "", "evil.com"},
    {"https://evil.com#@s3.me-central-1.amazonaws.com", H, "", "", "evil.com"},
    {"https://evil.com\\@s3.me-central-1.amazonaws.com/k", U, "", "", ""},
    {"https://a@b@s3.me-central-1.amazonaws.com/k", U, "", "", ""},
    {"https://bucket.s3.me-central-1.amazonaws%2Ecom/k", U, "", "", ""},
    {"https://bucket.s3.me-central-1.amazonaws.com:https/k", U, "", "", ""},
    {"https://bucket..s3.me-central-1.amazonaws.com/k", U, "", "", ""},
    {"https://s3.me-central-1.amazonaws.com../k", U, "", "", ""},
    {"https://ec2.me-central-1.amazonaws.com/k", H, "", "", "ec2.me-central-1.amazonaws.com"},
    {"https://bucket.s3.evil.amazonaws.com/k", H, "", "", "bucket.s3.evil.amazonaws.com"},
    {"https://[2001:db8::1]:8443/models/m", H, "", "", "[2001:db8::1]"},
    {"https://[2001:db8::1/models/m", U, "", "", ""},
    {"https://[::ffff:s3.me-central-1.amazonaws.com]/m", U, "", "", ""},
    {"https://10.0.0.5:9000/models/m", H, "", "", "10.0.0.5"},
    {"https:///models/m", U, "", "", ""},
    /* Alibaba OSS */
    {"https://b.oss-me-east-1.aliyuncs.com/k", S, "alibaba", "me-east-1", ""},
    {"https://b.oss-me-central-1-internal.aliyuncs.com/k", S, "alibaba", "me-central-1", ""},
    {"https://b.me-east-1.oss.aliyuncs.com/k", S, "alibaba", "me-east-1", ""},
    {"https://b.oss-accelerate.aliyuncs.com/k", S, "alibaba", "", ""},
    {"https://oss-me-east-1.evil.aliyuncs.com/k", H, "", "", "oss-me-east-1.evil.aliyuncs.com"},
    /* OCI Object Storage */
    {"https://objectstorage.me-dubai-1.oraclecloud.com/n/ns/b/x/o/m", S, "oci", "me-dubai-1", ""},
    {"https://ns.compat.objectstorage.me-abudhabi-1.oraclecloud.com/x/m", S, "oci", "me-abudhabi-1", ""},
    {"https://ns.objectstorage.me-abudhabi-1.oci.customer-oci.com/b/x", S, "oci", "me-abudhabi-1", ""},
    /* Azure: no region in its URLs */
    {"https://acct.blob.core.windows.net/c/m", S, "azure", "", ""},
    {"https://acct.dfs.core.windows.net/c/m", S, "azure", "", ""},
    {"https://acct.blob.core.chinacloudapi.cn/c/m", H, "", "", "acct.blob.core.chinacloudapi.cn"},
    /* Google Cloud Storage */
    {"https://storage.googleapis.com/bucket/m", S, "gcp", "", ""},
    {"https://bucket.storage.googleapis.com/m", S, "gcp", "", ""},
    /* other hosts and schemes */
    {"https://models.example.com/m", H, "", "", "models.example.com"},
    {"http://Models.Internal.Example.:8080/m", H, "", "", "models.internal.example"},
    {"oci://registry.example.com/models/fraud:3", H, "", "", "registry.example.com"},
    {"hf://acme/fraud", U, "", "", ""},
    {"/data/models/m", U, "", "", ""},
};

static void test_parse_uri(void **state)
{
	struct residency_uri u;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(uri_cases) / sizeof(uri_cases[0]); i++) {
		const struct uri_case *c = &uri_cases[i];

		residency_parse_uri(c->uri, &u);
		if (u.kind != c->kind || strcmp(u.provider, c->provider) != 0 ||
		    strcmp(u.region, c->region) != 0 || (c->kind == H && strcmp(u.host, c->host) != 0))
			fail_msg("%s: kind %d provider \"%s\" region \"%s\" host \"%s\"", c->uri, u.kind,
				 u.provider, u.region, u.host);
		if (c->kind == U)
			assert_non_null(u.why);
	}
	residency_parse_uri("pvc://models/fraud", &u);
	assert_int_equal(u.kind, RESIDENCY_URI_IN_CLUSTER);
	residency_parse_uri(NULL, &u);
	assert_int_equal(u.kind, RESIDENCY_URI_UNKNOWN);
	assert_string_equal(u.provider, "");
}

static void test_compliant_objects_pass(void **state)
{
	json_t *m = policytest_yaml(model), *t = policytest_yaml(training);

	(void)state;
	assert_int_equal(total(policy, m), 0);
	assert_int_equal(total(policy, t), 0);
	json_decref(m);
	json_decref(t);
}

/* Each pair is refused although its region name looks like (or is) a UAE one. The URI proves
 * only the provider, so the declared region decides. */
static void test_non_uae_traps(void **state)
{
	static const char *const traps[][4] = {
	    {"alibaba", "me-central-1", "oss://b/m", "Riyadh"},
	    {"aws", "me-south-1", "s3://b/m", "Bahrain"},
	    {"gcp", "me-central1", "gs://b/m", "Doha"},
	    {"gcp", "me-central2", "gs://b/m", "Dammam"},
	    {"gcp", "uaenorth", "gs://b/m", "Google Cloud has no UAE region"},
	    {"azure", "me-central-1", "azureblob://a/c/m", NULL},
	};
	json_t *m = policytest_yaml(model);
	struct policy_decision d;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(traps) / sizeof(traps[0]); i++) {
		const struct policy_violation *v;

		policytest_set(m, "spec.model.uri", json_string(traps[i][2]));
		policytest_set(m, "spec.storage.provider", json_string(traps[i][0]));
		policytest_set(m, "spec.storage.region", json_string(traps[i][1]));
		policytest_eval(policy, m, &d);
		assert_int_equal(d.nviolations, 1);
		v = policytest_find(&d, "dataResidency.location", "spec.storage.region");
		assert_non_null(v);
		if (traps[i][3])
			assert_non_null(strstr(v->message, traps[i][3]));
		assert_non_null(strstr(v->message, "allowed: aws/me-central-1, azure/uaenorth"));
		policy_decision_release(&d);
	}
	json_decref(m);
}

/* A URI and the declared (provider, region), and the findings expected: the path of the one
 * finding, or NULL for none. */
static const struct storage_case {
	const char *uri, *provider, *region, *path, *in_message;
} storage_cases[] = {
    /* (a) a region named by the URI decides, and declared fields must agree with it */
    {"https://bucket.s3.me-central-1.amazonaws.com/k", NULL, NULL, NULL, NULL},
    {"https://bucket.s3.me-central-1.amazonaws.com/k", "aws", "me-central-1", NULL, NULL},
    {"https://bucket.s3.me-south-1.amazonaws.com/k", "aws", "me-central-1", "spec.storage.region",
     "\"me-central-1\" contradicts spec.model.uri, which is in \"me-south-1\" by its URI"},
    {"https://bucket.s3-me-south-1.amazonaws.com/k", NULL, NULL, "spec.model.uri",
     "aws/me-south-1 (Bahrain)"},
    {"https://s3.dualstack.me-south-1.amazonaws.com/b/k", "aws", "me-south-1", "spec.model.uri", "Bahrain"},
    {"https://b.vpce-0a1b.s3.me-south-1.vpce.amazonaws.com/k", "aws", "me-central-1", "spec.storage.region",
     NULL},
    {"https://ap-1.s3-accesspoint.me-central-1.amazonaws.com/k", "azure", "uaenorth", "spec.storage.provider",
     NULL},
    {"https://S3.ME-CENTRAL-1.AMAZONAWS.COM./bucket/k", "aws", "me-central-1", NULL, NULL},
    {"https://b.s3.cn-north-1.amazonaws.com.cn/k", NULL, NULL, "spec.model.uri", "aws/cn-north-1"},
    {"https://b.oss-me-central-1.aliyuncs.com/k", "alibaba", "me-east-1", "spec.storage.region", NULL},
    {"https://b.oss-me-east-1-internal.aliyuncs.com/k", NULL, NULL, NULL, NULL},
    {"https://objectstorage.me-dubai-1.oraclecloud.com/n/ns/b/x/o/m", "oci", "me-dubai-1", NULL, NULL},
    {"https://ns.compat.objectstorage.me-abudhabi-1.oraclecloud.com/x/m", "oci", "me-dubai-1",
     "spec.storage.region", NULL},
    /* (b) a region the URI does not prove: the declared pair must be allowed and the URI's
     * provider must match the declared one */
    {"s3://bucket/k", "aws", "me-central-1", NULL, NULL},
    {"s3://bucket/k", "aws", NULL, "spec.storage.region", "is unknown"},
    {"s3://bucket/k", "alibaba", "me-east-1", "spec.storage.provider", NULL},
    {"https://bucket.s3.amazonaws.com/k", "aws", "me-central-1", NULL, NULL},
    {"https://s3.amazonaws.com/bucket/k", "aws", "me-south-1", "spec.storage.region", "Bahrain"},
    {"https://s3.amazonaws.com/bucket/k", "azure", "uaenorth", "spec.storage.provider", NULL},
    {"https://op.ec2.s3-outposts.me-central-1.amazonaws.com/k", NULL, NULL, "spec.storage.region",
     "is unknown"},
    {"https://acct.blob.core.windows.net/c/m", "azure", "uaenorth", NULL, NULL},
    {"https://acct.blob.core.windows.net/c/m", "aws", "me-central-1", "spec.storage.provider", NULL},
    {"azureblob://acct/c/m", "azure", "uaecentral", NULL, NULL},
    {"gs://b/m", "gcp", "me-central1", "spec.storage.region", "Doha"},
    {"https://storage.googleapis.com/b/m", "aws", "me-central-1", "spec.storage.provider", NULL},
    {"https://storage.googleapis.com/b/m", NULL, NULL, "spec.storage.region", "is unknown"},
    /* unrecognised hosts are refused, whatever is declared */
    {"https://models.example.com/m", "aws", "me-central-1", "spec.model.uri",
     "not a recognised storage endpoint"},
    {"https://s3.me-central-1.amazonaws.com.evil.com/k", "aws", "me-central-1", "spec.model.uri",
     "\"s3.me-central-1.amazonaws.com.evil.com\" is not a recognised"},
    {"https://evil.com/s3.me-central-1.amazonaws.com/k", "aws", "me-central-1", "spec.model.uri",
     "\"evil.com\""},
    {"https://s3.me-central-1.amazonaws.com@evil.com/k", "aws", "me-central-1", "spec.model.uri",
     "\"evil.com\""},
    {"oci://registry.example.com/models/fraud:3", "aws", "me-central-1", "spec.model.uri", NULL},
    {"https://[2001:db8::1]/m", "onprem", "dubai-dc1", "spec.model.uri", "\"[2001:db8::1]\""},
    /* and so are URIs that cannot be read without ambiguity */
    {"https://bucket.s3.me-central-1.amazonaws%2Ecom/k", "aws", "me-central-1", "spec.model.uri",
     "percent-encoded"},
    {"https://evil.com\\@s3.me-central-1.amazonaws.com/k", "aws", "me-central-1", "spec.model.uri",
     "backslash"},
    {"hf://acme/fraud", "aws", "me-central-1", "spec.model.uri", "the scheme is not one of"},
};

static void test_storage_locations(void **state)
{
	json_t *m = policytest_yaml(model);
	struct policy_decision d;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(storage_cases) / sizeof(storage_cases[0]); i++) {
		const struct storage_case *c = &storage_cases[i];
		const struct policy_violation *v;

		policytest_set(m, "spec.storage", json_object());
		policytest_set(m, "spec.model.uri", json_string(c->uri));
		if (c->provider)
			policytest_set(m, "spec.storage.provider", json_string(c->provider));
		if (c->region)
			policytest_set(m, "spec.storage.region", json_string(c->region));
		policytest_eval(policy, m, &d);
		v = c->path ? policytest_find(&d, "dataResidency.location", c->path) : NULL;
		if (d.nviolations != (c->path ? 1U : 0U) || (c->path && !v) ||
		    (c->in_message && !strstr(v->message, c->in_message))) {
			policytest_dump(&d);
			fail_msg("%s declared %s/%s", c->uri, c->provider ? c->provider : "-",
				 c->region ? c->region : "-");
		}
		policy_decision_release(&d);
	}
	json_decref(m);
}

static void test_trusted_endpoints(void **state)
{
	struct policy *p = policytest_only(
	    "dataResidency", "    allowedLocations:\n"
			     "      - {provider: aws, region: me-central-1}\n"
			     "      - {provider: onprem, region: dubai-dc1}\n"
			     "    trustedEndpoints:\n"
			     "      - {host: models.internal.example, provider: onprem, region: dubai-dc1}\n"
			     "      - {host: registry.example.com, provider: oci, region: uaenorth}\n"
			     "      - {host: '[fd00::5]', provider: onprem, region: dubai-dc1}\n"
			     "    requirePlacement: false\n");
	json_t *m = policytest_yaml(model);
	struct policy_decision d;

	(void)state;
	policytest_set(m, "spec.scheduling", NULL);
	policytest_set(m, "spec.storage", NULL);
	policytest_set(m, "spec.model.uri",
		       json_string("https://user@Models.Internal.Example.:8443/fraud/3"));
	assert_int_equal(total(p, m), 0);
	policytest_set(m, "spec.model.uri", json_string("https://[fd00::5]:9000/fraud/3"));
	assert_int_equal(total(p, m), 0);
	/* declared fields must agree with the endpoint's location */
	policytest_set(m, "spec.storage", policytest_yaml("{provider: aws, region: me-central-1}"));
	assert_int_equal(count(p, m, "dataResidency.location", "spec.storage.provider"), 1);
	/* a trusted endpoint says where a host is, not that it is allowed */
	policytest_set(m, "spec.storage", NULL);
	policytest_set(m, "spec.model.uri", json_string("oci://registry.example.com/models/fraud:3"));
	policytest_eval(p, m, &d);
	assert_int_equal(d.nviolations, 1);
	assert_string_equal(d.violations[0].path, "spec.model.uri");
	assert_non_null(strstr(d.violations[0].message, "oci/uaenorth, which is not an allowed location"));
	policy_decision_release(&d);
	/* exact hosts only: no subdomains, no look-alikes */
	policytest_set(m, "spec.model.uri", json_string("https://x.models.internal.example/m"));
	assert_int_equal(count(p, m, "dataResidency.location", "spec.model.uri"), 1);
	policytest_set(m, "spec.model.uri", json_string("https://models.internal.example.evil.com/m"));
	assert_int_equal(count(p, m, "dataResidency.location", "spec.model.uri"), 1);
	/* the default policy trusts no host */
	policytest_set(m, "spec.model.uri", json_string("https://models.internal.example/m"));
	policytest_set(m, "spec.storage", policytest_yaml("{provider: onprem, region: dubai-dc1}"));
	assert_int_equal(count(policy, m, "dataResidency.location", "spec.model.uri"), 1);
	policy_free(p);
	json_decref(m);
}

/* trustedEndpoints entries are checked when the policy loads, so that a host that could never
 * match (or that means something else to a URL parser) is an error, not a silent no-op. */
static void test_trusted_endpoints_load(void **state)
{
	static const char *const bad[][2] = {
	    {"{host: Models.Example.com, provider: onprem, region: r}", "write it as \"models.example.com\""},
	    {"{host: 'models.example.com.', provider: onprem, region: r}",
	     "write it as \"models.example.com\""},
	    {"{host: 'https://models.example.com', provider: onprem, region: r}", "not a plain DNS name"},
	    {"{host: 'models.example.com:9000', provider: onprem, region: r}", "not a plain DNS name"},
	    {"{host: 'models%2eexample.com', provider: onprem, region: r}", "percent-encoded"},
	    {"{host: '', provider: onprem, region: r}", "empty"},
	    {"{provider: onprem, region: r}", "host is required"},
	    {"{host: m.example.com, provider: onprem}", "region is required"},
	    {"{host: m.example.com, provider: ibm, region: r}", "provider"},
	    {"{host: m.example.com, provider: onprem, region: r, zone: a}",
	     "(expected host, provider, region)"},
	};
	char yaml[512], err[512];
	struct policy *p = NULL;
	size_t i;
	int n;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = snprintf(yaml, sizeof(yaml),
			     "apiVersion: saqr.dev/v1alpha1\nkind: AdmissionPolicy\nspec:\n  dataResidency:\n"
			     "    trustedEndpoints:\n      - %s\n",
			     bad[i][0]);
		err[0] = '\0';
		assert_int_equal(policy_load_buffer(yaml, (size_t)n, "t.yaml", &p, err, sizeof(err)),
				 SAQR_ECONFIG);
		if (!strstr(err, bad[i][1]) ||
		    !strstr(err, "t.yaml:6: spec.dataResidency.trustedEndpoints[0]"))
			fail_msg("%s: %s", bad[i][0], err);
	}
}

static void test_region_in_the_url_decides(void **state)
{
	json_t *m = policytest_yaml(model);
	struct policy_decision d;

	(void)state;
	/* Bahrain in the host, nothing declared */
	policytest_set(m, "spec.storage", NULL);
	policytest_set(m, "spec.model.uri", json_string("https://models.s3.me-south-1.amazonaws.com/fraud"));
	policytest_eval(policy, m, &d);
	assert_int_equal(d.nviolations, 1);
	assert_string_equal(d.violations[0].path, "spec.model.uri");
	assert_string_equal(
	    d.violations[0].message,
	    "spec.model.uri is in aws/me-south-1 (Bahrain), which is not an allowed location; allowed: "
	    "aws/me-central-1, azure/uaenorth, azure/uaecentral, oci/me-dubai-1, oci/me-abudhabi-1, "
	    "alibaba/me-east-1");
	policy_decision_release(&d);
	/* the UAE in the host needs no storage fields */
	policytest_set(m, "spec.model.uri",
		       json_string("https://models.s3.me-central-1.amazonaws.com/fraud"));
	assert_int_equal(total(policy, m), 0);
	/* a declared region that contradicts the URL is refused */
	policytest_set(m, "spec.storage", policytest_yaml("{provider: aws, region: me-south-1}"));
	policytest_eval(policy, m, &d);
	assert_int_equal(d.nviolations, 1);
	assert_string_equal(d.violations[0].path, "spec.storage.region");
	assert_string_equal(
	    d.violations[0].message,
	    "\"me-south-1\" contradicts spec.model.uri, which is in \"me-central-1\" by its URI");
	policy_decision_release(&d);
	policytest_set(m, "spec.storage", policytest_yaml("{provider: azure, region: me-central-1}"));
	assert_int_equal(count(policy, m, "dataResidency.location", "spec.storage.provider"), 1);
	json_decref(m);
}

static void test_unknown_location(void **state)
{
	json_t *m = policytest_yaml(model);
	struct policy_decision d;

	(void)state;
	/* Azure blob URLs carry no region */
	policytest_set(m, "spec.model.uri", json_string("azureblob://acct/c/m"));
	policytest_set(m, "spec.storage", policytest_yaml("{provider: azure}"));
	policytest_eval(policy, m, &d);
	assert_int_equal(d.nviolations, 1);
	assert_string_equal(d.violations[0].path, "spec.storage.region");
	assert_string_equal(
	    d.violations[0].message,
	    "the location of spec.model.uri (\"azureblob://acct/c/m\") is unknown: set "
	    "spec.storage.provider and spec.storage.region to an allowed (provider, region) pair");
	policy_decision_release(&d);
	policytest_set(m, "spec.storage.region", json_string("uaecentral"));
	assert_int_equal(total(policy, m), 0);
	/* a plain https URL on a host that is not trusted is refused, whatever is declared */
	policytest_set(m, "spec.model.uri", json_string("https://models.example.com/m"));
	policytest_set(m, "spec.storage", policytest_yaml("{provider: aws, region: me-central-1}"));
	assert_int_equal(count(policy, m, "dataResidency.location", "spec.model.uri"), 1);
	/* gs:// is Google Cloud, which has no UAE region */
	policytest_set(m, "spec.model.uri", json_string("gs://b/m"));
	policytest_set(m, "spec.storage", policytest_yaml("{region: me-central2}"));
	assert_int_equal(count(policy, m, "dataResidency.location", "spec.storage.region"), 1);
	json_decref(m);
}

static void test_in_cluster_and_canary_storage(void **state)
{
	json_t *m = policytest_yaml(model);

	(void)state;
	policytest_set(m, "spec.model.uri", json_string("pvc://models/fraud"));
	policytest_set(m, "spec.storage", NULL);
	assert_int_equal(total(policy, m), 0);
	policytest_set(m, "spec.canary", policytest_yaml("{weight: 10, model: {uri: 'gs://b/m'}}"));
	assert_int_equal(count(policy, m, "dataResidency.location", NULL), 1);
	json_decref(m);
}

static void test_training_job_locations(void **state)
{
	json_t *t = policytest_yaml(training);
	struct policy_decision d;

	(void)state;
	policytest_set(t, "spec.dataset.region", json_string("me-central-1"));
	policytest_set(t, "spec.output.region", json_string("me-central-1"));
	policytest_eval(policy, t, &d);
	assert_int_equal(d.nviolations, 2);
	assert_non_null(policytest_find(&d, "dataResidency.location", "spec.dataset.region"));
	assert_non_null(strstr(policytest_find(&d, "dataResidency.location", "spec.output.region")->message,
			       "alibaba/me-central-1 (Riyadh, Saudi Arabia)"));
	policy_decision_release(&d);
	json_decref(t);
}

static void test_residency_label(void **state)
{
	json_t *obj = policytest_yaml(deployment);
	struct policy_decision d;
	struct policy *custom;

	(void)state;
	policytest_set(obj, "spec.template.spec.nodeSelector",
		       policytest_yaml("{topology.kubernetes.io/region: uaenorth}"));
	assert_int_equal(total(policy, obj), 0);
	json_object_set_new(json_object_get(json_object_get(obj, "metadata"), "labels"),
			    "saqr.dev/data-residency", json_string("ksa"));
	policytest_eval(policy, obj, &d);
	assert_int_equal(d.nviolations, 1);
	assert_string_equal(d.violations[0].path, "metadata.labels[saqr.dev/data-residency]");
	assert_string_equal(d.violations[0].message, "\"ksa\" is not an allowed residency; allowed: uae");
	policy_decision_release(&d);
	policytest_set(obj, "metadata.labels", json_object());
	assert_int_equal(
	    count(policy, obj, "dataResidency.label", "metadata.labels[saqr.dev/data-residency]"), 1);
	/* the label key and its values are configurable */
	custom = policytest_only("dataResidency", "    residencyLabel: example.com/residency\n"
						  "    allowedResidencyValues: [ae, uae-north]\n");
	json_object_set_new(json_object_get(json_object_get(obj, "metadata"), "labels"),
			    "example.com/residency", json_string("ae"));
	/* the pod template must carry it too: the pods created from it are checked alike */
	assert_int_equal(
	    count(custom, obj, "dataResidency.label", "spec.template.metadata.labels[example.com/residency]"),
	    1);
	policytest_set(obj, "spec.template.metadata.labels", policytest_yaml("{example.com/residency: ae}"));
	assert_int_equal(total(custom, obj), 0);
	policy_free(custom);
	json_decref(obj);
}

static void test_placement_node_selector(void **state)
{
	json_t *obj = policytest_yaml(deployment);
	struct policy_decision d;

	(void)state;
	policytest_eval(policy, obj, &d);
	assert_int_equal(d.nviolations, 1);
	assert_string_equal(d.violations[0].rule, "dataResidency.placement");
	assert_string_equal(d.violations[0].path, "spec.template.spec.nodeSelector");
	/* only the regions that would be accepted are offered */
	assert_string_equal(
	    d.violations[0].message,
	    "pods are not pinned to an allowed region: set nodeSelector or a required node affinity on "
	    "topology.kubernetes.io/region to one of uaenorth, uaecentral, me-dubai-1, me-abudhabi-1, "
	    "me-east-1, or declare the cluster's own location in the policy");
	policy_decision_release(&d);
	policytest_set(obj, "spec.template.spec.nodeSelector",
		       policytest_yaml("{topology.kubernetes.io/region: me-south-1}"));
	policytest_eval(policy, obj, &d);
	assert_int_equal(d.nviolations, 1);
	assert_string_equal(d.violations[0].path,
			    "spec.template.spec.nodeSelector[topology.kubernetes.io/region]");
	assert_non_null(strstr(d.violations[0].message, "aws/me-south-1 is Bahrain"));
	policy_decision_release(&d);
	/* me-central-1 is the UAE at AWS but Riyadh at Alibaba Cloud: ambiguous without the provider */
	policytest_set(obj, "spec.template.spec.nodeSelector",
		       policytest_yaml("{topology.kubernetes.io/region: me-central-1}"));
	policytest_eval(policy, obj, &d);
	assert_int_equal(d.nviolations, 1);
	assert_non_null(strstr(d.violations[0].message, "ambiguous"));
	policy_decision_release(&d);
	json_decref(obj);
}

static void test_placement_node_affinity(void **state)
{
	json_t *obj = policytest_yaml(deployment);
	json_t *aff = policytest_yaml(
	    "nodeAffinity:\n"
	    "  requiredDuringSchedulingIgnoredDuringExecution:\n"
	    "    nodeSelectorTerms:\n"
	    "    - matchExpressions:\n"
	    "      - {key: kubernetes.io/arch, operator: In, values: [amd64]}\n"
	    "      - {key: topology.kubernetes.io/region, operator: In, values: [uaenorth, uaecentral]}\n");
	struct policy_decision d;

	(void)state;
	policytest_set(obj, "spec.template.spec.affinity", aff);
	assert_int_equal(total(policy, obj), 0);
	/* one bad value in the list */
	policytest_set(aff,
		       "nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms.0."
		       "matchExpressions.1.values.1",
		       json_string("me-central1"));
	policytest_eval(policy, obj, &d);
	assert_int_equal(d.nviolations, 1);
	assert_string_equal(
	    d.violations[0].path,
	    "spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
	    "nodeSelectorTerms[0].matchExpressions[1].values[1]");
	policy_decision_release(&d);
	/* NotIn does not pin */
	policytest_set(aff,
		       "nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms.0."
		       "matchExpressions.1.operator",
		       json_string("NotIn"));
	assert_int_equal(count(policy, obj, "dataResidency.placement", "spec.template.spec.nodeSelector"), 1);
	/* terms are ORed: each must pin */
	policytest_set(aff, "nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms",
		       policytest_yaml(
			   "[{matchExpressions: [{key: topology.kubernetes.io/region, operator: In, values: "
			   "[uaenorth]}]},"
			   " {matchExpressions: [{key: kubernetes.io/os, operator: In, values: [linux]}]}]"));
	assert_int_equal(count(policy, obj, "dataResidency.placement", "spec.template.spec.nodeSelector"), 1);
	json_decref(obj);
}

static void test_cluster_location(void **state)
{
	struct policy *inside =
	    policytest_only("dataResidency", "    clusterLocation: {provider: aws, region: me-central-1}\n");
	struct policy *outside =
	    policytest_only("dataResidency", "    clusterLocation: {provider: aws, region: eu-west-1}\n");
	struct policy *riyadh = policytest_only(
	    "dataResidency", "    clusterLocation: {provider: alibaba, region: me-central-1}\n");
	json_t *obj = policytest_yaml(deployment);
	struct policy_decision d;

	(void)state;
	/* a cluster in an allowed location needs no placement */
	assert_int_equal(total(inside, obj), 0);
	policytest_eval(outside, obj, &d);
	assert_int_equal(d.nviolations, 1);
	assert_non_null(strstr(d.violations[0].message, "to one of me-central-1, or declare"));
	policy_decision_release(&d);
	/* with the provider known, me-central-1 is resolved as a pair */
	policytest_set(obj, "spec.template.spec.nodeSelector",
		       policytest_yaml("{topology.kubernetes.io/region: me-central-1}"));
	assert_int_equal(total(outside, obj), 0);
	assert_int_equal(count(riyadh, obj, "dataResidency.placement", NULL), 1);
	policy_free(inside);
	policy_free(outside);
	policy_free(riyadh);
	json_decref(obj);
}

/* A declared, allowed clusterLocation removes the need to pin, never the check of a pin. */
static void test_explicit_pins_checked_with_cluster_location(void **state)
{
	static const char *const terms = "spec.template.spec.affinity.nodeAffinity."
					 "requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms";
	struct policy *inside =
	    policytest_only("dataResidency", "    clusterLocation: {provider: aws, region: me-central-1}\n");
	struct policy *off = policytest_only("dataResidency", "    requirePlacement: false\n");
	json_t *obj = policytest_yaml(deployment), *m = policytest_yaml(model);
	char path[320];
	struct policy_decision d;

	(void)state;
	policytest_set(obj, "spec.template.spec.nodeSelector",
		       policytest_yaml("{topology.kubernetes.io/region: me-south-1}"));
	policytest_eval(inside, obj, &d);
	assert_int_equal(d.nviolations, 1);
	assert_string_equal(d.violations[0].rule, "dataResidency.placement");
	assert_string_equal(d.violations[0].path,
			    "spec.template.spec.nodeSelector[topology.kubernetes.io/region]");
	assert_non_null(strstr(d.violations[0].message, "aws/me-south-1"));
	policy_decision_release(&d);
	/* requirePlacement: false stops asking for a pin, not checking one */
	assert_int_equal(count(off, obj, "dataResidency.placement", NULL), 1);
	policytest_set(obj, "spec.template.spec.nodeSelector",
		       policytest_yaml("{topology.kubernetes.io/region: me-central-1}"));
	assert_int_equal(total(inside, obj), 0);
	/* every value of every In expression of the required affinity */
	policytest_set(obj, "spec.template.spec.nodeSelector", NULL);
	policytest_set(
	    obj, "spec.template.spec.affinity",
	    policytest_yaml(
		"nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: ["
		"{matchExpressions: [{key: topology.kubernetes.io/region, operator: In, values: "
		"[me-central-1]}]},"
		"{matchExpressions: [{key: topology.kubernetes.io/region, operator: In, values: "
		"[me-central-1, me-south-1]}]}]}}"));
	snprintf(path, sizeof(path), "%s[1].matchExpressions[0].values[1]", terms);
	policytest_eval(inside, obj, &d);
	assert_int_equal(d.nviolations, 1);
	assert_string_equal(d.violations[0].path, path);
	policy_decision_release(&d);
	/* NotIn and Exists prove nothing, so with the cluster's location allowed they are fine */
	policytest_set(
	    obj, "spec.template.spec.affinity",
	    policytest_yaml(
		"nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: ["
		"{matchExpressions: [{key: topology.kubernetes.io/region, operator: NotIn, values: "
		"[me-south-1]},"
		" {key: topology.kubernetes.io/region, operator: Exists}]}]}}"));
	assert_int_equal(total(inside, obj), 0);
	/* spec.scheduling of Saqr's kinds */
	policytest_set(m, "spec.scheduling.nodeSelector",
		       policytest_yaml("{topology.kubernetes.io/region: me-south-1}"));
	assert_int_equal(count(inside, m, "dataResidency.placement",
			       "spec.scheduling.nodeSelector[topology.kubernetes.io/region]"),
			 1);
	policy_free(inside);
	policy_free(off);
	json_decref(obj);
	json_decref(m);
}

static void test_placement_can_be_off(void **state)
{
	struct policy *p = policytest_only("dataResidency", "    requirePlacement: false\n");
	json_t *obj = policytest_yaml(deployment);

	(void)state;
	assert_int_equal(total(p, obj), 0);
	policy_free(p);
	json_decref(obj);
}

static void test_saqr_scheduling_path(void **state)
{
	json_t *m = policytest_yaml(model);

	(void)state;
	policytest_set(m, "spec.scheduling", NULL);
	assert_int_equal(count(policy, m, "dataResidency.placement", "spec.scheduling.nodeSelector"), 1);
	json_decref(m);
}

static void test_jurisdiction_and_transfer_basis(void **state)
{
	json_t *m = policytest_yaml(model);
	json_t *labels = json_object_get(json_object_get(m, "metadata"), "labels");
	struct policy_decision d;

	(void)state;
	json_object_set_new(labels, "saqr.dev/jurisdiction", json_string("onshore-pdpl"));
	assert_int_equal(total(policy, m), 0);
	json_object_set_new(labels, "saqr.dev/jurisdiction", json_string("difc"));
	policytest_eval(policy, m, &d);
	assert_int_equal(d.nviolations, 1);
	assert_string_equal(d.violations[0].rule, "dataResidency.transferBasis");
	assert_string_equal(d.violations[0].path, "metadata.labels[saqr.dev/transfer-basis]");
	assert_non_null(strstr(d.violations[0].message, "DIFC"));
	policy_decision_release(&d);
	policytest_set(m, "metadata.annotations", json_pack("{s:s}", "saqr.dev/transfer-basis", "whatever"));
	policytest_eval(policy, m, &d);
	assert_int_equal(d.nviolations, 1);
	assert_string_equal(d.violations[0].path, "metadata.annotations[saqr.dev/transfer-basis]");
	policy_decision_release(&d);
	policytest_set(m, "metadata.annotations",
		       json_pack("{s:s}", "saqr.dev/transfer-basis", "standard-contractual-clauses"));
	json_object_set_new(labels, "saqr.dev/jurisdiction", json_string("adgm"));
	assert_int_equal(total(policy, m), 0);
	json_object_set_new(labels, "saqr.dev/jurisdiction", json_string("jafza"));
	assert_int_equal(
	    count(policy, m, "dataResidency.jurisdiction", "metadata.labels[saqr.dev/jurisdiction]"), 1);
	json_decref(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_uri),
	    cmocka_unit_test(test_compliant_objects_pass),
	    cmocka_unit_test(test_non_uae_traps),
	    cmocka_unit_test(test_storage_locations),
	    cmocka_unit_test(test_trusted_endpoints),
	    cmocka_unit_test(test_trusted_endpoints_load),
	    cmocka_unit_test(test_region_in_the_url_decides),
	    cmocka_unit_test(test_unknown_location),
	    cmocka_unit_test(test_in_cluster_and_canary_storage),
	    cmocka_unit_test(test_training_job_locations),
	    cmocka_unit_test(test_residency_label),
	    cmocka_unit_test(test_placement_node_selector),
	    cmocka_unit_test(test_placement_node_affinity),
	    cmocka_unit_test(test_cluster_location),
	    cmocka_unit_test(test_explicit_pins_checked_with_cluster_location),
	    cmocka_unit_test(test_placement_can_be_off),
	    cmocka_unit_test(test_saqr_scheduling_path),
	    cmocka_unit_test(test_jurisdiction_and_transfer_basis),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
