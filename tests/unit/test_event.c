#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "event.h"
#include "test.h"

static vg_event sample_event(const vg_detection *dets, int n)
{
	vg_event ev = {
		.frame_id = 42,
		.capture_wall_us = 1764070000123456,
		.width = 768,
		.height = 576,
		.decode_us = 1500,
		.analysis_us = 9000,
		.encode_us = 2250,
		.latency_us = 13000,
		.detections_frame_id = 41,
		.detections_age_us = 100000,
		.detections = dets,
		.detection_count = n,
	};
	return ev;
}

TEST(event_json_fields)
{
	vg_detection d[2] = {
		{ .x0 = 0.1f, .y0 = 0.2f, .x1 = 0.3f, .y1 = 0.4f, .class_id = 0, .score = 0.91f, .label = "person" },
		{ .x0 = 0.5f, .y0 = 0.5f, .x1 = 1.0f, .y1 = 1.0f, .class_id = 17, .score = 0.5f,
		  .label = "a \"quoted\"\\label\n" },
	};
	vg_event ev = sample_event(d, 2);
	char buf[2048];
	size_t n = vg_event_json(&ev, buf, sizeof buf);
	CHECK(n > 0 && n == strlen(buf));
	cJSON *j = cJSON_Parse(buf);
	CHECK_MSG(j != NULL, "not JSON: %s", buf);
	CHECK(cJSON_GetObjectItem(j, "frame_id")->valuedouble == 42);
	double t = cJSON_GetObjectItem(j, "capture_time")->valuedouble;
	CHECK_MSG(fabs(t - 1764070000.123456) < 1e-6, "capture_time %.6f", t);
	cJSON *lat = cJSON_GetObjectItem(j, "latency_ms");
	CHECK(fabs(cJSON_GetObjectItem(lat, "encode")->valuedouble - 2.25) < 1e-9);
	CHECK(fabs(cJSON_GetObjectItem(lat, "total")->valuedouble - 13.0) < 1e-9);
	CHECK(cJSON_GetObjectItem(j, "detections_frame_id")->valuedouble == 41);
	cJSON *dets = cJSON_GetObjectItem(j, "detections");
	CHECK(cJSON_GetArraySize(dets) == 2);
	cJSON *second = cJSON_GetArrayItem(dets, 1);
	CHECK(strcmp(cJSON_GetObjectItem(second, "label")->valuestring, "a \"quoted\"\\label\n") == 0);
	CHECK(cJSON_GetObjectItem(second, "class_id")->valueint == 17);
	cJSON *box = cJSON_GetObjectItem(cJSON_GetArrayItem(dets, 0), "box");
	CHECK(cJSON_GetArraySize(box) == 4 && fabs(cJSON_GetArrayItem(box, 3)->valuedouble - 0.4) < 1e-5);
	cJSON_Delete(j);
}

TEST(event_json_without_analysis)
{
	vg_event ev = sample_event(NULL, 0);
	ev.detections_frame_id = 0;
	char buf[1024];
	CHECK(vg_event_json(&ev, buf, sizeof buf) > 0);
	cJSON *j = cJSON_Parse(buf);
	CHECK(j && cJSON_IsNull(cJSON_GetObjectItem(j, "detections_frame_id")));
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(j, "detections")) == 0);
	cJSON_Delete(j);
}

TEST(event_json_reports_overflow)
{
	vg_event ev = sample_event(NULL, 0);
	char buf[64];
	CHECK(vg_event_json(&ev, buf, sizeof buf) == 0);
	CHECK(vg_event_json(&ev, buf, 0) == 0);
}

TEST(event_sse_framing)
{
	vg_detection d = { .x1 = 1, .y1 = 1, .class_id = 3, .score = 0.75f, .label = "car" };
	vg_event ev = sample_event(&d, 1);
	vg_blob *b = vg_event_sse(&ev);
	CHECK(b != NULL);
	const char *s = (const char *)b->data;
	CHECK(strncmp(s, "id: 42\ndata: {", 14) == 0);
	CHECK(b->len > 2 && s[b->len - 2] == '\n' && s[b->len - 1] == '\n');
	CHECK(memchr(s + b->payload_off, '\n', b->payload_len) == NULL); /* one data line */
	CHECK(b->payload_off + b->payload_len + 2 == b->len);
	CHECK(b->frame_id == 42);
	char json[1024];
	memcpy(json, s + b->payload_off, b->payload_len);
	json[b->payload_len] = '\0';
	cJSON *j = cJSON_Parse(json);
	CHECK(j != NULL);
	cJSON_Delete(j);
	vg_blob_unref(b);
}

TEST(event_sse_many_detections)
{
	static vg_detection d[100];
	for (int i = 0; i < 100; i++) {
		d[i] = (vg_detection){ .x0 = 0.123456f, .y0 = 0.5f, .x1 = 0.75f, .y1 = 0.999999f, .class_id = i, .score = 0.999f };
		memset(d[i].label, 'x', sizeof d[i].label - 1);
	}
	vg_event ev = sample_event(d, 100);
	vg_blob *b = vg_event_sse(&ev);
	CHECK(b != NULL);
	vg_blob_unref(b);
}

TEST_SUITE(event, TEST_ENTRY(event_json_fields), TEST_ENTRY(event_json_without_analysis),
	   TEST_ENTRY(event_json_reports_overflow), TEST_ENTRY(event_sse_framing), TEST_ENTRY(event_sse_many_detections));
