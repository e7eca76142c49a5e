#ifndef NN_GRAPHDEF_H
#define NN_GRAPHDEF_H

/*
 * TensorFlow's graph messages read from the protobuf wire format into an
 * nn_tf_graph: GraphDef (frozen .pb files), NodeDef, AttrValue, TensorProto
 * and TensorShapeProto. The SavedModel reader uses the message readers for
 * the graphs and function bodies it finds inside a MetaGraphDef.
 *
 * Every length, count and size is checked against its message and against
 * the limits below; an error names the source, the node, the attr and the
 * field, and what was expected. Strings are copied into the graph's arena
 * (NUL-terminated); tensor values are expanded into the dense form of
 * nn_tf_tensor (see nn_tf_read_tensor).
 */

#include <stddef.h>
#include <stdint.h>

#include "nn/format/tf_graph.h"

/* Largest tensor a reader expands (its dense bytes), unless the reader says less. */
#define NN_TF_MAX_TENSOR_BYTES ((size_t)2 << 30)
/* Most bytes one reader allocates in all (strings, lists, tensor values), unless it says less. */
#define NN_TF_MAX_TOTAL_BYTES ((size_t)4 << 30)
/* How deep NameAttrList -> AttrValue -> NameAttrList ... may nest. */
#define NN_TF_MAX_DEPTH 16
/* Most nodes in a graph, inputs or attrs in a node, and values in a list attr. */
#define NN_TF_MAX_NODES (1 << 22)
#define NN_TF_MAX_ITEMS (1 << 20)

/* Where a read puts things, what it may allocate, and where it reports. */
typedef struct nn_tf_reader {
	nn_tf_graph *g;             /* the arena everything read goes into */
	const char *source;         /* the file, first in every message */
	const char *scope;          /* optional, after the source: "function __inference_f_12" */
	/*
	 * With borrow set, tensor_content whose bytes are aligned to their
	 * element size is not copied: the tensor points into the input, which
	 * must then outlive every use of the graph.
	 */
	int borrow;
	size_t max_tensor_bytes;    /* 0: NN_TF_MAX_TENSOR_BYTES */
	size_t max_total_bytes;     /* 0: NN_TF_MAX_TOTAL_BYTES */
	size_t total_bytes;         /* bytes allocated so far; every read adds to it */
	char *err;
	size_t errlen;
} nn_tf_reader;

/*
 * Each reader returns 0, or a negative NN_ERR_* (NN_ERR_FORMAT for a
 * malformed message, NN_ERR_UNSUPPORTED for a rank past NN_MAX_RANK,
 * NN_ERR_NOMEM when out of memory or past max_total_bytes) with the
 * message in r->err. `what` is how messages name the
 * thing read ("node 'conv1' attr 'value'"), NULL for none.
 */

/*
 * A NodeDef: name, op, inputs and attrs. The name and op must be non-empty;
 * inputs are kept as written ("n", "n:1", "^n"); the device is read and
 * dropped.
 */
int nn_tf_read_node(nn_tf_reader *r, const void *data, size_t len, nn_tf_node *out);

/* An AttrValue, every case of its oneof. out->name is left as the caller set it. */
int nn_tf_read_attr(nn_tf_reader *r, const void *data, size_t len, const char *what, nn_tf_attr *out);

/* One entry of a map<string, AttrValue> (NodeDef.attr, FunctionDef.attr, NameAttrList.attr): name and value. */
int nn_tf_read_attr_entry(nn_tf_reader *r, const void *data, size_t len, const char *what, nn_tf_attr *out);

/*
 * A TensorProto as a dense tensor. tensor_content must hold exactly the
 * shape's elements; the repeated value fields (packed or not) may hold
 * fewer, and the last one fills the rest (one value is a scalar broadcast,
 * none is zeros), but never more. half_val holds float16 and bfloat16 bits;
 * int_val the 8-, 16- and 32-bit integers and the quantized types.
 *
 * dtype string: data points to `elements` nn_tf_string. A dtype the reader
 * holds no values of (complex, resource, variant, the float8 and int4
 * types, strings in tensor_content) keeps its dtype and shape with data
 * NULL, so that the builder can name it if a node it maps uses it.
 */
int nn_tf_read_tensor(nn_tf_reader *r, const void *data, size_t len, const char *what, nn_tf_tensor *out);

/*
 * A TensorShapeProto: *rank is -1 for unknown_rank, dims of -1 are
 * unknown. Ranks past NN_MAX_RANK are refused. dims has room for NN_MAX_RANK.
 */
int nn_tf_read_shape(nn_tf_reader *r, const void *data, size_t len, const char *what, int *rank, int64_t *dims);

/* What a GraphDef holds besides its nodes. */
typedef struct nn_graphdef_info {
	int producer, min_consumer;  /* versions (VersionDef), 0 when absent */
	/* The FunctionDefLibrary's bytes, a view into the input, or NULL (len 0) when there is none. */
	const uint8_t *library;
	size_t library_len;
} nn_graphdef_info;

/*
 * A GraphDef's nodes into r->g (g->nodes, g->n_nodes, in file order). Node
 * names must be unique. info may be NULL.
 */
int nn_graphdef_read(nn_tf_reader *r, const void *data, size_t len, nn_graphdef_info *info);

/* Whether the bytes look like a GraphDef: a first field that is node (1) or library (2), length-delimited. */
int nn_graphdef_sniff(const void *data, size_t len);

/* As nn_graphdef_load, for a file already in memory (data stays the caller's; path names it in messages). */
int nn_graphdef_load_buffer(nn_graph **out, const void *data, size_t len, const char *path,
			    const nn_tf_build_options *o, char *err, size_t errlen);

/* Largest frozen graph file nn_graphdef_load reads. */
#define NN_GRAPHDEF_MAX_FILE ((size_t)2 << 30)

/*
 * Loads a frozen GraphDef file: reads it, builds the TensorFlow graph and
 * maps it onto the IR with nn_tf_build. o may be NULL; its source is set to
 * path.
 */
int nn_graphdef_load(nn_graph **out, const char *path, const nn_tf_build_options *o, char *err, size_t errlen);

#endif
