#ifndef VG_DRAW_H
#define VG_DRAW_H

#include <stdint.h>

#include "core/frame.h"
#include "detect/detection.h"

/*
 * Drawing on I420 frames in place: boxes, filled label backgrounds and text,
 * so annotation costs no colour conversion. Colours are full-range BT.601
 * YCbCr, as JPEG expects. Everything is clipped to the frame.
 */

typedef struct vg_color {
	uint8_t y, u, v;
} vg_color;

vg_color vg_color_rgb(uint8_t r, uint8_t g, uint8_t b);

/* A distinct, stable colour per class id. */
vg_color vg_color_for_class(int class_id);

/* Chooses black or white text for legibility on bg. */
vg_color vg_color_text_on(vg_color bg);

void vg_draw_fill(vg_frame *f, int x0, int y0, int x1, int y1, vg_color c);

/* Rectangle outline inside [x0,x1) x [y0,y1). */
void vg_draw_rect(vg_frame *f, int x0, int y0, int x1, int y1, int thickness, vg_color c);

/* Draws text with its top-left at (x, y), each font pixel scale x scale. Returns the width drawn. */
int vg_draw_text(vg_frame *f, int x, int y, const char *text, int scale, vg_color c);

int vg_text_width(const char *text, int scale);

/*
 * A line width pixels wide between two points in pixel coordinates (which
 * may lie far outside the frame, or be NaN: then nothing is drawn).
 */
void vg_draw_line(vg_frame *f, double x0, double y0, double x1, double y1, int width, vg_color c);

/* A filled disc of radius pixels centred on (x, y), ringed outline pixels wide in edge. */
void vg_draw_dot(vg_frame *f, double x, double y, int radius, int outline, vg_color fill, vg_color edge);

/*
 * The detection's keypoints as white dots ringed in black, and its layout's
 * skeleton edges as lines in the line colour. Keypoints scoring below
 * VG_KEYPOINT_MIN_SCORE (detect/keypoints.h), and edges that end at one, are
 * not drawn. Sizes follow vg_draw_scale: lines 2 to 4 pixels wide, dots of
 * radius 2 to 4 with a ring of 1 or 2.
 */
void vg_draw_keypoints(vg_frame *f, const vg_detection *d, vg_color line);

/* Text scale and line thickness that read well at this frame size. */
int vg_draw_scale(const vg_frame *f);

/*
 * A track's trail: its past centres (n points, normalised, oldest first)
 * joined up to (x, y), where it is now, thin and in its colour.
 */
void vg_draw_trail(vg_frame *f, const float (*points)[2], int n, float x, float y, vg_color c);

/*
 * Draws each detection as a box in its class colour with "label 87%" (with
 * its track, "label #12 87%") on a filled background above it (inside the box when there is no room above),
 * and its keypoints and skeleton, if it has them (vg_draw_keypoints), and
 * its attributes (a second-stage classifier's "happy 83%") one per line
 * under the label, white on a dark background.
 * Whole-frame results (classifiers) are listed at the top left instead.
 */
void vg_draw_detections(vg_frame *f, const vg_detection *dets, int count);

/* A status line (e.g. "12.5 fps") at the top-left on a dark background. */
void vg_draw_status(vg_frame *f, const char *text);

#endif
