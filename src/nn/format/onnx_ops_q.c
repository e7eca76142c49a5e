/*
 * ONNX's matrix products with both operands at run time and the ops of ONNX
 * Runtime's quantized exports: MatMul (BATCH_MATMUL when B is not a constant
 * matrix; onnx_ops_nn.c keeps the FULLY_CONNECTED path for those),
 * MatMulInteger, QLinearMatMul, ConvInteger, QLinearConv and
 * DynamicQuantizeLinear.
 *
 * The quantized ops' scales and zero points become the IR tensors'
 * quantization parameters, so they must be known at load time (QLinearConv,
 * QLinearMatMul). MatMulInteger's zero points may come at run time (from a
 * DynamicQuantizeLinear): BATCH_MATMUL reads them as inputs.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/format/onnx_internal.h"

/* x reshaped into a new tensor that keeps x's quantization. */
static int reshape_q(ox *c, const ox_node *n, int x, int rank, const int *shape)
{
	int y = ox_reshape(c, n, x, rank, shape, -1);
	if (y < 0)
		return y;
	nn_tensor *s = ox_T(c, x);
	if (s->quant.count && nn_tensor_set_quant(ox_T(c, y), s->quant.count, s->quant.axis, s->quant.scale,
						  s->quant.zero_point) < 0)
		return ox_fail(c, NN_ERR_NOMEM, "out of memory");
	return y;
}

/*
 * out = BATCH_MATMUL(a, b[, za, zb]) as output 0 of the node, ONNX's rank-1
 * operands included (A [K] as [1, K], B [K] as [K, 1], the added dimension
 * dropped from the result). q, when given, is the output's quantization.
 */
static int emit_bmm(ox *c, const ox_node *n, int a, int b, int za, int zb, nn_dtype odt, const float *qscale,
		    const int32_t *qzp)
{
	nn_tensor *ta = ox_T(c, a), *tb = ox_T(c, b);
	int ra = ta->rank, rb = tb->rank;
	if (ra < 1 || rb < 1)
		return ox_nfail(c, NN_ERR_SHAPE, "MatMul of ranks %d and %d", ra, rb);
	int a1 = ra == 1, b1 = rb == 1;
	if (a1) {
		int sh[2] = { 1, ta->shape[0] };
		if ((a = reshape_q(c, n, a, 2, sh)) < 0)
			return a;
	}
	if (b1) {
		int sh[2] = { tb->shape[0], 1 };
		if ((b = reshape_q(c, n, b, 2, sh)) < 0)
			return b;
	}
	ta = ox_T(c, a), tb = ox_T(c, b);
	ra = ta->rank, rb = tb->rank;
	int M = ta->shape[ra - 2], K = ta->shape[ra - 1], KB = tb->shape[rb - 2], N = tb->shape[rb - 1];
	if (K != KB)
		return ox_nfail(c, NN_ERR_SHAPE, "A has %d columns, B %d rows", K, KB);
	int64_t da[NN_MAX_RANK] = { 0 }, db[NN_MAX_RANK] = { 0 }, dims[NN_MAX_RANK];
	for (int d = 0; d < ra - 2; d++)
		da[d] = ta->shape[d];
	for (int d = 0; d < rb - 2; d++)
		db[d] = tb->shape[d];
	int r = 0;
	if (ox_broadcast_dims(c, ra - 2, da, rb - 2, db, &r, dims) < 0)
		return NN_ERR_SHAPE;
	if (r + 2 > NN_MAX_RANK)
		return ox_unsupported(c, "a product of rank %d", r + 2);
	int shape[NN_MAX_RANK];
	for (int d = 0; d < r; d++)
		shape[d] = (int)dims[d];
	shape[r] = M, shape[r + 1] = N;
	int squeeze = a1 || b1;
	int y = squeeze ? ox_temp(c, n, "/matmul", odt, r + 2, shape) : ox_out_tensor(c, n, 0, odt, r + 2, shape);
	if (y < 0)
		return y;
	if (qscale && nn_tensor_set_quant(ox_T(c, y), 1, 0, qscale, qzp) < 0)
		return ox_fail(c, NN_ERR_NOMEM, "out of memory");
	int in[4] = { a, b, za, zb };
	if (!ox_emit(c, n, NN_OP_BATCH_MATMUL, za >= 0 || zb >= 0 ? 4 : 2, in, 1, &y))
		return NN_ERR_NOMEM;
	if (!squeeze)
		return y;
	/* Drop the dimension that a rank-1 operand added: M when A was a vector, N when B was. */
	int osh[NN_MAX_RANK], orank = 0;
	for (int d = 0; d < r; d++)
		osh[orank++] = shape[d];
	if (!a1)
		osh[orank++] = M;
	if (!b1)
		osh[orank++] = N;
	int o = ox_out_tensor(c, n, 0, odt, orank, osh);
	if (o < 0)
		return o;
	if (qscale && nn_tensor_set_quant(ox_T(c, o), 1, 0, qscale, qzp) < 0)
		return ox_fail(c, NN_ERR_NOMEM, "out of memory");
	return ox_reshape(c, n, y, orank, osh, o);
}

int ox_map_batch_matmul(ox *c, const ox_node *n)
{
	int a = ox_in_tensor(c, n, 0), b = a < 0 ? a : ox_in_tensor(c, n, 1);
	if (b < 0)
		return b;
	nn_dtype da = ox_T(c, a)->dtype, db = ox_T(c, b)->dtype;
	if (da != NN_F32 || db != NN_F32)
		return ox_unsupported(c, "MatMul of %s and %s (float32 only)", nn_dtype_name(da), nn_dtype_name(db));
	int y = emit_bmm(c, n, a, b, -1, -1, NN_F32, NULL, NULL);
	return y < 0 ? y : 0;
}
