#ifndef VG_TEST_TFLITE_LOAD_H
#define VG_TEST_TFLITE_LOAD_H

/*
 * For the engine's tests: a model described with tflite_builder.h, built and
 * handed to the TFLite loader. Kept apart from the builder, which the fuzz
 * corpus generator also includes and which must not know the loader.
 */

#include <stdlib.h>

#include "nn/format/tflite.h"
#include "test.h"
#include "tflite_builder.h"

/* The loader's return code, with *g and err as the loader leaves them. */
static inline int tb_load(const tb_model *m, nn_graph **g, char *err, size_t errlen)
{
	size_t len;
	uint8_t *f = tb_build(m, &len, NULL);
	CHECK(f != NULL);
	*g = NULL;
	int rc = nn_tflite_load(g, f, len, "t.tflite", err, errlen);
	free(f);
	return rc;
}

#endif
