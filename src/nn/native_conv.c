/*
 * Float dense convolution on AVX-512F (any filter size, stride 1 or 2, no
 * groups, no dilation): the 3x3 convolutions that make up most of NanoDet
 * and of the detection heads of other models, and the 1x1 convolutions over
 * many channels of MobileNet-style backbones.
 *
 * Why not XNNPACK's: its AVX-512 GEMM kernel computes 7 pixels by 16
 * channels, so every filter value it loads feeds 7 multiply-adds, and on
 * this machine it reaches about 150 GFLOP/s of the core's 227. Here the
 * register tile is 8 output pixels (neighbours along a row) by 32 output
 * channels: 16 accumulators, each filter pair loaded once for 16
 * multiply-adds, each input value broadcast once for 2. Measured on NanoDet's
 * 3x3 layers alone: 205 to 215 GFLOP/s, 1.3x to 1.4x XNNPACK; inside the
 * model, 1.1x to 1.3x (vigil bench --profile, with and without --no-native).
 *
 * The filter is packed at load time into panels of 32 output channels:
 * [ky][kx][input channel][32], then the 32 biases. A padded convolution
 * first copies its input into a buffer with zero borders (a small fraction
 * of the work), so the kernel never checks an edge. Tiles run on across the
 * ends of rows (each pixel has its own input pointer), so no tile is short
 * but the very last.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/native_internal.h"
#include "nn/ref/quant.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define NATIVE_CONV 1
#endif

enum { PANEL = 32, TILE = 8, TILES_PER_TASK = 8 };

typedef struct conv_op {
	nn_native_op base;
	int batch, ih, iw, ci, oh, ow, co, kh, kw, stride, pad_top, pad_left;
	int ph, pw;               /* the image the kernel reads: padded copy or input */
	float lo, hi;             /* the fused activation's clamp */
	const float *x;
	float *y;
	float *padded;            /* batch * ph * pw * ci with zero borders, or NULL when unpadded */
	const float *packed;      /* per panel: kh * kw * ci * 32 weights, then 32 biases */
	int panels;
} conv_op;

static int reject(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return 0;
}

/* Copies input row `task` (over the whole batch) inside the zero borders of the padded image. */
static void copy_row(void *op, size_t task)
{
	const conv_op *d = op;
	size_t image = task / (size_t)d->ih, iy = task % (size_t)d->ih;
	const float *src = d->x + task * (size_t)d->iw * d->ci;
	float *dst = d->padded + ((image * d->ph + iy + d->pad_top) * d->pw + d->pad_left) * d->ci;
	memcpy(dst, src, (size_t)d->iw * d->ci * sizeof *src);
}

#ifdef NATIVE_CONV

#define TARGET __attribute__((target("avx512f")))
#define INLINE __attribute__((always_inline)) static inline
#define UNROLL _Pragma("GCC unroll 8")

/*
 * One tile: TILE output pixels, whose top-left taps are at px[j], by NV
 * vectors of 16 output channels from panel b. Only the first `count` pixels
 * are stored; the last tile of an image may be short, and its other
 * pointers repeat pixel 0. The last vector's lanes beyond the output
 * channels are masked by m.
 */
INLINE TARGET void conv_tile(const conv_op *d, const float *const *px, int count, const float *b, float *out,
			     __mmask16 m, const int NV)
{
	const int ci = d->ci;
	const size_t row = (size_t)d->pw * ci;
	const float *bias = b + (size_t)d->kh * d->kw * ci * PANEL;
	__m512 c0[TILE], c1[TILE];
	UNROLL for (int j = 0; j < TILE; j++) {
		c0[j] = _mm512_load_ps(bias);
		c1[j] = _mm512_load_ps(bias + 16);
	}
	for (int ky = 0; ky < d->kh; ky++)
		for (int kx = 0; kx < d->kw; kx++) {
			const size_t tap = ky * row + (size_t)kx * ci;
			const float *a0 = px[0] + tap, *a1 = px[1] + tap, *a2 = px[2] + tap, *a3 = px[3] + tap;
			const float *a4 = px[4] + tap, *a5 = px[5] + tap, *a6 = px[6] + tap, *a7 = px[7] + tap;
			for (int c = 0; c < ci; c++, b += PANEL) {
				const __m512 b0 = _mm512_load_ps(b);
				const __m512 b1 = NV == 2 ? _mm512_load_ps(b + 16) : b0;
#define CONV_TAP(j)                                                          \
	do {                                                                 \
		const __m512 av = _mm512_set1_ps(a##j[c]);                   \
		c0[j] = _mm512_fmadd_ps(av, b0, c0[j]);                      \
		if (NV == 2)                                                 \
			c1[j] = _mm512_fmadd_ps(av, b1, c1[j]);              \
	} while (0)
				CONV_TAP(0);
				CONV_TAP(1);
				CONV_TAP(2);
				CONV_TAP(3);
				CONV_TAP(4);
				CONV_TAP(5);
				CONV_TAP(6);
				CONV_TAP(7);
#undef CONV_TAP
			}
		}
	const __m512 lo = _mm512_set1_ps(d->lo), hi = _mm512_set1_ps(d->hi);
	UNROLL for (int j = 0; j < TILE; j++) {
		if (j >= count)
			break;
		float *o = out + (size_t)j * d->co;
		if (NV == 2) {
			_mm512_storeu_ps(o, _mm512_min_ps(_mm512_max_ps(c0[j], lo), hi));
			_mm512_mask_storeu_ps(o + 16, m, _mm512_min_ps(_mm512_max_ps(c1[j], lo), hi));
		} else {
			_mm512_mask_storeu_ps(o, m, _mm512_min_ps(_mm512_max_ps(c0[j], lo), hi));
		}
	}
}

/*
 * One task: TILES_PER_TASK tiles of output pixels, counted across rows and
 * images (so a row's width need not be a multiple of the tile), every panel.
 */
static TARGET void conv_task(void *op, size_t task)
{
	const conv_op *d = op;
	const size_t pixels = (size_t)d->batch * d->oh * d->ow;
	const size_t first = task * TILES_PER_TASK * TILE;
	const float *src = d->padded ? d->padded : d->x;
	const size_t image_floats = (size_t)d->ph * d->pw * d->ci;
	const size_t panel_floats = ((size_t)d->kh * d->kw * d->ci + 1) * PANEL;
	const float *px[TILES_PER_TASK][TILE];
	int count[TILES_PER_TASK];
	int tiles = 0;
	for (; tiles < TILES_PER_TASK && first + (size_t)tiles * TILE < pixels; tiles++) {
		size_t p0 = first + (size_t)tiles * TILE;
		count[tiles] = pixels - p0 < TILE ? (int)(pixels - p0) : TILE;
		for (int j = 0; j < TILE; j++) {
			size_t pix = p0 + (size_t)(j < count[tiles] ? j : 0);
			size_t image = pix / ((size_t)d->oh * d->ow), rest = pix % ((size_t)d->oh * d->ow);
			size_t oy = rest / (size_t)d->ow, ox = rest % (size_t)d->ow;
			px[tiles][j] = src + image * image_floats +
				       (oy * d->stride * (size_t)d->pw + ox * d->stride) * (size_t)d->ci;
		}
	}
	for (int p = 0; p < d->panels; p++) {
		const int left = d->co - p * PANEL;
		const float *b = d->packed + (size_t)p * panel_floats;
		for (int t = 0; t < tiles; t++) {
			float *o = d->y + (first + (size_t)t * TILE) * d->co + (size_t)p * PANEL;
			if (left > 16)
				conv_tile(d, px[t], count[t], b, o,
					  left >= PANEL ? (__mmask16)0xffff : (__mmask16)((1u << (left - 16)) - 1), 2);
			else
				conv_tile(d, px[t], count[t], b, o,
					  left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1), 1);
		}
	}
}

#endif /* NATIVE_CONV */

int nn_native_conv_create(nn_graph *g, nn_node *n, nn_native_op **out, char *why, size_t whylen)
{
	*out = NULL;
#ifndef NATIVE_CONV
	return reject(why, whylen, "built without the AVX-512 kernels");
#else
	const nn_conv_params *p = &n->p.conv;
	if (n->n_inputs < 2 || n->n_outputs != 1 || n->inputs[0] < 0 || n->inputs[1] < 0)
		return reject(why, whylen, "input or filter missing");
	const nn_tensor *x = &g->tensors[n->inputs[0]], *w = &g->tensors[n->inputs[1]];
	const nn_tensor *b = n->n_inputs > 2 && n->inputs[2] >= 0 ? &g->tensors[n->inputs[2]] : NULL;
	const nn_tensor *y = &g->tensors[n->outputs[0]];
	if (x->dtype != NN_F32 || w->dtype != NN_F32 || y->dtype != NN_F32 || (b && b->dtype != NN_F32) ||
	    x->rank != 4 || w->rank != 4 || y->rank != 4 || !w->is_const || (b && !b->is_const))
		return reject(why, whylen, "not float32 NHWC with a constant filter and bias");
	const int ci = x->shape[3], co = w->shape[0], kh = w->shape[1], kw = w->shape[2];
	if (ci < 1 || w->shape[3] != ci)
		return reject(why, whylen, "grouped convolution");
	/*
	 * Where XNNPACK is as fast or faster (measured on CenterNet's and
	 * NanoDet's layers): 16 output channels or fewer (half the tile is
	 * idle: 0.73x to 0.87x), fewer than 64 multiply-adds per output (the
	 * tile's accumulators are loaded and stored for too little work: 0.63x
	 * to 0.9x on 1x1 filters over 16 to 32 channels), and images of a few
	 * pixels (the squeeze-and-excitation layers: 0.5x to 0.9x).
	 */
	if (co <= 16)
		return reject(why, whylen, "%d output channels (native: more than 16)", co);
	if ((int64_t)kh * kw * ci < 64)
		return reject(why, whylen, "%d multiply-adds per output (native: 64 or more)", kh * kw * ci);
	if ((int64_t)x->shape[0] * x->shape[1] * x->shape[2] < 64)
		return reject(why, whylen, "an image of %d pixels (native: 64 or more)", x->shape[1] * x->shape[2]);
	if (kh < 1 || kw < 1 || kh > 16 || kw > 16)
		return reject(why, whylen, "%dx%d filter (native: up to 16x16)", kh, kw);
	if (p->stride_h != p->stride_w || (p->stride_h != 1 && p->stride_h != 2) || p->dilation_h != 1 ||
	    p->dilation_w != 1)
		return reject(why, whylen, "stride %dx%d, dilation %dx%d (native: stride 1 or 2, no dilation)",
			      p->stride_h, p->stride_w, p->dilation_h, p->dilation_w);
	if (p->act != NN_ACT_NONE && p->act != NN_ACT_RELU && p->act != NN_ACT_RELU6 && p->act != NN_ACT_RELU_N1_TO_1)
		return reject(why, whylen, "fused activation %d", (int)p->act);
	int oh, ow;
	if (nn_ref_window(p->padding, x->shape[1], kh, p->stride_h, 1, p->pad_top, p->pad_bottom, &oh) ||
	    nn_ref_window(p->padding, x->shape[2], kw, p->stride_w, 1, p->pad_left, p->pad_right, &ow))
		return reject(why, whylen, "invalid padding");
	if (co < 1 || (b && nn_tensor_elements(b) != co) || x->shape[0] <= 0 || y->shape[0] != x->shape[0] ||
	    y->shape[1] != oh || y->shape[2] != ow || y->shape[3] != co || !x->data || !y->data)
		return reject(why, whylen, "output shape does not match");

	conv_op *d = calloc(1, sizeof *d);
	if (!d)
		return NN_ERR_NOMEM;
	const int s = p->stride_h, batch = x->shape[0];
	d->ih = x->shape[1], d->iw = x->shape[2], d->ci = ci, d->oh = oh, d->ow = ow, d->co = co;
	d->kh = kh, d->kw = kw, d->stride = s;
	d->pad_top = nn_ref_window_pad(p->padding, d->ih, kh, s, 1, p->pad_top, oh);
	d->pad_left = nn_ref_window_pad(p->padding, d->iw, kw, s, 1, p->pad_left, ow);
	/* The rows and columns the windows read; the padded image holds them and the whole input. */
	const int need_h = (oh - 1) * s + kh, need_w = (ow - 1) * s + kw;
	const int needs_padding = d->pad_top || d->pad_left || need_h > d->ih || need_w > d->iw;
	d->ph = !needs_padding ? d->ih : need_h > d->pad_top + d->ih ? need_h : d->pad_top + d->ih;
	d->pw = !needs_padding ? d->iw : need_w > d->pad_left + d->iw ? need_w : d->pad_left + d->iw;
	nn_ref_act_range(p->act, &d->lo, &d->hi);
	d->x = x->data, d->y = y->data;

	/* The packed filter, 64-byte aligned for aligned loads; zeros beyond the output channels. */
	d->panels = (co + PANEL - 1) / PANEL;
	const size_t taps = (size_t)kh * kw * ci, panel_floats = (taps + 1) * PANEL;
	const size_t bytes = (size_t)d->panels * panel_floats * sizeof(float);
	float *packed = aligned_alloc(64, bytes);
	if (!packed) {
		free(d);
		return NN_ERR_NOMEM;
	}
	memset(packed, 0, bytes);
	const float *wf = w->data, *bf = b ? b->data : NULL;
	for (int o = 0; o < co; o++) {
		float *panel = packed + (size_t)(o / PANEL) * panel_floats;
		for (size_t t = 0; t < taps; t++)
			panel[t * PANEL + o % PANEL] = wf[(size_t)o * taps + t];
		panel[taps * PANEL + o % PANEL] = bf ? bf[o] : 0.0f;
	}
	d->packed = packed;
	d->base.scratch = packed;
	if (needs_padding) {
		d->padded = calloc((size_t)batch * d->ph * d->pw * ci, sizeof *d->padded);
		if (!d->padded) {
			free(packed);
			free(d);
			return NN_ERR_NOMEM;
		}
		d->base.scratch2 = d->padded;
		d->base.prepare_task = copy_row;
		d->base.prepare_tasks = (size_t)batch * d->ih;
	}
	d->batch = batch;
	const size_t tiles = ((size_t)batch * oh * ow + TILE - 1) / TILE;
	d->base.tasks = (tiles + TILES_PER_TASK - 1) / TILES_PER_TASK;
	d->base.run_task = conv_task;
	*out = &d->base;
	return 1;
#endif
}
