#include "pipeline.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/slot.h"
#include "encode/jpeg.h"
#include "event.h"
#include "http/mjpeg.h"

/* The newest finished analysis, read by the encode thread for every frame it shows. */
typedef struct analysis_result {
	uint64_t frame_id;
	int64_t capture_mono_us;
	int64_t analysis_us;
	int count;
	vg_detection detections[1];
} analysis_result;

struct vg_pipeline {
	vg_pipeline_options opt;
	vg_pipeline_sink sink;
	vg_stats *stats;

	vg_source *source;
	vg_slot *analysis_slot;
	vg_slot *encode_slot;

	pthread_t analysis_thread, encode_thread;
	int threads_started;
	atomic_int stopping;

	pthread_mutex_t result_lock;
	analysis_result result;

	vg_jpeg_encoder *jpeg;
	vg_blob_pool *part_pool;
	size_t part_capacity;
	int64_t last_output_mono_us;
};

static void release_frame(void *item)
{
	vg_frame_unref(item);
}

static void on_source_frame(void *opaque, vg_frame *frame)
{
	vg_pipeline *p = opaque;
	vg_slot_put(p->analysis_slot, vg_frame_ref(frame));
	vg_slot_put(p->encode_slot, vg_frame_ref(frame));
}

/*
 * The inference stage. Until a model is loaded it only records that the
 * frame was seen, so the plumbing, timings and drop counts are already real.
 */
static void *analysis_main(void *arg)
{
	vg_pipeline *p = arg;
	int64_t last_mono = 0;
	vg_frame *frame;
	while ((frame = vg_slot_take(p->analysis_slot, -1)) != NULL) {
		int64_t t0 = vg_mono_us();
		analysis_result r = { .frame_id = frame->id, .capture_mono_us = frame->capture_mono_us };
		r.analysis_us = vg_mono_us() - t0;
		pthread_mutex_lock(&p->result_lock);
		p->result = r;
		pthread_mutex_unlock(&p->result_lock);

		atomic_fetch_add(&p->stats->analysis_frames, 1);
		atomic_store(&p->stats->analysis_drops, vg_slot_drops(p->analysis_slot));
		vg_stats_ewma(&p->stats->analysis_ewma, r.analysis_us);
		if (last_mono)
			vg_stats_ewma(&p->stats->analysis_interval_ewma, t0 - last_mono);
		last_mono = t0;
		vg_frame_unref(frame);
	}
	return NULL;
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
	analysis_result r;
	pthread_mutex_lock(&p->result_lock);
	r = p->result;
	pthread_mutex_unlock(&p->result_lock);

	vg_event ev = {
		.frame_id = frame->id,
		.capture_wall_us = frame->capture_wall_us,
		.width = frame->width,
		.height = frame->height,
		.decode_us = frame->decode_us,
		.analysis_us = r.analysis_us,
		.encode_us = encode_us,
		.latency_us = done_mono - frame->capture_mono_us,
		.detections_frame_id = r.frame_id,
		.detections_age_us = r.frame_id ? frame->capture_mono_us - r.capture_mono_us : 0,
		.detections = r.detections,
		.detection_count = r.count,
	};
	vg_blob *sse = vg_event_sse(&ev);
	if (!sse)
		return;
	if (p->opt.json_out) {
		fwrite(sse->data + sse->payload_off, 1, sse->payload_len, p->opt.json_out);
		fputc('\n', p->opt.json_out);
		fflush(p->opt.json_out);
	}
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
		int64_t t0 = vg_mono_us();
		vg_blob *part = encode_part(p, frame);
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
	p->analysis_slot = vg_slot_create(release_frame);
	p->encode_slot = vg_slot_create(release_frame);
	p->jpeg = vg_jpeg_encoder_create(opt->quality);
	p->part_pool = vg_blob_pool_create(0);
	if (!p->analysis_slot || !p->encode_slot || !p->jpeg || !p->part_pool) {
		snprintf(err, errlen, "cannot set up the pipeline: out of memory");
		vg_pipeline_destroy(p);
		return -1;
	}
	int rc = vg_source_open(&p->source, &opt->source, stats, err, errlen);
	if (rc < 0) {
		vg_pipeline_destroy(p);
		return rc;
	}
	*out = p;
	return 0;
}

int vg_pipeline_start(vg_pipeline *p, char *err, size_t errlen)
{
	if (pthread_create(&p->analysis_thread, NULL, analysis_main, p) != 0) {
		snprintf(err, errlen, "cannot start the analysis thread");
		return -1;
	}
	if (pthread_create(&p->encode_thread, NULL, encode_main, p) != 0) {
		vg_slot_close(p->analysis_slot);
		pthread_join(p->analysis_thread, NULL);
		snprintf(err, errlen, "cannot start the encode thread");
		return -1;
	}
	p->threads_started = 1;
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
	vg_slot_close(p->analysis_slot);
	vg_slot_close(p->encode_slot);
	if (p->threads_started) {
		pthread_join(p->analysis_thread, NULL);
		pthread_join(p->encode_thread, NULL);
		p->threads_started = 0;
	}
}

void vg_pipeline_destroy(vg_pipeline *p)
{
	if (!p)
		return;
	if (p->analysis_slot && p->encode_slot)
		vg_pipeline_stop(p);
	if (p->source)
		vg_source_destroy(p->source);
	vg_slot_destroy(p->analysis_slot);
	vg_slot_destroy(p->encode_slot);
	vg_jpeg_encoder_destroy(p->jpeg);
	vg_blob_pool_release(p->part_pool);
	pthread_mutex_destroy(&p->result_lock);
	free(p);
}
