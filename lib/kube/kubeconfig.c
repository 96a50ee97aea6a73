/* Loads a kubeconfig (one context: its cluster, user and namespace) or the in-cluster
 * service-account configuration into a struct kube_config. Errors name the field at fault
 * ("users[0].user.client-key-data: not valid base64") or the YAML line. */
#include "kube/kubeconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/yamljson.h"

#define KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
#define KUBE_NAMESPACE_FILE_MAX 256

/* What the parse of one document needs to hand around. */
struct kc_parse {
	const json_t *doc;
	const char *dir; /* base of relative paths, or NULL */
	char *err;
	size_t errlen;
};

/* ---- small helpers ---- */

/* Read a whole file of at most max bytes; *data is NUL-terminated and owned by the caller. */
static int kc_read_file(const char *path, size_t max, char **data, size_t *len, char *err, size_t errlen)
{
	struct buf b;
	char chunk[8192];
	ssize_t n;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return saqr_fail(SAQR_EIO, err, errlen, "%s: %s", path, strerror(errno));
	buf_init(&b, max);
	while (!rc && (n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = saqr_fail(SAQR_EIO, err, errlen, "%s: %s", path, strerror(errno));
		else if (buf_add(&b, chunk, (size_t)n))
			rc = saqr_fail(SAQR_ETOOBIG, err, errlen, "%s: larger than the %zu-byte limit", path,
				       max);
	}
	close(fd);
	if (rc) {
		buf_release(&b);
		return rc;
	}
	*len = b.len;
	*data = buf_detach(&b);
	return *data ? 0 : SAQR_ENOMEM;
}

static char *kc_join(const char *dir, const char *path)
{
	struct buf b;

	buf_init(&b, 8192);
	if (path[0] == '/' || !dir || !*dir)
		buf_adds(&b, path);
	else
		buf_addf(&b, "%s/%s", dir, path);
	if (b.len == 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

static int kc_base64_value(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

/* Standard, padded base64 with whitespace allowed anywhere; NULL when malformed or empty. */
static char *kc_base64_decode(const char *in, size_t *outlen)
{
	size_t n = strlen(in), o = 0, quad = 0, pad = 0;
	unsigned int acc = 0;
	char *out = malloc(n / 4 * 3 + 4);

	for (const unsigned char *p = (const unsigned char *)in; out && *p; p++) {
		int v = kc_base64_value(*p);

		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			continue;
		if (*p == '=' && quad >= 2) {
			pad++;
			v = 0;
		} else if (v < 0 || pad) {
			goto bad;
		}
		acc = (acc << 6) | (unsigned int)v;
		if (++quad < 4)
			continue;
		out[o++] = (char)(acc >> 16);
		out[o++] = (char)(acc >> 8);
		out[o++] = (char)acc;
		o -= pad;
		quad = 0;
		acc = 0;
	}
	if (!out || quad != 0 || o == 0 || pad > 2)
		goto bad;
	out[o] = '\0';
	*outlen = o;
	return out;
bad:
	free(out);
	return NULL;
}

/* ---- reading fields ---- */

/* An optional string field; integers are taken as their decimal text ("namespace: 123").
 * *out is a new string or NULL when absent. */
static int kc_string(struct kc_parse *kp, const json_t *obj, const char *prefix, const char *field,
		     char **out)
{
	const json_t *v = json_object_get(obj, field);
	char num[32];

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		*out = strdup(num);
	} else if (json_is_string(v)) {
		*out = strdup(json_string_value(v));
	} else {
		return saqr_fail(SAQR_ECONFIG, kp->err, kp->errlen, "%s.%s: must be a string", prefix, field);
	}
	return *out ? 0 : SAQR_ENOMEM;
}

/* An optional file path, resolved against the kubeconfig's directory; the file must be readable. */
static int kc_path(struct kc_parse *kp, const json_t *obj, const char *prefix, const char *field, char **out)
{
	char *raw, *full;
	int rc = kc_string(kp, obj, prefix, field, &raw);

	if (rc || !raw)
		return rc;
	full = *raw ? kc_join(kp->dir, raw) : NULL;
	if (!full)
		rc = *raw ? SAQR_ENOMEM
			  : saqr_fail(SAQR_ECONFIG, kp->err, kp->errlen, "%s.%s: empty path", prefix, field);
	else if (access(full, R_OK) != 0)
		rc = saqr_fail(SAQR_ECONFIG, kp->err, kp->errlen, "%s.%s: %s: %s", prefix, field, full,
			       strerror(errno));
	free(raw);
	if (rc)
		free(full);
	else
		*out = full;
	return rc;
}

/* An optional base64 field holding PEM; *out is the decoded text. */
static int kc_pem_data(struct kc_parse *kp, const json_t *obj, const char *prefix, const char *field,
		       char **out)
{
	char *raw, *pem;
	size_t len = 0;
	int rc = kc_string(kp, obj, prefix, field, &raw);

	if (rc || !raw)
		return rc;
	pem = kc_base64_decode(raw, &len);
	free(raw);
	if (!pem)
		return saqr_fail(SAQR_ECONFIG, kp->err, kp->errlen, "%s.%s: not valid base64", prefix, field);
	if (strlen(pem) != len || !strstr(pem, "-----BEGIN ")) {
		free(pem);
		return saqr_fail(SAQR_ECONFIG, kp->err, kp->errlen, "%s.%s: not PEM data", prefix, field);
	}
	*out = pem;
	return 0;
}

static int kc_bool(struct kc_parse *kp, const json_t *obj, const char *prefix, const char *field, bool *out)
{
	const json_t *v = json_object_get(obj, field);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return saqr_fail(SAQR_ECONFIG, kp->err, kp->errlen, "%s.%s: must be true or false", prefix,
				 field);
	*out = json_is_true(v);
	return 0;
}

/* The entry of list (clusters, users, contexts) named name; *inner is its `what` mapping and
 * prefix is set to "list[i].what". SAQR_ENOTFOUND (no message) when no entry has that name. */
static int kc_find(struct kc_parse *kp, const char *list, const char *what, const char *name, json_t **inner,
		   char *prefix, size_t prefixlen)
{
	const json_t *arr = json_object_get(kp->doc, list);
	size_t i;
	json_t *item;

	if (arr && !json_is_null(arr) && !json_is_array(arr))
		return saqr_fail(SAQR_ECONFIG, kp->err, kp->errlen, "%s: must be a list", list);
	json_array_foreach(arr, i, item)
	{
		const char *n = json_string_value(json_object_get(item, "name"));

		if (!n || strcmp(n, name) != 0)
			continue;
		snprintf(prefix, prefixlen, "%s[%zu].%s", list, i, what);
		*inner = json_object_get(item, what);
		if (!json_is_object(*inner))
			return saqr_fail(SAQR_ECONFIG, kp->err, kp->errlen, "%s: must be a mapping", prefix);
		return 0;
	}
	return SAQR_ENOTFOUND;
}

/* ---- the parts of a kubeconfig ---- */

static int kc_server(struct kc_parse *kp, const json_t *cl, const char *prefix, struct kube_config *cfg)
{
	size_t n;
	int rc = kc_string(kp, cl, prefix, "server", &cfg->server);

	if (rc)
		return rc;
	if (!cfg->server || !*cfg->server)
		return saqr_fail(SAQR_ECONFIG, kp->err, kp->errlen, "%s.server: missing", prefix);
	if (strncmp(cfg->server, "https://", 8) != 0 && strncmp(cfg->server, "http://", 7) != 0)
		return saqr_fail(SAQR_ECONFIG, kp->err, kp->errlen,
				 "%s.server: \"%.200s\" is not an http(s) URL", prefix, cfg->server);
	n = strlen(cfg->server);
	while (n > 8 && cfg->server[n - 1] == '/')
		cfg->server[--n] = '\0';
	return 0;
}

static int kc_cluster(struct kc_parse *kp, const json_t *cl, const char *prefix, struct kube_config *cfg)
{
	int rc = kc_server(kp, cl, prefix, cfg);

	if (!rc)
		rc = kc_pem_data(kp, cl, prefix, "certificate-authority-data", &cfg->ca_pem);
	if (!rc && !cfg->ca_pem) /* inline data wins over the file, as in kubectl */
		rc = kc_path(kp, cl, prefix, "certificate-authority", &cfg->ca_file);
	if (!rc)
		rc = kc_bool(kp, cl, prefix, "insecure-skip-tls-verify", &cfg->insecure_skip_tls_verify);
	if (!rc && cfg->insecure_skip_tls_verify && (cfg->ca_pem || cfg->ca_file))
		rc = saqr_fail(SAQR_ECONFIG, kp->err, kp->errlen,
			       "%s: insecure-skip-tls-verify with a certificate authority is not allowed",
			       prefix);
	return rc;
}

static int kc_unsupported(struct kc_parse *kp, const json_t *user, const char *prefix)
{
	static const char *const fields[] = {"exec", "auth-provider", "username", "password"};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const json_t *v = json_object_get(user, fields[i]);

		if (v && !json_is_null(v))
			return saqr_fail(
			    SAQR_ECONFIG, kp->err, kp->errlen,
			    "%s.%s: not supported (use token, tokenFile or a client certificate)", prefix,
			    fields[i]);
	}
	return 0;
}

static int kc_user(struct kc_parse *kp, const json_t *user, const char *prefix, struct kube_config *cfg)
{
	int rc = kc_unsupported(kp, user, prefix);

	if (!rc)
		rc = kc_pem_data(kp, user, prefix, "client-certificate-data", &cfg->cert_pem);
	if (!rc && !cfg->cert_pem)
		rc = kc_path(kp, user, prefix, "client-certificate", &cfg->cert_file);
	if (!rc)
		rc = kc_pem_data(kp, user, prefix, "client-key-data", &cfg->key_pem);
	if (!rc && !cfg->key_pem)
		rc = kc_path(kp, user, prefix, "client-key", &cfg->key_file);
	if (!rc)
		rc = kc_string(kp, user, prefix, "token", &cfg->token);
	if (!rc)
		rc = kc_path(kp, user, prefix, "tokenFile", &cfg->token_file);
	if (rc)
		return rc;
	if ((cfg->cert_pem || cfg->cert_file) && !(cfg->key_pem || cfg->key_file))
		return saqr_fail(SAQR_ECONFIG, kp->err, kp->errlen,
				 "%s: client-certificate without client-key", prefix);
	if ((cfg->key_pem || cfg->key_file) && !(cfg->cert_pem || cfg->cert_file))
		return saqr_fail(SAQR_ECONFIG, kp->err, kp->errlen,
				 "%s: client-key without client-certificate", prefix);
	return 0;
}

/* The context to use: the named one, else current-context. */
static int kc_context(struct kc_parse *kp, const char *name, json_t **ctx, char *prefix, size_t prefixlen)
{
	const char *what = name ? "context" : "current-context";
	int rc;

	if (!name)
		name = json_string_value(json_object_get(kp->doc, "current-context"));
	if (!name || !*name)
		return saqr_fail(SAQR_ECONFIG, kp->err, kp->errlen,
				 "current-context is not set and no context was given");
	rc = kc_find(kp, "contexts", "context", name, ctx, prefix, prefixlen);
	if (rc == SAQR_ENOTFOUND)
		rc = saqr_fail(SAQR_ECONFIG, kp->err, kp->errlen, "%s \"%.200s\" is not among contexts", what,
			       name);
	return rc;
}

/* Follow the context's reference `field` (cluster, user) into `list`; *inner is NULL when the
 * context has no such field and it is optional. */
static int kc_follow(struct kc_parse *kp, const json_t *ctx, const char *ctxprefix, const char *field,
		     const char *list, bool required, json_t **inner, char *prefix, size_t prefixlen)
{
	char *name;
	int rc = kc_string(kp, ctx, ctxprefix, field, &name);

	*inner = NULL;
	if (rc)
		return rc;
	if (!name || !*name) {
		free(name);
		return required
			   ? saqr_fail(SAQR_ECONFIG, kp->err, kp->errlen, "%s.%s: missing", ctxprefix, field)
			   : 0;
	}
	rc = kc_find(kp, list, field, name, inner, prefix, prefixlen);
	if (rc == SAQR_ENOTFOUND)
		rc = saqr_fail(SAQR_ECONFIG, kp->err, kp->errlen, "%s.%s \"%.200s\" is not among %s",
			       ctxprefix, field, name, list);
	free(name);
	return rc;
}

static int kc_build(struct kc_parse *kp, const char *context, struct kube_config *cfg)
{
	char ctxprefix[64], prefix[64];
	json_t *ctx = NULL, *inner = NULL;
	int rc;

	if (!json_is_object(kp->doc))
		return saqr_fail(SAQR_ECONFIG, kp->err, kp->errlen, "the kubeconfig is not a YAML mapping");
	rc = kc_context(kp, context, &ctx, ctxprefix, sizeof(ctxprefix));
	if (!rc)
		rc = kc_follow(kp, ctx, ctxprefix, "cluster", "clusters", true, &inner, prefix,
			       sizeof(prefix));
	if (!rc)
		rc = kc_cluster(kp, inner, prefix, cfg);
	if (!rc)
		rc = kc_follow(kp, ctx, ctxprefix, "user", "users", false, &inner, prefix, sizeof(prefix));
	if (!rc && inner)
		rc = kc_user(kp, inner, prefix, cfg);
	if (!rc)
		rc = kc_string(kp, ctx, ctxprefix, "namespace", &cfg->namespace);
	if (!rc && (!cfg->namespace || !*cfg->namespace)) {
		free(cfg->namespace);
		cfg->namespace = strdup("default");
		rc = cfg->namespace ? 0 : SAQR_ENOMEM;
	}
	return rc;
}

/* ---- public ---- */

void kube_config_free(struct kube_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->server);
	free(cfg->namespace);
	free(cfg->ca_file);
	free(cfg->ca_pem);
	free(cfg->cert_file);
	free(cfg->cert_pem);
	free(cfg->key_file);
	free(cfg->key_pem);
	free(cfg->token);
	free(cfg->token_file);
	free(cfg);
}

int kube_config_load_data(const char *data, size_t len, const char *dir, const char *context,
			  struct kube_config **out, char *err, size_t errlen)
{
	struct kc_parse kp = {.dir = dir, .err = err, .errlen = errlen};
	struct kube_config *cfg = NULL;
	json_t *doc = NULL;
	int rc;

	rc = yaml_to_json(data, len, KUBECONFIG_MAX_BYTES, &doc, err, errlen);
	if (rc)
		goto out;
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		rc = SAQR_ENOMEM;
		goto out;
	}
	kp.doc = doc;
	rc = kc_build(&kp, context, cfg);
out:
	json_decref(doc);
	if (rc)
		kube_config_free(cfg);
	else
		*out = cfg;
	return rc;
}

/* The directory part of path ("." when it has none); caller frees. */
static char *kc_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

int kube_config_load_file(const char *path, const char *context, struct kube_config **out, char *err,
			  size_t errlen)
{
	char msg[512] = "";
	char *data = NULL, *dir = NULL;
	size_t len = 0;
	int rc;

	rc = kc_read_file(path, KUBECONFIG_MAX_BYTES, &data, &len, err, errlen);
	if (rc)
		return rc;
	dir = kc_dirname(path);
	if (!dir) {
		rc = SAQR_ENOMEM;
		goto out;
	}
	rc = kube_config_load_data(data, len, dir, context, out, msg, sizeof(msg));
	if (rc)
		saqr_errf(err, errlen, "%s: %s", path, msg);
out:
	free(dir);
	free(data);
	return rc;
}

/* ---- in-cluster ---- */

static int kc_in_cluster_server(struct kube_config *cfg, char *err, size_t errlen)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	struct buf b;
	char *end;
	long p;

	if (!host || !*host || !port || !*port)
		return saqr_fail(
		    SAQR_ECONFIG, err, errlen,
		    "in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
	p = strtol(port, &end, 10);
	if (*end || p < 1 || p > 65535)
		return saqr_fail(SAQR_ECONFIG, err, errlen,
				 "in-cluster: KUBERNETES_SERVICE_PORT \"%.32s\" is not a port", port);
	buf_init(&b, 512);
	if (buf_addf(&b, strchr(host, ':') ? "https://[%s]:%ld" : "https://%s:%ld", host, p)) {
		buf_release(&b);
		return saqr_fail(SAQR_ECONFIG, err, errlen,
				 "in-cluster: KUBERNETES_SERVICE_HOST is too long");
	}
	cfg->server = buf_detach(&b);
	return cfg->server ? 0 : SAQR_ENOMEM;
}

/* root/name, which must be readable. */
static int kc_in_cluster_file(const char *root, const char *name, char **out, char *err, size_t errlen)
{
	char *path = kc_join(root, name);

	if (!path)
		return SAQR_ENOMEM;
	if (access(path, R_OK) != 0) {
		saqr_errf(err, errlen, "in-cluster: %s: %s", path, strerror(errno));
		free(path);
		return SAQR_EIO;
	}
	*out = path;
	return 0;
}

/* The namespace file's content, trimmed; "default" when the file does not exist. */
static int kc_in_cluster_namespace(const char *root, struct kube_config *cfg, char *err, size_t errlen)
{
	char *path = kc_join(root, "namespace");
	char *data = NULL;
	size_t len = 0;
	int rc;

	if (!path)
		return SAQR_ENOMEM;
	rc = kc_read_file(path, KUBE_NAMESPACE_FILE_MAX, &data, &len, err, errlen);
	if (rc == SAQR_EIO && access(path, F_OK) != 0 && errno == ENOENT)
		rc = 0;
	free(path);
	if (rc)
		return rc;
	while (len && strchr(" \t\r\n", data[len - 1]))
		data[--len] = '\0';
	if (!data || !*data) {
		free(data);
		data = strdup("default");
	}
	cfg->namespace = data;
	return data ? 0 : SAQR_ENOMEM;
}

int kube_config_in_cluster(const char *root, struct kube_config **out, char *err, size_t errlen)
{
	struct kube_config *cfg = calloc(1, sizeof(*cfg));
	int rc;

	if (!cfg)
		return SAQR_ENOMEM;
	if (!root)
		root = KUBE_SA_DIR;
	rc = kc_in_cluster_server(cfg, err, errlen);
	if (!rc)
		rc = kc_in_cluster_file(root, "ca.crt", &cfg->ca_file, err, errlen);
	if (!rc)
		rc = kc_in_cluster_file(root, "token", &cfg->token_file, err, errlen);
	if (!rc)
		rc = kc_in_cluster_namespace(root, cfg, err, errlen);
	if (rc) {
		kube_config_free(cfg);
		return rc;
	}
	*out = cfg;
	return 0;
}

int kube_config_load_default(const char *explicit_path, struct kube_config **out, char *err, size_t errlen)
{
	const char *env = getenv("KUBECONFIG");
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *home = getenv("HOME");
	char *first, *path;
	int rc;

	if (explicit_path && *explicit_path)
		return kube_config_load_file(explicit_path, NULL, out, err, errlen);
	while (env && *env == ':')
		env++;
	if (env && *env) {
		first = strndup(env, strcspn(env, ":"));
		if (!first)
			return SAQR_ENOMEM;
		rc = kube_config_load_file(first, NULL, out, err, errlen);
		free(first);
		return rc;
	}
	if (host && *host)
		return kube_config_in_cluster(NULL, out, err, errlen);
	if (!home || !*home)
		return saqr_fail(SAQR_ECONFIG, err, errlen,
				 "no kubeconfig: KUBECONFIG, in-cluster and HOME are all unset");
	path = kc_join(home, ".kube/config");
	if (!path)
		return SAQR_ENOMEM;
	rc = kube_config_load_file(path, NULL, out, err, errlen);
	free(path);
	return rc;
}
