/*
 * libFuzzer target for the tensor-bundle reader. The input is a 4-byte
 * little-endian length L, then L bytes of variables.index (a LevelDB table),
 * then the bytes of the one data shard. Every tensor the index names is
 * read: the reader must return it with its bytes checked, or an error with a
 * message, and never read outside the index or the shard.
 * Seeds: fuzz/corpus/tensor_bundle/ (built from the real bundles and the
 * tests' hand-made tables).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/format/tensor_bundle.h"

#define REQUIRE(cond)                     \
	do {                              \
		if (!(cond))              \
			__builtin_trap(); \
	} while (0)

static volatile uint8_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	size_t ilen = (size_t)data[0] | (size_t)data[1] << 8 | (size_t)data[2] << 16 | (size_t)data[3] << 24;
	if (ilen > size - 4)
		ilen = size - 4;
	/* Copies, so that AddressSanitizer sees each buffer's own end. */
	uint8_t *index = malloc(ilen ? ilen : 1), *shard = malloc(size - 4 - ilen + 1);
	memcpy(index, data + 4, ilen);
	size_t slen = size - 4 - ilen;
	memcpy(shard, data + 4 + ilen, slen);
	const void *shards[1] = { shard };
	nn_tf_bundle *b = NULL;
	char err[256];
	err[0] = 0;
	if (nn_tf_bundle_open_buffers(&b, index, ilen, shards, &slen, 1, "fuzz.index", err, sizeof err) == 0) {
		nn_tf_graph g = { 0 };
		for (int i = 0; i < nn_tf_bundle_count(b); i++) {
			const char *key = nn_tf_bundle_key(b, i);
			REQUIRE(key && nn_tf_bundle_has(b, key));
			nn_tf_tensor t;
			err[0] = 0;
			if (nn_tf_bundle_read(b, key, &g, &t, err, sizeof err) == 0) {
				size_t n = (size_t)t.elements * nn_tf_dtype_size(t.dtype);
				for (size_t j = 0; j < n; j++)
					sink = ((const uint8_t *)t.data)[j];
			} else {
				REQUIRE(err[0]);
			}
		}
		nn_tf_graph_free(&g);
		nn_tf_bundle_free(b);
	} else {
		REQUIRE(err[0]);
	}
	free(index);
	free(shard);
	return 0;
}
