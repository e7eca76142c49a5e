#ifndef NN_TF_GRAPH_H
#define NN_TF_GRAPH_H

/*
 * A TensorFlow graph as every TensorFlow format spells it: nodes with an op,
 * inputs and attributes. The format readers (graphdef.c for frozen .pb
 * files, savedmodel.c for SavedModel folders, tfjs.c for TF.js model.json)
 * each fill one in from their own encoding; tf_ops.c alone maps it onto the
 * IR. So a TensorFlow op is mapped, constant-folded and reported as
 * unsupported in one place, whichever file it came from.
 *
 * Everything a graph points to lives in its arena and goes with
 * nn_tf_graph_free. Readers may also point into a buffer they keep alive
 * until nn_tf_build returns (graphdef.c points into the mapped file).
 */

#include <stddef.h>
#include <stdint.h>

#include "nn/graph.h"

/* TensorFlow's DataType enum (tensorflow/core/framework/types.proto), the values every format stores. */
typedef enum nn_tf_dtype {
	NN_TF_INVALID = 0,
	NN_TF_FLOAT = 1,
	NN_TF_DOUBLE = 2,
	NN_TF_INT32 = 3,
	NN_TF_UINT8 = 4,
	NN_TF_INT16 = 5,
	NN_TF_INT8 = 6,
	NN_TF_STRING = 7,
	NN_TF_INT64 = 9,
	NN_TF_BOOL = 10,
	NN_TF_QINT8 = 11,
	NN_TF_QUINT8 = 12,
	NN_TF_QINT32 = 13,
	NN_TF_BFLOAT16 = 14,
	NN_TF_QINT16 = 15,
	NN_TF_QUINT16 = 16,
	NN_TF_UINT16 = 17,
	NN_TF_HALF = 19,
	NN_TF_RESOURCE = 20,
	NN_TF_VARIANT = 21,
	NN_TF_UINT32 = 22,
	NN_TF_UINT64 = 23,
} nn_tf_dtype;

/* Bytes per element of a dtype, or 0 for those with no fixed size (string, resource, variant). */
size_t nn_tf_dtype_size(nn_tf_dtype dt);
/* The dtype's TensorFlow name ("float", "quint8"), for messages. */
const char *nn_tf_dtype_name(nn_tf_dtype dt);

/*
 * A constant's value, dense and little-endian, elements of nn_tf_dtype_size
 * bytes in row-major order. Readers expand TensorProto's forms (the
 * repeated value fields, a single value broadcast to the shape, float16
 * in half_val) into this one form.
 */
typedef struct nn_tf_tensor {
	nn_tf_dtype dtype;
	int rank;                       /* at most NN_MAX_RANK; readers refuse more */
	int64_t dims[NN_MAX_RANK];
	int64_t elements;
	const void *data;               /* elements * nn_tf_dtype_size(dtype) bytes; see nn_tf_read_tensor for NULL */
} nn_tf_tensor;

/* One element of a string tensor (bytes, not NUL-terminated). */
typedef struct nn_tf_string {
	const char *s;
	size_t len;
} nn_tf_string;

typedef enum nn_tf_attr_kind {
	NN_TF_ATTR_INT,
	NN_TF_ATTR_FLOAT,
	NN_TF_ATTR_BOOL,
	NN_TF_ATTR_STRING,      /* also bytes: s with s_len */
	NN_TF_ATTR_TYPE,
	NN_TF_ATTR_SHAPE,
	NN_TF_ATTR_TENSOR,
	NN_TF_ATTR_FUNC,        /* s: the function's name; func_attrs: its attrs */
	NN_TF_ATTR_LIST,        /* list_kind says which of the arrays holds the n values */
	NN_TF_ATTR_PLACEHOLDER, /* a function's attr bound at the call; readers that inline resolve it */
} nn_tf_attr_kind;

typedef struct nn_tf_attr {
	const char *name;
	nn_tf_attr_kind kind;
	int64_t i;
	double f;
	int b;
	const char *s;
	size_t s_len;
	nn_tf_dtype type;
	int rank;               /* SHAPE: -1 when unknown; a dimension of -1 is unknown */
	const int64_t *dims;
	const nn_tf_tensor *tensor;
	/* LIST: INT, FLOAT, BOOL (in ints), STRING, TYPE, SHAPE, TENSOR or FUNC (names in strings); INT when empty */
	nn_tf_attr_kind list_kind;
	int n;
	const int64_t *ints;
	const double *floats;
	const char *const *strings;
	const size_t *string_lens;
	const nn_tf_dtype *types;
	const int *ranks;           /* LIST of SHAPE: each shape's rank and dims */
	const int64_t *const *shape_dims;
	const nn_tf_tensor *tensors;    /* LIST of TENSOR */
	int n_func_attrs;               /* FUNC: the NameAttrList's attrs */
	const struct nn_tf_attr *func_attrs;
} nn_tf_attr;

typedef struct nn_tf_node {
	const char *name;
	const char *op;
	/* As GraphDef writes them: "node" (output 0), "node:2", or "^node" for a control edge. */
	int n_inputs;
	const char *const *inputs;
	int n_attrs;
	const nn_tf_attr *attrs;
} nn_tf_node;

typedef struct nn_tf_arena_block nn_tf_arena_block;

typedef struct nn_tf_graph {
	nn_tf_node *nodes;
	int n_nodes;
	nn_tf_arena_block *arena;
} nn_tf_graph;

/* Zeroed storage that lives as long as the graph (aligned for any scalar), or NULL when out of memory. */
void *nn_tf_alloc(nn_tf_graph *g, size_t bytes);
/* A copy of len bytes of s, NUL-terminated, in the arena. */
char *nn_tf_strdup(nn_tf_graph *g, const char *s, size_t len);
/* Frees the arena (and so everything in the graph) and zeroes *g. */
void nn_tf_graph_free(nn_tf_graph *g);

/* The attr called name, or NULL. */
const nn_tf_attr *nn_tf_node_attr(const nn_tf_node *n, const char *name);

/* A tensor the caller names: a graph input or output, "node" or "node:port". */
typedef struct nn_tf_endpoint {
	const char *name;       /* what the IR tensor and the user call it (a signature key, or the node name) */
	const char *tensor;     /* the node output it stands for */
	int rank;               /* inputs: the signature's shape when there is one, else -1 */
	int64_t dims[NN_MAX_RANK];
} nn_tf_endpoint;

typedef struct nn_tf_build_options {
	const char *source;     /* the file, for messages */
	/* Inputs and outputs; with none given, the Placeholders are the inputs and the nodes nothing reads the outputs. */
	const nn_tf_endpoint *inputs;
	int n_inputs;
	const nn_tf_endpoint *outputs;
	int n_outputs;
	/* The spatial size for image inputs whose height and width are unknown (-1), or 0 when none was given. */
	int input_w, input_h;
} nn_tf_build_options;

/*
 * Maps g onto a new IR graph: every node an output depends on, with its
 * static shapes, filters in the IR's layouts, and constants the mapping
 * needs evaluated at load time. Returns 0 with *out set, or a negative
 * NN_ERR_* with a message naming the source, the node and what was wrong.
 * Every op that cannot be mapped is listed in one message; control flow
 * (While, Switch, Merge, Enter, Exit, NextIteration, LoopCond) is refused
 * with the first such node named.
 */
int nn_tf_build(nn_graph **out, const nn_tf_graph *g, const nn_tf_build_options *o, char *err, size_t errlen);

#endif
