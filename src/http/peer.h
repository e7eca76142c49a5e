#ifndef VG_HTTP_PEER_H
#define VG_HTTP_PEER_H

#include <stddef.h>
#include <stdint.h>

struct sockaddr;

/*
 * Who is on the other end of a connection, for the per-address limits: the
 * socket's peer, or for a trusted reverse proxy the client it names in
 * X-Forwarded-For. IPv4 addresses are kept IPv4-mapped (::ffff:a.b.c.d), so
 * one 16-byte key serves both families.
 */
typedef struct vg_peer_addr {
	uint8_t b[16];
} vg_peer_addr;

/* Longest text vg_peer_addr_format writes, NUL included. */
#define VG_PEER_ADDR_STRLEN 48

/* From an AF_INET or AF_INET6 socket address; 0, or -1 for any other family. */
int vg_peer_addr_from_sockaddr(const struct sockaddr *sa, vg_peer_addr *out);

/* From text: "192.0.2.1", "2001:db8::1" or "[2001:db8::1]" (len bytes, not NUL-terminated); 0 or -1. */
int vg_peer_addr_parse(const char *s, size_t len, vg_peer_addr *out);

/* "192.0.2.1" for mapped IPv4, "2001:db8::1" otherwise. */
void vg_peer_addr_format(const vg_peer_addr *a, char *buf, size_t cap);

/* 127.0.0.0/8 or ::1. */
int vg_peer_addr_is_loopback(const vg_peer_addr *a);

/* An address or a CIDR block ("10.0.0.0/8", "fd00::/8"): a --trusted-proxy entry. */
typedef struct vg_peer_net {
	vg_peer_addr addr;
	int prefix;   /* leading bits that must match, counted on the 128-bit mapped form */
} vg_peer_net;

/* Parses a NUL-terminated address or CIDR block; 0 or -1. */
int vg_peer_net_parse(const char *s, vg_peer_net *out);

int vg_peer_net_contains(const vg_peer_net *net, const vg_peer_addr *a);

/* Whether any of the n blocks contains a. */
int vg_peer_nets_contain(const vg_peer_net *nets, int n, const vg_peer_addr *a);

/*
 * The client a chain of proxies names in an X-Forwarded-For value: walking
 * from the right (the entry our trusted proxy added), the first address that
 * is not itself one of the trusted proxies. Anything to its left was written
 * by whoever sent the request and is not believed. Returns 0 and sets out,
 * or -1 when the value holds no usable address (then the proxy itself is
 * the client).
 */
int vg_peer_forwarded_client(const char *xff, size_t len, const vg_peer_net *trusted, int ntrusted,
			     vg_peer_addr *out);

/*
 * What one address holds: its open connections, those of them still sending
 * a request head, and those being turned away. Entries live in a hash table
 * while any count is non-zero.
 */
typedef struct vg_peer {
	vg_peer_addr addr;
	int conns;       /* connections served normally */
	int pending;     /* of those, connections whose request head is not complete */
	int rejecting;   /* over-limit connections being answered 503 */
	struct vg_peer *next;
} vg_peer;

typedef struct vg_peer_table vg_peer_table;

vg_peer_table *vg_peer_table_create(void);
void vg_peer_table_destroy(vg_peer_table *t);

/* The entry of an address, created with zero counts if absent; NULL when out of memory. */
vg_peer *vg_peer_get(vg_peer_table *t, const vg_peer_addr *a);

/* Frees the entry once all its counts are zero; call after decrementing one. */
void vg_peer_put(vg_peer_table *t, vg_peer *p);

/* Addresses with an entry. */
int vg_peer_table_size(const vg_peer_table *t);

#endif
