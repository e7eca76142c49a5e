#include "nn/graph.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Elements beyond this make byte counts of 8-byte types overflow int64, so shapes past it are invalid. */
#define NN_MAX_ELEMENTS (INT64_MAX / 8)

nn_graph *nn_graph_create(const char *source)
{
	nn_graph *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	g->source = strdup(source ? source : "(memory)");
	if (!g->source) {
		free(g);
		return NULL;
	}
	return g;
}

static void free_quant(nn_quant *q)
{
	free(q->scale);
	free(q->zero_point);
	memset(q, 0, sizeof *q);
}

static void free_node(nn_node *n)
{
	free(n->name);
	free(n->inputs);
	free(n->outputs);
	n->name = NULL;
	n->inputs = n->outputs = NULL;
}

void nn_graph_free(nn_graph *g)
{
	if (!g)
		return;
	for (int i = 0; i < g->n_tensors; i++) {
		nn_tensor *t = &g->tensors[i];
		if (t->owns_data)
			free(t->data);
		free_quant(&t->quant);
		free(t->name);
		free(t->aux);
	}
	free(g->tensors);
	for (int i = 0; i < g->n_nodes; i++)
		free_node(&g->nodes[i]);
	free(g->nodes);
	free(g->inputs);
	free(g->outputs);
	for (int i = 0; i < g->n_labels; i++)
		free(g->labels[i]);
	free(g->labels);
	for (int i = 0; i < g->n_meta; i++) {
		free(g->meta_keys[i]);
		free(g->meta_values[i]);
	}
	free(g->meta_keys);
	free(g->meta_values);
	free(g->source);
	free(g->origin);
	free(g->file);
	free(g);
}

/* Grows an array of elements of size elem to hold at least need elements, doubling. */
static int grow(void **array, int *cap, int need, size_t elem)
{
	if (need <= *cap)
		return 0;
	int new_cap = *cap ? *cap : 16;
	while (new_cap < need) {
		if (new_cap > INT32_MAX / 2)
			return NN_ERR_NOMEM;
		new_cap *= 2;
	}
	if ((size_t)new_cap > SIZE_MAX / elem)
		return NN_ERR_NOMEM;
	void *p = realloc(*array, (size_t)new_cap * elem);
	if (!p)
		return NN_ERR_NOMEM;
	*array = p;
	*cap = new_cap;
	return 0;
}

int nn_graph_add_tensor(nn_graph *g, const char *name)
{
	if (g->n_tensors == INT32_MAX)
		return -1;
	void *array = g->tensors;
	if (grow(&array, &g->cap_tensors, g->n_tensors + 1, sizeof *g->tensors) < 0)
		return -1;
	g->tensors = array;
	nn_tensor *t = &g->tensors[g->n_tensors];
	memset(t, 0, sizeof *t);
	t->dtype = NN_F32;
	if (name && !(t->name = strdup(name)))
		return -1;
	return g->n_tensors++;
}

nn_node *nn_graph_add_node(nn_graph *g, nn_op op, int n_inputs, int n_outputs)
{
	if (n_inputs < 0 || n_outputs < 0 || g->n_nodes == INT32_MAX)
		return NULL;
	void *array = g->nodes;
	if (grow(&array, &g->cap_nodes, g->n_nodes + 1, sizeof *g->nodes) < 0)
		return NULL;
	g->nodes = array;
	nn_node n = { .op = op, .n_inputs = n_inputs, .n_outputs = n_outputs };
	/* One spare element each, so that nodes without inputs or outputs still get a valid pointer. */
	n.inputs = malloc(((size_t)n_inputs + 1) * sizeof *n.inputs);
	n.outputs = malloc(((size_t)n_outputs + 1) * sizeof *n.outputs);
	if (!n.inputs || !n.outputs) {
		free(n.inputs);
		free(n.outputs);
		return NULL;
	}
	for (int i = 0; i < n_inputs; i++)
		n.inputs[i] = -1;
	for (int i = 0; i < n_outputs; i++)
		n.outputs[i] = -1;
	g->nodes[g->n_nodes] = n;
	return &g->nodes[g->n_nodes++];
}

int nn_tensor_set_quant(nn_tensor *t, int count, int axis, const float *scale, const int32_t *zero_point)
{
	free_quant(&t->quant);
	if (count <= 0)
		return 0;
	if (!scale)
		return NN_ERR_ARG;
	t->quant.scale = malloc((size_t)count * sizeof *t->quant.scale);
	t->quant.zero_point = calloc((size_t)count, sizeof *t->quant.zero_point);
	if (!t->quant.scale || !t->quant.zero_point) {
		free_quant(&t->quant);
		return NN_ERR_NOMEM;
	}
	memcpy(t->quant.scale, scale, (size_t)count * sizeof *scale);
	if (zero_point)
		memcpy(t->quant.zero_point, zero_point, (size_t)count * sizeof *zero_point);
	t->quant.count = count;
	t->quant.axis = axis;
	return 0;
}

int nn_tensor_alloc_const(nn_tensor *t)
{
	if (nn_tensor_elements(t) < 0 || nn_dtype_size(t->dtype) == 0)
		return NN_ERR_SHAPE;
	size_t bytes = nn_tensor_bytes(t);
	/* calloc(0) may return NULL; a one-byte block keeps "data == NULL" meaning "no data". */
	void *data = calloc(1, bytes ? bytes : 1);
	if (!data)
		return NN_ERR_NOMEM;
	if (t->owns_data)
		free(t->data);
	t->data = data;
	t->owns_data = 1;
	t->is_const = 1;
	return 0;
}

int nn_graph_add_metadata(nn_graph *g, const char *key, const char *value, size_t len)
{
	char **keys = realloc(g->meta_keys, (size_t)(g->n_meta + 1) * sizeof *keys);
	if (!keys)
		return NN_ERR_NOMEM;
	g->meta_keys = keys;
	char **values = realloc(g->meta_values, (size_t)(g->n_meta + 1) * sizeof *values);
	if (!values)
		return NN_ERR_NOMEM;
	g->meta_values = values;
	char *k = strdup(key);
	char *v = malloc(len + 1);
	if (!k || !v) {
		free(k);
		free(v);
		return NN_ERR_NOMEM;
	}
	memcpy(v, value, len);
	v[len] = '\0';
	keys[g->n_meta] = k;
	values[g->n_meta] = v;
	g->n_meta++;
	return 0;
}

static const char *const op_names[NN_OP_COUNT] = {
	[NN_OP_ADD] = "ADD",
	[NN_OP_SUB] = "SUB",
	[NN_OP_MUL] = "MUL",
	[NN_OP_DIV] = "DIV",
	[NN_OP_MAXIMUM] = "MAXIMUM",
	[NN_OP_MINIMUM] = "MINIMUM",
	[NN_OP_CONCATENATION] = "CONCATENATION",
	[NN_OP_CONV2D] = "CONV2D",
	[NN_OP_DEPTHWISE_CONV2D] = "DEPTHWISE_CONV2D",
	[NN_OP_TRANSPOSE_CONV2D] = "TRANSPOSE_CONV2D",
	[NN_OP_FULLY_CONNECTED] = "FULLY_CONNECTED",
	[NN_OP_AVERAGE_POOL2D] = "AVERAGE_POOL2D",
	[NN_OP_MAX_POOL2D] = "MAX_POOL2D",
	[NN_OP_MEAN] = "MEAN",
	[NN_OP_RESHAPE] = "RESHAPE",
	[NN_OP_SOFTMAX] = "SOFTMAX",
	[NN_OP_LOGISTIC] = "LOGISTIC",
	[NN_OP_TANH] = "TANH",
	[NN_OP_RELU] = "RELU",
	[NN_OP_RELU6] = "RELU6",
	[NN_OP_RELU_N1_TO_1] = "RELU_N1_TO_1",
	[NN_OP_HARD_SWISH] = "HARD_SWISH",
	[NN_OP_LEAKY_RELU] = "LEAKY_RELU",
	[NN_OP_PRELU] = "PRELU",
	[NN_OP_PAD] = "PAD",
	[NN_OP_RESIZE_BILINEAR] = "RESIZE_BILINEAR",
	[NN_OP_RESIZE_NEAREST] = "RESIZE_NEAREST",
	[NN_OP_QUANTIZE] = "QUANTIZE",
	[NN_OP_DEQUANTIZE] = "DEQUANTIZE",
	[NN_OP_DETECTION_POSTPROCESS] = "DETECTION_POSTPROCESS",
	[NN_OP_TRANSPOSE] = "TRANSPOSE",
	[NN_OP_STRIDED_SLICE] = "STRIDED_SLICE",
	[NN_OP_GATHER] = "GATHER",
	[NN_OP_SPLIT] = "SPLIT",
	[NN_OP_CAST] = "CAST",
	[NN_OP_TOPK] = "TOPK",
	[NN_OP_FLOOR_DIV] = "FLOOR_DIV",
	[NN_OP_FLOOR_MOD] = "FLOOR_MOD",
	[NN_OP_EQUAL] = "EQUAL",
	[NN_OP_SPARSE_TO_DENSE] = "SPARSE_TO_DENSE",
	[NN_OP_DEPTH_TO_SPACE] = "DEPTH_TO_SPACE",
	[NN_OP_ARG_MAX] = "ARG_MAX",
	[NN_OP_PACK] = "PACK",
	[NN_OP_UNPACK] = "UNPACK",
	[NN_OP_GATHER_ND] = "GATHER_ND",
	[NN_OP_SQRT] = "SQRT",
	[NN_OP_EXP] = "EXP",
	[NN_OP_LOG] = "LOG",
	[NN_OP_NEG] = "NEG",
	[NN_OP_ABS] = "ABS",
	[NN_OP_ERF] = "ERF",
	[NN_OP_ELU] = "ELU",
	[NN_OP_CLAMP] = "CLAMP",
	[NN_OP_POW] = "POW",
	[NN_OP_REDUCE_MAX] = "REDUCE_MAX",
	[NN_OP_REDUCE_MIN] = "REDUCE_MIN",
	[NN_OP_REDUCE_SUM] = "REDUCE_SUM",
	[NN_OP_GREATER] = "GREATER",
	[NN_OP_LESS] = "LESS",
	[NN_OP_LOGICAL_NOT] = "LOGICAL_NOT",
	[NN_OP_LOGICAL_AND] = "LOGICAL_AND",
	[NN_OP_SELECT] = "SELECT",
	[NN_OP_TILE] = "TILE",
	[NN_OP_BROADCAST_TO] = "BROADCAST_TO",
	[NN_OP_GATHER_ELEMENTS] = "GATHER_ELEMENTS",
	[NN_OP_SPACE_TO_DEPTH] = "SPACE_TO_DEPTH",
	[NN_OP_SILU] = "SILU",
	[NN_OP_BATCH_MATMUL] = "BATCH_MATMUL",
	[NN_OP_NON_MAX_SUPPRESSION] = "NON_MAX_SUPPRESSION",
	[NN_OP_DYNAMIC_QUANTIZE] = "DYNAMIC_QUANTIZE",
	[NN_OP_RESIZE_CUBIC] = "RESIZE_CUBIC",
	[NN_OP_NMS_PADDED] = "NMS_PADDED",
};

const char *nn_op_name(nn_op op)
{
	if ((unsigned)op >= NN_OP_COUNT || !op_names[op])
		return "UNKNOWN_OP";
	return op_names[op];
}

int nn_tensor_is_quantized(const nn_tensor *t)
{
	switch (t->dtype) {
	case NN_U8:
	case NN_I8:
	case NN_I16:
	case NN_I32:
		return t->quant.count > 0 && t->quant.scale != NULL;
	default:
		return 0;
	}
}

size_t nn_dtype_size(nn_dtype t)
{
	switch (t) {
	case NN_F32: return 4;
	case NN_F16: return 2;
	case NN_U8: return 1;
	case NN_I8: return 1;
	case NN_I16: return 2;
	case NN_I32: return 4;
	case NN_I64: return 8;
	case NN_BOOL: return 1;
	default: return 0;
	}
}

const char *nn_dtype_name(nn_dtype t)
{
	switch (t) {
	case NN_F32: return "float32";
	case NN_F16: return "float16";
	case NN_U8: return "uint8";
	case NN_I8: return "int8";
	case NN_I16: return "int16";
	case NN_I32: return "int32";
	case NN_I64: return "int64";
	case NN_BOOL: return "bool";
	default: return "unknown";
	}
}

/* Returns -1 for an invalid shape: rank outside 0..NN_MAX_RANK, a negative dimension, or too many elements. */
const char *nn_tensor_shape_str(const nn_tensor *t, char *buf, size_t len)
{
	if (!len)
		return buf;
	size_t n = (size_t)snprintf(buf, len, "%s[", nn_dtype_name(t->dtype));
	for (int i = 0; i < t->rank && i < NN_MAX_RANK && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%d", i ? "," : "", t->shape[i]);
	if (n < len)
		snprintf(buf + n, len - n, "]");
	return buf;
}

int64_t nn_tensor_elements(const nn_tensor *t)
{
	if (t->rank < 0 || t->rank > NN_MAX_RANK)
		return -1;
	int64_t n = 1;
	for (int i = 0; i < t->rank; i++) {
		int64_t d = t->shape[i];
		if (d < 0)
			return -1;
		if (d > 0 && n > NN_MAX_ELEMENTS / d)
			return -1;
		n *= d;
	}
	return n;
}

/* Returns 0 for an invalid shape or dtype as well as for an empty tensor; check nn_tensor_elements to tell. */
size_t nn_tensor_bytes(const nn_tensor *t)
{
	int64_t n = nn_tensor_elements(t);
	if (n < 0)
		return 0;
	return (size_t)n * nn_dtype_size(t->dtype);
}

int nn_graph_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

int nn_graph_is_output(const nn_graph *g, int t)
{
	for (int i = 0; i < g->n_outputs; i++)
		if (g->outputs[i] == t)
			return 1;
	return 0;
}

int nn_graph_index_uses(const nn_graph *g, const unsigned char *removed, int *producer, int *readers)
{
	int reads = 0;
	if (producer)
		for (int t = 0; t < g->n_tensors; t++)
			producer[t] = -1;
	for (int i = 0; i < g->n_nodes; i++) {
		if (removed && removed[i])
			continue;
		const nn_node *n = &g->nodes[i];
		for (int k = 0; producer && k < n->n_outputs; k++)
			producer[n->outputs[k]] = i;
		for (int k = 0; k < n->n_inputs; k++)
			if (n->inputs[k] >= 0) {
				readers[n->inputs[k]]++;
				reads++;
			}
	}
	return reads;
}

void nn_window_add_padding(nn_padding *padding, int *top, int *bottom, int *left, int *right, const nn_node *pad)
{
	const int(*pads)[2] = pad->p.pad.pads;
	if (*padding == NN_PADDING_VALID)
		*top = *bottom = *left = *right = 0;
	*padding = NN_PADDING_EXPLICIT;
	*top += pads[1][0];
	*bottom += pads[1][1];
	*left += pads[2][0];
	*right += pads[2][1];
}

int nn_tensor_same_encoding(const nn_tensor *a, const nn_tensor *b)
{
	if (a->dtype != b->dtype || a->quant.count != b->quant.count)
		return 0;
	for (int c = 0; c < a->quant.count; c++)
		if (a->quant.scale[c] != b->quant.scale[c] || a->quant.zero_point[c] != b->quant.zero_point[c])
			return 0;
	return a->quant.count <= 1 || a->quant.axis == b->quant.axis;
}

void nn_graph_remove_nodes(nn_graph *g, const unsigned char *removed)
{
	int kept = 0;
	for (int i = 0; i < g->n_nodes; i++) {
		if (removed[i]) {
			free(g->nodes[i].name);
			free(g->nodes[i].inputs);
			free(g->nodes[i].outputs);
			continue;
		}
		g->nodes[kept++] = g->nodes[i];
	}
	g->n_nodes = kept;
}

int nn_graph_add_tensor_like(nn_graph *g, int t, const char *suffix)
{
	const char *base = g->tensors[t].name ? g->tensors[t].name : "";
	size_t len = strlen(base) + strlen(suffix) + 1;
	char *name = malloc(len);
	if (!name)
		return -1;
	snprintf(name, len, "%s%s", base, suffix);
	int u = nn_graph_add_tensor(g, name);
	free(name);
	if (u < 0)
		return -1;
	nn_tensor *x = &g->tensors[t], *y = &g->tensors[u];
	y->dtype = x->dtype;
	y->rank = x->rank;
	memcpy(y->shape, x->shape, sizeof y->shape);
	return u;
}
