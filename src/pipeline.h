#ifndef VG_PIPELINE_H
#define VG_PIPELINE_H

#include <stddef.h>
#include <stdio.h>

#include "core/blob.h"
#include "core/stats.h"
#include "detect/classify.h"
#include "detect/detector.h"
#include "infer_pool.h"
#include "render/mask.h"
#include "track/scene.h"
#include "source/source.h"

/*
 * Wires one camera's live stages and owns their threads:
 *
 *   source thread --> [inference job] --> a worker of the pool (inference) --> newest result
 *                 \-> [encode slot] ----> encode thread: draw newest result, JPEG, event --> sink
 *
 * Both hand-overs are latest-wins, so a slow stage drops frames (counted)
 * instead of building up latency, and the output keeps the source's frame rate
 * even when inference is slower than the video. The inference workers may be
 * shared by every camera of the server (infer_pool.h), and so may the loaded
 * model.
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
	/*
	 * Optional: each finished analysis, on the inference worker (MQTT). The
	 * detections are the caller's to read during the call only.
	 */
	void (*analysed)(void *opaque, const vg_detection *dets, int count, int width, int height, uint64_t frame_id,
			 int64_t capture_wall_us);
	/*
	 * Optional: an object entered, left or loitered in a zone, or crossed a
	 * line (zone_event: MQTT), and the same as an SSE message whose reference
	 * the callee takes (notice: /events). On the inference worker.
	 */
	void (*zone_event)(void *opaque, const vg_zone_event *ev, uint64_t frame_id);
	void (*notice)(void *opaque, vg_blob *sse);
	/*
	 * Optional: object events (track/lifecycle.h), on when object is set and
	 * the camera tracks. object: each new, update and end message, on the
	 * inference worker, after its SSE form went to notice and --json (and
	 * at vg_pipeline_stop, the end of every live object). snapshot: the
	 * frame being analysed is an object's best so far; returns 0 when it was
	 * kept. clip_done: an event's clip is complete (ok) or failed, on the
	 * recorder's thread.
	 */
	void (*object)(void *opaque, const vg_object_message *m);
	int (*snapshot)(void *opaque, const vg_object_state *s, const vg_frame *frame);
	void (*clip_done)(void *opaque, const char *id, const char *path, int ok);
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
	const char *camera;     /* the camera's name, carried by its events; NULL: none (one camera) */
	/*
	 * Shared pieces a multi-camera server passes in, none of them owned. pool:
	 * the inference workers (NULL: a pool of one of the pipeline's own).
	 * detector_instance / classifier_instance: models loaded once for
	 * several cameras; NULL: the pipeline loads its own from the options.
	 * model_key: what the pool keeps from running twice at once (the shared
	 * detector); NULL for a pipeline's own models. filter: see below.
	 */
	vg_infer_pool *pool;
	vg_detector *detector_instance;
	vg_classifier *classifier_instance;
	const void *model_key;
	/* The camera's own threshold, classes and count on a shared model's results; NULL: the model's. */
	const vg_detection_filter *filter;
	/*
	 * Identities across frames, zones and lines (track/scene.h); off unless
	 * scene.tracking. The tracker sees the detections above its low score
	 * (which the filter's threshold then hides from view) so that a track
	 * lives through frames where its object scored low; its confident score
	 * is the filter's threshold. Its callback fields are the pipeline's.
	 */
	vg_scene_options scene;
	/*
	 * Clips of the object events (record/recorder.h): clips asks for them
	 * (the camera's event_clips), clips_dir is where they go (NULL: none; the
	 * server sets it when it keeps events). The source's own packets when it
	 * is H.264 and no privacy mask applies, else the frames as shown, encoded.
	 */
	int clips;
	const char *clips_dir;
	double clip_pre_s, clip_post_s;
} vg_pipeline_options;

typedef struct vg_pipeline vg_pipeline;

/* Loads the model and opens the source, reporting their errors. Nothing runs yet. */
int vg_pipeline_create(vg_pipeline **out, const vg_pipeline_options *opt, const vg_pipeline_sink *sink,
		       vg_stats *stats, char *err, size_t errlen);

int vg_pipeline_start(vg_pipeline *p, char *err, size_t errlen);

/* Stops capture, then the stages, and joins every thread. Safe to call twice. */
void vg_pipeline_stop(vg_pipeline *p);

void vg_pipeline_destroy(vg_pipeline *p);

/* Turns the analysis on or off (MQTT's enabled/set); off, frames stream without detections. Any thread. */
void vg_pipeline_set_analysis(vg_pipeline *p, int on);
int vg_pipeline_analysis(const vg_pipeline *p);

/* The camera's zones and lines (NULL: none), for their counts; they live as long as the pipeline. */
vg_zones *vg_pipeline_zones(const vg_pipeline *p);

/* This camera's share of the inference workers' time (infer_pool.h); 0, 0 before it started. */
void vg_pipeline_share(const vg_pipeline *p, double *got, double *fair);

#endif
