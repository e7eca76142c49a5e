#ifndef NN_SLICE_SPEC_H
#define NN_SLICE_SPEC_H

/*
 * Pieces shared by the TensorFlow graph readers and the TFLite loader, which
 * write the same operators: a StridedSlice resolved against its input's
 * shape, and the one dilated convolution that a SpaceToBatchND, a
 * convolution and a BatchToSpaceND make together. Both are pure functions:
 * they fill a result, or write why not into why and return an NN_ERR code.
 */

#include <stddef.h>
#include <stdint.h>

#include "nn/graph.h"

#define NN_SLICE_MAX_SPEC (2 * NN_MAX_RANK)

typedef struct nn_slice_spec {
	int begin[NN_MAX_RANK];          /* canonical begin per input dimension */
	int stride[NN_MAX_RANK];         /* stride per input dimension (non-zero) */
	int64_t shape[NN_MAX_RANK];      /* extent per input dimension: the IR slice's output shape */
	int64_t final[NN_MAX_RANK];      /* the result's shape after shrink and new axes */
	int final_rank;
} nn_slice_spec;

typedef struct nn_slice_masks {
	int64_t begin, end, ellipsis, new_axis, shrink_axis;
} nn_slice_masks;

/*
 * Resolves StridedSlice (m begin/end/stride values and the five masks) over
 * an input of the given shape, as TensorFlow's ValidateStridedSliceOp does:
 * the sparse spec (with its ellipsis and new axes) becomes a dense one over
 * the input's dimensions. Returns 0, or an NN_ERR code with the reason in why.
 */
int nn__slice_resolve(const int *shape, int rank, const int64_t *begin, const int64_t *end, const int64_t *strides,
		      int m, nn_slice_masks masks, nn_slice_spec *out, char *why, size_t whylen);

/*
 * The dilation and explicit padding of the one convolution that does what
 * SpaceToBatchND (block, paddings [top, bottom, left, right]), a stride-1
 * convolution (kernel k[2], SAME or VALID) and BatchToSpaceND (same block,
 * crops) do together, for an input of in[2] (height, width). Fills
 * before[2], after[2] and out[2]. Returns 0, or an NN_ERR code with the reason in why.
 */
int nn__dilated_conv(const int64_t in[2], const int64_t k[2], int same, const int64_t block[2], const int64_t pads[4],
		     const int64_t crops[4], int64_t max_param, int64_t before[2], int64_t after[2], int64_t out[2],
		     char *why, size_t whylen);

#endif
