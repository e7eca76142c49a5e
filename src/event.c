#include "event.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/keypoints.h"

/* A bounded string builder: once it overflows it stays failed. */
typedef struct {
	char *p;
	size_t cap, len;
	int failed;
} out_buf;

static void put(out_buf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(out_buf *o, const char *fmt, ...)
{
	if (o->failed)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len) {
		o->failed = 1;
		return;
	}
	o->len += (size_t)n;
}

/* Labels come from user files: escape them as JSON requires. */
static void put_json_string(out_buf *o, const char *s)
{
	put(o, "\"");
	for (; *s && !o->failed; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			put(o, "\\%c", c);
		else if (c < 0x20)
			put(o, "\\u%04x", c);
		else
			put(o, "%c", c);
	}
	put(o, "\"");
}

/*
 * A score or coordinate. A model can put a keypoint anywhere (or nowhere:
 * NaN), and "%f" of 1e30 is 37 characters, so values are bounded; NaN and
 * infinities, which JSON cannot express, become null.
 */
static void put_bounded(out_buf *o, const char *fmt, float v)
{
	if (!isfinite(v)) {
		put(o, "null");
		return;
	}
	put(o, fmt, (double)(v < -1e6f ? -1e6f : v > 1e6f ? 1e6f : v));
}

static void put_keypoints(out_buf *o, const vg_detection *d)
{
	int n = d->n_keypoints < VG_MAX_KEYPOINTS ? d->n_keypoints : VG_MAX_KEYPOINTS;
	put(o, ",\"keypoints\":[");
	for (int k = 0; k < n; k++) {
		const vg_keypoint *p = &d->keypoints[k];
		const char *name = vg_keypoint_name(d, k);
		put(o, "%s{", k ? "," : "");
		if (name) {
			put(o, "\"name\":");
			put_json_string(o, name);
			put(o, ",");
		}
		put(o, "\"x\":");
		put_bounded(o, "%.5f", p->x);
		put(o, ",\"y\":");
		put_bounded(o, "%.5f", p->y);
		put(o, ",\"score\":");
		put_bounded(o, "%.4f", p->score);
		put(o, "}");
	}
	put(o, "]");
}

/* A second-stage classifier's answers: [{"model": ..., "label": ..., "score": ...}]. */
static void put_attributes(out_buf *o, const vg_detection *d)
{
	int n = d->n_attributes < VG_MAX_ATTRIBUTES ? d->n_attributes : VG_MAX_ATTRIBUTES;
	put(o, ",\"attributes\":[");
	for (int k = 0; k < n; k++) {
		const vg_attribute *a = &d->attributes[k];
		put(o, "%s{\"model\":", k ? "," : "");
		put_json_string(o, a->model);
		put(o, ",\"label\":");
		put_json_string(o, a->label);
		put(o, ",\"class_id\":%d,\"score\":", a->class_id);
		put_bounded(o, "%.4f", a->score);
		put(o, "}");
	}
	put(o, "]");
}

size_t vg_detections_json(const vg_detection *dets, int count, char *dst, size_t cap)
{
	out_buf o = { dst, cap, 0, cap == 0 };
	put(&o, "[");
	for (int i = 0; i < count; i++) {
		const vg_detection *d = &dets[i];
		put(&o, "%s{\"label\":", i ? "," : "");
		put_json_string(&o, d->label);
		put(&o, ",\"class_id\":%d,\"score\":", d->class_id);
		put_bounded(&o, "%.4f", d->score);
		if (d->track_id > 0)
			put(&o, ",\"track_id\":%d", d->track_id);
		if (d->whole_frame) {
			put(&o, ",\"box\":null");
		} else {
			const float box[4] = { d->x0, d->y0, d->x1, d->y1 };
			for (int k = 0; k < 4; k++) {
				put(&o, k ? "," : ",\"box\":[");
				put_bounded(&o, "%.5f", box[k]);
			}
			put(&o, "]");
		}
		if (d->n_keypoints > 0)
			put_keypoints(&o, d);
		if (d->n_attributes > 0)
			put_attributes(&o, d);
		put(&o, "}");
	}
	put(&o, "]");
	return o.failed ? 0 : o.len;
}

size_t vg_detection_json_bound(const vg_detection *d)
{
	/*
	 * Escaping makes a byte at most 6 ("\u001f"). The fixed part: under 64
	 * bytes of keys and punctuation, a class id (at most 11) and five bounded
	 * numbers (at most 15 each: "-1000000.00000"). Each keypoint: under 40
	 * bytes of keys and punctuation, three bounded numbers, and its name.
	 */
	size_t n = 64 + 11 + 5 * 15 + 6 * strnlen(d->label, sizeof d->label) + 24 /* track_id */;
	int nk = d->n_keypoints < VG_MAX_KEYPOINTS ? d->n_keypoints : VG_MAX_KEYPOINTS;
	if (nk > 0)
		n += 16;
	for (int k = 0; k < nk; k++) {
		const char *name = vg_keypoint_name(d, k);
		n += 40 + 3 * 15 + (name ? 12 + 6 * strlen(name) : 0);
	}
	/* Each attribute: under 64 bytes of keys and punctuation, a class id, a bounded score, two strings. */
	int na = d->n_attributes < VG_MAX_ATTRIBUTES ? d->n_attributes : VG_MAX_ATTRIBUTES;
	if (na > 0)
		n += 16;
	for (int k = 0; k < na; k++)
		n += 64 + 11 + 15 + 6 * strnlen(d->attributes[k].model, sizeof d->attributes[k].model) +
		     6 * strnlen(d->attributes[k].label, sizeof d->attributes[k].label);
	return n;
}

size_t vg_detections_json_bound(const vg_detection *dets, int count)
{
	size_t n = 2;
	for (int i = 0; i < count; i++)
		n += 1 + vg_detection_json_bound(&dets[i]);
	return n + 1;
}

static double ms(int64_t us)
{
	return (double)us / 1000.0;
}

size_t vg_event_json(const vg_event *ev, char *dst, size_t cap)
{
	out_buf o = { dst, cap, 0, cap == 0 };
	/* Camera names are [a-z0-9_-] (the configuration checks them), so they need no escaping. */
	if (ev->camera)
		put(&o, "{\"camera\":\"%s\",", ev->camera);
	else
		put(&o, "{");
	put(&o, "\"frame_id\":%" PRIu64 ",\"capture_time\":%" PRId64 ".%06" PRId64 ",\"width\":%d,\"height\":%d",
	    ev->frame_id, ev->capture_wall_us / 1000000, ev->capture_wall_us % 1000000, ev->width, ev->height);
	put(&o, ",\"latency_ms\":{\"decode\":%.3f,\"inference\":%.3f,\"encode\":%.3f,\"total\":%.3f}",
	    ms(ev->decode_us), ms(ev->analysis_us), ms(ev->encode_us), ms(ev->latency_us));
	if (ev->detections_frame_id)
		put(&o, ",\"detections_frame_id\":%" PRIu64 ",\"detections_age_ms\":%.3f", ev->detections_frame_id,
		    ms(ev->detections_age_us));
	else
		put(&o, ",\"detections_frame_id\":null,\"detections_age_ms\":null");
	put(&o, ",\"detections\":");
	if (!o.failed) {
		size_t n = vg_detections_json(ev->detections, ev->detection_count, o.p + o.len, o.cap - o.len);
		if (n == 0)
			o.failed = 1;
		o.len += n;
	}
	if (ev->segmentation)
		put(&o, ",\"segmentation\":%s", ev->segmentation);
	put(&o, "}");
	return o.failed ? 0 : o.len;
}

/* A JSON text as an SSE message of the given type; payload range = the JSON. */
static vg_blob *typed_sse(const char *type, const char *json, uint64_t frame_id, int64_t wall_us)
{
	size_t len = strlen(json), cap = len + 32;
	vg_blob *b = vg_blob_new(cap);
	if (b) {
		int head = snprintf((char *)b->data, cap, "event: %s\ndata: ", type);
		memcpy(b->data + head, json, len);
		memcpy(b->data + head + len, "\n\n", 2);
		b->len = (size_t)head + len + 2;
		b->payload_off = (size_t)head;
		b->payload_len = len;
		b->frame_id = frame_id;
		b->capture_wall_us = wall_us;
	}
	return b;
}

vg_blob *vg_zone_event_sse(const vg_zone_event *ev, const char *camera, uint64_t frame_id)
{
	char *json = vg_zone_event_json(ev, camera, frame_id ? (int64_t)frame_id : -1);
	if (!json)
		return NULL;
	vg_blob *b = typed_sse(ev->kind == VG_LINE_CROSSED ? "line" : "zone", json, frame_id, ev->time_us);
	free(json);
	return b;
}

vg_blob *vg_object_message_sse(const vg_object_message *m)
{
	char *json = vg_object_message_json(m);
	if (!json)
		return NULL;
	double t = m->after.end_time > 0 ? m->after.end_time : m->after.start_time;
	vg_blob *b = typed_sse("object", json, 0, (int64_t)(t * 1e6));
	free(json);
	return b;
}

vg_blob *vg_event_sse(const vg_event *ev)
{
	/* The event without its detections takes under 400 bytes; a few detections with 17 keypoints, a few KB. */
	size_t cap = 512 + (ev->camera ? strlen(ev->camera) + 16 : 0) + vg_detections_json_bound(ev->detections, ev->detection_count) +
		     (ev->segmentation ? 20 + strlen(ev->segmentation) : 0);
	vg_blob *b = vg_blob_new(cap);
	if (!b)
		return NULL;
	int head = snprintf((char *)b->data, cap, "id: %" PRIu64 "\ndata: ", ev->frame_id);
	size_t json = vg_event_json(ev, (char *)b->data + head, cap - (size_t)head - 2);
	if (json == 0) {
		vg_blob_unref(b);
		return NULL;
	}
	memcpy(b->data + head + json, "\n\n", 2);
	b->len = (size_t)head + json + 2;
	b->payload_off = (size_t)head;
	b->payload_len = json;
	b->frame_id = ev->frame_id;
	b->capture_wall_us = ev->capture_wall_us;
	return b;
}
