/*
 * libFuzzer target for the Keras model-config reader (src/nn/format/keras.c
 * and keras_layers.c): the input is a model_config JSON; the weights come
 * from a synthetic source that answers with the shapes the config implies,
 * except for layers whose name hashes to 0 mod 8, whose first weight gets one
 * dimension more (so that the shape checks are reached too). No HDF5 file
 * is involved: keras_hdf5.c is the other side of the same interface.
 * Whatever the bytes, the reader must return a graph that satisfies the IR's
 * invariants, or an error with a message. Small graphs are prepared and run
 * on the reference kernels. Seeds: fuzz/corpus/keras_config/ (the configs of
 * the two real models of the shared assets and small ones).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/format/keras.h"
#include "nn/model.h"

#define REQUIRE(cond)                     \
	do {                              \
		if (!(cond))              \
			__builtin_trap(); \
	} while (0)

#define MAX_WEIGHT_ELEMENTS (1 << 20)

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static int f_count(void *ctx, const char *layer, int expected, char *why, size_t whylen)
{
	(void)ctx, (void)layer, (void)why, (void)whylen;
	return expected;
}

static int f_info(void *ctx, const char *layer, int i, const char *role, int rank, const int64_t *shape,
		  nn_keras_weight *w, char *why, size_t whylen)
{
	(void)ctx;
	int64_t n = 1;
	for (int d = 0; d < rank; d++) {
		if (shape[d] < 0 || (shape[d] && n > MAX_WEIGHT_ELEMENTS / shape[d])) {
			snprintf(why, whylen, "synthetic weight too large");
			return NN_ERR_UNSUPPORTED;
		}
		n *= shape[d];
	}
	if (n > MAX_WEIGHT_ELEMENTS) {
		snprintf(why, whylen, "synthetic weight too large");
		return NN_ERR_UNSUPPORTED;
	}
	snprintf(w->name, sizeof w->name, "%s/%s:0", layer, role);
	w->rank = rank;
	memcpy(w->shape, shape, (size_t)rank * sizeof *shape);
	if (i == 0 && hash(layer) % 8 == 0 && rank < NN_MAX_RANK)
		w->shape[w->rank++] = 2;
	return 0;
}

static int f_read(void *ctx, const char *layer, int i, float *dst, int64_t n, char *why, size_t whylen)
{
	(void)ctx, (void)layer, (void)why, (void)whylen;
	/* Positive and varied, so that variances stay valid and nothing is degenerate. */
	for (int64_t k = 0; k < n; k++)
		dst[k] = 0.25f + (float)((k * 7 + i) % 13) * 0.05f;
	return 0;
}

static size_t check_graph(const nn_graph *g)
{
	size_t total = 0;
	for (int i = 0; i < g->n_tensors; i++) {
		const nn_tensor *t = &g->tensors[i];
		REQUIRE(t->name && t->rank >= 0 && t->rank <= NN_MAX_RANK && t->dtype == NN_F32);
		for (int d = 0; d < t->rank; d++)
			REQUIRE(t->shape[d] >= 1);
		total += nn_tensor_bytes(t);
		REQUIRE(!t->is_const || (t->data && t->owns_data));
	}
	for (int i = 0; i < g->n_nodes; i++) {
		const nn_node *n = &g->nodes[i];
		REQUIRE(n->name && n->n_outputs == 1 && (unsigned)n->op < NN_OP_COUNT);
		for (int k = 0; k < n->n_inputs; k++)
			REQUIRE(n->inputs[k] >= -1 && n->inputs[k] < g->n_tensors);
		REQUIRE(n->outputs[0] >= 0 && n->outputs[0] < g->n_tensors && !g->tensors[n->outputs[0]].is_const);
	}
	REQUIRE(g->n_inputs >= 1 && g->n_outputs >= 1);
	for (int i = 0; i < g->n_inputs; i++)
		REQUIRE(g->inputs[i] >= 0 && g->inputs[i] < g->n_tensors);
	for (int i = 0; i < g->n_outputs; i++)
		REQUIRE(g->outputs[i] >= 0 && g->outputs[i] < g->n_tensors);
	return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	nn_keras_weights w = { NULL, f_count, f_info, f_read };
	nn_graph *g = NULL;
	char err[1024];
	err[0] = 0;
	int rc = nn_keras_build(&g, (const char *)data, size, size && data[0] == ' ' ? "3.0" : "2.9.0", &w,
				"fuzz.h5", err, sizeof err);
	if (rc != 0) {
		REQUIRE(rc < 0 && g == NULL && strlen(err) > strlen("fuzz.h5: "));
		return 0;
	}
	REQUIRE(g != NULL);
	size_t bytes = check_graph(g);
	nn_model *m;
	if (bytes > (1u << 18)) {
		nn_graph_free(g);
		return 0;
	}
	if (nn_model_from_graph(&m, g, err, sizeof err) < 0)
		return 0;
	nn_prepare_options po = { .threads = 1, .reference_only = 1 };
	if (nn_model_prepare(m, &po, err, sizeof err) == 0)
		(void)nn_model_run(m, err, sizeof err);
	nn_model_free(m);
	return 0;
}
