/*
 * ONNX QDQ groups run as quantized ops: a Conv whose data input is a
 * DequantizeLinear, whose filter is a DequantizeLinear of constant 8-bit
 * integers (per tensor, or per output channel on axis 0), whose optional
 * bias is a constant (a DequantizeLinear of int32 folded at load time, or
 * float; requantized with x_scale * w_scale[o]) and whose only reader is a
 * QuantizeLinear (possibly through a Relu when the output's zero point is
 * the type's minimum, where the Relu changes nothing) is mapped as the
 * QLinearConv it stands for (onnx_ops_q.c's path), so that 8-bit tensors
 * flow between groups. Any other pattern keeps the float path.
 */
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "nn/format/onnx_internal.h"

static const ox_node *producer_of(ox *c, const char *name, const char *op)
{
	if (!name[0])
		return NULL;
	int v = ox_value_find(c, name, 0);
	if (v < 0 || c->vals[v].producer < 0)
		return NULL;
	const ox_node *p = &c->nodes[c->vals[v].producer];
	return strcmp(p->op, op) || (p->domain[0] && strcmp(p->domain, "ai.onnx")) ? NULL : p;
}

/* The only node reading name (NULL when none, several, or the value is a graph output). */
static ox_node *only_reader(ox *c, const char *name)
{
	ox_node *r = NULL;
	for (int k = 0; k < c->n_qdq_outs; k++)
		if (!strcmp(c->qdq_outs[k], name))
			return NULL;
	for (int i = 0; i < c->n_nodes; i++)
		for (int k = 0; k < c->nodes[i].n_in; k++)
			if (!strcmp(c->nodes[i].in[k], name)) {
				if (r)
					return NULL;
				r = &c->nodes[i];
			}
	return r;
}

/* Scale (count scales) and optional zero point (same count, 8-bit) of a Q / DQ node, all constants. */
static int qconst(ox *c, const ox_node *n, int count_max, int *count, int *zdt, const ox_val **zv)
{
	if (n->n_in < 2 || ox_attr_i(n, "block_size", 0))
		return 0;
	ox_val *s = ox_in_const(c, n, 1);
	if (!s || !s->f || s->n < 1 || s->n > count_max)
		return 0;
	for (int64_t k = 0; k < s->n; k++)
		if (!(s->f[k] > 0) || !isfinite(s->f[k]))
			return 0;
	*zdt = OX_UINT8;
	*zv = NULL;
	if (n->n_in > 2 && n->in[2][0]) {
		ox_val *z = ox_in_const(c, n, 2);
		if (!z || !z->i || z->n != s->n || (z->dtype != OX_UINT8 && z->dtype != OX_INT8))
			return 0;
		*zdt = z->dtype;
		*zv = z;
	}
	*count = (int)s->n;
	return 1;
}

void ox_qdq_scan(ox *c, nn_pb graph)
{
	nn_pb it = graph;
	nn_pb_field f;
	int n = 0;
	while (nn_pb_next(&it, &f) > 0)
		n += f.number == 12 && f.wire == NN_PB_LEN;
	c->qdq_outs = n ? ox_alloc(c, (size_t)n * sizeof *c->qdq_outs) : NULL;
	c->n_qdq_outs = 0;
	it = graph;
	while (c->qdq_outs && nn_pb_next(&it, &f) > 0) {
		if (f.number != 12 || f.wire != NN_PB_LEN)
			continue;
		ox_vinfo vi = { 0 };
		if (ox_read_value_info(c, nn_pb_sub(&f), &vi) >= 0 && vi.name && c->n_qdq_outs < n)
			c->qdq_outs[c->n_qdq_outs++] = vi.name;
	}
}

static void poison(ox *c, const char *name)
{
	int i = name[0] ? ox_value_find(c, name, 1) : -1;
	if (i >= 0)
		c->vals[i].poisoned = 1;
}

int ox_qdq_map(ox *c, ox_node *n)
{
	if (strcmp(n->op, "Conv") || (n->domain[0] && strcmp(n->domain, "ai.onnx")) || n->n_in < 2 || n->n_out != 1)
		return 0;
	const ox_node *dx = producer_of(c, n->in[0], "DequantizeLinear");
	const ox_node *dw = producer_of(c, n->in[1], "DequantizeLinear");
	if (!dx || !dw)
		return 0;
	/* The filter: constant 8-bit integers of rank 4, scales per tensor or per output channel on axis 0. */
	ox_val *w = ox_in_const(c, dw, 0);
	if (!w || !w->i || w->rank != 4 || (w->dtype != OX_UINT8 && w->dtype != OX_INT8))
		return 0;
	int wc, wzdt, xc, xzdt, yc, yzdt;
	const ox_val *wz, *xz, *yz;
	if (!qconst(c, dw, (int)w->dims[0], &wc, &wzdt, &wz) || (wz && wz->dtype != w->dtype))
		return 0;
	if (wc > 1 && ox_attr_i(dw, "axis", 1) != 0)
		return 0;
	if (wc != 1 && wc != w->dims[0])
		return 0;
	/* The input: 8-bit at run time, one scale. */
	ox_value *xv = ox_in(c, dx, 0);
	if (!xv || xv->c || !qconst(c, dx, 1, &xc, &xzdt, &xz))
		return 0;
	int xt = ox_in_tensor(c, dx, 0);
	if (xt < 0)
		return 0;
	nn_tensor *x = ox_T(c, xt);
	nn_dtype xdt = xzdt == OX_INT8 ? NN_I8 : NN_U8;
	if (x->dtype != xdt || x->rank != 4)
		return 0;
	float xs = ox_in_const(c, dx, 1)->f[0];
	int32_t xzp = xz ? (int32_t)xz->i[0] : 0;
	if (x->quant.count && (x->quant.count != 1 || x->quant.scale[0] != xs || x->quant.zero_point[0] != xzp))
		return 0;
	/* The readers: a QuantizeLinear of the same dtype, maybe through a Relu it makes redundant. */
	ox_node *relu = NULL, *q = only_reader(c, n->out[0]);
	if (q && !strcmp(q->op, "Relu") && q->n_out == 1) {
		relu = q;
		q = only_reader(c, relu->out[0]);
	}
	if (!q || strcmp(q->op, "QuantizeLinear") || (q->domain[0] && strcmp(q->domain, "ai.onnx")) || q->n_out != 1 ||
	    strcmp(q->in[0], (relu ? relu : n)->out[0]) || !qconst(c, q, 1, &yc, &yzdt, &yz) || yzdt != xzdt)
		return 0;
	if (relu && (yz ? yz->i[0] : 0) != (yzdt == OX_INT8 ? -128 : 0))
		return 0;
	if (ox_attr_get(q, "saturate") || ox_attr_get(q, "output_dtype"))
		return 0;
	/* The bias, requantized to int32 with scale x_scale * w_scale[o]. */
	const char *bname = "";
	if (n->n_in > 2 && n->in[2][0]) {
		ox_val *b = ox_in_const(c, n, 2);
		if (!b || !b->f || b->n != w->dims[0])
			return 0;
		const float *ws = ox_in_const(c, dw, 1)->f;
		int64_t dims[1] = { b->n };
		ox_val *bq = ox_val_new(c, OX_INT32, 1, dims);
		if (!bq)
			return NN_ERR_NOMEM;
		for (int64_t o = 0; o < b->n; o++) {
			double v = nearbyint((double)b->f[o] / ((double)xs * ws[wc == 1 ? 0 : o]));
			if (!(fabs(v) < 2147483647.0))
				return 0;
			bq->i[o] = (int64_t)v;
		}
		char nm[512];
		snprintf(nm, sizeof nm, "%s/qdq_bias", n->out[0]);
		char *s = ox_strndup(c, nm, strlen(nm));
		int v = s ? ox_value_find(c, s, 1) : -1;
		if (v < 0)
			return NN_ERR_NOMEM;
		c->vals[v].c = bq;
		bname = s;
	}
	/* The group as the QLinearConv it stands for. */
	const char **in = ox_alloc(c, 9 * sizeof *in);
	if (!in)
		return NN_ERR_NOMEM;
	in[0] = dx->in[0], in[1] = dx->in[1], in[2] = dx->n_in > 2 ? dx->in[2] : "";
	in[3] = dw->in[0], in[4] = dw->in[1], in[5] = dw->n_in > 2 ? dw->in[2] : "";
	in[6] = q->in[1], in[7] = q->n_in > 2 ? q->in[2] : "", in[8] = bname;
	ox_node syn = *n;
	syn.op = "QLinearConv";
	syn.domain = "";
	syn.n_in = 9;
	syn.in = in;
	syn.n_out = 1;
	syn.out = q->out;
	q->fused = 1;
	if (relu)
		relu->fused = 1;
	int rc = ox_map_qop(c, &syn, OX_Q_QLINEAR_CONV);
	if (rc == 1) {
		poison(c, n->out[0]);
		poison(c, q->out[0]);
		if (relu)
			poison(c, relu->out[0]);
	}
	return rc ? rc : 2;
}

void ox_qdq_prune(ox *c)
{
	nn_graph *g = c->g;
	int *readers = calloc((size_t)g->n_tensors + 1, sizeof *readers);
	unsigned char *removed = calloc((size_t)g->n_nodes + 1, 1);
	int any = 0;
	if (readers && removed) {
		nn_graph_index_uses(g, NULL, NULL, readers);
		for (int i = 0; i < g->n_nodes; i++) {
			nn_node *nd = &g->nodes[i];
			if (nd->op == NN_OP_DEQUANTIZE && nd->n_outputs == 1 && !readers[nd->outputs[0]] &&
			    !nn_graph_is_output(g, nd->outputs[0]))
				removed[i] = 1, any = 1;
		}
		if (any)
			nn_graph_remove_nodes(g, removed);
	}
	free(readers);
	free(removed);
}
