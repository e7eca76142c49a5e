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
