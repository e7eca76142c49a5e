#ifndef VG_SNAPSHOT_H
#define VG_SNAPSHOT_H

#include <stddef.h>

#include "core/frame.h"
#include "detect/detection.h"
#include "encode/jpeg.h"

/*
 * An object event's best snapshot, as two JPEG files: the whole frame with
 * the object's box and label drawn, and a crop around the object (its box
 * and a margin of a fifth of its size on every side, at least
 * VG_SNAPSHOT_MIN_CROP pixels across). Each is written to PATH.tmp and
 * renamed, so that a reader never sees half a file; the folders are made
 * when missing.
 */

#define VG_SNAPSHOT_MIN_CROP 64

typedef struct vg_snapshot {
	const vg_frame *frame;
	vg_detection object;     /* drawn as the stream draws it: box, label, track id, score */
} vg_snapshot;

/* 0, or -1 with a message naming the file and the problem. */
int vg_snapshot_save(vg_jpeg_encoder *enc, const vg_snapshot *s, const char *full_path, const char *crop_path,
		     char *err, size_t errlen);

/*
 * The crop's rectangle in pixels for a box on a width x height frame:
 * even, inside the frame. Exposed for the tests.
 */
void vg_snapshot_crop_rect(const float box[4], int width, int height, int *x, int *y, int *w, int *h);

#endif
