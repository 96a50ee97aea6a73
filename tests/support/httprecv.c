/* A recording HTTP/1.1 receiver for tests (see httprecv.h): one thread, blocking sockets, one
 * request per connection. */
#include "httprecv.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define HR_MAX_HEAD (64 * 1024)
#define HR_MAX_BODY (1024 * 1024)

struct httprecv {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int fd; /* listening socket, -1 while down */
	int port;
	bool stop;
	bool want_down; /* what the test asked for */
	bool is_down;	/* what the thread did */
	int status;
	char *reply;
	json_t *log;
};

static int hr_listen(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		return -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 16)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int hr_bound_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	if (getsockname(fd, (struct sockaddr *)&a, &len))
		return -1;
	return ntohs(a.sin_port);
}

static bool hr_send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* Read until the end of the head; *head_len is its length with the blank line. */
static char *hr_read_head(int fd, size_t *got, size_t *head_len)
{
	char *buf = malloc(HR_MAX_HEAD + 1), *end;
	size_t n = 0;

	while (buf && n < HR_MAX_HEAD) {
		ssize_t r = recv(fd, buf + n, HR_MAX_HEAD - n, 0);

		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end) {
			*got = n;
			*head_len = (size_t)(end - buf) + 4;
			return buf;
		}
	}
	free(buf);
	return NULL;
}

/* Parse "Name: value" lines into a JSON object with lower-case names. */
static json_t *hr_headers(char *lines)
{
	json_t *h = json_object();
	char *save = NULL;

	for (char *l = strtok_r(lines, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save)) {
		char *colon = strchr(l, ':'), *v;

		if (!colon)
			continue;
		*colon = '\0';
		for (char *p = l; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		json_object_set_new(h, l, json_string(v));
	}
	return h;
}

/* The body: what came with the head, then the rest of Content-Length. */
static char *hr_read_body(int fd, const char *head, size_t got, size_t head_len, size_t len)
{
	char *body = malloc(len + 1);
	size_t have = got - head_len;

	if (!body)
		return NULL;
	if (have > len)
		have = len;
	memcpy(body, head + head_len, have);
	while (have < len) {
		ssize_t r = recv(fd, body + have, len - have, 0);

		if (r <= 0)
			break;
		have += (size_t)r;
	}
	body[have] = '\0';
	return body;
}

static void hr_answer(struct httprecv *r, int fd, json_t *req)
{
	char head[256];
	int status;
	char *reply;
	size_t len;

	pthread_mutex_lock(&r->mu);
	status = r->status;
	reply = strdup(r->reply ? r->reply : "");
	json_object_set_new(req, "status", json_integer(status));
	json_array_append(r->log, req);
	pthread_mutex_unlock(&r->mu);
	if (!reply)
		return;
	len = strlen(reply);
	snprintf(head, sizeof(head),
		 "HTTP/1.1 %d Answer\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		 status,
		 (reply[0] == '{' || reply[0] == '[') ? "application/json" : "text/plain; version=0.0.4",
		 len);
	if (hr_send_all(fd, head, strlen(head)))
		hr_send_all(fd, reply, len);
	free(reply);
}

static void hr_serve(struct httprecv *r, int fd)
{
	struct timeval tv = {5, 0};
	size_t got = 0, head_len = 0, clen = 0;
	char *head, method[16] = "", path[2048] = "", *lines, *body;
	json_t *hdrs, *req;
	const char *cl, *expect;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	head = hr_read_head(fd, &got, &head_len);
	if (!head)
		return;
	lines = strstr(head, "\r\n");
	if (sscanf(head, "%15s %2047s", method, path) != 2 || !lines) {
		free(head);
		return;
	}
	head[head_len - 4] = '\0';
	hdrs = hr_headers(lines + 2);
	cl = json_string_value(json_object_get(hdrs, "content-length"));
	expect = json_string_value(json_object_get(hdrs, "expect"));
	if (cl)
		clen = strtoul(cl, NULL, 10);
	if (expect && strcasecmp(expect, "100-continue") == 0)
		hr_send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	body = hr_read_body(fd, head, got, head_len, clen > HR_MAX_BODY ? HR_MAX_BODY : clen);
	req = json_pack("{s:s, s:s, s:o, s:s}", "method", method, "path", path, "headers", hdrs, "body",
			body ? body : "");
	if (req)
		hr_answer(r, fd, req);
	json_decref(req);
	free(body);
	free(head);
}

/* Apply a pending up/down request (thread side). */
static void hr_apply_down(struct httprecv *r)
{
	pthread_mutex_lock(&r->mu);
	if (r->want_down && r->fd >= 0) {
		close(r->fd);
		r->fd = -1;
	} else if (!r->want_down && r->fd < 0) {
		r->fd = hr_listen(r->port);
	}
	r->is_down = r->fd < 0;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

static void *hr_main(void *arg)
{
	struct httprecv *r = arg;

	for (;;) {
		struct pollfd p;
		int c;

		pthread_mutex_lock(&r->mu);
		if (r->stop) {
			pthread_mutex_unlock(&r->mu);
			return NULL;
		}
		pthread_mutex_unlock(&r->mu);
		hr_apply_down(r);
		p = (struct pollfd){.fd = r->fd, .events = POLLIN};
		if (r->fd < 0) {
			usleep(20000);
			continue;
		}
		if (poll(&p, 1, 50) <= 0)
			continue;
		c = accept(r->fd, NULL, NULL);
		if (c < 0)
			continue;
		hr_serve(r, c);
		close(c);
	}
}

int httprecv_start(struct httprecv **out)
{
	struct httprecv *r = calloc(1, sizeof(*r));

	if (!r)
		return -1;
	r->fd = hr_listen(0);
	r->port = r->fd >= 0 ? hr_bound_port(r->fd) : -1;
	r->status = 200;
	r->log = json_array();
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	if (r->port < 0 || !r->log || pthread_create(&r->thread, NULL, hr_main, r)) {
		if (r->fd >= 0)
			close(r->fd);
		json_decref(r->log);
		free(r);
		return -1;
	}
	*out = r;
	return 0;
}

void httprecv_stop(struct httprecv *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	if (r->fd >= 0)
		close(r->fd);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	json_decref(r->log);
	free(r->reply);
	free(r);
}

int httprecv_port(const struct httprecv *r)
{
	return r->port;
}

void httprecv_url(const struct httprecv *r, char *out, size_t outlen)
{
	snprintf(out, outlen, "http://127.0.0.1:%d", r->port);
}

void httprecv_reply(struct httprecv *r, int status, const char *body)
{
	char *copy = strdup(body ? body : "");

	pthread_mutex_lock(&r->mu);
	r->status = status;
	free(r->reply);
	r->reply = copy;
	pthread_mutex_unlock(&r->mu);
}

void httprecv_set_down(struct httprecv *r, int down)
{
	pthread_mutex_lock(&r->mu);
	r->want_down = down != 0;
	while (r->is_down != r->want_down && !r->stop)
		pthread_cond_wait(&r->cv, &r->mu);
	pthread_mutex_unlock(&r->mu);
}

size_t httprecv_count(struct httprecv *r)
{
	size_t n;

	pthread_mutex_lock(&r->mu);
	n = json_array_size(r->log);
	pthread_mutex_unlock(&r->mu);
	return n;
}

json_t *httprecv_request(struct httprecv *r, size_t i)
{
	json_t *v;

	pthread_mutex_lock(&r->mu);
	v = json_deep_copy(json_array_get(r->log, i));
	pthread_mutex_unlock(&r->mu);
	return v;
}

void httprecv_clear(struct httprecv *r)
{
	pthread_mutex_lock(&r->mu);
	json_array_clear(r->log);
	pthread_mutex_unlock(&r->mu);
}
