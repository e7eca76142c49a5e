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

/* A sliding window over a float32 NHWC image, as the native kernels read it. */
typedef struct nn_native_window {
	const float *x;           /* input: batch x ih x iw x ci */
	float *y;                 /* output: batch x oh x ow x co */
	int batch, ih, iw, ci, oh, ow, co;
	int kh, kw, stride;       /* stride 1 or 2, the same on both axes */
	int pad_top, pad_left;    /* padding before the first row and column */
	float lo, hi;             /* the fused activation's clamp */
	int silu;                 /* 1: SILU after the clamp (NN_ACT_SILU; the clamp is then open) */
} nn_native_window;

/*
 * What every native kernel needs of node n's window: float32 NHWC input 0
 * and output 0, a kh x kw window at stride 1 or 2 on both axes without
 * dilation, a fused activation that is a clamp or SILU, valid padding, and an output
 * of the shape these give with co channels. Fills *win; returns 1, or 0 with
 * why set.
 */
int nn_native_window_of(const nn_graph *g, const nn_node *n, int kh, int kw, int stride_h, int stride_w,
			int dilation_h, int dilation_w, nn_padding padding, const int pads[4], nn_activation act,
			int co, nn_native_window *win, char *why, size_t whylen);

/*
 * The same for a CONV2D or DEPTHWISE_CONV2D node, from its parameters and
 * filter, which must be a constant float32 tensor, as must the bias when
 * there is one (*b is NULL when not). A depthwise filter must have a depth
 * multiplier of 1, a dense one no groups.
 */
int nn_native_conv_window(const nn_graph *g, const nn_node *n, nn_native_window *win, const nn_tensor **w,
			  const nn_tensor **b, char *why, size_t whylen);

/* Writes why a kernel does not take a node and gives 0, a constructor's "not taken". */
#define nn_native_reject(why, whylen, ...) nn_graph_fail(why, whylen, 0, __VA_ARGS__)

/*
 * Each kernel's constructor: 1 and *out set when it takes node n, 0 with why
 * set when it does not, NN_ERR_NOMEM when out of memory.
 */
int nn_native_dwconv_create(nn_graph *g, nn_node *n, nn_native_op **out, char *why, size_t whylen);
int nn_native_maxpool_create(nn_graph *g, nn_node *n, nn_native_op **out, char *why, size_t whylen);
int nn_native_pointwise_create(nn_graph *g, nn_node *n, nn_native_op **out, char *why, size_t whylen);
int nn_native_stem_create(nn_graph *g, nn_node *n, nn_native_op **out, char *why, size_t whylen);
int nn_native_conv_create(nn_graph *g, nn_node *n, nn_native_op **out, char *why, size_t whylen);
int nn_native_silu_create(nn_graph *g, nn_node *n, nn_native_op **out, char *why, size_t whylen);
int nn_native_transpose_create(nn_graph *g, nn_node *n, nn_native_op **out, char *why, size_t whylen);
/* Any other TRANSPOSE that is a block reordering or a batch of 2-D transposes (native_permute.c). */
int nn_native_permute_create(nn_graph *g, nn_node *n, nn_native_op **out, char *why, size_t whylen);
/* STRIDED_SLICE of 4-byte elements with positive strides (native_slice.c). */
int nn_native_slice_create(nn_graph *g, nn_node *n, nn_native_op **out, char *why, size_t whylen);
int nn_native_space_to_depth_create(nn_graph *g, nn_node *n, nn_native_op **out, char *why, size_t whylen);

#endif
