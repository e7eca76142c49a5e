#ifndef NN_XNN_H
#define NN_XNN_H

/* The XNNPACK side of the executor: one or a few XNNPACK operators per graph node. */

#include <pthreadpool.h>

#include "nn/graph.h"

/* Initialises XNNPACK once per process (thread-safe). */
int nn_xnn_init(char *err, size_t errlen);

/*
 * Creates and sets up the XNNPACK operator(s) for node n, whose tensors
 * already point at their data (the arena must not move afterwards), and
 * stores them in n->backend. Returns 1 when created; 0 when XNNPACK cannot
 * take this node (why says what it lacks; the caller falls back to the
 * reference kernel); a negative code with err set on a real failure.
 */
int nn_xnn_create(nn_graph *g, nn_node *n, pthreadpool_t pool, char *why, size_t whylen, char *err,
		  size_t errlen);

/* Runs node n's operators. Returns 0 or NN_ERR_BACKEND with err set. */
int nn_xnn_run(nn_node *n, pthreadpool_t pool, char *err, size_t errlen);

/* Deletes node n's operators and buffers; n->backend becomes NULL. */
void nn_xnn_destroy(nn_node *n);

#endif
