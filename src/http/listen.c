#include "http/listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/peer.h"

static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sslen, char *err, size_t errlen)
{
	char host[64];
	const char *port;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof host)
			goto bad;
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		port = close + 2;
	} else {
		const char *colon = strrchr(s, ':');
		size_t hlen = colon ? (size_t)(colon - s) : 0;
		if (hlen >= sizeof host || (colon && memchr(s, ':', hlen)))
			goto bad;
		memcpy(host, s, hlen);
		host[hlen] = '\0';
		port = colon ? colon + 1 : s;
		if (!colon)
			strcpy(host, "127.0.0.1");
	}
	if (!*port || strspn(port, "0123456789") != strlen(port) || strlen(port) > 5 || atoi(port) > 65535)
		goto bad;
	uint16_t p = (uint16_t)atoi(port);
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	if (s[0] == '[') {
		if (inet_pton(AF_INET6, host, &v6->sin6_addr) != 1)
			goto bad;
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(p);
		*sslen = sizeof *v6;
		return 0;
	}
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	if (!host[0])
		strcpy(host, "0.0.0.0");
	if (inet_pton(AF_INET, host, &v4->sin_addr) != 1)
		goto bad;
	v4->sin_family = AF_INET;
	v4->sin_port = htons(p);
	*sslen = sizeof *v4;
	return 0;
bad:
	snprintf(err, errlen, "invalid listen address \"%s\": expected IPV4:PORT, [IPV6]:PORT, PORT or :PORT", s);
	return -1;
}

int vg_http_listen(const char *spec, int *port, int *loopback, char *address, size_t address_len, char *err,
		   size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	if (parse_listen(spec, &ss, &sslen, err, errlen) != 0)
		return -EINVAL;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(e));
		return -e;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&ss, sslen) != 0 || listen(fd, 511) != 0) {
		int e = errno;
		snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(e));
		close(fd);
		return -e;
	}
	vg_peer_addr a;
	*loopback = vg_peer_addr_from_sockaddr((struct sockaddr *)&ss, &a) == 0 && vg_peer_addr_is_loopback(&a);
	struct sockaddr_storage bound;
	socklen_t blen = sizeof bound;
	*port = 0;
	if (getsockname(fd, (struct sockaddr *)&bound, &blen) == 0)
		*port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
							  : ((struct sockaddr_in *)&bound)->sin_port);
	char text[VG_PEER_ADDR_STRLEN];
	vg_peer_addr_format(&a, text, sizeof text);
	snprintf(address, address_len, ss.ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d", text, *port);
	return fd;
}
