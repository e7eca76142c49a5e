/*
 * Float SILU (x * sigmoid(x)) on AVX-512F, in one pass over memory.
 *
 * Why not XNNPACK's: this version of it has no swish operator, so SILU there
 * is its sigmoid into a scratch buffer and a multiply, three passes over
 * tensors of megabytes (YOLO's 1x104x104x32 activations are 1.4 MB). Here
 * each vector is loaded once, its exp computed in registers and the product
 * stored. exp(-x) is 2^n * p(r) with r = -x - n ln 2 in [-ln2/2, ln2/2] and
 * p Cephes' degree-6 polynomial for expf (relative error about 1e-7), scaled
 * by 2^n with vscalefps (-x clamped to [-104, 89] first, where exp(-x) is
 * already 0 or infinite in float), and the division is IEEE's (vrcp14ps
 * with a Newton step measured slower here). NaN stays NaN; -inf gives NaN,
 * -inf / inf, as the reference does, and +inf gives +inf.
 */
#include <stdlib.h>

#include "nn/backend/native_internal.h"
#include "nn/backend/native_simd.h"

#ifdef NN_NATIVE_SIMD

enum { CHUNK = 16384 };

typedef struct silu {
	nn_native_op base;
	size_t count;
	const float *x;
	float *y;
} silu;

INLINE TARGET __m512 silu16(__m512 x)
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

static TARGET void silu_task(void *arg, size_t task)
{
	const silu *d = arg;
	size_t i = task * CHUNK, end = i + CHUNK < d->count ? i + CHUNK : d->count;
	for (; i + 16 <= end; i += 16)
		_mm512_storeu_ps(d->y + i, silu16(_mm512_loadu_ps(d->x + i)));
	if (i < end) {
		const __mmask16 m = nn_simd_lanes((int)(end - i));
		_mm512_mask_storeu_ps(d->y + i, m, silu16(_mm512_maskz_loadu_ps(m, d->x + i)));
	}
}

int nn_native_silu_create(nn_graph *g, nn_node *n, nn_native_op **out, char *why, size_t whylen)
{
	if (n->n_inputs != 1 || n->n_outputs != 1 || n->inputs[0] < 0)
		return nn_native_reject(why, whylen, "expected one input and one output");
	const nn_tensor *x = &g->tensors[n->inputs[0]], *y = &g->tensors[n->outputs[0]];
	int64_t count = nn_tensor_elements(x);
	if (x->dtype != NN_F32 || y->dtype != NN_F32 || !x->data || !y->data || count <= 0 ||
	    nn_tensor_elements(y) != count)
		return nn_native_reject(why, whylen, "not float32 tensors of one size");
	silu *d = calloc(1, sizeof *d);
	if (!d)
		return NN_ERR_NOMEM;
	d->base.run_task = silu_task;
	d->base.tasks = ((size_t)count + CHUNK - 1) / CHUNK;
	d->count = (size_t)count;
	d->x = x->data;
	d->y = y->data;
	*out = &d->base;
	return 1;
}

#endif
