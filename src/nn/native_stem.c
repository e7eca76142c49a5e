/*
 * The stem convolution on AVX-512F: a float 3x3 convolution, stride 1 or 2,
 * over an image of 1 to 3 channels, the first layer of nearly every vision
 * model (CenterNet's 512x512x3 -> 16, NanoDet's 416x416x3 -> 32).
 *
 * Why not XNNPACK's: it runs this as a GEMM over 27-long rows gathered
 * through an indirection buffer, which on 3 input channels costs more in
 * bookkeeping than in arithmetic (61 and 82 GFLOP/s on those two layers).
 * Here each output row is one task; for each 16-output-channel slice the
 * whole filter (27 vectors for RGB) stays in registers, and four
 * neighbouring output pixels are computed together from broadcast input
 * values.
 *
 * Rows above and below the image read from a row of zeros; columns beside it
 * are skipped tap by tap on the few pixels whose window crosses the edge.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/native_internal.h"
#include "nn/ref/quant.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define NATIVE_STEM 1
#endif

enum { K = 3, MAX_IN = 3, TAPS = K * K };

typedef struct stem {
	nn_native_op base;
	int ih, iw, ci, oh, ow, oc, stride, pad_top, pad_left;
	float lo, hi;             /* the fused activation's clamp */
	const float *x;
	float *y;
	const float *packed;      /* per 16-channel slice: [ky][kx][ci][16] weights, then 16 biases */
	const float *zero_row;    /* iw * ci zeros, the rows above and below the image */
} stem;

static int reject(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return 0;
}

#ifdef NATIVE_STEM

#define TARGET __attribute__((target("avx512f")))
#define INLINE __attribute__((always_inline)) static inline
#define UNROLL _Pragma("GCC unroll 27")

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

/* Output pixels [from, to) of one row and one slice, each tap checked against the image's columns. */
INLINE TARGET void stem_pixels_checked(const stem *d, const float *const *rows, const __m512 *wv, __m512 bias,
				       __mmask16 m, int o0, float *out, int from, int to, const int CI, const int S)
{
	const __m512 lo = _mm512_set1_ps(d->lo), hi = _mm512_set1_ps(d->hi);
	for (int ox = from; ox < to; ox++) {
		const int ix0 = ox * S - d->pad_left;
		__m512 acc = bias;
		UNROLL for (int ky = 0; ky < K; ky++)
			UNROLL for (int kx = 0; kx < K; kx++) {
				const int ix = ix0 + kx;
				if (ix < 0 || ix >= d->iw)
					continue;
				UNROLL for (int c = 0; c < CI; c++)
					acc = _mm512_fmadd_ps(_mm512_set1_ps(rows[ky][(size_t)ix * CI + c]),
							      wv[(ky * K + kx) * CI + c], acc);
			}
		store(out + (size_t)ox * d->oc + o0, m, clamp(acc, lo, hi));
	}
}

/* One output row; CI and S are constants at each call site below. */
INLINE TARGET void stem_row(const stem *d, size_t row, const int CI, const int S)
{
	const size_t image = row / (size_t)d->oh;
	const int oy = (int)(row % (size_t)d->oh);
	const float *x = d->x + image * (size_t)d->ih * d->iw * CI;
	float *out = d->y + row * (size_t)d->ow * d->oc;
	const float *rows[K];
	const int iy0 = oy * S - d->pad_top;
	for (int ky = 0; ky < K; ky++) {
		int iy = iy0 + ky;
		rows[ky] = iy >= 0 && iy < d->ih ? x + (size_t)iy * d->iw * CI : d->zero_row;
	}
	int x_lo = (d->pad_left + S - 1) / S;
	int x_hi = d->iw + d->pad_left >= K ? (d->iw + d->pad_left - K) / S + 1 : 0;
	if (x_hi > d->ow)
		x_hi = d->ow;
	if (x_lo > x_hi)
		x_lo = x_hi;
	const __m512 lo = _mm512_set1_ps(d->lo), hi = _mm512_set1_ps(d->hi);

	const size_t slice_floats = (size_t)(TAPS * CI + 1) * 16;
	for (int o0 = 0; o0 < d->oc; o0 += 16) {
		const __mmask16 m = d->oc - o0 >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (d->oc - o0)) - 1);
		const float *pw = d->packed + (size_t)(o0 / 16) * slice_floats;
		__m512 wv[TAPS * MAX_IN];
		UNROLL for (int t = 0; t < TAPS * CI; t++)
			wv[t] = _mm512_load_ps(pw + (size_t)t * 16);
		const __m512 bias = _mm512_load_ps(pw + (size_t)TAPS * CI * 16);
		stem_pixels_checked(d, rows, wv, bias, m, o0, out, 0, x_lo, CI, S);
		int ox = x_lo;
		for (; ox + 4 <= x_hi; ox += 4) {
			const size_t ix0 = (size_t)(ox * S - d->pad_left);
			__m512 a0 = bias, a1 = bias, a2 = bias, a3 = bias;
			UNROLL for (int ky = 0; ky < K; ky++) {
				const float *r = rows[ky] + ix0 * CI;
				UNROLL for (int kx = 0; kx < K; kx++)
					UNROLL for (int c = 0; c < CI; c++) {
						const __m512 wk = wv[(ky * K + kx) * CI + c];
						a0 = _mm512_fmadd_ps(_mm512_set1_ps(r[(size_t)kx * CI + c]), wk, a0);
						a1 = _mm512_fmadd_ps(_mm512_set1_ps(r[(size_t)(kx + S) * CI + c]), wk, a1);
						a2 = _mm512_fmadd_ps(_mm512_set1_ps(r[(size_t)(kx + 2 * S) * CI + c]), wk, a2);
						a3 = _mm512_fmadd_ps(_mm512_set1_ps(r[(size_t)(kx + 3 * S) * CI + c]), wk, a3);
					}
			}
			float *o = out + (size_t)ox * d->oc + o0;
			store(o, m, clamp(a0, lo, hi));
			store(o + d->oc, m, clamp(a1, lo, hi));
			store(o + 2 * d->oc, m, clamp(a2, lo, hi));
			store(o + 3 * d->oc, m, clamp(a3, lo, hi));
		}
		stem_pixels_checked(d, rows, wv, bias, m, o0, out, ox, d->ow, CI, S);
	}
}

#define STEM_TASK(CI, S) \
	static TARGET void stem##CI##s##S(void *op, size_t row) { stem_row(op, row, CI, S); }
STEM_TASK(1, 1)
STEM_TASK(1, 2)
STEM_TASK(2, 1)
STEM_TASK(2, 2)
STEM_TASK(3, 1)
STEM_TASK(3, 2)

#endif /* NATIVE_STEM */

int nn_native_stem_create(nn_graph *g, nn_node *n, nn_native_op **out, char *why, size_t whylen)
{
	*out = NULL;
#ifndef NATIVE_STEM
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
	const int ci = x->shape[3], oc = w->shape[0];
	if (ci < 1 || ci > MAX_IN || w->shape[3] != ci)
		return reject(why, whylen, "%d input channels (native: 1 to %d)", ci, MAX_IN);
	if (w->shape[1] != K || w->shape[2] != K)
		return reject(why, whylen, "%dx%d filter (native: 3x3)", w->shape[1], w->shape[2]);
	if (p->stride_h != p->stride_w || (p->stride_h != 1 && p->stride_h != 2) || p->dilation_h != 1 ||
	    p->dilation_w != 1)
		return reject(why, whylen, "stride %dx%d, dilation %dx%d (native: stride 1 or 2, no dilation)",
			      p->stride_h, p->stride_w, p->dilation_h, p->dilation_w);
	if (p->act != NN_ACT_NONE && p->act != NN_ACT_RELU && p->act != NN_ACT_RELU6 && p->act != NN_ACT_RELU_N1_TO_1)
		return reject(why, whylen, "fused activation %d", (int)p->act);
	int oh, ow;
	if (nn_ref_window(p->padding, x->shape[1], K, p->stride_h, 1, p->pad_top, p->pad_bottom, &oh) ||
	    nn_ref_window(p->padding, x->shape[2], K, p->stride_w, 1, p->pad_left, p->pad_right, &ow))
		return reject(why, whylen, "invalid padding");
	if (oc < 1 || (b && nn_tensor_elements(b) != oc) || x->shape[0] <= 0 || y->shape[0] != x->shape[0] ||
	    y->shape[1] != oh || y->shape[2] != ow || y->shape[3] != oc || !x->data || !y->data)
		return reject(why, whylen, "output shape does not match");

	stem *d = calloc(1, sizeof *d);
	if (!d)
		return NN_ERR_NOMEM;
	/* One allocation for the packed filter (64-byte aligned, for aligned loads) and the zero row. */
	const int slices = (oc + 15) / 16;
	const size_t slice_floats = (size_t)(TAPS * ci + 1) * 16;
	const size_t packed_floats = (size_t)slices * slice_floats;
	const size_t zero_floats = (size_t)x->shape[2] * (size_t)ci;
	size_t bytes = (packed_floats + zero_floats) * sizeof(float);
	float *buf = aligned_alloc(64, (bytes + 63) / 64 * 64);
	if (!buf) {
		free(d);
		return NN_ERR_NOMEM;
	}
	memset(buf, 0, bytes);
	const float *wf = w->data, *bf = b ? b->data : NULL;
	for (int o = 0; o < oc; o++) {
		float *slice = buf + (size_t)(o / 16) * slice_floats;
		for (int t = 0; t < TAPS; t++)
			for (int c = 0; c < ci; c++)
				slice[((size_t)t * ci + c) * 16 + o % 16] = wf[((size_t)o * TAPS + t) * ci + c];
		slice[(size_t)TAPS * ci * 16 + o % 16] = bf ? bf[o] : 0.0f;
	}
	d->ih = x->shape[1], d->iw = x->shape[2], d->ci = ci, d->oh = oh, d->ow = ow, d->oc = oc;
	d->stride = p->stride_h;
	d->pad_top = nn_ref_window_pad(p->padding, d->ih, K, d->stride, 1, p->pad_top, oh);
	d->pad_left = nn_ref_window_pad(p->padding, d->iw, K, d->stride, 1, p->pad_left, ow);
	nn_ref_act_range(p->act, &d->lo, &d->hi);
	d->x = x->data, d->y = y->data;
	d->packed = buf;
	d->zero_row = buf + packed_floats;
	d->base.scratch = buf;
	d->base.tasks = (size_t)x->shape[0] * (size_t)oh;
	static void (*const tasks[MAX_IN][2])(void *, size_t) = {
		{ stem1s1, stem1s2 },
		{ stem2s1, stem2s2 },
		{ stem3s1, stem3s2 },
	};
	d->base.run_task = tasks[ci - 1][d->stride == 2];
	*out = &d->base;
	return 1;
#endif
}
