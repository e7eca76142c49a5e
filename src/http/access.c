#include "http/access.h"

#include <string.h>

#include "http/peer.h"

static int lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int same_nocase(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	if (blen > 0 && b[blen - 1] == '.')
		blen--;
	if (alen != blen)
		return 0;
	for (size_t i = 0; i < alen; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return 0;
	return 1;
}

/* The name part of a Host value: without the port, brackets kept for IPv6, without a trailing dot. */
static size_t host_name(const char *host, size_t len)
{
	size_t n = len;
	if (len > 0 && host[0] == '[') {
		const char *close = memchr(host, ']', len);
		return close ? (size_t)(close - host) + 1 : len;
	}
	const char *colon = memchr(host, ':', len);
	if (colon)
		n = (size_t)(colon - host);
	if (n > 0 && host[n - 1] == '.')
		n--;
	return n;
}

int vg_http_host_allowed(const char *host, size_t len, int loopback_bind, const char *const *allowed, int nallowed)
{
	size_t n = host_name(host, len);
	if (n == 0)
		return 0;
	for (int i = 0; i < nallowed; i++)
		if (strcmp(allowed[i], "*") == 0 || same_nocase(host, n, allowed[i]))
			return 1;
	vg_peer_addr a;
	int literal = vg_peer_addr_parse(host, n, &a) == 0;
	if (same_nocase(host, n, "localhost") || (literal && vg_peer_addr_is_loopback(&a)))
		return 1;
	if (loopback_bind)
		return 0;
	return nallowed == 0 || literal;
}

const char *vg_http_cors_match(const char *origin, size_t len, const char *const *origins, int norigins)
{
	if (!origin || len == 0)
		return NULL;
	for (int i = 0; i < norigins; i++) {
		size_t olen = strlen(origins[i]);
		/* A configured origin written with a trailing slash still names the same origin. */
		if (olen > 0 && origins[i][olen - 1] == '/')
			olen--;
		if (strcmp(origins[i], "*") == 0)
			return origins[i];
		if (olen != len)
			continue;
		size_t j = 0;
		while (j < len && lower((unsigned char)origin[j]) == lower((unsigned char)origins[i][j]))
			j++;
		if (j == len)
			return origins[i];
	}
	return NULL;
}
