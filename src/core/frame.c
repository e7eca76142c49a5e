#include "core/frame.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Row alignment that suits the SIMD code in swscale and libjpeg-turbo. */
#define VG_FRAME_ALIGN 64

struct vg_frame_pool {
	pthread_mutex_t lock;
	int width, height;
	vg_frame *free_list;
	uint64_t allocated;
	uint64_t in_use;
	int released;
};

static int align_up(int v)
{
	return (v + VG_FRAME_ALIGN - 1) & ~(VG_FRAME_ALIGN - 1);
}

vg_frame_pool *vg_frame_pool_create(int width, int height)
{
	if (width <= 0 || height <= 0 || (width & 1) || (height & 1) || width > 16384 || height > 16384)
		return NULL;
	vg_frame_pool *pool = calloc(1, sizeof *pool);
	if (!pool)
		return NULL;
	pthread_mutex_init(&pool->lock, NULL);
	pool->width = width;
	pool->height = height;
	return pool;
}

static vg_frame *frame_alloc(vg_frame_pool *pool)
{
	vg_frame *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	int ys = align_up(pool->width);
	int cs = align_up(pool->width / 2);
	size_t ysize = (size_t)ys * (size_t)pool->height;
	size_t csize = (size_t)cs * (size_t)(pool->height / 2);
	if (posix_memalign((void **)&f->buffer, VG_FRAME_ALIGN, ysize + 2 * csize) != 0) {
		free(f);
		return NULL;
	}
	f->width = pool->width;
	f->height = pool->height;
	f->plane[0] = f->buffer;
	f->plane[1] = f->buffer + ysize;
	f->plane[2] = f->buffer + ysize + csize;
	f->stride[0] = ys;
	f->stride[1] = cs;
	f->stride[2] = cs;
	f->pool = pool;
	return f;
}

static void frame_free(vg_frame *f)
{
	free(f->buffer);
	free(f);
}

static void pool_destroy(vg_frame_pool *pool)
{
	vg_frame *f = pool->free_list;
	while (f) {
		vg_frame *next = f->next_free;
		frame_free(f);
		f = next;
	}
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}

vg_frame *vg_frame_pool_get(vg_frame_pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	vg_frame *f = pool->free_list;
	if (f) {
		pool->free_list = f->next_free;
	} else {
		f = frame_alloc(pool);
		if (f)
			pool->allocated++;
	}
	if (f)
		pool->in_use++;
	pthread_mutex_unlock(&pool->lock);
	if (!f)
		return NULL;
	f->next_free = NULL;
	f->id = 0;
	f->capture_wall_us = 0;
	f->capture_mono_us = 0;
	f->decode_us = 0;
	f->epoch = 0;
	atomic_store(&f->refs, 1);
	return f;
}

void vg_frame_pool_release(vg_frame_pool *pool)
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

void vg_frame_pool_get_stats(vg_frame_pool *pool, vg_frame_pool_stats *out)
{
	pthread_mutex_lock(&pool->lock);
	out->allocated = pool->allocated;
	out->in_use = pool->in_use;
	pthread_mutex_unlock(&pool->lock);
}

vg_frame *vg_frame_copy(const vg_frame *frame)
{
	vg_frame *copy = vg_frame_pool_get(frame->pool);
	if (!copy)
		return NULL;
	/* Pool frames share geometry and strides, so the planes copy in one go each. */
	size_t ysize = (size_t)frame->stride[0] * (size_t)frame->height;
	size_t csize = (size_t)frame->stride[1] * (size_t)(frame->height / 2);
	memcpy(copy->plane[0], frame->plane[0], ysize);
	memcpy(copy->plane[1], frame->plane[1], csize);
	memcpy(copy->plane[2], frame->plane[2], csize);
	copy->id = frame->id;
	copy->capture_wall_us = frame->capture_wall_us;
	copy->capture_mono_us = frame->capture_mono_us;
	copy->epoch = frame->epoch;
	copy->decode_us = frame->decode_us;
	return copy;
}

vg_frame *vg_frame_ref(vg_frame *frame)
{
	atomic_fetch_add_explicit(&frame->refs, 1, memory_order_relaxed);
	return frame;
}

void vg_frame_unref(vg_frame *frame)
{
	if (!frame)
		return;
	if (atomic_fetch_sub_explicit(&frame->refs, 1, memory_order_acq_rel) != 1)
		return;
	vg_frame_pool *pool = frame->pool;
	pthread_mutex_lock(&pool->lock);
	frame->next_free = pool->free_list;
	pool->free_list = frame;
	pool->in_use--;
	int destroy = pool->released && pool->in_use == 0;
	pthread_mutex_unlock(&pool->lock);
	if (destroy)
		pool_destroy(pool);
}
