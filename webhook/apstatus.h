/* saqr-webhook's own entry in the status.loaded list of the AdmissionPolicy that saqr-operator
 * writes into the policy file (--policy-resource NAME, see operator/admissionpolicy): after each
 * load of the file, which generation of the AdmissionPolicy this pod has in force, since when,
 * and whether its last reload was refused. The entry is named saqr-webhook/<pod> and written by
 * server-side apply of the status subresource with that field manager, so that each replica owns
 * its entry and no one else's.
 *
 * apstatus_note never waits for the API server: it records the outcome, and one thread sends the
 * latest one, again every APSTATUS_RETRY seconds while the API server refuses it. */
#ifndef SAQR_WEBHOOK_APSTATUS_H
#define SAQR_WEBHOOK_APSTATUS_H

#include <jansson.h>
#include <stdbool.h>

#include "kube/client.h"

#define APSTATUS_LOADER_PREFIX "saqr-webhook/"
#define APSTATUS_RETRY 10.0		/* seconds before a refused write is sent again */
#define APSTATUS_FILE_MAX (1024 * 1024) /* the policy loader's cap on a file */
#define APSTATUS_MSG_MAX 1024
#define APSTATUS_NAME_MAX 192 /* "saqr-webhook/<pod>": a field manager is at most 128 bytes */

/* Strings are copied; client is borrowed and must outlive the reporter. */
struct apstatus_config {
	struct kube_client *client;
	const char *resource;	 /* the AdmissionPolicy's name */
	const char *pod;	 /* this pod's name ($POD_NAME) */
	const char *policy_file; /* where the generation is read after each load */
	double retry;		 /* 0: APSTATUS_RETRY */
};

struct apstatus;

/* Make the reporter and start its thread. 0, SAQR_EINVAL (a name missing, or
 * "saqr-webhook/<pod>" over 128 bytes) or SAQR_ENOMEM. */
int apstatus_new(const struct apstatus_config *cfg, struct apstatus **out);
/* Stop the thread (a write in flight finishes) and free. NULL is a no-op. */
void apstatus_free(struct apstatus *a);

/* The outcome of one load of the policy file (ud: the struct apstatus, as reload_opts.on_policy
 * takes it): loaded, else the loader's message. A loaded file's metadata.generation becomes the
 * generation in force; a refused one keeps the previous. */
void apstatus_note(void *ud, bool loaded, const char *message);

/* ---- the pure part ---- */

/* metadata.generation of the policy document at path (0 when it cannot be read, does not parse
 * or records none). Reads at most APSTATUS_FILE_MAX bytes. */
long long apstatus_file_generation(const char *path);

/* The server-side apply body {apiVersion, kind, metadata: {name: resource}, status: {loaded:
 * [{name: loader, generation, loadedAt, accepted, message}]}}; loaded_at may be NULL (not loaded
 * yet: no loadedAt). *out is a new reference. 0, SAQR_EINVAL or SAQR_ENOMEM. */
int apstatus_body(const char *resource, const char *loader, long long generation, const char *loaded_at,
		  bool accepted, const char *message, json_t **out);

#endif
