/* saqr-fetch's job: bring a model from its URI into a directory, hashing every byte as it is
 * written, and fail closed: a digest that differs from the one required, a signature that no
 * trusted key verifies or that does not list exactly the files fetched, a size over the cap or a
 * store that will not say the object is encrypted (when that is required). The outcome is also
 * written as a Kubernetes termination message, for the operator's ModelVerified condition.
 *
 * Ownership: every string in fetch_opts is borrowed for the call. */
#ifndef SAQR_FETCH_FETCH_H
#define SAQR_FETCH_FETCH_H

#include <stdbool.h>
#include <stdint.h>

#include "fetch/remote.h"

#define FETCH_MAX_KEYS 16

/* Exit codes of saqr-fetch, one per termination reason. */
enum fetch_exit {
	FETCH_EXIT_OK = 0,
	FETCH_EXIT_FAILED = 1,		  /* FetchFailed */
	FETCH_EXIT_USAGE = 2,		  /* bad flags (no termination message) */
	FETCH_EXIT_DIGEST_MISMATCH = 3,	  /* DigestMismatch */
	FETCH_EXIT_SIGNATURE_INVALID = 4, /* SignatureInvalid */
};

struct fetch_opts {
	const char *uri;
	const char *dest;      /* directory the model goes into */
	const char *digest;    /* "sha256:<hex>" required, or NULL */
	const char *signature; /* OMS bundle: a local path or a URI of the same store; NULL: none */
	const char *trusted_keys[FETCH_MAX_KEYS];
	size_t nkeys;
	const char *pvc_root;	     /* where pvc://<claim>/ is mounted; default /mnt/models/<claim> */
	const char *termination_log; /* default /dev/termination-log; "" : none */
	uint64_t max_bytes;	     /* 0: no cap */
	int retries;		     /* attempts after the first */
	long backoff_ms;	     /* first wait between attempts (doubled each time) */
	bool require_encrypted;
	struct remote_config remote;
};

/* Run one fetch; returns the exit code, logs JSON lines and writes the termination message. */
int fetch_run(const struct fetch_opts *o);

/* The reason word of an exit code ("DigestMismatch", ...; "" for success). */
const char *fetch_reason(int exit_code);

#endif
