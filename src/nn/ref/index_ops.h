#ifndef NN_REF_INDEX_OPS_H
#define NN_REF_INDEX_OPS_H

/*
 * Internal to the reference kernels: the ops TensorFlow Lite's pose and
 * detection models added (index_ops.c: DEPTH_TO_SPACE, ARG_MAX, PACK,
 * UNPACK, GATHER_ND, integer CONCATENATION; math_ops.c: SQRT and integer
 * ADD, SUB and MUL). supports returns 1, or 0 with the reason in why; run is
 * called only after supports accepted the node.
 */

#include "nn/graph.h"

int nn_ref_index_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen);
int nn_ref_index_run(nn_graph *g, const nn_node *n, char *err, size_t errlen);

int nn_ref_math_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen);
int nn_ref_math_run(nn_graph *g, const nn_node *n, char *err, size_t errlen);

/* Whether a node's first input holds plain integers (int32 or int64), which the integer kernels take. */
int nn_ref_is_integer_node(const nn_graph *g, const nn_node *n);

#endif
