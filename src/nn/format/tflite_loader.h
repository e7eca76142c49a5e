#ifndef NN_TFLITE_LOADER_H
#define NN_TFLITE_LOADER_H

/*
 * The TFLite loader's state and helpers, shared by tflite.c (the model,
 * tensors and most operators) and tflite_ops.c (shape operators and the
 * dilated-convolution fold). Every helper that fails writes one message
 * naming the file, the node and what was expected, and returns an NN_ERR code.
 */

#include <stddef.h>
#include <stdint.h>

#include "nn/format/tflite_internal.h"
#include "nn/graph.h"

/* BuiltinOperator codes the loader maps, and the ones that call other subgraphs. */
enum {
	TFL_ADD = 0,
	TFL_AVERAGE_POOL_2D = 1,
	TFL_CONCATENATION = 2,
	TFL_CONV_2D = 3,
	TFL_DEPTHWISE_CONV_2D = 4,
	TFL_DEPTH_TO_SPACE = 5,
	TFL_DEQUANTIZE = 6,
	TFL_FULLY_CONNECTED = 9,
	TFL_LOGISTIC = 14,
	TFL_MAX_POOL_2D = 17,
	TFL_MUL = 18,
	TFL_RELU = 19,
	TFL_RELU_N1_TO_1 = 20,
	TFL_RELU6 = 21,
	TFL_RESHAPE = 22,
	TFL_RESIZE_BILINEAR = 23,
	TFL_SOFTMAX = 25,
	TFL_TANH = 28,
	TFL_CUSTOM = 32,
	TFL_PAD = 34,
	TFL_BATCH_TO_SPACE_ND = 37,
	TFL_SPACE_TO_BATCH_ND = 38,
	TFL_TRANSPOSE = 39,
	TFL_MEAN = 40,
	TFL_SUB = 41,
	TFL_DIV = 42,
	TFL_SQUEEZE = 43,
	TFL_STRIDED_SLICE = 45,
	TFL_SPLIT = 49,
	TFL_CAST = 53,
	TFL_PRELU = 54,
	TFL_MAXIMUM = 55,
	TFL_ARG_MAX = 56,
	TFL_MINIMUM = 57,
	TFL_PADV2 = 60,
	TFL_TRANSPOSE_CONV = 67,
	TFL_EXPAND_DIMS = 70,
	TFL_SQRT = 75,
	TFL_SHAPE = 77,
	TFL_PACK = 83,
	TFL_UNPACK = 88,
	TFL_FLOOR_DIV = 90,
	TFL_RESIZE_NEAREST_NEIGHBOR = 97,
	TFL_LEAKY_RELU = 98,
	TFL_GATHER_ND = 107,
	TFL_QUANTIZE = 114,
	TFL_HARD_SWISH = 117,
	TFL_DENSIFY = 124,
	TFL_NON_MAX_SUPPRESSION_V4 = 120,
	TFL_NON_MAX_SUPPRESSION_V5 = 121,
	TFL_GATHER = 36,
};

/* Members of the BuiltinOptions union whose fields the loader reads (the union's type tags). */
enum {
	OPT_CONV2D = 1,
	OPT_DEPTHWISE_CONV2D = 2,
	OPT_POOL2D = 5,
	OPT_FULLY_CONNECTED = 8,
	OPT_SOFTMAX = 9,
	OPT_CONCATENATION = 10,
	OPT_ADD = 11,
	OPT_RESIZE_BILINEAR = 15,
	OPT_MUL = 21,
	OPT_REDUCER = 27,
	OPT_SUB = 28,
	OPT_DIV = 29,
	OPT_STRIDED_SLICE = 32,
	OPT_SPLIT = 35,
	OPT_CAST = 37,
	OPT_ARG_MAX = 40,
	OPT_TRANSPOSE_CONV = 49,
	OPT_PACK = 59,
	OPT_UNPACK = 64,
	OPT_RESIZE_NEAREST_NEIGHBOR = 74,
	OPT_LEAKY_RELU = 75,
	OPT_DEPTH_TO_SPACE = 94,
	OPT_GATHER = 23,
};

#define DETECTION_POSTPROCESS_CODE "TFLite_Detection_PostProcess"

/* Limits past which a model is refused rather than allocated: far above any real model. */
#define MAX_OP_IO 4096
#define MAX_PARAM 65536

typedef struct tfl_code {
	int32_t builtin;
	const char *custom; /* into the file, not NUL-terminated */
	size_t custom_len;
	int32_t version;
} tfl_code;

/* One operator of subgraph 0 while it is being mapped. */
typedef struct tfl_op {
	int idx;
	const tfl_code *code;
	char opname[96];  /* "CONV_2D", or "CUSTOM 'name'" */
	char desc[192];   /* "node 57 (output 'foo')" */
	int n_in, n_out;
	int *in, *out;
	nn__fb_table t;
} tfl_op;

/* A SpaceToBatchND waiting for its convolution and BatchToSpaceND (see tflite_ops.c). */
typedef struct nn__tfl_fold {
	int s2b_in, s2b_out;   /* tensors */
	int conv_node;         /* the convolution's node, -1 until it is mapped */
	int conv_out;          /* its output tensor as the file has it */
	int done;              /* the BatchToSpaceND has been folded in */
	int64_t block[2], pads[4];
	char desc[192];
} nn__tfl_fold;

typedef struct tfl {
	nn__fb fb;
	const char *name;
	char *err;
	size_t errlen;
	nn_graph *g;
	nn__fb_vec buffers;
	tfl_code *codes;
	uint32_t n_codes;
	int *io;           /* scratch for one operator's inputs and outputs */
	size_t budget;     /* bytes that may still be copied out of the file (names, quantization, ...) */
	size_t dense_budget; /* bytes that sparse constants may still expand into */
	int deferred;      /* first problem with a tensor, reported only when no operator is unsupported */
	char deferred_msg[384];
	int *densified;    /* sparse tensors expanded at load time, freed at the end if no node reads them */
	int n_densified;
	int n_unsupported; /* operators we lack: the first is named with its node, the rest listed */
	char unsupported_msg[384];
	char unsupported_list[256];
	nn__tfl_fold *folds; /* dilated convolutions being folded */
	int n_folds, cap_folds;
	nn__fb_vec tensor_tables; /* SubGraph.tensors, for fields read after the load of tensors (shape_signature) */
	unsigned char *dyn;  /* tensors whose file shape was a placeholder, resized at load time */
	int n_dyn;
} tfl;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
int nn__tfl_fail(tfl *c, int code, const char *fmt, ...);
int nn__tfl_charge(tfl *c, size_t bytes);
const char *nn__tfl_tensor_desc(const tfl *c, int i, char *buf, size_t n);
const char *nn__tfl_shape_str(const nn_tensor *t, char *buf, size_t n);
int nn__tfl_get_options(tfl *c, tfl_op *o, int expected, nn__fb_table *opt);
int nn__tfl_get_int(tfl *c, tfl_op *o, const nn__fb_table *opt, int id, int32_t def, const char *what, int lo, int hi,
		    int *out);
int nn__tfl_get_bool(tfl *c, tfl_op *o, const nn__fb_table *opt, int id, int *out);
int nn__tfl_get_act(tfl *c, tfl_op *o, const nn__fb_table *opt, int id, nn_activation *act);
int nn__tfl_get_padding(tfl *c, tfl_op *o, const nn__fb_table *opt, int id, nn_padding *pad);
int nn__tfl_want_io(tfl *c, tfl_op *o, int min_in, int max_in, int n_out);
int nn__tfl_const_ints(tfl *c, tfl_op *o, int tensor, const char *what, int64_t *vals, int max, int *n);
void nn__tfl_unsupported(tfl *c, tfl_op *o);

/*
 * Appends a node for operator o (named after its first output) reading
 * n_ins tensors and writing n_outs, with the parameters of tmpl. Returns 0
 * or an error; *node (when given) is the new node.
 */
int nn__tfl_add_node(tfl *c, tfl_op *o, nn_op op, const nn_node *tmpl, const int *ins, int n_ins, const int *outs,
		     int n_outs, nn_node **node);

/* Sparse constants (tflite_sparse.c): t's SparsityParameters st over its stored values, expanded into dense data. */
int nn__tfl_densify_tensor(tfl *c, nn_tensor *t, const nn__fb_table *st, const uint8_t *data, size_t n, const char *d);
/* After loading: densified inputs that no node reads any more give their memory back. 0 or an error. */
int nn__tfl_release_densified(tfl *c);
/* DENSIFY: its output becomes a copy of the already dense input. 0 or an error. */
int nn__tfl_map_densify(tfl *c, tfl_op *o);

/* TFLite_Detection_PostProcess, its FlexBuffers options into tmpl's parameters (tflite_detpp.c): 0 or an error. */
int nn__tfl_map_detection_postprocess(tfl *c, tfl_op *o, nn_node *tmpl);

/* Operators mapped in tflite_ops.c; each returns 0 or an error. */
int nn__tfl_map_transpose(tfl *c, tfl_op *o);
int nn__tfl_map_strided_slice(tfl *c, tfl_op *o);
int nn__tfl_map_shape(tfl *c, tfl_op *o);
int nn__tfl_map_space_to_batch(tfl *c, tfl_op *o);
int nn__tfl_map_batch_to_space(tfl *c, tfl_op *o);
/* NON_MAX_SUPPRESSION_V4 and V5 (tflite_nms.c). */
int nn__tfl_map_nms(tfl *c, tfl_op *o);
/* After a convolution's node is added: takes it into a pending SpaceToBatchND fold if it reads one. */
int nn__tfl_note_conv(tfl *c, tfl_op *o, int node);
/* After a node is added: runs it at once when it computes a small integer constant. Returns 0 or an error. */
int nn__tfl_after_node(tfl *c, tfl_op *o);
/* Before operator o is mapped: replaces placeholder shapes the file leaves to run time. Returns 0 or an error. */
int nn__tfl_dynamic_shapes(tfl *c, tfl_op *o);
/* After the last operator: int8 weights read by float nodes become float constants. Returns 0 or an error. */
int nn__tfl_dequantize_weights(tfl *c);
/* After the last operator: every SpaceToBatchND must have been folded. Returns 0 or an error. */
int nn__tfl_check_folds(tfl *c);

#endif
