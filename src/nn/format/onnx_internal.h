#ifndef NN_ONNX_INTERNAL_H
#define NN_ONNX_INTERNAL_H

/*
 * What the files of the ONNX loader share: onnx.c (the protobuf messages,
 * the graph's structure, helpers), onnx_eval.c (values known at load time:
 * shape subgraphs) and onnx_ops.c / onnx_ops_nn.c (the op mappings). Not for
 * other modules: they call onnx.h.
 *
 * Tensors keep ONNX's layout (NCHW) in the IR; the ops that need NHWC
 * (convolutions, pooling, resizing, depth/space moves) are emitted between
 * two TRANSPOSEs, which the layout pass cancels between neighbours.
 */

#include <stddef.h>
#include <stdint.h>

#include "nn/format/name_map.h"
#include "nn/format/pb.h"
#include "nn/graph.h"

#if defined(__GNUC__)
#define OX_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define OX_PRINTF(a, b)
#endif

/* Limits far above real models, so that a hostile file cannot make the loader allocate absurd amounts. */
#define OX_MAX_TENSOR_ELEMENTS ((int64_t)1 << 30)
#define OX_MAX_EVAL_ELEMENTS ((int64_t)1 << 24)
#define OX_MAX_ITEMS (1 << 22)
#define OX_MAX_DIM ((int64_t)1 << 30)

/* ONNX TensorProto.DataType values. */
enum {
	OX_UNDEFINED = 0, OX_FLOAT = 1, OX_UINT8 = 2, OX_INT8 = 3, OX_UINT16 = 4, OX_INT16 = 5, OX_INT32 = 6,
	OX_INT64 = 7, OX_STRING = 8, OX_BOOL = 9, OX_FLOAT16 = 10, OX_DOUBLE = 11, OX_UINT32 = 12, OX_UINT64 = 13,
	OX_BFLOAT16 = 16,
};

/* AttributeProto.AttributeType values. */
enum { OX_A_FLOAT = 1, OX_A_INT = 2, OX_A_STRING = 3, OX_A_TENSOR = 4, OX_A_GRAPH = 5, OX_A_FLOATS = 6, OX_A_INTS = 7 };

/*
 * A value known at load time (an initializer, a Constant, or what a shape
 * subgraph computes): floating types as float32, the others as int64.
 */
typedef struct ox_val {
	int dtype;                 /* ONNX data type */
	int rank;
	int64_t dims[NN_MAX_RANK];
	int64_t n;                 /* elements */
	float *f;                  /* FLOAT, FLOAT16, DOUBLE, BFLOAT16 */
	int64_t *i;                /* the integer types and BOOL */
} ox_val;

static inline int ox_is_float(int dtype)
{
	return dtype == OX_FLOAT || dtype == OX_FLOAT16 || dtype == OX_DOUBLE || dtype == OX_BFLOAT16;
}

/* The integer dtypes the reference kernels compute on directly (math_ops.c): uint8, int8, int16, int32, int64. */
static inline int ox_plain_int(nn_dtype dt)
{
	return dt == NN_U8 || dt == NN_I8 || dt == NN_I16 || dt == NN_I32 || dt == NN_I64;
}

typedef struct ox_attr {
	const char *name;
	int type;
	float f;
	int64_t i;
	const char *s;              /* NUL-terminated copy */
	int n;                      /* FLOATS / INTS count */
	float *floats;
	int64_t *ints;
	ox_val *t;                  /* TENSOR */
} ox_attr;

typedef struct ox_node {
	const char *name, *op, *domain;
	int n_in, n_out, n_attr;
	const char **in, **out;     /* "" for an absent optional input */
	ox_attr *attr;
	int pending;                /* topological sort */
	int fused;                  /* mapped with an earlier node (onnx_qdq.c) */
} ox_node;

/* A named value of the graph: an IR tensor, a value known at load time, or both. */
typedef struct ox_value {
	int t;                      /* IR tensor, -1 when not made yet */
	ox_val *c;                  /* NULL when known only at run time */
	int poisoned;               /* produced by a node that could not be mapped */
	int producer;               /* ONNX node index, -1 for inputs and initializers */
	/*
	 * A reshape not emitted yet: tensor lz_src seen with lz_shape. It becomes
	 * a RESHAPE when something reads it, so that chains of reshapes become
	 * one and a reshape back to the source's shape none.
	 */
	int lz_src, lz_rank;
	int lz_shape[NN_MAX_RANK];
} ox_value;

/* Whether the value has a tensor, made or pending. */
static inline int ox_has_value(const ox_value *v)
{
	return v->t >= 0 || v->c || v->lz_src >= 0;
}

typedef struct ox_block ox_block;

typedef struct ox {
	const char *src;
	char *err;
	size_t errlen;
	int failed;
	ox_block *arena;
	size_t arena_total;

	nn_graph *g;
	int opset;                  /* the default domain's version */
	int ms_opset;               /* com.microsoft's, 0 when not imported */
	int input_w, input_h;       /* what the caller gave for dynamic sizes, 0 when not */
	int n_consts;               /* graph inputs given as constants (nn_onnx_options) */
	const void *const *const_data;
	const size_t *const_len;
	int meta_w, meta_h;         /* from metadata_props imgsz */

	ox_node *nodes;
	int n_nodes;
	int *order;                 /* topological order */

	const char **names;         /* per value */
	ox_value *vals;
	int n_vals, cap_vals;
	nn_name_map map;
	size_t map_cap_n;

	const ox_node *cur;         /* the node being mapped, for messages */
	int n_unsupported;
	char unsupported_msg[512];
	char unsupported_list[512];
	const char **qdq_outs;      /* the graph's output names (onnx_qdq.c) */
	int n_qdq_outs;
} ox;

/* onnx.c: messages, memory, values, IR helpers. Failing helpers write the first message and return a negative code. */
OX_PRINTF(3, 4) int ox_fail(ox *c, int code, const char *fmt, ...);
/* A failure naming the current node: "SRC: node 'NAME' (OP): ...". */
OX_PRINTF(3, 4) int ox_nfail(ox *c, int code, const char *fmt, ...);
/* Records what the loader does not support about the current node (all are listed at the end); returns 1. */
OX_PRINTF(2, 3) int ox_unsupported(ox *c, const char *fmt, ...);
void *ox_alloc(ox *c, size_t bytes);
char *ox_strndup(ox *c, const char *s, size_t len);
const ox_attr *ox_attr_get(const ox_node *n, const char *name);
int64_t ox_attr_i(const ox_node *n, const char *name, int64_t def);
float ox_attr_f(const ox_node *n, const char *name, float def);
const char *ox_attr_s(const ox_node *n, const char *name, const char *def);
/* The INTS attribute's values (at most max), count in *n (0 when absent); -1 with a message when too many. */
int ox_attr_ints(ox *c, const ox_node *n, const char *name, int64_t *v, int max, int *count);

/* The value named name, creating it when create is set; -1 when absent (or out of memory). */
int ox_value_find(ox *c, const char *name, int create);
/* Input k of the current node: its value, or NULL when the input is absent. */
ox_value *ox_in(ox *c, const ox_node *n, int k);
/* The load-time value of input k, or NULL when it is absent or known only at run time. */
ox_val *ox_in_const(ox *c, const ox_node *n, int k);
/* The IR tensor of input k (constants are materialised); -1 with a message when the input is absent. */
int ox_in_tensor(ox *c, const ox_node *n, int k);
/* The IR tensor of value i (pending reshapes and constants made now), or a negative error. */
int ox_value_tensor(ox *c, int i);
/* Binds output k to a pending reshape of tensor src (no node yet; see ox_value). */
int ox_bind_lazy(ox *c, const ox_node *n, int k, int src, int rank, const int *shape);
/* Makes an IR tensor for a value known at load time. */
int ox_const_tensor(ox *c, const ox_val *v, const char *name);
/* A new float32 constant IR tensor. */
int ox_const_f32(ox *c, const char *name, int rank, const int *shape, const float *vals);
/* A new IR tensor named name (copied). */
int ox_tensor(ox *c, const char *name, nn_dtype dt, int rank, const int *shape);
/* A temporary IR tensor named after the node's first output with suffix. */
int ox_temp(ox *c, const ox_node *n, const char *suffix, nn_dtype dt, int rank, const int *shape);
/* Output k of the node as a new IR tensor of that name and shape (bound to the value). */
int ox_out_tensor(ox *c, const ox_node *n, int k, nn_dtype dt, int rank, const int *shape);
/* Binds output k to an existing IR tensor (Identity, Dropout). */
int ox_bind_out(ox *c, const ox_node *n, int k, int t);
/* Binds output k to a value known at load time (takes ownership; it lives in the arena). */
int ox_bind_const(ox *c, const ox_node *n, int k, ox_val *v);
nn_node *ox_emit(ox *c, const ox_node *n, nn_op op, int n_in, const int *in, int n_out, const int *out);
/* out = TRANSPOSE(x, perm), a new tensor with suffix. */
int ox_transpose(ox *c, const ox_node *n, int x, const int *perm, const char *suffix);
/* out = RESHAPE(x) to the shape, into out (a new tensor when out < 0). */
int ox_reshape(ox *c, const ox_node *n, int x, int rank, const int *shape, int out);
int ox_dtype_to_nn(int onnx_dtype, nn_dtype *dt);
int ox_nn_to_dtype(nn_dtype dt);
const char *ox_dtype_name(int onnx_dtype);
nn_tensor *ox_T(ox *c, int t);

/* onnx_eval.c: allocation and ONNX semantics over load-time values. */
ox_val *ox_val_new(ox *c, int dtype, int rank, const int64_t *dims);
double ox_val_get(const ox_val *v, int64_t k);
int64_t ox_val_int(const ox_val *v, int64_t k);
/* Evaluates the current node at load time when every input is known and the op is one the evaluator knows: 1 done, 0 not evaluable, <0 error. */
int ox_eval_node(ox *c, const ox_node *n);
int ox_broadcast_dims(ox *c, int ra, const int64_t *a, int rb, const int64_t *b, int *rank, int64_t *out);
int ox_slice_resolve(ox *c, int rank, const int64_t *dims, int n_ax, const int64_t *starts, const int64_t *ends,
		     const int64_t *axes, const int64_t *steps, int64_t *begin, int64_t *step, int64_t *count);
int ox_reshape_dims(ox *c, const ox_node *n, int rank, const int64_t *dims, const ox_val *shape, int *out_rank,
		    int64_t *out);
int ox_squeeze_axes(ox *c, const ox_node *n, int64_t *axes, int *count);
int ox_squeeze_dims(ox *c, const ox_node *n, int unsqueeze, int rank, const int64_t *dims, int *out_rank, int64_t *out);
/* Normalises an axis against rank (negative counts from the end); -1 with a message when out of range. */
int ox_axis(ox *c, int64_t axis, int rank, int *out);

/* onnx_ops.c: maps the current node onto the IR: 0 done, 1 unsupported (recorded), <0 error. */
int ox_map_node(ox *c, const ox_node *n);
/* Whether the loader knows the op (for the unsupported list before mapping). */
int ox_op_known(const char *domain, const char *op);

/* onnx_ops_nn.c: convolutions, pooling, resizing and normalisation (NHWC between transposes). */
int ox_map_conv(ox *c, const ox_node *n);
int ox_map_conv_transpose(ox *c, const ox_node *n);
int ox_map_pool(ox *c, const ox_node *n);
int ox_map_pool3d(ox *c, const ox_node *n); /* onnx_ops_pool3d.c: rank-5 MaxPool and AveragePool */
int ox_map_global_pool(ox *c, const ox_node *n);
int ox_map_resize(ox *c, const ox_node *n);
int ox_map_batchnorm(ox *c, const ox_node *n);
int ox_map_instancenorm(ox *c, const ox_node *n);
int ox_map_depth_space(ox *c, const ox_node *n);
int ox_map_gemm(ox *c, const ox_node *n);
int ox_map_matmul(ox *c, const ox_node *n);
/* onnx_ops_nms.c: NonMaxSuppression (an op table entry: arg unused). */
int ox_map_nms(ox *c, const ox_node *n, int arg);
/* Conv's window and layout moves, for onnx_ops_q.c (see there). */
int ox_conv_window(ox *c, const ox_node *n, int x, int64_t kh, int64_t kw, nn_conv_params *p, int *xh, int *spatial,
		   int *oh, int *ow);
int ox_conv_nchw(ox *c, const ox_node *n, int y, int spatial);

/* onnx_ops_q.c: matrix products of run-time operands and the quantized ops (arg: which op, for the table). */
int ox_map_batch_matmul(ox *c, const ox_node *n);
enum { OX_Q_DYNQUANT, OX_Q_MATMUL_INTEGER, OX_Q_QLINEAR_MATMUL, OX_Q_CONV_INTEGER, OX_Q_QLINEAR_CONV };
int ox_map_qop(ox *c, const ox_node *n, int which);
/* onnx_ops_msq.c: com.microsoft's QLinear ops (arg: which); ox_q_follow quantizes what nodes from first made from x like x. */
enum { OX_MSQ_ADD, OX_MSQ_MUL, OX_MSQ_SIGMOID, OX_MSQ_LEAKY_RELU, OX_MSQ_GLOBAL_AVG, OX_MSQ_AVG_POOL, OX_MSQ_CONCAT };
int ox_map_msq(ox *c, const ox_node *n, int which);
int ox_q_follow(ox *c, int first, int x);
/* onnx_qdq.c: QDQ groups as quantized ops. ox_qdq_map returns 0 when n starts none, 2 when mapped. */
void ox_qdq_scan(ox *c, nn_pb graph);
int ox_qdq_map(ox *c, ox_node *n);
void ox_qdq_prune(ox *c);

/* onnx_ops_int.c: integer Clip; Dropout with its mask, ratio and training_mode. */
int ox_map_clip_int(ox *c, const ox_node *n);
int ox_map_dropout(ox *c, const ox_node *n);
/* Pow of an integer base a with an exponent b of another type (tensors): the result has a's type. */
int ox_map_pow_int(ox *c, const ox_node *n, int a, int b);
/* Or (xor 0) and Xor (xor 1) of bool tensors. */
int ox_map_logic(ox *c, const ox_node *n, int xor);
/* onnx_ops_train.c: BatchNormalization with training_mode (the batch's statistics, and the running ones). */
int ox_map_batchnorm_training(ox *c, const ox_node *n);

/* onnx_opset.c: whether the node means at the model's opset (1 to 21) what the mapper implements: 0 yes, 1 unsupported. */
int ox_opset_check(ox *c, const ox_node *n);

static const int ox_to_nhwc[4] = { 0, 2, 3, 1 };
static const int ox_to_nchw[4] = { 0, 3, 1, 2 };

/* onnx_proto.c: the protobuf messages below the model and the graph. */

/* A graph input's ValueInfoProto: element type and dimensions (-1 for a symbolic or missing one). */
typedef struct ox_vinfo {
	const char *name;
	int elem, rank;
	int64_t dims[NN_MAX_RANK];
	const char *params[NN_MAX_RANK];
} ox_vinfo;

/* A malformed message: rc from pb.c, what names the message. */
int ox_pb_error(ox *c, int rc, const char *what);
/* A TensorProto into a load-time value; what names it in messages, *name_out gets its name. */
int ox_read_tensor(ox *c, nn_pb m, const char *what, ox_val **out, const char **name_out);
/* NodeProto index into n (inputs, outputs, name, op, domain, attributes). */
int ox_read_node(ox *c, nn_pb m, int index, ox_node *n);
/* A graph input's or output's ValueInfoProto. */
int ox_read_value_info(ox *c, nn_pb m, ox_vinfo *vi);

#endif
