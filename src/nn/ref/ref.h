#ifndef NN_REF_H
#define NN_REF_H

/*
 * Plain-C reference kernels: one per op, for every dtype the op supports.
 * They are the fallback for what XNNPACK lacks and the oracle the XNNPACK
 * path is tested against, so they favour clarity over speed.
 */

#include "nn/graph.h"

/*
 * Whether node n can run on the reference kernels (its op, dtypes and
 * parameters). On 0, why says what is missing ("CONV2D with int16 input").
 */
int nn_ref_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen);

/* Runs node n: reads its inputs' data, writes its outputs' data (already allocated). */
int nn_ref_run(nn_graph *g, const nn_node *n, char *err, size_t errlen);

#endif
