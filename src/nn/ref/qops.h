#ifndef NN_REF_QOPS_H
#define NN_REF_QOPS_H

/*
 * Internal to the reference kernels: ONNX's matrix product and run-time
 * quantization (issue 12). batch_matmul.c: BATCH_MATMUL in float32, in
 * integers (MatMulInteger: int32 output, zero points as inputs 2 and 3) and
 * quantized (QLinearMatMul). dynquant.c: DYNAMIC_QUANTIZE. supports returns
 * 1, or 0 with the reason in why; run is called only after supports accepted
 * the node and every tensor with elements has data.
 */

#include <stddef.h>

#include "nn/graph.h"

int nn_ref_batch_matmul_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen);
int nn_ref_batch_matmul_run(nn_graph *g, const nn_node *n, char *err, size_t errlen);

int nn_ref_dynquant_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen);
int nn_ref_dynquant_run(nn_graph *g, const nn_node *n, char *err, size_t errlen);

#endif
