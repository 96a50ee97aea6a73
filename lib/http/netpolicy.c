/* The outbound policy: an address (IPv4, IPv6, IPv4-mapped IPv6 seen as IPv4) against the
 * built-in refused ranges and a policy's own rules, and the libcurl open-socket callback that
 * applies it to every connection a transfer opens. */
#include "http/netpolicy.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/err.h"
#include "http/http.h"

/* An address in one form: IPv4 as the last 4 bytes of a v4-mapped IPv6 address. */
struct np_addr {
	unsigned char b[16];
	bool v4;
};

struct np_range {
	const char *cidr;
	const char *what;
};

static const struct np_range np_loopback[] = {
    {"127.0.0.0/8", "loopback"},
    {"0.0.0.0/8", "this host (0.0.0.0/8)"},
    {"::1/128", "loopback"},
    {"::/128", "the unspecified address"},
    {NULL, NULL},
};

static const struct np_range np_link_local[] = {
    {"169.254.0.0/16", "link-local or a cloud metadata address"},
    {"fe80::/10", "link-local"},
    {"fd00:ec2::254/128", "a cloud metadata address (AWS IPv6)"},
    {"100.100.100.200/32", "a cloud metadata address (Alibaba Cloud)"},
    {NULL, NULL},
};

static void np_from_v4(const struct in_addr *a, struct np_addr *out)
{
	memset(out->b, 0, 10);
	out->b[10] = 0xff;
	out->b[11] = 0xff;
	memcpy(out->b + 12, a, 4);
	out->v4 = true;
}

static void np_from_v6(const struct in6_addr *a, struct np_addr *out)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	memcpy(out->b, a, 16);
	out->v4 = memcmp(out->b, mapped, sizeof(mapped)) == 0;
}

/* Parse an address (no prefix). */
static bool np_parse(const char *s, struct np_addr *out)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		np_from_v4(&a4, out);
		return true;
	}
	if (inet_pton(AF_INET6, s, &a6) == 1) {
		np_from_v6(&a6, out);
		return true;
	}
	return false;
}

/* Whether a is inside cidr ("addr/len" or "addr"); a malformed cidr matches nothing. */
static bool np_in(const struct np_addr *a, const char *cidr)
{
	char host[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(cidr, '/');
	size_t n = slash ? (size_t)(slash - cidr) : strlen(cidr);
	struct np_addr net;
	long bits;
	char *end = NULL;

	if (n >= sizeof(host))
		return false;
	memcpy(host, cidr, n);
	host[n] = '\0';
	if (!np_parse(host, &net) || net.v4 != a->v4)
		return false;
	bits = net.v4 ? 32 : 128;
	if (slash) {
		bits = strtol(slash + 1, &end, 10);
		if (!end || *end || bits < 0 || bits > (net.v4 ? 32 : 128))
			return false;
	}
	if (net.v4)
		bits += 96;
	for (long i = 0; i < bits; i++) {
		unsigned mask = 0x80u >> (i % 8);

		if ((a->b[i / 8] & mask) != (net.b[i / 8] & mask))
			return false;
	}
	return true;
}

/* The description of the first range of list that holds a, or NULL. */
static const char *np_match(const struct np_addr *a, const struct np_range *list)
{
	for (; list->cidr; list++)
		if (np_in(a, list->cidr))
			return list->what;
	return NULL;
}

static int np_check(const struct http_netpolicy *p, const struct np_addr *a, int port, const char *text,
		    char *err, size_t errlen)
{
	const char *what = NULL;

	if (!p)
		return 0;
	if (!p->allow_loopback)
		what = np_match(a, np_loopback);
	if (!what && !p->allow_link_local)
		what = np_match(a, np_link_local);
	for (const struct http_netrule *r = p->deny; !what && r && r->cidr; r++)
		if ((r->port == 0 || r->port == port) && np_in(a, r->cidr))
			what = r->what ? r->what : "a denied address";
	if (what)
		return saqr_fail(SAQR_EFORBIDDEN, err, errlen, "outbound request to %s refused: %s", text,
				 what);
	return 0;
}

int http_netpolicy_check(const struct http_netpolicy *p, const char *ip, int port, char *err, size_t errlen)
{
	struct np_addr a;

	if (!ip || !np_parse(ip, &a))
		return saqr_fail(SAQR_EINVAL, err, errlen, "not an IP address: %s", ip ? ip : "(null)");
	return np_check(p, &a, port, ip, err, errlen);
}

/* The address and port of a socket address; false for other families. */
static bool np_sockaddr(const struct sockaddr *sa, struct np_addr *a, int *port, char *text, size_t textlen)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

		np_from_v4(&in->sin_addr, a);
		*port = ntohs(in->sin_port);
		return inet_ntop(AF_INET, &in->sin_addr, text, (socklen_t)textlen) != NULL;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;

		np_from_v6(&in6->sin6_addr, a);
		*port = ntohs(in6->sin6_port);
		return inet_ntop(AF_INET6, &in6->sin6_addr, text, (socklen_t)textlen) != NULL;
	}
	return false;
}

curl_socket_t http__netpolicy_open(void *ud, curlsocktype purpose, struct curl_sockaddr *addr)
{
	struct http_sink *sink = ud;
	char text[INET6_ADDRSTRLEN] = "";
	char why[sizeof(sink->refused)];
	struct np_addr a;
	int port = 0;

	if (purpose == CURLSOCKTYPE_IPCXN && sink->net) {
		if (!np_sockaddr(&addr->addr, &a, &port, text, sizeof(text))) {
			if (!sink->refused[0])
				snprintf(sink->refused, sizeof(sink->refused),
					 "outbound request refused: not an IP socket");
			return CURL_SOCKET_BAD;
		}
		if (np_check(sink->net, &a, port, text, why, sizeof(why))) {
			if (!sink->refused[0])
				snprintf(sink->refused, sizeof(sink->refused), "%s", why);
			return CURL_SOCKET_BAD;
		}
	}
	return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

/* Add one address (text) on port, once. */
static int np_rules_add(struct http_netrules *r, const char *addr, int port, const char *what)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->rule[i].port == port && strcmp(r->addr[i], addr) == 0)
			return 0;
	if (r->n >= HTTP_NETRULES_MAX)
		return SAQR_ETOOBIG;
	snprintf(r->addr[r->n], sizeof(r->addr[r->n]), "%s", addr);
	r->rule[r->n] = (struct http_netrule){.cidr = r->addr[r->n], .port = port, .what = what};
	r->n++;
	r->rule[r->n] = (struct http_netrule){0};
	return 0;
}

/* The host (brackets of an IPv6 literal removed) and port of url, by curl's URL parser. */
static int np_url_host(const char *url, char *host, size_t hostlen, int *port)
{
	CURLU *u = curl_url();
	char *h = NULL, *p = NULL;
	size_t n;
	int rc = SAQR_EINVAL;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) == CURLUE_OK) {
		if (h[0] == '[')
			memmove(h, h + 1, strlen(h));
		n = strcspn(h, "]%");
		if (n && n < hostlen) {
			memcpy(host, h, n);
			host[n] = '\0';
			*port = (int)strtol(p, NULL, 10);
			rc = 0;
		}
	}
	curl_free(h);
	curl_free(p);
	curl_url_cleanup(u);
	return rc;
}

int http_netrules_add_url(struct http_netrules *r, const char *url, const char *what)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	char host[256], text[INET6_ADDRSTRLEN];
	struct np_addr a;
	int port = 0, rc;

	if (!url || np_url_host(url, host, sizeof(host), &port))
		return SAQR_EINVAL;
	if (np_parse(host, &a))
		return np_rules_add(r, host, port, what);
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return SAQR_ETRANSPORT;
	rc = 0;
	for (const struct addrinfo *ai = res; ai && rc == 0; ai = ai->ai_next) {
		int unused;

		if (np_sockaddr(ai->ai_addr, &a, &unused, text, sizeof(text)))
			rc = np_rules_add(r, text, port, what);
	}
	freeaddrinfo(res);
	return rc;
}
