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
#include "nn/model.h"
#include "sm_builder.h"
#include "tb_writer.h"
#include "test.h"

#ifndef VG_ASSETS_DIR
#define VG_ASSETS_DIR "../shared/assets"
#endif

static const float W[4] = { 1, 2, 3, 4 }, B[2] = { 0.5f, -0.5f };

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

/* The flat graph of keras_like through nn_tf_build and the engine: MatMul on the bundle's kernel, BiasAdd, Split, TopKV2. */
TEST(savedmodel_keras_like_runs)
{
	pbb pb = keras_like(FLAW_NONE);
	vars v;
	make_vars(&v, BIAS_KEY, 0);
	nn_savedmodel_flat f;
	char err[512];
	CHECK_MSG(nn_savedmodel_flatten(&f, pb.p, pb.len, v.b, "m/saved_model.pb", err, sizeof err) == 0, "%s", err);
	nn_tf_build_options o = { .source = "m/saved_model.pb", .inputs = f.inputs, .n_inputs = f.n_inputs,
				  .outputs = f.outputs, .n_outputs = f.n_outputs };
	nn_graph *g = NULL;
	CHECK_MSG(nn_tf_build(&g, &f.g, &o, err, sizeof err) == 0, "%s", err);
	nn_model *m;
	CHECK_MSG(nn_model_from_graph(&m, g, err, sizeof err) == 0, "%s", err);
	CHECK_MSG(nn_model_prepare(m, &(nn_prepare_options){ .threads = 1 }, err, sizeof err) == 0, "%s", err);
	CHECK(nn_model_input_count(m) == 1 && nn_model_output_count(m) == 2);
	float *x = nn_model_input(m, 0)->data;
	x[0] = 1;
	x[1] = 1;
	CHECK_MSG(nn_model_run(m, err, sizeof err) == 0, "%s", err);
	/* x W + b = [1*1 + 1*3, 1*2 + 1*4] + [0.5, -0.5] = [4.5, 5.5]: out is the second half, idx the arg-max. */
	const nn_tensor *idx = nn_model_output(m, 0), *out = nn_model_output(m, 1);
	CHECK(!strcmp(idx->name, "idx") && !strcmp(out->name, "out"));
	CHECK(nn_tensor_elements(out) == 1 && ((const float *)out->data)[0] == 5.5f);
	CHECK(nn_tensor_elements(idx) == 1 && ((const int32_t *)idx->data)[0] == 1);
	nn_model_free(m);
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

TEST_SUITE(nn_savedmodel, TEST_ENTRY(savedmodel_keras_like), TEST_ENTRY(savedmodel_keras_like_runs), TEST_ENTRY(savedmodel_refusals),
	   TEST_ENTRY(savedmodel_truncated_and_flipped), TEST_ENTRY(savedmodel_bare_function),
	   TEST_ENTRY(savedmodel_real_mnist), TEST_ENTRY(savedmodel_real_humanseg));
