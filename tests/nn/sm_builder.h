/*
 * saved_model.pb files for the tests and the fuzz corpus, built with
 * pb_builder.h in the two shapes the real files have: keras_like() (a
 * serving_default signature calling nested functions over resource
 * variables w and b, as Keras writes them) and bare_function() (no
 * signature; the root object a bare concrete function over a captured
 * constant, as onnx2tf writes them).
 */
#ifndef SM_BUILDER_H
#define SM_BUILDER_H

#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "pb_builder.h"

/* ---- messages ---- */

static inline void attr_begin(pbb *e, const char *key)
{
	memset(e, 0, sizeof *e);
	pbb_str(e, 1, key);
}

static inline void attr_type(pbb *n, const char *key, int type)
{
	pbb e, v = { 0 };
	attr_begin(&e, key);
	pbb_int(&v, 6, type);
	pbb_msg(&e, 2, &v);
	pbb_msg(n, 5, &e);
}

static inline void attr_int(pbb *n, const char *key, int64_t i)
{
	pbb e, v = { 0 };
	attr_begin(&e, key);
	pbb_int(&v, 3, i);
	pbb_msg(&e, 2, &v);
	pbb_msg(n, 5, &e);
}

static inline void attr_str(pbb *n, const char *key, const char *s)
{
	pbb e, v = { 0 };
	attr_begin(&e, key);
	pbb_str(&v, 2, s);
	pbb_msg(&e, 2, &v);
	pbb_msg(n, 5, &e);
}

static inline void attr_func(pbb *n, const char *key, const char *name)
{
	pbb e, v = { 0 }, f = { 0 };
	attr_begin(&e, key);
	pbb_str(&f, 1, name);
	pbb_msg(&v, 10, &f);
	pbb_msg(&e, 2, &v);
	pbb_msg(n, 5, &e);
}

static inline void shape_msg(pbb *s, int rank, const int64_t *dims)
{
	memset(s, 0, sizeof *s);
	for (int i = 0; i < rank; i++) {
		pbb d = { 0 };
		pbb_int(&d, 1, dims[i]);
		pbb_msg(s, 2, &d);
	}
}

static inline void attr_shape(pbb *n, const char *key, int rank, const int64_t *dims)
{
	pbb e, v = { 0 }, s;
	attr_begin(&e, key);
	shape_msg(&s, rank, dims);
	pbb_msg(&v, 7, &s);
	pbb_msg(&e, 2, &v);
	pbb_msg(n, 5, &e);
}

/* A scalar int32 Const's value attr. */
static inline void attr_i32(pbb *n, const char *key, int32_t value)
{
	pbb e, v = { 0 }, t = { 0 }, s = { 0 };
	attr_begin(&e, key);
	pbb_int(&t, 1, 3);
	pbb_msg(&t, 2, &s);
	pbb_int(&t, 7, value);
	pbb_msg(&v, 8, &t);
	pbb_msg(&e, 2, &v);
	pbb_msg(n, 5, &e);
}

/* Starts a NodeDef: name, op and inputs (NULL-terminated); attrs are added to it before node_end. */
static inline pbb node_begin(const char *name, const char *op, ...)
{
	pbb n = { 0 };
	pbb_str(&n, 1, name);
	pbb_str(&n, 2, op);
	va_list ap;
	va_start(ap, op);
	for (const char *in; (in = va_arg(ap, const char *));)
		pbb_str(&n, 3, in);
	va_end(ap);
	return n;
}

static inline void arg(pbb *sig, uint32_t field, const char *name, int type)
{
	pbb a = { 0 };
	pbb_str(&a, 1, name);
	pbb_int(&a, 3, type);
	pbb_msg(sig, field, &a);
}

static inline void map_str(pbb *m, uint32_t field, const char *k, const char *v)
{
	pbb e = { 0 };
	pbb_str(&e, 1, k);
	pbb_str(&e, 2, v);
	pbb_msg(m, field, &e);
}

static inline void tensor_info(pbb *sig, uint32_t field, const char *key, const char *name, int rank, const int64_t *dims)
{
	pbb e = { 0 }, ti = { 0 }, s;
	pbb_str(&e, 1, key);
	pbb_str(&ti, 1, name);
	pbb_int(&ti, 2, 1);
	shape_msg(&s, rank, dims);
	pbb_msg(&ti, 3, &s);
	pbb_msg(&e, 2, &ti);
	pbb_msg(sig, field, &e);
}

static inline void child(pbb *o, int id, const char *name)
{
	pbb r = { 0 };
	pbb_int(&r, 1, id);
	pbb_str(&r, 2, name);
	pbb_msg(o, 1, &r);
}

/* Wraps a graph_def, signatures and object graph into a SavedModel with one MetaGraphDef tagged serve. */
static inline pbb saved_model(pbb *graph, pbb *sigs, pbb *objects)
{
	pbb mg = { 0 }, mi = { 0 }, sm = { 0 };
	pbb_str(&mi, 4, "serve");
	pbb_msg(&mg, 1, &mi);
	pbb_msg(&mg, 2, graph);
	if (sigs->len)
		pbb_raw(&mg, sigs->p, sigs->len);
	pbb_free(sigs);
	if (objects)
		pbb_msg(&mg, 7, objects);
	pbb_int(&sm, 1, 1);
	pbb_msg(&sm, 2, &mg);
	return sm;
}

/* ---- a Keras-like model: serving_default -> wrapper -> dense, over variables w and b ---- */

enum { FLAW_NONE, FLAW_RECURSIVE, FLAW_ARITY, FLAW_TWO_ARGS };

static inline pbb keras_like(int flaw)
{
	pbb g = { 0 }, n, lib = { 0 }, f, sig, nn;
	int64_t xdims[2] = { -1, 2 };
	n = node_begin("serving_default_x", "Placeholder", NULL);
	attr_type(&n, "dtype", 1);
	attr_shape(&n, "shape", 2, xdims);
	pbb_msg(&g, 1, &n);
	n = node_begin("w", "VarHandleOp", NULL);
	attr_str(&n, "shared_name", "w");
	attr_type(&n, "dtype", 1);
	pbb_msg(&g, 1, &n);
	n = node_begin("b", "VarHandleOp", NULL);
	attr_str(&n, "shared_name", "b");
	attr_type(&n, "dtype", 1);
	pbb_msg(&g, 1, &n);
	n = node_begin("StatefulPartitionedCall", "StatefulPartitionedCall", "serving_default_x", "w", "b", NULL);
	attr_func(&n, "f", "__inference_wrapper_1");
	pbb_msg(&g, 1, &n);
	n = node_begin("saver", "StatefulPartitionedCall", "w", NULL);
	attr_func(&n, "f", "__inference_save_3");
	pbb_msg(&g, 1, &n);

	/* wrapper(x, w_res, b_res) -> (identity, identity_1) */
	f = (pbb){ 0 };
	sig = (pbb){ 0 };
	pbb_str(&sig, 1, "__inference_wrapper_1");
	arg(&sig, 2, "x", 1);
	arg(&sig, 2, "w_res", 20);
	arg(&sig, 2, "b_res", 20);
	arg(&sig, 3, "identity", 1);
	arg(&sig, 3, "identity_1", 3);
	pbb_msg(&f, 1, &sig);
	if (flaw == FLAW_ARITY)
		nn = node_begin("call", "StatefulPartitionedCall", "x", "w_res", NULL);
	else
		nn = node_begin("call", "StatefulPartitionedCall", "x", "w_res", "b_res", "^NoOp", NULL);
	attr_func(&nn, "f", flaw == FLAW_RECURSIVE ? "__inference_wrapper_1" : "__inference_dense_2");
	pbb_msg(&f, 3, &nn);
	nn = node_begin("NoOp", "NoOp", NULL);
	pbb_msg(&f, 3, &nn);
	nn = node_begin("Identity", "Identity", "call:output:0", "^NoOp", NULL);
	pbb_msg(&f, 3, &nn);
	nn = node_begin("Identity_1", "Identity", "call:output:1", NULL);
	pbb_msg(&f, 3, &nn);
	map_str(&f, 4, "identity", "Identity:output:0");
	map_str(&f, 4, "identity_1", "Identity_1:output:0");
	pbb_msg(&lib, 1, &f);

	/* dense(inputs, mm_res, ba_res) -> (identity, indices): MatMul, BiasAdd, Split, TopKV2 */
	f = (pbb){ 0 };
	sig = (pbb){ 0 };
	pbb_str(&sig, 1, "__inference_dense_2");
	arg(&sig, 2, "inputs", 1);
	arg(&sig, 2, "mm_res", 20);
	arg(&sig, 2, "ba_res", 20);
	arg(&sig, 3, "identity", 1);
	arg(&sig, 3, "indices", 3);
	pbb_msg(&f, 1, &sig);
	nn = node_begin("MatMul/ReadVariableOp", "ReadVariableOp", "mm_res", NULL);
	attr_type(&nn, "dtype", 1);
	pbb_msg(&f, 3, &nn);
	nn = node_begin("MatMul", "MatMul", "inputs", "MatMul/ReadVariableOp:value:0", NULL);
	pbb_msg(&f, 3, &nn);
	nn = node_begin("BiasAdd/ReadVariableOp", "ReadVariableOp", "ba_res", NULL);
	attr_type(&nn, "dtype", 1);
	pbb_msg(&f, 3, &nn);
	nn = node_begin("BiasAdd", "BiasAdd", "MatMul:product:0", "BiasAdd/ReadVariableOp:value:0", NULL);
	pbb_msg(&f, 3, &nn);
	nn = node_begin("split/dim", "Const", NULL);
	attr_type(&nn, "dtype", 3);
	attr_i32(&nn, "value", 1);
	pbb_msg(&f, 3, &nn);
	nn = node_begin("split", "Split", "split/dim:output:0", "BiasAdd:output:0", NULL);
	attr_int(&nn, "num_split", 2);
	pbb_msg(&f, 3, &nn);
	nn = node_begin("k", "Const", NULL);
	attr_type(&nn, "dtype", 3);
	attr_i32(&nn, "value", 1);
	pbb_msg(&f, 3, &nn);
	nn = node_begin("topk", "TopKV2", "BiasAdd:output:0", "k:output:0", NULL);
	pbb_msg(&f, 3, &nn);
	nn = node_begin("Identity", "Identity", "split:output:1", NULL);
	pbb_msg(&f, 3, &nn);
	nn = node_begin("Identity_1", "Identity", flaw == FLAW_TWO_ARGS ? "split:other:0" : "topk:indices:0", NULL);
	pbb_msg(&f, 3, &nn);
	map_str(&f, 4, "identity", "Identity:output:0");
	map_str(&f, 4, "indices", "Identity_1:output:0");
	pbb_msg(&lib, 1, &f);

	/* save(w_res): an op vigil does not run, which nothing the signature needs reaches. */
	f = (pbb){ 0 };
	sig = (pbb){ 0 };
	pbb_str(&sig, 1, "__inference_save_3");
	arg(&sig, 2, "w_res", 20);
	arg(&sig, 3, "identity", 7);
	pbb_msg(&f, 1, &sig);
	nn = node_begin("SaveV2", "SaveV2", "w_res", NULL);
	pbb_msg(&f, 3, &nn);
	nn = node_begin("Identity", "Identity", "SaveV2:output:0", NULL);
	pbb_msg(&f, 3, &nn);
	map_str(&f, 4, "identity", "Identity:output:0");
	pbb_msg(&lib, 1, &f);
	pbb_msg(&g, 2, &lib);

	pbb sigs = { 0 }, sd = { 0 }, e = { 0 };
	tensor_info(&sd, 1, "x", "serving_default_x:0", 2, xdims);
	tensor_info(&sd, 2, "out", "StatefulPartitionedCall:0", 2, xdims);
	tensor_info(&sd, 2, "idx", "StatefulPartitionedCall:1", 2, xdims);
	pbb_str(&sd, 3, "tensorflow/serving/predict");
	pbb_str(&e, 1, "serving_default");
	pbb_msg(&e, 2, &sd);
	pbb_msg(&sigs, 5, &e);
	sd = (pbb){ 0 };
	e = (pbb){ 0 };
	pbb_str(&sd, 3, "NoOp");
	pbb_str(&e, 1, "__saved_model_init_op");
	pbb_msg(&e, 2, &sd);
	pbb_msg(&sigs, 5, &e);

	/*
	 * Objects: 0 root -> 1 layer "layer_with_weights-0" -> 2 "kernel" (w), 3 "bias" (b); root -> 4
	 * "variables" -> 2 again, as Keras lists them: the first path a breadth-first walk finds names the key.
	 */
	pbb og = { 0 }, o, v;
	o = (pbb){ 0 };
	child(&o, 1, "layer_with_weights-0");
	child(&o, 4, "variables");
	pbb_msg(&og, 1, &o);
	o = (pbb){ 0 };
	child(&o, 2, "kernel");
	child(&o, 3, "bias");
	pbb_msg(&og, 1, &o);
	for (int i = 0; i < 2; i++) {
		o = (pbb){ 0 };
		v = (pbb){ 0 };
		pbb_int(&v, 1, 1);
		pbb_str(&v, 6, i ? "b" : "w");
		pbb_msg(&o, 7, &v);
		pbb_msg(&og, 1, &o);
	}
	o = (pbb){ 0 };
	child(&o, 2, "0");
	pbb_msg(&og, 1, &o);
	pbb cf = { 0 }, scf = { 0 };
	pbb_str(&cf, 1, "__inference_wrapper_1");
	pbb_packed_varints(&scf, 2, (const int64_t[]){ 2, 3 }, 2);
	pbb_msg(&cf, 2, &scf);
	pbb_msg(&og, 2, &cf);
	return saved_model(&g, &sigs, &og);
}

/* ---- an onnx2tf-like model: no signature; the root is a bare concrete function over captured constants ---- */

static inline pbb bare_function(void)
{
	pbb g = { 0 }, n, lib = { 0 }, f = { 0 }, sig = { 0 }, nn;
	n = node_begin("Const_1", "Const", NULL);
	attr_type(&n, "dtype", 3);
	attr_i32(&n, "value", 2);
	pbb_msg(&g, 1, &n);
	pbb_str(&sig, 1, "__inference_<lambda>_7");
	arg(&sig, 2, "inputs_0", 1);
	arg(&sig, 2, "capture", 3);
	arg(&sig, 3, "identity", 1);
	pbb_msg(&f, 1, &sig);
	nn = node_begin("Relu", "Relu", "inputs_0", NULL);
	pbb_msg(&f, 3, &nn);
	nn = node_begin("Identity", "Identity", "Relu:activations:0", "capture", NULL);
	pbb_msg(&f, 3, &nn);
	map_str(&f, 4, "identity", "Identity:output:0");
	pbb_msg(&lib, 1, &f);
	pbb_msg(&g, 2, &lib);

	pbb og = { 0 }, o = { 0 }, bare = { 0 };
	child(&o, 1, "capture_0");
	pbb_str(&bare, 1, "__inference_<lambda>_7");
	pbb_msg(&o, 8, &bare);
	pbb_msg(&og, 1, &o);
	o = (pbb){ 0 };
	pbb c = { 0 };
	pbb_str(&c, 1, "Const_1");
	pbb_msg(&o, 9, &c);
	pbb_msg(&og, 1, &o);
	/* canonicalized_input_signature: ((TensorSpec inputs_0 float [1,4,5,3],), {}) */
	pbb cf = { 0 }, scf = { 0 }, outer = { 0 }, args = { 0 }, spec = { 0 }, sv = { 0 }, shape, kw = { 0 }, kwv = { 0 };
	pbb_str(&spec, 1, "inputs_0");
	shape_msg(&shape, 4, (const int64_t[]){ 1, 4, 5, 3 });
	pbb_msg(&spec, 2, &shape);
	pbb_int(&spec, 3, 1);
	pbb_msg(&sv, 33, &spec);
	pbb_msg(&args, 1, &sv);
	pbb tv = { 0 };
	pbb_msg(&tv, 52, &args);
	pbb_msg(&outer, 1, &tv);
	pbb_msg(&kwv, 53, &kw);
	pbb_msg(&outer, 1, &kwv);
	pbb top = { 0 };
	pbb_msg(&top, 52, &outer);
	pbb_packed_varints(&scf, 2, (const int64_t[]){ 1 }, 1);
	pbb_msg(&scf, 3, &top);
	pbb_str(&cf, 1, "__inference_<lambda>_7");
	pbb_msg(&cf, 2, &scf);
	pbb_msg(&og, 2, &cf);
	pbb sigs = { 0 };
	return saved_model(&g, &sigs, &og);
}

#endif
