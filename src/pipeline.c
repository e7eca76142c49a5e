#include "pipeline.h"

#include <libavcodec/avcodec.h>
#include <pthread.h>
#include <stddef.h>
#include <time.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/slot.h"
#include "encode/jpeg.h"
#include "event.h"
#include "record/recorder.h"
#include "http/mjpeg.h"
#include "render/draw.h"
#include "render/mask.h"
#include "render/overlay.h"
#include "track/scene.h"

/* The newest finished analysis, read by the encode thread for every frame it shows. */
typedef struct analysis_result {
	uint64_t frame_id;
	int64_t capture_mono_us;
	int64_t analysis_us;
	int failed;                /* the model failed on this frame */
	int has_seg;               /* a segmentation: the mask beside (result_mask, shown_mask), seg_json */
	char seg_json[2048];
	int count;
	vg_detection detections[VG_MAX_DETECTIONS];
} analysis_result;

struct vg_pipeline {
	vg_pipeline_options opt;
	vg_pipeline_sink sink;
	vg_stats *stats;

	vg_source *source;
	vg_slot *encode_slot;
	vg_infer_pool *own_pool;      /* when no shared pool was given */
	vg_infer_pool *pool;
	vg_infer_job *job;            /* this camera's place in the pool */
	atomic_int analysis_on;

	pthread_t encode_thread;
	int threads_started;
	atomic_int stopping;

	vg_detector *detector;
	vg_classifier *classifier;    /* the second stage, run by the inference job after the detector */
	int owns_models;              /* detector and classifier were loaded here, not lent */
	/* The inference job's own: its scratch result, the last analysis time and source epoch. */
	analysis_result *scratch;
	int64_t last_analysis_mono;
	uint32_t epoch;
	pthread_mutex_t result_lock;
	pthread_cond_t result_ready;
	analysis_result result;
	uint64_t analysing_id;     /* frame the analysis thread is working on; 0 when idle */
	analysis_result shown;     /* the encode thread's copy */
	vg_seg_mask result_mask, shown_mask; /* segmentation models: the masks of result and shown */
	vg_mask_map mask_map;      /* the encode thread's lookups from frame to mask pixels */
	uint8_t privacy_set[VG_SEG_MAX_CLASSES + 1]; /* --privacy: the classes hidden */

	vg_scene *scene;           /* NULL: no tracking */
	uint64_t scene_frame_id;   /* the frame the scene is being updated with (for its events) */
	const vg_frame *scene_frame; /* the same frame, for the objects' snapshots */
	/*
	 * Clips: the recorder is made on the source thread once the source is
	 * open (a camera of a configuration may open late), and read by the
	 * others; NULL until then, and for good when it could not be made.
	 */
	int clips_wanted;
	_Atomic(vg_recorder *) recorder;
	int recorder_tried;        /* source thread */
	uint32_t recorder_epoch;   /* source thread: the source's restarts the recorder was told of */
	int remux;                 /* the recorder takes the source's packets, not the shown frames */
	/* The encode thread's own: the shown detections moved to the frame drawn, and the tracks' predictions. */
	vg_detection drawn[VG_MAX_DETECTIONS];
	vg_track_info predicted[VG_MAX_DETECTIONS];

	vg_jpeg_encoder *jpeg;
	vg_blob_pool *part_pool;
	size_t part_capacity;
	int64_t last_output_mono_us;
};

static void release_frame(void *item)
{
	vg_frame_unref(item);
}

static void ensure_recorder(vg_pipeline *p);

static void on_source_frame(void *opaque, vg_frame *frame)
{
	vg_pipeline *p = opaque;
	if (p->clips_wanted) {
		ensure_recorder(p);
		vg_recorder *r = atomic_load(&p->recorder);
		/* A remuxed clip cannot run on across a reconnection: the camera's stream starts anew. */
		if (r && frame->epoch != p->recorder_epoch) {
			p->recorder_epoch = frame->epoch;
			vg_recorder_discontinuity(r);
		}
	}
	if (p->job && atomic_load(&p->analysis_on))
		vg_infer_job_submit(p->job, vg_frame_ref(frame));
	vg_slot_put(p->encode_slot, vg_frame_ref(frame));
}

static void on_source_end(void *opaque, int result)
{
	vg_pipeline *p = opaque;
	if (p->sink.source_ended)
		p->sink.source_ended(p->sink.opaque, result);
}

/*
 * The tracker takes the camera's classes at every score down to its low
 * score, so that the second pass can keep tracks alive; what is shown and
 * sent is then cut to the camera's threshold and count.
 */
static int track(vg_pipeline *p, const vg_frame *frame, vg_detection *dets, int n)
{
	if (p->opt.filter) {
		vg_detection_filter wide = *p->opt.filter;
		wide.max_detections = VG_MAX_DETECTIONS;
		if (p->opt.scene.tracker.low_score < wide.threshold)
			wide.threshold = p->opt.scene.tracker.low_score;
		n = vg_detection_filter_apply(&wide, dets, n);
	}
	n = vg_scene_filter(p->scene, dets, n);
	p->scene_frame_id = frame->id;
	p->scene_frame = frame;
	vg_scene_update(p->scene, dets, n, frame->width, frame->height, frame->capture_mono_us, frame->capture_wall_us);
	vg_tracker_stats ts;
	vg_scene_tracker_stats(p->scene, &ts);
	atomic_store(&p->stats->track_live, ts.live);
	atomic_store(&p->stats->track_births, ts.births);
	atomic_store(&p->stats->track_confirmed, ts.confirmed);
	atomic_store(&p->stats->track_deaths, ts.deaths);
	atomic_store(&p->stats->track_fragments, ts.fragments);
	vg_recorder *rec = atomic_load(&p->recorder);
	if (rec) {
		vg_recorder_stats rs;
		vg_recorder_get_stats(rec, &rs);
		atomic_store(&p->stats->clips_dropped, rs.dropped);
		atomic_store(&p->stats->clips_paused, rs.paused);
	}
	return p->opt.filter ? vg_detection_filter_apply(p->opt.filter, dets, n) : n;
}

/* --json: an SSE message's JSON as a line on the output. Several cameras may write to one stream: it goes whole. */
static void write_json_line(vg_pipeline *p, const vg_blob *sse)
{
	if (!p->opt.json_out)
		return;
	flockfile(p->opt.json_out);
	fwrite(sse->data + sse->payload_off, 1, sse->payload_len, p->opt.json_out);
	fputc('\n', p->opt.json_out);
	fflush(p->opt.json_out);
	funlockfile(p->opt.json_out);
}

static void on_zone_event(const vg_zone_event *ev, void *user)
{
	vg_pipeline *p = user;
	if (p->sink.zone_event)
		p->sink.zone_event(p->sink.opaque, ev, p->scene_frame_id);
	if (!p->sink.notice && !p->opt.json_out)
		return;
	vg_blob *sse = vg_zone_event_sse(ev, p->opt.camera, p->scene_frame_id);
	if (!sse)
		return;
	write_json_line(p, sse);
	if (p->sink.notice)
		p->sink.notice(p->sink.opaque, sse);
	else
		vg_blob_unref(sse);
}

/* An object event: to /events and --json, to the sink (store, MQTT), then to the clip recorder. */
static void on_object(const vg_object_message *m, void *user)
{
	vg_pipeline *p = user;
	if (m->type == VG_OBJECT_NEW)
		atomic_fetch_add(&p->stats->events_started, 1);
	else if (m->type == VG_OBJECT_END)
		atomic_fetch_add(&p->stats->events_ended, 1);
	vg_blob *sse = p->sink.notice || p->opt.json_out ? vg_object_message_sse(m) : NULL;
	if (sse) {
		write_json_line(p, sse);
		if (p->sink.notice)
			p->sink.notice(p->sink.opaque, sse);
		else
			vg_blob_unref(sse);
	}
	p->sink.object(p->sink.opaque, m);
	/* The clip's outcome amends the event: the recorder hears of it only once the event is with the sink. */
	vg_recorder *rec = atomic_load(&p->recorder);
	if (rec && m->type == VG_OBJECT_NEW)
		vg_recorder_begin(rec, m->after.id, (int64_t)(m->after.start_time * 1e6));
	else if (rec && m->type == VG_OBJECT_END)
		vg_recorder_end(rec, m->after.id, (int64_t)(m->after.end_time * 1e6));
	else if (!rec && p->clips_wanted && m->type == VG_OBJECT_NEW && p->sink.clip_done)
		p->sink.clip_done(p->sink.opaque, m->after.id, "", 0); /* no recorder (yet, or for good): no clip */
}

/*
 * The frame being analysed is an object's best. Under --privacy none is
 * kept: the snapshot would show what the mask hides.
 */
static int on_better_frame(const vg_object_state *s, void *user)
{
	vg_pipeline *p = user;
	if (!p->sink.snapshot || p->opt.privacy.mode != VG_PRIVACY_OFF || !p->scene_frame)
		return -1;
	int rc = p->sink.snapshot(p->sink.opaque, s, p->scene_frame);
	atomic_fetch_add(rc == 0 ? &p->stats->snapshots_saved : &p->stats->snapshots_failed, 1);
	return rc;
}

static void on_clip_done(void *user, const char *id, const char *path, int ok)
{
	vg_pipeline *p = user;
	atomic_fetch_add(ok ? &p->stats->clips_done : &p->stats->clips_failed, 1);
	if (p->sink.clip_done)
		p->sink.clip_done(p->sink.opaque, id, path, ok);
}

static void on_source_packet(void *opaque, const AVPacket *pkt, int is_audio, int64_t wall_us)
{
	vg_pipeline *p = opaque;
	ensure_recorder(p);
	vg_recorder *r = atomic_load(&p->recorder);
	if (r && is_audio)
		vg_recorder_audio(r, pkt, wall_us);
	else if (r && p->remux)
		vg_recorder_packet(r, pkt, wall_us);
}

/*
 * Clips: the source's own packets when it is H.264 and nothing is masked
 * (no re-encoding, the camera's quality), else the frames as shown.
 */
static int setup_recorder(vg_pipeline *p, char *err, size_t errlen)
{
	vg_recorder *rec;
	vg_recorder_options ro = { .dir = p->opt.clips_dir, .pre_s = p->opt.clip_pre_s, .post_s = p->opt.clip_post_s,
				   .done = on_clip_done, .user = p };
	AVRational vtb, atb;
	const AVCodecParameters *video = vg_source_video_params(p->source, &vtb);
	const AVCodecParameters *audio = vg_source_audio_params(p->source, &atb);
	if (video && video->codec_id == AV_CODEC_ID_H264 && p->opt.privacy.mode == VG_PRIVACY_OFF) {
		ro.video = video;
		ro.video_time_base = vtb;
		p->remux = 1;
	} else {
		double fps = vg_source_fps(p->source);
		ro.width = vg_source_width(p->source);
		ro.height = vg_source_height(p->source);
		ro.frame_rate = fps > 0 ? av_d2q(fps, 1001000) : (AVRational){ 25, 1 };
	}
	/* The source's audio goes with the clips either way (AAC, MP3 and Opus; the recorder leaves out others). */
	if (audio) {
		ro.audio = audio;
		ro.audio_time_base = atb;
	}
	if (vg_recorder_create(&rec, &ro, err, errlen) < 0)
		return -1;
	atomic_store(&p->recorder, rec);
	atomic_store(&p->stats->clips_enabled, 1);
	vg_info("%s%sclips of object events in %s (%s, %.0f s before and %.0f s after)",
		p->opt.camera ? p->opt.camera : "", p->opt.camera ? ": " : "", p->opt.clips_dir,
		p->remux ? "the source's H.264, remuxed" : "encoded from the frames shown", p->opt.clip_pre_s,
		p->opt.clip_post_s);
	return 0;
}

/* On the source thread, once its input is open: the recorder, or a log line saying why there is none. */
static void ensure_recorder(vg_pipeline *p)
{
	if (p->recorder_tried)
		return;
	p->recorder_tried = 1;
	char err[300];
	if (setup_recorder(p, err, sizeof err) < 0)
		vg_warn("%s%sno clips: %s", p->opt.camera ? p->opt.camera : "", p->opt.camera ? ": " : "", err);
}

/*
 * The inference stage, on a worker of the pool: runs the model on the newest
 * frame and publishes the result. Built in the scratch result and copied under
 * the lock, so the encode thread never waits for a whole inference.
 */
static void analyse(void *opaque, vg_frame *frame)
{
	vg_pipeline *p = opaque;
	analysis_result *r = p->scratch;
	/* A video model's memory of the previous frames ends where the source started again. */
	if (frame->epoch != p->epoch) {
		p->epoch = frame->epoch;
		if (vg_detector_state_count(p->detector) > 0) {
			vg_detector_reset_state(p->detector);
			vg_info("source started again (restart %u): the model's state is reset", (unsigned)p->epoch);
		}
	}
	pthread_mutex_lock(&p->result_lock);
	p->analysing_id = frame->id;
	pthread_mutex_unlock(&p->result_lock);

	int64_t t0 = vg_mono_us();
	r->frame_id = frame->id;
	r->capture_mono_us = frame->capture_mono_us;
	r->count = 0;
	r->failed = 0;
	r->has_seg = 0;
	char err[256];
	int n = vg_detector_run(p->detector, frame, r->detections, VG_MAX_DETECTIONS, NULL, NULL, NULL, err, sizeof err);
	/* Tracks learn from an empty frame too: their objects are gone. */
	if (n >= 0 && p->scene)
		n = track(p, frame, r->detections, n);
	else if (n > 0 && p->opt.filter)
		n = vg_detection_filter_apply(p->opt.filter, r->detections, n);
	if (n < 0)
		vg_warn("%s%sinference on frame %llu failed: %s", p->opt.camera ? p->opt.camera : "",
			p->opt.camera ? ": " : "", (unsigned long long)frame->id, err);
	else
		r->count = n;
	r->failed = n < 0;
	const vg_seg_mask *m = vg_detector_segmentation(p->detector);
	if (n >= 0 && m && m->w > 0) {
		const vg_labels *l = vg_detector_labels(p->detector);
		r->has_seg = vg_segment_json(m, (const char *const *)l->names, l->count, r->seg_json,
					     sizeof r->seg_json) > 0;
	}
	if (n > 0 && p->classifier && vg_classifier_run(p->classifier, frame, r->detections, n, err, sizeof err) < 0)
		vg_warn("classifying the detections of frame %llu failed: %s", (unsigned long long)frame->id, err);
	r->analysis_us = vg_mono_us() - t0;

	pthread_mutex_lock(&p->result_lock);
	memcpy(&p->result, r, offsetof(analysis_result, detections) + (size_t)r->count * sizeof r->detections[0]);
	/* The detector's mask is the inference job's own (the pool runs a shared model once at a time), so it is copied here. */
	if (r->has_seg && vg_seg_mask_copy(&p->result_mask, m) < 0)
		p->result.has_seg = 0;
	p->analysing_id = 0;
	pthread_cond_broadcast(&p->result_ready);
	pthread_mutex_unlock(&p->result_lock);

	if (n >= 0 && p->sink.analysed)
		p->sink.analysed(p->sink.opaque, r->detections, r->count, frame->width, frame->height, frame->id,
				 frame->capture_wall_us);
	atomic_fetch_add(&p->stats->analysis_frames, 1);
	atomic_store(&p->stats->analysis_drops, vg_infer_job_drops(p->job));
	vg_stats_ewma(&p->stats->analysis_ewma, r->analysis_us);
	if (p->last_analysis_mono)
		vg_stats_ewma(&p->stats->analysis_interval_ewma, t0 - p->last_analysis_mono);
	p->last_analysis_mono = t0;
}

/*
 * Copies the newest analysis result for showing with this frame. When the
 * model is busy with this very frame, waits for it a little (at most about one
 * inference time, capped at 100 ms) so that fast models draw their boxes on the
 * frame they were found in instead of the next one.
 */
static void take_result(vg_pipeline *p, const vg_frame *frame)
{
	if (!p->detector || !atomic_load(&p->analysis_on)) {
		/* Without a model (or with the analysis off) every frame is trivially analysed: nothing found in it. */
		p->shown.frame_id = frame->id;
		p->shown.capture_mono_us = frame->capture_mono_us;
		p->shown.analysis_us = 0;
		p->shown.count = 0;
		p->shown.has_seg = 0;
		return;
	}
	pthread_mutex_lock(&p->result_lock);
	/* --privacy hides where the people are in this frame, not where they were: wait for its own mask too. */
	int privacy = p->opt.privacy.mode != VG_PRIVACY_OFF;
	if (p->analysing_id == frame->id || (privacy && p->result.frame_id < frame->id)) {
		int64_t budget = 2 * atomic_load(&p->stats->analysis_ewma);
		if (budget <= 0 || budget > 100000)
			budget = 100000;
		struct timespec deadline;
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_nsec += (long)(budget * 1000);
		deadline.tv_sec += deadline.tv_nsec / 1000000000;
		deadline.tv_nsec %= 1000000000;
		while ((p->analysing_id == frame->id || (privacy && p->result.frame_id < frame->id)) &&
		       pthread_cond_timedwait(&p->result_ready, &p->result_lock, &deadline) == 0) {
		}
	}
	memcpy(&p->shown, &p->result,
	       offsetof(analysis_result, detections) + (size_t)p->result.count * sizeof p->result.detections[0]);
	if (p->result.has_seg && vg_seg_mask_copy(&p->shown_mask, &p->result_mask) < 0)
		p->shown.has_seg = 0;
	pthread_mutex_unlock(&p->result_lock);
}

/*
 * The shown detections with their tracks: a tracked box is drawn where its
 * track predicts it at this frame's capture time, so that boxes move with
 * their objects between analyses instead of jumping at each; a short trail
 * shows where the object went.
 */
static void draw_tracked(vg_pipeline *p, vg_frame *copy, const vg_frame *frame)
{
	int n = p->shown.count;
	memcpy(p->drawn, p->shown.detections, (size_t)n * sizeof p->drawn[0]);
	int np = vg_scene_predict(p->scene, frame->capture_mono_us, p->predicted, VG_MAX_DETECTIONS);
	for (int i = 0; i < n; i++) {
		vg_detection *d = &p->drawn[i];
		if (d->track_id <= 0)
			continue;
		for (int k = 0; k < np; k++) {
			const vg_track_info *t = &p->predicted[k];
			if (t->id != d->track_id)
				continue;
			/* Moved by the prediction's shift since the analysis, keypoints and all; the size is the detection's. */
			float dx = (t->x0 + t->x1 - d->x0 - d->x1) / 2, dy = (t->y0 + t->y1 - d->y0 - d->y1) / 2;
			if (frame->capture_mono_us > p->shown.capture_mono_us) {
				d->x0 += dx, d->x1 += dx, d->y0 += dy, d->y1 += dy;
				for (int j = 0; j < d->n_keypoints; j++)
					d->keypoints[j].x += dx, d->keypoints[j].y += dy;
			}
			vg_draw_trail(copy, t->trail, t->n_trail, (d->x0 + d->x1) / 2, (d->y0 + d->y1) / 2,
				      vg_color_for_class(d->class_id));
			break;
		}
	}
	vg_draw_detections(copy, p->drawn, n);
}

/*
 * Draws the detections and the status line on a private copy of the frame
 * (the analysis thread may still be reading the original). Returns the frame
 * to encode, with its own reference.
 */
static vg_frame *annotate(vg_pipeline *p, vg_frame *frame)
{
	if (!p->detector)
		return vg_frame_ref(frame);
	const vg_privacy_options *priv = &p->opt.privacy;
	vg_frame *copy = vg_frame_copy(frame);
	if (!copy)
		return priv->mode ? NULL : vg_frame_ref(frame);
	int segmenter = vg_detector_segmentation(p->detector) != NULL;
	if (priv->mode) {
		/* Nothing known of this frame yet, or the model failed: nothing of it may show. */
		if (!p->shown.frame_id || p->shown.failed || (segmenter && !p->shown.has_seg))
			vg_privacy_rect(copy, 0, 0, copy->width, copy->height, priv);
		else if (segmenter)
			vg_privacy_mask(copy, &p->shown_mask, &p->mask_map, p->privacy_set, priv);
		else
			vg_privacy_detections(copy, p->shown.detections, p->shown.count, p->privacy_set, priv);
	}
	/* The overlay leaves the hidden classes as --privacy made them. */
	if (p->shown.has_seg)
		vg_draw_mask(copy, &p->shown_mask, &p->mask_map, priv->mode ? p->privacy_set : NULL, VG_MASK_ALPHA);
	if (p->scene) {
		vg_overlay_draw(copy, vg_scene_zones(p->scene));
		draw_tracked(p, copy, frame);
	} else {
		vg_draw_detections(copy, p->shown.detections, p->shown.count);
	}
	char status[96];
	int64_t out_iv = atomic_load(&p->stats->source_interval_ewma);
	int64_t infer = atomic_load(&p->stats->analysis_ewma);
	snprintf(status, sizeof status, "%.1f fps  inference %.0f ms", out_iv > 0 ? 1e6 / (double)out_iv : 0.0,
		 (double)infer / 1000.0);
	vg_draw_status(copy, status);
	return copy;
}

/* Skips frames that would exceed --fps, keeping the output evenly spaced. */
static int over_fps_cap(vg_pipeline *p, const vg_frame *frame)
{
	if (p->opt.max_fps <= 0)
		return 0;
	int64_t interval = (int64_t)(1e6 / p->opt.max_fps);
	/* Allow 10% early so that a cap equal to the source rate does not drop frames to jitter. */
	if (p->last_output_mono_us && frame->capture_mono_us - p->last_output_mono_us < interval * 9 / 10)
		return 1;
	p->last_output_mono_us = frame->capture_mono_us;
	return 0;
}

static vg_blob *encode_part(vg_pipeline *p, vg_frame *frame)
{
	size_t need = VG_MJPEG_HEADROOM + vg_jpeg_max_size(frame->width, frame->height) + VG_MJPEG_TAILROOM;
	if (need > p->part_capacity) {
		vg_blob_pool_grow(p->part_pool, need);
		p->part_capacity = need;
	}
	vg_blob *part = vg_blob_pool_get(p->part_pool);
	if (!part)
		return NULL;
	size_t len = vg_jpeg_encode(p->jpeg, frame, part->data + VG_MJPEG_HEADROOM,
				    part->capacity - VG_MJPEG_HEADROOM - VG_MJPEG_TAILROOM);
	part->frame_id = frame->id;
	part->capture_wall_us = frame->capture_wall_us;
	part->width = frame->width;
	part->height = frame->height;
	if (len == 0 || vg_mjpeg_frame_part(part, len) != 0) {
		vg_blob_unref(part);
		return NULL;
	}
	return part;
}

static void emit_event(vg_pipeline *p, const vg_frame *frame, int64_t encode_us, int64_t done_mono)
{
	const analysis_result *r = &p->shown;
	vg_event ev = {
		.frame_id = frame->id,
		.capture_wall_us = frame->capture_wall_us,
		.width = frame->width,
		.height = frame->height,
		.decode_us = frame->decode_us,
		.analysis_us = r->analysis_us,
		.encode_us = encode_us,
		.latency_us = done_mono - frame->capture_mono_us,
		.detections_frame_id = r->frame_id,
		.detections_age_us = r->frame_id ? frame->capture_mono_us - r->capture_mono_us : 0,
		.detections = r->detections,
		.detection_count = r->count,
		.segmentation = r->has_seg ? r->seg_json : NULL,
		.camera = p->opt.camera,
	};
	vg_blob *sse = vg_event_sse(&ev);
	if (!sse)
		return;
	write_json_line(p, sse);
	if (p->sink.event)
		p->sink.event(p->sink.opaque, sse);
	else
		vg_blob_unref(sse);
}

static void *encode_main(void *arg)
{
	vg_pipeline *p = arg;
	int64_t last_mono = 0;
	vg_frame *frame;
	while ((frame = vg_slot_take(p->encode_slot, -1)) != NULL) {
		atomic_store(&p->stats->encode_drops, vg_slot_drops(p->encode_slot));
		if (over_fps_cap(p, frame)) {
			atomic_fetch_add(&p->stats->encode_skipped_fps_cap, 1);
			vg_frame_unref(frame);
			continue;
		}
		take_result(p, frame);
		int64_t t0 = vg_mono_us();
		vg_frame *shown = annotate(p, frame);
		if (!shown) {
			/* Out of memory with --privacy: no frame rather than an unmasked one. */
			vg_frame_unref(frame);
			continue;
		}
		vg_recorder *rec = atomic_load(&p->recorder);
		if (rec && !p->remux)
			vg_recorder_frame(rec, shown, frame->capture_wall_us);
		vg_blob *part = encode_part(p, shown);
		vg_frame_unref(shown);
		int64_t t1 = vg_mono_us();
		if (part) {
			atomic_fetch_add(&p->stats->encode_frames, 1);
			atomic_fetch_add(&p->stats->output_bytes, part->payload_len);
			vg_stats_ewma(&p->stats->encode_ewma, t1 - t0);
			vg_stats_ewma(&p->stats->latency_ewma, t1 - frame->capture_mono_us);
			if (last_mono)
				vg_stats_ewma(&p->stats->output_interval_ewma, t1 - last_mono);
			last_mono = t1;
			if (p->sink.frame)
				p->sink.frame(p->sink.opaque, part);
			else
				vg_blob_unref(part);
			emit_event(p, frame, t1 - t0, t1);
		}
		vg_frame_unref(frame);
	}
	return NULL;
}

/* Segmentation models: the masks the threads hand over; --privacy: the classes it hides. */
static int setup_segmentation(vg_pipeline *p, char *err, size_t errlen)
{
	const vg_seg_mask *m = vg_detector_segmentation(p->detector);
	if (m && (vg_seg_mask_init(&p->result_mask, m->capacity) < 0 || vg_seg_mask_init(&p->shown_mask, m->capacity) < 0)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!p->opt.privacy.mode)
		return 0;
	char why[400];
	if (vg_privacy_classes(&p->opt.privacy, vg_detector_labels(p->detector), m ? m->classes : 0, p->privacy_set, why,
			       sizeof why) < 0) {
		snprintf(err, errlen, "%s: %s", p->opt.detector->model, why);
		return -1;
	}
	return 0;
}

int vg_pipeline_create(vg_pipeline **out, const vg_pipeline_options *opt, const vg_pipeline_sink *sink,
		       vg_stats *stats, char *err, size_t errlen)
{
	*out = NULL;
	vg_pipeline *p = calloc(1, sizeof *p);
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	p->opt = *opt;
	if (sink)
		p->sink = *sink;
	p->stats = stats;
	pthread_mutex_init(&p->result_lock, NULL);
	pthread_condattr_t cattr;
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&p->result_ready, &cattr);
	pthread_condattr_destroy(&cattr);
	atomic_init(&p->analysis_on, 1);
	p->encode_slot = vg_slot_create(release_frame);
	p->jpeg = vg_jpeg_encoder_create(opt->quality);
	p->part_pool = vg_blob_pool_create(0);
	p->scratch = malloc(sizeof *p->scratch);
	if (!p->encode_slot || !p->jpeg || !p->part_pool || !p->scratch) {
		snprintf(err, errlen, "cannot set up the pipeline: out of memory");
		vg_pipeline_destroy(p);
		return -1;
	}
	if (opt->detector_instance) {
		p->detector = opt->detector_instance;
		p->classifier = opt->classifier_instance;
	} else {
		p->owns_models = 1;
		if (opt->detector && vg_detector_create(&p->detector, opt->detector, err, errlen) < 0) {
			vg_pipeline_destroy(p);
			return -1;
		}
		if (opt->detector && opt->classifier &&
		    vg_classifier_create(&p->classifier, opt->classifier, vg_detector_labels(p->detector), err,
					 errlen) < 0) {
			vg_pipeline_destroy(p);
			return -1;
		}
		if (p->classifier)
			vg_info("second stage: %s", vg_classifier_summary(p->classifier));
	}
	if (p->detector && vg_scene_wanted(&opt->scene)) {
		vg_scene_options so = opt->scene;
		so.on_zone_event = on_zone_event;
		so.camera = opt->camera;
		so.on_object = sink && sink->object && opt->scene.tracking ? on_object : NULL;
		so.on_better_frame = on_better_frame;
		so.clips = so.on_object && opt->clips_dir;
		so.user = p;
		if (!(p->scene = vg_scene_create(&so))) {
			snprintf(err, errlen, "tracking: out of memory, or a tracker option out of range");
			vg_pipeline_destroy(p);
			return -1;
		}
		atomic_store(&stats->track_enabled, opt->scene.tracking);
		atomic_store(&stats->events_enabled, so.on_object != NULL);
		stats->zones = vg_scene_zones(p->scene);
	}
	if (p->detector && setup_segmentation(p, err, errlen) < 0) {
		vg_pipeline_destroy(p);
		return -1;
	}
	int rc = vg_source_open(&p->source, &opt->source, stats, err, errlen);
	if (rc < 0) {
		vg_pipeline_destroy(p);
		return rc;
	}
	p->clips_wanted = p->scene && opt->clips_dir && p->sink.object && opt->scene.tracking;
	atomic_store(&stats->analysis_enabled, p->detector != NULL);
	if (p->detector) {
		p->pool = opt->pool;
		if (!p->pool && vg_infer_pool_create(&p->own_pool, 1, err, errlen) < 0) {
			vg_pipeline_destroy(p);
			return -1;
		}
		if (!p->pool)
			p->pool = p->own_pool;
	}
	*out = p;
	return 0;
}

int vg_pipeline_start(vg_pipeline *p, char *err, size_t errlen)
{
	if (p->detector && !(p->job = vg_infer_pool_add(p->pool, p->opt.model_key, analyse, p))) {
		snprintf(err, errlen, "cannot join the inference workers: out of memory");
		return -1;
	}
	if (pthread_create(&p->encode_thread, NULL, encode_main, p) != 0) {
		vg_infer_pool_remove(p->pool, p->job);
		p->job = NULL;
		snprintf(err, errlen, "cannot start the encode thread");
		return -1;
	}
	p->threads_started = 1;
	vg_source_on_end(p->source, on_source_end);
	if (p->clips_wanted)
		vg_source_on_packet(p->source, on_source_packet);
	if (vg_source_start(p->source, on_source_frame, p) != 0) {
		snprintf(err, errlen, "cannot start the source thread");
		vg_pipeline_stop(p);
		return -1;
	}
	return 0;
}

void vg_pipeline_stop(vg_pipeline *p)
{
	if (atomic_exchange(&p->stopping, 1))
		return;
	/* Capture first, so nothing new enters the slots while the stages wind down. */
	if (p->source)
		vg_source_stop(p->source);
	/* After this no worker runs this camera's analysis again. */
	if (p->job) {
		vg_infer_pool_remove(p->pool, p->job);
		p->job = NULL;
	}
	vg_slot_close(p->encode_slot);
	if (p->threads_started) {
		pthread_join(p->encode_thread, NULL);
		p->threads_started = 0;
	}
	/* The objects still in view end with the camera; their clips close as they are. */
	vg_scene_end_objects(p->scene, vg_wall_us());
	vg_recorder_destroy(atomic_exchange(&p->recorder, NULL));
}

void vg_pipeline_destroy(vg_pipeline *p)
{
	if (!p)
		return;
	if (p->encode_slot)
		vg_pipeline_stop(p);
	if (p->source)
		vg_source_destroy(p->source);
	vg_infer_pool_destroy(p->own_pool);
	vg_slot_destroy(p->encode_slot);
	vg_jpeg_encoder_destroy(p->jpeg);
	vg_blob_pool_release(p->part_pool);
	if (p->owns_models) {
		vg_classifier_destroy(p->classifier);
		vg_detector_destroy(p->detector);
	}
	free(p->scratch);
	if (p->scene && p->stats->zones == vg_scene_zones(p->scene))
		p->stats->zones = NULL;
	vg_scene_destroy(p->scene);
	vg_seg_mask_free(&p->result_mask);
	vg_seg_mask_free(&p->shown_mask);
	vg_mask_map_free(&p->mask_map);
	pthread_cond_destroy(&p->result_ready);
	pthread_mutex_destroy(&p->result_lock);
	free(p);
}

void vg_pipeline_set_analysis(vg_pipeline *p, int on)
{
	atomic_store(&p->analysis_on, on != 0);
	atomic_store(&p->stats->analysis_enabled, on && p->detector);
}

int vg_pipeline_analysis(const vg_pipeline *p)
{
	return atomic_load(&p->analysis_on);
}

void vg_pipeline_share(const vg_pipeline *p, double *got, double *fair)
{
	*got = *fair = 0.0;
	if (p->job)
		vg_infer_job_share(p->job, got, fair);
}

vg_zones *vg_pipeline_zones(const vg_pipeline *p)
{
	return p && p->scene ? vg_scene_zones(p->scene) : NULL;
}
