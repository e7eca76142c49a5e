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

#include "nn/backend/native.h"
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

static TARGET void silu_task(void *arg, size_t task)
{
	const silu *d = arg;
	size_t i = task * CHUNK, end = i + CHUNK < d->count ? i + CHUNK : d->count;
	for (; i + 16 <= end; i += 16)
		_mm512_storeu_ps(d->y + i, nn_simd_silu(_mm512_loadu_ps(d->x + i)));
	if (i < end) {
		const __mmask16 m = nn_simd_lanes((int)(end - i));
		_mm512_mask_storeu_ps(d->y + i, m, nn_simd_silu(_mm512_maskz_loadu_ps(m, d->x + i)));
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

void nn_native_silu_inplace(float *y, size_t count, pthreadpool_t pool)
{
	silu d = { .count = count, .x = y, .y = y };
	pthreadpool_parallelize_1d(pool, (pthreadpool_task_1d_t)silu_task, &d, (count + CHUNK - 1) / CHUNK, 0);
}

#else

/* Never called: nn_native_available() is 0 in such a build. */
void nn_native_silu_inplace(float *y, size_t count, pthreadpool_t pool)
{
	(void)y, (void)count, (void)pool;
}

#endif
