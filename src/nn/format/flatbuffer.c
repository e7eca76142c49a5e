/*
 * A FlatBuffer reader for untrusted files (TensorFlow Lite models and their
 * metadata): tables, vectors and strings read in place, every offset
 * checked against the buffer before it is followed, errors in b->why.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/format/tflite_internal.h"

/* FlatBuffers are little-endian; the reads below copy bytes as they are. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the FlatBuffer reader assumes a little-endian host"
#endif

static uint16_t rd_u16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof v);
	return v;
}

static uint32_t rd_u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof v);
	return v;
}

static int32_t rd_i32(const uint8_t *p)
{
	int32_t v;
	memcpy(&v, p, sizeof v);
	return v;
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int fb_err(nn__fb *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b->why, sizeof b->why, fmt, ap);
	va_end(ap);
	return -1;
}

int nn__fb_table_at(nn__fb *b, size_t pos, nn__fb_table *t)
{
	if (pos > b->len || b->len - pos < 4)
		return fb_err(b, "table at offset %zu lies outside the file (%zu bytes)", pos, b->len);
	int64_t vt = (int64_t)pos - (int64_t)rd_i32(b->p + pos);
	if (vt < 0 || (uint64_t)vt > b->len || b->len - (size_t)vt < 4)
		return fb_err(b, "the vtable of the table at offset %zu lies outside the file (at %lld)", pos,
			      (long long)vt);
	t->pos = pos;
	t->vt = (size_t)vt;
	t->vt_len = rd_u16(b->p + t->vt);
	t->inline_len = rd_u16(b->p + t->vt + 2);
	if (t->vt_len < 4 || (t->vt_len & 1) || t->vt_len > b->len - t->vt)
		return fb_err(b, "the vtable at offset %zu declares %u bytes, expected an even size from 4 to %zu",
			      t->vt, t->vt_len, b->len - t->vt);
	if (t->inline_len < 4 || t->inline_len > b->len - pos)
		return fb_err(b, "the table at offset %zu declares %u bytes, expected 4 to %zu", pos, t->inline_len,
			      b->len - pos);
	return 0;
}

int nn__fb_root(nn__fb *b, nn__fb_table *t)
{
	if (b->len < 8)
		return fb_err(b, "the file is %zu bytes, too short for a FlatBuffer", b->len);
	uint32_t root = rd_u32(b->p);
	if (root < 4 || root >= b->len)
		return fb_err(b, "the root offset %u lies outside the file (%zu bytes)", root, b->len);
	return nn__fb_table_at(b, root, t);
}

/* Where field id of t lies, checked to fit `size` bytes inside the table. 1 present, 0 absent, -1 bad. */
static int field_pos(nn__fb *b, const nn__fb_table *t, int id, size_t size, size_t *pos)
{
	size_t slot = 4 + 2 * (size_t)id;
	*pos = 0;
	if (id < 0 || slot + 2 > t->vt_len)
		return 0;
	uint16_t off = rd_u16(b->p + t->vt + slot);
	if (off == 0)
		return 0;
	if (off < 4 || (size_t)off + size > t->inline_len)
		return fb_err(b, "field %d at byte %u of the %u-byte table at offset %zu overruns the table", id, off,
			      t->inline_len, t->pos);
	*pos = t->pos + off;
	return 1;
}

/* Follows the uoffset stored at fpos. */
static int ref_target(nn__fb *b, size_t fpos, size_t *target)
{
	uint32_t u = rd_u32(b->p + fpos);
	*target = 0;
	if (u == 0 || u >= b->len - fpos)
		return fb_err(b, "the offset %u at offset %zu points outside the file (%zu bytes)", u, fpos, b->len);
	*target = fpos + u;
	return 0;
}

#define FB_SCALAR(fn, type, size)                                                    \
	int fn(nn__fb *b, const nn__fb_table *t, int id, type def, type *out)        \
	{                                                                            \
		size_t pos;                                                          \
		int r = field_pos(b, t, id, size, &pos);                             \
		*out = def;                                                          \
		if (r <= 0)                                                          \
			return r;                                                    \
		memcpy(out, b->p + pos, size);                                       \
		return 1;                                                            \
	}

FB_SCALAR(nn__fb_u8, uint8_t, 1)
FB_SCALAR(nn__fb_i8, int8_t, 1)
FB_SCALAR(nn__fb_i32, int32_t, 4)
FB_SCALAR(nn__fb_u32, uint32_t, 4)
FB_SCALAR(nn__fb_u64, uint64_t, 8)
FB_SCALAR(nn__fb_f32, float, 4)

int nn__fb_table_field(nn__fb *b, const nn__fb_table *t, int id, nn__fb_table *out)
{
	size_t pos, target;
	int r = field_pos(b, t, id, 4, &pos);
	if (r <= 0)
		return r;
	if (ref_target(b, pos, &target) < 0 || nn__fb_table_at(b, target, out) < 0)
		return -1;
	return 1;
}

int nn__fb_vector(nn__fb *b, const nn__fb_table *t, int id, size_t elem_size, nn__fb_vec *v)
{
	size_t pos, target;
	memset(v, 0, sizeof *v);
	v->elem = elem_size;
	int r = field_pos(b, t, id, 4, &pos);
	if (r <= 0)
		return r;
	if (ref_target(b, pos, &target) < 0)
		return -1;
	if (b->len - target < 4)
		return fb_err(b, "the vector length at offset %zu lies outside the file (%zu bytes)", target, b->len);
	uint32_t n = rd_u32(b->p + target);
	size_t avail = b->len - target - 4;
	if (elem_size && n > avail / elem_size)
		return fb_err(b, "a vector of %u elements of %zu bytes at offset %zu runs past the end of the file (%zu bytes)",
			      n, elem_size, target, b->len);
	v->pos = target + 4;
	v->n = n;
	return 1;
}

int nn__fb_string(nn__fb *b, const nn__fb_table *t, int id, const char **s, size_t *n)
{
	nn__fb_vec v;
	int r = nn__fb_vector(b, t, id, 1, &v);
	*s = NULL;
	*n = 0;
	if (r <= 0)
		return r;
	*s = (const char *)b->p + v.pos;
	*n = v.n;
	return 1;
}

int nn__fb_vec_table(nn__fb *b, const nn__fb_vec *v, uint32_t i, nn__fb_table *out)
{
	size_t target;
	if (i >= v->n || v->elem != 4)
		return fb_err(b, "element %u of a %u-element vector of tables does not exist", i, v->n);
	if (ref_target(b, v->pos + 4 * (size_t)i, &target) < 0)
		return -1;
	return nn__fb_table_at(b, target, out);
}

uint8_t nn__fb_vec_u8(const nn__fb *b, const nn__fb_vec *v, uint32_t i)
{
	return b->p[v->pos + i];
}

int32_t nn__fb_vec_i32(const nn__fb *b, const nn__fb_vec *v, uint32_t i)
{
	return rd_i32(b->p + v->pos + 4 * (size_t)i);
}

int64_t nn__fb_vec_i64(const nn__fb *b, const nn__fb_vec *v, uint32_t i)
{
	int64_t x;
	memcpy(&x, b->p + v->pos + 8 * (size_t)i, sizeof x);
	return x;
}

float nn__fb_vec_f32(const nn__fb *b, const nn__fb_vec *v, uint32_t i)
{
	float x;
	memcpy(&x, b->p + v->pos + 4 * (size_t)i, sizeof x);
	return x;
}

char *nn__fb_strndup(const char *s, size_t n)
{
	const char *nul = s ? memchr(s, 0, n) : NULL;
	if (nul)
		n = (size_t)(nul - s);
	char *d = malloc(n + 1);
	if (!d)
		return NULL;
	if (n)
		memcpy(d, s, n);
	d[n] = 0;
	return d;
}
