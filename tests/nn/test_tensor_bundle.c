/*
 * Tests of the tensor-bundle reader (src/nn/format/tensor_bundle.c): bundles
 * built here by a small LevelDB-table writer (tb_writer.h), read back value
 * for value; each way an index or a shard can be broken (truncation, bit
 * flips, bad checksums, offsets past a shard's end, a missing shard file,
 * Snappy blocks, keys out of order), each of which must fail with one
 * message; and the variables of the real SavedModels under
 * VG_ASSETS_DIR/models/savedmodel, skipped by name when absent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn/format/tensor_bundle.h"
#include "tb_writer.h"
#include "test.h"

#ifndef VG_ASSETS_DIR
#define VG_ASSETS_DIR "../shared/assets"
#endif

#define K0 "a/kernel/.ATTRIBUTES/VARIABLE_VALUE"
#define K1 "a/bias/.ATTRIBUTES/VARIABLE_VALUE"
#define K2 "b/kernel/.ATTRIBUTES/VARIABLE_VALUE"

static const float kernel[6] = { 1, -2, 3.5f, 4, 5, -6 };
static const int32_t bias[4] = { 7, 8, -9, 10 };
static const double other[2] = { 0.25, -1e10 };

typedef struct fixture {
	tb_buf index;
	uint8_t shard0[64], shard1[64];
	size_t len0, len1;
	tb_buf vals[4];
} fixture;

static uint32_t mcrc(const void *d, size_t n)
{
	return nn_crc32c_mask(nn_crc32c(0, d, n));
}

/* Three tensors over two shards, in two data blocks: a/bias (shard 0), a/kernel (shard 0, offset 16), b/kernel (shard 1). */
static void build(fixture *f, int per_block)
{
	memset(f, 0, sizeof *f);
	memcpy(f->shard0, bias, sizeof bias);
	memcpy(f->shard0 + 16, kernel, sizeof kernel);
	f->len0 = 16 + sizeof kernel;
	memcpy(f->shard1, other, sizeof other);
	f->len1 = sizeof other;
	f->vals[0] = tb_header(2);
	f->vals[1] = tb_entry(3, 1, (int64_t[]){ 4 }, 0, 0, sizeof bias, mcrc(bias, sizeof bias));
	f->vals[2] = tb_entry(1, 2, (int64_t[]){ 2, 3 }, 0, 16, sizeof kernel, mcrc(kernel, sizeof kernel));
	f->vals[3] = tb_entry(2, 1, (int64_t[]){ 2 }, 1, 0, sizeof other, mcrc(other, sizeof other));
	tb_kv kv[4] = { { "", f->vals[0].p, f->vals[0].n },
			{ K1, f->vals[1].p, f->vals[1].n },
			{ K0, f->vals[2].p, f->vals[2].n },
			{ K2, f->vals[3].p, f->vals[3].n } };
	f->index = tb_table(kv, 4, per_block, 0);
}

static void done(fixture *f)
{
	free(f->index.p);
	for (int i = 0; i < 4; i++)
		free(f->vals[i].p);
}

static int open_fixture(fixture *f, const uint8_t *index, size_t len, nn_tf_bundle **b, char *err, size_t errlen)
{
	const void *shards[2] = { f->shard0, f->shard1 };
	size_t lens[2] = { f->len0, f->len1 };
	return nn_tf_bundle_open_buffers(b, index, len, shards, lens, 2, "t.index", err, errlen);
}

TEST(bundle_crc32c)
{
	/* The check value of CRC-32C (RFC 3720's test vector) and TensorFlow's mask of 0. */
	CHECK(nn_crc32c(0, "123456789", 9) == 0xe3069283u);
	CHECK(nn_crc32c(nn_crc32c(0, "1234", 4), "56789", 5) == 0xe3069283u);
	CHECK(nn_crc32c_mask(0) == 0xa282ead8u);
}

TEST(bundle_reads_back)
{
	for (int per_block = 1; per_block <= 4; per_block++) {
		fixture f;
		build(&f, per_block);
		nn_tf_bundle *b;
		char err[256];
		CHECK_MSG(open_fixture(&f, f.index.p, f.index.n, &b, err, sizeof err) == 0, "%s", err);
		CHECK(nn_tf_bundle_count(b) == 3);
		CHECK(!strcmp(nn_tf_bundle_key(b, 0), K1) && !strcmp(nn_tf_bundle_key(b, 2), K2));
		CHECK(nn_tf_bundle_has(b, K0) && !nn_tf_bundle_has(b, "a/kernel") && !nn_tf_bundle_has(b, ""));
		nn_tf_graph g = { 0 };
		nn_tf_tensor t;
		CHECK(nn_tf_bundle_read(b, K0, &g, &t, err, sizeof err) == 0);
		CHECK(t.dtype == NN_TF_FLOAT && t.rank == 2 && t.dims[0] == 2 && t.dims[1] == 3 && t.elements == 6);
		CHECK(!memcmp(t.data, kernel, sizeof kernel));
		CHECK(nn_tf_bundle_read(b, K1, &g, &t, err, sizeof err) == 0);
		CHECK(t.dtype == NN_TF_INT32 && t.rank == 1 && !memcmp(t.data, bias, sizeof bias));
		CHECK(nn_tf_bundle_read(b, K2, &g, &t, err, sizeof err) == 0);
		CHECK(t.dtype == NN_TF_DOUBLE && !memcmp(t.data, other, sizeof other));
		CHECK(nn_tf_bundle_read(b, "nope", &g, &t, err, sizeof err) == NN_ERR_FORMAT && strstr(err, "no tensor \"nope\""));
		nn_tf_graph_free(&g);
		nn_tf_bundle_free(b);
		done(&f);
	}
}

TEST(bundle_truncated_and_flipped_index)
{
	fixture f;
	build(&f, 2);
	char err[256];
	nn_tf_bundle *b;
	for (size_t n = 0; n < f.index.n; n++) {
		CHECK(open_fixture(&f, f.index.p, n, &b, err, sizeof err) == NN_ERR_FORMAT);
		CHECK(strstr(err, "t.index: "));
	}
	/* Every bit of every block is under a checksum; the footer's padding is the only slack. */
	uint8_t *copy = malloc(f.index.n);
	int accepted = 0;
	for (size_t i = 0; i < f.index.n; i++)
		for (int bit = 0; bit < 8; bit++) {
			memcpy(copy, f.index.p, f.index.n);
			copy[i] ^= (uint8_t)(1 << bit);
			int rc = open_fixture(&f, copy, f.index.n, &b, err, sizeof err);
			if (rc == 0) {
				accepted++;
				CHECK(i >= f.index.n - 48 && i < f.index.n - 8);
				nn_tf_bundle_free(b);
			} else {
				CHECK(rc == NN_ERR_FORMAT || rc == NN_ERR_UNSUPPORTED);
			}
		}
	CHECK(accepted > 0);
	free(copy);
	done(&f);
}

TEST(bundle_bad_data_checksum)
{
	fixture f;
	build(&f, 4);
	f.shard0[16 + 5] ^= 0x10;
	nn_tf_bundle *b;
	char err[256];
	CHECK(open_fixture(&f, f.index.p, f.index.n, &b, err, sizeof err) == 0);
	nn_tf_graph g = { 0 };
	nn_tf_tensor t;
	CHECK(nn_tf_bundle_read(b, K1, &g, &t, err, sizeof err) == 0);
	CHECK(nn_tf_bundle_read(b, K0, &g, &t, err, sizeof err) == NN_ERR_FORMAT);
	CHECK_MSG(strstr(err, "\"" K0 "\" fails its checksum"), "%s", err);
	nn_tf_graph_free(&g);
	nn_tf_bundle_free(b);
	done(&f);
}

/* Builds a one-tensor bundle whose entry is the given bytes. */
static int open_one(const tb_buf *entry, const uint8_t *shard, size_t shard_len, char *err, size_t errlen)
{
	tb_buf h = tb_header(1);
	tb_kv kv[2] = { { "", h.p, h.n }, { K0, entry->p, entry->n } };
	tb_buf index = tb_table(kv, 2, 2, 0);
	nn_tf_bundle *b = NULL;
	const void *shards[1] = { shard };
	int rc = nn_tf_bundle_open_buffers(&b, index.p, index.n, shards, &shard_len, 1, "t.index", err, errlen);
	nn_tf_bundle_free(b);
	free(index.p);
	free(h.p);
	return rc;
}

TEST(bundle_bad_entries)
{
	uint8_t shard[24] = { 0 };
	char err[256];
	struct {
		tb_buf e;
		const char *msg;
	} cases[] = {
		{ tb_entry(1, 1, (int64_t[]){ 4 }, 0, 16, 16, 0), "are past the end of shard 0" },
		{ tb_entry(1, 1, (int64_t[]){ 4 }, 0, 0, 12, 0), "do not fill its 12 bytes" },
		{ tb_entry(1, 1, (int64_t[]){ 4 }, 1, 0, 16, 0), "shard 1 (the bundle has 1)" },
		{ tb_entry(1, 2, (int64_t[]){ 1LL << 40, 1LL << 40 }, 0, 0, 16, 0), "a product that fits 64 bits" },
		{ tb_entry(1, 7, (int64_t[]){ 1, 1, 1, 1, 1, 1, 1 }, 0, 0, 4, 0), "more than 6 dimensions" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		CHECK(open_one(&cases[i].e, shard, sizeof shard, err, sizeof err) < 0);
		CHECK_MSG(strstr(err, cases[i].msg) && strstr(err, K0), "case %zu: %s", i, err);
		free(cases[i].e.p);
	}
	/* A truncated entry message. */
	tb_buf e = tb_entry(1, 1, (int64_t[]){ 4 }, 0, 0, 16, 0);
	e.n -= 2;
	CHECK(open_one(&e, shard, sizeof shard, err, sizeof err) == NN_ERR_FORMAT);
	CHECK_MSG(strstr(err, "BundleEntryProto"), "%s", err);
	free(e.p);
}

TEST(bundle_refusals)
{
	char err[256];
	/* Snappy-compressed blocks. */
	tb_buf h = tb_header(1);
	tb_kv kv[1] = { { "", h.p, h.n } };
	tb_buf index = tb_table(kv, 1, 1, 1);
	nn_tf_bundle *b;
	CHECK(nn_tf_bundle_open_buffers(&b, index.p, index.n, NULL, NULL, 0, "t.index", err, sizeof err) ==
	      NN_ERR_UNSUPPORTED);
	CHECK_MSG(strstr(err, "Snappy"), "%s", err);
	free(index.p);
	/* Keys out of order, and a table with no header. */
	tb_buf e = tb_entry(1, 0, NULL, 0, 0, 4, 0);
	tb_kv bad[3] = { { "", h.p, h.n }, { "b", e.p, e.n }, { "a", e.p, e.n } };
	index = tb_table(bad, 3, 3, 0);
	uint8_t shard[4] = { 0 };
	const void *shards[1] = { shard };
	size_t len = 4;
	CHECK(nn_tf_bundle_open_buffers(&b, index.p, index.n, shards, &len, 1, "t.index", err, sizeof err) == NN_ERR_FORMAT);
	CHECK_MSG(strstr(err, "key \"a\" is out of order"), "%s", err);
	free(index.p);
	index = tb_table(bad + 1, 1, 1, 0);
	CHECK(nn_tf_bundle_open_buffers(&b, index.p, index.n, shards, &len, 1, "t.index", err, sizeof err) == NN_ERR_FORMAT);
	CHECK_MSG(strstr(err, "not the header"), "%s", err);
	free(index.p);
	/* A string tensor opens but is not read. */
	tb_buf s = tb_entry(7, 0, NULL, 0, 0, 4, mcrc(shard, 4));
	tb_kv str[2] = { { "", h.p, h.n }, { "s", s.p, s.n } };
	index = tb_table(str, 2, 2, 0);
	CHECK(nn_tf_bundle_open_buffers(&b, index.p, index.n, shards, &len, 1, "t.index", err, sizeof err) == 0);
	nn_tf_graph g = { 0 };
	nn_tf_tensor t;
	CHECK(nn_tf_bundle_read(b, "s", &g, &t, err, sizeof err) == NN_ERR_UNSUPPORTED && strstr(err, "string"));
	nn_tf_bundle_free(b);
	nn_tf_graph_free(&g);
	free(index.p);
	free(s.p);
	free(e.p);
	free(h.p);
}

static void write_file(const char *path, const void *d, size_t n)
{
	FILE *f = fopen(path, "wb");
	CHECK(f && fwrite(d, 1, n, f) == n);
	fclose(f);
}

TEST(bundle_files)
{
	fixture f;
	build(&f, 2);
	char dir[] = "/tmp/vigil-bundle-XXXXXX", path[256], prefix[128], err[512];
	CHECK(mkdtemp(dir));
	snprintf(prefix, sizeof prefix, "%s/variables", dir);
	snprintf(path, sizeof path, "%s.index", prefix);
	write_file(path, f.index.p, f.index.n);
	snprintf(path, sizeof path, "%s.data-00000-of-00002", prefix);
	write_file(path, f.shard0, f.len0);
	nn_tf_bundle *b;
	/* Shard 1 is missing. */
	CHECK(nn_tf_bundle_open(&b, prefix, err, sizeof err) == NN_ERR_IO);
	CHECK_MSG(strstr(err, "shard 1 of 2") && strstr(err, "variables.data-00001-of-00002") && strstr(err, "missing"),
		  "%s", err);
	snprintf(path, sizeof path, "%s.data-00001-of-00002", prefix);
	write_file(path, f.shard1, f.len1 - 1);
	CHECK(nn_tf_bundle_open(&b, prefix, err, sizeof err) == NN_ERR_FORMAT);
	CHECK_MSG(strstr(err, "past the end of shard 1"), "%s", err);
	write_file(path, f.shard1, f.len1);
	CHECK_MSG(nn_tf_bundle_open(&b, prefix, err, sizeof err) == 0, "%s", err);
	nn_tf_graph g = { 0 };
	nn_tf_tensor t;
	CHECK(nn_tf_bundle_read(b, K2, &g, &t, err, sizeof err) == 0 && !memcmp(t.data, other, sizeof other));
	/* A shard that shrinks after opening. */
	write_file(path, f.shard1, 3);
	CHECK(nn_tf_bundle_read(b, K2, &g, &t, err, sizeof err) == NN_ERR_IO && strstr(err, "shorter"));
	nn_tf_bundle_free(b);
	nn_tf_graph_free(&g);
	snprintf(path, sizeof path, "%s/variables.index", dir);
	CHECK(nn_tf_bundle_open(&b, "/nonexistent/variables", err, sizeof err) == NN_ERR_IO && strstr(err, "cannot open"));
	snprintf(path, sizeof path, "rm -rf %s", dir);
	CHECK(system(path) == 0);
	done(&f);
}

TEST(bundle_real_mnist)
{
	char prefix[512], err[512];
	snprintf(prefix, sizeof prefix, "%s/models/savedmodel/mnist_digits_keras_ahadali01/variables/variables",
		 VG_ASSETS_DIR);
	char index[600];
	snprintf(index, sizeof index, "%s.index", prefix);
	if (access(index, R_OK) != 0)
		SKIP("bundle_real_mnist: %s is absent", index);
	nn_tf_bundle *b;
	CHECK_MSG(nn_tf_bundle_open(&b, prefix, err, sizeof err) == 0, "%s", err);
	CHECK(nn_tf_bundle_count(b) > 6);
	nn_tf_graph g = { 0 };
	nn_tf_tensor t;
	CHECK_MSG(nn_tf_bundle_read(b, "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE", &g, &t, err, sizeof err) == 0,
		  "%s", err);
	CHECK(t.dtype == NN_TF_FLOAT && t.rank == 2 && t.dims[0] == 784 && t.dims[1] == 128);
	/* Every numeric tensor's checksum holds. */
	int read = 0;
	for (int i = 0; i < nn_tf_bundle_count(b); i++) {
		int rc = nn_tf_bundle_read(b, nn_tf_bundle_key(b, i), &g, &t, err, sizeof err);
		CHECK_MSG(rc == 0 || rc == NN_ERR_UNSUPPORTED, "%s", err);
		read += rc == 0;
	}
	CHECK(read >= 6);
	nn_tf_graph_free(&g);
	nn_tf_bundle_free(b);
}

TEST(bundle_real_humanseg)
{
	char prefix[512], err[512];
	snprintf(prefix, sizeof prefix, "%s/models/savedmodel/humanseg_ppseg_lite_portrait_onnx2tf/variables/variables",
		 VG_ASSETS_DIR);
	char index[600];
	snprintf(index, sizeof index, "%s.index", prefix);
	if (access(index, R_OK) != 0)
		SKIP("bundle_real_humanseg: %s is absent", index);
	/* onnx2tf stores every weight as a constant: the bundle holds only the object graph, a string. */
	nn_tf_bundle *b;
	CHECK_MSG(nn_tf_bundle_open(&b, prefix, err, sizeof err) == 0, "%s", err);
	CHECK(nn_tf_bundle_count(b) == 1 && !strcmp(nn_tf_bundle_key(b, 0), "_CHECKPOINTABLE_OBJECT_GRAPH"));
	nn_tf_bundle_free(b);
}

TEST_SUITE(nn_tensor_bundle, TEST_ENTRY(bundle_crc32c), TEST_ENTRY(bundle_reads_back),
	   TEST_ENTRY(bundle_truncated_and_flipped_index), TEST_ENTRY(bundle_bad_data_checksum),
	   TEST_ENTRY(bundle_bad_entries), TEST_ENTRY(bundle_refusals), TEST_ENTRY(bundle_files),
	   TEST_ENTRY(bundle_real_mnist), TEST_ENTRY(bundle_real_humanseg));
