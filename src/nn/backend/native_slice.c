/*
 * STRIDED_SLICE of 4-byte elements with positive strides: each output row
 * along the last axis is a run of loads. A stride of 1 is a copy, a stride
 * of 2 (the channel shuffle's every-other-channel pick, pass/shuffle.c)
 * takes the even elements of two vectors with one permute, other strides
 * gather. Rows are split into tasks of about PER_TASK elements; rows
 * shorter than 16 elements are left to the reference kernel.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/backend/native_internal.h"
#include "nn/backend/native_simd.h"

#ifdef NN_NATIVE_SIMD

enum { PER_TASK = 8192 };

typedef struct slice {
	nn_native_op base;
	const float *x;
	float *y;
	int rank;
	int64_t out_shape[NN_MAX_RANK];
	int64_t step[NN_MAX_RANK]; /* input elements per output index step, per axis */
	int64_t base_off;
	int64_t rows, rows_per_task, len, s; /* len: output row length; s: its input stride */
} slice;

static TARGET void slice_task(void *op, size_t task)
{
	const slice *d = op;
	int64_t r = (int64_t)task * d->rows_per_task, end = r + d->rows_per_task < d->rows ? r + d->rows_per_task : d->rows;
	const int64_t len = d->len, s = d->s;
	const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
	const __m512i gidx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
						_mm512_set1_epi32((int)s));
	/* The task's first row's index over the outer axes, then stepped row by row. */
	int64_t idx[NN_MAX_RANK] = { 0 }, off = d->base_off, rest = r;
	for (int k = d->rank - 2; k >= 0; k--) {
		idx[k] = rest % d->out_shape[k];
		off += idx[k] * d->step[k];
		rest /= d->out_shape[k];
	}
	for (; r < end; r++) {
		const float *src = d->x + off;
		for (int k = d->rank - 2; k >= 0; k--) {
			off += d->step[k];
			if (++idx[k] < d->out_shape[k])
				break;
			off -= d->step[k] * d->out_shape[k];
			idx[k] = 0;
		}
		float *dst = d->y + r * len;
		int64_t j = 0;
		if (s == 1) {
			memcpy(dst, src, (size_t)len * sizeof *dst);
			continue;
		}
		if (s == 2)
			for (; j + 16 <= len; j += 16) {
				/* Elements 2j .. 2j + 30 of the row: the last one read is 2j + 30, inside it. */
				__m512 a = _mm512_loadu_ps(src + 2 * j);
				__m512 b = _mm512_maskz_loadu_ps(0x7fff, src + 2 * j + 16);
				_mm512_storeu_ps(dst + j, _mm512_permutex2var_ps(a, even, b));
			}
		else
			for (; j + 16 <= len; j += 16)
				_mm512_storeu_ps(dst + j, _mm512_i32gather_ps(gidx, src + j * s, 4));
		for (; j < len; j++)
			dst[j] = src[j * s];
	}
}

int nn_native_slice_create(nn_graph *g, nn_node *n, nn_native_op **out, char *why, size_t whylen)
{
	*out = NULL;
	if (n->n_inputs != 1 || n->n_outputs != 1 || n->inputs[0] < 0 || n->outputs[0] < 0)
		return nn_native_reject(why, whylen, "expected one input and one output");
	const nn_tensor *x = &g->tensors[n->inputs[0]], *y = &g->tensors[n->outputs[0]];
	if (nn_dtype_size(x->dtype) != 4 || y->dtype != x->dtype || x->rank != y->rank || x->rank < 1 || !x->data ||
	    !y->data || nn_tensor_elements(x) >= INT32_MAX / 4)
		return nn_native_reject(why, whylen, "not a slice of 4-byte elements");
	slice *d = calloc(1, sizeof *d);
	if (!d)
		return NN_ERR_NOMEM;
	int64_t st = 1;
	for (int k = x->rank - 1; k >= 0; k--) {
		int b = n->p.slice.begin[k], s = n->p.slice.stride[k];
		if (s < 1 || b < 0 || y->shape[k] < 1 || b + (int64_t)(y->shape[k] - 1) * s >= x->shape[k] ||
		    (int64_t)s * 16 > INT32_MAX / 4) {
			free(d);
			return nn_native_reject(why, whylen, "a negative stride or a slice outside the input");
		}
		d->out_shape[k] = y->shape[k];
		d->step[k] = s * st;
		d->base_off += b * st;
		st *= x->shape[k];
	}
	d->x = x->data, d->y = y->data, d->rank = x->rank;
	d->len = y->shape[x->rank - 1];
	if (d->len < 16) {
		/* Rows shorter than a vector (YOLOX's Focus slices: 3 channels) go as fast on the reference kernel. */
		long long len = (long long)d->len;
		free(d);
		return nn_native_reject(why, whylen, "rows of %lld elements (native: 16 or more)", len);
	}
	d->s = n->p.slice.stride[x->rank - 1];
	d->rows = nn_tensor_elements(y) / d->len;
	d->rows_per_task = d->len >= PER_TASK ? 1 : PER_TASK / d->len;
	d->base.run_task = slice_task;
	d->base.tasks = (size_t)((d->rows + d->rows_per_task - 1) / d->rows_per_task);
	*out = &d->base;
	return 1;
}

#endif /* NN_NATIVE_SIMD */
