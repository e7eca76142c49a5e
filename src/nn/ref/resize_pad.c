/*
 * ONNX Resize and ONNX Pad's non-constant modes (see resize_pad.h).
 *
 * Resize works one axis at a time: every output row and column gets its
 * source coordinate (ONNX's coordinate_transformation_mode, computed in float
 * as ONNX Runtime does so that the ties nearest_mode rounds agree), then up
 * to four input taps with their weights. An explicit scale (p.resize.scale_h,
 * scale_w) replaces out / in in the mapping. With tf_crop_and_resize a
 * coordinate outside the input makes the output p.resize.extrapolation.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ref/resize_pad.h"

#define TAPS 4

/* One output coordinate along one axis: its input taps (clamped indices), their weights, and whether it extrapolates. */
typedef struct axis_tap {
	int idx[TAPS];
	float w[TAPS];
	int n;       /* taps used */
	int outside; /* tf_crop_and_resize: the coordinate is outside the input */
} axis_tap;

static float source_coord(const nn_node *n, int o, int in_size, int out_size, float scale, const float roi[2])
{
	float x = (float)o;
	switch (n->p.resize.coord) {
	case NN_RESIZE_HALF_PIXEL:
		return (x + 0.5f) / scale - 0.5f;
	case NN_RESIZE_PYTORCH_HALF_PIXEL:
		return out_size > 1 ? (x + 0.5f) / scale - 0.5f : 0.0f;
	case NN_RESIZE_ALIGN_CORNERS:
		/* ONNX Runtime divides by the output size even with explicit scales (ONNX's reference uses in * scale). */
		return out_size > 1 ? x * (float)(in_size - 1) / (float)(out_size - 1) : 0.0f;
	case NN_RESIZE_TF_HALF_PIXEL_FOR_NN:
		return (x + 0.5f) / scale;
	case NN_RESIZE_TF_CROP_AND_RESIZE:
		return out_size > 1 ? roi[0] * (float)(in_size - 1) +
					      (x * (roi[1] - roi[0]) * (float)(in_size - 1)) / (float)(out_size - 1)
				    : 0.5f * (roi[0] + roi[1]) * (float)(in_size - 1);
	default: /* NN_RESIZE_ASYMMETRIC */
		return x / scale;
	}
}

static int clamp_index(int64_t i, int size)
{
	return i < 0 ? 0 : i > size - 1 ? size - 1 : (int)i;
}

static int nearest_index(nn_resize_nearest mode, float src, int in_size)
{
	float r;
	switch (mode) {
	case NN_NEAREST_FLOOR:
		r = floorf(src);
		break;
	case NN_NEAREST_CEIL:
		r = ceilf(src);
		break;
	case NN_NEAREST_ROUND_PREFER_CEIL:
		r = floorf(src) + (src - floorf(src) >= 0.5f ? 1.0f : 0.0f);
		break;
	default: /* ROUND_PREFER_FLOOR, ONNX's default (also NN_NEAREST_TF with an ONNX coordinate mode) */
		r = floorf(src) + (src - floorf(src) > 0.5f ? 1.0f : 0.0f);
		break;
	}
	if (!(r >= 0.0f))
		return 0;
	return r > (float)(in_size - 1) ? in_size - 1 : (int)r;
}

/* ONNX Runtime's cubic convolution coefficients for the fraction s, taps -1, 0, 1, 2. */
static void cubic_coeffs(float s, float a, float c[TAPS])
{
	float t = fabsf(s);
	c[0] = ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a;
	c[1] = ((a + 2) * t - (a + 3)) * t * t + 1;
	c[2] = ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1;
	c[3] = ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a;
}

static void plan_axis(const nn_node *n, int o, int in_size, int out_size, float explicit_scale, const float roi[2],
		      axis_tap *t)
{
	float scale = explicit_scale > 0 ? explicit_scale : (float)out_size / (float)in_size;
	float src = source_coord(n, o, in_size, out_size, scale, roi);
	memset(t, 0, sizeof *t);
	t->outside = n->p.resize.coord == NN_RESIZE_TF_CROP_AND_RESIZE &&
		     (isnan(src) || src < 0.0f || src > (float)(in_size - 1));
	/* A file's roi or scales can make the coordinate NaN or huge; past four pixels outside, every tap reads the edge
	 * (or is excluded) alike, so clamping there changes no value and keeps the float-to-integer casts defined. */
	if (isnan(src))
		src = 0.0f;
	src = src < -4.0f ? -4.0f : src > (float)in_size + 3.0f ? (float)in_size + 3.0f : src;
	if (n->op == NN_OP_RESIZE_NEAREST) {
		t->n = 1;
		t->idx[0] = nearest_index(n->p.resize.nearest, src, in_size);
		t->w[0] = 1.0f;
		return;
	}
	if (n->op == NN_OP_RESIZE_BILINEAR) {
		/* Clamped into the input; one half each when both neighbours are the last pixel. */
		float x = src < 0.0f ? 0.0f : src > (float)(in_size - 1) ? (float)(in_size - 1) : src;
		int lo = clamp_index((int64_t)x, in_size), hi = lo + 1 < in_size ? lo + 1 : in_size - 1;
		t->n = 2;
		t->idx[0] = lo;
		t->idx[1] = hi;
		if (hi == lo) {
			t->w[0] = t->w[1] = 0.5f;
		} else {
			t->w[0] = fabsf(x - (float)hi);
			t->w[1] = fabsf(x - (float)lo);
		}
		return;
	}
	/* Cubic: taps floor(src) - 1 .. floor(src) + 2, read clamped to the edge; exclude_outside drops (and renormalises) the others. */
	float fl = floorf(src);
	int64_t base = (int64_t)fl;
	float c[TAPS], sum = 0.0f;
	cubic_coeffs(src - fl, n->p.resize.cubic_a, c);
	for (int k = 0; k < TAPS; k++) {
		int64_t i = base - 1 + k;
		if (n->p.resize.exclude_outside && (i < 0 || i >= in_size))
			c[k] = 0.0f;
		sum += c[k];
		t->idx[k] = clamp_index(i, in_size);
	}
	t->n = TAPS;
	for (int k = 0; k < TAPS; k++)
		t->w[k] = sum != 0.0f ? c[k] / sum : 0.0f;
}

int nn_ref_resize_onnx(const nn_node *n, const nn_tensor *in, nn_tensor *out, char *err, size_t errlen)
{
	int batch = in->shape[0], in_h = in->shape[1], in_w = in->shape[2], channels = in->shape[3];
	int out_h = out->shape[1], out_w = out->shape[2];
	axis_tap *ty = malloc(((size_t)out_h + (size_t)out_w + 1) * sizeof *ty);
	size_t o_i = 0;
	if (!ty)
		return nn_ref_fail(err, errlen, n, NN_ERR_NOMEM, "out of memory for the sampling plan");
	axis_tap *tx = ty + out_h;
	for (int y = 0; y < out_h; y++)
		plan_axis(n, y, in_h, out_h, n->p.resize.scale_h, n->p.resize.roi_h, &ty[y]);
	for (int x = 0; x < out_w; x++)
		plan_axis(n, x, in_w, out_w, n->p.resize.scale_w, n->p.resize.roi_w, &tx[x]);
	int same = nn_ref_same_encoding(in, out);
	size_t esize = nn_dtype_size(in->dtype);
#define IN_AT(bb, yy, xx, cc) ((((size_t)(bb) * in_h + (yy)) * in_w + (xx)) * channels + (cc))
	for (int b = 0; b < batch; b++)
		for (int y = 0; y < out_h; y++) {
			const axis_tap *a = &ty[y];
			for (int x = 0; x < out_w; x++) {
				const axis_tap *e = &tx[x];
				if (a->outside || e->outside) {
					for (int c = 0; c < channels; c++, o_i++)
						nn_ref_write(out, o_i, n->p.resize.extrapolation);
					continue;
				}
				if (n->op == NN_OP_RESIZE_NEAREST && same) {
					memcpy((char *)out->data + o_i * esize,
					       (const char *)in->data + IN_AT(b, a->idx[0], e->idx[0], 0) * esize,
					       (size_t)channels * esize);
					o_i += (size_t)channels;
					continue;
				}
				for (int c = 0; c < channels; c++, o_i++) {
					/* Along x within each row, then the rows along y: ONNX Runtime's order for cubic. */
					float v = 0.0f;
					for (int i = 0; i < a->n; i++) {
						float row = 0.0f;
						for (int j = 0; j < e->n; j++)
							row += e->w[j] * nn_ref_read(in, IN_AT(b, a->idx[i], e->idx[j], c));
						v += a->w[i] * row;
					}
					nn_ref_write(out, o_i, v);
				}
			}
		}
#undef IN_AT
	free(ty);
	return NN_OK;
}

/* Where output coordinate o of a padded axis reads: mirrored without repeating the edge, or clamped to it. */
static int pad_source(nn_pad_mode mode, int64_t o, int before, int size)
{
	int64_t i = o - before;
	if (mode == NN_PAD_EDGE || size == 1)
		return clamp_index(i, size);
	int64_t period = 2 * ((int64_t)size - 1);
	i %= period;
	if (i < 0)
		i += period;
	return (int)(i < size ? i : period - i);
}

void nn_ref_pad_from_input(const nn_node *n, const nn_tensor *in, nn_tensor *out)
{
	int rank = out->rank;
	size_t count = (size_t)nn_ref_elements(out);
	if (nn_ref_elements(in) <= 0)
		return;
	size_t in_stride[NN_MAX_RANK];
	if (rank > 0)
		in_stride[rank - 1] = 1;
	for (int d = rank - 2; d >= 0; d--)
		in_stride[d] = in_stride[d + 1] * (size_t)in->shape[d + 1];
	int same = nn_ref_same_encoding(in, out);
	size_t esize = nn_dtype_size(in->dtype);
	int64_t index[NN_MAX_RANK] = { 0 };
	for (size_t o = 0; o < count; o++) {
		size_t si = 0;
		for (int d = 0; d < rank; d++)
			si += (size_t)pad_source(n->p.pad.mode, index[d], n->p.pad.pads[d][0], in->shape[d]) * in_stride[d];
		if (same)
			memcpy((char *)out->data + o * esize, (const char *)in->data + si * esize, esize);
		else
			nn_ref_write(out, o, nn_ref_read(in, si));
		for (int d = rank - 1; d >= 0; d--) {
			if (++index[d] < out->shape[d])
				break;
			index[d] = 0;
		}
	}
}
