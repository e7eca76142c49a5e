/*
 * Model settings: sidecar files (good, bad JSON, bad types, unknown keys,
 * relative label paths), where they are found, the built-in defaults of the
 * known TensorFlow.js models, and which source wins.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect/detector.h"
#include "detect/labels.h"
#include "detect/model_config.h"
#include "test.h"

static int parse(vg_model_config *c, const char *text, char *err, size_t errlen)
{
	return vg_model_config_parse(c, text, strlen(text), "/models/x/centernet.vigil.json", err, errlen);
}

TEST(sidecar_good)
{
	const char *text = "{\n"
			   "  \"comment\": \"CenterNet as exported by vladmandic\",\n"
			   "  \"layout\": \"nchw\", \"color\": \"bgr\",\n"
			   "  \"mean\": [103.53, 116.28, 123.675], \"std\": 58,\n"
			   "  \"resize\": \"letterbox\", \"pad_value\": 114,\n"
			   "  \"decoder\": \"nanodet\", \"labels\": \"coco.txt\",\n"
			   "  \"threshold\": 0.35, \"iou\": 0.6, \"nms\": \"class-agnostic\",\n"
			   "  \"top_k\": 50, \"max_detections\": 20, \"center_offset\": 0.5, \"reg_max\": 7,\n"
			   "  \"anchors\": {\"strides\": [8, 16, 16, 16], \"per_layer\": 2, \"offset\": 0.5},\n"
			   "  \"box_scale\": [128, 128, 64, 64], \"keypoints\": 6, \"score_clip\": 100\n"
			   "}\n";
	vg_model_config c;
	char err[512];
	CHECK_MSG(parse(&c, text, err, sizeof err) == 0, "%s", err);
	CHECK(c.has_layout && c.nchw && c.has_color && c.bgr);
	CHECK(c.has_mean && c.mean[2] == 123.675f && c.has_std && c.std[0] == 58 && c.std[2] == 58);
	CHECK(c.has_resize && c.resize == VG_RESIZE_LETTERBOX && c.has_pad && c.pad_value == 114);
	CHECK(!strcmp(c.decoder, "nanodet"));
	CHECK_MSG(c.labels_path && !strcmp(c.labels_path, "/models/x/coco.txt"), "%s", c.labels_path);
	CHECK(c.threshold == 0.35f && c.iou == 0.6f && c.nms == VG_NMS_CLASS_AGNOSTIC);
	CHECK(c.top_k == 50 && c.max_detections == 20 && c.has_center_offset && c.center_offset == 0.5f);
	CHECK(c.reg_max == 7 && c.has_anchors && c.anchors.n_layers == 4 && c.anchors.strides[3] == 16);
	CHECK(c.has_box_scale && c.box_scale[2] == 64 && c.keypoints == 6 && c.score_clip == 100);
	CHECK(strstr(c.origin, "sidecar /models/x/centernet.vigil.json"));
	vg_model_config_free(&c);

	/* Labels inline, absolute, and built in; an empty object is fine. */
	CHECK(parse(&c, "{\"labels\": [\"cat\", \"dog\"]}", err, sizeof err) == 0);
	CHECK(c.n_labels == 2 && !strcmp(c.label_names[1], "dog"));
	vg_model_config_free(&c);
	CHECK(parse(&c, "{\"labels\": \"/etc/labels.txt\"}", err, sizeof err) == 0);
	CHECK(!strcmp(c.labels_path, "/etc/labels.txt"));
	vg_model_config_free(&c);
	CHECK(vg_model_config_parse(&c, "{\"labels\": \"l.txt\"}", 19, "side.json", err, sizeof err) == 0);
	CHECK_MSG(!strcmp(c.labels_path, "l.txt"), "%s", c.labels_path); /* a sidecar in the working folder */
	vg_model_config_free(&c);
	CHECK(parse(&c, "{\"labels\": \"builtin:coco80\"}", err, sizeof err) == 0 && c.labels_coco80);
	vg_model_config_free(&c);
	CHECK(parse(&c, " {} ", err, sizeof err) == 0 && !c.has_layout && c.keypoints == -1 && !c.decoder[0]);
	vg_model_config_free(&c);
}

/* The sidecar fails with a message naming the file and containing want. */
static void bad(const char *text, const char *want)
{
	vg_model_config c;
	char err[512] = "";
	CHECK_MSG(parse(&c, text, err, sizeof err) < 0, "accepted: %s", text);
	CHECK_MSG(strstr(err, "/models/x/centernet.vigil.json") && strstr(err, want), "%s: got '%s', want '%s'", text,
		  err, want);
}

TEST(sidecar_bad_json)
{
	bad("{\n  \"mean\": [1, 2, 3],\n  \"std\": [1, 2 3]\n}", "invalid JSON at line 3");
	bad("", "invalid JSON");
	bad("{\"threshold\": 0.5} trailing", "text after the object");
	bad("[1, 2, 3]", "expected a JSON object");
	bad("\"centernet\"", "expected a JSON object");
}

TEST(sidecar_bad_types_and_values)
{
	bad("{\"mean\": \"127\"}", "key 'mean': expected a number or an array of 3 numbers");
	bad("{\"mean\": [1, 2]}", "key 'mean'");
	bad("{\"std\": [1, 0, 1]}", "key 'std'");
	bad("{\"layout\": \"hwc\"}", "key 'layout': expected \"nhwc\" or \"nchw\"");
	bad("{\"color\": 1}", "key 'color'");
	bad("{\"resize\": \"crop\"}", "key 'resize'");
	bad("{\"pad_value\": 256}", "key 'pad_value'");
	bad("{\"pad_value\": 1.5}", "key 'pad_value'");
	bad("{\"decoder\": \"yolo\"}", "key 'decoder': expected one of auto, postprocessed");
	bad("{\"labels\": 3}", "key 'labels'");
	bad("{\"labels\": [\"a\", 2]}", "key 'labels': element 1 is not a string");
	bad("{\"labels\": []}", "key 'labels'");
	bad("{\"labels\": \"builtin:imagenet\"}", "unknown built-in label set");
	bad("{\"threshold\": 1.5}", "key 'threshold'");
	bad("{\"threshold\": \"0.5\"}", "key 'threshold'");
	bad("{\"iou\": 0}", "key 'iou'");
	bad("{\"nms\": \"soft\"}", "key 'nms'");
	bad("{\"top_k\": 0}", "key 'top_k'");
	bad("{\"reg_max\": -1}", "key 'reg_max'");
	bad("{\"anchors\": [8, 16]}", "key 'anchors'");
	bad("{\"anchors\": {\"per_layer\": 2}}", "key 'anchors': 'strides' is missing");
	bad("{\"anchors\": {\"strides\": [8, 0]}}", "key 'anchors.strides'");
	bad("{\"anchors\": {\"strides\": [8], \"size\": 1}}", "key 'size': unknown key in 'anchors'");
	bad("{\"box_scale\": [1, 2, 3]}", "key 'box_scale'");
	bad("{\"keypoints\": 99}", "key 'keypoints'");
}

TEST(sidecar_unknown_and_duplicate_keys)
{
	bad("{\"colour\": \"rgb\"}", "key 'colour': unknown key (known: layout, color");
	bad("{\"threshold\": 0.5, \"threshold\": 0.6}", "key 'threshold': given twice");
}

static char tmpdir[64];

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/vigil-sidecar-XXXXXX");
	CHECK(mkdtemp(tmpdir) != NULL);
}

static void write_file(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputs(text, f);
	CHECK(fclose(f) == 0);
}

static void remove_files(const char *const *names)
{
	char path[256];
	for (int i = 0; names[i]; i++) {
		snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
		unlink(path);
	}
	rmdir(tmpdir);
}

TEST(sidecar_found_next_to_the_model)
{
	make_tmpdir();
	char model[256], found[512];
	snprintf(model, sizeof model, "%s/centernet.json", tmpdir);
	write_file("centernet.json", "{}");
	CHECK(vg_model_config_find_sidecar(model, found, sizeof found) == 0);
	/* <model>.vigil.json is the second choice... */
	write_file("centernet.json.vigil.json", "{}");
	CHECK(vg_model_config_find_sidecar(model, found, sizeof found) == 1);
	CHECK_MSG(strstr(found, "/centernet.json.vigil.json"), "%s", found);
	/* ...the extension replaced is the first. */
	write_file("centernet.vigil.json", "{\"threshold\": 0.25, \"labels\": \"names.txt\"}");
	CHECK(vg_model_config_find_sidecar(model, found, sizeof found) == 1);
	CHECK_MSG(strstr(found, "/centernet.vigil.json") && !strstr(found, "json.vigil"), "%s", found);
	snprintf(model, sizeof model, "%s/detect.tflite", tmpdir);
	write_file("detect.vigil.json", "{}");
	CHECK(vg_model_config_find_sidecar(model, found, sizeof found) == 1 && strstr(found, "/detect.vigil.json"));
	/* Loaded from disk, relative labels resolve next to it. */
	vg_model_config c;
	char err[512], path[256];
	snprintf(path, sizeof path, "%s/centernet.vigil.json", tmpdir);
	CHECK_MSG(vg_model_config_load(&c, path, err, sizeof err) == 0, "%s", err);
	char want[256];
	snprintf(want, sizeof want, "%s/names.txt", tmpdir);
	CHECK(c.threshold == 0.25f && !strcmp(c.labels_path, want));
	vg_model_config_free(&c);
	snprintf(path, sizeof path, "%s/missing.vigil.json", tmpdir);
	CHECK(vg_model_config_load(&c, path, err, sizeof err) < 0 && strstr(err, "missing.vigil.json"));
	const char *names[] = { "centernet.json", "centernet.json.vigil.json", "centernet.vigil.json",
				"detect.vigil.json", NULL };
	remove_files(names);
}

/* "input_size" in a sidecar, found next to the model or named, else the built-in size by name. */
TEST(sidecar_input_size)
{
	make_tmpdir();
	char model[256], err[512];
	int w, h;
	snprintf(model, sizeof model, "%s/frozen.pb", tmpdir);
	write_file("frozen.pb", "x");
	CHECK(vg_model_config_input_size(model, NULL, &w, &h, err, sizeof err) == 0 && w == 0 && h == 0);
	write_file("frozen.vigil.json", "{\"input_size\": [320, 240]}");
	CHECK_MSG(vg_model_config_input_size(model, NULL, &w, &h, err, sizeof err) == 0, "%s", err);
	CHECK(w == 320 && h == 240);
	CHECK(vg_model_config_input_size(model, "none", &w, &h, err, sizeof err) == 0 && w == 0);
	write_file("other.json", "{\"input_size\": [64, 32]}");
	char other[256];
	snprintf(other, sizeof other, "%s/other.json", tmpdir);
	CHECK(vg_model_config_input_size(model, other, &w, &h, err, sizeof err) == 0 && w == 64 && h == 32);
	const char *bad[] = { "[320]", "[0, 10]", "[10, 9000]", "[1.5, 2]", "\"300x300\"", NULL };
	for (int i = 0; bad[i]; i++) {
		char text[64];
		snprintf(text, sizeof text, "{\"input_size\": %s}", bad[i]);
		write_file("frozen.vigil.json", text);
		CHECK_MSG(vg_model_config_input_size(model, NULL, &w, &h, err, sizeof err) < 0 &&
				  strstr(err, "key 'input_size': expected [width, height]"),
			  "%s: %s", bad[i], err);
	}
	/* OpenCV's face detector is known by name; its sidecar still wins. */
	snprintf(model, sizeof model, "%s/opencv_face_detector_uint8.pb", tmpdir);
	CHECK(vg_model_config_input_size(model, NULL, &w, &h, err, sizeof err) == 0 && w == 300 && h == 300);
	write_file("opencv_face_detector_uint8.vigil.json", "{\"input_size\": [600, 400]}");
	CHECK(vg_model_config_input_size(model, NULL, &w, &h, err, sizeof err) == 0 && w == 600 && h == 400);
	const char *names[] = { "frozen.pb", "frozen.vigil.json", "other.json", "opencv_face_detector_uint8.vigil.json",
				NULL };
	remove_files(names);
}

static nn_tensor input_tensor(int a, int b, int c, int d)
{
	nn_tensor t;
	memset(&t, 0, sizeof t);
	t.dtype = NN_F32;
	t.rank = 4;
	t.shape[0] = a;
	t.shape[1] = b;
	t.shape[2] = c;
	t.shape[3] = d;
	return t;
}

TEST(builtin_defaults_by_name_and_shape)
{
	vg_model_config c;
	char note[256];
	nn_tensor cn = input_tensor(1, 512, 512, 3), nd = input_tensor(1, 3, 416, 416), bf = input_tensor(1, 128, 128, 3);
	CHECK(vg_model_config_builtin(&c, "/x/centernet.json", &cn, note, sizeof note) == 1);
	CHECK(!strcmp(c.decoder, "centernet") && c.labels_coco80 && !c.nchw && !c.bgr && c.mean[0] == 0 &&
	      c.std[0] == 1 && c.resize == VG_RESIZE_STRETCH);
	CHECK(strstr(c.origin, "built-in defaults for centernet.json"));
	vg_model_config_free(&c);
	CHECK(vg_model_config_builtin(&c, "nanodet.json", &nd, note, sizeof note) == 1);
	CHECK(!strcmp(c.decoder, "nanodet") && c.nchw && c.bgr && c.mean[0] == 103.53f && c.std[2] == 58.395f &&
	      c.reg_max == 10 && c.center_offset == 0.5f);
	vg_model_config_free(&c);
	CHECK(vg_model_config_builtin(&c, "m/blazeface-front.json", &bf, note, sizeof note) == 1);
	CHECK(!strcmp(c.decoder, "blazeface") && c.anchors.strides[0] == 8 && c.anchors.strides[1] == 16 &&
	      c.box_scale[0] == 128 && c.n_labels == 1 && !strcmp(c.label_names[0], "face"));
	vg_model_config_free(&c);
	nn_tensor hd = input_tensor(1, 256, 256, 3);
	CHECK(vg_model_config_builtin(&c, "handdetect.json", &hd, note, sizeof note) == 1);
	CHECK(c.anchors.n_layers == 5 && c.anchors.strides[2] == 32 && c.keypoints == 7);
	CHECK(!strcmp(c.label_names[0], "hand"));
	vg_model_config_free(&c);
	/* Known name, other shape: no defaults, and a note saying why. */
	CHECK(vg_model_config_builtin(&c, "centernet.json", &nd, note, sizeof note) == 0);
	CHECK_MSG(strstr(note, "centernet.json") && strstr(note, "[1,512,512,3]"), "%s", note);
	CHECK(vg_model_config_builtin(&c, "blazeface.json", &bf, note, sizeof note) == 0);
	CHECK(vg_model_config_builtin(&c, "other.json", &cn, note, sizeof note) == 0 && !note[0]);
}

TEST(coco80_labels)
{
	CHECK(!strcmp(vg_coco80_labels[0], "person") && !strcmp(vg_coco80_labels[1], "bicycle"));
	CHECK(!strcmp(vg_coco80_labels[2], "car") && !strcmp(vg_coco80_labels[7], "truck"));
	CHECK(!strcmp(vg_coco80_labels[16], "dog") && !strcmp(vg_coco80_labels[27], "tie"));
	CHECK(!strcmp(vg_coco80_labels[62], "tv") && !strcmp(vg_coco80_labels[79], "toothbrush"));
}

TEST(precedence_options_sidecar_builtin)
{
	nn_tensor cn = input_tensor(1, 512, 512, 3);
	vg_model_config base, side;
	char err[256];
	CHECK(vg_model_config_builtin(&base, "centernet.json", &cn, NULL, 0) == 1);
	CHECK(parse(&side, "{\"threshold\": 0.6, \"std\": 255, \"labels\": [\"a\", \"b\"]}", err, sizeof err) == 0);
	vg_model_config_overlay(&base, &side);
	/* The sidecar's keys win; the built-in ones it does not give stay. */
	CHECK(base.threshold == 0.6f && base.std[1] == 255 && base.mean[1] == 0 && !strcmp(base.decoder, "centernet"));
	CHECK(base.n_labels == 2 && !base.labels_coco80);
	CHECK_MSG(strstr(base.origin, "sidecar") && strstr(base.origin, "over built-in defaults for centernet.json"),
		  "%s", base.origin);

	vg_detector_options opt = { 0 };
	vg_preprocess_config pre;
	vg_detector_resolve_preprocess(&opt, &base, &cn, &pre);
	CHECK(pre.has_norm && pre.mean[0] == 0 && pre.std[0] == 255 && !pre.bgr && !pre.nchw &&
	      pre.resize == VG_RESIZE_STRETCH);
	CHECK(vg_detector_resolve_threshold(&opt, &base, VG_DECODER_CENTERNET) == 0.6f);
	/* Options win over both: --mean alone keeps the sidecar's std; --bgr, --resize, --threshold. */
	opt.pre.has_norm = 1;
	opt.mean_set = 1;
	opt.pre.mean[0] = opt.pre.mean[1] = opt.pre.mean[2] = 10;
	opt.pre.std[0] = opt.pre.std[1] = opt.pre.std[2] = 127.5f; /* what --mean alone leaves in std */
	opt.pre.bgr = 1;
	opt.pre.resize = VG_RESIZE_LETTERBOX;
	opt.resize_set = 1;
	opt.threshold = 0.9f;
	vg_detector_resolve_preprocess(&opt, &base, &cn, &pre);
	CHECK(pre.mean[0] == 10 && pre.std[0] == 255 && pre.bgr && pre.resize == VG_RESIZE_LETTERBOX);
	CHECK(vg_detector_resolve_threshold(&opt, &base, VG_DECODER_CENTERNET) == 0.9f);
	vg_model_config_free(&base);

	/* Nothing given: the input's shape decides the layout; generic thresholds. */
	vg_detector_options none = { 0 };
	vg_model_config empty;
	vg_model_config_init(&empty);
	nn_tensor planar = input_tensor(1, 3, 416, 416);
	vg_detector_resolve_preprocess(&none, &empty, &planar, &pre);
	CHECK(pre.nchw && !pre.has_norm);
	vg_detector_resolve_preprocess(&none, &empty, &cn, &pre);
	CHECK(!pre.nchw);
	CHECK(vg_detector_resolve_threshold(&none, &empty, VG_DECODER_CLASSIFIER) == 0.1f);
	CHECK(vg_detector_resolve_threshold(&none, &empty, VG_DECODER_NANODET) == 0.5f);
}

/* The whole path on a real model: a sidecar found beside it (here given with --sidecar), and a broken one. */
TEST(detector_with_sidecar_on_real_model)
{
	char model[512];
	snprintf(model, sizeof model, "%s/models/tflite/ssd_mobilenet_v1_coco_quant_2018_06_29_detect.tflite",
		 VG_ASSETS_DIR);
	if (access(model, R_OK) != 0)
		SKIP("%s not found", model);
	make_tmpdir();
	write_file("names.txt", "person\nbicycle\ncar\n");
	write_file("good.vigil.json", "{\"threshold\": 0.7, \"labels\": \"names.txt\", \"resize\": \"letterbox\"}");
	write_file("bad.vigil.json", "{\"threshold\": 0.7, \"letterbox\": true}");
	char side[256], err[512];
	snprintf(side, sizeof side, "%s/good.vigil.json", tmpdir);
	vg_detector_options opt = { .model = model, .sidecar = side };
	vg_detector *det;
	CHECK_MSG(vg_detector_create(&det, &opt, err, sizeof err) == 0, "%s", err);
	const char *sum = vg_detector_config_summary(det);
	CHECK_MSG(strstr(sum, "letterbox to 300x300") && strstr(sum, "threshold 0.7") &&
			  strstr(sum, "labels: the sidecar") && strstr(sum, "good.vigil.json"),
		  "%s", sum);
	vg_detector_destroy(det);
	/* --threshold and --resize beat the sidecar. */
	opt.threshold = 0.4f;
	opt.resize_set = 1;
	CHECK(vg_detector_create(&det, &opt, err, sizeof err) == 0);
	sum = vg_detector_config_summary(det);
	CHECK_MSG(strstr(sum, "stretch to 300x300") && strstr(sum, "threshold 0.4"), "%s", sum);
	vg_detector_destroy(det);
	/* A broken sidecar stops the model with the file and the key named. */
	snprintf(side, sizeof side, "%s/bad.vigil.json", tmpdir);
	opt.sidecar = side;
	CHECK(vg_detector_create(&det, &opt, err, sizeof err) < 0);
	CHECK_MSG(strstr(err, "bad.vigil.json") && strstr(err, "'letterbox'"), "%s", err);
	/* "none" ignores sidecars. */
	opt.sidecar = "none";
	CHECK(vg_detector_create(&det, &opt, err, sizeof err) == 0);
	CHECK(strstr(vg_detector_config_summary(det), "sidecar disabled"));
	vg_detector_destroy(det);
	const char *names[] = { "names.txt", "good.vigil.json", "bad.vigil.json", NULL };
	remove_files(names);
}

TEST_SUITE(model_config, TEST_ENTRY(sidecar_good), TEST_ENTRY(sidecar_bad_json),
	   TEST_ENTRY(sidecar_bad_types_and_values), TEST_ENTRY(sidecar_unknown_and_duplicate_keys),
	   TEST_ENTRY(sidecar_found_next_to_the_model), TEST_ENTRY(builtin_defaults_by_name_and_shape),
	   TEST_ENTRY(coco80_labels), TEST_ENTRY(precedence_options_sidecar_builtin),
	   TEST_ENTRY(detector_with_sidecar_on_real_model), TEST_ENTRY(sidecar_input_size));
