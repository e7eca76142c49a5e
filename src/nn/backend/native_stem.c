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
#include <stdlib.h>
#include <string.h>

#include "nn/backend/native_internal.h"
#include "nn/backend/native_simd.h"

#ifdef NN_NATIVE_SIMD

enum { K = 3, MAX_IN = 3, TAPS = K * K };

typedef struct stem {
	nn_native_op base;
	nn_native_window geo;
	const float *packed;      /* per 16-channel slice: [ky][kx][ci][16] weights, then 16 biases */
	const float *zero_row;    /* iw * ci zeros, the rows above and below the image */
} stem;

#define UNROLL _Pragma("GCC unroll 27")

/* Output pixels [from, to) of one row and one slice, each tap checked against the image's columns. */
INLINE TARGET void stem_pixels_checked(const stem *d, const float *const *rows, const __m512 *wv, __m512 bias,
				       __mmask16 m, int o0, float *out, int from, int to, const int CI, const int S)
{
	const __m512 lo = _mm512_set1_ps(d->geo.lo), hi = _mm512_set1_ps(d->geo.hi);
	for (int ox = from; ox < to; ox++) {
		const int ix0 = ox * S - d->geo.pad_left;
		__m512 acc = bias;
		UNROLL for (int ky = 0; ky < K; ky++)
			UNROLL for (int kx = 0; kx < K; kx++) {
				const int ix = ix0 + kx;
				if (ix < 0 || ix >= d->geo.iw)
					continue;
				UNROLL for (int c = 0; c < CI; c++)
					acc = _mm512_fmadd_ps(_mm512_set1_ps(rows[ky][(size_t)ix * CI + c]),
							      wv[(ky * K + kx) * CI + c], acc);
			}
		nn_simd_store(out + (size_t)ox * d->geo.co + o0, m, nn_simd_act(acc, lo, hi, d->geo.silu));
	}
}

/* One output row; CI and S are constants at each call site below. */
INLINE TARGET void stem_row(const stem *d, size_t row, const int CI, const int S)
{
	const size_t image = row / (size_t)d->geo.oh;
	const int oy = (int)(row % (size_t)d->geo.oh);
	const float *x = d->geo.x + image * (size_t)d->geo.ih * d->geo.iw * CI;
	float *out = d->geo.y + row * (size_t)d->geo.ow * d->geo.co;
	const float *rows[K];
	const int iy0 = oy * S - d->geo.pad_top;
	for (int ky = 0; ky < K; ky++) {
		int iy = iy0 + ky;
		rows[ky] = iy >= 0 && iy < d->geo.ih ? x + (size_t)iy * d->geo.iw * CI : d->zero_row;
	}
	int x_lo = (d->geo.pad_left + S - 1) / S;
	int x_hi = d->geo.iw + d->geo.pad_left >= K ? (d->geo.iw + d->geo.pad_left - K) / S + 1 : 0;
	if (x_hi > d->geo.ow)
		x_hi = d->geo.ow;
	if (x_lo > x_hi)
		x_lo = x_hi;
	const __m512 lo = _mm512_set1_ps(d->geo.lo), hi = _mm512_set1_ps(d->geo.hi);

	const size_t slice_floats = (size_t)(TAPS * CI + 1) * 16;
	for (int o0 = 0; o0 < d->geo.co; o0 += 16) {
		const __mmask16 m = nn_simd_lanes(d->geo.co - o0);
		const float *pw = d->packed + (size_t)(o0 / 16) * slice_floats;
		__m512 wv[TAPS * MAX_IN];
		UNROLL for (int t = 0; t < TAPS * CI; t++)
			wv[t] = _mm512_load_ps(pw + (size_t)t * 16);
		const __m512 bias = _mm512_load_ps(pw + (size_t)TAPS * CI * 16);
		stem_pixels_checked(d, rows, wv, bias, m, o0, out, 0, x_lo, CI, S);
		int ox = x_lo;
		for (; ox + 4 <= x_hi; ox += 4) {
			const size_t ix0 = (size_t)(ox * S - d->geo.pad_left);
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
			float *o = out + (size_t)ox * d->geo.co + o0;
			nn_simd_store(o, m, nn_simd_act(a0, lo, hi, d->geo.silu));
			nn_simd_store(o + d->geo.co, m, nn_simd_act(a1, lo, hi, d->geo.silu));
			nn_simd_store(o + 2 * d->geo.co, m, nn_simd_act(a2, lo, hi, d->geo.silu));
			nn_simd_store(o + 3 * d->geo.co, m, nn_simd_act(a3, lo, hi, d->geo.silu));
		}
		stem_pixels_checked(d, rows, wv, bias, m, o0, out, ox, d->geo.ow, CI, S);
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


int nn_native_stem_create(nn_graph *g, nn_node *n, nn_native_op **out, char *why, size_t whylen)
{
	nn_native_window geo;
	const nn_tensor *w, *b;
	*out = NULL;
	if (!nn_native_conv_window(g, n, &geo, &w, &b, why, whylen))
		return 0;
	if (geo.ci > MAX_IN)
		return nn_native_reject(why, whylen, "%d input channels (native: 1 to %d)", geo.ci, MAX_IN);
	if (geo.kh != K || geo.kw != K)
		return nn_native_reject(why, whylen, "%dx%d filter (native: 3x3)", geo.kh, geo.kw);
	stem *d = calloc(1, sizeof *d);
	if (!d)
		return NN_ERR_NOMEM;
	/* One allocation for the packed filter (64-byte aligned, for aligned loads) and the zero row. */
	const int ci = geo.ci, oc = geo.co, slices = (oc + 15) / 16;
	const size_t slice_floats = (size_t)(TAPS * ci + 1) * 16;
	const size_t packed_floats = (size_t)slices * slice_floats;
	const size_t zero_floats = (size_t)geo.iw * ci;
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
	d->geo = geo;
	d->packed = buf;
	d->zero_row = buf + packed_floats;
	d->base.scratch = buf;
	d->base.tasks = (size_t)geo.batch * geo.oh;
	static void (*const tasks[MAX_IN][2])(void *, size_t) = {
		{ stem1s1, stem1s2 },
		{ stem2s1, stem2s2 },
		{ stem3s1, stem3s2 },
	};
	d->base.run_task = tasks[ci - 1][geo.stride == 2];
	*out = &d->base;
	return 1;
}

#endif /* NN_NATIVE_SIMD */
