#ifndef VG_BLOB_H
#define VG_BLOB_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A reference-counted byte string: one encoded output (an MJPEG part, an SSE
 * event) shared by every client that sends it, never copied per client.
 * Blobs either come from malloc (vg_blob_new) or from a pool of equal-sized
 * buffers (vg_blob_pool_get) so that per-frame outputs allocate nothing in
 * steady state.
 */

typedef struct vg_blob_pool vg_blob_pool;

typedef struct vg_blob {
	uint8_t *data;       /* first byte in use; a producer may advance it to trim headroom */
	size_t len;          /* bytes in use from data on */
	size_t capacity;     /* bytes allocated (from the first byte of the buffer) */

	/* What the bytes are about; set by the producer. */
	uint64_t frame_id;
	int64_t capture_wall_us;
	int width, height;
	/* A sub-range of data with meaning of its own, e.g. the JPEG inside an MJPEG part. */
	size_t payload_off, payload_len;

	/* Private. */
	atomic_int refs;
	vg_blob_pool *pool;
	struct vg_blob *next_free;
} vg_blob;

/* Allocates a blob of capacity len, len bytes in use (content uninitialised). */
vg_blob *vg_blob_new(size_t len);

/* A blob holding a copy of the given bytes. */
vg_blob *vg_blob_from(const void *data, size_t len);

vg_blob *vg_blob_ref(vg_blob *blob);

/* Drops a reference; the last one frees the blob or returns it to its pool. NULL is a no-op. */
void vg_blob_unref(vg_blob *blob);

/* A pool of blobs of at least `capacity` bytes each. */
vg_blob_pool *vg_blob_pool_create(size_t capacity);

/*
 * Takes a blob with one reference, len 0 and data at the buffer start. A pool whose capacity was raised
 * with vg_blob_pool_grow discards smaller buffers as they come back.
 */
vg_blob *vg_blob_pool_get(vg_blob_pool *pool);

/* Raises the capacity of blobs handed out from now on. */
void vg_blob_pool_grow(vg_blob_pool *pool, size_t capacity);

/* Gives up the creator's hold; the pool is freed when its last blob returns. */
void vg_blob_pool_release(vg_blob_pool *pool);

/* Buffers allocated by the pool over its life. */
uint64_t vg_blob_pool_allocated(vg_blob_pool *pool);

#endif
