/* saqr-agent's state: listening, the configuration and its counters, the serving certificate,
 * the reload thread that watches their files, the metrics page. */
#include "agent/agent_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"

enum { AG_FILE_CONFIG, AG_FILE_CERT, AG_FILE_KEY };

static int ag_fail(int rc, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int ag_fail(int rc, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

int agent_upstream_parse(const char *s, char *host, size_t hostlen, int *port, char *err, size_t errlen)
{
	const char *colon = s ? strrchr(s, ':') : NULL;
	char h[64], *end;
	struct in6_addr a6;
	struct in_addr a4;
	size_t n;
	long p;

	if (!colon || colon == s)
		return ag_fail(SAQR_EINVAL, err, errlen, "upstream %s: not host:port", s ? s : "(none)");
	n = (size_t)(colon - s);
	if (s[0] == '[' && n >= 2 && s[n - 1] == ']')
		snprintf(h, sizeof(h), "%.*s", (int)(n - 2), s + 1);
	else
		snprintf(h, sizeof(h), "%.*s", (int)n, s);
	p = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || p < 1 || p > 65535)
		return ag_fail(SAQR_EINVAL, err, errlen, "upstream %s: bad port", s);
	if (strcmp(h, "localhost") == 0)
		snprintf(h, sizeof(h), "127.0.0.1");
	if (inet_pton(AF_INET, h, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127) {
		snprintf(host, hostlen, "%s", h);
	} else if (inet_pton(AF_INET6, h, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6)) {
		snprintf(host, hostlen, "%s", h);
	} else {
		return ag_fail(
		    SAQR_EINVAL, err, errlen,
		    "upstream %s: only a loopback address (127.0.0.0/8, ::1, localhost) is allowed", s);
	}
	*port = (int)p;
	return 0;
}

/* ---- TLS ---- */

static int ag_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
		   unsigned int inlen, void *arg)
{
	static const unsigned char h1[] = "\x08http/1.1";

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto((unsigned char **)out, outlen, h1, sizeof(h1) - 1, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	return SSL_TLSEXT_ERR_OK;
}

static int ag_tls_new(const char *cert, const char *key, SSL_CTX **out, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	unsigned long e;

	if (!ctx)
		return ag_fail(SAQR_ENOMEM, err, errlen, "out of memory");
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_alpn_select_cb(ctx, ag_alpn, NULL);
	ERR_clear_error();
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		e = ERR_get_error();
		SSL_CTX_free(ctx);
		return ag_fail(SAQR_ECONFIG, err, errlen, "certificate %s / key %s: %s", cert, key,
			       e ? ERR_reason_error_string(e) : "unreadable");
	}
	*out = ctx;
	return 0;
}

/* ---- watched files ---- */

/* FNV-1a of the file's first MiB (0 when unreadable): file systems stamp mtimes with a coarse
 * clock, so a file rewritten in place within one tick, at the same size, looks unchanged. */
static uint64_t ag_file_hash(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint64_t h = 14695981039346656037ULL;
	unsigned char b[4096];
	size_t n, total = 0;

	if (!f)
		return 0;
	while (total < ((size_t)1 << 20) && (n = fread(b, 1, sizeof(b), f)) > 0) {
		for (size_t i = 0; i < n; i++)
			h = (h ^ b[i]) * 1099511628211ULL;
		total += n;
	}
	fclose(f);
	return h;
}

/* Whether the file changed since f was recorded; records what it is now. */
static bool ag_file_changed(struct agent__file *f)
{
	struct stat st;
	uint64_t hash;
	bool changed;

	if (!f->path || stat(f->path, &st) != 0)
		return false; /* gone for a moment (a Secret being swapped): keep the old one */
	hash = ag_file_hash(f->path);
	changed = !f->known || st.st_mtim.tv_sec != f->mtime.tv_sec ||
		  st.st_mtim.tv_nsec != f->mtime.tv_nsec || st.st_size != f->size || st.st_ino != f->ino ||
		  hash != f->hash;
	f->mtime = st.st_mtim;
	f->size = st.st_size;
	f->ino = st.st_ino;
	f->hash = hash;
	f->known = true;
	return changed;
}

static int ag_load_config(struct agent *a, char *err, size_t errlen)
{
	struct agent_config *cfg = NULL, *old_cfg;
	struct agent_stats *st = NULL, *old_st;
	int rc;

	rc = a->o.config_file ? agent_config_load(a->o.config_file, &cfg, err, errlen) : 0;
	if (rc == 0 && !cfg)
		cfg = agent_config_empty();
	if (rc == 0 && !cfg)
		rc = SAQR_ENOMEM;
	if (rc)
		return rc;
	pthread_rwlock_wrlock(&a->model_lock);
	rc = agent_stats_new(cfg, a->stats, &st);
	old_cfg = a->cfg;
	old_st = a->stats;
	if (rc == 0) {
		a->cfg = cfg;
		a->stats = st;
	}
	pthread_rwlock_unlock(&a->model_lock);
	if (rc) {
		agent_config_free(cfg);
		return ag_fail(rc, err, errlen, "out of memory");
	}
	agent_stats_free(old_st);
	agent_config_free(old_cfg);
	return 0;
}

static int ag_load_tls(struct agent *a, char *err, size_t errlen)
{
	SSL_CTX *ctx = NULL, *old;
	int rc = ag_tls_new(a->o.cert_file, a->o.key_file, &ctx, err, errlen);

	if (rc)
		return rc;
	pthread_mutex_lock(&a->tls_lock);
	old = a->tls;
	a->tls = ctx;
	pthread_mutex_unlock(&a->tls_lock);
	SSL_CTX_free(old);
	return 0;
}

static int ag_reload_config(struct agent *a)
{
	char err[512] = "";
	int rc = ag_load_config(a, err, sizeof(err));

	atomic_fetch_add(&a->traffic.reloads[rc ? AGENT_RELOAD_CONFIG_ERR : AGENT_RELOAD_CONFIG_OK], 1);
	if (rc)
		log_error("configuration not reloaded; the previous one stays", "file", a->o.config_file,
			  "error", err);
	else
		log_info("configuration reloaded", "file", a->o.config_file);
	return rc;
}

static int ag_reload_tls(struct agent *a)
{
	char err[512] = "";
	int rc = ag_load_tls(a, err, sizeof(err));

	atomic_fetch_add(&a->traffic.reloads[rc ? AGENT_RELOAD_TLS_ERR : AGENT_RELOAD_TLS_OK], 1);
	if (rc)
		log_error("certificate not reloaded; the previous one stays", "file", a->o.cert_file, "error",
			  err);
	else
		log_info("certificate reloaded", "file", a->o.cert_file);
	return rc;
}

int agent_reload_check(struct agent *a)
{
	int rc = 0, r;
	bool cert, key;

	pthread_mutex_lock(&a->reload_lock);
	if (ag_file_changed(&a->files[AG_FILE_CONFIG]))
		rc = ag_reload_config(a);
	cert = ag_file_changed(&a->files[AG_FILE_CERT]);
	key = ag_file_changed(&a->files[AG_FILE_KEY]);
	if (cert || key) {
		r = ag_reload_tls(a);
		rc = rc ? rc : r;
	}
	pthread_mutex_unlock(&a->reload_lock);
	return rc;
}

static void *ag_reload_loop(void *arg)
{
	struct agent *a = arg;
	struct timespec until;

	pthread_mutex_lock(&a->reload_lock);
	while (!atomic_load(&a->stopping)) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += a->o.reload_interval_ms / 1000;
		until.tv_nsec += (long)(a->o.reload_interval_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&a->reload_wake, &a->reload_lock, &until);
		if (atomic_load(&a->stopping))
			break;
		pthread_mutex_unlock(&a->reload_lock);
		agent_reload_check(a);
		pthread_mutex_lock(&a->reload_lock);
	}
	pthread_mutex_unlock(&a->reload_lock);
	return NULL;
}

/* ---- start and stop ---- */

static void ag_defaults(struct agent_opts *o)
{
	if (!o->max_body)
		o->max_body = AGENT_DEFAULT_MAX_BODY;
	if (!o->max_inspect)
		o->max_inspect = AGENT_DEFAULT_MAX_INSPECT;
	if (!o->inspect_budget)
		o->inspect_budget = AGENT_DEFAULT_INSPECT_BUDGET;
	if (o->max_connections <= 0)
		o->max_connections = AGENT_DEFAULT_MAX_CONNECTIONS;
	if (o->timeout_ms <= 0)
		o->timeout_ms = AGENT_DEFAULT_TIMEOUT_MS;
	if (o->reload_interval_ms <= 0)
		o->reload_interval_ms = 1000;
	if (!o->payload_log_max)
		o->payload_log_max = 1024;
}

static int ag_listen(struct agent *a, char *err, size_t errlen)
{
	struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)a->o.port)};
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)a->o.port)};
	const char *addr = a->o.address ? a->o.address : "0.0.0.0";
	bool v6 = strchr(addr, ':') != NULL;
	socklen_t len = v6 ? sizeof(sa6) : sizeof(sa);
	int one = 1;

	if ((v6 ? inet_pton(AF_INET6, addr, &sa6.sin6_addr) : inet_pton(AF_INET, addr, &sa.sin_addr)) != 1)
		return ag_fail(SAQR_EINVAL, err, errlen, "listen address %s: not a numeric address", addr);
	a->lfd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (a->lfd < 0)
		return ag_fail(SAQR_EIO, err, errlen, "socket: %s", strerror(errno));
	setsockopt(a->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(a->lfd, v6 ? (struct sockaddr *)&sa6 : (struct sockaddr *)&sa, len) != 0 ||
	    listen(a->lfd, 512) != 0)
		return ag_fail(SAQR_EIO, err, errlen, "listen on %s:%d: %s", addr, a->o.port,
			       strerror(errno));
	if (getsockname(a->lfd, v6 ? (struct sockaddr *)&sa6 : (struct sockaddr *)&sa, &len) != 0)
		return ag_fail(SAQR_EIO, err, errlen, "getsockname: %s", strerror(errno));
	a->port = ntohs(v6 ? sa6.sin6_port : sa.sin_port);
	return 0;
}

static struct agent *ag_new(const struct agent_opts *opts)
{
	struct agent *a = calloc(1, sizeof(*a));
	pthread_condattr_t ca;

	if (!a)
		return NULL;
	a->o = *opts;
	ag_defaults(&a->o);
	a->lfd = -1;
	a->conn_fds = malloc(2 * (size_t)a->o.max_connections * sizeof(int));
	a->conn_used = calloc((size_t)a->o.max_connections, sizeof(bool));
	if (!a->conn_fds || !a->conn_used) {
		free(a->conn_fds);
		free(a->conn_used);
		free(a);
		return NULL;
	}
	for (int i = 0; i < 2 * a->o.max_connections; i++)
		a->conn_fds[i] = -1;
	pthread_rwlock_init(&a->model_lock, NULL);
	pthread_mutex_init(&a->tls_lock, NULL);
	pthread_mutex_init(&a->conn_lock, NULL);
	pthread_cond_init(&a->conn_done, NULL);
	pthread_mutex_init(&a->reload_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->reload_wake, &ca);
	pthread_condattr_destroy(&ca);
	a->files[AG_FILE_CONFIG].path = a->o.config_file;
	a->files[AG_FILE_CERT].path = a->o.cert_file;
	a->files[AG_FILE_KEY].path = a->o.key_file;
	return a;
}

static int ag_load_all(struct agent *a, char *err, size_t errlen)
{
	int rc;

	if (!a->o.cert_file != !a->o.key_file)
		return ag_fail(SAQR_EINVAL, err, errlen, "the certificate and the key go together");
	rc = agent_upstream_parse(a->o.upstream, a->upstream_host, sizeof(a->upstream_host),
				  &a->upstream_port, err, errlen);
	for (int i = 0; i < 3 && rc == 0; i++)
		ag_file_changed(&a->files[i]);
	if (rc == 0)
		rc = ag_load_config(a, err, errlen);
	if (rc == 0 && a->o.cert_file)
		rc = ag_load_tls(a, err, errlen);
	return rc;
}

int agent_start(const struct agent_opts *opts, struct agent **out, char *err, size_t errlen)
{
	struct agent *a = ag_new(opts);
	int rc;

	if (!a)
		return ag_fail(SAQR_ENOMEM, err, errlen, "out of memory");
	rc = ag_load_all(a, err, errlen);
	if (rc == 0)
		rc = ag_listen(a, err, errlen);
	if (rc == 0 && pthread_create(&a->accept_thread, NULL, agent__accept_loop, a) != 0)
		rc = ag_fail(SAQR_ENOMEM, err, errlen, "cannot start a thread");
	a->accept_started = rc == 0;
	if (rc == 0 && pthread_create(&a->reload_thread, NULL, ag_reload_loop, a) != 0)
		rc = ag_fail(SAQR_ENOMEM, err, errlen, "cannot start a thread");
	a->reload_started = rc == 0;
	if (rc) {
		agent_stop(a);
		return rc;
	}
	*out = a;
	return 0;
}

int agent_port(const struct agent *a)
{
	return a->port;
}

int agent_metrics(struct agent *a, struct buf *out)
{
	int rc;

	pthread_rwlock_rdlock(&a->model_lock);
	rc = agent_stats_render(a->stats, out);
	pthread_rwlock_unlock(&a->model_lock);
	if (rc == 0)
		rc = agent_traffic_render(&a->traffic, out);
	return rc;
}

void agent_stop(struct agent *a)
{
	if (!a)
		return;
	atomic_store(&a->stopping, true);
	if (a->lfd >= 0)
		shutdown(a->lfd, SHUT_RDWR);
	if (a->accept_started)
		pthread_join(a->accept_thread, NULL);
	pthread_mutex_lock(&a->reload_lock);
	pthread_cond_broadcast(&a->reload_wake);
	pthread_mutex_unlock(&a->reload_lock);
	if (a->reload_started)
		pthread_join(a->reload_thread, NULL);
	agent__close_connections(a);
	pthread_mutex_lock(&a->conn_lock);
	while (a->nconns > 0)
		pthread_cond_wait(&a->conn_done, &a->conn_lock);
	pthread_mutex_unlock(&a->conn_lock);
	if (a->lfd >= 0)
		close(a->lfd);
	agent_stats_free(a->stats);
	agent_config_free(a->cfg);
	SSL_CTX_free(a->tls);
	free(a->conn_fds);
	free(a->conn_used);
	pthread_rwlock_destroy(&a->model_lock);
	pthread_mutex_destroy(&a->tls_lock);
	pthread_mutex_destroy(&a->conn_lock);
	pthread_cond_destroy(&a->conn_done);
	pthread_mutex_destroy(&a->reload_lock);
	pthread_cond_destroy(&a->reload_wake);
	free(a);
}
