#ifndef VG_DETECTION_H
#define VG_DETECTION_H

#include <stdint.h>

/* One thing found in a frame. Coordinates are normalised to the frame: 0..1, x right, y down. */
typedef struct vg_detection {
	float x0, y0, x1, y1;
	int class_id;
	float score;
	char label[48];
} vg_detection;

#endif
