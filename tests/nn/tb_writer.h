/*
 * A small writer of TensorFlow tensor bundles for the tests: a LevelDB
 * table (prefix-compressed keys, a restart point every two entries, block
 * trailers with masked CRC-32C, the 48-byte footer) of BundleEntryProto
 * values. Shared by the bundle and SavedModel tests.
 */
#ifndef TB_WRITER_H
#define TB_WRITER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/format/tensor_bundle.h"

typedef struct tb_buf {
	uint8_t *p;
	size_t n, cap;
} tb_buf;

static inline void tb_put(tb_buf *b, const void *d, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
	}
	if (n)
		memcpy(b->p + b->n, d, n);
	b->n += n;
}

static inline void tb_varint(tb_buf *b, uint64_t v)
{
	do {
		uint8_t c = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			c |= 0x80;
		tb_put(b, &c, 1);
	} while (v);
}

static inline void tb_u32(tb_buf *b, uint32_t v)
{
	uint8_t c[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	tb_put(b, c, 4);
}

/* A protobuf field: a varint, a fixed32 or bytes. */
static inline void tb_pb_varint(tb_buf *b, int field, uint64_t v)
{
	tb_varint(b, (uint64_t)field << 3);
	tb_varint(b, v);
}
static inline void tb_pb_fixed32(tb_buf *b, int field, uint32_t v)
{
	tb_varint(b, (uint64_t)field << 3 | 5);
	tb_u32(b, v);
}
static inline void tb_pb_bytes(tb_buf *b, int field, const void *d, size_t n)
{
	tb_varint(b, (uint64_t)field << 3 | 2);
	tb_varint(b, n);
	tb_put(b, d, n);
}

/* A BundleEntryProto. */
static inline tb_buf tb_entry(int dtype, int rank, const int64_t *dims, int shard, uint64_t offset, uint64_t size,
			      uint32_t masked_crc)
{
	tb_buf e = { 0 }, shape = { 0 };
	tb_pb_varint(&e, 1, (uint64_t)dtype);
	for (int i = 0; i < rank; i++) {
		tb_buf d = { 0 };
		tb_pb_varint(&d, 1, (uint64_t)dims[i]);
		tb_pb_bytes(&shape, 2, d.p, d.n);
		free(d.p);
	}
	tb_pb_bytes(&e, 2, shape.p, shape.n);
	free(shape.p);
	if (shard)
		tb_pb_varint(&e, 3, (uint64_t)shard);
	if (offset)
		tb_pb_varint(&e, 4, offset);
	tb_pb_varint(&e, 5, size);
	tb_pb_fixed32(&e, 6, masked_crc);
	return e;
}

typedef struct tb_kv {
	const char *key;
	const uint8_t *val;
	size_t len;
} tb_kv;

/* Appends one block of entries (keys in order) with its trailer; returns its handle. */
static inline void tb_block(tb_buf *file, const tb_kv *kv, int n, int compression, uint64_t *off, uint64_t *size)
{
	tb_buf blk = { 0 };
	uint32_t restarts[64];
	int nr = 0;
	const char *prev = "";
	for (int i = 0; i < n; i++) {
		size_t shared = 0;
		if (i % 2 == 0) {
			restarts[nr++] = (uint32_t)blk.n;
		} else {
			while (prev[shared] && prev[shared] == kv[i].key[shared])
				shared++;
		}
		size_t klen = strlen(kv[i].key);
		tb_varint(&blk, shared);
		tb_varint(&blk, klen - shared);
		tb_varint(&blk, kv[i].len);
		tb_put(&blk, kv[i].key + shared, klen - shared);
		tb_put(&blk, kv[i].val, kv[i].len);
		prev = kv[i].key;
	}
	if (!nr)
		restarts[nr++] = 0;
	for (int i = 0; i < nr; i++)
		tb_u32(&blk, restarts[i]);
	tb_u32(&blk, (uint32_t)nr);
	*off = file->n;
	*size = blk.n;
	uint8_t type = (uint8_t)compression;
	uint32_t crc = nn_crc32c_mask(nn_crc32c(nn_crc32c(0, blk.p, blk.n), &type, 1));
	tb_put(file, blk.p, blk.n);
	tb_put(file, &type, 1);
	tb_u32(file, crc);
	free(blk.p);
}

/* A whole table: the entries split into data blocks of per_block entries, an empty metaindex, the index, the footer. */
static inline tb_buf tb_table(const tb_kv *kv, int n, int per_block, int compression)
{
	tb_buf file = { 0 }, handles[32];
	tb_kv index[32];
	int nb = 0;
	for (int i = 0; i < n; i += per_block, nb++) {
		int m = n - i < per_block ? n - i : per_block;
		uint64_t off, size;
		tb_block(&file, kv + i, m, compression, &off, &size);
		handles[nb] = (tb_buf){ 0 };
		tb_varint(&handles[nb], off);
		tb_varint(&handles[nb], size);
		/* The block's last key is a valid separator. */
		index[nb] = (tb_kv){ kv[i + m - 1].key, handles[nb].p, handles[nb].n };
	}
	uint64_t moff, msize, ioff, isize;
	tb_block(&file, NULL, 0, 0, &moff, &msize);
	tb_block(&file, index, nb, 0, &ioff, &isize);
	for (int i = 0; i < nb; i++)
		free(handles[i].p);
	tb_buf footer = { 0 };
	tb_varint(&footer, moff);
	tb_varint(&footer, msize);
	tb_varint(&footer, ioff);
	tb_varint(&footer, isize);
	while (footer.n < 40)
		tb_put(&footer, "", 1);
	tb_u32(&footer, 0x8b80fb57u);
	tb_u32(&footer, 0xdb477524u);
	tb_put(&file, footer.p, footer.n);
	free(footer.p);
	return file;
}

/* The header entry's value: num_shards, little-endian. */
static inline tb_buf tb_header(int shards)
{
	tb_buf h = { 0 };
	tb_pb_varint(&h, 1, (uint64_t)shards);
	return h;
}

#endif
