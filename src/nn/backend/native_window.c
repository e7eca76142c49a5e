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
#include <stdlib.h>

#include "nn/backend/native_internal.h"
#include "nn/backend/native_simd.h"

#ifdef NN_NATIVE_SIMD

typedef struct window_op {
	nn_native_op base;
	nn_native_window geo;     /* ci == co: a channel is its own output */
	const float *w, *b;       /* w: [kh][kw][ci], b: [ci] (convolution only; b may be NULL) */
	const float *pad_row;     /* iw * ci values read for the rows above and below the image */
} window_op;

/* The tap loops must unroll for the filter to stay in registers; -O2 alone does not unroll them. */
#define UNROLL _Pragma("GCC unroll 25")

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
	const __m512 lo = _mm512_set1_ps(d->geo.lo), hi = _mm512_set1_ps(d->geo.hi);
	for (int ox = from; ox < to; ox++) {
		const int ix0 = ox * S - d->geo.pad_left;
		__m512 acc = init;
		UNROLL for (int ky = 0; ky < KH; ky++)
			UNROLL for (int kx = 0; kx < KW; kx++) {
				int ix = ix0 + kx;
				if (ix >= 0 && ix < d->geo.iw)
					acc = tap(acc, _mm512_maskz_loadu_ps(m, rows[ky] + (size_t)ix * d->geo.ci + c0),
						  wv[ky * KW + kx], MAX);
			}
		nn_simd_store(out + (size_t)ox * d->geo.ci + c0, m, nn_simd_act(acc, lo, hi, d->geo.silu));
	}
}

/*
 * One output row. KH, KW, S and MAX are constants at each call site below,
 * so the tap loops unroll and the filter lives in registers.
 */
INLINE TARGET void window_row(const window_op *d, size_t row, const int KH, const int KW, const int S,
			      const int MAX)
{
	const int C = d->geo.ci, iw = d->geo.iw;
	const size_t image = row / (size_t)d->geo.oh;
	const int oy = (int)(row % (size_t)d->geo.oh);
	const float *x = d->geo.x + image * (size_t)d->geo.ih * iw * C;
	float *out = d->geo.y + row * (size_t)d->geo.ow * C;

	const float *rows[5];
	const int iy0 = oy * S - d->geo.pad_top;
	for (int ky = 0; ky < KH; ky++) {
		int iy = iy0 + ky;
		rows[ky] = iy >= 0 && iy < d->geo.ih ? x + (size_t)iy * iw * C : d->pad_row;
	}
	/*
	 * The S input rows the next output row adds, fetched into the cache
	 * while this row computes: without it the kernel waits on memory for
	 * each new row (images of several megabytes do not stay in the cache).
	 */
	const float *next[2] = { NULL, NULL };
	for (int s = 0; s < S; s++) {
		int iy = iy0 + KH + s;
		next[s] = iy >= 0 && iy < d->geo.ih ? x + (size_t)iy * iw * C : NULL;
	}
	/* Output columns [x_lo, x_hi) have their whole window inside the image. */
	int x_lo = (d->geo.pad_left + S - 1) / S;
	int x_hi = iw + d->geo.pad_left >= KW ? (iw + d->geo.pad_left - KW) / S + 1 : 0;
	if (x_hi > d->geo.ow)
		x_hi = d->geo.ow;
	if (x_lo > x_hi)
		x_lo = x_hi;
	const __m512 lo = _mm512_set1_ps(d->geo.lo), hi = _mm512_set1_ps(d->geo.hi);

	for (int c0 = 0; c0 < C; c0 += 16) {
		const __mmask16 m = nn_simd_lanes(C - c0);
		__m512 wv[25];
		UNROLL for (int k = 0; k < KH * KW; k++)
			wv[k] = MAX ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m, d->w + (size_t)k * C + c0);
		const __m512 init = MAX ? _mm512_set1_ps(-INFINITY)
				  : d->b ? _mm512_maskz_loadu_ps(m, d->b + c0) : _mm512_setzero_ps();
		pixels_checked(d, rows, wv, init, m, c0, out, 0, x_lo, KH, KW, S, MAX);
		int ox = x_lo;
		for (; ox + 4 <= x_hi; ox += 4) {
			const size_t ix0 = (size_t)(ox * S - d->geo.pad_left);
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
			nn_simd_store(o, m, nn_simd_act(a0, lo, hi, d->geo.silu));
			nn_simd_store(o + C, m, nn_simd_act(a1, lo, hi, d->geo.silu));
			nn_simd_store(o + 2 * C, m, nn_simd_act(a2, lo, hi, d->geo.silu));
			nn_simd_store(o + 3 * C, m, nn_simd_act(a3, lo, hi, d->geo.silu));
		}
		/* The last interior pixels (fewer than four) and the right edge. */
		pixels_checked(d, rows, wv, init, m, c0, out, ox, d->geo.ow, KH, KW, S, MAX);
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

/* What the two constructors share: the allocation, the padding row filled with pad_value, the kernel. */
static int window_create(const nn_native_window *geo, const float *w, const float *b, float pad_value, int is_max,
			 nn_native_op **out, char *why, size_t whylen)
{
	if (!((geo->kh == 3 && geo->kw == 3) || (geo->kh == 5 && geo->kw == 5)))
		return nn_native_reject(why, whylen, "%dx%d window (native: 3x3 and 5x5)", geo->kh, geo->kw);
	const size_t row_floats = (size_t)geo->iw * geo->ci;
	window_op *d = calloc(1, sizeof *d);
	float *pad_row = malloc(row_floats * sizeof *pad_row);
	if (!d || !pad_row) {
		free(d);
		free(pad_row);
		return NN_ERR_NOMEM;
	}
	for (size_t i = 0; i < row_floats; i++)
		pad_row[i] = pad_value;
	d->geo = *geo;
	d->w = w, d->b = b;
	d->pad_row = pad_row;
	d->base.scratch = pad_row;
	d->base.tasks = (size_t)geo->batch * geo->oh;
	static void (*const kernels[2][2][2])(void *, size_t) = {
		{ { dw3x3s1, dw3x3s2 }, { dw5x5s1, dw5x5s2 } },
		{ { max3x3s1, max3x3s2 }, { max5x5s1, max5x5s2 } },
	};
	d->base.run_task = kernels[is_max][geo->kh == 5][geo->stride == 2];
	*out = &d->base;
	return 1;
}

int nn_native_dwconv_create(nn_graph *g, nn_node *n, nn_native_op **out, char *why, size_t whylen)
{
	nn_native_window geo;
	const nn_tensor *w, *b;
	*out = NULL;
	if (!nn_native_conv_window(g, n, &geo, &w, &b, why, whylen))
		return 0;
	return window_create(&geo, w->data, b ? b->data : NULL, 0.0f, 0, out, why, whylen);
}

int nn_native_maxpool_create(nn_graph *g, nn_node *n, nn_native_op **out, char *why, size_t whylen)
{
	const nn_pool_params *p = &n->p.pool;
	const int pads[4] = { p->pad_top, p->pad_bottom, p->pad_left, p->pad_right };
	nn_native_window geo;
	*out = NULL;
	if (n->n_inputs < 1 || n->inputs[0] < 0)
		return nn_native_reject(why, whylen, "input missing");
	if (p->dilation_h > 1 || p->dilation_w > 1 || n->n_outputs != 1)
		return nn_native_reject(why, whylen, "dilated pooling or the indices of the maxima");
	if (!nn_native_window_of(g, n, p->filter_h, p->filter_w, p->stride_h, p->stride_w, 1, 1, p->padding, pads,
				 p->act, g->tensors[n->inputs[0]].shape[3], &geo, why, whylen))
		return 0;
	return window_create(&geo, NULL, NULL, -INFINITY, 1, out, why, whylen);
}

#endif /* NN_NATIVE_SIMD */
