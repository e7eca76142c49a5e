/*
 * The ONNX loader: ModelProto, GraphProto, NodeProto, AttributeProto,
 * TensorProto and ValueInfoProto read with pb.c (field numbers from
 * onnx.proto), the graph sorted, and each node mapped (onnx_ops*.c) or
 * evaluated at load time (onnx_eval.c).
 *
 * Everything read is copied into an arena that lives as long as the load:
 * the IR graph owns copies of what it keeps.
 */
#include "nn/format/onnx.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/format/onnx_internal.h"
#include "nn/format/pb.h"

/* ---- messages and memory ------------------------------------------------ */

int ox_fail(ox *c, int code, const char *fmt, ...)
{
	if (!c->failed && c->err && c->errlen) {
		int k = snprintf(c->err, c->errlen, "%s: ", c->src);
		if (k >= 0 && (size_t)k < c->errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(c->err + k, c->errlen - (size_t)k, fmt, ap);
			va_end(ap);
		}
	}
	c->failed = 1;
	return code;
}

static const char *node_label(const ox_node *n, char *buf, size_t len)
{
	if (!n)
		snprintf(buf, len, "graph");
	else if (n->name && *n->name)
		snprintf(buf, len, "node '%s' (%s)", n->name, n->op);
	else
		snprintf(buf, len, "node %s -> '%s'", n->op, n->n_out ? n->out[0] : "");
	return buf;
}

int ox_nfail(ox *c, int code, const char *fmt, ...)
{
	char msg[384], lab[192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return ox_fail(c, code, "%s: %s", node_label(c->cur, lab, sizeof lab), msg);
}

/* dst = "a: b", cut to cap. */
static void join(char *dst, size_t cap, const char *a, const char *b)
{
	size_t k = 0;
	for (const char *s = a; *s && k + 1 < cap; s++)
		dst[k++] = *s;
	for (const char *s = ": "; *s && k + 1 < cap; s++)
		dst[k++] = *s;
	for (const char *s = b; *s && k + 1 < cap; s++)
		dst[k++] = *s;
	dst[k] = '\0';
}

int ox_unsupported(ox *c, const char *fmt, ...)
{
	char msg[384], lab[192], item[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	node_label(c->cur, lab, sizeof lab);
	join(item, sizeof item, lab, msg);
	if (c->n_unsupported++ == 0)
		join(c->unsupported_msg, sizeof c->unsupported_msg, lab, msg);
	size_t k = strlen(c->unsupported_list);
	if (k + strlen(item) + 8 < sizeof c->unsupported_list)
		join(c->unsupported_list + k, sizeof c->unsupported_list - k, k ? "" : "", item),
			memmove(c->unsupported_list + k + (k ? 2 : 0), c->unsupported_list + k + 2, strlen(c->unsupported_list + k + 2) + 1),
			k ? (void)memcpy(c->unsupported_list + k, "; ", 2) : (void)0;
	else if (k + 6 < sizeof c->unsupported_list && !strstr(c->unsupported_list, "; ..."))
		snprintf(c->unsupported_list + k, sizeof c->unsupported_list - k, "; ...");
	return 1;
}

struct ox_block {
	ox_block *next;
	size_t used, cap;
	max_align_t data[];
};

#define ARENA_BLOCK ((size_t)1 << 16)
#define ARENA_MAX ((size_t)8 << 30)

void *ox_alloc(ox *c, size_t bytes)
{
	bytes = (bytes + 15) & ~(size_t)15;
	if (!bytes)
		bytes = 16;
	if (bytes > ARENA_MAX || c->arena_total + bytes > ARENA_MAX) {
		ox_fail(c, NN_ERR_NOMEM, "the model needs more than %zu bytes of memory to load", ARENA_MAX);
		return NULL;
	}
	ox_block *b = c->arena;
	if (!b || b->cap - b->used < bytes) {
		size_t cap = bytes > ARENA_BLOCK / 2 ? bytes : ARENA_BLOCK;
		b = malloc(sizeof *b + cap);
		if (!b) {
			ox_fail(c, NN_ERR_NOMEM, "out of memory");
			return NULL;
		}
		b->cap = cap;
		b->used = 0;
		if (cap == bytes && c->arena) {
			/* A big allocation gets a block of its own, behind the current one. */
			b->next = c->arena->next;
			c->arena->next = b;
		} else {
			b->next = c->arena;
			c->arena = b;
		}
		c->arena_total += cap;
	}
	void *p = (char *)b->data + b->used;
	b->used += bytes;
	memset(p, 0, bytes);
	return p;
}

static void arena_free(ox *c)
{
	for (ox_block *b = c->arena, *nx; b; b = nx) {
		nx = b->next;
		free(b);
	}
	c->arena = NULL;
}

char *ox_strndup(ox *c, const char *s, size_t len)
{
	char *d = ox_alloc(c, len + 1);
	if (d) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

/* ---- attributes ---------------------------------------------------------- */

const ox_attr *ox_attr_get(const ox_node *n, const char *name)
{
	for (int i = 0; i < n->n_attr; i++)
		if (!strcmp(n->attr[i].name, name))
			return &n->attr[i];
	return NULL;
}

int64_t ox_attr_i(const ox_node *n, const char *name, int64_t def)
{
	const ox_attr *a = ox_attr_get(n, name);
	return a && a->type == OX_A_INT ? a->i : def;
}

float ox_attr_f(const ox_node *n, const char *name, float def)
{
	const ox_attr *a = ox_attr_get(n, name);
	return a && a->type == OX_A_FLOAT ? a->f : a && a->type == OX_A_INT ? (float)a->i : def;
}

const char *ox_attr_s(const ox_node *n, const char *name, const char *def)
{
	const ox_attr *a = ox_attr_get(n, name);
	return a && a->type == OX_A_STRING ? a->s : def;
}

int ox_attr_ints(ox *c, const ox_node *n, const char *name, int64_t *v, int max, int *count)
{
	*count = 0;
	const ox_attr *a = ox_attr_get(n, name);
	if (!a)
		return 0;
	if (a->type != OX_A_INTS)
		return ox_nfail(c, NN_ERR_FORMAT, "attribute '%s' is not a list of integers", name);
	if (a->n > max)
		return ox_nfail(c, NN_ERR_UNSUPPORTED, "attribute '%s' has %d values, at most %d supported", name, a->n, max);
	memcpy(v, a->ints, (size_t)a->n * sizeof *v);
	*count = a->n;
	return 0;
}

/* ---- dtypes -------------------------------------------------------------- */

int ox_dtype_to_nn(int d, nn_dtype *dt)
{
	switch (d) {
	case OX_FLOAT: *dt = NN_F32; return 0;
	case OX_FLOAT16: *dt = NN_F16; return 0;
	case OX_UINT8: *dt = NN_U8; return 0;
	case OX_INT8: *dt = NN_I8; return 0;
	case OX_INT16: *dt = NN_I16; return 0;
	case OX_INT32: *dt = NN_I32; return 0;
	case OX_INT64: *dt = NN_I64; return 0;
	case OX_BOOL: *dt = NN_BOOL; return 0;
	default: return -1;
	}
}

int ox_nn_to_dtype(nn_dtype dt)
{
	static const int m[NN_DTYPE_COUNT] = { [NN_F32] = OX_FLOAT, [NN_F16] = OX_FLOAT16, [NN_U8] = OX_UINT8,
					       [NN_I8] = OX_INT8,   [NN_I16] = OX_INT16,  [NN_I32] = OX_INT32,
					       [NN_I64] = OX_INT64, [NN_BOOL] = OX_BOOL };
	return (unsigned)dt < NN_DTYPE_COUNT ? m[dt] : OX_UNDEFINED;
}

const char *ox_dtype_name(int d)
{
	static const char *names[] = { "undefined", "float", "uint8", "int8", "uint16", "int16", "int32", "int64",
				       "string", "bool", "float16", "double", "uint32", "uint64", "complex64",
				       "complex128", "bfloat16", "float8e4m3fn", "float8e4m3fnuz", "float8e5m2",
				       "float8e5m2fnuz", "uint4", "int4" };
	return d >= 0 && d < (int)(sizeof names / sizeof *names) ? names[d] : "unknown type";
}

/* ---- values and IR tensors ----------------------------------------------- */

nn_tensor *ox_T(ox *c, int t)
{
	return &c->g->tensors[t];
}

int ox_value_find(ox *c, const char *name, int create)
{
	int i = nn_name_map_find(&c->map, c->names, name, strlen(name));
	if (i >= 0 || !create)
		return i;
	if (c->n_vals == c->cap_vals || (size_t)(c->n_vals + 1) * 2 > c->map_cap_n) {
		int cap = c->cap_vals ? c->cap_vals * 2 : 256;
		const char **nn = realloc(c->names, (size_t)cap * sizeof *nn);
		if (nn)
			c->names = nn;
		ox_value *nv = nn ? realloc(c->vals, (size_t)cap * sizeof *nv) : NULL;
		if (!nn || !nv)
			return ox_fail(c, NN_ERR_NOMEM, "out of memory"), -1;
		c->vals = nv;
		c->cap_vals = cap;
		nn_name_map_free(&c->map);
		if (nn_name_map_init(&c->map, cap) < 0)
			return ox_fail(c, NN_ERR_NOMEM, "out of memory"), -1;
		c->map_cap_n = (size_t)cap * 2;
		for (int k = 0; k < c->n_vals; k++)
			nn_name_map_add(&c->map, c->names, k);
	}
	i = c->n_vals++;
	c->names[i] = name;
	c->vals[i] = (ox_value){ .t = -1, .producer = -1, .lz_src = -1 };
	nn_name_map_add(&c->map, c->names, i);
	return i;
}

ox_value *ox_in(ox *c, const ox_node *n, int k)
{
	if (k >= n->n_in || !n->in[k][0])
		return NULL;
	int i = ox_value_find(c, n->in[k], 0);
	return i < 0 ? NULL : &c->vals[i];
}

ox_val *ox_in_const(ox *c, const ox_node *n, int k)
{
	ox_value *v = ox_in(c, n, k);
	return v ? v->c : NULL;
}

int ox_tensor(ox *c, const char *name, nn_dtype dt, int rank, const int *shape)
{
	int t = nn_graph_add_tensor(c->g, name);
	if (t < 0)
		return ox_fail(c, NN_ERR_NOMEM, "out of memory");
	nn_tensor *x = ox_T(c, t);
	x->dtype = dt;
	x->rank = rank;
	for (int d = 0; d < rank; d++)
		x->shape[d] = shape[d];
	return t;
}

int ox_temp(ox *c, const ox_node *n, const char *suffix, nn_dtype dt, int rank, const int *shape)
{
	char name[512];
	snprintf(name, sizeof name, "%s%s", n && n->n_out ? n->out[0] : "onnx", suffix);
	return ox_tensor(c, name, dt, rank, shape);
}

int ox_const_tensor(ox *c, const ox_val *v, const char *name)
{
	nn_dtype dt;
	if (ox_is_float(v->dtype))
		dt = NN_F32;
	else if (ox_dtype_to_nn(v->dtype, &dt) < 0 || !v->i)
		return ox_nfail(c, NN_ERR_UNSUPPORTED, "constant '%s' of type %s is not supported", name,
				ox_dtype_name(v->dtype));
	int shape[NN_MAX_RANK];
	for (int d = 0; d < v->rank; d++)
		shape[d] = (int)v->dims[d];
	int t = ox_tensor(c, name, dt, v->rank, shape);
	if (t < 0)
		return t;
	nn_tensor *x = ox_T(c, t);
	x->is_const = 1;
	if (nn_tensor_alloc_const(x) < 0)
		return ox_fail(c, NN_ERR_NOMEM, "out of memory for constant '%s'", name);
	for (int64_t k = 0; k < v->n; k++) {
		switch (dt) {
		case NN_F32: ((float *)x->data)[k] = v->f[k]; break;
		case NN_U8: ((uint8_t *)x->data)[k] = (uint8_t)v->i[k]; break;
		case NN_I8: ((int8_t *)x->data)[k] = (int8_t)v->i[k]; break;
		case NN_I16: ((int16_t *)x->data)[k] = (int16_t)v->i[k]; break;
		case NN_I32: ((int32_t *)x->data)[k] = (int32_t)v->i[k]; break;
		case NN_I64: ((int64_t *)x->data)[k] = v->i[k]; break;
		case NN_BOOL: ((uint8_t *)x->data)[k] = v->i[k] != 0; break;
		default: break;
		}
	}
	return t;
}

int ox_const_f32(ox *c, const char *name, int rank, const int *shape, const float *vals)
{
	int t = ox_tensor(c, name, NN_F32, rank, shape);
	if (t < 0)
		return t;
	nn_tensor *x = ox_T(c, t);
	x->is_const = 1;
	if (nn_tensor_alloc_const(x) < 0)
		return ox_fail(c, NN_ERR_NOMEM, "out of memory for constant '%s'", name);
	if (vals)
		memcpy(x->data, vals, nn_tensor_bytes(x));
	return t;
}

int ox_value_tensor(ox *c, int i)
{
	ox_value *v = &c->vals[i];
	if (v->t < 0 && v->lz_src >= 0) {
		int src = v->lz_src;
		int t = ox_tensor(c, c->names[i], ox_T(c, src)->dtype, v->lz_rank, v->lz_shape);
		if (t < 0)
			return t;
		nn_node *r = ox_emit(c, NULL, NN_OP_RESHAPE, 1, &src, 1, &t);
		if (!r)
			return NN_ERR_NOMEM;
		free(r->name);
		if (!(r->name = strdup(c->names[i])))
			return ox_fail(c, NN_ERR_NOMEM, "out of memory");
		v->t = t;
	}
	if (v->t < 0 && v->c) {
		int t = ox_const_tensor(c, v->c, c->names[i]);
		if (t < 0)
			return t;
		v->t = t;
	}
	if (v->t < 0)
		return ox_nfail(c, NN_ERR_FORMAT, "'%s' has no value", c->names[i]);
	return v->t;
}

int ox_in_tensor(ox *c, const ox_node *n, int k)
{
	ox_value *v = ox_in(c, n, k);
	if (!v)
		return ox_nfail(c, NN_ERR_FORMAT, "input %d is missing", k);
	return ox_value_tensor(c, (int)(v - c->vals));
}

int ox_bind_lazy(ox *c, const ox_node *n, int k, int src, int rank, const int *shape)
{
	int i = ox_value_find(c, n->out[k], 1);
	if (i < 0)
		return NN_ERR_NOMEM;
	nn_tensor *t = ox_T(c, src);
	int same = t->rank == rank;
	for (int d = 0; same && d < rank; d++)
		same = t->shape[d] == shape[d];
	if (same) {
		c->vals[i].t = src;
		return 0;
	}
	c->vals[i].lz_src = src;
	c->vals[i].lz_rank = rank;
	for (int d = 0; d < rank; d++)
		c->vals[i].lz_shape[d] = shape[d];
	return 0;
}

int ox_out_tensor(ox *c, const ox_node *n, int k, nn_dtype dt, int rank, const int *shape)
{
	int t = ox_tensor(c, n->out[k], dt, rank, shape);
	if (t < 0)
		return t;
	int i = ox_value_find(c, n->out[k], 1);
	if (i < 0)
		return NN_ERR_NOMEM;
	c->vals[i].t = t;
	return t;
}

int ox_bind_out(ox *c, const ox_node *n, int k, int t)
{
	int i = ox_value_find(c, n->out[k], 1);
	if (i < 0)
		return NN_ERR_NOMEM;
	c->vals[i].t = t;
	return 0;
}

int ox_bind_const(ox *c, const ox_node *n, int k, ox_val *v)
{
	if (k >= n->n_out || !n->out[k][0])
		return 0;
	int i = ox_value_find(c, n->out[k], 1);
	if (i < 0)
		return NN_ERR_NOMEM;
	c->vals[i].c = v;
	return 0;
}

nn_node *ox_emit(ox *c, const ox_node *n, nn_op op, int n_in, const int *in, int n_out, const int *out)
{
	nn_node *x = nn_graph_add_node(c->g, op, n_in, n_out);
	if (!x) {
		ox_fail(c, NN_ERR_NOMEM, "out of memory");
		return NULL;
	}
	for (int k = 0; k < n_in; k++)
		x->inputs[k] = in[k];
	for (int k = 0; k < n_out; k++)
		x->outputs[k] = out[k];
	const char *name = n && n->name && n->name[0] ? n->name : n && n->n_out ? n->out[0] : "onnx";
	if (!(x->name = strdup(name))) {
		ox_fail(c, NN_ERR_NOMEM, "out of memory");
		return NULL;
	}
	return x;
}

int ox_transpose(ox *c, const ox_node *n, int x, const int *perm, const char *suffix)
{
	nn_tensor *xt = ox_T(c, x);
	int rank = xt->rank, shape[NN_MAX_RANK];
	nn_dtype dt = xt->dtype;
	for (int d = 0; d < rank; d++)
		shape[d] = xt->shape[perm[d]];
	int y = ox_temp(c, n, suffix, dt, rank, shape);
	if (y < 0)
		return y;
	nn_node *t = ox_emit(c, n, NN_OP_TRANSPOSE, 1, &x, 1, &y);
	if (!t)
		return NN_ERR_NOMEM;
	for (int d = 0; d < rank; d++)
		t->p.transpose.perm[d] = perm[d];
	return y;
}

int ox_reshape(ox *c, const ox_node *n, int x, int rank, const int *shape, int out)
{
	if (out < 0) {
		out = ox_temp(c, n, "/reshape", ox_T(c, x)->dtype, rank, shape);
		if (out < 0)
			return out;
	}
	return ox_emit(c, n, NN_OP_RESHAPE, 1, &x, 1, &out) ? out : NN_ERR_NOMEM;
}

/* ---- protobuf messages --------------------------------------------------- */

static int pb_error(ox *c, int rc, const char *what)
{
	return ox_fail(c, NN_ERR_FORMAT, "malformed %s: %s", what, nn_pb_strerror(rc));
}

static float half_to_float(uint16_t h)
{
	uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 31, m = h & 1023;
	float f;
	if (e == 0)
		f = ldexpf((float)m, -24);
	else if (e == 31)
		f = m ? NAN : INFINITY;
	else
		f = ldexpf((float)(m | 1024), (int)e - 25);
	return s ? -f : f;
}

static size_t dtype_bytes(int d)
{
	switch (d) {
	case OX_FLOAT: case OX_INT32: case OX_UINT32: return 4;
	case OX_UINT8: case OX_INT8: case OX_BOOL: return 1;
	case OX_UINT16: case OX_INT16: case OX_FLOAT16: case OX_BFLOAT16: return 2;
	case OX_INT64: case OX_DOUBLE: case OX_UINT64: return 8;
	default: return 0;
	}
}

/* One element of raw little-endian data as the value's storage. */
static void store_raw(ox_val *v, int64_t k, const uint8_t *p)
{
	uint64_t u = 0;
	size_t sz = dtype_bytes(v->dtype);
	for (size_t b = 0; b < sz; b++)
		u |= (uint64_t)p[b] << (8 * b);
	switch (v->dtype) {
	case OX_FLOAT: { float f; uint32_t w = (uint32_t)u; memcpy(&f, &w, 4); v->f[k] = f; break; }
	case OX_DOUBLE: { double d; memcpy(&d, &u, 8); v->f[k] = (float)d; break; }
	case OX_FLOAT16: v->f[k] = half_to_float((uint16_t)u); break;
	case OX_BFLOAT16: { float f; uint32_t w = (uint32_t)u << 16; memcpy(&f, &w, 4); v->f[k] = f; break; }
	case OX_INT8: v->i[k] = (int8_t)u; break;
	case OX_INT16: v->i[k] = (int16_t)u; break;
	case OX_INT32: v->i[k] = (int32_t)u; break;
	case OX_INT64: v->i[k] = (int64_t)u; break;
	case OX_UINT8: case OX_UINT16: case OX_UINT32: case OX_BOOL: v->i[k] = (int64_t)u; break;
	case OX_UINT64: v->i[k] = (int64_t)u; break;
	default: break;
	}
}

/* Reads a TensorProto into a load-time value. what names it in messages. */
static int read_tensor(ox *c, nn_pb m, const char *what, ox_val **out, const char **name_out)
{
	int64_t dims[NN_MAX_RANK];
	int rank = 0, dtype = 0, external = 0;
	const char *name = "";
	nn_pb_field f, raw = { 0 };
	int have_raw = 0, n_typed = 0, typed_num = 0;
	int64_t typed_count = 0;
	nn_pb it = m;
	int rc;
	while ((rc = nn_pb_next(&it, &f)) > 0) {
		switch (f.number) {
		case 1:
			if (f.wire == NN_PB_LEN) {
				int64_t k = nn_pb_packed_varints(&f, NULL, 0);
				if (k < 0)
					return pb_error(c, (int)k, what);
				if (rank + k > NN_MAX_RANK)
					return ox_fail(c, NN_ERR_UNSUPPORTED, "%s: rank past %d", what, NN_MAX_RANK);
				nn_pb_packed_varints(&f, dims + rank, k);
				rank += (int)k;
			} else if (f.wire == NN_PB_VARINT) {
				if (rank >= NN_MAX_RANK)
					return ox_fail(c, NN_ERR_UNSUPPORTED, "%s: rank past %d", what, NN_MAX_RANK);
				dims[rank++] = nn_pb_int64(&f);
			}
			break;
		case 2: if (f.wire == NN_PB_VARINT) dtype = (int)nn_pb_int64(&f); break;
		case 3: return ox_fail(c, NN_ERR_UNSUPPORTED, "%s: segmented tensors are not supported", what);
		case 8: if (f.wire == NN_PB_LEN && !(name = ox_strndup(c, (const char *)f.data, f.len))) return NN_ERR_NOMEM; break;
		case 9: if (f.wire == NN_PB_LEN) { raw = f; have_raw = 1; } break;
		case 13: external = 1; break;
		case 14: if (f.wire == NN_PB_VARINT && f.u == 1) external = 1; break;
		case 4: case 5: case 7: case 10: case 11:
			if (typed_num && typed_num != (int)f.number)
				return ox_fail(c, NN_ERR_FORMAT, "%s: values in two typed fields", what);
			typed_num = (int)f.number;
			if (f.wire == NN_PB_LEN) {
				int64_t k = f.number == 4 ? nn_pb_packed_fixed32(&f, NULL, 0)
					    : f.number == 10 || f.number == 11 ? nn_pb_packed_fixed64(&f, NULL, 0)
										: nn_pb_packed_varints(&f, NULL, 0);
				if (k < 0)
					return pb_error(c, (int)k, what);
				typed_count += k;
			} else {
				typed_count++;
			}
			n_typed++;
			break;
		case 6: return ox_fail(c, NN_ERR_UNSUPPORTED, "%s: string tensors are not supported", what);
		default: break;
		}
	}
	if (rc < 0)
		return pb_error(c, rc, what);
	if (name_out)
		*name_out = name;
	if (external)
		return ox_fail(c, NN_ERR_UNSUPPORTED,
			       "%s%s%s: tensor data in an external file is not supported (save the model with its weights "
			       "inside, e.g. onnx.save(model, path, save_as_external_data=False))",
			       what, *name ? " " : "", name);
	size_t esz = dtype_bytes(dtype);
	if (!esz || dtype == OX_UINT64 || dtype == OX_UINT32 || dtype == OX_UINT16)
		return ox_fail(c, NN_ERR_UNSUPPORTED, "%s '%s': data type %s (%d) is not supported", what, name,
			       ox_dtype_name(dtype), dtype);
	int64_t n = 1;
	for (int d = 0; d < rank; d++) {
		if (dims[d] < 0 || dims[d] > OX_MAX_DIM)
			return ox_fail(c, NN_ERR_FORMAT, "%s '%s': dimension %d is %lld", what, name, d, (long long)dims[d]);
		n *= dims[d];
		if (n > OX_MAX_TENSOR_ELEMENTS)
			return ox_fail(c, NN_ERR_UNSUPPORTED, "%s '%s': more than %lld elements", what, name,
				       (long long)OX_MAX_TENSOR_ELEMENTS);
	}
	ox_val *v = ox_val_new(c, dtype, rank, dims);
	if (!v)
		return NN_ERR_NOMEM;
	if (have_raw) {
		if (raw.len != (size_t)n * esz)
			return ox_fail(c, NN_ERR_FORMAT, "%s '%s': raw_data holds %zu bytes, its shape needs %lld", what,
				       name, raw.len, (long long)n * (long long)esz);
		for (int64_t k = 0; k < n; k++)
			store_raw(v, k, raw.data + (size_t)k * esz);
		*out = v;
		return 0;
	}
	if (typed_count != n)
		return ox_fail(c, NN_ERR_FORMAT, "%s '%s': holds %lld values, its shape needs %lld", what, name,
			       (long long)typed_count, (long long)n);
	int want = ox_is_float(dtype) && dtype != OX_FLOAT16 && dtype != OX_BFLOAT16
			   ? (dtype == OX_DOUBLE ? 10 : 4)
		   : dtype == OX_INT64 ? 7
				       : 5;
	if (n && typed_num != want)
		return ox_fail(c, NN_ERR_FORMAT, "%s '%s': %s values in the wrong field (%d)", what, name,
			       ox_dtype_name(dtype), typed_num);
	int64_t k = 0;
	it = m;
	while (k < n && nn_pb_next(&it, &f) > 0) {
		if ((int)f.number != typed_num)
			continue;
		uint64_t vals[256];
		if (f.wire == NN_PB_LEN) {
			/* Packed: decode by walking the bytes. */
			const uint8_t *p = f.data, *end = f.data + f.len;
			while (p < end && k < n) {
				uint64_t u;
				if (typed_num == 4) {
					u = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24;
					p += 4;
				} else if (typed_num == 10 || typed_num == 11) {
					u = 0;
					for (int b = 0; b < 8; b++)
						u |= (uint64_t)p[b] << (8 * b);
					p += 8;
				} else if (nn_pb_read_varint(&p, end, &u) < 0) {
					return ox_fail(c, NN_ERR_FORMAT, "%s '%s': bad varint", what, name);
				}
				vals[0] = u;
				goto store;
			store:
				if (typed_num == 4) {
					float fl; uint32_t w = (uint32_t)vals[0]; memcpy(&fl, &w, 4); v->f[k] = fl;
				} else if (typed_num == 10) {
					double d; memcpy(&d, &vals[0], 8); v->f[k] = (float)d;
				} else if (dtype == OX_FLOAT16) {
					v->f[k] = half_to_float((uint16_t)vals[0]);
				} else if (dtype == OX_BFLOAT16) {
					float fl; uint32_t w = (uint32_t)vals[0] << 16; memcpy(&fl, &w, 4); v->f[k] = fl;
				} else if (typed_num == 5) {
					v->i[k] = dtype == OX_UINT8 ? (int64_t)(uint8_t)vals[0]
						  : dtype == OX_BOOL ? (int64_t)(vals[0] != 0)
						  : dtype == OX_INT8  ? (int64_t)(int8_t)vals[0]
						  : dtype == OX_INT16 ? (int64_t)(int16_t)vals[0]
								      : (int64_t)(int32_t)vals[0];
				} else {
					v->i[k] = (int64_t)vals[0];
				}
				k++;
			}
		} else {
			vals[0] = f.u;
			if (typed_num == 4) {
				float fl; uint32_t w = (uint32_t)f.u; memcpy(&fl, &w, 4); v->f[k] = fl;
			} else if (typed_num == 10) {
				double d; memcpy(&d, &vals[0], 8); v->f[k] = (float)d;
			} else if (dtype == OX_FLOAT16) {
				v->f[k] = half_to_float((uint16_t)f.u);
			} else if (dtype == OX_BFLOAT16) {
				float fl; uint32_t w = (uint32_t)f.u << 16; memcpy(&fl, &w, 4); v->f[k] = fl;
			} else if (typed_num == 5) {
				v->i[k] = dtype == OX_UINT8 ? (int64_t)(uint8_t)f.u
					  : dtype == OX_BOOL ? (int64_t)(f.u != 0)
					  : dtype == OX_INT8  ? (int64_t)(int8_t)f.u
					  : dtype == OX_INT16 ? (int64_t)(int16_t)f.u
							      : (int64_t)(int32_t)f.u;
			} else {
				v->i[k] = (int64_t)f.u;
			}
			k++;
		}
	}
	*out = v;
	return 0;
}

static int read_attr(ox *c, nn_pb m, const char *node, ox_attr *a)
{
	nn_pb_field f;
	int rc, n_floats = 0, n_ints = 0;
	char what[256];
	snprintf(what, sizeof what, "attribute of node '%s'", node);
	a->name = "";
	nn_pb it = m;
	/* First pass: scalars and counts. */
	while ((rc = nn_pb_next(&it, &f)) > 0) {
		switch (f.number) {
		case 1: if (f.wire == NN_PB_LEN && !(a->name = ox_strndup(c, (const char *)f.data, f.len))) return NN_ERR_NOMEM; break;
		case 20: if (f.wire == NN_PB_VARINT) a->type = (int)f.u; break;
		case 2: if (f.wire == NN_PB_I32) a->f = nn_pb_float(&f); break;
		case 3: if (f.wire == NN_PB_VARINT) a->i = nn_pb_int64(&f); break;
		case 4: if (f.wire == NN_PB_LEN && !(a->s = ox_strndup(c, (const char *)f.data, f.len))) return NN_ERR_NOMEM; break;
		case 5:
			if (f.wire == NN_PB_LEN) {
				snprintf(what, sizeof what, "tensor attribute of node '%s'", node);
				if ((rc = read_tensor(c, nn_pb_sub(&f), what, &a->t, NULL)) < 0)
					return rc;
			}
			break;
		case 7:
			if (f.wire == NN_PB_LEN) {
				int64_t k = nn_pb_packed_fixed32(&f, NULL, 0);
				if (k < 0)
					return pb_error(c, (int)k, what);
				n_floats += (int)(k > OX_MAX_ITEMS ? OX_MAX_ITEMS : k);
			} else
				n_floats++;
			break;
		case 8:
			if (f.wire == NN_PB_LEN) {
				int64_t k = nn_pb_packed_varints(&f, NULL, 0);
				if (k < 0)
					return pb_error(c, (int)k, what);
				n_ints += (int)(k > OX_MAX_ITEMS ? OX_MAX_ITEMS : k);
			} else
				n_ints++;
			break;
		case 21: return ox_fail(c, NN_ERR_UNSUPPORTED, "node '%s': attribute references (functions) are not supported", node);
		default: break;
		}
		if (n_floats > OX_MAX_ITEMS || n_ints > OX_MAX_ITEMS)
			return ox_fail(c, NN_ERR_UNSUPPORTED, "%s: too many values", what);
	}
	if (rc < 0)
		return pb_error(c, rc, what);
	if (!a->type) {
		/* IR version 1 files leave the type out: infer it from what is set. */
		a->type = a->s ? OX_A_STRING : a->t ? OX_A_TENSOR : n_ints ? OX_A_INTS : n_floats ? OX_A_FLOATS : OX_A_INT;
	}
	if (a->type == OX_A_STRING && !a->s)
		a->s = "";
	if (n_floats && !(a->floats = ox_alloc(c, (size_t)n_floats * sizeof(float))))
		return NN_ERR_NOMEM;
	if (n_ints && !(a->ints = ox_alloc(c, (size_t)n_ints * sizeof(int64_t))))
		return NN_ERR_NOMEM;
	int kf = 0, ki = 0;
	it = m;
	while (nn_pb_next(&it, &f) > 0) {
		if (f.number == 7) {
			if (f.wire == NN_PB_LEN) {
				int64_t k = f.len / 4;
				for (int64_t j = 0; j < k && kf < n_floats; j++) {
					uint32_t w;
					memcpy(&w, f.data + 4 * j, 4);
					float fl;
					memcpy(&fl, &w, 4);
					a->floats[kf++] = fl;
				}
			} else if (f.wire == NN_PB_I32 && kf < n_floats)
				a->floats[kf++] = nn_pb_float(&f);
		} else if (f.number == 8) {
			if (f.wire == NN_PB_LEN) {
				int64_t got = nn_pb_packed_varints(&f, a->ints + ki, n_ints - ki);
				ki += (int)(got > 0 ? got : 0);
			} else if (f.wire == NN_PB_VARINT && ki < n_ints)
				a->ints[ki++] = nn_pb_int64(&f);
		}
	}
	a->n = a->type == OX_A_FLOATS ? kf : ki;
	return 0;
}

static int read_strings(ox *c, nn_pb m, uint32_t number, const char ***out, int *count)
{
	nn_pb it = m;
	nn_pb_field f;
	int n = 0;
	while (nn_pb_next(&it, &f) > 0)
		if (f.number == number && f.wire == NN_PB_LEN)
			n++;
	if (n > OX_MAX_ITEMS)
		return ox_fail(c, NN_ERR_UNSUPPORTED, "a node with %d inputs or outputs", n);
	const char **s = ox_alloc(c, ((size_t)n + 1) * sizeof *s);
	if (!s)
		return NN_ERR_NOMEM;
	int k = 0;
	it = m;
	while (nn_pb_next(&it, &f) > 0)
		if (f.number == number && f.wire == NN_PB_LEN && !(s[k++] = ox_strndup(c, (const char *)f.data, f.len)))
			return NN_ERR_NOMEM;
	*out = s;
	*count = n;
	return 0;
}

static int read_node(ox *c, nn_pb m, int index, ox_node *n)
{
	nn_pb_field f;
	int rc, n_attr = 0;
	n->name = n->op = n->domain = "";
	nn_pb it = m;
	while ((rc = nn_pb_next(&it, &f)) > 0) {
		if (f.wire != NN_PB_LEN)
			continue;
		if (f.number == 3 && !(n->name = ox_strndup(c, (const char *)f.data, f.len)))
			return NN_ERR_NOMEM;
		if (f.number == 4 && !(n->op = ox_strndup(c, (const char *)f.data, f.len)))
			return NN_ERR_NOMEM;
		if (f.number == 7 && !(n->domain = ox_strndup(c, (const char *)f.data, f.len)))
			return NN_ERR_NOMEM;
		if (f.number == 5)
			n_attr++;
	}
	if (rc < 0) {
		char what[64];
		snprintf(what, sizeof what, "node %d", index);
		return pb_error(c, rc, what);
	}
	if (!n->op[0])
		return ox_fail(c, NN_ERR_FORMAT, "node %d ('%s') has no op_type", index, n->name);
	if ((rc = read_strings(c, m, 1, &n->in, &n->n_in)) < 0 || (rc = read_strings(c, m, 2, &n->out, &n->n_out)) < 0)
		return rc;
	if (n_attr > OX_MAX_ITEMS || !(n->attr = ox_alloc(c, ((size_t)n_attr + 1) * sizeof *n->attr)))
		return NN_ERR_NOMEM;
	it = m;
	while (nn_pb_next(&it, &f) > 0)
		if (f.number == 5 && f.wire == NN_PB_LEN &&
		    (rc = read_attr(c, nn_pb_sub(&f), n->name[0] ? n->name : n->op, &n->attr[n->n_attr++])) < 0)
			return rc;
	return 0;
}

/* A graph input's ValueInfoProto: element type and dimensions (-1 for a symbolic or missing one). */
typedef struct vinfo {
	const char *name;
	int elem, rank;
	int64_t dims[NN_MAX_RANK];
	const char *params[NN_MAX_RANK];
} vinfo;

static int read_value_info(ox *c, nn_pb m, vinfo *vi)
{
	nn_pb_field f, g, h, d, e;
	vi->name = "";
	vi->rank = -1;
	nn_pb it = m;
	while (nn_pb_next(&it, &f) > 0) {
		if (f.number == 1 && f.wire == NN_PB_LEN && !(vi->name = ox_strndup(c, (const char *)f.data, f.len)))
			return NN_ERR_NOMEM;
		if (f.number != 2 || f.wire != NN_PB_LEN)
			continue;
		nn_pb tp = nn_pb_sub(&f);
		while (nn_pb_next(&tp, &g) > 0) {
			if (g.number != 1 || g.wire != NN_PB_LEN)
				continue;
			nn_pb tt = nn_pb_sub(&g);
			while (nn_pb_next(&tt, &h) > 0) {
				if (h.number == 1 && h.wire == NN_PB_VARINT)
					vi->elem = (int)h.u;
				if (h.number != 2 || h.wire != NN_PB_LEN)
					continue;
				vi->rank = 0;
				nn_pb sh = nn_pb_sub(&h);
				while (nn_pb_next(&sh, &d) > 0) {
					if (d.number != 1 || d.wire != NN_PB_LEN)
						continue;
					if (vi->rank >= NN_MAX_RANK)
						return ox_fail(c, NN_ERR_UNSUPPORTED, "input '%s': rank past %d", vi->name,
							       NN_MAX_RANK);
					int k = vi->rank++;
					vi->dims[k] = -1;
					vi->params[k] = NULL;
					nn_pb dm = nn_pb_sub(&d);
					while (nn_pb_next(&dm, &e) > 0) {
						if (e.number == 1 && e.wire == NN_PB_VARINT)
							vi->dims[k] = nn_pb_int64(&e);
						if (e.number == 2 && e.wire == NN_PB_LEN &&
						    !(vi->params[k] = ox_strndup(c, (const char *)e.data, e.len)))
							return NN_ERR_NOMEM;
					}
				}
			}
		}
	}
	return 0;
}

/* ---- the model ----------------------------------------------------------- */

typedef struct model_parts {
	long long ir_version;
	const uint8_t *graph;
	size_t graph_len;
	int n_graphs;
	char producer[64], producer_version[32];
} model_parts;

static void copy_field(char *dst, size_t cap, const nn_pb_field *f)
{
	size_t n = f->len < cap - 1 ? f->len : cap - 1;
	memcpy(dst, f->data, n);
	dst[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)dst[i] < 32)
			dst[i] = '?';
}

int nn_onnx_sniff(const void *data, size_t len)
{
	nn_pb m = nn_pb_of(data, len);
	nn_pb_field f;
	int rc, graph = 0, n = 0;
	while ((rc = nn_pb_next(&m, &f)) > 0) {
		n++;
		switch (f.number) {
		case 1: case 5: if (f.wire != NN_PB_VARINT) return 0; break;
		case 2: case 3: case 4: case 6: case 8: case 14: case 20: case 25: if (f.wire != NN_PB_LEN) return 0; break;
		case 7: if (f.wire != NN_PB_LEN) return 0; graph = 1; break;
		default: return 0;
		}
	}
	/* A truncated file whose fields so far are a model's is still an ONNX file, to be reported as broken. */
	return n > 0 && (graph || rc < 0);
}

static int read_model(ox *c, const void *data, size_t len, model_parts *mp, int apply)
{
	nn_pb m = nn_pb_of(data, len);
	nn_pb_field f;
	int rc, have_default = 0;
	while ((rc = nn_pb_next(&m, &f)) > 0) {
		switch (f.number) {
		case 1: if (f.wire == NN_PB_VARINT) mp->ir_version = (long long)nn_pb_int64(&f); break;
		case 2: if (f.wire == NN_PB_LEN) copy_field(mp->producer, sizeof mp->producer, &f); break;
		case 3: if (f.wire == NN_PB_LEN) copy_field(mp->producer_version, sizeof mp->producer_version, &f); break;
		case 7:
			if (f.wire == NN_PB_LEN) {
				mp->graph = f.data;
				mp->graph_len = f.len;
				mp->n_graphs++;
			}
			break;
		case 8: {
			if (f.wire != NN_PB_LEN)
				break;
			nn_pb o = nn_pb_sub(&f);
			nn_pb_field g;
			char domain[128] = "";
			int64_t version = 0;
			int rc2;
			while ((rc2 = nn_pb_next(&o, &g)) > 0) {
				if (g.number == 1 && g.wire == NN_PB_LEN)
					copy_field(domain, sizeof domain, &g);
				if (g.number == 2 && g.wire == NN_PB_VARINT)
					version = nn_pb_int64(&g);
			}
			if (rc2 < 0)
				return pb_error(c, rc2, "opset_import");
			if (!domain[0] || !strcmp(domain, "ai.onnx")) {
				if (version < 7 || version > 21)
					return ox_fail(c, NN_ERR_UNSUPPORTED,
						       "opset %lld of the default domain (ai.onnx) is not supported (7 to 21 are)",
						       (long long)version);
				c->opset = (int)version;
				have_default = 1;
			} else if (!strcmp(domain, "com.microsoft")) {
				c->ms_opset = version > 0 && version < 1000 ? (int)version : 1;
			} else if (!strcmp(domain, "ai.onnx.ml") || !strcmp(domain, "ai.onnx.training") ||
				   !strcmp(domain, "ai.onnx.preview.training")) {
				/* Imported without use is common; a node of these domains is reported as unsupported. */
			} else if (apply) {
				/* Same: an unknown domain is reported when a node uses it. */
			}
			break;
		}
		case 14:
			if (apply && f.wire == NN_PB_LEN) {
				nn_pb e = nn_pb_sub(&f);
				nn_pb_field g, key = { 0 }, val = { 0 };
				int rc2;
				while ((rc2 = nn_pb_next(&e, &g)) > 0) {
					if (g.number == 1 && g.wire == NN_PB_LEN)
						key = g;
					if (g.number == 2 && g.wire == NN_PB_LEN)
						val = g;
				}
				if (rc2 < 0)
					return pb_error(c, rc2, "metadata_props");
				char *k = ox_strndup(c, key.data ? (const char *)key.data : "", key.len);
				if (!k)
					return NN_ERR_NOMEM;
				if (nn_graph_add_metadata(c->g, k, val.data ? (const char *)val.data : "", val.len) < 0)
					return ox_fail(c, NN_ERR_NOMEM, "out of memory");
			}
			break;
		default: break;
		}
	}
	if (rc < 0)
		return pb_error(c, rc, "ModelProto (truncated or corrupt file?)");
	if (mp->n_graphs != 1)
		return ox_fail(c, NN_ERR_FORMAT, "the model has %d graphs, expected one", mp->n_graphs);
	if (!have_default) {
		/* IR version 3+ requires an opset import; older files mean opset 1, which we cannot map. */
		return ox_fail(c, NN_ERR_UNSUPPORTED, "the model imports no opset of the default domain (ai.onnx)");
	}
	return 0;
}

int nn_onnx_read_info(const void *data, size_t len, nn_onnx_info *info)
{
	ox c = { .src = "", .errlen = 0 };
	model_parts mp = { 0 };
	memset(info, 0, sizeof *info);
	int rc = read_model(&c, data, len, &mp, 0);
	arena_free(&c);
	if (rc < 0)
		return rc;
	nn_pb g = nn_pb_of(mp.graph, mp.graph_len);
	nn_pb_field f;
	while (nn_pb_next(&g, &f) > 0) {
		if (f.number != 1 || f.wire != NN_PB_LEN)
			continue;
		if (!info->n_nodes++) {
			nn_pb nd = nn_pb_sub(&f);
			nn_pb_field e;
			while (nn_pb_next(&nd, &e) > 0)
				if (e.number == 4 && e.wire == NN_PB_LEN)
					copy_field(info->first_op, sizeof info->first_op, &e);
		}
	}
	info->ir_version = mp.ir_version;
	info->opset = c.opset;
	snprintf(info->producer, sizeof info->producer, "%s", mp.producer);
	snprintf(info->producer_version, sizeof info->producer_version, "%s", mp.producer_version);
	return 0;
}

/* Ultralytics' imgsz in metadata_props: "[640, 640]" (height, width) or "640". */
static void read_imgsz(ox *c)
{
	for (int i = 0; i < c->g->n_meta; i++) {
		if (strcmp(c->g->meta_keys[i], "imgsz"))
			continue;
		const char *s = c->g->meta_values[i];
		long v[2];
		int n = 0;
		while (*s && n < 2) {
			if (*s >= '0' && *s <= '9') {
				char *e;
				v[n++] = strtol(s, &e, 10);
				s = e;
			} else {
				s++;
			}
		}
		if (n == 1)
			v[1] = v[0];
		if (n >= 1 && v[0] > 0 && v[0] <= 16384 && v[1] > 0 && v[1] <= 16384) {
			c->meta_h = (int)v[0];
			c->meta_w = (int)v[1];
		}
	}
}

static int add_input(ox *c, const vinfo *vi)
{
	nn_dtype dt;
	if (ox_dtype_to_nn(vi->elem, &dt) < 0)
		return ox_fail(c, NN_ERR_UNSUPPORTED, "input '%s': element type %s is not supported", vi->name,
			       ox_dtype_name(vi->elem));
	if (vi->rank < 0)
		return ox_fail(c, NN_ERR_UNSUPPORTED, "input '%s' has no shape; the loader needs every input's rank",
			       vi->name);
	int shape[NN_MAX_RANK];
	for (int d = 0; d < vi->rank; d++) {
		int64_t v = vi->dims[d];
		if (v > 0) {
			if (v > OX_MAX_DIM)
				return ox_fail(c, NN_ERR_FORMAT, "input '%s': dimension %d is %lld", vi->name, d, (long long)v);
			shape[d] = (int)v;
			continue;
		}
		const char *what = vi->params[d] ? vi->params[d] : "?";
		if (d == 0) {
			shape[d] = 1; /* the batch */
			continue;
		}
		/* Height and width of an image input: NCHW, or NHWC when the last dimension is 1 or 3. */
		int nhwc = vi->rank == 4 && vi->dims[3] > 0 && vi->dims[3] <= 4 && !(vi->dims[1] > 0 && vi->dims[1] <= 4);
		int hdim = nhwc ? 1 : 2, wdim = nhwc ? 2 : 3;
		int w = c->input_w ? c->input_w : c->meta_w, h = c->input_h ? c->input_h : c->meta_h;
		if (vi->rank == 4 && (d == hdim || d == wdim) && w > 0 && h > 0) {
			shape[d] = d == hdim ? h : w;
			continue;
		}
		return ox_fail(c, NN_ERR_SHAPE,
			       "input '%s': dimension %d ('%s', the %s) has no size in the file; give it with "
			       "--input-size WxH (or input_size in the sidecar)",
			       vi->name, d, what,
			       vi->rank == 4 && d == hdim ? "height" : vi->rank == 4 && d == wdim ? "width" : "dimension");
	}
	int t = ox_tensor(c, vi->name, dt, vi->rank, shape);
	if (t < 0)
		return t;
	int i = ox_value_find(c, vi->name, 1);
	if (i < 0)
		return NN_ERR_NOMEM;
	c->vals[i].t = t;
	int *ins = realloc(c->g->inputs, ((size_t)c->g->n_inputs + 1) * sizeof *ins);
	if (!ins)
		return ox_fail(c, NN_ERR_NOMEM, "out of memory");
	c->g->inputs = ins;
	ins[c->g->n_inputs++] = t;
	return 0;
}

/* Kahn's sort of the nodes; a cycle or an input nobody produces is an error naming the node. */
static int sort_nodes(ox *c)
{
	int n = c->n_nodes;
	c->order = ox_alloc(c, ((size_t)n + 1) * sizeof *c->order);
	int *queue = ox_alloc(c, ((size_t)n + 1) * sizeof *queue);
	if (!c->order || !queue)
		return NN_ERR_NOMEM;
	/* Producer of each value. */
	for (int i = 0; i < n; i++) {
		ox_node *x = &c->nodes[i];
		for (int k = 0; k < x->n_out; k++) {
			if (!x->out[k][0])
				continue;
			int v = ox_value_find(c, x->out[k], 1);
			if (v < 0)
				return NN_ERR_NOMEM;
			if (c->vals[v].producer >= 0 || c->vals[v].t >= 0 || c->vals[v].c) {
				c->cur = x;
				return ox_nfail(c, NN_ERR_FORMAT, "output '%s' is also produced elsewhere (an input, an "
								  "initializer or another node)", x->out[k]);
			}
			c->vals[v].producer = i;
		}
	}
	/* Count pending inputs; remember readers by scanning (n is small enough for O(edges) per step with an index). */
	int total_edges = 0;
	for (int i = 0; i < n; i++) {
		ox_node *x = &c->nodes[i];
		x->pending = 0;
		for (int k = 0; k < x->n_in; k++) {
			if (!x->in[k][0])
				continue;
			int v = ox_value_find(c, x->in[k], 0);
			if (v < 0 || (c->vals[v].producer < 0 && c->vals[v].t < 0 && !c->vals[v].c)) {
				c->cur = x;
				return ox_nfail(c, NN_ERR_FORMAT,
						"input '%s' is not a graph input, an initializer or any node's output",
						x->in[k]);
			}
			if (c->vals[v].producer >= 0) {
				x->pending++;
				total_edges++;
			}
		}
	}
	/* Reader lists per producing node. */
	int *start = ox_alloc(c, ((size_t)n + 1) * sizeof *start);
	int *list = ox_alloc(c, ((size_t)total_edges + 1) * sizeof *list);
	int *fill = ox_alloc(c, ((size_t)n + 1) * sizeof *fill);
	if (!start || !list || !fill)
		return NN_ERR_NOMEM;
	for (int i = 0; i < n; i++)
		for (int k = 0; k < c->nodes[i].n_in; k++)
			if (c->nodes[i].in[k][0]) {
				int p = c->vals[ox_value_find(c, c->nodes[i].in[k], 0)].producer;
				if (p >= 0)
					start[p + 1]++;
			}
	for (int i = 0; i < n; i++)
		start[i + 1] += start[i];
	for (int i = 0; i < n; i++)
		for (int k = 0; k < c->nodes[i].n_in; k++)
			if (c->nodes[i].in[k][0]) {
				int p = c->vals[ox_value_find(c, c->nodes[i].in[k], 0)].producer;
				if (p >= 0)
					list[start[p] + fill[p]++] = i;
			}
	int head = 0, tail = 0;
	for (int i = 0; i < n; i++)
		if (!c->nodes[i].pending)
			queue[tail++] = i;
	int placed = 0;
	while (head < tail) {
		int i = queue[head++];
		c->order[placed++] = i;
		for (int j = start[i]; j < start[i + 1]; j++)
			if (--c->nodes[list[j]].pending == 0)
				queue[tail++] = list[j];
	}
	if (placed < n) {
		for (int i = 0; i < n; i++)
			if (c->nodes[i].pending) {
				c->cur = &c->nodes[i];
				return ox_nfail(c, NN_ERR_FORMAT, "the graph has a cycle through this node");
			}
	}
	return 0;
}

static void poison_outputs(ox *c, const ox_node *n)
{
	for (int k = 0; k < n->n_out; k++) {
		if (!n->out[k][0])
			continue;
		int i = ox_value_find(c, n->out[k], 1);
		if (i >= 0)
			c->vals[i].poisoned = 1;
	}
}

static int map_all(ox *c)
{
	for (int j = 0; j < c->n_nodes; j++) {
		ox_node *n = &c->nodes[c->order[j]];
		c->cur = n;
		int poisoned = 0;
		for (int k = 0; k < n->n_in; k++) {
			ox_value *v = ox_in(c, n, k);
			if (v && v->poisoned)
				poisoned = 1;
		}
		if (poisoned) {
			/* Still name an op we lack: the message lists every problem at once. */
			if (!ox_op_known(n->domain, n->op))
				ox_unsupported(c, "operator %s%s%s is not supported", n->op, n->domain[0] ? " of domain " : "",
					       n->domain);
			poison_outputs(c, n);
			continue;
		}
		int rc = ox_eval_node(c, n);
		if (rc == 0 && !ox_op_known(n->domain, n->op)) {
			if (n->domain[0] && strcmp(n->domain, "ai.onnx"))
				rc = ox_unsupported(c, "operator %s of domain %s is not supported", n->op, n->domain);
			else
				rc = ox_unsupported(c, "operator %s is not supported", n->op);
		} else if (rc == 0) {
			rc = ox_map_node(c, n);
		}
		if (rc < 0)
			return rc;
		if (rc == 1) {
			poison_outputs(c, n);
			continue;
		}
		for (int k = 0; k < n->n_out; k++) {
			ox_value *v = NULL;
			if (n->out[k][0]) {
				int i = ox_value_find(c, n->out[k], 0);
				v = i >= 0 ? &c->vals[i] : NULL;
			}
			if (n->out[k][0] && (!v || !ox_has_value(v)) && k == 0)
				return ox_nfail(c, NN_ERR_FORMAT, "the mapping left output '%s' without a value", n->out[k]);
		}
	}
	c->cur = NULL;
	return 0;
}

static int add_outputs(ox *c, nn_pb graph)
{
	nn_pb it = graph;
	nn_pb_field f;
	while (nn_pb_next(&it, &f) > 0) {
		if (f.number != 12 || f.wire != NN_PB_LEN)
			continue;
		vinfo vi = { 0 };
		int rc = read_value_info(c, nn_pb_sub(&f), &vi);
		if (rc < 0)
			return rc;
		int i = ox_value_find(c, vi.name, 0);
		if (i < 0 || !ox_has_value(&c->vals[i]))
			return ox_fail(c, NN_ERR_FORMAT, "graph output '%s' is not produced by any node", vi.name);
		if (c->vals[i].poisoned)
			return ox_fail(c, NN_ERR_UNSUPPORTED, "graph output '%s' depends on unsupported nodes", vi.name);
		int t = c->vals[i].lz_src >= 0 || c->vals[i].t >= 0 ? ox_value_tensor(c, i) : -1;
		if (c->vals[i].lz_src >= 0 && t < 0)
			return t;
		int need_copy = t < 0 || ox_T(c, t)->is_const || nn_graph_is_output(c->g, t) ||
				(ox_T(c, t)->name && strcmp(ox_T(c, t)->name, vi.name));
		for (int k = 0; k < c->g->n_inputs; k++)
			if (c->g->inputs[k] == t)
				need_copy = 1;
		if (need_copy) {
			c->cur = NULL;
			if (t < 0) {
				char nm[512];
				snprintf(nm, sizeof nm, "%s/const", vi.name);
				if ((t = ox_const_tensor(c, c->vals[i].c, nm)) < 0)
					return t;
			}
			nn_tensor *x = ox_T(c, t);
			int shape[NN_MAX_RANK];
			memcpy(shape, x->shape, sizeof shape);
			int y = ox_tensor(c, vi.name, x->dtype, x->rank, shape);
			if (y < 0)
				return y;
			if (!ox_emit(c, NULL, NN_OP_RESHAPE, 1, &t, 1, &y))
				return NN_ERR_NOMEM;
			free(c->g->nodes[c->g->n_nodes - 1].name);
			c->g->nodes[c->g->n_nodes - 1].name = strdup(vi.name);
			t = y;
		}
		int *outs = realloc(c->g->outputs, ((size_t)c->g->n_outputs + 1) * sizeof *outs);
		if (!outs)
			return ox_fail(c, NN_ERR_NOMEM, "out of memory");
		c->g->outputs = outs;
		outs[c->g->n_outputs++] = t;
	}
	if (!c->g->n_outputs)
		return ox_fail(c, NN_ERR_FORMAT, "the graph has no outputs");
	return 0;
}

static int read_graph(ox *c, nn_pb graph)
{
	nn_pb it = graph;
	nn_pb_field f;
	int rc, n_nodes = 0;
	while ((rc = nn_pb_next(&it, &f)) > 0)
		if (f.number == 1 && f.wire == NN_PB_LEN)
			n_nodes++;
	if (rc < 0)
		return pb_error(c, rc, "GraphProto");
	if (n_nodes > OX_MAX_ITEMS)
		return ox_fail(c, NN_ERR_UNSUPPORTED, "the graph has %d nodes", n_nodes);
	if (!(c->nodes = ox_alloc(c, ((size_t)n_nodes + 1) * sizeof *c->nodes)))
		return NN_ERR_NOMEM;
	/* Initializers first: old files also list them as inputs. */
	it = graph;
	while (nn_pb_next(&it, &f) > 0) {
		if (f.wire != NN_PB_LEN)
			continue;
		if (f.number == 5) {
			ox_val *v;
			const char *name;
			if ((rc = read_tensor(c, nn_pb_sub(&f), "initializer", &v, &name)) < 0)
				return rc;
			if (!name[0])
				return ox_fail(c, NN_ERR_FORMAT, "an initializer has no name");
			int i = ox_value_find(c, name, 1);
			if (i < 0)
				return NN_ERR_NOMEM;
			c->vals[i].c = v;
		} else if (f.number == 15) {
			return ox_fail(c, NN_ERR_UNSUPPORTED, "sparse initializers are not supported");
		}
	}
	for (int k = 0; k < c->n_consts; k++) {
		ox_val *v;
		const char *name;
		if ((rc = read_tensor(c, nn_pb_of(c->const_data[k], c->const_len[k]), "constant input", &v, &name)) < 0)
			return rc;
		int i = ox_value_find(c, name, 1);
		if (i < 0)
			return NN_ERR_NOMEM;
		c->vals[i].c = v;
	}
	it = graph;
	while (nn_pb_next(&it, &f) > 0) {
		if (f.wire != NN_PB_LEN)
			continue;
		if (f.number == 11) {
			vinfo vi = { 0 };
			if ((rc = read_value_info(c, nn_pb_sub(&f), &vi)) < 0)
				return rc;
			int i = ox_value_find(c, vi.name, 0);
			if (i >= 0 && c->vals[i].c)
				continue; /* an initializer listed as an input: a default we keep */
			if (i >= 0 && c->vals[i].t >= 0)
				return ox_fail(c, NN_ERR_FORMAT, "input '%s' is listed twice", vi.name);
			if ((rc = add_input(c, &vi)) < 0)
				return rc;
		} else if (f.number == 1) {
			if ((rc = read_node(c, nn_pb_sub(&f), c->n_nodes, &c->nodes[c->n_nodes])) < 0)
				return rc;
			c->n_nodes++;
		}
	}
	if ((rc = sort_nodes(c)) < 0 || (rc = map_all(c)) < 0)
		return rc;
	if (c->n_unsupported) {
		if (c->n_unsupported > 1)
			return ox_fail(c, NN_ERR_UNSUPPORTED, "%d nodes cannot be loaded: %s", c->n_unsupported,
				       c->unsupported_list);
		return ox_fail(c, NN_ERR_UNSUPPORTED, "%s", c->unsupported_msg);
	}
	return add_outputs(c, graph);
}

int nn_onnx_load_buffer(nn_graph **out, const void *data, size_t len, const char *path, const nn_onnx_options *o,
			char *err, size_t errlen)
{
	*out = NULL;
	ox c = { .src = path ? path : "onnx", .err = err, .errlen = errlen };
	if (err && errlen)
		err[0] = '\0';
	c.input_w = o ? o->input_w : 0;
	c.input_h = o ? o->input_h : 0;
	if (o && o->n_consts > 0) {
		c.n_consts = o->n_consts;
		c.const_data = o->const_data;
		c.const_len = o->const_len;
	}
	c.g = nn_graph_create(c.src);
	if (!c.g)
		return ox_fail(&c, NN_ERR_NOMEM, "out of memory");
	model_parts mp = { 0 };
	int rc = read_model(&c, data, len, &mp, 1);
	if (rc >= 0) {
		read_imgsz(&c);
		rc = read_graph(&c, nn_pb_of(mp.graph, mp.graph_len));
	}
	if (rc >= 0) {
		char origin[256];
		snprintf(origin, sizeof origin, "ONNX model, IR version %lld, opset %d%s%s%s%s", mp.ir_version, c.opset,
			 mp.producer[0] ? ", producer " : "", mp.producer, mp.producer_version[0] ? " " : "",
			 mp.producer_version);
		if (!(c.g->origin = strdup(origin)))
			rc = ox_fail(&c, NN_ERR_NOMEM, "out of memory");
	}
	free(c.names);
	free(c.vals);
	nn_name_map_free(&c.map);
	arena_free(&c);
	if (rc < 0) {
		if (!c.failed)
			ox_fail(&c, rc, "cannot load the model");
		nn_graph_free(c.g);
		return rc;
	}
	*out = c.g;
	return 0;
}

int nn_onnx_read_tensor(const void *data, size_t len, nn_tensor *t, char *err, size_t errlen)
{
	ox c = { .src = "tensor", .err = err, .errlen = errlen };
	memset(t, 0, sizeof *t);
	ox_val *v;
	const char *name;
	int rc = read_tensor(&c, nn_pb_of(data, len), "TensorProto", &v, &name);
	if (rc >= 0) {
		nn_dtype dt = NN_F32;
		if (!ox_is_float(v->dtype) && ox_dtype_to_nn(v->dtype, &dt) < 0)
			rc = ox_fail(&c, NN_ERR_UNSUPPORTED, "data type %s", ox_dtype_name(v->dtype));
		t->dtype = dt;
		t->rank = v->rank;
		for (int d = 0; d < v->rank && rc >= 0; d++) {
			if (v->dims[d] > OX_MAX_DIM)
				rc = ox_fail(&c, NN_ERR_UNSUPPORTED, "dimension %d", d);
			t->shape[d] = (int)v->dims[d];
		}
		if (rc >= 0 && (!(t->name = strdup(name)) || !(t->data = calloc(1, nn_tensor_bytes(t) + 1))))
			rc = ox_fail(&c, NN_ERR_NOMEM, "out of memory");
		for (int64_t k = 0; rc >= 0 && k < v->n; k++) {
			switch (dt) {
			case NN_F32: ((float *)t->data)[k] = v->f[k]; break;
			case NN_U8: case NN_BOOL: ((uint8_t *)t->data)[k] = (uint8_t)v->i[k]; break;
			case NN_I8: ((int8_t *)t->data)[k] = (int8_t)v->i[k]; break;
			case NN_I16: ((int16_t *)t->data)[k] = (int16_t)v->i[k]; break;
			case NN_I32: ((int32_t *)t->data)[k] = (int32_t)v->i[k]; break;
			case NN_I64: ((int64_t *)t->data)[k] = v->i[k]; break;
			default: break;
			}
		}
	}
	arena_free(&c);
	if (rc < 0) {
		free(t->name);
		free(t->data);
		memset(t, 0, sizeof *t);
	}
	return rc;
}
