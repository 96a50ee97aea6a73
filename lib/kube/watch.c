/* Splits a watch stream into lines, parses each as an event and hands it on. A line that
 * arrives whole in one chunk is parsed in place; only split lines are copied. */
#include "kube/watch.h"

#include <string.h>

#include "common/err.h"
#include "kube/status.h"

void kube_watch_parser_init(struct kube_watch_parser *p, size_t max_line, kube_watch_fn fn, void *ud,
			    struct kube_status *st)
{
	p->max_line = max_line ? max_line : KUBE_MAX_WATCH_LINE;
	buf_init(&p->line, p->max_line);
	p->fn = fn;
	p->ud = ud;
	p->st = st;
	p->err = 0;
	p->events = 0;
}

void kube_watch_parser_release(struct kube_watch_parser *p)
{
	buf_release(&p->line);
}

static int kube_watch_error_event(struct kube_watch_parser *p, const json_t *status)
{
	struct kube_status tmp = {0};
	struct kube_status *st = p->st ? p->st : &tmp;
	int code;

	kube_status_clear(st);
	code = kube_status_from_object(status, st);
	if (!st->message[0])
		snprintf(st->message, sizeof(st->message), "watch ERROR event with code %d", code);
	return code == 410 ? SAQR_EGONE : SAQR_EAPI;
}

static bool kube_watch_known_type(const char *type)
{
	return strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0 || strcmp(type, "DELETED") == 0 ||
	       strcmp(type, "BOOKMARK") == 0;
}

static int kube_watch_event(struct kube_watch_parser *p, json_t *ev)
{
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *obj = json_object_get(ev, "object");

	if (!json_is_object(ev)) {
		kube_status_set(p->st, 0, "watch event is not a JSON object");
		return SAQR_EPARSE;
	}
	if (!type) {
		kube_status_set(p->st, 0, "watch event has no \"type\" string");
		return SAQR_EPARSE;
	}
	if (!json_is_object(obj)) {
		kube_status_set(p->st, 0, "watch event %.32s has no \"object\" object", type);
		return SAQR_EPARSE;
	}
	if (strcmp(type, "ERROR") == 0)
		return kube_watch_error_event(p, obj);
	if (!kube_watch_known_type(type)) {
		kube_status_set(p->st, 0, "unknown watch event type \"%.32s\"", type);
		return SAQR_EPARSE;
	}
	p->events++;
	return p->fn ? p->fn(p->ud, type, obj) : 0;
}

static int kube_watch_line(struct kube_watch_parser *p, const char *s, size_t n)
{
	json_error_t je;
	json_t *ev;
	int rc;

	while (n && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	while (n && (*s == ' ' || *s == '\t' || *s == '\r')) {
		s++;
		n--;
	}
	if (n == 0)
		return 0;
	ev = json_loadb(s, n, 0, &je);
	if (!ev) {
		kube_status_set(p->st, 0, "watch event is not valid JSON: line %d column %d: %s", je.line,
				je.column, je.text);
		return SAQR_EPARSE;
	}
	rc = kube_watch_event(p, ev);
	json_decref(ev);
	return rc;
}

static int kube_watch_too_long(struct kube_watch_parser *p)
{
	kube_status_set(p->st, 0, "watch event line exceeds %zu bytes", p->max_line);
	return SAQR_ETOOBIG;
}

/* Add n bytes to the carried line; a cap overflow is reported as such. */
static int kube_watch_carry(struct kube_watch_parser *p, const char *s, size_t n)
{
	int rc = buf_add(&p->line, s, n);

	return rc == SAQR_ETOOBIG ? kube_watch_too_long(p) : rc;
}

/* One complete line of n bytes at s (without its newline), possibly continuing a carried one. */
static int kube_watch_complete(struct kube_watch_parser *p, const char *s, size_t n)
{
	int rc;

	if (p->line.len == 0)
		return n > p->max_line ? kube_watch_too_long(p) : kube_watch_line(p, s, n);
	rc = kube_watch_carry(p, s, n);
	if (!rc)
		rc = kube_watch_line(p, p->line.data, p->line.len);
	buf_reset(&p->line);
	return rc;
}

int kube_watch_parser_feed(struct kube_watch_parser *p, const char *data, size_t len)
{
	while (len && !p->err) {
		const char *nl = memchr(data, '\n', len);
		size_t n = nl ? (size_t)(nl - data) : len;

		if (!nl) {
			p->err = kube_watch_carry(p, data, n);
			break;
		}
		p->err = kube_watch_complete(p, data, n);
		data += n + 1;
		len -= n + 1;
	}
	return p->err;
}

int kube_watch_parser_finish(struct kube_watch_parser *p)
{
	if (!p->err && p->line.len) {
		p->err = kube_watch_line(p, p->line.data, p->line.len);
		buf_reset(&p->line);
	}
	return p->err;
}
