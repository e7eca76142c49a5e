#ifndef NN_MODEL_H
#define NN_MODEL_H

/*
 * Internals of nn_model for the engine's own tools (vigil inspect, vigil bench
 * --profile), its tests and its other loaders. Not part of the public API in
 * nn.h: these may change with the engine.
 */

#include "nn/graph.h"

/*
 * Wraps a graph built by hand or by a loader in a model. The model takes
 * ownership of g, also on failure (then g is freed).
 */
int nn_model_from_graph(nn_model **out, nn_graph *g, char *err, size_t errlen);

/* The model's graph. After nn_model_prepare it is the graph after the passes: folded and fused nodes are gone. */
nn_graph *nn_model_graph(const nn_model *m);

/* "reference", "xnnpack" or "native". */
const char *nn_backend_name(nn_backend b);

/* "native", "xnnpack" or "reference" for node i after nn_model_prepare; "none" before it or for a bad index. */
const char *nn_model_node_backend(const nn_model *m, int i);

/*
 * Per-node timing. While profiling is on, nn_model_run measures every node
 * with the monotonic clock (which costs two clock reads per node, so it is
 * off by default); nn_model_node_time_us then gives node i's time in the
 * last run, in microseconds, or -1 when not measured.
 */
void nn_model_set_profiling(nn_model *m, int on);
double nn_model_node_time_us(const nn_model *m, int i);

/*
 * Estimated floating-point (or integer) operations per inference: 2 * MACs
 * for convolutions and fully connected layers, one per output element for
 * elementwise ops and activations, one per input element read by pools and
 * means; data movement (reshape, pad, concatenation) counts zero.
 */
int64_t nn_model_flops(const nn_model *m);

/* Bytes of the activation arena, after nn_model_prepare. */
size_t nn_model_arena_bytes(const nn_model *m);

#endif
