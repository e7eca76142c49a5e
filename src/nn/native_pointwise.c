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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "nn/native_internal.h"
#include "nn/ref/quant.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define NATIVE_POINTWISE 1
#endif

enum { MAX_OUT = 8, PIXELS_PER_TASK = 64, PREFETCH_PIXELS = 8 };

typedef struct pointwise {
	nn_native_op base;
	size_t pixels;
	int k, n;                 /* input and output channels */
	float lo, hi;             /* the fused activation's clamp */
	const float *x, *w, *b;   /* w: [n][k]; b may be NULL */
	float *y;
} pointwise;

static int reject(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return 0;
}

#ifdef NATIVE_POINTWISE

#define TARGET __attribute__((target("avx512f")))
#define INLINE __attribute__((always_inline)) static inline
#define UNROLL _Pragma("GCC unroll 8")

/* Pixels [p0, p1), two at a time; N is a constant at each call site. */
INLINE TARGET void pointwise_pixels(const pointwise *d, size_t p0, size_t p1, const int N)
{
	const int K = d->k;
	const __mmask16 tail = (K & 15) ? (__mmask16)((1u << (K & 15)) - 1) : (__mmask16)0xffff;
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
			const __mmask16 m = k + 16 <= K ? (__mmask16)0xffff : tail;
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
			y0[j] = fminf(fmaxf(_mm512_reduce_add_ps(a0[j]) + b, d->lo), d->hi);
			if (two)
				y0[N + j] = fminf(fmaxf(_mm512_reduce_add_ps(a1[j]) + b, d->lo), d->hi);
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

#endif /* NATIVE_POINTWISE */

int nn_native_pointwise_create(nn_graph *g, nn_node *n, nn_native_op **out, char *why, size_t whylen)
{
	*out = NULL;
#ifndef NATIVE_POINTWISE
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
	const int k = x->shape[3], oc = w->shape[0];
	if (w->shape[1] != 1 || w->shape[2] != 1 || w->shape[3] != k)
		return reject(why, whylen, "not a 1x1 filter over all %d input channels", k);
	if (oc < 1 || oc > MAX_OUT)
		return reject(why, whylen, "%d output channels (native: up to %d)", oc, MAX_OUT);
	if (p->stride_h != 1 || p->stride_w != 1)
		return reject(why, whylen, "stride %dx%d", p->stride_h, p->stride_w);
	if (p->padding == NN_PADDING_EXPLICIT && (p->pad_top || p->pad_bottom || p->pad_left || p->pad_right))
		return reject(why, whylen, "padding around a 1x1 filter");
	if (p->act != NN_ACT_NONE && p->act != NN_ACT_RELU && p->act != NN_ACT_RELU6 && p->act != NN_ACT_RELU_N1_TO_1)
		return reject(why, whylen, "fused activation %d", (int)p->act);
	if (k <= 0 || (b && nn_tensor_elements(b) != oc) || y->shape[0] != x->shape[0] || y->shape[1] != x->shape[1] ||
	    y->shape[2] != x->shape[2] || y->shape[3] != oc || !x->data || !y->data)
		return reject(why, whylen, "output shape does not match");
	int64_t pixels = (int64_t)x->shape[0] * x->shape[1] * x->shape[2];
	if (pixels <= 0)
		return reject(why, whylen, "empty image");

	pointwise *d = calloc(1, sizeof *d);
	if (!d)
		return NN_ERR_NOMEM;
	d->pixels = (size_t)pixels, d->k = k, d->n = oc;
	nn_ref_act_range(p->act, &d->lo, &d->hi);
	d->x = x->data, d->w = w->data, d->b = b ? b->data : NULL, d->y = y->data;
	static void (*const tasks[MAX_OUT])(void *, size_t) = {
		pointwise1, pointwise2, pointwise3, pointwise4, pointwise5, pointwise6, pointwise7, pointwise8,
	};
	d->base.run_task = tasks[oc - 1];
	d->base.tasks = (d->pixels + PIXELS_PER_TASK - 1) / PIXELS_PER_TASK;
	*out = &d->base;
	return 1;
#endif
}
