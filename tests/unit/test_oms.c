/* Unit tests for lib/oms: SHA-256 fed in pieces, DSSE's PAE and base64, manifest paths and the
 * canonical form, signing and verifying OMS bundles (good, wrong key, P-384, truncated and altered
 * bundles, an inconsistent statement), the comparison of files with a signed manifest (altered,
 * extra, missing), and `saqrctl model` end to end on a temporary model directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "oms/bundle.h"
#include "oms/dsse.h"
#include "oms/manifest.h"
#include "saqrctl/model.h"

static const char *data_path(const char *name)
{
	static char paths[4][4096];
	static int next;
	const char *root = getenv("SAQR_ROOT");
	char *p = paths[next++ % 4];

	snprintf(p, 4096, "%s/tests/data/oms/%s", root ? root : ".", name);
	return p;
}

static struct oms_key *load_key(const char *name, bool priv)
{
	struct oms_key *k = NULL;
	char err[256] = "";

	assert_int_equal(oms_key_load(data_path(name), priv, &k, err, sizeof(err)), 0);
	return k;
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A model directory: a.txt ("hello\n"), sub/b.bin ("abc"). Caller removes it (rm_model). */
static char *make_model(void)
{
	char tmpl[] = "/tmp/saqr-oms-XXXXXX", path[4096];
	char *dir = mkdtemp(tmpl);

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/sub", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	write_file(dir, "a.txt", "hello\n");
	write_file(dir, "sub/b.bin", "abc");
	return strdup(dir);
}

static void rm_model(char *dir)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(dir);
}

static const char ABC_HEX[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
static const char HELLO_HEX[] = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

static void test_sha256_split_reads(void **state)
{
	static const char msg[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	unsigned char one[OMS_SHA256_LEN], split[OMS_SHA256_LEN];
	char hex[OMS_SHA256_HEX];

	(void)state;
	assert_int_equal(oms_sha256_mem("abc", 3, one), 0);
	oms_hex(one, hex);
	assert_string_equal(hex, ABC_HEX);
	assert_int_equal(oms_sha256_mem(msg, strlen(msg), one), 0);
	oms_hex(one, hex);
	assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	/* every split point, and pieces of one byte, give the same digest */
	for (size_t cut = 0; cut <= strlen(msg); cut++) {
		struct oms_sha256 s;

		assert_int_equal(oms_sha256_init(&s), 0);
		assert_int_equal(oms_sha256_update(&s, msg, cut), 0);
		for (size_t i = cut; i < strlen(msg); i++)
			assert_int_equal(oms_sha256_update(&s, msg + i, 1), 0);
		assert_int_equal(oms_sha256_final(&s, split), 0);
		assert_int_equal(s.bytes, strlen(msg));
		oms_sha256_release(&s);
		assert_memory_equal(one, split, OMS_SHA256_LEN);
	}
	oms_sha256_release(NULL);
}

static void test_digest_text(void **state)
{
	unsigned char d[OMS_SHA256_LEN];
	char text[80];

	(void)state;
	snprintf(text, sizeof(text), "sha256:%s", ABC_HEX);
	assert_true(oms_digest_parse(text, d));
	text[7] = 'B';
	assert_true(oms_digest_parse(text, d));
	text[8] = 'g';
	assert_false(oms_digest_parse(text, d));
	assert_false(oms_digest_parse(ABC_HEX, d));
	assert_false(oms_digest_parse("sha256:abc", d));
	assert_false(oms_digest_parse(NULL, d));
}

static void test_dsse_pae(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	/* the example of the DSSE protocol document */
	assert_int_equal(dsse_pae("http://example.com/HelloWorld", "hello world", 11, &b), 0);
	assert_string_equal(buf_str(&b), "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
	buf_reset(&b);
	assert_int_equal(dsse_pae("", "", 0, &b), 0);
	assert_string_equal(buf_str(&b), "DSSEv1 0  0 ");
	buf_reset(&b);
	/* lengths count bytes, not characters */
	assert_int_equal(dsse_pae("t", "\xe1\x88\xb4", 3, &b), 0);
	assert_string_equal(buf_str(&b), "DSSEv1 1 t 3 \xe1\x88\xb4");
	buf_release(&b);
}

static void test_base64(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(dsse_b64_encode("\xfb\xff", 2, &b), 0);
	assert_string_equal(buf_str(&b), "+/8=");
	buf_reset(&b);
	assert_int_equal(dsse_b64_decode("+/8=", &b), 0);
	assert_int_equal(b.len, 2);
	assert_memory_equal(b.data, "\xfb\xff", 2);
	buf_reset(&b);
	assert_int_equal(dsse_b64_decode("-_8", &b), 0); /* URL-safe, unpadded */
	assert_memory_equal(b.data, "\xfb\xff", 2);
	buf_reset(&b);
	assert_int_equal(dsse_b64_decode("aGVsbG8gd29ybGQ=", &b), 0);
	assert_string_equal(buf_str(&b), "hello world");
	buf_reset(&b);
	assert_int_equal(dsse_b64_decode("a*bc", &b), SAQR_EPARSE);
	assert_int_equal(dsse_b64_decode("a=bc", &b), SAQR_EPARSE);
	buf_release(&b);
}

static void test_path_rules(void **state)
{
	(void)state;
	assert_true(oms_path_ok("model.onnx"));
	assert_true(oms_path_ok("a/b/c.bin"));
	assert_true(oms_path_ok(".hidden/x"));
	assert_false(oms_path_ok(""));
	assert_false(oms_path_ok("/abs"));
	assert_false(oms_path_ok("a/../b"));
	assert_false(oms_path_ok("./a"));
	assert_false(oms_path_ok("a//b"));
	assert_false(oms_path_ok("a/"));
	assert_false(oms_path_ok("a\nb"));
	assert_false(oms_path_ok("a\\b"));
	assert_false(oms_path_ok(NULL));
}

static void test_manifest_canonical(void **state)
{
	char *dir = make_model(), err[256] = "", hex[OMS_SHA256_HEX], want[512];
	unsigned char d[OMS_SHA256_LEN], expect[OMS_SHA256_LEN];
	struct oms_manifest m;
	struct buf text;

	(void)state;
	oms_manifest_init(&m);
	buf_init(&text, 4096);
	write_file(dir, "B-upper", "x"); /* 'B' sorts before 'a' in byte order */
	assert_int_equal(oms_manifest_scan(&m, dir, NULL, err, sizeof(err)), 0);
	assert_int_equal(m.n, 3);
	assert_false(m.single_file);
	assert_int_equal(oms_manifest_canonical(&m, &text), 0);
	snprintf(want, sizeof(want),
		 "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881  B-upper\n"
		 "%s  a.txt\n%s  sub/b.bin\n",
		 HELLO_HEX, ABC_HEX);
	assert_string_equal(buf_str(&text), want);
	assert_int_equal(oms_manifest_model_digest(&m, d), 0);
	assert_int_equal(oms_sha256_mem(want, strlen(want), expect), 0);
	assert_memory_equal(d, expect, OMS_SHA256_LEN);
	assert_non_null(oms_manifest_find(&m, "sub/b.bin"));
	assert_null(oms_manifest_find(&m, "sub"));
	/* the ignored path is left out */
	oms_manifest_release(&m);
	assert_int_equal(oms_manifest_scan(&m, dir, (const char *const[]){"B-upper", NULL}, err, sizeof(err)),
			 0);
	assert_int_equal(m.n, 2);
	oms_manifest_release(&m);
	/* a single file's digest is its own */
	snprintf(want, sizeof(want), "%s/sub/b.bin", dir);
	assert_int_equal(oms_manifest_scan(&m, want, NULL, err, sizeof(err)), 0);
	assert_true(m.single_file);
	assert_string_equal(m.entries[0].name, "b.bin");
	assert_int_equal(oms_manifest_model_digest(&m, d), 0);
	oms_hex(d, hex);
	assert_string_equal(hex, ABC_HEX);
	oms_manifest_release(&m);
	buf_release(&text);
	rm_model(dir);
}

static void test_manifest_refusals(void **state)
{
	char *dir = make_model(), err[512] = "", link[4200], empty[] = "/tmp/saqr-oms-empty-XXXXXX";
	unsigned char d[OMS_SHA256_LEN] = {0};
	struct oms_manifest m;

	(void)state;
	oms_manifest_init(&m);
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(symlink("a.txt", link), 0);
	assert_int_equal(oms_manifest_scan(&m, dir, NULL, err, sizeof(err)), SAQR_EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
	oms_manifest_release(&m);
	assert_int_equal(oms_manifest_scan(&m, "/nonexistent/model", NULL, err, sizeof(err)), SAQR_EIO);
	assert_non_null(mkdtemp(empty));
	assert_int_equal(oms_manifest_scan(&m, empty, NULL, err, sizeof(err)), SAQR_EEMPTY);
	rmdir(empty);
	assert_int_equal(oms_manifest_add(&m, "x", d, 0), 0);
	assert_int_equal(oms_manifest_add(&m, "x", d, 0), 0);
	assert_int_equal(oms_manifest_add(&m, "../x", d, 0), SAQR_EINVAL);
	assert_int_equal(oms_manifest_sort(&m, err, sizeof(err)), SAQR_EINVAL);
	assert_string_equal(err, "x: listed twice");
	oms_manifest_release(&m);
	oms_manifest_release(NULL);
	rm_model(dir);
}

/* Sign the model at dir with key into bundle. */
static void sign_dir(const char *dir, const char *keyname, struct buf *bundle)
{
	struct oms_key *key = load_key(keyname, true);
	struct oms_manifest m;
	char err[256] = "";

	oms_manifest_init(&m);
	assert_int_equal(oms_manifest_scan(&m, dir, NULL, err, sizeof(err)), 0);
	assert_int_equal(oms_sign(&m, "demo", NULL, key, bundle, err, sizeof(err)), 0);
	oms_manifest_release(&m);
	oms_key_free(key);
}

/* oms_verify of bundle with the public key named keyname; the rc, message in err. */
static int verify_with(const struct buf *bundle, const char *keyname, struct oms_verified *v, char *err,
		       size_t errlen)
{
	struct oms_key *key = load_key(keyname, false);
	int rc = oms_verify(buf_str(bundle), bundle->len, &key, 1, v, err, errlen);

	oms_key_free(key);
	return rc;
}

static void test_sign_verify(void **state)
{
	char *dir = make_model(), err[512] = "";
	struct oms_key *keys[2];
	struct oms_verified v;
	struct oms_manifest m;
	struct buf bundle;
	json_t *b;

	(void)state;
	buf_init(&bundle, OMS_BUNDLE_MAX);
	oms_manifest_init(&m);
	sign_dir(dir, "p256.key", &bundle);
	b = json_loads(buf_str(&bundle), 0, NULL);
	assert_string_equal(json_string_value(json_object_get(b, "mediaType")), OMS_BUNDLE_MEDIA_TYPE);
	json_decref(b);
	assert_int_equal(verify_with(&bundle, "p256.pub", &v, err, sizeof(err)), 0);
	assert_string_equal(v.model_name, "demo");
	assert_int_equal(v.manifest.n, 2);
	assert_int_equal(oms_manifest_scan(&m, dir, NULL, err, sizeof(err)), 0);
	assert_int_equal(oms_manifest_compare(&v.manifest, &m, err, sizeof(err)), 0);
	oms_verified_release(&v);
	/* a private key file serves as its public key; any one of several trusted keys will do */
	keys[0] = load_key("other.pub", false);
	keys[1] = load_key("p256.key", false);
	assert_int_equal(oms_verify(buf_str(&bundle), bundle.len, keys, 2, &v, err, sizeof(err)), 0);
	assert_string_equal(v.key_id, keys[1]->id);
	oms_verified_release(&v);
	oms_key_free(keys[0]);
	oms_key_free(keys[1]);
	/* P-384 */
	buf_reset(&bundle);
	sign_dir(dir, "p384.key", &bundle);
	assert_int_equal(verify_with(&bundle, "p384.pub", &v, err, sizeof(err)), 0);
	oms_verified_release(&v);
	assert_int_equal(verify_with(&bundle, "p256.pub", &v, err, sizeof(err)), SAQR_EINVAL);
	oms_manifest_release(&m);
	buf_release(&bundle);
	rm_model(dir);
}

static void test_verify_refusals(void **state)
{
	char *dir = make_model(), err[512] = "", *text;
	struct oms_verified v;
	struct buf bundle, bad;
	json_t *b;

	(void)state;
	buf_init(&bundle, OMS_BUNDLE_MAX);
	buf_init(&bad, OMS_BUNDLE_MAX);
	sign_dir(dir, "p256.key", &bundle);
	/* the wrong key */
	assert_int_equal(verify_with(&bundle, "other.pub", &v, err, sizeof(err)), SAQR_EINVAL);
	assert_string_equal(err, "bundle: no trusted key verifies the signature");
	/* truncated */
	assert_int_equal(buf_add(&bad, bundle.data, bundle.len / 2), 0);
	assert_int_equal(verify_with(&bad, "p256.pub", &v, err, sizeof(err)), SAQR_EPARSE);
	/* an altered payload (one resource digest changed, re-encoded, same signature) */
	b = json_loads(buf_str(&bundle), 0, NULL);
	{
		struct buf p, p64;
		json_t *env = json_object_get(b, "dsseEnvelope");
		char *at;

		buf_init(&p, OMS_BUNDLE_MAX);
		buf_init(&p64, OMS_BUNDLE_MAX);
		assert_int_equal(dsse_b64_decode(json_string_value(json_object_get(env, "payload")), &p), 0);
		at = strstr(p.data, HELLO_HEX);
		assert_non_null(at);
		at[0] = '6';
		assert_int_equal(dsse_b64_encode(p.data, p.len, &p64), 0);
		json_object_set_new(env, "payload", json_string(buf_str(&p64)));
		buf_release(&p);
		buf_release(&p64);
	}
	text = json_dumps(b, 0);
	buf_reset(&bad);
	assert_int_equal(buf_adds(&bad, text), 0);
	free(text);
	assert_int_equal(verify_with(&bad, "p256.pub", &v, err, sizeof(err)), SAQR_EINVAL);
	/* an altered signature */
	json_object_set_new(
	    json_array_get(json_path(b, "dsseEnvelope.signatures"), 0), "sig",
	    json_string("MEUCIQDfakefakefakefakefakefakefakefakefakefakefakefakeAiBfakefake"));
	text = json_dumps(b, 0);
	buf_reset(&bad);
	assert_int_equal(buf_adds(&bad, text), 0);
	free(text);
	assert_int_equal(verify_with(&bad, "p256.pub", &v, err, sizeof(err)), SAQR_EINVAL);
	/* not a bundle */
	json_object_set_new(b, "mediaType", json_string("application/json"));
	text = json_dumps(b, 0);
	buf_reset(&bad);
	assert_int_equal(buf_adds(&bad, text), 0);
	free(text);
	assert_int_equal(verify_with(&bad, "p256.pub", &v, err, sizeof(err)), SAQR_EPARSE);
	json_decref(b);
	/* no keys */
	assert_int_equal(oms_verify(buf_str(&bundle), bundle.len, NULL, 0, &v, err, sizeof(err)),
			 SAQR_EINVAL);
	buf_release(&bad);
	buf_release(&bundle);
	rm_model(dir);
}

/* A bundle over a statement whose subject digest does not match its resources, properly signed:
 * refused as inconsistent. */
/* A bundle (appended to bundle) of the statement st, signed with the private key keyname. */
static void sign_statement(const char *st, const char *keyname, struct buf *bundle)
{
	struct oms_key *key = load_key(keyname, true);
	struct buf pae, sig, s64, p64;

	buf_init(&pae, 65536);
	buf_init(&sig, 1024);
	buf_init(&s64, 1024);
	buf_init(&p64, 65536);
	assert_int_equal(dsse_pae(OMS_PAYLOAD_TYPE, st, strlen(st), &pae), 0);
	assert_int_equal(oms_key_sign(key, pae.data, pae.len, &sig), 0);
	assert_int_equal(dsse_b64_encode(sig.data, sig.len, &s64), 0);
	assert_int_equal(dsse_b64_encode(st, strlen(st), &p64), 0);
	assert_int_equal(
	    buf_addf(bundle,
		     "{\"mediaType\":\"%s\",\"dsseEnvelope\":{\"payloadType\":\"%s\",\"payload\":\"%s\","
		     "\"signatures\":[{\"sig\":\"%s\"}]}}",
		     OMS_BUNDLE_MEDIA_TYPE, OMS_PAYLOAD_TYPE, buf_str(&p64), buf_str(&s64)),
	    0);
	oms_key_free(key);
	buf_release(&pae);
	buf_release(&sig);
	buf_release(&s64);
	buf_release(&p64);
}

static void test_inconsistent_statement(void **state)
{
	static const char st[] =
	    "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicateType\":"
	    "\"https://model_signing/signature/v1.0\",\"subject\":[{\"name\":\"m\",\"digest\":"
	    "{\"sha256\":\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"}}],"
	    "\"predicate\":{\"serialization\":{\"method\":\"files\",\"hash_type\":\"sha256\","
	    "\"allow_symlinks\":false},\"resources\":[{\"name\":\"a\",\"algorithm\":\"sha256\","
	    "\"digest\":\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"}]}}";
	struct oms_verified v;
	struct buf bundle;
	char err[256] = "";

	(void)state;
	buf_init(&bundle, 65536);
	sign_statement(st, "p256.key", &bundle);
	assert_int_equal(verify_with(&bundle, "p256.pub", &v, err, sizeof(err)), SAQR_EINVAL);
	assert_string_equal(err, "statement: the subject digest does not match the resources");
	buf_release(&bundle);
}

/* model_signing 1.0.0 names the one resource of a single-file model ".": it is the file itself,
 * whatever the file is called where it is verified; "." in a longer list stays refused. */
static void test_single_file_self(void **state)
{
	static const char st[] =
	    "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicateType\":"
	    "\"https://model_signing/signature/v1.0\",\"subject\":[{\"name\":\"model.bin\",\"digest\":"
	    "{\"sha256\":\"4f8b42c22dd3729b519ba6f68d2da7cc5b2d606d05daed5ad5128cc03e6c6358\"}}],"
	    "\"predicate\":{\"serialization\":{\"method\":\"files\",\"hash_type\":\"sha256\","
	    "\"allow_symlinks\":false},\"resources\":[{\"name\":\".\",\"digest\":"
	    "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\",\"algorithm\":\"sha256\"}]}"
	    "}";
	static const char two[] =
	    "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicateType\":"
	    "\"https://model_signing/signature/v1.0\",\"subject\":[{\"name\":\"m\",\"digest\":"
	    "{\"sha256\":\"4f8b42c22dd3729b519ba6f68d2da7cc5b2d606d05daed5ad5128cc03e6c6358\"}}],"
	    "\"predicate\":{\"serialization\":{\"method\":\"files\",\"hash_type\":\"sha256\"},"
	    "\"resources\":[{\"name\":\".\",\"algorithm\":\"sha256\",\"digest\":"
	    "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"},{\"name\":\"b\","
	    "\"algorithm\":\"sha256\",\"digest\":"
	    "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"}]}}";
	char *dir = make_model(), path[4096], err[512] = "";
	struct oms_manifest file, tree;
	struct oms_verified v;
	struct buf bundle;

	(void)state;
	buf_init(&bundle, 65536);
	sign_statement(st, "p384.key", &bundle);
	assert_int_equal(verify_with(&bundle, "p384.pub", &v, err, sizeof(err)), 0);
	assert_true(v.manifest.single_file);
	assert_string_equal(v.model_name, "model.bin");
	oms_manifest_init(&file);
	oms_manifest_init(&tree);
	snprintf(path, sizeof(path), "%s/sub/b.bin", dir); /* "abc", under another name */
	assert_int_equal(oms_manifest_scan(&file, path, NULL, err, sizeof(err)), 0);
	assert_int_equal(oms_manifest_compare(&v.manifest, &file, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/a.txt", dir); /* another content */
	oms_manifest_release(&file);
	assert_int_equal(oms_manifest_scan(&file, path, NULL, err, sizeof(err)), 0);
	assert_int_equal(oms_manifest_compare(&v.manifest, &file, err, sizeof(err)), SAQR_EINVAL);
	assert_string_equal(err, "1 file(s) do not match the signed manifest: a.txt: digest differs from the "
				 "signed one");
	assert_int_equal(oms_manifest_scan(&tree, dir, NULL, err, sizeof(err)), 0); /* not a directory */
	assert_int_equal(oms_manifest_compare(&v.manifest, &tree, err, sizeof(err)), SAQR_EINVAL);
	assert_string_equal(err, "the signature is for a single-file model, and this model is a directory");
	oms_manifest_release(&file);
	oms_manifest_release(&tree);
	oms_verified_release(&v);
	buf_reset(&bundle);
	sign_statement(two, "p384.key", &bundle);
	assert_int_equal(verify_with(&bundle, "p384.pub", &v, err, sizeof(err)), SAQR_EPARSE);
	assert_string_equal(err, "statement: resource \".\": a path a manifest cannot hold");
	buf_release(&bundle);
	rm_model(dir);
}

static void test_compare(void **state)
{
	unsigned char d1[OMS_SHA256_LEN] = {1}, d2[OMS_SHA256_LEN] = {2};
	struct oms_manifest s, a;
	char err[512] = "";

	(void)state;
	oms_manifest_init(&s);
	oms_manifest_init(&a);
	assert_int_equal(oms_manifest_add(&s, "a", d1, 0), 0);
	assert_int_equal(oms_manifest_add(&s, "b", d1, 0), 0);
	assert_int_equal(oms_manifest_add(&a, "b", d2, 0), 0);
	assert_int_equal(oms_manifest_add(&a, "c", d1, 0), 0);
	assert_int_equal(oms_manifest_sort(&s, err, sizeof(err)), 0);
	assert_int_equal(oms_manifest_sort(&a, err, sizeof(err)), 0);
	assert_int_equal(oms_manifest_compare(&s, &a, err, sizeof(err)), SAQR_EINVAL);
	assert_string_equal(err, "3 file(s) do not match the signed manifest: a: signed but missing; "
				 "b: digest differs from the signed one; c: not in the signed manifest");
	assert_int_equal(oms_manifest_compare(&s, &s, err, sizeof(err)), 0);
	oms_manifest_release(&s);
	oms_manifest_release(&a);
}

static void test_keys(void **state)
{
	struct oms_key *k = NULL;
	char err[512] = "";

	(void)state;
	assert_int_equal(oms_key_load(data_path("ed25519.pub"), false, &k, err, sizeof(err)), SAQR_EINVAL);
	assert_non_null(strstr(err, "only ECDSA P-256 and P-384"));
	assert_int_equal(oms_key_load(data_path("p256.pub"), true, &k, err, sizeof(err)), SAQR_EPARSE);
	assert_int_equal(oms_key_load(data_path("absent.pem"), false, &k, err, sizeof(err)), SAQR_EIO);
	assert_int_equal(oms_key_from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", 0,
					  false, &k, err, sizeof(err)),
			 SAQR_EPARSE);
	k = load_key("p384.pub", false);
	assert_string_equal(k->curve, "P-384");
	assert_false(k->is_private);
	assert_int_equal(strlen(k->id), 64);
	oms_key_free(k);
	oms_key_free(NULL);
}

/* saqrctl model ARGS..., output into out/errs buffers. */
static int model_cli(char *out, size_t outlen, const char *a0, const char *a1, const char *a2, const char *a3,
		     const char *a4, const char *a5, const char *a6)
{
	char *argv[8] = {"model",    (char *)a0, (char *)a1, (char *)a2,
			 (char *)a3, (char *)a4, (char *)a5, (char *)a6};
	int argc = 1, rc;
	FILE *o = fmemopen(out, outlen, "w"), *e = fopen("/dev/null", "w");

	while (argc < 8 && argv[argc])
		argc++;
	rc = saqrctl_model_run(argc, argv, o, e);
	fclose(o);
	fclose(e);
	return rc;
}

static void test_saqrctl_model(void **state)
{
	char *dir = make_model(), sig[4200], out[4096] = "", path[4200];
	const char *key = data_path("p256.key"), *pub = data_path("p256.pub"),
		   *wrong = data_path("other.pub");

	(void)state;
	snprintf(sig, sizeof(sig), "%s/model.sig", dir);
	assert_int_equal(model_cli(out, sizeof(out), "digest", dir, NULL, NULL, NULL, NULL, NULL), 0);
	assert_string_equal(out, "sha256:c52ea62a2d4d24e50fa5a9f9edc01ae63e32bc0d64aa2bf9a2d862b2494b1823\n");
	/* the signature inside the directory is left out of the manifest */
	assert_int_equal(model_cli(out, sizeof(out), "sign", "--key", key, "--output", sig, dir, NULL), 0);
	assert_int_equal(model_cli(out, sizeof(out), "verify", "--key", pub, "--signature", sig, dir, NULL),
			 0);
	assert_non_null(strstr(out, "verified 2 file(s)"));
	assert_int_equal(model_cli(out, sizeof(out), "verify", "--key", wrong, "--signature", sig, dir, NULL),
			 1);
	/* an extra file, then a missing one, then an altered one */
	write_file(dir, "extra.bin", "x");
	assert_int_equal(model_cli(out, sizeof(out), "verify", "--key", pub, "--signature", sig, dir, NULL),
			 1);
	snprintf(path, sizeof(path), "%s/extra.bin", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sub/b.bin", dir);
	unlink(path);
	assert_int_equal(model_cli(out, sizeof(out), "verify", "--key", pub, "--signature", sig, dir, NULL),
			 1);
	write_file(dir, "sub/b.bin", "abd");
	assert_int_equal(model_cli(out, sizeof(out), "verify", "--key", pub, "--signature", sig, dir, NULL),
			 1);
	write_file(dir, "sub/b.bin", "abc");
	assert_int_equal(model_cli(out, sizeof(out), "verify", "--key", pub, "--signature", sig, dir, NULL),
			 0);
	/* usage errors */
	assert_int_equal(model_cli(out, sizeof(out), "verify", "--signature", sig, dir, NULL, NULL, NULL), 2);
	assert_int_equal(model_cli(out, sizeof(out), "sign", "--key", pub, "--output", sig, dir, NULL), 2);
	assert_int_equal(model_cli(out, sizeof(out), "digest", NULL, NULL, NULL, NULL, NULL, NULL), 2);
	assert_int_equal(model_cli(out, sizeof(out), "frobnicate", dir, NULL, NULL, NULL, NULL, NULL), 2);
	assert_int_equal(model_cli(out, sizeof(out), "--help", NULL, NULL, NULL, NULL, NULL, NULL), 0);
	rm_model(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sha256_split_reads),
	    cmocka_unit_test(test_digest_text),
	    cmocka_unit_test(test_dsse_pae),
	    cmocka_unit_test(test_base64),
	    cmocka_unit_test(test_path_rules),
	    cmocka_unit_test(test_manifest_canonical),
	    cmocka_unit_test(test_manifest_refusals),
	    cmocka_unit_test(test_sign_verify),
	    cmocka_unit_test(test_verify_refusals),
	    cmocka_unit_test(test_inconsistent_statement),
	    cmocka_unit_test(test_single_file_self),
	    cmocka_unit_test(test_compare),
	    cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_saqrctl_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
