/*
 * The TensorFlow Lite loader. It reads the .tflite FlatBuffer in place, with
 * its own small reader (flatbuffer.c) instead of generated code, because the
 * file is untrusted input: every offset is checked before it is followed.
 * Field ids below are those of TensorFlow Lite's schema.fbs (schema version
 * 3). Operators beside the core ones are in tflite_ops.c, sparse constants
 * in tflite_sparse.c, TFLite_Detection_PostProcess in tflite_detpp.c.
 */
#include "nn/format/tflite.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/format/tflite_loader.h"

/* TFLite's BuiltinOperator enum, by code, for messages and `vigil inspect`. */
static const char *const builtin_names[] = {
	"ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE",
	"DEQUANTIZE", "EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED", "HASHTABLE_LOOKUP",
	"L2_NORMALIZATION", "L2_POOL_2D", "LOCAL_RESPONSE_NORMALIZATION", "LOGISTIC", "LSH_PROJECTION",
	"LSTM", "MAX_POOL_2D", "MUL", "RELU", "RELU_N1_TO_1", "RELU6", "RESHAPE", "RESIZE_BILINEAR", "RNN",
	"SOFTMAX", "SPACE_TO_DEPTH", "SVDF", "TANH", "CONCAT_EMBEDDINGS", "SKIP_GRAM", "CALL", "CUSTOM",
	"EMBEDDING_LOOKUP_SPARSE", "PAD", "UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER", "BATCH_TO_SPACE_ND",
	"SPACE_TO_BATCH_ND", "TRANSPOSE", "MEAN", "SUB", "DIV", "SQUEEZE", "UNIDIRECTIONAL_SEQUENCE_LSTM",
	"STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN", "EXP", "TOPK_V2", "SPLIT", "LOG_SOFTMAX",
	"DELEGATE", "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST", "PRELU", "MAXIMUM", "ARG_MAX", "MINIMUM",
	"LESS", "NEG", "PADV2", "GREATER", "GREATER_EQUAL", "LESS_EQUAL", "SELECT", "SLICE", "SIN",
	"TRANSPOSE_CONV", "SPARSE_TO_DENSE", "TILE", "EXPAND_DIMS", "EQUAL", "NOT_EQUAL", "LOG", "SUM",
	"SQRT", "RSQRT", "SHAPE", "POW", "ARG_MIN", "FAKE_QUANT", "REDUCE_PROD", "REDUCE_MAX", "PACK",
	"LOGICAL_OR", "ONE_HOT", "LOGICAL_AND", "LOGICAL_NOT", "UNPACK", "REDUCE_MIN", "FLOOR_DIV",
	"REDUCE_ANY", "SQUARE", "ZEROS_LIKE", "FILL", "FLOOR_MOD", "RANGE", "RESIZE_NEAREST_NEIGHBOR",
	"LEAKY_RELU", "SQUARED_DIFFERENCE", "MIRROR_PAD", "ABS", "SPLIT_V", "UNIQUE", "CEIL", "REVERSE_V2",
	"ADD_N", "GATHER_ND", "COS", "WHERE", "RANK", "ELU", "REVERSE_SEQUENCE", "MATRIX_DIAG", "QUANTIZE",
	"MATRIX_SET_DIAG", "ROUND", "HARD_SWISH", "IF", "WHILE", "NON_MAX_SUPPRESSION_V4",
	"NON_MAX_SUPPRESSION_V5", "SCATTER_ND", "SELECT_V2", "DENSIFY", "SEGMENT_SUM", "BATCH_MATMUL",
	"PLACEHOLDER_FOR_GREATER_OP_CODES", "CUMSUM", "CALL_ONCE", "BROADCAST_TO", "RFFT2D", "CONV_3D",
	"IMAG", "REAL", "COMPLEX_ABS", "HASHTABLE", "HASHTABLE_FIND", "HASHTABLE_IMPORT", "HASHTABLE_SIZE",
	"REDUCE_ALL", "CONV_3D_TRANSPOSE", "VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE",
	"BROADCAST_ARGS", "RANDOM_STANDARD_NORMAL", "BUCKETIZE", "RANDOM_UNIFORM", "MULTINOMIAL", "GELU",
	"DYNAMIC_UPDATE_SLICE", "RELU_0_TO_1", "UNSORTED_SEGMENT_PROD", "UNSORTED_SEGMENT_MAX",
	"UNSORTED_SEGMENT_SUM", "ATAN2", "UNSORTED_SEGMENT_MIN", "SIGN", "BITCAST", "BITWISE_XOR",
	"RIGHT_SHIFT", "STABLEHLO_LOGISTIC", "STABLEHLO_ADD", "STABLEHLO_DIVIDE", "STABLEHLO_MULTIPLY",
	"STABLEHLO_MAXIMUM", "STABLEHLO_RESHAPE", "STABLEHLO_CLAMP", "STABLEHLO_CONCATENATE",
	"STABLEHLO_BROADCAST_IN_DIM", "STABLEHLO_CONVOLUTION", "STABLEHLO_SLICE", "STABLEHLO_CUSTOM_CALL",
	"STABLEHLO_REDUCE", "STABLEHLO_ABS", "STABLEHLO_AND", "STABLEHLO_COSINE", "STABLEHLO_EXPONENTIAL",
	"STABLEHLO_FLOOR", "STABLEHLO_LOG", "STABLEHLO_MINIMUM", "STABLEHLO_NEGATE", "STABLEHLO_OR",
	"STABLEHLO_POWER", "STABLEHLO_REMAINDER", "STABLEHLO_RSQRT", "STABLEHLO_SELECT",
	"STABLEHLO_SUBTRACT", "STABLEHLO_TANH", "STABLEHLO_SCATTER", "STABLEHLO_COMPARE",
	"STABLEHLO_CONVERT", "STABLEHLO_DYNAMIC_SLICE", "STABLEHLO_DYNAMIC_UPDATE_SLICE", "STABLEHLO_PAD",
	"STABLEHLO_IOTA", "STABLEHLO_DOT_GENERAL", "STABLEHLO_REDUCE_WINDOW", "STABLEHLO_SORT",
	"STABLEHLO_WHILE", "STABLEHLO_GATHER", "STABLEHLO_TRANSPOSE", "DILATE",
	"STABLEHLO_RNG_BIT_GENERATOR", "REDUCE_WINDOW", "STABLEHLO_COMPOSITE", "COMPLEX",
};

const char *nn_tflite_builtin_name(int32_t code)
{
	if (code < 0 || (size_t)code >= sizeof builtin_names / sizeof builtin_names[0])
		return NULL;
	return builtin_names[code];
}


/* ---- The loader ---- */


#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
int nn__tfl_fail(tfl *c, int code, const char *fmt, ...)
{
	if (c->err && c->errlen) {
		int n = snprintf(c->err, c->errlen, "%s: ", c->name);
		if (n >= 0 && (size_t)n < c->errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return code;
}

/* Records a problem with a tensor that only matters if every operator is supported (see tfl.deferred). */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void defer(tfl *c, int code, const char *fmt, ...)
{
	if (c->deferred)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->deferred_msg, sizeof c->deferred_msg, fmt, ap);
	va_end(ap);
	c->deferred = code;
}

/*
 * Every byte the load allocates per tensor or node, and every byte it copies
 * out of the file, is charged here. FlatBuffers tables may be shared, so a
 * small hostile file could otherwise make a million tensors share one
 * megabyte-long name; real models stay far below twice their own size.
 */
int nn__tfl_charge(tfl *c, size_t bytes)
{
	if (bytes > c->budget)
		return -1;
	c->budget -= bytes;
	return 0;
}

const char *nn__tfl_tensor_desc(const tfl *c, int i, char *buf, size_t n)
{
	const char *name = i >= 0 && i < c->g->n_tensors && c->g->tensors[i].name ? c->g->tensors[i].name : "";
	snprintf(buf, n, "tensor %d ('%.100s')", i, name);
	return buf;
}

const char *nn__tfl_shape_str(const nn_tensor *t, char *buf, size_t n)
{
	size_t k = 0;
	buf[0] = 0;
	k += (size_t)snprintf(buf + k, n - k, "[");
	for (int i = 0; i < t->rank && k < n; i++)
		k += (size_t)snprintf(buf + k, n - k, i ? ",%d" : "%d", t->shape[i]);
	if (k < n)
		snprintf(buf + k, n - k, "]");
	return buf;
}

static const char *const tensor_type_names[] = {
	"FLOAT32", "FLOAT16", "INT32", "UINT8", "INT64", "STRING", "BOOL", "INT16", "COMPLEX64", "INT8",
	"FLOAT64", "COMPLEX128", "UINT64", "RESOURCE", "VARIANT", "UINT32", "UINT16", "INT4", "BFLOAT16",
};

/* TFLite TensorType to ours; -1 for a type the engine lacks, -2 for one the schema does not define. */
static int map_type(int8_t type)
{
	switch (type) {
	case 0: return NN_F32;
	case 1: return NN_F16;
	case 2: return NN_I32;
	case 3: return NN_U8;
	case 4: return NN_I64;
	case 6: return NN_BOOL;
	case 7: return NN_I16;
	case 9: return NN_I8;
	default:
		return type >= 0 && (size_t)type < sizeof tensor_type_names / sizeof tensor_type_names[0] ? -1 : -2;
	}
}

static int zero_point_ok(nn_dtype t, int64_t z)
{
	switch (t) {
	case NN_U8: return z >= 0 && z <= 255;
	case NN_I8: return z >= -128 && z <= 127;
	case NN_I16: return z >= -32768 && z <= 32767;
	default: return z >= INT32_MIN && z <= INT32_MAX;
	}
}

static int load_quant(tfl *c, int i, const nn__fb_table *tt, const char *d)
{
	nn__fb *b = &c->fb;
	nn_tensor *t = &c->g->tensors[i];
	nn__fb_table qt;
	nn__fb_vec sc, zp;
	uint8_t details;
	int32_t qdim;
	int r = nn__fb_table_field(b, tt, 4, &qt);
	if (r < 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: quantization: %s", d, b->why);
	/* Float tensors are never quantized here, whatever parameters the converter left on them. */
	if (r == 0 || t->dtype == NN_F32 || t->dtype == NN_F16 || t->dtype == NN_BOOL)
		return 0;
	if (nn__fb_vector(b, &qt, 2, 4, &sc) < 0 || nn__fb_vector(b, &qt, 3, 8, &zp) < 0 ||
	    nn__fb_u8(b, &qt, 4, 0, &details) < 0 || nn__fb_i32(b, &qt, 6, 0, &qdim) < 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: quantization: %s", d, b->why);
	if (details != 0)
		defer(c, NN_ERR_UNSUPPORTED, "%s: custom quantization (QuantizationDetails type %u) is not supported", d,
		      details);
	if (sc.n == 0)
		return 0;
	if (zp.n != sc.n)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: quantization has %u scales and %u zero points, expected as many of each",
			    d, sc.n, zp.n);
	if (sc.n > 1) {
		if (qdim < 0 || qdim >= t->rank)
			return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: quantized_dimension %d lies outside its %d dimensions", d, qdim,
				    t->rank);
		if ((uint32_t)t->shape[qdim] != sc.n)
			return nn__tfl_fail(c, NN_ERR_FORMAT,
				    "%s: %u per-channel scales for dimension %d of size %d, expected one per channel", d,
				    sc.n, qdim, t->shape[qdim]);
	}
	if (nn__tfl_charge(c, (size_t)sc.n * 8) < 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: quantization: the model copies more data than its size allows", d);
	float *scale = malloc((size_t)sc.n * sizeof *scale);
	int32_t *zero = malloc((size_t)sc.n * sizeof *zero);
	int rc = 0;
	if (!scale || !zero)
		rc = nn__tfl_fail(c, NN_ERR_NOMEM, "%s: out of memory for %u quantization parameters", d, sc.n);
	for (uint32_t k = 0; k < sc.n && rc == 0; k++) {
		float s = nn__fb_vec_f32(b, &sc, k);
		int64_t z = nn__fb_vec_i64(b, &zp, k);
		/* A zero, negative or infinite scale would turn into divisions by zero and overflows in the kernels. */
		if (!isfinite(s) || s <= 0.0f)
			rc = nn__tfl_fail(c, NN_ERR_FORMAT, "%s: quantization scale %u is %g, expected a finite number > 0", d, k,
				  (double)s);
		else if (!zero_point_ok(t->dtype, z))
			rc = nn__tfl_fail(c, NN_ERR_FORMAT, "%s: zero point %u is %lld, outside the range of %s", d, k,
				  (long long)z, nn_dtype_name(t->dtype));
		else {
			scale[k] = s;
			zero[k] = (int32_t)z;
		}
	}
	if (rc == 0 && nn_tensor_set_quant(t, (int)sc.n, sc.n > 1 ? qdim : 0, scale, zero) < 0)
		rc = nn__tfl_fail(c, NN_ERR_NOMEM, "%s: out of memory for %u quantization parameters", d, sc.n);
	free(scale);
	free(zero);
	return rc;
}

/* The bytes of buffer bi: inline data, or (for models over 2 GB) an offset and size into the file. */
static int buffer_bytes(tfl *c, uint32_t bi, const char *d, const uint8_t **data, size_t *n)
{
	nn__fb *b = &c->fb;
	nn__fb_table bt;
	nn__fb_vec v;
	uint64_t off, size;
	*data = NULL;
	*n = 0;
	if (bi >= c->buffers.n)
		return 0;
	if (nn__fb_vec_table(b, &c->buffers, bi, &bt) < 0 || nn__fb_vector(b, &bt, 0, 1, &v) < 0 ||
	    nn__fb_u64(b, &bt, 1, 0, &off) < 0 || nn__fb_u64(b, &bt, 2, 0, &size) < 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: buffer %u: %s", d, bi, b->why);
	if (v.n) {
		*data = b->p + v.pos;
		*n = v.n;
	} else if (off > 1) {
		if (off > b->len || size > b->len - off)
			return nn__tfl_fail(c, NN_ERR_FORMAT,
				    "%s: buffer %u: %llu bytes at offset %llu run past the end of the file (%zu bytes)", d, bi,
				    (unsigned long long)size, (unsigned long long)off, b->len);
		*data = b->p + off;
		*n = (size_t)size;
	}
	return 0;
}

static int load_tensor(tfl *c, const nn__fb_table *tt, int i)
{
	nn__fb *b = &c->fb;
	nn_graph *g = c->g;
	char d[160], shp[96];
	const char *s;
	size_t sn;
	if (nn__fb_string(b, tt, 3, &s, &sn) < 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "tensor %d: name: %s", i, b->why);
	char gen[32];
	if (!s || sn == 0 || s[0] == 0) {
		snprintf(gen, sizeof gen, "tensor%d", i);
		s = gen;
		sn = strlen(gen);
	}
	if (nn__tfl_charge(c, sizeof(nn_tensor) + sn + 1) < 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "tensor %d: the model holds more tensor data than its size allows", i);
	char *name = nn__fb_strndup(s, sn);
	int ti = name ? nn_graph_add_tensor(g, NULL) : -1;
	if (ti < 0) {
		free(name);
		return nn__tfl_fail(c, NN_ERR_NOMEM, "tensor %d: out of memory", i);
	}
	nn_tensor *t = &g->tensors[ti];
	t->name = name;
	nn__tfl_tensor_desc(c, i, d, sizeof d);

	nn__fb_vec shape;
	if (nn__fb_vector(b, tt, 0, 4, &shape) < 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: shape: %s", d, b->why);
	if (shape.n > NN_MAX_RANK)
		return nn__tfl_fail(c, NN_ERR_UNSUPPORTED, "%s: %u dimensions, at most %d are supported", d, shape.n, NN_MAX_RANK);
	int64_t elems = 1;
	for (uint32_t k = 0; k < shape.n; k++) {
		int32_t dim = nn__fb_vec_i32(b, &shape, k);
		if (dim < 1)
			return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: dimension %u is %d, expected >= 1", d, k, dim);
		t->shape[k] = dim;
		elems *= dim;
		if (elems > INT32_MAX)
			return nn__tfl_fail(c, NN_ERR_UNSUPPORTED, "%s: more than 2^31-1 elements, more than the engine supports",
				    d);
	}
	t->rank = (int)shape.n;

	int8_t type;
	if (nn__fb_i8(b, tt, 1, 0, &type) < 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: type: %s", d, b->why);
	int dt = map_type(type);
	if (dt == -2)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: type %d is not a TFLite TensorType", d, type);
	if (dt == -1)
		defer(c, NN_ERR_UNSUPPORTED, "%s: type %s is not supported", d, tensor_type_names[type]);
	t->dtype = dt >= 0 ? (nn_dtype)dt : NN_F32;

	uint32_t bi;
	uint8_t is_variable;
	nn__fb_table sparsity;
	int sparse;
	if (nn__fb_u32(b, tt, 2, 0, &bi) < 0 || nn__fb_u8(b, tt, 5, 0, &is_variable) < 0 ||
	    (sparse = nn__fb_table_field(b, tt, 6, &sparsity)) < 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s", d, b->why);
	if (bi >= c->buffers.n && !(bi == 0 && c->buffers.n == 0))
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: buffer index %u out of range (the model has %u buffers)", d, bi,
			    c->buffers.n);
	if (is_variable)
		defer(c, NN_ERR_UNSUPPORTED, "%s: variable tensors (operator state) are not supported", d);

	int rc = load_quant(c, i, tt, d);
	if (rc < 0)
		return rc;
	t = &g->tensors[ti];

	const uint8_t *data;
	size_t n;
	if ((rc = buffer_bytes(c, bi, d, &data, &n)) < 0)
		return rc;
	if (sparse && dt >= 0) {
		if (n == 0)
			return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: a sparse tensor without values", d);
		return nn__tfl_densify_tensor(c, t, &sparsity, data, n, d);
	}
	/* Types we lack have no size to check against: the load fails on them anyway. */
	if (n == 0 || dt < 0)
		return 0;
	size_t esize = nn_dtype_size(t->dtype);
	if ((uint64_t)n != (uint64_t)elems * esize)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: constant data is %zu bytes, expected %lld for %s %s", d, n,
			    (long long)elems * (long long)esize, nn_dtype_name(t->dtype), nn__tfl_shape_str(t, shp, sizeof shp));
	/* TFLite aligns buffers to 16 bytes, so the data can stay in the file; a file that does not gets copied. */
	if ((uintptr_t)data % esize == 0) {
		t->data = (void *)(uintptr_t)data;
		t->owns_data = 0;
		t->is_const = 1;
		return 0;
	}
	if (nn__tfl_charge(c, n) < 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: unaligned constant data takes the model past the data its size allows",
			    d);
	if (nn_tensor_alloc_const(t) < 0)
		return nn__tfl_fail(c, NN_ERR_NOMEM, "%s: out of memory for %zu bytes of constant data", d, n);
	memcpy(t->data, data, n);
	return 0;
}

/* Reads an operator's options table when its union tag is `expected`; absent options read as defaults. */
int nn__tfl_get_options(tfl *c, tfl_op *o, int expected, nn__fb_table *opt)
{
	nn__fb *b = &c->fb;
	uint8_t type;
	memset(opt, 0, sizeof *opt); /* vt_len 0: every field reads as absent */
	if (nn__fb_u8(b, &o->t, 3, 0, &type) < 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: builtin_options_type: %s", o->desc, o->opname, b->why);
	if (type == 0)
		return 0;
	if (type != expected)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s has builtin options of union type %u, expected %d", o->desc,
			    o->opname, type, expected);
	int r = nn__fb_table_field(b, &o->t, 4, opt);
	if (r < 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: builtin_options: %s", o->desc, o->opname, b->why);
	if (r == 0)
		memset(opt, 0, sizeof *opt);
	return 0;
}

#define OPT(call)                                                                                               \
	do {                                                                                                    \
		if ((call) < 0)                                                                                 \
			return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s options: %s", o->desc, o->opname, c->fb.why);     \
	} while (0)

int nn__tfl_get_act(tfl *c, tfl_op *o, const nn__fb_table *opt, int id, nn_activation *act)
{
	int8_t v;
	OPT(nn__fb_i8(&c->fb, opt, id, 0, &v));
	switch (v) {
	case 0: *act = NN_ACT_NONE; return 0;
	case 1: *act = NN_ACT_RELU; return 0;
	case 2: *act = NN_ACT_RELU_N1_TO_1; return 0;
	case 3: *act = NN_ACT_RELU6; return 0;
	case 4:
	case 5:
		return nn__tfl_fail(c, NN_ERR_UNSUPPORTED, "%s: %s with fused activation %s is not supported", o->desc,
			    o->opname, v == 4 ? "TANH" : "SIGN_BIT");
	default:
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: fused activation %d, expected 0 to 5", o->desc, o->opname, v);
	}
}

int nn__tfl_get_padding(tfl *c, tfl_op *o, const nn__fb_table *opt, int id, nn_padding *pad)
{
	int8_t v;
	OPT(nn__fb_i8(&c->fb, opt, id, 0, &v));
	if (v != 0 && v != 1)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: padding %d, expected SAME (0) or VALID (1)", o->desc, o->opname,
			    v);
	*pad = v == 0 ? NN_PADDING_SAME : NN_PADDING_VALID;
	return 0;
}

/* An int32 option that must lie in lo..hi (strides, dilations, filter sizes). */
int nn__tfl_get_int(tfl *c, tfl_op *o, const nn__fb_table *opt, int id, int32_t def, const char *what, int lo,
		   int hi, int *out)
{
	int32_t v;
	OPT(nn__fb_i32(&c->fb, opt, id, def, &v));
	if (v < lo || v > hi)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: %s is %d, expected %d to %d", o->desc, o->opname, what, v, lo, hi);
	*out = v;
	return 0;
}

int nn__tfl_get_bool(tfl *c, tfl_op *o, const nn__fb_table *opt, int id, int *out)
{
	uint8_t v;
	OPT(nn__fb_u8(&c->fb, opt, id, 0, &v));
	*out = v != 0;
	return 0;
}

static int get_float(tfl *c, tfl_op *o, const nn__fb_table *opt, int id, const char *what, float *out)
{
	float v;
	OPT(nn__fb_f32(&c->fb, opt, id, 0.0f, &v));
	if (!isfinite(v))
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: %s is %g, expected a finite number", o->desc, o->opname, what,
			    (double)v);
	*out = v;
	return 0;
}

/* Checks the numbers of inputs and outputs; the first min_in inputs must be present. */
int nn__tfl_want_io(tfl *c, tfl_op *o, int min_in, int max_in, int n_out)
{
	if (o->n_in < min_in || o->n_in > max_in) {
		if (min_in == max_in)
			return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s has %d inputs, expected %d", o->desc, o->opname, o->n_in,
				    min_in);
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s has %d inputs, expected %d to %d", o->desc, o->opname, o->n_in,
			    min_in, max_in);
	}
	if (o->n_out != n_out)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s has %d outputs, expected %d", o->desc, o->opname, o->n_out, n_out);
	for (int k = 0; k < min_in; k++)
		if (o->in[k] < 0)
			return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: input %d is missing (-1)", o->desc, o->opname, k);
	return 0;
}

/* The values of a constant int32/int64 input (paddings, axes, sizes), at most max of them. */
int nn__tfl_const_ints(tfl *c, tfl_op *o, int tensor, const char *what, int64_t *vals, int max, int *n)
{
	const nn_tensor *t = &c->g->tensors[tensor];
	char td[160];
	nn__tfl_tensor_desc(c, tensor, td, sizeof td);
	if (!t->is_const || !t->data)
		return nn__tfl_fail(c, NN_ERR_UNSUPPORTED, "%s: %s: the %s input, %s, is computed at run time; only constant %s are supported",
			    o->desc, o->opname, what, td, what);
	if (t->dtype != NN_I32 && t->dtype != NN_I64)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: the %s input, %s, is %s, expected int32 or int64", o->desc,
			    o->opname, what, td, nn_dtype_name(t->dtype));
	int64_t count = nn_tensor_elements(t);
	if (count < 0 || count > max)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: the %s input, %s, has %lld values, expected at most %d", o->desc,
			    o->opname, what, td, (long long)count, max);
	for (int64_t k = 0; k < count; k++) {
		if (t->dtype == NN_I32) {
			int32_t v;
			memcpy(&v, (const char *)t->data + 4 * k, sizeof v);
			vals[k] = v;
		} else {
			memcpy(&vals[k], (const char *)t->data + 8 * k, sizeof vals[k]);
		}
	}
	*n = (int)count;
	return 0;
}

/* RESHAPE, SQUEEZE and EXPAND_DIMS only move data, so their input and output must hold as many elements. */
static int same_elements(tfl *c, tfl_op *o)
{
	const nn_tensor *in = &c->g->tensors[o->in[0]], *out = &c->g->tensors[o->out[0]];
	char a[96], b[96];
	if (nn_tensor_elements(in) != nn_tensor_elements(out))
		return nn__tfl_fail(c, NN_ERR_SHAPE, "%s: %s turns shape %s into %s, which holds a different number of elements",
			    o->desc, o->opname, nn__tfl_shape_str(in, a, sizeof a), nn__tfl_shape_str(out, b, sizeof b));
	return 0;
}

static int map_conv(tfl *c, tfl_op *o, nn_op op, nn_node *tmpl)
{
	nn__fb_table opt;
	nn_conv_params *p = &tmpl->p.conv;
	int rc;
	p->dilation_h = p->dilation_w = 1;
	p->depth_multiplier = 1;
	if (op == NN_OP_CONV2D) {
		if ((rc = nn__tfl_get_options(c, o, OPT_CONV2D, &opt)) < 0 || (rc = nn__tfl_get_padding(c, o, &opt, 0, &p->padding)) < 0 ||
		    (rc = nn__tfl_get_int(c, o, &opt, 1, 0, "stride_w", 1, MAX_PARAM, &p->stride_w)) < 0 ||
		    (rc = nn__tfl_get_int(c, o, &opt, 2, 0, "stride_h", 1, MAX_PARAM, &p->stride_h)) < 0 ||
		    (rc = nn__tfl_get_act(c, o, &opt, 3, &p->act)) < 0 ||
		    (rc = nn__tfl_get_int(c, o, &opt, 4, 1, "dilation_w_factor", 1, MAX_PARAM, &p->dilation_w)) < 0 ||
		    (rc = nn__tfl_get_int(c, o, &opt, 5, 1, "dilation_h_factor", 1, MAX_PARAM, &p->dilation_h)) < 0)
			return rc;
		return 0;
	}
	if (op == NN_OP_TRANSPOSE_CONV2D) {
		if ((rc = nn__tfl_get_options(c, o, OPT_TRANSPOSE_CONV, &opt)) < 0 ||
		    (rc = nn__tfl_get_padding(c, o, &opt, 0, &p->padding)) < 0 ||
		    (rc = nn__tfl_get_int(c, o, &opt, 1, 0, "stride_w", 1, MAX_PARAM, &p->stride_w)) < 0 ||
		    (rc = nn__tfl_get_int(c, o, &opt, 2, 0, "stride_h", 1, MAX_PARAM, &p->stride_h)) < 0 ||
		    (rc = nn__tfl_get_act(c, o, &opt, 3, &p->act)) < 0)
			return rc;
		return 0;
	}
	int dm;
	if ((rc = nn__tfl_get_options(c, o, OPT_DEPTHWISE_CONV2D, &opt)) < 0 || (rc = nn__tfl_get_padding(c, o, &opt, 0, &p->padding)) < 0 ||
	    (rc = nn__tfl_get_int(c, o, &opt, 1, 0, "stride_w", 1, MAX_PARAM, &p->stride_w)) < 0 ||
	    (rc = nn__tfl_get_int(c, o, &opt, 2, 0, "stride_h", 1, MAX_PARAM, &p->stride_h)) < 0 ||
	    (rc = nn__tfl_get_int(c, o, &opt, 3, 0, "depth_multiplier", 0, INT32_MAX, &dm)) < 0 ||
	    (rc = nn__tfl_get_act(c, o, &opt, 4, &p->act)) < 0 ||
	    (rc = nn__tfl_get_int(c, o, &opt, 5, 1, "dilation_w_factor", 1, MAX_PARAM, &p->dilation_w)) < 0 ||
	    (rc = nn__tfl_get_int(c, o, &opt, 6, 1, "dilation_h_factor", 1, MAX_PARAM, &p->dilation_h)) < 0)
		return rc;
	/* TFLite ignores the stored depth_multiplier (older converters wrote wrong ones) and derives it from the shapes. */
	const nn_tensor *in = &c->g->tensors[o->in[0]], *w = &c->g->tensors[o->in[1]];
	if (in->rank != 4 || w->rank != 4)
		return nn__tfl_fail(c, NN_ERR_SHAPE, "%s: %s: input has %d dimensions and filter %d, expected 4 and 4", o->desc,
			    o->opname, in->rank, w->rank);
	if (w->shape[3] % in->shape[3] != 0)
		return nn__tfl_fail(c, NN_ERR_SHAPE, "%s: %s: the filter's %d channels are not a multiple of the input's %d",
			    o->desc, o->opname, w->shape[3], in->shape[3]);
	p->depth_multiplier = w->shape[3] / in->shape[3];
	return 0;
}

static int map_pool(tfl *c, tfl_op *o, nn_node *tmpl)
{
	nn__fb_table opt;
	nn_pool_params *p = &tmpl->p.pool;
	int rc;
	if ((rc = nn__tfl_get_options(c, o, OPT_POOL2D, &opt)) < 0 || (rc = nn__tfl_get_padding(c, o, &opt, 0, &p->padding)) < 0 ||
	    (rc = nn__tfl_get_int(c, o, &opt, 1, 0, "stride_w", 1, MAX_PARAM, &p->stride_w)) < 0 ||
	    (rc = nn__tfl_get_int(c, o, &opt, 2, 0, "stride_h", 1, MAX_PARAM, &p->stride_h)) < 0 ||
	    (rc = nn__tfl_get_int(c, o, &opt, 3, 0, "filter_width", 1, MAX_PARAM, &p->filter_w)) < 0 ||
	    (rc = nn__tfl_get_int(c, o, &opt, 4, 0, "filter_height", 1, MAX_PARAM, &p->filter_h)) < 0 ||
	    (rc = nn__tfl_get_act(c, o, &opt, 5, &p->act)) < 0)
		return rc;
	return 0;
}

static int map_mean(tfl *c, tfl_op *o, nn_node *tmpl)
{
	nn__fb_table opt;
	int64_t axes[64];
	int n, rc, rank = c->g->tensors[o->in[0]].rank;
	if ((rc = nn__tfl_get_options(c, o, OPT_REDUCER, &opt)) < 0 || (rc = nn__tfl_get_bool(c, o, &opt, 0, &tmpl->p.reduce.keep_dims)) < 0 ||
	    (rc = nn__tfl_const_ints(c, o, o->in[1], "axes", axes, 64, &n)) < 0)
		return rc;
	unsigned mask = 0;
	for (int k = 0; k < n; k++) {
		int64_t a = axes[k] < 0 ? axes[k] + rank : axes[k];
		if (a < 0 || a >= rank)
			return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: axis %lld is outside the input's %d dimensions", o->desc,
				    o->opname, (long long)axes[k], rank);
		mask |= 1u << a;
	}
	/* Axes in ascending order without repeats, as TFLite's kernel resolves them. */
	tmpl->p.reduce.n_axes = 0;
	for (int a = 0; a < rank; a++)
		if (mask & (1u << a))
			tmpl->p.reduce.axes[tmpl->p.reduce.n_axes++] = a;
	return 0;
}

static int map_pad(tfl *c, tfl_op *o, nn_node *tmpl)
{
	int64_t v[2 * NN_MAX_RANK];
	int n, rc;
	const nn_tensor *in = &c->g->tensors[o->in[0]], *out = &c->g->tensors[o->out[0]];
	if ((rc = nn__tfl_const_ints(c, o, o->in[1], "paddings", v, 2 * NN_MAX_RANK, &n)) < 0)
		return rc;
	if (n != 2 * in->rank)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: %d padding values for a %d-dimensional input, expected %d", o->desc,
			    o->opname, n, in->rank, 2 * in->rank);
	for (int k = 0; k < in->rank; k++) {
		for (int s = 0; s < 2; s++) {
			int64_t p = v[2 * k + s];
			if (p < 0 || p > MAX_PARAM)
				return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: padding %lld of dimension %d, expected 0 to %d",
					    o->desc, o->opname, (long long)p, k, MAX_PARAM);
			tmpl->p.pad.pads[k][s] = (int)p;
		}
		if (out->rank != in->rank || (int64_t)in->shape[k] + v[2 * k] + v[2 * k + 1] != out->shape[k]) {
			char a[96], b[96];
			return nn__tfl_fail(c, NN_ERR_SHAPE, "%s: %s: padding %s does not give the output's shape %s", o->desc,
				    o->opname, nn__tfl_shape_str(in, a, sizeof a), nn__tfl_shape_str(out, b, sizeof b));
		}
	}
	return 0;
}

static int map_resize(tfl *c, tfl_op *o, int opt_type, nn_node *tmpl)
{
	nn__fb_table opt;
	int64_t size[4];
	int n, rc;
	/* ResizeBilinearOptions keeps two deprecated fields in front of the ones that matter. */
	int first = opt_type == OPT_RESIZE_BILINEAR ? 2 : 0;
	if ((rc = nn__tfl_get_options(c, o, opt_type, &opt)) < 0 ||
	    (rc = nn__tfl_get_bool(c, o, &opt, first, &tmpl->p.resize.align_corners)) < 0 ||
	    (rc = nn__tfl_get_bool(c, o, &opt, first + 1, &tmpl->p.resize.half_pixel_centers)) < 0 ||
	    (rc = nn__tfl_const_ints(c, o, o->in[1], "size", size, 4, &n)) < 0)
		return rc;
	const nn_tensor *in = &c->g->tensors[o->in[0]], *out = &c->g->tensors[o->out[0]];
	if (n != 2 || in->rank != 4 || out->rank != 4 || size[0] != out->shape[1] || size[1] != out->shape[2]) {
		char a[96], b[96];
		return nn__tfl_fail(c, NN_ERR_SHAPE, "%s: %s: resizing %s to %lld x %lld does not give the output's shape %s",
			    o->desc, o->opname, nn__tfl_shape_str(in, a, sizeof a), n > 0 ? (long long)size[0] : 0LL,
			    n > 1 ? (long long)size[1] : 0LL, nn__tfl_shape_str(out, b, sizeof b));
	}
	return 0;
}

static int map_transpose_conv(tfl *c, tfl_op *o, nn_node *tmpl)
{
	int64_t shape[NN_MAX_RANK];
	int n, rc;
	if ((rc = map_conv(c, o, NN_OP_TRANSPOSE_CONV2D, tmpl)) < 0 ||
	    (rc = nn__tfl_const_ints(c, o, o->in[0], "output_shape", shape, NN_MAX_RANK, &n)) < 0)
		return rc;
	const nn_tensor *out = &c->g->tensors[o->out[0]];
	int same = n == out->rank;
	for (int k = 0; same && k < n; k++)
		same = shape[k] == out->shape[k];
	if (!same) {
		char b[96];
		return nn__tfl_fail(c, NN_ERR_SHAPE, "%s: %s: the output_shape input differs from the output's shape %s", o->desc,
			    o->opname, nn__tfl_shape_str(out, b, sizeof b));
	}
	return 0;
}

/* A constant scalar axis input (SPLIT, ARG_MAX), resolved against rank. */
static int const_axis(tfl *c, tfl_op *o, int tensor, int rank, int *axis)
{
	int64_t v[1];
	int n, rc;
	if ((rc = nn__tfl_const_ints(c, o, tensor, "axis", v, 1, &n)) < 0)
		return rc;
	if (n != 1 || v[0] < -rank || v[0] >= rank)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: axis %lld, expected one value from %d to %d", o->desc, o->opname,
			    n == 1 ? (long long)v[0] : 0LL, -rank, rank - 1);
	*axis = (int)(v[0] < 0 ? v[0] + rank : v[0]);
	return 0;
}

/* Records an operator we lack; loading carries on so that the message can list every one. */
void nn__tfl_unsupported(tfl *c, tfl_op *o)
{
	if (c->n_unsupported++ == 0)
		snprintf(c->unsupported_msg, sizeof c->unsupported_msg, "%s: operator %s is not supported", o->desc,
			 o->opname);
	if (strstr(c->unsupported_list, o->opname))
		return;
	size_t k = strlen(c->unsupported_list);
	if (k + strlen(o->opname) + 8 < sizeof c->unsupported_list)
		snprintf(c->unsupported_list + k, sizeof c->unsupported_list - k, "%s%s", k ? ", " : "", o->opname);
}

/*
 * Whether a quantized ADD or SUB only adds a constant too small to move any
 * value: the other input and the output share dtype, shape and per-tensor
 * quantization, and every real value of the constant is under a quarter of
 * the output's step, so each result rounds back to its input. MoveNet's
 * first SUB is one (an int8 mean of 1e-4 at scale 1). It becomes a copy:
 * XNNPACK refuses such scale ratios, and the general kernel would spend
 * milliseconds recomputing the input.
 */
static int adds_nothing(tfl *c, tfl_op *o, nn_activation act, int *keep)
{
	const nn_graph *g = c->g;
	if (act != NN_ACT_NONE || o->n_in != 2)
		return 0;
	for (int k = 0; k < 2; k++) {
		const nn_tensor *x = &g->tensors[o->in[k]], *kc = &g->tensors[o->in[1 - k]];
		const nn_tensor *y = &g->tensors[o->out[0]];
		/* SUB's constant must be the second operand: c - x is not x. */
		if (o->code->builtin == TFL_SUB && k == 1)
			break;
		if (x->is_const || !kc->is_const || !kc->data || (x->dtype != NN_U8 && x->dtype != NN_I8) ||
		    kc->dtype != x->dtype || y->dtype != x->dtype || x->quant.count != 1 || y->quant.count != 1 ||
		    kc->quant.count != 1 || x->quant.scale[0] != y->quant.scale[0] ||
		    x->quant.zero_point[0] != y->quant.zero_point[0] || x->rank != y->rank ||
		    memcmp(x->shape, y->shape, sizeof(int) * (size_t)x->rank) != 0)
			continue;
		int64_t n = nn_tensor_elements(kc);
		float limit = 0.25f * y->quant.scale[0];
		int small = n >= 0;
		for (int64_t i = 0; small && i < n; i++) {
			int32_t q = x->dtype == NN_U8 ? ((const uint8_t *)kc->data)[i] : ((const int8_t *)kc->data)[i];
			small = fabsf(kc->quant.scale[0] * (float)(q - kc->quant.zero_point[0])) < limit;
		}
		if (small) {
			*keep = o->in[k];
			return 1;
		}
	}
	return 0;
}

/* Maps operator o onto a node. Returns 0, or 1 when the operator is unsupported (recorded), or an error. */
static int map_op(tfl *c, tfl_op *o)
{
	nn_node tmpl;
	memset(&tmpl, 0, sizeof tmpl);
	nn__fb_table opt;
	int rc = 0, ins[4] = { -1, -1, -1, -1 }, n_ins = 1, all_inputs = 0;
	nn_op op;
	int32_t code = o->code->builtin;
	if (o->n_in >= 1)
		ins[0] = o->in[0];
	if (!c->n_unsupported && (rc = nn__tfl_dynamic_shapes(c, o)) < 0)
		return rc;

	switch (code) {
	case TFL_ADD:
	case TFL_SUB:
	case TFL_MUL:
	case TFL_DIV: {
		static const struct { int32_t code; nn_op op; int opt; } bin[] = {
			{ TFL_ADD, NN_OP_ADD, OPT_ADD },
			{ TFL_SUB, NN_OP_SUB, OPT_SUB },
			{ TFL_MUL, NN_OP_MUL, OPT_MUL },
			{ TFL_DIV, NN_OP_DIV, OPT_DIV },
		};
		int k = 0;
		while (bin[k].code != code)
			k++;
		op = bin[k].op;
		if ((rc = nn__tfl_want_io(c, o, 2, 2, 1)) < 0 || (rc = nn__tfl_get_options(c, o, bin[k].opt, &opt)) < 0 ||
		    (rc = nn__tfl_get_act(c, o, &opt, 0, &tmpl.p.act)) < 0)
			return rc;
		all_inputs = 1;
		if ((code == TFL_ADD || code == TFL_SUB) && adds_nothing(c, o, tmpl.p.act, &ins[0])) {
			op = NN_OP_RESHAPE;
			all_inputs = 0;
		}
		break;
	}
	case TFL_MAXIMUM:
	case TFL_MINIMUM:
	case TFL_PRELU:
		op = code == TFL_MAXIMUM ? NN_OP_MAXIMUM : code == TFL_MINIMUM ? NN_OP_MINIMUM : NN_OP_PRELU;
		if ((rc = nn__tfl_want_io(c, o, 2, 2, 1)) < 0)
			return rc;
		all_inputs = 1;
		break;
	case TFL_CONCATENATION: {
		op = NN_OP_CONCATENATION;
		if ((rc = nn__tfl_want_io(c, o, 1, MAX_OP_IO, 1)) < 0)
			return rc;
		int axis, rank = c->g->tensors[o->out[0]].rank;
		if ((rc = nn__tfl_get_options(c, o, OPT_CONCATENATION, &opt)) < 0 ||
		    (rc = nn__tfl_get_int(c, o, &opt, 0, 0, "axis", -rank, rank - 1, &axis)) < 0 ||
		    (rc = nn__tfl_get_act(c, o, &opt, 1, &tmpl.p.concat.act)) < 0)
			return rc;
		for (int k = 0; k < o->n_in; k++)
			if (o->in[k] < 0)
				return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: input %d is missing (-1)", o->desc, o->opname, k);
		tmpl.p.concat.axis = axis < 0 ? axis + rank : axis;
		all_inputs = 1;
		break;
	}
	case TFL_CONV_2D:
	case TFL_DEPTHWISE_CONV_2D:
		op = code == TFL_CONV_2D ? NN_OP_CONV2D : NN_OP_DEPTHWISE_CONV2D;
		if ((rc = nn__tfl_want_io(c, o, 2, 3, 1)) < 0 || (rc = map_conv(c, o, op, &tmpl)) < 0)
			return rc;
		ins[1] = o->in[1];
		ins[2] = o->n_in > 2 ? o->in[2] : -1;
		n_ins = 3;
		break;
	case TFL_TRANSPOSE_CONV:
		/* TFLite's inputs are (output_shape, filter, input[, bias]); the node takes (input, filter, bias). */
		op = NN_OP_TRANSPOSE_CONV2D;
		if ((rc = nn__tfl_want_io(c, o, 3, 4, 1)) < 0 || (rc = map_transpose_conv(c, o, &tmpl)) < 0)
			return rc;
		ins[0] = o->in[2];
		ins[1] = o->in[1];
		ins[2] = o->n_in > 3 ? o->in[3] : -1;
		n_ins = 3;
		break;
	case TFL_FULLY_CONNECTED: {
		op = NN_OP_FULLY_CONNECTED;
		int8_t wf;
		if ((rc = nn__tfl_want_io(c, o, 2, 3, 1)) < 0 || (rc = nn__tfl_get_options(c, o, OPT_FULLY_CONNECTED, &opt)) < 0 ||
		    (rc = nn__tfl_get_act(c, o, &opt, 0, &tmpl.p.fc.act)) < 0 ||
		    (rc = nn__tfl_get_bool(c, o, &opt, 2, &tmpl.p.fc.keep_num_dims)) < 0)
			return rc;
		OPT(nn__fb_i8(&c->fb, &opt, 1, 0, &wf));
		if (wf != 0)
			return nn__tfl_fail(c, NN_ERR_UNSUPPORTED, "%s: %s with shuffled weights (weights_format %d) is not supported",
				    o->desc, o->opname, wf);
		ins[1] = o->in[1];
		ins[2] = o->n_in > 2 ? o->in[2] : -1;
		n_ins = 3;
		break;
	}
	case TFL_AVERAGE_POOL_2D:
	case TFL_MAX_POOL_2D:
		op = code == TFL_MAX_POOL_2D ? NN_OP_MAX_POOL2D : NN_OP_AVERAGE_POOL2D;
		if ((rc = nn__tfl_want_io(c, o, 1, 1, 1)) < 0 || (rc = map_pool(c, o, &tmpl)) < 0)
			return rc;
		break;
	case TFL_MEAN:
		op = NN_OP_MEAN;
		if ((rc = nn__tfl_want_io(c, o, 2, 2, 1)) < 0 || (rc = map_mean(c, o, &tmpl)) < 0)
			return rc;
		break;
	case TFL_RESHAPE:
	case TFL_SQUEEZE:
	case TFL_EXPAND_DIMS:
		/* The output tensor's shape is the new shape, so the shape or axis input is dropped. */
		op = NN_OP_RESHAPE;
		if ((rc = nn__tfl_want_io(c, o, code == TFL_EXPAND_DIMS ? 2 : 1, code == TFL_SQUEEZE ? 1 : 2, 1)) < 0 ||
		    (rc = same_elements(c, o)) < 0)
			return rc;
		break;
	case TFL_SOFTMAX:
		op = NN_OP_SOFTMAX;
		if ((rc = nn__tfl_want_io(c, o, 1, 1, 1)) < 0 || (rc = nn__tfl_get_options(c, o, OPT_SOFTMAX, &opt)) < 0 ||
		    (rc = get_float(c, o, &opt, 0, "beta", &tmpl.p.softmax.beta)) < 0)
			return rc;
		break;
	case TFL_LEAKY_RELU:
		op = NN_OP_LEAKY_RELU;
		if ((rc = nn__tfl_want_io(c, o, 1, 1, 1)) < 0 || (rc = nn__tfl_get_options(c, o, OPT_LEAKY_RELU, &opt)) < 0 ||
		    (rc = get_float(c, o, &opt, 0, "alpha", &tmpl.p.leaky_relu.alpha)) < 0)
			return rc;
		break;
	case TFL_LOGISTIC:
	case TFL_TANH:
	case TFL_RELU:
	case TFL_RELU6:
	case TFL_RELU_N1_TO_1:
	case TFL_HARD_SWISH:
	case TFL_QUANTIZE:
	case TFL_DEQUANTIZE:
		switch (code) {
		case TFL_LOGISTIC: op = NN_OP_LOGISTIC; break;
		case TFL_TANH: op = NN_OP_TANH; break;
		case TFL_RELU: op = NN_OP_RELU; break;
		case TFL_RELU6: op = NN_OP_RELU6; break;
		case TFL_RELU_N1_TO_1: op = NN_OP_RELU_N1_TO_1; break;
		case TFL_HARD_SWISH: op = NN_OP_HARD_SWISH; break;
		case TFL_QUANTIZE: op = NN_OP_QUANTIZE; break;
		default: op = NN_OP_DEQUANTIZE; break;
		}
		if ((rc = nn__tfl_want_io(c, o, 1, 1, 1)) < 0)
			return rc;
		break;
	case TFL_PAD:
	case TFL_PADV2:
		/* The node keeps PADV2's constant_values input second (-1 for PAD: pad with zero). */
		op = NN_OP_PAD;
		if ((rc = nn__tfl_want_io(c, o, 2, code == TFL_PADV2 ? 3 : 2, 1)) < 0 || (rc = map_pad(c, o, &tmpl)) < 0)
			return rc;
		ins[1] = o->n_in > 2 ? o->in[2] : -1;
		n_ins = 2;
		break;
	case TFL_RESIZE_BILINEAR:
	case TFL_RESIZE_NEAREST_NEIGHBOR:
		op = code == TFL_RESIZE_BILINEAR ? NN_OP_RESIZE_BILINEAR : NN_OP_RESIZE_NEAREST;
		if ((rc = nn__tfl_want_io(c, o, 2, 2, 1)) < 0 ||
		    (rc = map_resize(c, o, code == TFL_RESIZE_BILINEAR ? OPT_RESIZE_BILINEAR : OPT_RESIZE_NEAREST_NEIGHBOR,
				     &tmpl)) < 0)
			return rc;
		break;
	case TFL_DENSIFY:
		if (c->n_unsupported)
			return 0;
		return nn__tfl_map_densify(c, o);
	case TFL_TRANSPOSE:
		return c->n_unsupported ? 0 : nn__tfl_map_transpose(c, o);
	case TFL_STRIDED_SLICE:
		return c->n_unsupported ? 0 : nn__tfl_map_strided_slice(c, o);
	case TFL_SHAPE:
		return c->n_unsupported ? 0 : nn__tfl_map_shape(c, o);
	case TFL_SPACE_TO_BATCH_ND:
		return c->n_unsupported ? 0 : nn__tfl_map_space_to_batch(c, o);
	case TFL_BATCH_TO_SPACE_ND:
		return c->n_unsupported ? 0 : nn__tfl_map_batch_to_space(c, o);
	case TFL_NON_MAX_SUPPRESSION_V4:
	case TFL_NON_MAX_SUPPRESSION_V5:
		return c->n_unsupported ? 0 : nn__tfl_map_nms(c, o);
	case TFL_DEPTH_TO_SPACE:
		op = NN_OP_DEPTH_TO_SPACE;
		if ((rc = nn__tfl_want_io(c, o, 1, 1, 1)) < 0 || (rc = nn__tfl_get_options(c, o, OPT_DEPTH_TO_SPACE, &opt)) < 0 ||
		    (rc = nn__tfl_get_int(c, o, &opt, 0, 0, "block_size", 1, 4096, &tmpl.p.space.block_size)) < 0)
			return rc;
		break;
	case TFL_SPLIT: {
		/* TFLite's inputs are (axis, input); the node keeps the input only. */
		op = NN_OP_SPLIT;
		int num;
		if ((rc = nn__tfl_want_io(c, o, 2, 2, o->n_out)) < 0 || (rc = nn__tfl_get_options(c, o, OPT_SPLIT, &opt)) < 0 ||
		    (rc = nn__tfl_get_int(c, o, &opt, 0, 0, "num_splits", 1, MAX_OP_IO, &num)) < 0 ||
		    (rc = const_axis(c, o, o->in[0], c->g->tensors[o->in[1]].rank, &tmpl.p.split.axis)) < 0)
			return rc;
		if (num != o->n_out)
			return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: num_splits is %d but the operator has %d outputs", o->desc,
				    o->opname, num, o->n_out);
		ins[0] = o->in[1];
		break;
	}
	case TFL_CAST:
	case TFL_SQRT:
		op = code == TFL_CAST ? NN_OP_CAST : NN_OP_SQRT;
		if ((rc = nn__tfl_want_io(c, o, 1, 1, 1)) < 0)
			return rc;
		break;
	case TFL_FLOOR_DIV:
	case TFL_GATHER_ND:
		op = code == TFL_FLOOR_DIV ? NN_OP_FLOOR_DIV : NN_OP_GATHER_ND;
		if ((rc = nn__tfl_want_io(c, o, 2, 2, 1)) < 0)
			return rc;
		all_inputs = 1;
		break;
	case TFL_GATHER: {
		/* GatherOptions: axis (0), batch_dims (1), which must be 0. */
		int rank = c->g->tensors[o->in[0]].rank, axis, batch_dims;
		op = NN_OP_GATHER;
		if ((rc = nn__tfl_want_io(c, o, 2, 2, 1)) < 0 || (rc = nn__tfl_get_options(c, o, OPT_GATHER, &opt)) < 0 ||
		    (rc = nn__tfl_get_int(c, o, &opt, 0, 0, "axis", -rank, rank - 1, &axis)) < 0 ||
		    (rc = nn__tfl_get_int(c, o, &opt, 1, 0, "batch_dims", 0, 0, &batch_dims)) < 0)
			return rc;
		tmpl.p.gather.axis = axis < 0 ? axis + rank : axis;
		all_inputs = 1;
		break;
	}
	case TFL_ARG_MAX:
		op = NN_OP_ARG_MAX;
		if ((rc = nn__tfl_want_io(c, o, 2, 2, 1)) < 0 ||
		    (rc = const_axis(c, o, o->in[1], c->g->tensors[o->in[0]].rank, &tmpl.p.arg.axis)) < 0)
			return rc;
		break;
	case TFL_PACK:
	case TFL_UNPACK: {
		int pack = code == TFL_PACK, count, axis;
		op = pack ? NN_OP_PACK : NN_OP_UNPACK;
		if ((rc = nn__tfl_want_io(c, o, 1, pack ? MAX_OP_IO : 1, pack ? 1 : o->n_out)) < 0)
			return rc;
		/* The axis counts in the stacked tensor's dimensions: PACK's output, UNPACK's input. */
		int rank = c->g->tensors[pack ? o->out[0] : o->in[0]].rank;
		if ((rc = nn__tfl_get_options(c, o, pack ? OPT_PACK : OPT_UNPACK, &opt)) < 0 ||
		    (rc = nn__tfl_get_int(c, o, &opt, 0, 0, pack ? "values_count" : "num", 0, MAX_OP_IO, &count)) < 0 ||
		    (rc = nn__tfl_get_int(c, o, &opt, 1, 0, "axis", -rank, rank - 1, &axis)) < 0)
			return rc;
		if (count != (pack ? o->n_in : o->n_out))
			return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: %s is %d but the operator has %d %s", o->desc, o->opname,
				    pack ? "values_count" : "num", count, pack ? o->n_in : o->n_out,
				    pack ? "inputs" : "outputs");
		for (int k = 0; k < o->n_in; k++)
			if (o->in[k] < 0)
				return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: input %d is missing (-1)", o->desc, o->opname, k);
		tmpl.p.pack.axis = axis < 0 ? axis + rank : axis;
		all_inputs = 1;
		break;
	}
	case TFL_CUSTOM:
		if (o->code->custom_len != strlen(DETECTION_POSTPROCESS_CODE) ||
		    memcmp(o->code->custom, DETECTION_POSTPROCESS_CODE, o->code->custom_len) != 0) {
			nn__tfl_unsupported(c, o);
			return 1;
		}
		op = NN_OP_DETECTION_POSTPROCESS;
		if ((rc = nn__tfl_want_io(c, o, 3, 3, 4)) < 0 || (rc = nn__tfl_map_detection_postprocess(c, o, &tmpl)) < 0)
			return rc;
		all_inputs = 1;
		break;
	default:
		nn__tfl_unsupported(c, o);
		return 1;
	}

	/* Once an operator is missing the load fails, so building further nodes would be wasted. */
	if (c->n_unsupported)
		return 0;
	if (all_inputs)
		n_ins = o->n_in;
	if ((rc = nn__tfl_add_node(c, o, op, &tmpl, all_inputs ? o->in : ins, n_ins, o->out, o->n_out, NULL)) < 0)
		return rc;
	if (op == NN_OP_CONV2D || op == NN_OP_DEPTHWISE_CONV2D)
		return nn__tfl_note_conv(c, o, c->g->n_nodes - 1);
	return 0;
}

int nn__tfl_add_node(tfl *c, tfl_op *o, nn_op op, const nn_node *tmpl, const int *ins, int n_ins, const int *outs,
		     int n_outs, nn_node **node)
{
	const char *oname = n_outs > 0 ? c->g->tensors[outs[0]].name : NULL;
	if (!oname || !oname[0])
		oname = o->opname;
	if (nn__tfl_charge(c, sizeof(nn_node) + 4 * ((size_t)n_ins + (size_t)n_outs + 2) + strlen(oname) + 1) < 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: the model holds more operator data than its size allows", o->desc);
	nn_node *n = nn_graph_add_node(c->g, op, n_ins, n_outs);
	if (!n)
		return nn__tfl_fail(c, NN_ERR_NOMEM, "%s: out of memory", o->desc);
	nn_node keep = *n;
	*n = *tmpl;
	n->op = op;
	n->n_inputs = keep.n_inputs;
	n->n_outputs = keep.n_outputs;
	n->inputs = keep.inputs;
	n->outputs = keep.outputs;
	for (int k = 0; k < n_ins; k++)
		n->inputs[k] = ins[k];
	for (int k = 0; k < n_outs; k++)
		n->outputs[k] = outs[k];
	n->name = strdup(oname);
	if (!n->name)
		return nn__tfl_fail(c, NN_ERR_NOMEM, "%s: out of memory", o->desc);
	if (node)
		*node = n;
	return nn__tfl_after_node(c, o);
}

static int load_codes(tfl *c, const nn__fb_table *model)
{
	nn__fb *b = &c->fb;
	nn__fb_vec v;
	if (nn__fb_vector(b, model, 1, 4, &v) < 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "Model.operator_codes: %s", b->why);
	c->codes = calloc(v.n ? v.n : 1, sizeof *c->codes);
	if (!c->codes)
		return nn__tfl_fail(c, NN_ERR_NOMEM, "out of memory for %u operator codes", v.n);
	c->n_codes = v.n;
	for (uint32_t i = 0; i < v.n; i++) {
		nn__fb_table t;
		int8_t dep;
		int32_t builtin;
		tfl_code *oc = &c->codes[i];
		if (nn__fb_vec_table(b, &v, i, &t) < 0 || nn__fb_i8(b, &t, 0, 0, &dep) < 0 ||
		    nn__fb_string(b, &t, 1, &oc->custom, &oc->custom_len) < 0 ||
		    nn__fb_i32(b, &t, 2, 1, &oc->version) < 0 || nn__fb_i32(b, &t, 3, 0, &builtin) < 0)
			return nn__tfl_fail(c, NN_ERR_FORMAT, "operator code %u: %s", i, b->why);
		/* Codes past 127 live in builtin_code; older files only have the int8 one. TFLite takes the larger. */
		oc->builtin = dep > builtin ? dep : builtin;
		if (oc->builtin < 0)
			return nn__tfl_fail(c, NN_ERR_FORMAT, "operator code %u: builtin code %d, expected >= 0", i, oc->builtin);
	}
	return 0;
}

static void op_name(const tfl_code *oc, char *buf, size_t n)
{
	const char *s = nn_tflite_builtin_name(oc->builtin);
	if (oc->builtin == TFL_CUSTOM)
		snprintf(buf, n, "CUSTOM '%.*s'", (int)(oc->custom_len > 64 ? 64 : oc->custom_len),
			 oc->custom ? oc->custom : "");
	else if (s)
		snprintf(buf, n, "%s", s);
	else
		snprintf(buf, n, "BUILTIN_%d", oc->builtin);
}

static int load_ops(tfl *c, const nn__fb_table *sg)
{
	nn__fb *b = &c->fb;
	nn__fb_vec ops;
	if (nn__fb_vector(b, sg, 3, 4, &ops) < 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "SubGraph.operators: %s", b->why);
	for (uint32_t i = 0; i < ops.n; i++) {
		tfl_op o;
		memset(&o, 0, sizeof o);
		o.idx = (int)i;
		o.in = c->io;
		o.out = c->io + MAX_OP_IO;
		uint32_t ci;
		nn__fb_vec vin, vout;
		if (nn__fb_vec_table(b, &ops, i, &o.t) < 0 || nn__fb_u32(b, &o.t, 0, 0, &ci) < 0 ||
		    nn__fb_vector(b, &o.t, 1, 4, &vin) < 0 || nn__fb_vector(b, &o.t, 2, 4, &vout) < 0)
			return nn__tfl_fail(c, NN_ERR_FORMAT, "node %u: %s", i, b->why);
		if (ci >= c->n_codes)
			return nn__tfl_fail(c, NN_ERR_FORMAT, "node %u: opcode_index %u out of range (the model has %u operator codes)",
				    i, ci, c->n_codes);
		o.code = &c->codes[ci];
		op_name(o.code, o.opname, sizeof o.opname);
		if (vin.n > MAX_OP_IO || vout.n > MAX_OP_IO)
			return nn__tfl_fail(c, NN_ERR_UNSUPPORTED, "node %u: %s has %u inputs and %u outputs, at most %d each are supported",
				    i, o.opname, vin.n, vout.n, MAX_OP_IO);
		o.n_in = (int)vin.n;
		o.n_out = (int)vout.n;
		for (int k = 0; k < o.n_in + o.n_out; k++) {
			int is_in = k < o.n_in;
			int32_t t = is_in ? nn__fb_vec_i32(b, &vin, (uint32_t)k) : nn__fb_vec_i32(b, &vout, (uint32_t)(k - o.n_in));
			if (t < (is_in ? -1 : 0) || t >= c->g->n_tensors)
				return nn__tfl_fail(c, NN_ERR_FORMAT, "node %u: %s: %s %d is tensor %d, expected %s0 to %d", i, o.opname,
					    is_in ? "input" : "output", is_in ? k : k - o.n_in, t, is_in ? "-1 (absent) or " : "",
					    c->g->n_tensors - 1);
			if (is_in)
				o.in[k] = t;
			else
				o.out[k - o.n_in] = t;
		}
		if (o.n_out > 0)
			snprintf(o.desc, sizeof o.desc, "node %u (output '%.100s')", i, c->g->tensors[o.out[0]].name);
		else
			snprintf(o.desc, sizeof o.desc, "node %u (%s)", i, o.opname);
		int rc = map_op(c, &o);
		/* Once an operator is missing, only a corrupt file may change the message: it names that operator. */
		if (rc < 0 && (!c->n_unsupported || rc == NN_ERR_FORMAT || rc == NN_ERR_NOMEM))
			return rc;
	}
	return 0;
}

/* Reads SubGraph.inputs or .outputs into *list. */
static int load_io(tfl *c, const nn__fb_table *sg, int id, int **list, int *n)
{
	nn__fb *b = &c->fb;
	const char *what = id == 1 ? "inputs" : "outputs";
	nn__fb_vec v;
	if (nn__fb_vector(b, sg, id, 4, &v) < 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "SubGraph.%s: %s", what, b->why);
	if (nn__tfl_charge(c, 4 * (size_t)v.n) < 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "SubGraph.%s: %u entries take the model past the data its size allows", what,
			    v.n);
	*list = malloc(((size_t)v.n + 1) * sizeof **list);
	if (!*list)
		return nn__tfl_fail(c, NN_ERR_NOMEM, "out of memory for %u graph %s", v.n, what);
	*n = (int)v.n;
	for (uint32_t k = 0; k < v.n; k++) {
		int32_t t = nn__fb_vec_i32(b, &v, k);
		if (t < 0 || t >= c->g->n_tensors)
			return nn__tfl_fail(c, NN_ERR_FORMAT, "graph %s %u is tensor %d, expected 0 to %d", what, k, t,
				    c->g->n_tensors - 1);
		(*list)[k] = t;
	}
	return 0;
}

/*
 * Checks that the nodes run in an order that works: every tensor a node reads
 * is a constant, a graph input or an earlier node's output, and no tensor is
 * written twice or written over a constant.
 */
static int check_flow(tfl *c)
{
	nn_graph *g = c->g;
	char td[160];
	unsigned char *ready = calloc((size_t)g->n_tensors + 1, 1);
	if (!ready)
		return nn__tfl_fail(c, NN_ERR_NOMEM, "out of memory");
	int rc = 0;
	for (int t = 0; t < g->n_tensors; t++)
		ready[t] = g->tensors[t].is_const ? 1 : 0;
	for (int k = 0; k < g->n_inputs; k++)
		ready[g->inputs[k]] = 1;
	for (int i = 0; i < g->n_nodes && rc == 0; i++) {
		const nn_node *n = &g->nodes[i];
		for (int k = 0; k < n->n_inputs && rc == 0; k++)
			if (n->inputs[k] >= 0 && !ready[n->inputs[k]])
				rc = nn__tfl_fail(c, NN_ERR_FORMAT, "node %d (output '%.100s'): it reads %s, which no earlier node writes",
					  i, n->name, nn__tfl_tensor_desc(c, n->inputs[k], td, sizeof td));
		for (int k = 0; k < n->n_outputs && rc == 0; k++) {
			if (ready[n->outputs[k]])
				rc = nn__tfl_fail(c, NN_ERR_FORMAT,
					  "node %d (output '%.100s'): it writes %s, which is already a constant, a graph input or an earlier node's output",
					  i, n->name, nn__tfl_tensor_desc(c, n->outputs[k], td, sizeof td));
			ready[n->outputs[k]] = 1;
		}
	}
	for (int k = 0; k < g->n_outputs && rc == 0; k++)
		if (!ready[g->outputs[k]])
			rc = nn__tfl_fail(c, NN_ERR_FORMAT, "graph output %d, %s, is never written", k,
				  nn__tfl_tensor_desc(c, g->outputs[k], td, sizeof td));
	free(ready);
	return rc;
}

static int check_magic(tfl *c, const void *buf, size_t len)
{
	if (!buf || len < 8 || memcmp((const char *)buf + 4, "TFL3", 4) != 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT,
			    "not a TensorFlow Lite model: expected \"TFL3\" at bytes 4..7 (the file has %zu bytes)", len);
	return 0;
}

static int load_model(tfl *c)
{
	nn__fb *b = &c->fb;
	nn__fb_table model, sg;
	nn__fb_vec sgs, tensors;
	uint32_t version;
	int rc;
	if (nn__fb_root(b, &model) < 0 || nn__fb_u32(b, &model, 0, 0, &version) < 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "Model: %s", b->why);
	if (version != 3)
		return nn__tfl_fail(c, NN_ERR_UNSUPPORTED, "schema version %u, expected 3", version);
	if (nn__fb_vector(b, &model, 4, 4, &c->buffers) < 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "Model.buffers: %s", b->why);
	if ((rc = load_codes(c, &model)) < 0)
		return rc;
	if (nn__fb_vector(b, &model, 2, 4, &sgs) < 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "Model.subgraphs: %s", b->why);
	if (sgs.n == 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "the model has no subgraph");
	/*
	 * Only subgraph 0 runs. Other subgraphs are either unreachable (more
	 * signatures) or called by control-flow operators (IF, WHILE,
	 * CALL_ONCE), which are not supported and fail the load by name.
	 */
	if (nn__fb_vec_table(b, &sgs, 0, &sg) < 0 || nn__fb_vector(b, &sg, 0, 4, &tensors) < 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "subgraph 0: %s", b->why);
	c->tensor_tables = tensors;
	for (uint32_t i = 0; i < tensors.n; i++) {
		nn__fb_table tt;
		if (nn__fb_vec_table(b, &tensors, i, &tt) < 0)
			return nn__tfl_fail(c, NN_ERR_FORMAT, "tensor %u: %s", i, b->why);
		if ((rc = load_tensor(c, &tt, (int)i)) < 0)
			return rc;
	}
	if ((rc = load_ops(c, &sg)) < 0)
		return rc;
	if (c->n_unsupported > 1)
		return nn__tfl_fail(c, NN_ERR_UNSUPPORTED, "%s (the model uses %d nodes of unsupported operators: %s)",
			    c->unsupported_msg, c->n_unsupported, c->unsupported_list);
	if (c->n_unsupported == 1)
		return nn__tfl_fail(c, NN_ERR_UNSUPPORTED, "%s", c->unsupported_msg);
	if (c->deferred)
		return nn__tfl_fail(c, c->deferred, "%s", c->deferred_msg);
	if ((rc = load_io(c, &sg, 1, &c->g->inputs, &c->g->n_inputs)) < 0 ||
	    (rc = load_io(c, &sg, 2, &c->g->outputs, &c->g->n_outputs)) < 0 || (rc = nn__tfl_release_densified(c)) < 0 ||
	    (rc = nn__tfl_check_folds(c)) < 0 || (rc = nn__tfl_dequantize_weights(c)) < 0 || (rc = check_flow(c)) < 0)
		return rc;
	if (nn_tflite_read_labels(c->g, b->p, b->len) < 0 || nn_tflite_read_zip_metadata(c->g, b->p, b->len) < 0)
		return nn__tfl_fail(c, NN_ERR_NOMEM, "out of memory reading the labels and metadata");
	return 0;
}

int nn_tflite_load(nn_graph **out, const void *buf, size_t len, const char *name, char *err, size_t errlen)
{
	tfl c;
	memset(&c, 0, sizeof c);
	c.name = name ? name : "(memory)";
	c.err = err;
	c.errlen = errlen;
	if (err && errlen)
		err[0] = 0;
	if (!out)
		return nn__tfl_fail(&c, NN_ERR_ARG, "nn_tflite_load: no output pointer");
	*out = NULL;
	int rc = check_magic(&c, buf, len);
	if (rc < 0)
		return rc;
	if (len > SIZE_MAX / 4)
		return nn__tfl_fail(&c, NN_ERR_UNSUPPORTED, "%zu bytes, too large", len);
	c.g = nn_graph_create(c.name);
	void *copy = malloc(len);
	c.io = malloc(2 * MAX_OP_IO * sizeof *c.io);
	if (!c.g || !copy || !c.io) {
		nn_graph_free(c.g);
		free(copy);
		free(c.io);
		return nn__tfl_fail(&c, NN_ERR_NOMEM, "out of memory for a %zu-byte model", len);
	}
	memcpy(copy, buf, len);
	c.g->file = copy;
	c.g->file_len = len;
	c.fb.p = copy;
	c.fb.len = len;
	c.budget = 2 * len + (1u << 20);
	c.dense_budget = len < SIZE_MAX / 32 - (64u << 20) ? 16 * len + (64u << 20) : SIZE_MAX / 2;
	rc = load_model(&c);
	free(c.codes);
	free(c.io);
	free(c.densified);
	free(c.folds);
	free(c.dyn);
	if (rc < 0) {
		nn_graph_free(c.g);
		return rc;
	}
	*out = c.g;
	return 0;
}

int nn_tflite_read_info(nn_tflite_info *info, const void *buf, size_t len, const char *name, char *err,
			size_t errlen)
{
	tfl c;
	memset(&c, 0, sizeof c);
	c.name = name ? name : "(memory)";
	c.err = err;
	c.errlen = errlen;
	if (!info)
		return nn__tfl_fail(&c, NN_ERR_ARG, "nn_tflite_read_info: no info");
	memset(info, 0, sizeof *info);
	int rc = check_magic(&c, buf, len);
	if (rc < 0)
		return rc;
	nn__fb *b = &c.fb;
	b->p = buf;
	b->len = len;
	nn__fb_table model, sg;
	nn__fb_vec sgs, ops;
	const char *s;
	size_t n;
	const uint8_t *data;
	if (nn__fb_root(b, &model) < 0 || nn__fb_u32(b, &model, 0, 0, &info->schema_version) < 0 ||
	    nn__fb_string(b, &model, 3, &s, &n) < 0 || nn__fb_vector(b, &model, 2, 4, &sgs) < 0)
		return nn__tfl_fail(&c, NN_ERR_FORMAT, "Model: %s", b->why);
	if (s && !(info->description = nn__fb_strndup(s, n)))
		rc = nn__tfl_fail(&c, NN_ERR_NOMEM, "out of memory");
	info->n_subgraphs = (int)sgs.n;
	if (rc == 0)
		rc = load_codes(&c, &model);
	if (rc == 0 && sgs.n > 0) {
		if (nn__fb_vec_table(b, &sgs, 0, &sg) < 0 || nn__fb_vector(b, &sg, 3, 4, &ops) < 0)
			rc = nn__tfl_fail(&c, NN_ERR_FORMAT, "subgraph 0: %s", b->why);
		else if (!(info->op_names = calloc((size_t)ops.n + 1, sizeof *info->op_names)) ||
			 !(info->op_versions = calloc((size_t)ops.n + 1, sizeof *info->op_versions)))
			rc = nn__tfl_fail(&c, NN_ERR_NOMEM, "out of memory");
		for (uint32_t i = 0; rc == 0 && i < ops.n; i++) {
			nn__fb_table t;
			uint32_t ci;
			char nm[96];
			if (nn__fb_vec_table(b, &ops, i, &t) < 0 || nn__fb_u32(b, &t, 0, 0, &ci) < 0) {
				rc = nn__tfl_fail(&c, NN_ERR_FORMAT, "node %u: %s", i, b->why);
				break;
			}
			if (ci >= c.n_codes) {
				rc = nn__tfl_fail(&c, NN_ERR_FORMAT, "node %u: opcode_index %u out of range (the model has %u operator codes)",
					  i, ci, c.n_codes);
				break;
			}
			const tfl_code *oc = &c.codes[ci];
			if (oc->builtin == TFL_CUSTOM) {
				/* Operators may share one code, so a long custom name is cut rather than copied per node. */
				info->op_names[i] = nn__fb_strndup(oc->custom ? oc->custom : "",
								   oc->custom_len > 255 ? 255 : oc->custom_len);
			} else {
				op_name(oc, nm, sizeof nm);
				info->op_names[i] = strdup(nm);
			}
			info->op_versions[i] = oc->version;
			info->n_ops = (int)i + 1;
			if (!info->op_names[i])
				rc = nn__tfl_fail(&c, NN_ERR_NOMEM, "out of memory");
		}
	}
	if (rc == 0 && nn__tflite_metadata(b, &model, "min_runtime_version", &data, &n) > 0 &&
	    !(info->min_runtime_version = nn__fb_strndup((const char *)data, n)))
		rc = nn__tfl_fail(&c, NN_ERR_NOMEM, "out of memory");
	if (rc == 0 && nn__tflite_metadata(b, &model, "TFLITE_METADATA", &data, &n) > 0 &&
	    nn__tflite_meta_info(data, n, info) < 0)
		rc = nn__tfl_fail(&c, NN_ERR_NOMEM, "out of memory");
	free(c.codes);
	if (rc < 0)
		nn_tflite_info_free(info);
	return rc;
}

void nn_tflite_info_free(nn_tflite_info *info)
{
	if (!info)
		return;
	free(info->description);
	free(info->min_runtime_version);
	free(info->meta_name);
	free(info->meta_description);
	free(info->meta_version);
	free(info->meta_author);
	free(info->meta_license);
	for (int i = 0; info->op_names && i < info->n_ops; i++)
		free(info->op_names[i]);
	free(info->op_names);
	free(info->op_versions);
	memset(info, 0, sizeof *info);
}
