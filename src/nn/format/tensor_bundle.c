#include "nn/format/tensor_bundle.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nn/format/pb.h"
#include "nn/graph.h"

/*
 * LevelDB's table format (doc/table_format.md in google/leveldb), as
 * TensorFlow's lib/io/table writes it:
 *   [data block]* [meta block]* [metaindex block] [index block] [footer]
 * The footer is the last 48 bytes: the metaindex and index BlockHandles
 * (offset and size, each a varint64), zero padding to 40 bytes, and the
 * magic number 0xdb4775248b80fb57 little-endian. Each block is followed by
 * a 5-byte trailer: the compression type (0 none, 1 snappy) and the masked
 * CRC-32C of the block's bytes and that type byte. A block is a run of
 * entries (varint32 shared key bytes, varint32 unshared key bytes, varint32
 * value length, the unshared key bytes, the value), then the restart points
 * (fixed32 offsets of entries stored with shared == 0) and their count
 * (fixed32). The index block maps a key at or past each data block's last
 * key to that block's handle.
 */
#define FOOTER_LEN 48
#define TRAILER_LEN 5
#define TABLE_MAGIC 0xdb4775248b80fb57ull
#define MAX_SHARDS 10000

/* Field numbers of tensorflow/core/protobuf/tensor_bundle.proto. */
enum { HDR_NUM_SHARDS = 1, HDR_ENDIANNESS = 2 };
enum { ENT_DTYPE = 1, ENT_SHAPE = 2, ENT_SHARD_ID = 3, ENT_OFFSET = 4, ENT_SIZE = 5, ENT_CRC32C = 6, ENT_SLICES = 7 };
/* tensor_shape.proto */
enum { SHAPE_DIM = 2, SHAPE_UNKNOWN_RANK = 3, DIM_SIZE = 1 };

typedef struct entry {
	char *key;
	nn_tf_dtype dtype;
	int rank;
	int64_t dims[NN_MAX_RANK];
	int64_t elements;
	int shard;
	uint64_t offset, size;
	uint32_t crc;
	int sliced;
} entry;

struct nn_tf_bundle {
	char *name;
	entry *e;
	int n, cap;
	int n_shards;
	char **shard_paths;        /* files; NULL for a bundle in memory */
	const uint8_t **shard_mem; /* memory */
	uint64_t *shard_len;
	uint8_t *index_owned;
};

/* ---- CRC-32C ---- */

static uint32_t crc_table[256];

static void crc_init(void)
{
	/* Castagnoli's polynomial, bit-reversed. */
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[i] = c;
	}
}

uint32_t nn_crc32c(uint32_t crc, const void *data, size_t len)
{
	if (!crc_table[1])
		crc_init();
	const uint8_t *p = data;
	crc = ~crc;
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ---- helpers ---- */

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* A varint of at most 64 bits from [*p, end): 1, or 0 when it is truncated or too long. */
static int varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t r = 0;
	for (int shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t c = *(*p)++;
		if (shift == 63 && c > 1)
			return 0;
		r |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*v = r;
			return 1;
		}
	}
	return 0;
}

typedef struct table {
	const nn_tf_bundle *b;
	const uint8_t *buf;
	size_t len;
	char *err;
	size_t errlen;
} table;

#define FAIL(t, ...) nn_graph_fail((t)->err, (t)->errlen, NN_ERR_FORMAT, __VA_ARGS__)

/* The bytes of the block at a handle, checked against its trailer. */
static int read_block(table *t, const char *what, uint64_t off, uint64_t size, const uint8_t **out)
{
	uint64_t limit = t->len - FOOTER_LEN;
	if (off > limit || size > limit - off || TRAILER_LEN > limit - off - size)
		return FAIL(t, "%s: the %s block (offset %" PRIu64 ", %" PRIu64 " bytes) runs past the table's %zu bytes",
			    t->b->name, what, off, size, t->len);
	const uint8_t *blk = t->buf + off;
	uint8_t type = blk[size];
	uint32_t want = le32(blk + size + 1);
	uint32_t got = nn_crc32c_mask(nn_crc32c(nn_crc32c(0, blk, size), &type, 1));
	if (got != want)
		return FAIL(t, "%s: the %s block at offset %" PRIu64 " fails its checksum (stored %08x, computed %08x)",
			    t->b->name, what, off, want, got);
	if (type == 1)
		return nn_graph_fail(t->err, t->errlen, NN_ERR_UNSUPPORTED,
				     "%s: the %s block is Snappy-compressed, which vigil does not read (TensorFlow writes "
				     "bundle indexes uncompressed)",
				     t->b->name, what);
	if (type != 0)
		return FAIL(t, "%s: the %s block has compression type %u (expected 0, none)", t->b->name, what, type);
	*out = blk;
	return 0;
}

typedef int (*entry_fn)(table *t, void *ctx, const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len);

/* Calls fn on each entry of a block, rebuilding the prefix-compressed keys. */
static int walk_block(table *t, const char *what, const uint8_t *blk, uint64_t size, entry_fn fn, void *ctx)
{
	if (size < 4)
		return FAIL(t, "%s: the %s block has %" PRIu64 " bytes, too few for its restart count", t->b->name, what,
			    size);
	uint32_t n_restarts = le32(blk + size - 4);
	if (n_restarts == 0 || n_restarts > (size - 4) / 4)
		return FAIL(t, "%s: the %s block's restart count %u does not fit its %" PRIu64 " bytes", t->b->name, what,
			    n_restarts, size);
	uint64_t data_len = size - 4 - 4 * (uint64_t)n_restarts;
	for (uint32_t i = 0; i < n_restarts; i++) {
		uint32_t r = le32(blk + data_len + 4 * (uint64_t)i);
		if (r > data_len || (r == data_len && data_len))
			return FAIL(t, "%s: the %s block's restart point %u (offset %u) is past its entries", t->b->name,
				    what, i, r);
	}
	const uint8_t *p = blk, *end = blk + data_len;
	uint8_t *key = NULL;
	size_t key_len = 0, key_cap = 0;
	int rc = 0;
	while (p < end && rc >= 0) {
		uint64_t shared, unshared, vlen;
		if (!varint(&p, end, &shared) || !varint(&p, end, &unshared) || !varint(&p, end, &vlen)) {
			rc = FAIL(t, "%s: an entry of the %s block has a truncated or overlong length", t->b->name, what);
			break;
		}
		if (shared > key_len || unshared > (uint64_t)(end - p) || vlen > (uint64_t)(end - p) - unshared) {
			rc = FAIL(t,
				  "%s: an entry of the %s block claims %" PRIu64 " shared key bytes (of %zu), %" PRIu64
				  " new ones and a %" PRIu64 "-byte value, past the block's end",
				  t->b->name, what, shared, key_len, unshared, vlen);
			break;
		}
		size_t need = (size_t)(shared + unshared) + 1;
		if (need > key_cap) {
			uint8_t *nk = realloc(key, need);
			if (!nk) {
				rc = nn_graph_fail(t->err, t->errlen, NN_ERR_NOMEM, "%s: out of memory", t->b->name);
				break;
			}
			key = nk;
			key_cap = need;
		}
		memcpy(key + shared, p, (size_t)unshared);
		key_len = (size_t)(shared + unshared);
		key[key_len] = 0;
		p += unshared;
		rc = fn(t, ctx, key, key_len, p, (size_t)vlen);
		p += vlen;
	}
	free(key);
	return rc;
}

/* ---- entries ---- */

typedef struct open_ctx {
	nn_tf_bundle *b;
	int have_header;
} open_ctx;

static int bad_field(table *t, const char *key, const char *what, int rc)
{
	return FAIL(t, "%s: entry \"%s\": %s: %s", t->b->name, key, what,
		    rc < 0 ? nn_pb_strerror(rc) : "a field has the wrong wire type");
}

static int decode_shape(table *t, const char *key, const uint8_t *p, size_t n, entry *e)
{
	nn_pb m = nn_pb_of(p, n);
	nn_pb_field f;
	int rc;
	e->elements = 1;
	while ((rc = nn_pb_next(&m, &f)) > 0) {
		if (f.number == SHAPE_UNKNOWN_RANK && f.u)
			return FAIL(t, "%s: entry \"%s\": the shape's rank is unknown", t->b->name, key);
		if (f.number != SHAPE_DIM)
			continue;
		if (f.wire != NN_PB_LEN)
			return bad_field(t, key, "shape", 0);
		if (e->rank >= NN_MAX_RANK)
			return nn_graph_fail(t->err, t->errlen, NN_ERR_UNSUPPORTED,
					     "%s: entry \"%s\": more than %d dimensions", t->b->name, key, NN_MAX_RANK);
		int64_t size = 0;
		nn_pb d = nn_pb_sub(&f);
		nn_pb_field g;
		while ((rc = nn_pb_next(&d, &g)) > 0)
			if (g.number == DIM_SIZE) {
				if (g.wire != NN_PB_VARINT)
					return bad_field(t, key, "shape dimension", 0);
				size = nn_pb_int64(&g);
			}
		if (rc < 0)
			return bad_field(t, key, "shape dimension", rc);
		if (size < 0 || (size && e->elements > INT64_MAX / size))
			return FAIL(t, "%s: entry \"%s\": dimension %d is %" PRId64 " (expected a known size, and %s)",
				    t->b->name, key, e->rank, size, size < 0 ? "not -1" : "a product that fits 64 bits");
		e->dims[e->rank++] = size;
		e->elements *= size;
	}
	return rc < 0 ? bad_field(t, key, "shape", rc) : 0;
}

static int add_entry(table *t, void *vctx, const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len)
{
	open_ctx *ctx = vctx;
	nn_tf_bundle *b = ctx->b;
	if (memchr(key, 0, key_len))
		return FAIL(t, "%s: a key holds a NUL byte", b->name);
	const char *k = (const char *)key;
	/* The comparator is bytewise: every key must sort after the one before it. */
	if (b->n > 0 || ctx->have_header) {
		const char *prev = b->n ? b->e[b->n - 1].key : "";
		if (strcmp(prev, k) >= 0)
			return FAIL(t, "%s: key \"%s\" is out of order (after \"%s\")", b->name, k, prev);
	}
	nn_pb m = nn_pb_of(val, val_len);
	nn_pb_field f;
	int rc;
	if (key_len == 0) {
		if (ctx->have_header)
			return FAIL(t, "%s: two header entries", b->name);
		ctx->have_header = 1;
		int64_t shards = 0;
		while ((rc = nn_pb_next(&m, &f)) > 0) {
			if (f.number == HDR_NUM_SHARDS && f.wire == NN_PB_VARINT)
				shards = nn_pb_int64(&f);
			else if (f.number == HDR_ENDIANNESS && f.wire == NN_PB_VARINT && f.u != 0)
				return nn_graph_fail(t->err, t->errlen, NN_ERR_UNSUPPORTED,
						     "%s: the bundle is big-endian (vigil reads little-endian bundles)",
						     b->name);
		}
		if (rc < 0)
			return FAIL(t, "%s: the header entry: %s", b->name, nn_pb_strerror(rc));
		if (shards < 1 || shards > MAX_SHARDS)
			return FAIL(t, "%s: the header says %" PRId64 " shards (expected 1 to %d)", b->name, shards,
				    MAX_SHARDS);
		b->n_shards = (int)shards;
		return 0;
	}
	if (!ctx->have_header)
		return FAIL(t, "%s: the first entry is \"%s\", not the header (the empty key)", b->name, k);
	if (b->n == b->cap) {
		int cap = b->cap ? b->cap * 2 : 16;
		entry *ne = realloc(b->e, (size_t)cap * sizeof *ne);
		if (!ne)
			return nn_graph_fail(t->err, t->errlen, NN_ERR_NOMEM, "%s: out of memory", b->name);
		b->e = ne;
		b->cap = cap;
	}
	entry *e = &b->e[b->n];
	memset(e, 0, sizeof *e);
	if (!(e->key = malloc(key_len + 1)))
		return nn_graph_fail(t->err, t->errlen, NN_ERR_NOMEM, "%s: out of memory", b->name);
	memcpy(e->key, key, key_len);
	e->key[key_len] = 0;
	b->n++;
	int64_t shard = 0, offset = 0, size = 0;
	int have_crc = 0;
	e->elements = 1;
	while ((rc = nn_pb_next(&m, &f)) > 0) {
		int want = f.number == ENT_SHAPE || f.number == ENT_SLICES ? NN_PB_LEN
			   : f.number == ENT_CRC32C			  ? NN_PB_I32
									  : NN_PB_VARINT;
		if (f.number > ENT_SLICES)
			continue;
		if (f.wire != want)
			return bad_field(t, k, "BundleEntryProto", 0);
		switch (f.number) {
		case ENT_DTYPE: e->dtype = (nn_tf_dtype)f.u; break;
		case ENT_SHAPE:
			e->rank = 0;
			if ((rc = decode_shape(t, k, f.data, f.len, e)) < 0)
				return rc;
			break;
		case ENT_SHARD_ID: shard = nn_pb_int64(&f); break;
		case ENT_OFFSET: offset = nn_pb_int64(&f); break;
		case ENT_SIZE: size = nn_pb_int64(&f); break;
		case ENT_CRC32C:
			e->crc = (uint32_t)f.u;
			have_crc = 1;
			break;
		case ENT_SLICES: e->sliced = 1; break;
		}
	}
	if (rc < 0)
		return bad_field(t, k, "BundleEntryProto", rc);
	if (shard < 0 || shard >= b->n_shards)
		return FAIL(t, "%s: entry \"%s\": shard %" PRId64 " (the bundle has %d)", b->name, k, shard, b->n_shards);
	e->shard = (int)shard;
	if (e->sliced)
		return 0; /* refused when read; its own fields say nothing of a shard */
	if (offset < 0 || size < 0 || (uint64_t)offset > b->shard_len[shard] ||
	    (uint64_t)size > b->shard_len[shard] - (uint64_t)offset)
		return FAIL(t,
			    "%s: entry \"%s\": bytes %" PRId64 "..%" PRId64 " are past the end of shard %" PRId64
			    " (%" PRIu64 " bytes)",
			    b->name, k, offset, offset + (size > 0 ? size : 0), shard, b->shard_len[shard]);
	e->offset = (uint64_t)offset;
	e->size = (uint64_t)size;
	if (!have_crc && size > 0)
		return FAIL(t, "%s: entry \"%s\" has no checksum", b->name, k);
	size_t es = nn_tf_dtype_size(e->dtype);
	if (es && (e->elements > INT64_MAX / (int64_t)es || e->elements * (int64_t)es != size))
		return FAIL(t, "%s: entry \"%s\": %" PRId64 " %s elements do not fill its %" PRId64 " bytes", b->name,
			    k, e->elements, nn_tf_dtype_name(e->dtype), size);
	return 0;
}

static int add_block(table *t, void *ctx, const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len)
{
	(void)key;
	(void)key_len;
	const uint8_t *p = val, *end = val + val_len;
	uint64_t off, size;
	if (!varint(&p, end, &off) || !varint(&p, end, &size))
		return FAIL(t, "%s: an index entry's block handle is truncated", t->b->name);
	const uint8_t *blk;
	int rc = read_block(t, "data", off, size, &blk);
	return rc < 0 ? rc : walk_block(t, "data", blk, size, add_entry, ctx);
}

static int parse_index(nn_tf_bundle *b, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	table t = { b, buf, len, err, errlen };
	if (len < FOOTER_LEN)
		return FAIL(&t, "%s: %zu bytes, too short for a table footer (%d bytes)", b->name, len, FOOTER_LEN);
	if (le64(buf + len - 8) != TABLE_MAGIC)
		return FAIL(&t, "%s: not a LevelDB table (no magic number 0xdb4775248b80fb57 at its end)", b->name);
	const uint8_t *p = buf + len - FOOTER_LEN, *end = buf + len - 8;
	uint64_t meta_off, meta_size, index_off, index_size;
	if (!varint(&p, end, &meta_off) || !varint(&p, end, &meta_size) || !varint(&p, end, &index_off) ||
	    !varint(&p, end, &index_size))
		return FAIL(&t, "%s: the footer's block handles are malformed", b->name);
	const uint8_t *meta, *index;
	int rc;
	if ((rc = read_block(&t, "metaindex", meta_off, meta_size, &meta)) < 0 ||
	    (rc = read_block(&t, "index", index_off, index_size, &index)) < 0)
		return rc;
	open_ctx ctx = { b, 0 };
	if ((rc = walk_block(&t, "index", index, index_size, add_block, &ctx)) < 0)
		return rc;
	if (!ctx.have_header)
		return FAIL(&t, "%s: no header entry (the empty key)", b->name);
	return 0;
}

/* ---- opening ---- */

static nn_tf_bundle *bundle_new(const char *name)
{
	nn_tf_bundle *b = calloc(1, sizeof *b);
	if (b && !(b->name = strdup(name))) {
		free(b);
		return NULL;
	}
	return b;
}

void nn_tf_bundle_free(nn_tf_bundle *b)
{
	if (!b)
		return;
	for (int i = 0; i < b->n; i++)
		free(b->e[i].key);
	free(b->e);
	if (b->shard_paths)
		for (int i = 0; i < b->n_shards; i++)
			free(b->shard_paths[i]);
	free(b->shard_paths);
	free(b->shard_mem);
	free(b->shard_len);
	free(b->index_owned);
	free(b->name);
	free(b);
}

/*
 * The header (which says how many shards there are) and the entries (which
 * are checked against their shard's size) share one table, so the shards
 * are sized before the table is read: the header is found first, with a
 * trial parse whose entry checks see shards of unlimited size.
 */
static int count_shards(nn_tf_bundle *b, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	b->n_shards = MAX_SHARDS;
	b->shard_len = malloc(MAX_SHARDS * sizeof *b->shard_len);
	if (!b->shard_len)
		return nn_graph_fail(err, errlen, NN_ERR_NOMEM, "%s: out of memory", b->name);
	for (int i = 0; i < MAX_SHARDS; i++)
		b->shard_len[i] = UINT64_MAX;
	int rc = parse_index(b, buf, len, err, errlen);
	int shards = b->n_shards;
	for (int i = 0; i < b->n; i++)
		free(b->e[i].key);
	b->n = 0;
	free(b->shard_len);
	b->shard_len = NULL;
	b->n_shards = shards;
	return rc;
}

int nn_tf_bundle_open_buffers(nn_tf_bundle **out, const void *index, size_t index_len, const void *const *shards,
			      const size_t *shard_lens, int n_shards, const char *name, char *err, size_t errlen)
{
	*out = NULL;
	nn_tf_bundle *b = bundle_new(name ? name : "(bundle)");
	if (!b)
		return nn_graph_fail(err, errlen, NN_ERR_NOMEM, "out of memory");
	int rc = count_shards(b, index, index_len, err, errlen);
	if (rc >= 0 && b->n_shards > n_shards)
		rc = nn_graph_fail(err, errlen, NN_ERR_FORMAT, "%s: the bundle has %d shards but %d were given", b->name,
				   b->n_shards, n_shards);
	if (rc >= 0) {
		b->shard_mem = malloc((size_t)b->n_shards * sizeof *b->shard_mem);
		b->shard_len = malloc((size_t)b->n_shards * sizeof *b->shard_len);
		if (!b->shard_mem || !b->shard_len)
			rc = nn_graph_fail(err, errlen, NN_ERR_NOMEM, "%s: out of memory", b->name);
	}
	for (int i = 0; rc >= 0 && i < b->n_shards; i++) {
		b->shard_mem[i] = shards[i];
		b->shard_len[i] = shard_lens[i];
	}
	if (rc >= 0)
		rc = parse_index(b, index, index_len, err, errlen);
	if (rc < 0) {
		nn_tf_bundle_free(b);
		return rc;
	}
	*out = b;
	return 0;
}

static int read_file(const char *path, uint8_t **out, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return nn_graph_fail(err, errlen, NN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (1 << 30)) {
		fclose(f);
		return nn_graph_fail(err, errlen, NN_ERR_IO, "%s: not a regular file of at most 1 GiB", path);
	}
	*len = (size_t)st.st_size;
	*out = malloc(*len ? *len : 1);
	if (!*out) {
		fclose(f);
		return nn_graph_fail(err, errlen, NN_ERR_NOMEM, "%s: out of memory", path);
	}
	size_t got = fread(*out, 1, *len, f);
	fclose(f);
	if (got != *len) {
		free(*out);
		*out = NULL;
		return nn_graph_fail(err, errlen, NN_ERR_IO, "%s: read %zu of %zu bytes", path, got, *len);
	}
	return 0;
}

int nn_tf_bundle_open(nn_tf_bundle **out, const char *prefix, char *err, size_t errlen)
{
	*out = NULL;
	size_t plen = strlen(prefix);
	char *name = malloc(plen + 32);
	if (!name)
		return nn_graph_fail(err, errlen, NN_ERR_NOMEM, "%s: out of memory", prefix);
	snprintf(name, plen + 32, "%s.index", prefix);
	nn_tf_bundle *b = bundle_new(name);
	free(name);
	if (!b)
		return nn_graph_fail(err, errlen, NN_ERR_NOMEM, "%s: out of memory", prefix);
	size_t len = 0;
	int rc = read_file(b->name, &b->index_owned, &len, err, errlen);
	if (rc >= 0)
		rc = count_shards(b, b->index_owned, len, err, errlen);
	if (rc >= 0) {
		b->shard_paths = calloc((size_t)b->n_shards, sizeof *b->shard_paths);
		b->shard_len = calloc((size_t)b->n_shards, sizeof *b->shard_len);
		if (!b->shard_paths || !b->shard_len)
			rc = nn_graph_fail(err, errlen, NN_ERR_NOMEM, "%s: out of memory", b->name);
	}
	for (int i = 0; rc >= 0 && i < b->n_shards; i++) {
		if (!(b->shard_paths[i] = malloc(plen + 32))) {
			rc = nn_graph_fail(err, errlen, NN_ERR_NOMEM, "%s: out of memory", b->name);
			break;
		}
		snprintf(b->shard_paths[i], plen + 32, "%s.data-%05d-of-%05d", prefix, i, b->n_shards);
		struct stat st;
		if (stat(b->shard_paths[i], &st) < 0 || !S_ISREG(st.st_mode))
			rc = nn_graph_fail(err, errlen, NN_ERR_IO, "%s: shard %d of %d, %s, is missing: %s", b->name, i,
					   b->n_shards, b->shard_paths[i], errno ? strerror(errno) : "not a file");
		else
			b->shard_len[i] = (uint64_t)st.st_size;
	}
	if (rc >= 0)
		rc = parse_index(b, b->index_owned, len, err, errlen);
	free(b->index_owned);
	b->index_owned = NULL;
	if (rc < 0) {
		nn_tf_bundle_free(b);
		return rc;
	}
	*out = b;
	return 0;
}

/* ---- lookups ---- */

int nn_tf_bundle_count(const nn_tf_bundle *b)
{
	return b->n;
}

const char *nn_tf_bundle_key(const nn_tf_bundle *b, int i)
{
	return i >= 0 && i < b->n ? b->e[i].key : NULL;
}

static const entry *find(const nn_tf_bundle *b, const char *key)
{
	int lo = 0, hi = b->n - 1;
	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		int c = strcmp(b->e[mid].key, key);
		if (!c)
			return &b->e[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

int nn_tf_bundle_has(const nn_tf_bundle *b, const char *key)
{
	return find(b, key) != NULL;
}

int nn_tf_bundle_read(const nn_tf_bundle *b, const char *key, nn_tf_graph *g, nn_tf_tensor *out, char *err,
		      size_t errlen)
{
	memset(out, 0, sizeof *out);
	const entry *e = find(b, key);
	if (!e)
		return nn_graph_fail(err, errlen, NN_ERR_FORMAT, "%s: no tensor \"%s\"", b->name, key);
	if (e->sliced)
		return nn_graph_fail(err, errlen, NN_ERR_UNSUPPORTED,
				     "%s: \"%s\" is stored in slices (a partitioned variable), which vigil does not read",
				     b->name, key);
	if (!nn_tf_dtype_size(e->dtype))
		return nn_graph_fail(err, errlen, NN_ERR_UNSUPPORTED, "%s: \"%s\" has dtype %s (%d), which vigil does not read",
				     b->name, key, nn_tf_dtype_name(e->dtype), (int)e->dtype);
	uint8_t *data = nn_tf_alloc(g, e->size ? (size_t)e->size : 1);
	if (!data)
		return nn_graph_fail(err, errlen, NN_ERR_NOMEM, "%s: out of memory for \"%s\"", b->name, key);
	if (b->shard_mem) {
		memcpy(data, b->shard_mem[e->shard] + e->offset, (size_t)e->size);
	} else {
		const char *path = b->shard_paths[e->shard];
		FILE *f = fopen(path, "rb");
		if (!f)
			return nn_graph_fail(err, errlen, NN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
		int ok = fseeko(f, (off_t)e->offset, SEEK_SET) == 0 && fread(data, 1, (size_t)e->size, f) == e->size;
		fclose(f);
		if (!ok)
			return nn_graph_fail(err, errlen, NN_ERR_IO,
					     "%s: cannot read \"%s\" (%" PRIu64 " bytes at offset %" PRIu64 "): the file is "
					     "shorter than when the bundle was opened",
					     path, key, e->size, e->offset);
	}
	uint32_t got = nn_crc32c_mask(nn_crc32c(0, data, (size_t)e->size));
	if (got != e->crc)
		return nn_graph_fail(err, errlen, NN_ERR_FORMAT,
				     "%s: \"%s\" fails its checksum (%" PRIu64 " bytes at offset %" PRIu64
				     " of shard %d: stored %08x, computed %08x)",
				     b->shard_paths ? b->shard_paths[e->shard] : b->name, key, e->size, e->offset, e->shard,
				     e->crc, got);
	out->dtype = e->dtype;
	out->rank = e->rank;
	memcpy(out->dims, e->dims, sizeof out->dims);
	out->elements = e->elements;
	out->data = data;
	return 0;
}
