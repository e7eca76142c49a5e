#ifndef VG_FRAME_H
#define VG_FRAME_H

#include <stdatomic.h>
#include <stdint.h>

/*
 * A decoded video frame in planar YUV 4:2:0 (I420), full-range (JPEG) BT.601
 * YCbCr whatever the source delivered, reference-counted and
 * owned by a pool so that steady-state streaming allocates nothing.
 */

typedef struct vg_frame_pool vg_frame_pool;

typedef struct vg_frame {
	uint64_t id;               /* 1, 2, 3 ... per source, never reused */
	int64_t capture_wall_us;   /* Unix time when the source produced the frame */
	int64_t capture_mono_us;   /* the same instant on the monotonic clock */
	int64_t decode_us;         /* time spent decoding and converting it */
	/*
	 * How many times the source had started again (a looped file rewound, a
	 * live input reconnected) when it produced this frame: 0 at first. A
	 * stage that keeps state across frames (a video model's memory) resets
	 * it when this changes.
	 */
	uint32_t epoch;

	int width, height;
	uint8_t *plane[3];         /* Y, U, V */
	int stride[3];

	/* Private to the pool. */
	atomic_int refs;
	vg_frame_pool *pool;
	struct vg_frame *next_free;
	uint8_t *buffer;
} vg_frame;

typedef struct vg_frame_pool_stats {
	uint64_t allocated;  /* frames ever allocated by this pool */
	uint64_t in_use;     /* frames handed out and not yet returned */
} vg_frame_pool_stats;

/*
 * Creates a pool of width x height frames (both even and > 0). Returns NULL
 * on bad geometry or out of memory. The pool holds no frames until asked.
 */
vg_frame_pool *vg_frame_pool_create(int width, int height);

/*
 * Takes a frame from the pool (allocating one when none is free) with one
 * reference owned by the caller. Metadata is reset; pixel content is not.
 */
vg_frame *vg_frame_pool_get(vg_frame_pool *pool);

/*
 * Gives up the creator's hold on the pool. The pool is freed once every frame
 * it handed out has been unreferenced, so frames may outlive this call.
 */
void vg_frame_pool_release(vg_frame_pool *pool);

void vg_frame_pool_get_stats(vg_frame_pool *pool, vg_frame_pool_stats *out);

vg_frame *vg_frame_ref(vg_frame *frame);

/*
 * A private copy of a frame (pixels and metadata) from the same pool, for a
 * stage that draws on a frame another stage may still be reading. NULL when
 * out of memory.
 */
vg_frame *vg_frame_copy(const vg_frame *frame);

/* Drops one reference; the last one returns the frame to its pool. NULL is a no-op. */
void vg_frame_unref(vg_frame *frame);

#endif
