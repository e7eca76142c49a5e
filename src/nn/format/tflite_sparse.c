/*
 * Sparse constants in TFLite files (TensorFlow Lite's SparsityParameters:
 * traversal order, block map, and per dimension DENSE or SPARSE_CSR
 * metadata): read with bounds checks, expanded at load time into dense
 * constants within the model's budget (pass/sparsity.c does the
 * expansion), and the DENSIFY op that reads them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/format/tflite_loader.h"
#include "nn/pass/sparsity.h"

/* One SparseIndexVector (array_segments or array_indices) of a DimensionMetadata table. */
static int sparse_vec(tfl *c, const nn__fb_table *dm, int type_id, int id, const char *what, int level,
		      const char *d, nn_sparse_vec *out)
{
	nn__fb *b = &c->fb;
	uint8_t type;
	nn__fb_table vt;
	nn__fb_vec v;
	memset(out, 0, sizeof *out);
	if (nn__fb_u8(b, dm, type_id, 0, &type) < 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: sparsity: dim_metadata[%d].%s_type: %s", d, level, what, b->why);
	if (type == 0)
		return 0;
	if (type > NN_SPARSE_VEC_U8)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: sparsity: dim_metadata[%d].%s has union type %u, expected 1 (int32), 2 "
			    "(uint16) or 3 (uint8)",
			    d, level, what, type);
	size_t es = type == NN_SPARSE_VEC_I32 ? 4 : type == NN_SPARSE_VEC_U16 ? 2 : 1;
	int r = nn__fb_table_field(b, dm, id, &vt);
	if (r < 0 || (r > 0 && nn__fb_vector(b, &vt, 0, es, &v) < 0))
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: sparsity: dim_metadata[%d].%s: %s", d, level, what, b->why);
	if (r == 0)
		return 0;
	out->type = type;
	out->data = b->p + v.pos;
	out->n = v.n;
	return 0;
}

/* Reads a tensor's SparsityParameters table into sp. */
static int load_sparsity(tfl *c, const nn__fb_table *st, const nn_tensor *t, const char *d, nn_sparsity *sp)
{
	nn__fb *b = &c->fb;
	nn__fb_vec trav, bmap, dims;
	memset(sp, 0, sizeof *sp);
	if (nn__fb_vector(b, st, 0, 4, &trav) < 0 || nn__fb_vector(b, st, 1, 4, &bmap) < 0 ||
	    nn__fb_vector(b, st, 2, 4, &dims) < 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: sparsity: %s", d, b->why);
	if (trav.n > NN_SPARSE_MAX_LEVELS || bmap.n > NN_MAX_RANK || dims.n != trav.n)
		return nn__tfl_fail(c, NN_ERR_FORMAT,
			    "%s: sparsity: %u traversal_order entries, %u block_map entries and %u dim_metadata "
			    "tables, expected at most %d, at most %d, and one table per traversal_order entry",
			    d, trav.n, bmap.n, dims.n, NN_SPARSE_MAX_LEVELS, NN_MAX_RANK);
	if (t->rank < 1)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: sparsity on a scalar tensor", d);
	sp->n_levels = (int)trav.n;
	sp->n_blocks = (int)bmap.n;
	for (uint32_t k = 0; k < trav.n; k++)
		sp->traversal[k] = nn__fb_vec_i32(b, &trav, k);
	for (uint32_t k = 0; k < bmap.n; k++)
		sp->block_map[k] = nn__fb_vec_i32(b, &bmap, k);
	for (uint32_t k = 0; k < dims.n; k++) {
		nn__fb_table dm;
		int8_t format;
		nn_sparse_level *lv = &sp->levels[k];
		int rc;
		if (nn__fb_vec_table(b, &dims, k, &dm) < 0 || nn__fb_i8(b, &dm, 0, 0, &format) < 0 ||
		    nn__fb_i32(b, &dm, 1, 0, &lv->dense_size) < 0)
			return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: sparsity: dim_metadata[%u]: %s", d, k, b->why);
		if (format != 0 && format != 1)
			return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: sparsity: dim_metadata[%u] has format %d, expected DENSE (0) or "
				    "SPARSE_CSR (1)",
				    d, k, format);
		lv->csr = format == 1;
		if (lv->csr &&
		    ((rc = sparse_vec(c, &dm, 2, 3, "array_segments", (int)k, d, &lv->segments)) < 0 ||
		     (rc = sparse_vec(c, &dm, 4, 5, "array_indices", (int)k, d, &lv->indices)) < 0))
			return rc;
	}
	return 0;
}

/*
 * Expands a sparse constant into dense data owned by the tensor, so that
 * DENSIFY, and any op reading the tensor directly, sees an ordinary constant.
 */
int nn__tfl_densify_tensor(tfl *c, nn_tensor *t, const nn__fb_table *st, const uint8_t *data, size_t n,
			   const char *d)
{
	nn_sparsity sp;
	int rc = load_sparsity(c, st, t, d, &sp);
	if (rc < 0)
		return rc;
	size_t esize = nn_dtype_size(t->dtype);
	if (n % esize != 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: sparse values are %zu bytes, not a whole number of %s elements", d, n,
			    nn_dtype_name(t->dtype));
	size_t bytes = nn_tensor_bytes(t);
	if (bytes > c->dense_budget)
		return nn__tfl_fail(c, NN_ERR_FORMAT,
			    "%s: the sparse tensor expands to %zu bytes, more than the %zu a model of this size may "
			    "expand into",
			    d, bytes, c->dense_budget);
	c->dense_budget -= bytes;
	if (nn_tensor_alloc_const(t) < 0)
		return nn__tfl_fail(c, NN_ERR_NOMEM, "%s: out of memory for %zu bytes of densified data", d, bytes);
	char why[256];
	if (nn_sparse_densify(&sp, t->rank, t->shape, esize, data, n / esize, t->data, why, sizeof why) < 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: sparsity: %s", d, why);
	int *list = realloc(c->densified, ((size_t)c->n_densified + 1) * sizeof *list);
	if (!list)
		return nn__tfl_fail(c, NN_ERR_NOMEM, "%s: out of memory", d);
	c->densified = list;
	c->densified[c->n_densified++] = (int)(t - c->g->tensors);
	return 0;
}

/*
 * A densified sparse tensor that no node reads (DENSIFY's input, once
 * DENSIFY has handed its output a copy) gives its memory back, so that the
 * weights are held once.
 */
int nn__tfl_release_densified(tfl *c)
{
	nn_graph *g = c->g;
	if (!c->n_densified)
		return 0;
	unsigned char *used = calloc((size_t)g->n_tensors + 1, 1);
	if (!used)
		return nn__tfl_fail(c, NN_ERR_NOMEM, "out of memory");
	for (int i = 0; i < g->n_nodes; i++)
		for (int k = 0; k < g->nodes[i].n_inputs; k++)
			if (g->nodes[i].inputs[k] >= 0)
				used[g->nodes[i].inputs[k]] = 1;
	for (int k = 0; k < g->n_inputs; k++)
		used[g->inputs[k]] = 1;
	for (int k = 0; k < g->n_outputs; k++)
		used[g->outputs[k]] = 1;
	for (int k = 0; k < c->n_densified; k++) {
		nn_tensor *t = &g->tensors[c->densified[k]];
		if (used[c->densified[k]] || !t->owns_data)
			continue;
		free(t->data);
		t->data = NULL;
		t->owns_data = 0;
		t->is_const = 0;
	}
	free(used);
	return 0;
}

/*
 * DENSIFY: the loader has already expanded its sparse input into a dense
 * constant, so the output becomes that constant and no node is built.
 */
int nn__tfl_map_densify(tfl *c, tfl_op *o)
{
	int rc;
	if ((rc = nn__tfl_want_io(c, o, 1, 1, 1)) < 0)
		return rc;
	nn_tensor *in = &c->g->tensors[o->in[0]], *out = &c->g->tensors[o->out[0]];
	char a[96], b[96], td[160];
	if (!in->is_const || !in->data)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: the input, %s, is not a constant (sparse or dense)", o->desc,
			    o->opname, nn__tfl_tensor_desc(c, o->in[0], td, sizeof td));
	if (in->dtype != out->dtype || in->rank != out->rank ||
	    memcmp(in->shape, out->shape, sizeof(int) * (size_t)in->rank) != 0)
		return nn__tfl_fail(c, NN_ERR_SHAPE, "%s: %s turns %s %s into %s %s, expected the same type and shape", o->desc,
			    o->opname, nn_dtype_name(in->dtype), nn__tfl_shape_str(in, a, sizeof a), nn_dtype_name(out->dtype),
			    nn__tfl_shape_str(out, b, sizeof b));
	if (out->is_const)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s writes %s, which is already a constant", o->desc, o->opname,
			    nn__tfl_tensor_desc(c, o->out[0], td, sizeof td));
	/* The output gets its own copy: the input's is released at the end of the load if nothing else reads it. */
	size_t bytes = nn_tensor_bytes(out);
	if (bytes > c->dense_budget)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: %zu more bytes of dense weights than a model of this size may hold",
			    o->desc, o->opname, bytes);
	c->dense_budget -= bytes;
	if (nn_tensor_alloc_const(out) < 0)
		return nn__tfl_fail(c, NN_ERR_NOMEM, "%s: %s: out of memory for %zu bytes", o->desc, o->opname, bytes);
	memcpy(out->data, in->data, bytes);
	return 0;
}
