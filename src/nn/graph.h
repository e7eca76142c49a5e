#ifndef NN_GRAPH_H
#define NN_GRAPH_H

/*
 * The model IR shared by the loaders, the passes and the executor.
 *
 * Conventions (those of TensorFlow Lite, so its models map one to one):
 * - activations are NHWC;
 * - CONV2D filters are OHWI [out, kh, kw, in]; DEPTHWISE_CONV2D filters are
 *   [1, kh, kw, in * multiplier]; TRANSPOSE_CONV2D filters are OHWI;
 *   FULLY_CONNECTED weights are [out, in];
 * - biases of quantized convolutions are int32 with scale
 *   input_scale * filter_scale[c] and zero point 0.
 * Loaders of other formats (TF.js: HWIO filters; ONNX: NCHW) convert to these.
 */

#include "nn/nn.h"

typedef enum nn_op {
	NN_OP_ADD = 0,
	NN_OP_SUB,
	NN_OP_MUL,
	NN_OP_DIV,
	NN_OP_MAXIMUM,
	NN_OP_MINIMUM,
	NN_OP_CONCATENATION,
	NN_OP_CONV2D,
	NN_OP_DEPTHWISE_CONV2D,
	NN_OP_TRANSPOSE_CONV2D,
	NN_OP_FULLY_CONNECTED,
	NN_OP_AVERAGE_POOL2D,
	NN_OP_MAX_POOL2D,
	NN_OP_MEAN,
	NN_OP_RESHAPE,            /* also SQUEEZE and EXPAND_DIMS: the output tensor's shape is the new shape */
	NN_OP_SOFTMAX,
	NN_OP_LOGISTIC,
	NN_OP_TANH,
	NN_OP_RELU,
	NN_OP_RELU6,
	NN_OP_RELU_N1_TO_1,
	NN_OP_HARD_SWISH,
	NN_OP_LEAKY_RELU,
	NN_OP_PRELU,
	NN_OP_PAD,
	NN_OP_RESIZE_BILINEAR,
	NN_OP_RESIZE_NEAREST,
	NN_OP_QUANTIZE,           /* float -> quantized, or quantized -> quantized (requantize) */
	NN_OP_DEQUANTIZE,         /* quantized or float16 -> float32 */
	NN_OP_DETECTION_POSTPROCESS,
	/* Tensor manipulation and integer ops that TensorFlow graphs use for their in-graph post-processing. */
	NN_OP_TRANSPOSE,          /* p.transpose.perm */
	NN_OP_STRIDED_SLICE,      /* p.slice, resolved by the loader: begin/stride per dimension, output shape = extent */
	NN_OP_GATHER,             /* inputs: params, indices (int32); p.gather.axis; TF GatherV2 with batch_dims 0 */
	NN_OP_SPLIT,              /* one input (the split axis and sizes resolved by the loader); p.split.axis;
	                             output i takes the next output[i].shape[axis] entries along axis */
	NN_OP_CAST,               /* to the output tensor's dtype; float to integer truncates toward zero */
	NN_OP_TOPK,               /* last axis, sorted descending, ties to the lower index; p.topk.k;
	                             outputs: values, indices (int32) */
	NN_OP_FLOOR_DIV,          /* broadcasting; float32 and int32 (rounds toward minus infinity) */
	NN_OP_FLOOR_MOD,          /* broadcasting; result has the sign of the divisor, as TensorFlow's */
	NN_OP_EQUAL,              /* broadcasting; output NN_BOOL */
	NN_OP_SPARSE_TO_DENSE,    /* inputs: indices int32 [n] or [n,rank], output_shape (const), values [n] or
	                             scalar, default value (scalar); TensorFlow SparseToDense */
	/* Ops of TensorFlow Lite's pose and detection models (src/nn/ref/index_ops.c, ref/math_ops.c). */
	NN_OP_DEPTH_TO_SPACE,     /* NHWC; p.space.block_size; channel c of output pixel (by, bx) of a block is
	                             input channel (by * block + bx) * out_channels + c, as TensorFlow's */
	NN_OP_ARG_MAX,            /* p.arg.axis (resolved, >= 0); output int32 or int64 without that axis;
	                             ties go to the lower index */
	NN_OP_PACK,               /* n inputs of one shape stacked along new axis p.pack.axis */
	NN_OP_UNPACK,             /* one input split into n outputs along p.pack.axis, which they drop */
	NN_OP_GATHER_ND,          /* inputs params, indices (int32/int64, last dimension k <= params' rank);
	                             output indices.shape[:-1] + params.shape[k:] */
	NN_OP_SQRT,               /* float32, or quantized through real values */
	/*
	 * Ops of ONNX graphs (issue 12). Element-wise ops broadcast NumPy-style;
	 * the unary ones take float32, and uint8/int8 through real values where
	 * the kernel says so.
	 */
	NN_OP_EXP,
	NN_OP_LOG,                /* log(0) = -inf, log(<0) = NaN, as logf */
	NN_OP_NEG,                /* float32, int32, int64 */
	NN_OP_ABS,                /* float32, int32, int64 */
	NN_OP_ERF,
	NN_OP_ELU,                /* p.elu.alpha: x < 0 ? alpha * (exp(x) - 1) : x */
	NN_OP_CLAMP,              /* p.clamp.min, p.clamp.max (either may be -inf/inf): ONNX Clip */
	NN_OP_POW,                /* broadcasting, float32: powf(a, b) */
	NN_OP_REDUCE_MAX,         /* p.reduce, as MEAN */
	NN_OP_REDUCE_MIN,         /* p.reduce, as MEAN */
	NN_OP_REDUCE_SUM,         /* p.reduce, as MEAN */
	NN_OP_GREATER,            /* broadcasting; output NN_BOOL */
	NN_OP_LESS,               /* broadcasting; output NN_BOOL */
	NN_OP_LOGICAL_NOT,        /* NN_BOOL */
	NN_OP_LOGICAL_AND,        /* broadcasting NN_BOOL */
	NN_OP_SELECT,             /* inputs: condition (NN_BOOL), x, y, broadcasting: condition ? x : y (ONNX Where) */
	NN_OP_TILE,               /* output dimension d repeats the input (output.shape[d] / input.shape[d]) times */
	NN_OP_BROADCAST_TO,       /* the input broadcast NumPy-style to the output's shape (ONNX Expand) */
	NN_OP_GATHER_ELEMENTS,    /* inputs: data, indices (int32/int64, data's rank; negative counts from the end);
	                             p.gather.axis; output has the indices' shape */
	NN_OP_SPACE_TO_DEPTH,     /* NHWC; p.space.block_size; the inverse of DEPTH_TO_SPACE's order */
	NN_OP_SILU,               /* x * sigmoid(x) (swish), float32 or quantized through real values; made by
	                             pass/fuse.c from LOGISTIC feeding a MUL with the same x */
	/*
	 * ONNX's matrix, quantized, suppression and cubic-resize ops (issue 12,
	 * second part). Declared here once; each helper branch owns the kernels
	 * and loaders of its ops.
	 */
	NN_OP_BATCH_MATMUL,       /* inputs A [..., M, K], B [..., K, N], batch dimensions broadcast NumPy-style;
	                             float32; int8/uint8 A and B with int32 output (ONNX MatMulInteger: optional
	                             inputs 2 and 3 are A's and B's zero points); or quantized A, B and output */
	NN_OP_NON_MAX_SUPPRESSION,/* ONNX NonMaxSuppression: inputs boxes [B, N, 4] float32, scores [B, C, N]
	                             float32; p.nms; output int64 rows (batch, class, box) whose count is set
	                             at run time (the output's shape[0] is its capacity) */
	NN_OP_DYNAMIC_QUANTIZE,   /* ONNX DynamicQuantizeLinear: input float32; outputs y uint8, scale (float32
	                             scalar) and zero point (uint8 scalar), from the input's range at run time */
	NN_OP_RESIZE_CUBIC,       /* as RESIZE_BILINEAR with ONNX's cubic interpolation: p.resize.cubic_a,
	                             p.resize.exclude_outside */
	NN_OP_NMS_PADDED,         /* TFLite NON_MAX_SUPPRESSION_V4/V5: boxes [N, 4], scores [N], max_output_size,
	                             iou and score thresholds[, soft_nms_sigma]; outputs int32 indices [M][, float32
	                             scores [M]], int32 valid count; see ref/nms_padded.c */
	NN_OP_COUNT,
} nn_op;

typedef enum nn_padding {
	NN_PADDING_VALID = 0,
	NN_PADDING_SAME,          /* TensorFlow SAME: extra padding goes to the bottom/right */
	NN_PADDING_EXPLICIT,      /* pad_* fields below */
} nn_padding;

/* Activation fused into the op that produces the tensor. */
typedef enum nn_activation {
	NN_ACT_NONE = 0,
	NN_ACT_RELU,
	NN_ACT_RELU6,
	NN_ACT_RELU_N1_TO_1,
	NN_ACT_SILU,              /* x * sigmoid(x); float32 CONV2D and DEPTHWISE_CONV2D only (pass/fuse.c) */
} nn_activation;

typedef struct nn_conv_params {
	int stride_h, stride_w;
	int dilation_h, dilation_w;
	nn_padding padding;
	int pad_top, pad_bottom, pad_left, pad_right;
	int depth_multiplier;     /* DEPTHWISE_CONV2D */
	nn_activation act;
} nn_conv_params;

typedef struct nn_pool_params {
	int filter_h, filter_w;
	int stride_h, stride_w;
	nn_padding padding;
	int pad_top, pad_bottom, pad_left, pad_right;
	nn_activation act;
	int dilation_h, dilation_w; /* ONNX's dilations (reference kernel only); 0 = 1 */
	/*
	 * MAX_POOL2D's optional second output (int64, the output's shape): each
	 * maximum's flat index into the input read as NCHW, ONNX MaxPool's
	 * Indices; with indices_col_major (storage_order 1) h and w swap roles.
	 */
	int indices_col_major;
} nn_pool_params;

typedef struct nn_detection_postprocess_params {
	int max_detections;
	int max_classes_per_detection;
	int detections_per_class;
	int use_regular_nms;
	float nms_score_threshold;
	float nms_iou_threshold;
	int num_classes;
	float y_scale, x_scale, h_scale, w_scale;
} nn_detection_postprocess_params;

/*
 * How RESIZE_* maps an output coordinate x to the input, with scale = in / out
 * (ONNX's coordinate_transformation_mode). NN_RESIZE_TF (zero, so every
 * TensorFlow loader keeps its meaning) follows the node's align_corners and
 * half_pixel_centers flags with TensorFlow's rules.
 */
typedef enum nn_resize_coord {
	NN_RESIZE_TF = 0,
	NN_RESIZE_HALF_PIXEL,          /* (x + 0.5) * scale - 0.5 */
	NN_RESIZE_PYTORCH_HALF_PIXEL,  /* as HALF_PIXEL, but 0 when the output has one pixel */
	NN_RESIZE_ALIGN_CORNERS,       /* x * (in - 1) / (out - 1) */
	NN_RESIZE_ASYMMETRIC,          /* x * scale */
	NN_RESIZE_TF_HALF_PIXEL_FOR_NN,/* (x + 0.5) * scale */
	NN_RESIZE_TF_CROP_AND_RESIZE,  /* within p.resize.roi_*: start * (in - 1) + x * (end - start) * (in - 1) / (out - 1) */
} nn_resize_coord;

/* How PAD fills (ONNX Pad's mode). */
typedef enum nn_pad_mode {
	NN_PAD_CONSTANT = 0,           /* p.pad.value */
	NN_PAD_REFLECT,                /* mirrored without repeating the edge */
	NN_PAD_EDGE,                   /* the edge value repeated */
} nn_pad_mode;

/* How RESIZE_NEAREST rounds the mapped coordinate (ONNX's nearest_mode). */
typedef enum nn_resize_nearest {
	NN_NEAREST_TF = 0,             /* TensorFlow's rule for the node's flags */
	NN_NEAREST_ROUND_PREFER_FLOOR, /* ONNX's default */
	NN_NEAREST_ROUND_PREFER_CEIL,
	NN_NEAREST_FLOOR,
	NN_NEAREST_CEIL,
} nn_resize_nearest;

/* Which kernels run a node, chosen by the executor. */
typedef enum nn_backend {
	NN_BACKEND_REFERENCE = 0, /* ref/: plain C */
	NN_BACKEND_XNNPACK,
	NN_BACKEND_NATIVE,        /* native.h: vigil's own AVX-512 kernels */
	NN_BACKEND_COUNT
} nn_backend;

typedef struct nn_node {
	nn_op op;
	char *name;               /* for messages: the output tensor's name, or the op's */
	int n_inputs, n_outputs;
	int *inputs;              /* tensor indices; -1 = optional input absent */
	int *outputs;
	union {
		nn_activation act;    /* ADD, SUB, MUL, DIV, CONCATENATION, FULLY_CONNECTED */
		nn_conv_params conv;
		nn_pool_params pool;
		struct { int axis; nn_activation act; } concat;
		struct { nn_activation act; int keep_num_dims; } fc;
		struct { float beta; } softmax;
		struct { float alpha; } leaky_relu;
		struct { int axes[NN_MAX_RANK]; int n_axes; int keep_dims; } reduce;
		struct {
			int align_corners, half_pixel_centers;  /* TensorFlow's flags, read when coord is NN_RESIZE_TF */
			nn_resize_coord coord;
			nn_resize_nearest nearest;              /* RESIZE_NEAREST; NN_NEAREST_TF with NN_RESIZE_TF */
			/*
			 * ONNX Resize's scales when given: the coordinate mapping uses
			 * 1 / scale instead of in / out. 0 = in / out.
			 */
			float scale_h, scale_w;
			float cubic_a;                          /* RESIZE_CUBIC: the kernel's coefficient (ONNX -0.75) */
			int exclude_outside;                    /* RESIZE_CUBIC: weights of outside taps are 0, renormalised */
			/* NN_RESIZE_TF_CROP_AND_RESIZE: the crop box (normalised start, end) and the value outside it. */
			float roi_h[2], roi_w[2];
			float extrapolation;
		} resize;  /* size: the output's shape */
		struct {
			int pads[NN_MAX_RANK][2];           /* before/after per dimension */
			nn_pad_mode mode;
			float value;                        /* NN_PAD_CONSTANT: the fill, in real (dequantized) units */
		} pad;
		nn_detection_postprocess_params detpp;
		struct { int perm[NN_MAX_RANK]; } transpose;
		struct { int begin[NN_MAX_RANK]; int stride[NN_MAX_RANK]; } slice;
		struct { int axis; int negative; } gather;     /* negative: indices in [-dim, 0) count from the end (ONNX) */
		struct { int axis; } split;
		struct { int k; int smallest; } topk;           /* smallest: ascending (ONNX largest = 0) */
		struct { int block_size; } space;
		struct { int axis; int select_last; } arg;      /* select_last: ties go to the higher index */
		struct { int axis; } pack;    /* PACK and UNPACK */
		struct { float alpha; } elu;
		struct { float min, max; } clamp;
		struct {
			int max_per_class;              /* ONNX max_output_boxes_per_class; 0 = none selected */
			float iou_threshold, score_threshold;
			int center_point_box;           /* boxes are [cx, cy, w, h], else [y1, x1, y2, x2] corners */
			int has_score_threshold;        /* else every score passes */
		} nms;
	} p;

	/* Set by the executor. */
	nn_backend runs_on;
	void *backend;
} nn_node;

typedef struct nn_graph {
	nn_tensor *tensors;
	int n_tensors, cap_tensors;
	nn_node *nodes;           /* in execution order */
	int n_nodes, cap_nodes;
	int *inputs, n_inputs;
	int *outputs, n_outputs;
	char **labels;
	int n_labels;
	char *source;             /* file name, for messages */
	/* What the loader chose to run and why (a SavedModel's signature), for vigil inspect; NULL when there was no choice. */
	char *origin;
	/*
	 * Text the file carries beside the graph, as key/value pairs: an ONNX
	 * model's metadata_props verbatim; for a TFLite file, each file of a zip
	 * appended to it (Ultralytics' exports), keyed by its name. Set with
	 * nn_graph_add_metadata.
	 */
	char **meta_keys, **meta_values;
	int n_meta;
	/* The model file, kept so that constant tensors can point into it instead of being copied. */
	void *file;
	size_t file_len;
} nn_graph;

nn_graph *nn_graph_create(const char *source);
void nn_graph_free(nn_graph *g);

/* Copies a metadata pair (value of len bytes, NUL added) into the graph. Returns 0 or NN_ERR_NOMEM. */
int nn_graph_add_metadata(nn_graph *g, const char *key, const char *value, size_t len);

/* Appends a tensor (zeroed, rank 0, NN_F32) and returns its index, or -1 when out of memory. */
int nn_graph_add_tensor(nn_graph *g, const char *name);

/*
 * Appends a tensor named like tensor t with a suffix, of t's dtype, rank and
 * shape (no data, no quantization), for a pass that rewrites t. Returns its
 * index, or -1 when out of memory.
 */
int nn_graph_add_tensor_like(nn_graph *g, int t, const char *suffix);

/* Appends a node with room for the given numbers of inputs and outputs (set to -1). Returns it, or NULL. */
nn_node *nn_graph_add_node(nn_graph *g, nn_op op, int n_inputs, int n_outputs);

/* Copies scale/zero-point arrays into t. Returns 0 or NN_ERR_NOMEM. */
int nn_tensor_set_quant(nn_tensor *t, int count, int axis, const float *scale, const int32_t *zero_point);

/* Allocates zeroed data for a constant tensor from its shape and dtype. */
int nn_tensor_alloc_const(nn_tensor *t);

const char *nn_op_name(nn_op op);

/* Writes a message into err (when given) and returns code: the error path of the graph's passes and executor. */
int nn_graph_fail(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Whether tensor t is one of the graph's outputs. */
int nn_graph_is_output(const nn_graph *g, int t);

/*
 * Indexes the graph's uses for a pass: producer[t] becomes the node writing
 * tensor t (-1 for none) and readers[t] grows by the number of node inputs
 * reading it (the caller zeroes it), over the nodes not marked in removed.
 * producer and removed may be NULL. Returns the number of reads counted.
 */
int nn_graph_index_uses(const nn_graph *g, const unsigned char *removed, int *producer, int *readers);

/* Folds a PAD node's height and width amounts into a window op's padding, which becomes explicit. */
void nn_window_add_padding(nn_padding *padding, int *top, int *bottom, int *left, int *right, const nn_node *pad);

/* Whether a and b hold the same kind of numbers: same dtype and, when quantized, the same parameters. */
int nn_tensor_same_encoding(const nn_tensor *a, const nn_tensor *b);

/* Drops the nodes marked in removed[0..n_nodes) (freeing what they own), keeping the others in order. */
void nn_graph_remove_nodes(nn_graph *g, const unsigned char *removed);

/* Whether a tensor is quantized (uint8/int8/int16/int32 with a scale). */
int nn_tensor_is_quantized(const nn_tensor *t);

#endif
