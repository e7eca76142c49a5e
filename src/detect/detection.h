#ifndef VG_DETECTION_H
#define VG_DETECTION_H

#include <stdint.h>

/*
 * One thing found in a frame. Coordinates are normalised to the frame: 0..1,
 * x right, y down. A classifier's answer is about the whole frame and has no
 * box (whole_frame set, coordinates 0 0 1 1).
 */
typedef struct vg_detection {
	float x0, y0, x1, y1;
	int class_id;
	float score;
	int whole_frame;
	char label[48];
} vg_detection;

/* The most detections one frame can carry through the pipeline. */
#define VG_MAX_DETECTIONS 256

#endif
