#ifndef VG_TEST_GREY_FRAME_H
#define VG_TEST_GREY_FRAME_H

#include <string.h>

#include "core/frame.h"

/* A frame of the pool painted mid grey (Y, U and V all 128), for tests that draw on it and look at what changed. */
static inline vg_frame *vg_test_grey_frame(vg_frame_pool *pool)
{
	vg_frame *f = vg_frame_pool_get(pool);
	for (int y = 0; y < f->height; y++)
		memset(f->plane[0] + y * f->stride[0], 128, (size_t)f->width);
	for (int y = 0; y < f->height / 2; y++) {
		memset(f->plane[1] + y * f->stride[1], 128, (size_t)f->width / 2);
		memset(f->plane[2] + y * f->stride[2], 128, (size_t)f->width / 2);
	}
	return f;
}

#endif
