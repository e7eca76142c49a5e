/*
 * Fusions of ops into their neighbours, for graphs whose converters spelled
 * out what XNNPACK can do in one operator:
 * - a PAD with -inf in front of a max pool becomes the pool's padding (a
 *   zero PAD in front of a convolution is pass/pad.c's, which runs first);
 * - a MUL of a per-channel constant after a convolution scales its filter
 *   and bias (a standalone batch norm);
 * - an ADD of a per-channel constant after a convolution becomes its bias
 *   (ONNX Conv's bias arrives as a separate Add), taking the ADD's fused
 *   activation along;
 * - x * (1/6) * relu6(x + 3), TensorFlow's spelling of hard swish
 *   (MobileNetV3), becomes one HARD_SWISH (see fuse_hard_swish for
 *   float16-rounded 1/6), and ONNX's x * hard_sigmoid(x) and
 *   (x * relu6(x + 3)) / 6 (fuse_hard_swish_onnx);
 * - x * sigmoid(x) becomes one SILU, and a SILU after a float convolution
 *   that only it reads becomes the convolution's fused activation.
 * Float32 only: quantized graphs come from converters that fuse these
 * themselves. Also the fusion every format needs: an activation op that
 * follows the only reader of its input becomes that op's fused activation
 * (a CLAMP whose bounds are those of RELU, RELU6 or RELU_N1_TO_1 first
 * becomes that op).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/graph.h"
#include "nn/pass/pass.h"

typedef struct fz {
	nn_graph *g;
	int *producer;
	int *readers;
	unsigned char *removed;
} fz;

static int index_graph(fz *F)
{
	nn_graph *g = F->g;
	free(F->producer);
	free(F->readers);
	F->producer = malloc(((size_t)g->n_tensors + 1) * sizeof *F->producer);
	F->readers = calloc((size_t)g->n_tensors + 1, sizeof *F->readers);
	if (!F->producer || !F->readers)
		return -1;
	nn_graph_index_uses(g, F->removed, F->producer, F->readers);
	return 0;
}

/* Whether t is an intermediate float32 tensor that only one node reads. */
static int private_f32(const fz *F, int t)
{
	const nn_tensor *x = &F->g->tensors[t];
	return t >= 0 && !x->is_const && x->dtype == NN_F32 && F->readers[t] == 1 && !nn_graph_is_output(F->g, t);
}

/* The node writing t when it is a live node of op `op` with one output, else -1. */
static int producer_op(const fz *F, int t, nn_op op)
{
	int p = t >= 0 ? F->producer[t] : -1;
	if (p < 0 || F->removed[p] || F->g->nodes[p].op != op || F->g->nodes[p].n_outputs != 1)
		return -1;
	return p;
}

static int is_conv(const nn_node *n)
{
	return n->op == NN_OP_CONV2D || n->op == NN_OP_DEPTHWISE_CONV2D;
}

/*
 * PAD (zero, height and width) -> ADD of a mask holding -inf in the border
 * and 0 inside (how the TF.js loader maps PadV2 with -inf, which PyTorch
 * exports put before max pooling) -> MAX_POOL2D with VALID or explicit
 * padding: the pool's own padding, which never wins a maximum, does the same.
 */
static int fuse_pad_pool(fz *F, int m)
{
	nn_graph *g = F->g;
	nn_node *pool = &g->nodes[m];
	if (pool->op != NN_OP_MAX_POOL2D || pool->n_inputs != 1 || pool->inputs[0] < 0 ||
	    pool->p.pool.padding == NN_PADDING_SAME)
		return 0;
	int t = pool->inputs[0], a = producer_op(F, t, NN_OP_ADD);
	if (a < 0 || !private_f32(F, t) || g->nodes[a].n_inputs != 2 || g->nodes[a].p.act != NN_ACT_NONE)
		return 0;
	for (int side = 0; side < 2; side++) {
		int y = g->nodes[a].inputs[side], k = g->nodes[a].inputs[1 - side];
		int p = producer_op(F, y, NN_OP_PAD);
		if (p < 0 || k < 0 || !private_f32(F, y) || g->nodes[p].n_inputs != 1 || g->nodes[p].inputs[0] < 0 ||
		    g->nodes[p].p.pad.mode != NN_PAD_CONSTANT || g->nodes[p].p.pad.value != 0.0f)
			continue;
		int(*pp)[2] = g->nodes[p].p.pad.pads;
		const nn_tensor *x = &g->tensors[g->nodes[p].inputs[0]], *padded = &g->tensors[y], *mask = &g->tensors[k];
		if (x->dtype != NN_F32 || x->rank != 4 || padded->rank != 4 || pp[0][0] || pp[0][1] || pp[3][0] || pp[3][1])
			continue;
		/* A window entirely in the padding would be -inf here but not in XNNPACK, which clamps to the edge. */
		if (pp[1][0] >= pool->p.pool.filter_h || pp[1][1] >= pool->p.pool.filter_h ||
		    pp[2][0] >= pool->p.pool.filter_w || pp[2][1] >= pool->p.pool.filter_w)
			continue;
		int H = padded->shape[1], W = padded->shape[2];
		if (!mask->is_const || mask->dtype != NN_F32 || !mask->data || mask->quant.count || mask->rank != 4 ||
		    mask->shape[0] != 1 || mask->shape[3] != 1 || (mask->shape[1] != 1 && mask->shape[1] != H) ||
		    (mask->shape[2] != 1 && mask->shape[2] != W))
			continue;
		const float *mv = mask->data;
		int ok = 1;
		for (int h = 0; h < H && ok; h++)
			for (int w = 0; w < W && ok; w++) {
				int inside = h >= pp[1][0] && h < H - pp[1][1] && w >= pp[2][0] && w < W - pp[2][1];
				float v = mv[(mask->shape[1] == 1 ? 0 : h) * mask->shape[2] + (mask->shape[2] == 1 ? 0 : w)];
				ok = inside ? v == 0.0f : isinf(v) && v < 0;
			}
		if (!ok)
			continue;
		nn_pool_params *pr = &pool->p.pool;
		nn_window_add_padding(&pr->padding, &pr->pad_top, &pr->pad_bottom, &pr->pad_left, &pr->pad_right,
				      &g->nodes[p]);
		pool->inputs[0] = g->nodes[p].inputs[0];
		F->removed[a] = F->removed[p] = 1;
		return 1;
	}
	return 0;
}

/* Whether constant k holds one value per channel of a tensor with `channels` channels: shape [1, ..., 1, channels]. */
static int per_channel_const(const nn_tensor *k, int channels)
{
	if (!k->is_const || k->dtype != NN_F32 || k->quant.count || !k->data || k->rank < 1 ||
	    k->shape[k->rank - 1] != channels)
		return 0;
	for (int d = 0; d + 1 < k->rank; d++)
		if (k->shape[d] != 1)
			return 0;
	return 1;
}

/* CONV2D/DEPTHWISE_CONV2D (no activation) -> ADD of a per-channel constant: the constant joins the bias. */
static int fuse_bias(fz *F, int a)
{
	nn_graph *g = F->g;
	const nn_node *add = &g->nodes[a];
	if (add->op != NN_OP_ADD || add->n_inputs != 2 || add->n_outputs != 1 || add->inputs[0] < 0 || add->inputs[1] < 0)
		return 0;
	for (int side = 0; side < 2; side++) {
		int v = add->inputs[side], k = add->inputs[1 - side];
		int c = producer_op(F, v, NN_OP_CONV2D);
		if (c < 0)
			c = producer_op(F, v, NN_OP_DEPTHWISE_CONV2D);
		if (c < 0 || !private_f32(F, v) || g->nodes[c].p.conv.act != NN_ACT_NONE || g->nodes[c].n_inputs < 2)
			continue;
		const nn_tensor *y = &g->tensors[v], *out = &g->tensors[add->outputs[0]];
		if (y->rank != 4 || out->rank != 4 || memcmp(y->shape, out->shape, 4 * sizeof y->shape[0]) ||
		    !per_channel_const(&g->tensors[k], y->shape[3]))
			continue;
		int old = g->nodes[c].n_inputs > 2 ? g->nodes[c].inputs[2] : -1;
		if (old >= 0 && (!g->tensors[old].is_const || g->tensors[old].dtype != NN_F32 ||
				 nn_tensor_elements(&g->tensors[old]) != y->shape[3]))
			continue;
		/* A conv without a bias slot (two inputs) cannot take one here. */
		if (g->nodes[c].n_inputs < 3)
			continue;
		int b = nn_graph_add_tensor_like(g, add->outputs[0], "/bias");
		if (b < 0)
			return -1;
		nn_tensor *bt = &g->tensors[b];
		bt->dtype = NN_F32;
		bt->rank = 1;
		memset(bt->shape, 0, sizeof bt->shape);
		bt->shape[0] = g->tensors[v].shape[3];
		if (nn_tensor_alloc_const(bt) < 0)
			return -1;
		float *dst = bt->data;
		const float *kv = g->tensors[k].data, *ov = old >= 0 ? g->tensors[old].data : NULL;
		for (int i = 0; i < bt->shape[0]; i++)
			dst[i] = (ov ? ov[i] : 0.0f) + kv[i];
		add = &g->nodes[a];
		nn_node *conv = &g->nodes[c];
		conv->inputs[2] = b;
		conv->p.conv.act = add->p.act;
		conv->outputs[0] = add->outputs[0];
		F->removed[a] = 1;
		return 1;
	}
	return 0;
}

/* The single float value of a constant scalar (any shape of one element), or NAN. */
static float scalar_of(const nn_graph *g, int t)
{
	const nn_tensor *x = &g->tensors[t];
	if (t < 0 || !x->is_const || x->dtype != NN_F32 || !x->data || nn_tensor_elements(x) != 1)
		return NAN;
	return *(const float *)x->data;
}

/* For a binary node with one scalar constant input: the other input and the constant, else -1. */
static int scalar_operand(const nn_graph *g, const nn_node *n, float *value)
{
	if (n->n_inputs != 2 || n->inputs[0] < 0 || n->inputs[1] < 0)
		return -1;
	for (int side = 0; side < 2; side++) {
		float v = scalar_of(g, n->inputs[1 - side]);
		if (!isnan(v) && !g->tensors[n->inputs[side]].is_const) {
			*value = v;
			return n->inputs[side];
		}
	}
	return -1;
}

/* Adds a float32 constant like t (shape and values) under t's name and a suffix; returns it, or -1. */
static int copy_const(nn_graph *g, int t, const char *suffix)
{
	int c = nn_graph_add_tensor_like(g, t, suffix);
	if (c < 0)
		return -1;
	nn_tensor *y = &g->tensors[c];
	if (nn_tensor_alloc_const(y) < 0)
		return -1;
	memcpy(y->data, g->tensors[t].data, nn_tensor_bytes(y));
	return c;
}

/*
 * CONV2D/DEPTHWISE_CONV2D (float, no activation) -> MUL by a per-channel
 * constant: the scale moves into the filter's output channels and the bias
 * (TensorFlow's standalone FusedBatchNorm arrives as this MUL and an ADD,
 * which fuse_bias then takes in turn).
 */
static int fuse_scale(fz *F, int m)
{
	nn_graph *g = F->g;
	const nn_node *mul = &g->nodes[m];
	if (mul->op != NN_OP_MUL || mul->n_inputs != 2 || mul->n_outputs != 1 || mul->inputs[0] < 0 || mul->inputs[1] < 0)
		return 0;
	for (int side = 0; side < 2; side++) {
		int v = mul->inputs[side], k = mul->inputs[1 - side];
		int c = producer_op(F, v, NN_OP_CONV2D);
		if (c < 0)
			c = producer_op(F, v, NN_OP_DEPTHWISE_CONV2D);
		if (c < 0 || !private_f32(F, v) || g->nodes[c].p.conv.act != NN_ACT_NONE || g->nodes[c].n_inputs < 2)
			continue;
		const nn_node *conv = &g->nodes[c];
		const nn_tensor *y = &g->tensors[v], *out = &g->tensors[mul->outputs[0]];
		int wi = conv->inputs[1], bi = conv->n_inputs > 2 ? conv->inputs[2] : -1;
		if (y->rank != 4 || out->rank != 4 || memcmp(y->shape, out->shape, 4 * sizeof y->shape[0]) ||
		    !per_channel_const(&g->tensors[k], y->shape[3]) || wi < 0)
			continue;
		const nn_tensor *w = &g->tensors[wi];
		int channels = y->shape[3];
		int depthwise = conv->op == NN_OP_DEPTHWISE_CONV2D;
		if (!w->is_const || w->dtype != NN_F32 || w->quant.count || !w->data || w->rank != 4 ||
		    (depthwise ? w->shape[3] : w->shape[0]) != channels)
			continue;
		if (bi >= 0 && (!g->tensors[bi].is_const || g->tensors[bi].dtype != NN_F32 ||
				nn_tensor_elements(&g->tensors[bi]) != channels))
			continue;
		int nw = copy_const(g, wi, "/scaled");
		if (nw < 0)
			return -1;
		int nb = bi >= 0 ? copy_const(g, bi, "/scaled") : -1;
		if (bi >= 0 && nb < 0)
			return -1;
		const float *s = g->tensors[k].data;
		float *wv = g->tensors[nw].data;
		/* OHWI filters keep an output channel per leading slice, depthwise ones per last-axis element. */
		int64_t per = nn_tensor_elements(&g->tensors[nw]) / channels;
		for (int64_t j = 0; j < per * channels; j++)
			wv[j] *= s[depthwise ? j % channels : j / per];
		if (nb >= 0) {
			float *bv = g->tensors[nb].data;
			for (int j = 0; j < channels; j++)
				bv[j] *= s[j];
		}
		mul = &g->nodes[m];
		nn_node *cn = &g->nodes[c];
		cn->inputs[1] = nw;
		if (nb >= 0)
			cn->inputs[2] = nb;
		cn->p.conv.act = mul->p.act;
		cn->outputs[0] = mul->outputs[0];
		F->removed[m] = 1;
		return 1;
	}
	return 0;
}

/*
 * MUL(x, c) with a scalar constant c, read only as the input of float
 * convolutions: c moves into their filters (a convolution is linear in its
 * input, and zero padding stays zero), and the MUL goes.
 */
static int scale_into_convs(fz *F, int m, int x, float c)
{
	nn_graph *g = F->g;
	int y = g->nodes[m].outputs[0];
	if (nn_graph_is_output(g, y) || F->readers[y] < 1)
		return 0;
	int found = 0;
	for (int i = 0; i < g->n_nodes; i++) {
		const nn_node *n = &g->nodes[i];
		if (F->removed[i])
			continue;
		for (int k = 0; k < n->n_inputs; k++) {
			if (n->inputs[k] != y)
				continue;
			const nn_tensor *w = n->n_inputs >= 2 && n->inputs[1] >= 0 ? &g->tensors[n->inputs[1]] : NULL;
			if (!is_conv(n) || k != 0 || !w || !w->is_const || w->dtype != NN_F32 || w->quant.count || !w->data)
				return 0;
			found++;
		}
	}
	if (found != F->readers[y])
		return 0;
	for (int i = 0; i < g->n_nodes; i++) {
		if (F->removed[i] || g->nodes[i].n_inputs < 2 || g->nodes[i].inputs[0] != y)
			continue;
		int w = copy_const(g, g->nodes[i].inputs[1], "/scaled");
		if (w < 0)
			return -1;
		float *v = g->tensors[w].data;
		for (int64_t j = 0; j < nn_tensor_elements(&g->tensors[w]); j++)
			v[j] *= c;
		g->nodes[i].inputs[0] = x;
		g->nodes[i].inputs[1] = w;
	}
	F->removed[m] = 1;
	return 1;
}

/*
 * MUL(MUL(x, s), ADD(x, 3) with RELU6) -> HARD_SWISH(x), for s = 1/6. Models
 * with float16 weights store s as 0.16662598: then the result is
 * HARD_SWISH(x) * 6s, and that MUL goes into the next convolutions when
 * they are all that read it.
 */
static int fuse_hard_swish(fz *F, int m)
{
	nn_graph *g = F->g;
	const nn_node *mul = &g->nodes[m];
	if (mul->op != NN_OP_MUL || mul->n_inputs != 2 || mul->n_outputs != 1 || mul->p.act != NN_ACT_NONE)
		return 0;
	for (int side = 0; side < 2; side++) {
		int u = mul->inputs[side], w = mul->inputs[1 - side];
		int p1 = producer_op(F, u, NN_OP_MUL), p2 = producer_op(F, w, NN_OP_ADD);
		if (p1 < 0 || p2 < 0 || !private_f32(F, u) || !private_f32(F, w))
			continue;
		const nn_node *scale = &g->nodes[p1], *shift = &g->nodes[p2];
		float sv = 0, tv = 0;
		int x1 = scalar_operand(g, scale, &sv), x2 = scalar_operand(g, shift, &tv);
		if (x1 < 0 || x1 != x2 || scale->p.act != NN_ACT_NONE || shift->p.act != NN_ACT_RELU6 || tv != 3.0f ||
		    fabsf(sv - 1.0f / 6.0f) > 1e-3f)
			continue;
		const nn_tensor *x = &g->tensors[x1], *y = &g->tensors[mul->outputs[0]];
		if (x->dtype != NN_F32 || x->rank != y->rank || memcmp(x->shape, y->shape, (size_t)x->rank * sizeof x->shape[0]))
			continue;
		float factor = 6.0f * sv;
		if (factor == 1.0f) {
			nn_node *n = &g->nodes[m];
			n->op = NN_OP_HARD_SWISH;
			n->n_inputs = 1;
			n->inputs[0] = x1;
			memset(&n->p, 0, sizeof n->p);
			F->removed[p1] = F->removed[p2] = 1;
			return 1;
		}
		/* The first MUL becomes the HARD_SWISH, writing u; the last one scales u by 6s. */
		int c = nn_graph_add_tensor_like(g, u, "/6s");
		if (c < 0)
			return -1;
		/* A float32 scalar. */
		g->tensors[c].dtype = NN_F32;
		g->tensors[c].rank = 0;
		memset(g->tensors[c].shape, 0, sizeof g->tensors[c].shape);
		if (nn_tensor_alloc_const(&g->tensors[c]) < 0)
			return -1;
		*(float *)g->tensors[c].data = factor;
		nn_node *hs = &g->nodes[p1];
		hs->op = NN_OP_HARD_SWISH;
		hs->n_inputs = 1;
		hs->inputs[0] = x1;
		memset(&hs->p, 0, sizeof hs->p);
		nn_node *n = &g->nodes[m];
		n->inputs[0] = u;
		n->inputs[1] = c;
		F->removed[p2] = 1;
		if (index_graph(F) < 0)
			return -1;
		return scale_into_convs(F, m, u, factor) < 0 ? -1 : 1;
	}
	return 0;
}

/*
 * The node writing private float tensor t when it is `op` (ADD, MUL or DIV,
 * no fused activation unless act says one) of a non-constant x and a scalar
 * constant equal to want (the divisor, for DIV); sets *x. Else -1.
 */
static int scalar_producer(const fz *F, int t, nn_op op, float want, nn_activation act, int *x)
{
	const nn_graph *g = F->g;
	int p = producer_op(F, t, op);
	if (p < 0 || !private_f32(F, t) || g->nodes[p].p.act != act)
		return -1;
	const nn_node *n = &g->nodes[p];
	float v = 0;
	int other = scalar_operand(g, n, &v);
	if (other < 0 || v != want || (op == NN_OP_DIV && n->inputs[0] != other))
		return -1;
	*x = other;
	return p;
}

/* The node writing t as t = u / 6 or u * (1/6) (one float rounding of it); sets *u. Else -1. */
static int sixth_producer(const fz *F, int t, int *u)
{
	int p = scalar_producer(F, t, NN_OP_DIV, 6.0f, NN_ACT_NONE, u);
	return p >= 0 ? p : scalar_producer(F, t, NN_OP_MUL, 1.0f / 6.0f, NN_ACT_NONE, u);
}

/*
 * Whether t is hard sigmoid of some x, as ONNX exports spell it: relu6(x + 3) / 6
 * (Clip(0, 6) having become the ADD's RELU6), or clamp(x / 6 + 0.5, 0, 1)
 * (HardSigmoid with ONNX HardSwish's alpha 1/6 and beta 0.5, as MUL, ADD and
 * CLAMP). Returns x and marks the nodes in drop[0..3) (-1 for unused), else -1.
 */
static int hard_sigmoid_of(const fz *F, int t, int drop[3])
{
	const nn_graph *g = F->g;
	int u = -1, x = -1, v = -1;
	drop[0] = drop[1] = drop[2] = -1;
	int p = sixth_producer(F, t, &u);
	if (p >= 0) {
		int a = scalar_producer(F, u, NN_OP_ADD, 3.0f, NN_ACT_RELU6, &x);
		if (a < 0)
			return -1;
		drop[0] = p, drop[1] = a;
		return x;
	}
	p = producer_op(F, t, NN_OP_CLAMP);
	if (p < 0 || !private_f32(F, t) || g->nodes[p].n_inputs != 1 || g->nodes[p].p.clamp.min != 0.0f ||
	    g->nodes[p].p.clamp.max != 1.0f)
		return -1;
	int a = scalar_producer(F, g->nodes[p].inputs[0], NN_OP_ADD, 0.5f, NN_ACT_NONE, &v);
	if (a < 0)
		return -1;
	int m = sixth_producer(F, v, &x);
	if (m < 0)
		return -1;
	drop[0] = p, drop[1] = a, drop[2] = m;
	return x;
}

/* Whether tensors a and b have one shape. */
static int same_shape(const nn_graph *g, int a, int b)
{
	const nn_tensor *x = &g->tensors[a], *y = &g->tensors[b];
	return x->rank == y->rank && memcmp(x->shape, y->shape, (size_t)x->rank * sizeof x->shape[0]) == 0;
}

/* Node m becomes the one-input op `op` of x, and the nodes in drop go. */
static void become_unary(fz *F, int m, nn_op op, int x, const int *drop, int n_drop)
{
	nn_node *n = &F->g->nodes[m];
	n->op = op;
	n->n_inputs = 1;
	n->inputs[0] = x;
	memset(&n->p, 0, sizeof n->p);
	for (int i = 0; i < n_drop; i++)
		if (drop[i] >= 0)
			F->removed[drop[i]] = 1;
}

/*
 * ONNX's spellings of hard swish, each into one HARD_SWISH(x):
 * x * hard_sigmoid(x) (see hard_sigmoid_of), and (x * relu6(x + 3)) / 6.
 * TensorFlow's x * (1/6) * relu6(x + 3) is fuse_hard_swish's.
 */
static int fuse_hard_swish_onnx(fz *F, int m)
{
	nn_graph *g = F->g;
	const nn_node *n = &g->nodes[m];
	if (n->n_outputs != 1 || n->n_inputs != 2 || n->inputs[0] < 0 || n->inputs[1] < 0 || n->p.act != NN_ACT_NONE ||
	    g->tensors[n->outputs[0]].dtype != NN_F32)
		return 0;
	int y = n->outputs[0], drop[4];
	if (n->op == NN_OP_MUL) {
		for (int side = 0; side < 2; side++) {
			int x = n->inputs[1 - side];
			if (!g->tensors[x].is_const && hard_sigmoid_of(F, n->inputs[side], drop) == x && same_shape(g, x, y)) {
				become_unary(F, m, NN_OP_HARD_SWISH, x, drop, 3);
				return 1;
			}
		}
	}
	/* (x * relu6(x + 3)) / 6: m is the division, or the MUL by 1/6. */
	if (n->op != NN_OP_DIV && n->op != NN_OP_MUL)
		return 0;
	float v = 0;
	int u = scalar_operand(g, n, &v);
	if (u < 0 || (n->op == NN_OP_DIV ? (v != 6.0f || n->inputs[0] != u) : v != 1.0f / 6.0f))
		return 0;
	int p = producer_op(F, u, NN_OP_MUL);
	if (p < 0 || !private_f32(F, u) || g->nodes[p].p.act != NN_ACT_NONE || g->nodes[p].n_inputs != 2)
		return 0;
	for (int side = 0; side < 2; side++) {
		int r = g->nodes[p].inputs[side], x = g->nodes[p].inputs[1 - side], x2 = -1;
		if (r < 0 || x < 0)
			continue;
		int a = scalar_producer(F, r, NN_OP_ADD, 3.0f, NN_ACT_RELU6, &x2);
		if (a < 0 || x2 != x || g->tensors[x].is_const || !same_shape(g, x, y))
			continue;
		drop[0] = p, drop[1] = a;
		become_unary(F, m, NN_OP_HARD_SWISH, x, drop, 2);
		return 1;
	}
	return 0;
}

/*
 * MUL(x, LOGISTIC(x)) -> SILU(x): the activation of YOLOv5/v8 and YOLOX
 * exports, spelled out by PyTorch's ONNX exporter (swish).
 */
static int fuse_silu(fz *F, int m)
{
	nn_graph *g = F->g;
	const nn_node *n = &g->nodes[m];
	if (n->op != NN_OP_MUL || n->n_inputs != 2 || n->n_outputs != 1 || n->p.act != NN_ACT_NONE ||
	    n->inputs[0] < 0 || n->inputs[1] < 0)
		return 0;
	for (int side = 0; side < 2; side++) {
		int s = n->inputs[side], x = n->inputs[1 - side];
		int p = producer_op(F, s, NN_OP_LOGISTIC);
		if (p < 0 || !private_f32(F, s) || g->nodes[p].n_inputs != 1 || g->nodes[p].inputs[0] != x ||
		    !same_shape(g, x, n->outputs[0]) || !same_shape(g, x, s))
			continue;
		become_unary(F, m, NN_OP_SILU, x, &p, 1);
		return 1;
	}
	return 0;
}

/*
 * SILU of a float convolution's output that nothing else reads -> the
 * convolution's fused activation (NN_ACT_SILU), so the kernels apply it while
 * the result is in registers instead of in a second pass over memory (YOLOX:
 * 104 such pairs). Run after fuse_silu has made the SILUs, and after the
 * scale and bias fusions, which need the convolution without an activation.
 */
static int fuse_silu_conv(fz *F, int m)
{
	nn_graph *g = F->g;
	const nn_node *n = &g->nodes[m];
	if (n->op != NN_OP_SILU || n->n_inputs != 1 || n->n_outputs != 1 || n->inputs[0] < 0 || n->outputs[0] < 0)
		return 0;
	int t = n->inputs[0], out = n->outputs[0];
	int c = producer_op(F, t, NN_OP_CONV2D);
	if (c < 0)
		c = producer_op(F, t, NN_OP_DEPTHWISE_CONV2D);
	if (c < 0 || !private_f32(F, t) || g->tensors[out].dtype != NN_F32 || !same_shape(g, t, out))
		return 0;
	nn_node *conv = &g->nodes[c];
	if (conv->p.conv.act != NN_ACT_NONE || conv->n_inputs < 2 || conv->inputs[0] < 0 || conv->inputs[1] < 0 ||
	    g->tensors[conv->inputs[0]].dtype != NN_F32 || g->tensors[conv->inputs[1]].dtype != NN_F32)
		return 0;
	conv->p.conv.act = NN_ACT_SILU;
	conv->outputs[0] = out;
	F->removed[m] = 1;
	return 1;
}

/*
 * Whether STRIDED_SLICE node s takes every second element of one axis (1 to
 * 3) of a rank-4 float32 tensor, starting at 0 or 1, and all of the others:
 * then *axis and *start say which.
 */
static int half_slice(const nn_graph *g, const nn_node *s, int *axis, int *start)
{
	if (s->op != NN_OP_STRIDED_SLICE || s->n_inputs < 1 || s->n_outputs != 1 || s->inputs[0] < 0)
		return 0;
	const nn_tensor *in = &g->tensors[s->inputs[0]], *out = &g->tensors[s->outputs[0]];
	if (in->rank != 4 || out->rank != 4 || in->dtype != NN_F32 || out->dtype != NN_F32)
		return 0;
	*axis = -1;
	for (int d = 0; d < 4; d++) {
		int b = s->p.slice.begin[d], st = s->p.slice.stride[d];
		if (b == 0 && st == 1 && out->shape[d] == in->shape[d])
			continue;
		if (*axis >= 0 || d == 0 || st != 2 || (b != 0 && b != 1) || in->shape[d] % 2 ||
		    out->shape[d] != in->shape[d] / 2)
			return 0;
		*axis = d, *start = b;
	}
	return *axis >= 0;
}

/*
 * YOLOX's Focus on an NCHW input x, as its ONNX export spells it and the
 * layout pass leaves it: four pairs of STRIDED_SLICEs taking every second row
 * and column of x from offsets (dy, dx), each TRANSPOSEd to NHWC, then
 * CONCATENATED on channels: per pixel of the half-size image, the four 2x2
 * neighbours' channels. That is TRANSPOSE(x) then SPACE_TO_DEPTH with blocks
 * of 2, whose channel order is (dy * 2 + dx) * C + c; when the concat's order
 * of the four differs (YOLOX: (0,0), (1,0), (0,1), (1,1)) and its only reader
 * is a float convolution with a constant filter of its own, the filter's
 * input channels are permuted to match. Eleven nodes with tiny strided copies
 * (3 channels per pixel) become two that copy whole rows.
 */
static int is_to_nhwc(const nn_node *n)
{
	const int *perm = n->p.transpose.perm;
	return n->op == NN_OP_TRANSPOSE && n->n_inputs >= 1 && n->inputs[0] >= 0 && n->n_outputs == 1 && perm[0] == 0 &&
	       perm[1] == 2 && perm[2] == 3 && perm[3] == 1;
}

static int fuse_focus(fz *F, int m)
{
	nn_graph *g = F->g;
	const nn_node *top = &g->nodes[m];
	/*
	 * Two spellings, depending on whether the layout pass moved the
	 * transposes past the concat: CONCAT(axis 3) of four TRANSPOSEs to NHWC,
	 * or one TRANSPOSE to NHWC of CONCAT(axis 1). tops[] are the four slice
	 * results; node `first` becomes the TRANSPOSE of x, node m the
	 * SPACE_TO_DEPTH.
	 */
	int tops[4], first = -1, drop[12], nd = 0, order[4], x = -1;
	if (top->op == NN_OP_CONCATENATION) {
		if (top->n_inputs != 4 || top->n_outputs != 1 || top->p.concat.act != NN_ACT_NONE ||
		    (top->p.concat.axis != 3 && top->p.concat.axis != -1))
			return 0;
		for (int k = 0; k < 4; k++) {
			int t = top->inputs[k], tr = producer_op(F, t, NN_OP_TRANSPOSE);
			if (tr < 0 || !private_f32(F, t) || g->tensors[t].rank != 4 || !is_to_nhwc(&g->nodes[tr]))
				return 0;
			tops[k] = g->nodes[tr].inputs[0];
			if (k == 0)
				first = tr;
			else
				drop[nd++] = tr;
		}
	} else if (is_to_nhwc(top) && g->tensors[top->outputs[0]].rank == 4) {
		int t = top->inputs[0], c = producer_op(F, t, NN_OP_CONCATENATION);
		if (c < 0 || !private_f32(F, t))
			return 0;
		const nn_node *cat = &g->nodes[c];
		if (cat->n_inputs != 4 || cat->p.concat.act != NN_ACT_NONE ||
		    (cat->p.concat.axis != 1 && cat->p.concat.axis != -3))
			return 0;
		for (int k = 0; k < 4; k++)
			tops[k] = cat->inputs[k];
		first = c;
	} else {
		return 0;
	}
	for (int k = 0; k < 4; k++) {
		int u = tops[k], dy = -1, dx = -1;
		for (int level = 0; level < 2; level++) {
			int s = producer_op(F, u, NN_OP_STRIDED_SLICE), axis = -1, start = 0;
			if (s < 0 || !private_f32(F, u) || !half_slice(g, &g->nodes[s], &axis, &start) || axis == 1)
				return 0;
			if (axis == 2 && dy < 0)
				dy = start;
			else if (axis == 3 && dx < 0)
				dx = start;
			else
				return 0;
			drop[nd++] = s;
			u = g->nodes[s].inputs[0];
		}
		if (x >= 0 && u != x)
			return 0;
		x = u;
		order[k] = dy * 2 + dx;
		for (int j = 0; j < k; j++)
			if (order[j] == order[k])
				return 0;
	}
	const nn_tensor *xt = &g->tensors[x];
	if (xt->dtype != NN_F32 || xt->rank != 4)
		return 0;
	const int C = xt->shape[1], H = xt->shape[2], W = xt->shape[3];
	int identity = 1;
	for (int k = 0; k < 4; k++)
		identity &= order[k] == k;
	int f = -1;
	if (!identity) {
		int out = top->outputs[0], c = -1;
		for (int i = 0; i < g->n_nodes && !nn_graph_is_output(g, out) && F->readers[out] == 1; i++)
			if (!F->removed[i] && g->nodes[i].n_inputs > 0 && g->nodes[i].inputs[0] == out)
				c = i;
		if (c < 0 || g->nodes[c].op != NN_OP_CONV2D || g->nodes[c].n_inputs < 2 || g->nodes[c].inputs[1] < 0)
			return 0;
		f = g->nodes[c].inputs[1];
		const nn_tensor *ft = &g->tensors[f];
		if (!ft->is_const || !ft->data || ft->dtype != NN_F32 || ft->rank != 4 || ft->shape[3] != 4 * C ||
		    F->readers[f] != 1 || nn_graph_is_output(g, f))
			return 0;
	}
	/* The NHWC copy of x that SPACE_TO_DEPTH reads (adding it may move g->tensors). */
	int xn = nn_graph_add_tensor_like(g, x, "/nhwc");
	if (xn < 0)
		return -1;
	nn_tensor *xnt = &g->tensors[xn];
	xnt->shape[0] = g->tensors[x].shape[0], xnt->shape[1] = H, xnt->shape[2] = W, xnt->shape[3] = C;
	if (f >= 0) {
		/* Filter channel k * C + c (concat input k) becomes order[k] * C + c. */
		nn_tensor *ft = &g->tensors[f];
		size_t taps = (size_t)ft->shape[0] * ft->shape[1] * ft->shape[2];
		float *tmp = malloc(4 * (size_t)C * sizeof *tmp);
		if (!tmp)
			return -1;
		float *w = ft->data;
		for (size_t t = 0; t < taps; t++, w += 4 * (size_t)C) {
			for (int k = 0; k < 4; k++)
				memcpy(tmp + (size_t)order[k] * C, w + (size_t)k * C, (size_t)C * sizeof *tmp);
			memcpy(w, tmp, 4 * (size_t)C * sizeof *tmp);
		}
		free(tmp);
	}
	nn_node *t0 = &g->nodes[first];
	t0->op = NN_OP_TRANSPOSE;
	t0->n_inputs = 1;
	t0->inputs[0] = x;
	t0->outputs[0] = xn;
	memset(&t0->p, 0, sizeof t0->p);
	t0->p.transpose.perm[0] = 0, t0->p.transpose.perm[1] = 2, t0->p.transpose.perm[2] = 3, t0->p.transpose.perm[3] = 1;
	for (int d = 4; d < NN_MAX_RANK; d++)
		t0->p.transpose.perm[d] = d;
	nn_node *s2d = &g->nodes[m];
	s2d->op = NN_OP_SPACE_TO_DEPTH;
	s2d->n_inputs = 1;
	s2d->inputs[0] = xn;
	memset(&s2d->p, 0, sizeof s2d->p);
	s2d->p.space.block_size = 2;
	for (int i = 0; i < nd; i++)
		F->removed[drop[i]] = 1;
	return 1;
}

/*
 * TRANSPOSE(TRANSPOSE(x, P), Q) where Q undoes P: the second node's readers
 * read x instead, and it goes (the first goes too once nothing reads it).
 * The layout pass cancels a pair only when the middle tensor has one
 * reader; ONNX exports of ShuffleNet-style blocks (YOLO-FastestV2) leave an
 * NCHW tensor that several NHWC convolutions read, each through its own
 * transpose back.
 */
static int fuse_transpose_pair(fz *F, int m)
{
	nn_graph *g = F->g;
	const nn_node *b = &g->nodes[m];
	if (b->op != NN_OP_TRANSPOSE || b->n_inputs < 1 || b->n_outputs != 1 || b->inputs[0] < 0)
		return 0;
	int mid = b->inputs[0], out = b->outputs[0];
	int a = producer_op(F, mid, NN_OP_TRANSPOSE);
	if (a < 0 || g->nodes[a].n_inputs < 1 || g->nodes[a].inputs[0] < 0 || nn_graph_is_output(g, out))
		return 0;
	int x = g->nodes[a].inputs[0];
	const nn_tensor *xt = &g->tensors[x], *ot = &g->tensors[out];
	int rank = xt->rank;
	if (rank < 1 || ot->rank != rank || g->tensors[mid].rank != rank || xt->dtype != ot->dtype ||
	    nn_tensor_is_quantized(xt) || nn_tensor_is_quantized(ot))
		return 0;
	const int *p = g->nodes[a].p.transpose.perm, *q = b->p.transpose.perm;
	for (int d = 0; d < rank; d++)
		if (q[d] < 0 || q[d] >= rank || p[q[d]] != d || ot->shape[d] != xt->shape[d])
			return 0;
	for (int i = 0; i < g->n_nodes; i++) {
		if (F->removed[i] || i == m)
			continue;
		nn_node *r = &g->nodes[i];
		for (int k = 0; k < r->n_inputs; k++)
			if (r->inputs[k] == out)
				r->inputs[k] = x;
	}
	F->removed[m] = 1;
	if (F->readers[mid] == 1 && !nn_graph_is_output(g, mid))
		F->removed[a] = 1;
	return 1;
}

int nn_pass_fuse_ops(nn_graph *g, char *err, size_t errlen)
{
	if (g->n_nodes == 0)
		return 0;
	fz F = { .g = g };
	F.removed = calloc((size_t)g->n_nodes + 1, 1);
	int rc = 0;
	if (!F.removed || index_graph(&F) < 0)
		rc = -1;
	for (int i = 0; i < g->n_nodes && rc == 0; i++) {
		if (F.removed[i])
			continue;
		int r = fuse_scale(&F, i);
		if (r == 0)
			r = fuse_bias(&F, i);
		if (r == 0)
			r = fuse_hard_swish(&F, i);
		if (r == 0)
			r = fuse_hard_swish_onnx(&F, i);
		if (r == 0)
			r = fuse_silu(&F, i);
		if (r == 0)
			r = fuse_pad_pool(&F, i);
		if (r < 0 || (r > 0 && index_graph(&F) < 0))
			rc = -1;
	}
	for (int i = 0; i < g->n_nodes && rc == 0; i++) {
		if (F.removed[i])
			continue;
		int r = fuse_silu_conv(&F, i);
		if (r == 0)
			r = fuse_focus(&F, i);
		if (r == 0)
			r = fuse_transpose_pair(&F, i);
		if (r < 0 || (r > 0 && index_graph(&F) < 0))
			rc = -1;
	}
	if (rc == 0)
		nn_graph_remove_nodes(g, F.removed);
	free(F.removed);
	free(F.producer);
	free(F.readers);
	return rc < 0 ? nn_graph_fail(err, errlen, NN_ERR_NOMEM, "%s: out of memory fusing ops", g->source) : 0;
}

/* Where op keeps its fused activation, or NULL when it has none. */
static nn_activation *fused_activation(nn_node *n)
{
	switch (n->op) {
	case NN_OP_CONV2D:
	case NN_OP_DEPTHWISE_CONV2D:
		return &n->p.conv.act;
	case NN_OP_FULLY_CONNECTED:
		return &n->p.fc.act;
	case NN_OP_ADD:
	case NN_OP_SUB:
	case NN_OP_MUL:
	case NN_OP_DIV:
		return &n->p.act;
	/*
	 * CONCATENATION is left out on purpose: XNNPACK runs it as plain copies
	 * and cannot clamp, so a fused activation would send the whole concat to
	 * the slow reference kernel, while a separate RELU runs on XNNPACK.
	 */
	case NN_OP_AVERAGE_POOL2D:
	case NN_OP_MAX_POOL2D:
		return &n->p.pool.act;
	default:
		return NULL;
	}
}

static int same_quant(const nn_tensor *a, const nn_tensor *b)
{
	if (a->quant.count != b->quant.count)
		return 0;
	for (int i = 0; i < a->quant.count; i++)
		if (a->quant.scale[i] != b->quant.scale[i] || a->quant.zero_point[i] != b->quant.zero_point[i])
			return 0;
	return a->quant.count <= 1 || a->quant.axis == b->quant.axis;
}

int nn_pass_fuse_activations(nn_graph *g, char *err, size_t errlen)
{
	if (g->n_nodes == 0)
		return 0;
	int *producer = malloc(((size_t)g->n_tensors + 1) * sizeof *producer);
	int *readers = calloc((size_t)g->n_tensors + 1, sizeof *readers);
	unsigned char *removed = calloc((size_t)g->n_nodes, 1);
	if (!producer || !readers || !removed) {
		free(producer);
		free(readers);
		free(removed);
		return nn_graph_fail(err, errlen, NN_ERR_NOMEM, "%s: out of memory fusing activations", g->source);
	}
	nn_graph_index_uses(g, NULL, producer, readers);

	/*
	 * ONNX Clip arrives as CLAMP: the bounds of the three activations make it
	 * that activation (clamped in real values alike, quantized or not), which
	 * the loop below can fuse into the producer. CLAMP with other bounds
	 * stays a node of its own (XNNPACK's clamp runs it).
	 */
	for (int i = 0; i < g->n_nodes; i++) {
		nn_node *r = &g->nodes[i];
		if (r->op != NN_OP_CLAMP || r->n_inputs != 1 || r->inputs[0] < 0)
			continue;
		/* The activation ops take float32 and 8-bit quantized tensors; integer Clip stays a CLAMP. */
		nn_dtype dt = g->tensors[r->inputs[0]].dtype;
		if (dt != NN_F32 && dt != NN_U8 && dt != NN_I8)
			continue;
		float lo = r->p.clamp.min, hi = r->p.clamp.max;
		nn_op op = lo == 0.0f && hi == 6.0f	       ? NN_OP_RELU6
			   : lo == 0.0f && hi == INFINITY   ? NN_OP_RELU
			   : lo == -1.0f && hi == 1.0f	       ? NN_OP_RELU_N1_TO_1
							       : NN_OP_CLAMP;
		if (op != NN_OP_CLAMP) {
			r->op = op;
			memset(&r->p, 0, sizeof r->p);
		}
	}

	int n_removed = 0;
	for (int i = 0; i < g->n_nodes; i++) {
		nn_node *r = &g->nodes[i];
		nn_activation act;
		switch (r->op) {
		case NN_OP_RELU: act = NN_ACT_RELU; break;
		case NN_OP_RELU6: act = NN_ACT_RELU6; break;
		case NN_OP_RELU_N1_TO_1: act = NN_ACT_RELU_N1_TO_1; break;
		default: continue;
		}
		if (r->n_inputs != 1 || r->n_outputs != 1 || r->inputs[0] < 0)
			continue;
		int t = r->inputs[0], out = r->outputs[0];
		int p = producer[t];
		if (p < 0 || p >= i || removed[p] || readers[t] != 1 || nn_graph_is_output(g, t))
			continue;
		nn_node *pn = &g->nodes[p];
		nn_activation *slot = fused_activation(pn);
		if (!slot || *slot != NN_ACT_NONE || pn->n_outputs != 1)
			continue;
		const nn_tensor *a = &g->tensors[t], *b = &g->tensors[out];
		/* The producer will write straight into the RELU's output, so that must be the same tensor shape. */
		if (a->dtype != b->dtype || a->rank != b->rank ||
		    memcmp(a->shape, b->shape, (size_t)a->rank * sizeof a->shape[0]) != 0)
			continue;
		/* A quantized RELU may also requantize; only one that keeps the scale can disappear. */
		if ((nn_tensor_is_quantized(a) || nn_tensor_is_quantized(b)) && !same_quant(a, b))
			continue;
		*slot = act;
		pn->outputs[0] = out;
		producer[out] = p;
		readers[t] = 0;
		removed[i] = 1;
		n_removed++;
	}
	if (n_removed)
		nn_graph_remove_nodes(g, removed);
	free(producer);
	free(readers);
	free(removed);
	return 0;
}
