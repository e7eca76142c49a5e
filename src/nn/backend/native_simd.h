#ifndef NN_NATIVE_SIMD_H
#define NN_NATIVE_SIMD_H

/*
 * What the native kernels' AVX-512 code shares. Each kernel file compiles
 * its vector code with the TARGET attribute (not -mavx512f for the whole
 * build), so the binary still runs on CPUs without AVX-512: native.c checks
 * the CPU before any of it is called.
 */

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define NN_NATIVE_SIMD 1
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f")))
#define INLINE __attribute__((always_inline)) static inline

/* The fused activation: min(max(v, lo), hi). */
INLINE TARGET __m512 nn_simd_clamp(__m512 v, __m512 lo, __m512 hi)
{
	return _mm512_min_ps(_mm512_max_ps(v, lo), hi);
}

/*
 * x * sigmoid(x) as x / (1 + exp(-x)), exp by Cephes' polynomial scaled by
 * 2^n (native_silu.c says why and how exact).
 */
INLINE TARGET __m512 nn_simd_silu(__m512 x)
{
	/* exp(-x) over the range where it is finite and not zero in float; outside it the clamp decides. */
	const __m512 t = _mm512_min_ps(_mm512_max_ps(_mm512_sub_ps(_mm512_setzero_ps(), x), _mm512_set1_ps(-104.0f)),
				       _mm512_set1_ps(89.0f));
	const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(t, _mm512_set1_ps(1.44269504088896341f)),
					      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	__m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), t);
	r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
	__m512 p = _mm512_set1_ps(1.9875691500e-4f);
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
	p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
	const __m512 d = _mm512_add_ps(_mm512_set1_ps(1.0f), _mm512_scalef_ps(p, n));
	return _mm512_div_ps(x, d);
}

/* The fused activation of a window kernel: the clamp, and SILU when silu is set. */
INLINE TARGET __m512 nn_simd_act(__m512 v, __m512 lo, __m512 hi, int silu)
{
	v = nn_simd_clamp(v, lo, hi);
	return silu ? nn_simd_silu(v) : v;
}

/* Stores the lanes of m; a whole vector with a plain store. */
INLINE TARGET void nn_simd_store(float *p, __mmask16 m, __m512 v)
{
	if (m == 0xffff)
		_mm512_storeu_ps(p, v);
	else
		_mm512_mask_storeu_ps(p, m, v);
}

/* The lanes below n (1 to 16). */
INLINE __mmask16 nn_simd_lanes(int n)
{
	return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
}
#endif

#endif
