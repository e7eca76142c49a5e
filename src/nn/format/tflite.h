#ifndef NN_TFLITE_H
#define NN_TFLITE_H

/*
 * The TensorFlow Lite loader: reads a .tflite FlatBuffer (schema version 3)
 * straight from memory into the graph IR, and the labels that TFLite
 * metadata packs into the file.
 */

#include <stddef.h>
#include <stdint.h>

#include "nn/graph.h"

/*
 * Builds a graph from a TensorFlow Lite flatbuffer. buf stays the caller's:
 * the graph keeps its own copy in g->file, into which constant tensors point.
 * Returns 0 with *out set, or a negative NN_ERR_* code with a message in err
 * naming `name`, the node or tensor at fault and what was expected (*out is
 * then NULL). Only subgraph 0 is loaded.
 */
int nn_tflite_load(nn_graph **out, const void *buf, size_t len, const char *name, char *err, size_t errlen);

/*
 * Reads the label file that TFLite metadata packs into a model (a zip
 * archive appended to the file, or held in a metadata buffer) into
 * g->labels / g->n_labels. Labels are optional, so a missing, compressed or
 * damaged archive is not an error: it leaves g->labels alone, and a reason
 * goes to stderr when the environment variable NN_DEBUG is set. Returns the
 * number of labels read (0 for none) or NN_ERR_NOMEM.
 */
int nn_tflite_read_labels(nn_graph *g, const void *buf, size_t len);

/*
 * Stores the Ultralytics metadata files (temp_meta.txt, metadata.json) of a
 * zip archive appended to the model with nn_graph_add_metadata, keyed by
 * file name and verbatim. Unreadable archives and entries are skipped.
 * Returns how many were stored, or NN_ERR_NOMEM.
 */
int nn_tflite_read_zip_metadata(nn_graph *g, const void *buf, size_t len);

/* Facts about a model for `vigil inspect`, read without building a graph. */
typedef struct nn_tflite_info {
	uint32_t schema_version;
	char *description;         /* Model.description ("MLIR Converted.", ...), or NULL */
	char *min_runtime_version; /* the "min_runtime_version" metadata entry, or NULL */
	/* From the TFLite metadata flatbuffer ("TFLITE_METADATA"), when present; else NULL. */
	char *meta_name, *meta_description, *meta_version, *meta_author, *meta_license;
	int n_subgraphs;
	int n_ops;                 /* operators of subgraph 0 */
	char **op_names;           /* per operator: "CONV_2D", or the custom code of a CUSTOM op */
	int *op_versions;          /* per operator: its OperatorCode.version */
} nn_tflite_info;

/* Fills info (zeroed first). Returns 0, or a negative code with a message in err. */
int nn_tflite_read_info(nn_tflite_info *info, const void *buf, size_t len, const char *name, char *err,
			size_t errlen);
void nn_tflite_info_free(nn_tflite_info *info);

/* The name of a TFLite BuiltinOperator code ("CONV_2D"), or NULL for a code this table does not know. */
const char *nn_tflite_builtin_name(int32_t code);

#endif
