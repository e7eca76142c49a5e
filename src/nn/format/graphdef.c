#include "nn/format/graphdef.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nn/format/pb.h"
#include "nn/graph.h"

/* Field numbers, from tensorflow/core/framework/graph.proto (GraphDef). */
enum { GRAPHDEF_NODE = 1, GRAPHDEF_LIBRARY = 2, GRAPHDEF_VERSIONS = 4 };
/* versions.proto (VersionDef). */
enum { VERSIONS_PRODUCER = 1, VERSIONS_MIN_CONSUMER = 2 };
/* node_def.proto (NodeDef). */
enum { NODE_NAME = 1, NODE_OP = 2, NODE_INPUT = 3, NODE_DEVICE = 4, NODE_ATTR = 5 };
/* A map<string, V> entry, as protobuf encodes maps. */
enum { ENTRY_KEY = 1, ENTRY_VALUE = 2 };
/* attr_value.proto (AttrValue; its oneof value). */
enum {
	ATTR_LIST = 1, ATTR_S = 2, ATTR_I = 3, ATTR_F = 4, ATTR_B = 5, ATTR_TYPE = 6, ATTR_SHAPE = 7,
	ATTR_TENSOR = 8, ATTR_PLACEHOLDER = 9, ATTR_FUNC = 10,
};
/* attr_value.proto (AttrValue.ListValue). */
enum { LIST_S = 2, LIST_I = 3, LIST_F = 4, LIST_B = 5, LIST_TYPE = 6, LIST_SHAPE = 7, LIST_TENSOR = 8, LIST_FUNC = 9 };
/* attr_value.proto (NameAttrList). */
enum { NAMEATTR_NAME = 1, NAMEATTR_ATTR = 2 };
/* tensor_shape.proto (TensorShapeProto and its Dim). */
enum { SHAPE_DIM = 2, SHAPE_UNKNOWN_RANK = 3, DIM_SIZE = 1 };
/* tensor.proto (TensorProto). */
enum {
	TENSOR_DTYPE = 1, TENSOR_SHAPE = 2, TENSOR_CONTENT = 4, TENSOR_FLOAT_VAL = 5, TENSOR_DOUBLE_VAL = 6,
	TENSOR_INT_VAL = 7, TENSOR_STRING_VAL = 8, TENSOR_SCOMPLEX_VAL = 9, TENSOR_INT64_VAL = 10,
	TENSOR_BOOL_VAL = 11, TENSOR_DCOMPLEX_VAL = 12, TENSOR_HALF_VAL = 13, TENSOR_UINT32_VAL = 16,
	TENSOR_UINT64_VAL = 17,
};
/* types.proto: the DataType numbers there are (DT_INVALID 0 excluded; 101 and up are reference types). */
#define DTYPE_LAST 32

/* Why a repeated scalar field could not be read: a wire type that is neither the scalar's nor packed. */
#define REP_BAD_WIRE (-100)

static int fail(nn_tf_reader *r, int code, const char *what, const char *fmt, ...)
{
	char msg[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return nn_graph_fail(r->err, r->errlen, code, "%s: %s%s%s%s%s", r->source ? r->source : "(graph)",
			     r->scope ? r->scope : "", r->scope ? ": " : "", what ? what : "", what ? ": " : "", msg);
}

static int fail_pb(nn_tf_reader *r, const char *what, int rc, const char *message)
{
	return fail(r, NN_ERR_FORMAT, what, "%s (in a %s)", nn_pb_strerror(rc), message);
}

static int nomem(nn_tf_reader *r, const char *what)
{
	return fail(r, NN_ERR_NOMEM, what, "out of memory");
}

static const char *wire_name(int wire)
{
	switch (wire) {
	case NN_PB_VARINT: return "varint";
	case NN_PB_I64: return "fixed64";
	case NN_PB_LEN: return "length-delimited";
	case NN_PB_I32: return "fixed32";
	default: return "unknown";
	}
}

static int check_wire(nn_tf_reader *r, const char *what, const nn_pb_field *f, int wire, const char *field)
{
	if (f->wire == wire)
		return 0;
	return fail(r, NN_ERR_FORMAT, what, "field %s (%u) is %s, expected %s", field, f->number, wire_name(f->wire),
		    wire_name(wire));
}

/*
 * Arena storage for n elements of size bytes, counted against the reader's
 * budget (so that no message makes the reader allocate much more than its
 * size, whatever it repeats or broadcasts), or NULL with the message written.
 */
static void *alloc_n(nn_tf_reader *r, const char *what, int64_t n, size_t size)
{
	size_t total = r->max_total_bytes ? r->max_total_bytes : NN_TF_MAX_TOTAL_BYTES;
	if (n < 0 || (n && (uint64_t)n > (SIZE_MAX - 64) / size)) {
		fail(r, NN_ERR_NOMEM, what, "%lld elements of %zu bytes overflow a size", (long long)n, size);
		return NULL;
	}
	/* What the arena takes: each allocation rounded up to its alignment. */
	size_t bytes = ((size_t)n * size + 15) & ~(size_t)15;
	if (r->total_bytes > total || bytes > total - r->total_bytes) {
		fail(r, NN_ERR_NOMEM, what, "the graph takes more than the %zu bytes a reader may allocate", total);
		return NULL;
	}
	void *p = nn_tf_alloc(r->g, bytes ? bytes : 1);
	if (!p) {
		nomem(r, what);
		return NULL;
	}
	r->total_bytes += bytes;
	return p;
}

/* A NUL-terminated copy of len bytes, or NULL with the message written. */
static char *copy_bytes(nn_tf_reader *r, const char *what, const void *data, size_t len)
{
	char *s = alloc_n(r, what, (int64_t)len + 1, 1);
	if (s && len)
		memcpy(s, data, len);
	return s;
}

/* A string field copied into the arena; names (nonempty set) must be non-empty and hold no NUL. */
static int copy_str(nn_tf_reader *r, const char *what, const nn_pb_field *f, const char *field, int name,
		    const char **out)
{
	int rc = check_wire(r, what, f, NN_PB_LEN, field);
	if (rc < 0)
		return rc;
	if (name && (f->len == 0 || memchr(f->data, 0, f->len)))
		return fail(r, NN_ERR_FORMAT, what, "%s is %s", field, f->len ? "a string with a NUL byte in it" : "empty");
	char *s = copy_bytes(r, what, f->data, f->len);
	if (!s)
		return NN_ERR_NOMEM;
	*out = s;
	return 0;
}

/* ---- repeated scalar fields, packed or one by one ---- */

typedef struct rep {
	nn_pb m;                /* the rest of the message */
	uint32_t number;
	int wire;               /* NN_PB_VARINT, NN_PB_I32 or NN_PB_I64 */
	const uint8_t *p, *end; /* the rest of the packed run being read */
} rep;

static rep rep_of(const uint8_t *data, size_t len, uint32_t number, int wire)
{
	rep it = { nn_pb_of(data, len), number, wire, NULL, NULL };
	return it;
}

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The next value: 1 with *v set, 0 at the end, or a negative NN_PB_* code or REP_BAD_WIRE. */
static int rep_next(rep *it, uint64_t *v)
{
	for (;;) {
		if (it->p < it->end) {
			if (it->wire == NN_PB_VARINT)
				return nn_pb_read_varint(&it->p, it->end, v) < 0 ? NN_PB_BAD_VARINT : 1;
			int width = it->wire == NN_PB_I32 ? 4 : 8;
			if (it->end - it->p < width)
				return NN_PB_TRUNCATED;
			*v = le(it->p, width);
			it->p += width;
			return 1;
		}
		nn_pb_field f;
		int rc = nn_pb_next(&it->m, &f);
		if (rc <= 0)
			return rc;
		if (f.number != it->number)
			continue;
		if (f.wire == it->wire) {
			*v = f.u;
			return 1;
		}
		if (f.wire != NN_PB_LEN)
			return REP_BAD_WIRE;
		it->p = f.data;
		it->end = f.data + f.len;
	}
}

static int rep_fail(nn_tf_reader *r, const char *what, int rc, const char *field, int wire)
{
	if (rc == REP_BAD_WIRE)
		return fail(r, NN_ERR_FORMAT, what, "field %s is neither %s nor packed", field, wire_name(wire));
	return fail(r, NN_ERR_FORMAT, what, "%s: %s", field, nn_pb_strerror(rc));
}

/* How many values a repeated scalar field holds, up to limit (past it: an error). */
static int rep_count(nn_tf_reader *r, const char *what, const uint8_t *data, size_t len, uint32_t number, int wire,
		     const char *field, int64_t limit, int64_t *n)
{
	rep it = rep_of(data, len, number, wire);
	uint64_t v;
	int rc;
	*n = 0;
	while ((rc = rep_next(&it, &v)) > 0)
		if (++*n > limit)
			return fail(r, NN_ERR_FORMAT, what, "%s holds more than %lld values", field, (long long)limit);
	return rc < 0 ? rep_fail(r, what, rc, field, wire) : 0;
}

/* ---- shapes ---- */

static int read_shape(nn_tf_reader *r, const uint8_t *data, size_t len, const char *what, int *rank, int64_t *dims)
{
	nn_pb m = nn_pb_of(data, len);
	nn_pb_field f;
	int rc, n = 0, unknown = 0;
	while ((rc = nn_pb_next(&m, &f)) > 0) {
		if (f.number == SHAPE_UNKNOWN_RANK) {
			if ((rc = check_wire(r, what, &f, NN_PB_VARINT, "unknown_rank")) < 0)
				return rc;
			unknown = f.u != 0;
		} else if (f.number == SHAPE_DIM) {
			if ((rc = check_wire(r, what, &f, NN_PB_LEN, "dim")) < 0)
				return rc;
			if (n == NN_MAX_RANK)
				return fail(r, NN_ERR_UNSUPPORTED, what, "a shape of more than %d dimensions (vigil's limit)",
					    NN_MAX_RANK);
			int64_t size = 0;
			nn_pb d = nn_pb_sub(&f);
			nn_pb_field g;
			while ((rc = nn_pb_next(&d, &g)) > 0) {
				if (g.number != DIM_SIZE)
					continue;
				if ((rc = check_wire(r, what, &g, NN_PB_VARINT, "dim.size")) < 0)
					return rc;
				size = nn_pb_int64(&g);
			}
			if (rc < 0)
				return fail_pb(r, what, rc, "TensorShapeProto.Dim");
			if (size < -1)
				return fail(r, NN_ERR_FORMAT, what, "dimension %d is %lld (expected -1 for unknown, or >= 0)", n,
					    (long long)size);
			dims[n++] = size;
		}
	}
	if (rc < 0)
		return fail_pb(r, what, rc, "TensorShapeProto");
	if (unknown && n)
		return fail(r, NN_ERR_FORMAT, what, "a shape with unknown_rank set and %d dimensions", n);
	*rank = unknown ? -1 : n;
	return 0;
}

/* A shape with its dims in an arena array of its rank. */
static int read_shape_copy(nn_tf_reader *r, const uint8_t *data, size_t len, const char *what, int *rank,
			   int64_t **dims)
{
	int64_t d[NN_MAX_RANK];
	int rc = read_shape(r, data, len, what, rank, d);
	if (rc < 0)
		return rc;
	if (!(*dims = alloc_n(r, what, *rank > 0 ? *rank : 1, sizeof **dims)))
		return NN_ERR_NOMEM;
	if (*rank > 0)
		memcpy(*dims, d, (size_t)*rank * sizeof *d);
	return 0;
}

int nn_tf_read_shape(nn_tf_reader *r, const void *data, size_t len, const char *what, int *rank, int64_t *dims)
{
	return read_shape(r, data, len, what, rank, dims);
}

/* ---- tensors ---- */

/* The value field TensorFlow keeps a dtype's values in, or 0 for a dtype the reader holds none of. */
static uint32_t value_field(nn_tf_dtype dt)
{
	switch (dt) {
	case NN_TF_FLOAT: return TENSOR_FLOAT_VAL;
	case NN_TF_DOUBLE: return TENSOR_DOUBLE_VAL;
	case NN_TF_INT32:
	case NN_TF_INT16:
	case NN_TF_INT8:
	case NN_TF_UINT8:
	case NN_TF_UINT16:
	case NN_TF_QINT8:
	case NN_TF_QUINT8:
	case NN_TF_QINT16:
	case NN_TF_QUINT16:
	case NN_TF_QINT32:
		return TENSOR_INT_VAL;
	case NN_TF_STRING: return TENSOR_STRING_VAL;
	case NN_TF_INT64: return TENSOR_INT64_VAL;
	case NN_TF_BOOL: return TENSOR_BOOL_VAL;
	case NN_TF_HALF:
	case NN_TF_BFLOAT16:
		return TENSOR_HALF_VAL;
	case NN_TF_UINT32: return TENSOR_UINT32_VAL;
	case NN_TF_UINT64: return TENSOR_UINT64_VAL;
	default: return 0;
	}
}

static const struct value_kind {
	uint32_t number;
	int wire;
	const char *name;
} value_kinds[] = {
	{ TENSOR_FLOAT_VAL, NN_PB_I32, "float_val" },
	{ TENSOR_DOUBLE_VAL, NN_PB_I64, "double_val" },
	{ TENSOR_INT_VAL, NN_PB_VARINT, "int_val" },
	{ TENSOR_STRING_VAL, NN_PB_LEN, "string_val" },
	{ TENSOR_SCOMPLEX_VAL, NN_PB_I32, "scomplex_val" },
	{ TENSOR_INT64_VAL, NN_PB_VARINT, "int64_val" },
	{ TENSOR_BOOL_VAL, NN_PB_VARINT, "bool_val" },
	{ TENSOR_DCOMPLEX_VAL, NN_PB_I64, "dcomplex_val" },
	{ TENSOR_HALF_VAL, NN_PB_VARINT, "half_val" },
	{ TENSOR_UINT32_VAL, NN_PB_VARINT, "uint32_val" },
	{ TENSOR_UINT64_VAL, NN_PB_VARINT, "uint64_val" },
};
#define N_VALUE_KINDS (int)(sizeof value_kinds / sizeof value_kinds[0])

static void put_le(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

/* Takes the tensor's bytes: a view when the reader borrows and they are aligned, else an arena copy. */
static int take_content(nn_tf_reader *r, const char *what, const nn_pb_field *content, size_t esize,
			nn_tf_tensor *t)
{
	if (r->borrow && (uintptr_t)content->data % esize == 0) {
		t->data = content->data;
		return 0;
	}
	void *p = alloc_n(r, what, (int64_t)content->len, 1);
	if (!p)
		return NN_ERR_NOMEM;
	if (content->len)
		memcpy(p, content->data, content->len);
	t->data = p;
	return 0;
}

static int read_tensor(nn_tf_reader *r, const uint8_t *data, size_t len, const char *what, nn_tf_tensor *t)
{
	memset(t, 0, sizeof *t);
	nn_pb m = nn_pb_of(data, len);
	nn_pb_field f, content = { 0 };
	int rc, have_shape = 0;
	uint64_t dtype = 0;
	int64_t counts[N_VALUE_KINDS] = { 0 };
	while ((rc = nn_pb_next(&m, &f)) > 0) {
		if (f.number == TENSOR_DTYPE) {
			if ((rc = check_wire(r, what, &f, NN_PB_VARINT, "dtype")) < 0)
				return rc;
			dtype = f.u;
		} else if (f.number == TENSOR_SHAPE) {
			if ((rc = check_wire(r, what, &f, NN_PB_LEN, "tensor_shape")) < 0)
				return rc;
			if ((rc = read_shape(r, f.data, f.len, what, &t->rank, t->dims)) < 0)
				return rc;
			have_shape = 1;
		} else if (f.number == TENSOR_CONTENT) {
			if ((rc = check_wire(r, what, &f, NN_PB_LEN, "tensor_content")) < 0)
				return rc;
			content = f;
		}
	}
	if (rc < 0)
		return fail_pb(r, what, rc, "TensorProto");
	if (dtype == 0 || dtype > DTYPE_LAST)
		return fail(r, NN_ERR_FORMAT, what, "dtype %llu is not a TensorFlow DataType", (unsigned long long)dtype);
	t->dtype = (nn_tf_dtype)dtype;
	if (!have_shape)
		t->rank = 0;
	if (t->rank < 0)
		return fail(r, NN_ERR_FORMAT, what, "a constant tensor of unknown rank");
	/* Element counts stay below 2^62 so that any byte size computed from them cannot overflow. */
	int64_t elements = 1;
	for (int i = 0; i < t->rank; i++) {
		if (t->dims[i] < 0)
			return fail(r, NN_ERR_FORMAT, what, "a constant tensor with unknown dimension %d", i);
		if (t->dims[i] && elements > ((int64_t)1 << 62) / t->dims[i])
			return fail(r, NN_ERR_FORMAT, what, "a constant tensor of more than 2^62 elements");
		elements *= t->dims[i];
	}
	t->elements = elements;

	for (int k = 0; k < N_VALUE_KINDS; k++) {
		const struct value_kind *vk = &value_kinds[k];
		if (vk->wire == NN_PB_LEN) {
			nn_pb s = nn_pb_of(data, len);
			while (nn_pb_next(&s, &f) > 0)
				if (f.number == vk->number) {
					if ((rc = check_wire(r, what, &f, NN_PB_LEN, vk->name)) < 0)
						return rc;
					counts[k]++;
				}
		} else if ((rc = rep_count(r, what, data, len, vk->number, vk->wire, vk->name, INT64_MAX - 1,
					   &counts[k])) < 0) {
			return rc;
		}
	}
	uint32_t want = value_field(t->dtype);
	int have = -1;
	for (int k = 0; k < N_VALUE_KINDS; k++)
		if (value_kinds[k].number == want)
			have = k;
	for (int k = 0; k < N_VALUE_KINDS && want; k++)
		if (k != have && counts[k])
			return fail(r, NN_ERR_FORMAT, what, "a %s tensor with values in %s (its values belong in %s)",
				    nn_tf_dtype_name(t->dtype), value_kinds[k].name, value_kinds[have].name);
	size_t esize = t->dtype == NN_TF_STRING ? sizeof(nn_tf_string) : nn_tf_dtype_size(t->dtype);
	/* Values the reader does not hold: the builder names the node if it needs them. */
	if (!want || esize == 0 || (t->dtype == NN_TF_STRING && content.len))
		return 0;

	size_t limit = r->max_tensor_bytes ? r->max_tensor_bytes : NN_TF_MAX_TENSOR_BYTES;
	if ((uint64_t)elements > limit / esize)
		return fail(r, NN_ERR_FORMAT, what, "a %s tensor of %lld elements, more than the %zu bytes a tensor may have",
			    nn_tf_dtype_name(t->dtype), (long long)elements, limit);
	size_t bytes = (size_t)elements * esize;

	if (content.len) {
		if (content.len != bytes)
			return fail(r, NN_ERR_FORMAT, what,
				    "tensor_content has %zu bytes, expected %zu (%lld %s elements of %zu bytes)", content.len,
				    bytes, (long long)elements, nn_tf_dtype_name(t->dtype), esize);
		return take_content(r, what, &content, esize, t);
	}
	int64_t n = counts[have];
	if (n > elements)
		return fail(r, NN_ERR_FORMAT, what, "%lld values in %s for a tensor of %lld elements", (long long)n,
			    value_kinds[have].name, (long long)elements);
	uint8_t *out = alloc_n(r, what, (int64_t)bytes, 1);
	if (!out)
		return NN_ERR_NOMEM;
	t->data = out;
	if (t->dtype == NN_TF_STRING) {
		nn_tf_string *s = (nn_tf_string *)out;
		/* Given no values, every string is empty (and still points somewhere). */
		if (n == 0) {
			for (int64_t i = 0; i < elements; i++)
				s[i].s = "";
			return 0;
		}
		nn_pb sm = nn_pb_of(data, len);
		int64_t i = 0;
		while (nn_pb_next(&sm, &f) > 0 && i < n) {
			if (f.number != TENSOR_STRING_VAL)
				continue;
			char *c = copy_bytes(r, what, f.data, f.len);
			if (!c)
				return NN_ERR_NOMEM;
			s[i].s = c;
			s[i++].len = f.len;
		}
		for (; i < elements; i++)
			s[i] = s[n - 1];
		return 0;
	}
	if (n == 0)
		return 0; /* zeros, as TensorFlow fills a tensor given no values */
	rep it = rep_of(data, len, value_kinds[have].number, value_kinds[have].wire);
	uint64_t v;
	for (int64_t i = 0; i < n && rep_next(&it, &v) > 0; i++) {
		if (t->dtype == NN_TF_BOOL)
			v = v != 0;
		put_le(out + (size_t)i * esize, v, esize);
	}
	for (int64_t i = n; i < elements; i++)
		memcpy(out + (size_t)i * esize, out + (size_t)(n - 1) * esize, esize);
	return 0;
}

int nn_tf_read_tensor(nn_tf_reader *r, const void *data, size_t len, const char *what, nn_tf_tensor *out)
{
	return read_tensor(r, data, len, what, out);
}

/* ---- attrs ---- */

static int read_attr_value(nn_tf_reader *r, const uint8_t *data, size_t len, const char *what, nn_tf_attr *a,
			   int depth);
static int read_attr_entry(nn_tf_reader *r, const uint8_t *data, size_t len, const char *what, nn_tf_attr *a,
			   int depth);

/* Reads a NameAttrList's name, and with attrs set its attrs (depth deep). */
static int read_name_attr_list(nn_tf_reader *r, const uint8_t *data, size_t len, const char *what, nn_tf_attr *a,
			       int depth, int attrs)
{
	nn_pb m = nn_pb_of(data, len);
	nn_pb_field f;
	int rc, n = 0;
	a->s = "";
	a->s_len = 0;
	while ((rc = nn_pb_next(&m, &f)) > 0) {
		if (f.number == NAMEATTR_NAME) {
			if ((rc = copy_str(r, what, &f, "func.name", 0, &a->s)) < 0)
				return rc;
			a->s_len = f.len;
		} else if (f.number == NAMEATTR_ATTR) {
			if ((rc = check_wire(r, what, &f, NN_PB_LEN, "func.attr")) < 0)
				return rc;
			if (++n > NN_TF_MAX_ITEMS)
				return fail(r, NN_ERR_FORMAT, what, "more than %d attrs", NN_TF_MAX_ITEMS);
		}
	}
	if (rc < 0)
		return fail_pb(r, what, rc, "NameAttrList");
	if (!attrs || !n)
		return 0;
	nn_tf_attr *list = alloc_n(r, what, n, sizeof *list);
	if (!list)
		return NN_ERR_NOMEM;
	m = nn_pb_of(data, len);
	int k = 0;
	while (nn_pb_next(&m, &f) > 0 && k < n)
		if (f.number == NAMEATTR_ATTR && (rc = read_attr_entry(r, f.data, f.len, what, &list[k++], depth + 1)) < 0)
			return rc;
	a->func_attrs = list;
	a->n_func_attrs = k;
	return 0;
}

static const struct list_kind {
	uint32_t number;
	int wire;
	nn_tf_attr_kind kind;
	const char *name;
} list_kinds[] = {
	{ LIST_S, NN_PB_LEN, NN_TF_ATTR_STRING, "list.s" },
	{ LIST_I, NN_PB_VARINT, NN_TF_ATTR_INT, "list.i" },
	{ LIST_F, NN_PB_I32, NN_TF_ATTR_FLOAT, "list.f" },
	{ LIST_B, NN_PB_VARINT, NN_TF_ATTR_BOOL, "list.b" },
	{ LIST_TYPE, NN_PB_VARINT, NN_TF_ATTR_TYPE, "list.type" },
	{ LIST_SHAPE, NN_PB_LEN, NN_TF_ATTR_SHAPE, "list.shape" },
	{ LIST_TENSOR, NN_PB_LEN, NN_TF_ATTR_TENSOR, "list.tensor" },
	{ LIST_FUNC, NN_PB_LEN, NN_TF_ATTR_FUNC, "list.func" },
};

static int check_type(nn_tf_reader *r, const char *what, uint64_t v)
{
	return v > INT_MAX ? fail(r, NN_ERR_FORMAT, what, "type %llu is not a TensorFlow DataType", (unsigned long long)v)
			   : 0;
}

static int read_list(nn_tf_reader *r, const uint8_t *data, size_t len, const char *what, nn_tf_attr *a)
{
	a->kind = NN_TF_ATTR_LIST;
	a->list_kind = NN_TF_ATTR_INT;
	a->n = 0;
	const struct list_kind *lk = NULL;
	int64_t n = 0;
	int rc;
	for (size_t k = 0; k < sizeof list_kinds / sizeof list_kinds[0]; k++) {
		int64_t c = 0;
		if (list_kinds[k].wire == NN_PB_LEN) {
			nn_pb m = nn_pb_of(data, len);
			nn_pb_field f;
			while ((rc = nn_pb_next(&m, &f)) > 0) {
				if (f.number != list_kinds[k].number)
					continue;
				if ((rc = check_wire(r, what, &f, NN_PB_LEN, list_kinds[k].name)) < 0)
					return rc;
				if (++c > NN_TF_MAX_ITEMS)
					return fail(r, NN_ERR_FORMAT, what, "%s holds more than %d values", list_kinds[k].name,
						    NN_TF_MAX_ITEMS);
			}
			if (rc < 0)
				return fail_pb(r, what, rc, "AttrValue.ListValue");
		} else if ((rc = rep_count(r, what, data, len, list_kinds[k].number, list_kinds[k].wire,
					   list_kinds[k].name, NN_TF_MAX_ITEMS, &c)) < 0) {
			return rc;
		}
		if (!c)
			continue;
		if (lk)
			return fail(r, NN_ERR_FORMAT, what, "a list with both %s and %s values", lk->name, list_kinds[k].name);
		lk = &list_kinds[k];
		n = c;
	}
	if (!lk)
		return 0;
	a->list_kind = lk->kind;
	a->n = (int)n;
	if (lk->wire != NN_PB_LEN) {
		int64_t *ints = NULL;
		double *floats = NULL;
		nn_tf_dtype *types = NULL;
		if (lk->kind == NN_TF_ATTR_FLOAT)
			a->floats = floats = alloc_n(r, what, n, sizeof *floats);
		else if (lk->kind == NN_TF_ATTR_TYPE)
			a->types = types = alloc_n(r, what, n, sizeof *types);
		else
			a->ints = ints = alloc_n(r, what, n, sizeof *ints);
		if (!floats && !types && !ints)
			return NN_ERR_NOMEM;
		rep it = rep_of(data, len, lk->number, lk->wire);
		uint64_t v;
		for (int64_t i = 0; i < n && rep_next(&it, &v) > 0; i++) {
			if (floats) {
				nn_pb_field bits = { .u = v };
				floats[i] = nn_pb_float(&bits);
			} else if (types) {
				if ((rc = check_type(r, what, v)) < 0)
					return rc;
				types[i] = (nn_tf_dtype)v;
			} else {
				ints[i] = lk->kind == NN_TF_ATTR_BOOL ? v != 0 : (int64_t)v;
			}
		}
		return 0;
	}

	const char **strings = NULL;
	size_t *lens = NULL;
	int *ranks = NULL;
	int64_t **dims = NULL;
	nn_tf_tensor *tensors = NULL;
	if (lk->kind == NN_TF_ATTR_STRING || lk->kind == NN_TF_ATTR_FUNC) {
		a->strings = strings = alloc_n(r, what, n, sizeof *strings);
		a->string_lens = lens = alloc_n(r, what, n, sizeof *lens);
		if (!strings || !lens)
			return NN_ERR_NOMEM;
	} else if (lk->kind == NN_TF_ATTR_SHAPE) {
		a->ranks = ranks = alloc_n(r, what, n, sizeof *ranks);
		dims = alloc_n(r, what, n, sizeof *dims);
		a->shape_dims = (const int64_t *const *)dims;
		if (!ranks || !dims)
			return NN_ERR_NOMEM;
	} else {
		a->tensors = tensors = alloc_n(r, what, n, sizeof *tensors);
		if (!tensors)
			return NN_ERR_NOMEM;
	}
	nn_pb m = nn_pb_of(data, len);
	nn_pb_field f;
	for (int64_t i = 0; i < n && nn_pb_next(&m, &f) > 0;) {
		if (f.number != lk->number)
			continue;
		if (lk->kind == NN_TF_ATTR_STRING) {
			if ((rc = copy_str(r, what, &f, lk->name, 0, &strings[i])) < 0)
				return rc;
			lens[i] = f.len;
		} else if (lk->kind == NN_TF_ATTR_FUNC) {
			nn_tf_attr fn = { 0 };
			if ((rc = read_name_attr_list(r, f.data, f.len, what, &fn, 0, 0)) < 0)
				return rc;
			strings[i] = fn.s;
			lens[i] = fn.s_len;
		} else if (lk->kind == NN_TF_ATTR_SHAPE) {
			if ((rc = read_shape_copy(r, f.data, f.len, what, &ranks[i], &dims[i])) < 0)
				return rc;
		} else if ((rc = read_tensor(r, f.data, f.len, what, &tensors[i])) < 0) {
			return rc;
		}
		i++;
	}
	return 0;
}

static int read_attr_value(nn_tf_reader *r, const uint8_t *data, size_t len, const char *what, nn_tf_attr *a,
			   int depth)
{
	if (depth > NN_TF_MAX_DEPTH)
		return fail(r, NN_ERR_FORMAT, what, "attrs nested more than %d deep", NN_TF_MAX_DEPTH);
	const char *name = a->name;
	memset(a, 0, sizeof *a);
	a->name = name;
	/* An AttrValue with no value reads as an empty list. */
	a->kind = NN_TF_ATTR_LIST;
	a->list_kind = NN_TF_ATTR_INT;
	nn_pb m = nn_pb_of(data, len);
	nn_pb_field f;
	int rc;
	while ((rc = nn_pb_next(&m, &f)) > 0) {
		/* A oneof: the last value on the wire wins, as protobuf has it. */
		int64_t *dims;
		nn_tf_tensor *t;
		switch (f.number) {
		case ATTR_LIST:
			if ((rc = check_wire(r, what, &f, NN_PB_LEN, "list")) < 0 ||
			    (rc = read_list(r, f.data, f.len, what, a)) < 0)
				return rc;
			break;
		case ATTR_S:
		case ATTR_PLACEHOLDER:
			a->kind = f.number == ATTR_S ? NN_TF_ATTR_STRING : NN_TF_ATTR_PLACEHOLDER;
			if ((rc = copy_str(r, what, &f, f.number == ATTR_S ? "s" : "placeholder", 0, &a->s)) < 0)
				return rc;
			a->s_len = f.len;
			break;
		case ATTR_I:
			if ((rc = check_wire(r, what, &f, NN_PB_VARINT, "i")) < 0)
				return rc;
			a->kind = NN_TF_ATTR_INT;
			a->i = nn_pb_int64(&f);
			break;
		case ATTR_F:
			if ((rc = check_wire(r, what, &f, NN_PB_I32, "f")) < 0)
				return rc;
			a->kind = NN_TF_ATTR_FLOAT;
			a->f = nn_pb_float(&f);
			break;
		case ATTR_B:
			if ((rc = check_wire(r, what, &f, NN_PB_VARINT, "b")) < 0)
				return rc;
			a->kind = NN_TF_ATTR_BOOL;
			a->b = f.u != 0;
			break;
		case ATTR_TYPE:
			if ((rc = check_wire(r, what, &f, NN_PB_VARINT, "type")) < 0 || (rc = check_type(r, what, f.u)) < 0)
				return rc;
			a->kind = NN_TF_ATTR_TYPE;
			a->type = (nn_tf_dtype)f.u;
			break;
		case ATTR_SHAPE:
			if ((rc = check_wire(r, what, &f, NN_PB_LEN, "shape")) < 0)
				return rc;
			if ((rc = read_shape_copy(r, f.data, f.len, what, &a->rank, &dims)) < 0)
				return rc;
			a->kind = NN_TF_ATTR_SHAPE;
			a->dims = dims;
			break;
		case ATTR_TENSOR:
			if ((rc = check_wire(r, what, &f, NN_PB_LEN, "tensor")) < 0)
				return rc;
			if (!(t = alloc_n(r, what, 1, sizeof *t)))
				return NN_ERR_NOMEM;
			if ((rc = read_tensor(r, f.data, f.len, what, t)) < 0)
				return rc;
			a->kind = NN_TF_ATTR_TENSOR;
			a->tensor = t;
			break;
		case ATTR_FUNC:
			if ((rc = check_wire(r, what, &f, NN_PB_LEN, "func")) < 0 ||
			    (rc = read_name_attr_list(r, f.data, f.len, what, a, depth, 1)) < 0)
				return rc;
			a->kind = NN_TF_ATTR_FUNC;
			break;
		default:
			break;
		}
	}
	return rc < 0 ? fail_pb(r, what, rc, "AttrValue") : 0;
}

static int read_attr_entry(nn_tf_reader *r, const uint8_t *data, size_t len, const char *what, nn_tf_attr *a,
			   int depth)
{
	nn_pb m = nn_pb_of(data, len);
	nn_pb_field f, value = { 0 };
	int rc;
	a->name = NULL;
	while ((rc = nn_pb_next(&m, &f)) > 0) {
		if (f.number == ENTRY_KEY) {
			if ((rc = copy_str(r, what, &f, "an attr's name", 1, &a->name)) < 0)
				return rc;
		} else if (f.number == ENTRY_VALUE) {
			if ((rc = check_wire(r, what, &f, NN_PB_LEN, "attr value")) < 0)
				return rc;
			value = f;
		}
	}
	if (rc < 0)
		return fail_pb(r, what, rc, "map<string, AttrValue> entry");
	if (!a->name)
		return fail(r, NN_ERR_FORMAT, what, "an attr with no name");
	char w[512];
	snprintf(w, sizeof w, "%s%sattr '%.120s'", what ? what : "", what ? " " : "", a->name);
	return read_attr_value(r, value.data, value.len, w, a, depth);
}

int nn_tf_read_attr(nn_tf_reader *r, const void *data, size_t len, const char *what, nn_tf_attr *out)
{
	return read_attr_value(r, data, len, what, out, 0);
}

int nn_tf_read_attr_entry(nn_tf_reader *r, const void *data, size_t len, const char *what, nn_tf_attr *out)
{
	return read_attr_entry(r, data, len, what, out, 0);
}

/* ---- nodes and graphs ---- */

typedef struct named {
	const char *name;
	int index;
} named;

static int by_name_then_index(const void *a, const void *b)
{
	const named *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* The attrs are a map: of two entries with one name the later wins, as protobuf has it. Keeps the order otherwise. */
static int dedupe_attrs(nn_tf_reader *r, const char *what, nn_tf_attr *attrs, int *n)
{
	named *v = malloc((size_t)*n * sizeof *v);
	if (!v)
		return nomem(r, what);
	for (int i = 0; i < *n; i++)
		v[i] = (named){ attrs[i].name, i };
	qsort(v, (size_t)*n, sizeof *v, by_name_then_index);
	int dropped = 0;
	for (int i = 0; i + 1 < *n; i++) {
		if (!strcmp(v[i].name, v[i + 1].name)) {
			attrs[v[i].index].name = NULL;
			dropped++;
		}
	}
	free(v);
	if (!dropped)
		return 0;
	int k = 0;
	for (int i = 0; i < *n; i++)
		if (attrs[i].name)
			attrs[k++] = attrs[i];
	*n = k;
	return 0;
}

/* index >= 0 names a node without a name by its place in the graph. */
static int read_node(nn_tf_reader *r, const uint8_t *data, size_t len, int index, nn_tf_node *out)
{
	memset(out, 0, sizeof *out);
	char what[192];
	if (index >= 0)
		snprintf(what, sizeof what, "node %d", index);
	else
		snprintf(what, sizeof what, "a node");
	/* The name first, so that every message about the node names it, wherever it is on the wire. */
	nn_pb m = nn_pb_of(data, len);
	nn_pb_field f;
	int rc;
	int64_t n_inputs = 0, n_attrs = 0;
	while ((rc = nn_pb_next(&m, &f)) > 0) {
		if (f.number == NODE_NAME && f.wire == NN_PB_LEN)
			snprintf(what, sizeof what, "node '%.*s'", f.len > 120 ? 120 : (int)f.len, (const char *)f.data);
		else if (f.number == NODE_INPUT)
			n_inputs++;
		else if (f.number == NODE_ATTR)
			n_attrs++;
	}
	if (rc < 0)
		return fail_pb(r, what, rc, "NodeDef");
	if (n_inputs > NN_TF_MAX_ITEMS || n_attrs > NN_TF_MAX_ITEMS)
		return fail(r, NN_ERR_FORMAT, what, "more than %d inputs or attrs", NN_TF_MAX_ITEMS);
	const char **inputs = alloc_n(r, what, n_inputs, sizeof *inputs);
	nn_tf_attr *attrs = alloc_n(r, what, n_attrs, sizeof *attrs);
	if (!inputs || !attrs)
		return NN_ERR_NOMEM;
	m = nn_pb_of(data, len);
	while (nn_pb_next(&m, &f) > 0) {
		switch (f.number) {
		case NODE_NAME:
			rc = copy_str(r, what, &f, "name", 1, &out->name);
			break;
		case NODE_OP:
			rc = copy_str(r, what, &f, "op", 1, &out->op);
			break;
		case NODE_INPUT:
			rc = copy_str(r, what, &f, "an input", 1, &inputs[out->n_inputs]);
			out->n_inputs++;
			break;
		case NODE_DEVICE:
			rc = check_wire(r, what, &f, NN_PB_LEN, "device");
			break;
		case NODE_ATTR: {
			if ((rc = check_wire(r, what, &f, NN_PB_LEN, "attr")) < 0)
				break;
			if ((rc = read_attr_entry(r, f.data, f.len, what, &attrs[out->n_attrs], 0)) < 0)
				break;
			out->n_attrs++;
			break;
		}
		default:
			break;
		}
		if (rc < 0)
			return rc;
	}
	if (out->n_attrs > 1 && (rc = dedupe_attrs(r, what, attrs, &out->n_attrs)) < 0)
		return rc;
	if (!out->name)
		return fail(r, NN_ERR_FORMAT, what, "a node with no name");
	if (!out->op)
		return fail(r, NN_ERR_FORMAT, what, "no op");
	out->inputs = inputs;
	out->attrs = attrs;
	return 0;
}

int nn_tf_read_node(nn_tf_reader *r, const void *data, size_t len, nn_tf_node *out)
{
	return read_node(r, data, len, -1, out);
}

static int by_name(const void *a, const void *b)
{
	return strcmp((*(const nn_tf_node *const *)a)->name, (*(const nn_tf_node *const *)b)->name);
}

int nn_graphdef_read(nn_tf_reader *r, const void *data, size_t len, nn_graphdef_info *info)
{
	nn_graphdef_info local;
	if (!info)
		info = &local;
	memset(info, 0, sizeof *info);
	nn_pb m = nn_pb_of(data, len);
	nn_pb_field f;
	int rc;
	int64_t n = 0;
	while ((rc = nn_pb_next(&m, &f)) > 0) {
		if (f.number == GRAPHDEF_NODE) {
			if ((rc = check_wire(r, "GraphDef", &f, NN_PB_LEN, "node")) < 0)
				return rc;
			if (++n > NN_TF_MAX_NODES)
				return fail(r, NN_ERR_FORMAT, "GraphDef", "more than %d nodes", NN_TF_MAX_NODES);
		} else if (f.number == GRAPHDEF_LIBRARY) {
			if ((rc = check_wire(r, "GraphDef", &f, NN_PB_LEN, "library")) < 0)
				return rc;
			info->library = f.data;
			info->library_len = f.len;
		} else if (f.number == GRAPHDEF_VERSIONS) {
			if ((rc = check_wire(r, "GraphDef", &f, NN_PB_LEN, "versions")) < 0)
				return rc;
			nn_pb v = nn_pb_sub(&f);
			nn_pb_field g;
			while ((rc = nn_pb_next(&v, &g)) > 0) {
				if (g.wire == NN_PB_VARINT && g.number == VERSIONS_PRODUCER)
					info->producer = (int)nn_pb_int64(&g);
				else if (g.wire == NN_PB_VARINT && g.number == VERSIONS_MIN_CONSUMER)
					info->min_consumer = (int)nn_pb_int64(&g);
			}
			if (rc < 0)
				return fail_pb(r, "GraphDef versions", rc, "VersionDef");
		}
	}
	if (rc < 0)
		return fail_pb(r, "GraphDef", rc, "GraphDef");
	nn_tf_node *nodes = alloc_n(r, "GraphDef", n, sizeof *nodes);
	if (!nodes)
		return NN_ERR_NOMEM;
	m = nn_pb_of(data, len);
	int k = 0;
	while (k < n && nn_pb_next(&m, &f) > 0) {
		if (f.number != GRAPHDEF_NODE)
			continue;
		if ((rc = read_node(r, f.data, f.len, k, &nodes[k])) < 0)
			return rc;
		k++;
	}
	/* Inputs name nodes, so two nodes of one name would make the graph ambiguous. */
	const nn_tf_node **sorted = malloc((size_t)(n ? n : 1) * sizeof *sorted);
	if (!sorted)
		return nomem(r, "GraphDef");
	for (int i = 0; i < n; i++)
		sorted[i] = &nodes[i];
	qsort(sorted, (size_t)n, sizeof *sorted, by_name);
	for (int i = 1; i < n; i++) {
		if (!strcmp(sorted[i - 1]->name, sorted[i]->name)) {
			rc = fail(r, NN_ERR_FORMAT, "GraphDef", "two nodes are called '%.120s'", sorted[i]->name);
			free(sorted);
			return rc;
		}
	}
	free(sorted);
	r->g->nodes = nodes;
	r->g->n_nodes = (int)n;
	return 0;
}

int nn_graphdef_sniff(const void *data, size_t len)
{
	/* A GraphDef's first field is a node (1, length-delimited), whose own first field is a string field of NodeDef. */
	nn_pb m = nn_pb_of(data, len);
	nn_pb_field f, g;
	if (nn_pb_next(&m, &f) <= 0 || f.number != GRAPHDEF_NODE || f.wire != NN_PB_LEN)
		return 0;
	nn_pb n = nn_pb_sub(&f);
	return nn_pb_next(&n, &g) > 0 && g.wire == NN_PB_LEN && g.number >= NODE_NAME && g.number <= NODE_ATTR;
}

/*
 * A Placeholder whose height and width the graph leaves open (no shape, an
 * unknown rank, or -1 in an image's H or W) needs the size from the user:
 * say so here, in the words of the options that give it.
 */
static int check_input_sizes(nn_tf_reader *r, const nn_tf_build_options *o)
{
	if (o->input_w > 0 && o->input_h > 0)
		return 0;
	for (int i = 0; i < r->g->n_nodes; i++) {
		const nn_tf_node *n = &r->g->nodes[i];
		if (strcmp(n->op, "Placeholder"))
			continue;
		const nn_tf_attr *s = nn_tf_node_attr(n, "shape");
		int known = s && s->kind == NN_TF_ATTR_SHAPE && s->rank >= 0;
		if (known && s->rank == 4 && (s->dims[1] < 0 || s->dims[2] < 0))
			known = 0;
		for (int k = 0; known && k < s->rank; k++)
			if (s->dims[k] < 0 && !(k == 0 && s->rank == 4))
				known = 0;
		if (!known)
			return fail(r, NN_ERR_SHAPE, NULL,
				    "input '%.120s' has no fixed size: give it with --input-size WxH (or \"input_size\": [W, H] "
				    "in the model's sidecar)",
				    n->name);
	}
	return 0;
}

int nn_graphdef_load_buffer(nn_graph **out, const void *data, size_t len, const char *path,
			    const nn_tf_build_options *o, char *err, size_t errlen)
{
	*out = NULL;
	if (len > NN_GRAPHDEF_MAX_FILE)
		return nn_graph_fail(err, errlen, NN_ERR_FORMAT, "%s: %zu bytes, more than the %zu a frozen graph may have",
				     path, len, NN_GRAPHDEF_MAX_FILE);
	nn_tf_graph g = { 0 };
	/* The buffer outlives nn_tf_build, so the constants may stay in it. */
	nn_tf_reader r = { .g = &g, .source = path, .borrow = 1, .err = err, .errlen = errlen };
	int rc = nn_graphdef_read(&r, data, len, NULL);
	if (rc == 0 && g.n_nodes == 0)
		rc = fail(&r, NN_ERR_FORMAT, "GraphDef", "no nodes");
	if (rc == 0) {
		nn_tf_build_options opt = { 0 };
		if (o)
			opt = *o;
		opt.source = path;
		if (!opt.n_inputs)
			rc = check_input_sizes(&r, &opt);
		if (rc == 0)
			rc = nn_tf_build(out, &g, &opt, err, errlen);
	}
	nn_tf_graph_free(&g);
	return rc;
}

int nn_graphdef_load(nn_graph **out, const char *path, const nn_tf_build_options *o, char *err, size_t errlen)
{
	if (!out || !path)
		return nn_graph_fail(err, errlen, NN_ERR_ARG, "nn_graphdef_load: no output pointer or path");
	*out = NULL;
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return nn_graph_fail(err, errlen, NN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fileno(fp), &st) < 0 || !S_ISREG(st.st_mode)) {
		fclose(fp);
		return nn_graph_fail(err, errlen, NN_ERR_IO, "%s: not a regular file", path);
	}
	if ((unsigned long long)st.st_size > NN_GRAPHDEF_MAX_FILE) {
		fclose(fp);
		return nn_graph_fail(err, errlen, NN_ERR_IO, "%s: %lld bytes, more than the %zu a frozen graph may have",
				     path, (long long)st.st_size, NN_GRAPHDEF_MAX_FILE);
	}
	size_t len = (size_t)st.st_size;
	void *buf = malloc(len ? len : 1);
	if (!buf) {
		fclose(fp);
		return nn_graph_fail(err, errlen, NN_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, len);
	}
	size_t got = fread(buf, 1, len, fp);
	int bad = ferror(fp);
	fclose(fp);
	int rc = got != len || bad ? nn_graph_fail(err, errlen, NN_ERR_IO, "%s: read %zu of %zu bytes", path, got, len)
				   : nn_graphdef_load_buffer(out, buf, len, path, o, err, errlen);
	free(buf);
	return rc;
}
