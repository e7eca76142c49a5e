#ifndef NN_KERAS_H
#define NN_KERAS_H

/*
 * The Keras loader: a model's architecture (the `model_config` JSON of a
 * Keras HDF5 file, or `config.json` of a Keras 3 `.keras` zip) and its
 * weights into the graph IR.
 *
 * It is two parts. keras.c turns the JSON into IR nodes and asks for each
 * layer's weights through nn_keras_weights, a small interface that knows
 * nothing of files; keras_hdf5.c implements that interface over libhdf5
 * (`model_weights/<layer>` with its `weight_names`, or Keras 3's
 * `layers/<layer>/vars/<i>`). The split lets tests and the fuzzer feed the
 * JSON side with synthetic weights.
 */

#include <stddef.h>
#include <stdint.h>

#include "nn/graph.h"

/* One weight as the file holds it, for checking before it is read. */
typedef struct nn_keras_weight {
	char name[160];              /* the file's name for it ("conv2d_1_1/kernel:0"), for messages */
	int rank;                    /* -1 when more than NN_MAX_RANK */
	int64_t shape[NN_MAX_RANK];
} nn_keras_weight;

/*
 * Where a layer's weights come from. Each function returns 0 (count: the
 * number of weights, 0 when the file has none for the layer) or a negative
 * NN_ERR_* code with the reason in why. The builder passes what the config
 * implies (the number of weights; each one's role and shape) so that a
 * source that synthesises weights (tests, the fuzzer) can answer with it;
 * sources that read files ignore it, and the builder checks their answer.
 */
typedef struct nn_keras_weights {
	void *ctx;
	int (*count)(void *ctx, const char *layer, int expected, char *why, size_t whylen);
	int (*info)(void *ctx, const char *layer, int i, const char *role, int rank, const int64_t *shape,
		    nn_keras_weight *w, char *why, size_t whylen);
	/* Reads weight i, n elements converted to float32 (n is what info's shape gives). */
	int (*read)(void *ctx, const char *layer, int i, float *dst, int64_t n, char *why, size_t whylen);
} nn_keras_weights;

/*
 * Builds a graph from a Keras model config (json, len bytes, not necessarily
 * NUL-terminated) and its weights. keras_version is the file's (for the
 * spellings that changed with Keras 3; NULL when unknown). src names the
 * file in messages. Returns 0 with *out set, or a negative NN_ERR_* code
 * with one message in err (every layer that cannot be run is listed in it).
 */
int nn_keras_build(nn_graph **out, const char *json, size_t len, const char *keras_version,
		   const nn_keras_weights *w, const char *src, char *err, size_t errlen);

/* Whether buf starts an HDF5 file: the signature at offset 0, 512, 1024, 2048, ... */
int nn_keras_is_hdf5(const void *buf, size_t len);

/* Whether buf is a zip archive (a Keras 3 `.keras` file is one). */
int nn_keras_is_zip(const void *buf, size_t len);

/* Loads a Keras HDF5 file (Keras 2 `model.save`) held in memory, through libhdf5. */
int nn_keras_load_hdf5(nn_graph **out, const void *buf, size_t len, const char *src, char *err, size_t errlen);

/* Loads a Keras 3 `.keras` zip held in memory (config.json + model.weights.h5). */
int nn_keras_load_zip(nn_graph **out, const void *buf, size_t len, const char *src, char *err, size_t errlen);

#endif
