#ifndef NN_H
#define NN_H

/*
 * vigil's inference engine: loads TensorFlow Lite (and later TensorFlow.js
 * and ONNX) models into one graph IR and runs them, the heavy operators on
 * XNNPACK and everything else on plain-C reference kernels. Knows nothing of
 * video or HTTP. Public names start with nn_.
 *
 * Typical use:
 *   nn_model *m;
 *   char err[256];
 *   if (nn_model_load(&m, "detect.tflite", err, sizeof err) < 0) ...
 *   if (nn_model_prepare(m, &(nn_prepare_options){ .threads = 1 }, err, sizeof err) < 0) ...
 *   memcpy(nn_model_input(m, 0)->data, pixels, nn_tensor_bytes(nn_model_input(m, 0)));
 *   nn_model_run(m, err, sizeof err);
 *   const float *boxes = nn_model_output(m, 0)->data;
 *   nn_model_free(m);
 */

#include <stddef.h>
#include <stdint.h>

#define NN_MAX_RANK 6

/* Error codes (all negative). Every failing call also writes a message naming the file, node or op. */
enum {
	NN_OK = 0,
	NN_ERR_IO = -1,          /* cannot read the file */
	NN_ERR_FORMAT = -2,      /* malformed or hostile model file */
	NN_ERR_UNSUPPORTED = -3, /* valid model, but an op, type or option we do not implement */
	NN_ERR_SHAPE = -4,       /* shapes that do not fit together */
	NN_ERR_NOMEM = -5,
	NN_ERR_BACKEND = -6,     /* XNNPACK refused or failed */
	NN_ERR_ARG = -7,         /* bad argument to an nn_ call */
};

typedef enum nn_dtype {
	NN_F32 = 0,
	NN_F16,
	NN_U8,
	NN_I8,
	NN_I16,
	NN_I32,
	NN_I64,
	NN_BOOL,
	NN_DTYPE_COUNT,
} nn_dtype;

/*
 * Affine quantization: real = scale * (q - zero_point). count == 1 is
 * per-tensor; count > 1 is per-channel along `axis` (count == shape[axis]).
 * count == 0: not quantized.
 */
typedef struct nn_quant {
	int count;
	int axis;
	float *scale;
	int32_t *zero_point;
} nn_quant;

typedef struct nn_tensor {
	char *name;
	nn_dtype dtype;
	int rank;
	int shape[NN_MAX_RANK];
	nn_quant quant;
	/*
	 * Constants: the values, set at load time. Activations, inputs and
	 * outputs: a pointer into the model's arena, valid after nn_model_prepare.
	 */
	void *data;
	int is_const;
	int owns_data;   /* data was allocated for this tensor (else it points into the file or arena) */
	/* Sparse constants (TFLite DENSIFY) and other loader-specific payloads. */
	void *aux;
	/*
	 * Rows known only at run time (ONNX NonMaxSuppression's selected_indices
	 * and what passes its row count on): shape[0] is the capacity, rows the
	 * rows the last run filled (the rest are zeros). See nn_model_output_rows.
	 */
	int dynamic_rows;
	int rows;
} nn_tensor;

typedef struct nn_model nn_model;

typedef struct nn_prepare_options {
	int threads;              /* threads of the pool XNNPACK and the native kernels share; 0 or 1 = the caller's */
	int reference_only;       /* run every node on the reference kernels (tests, debugging) */
	int no_native;            /* leave vigil's own AVX-512 kernels out: XNNPACK and reference only */
} nn_prepare_options;

/* Loads a model, choosing the loader by content (TFLite "TFL3", a TensorFlow GraphDef), else by extension. */
int nn_model_load(nn_model **out, const char *path, char *err, size_t errlen);

/* What a loader may need that some files do not say. Zeroed: nothing given. */
typedef struct nn_load_options {
	/*
	 * The spatial size of image inputs whose height and width the file leaves
	 * unknown (TensorFlow graphs with a Placeholder of shape [-1, -1, -1, 3]
	 * or none); 0 when not given. Files that fix the size ignore it.
	 */
	int input_w, input_h;
} nn_load_options;

/* nn_model_load with options (o may be NULL). */
int nn_model_load_ex(nn_model **out, const char *path, const nn_load_options *o, char *err, size_t errlen);

/* Loads a TensorFlow Lite flatbuffer already in memory (copied; buf may be freed afterwards). */
int nn_model_load_tflite_buffer(nn_model **out, const void *buf, size_t len, const char *name, char *err,
				size_t errlen);

/* Runs the graph passes, plans the arena and creates the backend operators. Call once. */
int nn_model_prepare(nn_model *m, const nn_prepare_options *opt, char *err, size_t errlen);

int nn_model_run(nn_model *m, char *err, size_t errlen);

int nn_model_input_count(const nn_model *m);
int nn_model_output_count(const nn_model *m);
nn_tensor *nn_model_input(nn_model *m, int i);
const nn_tensor *nn_model_output(const nn_model *m, int i);
/*
 * The rows of output i the last run filled: shape[0] for an ordinary output,
 * fewer for one whose row count is known only at run time (dynamic_rows); -1
 * for no such output. Rank-0 outputs count as one row.
 */
int nn_model_output_rows(const nn_model *m, int i);

/* What the loader chose to run in a model file that holds several things and why (a SavedModel's signature), or NULL. */
const char *nn_model_origin(const nn_model *m);

/*
 * Text the model file carries beside the graph (see nn_graph's meta_keys):
 * the value of key, or NULL. nn_model_metadata_at walks every pair (i from
 * 0 until it returns NULL).
 */
const char *nn_model_metadata(const nn_model *m, const char *key);
const char *nn_model_metadata_at(const nn_model *m, int i, const char **key);

/* Labels packed into the model (TFLite metadata zip), one per class, or NULL. */
const char *const *nn_model_labels(const nn_model *m, int *count);

void nn_model_free(nn_model *m);

size_t nn_dtype_size(nn_dtype t);
const char *nn_dtype_name(nn_dtype t);
int64_t nn_tensor_elements(const nn_tensor *t);
/* "float32[1,3,224,224]": the tensor's dtype and shape, for messages; returns buf. */
const char *nn_tensor_shape_str(const nn_tensor *t, char *buf, size_t len);
size_t nn_tensor_bytes(const nn_tensor *t);

#endif
