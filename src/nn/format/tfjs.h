#ifndef NN_TFJS_H
#define NN_TFJS_H

/*
 * The TensorFlow.js graph-model loader: model.json (a TensorFlow GraphDef
 * written as JSON, with a manifest of the binary weight shards beside it)
 * into the graph IR. Filters are converted to the IR's layouts (HWIO to
 * OHWI), quantized weights are dequantized to float32, batch normalisation
 * fused into convolutions is folded into their weights, and every tensor
 * gets its static shape at load time.
 */

#include <stddef.h>

#include "nn/graph.h"

/*
 * Builds a graph from a model.json and the shards its weightsManifest names
 * (paths relative to the directory of model_json_path). Returns 0 with *out
 * set, or a negative NN_ERR_* code with a message in err that names the
 * file, the node or weight at fault and what was expected (*out is then
 * NULL). IR tensors are named after the TensorFlow nodes ("name" for a
 * node's first output, "name:1" for its second).
 */
int nn_tfjs_load(nn_graph **out, const char *model_json_path, char *err, size_t errlen);

/* A weight shard held in memory, under the path the manifest uses for it. */
typedef struct nn_tfjs_shard {
	const char *path;
	const void *data;
	size_t len;
} nn_tfjs_shard;

/*
 * The same from memory: json (json_len bytes, not necessarily
 * NUL-terminated) is the model.json text, and each path in the manifest is
 * looked up among shards. name stands for the file in messages. For tests
 * and fuzzing; nothing is read from disk.
 */
int nn_tfjs_load_buffers(nn_graph **out, const char *json, size_t json_len, const nn_tfjs_shard *shards,
			 int n_shards, const char *name, char *err, size_t errlen);

/* Whether path names a TensorFlow.js model for nn_model_load: it ends in ".json". */
int nn_tfjs_is_model_path(const char *path);

#endif
