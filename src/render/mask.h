#ifndef VG_MASK_H
#define VG_MASK_H

#include <stddef.h>
#include <stdint.h>

#include "core/frame.h"
#include "detect/detection.h"
#include "detect/labels.h"
#include "detect/segment.h"
#include "render/draw.h"

/*
 * A segmentation mask on I420 frames: the translucent per-class overlay, and
 * privacy masking (--privacy): the pixels of chosen classes pixelated beyond
 * recognition ("blur") or painted a flat colour ("fill"), or, for a
 * detector, the boxes of chosen classes treated so. The mask (detect/segment.h)
 * covers the frame exactly and is scaled up by nearest neighbour through
 * lookup tables built once per frame and mask size, so that drawing
 * allocates nothing per frame. A chroma sample (one per 2x2 pixels) follows
 * the mask at its top-left luma pixel.
 */

typedef enum vg_privacy_mode {
	VG_PRIVACY_OFF = 0,
	VG_PRIVACY_BLUR,   /* pixelated: each block of vg_privacy_block pixels takes its mean */
	VG_PRIVACY_FILL,   /* a flat colour */
} vg_privacy_mode;

typedef struct vg_privacy_options {
	vg_privacy_mode mode;
	vg_color fill;            /* FILL's colour (default black) */
	const char *classes;      /* --privacy-classes: names or ids; NULL for the default */
} vg_privacy_options;

/*
 * Parses --privacy's value: "blur", "fill" or "fill:RRGGBB" (hexadecimal
 * RGB). 0, or -1 with a message in err.
 */
int vg_privacy_parse(const char *arg, vg_privacy_options *o, char *err, size_t errlen);

/*
 * The classes to hide, as a set: set[c] is 1 for class c. Default (no
 * --privacy-classes): for a segmentation (n_seg_classes > 0) every class
 * but the background, class 0; for a detector, "person", which its labels
 * must name. 0, or -1 with a message in err.
 */
int vg_privacy_classes(const vg_privacy_options *o, const vg_labels *labels, int n_seg_classes,
		       uint8_t set[VG_SEG_MAX_CLASSES + 1], char *err, size_t errlen);

/* Frame pixel to mask pixel lookups, kept from frame to frame. */
typedef struct vg_mask_map {
	int frame_w, frame_h, mask_w, mask_h;
	int32_t *col;   /* frame_w entries: the mask column of each frame column */
	int32_t *row;   /* frame_h entries: the mask row of each frame row */
} vg_mask_map;

/* Rebuilds the lookups when a size changed. 0, or -1 when out of memory. */
int vg_mask_map_update(vg_mask_map *mm, int frame_w, int frame_h, int mask_w, int mask_h);
void vg_mask_map_free(vg_mask_map *mm);

/*
 * Blends each class's colour (vg_color_for_class(class + 10)) over its pixels with
 * opacity alpha / 256, skipping class 0 and the classes set in skip (may be
 * NULL). 0, or -1 when out of memory.
 */
/* The overlay's opacity in the stream: 45%. */
#define VG_MASK_ALPHA 115

int vg_draw_mask(vg_frame *f, const vg_seg_mask *m, vg_mask_map *mm, const uint8_t *skip, int alpha);

/* The pixelation block of a frame: an even size, its larger side / 24, at least 8. */
int vg_privacy_block(int width, int height);

/*
 * The block for a region of region_w x region_h pixels to hide (the
 * bounding box of a mask's hidden pixels, a box): the frame's block, or an
 * eighth of the region's shorter side when that is larger, so that a face
 * filling the picture is still no more than eight blocks across.
 */
int vg_privacy_region_block(int width, int height, int region_w, int region_h);

/*
 * Hides the pixels whose class is in set (vg_privacy_classes). 0, or -1 when
 * out of memory (then the whole frame is hidden, which is the safe side).
 */
int vg_privacy_mask(vg_frame *f, const vg_seg_mask *m, vg_mask_map *mm, const uint8_t *set,
		    const vg_privacy_options *o);

/* Hides the pixels of [x0,x1) x [y0,y1) (clipped to the frame). */
void vg_privacy_rect(vg_frame *f, int x0, int y0, int x1, int y1, const vg_privacy_options *o);

/* Hides the boxes of the detections whose class is in set; whole-frame results hide nothing. */
void vg_privacy_detections(vg_frame *f, const vg_detection *dets, int n, const uint8_t *set,
			   const vg_privacy_options *o);

#endif
