/*
 * ONNX MaxPool and AveragePool over three spatial axes (NCDHW), as two 2-D
 * pools: over height and width with every depth slice a batch entry, then
 * over depth. Both are exact: a maximum over a box is the maximum over depth
 * of the maxima over height and width, and the pixels of a window that lie
 * inside the input (or the zero-padded input with count_include_pad) form a
 * box, so an average of averages divides by the same count. Every step is a
 * reshape of contiguous memory, never a transpose: [N, C, D, H, W] is
 * [N*C*D, H, W, 1] in NHWC, and the first pool's [N*C*D, oh, ow, 1] is
 * [N*C, D, oh*ow, 1].
 */
#include <string.h>

#include "nn/format/onnx_internal.h"

typedef struct axis3 {
	int64_t k, s, d, pad0, pad1, in, out;
} axis3;

/* ONNX's output size of one axis; ceil_mode's extra reach becomes end padding. */
static int axis_out(axis3 *a, int ceil_mode)
{
	int64_t ek = (a->k - 1) * a->d + 1, span = a->in + a->pad0 + a->pad1 - ek;
	if (span < 0)
		return -1;
	a->out = (ceil_mode ? (span + a->s - 1) / a->s : span / a->s) + 1;
	if (ceil_mode && (a->out - 1) * a->s >= a->in + a->pad0)
		a->out--;
	int64_t need = (a->out - 1) * a->s + ek - a->in - a->pad0;
	if (need > a->pad1)
		a->pad1 = need;
	return 0;
}

static nn_node *pool2d(ox *c, const ox_node *n, nn_op op, int x, int y, const axis3 *ah, const axis3 *aw)
{
	nn_node *p = ox_emit(c, n, op, 1, &x, 1, &y);
	if (!p)
		return NULL;
	p->p.pool = (nn_pool_params){ .filter_h = (int)ah->k, .filter_w = (int)aw->k, .stride_h = (int)ah->s,
				      .stride_w = (int)aw->s, .padding = NN_PADDING_EXPLICIT,
				      .pad_top = (int)ah->pad0, .pad_bottom = (int)ah->pad1, .pad_left = (int)aw->pad0,
				      .pad_right = (int)aw->pad1, .act = NN_ACT_NONE, .dilation_h = (int)ah->d,
				      .dilation_w = (int)aw->d };
	return p;
}

int ox_map_pool3d(ox *c, const ox_node *n)
{
	int maxp = !strcmp(n->op, "MaxPool");
	int x = ox_in_tensor(c, n, 0);
	if (x < 0)
		return x;
	nn_tensor *t = ox_T(c, x);
	if (t->dtype != NN_F32 || t->rank != 5)
		return ox_unsupported(c, "3-D pooling of a %s tensor of rank %d", nn_dtype_name(t->dtype), t->rank);
	if (maxp && n->n_out > 1 && n->out[1][0])
		return ox_unsupported(c, "MaxPool's Indices output in 3-D");
	const char *ap = ox_attr_s(n, "auto_pad", "NOTSET");
	int valid = !strcmp(ap, "VALID");
	if (!valid && strcmp(ap, "NOTSET") && ap[0])
		return ox_unsupported(c, "auto_pad '%s' in 3-D pooling", ap);
	int64_t k[3], s[3] = { 1, 1, 1 }, d[3] = { 1, 1, 1 }, pads[6] = { 0 };
	int nk = 0, ns = 0, nd = 0, np = 0;
	if (ox_attr_ints(c, n, "kernel_shape", k, 3, &nk) < 0 || ox_attr_ints(c, n, "strides", s, 3, &ns) < 0 ||
	    ox_attr_ints(c, n, "dilations", d, 3, &nd) < 0 || ox_attr_ints(c, n, "pads", pads, 6, &np) < 0)
		return NN_ERR_FORMAT;
	if (nk != 3 || (ns && ns != 3) || (nd && nd != 3) || (np && np != 6))
		return ox_nfail(c, NN_ERR_FORMAT, "kernel_shape, strides, dilations or pads of the wrong length");
	if (valid)
		memset(pads, 0, sizeof pads);
	axis3 a[3];
	for (int i = 0; i < 3; i++) {
		a[i] = (axis3){ k[i], ns ? s[i] : 1, nd ? d[i] : 1, pads[i], pads[i + 3], t->shape[i + 2], 0 };
		if (a[i].k < 1 || a[i].k > 65536 || a[i].s < 1 || a[i].s > 65536 || a[i].d < 1 || a[i].d > 65536 ||
		    a[i].pad0 < 0 || a[i].pad0 > 65536 || a[i].pad1 < 0 || a[i].pad1 > 65536)
			return ox_nfail(c, NN_ERR_FORMAT, "kernel, stride, dilation or pads of axis %d", i + 2);
		if (axis_out(&a[i], (int)ox_attr_i(n, "ceil_mode", 0)) < 0)
			return ox_nfail(c, NN_ERR_SHAPE, "the window is larger than the padded input");
	}
	int64_t N = t->shape[0], C = t->shape[1];
	int64_t cells = N * C * a[0].out * a[1].out * a[2].out;
	if (cells > (int64_t)1 << 31 || N * C * t->shape[2] > (int64_t)1 << 31)
		return ox_unsupported(c, "3-D pooling this large");
	/* count_include_pad: the padding (ceil_mode's too, as ONNX Runtime divides) becomes zeros that count. */
	if (!maxp && ox_attr_i(n, "count_include_pad", 0) &&
	    (a[0].pad0 || a[0].pad1 || a[1].pad0 || a[1].pad1 || a[2].pad0 || a[2].pad1)) {
		int sh[5] = { (int)N, (int)C, 0, 0, 0 };
		for (int i = 0; i < 3; i++)
			sh[i + 2] = (int)(a[i].in + a[i].pad0 + a[i].pad1);
		int p = ox_temp(c, n, "/pad", NN_F32, 5, sh);
		if (p < 0)
			return p;
		nn_node *pd = ox_emit(c, n, NN_OP_PAD, 1, &x, 1, &p);
		if (!pd)
			return NN_ERR_NOMEM;
		for (int i = 0; i < 3; i++) {
			pd->p.pad.pads[i + 2][0] = (int)a[i].pad0;
			pd->p.pad.pads[i + 2][1] = (int)a[i].pad1;
			a[i].in += a[i].pad0 + a[i].pad1;
			a[i].pad0 = a[i].pad1 = 0;
		}
		x = p;
	}
	nn_op op = maxp ? NN_OP_MAX_POOL2D : NN_OP_AVERAGE_POOL2D;
	/* Height and width, each depth slice a batch entry. */
	int s1[4] = { (int)(N * C * a[0].in), (int)a[1].in, (int)a[2].in, 1 };
	int x1 = ox_temp(c, n, "/slices", NN_F32, 4, s1);
	if (x1 < 0 || ox_reshape(c, n, x, 4, s1, x1) < 0)
		return x1 < 0 ? x1 : NN_ERR_NOMEM;
	int s2[4] = { s1[0], (int)a[1].out, (int)a[2].out, 1 };
	int y1 = ox_temp(c, n, "/pool_hw", NN_F32, 4, s2);
	if (y1 < 0)
		return y1;
	if (!pool2d(c, n, op, x1, y1, &a[1], &a[2]))
		return NN_ERR_NOMEM;
	/* Depth: [N*C, D, oh*ow, 1] pooled with a (kd, 1) window. */
	int s3[4] = { (int)(N * C), (int)a[0].in, (int)(a[1].out * a[2].out), 1 };
	int x2 = ox_temp(c, n, "/depth", NN_F32, 4, s3);
	if (x2 < 0 || ox_reshape(c, n, y1, 4, s3, x2) < 0)
		return x2 < 0 ? x2 : NN_ERR_NOMEM;
	int s4[4] = { s3[0], (int)a[0].out, s3[2], 1 };
	int y2 = ox_temp(c, n, "/pool_d", NN_F32, 4, s4);
	if (y2 < 0)
		return y2;
	axis3 one = { 1, 1, 1, 0, 0, s3[2], s3[2] };
	if (!pool2d(c, n, op, x2, y2, &a[0], &one))
		return NN_ERR_NOMEM;
	int so[5] = { (int)N, (int)C, (int)a[0].out, (int)a[1].out, (int)a[2].out };
	int y = ox_out_tensor(c, n, 0, NN_F32, 5, so);
	if (y < 0)
		return y;
	return ox_reshape(c, n, y2, 5, so, y) < 0 ? NN_ERR_NOMEM : 0;
}
