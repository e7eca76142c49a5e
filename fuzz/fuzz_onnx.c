/*
 * libFuzzer target for the ONNX loader (src/nn/format/onnx*.c) over pb.c:
 * the input is a ModelProto. Whatever the bytes, the loader must build a
 * graph that satisfies the IR's invariants (walked here, so that
 * AddressSanitizer sees any stray index or pointer) or fail with a message;
 * small graphs are then prepared and run once on the reference kernels.
 * Dynamic input sizes are 8x8. Seeds: written by fuzz/gen_onnx_corpus.py (tiny models built
 * with onnx.helper: convolutions, pooling, resizing, shape subgraphs).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/format/onnx.h"
#include "nn/model.h"

#define REQUIRE(cond)                     \
	do {                              \
		if (!(cond))              \
			__builtin_trap(); \
	} while (0)

static volatile uint8_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	nn_graph *g = NULL;
	nn_onnx_options o = { .input_w = 8, .input_h = 8 };
	err[0] = '\0';
	int rc = nn_onnx_load_buffer(&g, data, size, "fuzz.onnx", &o, err, sizeof err);
	if (rc < 0) {
		REQUIRE(g == NULL);
		REQUIRE(err[0] != '\0');
		return 0;
	}
	REQUIRE(g != NULL);
	int64_t elements = 0;
	for (int i = 0; i < g->n_tensors; i++) {
		const nn_tensor *t = &g->tensors[i];
		REQUIRE(t->rank >= 0 && t->rank <= NN_MAX_RANK);
		for (int d = 0; d < t->rank; d++)
			REQUIRE(t->shape[d] >= 0);
		if (t->is_const && t->data) {
			size_t n = nn_tensor_bytes(t);
			for (size_t k = 0; k < n; k += 64)
				sink ^= ((const uint8_t *)t->data)[k];
		}
		elements += nn_tensor_elements(t);
	}
	for (int i = 0; i < g->n_nodes; i++) {
		const nn_node *n = &g->nodes[i];
		REQUIRE(n->op >= 0 && n->op < NN_OP_COUNT);
		for (int k = 0; k < n->n_inputs; k++)
			REQUIRE(n->inputs[k] >= -1 && n->inputs[k] < g->n_tensors);
		for (int k = 0; k < n->n_outputs; k++)
			REQUIRE(n->outputs[k] >= 0 && n->outputs[k] < g->n_tensors);
	}
	for (int i = 0; i < g->n_inputs; i++)
		REQUIRE(g->inputs[i] >= 0 && g->inputs[i] < g->n_tensors);
	for (int i = 0; i < g->n_outputs; i++)
		REQUIRE(g->outputs[i] >= 0 && g->outputs[i] < g->n_tensors);
	nn_model *m;
	if (nn_model_from_graph(&m, g, err, sizeof err) < 0)
		return 0;
	if (elements < (1 << 16) && g->n_nodes < 64 &&
	    nn_model_prepare(m, &(nn_prepare_options){ .threads = 1, .reference_only = 1 }, err, sizeof err) >= 0)
		nn_model_run(m, err, sizeof err);
	nn_model_free(m);
	return 0;
}
