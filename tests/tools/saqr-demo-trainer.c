/* saqr-demo-trainer: a stand-in for a distributed training program, for the local node's tests
 * (image saqr.local/saqr-demo-trainer:dev). It checks the rank environment Saqr's TrainingJob
 * gives each pod of its Indexed Job (DESIGN.md: MASTER_ADDR, MASTER_PORT, WORLD_SIZE, NNODES,
 * NODE_RANK and torchrun's PET_* equivalents; JOB_COMPLETION_INDEX from the Job controller),
 * "trains" a small deterministic model from them, writes it to --output (default: rank 0 to
 * SAQR_OUTPUT_PATH when set, the job's output on a claim Saqr mounts; else SAQR_OUTPUT or
 * /tmp/model.bin), prints its sha256 and
 * reports it as the TrainingJob's output in its termination message (docs/api.md):
 * {"output":{"uri":"<SAQR_OUTPUT_URI>","digest":"sha256:<hex>","signature":"<REF>"}} (uri only
 * when that is set, signature only when rank 0 signed).
 *
 *   saqr-demo-trainer [--output FILE] [--steps N] [--allow-single] [--termination-log PATH]
 *                     [--signing-key-env VAR --signature FILE [--signature-ref REF]]
 *
 * With --signing-key-env, rank 0 signs its output with the PEM private key in the environment
 * variable VAR (a Secret, through the TrainingJob's env) into FILE, an OpenSSF Model Signing
 * bundle as `saqrctl model sign` writes, and reports REF (default FILE: where saqr-fetch will
 * read it, e.g. /mnt/pvc/<claim>/<path>) as the output's signature.
 *
 * --termination-log defaults to /dev/termination-log; "" writes none. A path that cannot be
 * written (outside a pod) is reported on stderr and does not fail the run.
 *
 * Without WORLD_SIZE (or PET_NNODES) it refuses to run unless --allow-single (world 1, rank 0).
 * Every inconsistency is reported, then it exits 1: rank outside [0, world), a PET_* or
 * JOB_COMPLETION_INDEX that disagrees with its plain variable, a missing MASTER_ADDR or a
 * MASTER_PORT outside 1..65535 when world > 1. Output: one line per check, then
 * `sha256=<hex> path=<file> rank=<r> world=<w>`. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "oms/bundle.h"
#include "oms/key.h"
#include "oms/manifest.h"

static int problems;

static void bad(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "saqr-demo-trainer: ");
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	problems++;
}

/* The value of NAME, or of its PET_ twin; both set means they must agree. */
static const char *rank_env(const char *name, const char *pet)
{
	const char *v = getenv(name), *p = pet ? getenv(pet) : NULL;

	if (v && *v && p && *p && strcmp(v, p) != 0)
		bad("%s and its torchrun twin disagree (%s)", name, pet);
	if (v && *v)
		return v;
	return p && *p ? p : NULL;
}

/* s as the inside of a JSON string: quotes and backslashes escaped, control bytes dropped. */
static void json_str(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		if ((unsigned char)*s >= 0x20)
			fputc(*s, f);
	}
}

/* Sign the model file output with the PEM private key in the environment variable key_env
 * (an OMS bundle, as `saqrctl model sign` writes) into sig. 0, or -1 with the reason on stderr. */
static int sign_output(const char *output, const char *key_env, const char *sig)
{
	const char *pem = getenv(key_env);
	struct oms_key *key = NULL;
	struct oms_manifest m;
	struct buf bundle;
	char err[512] = "";
	FILE *f = NULL;
	int rc;

	oms_manifest_init(&m);
	buf_init(&bundle, OMS_BUNDLE_MAX);
	rc = pem && *pem ? oms_key_from_pem(pem, strlen(pem), true, &key, err, sizeof(err)) : -1;
	if (!pem || !*pem)
		snprintf(err, sizeof(err), "%s holds no private key", key_env);
	if (!rc)
		rc = oms_manifest_scan(&m, output, NULL, err, sizeof(err));
	if (!rc)
		rc = oms_sign(&m, "model", NULL, key, &bundle, err, sizeof(err));
	if (!rc && (!(f = fopen(sig, "wb")) || fwrite(bundle.data, 1, bundle.len, f) != bundle.len)) {
		snprintf(err, sizeof(err), "%s: %s", sig, strerror(errno));
		rc = -1;
	}
	if (f && fclose(f) != 0 && !rc) {
		snprintf(err, sizeof(err), "%s: %s", sig, strerror(errno));
		rc = -1;
	}
	if (rc)
		fprintf(stderr, "saqr-demo-trainer: cannot sign %s: %s\n", output, err);
	else
		printf("signed %s into %s\n", output, sig);
	oms_key_free(key);
	oms_manifest_release(&m);
	buf_release(&bundle);
	return rc ? -1 : 0;
}

/* The TrainingJob's report: what the operator reads from completion index 0's pod. */
static void write_termination(const char *path, const char *hex, const char *signature)
{
	const char *uri = getenv("SAQR_OUTPUT_URI");
	FILE *f;

	if (!*path)
		return;
	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "saqr-demo-trainer: no termination message: %s: %s\n", path, strerror(errno));
		return;
	}
	fputs("{\"output\":{", f);
	if (uri && *uri) {
		fputs("\"uri\":\"", f);
		json_str(f, uri);
		fputs("\",", f);
	}
	fprintf(f, "\"digest\":\"sha256:%s\"", hex);
	if (signature && *signature) {
		fputs(",\"signature\":\"", f);
		json_str(f, signature);
		fputc('"', f);
	}
	fputs("}}", f);
	if (fclose(f) != 0)
		fprintf(stderr, "saqr-demo-trainer: no termination message: %s: %s\n", path, strerror(errno));
}

static int parse_num(const char *name, const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		bad("%s=%s is not a number in range", name, s);
		return -1;
	}
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	const char *output = NULL;
	const char *termination = "/dev/termination-log";
	const char *key_env = NULL, *sig = NULL, *sig_ref = NULL;
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	const char *world_s, *rank_s, *addr, *port_s, *index_s, *nnodes_s;
	long world = 1, rank = 0, port = 0, index, nnodes, steps = 100;
	int allow_single = 0;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	EVP_MD_CTX *md;
	FILE *f;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--output") == 0 && i + 1 < argc)
			output = argv[++i];
		else if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc)
			steps = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--allow-single") == 0)
			allow_single = 1;
		else if (strcmp(argv[i], "--termination-log") == 0 && i + 1 < argc)
			termination = argv[++i];
		else if (strcmp(argv[i], "--signing-key-env") == 0 && i + 1 < argc)
			key_env = argv[++i];
		else if (strcmp(argv[i], "--signature") == 0 && i + 1 < argc)
			sig = argv[++i];
		else if (strcmp(argv[i], "--signature-ref") == 0 && i + 1 < argc)
			sig_ref = argv[++i];
		else {
			fprintf(stderr,
				"usage: saqr-demo-trainer [--output FILE] [--steps N] [--allow-single] "
				"[--termination-log PATH]\n"
				"                         [--signing-key-env VAR --signature FILE "
				"[--signature-ref REF]]\n");
			return strcmp(argv[i], "--help") == 0 ? 0 : 2;
		}
	}
	if (steps < 1 || steps > 1000000)
		steps = 100;

	world_s = rank_env("WORLD_SIZE", "PET_NNODES");
	rank_s = rank_env("NODE_RANK", "PET_NODE_RANK");
	addr = rank_env("MASTER_ADDR", "PET_MASTER_ADDR");
	port_s = rank_env("MASTER_PORT", "PET_MASTER_PORT");
	index_s = getenv("JOB_COMPLETION_INDEX");
	nnodes_s = getenv("NNODES");

	if (!world_s && !allow_single)
		bad("WORLD_SIZE (or PET_NNODES) is not set%s%s", "", " (use --allow-single outside a job)");
	if (world_s)
		parse_num("WORLD_SIZE", world_s, 1, 100000, &world);
	if (nnodes_s && parse_num("NNODES", nnodes_s, 1, 100000, &nnodes) == 0 && nnodes != world)
		bad("NNODES=%s differs from WORLD_SIZE=%s", nnodes_s, world_s ? world_s : "1");
	if (rank_s)
		parse_num("NODE_RANK", rank_s, 0, 99999, &rank);
	else if (world > 1)
		bad("NODE_RANK (or PET_NODE_RANK) is not set%s%s", "", "");
	if (rank >= world)
		bad("NODE_RANK=%s is not below WORLD_SIZE=%s", rank_s, world_s);
	if (index_s && parse_num("JOB_COMPLETION_INDEX", index_s, 0, 99999, &index) == 0 && index != rank)
		bad("JOB_COMPLETION_INDEX=%s differs from NODE_RANK=%s", index_s, rank_s ? rank_s : "0");
	if (world > 1 && !addr)
		bad("MASTER_ADDR (or PET_MASTER_ADDR) is not set%s%s", "", "");
	if (world > 1 && !port_s)
		bad("MASTER_PORT (or PET_MASTER_PORT) is not set%s%s", "", "");
	if (port_s)
		parse_num("MASTER_PORT", port_s, 1, 65535, &port);
	if (problems) {
		fprintf(stderr, "saqr-demo-trainer: %d problem(s) with the rank environment\n", problems);
		return 1;
	}
	/* The job's output (SAQR_OUTPUT_PATH, on the claim Saqr mounts) is rank 0's to write, as
	 * with torch.distributed checkpoints; the other ranks keep theirs. */
	if (!output && rank == 0 && getenv("SAQR_OUTPUT_PATH") && *getenv("SAQR_OUTPUT_PATH"))
		output = getenv("SAQR_OUTPUT_PATH");
	if (!output)
		output = getenv("SAQR_OUTPUT") ? getenv("SAQR_OUTPUT") : "/tmp/model.bin";
	printf("rank=%ld world=%ld master=%s:%ld steps=%ld\n", rank, world, addr ? addr : "-", port, steps);

	/* A deterministic "model": 256 weights from a small LCG seeded by rank and world. */
	f = fopen(output, "wb");
	if (!f) {
		fprintf(stderr, "saqr-demo-trainer: cannot write %s: %s\n", output, strerror(errno));
		return 1;
	}
	md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	{
		unsigned long long s =
		    0x5a17ULL ^ ((unsigned long long)rank << 32) ^ (unsigned long long)world;
		float w[256];
		for (long step = 0; step < steps; step++)
			for (int i = 0; i < 256; i++) {
				s = s * 6364136223846793005ULL + 1442695040888963407ULL;
				w[i] = (step ? w[i] : 0.0f) * 0.9f +
				       (float)((s >> 40) & 0xffff) / 65536.0f * 0.1f;
			}
		if (fwrite(w, sizeof(w), 1, f) != 1 || fclose(f) != 0) {
			fprintf(stderr, "saqr-demo-trainer: cannot write %s: %s\n", output, strerror(errno));
			EVP_MD_CTX_free(md);
			return 1;
		}
		EVP_DigestUpdate(md, w, sizeof(w));
	}
	EVP_DigestFinal_ex(md, digest, &dlen);
	EVP_MD_CTX_free(md);
	for (unsigned int i = 0; i < dlen; i++)
		snprintf(hex + 2 * i, sizeof(hex) - 2 * i, "%02x", digest[i]);
	hex[2 * dlen] = '\0';
	printf("sha256=%s path=%s rank=%ld world=%ld\n", hex, output, rank, world);
	/* rank 0 signs the job's output (the other ranks keep theirs unsigned) */
	if (key_env && sig && rank == 0) {
		if (sign_output(output, key_env, sig))
			return 1;
	} else {
		sig = sig_ref = NULL;
	}
	write_termination(termination, hex, sig_ref ? sig_ref : sig);
	return 0;
}
