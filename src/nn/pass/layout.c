/*
 * Transpose folding.
 *
 * Graphs converted from NCHW frameworks (ONNX through onnx-tf, PyTorch) wrap
 * every convolution in a pair of TRANSPOSEs and run what lies between the
 * convolutions (activations, padding, slices, concatenations, element-wise
 * arithmetic) in NCHW. Those ops do not care about the layout, so the pass
 * rewrites each connected region of them (an "island") into the layout of
 * the transposes that feed it: the transposes at its edges cancel, and one
 * is inserted only where a tensor enters or leaves the island through some
 * other op. An island is rewritten only when that removes at least as many
 * transposed elements as it adds.
 *
 * A second step replaces each chain of TRANSPOSE and RESHAPE nodes by one
 * node: a RESHAPE when the chain leaves every element at its place in
 * memory (a transpose that only moves dimensions of size 1, or a transpose
 * undone by a later one around a reshape), one TRANSPOSE when the chain is
 * made of transposes only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/graph.h"
#include "nn/pass/pass.h"

/* The iota check of a TRANSPOSE/RESHAPE chain allocates two int32 arrays of the tensor's size. */
#define MAX_CHAIN_CHECK_ELEMENTS ((int64_t)1 << 22)

typedef struct lay {
	nn_graph *g;
	int *producer;      /* per tensor: the node writing it, or -1 */
	int *reader_start;  /* per tensor: its readers are reader_list[reader_start[t] .. reader_start[t + 1]) */
	int *reader_list;
	int n_indexed;      /* tensors [0, n_indexed) are in the index; later ones were added since */
	int cap_nodes;
	/* Per node, growing as nodes are added. */
	unsigned char *removed;
	unsigned char *done;    /* rewritten into an island already */
	int *mark;              /* island membership: the island's stamp */
	double *key;            /* execution order: nodes are sorted by key at the end */
} lay;

static int grow_array(void **p, size_t elem, int *cap, int want)
{
	if (want <= *cap)
		return 0;
	int n = *cap ? *cap : 64;
	while (n < want)
		n *= 2;
	void *q = realloc(*p, (size_t)n * elem);
	if (!q)
		return -1;
	memset((char *)q + (size_t)*cap * elem, 0, (size_t)(n - *cap) * elem);
	*p = q;
	*cap = n;
	return 0;
}

/* Makes room for the per-node arrays of every node the graph has now. */
static int ensure_nodes(lay *L)
{
	int cap = L->cap_nodes, want = L->g->n_nodes + 1;
	if (want <= cap)
		return 0;
	int c1 = cap, c2 = cap, c3 = cap, c4 = cap;
	if (grow_array((void **)&L->removed, 1, &c1, want) < 0 || grow_array((void **)&L->done, 1, &c2, want) < 0 ||
	    grow_array((void **)&L->mark, sizeof *L->mark, &c3, want) < 0 ||
	    grow_array((void **)&L->key, sizeof *L->key, &c4, want) < 0)
		return -1;
	for (int i = cap; i < c4; i++)
		L->key[i] = i;
	L->cap_nodes = c1;
	return 0;
}

/* Rebuilds producers and readers from the nodes not removed. */
static int index_graph(lay *L)
{
	nn_graph *g = L->g;
	if (ensure_nodes(L) < 0)
		return -1;
	size_t nt = (size_t)g->n_tensors;
	free(L->producer);
	free(L->reader_start);
	free(L->reader_list);
	L->producer = malloc((nt + 1) * sizeof *L->producer);
	L->reader_start = calloc(nt + 2, sizeof *L->reader_start);
	L->reader_list = NULL;
	int *fill = calloc(nt + 1, sizeof *fill);
	if (!L->producer || !L->reader_start || !fill) {
		free(fill);
		return -1;
	}
	L->n_indexed = g->n_tensors;
	/* Reader counts land one slot up, so that the running sum below turns them into start offsets. */
	int total = nn_graph_index_uses(g, L->removed, L->producer, L->reader_start + 1);
	for (size_t t = 0; t < nt; t++)
		L->reader_start[t + 1] += L->reader_start[t];
	L->reader_list = malloc(((size_t)total + 1) * sizeof *L->reader_list);
	if (!L->reader_list) {
		free(fill);
		return -1;
	}
	for (int i = 0; i < g->n_nodes; i++) {
		if (L->removed[i])
			continue;
		const nn_node *n = &g->nodes[i];
		for (int k = 0; k < n->n_inputs; k++) {
			int t = n->inputs[k];
			if (t >= 0)
				L->reader_list[L->reader_start[t] + fill[t]++] = i;
		}
	}
	free(fill);
	return 0;
}

static int n_readers(const lay *L, int t)
{
	return L->reader_start[t + 1] - L->reader_start[t];
}

static int reader(const lay *L, int t, int j)
{
	return L->reader_list[L->reader_start[t] + j];
}

static int is_identity(const int *perm, int rank)
{
	for (int d = 0; d < rank; d++)
		if (perm[d] != d)
			return 0;
	return 1;
}

static int valid_perm(const int *perm, int rank)
{
	int seen[NN_MAX_RANK] = { 0 };
	if (rank < 1 || rank > NN_MAX_RANK)
		return 0;
	for (int d = 0; d < rank; d++) {
		if (perm[d] < 0 || perm[d] >= rank || seen[perm[d]])
			return 0;
		seen[perm[d]] = 1;
	}
	return 1;
}

/* A transpose the pass can reason about: one non-constant input, one output of the same rank, a valid perm. */
static int plain_transpose(const lay *L, int i)
{
	const nn_node *n = &L->g->nodes[i];
	if (L->removed[i] || n->op != NN_OP_TRANSPOSE || n->n_inputs != 1 || n->n_outputs != 1 || n->inputs[0] < 0)
		return 0;
	const nn_tensor *x = &L->g->tensors[n->inputs[0]], *y = &L->g->tensors[n->outputs[0]];
	if (x->is_const || x->rank != y->rank || x->dtype != y->dtype || !valid_perm(n->p.transpose.perm, x->rank))
		return 0;
	for (int d = 0; d < x->rank; d++)
		if (y->shape[d] != x->shape[n->p.transpose.perm[d]])
			return 0;
	return 1;
}

/*
 * Copies src (rank dimensions of the given shape, elements of es bytes) into
 * dst transposed: dst's dimension k is src's dimension perm[k].
 */
static void permute(void *dst, const void *src, int rank, const int *shape, const int *perm, size_t es)
{
	int oshape[NN_MAX_RANK], idx[NN_MAX_RANK] = { 0 };
	size_t istride[NN_MAX_RANK], step[NN_MAX_RANK], count = 1;
	size_t s = 1;
	for (int d = rank - 1; d >= 0; d--) {
		istride[d] = s;
		s *= (size_t)shape[d];
	}
	for (int k = 0; k < rank; k++) {
		oshape[k] = shape[perm[k]];
		step[k] = istride[perm[k]];
		count *= (size_t)oshape[k];
	}
	size_t off = 0;
	char *o = dst;
	const char *in = src;
	for (size_t i = 0; i < count; i++) {
		memcpy(o + i * es, in + off * es, es);
		for (int k = rank - 1; k >= 0; k--) {
			off += step[k];
			if (++idx[k] < oshape[k])
				break;
			off -= step[k] * (size_t)oshape[k];
			idx[k] = 0;
		}
	}
}

/* ---- islands ---- */

static int is_unary(nn_op op)
{
	switch (op) {
	case NN_OP_RELU:
	case NN_OP_RELU6:
	case NN_OP_RELU_N1_TO_1:
	case NN_OP_LEAKY_RELU:
	case NN_OP_LOGISTIC:
	case NN_OP_TANH:
	case NN_OP_HARD_SWISH:
	case NN_OP_CAST:
	/* The element-wise ops of ONNX graphs, which are as indifferent to the layout. */
	case NN_OP_EXP:
	case NN_OP_LOG:
	case NN_OP_NEG:
	case NN_OP_ABS:
	case NN_OP_ERF:
	case NN_OP_ELU:
	case NN_OP_CLAMP:
	case NN_OP_SQRT:
	case NN_OP_SILU:
		return 1;
	default:
		return 0;
	}
}

static int is_binary(nn_op op)
{
	return op == NN_OP_ADD || op == NN_OP_SUB || op == NN_OP_MUL || op == NN_OP_DIV || op == NN_OP_MAXIMUM ||
	       op == NN_OP_MINIMUM;
}

/* Whether tensor t could be a non-constant tensor of an island of this rank. */
static int fits_island(const nn_tensor *t, int rank)
{
	return t->rank == rank && t->quant.count <= 1;
}

/*
 * Whether node i computes the same whatever the layout of its rank-`rank`
 * tensors, given that its parameters are rewritten to match: element-wise
 * ops (constants are transposed along), PAD, STRIDED_SLICE, CONCATENATION
 * and SPLIT.
 */
static int layout_free(const lay *L, int i, int rank)
{
	const nn_graph *g = L->g;
	const nn_node *n = &g->nodes[i];
	if (L->removed[i] || L->done[i])
		return 0;
	int ok = is_unary(n->op) ? n->n_inputs == 1 && n->n_outputs == 1
		 : is_binary(n->op) ? n->n_inputs == 2 && n->n_outputs == 1
		 : n->op == NN_OP_PAD ? (n->n_inputs == 1 || (n->n_inputs == 2 && n->inputs[1] < 0)) && n->n_outputs == 1
		 : n->op == NN_OP_STRIDED_SLICE ? n->n_inputs == 1 && n->n_outputs == 1
		 : n->op == NN_OP_CONCATENATION ? n->n_inputs >= 1 && n->n_outputs == 1
		 : n->op == NN_OP_SPLIT ? n->n_inputs == 1 && n->n_outputs >= 1
		 : 0;
	if (!ok)
		return 0;
	int variable = 0;
	for (int k = 0; k < n->n_inputs; k++) {
		int t = n->inputs[k];
		/* TFLite's PAD keeps an absent constant_values input (-1): zero padding, the same in any layout. */
		if (t < 0 && n->op == NN_OP_PAD && k == 1)
			continue;
		if (t < 0)
			return 0;
		const nn_tensor *x = &g->tensors[t];
		if (x->is_const) {
			/* Constants are transposed with the island; element-wise ones may have a lower rank (broadcast). */
			if (x->quant.count > 1 || x->rank > rank || (!is_binary(n->op) && x->rank != rank))
				return 0;
			continue;
		}
		if (!fits_island(x, rank))
			return 0;
		variable = 1;
	}
	for (int k = 0; k < n->n_outputs; k++)
		if (n->outputs[k] < 0 || !fits_island(&g->tensors[n->outputs[k]], rank))
			return 0;
	return variable;
}

typedef struct island {
	int *nodes, n_nodes;
	int stamp;
	int perm[NN_MAX_RANK], inv[NN_MAX_RANK], rank;
} island;

static int in_island(const lay *L, const island *is, int i)
{
	return i >= 0 && L->mark[i] == is->stamp;
}

static void island_add(lay *L, island *is, int i)
{
	if (L->mark[i] == is->stamp)
		return;
	L->mark[i] = is->stamp;
	is->nodes[is->n_nodes++] = i;
}

/* Whether node i is a transpose with the given perm, reading a non-constant tensor. */
static int transpose_with(const lay *L, int i, const int *perm, int rank)
{
	if (i < 0 || !plain_transpose(L, i))
		return 0;
	const nn_node *n = &L->g->nodes[i];
	return L->g->tensors[n->inputs[0]].rank == rank && !memcmp(n->p.transpose.perm, perm, (size_t)rank * sizeof *perm);
}

/*
 * Grows the island of the layout-free nodes reached from transpose `seed`:
 * from its readers (the seed is an entry, with the island's perm) or, when
 * `backward`, from the node writing its input (the seed is an exit).
 */
static void grow_island(lay *L, island *is, int seed, int backward)
{
	nn_graph *g = L->g;
	const nn_node *s = &g->nodes[seed];
	int e = s->outputs[0];
	is->n_nodes = 0;
	if (backward) {
		int p = L->producer[s->inputs[0]];
		if (p >= 0 && layout_free(L, p, is->rank))
			island_add(L, is, p);
	} else {
		for (int j = 0; j < n_readers(L, e); j++)
			if (layout_free(L, reader(L, e, j), is->rank))
				island_add(L, is, reader(L, e, j));
	}
	for (int q = 0; q < is->n_nodes; q++) {
		const nn_node *n = &g->nodes[is->nodes[q]];
		for (int k = 0; k < n->n_inputs; k++) {
			int u = n->inputs[k];
			if (u < 0 || g->tensors[u].is_const)
				continue;
			int p = L->producer[u];
			if (transpose_with(L, p, is->perm, is->rank)) {
				/* Every layout-free reader of an entry can read the entry's input instead. */
				for (int j = 0; j < n_readers(L, u); j++)
					if (layout_free(L, reader(L, u, j), is->rank))
						island_add(L, is, reader(L, u, j));
			} else if (p >= 0 && layout_free(L, p, is->rank)) {
				island_add(L, is, p);
			}
		}
		for (int k = 0; k < n->n_outputs; k++) {
			int v = n->outputs[k];
			for (int j = 0; j < n_readers(L, v); j++)
				if (layout_free(L, reader(L, v, j), is->rank))
					island_add(L, is, reader(L, v, j));
		}
	}
}

/* Appends a tensor like t (dtype, quantization) with t's shape transposed by perm. Returns it, or -1. */
static int add_permuted_tensor(nn_graph *g, int t, const int *perm, int rank, const char *suffix)
{
	int u = nn_graph_add_tensor_like(g, t, suffix);
	if (u < 0)
		return -1;
	nn_tensor *x = &g->tensors[t], *y = &g->tensors[u];
	y->rank = rank;
	for (int k = 0; k < NN_MAX_RANK; k++)
		y->shape[k] = k < rank ? x->shape[perm[k]] : 0;
	if (x->quant.count > 0 &&
	    nn_tensor_set_quant(y, x->quant.count, 0, x->quant.scale, x->quant.zero_point) < 0)
		return -1;
	return u;
}

/* Appends TRANSPOSE x -> y with perm, to run right after the node with key `after`. Returns 0 or -1. */
static int add_transpose(lay *L, int x, int y, const int *perm, int rank, double after)
{
	nn_graph *g = L->g;
	nn_node *n = nn_graph_add_node(g, NN_OP_TRANSPOSE, 1, 1);
	if (!n)
		return -1;
	n->inputs[0] = x;
	n->outputs[0] = y;
	for (int d = 0; d < NN_MAX_RANK; d++)
		n->p.transpose.perm[d] = d < rank ? perm[d] : d;
	if (g->tensors[y].name && !(n->name = strdup(g->tensors[y].name)))
		return -1;
	if (ensure_nodes(L) < 0)
		return -1;
	int i = g->n_nodes - 1;
	/* Several nodes may be inserted after one node; their order among themselves does not matter. */
	L->key[i] = after + 0.5;
	L->removed[i] = 0;
	L->done[i] = 1;
	L->mark[i] = 0;
	return 0;
}

/* A constant input of an island node, brought to the island's rank (broadcast) and transposed by inv. */
static int permuted_const(nn_graph *g, int c, const island *is)
{
	nn_tensor *x = &g->tensors[c];
	int shape[NN_MAX_RANK];
	int pad = is->rank - x->rank;
	for (int d = 0; d < is->rank; d++)
		shape[d] = d < pad ? 1 : x->shape[d - pad];
	const char *base = x->name ? x->name : "";
	size_t len = strlen(base) + 16;
	char *name = malloc(len);
	if (!name)
		return -1;
	snprintf(name, len, "%s/transposed", base);
	int u = nn_graph_add_tensor(g, name);
	free(name);
	if (u < 0)
		return -1;
	x = &g->tensors[c];
	nn_tensor *y = &g->tensors[u];
	y->dtype = x->dtype;
	y->rank = is->rank;
	for (int k = 0; k < is->rank; k++)
		y->shape[k] = shape[is->inv[k]];
	if (x->quant.count > 0 && nn_tensor_set_quant(y, x->quant.count, 0, x->quant.scale, x->quant.zero_point) < 0)
		return -1;
	if (nn_tensor_alloc_const(y) < 0)
		return -1;
	x = &g->tensors[c];
	if (nn_tensor_elements(x) > 0)
		permute(y->data, x->data, is->rank, shape, is->inv, nn_dtype_size(x->dtype));
	return u;
}

static void replace_input(nn_node *n, int from, int to)
{
	for (int k = 0; k < n->n_inputs; k++)
		if (n->inputs[k] == from)
			n->inputs[k] = to;
}

/* Replaces tensor `from` by `to` in the inputs of every node not removed. */
static void rewire_readers(lay *L, int from, int to)
{
	for (int i = 0; i < L->g->n_nodes; i++)
		if (!L->removed[i])
			replace_input(&L->g->nodes[i], from, to);
}

/*
 * Costs the island in transposed elements, and rewrites it when that pays.
 * Returns 1 when rewritten, 0 when not, -1 when out of memory.
 */
static int try_island(lay *L, island *is)
{
	nn_graph *g = L->g;
	int64_t removed = 0, added = 0;
	int r = is->rank;

	/* Inputs from outside: entries (transposes with the island's perm), or foreign ones needing a transpose. */
	unsigned char *seen = calloc((size_t)g->n_tensors + 1, 1);
	if (!seen)
		return -1;
	for (int q = 0; q < is->n_nodes; q++) {
		const nn_node *n = &g->nodes[is->nodes[q]];
		for (int k = 0; k < n->n_inputs; k++) {
			int u = n->inputs[k], p = u >= 0 ? L->producer[u] : -1;
			if (u < 0 || g->tensors[u].is_const || in_island(L, is, p) || seen[u])
				continue;
			seen[u] = 1;
			if (transpose_with(L, p, is->perm, r)) {
				/* An entry whose own input comes from the island would make the rewiring circular. */
				if (in_island(L, is, L->producer[g->nodes[p].inputs[0]])) {
					free(seen);
					return 0;
				}
				int all = !nn_graph_is_output(g, u);
				for (int j = 0; j < n_readers(L, u) && all; j++)
					all = in_island(L, is, reader(L, u, j));
				if (all)
					removed += nn_tensor_elements(&g->tensors[u]);
			} else {
				added += nn_tensor_elements(&g->tensors[u]);
			}
		}
	}
	free(seen);
	/* Outputs: read by transposes with the inverse perm (which cancel), by the island, or by others. */
	for (int q = 0; q < is->n_nodes; q++) {
		const nn_node *n = &g->nodes[is->nodes[q]];
		for (int k = 0; k < n->n_outputs; k++) {
			int v = n->outputs[k], foreign = nn_graph_is_output(g, v);
			for (int j = 0; j < n_readers(L, v); j++) {
				int rd = reader(L, v, j);
				if (in_island(L, is, rd))
					continue;
				if (transpose_with(L, rd, is->inv, r)) {
					int y = g->nodes[rd].outputs[0];
					for (int j2 = 0; j2 < n_readers(L, y); j2++)
						if (in_island(L, is, reader(L, y, j2)))
							return 0;
					if (!nn_graph_is_output(g, y))
						removed += nn_tensor_elements(&g->tensors[v]);
				} else {
					foreign = 1;
				}
			}
			if (foreign)
				added += nn_tensor_elements(&g->tensors[v]);
		}
	}
	if (removed == 0 || removed < added)
		return 0;

	/*
	 * Rewrite. Island tensor t becomes t' = transpose(t, inv): dimension k
	 * of t' is dimension inv[k] of t, so an axis a of t is axis perm[a] of t'.
	 */
	for (int q = 0; q < is->n_nodes; q++) {
		int i = is->nodes[q];
		nn_node *n = &g->nodes[i];
		if (n->op == NN_OP_PAD) {
			int pads[NN_MAX_RANK][2];
			memcpy(pads, n->p.pad.pads, sizeof pads);
			for (int k = 0; k < r; k++) {
				n->p.pad.pads[k][0] = pads[is->inv[k]][0];
				n->p.pad.pads[k][1] = pads[is->inv[k]][1];
			}
		} else if (n->op == NN_OP_STRIDED_SLICE) {
			int begin[NN_MAX_RANK], stride[NN_MAX_RANK];
			memcpy(begin, n->p.slice.begin, sizeof begin);
			memcpy(stride, n->p.slice.stride, sizeof stride);
			for (int k = 0; k < r; k++) {
				n->p.slice.begin[k] = begin[is->inv[k]];
				n->p.slice.stride[k] = stride[is->inv[k]];
			}
		} else if (n->op == NN_OP_CONCATENATION) {
			int a = n->p.concat.axis < 0 ? n->p.concat.axis + r : n->p.concat.axis;
			n->p.concat.axis = is->perm[a];
		} else if (n->op == NN_OP_SPLIT) {
			int a = n->p.split.axis < 0 ? n->p.split.axis + r : n->p.split.axis;
			n->p.split.axis = is->perm[a];
		}
		for (int k = 0; k < n->n_inputs; k++) {
			int c = n->inputs[k];
			if (c < 0 || !g->tensors[c].is_const)
				continue;
			int u = permuted_const(g, c, is);
			if (u < 0)
				return -1;
			g->nodes[i].inputs[k] = u;
			n = &g->nodes[i];
		}
	}
	int *exits = malloc(((size_t)g->n_nodes + 1) * sizeof *exits);
	if (!exits)
		return -1;
	for (int q = 0; q < is->n_nodes; q++) {
		int i = is->nodes[q];
		for (int k = 0; k < g->nodes[i].n_outputs; k++) {
			int v = g->nodes[i].outputs[k], foreign = nn_graph_is_output(g, v);
			/* The exits are told apart before any shape changes, which plain_transpose checks. */
			int n_exits = 0;
			for (int j = 0; j < n_readers(L, v); j++) {
				int rd = reader(L, v, j);
				if (in_island(L, is, rd))
					continue;
				if (transpose_with(L, rd, is->inv, r))
					exits[n_exits++] = rd;
				else
					foreign = 1;
			}
			int w = v;
			if (foreign) {
				/* The island writes w; a transpose gives the others v as they knew it. */
				if ((w = add_permuted_tensor(g, v, is->inv, r, "/transposed")) < 0) {
					free(exits);
					return -1;
				}
				g->nodes[i].outputs[k] = w;
				for (int j = 0; j < n_readers(L, v); j++)
					if (in_island(L, is, reader(L, v, j)))
						replace_input(&g->nodes[reader(L, v, j)], v, w);
				if (add_transpose(L, w, v, is->perm, r, L->key[i]) < 0) {
					free(exits);
					return -1;
				}
			} else {
				nn_tensor *t = &g->tensors[v];
				int shape[NN_MAX_RANK];
				memcpy(shape, t->shape, sizeof shape);
				for (int d = 0; d < r; d++)
					t->shape[d] = shape[is->inv[d]];
			}
			/* The transposes back to the island's own layout now only copy w. */
			for (int j = 0; j < n_exits; j++) {
				int rd = exits[j];
				int y = g->nodes[rd].outputs[0];
				if (nn_graph_is_output(g, y)) {
					g->nodes[rd].op = NN_OP_RESHAPE;
					g->nodes[rd].inputs[0] = w;
				} else {
					L->removed[rd] = 1;
					rewire_readers(L, y, w);
				}
			}
		}
	}
	free(exits);
	/*
	 * The inputs from outside, collected before any is rewired (tensors
	 * added above are the island's own): an entry's readers read its input
	 * instead; a foreign input gets a transpose to the island's new layout.
	 */
	seen = calloc((size_t)L->n_indexed + 1, 1);
	int *ext = malloc(((size_t)L->n_indexed + 1) * sizeof *ext), n_ext = 0;
	if (!seen || !ext) {
		free(seen);
		free(ext);
		return -1;
	}
	for (int q = 0; q < is->n_nodes; q++) {
		const nn_node *n = &g->nodes[is->nodes[q]];
		for (int k = 0; k < n->n_inputs; k++) {
			int u = n->inputs[k];
			if (u < 0 || u >= L->n_indexed || seen[u] || g->tensors[u].is_const || in_island(L, is, L->producer[u]))
				continue;
			seen[u] = 1;
			ext[n_ext++] = u;
		}
	}
	free(seen);
	for (int e = 0; e < n_ext; e++) {
		int u = ext[e], p = L->producer[u];
		if (transpose_with(L, p, is->perm, r)) {
			int x = g->nodes[p].inputs[0];
			for (int j = 0; j < n_readers(L, u); j++)
				if (in_island(L, is, reader(L, u, j)))
					replace_input(&g->nodes[reader(L, u, j)], u, x);
			int all = !nn_graph_is_output(g, u);
			for (int j = 0; j < n_readers(L, u) && all; j++)
				all = in_island(L, is, reader(L, u, j));
			if (all)
				L->removed[p] = 1;
		} else {
			int w = add_permuted_tensor(g, u, is->inv, r, "/transposed");
			if (w < 0 || add_transpose(L, u, w, is->inv, r, p >= 0 ? L->key[p] : -1.0) < 0) {
				free(ext);
				return -1;
			}
			for (int j = 0; j < n_readers(L, u); j++)
				if (in_island(L, is, reader(L, u, j)))
					replace_input(&g->nodes[reader(L, u, j)], u, w);
		}
	}
	free(ext);
	for (int q = 0; q < is->n_nodes; q++)
		L->done[is->nodes[q]] = 1;
	return 1;
}

static int fold_islands(lay *L)
{
	nn_graph *g = L->g;
	int stamp = 0, rc = 0;
	island is = { 0 };
	for (int s = 0; s < g->n_nodes && rc >= 0; s++) {
		if (index_graph(L) < 0)
			return -1;
		if (!plain_transpose(L, s) || is_identity(g->nodes[s].p.transpose.perm, g->tensors[g->nodes[s].inputs[0]].rank))
			continue;
		/* The seed as an entry of an island after it, else as an exit of one before it. */
		for (int backward = 0; backward < 2 && rc == 0; backward++) {
			if (backward && index_graph(L) < 0)
				return -1;
			if (!plain_transpose(L, s))
				break;
			const nn_node *t = &g->nodes[s];
			is.rank = g->tensors[t->inputs[0]].rank;
			for (int d = 0; d < is.rank; d++) {
				int q = t->p.transpose.perm[d];
				if (backward)
					is.perm[q] = d, is.inv[d] = q;
				else
					is.perm[d] = q, is.inv[q] = d;
			}
			/* A perm that is its own inverse cannot tell entries from exits. */
			if (!memcmp(is.perm, is.inv, (size_t)is.rank * sizeof *is.perm))
				break;
			free(is.nodes);
			is.nodes = malloc(((size_t)g->n_nodes + 1) * sizeof *is.nodes);
			if (!is.nodes)
				return -1;
			is.stamp = ++stamp;
			grow_island(L, &is, s, backward);
			if (is.n_nodes > 0)
				rc = try_island(L, &is);
		}
		if (rc > 0)
			rc = 0;
	}
	free(is.nodes);
	return rc < 0 ? -1 : 0;
}

/* ---- chains ---- */

/* Whether a chain of transposes and reshapes from x leaves every element where it was (checked on an iota). */
static int chain_is_relabel(const nn_graph *g, int x, const int *chain, int len)
{
	int64_t count = nn_tensor_elements(&g->tensors[x]);
	if (count <= 0 || count > MAX_CHAIN_CHECK_ELEMENTS)
		return 0;
	int32_t *a = malloc((size_t)count * sizeof *a), *b = malloc((size_t)count * sizeof *b);
	int ok = a && b;
	if (ok) {
		for (int64_t i = 0; i < count; i++)
			a[i] = (int32_t)i;
		/* The chain is stored from its last node back to its first. */
		for (int c = len - 1; c >= 0; c--) {
			const nn_node *n = &g->nodes[chain[c]];
			if (n->op != NN_OP_TRANSPOSE)
				continue;
			const nn_tensor *in = &g->tensors[n->inputs[0]];
			permute(b, a, in->rank, in->shape, n->p.transpose.perm, sizeof *a);
			int32_t *tmp = a;
			a = b;
			b = tmp;
		}
		for (int64_t i = 0; i < count && ok; i++)
			ok = a[i] == (int32_t)i;
	}
	free(a);
	free(b);
	return ok;
}

static int is_layout_op(const lay *L, int i)
{
	const nn_node *n = &L->g->nodes[i];
	if (L->removed[i] || n->n_inputs != 1 || n->n_outputs != 1 || n->inputs[0] < 0)
		return 0;
	if (n->op == NN_OP_TRANSPOSE)
		return plain_transpose(L, i);
	if (n->op != NN_OP_RESHAPE)
		return 0;
	const nn_tensor *x = &L->g->tensors[n->inputs[0]], *y = &L->g->tensors[n->outputs[0]];
	return !x->is_const && x->dtype == y->dtype && x->quant.count <= 1 && y->quant.count <= 1 &&
	       nn_tensor_elements(x) == nn_tensor_elements(y);
}

static int fold_chains(lay *L)
{
	nn_graph *g = L->g;
	if (index_graph(L) < 0)
		return -1;
	int *chain = malloc(((size_t)g->n_nodes + 1) * sizeof *chain);
	if (!chain)
		return -1;
	/* From the last node back, so that each chain is taken whole from its end. */
	for (int z = g->n_nodes - 1; z >= 0; z--) {
		if (!is_layout_op(L, z))
			continue;
		int len = 0, t = g->nodes[z].inputs[0], transposes = g->nodes[z].op == NN_OP_TRANSPOSE;
		chain[len++] = z;
		for (;;) {
			int p = L->producer[t];
			if (p < 0 || !is_layout_op(L, p) || n_readers(L, t) != 1 || nn_graph_is_output(g, t))
				break;
			chain[len++] = p;
			transposes += g->nodes[p].op == NN_OP_TRANSPOSE;
			t = g->nodes[p].inputs[0];
		}
		int x = t;
		if (transposes == 0 && len == 1)
			continue;
		nn_node *n = &g->nodes[z];
		if (transposes == len && len > 1) {
			/* Transposes only: one transpose with the composed perm. */
			int rank = g->tensors[x].rank, perm[NN_MAX_RANK];
			for (int d = 0; d < rank; d++)
				perm[d] = d;
			for (int c = len - 1; c >= 0; c--) {
				int next[NN_MAX_RANK];
				for (int d = 0; d < rank; d++)
					next[d] = perm[g->nodes[chain[c]].p.transpose.perm[d]];
				memcpy(perm, next, (size_t)rank * sizeof *next);
			}
			memcpy(n->p.transpose.perm, perm, (size_t)rank * sizeof *perm);
			if (is_identity(perm, rank))
				n->op = NN_OP_RESHAPE;
		} else if (chain_is_relabel(g, x, chain, len)) {
			n->op = NN_OP_RESHAPE;
		} else if (transposes == 0) {
			/* Reshapes only: the last one alone gives the final shape. */
			n->op = NN_OP_RESHAPE;
		} else {
			/* A chain that moves elements stays as it is. */
			continue;
		}
		if (n->op == NN_OP_RESHAPE)
			memset(&n->p, 0, sizeof n->p);
		n->inputs[0] = x;
		for (int c = 1; c < len; c++)
			L->removed[chain[c]] = 1;
		if (index_graph(L) < 0) {
			free(chain);
			return -1;
		}
	}
	free(chain);
	return 0;
}

/*
 * Drops removed nodes and orders the others topologically, taking among the
 * nodes whose inputs are all written the one with the lowest key: the
 * original order, with each inserted transpose next to the node it follows.
 */
static int reorder(lay *L)
{
	nn_graph *g = L->g;
	int n = g->n_nodes;
	if (index_graph(L) < 0)
		return -1;
	int *order = malloc(((size_t)n + 1) * sizeof *order);
	unsigned char *placed = calloc((size_t)n + 1, 1);
	nn_node *nodes = malloc(((size_t)n + 1) * sizeof *nodes);
	if (!order || !placed || !nodes) {
		free(order);
		free(placed);
		free(nodes);
		return -1;
	}
	int kept = 0, live = 0;
	for (int i = 0; i < n; i++)
		live += !L->removed[i];
	/* Quadratic, but graphs have hundreds of nodes and this runs once. */
	while (kept < live) {
		int best = -1;
		for (int i = 0; i < n; i++) {
			if (L->removed[i] || placed[i] || (best >= 0 && L->key[i] >= L->key[best]))
				continue;
			int ready = 1;
			for (int k = 0; k < g->nodes[i].n_inputs && ready; k++) {
				int t = g->nodes[i].inputs[k], p = t >= 0 ? L->producer[t] : -1;
				ready = p < 0 || p == i || placed[p];
			}
			if (ready)
				best = i;
		}
		if (best < 0)
			break; /* a cycle, which no rewrite makes; the planner reports the nodes left behind */
		placed[best] = 1;
		order[kept++] = best;
	}
	for (int i = 0; i < n; i++)
		if (!L->removed[i] && !placed[i])
			order[kept++] = i;
	for (int i = 0; i < n; i++)
		if (L->removed[i]) {
			free(g->nodes[i].name);
			free(g->nodes[i].inputs);
			free(g->nodes[i].outputs);
		}
	for (int i = 0; i < kept; i++)
		nodes[i] = g->nodes[order[i]];
	memcpy(g->nodes, nodes, (size_t)kept * sizeof *nodes);
	g->n_nodes = kept;
	free(order);
	free(placed);
	free(nodes);
	return 0;
}

int nn_pass_fold_transposes(nn_graph *g, char *err, size_t errlen)
{
	int any = 0;
	for (int i = 0; i < g->n_nodes && !any; i++)
		any = g->nodes[i].op == NN_OP_TRANSPOSE;
	if (!any)
		return 0;
	lay L = { .g = g };
	int rc = 0;
	if (fold_islands(&L) < 0 || fold_chains(&L) < 0 || reorder(&L) < 0)
		rc = nn_graph_fail(err, errlen, NN_ERR_NOMEM, "%s: out of memory folding transposes", g->source);
	free(L.producer);
	free(L.reader_start);
	free(L.reader_list);
	free(L.removed);
	free(L.done);
	free(L.mark);
	free(L.key);
	return rc;
}
