/* Where and how to reach the API server: a kubeconfig file (libyaml) or the in-cluster
 * service-account configuration. */
#ifndef SAQR_KUBE_KUBECONFIG_H
#define SAQR_KUBE_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* Everything is owned by the struct; free with kube_config_free. Inline *-data fields are kept
 * decoded in memory (PEM) and never written to files. */
struct kube_config {
	char *server;	  /* "https://host:port", no trailing slash */
	char *namespace;  /* the context's namespace, or "default" */
	char *ca_file;	  /* certificate-authority */
	char *ca_pem;	  /* certificate-authority-data, decoded */
	char *cert_file;  /* client-certificate */
	char *cert_pem;	  /* client-certificate-data, decoded */
	char *key_file;	  /* client-key */
	char *key_pem;	  /* client-key-data, decoded */
	char *token;	  /* token */
	char *token_file; /* tokenFile (re-read when it changes; service-account tokens rotate) */
	bool insecure_skip_tls_verify;
};

#define KUBECONFIG_MAX_BYTES ((size_t)1024 * 1024)

/* Load path, using context (or current-context when NULL). Relative file paths in it are
 * resolved against the file's directory. On error returns SAQR_EIO, SAQR_EPARSE, SAQR_ECONFIG
 * or SAQR_ETOOBIG and writes a message naming the field (and line for YAML errors) into err. */
int kube_config_load_file(const char *path, const char *context, struct kube_config **out, char *err,
			  size_t errlen);
/* The same from len bytes of YAML in memory; relative paths are resolved against dir (NULL:
 * the working directory). Messages name the field or the line, without a file name. */
int kube_config_load_data(const char *data, size_t len, const char *dir, const char *context,
			  struct kube_config **out, char *err, size_t errlen);
/* In-cluster: KUBERNETES_SERVICE_HOST/PORT,
 * /var/run/secrets/kubernetes.io/serviceaccount/{ca.crt,token,namespace}. root overrides that directory (NULL
 * for the default; tests pass their own). */
int kube_config_in_cluster(const char *root, struct kube_config **out, char *err, size_t errlen);
/* The usual order: explicit path (a --kubeconfig flag) if given, else $KUBECONFIG (first entry),
 * else in-cluster when KUBERNETES_SERVICE_HOST is set, else ~/.kube/config. */
int kube_config_load_default(const char *explicit_path, struct kube_config **out, char *err, size_t errlen);
/* NULL is a no-op. */
void kube_config_free(struct kube_config *cfg);

#endif
