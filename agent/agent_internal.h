/* Internal to agent/: the daemon's state shared by agent.c (configuration, certificate,
 * reloads, metrics) and proxy.c (the connections). */
#ifndef SAQR_AGENT_AGENT_INTERNAL_H
#define SAQR_AGENT_AGENT_INTERNAL_H

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "agent/agent.h"
#include "agent/config.h"
#include "agent/stats.h"

/* What a watched file looked like when last loaded. */
struct agent__file {
	const char *path;
	struct timespec mtime;
	off_t size;
	ino_t ino;
	uint64_t hash;
	bool known;
};

struct agent {
	struct agent_opts o;
	char upstream_host[64];
	int upstream_port;
	int lfd;
	int port;
	atomic_bool stopping;

	pthread_rwlock_t model_lock; /* cfg and stats: read by requests, swapped by reloads */
	struct agent_config *cfg;
	struct agent_stats *stats;
	struct agent_traffic traffic;
	_Atomic size_t inspect_used; /* of o.inspect_budget */

	pthread_mutex_t tls_lock;
	SSL_CTX *tls;		     /* NULL: plain HTTP */
	struct agent__file files[3]; /* config, cert, key */

	pthread_mutex_t conn_lock;
	pthread_cond_t conn_done;
	int nconns;
	int *conn_fds; /* 2 x o.max_connections: client and upstream socket of each slot; -1: none */
	bool *conn_used;

	pthread_t accept_thread, reload_thread;
	bool accept_started, reload_started;
	pthread_mutex_t reload_lock;
	pthread_cond_t reload_wake;
};

/* The current TLS context with a reference the caller drops (SSL_CTX_free), or NULL. */
static inline SSL_CTX *agent__tls_get(struct agent *a)
{
	SSL_CTX *ctx;

	pthread_mutex_lock(&a->tls_lock);
	ctx = a->tls;
	if (ctx)
		SSL_CTX_up_ref(ctx);
	pthread_mutex_unlock(&a->tls_lock);
	return ctx;
}
/* The accept loop (proxy.c), run on its own thread. */
void *agent__accept_loop(void *arg);
/* Shut down every open connection, both sides (their threads then end on their own). */
void agent__close_connections(struct agent *a);

#endif
