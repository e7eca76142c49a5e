/*
 * libFuzzer target for the TensorFlow Lite loader: whatever the bytes, the
 * loader must return a graph that satisfies the IR's invariants, or an error
 * with a message, and never read outside its input.
 * Seeds: fuzz/corpus/tflite/ (made by fuzz/gen_tflite_corpus.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/format/tflite.h"

#define REQUIRE(cond)                    \
	do {                             \
		if (!(cond))             \
			__builtin_trap(); \
	} while (0)

/* Constant data is read through this, so that reads outside the file trip AddressSanitizer. */
static volatile uint8_t sink;

static void check_graph(const nn_graph *g)
{
	const uint8_t *file = g->file;
	for (int i = 0; i < g->n_tensors; i++) {
		const nn_tensor *t = &g->tensors[i];
		REQUIRE(t->name && t->rank >= 0 && t->rank <= NN_MAX_RANK);
		for (int d = 0; d < t->rank; d++)
			REQUIRE(t->shape[d] >= 1);
		REQUIRE(nn_tensor_elements(t) >= 1);
		if (t->is_const) {
			size_t n = nn_tensor_bytes(t);
			const uint8_t *p = t->data;
			REQUIRE(p && (t->owns_data || (p >= file && n <= g->file_len && p - file <= (ptrdiff_t)(g->file_len - n))));
			for (size_t k = 0; k < n; k += 97)
				sink ^= p[k];
			if (n)
				sink ^= p[n - 1];
		}
		if (t->quant.count > 1)
			REQUIRE(t->quant.axis >= 0 && t->quant.axis < t->rank && t->quant.count == t->shape[t->quant.axis]);
		for (int k = 0; k < t->quant.count; k++)
			REQUIRE(t->quant.scale[k] > 0.0f);
	}
	for (int i = 0; i < g->n_nodes; i++) {
		const nn_node *n = &g->nodes[i];
		REQUIRE(n->name && n->n_outputs >= 1);
		for (int k = 0; k < n->n_inputs; k++)
			REQUIRE(n->inputs[k] >= -1 && n->inputs[k] < g->n_tensors);
		for (int k = 0; k < n->n_outputs; k++)
			REQUIRE(n->outputs[k] >= 0 && n->outputs[k] < g->n_tensors);
	}
	for (int i = 0; i < g->n_inputs; i++)
		REQUIRE(g->inputs[i] >= 0 && g->inputs[i] < g->n_tensors);
	for (int i = 0; i < g->n_outputs; i++)
		REQUIRE(g->outputs[i] >= 0 && g->outputs[i] < g->n_tensors);
	for (int i = 0; i < g->n_labels; i++)
		REQUIRE(g->labels[i] != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	nn_graph *g = NULL;
	char err[512];
	err[0] = 0;
	int rc = nn_tflite_load(&g, data, size, "fuzz.tflite", err, sizeof err);
	if (rc == 0) {
		REQUIRE(g != NULL);
		check_graph(g);
		nn_graph_free(g);
	} else {
		REQUIRE(rc < 0 && g == NULL && strlen(err) > strlen("fuzz.tflite: "));
	}
	nn_tflite_info info;
	if (nn_tflite_read_info(&info, data, size, "fuzz.tflite", err, sizeof err) == 0)
		nn_tflite_info_free(&info);
	return 0;
}
