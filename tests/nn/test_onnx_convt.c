/*
 * ONNX ConvTranspose through the loader (src/nn/format/onnx_ops_nn.c) and
 * the engine, on ModelProto bytes built here with pb_builder.h, against
 * outputs worked out by hand: a 1-D grouped, dilated one with padding,
 * output_padding and a bias, and a 2-D one with auto_pad SAME_UPPER and
 * SAME_LOWER (the odd padding pixel at the end, then at the start). Each
 * runs on the reference kernels alone and on the default path (XNNPACK).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nn/format/onnx.h"
#include "nn/graph.h"
#include "nn/model.h"
#include "pb_builder.h"
#include "test.h"

#define I64(...) (const int64_t[]){ __VA_ARGS__ }

static void init_f32(pbb *g, const char *name, int rank, const int64_t *dims, const float *v, int n)
{
	pbb t = { 0 };
	pbb_packed_varints(&t, 1, dims, rank);
	pbb_int(&t, 2, 1); /* FLOAT */
	pbb_str(&t, 8, name);
	pbb_bytes(&t, 9, v, (size_t)n * sizeof *v);
	pbb_msg(g, 5, &t);
}

/* A float graph input or output (rank < 0: no shape). */
static void value_info(pbb *g, uint32_t field, const char *name, int rank, const int64_t *dims)
{
	pbb vi = { 0 }, tp = { 0 }, tt = { 0 }, sh = { 0 };
	for (int d = 0; d < rank; d++) {
		pbb dim = { 0 };
		pbb_int(&dim, 1, dims[d]);
		pbb_msg(&sh, 1, &dim);
	}
	pbb_int(&tt, 1, 1);
	if (rank >= 0)
		pbb_msg(&tt, 2, &sh);
	pbb_msg(&tp, 1, &tt);
	pbb_str(&vi, 1, name);
	pbb_msg(&vi, 2, &tp);
	pbb_msg(g, field, &vi);
	pbb_free(&sh);
}

static void attr_ints(pbb *nd, const char *name, const int64_t *v, int n)
{
	pbb a = { 0 };
	pbb_str(&a, 1, name);
	pbb_int(&a, 20, 7);
	pbb_packed_varints(&a, 8, v, n);
	pbb_msg(nd, 5, &a);
}

static void attr_int(pbb *nd, const char *name, int64_t v)
{
	pbb a = { 0 };
	pbb_str(&a, 1, name);
	pbb_int(&a, 20, 2);
	pbb_int(&a, 3, v);
	pbb_msg(nd, 5, &a);
}

static void attr_str(pbb *nd, const char *name, const char *v)
{
	pbb a = { 0 };
	pbb_str(&a, 1, name);
	pbb_int(&a, 20, 3);
	pbb_str(&a, 4, v);
	pbb_msg(nd, 5, &a);
}

/* Wraps graph g (one ConvTranspose node nd) as a ModelProto of opset 13. */
static void finish(pbb *m, pbb *g, pbb *nd)
{
	pbb_str(nd, 2, "y");
	pbb_str(nd, 3, "convt");
	pbb_str(nd, 4, "ConvTranspose");
	pbb_msg(g, 1, nd);
	value_info(g, 12, "y", -1, NULL);
	pbb_int(m, 1, 7);
	pbb_str(m, 2, "vigil-test");
	pbb_msg(m, 7, g);
	pbb o = { 0 };
	pbb_str(&o, 1, "");
	pbb_int(&o, 2, 13);
	pbb_msg(m, 8, &o);
	pbb_free(g);
}

/* Loads m, runs it on x (reference kernels only, or the default path) and checks y against want. */
static void run_and_check(pbb *m, const float *x, int nx, const int *shape, int rank, const float *want, int nw,
			  int reference_only, const char *what)
{
	nn_graph *g = NULL;
	nn_model *mm;
	char err[512];
	CHECK_MSG(nn_onnx_load_buffer(&g, m->p, m->len, "t.onnx", NULL, err, sizeof err) == 0, "%s: %s", what, err);
	CHECK_MSG(nn_model_from_graph(&mm, g, err, sizeof err) == 0, "%s: %s", what, err);
	nn_prepare_options opt = { .threads = 1, .reference_only = reference_only };
	CHECK_MSG(nn_model_prepare(mm, &opt, err, sizeof err) == 0, "%s: %s", what, err);
	CHECK(nn_tensor_elements(nn_model_input(mm, 0)) == nx);
	memcpy(nn_model_input(mm, 0)->data, x, (size_t)nx * sizeof *x);
	CHECK_MSG(nn_model_run(mm, err, sizeof err) == 0, "%s: %s", what, err);
	const nn_tensor *y = nn_model_output(mm, 0);
	CHECK_MSG(y->rank == rank && nn_tensor_elements(y) == nw, "%s: output of rank %d, %d values", what, y->rank,
		  (int)nn_tensor_elements(y));
	for (int d = 0; d < rank; d++)
		CHECK_MSG(y->shape[d] == shape[d], "%s: dimension %d is %d, expected %d", what, d, y->shape[d], shape[d]);
	for (int k = 0; k < nw; k++)
		CHECK_MSG(fabsf(((const float *)y->data)[k] - want[k]) < 1e-5f, "%s (%s): element %d is %g, expected %g",
			  what, reference_only ? "reference" : "default", k, ((const float *)y->data)[k], want[k]);
	nn_model_free(mm);
}

/*
 * x [1, 2, 3], two groups of one channel, kernel 2 dilated by 2, stride 2,
 * pads [1, 0], output_padding 1, bias [10, 20]. Channel 0: x [1, 2, 3],
 * taps [1, -1]: input i lands at 2i (tap 0) and 2i + 2 (tap 1), so the
 * full length 7 holds [1, 0, 1, 0, 1, 0, -3], one more zero for the output
 * padding, minus the first value for the pad: [0, 1, 0, 1, 0, -3, 0] + 10.
 * Channel 1: x [4, 5, 6], taps [2, 3]: [8, 0, 22, 0, 27, 0, 18, 0] cut the
 * same way, + 20. The groups keep the channels apart.
 */
TEST(onnx_convt_1d_groups_dilations)
{
	for (int ref = 0; ref < 2; ref++) {
		pbb m = { 0 }, g = { 0 }, nd = { 0 };
		init_f32(&g, "w", 3, I64(2, 1, 2), (const float[]){ 1, -1, 2, 3 }, 4);
		init_f32(&g, "b", 1, I64(2), (const float[]){ 10, 20 }, 2);
		value_info(&g, 11, "x", 3, I64(1, 2, 3));
		pbb_str(&nd, 1, "x");
		pbb_str(&nd, 1, "w");
		pbb_str(&nd, 1, "b");
		attr_int(&nd, "group", 2);
		attr_ints(&nd, "dilations", I64(2), 1);
		attr_ints(&nd, "strides", I64(2), 1);
		attr_ints(&nd, "pads", I64(1, 0), 2);
		attr_ints(&nd, "output_padding", I64(1), 1);
		finish(&m, &g, &nd);
		const float x[6] = { 1, 2, 3, 4, 5, 6 };
		const float want[14] = { 10, 11, 10, 11, 10, 7, 10, 20, 42, 20, 47, 20, 38, 20 };
		run_and_check(&m, x, 6, (const int[]){ 1, 2, 7 }, 3, want, 14, ref, "1-D grouped dilated");
		pbb_free(&m);
	}
}

/*
 * x [[1, 2], [3, 4]], a 3x3 kernel of ones, stride 2: the full 5x5 scatter
 * is [[1,1,3,2,2], [1,1,3,2,2], [4,4,10,6,6], [3,3,7,4,4], [3,3,7,4,4]];
 * SAME makes the output 4x4, one pixel of padding: SAME_UPPER cuts it from
 * the end (rows and columns 0-3), SAME_LOWER from the start (1-4).
 */
TEST(onnx_convt_auto_pad_same)
{
	static const float full[5][5] = { { 1, 1, 3, 2, 2 },
					  { 1, 1, 3, 2, 2 },
					  { 4, 4, 10, 6, 6 },
					  { 3, 3, 7, 4, 4 },
					  { 3, 3, 7, 4, 4 } };
	for (int lower = 0; lower < 2; lower++)
		for (int ref = 0; ref < 2; ref++) {
			pbb m = { 0 }, g = { 0 }, nd = { 0 };
			float ones[9];
			for (int k = 0; k < 9; k++)
				ones[k] = 1;
			init_f32(&g, "w", 4, I64(1, 1, 3, 3), ones, 9);
			value_info(&g, 11, "x", 4, I64(1, 1, 2, 2));
			pbb_str(&nd, 1, "x");
			pbb_str(&nd, 1, "w");
			attr_ints(&nd, "strides", I64(2, 2), 2);
			attr_str(&nd, "auto_pad", lower ? "SAME_LOWER" : "SAME_UPPER");
			finish(&m, &g, &nd);
			float want[16];
			for (int r = 0; r < 4; r++)
				for (int c = 0; c < 4; c++)
					want[r * 4 + c] = full[r + lower][c + lower];
			run_and_check(&m, (const float[]){ 1, 2, 3, 4 }, 4, (const int[]){ 1, 1, 4, 4 }, 4, want, 16, ref,
				      lower ? "SAME_LOWER" : "SAME_UPPER");
			pbb_free(&m);
		}
}

TEST_SUITE(nn_onnx_convt,
	   TEST_ENTRY(onnx_convt_1d_groups_dilations),
	   TEST_ENTRY(onnx_convt_auto_pad_same));
