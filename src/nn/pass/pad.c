/*
 * Folds a zero PAD of the spatial dimensions into the convolution that reads
 * it. MediaPipe's detectors pad every strided depthwise convolution's input
 * by hand (zero_padding2d, then a VALID convolution): as a PAD node that is a
 * full copy of the activation, up to a third of the sparse full-range face
 * detector's time. A convolution with explicit padding reads the unpadded
 * input and pads as it goes, with zeros in the real domain (the zero point
 * for quantized tensors), which is exactly what the PAD wrote.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/graph.h"
#include "nn/pass/pass.h"

/* Whether the PAD's value input, if any, is the real zero of x: 0.0 for float, the zero point when quantized. */
static int pads_with_zero(const nn_graph *g, const nn_node *pad, const nn_tensor *x)
{
	/* ONNX's reflect and edge modes and a non-zero constant are not a convolution's padding. */
	if (pad->p.pad.mode != NN_PAD_CONSTANT || pad->p.pad.value != 0.0f)
		return 0;
	if (pad->n_inputs < 2 || pad->inputs[1] < 0)
		return 1;
	const nn_tensor *v = &g->tensors[pad->inputs[1]];
	if (!v->is_const || !v->data || nn_tensor_elements(v) != 1 || v->dtype != x->dtype)
		return 0;
	switch (x->dtype) {
	case NN_F32:
		return *(const float *)v->data == 0.0f;
	case NN_U8:
		return x->quant.count == 1 && *(const uint8_t *)v->data == x->quant.zero_point[0];
	case NN_I8:
		return x->quant.count == 1 && *(const int8_t *)v->data == x->quant.zero_point[0];
	default:
		return 0;
	}
}

int nn_pass_fuse_pad(nn_graph *g, char *err, size_t errlen)
{
	if (g->n_nodes == 0)
		return 0;
	int *readers = calloc((size_t)g->n_tensors + 1, sizeof *readers);
	unsigned char *removed = calloc((size_t)g->n_nodes, 1);
	if (!readers || !removed) {
		free(readers);
		free(removed);
		return nn_graph_fail(err, errlen, NN_ERR_NOMEM, "%s: out of memory fusing padding", g->source);
	}
	nn_graph_index_uses(g, NULL, NULL, readers);

	int n_removed = 0;
	for (int i = 0; i < g->n_nodes; i++) {
		nn_node *c = &g->nodes[i];
		if ((c->op != NN_OP_CONV2D && c->op != NN_OP_DEPTHWISE_CONV2D) || c->n_inputs < 1 || c->inputs[0] < 0)
			continue;
		nn_conv_params *cp = &c->p.conv;
		if (cp->padding != NN_PADDING_VALID && cp->padding != NN_PADDING_EXPLICIT)
			continue;
		int y = c->inputs[0];
		if (readers[y] != 1 || nn_graph_is_output(g, y) || g->tensors[y].is_const)
			continue;
		/* The PAD that writes y runs earlier; nodes are in execution order. */
		int p = -1;
		for (int j = i - 1; j >= 0 && p < 0; j--)
			if (!removed[j] && g->nodes[j].n_outputs == 1 && g->nodes[j].outputs[0] == y)
				p = j;
		if (p < 0 || g->nodes[p].op != NN_OP_PAD || g->nodes[p].n_inputs < 1 || g->nodes[p].inputs[0] < 0)
			continue;
		const nn_node *pad = &g->nodes[p];
		const nn_tensor *x = &g->tensors[pad->inputs[0]], *yt = &g->tensors[y];
		const int(*pp)[2] = pad->p.pad.pads;
		if (x->rank != 4 || yt->rank != 4 || !nn_tensor_same_encoding(x, yt) || !pads_with_zero(g, pad, x) ||
		    pp[0][0] || pp[0][1] || pp[3][0] || pp[3][1] || pp[1][0] < 0 || pp[1][1] < 0 || pp[2][0] < 0 ||
		    pp[2][1] < 0)
			continue;
		nn_window_add_padding(&cp->padding, &cp->pad_top, &cp->pad_bottom, &cp->pad_left, &cp->pad_right, pad);
		c->inputs[0] = pad->inputs[0];
		removed[p] = 1;
		n_removed++;
	}
	if (n_removed)
		nn_graph_remove_nodes(g, removed);
	free(readers);
	free(removed);
	return 0;
}
