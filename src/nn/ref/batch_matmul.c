/*
 * BATCH_MATMUL: out[..., m, n] = sum_k A[..., m, k] * B[..., k, n], the
 * batch dimensions (all but the last two) broadcast NumPy-style, as ONNX
 * MatMul. Three kinds of numbers:
 * - float32 A, B and output, accumulated in double;
 * - integer: uint8/int8 A and B and a plain int32 output (ONNX
 *   MatMulInteger): sum (a - a_zp) * (b - b_zp) exactly, with the zero points
 *   read at run time from the optional inputs 2 (A's: one, or one per row m)
 *   and 3 (B's: one, or one per column n);
 * - quantized: uint8/int8 A, B and output with their quantization (ONNX
 *   QLinearMatMul): A and the output per tensor, B per tensor or per column
 *   (its last axis). The integer sum is scaled by a_scale * b_scale /
 *   y_scale, rounded half to even as ONNX does, offset and saturated.
 */
#include <math.h>
#include <stdint.h>

#include "nn/ref/qops.h"
#include "nn/ref/quant.h"

enum { BMM_FLOAT, BMM_INTEGER, BMM_QUANT };

static int is8(nn_dtype t)
{
	return t == NN_U8 || t == NN_I8;
}

static int kind_of(const nn_tensor *a, const nn_tensor *b, const nn_tensor *out)
{
	if (a->dtype == NN_F32 && b->dtype == NN_F32 && out->dtype == NN_F32)
		return BMM_FLOAT;
	if (is8(a->dtype) && is8(b->dtype) && out->dtype == NN_I32 && out->quant.count == 0)
		return BMM_INTEGER;
	if (is8(a->dtype) && is8(b->dtype) && is8(out->dtype))
		return BMM_QUANT;
	return -1;
}

int nn_ref_batch_matmul_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	const nn_tensor *a = nn_ref_input(g, n, 0), *b = nn_ref_input(g, n, 1);
	const nn_tensor *out = n->n_outputs == 1 ? nn_ref_output(g, n, 0) : NULL;
	if (!a || !b || !out || n->n_inputs > 4)
		return nn_ref_fail(why, whylen, n, 0, "expects A, B, two optional zero points and one output");
	if (a->rank < 2 || b->rank < 2 || out->rank < 2)
		return nn_ref_fail(why, whylen, n, 0, "ranks %d, %d -> %d (2 or more each)", a->rank, b->rank,
				   out->rank);
	int kind = kind_of(a, b, out);
	if (kind < 0)
		return nn_ref_fail(why, whylen, n, 0, "%s x %s -> %s is not supported", nn_dtype_name(a->dtype),
				   nn_dtype_name(b->dtype), nn_dtype_name(out->dtype));
	if (kind != BMM_INTEGER && n->n_inputs > 2 && (n->inputs[2] >= 0 || (n->n_inputs > 3 && n->inputs[3] >= 0)))
		return nn_ref_fail(why, whylen, n, 0, "zero-point inputs are for int32 output only");
	if (kind == BMM_INTEGER) {
		for (int i = 2; i < n->n_inputs; i++) {
			const nn_tensor *z = nn_ref_input(g, n, i);
			if (z && z->dtype != NN_U8 && z->dtype != NN_I8 && z->dtype != NN_I32)
				return nn_ref_fail(why, whylen, n, 0, "zero point %d of type %s", i,
						   nn_dtype_name(z->dtype));
		}
	}
	if (kind != BMM_QUANT)
		return 1;
	if (!nn_ref_check_quant(n, a, "A", 0, why, whylen) || !nn_ref_check_quant(n, out, "output", 0, why, whylen) ||
	    !nn_ref_check_quant(n, b, "B", 1, why, whylen))
		return 0;
	if (b->quant.count > 1 && b->quant.axis != b->rank - 1)
		return nn_ref_fail(why, whylen, n, 0, "B's scales run along axis %d, not its columns", b->quant.axis);
	return 1;
}

/* Element offsets of the operands' matrices for each output batch index. */
typedef struct bmm_plan {
	int64_t batches;
	int ob;                         /* output batch rank */
	int oshape[NN_MAX_RANK];
	size_t astride[NN_MAX_RANK], bstride[NN_MAX_RANK];
} bmm_plan;

/* Strides of t's batch dimensions aligned to the output's last ob, 0 where t stretches; -1 when they do not fit. */
static int batch_strides(const nn_tensor *t, size_t mat, int ob, const int *oshape, size_t *stride)
{
	int tb = t->rank - 2;
	if (tb > ob)
		return -1;
	size_t s = mat;
	for (int d = ob - 1; d >= 0; d--) {
		int td = d - (ob - tb);
		int dim = td >= 0 ? t->shape[td] : 1;
		if (dim != oshape[d] && dim != 1)
			return -1;
		stride[d] = dim == 1 ? 0 : s;
		s *= (size_t)dim;
	}
	return 0;
}

static size_t offset_of(const bmm_plan *p, const size_t *stride, int64_t batch)
{
	size_t off = 0;
	for (int d = p->ob - 1; d >= 0; d--) {
		off += (size_t)(batch % p->oshape[d]) * stride[d];
		batch /= p->oshape[d];
	}
	return off;
}

/* A zero point: input i's element (one for all, or one per index) or 0 when the input is absent. */
static int32_t zp_at(const nn_tensor *z, int64_t index)
{
	if (!z)
		return 0;
	int64_t count = nn_ref_elements(z);
	return count <= 1 ? (count == 1 ? nn_ref_load_q(z, 0) : 0) : nn_ref_load_q(z, (size_t)index);
}

int nn_ref_batch_matmul_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	const nn_tensor *a = nn_ref_input(g, n, 0), *b = nn_ref_input(g, n, 1);
	nn_tensor *out = nn_ref_output(g, n, 0);
	char sa[NN_REF_SHAPE_BUF], sb[NN_REF_SHAPE_BUF], so[NN_REF_SHAPE_BUF];
	int M = a->shape[a->rank - 2], K = a->shape[a->rank - 1], N = b->shape[b->rank - 1];
	bmm_plan p = { .batches = 1, .ob = out->rank - 2 };
	for (int d = 0; d < p.ob; d++) {
		p.oshape[d] = out->shape[d];
		p.batches *= out->shape[d];
	}
	if (b->shape[b->rank - 2] != K || out->shape[out->rank - 2] != M || out->shape[out->rank - 1] != N ||
	    batch_strides(a, (size_t)M * K, p.ob, p.oshape, p.astride) < 0 ||
	    batch_strides(b, (size_t)K * N, p.ob, p.oshape, p.bstride) < 0)
		return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE, "A %s times B %s does not give output %s",
				   nn_ref_shape_str(a, sa), nn_ref_shape_str(b, sb), nn_ref_shape_str(out, so));
	const nn_tensor *za = nn_ref_input(g, n, 2), *zb = nn_ref_input(g, n, 3);
	int kind = kind_of(a, b, out);
	if (kind == BMM_INTEGER) {
		int64_t ca = za ? nn_ref_elements(za) : 0, cb = zb ? nn_ref_elements(zb) : 0;
		if ((ca > 1 && ca != M) || (cb > 1 && cb != N))
			return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE,
					   "%lld zero points of A for %d rows, %lld of B for %d columns", (long long)ca,
					   M, (long long)cb, N);
	}
	int32_t qmin = 0, qmax = 0, a_zp = 0, y_zp = 0;
	float a_scale = 1, y_scale = 1;
	if (kind == BMM_QUANT) {
		nn_ref_dtype_range(out->dtype, &qmin, &qmax);
		a_zp = nn_ref_zero_point(a, 0), y_zp = nn_ref_zero_point(out, 0);
		a_scale = nn_ref_scale(a, 0), y_scale = nn_ref_scale(out, 0);
	}
	for (int64_t bt = 0; bt < p.batches; bt++) {
		size_t ao = offset_of(&p, p.astride, bt), bo = offset_of(&p, p.bstride, bt);
		size_t oo = (size_t)bt * M * N;
		for (int m = 0; m < M; m++)
			for (int j = 0; j < N; j++) {
				size_t o = oo + (size_t)m * N + j;
				if (kind == BMM_FLOAT) {
					const float *x = a->data, *y = b->data;
					double acc = 0;
					for (int k = 0; k < K; k++)
						acc += (double)x[ao + (size_t)m * K + k] * y[bo + (size_t)k * N + j];
					((float *)out->data)[o] = (float)acc;
					continue;
				}
				int32_t zpa = kind == BMM_INTEGER ? zp_at(za, m) : a_zp;
				int32_t zpb = kind == BMM_INTEGER ? zp_at(zb, j) : nn_ref_zero_point(b, j);
				int64_t acc = 0;
				for (int k = 0; k < K; k++)
					acc += (int64_t)(nn_ref_load_q(a, ao + (size_t)m * K + k) - zpa) *
					       (nn_ref_load_q(b, bo + (size_t)k * N + j) - zpb);
				if (kind == BMM_INTEGER) {
					((int32_t *)out->data)[o] = (int32_t)acc;
					continue;
				}
				/* The multiplier in float, as ONNX's scales are float32; the product and rounding in double. */
				float mult = a_scale * nn_ref_scale(b, j) / y_scale;
				double v = nearbyint((double)acc * mult) + y_zp;
				nn_ref_store_q(out, o, v < qmin ? qmin : v > qmax ? qmax : (int32_t)v);
			}
	}
	return NN_OK;
}
