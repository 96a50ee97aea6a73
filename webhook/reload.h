/* Hot reload for saqr-webhook: the policy in use, shared by the request threads, and a watcher
 * that notices when the policy file or the serving certificate changes on disk and reloads it.
 *
 * Changes are seen by polling stat() (device, inode, size, mtime, ctime) of each path. stat()
 * follows symlinks, so the atomic `..data` symlink swap of Kubernetes ConfigMap and Secret
 * volumes reads as a new inode. A policy that fails to load is refused with a log line and
 * saqr_policy_reloads_total{result="error"}; the last good one stays in use.
 *
 * Thread-safety: reload_policy_get/put from any thread; reload_poll from one thread at a time
 * (the watcher, or a test). */
#ifndef SAQR_WEBHOOK_RELOAD_H
#define SAQR_WEBHOOK_RELOAD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/metrics.h"
#include "policy/policy.h"

/* One loaded policy. It lives while anyone holds a reference, so a request that started with
 * it finishes with it even when a reload swaps in another. */
struct reload_policy {
	struct policy *policy;	  /* immutable */
	unsigned long generation; /* 1 for the first load, +1 per successful reload */
	atomic_uint refs;	  /* private to reload.c */
};

struct reload_opts {
	const char *policy_file; /* NULL: the built-in default policy, never reloaded */
	const char *cert_file;	 /* NULL: no serving certificate to watch */
	const char *key_file;
	int (*reload_tls)(void *ud); /* called when the certificate or key changed; 0 on success */
	void *tls_ud;
	struct metrics *metrics; /* where reloads are counted; may be NULL */
	/* Called after each load of policy_file (the first one and every reload, refused ones too),
	 * on the loading thread: loaded, else the loader's message. May be NULL; must not block. */
	void (*on_policy)(void *ud, bool loaded, const char *message);
	void *policy_ud;
	unsigned interval_ms; /* watcher period; 0: 1000 */
};

struct reload;

/* Load the policy once (the file, or the built-in default) and remember the files' state.
 * 0 with *out owned by the caller, or the policy loader's error with its message in err. */
int reload_new(const struct reload_opts *opts, struct reload **out, char *err, size_t errlen);
/* Start the watcher thread. 0 or SAQR_ENOMEM. */
int reload_start(struct reload *r);
/* Check the files once and reload what changed. 0 when nothing changed or everything that
 * changed reloaded; otherwise the error of the failed reload (already logged and counted). */
int reload_poll(struct reload *r);
/* The policy in use, with a reference the caller gives back with reload_policy_put. Never NULL. */
struct reload_policy *reload_policy_get(struct reload *r);
/* NULL is a no-op. */
void reload_policy_put(struct reload_policy *p);
/* Stop the watcher and drop the reloader's reference. NULL is a no-op. */
void reload_free(struct reload *r);

#endif
