/*
 * The engine core: graph building, tensor sizes, the graph passes, arena
 * planning, and the model API on graphs built by hand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/backend/exec.h"
#include "nn/model.h"
#include "nn/backend/native.h"
#include "nn/pass/pass.h"
#include "nn/nn.h"
#include "nn/ref/ref.h"
#include "nn_build.h"
#include "test.h"

TEST(graph_tensors_and_nodes_grow)
{
	nn_graph *g = nn_graph_create("hand.tflite");
	CHECK(g && strcmp(g->source, "hand.tflite") == 0);
	/* Past the first capacity, so that the arrays move while indices stay valid. */
	for (int i = 0; i < 100; i++) {
		char name[16];
		snprintf(name, sizeof name, "t%d", i);
		CHECK(nn_graph_add_tensor(g, name) == i);
	}
	CHECK(g->n_tensors == 100 && g->cap_tensors >= 100);
	CHECK(strcmp(g->tensors[57].name, "t57") == 0);
	CHECK(g->tensors[57].dtype == NN_F32 && g->tensors[57].rank == 0 && !g->tensors[57].data);
	CHECK(nn_graph_add_tensor(g, NULL) == 100 && g->tensors[100].name == NULL);
	for (int i = 0; i < 40; i++) {
		nn_node *n = nn_graph_add_node(g, NN_OP_ADD, 2, 1);
		CHECK(n && n->op == NN_OP_ADD && n->n_inputs == 2 && n->n_outputs == 1);
		CHECK(n->inputs[0] == -1 && n->inputs[1] == -1 && n->outputs[0] == -1);
		n->inputs[0] = i;
	}
	CHECK(g->n_nodes == 40 && g->nodes[39].inputs[0] == 39);
	nn_node *empty = nn_graph_add_node(g, NN_OP_RESHAPE, 0, 0);
	CHECK(empty && empty->inputs && empty->outputs);
	CHECK(nn_graph_add_node(g, NN_OP_ADD, -1, 1) == NULL);
	nn_graph_free(g);
	nn_graph_free(NULL);
}

TEST(graph_tensor_sizes_and_names)
{
	CHECK(nn_dtype_size(NN_F32) == 4 && nn_dtype_size(NN_F16) == 2 && nn_dtype_size(NN_U8) == 1);
	CHECK(nn_dtype_size(NN_I8) == 1 && nn_dtype_size(NN_I16) == 2 && nn_dtype_size(NN_I32) == 4);
	CHECK(nn_dtype_size(NN_I64) == 8 && nn_dtype_size(NN_BOOL) == 1 && nn_dtype_size(NN_DTYPE_COUNT) == 0);
	CHECK(strcmp(nn_dtype_name(NN_F32), "float32") == 0 && strcmp(nn_dtype_name(NN_I8), "int8") == 0);
	CHECK(strcmp(nn_dtype_name((nn_dtype)99), "unknown") == 0);
	for (int op = 0; op < NN_OP_COUNT; op++)
		CHECK_MSG(strcmp(nn_op_name((nn_op)op), "UNKNOWN_OP") != 0, "op %d has no name", op);
	CHECK(strcmp(nn_op_name(NN_OP_CONV2D), "CONV2D") == 0);
	CHECK(strcmp(nn_op_name(NN_OP_COUNT), "UNKNOWN_OP") == 0);

	nn_tensor t = { .dtype = NN_F32, .rank = 4, .shape = { 1, 224, 224, 3 } };
	CHECK(nn_tensor_elements(&t) == 150528 && nn_tensor_bytes(&t) == 602112);
	t.dtype = NN_I64;
	CHECK(nn_tensor_bytes(&t) == 150528 * 8);
	t.rank = 0;
	CHECK(nn_tensor_elements(&t) == 1 && nn_tensor_bytes(&t) == 8);
	t.rank = 2;
	t.shape[0] = 0;
	CHECK(nn_tensor_elements(&t) == 0 && nn_tensor_bytes(&t) == 0);
	t.shape[0] = -3;
	CHECK(nn_tensor_elements(&t) == -1 && nn_tensor_bytes(&t) == 0);
	t.rank = 7;
	CHECK(nn_tensor_elements(&t) == -1);
	nn_tensor huge = { .dtype = NN_F32, .rank = 6,
			   .shape = { 1 << 30, 1 << 30, 1 << 30, 1 << 30, 1 << 30, 1 << 30 } };
	CHECK(nn_tensor_elements(&huge) == -1);
}

TEST(graph_quant_and_constants)
{
	nn_graph *g = nn_graph_create(NULL);
	int t = tb_tensor(g, "w", NN_I8, 2, 3, 4);
	CHECK(!nn_tensor_is_quantized(&g->tensors[t]));
	float scales[3] = { 0.5f, 0.25f, 0.125f };
	int32_t zps[3] = { 0, 0, 0 };
	CHECK(nn_tensor_set_quant(&g->tensors[t], 3, 0, scales, zps) == 0);
	scales[1] = 99; /* copied, so this does not show */
	CHECK(g->tensors[t].quant.count == 3 && g->tensors[t].quant.scale[1] == 0.25f);
	CHECK(nn_tensor_is_quantized(&g->tensors[t]));
	CHECK(nn_tensor_set_quant(&g->tensors[t], 1, 0, scales, NULL) == 0);
	CHECK(g->tensors[t].quant.count == 1 && g->tensors[t].quant.zero_point[0] == 0);
	int f = tb_tensor(g, "f", NN_F32, 1, 5);
	tb_quant(g, f, 0.5f, 0);
	CHECK(!nn_tensor_is_quantized(&g->tensors[f])); /* float tensors are never quantized */

	CHECK(nn_tensor_alloc_const(&g->tensors[t]) == 0);
	CHECK(g->tensors[t].is_const && g->tensors[t].owns_data);
	for (int i = 0; i < 12; i++)
		CHECK(((int8_t *)g->tensors[t].data)[i] == 0);
	CHECK(nn_tensor_alloc_const(&g->tensors[t]) == 0); /* again: the old block is freed */
	g->tensors[f].shape[0] = -1;
	CHECK(nn_tensor_alloc_const(&g->tensors[f]) == NN_ERR_SHAPE);
	/* Everything the graph owns goes with it; LeakSanitizer checks. */
	g->tensors[f].aux = malloc(10);
	CHECK(g->tensors[f].aux != NULL);
	g->labels = calloc(2, sizeof *g->labels);
	g->labels[0] = strdup("person");
	g->labels[1] = strdup("bicycle");
	g->n_labels = 2;
	g->file = malloc(32);
	nn_graph_free(g);
}

/* a + b (both constant) = c; c + x = y. Folding leaves one node with c constant. */
TEST(graph_fold_constants)
{
	nn_graph *g = nn_graph_create("fold");
	int a = tb_tensor(g, "a", NN_F32, 1, 4), b = tb_tensor(g, "b", NN_F32, 1, 4);
	int c = tb_tensor(g, "c", NN_F32, 1, 4), x = tb_tensor(g, "x", NN_F32, 1, 4);
	int y = tb_tensor(g, "y", NN_F32, 1, 4), z = tb_tensor(g, "z", NN_F32, 1, 4);
	tb_const_values(g, a, (const float[]){ 1, 2, 3, 4 });
	tb_const_values(g, b, (const float[]){ 10, 20, 30, 40 });
	tb_node(g, NN_OP_ADD, "c", TB_LIST(a, b), TB_LIST(c));
	tb_node(g, NN_OP_ADD, "y", TB_LIST(c, x), TB_LIST(y));
	/* A node whose inputs are all constant but whose output is a graph output stays. */
	tb_node(g, NN_OP_SUB, "z", TB_LIST(b, a), TB_LIST(z));
	tb_io(g, TB_LIST(x), TB_LIST(y, z));
	char err[256];
	CHECK(nn_exec_check_graph(g, err, sizeof err) == 0);
	CHECK_MSG(nn_pass_fold_constants(g, err, sizeof err) == 0, "%s", err);
	CHECK(g->n_nodes == 2);
	CHECK(g->nodes[0].op == NN_OP_ADD && g->nodes[0].inputs[0] == c);
	CHECK(g->nodes[1].op == NN_OP_SUB);
	CHECK(g->tensors[c].is_const && g->tensors[c].owns_data);
	const float *cv = g->tensors[c].data;
	CHECK(cv[0] == 11 && cv[1] == 22 && cv[2] == 33 && cv[3] == 44);
	nn_graph_free(g);
}

/* Fusion cases on conv -> relu chains; each returns the graph for the checks. */
static nn_graph *conv_relu_graph(nn_op act_op, int extra_reader, int mid_is_output, nn_activation conv_act)
{
	uint32_t seed = 1;
	nn_graph *g = nn_graph_create("fuse");
	int x = tb_tensor(g, "x", NN_F32, 4, 1, 4, 4, 2);
	int w = tb_tensor(g, "w", NN_F32, 4, 3, 1, 1, 2);
	int mid = tb_tensor(g, "mid", NN_F32, 4, 1, 4, 4, 3);
	int y = tb_tensor(g, "y", NN_F32, 4, 1, 4, 4, 3);
	int y2 = tb_tensor(g, "y2", NN_F32, 4, 1, 4, 4, 3);
	tb_const(g, w, &seed, -1, 1);
	int conv = tb_node(g, NN_OP_CONV2D, "conv", TB_LIST(x, w, -1), TB_LIST(mid));
	g->nodes[conv].p.conv = (nn_conv_params){ .stride_h = 1, .stride_w = 1, .dilation_h = 1, .dilation_w = 1,
						  .padding = NN_PADDING_SAME, .act = conv_act };
	tb_node(g, act_op, "relu", TB_LIST(mid), TB_LIST(y));
	if (extra_reader) {
		tb_node(g, NN_OP_ADD, "add", TB_LIST(mid, y), TB_LIST(y2));
		tb_io(g, TB_LIST(x), TB_LIST(y2));
	} else if (mid_is_output) {
		tb_io(g, TB_LIST(x), TB_LIST(y, mid));
	} else {
		tb_io(g, TB_LIST(x), TB_LIST(y));
	}
	return g;
}

TEST(graph_fuse_activations)
{
	char err[256];
	nn_graph *g = conv_relu_graph(NN_OP_RELU6, 0, 0, NN_ACT_NONE);
	CHECK(nn_pass_fuse_activations(g, err, sizeof err) == 0);
	CHECK(g->n_nodes == 1 && g->nodes[0].op == NN_OP_CONV2D);
	CHECK(g->nodes[0].p.conv.act == NN_ACT_RELU6);
	CHECK(g->nodes[0].outputs[0] == 3); /* the conv now writes y */
	CHECK(strcmp(g->nodes[0].name, "conv") == 0);
	nn_graph_free(g);

	g = conv_relu_graph(NN_OP_RELU_N1_TO_1, 0, 0, NN_ACT_NONE);
	CHECK(nn_pass_fuse_activations(g, err, sizeof err) == 0);
	CHECK(g->n_nodes == 1 && g->nodes[0].p.conv.act == NN_ACT_RELU_N1_TO_1);
	nn_graph_free(g);

	/* Not fused: another node reads the conv's output, */
	g = conv_relu_graph(NN_OP_RELU, 1, 0, NN_ACT_NONE);
	CHECK(nn_pass_fuse_activations(g, err, sizeof err) == 0);
	CHECK(g->n_nodes == 3 && g->nodes[0].p.conv.act == NN_ACT_NONE);
	nn_graph_free(g);
	/* the conv's output is a graph output, */
	g = conv_relu_graph(NN_OP_RELU, 0, 1, NN_ACT_NONE);
	CHECK(nn_pass_fuse_activations(g, err, sizeof err) == 0);
	CHECK(g->n_nodes == 2);
	nn_graph_free(g);
	/* the conv already has an activation, */
	g = conv_relu_graph(NN_OP_RELU, 0, 0, NN_ACT_RELU6);
	CHECK(nn_pass_fuse_activations(g, err, sizeof err) == 0);
	CHECK(g->n_nodes == 2 && g->nodes[0].p.conv.act == NN_ACT_RELU6);
	nn_graph_free(g);
	/* the quantization differs across the RELU. */
	g = conv_relu_graph(NN_OP_RELU, 0, 0, NN_ACT_NONE);
	for (int t = 0; t < g->n_tensors; t++)
		g->tensors[t].dtype = NN_U8;
	tb_quant(g, 2, 0.1f, 10);
	tb_quant(g, 3, 0.05f, 0);
	CHECK(nn_pass_fuse_activations(g, err, sizeof err) == 0);
	CHECK(g->n_nodes == 2);
	tb_quant(g, 3, 0.1f, 10);
	CHECK(nn_pass_fuse_activations(g, err, sizeof err) == 0);
	CHECK(g->n_nodes == 1 && g->nodes[0].p.conv.act == NN_ACT_RELU);
	nn_graph_free(g);

	/* A producer without an activation field (RESHAPE) keeps its RELU. */
	g = nn_graph_create("fuse");
	int x = tb_tensor(g, "x", NN_F32, 1, 8), r = tb_tensor(g, "r", NN_F32, 2, 2, 4);
	int y = tb_tensor(g, "y", NN_F32, 2, 2, 4);
	tb_node(g, NN_OP_RESHAPE, "reshape", TB_LIST(x), TB_LIST(r));
	tb_node(g, NN_OP_RELU, "relu", TB_LIST(r), TB_LIST(y));
	tb_io(g, TB_LIST(x), TB_LIST(y));
	CHECK(nn_pass_fuse_activations(g, err, sizeof err) == 0);
	CHECK(g->n_nodes == 2);
	nn_graph_free(g);

	/* ADD keeps its activation in p.act, pools in p.pool.act, FULLY_CONNECTED in p.fc.act. */
	g = nn_graph_create("fuse");
	int a = tb_tensor(g, "a", NN_F32, 1, 8), b = tb_tensor(g, "b", NN_F32, 1, 8);
	int s = tb_tensor(g, "s", NN_F32, 1, 8), o = tb_tensor(g, "o", NN_F32, 1, 8);
	tb_node(g, NN_OP_ADD, "add", TB_LIST(a, b), TB_LIST(s));
	tb_node(g, NN_OP_RELU, "relu", TB_LIST(s), TB_LIST(o));
	tb_io(g, TB_LIST(a, b), TB_LIST(o));
	CHECK(nn_pass_fuse_activations(g, err, sizeof err) == 0);
	CHECK(g->n_nodes == 1 && g->nodes[0].p.act == NN_ACT_RELU && g->nodes[0].outputs[0] == o);
	nn_graph_free(g);
}

/* Lifetimes as the planner should see them, recomputed independently for the checks. */
static void lifetimes(const nn_graph *g, int *first, int *last)
{
	for (int t = 0; t < g->n_tensors; t++) {
		first[t] = -2;
		last[t] = -2;
	}
	for (int i = 0; i < g->n_inputs; i++)
		first[g->inputs[i]] = -1, last[g->inputs[i]] = g->n_nodes;
	for (int i = 0; i < g->n_nodes; i++) {
		for (int k = 0; k < g->nodes[i].n_inputs; k++) {
			int t = g->nodes[i].inputs[k];
			if (t >= 0 && !g->tensors[t].is_const && last[t] < i)
				last[t] = i;
		}
		for (int k = 0; k < g->nodes[i].n_outputs; k++) {
			int t = g->nodes[i].outputs[k];
			first[t] = i;
			if (last[t] < i)
				last[t] = i;
		}
	}
	for (int i = 0; i < g->n_outputs; i++)
		last[g->outputs[i]] = g->n_nodes;
}

/* Checks a plan: alignment, constants outside, and no shared bytes between tensors alive together. */
static void check_plan(const nn_graph *g, const size_t *off, size_t arena)
{
	int *first = malloc((size_t)g->n_tensors * sizeof *first), *last = malloc((size_t)g->n_tensors * sizeof *last);
	lifetimes(g, first, last);
	for (int t = 0; t < g->n_tensors; t++) {
		if (g->tensors[t].is_const || first[t] == -2) {
			CHECK(off[t] == NN_NO_OFFSET);
			continue;
		}
		CHECK(off[t] != NN_NO_OFFSET && off[t] % 64 == 0);
		CHECK(off[t] + nn_tensor_bytes(&g->tensors[t]) + 16 <= arena);
		for (int u = 0; u < t; u++) {
			if (off[u] == NN_NO_OFFSET || first[u] > last[t] || first[t] > last[u])
				continue;
			size_t ta = off[t], tb = ta + nn_tensor_bytes(&g->tensors[t]);
			size_t ua = off[u], ub = ua + nn_tensor_bytes(&g->tensors[u]);
			CHECK_MSG(tb <= ua || ub <= ta, "tensors %d [%zu,%zu) and %d [%zu,%zu) overlap", t, ta, tb, u, ua,
				  ub);
		}
	}
	free(first);
	free(last);
}

TEST(graph_plan_chain_reuses_memory)
{
	/* x -> relu -> relu -> ... -> y: only two neighbours are ever alive together. */
	nn_graph *g = nn_graph_create("chain");
	int prev = tb_tensor(g, "x", NN_F32, 2, 16, 64);
	int x = prev;
	for (int i = 0; i < 10; i++) {
		int t = tb_tensor(g, NULL, NN_F32, 2, 16, 64);
		tb_node(g, i % 2 ? NN_OP_RELU : NN_OP_RELU6, NULL, TB_LIST(prev), TB_LIST(t));
		prev = t;
	}
	tb_io(g, TB_LIST(x), TB_LIST(prev));
	size_t off[16], arena = 0, sum = 0;
	char err[256];
	CHECK_MSG(nn_exec_plan(g, off, &arena, err, sizeof err) == 0, "%s", err);
	check_plan(g, off, arena);
	for (int t = 0; t < g->n_tensors; t++)
		sum += nn_tensor_bytes(&g->tensors[t]);
	/* Input and output stay for the whole run; the eight in between share two more slots. */
	CHECK_MSG(arena < sum / 2, "arena %zu, sum %zu", arena, sum);
	CHECK(arena <= 4 * (4096 + 64));
	nn_graph_free(g);
}

TEST(graph_plan_random_graphs_never_overlap)
{
	for (uint32_t seed = 1; seed <= 200; seed++) {
		uint32_t s = seed;
		nn_graph *g = nn_graph_create("random");
		int n_in = 1 + (int)(tb_next(&s) % 3);
		int in[3];
		for (int i = 0; i < n_in; i++)
			in[i] = tb_tensor(g, NULL, NN_F32, 1, 1 + (int)(tb_next(&s) % 300));
		int w = tb_tensor(g, "w", NN_F32, 1, 7);
		tb_const(g, w, &s, 0, 1);
		int n_nodes = 1 + (int)(tb_next(&s) % 25);
		for (int i = 0; i < n_nodes; i++) {
			/* Each node reads one or two earlier tensors, sizes vary: the planner must not care. */
			int a = (int)(tb_next(&s) % (uint32_t)g->n_tensors);
			int b = (int)(tb_next(&s) % (uint32_t)g->n_tensors);
			int t = tb_tensor(g, NULL, NN_F32, 1, 1 + (int)(tb_next(&s) % 1000));
			tb_node(g, NN_OP_ADD, NULL, TB_LIST(a, b), TB_LIST(t));
		}
		/* The last node's output and the first's (its index follows the inputs and w). */
		int outs[2] = { g->n_tensors - 1, n_in + 1 };
		tb_io(g, n_in, in, outs[0] == outs[1] ? 1 : 2, outs);
		size_t *off = malloc((size_t)g->n_tensors * sizeof *off), arena = 0;
		char err[256];
		CHECK_MSG(nn_exec_plan(g, off, &arena, err, sizeof err) == 0, "seed %u: %s", seed, err);
		check_plan(g, off, arena);
		free(off);
		nn_graph_free(g);
	}
}

TEST(graph_plan_reshape_shares_its_input)
{
	/* x -> RELU a [2,3] -> RESHAPE b [3,2] -> RELU6 c: b takes a's bytes, and the values stay right. */
	nn_graph *g = nn_graph_create("reshape-alias");
	int x = tb_tensor(g, "x", NN_F32, 2, 2, 3);
	int a = tb_tensor(g, "a", NN_F32, 2, 2, 3);
	int b = tb_tensor(g, "b", NN_F32, 2, 3, 2);
	int c = tb_tensor(g, "c", NN_F32, 2, 3, 2);
	tb_node(g, NN_OP_RELU, "relu", TB_LIST(x), TB_LIST(a));
	tb_node(g, NN_OP_RESHAPE, "reshape", TB_LIST(a), TB_LIST(b));
	tb_node(g, NN_OP_RELU6, "relu6", TB_LIST(b), TB_LIST(c));
	tb_io(g, TB_LIST(x), TB_LIST(c));
	size_t off[8], bytes;
	char err[256];
	CHECK_MSG(nn_exec_plan(g, off, &bytes, err, sizeof err) == 0, "%s", err);
	CHECK(off[b] == off[a]);
	CHECK(off[c] != off[a] && off[x] != off[a]);
	nn_model *m;
	CHECK(nn_model_from_graph(&m, g, err, sizeof err) == 0);
	CHECK_MSG(nn_model_prepare(m, &(nn_prepare_options){ .reference_only = 1 }, err, sizeof err) == 0, "%s", err);
	memcpy(nn_model_input(m, 0)->data, (const float[]){ -1, 2, 7, 0.5f, -3, 9 }, 6 * sizeof(float));
	CHECK_MSG(nn_model_run(m, err, sizeof err) == 0, "%s", err);
	const float *y = nn_model_output(m, 0)->data;
	static const float want[6] = { 0, 2, 6, 0.5f, 0, 6 };
	for (int i = 0; i < 6; i++)
		CHECK(y[i] == want[i]);
	nn_model_free(m);
}

TEST(graph_plan_rejects_bad_structure)
{
	char err[256];
	size_t off[8], arena;
	/* A node reads a tensor nothing writes. */
	nn_graph *g = nn_graph_create("bad.tflite");
	int x = tb_tensor(g, "x", NN_F32, 1, 4), ghost = tb_tensor(g, "ghost", NN_F32, 1, 4);
	int y = tb_tensor(g, "y", NN_F32, 1, 4);
	tb_node(g, NN_OP_ADD, "sum", TB_LIST(x, ghost), TB_LIST(y));
	tb_io(g, TB_LIST(x), TB_LIST(y));
	CHECK(nn_exec_plan(g, off, &arena, err, sizeof err) == NN_ERR_FORMAT);
	CHECK_MSG(strstr(err, "bad.tflite") && strstr(err, "node 0 'sum' (ADD)") && strstr(err, "'ghost'"), "%s",
		  err);
	nn_graph_free(g);

	/* Two nodes write one tensor. */
	g = nn_graph_create("bad.tflite");
	x = tb_tensor(g, "x", NN_F32, 1, 4);
	y = tb_tensor(g, "y", NN_F32, 1, 4);
	tb_node(g, NN_OP_RELU, "a", TB_LIST(x), TB_LIST(y));
	tb_node(g, NN_OP_RELU6, "b", TB_LIST(x), TB_LIST(y));
	tb_io(g, TB_LIST(x), TB_LIST(y));
	CHECK(nn_exec_plan(g, off, &arena, err, sizeof err) == NN_ERR_FORMAT);
	CHECK_MSG(strstr(err, "node 1 'b' (RELU6)") && strstr(err, "node 0 'a' (RELU)"), "%s", err);
	nn_graph_free(g);

	/* Out-of-range indices are caught before anything dereferences them. */
	g = nn_graph_create("bad.tflite");
	x = tb_tensor(g, "x", NN_F32, 1, 4);
	y = tb_tensor(g, "y", NN_F32, 1, 4);
	tb_node(g, NN_OP_ADD, "add", TB_LIST(x, 77), TB_LIST(y));
	tb_io(g, TB_LIST(x), TB_LIST(y));
	CHECK(nn_exec_check_graph(g, err, sizeof err) == NN_ERR_FORMAT);
	CHECK_MSG(strstr(err, "node 0 'add' (ADD)") && strstr(err, "77"), "%s", err);
	g->nodes[0].inputs[1] = x;
	g->outputs[0] = -5;
	CHECK(nn_exec_check_graph(g, err, sizeof err) == NN_ERR_FORMAT);
	g->outputs[0] = y;
	g->tensors[y].shape[0] = -4;
	CHECK(nn_exec_check_graph(g, err, sizeof err) == NN_ERR_SHAPE);
	CHECK_MSG(strstr(err, "'y'"), "%s", err);
	g->tensors[y].shape[0] = 4;
	g->tensors[x].is_const = 1; /* a constant without data */
	CHECK(nn_exec_check_graph(g, err, sizeof err) == NN_ERR_FORMAT);
	g->tensors[x].is_const = 0;
	float sc[2] = { 1, 1 };
	CHECK(nn_tensor_set_quant(&g->tensors[x], 2, 0, sc, NULL) == 0); /* 2 channels along a 4-long axis */
	CHECK(nn_exec_check_graph(g, err, sizeof err) == NN_ERR_FORMAT);
	nn_graph_free(g);
}

/* conv(x) -> relu6 -> + bias vector -> y, float, run through the model API. */
static nn_graph *small_float_model(void)
{
	uint32_t seed = 7;
	nn_graph *g = nn_graph_create("hand-built");
	int x = tb_tensor(g, "input", NN_F32, 4, 1, 6, 6, 3);
	int w = tb_tensor(g, "w", NN_F32, 4, 4, 3, 3, 3);
	int b = tb_tensor(g, "b", NN_F32, 1, 4);
	int c = tb_tensor(g, "conv", NN_F32, 4, 1, 6, 6, 4);
	int r = tb_tensor(g, "relu", NN_F32, 4, 1, 6, 6, 4);
	int v = tb_tensor(g, "v", NN_F32, 1, 4);
	int y = tb_tensor(g, "output", NN_F32, 4, 1, 6, 6, 4);
	tb_const(g, w, &seed, -1, 1);
	tb_const(g, b, &seed, -1, 1);
	tb_const(g, v, &seed, -1, 1);
	int n = tb_node(g, NN_OP_CONV2D, "conv", TB_LIST(x, w, b), TB_LIST(c));
	g->nodes[n].p.conv = (nn_conv_params){ .stride_h = 1, .stride_w = 1, .dilation_h = 1, .dilation_w = 1,
					       .padding = NN_PADDING_SAME };
	tb_node(g, NN_OP_RELU6, "relu6", TB_LIST(c), TB_LIST(r));
	tb_node(g, NN_OP_ADD, "add", TB_LIST(r, v), TB_LIST(y));
	tb_io(g, TB_LIST(x), TB_LIST(y));
	g->labels = calloc(2, sizeof *g->labels);
	g->labels[0] = strdup("cat");
	g->labels[1] = strdup("dog");
	g->n_labels = 2;
	return g;
}

static void run_small_model(int reference_only, int threads, float *out)
{
	nn_model *m;
	char err[256];
	CHECK(nn_model_from_graph(&m, small_float_model(), err, sizeof err) == 0);
	CHECK(nn_model_input_count(m) == 1 && nn_model_output_count(m) == 1);
	CHECK(nn_model_input(m, 1) == NULL && nn_model_output(m, -1) == NULL);
	CHECK(nn_model_run(m, err, sizeof err) == NN_ERR_ARG); /* before prepare */
	CHECK(strcmp(nn_model_node_backend(m, 0), "none") == 0);
	nn_prepare_options opt = { .threads = threads, .reference_only = reference_only };
	CHECK_MSG(nn_model_prepare(m, &opt, err, sizeof err) == 0, "%s", err);
	CHECK(nn_model_prepare(m, &opt, err, sizeof err) == NN_ERR_ARG);
	/* The RELU6 is fused into the convolution. */
	CHECK(nn_model_graph(m)->n_nodes == 2);
	/* A 3x3 convolution over 3 channels is the native stem kernel's where the CPU has AVX-512. */
	const char *conv_backend = reference_only ? "reference" : nn_native_available() ? "native" : "xnnpack";
	CHECK(strcmp(nn_model_node_backend(m, 0), conv_backend) == 0);
	CHECK(strcmp(nn_model_node_backend(m, 1), reference_only ? "reference" : "xnnpack") == 0);
	CHECK(strcmp(nn_model_node_backend(m, 2), "none") == 0);
	/* 2 * 144 outputs * 27 MACs for the conv, 144 for the add. */
	CHECK(nn_model_flops(m) == 2 * 144 * 27 + 144);
	CHECK(nn_model_arena_bytes(m) > 0);
	int count;
	const char *const *labels = nn_model_labels(m, &count);
	CHECK(count == 2 && strcmp(labels[1], "dog") == 0);

	nn_tensor *in = nn_model_input(m, 0);
	CHECK(in && in->data && strcmp(in->name, "input") == 0 && nn_tensor_bytes(in) == 108 * 4);
	uint32_t seed = 99;
	tb_fill(in, &seed, -1, 1);
	CHECK(nn_model_node_time_us(m, 0) < 0);
	nn_model_set_profiling(m, 1);
	CHECK_MSG(nn_model_run(m, err, sizeof err) == 0, "%s", err);
	CHECK(nn_model_node_time_us(m, 0) >= 0 && nn_model_node_time_us(m, 1) >= 0);
	CHECK(nn_model_node_time_us(m, 5) < 0);
	/* Running twice gives the same result: inputs and outputs are never overwritten. */
	CHECK(nn_model_run(m, err, sizeof err) == 0);
	const nn_tensor *o = nn_model_output(m, 0);
	CHECK(o && strcmp(o->name, "output") == 0);
	memcpy(out, o->data, nn_tensor_bytes(o));
	nn_model_free(m);
}

TEST(model_api_on_hand_built_graph)
{
	float ref[144], xnn[144], xnn2[144];
	run_small_model(1, 1, ref);
	run_small_model(0, 1, xnn);
	run_small_model(0, 2, xnn2);
	for (int i = 0; i < 144; i++) {
		CHECK_MSG(fabsf(ref[i] - xnn[i]) <= 1e-4f * fmaxf(1, fabsf(ref[i])), "%d: %g vs %g", i, ref[i], xnn[i]);
		CHECK(xnn[i] == xnn2[i] || fabsf(xnn[i] - xnn2[i]) <= 1e-5f);
	}
}

TEST(model_errors_name_the_node)
{
	/* Neither XNNPACK nor the reference kernels take a TANH of booleans. */
	nn_graph *g = nn_graph_create("odd.tflite");
	int x = tb_tensor(g, "x", NN_BOOL, 1, 4), y = tb_tensor(g, "y", NN_BOOL, 1, 4);
	tb_node(g, NN_OP_TANH, "odd/Tanh", TB_LIST(x), TB_LIST(y));
	tb_io(g, TB_LIST(x), TB_LIST(y));
	nn_model *m;
	char err[512];
	CHECK(nn_model_from_graph(&m, g, err, sizeof err) == 0);
	int rc = nn_model_prepare(m, NULL, err, sizeof err);
	CHECK(rc == NN_ERR_UNSUPPORTED);
	CHECK_MSG(strstr(err, "node 0 'odd/Tanh' (TANH)") && strstr(err, "XNNPACK") && strstr(err, "reference"), "%s",
		  err);
	CHECK(nn_model_run(m, err, sizeof err) == NN_ERR_ARG);
	nn_model_free(m);

	/* A convolution whose output shape contradicts its input, filter and padding. */
	uint32_t seed = 3;
	g = nn_graph_create("shape.tflite");
	x = tb_tensor(g, "x", NN_F32, 4, 1, 8, 8, 3);
	int w = tb_tensor(g, "w", NN_F32, 4, 4, 3, 3, 3);
	y = tb_tensor(g, "y", NN_F32, 4, 1, 7, 8, 4);
	tb_const(g, w, &seed, -1, 1);
	int n = tb_node(g, NN_OP_CONV2D, "MobilenetV1/Conv2d_3/Relu6", TB_LIST(x, w, -1), TB_LIST(y));
	g->nodes[n].p.conv = (nn_conv_params){ .stride_h = 1, .stride_w = 1, .dilation_h = 1, .dilation_w = 1,
					       .padding = NN_PADDING_SAME };
	tb_io(g, TB_LIST(x), TB_LIST(y));
	CHECK(nn_model_from_graph(&m, g, err, sizeof err) == 0);
	CHECK(nn_model_prepare(m, NULL, err, sizeof err) == NN_ERR_SHAPE);
	CHECK_MSG(strstr(err, "node 0 'MobilenetV1/Conv2d_3/Relu6' (CONV2D)") && strstr(err, "[1,7,8,4]") &&
			  strstr(err, "[1,8,8,4]"),
		  "%s", err);
	nn_model_free(m);
}

TEST(model_load_rejects_unknown_files)
{
	nn_model *m = (nn_model *)1;
	char err[512];
	CHECK(nn_model_load(&m, "/nonexistent/model.tflite", err, sizeof err) == NN_ERR_IO);
	CHECK(m == NULL && strstr(err, "/nonexistent/model.tflite"));
	char path[] = "/tmp/nn-test-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK(write(fd, "not a model at all", 18) == 18);
	close(fd);
	CHECK(nn_model_load(&m, path, err, sizeof err) == NN_ERR_FORMAT);
	CHECK_MSG(strstr(err, path) && strstr(err, "not recognised"), "%s", err);
	unlink(path);
	CHECK(nn_model_load(&m, "/tmp", err, sizeof err) == NN_ERR_IO);
}

/* ---- transpose folding ---- */

static int count_op(const nn_graph *g, nn_op op)
{
	int k = 0;
	for (int i = 0; i < g->n_nodes; i++)
		k += g->nodes[i].op == op;
	return k;
}

/* Runs g's nodes in order on the reference kernels, on arrays of its own; `in` fills graph input 0. */
static void run_graph_ref(nn_graph *g, const float *in)
{
	for (int t = 0; t < g->n_tensors; t++) {
		nn_tensor *x = &g->tensors[t];
		if (x->is_const || x->data)
			continue;
		x->data = calloc(1, nn_tensor_bytes(x) + 1);
		CHECK(x->data != NULL);
		x->owns_data = 1;
	}
	memcpy(g->tensors[g->inputs[0]].data, in, nn_tensor_bytes(&g->tensors[g->inputs[0]]));
	for (int i = 0; i < g->n_nodes; i++) {
		char err[256] = "";
		int rc = nn_ref_run(g, &g->nodes[i], err, sizeof err);
		CHECK_MSG(rc == 0, "node %d: %s", i, err);
	}
}

static void set_perm(nn_graph *g, int node, const int *perm, int rank)
{
	for (int d = 0; d < NN_MAX_RANK; d++)
		g->nodes[node].p.transpose.perm[d] = d < rank ? perm[d] : d;
}

/*
 * An NHWC input taken to NCHW, as onnx-tf does around every convolution:
 * LEAKY_RELU, PAD, a per-channel ADD and a transpose back (then MEAN); a
 * LOGISTIC branch concatenated along channels and split again; one split
 * output leaves as a graph output, the other through RESHAPE and a
 * [0,2,1] TRANSPOSE, which together only relabel NHWC data.
 */
static nn_graph *nchw_island_graph(void)
{
	static const int to_nchw[] = { 0, 3, 1, 2 }, to_nhwc[] = { 0, 2, 3, 1 }, swap[] = { 0, 2, 1 };
	nn_graph *g = nn_graph_create("island");
	int x = tb_tensor(g, "x", NN_F32, 4, 1, 4, 5, 3);
	int a = tb_tensor(g, "a", NN_F32, 4, 1, 3, 4, 5);
	int b = tb_tensor(g, "b", NN_F32, 4, 1, 3, 4, 5);
	int c = tb_tensor(g, "c", NN_F32, 4, 1, 3, 5, 7);
	int k = tb_tensor(g, "k", NN_F32, 3, 3, 1, 1);
	int d = tb_tensor(g, "d", NN_F32, 4, 1, 3, 5, 7);
	int e = tb_tensor(g, "e", NN_F32, 4, 1, 5, 7, 3);
	int f = tb_tensor(g, "f", NN_F32, 4, 1, 1, 1, 3);
	int s = tb_tensor(g, "s", NN_F32, 4, 1, 3, 4, 5);
	int h = tb_tensor(g, "h", NN_F32, 4, 1, 6, 4, 5);
	int h1 = tb_tensor(g, "h1", NN_F32, 4, 1, 2, 4, 5);
	int h2 = tb_tensor(g, "h2", NN_F32, 4, 1, 4, 4, 5);
	int r = tb_tensor(g, "r", NN_F32, 3, 1, 4, 20);
	int o = tb_tensor(g, "o", NN_F32, 3, 1, 20, 4);
	tb_const_values(g, k, (const float[]){ 0.5f, -1.0f, 2.0f });
	set_perm(g, tb_node(g, NN_OP_TRANSPOSE, "to_nchw", TB_LIST(x), TB_LIST(a)), to_nchw, 4);
	g->nodes[tb_node(g, NN_OP_LEAKY_RELU, "leaky", TB_LIST(a), TB_LIST(b))].p.leaky_relu.alpha = 0.1f;
	int n = tb_node(g, NN_OP_PAD, "pad", TB_LIST(b), TB_LIST(c));
	g->nodes[n].p.pad.pads[2][0] = 1, g->nodes[n].p.pad.pads[3][1] = 2;
	tb_node(g, NN_OP_ADD, "bias", TB_LIST(c, k), TB_LIST(d));
	set_perm(g, tb_node(g, NN_OP_TRANSPOSE, "to_nhwc", TB_LIST(d), TB_LIST(e)), to_nhwc, 4);
	n = tb_node(g, NN_OP_MEAN, "mean", TB_LIST(e), TB_LIST(f));
	g->nodes[n].p.reduce.axes[0] = 1, g->nodes[n].p.reduce.axes[1] = 2;
	g->nodes[n].p.reduce.n_axes = 2, g->nodes[n].p.reduce.keep_dims = 1;
	tb_node(g, NN_OP_LOGISTIC, "sigmoid", TB_LIST(a), TB_LIST(s));
	g->nodes[tb_node(g, NN_OP_CONCATENATION, "concat", TB_LIST(b, s), TB_LIST(h))].p.concat.axis = 1;
	g->nodes[tb_node(g, NN_OP_SPLIT, "split", TB_LIST(h), TB_LIST(h1, h2))].p.split.axis = 1;
	tb_node(g, NN_OP_RESHAPE, "reshape", TB_LIST(h2), TB_LIST(r));
	set_perm(g, tb_node(g, NN_OP_TRANSPOSE, "swap", TB_LIST(r), TB_LIST(o)), swap, 3);
	tb_io(g, TB_LIST(x), TB_LIST(f, h1, o));
	return g;
}

static void expect_same_outputs(const nn_graph *want, const nn_graph *got, float tol)
{
	CHECK(want->n_outputs == got->n_outputs);
	for (int i = 0; i < want->n_outputs; i++) {
		const nn_tensor *a = &want->tensors[want->outputs[i]], *b = &got->tensors[got->outputs[i]];
		CHECK(a->rank == b->rank && !memcmp(a->shape, b->shape, (size_t)a->rank * sizeof a->shape[0]));
		const float *p = a->data, *q = b->data;
		for (int64_t j = 0; j < nn_tensor_elements(a); j++)
			CHECK_MSG(fabsf(p[j] - q[j]) <= tol, "output %d element %lld: %g, folded %g", i, (long long)j,
				  (double)p[j], (double)q[j]);
	}
}

TEST(graph_fold_transposes_island)
{
	float in[60];
	uint32_t seed = 3;
	for (int i = 0; i < 60; i++)
		in[i] = tb_uniform(&seed, -2, 2);
	nn_graph *want = nchw_island_graph();
	run_graph_ref(want, in);
	/* One value by hand: h1 is the first two channels of leaky(x) in NCHW; channel 1, (h,w) = (2,3) is x[0,2,3,1]. */
	float v = in[(2 * 5 + 3) * 3 + 1];
	CHECK(((const float *)want->tensors[want->outputs[1]].data)[20 + 2 * 5 + 3] == (v > 0 ? v : 0.1f * v));

	nn_graph *g = nchw_island_graph();
	char err[256];
	CHECK_MSG(nn_pass_fold_transposes(g, err, sizeof err) == 0, "%s", err);
	/* Only h1, a graph output in NCHW, still needs a transpose; the RESHAPE and [0,2,1] became one RESHAPE. */
	CHECK_MSG(count_op(g, NN_OP_TRANSPOSE) == 1, "%d transposes", count_op(g, NN_OP_TRANSPOSE));
	CHECK(count_op(g, NN_OP_RESHAPE) == 1);
	CHECK(g->n_nodes == 9);
	for (int i = 0; i < g->n_nodes; i++)
		if (g->nodes[i].op == NN_OP_CONCATENATION)
			CHECK(g->nodes[i].p.concat.axis == 3);
	run_graph_ref(g, in);
	expect_same_outputs(want, g, 0);
	nn_graph_free(g);

	/* Through the model API, where XNNPACK takes the rewritten PAD, ADD and CONCATENATION. */
	nn_model *m;
	CHECK(nn_model_from_graph(&m, nchw_island_graph(), err, sizeof err) == 0);
	CHECK_MSG(nn_model_prepare(m, &(nn_prepare_options){ .threads = 1 }, err, sizeof err) == 0, "%s", err);
	memcpy(nn_model_input(m, 0)->data, in, sizeof in);
	CHECK_MSG(nn_model_run(m, err, sizeof err) == 0, "%s", err);
	expect_same_outputs(want, nn_model_graph(m), 1e-6f);
	nn_model_free(m);
	nn_graph_free(want);
}

TEST(graph_fold_transposes_chains)
{
	char err[256];
	/* Two transposes that undo each other become one RESHAPE; two that do not, one TRANSPOSE. */
	for (int undo = 0; undo < 2; undo++) {
		nn_graph *g = nn_graph_create("chain");
		int x = tb_tensor(g, "x", NN_F32, 3, 2, 3, 4);
		int a = tb_tensor(g, "a", NN_F32, 3, 3, 4, 2);
		int y = undo ? tb_tensor(g, "y", NN_F32, 3, 2, 3, 4) : tb_tensor(g, "y", NN_F32, 3, 4, 2, 3);
		set_perm(g, tb_node(g, NN_OP_TRANSPOSE, "t1", TB_LIST(x), TB_LIST(a)), (const int[]){ 1, 2, 0 }, 3);
		set_perm(g, tb_node(g, NN_OP_TRANSPOSE, "t2", TB_LIST(a), TB_LIST(y)),
			 undo ? (const int[]){ 2, 0, 1 } : (const int[]){ 1, 2, 0 }, 3);
		tb_io(g, TB_LIST(x), TB_LIST(y));
		float in[24];
		for (int i = 0; i < 24; i++)
			in[i] = (float)i;
		CHECK_MSG(nn_pass_fold_transposes(g, err, sizeof err) == 0, "%s", err);
		CHECK(g->n_nodes == 1);
		CHECK(g->nodes[0].op == (undo ? NN_OP_RESHAPE : NN_OP_TRANSPOSE) && g->nodes[0].inputs[0] == x);
		run_graph_ref(g, in);
		const float *out = g->tensors[y].data;
		/*
		 * [1,2,0] twice is [2,0,1]: y[i][j][k] = x[j][k][i], so
		 * y[1][0][2] = x[0][2][1] = 9 and y[3][1][2] = x[1][2][3] = 23.
		 */
		if (undo)
			for (int i = 0; i < 24; i++)
				CHECK(out[i] == (float)i);
		else
			CHECK(out[(1 * 2 + 0) * 3 + 2] == 9.0f && out[(3 * 2 + 1) * 3 + 2] == 23.0f);
		nn_graph_free(g);
	}

	/* A transpose that only moves a dimension of size 1 is a RESHAPE. */
	nn_graph *g = nn_graph_create("unit");
	int x = tb_tensor(g, "x", NN_F32, 3, 1, 2, 3);
	int y = tb_tensor(g, "y", NN_F32, 3, 2, 1, 3);
	set_perm(g, tb_node(g, NN_OP_TRANSPOSE, "t", TB_LIST(x), TB_LIST(y)), (const int[]){ 1, 0, 2 }, 3);
	tb_io(g, TB_LIST(x), TB_LIST(y));
	CHECK(nn_pass_fold_transposes(g, err, sizeof err) == 0);
	CHECK(g->n_nodes == 1 && g->nodes[0].op == NN_OP_RESHAPE);
	nn_graph_free(g);
}

TEST(graph_fold_transposes_keeps_costly_islands)
{
	/* t: NHWC x to NCHW a; ADD(a, w) where w comes from another transpose with a different perm. */
	nn_graph *g = nn_graph_create("costly");
	int x = tb_tensor(g, "x", NN_F32, 4, 1, 4, 5, 3);
	int v = tb_tensor(g, "v", NN_F32, 4, 1, 5, 4, 3);
	int a = tb_tensor(g, "a", NN_F32, 4, 1, 3, 4, 5);
	int w = tb_tensor(g, "w", NN_F32, 4, 1, 3, 4, 5);
	int z = tb_tensor(g, "z", NN_F32, 4, 1, 3, 4, 5);
	set_perm(g, tb_node(g, NN_OP_TRANSPOSE, "t", TB_LIST(x), TB_LIST(a)), (const int[]){ 0, 3, 1, 2 }, 4);
	set_perm(g, tb_node(g, NN_OP_TRANSPOSE, "u", TB_LIST(v), TB_LIST(w)), (const int[]){ 0, 3, 2, 1 }, 4);
	tb_node(g, NN_OP_ADD, "add", TB_LIST(a, w), TB_LIST(z));
	/* z is read by a graph output, w by the ADD: folding t would add two transposes to remove one. */
	g->inputs = malloc(2 * sizeof *g->inputs);
	g->inputs[0] = x, g->inputs[1] = v, g->n_inputs = 2;
	g->outputs = malloc(sizeof *g->outputs);
	g->outputs[0] = z, g->n_outputs = 1;
	char err[256];
	CHECK(nn_pass_fold_transposes(g, err, sizeof err) == 0);
	CHECK(g->n_nodes == 3 && count_op(g, NN_OP_TRANSPOSE) == 2);
	CHECK(g->nodes[2].op == NN_OP_ADD && g->nodes[2].inputs[0] == a && g->nodes[2].inputs[1] == w);
	nn_graph_free(g);
}

/* NCHW input x [1,3,4,5] -> PAD (height 1,0; width 0,2) -> TRANSPOSE to NHWC -> MEAN over height and width. */
static nn_graph *exit_island_graph(void)
{
	static const int to_nhwc[] = { 0, 2, 3, 1 };
	nn_graph *g = nn_graph_create("exit-island");
	int x = tb_tensor(g, "x", NN_F32, 4, 1, 3, 4, 5);
	int p = tb_tensor(g, "p", NN_F32, 4, 1, 3, 5, 7);
	int t = tb_tensor(g, "t", NN_F32, 4, 1, 5, 7, 3);
	int y = tb_tensor(g, "y", NN_F32, 4, 1, 1, 1, 3);
	int n = tb_node(g, NN_OP_PAD, "pad", TB_LIST(x), TB_LIST(p));
	g->nodes[n].p.pad.pads[2][0] = 1, g->nodes[n].p.pad.pads[3][1] = 2;
	set_perm(g, tb_node(g, NN_OP_TRANSPOSE, "to_nhwc", TB_LIST(p), TB_LIST(t)), to_nhwc, 4);
	n = tb_node(g, NN_OP_MEAN, "mean", TB_LIST(t), TB_LIST(y));
	g->nodes[n].p.reduce.axes[0] = 1, g->nodes[n].p.reduce.axes[1] = 2;
	g->nodes[n].p.reduce.n_axes = 2, g->nodes[n].p.reduce.keep_dims = 1;
	tb_io(g, TB_LIST(x), TB_LIST(y));
	return g;
}

/*
 * As TFLite exports of NCHW models write them (YOLOX through onnx-tf):
 * NHWC -> [0,3,1,2] -> PAD with its absent constant_values input (-1) ->
 * STRIDED_SLICE -> [0,2,3,1]. Both ops follow the island into NHWC and
 * both transposes go.
 */
static nn_graph *pad_slice_island(void)
{
	nn_graph *g = nn_graph_create("pad-slice");
	int x = tb_tensor(g, "x", NN_F32, 4, 1, 4, 6, 2);
	int a = tb_tensor(g, "a", NN_F32, 4, 1, 2, 4, 6);
	int b = tb_tensor(g, "b", NN_F32, 4, 1, 2, 6, 8);
	int c = tb_tensor(g, "c", NN_F32, 4, 1, 2, 3, 3);
	int y = tb_tensor(g, "y", NN_F32, 4, 1, 3, 3, 2);
	set_perm(g, tb_node(g, NN_OP_TRANSPOSE, "t1", TB_LIST(x), TB_LIST(a)), (const int[]){ 0, 3, 1, 2 }, 4);
	int pad = tb_node(g, NN_OP_PAD, "pad", TB_LIST(a, -1), TB_LIST(b));
	g->nodes[pad].p.pad.pads[2][0] = 1, g->nodes[pad].p.pad.pads[2][1] = 1;
	g->nodes[pad].p.pad.pads[3][1] = 2;
	int sl = tb_node(g, NN_OP_STRIDED_SLICE, "slice", TB_LIST(b), TB_LIST(c));
	static const int begin[4] = { 0, 0, 1, 0 }, stride[4] = { 1, 1, 2, 3 };
	memcpy(g->nodes[sl].p.slice.begin, begin, sizeof begin);
	memcpy(g->nodes[sl].p.slice.stride, stride, sizeof stride);
	set_perm(g, tb_node(g, NN_OP_TRANSPOSE, "t2", TB_LIST(c), TB_LIST(y)), (const int[]){ 0, 2, 3, 1 }, 4);
	tb_io(g, TB_LIST(x), TB_LIST(y));
	return g;
}

TEST(graph_fold_transposes_pad_and_slice)
{
	float in[48];
	for (int i = 0; i < 48; i++)
		in[i] = (float)(i * 7 % 13) - 6.0f;
	nn_graph *want = pad_slice_island(), *g = pad_slice_island();
	run_graph_ref(want, in);
	char err[256];
	CHECK_MSG(nn_pass_fold_transposes(g, err, sizeof err) == 0, "%s", err);
	/* The graph output y, written by the exit transpose, is kept by a RESHAPE (a copy under y's name). */
	CHECK_MSG(count_op(g, NN_OP_TRANSPOSE) == 0 && g->n_nodes == 3, "%d transposes, %d nodes",
		  count_op(g, NN_OP_TRANSPOSE), g->n_nodes);
	CHECK(g->nodes[0].op == NN_OP_PAD && g->nodes[1].op == NN_OP_STRIDED_SLICE && g->nodes[2].op == NN_OP_RESHAPE);
	run_graph_ref(g, in);
	const float *a = want->tensors[want->outputs[0]].data, *b = g->tensors[g->outputs[0]].data;
	CHECK(g->tensors[g->outputs[0]].shape[1] == 3 && g->tensors[g->outputs[0]].shape[3] == 2);
	for (int i = 0; i < 18; i++)
		CHECK_MSG(a[i] == b[i], "y[%d] = %g, expected %g", i, (double)b[i], (double)a[i]);
	nn_graph_free(want);
	nn_graph_free(g);
}

TEST(graph_fold_transposes_from_an_exit)
{
	/* The island is found from the transpose that leaves it: the PAD moves behind a transpose of the smaller input. */
	float in[60];
	for (int i = 0; i < 60; i++)
		in[i] = (float)(i % 7) - 2.5f;
	nn_graph *want = exit_island_graph();
	run_graph_ref(want, in);
	/* Channel 0's mean by hand: the sum of its 20 values over the padded 5x7 = 35. */
	float sum0 = 0;
	for (int i = 0; i < 20; i++)
		sum0 += in[i];
	CHECK(fabsf(((const float *)want->tensors[want->outputs[0]].data)[0] - sum0 / 35.0f) <= 1e-6f);

	nn_graph *g = exit_island_graph();
	char err[256];
	CHECK_MSG(nn_pass_fold_transposes(g, err, sizeof err) == 0, "%s", err);
	CHECK(g->n_nodes == 3 && g->nodes[0].op == NN_OP_TRANSPOSE && g->nodes[1].op == NN_OP_PAD);
	CHECK(g->nodes[0].inputs[0] == g->inputs[0]);
	const nn_tensor *moved = &g->tensors[g->nodes[0].outputs[0]];
	CHECK(moved->shape[1] == 4 && moved->shape[2] == 5 && moved->shape[3] == 3);
	CHECK(g->nodes[1].p.pad.pads[1][0] == 1 && g->nodes[1].p.pad.pads[2][1] == 2 && g->nodes[1].p.pad.pads[3][0] == 0);
	run_graph_ref(g, in);
	expect_same_outputs(want, g, 1e-6f);
	nn_graph_free(g);
	nn_graph_free(want);
}

/* ---- fusions into convolutions and HARD_SWISH ---- */

/* x [1,5,5,2] -> PAD (height 1,1; width 0,2) -> 3x3 CONV2D (VALID, bias b) -> ADD k with RELU -> y [1,5,5,3]. */
static nn_graph *pad_conv_add_graph(void)
{
	uint32_t seed = 11;
	nn_graph *g = nn_graph_create("pad-conv-add");
	int x = tb_tensor(g, "x", NN_F32, 4, 1, 5, 5, 2);
	int p = tb_tensor(g, "padded", NN_F32, 4, 1, 7, 7, 2);
	int w = tb_tensor(g, "w", NN_F32, 4, 3, 3, 3, 2);
	int b = tb_tensor(g, "b", NN_F32, 1, 3);
	int c = tb_tensor(g, "conv", NN_F32, 4, 1, 5, 5, 3);
	int k = tb_tensor(g, "k", NN_F32, 4, 1, 1, 1, 3);
	int y = tb_tensor(g, "y", NN_F32, 4, 1, 5, 5, 3);
	tb_const(g, w, &seed, -1, 1);
	tb_const_values(g, b, (const float[]){ 0.25f, -0.5f, 1.0f });
	tb_const_values(g, k, (const float[]){ 1.0f, 2.0f, -3.0f });
	int n = tb_node(g, NN_OP_PAD, "pad", TB_LIST(x), TB_LIST(p));
	g->nodes[n].p.pad.pads[1][0] = 1, g->nodes[n].p.pad.pads[1][1] = 1, g->nodes[n].p.pad.pads[2][1] = 2;
	n = tb_node(g, NN_OP_CONV2D, "conv", TB_LIST(p, w, b), TB_LIST(c));
	g->nodes[n].p.conv = (nn_conv_params){ .stride_h = 1, .stride_w = 1, .dilation_h = 1, .dilation_w = 1,
					       .padding = NN_PADDING_VALID };
	g->nodes[tb_node(g, NN_OP_ADD, "add", TB_LIST(c, k), TB_LIST(y))].p.act = NN_ACT_RELU;
	tb_io(g, TB_LIST(x), TB_LIST(y));
	return g;
}

TEST(graph_fuse_pad_and_bias_into_conv)
{
	float in[50];
	uint32_t seed = 5;
	for (int i = 0; i < 50; i++)
		in[i] = tb_uniform(&seed, -2, 2);
	nn_graph *want = pad_conv_add_graph();
	run_graph_ref(want, in);
	nn_graph *g = pad_conv_add_graph();
	char err[256];
	CHECK_MSG(nn_pass_fuse_pad(g, err, sizeof err) == 0, "%s", err);
	CHECK_MSG(nn_pass_fuse_ops(g, err, sizeof err) == 0, "%s", err);
	CHECK(g->n_nodes == 1 && g->nodes[0].op == NN_OP_CONV2D && g->nodes[0].inputs[0] == g->inputs[0]);
	const nn_conv_params *cp = &g->nodes[0].p.conv;
	CHECK(cp->padding == NN_PADDING_EXPLICIT && cp->pad_top == 1 && cp->pad_bottom == 1 && cp->pad_left == 0 &&
	      cp->pad_right == 2 && cp->act == NN_ACT_RELU);
	const float *bias = g->tensors[g->nodes[0].inputs[2]].data;
	CHECK(bias[0] == 1.25f && bias[1] == 1.5f && bias[2] == -2.0f);
	run_graph_ref(g, in);
	expect_same_outputs(want, g, 1e-5f);
	/* Some outputs are clamped by the RELU, some not: the comparison covers both. */
	const float *y = want->tensors[want->outputs[0]].data;
	int zeros = 0;
	for (int i = 0; i < 75; i++)
		zeros += y[i] == 0.0f;
	CHECK(zeros > 0 && zeros < 75);
	nn_graph_free(g);

	/* On XNNPACK, through the model API. */
	nn_model *m;
	CHECK(nn_model_from_graph(&m, pad_conv_add_graph(), err, sizeof err) == 0);
	CHECK_MSG(nn_model_prepare(m, &(nn_prepare_options){ .threads = 1, .no_native = 1 }, err, sizeof err) == 0,
		  "%s", err);
	CHECK(nn_model_graph(m)->n_nodes == 1 && strcmp(nn_model_node_backend(m, 0), "xnnpack") == 0);
	memcpy(nn_model_input(m, 0)->data, in, sizeof in);
	CHECK_MSG(nn_model_run(m, err, sizeof err) == 0, "%s", err);
	expect_same_outputs(want, nn_model_graph(m), 1e-5f);
	nn_model_free(m);
	nn_graph_free(want);
}

/*
 * x [1,4,4,3] -> 3x3 CONV2D (SAME, bias) or DEPTHWISE_CONV2D (multiplier 2)
 * -> MUL s -> ADD t with RELU6: a standalone batch norm after a convolution.
 */
static nn_graph *conv_scale_shift_graph(int depthwise)
{
	uint32_t seed = 23;
	int co = depthwise ? 6 : 4;
	nn_graph *g = nn_graph_create("conv-batch-norm");
	int x = tb_tensor(g, "x", NN_F32, 4, 1, 4, 4, 3);
	int w = depthwise ? tb_tensor(g, "w", NN_F32, 4, 1, 3, 3, co) : tb_tensor(g, "w", NN_F32, 4, co, 3, 3, 3);
	int b = tb_tensor(g, "b", NN_F32, 1, co);
	int c = tb_tensor(g, "conv", NN_F32, 4, 1, 4, 4, co);
	int k = tb_tensor(g, "scale", NN_F32, 1, co);
	int m = tb_tensor(g, "scaled", NN_F32, 4, 1, 4, 4, co);
	int t = tb_tensor(g, "shift", NN_F32, 1, co);
	int y = tb_tensor(g, "y", NN_F32, 4, 1, 4, 4, co);
	tb_const(g, w, &seed, -1, 1);
	tb_const(g, b, &seed, -1, 1);
	tb_const_values(g, k, (const float[]){ 0.5f, -2.0f, 3.0f, 0.25f, -1.0f, 1.5f });
	tb_const(g, t, &seed, -1, 1);
	int n = tb_node(g, depthwise ? NN_OP_DEPTHWISE_CONV2D : NN_OP_CONV2D, "conv", TB_LIST(x, w, b), TB_LIST(c));
	g->nodes[n].p.conv = (nn_conv_params){ .stride_h = 1, .stride_w = 1, .dilation_h = 1, .dilation_w = 1,
					       .padding = NN_PADDING_SAME, .depth_multiplier = depthwise ? 2 : 0 };
	tb_node(g, NN_OP_MUL, "mul", TB_LIST(c, k), TB_LIST(m));
	g->nodes[tb_node(g, NN_OP_ADD, "add", TB_LIST(m, t), TB_LIST(y))].p.act = NN_ACT_RELU6;
	tb_io(g, TB_LIST(x), TB_LIST(y));
	return g;
}

TEST(graph_fuse_batch_norm_into_conv)
{
	float in[48];
	uint32_t seed = 9;
	for (int i = 0; i < 48; i++)
		in[i] = tb_uniform(&seed, -2, 2);
	for (int depthwise = 0; depthwise < 2; depthwise++) {
		nn_graph *want = conv_scale_shift_graph(depthwise);
		run_graph_ref(want, in);
		nn_graph *g = conv_scale_shift_graph(depthwise);
		char err[256];
		CHECK_MSG(nn_pass_fuse_ops(g, err, sizeof err) == 0, "%s", err);
		CHECK(g->n_nodes == 1 && g->nodes[0].p.conv.act == NN_ACT_RELU6 && g->nodes[0].outputs[0] == g->outputs[0]);
		/* The original filter is untouched: the scaled one is a copy. */
		CHECK(g->nodes[0].inputs[1] != 1);
		run_graph_ref(g, in);
		expect_same_outputs(want, g, 1e-5f);
		nn_graph_free(g);
		nn_graph_free(want);
	}
	/* A scale the convolution's other readers would not see stays a MUL. */
	nn_graph *g = conv_scale_shift_graph(0);
	g->outputs[0] = 3; /* the convolution's own output is a graph output too */
	char err[256];
	CHECK_MSG(nn_pass_fuse_ops(g, err, sizeof err) == 0, "%s", err);
	CHECK(g->n_nodes == 3 && g->nodes[1].op == NN_OP_MUL);
	nn_graph_free(g);
}

/* x * s * relu6(x + 3), then a 1x1 DEPTHWISE_CONV2D when `then_conv`; x is [1,1,2,4]. */
static nn_graph *hard_swish_graph(float s, int then_conv)
{
	nn_graph *g = nn_graph_create("hard-swish");
	int x = tb_tensor(g, "x", NN_F32, 4, 1, 1, 2, 4);
	int sc = tb_tensor(g, "s", NN_F32, 0);
	int three = tb_tensor(g, "three", NN_F32, 1, 1);
	int a = tb_tensor(g, "scaled", NN_F32, 4, 1, 1, 2, 4);
	int b = tb_tensor(g, "shifted", NN_F32, 4, 1, 1, 2, 4);
	int y = tb_tensor(g, "y", NN_F32, 4, 1, 1, 2, 4);
	tb_const_values(g, sc, &s);
	tb_const_values(g, three, (const float[]){ 3.0f });
	tb_node(g, NN_OP_MUL, "mul", TB_LIST(sc, x), TB_LIST(a));
	g->nodes[tb_node(g, NN_OP_ADD, "add", TB_LIST(x, three), TB_LIST(b))].p.act = NN_ACT_RELU6;
	tb_node(g, NN_OP_MUL, "mul_1", TB_LIST(a, b), TB_LIST(y));
	int out = y;
	if (then_conv) {
		int w = tb_tensor(g, "w", NN_F32, 4, 1, 1, 1, 4);
		int bias = tb_tensor(g, "bias", NN_F32, 1, 4);
		out = tb_tensor(g, "out", NN_F32, 4, 1, 1, 2, 4);
		tb_const_values(g, w, (const float[]){ 1, 2, -1, 0.5f });
		tb_const_values(g, bias, (const float[]){ 0, 0, 0, 0 });
		int n = tb_node(g, NN_OP_DEPTHWISE_CONV2D, "dw", TB_LIST(y, w, bias), TB_LIST(out));
		g->nodes[n].p.conv = (nn_conv_params){ .stride_h = 1, .stride_w = 1, .dilation_h = 1, .dilation_w = 1,
						       .padding = NN_PADDING_VALID, .depth_multiplier = 1 };
	}
	tb_io(g, TB_LIST(x), TB_LIST(out));
	return g;
}

TEST(graph_fuse_hard_swish)
{
	static const float in[8] = { -4, -3, -1, 0, 0.5f, 1, 3, 4 };
	/* x * relu6(x + 3) / 6 by hand. */
	static const float want_hs[8] = { 0, 0, -1.0f / 3, 0, 0.5f * 3.5f / 6, 4.0f / 6, 3, 4 };
	char err[256];
	nn_graph *g = hard_swish_graph(1.0f / 6.0f, 0);
	CHECK_MSG(nn_pass_fuse_ops(g, err, sizeof err) == 0, "%s", err);
	CHECK(g->n_nodes == 1 && g->nodes[0].op == NN_OP_HARD_SWISH && g->nodes[0].n_inputs == 1 &&
	      g->nodes[0].inputs[0] == g->inputs[0]);
	run_graph_ref(g, in);
	const float *y = g->tensors[g->outputs[0]].data;
	for (int i = 0; i < 8; i++)
		CHECK_MSG(fabsf(y[i] - want_hs[i]) <= 1e-6f, "element %d: %g, want %g", i, (double)y[i], (double)want_hs[i]);
	nn_graph_free(g);

	/*
	 * 1/6 rounded to float16, as models with float16 weights store it: the
	 * result is HARD_SWISH * 6s; with a convolution after it, 6s goes into
	 * the filter, else it stays a MUL.
	 */
	const float s16 = 0.1666259765625f;
	for (int then_conv = 0; then_conv < 2; then_conv++) {
		nn_graph *want = hard_swish_graph(s16, then_conv);
		run_graph_ref(want, in);
		g = hard_swish_graph(s16, then_conv);
		CHECK_MSG(nn_pass_fuse_ops(g, err, sizeof err) == 0, "%s", err);
		CHECK_MSG(g->n_nodes == 2, "%d nodes", g->n_nodes);
		CHECK(g->nodes[0].op == NN_OP_HARD_SWISH);
		CHECK(g->nodes[1].op == (then_conv ? NN_OP_DEPTHWISE_CONV2D : NN_OP_MUL));
		run_graph_ref(g, in);
		expect_same_outputs(want, g, 1e-6f);
		if (!then_conv) {
			const float *v = g->tensors[g->outputs[0]].data;
			CHECK(fabsf(v[7] - 4.0f * 6.0f * s16) <= 1e-6f);
		}
		nn_graph_free(want);
		nn_graph_free(g);
	}
	/* Not hard swish: the shift is 2, not 3. */
	g = hard_swish_graph(1.0f / 6.0f, 0);
	*(float *)g->tensors[2].data = 2.0f;
	CHECK(nn_pass_fuse_ops(g, err, sizeof err) == 0);
	CHECK(g->n_nodes == 3 && count_op(g, NN_OP_HARD_SWISH) == 0);
	nn_graph_free(g);
}

/* x [1,4,4,2] -> PAD 1 on each side of height and width -> ADD mask (border_value outside) -> 3x3/2 MAX_POOL2D. */
static nn_graph *pad_mask_pool_graph(float border_value)
{
	nn_graph *g = nn_graph_create("pad-pool");
	int x = tb_tensor(g, "x", NN_F32, 4, 1, 4, 4, 2);
	int p = tb_tensor(g, "padded", NN_F32, 4, 1, 6, 6, 2);
	int m = tb_tensor(g, "mask", NN_F32, 4, 1, 6, 6, 1);
	int a = tb_tensor(g, "masked", NN_F32, 4, 1, 6, 6, 2);
	int y = tb_tensor(g, "y", NN_F32, 4, 1, 2, 2, 2);
	float mv[36];
	for (int h = 0; h < 6; h++)
		for (int w = 0; w < 6; w++)
			mv[h * 6 + w] = h == 0 || h == 5 || w == 0 || w == 5 ? border_value : 0.0f;
	tb_const_values(g, m, mv);
	int n = tb_node(g, NN_OP_PAD, "pad", TB_LIST(x), TB_LIST(p));
	g->nodes[n].p.pad.pads[1][0] = g->nodes[n].p.pad.pads[1][1] = 1;
	g->nodes[n].p.pad.pads[2][0] = g->nodes[n].p.pad.pads[2][1] = 1;
	tb_node(g, NN_OP_ADD, "mask", TB_LIST(p, m), TB_LIST(a));
	n = tb_node(g, NN_OP_MAX_POOL2D, "pool", TB_LIST(a), TB_LIST(y));
	g->nodes[n].p.pool = (nn_pool_params){ .filter_h = 3, .filter_w = 3, .stride_h = 2, .stride_w = 2,
					       .padding = NN_PADDING_VALID };
	tb_io(g, TB_LIST(x), TB_LIST(y));
	return g;
}

TEST(graph_fuse_minus_inf_pad_into_max_pool)
{
	/* All negative, so that a zero or finite padding would show in the maxima. */
	float in[32];
	for (int i = 0; i < 32; i++)
		in[i] = -1.0f - (float)((i * 7) % 32);
	nn_graph *want = pad_mask_pool_graph(-INFINITY);
	run_graph_ref(want, in);
	/* Output (0,0), channel 0: the max of x rows 0..1, columns 0..1 (the window's first row and column are padding). */
	float m00 = fmaxf(fmaxf(in[0], in[2]), fmaxf(in[8], in[10]));
	CHECK(((const float *)want->tensors[want->outputs[0]].data)[0] == m00);

	nn_graph *g = pad_mask_pool_graph(-INFINITY);
	char err[256];
	CHECK_MSG(nn_pass_fuse_ops(g, err, sizeof err) == 0, "%s", err);
	CHECK(g->n_nodes == 1 && g->nodes[0].op == NN_OP_MAX_POOL2D && g->nodes[0].inputs[0] == g->inputs[0]);
	const nn_pool_params *pp = &g->nodes[0].p.pool;
	CHECK(pp->padding == NN_PADDING_EXPLICIT && pp->pad_top == 1 && pp->pad_bottom == 1 && pp->pad_left == 1 &&
	      pp->pad_right == 1);
	run_graph_ref(g, in);
	expect_same_outputs(want, g, 0);
	nn_graph_free(g);

	nn_model *m;
	CHECK(nn_model_from_graph(&m, pad_mask_pool_graph(-INFINITY), err, sizeof err) == 0);
	CHECK_MSG(nn_model_prepare(m, &(nn_prepare_options){ .threads = 1 }, err, sizeof err) == 0, "%s", err);
	/* Off the reference kernel: XNNPACK or, with AVX-512, the native pool. */
	CHECK(nn_model_graph(m)->n_nodes == 1 && strcmp(nn_model_node_backend(m, 0), "reference") != 0);
	memcpy(nn_model_input(m, 0)->data, in, sizeof in);
	CHECK_MSG(nn_model_run(m, err, sizeof err) == 0, "%s", err);
	expect_same_outputs(want, nn_model_graph(m), 0);
	nn_model_free(m);
	nn_graph_free(want);

	/* A finite border value is a real value the maxima may pick: no fusion. */
	g = pad_mask_pool_graph(-100.0f);
	CHECK(nn_pass_fuse_ops(g, err, sizeof err) == 0);
	CHECK(g->n_nodes == 3);
	nn_graph_free(g);
}

TEST(model_cast_of_a_mask_on_xnnpack)
{
	/* EQUAL(x, c) -> CAST to float32, CenterNet's peak mask: on XNNPACK as a uint8 dequantization. */
	nn_graph *g = nn_graph_create("mask");
	int x = tb_tensor(g, "x", NN_F32, 2, 3, 40);
	int c = tb_tensor(g, "c", NN_F32, 0);
	int eq = tb_tensor(g, "eq", NN_BOOL, 2, 3, 40);
	int y = tb_tensor(g, "y", NN_F32, 2, 3, 40);
	tb_const_values(g, c, (const float[]){ 2.0f });
	tb_node(g, NN_OP_EQUAL, "equal", TB_LIST(x, c), TB_LIST(eq));
	tb_node(g, NN_OP_CAST, "cast", TB_LIST(eq), TB_LIST(y));
	tb_io(g, TB_LIST(x), TB_LIST(y));
	nn_model *m;
	char err[256];
	CHECK(nn_model_from_graph(&m, g, err, sizeof err) == 0);
	CHECK_MSG(nn_model_prepare(m, &(nn_prepare_options){ .threads = 1 }, err, sizeof err) == 0, "%s", err);
	CHECK(strcmp(nn_model_node_backend(m, 1), "xnnpack") == 0);
	float in[120];
	for (int i = 0; i < 120; i++)
		in[i] = (float)(i % 5);
	memcpy(nn_model_input(m, 0)->data, in, sizeof in);
	CHECK_MSG(nn_model_run(m, err, sizeof err) == 0, "%s", err);
	const float *out = nn_model_output(m, 0)->data;
	for (int i = 0; i < 120; i++)
		CHECK_MSG(out[i] == (i % 5 == 2 ? 1.0f : 0.0f), "element %d: %g", i, (double)out[i]);
	nn_model_free(m);

	/* A bool graph input may hold any non-zero byte: its CAST stays on the reference kernel, which makes it 1. */
	g = nn_graph_create("bool-input");
	int b = tb_tensor(g, "b", NN_BOOL, 1, 4);
	int f = tb_tensor(g, "f", NN_F32, 1, 4);
	tb_node(g, NN_OP_CAST, "cast", TB_LIST(b), TB_LIST(f));
	tb_io(g, TB_LIST(b), TB_LIST(f));
	CHECK(nn_model_from_graph(&m, g, err, sizeof err) == 0);
	CHECK_MSG(nn_model_prepare(m, &(nn_prepare_options){ .threads = 1 }, err, sizeof err) == 0, "%s", err);
	CHECK(strcmp(nn_model_node_backend(m, 0), "reference") == 0);
	memcpy(nn_model_input(m, 0)->data, (const uint8_t[]){ 0, 1, 7, 255 }, 4);
	CHECK_MSG(nn_model_run(m, err, sizeof err) == 0, "%s", err);
	out = nn_model_output(m, 0)->data;
	CHECK(out[0] == 0.0f && out[1] == 1.0f && out[2] == 1.0f && out[3] == 1.0f);
	nn_model_free(m);
}

TEST_SUITE(nn_graph,
	   TEST_ENTRY(graph_tensors_and_nodes_grow),
	   TEST_ENTRY(graph_tensor_sizes_and_names),
	   TEST_ENTRY(graph_quant_and_constants),
	   TEST_ENTRY(graph_fold_constants),
	   TEST_ENTRY(graph_fuse_activations),
	   TEST_ENTRY(graph_fold_transposes_island),
	   TEST_ENTRY(graph_fold_transposes_chains),
	   TEST_ENTRY(graph_fold_transposes_keeps_costly_islands),
	   TEST_ENTRY(graph_fold_transposes_from_an_exit),
	   TEST_ENTRY(graph_fold_transposes_pad_and_slice),
	   TEST_ENTRY(graph_fuse_pad_and_bias_into_conv), TEST_ENTRY(graph_fuse_batch_norm_into_conv),
	   TEST_ENTRY(graph_fuse_hard_swish),
	   TEST_ENTRY(graph_fuse_minus_inf_pad_into_max_pool),
	   TEST_ENTRY(graph_plan_chain_reuses_memory),
	   TEST_ENTRY(graph_plan_random_graphs_never_overlap),
	   TEST_ENTRY(graph_plan_rejects_bad_structure),
	   TEST_ENTRY(graph_plan_reshape_shares_its_input),
	   TEST_ENTRY(model_api_on_hand_built_graph),
	   TEST_ENTRY(model_errors_name_the_node),
	   TEST_ENTRY(model_cast_of_a_mask_on_xnnpack),
	   TEST_ENTRY(model_load_rejects_unknown_files));
