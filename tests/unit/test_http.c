/* Unit tests for lib/http: a request and its answer against a local receiver, TLS against
 * lib/httpd (CA from memory or a file, client certificate, the wrong CA, a bad CA), and the
 * error paths (size cap, a listener that never answers, connection refused), plus the header
 * helpers; the outbound policy (addresses refused after DNS, credentials over http://). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "http/http.h"
#include "../support/certgen.h"
#include "../support/httprecv.h"
#include "httpd/httpd.h"

/* A listening socket on 127.0.0.1 that never accepts: connects complete, nothing answers.
 * Returns the fd; *port gets its port. */
static int silent_listener(int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_post_and_answer(void **state)
{
	const char *lines[] = {"Content-Type: application/json", "X-Test: 1", NULL};
	struct http_request req = {.method = "POST", .headers = lines, .body = "{\"a\":1}"};
	struct http_response *r = NULL;
	struct httprecv *rv;
	char url[128], err[256] = "";
	json_t *got;

	(void)state;
	assert_int_equal(httprecv_start(&rv), 0);
	httprecv_url(rv, url, sizeof(url));
	req.url = url;
	httprecv_reply(rv, 201, "{\"ok\":true}");
	assert_int_equal(http_do(&req, NULL, &r, err, sizeof(err)), 0);
	assert_int_equal(r->status, 201);
	assert_true(http_status_ok(r->status));
	assert_string_equal(buf_str(&r->body), "{\"ok\":true}");
	assert_string_equal(http_response_header(r, "content-length"), "11");
	assert_null(http_response_header(r, "X-Absent"));
	http_response_free(r);
	got = httprecv_request(rv, 0);
	assert_string_equal(json_path_str(got, "method", ""), "POST");
	assert_string_equal(json_path_str(got, "body", ""), "{\"a\":1}");
	assert_string_equal(json_path_str(got, "headers.x-test", ""), "1");
	json_decref(got);
	/* an error status is an answer, not a failure */
	httprecv_reply(rv, 503, "busy");
	req.method = NULL;
	req.body = NULL;
	assert_int_equal(http_do(&req, NULL, &r, err, sizeof(err)), 0);
	assert_int_equal(r->status, 503);
	assert_false(http_status_ok(r->status));
	http_response_free(r);
	httprecv_stop(rv);
}

static void test_size_cap(void **state)
{
	struct http_opts o = {.max_body = 8};
	struct http_request req = {0};
	struct http_response *r = (struct http_response *)0x1;
	struct httprecv *rv;
	char url[128], err[256] = "";

	(void)state;
	assert_int_equal(httprecv_start(&rv), 0);
	httprecv_url(rv, url, sizeof(url));
	req.url = url;
	httprecv_reply(rv, 200, "0123456789abcdefghij");
	assert_int_equal(http_do(&req, &o, &r, err, sizeof(err)), SAQR_ETOOBIG);
	assert_ptr_equal(r, (struct http_response *)0x1);
	assert_non_null(strstr(err, "127.0.0.1"));
	assert_non_null(strstr(err, "exceeds 8 bytes"));
	httprecv_stop(rv);
}

/* ---- TLS against lib/httpd ---- */

struct tls_fixture {
	char dir[64];
	char ca[128], ca2[128], cert[128], key[128], client_cert[128], client_key[128];
	char *ca_pem, *ca2_pem; /* the two CA certificates, read back */
	struct httpd *srv;	/* TLS; wants a client certificate from CA 1 */
	char url[128];
};

static void tls_handler(void *ud, const struct httpd_request *req, struct httpd_response *resp)
{
	(void)ud;
	(void)req;
	buf_adds(&resp->body, "{\"tls\":true}");
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *data = calloc(1, 16384);
	size_t n;

	assert_non_null(f);
	assert_non_null(data);
	n = fread(data, 1, 16383, f);
	fclose(f);
	assert_true(n > 0);
	return data;
}

static int tls_setup(void **state)
{
	struct tls_fixture *f = calloc(1, sizeof(*f));
	struct certgen_ca *ca1 = NULL, *ca2 = NULL;
	struct httpd_opts o = {.address = "127.0.0.1", .max_body = 4096, .handler = tls_handler};
	int rc = -1;

	snprintf(f->dir, sizeof(f->dir), "/tmp/saqr-http-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->ca, sizeof(f->ca), "%s/ca.crt", f->dir);
	snprintf(f->ca2, sizeof(f->ca2), "%s/ca2.crt", f->dir);
	snprintf(f->cert, sizeof(f->cert), "%s/tls.crt", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/tls.key", f->dir);
	snprintf(f->client_cert, sizeof(f->client_cert), "%s/client.crt", f->dir);
	snprintf(f->client_key, sizeof(f->client_key), "%s/client.key", f->dir);
	if (certgen_ca_new("saqr http CA 1", &ca1) || certgen_ca_new("saqr http CA 2", &ca2) ||
	    certgen_ca_write(ca1, f->ca) || certgen_ca_write(ca2, f->ca2) ||
	    certgen_leaf(ca1, "server", "IP:127.0.0.1,DNS:localhost", false, f->cert, f->key) ||
	    certgen_leaf(ca1, "alice", NULL, true, f->client_cert, f->client_key))
		goto out;
	o.cert_file = f->cert;
	o.key_file = f->key;
	o.client_ca_file = f->ca;
	if (httpd_start(&o, &f->srv))
		goto out;
	snprintf(f->url, sizeof(f->url), "https://127.0.0.1:%d/", httpd_port(f->srv));
	f->ca_pem = slurp(f->ca);
	f->ca2_pem = slurp(f->ca2);
	*state = f;
	rc = 0;
out:
	certgen_ca_free(ca1);
	certgen_ca_free(ca2);
	return rc;
}

static int tls_teardown(void **state)
{
	struct tls_fixture *f = *state;
	const char *names[] = {"ca.crt", "ca2.crt", "tls.crt", "tls.key", "client.crt", "client.key"};
	char path[160];

	httpd_stop(f->srv);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", f->dir, names[i]);
		unlink(path);
	}
	rmdir(f->dir);
	free(f->ca_pem);
	free(f->ca2_pem);
	free(f);
	return 0;
}

static int tls_get(const struct tls_fixture *f, const struct http_opts *o, char *err, size_t errlen)
{
	struct http_request req = {.url = f->url};
	struct http_response *r = NULL;
	int rc = http_do(&req, o, &r, err, errlen);

	if (rc == 0) {
		assert_int_equal(r->status, 200);
		assert_string_equal(buf_str(&r->body), "{\"tls\":true}");
	}
	http_response_free(r);
	return rc;
}

static void test_tls_trust_and_identity(void **state)
{
	const struct tls_fixture *f = *state;
	struct http_opts o = {
	    .tls = {.ca_file = f->ca, .cert_file = f->client_cert, .key_file = f->client_key}};
	char err[256] = "";

	/* the CA from a file, then from memory */
	assert_int_equal(tls_get(f, &o, err, sizeof(err)), 0);
	o.tls.ca_file = NULL;
	o.tls.ca_pem = f->ca_pem;
	assert_int_equal(tls_get(f, &o, err, sizeof(err)), 0);
	/* the client certificate from memory */
	{
		char *cert = slurp(f->client_cert), *key = slurp(f->client_key);

		o.tls.cert_file = o.tls.key_file = NULL;
		o.tls.cert_pem = cert;
		o.tls.key_pem = key;
		assert_int_equal(tls_get(f, &o, err, sizeof(err)), 0);
		free(cert);
		free(key);
	}
	/* verify on by default: no CA given, the system store does not know CA 1 */
	o.tls.ca_pem = NULL;
	o.tls.cert_pem = o.tls.key_pem = NULL;
	o.tls.cert_file = f->client_cert;
	o.tls.key_file = f->client_key;
	assert_int_equal(tls_get(f, &o, err, sizeof(err)), SAQR_ETRANSPORT);
	/* insecure skips verification */
	o.tls.insecure = true;
	assert_int_equal(tls_get(f, &o, err, sizeof(err)), 0);
}

static void test_tls_errors(void **state)
{
	const struct tls_fixture *f = *state;
	struct http_opts o = {
	    .tls = {.ca_pem = f->ca2_pem, .cert_file = f->client_cert, .key_file = f->client_key}};
	char err[256] = "";

	/* the wrong CA */
	assert_int_equal(tls_get(f, &o, err, sizeof(err)), SAQR_ETRANSPORT);
	assert_non_null(strstr(err, "127.0.0.1"));
	/* a CA that is not PEM */
	o.tls.ca_pem = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
	assert_int_equal(tls_get(f, &o, err, sizeof(err)), SAQR_ETRANSPORT);
	/* a CA file that is not there */
	o.tls.ca_pem = NULL;
	o.tls.ca_file = "/nonexistent/ca.pem";
	assert_int_equal(tls_get(f, &o, err, sizeof(err)), SAQR_ETRANSPORT);
	/* the server wants a client certificate */
	o.tls.ca_file = f->ca;
	o.tls.cert_file = o.tls.key_file = NULL;
	assert_int_equal(tls_get(f, &o, err, sizeof(err)), SAQR_ETRANSPORT);
}

static void test_timeout_on_silent_listener(void **state)
{
	struct http_opts o = {.timeout_ms = 300};
	struct http_request req = {0};
	struct http_response *r = NULL;
	char url[128], err[256] = "";
	int port, fd = silent_listener(&port);
	double t0 = now_s();

	(void)state;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", port);
	req.url = url;
	assert_int_equal(http_do(&req, &o, &r, err, sizeof(err)), SAQR_ETRANSPORT);
	assert_null(r);
	assert_true(now_s() - t0 < 5.0);
	assert_non_null(strstr(err, "timed out"));
	close(fd);
}

static void test_connection_refused(void **state)
{
	struct http_request req = {0};
	struct http_response *r = NULL;
	char url[128], err[256] = "";
	int port, fd = silent_listener(&port);

	(void)state;
	close(fd); /* nothing listens there now */
	snprintf(url, sizeof(url), "http://user:secret@127.0.0.1:%d/", port);
	req.url = url;
	assert_int_equal(http_do(&req, NULL, &r, err, sizeof(err)), SAQR_ETRANSPORT);
	assert_null(r);
	assert_non_null(strstr(err, "127.0.0.1"));
	assert_null(strstr(err, "secret"));
	req.url = NULL;
	assert_int_equal(http_do(&req, NULL, &r, err, sizeof(err)), SAQR_EINVAL);
}

/* ---- the outbound policy ---- */

static void expect_refused(const struct http_netpolicy *p, const char *ip, int port, const char *why)
{
	char err[256] = "";

	assert_int_equal(http_netpolicy_check(p, ip, port, err, sizeof(err)), SAQR_EFORBIDDEN);
	assert_non_null(strstr(err, ip));
	assert_non_null(strstr(err, why));
}

static void test_netpolicy_addresses(void **state)
{
	static const struct http_netrule deny[] = {
	    {"10.96.0.1", 443, "the API server's address"}, {"192.0.2.0/24", 0, NULL}, {NULL, 0, NULL}};
	struct http_netpolicy strict = {.deny = deny};
	struct http_netpolicy open = {.allow_loopback = true, .allow_link_local = true};
	char err[256];

	(void)state;
	expect_refused(&strict, "169.254.169.254", 80, "metadata");
	expect_refused(&strict, "169.254.1.2", 80, "link-local");
	expect_refused(&strict, "fe80::1", 80, "link-local");
	expect_refused(&strict, "febf::1", 80, "link-local");
	expect_refused(&strict, "fd00:ec2::254", 80, "metadata");
	expect_refused(&strict, "100.100.100.200", 80, "metadata");
	expect_refused(&strict, "::ffff:169.254.169.254", 80, "metadata");
	expect_refused(&strict, "127.0.0.1", 8080, "loopback");
	expect_refused(&strict, "127.255.0.9", 8080, "loopback");
	expect_refused(&strict, "::1", 8080, "loopback");
	expect_refused(&strict, "::ffff:127.0.0.1", 8080, "loopback");
	expect_refused(&strict, "0.0.0.0", 8080, "this host");
	expect_refused(&strict, "::", 8080, "unspecified");
	expect_refused(&strict, "10.96.0.1", 443, "API server");
	expect_refused(&strict, "192.0.2.77", 9, "denied");
	/* neighbours of the refused ranges, and the ordinary cluster and public addresses */
	assert_int_equal(http_netpolicy_check(&strict, "10.96.0.1", 8443, err, sizeof(err)), 0);
	assert_int_equal(http_netpolicy_check(&strict, "169.255.0.1", 80, err, sizeof(err)), 0);
	assert_int_equal(http_netpolicy_check(&strict, "fec0::1", 80, err, sizeof(err)), 0);
	assert_int_equal(http_netpolicy_check(&strict, "fd00:ec2::253", 80, err, sizeof(err)), 0);
	assert_int_equal(http_netpolicy_check(&strict, "100.100.100.201", 80, err, sizeof(err)), 0);
	assert_int_equal(http_netpolicy_check(&strict, "10.0.0.5", 9090, err, sizeof(err)), 0);
	assert_int_equal(http_netpolicy_check(&strict, "2001:db8::1", 443, err, sizeof(err)), 0);
	assert_int_equal(http_netpolicy_check(&strict, "128.0.0.1", 443, err, sizeof(err)), 0);
	/* allowed when the configuration says so; no policy allows everything */
	assert_int_equal(http_netpolicy_check(&open, "127.0.0.1", 80, err, sizeof(err)), 0);
	assert_int_equal(http_netpolicy_check(&open, "169.254.169.254", 80, err, sizeof(err)), 0);
	assert_int_equal(http_netpolicy_check(NULL, "169.254.169.254", 80, err, sizeof(err)), 0);
	assert_int_equal(http_netpolicy_check(&strict, "not-an-ip", 80, err, sizeof(err)), SAQR_EINVAL);
}

/* The check is on the address connected to: a name resolving to loopback is refused too, and
 * nothing reaches the receiver. */
static void test_netpolicy_refuses_connection(void **state)
{
	struct http_netpolicy strict = {.allow_insecure_credentials = true};
	struct http_netpolicy loop = {.allow_loopback = true};
	struct http_netrule deny[2] = {{"127.0.0.1", 0, NULL}, {NULL, 0, NULL}};
	struct http_opts o = {.net = &strict};
	struct http_request req = {0};
	struct http_response *r = NULL;
	struct httprecv *rv;
	char url[128], err[256] = "";

	(void)state;
	assert_int_equal(httprecv_start(&rv), 0);
	httprecv_url(rv, url, sizeof(url));
	req.url = url;
	assert_int_equal(http_do(&req, &o, &r, err, sizeof(err)), SAQR_EFORBIDDEN);
	assert_null(r);
	assert_non_null(strstr(err, "127.0.0.1 refused: loopback"));
	snprintf(url, sizeof(url), "http://localhost:%d/", httprecv_port(rv));
	assert_int_equal(http_do(&req, &o, &r, err, sizeof(err)), SAQR_EFORBIDDEN);
	assert_non_null(strstr(err, "refused: loopback"));
	assert_int_equal(httprecv_count(rv), 0);
	/* allowed loopback, but this very port denied (as the API server's address is) */
	deny[0].port = httprecv_port(rv);
	loop.deny = deny;
	o.net = &loop;
	assert_int_equal(http_do(&req, &o, &r, err, sizeof(err)), SAQR_EFORBIDDEN);
	assert_int_equal(httprecv_count(rv), 0);
	loop.deny = NULL;
	assert_int_equal(http_do(&req, &o, &r, err, sizeof(err)), 0);
	http_response_free(r);
	assert_int_equal(httprecv_count(rv), 1);
	httprecv_stop(rv);
}

/* The API server's address as rules: from a URL with an address or a name, on its port. */
static void test_netrules_from_url(void **state)
{
	struct http_netrules r = {0};
	struct http_netpolicy p = {.allow_loopback = true, .deny = r.rule};
	char err[256] = "";

	(void)state;
	assert_int_equal(http_netrules_add_url(&r, "https://127.0.0.1:6443", "the API server's address"), 0);
	assert_int_equal(http_netrules_add_url(&r, "https://127.0.0.1:6443/", "again"), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(http_netrules_add_url(&r, "https://[::1]", "v6"), 0);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.rule[1].cidr, "::1");
	assert_int_equal(r.rule[1].port, 443);
	assert_null(r.rule[2].cidr);
	assert_int_equal(http_netrules_add_url(&r, "https://localhost:7443", "by name"), 0);
	assert_true(r.n >= 3);
	assert_int_equal(http_netrules_add_url(&r, "no url at all", "x"), SAQR_EINVAL);
	assert_int_equal(http_netpolicy_check(&p, "127.0.0.1", 6443, err, sizeof(err)), SAQR_EFORBIDDEN);
	assert_non_null(strstr(err, "the API server's address"));
	assert_int_equal(http_netpolicy_check(&p, "127.0.0.1", 7443, err, sizeof(err)), SAQR_EFORBIDDEN);
	assert_non_null(strstr(err, "by name"));
	assert_int_equal(http_netpolicy_check(&p, "127.0.0.1", 6444, err, sizeof(err)), 0);
	assert_int_equal(http_netpolicy_check(&p, "::1", 443, err, sizeof(err)), SAQR_EFORBIDDEN);
}

static void test_netpolicy_credentials_over_http(void **state)
{
	const char *auth[] = {"authorization: Bearer s3cr3t", NULL};
	struct http_netpolicy loop = {.allow_loopback = true};
	struct http_opts o = {.net = &loop};
	struct http_request req = {.method = "POST", .body = "{}", .headers = auth};
	struct http_response *r = NULL;
	struct httprecv *rv;
	char url[128], err[256] = "";

	(void)state;
	assert_int_equal(httprecv_start(&rv), 0);
	httprecv_url(rv, url, sizeof(url));
	req.url = url;
	assert_int_equal(http_do(&req, &o, &r, err, sizeof(err)), SAQR_EFORBIDDEN);
	assert_non_null(strstr(err, "127.0.0.1"));
	assert_non_null(strstr(err, "credential over plain http://"));
	assert_null(strstr(err, "s3cr3t"));
	/* a secret in the body (a routing key) */
	req.headers = NULL;
	req.credential = true;
	assert_int_equal(http_do(&req, &o, &r, err, sizeof(err)), SAQR_EFORBIDDEN);
	assert_int_equal(httprecv_count(rv), 0);
	/* allowed explicitly; without a policy (the API server's client) nothing is checked */
	loop.allow_insecure_credentials = true;
	assert_int_equal(http_do(&req, &o, &r, err, sizeof(err)), 0);
	http_response_free(r);
	req.headers = auth;
	assert_int_equal(http_do(&req, NULL, &r, err, sizeof(err)), 0);
	http_response_free(r);
	assert_int_equal(httprecv_count(rv), 2);
	httprecv_stop(rv);
}

static void test_header_helpers(void **state)
{
	struct buf v;
	char host[64];

	(void)state;
	buf_init(&v, 1024);
	assert_int_equal(http_auth_bearer("t0k", &v), 0);
	assert_string_equal(buf_str(&v), "Bearer t0k");
	buf_reset(&v);
	assert_int_equal(http_auth_bearer("t0k\r\nX-Evil: 1", &v), SAQR_EINVAL);
	assert_int_equal(http_auth_bearer(NULL, &v), SAQR_EINVAL);
	assert_int_equal(http_auth_basic("user", "pass", &v), 0);
	assert_string_equal(buf_str(&v), "Basic dXNlcjpwYXNz");
	buf_reset(&v);
	assert_int_equal(http_add_escaped(&v, "min(x{a=\"b c\"})"), 0);
	assert_string_equal(buf_str(&v), "min%28x%7Ba%3D%22b%20c%22%7D%29");
	buf_release(&v);
	http_url_host("https://u:p@prom.example:9090/api?q=1", host, sizeof(host));
	assert_string_equal(host, "prom.example:9090");
	http_url_host("127.0.0.1:8080", host, sizeof(host));
	assert_string_equal(host, "127.0.0.1:8080");
	http_response_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_post_and_answer),
	    cmocka_unit_test(test_size_cap),
	    cmocka_unit_test_setup_teardown(test_tls_trust_and_identity, tls_setup, tls_teardown),
	    cmocka_unit_test_setup_teardown(test_tls_errors, tls_setup, tls_teardown),
	    cmocka_unit_test(test_timeout_on_silent_listener),
	    cmocka_unit_test(test_connection_refused),
	    cmocka_unit_test(test_header_helpers),
	    cmocka_unit_test(test_netpolicy_addresses),
	    cmocka_unit_test(test_netpolicy_refuses_connection),
	    cmocka_unit_test(test_netpolicy_credentials_over_http),
	    cmocka_unit_test(test_netrules_from_url),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
