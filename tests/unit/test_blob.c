#include <string.h>

#include "core/blob.h"
#include "test.h"

TEST(blob_from_copies)
{
	vg_blob *b = vg_blob_from("hello", 5);
	CHECK(b->len == 5 && memcmp(b->data, "hello", 5) == 0);
	CHECK(((uintptr_t)b->data & 63) == 0);
	vg_blob_ref(b);
	vg_blob_unref(b);
	vg_blob_unref(b);
	vg_blob_unref(NULL);
}

TEST(blob_pool_reuses_buffers)
{
	vg_blob_pool *pool = vg_blob_pool_create(1000);
	for (int i = 0; i < 100; i++) {
		vg_blob *a = vg_blob_pool_get(pool);
		vg_blob *b = vg_blob_pool_get(pool);
		CHECK(a->capacity >= 1000 && a->len == 0);
		memset(a->data, 1, 1000);
		a->data += 10; /* producers may trim headroom; the pool restores it */
		vg_blob_unref(a);
		vg_blob_unref(b);
	}
	CHECK(vg_blob_pool_allocated(pool) == 2);
	vg_blob *c = vg_blob_pool_get(pool);
	memset(c->data, 2, 1000); /* would overflow if data were left advanced */
	vg_blob_unref(c);
	vg_blob_pool_release(pool);
}

TEST(blob_pool_grow_discards_small_buffers)
{
	vg_blob_pool *pool = vg_blob_pool_create(100);
	vg_blob *old = vg_blob_pool_get(pool);
	vg_blob_pool_grow(pool, 5000);
	vg_blob *big = vg_blob_pool_get(pool);
	CHECK(big->capacity >= 5000);
	memset(big->data, 0, 5000);
	vg_blob_unref(old); /* too small now: freed, not pooled */
	vg_blob_unref(big);
	vg_blob *again = vg_blob_pool_get(pool);
	CHECK(again->capacity >= 5000);
	vg_blob_unref(again);
	vg_blob_pool_release(pool);
}

TEST(blobs_outlive_released_pool)
{
	vg_blob_pool *pool = vg_blob_pool_create(64);
	vg_blob *b = vg_blob_pool_get(pool);
	vg_blob_pool_release(pool);
	b->data[0] = 1;
	vg_blob_unref(b);
}

TEST_SUITE(blob, TEST_ENTRY(blob_from_copies), TEST_ENTRY(blob_pool_reuses_buffers),
	   TEST_ENTRY(blob_pool_grow_discards_small_buffers), TEST_ENTRY(blobs_outlive_released_pool));
