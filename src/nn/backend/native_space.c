/*
 * Float SPACE_TO_DEPTH (NHWC): the second half of YOLOX's Focus once
 * pass/fuse.c has made it one (3 channels, blocks of 2). The reference kernel
 * copies each pixel's C channels with a memcpy of run-time size, 170,000 calls
 * for YOLOX's 416x416 input; here one task per output row copies runs of
 * block * C floats (a block's row is contiguous in the input) with a loop the
 * compiler unrolls for the common sizes.
 */
#include <stdlib.h>

#include "nn/backend/native_internal.h"
#include "nn/backend/native_simd.h"

#ifdef NN_NATIVE_SIMD

typedef struct space {
	nn_native_op base;
	const float *x;
	float *y;
	int ih, iw, c, oh, ow, bs;
} space;

/* Copies n floats; n is a compile-time constant at the call sites below. */
INLINE void copy_run(float *restrict d, const float *restrict s, const int n)
{
	for (int j = 0; j < n; j++)
		d[j] = s[j];
}

/* Output row `task` (over the batch): block row by of each output pixel from input row y * bs + by. */
static void space_task(void *op, size_t task)
{
	const space *d = op;
	const size_t b = task / (size_t)d->oh, y = task % (size_t)d->oh;
	const size_t run = (size_t)d->bs * d->c, out_pixel = run * d->bs;
	float *out = d->y + task * (size_t)d->ow * out_pixel;
	for (int by = 0; by < d->bs; by++) {
		const float *in = d->x + ((b * d->ih + y * d->bs + (size_t)by) * d->iw) * d->c;
		float *o = out + (size_t)by * run;
		if (run == 6) {
			for (int x = 0; x < d->ow; x++, in += 6, o += out_pixel)
				copy_run(o, in, 6);
		} else {
			for (int x = 0; x < d->ow; x++, in += run, o += out_pixel)
				copy_run(o, in, (int)run);
		}
	}
}

int nn_native_space_to_depth_create(nn_graph *g, nn_node *n, nn_native_op **out, char *why, size_t whylen)
{
	*out = NULL;
	if (n->n_inputs != 1 || n->n_outputs != 1 || n->inputs[0] < 0)
		return nn_native_reject(why, whylen, "expected one input and one output");
	const nn_tensor *x = &g->tensors[n->inputs[0]], *y = &g->tensors[n->outputs[0]];
	const int bs = n->p.space.block_size;
	if (x->dtype != NN_F32 || y->dtype != NN_F32 || x->rank != 4 || y->rank != 4 || !x->data || !y->data)
		return nn_native_reject(why, whylen, "not float32 NHWC images");
	if (bs < 1 || bs > 64 || x->shape[1] % bs || x->shape[2] % bs || y->shape[0] != x->shape[0] ||
	    y->shape[1] != x->shape[1] / bs || y->shape[2] != x->shape[2] / bs ||
	    (int64_t)y->shape[3] != (int64_t)x->shape[3] * bs * bs || x->shape[0] <= 0 || x->shape[3] <= 0 ||
	    y->shape[1] <= 0 || y->shape[2] <= 0)
		return nn_native_reject(why, whylen, "output is not the input with %dx%d blocks moved to depth", bs, bs);
	space *d = calloc(1, sizeof *d);
	if (!d)
		return NN_ERR_NOMEM;
	d->x = x->data, d->y = y->data;
	d->ih = x->shape[1], d->iw = x->shape[2], d->c = x->shape[3], d->oh = y->shape[1], d->ow = y->shape[2];
	d->bs = bs;
	d->base.run_task = space_task;
	d->base.tasks = (size_t)x->shape[0] * d->oh;
	*out = &d->base;
	return 1;
}

#endif /* NN_NATIVE_SIMD */
