#ifndef NN_EXEC_H
#define NN_EXEC_H

/*
 * The executor: checks a graph's structure, plans the activation arena and
 * runs each node on XNNPACK or on the reference kernels. Used by model.c;
 * planning is exposed for the tests.
 */

#include <pthreadpool.h>

#include "nn/graph.h"

/* Placement of a tensor that gets no arena space: constants and tensors no node reads or writes. */
#define NN_NO_OFFSET SIZE_MAX

/*
 * Checks what later stages rely on: every tensor index in range, shapes
 * valid, constants with data, quantization arrays consistent with shapes.
 * Run it before the passes, which index tensors without checking.
 */
int nn_exec_check_graph(const nn_graph *g, char *err, size_t errlen);

/*
 * Plans the arena: offsets[t] for every tensor (NN_NO_OFFSET when it gets
 * none) and the arena's size. Tensors whose lifetimes overlap never share
 * bytes; graph inputs and outputs live for the whole run. Fails when a node
 * reads a tensor nothing has written yet, or two nodes write one tensor.
 */
int nn_exec_plan(const nn_graph *g, size_t *offsets, size_t *arena_bytes, char *err, size_t errlen);

/* nn_exec_prepare's flags. */
enum {
	NN_EXEC_REFERENCE_ONLY = 1, /* every node on the reference kernels */
	NN_EXEC_NO_NATIVE = 2,      /* XNNPACK or reference, never the native kernels */
};

/*
 * Points every non-constant tensor into arena (planned by nn_exec_plan) and
 * creates each node's backend: the native kernels (native.h) when one takes
 * the node, else XNNPACK when it can, else the reference kernel, else an
 * error. flags narrow that choice.
 */
int nn_exec_prepare(nn_graph *g, const size_t *offsets, void *arena, int flags,
		    pthreadpool_t pool, char *err, size_t errlen);

/* Runs every node in order. node_us, when not NULL, receives each node's time in microseconds. */
int nn_exec_run(nn_graph *g, pthreadpool_t pool, double *node_us, char *err, size_t errlen);

/* Releases the nodes' backend state (XNNPACK operators and their buffers). */
void nn_exec_release(nn_graph *g);

/* Writes "node 12 'name' (CONV2D)" into buf, for messages. */
const char *nn_node_desc(const nn_graph *g, int i, char *buf, size_t len);

/* A tensor's name for messages: its name, or "#index" when it has none. */
const char *nn_tensor_desc(const nn_graph *g, int t, char *buf, size_t len);

/* A reference kernel's message without its leading "OP 'name': ", which nn_node_desc replaces. */
const char *nn_exec_ref_message(const nn_node *n, const char *msg);

#endif
