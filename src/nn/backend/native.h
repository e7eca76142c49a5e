#ifndef NN_NATIVE_H
#define NN_NATIVE_H

/*
 * vigil's own vectorised kernels: the third backend of the executor, tried
 * before XNNPACK for the few node shapes where XNNPACK's generic kernels
 * leave most of the CPU idle (native_window.c says which and why). A node
 * they do not take goes on to XNNPACK, then to the reference kernels. They
 * need AVX-512F at run time; on other CPUs they take no node.
 */

#include <pthreadpool.h>

#include "nn/graph.h"

/* Whether this CPU can run the native kernels. */
int nn_native_available(void);

/*
 * Creates node n's native kernel when one fits (its tensors already point at
 * their data) and stores it in n->backend. Returns 1 when taken; 0 when not
 * (why says why); NN_ERR_NOMEM on allocation failure.
 */
int nn_native_create(nn_graph *g, nn_node *n, char *why, size_t whylen);

/* Runs node n's native kernel, split over the pool's threads. */
void nn_native_run(nn_node *n, pthreadpool_t pool);

/*
 * SILU over count floats in place, split over the pool's threads: for a
 * fused SILU after a convolution that XNNPACK runs. Only where
 * nn_native_available() says so.
 */
void nn_native_silu_inplace(float *y, size_t count, pthreadpool_t pool);

/* Frees node n's native kernel; n->backend becomes NULL. */
void nn_native_destroy(nn_node *n);

#endif
