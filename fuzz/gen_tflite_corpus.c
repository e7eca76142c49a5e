/*
 * Writes the seed corpus of fuzz_tflite: small TFLite flatbuffers (named .seed, not
 * .tflite, so nobody mistakes them for real models) built from
 * scratch (never the shared models), which between them reach every
 * operator mapping, the FlexBuffers options of TFLite_Detection_PostProcess,
 * per-channel quantization, float16 weights, sparse (DENSIFY) weights, the
 * pose models' index ops and the metadata labels.
 *   cc -std=c17 -Itests/nn fuzz/gen_tflite_corpus.c -o gen && ./gen fuzz/corpus/tflite
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tflite_builder.h"

enum { F32 = 0, F16 = 1, I32 = 2, U8 = 3, I8 = 9 };

static int write_model(const char *dir, const char *name, const tb_model *m)
{
	size_t len;
	uint8_t *f = tb_build(m, &len, NULL);
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *out = f ? fopen(path, "wb") : NULL;
	int ok = out && fwrite(f, 1, len, out) == len;
	if (out && fclose(out) != 0)
		ok = 0;
	free(f);
	if (!ok) {
		fprintf(stderr, "gen_tflite_corpus: cannot write %s\n", path);
		return 1;
	}
	printf("%s: %zu bytes\n", path, len);
	return 0;
}

static void quant(tb_model *m, int t, float scale, int64_t zero_point)
{
	m->tensors[t].n_scale = 1;
	m->tensors[t].scale[0] = scale;
	m->tensors[t].zero_point[0] = zero_point;
}

static void start(tb_model *m, int type, int rank, const int *shape)
{
	memset(m, 0, sizeof *m);
	m->n_buffers = 1;
	tb_add_tensor(m, "input", type, rank, shape, 0);
	m->n_in = 1;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	static tb_model m;
	int rc = 0;

	/* 1. The smallest graph. */
	start(&m, F32, 4, (int[]){ 1, 2, 2, 1 });
	int y = tb_add_tensor(&m, "relu", F32, 4, (int[]){ 1, 2, 2, 1 }, 0);
	tb_add_op(&m, 19, NULL, 1, (int[]){ 0 }, 1, (int[]){ y });
	m.n_out = 1;
	m.out[0] = y;
	m.description = "seed";
	rc |= write_model(dir, "relu.seed", &m);

	/* 2. A quantized classifier head: per-channel CONV_2D, DEPTHWISE, AVERAGE_POOL, RESHAPE, SOFTMAX. */
	static uint8_t w[4 * 3 * 3 * 3], dw[3 * 3 * 4];
	static int32_t bias[4] = { 10, -10, 5, 0 };
	for (size_t i = 0; i < sizeof w; i++)
		w[i] = (uint8_t)(i * 7);
	start(&m, U8, 4, (int[]){ 1, 6, 6, 3 });
	quant(&m, 0, 1.0f / 128, 128);
	int wt = tb_add_tensor(&m, "conv/w", U8, 4, (int[]){ 4, 3, 3, 3 }, tb_add_buffer(&m, w, sizeof w));
	int bt = tb_add_tensor(&m, "conv/b", I32, 1, (int[]){ 4 }, tb_add_buffer(&m, bias, sizeof bias));
	int dwt = tb_add_tensor(&m, "dw/w", U8, 4, (int[]){ 1, 3, 3, 4 }, tb_add_buffer(&m, dw, sizeof dw));
	int c = tb_add_tensor(&m, "conv", U8, 4, (int[]){ 1, 3, 3, 4 }, 0);
	int d = tb_add_tensor(&m, "dw", U8, 4, (int[]){ 1, 3, 3, 4 }, 0);
	int p = tb_add_tensor(&m, "pool", U8, 4, (int[]){ 1, 1, 1, 4 }, 0);
	int r = tb_add_tensor(&m, "flat", U8, 2, (int[]){ 1, 4 }, 0);
	int s = tb_add_tensor(&m, "probs", U8, 2, (int[]){ 1, 4 }, 0);
	m.tensors[wt].n_scale = m.tensors[bt].n_scale = 4;
	for (int k = 0; k < 4; k++) {
		m.tensors[wt].scale[k] = 0.01f * (float)(k + 1);
		m.tensors[wt].zero_point[k] = 120 + k;
		m.tensors[bt].scale[k] = m.tensors[wt].scale[k] / 128;
	}
	quant(&m, dwt, 0.02f, 128);
	for (int t = c; t <= r; t++)
		quant(&m, t, 0.05f, 0);
	quant(&m, s, 1.0f / 256, 0);
	tb_op *o = tb_add_op(&m, 3, NULL, 3, (int[]){ 0, wt, bt }, 1, (int[]){ c });
	tb_opt(o, 1, 1, 4, 2);
	tb_opt(o, 1, 2, 4, 2);
	tb_opt(o, 1, 3, 1, 3);
	o = tb_add_op(&m, 4, NULL, 2, (int[]){ c, dwt }, 1, (int[]){ d });
	tb_opt(o, 2, 1, 4, 1);
	tb_opt(o, 2, 2, 4, 1);
	tb_opt(o, 2, 3, 4, 1);
	o = tb_add_op(&m, 1, NULL, 1, (int[]){ d }, 1, (int[]){ p });
	tb_opt(o, 5, 0, 1, 1);
	tb_opt(o, 5, 1, 4, 3);
	tb_opt(o, 5, 2, 4, 3);
	tb_opt(o, 5, 3, 4, 3);
	tb_opt(o, 5, 4, 4, 3);
	tb_add_op(&m, 22, NULL, 1, (int[]){ p }, 1, (int[]){ r });
	tb_opt(tb_add_op(&m, 25, NULL, 1, (int[]){ r }, 1, (int[]){ s }), 9, 0, 4, tb_fbits(1.0f));
	m.n_out = 1;
	m.out[0] = s;
	rc |= write_model(dir, "classifier_u8.seed", &m);

	/* 3. TFLite_Detection_PostProcess behind a LOGISTIC, with FlexBuffers options. */
	static const tb_flex_kv kv[] = {
		{ "detections_per_class", 1, 100 }, { "h_scale", 3, 5 }, { "max_classes_per_detection", 1, 1 },
		{ "max_detections", 1, 10 }, { "nms_iou_threshold", 3, 0.6 }, { "nms_score_threshold", 3, 1e-8 },
		{ "num_classes", 1, 2 }, { "use_regular_nms", 26, 0 }, { "w_scale", 3, 5 }, { "x_scale", 3, 10 },
		{ "y_scale", 3, 10 },
	};
	static uint8_t flex[512];
	static float anchors[8 * 4];
	size_t flen = tb_flex_map(flex, kv, 11);
	start(&m, F32, 3, (int[]){ 1, 8, 4 });
	int logits = tb_add_tensor(&m, "logits", F32, 3, (int[]){ 1, 8, 3 }, 0);
	int scores = tb_add_tensor(&m, "scores", F32, 3, (int[]){ 1, 8, 3 }, 0);
	int an = tb_add_tensor(&m, "anchors", F32, 2, (int[]){ 8, 4 }, tb_add_buffer(&m, anchors, sizeof anchors));
	int out0 = tb_add_tensor(&m, "TFLite_Detection_PostProcess", F32, 0, NULL, 0);
	for (int k = 1; k < 4; k++)
		tb_add_tensor(&m, "TFLite_Detection_PostProcess:n", F32, 0, NULL, 0);
	m.n_in = 2;
	m.in[1] = logits;
	tb_add_op(&m, 14, NULL, 1, (int[]){ logits }, 1, (int[]){ scores });
	o = tb_add_op(&m, 32, "TFLite_Detection_PostProcess", 3, (int[]){ 0, scores, an }, 4,
		      (int[]){ out0, out0 + 1, out0 + 2, out0 + 3 });
	o->custom = flex;
	o->custom_len = flen;
	m.n_out = 4;
	for (int k = 0; k < 4; k++)
		m.out[k] = out0 + k;
	rc |= write_model(dir, "detect.seed", &m);

	/* 4. The other operators: PAD, MEAN, RESIZE, CONCATENATION, FULLY_CONNECTED, TRANSPOSE_CONV, ... */
	static const int32_t pads[8] = { 0, 0, 1, 1, 1, 1, 0, 0 }, axes[2] = { 1, 2 }, size[2] = { 8, 8 };
	static const int32_t oshape[4] = { 1, 8, 8, 2 };
	static const uint16_t w16[2 * 2] = { 0x3c00, 0x3800, 0xbc00, 0x4000 };
	static float tw[2 * 3 * 3 * 2], fcw[3 * 2];
	start(&m, F32, 4, (int[]){ 1, 4, 4, 2 });
	int pt = tb_add_tensor(&m, "pads", I32, 2, (int[]){ 4, 2 }, tb_add_buffer(&m, pads, sizeof pads));
	int at = tb_add_tensor(&m, "axes", I32, 1, (int[]){ 2 }, tb_add_buffer(&m, axes, sizeof axes));
	int st = tb_add_tensor(&m, "size", I32, 1, (int[]){ 2 }, tb_add_buffer(&m, size, sizeof size));
	int ost = tb_add_tensor(&m, "oshape", I32, 1, (int[]){ 4 }, tb_add_buffer(&m, oshape, sizeof oshape));
	int twt = tb_add_tensor(&m, "tconv/w", F32, 4, (int[]){ 2, 3, 3, 2 }, tb_add_buffer(&m, tw, sizeof tw));
	int h16 = tb_add_tensor(&m, "fc/w16", F16, 2, (int[]){ 2, 2 }, tb_add_buffer(&m, w16, sizeof w16));
	int fcwt = tb_add_tensor(&m, "fc/w", F32, 2, (int[]){ 3, 2 }, tb_add_buffer(&m, fcw, sizeof fcw));
	int padded = tb_add_tensor(&m, "padded", F32, 4, (int[]){ 1, 6, 6, 2 }, 0);
	int mean = tb_add_tensor(&m, "mean", F32, 2, (int[]){ 1, 2 }, 0);
	int up = tb_add_tensor(&m, "up", F32, 4, (int[]){ 1, 8, 8, 2 }, 0);
	int tc = tb_add_tensor(&m, "tconv", F32, 4, (int[]){ 1, 8, 8, 2 }, 0);
	int cat = tb_add_tensor(&m, "cat", F32, 4, (int[]){ 1, 8, 8, 4 }, 0);
	int hs = tb_add_tensor(&m, "hswish", F32, 4, (int[]){ 1, 8, 8, 4 }, 0);
	int wdq = tb_add_tensor(&m, "fc/w16/dq", F32, 2, (int[]){ 2, 2 }, 0);
	int fc1 = tb_add_tensor(&m, "fc1", F32, 2, (int[]){ 1, 2 }, 0);
	int fc2 = tb_add_tensor(&m, "fc2", F32, 2, (int[]){ 1, 3 }, 0);
	int lr = tb_add_tensor(&m, "leaky", F32, 2, (int[]){ 1, 3 }, 0);
	int q = tb_add_tensor(&m, "q", I8, 2, (int[]){ 1, 3 }, 0);
	int dq = tb_add_tensor(&m, "dq", F32, 2, (int[]){ 1, 3 }, 0);
	int sum = tb_add_tensor(&m, "sum", F32, 2, (int[]){ 1, 3 }, 0);
	quant(&m, q, 0.1f, -3);
	tb_add_op(&m, 34, NULL, 2, (int[]){ 0, pt }, 1, (int[]){ padded });
	tb_opt(tb_add_op(&m, 40, NULL, 2, (int[]){ padded, at }, 1, (int[]){ mean }), 27, 0, 1, 0);
	o = tb_add_op(&m, 23, NULL, 2, (int[]){ 0, st }, 1, (int[]){ up });
	tb_opt(o, 15, 3, 1, 1);
	o = tb_add_op(&m, 67, NULL, 3, (int[]){ ost, twt, 0 }, 1, (int[]){ tc });
	tb_opt(o, 49, 1, 4, 2);
	tb_opt(o, 49, 2, 4, 2);
	o = tb_add_op(&m, 2, NULL, 2, (int[]){ up, tc }, 1, (int[]){ cat });
	tb_opt(o, 10, 0, 4, 3);
	tb_add_op(&m, 117, NULL, 1, (int[]){ cat }, 1, (int[]){ hs });
	tb_add_op(&m, 6, NULL, 1, (int[]){ h16 }, 1, (int[]){ wdq });
	tb_opt(tb_add_op(&m, 9, NULL, 2, (int[]){ mean, wdq }, 1, (int[]){ fc1 }), 8, 0, 1, 1);
	tb_add_op(&m, 9, NULL, 3, (int[]){ fc1, fcwt, -1 }, 1, (int[]){ fc2 });
	tb_opt(tb_add_op(&m, 98, NULL, 1, (int[]){ fc2 }, 1, (int[]){ lr }), 75, 0, 4, tb_fbits(0.1f));
	tb_add_op(&m, 114, NULL, 1, (int[]){ lr }, 1, (int[]){ q });
	tb_add_op(&m, 6, NULL, 1, (int[]){ q }, 1, (int[]){ dq });
	tb_opt(tb_add_op(&m, 0, NULL, 2, (int[]){ dq, fc2 }, 1, (int[]){ sum }), 11, 0, 1, 3);
	m.n_out = 2;
	m.out[0] = hs;
	m.out[1] = sum;
	rc |= write_model(dir, "ops.seed", &m);

	/* 5. Labels: TFLITE_METADATA naming the label file, and a stored zip appended to the model. */
	static uint8_t zip[1024], meta[1024];
	const char *names[] = { "readme.txt", "labels.txt" };
	const char *data[] = { "A tiny model.\n", "background\n0 cat\n1 dog\n???\n" };
	size_t zlen = tb_zip(zip, 2, names, data, 0, 0), mlen = tb_metadata(meta, "labels.txt");
	start(&m, F32, 2, (int[]){ 1, 4 });
	y = tb_add_tensor(&m, "scores", F32, 2, (int[]){ 1, 4 }, 0);
	tb_add_op(&m, 14, NULL, 1, (int[]){ 0 }, 1, (int[]){ y });
	m.n_out = 1;
	m.out[0] = y;
	m.n_meta = 2;
	m.meta_name[0] = "TFLITE_METADATA";
	m.meta_buffer[0] = tb_add_buffer(&m, meta, mlen);
	m.meta_name[1] = "min_runtime_version";
	m.meta_buffer[1] = tb_add_buffer(&m, "1.5.0\0\0\0\0\0\0\0\0\0\0", 16);
	m.appendix = zip;
	m.appendix_len = zlen;
	rc |= write_model(dir, "labels.seed", &m);

	/* 6. Operators the engine lacks: LSTM and a custom op. */
	start(&m, F32, 2, (int[]){ 1, 4 });
	int a = tb_add_tensor(&m, "split:0", F32, 2, (int[]){ 1, 2 }, 0);
	int b = tb_add_tensor(&m, "split:1", F32, 2, (int[]){ 1, 2 }, 0);
	int cu = tb_add_tensor(&m, "custom", F32, 2, (int[]){ 1, 2 }, 0);
	tb_add_op(&m, 16, NULL, 1, (int[]){ 0 }, 2, (int[]){ a, b });
	tb_add_op(&m, 32, "MyCustomOp", 1, (int[]){ a }, 1, (int[]){ cu });
	m.n_out = 2;
	m.out[0] = cu;
	m.out[1] = b;
	rc |= write_model(dir, "unsupported.seed", &m);

	/*
	 * 7. Sparse weights: a float16 [4,1,1,4] CONV_2D filter in 2x2 blocks
	 * over its output and input channels (block_map {0, 3}, block columns
	 * CSR with uint8 segments and uint16 indices) densified and dequantized,
	 * and a float32 [3,4] CSR tensor (int32 vectors) densified and added.
	 */
	{
		static const int bseg[3] = { 0, 1, 2 }, bidx[2] = { 0, 1 };
		static const uint16_t bvals[8] = { 0x3c00, 0x4000, 0x4200, 0x4400, 0x4500, 0x4600, 0x4700, 0x4800 };
		static tb_sparsity blocks = { .n_trav = 6, .trav = { 0, 1, 2, 3, 4, 5 }, .n_block = 2,
					      .block_map = { 0, 3 }, .n_dims = 6 };
		blocks.dims[0] = (tb_sparse_dim){ .format = 0, .dense_size = 2 };
		blocks.dims[1] = (tb_sparse_dim){ .format = 0, .dense_size = 1 };
		blocks.dims[2] = (tb_sparse_dim){ .format = 0, .dense_size = 1 };
		blocks.dims[3] = (tb_sparse_dim){ .format = 1, .seg_type = 3, .n_seg = 3, .seg = bseg, .idx_type = 2,
						  .n_idx = 2, .idx = bidx };
		blocks.dims[4] = (tb_sparse_dim){ .format = 0, .dense_size = 2 };
		blocks.dims[5] = (tb_sparse_dim){ .format = 0, .dense_size = 2 };
		static const int cseg[4] = { 0, 2, 2, 4 }, cidx[4] = { 1, 3, 0, 2 };
		static const float cvals[4] = { 1, 2, 3, 4 };
		static tb_sparsity csr = { .n_trav = 2, .trav = { 0, 1 }, .n_dims = 2 };
		csr.dims[0] = (tb_sparse_dim){ .format = 0, .dense_size = 3 };
		csr.dims[1] = (tb_sparse_dim){ .format = 1, .seg_type = 1, .n_seg = 4, .seg = cseg, .idx_type = 1,
					       .n_idx = 4, .idx = cidx };
		start(&m, F32, 4, (int[]){ 1, 3, 3, 4 });
		int w16 = tb_add_tensor(&m, "w_sparse", F16, 4, (int[]){ 4, 1, 1, 4 }, tb_add_buffer(&m, bvals, sizeof bvals));
		m.tensors[w16].sp = &blocks;
		int wd = tb_add_tensor(&m, "w_dense", F16, 4, (int[]){ 4, 1, 1, 4 }, 0);
		int wf = tb_add_tensor(&m, "w", F32, 4, (int[]){ 4, 1, 1, 4 }, 0);
		int conv = tb_add_tensor(&m, "conv", F32, 4, (int[]){ 1, 3, 3, 4 }, 0);
		int cs = tb_add_tensor(&m, "c_sparse", F32, 2, (int[]){ 3, 4 }, tb_add_buffer(&m, cvals, sizeof cvals));
		m.tensors[cs].sp = &csr;
		int cd = tb_add_tensor(&m, "c", F32, 2, (int[]){ 3, 4 }, 0);
		int out = tb_add_tensor(&m, "sum", F32, 4, (int[]){ 1, 3, 3, 4 }, 0);
		tb_add_op(&m, 124, NULL, 1, (int[]){ w16 }, 1, (int[]){ wd });
		tb_add_op(&m, 6, NULL, 1, (int[]){ wd }, 1, (int[]){ wf });
		tb_op *o = tb_add_op(&m, 3, NULL, 2, (int[]){ 0, wf }, 1, (int[]){ conv });
		tb_opt(o, 1, 1, 4, 1);
		tb_opt(o, 1, 2, 4, 1);
		tb_add_op(&m, 124, NULL, 1, (int[]){ cs }, 1, (int[]){ cd });
		tb_opt(tb_add_op(&m, 0, NULL, 2, (int[]){ conv, cd }, 1, (int[]){ out }), 11, 0, 1, 0);
		m.n_out = 1;
		m.out[0] = out;
		rc |= write_model(dir, "sparse.seed", &m);
	}

	/*
	 * 8. The pose models' ops: DEPTH_TO_SPACE, SPLIT, ARG_MAX, FLOOR_DIV,
	 * CAST, PACK, UNPACK, GATHER_ND and SQRT, with MoveNet's int32 MUL/SUB.
	 */
	{
		static const int32_t axis3 = 3, axis1 = 1, two = 2;
		start(&m, F32, 4, (int[]){ 1, 2, 2, 8 });
		int d2s = tb_add_tensor(&m, "d2s", F32, 4, (int[]){ 1, 4, 4, 2 }, 0);
		int ax3 = tb_add_tensor(&m, "axis3", I32, 0, NULL, tb_add_buffer(&m, &axis3, 4));
		int s0 = tb_add_tensor(&m, "split:0", F32, 4, (int[]){ 1, 4, 4, 1 }, 0);
		int s1 = tb_add_tensor(&m, "split:1", F32, 4, (int[]){ 1, 4, 4, 1 }, 0);
		int flat = tb_add_tensor(&m, "flat", F32, 2, (int[]){ 1, 16 }, 0);
		int ax1 = tb_add_tensor(&m, "axis1", I32, 0, NULL, tb_add_buffer(&m, &axis1, 4));
		int am = tb_add_tensor(&m, "argmax", I32, 1, (int[]){ 1 }, 0);
		int k2 = tb_add_tensor(&m, "two", I32, 0, NULL, tb_add_buffer(&m, &two, 4));
		int row = tb_add_tensor(&m, "row", I32, 1, (int[]){ 1 }, 0);
		int rx2 = tb_add_tensor(&m, "row2", I32, 1, (int[]){ 1 }, 0);
		int col = tb_add_tensor(&m, "col", I32, 1, (int[]){ 1 }, 0);
		int rc2 = tb_add_tensor(&m, "rowcol", I32, 2, (int[]){ 1, 2 }, 0);
		int g = tb_add_tensor(&m, "gathered", F32, 3, (int[]){ 1, 4, 1 }, 0);
		int un0 = tb_add_tensor(&m, "unpack:0", F32, 1, (int[]){ 1 }, 0);
		int sq = tb_add_tensor(&m, "sqrt", F32, 4, (int[]){ 1, 4, 4, 1 }, 0);
		int fc = tb_add_tensor(&m, "rowcol_f", F32, 2, (int[]){ 1, 2 }, 0);
		tb_opt(tb_add_op(&m, 5, NULL, 1, (int[]){ 0 }, 1, (int[]){ d2s }), 94, 0, 4, 2);
		tb_opt(tb_add_op(&m, 49, NULL, 2, (int[]){ ax3, d2s }, 2, (int[]){ s0, s1 }), 35, 0, 4, 2);
		tb_add_op(&m, 22, NULL, 1, (int[]){ s0 }, 1, (int[]){ flat });
		tb_opt(tb_add_op(&m, 56, NULL, 2, (int[]){ flat, ax1 }, 1, (int[]){ am }), 40, 0, 1, I32);
		tb_add_op(&m, 90, NULL, 2, (int[]){ am, k2 }, 1, (int[]){ row });
		tb_opt(tb_add_op(&m, 18, NULL, 2, (int[]){ row, k2 }, 1, (int[]){ rx2 }), 21, 0, 1, 0);
		tb_opt(tb_add_op(&m, 41, NULL, 2, (int[]){ am, rx2 }, 1, (int[]){ col }), 28, 0, 1, 0);
		tb_op *o = tb_add_op(&m, 83, NULL, 2, (int[]){ row, col }, 1, (int[]){ rc2 });
		tb_opt(o, 59, 0, 4, 2);
		tb_opt(o, 59, 1, 4, 1);
		tb_add_op(&m, 107, NULL, 2, (int[]){ s1, rc2 }, 1, (int[]){ g });
		tb_add_op(&m, 53, NULL, 1, (int[]){ rc2 }, 1, (int[]){ fc });
		int un1 = tb_add_tensor(&m, "unpack:1", F32, 1, (int[]){ 1 }, 0);
		o = tb_add_op(&m, 88, NULL, 1, (int[]){ fc }, 2, (int[]){ un0, un1 });
		tb_opt(o, 64, 0, 4, 2);
		tb_opt(o, 64, 1, 4, 1);
		tb_add_op(&m, 75, NULL, 1, (int[]){ s1 }, 1, (int[]){ sq });
		m.n_out = 4;
		m.out[0] = g;
		m.out[1] = un0;
		m.out[2] = un1;
		m.out[3] = sq;
		rc |= write_model(dir, "pose_ops.seed", &m);
	}

	/*
	 * 9. The YOLO exports' ops: a dilated convolution (SPACE_TO_BATCH_ND,
	 * CONV_2D, BATCH_TO_SPACE_ND), TRANSPOSE, STRIDED_SLICE with a shrunk
	 * axis, and Keras' SHAPE / STRIDED_SLICE / PACK / RESHAPE to a
	 * placeholder [1,1,2] (shape_signature -1), with Ultralytics'
	 * temp_meta.txt zipped onto the file.
	 */
	{
		static const int32_t block[2] = { 2, 2 }, pads[4] = { 2, 3, 2, 3 }, crops[4] = { 0, 1, 0, 1 };
		static const int32_t perm[4] = { 0, 3, 1, 2 }, b0[1] = { 0 }, b1[1] = { 1 }, minus1 = -1, two = 2;
		static float cw[2 * 3 * 3 * 2], cb[2];
		static uint8_t zip[1024];
		for (int i = 0; i < 36; i++)
			cw[i] = (float)(i % 5) * 0.25f;
		start(&m, F32, 4, (int[]){ 1, 5, 5, 2 });
		int bl = tb_add_tensor(&m, "block", I32, 1, (int[]){ 2 }, tb_add_buffer(&m, block, sizeof block));
		int pd = tb_add_tensor(&m, "pads", I32, 2, (int[]){ 2, 2 }, tb_add_buffer(&m, pads, sizeof pads));
		int cr = tb_add_tensor(&m, "crops", I32, 2, (int[]){ 2, 2 }, tb_add_buffer(&m, crops, sizeof crops));
		int s2b = tb_add_tensor(&m, "s2b", F32, 4, (int[]){ 4, 5, 5, 2 }, 0);
		int wt = tb_add_tensor(&m, "w", F32, 4, (int[]){ 2, 3, 3, 2 }, tb_add_buffer(&m, cw, sizeof cw));
		int bt = tb_add_tensor(&m, "b", F32, 1, (int[]){ 2 }, tb_add_buffer(&m, cb, sizeof cb));
		int cv = tb_add_tensor(&m, "conv", F32, 4, (int[]){ 4, 3, 3, 2 }, 0);
		int dil = tb_add_tensor(&m, "dilated", F32, 4, (int[]){ 1, 5, 5, 2 }, 0);
		int pm = tb_add_tensor(&m, "perm", I32, 1, (int[]){ 4 }, tb_add_buffer(&m, perm, sizeof perm));
		int tr = tb_add_tensor(&m, "nchw", F32, 4, (int[]){ 1, 2, 5, 5 }, 0);
		int sb = tb_add_tensor(&m, "begin", I32, 1, (int[]){ 1 }, tb_add_buffer(&m, b0, sizeof b0));
		int se = tb_add_tensor(&m, "end", I32, 1, (int[]){ 1 }, tb_add_buffer(&m, b1, sizeof b1));
		int ss = tb_add_tensor(&m, "strides", I32, 1, (int[]){ 1 }, tb_add_buffer(&m, b1, sizeof b1));
		int sl = tb_add_tensor(&m, "slice", F32, 3, (int[]){ 2, 5, 5 }, 0);
		int shp = tb_add_tensor(&m, "shape", I32, 1, (int[]){ 4 }, 0);
		int bat = tb_add_tensor(&m, "batch", I32, 0, NULL, 0);
		int c1 = tb_add_tensor(&m, "minus1", I32, 0, NULL, tb_add_buffer(&m, &minus1, 4));
		int c2 = tb_add_tensor(&m, "two", I32, 0, NULL, tb_add_buffer(&m, &two, 4));
		int pk = tb_add_tensor(&m, "packed", I32, 1, (int[]){ 3 }, 0);
		int rs = tb_add_tensor(&m, "reshaped", F32, 3, (int[]){ 1, 1, 2 }, 0);
		m.tensors[rs].n_signature = 3;
		memcpy(m.tensors[rs].signature, (int[]){ -1, -1, 2 }, sizeof(int) * 3);
		tb_add_op(&m, 38, NULL, 3, (int[]){ 0, bl, pd }, 1, (int[]){ s2b });
		tb_op *o = tb_add_op(&m, 3, NULL, 3, (int[]){ s2b, wt, bt }, 1, (int[]){ cv });
		tb_opt(o, 1, 0, 1, 1);
		tb_opt(o, 1, 1, 4, 1);
		tb_opt(o, 1, 2, 4, 1);
		tb_add_op(&m, 37, NULL, 3, (int[]){ cv, bl, cr }, 1, (int[]){ dil });
		tb_add_op(&m, 39, NULL, 2, (int[]){ dil, pm }, 1, (int[]){ tr });
		tb_opt(tb_add_op(&m, 45, NULL, 4, (int[]){ tr, sb, se, ss }, 1, (int[]){ sl }), 32, 4, 4, 1);
		tb_add_op(&m, 77, NULL, 1, (int[]){ dil }, 1, (int[]){ shp });
		tb_opt(tb_add_op(&m, 45, NULL, 4, (int[]){ shp, sb, se, ss }, 1, (int[]){ bat }), 32, 4, 4, 1);
		o = tb_add_op(&m, 83, NULL, 3, (int[]){ bat, c1, c2 }, 1, (int[]){ pk });
		tb_opt(o, 59, 0, 4, 3);
		tb_add_op(&m, 22, NULL, 2, (int[]){ dil, pk }, 1, (int[]){ rs });
		m.n_out = 2;
		m.out[0] = sl;
		m.out[1] = rs;
		const char *names[] = { "temp_meta.txt" }, *data[] = { "{'names': {0: 'person'}, 'imgsz': [5, 5]}" };
		m.appendix = zip;
		m.appendix_len = tb_zip(zip, 1, names, data, 0, 0);
		rc |= write_model(dir, "yolo_ops.seed", &m);
	}
	return rc;
}
