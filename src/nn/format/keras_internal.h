#ifndef NN_KERAS_INTERNAL_H
#define NN_KERAS_INTERNAL_H

/*
 * Shared by the two halves of the Keras config reader: keras.c (the model's
 * structure: layers, calls, inputs and outputs, build order) and
 * keras_layers.c (each layer class onto IR nodes, with its weights). Not
 * part of the engine's interface.
 */

#include <cjson/cJSON.h>
#include <stdint.h>

#include "nn/format/keras.h"

#define MAX_LAYERS 100000
#define MAX_CALLS 4096
#define MAX_DIM (1 << 24)
#define MAX_TENSOR_BYTES ((int64_t)1 << 32)
#define UNSUPPORTED_CAP 1536

#if defined(__GNUC__)
#define PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define PRINTF(a, b)
#endif

typedef struct kl {
	const char *cls, *name;
	const cJSON *cfg;     /* the layer's "config" object */
	const cJSON *calls;   /* functional: the "inbound_nodes" array */
	int n_calls;
	int *out;             /* IR tensor per call, -1 until built */
} kl;

typedef struct kb {
	const char *src;
	char *err;
	size_t errlen;
	int failed;
	const nn_keras_weights *w;
	int keras3;
	cJSON *root;
	kl *layers;
	int n_layers;
	int *slot;            /* name hash: index + 1 */
	size_t cap;
	int sequential;
	nn_graph *g;
} kb;

enum { K_INPUT = 1, K_CONV, K_SEPCONV, K_DWCONV, K_DECONV, K_DENSE, K_BN, K_ACT, K_RELU, K_LEAKY, K_PRELU, K_ELU,
       K_SOFTMAX, K_BINARY, K_AVERAGE, K_CONCAT, K_MAXPOOL, K_AVGPOOL, K_GAP, K_GMP, K_FLATTEN, K_RESHAPE,
       K_PERMUTE, K_IDENTITY, K_ZEROPAD, K_CROP, K_UPSAMPLE, K_RESCALE, K_NORMALIZE, K_TFOP };

struct nn_keras_class {
	const char *name;
	int kind;
	int arg;
};

/* Messages: the first one wins (later ones are its consequences); each returns code. */
PRINTF(3, 4) int nn_keras_fail(kb *c, int code, const char *fmt, ...);
PRINTF(4, 5) int nn_keras_lfail(kb *c, const kl *L, int code, const char *fmt, ...);
int nn_keras_nomem(kb *c);
const char *nn_keras_shape_str(int rank, const int *shape, char *buf, size_t len);
const char *nn_keras_shape64_str(int rank, const int64_t *shape, char *buf, size_t len);

const cJSON *nn_keras_get(const cJSON *o, const char *key);
const char *nn_keras_get_str(const cJSON *o, const char *key);
/* Whether v is an integral number (within +-9e15); then *out is it. */
int nn_keras_int_value(const cJSON *v, int64_t *out);
const char *nn_keras_act_name(const cJSON *v);
int nn_keras_act_known(const char *a);
const struct nn_keras_class *nn_keras_find_class(const char *name);

/* A float32 activation tensor named after the layer (plus suffix), after checking its shape. */
/*
 * Replaces bytes outside printable ASCII in a message with '?': names and
 * libhdf5's words come from the file, and a damaged file puts anything there.
 */
void nn_keras_clean_message(char *msg);

/* Tensor t of the graph being built. */
static inline nn_tensor *T(kb *c, int t)
{
	return &c->g->tensors[t];
}

int nn_keras_new_tensor(kb *c, const kl *L, const char *suffix, int rank, const int64_t *shape);
/* Whether a TFOpLambda's TensorFlow function is one the reader maps. */
int nn_keras_tfop_known(const char *fn);
/* Builds one call of a layer on its input tensors (kwargs: the call's keyword arguments, or NULL). */
int nn_keras_build_layer(kb *c, const kl *L, const int *in, int n_in, const cJSON *kwargs, int *out);

#endif
