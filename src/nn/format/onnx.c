/*
 * The ONNX loader: ModelProto and GraphProto read with pb.c (field numbers
 * from onnx.proto; the messages inside them in onnx_proto.c), the graph
 * sorted, and each node mapped (onnx_ops*.c) or evaluated at load time
 * (onnx_eval.c).
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

/* dst = "a: b" (just "b" when a is empty; "a b" when a is a separator ";"), cut to cap. */
static void join(char *dst, size_t cap, const char *a, const char *b)
{
	size_t k = 0;
	for (const char *s = a; *s && k + 1 < cap; s++)
		dst[k++] = *s;
	for (const char *s = !*a ? "" : !strcmp(a, ";") ? " " : ": "; *s && k + 1 < cap; s++)
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
		join(c->unsupported_list + k, sizeof c->unsupported_list - k, k ? ";" : "", item);
	else if (k + 6 < sizeof c->unsupported_list && !strstr(c->unsupported_list, "; ..."))
		join(c->unsupported_list + k, sizeof c->unsupported_list - k, ";", "...");
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
	if (a->n > 0)
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
	/* Unsigned types the IR lacks, held in a signed type wide enough for every value (uint64 up to 2^63 - 1). */
	case OX_UINT16: *dt = NN_I32; return 0;
	case OX_UINT32: case OX_UINT64: *dt = NN_I64; return 0;
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
	if (k >= n->n_out || !n->out[k][0])
		return ox_nfail(c, NN_ERR_FORMAT, "output %d is missing", k);
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
	if (k >= n->n_out || !n->out[k][0])
		return ox_nfail(c, NN_ERR_FORMAT, "output %d is missing", k);
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
	if (k >= n->n_out || !n->out[k][0])
		return ox_nfail(c, NN_ERR_FORMAT, "output %d is missing", k);
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
	/* What keeps the rows of a tensor whose row count is known only at run time has one too (for Shape). */
	for (int i = 0; i < n_in; i++)
		for (int k = 0; in[i] >= 0 && ox_T(c, in[i])->dynamic_rows && k < n_out; k++)
			if (ox_T(c, out[k])->rank >= 1 && ox_T(c, out[k])->shape[0] == ox_T(c, in[i])->shape[0])
				ox_T(c, out[k])->dynamic_rows = 1;
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
				return ox_pb_error(c, rc2, "opset_import");
			if (!domain[0] || !strcmp(domain, "ai.onnx")) {
				/* Opsets 1 to 6: onnx_opset.c refuses the ops whose meaning changed by 7. */
				if (version < 1 || version > 21)
					return ox_fail(c, NN_ERR_UNSUPPORTED,
						       "opset %lld of the default domain (ai.onnx) is not supported (1 to 21 are)",
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
					return ox_pb_error(c, rc2, "metadata_props");
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
		return ox_pb_error(c, rc, "ModelProto (truncated or corrupt file?)");
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

static int add_input(ox *c, const ox_vinfo *vi)
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
		if (n->n_out < 1 || !n->out[0][0])
			return ox_nfail(c, NN_ERR_FORMAT, "the node has no output");
		if (n->fused)
			continue;
		if (poisoned) {
			/* Still name an op we lack: the message lists every problem at once. */
			if (!ox_op_known(n->domain, n->op))
				ox_unsupported(c, "operator %s%s%s is not supported", n->op, n->domain[0] ? " of domain " : "",
					       n->domain);
			poison_outputs(c, n);
			continue;
		}
		int rc = ox_opset_check(c, n);
		if (rc == 0)
			rc = ox_eval_node(c, n);
		if (rc == 0 && (rc = ox_qdq_map(c, n)) == 2)
			continue;
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
		ox_vinfo vi = { 0 };
		int rc = ox_read_value_info(c, nn_pb_sub(&f), &vi);
		if (rc < 0)
			return rc;
		int i = ox_value_find(c, vi.name, 0);
		if (i < 0 || !ox_has_value(&c->vals[i]))
			return ox_fail(c, NN_ERR_FORMAT, "graph output '%s' is not produced by any node", vi.name);
		if (c->vals[i].poisoned)
			return ox_fail(c, NN_ERR_UNSUPPORTED, "graph output '%s' depends on unsupported nodes", vi.name);
		if (vi.elem == OX_BFLOAT16)
			/* Load-time values hold it as float32; the IR has no bfloat16 to give the caller. */
			return ox_fail(c, NN_ERR_UNSUPPORTED, "graph output '%s' of type bfloat16 is not supported", vi.name);
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
		return ox_pb_error(c, rc, "GraphProto");
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
			if ((rc = ox_read_tensor(c, nn_pb_sub(&f), "initializer", &v, &name)) < 0)
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
		if ((rc = ox_read_tensor(c, nn_pb_of(c->const_data[k], c->const_len[k]), "constant input", &v, &name)) < 0)
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
			ox_vinfo vi = { 0 };
			if ((rc = ox_read_value_info(c, nn_pb_sub(&f), &vi)) < 0)
				return rc;
			int i = ox_value_find(c, vi.name, 0);
			if (i >= 0 && c->vals[i].c && vi.elem && vi.elem != c->vals[i].c->dtype)
				/* ONNX 1.12's test data holds bfloat16 inputs as uint16: not the same numbers. */
				return ox_fail(c, NN_ERR_UNSUPPORTED, "input '%s' is declared %s but given as %s", vi.name,
					       ox_dtype_name(vi.elem), ox_dtype_name(c->vals[i].c->dtype));
			if (i >= 0 && c->vals[i].c)
				continue; /* an initializer listed as an input: a default we keep */
			if (i >= 0 && c->vals[i].t >= 0)
				return ox_fail(c, NN_ERR_FORMAT, "input '%s' is listed twice", vi.name);
			if ((rc = add_input(c, &vi)) < 0)
				return rc;
		} else if (f.number == 1) {
			if ((rc = ox_read_node(c, nn_pb_sub(&f), c->n_nodes, &c->nodes[c->n_nodes])) < 0)
				return rc;
			c->n_nodes++;
		}
	}
	ox_qdq_scan(c, graph);
	if ((rc = sort_nodes(c)) < 0 || (rc = map_all(c)) < 0)
		return rc;
	if (c->n_unsupported) {
		if (c->n_unsupported > 1)
			return ox_fail(c, NN_ERR_UNSUPPORTED, "%d nodes cannot be loaded: %s", c->n_unsupported,
				       c->unsupported_list);
		return ox_fail(c, NN_ERR_UNSUPPORTED, "%s", c->unsupported_msg);
	}
	if ((rc = add_outputs(c, graph)) < 0)
		return rc;
	ox_qdq_prune(c);
	return rc;
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
	int rc = ox_read_tensor(&c, nn_pb_of(data, len), "TensorProto", &v, &name);
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
