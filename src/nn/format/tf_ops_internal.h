#ifndef NN_TF_OPS_INTERNAL_H
#define NN_TF_OPS_INTERNAL_H

/*
 * What the files of the TensorFlow op mapping share: tf_ops.c (the graph's
 * structure, the helpers and the op table), tf_ops_source.c (Placeholder,
 * Const, Identity, Shape), tf_ops_conv.c (convolutions, pooling, matrix
 * products, batch normalisation, Dequantize) and tf_ops_tensor.c
 * (element-wise ops, reductions, data movement). Not for other modules:
 * they call nn_tf_build (tf_graph.h).
 */

#include <stddef.h>
#include <stdint.h>

#include "nn/format/name_map.h"
#include "nn/format/tf_graph.h"
#include "nn/graph.h"

/*
 * Limits far above any real model, so that a hostile file cannot make the
 * mapping allocate absurd amounts: any one tensor, and what is evaluated at
 * load time.
 */
#define MAX_TENSOR_BYTES ((int64_t)1 << 32)
#define MAX_EVAL_ELEMENTS ((int64_t)1 << 22)
#define MAX_EVAL_DEPTH 64
#define MAX_SPLITS 4096
#define MAX_PARAM (1 << 24)

#if defined(__GNUC__)
#define PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define PRINTF(a, b)
#endif

typedef struct tfo_node {
	const nn_tf_node *src;
	const char *name, *op;
	int n_in;           /* data inputs; control inputs ("^name") are dropped */
	int *in_node;       /* the node and output port each input reads */
	int *in_port;
	int n_consumers;    /* nodes reading it, through data or control inputs */
	int needed;         /* an output depends on it (or it is an input) */
	int n_readers;      /* data inputs of needed nodes that read it; the last of them: */
	int reader, reader_slot, reader_port;
	int is_output;      /* a graph output reads it */
	int pending;        /* topological sort: inputs not yet placed */
	int n_out;          /* set when it is mapped: its outputs and their IR tensors */
	int *out;
	/*
	 * SpaceToBatchND -> convolution -> BatchToSpaceND, TensorFlow's spelling
	 * of a dilated convolution, folds into one: the convolution points to
	 * its SpaceToBatchND, and the BatchToSpaceND passes its input on.
	 */
	struct tfo_node *space_to_batch;
	int folded;
} tfo_node;

typedef struct tfo {
	const char *src;    /* the model file's name, for messages */
	char *err;
	size_t errlen;
	int failed;         /* the first message is kept: it is the cause, later ones its consequences */
	const nn_tf_graph *tg;
	const nn_tf_build_options *o;

	tfo_node *nodes;
	int n_nodes;
	const char **node_names;
	nn_name_map node_map;
	int *in_pool;
	int *order, n_order;

	int *out_node, *out_port, n_outputs; /* graph outputs */
	char **out_names;

	nn_graph *g;
	unsigned char *dead; /* IR nodes evaluated at load time, dropped at the end */
	int cap_dead;
} tfo;

typedef int (*tfo_map_fn)(tfo *c, tfo_node *n, int arg);

static inline nn_tensor *T(tfo *c, int t)
{
	return &c->g->tensors[t];
}

/* The kinds of convolution tfo_map_conv maps (its arg). */
enum { CONV_PLAIN, CONV_FUSED, DW_PLAIN, DW_FUSED };

/*
 * Helpers (tf_ops.c). Those that fail write the message (the first one
 * wins) and return a negative NN_ERR_* code; those that add a tensor
 * return its index.
 */
PRINTF(3, 4) int tfo_fail(tfo *c, int code, const char *fmt, ...);
PRINTF(4, 5) int tfo_node_fail(tfo *c, const tfo_node *n, int code, const char *fmt, ...);
int tfo_nomem(tfo *c);
const char *tfo_shape_str(int rank, const int *shape, char *buf, size_t len);
const char *tfo_tshape(const nn_tensor *t, char *buf, size_t len);
char *tfo_join_name(const char *base, const char *suffix);
const nn_tf_attr *tfo_attr_get(const tfo_node *n, const char *key);
int tfo_attr_int(tfo *c, const tfo_node *n, const char *key, int64_t def, int64_t lo, int64_t hi, int64_t *out);
int tfo_attr_bool(tfo *c, const tfo_node *n, const char *key, int def, int *out);
int tfo_attr_float(tfo *c, const tfo_node *n, const char *key, float def, float *out);
int tfo_attr_string(tfo *c, const tfo_node *n, const char *key, char *buf, size_t cap, int *present);
int tfo_attr_ints(tfo *c, const tfo_node *n, const char *key, int64_t *vals, int max, int *count);
const char *tfo_dt_spelling(nn_tf_dtype dt, char *buf, size_t len);
int tfo_ir_dtype(nn_tf_dtype t, nn_dtype *dt);
int tfo_attr_dtype(tfo *c, const tfo_node *n, const char *key, int required, nn_dtype *dt);
int tfo_add_tensor(tfo *c, const tfo_node *n, const char *name, nn_dtype dt, int rank, const int64_t *shape);
int tfo_add_like(tfo *c, const tfo_node *n, const char *name, nn_dtype dt, int like);
int tfo_add_temp(tfo *c, const tfo_node *n, const char *suffix, nn_dtype dt, int rank, const int64_t *shape);
int tfo_init_outputs(tfo *c, tfo_node *n, int count);
int tfo_out_tensor(tfo *c, tfo_node *n, int k, nn_dtype dt, int rank, const int64_t *shape);
int tfo_mark_dead(tfo *c, int i);
int tfo_add_node(tfo *c, const tfo_node *n, nn_op op, int n_in, const int *in, int n_out, const int *out, nn_node **node);
int tfo_add_node1(tfo *c, const tfo_node *n, nn_op op, int n_in, const int *in, int out, nn_node **node);
int tfo_producer_of(const tfo *c, int t);
int tfo_want_inputs(tfo *c, const tfo_node *n, int lo, int hi);
int tfo_input_tensor(tfo *c, const tfo_node *n, int k, int *t);
int tfo_input_of(tfo *c, const tfo_node *n, int k, int dt, int rank, int *t);
int tfo_make_const(tfo *c, const tfo_node *who, int t, const char *what, int depth);
int tfo_const_computable(const tfo *c, int t, int *budget);
int tfo_const_ints(tfo *c, const tfo_node *n, int k, const char *what, int64_t *vals, int max, int *count);
int tfo_const_int(tfo *c, const tfo_node *n, int k, const char *what, int64_t *v);
int tfo_norm_axis(tfo *c, const tfo_node *n, int64_t axis, int rank, const char *what, int *out);
/* A new constant float32 tensor named after n with suffix, holding vals (or zeros when NULL). */
int tfo_const_f32(tfo *c, const tfo_node *n, const char *suffix, int rank, const int64_t *shape, const float *vals);
/* The index of node x among the graph's nodes. */
static inline int tfo_index(const tfo *c, const tfo_node *x)
{
	return (int)(x - c->nodes);
}
/* The one node that reads output 0 of n (as its input `*slot`), or NULL when there are none or several readers. */
tfo_node *tfo_sole_reader(tfo *c, const tfo_node *n, int *slot);
/* Refuses data_format other than NHWC (tf_ops_conv.c). */
int tfo_check_nhwc(tfo *c, const tfo_node *n);
const nn_tf_tensor *tfo_const_value(tfo *c, const tfo_node *n);
int tfo_broadcast(tfo *c, const tfo_node *n, const nn_tensor *a, const nn_tensor *b, int *rank, int64_t *shape);
int tfo_emit_reshape(tfo *c, tfo_node *n, int x, int rank, const int64_t *shape);

/* Folds the SpaceToBatchND before conv and the BatchToSpaceND after it into p (tf_ops_conv.c); sets oshape's H and W. */
int tfo_fold_space_to_batch(tfo *c, tfo_node *conv, const nn_tensor *xi, int kh, int kw, nn_conv_params *p,
			    int64_t oshape[4]);

/* The op mappings, one per TensorFlow op family; arg is the table's. */
int tfo_map_placeholder(tfo *c, tfo_node *n, int arg);
int tfo_map_const(tfo *c, tfo_node *n, int arg);
int tfo_map_identity(tfo *c, tfo_node *n, int arg);
int tfo_map_shape(tfo *c, tfo_node *n, int arg);
int tfo_map_conv(tfo *c, tfo_node *n, int kind);
int tfo_map_deconv(tfo *c, tfo_node *n, int arg);
int tfo_map_pool(tfo *c, tfo_node *n, int max);
int tfo_map_space_to_batch(tfo *c, tfo_node *n, int arg);
int tfo_map_batch_to_space(tfo *c, tfo_node *n, int arg);
int tfo_map_batch_norm(tfo *c, tfo_node *n, int n_outputs);
int tfo_map_matmul(tfo *c, tfo_node *n, int arg);
int tfo_map_dequantize(tfo *c, tfo_node *n, int arg);
int tfo_map_binary(tfo *c, tfo_node *n, int op_arg);
int tfo_map_bias_add(tfo *c, tfo_node *n, int arg);
int tfo_map_unary(tfo *c, tfo_node *n, int op_arg);
int tfo_map_prelu(tfo *c, tfo_node *n, int arg);
int tfo_map_cast(tfo *c, tfo_node *n, int arg);
int tfo_map_mean(tfo *c, tfo_node *n, int arg);
int tfo_map_resize(tfo *c, tfo_node *n, int op_arg);
int tfo_map_concat(tfo *c, tfo_node *n, int arg);
int tfo_map_reshape(tfo *c, tfo_node *n, int arg);
int tfo_map_squeeze(tfo *c, tfo_node *n, int arg);
int tfo_map_expand_dims(tfo *c, tfo_node *n, int arg);
int tfo_map_pad(tfo *c, tfo_node *n, int v2);
int tfo_map_transpose(tfo *c, tfo_node *n, int arg);
int tfo_map_split(tfo *c, tfo_node *n, int v);
int tfo_map_strided_slice(tfo *c, tfo_node *n, int arg);
int tfo_map_gather(tfo *c, tfo_node *n, int v2);
int tfo_map_topk(tfo *c, tfo_node *n, int arg);
int tfo_map_sparse_to_dense(tfo *c, tfo_node *n, int arg);
int tfo_map_math(tfo *c, tfo_node *n, int arg);
int tfo_map_softmax(tfo *c, tfo_node *n, int arg);
int tfo_map_add_n(tfo *c, tfo_node *n, int arg);
int tfo_map_pack(tfo *c, tfo_node *n, int unpack);
int tfo_map_slice(tfo *c, tfo_node *n, int arg);

/* tfo_map_math's arg. */
enum { M_SQUARE, M_SQRT, M_RSQRT, M_NEG, M_ABS };

#endif
