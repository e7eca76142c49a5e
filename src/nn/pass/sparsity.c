/*
 * Densifying TensorFlow Lite sparse constants (see sparsity.h for the
 * format). The description comes from an untrusted file, so everything the
 * walk relies on is checked before it starts: after that every array access
 * is in bounds and the walk visits exactly n_values leaves, so a hostile
 * description costs no more time than its own size and the dense shape.
 */
#include "nn/pass/sparsity.h"

#include <string.h>

#include "nn/graph.h"

/* Every fault of a description is a format error: a message in why, and NN_ERR_FORMAT. */
#define fail(why, whylen, ...) nn_graph_fail(why, whylen, NN_ERR_FORMAT, __VA_ARGS__)

/* Element i of v as a signed 64-bit value. */
static int64_t vec_at(const nn_sparse_vec *v, uint32_t i)
{
	const uint8_t *p = v->data;
	switch (v->type) {
	case NN_SPARSE_VEC_I32: {
		int32_t x;
		memcpy(&x, p + 4 * (size_t)i, sizeof x);
		return x;
	}
	case NN_SPARSE_VEC_U16: {
		uint16_t x;
		memcpy(&x, p + 2 * (size_t)i, sizeof x);
		return x;
	}
	default:
		return p[i];
	}
}

typedef struct walk {
	const nn_sparsity *sp;
	int rank, n_levels;
	int dim_of_level[NN_SPARSE_MAX_LEVELS];  /* expanded dimension walked at each level */
	int64_t size[NN_SPARSE_MAX_LEVELS];      /* size of each expanded dimension */
	int block_of[NN_MAX_RANK];               /* block dimension of each original one, or -1 */
	int64_t stride[NN_MAX_RANK];             /* row-major element strides of the dense shape */
	int64_t coord[NN_SPARSE_MAX_LEVELS];     /* current index along each expanded dimension */
	size_t esize;
	const uint8_t *values;
	uint8_t *dense;
} walk;

static void leaf(walk *w, size_t value)
{
	int64_t off = 0;
	for (int d = 0; d < w->rank; d++) {
		int64_t c = w->coord[d];
		if (w->block_of[d] >= 0)
			c = c * w->size[w->block_of[d]] + w->coord[w->block_of[d]];
		off += c * w->stride[d];
	}
	memcpy(w->dense + (size_t)off * w->esize, w->values + value * w->esize, w->esize);
}

/* Visits every leaf below position pos of level l. The recursion is at most NN_SPARSE_MAX_LEVELS deep. */
static void visit(walk *w, int l, size_t pos)
{
	if (l == w->n_levels) {
		leaf(w, pos);
		return;
	}
	const nn_sparse_level *lv = &w->sp->levels[l];
	int e = w->dim_of_level[l];
	if (!lv->csr) {
		for (int64_t i = 0; i < w->size[e]; i++) {
			w->coord[e] = i;
			visit(w, l + 1, pos * (size_t)w->size[e] + (size_t)i);
		}
		return;
	}
	int64_t from = vec_at(&lv->segments, (uint32_t)pos), to = vec_at(&lv->segments, (uint32_t)pos + 1);
	for (int64_t k = from; k < to; k++) {
		w->coord[e] = vec_at(&lv->indices, (uint32_t)k);
		visit(w, l + 1, (size_t)k);
	}
}

static const char *vec_type_name(int type)
{
	switch (type) {
	case NN_SPARSE_VEC_I32: return "int32";
	case NN_SPARSE_VEC_U16: return "uint16";
	case NN_SPARSE_VEC_U8: return "uint8";
	default: return "none";
	}
}

int nn_sparse_densify(const nn_sparsity *sp, int rank, const int *shape, size_t esize, const void *values,
		      size_t n_values, void *dense, char *why, size_t whylen)
{
	walk w;
	memset(&w, 0, sizeof w);
	w.sp = sp;
	w.rank = rank;
	w.esize = esize;
	w.values = values;
	w.dense = dense;
	if (rank < 1 || rank > NN_MAX_RANK)
		return fail(why, whylen, "a sparse tensor of rank %d, expected 1 to %d", rank, NN_MAX_RANK);
	if (sp->n_blocks < 0 || sp->n_blocks > rank)
		return fail(why, whylen, "%d block dimensions for a tensor of rank %d, expected at most %d", sp->n_blocks,
			    rank, rank);
	int L = rank + sp->n_blocks;
	w.n_levels = L;
	if (sp->n_levels != L)
		return fail(why, whylen, "traversal_order has %d entries, expected %d (rank %d plus %d block dimensions)",
			    sp->n_levels, L, rank, sp->n_blocks);

	/* traversal must be a permutation of the expanded dimensions. */
	int level_of[NN_SPARSE_MAX_LEVELS];
	for (int e = 0; e < L; e++)
		level_of[e] = -1;
	for (int l = 0; l < L; l++) {
		int e = sp->traversal[l];
		if (e < 0 || e >= L || level_of[e] >= 0)
			return fail(why, whylen, "traversal_order[%d] is %d: not a permutation of 0..%d", l, e, L - 1);
		level_of[e] = l;
		w.dim_of_level[l] = e;
	}

	/* Block dimensions: dense levels whose size divides the original dimension. */
	for (int d = 0; d < rank; d++) {
		w.block_of[d] = -1;
		w.size[d] = shape[d];
		if (shape[d] < 1)
			return fail(why, whylen, "dimension %d of the dense shape is %d, expected >= 1", d, shape[d]);
	}
	for (int j = 0; j < sp->n_blocks; j++) {
		int d = sp->block_map[j];
		if (d < 0 || d >= rank || w.block_of[d] >= 0)
			return fail(why, whylen, "block_map[%d] is %d: expected a distinct dimension 0..%d", j, d, rank - 1);
		const nn_sparse_level *lv = &sp->levels[level_of[rank + j]];
		if (lv->csr || lv->dense_size < 1 || shape[d] % lv->dense_size != 0)
			return fail(why, whylen,
				    "block dimension %d (of dimension %d, size %d) must be DENSE with a size that divides "
				    "%d; it is %s of size %d",
				    rank + j, d, shape[d], shape[d], lv->csr ? "SPARSE_CSR" : "DENSE", (int)lv->dense_size);
		w.block_of[d] = rank + j;
		w.size[rank + j] = lv->dense_size;
		w.size[d] = shape[d] / lv->dense_size;
	}
	w.stride[rank - 1] = 1;
	for (int d = rank - 2; d >= 0; d--)
		w.stride[d] = w.stride[d + 1] * shape[d + 1];

	/*
	 * Positions per level: one before the first; a DENSE level multiplies
	 * them by its size, a CSR level has one per index. The count never
	 * exceeds the dense element count (DENSE levels) or the index arrays'
	 * lengths (CSR levels), so it fits comfortably in 64 bits.
	 */
	int64_t positions = 1;
	for (int l = 0; l < L; l++) {
		const nn_sparse_level *lv = &sp->levels[l];
		int e = w.dim_of_level[l];
		if (!lv->csr) {
			if (lv->dense_size != w.size[e])
				return fail(why, whylen, "dim_metadata[%d] is DENSE of size %d, expected %lld (expanded dimension %d)",
					    l, (int)lv->dense_size, (long long)w.size[e], e);
			positions *= w.size[e];
			if (positions > (INT64_C(1) << 40))
				return fail(why, whylen, "dim_metadata[%d]: the walk reaches more than 2^40 positions", l);
			continue;
		}
		const nn_sparse_vec *sg = &lv->segments, *ix = &lv->indices;
		if (sg->type < NN_SPARSE_VEC_I32 || sg->type > NN_SPARSE_VEC_U8 || !sg->data ||
		    ix->type < NN_SPARSE_VEC_I32 || ix->type > NN_SPARSE_VEC_U8 || (!ix->data && ix->n))
			return fail(why, whylen, "dim_metadata[%d] is SPARSE_CSR without array_segments and array_indices "
				    "of int32, uint16 or uint8 (types %d and %d)",
				    l, sg->type, ix->type);
		if ((int64_t)sg->n != positions + 1)
			return fail(why, whylen, "dim_metadata[%d]: array_segments has %u entries, expected %lld (one more than "
				    "the %lld positions of the level above)",
				    l, sg->n, (long long)positions + 1, (long long)positions);
		if (vec_at(sg, 0) != 0)
			return fail(why, whylen, "dim_metadata[%d]: array_segments[0] is %lld, expected 0", l,
				    (long long)vec_at(sg, 0));
		for (uint32_t i = 1; i < sg->n; i++)
			if (vec_at(sg, i) < vec_at(sg, i - 1))
				return fail(why, whylen, "dim_metadata[%d]: array_segments[%u] = %lld is below the entry before it (%lld)",
					    l, i, (long long)vec_at(sg, i), (long long)vec_at(sg, i - 1));
		if (vec_at(sg, sg->n - 1) != (int64_t)ix->n)
			return fail(why, whylen, "dim_metadata[%d]: array_segments ends at %lld, but array_indices (%s) has %u entries",
				    l, (long long)vec_at(sg, sg->n - 1), vec_type_name(ix->type), ix->n);
		for (uint32_t i = 0; i < ix->n; i++) {
			int64_t v = vec_at(ix, i);
			if (v < 0 || v >= w.size[e])
				return fail(why, whylen, "dim_metadata[%d]: array_indices[%u] = %lld is outside expanded dimension %d "
					    "of size %lld",
					    l, i, (long long)v, e, (long long)w.size[e]);
		}
		positions = ix->n;
	}
	if ((uint64_t)positions != (uint64_t)n_values)
		return fail(why, whylen, "the sparsity describes %lld values, but the buffer holds %zu", (long long)positions,
			    n_values);
	if (n_values)
		visit(&w, 0, 0);
	return 0;
}
