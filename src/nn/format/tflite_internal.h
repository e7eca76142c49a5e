#ifndef NN_TFLITE_INTERNAL_H
#define NN_TFLITE_INTERNAL_H

/*
 * Internals shared by tflite.c and tflite_metadata.c: a small FlatBuffers
 * reader. Nothing here trusts the file: every offset, length and index is
 * checked against the buffer before it is used, and every multi-byte read
 * goes through memcpy, so no alignment is assumed. Each function returns a
 * negative value on malformed input and leaves the reason in fb->why, for
 * the caller to put after the name of the thing it was reading.
 */

#include <stddef.h>
#include <stdint.h>

#include "nn/format/tflite.h"

typedef struct nn__fb {
	const uint8_t *p;
	size_t len;
	char why[192];
} nn__fb;

/* A table: its position, its vtable's position and the two sizes the vtable declares. */
typedef struct nn__fb_table {
	size_t pos;
	size_t vt;
	uint16_t vt_len;
	uint16_t inline_len;
} nn__fb_table;

/* A vector: the position of its first element and its length (elements already checked to be in the buffer). */
typedef struct nn__fb_vec {
	size_t pos;
	uint32_t n;
	size_t elem;
} nn__fb_vec;

/* The root table (uoffset at byte 0). Returns 0 or -1. */
int nn__fb_root(nn__fb *b, nn__fb_table *t);

/* The table that starts at pos. Returns 0 or -1. */
int nn__fb_table_at(nn__fb *b, size_t pos, nn__fb_table *t);

/*
 * Scalar fields. Each returns 1 when the field is present, 0 when it is
 * absent (and *out is the schema default), -1 when it is malformed.
 */
int nn__fb_u8(nn__fb *b, const nn__fb_table *t, int id, uint8_t def, uint8_t *out);
int nn__fb_i8(nn__fb *b, const nn__fb_table *t, int id, int8_t def, int8_t *out);
int nn__fb_i32(nn__fb *b, const nn__fb_table *t, int id, int32_t def, int32_t *out);
int nn__fb_u32(nn__fb *b, const nn__fb_table *t, int id, uint32_t def, uint32_t *out);
int nn__fb_u64(nn__fb *b, const nn__fb_table *t, int id, uint64_t def, uint64_t *out);
int nn__fb_f32(nn__fb *b, const nn__fb_table *t, int id, float def, float *out);

/* Offset fields: 1 present, 0 absent, -1 malformed. */
int nn__fb_table_field(nn__fb *b, const nn__fb_table *t, int id, nn__fb_table *out);
int nn__fb_vector(nn__fb *b, const nn__fb_table *t, int id, size_t elem_size, nn__fb_vec *v);
/* A string: *s points into the buffer and is not NUL-terminated; *n is its length. */
int nn__fb_string(nn__fb *b, const nn__fb_table *t, int id, const char **s, size_t *n);

/* Element i of a vector of tables (i < v->n). Returns 0 or -1. */
int nn__fb_vec_table(nn__fb *b, const nn__fb_vec *v, uint32_t i, nn__fb_table *out);

/* Element readers for vectors already checked by nn__fb_vector (i < v->n). */
uint8_t nn__fb_vec_u8(const nn__fb *b, const nn__fb_vec *v, uint32_t i);
int32_t nn__fb_vec_i32(const nn__fb *b, const nn__fb_vec *v, uint32_t i);
int64_t nn__fb_vec_i64(const nn__fb *b, const nn__fb_vec *v, uint32_t i);
float nn__fb_vec_f32(const nn__fb *b, const nn__fb_vec *v, uint32_t i);

/* A NUL-terminated copy of n bytes at s, cut at the first NUL. NULL when out of memory. */
char *nn__fb_strndup(const char *s, size_t n);

/*
 * The data of the Model.metadata entry called name (model is the root
 * table). Returns 1 when found, 0 when absent, -1 when malformed.
 */
int nn__tflite_metadata(nn__fb *b, const nn__fb_table *model, const char *name, const uint8_t **data, size_t *n);

/*
 * Copies name, description, version, author and license from a TFLite
 * metadata flatbuffer (ModelMetadata) into info. A malformed one leaves
 * them NULL. Returns 0 or NN_ERR_NOMEM.
 */
int nn__tflite_meta_info(const uint8_t *data, size_t n, nn_tflite_info *info);

#endif
