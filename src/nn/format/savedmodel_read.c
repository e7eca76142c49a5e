/* The messages of saved_model.pb the SavedModel reader takes in: signatures, the function library, the object graph. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/format/savedmodel_internal.h"

/* ---- a string -> index map over the arena ---- */


static uint64_t hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
	return h;
}

int nn_sm_map_init(nn_tf_graph *g, namemap *m, int n)
{
	m->cap = 16;
	while (m->cap < (size_t)n * 2 + 2)
		m->cap *= 2;
	m->keys = nn_tf_alloc(g, m->cap * sizeof *m->keys);
	m->vals = nn_tf_alloc(g, m->cap * sizeof *m->vals);
	return m->keys && m->vals ? 0 : -1;
}

/* 0, or -1 when key is already there. */
int nn_sm_map_put(namemap *m, const char *key, int val)
{
	size_t n = strlen(key);
	for (size_t i = hash(key, n) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (!m->keys[i]) {
			m->keys[i] = key;
			m->vals[i] = val;
			return 0;
		}
		if (!strcmp(m->keys[i], key))
			return -1;
	}
}

int nn_sm_map_get(const namemap *m, const char *key, size_t n)
{
	if (!m->cap)
		return -1;
	for (size_t i = hash(key, n) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1))
		if (!strncmp(m->keys[i], key, n) && !m->keys[i][n])
			return m->vals[i];
	return -1;
}

int nn_sm_fail(sm *c, int code, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return nn_graph_fail(c->err, c->errlen, code, "%s: %s", c->source, msg);
}


void *nn_sm_alloc(sm *c, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return nn_tf_alloc(c->g, n * size > 0 ? n * size : 1);
}

const char *nn_sm_str(sm *c, const nn_pb_field *f)
{
	return nn_tf_strdup(c->g, (const char *)f->data, f->len);
}

/* A message's fields one by one; a malformed one fails with what was being read. */
int nn_sm_next(sm *c, nn_pb *m, nn_pb_field *f, const char *what)
{
	int rc = nn_pb_next(m, f);
	if (rc < 0)
		return nn_sm_fail(c, NN_ERR_FORMAT, "%s: %s", what, nn_pb_strerror(rc));
	return rc;
}

int nn_sm_want(sm *c, const nn_pb_field *f, int wire, const char *what)
{
	if (f->wire != wire)
		return nn_sm_fail(c, NN_ERR_FORMAT, "%s: field %u has wire type %d (expected %d)", what, f->number, f->wire,
			    wire);
	return 0;
}

/* Counts a message's fields of one number (a repeated field's length). */
int nn_sm_count(sm *c, const uint8_t *p, size_t n, uint32_t number, const char *what)
{
	nn_pb m = nn_pb_of(p, n);
	nn_pb_field f;
	int rc, k = 0;
	while ((rc = nn_sm_next(c, &m, &f, what)) > 0)
		k += f.number == number;
	return rc < 0 ? rc : k;
}

/* The key (1) and value (2) of a map entry; value fields that are messages come back as their bytes. */
int nn_sm_map_entry(sm *c, const nn_pb_field *e, nn_pb_field *key, nn_pb_field *val, const char *what)
{
	int rc;
	if ((rc = nn_sm_want(c, e, NN_PB_LEN, what)) < 0)
		return rc;
	/* An absent key or value is the empty string (or message), never a null view. */
	static const uint8_t empty[1];
	memset(key, 0, sizeof *key);
	memset(val, 0, sizeof *val);
	key->wire = val->wire = NN_PB_LEN;
	key->data = val->data = empty;
	nn_pb m = nn_pb_sub(e);
	nn_pb_field f;
	while ((rc = nn_sm_next(c, &m, &f, what)) > 0) {
		if (f.number == 1)
			*key = f;
		else if (f.number == 2)
			*val = f;
	}
	return rc;
}

/* ---- shapes, tensor infos, signatures ---- */

static int read_shape(sm *c, const nn_pb_field *f, const char *what, int *rank, int64_t *dims)
{
	int rc = nn_sm_want(c, f, NN_PB_LEN, what);
	if (rc < 0)
		return rc;
	c->r.scope = NULL;
	return nn_tf_read_shape(&c->r, f->data, f->len, what, rank, dims);
}

static int read_tinfo(sm *c, const nn_pb_field *e, const char *what, tinfo *t)
{
	nn_pb_field key, val, f;
	int rc = nn_sm_map_entry(c, e, &key, &val, what);
	if (rc < 0)
		return rc;
	t->key = nn_sm_str(c, &key);
	t->rank = -1;
	nn_pb m = nn_pb_sub(&val);
	while ((rc = nn_sm_next(c, &m, &f, what)) > 0) {
		if (f.number == TI_NAME && (rc = nn_sm_want(c, &f, NN_PB_LEN, what)) >= 0)
			t->name = nn_sm_str(c, &f);
		else if (f.number == TI_DTYPE && (rc = nn_sm_want(c, &f, NN_PB_VARINT, what)) >= 0)
			t->dtype = (nn_tf_dtype)f.u;
		else if (f.number == TI_SHAPE)
			rc = read_shape(c, &f, what, &t->rank, t->dims);
		if (rc < 0)
			return rc;
	}
	if (rc < 0)
		return rc;
	if (!t->key || !t->name || !t->name[0])
		return nn_sm_fail(c, NN_ERR_FORMAT, "%s: a tensor \"%s\" with no name in the graph (only dense tensors are read)",
			    what, t->key ? t->key : "");
	return 0;
}

int nn_sm_read_signature(sm *c, const nn_pb_field *e, sig *s)
{
	nn_pb_field key, val, f;
	int rc = nn_sm_map_entry(c, e, &key, &val, "signature_def");
	if (rc < 0)
		return rc;
	s->key = nn_sm_str(c, &key);
	char what[200];
	snprintf(what, sizeof what, "signature \"%.120s\"", s->key);
	int ni = nn_sm_count(c, val.data, val.len, SIG_INPUTS, what), no = nn_sm_count(c, val.data, val.len, SIG_OUTPUTS, what);
	if (ni < 0 || no < 0)
		return ni < 0 ? ni : no;
	s->in = nn_sm_alloc(c, (size_t)ni, sizeof *s->in);
	s->out = nn_sm_alloc(c, (size_t)no, sizeof *s->out);
	if (!s->in || !s->out || !s->key)
		return NOMEM(c);
	nn_pb m = nn_pb_sub(&val);
	while ((rc = nn_sm_next(c, &m, &f, what)) > 0) {
		if (f.number == SIG_INPUTS)
			rc = read_tinfo(c, &f, what, &s->in[s->n_in++]);
		else if (f.number == SIG_OUTPUTS)
			rc = read_tinfo(c, &f, what, &s->out[s->n_out++]);
		if (rc < 0)
			return rc;
	}
	return rc;
}

/* ---- the function library ---- */

static int read_args(sm *c, const nn_pb_field *sigf, uint32_t number, const char ***names, int *n, const char *what)
{
	int k = nn_sm_count(c, sigf->data, sigf->len, number, what), rc;
	if (k < 0)
		return k;
	if (!(*names = nn_sm_alloc(c, (size_t)k, sizeof **names)))
		return NOMEM(c);
	*n = 0;
	nn_pb m = nn_pb_sub(sigf);
	nn_pb_field f, g;
	while ((rc = nn_sm_next(c, &m, &f, what)) > 0) {
		if (f.number != number)
			continue;
		if ((rc = nn_sm_want(c, &f, NN_PB_LEN, what)) < 0)
			return rc;
		const char *name = NULL;
		nn_pb a = nn_pb_sub(&f);
		while ((rc = nn_sm_next(c, &a, &g, what)) > 0)
			if (g.number == ARG_NAME && g.wire == NN_PB_LEN)
				name = nn_sm_str(c, &g);
		if (rc < 0)
			return rc;
		if (!name || !name[0])
			return nn_sm_fail(c, NN_ERR_FORMAT, "%s: an argument with no name", what);
		(*names)[(*n)++] = name;
	}
	return rc;
}

static int read_function(sm *c, const nn_pb_field *ff, fn *fd, int index)
{
	char what[300];
	snprintf(what, sizeof what, "function %d of the library", index);
	int rc = nn_sm_want(c, ff, NN_PB_LEN, what);
	if (rc < 0)
		return rc;
	nn_pb m = nn_pb_sub(ff);
	nn_pb_field f, g;
	/* The signature first: the name goes into every later message. */
	while ((rc = nn_sm_next(c, &m, &f, what)) > 0) {
		if (f.number != FD_SIGNATURE)
			continue;
		if ((rc = nn_sm_want(c, &f, NN_PB_LEN, what)) < 0)
			return rc;
		nn_pb s = nn_pb_sub(&f);
		while ((rc = nn_sm_next(c, &s, &g, what)) > 0)
			if (g.number == OPDEF_NAME && g.wire == NN_PB_LEN)
				fd->name = nn_sm_str(c, &g);
		if (rc < 0)
			return rc;
		if (!fd->name || !fd->name[0])
			return nn_sm_fail(c, NN_ERR_FORMAT, "%s has no name", what);
		snprintf(what, sizeof what, "function %.200s", fd->name);
		if ((rc = read_args(c, &f, OPDEF_INPUT_ARG, &fd->in, &fd->n_in, what)) < 0 ||
		    (rc = read_args(c, &f, OPDEF_OUTPUT_ARG, &fd->out, &fd->n_out, what)) < 0)
			return rc;
	}
	if (rc < 0)
		return rc;
	if (!fd->name)
		return nn_sm_fail(c, NN_ERR_FORMAT, "%s has no signature", what);
	int nn = nn_sm_count(c, ff->data, ff->len, FD_NODE_DEF, what), nr = nn_sm_count(c, ff->data, ff->len, FD_RET, what);
	if (nn < 0 || nr < 0)
		return nn < 0 ? nn : nr;
	fd->nodes = nn_sm_alloc(c, (size_t)nn, sizeof *fd->nodes);
	fd->ret_key = nn_sm_alloc(c, (size_t)nr, sizeof *fd->ret_key);
	fd->ret_val = nn_sm_alloc(c, (size_t)nr, sizeof *fd->ret_val);
	char *scope = nn_tf_strdup(c->g, what, strlen(what));
	if (!fd->nodes || !fd->ret_key || !fd->ret_val || !scope || nn_sm_map_init(c->g, &fd->map, nn) < 0)
		return NOMEM(c);
	m = nn_pb_sub(ff);
	while ((rc = nn_sm_next(c, &m, &f, what)) > 0) {
		if (f.number == FD_NODE_DEF) {
			if ((rc = nn_sm_want(c, &f, NN_PB_LEN, what)) < 0)
				return rc;
			c->r.scope = scope;
			nn_tf_node *n = &fd->nodes[fd->n_nodes];
			if ((rc = nn_tf_read_node(&c->r, f.data, f.len, n)) < 0)
				return rc;
			if (nn_sm_map_put(&fd->map, n->name, fd->n_nodes) < 0)
				return nn_sm_fail(c, NN_ERR_FORMAT, "%s: two nodes are called \"%s\"", what, n->name);
			fd->n_nodes++;
		} else if (f.number == FD_RET) {
			nn_pb_field k, v;
			if ((rc = nn_sm_map_entry(c, &f, &k, &v, what)) < 0)
				return rc;
			fd->ret_key[fd->n_ret] = nn_sm_str(c, &k);
			fd->ret_val[fd->n_ret] = nn_sm_str(c, &v);
			if (!fd->ret_key[fd->n_ret] || !fd->ret_val[fd->n_ret])
				return NOMEM(c);
			fd->n_ret++;
		}
	}
	return rc;
}

int nn_sm_read_library(sm *c, const uint8_t *lib, size_t len)
{
	int n = nn_sm_count(c, lib, len, LIB_FUNCTION, "the function library"), rc;
	if (n < 0)
		return n;
	if (!(c->fns = nn_sm_alloc(c, (size_t)n, sizeof *c->fns)) || nn_sm_map_init(c->g, &c->fnmap, n) < 0)
		return NOMEM(c);
	nn_pb m = nn_pb_of(lib, len);
	nn_pb_field f;
	while ((rc = nn_sm_next(c, &m, &f, "the function library")) > 0) {
		if (f.number != LIB_FUNCTION)
			continue;
		fn *fd = &c->fns[c->n_fns];
		if ((rc = read_function(c, &f, fd, c->n_fns)) < 0)
			return rc;
		if (nn_sm_map_put(&c->fnmap, fd->name, c->n_fns) < 0)
			return nn_sm_fail(c, NN_ERR_FORMAT, "the library defines function \"%s\" twice", fd->name);
		c->n_fns++;
	}
	return rc;
}

fn *nn_sm_find_fn(sm *c, const char *name)
{
	int i = name ? nn_sm_map_get(&c->fnmap, name, strlen(name)) : -1;
	return i < 0 ? NULL : &c->fns[i];
}

/* ---- the object graph ---- */

/* The TensorSpecs of a StructuredValue, depth first (a concrete function's arguments, then its keyword arguments). */
static int collect_specs(sm *c, const uint8_t *p, size_t n, cfn *cf, int depth, const char *what)
{
	if (depth > MAX_STRUCT_DEPTH)
		return nn_sm_fail(c, NN_ERR_FORMAT, "%s: its input signature nests deeper than %d", what, MAX_STRUCT_DEPTH);
	nn_pb m = nn_pb_of(p, n);
	nn_pb_field f, g;
	int rc;
	while ((rc = nn_sm_next(c, &m, &f, what)) > 0) {
		if (f.wire != NN_PB_LEN)
			continue;
		if (f.number == SV_TENSOR_SPEC) {
			if (cf->n_specs == MAX_SPECS)
				return nn_sm_fail(c, NN_ERR_UNSUPPORTED, "%s: more than %d input tensors", what, MAX_SPECS);
			tinfo *t = &cf->specs[cf->n_specs++];
			t->rank = -1;
			nn_pb s = nn_pb_sub(&f);
			while ((rc = nn_sm_next(c, &s, &g, what)) > 0) {
				if (g.number == TS_NAME && g.wire == NN_PB_LEN)
					t->name = nn_sm_str(c, &g);
				else if (g.number == TS_DTYPE && g.wire == NN_PB_VARINT)
					t->dtype = (nn_tf_dtype)g.u;
				else if (g.number == TS_SHAPE && (rc = read_shape(c, &g, what, &t->rank, t->dims)) < 0)
					return rc;
			}
			if (rc < 0)
				return rc;
		} else if (f.number == SV_LIST || f.number == SV_TUPLE) {
			/* ListValue and TupleValue: repeated StructuredValue values = 1. */
			nn_pb s = nn_pb_sub(&f);
			while ((rc = nn_sm_next(c, &s, &g, what)) > 0)
				if (g.number == 1 && g.wire == NN_PB_LEN &&
				    (rc = collect_specs(c, g.data, g.len, cf, depth + 1, what)) < 0)
					return rc;
			if (rc < 0)
				return rc;
		} else if (f.number == SV_DICT || f.number == SV_NAMED_TUPLE) {
			/* DictValue: map<string, StructuredValue> fields = 1; NamedTupleValue: repeated PairValue values = 2. */
			nn_pb s = nn_pb_sub(&f);
			while ((rc = nn_sm_next(c, &s, &g, what)) > 0) {
				if (g.wire != NN_PB_LEN || g.number != (f.number == SV_DICT ? 1u : 2u))
					continue;
				nn_pb_field k, v;
				if ((rc = nn_sm_map_entry(c, &g, &k, &v, what)) < 0)
					return rc;
				if (v.data && (rc = collect_specs(c, v.data, v.len, cf, depth + 1, what)) < 0)
					return rc;
			}
			if (rc < 0)
				return rc;
		}
	}
	return rc;
}

static int read_concrete(sm *c, const nn_pb_field *e, cfn *cf)
{
	nn_pb_field key, val, f;
	int rc = nn_sm_map_entry(c, e, &key, &val, "concrete_functions");
	if (rc < 0)
		return rc;
	if (!(cf->name = nn_sm_str(c, &key)) || !(cf->specs = nn_sm_alloc(c, MAX_SPECS, sizeof *cf->specs)))
		return NOMEM(c);
	char what[300];
	snprintf(what, sizeof what, "concrete function %.200s", cf->name);
	int nb = 0;
	nn_pb m = nn_pb_sub(&val);
	while ((rc = nn_sm_next(c, &m, &f, what)) > 0) {
		if (f.number != SCF_BOUND_INPUTS)
			continue;
		if (f.wire == NN_PB_LEN) {
			int64_t k = nn_pb_packed_varints(&f, NULL, 0);
			if (k < 0 || k > INT32_MAX - nb)
				return nn_sm_fail(c, NN_ERR_FORMAT, "%s: bound_inputs is malformed", what);
			nb += (int)k;
		} else if (f.wire == NN_PB_VARINT) {
			nb++;
		}
	}
	if (rc < 0)
		return rc;
	if (!(cf->bound = nn_sm_alloc(c, (size_t)nb, sizeof *cf->bound)))
		return NOMEM(c);
	m = nn_pb_sub(&val);
	while ((rc = nn_sm_next(c, &m, &f, what)) > 0) {
		if (f.number == SCF_BOUND_INPUTS && f.wire == NN_PB_LEN) {
			int64_t k = nn_pb_packed_varints(&f, NULL, 0);
			int64_t *v = malloc((size_t)(k ? k : 1) * sizeof *v);
			if (!v)
				return NOMEM(c);
			nn_pb_packed_varints(&f, v, k);
			for (int64_t i = 0; i < k; i++)
				cf->bound[cf->n_bound++] = v[i] < INT32_MIN || v[i] > INT32_MAX ? -1 : (int)v[i];
			free(v);
		} else if (f.number == SCF_BOUND_INPUTS && f.wire == NN_PB_VARINT) {
			cf->bound[cf->n_bound++] = f.u > INT32_MAX ? -1 : (int)f.u;
		} else if (f.number == SCF_INPUT_SIGNATURE && f.wire == NN_PB_LEN) {
			if ((rc = collect_specs(c, f.data, f.len, cf, 0, what)) < 0)
				return rc;
		}
	}
	if (rc < 0)
		return rc;
	for (int i = 0; i < cf->n_bound; i++)
		if (cf->bound[i] < 0 || cf->bound[i] >= c->n_objs)
			return nn_sm_fail(c, NN_ERR_FORMAT, "%s: bound input %d is object %d (the object graph has %d)", what,
					  i, cf->bound[i], c->n_objs);
	return 0;
}

static int read_object(sm *c, const nn_pb_field *of, obj *o, int id)
{
	char what[64];
	snprintf(what, sizeof what, "object %d of the object graph", id);
	int rc = nn_sm_want(c, of, NN_PB_LEN, what);
	if (rc < 0)
		return rc;
	int nc = nn_sm_count(c, of->data, of->len, OBJ_CHILDREN, what);
	if (nc < 0)
		return nc;
	o->child_ids = nn_sm_alloc(c, (size_t)nc, sizeof *o->child_ids);
	o->child_names = nn_sm_alloc(c, (size_t)nc, sizeof *o->child_names);
	if (!o->child_ids || !o->child_names)
		return NOMEM(c);
	nn_pb m = nn_pb_sub(of);
	nn_pb_field f, g;
	while ((rc = nn_sm_next(c, &m, &f, what)) > 0) {
		if (f.wire != NN_PB_LEN)
			continue;
		nn_pb s = nn_pb_sub(&f);
		switch (f.number) {
		case OBJ_CHILDREN: {
			int64_t child = -1;
			const char *name = "";
			while ((rc = nn_sm_next(c, &s, &g, what)) > 0) {
				if (g.number == REF_NODE_ID && g.wire == NN_PB_VARINT)
					child = nn_pb_int64(&g);
				else if (g.number == REF_LOCAL_NAME && g.wire == NN_PB_LEN)
					name = nn_sm_str(c, &g);
			}
			if (rc < 0)
				return rc;
			if (child < 0 || child >= c->n_objs || !name)
				return nn_sm_fail(c, NN_ERR_FORMAT, "%s: child \"%s\" is node %" PRId64 " (the graph has %d)", what,
					    name ? name : "", child, c->n_objs);
			o->child_ids[o->n_children] = (int)child;
			o->child_names[o->n_children++] = name;
			break;
		}
		case OBJ_VARIABLE:
			o->kind = OBJ_VARIABLE;
			while ((rc = nn_sm_next(c, &s, &g, what)) > 0)
				if (g.number == SVAR_NAME && g.wire == NN_PB_LEN)
					o->var_name = nn_sm_str(c, &g);
			break;
		case OBJ_CONSTANT:
			o->kind = OBJ_CONSTANT;
			while ((rc = nn_sm_next(c, &s, &g, what)) > 0)
				if (g.number == SCONST_OPERATION && g.wire == NN_PB_LEN)
					o->const_op = nn_sm_str(c, &g);
			break;
		case OBJ_FUNCTION:
		case OBJ_BARE_FUNCTION: {
			o->kind = (int)f.number;
			int k = nn_sm_count(c, f.data, f.len, 1, what);
			if (k < 0)
				return k;
			if (!(o->fn_names = nn_sm_alloc(c, (size_t)k, sizeof *o->fn_names)))
				return NOMEM(c);
			while ((rc = nn_sm_next(c, &s, &g, what)) > 0)
				if (g.number == 1 && g.wire == NN_PB_LEN)
					o->fn_names[o->n_fn_names++] = nn_sm_str(c, &g);
			break;
		}
		default:
			break;
		}
		if (rc < 0)
			return rc;
	}
	return rc;
}

int nn_sm_read_object_graph(sm *c, const nn_pb_field *og)
{
	int no = nn_sm_count(c, og->data, og->len, OG_NODES, "the object graph"), rc;
	int ncf = nn_sm_count(c, og->data, og->len, OG_CONCRETE_FUNCTIONS, "the object graph");
	if (no < 0 || ncf < 0)
		return no < 0 ? no : ncf;
	c->objs = nn_sm_alloc(c, (size_t)no, sizeof *c->objs);
	c->cfns = nn_sm_alloc(c, (size_t)ncf, sizeof *c->cfns);
	if (!c->objs || !c->cfns)
		return NOMEM(c);
	c->n_objs = no;
	int i = 0;
	nn_pb m = nn_pb_sub(og);
	nn_pb_field f;
	while ((rc = nn_sm_next(c, &m, &f, "the object graph")) > 0) {
		if (f.number == OG_NODES) {
			if ((rc = read_object(c, &f, &c->objs[i], i)) < 0)
				return rc;
			i++;
		} else if (f.number == OG_CONCRETE_FUNCTIONS) {
			if ((rc = read_concrete(c, &f, &c->cfns[c->n_cfns++])) < 0)
				return rc;
		}
	}
	return rc;
}

cfn *nn_sm_find_cfn(sm *c, const char *name)
{
	for (int i = 0; i < c->n_cfns; i++)
		if (!strcmp(c->cfns[i].name, name))
			return &c->cfns[i];
	return NULL;
}

/*
 * A variable's checkpoint key: the local names on the first path from the
 * root that a breadth-first walk of the children finds, joined with "/",
 * then "/.ATTRIBUTES/VARIABLE_VALUE". TensorFlow escapes "." and "/" in a
 * local name ("." as "..", "/" as ".S"); the key is tried as written first
 * and escaped second, and the one in the bundle wins.
 */
int nn_sm_checkpoint_key(sm *c, int id, char *key, size_t cap, int escape)
{
	if (!c->bfs_parent) {
		int *queue = malloc((size_t)c->n_objs * sizeof *queue);
		c->bfs_parent = nn_sm_alloc(c, (size_t)c->n_objs, sizeof *c->bfs_parent);
		c->bfs_name = nn_sm_alloc(c, (size_t)c->n_objs, sizeof *c->bfs_name);
		if (!queue || !c->bfs_parent || !c->bfs_name) {
			free(queue);
			return NOMEM(c);
		}
		for (int i = 0; i < c->n_objs; i++)
			c->bfs_parent[i] = -2;
		int head = 0, tail = 0;
		if (c->n_objs) {
			c->bfs_parent[0] = -1;
			queue[tail++] = 0;
		}
		while (head < tail) {
			const obj *o = &c->objs[queue[head++]];
			for (int k = 0; k < o->n_children; k++) {
				int ch = o->child_ids[k];
				if (c->bfs_parent[ch] != -2)
					continue;
				c->bfs_parent[ch] = queue[head - 1];
				c->bfs_name[ch] = o->child_names[k];
				queue[tail++] = ch;
			}
		}
		free(queue);
	}
	if (id < 0 || id >= c->n_objs || c->bfs_parent[id] == -2)
		return nn_sm_fail(c, NN_ERR_FORMAT, "object %d is not reachable from the root of the object graph", id);
	/* Built backwards from the variable to the root. */
	char tmp[1024];
	size_t pos = sizeof tmp;
	const char *suffix = ".ATTRIBUTES/VARIABLE_VALUE";
	pos -= strlen(suffix) + 1;
	memcpy(tmp + pos, suffix, strlen(suffix) + 1);
	for (int at = id; at > 0; at = c->bfs_parent[at]) {
		const char *n = c->bfs_name[at];
		size_t len = 0;
		for (const char *q = n; *q; q++)
			len += escape && (*q == '.' || *q == '/') ? 2 : 1;
		if (len + 1 > pos)
			return nn_sm_fail(c, NN_ERR_UNSUPPORTED, "the checkpoint key of object %d is longer than %zu bytes", id,
				    sizeof tmp);
		tmp[--pos] = '/';
		pos -= len;
		char *w = tmp + pos;
		for (const char *q = n; *q; q++) {
			if (escape && *q == '.') {
				*w++ = '.';
				*w++ = '.';
			} else if (escape && *q == '/') {
				*w++ = '.';
				*w++ = 'S';
			} else {
				*w++ = *q;
			}
		}
	}
	const char *k = tmp + pos;
	if (strlen(k) + 1 > cap)
		return nn_sm_fail(c, NN_ERR_UNSUPPORTED, "the checkpoint key of object %d is too long", id);
	memcpy(key, k, strlen(k) + 1);
	return 0;
}
