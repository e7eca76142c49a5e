/*
 * Helpers for the nn tests that build graphs by hand: tensors with shapes
 * and quantization, constants filled from a seeded generator, graph inputs
 * and outputs. Everything aborts the test on failure.
 */
#ifndef NN_BUILD_H
#define NN_BUILD_H

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/graph.h"
#include "test.h"

/* xorshift32: a fixed sequence per seed, the same on every machine. */
static inline uint32_t tb_next(uint32_t *s)
{
	uint32_t x = *s ? *s : 0x9e3779b9u;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

/* Uniform in [lo, hi). */
static inline float tb_uniform(uint32_t *s, float lo, float hi)
{
	return lo + (hi - lo) * (float)(tb_next(s) >> 8) / (float)(1u << 24);
}

/* Adds a tensor of the given dtype and shape (rank dimensions follow). */
static inline int tb_tensor(nn_graph *g, const char *name, nn_dtype dt, int rank, ...)
{
	int t = nn_graph_add_tensor(g, name);
	CHECK(t >= 0);
	nn_tensor *x = &g->tensors[t];
	x->dtype = dt;
	x->rank = rank;
	va_list ap;
	va_start(ap, rank);
	for (int i = 0; i < rank; i++)
		x->shape[i] = va_arg(ap, int);
	va_end(ap);
	return t;
}

static inline void tb_quant(nn_graph *g, int t, float scale, int32_t zero_point)
{
	CHECK(nn_tensor_set_quant(&g->tensors[t], 1, 0, &scale, &zero_point) == 0);
}

/* Fills a tensor's data: floats uniform in [lo, hi); integers uniform over [lo, hi] rounded. */
static inline void tb_fill(nn_tensor *t, uint32_t *seed, float lo, float hi)
{
	int64_t n = nn_tensor_elements(t);
	for (int64_t i = 0; i < n; i++) {
		float v = tb_uniform(seed, lo, hi);
		switch (t->dtype) {
		case NN_F32: ((float *)t->data)[i] = v; break;
		case NN_U8: ((uint8_t *)t->data)[i] = (uint8_t)lrintf(fminf(fmaxf(v, 0), 255)); break;
		case NN_I8: ((int8_t *)t->data)[i] = (int8_t)lrintf(fminf(fmaxf(v, -128), 127)); break;
		case NN_I32: ((int32_t *)t->data)[i] = (int32_t)lrintf(v); break;
		case NN_I16: ((int16_t *)t->data)[i] = (int16_t)lrintf(v); break;
		case NN_F16: {
			/* A float16 with a random sign, exponent in 2^-4..2^3 and mantissa. */
			uint16_t h = (uint16_t)(((tb_next(seed) & 1u) << 15) | ((11u + tb_next(seed) % 8u) << 10) |
						(tb_next(seed) & 0x3ffu));
			((uint16_t *)t->data)[i] = h;
			break;
		}
		default: CHECK(!"tb_fill: dtype not handled");
		}
	}
}

/* Makes tensor t a constant with seeded random values. */
static inline void tb_const(nn_graph *g, int t, uint32_t *seed, float lo, float hi)
{
	CHECK(nn_tensor_alloc_const(&g->tensors[t]) == 0);
	tb_fill(&g->tensors[t], seed, lo, hi);
}

/* A constant float tensor with the given values. */
static inline void tb_const_values(nn_graph *g, int t, const float *v)
{
	CHECK(g->tensors[t].dtype == NN_F32);
	CHECK(nn_tensor_alloc_const(&g->tensors[t]) == 0);
	memcpy(g->tensors[t].data, v, nn_tensor_bytes(&g->tensors[t]));
}

static inline void tb_io(nn_graph *g, int n_in, const int *in, int n_out, const int *out)
{
	g->inputs = malloc(((size_t)n_in + 1) * sizeof *g->inputs);
	g->outputs = malloc(((size_t)n_out + 1) * sizeof *g->outputs);
	CHECK(g->inputs && g->outputs);
	memcpy(g->inputs, in, (size_t)n_in * sizeof *in);
	memcpy(g->outputs, out, (size_t)n_out * sizeof *out);
	g->n_inputs = n_in;
	g->n_outputs = n_out;
}

/* Adds a node with the given inputs (-1 for absent) and outputs; returns its index. */
static inline int tb_node(nn_graph *g, nn_op op, const char *name, int n_in, const int *in, int n_out,
			  const int *out)
{
	nn_node *n = nn_graph_add_node(g, op, n_in, n_out);
	CHECK(n != NULL);
	memcpy(n->inputs, in, (size_t)n_in * sizeof *in);
	memcpy(n->outputs, out, (size_t)n_out * sizeof *out);
	if (name)
		CHECK((n->name = strdup(name)) != NULL);
	return g->n_nodes - 1;
}

#define TB_LIST(...) (int)(sizeof((int[]){ __VA_ARGS__ }) / sizeof(int)), (const int[]){ __VA_ARGS__ }

#endif
