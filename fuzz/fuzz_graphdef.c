/*
 * libFuzzer target for the protobuf wire reader and the TensorFlow GraphDef
 * reader (src/nn/format/pb.c, graphdef.c), and the TensorFlow op mapping
 * they feed (nn_tf_build). The input is a GraphDef. Whatever the bytes, the
 * reader must fill a graph whose every string, list and tensor lies inside
 * its allocations (walked here byte by byte, so that AddressSanitizer sees
 * any stray pointer), or fail with a message; graphs with few constant bytes
 * then go through nn_tf_build (input size 8x8 for unknown inputs), and what
 * it builds must satisfy the IR's invariants and is prepared and run once on
 * the reference kernels. Seeds: fuzz/corpus/graphdef/ (gen_graphdef_corpus).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/format/graphdef.h"
#include "nn/model.h"

#define REQUIRE(cond)                     \
	do {                              \
		if (!(cond))              \
			__builtin_trap(); \
	} while (0)

static volatile uint8_t sink;

static void touch(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		sink ^= b[i];
}

static void check_tensor(const nn_tf_tensor *t)
{
	REQUIRE(t->rank >= 0 && t->rank <= NN_MAX_RANK);
	int64_t n = 1;
	for (int i = 0; i < t->rank; i++) {
		REQUIRE(t->dims[i] >= 0);
		n *= t->dims[i];
	}
	REQUIRE(n == t->elements);
	if (!t->data)
		return;
	if (t->dtype == NN_TF_STRING) {
		const nn_tf_string *s = t->data;
		for (int64_t i = 0; i < n; i++)
			touch(s[i].s, s[i].len + 1);
		return;
	}
	REQUIRE(nn_tf_dtype_size(t->dtype) > 0);
	touch(t->data, (size_t)n * nn_tf_dtype_size(t->dtype));
}

static void check_shape(int rank, const int64_t *dims)
{
	REQUIRE(rank >= -1 && rank <= NN_MAX_RANK);
	for (int i = 0; i < rank; i++)
		REQUIRE(dims[i] >= -1);
}

static void check_attr(const nn_tf_attr *a, int depth)
{
	REQUIRE(depth <= NN_TF_MAX_DEPTH + 1);
	REQUIRE(a->name && a->name[0]);
	touch(a->name, strlen(a->name));
	switch (a->kind) {
	case NN_TF_ATTR_STRING:
	case NN_TF_ATTR_PLACEHOLDER:
	case NN_TF_ATTR_FUNC:
		REQUIRE(a->s && a->s[a->s_len] == 0);
		touch(a->s, a->s_len);
		for (int i = 0; i < a->n_func_attrs; i++)
			check_attr(&a->func_attrs[i], depth + 1);
		break;
	case NN_TF_ATTR_SHAPE:
		check_shape(a->rank, a->dims);
		break;
	case NN_TF_ATTR_TENSOR:
		check_tensor(a->tensor);
		break;
	case NN_TF_ATTR_LIST:
		REQUIRE(a->n >= 0);
		for (int i = 0; i < a->n; i++) {
			switch (a->list_kind) {
			case NN_TF_ATTR_INT:
			case NN_TF_ATTR_BOOL:
				sink ^= (uint8_t)a->ints[i];
				break;
			case NN_TF_ATTR_FLOAT:
				sink ^= (uint8_t)(a->floats[i] != 0);
				break;
			case NN_TF_ATTR_TYPE:
				sink ^= (uint8_t)a->types[i];
				break;
			case NN_TF_ATTR_STRING:
			case NN_TF_ATTR_FUNC:
				REQUIRE(a->strings[i][a->string_lens[i]] == 0);
				touch(a->strings[i], a->string_lens[i]);
				break;
			case NN_TF_ATTR_SHAPE:
				check_shape(a->ranks[i], a->shape_dims[i]);
				break;
			case NN_TF_ATTR_TENSOR:
				check_tensor(&a->tensors[i]);
				break;
			default:
				REQUIRE(0);
			}
		}
		break;
	default:
		break;
	}
}

/* The IR's invariants, as fuzz_tfjs checks them; returns the bytes the tensors take. */
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
			REQUIRE(t->data || n == 0);
			if (n)
				touch(t->data, n);
		}
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
	nn_tf_graph tg = { 0 };
	char err[512];
	err[0] = 0;
	/* Small limits, so that a few bytes broadcast to a huge shape stay within the fuzzer's memory. */
	nn_tf_reader r = { .g = &tg, .source = "fuzz.pb", .borrow = 1, .max_tensor_bytes = 1 << 20,
			   .max_total_bytes = 4 << 20, .err = err, .errlen = sizeof err };
	nn_graphdef_info info;
	int rc = nn_graphdef_read(&r, data, size, &info);
	if (rc != 0) {
		REQUIRE(rc < 0 && strlen(err) > strlen("fuzz.pb: "));
		nn_tf_graph_free(&tg);
		return 0;
	}
	REQUIRE(!info.library || (info.library >= data && info.library + info.library_len <= data + size));
	for (int i = 0; i < tg.n_nodes; i++) {
		const nn_tf_node *n = &tg.nodes[i];
		REQUIRE(n->name && n->name[0] && n->op && n->op[0]);
		for (int k = 0; k < n->n_inputs; k++)
			REQUIRE(n->inputs[k] && n->inputs[k][0]);
		for (int k = 0; k < n->n_attrs; k++)
			check_attr(&n->attrs[k], 0);
	}
	size_t constants = r.total_bytes;
	nn_tf_graph_free(&tg);
	if (constants > (1u << 16))
		return 0;

	nn_graph *g = NULL;
	nn_tf_build_options o = { .input_w = 8, .input_h = 8 };
	rc = nn_graphdef_load_buffer(&g, data, size, "fuzz.pb", &o, err, sizeof err);
	if (rc != 0) {
		REQUIRE(rc < 0 && g == NULL && strlen(err) > strlen("fuzz.pb: "));
		return 0;
	}
	REQUIRE(g != NULL);
	size_t bytes = check_graph(g);
	nn_model *m;
	if (bytes > (1u << 16)) {
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
