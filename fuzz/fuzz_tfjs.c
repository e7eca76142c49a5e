/*
 * libFuzzer target for the TensorFlow.js graph-model loader. The input is
 * model.json text, then a NUL byte, then the bytes of the weight shards:
 * "w.bin" is all of them, "a.bin" and "b.bin" their two halves (for
 * manifests that split a group over shards) and "empty.bin" none. Whatever
 * the bytes, the loader must return a graph that satisfies the IR's
 * invariants, or an error with a message, and never read outside its input.
 * Small graphs are also prepared and run on the reference kernels, so that
 * what the loader builds is checked to be something the engine can take.
 * Seeds: fuzz/corpus/tfjs/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/model.h"
#include "nn/format/tfjs.h"

#define REQUIRE(cond)                     \
	do {                              \
		if (!(cond))              \
			__builtin_trap(); \
	} while (0)

/* Constant data is read through this, so that reads outside an allocation trip AddressSanitizer. */
static volatile uint8_t sink;

/* Checks the graph and returns the bytes its tensors take. */
static size_t check_graph(const nn_graph *g)
{
	size_t total = 0;
	for (int i = 0; i < g->n_tensors; i++) {
		const nn_tensor *t = &g->tensors[i];
		REQUIRE(t->name && t->rank >= 0 && t->rank <= NN_MAX_RANK && nn_dtype_size(t->dtype) > 0);
		for (int d = 0; d < t->rank; d++)
			REQUIRE(t->shape[d] >= 0);
		REQUIRE(nn_tensor_elements(t) >= 0);
		size_t n = nn_tensor_bytes(t);
		total += n;
		if (t->is_const) {
			const uint8_t *p = t->data;
			REQUIRE(p && t->owns_data);
			for (size_t k = 0; k < n; k += 97)
				sink ^= p[k];
			if (n)
				sink ^= p[n - 1];
		}
		REQUIRE(t->quant.count == 0);
	}
	for (int i = 0; i < g->n_nodes; i++) {
		const nn_node *n = &g->nodes[i];
		REQUIRE(n->name && n->n_outputs >= 1 && (unsigned)n->op < NN_OP_COUNT);
		for (int k = 0; k < n->n_inputs; k++)
			REQUIRE(n->inputs[k] >= -1 && n->inputs[k] < g->n_tensors);
		for (int k = 0; k < n->n_outputs; k++)
			REQUIRE(n->outputs[k] >= 0 && n->outputs[k] < g->n_tensors && !g->tensors[n->outputs[k]].is_const);
	}
	for (int i = 0; i < g->n_inputs; i++)
		REQUIRE(g->inputs[i] >= 0 && g->inputs[i] < g->n_tensors);
	REQUIRE(g->n_outputs >= 1);
	for (int i = 0; i < g->n_outputs; i++)
		REQUIRE(g->outputs[i] >= 0 && g->outputs[i] < g->n_tensors);
	return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t json_len = nul ? (size_t)(nul - data) : size;
	const uint8_t *bin = nul ? nul + 1 : data + size;
	size_t bin_len = size - json_len - (nul ? 1 : 0);
	nn_tfjs_shard shards[4] = {
		{ "w.bin", bin, bin_len },
		{ "a.bin", bin, bin_len / 2 },
		{ "b.bin", bin + bin_len / 2, bin_len - bin_len / 2 },
		{ "empty.bin", bin, 0 },
	};
	nn_graph *g = NULL;
	char err[512];
	err[0] = 0;
	int rc = nn_tfjs_load_buffers(&g, (const char *)data, json_len, shards, 4, "fuzz.json", err, sizeof err);
	if (rc != 0) {
		REQUIRE(rc < 0 && g == NULL && strlen(err) > strlen("fuzz.json: "));
		return 0;
	}
	REQUIRE(g != NULL);
	size_t bytes = check_graph(g);
	/* Small graphs run once on the reference kernels, with zeroed inputs; a refusal is fine, a crash is not. */
	nn_model *m;
	if (bytes > (1u << 16) || nn_model_from_graph(&m, g, err, sizeof err) < 0) {
		if (bytes > (1u << 16))
			nn_graph_free(g);
		return 0;
	}
	nn_prepare_options po = { .threads = 1, .reference_only = 1 };
	if (nn_model_prepare(m, &po, err, sizeof err) == 0)
		(void)nn_model_run(m, err, sizeof err);
	nn_model_free(m);
	return 0;
}
