#ifndef NN_NATIVE_INTERNAL_H
#define NN_NATIVE_INTERNAL_H

/* What native.c shares with the kernels it dispatches to. */

#include <stddef.h>

#include "nn/graph.h"

/*
 * One node's native kernel: `tasks` independent pieces of work (an output
 * row, a run of pixels), each run by run_task as a pthreadpool task, so
 * possibly in parallel. When prepare_task is set, its prepare_tasks pieces
 * (copying the input into a padded buffer) all run first. A kernel's own
 * state follows this header in the same allocation; `scratch` and
 * `scratch2` are buffers it may own. All are freed by nn_native_destroy.
 */
typedef struct nn_native_op {
	void (*run_task)(void *op, size_t task);
	size_t tasks;
	void (*prepare_task)(void *op, size_t task);
	size_t prepare_tasks;
	void *scratch, *scratch2;
} nn_native_op;

/*
 * Each kernel's constructor: 1 and *out set when it takes node n, 0 with why
 * set when it does not, NN_ERR_NOMEM when out of memory.
 */
int nn_native_dwconv_create(nn_graph *g, nn_node *n, nn_native_op **out, char *why, size_t whylen);
int nn_native_maxpool_create(nn_graph *g, nn_node *n, nn_native_op **out, char *why, size_t whylen);
int nn_native_pointwise_create(nn_graph *g, nn_node *n, nn_native_op **out, char *why, size_t whylen);
int nn_native_stem_create(nn_graph *g, nn_node *n, nn_native_op **out, char *why, size_t whylen);
int nn_native_conv_create(nn_graph *g, nn_node *n, nn_native_op **out, char *why, size_t whylen);

#endif
