#ifndef NN_TENSOR_BUNDLE_H
#define NN_TENSOR_BUNDLE_H

/*
 * TensorFlow's tensor bundle: the checkpoint format of a SavedModel's
 * variables/ folder. PREFIX.index is a LevelDB-format table (an SSTable)
 * mapping each checkpoint key to a BundleEntryProto (dtype, shape, shard,
 * offset, size, masked CRC32C); PREFIX.data-SSSSS-of-NNNNN hold the tensor
 * bytes. The entry with the empty key is the BundleHeaderProto.
 *
 * Opening reads and checks the whole index (footer, block checksums, key
 * order, every entry's fields against its shard's size); reading a tensor
 * checks its bytes against the entry's checksum. Only uncompressed tables
 * are read: TensorFlow writes its bundle indexes without compression.
 */

#include <stddef.h>
#include <stdint.h>

#include "nn/format/tf_graph.h"

typedef struct nn_tf_bundle nn_tf_bundle;

/* Opens PREFIX.index (e.g. "model/variables/variables") and checks that its shard files exist. */
int nn_tf_bundle_open(nn_tf_bundle **out, const char *prefix, char *err, size_t errlen);

/*
 * The same over bytes in memory (tests and fuzzing): the index and each
 * shard's bytes, which must outlive the bundle. name is for messages.
 */
int nn_tf_bundle_open_buffers(nn_tf_bundle **out, const void *index, size_t index_len, const void *const *shards,
			      const size_t *shard_lens, int n_shards, const char *name, char *err, size_t errlen);

/* The number of tensors (entries other than the header) and the i-th key, in the table's (sorted) order. */
int nn_tf_bundle_count(const nn_tf_bundle *b);
const char *nn_tf_bundle_key(const nn_tf_bundle *b, int i);
/* Whether the bundle holds key. */
int nn_tf_bundle_has(const nn_tf_bundle *b, const char *key);

/*
 * Reads the tensor stored under key into g's arena, checking its place in
 * its shard and its checksum. Returns 0, or a negative NN_ERR_* with a
 * message naming the bundle, the key and what was wrong. Strings and
 * partitioned (sliced) tensors are refused.
 */
int nn_tf_bundle_read(const nn_tf_bundle *b, const char *key, nn_tf_graph *g, nn_tf_tensor *out, char *err,
		      size_t errlen);

void nn_tf_bundle_free(nn_tf_bundle *b);

/* CRC-32C (Castagnoli) of len bytes, continuing from crc (0 to start), and TensorFlow's and LevelDB's mask of it. */
uint32_t nn_crc32c(uint32_t crc, const void *data, size_t len);
static inline uint32_t nn_crc32c_mask(uint32_t crc)
{
	return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

#endif
