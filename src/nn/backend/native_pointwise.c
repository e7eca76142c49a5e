/*
 * Float 1x1 convolution with at most 8 output channels, on AVX-512F: the
 * box-size and offset heads of detectors (CenterNet's 128x128x128 -> 4).
 *
 * Why not XNNPACK's: its GEMM kernels compute 16 output channels at a time
 * and pad fewer up to 16, so a 4-channel head does 4 times the work it needs
 * (measured: 12 GFLOP/s against 100 and more on the wider layers). Here each
 * output value is a dot product along the input channels, which are
 * contiguous in NHWC: two pixels at a time, one accumulator vector per pixel
 * and output channel, summed across its lanes at the end.
 */
#include <math.h>
#include <stdlib.h>

#include "nn/backend/native_internal.h"
#include "nn/backend/native_simd.h"

#ifdef NN_NATIVE_SIMD

enum { MAX_OUT = 8, PIXELS_PER_TASK = 64, PREFETCH_PIXELS = 8 };

typedef struct pointwise {
	nn_native_op base;
	size_t pixels;
	int k, n;                 /* input and output channels */
	float lo, hi;             /* the fused activation's clamp */
	int silu;                 /* then SILU (NN_ACT_SILU) */
	const float *x, *w, *b;   /* w: [n][k]; b may be NULL */
	float *y;
} pointwise;

#define UNROLL _Pragma("GCC unroll 8")

/* One output's fused activation: the clamp, then SILU when the node has it (as the reference computes it). */
static inline float act(const pointwise *d, float v)
{
	v = fminf(fmaxf(v, d->lo), d->hi);
	return d->silu ? v / (1.0f + expf(-v)) : v;
}

/* Pixels [p0, p1), two at a time; N is a constant at each call site. */
INLINE TARGET void pointwise_pixels(const pointwise *d, size_t p0, size_t p1, const int N)
{
	const int K = d->k;
	for (size_t p = p0; p < p1; p += 2) {
		const int two = p + 1 < p1;
		const float *x0 = d->x + p * (size_t)K, *x1 = two ? x0 + K : x0;
		/*
		 * The pixels a few steps ahead, fetched while these compute: the
		 * head's input is megabytes, and without this the loop waits on
		 * memory (1.4 ms instead of 0.4 on CenterNet's box-size head).
		 */
		const int far = p + PREFETCH_PIXELS + 1 < d->pixels;
		const float *ahead0 = far ? x0 + PREFETCH_PIXELS * (size_t)K : x0, *ahead1 = far ? ahead0 + K : x1;
		__m512 a0[MAX_OUT], a1[MAX_OUT];
		UNROLL for (int j = 0; j < N; j++)
			a0[j] = a1[j] = _mm512_setzero_ps();
		for (int k = 0; k < K; k += 16) {
			const __mmask16 m = nn_simd_lanes(K - k);
			const __m512 v0 = _mm512_maskz_loadu_ps(m, x0 + k), v1 = _mm512_maskz_loadu_ps(m, x1 + k);
			_mm_prefetch((const char *)(ahead0 + k), _MM_HINT_T0);
			_mm_prefetch((const char *)(ahead1 + k), _MM_HINT_T0);
			UNROLL for (int j = 0; j < N; j++) {
				const __m512 wj = _mm512_maskz_loadu_ps(m, d->w + (size_t)j * K + k);
				a0[j] = _mm512_fmadd_ps(v0, wj, a0[j]);
				a1[j] = _mm512_fmadd_ps(v1, wj, a1[j]);
			}
		}
		float *y0 = d->y + p * (size_t)N;
		UNROLL for (int j = 0; j < N; j++) {
			const float b = d->b ? d->b[j] : 0.0f;
			y0[j] = act(d, _mm512_reduce_add_ps(a0[j]) + b);
			if (two)
				y0[N + j] = act(d, _mm512_reduce_add_ps(a1[j]) + b);
		}
	}
}

#define POINTWISE_TASK(N)                                                             \
	static TARGET void pointwise##N(void *op, size_t task)                        \
	{                                                                             \
		const pointwise *d = op;                                              \
		size_t p0 = task * PIXELS_PER_TASK, p1 = p0 + PIXELS_PER_TASK;        \
		pointwise_pixels(d, p0, p1 < d->pixels ? p1 : d->pixels, N);          \
	}
POINTWISE_TASK(1)
POINTWISE_TASK(2)
POINTWISE_TASK(3)
POINTWISE_TASK(4)
POINTWISE_TASK(5)
POINTWISE_TASK(6)
POINTWISE_TASK(7)
POINTWISE_TASK(8)


int nn_native_pointwise_create(nn_graph *g, nn_node *n, nn_native_op **out, char *why, size_t whylen)
{
	nn_native_window geo;
	const nn_tensor *w, *b;
	*out = NULL;
	if (!nn_native_conv_window(g, n, &geo, &w, &b, why, whylen))
		return 0;
	if (geo.kh != 1 || geo.kw != 1 || geo.stride != 1 || geo.oh != geo.ih || geo.ow != geo.iw)
		return nn_native_reject(why, whylen, "not a 1x1 filter at stride 1 without padding");
	if (geo.co > MAX_OUT)
		return nn_native_reject(why, whylen, "%d output channels (native: up to %d)", geo.co, MAX_OUT);
	pointwise *d = calloc(1, sizeof *d);
	if (!d)
		return NN_ERR_NOMEM;
	d->pixels = (size_t)geo.batch * geo.ih * geo.iw, d->k = geo.ci, d->n = geo.co;
	d->lo = geo.lo, d->hi = geo.hi, d->silu = geo.silu;
	d->x = geo.x, d->w = w->data, d->b = b ? b->data : NULL, d->y = geo.y;
	static void (*const tasks[MAX_OUT])(void *, size_t) = {
		pointwise1, pointwise2, pointwise3, pointwise4, pointwise5, pointwise6, pointwise7, pointwise8,
	};
	d->base.run_task = tasks[geo.co - 1];
	d->base.tasks = (d->pixels + PIXELS_PER_TASK - 1) / PIXELS_PER_TASK;
	*out = &d->base;
	return 1;
}

#endif /* NN_NATIVE_SIMD */
