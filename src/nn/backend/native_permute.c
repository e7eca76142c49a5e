/*
 * TRANSPOSE of 4-byte elements in any permutation that, once unit axes are
 * dropped and axes that stay neighbours in the same order are merged, is
 * either a reordering of blocks that keeps the innermost axis (ShuffleNet's
 * channel shuffle: [C/2, 2, HW] to [2, C/2, HW]) or a batch of 2-D
 * transposes [B, M, N] to [B, N, M] (NHWC to NCHW and back, with any number
 * of channels; NanoDet's shuffle [HW, 2, C/2] to [HW, C/2, 2]). The blocks
 * are copied whole; a 2-D transpose with more than 16 rows moves 16x16
 * tiles, each output run of 16 one gather of 16 input rows, so a tile's 16
 * cache lines serve 16 output vectors; fewer rows go by narrow_task. The
 * reference kernel does either an element at a time.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/backend/native_internal.h"
#include "nn/backend/native_simd.h"

#ifdef NN_NATIVE_SIMD

enum { COPY_PER_TASK = 8192, COLS_PER_TASK = 64 };

typedef struct permute {
	nn_native_op base;
	const float *x;
	float *y;
	int rank;                       /* of the merged view */
	int64_t shape[NN_MAX_RANK];     /* input shape, merged */
	int perm[NN_MAX_RANK];
	int64_t in_stride[NN_MAX_RANK]; /* input stride of output axis k */
	int64_t out_shape[NN_MAX_RANK];
	size_t blocks_per_task;         /* block copy: output blocks (of shape[rank - 1] elements) per task */
	int64_t m, n, col_tasks;        /* 2-D: [batch, m, n] to [batch, n, m] */
	int64_t batch, images_per_task; /* 2-D with m of 16 or less: whole images per task */
	int32_t idx[16][16];            /* m of 3 to 16: output vector v of a 16-column run, lane j */
} permute;

/*
 * 2-D with few rows (m <= 16), whole images: a run of 16 columns is m
 * output vectors; with m = 2 each is one permute of the two rows' runs,
 * otherwise one gather whose pattern (lane j of vector v: row (16v + j) % m,
 * column (16v + j) / m) repeats every run.
 */
static TARGET void narrow_task(void *op, size_t task)
{
	const permute *d = op;
	const int64_t m = d->m, n = d->n;
	int64_t image = (int64_t)task * d->images_per_task, end = image + d->images_per_task;
	if (end > d->batch)
		end = d->batch;
	const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
	const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
	for (; image < end; image++) {
		const float *x = d->x + image * m * n;
		float *y = d->y + image * m * n;
		int64_t j = 0;
		if (m == 2) {
			for (; j + 16 <= n; j += 16) {
				__m512 a = _mm512_loadu_ps(x + j), b = _mm512_loadu_ps(x + n + j);
				_mm512_storeu_ps(y + 2 * j, _mm512_permutex2var_ps(a, lo, b));
				_mm512_storeu_ps(y + 2 * j + 16, _mm512_permutex2var_ps(a, hi, b));
			}
		} else {
			for (; j + 16 <= n; j += 16)
				for (int64_t v = 0; v < m; v++)
					_mm512_storeu_ps(y + j * m + v * 16,
							 _mm512_i32gather_ps(_mm512_loadu_si512(d->idx[v]), x + j, 4));
		}
		for (; j < n; j++)
			for (int64_t i = 0; i < m; i++)
				y[j * m + i] = x[i * n + j];
	}
}

/* Block copy: output block b (its index over the output's outer axes) from wherever it sits in the input. */
static void copy_task(void *op, size_t task)
{
	const permute *d = op;
	const int r = d->rank;
	const int64_t len = d->shape[r - 1];
	int64_t total = 1;
	for (int k = 0; k < r - 1; k++)
		total *= d->out_shape[k];
	int64_t b = (int64_t)(task * d->blocks_per_task), end = b + (int64_t)d->blocks_per_task;
	if (end > total)
		end = total;
	for (; b < end; b++) {
		int64_t rest = b, src = 0;
		for (int k = r - 2; k >= 0; k--) {
			src += (rest % d->out_shape[k]) * d->in_stride[k];
			rest /= d->out_shape[k];
		}
		memcpy(d->y + b * len, d->x + src, (size_t)len * sizeof(float));
	}
}

/* 2-D: output rows [n0, n0 + COLS_PER_TASK) of one image, all m. */
static TARGET void transpose_task(void *op, size_t task)
{
	const permute *d = op;
	const int64_t m = d->m, n = d->n;
	const int64_t image = (int64_t)task / d->col_tasks, n0 = ((int64_t)task % d->col_tasks) * COLS_PER_TASK;
	const int64_t n1 = n0 + COLS_PER_TASK < n ? n0 + COLS_PER_TASK : n;
	const float *x = d->x + image * m * n;
	float *y = d->y + image * m * n;
	const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
					       _mm512_set1_epi32((int)n));
	for (int64_t i0 = 0; i0 < m; i0 += 16) {
		const int64_t left = m - i0;
		const __mmask16 mask = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
		const float *src = x + i0 * n;
		for (int64_t j = n0; j < n1; j++) {
			__m512 v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mask, idx, src + j, 4);
			_mm512_mask_storeu_ps(y + j * m + i0, mask, v);
		}
	}
}

int nn_native_permute_create(nn_graph *g, nn_node *n, nn_native_op **out, char *why, size_t whylen)
{
	*out = NULL;
	const nn_tensor *x = &g->tensors[n->inputs[0]], *y = &g->tensors[n->outputs[0]];
	const int *perm = n->p.transpose.perm;
	if (nn_dtype_size(x->dtype) != 4 || y->dtype != x->dtype || x->rank != y->rank || x->rank < 1 ||
	    x->rank > NN_MAX_RANK || !x->data || !y->data)
		return nn_native_reject(why, whylen, "not a transpose of 4-byte elements");
	/* Drop unit axes; merge output neighbours that are input neighbours in the same order. */
	int keep[NN_MAX_RANK], nk = 0, newax[NN_MAX_RANK];
	for (int a = 0, k = 0; a < x->rank; a++)
		newax[a] = x->shape[a] == 1 ? -1 : k++;
	for (int k = 0; k < x->rank; k++) {
		if (perm[k] < 0 || perm[k] >= x->rank || y->shape[k] != x->shape[perm[k]])
			return nn_native_reject(why, whylen, "output shape does not match the permutation");
		if (newax[perm[k]] >= 0)
			keep[nk++] = perm[k];
	}
	permute *d = calloc(1, sizeof *d);
	if (!d)
		return NN_ERR_NOMEM;
	/* Groups of output axes that are consecutive input axes. */
	int gfirst[NN_MAX_RANK], glast[NN_MAX_RANK], ng = 0;
	for (int k = 0; k < nk; k++) {
		if (ng && keep[k] == glast[ng - 1] + 1) {
			glast[ng - 1] = keep[k];
		} else {
			gfirst[ng] = glast[ng] = keep[k];
			ng++;
		}
	}
	/* Each group becomes one axis; its position in the input is the order of gfirst. */
	int rank = ng;
	int order[NN_MAX_RANK]; /* input order of the groups */
	for (int k = 0; k < ng; k++) {
		int pos = 0;
		for (int j = 0; j < ng; j++)
			pos += gfirst[j] < gfirst[k];
		order[k] = pos;
	}
	for (int k = 0; k < ng; k++) {
		int64_t s = 1;
		for (int a = gfirst[k]; a <= glast[k]; a++)
			s *= x->shape[a];
		d->shape[order[k]] = s;
		d->out_shape[k] = s;
		d->perm[k] = order[k];
	}
	d->rank = rank;
	int64_t stride[NN_MAX_RANK], total = 1;
	for (int a = rank - 1; a >= 0; a--) {
		stride[a] = total;
		total *= d->shape[a];
	}
	for (int k = 0; k < rank; k++)
		d->in_stride[k] = stride[d->perm[k]];
	d->x = x->data, d->y = y->data;
	if (total < 1 || total >= INT32_MAX / 4) {
		free(d);
		return nn_native_reject(why, whylen, "empty or too large");
	}
	if (rank <= 1 || d->perm[rank - 1] == rank - 1) {
		/* Blocks along the kept innermost axis (rank 1 or 0: one straight copy). */
		if (rank == 0) {
			d->rank = rank = 1;
			d->shape[0] = d->out_shape[0] = 1;
			d->perm[0] = 0;
			d->in_stride[0] = 1;
		}
		int64_t len = d->shape[rank - 1], blocks = total / len;
		size_t per = len >= COPY_PER_TASK ? 1 : (size_t)(COPY_PER_TASK / len);
		d->blocks_per_task = per;
		d->base.run_task = copy_task;
		d->base.tasks = (size_t)((blocks + (int64_t)per - 1) / (int64_t)per);
		if (!d->base.tasks)
			d->base.tasks = 1;
	} else if ((rank == 2 && d->perm[0] == 1) || (rank == 3 && d->perm[0] == 0 && d->perm[1] == 2)) {
		int64_t batch = rank == 3 ? d->shape[0] : 1;
		d->m = d->shape[rank - 2], d->n = d->shape[rank - 1];
		if (d->n > INT32_MAX / 16) {
			free(d);
			return nn_native_reject(why, whylen, "rows too long for 32-bit gather offsets");
		}
		if (d->m <= 16) {
			d->batch = batch;
			d->images_per_task = d->m * d->n >= COPY_PER_TASK ? 1 : COPY_PER_TASK / (d->m * d->n);
			for (int v = 0; v < d->m; v++)
				for (int j = 0; j < 16; j++) {
					int k = v * 16 + j;
					d->idx[v][j] = (int32_t)((k % d->m) * d->n + k / d->m);
				}
			d->base.run_task = narrow_task;
			d->base.tasks = (size_t)((batch + d->images_per_task - 1) / d->images_per_task);
		} else {
			d->col_tasks = (d->n + COLS_PER_TASK - 1) / COLS_PER_TASK;
			d->base.run_task = transpose_task;
			d->base.tasks = (size_t)(batch * d->col_tasks);
		}
	} else {
		free(d);
		return nn_native_reject(why, whylen, "a permutation that is neither a block reordering nor a batch of 2-D "
					"transposes");
	}
	*out = &d->base;
	return 1;
}

#endif /* NN_NATIVE_SIMD */
