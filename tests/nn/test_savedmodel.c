/*
 * Tests of the SavedModel reader (src/nn/format/savedmodel*.c) up to the flat
 * TensorFlow graph it hands to nn_tf_build: saved_model.pb files built here
 * (pb_builder.h) in the two shapes the real files have (a Keras model whose
 * serving_default signature calls nested functions over resource
 * variables; an onnx2tf model with no signature whose root is a bare
 * concrete function over captured constants), checked node by node; the
 * refusals (a missing variable, a recursive call, a wrong number of call
 * inputs, an unknown output layout, bad checksums); every truncation and
 * bit flip of a file; and the two real SavedModels under
 * VG_ASSETS_DIR/models/savedmodel, skipped by name when absent.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/format/savedmodel.h"
#include "pb_builder.h"
#include "tb_writer.h"
#include "test.h"

#ifndef VG_ASSETS_DIR
#define VG_ASSETS_DIR "../shared/assets"
#endif

/* ---- messages ---- */

static void attr_begin(pbb *e, const char *key)
{
	memset(e, 0, sizeof *e);
	pbb_str(e, 1, key);
}

static void attr_type(pbb *n, const char *key, int type)
{
	pbb e, v = { 0 };
	attr_begin(&e, key);
	pbb_int(&v, 6, type);
	pbb_msg(&e, 2, &v);
	pbb_msg(n, 5, &e);
}

static void attr_int(pbb *n, const char *key, int64_t i)
{
	pbb e, v = { 0 };
	attr_begin(&e, key);
	pbb_int(&v, 3, i);
	pbb_msg(&e, 2, &v);
	pbb_msg(n, 5, &e);
}

static void attr_str(pbb *n, const char *key, const char *s)
{
	pbb e, v = { 0 };
	attr_begin(&e, key);
	pbb_str(&v, 2, s);
	pbb_msg(&e, 2, &v);
	pbb_msg(n, 5, &e);
}

static void attr_func(pbb *n, const char *key, const char *name)
{
	pbb e, v = { 0 }, f = { 0 };
	attr_begin(&e, key);
	pbb_str(&f, 1, name);
	pbb_msg(&v, 10, &f);
	pbb_msg(&e, 2, &v);
	pbb_msg(n, 5, &e);
}

static void shape_msg(pbb *s, int rank, const int64_t *dims)
{
	memset(s, 0, sizeof *s);
	for (int i = 0; i < rank; i++) {
		pbb d = { 0 };
		pbb_int(&d, 1, dims[i]);
		pbb_msg(s, 2, &d);
	}
}

static void attr_shape(pbb *n, const char *key, int rank, const int64_t *dims)
{
	pbb e, v = { 0 }, s;
	attr_begin(&e, key);
	shape_msg(&s, rank, dims);
	pbb_msg(&v, 7, &s);
	pbb_msg(&e, 2, &v);
	pbb_msg(n, 5, &e);
}

/* A scalar int32 Const's value attr. */
static void attr_i32(pbb *n, const char *key, int32_t value)
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
static pbb node_begin(const char *name, const char *op, ...)
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

static void arg(pbb *sig, uint32_t field, const char *name, int type)
{
	pbb a = { 0 };
	pbb_str(&a, 1, name);
	pbb_int(&a, 3, type);
	pbb_msg(sig, field, &a);
}

static void map_str(pbb *m, uint32_t field, const char *k, const char *v)
{
	pbb e = { 0 };
	pbb_str(&e, 1, k);
	pbb_str(&e, 2, v);
	pbb_msg(m, field, &e);
}

static void tensor_info(pbb *sig, uint32_t field, const char *key, const char *name, int rank, const int64_t *dims)
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

static void child(pbb *o, int id, const char *name)
{
	pbb r = { 0 };
	pbb_int(&r, 1, id);
	pbb_str(&r, 2, name);
	pbb_msg(o, 1, &r);
}

/* Wraps a graph_def, signatures and object graph into a SavedModel with one MetaGraphDef tagged serve. */
static pbb saved_model(pbb *graph, pbb *sigs, pbb *objects)
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

static const float W[4] = { 1, 2, 3, 4 }, B[2] = { 0.5f, -0.5f };

static pbb keras_like(int flaw)
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

#define KERNEL_KEY "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE"
#define BIAS_KEY "layer_with_weights-0/bias/.ATTRIBUTES/VARIABLE_VALUE"

typedef struct vars {
	tb_buf index, h, e0, e1;
	uint8_t shard[32];
	size_t shard_len;
	nn_tf_bundle *b;
} vars;

/* The bundle for keras_like: kernel [2,2] and bias [2] (keys in byte order: bias first). */
static void make_vars(vars *v, const char *bias_key, int corrupt)
{
	memset(v, 0, sizeof *v);
	memcpy(v->shard, B, sizeof B);
	memcpy(v->shard + 8, W, sizeof W);
	v->shard_len = 24;
	v->h = tb_header(1);
	v->e0 = tb_entry(1, 1, (int64_t[]){ 2 }, 0, 0, 8, nn_crc32c_mask(nn_crc32c(0, v->shard, 8)));
	v->e1 = tb_entry(1, 2, (int64_t[]){ 2, 2 }, 0, 8, 16, nn_crc32c_mask(nn_crc32c(0, v->shard + 8, 16)));
	tb_kv kv[3] = { { "", v->h.p, v->h.n }, { bias_key, v->e0.p, v->e0.n }, { KERNEL_KEY, v->e1.p, v->e1.n } };
	v->index = tb_table(kv, 3, 3, 0);
	if (corrupt)
		v->shard[12] ^= 1;
	const void *shards[1] = { v->shard };
	char err[256];
	CHECK_MSG(nn_tf_bundle_open_buffers(&v->b, v->index.p, v->index.n, shards, &v->shard_len, 1, "variables.index",
					    err, sizeof err) == 0,
		  "%s", err);
}

static void free_vars(vars *v)
{
	nn_tf_bundle_free(v->b);
	free(v->index.p);
	free(v->h.p);
	free(v->e0.p);
	free(v->e1.p);
}

static const nn_tf_node *find(const nn_savedmodel_flat *f, const char *name)
{
	for (int i = 0; i < f->g.n_nodes; i++)
		if (!strcmp(f->g.nodes[i].name, name))
			return &f->g.nodes[i];
	return NULL;
}

TEST(savedmodel_keras_like)
{
	pbb pb = keras_like(FLAW_NONE);
	vars v;
	make_vars(&v, BIAS_KEY, 0);
	nn_savedmodel_flat f;
	char err[512];
	CHECK_MSG(nn_savedmodel_flatten(&f, pb.p, pb.len, v.b, "m/saved_model.pb", err, sizeof err) == 0, "%s", err);
	CHECK_MSG(!strcmp(f.note, "signature \"serving_default\""), "%s", f.note);
	CHECK(f.n_inputs == 1 && !strcmp(f.inputs[0].name, "x") && !strcmp(f.inputs[0].tensor, "serving_default_x"));
	CHECK(f.inputs[0].rank == 2 && f.inputs[0].dims[0] == 1 && f.inputs[0].dims[1] == 2);
	/* Sorted by name. */
	CHECK(f.n_outputs == 2 && !strcmp(f.outputs[0].name, "idx") && !strcmp(f.outputs[1].name, "out"));
	CHECK_MSG(!strcmp(f.outputs[1].tensor, "StatefulPartitionedCall/Identity"), "%s", f.outputs[1].tensor);
	CHECK(!strcmp(f.outputs[0].tensor, "StatefulPartitionedCall/Identity_1"));
	/* Inlined under the call nodes' names, ports translated, control inputs gone. */
	const nn_tf_node *n = find(&f, "StatefulPartitionedCall/Identity");
	CHECK(n && n->n_inputs == 1 && !strcmp(n->inputs[0], "StatefulPartitionedCall/call/Identity"));
	n = find(&f, "StatefulPartitionedCall/call/Identity");
	CHECK(n && n->n_inputs == 1 && !strcmp(n->inputs[0], "StatefulPartitionedCall/call/split:1"));
	n = find(&f, "StatefulPartitionedCall/call/Identity_1");
	CHECK(n && !strcmp(n->inputs[0], "StatefulPartitionedCall/call/topk:1"));
	n = find(&f, "StatefulPartitionedCall/call/MatMul");
	CHECK(n && n->n_inputs == 2 && !strcmp(n->inputs[0], "serving_default_x") &&
	      !strcmp(n->inputs[1], "StatefulPartitionedCall/call/MatMul/ReadVariableOp"));
	/* The variables' reads are constants with the bundle's values. */
	n = find(&f, "StatefulPartitionedCall/call/MatMul/ReadVariableOp");
	CHECK(n && !strcmp(n->op, "Const") && n->n_inputs == 0);
	const nn_tf_attr *a = nn_tf_node_attr(n, "value");
	CHECK(a && a->kind == NN_TF_ATTR_TENSOR && a->tensor->rank == 2 && a->tensor->dims[1] == 2);
	CHECK(!memcmp(a->tensor->data, W, sizeof W));
	n = find(&f, "StatefulPartitionedCall/call/BiasAdd/ReadVariableOp");
	CHECK(n && (a = nn_tf_node_attr(n, "value")) && !memcmp(a->tensor->data, B, sizeof B));
	/* Nothing the signature does not need: no saver, no NoOp. */
	for (int i = 0; i < f.g.n_nodes; i++)
		CHECK(strcmp(f.g.nodes[i].op, "SaveV2") && strcmp(f.g.nodes[i].op, "NoOp") &&
		      strcmp(f.g.nodes[i].op, "ReadVariableOp"));
	nn_savedmodel_flat_free(&f);
	free_vars(&v);
	pbb_free(&pb);
}

TEST(savedmodel_refusals)
{
	char err[512];
	nn_savedmodel_flat f;
	struct {
		int flaw;
		const char *msg;
	} cases[] = {
		{ FLAW_RECURSIVE, "calls function __inference_wrapper_1 recursively" },
		{ FLAW_ARITY, "passes 2 inputs to function __inference_dense_2, which takes 3" },
		{ FLAW_TWO_ARGS, "does not know the output layout of op Split" },
	};
	vars v;
	make_vars(&v, BIAS_KEY, 0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		pbb pb = keras_like(cases[i].flaw);
		CHECK(nn_savedmodel_flatten(&f, pb.p, pb.len, v.b, "m/saved_model.pb", err, sizeof err) < 0);
		CHECK_MSG(strstr(err, cases[i].msg) && strstr(err, "m/saved_model.pb: "), "case %zu: %s", i, err);
		pbb_free(&pb);
	}
	free_vars(&v);
	/* No variables/ at all, a bundle without the key, a bundle whose bytes fail their checksum. */
	pbb pb = keras_like(FLAW_NONE);
	CHECK(nn_savedmodel_flatten(&f, pb.p, pb.len, NULL, "m/saved_model.pb", err, sizeof err) == NN_ERR_FORMAT);
	CHECK_MSG(strstr(err, "needs variables/"), "%s", err);
	make_vars(&v, "a/.ATTRIBUTES/VARIABLE_VALUE", 0);
	CHECK(nn_savedmodel_flatten(&f, pb.p, pb.len, v.b, "m/saved_model.pb", err, sizeof err) == NN_ERR_FORMAT);
	CHECK_MSG(strstr(err, "variables.index has no \"" BIAS_KEY "\""), "%s", err);
	free_vars(&v);
	make_vars(&v, BIAS_KEY, 1);
	CHECK(nn_savedmodel_flatten(&f, pb.p, pb.len, v.b, "m/saved_model.pb", err, sizeof err) == NN_ERR_FORMAT);
	CHECK_MSG(strstr(err, KERNEL_KEY "\" fails its checksum"), "%s", err);
	free_vars(&v);
	pbb_free(&pb);
}

TEST(savedmodel_truncated_and_flipped)
{
	pbb pb = keras_like(FLAW_NONE);
	vars v;
	make_vars(&v, BIAS_KEY, 0);
	nn_savedmodel_flat f;
	char err[512];
	uint8_t *copy = malloc(pb.len);
	for (size_t n = 0; n < pb.len; n++) {
		/* Each prefix in its own allocation, so that a read past it trips AddressSanitizer. */
		uint8_t *cut = malloc(n ? n : 1);
		memcpy(cut, pb.p, n);
		err[0] = 0;
		CHECK_MSG(nn_savedmodel_flatten(&f, cut, n, v.b, "m/saved_model.pb", err, sizeof err) < 0, "prefix %zu", n);
		CHECK(strstr(err, "m/saved_model.pb"));
		free(cut);
	}
	int failed = 0;
	for (size_t i = 0; i < pb.len; i++) {
		memcpy(copy, pb.p, pb.len);
		copy[i] ^= (uint8_t)(1u << (i % 8));
		err[0] = 0;
		int rc = nn_savedmodel_flatten(&f, copy, pb.len, v.b, "m/saved_model.pb", err, sizeof err);
		if (rc == 0)
			nn_savedmodel_flat_free(&f);
		else
			CHECK(err[0] && ++failed);
	}
	CHECK(failed > 0);
	free(copy);
	free_vars(&v);
	pbb_free(&pb);
}

/* ---- an onnx2tf-like model: no signature; the root is a bare concrete function over captured constants ---- */

static pbb bare_function(void)
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

TEST(savedmodel_bare_function)
{
	pbb pb = bare_function();
	nn_savedmodel_flat f;
	char err[512];
	CHECK_MSG(nn_savedmodel_flatten(&f, pb.p, pb.len, NULL, "h/saved_model.pb", err, sizeof err) == 0, "%s", err);
	CHECK_MSG(strstr(f.note, "function \"__inference_<lambda>_7\": there are no signatures") &&
			  strstr(f.note, "root object's") && strstr(f.note, "[1,4,5,3]"),
		  "%s", f.note);
	CHECK(f.n_inputs == 1 && !strcmp(f.inputs[0].name, "inputs_0") && !strcmp(f.inputs[0].tensor, "inputs_0"));
	CHECK(f.inputs[0].rank == 4 && f.inputs[0].dims[2] == 5);
	CHECK(f.n_outputs == 1 && !strcmp(f.outputs[0].name, "identity") && !strcmp(f.outputs[0].tensor, "call/Identity"));
	const nn_tf_node *n = find(&f, "call/Identity");
	/* The captured constant is the top-level Const the SavedConstant names. */
	CHECK(n && n->n_inputs == 2 && !strcmp(n->inputs[0], "call/Relu") && !strcmp(n->inputs[1], "Const_1"));
	n = find(&f, "inputs_0");
	CHECK(n && !strcmp(n->op, "Placeholder"));
	const nn_tf_attr *a = nn_tf_node_attr(n, "shape");
	CHECK(a && a->kind == NN_TF_ATTR_SHAPE && a->rank == 4 && a->dims[3] == 3);
	CHECK(find(&f, "Const_1"));
	nn_savedmodel_flat_free(&f);
	pbb_free(&pb);
}

/* ---- the real files ---- */

static uint8_t *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc(*len);
	CHECK(b && fread(b, 1, *len, f) == *len);
	fclose(f);
	return b;
}

static int flatten_real(const char *name, nn_savedmodel_flat *f, uint8_t **buf)
{
	char path[512], prefix[512], err[512];
	snprintf(path, sizeof path, "%s/models/savedmodel/%s/saved_model.pb", VG_ASSETS_DIR, name);
	snprintf(prefix, sizeof prefix, "%s/models/savedmodel/%s/variables/variables", VG_ASSETS_DIR, name);
	size_t len;
	if (!(*buf = read_all(path, &len)))
		return 0;
	nn_tf_bundle *b;
	CHECK_MSG(nn_tf_bundle_open(&b, prefix, err, sizeof err) == 0, "%s", err);
	CHECK_MSG(nn_savedmodel_flatten(f, *buf, len, b, path, err, sizeof err) == 0, "%s", err);
	nn_tf_bundle_free(b);
	return 1;
}

static int count_op(const nn_savedmodel_flat *f, const char *op)
{
	int k = 0;
	for (int i = 0; i < f->g.n_nodes; i++)
		k += !strcmp(f->g.nodes[i].op, op);
	return k;
}

TEST(savedmodel_real_mnist)
{
	nn_savedmodel_flat f;
	uint8_t *buf;
	if (!flatten_real("mnist_digits_keras_ahadali01", &f, &buf))
		SKIP("savedmodel_real_mnist: the mnist_digits_keras_ahadali01 SavedModel is absent");
	CHECK(!strcmp(f.note, "signature \"serving_default\""));
	CHECK(f.n_inputs == 1 && !strcmp(f.inputs[0].name, "flatten_input") && f.inputs[0].rank == 3);
	CHECK(f.inputs[0].dims[0] == 1 && f.inputs[0].dims[1] == 28 && f.inputs[0].dims[2] == 28);
	CHECK(f.n_outputs == 1 && !strcmp(f.outputs[0].name, "dense_2"));
	/* Three Dense layers: each kernel and bias read from the bundle. */
	CHECK(count_op(&f, "MatMul") == 3 && count_op(&f, "BiasAdd") == 3 && count_op(&f, "ReadVariableOp") == 0);
	const nn_tf_node *n = find(&f, "StatefulPartitionedCall/StatefulPartitionedCall/sequential/dense/MatMul/ReadVariableOp");
	const nn_tf_attr *a = n ? nn_tf_node_attr(n, "value") : NULL;
	CHECK(a && a->tensor->dims[0] == 784 && a->tensor->dims[1] == 128);
	nn_savedmodel_flat_free(&f);
	free(buf);
}

TEST(savedmodel_real_humanseg)
{
	nn_savedmodel_flat f;
	uint8_t *buf;
	if (!flatten_real("humanseg_ppseg_lite_portrait_onnx2tf", &f, &buf))
		SKIP("savedmodel_real_humanseg: the humanseg_ppseg_lite_portrait_onnx2tf SavedModel is absent");
	CHECK_MSG(strstr(f.note, "\"__inference_<lambda>_2416\"") && strstr(f.note, "[1,224,398,3]"), "%s", f.note);
	CHECK(f.n_inputs == 1 && f.inputs[0].rank == 4 && f.inputs[0].dims[3] == 3);
	CHECK(f.n_outputs == 1);
	CHECK(count_op(&f, "Conv2D") == 31 && count_op(&f, "DepthwiseConv2dNative") == 17 && count_op(&f, "Split") == 10);
	nn_savedmodel_flat_free(&f);
	free(buf);
}

TEST_SUITE(nn_savedmodel, TEST_ENTRY(savedmodel_keras_like), TEST_ENTRY(savedmodel_refusals),
	   TEST_ENTRY(savedmodel_truncated_and_flipped), TEST_ENTRY(savedmodel_bare_function),
	   TEST_ENTRY(savedmodel_real_mnist), TEST_ENTRY(savedmodel_real_humanseg));
