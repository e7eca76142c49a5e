/*
 * Tests of the TensorFlow Lite loader (src/nn/format/tflite.c, tflite_metadata.c):
 * the real models of ../shared/assets, one small model per supported
 * operator built by tests/nn/tflite_builder.h, and hostile files (truncated,
 * flipped, hand-corrupted), each of which must give a clear error and never
 * a crash. Run them under -Db_sanitize=address,undefined too.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/graph.h"
#include "nn/format/tflite.h"
#include "test.h"
#include "tflite_load.h"

#ifndef VG_ASSETS_DIR
#define VG_ASSETS_DIR "../shared/assets"
#endif

#define MODELS VG_ASSETS_DIR "/models/tflite/"

/* TFLite BuiltinOperator codes and BuiltinOptions union tags used below. */
enum {
	ADD = 0, AVERAGE_POOL_2D = 1, CONCATENATION = 2, CONV_2D = 3, DEPTHWISE_CONV_2D = 4, DEQUANTIZE = 6,
	FULLY_CONNECTED = 9, LOGISTIC = 14, MAX_POOL_2D = 17, MUL = 18, RELU = 19, RELU_N1_TO_1 = 20, RELU6 = 21,
	RESHAPE = 22, RESIZE_BILINEAR = 23, SOFTMAX = 25, TANH = 28, CUSTOM = 32, PAD = 34, MEAN = 40, SUB = 41,
	DIV = 42, SQUEEZE = 43, SPLIT = 49, PRELU = 54, MAXIMUM = 55, MINIMUM = 57, PADV2 = 60, TRANSPOSE_CONV = 67,
	EXPAND_DIMS = 70, RESIZE_NEAREST_NEIGHBOR = 97, LEAKY_RELU = 98, QUANTIZE = 114, HARD_SWISH = 117,
};
enum {
	O_CONV = 1, O_DWCONV = 2, O_POOL = 5, O_FC = 8, O_SOFTMAX = 9, O_CONCAT = 10, O_ADD = 11, O_RESIZE_BILINEAR = 15,
	O_MUL = 21, O_REDUCER = 27, O_SUB = 28, O_DIV = 29, O_TRANSPOSE_CONV = 49, O_RESIZE_NEAREST = 74, O_LEAKY = 75,
};
enum { T_F32 = 0, T_F16 = 1, T_I32 = 2, T_U8 = 3, T_I64 = 4, T_STRING = 5, T_I8 = 9 };

/* ---- helpers ---- */

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	rewind(f);
	uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
	CHECK(b != NULL);
	CHECK(fread(b, 1, (size_t)n, f) == (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return b;
}

static uint8_t *asset(const char *file, size_t *len)
{
	char path[512];
	snprintf(path, sizeof path, MODELS "%s", file);
	uint8_t *b = read_file(path, len);
	if (!b)
		SKIP("%s not found (shared assets absent)", path);
	return b;
}

static nn_graph *load_asset(const char *file)
{
	size_t len;
	uint8_t *b = asset(file, &len);
	nn_graph *g = NULL;
	char err[512];
	int rc = nn_tflite_load(&g, b, len, file, err, sizeof err);
	free(b);
	CHECK_MSG(rc == 0 && g, "%s: rc %d: %s", file, rc, err);
	return g;
}

static int count_op(const nn_graph *g, nn_op op)
{
	int n = 0;
	for (int i = 0; i < g->n_nodes; i++)
		n += g->nodes[i].op == op;
	return n;
}

static void check_shape(const nn_tensor *t, int rank, ...)
{
	va_list ap;
	va_start(ap, rank);
	CHECK_MSG(t->rank == rank, "%s: rank %d, expected %d", t->name, t->rank, rank);
	for (int i = 0; i < rank; i++) {
		int d = va_arg(ap, int);
		CHECK_MSG(t->shape[i] == d, "%s: dim %d is %d, expected %d", t->name, i, t->shape[i], d);
	}
	va_end(ap);
}

/* A model with input tensor 0 (float [1,4,4,2]) and an empty sentinel buffer 0. */
static void base(tb_model *m)
{
	memset(m, 0, sizeof *m);
	m->n_buffers = 1;
	tb_add_tensor(m, "x", T_F32, 4, (int[]){ 1, 4, 4, 2 }, 0);
	m->n_in = 1;
	m->in[0] = 0;
}

static nn_graph *load_ok(const tb_model *m)
{
	nn_graph *g;
	char err[512];
	int rc = tb_load(m, &g, err, sizeof err);
	CHECK_MSG(rc == 0 && g, "rc %d: %s", rc, err);
	return g;
}

/* The load must fail with code `code` and a message naming the file and containing `want`. */
static void load_fails(const tb_model *m, int code, const char *want)
{
	nn_graph *g;
	char err[512];
	int rc = tb_load(m, &g, err, sizeof err);
	CHECK_MSG(rc == code, "rc %d, expected %d (%s)", rc, code, err);
	CHECK(g == NULL);
	CHECK_MSG(strncmp(err, "t.tflite: ", 10) == 0 && strstr(err, want), "message \"%s\" lacks \"%s\"", err, want);
}

/* Loads bytes that may be damaged: a clean error or a good graph, never a crash. Returns rc. */
static int load_any(const uint8_t *b, size_t len)
{
	nn_graph *g = NULL;
	char err[512];
	err[0] = 0;
	int rc = nn_tflite_load(&g, b, len, "bad.tflite", err, sizeof err);
	if (rc < 0) {
		CHECK(g == NULL);
		CHECK_MSG(strlen(err) > strlen("bad.tflite: "), "rc %d with message \"%s\"", rc, err);
		CHECK(strncmp(err, "bad.tflite: ", 12) == 0);
	} else {
		CHECK(rc == 0 && g != NULL);
		nn_graph_free(g);
	}
	nn_tflite_info info;
	if (nn_tflite_read_info(&info, b, len, "bad.tflite", err, sizeof err) == 0)
		nn_tflite_info_free(&info);
	return rc;
}

/* ---- real models ---- */

TEST(tflite_ssd_mobilenet_coco)
{
	nn_graph *g = load_asset("ssd_mobilenet_v1_coco_quant_2018_06_29_detect.tflite");
	CHECK(g->n_inputs == 1 && g->n_outputs == 4);
	const nn_tensor *in = &g->tensors[g->inputs[0]];
	CHECK(in->dtype == NN_U8);
	check_shape(in, 4, 1, 300, 300, 3);
	CHECK(in->quant.count == 1 && in->quant.scale[0] == 0.0078125f && in->quant.zero_point[0] == 128);
	check_shape(&g->tensors[g->outputs[0]], 3, 1, 10, 4);
	check_shape(&g->tensors[g->outputs[1]], 2, 1, 10);
	check_shape(&g->tensors[g->outputs[2]], 2, 1, 10);
	check_shape(&g->tensors[g->outputs[3]], 1, 1);
	for (int i = 0; i < 4; i++)
		CHECK(g->tensors[g->outputs[i]].dtype == NN_F32);
	CHECK(g->n_nodes == 64);
	CHECK(count_op(g, NN_OP_CONV2D) == 34 && count_op(g, NN_OP_DEPTHWISE_CONV2D) == 13);
	CHECK(count_op(g, NN_OP_RESHAPE) == 13 && count_op(g, NN_OP_CONCATENATION) == 2);
	CHECK(count_op(g, NN_OP_LOGISTIC) == 1 && count_op(g, NN_OP_DETECTION_POSTPROCESS) == 1);
	const nn_node *d = &g->nodes[63];
	CHECK(d->op == NN_OP_DETECTION_POSTPROCESS && d->n_inputs == 3 && d->n_outputs == 4);
	CHECK(!strcmp(d->name, "TFLite_Detection_PostProcess"));
	const nn_detection_postprocess_params *p = &d->p.detpp;
	CHECK(p->max_detections == 10 && p->max_classes_per_detection == 1 && p->detections_per_class == 100);
	CHECK(p->use_regular_nms == 0 && p->num_classes == 90);
	CHECK(p->nms_score_threshold > 0.0f && p->nms_score_threshold < 1e-7f);
	CHECK(p->nms_iou_threshold > 0.5999f && p->nms_iou_threshold < 0.6001f);
	CHECK(p->y_scale == 10.0f && p->x_scale == 10.0f && p->h_scale == 5.0f && p->w_scale == 5.0f);
	/* Constants point into the graph's own copy of the file. */
	int consts = 0;
	for (int i = 0; i < g->n_tensors; i++) {
		const nn_tensor *t = &g->tensors[i];
		if (!t->is_const)
			continue;
		consts++;
		CHECK(t->data && (const uint8_t *)t->data >= (const uint8_t *)g->file &&
		      (const uint8_t *)t->data + nn_tensor_bytes(t) <= (const uint8_t *)g->file + g->file_len);
	}
	CHECK(consts > 90);
	/* The first convolution: uint8 weights, int32 bias, stride 2 SAME (the clamp lives in its output range). */
	const nn_node *c = &g->nodes[0];
	CHECK(c->op == NN_OP_CONV2D && c->n_inputs == 3);
	CHECK(g->tensors[c->inputs[1]].dtype == NN_U8 && g->tensors[c->inputs[2]].dtype == NN_I32);
	CHECK(c->p.conv.stride_h == 2 && c->p.conv.stride_w == 2 && c->p.conv.padding == NN_PADDING_SAME);
	CHECK(c->p.conv.act == NN_ACT_NONE && c->p.conv.dilation_h == 1);
	CHECK(g->n_labels == 0);
	nn_graph_free(g);
}

TEST(tflite_ssd_mobilenet_pets)
{
	nn_graph *g = load_asset("ssd_mobilenet_v1_pets_quant_detect.tflite");
	CHECK(g->n_inputs == 1 && g->n_outputs == 4 && g->n_nodes == 64);
	check_shape(&g->tensors[g->inputs[0]], 4, 1, 300, 300, 3);
	const nn_detection_postprocess_params *p = &g->nodes[63].p.detpp;
	CHECK(g->nodes[63].op == NN_OP_DETECTION_POSTPROCESS);
	CHECK(p->num_classes == 37 && p->max_detections == 10 && p->detections_per_class == 100);
	CHECK(p->use_regular_nms == 0);
	nn_graph_free(g);
}

TEST(tflite_coral_classifiers)
{
	static const struct { const char *file; int size, nodes; } models[] = {
		{ "coral_mobilenet_v1_0.25_128_quant.tflite", 128, 31 },
		{ "coral_mobilenet_v1_0.5_160_quant.tflite", 160, 31 },
		{ "coral_mobilenet_v2_1.0_224_quant.tflite", 224, 66 },
	};
	for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
		nn_graph *g = load_asset(models[i].file);
		CHECK(g->n_inputs == 1 && g->n_outputs == 1 && g->n_nodes == models[i].nodes);
		const nn_tensor *in = &g->tensors[g->inputs[0]], *out = &g->tensors[g->outputs[0]];
		CHECK(in->dtype == NN_U8 && out->dtype == NN_U8);
		check_shape(in, 4, 1, models[i].size, models[i].size, 3);
		check_shape(out, 2, 1, 1001);
		CHECK(in->quant.count == 1 && in->quant.scale[0] == 0.0078125f && in->quant.zero_point[0] == 128);
		CHECK(out->quant.count == 1 && out->quant.scale[0] == 0.00390625f && out->quant.zero_point[0] == 0);
		CHECK(count_op(g, NN_OP_AVERAGE_POOL2D) == 1 && count_op(g, NN_OP_SOFTMAX) == 1);
		/* Labels packed by TFLite metadata: imagenet_labels.txt, 1001 lines. */
		CHECK_MSG(g->n_labels == 1001, "%s: %d labels", models[i].file, g->n_labels);
		CHECK(!strcmp(g->labels[0], "background") && !strcmp(g->labels[1], "tench, Tinca tinca"));
		nn_graph_free(g);
	}
}

TEST(tflite_tf2_int8_per_channel)
{
	nn_graph *g = load_asset("coral_tf2_mobilenet_v2_1.0_224_ptq.tflite");
	const nn_tensor *in = &g->tensors[g->inputs[0]];
	CHECK(in->dtype == NN_U8 && in->quant.zero_point[0] == 127);
	check_shape(in, 4, 1, 224, 224, 3);
	check_shape(&g->tensors[g->outputs[0]], 2, 1, 1001);
	CHECK(g->nodes[0].op == NN_OP_QUANTIZE && g->tensors[g->nodes[0].outputs[0]].dtype == NN_I8);
	CHECK(count_op(g, NN_OP_MEAN) == 1);
	int per_channel = 0;
	for (int i = 0; i < g->n_nodes; i++) {
		const nn_node *n = &g->nodes[i];
		if (n->op == NN_OP_MEAN)
			CHECK(n->n_inputs == 1 && n->p.reduce.n_axes == 2 && n->p.reduce.axes[0] == 1 &&
			      n->p.reduce.axes[1] == 2);
		if (n->op != NN_OP_CONV2D && n->op != NN_OP_DEPTHWISE_CONV2D)
			continue;
		const nn_tensor *w = &g->tensors[n->inputs[1]], *b = &g->tensors[n->inputs[2]];
		CHECK(w->dtype == NN_I8 && b->dtype == NN_I32);
		int axis = n->op == NN_OP_CONV2D ? 0 : 3;
		CHECK_MSG(w->quant.count == w->shape[axis] && w->quant.axis == axis, "node %d: %d scales on axis %d", i,
			  w->quant.count, w->quant.axis);
		CHECK(b->quant.count == w->quant.count);
		if (n->op == NN_OP_DEPTHWISE_CONV2D)
			CHECK(n->p.conv.depth_multiplier == 1);
		per_channel++;
	}
	CHECK(per_channel == 53);
	CHECK(g->n_labels == 1001);
	nn_graph_free(g);
}

TEST(tflite_mediapipe_float16)
{
	static const struct { const char *file; int size, anchors, coords; } models[] = {
		{ "mediapipe_face_detection_short_range.tflite", 128, 896, 16 },
		{ "mediapipe_face_detection_full_range.tflite", 192, 2304, 16 },
		{ "mediapipe_palm_detection.tflite", 128, 896, 18 },
	};
	for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
		nn_graph *g = load_asset(models[i].file);
		CHECK(g->n_inputs == 1 && g->n_outputs == 2);
		const nn_tensor *in = &g->tensors[g->inputs[0]];
		CHECK(in->dtype == NN_F32);
		check_shape(in, 4, 1, models[i].size, models[i].size, 3);
		check_shape(&g->tensors[g->outputs[0]], 3, 1, models[i].anchors, models[i].coords);
		check_shape(&g->tensors[g->outputs[1]], 3, 1, models[i].anchors, 1);
		/* Weights stay float16 constants behind DEQUANTIZE nodes. */
		int deq = 0;
		for (int k = 0; k < g->n_nodes; k++) {
			const nn_node *n = &g->nodes[k];
			if (n->op != NN_OP_DEQUANTIZE)
				continue;
			const nn_tensor *src = &g->tensors[n->inputs[0]];
			CHECK(src->dtype == NN_F16 && src->is_const && g->tensors[n->outputs[0]].dtype == NN_F32);
			deq++;
		}
		if (strstr(models[i].file, "palm"))
			CHECK(count_op(g, NN_OP_PRELU) == 26);
		else
			CHECK(deq > 50);
		nn_graph_free(g);
	}
}

/* The models that needed DENSIFY, DEPTH_TO_SPACE, SPLIT and MoveNet's index ops load, with those ops mapped. */
TEST(tflite_pose_and_lstm_models_load)
{
	static const struct { const char *file; nn_op op; int count; } models[] = {
		{ "coral_automl_traffic_model.tflite", NN_OP_SPLIT, 7 },
		{ "mediapipe_pose_detection.tflite", NN_OP_DEPTH_TO_SPACE, 3 },
		{ "mediapipe_face_detection_full_range_sparse.tflite", NN_OP_DEPTH_TO_SPACE, 2 },
		{ "coral_movenet_single_pose_lightning_ptq.tflite", NN_OP_GATHER_ND, 4 },
	};
	for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
		nn_graph *g = load_asset(models[i].file);
		if (!g)
			continue;
		CHECK_MSG(count_op(g, models[i].op) == models[i].count, "%s: %d nodes of %s, expected %d", models[i].file,
			  count_op(g, models[i].op), nn_op_name(models[i].op), models[i].count);
		/*
		 * DENSIFY leaves no node: its output is a constant owning the dense
		 * float16 weights, and the sparse tensor it read holds nothing.
		 */
		if (strstr(models[i].file, "mediapipe")) {
			int owned = 0, emptied = 0;
			for (int a = 0; a < g->n_tensors; a++) {
				const nn_tensor *t = &g->tensors[a];
				owned += t->is_const && t->owns_data && t->data && t->dtype == NN_F16;
				emptied += !t->is_const && !t->data && t->dtype == NN_F16;
			}
			int want = strstr(models[i].file, "sparse") ? 46 : 38;
			CHECK_MSG(owned == want && emptied == want, "%s: %d densified constants and %d released sparse tensors, "
				  "expected %d of each", models[i].file, owned, emptied, want);
		}
		if (strstr(models[i].file, "movenet")) {
			CHECK(count_op(g, NN_OP_ARG_MAX) == 2 && count_op(g, NN_OP_PACK) == 3 && count_op(g, NN_OP_UNPACK) == 2);
			CHECK(count_op(g, NN_OP_SQRT) == 1 && count_op(g, NN_OP_CAST) == 5 && count_op(g, NN_OP_FLOOR_DIV) == 2);
		}
		nn_graph_free(g);
	}
}

TEST(tflite_info)
{
	size_t len;
	uint8_t *b = asset("coral_mobilenet_v1_0.25_128_quant.tflite", &len);
	nn_tflite_info info;
	char err[256];
	CHECK(nn_tflite_read_info(&info, b, len, "m.tflite", err, sizeof err) == 0);
	CHECK(info.schema_version == 3 && info.n_subgraphs == 1 && info.n_ops == 31);
	CHECK(info.description && !strcmp(info.description, "MLIR Converted."));
	CHECK(info.min_runtime_version && !strcmp(info.min_runtime_version, "1.5.0"));
	CHECK(info.meta_name && !strcmp(info.meta_name, "ImageClassifier"));
	CHECK(!strcmp(info.op_names[0], "CONV_2D") && !strcmp(info.op_names[30], "SOFTMAX"));
	nn_tflite_info_free(&info);
	free(b);
	b = asset("ssd_mobilenet_v1_coco_quant_2018_06_29_detect.tflite", &len);
	CHECK(nn_tflite_read_info(&info, b, len, "m.tflite", err, sizeof err) == 0);
	CHECK(info.n_ops == 64 && !strcmp(info.op_names[63], "TFLite_Detection_PostProcess"));
	CHECK(!strcmp(info.description, "TOCO Converted.") && !info.min_runtime_version && !info.meta_name);
	nn_tflite_info_free(&info);
	free(b);
	CHECK(nn_tflite_builtin_name(3) && !strcmp(nn_tflite_builtin_name(3), "CONV_2D"));
	CHECK(!strcmp(nn_tflite_builtin_name(207), "COMPLEX") && !nn_tflite_builtin_name(208));
	CHECK(!nn_tflite_builtin_name(-1));
}

/* ---- hostile real files ---- */

TEST(tflite_truncated)
{
	size_t len;
	uint8_t *b = asset("ssd_mobilenet_v1_coco_quant_2018_06_29_detect.tflite", &len);
	int failed = 0, tried = 0;
	for (size_t k = 0; k < 64; k++, tried++)
		failed += load_any(b, len * k / 64) < 0;
	CHECK_MSG(failed == tried, "%d of %d cuts loaded", tried - failed, tried);
	for (size_t cut = 0; cut < 512; cut++)
		CHECK(load_any(b, cut) < 0);
	/* A cut in a zip appended after the model leaves a good model without labels. */
	free(b);
	b = asset("coral_mobilenet_v1_0.25_128_quant.tflite", &len);
	for (size_t k = 0; k < 64; k++)
		load_any(b, len * k / 64);
	for (size_t cut = len - 600; cut < len; cut += 7)
		load_any(b, cut);
	free(b);
}

static uint32_t lcg(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s >> 8;
}

TEST(tflite_flipped_bytes)
{
	size_t len;
	uint8_t *b = asset("ssd_mobilenet_v1_coco_quant_2018_06_29_detect.tflite", &len);
	uint8_t *m = malloc(len);
	CHECK(m != NULL);
	int failed = 0;
	for (uint32_t seed = 1; seed <= 600; seed++) {
		uint32_t s = seed;
		memcpy(m, b, len);
		int flips = 1 + (int)(lcg(&s) % 4);
		for (int f = 0; f < flips; f++) {
			/* Half the flips land in the first and last 64 KB, where the tables are; the rest anywhere. */
			size_t pos = lcg(&s) % len;
			if (seed % 2)
				pos = seed % 4 == 1 ? lcg(&s) % 65536 : len - 1 - lcg(&s) % 65536;
			m[pos] ^= (uint8_t)(1u << (lcg(&s) % 8));
		}
		failed += load_any(m, len) < 0;
	}
	CHECK(failed > 0);
	free(m);
	free(b);
}

/* ---- small built models: every operator's mapping ---- */

TEST(tflite_binary_ops)
{
	static const struct { int32_t code; int opt_type; nn_op op; } ops[] = {
		{ ADD, O_ADD, NN_OP_ADD }, { SUB, O_SUB, NN_OP_SUB }, { MUL, O_MUL, NN_OP_MUL }, { DIV, O_DIV, NN_OP_DIV },
		{ MAXIMUM, 0, NN_OP_MAXIMUM }, { MINIMUM, 0, NN_OP_MINIMUM }, { PRELU, 0, NN_OP_PRELU },
	};
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		tb_model m;
		base(&m);
		tb_add_tensor(&m, "y", T_F32, 4, (int[]){ 1, 4, 4, 2 }, 0);
		tb_add_tensor(&m, "z", T_F32, 4, (int[]){ 1, 4, 4, 2 }, 0);
		m.n_in = 2;
		m.in[1] = 1;
		m.n_out = 1;
		m.out[0] = 2;
		tb_op *o = tb_add_op(&m, ops[i].code, NULL, 2, (int[]){ 0, 1 }, 1, (int[]){ 2 });
		if (ops[i].opt_type)
			tb_opt(o, ops[i].opt_type, 0, 1, 3); /* RELU6 */
		nn_graph *g = load_ok(&m);
		CHECK(g->n_nodes == 1 && g->nodes[0].op == ops[i].op);
		CHECK(g->nodes[0].n_inputs == 2 && g->nodes[0].inputs[0] == 0 && g->nodes[0].inputs[1] == 1);
		CHECK(g->nodes[0].n_outputs == 1 && g->nodes[0].outputs[0] == 2 && !strcmp(g->nodes[0].name, "z"));
		if (ops[i].opt_type)
			CHECK(g->nodes[0].p.act == NN_ACT_RELU6);
		nn_graph_free(g);
	}
}

TEST(tflite_unary_ops)
{
	static const struct { int32_t code; nn_op op; int in_type, out_type; } ops[] = {
		{ LOGISTIC, NN_OP_LOGISTIC, T_F32, T_F32 }, { TANH, NN_OP_TANH, T_F32, T_F32 },
		{ RELU, NN_OP_RELU, T_F32, T_F32 }, { RELU6, NN_OP_RELU6, T_F32, T_F32 },
		{ RELU_N1_TO_1, NN_OP_RELU_N1_TO_1, T_F32, T_F32 }, { HARD_SWISH, NN_OP_HARD_SWISH, T_F32, T_F32 },
		{ QUANTIZE, NN_OP_QUANTIZE, T_F32, T_I8 }, { DEQUANTIZE, NN_OP_DEQUANTIZE, T_U8, T_F32 },
	};
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		tb_model m;
		base(&m);
		m.tensors[0].type = ops[i].in_type;
		int y = tb_add_tensor(&m, "y", ops[i].out_type, 4, (int[]){ 1, 4, 4, 2 }, 0);
		for (int t = 0; t < 2; t++) {
			if (m.tensors[t].type == T_F32)
				continue;
			m.tensors[t].n_scale = 1;
			m.tensors[t].scale[0] = 0.5f;
			m.tensors[t].zero_point[0] = m.tensors[t].type == T_U8 ? 128 : -3;
		}
		m.n_out = 1;
		m.out[0] = y;
		tb_add_op(&m, ops[i].code, NULL, 1, (int[]){ 0 }, 1, (int[]){ y });
		nn_graph *g = load_ok(&m);
		CHECK(g->n_nodes == 1 && g->nodes[0].op == ops[i].op && g->nodes[0].n_inputs == 1);
		int q = ops[i].code == QUANTIZE ? y : 0;
		if (ops[i].code == QUANTIZE || ops[i].code == DEQUANTIZE)
			CHECK(g->tensors[q].quant.count == 1 && g->tensors[q].quant.scale[0] == 0.5f &&
			      g->tensors[q].quant.zero_point[0] == (ops[i].code == QUANTIZE ? -3 : 128));
		nn_graph_free(g);
	}
}

TEST(tflite_softmax_leaky_relu)
{
	tb_model m;
	base(&m);
	tb_add_tensor(&m, "s", T_F32, 4, (int[]){ 1, 4, 4, 2 }, 0);
	tb_add_tensor(&m, "l", T_F32, 4, (int[]){ 1, 4, 4, 2 }, 0);
	m.n_out = 1;
	m.out[0] = 2;
	tb_opt(tb_add_op(&m, SOFTMAX, NULL, 1, (int[]){ 0 }, 1, (int[]){ 1 }), O_SOFTMAX, 0, 4, tb_fbits(0.5f));
	tb_opt(tb_add_op(&m, LEAKY_RELU, NULL, 1, (int[]){ 1 }, 1, (int[]){ 2 }), O_LEAKY, 0, 4, tb_fbits(0.2f));
	nn_graph *g = load_ok(&m);
	CHECK(g->nodes[0].op == NN_OP_SOFTMAX && g->nodes[0].p.softmax.beta == 0.5f);
	CHECK(g->nodes[1].op == NN_OP_LEAKY_RELU && g->nodes[1].p.leaky_relu.alpha == 0.2f);
	nn_graph_free(g);
}

TEST(tflite_concatenation)
{
	tb_model m;
	base(&m);
	tb_add_tensor(&m, "x2", T_F32, 4, (int[]){ 1, 4, 4, 3 }, 0);
	tb_add_tensor(&m, "cat", T_F32, 4, (int[]){ 1, 4, 4, 5 }, 0);
	m.n_in = 2;
	m.in[1] = 1;
	m.n_out = 1;
	m.out[0] = 2;
	tb_op *o = tb_add_op(&m, CONCATENATION, NULL, 2, (int[]){ 0, 1 }, 1, (int[]){ 2 });
	tb_opt(o, O_CONCAT, 0, 4, (uint32_t)-1);
	tb_opt(o, O_CONCAT, 1, 1, 1);
	nn_graph *g = load_ok(&m);
	CHECK(g->nodes[0].op == NN_OP_CONCATENATION && g->nodes[0].n_inputs == 2);
	CHECK(g->nodes[0].p.concat.axis == 3 && g->nodes[0].p.concat.act == NN_ACT_RELU);
	nn_graph_free(g);
	o->opt[0].bits = 4;
	load_fails(&m, NN_ERR_FORMAT, "axis is 4, expected -4 to 3");
}

/* A CONV_2D (or DEPTHWISE_CONV_2D) with uint8 per-tensor and per-channel quantization. */
static void conv_model(tb_model *m, int32_t code, int out_c, const uint8_t *w, size_t wlen, const int32_t *bias)
{
	base(m);
	m->tensors[0].type = T_U8;
	m->tensors[0].n_scale = 1;
	m->tensors[0].scale[0] = 0.5f;
	m->tensors[0].zero_point[0] = 128;
	int wshape[4] = { code == CONV_2D ? out_c : 1, 3, 3, code == CONV_2D ? 2 : out_c };
	int wt = tb_add_tensor(m, "w", T_U8, 4, wshape, tb_add_buffer(m, w, wlen));
	int bt = tb_add_tensor(m, "b", T_I32, 1, (int[]){ out_c }, tb_add_buffer(m, bias, 4 * (size_t)out_c));
	int y = tb_add_tensor(m, "y", T_U8, 4, (int[]){ 1, 2, 2, out_c }, 0);
	m->tensors[wt].n_scale = out_c;
	m->tensors[bt].n_scale = out_c;
	m->tensors[wt].qdim = code == CONV_2D ? 0 : 3;
	for (int c = 0; c < out_c; c++) {
		m->tensors[wt].scale[c] = 0.25f * (float)(c + 1);
		m->tensors[wt].zero_point[c] = 100 + c;
		m->tensors[bt].scale[c] = 0.125f * (float)(c + 1);
	}
	m->tensors[y].n_scale = 1;
	m->tensors[y].scale[0] = 1.0f;
	m->n_out = 1;
	m->out[0] = y;
	tb_add_op(m, code, NULL, 3, (int[]){ 0, wt, bt }, 1, (int[]){ y });
}

TEST(tflite_conv)
{
	static uint8_t w[4 * 3 * 3 * 2];
	static const int32_t bias[4] = { 1, -2, 3, -4 };
	for (size_t i = 0; i < sizeof w; i++)
		w[i] = (uint8_t)i;
	tb_model m;
	conv_model(&m, CONV_2D, 4, w, sizeof w, bias);
	tb_op *o = &m.ops[0];
	tb_opt(o, O_CONV, 0, 1, 1);  /* VALID */
	tb_opt(o, O_CONV, 1, 4, 1);  /* stride_w */
	tb_opt(o, O_CONV, 2, 4, 2);  /* stride_h */
	tb_opt(o, O_CONV, 3, 1, 1);  /* RELU */
	tb_opt(o, O_CONV, 5, 4, 2);  /* dilation_h (dilation_w stays at its default 1) */
	nn_graph *g = load_ok(&m);
	const nn_node *n = &g->nodes[0];
	CHECK(n->op == NN_OP_CONV2D && n->n_inputs == 3 && n->inputs[1] == 1 && n->inputs[2] == 2);
	CHECK(n->p.conv.padding == NN_PADDING_VALID && n->p.conv.stride_w == 1 && n->p.conv.stride_h == 2);
	CHECK(n->p.conv.dilation_w == 1 && n->p.conv.dilation_h == 2 && n->p.conv.act == NN_ACT_RELU);
	const nn_tensor *wt = &g->tensors[1], *bt = &g->tensors[2];
	CHECK(wt->is_const && wt->dtype == NN_U8 && !memcmp(wt->data, w, sizeof w));
	CHECK(wt->quant.count == 4 && wt->quant.axis == 0 && wt->quant.scale[3] == 1.0f && wt->quant.zero_point[2] == 102);
	CHECK(bt->is_const && bt->dtype == NN_I32 && ((const int32_t *)bt->data)[3] == -4);
	CHECK(bt->quant.count == 4 && bt->quant.zero_point[0] == 0);
	nn_graph_free(g);

	/* Without bias, and without options (stride 0) the conv is refused. */
	conv_model(&m, CONV_2D, 4, w, sizeof w, bias);
	m.ops[0].n_in = 2;
	load_fails(&m, NN_ERR_FORMAT, "stride_w is 0, expected 1 to 65536");
	tb_opt(&m.ops[0], O_CONV, 1, 4, 1);
	tb_opt(&m.ops[0], O_CONV, 2, 4, 1);
	g = load_ok(&m);
	CHECK(g->nodes[0].n_inputs == 3 && g->nodes[0].inputs[2] == -1 && g->nodes[0].p.conv.padding == NN_PADDING_SAME);
	nn_graph_free(g);
	tb_opt(&m.ops[0], O_CONV, 3, 1, 4);
	load_fails(&m, NN_ERR_UNSUPPORTED, "CONV_2D with fused activation TANH is not supported");
	m.ops[0].opt[2].bits = 9;
	load_fails(&m, NN_ERR_FORMAT, "fused activation 9");
	m.ops[0].opt[2].bits = 0;
	m.ops[0].opt_type = O_POOL;
	load_fails(&m, NN_ERR_FORMAT, "builtin options of union type 5, expected 1");
}

TEST(tflite_depthwise_conv)
{
	static uint8_t w[3 * 3 * 4];
	static const int32_t bias[4] = { 0 };
	tb_model m;
	conv_model(&m, DEPTHWISE_CONV_2D, 4, w, sizeof w, bias);
	tb_op *o = &m.ops[0];
	tb_opt(o, O_DWCONV, 1, 4, 2);
	tb_opt(o, O_DWCONV, 2, 4, 2);
	tb_opt(o, O_DWCONV, 3, 4, 7); /* a wrong stored depth_multiplier, as old converters wrote */
	tb_opt(o, O_DWCONV, 4, 1, 3);
	nn_graph *g = load_ok(&m);
	const nn_node *n = &g->nodes[0];
	CHECK(n->op == NN_OP_DEPTHWISE_CONV2D && n->p.conv.depth_multiplier == 2 && n->p.conv.act == NN_ACT_RELU6);
	CHECK(n->p.conv.stride_h == 2 && n->p.conv.stride_w == 2 && n->p.conv.dilation_h == 1);
	CHECK(g->tensors[1].quant.axis == 3 && g->tensors[1].quant.count == 4);
	nn_graph_free(g);
}

TEST(tflite_transpose_conv_and_fully_connected)
{
	static float w[2 * 3 * 3 * 2], fcw[8 * 32];
	static const int32_t oshape[4] = { 1, 8, 8, 2 };
	tb_model m;
	base(&m);
	int os = tb_add_tensor(&m, "oshape", T_I32, 1, (int[]){ 4 }, tb_add_buffer(&m, oshape, sizeof oshape));
	int wt = tb_add_tensor(&m, "w", T_F32, 4, (int[]){ 2, 3, 3, 2 }, tb_add_buffer(&m, w, sizeof w));
	int y = tb_add_tensor(&m, "up", T_F32, 4, (int[]){ 1, 8, 8, 2 }, 0);
	tb_op *o = tb_add_op(&m, TRANSPOSE_CONV, NULL, 3, (int[]){ os, wt, 0 }, 1, (int[]){ y });
	tb_opt(o, O_TRANSPOSE_CONV, 1, 4, 2);
	tb_opt(o, O_TRANSPOSE_CONV, 2, 4, 2);
	int fw = tb_add_tensor(&m, "fcw", T_F32, 2, (int[]){ 8, 32 }, tb_add_buffer(&m, fcw, sizeof fcw));
	int f = tb_add_tensor(&m, "fc", T_F32, 2, (int[]){ 1, 8 }, 0);
	int flat = tb_add_tensor(&m, "flat", T_F32, 2, (int[]){ 1, 32 }, 0);
	tb_add_op(&m, RESHAPE, NULL, 1, (int[]){ 0 }, 1, (int[]){ flat });
	o = tb_add_op(&m, FULLY_CONNECTED, NULL, 3, (int[]){ flat, fw, -1 }, 1, (int[]){ f });
	tb_opt(o, O_FC, 0, 1, 3);
	tb_opt(o, O_FC, 2, 1, 1);
	m.n_out = 2;
	m.out[0] = y;
	m.out[1] = f;
	nn_graph *g = load_ok(&m);
	const nn_node *n = &g->nodes[0];
	CHECK(n->op == NN_OP_TRANSPOSE_CONV2D && n->n_inputs == 3);
	CHECK(n->inputs[0] == 0 && n->inputs[1] == wt && n->inputs[2] == -1);
	CHECK(n->p.conv.stride_h == 2 && n->p.conv.padding == NN_PADDING_SAME && n->p.conv.dilation_w == 1);
	n = &g->nodes[1];
	CHECK(n->op == NN_OP_RESHAPE && n->n_inputs == 1);
	n = &g->nodes[2];
	CHECK(n->op == NN_OP_FULLY_CONNECTED && n->n_inputs == 3 && n->inputs[1] == fw && n->inputs[2] == -1);
	CHECK(n->p.fc.act == NN_ACT_RELU6 && n->p.fc.keep_num_dims == 1);
	nn_graph_free(g);
	tb_opt(&m.ops[2], O_FC, 1, 1, 1);
	load_fails(&m, NN_ERR_UNSUPPORTED, "shuffled weights");
	m.ops[2].n_opt = 2;
	m.tensors[y].shape[1] = 7;
	load_fails(&m, NN_ERR_SHAPE, "output_shape input differs");
}

TEST(tflite_pools)
{
	for (int k = 0; k < 2; k++) {
		tb_model m;
		base(&m);
		int y = tb_add_tensor(&m, "p", T_F32, 4, (int[]){ 1, 2, 2, 2 }, 0);
		m.n_out = 1;
		m.out[0] = y;
		tb_op *o = tb_add_op(&m, k ? MAX_POOL_2D : AVERAGE_POOL_2D, NULL, 1, (int[]){ 0 }, 1, (int[]){ y });
		tb_opt(o, O_POOL, 0, 1, 1);
		tb_opt(o, O_POOL, 1, 4, 2);
		tb_opt(o, O_POOL, 2, 4, 2);
		tb_opt(o, O_POOL, 3, 4, 3);
		tb_opt(o, O_POOL, 4, 4, 2);
		tb_opt(o, O_POOL, 5, 1, 2);
		nn_graph *g = load_ok(&m);
		const nn_pool_params *p = &g->nodes[0].p.pool;
		CHECK(g->nodes[0].op == (k ? NN_OP_MAX_POOL2D : NN_OP_AVERAGE_POOL2D));
		CHECK(p->padding == NN_PADDING_VALID && p->stride_h == 2 && p->stride_w == 2);
		CHECK(p->filter_w == 3 && p->filter_h == 2 && p->act == NN_ACT_RELU_N1_TO_1);
		nn_graph_free(g);
		o->opt[3].bits = 0;
		load_fails(&m, NN_ERR_FORMAT, "filter_width is 0");
	}
}

TEST(tflite_mean_reshape_squeeze)
{
	static const int32_t axes[2] = { -2, 1 };
	static const int64_t shape[2] = { 1, 32 };
	tb_model m;
	base(&m);
	int ax = tb_add_tensor(&m, "axes", T_I32, 1, (int[]){ 2 }, tb_add_buffer(&m, axes, sizeof axes));
	int mean = tb_add_tensor(&m, "mean", T_F32, 4, (int[]){ 1, 1, 1, 2 }, 0);
	int sq = tb_add_tensor(&m, "sq", T_F32, 2, (int[]){ 1, 2 }, 0);
	int ex = tb_add_tensor(&m, "ex", T_F32, 3, (int[]){ 1, 2, 1 }, 0);
	int rs = tb_add_tensor(&m, "rs", T_F32, 2, (int[]){ 1, 32 }, 0);
	int one = tb_add_tensor(&m, "one", T_I32, 0, NULL, tb_add_buffer(&m, &axes[1], 4));
	int shp = tb_add_tensor(&m, "shape", T_I64, 1, (int[]){ 2 }, tb_add_buffer(&m, shape, sizeof shape));
	tb_opt(tb_add_op(&m, MEAN, NULL, 2, (int[]){ 0, ax }, 1, (int[]){ mean }), O_REDUCER, 0, 1, 1);
	tb_add_op(&m, SQUEEZE, NULL, 1, (int[]){ mean }, 1, (int[]){ sq });
	tb_add_op(&m, EXPAND_DIMS, NULL, 2, (int[]){ sq, one }, 1, (int[]){ ex });
	tb_add_op(&m, RESHAPE, NULL, 2, (int[]){ 0, shp }, 1, (int[]){ rs });
	m.n_out = 2;
	m.out[0] = ex;
	m.out[1] = rs;
	nn_graph *g = load_ok(&m);
	const nn_node *n = &g->nodes[0];
	CHECK(n->op == NN_OP_MEAN && n->n_inputs == 1 && n->p.reduce.keep_dims == 1);
	CHECK(n->p.reduce.n_axes == 2 && n->p.reduce.axes[0] == 1 && n->p.reduce.axes[1] == 2);
	for (int i = 1; i < 4; i++)
		CHECK(g->nodes[i].op == NN_OP_RESHAPE && g->nodes[i].n_inputs == 1);
	CHECK(g->tensors[shp].dtype == NN_I64 && g->tensors[one].rank == 0);
	nn_graph_free(g);
	m.tensors[rs].shape[1] = 31;
	load_fails(&m, NN_ERR_SHAPE, "RESHAPE turns shape [1,4,4,2] into [1,31]");
	m.tensors[rs].shape[1] = 32;
	m.tensors[ax].buffer = 0;
	load_fails(&m, NN_ERR_UNSUPPORTED, "only constant axes are supported");
}

TEST(tflite_pad)
{
	static const int32_t pads[8] = { 0, 0, 1, 2, 3, 0, 0, 1 };
	static const float zero = 0.5f;
	for (int v2 = 0; v2 < 2; v2++) {
		tb_model m;
		base(&m);
		int pt = tb_add_tensor(&m, "pads", T_I32, 2, (int[]){ 4, 2 }, tb_add_buffer(&m, pads, sizeof pads));
		int cv = tb_add_tensor(&m, "value", T_F32, 0, NULL, tb_add_buffer(&m, &zero, 4));
		int y = tb_add_tensor(&m, "padded", T_F32, 4, (int[]){ 1, 7, 7, 3 }, 0);
		m.n_out = 1;
		m.out[0] = y;
		tb_add_op(&m, v2 ? PADV2 : PAD, NULL, v2 ? 3 : 2, (int[]){ 0, pt, cv }, 1, (int[]){ y });
		nn_graph *g = load_ok(&m);
		const nn_node *n = &g->nodes[0];
		CHECK(n->op == NN_OP_PAD && n->n_inputs == 2 && n->inputs[1] == (v2 ? cv : -1));
		for (int d = 0; d < 4; d++)
			CHECK(n->p.pad.pads[d][0] == pads[2 * d] && n->p.pad.pads[d][1] == pads[2 * d + 1]);
		nn_graph_free(g);
		m.tensors[y].shape[3] = 4;
		load_fails(&m, NN_ERR_SHAPE, "does not give the output's shape [1,7,7,4]");
		m.tensors[y].shape[3] = 3;
		m.tensors[pt].buffer = 0;
		m.n_in = 2;
		m.in[1] = pt;
		load_fails(&m, NN_ERR_UNSUPPORTED, "the paddings input, tensor 1 ('pads'), is computed at run time");
	}
}

TEST(tflite_resize)
{
	static const int32_t size[2] = { 8, 6 };
	for (int nearest = 0; nearest < 2; nearest++) {
		tb_model m;
		base(&m);
		int st = tb_add_tensor(&m, "size", T_I32, 1, (int[]){ 2 }, tb_add_buffer(&m, size, sizeof size));
		int y = tb_add_tensor(&m, "big", T_F32, 4, (int[]){ 1, 8, 6, 2 }, 0);
		m.n_out = 1;
		m.out[0] = y;
		tb_op *o = tb_add_op(&m, nearest ? RESIZE_NEAREST_NEIGHBOR : RESIZE_BILINEAR, NULL, 2, (int[]){ 0, st }, 1,
				  (int[]){ y });
		int type = nearest ? O_RESIZE_NEAREST : O_RESIZE_BILINEAR, first = nearest ? 0 : 2;
		tb_opt(o, type, first, 1, (uint64_t)nearest);
		tb_opt(o, type, first + 1, 1, (uint64_t)!nearest);
		nn_graph *g = load_ok(&m);
		const nn_node *n = &g->nodes[0];
		CHECK(n->op == (nearest ? NN_OP_RESIZE_NEAREST : NN_OP_RESIZE_BILINEAR) && n->n_inputs == 1);
		CHECK(n->p.resize.align_corners == nearest && n->p.resize.half_pixel_centers == !nearest);
		nn_graph_free(g);
		m.tensors[y].shape[2] = 5;
		load_fails(&m, NN_ERR_SHAPE, "to 8 x 6 does not give the output's shape [1,8,5,2]");
	}
}

TEST(tflite_float16_weights)
{
	static const uint16_t h[4] = { 0x3c00, 0x4000, 0xbc00, 0 };
	tb_model m;
	base(&m);
	int wh = tb_add_tensor(&m, "w16", T_F16, 1, (int[]){ 4 }, tb_add_buffer(&m, h, sizeof h));
	int wf = tb_add_tensor(&m, "w32", T_F32, 1, (int[]){ 4 }, 0);
	tb_add_op(&m, DEQUANTIZE, NULL, 1, (int[]){ wh }, 1, (int[]){ wf });
	m.n_out = 1;
	m.out[0] = wf;
	nn_graph *g = load_ok(&m);
	CHECK(g->tensors[wh].dtype == NN_F16 && g->tensors[wh].is_const && !memcmp(g->tensors[wh].data, h, 8));
	CHECK(g->tensors[wf].dtype == NN_F32 && !g->tensors[wf].is_const);
	CHECK(!g->tensors[wh].owns_data);
	nn_graph_free(g);
	/* Data that a writer left unaligned is copied, so that kernels may read it as uint16_t. */
	m.misalign = 1;
	g = load_ok(&m);
	CHECK(g->tensors[wh].owns_data && (uintptr_t)g->tensors[wh].data % 2 == 0);
	CHECK(!memcmp(g->tensors[wh].data, h, 8));
	nn_graph_free(g);
}

/* ---- TFLite_Detection_PostProcess and its FlexBuffers options ---- */

static void detpp_model(tb_model *m, const uint8_t *opts, size_t len)
{
	static float anchors[6 * 4];
	memset(m, 0, sizeof *m);
	m->n_buffers = 1;
	int boxes = tb_add_tensor(m, "boxes", T_F32, 3, (int[]){ 1, 6, 4 }, 0);
	int scores = tb_add_tensor(m, "scores", T_F32, 3, (int[]){ 1, 6, 4 }, 0);
	int an = tb_add_tensor(m, "anchors", T_F32, 2, (int[]){ 6, 4 }, tb_add_buffer(m, anchors, sizeof anchors));
	int o0 = tb_add_tensor(m, "det", T_F32, 0, NULL, 0);
	int o1 = tb_add_tensor(m, "det:1", T_F32, 0, NULL, 0);
	int o2 = tb_add_tensor(m, "det:2", T_F32, 0, NULL, 0);
	int o3 = tb_add_tensor(m, "det:3", T_F32, 0, NULL, 0);
	m->n_in = 2;
	m->in[0] = boxes;
	m->in[1] = scores;
	m->n_out = 4;
	for (int i = 0; i < 4; i++)
		m->out[i] = o0 + i;
	tb_op *o = tb_add_op(m, CUSTOM, "TFLite_Detection_PostProcess", 3, (int[]){ boxes, scores, an }, 4,
			  (int[]){ o0, o1, o2, o3 });
	o->custom = opts;
	o->custom_len = len;
}

TEST(tflite_detection_postprocess)
{
	static const tb_flex_kv kv[] = {
		{ "_output_quantized", 26, 1 }, { "detections_per_class", 1, 7 }, { "h_scale", 3, 5 },
		{ "max_classes_per_detection", 1, 2 }, { "max_detections", 1, 5 }, { "nms_iou_threshold", 3, 0.5 },
		{ "nms_score_threshold", 3, 0.25 }, { "num_classes", 1, 3 }, { "use_regular_nms", 26, 1 },
		{ "w_scale", 3, 4 }, { "x_scale", 3, 10 }, { "y_scale", 3, 9 },
	};
	uint8_t opts[512];
	size_t len = tb_flex_map(opts, kv, 12);
	tb_model m;
	detpp_model(&m, opts, len);
	nn_graph *g = load_ok(&m);
	const nn_node *n = &g->nodes[0];
	const nn_detection_postprocess_params *p = &n->p.detpp;
	CHECK(n->op == NN_OP_DETECTION_POSTPROCESS && n->n_inputs == 3 && n->n_outputs == 4);
	CHECK(p->max_detections == 5 && p->max_classes_per_detection == 2 && p->detections_per_class == 7);
	CHECK(p->use_regular_nms == 1 && p->num_classes == 3 && p->nms_iou_threshold == 0.5f);
	CHECK(p->nms_score_threshold == 0.25f && p->y_scale == 9.0f && p->x_scale == 10.0f);
	CHECK(p->h_scale == 5.0f && p->w_scale == 4.0f);
	/* Outputs sized as TFLite sizes them: max_detections * max_classes_per_detection boxes. */
	check_shape(&g->tensors[3], 3, 1, 10, 4);
	check_shape(&g->tensors[4], 2, 1, 10);
	check_shape(&g->tensors[5], 2, 1, 10);
	check_shape(&g->tensors[6], 1, 1);
	nn_graph_free(g);

	/* Defaults for the two optional keys; a missing required key is an error naming it. */
	tb_flex_kv less[12];
	int k = 0;
	for (int i = 0; i < 12; i++)
		if (strcmp(kv[i].key, "detections_per_class") && strcmp(kv[i].key, "use_regular_nms"))
			less[k++] = kv[i];
	len = tb_flex_map(opts, less, k);
	detpp_model(&m, opts, len);
	g = load_ok(&m);
	CHECK(g->nodes[0].p.detpp.detections_per_class == 100 && g->nodes[0].p.detpp.use_regular_nms == 0);
	nn_graph_free(g);
	tb_flex_kv no_h[12];
	int nh = 0;
	for (int i = 0; i < k; i++)
		if (strcmp(less[i].key, "h_scale"))
			no_h[nh++] = less[i];
	len = tb_flex_map(opts, no_h, nh);
	detpp_model(&m, opts, len);
	load_fails(&m, NN_ERR_FORMAT, "custom option h_scale is missing");

	/* Every truncation and every single-byte change of the options is an error or a valid map. */
	len = tb_flex_map(opts, kv, 12);
	for (size_t cut = 0; cut < len; cut++) {
		detpp_model(&m, opts, cut);
		size_t flen;
		uint8_t *f = tb_build(&m, &flen, NULL);
		CHECK(load_any(f, flen) < 0);
		free(f);
	}
	uint8_t bad[512];
	for (size_t pos = 0; pos < len; pos++) {
		for (int bit = 0; bit < 8; bit += 3) {
			memcpy(bad, opts, len);
			bad[pos] ^= (uint8_t)(1u << bit);
			detpp_model(&m, bad, len);
			size_t flen;
			uint8_t *f = tb_build(&m, &flen, NULL);
			load_any(f, flen);
			free(f);
		}
	}
	/* Scores with neither num_classes nor num_classes + 1 columns. */
	len = tb_flex_map(opts, kv, 12);
	detpp_model(&m, opts, len);
	m.tensors[1].shape[2] = 6;
	load_fails(&m, NN_ERR_SHAPE, "expected [1,N,4], [1,N,3 or 4] and [N,4]");
}

/* ---- hostile built models ---- */

/* The smallest useful model: x -> RELU -> y. */
static void relu_model(tb_model *m)
{
	base(m);
	int y = tb_add_tensor(m, "y", T_F32, 4, (int[]){ 1, 4, 4, 2 }, 0);
	m->n_out = 1;
	m->out[0] = y;
	tb_add_op(m, RELU, NULL, 1, (int[]){ 0 }, 1, (int[]){ y });
}

TEST(tflite_bad_headers)
{
	nn_graph *g = (nn_graph *)1;
	char err[256];
	CHECK(nn_tflite_load(&g, NULL, 0, "empty.tflite", err, sizeof err) == NN_ERR_FORMAT && g == NULL);
	CHECK(strstr(err, "empty.tflite: not a TensorFlow Lite model"));
	CHECK(nn_tflite_load(&g, "", 0, "empty.tflite", err, sizeof err) == NN_ERR_FORMAT);
	CHECK(nn_tflite_load(&g, "\x10\0\0\0TFL2abcdefgh", 16, "m.tflite", err, sizeof err) == NN_ERR_FORMAT);
	CHECK(strstr(err, "expected \"TFL3\" at bytes 4..7"));
	CHECK(nn_tflite_load(&g, "\xf0\xff\xff\xffTFL3abcdefgh", 16, "m.tflite", err, sizeof err) == NN_ERR_FORMAT);
	CHECK(strstr(err, "root offset 4294967280 lies outside the file"));
	CHECK(nn_tflite_load(NULL, "", 0, "m.tflite", err, sizeof err) == NN_ERR_ARG);
	/* A tiny error buffer is filled but never overrun. */
	char tiny[8];
	CHECK(nn_tflite_load(&g, "", 0, "long-name.tflite", tiny, sizeof tiny) == NN_ERR_FORMAT && !tiny[7]);
}

/* Builds relu_model, applies patch to the file and expects a format error containing want. */
static void patched_fails(void (*patch)(uint8_t *f, size_t len, const tb_marks *mk), const char *want)
{
	tb_model m;
	tb_marks mk;
	size_t len;
	relu_model(&m);
	uint8_t *f = tb_build(&m, &len, &mk);
	CHECK(f != NULL);
	patch(f, len, &mk);
	nn_graph *g;
	char err[512];
	int rc = nn_tflite_load(&g, f, len, "t.tflite", err, sizeof err);
	free(f);
	CHECK_MSG(rc == NN_ERR_FORMAT && !g && strstr(err, want), "rc %d: \"%s\" lacks \"%s\"", rc, err, want);
}

static void put32(uint8_t *f, size_t at, uint32_t v)
{
	memcpy(f + at, &v, 4);
}

static void p_vtable_far(uint8_t *f, size_t len, const tb_marks *mk)
{
	(void)len;
	put32(f, mk->model_table, (uint32_t)INT32_MIN);
}
static void p_vtable_size(uint8_t *f, size_t len, const tb_marks *mk)
{
	(void)len;
	f[mk->model_vtable] = 0xff;
	f[mk->model_vtable + 1] = 0xff;
}
static void p_inline_size(uint8_t *f, size_t len, const tb_marks *mk)
{
	(void)len;
	f[mk->model_vtable + 2] = 6; /* the table's fields now overrun its declared size */
	f[mk->model_vtable + 3] = 0;
}
static void p_field_offset(uint8_t *f, size_t len, const tb_marks *mk)
{
	(void)len;
	f[mk->model_vtable + 4 + 2 * 2] = 0xf0; /* Model.subgraphs at byte 0xfff0 of the table */
	f[mk->model_vtable + 4 + 2 * 2 + 1] = 0xff;
}
static void p_tensors_len(uint8_t *f, size_t len, const tb_marks *mk)
{
	(void)len;
	put32(f, mk->tensors_len, 0xffffffffu);
}
static void p_shape_len(uint8_t *f, size_t len, const tb_marks *mk)
{
	(void)len;
	put32(f, mk->tensor0_shape_len, 0x40000000u);
}
static void p_name_len(uint8_t *f, size_t len, const tb_marks *mk)
{
	(void)len;
	put32(f, mk->tensor0_name_len, 0x7fffffffu);
}
static void p_uoffset(uint8_t *f, size_t len, const tb_marks *mk)
{
	(void)len;
	put32(f, mk->tensor0_table + 4, 0xfffffff0u); /* Tensor.shape's offset */
}
static void p_opcode(uint8_t *f, size_t len, const tb_marks *mk)
{
	(void)len;
	put32(f, mk->op0_opcode_field, 5);
}
static void p_op_input(uint8_t *f, size_t len, const tb_marks *mk)
{
	(void)len;
	put32(f, mk->op0_input0, 99);
}
static void p_buffer(uint8_t *f, size_t len, const tb_marks *mk)
{
	(void)len;
	put32(f, mk->tensor0_buffer_field, 7);
}
static void p_negative_dim(uint8_t *f, size_t len, const tb_marks *mk)
{
	(void)len;
	put32(f, mk->tensor0_shape_len + 8, (uint32_t)-4);
}

TEST(tflite_bad_offsets)
{
	patched_fails(p_vtable_far, "Model: the vtable of the table at offset");
	patched_fails(p_vtable_size, "declares 65535 bytes");
	patched_fails(p_inline_size, "overruns the table");
	patched_fails(p_field_offset, "field 2 at byte 65520");
	patched_fails(p_tensors_len, "a vector of 4294967295 elements of 4 bytes");
	patched_fails(p_shape_len, "tensor 0 ('x'): shape: a vector of 1073741824 elements");
	patched_fails(p_name_len, "tensor 0: name: a vector of 2147483647 elements of 1 bytes");
	patched_fails(p_uoffset, "points outside the file");
	patched_fails(p_opcode, "node 0: opcode_index 5 out of range (the model has 1 operator codes)");
	patched_fails(p_op_input, "node 0: RELU: input 0 is tensor 99, expected -1 (absent) or 0 to 1");
	patched_fails(p_buffer, "tensor 0 ('x'): buffer index 7 out of range (the model has 1 buffers)");
	patched_fails(p_negative_dim, "tensor 0 ('x'): dimension 1 is -4, expected >= 1");
}

TEST(tflite_bad_tensors)
{
	static const float data[4] = { 1, 2, 3, 4 };
	tb_model m;
	relu_model(&m);
	m.tensors[0].shape[2] = 0;
	load_fails(&m, NN_ERR_FORMAT, "tensor 0 ('x'): dimension 2 is 0, expected >= 1");
	relu_model(&m);
	m.tensors[1].rank = 7;
	for (int i = 0; i < 7; i++)
		m.tensors[1].shape[i] = 1;
	load_fails(&m, NN_ERR_UNSUPPORTED, "tensor 1 ('y'): 7 dimensions, at most 6 are supported");
	relu_model(&m);
	m.tensors[1].shape[1] = 100000;
	m.tensors[1].shape[2] = 100000;
	load_fails(&m, NN_ERR_UNSUPPORTED, "more than 2^31-1 elements");
	relu_model(&m);
	tb_add_tensor(&m, "c", T_F32, 1, (int[]){ 5 }, tb_add_buffer(&m, data, sizeof data));
	load_fails(&m, NN_ERR_FORMAT, "tensor 2 ('c'): constant data is 16 bytes, expected 20 for float32 [5]");
	relu_model(&m);
	m.tensors[0].type = 42;
	load_fails(&m, NN_ERR_FORMAT, "tensor 0 ('x'): type 42 is not a TFLite TensorType");
	relu_model(&m);
	m.tensors[0].type = T_STRING;
	load_fails(&m, NN_ERR_UNSUPPORTED, "tensor 0 ('x'): type STRING is not supported");
	relu_model(&m);
	m.tensors[0].sparse = 1;
	load_fails(&m, NN_ERR_FORMAT, "tensor 0 ('x'): a sparse tensor without values");
	relu_model(&m);
	m.tensors[1].is_variable = 1;
	load_fails(&m, NN_ERR_UNSUPPORTED, "variable tensors");
	relu_model(&m);
	m.tensors[0].name = NULL;
	nn_graph *g = load_ok(&m);
	CHECK(!strcmp(g->tensors[0].name, "tensor0"));
	nn_graph_free(g);

	/* Quantization parameters. */
	relu_model(&m);
	m.tensors[0].type = m.tensors[1].type = T_U8;
	m.tensors[0].n_scale = 2;
	m.tensors[0].scale[0] = m.tensors[0].scale[1] = 1;
	m.tensors[0].qdim = 3;
	g = load_ok(&m);
	CHECK(g->tensors[0].quant.count == 2 && g->tensors[0].quant.axis == 3);
	nn_graph_free(g);
	m.tensors[0].qdim = 2;
	load_fails(&m, NN_ERR_FORMAT, "2 per-channel scales for dimension 2 of size 4");
	m.tensors[0].qdim = 4;
	load_fails(&m, NN_ERR_FORMAT, "quantized_dimension 4 lies outside its 4 dimensions");
	m.tensors[0].qdim = 3;
	m.tensors[0].n_zero_point = 1;
	load_fails(&m, NN_ERR_FORMAT, "2 scales and 1 zero points");
	m.tensors[0].n_zero_point = 0;
	m.tensors[0].zero_point[1] = 256;
	load_fails(&m, NN_ERR_FORMAT, "zero point 1 is 256, outside the range of uint8");
	m.tensors[0].zero_point[1] = 0;
	m.tensors[0].scale[0] = 0;
	load_fails(&m, NN_ERR_FORMAT, "quantization scale 0 is 0, expected a finite number > 0");
}

TEST(tflite_bad_graphs)
{
	tb_model m;
	relu_model(&m);
	m.version = 2;
	load_fails(&m, NN_ERR_UNSUPPORTED, "schema version 2, expected 3");
	relu_model(&m);
	m.ops[0].in[0] = 1;
	load_fails(&m, NN_ERR_FORMAT, "node 0 (output 'y'): it reads tensor 1 ('y'), which no earlier node writes");
	relu_model(&m);
	m.out[0] = 0;
	m.n_ops = 0;
	nn_graph *g = load_ok(&m); /* x is both input and output: nothing to run, nothing wrong */
	nn_graph_free(g);
	relu_model(&m);
	m.ops[0].out[0] = 0;
	load_fails(&m, NN_ERR_FORMAT, "it writes tensor 0 ('x'), which is already");
	relu_model(&m);
	m.n_ops = 0;
	load_fails(&m, NN_ERR_FORMAT, "graph output 0, tensor 1 ('y'), is never written");
	relu_model(&m);
	m.ops[0].n_in = 2;
	m.ops[0].in[1] = 0;
	load_fails(&m, NN_ERR_FORMAT, "node 0 (output 'y'): RELU has 2 inputs, expected 1");
	relu_model(&m);
	m.ops[0].in[0] = -1;
	load_fails(&m, NN_ERR_FORMAT, "RELU: input 0 is missing (-1)");
	relu_model(&m);
	m.out[0] = 9;
	load_fails(&m, NN_ERR_FORMAT, "graph outputs 0 is tensor 9");
	relu_model(&m);
	m.codes[0].builtin = -5;
	load_fails(&m, NN_ERR_FORMAT, "operator code 0: builtin code -5");

	/* Unsupported operators are named with their node; all of them are listed. */
	relu_model(&m);
	m.codes[0].builtin = 16;
	load_fails(&m, NN_ERR_UNSUPPORTED, "t.tflite: node 0 (output 'y'): operator LSTM is not supported");
	relu_model(&m);
	tb_add_tensor(&m, "z", T_F32, 4, (int[]){ 1, 4, 4, 2 }, 0);
	tb_add_tensor(&m, "w", T_F32, 4, (int[]){ 1, 4, 4, 2 }, 0);
	tb_add_op(&m, 300, NULL, 1, (int[]){ 1 }, 1, (int[]){ 2 });
	tb_add_op(&m, CUSTOM, "MyOp", 1, (int[]){ 2 }, 1, (int[]){ 3 });
	load_fails(&m, NN_ERR_UNSUPPORTED,
		   "node 1 (output 'z'): operator BUILTIN_300 is not supported (the model uses 2 nodes of unsupported "
		   "operators: BUILTIN_300, CUSTOM 'MyOp')");
	/* An unsupported operator is named even when a tensor is also unsupported. */
	m.tensors[0].is_variable = 1;
	load_fails(&m, NN_ERR_UNSUPPORTED, "operator BUILTIN_300 is not supported");

	/* Extra subgraphs are ignored; none at all is an error. */
	relu_model(&m);
	m.n_subgraphs = 3;
	g = load_ok(&m);
	CHECK(g->n_nodes == 1);
	nn_graph_free(g);
	relu_model(&m);
	tb_marks mk;
	size_t len;
	uint8_t *f = tb_build(&m, &len, &mk);
	CHECK(f != NULL);
	put32(f, mk.subgraphs_len, 0);
	char err[256];
	CHECK(nn_tflite_load(&g, f, len, "t.tflite", err, sizeof err) == NN_ERR_FORMAT);
	CHECK(strstr(err, "t.tflite: the model has no subgraph"));
	free(f);
}

TEST(tflite_generated_mutations)
{
	/* Every single-byte change and every truncation of a small model that uses most features. */
	static const uint8_t w[4 * 3 * 3 * 2] = { 1 };
	static const int32_t bias[4] = { 1 };
	tb_model m;
	conv_model(&m, CONV_2D, 4, w, sizeof w, bias);
	tb_opt(&m.ops[0], O_CONV, 1, 4, 1);
	tb_opt(&m.ops[0], O_CONV, 2, 4, 1);
	m.description = "generated";
	size_t len;
	uint8_t *f = tb_build(&m, &len, NULL);
	CHECK(f != NULL);
	CHECK(load_any(f, len) == 0);
	uint8_t *b = malloc(len);
	CHECK(b != NULL);
	for (size_t cut = 0; cut < len; cut++)
		CHECK(load_any(f, cut) < 0 || cut >= len - 4);
	for (size_t pos = 0; pos < len; pos++) {
		for (int v = 0; v < 3; v++) {
			memcpy(b, f, len);
			b[pos] = v == 0 ? (uint8_t)(b[pos] ^ 0x80) : v == 1 ? 0xff : 0x00;
			load_any(b, len);
		}
	}
	free(b);
	free(f);
}

/* ---- labels from TFLite metadata ---- */

static nn_graph *relu_with_zip(const uint8_t *zip, size_t zlen)
{
	tb_model m;
	relu_model(&m);
	m.appendix = zip;
	m.appendix_len = zlen;
	return load_ok(&m);
}

TEST(tflite_labels_zip)
{
	static uint8_t zip[4096];
	const char *names[] = { "readme.txt", "my_labels.txt", "other.bin" };
	/* The label file opens with a UTF-8 byte order mark and has CRLF lines, trailing blanks and blank lines. */
	const char *data[] = { "not labels\n", ("\xef\xbb\xbf" "cat\r\ndog\n\nbird \n\n\n"), "x" };
	size_t n = tb_zip(zip, 3, names, data, 0, 0);
	nn_graph *g = relu_with_zip(zip, n);
	CHECK_MSG(g->n_labels == 4, "%d labels", g->n_labels);
	CHECK(!strcmp(g->labels[0], "cat") && !strcmp(g->labels[1], "dog") && !strcmp(g->labels[2], "") &&
	      !strcmp(g->labels[3], "bird"));
	nn_graph_free(g);

	/* "id name" lines are placed by id; gaps become empty labels; "???" stays as it is. */
	const char *ids[] = { "0  ???\n1  person\n3  car, auto\n" };
	n = tb_zip(zip, 1, (const char *[]){ "labels.txt" }, ids, 0, 0);
	g = relu_with_zip(zip, n);
	CHECK(g->n_labels == 4 && !strcmp(g->labels[0], "???") && !strcmp(g->labels[1], "person"));
	CHECK(!strcmp(g->labels[2], "") && !strcmp(g->labels[3], "car, auto"));
	nn_graph_free(g);
	/* Not every line has an id: read as plain lines. */
	const char *mixed[] = { "1 person\nbicycle\n" };
	n = tb_zip(zip, 1, (const char *[]){ "labels.txt" }, mixed, 0, 0);
	g = relu_with_zip(zip, n);
	CHECK(g->n_labels == 2 && !strcmp(g->labels[0], "1 person"));
	nn_graph_free(g);

	/* Deflated, damaged or absent entries leave the model without labels but loaded. */
	n = tb_zip(zip, 1, (const char *[]){ "labels.txt" }, data + 1, 8, 0);
	g = relu_with_zip(zip, n);
	CHECK(g->n_labels == 0 && !g->labels);
	nn_graph_free(g);
	n = tb_zip(zip, 1, (const char *[]){ "labels.txt" }, data + 1, 0, 1);
	g = relu_with_zip(zip, n);
	CHECK(g->n_labels == 0);
	nn_graph_free(g);
	n = tb_zip(zip, 1, (const char *[]){ "other.bin" }, data, 0, 0);
	g = relu_with_zip(zip, n);
	CHECK(g->n_labels == 0);
	nn_graph_free(g);

	/* Every truncation and byte change of the archive: the model still loads. */
	n = tb_zip(zip, 3, names, data, 0, 0);
	static uint8_t bad[4096];
	for (size_t cut = 0; cut <= n; cut++) {
		g = relu_with_zip(zip, cut);
		nn_graph_free(g);
	}
	for (size_t pos = 0; pos < n; pos++) {
		memcpy(bad, zip, n);
		bad[pos] ^= 0xff;
		g = relu_with_zip(bad, n);
		nn_graph_free(g);
	}
}

TEST(tflite_labels_metadata)
{
	static uint8_t zip[2048], meta[1024];
	const char *names[] = { "labels_a.txt", "classes.txt" };
	const char *data[] = { "wrong\n", "right\nalso right\n" };
	size_t zlen = tb_zip(zip, 2, names, data, 0, 0), mlen = tb_metadata(meta, "classes.txt");
	tb_model m;
	relu_model(&m);
	m.n_meta = 2;
	m.meta_name[0] = "TFLITE_METADATA";
	m.meta_buffer[0] = tb_add_buffer(&m, meta, mlen);
	m.meta_name[1] = "min_runtime_version";
	m.meta_buffer[1] = tb_add_buffer(&m, "1.5.0\0\0\0\0\0\0\0\0\0\0", 16);
	m.appendix = zip;
	m.appendix_len = zlen;
	nn_graph *g = load_ok(&m);
	CHECK(g->n_labels == 2 && !strcmp(g->labels[0], "right") && !strcmp(g->labels[1], "also right"));
	nn_graph_free(g);

	size_t len;
	uint8_t *f = tb_build(&m, &len, NULL);
	nn_tflite_info info;
	char err[256];
	CHECK(nn_tflite_read_info(&info, f, len, "t.tflite", err, sizeof err) == 0);
	CHECK(info.meta_name && !strcmp(info.meta_name, "TestModel") && !strcmp(info.min_runtime_version, "1.5.0"));
	CHECK(info.n_ops == 1 && !strcmp(info.op_names[0], "RELU") && info.op_versions[0] == 1);
	nn_tflite_info_free(&info);
	free(f);

	/* The archive may also sit in a metadata buffer of its own. */
	relu_model(&m);
	m.n_meta = 1;
	m.meta_name[0] = "associated_files";
	m.meta_buffer[0] = tb_add_buffer(&m, zip, zlen);
	g = load_ok(&m);
	CHECK(g->n_labels == 1 && !strcmp(g->labels[0], "wrong"));
	nn_graph_free(g);
}

TEST_SUITE(nn_tflite,
	   TEST_ENTRY(tflite_ssd_mobilenet_coco),
	   TEST_ENTRY(tflite_ssd_mobilenet_pets),
	   TEST_ENTRY(tflite_coral_classifiers),
	   TEST_ENTRY(tflite_tf2_int8_per_channel),
	   TEST_ENTRY(tflite_mediapipe_float16),
	   TEST_ENTRY(tflite_pose_and_lstm_models_load),
	   TEST_ENTRY(tflite_info),
	   TEST_ENTRY(tflite_truncated),
	   TEST_ENTRY(tflite_flipped_bytes),
	   TEST_ENTRY(tflite_binary_ops),
	   TEST_ENTRY(tflite_unary_ops),
	   TEST_ENTRY(tflite_softmax_leaky_relu),
	   TEST_ENTRY(tflite_concatenation),
	   TEST_ENTRY(tflite_conv),
	   TEST_ENTRY(tflite_depthwise_conv),
	   TEST_ENTRY(tflite_transpose_conv_and_fully_connected),
	   TEST_ENTRY(tflite_pools),
	   TEST_ENTRY(tflite_mean_reshape_squeeze),
	   TEST_ENTRY(tflite_pad),
	   TEST_ENTRY(tflite_resize),
	   TEST_ENTRY(tflite_float16_weights),
	   TEST_ENTRY(tflite_detection_postprocess),
	   TEST_ENTRY(tflite_bad_headers),
	   TEST_ENTRY(tflite_bad_offsets),
	   TEST_ENTRY(tflite_bad_tensors),
	   TEST_ENTRY(tflite_bad_graphs),
	   TEST_ENTRY(tflite_generated_mutations),
	   TEST_ENTRY(tflite_labels_zip),
	   TEST_ENTRY(tflite_labels_metadata));
