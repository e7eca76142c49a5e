#ifndef PB_BUILDER_H
#define PB_BUILDER_H

/*
 * A tiny protobuf wire-format writer for tests: messages are built field
 * by field into a growing buffer, embedded messages are built on their own
 * and then added as a length-delimited field. Out of memory aborts.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pbb {
	uint8_t *p;
	size_t len, cap;
} pbb;

static inline void pbb_raw(pbb *b, const void *d, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *p = realloc(b->p, cap);
		if (!p)
			abort();
		b->p = p;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, d, n);
	b->len += n;
}

static inline void pbb_varint(pbb *b, uint64_t v)
{
	uint8_t c[10];
	int n = 0;
	do {
		c[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			c[n] |= 0x80;
		n++;
	} while (v);
	pbb_raw(b, c, (size_t)n);
}

static inline void pbb_tag(pbb *b, uint32_t number, int wire)
{
	pbb_varint(b, (uint64_t)number << 3 | (uint64_t)wire);
}

/* A varint field (int32, int64, bool, enum); negative values take ten bytes, as protobuf writes them. */
static inline void pbb_int(pbb *b, uint32_t number, int64_t v)
{
	pbb_tag(b, number, 0);
	pbb_varint(b, (uint64_t)v);
}

static inline void pbb_fixed32(pbb *b, uint32_t number, uint32_t v)
{
	uint8_t c[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	pbb_tag(b, number, 5);
	pbb_raw(b, c, 4);
}

static inline void pbb_float(pbb *b, uint32_t number, float f)
{
	uint32_t v;
	memcpy(&v, &f, 4);
	pbb_fixed32(b, number, v);
}

static inline void pbb_fixed64(pbb *b, uint32_t number, uint64_t v)
{
	pbb_tag(b, number, 1);
	for (int i = 0; i < 8; i++) {
		uint8_t c = (uint8_t)(v >> (8 * i));
		pbb_raw(b, &c, 1);
	}
}

static inline void pbb_double(pbb *b, uint32_t number, double d)
{
	uint64_t v;
	memcpy(&v, &d, 8);
	pbb_fixed64(b, number, v);
}

static inline void pbb_bytes(pbb *b, uint32_t number, const void *d, size_t n)
{
	pbb_tag(b, number, 2);
	pbb_varint(b, n);
	pbb_raw(b, d, n);
}

static inline void pbb_str(pbb *b, uint32_t number, const char *s)
{
	pbb_bytes(b, number, s, strlen(s));
}

/* Adds sub as an embedded message and frees it. */
static inline void pbb_msg(pbb *b, uint32_t number, pbb *sub)
{
	pbb_bytes(b, number, sub->p, sub->len);
	free(sub->p);
	memset(sub, 0, sizeof *sub);
}

/* Packed repeated fields. */
static inline void pbb_packed_varints(pbb *b, uint32_t number, const int64_t *v, int n)
{
	pbb s = { 0 };
	for (int i = 0; i < n; i++)
		pbb_varint(&s, (uint64_t)v[i]);
	pbb_msg(b, number, &s);
}

static inline void pbb_packed_floats(pbb *b, uint32_t number, const float *v, int n)
{
	pbb s = { 0 };
	for (int i = 0; i < n; i++) {
		uint32_t u;
		memcpy(&u, &v[i], 4);
		uint8_t c[4] = { (uint8_t)u, (uint8_t)(u >> 8), (uint8_t)(u >> 16), (uint8_t)(u >> 24) };
		pbb_raw(&s, c, 4);
	}
	pbb_msg(b, number, &s);
}

static inline void pbb_packed_doubles(pbb *b, uint32_t number, const double *v, int n)
{
	pbb s = { 0 };
	for (int i = 0; i < n; i++) {
		uint64_t u;
		memcpy(&u, &v[i], 8);
		for (int k = 0; k < 8; k++) {
			uint8_t c = (uint8_t)(u >> (8 * k));
			pbb_raw(&s, &c, 1);
		}
	}
	pbb_msg(b, number, &s);
}

static inline void pbb_free(pbb *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

#endif
