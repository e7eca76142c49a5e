/*
 * Tests of the TFLite operators of src/nn/format/tflite_ops.c (TRANSPOSE,
 * STRIDED_SLICE, SHAPE, the dilated convolution written as
 * SPACE_TO_BATCH_ND / convolution / BATCH_TO_SPACE_ND), the placeholder
 * shapes of dynamic dimensions, int8 weights under float activations, and
 * Ultralytics' metadata zipped onto a model. Each model is built with
 * tflite_builder.h, loaded and run; the expected values are computed here
 * from the operator's definition, not by the engine.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/format/tflite.h"
#include "nn/graph.h"
#include "nn/model.h"
#include "nn/nn.h"
#include "test.h"
#include "tflite_load.h"

enum {
	CONV_2D = 3, DEPTHWISE_CONV_2D = 4, RELU = 19, RESHAPE = 22, SOFTMAX = 25, BATCH_TO_SPACE_ND = 37,
	SPACE_TO_BATCH_ND = 38, TRANSPOSE = 39, STRIDED_SLICE = 45, SHAPE = 77, PACK = 83,
};
enum { O_CONV = 1, O_SOFTMAX = 9, O_STRIDED_SLICE = 32, O_PACK = 59 };
enum { T_F32 = 0, T_I32 = 2, T_I8 = 9 };

#ifndef VG_ASSETS_DIR
#define VG_ASSETS_DIR "../shared/assets"
#endif

static nn_graph *load_ok(const tb_model *m)
{
	nn_graph *g;
	char err[512];
	int rc = tb_load(m, &g, err, sizeof err);
	CHECK_MSG(rc == 0 && g, "rc %d: %s", rc, err);
	return g;
}

static void load_fails(const tb_model *m, int code, const char *want)
{
	nn_graph *g;
	char err[512];
	int rc = tb_load(m, &g, err, sizeof err);
	CHECK_MSG(rc == code, "rc %d, expected %d (%s)", rc, code, err);
	CHECK(g == NULL);
	CHECK_MSG(strstr(err, want) != NULL, "message \"%s\" lacks \"%s\"", err, want);
}

/* Loads, prepares (reference kernels, or the default backends) and runs the model on x; returns the model. */
static nn_model *run(const tb_model *tm, const float *x, int reference)
{
	nn_model *m;
	char err[512];
	CHECK_MSG(nn_model_from_graph(&m, load_ok(tm), err, sizeof err) == 0, "%s", err);
	nn_prepare_options opt = { .threads = 1, .reference_only = reference };
	CHECK_MSG(nn_model_prepare(m, &opt, err, sizeof err) == 0, "%s", err);
	nn_tensor *in = nn_model_input(m, 0);
	memcpy(in->data, x, nn_tensor_bytes(in));
	CHECK_MSG(nn_model_run(m, err, sizeof err) == 0, "%s", err);
	return m;
}

static void base(tb_model *m, int rank, const int *shape)
{
	memset(m, 0, sizeof *m);
	m->n_buffers = 1;
	tb_add_tensor(m, "x", T_F32, rank, shape, 0);
	m->n_in = 1;
	m->in[0] = 0;
}

static int const_i32(tb_model *m, const char *name, int n, const int32_t *v)
{
	uint32_t b = tb_add_buffer(m, v, sizeof *v * (size_t)n);
	return tb_add_tensor(m, name, T_I32, 1, (int[]){ n }, b);
}

/* x [1,2,3,4] -> TRANSPOSE [0,3,1,2] -> [1,4,2,3] -> STRIDED_SLICE -> y */
TEST(tflite_transpose_strided_slice)
{
	static const int32_t perm[4] = { 0, 3, 1, 2 };
	/* Dimension 0 shrunk, 1 from 1 to 3, 2 all (begin mask), 3 backwards from the end with stride -2. */
	static const int32_t begin[4] = { 0, 1, 5, -1 }, end[4] = { 1, 3, 0, -4 }, strides[4] = { 1, 1, 1, -2 };
	float x[24];
	for (int i = 0; i < 24; i++)
		x[i] = (float)i;
	for (int reference = 0; reference < 2; reference++) {
		tb_model m;
		base(&m, 4, (int[]){ 1, 2, 3, 4 });
		int p = const_i32(&m, "perm", 4, perm);
		int t = tb_add_tensor(&m, "t", T_F32, 4, (int[]){ 1, 4, 2, 3 }, 0);
		int b = const_i32(&m, "begin", 4, begin), e = const_i32(&m, "end", 4, end), s = const_i32(&m, "strides", 4, strides);
		int y = tb_add_tensor(&m, "y", T_F32, 3, (int[]){ 2, 2, 2 }, 0);
		m.n_out = 1;
		m.out[0] = y;
		tb_add_op(&m, TRANSPOSE, NULL, 2, (int[]){ 0, p }, 1, (int[]){ t });
		tb_op *o = tb_add_op(&m, STRIDED_SLICE, NULL, 4, (int[]){ t, b, e, s }, 1, (int[]){ y });
		tb_opt(o, O_STRIDED_SLICE, 0, 4, 4); /* begin_mask: dimension 2 */
		tb_opt(o, O_STRIDED_SLICE, 1, 4, 4); /* end_mask: dimension 2 */
		tb_opt(o, O_STRIDED_SLICE, 4, 4, 1); /* shrink_axis_mask: dimension 0 */
		nn_model *mm = run(&m, x, reference);
		const float *out = nn_model_output(mm, 0)->data;
		/* t[0][c][h][w] = x[0][h][w][c]; y[i][j][k] = t[0][1 + i][j][2 - 2k]. */
		for (int i = 0; i < 2; i++)
			for (int j = 0; j < 2; j++)
				for (int k = 0; k < 2; k++) {
					int c = 1 + i, h = j, w = 2 - 2 * k;
					float want = x[(h * 3 + w) * 4 + c];
					CHECK_MSG(out[(i * 2 + j) * 2 + k] == want, "y[%d][%d][%d] = %g, expected %g", i, j, k,
						  (double)out[(i * 2 + j) * 2 + k], (double)want);
				}
		nn_model_free(mm);

		/* The file's output shape must be the slice's. */
		m.tensors[y].shape[2] = 3;
		load_fails(&m, NN_ERR_SHAPE, "the output has shape [2,2,3], but the operator gives [2,2,2]");
		m.tensors[y].shape[2] = 2;
		/* A perm that is not a permutation. */
		static const int32_t bad[4] = { 0, 3, 3, 2 };
		m.buf_data[m.tensors[p].buffer] = bad;
		load_fails(&m, NN_ERR_FORMAT, "perm is not a permutation of 0..3");
	}
}

/* int8 data moves through unchanged; the output must keep the input's quantization. */
TEST(tflite_transpose_int8)
{
	static const int32_t perm[3] = { 2, 0, 1 };
	tb_model m;
	memset(&m, 0, sizeof m);
	m.n_buffers = 1;
	int x = tb_add_tensor(&m, "x", T_I8, 3, (int[]){ 1, 2, 3 }, 0);
	m.tensors[x].n_scale = 1;
	m.tensors[x].scale[0] = 0.5f;
	m.tensors[x].zero_point[0] = -3;
	int p = const_i32(&m, "perm", 3, perm);
	int y = tb_add_tensor(&m, "y", T_I8, 3, (int[]){ 3, 1, 2 }, 0);
	m.tensors[y].n_scale = 1;
	m.tensors[y].scale[0] = 0.5f;
	m.tensors[y].zero_point[0] = -3;
	m.n_in = m.n_out = 1;
	m.in[0] = x;
	m.out[0] = y;
	tb_add_op(&m, TRANSPOSE, NULL, 2, (int[]){ x, p }, 1, (int[]){ y });
	nn_model *mm;
	char err[512];
	CHECK_MSG(nn_model_from_graph(&mm, load_ok(&m), err, sizeof err) == 0, "%s", err);
	CHECK_MSG(nn_model_prepare(mm, &(nn_prepare_options){ .threads = 1 }, err, sizeof err) == 0, "%s", err);
	int8_t *in = nn_model_input(mm, 0)->data;
	for (int i = 0; i < 6; i++)
		in[i] = (int8_t)(i * 10 - 20);
	CHECK(nn_model_run(mm, err, sizeof err) == 0);
	const int8_t *out = nn_model_output(mm, 0)->data;
	/* y[c][0][h] = x[0][h][c] */
	for (int c = 0; c < 3; c++)
		for (int h = 0; h < 2; h++)
			CHECK(out[c * 2 + h] == in[h * 3 + c]);
	nn_model_free(mm);
	m.tensors[y].zero_point[0] = 0;
	load_fails(&m, NN_ERR_UNSUPPORTED, "different quantization");
}

/*
 * Keras' Reshape to (-1, 2) as UltraFace's TFLite export writes it: SHAPE,
 * STRIDED_SLICE of the batch, PACK with -1 and 2, RESHAPE; the file gives
 * the dynamic outputs the placeholder shape [1,1,2], and SOFTMAX follows.
 */
TEST(tflite_shape_pack_reshape_placeholder)
{
	static const int32_t b0[1] = { 0 }, b1[1] = { 1 }, one[1] = { 1 }, minus1 = -1, two = 2;
	tb_model m;
	base(&m, 4, (int[]){ 1, 4, 3, 2 });
	int shp = tb_add_tensor(&m, "shape", T_I32, 1, (int[]){ 4 }, 0);
	int bb = const_i32(&m, "b", 1, b0), ee = const_i32(&m, "e", 1, b1), ss = const_i32(&m, "s", 1, one);
	int batch = tb_add_tensor(&m, "batch", T_I32, 0, NULL, 0);
	int c1 = tb_add_tensor(&m, "c1", T_I32, 0, NULL, tb_add_buffer(&m, &minus1, 4));
	int c2 = tb_add_tensor(&m, "c2", T_I32, 0, NULL, tb_add_buffer(&m, &two, 4));
	int packed = tb_add_tensor(&m, "packed", T_I32, 1, (int[]){ 3 }, 0);
	int r = tb_add_tensor(&m, "r", T_F32, 3, (int[]){ 1, 1, 2 }, 0);
	int y = tb_add_tensor(&m, "y", T_F32, 3, (int[]){ 1, 1, 2 }, 0);
	for (int t = r; t <= y; t++) {
		m.tensors[t].n_signature = 3;
		memcpy(m.tensors[t].signature, (int[]){ -1, -1, 2 }, 3 * sizeof(int));
	}
	m.n_out = 1;
	m.out[0] = y;
	tb_add_op(&m, SHAPE, NULL, 1, (int[]){ 0 }, 1, (int[]){ shp });
	tb_op *o = tb_add_op(&m, STRIDED_SLICE, NULL, 4, (int[]){ shp, bb, ee, ss }, 1, (int[]){ batch });
	tb_opt(o, O_STRIDED_SLICE, 4, 4, 1);
	o = tb_add_op(&m, PACK, NULL, 3, (int[]){ batch, c1, c2 }, 1, (int[]){ packed });
	tb_opt(o, O_PACK, 0, 4, 3);
	tb_add_op(&m, RESHAPE, NULL, 2, (int[]){ 0, packed }, 1, (int[]){ r });
	o = tb_add_op(&m, SOFTMAX, NULL, 1, (int[]){ r }, 1, (int[]){ y });
	tb_opt(o, O_SOFTMAX, 0, 4, tb_fbits(1.0f));
	float x[24];
	for (int i = 0; i < 24; i++)
		x[i] = (float)(i % 5) * 0.5f;
	nn_model *mm = run(&m, x, 1);
	const nn_tensor *out = nn_model_output(mm, 0);
	CHECK_MSG(out->rank == 3 && out->shape[0] == 1 && out->shape[1] == 12 && out->shape[2] == 2, "[%d,%d,%d]",
		  out->shape[0], out->shape[1], out->shape[2]);
	const float *v = out->data;
	for (int i = 0; i < 12; i++) {
		double a = x[2 * i], b = x[2 * i + 1], e = exp(a - b);
		CHECK(fabs(v[2 * i] - e / (e + 1)) < 1e-6 && fabs(v[2 * i + 1] - 1 / (e + 1)) < 1e-6);
	}
	/* Only SHAPE, STRIDED_SLICE and PACK of constants were computed at load time: no node is left of them. */
	nn_graph *g = load_ok(&m);
	CHECK(g->n_nodes == 2 && g->nodes[0].op == NN_OP_RESHAPE && g->nodes[1].op == NN_OP_SOFTMAX);
	nn_graph_free(g);
	nn_model_free(mm);

	/* Without -1 in the output's shape_signature, [1,1,2] is the file's word: the RESHAPE is refused. */
	m.tensors[r].n_signature = 0;
	load_fails(&m, NN_ERR_SHAPE, "RESHAPE turns shape [1,4,3,2] into [1,1,2]");
	m.tensors[r].n_signature = 3;

	/* An operator that cannot follow a placeholder shape is named. */
	m.ops[4].opcode = m.ops[0].opcode; /* SHAPE of the resized tensor: its rank is known, but say we refuse */
	m.ops[4].opt_type = 0;
	m.ops[4].n_opt = 0;
	m.tensors[y].type = T_I32;
	m.tensors[y].rank = 1;
	m.tensors[y].shape[0] = 3;
	load_fails(&m, NN_ERR_UNSUPPORTED, "whose size the file leaves to run time");
}

/* Dilated 3x3 SAME convolution at rate 2 on [1,5,5,2], computed directly. */
static void dilated_conv_ref(const float *x, const float *w, const float *bias, float *y, int cout)
{
	for (int oh = 0; oh < 5; oh++)
		for (int ow = 0; ow < 5; ow++)
			for (int o = 0; o < cout; o++) {
				double acc = bias[o];
				for (int kh = 0; kh < 3; kh++)
					for (int kw = 0; kw < 3; kw++) {
						int ih = oh + 2 * (kh - 1), iw = ow + 2 * (kw - 1);
						if (ih < 0 || ih >= 5 || iw < 0 || iw >= 5)
							continue;
						for (int c = 0; c < 2; c++)
							acc += x[(ih * 5 + iw) * 2 + c] * w[((o * 3 + kh) * 3 + kw) * 2 + c];
					}
				y[(oh * 5 + ow) * cout + o] = (float)acc;
			}
}

/*
 * TensorFlow's SAME dilated convolution: SPACE_TO_BATCH_ND pads 5 to 2 + 5
 * + 3 = 10 (a multiple of the block), the VALID 3x3 convolution runs on
 * [4,5,5,2] -> [4,3,3,c], BATCH_TO_SPACE_ND crops [0,1] back to 5.
 */
static void dilated_model(tb_model *m, const float *w, const float *bias, int cout)
{
	static const int32_t block[2] = { 2, 2 }, pads[4] = { 2, 3, 2, 3 }, crops[4] = { 0, 1, 0, 1 };
	base(m, 4, (int[]){ 1, 5, 5, 2 });
	int bl = const_i32(m, "block", 2, block);
	uint32_t pb = tb_add_buffer(m, pads, sizeof pads), cb = tb_add_buffer(m, crops, sizeof crops);
	int pd = tb_add_tensor(m, "pads", T_I32, 2, (int[]){ 2, 2 }, pb);
	int cr = tb_add_tensor(m, "crops", T_I32, 2, (int[]){ 2, 2 }, cb);
	int s2b = tb_add_tensor(m, "s2b", T_F32, 4, (int[]){ 4, 5, 5, 2 }, 0);
	int wt = tb_add_tensor(m, "w", T_F32, 4, (int[]){ cout, 3, 3, 2 }, tb_add_buffer(m, w, sizeof(float) * (size_t)cout * 18));
	int bt = tb_add_tensor(m, "bias", T_F32, 1, (int[]){ cout }, tb_add_buffer(m, bias, sizeof(float) * (size_t)cout));
	int cv = tb_add_tensor(m, "conv", T_F32, 4, (int[]){ 4, 3, 3, cout }, 0);
	int y = tb_add_tensor(m, "y", T_F32, 4, (int[]){ 1, 5, 5, cout }, 0);
	m->n_out = 1;
	m->out[0] = y;
	tb_add_op(m, SPACE_TO_BATCH_ND, NULL, 3, (int[]){ 0, bl, pd }, 1, (int[]){ s2b });
	tb_op *o = tb_add_op(m, CONV_2D, NULL, 3, (int[]){ s2b, wt, bt }, 1, (int[]){ cv });
	tb_opt(o, O_CONV, 0, 1, 1); /* VALID */
	tb_opt(o, O_CONV, 1, 4, 1);
	tb_opt(o, O_CONV, 2, 4, 1);
	tb_add_op(m, BATCH_TO_SPACE_ND, NULL, 3, (int[]){ cv, bl, cr }, 1, (int[]){ y });
}

TEST(tflite_dilated_conv_fold)
{
	static float w[3 * 18], bias[3] = { 0.5f, -1.0f, 0.25f }, x[50], want[75];
	for (int i = 0; i < 54; i++)
		w[i] = (float)((i * 7) % 11 - 5) * 0.125f;
	for (int i = 0; i < 50; i++)
		x[i] = (float)((i * 13) % 17 - 8) * 0.25f;
	dilated_conv_ref(x, w, bias, want, 3);
	for (int reference = 0; reference < 2; reference++) {
		tb_model m;
		dilated_model(&m, w, bias, 3);
		nn_graph *g = load_ok(&m);
		CHECK(g->n_nodes == 1 && g->nodes[0].op == NN_OP_CONV2D && g->nodes[0].p.conv.dilation_h == 2 &&
		      g->nodes[0].p.conv.dilation_w == 2 && g->nodes[0].p.conv.padding == NN_PADDING_EXPLICIT);
		nn_graph_free(g);
		nn_model *mm = run(&m, x, reference);
		const float *y = nn_model_output(mm, 0)->data;
		for (int i = 0; i < 75; i++)
			CHECK_MSG(fabsf(y[i] - want[i]) < 1e-5f, "y[%d] = %g, expected %g", i, (double)y[i], (double)want[i]);
		nn_model_free(mm);
	}

	/* A SPACE_TO_BATCH_ND that no BATCH_TO_SPACE_ND closes, or with another block, is refused by name. */
	tb_model m;
	dilated_model(&m, w, bias, 3);
	m.n_ops = 2;
	m.out[0] = 7; /* the convolution's output */
	load_fails(&m, NN_ERR_UNSUPPORTED, "SPACE_TO_BATCH_ND is supported only as TensorFlow writes a dilated convolution");
	dilated_model(&m, w, bias, 3);
	static const int32_t other[2] = { 2, 1 };
	m.ops[2].in[1] = const_i32(&m, "block2", 2, other);
	load_fails(&m, NN_ERR_UNSUPPORTED, "block_shape differs");
	dilated_model(&m, w, bias, 3);
	m.ops[1].opt[1].bits = 2; /* stride 2 inside */
	load_fails(&m, NN_ERR_UNSUPPORTED, "must have stride 1 and dilation 1");
}

/* Dynamic-range quantized weights: an int8 per-channel filter under float activations. */
TEST(tflite_hybrid_int8_weights)
{
	static int8_t q[2 * 3 * 3 * 2];
	static float wf[2 * 18], bias[2] = { 0.1f, -0.2f }, x[50], want[50];
	const float scale[2] = { 0.02f, 0.05f };
	for (int i = 0; i < 36; i++) {
		q[i] = (int8_t)((i * 37) % 255 - 127);
		wf[i] = scale[i / 18] * (float)q[i];
	}
	for (int i = 0; i < 50; i++)
		x[i] = (float)((i * 5) % 9 - 4) * 0.5f;
	tb_model m;
	base(&m, 4, (int[]){ 1, 5, 5, 2 });
	int wt = tb_add_tensor(&m, "w", T_I8, 4, (int[]){ 2, 3, 3, 2 }, tb_add_buffer(&m, q, sizeof q));
	m.tensors[wt].n_scale = 2;
	m.tensors[wt].scale[0] = scale[0];
	m.tensors[wt].scale[1] = scale[1];
	int bt = tb_add_tensor(&m, "bias", T_F32, 1, (int[]){ 2 }, tb_add_buffer(&m, bias, sizeof bias));
	int y = tb_add_tensor(&m, "y", T_F32, 4, (int[]){ 1, 5, 5, 2 }, 0);
	m.n_out = 1;
	m.out[0] = y;
	tb_op *o = tb_add_op(&m, CONV_2D, NULL, 3, (int[]){ 0, wt, bt }, 1, (int[]){ y });
	tb_opt(o, O_CONV, 1, 4, 1);
	tb_opt(o, O_CONV, 2, 4, 1);
	tb_opt(o, O_CONV, 5, 4, 2); /* dilation_h 2: the reference below is the rate-2 SAME convolution on height... */
	tb_opt(o, O_CONV, 4, 4, 2); /* ...and width */
	dilated_conv_ref(x, wf, bias, want, 2);
	for (int reference = 0; reference < 2; reference++) {
		nn_model *mm = run(&m, x, reference);
		const float *out = nn_model_output(mm, 0)->data;
		for (int i = 0; i < 50; i++)
			CHECK_MSG(fabsf(out[i] - want[i]) < 1e-5f, "y[%d] = %g, expected %g", i, (double)out[i], (double)want[i]);
		nn_model_free(mm);
	}
}

/* Ultralytics' TFLite exports: a zip holding temp_meta.txt (a Python dict), named as if it were a label file. */
TEST(tflite_ultralytics_zip_metadata)
{
	static uint8_t zip[4096];
	const char *meta = "{'names': {0: 'person', 1: 'bicycle'}, 'imgsz': [640, 640], 'stride': 32}";
	const char *json = "{\"names\": {\"0\": \"person\"}}";
	const char *names[] = { "temp_meta.txt", "metadata.json", "labels.txt" };
	const char *data[] = { meta, json, "person\nbicycle\n" };
	for (int files = 1; files <= 3; files++) {
		size_t n = tb_zip(zip, files, names, data, 0, 0);
		tb_model m;
		base(&m, 4, (int[]){ 1, 4, 4, 2 });
		int y = tb_add_tensor(&m, "y", T_F32, 4, (int[]){ 1, 4, 4, 2 }, 0);
		m.n_out = 1;
		m.out[0] = y;
		tb_add_op(&m, RELU, NULL, 1, (int[]){ 0 }, 1, (int[]){ y });
		m.appendix = zip;
		m.appendix_len = n;
		nn_graph *g = load_ok(&m);
		CHECK_MSG(g->n_meta == (files >= 2 ? 2 : 1), "%d metadata entries", g->n_meta);
		int found = 0;
		for (int i = 0; i < g->n_meta; i++) {
			if (!strcmp(g->meta_keys[i], "temp_meta.txt"))
				found += !strcmp(g->meta_values[i], meta);
			if (!strcmp(g->meta_keys[i], "metadata.json"))
				found += !strcmp(g->meta_values[i], json);
		}
		CHECK(found == g->n_meta);
		/* temp_meta.txt is never read as labels; a real label file still is. */
		CHECK_MSG(g->n_labels == (files == 3 ? 2 : 0), "%d labels", g->n_labels);
		nn_graph_free(g);
	}
	/* Damaged archives leave the model loaded, without metadata. */
	size_t n = tb_zip(zip, 1, names, data, 0, 1);
	tb_model m;
	base(&m, 4, (int[]){ 1, 4, 4, 2 });
	int y = tb_add_tensor(&m, "y", T_F32, 4, (int[]){ 1, 4, 4, 2 }, 0);
	m.n_out = 1;
	m.out[0] = y;
	tb_add_op(&m, RELU, NULL, 1, (int[]){ 0 }, 1, (int[]){ y });
	m.appendix = zip;
	m.appendix_len = n;
	nn_graph *g = load_ok(&m);
	CHECK(g->n_meta == 0);
	nn_graph_free(g);
	n = tb_zip(zip, 2, names, data, 0, 0);
	for (size_t cut = 0; cut <= n; cut += 3) {
		m.appendix_len = cut;
		g = load_ok(&m);
		nn_graph_free(g);
	}
}

/* The five detectors of issue 12 load with the shapes and node counts their exports have (skipped without assets). */
TEST(tflite_yolo_assets)
{
	static const struct {
		const char *file;
		int out_rank, out_shape[3], transposes, slices, convs, metadata;
	} models[] = {
		{ "yolov8n_int8.tflite", 3, { 1, 84, 8400 }, 5, 20, 64, 1 },
		{ "yolov8n_full_integer_quant.tflite", 3, { 1, 84, 8400 }, 5, 20, 64, 1 },
		{ "yolox_nano_float16_quantize.tflite", 3, { 1, 3549, 8 }, 218, 6, 113, 0 },
		{ "ultraface_version-RFB-320_without_postprocessing.tflite", 3, { 1, 4420, 4 }, 0, 0, 52, 0 },
		{ "object_detection_ssd_mobilenetv2_oidv4_fp16.tflite", 3, { 1, 1917, 4 }, 0, 0, 72, 0 },
	};
	for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
		char path[512];
		snprintf(path, sizeof path, VG_ASSETS_DIR "/models/tflite/%s", models[i].file);
		FILE *f = fopen(path, "rb");
		if (!f) {
			fprintf(stderr, "# skipped %s: not found\n", path);
			continue;
		}
		fseek(f, 0, SEEK_END);
		long n = ftell(f);
		rewind(f);
		uint8_t *b = malloc((size_t)n);
		CHECK(b && fread(b, 1, (size_t)n, f) == (size_t)n);
		fclose(f);
		nn_graph *g = NULL;
		char err[512];
		int rc = nn_tflite_load(&g, b, (size_t)n, models[i].file, err, sizeof err);
		free(b);
		CHECK_MSG(rc == 0 && g, "%s: %s", models[i].file, err);
		const nn_tensor *y = &g->tensors[g->outputs[0]];
		CHECK_MSG(y->rank == models[i].out_rank && y->shape[0] == models[i].out_shape[0] &&
				  y->shape[1] == models[i].out_shape[1] && y->shape[2] == models[i].out_shape[2],
			  "%s: output 0 is [%d,%d,%d]", models[i].file, y->shape[0], y->shape[1], y->shape[2]);
		int t = 0, sl = 0, cv = 0, dil = 0, folded = 0;
		for (int k = 0; k < g->n_nodes; k++) {
			t += g->nodes[k].op == NN_OP_TRANSPOSE;
			sl += g->nodes[k].op == NN_OP_STRIDED_SLICE;
			cv += g->nodes[k].op == NN_OP_CONV2D || g->nodes[k].op == NN_OP_DEPTHWISE_CONV2D;
			dil += (g->nodes[k].op == NN_OP_CONV2D || g->nodes[k].op == NN_OP_DEPTHWISE_CONV2D) &&
			       g->nodes[k].p.conv.dilation_h > 1;
			folded += (g->nodes[k].op == NN_OP_CONV2D || g->nodes[k].op == NN_OP_DEPTHWISE_CONV2D) &&
				  g->nodes[k].p.conv.dilation_h > 1 && g->nodes[k].p.conv.padding == NN_PADDING_EXPLICIT;
		}
		CHECK_MSG(t == models[i].transposes && sl >= models[i].slices && cv == models[i].convs,
			  "%s: %d transposes, %d slices, %d convolutions", models[i].file, t, sl, cv);
		CHECK_MSG(g->n_meta == models[i].metadata, "%s: %d metadata entries", models[i].file, g->n_meta);
		if (g->n_meta)
			CHECK(!strcmp(g->meta_keys[0], "temp_meta.txt") && strstr(g->meta_values[0], "'imgsz': [640, 640]"));
		/*
		 * UltraFace has three dilated convolutions: two the converter wrote
		 * with dilation factors, one as SPACE_TO_BATCH_ND ... BATCH_TO_SPACE_ND,
		 * folded here (it alone gets explicit padding).
		 */
		if (strstr(models[i].file, "ultraface"))
			CHECK_MSG(dil == 3 && folded == 1, "%d dilated convolutions, %d folded", dil, folded);
		nn_graph_free(g);
	}
}

TEST_SUITE(nn_tflite_ops,
	   TEST_ENTRY(tflite_yolo_assets),
	   TEST_ENTRY(tflite_transpose_strided_slice),
	   TEST_ENTRY(tflite_transpose_int8),
	   TEST_ENTRY(tflite_shape_pack_reshape_placeholder),
	   TEST_ENTRY(tflite_dilated_conv_fold),
	   TEST_ENTRY(tflite_hybrid_int8_weights),
	   TEST_ENTRY(tflite_ultralytics_zip_metadata));
