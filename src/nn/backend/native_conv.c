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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/backend/native_internal.h"
#include "nn/backend/native_simd.h"

#ifdef NN_NATIVE_SIMD

enum { PANEL = 32, TILE = 8, TILES_PER_TASK = 8 };

typedef struct conv_op {
	nn_native_op base;
	nn_native_window geo;
	int ph, pw;               /* the image the kernel reads: padded copy or input */
	float *padded;            /* batch * ph * pw * ci with zero borders, or NULL when unpadded */
	const float *packed;      /* per panel: kh * kw * ci * 32 weights, then 32 biases */
	int panels;
} conv_op;

/* Copies input row `task` (over the whole batch) inside the zero borders of the padded image. */
static void copy_row(void *op, size_t task)
{
	const conv_op *d = op;
	size_t image = task / (size_t)d->geo.ih, iy = task % (size_t)d->geo.ih;
	const float *src = d->geo.x + task * (size_t)d->geo.iw * d->geo.ci;
	float *dst = d->padded + ((image * d->ph + iy + d->geo.pad_top) * d->pw + d->geo.pad_left) * d->geo.ci;
	memcpy(dst, src, (size_t)d->geo.iw * d->geo.ci * sizeof *src);
}

#define UNROLL _Pragma("GCC unroll 8")

/*
 * One tile: TILE output pixels, whose top-left taps are at px[j], by NV
 * vectors of 16 output channels from panel b. Only the first `count` pixels
 * are stored: the very last tile may be short, and its other pointers
 * repeat pixel 0. The last vector's lanes beyond the output
 * channels are masked by m.
 */
INLINE TARGET void conv_tile(const conv_op *d, const float *const *px, int count, const float *b, float *out,
			     __mmask16 m, const int NV)
{
	const int ci = d->geo.ci;
	const size_t row = (size_t)d->pw * ci;
	const float *bias = b + (size_t)d->geo.kh * d->geo.kw * ci * PANEL;
	__m512 c0[TILE], c1[TILE];
	UNROLL for (int j = 0; j < TILE; j++) {
		c0[j] = _mm512_load_ps(bias);
		c1[j] = _mm512_load_ps(bias + 16);
	}
	for (int ky = 0; ky < d->geo.kh; ky++)
		for (int kx = 0; kx < d->geo.kw; kx++) {
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
	const __m512 lo = _mm512_set1_ps(d->geo.lo), hi = _mm512_set1_ps(d->geo.hi);
	UNROLL for (int j = 0; j < TILE; j++) {
		if (j >= count)
			break;
		float *o = out + (size_t)j * d->geo.co;
		if (NV == 2) {
			_mm512_storeu_ps(o, nn_simd_act(c0[j], lo, hi, d->geo.silu));
			_mm512_mask_storeu_ps(o + 16, m, nn_simd_act(c1[j], lo, hi, d->geo.silu));
		} else {
			_mm512_mask_storeu_ps(o, m, nn_simd_act(c0[j], lo, hi, d->geo.silu));
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
	const size_t pixels = (size_t)d->geo.batch * d->geo.oh * d->geo.ow;
	const size_t first = task * TILES_PER_TASK * TILE;
	const float *src = d->padded ? d->padded : d->geo.x;
	const size_t image_floats = (size_t)d->ph * d->pw * d->geo.ci;
	const size_t panel_floats = ((size_t)d->geo.kh * d->geo.kw * d->geo.ci + 1) * PANEL;
	const float *px[TILES_PER_TASK][TILE];
	int count[TILES_PER_TASK];
	int tiles = 0;
	for (; tiles < TILES_PER_TASK && first + (size_t)tiles * TILE < pixels; tiles++) {
		size_t p0 = first + (size_t)tiles * TILE;
		count[tiles] = pixels - p0 < TILE ? (int)(pixels - p0) : TILE;
		for (int j = 0; j < TILE; j++) {
			size_t pix = p0 + (size_t)(j < count[tiles] ? j : 0);
			size_t image = pix / ((size_t)d->geo.oh * d->geo.ow), rest = pix % ((size_t)d->geo.oh * d->geo.ow);
			size_t oy = rest / (size_t)d->geo.ow, ox = rest % (size_t)d->geo.ow;
			px[tiles][j] = src + image * image_floats +
				       (oy * d->geo.stride * (size_t)d->pw + ox * d->geo.stride) * (size_t)d->geo.ci;
		}
	}
	for (int p = 0; p < d->panels; p++) {
		const int left = d->geo.co - p * PANEL;
		const float *b = d->packed + (size_t)p * panel_floats;
		for (int t = 0; t < tiles; t++) {
			float *o = d->geo.y + (first + (size_t)t * TILE) * d->geo.co + (size_t)p * PANEL;
			if (left > 16)
				conv_tile(d, px[t], count[t], b, o, nn_simd_lanes(left - 16), 2);
			else
				conv_tile(d, px[t], count[t], b, o, nn_simd_lanes(left), 1);
		}
	}
}

int nn_native_conv_create(nn_graph *g, nn_node *n, nn_native_op **out, char *why, size_t whylen)
{
	nn_native_window geo;
	const nn_tensor *w, *b;
	*out = NULL;
	if (!nn_native_conv_window(g, n, &geo, &w, &b, why, whylen))
		return 0;
	/*
	 * Where XNNPACK is as fast or faster (measured on CenterNet's and
	 * NanoDet's layers): 16 output channels or fewer (half the tile is
	 * idle: 0.73x to 0.87x), fewer than 64 multiply-adds per output (the
	 * tile's accumulators are loaded and stored for too little work: 0.63x
	 * to 0.9x on 1x1 filters over 16 to 32 channels), and images of a few
	 * pixels (the squeeze-and-excitation layers: 0.5x to 0.9x).
	 */
	if (geo.co <= 16)
		return nn_native_reject(why, whylen, "%d output channels (native: more than 16)", geo.co);
	if ((int64_t)geo.kh * geo.kw * geo.ci < 64)
		return nn_native_reject(why, whylen, "%d multiply-adds per output (native: 64 or more)",
					geo.kh * geo.kw * geo.ci);
	if ((int64_t)geo.batch * geo.ih * geo.iw < 64)
		return nn_native_reject(why, whylen, "an image of %d pixels (native: 64 or more)", geo.ih * geo.iw);
	if (geo.kh > 16 || geo.kw > 16)
		return nn_native_reject(why, whylen, "%dx%d filter (native: up to 16x16)", geo.kh, geo.kw);

	conv_op *d = calloc(1, sizeof *d);
	if (!d)
		return NN_ERR_NOMEM;
	d->geo = geo;
	/* The rows and columns the windows read; the padded image holds them and the whole input. */
	const int s = geo.stride;
	const int need_h = (geo.oh - 1) * s + geo.kh, need_w = (geo.ow - 1) * s + geo.kw;
	const int needs_padding = geo.pad_top || geo.pad_left || need_h > geo.ih || need_w > geo.iw;
	d->ph = !needs_padding ? geo.ih : need_h > geo.pad_top + geo.ih ? need_h : geo.pad_top + geo.ih;
	d->pw = !needs_padding ? geo.iw : need_w > geo.pad_left + geo.iw ? need_w : geo.pad_left + geo.iw;

	/* The packed filter, 64-byte aligned for aligned loads; zeros beyond the output channels. */
	d->panels = (geo.co + PANEL - 1) / PANEL;
	const size_t taps = (size_t)geo.kh * geo.kw * geo.ci, panel_floats = (taps + 1) * PANEL;
	const size_t bytes = (size_t)d->panels * panel_floats * sizeof(float);
	float *packed = aligned_alloc(64, bytes);
	if (!packed) {
		free(d);
		return NN_ERR_NOMEM;
	}
	memset(packed, 0, bytes);
	const float *wf = w->data, *bf = b ? b->data : NULL;
	for (int o = 0; o < geo.co; o++) {
		float *panel = packed + (size_t)(o / PANEL) * panel_floats;
		for (size_t t = 0; t < taps; t++)
			panel[t * PANEL + o % PANEL] = wf[(size_t)o * taps + t];
		panel[taps * PANEL + o % PANEL] = bf ? bf[o] : 0.0f;
	}
	d->packed = packed;
	d->base.scratch = packed;
	if (needs_padding) {
		d->padded = calloc((size_t)geo.batch * d->ph * d->pw * geo.ci, sizeof *d->padded);
		if (!d->padded) {
			free(packed);
			free(d);
			return NN_ERR_NOMEM;
		}
		d->base.scratch2 = d->padded;
		d->base.prepare_task = copy_row;
		d->base.prepare_tasks = (size_t)geo.batch * geo.ih;
	}
	const size_t tiles = ((size_t)geo.batch * geo.oh * geo.ow + TILE - 1) / TILE;
	d->base.tasks = (tiles + TILES_PER_TASK - 1) / TILES_PER_TASK;
	d->base.run_task = conv_task;
	*out = &d->base;
	return 1;
}

#endif /* NN_NATIVE_SIMD */
