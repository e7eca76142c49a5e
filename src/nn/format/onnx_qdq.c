/*
 * ONNX QDQ groups run as quantized ops: a Conv whose data input is a
 * DequantizeLinear, whose filter is a DequantizeLinear of constant 8-bit
 * integers (per tensor, or per output channel on axis 0), whose optional
 * bias is a constant (a DequantizeLinear of int32 folded at load time, or
 * float; requantized with x_scale * w_scale[o]) and whose only reader is a
 * QuantizeLinear (possibly through a Relu or a Clip that changes nothing
 * after quantization: see redundant_clamp) is mapped as the
 * QLinearConv it stands for (onnx_ops_q.c's path), so that 8-bit tensors
 * flow between groups. MatMul and Gemm (transA 0, alpha and beta 1) with a
 * constant 8-bit B likewise become QLinearMatMul's quantized
 * FULLY_CONNECTED, Gemm's C as its bias. Any other pattern keeps the float
 * path.
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

/*
 * Whether clamping to [lo, hi] before quantizing with scale s and zero point
 * z into [qmin, qmax] changes no result: lo rounds to qmin (or below) and hi
 * to qmax (or above), so whatever the clamp moves saturates the same way.
 * Strict bounds keep ties out. Relu qualifies when z is qmin; a Relu6 or
 * Clip when the quantized range was set from its bounds, as quantizers do.
 */
static int redundant_clamp(double lo, double hi, double s, int z, int qmin, int qmax)
{
	return lo / s + z < qmin + 0.5 && hi / s + z > qmax - 0.5;
}

/* The bounds of a Relu or Clip (attributes before opset 11, constant inputs since; absent: unbounded). */
static int clamp_bounds(ox *c, const ox_node *r, double *lo, double *hi)
{
	if (!strcmp(r->op, "Relu")) {
		*lo = 0, *hi = INFINITY;
		return 1;
	}
	if (strcmp(r->op, "Clip"))
		return 0;
	if (c->opset < 11) {
		*lo = ox_attr_f(r, "min", -INFINITY), *hi = ox_attr_f(r, "max", INFINITY);
		return 1;
	}
	*lo = -INFINITY, *hi = INFINITY;
	for (int k = 1; k < 3 && k < r->n_in; k++) {
		if (!r->in[k][0])
			continue;
		ox_val *v = ox_in_const(c, r, k);
		if (!v || !v->f || v->n != 1)
			return 0;
		*(k == 1 ? lo : hi) = v->f[0];
	}
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

/* A new load-time value named after base and suffix, holding v. Returns its name, or NULL. */
static const char *add_const(ox *c, const char *base, const char *suffix, ox_val *v)
{
	char nm[512];
	snprintf(nm, sizeof nm, "%s%s", base, suffix);
	char *s = ox_strndup(c, nm, strlen(nm));
	int i = s ? ox_value_find(c, s, 1) : -1;
	if (i < 0)
		return NULL;
	c->vals[i].c = v;
	return s;
}

/* b (n_out floats) as int32 of scale xs * ws[o] (ws one or n_out scales) under a new name; "" when out of range. */
static const char *quant_bias(ox *c, const ox_node *n, const ox_val *b, int64_t n_out, float xs, const float *ws,
			      int wc)
{
	int64_t dims[1] = { n_out };
	ox_val *bq = ox_val_new(c, OX_INT32, 1, dims);
	if (!bq)
		return NULL;
	for (int64_t o = 0; o < n_out; o++) {
		double v = nearbyint((double)b->f[o] / ((double)xs * ws[wc == 1 ? 0 : o]));
		if (!(fabs(v) < 2147483647.0))
			return "";
		bq->i[o] = (int64_t)v;
	}
	return add_const(c, n->out[0], "/qdq_bias", bq);
}

int ox_qdq_map(ox *c, ox_node *n)
{
	if (n->domain[0] && strcmp(n->domain, "ai.onnx"))
		return 0;
	int conv = !strcmp(n->op, "Conv"), gemm = !strcmp(n->op, "Gemm");
	if ((!conv && !gemm && strcmp(n->op, "MatMul")) || n->n_in < 2 || n->n_out != 1)
		return 0;
	const ox_node *dx = producer_of(c, n->in[0], "DequantizeLinear");
	const ox_node *dw = producer_of(c, n->in[1], "DequantizeLinear");
	if (!dx || !dw)
		return 0;
	/*
	 * The filter or matrix: constant 8-bit integers, scales per tensor or per
	 * output channel (a filter's axis 0, B's columns, B^T's rows).
	 */
	ox_val *w = ox_in_const(c, dw, 0);
	int trans_b = gemm && ox_attr_i(n, "transB", 0);
	if (!w || !w->i || w->rank != (conv ? 4 : 2) || (w->dtype != OX_UINT8 && w->dtype != OX_INT8))
		return 0;
	if (gemm && (ox_attr_i(n, "transA", 0) || ox_attr_f(n, "alpha", 1) != 1 ||
		     (n->n_in > 2 && n->in[2][0] && ox_attr_f(n, "beta", 1) != 1)))
		return 0;
	int out_axis = conv || trans_b ? 0 : 1;
	int64_t n_out = w->dims[out_axis];
	int wc, wzdt, xc, xzdt, yc, yzdt;
	const ox_val *wz, *xz, *yz;
	if (!qconst(c, dw, (int)n_out, &wc, &wzdt, &wz) || (wz && wz->dtype != w->dtype))
		return 0;
	if (wc > 1 && (ox_attr_i(dw, "axis", 1) + (ox_attr_i(dw, "axis", 1) < 0 ? w->rank : 0) != out_axis))
		return 0;
	if (wc != 1 && wc != n_out)
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
	if (x->dtype != xdt || (conv ? x->rank != 4 : gemm ? x->rank != 2 : x->rank < 2))
		return 0;
	float xs = ox_in_const(c, dx, 1)->f[0];
	int32_t xzp = xz ? (int32_t)xz->i[0] : 0;
	if (x->quant.count && (x->quant.count != 1 || x->quant.scale[0] != xs || x->quant.zero_point[0] != xzp))
		return 0;
	/* The readers: a QuantizeLinear of the same dtype, maybe through a Relu it makes redundant. */
	ox_node *relu = NULL, *q = only_reader(c, n->out[0]);
	double lo = 0, hi = 0;
	if (q && (!strcmp(q->op, "Relu") || !strcmp(q->op, "Clip")) && q->n_out == 1 &&
	    (!q->domain[0] || !strcmp(q->domain, "ai.onnx"))) {
		if (!clamp_bounds(c, q, &lo, &hi))
			return 0;
		relu = q;
		q = only_reader(c, relu->out[0]);
	}
	if (!q || strcmp(q->op, "QuantizeLinear") || (q->domain[0] && strcmp(q->domain, "ai.onnx")) || q->n_out != 1 ||
	    strcmp(q->in[0], (relu ? relu : n)->out[0]) || !qconst(c, q, 1, &yc, &yzdt, &yz) || yzdt != xzdt)
		return 0;
	if (relu && !redundant_clamp(lo, hi, ox_in_const(c, q, 1)->f[0], yz ? (int)yz->i[0] : 0,
				     yzdt == OX_INT8 ? -128 : 0, yzdt == OX_INT8 ? 127 : 255))
		return 0;
	if (ox_attr_get(q, "saturate") || ox_attr_get(q, "output_dtype"))
		return 0;
	/* The bias, requantized to int32 with scale x_scale * w_scale[o]. */
	const char *bname = "";
	if (n->n_in > 2 && n->in[2][0]) {
		ox_val *b = ox_in_const(c, n, 2);
		if (!b || !b->f || b->n != n_out || (gemm && b->rank > 1 && b->dims[b->rank - 1] != n_out))
			return 0;
		if (!(bname = quant_bias(c, n, b, n_out, xs, ox_in_const(c, dw, 1)->f, wc)))
			return NN_ERR_NOMEM;
		if (!bname[0])
			return 0;
	}
	/* B^T [N, K] as the B [K, N] QLinearMatMul takes. */
	const char *wname = dw->in[0];
	if (trans_b) {
		int64_t dims[2] = { w->dims[1], w->dims[0] };
		ox_val *wt = ox_val_new(c, w->dtype, 2, dims);
		if (!wt)
			return NN_ERR_NOMEM;
		for (int64_t o = 0; o < dims[1]; o++)
			for (int64_t k = 0; k < dims[0]; k++)
				wt->i[k * dims[1] + o] = w->i[o * dims[0] + k];
		if (!(wname = add_const(c, n->out[0], "/qdq_b", wt)))
			return NN_ERR_NOMEM;
	}
	/* The group as the QLinearConv or QLinearMatMul (with a bias) it stands for. */
	const char **in = ox_alloc(c, 9 * sizeof *in);
	if (!in)
		return NN_ERR_NOMEM;
	in[0] = dx->in[0], in[1] = dx->in[1], in[2] = dx->n_in > 2 ? dx->in[2] : "";
	in[3] = wname, in[4] = dw->in[1], in[5] = dw->n_in > 2 ? dw->in[2] : "";
	in[6] = q->in[1], in[7] = q->n_in > 2 ? q->in[2] : "", in[8] = bname;
	ox_node syn = *n;
	syn.op = conv ? "QLinearConv" : n->op;
	syn.domain = "";
	syn.n_in = 9;
	syn.in = in;
	syn.n_out = 1;
	syn.out = q->out;
	q->fused = 1;
	if (relu)
		relu->fused = 1;
	int rc = ox_map_qop(c, &syn, conv ? OX_Q_QLINEAR_CONV : OX_Q_QLINEAR_MATMUL);
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
