#include "http/peer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Buckets of the address table; a power of two. More addresses than this only make chains longer. */
#define TABLE_BUCKETS 1024

static const uint8_t v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static void map_v4(const void *in4, vg_peer_addr *out)
{
	memcpy(out->b, v4_mapped_prefix, 12);
	memcpy(out->b + 12, in4, 4);
}

static int is_v4(const vg_peer_addr *a)
{
	return memcmp(a->b, v4_mapped_prefix, 12) == 0;
}

int vg_peer_addr_from_sockaddr(const struct sockaddr *sa, vg_peer_addr *out)
{
	if (sa->sa_family == AF_INET) {
		map_v4(&((const struct sockaddr_in *)sa)->sin_addr, out);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(out->b, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return 0;
	}
	return -1;
}

int vg_peer_addr_parse(const char *s, size_t len, vg_peer_addr *out)
{
	char buf[INET6_ADDRSTRLEN + 2];
	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof buf)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	struct in_addr v4;
	if (inet_pton(AF_INET, buf, &v4) == 1) {
		map_v4(&v4, out);
		return 0;
	}
	return inet_pton(AF_INET6, buf, out->b) == 1 ? 0 : -1;
}

void vg_peer_addr_format(const vg_peer_addr *a, char *buf, size_t cap)
{
	char tmp[INET6_ADDRSTRLEN];
	const char *s = is_v4(a) ? inet_ntop(AF_INET, a->b + 12, tmp, sizeof tmp)
				 : inet_ntop(AF_INET6, a->b, tmp, sizeof tmp);
	snprintf(buf, cap, "%s", s ? s : "?");
}

int vg_peer_addr_is_loopback(const vg_peer_addr *a)
{
	if (is_v4(a))
		return a->b[12] == 127;
	static const uint8_t v6_loopback[16] = { [15] = 1 };
	return memcmp(a->b, v6_loopback, 16) == 0;
}

int vg_peer_net_parse(const char *s, vg_peer_net *out)
{
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	if (vg_peer_addr_parse(s, alen, &out->addr) != 0)
		return -1;
	int v4 = is_v4(&out->addr);
	int bits = v4 ? 32 : 128;
	if (slash) {
		const char *p = slash + 1;
		if (!*p || strspn(p, "0123456789") != strlen(p) || strlen(p) > 3)
			return -1;
		bits = atoi(p);
		if (bits > (v4 ? 32 : 128))
			return -1;
	}
	out->prefix = v4 ? 96 + bits : bits;
	return 0;
}

int vg_peer_net_contains(const vg_peer_net *net, const vg_peer_addr *a)
{
	int full = net->prefix / 8, rest = net->prefix % 8;
	if (memcmp(net->addr.b, a->b, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (net->addr.b[full] & mask) == (a->b[full] & mask);
}

int vg_peer_nets_contain(const vg_peer_net *nets, int n, const vg_peer_addr *a)
{
	for (int i = 0; i < n; i++)
		if (vg_peer_net_contains(&nets[i], a))
			return 1;
	return 0;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

int vg_peer_forwarded_client(const char *xff, size_t len, const vg_peer_net *trusted, int ntrusted,
			     vg_peer_addr *out)
{
	size_t end = len;
	while (end > 0) {
		size_t start = end;
		while (start > 0 && xff[start - 1] != ',')
			start--;
		size_t s = start, e = end;
		while (s < e && is_space(xff[s]))
			s++;
		while (e > s && is_space(xff[e - 1]))
			e--;
		vg_peer_addr a;
		/* An entry we cannot read ends the walk: what stands left of it cannot be placed in the chain. */
		if (vg_peer_addr_parse(xff + s, e - s, &a) != 0)
			return -1;
		if (!vg_peer_nets_contain(trusted, ntrusted, &a)) {
			*out = a;
			return 0;
		}
		end = start > 0 ? start - 1 : 0;
	}
	return -1;
}

struct vg_peer_table {
	vg_peer *buckets[TABLE_BUCKETS];
	int size;
};

static size_t bucket_of(const vg_peer_addr *a)
{
	/* FNV-1a: addresses are not chosen to collide here; a client picks only its own. */
	uint32_t h = 2166136261u;
	for (int i = 0; i < 16; i++)
		h = (h ^ a->b[i]) * 16777619u;
	return h & (TABLE_BUCKETS - 1);
}

vg_peer_table *vg_peer_table_create(void)
{
	return calloc(1, sizeof(vg_peer_table));
}

void vg_peer_table_destroy(vg_peer_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < TABLE_BUCKETS; i++) {
		vg_peer *p = t->buckets[i];
		while (p) {
			vg_peer *next = p->next;
			free(p);
			p = next;
		}
	}
	free(t);
}

vg_peer *vg_peer_get(vg_peer_table *t, const vg_peer_addr *a)
{
	size_t b = bucket_of(a);
	for (vg_peer *p = t->buckets[b]; p; p = p->next)
		if (memcmp(p->addr.b, a->b, 16) == 0)
			return p;
	vg_peer *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->addr = *a;
	p->next = t->buckets[b];
	t->buckets[b] = p;
	t->size++;
	return p;
}

void vg_peer_put(vg_peer_table *t, vg_peer *p)
{
	if (!p || p->conns > 0 || p->pending > 0 || p->rejecting > 0)
		return;
	vg_peer **link = &t->buckets[bucket_of(&p->addr)];
	while (*link && *link != p)
		link = &(*link)->next;
	if (*link) {
		*link = p->next;
		t->size--;
		free(p);
	}
}

int vg_peer_table_size(const vg_peer_table *t)
{
	return t->size;
}
