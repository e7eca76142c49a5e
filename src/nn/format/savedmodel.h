#ifndef NN_SAVEDMODEL_H
#define NN_SAVEDMODEL_H

/*
 * TensorFlow SavedModel folders: saved_model.pb (a SavedModel message: its
 * MetaGraphDefs, each with a GraphDef, a function library, signatures and
 * the object graph) and variables/ (a tensor bundle, tensor_bundle.h).
 *
 * The reader picks the signature to run (serving_default, else the one
 * that takes an image), inlines the TF2 function calls it reaches
 * (StatefulPartitionedCall, PartitionedCall, direct calls) into one flat
 * nn_tf_graph, turns each ReadVariableOp into a Const holding the
 * variable's value from the bundle, and hands the result to nn_tf_build.
 */

#include <stddef.h>

#include "nn/format/tensor_bundle.h"
#include "nn/format/tf_graph.h"

/* Whether path names a SavedModel: a directory holding saved_model.pb, or a file called saved_model.pb. */
int nn_savedmodel_is_path(const char *path);

/* Loads a SavedModel (the folder or its saved_model.pb). o may be NULL; its inputs and outputs are ignored. */
int nn_savedmodel_load(nn_graph **out, const char *path, const nn_tf_build_options *o, char *err, size_t errlen);

/*
 * The flat TensorFlow graph of one signature, before nn_tf_build: what the
 * loader builds, exposed for tests. Everything lives in g's arena; the
 * tensors of Const nodes may point into the saved_model.pb bytes, which
 * must outlive g.
 */
typedef struct nn_savedmodel_flat {
	nn_tf_graph g;
	nn_tf_endpoint *inputs, *outputs; /* sorted by name */
	int n_inputs, n_outputs;
	char note[512];                   /* which signature or function was chosen, and why */
} nn_savedmodel_flat;

/*
 * Reads saved_model.pb's bytes and flattens its chosen signature. vars may
 * be NULL when the model has no variables (reading one is then an error
 * naming it). source names the file in messages.
 */
int nn_savedmodel_flatten(nn_savedmodel_flat *out, const void *pb, size_t len, const nn_tf_bundle *vars,
			  const char *source, char *err, size_t errlen);
void nn_savedmodel_flat_free(nn_savedmodel_flat *f);

#endif
