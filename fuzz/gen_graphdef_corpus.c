/*
 * Writes the seed corpus of fuzz_graphdef: small GraphDefs built from
 * scratch (never the shared models; named .seed, not .pb), which between
 * them use the ops of OpenCV's face detector (Conv2D with BiasAdd and Relu,
 * Dequantize of quint8 weights, the L2 normalisation, SpaceToBatchND and
 * BatchToSpaceND around a convolution, FusedBatchNorm, Pad, MaxPool, Add,
 * Reshape, ConcatV2, Softmax), every TensorProto form and every AttrValue
 * case.
 *   cc -std=c17 -Itests/nn fuzz/gen_graphdef_corpus.c -o gen && ./gen fuzz/corpus/graphdef
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graphdef_builder.h"

#define D(...) (int)(sizeof((int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t)), (const int64_t[]){ __VA_ARGS__ }

static int write_graph(const char *dir, const char *name, pbb *g)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *out = fopen(path, "wb");
	int ok = out && fwrite(g->p, 1, g->len, out) == g->len;
	if (out && fclose(out) != 0)
		ok = 0;
	if (!ok) {
		fprintf(stderr, "gen_graphdef_corpus: cannot write %s\n", path);
		pbb_free(g);
		return 1;
	}
	printf("%s: %zu bytes\n", path, g->len);
	pbb_free(g);
	return 0;
}

static pbb op(const char *name, const char *type, const char *a, const char *b)
{
	pbb n = gd_node(name, type);
	if (a)
		gd_input(&n, a);
	if (b)
		gd_input(&n, b);
	gd_attr_type(&n, "T", GD_FLOAT);
	return n;
}

static void conv(pbb *g, const char *name, const char *x, const char *w, const char *padding)
{
	pbb n = op(name, "Conv2D", x, w);
	gd_attr_ints(&n, "strides", 4, (const int64_t[]){ 1, 1, 1, 1 });
	gd_attr_ints(&n, "dilations", 4, (const int64_t[]){ 1, 1, 1, 1 });
	gd_attr_s(&n, "padding", padding);
	gd_attr_s(&n, "data_format", "NHWC");
	gd_attr_b(&n, "use_cudnn_on_gpu", 1);
	gd_add(g, &n);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	int rc = 0;
	float w[3 * 3 * 3 * 4];
	for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
		w[i] = (float)((int)(i * 7 % 11) - 5) / 8;

	/* 1. Conv2D, BiasAdd, Relu. */
	pbb g = { 0 };
	gd_placeholder(&g, "data", GD_FLOAT, 4, (const int64_t[]){ 1, 6, 6, 3 });
	gd_const_f32(&g, "w", D(3, 3, 3, 4), w, 3 * 3 * 3 * 4);
	gd_const_f32(&g, "b", D(4), (const float[]){ 0.5f, -1, 0, 2 }, 4);
	conv(&g, "conv", "data", "w", "SAME");
	pbb n = op("bias", "BiasAdd", "conv", "b");
	gd_attr_s(&n, "data_format", "NHWC");
	gd_add(&g, &n);
	n = op("relu", "Relu", "bias", NULL);
	gd_add(&g, &n);
	rc |= write_graph(dir, "conv_bias_relu.seed", &g);

	/* 2. Dequantize (quint8 weights, MIN_FIRST as in the face detector) then Mul. */
	g = (pbb){ 0 };
	gd_placeholder(&g, "data", GD_FLOAT, 4, (const int64_t[]){ 1, 2, 2, 4 });
	pbb t = gd_tensor(GD_QUINT8, D(4));
	pbb_bytes(&t, GD_T_CONTENT, "\x00\x40\x80\xff", 4);
	gd_const(&g, "q", GD_QUINT8, &t);
	gd_const_f32(&g, "qmin", 0, NULL, (const float[]){ -1 }, 1);
	gd_const_f32(&g, "qmax", 0, NULL, (const float[]){ 1 }, 1);
	n = gd_node("deq", "Dequantize");
	gd_input(&n, "q");
	gd_input(&n, "qmin");
	gd_input(&n, "qmax");
	gd_attr_type(&n, "T", GD_QUINT8);
	gd_attr_s(&n, "mode", "MIN_FIRST");
	gd_add(&g, &n);
	n = op("mul", "Mul", "data", "deq");
	gd_add(&g, &n);
	rc |= write_graph(dir, "dequantize_mul.seed", &g);

	/* 3. L2 normalisation: Square, Sum, Maximum, Rsqrt, Mul. */
	g = (pbb){ 0 };
	gd_placeholder(&g, "data", GD_FLOAT, 4, (const int64_t[]){ 1, 3, 3, 8 });
	n = op("sq", "Square", "data", NULL);
	gd_add(&g, &n);
	gd_const_i32(&g, "axis", D(1), (const int64_t[]){ 3 }, 1);
	n = op("sum", "Sum", "sq", "axis");
	gd_attr_b(&n, "keep_dims", 1);
	gd_attr_type(&n, "Tidx", GD_INT32);
	gd_add(&g, &n);
	gd_const_f32(&g, "eps", 0, NULL, (const float[]){ 1e-10f }, 1);
	n = op("max", "Maximum", "sum", "eps");
	gd_add(&g, &n);
	n = op("rsqrt", "Rsqrt", "max", NULL);
	gd_add(&g, &n);
	n = op("norm", "Mul", "data", "rsqrt");
	gd_add(&g, &n);
	rc |= write_graph(dir, "l2norm.seed", &g);

	/* 4. A dilated convolution as TensorFlow writes it: SpaceToBatchND, Conv2D VALID, BatchToSpaceND. */
	g = (pbb){ 0 };
	gd_placeholder(&g, "data", GD_FLOAT, 4, (const int64_t[]){ 1, 8, 8, 3 });
	gd_const_i32(&g, "block", D(2), (const int64_t[]){ 2, 2 }, 2);
	gd_const_i32(&g, "pads", D(2, 2), (const int64_t[]){ 2, 2, 2, 2 }, 4);
	gd_const_i32(&g, "crops", D(2, 2), (const int64_t[]){ 0, 0, 0, 0 }, 4);
	gd_const_f32(&g, "w", D(3, 3, 3, 4), w, 3 * 3 * 3 * 4);
	n = op("s2b", "SpaceToBatchND", "data", "block");
	gd_input(&n, "pads");
	gd_attr_type(&n, "Tblock_shape", GD_INT32);
	gd_attr_type(&n, "Tpaddings", GD_INT32);
	gd_add(&g, &n);
	conv(&g, "conv", "s2b", "w", "VALID");
	n = op("b2s", "BatchToSpaceND", "conv", "block");
	gd_input(&n, "crops");
	gd_attr_type(&n, "Tblock_shape", GD_INT32);
	gd_attr_type(&n, "Tcrops", GD_INT32);
	gd_add(&g, &n);
	rc |= write_graph(dir, "dilated_conv.seed", &g);

	/* 5. An input of unknown size (no shape), FusedBatchNorm, Pad, MaxPool, Add. */
	g = (pbb){ 0 };
	gd_placeholder(&g, "data", GD_FLOAT, -1, NULL);
	gd_const_f32(&g, "scale", D(3), (const float[]){ 2 }, 1);
	gd_const_f32(&g, "offset", D(3), (const float[]){ 0.5f, 0, -0.5f }, 3);
	gd_const_f32(&g, "mean", D(3), (const float[]){ 0 }, 1);
	gd_const_f32(&g, "var", D(3), (const float[]){ 1, 4, 9 }, 3);
	n = op("bn", "FusedBatchNorm", "data", "scale");
	gd_input(&n, "offset");
	gd_input(&n, "mean");
	gd_input(&n, "var");
	gd_attr_f(&n, "epsilon", 1e-5f);
	gd_attr_b(&n, "is_training", 0);
	gd_attr_s(&n, "data_format", "NHWC");
	gd_add(&g, &n);
	gd_const_i32(&g, "paddings", D(4, 2), (const int64_t[]){ 0, 0, 1, 1, 1, 1, 0, 0 }, 8);
	n = op("pad", "Pad", "bn", "paddings");
	gd_attr_type(&n, "Tpaddings", GD_INT32);
	gd_add(&g, &n);
	n = op("pool", "MaxPool", "pad", NULL);
	gd_attr_ints(&n, "ksize", 4, (const int64_t[]){ 1, 3, 3, 1 });
	gd_attr_ints(&n, "strides", 4, (const int64_t[]){ 1, 2, 2, 1 });
	gd_attr_s(&n, "padding", "SAME");
	gd_attr_s(&n, "data_format", "NHWC");
	gd_add(&g, &n);
	n = op("add", "Add", "pool", "pool");
	gd_add(&g, &n);
	rc |= write_graph(dir, "batchnorm_pad_pool.seed", &g);

	/* 6. SSD heads: two Reshapes to [1, -1], ConcatV2, Reshape to [1, -1, 2], Softmax, Reshape back. */
	g = (pbb){ 0 };
	gd_placeholder(&g, "a", GD_FLOAT, 4, (const int64_t[]){ 1, 2, 2, 4 });
	gd_placeholder(&g, "b", GD_FLOAT, 4, (const int64_t[]){ 1, 1, 1, 4 });
	gd_const_i32(&g, "flat", D(2), (const int64_t[]){ 1, -1 }, 2);
	gd_const_i32(&g, "pairs", D(3), (const int64_t[]){ 1, -1, 2 }, 3);
	gd_const_i32(&g, "axis", 0, NULL, (const int64_t[]){ 1 }, 1);
	n = op("fa", "Reshape", "a", "flat");
	gd_attr_type(&n, "Tshape", GD_INT32);
	gd_add(&g, &n);
	n = op("fb", "Reshape", "b", "flat");
	gd_attr_type(&n, "Tshape", GD_INT32);
	gd_add(&g, &n);
	n = op("cat", "ConcatV2", "fa", "fb");
	gd_input(&n, "axis");
	gd_attr_i(&n, "N", 2);
	gd_attr_type(&n, "Tidx", GD_INT32);
	gd_add(&g, &n);
	n = op("pr", "Reshape", "cat", "pairs");
	gd_attr_type(&n, "Tshape", GD_INT32);
	gd_add(&g, &n);
	n = op("sm", "Softmax", "pr", NULL);
	gd_add(&g, &n);
	n = op("out", "Reshape", "sm", "flat");
	gd_attr_type(&n, "Tshape", GD_INT32);
	gd_add(&g, &n);
	rc |= write_graph(dir, "ssd_heads.seed", &g);

	/* 7. Every TensorProto form and AttrValue case, on nodes nothing reads but an Identity chain. */
	g = (pbb){ 0 };
	gd_placeholder(&g, "data", GD_FLOAT, 2, (const int64_t[]){ 1, 4 });
	t = gd_tensor(GD_HALF, D(3));
	pbb_packed_varints(&t, GD_T_HALF, (const int64_t[]){ 0x3c00 }, 1);
	gd_const(&g, "half", GD_HALF, &t);
	t = gd_tensor(GD_DOUBLE, D(2));
	pbb_double(&t, GD_T_DOUBLE, 0.25);
	gd_const(&g, "double", GD_DOUBLE, &t);
	t = gd_tensor(GD_INT64, D(2));
	pbb_int(&t, GD_T_INT64, -1);
	pbb_int(&t, GD_T_INT64, 5);
	gd_const(&g, "int64", GD_INT64, &t);
	t = gd_tensor(GD_BOOL, D(2));
	pbb_int(&t, GD_T_BOOL, 1);
	gd_const(&g, "bool", GD_BOOL, &t);
	t = gd_tensor(GD_STRING, D(2));
	pbb_str(&t, GD_T_STRING, "save/Const");
	gd_const(&g, "string", GD_STRING, &t);
	n = gd_node("attrs", "NoOp");
	gd_input(&n, "^data");
	{
		pbb v = { 0 }, l = { 0 };
		pbb_str(&l, 2, "a");
		pbb_str(&l, 2, "b");
		pbb_msg(&v, GD_A_LIST, &l);
		gd_attr(&n, "strings", &v);
		pbb_packed_floats(&l, 4, (const float[]){ 1, 2 }, 2);
		pbb_msg(&v, GD_A_LIST, &l);
		gd_attr(&n, "floats", &v);
		pbb_int(&l, 6, GD_FLOAT);
		pbb_msg(&v, GD_A_LIST, &l);
		gd_attr(&n, "types", &v);
		gd_shape(&l, 7, D(-1, 3));
		pbb_msg(&v, GD_A_LIST, &l);
		gd_attr(&n, "_output_shapes", &v);
		pbb fn = { 0 }, e = { 0 }, ev = { 0 };
		pbb_str(&fn, 1, "f");
		pbb_int(&ev, GD_A_I, 3);
		pbb_str(&e, 1, "k");
		pbb_msg(&e, 2, &ev);
		pbb_msg(&fn, 2, &e);
		pbb_msg(&v, GD_A_FUNC, &fn);
		gd_attr(&n, "f", &v);
		pbb_str(&v, GD_A_PLACEHOLDER, "T");
		gd_attr(&n, "ph", &v);
	}
	gd_add(&g, &n);
	n = op("id", "Identity", "data", "^attrs");
	gd_add(&g, &n);
	{
		pbb lib = { 0 }, ver = { 0 };
		pbb_str(&lib, 1, "");
		pbb_msg(&g, 2, &lib);
		pbb_int(&ver, 1, 27);
		pbb_msg(&g, 4, &ver);
	}
	rc |= write_graph(dir, "every_form.seed", &g);
	return rc;
}
