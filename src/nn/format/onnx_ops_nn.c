/*
 * ONNX's layout-sensitive ops: convolutions, pooling, resizing and depth /
 * space moves run NHWC, between a TRANSPOSE into NHWC and one back to NCHW
 * (the layout pass cancels those between neighbours); filters are
 * rearranged from OIHW to OHWI at load time. Also the matrix products and
 * the normalisations, which keep NCHW.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/format/onnx_internal.h"

/* Spatial attributes of Conv, ConvTranspose and the pools, for two spatial dimensions. */
typedef struct win {
	int64_t k[2], s[2], d[2], pads[4]; /* pads: top, left, bottom, right */
	int auto_pad;                      /* 0 NOTSET, 1 SAME_UPPER, 2 SAME_LOWER, 3 VALID */
} win;

static int read_win(ox *c, const ox_node *n, int spatial, const int64_t *kdef, win *w)
{
	int64_t v[4];
	int cnt;
	w->k[0] = kdef[0], w->k[1] = kdef[1];
	w->s[0] = w->s[1] = w->d[0] = w->d[1] = 1;
	memset(w->pads, 0, sizeof w->pads);
	int off = 2 - spatial; /* a 1-D op fills the width; its height is 1 */
	if (ox_attr_ints(c, n, "kernel_shape", v, 2, &cnt) < 0)
		return NN_ERR_FORMAT;
	if (cnt == spatial)
		for (int k = 0; k < cnt; k++)
			w->k[k + off] = v[k];
	if (ox_attr_ints(c, n, "strides", v, 2, &cnt) < 0)
		return NN_ERR_FORMAT;
	if (cnt == spatial)
		for (int k = 0; k < cnt; k++)
			w->s[k + off] = v[k];
	if (ox_attr_ints(c, n, "dilations", v, 2, &cnt) < 0)
		return NN_ERR_FORMAT;
	if (cnt == spatial)
		for (int k = 0; k < cnt; k++)
			w->d[k + off] = v[k];
	if (ox_attr_ints(c, n, "pads", v, 4, &cnt) < 0)
		return NN_ERR_FORMAT;
	if (cnt == 2 * spatial) {
		for (int k = 0; k < spatial; k++) {
			w->pads[k + off] = v[k];
			w->pads[2 + k + off] = v[spatial + k];
		}
	} else if (cnt) {
		return ox_nfail(c, NN_ERR_FORMAT, "%d pads for %d spatial dimensions", cnt, spatial);
	}
	const char *ap = ox_attr_s(n, "auto_pad", "NOTSET");
	w->auto_pad = !strcmp(ap, "SAME_UPPER") ? 1 : !strcmp(ap, "SAME_LOWER") ? 2 : !strcmp(ap, "VALID") ? 3 : 0;
	if (!w->auto_pad && strcmp(ap, "NOTSET") && ap[0])
		return ox_nfail(c, NN_ERR_FORMAT, "auto_pad '%s'", ap);
	for (int k = 0; k < 2; k++)
		if (w->k[k] < 1 || w->k[k] > 65536 || w->s[k] < 1 || w->s[k] > 65536 || w->d[k] < 1 || w->d[k] > 65536)
			return ox_nfail(c, NN_ERR_FORMAT, "kernel %lldx%lld, strides %lldx%lld, dilations %lldx%lld",
					(long long)w->k[0], (long long)w->k[1], (long long)w->s[0], (long long)w->s[1],
					(long long)w->d[0], (long long)w->d[1]);
	for (int k = 0; k < 4; k++)
		if (w->pads[k] < 0 || w->pads[k] > 65536)
			return ox_unsupported(c, "pads of %lld", (long long)w->pads[k]);
	return 0;
}

/* Output size of one spatial dimension (and SAME padding resolved into w->pads). */
static int64_t win_out(win *w, int dim, int64_t in, int ceil_mode)
{
	int64_t ek = (w->k[dim] - 1) * w->d[dim] + 1;
	if (w->auto_pad == 1 || w->auto_pad == 2) {
		int64_t out = (in + w->s[dim] - 1) / w->s[dim];
		int64_t total = (out - 1) * w->s[dim] + ek - in;
		if (total < 0)
			total = 0;
		int64_t small = total / 2, big = total - small;
		w->pads[dim] = w->auto_pad == 1 ? small : big;
		w->pads[dim + 2] = w->auto_pad == 1 ? big : small;
		return out;
	}
	if (w->auto_pad == 3)
		w->pads[dim] = w->pads[dim + 2] = 0;
	int64_t span = in + w->pads[dim] + w->pads[dim + 2] - ek;
	if (span < 0)
		return -1;
	int64_t out = (ceil_mode ? (span + w->s[dim] - 1) / w->s[dim] : span / w->s[dim]) + 1;
	if (ceil_mode && (out - 1) * w->s[dim] >= in + w->pads[dim])
		out--;
	return out;
}

/* The NCHW input of rank 3 or 4 as NHWC rank 4 (1-D ops get a height of 1). */
static int to_nhwc(ox *c, const ox_node *n, int x, int *spatial)
{
	nn_tensor *t = ox_T(c, x);
	if (t->rank == 3) {
		int sh[4] = { t->shape[0], t->shape[1], 1, t->shape[2] };
		if ((x = ox_reshape(c, n, x, 4, sh, -1)) < 0)
			return x;
		*spatial = 1;
	} else if (t->rank == 4) {
		*spatial = 2;
	} else {
		return ox_unsupported(c, "input of rank %d (1-D and 2-D ops only)", t->rank) ? -1000 : -1000;
	}
	return ox_transpose(c, n, x, ox_to_nhwc, "/nhwc");
}

/* An NHWC result y back to NCHW as output k of the node (rank 3 again for 1-D ops). */
static int from_nhwc(ox *c, const ox_node *n, int y, int spatial, int k)
{
	nn_tensor *t = ox_T(c, y);
	int sh[4] = { t->shape[0], t->shape[3], t->shape[1], t->shape[2] };
	if (spatial == 2) {
		int o = ox_out_tensor(c, n, k, t->dtype, 4, sh);
		if (o < 0)
			return o;
		nn_node *tr = ox_emit(c, n, NN_OP_TRANSPOSE, 1, &y, 1, &o);
		if (!tr)
			return NN_ERR_NOMEM;
		memcpy(tr->p.transpose.perm, ox_to_nchw, sizeof ox_to_nchw);
		return 0;
	}
	int z = ox_transpose(c, n, y, ox_to_nchw, "/nchw");
	if (z < 0)
		return z;
	int sh3[3] = { sh[0], sh[1], sh[3] };
	int o = ox_out_tensor(c, n, k, ox_T(c, z)->dtype, 3, sh3);
	return o < 0 ? o : ox_reshape(c, n, z, 3, sh3, o) < 0 ? NN_ERR_NOMEM : 0;
}

static void set_conv_pads(nn_conv_params *p, const win *w)
{
	p->padding = NN_PADDING_EXPLICIT;
	p->pad_top = (int)w->pads[0];
	p->pad_left = (int)w->pads[1];
	p->pad_bottom = (int)w->pads[2];
	p->pad_right = (int)w->pads[3];
	p->stride_h = (int)w->s[0];
	p->stride_w = (int)w->s[1];
	p->dilation_h = (int)w->d[0];
	p->dilation_w = (int)w->d[1];
}

/*
 * For onnx_ops_q.c's integer and quantized convolutions: node n's window
 * for input x (NCHW, rank 3 or 4) and a kernel of kh x kw (kh 1 for 1-D):
 * the convolution parameters in *p, x as NHWC in *xh, the output's height
 * and width, and the spatial rank for ox_conv_nchw. 0, 1 when unsupported
 * (recorded), or a negative error.
 */
int ox_conv_window(ox *c, const ox_node *n, int x, int64_t kh, int64_t kw, nn_conv_params *p, int *xh, int *spatial,
		   int *oh, int *ow)
{
	win wi;
	int64_t kd[2] = { kh, kw };
	int rc = read_win(c, n, ox_T(c, x)->rank - 2, kd, &wi);
	if (rc)
		return rc;
	if (wi.k[0] != kh || wi.k[1] != kw)
		return ox_nfail(c, NN_ERR_SHAPE, "kernel_shape differs from the filter's");
	if ((*xh = to_nhwc(c, n, x, spatial)) < 0)
		return *xh == -1000 ? 1 : *xh;
	nn_tensor *xt = ox_T(c, *xh);
	int64_t h = win_out(&wi, 0, xt->shape[1], 0), w = win_out(&wi, 1, xt->shape[2], 0);
	if (h < 1 || w < 1 || h > OX_MAX_DIM || w > OX_MAX_DIM)
		return ox_nfail(c, NN_ERR_SHAPE, "the kernel is larger than the padded input");
	memset(p, 0, sizeof *p);
	set_conv_pads(p, &wi);
	*oh = (int)h, *ow = (int)w;
	return 0;
}

/* The NHWC result y back to NCHW as the node's output 0. */
int ox_conv_nchw(ox *c, const ox_node *n, int y, int spatial)
{
	return from_nhwc(c, n, y, spatial, 0);
}

/* A constant float input as a value (weights): NULL with the node recorded as unsupported when not constant. */
static ox_val *const_float(ox *c, const ox_node *n, int k, const char *what)
{
	ox_val *v = ox_in_const(c, n, k);
	if (!v) {
		ox_unsupported(c, "%s computed at run time (constant weights only)", what);
		return NULL;
	}
	if (!v->f) {
		ox_unsupported(c, "%s of type %s", what, ox_dtype_name(v->dtype));
		return NULL;
	}
	return v;
}

int ox_map_conv(ox *c, const ox_node *n)
{
	int x = ox_in_tensor(c, n, 0);
	if (x < 0)
		return x;
	if (ox_T(c, x)->dtype != NN_F32)
		return ox_unsupported(c, "input of type %s", nn_dtype_name(ox_T(c, x)->dtype));
	ox_val *w = const_float(c, n, 1, "the filter");
	if (!w)
		return 1;
	int xr = ox_T(c, x)->rank;
	if (w->rank != xr || (xr != 3 && xr != 4))
		return ox_unsupported(c, "a filter of rank %d for an input of rank %d (1-D and 2-D only)", w->rank, xr);
	int64_t O = w->dims[0], I = w->dims[1], kh = xr == 4 ? w->dims[2] : 1, kw = w->dims[xr - 1];
	int64_t group = ox_attr_i(n, "group", 1);
	int64_t C = ox_T(c, x)->shape[1];
	if (group < 1 || C % group || I * group != C || O % group)
		return ox_nfail(c, NN_ERR_SHAPE, "input has %lld channels, filter %lldx%lld with %lld groups",
				(long long)C, (long long)O, (long long)I, (long long)group);
	win wi;
	int64_t kd[2] = { kh, kw };
	int rc = read_win(c, n, xr - 2, kd, &wi);
	if (rc)
		return rc;
	if (wi.k[0] != kh || wi.k[1] != kw)
		return ox_nfail(c, NN_ERR_SHAPE, "kernel_shape differs from the filter's");
	ox_val *b = NULL;
	if (n->n_in > 2 && n->in[2][0] && !(b = const_float(c, n, 2, "the bias")))
		return 1;
	if (b && b->n != O)
		return ox_nfail(c, NN_ERR_SHAPE, "bias of %lld values for %lld output channels", (long long)b->n, (long long)O);
	int spatial;
	int xh = to_nhwc(c, n, x, &spatial);
	if (xh < 0)
		return xh == -1000 ? 1 : xh;
	nn_tensor *xt = ox_T(c, xh);
	int64_t oh = win_out(&wi, 0, xt->shape[1], 0), ow = win_out(&wi, 1, xt->shape[2], 0);
	if (oh < 1 || ow < 1)
		return ox_nfail(c, NN_ERR_SHAPE, "the kernel is larger than the padded input");
	int depthwise = group == C && group > 1;
	int fshape[4] = { depthwise ? 1 : (int)O, (int)kh, (int)kw, depthwise ? (int)O : (int)I };
	char nm[512];
	snprintf(nm, sizeof nm, "%s/ohwi", n->in[1]);
	int f = ox_const_f32(c, nm, 4, fshape, NULL);
	if (f < 0)
		return f;
	float *fd = ox_T(c, f)->data;
	for (int64_t o = 0; o < O; o++)
		for (int64_t i = 0; i < I; i++)
			for (int64_t y = 0; y < kh; y++)
				for (int64_t z = 0; z < kw; z++) {
					float v = w->f[((o * I + i) * kh + y) * kw + z];
					if (depthwise)
						fd[(y * kw + z) * O + o] = v;
					else
						fd[((o * kh + y) * kw + z) * I + i] = v;
				}
	int bias = -1;
	if (b) {
		int bs[1] = { (int)O };
		snprintf(nm, sizeof nm, "%s/bias", n->in[2]);
		if ((bias = ox_const_f32(c, nm, 1, bs, b->f)) < 0)
			return bias;
	} else {
		/* Backends want a bias: zeros. */
		int bs[1] = { (int)O };
		if ((bias = ox_const_f32(c, "conv/zero_bias", 1, bs, NULL)) < 0)
			return bias;
	}
	int ysh[4] = { ox_T(c, xh)->shape[0], (int)oh, (int)ow, (int)O };
	int yh = ox_temp(c, n, "/conv_nhwc", NN_F32, 4, ysh);
	if (yh < 0)
		return yh;
	int in[3] = { xh, f, bias };
	nn_node *cv = ox_emit(c, n, depthwise ? NN_OP_DEPTHWISE_CONV2D : NN_OP_CONV2D, 3, in, 1, &yh);
	if (!cv)
		return NN_ERR_NOMEM;
	set_conv_pads(&cv->p.conv, &wi);
	cv->p.conv.depth_multiplier = depthwise ? (int)(O / C) : 1;
	cv->p.conv.act = NN_ACT_NONE;
	return from_nhwc(c, n, yh, spatial, 0);
}

/*
 * One spatial axis of a ConvTranspose: the output size and the padding cut
 * from its start. `full` = stride * (in - 1) + effective kernel is what the
 * scatter covers; an output larger than full - start gets zeros (plus the
 * bias) at its end. With output_shape or auto_pad SAME the total padding
 * is clamped at 0 (as ONNX Runtime does) and its odd pixel goes to the
 * start for SAME_LOWER, to the end otherwise (ONNX's test data and ORT 1.20).
 */
static int convt_axis(const win *w, int dim, int64_t in, int64_t opad, int64_t oshape, int64_t *start, int64_t *out)
{
	int64_t ek = (w->k[dim] - 1) * w->d[dim] + 1;
	int64_t full = w->s[dim] * (in - 1) + ek;
	if (oshape > 0 || w->auto_pad == 1 || w->auto_pad == 2) {
		*out = oshape > 0 ? oshape : in * w->s[dim];
		int64_t total = full + opad - *out;
		if (total < 0)
			total = 0;
		*start = w->auto_pad == 2 ? total - total / 2 : total / 2;
	} else {
		int64_t pb = w->auto_pad == 3 ? 0 : w->pads[dim], pe = w->auto_pad == 3 ? 0 : w->pads[dim + 2];
		*start = pb;
		*out = full + opad - pb - pe;
	}
	return *out >= 1 && *out <= OX_MAX_DIM && *start >= 0 && *start < full;
}

/*
 * ConvTranspose of one or two spatial dimensions as one dense
 * TRANSPOSE_CONV2D (OHWI filter, NHWC): dilation becomes zero taps between
 * the filter's, groups a block-diagonal filter (output channel o of group g
 * sees only that group's input channels), so that XNNPACK's deconvolution or
 * the reference kernel runs every form.
 */
int ox_map_conv_transpose(ox *c, const ox_node *n)
{
	int x = ox_in_tensor(c, n, 0);
	if (x < 0)
		return x;
	if (ox_T(c, x)->dtype != NN_F32)
		return ox_unsupported(c, "input of type %s", nn_dtype_name(ox_T(c, x)->dtype));
	ox_val *w = const_float(c, n, 1, "the filter");
	if (!w)
		return 1;
	int xr = ox_T(c, x)->rank;
	if (w->rank != xr || (xr != 3 && xr != 4))
		return ox_unsupported(c, "ConvTranspose of rank %d (1-D and 2-D only)", xr);
	int spatial = xr - 2, off = 2 - spatial;
	int64_t C = w->dims[0], Og = w->dims[1], kh = xr == 4 ? w->dims[2] : 1, kw = w->dims[xr - 1];
	int64_t group = ox_attr_i(n, "group", 1);
	if (C != ox_T(c, x)->shape[1] || group < 1 || C % group || Og < 1)
		return ox_nfail(c, NN_ERR_SHAPE, "filter for %lld input channels in %lld groups, input has %d",
				(long long)C, (long long)group, ox_T(c, x)->shape[1]);
	int64_t O = Og * group, Cg = C / group;
	win wi;
	int64_t kd[2] = { kh, kw };
	int rc = read_win(c, n, spatial, kd, &wi);
	if (rc)
		return rc;
	if (wi.k[0] != kh || wi.k[1] != kw)
		return ox_nfail(c, NN_ERR_SHAPE, "kernel_shape differs from the filter's");
	int64_t v[4], opad[2] = { 0, 0 }, oshape[2] = { 0, 0 };
	int cnt;
	if (ox_attr_ints(c, n, "output_padding", v, 4, &cnt) < 0)
		return NN_ERR_FORMAT;
	if (cnt == spatial)
		for (int k = 0; k < cnt; k++)
			opad[k + off] = v[k];
	else if (cnt)
		return ox_nfail(c, NN_ERR_FORMAT, "%d output_padding values for %d spatial dimensions", cnt, spatial);
	if (ox_attr_ints(c, n, "output_shape", v, 4, &cnt) < 0)
		return NN_ERR_FORMAT;
	if (cnt == spatial || cnt == spatial + 2) /* spatial sizes, or the whole N, C, spatial shape */
		for (int k = 0; k < spatial; k++)
			oshape[k + off] = v[cnt - spatial + k];
	else if (cnt)
		return ox_nfail(c, NN_ERR_FORMAT, "%d output_shape values for %d spatial dimensions", cnt, spatial);
	for (int k = 0; k < 2; k++)
		if (opad[k] < 0 || opad[k] > 65536 || oshape[k] < 0)
			return ox_nfail(c, NN_ERR_FORMAT, "output_padding %lld, output_shape %lld", (long long)opad[k],
					(long long)oshape[k]);
	if (spatial == 1)
		oshape[0] = 0;
	ox_val *b = NULL;
	if (n->n_in > 2 && n->in[2][0] && !(b = const_float(c, n, 2, "the bias")))
		return 1;
	if (b && b->n != O)
		return ox_nfail(c, NN_ERR_SHAPE, "bias of %lld values for %lld output channels", (long long)b->n, (long long)O);
	int sp;
	int xh = to_nhwc(c, n, x, &sp);
	if (xh < 0)
		return xh == -1000 ? 1 : xh;
	int64_t H = ox_T(c, xh)->shape[1], W = ox_T(c, xh)->shape[2];
	int64_t st[2], out[2];
	if (!convt_axis(&wi, 0, H, opad[0], oshape[0], &st[0], &out[0]) ||
	    !convt_axis(&wi, 1, W, opad[1], oshape[1], &st[1], &out[1]))
		return ox_nfail(c, NN_ERR_SHAPE, "output of %lldx%lld with padding %lld, %lld", (long long)out[0],
				(long long)out[1], (long long)st[0], (long long)st[1]);
	int64_t ekh = (kh - 1) * wi.d[0] + 1, ekw = (kw - 1) * wi.d[1] + 1;
	if (O * ekh * ekw * C > ((int64_t)1 << 26)) /* 256 MB of dense filter */
		return ox_unsupported(c, "a dense filter of %lldx%lldx%lldx%lld", (long long)O, (long long)ekh,
				      (long long)ekw, (long long)C);
	/* IR: OHWI, out[y*s + ky - pad] += in[y] * f[o, ky, kx, i]; ONNX W is [C_in, C_out / group, kh, kw]. */
	int fshape[4] = { (int)O, (int)ekh, (int)ekw, (int)C };
	char nm[512];
	snprintf(nm, sizeof nm, "%s/ohwi", n->in[1]);
	int f = ox_const_f32(c, nm, 4, fshape, NULL);
	if (f < 0)
		return f;
	float *fd = ox_T(c, f)->data; /* zeros where no tap lands */
	for (int64_t i = 0; i < C; i++)
		for (int64_t og = 0; og < Og; og++) {
			int64_t o = (i / Cg) * Og + og;
			for (int64_t y = 0; y < kh; y++)
				for (int64_t z = 0; z < kw; z++)
					fd[((o * ekh + y * wi.d[0]) * ekw + z * wi.d[1]) * C + i] =
						w->f[((i * Og + og) * kh + y) * kw + z];
		}
	int bs[1] = { (int)O };
	snprintf(nm, sizeof nm, "%s/bias", b ? n->in[2] : n->in[1]);
	int bias = ox_const_f32(c, nm, 1, bs, b ? b->f : NULL);
	if (bias < 0)
		return bias;
	int ysh[4] = { ox_T(c, xh)->shape[0], (int)out[0], (int)out[1], (int)O };
	int yh = ox_temp(c, n, "/convt_nhwc", NN_F32, 4, ysh);
	if (yh < 0)
		return yh;
	int in[3] = { xh, f, bias };
	nn_node *cv = ox_emit(c, n, NN_OP_TRANSPOSE_CONV2D, 3, in, 1, &yh);
	if (!cv)
		return NN_ERR_NOMEM;
	cv->p.conv.padding = NN_PADDING_EXPLICIT;
	cv->p.conv.stride_h = (int)wi.s[0];
	cv->p.conv.stride_w = (int)wi.s[1];
	cv->p.conv.dilation_h = cv->p.conv.dilation_w = 1; /* in the filter's zero taps */
	cv->p.conv.pad_top = (int)st[0];
	cv->p.conv.pad_left = (int)st[1];
	/* What is cut from the end; an output reaching past the scatter has 0 here (the size is the output's). */
	int64_t eh = wi.s[0] * (H - 1) + ekh - st[0] - out[0], ew = wi.s[1] * (W - 1) + ekw - st[1] - out[1];
	cv->p.conv.pad_bottom = eh > 0 ? (int)eh : 0;
	cv->p.conv.pad_right = ew > 0 ? (int)ew : 0;
	cv->p.conv.act = NN_ACT_NONE;
	return from_nhwc(c, n, yh, sp, 0);
}

int ox_map_pool(ox *c, const ox_node *n)
{
	int maxp = !strcmp(n->op, "MaxPool");
	int x = ox_in_tensor(c, n, 0);
	if (x < 0)
		return x;
	nn_dtype dt = ox_T(c, x)->dtype;
	/* 8-bit inputs: quantized ones (any pool), or plain integers (MaxPool only: a max needs no scale). */
	int q8 = (dt == NN_U8 || dt == NN_I8) && ox_T(c, x)->quant.count == 1, first = c->g->n_nodes;
	int plain8 = maxp && (dt == NN_U8 || dt == NN_I8) && !ox_T(c, x)->quant.count; /* integers as they are */
	if (dt != NN_F32 && !q8 && !plain8)
		return ox_unsupported(c, "input of type %s", nn_dtype_name(dt));
	int with_indices = maxp && n->n_out > 1 && n->out[1][0];
	int xr = ox_T(c, x)->rank;
	if ((q8 || plain8) && (xr == 5 || with_indices))
		return ox_unsupported(c, "8-bit pooling of rank 5 or with indices");
	if (xr == 5)
		return ox_map_pool3d(c, n);
	if (xr != 3 && xr != 4)
		return ox_unsupported(c, "pooling of rank %d (1-D, 2-D and 3-D only)", xr);
	win wi;
	int64_t kd[2] = { 1, 1 };
	int rc = read_win(c, n, xr - 2, kd, &wi);
	if (rc)
		return rc;
	if (!ox_attr_get(n, "kernel_shape"))
		return ox_nfail(c, NN_ERR_FORMAT, "no kernel_shape");
	int ceil_mode = (int)ox_attr_i(n, "ceil_mode", 0);
	int include = !maxp && ox_attr_i(n, "count_include_pad", 0);
	int spatial;
	int xh = to_nhwc(c, n, x, &spatial);
	if (xh < 0)
		return xh == -1000 ? 1 : xh;
	int64_t H = ox_T(c, xh)->shape[1], W = ox_T(c, xh)->shape[2];
	int64_t oh = win_out(&wi, 0, H, ceil_mode), ow = win_out(&wi, 1, W, ceil_mode);
	if (oh < 1 || ow < 1)
		return ox_nfail(c, NN_ERR_SHAPE, "the window is larger than the padded input");
	/* ceil_mode: the last window may run past the padding; the kernels see that as more padding. */
	int64_t need_h = (oh - 1) * wi.s[0] + (wi.k[0] - 1) * wi.d[0] + 1 - H - wi.pads[0];
	int64_t need_w = (ow - 1) * wi.s[1] + (wi.k[1] - 1) * wi.d[1] + 1 - W - wi.pads[1];
	if (need_h > wi.pads[2])
		wi.pads[2] = need_h;
	if (need_w > wi.pads[3])
		wi.pads[3] = need_w;
	if (include && (wi.pads[0] || wi.pads[1] || wi.pads[2] || wi.pads[3])) {
		/*
		 * count_include_pad: the pads become zeros the average counts,
		 * what ceil_mode adds past them too: ONNX Runtime's float
		 * AveragePool divides by the whole window there.
		 */
		nn_tensor *t = ox_T(c, xh);
		int sh[4] = { t->shape[0], (int)(H + wi.pads[0] + wi.pads[2]), (int)(W + wi.pads[1] + wi.pads[3]), t->shape[3] };
		int p = ox_temp(c, n, "/pad", dt, 4, sh);
		if (p < 0)
			return p;
		nn_node *pd = ox_emit(c, n, NN_OP_PAD, 1, &xh, 1, &p);
		if (!pd)
			return NN_ERR_NOMEM;
		pd->p.pad.pads[1][0] = (int)wi.pads[0];
		pd->p.pad.pads[1][1] = (int)wi.pads[2];
		pd->p.pad.pads[2][0] = (int)wi.pads[1];
		pd->p.pad.pads[2][1] = (int)wi.pads[3];
		memset(wi.pads, 0, sizeof wi.pads);
		xh = p;
	}
	int ysh[4] = { ox_T(c, xh)->shape[0], (int)oh, (int)ow, ox_T(c, xh)->shape[3] };
	int yh = ox_temp(c, n, "/pool_nhwc", dt, 4, ysh);
	if (yh < 0)
		return yh;
	int outs[2] = { yh, with_indices ? ox_temp(c, n, "/indices_nhwc", NN_I64, 4, ysh) : -1 };
	if (outs[1] < 0 && with_indices)
		return outs[1];
	nn_node *pl = ox_emit(c, n, maxp ? NN_OP_MAX_POOL2D : NN_OP_AVERAGE_POOL2D, 1, &xh, 1 + with_indices, outs);
	if (!pl)
		return NN_ERR_NOMEM;
	nn_pool_params *p = &pl->p.pool;
	p->filter_h = (int)wi.k[0];
	p->filter_w = (int)wi.k[1];
	p->stride_h = (int)wi.s[0];
	p->stride_w = (int)wi.s[1];
	p->padding = NN_PADDING_EXPLICIT;
	p->pad_top = (int)wi.pads[0];
	p->pad_left = (int)wi.pads[1];
	p->pad_bottom = (int)wi.pads[2];
	p->pad_right = (int)wi.pads[3];
	p->act = NN_ACT_NONE;
	p->dilation_h = (int)wi.d[0];
	p->dilation_w = (int)wi.d[1];
	p->indices_col_major = with_indices && ox_attr_i(n, "storage_order", 0) == 1;
	if (with_indices && (rc = from_nhwc(c, n, outs[1], spatial, 1)))
		return rc;
	if ((rc = from_nhwc(c, n, yh, spatial, 0)) || !q8 || !maxp)
		return rc;
	return ox_q_follow(c, first, x); /* quantized MaxPool: x's quantization throughout */
}

int ox_map_global_pool(ox *c, const ox_node *n)
{
	int maxp = !strcmp(n->op, "GlobalMaxPool");
	int x = ox_in_tensor(c, n, 0);
	if (x < 0)
		return x;
	if (ox_T(c, x)->dtype != NN_F32)
		return ox_unsupported(c, "input of type %s", nn_dtype_name(ox_T(c, x)->dtype));
	int rank = ox_T(c, x)->rank;
	if (rank != 4) {
		/* Other ranks: a reduction over the spatial axes, keeping them. */
		if (rank < 3)
			return ox_nfail(c, NN_ERR_SHAPE, "input of rank %d", rank);
		int shape[NN_MAX_RANK];
		memcpy(shape, ox_T(c, x)->shape, sizeof shape);
		for (int d = 2; d < rank; d++)
			shape[d] = 1;
		int y = ox_out_tensor(c, n, 0, NN_F32, rank, shape);
		if (y < 0)
			return y;
		nn_node *m = ox_emit(c, n, maxp ? NN_OP_REDUCE_MAX : NN_OP_MEAN, 1, &x, 1, &y);
		if (!m)
			return NN_ERR_NOMEM;
		m->p.reduce.n_axes = 0;
		for (int d = 2; d < rank; d++)
			m->p.reduce.axes[m->p.reduce.n_axes++] = d;
		m->p.reduce.keep_dims = 1;
		return 0;
	}
	int spatial;
	int xh = to_nhwc(c, n, x, &spatial);
	if (xh < 0)
		return xh;
	nn_tensor *t = ox_T(c, xh);
	int ysh[4] = { t->shape[0], 1, 1, t->shape[3] };
	int fh = t->shape[1], fw = t->shape[2];
	int yh = ox_temp(c, n, "/pool_nhwc", NN_F32, 4, ysh);
	if (yh < 0)
		return yh;
	nn_node *pl = ox_emit(c, n, maxp ? NN_OP_MAX_POOL2D : NN_OP_AVERAGE_POOL2D, 1, &xh, 1, &yh);
	if (!pl)
		return NN_ERR_NOMEM;
	pl->p.pool = (nn_pool_params){ .filter_h = fh, .filter_w = fw, .stride_h = 1, .stride_w = 1,
				       .padding = NN_PADDING_VALID };
	return from_nhwc(c, n, yh, 2, 0);
}

int ox_map_resize(ox *c, const ox_node *n)
{
	int x = ox_in_tensor(c, n, 0);
	if (x < 0)
		return x;
	if (ox_T(c, x)->dtype != NN_F32)
		return ox_unsupported(c, "input of type %s", nn_dtype_name(ox_T(c, x)->dtype));
	int rank = ox_T(c, x)->rank;
	if (rank != 4)
		return ox_unsupported(c, "resizing a tensor of rank %d (4 only)", rank);
	int upsample = !strcmp(n->op, "Upsample");
	const char *mode = ox_attr_s(n, "mode", "nearest");
	const char *coord = "asymmetric", *nearest = "floor";
	float scales[4] = { 1, 1, 1, 1 }, roi[8] = { 0, 0, 0, 0, 1, 1, 1, 1 };
	int64_t sizes[4] = { 0 };
	int have_sizes = 0, have_scales = 0, exclude_outside = 0;
	if (upsample && c->opset < 9) {
		const ox_attr *a = ox_attr_get(n, "scales");
		if (!a || a->type != OX_A_FLOATS || a->n != 4)
			return ox_nfail(c, NN_ERR_FORMAT, "needs 4 scales");
		memcpy(scales, a->floats, sizeof scales);
		have_scales = 1;
	} else if (upsample || c->opset < 11) {
		ox_val *s = ox_in_const(c, n, 1);
		if (!s || s->n != 4 || !s->f)
			return ox_unsupported(c, "scales computed at run time");
		for (int k = 0; k < 4; k++)
			scales[k] = s->f[k];
		have_scales = 1;
	} else {
		coord = ox_attr_s(n, "coordinate_transformation_mode", "half_pixel");
		nearest = ox_attr_s(n, "nearest_mode", "round_prefer_floor");
		exclude_outside = (int)ox_attr_i(n, "exclude_outside", 0);
		if (ox_attr_i(n, "antialias", 0))
			return ox_unsupported(c, "antialias");
		if (ox_attr_get(n, "axes"))
			return ox_unsupported(c, "the axes attribute");
		if (strcmp(ox_attr_s(n, "keep_aspect_ratio_policy", "stretch"), "stretch"))
			return ox_unsupported(c, "keep_aspect_ratio_policy");
		ox_value *sv = ox_in(c, n, 2), *zv = ox_in(c, n, 3);
		if (zv) {
			ox_val *z = zv->c;
			if (!z || z->n != 4)
				return ox_unsupported(c, "sizes computed at run time");
			for (int k = 0; k < 4; k++)
				sizes[k] = ox_val_int(z, k);
			have_sizes = 1;
		} else if (sv) {
			ox_val *s = sv->c;
			if (!s || !s->f || (s->n != 4 && s->n != 0))
				return ox_unsupported(c, "scales computed at run time");
			for (int k = 0; k < s->n; k++)
				scales[k] = s->f[k];
			have_scales = s->n == 4;
		}
		if (!strcmp(coord, "tf_crop_and_resize")) {
			ox_val *r = ox_in(c, n, 1) ? ox_in_const(c, n, 1) : NULL;
			if (!r || r->n != 8)
				return ox_unsupported(c, "tf_crop_and_resize without a constant roi of 8 values");
			for (int k = 0; k < 8; k++)
				roi[k] = (float)ox_val_get(r, k);
		}
	}
	if (!have_sizes && !have_scales)
		return ox_nfail(c, NN_ERR_FORMAT, "neither scales nor sizes");
	if (upsample || c->opset < 11) {
		/* ONNX Runtime's nearest before opset 11 rounds up on an axis that shrinks, down on one that grows. */
		int down = scales[2] < 1 || scales[3] < 1, up = scales[2] > 1 || scales[3] > 1;
		if (down && up && strcmp(mode, "nearest") == 0)
			return ox_unsupported(c, "nearest resizing that shrinks one axis and grows the other (opset %d)",
					      c->opset);
		nearest = down ? "ceil" : "floor";
	}
	nn_tensor *t = ox_T(c, x);
	int64_t out[4];
	for (int k = 0; k < 4; k++) {
		/* ONNX Runtime's output size: the float product, truncated. */
		float want = (float)t->shape[k] * scales[k];
		if (!have_sizes && !(want >= 0 && want <= (float)OX_MAX_DIM))
			return ox_nfail(c, NN_ERR_SHAPE, "scale %g of dimension %d", (double)scales[k], k);
		out[k] = have_sizes ? sizes[k] : (int64_t)want;
		if (out[k] < 1 || out[k] > OX_MAX_DIM)
			return ox_nfail(c, NN_ERR_SHAPE, "output dimension %d of %lld", k, (long long)out[k]);
	}
	if (out[0] != t->shape[0] || out[1] != t->shape[1])
		return ox_unsupported(c, "resizing the batch or channel dimension");
	int linear = !strcmp(mode, "linear") || !strcmp(mode, "bilinear"), cubic = !strcmp(mode, "cubic");
	if (!linear && !cubic && strcmp(mode, "nearest"))
		return ox_unsupported(c, "mode '%s'", mode);
	nn_resize_coord rc_mode = !strcmp(coord, "half_pixel")           ? NN_RESIZE_HALF_PIXEL
				  : !strcmp(coord, "pytorch_half_pixel") ? NN_RESIZE_PYTORCH_HALF_PIXEL
				  : !strcmp(coord, "align_corners")      ? NN_RESIZE_ALIGN_CORNERS
				  : !strcmp(coord, "asymmetric")         ? NN_RESIZE_ASYMMETRIC
				  : !strcmp(coord, "tf_half_pixel_for_nn") ? NN_RESIZE_TF_HALF_PIXEL_FOR_NN
				  : !strcmp(coord, "tf_crop_and_resize")   ? NN_RESIZE_TF_CROP_AND_RESIZE
									   : (nn_resize_coord)-1;
	if ((int)rc_mode < 0)
		return ox_unsupported(c, "coordinate_transformation_mode '%s'", coord);
	nn_resize_nearest nm = !strcmp(nearest, "round_prefer_floor") ? NN_NEAREST_ROUND_PREFER_FLOOR
			       : !strcmp(nearest, "round_prefer_ceil") ? NN_NEAREST_ROUND_PREFER_CEIL
			       : !strcmp(nearest, "floor")             ? NN_NEAREST_FLOOR
			       : !strcmp(nearest, "ceil")              ? NN_NEAREST_CEIL
								       : (nn_resize_nearest)-1;
	if ((int)nm < 0)
		return ox_unsupported(c, "nearest_mode '%s'", nearest);
	int spatial;
	int xh = to_nhwc(c, n, x, &spatial);
	if (xh < 0)
		return xh;
	int ysh[4] = { (int)out[0], (int)out[2], (int)out[3], (int)out[1] };
	int yh = ox_temp(c, n, "/resize_nhwc", NN_F32, 4, ysh);
	if (yh < 0)
		return yh;
	nn_op op = cubic ? NN_OP_RESIZE_CUBIC : linear ? NN_OP_RESIZE_BILINEAR : NN_OP_RESIZE_NEAREST;
	nn_node *r = ox_emit(c, n, op, 1, &xh, 1, &yh);
	if (!r)
		return NN_ERR_NOMEM;
	/* Given scales map coordinates with 1 / scale: kept where that is not out / in. */
	if (have_scales && !have_sizes) {
		if (scales[2] != (float)out[2] / (float)t->shape[2])
			r->p.resize.scale_h = scales[2];
		if (scales[3] != (float)out[3] / (float)t->shape[3])
			r->p.resize.scale_w = scales[3];
	}
	int explicit_scale = r->p.resize.scale_h > 0 || r->p.resize.scale_w > 0;
	/*
	 * Where TensorFlow's rules give the same coordinates, say so with its
	 * flags (kernels every backend has); otherwise the ONNX mode.
	 */
	int many = out[2] > 1 && out[3] > 1;
	if (cubic || explicit_scale || rc_mode == NN_RESIZE_TF_CROP_AND_RESIZE) {
		r->p.resize.coord = rc_mode;
		r->p.resize.nearest = linear || cubic ? NN_NEAREST_TF : nm;
		r->p.resize.cubic_a = ox_attr_f(n, "cubic_coeff_a", -0.75f);
		r->p.resize.exclude_outside = exclude_outside;
		r->p.resize.roi_h[0] = roi[2], r->p.resize.roi_h[1] = roi[6];
		r->p.resize.roi_w[0] = roi[3], r->p.resize.roi_w[1] = roi[7];
		r->p.resize.extrapolation = ox_attr_f(n, "extrapolation_value", 0.0f);
	} else if (linear && (rc_mode == NN_RESIZE_HALF_PIXEL || (rc_mode == NN_RESIZE_PYTORCH_HALF_PIXEL && many))) {
		r->p.resize.half_pixel_centers = 1;
	} else if (linear && rc_mode == NN_RESIZE_ALIGN_CORNERS) {
		r->p.resize.align_corners = 1;
	} else if ((linear || nm == NN_NEAREST_FLOOR) && rc_mode == NN_RESIZE_ASYMMETRIC) {
		/* TensorFlow's default: x * scale, floored for nearest. */
	} else if (!linear && nm == NN_NEAREST_ROUND_PREFER_CEIL && rc_mode == NN_RESIZE_HALF_PIXEL) {
		r->p.resize.half_pixel_centers = 1;
	} else {
		r->p.resize.coord = rc_mode;
		r->p.resize.nearest = linear ? NN_NEAREST_TF : nm;
	}
	return from_nhwc(c, n, yh, 2, 0);
}

/* Per-channel constants of an NCHW tensor of rank r: shape [C, 1, ...]. */
static int channel_const(ox *c, const char *name, int rank, int C, const float *v)
{
	int sh[NN_MAX_RANK] = { C };
	for (int d = 1; d < rank - 1; d++)
		sh[d] = 1;
	return ox_const_f32(c, name, rank - 1 > 0 ? rank - 1 : 1, sh, v);
}

int ox_map_batchnorm(ox *c, const ox_node *n)
{
	int x = ox_in_tensor(c, n, 0);
	if (x < 0)
		return x;
	if (ox_attr_i(n, "training_mode", 0))
		return ox_map_batchnorm_training(c, n);
	ox_val *sc = const_float(c, n, 1, "scale"), *b = sc ? const_float(c, n, 2, "B") : NULL;
	ox_val *m = b ? const_float(c, n, 3, "mean") : NULL, *v = m ? const_float(c, n, 4, "var") : NULL;
	if (!v)
		return 1;
	int rank = ox_T(c, x)->rank, C = rank > 1 ? ox_T(c, x)->shape[1] : 0;
	if (rank < 2 || sc->n != C || b->n != C || m->n != C || v->n != C)
		return ox_nfail(c, NN_ERR_SHAPE, "parameters for %d channels", C);
	float eps = ox_attr_f(n, "epsilon", 1e-5f);
	float *s = malloc((size_t)C * 2 * sizeof *s);
	if (!s)
		return ox_fail(c, NN_ERR_NOMEM, "out of memory");
	for (int k = 0; k < C; k++) {
		s[k] = sc->f[k] / sqrtf(v->f[k] + eps);
		s[C + k] = b->f[k] - m->f[k] * s[k];
	}
	char nm[512];
	snprintf(nm, sizeof nm, "%s/bn_scale", n->out[0]);
	int ks = channel_const(c, nm, rank, C, s);
	snprintf(nm, sizeof nm, "%s/bn_shift", n->out[0]);
	int kb = ks < 0 ? ks : channel_const(c, nm, rank, C, s + C);
	free(s);
	if (kb < 0)
		return kb;
	nn_tensor *t = ox_T(c, x);
	int shape[NN_MAX_RANK];
	memcpy(shape, t->shape, sizeof shape);
	int t1 = ox_temp(c, n, "/bn_mul", NN_F32, rank, shape);
	int y = t1 < 0 ? t1 : ox_out_tensor(c, n, 0, NN_F32, rank, shape);
	if (y < 0)
		return y;
	int in1[2] = { x, ks }, in2[2] = { t1, kb };
	nn_node *a = ox_emit(c, n, NN_OP_MUL, 2, in1, 1, &t1);
	nn_node *d = a ? ox_emit(c, n, NN_OP_ADD, 2, in2, 1, &y) : NULL;
	if (!d)
		return NN_ERR_NOMEM;
	return 0;
}

static int emit2(ox *c, const ox_node *n, nn_op op, int a, int b, int out, const char *suffix)
{
	if (out < 0) {
		/* b < 0: a unary op (SQRT), whose output has a's shape; there is no tensor b to look at. */
		nn_tensor *ta = ox_T(c, a), *tb = b >= 0 ? ox_T(c, b) : ta;
		nn_tensor *big = ta->rank >= tb->rank && nn_tensor_elements(ta) >= nn_tensor_elements(tb) ? ta : tb;
		int shape[NN_MAX_RANK];
		memcpy(shape, big->shape, sizeof shape);
		if ((out = ox_temp(c, n, suffix, NN_F32, big->rank, shape)) < 0)
			return out;
	}
	int in[2] = { a, b };
	return ox_emit(c, n, op, b >= 0 ? 2 : 1, in, 1, &out) ? out : NN_ERR_NOMEM;
}

int ox_map_instancenorm(ox *c, const ox_node *n)
{
	int x = ox_in_tensor(c, n, 0);
	if (x < 0)
		return x;
	ox_val *sc = const_float(c, n, 1, "scale"), *b = sc ? const_float(c, n, 2, "B") : NULL;
	if (!b)
		return 1;
	int rank = ox_T(c, x)->rank, C = rank > 2 ? ox_T(c, x)->shape[1] : 0;
	if (rank < 3 || sc->n != C || b->n != C)
		return ox_nfail(c, NN_ERR_SHAPE, "parameters for %d channels", C);
	float eps = ox_attr_f(n, "epsilon", 1e-5f);
	int shape[NN_MAX_RANK], mshape[NN_MAX_RANK];
	memcpy(shape, ox_T(c, x)->shape, sizeof shape);
	memcpy(mshape, shape, sizeof mshape);
	for (int d = 2; d < rank; d++)
		mshape[d] = 1;
	int mean = ox_temp(c, n, "/in_mean", NN_F32, rank, mshape);
	if (mean < 0)
		return mean;
	nn_node *m = ox_emit(c, n, NN_OP_MEAN, 1, &x, 1, &mean);
	if (!m)
		return NN_ERR_NOMEM;
	for (int d = 2; d < rank; d++)
		m->p.reduce.axes[m->p.reduce.n_axes++] = d;
	m->p.reduce.keep_dims = 1;
	int dev = emit2(c, n, NN_OP_SUB, x, mean, -1, "/in_dev");
	int sq = dev < 0 ? dev : emit2(c, n, NN_OP_MUL, dev, dev, -1, "/in_sq");
	if (sq < 0)
		return sq;
	int var = ox_temp(c, n, "/in_var", NN_F32, rank, mshape);
	if (var < 0)
		return var;
	nn_node *m2 = ox_emit(c, n, NN_OP_MEAN, 1, &sq, 1, &var);
	if (!m2)
		return NN_ERR_NOMEM;
	m2->p.reduce = c->g->nodes[c->g->n_nodes - 1].p.reduce;
	for (int d = 2, k = 0; d < rank; d++)
		m2->p.reduce.axes[k++] = d;
	m2->p.reduce.n_axes = rank - 2;
	m2->p.reduce.keep_dims = 1;
	int ke = ox_const_f32(c, "in/eps", 0, NULL, &eps);
	int ve = ke < 0 ? ke : emit2(c, n, NN_OP_ADD, var, ke, -1, "/in_var_eps");
	int sd = ve < 0 ? ve : emit2(c, n, NN_OP_SQRT, ve, -1, -1, "/in_sd");
	int nrm = sd < 0 ? sd : emit2(c, n, NN_OP_DIV, dev, sd, -1, "/in_norm");
	if (nrm < 0)
		return nrm;
	char nm[512];
	snprintf(nm, sizeof nm, "%s/in_scale", n->out[0]);
	int ks = channel_const(c, nm, rank, C, sc->f);
	snprintf(nm, sizeof nm, "%s/in_shift", n->out[0]);
	int kb = ks < 0 ? ks : channel_const(c, nm, rank, C, b->f);
	int scaled = kb < 0 ? kb : emit2(c, n, NN_OP_MUL, nrm, ks, -1, "/in_scaled");
	if (scaled < 0)
		return scaled;
	int y = ox_out_tensor(c, n, 0, NN_F32, rank, shape);
	return y < 0 ? y : emit2(c, n, NN_OP_ADD, scaled, kb, y, "") < 0 ? NN_ERR_NOMEM : 0;
}

int ox_map_depth_space(ox *c, const ox_node *n)
{
	int d2s = !strcmp(n->op, "DepthToSpace");
	int x = ox_in_tensor(c, n, 0);
	if (x < 0)
		return x;
	nn_tensor *t = ox_T(c, x);
	if (t->rank != 4)
		return ox_nfail(c, NN_ERR_SHAPE, "input of rank %d", t->rank);
	int64_t b = ox_attr_i(n, "blocksize", 0);
	if (b < 1 || b > 4096)
		return ox_nfail(c, NN_ERR_FORMAT, "blocksize %lld", (long long)b);
	int N = t->shape[0], C = t->shape[1], H = t->shape[2], W = t->shape[3], bs = (int)b;
	if (d2s && C % (bs * bs))
		return ox_nfail(c, NN_ERR_SHAPE, "%d channels do not divide by blocksize^2 %d", C, bs * bs);
	if (!d2s && (H % bs || W % bs))
		return ox_nfail(c, NN_ERR_SHAPE, "%dx%d does not divide by blocksize %d", H, W, bs);
	if (d2s && !strcmp(ox_attr_s(n, "mode", "DCR"), "CRD")) {
		/* CRD: channel c * b * b + by * b + bx; as reshape, transpose, reshape in NCHW. */
		int c2 = C / (bs * bs);
		int s6[6] = { N, c2, bs, bs, H, W };
		int r1 = ox_reshape(c, n, x, 6, s6, -1);
		if (r1 < 0)
			return r1;
		static const int perm[6] = { 0, 1, 4, 2, 5, 3 };
		int tr = ox_transpose(c, n, r1, perm, "/crd");
		if (tr < 0)
			return tr;
		int s4[4] = { N, c2, H * bs, W * bs };
		int y = ox_out_tensor(c, n, 0, ox_T(c, tr)->dtype, 4, s4);
		return y < 0 ? y : ox_reshape(c, n, tr, 4, s4, y) < 0 ? NN_ERR_NOMEM : 0;
	}
	int spatial;
	int xh = to_nhwc(c, n, x, &spatial);
	if (xh < 0)
		return xh;
	int ysh[4] = { N, d2s ? H * bs : H / bs, d2s ? W * bs : W / bs, d2s ? C / (bs * bs) : C * bs * bs };
	int yh = ox_temp(c, n, "/d2s_nhwc", ox_T(c, xh)->dtype, 4, ysh);
	if (yh < 0)
		return yh;
	nn_node *r = ox_emit(c, n, d2s ? NN_OP_DEPTH_TO_SPACE : NN_OP_SPACE_TO_DEPTH, 1, &xh, 1, &yh);
	if (!r)
		return NN_ERR_NOMEM;
	r->p.space.block_size = bs;
	return from_nhwc(c, n, yh, 2, 0);
}

/* FULLY_CONNECTED of x [.., K] with weights [N, K] (row-major, from a value) and an optional bias [N]. */
static int emit_fc(ox *c, const ox_node *n, int x, const float *wt, int N, int K, const float *bias, int out_k)
{
	int ws[2] = { N, K };
	char nm[512];
	snprintf(nm, sizeof nm, "%s/weights", n->out[0]);
	int w = ox_const_f32(c, nm, 2, ws, wt);
	snprintf(nm, sizeof nm, "%s/bias", n->out[0]);
	int bs[1] = { N };
	int b = w < 0 ? w : ox_const_f32(c, nm, 1, bs, bias);
	if (b < 0)
		return b;
	nn_tensor *t = ox_T(c, x);
	int shape[NN_MAX_RANK], rank = t->rank;
	memcpy(shape, t->shape, sizeof shape);
	shape[rank - 1] = N;
	int y = out_k >= 0 ? ox_out_tensor(c, n, out_k, NN_F32, rank, shape) : ox_temp(c, n, "/fc", NN_F32, rank, shape);
	if (y < 0)
		return y;
	int in[3] = { x, w, b };
	nn_node *f = ox_emit(c, n, NN_OP_FULLY_CONNECTED, 3, in, 1, &y);
	if (!f)
		return NN_ERR_NOMEM;
	f->p.fc.act = NN_ACT_NONE;
	f->p.fc.keep_num_dims = rank > 2;
	return y;
}

int ox_map_gemm(ox *c, const ox_node *n)
{
	int a = ox_in_tensor(c, n, 0);
	if (a < 0)
		return a;
	if (ox_T(c, a)->dtype != NN_F32 || ox_T(c, a)->rank != 2)
		return ox_unsupported(c, "A of rank %d, type %s", ox_T(c, a)->rank, nn_dtype_name(ox_T(c, a)->dtype));
	ox_val *bv = const_float(c, n, 1, "B");
	if (!bv)
		return 1;
	if (bv->rank != 2)
		return ox_nfail(c, NN_ERR_SHAPE, "B of rank %d", bv->rank);
	float alpha = ox_attr_f(n, "alpha", 1), beta = ox_attr_f(n, "beta", 1);
	int ta = (int)ox_attr_i(n, "transA", 0), tb = (int)ox_attr_i(n, "transB", 0);
	if (ta) {
		static const int p2[2] = { 1, 0 };
		if ((a = ox_transpose(c, n, a, p2, "/transA")) < 0)
			return a;
	}
	int K = ox_T(c, a)->shape[1], M = ox_T(c, a)->shape[0];
	int64_t N = tb ? bv->dims[0] : bv->dims[1], KB = tb ? bv->dims[1] : bv->dims[0];
	if (KB != K)
		return ox_nfail(c, NN_ERR_SHAPE, "A has %d columns, B %lld rows", K, (long long)KB);
	float *w = malloc((size_t)(N * K + N) * sizeof *w);
	if (!w)
		return ox_fail(c, NN_ERR_NOMEM, "out of memory");
	for (int64_t o = 0; o < N; o++)
		for (int64_t k = 0; k < K; k++)
			w[o * K + k] = alpha * (tb ? bv->f[o * K + k] : bv->f[k * N + o]);
	float *bias = w + N * K;
	memset(bias, 0, (size_t)N * sizeof *bias);
	ox_val *cv = n->n_in > 2 && n->in[2][0] ? ox_in_const(c, n, 2) : NULL;
	int c_as_bias = !cv || (cv->f && (cv->n == N || cv->n == 1) && (cv->rank <= 1 || (cv->rank == 2 && cv->dims[0] == 1)));
	if (cv && c_as_bias)
		for (int64_t o = 0; o < N; o++)
			bias[o] = beta * cv->f[cv->n == 1 ? 0 : o];
	int has_c = n->n_in > 2 && n->in[2][0];
	int y = emit_fc(c, n, a, w, (int)N, K, bias, c_as_bias || !has_c ? 0 : -1);
	free(w);
	if (y < 0)
		return y;
	(void)M;
	if (!c_as_bias || (has_c && !cv)) {
		int ct = ox_in_tensor(c, n, 2);
		if (ct < 0)
			return ct;
		if (beta != 1) {
			int kb = ox_const_f32(c, "gemm/beta", 0, NULL, &beta);
			if (kb < 0 || (ct = emit2(c, n, NN_OP_MUL, ct, kb, -1, "/beta_c")) < 0)
				return kb < 0 ? kb : ct;
		}
		nn_tensor *t = ox_T(c, y);
		int shape[NN_MAX_RANK];
		memcpy(shape, t->shape, sizeof shape);
		int o = ox_out_tensor(c, n, 0, NN_F32, 2, shape);
		if (o < 0 || emit2(c, n, NN_OP_ADD, y, ct, o, "") < 0)
			return o < 0 ? o : NN_ERR_NOMEM;
	}
	return 0;
}

int ox_map_matmul(ox *c, const ox_node *n)
{
	int a = ox_in_tensor(c, n, 0);
	if (a < 0)
		return a;
	if (ox_T(c, a)->dtype != NN_F32)
		return ox_unsupported(c, "A of type %s", nn_dtype_name(ox_T(c, a)->dtype));
	ox_val *bc = ox_in_const(c, n, 1);
	if (!bc || !bc->f || bc->rank != 2 || ox_T(c, a)->rank < 2)
		return ox_map_batch_matmul(c, n); /* onnx_ops_q.c */
	ox_val *bv = const_float(c, n, 1, "B");
	if (!bv)
		return 1;
	if (bv->rank != 2 || ox_T(c, a)->rank < 2)
		return ox_unsupported(c, "MatMul of ranks %d and %d (B must be a constant matrix)", ox_T(c, a)->rank,
				      bv->rank);
	int K = ox_T(c, a)->shape[ox_T(c, a)->rank - 1];
	int64_t N = bv->dims[1];
	if (bv->dims[0] != K)
		return ox_nfail(c, NN_ERR_SHAPE, "A has %d columns, B %lld rows", K, (long long)bv->dims[0]);
	float *w = malloc((size_t)(N * K) * sizeof *w + 1);
	if (!w)
		return ox_fail(c, NN_ERR_NOMEM, "out of memory");
	for (int64_t o = 0; o < N; o++)
		for (int64_t k = 0; k < K; k++)
			w[o * K + k] = bv->f[k * N + o];
	int y = emit_fc(c, n, a, w, (int)N, K, NULL, 0);
	free(w);
	return y < 0 ? y : 0;
}
