/*
 * A camera's own threshold, classes and count on the results of a model it
 * shares with other cameras (vg_detection_filter): on synthetic detections,
 * and on a real model, where the filtered results of a detector decoding at a
 * lower threshold with every class must equal, box for box, what a detector
 * loaded with the camera's own settings finds.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/frame.h"
#include "detect/detector.h"
#include "source/source.h"
#include "test.h"

static vg_detection det(int cls, float score)
{
	vg_detection d = { .x0 = 0.1f, .y0 = 0.1f, .x1 = 0.2f, .y1 = 0.2f, .class_id = cls, .score = score };
	return d;
}

TEST(filter_threshold_classes_and_count_keep_order)
{
	vg_detection d[6] = { det(0, 0.9f), det(2, 0.8f), det(1, 0.7f), det(0, 0.6f), det(2, 0.5f), det(0, 0.2f) };
	vg_detection_filter f = { .threshold = 0.55f, .max_detections = 256 };
	vg_detection copy[6];
	memcpy(copy, d, sizeof d);
	CHECK(vg_detection_filter_apply(&f, copy, 6) == 4);
	CHECK(copy[3].score == 0.6f);
	/* Classes 0 and 2 only, at most 2. */
	f.n_keep = 2;
	f.keep[0] = 2;
	f.keep[1] = 0;
	memcpy(copy, d, sizeof d);
	f.max_detections = 2;
	CHECK(vg_detection_filter_apply(&f, copy, 6) == 2);
	CHECK(copy[0].class_id == 0 && copy[0].score == 0.9f && copy[1].class_id == 2 && copy[1].score == 0.8f);
	/* A score equal to the threshold passes, as the decoders let it; NaN never does. */
	memcpy(copy, d, sizeof d);
	f = (vg_detection_filter){ .threshold = 0.5f, .max_detections = 256 };
	copy[0].score = 0.0f / 0.0f;
	CHECK(vg_detection_filter_apply(&f, copy, 6) == 4);
	CHECK(copy[3].score == 0.5f);
	CHECK(vg_detection_filter_apply(&f, copy, 0) == 0);
}

static int run_on(vg_detector *d, const vg_frame *frame, vg_detection *out)
{
	char err[256];
	int n = vg_detector_run(d, frame, out, VG_MAX_DETECTIONS, NULL, NULL, NULL, err, sizeof err);
	CHECK_MSG(n >= 0, "%s", err);
	return n;
}

TEST(shared_model_filtered_equals_own_detector)
{
	char model[512], image[512], err[512];
	snprintf(model, sizeof model, "%s/models/onnx/yolox_nano.onnx", VG_ASSETS_DIR);
	snprintf(image, sizeof image, "%s/images/nanodetrepo_street.png", VG_ASSETS_DIR);
	if (access(model, R_OK) != 0 || access(image, R_OK) != 0)
		SKIP("%s or %s not found", model, image);
	vg_source_options so = { .uri = image };
	vg_source *src;
	CHECK_MSG(vg_source_open(&src, &so, NULL, err, sizeof err) == 0, "%s", err);
	vg_frame *frame;
	CHECK(vg_source_read(src, &frame) == 0);

	/* The shared copy: every class, every count, first at a high threshold and then lowered for another camera. */
	vg_detector_options shared_opt = { .model = model, .threshold = 0.6f, .max_detections = VG_MAX_DETECTIONS };
	vg_detector *shared;
	CHECK_MSG(vg_detector_create(&shared, &shared_opt, err, sizeof err) == 0, "%s", err);
	CHECK(vg_detector_threshold_filters(shared));
	CHECK(vg_detector_threshold(shared) == 0.6f);
	vg_detector_lower_threshold(shared, 0.25f);
	vg_detector_lower_threshold(shared, 0.4f); /* never raised */
	CHECK(vg_detector_threshold(shared) == 0.25f);
	static vg_detection all[VG_MAX_DETECTIONS], mine[VG_MAX_DETECTIONS];
	int n_all = run_on(shared, frame, all);

	const struct {
		float threshold;
		const char *classes;
		int max;
	} cameras[] = { { 0.25f, NULL, 0 }, { 0.5f, NULL, 0 }, { 0.3f, "person", 0 }, { 0.35f, "car,person", 3 } };
	for (size_t c = 0; c < sizeof cameras / sizeof cameras[0]; c++) {
		vg_detector_options own_opt = { .model = model, .threshold = cameras[c].threshold,
						.classes = cameras[c].classes, .max_detections = cameras[c].max };
		vg_detector *own;
		CHECK_MSG(vg_detector_create(&own, &own_opt, err, sizeof err) == 0, "%s", err);
		int n_own = run_on(own, frame, mine);
		vg_detection_filter f;
		CHECK_MSG(vg_detection_filter_init(&f, shared, &own_opt, "--classes", err, sizeof err) == 0, "%s", err);
		static vg_detection filtered[VG_MAX_DETECTIONS];
		memcpy(filtered, all, (size_t)n_all * sizeof all[0]);
		int n_f = vg_detection_filter_apply(&f, filtered, n_all);
		CHECK_MSG(n_f == n_own && n_own > 0, "camera %zu: own detector %d, shared and filtered %d (of %d)", c, n_own,
			  n_f, n_all);
		for (int i = 0; i < n_own; i++)
			CHECK_MSG(filtered[i].class_id == mine[i].class_id && filtered[i].score == mine[i].score &&
					  filtered[i].x0 == mine[i].x0 && filtered[i].y1 == mine[i].y1 &&
					  !strcmp(filtered[i].label, mine[i].label),
				  "camera %zu, detection %d: %s %.3f vs %s %.3f", c, i, filtered[i].label, filtered[i].score,
				  mine[i].label, mine[i].score);
		vg_detector_destroy(own);
	}
	/* A class the model does not have is named in the error, with the option. */
	vg_detector_options bad = { .model = model, .classes = "person,unicorn" };
	vg_detection_filter f;
	CHECK(vg_detection_filter_init(&f, shared, &bad, "classes", err, sizeof err) < 0);
	CHECK_MSG(strstr(err, "unicorn") && strstr(err, "classes"), "%s", err);
	vg_detector_destroy(shared);
	vg_frame_unref(frame);
	vg_source_destroy(src);
}

TEST_SUITE(detect_filter, TEST_ENTRY(filter_threshold_classes_and_count_keep_order),
	   TEST_ENTRY(shared_model_filtered_equals_own_detector));
