/*
 * SavedModel -> one flat TensorFlow graph -> nn_tf_build.
 *
 * How the two real SavedModels hold their computation and their weights
 * (read with this reader; the mapping below is what it implements):
 *
 * - mnist_digits_keras_ahadali01 (Keras Sequential, TensorFlow 2.0): the
 *   MetaGraphDef's own GraphDef has one Placeholder per signature input
 *   (serving_default_flatten_input), one VarHandleOp per variable
 *   (shared_name "dense/kernel", ...) and a StatefulPartitionedCall whose f
 *   is __inference_signature_wrapper_30195 and whose inputs are the
 *   Placeholder and then six VarHandleOps. The serving_default signature
 *   names that Placeholder ("serving_default_flatten_input:0") and the
 *   call's output ("StatefulPartitionedCall:0"). The function calls further
 *   functions (one per Keras layer) through StatefulPartitionedCall and
 *   PartitionedCall, down to bodies with ReadVariableOp, MatMul, BiasAdd.
 *   The object graph (MetaGraphDef.object_graph_def) has
 *   concrete_functions["__inference_signature_wrapper_30195"].bound_inputs
 *   = [20, 21, 26, 27, 32, 33]: the ids of the SavedObjects (variables) the
 *   function captured, which are its last six inputs, in that order; so the
 *   call's last six inputs are those variables. A variable's checkpoint key
 *   is the path of child local_names from the root object to it, found
 *   breadth-first (node 20 is root -> "layer_with_weights-0" -> "kernel"),
 *   then "/.ATTRIBUTES/VARIABLE_VALUE": the key variables.index holds.
 *
 * - humanseg_ppseg_lite_portrait_onnx2tf (onnx2tf, TensorFlow 2.12): no
 *   signature at all. The root object is a bare concrete function,
 *   __inference_<lambda>_2416, taking inputs_0 (float [1,224,398,3]) and
 *   103 captured inputs; its bound_inputs are objects 1..103, each a
 *   SavedConstant whose operation names a Const node of the MetaGraphDef's
 *   GraphDef (Const_102, ...). The bundle holds no weights, only the
 *   object graph. The reader builds the call itself: a Placeholder per
 *   TensorSpec of the function's canonicalized_input_signature, then the
 *   captured Consts.
 *
 * Function bodies name tensors "node:output_arg:index" (or an input arg's
 * name); the flat graph wants "node:port". The port is the position of the
 * output arg among the op's output args, counting the tensors of the args
 * before it, plus the index. An op whose first (or only) output arg is a
 * list (Split's "output", a call's "output") gives port = index. For ops
 * with several output args vigil knows the layouts of the ones in
 * multi_output below (each of their args is one tensor); for any other op
 * the reader assumes one output arg, and refuses a body that names two
 * different output args of such a node.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/format/savedmodel_internal.h"

/* ---- the flat graph ---- */

static int push_flat(sm *c, const nn_tf_node *n)
{
	if (c->n_flat == c->cap_flat) {
		int cap = c->cap_flat ? c->cap_flat * 2 : 256;
		nn_tf_node *nf = realloc(c->flat, (size_t)cap * sizeof *nf);
		if (!nf)
			return NOMEM(c);
		c->flat = nf;
		c->cap_flat = cap;
	}
	c->flat[c->n_flat++] = *n;
	return 0;
}

static int add_binding(sm *c, const char *flat, int obj_id)
{
	if (c->n_binds == c->cap_binds) {
		int cap = c->cap_binds ? c->cap_binds * 2 : 32;
		binding *nb = realloc(c->binds, (size_t)cap * sizeof *nb);
		if (!nb)
			return NOMEM(c);
		c->binds = nb;
		c->cap_binds = cap;
	}
	c->binds[c->n_binds++] = (binding){ flat, obj_id };
	return 0;
}

/* The function a node calls: StatefulPartitionedCall and PartitionedCall by their attr f, or an op that is a library function. */
static int callee(sm *c, const nn_tf_node *n, fn **out, const char *where)
{
	*out = NULL;
	if (!strcmp(n->op, "StatefulPartitionedCall") || !strcmp(n->op, "PartitionedCall")) {
		const nn_tf_attr *a = nn_tf_node_attr(n, "f");
		if (!a || a->kind != NN_TF_ATTR_FUNC || !a->s)
			return nn_sm_fail(c, NN_ERR_FORMAT, "%snode \"%s\" (%s) has no function attr f", where, n->name, n->op);
		if (!(*out = nn_sm_find_fn(c, a->s)))
			return nn_sm_fail(c, NN_ERR_FORMAT, "%snode \"%s\" calls function \"%s\", which the library lacks", where,
				    n->name, a->s);
		return 1;
	}
	*out = nn_sm_find_fn(c, n->op);
	return *out ? 1 : 0;
}

/* Ops with more than one output arg, and their args in order (each one tensor). */
static const struct {
	const char *op;
	const char *args[7];
} multi_output[] = {
	{ "FusedBatchNorm", { "y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2" } },
	{ "FusedBatchNormV2", { "y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2" } },
	{ "FusedBatchNormV3",
	  { "y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2", "reserve_space_3" } },
	{ "_FusedBatchNormEx",
	  { "y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2", "reserve_space_3" } },
	{ "TopKV2", { "values", "indices" } },
	{ "Unique", { "y", "idx" } },
	{ "UniqueWithCounts", { "y", "idx", "count" } },
	{ "MaxPoolWithArgmax", { "output", "argmax" } },
	{ "NonMaxSuppressionV4", { "selected_indices", "valid_outputs" } },
	{ "NonMaxSuppressionV5", { "selected_indices", "selected_scores", "valid_outputs" } },
	{ "CombinedNonMaxSuppression", { "nmsed_boxes", "nmsed_scores", "nmsed_classes", "valid_detections" } },
	{ "QuantizeV2", { "output", "output_min", "output_max" } },
	{ "QuantizedConv2D", { "output", "min_output", "max_output" } },
	{ "Requantize", { "output", "output_min", "output_max" } },
	{ "RequantizationRange", { "output_min", "output_max" } },
	{ "BroadcastGradientArgs", { "r0", "r1" } },
	{ "Switch", { "output_false", "output_true" } },
	{ "Merge", { "output", "value_index" } },
};

/* A frame: one function body (or the top-level graph) being inlined under a prefix. */
typedef struct frame {
	fn *f; /* NULL: the top-level graph */
	nn_tf_node *nodes;
	int n;
	const namemap *map;
	const char *prefix;
	const char **args;     /* the flat tensors the function's inputs are */
	unsigned char *state;  /* per node: 0 not needed, 1 needed, 2 done */
	const char ***outs;    /* call nodes: the flat tensors of their outputs */
	int *n_outs;
	const char **seen_arg; /* other nodes: the output arg the body named, for ops of unknown layout */
	const char *where;     /* "function X: " or "" */
} frame;

enum { NOT_READY = 1 };

static const char *flat_ref(sm *c, const frame *fr, const nn_tf_node *n, int port)
{
	char buf[32];
	size_t pl = strlen(fr->prefix), nl = strlen(n->name);
	int bl = port ? snprintf(buf, sizeof buf, ":%d", port) : 0;
	char *s = nn_tf_alloc(c->g, pl + nl + (size_t)bl + 1);
	if (!s)
		return NULL;
	memcpy(s, fr->prefix, pl);
	memcpy(s + pl, n->name, nl);
	memcpy(s + pl + nl, buf, (size_t)bl);
	return s;
}

/* Splits a reference into its node (index, or -1 for an arg: *arg set) and the rest. */
static int ref_node(sm *c, const frame *fr, const char *ref, int *node, int *arg, const char **rest)
{
	*node = *arg = -1;
	*rest = NULL;
	const char *colon = strchr(ref, ':');
	size_t n = colon ? (size_t)(colon - ref) : strlen(ref);
	if (fr->f && !colon) {
		for (int i = 0; i < fr->f->n_in; i++)
			if (!strcmp(fr->f->in[i], ref)) {
				*arg = i;
				return 0;
			}
	}
	*node = nn_sm_map_get(fr->map, ref, n);
	if (*node < 0)
		return nn_sm_fail(c, NN_ERR_FORMAT, "%sinput \"%s\" names no node%s", fr->where, ref,
			    fr->f ? " and no argument" : "");
	*rest = colon ? colon + 1 : NULL;
	return 0;
}

static int parse_index(const char *s, int *v)
{
	char *end;
	errno = 0;
	long x = strtol(s, &end, 10);
	if (end == s || *end || errno || x < 0 || x > 1000000)
		return -1;
	*v = (int)x;
	return 0;
}

/*
 * The flat tensor a reference in a frame stands for: *out set and 0, or
 * NOT_READY when it is the output of a call not yet inlined, or an error.
 */
static int resolve(sm *c, frame *fr, const char *ref, const char **out)
{
	int node, arg, rc;
	const char *rest;
	if ((rc = ref_node(c, fr, ref, &node, &arg, &rest)) < 0)
		return rc;
	if (arg >= 0) {
		*out = fr->args[arg];
		return 0;
	}
	nn_tf_node *n = &fr->nodes[node];
	fn *callee_fn;
	if ((rc = callee(c, n, &callee_fn, fr->where)) < 0)
		return rc;
	int port = 0;
	const char *argname = NULL;
	if (!fr->f) {
		/* GraphDef syntax: "node" or "node:port". */
		if (rest && parse_index(rest, &port) < 0)
			return nn_sm_fail(c, NN_ERR_FORMAT, "input \"%s\": the port is not a number", ref);
	} else if (rest) {
		/* Function body syntax: "node:output_arg:index". */
		const char *colon = strchr(rest, ':');
		int idx = 0;
		if (!colon || parse_index(colon + 1, &idx) < 0)
			return nn_sm_fail(c, NN_ERR_FORMAT, "%sinput \"%s\" is not \"node:output_arg:index\"", fr->where, ref);
		char *an = nn_tf_strdup(c->g, rest, (size_t)(colon - rest));
		if (!an)
			return NOMEM(c);
		argname = an;
		int base = -1;
		if (callee_fn && strcmp(n->op, callee_fn->name)) {
			/* A call op: one output arg, the list "output". */
			if (!strcmp(an, "output"))
				base = 0;
		} else if (callee_fn) {
			for (int i = 0; i < callee_fn->n_out; i++)
				if (!strcmp(callee_fn->out[i], an))
					base = i;
		} else {
			size_t k;
			for (k = 0; k < sizeof multi_output / sizeof multi_output[0]; k++)
				if (!strcmp(multi_output[k].op, n->op))
					break;
			if (k < sizeof multi_output / sizeof multi_output[0]) {
				for (int i = 0; i < 7 && multi_output[k].args[i]; i++)
					if (!strcmp(multi_output[k].args[i], an))
						base = i;
			} else if (!fr->seen_arg[node] || !strcmp(fr->seen_arg[node], an)) {
				fr->seen_arg[node] = argname;
				base = 0;
			} else {
				return nn_sm_fail(c, NN_ERR_UNSUPPORTED,
					    "%sinputs name two output args of node \"%s\" (\"%s\" and \"%s\"): vigil does not "
					    "know the output layout of op %s",
					    fr->where, n->name, fr->seen_arg[node], an, n->op);
			}
		}
		if (base < 0)
			return nn_sm_fail(c, NN_ERR_FORMAT, "%sinput \"%s\": op %s has no output arg \"%s\"", fr->where, ref,
				    n->op, an);
		port = base + idx;
	}
	if (callee_fn) {
		if (fr->state[node] != 2)
			return NOT_READY;
		if (port >= fr->n_outs[node])
			return nn_sm_fail(c, NN_ERR_FORMAT, "%sinput \"%s\": function %s has %d outputs", fr->where, ref,
				    callee_fn->name, fr->n_outs[node]);
		*out = fr->outs[node][port];
		return 0;
	}
	return (*out = flat_ref(c, fr, n, port)) ? 0 : NOMEM(c);
}

static int run_frame(sm *c, frame *fr, const char *const *need, int n_need, int depth);

/* Inlines the function node i of a frame calls: its body under the prefix "<node>/", its outputs noted. */
static int inline_call(sm *c, frame *fr, int i, fn *f, int depth)
{
	nn_tf_node *n = &fr->nodes[i];
	if (depth >= MAX_CALL_DEPTH)
		return nn_sm_fail(c, NN_ERR_UNSUPPORTED, "%scalls nest deeper than %d (at node \"%s\")", fr->where,
			    MAX_CALL_DEPTH, n->name);
	if (f->active)
		return nn_sm_fail(c, NN_ERR_UNSUPPORTED, "%snode \"%s\" calls function %s recursively", fr->where, n->name,
			    f->name);
	int n_data = 0, rc;
	for (int k = 0; k < n->n_inputs; k++)
		n_data += n->inputs[k][0] != '^';
	if (n_data != f->n_in)
		return nn_sm_fail(c, NN_ERR_FORMAT, "%snode \"%s\" passes %d inputs to function %s, which takes %d", fr->where,
			    n->name, n_data, f->name, f->n_in);
	frame sub = { 0 };
	sub.f = f;
	sub.nodes = f->nodes;
	sub.n = f->n_nodes;
	sub.map = &f->map;
	const char *pre = flat_ref(c, fr, n, 0);
	char *prefix = pre ? nn_tf_alloc(c->g, strlen(pre) + 2) : NULL;
	char *where = nn_tf_alloc(c->g, strlen(f->name) + 16);
	sub.args = nn_sm_alloc(c, (size_t)f->n_in, sizeof *sub.args);
	sub.state = nn_sm_alloc(c, (size_t)f->n_nodes, 1);
	sub.outs = nn_sm_alloc(c, (size_t)f->n_nodes, sizeof *sub.outs);
	sub.n_outs = nn_sm_alloc(c, (size_t)f->n_nodes, sizeof *sub.n_outs);
	sub.seen_arg = nn_sm_alloc(c, (size_t)f->n_nodes, sizeof *sub.seen_arg);
	if (!prefix || !where || !sub.args || !sub.state || !sub.outs || !sub.n_outs || !sub.seen_arg)
		return NOMEM(c);
	sprintf(prefix, "%s/", pre);
	sprintf(where, "function %s: ", f->name);
	sub.prefix = prefix;
	sub.where = where;
	for (int k = 0, a = 0; k < n->n_inputs; k++)
		if (n->inputs[k][0] != '^' && (rc = resolve(c, fr, n->inputs[k], &sub.args[a++])) != 0)
			return rc;
	const char **need = nn_sm_alloc(c, (size_t)f->n_out, sizeof *need);
	if (!need)
		return NOMEM(c);
	for (int k = 0; k < f->n_out; k++) {
		for (int r = 0; r < f->n_ret; r++)
			if (!strcmp(f->ret_key[r], f->out[k]))
				need[k] = f->ret_val[r];
		if (!need[k])
			return nn_sm_fail(c, NN_ERR_FORMAT, "function %s: output \"%s\" has no ret entry", f->name, f->out[k]);
	}
	f->active = 1;
	rc = run_frame(c, &sub, need, f->n_out, depth + 1);
	f->active = 0;
	if (rc < 0)
		return rc;
	if (!(fr->outs[i] = nn_sm_alloc(c, (size_t)f->n_out, sizeof *fr->outs[i])))
		return NOMEM(c);
	for (int k = 0; k < f->n_out; k++)
		if ((rc = resolve(c, &sub, need[k], &fr->outs[i][k])) != 0)
			return rc < 0 ? rc : nn_sm_fail(c, NN_ERR_FORMAT, "function %s: output \"%s\" is not computed", f->name, need[k]);
	fr->n_outs[i] = f->n_out;
	fr->state[i] = 2;
	return 0;
}

/* Marks the nodes the references need, and what they need in turn (data inputs only), without recursion. */
static int mark_needed(sm *c, frame *fr, const char *const *need, int n_need)
{
	int *stack = malloc(((size_t)fr->n + (size_t)n_need + 1) * sizeof *stack);
	if (!stack)
		return NOMEM(c);
	int sp = 0, rc = 0, node, arg;
	const char *rest;
	for (int k = 0; k < n_need && rc >= 0; k++) {
		const char *ref = need[k][0] == '^' ? need[k] + 1 : need[k];
		if ((rc = ref_node(c, fr, ref, &node, &arg, &rest)) >= 0 && node >= 0 && !fr->state[node]) {
			fr->state[node] = 1;
			stack[sp++] = node;
		}
	}
	while (sp > 0 && rc >= 0) {
		const nn_tf_node *n = &fr->nodes[stack[--sp]];
		for (int k = 0; k < n->n_inputs && rc >= 0; k++) {
			if (n->inputs[k][0] == '^')
				continue;
			if ((rc = ref_node(c, fr, n->inputs[k], &node, &arg, &rest)) >= 0 && node >= 0 && !fr->state[node]) {
				fr->state[node] = 1;
				stack[sp++] = node;
			}
		}
	}
	free(stack);
	return rc < 0 ? rc : 0;
}

/*
 * Inlines a frame: the calls it needs first, each once its inputs are
 * known (so in an order that follows the data), then its other needed
 * nodes into the flat graph with their inputs translated. Control inputs
 * are dropped: the flat graph has no side effects to order.
 */
static int run_frame(sm *c, frame *fr, const char *const *need, int n_need, int depth)
{
	int rc = mark_needed(c, fr, need, n_need);
	if (rc < 0)
		return rc;
	for (int progress = 1; progress;) {
		progress = 0;
		int pending = -1;
		for (int i = 0; i < fr->n; i++) {
			fn *f;
			if (fr->state[i] != 1)
				continue;
			if ((rc = callee(c, &fr->nodes[i], &f, fr->where)) < 0)
				return rc;
			if (!f)
				continue;
			int ready = 1;
			for (int k = 0; k < fr->nodes[i].n_inputs && ready; k++) {
				const char *dummy;
				if (fr->nodes[i].inputs[k][0] == '^')
					continue;
				if ((rc = resolve(c, fr, fr->nodes[i].inputs[k], &dummy)) < 0)
					return rc;
				ready = rc == 0;
			}
			if (!ready) {
				pending = i;
				continue;
			}
			if ((rc = inline_call(c, fr, i, f, depth)) < 0)
				return rc;
			progress = 1;
		}
		if (!progress && pending >= 0)
			return nn_sm_fail(c, NN_ERR_FORMAT, "%snode \"%s\" depends on its own output", fr->where,
				    fr->nodes[pending].name);
	}
	for (int i = 0; i < fr->n; i++) {
		if (fr->state[i] != 1)
			continue;
		const nn_tf_node *n = &fr->nodes[i];
		nn_tf_node out = *n;
		out.name = flat_ref(c, fr, n, 0);
		const char **ins = nn_sm_alloc(c, (size_t)n->n_inputs, sizeof *ins);
		if (!out.name || !ins)
			return NOMEM(c);
		out.n_inputs = 0;
		for (int k = 0; k < n->n_inputs; k++) {
			if (n->inputs[k][0] == '^')
				continue;
			if ((rc = resolve(c, fr, n->inputs[k], &ins[out.n_inputs])) != 0)
				return rc < 0 ? rc : nn_sm_fail(c, NN_ERR_FORMAT, "%snode \"%s\" depends on its own output", fr->where, n->name);
			out.n_inputs++;
		}
		out.inputs = ins;
		if ((rc = push_flat(c, &out)) < 0)
			return rc;
		fr->state[i] = 2;
	}
	return 0;
}

/* ---- variables ---- */

static const nn_tf_node *flat_node(sm *c, const namemap *m, const char *ref)
{
	const char *colon = strchr(ref, ':');
	int i = nn_sm_map_get(m, ref, colon ? (size_t)(colon - ref) : strlen(ref));
	return i < 0 ? NULL : &c->flat[i];
}

/* The bundle key of the variable a VarHandleOp of the flat graph stands for. */
static int variable_key(sm *c, const nn_tf_node *h, char *key, size_t cap)
{
	int id = -1;
	for (int i = 0; i < c->n_binds; i++)
		if (!strcmp(c->binds[i].flat, h->name))
			id = c->binds[i].obj;
	if (id < 0) {
		/* A VarHandleOp no function capture names: the variable whose name is its shared_name. */
		const nn_tf_attr *sn = nn_tf_node_attr(h, "shared_name");
		for (int i = 0; sn && sn->s && i < c->n_objs; i++)
			if (c->objs[i].kind == OBJ_VARIABLE && c->objs[i].var_name && !strcmp(c->objs[i].var_name, sn->s)) {
				if (id >= 0)
					return nn_sm_fail(c, NN_ERR_FORMAT, "VarHandleOp \"%s\": two variables are called \"%s\"",
						    h->name, sn->s);
				id = i;
			}
	}
	if (id < 0)
		return nn_sm_fail(c, NN_ERR_FORMAT,
			    "VarHandleOp \"%s\" is neither captured by a function the object graph describes nor named "
			    "like one of its variables",
			    h->name);
	if (c->objs[id].kind != OBJ_VARIABLE)
		return nn_sm_fail(c, NN_ERR_FORMAT, "VarHandleOp \"%s\" is bound to object %d, which is not a variable", h->name,
			    id);
	int rc;
	for (int escape = 0; escape < 2; escape++) {
		if ((rc = nn_sm_checkpoint_key(c, id, key, cap, escape)) < 0)
			return rc;
		if (c->vars && nn_tf_bundle_has(c->vars, key))
			return 0;
	}
	if (!c->vars)
		return nn_sm_fail(c, NN_ERR_FORMAT, "variable \"%s\" (object %d) needs variables/, which is missing",
			    c->objs[id].var_name ? c->objs[id].var_name : h->name, id);
	return nn_sm_fail(c, NN_ERR_FORMAT, "variable \"%s\" (object %d): variables.index has no \"%s\"",
		    c->objs[id].var_name ? c->objs[id].var_name : h->name, id, key);
}

/* Each ReadVariableOp becomes a Const holding the value of the variable it reads. */
static int bind_variables(sm *c)
{
	namemap m = { 0 };
	if (nn_sm_map_init(c->g, &m, c->n_flat) < 0)
		return NOMEM(c);
	for (int i = 0; i < c->n_flat; i++)
		if (nn_sm_map_put(&m, c->flat[i].name, i) < 0)
			return nn_sm_fail(c, NN_ERR_FORMAT, "two nodes of the inlined graph are called \"%s\"", c->flat[i].name);
	for (int i = 0; i < c->n_flat; i++) {
		nn_tf_node *n = &c->flat[i];
		if (strcmp(n->op, "ReadVariableOp"))
			continue;
		if (n->n_inputs < 1)
			return nn_sm_fail(c, NN_ERR_FORMAT, "ReadVariableOp \"%s\" has no input", n->name);
		const nn_tf_node *h = flat_node(c, &m, n->inputs[0]);
		for (int hops = 0; h && !strcmp(h->op, "Identity") && h->n_inputs >= 1 && hops < c->n_flat; hops++)
			h = flat_node(c, &m, h->inputs[0]);
		if (!h || strcmp(h->op, "VarHandleOp"))
			return nn_sm_fail(c, NN_ERR_UNSUPPORTED, "ReadVariableOp \"%s\" reads %s%s%s, not a VarHandleOp", n->name,
				    h ? "a " : "", h ? h->op : "nothing", h ? " node" : "");
		char key[1024];
		int rc = variable_key(c, h, key, sizeof key);
		if (rc < 0)
			return rc;
		nn_tf_tensor *t = nn_tf_alloc(c->g, sizeof *t);
		nn_tf_attr *attrs = nn_tf_alloc(c->g, 2 * sizeof *attrs);
		if (!t || !attrs)
			return NOMEM(c);
		if ((rc = nn_tf_bundle_read(c->vars, key, c->g, t, c->err, c->errlen)) < 0)
			return rc;
		const nn_tf_attr *dt = nn_tf_node_attr(n, "dtype");
		if (dt && dt->kind == NN_TF_ATTR_TYPE && dt->type != t->dtype)
			return nn_sm_fail(c, NN_ERR_FORMAT, "ReadVariableOp \"%s\" reads %s, but \"%s\" holds %s", n->name,
				    nn_tf_dtype_name(dt->type), key, nn_tf_dtype_name(t->dtype));
		attrs[0] = (nn_tf_attr){ .name = "dtype", .kind = NN_TF_ATTR_TYPE, .type = t->dtype };
		attrs[1] = (nn_tf_attr){ .name = "value", .kind = NN_TF_ATTR_TENSOR, .tensor = t };
		n->op = "Const";
		n->n_inputs = 0;
		n->inputs = NULL;
		n->n_attrs = 2;
		n->attrs = attrs;
	}
	return 0;
}

/* The last k data inputs of each top-level call are the variables its function captured (bound_inputs). */
static int bind_captures(sm *c)
{
	for (int i = 0; i < c->n_top; i++) {
		fn *f;
		int rc = callee(c, &c->top[i], &f, "");
		if (rc < 0)
			return rc;
		cfn *cf = f ? nn_sm_find_cfn(c, f->name) : NULL;
		if (!cf || !cf->n_bound)
			continue;
		const nn_tf_node *n = &c->top[i];
		int n_data = 0;
		for (int k = 0; k < n->n_inputs; k++)
			n_data += n->inputs[k][0] != '^';
		if (n_data < cf->n_bound)
			continue;
		for (int k = 0, d = 0; k < n->n_inputs; k++) {
			if (n->inputs[k][0] == '^' || d++ < n_data - cf->n_bound)
				continue;
			int id = cf->bound[d - 1 - (n_data - cf->n_bound)];
			const char *colon = strchr(n->inputs[k], ':');
			int h = nn_sm_map_get(&c->topmap, n->inputs[k], colon ? (size_t)(colon - n->inputs[k]) : strlen(n->inputs[k]));
			if (h >= 0 && !strcmp(c->top[h].op, "VarHandleOp") && (rc = add_binding(c, c->top[h].name, id)) < 0)
				return rc;
		}
	}
	return 0;
}

/* ---- choosing what to run ---- */

static int is_image(const tinfo *t)
{
	return t->dtype == NN_TF_FLOAT && t->rank == 4;
}

static void dims_str(const tinfo *t, char *buf, size_t n)
{
	size_t at = 0;
	at += (size_t)snprintf(buf + at, n - at, "[");
	for (int d = 0; d < t->rank && at < n; d++)
		at += (size_t)snprintf(buf + at, n - at, "%s%" PRId64, d ? "," : "", t->dims[d]);
	if (at < n)
		snprintf(buf + at, n - at, "]");
}

typedef struct choice {
	const tinfo *in, *out;
	int n_in, n_out;
	const char **out_refs; /* top-level references of the outputs */
	const char **in_refs;
} choice;

static const char *strip_port0(sm *c, const char *name)
{
	size_t n = strlen(name);
	if (n > 2 && !strcmp(name + n - 2, ":0"))
		return nn_tf_strdup(c->g, name, n - 2);
	return name;
}

static int use_signature(sm *c, const sig *s, choice *ch)
{
	ch->in = s->in;
	ch->n_in = s->n_in;
	ch->out = s->out;
	ch->n_out = s->n_out;
	ch->in_refs = nn_sm_alloc(c, (size_t)s->n_in, sizeof *ch->in_refs);
	ch->out_refs = nn_sm_alloc(c, (size_t)s->n_out, sizeof *ch->out_refs);
	if (!ch->in_refs || !ch->out_refs)
		return NOMEM(c);
	for (int i = 0; i < s->n_in; i++)
		if (!(ch->in_refs[i] = strip_port0(c, s->in[i].name)))
			return NOMEM(c);
	for (int i = 0; i < s->n_out; i++)
		if (!(ch->out_refs[i] = strip_port0(c, s->out[i].name)))
			return NOMEM(c);
	if (!s->n_out)
		return nn_sm_fail(c, NN_ERR_FORMAT, "signature \"%s\" has no outputs", s->key);
	return 0;
}

static nn_tf_attr *attrs_new(sm *c, int n)
{
	return nn_sm_alloc(c, (size_t)n, sizeof(nn_tf_attr));
}

/* A top-level name no node has, from base. */
static const char *fresh_name(sm *c, const char *base)
{
	size_t n = strlen(base);
	char *s = nn_tf_alloc(c->g, n + 16);
	if (!s)
		return NULL;
	strcpy(s, base);
	for (int k = 1; nn_sm_map_get(&c->topmap, s, strlen(s)) >= 0; k++)
		snprintf(s + n, 16, "_%d", k);
	return s;
}

/*
 * With no signature: a call of the concrete function, built as the
 * function's caller would: a Placeholder per TensorSpec, then the captured
 * inputs (a SavedConstant's Const node; a new VarHandleOp bound to a
 * SavedVariable).
 */
static int use_function(sm *c, const cfn *cf, const fn *f, choice *ch)
{
	if (cf->n_specs + cf->n_bound != f->n_in)
		return nn_sm_fail(c, NN_ERR_FORMAT, "function %s takes %d inputs, but its signature has %d tensors and %d captures",
			    f->name, f->n_in, cf->n_specs, cf->n_bound);
	int extra = cf->n_specs + 1 + cf->n_bound;
	nn_tf_node *top = nn_sm_alloc(c, (size_t)(c->n_top + extra), sizeof *top);
	const char **call_in = nn_sm_alloc(c, (size_t)f->n_in, sizeof *call_in);
	ch->in_refs = nn_sm_alloc(c, (size_t)cf->n_specs, sizeof *ch->in_refs);
	ch->out_refs = nn_sm_alloc(c, (size_t)f->n_out, sizeof *ch->out_refs);
	tinfo *out = nn_sm_alloc(c, (size_t)f->n_out, sizeof *out);
	tinfo *in = nn_sm_alloc(c, (size_t)cf->n_specs, sizeof *in);
	if (!top || !call_in || !ch->in_refs || !ch->out_refs || !out || !in)
		return NOMEM(c);
	memcpy(top, c->top, (size_t)c->n_top * sizeof *top);
	int nt = c->n_top;
	for (int i = 0; i < cf->n_specs; i++) {
		in[i] = cf->specs[i];
		char base[32];
		snprintf(base, sizeof base, "input_%d", i);
		const char *name = fresh_name(c, in[i].name && in[i].name[0] ? in[i].name : base);
		nn_tf_attr *a = attrs_new(c, 2);
		if (!name || !a)
			return NOMEM(c);
		in[i].key = name;
		a[0] = (nn_tf_attr){ .name = "dtype", .kind = NN_TF_ATTR_TYPE, .type = in[i].dtype };
		a[1] = (nn_tf_attr){ .name = "shape", .kind = NN_TF_ATTR_SHAPE, .rank = in[i].rank, .dims = in[i].dims };
		top[nt] = (nn_tf_node){ .name = name, .op = "Placeholder", .n_attrs = 2, .attrs = a };
		if (nn_sm_map_put(&c->topmap, name, nt) < 0)
			return NOMEM(c);
		nt++;
		call_in[i] = ch->in_refs[i] = name;
	}
	for (int k = 0; k < cf->n_bound; k++) {
		int id = cf->bound[k];
		const obj *o = id >= 0 && id < c->n_objs ? &c->objs[id] : NULL;
		if (o && o->kind == OBJ_CONSTANT && o->const_op) {
			if (nn_sm_map_get(&c->topmap, o->const_op, strlen(o->const_op)) < 0)
				return nn_sm_fail(c, NN_ERR_FORMAT, "function %s captures constant \"%s\", which the graph lacks",
					    f->name, o->const_op);
			call_in[cf->n_specs + k] = o->const_op;
		} else if (o && o->kind == OBJ_VARIABLE) {
			char base[48];
			snprintf(base, sizeof base, "capture_%d", id);
			const char *name = fresh_name(c, base);
			if (!name || nn_sm_map_put(&c->topmap, name, nt) < 0)
				return NOMEM(c);
			top[nt++] = (nn_tf_node){ .name = name, .op = "VarHandleOp" };
			int rc = add_binding(c, name, id);
			if (rc < 0)
				return rc;
			call_in[cf->n_specs + k] = name;
		} else {
			return nn_sm_fail(c, NN_ERR_UNSUPPORTED,
				    "function %s captures object %d, which is neither a constant nor a variable", f->name, id);
		}
	}
	const char *call = fresh_name(c, "call");
	nn_tf_attr *a = attrs_new(c, 1);
	if (!call || !a || nn_sm_map_put(&c->topmap, call, nt) < 0)
		return NOMEM(c);
	a[0] = (nn_tf_attr){ .name = "f", .kind = NN_TF_ATTR_FUNC, .s = f->name, .s_len = strlen(f->name) };
	top[nt++] = (nn_tf_node){ .name = call, .op = "PartitionedCall", .n_inputs = f->n_in, .inputs = call_in, .n_attrs = 1, .attrs = a };
	for (int i = 0; i < f->n_out; i++) {
		char *r = nn_tf_alloc(c->g, strlen(call) + 16);
		if (!r)
			return NOMEM(c);
		sprintf(r, i ? "%s:%d" : "%s", call, i);
		ch->out_refs[i] = r;
		out[i] = (tinfo){ .key = f->out[i], .name = r, .rank = -1 };
	}
	c->top = top;
	c->n_top = nt;
	ch->in = in;
	ch->n_in = cf->n_specs;
	ch->out = out;
	ch->n_out = f->n_out;
	return 0;
}

static int choose(sm *c, choice *ch, char *note, size_t note_len)
{
	int n_real = 0;
	const sig *only = NULL;
	for (int i = 0; i < c->n_sigs; i++) {
		if (!strcmp(c->sigs[i].key, "serving_default")) {
			snprintf(note, note_len, "signature \"serving_default\"");
			return use_signature(c, &c->sigs[i], ch);
		}
		if (strncmp(c->sigs[i].key, "__saved_model_init_op", 21)) {
			n_real++;
			only = &c->sigs[i];
		}
	}
	if (n_real == 1) {
		snprintf(note, note_len, "signature \"%s\": there is no serving_default and it is the only signature",
			 only->key);
		return use_signature(c, only, ch);
	}
	if (n_real > 1) {
		const sig *img = NULL;
		int n_img = 0;
		for (int i = 0; i < c->n_sigs; i++)
			if (c->sigs[i].n_in == 1 && is_image(&c->sigs[i].in[0])) {
				img = &c->sigs[i];
				n_img++;
			}
		if (n_img != 1)
			return nn_sm_fail(c, NN_ERR_UNSUPPORTED,
				    "no serving_default signature, and %d of its %d signatures take one rank-4 float tensor "
				    "(vigil runs the one that does)",
				    n_img, n_real);
		snprintf(note, note_len,
			 "signature \"%s\": there is no serving_default and it is the only signature that takes an image "
			 "(one rank-4 float tensor)",
			 img->key);
		return use_signature(c, img, ch);
	}
	/* No signatures: the concrete functions of the object graph that take one image. */
	const cfn *pick = NULL;
	int n_img = 0, from_root = 0;
	const obj *root = c->n_objs ? &c->objs[0] : NULL;
	for (int i = 0; i < c->n_cfns; i++) {
		const cfn *cf = &c->cfns[i];
		if (cf->n_specs != 1 || !is_image(&cf->specs[0]) || !nn_sm_find_fn(c, cf->name))
			continue;
		int is_root = 0;
		for (int k = 0; root && k < root->n_fn_names; k++)
			is_root |= !strcmp(root->fn_names[k], cf->name);
		n_img++;
		if (!pick || (is_root && !from_root)) {
			pick = cf;
			from_root = is_root;
		}
	}
	if (!pick)
		return nn_sm_fail(c, NN_ERR_UNSUPPORTED,
			    "no signatures, and none of its %d concrete functions takes one rank-4 float tensor", c->n_cfns);
	if (n_img > 1 && !from_root)
		return nn_sm_fail(c, NN_ERR_UNSUPPORTED,
			    "no signatures, and %d concrete functions take one rank-4 float tensor, none of them the root "
			    "object's: vigil cannot tell which to run",
			    n_img);
	char dims[96];
	dims_str(&pick->specs[0], dims, sizeof dims);
	char why[96];
	if (n_img == 1)
		snprintf(why, sizeof why, "the only concrete function%s", from_root ? " (the root object's)" : "");
	else
		snprintf(why, sizeof why, "the root object's concrete function, one of %d", n_img);
	snprintf(note, note_len,
		 "function \"%s\": there are no signatures, and it is %s that takes an image (one rank-4 float tensor, "
		 "\"%s\" %s)",
		 pick->name, why, pick->specs[0].name ? pick->specs[0].name : "", dims);
	return use_function(c, pick, nn_sm_find_fn(c, pick->name), ch);
}

/* ---- the whole ---- */

static int has_tag(sm *c, const nn_pb_field *mg, const char *tag, int *found)
{
	*found = 0;
	nn_pb m = nn_pb_sub(mg);
	nn_pb_field f, g;
	int rc;
	while ((rc = nn_sm_next(c, &m, &f, "a MetaGraphDef")) > 0) {
		if (f.number != MG_META_INFO || f.wire != NN_PB_LEN)
			continue;
		nn_pb s = nn_pb_sub(&f);
		while ((rc = nn_sm_next(c, &s, &g, "meta_info_def")) > 0)
			if (g.number == MI_TAGS && g.wire == NN_PB_LEN && nn_pb_eq(&g, tag))
				*found = 1;
		if (rc < 0)
			return rc;
	}
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const nn_tf_endpoint *)a)->name, ((const nn_tf_endpoint *)b)->name);
}

static int flatten(sm *c, nn_savedmodel_flat *out, const uint8_t *pb, size_t len)
{
	/* The MetaGraphDef tagged "serve", or the only one. */
	nn_pb m = nn_pb_of(pb, len);
	nn_pb_field f, mg = { 0 };
	int rc, n_mg = 0, serve = 0;
	while ((rc = nn_sm_next(c, &m, &f, "SavedModel")) > 0) {
		if (f.number != SM_META_GRAPHS)
			continue;
		if ((rc = nn_sm_want(c, &f, NN_PB_LEN, "meta_graphs")) < 0)
			return rc;
		int tagged;
		if ((rc = has_tag(c, &f, "serve", &tagged)) < 0)
			return rc;
		n_mg++;
		if (!serve && (tagged || n_mg == 1)) {
			mg = f;
			serve = tagged;
		}
	}
	if (rc < 0)
		return rc;
	if (!n_mg)
		return nn_sm_fail(c, NN_ERR_FORMAT, "not a SavedModel: no MetaGraphDef");
	if (n_mg > 1 && !serve)
		return nn_sm_fail(c, NN_ERR_UNSUPPORTED, "%d MetaGraphDefs and none tagged \"serve\"", n_mg);

	nn_pb_field graph = { 0 }, objects = { 0 };
	int n_sigs = nn_sm_count(c, mg.data, mg.len, MG_SIGNATURE_DEF, "the MetaGraphDef");
	if (n_sigs < 0)
		return n_sigs;
	if (!(c->sigs = nn_sm_alloc(c, (size_t)n_sigs, sizeof *c->sigs)))
		return NOMEM(c);
	m = nn_pb_sub(&mg);
	while ((rc = nn_sm_next(c, &m, &f, "the MetaGraphDef")) > 0) {
		if (f.number == MG_GRAPH_DEF && (rc = nn_sm_want(c, &f, NN_PB_LEN, "graph_def")) >= 0)
			graph = f;
		else if (f.number == MG_OBJECT_GRAPH && (rc = nn_sm_want(c, &f, NN_PB_LEN, "object_graph_def")) >= 0)
			objects = f;
		else if (f.number == MG_SIGNATURE_DEF)
			rc = nn_sm_read_signature(c, &f, &c->sigs[c->n_sigs++]);
		if (rc < 0)
			return rc;
	}
	if (rc < 0)
		return rc;
	if (!graph.data)
		return nn_sm_fail(c, NN_ERR_FORMAT, "the MetaGraphDef has no graph_def");

	nn_graphdef_info info = { 0 };
	c->r.scope = NULL;
	if ((rc = nn_graphdef_read(&c->r, graph.data, graph.len, &info)) < 0)
		return rc;
	c->top = c->g->nodes;
	c->n_top = c->g->n_nodes;
	c->g->nodes = NULL;
	c->g->n_nodes = 0;
	if (info.library && (rc = nn_sm_read_library(c, info.library, info.library_len)) < 0)
		return rc;
	if (objects.data && (rc = nn_sm_read_object_graph(c, &objects)) < 0)
		return rc;
	/* Room for the nodes use_function may add: a Placeholder per input, a VarHandleOp per capture, the call. */
	int64_t room = c->n_top + MAX_SPECS + 8;
	int max_bound = 0;
	for (int i = 0; i < c->n_cfns; i++)
		max_bound = c->cfns[i].n_bound > max_bound ? c->cfns[i].n_bound : max_bound;
	room += max_bound;
	if (room > INT32_MAX / 4 || nn_sm_map_init(c->g, &c->topmap, (int)room) < 0)
		return NOMEM(c);
	for (int i = 0; i < c->n_top; i++)
		if (nn_sm_map_put(&c->topmap, c->top[i].name, i) < 0)
			return nn_sm_fail(c, NN_ERR_FORMAT, "two nodes are called \"%s\"", c->top[i].name);

	choice ch = { 0 };
	if ((rc = choose(c, &ch, out->note, sizeof out->note)) < 0)
		return rc;
	if (ch.n_out == 0)
		return nn_sm_fail(c, NN_ERR_FORMAT, "%s: no outputs", out->note);
	if ((rc = bind_captures(c)) < 0)
		return rc;

	frame top = { 0 };
	top.nodes = c->top;
	top.n = c->n_top;
	top.map = &c->topmap;
	top.prefix = "";
	top.where = "";
	top.state = nn_sm_alloc(c, (size_t)c->n_top, 1);
	top.outs = nn_sm_alloc(c, (size_t)c->n_top, sizeof *top.outs);
	top.n_outs = nn_sm_alloc(c, (size_t)c->n_top, sizeof *top.n_outs);
	top.seen_arg = nn_sm_alloc(c, (size_t)c->n_top, sizeof *top.seen_arg);
	const char **need = nn_sm_alloc(c, (size_t)(ch.n_in + ch.n_out), sizeof *need);
	out->inputs = nn_sm_alloc(c, (size_t)ch.n_in, sizeof *out->inputs);
	out->outputs = nn_sm_alloc(c, (size_t)ch.n_out, sizeof *out->outputs);
	if (!top.state || !top.outs || !top.n_outs || !top.seen_arg || !need || !out->inputs || !out->outputs)
		return NOMEM(c);
	for (int i = 0; i < ch.n_in; i++)
		need[i] = ch.in_refs[i];
	for (int i = 0; i < ch.n_out; i++)
		need[ch.n_in + i] = ch.out_refs[i];
	if ((rc = run_frame(c, &top, need, ch.n_in + ch.n_out, 0)) < 0)
		return rc;
	for (int i = 0; i < ch.n_in + ch.n_out; i++) {
		nn_tf_endpoint *e = i < ch.n_in ? &out->inputs[i] : &out->outputs[i - ch.n_in];
		const tinfo *t = i < ch.n_in ? &ch.in[i] : &ch.out[i - ch.n_in];
		if ((rc = resolve(c, &top, need[i], &e->tensor)) != 0)
			return rc < 0 ? rc : nn_sm_fail(c, NN_ERR_FORMAT, "\"%s\" is not computed", need[i]);
		e->name = t->key;
		e->rank = t->rank;
		for (int d = 0; d < t->rank && d < NN_MAX_RANK; d++)
			e->dims[d] = t->dims[d];
		/* An unknown batch size is 1: vigil runs one image at a time. */
		if (i < ch.n_in && e->rank >= 2 && e->dims[0] == -1)
			e->dims[0] = 1;
	}
	out->n_inputs = ch.n_in;
	out->n_outputs = ch.n_out;
	qsort(out->inputs, (size_t)out->n_inputs, sizeof *out->inputs, by_name);
	qsort(out->outputs, (size_t)out->n_outputs, sizeof *out->outputs, by_name);
	if ((rc = bind_variables(c)) < 0)
		return rc;
	nn_tf_node *nodes = nn_sm_alloc(c, (size_t)c->n_flat, sizeof *nodes);
	if (!nodes)
		return NOMEM(c);
	memcpy(nodes, c->flat, (size_t)c->n_flat * sizeof *nodes);
	c->g->nodes = nodes;
	c->g->n_nodes = c->n_flat;
	return 0;
}

int nn_savedmodel_flatten(nn_savedmodel_flat *out, const void *pb, size_t len, const nn_tf_bundle *vars,
			  const char *source, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	sm c = { 0 };
	c.g = &out->g;
	c.source = source ? source : "saved_model.pb";
	c.err = err;
	c.errlen = errlen;
	c.vars = vars;
	c.r.g = &out->g;
	c.r.source = c.source;
	c.r.borrow = 1;
	c.r.err = err;
	c.r.errlen = errlen;
	int rc = flatten(&c, out, pb, len);
	free(c.flat);
	free(c.binds);
	if (rc < 0)
		nn_savedmodel_flat_free(out);
	return rc < 0 ? rc : 0;
}

void nn_savedmodel_flat_free(nn_savedmodel_flat *f)
{
	nn_tf_graph_free(&f->g);
	f->inputs = f->outputs = NULL;
	f->n_inputs = f->n_outputs = 0;
}
