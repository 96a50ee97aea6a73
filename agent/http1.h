/* An incremental HTTP/1.1 message parser for saqr-agent's reverse proxy: bytes go in as they
 * arrive, in pieces of any size (one byte at a time works); it says where the head ends, hands
 * the body's payload (de-chunked) to a callback and says where the message ends, so that the
 * proxy can forward the raw bytes as they are and keep the connection for the next message.
 *
 * Framing follows RFC 9112 §6: Content-Length, chunked (last Transfer-Encoding), a response
 * delimited by the connection's close, no body for HEAD answers, 1xx, 204 and 304. What could
 * smuggle a request past the model server is refused: both Content-Length and
 * Transfer-Encoding, differing Content-Lengths, a request Transfer-Encoding other than chunked,
 * bare CR, obs-fold, spaces before the colon. */
#ifndef SAQR_AGENT_HTTP1_H
#define SAQR_AGENT_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP1_MAX_HEAD 16384 /* request or status line plus headers */
#define HTTP1_MAX_HEADERS 100

/* What http1_feed stopped at (errors are negative SAQR_E* codes). */
enum http1_event {
	HTTP1_AGAIN = 0, /* every byte consumed; the message goes on */
	HTTP1_HEAD = 1,	 /* the head is complete (http1_head() is filled); feed the rest again */
	HTTP1_DONE = 2,	 /* the message is complete; bytes after *used belong to the next one */
};

enum http1_kind { HTTP1_REQUEST, HTTP1_RESPONSE };

/* The head of a message, once HTTP1_HEAD was returned. Strings point into the parser. */
struct http1_head {
	const char *method; /* request: "POST" */
	const char *target; /* request: "/v1/models/m:predict?x=1" */
	int status;	    /* response: 200 */
	int minor;	    /* HTTP/1.<minor> */
	bool chunked;
	bool has_length;
	uint64_t length;      /* Content-Length */
	bool close;	      /* the connection ends after this message (Connection: close, or 1.0
				 without keep-alive, or a close-delimited response) */
	bool expect_continue; /* request: Expect: 100-continue */
	const char *raw;      /* the head exactly as received */
	size_t raw_len;
};

/* Called with each piece of the body's payload (chunk framing removed). */
typedef void (*http1_body_fn)(void *ud, const char *data, size_t len);

struct http1 {
	enum http1_kind kind;
	int state;
	bool no_body; /* response to HEAD */
	char head_buf[HTTP1_MAX_HEAD + 1];
	size_t head_len;
	size_t scan;		       /* where the search for the end of the head resumes */
	char line[HTTP1_MAX_HEAD + 1]; /* method and target, NUL-terminated */
	struct {
		unsigned short name, name_len, value, value_len; /* offsets into head_buf */
	} fields[HTTP1_MAX_HEADERS];
	size_t nfields;
	struct http1_head head;
	uint64_t remaining; /* body or chunk bytes left */
	uint64_t chunk_size;
	int chunk_digits;
	size_t line_len; /* bytes of the chunk-size or trailer line read */
	bool trailer_cr; /* the trailer line so far is a lone CR */
	http1_body_fn on_body;
	void *ud;
};

/* Ready p for a new message of that kind (also between messages of one connection). on_body
 * may be NULL. */
void http1_init(struct http1 *p, enum http1_kind kind, http1_body_fn on_body, void *ud);
/* A response parser whose request was HEAD: the answer has no body whatever it says. */
void http1_expect_no_body(struct http1 *p);
/* Feed len bytes; *used says how many were consumed (all of them for HTTP1_AGAIN). After
 * HTTP1_HEAD call it again with the rest, even when nothing is left (a message without a body
 * is then HTTP1_DONE).
 * HTTP1_AGAIN, HTTP1_HEAD, HTTP1_DONE, or SAQR_EPARSE (malformed) / SAQR_ETOOBIG (head over
 * HTTP1_MAX_HEAD or too many headers); after an error the parser must be initialised again. */
int http1_feed(struct http1 *p, const char *data, size_t len, size_t *used);
/* The peer closed the connection: HTTP1_DONE for a close-delimited response, SAQR_EPARSE for a
 * message cut short, HTTP1_AGAIN when no message had begun. */
int http1_eof(struct http1 *p);
/* The head, or NULL before HTTP1_HEAD. */
const struct http1_head *http1_head(const struct http1 *p);
/* Whether the message is an interim (1xx) response: after its HTTP1_DONE the final one follows. */
bool http1_interim(const struct http1 *p);
/* Whether a header name (case-insensitive) has a given comma-separated token in its value. */
bool http1_has_token(const struct http1 *p, const char *name, const char *token);
/* The value of the first header called name (case-insensitive), trimmed, into out; false when
 * absent. */
bool http1_header(const struct http1 *p, const char *name, char *out, size_t outlen);

#endif
