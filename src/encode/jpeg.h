#ifndef VG_JPEG_H
#define VG_JPEG_H

#include <stddef.h>
#include <stdint.h>

#include "core/frame.h"

/* JPEG compression of I420 frames with TurboJPEG, straight from the YUV planes. */

typedef struct vg_jpeg_encoder vg_jpeg_encoder;

/* quality 1..100. Returns NULL if TurboJPEG cannot be initialised. */
vg_jpeg_encoder *vg_jpeg_encoder_create(int quality);
void vg_jpeg_encoder_destroy(vg_jpeg_encoder *enc);

/* The largest JPEG a width x height frame can compress to. */
size_t vg_jpeg_max_size(int width, int height);

/*
 * Compresses frame into dst (capacity cap, at least vg_jpeg_max_size). Returns
 * the JPEG's length, or 0 on failure (logged).
 */
size_t vg_jpeg_encode(vg_jpeg_encoder *enc, const vg_frame *frame, uint8_t *dst, size_t cap);

#endif
