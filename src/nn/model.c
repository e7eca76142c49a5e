#include "nn/model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nn/backend/exec.h"
#include "nn/format/graphdef.h"
#include "nn/format/keras.h"
#include "nn/format/onnx.h"
#include "nn/format/savedmodel.h"
#include "nn/format/tfjs.h"
#include "nn/format/tflite.h"
#include "nn/pass/pass.h"
#include "nn/rows.h"

struct nn_model {
	nn_graph *g;
	nn_prepare_options opt;
	int prepared; /* 1 after a successful nn_model_prepare, -1 after a failed one */
	void *arena;
	size_t arena_bytes;
	pthreadpool_t pool;
	int profiling;
	double *node_us; /* per node, last run; allocated at prepare */
};

int nn_model_from_graph(nn_model **out, nn_graph *g, char *err, size_t errlen)
{
	*out = NULL;
	if (!g)
		return nn_graph_fail(err, errlen, NN_ERR_ARG, "nn_model_from_graph: no graph");
	nn_model *m = calloc(1, sizeof *m);
	if (!m) {
		nn_graph_free(g);
		return nn_graph_fail(err, errlen, NN_ERR_NOMEM, "%s: out of memory", g->source);
	}
	m->g = g;
	*out = m;
	return 0;
}

/* Builds a model from a TFLite image; the loader copies what it keeps, so buf stays the caller's. */
static int load_tflite(nn_model **out, const void *buf, size_t len, const char *name, char *err, size_t errlen)
{
	nn_graph *g = NULL;
	int rc = nn_tflite_load(&g, buf, len, name, err, errlen);
	if (rc < 0) {
		nn_graph_free(g);
		return rc;
	}
	if (!g)
		return nn_graph_fail(err, errlen, NN_ERR_FORMAT, "%s: the TensorFlow Lite loader returned no graph", name);
	return nn_model_from_graph(out, g, err, errlen);
}

static int is_tflite(const void *buf, size_t len)
{
	return len >= 8 && memcmp((const char *)buf + 4, "TFL3", 4) == 0;
}

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcmp(s + n - k, suffix);
}

int nn_model_load(nn_model **out, const char *path, char *err, size_t errlen)
{
	return nn_model_load_ex(out, path, NULL, err, errlen);
}

int nn_model_load_ex(nn_model **out, const char *path, const nn_load_options *o, char *err, size_t errlen)
{
	if (!out || !path)
		return nn_graph_fail(err, errlen, NN_ERR_ARG, "nn_model_load: no output pointer or path");
	*out = NULL;
	if (nn_tfjs_is_model_path(path)) {
		nn_graph *g = NULL;
		int rc = nn_tfjs_load(&g, path, err, errlen);
		return rc < 0 ? rc : nn_model_from_graph(out, g, err, errlen);
	}
	/* A SavedModel is a folder (saved_model.pb and variables/), named by the folder or by its saved_model.pb. */
	if (nn_savedmodel_is_path(path)) {
		nn_tf_build_options bo = { .input_w = o ? o->input_w : 0, .input_h = o ? o->input_h : 0 };
		nn_graph *g = NULL;
		int rc = nn_savedmodel_load(&g, path, &bo, err, errlen);
		return rc < 0 ? rc : nn_model_from_graph(out, g, err, errlen);
	}
	FILE *f = fopen(path, "rb");
	if (!f)
		return nn_graph_fail(err, errlen, NN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return nn_graph_fail(err, errlen, NN_ERR_IO, "%s: not a regular file", path);
	}
	if ((unsigned long long)st.st_size > SIZE_MAX / 2) {
		fclose(f);
		return nn_graph_fail(err, errlen, NN_ERR_IO, "%s: file too large (%lld bytes)", path, (long long)st.st_size);
	}
	size_t len = (size_t)st.st_size;
	void *buf = malloc(len ? len : 1);
	if (!buf) {
		fclose(f);
		return nn_graph_fail(err, errlen, NN_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, len);
	}
	size_t got = fread(buf, 1, len, f);
	int read_error = ferror(f);
	fclose(f);
	if (got != len || read_error) {
		free(buf);
		return nn_graph_fail(err, errlen, NN_ERR_IO, "%s: read %zu of %zu bytes", path, got, len);
	}
	if (is_tflite(buf, len)) {
		int rc = load_tflite(out, buf, len, path, err, errlen);
		free(buf);
		return rc;
	}
	if (nn_keras_is_hdf5(buf, len) || nn_keras_is_zip(buf, len)) {
		/* Keras files go by content, whatever their name: .h5, .hdf5, .keras, .model. */
		nn_graph *g = NULL;
		int rc = nn_keras_is_zip(buf, len) ? nn_keras_load_zip(&g, buf, len, path, err, errlen)
						   : nn_keras_load_hdf5(&g, buf, len, path, err, errlen);
		free(buf);
		return rc < 0 ? rc : nn_model_from_graph(out, g, err, errlen);
	}
	if (nn_onnx_sniff(buf, len) && !nn_graphdef_sniff(buf, len)) {
		nn_onnx_options oo = { .input_w = o ? o->input_w : 0, .input_h = o ? o->input_h : 0 };
		nn_graph *g = NULL;
		int rc = nn_onnx_load_buffer(&g, buf, len, path, &oo, err, errlen);
		free(buf);
		return rc < 0 ? rc : nn_model_from_graph(out, g, err, errlen);
	}
	if (nn_graphdef_sniff(buf, len)) {
		nn_tf_build_options bo = { .input_w = o ? o->input_w : 0, .input_h = o ? o->input_h : 0 };
		nn_graph *g = NULL;
		int rc = nn_graphdef_load_buffer(&g, buf, len, path, &bo, err, errlen);
		free(buf);
		return rc < 0 ? rc : nn_model_from_graph(out, g, err, errlen);
	}
	if (has_suffix(path, ".onnx")) {
		/* Named ONNX but not read as one: let the ONNX reader say where it breaks. */
		nn_graph *g = NULL;
		int rc = nn_onnx_load_buffer(&g, buf, len, path, NULL, err, errlen);
		free(buf);
		return rc < 0 ? rc : nn_model_from_graph(out, g, err, errlen);
	}
	free(buf);
	if (has_suffix(path, ".pb"))
		return nn_graph_fail(err, errlen, NN_ERR_FORMAT,
				     "%s: not a frozen TensorFlow GraphDef (its first field is not a node); a SavedModel is "
				     "loaded from its folder",
				     path);
	return nn_graph_fail(err, errlen, NN_ERR_FORMAT,
			     "%s: model format not recognised (expected a TensorFlow Lite flatbuffer, with \"TFL3\" at "
			     "bytes 4..7, a frozen TensorFlow GraphDef .pb, an ONNX model, a Keras HDF5 file or a Keras 3 .keras zip)",
			     path);
}

int nn_model_load_tflite_buffer(nn_model **out, const void *buf, size_t len, const char *name, char *err,
				size_t errlen)
{
	if (!out || (!buf && len))
		return nn_graph_fail(err, errlen, NN_ERR_ARG, "nn_model_load_tflite_buffer: no output pointer or buffer");
	*out = NULL;
	if (!name)
		name = "(memory)";
	return load_tflite(out, buf, len, name, err, errlen);
}

int nn_model_prepare(nn_model *m, const nn_prepare_options *opt, char *err, size_t errlen)
{
	if (!m)
		return nn_graph_fail(err, errlen, NN_ERR_ARG, "nn_model_prepare: no model");
	nn_graph *g = m->g;
	if (m->prepared)
		return nn_graph_fail(err, errlen, NN_ERR_ARG, "%s: nn_model_prepare called twice", g->source);
	/* Until it succeeds, the model counts as failed, so that nn_model_run refuses it. */
	m->prepared = -1;
	m->opt = opt ? *opt : (nn_prepare_options){ .threads = 1 };

	int rc = nn_exec_check_graph(g, err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = nn_pass_fold_constants(g, err, errlen)) < 0)
		return rc;
	if ((rc = nn_pass_shuffle_slices(g, err, errlen)) < 0)
		return rc;
	if ((rc = nn_pass_fold_transposes(g, err, errlen)) < 0)
		return rc;
	if ((rc = nn_pass_fuse_activations(g, err, errlen)) < 0)
		return rc;
	if ((rc = nn_pass_fuse_pad(g, err, errlen)) < 0)
		return rc;
	if ((rc = nn_pass_fuse_ops(g, err, errlen)) < 0)
		return rc;
	if ((rc = nn_rows_plan(g, err, errlen)) < 0)
		return rc;

	size_t *offsets = malloc(((size_t)g->n_tensors + 1) * sizeof *offsets);
	if (!offsets)
		return nn_graph_fail(err, errlen, NN_ERR_NOMEM, "%s: out of memory", g->source);
	rc = nn_exec_plan(g, offsets, &m->arena_bytes, err, errlen);
	if (rc < 0) {
		free(offsets);
		return rc;
	}
	/* Zeroed once so that a run never reads uninitialised memory, even of a model that reads before writing. */
	size_t bytes = m->arena_bytes ? m->arena_bytes : 64;
	m->arena = aligned_alloc(64, bytes);
	m->node_us = calloc((size_t)g->n_nodes + 1, sizeof *m->node_us);
	if (!m->arena || !m->node_us) {
		free(offsets);
		return nn_graph_fail(err, errlen, NN_ERR_NOMEM, "%s: out of memory allocating a %zu-byte arena", g->source,
				     bytes);
	}
	memset(m->arena, 0, bytes);
	for (int i = 0; i < g->n_nodes; i++)
		m->node_us[i] = -1;

	if (m->opt.threads > 1 && !m->opt.reference_only) {
		m->pool = pthreadpool_create((size_t)m->opt.threads);
		if (!m->pool) {
			free(offsets);
			return nn_graph_fail(err, errlen, NN_ERR_NOMEM, "%s: cannot create a pool of %d threads", g->source,
					     m->opt.threads);
		}
	}
	rc = nn_exec_prepare(g, offsets, m->arena, m->opt.reference_only ? NN_EXEC_REFERENCE_ONLY
								    : m->opt.no_native ? NN_EXEC_NO_NATIVE : 0,
			     m->pool, err, errlen);
	free(offsets);
	if (rc < 0)
		return rc;
	m->prepared = 1;
	return 0;
}

int nn_model_run(nn_model *m, char *err, size_t errlen)
{
	if (!m)
		return nn_graph_fail(err, errlen, NN_ERR_ARG, "nn_model_run: no model");
	if (m->prepared != 1)
		return nn_graph_fail(err, errlen, NN_ERR_ARG, "%s: nn_model_run before a successful nn_model_prepare",
				     m->g->source);
	int rc = nn_exec_run(m->g, m->pool, m->profiling ? m->node_us : NULL, err, errlen);
	if (rc == 0)
		nn_rows_propagate(m->g);
	return rc;
}

int nn_model_input_count(const nn_model *m)
{
	return m ? m->g->n_inputs : 0;
}

int nn_model_output_count(const nn_model *m)
{
	return m ? m->g->n_outputs : 0;
}

nn_tensor *nn_model_input(nn_model *m, int i)
{
	if (!m || i < 0 || i >= m->g->n_inputs)
		return NULL;
	int t = m->g->inputs[i];
	return t >= 0 && t < m->g->n_tensors ? &m->g->tensors[t] : NULL;
}

const nn_tensor *nn_model_output(const nn_model *m, int i)
{
	if (!m || i < 0 || i >= m->g->n_outputs)
		return NULL;
	int t = m->g->outputs[i];
	return t >= 0 && t < m->g->n_tensors ? &m->g->tensors[t] : NULL;
}

int nn_model_output_rows(const nn_model *m, int i)
{
	const nn_tensor *t = nn_model_output(m, i);
	if (!t)
		return -1;
	if (t->rank < 1)
		return 1;
	return t->dynamic_rows ? t->rows : t->shape[0];
}

const char *nn_model_origin(const nn_model *m)
{
	return m ? m->g->origin : NULL;
}

const char *nn_model_metadata(const nn_model *m, const char *key)
{
	if (!m || !key)
		return NULL;
	for (int i = 0; i < m->g->n_meta; i++)
		if (strcmp(m->g->meta_keys[i], key) == 0)
			return m->g->meta_values[i];
	return NULL;
}

const char *nn_model_metadata_at(const nn_model *m, int i, const char **key)
{
	if (!m || i < 0 || i >= m->g->n_meta)
		return NULL;
	if (key)
		*key = m->g->meta_keys[i];
	return m->g->meta_values[i];
}

const char *const *nn_model_labels(const nn_model *m, int *count)
{
	if (count)
		*count = m && m->g->labels ? m->g->n_labels : 0;
	if (!m || !m->g->labels || m->g->n_labels <= 0)
		return NULL;
	return (const char *const *)m->g->labels;
}

void nn_model_free(nn_model *m)
{
	if (!m)
		return;
	nn_exec_release(m->g);
	/* Operators go before the pool they were set up with. */
	if (m->pool)
		pthreadpool_destroy(m->pool);
	nn_graph_free(m->g);
	free(m->arena);
	free(m->node_us);
	free(m);
}

nn_graph *nn_model_graph(const nn_model *m)
{
	return m ? m->g : NULL;
}

const char *nn_backend_name(nn_backend b)
{
	switch (b) {
	case NN_BACKEND_XNNPACK:
		return "xnnpack";
	case NN_BACKEND_NATIVE:
		return "native";
	default:
		return "reference";
	}
}

const char *nn_model_node_backend(const nn_model *m, int i)
{
	if (!m || m->prepared != 1 || i < 0 || i >= m->g->n_nodes)
		return "none";
	return nn_backend_name(m->g->nodes[i].runs_on);
}

void nn_model_set_profiling(nn_model *m, int on)
{
	if (m)
		m->profiling = on != 0;
}

double nn_model_node_time_us(const nn_model *m, int i)
{
	if (!m || !m->node_us || i < 0 || i >= m->g->n_nodes)
		return -1;
	return m->node_us[i];
}

size_t nn_model_arena_bytes(const nn_model *m)
{
	return m ? m->arena_bytes : 0;
}

static int64_t dim(const nn_graph *g, int t, int axis)
{
	if (t < 0 || t >= g->n_tensors)
		return 0;
	const nn_tensor *x = &g->tensors[t];
	if (axis < 0)
		axis += x->rank;
	return axis >= 0 && axis < x->rank ? x->shape[axis] : 0;
}

static int64_t elements(const nn_graph *g, int t)
{
	if (t < 0 || t >= g->n_tensors)
		return 0;
	int64_t n = nn_tensor_elements(&g->tensors[t]);
	return n > 0 ? n : 0;
}

static int64_t node_flops(const nn_graph *g, const nn_node *n)
{
	int in0 = n->n_inputs > 0 ? n->inputs[0] : -1;
	int in1 = n->n_inputs > 1 ? n->inputs[1] : -1;
	int out0 = n->n_outputs > 0 ? n->outputs[0] : -1;
	switch (n->op) {
	case NN_OP_CONV2D:
		/* Filter OHWI: each output element takes kh * kw * in MACs. */
		return 2 * elements(g, out0) * dim(g, in1, 1) * dim(g, in1, 2) * dim(g, in1, 3);
	case NN_OP_DEPTHWISE_CONV2D:
		return 2 * elements(g, out0) * dim(g, in1, 1) * dim(g, in1, 2);
	case NN_OP_TRANSPOSE_CONV2D: {
		/*
		 * Inputs in TFLite's order (output shape, filter OHWI, input) or in
		 * convolution order (input, filter). Each input element meets kh * kw * out.
		 */
		int tflite_order = in0 >= 0 && g->tensors[in0].rank == 1 && n->n_inputs > 2;
		int input = tflite_order ? n->inputs[2] : in0;
		return 2 * elements(g, input) * dim(g, in1, 0) * dim(g, in1, 1) * dim(g, in1, 2);
	}
	case NN_OP_FULLY_CONNECTED:
		return 2 * elements(g, out0) * dim(g, in1, 1);
	case NN_OP_AVERAGE_POOL2D:
	case NN_OP_MAX_POOL2D:
		return elements(g, out0) * n->p.pool.filter_h * n->p.pool.filter_w;
	case NN_OP_MEAN:
	case NN_OP_REDUCE_MAX:
	case NN_OP_REDUCE_MIN:
	case NN_OP_REDUCE_SUM:
		return elements(g, in0);
	case NN_OP_ADD:
	case NN_OP_SUB:
	case NN_OP_MUL:
	case NN_OP_DIV:
	case NN_OP_MAXIMUM:
	case NN_OP_MINIMUM:
	case NN_OP_SOFTMAX:
	case NN_OP_LOGISTIC:
	case NN_OP_TANH:
	case NN_OP_RELU:
	case NN_OP_RELU6:
	case NN_OP_RELU_N1_TO_1:
	case NN_OP_HARD_SWISH:
	case NN_OP_LEAKY_RELU:
	case NN_OP_PRELU:
	case NN_OP_RESIZE_BILINEAR:
	case NN_OP_QUANTIZE:
	case NN_OP_DEQUANTIZE:
	case NN_OP_EXP:
	case NN_OP_LOG:
	case NN_OP_NEG:
	case NN_OP_ABS:
	case NN_OP_ERF:
	case NN_OP_ELU:
	case NN_OP_CLAMP:
	case NN_OP_POW:
	case NN_OP_SILU:
		return elements(g, out0);
	default:
		return 0;
	}
}

int64_t nn_model_flops(const nn_model *m)
{
	if (!m)
		return 0;
	int64_t total = 0;
	for (int i = 0; i < m->g->n_nodes; i++)
		total += node_flops(m->g, &m->g->nodes[i]);
	return total;
}
