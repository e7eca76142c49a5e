/*
 * NCHW to NHWC of 4-byte elements with few channels (1 to 16) on AVX-512F:
 * the transpose every ONNX model's image input needs (3 channels, 100,000
 * pixels and more), which the reference kernel does an element at a time.
 * For a run of 16 pixels the C output vectors are each one gather from the
 * C input planes: output element p * C + i is input element i * HW + p, and
 * the pattern of (plane, pixel) pairs repeats every 16 pixels, so the index
 * vectors are computed once.
 */
#include <stdint.h>
#include <stdlib.h>

#include "nn/backend/native_internal.h"
#include "nn/backend/native_simd.h"

#ifdef NN_NATIVE_SIMD

enum { MAX_C = 16, PIXELS_PER_TASK = 2048 };

typedef struct transpose {
	nn_native_op base;
	const float *x;
	float *y;
	size_t hw, tasks_per_image;
	int c;
	int32_t idx[MAX_C][16];   /* vector v of a 16-pixel run: element j from plane (v*16+j) % C, pixel (v*16+j) / C */
	/* Three channels: vector v is planes 0 and 1 through idx01[v], then plane 2 where mask2[v] says. */
	int32_t idx01[3][16], idx2[3][16];
	__mmask16 mask2[3];
} transpose;

/* Three planes (an RGB image): each output vector is two permutes of the 16-pixel runs, no gather. */
static TARGET void transpose3_run(const transpose *d, const float *x, float *y, size_t p, size_t end)
{
	const size_t hw = d->hw;
	const __m512i a0 = _mm512_loadu_si512(d->idx01[0]), a1 = _mm512_loadu_si512(d->idx01[1]),
		      a2 = _mm512_loadu_si512(d->idx01[2]);
	const __m512i b0 = _mm512_loadu_si512(d->idx2[0]), b1 = _mm512_loadu_si512(d->idx2[1]),
		      b2 = _mm512_loadu_si512(d->idx2[2]);
	for (; p + 16 <= end; p += 16) {
		const __m512 r = _mm512_loadu_ps(x + p), g = _mm512_loadu_ps(x + hw + p), b = _mm512_loadu_ps(x + 2 * hw + p);
		float *out = y + p * 3;
		_mm512_storeu_ps(out, _mm512_mask_permutexvar_ps(_mm512_permutex2var_ps(r, a0, g), d->mask2[0], b0, b));
		_mm512_storeu_ps(out + 16,
				 _mm512_mask_permutexvar_ps(_mm512_permutex2var_ps(r, a1, g), d->mask2[1], b1, b));
		_mm512_storeu_ps(out + 32,
				 _mm512_mask_permutexvar_ps(_mm512_permutex2var_ps(r, a2, g), d->mask2[2], b2, b));
	}
	for (; p < end; p++)
		for (size_t i = 0; i < 3; i++)
			y[p * 3 + i] = x[i * hw + p];
}

static TARGET void transpose_task(void *op, size_t task)
{
	const transpose *d = op;
	const size_t image = task / d->tasks_per_image, part = task % d->tasks_per_image;
	const size_t c = (size_t)d->c;
	const float *x = d->x + image * d->hw * c;
	float *y = d->y + image * d->hw * c;
	size_t p = part * PIXELS_PER_TASK, end = p + PIXELS_PER_TASK < d->hw ? p + PIXELS_PER_TASK : d->hw;
	if (c == 3) {
		transpose3_run(d, x, y, p, end);
		return;
	}
	for (; p + 16 <= end; p += 16) {
		float *out = y + p * c;
		for (size_t v = 0; v < c; v++)
			_mm512_storeu_ps(out + v * 16,
					 _mm512_i32gather_ps(_mm512_loadu_si512(d->idx[v]), x + p, 4));
	}
	for (; p < end; p++)
		for (size_t i = 0; i < c; i++)
			y[p * c + i] = x[i * d->hw + p];
}

int nn_native_transpose_create(nn_graph *g, nn_node *n, nn_native_op **out, char *why, size_t whylen)
{
	*out = NULL;
	if (n->n_inputs < 1 || n->n_outputs != 1 || n->inputs[0] < 0)
		return nn_native_reject(why, whylen, "expected an input and one output");
	const nn_tensor *x = &g->tensors[n->inputs[0]], *y = &g->tensors[n->outputs[0]];
	const int *perm = n->p.transpose.perm;
	if (nn_dtype_size(x->dtype) != 4 || y->dtype != x->dtype || x->rank != 4 || y->rank != 4 || !x->data ||
	    !y->data || perm[0] != 0 || perm[1] != 2 || perm[2] != 3 || perm[3] != 1)
		return nn_native_permute_create(g, n, out, why, whylen); /* other permutations: native_permute.c */
	const int64_t c = x->shape[1], hw = (int64_t)x->shape[2] * x->shape[3];
	if (c < 1 || c > MAX_C || hw < 64 || x->shape[0] <= 0 || c * hw >= INT32_MAX / 4 || y->shape[0] != x->shape[0] ||
	    y->shape[1] != x->shape[2] || y->shape[2] != x->shape[3] || y->shape[3] != c)
		return nn_native_permute_create(g, n, out, why, whylen);
	transpose *d = calloc(1, sizeof *d);
	if (!d)
		return NN_ERR_NOMEM;
	d->x = x->data, d->y = y->data, d->c = (int)c, d->hw = (size_t)hw;
	for (int v = 0; v < d->c; v++)
		for (int j = 0; j < 16; j++) {
			int k = v * 16 + j;
			d->idx[v][j] = (int32_t)((k % d->c) * hw + k / d->c);
		}
	if (d->c == 3)
		for (int v = 0; v < 3; v++) {
			d->mask2[v] = 0;
			for (int j = 0; j < 16; j++) {
				int k = v * 16 + j, plane = k % 3, pixel = k / 3;
				d->idx01[v][j] = plane == 1 ? 16 + pixel : pixel;
				d->idx2[v][j] = pixel;
				if (plane == 2)
					d->mask2[v] |= (__mmask16)(1u << j);
			}
		}
	d->tasks_per_image = (d->hw + PIXELS_PER_TASK - 1) / PIXELS_PER_TASK;
	d->base.run_task = transpose_task;
	d->base.tasks = (size_t)x->shape[0] * d->tasks_per_image;
	*out = &d->base;
	return 1;
}

#endif /* NN_NATIVE_SIMD */
