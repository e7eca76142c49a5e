#ifndef VG_EVENT_H
#define VG_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "core/blob.h"
#include "detect/detection.h"
#include "track/lifecycle.h"
#include "track/zones.h"

/*
 * The record of one output frame: what /events sends, and what `--json`
 * prints to stdout, one JSON object per line. Detections come from the newest
 * finished analysis, which may be of an earlier frame than the one shown when
 * inference is slower than the video; detections_frame_id and
 * detections_age_us say which. A detection's "box" is [x0, y0, x1, y1]
 * normalised to the frame, or null for a classifier's whole-frame answer.
 * Detections with keypoints also carry "keypoints": [{"name": "nose", "x": ...,
 * "y": ..., "score": ...}, ...], x and y normalised to the frame like the box
 * (they may lie a little outside it), "name" only when the detection has a
 * layout; detections without keypoints have no "keypoints" key. Detections
 * a second-stage classifier ran on (--classify) carry "attributes":
 * [{"model": "fer2013_mini_XCEPTION.102-0.66.hdf5", "label": "happy",
 * "class_id": 3, "score": 0.83}], the classifier's best class; others have
 * no "attributes" key.
 */
typedef struct vg_event {
	uint64_t frame_id;
	int64_t capture_wall_us;
	int width, height;
	int64_t decode_us, analysis_us, encode_us;
	int64_t latency_us;               /* capture to JPEG ready */
	uint64_t detections_frame_id;     /* 0: no analysis has finished yet */
	int64_t detections_age_us;
	const vg_detection *detections;
	int detection_count;
	/*
	 * Segmentation models: the JSON object vg_segment_json writes (class
	 * areas), sent as "segmentation"; NULL for others (no such key).
	 */
	const char *segmentation;
	/* The camera the frame is of, sent first as "camera"; NULL: no such key. */
	const char *camera;
} vg_event;

/* Writes the event as one line of JSON (no newline). Returns its length, or 0 if cap is too small. */
size_t vg_event_json(const vg_event *ev, char *dst, size_t cap);

/* Writes detections as a JSON array. Returns its length, or 0 if cap is too small. */
size_t vg_detections_json(const vg_detection *dets, int count, char *dst, size_t cap);

/* Bytes that are always enough for vg_detections_json of these detections (terminating NUL included). */
size_t vg_detections_json_bound(const vg_detection *dets, int count);
size_t vg_detection_json_bound(const vg_detection *d);

/* The event as a complete Server-Sent Events message ("id: N\ndata: JSON\n\n"); payload range = the JSON. */
vg_blob *vg_event_sse(const vg_event *ev);

/* A zone or line event (vg_zone_event_json) as an SSE message of type "zone" (entered, left, loitering) or "line" (crossed). */
vg_blob *vg_zone_event_sse(const vg_zone_event *ev, const char *camera, uint64_t frame_id);

/* An object event's message (vg_object_message_json) as an SSE message of type "object". */
vg_blob *vg_object_message_sse(const vg_object_message *m);

#endif
