#ifndef VG_PIPELINE_H
#define VG_PIPELINE_H

#include <stddef.h>
#include <stdio.h>

#include "core/blob.h"
#include "core/stats.h"
#include "detect/classify.h"
#include "detect/detector.h"
#include "render/mask.h"
#include "source/source.h"

/*
 * Wires the live stages and owns their threads:
 *
 *   source thread --> [analysis slot] --> analysis thread (inference) --> newest result
 *                 \-> [encode slot] ----> encode thread: draw newest result, JPEG, event --> sink
 *
 * Both hand-overs are latest-wins slots, so a slow stage drops frames (counted)
 * instead of building up latency, and the output keeps the source's frame rate
 * even when inference is slower than the video.
 */

typedef struct vg_pipeline_sink {
	void *opaque;
	/* A complete MJPEG part (mjpeg.h); the callee takes over the reference. */
	void (*frame)(void *opaque, vg_blob *part);
	/* A complete SSE message (event.h); the callee takes over the reference. */
	void (*event)(void *opaque, vg_blob *sse);
	/*
	 * Optional: the source ended by itself (vg_source_end_fn's result), called
	 * on the source thread. A file that ends normally gives VG_SOURCE_EOF.
	 */
	void (*source_ended)(void *opaque, int result);
} vg_pipeline_sink;

typedef struct vg_pipeline_options {
	vg_source_options source;
	int quality;            /* JPEG quality 1..100 */
	double max_fps;         /* output cap; 0 = the source's rate */
	FILE *json_out;         /* if set, every event is also written here as a JSON line */
	const vg_detector_options *detector;  /* NULL: no model, frames pass through un-annotated */
	const vg_classifier_options *classifier; /* NULL: no second stage (--classify) */
	/*
	 * --privacy: the frame that leaves the encode stage, the only one any
	 * consumer sees, has the chosen classes hidden; until a first analysis
	 * has finished, and after one that failed, the whole frame is.
	 */
	vg_privacy_options privacy;
} vg_pipeline_options;

typedef struct vg_pipeline vg_pipeline;

/* Loads the model and opens the source, reporting their errors. Nothing runs yet. */
int vg_pipeline_create(vg_pipeline **out, const vg_pipeline_options *opt, const vg_pipeline_sink *sink,
		       vg_stats *stats, char *err, size_t errlen);

int vg_pipeline_start(vg_pipeline *p, char *err, size_t errlen);

/* Stops capture, then the stages, and joins every thread. Safe to call twice. */
void vg_pipeline_stop(vg_pipeline *p);

void vg_pipeline_destroy(vg_pipeline *p);

#endif
