/* A streaming parser for the watch protocol: newline-delimited JSON events
 * ({"type": "ADDED", "object": {...}}) fed in chunks cut at any byte. kube_watch drives it
 * from curl's write callback; it is separate so it can be tested and fuzzed alone. */
#ifndef SAQR_KUBE_WATCH_H
#define SAQR_KUBE_WATCH_H

#include <stddef.h>

#include "common/buf.h"
#include "kube/client.h"

struct kube_watch_parser {
	struct buf line; /* the unfinished line carried between feeds */
	size_t max_line; /* longest event line accepted */
	kube_watch_fn fn;
	void *ud;
	struct kube_status *st; /* filled on ERROR events and malformed input; may be NULL */
	int err;		/* first non-zero result; sticky */
	unsigned long events;	/* events handed to fn */
};

/* Set up p to call fn(ud, type, object) for each ADDED, MODIFIED, DELETED or BOOKMARK event.
 * max_line 0 means KUBE_MAX_WATCH_LINE. st (may be NULL) must outlive p. Nothing is allocated
 * until the first feed; release with kube_watch_parser_release. */
void kube_watch_parser_init(struct kube_watch_parser *p, size_t max_line, kube_watch_fn fn, void *ud,
			    struct kube_status *st);

/* Consume len bytes. Complete lines are parsed and delivered in order; blank lines (and a
 * trailing \r) are ignored; the rest is kept for the next feed. Returns 0, or the first
 * non-zero result, which sticks (later feeds return it without reading):
 *   - fn's non-zero return, as is;
 *   - an ERROR event: SAQR_EGONE when its Status code is 410, else SAQR_EAPI, with the
 *     Status in st;
 *   - SAQR_EPARSE for a line that is not a watch event (not JSON, no "type" string, no
 *     "object" object, unknown type), st->message naming the cause;
 *   - SAQR_ETOOBIG for a line longer than max_line;
 *   - SAQR_ENOMEM. */
int kube_watch_parser_feed(struct kube_watch_parser *p, const char *data, size_t len);

/* End of stream: an unterminated last line is parsed as an event (blank is fine).
 * Same results as feed. */
int kube_watch_parser_finish(struct kube_watch_parser *p);

/* Free what p holds; p may be initialised again. */
void kube_watch_parser_release(struct kube_watch_parser *p);

#endif
