#ifndef NN_ONNX_H
#define NN_ONNX_H

/*
 * ONNX models (ModelProto, read from the protobuf wire format with pb.c)
 * mapped onto the IR. Opsets 1 to 21 of the default domain; initializers in
 * raw_data or the typed fields; metadata_props go into the graph verbatim.
 * Tensors stay NCHW between layout-sensitive ops, which are emitted in NHWC
 * between TRANSPOSEs for the layout pass to cancel. Shape subgraphs are
 * evaluated at load time. Dynamic input dimensions take the batch 1 and the
 * spatial size from the options or the metadata's imgsz.
 */

#include <stddef.h>

#include "nn/graph.h"

/* What the caller knows that the file may not say. Zeroed: nothing. */
typedef struct nn_onnx_options {
	int input_w, input_h;   /* spatial size for dynamic height/width, 0 when not given */
	/*
	 * Graph inputs to take as constants (ONNX's backend tests feed weights as
	 * inputs): n_consts TensorProto messages, each naming the input it sets.
	 */
	int n_consts;
	const void *const *const_data;
	const size_t *const_len;
} nn_onnx_options;

/*
 * A TensorProto (a test's input_0.pb) as a tensor: float types as float32,
 * the others as their IR dtype; t->data is malloc'd (the caller frees it and
 * t->name). Returns 0 or a negative NN_ERR_* with the message in err.
 */
int nn_onnx_read_tensor(const void *data, size_t len, nn_tensor *t, char *err, size_t errlen);

/* Whether the bytes look like an ONNX ModelProto (every top-level field one of its, and a graph). */
int nn_onnx_sniff(const void *data, size_t len);

/*
 * Loads a ModelProto already in memory (data stays the caller's; the graph
 * copies what it keeps). path names the file in messages. o may be NULL.
 * Returns 0 with *out set, or a negative NN_ERR_* with the message in err.
 */
int nn_onnx_load_buffer(nn_graph **out, const void *data, size_t len, const char *path, const nn_onnx_options *o,
			char *err, size_t errlen);

/* The model's opset of the default domain, producer name and version, read without building (for inspect). */
typedef struct nn_onnx_info {
	long long ir_version;
	int opset;
	char producer[64], producer_version[32];
	int n_nodes;
	char first_op[64];      /* the first node's op_type */
} nn_onnx_info;
int nn_onnx_read_info(const void *data, size_t len, nn_onnx_info *info);

#endif
