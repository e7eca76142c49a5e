#include "publish/topics.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"

static const char *const reserved_words[] = { "detections", "snapshot", "enabled", "zones", "lines" };

size_t vg_mqtt_topic_word(const char *in, char *out, size_t cap)
{
	if (cap < VG_MQTT_WORD_MAX + 2) {
		if (cap)
			out[0] = '\0';
		return 0;
	}
	size_t n = 0;
	for (; in && in[n] && n < VG_MQTT_WORD_MAX; n++) {
		unsigned char c = (unsigned char)in[n];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
		out[n] = ok ? (char)c : '_';
	}
	if (n == 0)
		out[n++] = '_';
	out[n] = '\0';
	return n;
}

size_t vg_mqtt_label_word(const char *in, char *out, size_t cap)
{
	size_t n = vg_mqtt_topic_word(in, out, cap);
	for (size_t i = 0; i < sizeof reserved_words / sizeof reserved_words[0]; i++) {
		if (strcmp(out, reserved_words[i]) == 0) {
			out[n++] = '_';
			out[n] = '\0';
		}
	}
	return n;
}

char *vg_mqtt_detections_payload(const char *camera, const vg_detection *dets, int n, int width, int height,
				 uint64_t frame_id, int64_t capture_wall_us)
{
	char cam[VG_MQTT_WORD_MAX + 2];
	vg_mqtt_topic_word(camera, cam, sizeof cam);
	if (capture_wall_us < 0)
		capture_wall_us = 0;
	size_t dcap = vg_detections_json_bound(dets, n);
	size_t cap = dcap + strlen(cam) + 160;
	char *s = malloc(cap);
	if (!s)
		return NULL;
	int h = snprintf(s, cap,
			 "{\"camera\":\"%s\",\"frame_id\":%" PRIu64 ",\"time\":%" PRId64 ".%06d,"
			 "\"width\":%d,\"height\":%d,\"detections\":",
			 cam, frame_id, capture_wall_us / 1000000, (int)(capture_wall_us % 1000000), width,
			 height);
	if (h < 0 || (size_t)h >= cap) {
		free(s);
		return NULL;
	}
	size_t len = vg_detections_json(dets, n, s + h, cap - (size_t)h);
	if (len == 0 || (size_t)h + len + 2 > cap) {
		free(s);
		return NULL;
	}
	s[h + len] = '}';
	s[h + len + 1] = '\0';
	/* The bound allows for keypoints and attributes; a queued message should hold only its bytes. */
	char *fit = realloc(s, (size_t)h + len + 2);
	return fit ? fit : s;
}

char *vg_mqtt_node_state(const char *node, const char *url, const char *const *cameras, int ncameras)
{
	cJSON *j = cJSON_CreateObject();
	cJSON *cams = cJSON_CreateArray();
	if (!j || !cams) {
		cJSON_Delete(j);
		cJSON_Delete(cams);
		return NULL;
	}
	char word[VG_MQTT_WORD_MAX + 2];
	vg_mqtt_topic_word(node ? node : "default", word, sizeof word);
	cJSON_AddStringToObject(j, "node", word);
	cJSON_AddBoolToObject(j, "online", 1);
	if (url)
		cJSON_AddStringToObject(j, "url", url);
	for (int i = 0; i < ncameras; i++)
		cJSON_AddItemToArray(cams, cJSON_CreateString(cameras[i]));
	cJSON_AddItemToObject(j, "cameras", cams);
	char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return s;
}

void vg_mqtt_track_init(vg_mqtt_track *t)
{
	memset(t, 0, sizeof *t);
}

void vg_mqtt_track_fini(vg_mqtt_track *t)
{
	free(t->boxes);
	free(t->counts);
	memset(t, 0, sizeof *t);
}

static void box_of(const vg_detection *d, vg_mqtt_box *b)
{
	vg_mqtt_label_word(d->label, b->word, sizeof b->word);
	if (d->whole_frame) {
		b->x0 = b->y0 = b->x1 = b->y1 = NAN;
	} else {
		b->x0 = d->x0;
		b->y0 = d->y0;
		b->x1 = d->x1;
		b->y1 = d->y1;
	}
}

static int near(float a, float b)
{
	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b);
	return fabsf(a - b) <= VG_MQTT_MOVE_TOLERANCE;
}

static int same_place(const vg_mqtt_box *a, const vg_mqtt_box *b)
{
	return near(a->x0, b->x0) && near(a->y0, b->y0) && near(a->x1, b->x1) && near(a->y1, b->y1);
}

int vg_mqtt_track_changed(const vg_mqtt_track *t, const vg_detection *dets, int n)
{
	if (!t->published || n != t->nboxes)
		return 1;
	if (n == 0)
		return 0;
	/*
	 * Greedy pairing: each new detection takes the first unpaired old one of
	 * the same label in nearly the same place. Greedy can miss a pairing
	 * that exists when boxes of one label overlap within the tolerance; the
	 * cost is one extra message, never a missed change.
	 */
	unsigned char used[VG_MAX_DETECTIONS];
	if (n > VG_MAX_DETECTIONS)
		return 1;
	memset(used, 0, (size_t)n);
	for (int i = 0; i < n; i++) {
		vg_mqtt_box b;
		box_of(&dets[i], &b);
		int found = 0;
		for (int j = 0; j < t->nboxes; j++) {
			if (!used[j] && strcmp(t->boxes[j].word, b.word) == 0 && same_place(&t->boxes[j], &b)) {
				used[j] = 1;
				found = 1;
				break;
			}
		}
		if (!found)
			return 1;
	}
	return 0;
}

int vg_mqtt_track_due(const vg_mqtt_track *t, int64_t now_us, double max_rate)
{
	if (!t->published || max_rate <= 0)
		return 1;
	return (double)(now_us - t->last_us) * max_rate >= 1e6;
}

static vg_mqtt_label_count *count_find(vg_mqtt_track *t, const char *word)
{
	for (int i = 0; i < t->ncounts; i++)
		if (strcmp(t->counts[i].word, word) == 0)
			return &t->counts[i];
	return NULL;
}

int vg_mqtt_track_commit(vg_mqtt_track *t, const vg_detection *dets, int n, int64_t now_us,
			 vg_mqtt_label_count *changed)
{
	if (n < 0)
		n = 0;
	if (n > VG_MAX_DETECTIONS)
		n = VG_MAX_DETECTIONS;
	vg_mqtt_box *boxes = NULL;
	if (n) {
		boxes = malloc((size_t)n * sizeof *boxes);
		if (!boxes)
			return -1;
	}
	for (int i = 0; i < n; i++)
		box_of(&dets[i], &boxes[i]);

	/* New labels get a slot first, so that the counting below cannot fail half-way. */
	for (int i = 0; i < n; i++) {
		if (count_find(t, boxes[i].word))
			continue;
		if (t->ncounts == t->counts_cap) {
			int cap = t->counts_cap ? t->counts_cap * 2 : 8;
			vg_mqtt_label_count *c = realloc(t->counts, (size_t)cap * sizeof *c);
			if (!c) {
				free(boxes);
				return -1;
			}
			t->counts = c;
			t->counts_cap = cap;
		}
		vg_mqtt_label_count *c = &t->counts[t->ncounts++];
		memcpy(c->word, boxes[i].word, sizeof c->word);
		/* -1: never published, so that a first count of any value is a change. */
		c->count = -1;
	}
	int nchanged = 0;
	for (int k = 0; k < t->ncounts; k++) {
		vg_mqtt_label_count *c = &t->counts[k];
		int now = 0;
		for (int i = 0; i < n; i++)
			now += strcmp(boxes[i].word, c->word) == 0;
		if (now != c->count) {
			c->count = now;
			if (changed)
				changed[nchanged] = *c;
			nchanged++;
		}
	}
	free(t->boxes);
	t->boxes = boxes;
	t->nboxes = n;
	t->published = 1;
	t->last_us = now_us;
	return nchanged;
}
