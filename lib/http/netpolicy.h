/* The outbound policy of lib/http: which addresses a request may connect to, checked on the
 * address each connection is opened to (after DNS, so a name that resolves or re-resolves to a
 * refused address cannot reach it), and whether a credential may go over plain http://.
 * http_setup installs the check (CURLOPT_OPENSOCKETFUNCTION) when http_opts.net is set.
 *
 * Ownership: a policy and its rules are borrowed by the requests that use it. */
#ifndef SAQR_HTTP_NETPOLICY_H
#define SAQR_HTTP_NETPOLICY_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

/* An address range a policy refuses besides its built-in ones. */
struct http_netrule {
	const char *cidr; /* "10.0.0.0/8", "fd00::/8", or one address (/32, /128); NULL ends a list */
	int port;	  /* 0: every port */
	const char *what; /* for messages ("the API server's address"); NULL: "a denied address" */
};

/* Where outbound requests may go. Refused unless allowed here:
 *  - loopback and "this host": 127.0.0.0/8, 0.0.0.0/8, ::1, :: (allow_loopback);
 *  - link-local and the cloud metadata services: 169.254.0.0/16, fe80::/10, fd00:ec2::254,
 *    100.100.100.200 (allow_link_local);
 *  - every rule of deny (e.g. the API server's own address), always.
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are checked as IPv4. With a policy, proxies from
 * the environment are not used (the address checked is the one connected to). A request with a
 * credential (http_request.credential, or an Authorization header) is refused over http://
 * unless allow_insecure_credentials. */
struct http_netpolicy {
	bool allow_loopback;
	bool allow_link_local;
	bool allow_insecure_credentials;
	const struct http_netrule *deny; /* ended by an entry with cidr NULL; NULL: none */
};

/* Whether policy p lets a connection go to address ip (IPv4 or IPv6 text) and port. 0, or
 * SAQR_EFORBIDDEN with the reason in err ("169.254.169.254 is link-local or a cloud metadata
 * address"), SAQR_EINVAL when ip is not an address. p NULL allows everything. */
int http_netpolicy_check(const struct http_netpolicy *p, const char *ip, int port, char *err, size_t errlen);

#define HTTP_NETRULES_MAX 16
#define HTTP_NETRULE_ADDR 48 /* an IPv6 address in text, with its NUL */

/* Rules built at run time; rule[] always ends with an entry whose cidr is NULL, so it serves as
 * http_netpolicy.deny. Zero-initialise; nothing to free. */
struct http_netrules {
	struct http_netrule rule[HTTP_NETRULES_MAX + 1];
	char addr[HTTP_NETRULES_MAX][HTTP_NETRULE_ADDR];
	size_t n;
};

/* Add a rule for every address url's host resolves to (a literal address as it is), on url's
 * port (443 for https, 80 for http, when none is given), described as what (borrowed: it must
 * outlive r). 0, SAQR_EINVAL (no host in url), SAQR_ETRANSPORT (the name does not resolve) or
 * SAQR_ETOOBIG (r is full; the rules that fit were added). */
int http_netrules_add_url(struct http_netrules *r, const char *url, const char *what);

/* ---- for http.c ---- */

/* libcurl open-socket callback; ud is the transfer's struct http_sink. Opens the socket when
 * sink->net allows the address, else records the refusal in sink->refused and returns
 * CURL_SOCKET_BAD (curl then tries the next address, if any). */
curl_socket_t http__netpolicy_open(void *ud, curlsocktype purpose, struct curl_sockaddr *addr);

#endif
