/* `saqrctl check`: argument parsing, walking the inputs, and one policy_eval per object. */
#include "saqrctl/check.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "saqrctl/documents.h"
#include "saqrctl/report.h"
#include "common/err.h"
#include "policy/policy.h"
#include "saqrctl/saqrctl.h"

#define CHECK_MAX_DEPTH 32
#define CHECK_PATH_MAX 4096

const char cli_check_usage[] =
    "Usage: saqrctl check [--policy FILE] [-o text|json] PATH...\n"
    "\n"
    "Check Kubernetes manifests against Saqr's admission policy, offline: the same engine as\n"
    "saqr-webhook. PATH is a file, a directory (searched recursively for *.yaml, *.yml and\n"
    "*.json) or - for stdin. YAML files may hold many documents; List kinds are expanded.\n"
    "\n"
    "Options:\n"
    "  -p, --policy FILE   the AdmissionPolicy to apply (default: the built-in default policy)\n"
    "  -o, --output FORMAT text (one line per finding, then a summary) or json (docs/saqrctl.md)\n"
    "  -h, --help          show this help\n"
    "\n"
    "Exit status: 0 every object is allowed, 1 some object is denied, 2 usage, policy or parse errors.\n";

struct check {
	const struct policy *policy;
	struct cli_report report;
	FILE *in;
	time_t now;
};

/* The value of an option given as "-o X", "-oX", "--output X" or "--output=X"; NULL if arg is
 * not this option. */
static const char *check_opt(int argc, char **argv, int *i, const char *s, const char *l, bool *missing)
{
	const char *arg = argv[*i];
	size_t ln = strlen(l);

	*missing = false;
	if (!arg)
		return NULL;
	if (strcmp(arg, s) == 0 || strcmp(arg, l) == 0) {
		if (*i + 1 >= argc) {
			*missing = true;
			return NULL;
		}
		return argv[++*i];
	}
	if (strncmp(arg, l, ln) == 0 && arg[ln] == '=')
		return arg + ln + 1;
	if (strncmp(arg, s, 2) == 0 && arg[2] != '\0')
		return arg + 2;
	return NULL;
}

static int check_parse_one(int argc, char **argv, int *i, struct cli_check_opts *o, char *err, size_t errlen)
{
	const char *v;
	bool missing;

	if (strcmp(argv[*i], "-h") == 0 || strcmp(argv[*i], "--help") == 0) {
		o->help = true;
		return 0;
	}
	if ((v = check_opt(argc, argv, i, "-p", "--policy", &missing))) {
		o->policy = v;
		return 0;
	}
	if (!missing && (v = check_opt(argc, argv, i, "-o", "--output", &missing))) {
		if (strcmp(v, "json") != 0 && strcmp(v, "text") != 0) {
			snprintf(err, errlen, "-o: \"%s\" is not text or json", v);
			return SAQR_EINVAL;
		}
		o->json = strcmp(v, "json") == 0;
		return 0;
	}
	snprintf(err, errlen, missing ? "%s needs a value" : "unknown option %s", argv[*i]);
	return SAQR_EINVAL;
}

int cli_check_parse_args(int argc, char **argv, struct cli_check_opts *o, char *err, size_t errlen)
{
	int i, rc;

	memset(o, 0, sizeof(*o));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (argv[i][0] != '-' || strcmp(argv[i], "-") == 0)
			break;
		rc = check_parse_one(argc, argv, &i, o, err, errlen);
		if (rc)
			return rc;
	}
	o->paths = argv + i;
	o->npaths = argc - i;
	if (o->npaths == 0 && !o->help) {
		snprintf(err, errlen, "no PATH given");
		return SAQR_EINVAL;
	}
	return 0;
}

int cli_check_read(FILE *f, char **out, size_t *outlen)
{
	size_t len = 0, cap = (size_t)64 * 1024, n;
	char *data = malloc(cap), *grown;

	while (data && (n = fread(data + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len > CLI_MAX_FILE_BYTES)
			break;
		if (len == cap) {
			grown = realloc(data, cap * 2);
			if (!grown) {
				free(data);
				return SAQR_ENOMEM;
			}
			data = grown;
			cap *= 2;
		}
	}
	if (!data)
		return SAQR_ENOMEM;
	if (ferror(f) || len > CLI_MAX_FILE_BYTES) {
		free(data);
		return ferror(f) ? SAQR_EIO : SAQR_ETOOBIG;
	}
	*out = data;
	*outlen = len;
	return 0;
}

/* The object as the API server hands a CREATE to the webhook: it clears deletionTimestamp and
 * deletionGracePeriodSeconds first (rest.BeforeCreate), so a manifest that carries them is still
 * judged in full. A new reference, or NULL when out of memory. */
static json_t *check_as_created(const json_t *obj)
{
	json_t *copy = json_deep_copy(obj);
	json_t *meta = json_object_get(copy, "metadata");

	if (json_is_object(meta)) {
		json_object_del(meta, "deletionTimestamp");
		json_object_del(meta, "deletionGracePeriodSeconds");
	}
	return copy;
}

int cli_check_eval(const struct policy *p, const json_t *object, time_t now, struct policy_decision *d)
{
	json_t *obj = check_as_created(object);
	struct policy_input in = {obj, "CREATE", NULL, NULL, now};
	int rc;

	policy_decision_init(d);
	if (!obj)
		return SAQR_ENOMEM;
	rc = policy_eval(p, &in, d);
	json_decref(obj);
	return rc;
}

int cli_check_load_policy(const char *path, struct policy **out, char *err, size_t errlen)
{
	int rc = path ? policy_load_file(path, out, err, errlen) : policy_load_default(out);

	if (rc && !path)
		snprintf(err, errlen, "%s", saqr_strerror(rc));
	return rc;
}

static int check_entry(struct check *c, const char *file, const json_t *entry)
{
	struct policy_decision d;
	int rc;

	if (json_object_get(entry, "error"))
		return cli_report_error(&c->report, file,
					(size_t)json_integer_value(json_object_get(entry, "document")),
					json_string_value(json_object_get(entry, "error")));
	rc = cli_check_eval(c->policy, json_object_get(entry, "object"), c->now, &d);
	if (rc == 0)
		rc = cli_report_add(&c->report, file, entry, &d);
	policy_decision_release(&d);
	return rc;
}

static int check_data(struct check *c, const char *file, const char *data, size_t len, bool json)
{
	char err[512];
	json_t *entries;
	size_t i;
	int rc = cli_documents_split(data, len, json, &entries, err, sizeof(err));

	if (rc == SAQR_ENOMEM)
		return rc;
	if (rc)
		return cli_report_error(&c->report, file, 0, err);
	for (i = 0; i < json_array_size(entries) && rc == 0; i++)
		rc = check_entry(c, file, json_array_get(entries, i));
	json_decref(entries);
	return rc;
}

static bool check_has_ext(const char *path, const char *ext)
{
	size_t n = strlen(path), m = strlen(ext);

	return n > m && strcmp(path + n - m, ext) == 0;
}

static int check_stream(struct check *c, const char *file, FILE *f, bool json_ext)
{
	char *data;
	size_t len;
	int rc = cli_check_read(f, &data, &len);

	if (rc == SAQR_ENOMEM)
		return rc;
	if (rc == SAQR_ETOOBIG)
		return cli_report_error(&c->report, file, 0, "over the 16 MiB limit for a manifest file");
	if (rc)
		return cli_report_error(&c->report, file, 0, strerror(errno));
	rc = check_data(c, file, data, len, json_ext || cli_documents_is_json(data, len));
	free(data);
	return rc;
}

static int check_file(struct check *c, const char *path)
{
	FILE *f = fopen(path, "r");
	int rc;

	if (!f)
		return cli_report_error(&c->report, path, 0, strerror(errno));
	rc = check_stream(c, path, f, check_has_ext(path, ".json"));
	fclose(f);
	return rc;
}

static int check_path(struct check *c, const char *path, int depth, bool explicit);

static int check_not_hidden(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

static int check_dir(struct check *c, const char *path, int depth)
{
	struct dirent **names;
	char child[CHECK_PATH_MAX];
	int n = scandir(path, &names, check_not_hidden, alphasort), i, rc = 0;

	if (n < 0)
		return cli_report_error(&c->report, path, 0, strerror(errno));
	for (i = 0; i < n; i++) {
		if (rc == 0 &&
		    snprintf(child, sizeof(child), "%s%s%s", path, check_has_ext(path, "/") ? "" : "/",
			     names[i]->d_name) >= (int)sizeof(child))
			rc = cli_report_error(&c->report, path, 0, "a path inside is too long");
		else if (rc == 0)
			rc = check_path(c, child, depth + 1, false);
		free(names[i]);
	}
	free(names);
	return rc;
}

/* An explicit path is checked whatever its name; inside directories only manifests are. */
static int check_path(struct check *c, const char *path, int depth, bool explicit)
{
	struct stat st;

	if (strcmp(path, "-") == 0 && explicit)
		return check_stream(c, "-", c->in, false);
	if (stat(path, &st) != 0)
		return cli_report_error(&c->report, path, 0, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		if (depth >= CHECK_MAX_DEPTH)
			return cli_report_error(&c->report, path, 0, "directories nested too deep");
		return check_dir(c, path, depth);
	}
	if (!explicit && !check_has_ext(path, ".yaml") && !check_has_ext(path, ".yml") &&
	    !check_has_ext(path, ".json"))
		return 0;
	return check_file(c, path);
}

static int check_run(struct check *c, const struct cli_check_opts *o, FILE *out, FILE *err)
{
	int i, rc = 0;

	for (i = 0; i < o->npaths && rc == 0; i++)
		rc = check_path(c, o->paths[i], 0, true);
	if (rc) {
		fprintf(err, "saqrctl check: %s\n", saqr_strerror(rc));
		return CLI_EXIT_ERROR;
	}
	if (o->json)
		rc = cli_report_json(&c->report, o->policy ? o->policy : "default", out);
	else
		cli_report_text(&c->report, out, err);
	if (rc) {
		fprintf(err, "saqrctl check: writing the report: %s\n", saqr_strerror(rc));
		return CLI_EXIT_ERROR;
	}
	return cli_report_exit_code(&c->report);
}

int cli_check_main(int argc, char **argv, FILE *in, FILE *out, FILE *err)
{
	struct cli_check_opts o;
	struct check c = {NULL, {NULL, NULL, 0, 0, 0}, in, time(NULL)};
	struct policy *p = NULL;
	char msg[1024];
	int rc;

	if (cli_check_parse_args(argc, argv, &o, msg, sizeof(msg)) != 0) {
		fprintf(err, "saqrctl check: %s\n\n%s", msg, cli_check_usage);
		return CLI_EXIT_ERROR;
	}
	if (o.help) {
		fputs(cli_check_usage, out);
		return CLI_EXIT_ALLOWED;
	}
	rc = cli_check_load_policy(o.policy, &p, msg, sizeof(msg));
	if (rc) {
		fprintf(err, "saqrctl check: %s\n", msg);
		return CLI_EXIT_ERROR;
	}
	c.policy = p;
	rc = cli_report_init(&c.report);
	rc = rc ? CLI_EXIT_ERROR : check_run(&c, &o, out, err);
	cli_report_release(&c.report);
	policy_free(p);
	return rc;
}

int saqrctl_check(int argc, char **argv)
{
	return cli_check_main(argc, argv, stdin, stdout, stderr);
}
