#ifndef VG_OVERLAY_H
#define VG_OVERLAY_H

#include <stdint.h>

#include "core/frame.h"
#include "render/draw.h"
#include "track/zones.h"

/*
 * Zones and lines drawn on I420 frames in place, with the primitives and
 * font of draw.h: a zone is its polygon filled translucent in the zone's
 * colour, outlined, with "NAME count" at its top; a line is a thick segment
 * with an arrow from its middle towards the side objects go "in" to, and
 * "NAME in:N out:N" on the other side (the line's own direction names).
 */

/* A zone's fill: 30% opacity, out of 256. */
#define VG_OVERLAY_ALPHA 77

/* A stable colour per zone index. */
vg_color vg_overlay_zone_color(int index);

/*
 * Blends c over the pixels whose centres fall inside p (normalised, even-odd
 * rule) with opacity alpha / 256; a chroma sample follows the centre of its
 * 2x2 block.
 */
void vg_overlay_fill_polygon(vg_frame *f, const vg_polygon *p, vg_color c, int alpha);

/* One zone with the number of objects in it now. */
void vg_overlay_zone(vg_frame *f, const vg_zone_def *z, int count, vg_color c);

/* One line with its counts since start per direction (VG_LINE_IN, VG_LINE_OUT). */
void vg_overlay_line(vg_frame *f, const vg_line_def *l, const uint64_t counts[2], vg_color c);

/* Every zone and line of a camera, with their counts now (read under the zones' mutex). */
void vg_overlay_draw(vg_frame *f, vg_zones *z);

#endif
