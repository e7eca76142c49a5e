/*
 * libFuzzer target for the SavedModel reader up to its flat TensorFlow
 * graph: the input is a saved_model.pb. The reader picks a signature (or a
 * concrete function), inlines the calls it reaches and must return a flat
 * graph whose every node input names a node of it, or an error with a
 * message, and never read outside its input. There are no variables: a
 * model that reads one fails with a message saying so.
 * Seeds: fuzz/corpus/savedmodel/ (fuzz/gen_savedmodel_corpus writes them).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/format/savedmodel.h"

#define REQUIRE(cond)                     \
	do {                              \
		if (!(cond))              \
			__builtin_trap(); \
	} while (0)

static const nn_tf_node *find(const nn_savedmodel_flat *f, const char *ref)
{
	const char *colon = strchr(ref, ':');
	size_t n = colon ? (size_t)(colon - ref) : strlen(ref);
	for (int i = 0; i < f->g.n_nodes; i++)
		if (!strncmp(f->g.nodes[i].name, ref, n) && !f->g.nodes[i].name[n])
			return &f->g.nodes[i];
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *pb = malloc(size ? size : 1);
	memcpy(pb, data, size);
	nn_savedmodel_flat f;
	char err[256];
	err[0] = 0;
	if (nn_savedmodel_flatten(&f, pb, size, NULL, "fuzz/saved_model.pb", err, sizeof err) == 0) {
		/* Small graphs only: the check is quadratic. */
		if (f.g.n_nodes < 2000) {
			for (int i = 0; i < f.g.n_nodes; i++) {
				const nn_tf_node *n = &f.g.nodes[i];
				REQUIRE(n->name && n->op);
				for (int k = 0; k < n->n_inputs; k++)
					REQUIRE(n->inputs[k][0] != '^' && find(&f, n->inputs[k]));
			}
			for (int i = 0; i < f.n_inputs + f.n_outputs; i++) {
				const nn_tf_endpoint *e = i < f.n_inputs ? &f.inputs[i] : &f.outputs[i - f.n_inputs];
				REQUIRE(e->name && e->tensor && find(&f, e->tensor));
			}
		}
		REQUIRE(f.note[0]);
		nn_savedmodel_flat_free(&f);
	} else {
		REQUIRE(err[0]);
	}
	free(pb);
	return 0;
}
