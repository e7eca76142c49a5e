#ifndef VG_CMD_DETECT_H
#define VG_CMD_DETECT_H

/*
 * What `vigil detect` shares between its frame-at-a-time loop (cmd_detect.c)
 * and its pipelined export of one video (detect_export.c), so that both
 * analyse, print and draw a frame the same way.
 */

#include <stdint.h>
#include <stdio.h>

#include "core/frame.h"
#include "detect/classify.h"
#include "detect/detection.h"
#include "detect/detector.h"
#include "detect/segment.h"
#include "render/mask.h"
#include "track/scene.h"

/* Zones and lines `vigil detect` takes (--zone, --line). */
#define VG_DETECT_MAX_ZONES 16
#define VG_DETECT_MAX_LINES 16

/*
 * Tracking for detect (detect_track.c): the tracker with the model's
 * threshold as its confident score (the model decoding lower, for the second
 * pass), the zones and lines, and what they said about the frame being
 * analysed.
 */
typedef struct vg_detect_tracking vg_detect_tracking;

/* --privacy: what to hide in the frames written, and how. */
typedef struct vg_detect_privacy {
	vg_privacy_options opt;
	uint8_t set[VG_SEG_MAX_CLASSES + 1];
} vg_detect_privacy;

/* One frame's analysis. */
typedef struct vg_detect_result {
	long frame_no;                /* 1, 2, 3 ... within the file */
	int64_t pre_us, infer_us, post_us;
	int64_t classify_us;          /* -1 when no classifier ran */
	int n;
	vg_detection *dets;           /* n detections, the caller's array */
	const vg_seg_mask *mask;      /* segmentation models' mask, else NULL */
	/* With tracking: the frame's zone and line events as JSON lines (malloc'd, or NULL), and the counts then. */
	const vg_detect_tracking *trk;
	char *events;
	int zone_count[VG_DETECT_MAX_ZONES];
	uint64_t line_count[VG_DETECT_MAX_LINES][2];
} vg_detect_result;

/*
 * Makes the tracking of detect's options on a loaded detector: tracking 0
 * gives NULL with no error (nor zones or lines: the caller refuses those
 * without tracking). Lowers the detector's decoding threshold when its
 * threshold is a filter of its results (detector.h). NULL with err on failure.
 */
vg_detect_tracking *vg_detect_tracking_create(vg_detector *det, const vg_detector_options *dopt,
					      const vg_zone_def *zones, int nzones, const vg_line_def *lines, int nlines,
					      char *err, size_t errlen);

/* A new video at fps frames a second (0: unknown): fresh identities and counts. 0, or -1 when out of memory. */
int vg_detect_tracking_start(vg_detect_tracking *t, double fps);

/*
 * The video's totals, one JSON line: {"source": ..., "tracking": {births, confirmed, deaths, fragments,
 * live}, "totals": {"zones": ..., "lines": ...}}; nothing without zones or lines.
 */
void vg_detect_tracking_print_totals(vg_detect_tracking *t, FILE *out, const char *name);

void vg_detect_tracking_destroy(vg_detect_tracking *t);

/* Within vg_detect_analyse: the tracker and zones on r's detections, then the model's own filter. */
int vg_detect_track(vg_detect_tracking *t, const vg_frame *frame, vg_detect_result *r);

/* The zones and lines with r's counts (within vg_detect_annotate). */
void vg_detect_tracking_draw(const vg_detect_tracking *t, vg_frame *frame, const vg_detect_result *r);

/*
 * Runs the detector, the tracker (trk, when not NULL: frames must come in
 * order) and the classifier when there is one, on a frame into r->dets (room
 * for VG_MAX_DETECTIONS); fills r's timings, n, and with trk its events and
 * counts; r->mask is the detector's own mask (valid until its next run). 0,
 * or -1 with a message in err.
 */
int vg_detect_analyse(vg_detector *det, vg_classifier *cls, vg_detect_tracking *trk, const vg_frame *frame,
		      vg_detect_result *r, char *err, size_t errlen);

/*
 * Prints the frame's JSON line (see vigil detect --help) on out; name is the
 * source's display form, JSON-escaped. 0, or -1 when out of memory.
 */
int vg_detect_print_line(FILE *out, const char *name, const vg_frame *frame, const vg_detect_result *r,
			 const vg_labels *labels);

/*
 * Draws a frame's analysis on it as the server draws its stream: --privacy's
 * hiding first, then the segmentation overlay, then boxes, labels and
 * keypoints. map is the caller's lookup cache (kept from frame to frame).
 */
void vg_detect_annotate(vg_frame *frame, const vg_detect_result *r, vg_mask_map *map, const vg_detect_privacy *priv);

/* JSON-escapes a path into buf. */
void vg_detect_json_path(const char *s, char *buf, size_t cap);

/* --save-video and --save-tracks: the file's analysis as a pipeline. */
typedef struct vg_export_options {
	const char *video_path;       /* --save-video FILE, or NULL */
	const char *tracks_path;      /* --save-tracks FILE, or NULL */
	long max_frames;              /* 0: all */
	const vg_detect_privacy *priv;
	int progress;                 /* draw a progress bar on stderr */
	vg_detect_tracking *trk;      /* NULL: --no-track */
} vg_export_options;

/*
 * Analyses every frame of one video with decode, inference and encode on
 * threads of their own, joined by bounded blocking queues (no frame is
 * dropped), printing the JSON lines, writing the annotated MP4 and the
 * tracks file. SIGINT and SIGTERM stop the reading; what was read is
 * finished and the file closed properly. Returns an exit status.
 */
int vg_detect_export(vg_detector *det, vg_classifier *cls, const char *input, const vg_export_options *opt);

#endif
