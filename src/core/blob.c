#include "core/blob.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct vg_blob_pool {
	pthread_mutex_t lock;
	size_t capacity;
	vg_blob *free_list;
	uint64_t allocated;
	uint64_t in_use;
	int released;
};

/* Header and bytes share one allocation; the bytes start 64-byte aligned. */
static const size_t blob_head = (sizeof(vg_blob) + 63) & ~(size_t)63;

static vg_blob *blob_alloc(size_t capacity)
{
	size_t head = blob_head;
	vg_blob *b;
	if (capacity > SIZE_MAX - head || posix_memalign((void **)&b, 64, head + capacity) != 0)
		return NULL;
	memset(b, 0, sizeof *b);
	b->data = (uint8_t *)b + head;
	b->capacity = capacity;
	atomic_init(&b->refs, 1);
	return b;
}

vg_blob *vg_blob_new(size_t len)
{
	vg_blob *b = blob_alloc(len);
	if (b)
		b->len = len;
	return b;
}

vg_blob *vg_blob_from(const void *data, size_t len)
{
	vg_blob *b = vg_blob_new(len);
	if (b && len)
		memcpy(b->data, data, len);
	return b;
}

vg_blob *vg_blob_ref(vg_blob *blob)
{
	atomic_fetch_add_explicit(&blob->refs, 1, memory_order_relaxed);
	return blob;
}

static void pool_destroy(vg_blob_pool *pool)
{
	vg_blob *b = pool->free_list;
	while (b) {
		vg_blob *next = b->next_free;
		free(b);
		b = next;
	}
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}

void vg_blob_unref(vg_blob *blob)
{
	if (!blob || atomic_fetch_sub_explicit(&blob->refs, 1, memory_order_acq_rel) != 1)
		return;
	vg_blob_pool *pool = blob->pool;
	if (!pool) {
		free(blob);
		return;
	}
	pthread_mutex_lock(&pool->lock);
	pool->in_use--;
	if (blob->capacity >= pool->capacity && !pool->released) {
		blob->next_free = pool->free_list;
		pool->free_list = blob;
		blob = NULL;
	}
	int destroy = pool->released && pool->in_use == 0;
	pthread_mutex_unlock(&pool->lock);
	free(blob);
	if (destroy)
		pool_destroy(pool);
}

vg_blob_pool *vg_blob_pool_create(size_t capacity)
{
	vg_blob_pool *pool = calloc(1, sizeof *pool);
	if (!pool)
		return NULL;
	pthread_mutex_init(&pool->lock, NULL);
	pool->capacity = capacity;
	return pool;
}

vg_blob *vg_blob_pool_get(vg_blob_pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	vg_blob *b = pool->free_list;
	if (b) {
		pool->free_list = b->next_free;
	} else {
		b = blob_alloc(pool->capacity);
		if (b) {
			b->pool = pool;
			pool->allocated++;
		}
	}
	if (b)
		pool->in_use++;
	pthread_mutex_unlock(&pool->lock);
	if (!b)
		return NULL;
	b->next_free = NULL;
	b->data = (uint8_t *)b + blob_head;
	b->len = 0;
	b->frame_id = 0;
	b->capture_wall_us = 0;
	b->width = b->height = 0;
	b->payload_off = b->payload_len = 0;
	atomic_store(&b->refs, 1);
	return b;
}

void vg_blob_pool_grow(vg_blob_pool *pool, size_t capacity)
{
	pthread_mutex_lock(&pool->lock);
	if (capacity > pool->capacity) {
		pool->capacity = capacity;
		/* Buffers on the free list are now too small. */
		vg_blob *b = pool->free_list;
		pool->free_list = NULL;
		while (b) {
			vg_blob *next = b->next_free;
			free(b);
			b = next;
		}
	}
	pthread_mutex_unlock(&pool->lock);
}

void vg_blob_pool_release(vg_blob_pool *pool)
{
	if (!pool)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->released = 1;
	int idle = pool->in_use == 0;
	pthread_mutex_unlock(&pool->lock);
	if (idle)
		pool_destroy(pool);
}

uint64_t vg_blob_pool_allocated(vg_blob_pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	uint64_t n = pool->allocated;
	pthread_mutex_unlock(&pool->lock);
	return n;
}
