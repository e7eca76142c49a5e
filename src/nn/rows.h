#ifndef NN_ROWS_H
#define NN_ROWS_H

/*
 * Tensors whose row count is known only at run time (nn_tensor's
 * dynamic_rows): ONNX NonMaxSuppression's selected indices, and what the few
 * ops that keep dimension 0 make of them. shape[0] is the capacity the arena
 * holds; rows is what the last run filled.
 */

#include <stddef.h>

#include "nn/graph.h"

/*
 * Marks every dynamic-row tensor of the graph (after the passes, before the
 * arena is planned) and refuses, with a message naming the node, a graph in
 * which one is read by an op that cannot pass its row count on. Ops that can:
 * CAST; RESHAPE and STRIDED_SLICE keeping dimension 0; GATHER along another
 * axis than 0 of dynamic data, or along axis 0 with dynamic indices;
 * CONCATENATION along another axis than 0; and the elementwise ADD, SUB, MUL,
 * DIV, MAXIMUM, MINIMUM, LOGISTIC, EXP, NEG, ABS, CLAMP, SILU, RELU and TANH where every
 * dynamic-row input has the output's rank and rows (no broadcast of dimension
 * 0). The rows past the count are zeros out of NON_MAX_SUPPRESSION and
 * whatever these ops make of zeros after it: never read as results.
 */
int nn_rows_plan(nn_graph *g, char *err, size_t errlen);

/* After a run: passes the counts the kernels set (NON_MAX_SUPPRESSION) on through the nodes, in order. */
void nn_rows_propagate(nn_graph *g);

/* Whether node n can pass on the row count of its dynamic-row input(s); sets *why to the reason when not. */
int nn_rows_passes(const nn_graph *g, const nn_node *n, const char **why);

#endif
