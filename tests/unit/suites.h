/* Every unit-test suite linked into the unit-tests binary. Add a line per new test file. */
#ifndef VG_SUITES_H
#define VG_SUITES_H

#include "test.h"

extern const vg_test vg_suite_frame[];
extern const vg_test vg_suite_slot[];
extern const vg_test vg_suite_blob[];
extern const vg_test vg_suite_event[];
extern const vg_test vg_suite_jpeg[];
extern const vg_test vg_suite_keypoints[];
extern const vg_test vg_suite_mjpeg[];
extern const vg_test vg_suite_http_request[];
extern const vg_test vg_suite_http_status[];
extern const vg_test vg_suite_http_access[];
extern const vg_test vg_suite_redact[];
extern const vg_test vg_suite_source[];
extern const vg_test vg_suite_detect[];
extern const vg_test vg_suite_decoders[];
extern const vg_test vg_suite_model_config[];
extern const vg_test vg_suite_render[];
extern const vg_test vg_suite_detect_ssd[];
extern const vg_test vg_suite_detect_filter[];
extern const vg_test vg_suite_mediapipe[];
extern const vg_test vg_suite_priorbox[];
extern const vg_test vg_suite_classify[];
extern const vg_test vg_suite_npy[];
extern const vg_test vg_suite_segment[];
extern const vg_test vg_suite_yolo[];
extern const vg_test vg_suite_config[];
extern const vg_test vg_suite_infer_pool[];
extern const vg_test vg_suite_auth[];
extern const vg_test vg_suite_mqtt[];
extern const vg_test vg_suite_track[];
extern const vg_test vg_suite_track_scenes[];
extern const vg_test vg_suite_zones[];
extern const vg_test vg_suite_scene[];
extern const vg_test vg_suite_lifecycle[];
extern const vg_test vg_suite_snapshot[];
extern const vg_test vg_suite_zones_overlay[];
extern const vg_test vg_suite_video_writer[];
extern const vg_test vg_suite_event_store[];
extern const vg_test vg_suite_recorder[];

static const vg_test *const vg_all_suites[] = {
	vg_suite_frame,
	vg_suite_slot,
	vg_suite_blob,
	vg_suite_event,
	vg_suite_jpeg,
	vg_suite_keypoints,
	vg_suite_mjpeg,
	vg_suite_http_request,
	vg_suite_http_status,
	vg_suite_http_access,
	vg_suite_redact,
	vg_suite_source,
	vg_suite_detect,
	vg_suite_decoders,
	vg_suite_model_config,
	vg_suite_render,
	vg_suite_detect_ssd,
	vg_suite_detect_filter,
	vg_suite_mediapipe,
	vg_suite_priorbox,
	vg_suite_classify,
	vg_suite_npy,
	vg_suite_segment,
	vg_suite_yolo,
	vg_suite_config,
	vg_suite_infer_pool,
	vg_suite_auth,
	vg_suite_mqtt,
	vg_suite_track,
	vg_suite_track_scenes,
	vg_suite_zones,
	vg_suite_scene,
	vg_suite_lifecycle,
	vg_suite_snapshot,
	vg_suite_zones_overlay,
	vg_suite_video_writer,
	vg_suite_event_store,
	vg_suite_recorder,
	NULL,
};

#endif
