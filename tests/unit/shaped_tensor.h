#ifndef VG_TEST_SHAPED_TENSOR_H
#define VG_TEST_SHAPED_TENSOR_H

#include <string.h>

#include "nn/nn.h"

/* A float32 tensor of the given name (may be NULL) and shape with no data, for tests of choices made by shape. */
static inline nn_tensor shaped(const char *name, int rank, int a, int b, int c, int d)
{
	nn_tensor t;
	memset(&t, 0, sizeof t);
	t.name = (char *)name;
	t.dtype = NN_F32;
	t.rank = rank;
	t.shape[0] = a;
	t.shape[1] = b;
	t.shape[2] = c;
	t.shape[3] = d;
	return t;
}

#endif
