/*
 * Graph rewrites that nn_model_prepare runs between loading and planning.
 * Every format's graph goes through the same passes; a format reader never
 * calls them itself.
 */
#ifndef NN_PASS_H
#define NN_PASS_H

#include <stddef.h>

#include "nn/graph.h"

/* Graph passes, in the order nn_model_prepare runs them. Each returns 0 or a negative code. */
int nn_pass_fold_constants(nn_graph *g, char *err, size_t errlen);
int nn_pass_fuse_activations(nn_graph *g, char *err, size_t errlen);
/* A zero PAD of H and W read only by a VALID or explicitly padded convolution becomes that convolution's padding. */
int nn_pass_fuse_pad(nn_graph *g, char *err, size_t errlen);
/* A channel shuffle's RESHAPE/TRANSPOSE chain and GATHER of one index into a STRIDED_SLICE (pass/shuffle.c). */
int nn_pass_shuffle_slices(nn_graph *g, char *err, size_t errlen);
/* Cancels the TRANSPOSEs of NCHW-converted graphs around layout-free ops (pass/layout.c; runs second). */
int nn_pass_fold_transposes(nn_graph *g, char *err, size_t errlen);
/* Pads and per-channel ADDs into convolutions, spelled-out hard swish into HARD_SWISH (pass/fuse.c; runs last). */
int nn_pass_fuse_ops(nn_graph *g, char *err, size_t errlen);


#endif
