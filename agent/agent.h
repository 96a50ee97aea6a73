/* saqr-agent: a TLS-terminating reverse proxy in front of a model server on the same pod's
 * loopback. It forwards every HTTP/1.1 request as it is (streamed, keep-alive on both sides),
 * times it, and records the feature distributions of KServe V1 / Open Inference Protocol V2
 * payloads (agent/infer.h) under the configuration file's bins (agent/config.h); the
 * configuration and the certificate are reloaded when their files change.
 *
 * One thread per client connection, each with its own upstream connection: a sidecar sees
 * few connections, and blocking I/O keeps the added latency to a couple of system calls. */
#ifndef SAQR_AGENT_AGENT_H
#define SAQR_AGENT_AGENT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

#define AGENT_DEFAULT_MAX_BODY ((size_t)64 << 20)
#define AGENT_DEFAULT_MAX_INSPECT ((size_t)1 << 20)
#define AGENT_DEFAULT_INSPECT_BUDGET ((size_t)64 << 20)
#define AGENT_DEFAULT_MAX_CONNECTIONS 256
#define AGENT_DEFAULT_TIMEOUT_MS 60000

struct agent_opts {
	const char *address;   /* listen address; NULL: 0.0.0.0 */
	int port;	       /* 0: a free port (agent_port) */
	const char *upstream;  /* "127.0.0.1:8080", "[::1]:8080", "localhost:8080": loopback only */
	const char *cert_file; /* PEM; NULL with key_file NULL: plain HTTP */
	const char *key_file;
	const char *config_file; /* NULL: record latency and codes only */
	size_t max_body;	 /* requests over it get 413; 0: AGENT_DEFAULT_MAX_BODY */
	size_t max_inspect;	 /* payloads over it are forwarded, not inspected; 0: default */
	size_t inspect_budget;	 /* bytes of payload held for inspection at once; 0: default */
	int max_connections;	 /* 0: default; more are refused */
	int timeout_ms;		 /* idle client, and upstream answer; 0: default */
	int reload_interval_ms;	 /* how often the files are checked; 0: 1000 */
	double payload_log_rate; /* share of inference payloads logged (0: never) */
	size_t payload_log_max;	 /* bytes of a logged payload; 0: 1024 */
};

struct agent;

/* Parse and check an upstream address: loopback only. 0 with host (a numeric address) and port
 * filled, or SAQR_EINVAL with the reason in err. */
int agent_upstream_parse(const char *s, char *host, size_t hostlen, int *port, char *err, size_t errlen);
/* Load the configuration and certificate, listen, and start serving. 0 with *out, or
 * SAQR_EINVAL / SAQR_ECONFIG / SAQR_EIO with the reason in err. */
int agent_start(const struct agent_opts *opts, struct agent **out, char *err, size_t errlen);
/* The bound port. */
int agent_port(const struct agent *a);
/* Every metric in the Prometheus text format, appended to out. */
int agent_metrics(struct agent *a, struct buf *out);
/* Check the files now (the reload thread does it every reload_interval_ms): reload the
 * configuration and the certificate when they changed. 0, or the first failure (the old ones
 * stay in force). */
int agent_reload_check(struct agent *a);
/* Stop accepting, close the connections, join, free. NULL is a no-op. */
void agent_stop(struct agent *a);

#endif
