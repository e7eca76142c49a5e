#ifndef NN_SPARSITY_H
#define NN_SPARSITY_H

/*
 * Sparse constant tensors in TensorFlow Lite's format (SparsityParameters),
 * expanded once at load time into dense data. Internal to the engine.
 *
 * A tensor of dense shape [d_0, ..., d_{r-1}] may have some of its
 * dimensions cut into blocks: block_map[j] names the original dimension
 * that block dimension r + j belongs to, which leaves r + n_blocks
 * "expanded" dimensions (a blocked dimension d holds d / block of them,
 * block dimension r + j holds the block size). The values are stored by
 * walking the expanded dimensions in traversal order; level i of the walk
 * is over expanded dimension traversal[i] and is described by dims[i]:
 * DENSE (every index 0..dense_size-1) or SPARSE_CSR (for each position of
 * the previous level p, the indices array_indices[segments[p] ..
 * segments[p+1]-1]). The stored values are the leaves of the walk, in order.
 */

#include <stddef.h>
#include <stdint.h>

#include "nn/nn.h"

#define NN_SPARSE_MAX_LEVELS (2 * NN_MAX_RANK)

/* Element types of the segment and index arrays, as TFLite's SparseIndexVector union tags them. */
enum {
	NN_SPARSE_VEC_NONE = 0,
	NN_SPARSE_VEC_I32 = 1,
	NN_SPARSE_VEC_U16 = 2,
	NN_SPARSE_VEC_U8 = 3,
};

typedef struct nn_sparse_vec {
	int type;             /* NN_SPARSE_VEC_*; NONE when absent */
	const void *data;     /* little-endian elements, any alignment */
	uint32_t n;
} nn_sparse_vec;

typedef struct nn_sparse_level {
	int csr;              /* 0 DENSE, 1 SPARSE_CSR */
	int32_t dense_size;   /* DENSE */
	nn_sparse_vec segments, indices; /* SPARSE_CSR */
} nn_sparse_level;

typedef struct nn_sparsity {
	int n_levels;         /* the tensor's rank plus n_blocks */
	int traversal[NN_SPARSE_MAX_LEVELS];
	int n_blocks;
	int block_map[NN_MAX_RANK];
	nn_sparse_level levels[NN_SPARSE_MAX_LEVELS];
} nn_sparsity;

/*
 * Expands n_values values of esize bytes each into dense, a zeroed array of
 * the tensor's shape (rank, shape). Checks the whole description first:
 * traversal a permutation, blocks that divide their dimensions, DENSE sizes
 * equal to their dimensions, CSR segments that start at 0, never decrease and
 * end at the number of indices, indices inside their dimension, and exactly
 * n_values leaves. Returns 0, or NN_ERR_FORMAT with the reason in why (which
 * names the level or dimension at fault).
 */
int nn_sparse_densify(const nn_sparsity *sp, int rank, const int *shape, size_t esize, const void *values,
		      size_t n_values, void *dense, char *why, size_t whylen);

#endif
