/*
 * Opsets 1 to 6 of the default domain. Most ops mean the same from their
 * first version; the mappers already read the older attribute forms where
 * an op changed later (Slice, Clip, TopK, Squeeze, Softmax, Split's
 * attribute, Upsample's scales). What is left is this table: ops whose
 * early versions differ in a way no mapper reads, each with the version
 * from which vigil takes it and why, and the legacy broadcasting of the
 * binary ops before opset 7 (a `broadcast` flag with an `axis` at which B's
 * dimensions line up with A's), accepted where it agrees with NumPy's rule
 * (no axis, or the axis that aligns B with A's last dimensions).
 *
 * Called for every node of the default domain before it is evaluated or
 * mapped: 0 when the node's semantics at the model's opset are the ones the
 * loader implements, 1 (recorded as unsupported, naming the op and opset)
 * when not.
 */
#include <string.h>

#include "nn/format/onnx_internal.h"

typedef struct opset_since {
	const char *op;
	int since;          /* the first opset whose semantics the mapper implements */
	const char *before; /* what differs before it */
} opset_since;

static const opset_since since_table[] = {
	{ "Reshape", 5, "the shape was an attribute" },
	{ "Split", 2, "the sizes could be a second input" },
	{ "Pad", 2, "the pads were the 'paddings' attribute" },
	{ "Tile", 6, "tiles and axis were separate inputs" },
	{ "Upsample", 7, "an experimental op with other attributes" },
	{ "Cast", 6, "'to' was a type name string" },
	{ "Concat", 4, "a missing axis meant 1" },
	{ "BatchNormalization", 7, "is_test, spatial and consumed_inputs" },
	{ NULL, 0, NULL },
};

/* The binary ops that had the legacy broadcast attribute before opset 7. */
static const char *const legacy_broadcast[] = {
	"Add", "Sub", "Mul", "Div", "Pow", "Equal", "Greater", "Less", "And", "Or", "Xor", NULL,
};

/* The rank of input k, or -1 when unknown. */
static int input_rank(ox *c, const ox_node *n, int k)
{
	ox_value *v = ox_in(c, n, k);
	if (!v)
		return -1;
	if (v->c)
		return v->c->rank;
	if (v->t >= 0)
		return ox_T(c, v->t)->rank;
	if (v->lz_src >= 0)
		return v->lz_rank;
	return -1;
}

int ox_opset_check(ox *c, const ox_node *n)
{
	if (c->opset >= 7 || (n->domain[0] && strcmp(n->domain, "ai.onnx")))
		return 0;
	for (const opset_since *s = since_table; s->op; s++) {
		if (strcmp(s->op, n->op) || c->opset >= s->since)
			continue;
		/* The forms that mean the same: Concat with its axis given, BatchNormalization in test mode. */
		if (!strcmp(n->op, "Concat") && ox_attr_get(n, "axis"))
			return 0;
		if (!strcmp(n->op, "BatchNormalization") && ox_attr_i(n, "is_test", 0) && ox_attr_i(n, "spatial", 1))
			return 0;
		return ox_unsupported(c, "%s before opset %d (%s), at opset %d", n->op, s->since, s->before, c->opset);
	}
	for (int k = 0; legacy_broadcast[k]; k++) {
		if (strcmp(legacy_broadcast[k], n->op))
			continue;
		if (!ox_attr_i(n, "broadcast", 0) || !ox_attr_get(n, "axis"))
			return 0;
		int ra = input_rank(c, n, 0), rb = input_rank(c, n, 1);
		int64_t axis = ox_attr_i(n, "axis", 0);
		if (ra >= 0 && rb >= 0 && (axis == ra - rb || (axis < 0 && axis + ra == ra - rb)))
			return 0;
		return ox_unsupported(c, "%s with the legacy broadcast along axis %lld (before opset 7), at opset %d",
				      n->op, (long long)axis, c->opset);
	}
	return 0;
}
