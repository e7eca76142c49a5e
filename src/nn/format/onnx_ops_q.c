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

/* A scale / zero-point pair of inputs ks and kz (kz absent: zero point 0 of type uint8), known at load time. */
typedef struct qpar {
	int count;
	float *scale;
	int32_t *zp;
	int zp_dtype;           /* ONNX type of the zero point: the quantized tensor's */
} qpar;

static int read_qpar(ox *c, const ox_node *n, int ks, int kz, qpar *q)
{
	ox_val *s = ox_in_const(c, n, ks);
	int has_z = kz < n->n_in && n->in[kz][0];
	ox_val *z = has_z ? ox_in_const(c, n, kz) : NULL;
	if (!s || !s->f || (has_z && (!z || !z->i)))
		return ox_unsupported(c, "scale or zero point (inputs %d, %d) computed at run time", ks, kz);
	if (s->n < 1 || (z && z->n != s->n))
		return ox_nfail(c, NN_ERR_SHAPE, "%lld scales and %lld zero points", (long long)s->n,
				z ? (long long)z->n : 0LL);
	q->zp_dtype = z ? z->dtype : OX_UINT8;
	if (q->zp_dtype != OX_UINT8 && q->zp_dtype != OX_INT8)
		return ox_unsupported(c, "zero point of type %s (uint8 and int8 only)", ox_dtype_name(q->zp_dtype));
	q->count = (int)s->n;
	q->scale = ox_alloc(c, (size_t)s->n * sizeof *q->scale);
	q->zp = ox_alloc(c, (size_t)s->n * sizeof *q->zp);
	if (!q->scale || !q->zp)
		return NN_ERR_NOMEM;
	for (int64_t k = 0; k < s->n; k++) {
		q->scale[k] = s->f[k];
		q->zp[k] = z ? (int32_t)z->i[k] : 0;
		if (!(s->f[k] > 0) || !isfinite(s->f[k]))
			return ox_unsupported(c, "scale %g", (double)s->f[k]);
	}
	return 0;
}

static nn_dtype qdtype(const qpar *q)
{
	return q->zp_dtype == OX_INT8 ? NN_I8 : NN_U8;
}

/*
 * Gives tensor t the quantization q (along axis when per channel). A tensor
 * that already has other parameters (read by two quantized ops differently)
 * is refused: its integers would need requantizing.
 */
static int set_q(ox *c, int t, const qpar *q, int axis, const char *what)
{
	nn_tensor *x = ox_T(c, t);
	if (x->dtype != qdtype(q))
		return ox_unsupported(c, "%s of type %s with a %s zero point", what, nn_dtype_name(x->dtype),
				      ox_dtype_name(q->zp_dtype));
	if (x->quant.count == 0)
		return nn_tensor_set_quant(x, q->count, axis, q->scale, q->zp) < 0 ? ox_fail(c, NN_ERR_NOMEM, "out of memory")
										  : 0;
	int same = x->quant.count == q->count && (q->count == 1 || x->quant.axis == axis);
	for (int k = 0; same && k < q->count; k++)
		same = x->quant.scale[k] == q->scale[k] && x->quant.zero_point[k] == q->zp[k];
	return same ? 0 : ox_unsupported(c, "%s quantized with two different parameter sets", what);
}

static int is8(nn_dtype t)
{
	return t == NN_U8 || t == NN_I8;
}

/* MatMulInteger: A, B (uint8/int8), optional zero points a (one or one per row) and b (one or one per column). */
static int map_matmul_integer(ox *c, const ox_node *n)
{
	int a = ox_in_tensor(c, n, 0), b = a < 0 ? a : ox_in_tensor(c, n, 1);
	if (b < 0)
		return b;
	nn_dtype da = ox_T(c, a)->dtype, db = ox_T(c, b)->dtype;
	if (!is8(da) || !is8(db))
		return ox_unsupported(c, "MatMulInteger of %s and %s", nn_dtype_name(da), nn_dtype_name(db));
	int z[2] = { -1, -1 };
	for (int k = 0; k < 2; k++)
		if (2 + k < n->n_in && n->in[2 + k][0] && (z[k] = ox_in_tensor(c, n, 2 + k)) < 0)
			return z[k];
	int y = emit_bmm(c, n, a, b, z[0], z[1], NN_I32, NULL, NULL);
	return y < 0 ? y : 0;
}

/*
 * QLinearMatMul with a constant matrix B: a quantized FULLY_CONNECTED
 * (XNNPACK's when the numbers are per tensor), weights B transposed to
 * [N, K] in A's dtype (moved by 128 with their zero points when B has the
 * other 8-bit type) and a zero int32 bias of scale a_scale * b_scale[n].
 */
static int emit_qfc(ox *c, const ox_node *n, int a, const ox_val *bv, const qpar *qa, const qpar *qb, const qpar *qy,
		    const ox_val *bias)
{
	nn_dtype dt = ox_T(c, a)->dtype;
	int K = (int)bv->dims[0], N = (int)bv->dims[1];
	if (ox_T(c, a)->shape[ox_T(c, a)->rank - 1] != K)
		return ox_nfail(c, NN_ERR_SHAPE, "A has %d columns, B %d rows", ox_T(c, a)->shape[ox_T(c, a)->rank - 1], K);
	int shift = bv->dtype == OX_UINT8 && dt == NN_I8 ? -128 : bv->dtype == OX_INT8 && dt == NN_U8 ? 128 : 0;
	char nm[512];
	snprintf(nm, sizeof nm, "%s/weights", n->out[0]);
	int ws[2] = { N, K };
	int w = ox_tensor(c, nm, dt, 2, ws);
	if (w < 0)
		return w;
	nn_tensor *wt = ox_T(c, w);
	if (nn_tensor_alloc_const(wt) < 0)
		return ox_fail(c, NN_ERR_NOMEM, "out of memory");
	for (int o = 0; o < N; o++)
		for (int k = 0; k < K; k++) {
			int64_t v = bv->i[(size_t)k * N + o] + shift;
			if (dt == NN_U8)
				((uint8_t *)wt->data)[(size_t)o * K + k] = (uint8_t)v;
			else
				((int8_t *)wt->data)[(size_t)o * K + k] = (int8_t)v;
		}
	int32_t *wz = ox_alloc(c, (size_t)qb->count * sizeof *wz);
	float *bs = ox_alloc(c, (size_t)qb->count * sizeof *bs);
	int32_t *bz = ox_alloc(c, (size_t)qb->count * sizeof *bz);
	if (!wz || !bs || !bz)
		return NN_ERR_NOMEM;
	for (int k = 0; k < qb->count; k++) {
		wz[k] = qb->zp[k] + shift;
		bs[k] = qa->scale[0] * qb->scale[k];
		bz[k] = 0;
	}
	if (nn_tensor_set_quant(wt, qb->count, 0, qb->scale, wz) < 0)
		return ox_fail(c, NN_ERR_NOMEM, "out of memory");
	snprintf(nm, sizeof nm, "%s/bias", n->out[0]);
	int bsh[1] = { N };
	int b = ox_tensor(c, nm, NN_I32, 1, bsh);
	if (b < 0)
		return b;
	if (nn_tensor_alloc_const(ox_T(c, b)) < 0 || nn_tensor_set_quant(ox_T(c, b), qb->count, 0, bs, bz) < 0)
		return ox_fail(c, NN_ERR_NOMEM, "out of memory");
	if (bias)
		for (int o = 0; o < N; o++)
			((int32_t *)ox_T(c, b)->data)[o] = (int32_t)bias->i[o];
	nn_tensor *ta = ox_T(c, a);
	int shape[NN_MAX_RANK], rank = ta->rank;
	memcpy(shape, ta->shape, sizeof shape);
	shape[rank - 1] = N;
	int y = ox_out_tensor(c, n, 0, dt, rank, shape);
	if (y < 0)
		return y;
	if (nn_tensor_set_quant(ox_T(c, y), 1, 0, qy->scale, qy->zp) < 0)
		return ox_fail(c, NN_ERR_NOMEM, "out of memory");
	int in[3] = { a, w, b };
	nn_node *f = ox_emit(c, n, NN_OP_FULLY_CONNECTED, 3, in, 1, &y);
	if (!f)
		return NN_ERR_NOMEM;
	f->p.fc.act = NN_ACT_NONE;
	f->p.fc.keep_num_dims = rank > 2;
	return 0;
}

/* QLinearMatMul: a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point. */
static int map_qlinear_matmul(ox *c, const ox_node *n)
{
	/* A 9th input, an int32 bias [N] of scale a_scale * b_scale, comes only from onnx_qdq.c's QDQ groups. */
	if (n->n_in != 8 && (n->n_in != 9 || strcmp(n->op, "QLinearMatMul") == 0))
		return ox_nfail(c, NN_ERR_FORMAT, "has %d inputs, expected 8", n->n_in);
	int a = ox_in_tensor(c, n, 0), b = a < 0 ? a : ox_in_tensor(c, n, 3);
	if (b < 0)
		return b;
	qpar qa, qb, qy;
	int rc;
	if ((rc = read_qpar(c, n, 1, 2, &qa)) || (rc = read_qpar(c, n, 4, 5, &qb)) || (rc = read_qpar(c, n, 6, 7, &qy)))
		return rc;
	nn_tensor *tb = ox_T(c, b);
	if (qa.count != 1 || qy.count != 1)
		return ox_unsupported(c, "per-row scales of A or the output");
	if (qb.count != 1 && (tb->rank < 2 || qb.count != tb->shape[tb->rank - 1]))
		return ox_unsupported(c, "%d scales of B (one, or one per column)", qb.count);
	if ((rc = set_q(c, a, &qa, 0, "A")))
		return rc;
	ox_val *bc = ox_in_const(c, n, 3);
	if (bc && bc->i && bc->rank == 2 && ox_T(c, a)->rank >= 2 && ox_T(c, a)->dtype == qdtype(&qy))
		return emit_qfc(c, n, a, bc, &qa, &qb, &qy, n->n_in > 8 && n->in[8][0] ? ox_in_const(c, n, 8) : NULL);
	if (n->n_in > 8 && n->in[8][0])
		return ox_unsupported(c, "a bias with a product computed at run time");
	if ((rc = set_q(c, b, &qb, tb->rank - 1, "B")))
		return rc;
	int y = emit_bmm(c, n, a, b, -1, -1, qdtype(&qy), qy.scale, qy.zp);
	return y < 0 ? y : 0;
}

/* ---- convolutions ---- */

/* An ONNX filter [O, I, kh(, kw)] known at load time as integers, with its group count checked against C. */
typedef struct qfilter {
	ox_val *w;
	int64_t O, I, kh, kw, group;
	int depthwise;
} qfilter;

static int read_filter(ox *c, const ox_node *n, int x, int k, qfilter *f)
{
	f->w = ox_in_const(c, n, k);
	if (!f->w || !f->w->i)
		return ox_unsupported(c, "a filter computed at run time (constant weights only)");
	if (f->w->dtype != OX_UINT8 && f->w->dtype != OX_INT8)
		return ox_unsupported(c, "a filter of type %s", ox_dtype_name(f->w->dtype));
	int xr = ox_T(c, x)->rank;
	if (f->w->rank != xr || (xr != 3 && xr != 4))
		return ox_unsupported(c, "a filter of rank %d for an input of rank %d (1-D and 2-D only)", f->w->rank, xr);
	f->O = f->w->dims[0], f->I = f->w->dims[1], f->kh = xr == 4 ? f->w->dims[2] : 1, f->kw = f->w->dims[xr - 1];
	f->group = ox_attr_i(n, "group", 1);
	int64_t C = ox_T(c, x)->shape[1];
	if (f->group < 1 || C % f->group || f->I * f->group != C || f->O % f->group)
		return ox_nfail(c, NN_ERR_SHAPE, "input has %lld channels, filter %lldx%lld with %lld groups",
				(long long)C, (long long)f->O, (long long)f->I, (long long)f->group);
	f->depthwise = f->group == C && f->group > 1;
	return 0;
}

/* Element (o, i, y, z) of the ONNX filter, and where it goes in the IR's OHWI (or depthwise 1HWO) filter. */
static size_t filter_src(const qfilter *f, int64_t o, int64_t i, int64_t y, int64_t z)
{
	return (size_t)(((o * f->I + i) * f->kh + y) * f->kw + z);
}

static size_t filter_dst(const qfilter *f, int64_t o, int64_t i, int64_t y, int64_t z)
{
	return f->depthwise ? (size_t)((y * f->kw + z) * f->O + o) : (size_t)(((o * f->kh + y) * f->kw + z) * f->I + i);
}

static void filter_shape(const qfilter *f, int *shape)
{
	shape[0] = f->depthwise ? 1 : (int)f->O;
	shape[1] = (int)f->kh, shape[2] = (int)f->kw;
	shape[3] = f->depthwise ? (int)f->O : (int)f->I;
}

/* Emits the CONV2D / DEPTHWISE_CONV2D of xh (NHWC) into a new NHWC tensor of dtype dt. */
static int emit_conv(ox *c, const ox_node *n, const qfilter *f, const nn_conv_params *p, int xh, int filt, int bias,
		     int oh, int ow, nn_dtype dt)
{
	int ysh[4] = { ox_T(c, xh)->shape[0], oh, ow, (int)f->O };
	int yh = ox_temp(c, n, "/conv_nhwc", dt, 4, ysh);
	if (yh < 0)
		return yh;
	int in[3] = { xh, filt, bias };
	nn_node *cv = ox_emit(c, n, f->depthwise ? NN_OP_DEPTHWISE_CONV2D : NN_OP_CONV2D, 3, in, 1, &yh);
	if (!cv)
		return NN_ERR_NOMEM;
	cv->p.conv = *p;
	cv->p.conv.depth_multiplier = f->depthwise ? (int)(f->O / f->group) : 1;
	cv->p.conv.act = NN_ACT_NONE;
	return yh;
}

/*
 * ConvInteger: x (uint8/int8), w (constant), optional zero points of x (one,
 * possibly at run time) and of w (one, or one per output channel, constant).
 * Runs as a float convolution of x - x_zero_point with w - w_zero_point,
 * which is exact while every partial sum stays below 2^24 in magnitude
 * (checked here from the weights), and a cast of the result to int32.
 */
static int map_conv_integer(ox *c, const ox_node *n)
{
	int x = ox_in_tensor(c, n, 0);
	if (x < 0)
		return x;
	/* A copy: adding tensors may move the graph's array. */
	nn_tensor xcopy = *ox_T(c, x), *xt = &xcopy;
	if (!is8(xt->dtype))
		return ox_unsupported(c, "input of type %s", nn_dtype_name(xt->dtype));
	qfilter f;
	int rc = read_filter(c, n, x, 1, &f);
	if (rc)
		return rc;
	ox_val *wz = n->n_in > 3 && n->in[3][0] ? ox_in_const(c, n, 3) : NULL;
	if (n->n_in > 3 && n->in[3][0] && (!wz || !wz->i))
		return ox_unsupported(c, "a filter zero point computed at run time");
	if (wz && wz->n != 1 && wz->n != f.O)
		return ox_nfail(c, NN_ERR_SHAPE, "%lld filter zero points for %lld output channels", (long long)wz->n,
				(long long)f.O);
	/* The input's distance from its zero point: at most 255 whatever the zero point. */
	int has_xz = n->n_in > 2 && n->in[2][0];
	ox_val *xz = has_xz ? ox_in_const(c, n, 2) : NULL;
	int64_t xmax = 255;
	if (xz && xz->i && xz->n == 1) {
		int64_t lo = xt->dtype == NN_U8 ? 0 : -128, hi = lo + 255, z = xz->i[0];
		xmax = z - lo > hi - z ? z - lo : hi - z;
	}
	/*
	 * The input channels in chunks whose sums stay exact in float32: one
	 * float convolution per chunk, each cast to int32 and the chunks added
	 * in int32. Most layers are one chunk.
	 */
	int64_t *acc = ox_alloc(c, (size_t)f.O * sizeof *acc);
	int *cut = ox_alloc(c, ((size_t)f.I + 1) * sizeof *cut), n_cut = 0;
	if (!acc || !cut)
		return NN_ERR_NOMEM;
	memset(acc, 0, (size_t)f.O * sizeof *acc);
	for (int64_t i = 0; i < f.I && !rc; i++) {
		for (int pass = 0; pass < 2; pass++) {
			int over = 0;
			for (int64_t o = 0; o < f.O; o++) {
				int64_t z0 = wz ? wz->i[wz->n == 1 ? 0 : o] : 0, sum = 0;
				for (int64_t y = 0; y < f.kh; y++)
					for (int64_t z = 0; z < f.kw; z++) {
						int64_t v = f.w->i[filter_src(&f, o, i, y, z)] - z0;
						sum += (v < 0 ? -v : v) * xmax;
					}
				if (pass)
					acc[o] += sum;
				else
					over |= acc[o] + sum >= ((int64_t)1 << 24);
			}
			if (pass)
				break;
			if (over && (i == (n_cut ? cut[n_cut - 1] : 0))) {
				rc = ox_unsupported(c, "one input channel's sums beyond float32's exact integers");
				break;
			}
			if (over) {
				cut[n_cut++] = (int)i;
				memset(acc, 0, (size_t)f.O * sizeof *acc);
			}
		}
	}
	cut[n_cut++] = (int)f.I;
	if (!rc && n_cut > 1 && f.group != 1)
		rc = ox_unsupported(c, "a grouped ConvInteger whose sums go beyond float32's exact integers");
	if (rc)
		return rc;
	/* x - x_zero_point in float32. */
	int shape[NN_MAX_RANK], rank = xt->rank;
	memcpy(shape, xt->shape, sizeof shape);
	int xf = ox_temp(c, n, "/x_f32", NN_F32, rank, shape);
	if (xf < 0)
		return xf;
	if (!has_xz || (xz && xz->i && xz->n == 1)) {
		/* A zero point known now: x dequantized with scale 1 (the layout pass may move reshapes before it). */
		float one = 1;
		int32_t zp = xz ? (int32_t)xz->i[0] : 0;
		qpar q = { 1, &one, &zp, xt->dtype == NN_U8 ? OX_UINT8 : OX_INT8 };
		if ((rc = set_q(c, x, &q, 0, "the input")))
			return rc;
		if (!ox_emit(c, n, NN_OP_DEQUANTIZE, 1, &x, 1, &xf))
			return NN_ERR_NOMEM;
	} else {
		if (!ox_emit(c, n, NN_OP_CAST, 1, &x, 1, &xf))
			return NN_ERR_NOMEM;
		int zt = ox_in_tensor(c, n, 2);
		if (zt < 0)
			return zt;
		nn_tensor *ztt = ox_T(c, zt);
		if (nn_tensor_elements(ztt) != 1)
			return ox_unsupported(c, "%lld input zero points (one only)", (long long)nn_tensor_elements(ztt));
		int zs[NN_MAX_RANK];
		memcpy(zs, ztt->shape, sizeof zs);
		int zf = ox_temp(c, n, "/x_zero_point_f32", NN_F32, ztt->rank, zs);
		if (zf < 0 || !ox_emit(c, n, NN_OP_CAST, 1, &zt, 1, &zf))
			return zf < 0 ? zf : NN_ERR_NOMEM;
		int xd = ox_temp(c, n, "/x_centred", NN_F32, rank, shape);
		int in2[2] = { xf, zf };
		nn_node *sub = xd < 0 ? NULL : ox_emit(c, n, NN_OP_SUB, 2, in2, 1, &xd);
		if (!sub)
			return xd < 0 ? xd : NN_ERR_NOMEM;
		sub->p.act = NN_ACT_NONE;
		xf = xd;
	}
	nn_conv_params p;
	int xh, spatial, oh, ow;
	if ((rc = ox_conv_window(c, n, xf, f.kh, f.kw, &p, &xh, &spatial, &oh, &ow)))
		return rc;
	int bs[1] = { (int)f.O };
	int bias = ox_const_f32(c, "conv_integer/zero_bias", 1, bs, NULL);
	int sum = -1, xshape[4];
	memcpy(xshape, ox_T(c, xh)->shape, sizeof xshape);
	for (int k = 0, i0 = 0; k < n_cut && bias >= 0; i0 = cut[k++]) {
		int i1 = cut[k], cw = i1 - i0, part = xh;
		qfilter fc = f;
		fc.I = cw;
		if (n_cut > 1) {
			/* This chunk's input channels, sliced from the NHWC input. */
			int ssh[4] = { xshape[0], xshape[1], xshape[2], cw };
			part = ox_temp(c, n, "/x_chunk", NN_F32, 4, ssh);
			nn_node *sl = part < 0 ? NULL : ox_emit(c, n, NN_OP_STRIDED_SLICE, 1, &xh, 1, &part);
			if (!sl) {
				bias = part < 0 ? part : NN_ERR_NOMEM;
				break;
			}
			for (int d = 0; d < 4; d++) {
				sl->p.slice.begin[d] = d == 3 ? i0 : 0;
				sl->p.slice.stride[d] = 1;
			}
		}
		int fshape[4];
		filter_shape(&fc, fshape);
		char nm[512];
		snprintf(nm, sizeof nm, "%s/ohwi_f32_%d", n->in[1], i0);
		int filt = ox_const_f32(c, nm, 4, fshape, NULL);
		if (filt < 0) {
			bias = filt;
			break;
		}
		float *fd = ox_T(c, filt)->data;
		for (int64_t o = 0; o < f.O; o++) {
			int64_t z0 = wz ? wz->i[wz->n == 1 ? 0 : o] : 0;
			for (int64_t i = i0; i < i1; i++)
				for (int64_t y = 0; y < f.kh; y++)
					for (int64_t z = 0; z < f.kw; z++)
						fd[filter_dst(&fc, o, i - i0, y, z)] =
							(float)(f.w->i[filter_src(&f, o, i, y, z)] - z0);
		}
		int yh = emit_conv(c, n, &f, &p, part, filt, bias, oh, ow, NN_F32);
		if (yh < 0) {
			bias = yh;
			break;
		}
		int ysh[4];
		memcpy(ysh, ox_T(c, yh)->shape, sizeof ysh);
		int yi = ox_temp(c, n, "/conv_i32", NN_I32, 4, ysh);
		if (yi < 0 || !ox_emit(c, n, NN_OP_CAST, 1, &yh, 1, &yi)) {
			bias = yi < 0 ? yi : NN_ERR_NOMEM;
			break;
		}
		if (sum >= 0) {
			int ys = ox_temp(c, n, "/conv_sum", NN_I32, 4, ysh), in2[2] = { sum, yi };
			nn_node *add = ys < 0 ? NULL : ox_emit(c, n, NN_OP_ADD, 2, in2, 1, &ys);
			if (!add) {
				bias = ys < 0 ? ys : NN_ERR_NOMEM;
				break;
			}
			add->p.act = NN_ACT_NONE;
			yi = ys;
		}
		sum = yi;
	}
	if (bias < 0)
		return bias;
	return ox_conv_nchw(c, n, sum, spatial);
}

/*
 * QLinearConv: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale,
 * y_zero_point, optional int32 bias B: a quantized CONV2D (or DEPTHWISE)
 * with the IR's conventions (filter OHWI of the input's dtype, per tensor
 * or per output channel; bias with scale x_scale * w_scale[o]). A filter of
 * the other 8-bit type is moved by 128 with its zero points, which keeps
 * every real value.
 */
static int map_qlinear_conv(ox *c, const ox_node *n)
{
	if (n->n_in < 8)
		return ox_nfail(c, NN_ERR_FORMAT, "has %d inputs, expected 8 or 9", n->n_in);
	int x = ox_in_tensor(c, n, 0);
	if (x < 0)
		return x;
	if (ox_T(c, x)->rank != 4)
		return ox_unsupported(c, "QLinearConv of rank %d (2-D only)", ox_T(c, x)->rank);
	qpar qx, qw, qy;
	int rc;
	if ((rc = read_qpar(c, n, 1, 2, &qx)) || (rc = read_qpar(c, n, 4, 5, &qw)) || (rc = read_qpar(c, n, 6, 7, &qy)))
		return rc;
	qfilter f;
	if ((rc = read_filter(c, n, x, 3, &f)))
		return rc;
	if (qx.count != 1 || qy.count != 1)
		return ox_unsupported(c, "per-channel scales of the input or output");
	if (qw.count != 1 && qw.count != f.O)
		return ox_nfail(c, NN_ERR_SHAPE, "%d filter scales for %lld output channels", qw.count, (long long)f.O);
	if ((rc = set_q(c, x, &qx, 0, "the input")))
		return rc;
	nn_dtype dt = ox_T(c, x)->dtype;
	int shift = f.w->dtype == OX_UINT8 && dt == NN_I8 ? -128 : f.w->dtype == OX_INT8 && dt == NN_U8 ? 128 : 0;
	int fshape[4];
	filter_shape(&f, fshape);
	char nm[512];
	snprintf(nm, sizeof nm, "%s/ohwi", n->in[3]);
	int filt = ox_tensor(c, nm, dt, 4, fshape);
	if (filt < 0)
		return filt;
	nn_tensor *ft = ox_T(c, filt);
	if (nn_tensor_alloc_const(ft) < 0)
		return ox_fail(c, NN_ERR_NOMEM, "out of memory");
	for (int64_t o = 0; o < f.O; o++)
		for (int64_t i = 0; i < f.I; i++)
			for (int64_t y = 0; y < f.kh; y++)
				for (int64_t z = 0; z < f.kw; z++) {
					int64_t v = f.w->i[filter_src(&f, o, i, y, z)] + shift;
					size_t d = filter_dst(&f, o, i, y, z);
					if (dt == NN_U8)
						((uint8_t *)ft->data)[d] = (uint8_t)v;
					else
						((int8_t *)ft->data)[d] = (int8_t)v;
				}
	int32_t *fz = ox_alloc(c, (size_t)qw.count * sizeof *fz);
	float *bscale = ox_alloc(c, (size_t)f.O * sizeof *bscale);
	int32_t *bzero = ox_alloc(c, (size_t)f.O * sizeof *bzero);
	if (!fz || !bscale || !bzero)
		return NN_ERR_NOMEM;
	for (int k = 0; k < qw.count; k++)
		fz[k] = qw.zp[k] + shift;
	if (nn_tensor_set_quant(ft, qw.count, f.depthwise ? 3 : 0, qw.scale, fz) < 0)
		return ox_fail(c, NN_ERR_NOMEM, "out of memory");
	/* The bias: int32 [O] with scale x_scale * w_scale[o], zeros when absent. */
	int bs[1] = { (int)f.O };
	snprintf(nm, sizeof nm, "%s/bias", n->out[0]);
	int bias = ox_tensor(c, nm, NN_I32, 1, bs);
	if (bias < 0)
		return bias;
	nn_tensor *bt = ox_T(c, bias);
	if (nn_tensor_alloc_const(bt) < 0)
		return ox_fail(c, NN_ERR_NOMEM, "out of memory");
	if (n->n_in > 8 && n->in[8][0]) {
		ox_val *b = ox_in_const(c, n, 8);
		if (!b || !b->i || b->dtype != OX_INT32)
			return ox_unsupported(c, "a bias computed at run time or not int32");
		if (b->n != f.O)
			return ox_nfail(c, NN_ERR_SHAPE, "bias of %lld values for %lld output channels", (long long)b->n,
					(long long)f.O);
		for (int64_t o = 0; o < f.O; o++)
			((int32_t *)bt->data)[o] = (int32_t)b->i[o];
	}
	for (int64_t o = 0; o < f.O; o++) {
		bscale[o] = qx.scale[0] * qw.scale[qw.count == 1 ? 0 : o];
		bzero[o] = 0;
	}
	if (nn_tensor_set_quant(bt, qw.count == 1 ? 1 : (int)f.O, 0, bscale, bzero) < 0)
		return ox_fail(c, NN_ERR_NOMEM, "out of memory");
	nn_conv_params p;
	int xh, spatial, oh, ow;
	if ((rc = ox_conv_window(c, n, x, f.kh, f.kw, &p, &xh, &spatial, &oh, &ow)))
		return rc;
	if ((rc = set_q(c, xh, &qx, 0, "the input")))
		return rc;
	int yh = emit_conv(c, n, &f, &p, xh, filt, bias, oh, ow, qdtype(&qy));
	if (yh < 0)
		return yh;
	if ((rc = set_q(c, yh, &qy, 0, "the output")) || (rc = ox_conv_nchw(c, n, yh, spatial)))
		return rc;
	int v = ox_value_find(c, n->out[0], 0);
	return v < 0 ? NN_ERR_FORMAT : set_q(c, c->vals[v].t, &qy, 0, "the output");
}

/* DynamicQuantizeLinear: outputs y (uint8), y_scale (float32 scalar), y_zero_point (uint8 scalar). */
static int map_dynquant(ox *c, const ox_node *n)
{
	int x = ox_in_tensor(c, n, 0);
	if (x < 0)
		return x;
	nn_tensor *t = ox_T(c, x);
	if (t->dtype != NN_F32)
		return ox_unsupported(c, "input of type %s (float32 only)", nn_dtype_name(t->dtype));
	int shape[NN_MAX_RANK], xrank = t->rank;
	memcpy(shape, t->shape, sizeof shape);
	int outs[3];
	static const char *const sfx[3] = { "/y", "/scale", "/zero_point" };
	for (int k = 0; k < 3; k++) {
		nn_dtype dt = k == 1 ? NN_F32 : NN_U8;
		int rank = k ? 0 : xrank;
		outs[k] = k < n->n_out && n->out[k][0] ? ox_out_tensor(c, n, k, dt, rank, shape)
						       : ox_temp(c, n, sfx[k], dt, rank, shape);
		if (outs[k] < 0)
			return outs[k];
	}
	return ox_emit(c, n, NN_OP_DYNAMIC_QUANTIZE, 1, &x, 3, outs) ? 0 : NN_ERR_NOMEM;
}

int ox_map_qop(ox *c, const ox_node *n, int which)
{
	switch (which) {
	case OX_Q_DYNQUANT:
		return map_dynquant(c, n);
	case OX_Q_MATMUL_INTEGER:
		return map_matmul_integer(c, n);
	case OX_Q_QLINEAR_MATMUL:
		return map_qlinear_matmul(c, n);
	case OX_Q_CONV_INTEGER:
		return map_conv_integer(c, n);
	case OX_Q_QLINEAR_CONV:
		return map_qlinear_conv(c, n);
	default:
		return ox_unsupported(c, "operator %s", n->op);
	}
}
