#ifndef NN_REF_ONNX_OPS_H
#define NN_REF_ONNX_OPS_H

/*
 * Internal to the reference kernels: the ops ONNX graphs brought in (issue
 * 12). pointwise.c: EXP, LOG, NEG, ABS, ERF, ELU, CLAMP, SILU, LOGICAL_NOT,
 * POW, GREATER, LESS, LOGICAL_AND, SELECT. layout.c: REDUCE_MAX/MIN/SUM,
 * TILE, BROADCAST_TO, GATHER_ELEMENTS, SPACE_TO_DEPTH. supports returns 1,
 * or 0 with the reason in why; run is called only after supports accepted
 * the node and every tensor with elements has data.
 */

#include <stddef.h>

#include "nn/graph.h"

int nn_ref_pointwise_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen);
int nn_ref_pointwise_run(nn_graph *g, const nn_node *n, char *err, size_t errlen);

int nn_ref_layout_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen);
int nn_ref_layout_run(nn_graph *g, const nn_node *n, char *err, size_t errlen);

/*
 * NumPy broadcasting of up to three inputs to an output shape: per input, the
 * element stride along each output dimension (0 where the input stretches).
 * nn_ref_bcast_init returns 0, or -1 when an input does not broadcast to out.
 */
typedef struct nn_ref_bcast {
	int rank, n;
	int shape[NN_MAX_RANK];
	size_t stride[3][NN_MAX_RANK];
} nn_ref_bcast;

int nn_ref_bcast_init(nn_ref_bcast *b, const nn_tensor *const *in, int n_in, const nn_tensor *out);

#endif
