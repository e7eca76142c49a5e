#ifndef NN_REF_SHAPE_OPS_H
#define NN_REF_SHAPE_OPS_H

/*
 * Internal to the kernels of the indexing, layout and integer ops
 * (shape.c, cast.c, topk.c, broadcast.c). shape.c dispatches to the others.
 *
 * Each op has a check and a run. check validates everything that does not
 * depend on tensor values (counts of inputs and outputs, dtypes, parameters,
 * shapes) so that run can never read or write out of bounds; it returns 0, or
 * a negative code with the reason written to msg. run is called only after
 * check accepted the node and every tensor with elements has data; it fails
 * only on values (an index out of range, an integer division by zero).
 */

#include "nn/ref/quant.h"

int nn_ref_cast_check(const nn_graph *g, const nn_node *n, char *msg, size_t len);
int nn_ref_cast_run(nn_graph *g, const nn_node *n, char *err, size_t errlen);

int nn_ref_topk_check(const nn_graph *g, const nn_node *n, char *msg, size_t len);
int nn_ref_topk_run(nn_graph *g, const nn_node *n, char *err, size_t errlen);

/* FLOOR_DIV, FLOOR_MOD and EQUAL. */
int nn_ref_broadcast_check(const nn_graph *g, const nn_node *n, char *msg, size_t len);
int nn_ref_broadcast_run(nn_graph *g, const nn_node *n, char *err, size_t errlen);

static inline int nn_ref_is_int_dtype(nn_dtype t)
{
	return t == NN_U8 || t == NN_I8 || t == NN_I16 || t == NN_I32 || t == NN_I64;
}

#endif
