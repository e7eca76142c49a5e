#ifndef NN_TFLITE_H
#define NN_TFLITE_H

#include <stddef.h>

#include "nn/graph.h"

/* Builds a graph from a TensorFlow Lite flatbuffer. buf stays the caller's. */
int nn_tflite_load(nn_graph **out, const void *buf, size_t len, const char *name, char *err, size_t errlen);

#endif
