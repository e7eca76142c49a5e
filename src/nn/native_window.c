/*
 * Sliding-window kernels over float NHWC images on AVX-512F: depthwise
 * convolution (3x3 and 5x5) and max pooling (3x3 and 5x5), stride 1 and 2.
 *
 * Why not XNNPACK's: its depthwise and pooling kernels gather every output
 * pixel's taps through an indirection buffer of pointers and keep nothing in
 * registers between pixels. On the wide, shallow layers of mobile detectors
 * (256x256 by 16 channels, 128x128 by 18), on 5x5 filters and on pooling
 * they spend most of their time on that bookkeeping: 7 to 17 GFLOP/s on a
 * core that does 150 in a GEMM. Here one output row is one task; for each
 * 16-channel slice of it the whole filter stays in registers (9 or 25
 * vectors) and four neighbouring output pixels are computed together, so
 * neighbouring taps share their loads; the input rows the next output row
 * will need are prefetched. Measured on CenterNet's 26 depthwise layers
 * (vigil bench --profile, with and without --no-native): 4.9 ms against
 * XNNPACK's 8.3; 1.3x to 3.4x on the large layers, within 0.03 ms either
 * way on the small 3x3 ones with hundreds of channels.
 *
 * Rows above and below the image read from a padding row (zeros for the
 * convolution, as XNNPACK pads; -inf for the pool, which pads with nothing);
 * columns beside it are skipped tap by tap on the few pixels whose window
 * crosses the edge.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

#include "nn/native_internal.h"
#include "nn/ref/quant.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define NATIVE_WINDOW 1
#endif

static int reject(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return 0;
}

typedef struct window_op {
	nn_native_op base;
	int ih, iw, c, oh, ow, stride, pad_top, pad_left;
	float lo, hi;             /* the fused activation's clamp */
	const float *x, *w, *b;   /* w: [kh][kw][c], b: [c] (convolution only; b may be NULL) */
	float *y;
	const float *pad_row;     /* iw * c values read for the rows above and below the image */
} window_op;

#ifdef NATIVE_WINDOW

#define TARGET __attribute__((target("avx512f")))
#define INLINE __attribute__((always_inline)) static inline
/* The tap loops must unroll for the filter to stay in registers; -O2 alone does not unroll them. */
#define UNROLL _Pragma("GCC unroll 25")

INLINE TARGET __m512 clamp(__m512 v, __m512 lo, __m512 hi)
{
	return _mm512_min_ps(_mm512_max_ps(v, lo), hi);
}

INLINE TARGET void store(float *p, __mmask16 m, __m512 v)
{
	if (m == 0xffff)
		_mm512_storeu_ps(p, v);
	else
		_mm512_mask_storeu_ps(p, m, v);
}

/* One tap: a multiply-add with its filter vector, or a maximum. */
INLINE TARGET __m512 tap(__m512 acc, __m512 x, __m512 w, const int MAX)
{
	return MAX ? _mm512_max_ps(acc, x) : _mm512_fmadd_ps(x, w, acc);
}

/* Output pixels [from, to) of one row and one channel slice, each tap checked against the image's columns. */
INLINE TARGET void pixels_checked(const window_op *d, const float *const *rows, const __m512 *wv, __m512 init,
				  __mmask16 m, int c0, float *out, int from, int to, const int KH, const int KW,
				  const int S, const int MAX)
{
	const __m512 lo = _mm512_set1_ps(d->lo), hi = _mm512_set1_ps(d->hi);
	for (int ox = from; ox < to; ox++) {
		const int ix0 = ox * S - d->pad_left;
		__m512 acc = init;
		UNROLL for (int ky = 0; ky < KH; ky++)
			UNROLL for (int kx = 0; kx < KW; kx++) {
				int ix = ix0 + kx;
				if (ix >= 0 && ix < d->iw)
					acc = tap(acc, _mm512_maskz_loadu_ps(m, rows[ky] + (size_t)ix * d->c + c0),
						  wv[ky * KW + kx], MAX);
			}
		store(out + (size_t)ox * d->c + c0, m, clamp(acc, lo, hi));
	}
}

/*
 * One output row. KH, KW, S and MAX are constants at each call site below,
 * so the tap loops unroll and the filter lives in registers.
 */
INLINE TARGET void window_row(const window_op *d, size_t row, const int KH, const int KW, const int S,
			      const int MAX)
{
	const int C = d->c, iw = d->iw;
	const size_t image = row / (size_t)d->oh;
	const int oy = (int)(row % (size_t)d->oh);
	const float *x = d->x + image * (size_t)d->ih * iw * C;
	float *out = d->y + row * (size_t)d->ow * C;

	const float *rows[5];
	const int iy0 = oy * S - d->pad_top;
	for (int ky = 0; ky < KH; ky++) {
		int iy = iy0 + ky;
		rows[ky] = iy >= 0 && iy < d->ih ? x + (size_t)iy * iw * C : d->pad_row;
	}
	/*
	 * The S input rows the next output row adds, fetched into the cache
	 * while this row computes: without it the kernel waits on memory for
	 * each new row (images of several megabytes do not stay in the cache).
	 */
	const float *next[2] = { NULL, NULL };
	for (int s = 0; s < S; s++) {
		int iy = iy0 + KH + s;
		next[s] = iy >= 0 && iy < d->ih ? x + (size_t)iy * iw * C : NULL;
	}
	/* Output columns [x_lo, x_hi) have their whole window inside the image. */
	int x_lo = (d->pad_left + S - 1) / S;
	int x_hi = iw + d->pad_left >= KW ? (iw + d->pad_left - KW) / S + 1 : 0;
	if (x_hi > d->ow)
		x_hi = d->ow;
	if (x_lo > x_hi)
		x_lo = x_hi;
	const __m512 lo = _mm512_set1_ps(d->lo), hi = _mm512_set1_ps(d->hi);

	for (int c0 = 0; c0 < C; c0 += 16) {
		const __mmask16 m = C - c0 >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (C - c0)) - 1);
		__m512 wv[25];
		UNROLL for (int k = 0; k < KH * KW; k++)
			wv[k] = MAX ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m, d->w + (size_t)k * C + c0);
		const __m512 init = MAX ? _mm512_set1_ps(-INFINITY)
				  : d->b ? _mm512_maskz_loadu_ps(m, d->b + c0) : _mm512_setzero_ps();
		pixels_checked(d, rows, wv, init, m, c0, out, 0, x_lo, KH, KW, S, MAX);
		int ox = x_lo;
		for (; ox + 4 <= x_hi; ox += 4) {
			const size_t ix0 = (size_t)(ox * S - d->pad_left);
			UNROLL for (int s = 0; s < S; s++)
				if (next[s])
					UNROLL for (int q = 0; q < 4 * S; q++)
						_mm_prefetch((const char *)(next[s] + (ix0 + (size_t)q) * C + c0),
							     _MM_HINT_T0);
			__m512 a0 = init, a1 = init, a2 = init, a3 = init;
			UNROLL for (int ky = 0; ky < KH; ky++) {
				const float *r = rows[ky] + ix0 * C + c0;
				UNROLL for (int kx = 0; kx < KW; kx++) {
					const __m512 wk = wv[ky * KW + kx];
					a0 = tap(a0, _mm512_maskz_loadu_ps(m, r + (size_t)kx * C), wk, MAX);
					a1 = tap(a1, _mm512_maskz_loadu_ps(m, r + (size_t)(kx + S) * C), wk, MAX);
					a2 = tap(a2, _mm512_maskz_loadu_ps(m, r + (size_t)(kx + 2 * S) * C), wk, MAX);
					a3 = tap(a3, _mm512_maskz_loadu_ps(m, r + (size_t)(kx + 3 * S) * C), wk, MAX);
				}
			}
			float *o = out + (size_t)ox * C + c0;
			store(o, m, clamp(a0, lo, hi));
			store(o + C, m, clamp(a1, lo, hi));
			store(o + 2 * C, m, clamp(a2, lo, hi));
			store(o + 3 * C, m, clamp(a3, lo, hi));
		}
		/* The last interior pixels (fewer than four) and the right edge. */
		pixels_checked(d, rows, wv, init, m, c0, out, ox, d->ow, KH, KW, S, MAX);
	}
}

static TARGET void dw3x3s1(void *op, size_t row) { window_row(op, row, 3, 3, 1, 0); }
static TARGET void dw3x3s2(void *op, size_t row) { window_row(op, row, 3, 3, 2, 0); }
static TARGET void dw5x5s1(void *op, size_t row) { window_row(op, row, 5, 5, 1, 0); }
static TARGET void dw5x5s2(void *op, size_t row) { window_row(op, row, 5, 5, 2, 0); }
static TARGET void max3x3s1(void *op, size_t row) { window_row(op, row, 3, 3, 1, 1); }
static TARGET void max3x3s2(void *op, size_t row) { window_row(op, row, 3, 3, 2, 1); }
static TARGET void max5x5s1(void *op, size_t row) { window_row(op, row, 5, 5, 1, 1); }
static TARGET void max5x5s2(void *op, size_t row) { window_row(op, row, 5, 5, 2, 1); }

#endif /* NATIVE_WINDOW */

#ifdef NATIVE_WINDOW
/*
 * What the two constructors share: the window's geometry (a square 3x3 or
 * 5x5 window, stride 1 or 2 on both axes), the fused activation, the output
 * shape, and the allocation with its padding row filled with pad_value.
 */
static int window_create(nn_graph *g, nn_node *n, int k, int kw, int stride_h, int stride_w, nn_padding padding,
			 const int pads[4], nn_activation act, float pad_value, int is_max, nn_native_op **out,
			 char *why, size_t whylen)
{
	const nn_tensor *x = &g->tensors[n->inputs[0]], *y = &g->tensors[n->outputs[0]];
	if (x->dtype != NN_F32 || y->dtype != NN_F32 || x->rank != 4 || y->rank != 4)
		return reject(why, whylen, "not a float32 NHWC image");
	if (!((k == 3 && kw == 3) || (k == 5 && kw == 5)))
		return reject(why, whylen, "%dx%d window (native: 3x3 and 5x5)", k, kw);
	if (stride_h != stride_w || (stride_h != 1 && stride_h != 2))
		return reject(why, whylen, "stride %dx%d (native: 1 or 2 on both axes)", stride_h, stride_w);
	if (act != NN_ACT_NONE && act != NN_ACT_RELU && act != NN_ACT_RELU6 && act != NN_ACT_RELU_N1_TO_1)
		return reject(why, whylen, "fused activation %d", (int)act);
	const int ih = x->shape[1], iw = x->shape[2], c = x->shape[3];
	int oh, ow;
	if (nn_ref_window(padding, ih, k, stride_h, 1, pads[0], pads[1], &oh) ||
	    nn_ref_window(padding, iw, k, stride_w, 1, pads[2], pads[3], &ow))
		return reject(why, whylen, "invalid padding");
	if (x->shape[0] <= 0 || c <= 0 || y->shape[0] != x->shape[0] || y->shape[1] != oh || y->shape[2] != ow ||
	    y->shape[3] != c || !x->data || !y->data)
		return reject(why, whylen, "output shape does not match");

	window_op *d = calloc(1, sizeof *d);
	float *pad_row = malloc((size_t)iw * (size_t)c * sizeof *pad_row);
	if (!d || !pad_row) {
		free(d);
		free(pad_row);
		return NN_ERR_NOMEM;
	}
	for (size_t i = 0; i < (size_t)iw * (size_t)c; i++)
		pad_row[i] = pad_value;
	d->ih = ih, d->iw = iw, d->c = c, d->oh = oh, d->ow = ow, d->stride = stride_h;
	d->pad_top = nn_ref_window_pad(padding, ih, k, stride_h, 1, pads[0], oh);
	d->pad_left = nn_ref_window_pad(padding, iw, k, stride_w, 1, pads[2], ow);
	nn_ref_act_range(act, &d->lo, &d->hi);
	d->x = x->data, d->y = y->data;
	d->pad_row = pad_row;
	d->base.scratch = pad_row;
	d->base.tasks = (size_t)x->shape[0] * (size_t)oh;
	static void (*const kernels[2][2][2])(void *, size_t) = {
		{ { dw3x3s1, dw3x3s2 }, { dw5x5s1, dw5x5s2 } },
		{ { max3x3s1, max3x3s2 }, { max5x5s1, max5x5s2 } },
	};
	d->base.run_task = kernels[is_max][k == 5][stride_h == 2];
	*out = &d->base;
	return 1;
}
#endif

int nn_native_dwconv_create(nn_graph *g, nn_node *n, nn_native_op **out, char *why, size_t whylen)
{
	*out = NULL;
#ifndef NATIVE_WINDOW
	return reject(why, whylen, "built without the AVX-512 kernels");
#else
	const nn_conv_params *p = &n->p.conv;
	if (n->n_inputs < 2 || n->n_outputs != 1 || n->inputs[0] < 0 || n->inputs[1] < 0)
		return reject(why, whylen, "input or filter missing");
	const nn_tensor *x = &g->tensors[n->inputs[0]], *w = &g->tensors[n->inputs[1]];
	const nn_tensor *b = n->n_inputs > 2 && n->inputs[2] >= 0 ? &g->tensors[n->inputs[2]] : NULL;
	if (w->dtype != NN_F32 || (b && b->dtype != NN_F32) || w->rank != 4 || x->rank != 4 || !w->is_const ||
	    (b && !b->is_const))
		return reject(why, whylen, "not a constant float32 filter and bias");
	const int c = x->shape[3];
	if (w->shape[0] != 1 || w->shape[3] != c || (b && nn_tensor_elements(b) != c))
		return reject(why, whylen, "depth multiplier other than 1");
	if (p->dilation_h != 1 || p->dilation_w != 1)
		return reject(why, whylen, "dilation %dx%d", p->dilation_h, p->dilation_w);
	const int pads[4] = { p->pad_top, p->pad_bottom, p->pad_left, p->pad_right };
	int rc = window_create(g, n, w->shape[1], w->shape[2], p->stride_h, p->stride_w, p->padding, pads, p->act, 0.0f,
			       0, out, why, whylen);
	if (rc > 0) {
		window_op *d = (window_op *)*out;
		d->w = w->data;
		d->b = b ? b->data : NULL;
	}
	return rc;
#endif
}

int nn_native_maxpool_create(nn_graph *g, nn_node *n, nn_native_op **out, char *why, size_t whylen)
{
	*out = NULL;
#ifndef NATIVE_WINDOW
	return reject(why, whylen, "built without the AVX-512 kernels");
#else
	const nn_pool_params *p = &n->p.pool;
	if (n->n_inputs < 1 || n->n_outputs != 1 || n->inputs[0] < 0)
		return reject(why, whylen, "input missing");
	const int pads[4] = { p->pad_top, p->pad_bottom, p->pad_left, p->pad_right };
	return window_create(g, n, p->filter_h, p->filter_w, p->stride_h, p->stride_w, p->padding, pads, p->act,
			     -INFINITY, 1, out, why, whylen);
#endif
}
