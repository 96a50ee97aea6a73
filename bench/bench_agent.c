/* The load client of `make bench-agent` (adapted from bench_webhook.c): N keep-alive
 * connections, TLS (through saqr-agent) or plain (straight to the model server) with --plain,
 * one epoll thread, POSTing one inference body over and over, either as fast as the server answers
 * (closed loop) or at a fixed rate (open loop; latency counted from when each request was due,
 * so a stalled server cannot hide its queue). Prints one line:
 *   requests/s=... p50_ms=... p99_ms=... requests=... errors=...
 *
 *   bench_agent --port P (--ca CA.pem | --plain) --body FILE [--host 127.0.0.1] [--path P]
 *                 [--connections 32] [--duration 5] [--warmup 1] [--rate R] [--server-pid PID]
 * With --server-pid it also prints the server's CPU time per request (user + system, from
 * /proc/PID/stat over the measured window): a figure that other load on the machine disturbs
 * less than requests/s. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BENCH_RBUF 65536
#define BENCH_MAX_CONN 1024

struct bench_conn {
	int fd;
	SSL *ssl;
	bool busy;
	size_t sent;
	char rbuf[BENCH_RBUF];
	size_t rlen;
	double due; /* when the request in flight was due (open loop) or sent (closed loop) */
};

struct bench {
	const char *host, *path, *ca, *body_file;
	int port, nconn, server_pid;
	double cpu_start, cpu_end; /* server CPU seconds at the window's ends */
	double duration, warmup, rate;
	char *request;
	size_t request_len;
	SSL_CTX *ctx;
	struct bench_conn *conns;
	int ep;
	double *lat;
	size_t nlat, caplat;
	unsigned long errors, done;
	bool measuring;
	/* open loop */
	double next_due;
	double *backlog; /* due times of requests waiting for a free connection */
	size_t nbacklog, capbacklog;
};

static double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bench_die(const char *what)
{
	fprintf(stderr, "bench_agent: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static char *bench_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data;
	long n;

	if (!f)
		bench_die("cannot open the body file");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = malloc((size_t)n);
	if (!data || fread(data, 1, (size_t)n, f) != (size_t)n)
		bench_die("cannot read the body file");
	fclose(f);
	*len = (size_t)n;
	return data;
}

static void bench_build_request(struct bench *b)
{
	size_t blen, cap;
	char *body = bench_slurp(b->body_file, &blen);
	int n;

	cap = blen + 512;
	b->request = malloc(cap);
	n = snprintf(b->request, cap,
		     "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
		     "Accept: application/json, */*\r\nUser-Agent: saqr-bench\r\nContent-Length: %zu\r\n\r\n",
		     b->path, b->host, b->port, blen);
	memcpy(b->request + n, body, blen);
	b->request_len = (size_t)n + blen;
	free(body);
}

static bool bench_plain;

/* SSL_write / SSL_read, or send / recv with --plain; <= 0 with *again when it would block. */
static int bench_io_write(struct bench_conn *c, const char *p, int n, bool *again)
{
	int w;

	if (!bench_plain) {
		w = SSL_write(c->ssl, p, n);
		*again = w <= 0 && (SSL_get_error(c->ssl, w) == SSL_ERROR_WANT_WRITE ||
				    SSL_get_error(c->ssl, w) == SSL_ERROR_WANT_READ);
		return w;
	}
	w = (int)send(c->fd, p, (size_t)n, MSG_NOSIGNAL);
	*again = w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
	return w;
}

static int bench_io_read(struct bench_conn *c, char *p, int n, bool *again)
{
	int r;

	if (!bench_plain) {
		r = SSL_read(c->ssl, p, n);
		*again = r <= 0 && (SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_READ ||
				    SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_WRITE);
		return r;
	}
	r = (int)recv(c->fd, p, (size_t)n, 0);
	*again = r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
	return r;
}

static void bench_connect(struct bench *b, struct bench_conn *c)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)b->port)};
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	int one = 1;

	inet_pton(AF_INET, b->host, &sa.sin_addr);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		bench_die("cannot connect");
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!bench_plain) {
		c->ssl = SSL_new(b->ctx);
		SSL_set_fd(c->ssl, c->fd);
		SSL_set1_host(c->ssl, b->host);
		if (SSL_connect(c->ssl) != 1)
			bench_die("TLS handshake failed");
	}
	fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
	if (epoll_ctl(b->ep, EPOLL_CTL_ADD, c->fd, &ev))
		bench_die("epoll_ctl");
}

static void bench_record(struct bench *b, double latency, bool ok)
{
	if (!b->measuring)
		return;
	if (!ok) {
		b->errors++;
		return;
	}
	if (b->nlat == b->caplat) {
		b->caplat = b->caplat ? 2 * b->caplat : 1 << 16;
		b->lat = realloc(b->lat, b->caplat * sizeof(*b->lat));
		if (!b->lat)
			bench_die("out of memory");
	}
	b->lat[b->nlat++] = latency;
	b->done++;
}

/* Write what is left of the request; false on a broken connection. */
static bool bench_send(struct bench *b, struct bench_conn *c)
{
	while (c->sent < b->request_len) {
		bool again;
		int n = bench_io_write(c, b->request + c->sent, (int)(b->request_len - c->sent), &again);

		if (n <= 0)
			return again;
		c->sent += (size_t)n;
	}
	return true;
}

static void bench_start(struct bench *b, struct bench_conn *c, double due)
{
	c->busy = true;
	c->sent = 0;
	c->rlen = 0;
	c->due = due;
	if (!bench_send(b, c))
		bench_die("write failed");
}

/* A whole response in rbuf? Returns its length, 0 when more is needed. */
static size_t bench_complete(const struct bench_conn *c, bool *ok)
{
	const char *end = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4), *cl;
	size_t head, body;

	if (!end)
		return 0;
	head = (size_t)(end - c->rbuf) + 4;
	cl = memmem(c->rbuf, head, "content-length:", 15);
	if (!cl)
		cl = memmem(c->rbuf, head, "Content-Length:", 15);
	if (!cl)
		bench_die("a response without Content-Length");
	body = strtoul(cl + 15, NULL, 10);
	if (c->rlen < head + body)
		return 0;
	*ok = strncmp(c->rbuf, "HTTP/1.1 200", 12) == 0;
	return head + body;
}

static void bench_readable(struct bench *b, struct bench_conn *c)
{
	bool ok = false;
	size_t whole;
	int n;

	for (;;) {
		bool again;

		n = bench_io_read(c, c->rbuf + c->rlen, (int)(sizeof(c->rbuf) - c->rlen), &again);
		if (n <= 0) {
			if (again)
				break;
			bench_die("the server closed a connection");
		}
		c->rlen += (size_t)n;
	}
	if (c->busy && c->sent < b->request_len && !bench_send(b, c))
		bench_die("write failed");
	whole = bench_complete(c, &ok);
	if (!whole)
		return;
	if (whole != c->rlen)
		bench_die("more bytes than one response");
	c->busy = false;
	bench_record(b, bench_now() - c->due, ok);
}

static void bench_backlog_push(struct bench *b, double due)
{
	if (b->nbacklog == b->capbacklog) {
		b->capbacklog = b->capbacklog ? 2 * b->capbacklog : 1024;
		b->backlog = realloc(b->backlog, b->capbacklog * sizeof(*b->backlog));
		if (!b->backlog)
			bench_die("out of memory");
	}
	b->backlog[b->nbacklog++] = due;
}

/* Give idle connections work: in the closed loop at once, in the open loop what is due. */
static void bench_dispatch(struct bench *b, double now)
{
	size_t taken = 0;

	if (b->rate <= 0) {
		for (int i = 0; i < b->nconn; i++)
			if (!b->conns[i].busy)
				bench_start(b, &b->conns[i], now);
		return;
	}
	while (b->next_due <= now) {
		bench_backlog_push(b, b->next_due);
		b->next_due += 1.0 / b->rate;
	}
	for (int i = 0; i < b->nconn && taken < b->nbacklog; i++)
		if (!b->conns[i].busy)
			bench_start(b, &b->conns[i], b->backlog[taken++]);
	memmove(b->backlog, b->backlog + taken, (b->nbacklog - taken) * sizeof(*b->backlog));
	b->nbacklog -= taken;
}

/* utime + stime of pid in seconds, or 0. */
static double bench_cpu(int pid)
{
	char path[64], line[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	p = fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;
	fclose(f);
	/* after "pid (comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
	 * stime */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void bench_run(struct bench *b)
{
	struct epoll_event evs[64];
	double start = bench_now(), stop = start + b->warmup + b->duration;
	double t;

	b->next_due = start;
	while ((t = bench_now()) < stop) {
		struct timespec wait = {0, 100 * 1000 * 1000};
		int n;

		if (!b->measuring && t >= start + b->warmup) {
			b->measuring = true;
			b->cpu_start = bench_cpu(b->server_pid);
		}
		bench_dispatch(b, t);
		if (b->rate > 0) { /* sleep exactly until the next request is due: no busy loop */
			double left = b->next_due - bench_now();

			wait.tv_sec = left > 0 ? (time_t)left : 0;
			wait.tv_nsec = left > 0 ? (long)((left - (double)wait.tv_sec) * 1e9) : 0;
		}
		n = epoll_pwait2(b->ep, evs, 64, &wait, NULL);
		for (int i = 0; i < n; i++)
			bench_readable(b, evs[i].data.ptr);
	}
	b->cpu_end = bench_cpu(b->server_pid);
}

static int bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double bench_pct(const struct bench *b, double p)
{
	size_t i;

	if (!b->nlat)
		return 0;
	i = (size_t)(p * (double)(b->nlat - 1) + 0.5);
	return b->lat[i] * 1e3;
}

static void bench_args(int argc, char **argv, struct bench *b)
{
	static const struct option opts[] = {
	    {"host", required_argument, NULL, 'h'},	{"port", required_argument, NULL, 'p'},
	    {"ca", required_argument, NULL, 'c'},	{"body", required_argument, NULL, 'b'},
	    {"path", required_argument, NULL, 'P'},	{"connections", required_argument, NULL, 'n'},
	    {"duration", required_argument, NULL, 'd'}, {"warmup", required_argument, NULL, 'w'},
	    {"rate", required_argument, NULL, 'r'},	{"server-pid", required_argument, NULL, 's'},
	    {"plain", no_argument, NULL, 'x'},		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			b->host = optarg;
			break;
		case 'p':
			b->port = (int)strtol(optarg, NULL, 10);
			break;
		case 'c':
			b->ca = optarg;
			break;
		case 'b':
			b->body_file = optarg;
			break;
		case 'P':
			b->path = optarg;
			break;
		case 'n':
			b->nconn = (int)strtol(optarg, NULL, 10);
			break;
		case 'd':
			b->duration = strtod(optarg, NULL);
			break;
		case 'w':
			b->warmup = strtod(optarg, NULL);
			break;
		case 'r':
			b->rate = strtod(optarg, NULL);
			break;
		case 's':
			b->server_pid = (int)strtol(optarg, NULL, 10);
			break;
		case 'x':
			bench_plain = true;
			break;
		default:
			exit(2);
		}
	}
	if (!b->port || (!b->ca && !bench_plain) || !b->body_file || b->nconn < 1 ||
	    b->nconn > BENCH_MAX_CONN || b->duration <= 0)
		bench_die("usage: --port P (--ca CA | --plain) --body FILE [--path P] [--connections N] "
			  "[--duration S] [--rate R]");
}

int main(int argc, char **argv)
{
	struct bench b = {
	    .host = "127.0.0.1", .path = "/v1/models/model:predict", .nconn = 32, .duration = 5, .warmup = 1};

	bench_args(argc, argv, &b);
	bench_build_request(&b);
	b.ctx = SSL_CTX_new(TLS_client_method());
	if (!b.ctx || (!bench_plain && SSL_CTX_load_verify_file(b.ctx, b.ca) != 1))
		bench_die("cannot load the CA");
	SSL_CTX_set_verify(b.ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_min_proto_version(b.ctx, TLS1_2_VERSION);
	b.ep = epoll_create1(0);
	b.conns = calloc((size_t)b.nconn, sizeof(*b.conns));
	for (int i = 0; i < b.nconn; i++)
		bench_connect(&b, &b.conns[i]);
	bench_run(&b);
	qsort(b.lat, b.nlat, sizeof(*b.lat), bench_cmp);
	printf("requests/s=%.0f p50_ms=%.3f p99_ms=%.3f requests=%lu errors=%lu connections=%d mode=%s",
	       (double)b.done / b.duration, bench_pct(&b, 0.50), bench_pct(&b, 0.99), b.done, b.errors,
	       b.nconn, b.rate > 0 ? "rate" : "max");
	if (b.server_pid > 0 && b.done)
		printf(" server_cpu_us_per_request=%.1f", (b.cpu_end - b.cpu_start) * 1e6 / (double)b.done);
	printf("\n");
	for (int i = 0; i < b.nconn; i++) {
		SSL_free(b.conns[i].ssl);
		close(b.conns[i].fd);
	}
	SSL_CTX_free(b.ctx);
	free(b.conns);
	free(b.lat);
	free(b.backlog);
	free(b.request);
	return b.errors ? 1 : 0;
}
