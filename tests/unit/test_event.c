#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "detect/keypoints.h"
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

/* A MoveNet-like person: 17 COCO keypoints at distinct positions and scores. */
static vg_detection person(void)
{
	vg_detection d = { .x0 = 0.2f, .y0 = 0.1f, .x1 = 0.6f, .y1 = 0.9f, .score = 0.56f, .label = "person" };
	d.layout = &vg_keypoints_coco17;
	d.n_keypoints = 17;
	for (int k = 0; k < 17; k++)
		d.keypoints[k] = (vg_keypoint){ 0.25f + 0.01f * (float)k, 0.125f + 0.04f * (float)k, 0.05f * (float)k };
	return d;
}

TEST(event_json_keypoints)
{
	vg_detection d[3] = { person() };
	/* Keypoints without a layout (no names), and a detection without keypoints. */
	d[1] = (vg_detection){ .x0 = 0.1f, .y0 = 0.1f, .x1 = 0.2f, .y1 = 0.2f, .score = 0.9f, .label = "face",
			       .n_keypoints = 2, .keypoints = { { 0.125f, 0.15f, 1 }, { 0.175f, 0.155f, 0.5f } } };
	d[2] = (vg_detection){ .x0 = 0.5f, .y0 = 0.5f, .x1 = 0.7f, .y1 = 0.8f, .class_id = 2, .score = 0.7f, .label = "car" };
	vg_event ev = sample_event(d, 3);
	char buf[8192];
	size_t n = vg_event_json(&ev, buf, sizeof buf);
	CHECK(n > 0 && n == strlen(buf));
	CHECK_MSG(n < 512 + vg_detections_json_bound(d, 3), "%zu bytes, bound %zu", n, vg_detections_json_bound(d, 3));
	cJSON *j = cJSON_Parse(buf);
	CHECK_MSG(j != NULL, "not JSON: %s", buf);
	cJSON *dets = cJSON_GetObjectItem(j, "detections");
	CHECK(cJSON_GetArraySize(dets) == 3);

	cJSON *kps = cJSON_GetObjectItem(cJSON_GetArrayItem(dets, 0), "keypoints");
	CHECK(cJSON_IsArray(kps) && cJSON_GetArraySize(kps) == 17);
	for (int k = 0; k < 17; k++) {
		cJSON *kp = cJSON_GetArrayItem(kps, k);
		CHECK(strcmp(cJSON_GetObjectItem(kp, "name")->valuestring, vg_keypoints_coco17.names[k]) == 0);
		CHECK(fabs(cJSON_GetObjectItem(kp, "x")->valuedouble - (0.25 + 0.01 * k)) < 1e-5);
		CHECK(fabs(cJSON_GetObjectItem(kp, "y")->valuedouble - (0.125 + 0.04 * k)) < 1e-5);
		CHECK(fabs(cJSON_GetObjectItem(kp, "score")->valuedouble - 0.05 * k) < 1e-4);
	}
	CHECK(strcmp(cJSON_GetObjectItem(cJSON_GetArrayItem(kps, 0), "name")->valuestring, "nose") == 0);
	CHECK(strcmp(cJSON_GetObjectItem(cJSON_GetArrayItem(kps, 16), "name")->valuestring, "right_ankle") == 0);
	/* The box is still there, unchanged. */
	cJSON *box = cJSON_GetObjectItem(cJSON_GetArrayItem(dets, 0), "box");
	CHECK(cJSON_GetArraySize(box) == 4 && fabs(cJSON_GetArrayItem(box, 2)->valuedouble - 0.6) < 1e-5);

	kps = cJSON_GetObjectItem(cJSON_GetArrayItem(dets, 1), "keypoints");
	CHECK(cJSON_GetArraySize(kps) == 2);
	cJSON *second = cJSON_GetArrayItem(kps, 1);
	CHECK(cJSON_GetObjectItem(second, "name") == NULL);
	CHECK(fabs(cJSON_GetObjectItem(second, "x")->valuedouble - 0.175) < 1e-5);
	CHECK(fabs(cJSON_GetObjectItem(second, "score")->valuedouble - 0.5) < 1e-4);

	CHECK(cJSON_GetObjectItem(cJSON_GetArrayItem(dets, 2), "keypoints") == NULL);
	cJSON_Delete(j);
}

TEST(event_json_keypoints_odd_values)
{
	vg_detection d = person();
	d.keypoints[0].x = NAN;
	d.keypoints[1].y = INFINITY;
	d.keypoints[2].x = -1e30f;
	d.keypoints[3].score = 1e30f;
	d.keypoints[4].x = -0.03f; /* an ear just outside the frame is fine */
	char buf[8192];
	size_t n = vg_detections_json(&d, 1, buf, sizeof buf);
	CHECK(n > 0);
	cJSON *j = cJSON_Parse(buf);
	CHECK_MSG(j != NULL, "not JSON: %s", buf);
	cJSON *kps = cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "keypoints");
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(kps, 0), "x")));
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(kps, 1), "y")));
	CHECK(cJSON_GetObjectItem(cJSON_GetArrayItem(kps, 2), "x")->valuedouble == -1e6);
	CHECK(cJSON_GetObjectItem(cJSON_GetArrayItem(kps, 3), "score")->valuedouble == 1e6);
	CHECK(fabs(cJSON_GetObjectItem(cJSON_GetArrayItem(kps, 4), "x")->valuedouble + 0.03) < 1e-5);
	cJSON_Delete(j);
}

TEST(event_json_bound_holds_worst_case)
{
	/* Longest label of bytes that escape to 6 each, extreme values everywhere, 17 named keypoints. */
	static vg_detection d[VG_MAX_DETECTIONS];
	for (int i = 0; i < VG_MAX_DETECTIONS; i++) {
		d[i] = person();
		memset(d[i].label, 0x01, sizeof d[i].label - 1);
		d[i].class_id = -2147483647 - 1;
		d[i].score = -1e30f;
		d[i].x0 = d[i].y0 = d[i].x1 = d[i].y1 = -1e30f;
		for (int k = 0; k < 17; k++)
			d[i].keypoints[k] = (vg_keypoint){ -1e30f, -1e30f, -1e30f };
	}
	size_t bound = vg_detections_json_bound(d, VG_MAX_DETECTIONS);
	char *buf = malloc(bound);
	CHECK(buf != NULL);
	size_t n = vg_detections_json(d, VG_MAX_DETECTIONS, buf, bound);
	CHECK_MSG(n > 0 && n < bound, "%zu bytes, bound %zu", n, bound);
	free(buf);
	vg_event ev = sample_event(d, VG_MAX_DETECTIONS);
	vg_blob *b = vg_event_sse(&ev);
	CHECK(b != NULL);
	vg_blob_unref(b);
	/* 17 keypoints add about 1 KB to a detection, not more. */
	vg_detection plain = person();
	size_t with = vg_detection_json_bound(&plain);
	plain.n_keypoints = 0;
	size_t without = vg_detection_json_bound(&plain);
	CHECK_MSG(with - without > 1000 && with - without < 3000, "17 keypoints: %zu bytes", with - without);
}

TEST_SUITE(event, TEST_ENTRY(event_json_fields), TEST_ENTRY(event_json_without_analysis),
	   TEST_ENTRY(event_json_reports_overflow), TEST_ENTRY(event_sse_framing), TEST_ENTRY(event_sse_many_detections),
	   TEST_ENTRY(event_json_keypoints), TEST_ENTRY(event_json_keypoints_odd_values),
	   TEST_ENTRY(event_json_bound_holds_worst_case));
