#ifndef GRAPHDEF_BUILDER_H
#define GRAPHDEF_BUILDER_H

/*
 * TensorFlow GraphDef messages for tests and seed corpora, written with
 * pb_builder.h. Field numbers are from tensorflow/core/framework/
 * {graph,node_def,attr_value,tensor,tensor_shape}.proto, written out here
 * again rather than shared with the reader, so that a wrong number in the
 * reader cannot hide from its tests.
 *
 *   pbb g = { 0 };
 *   gd_placeholder(&g, "x", GD_FLOAT, 4, (int64_t[]){ 1, 8, 8, 3 });
 *   pbb n = gd_node("y", "Relu");
 *   gd_input(&n, "x");
 *   gd_attr_type(&n, "T", GD_FLOAT);
 *   gd_add(&g, &n);
 */

#include "pb_builder.h"

enum { GD_FLOAT = 1, GD_DOUBLE = 2, GD_INT32 = 3, GD_UINT8 = 4, GD_STRING = 7, GD_INT64 = 9, GD_BOOL = 10,
       GD_QUINT8 = 12, GD_HALF = 19 };
/* TensorProto. */
enum { GD_T_DTYPE = 1, GD_T_SHAPE = 2, GD_T_CONTENT = 4, GD_T_FLOAT = 5, GD_T_DOUBLE = 6, GD_T_INT = 7,
       GD_T_STRING = 8, GD_T_SCOMPLEX = 9, GD_T_INT64 = 10, GD_T_BOOL = 11, GD_T_HALF = 13, GD_T_UINT32 = 16,
       GD_T_UINT64 = 17 };
/* AttrValue. */
enum { GD_A_LIST = 1, GD_A_S = 2, GD_A_I = 3, GD_A_F = 4, GD_A_B = 5, GD_A_TYPE = 6, GD_A_SHAPE = 7,
       GD_A_TENSOR = 8, GD_A_PLACEHOLDER = 9, GD_A_FUNC = 10 };

/* A TensorShapeProto as field `number` of b (each dim with a name, which readers skip). */
static inline void gd_shape(pbb *b, uint32_t number, int rank, const int64_t *dims)
{
	pbb s = { 0 };
	for (int i = 0; i < rank; i++) {
		pbb d = { 0 };
		pbb_int(&d, 1, dims[i]);
		pbb_str(&d, 2, "n");
		pbb_msg(&s, 2, &d);
	}
	pbb_msg(b, number, &s);
}

/* The start of a TensorProto: dtype and shape; add values with pbb_* on GD_T_* fields. */
static inline pbb gd_tensor(int dtype, int rank, const int64_t *dims)
{
	pbb t = { 0 };
	pbb_int(&t, GD_T_DTYPE, dtype);
	gd_shape(&t, GD_T_SHAPE, rank, dims);
	return t;
}

static inline pbb gd_node(const char *name, const char *op)
{
	pbb n = { 0 };
	pbb_str(&n, 1, name);
	pbb_str(&n, 2, op);
	return n;
}

static inline void gd_input(pbb *n, const char *input)
{
	pbb_str(n, 3, input);
}

/* An attr map entry {key, value} (value freed). */
static inline void gd_attr(pbb *n, const char *key, pbb *value)
{
	pbb e = { 0 };
	pbb_str(&e, 1, key);
	pbb_msg(&e, 2, value);
	pbb_msg(n, 5, &e);
}

static inline void gd_attr_type(pbb *n, const char *key, int dtype)
{
	pbb v = { 0 };
	pbb_int(&v, GD_A_TYPE, dtype);
	gd_attr(n, key, &v);
}

static inline void gd_attr_i(pbb *n, const char *key, int64_t i)
{
	pbb v = { 0 };
	pbb_int(&v, GD_A_I, i);
	gd_attr(n, key, &v);
}

static inline void gd_attr_f(pbb *n, const char *key, float f)
{
	pbb v = { 0 };
	pbb_float(&v, GD_A_F, f);
	gd_attr(n, key, &v);
}

static inline void gd_attr_b(pbb *n, const char *key, int b)
{
	pbb v = { 0 };
	pbb_int(&v, GD_A_B, b);
	gd_attr(n, key, &v);
}

static inline void gd_attr_s(pbb *n, const char *key, const char *s)
{
	pbb v = { 0 };
	pbb_str(&v, GD_A_S, s);
	gd_attr(n, key, &v);
}

static inline void gd_attr_ints(pbb *n, const char *key, int count, const int64_t *ints)
{
	pbb v = { 0 }, l = { 0 };
	pbb_packed_varints(&l, 3, ints, count);
	pbb_msg(&v, GD_A_LIST, &l);
	gd_attr(n, key, &v);
}

static inline void gd_attr_shape(pbb *n, const char *key, int rank, const int64_t *dims)
{
	pbb v = { 0 };
	gd_shape(&v, GD_A_SHAPE, rank, dims);
	gd_attr(n, key, &v);
}

/* The tensor is freed. */
static inline void gd_attr_tensor(pbb *n, const char *key, pbb *tensor)
{
	pbb v = { 0 };
	pbb_msg(&v, GD_A_TENSOR, tensor);
	gd_attr(n, key, &v);
}

/* Adds the node to the graph and frees it. */
static inline void gd_add(pbb *g, pbb *node)
{
	pbb_msg(g, 1, node);
}

/* A Placeholder; rank -1 leaves the shape attr out. */
static inline void gd_placeholder(pbb *g, const char *name, int dtype, int rank, const int64_t *dims)
{
	pbb n = gd_node(name, "Placeholder");
	gd_attr_type(&n, "dtype", dtype);
	if (rank >= 0)
		gd_attr_shape(&n, "shape", rank, dims);
	gd_add(g, &n);
}

/* A Const whose value is the tensor (freed). */
static inline void gd_const(pbb *g, const char *name, int dtype, pbb *tensor)
{
	pbb n = gd_node(name, "Const");
	gd_attr_type(&n, "dtype", dtype);
	gd_attr_tensor(&n, "value", tensor);
	gd_add(g, &n);
}

/* A float Const from count values in tensor_content (count 1 and more elements: float_val, broadcast). */
static inline void gd_const_f32(pbb *g, const char *name, int rank, const int64_t *dims, const float *v, int count)
{
	pbb t = gd_tensor(GD_FLOAT, rank, dims);
	if (count == 1)
		pbb_float(&t, GD_T_FLOAT, v[0]);
	else
		pbb_bytes(&t, GD_T_CONTENT, v, (size_t)count * sizeof *v);
	gd_const(g, name, GD_FLOAT, &t);
}

/* An int32 Const, packed int_val. */
static inline void gd_const_i32(pbb *g, const char *name, int rank, const int64_t *dims, const int64_t *v, int count)
{
	pbb t = gd_tensor(GD_INT32, rank, dims);
	pbb_packed_varints(&t, GD_T_INT, v, count);
	gd_const(g, name, GD_INT32, &t);
}

#endif
