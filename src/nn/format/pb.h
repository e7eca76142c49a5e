#ifndef NN_PB_H
#define NN_PB_H

/*
 * A protocol-buffers wire-format reader for the formats that are protobuf
 * messages (TensorFlow GraphDef, SavedModel, tensor-bundle entries, ONNX).
 *
 * It decodes fields, nothing more: the schema lives in each format reader,
 * as field numbers taken from the format's .proto files. We read the wire
 * format ourselves rather than generate code with protobuf-c because the
 * readers need only a few dozen fields, Debian ships none of the .proto
 * files, and a reader over a byte range checks every length against that
 * range by construction (the generated code would allocate a tree of every
 * field up front, unknown sizes included, before we could check anything).
 *
 * Nothing is allocated and nothing is copied: strings, bytes and embedded
 * messages are views into the caller's buffer.
 */

#include <stddef.h>
#include <stdint.h>

/* Wire types. Groups (3, 4) are obsolete and refused. */
enum { NN_PB_VARINT = 0, NN_PB_I64 = 1, NN_PB_LEN = 2, NN_PB_I32 = 5 };

/* A message: the bytes still to read. */
typedef struct nn_pb {
	const uint8_t *p, *end;
} nn_pb;

typedef struct nn_pb_field {
	uint32_t number;
	int wire;
	uint64_t u;             /* VARINT, I64 and I32: the value's bits */
	const uint8_t *data;    /* LEN: the bytes */
	size_t len;
} nn_pb_field;

/* Errors of nn_pb_next and the packed readers. */
enum {
	NN_PB_EOF = 0,           /* nn_pb_next: no more fields */
	NN_PB_TRUNCATED = -1,    /* a field or length runs past the end of its message */
	NN_PB_BAD_VARINT = -2,   /* a varint longer than 10 bytes, or past 64 bits */
	NN_PB_BAD_WIRE = -3,     /* a group, or a wire type that does not exist */
	NN_PB_BAD_NUMBER = -4,   /* field number 0 */
};

static inline nn_pb nn_pb_of(const void *data, size_t len)
{
	/* An empty message may have no bytes at all (NULL): no arithmetic on a null pointer then. */
	nn_pb m = { (const uint8_t *)data, data ? (const uint8_t *)data + len : (const uint8_t *)data };
	return m;
}

/* The embedded message a LEN field holds. */
static inline nn_pb nn_pb_sub(const nn_pb_field *f)
{
	return nn_pb_of(f->data, f->len);
}

/* Reads the next field: 1 with *f set, NN_PB_EOF at the end, or a negative NN_PB_* error. */
int nn_pb_next(nn_pb *m, nn_pb_field *f);

/* Reads one varint at *p (never past end) and advances *p: 0, or NN_PB_TRUNCATED / NN_PB_BAD_VARINT. */
int nn_pb_read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v);

/* What a negative NN_PB_* code means, for messages. */
const char *nn_pb_strerror(int code);

/* A varint as a signed int64 (two's complement, as int32/int64 fields are written). */
static inline int64_t nn_pb_int64(const nn_pb_field *f)
{
	return (int64_t)f->u;
}

/* sint32/sint64 (zigzag). */
static inline int64_t nn_pb_sint64(const nn_pb_field *f)
{
	return (int64_t)(f->u >> 1) ^ -(int64_t)(f->u & 1);
}

float nn_pb_float(const nn_pb_field *f);   /* an I32 field's bits as a float */
double nn_pb_double(const nn_pb_field *f); /* an I64 field's bits as a double */

/*
 * Repeated scalar fields come packed (one LEN field) or one by one. These
 * count and read the packed form; a reader handles the other form by
 * taking each field as it comes. Each returns the number of values, or a
 * negative NN_PB_* code when the bytes do not divide into whole values.
 * With out NULL they only count; otherwise at most cap values are stored.
 */
int64_t nn_pb_packed_varints(const nn_pb_field *f, int64_t *out, int64_t cap);
int64_t nn_pb_packed_fixed32(const nn_pb_field *f, uint32_t *out, int64_t cap);
int64_t nn_pb_packed_fixed64(const nn_pb_field *f, uint64_t *out, int64_t cap);

/* Whether a LEN field's bytes equal the NUL-terminated s. */
int nn_pb_eq(const nn_pb_field *f, const char *s);

#endif
