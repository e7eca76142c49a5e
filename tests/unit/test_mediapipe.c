/*
 * MediaPipe's detectors: SSD anchors as SsdAnchorsCalculator makes them,
 * weighted and hard NMS, letterbox mapping of keypoints, recognition of the
 * face, pose and palm models by their outputs; and state carried by video
 * models through the detector.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect/decode.h"
#include "detect/detector.h"
#include "detect/model_config.h"
#include "detect/nms.h"
#include "detect/preprocess.h"
#include "shaped_tensor.h"
#include "test.h"
#include "../nn/tflite_builder.h"

#define NEAR(a, b) (fabsf((float)(a) - (float)(b)) < 1e-5f)

static vg_anchor_config mediapipe_anchors(int size, int n, const int *strides, float interpolated)
{
	vg_anchor_config c;
	memset(&c, 0, sizeof c);
	vg_anchor_config_mediapipe(&c);
	c.input_w = c.input_h = size;
	c.n_layers = n;
	for (int i = 0; i < n; i++)
		c.strides[i] = strides[i];
	c.interpolated_scale_aspect_ratio = interpolated;
	return c;
}

/* Count, first and last anchor (x, y, w, h) of a configuration. */
static void check_anchors(const vg_anchor_config *c, int count, const float first[4], const float last[4])
{
	float *a = malloc((size_t)count * 4 * sizeof(float));
	CHECK(a);
	CHECK_MSG(vg_anchors_generate(c, NULL, 0) == count, "%d", vg_anchors_generate(c, NULL, 0));
	CHECK(vg_anchors_generate(c, a, count) == count);
	for (int i = 0; i < 4; i++) {
		CHECK_MSG(NEAR(a[i], first[i]), "first[%d] %g, expected %g", i, (double)a[i], (double)first[i]);
		CHECK_MSG(NEAR(a[(count - 1) * 4 + i], last[i]), "last[%d] %g, expected %g", i,
			  (double)a[(count - 1) * 4 + i], (double)last[i]);
	}
	free(a);
}

TEST(anchors_face_short_range)
{
	/*
	 * 128x128, strides 8, 16, 16, 16, aspect ratio 1 and the interpolated
	 * one: stride 8 has 16x16 cells of 2 anchors (512), the three stride-16
	 * layers share 8x8 cells of 6 (384): 896. First centre (0 + 0.5) / 16,
	 * last (7 + 0.5) / 8; fixed size 1 x 1.
	 */
	vg_anchor_config c = mediapipe_anchors(128, 4, (const int[]){ 8, 16, 16, 16 }, 1.0f);
	check_anchors(&c, 896, (const float[]){ 0.03125f, 0.03125f, 1, 1 }, (const float[]){ 0.9375f, 0.9375f, 1, 1 });
}

TEST(anchors_palm_detection)
{
	/* The 2020 palm detector (128x128) has the short-range face settings: the same 896, first and last. */
	vg_anchor_config c = mediapipe_anchors(128, 4, (const int[]){ 8, 16, 16, 16 }, 1.0f);
	check_anchors(&c, 896, (const float[]){ 0.5f / 16, 0.5f / 16, 1, 1 }, (const float[]){ 7.5f / 8, 7.5f / 8, 1, 1 });
	/* Anchor 512 opens the 8x8 grid; 517 is its first cell's sixth anchor, 518 the next cell's first. */
	float a[4 * 896];
	CHECK(vg_anchors_generate(&c, a, 896) == 896);
	CHECK(NEAR(a[512 * 4], 0.5f / 8) && NEAR(a[517 * 4], 0.5f / 8) && NEAR(a[518 * 4], 1.5f / 8));
	CHECK(NEAR(a[511 * 4], 15.5f / 16) && NEAR(a[511 * 4 + 1], 15.5f / 16));
}

TEST(anchors_face_full_range)
{
	/* 192x192, one layer of stride 4, no interpolated anchor: 48x48 cells of 1 = 2304; 0.5/48 to 47.5/48. */
	vg_anchor_config c = mediapipe_anchors(192, 1, (const int[]){ 4 }, 0.0f);
	check_anchors(&c, 2304, (const float[]){ 0.5f / 48, 0.5f / 48, 1, 1 },
		      (const float[]){ 47.5f / 48, 47.5f / 48, 1, 1 });
}

TEST(anchors_pose_detection)
{
	/* 224x224, strides 8, 16, 32, 32, 32: 28x28x2 + 14x14x2 + 7x7x6 = 1568 + 392 + 294 = 2254. */
	vg_anchor_config c = mediapipe_anchors(224, 5, (const int[]){ 8, 16, 32, 32, 32 }, 1.0f);
	check_anchors(&c, 2254, (const float[]){ 0.5f / 28, 0.5f / 28, 1, 1 },
		      (const float[]){ 6.5f / 7, 6.5f / 7, 1, 1 });
	int counts[4], strides[4];
	CHECK(vg_anchors_grids(&c, counts, strides, 4) == 3);
	CHECK(counts[0] == 1568 && counts[1] == 392 && counts[2] == 294 && strides[2] == 32);
}

TEST(anchors_ssd_sizes_and_lowest_layer)
{
	/*
	 * The calculator's own example (SSD MobileNet at 300x300): 6 layers,
	 * strides 16..512, scales 0.2 to 0.95, ratios 1, 2, 0.5, 3, 0.3333 plus
	 * the interpolated one, reduce_boxes_in_lowest_layer, sizes not fixed.
	 * Layer 0: 19x19 cells of 3 (1083); then 10x10, 5x5, 3x3, 2x2, 1x1 cells
	 * of 6: 600 + 150 + 54 + 24 + 6; 1917 in all. The first anchor is the
	 * lowest layer's 0.1 x 0.1 at (0.5/19, 0.5/19); the second is ratio 2 at
	 * scale 0.2: 0.2*sqrt(2) wide, 0.2/sqrt(2) high. The last is the top
	 * layer's interpolated anchor at the centre: scale sqrt(0.95 * 1).
	 */
	vg_anchor_config c;
	memset(&c, 0, sizeof c);
	c.input_w = c.input_h = 300;
	c.n_layers = 6;
	const int strides[6] = { 16, 32, 64, 128, 256, 512 };
	memcpy(c.strides, strides, sizeof strides);
	c.min_scale = 0.2f;
	c.max_scale = 0.95f;
	c.n_aspect_ratios = 5;
	const float ratios[5] = { 1, 2, 0.5f, 3, 0.3333f };
	memcpy(c.aspect_ratios, ratios, sizeof ratios);
	c.interpolated_scale_aspect_ratio = 1;
	c.offset_x = c.offset_y = 0.5f;
	c.reduce_boxes_in_lowest_layer = 1;
	float s = sqrtf(0.95f);
	check_anchors(&c, 1917, (const float[]){ 0.5f / 19, 0.5f / 19, 0.1f, 0.1f }, (const float[]){ 0.5f, 0.5f, s, s });
	float a[8];
	CHECK(vg_anchors_generate(&c, a, 2) == 1917);
	CHECK(NEAR(a[6], 0.2f * sqrtf(2)) && NEAR(a[7], 0.2f / sqrtf(2)));
	CHECK(vg_anchors_per_cell(&c, 0) == 3 && vg_anchors_per_cell(&c, 1) == 6);
}

static vg_detection cand(float x0, float y0, float x1, float y1, float score, float kx)
{
	vg_detection d;
	memset(&d, 0, sizeof d);
	d.x0 = x0;
	d.y0 = y0;
	d.x1 = x1;
	d.y1 = y1;
	d.score = score;
	d.n_keypoints = 1;
	d.keypoints[0].x = kx;
	d.keypoints[0].y = 0.5f;
	d.keypoints[0].score = 1;
	return d;
}

TEST(nms_weighted_blends_and_hard_keeps)
{
	/*
	 * A (0.9) and B (0.6) overlap with IoU 0.8 / 1.2 = 0.667; C (0.8) lies
	 * apart; D (0.3) overlaps B (IoU 0.6) but A only by 0.5 / 1.5 = 0.333.
	 * Weighted, IoU 0.4: A takes B along (D's overlap with A is below 0.4):
	 * x0 = (0.9*0 + 0.6*0.2) / 1.5 = 0.08, x1 = (0.9*1 + 0.6*1.2) / 1.5 = 1.08,
	 * keypoint x = (0.9*0.1 + 0.6*0.4) / 1.5 = 0.22, score 0.9. Then C alone,
	 * then D alone (B has gone with A).
	 */
	vg_detection d[4] = { cand(0.2f, 0, 1.2f, 1, 0.6f, 0.4f), cand(5, 5, 6, 6, 0.8f, 5.5f), cand(0, 0, 1, 1, 0.9f, 0.1f),
			      cand(0.5f, 0, 1.5f, 1, 0.3f, 0.9f) };
	vg_detection w[4];
	memcpy(w, d, sizeof d);
	int n = vg_nms_weighted(w, 4, 0.4f, 10);
	CHECK_MSG(n == 3, "%d", n);
	CHECK(NEAR(w[0].score, 0.9f) && NEAR(w[0].x0, 0.08f) && NEAR(w[0].x1, 1.08f) && NEAR(w[0].y0, 0) &&
	      NEAR(w[0].y1, 1));
	CHECK_MSG(NEAR(w[0].keypoints[0].x, 0.22f), "%g", (double)w[0].keypoints[0].x);
	CHECK(NEAR(w[1].score, 0.8f) && NEAR(w[1].x0, 5));
	CHECK(NEAR(w[2].score, 0.3f) && NEAR(w[2].x0, 0.5f) && NEAR(w[2].keypoints[0].x, 0.9f));
	/* Hard NMS at the same overlap: A, C and D kept as they are; B suppressed by A. */
	vg_detection h[4];
	memcpy(h, d, sizeof d);
	n = vg_nms(h, 4, 0.4f, 0, 10);
	CHECK(n == 3 && NEAR(h[0].x0, 0) && NEAR(h[0].x1, 1) && NEAR(h[0].keypoints[0].x, 0.1f));
	CHECK(NEAR(h[2].score, 0.3f));
	/* At most max_keep come out. */
	memcpy(w, d, sizeof d);
	CHECK(vg_nms_weighted(w, 4, 0.4f, 1) == 1 && NEAR(w[0].x1, 1.08f));
}

static void fill(vg_frame *f, uint8_t y)
{
	for (int r = 0; r < f->height; r++)
		memset(f->plane[0] + r * f->stride[0], y, (size_t)f->width);
	for (int r = 0; r < f->height / 2; r++) {
		memset(f->plane[1] + r * f->stride[1], 128, (size_t)f->width / 2);
		memset(f->plane[2] + r * f->stride[2], 128, (size_t)f->width / 2);
	}
}

/* Letterboxes a w x h frame into 128x128 with warp sampling; maps the model point (mx, my) in pixels. */
static void letterbox_point(int w, int h, float mx, float my, float *fx, float *fy, float *tensor)
{
	nn_tensor in;
	memset(&in, 0, sizeof in);
	in.dtype = NN_F32;
	in.rank = 4;
	in.shape[0] = 1;
	in.shape[1] = in.shape[2] = 128;
	in.shape[3] = 3;
	in.data = tensor;
	vg_preprocess_config cfg = { .resize = VG_RESIZE_LETTERBOX, .sampling = VG_SAMPLING_WARP };
	vg_preprocess *pp;
	char err[128];
	CHECK(vg_preprocess_create(&pp, &in, &cfg, err, sizeof err) == 0);
	vg_frame_pool *pool = vg_frame_pool_create(w, h);
	vg_frame *f = vg_frame_pool_get(pool);
	fill(f, 255);
	CHECK(vg_preprocess_run(pp, f, &in) == 0);
	*fx = mx / 128;
	*fy = my / 128;
	vg_preprocess_map_point(pp, fx, fy);
	vg_frame_unref(f);
	vg_frame_pool_release(pool);
	vg_preprocess_destroy(pp);
}

TEST(letterbox_keypoints_wide_and_tall)
{
	static float t[128 * 128 * 3];
	float x, y;
	/*
	 * 256x128 (wide): scale 0.5, the frame fills rows 32..95 of the model
	 * input. Model pixel (32, 48) is frame (64, 32) of 256x128: (0.25, 0.25).
	 */
	letterbox_point(256, 128, 32, 48, &x, &y, t);
	CHECK_MSG(NEAR(x, 0.25f) && NEAR(y, 0.25f), "%g %g", (double)x, (double)y);
	/* Black bars above and below (-1 after normalisation), white frame between. */
	CHECK(NEAR(t[(10 * 128 + 64) * 3], -1) && NEAR(t[(64 * 128 + 64) * 3], 1) && NEAR(t[(120 * 128 + 64) * 3], -1));
	/* 100x200 (tall): scale 0.64, columns 32..95. Model (48, 96) is frame (25, 150): (0.25, 0.75). */
	letterbox_point(100, 200, 48, 96, &x, &y, t);
	CHECK_MSG(NEAR(x, 0.25f) && NEAR(y, 0.75f), "%g %g", (double)x, (double)y);
	CHECK(NEAR(t[(64 * 128 + 10) * 3], -1) && NEAR(t[(64 * 128 + 64) * 3], 1) && NEAR(t[(64 * 128 + 120) * 3], -1));
	/* The model's corners map outside the frame: the letterbox bars. */
	letterbox_point(256, 128, 0, 0, &x, &y, t);
	CHECK(NEAR(x, 0) && NEAR(y, -0.5f));
}

TEST(mediapipe_models_recognised)
{
	static const struct {
		int size, anchors, coords, keypoints, layers;
		const char *name, *label;
	} want[] = {
		{ 128, 896, 16, 6, 4, "short range", "face" },
		{ 192, 2304, 16, 6, 1, "full range", "face" },
		{ 224, 2254, 12, 4, 5, "pose", "person" },
		{ 128, 896, 18, 7, 4, "palm", "palm" },
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		nn_tensor in = shaped(NULL, 4, 1, want[i].size, want[i].size, 3);
		nn_tensor o[2] = { shaped(NULL, 3, 1, want[i].anchors, want[i].coords, 0), shaped(NULL, 3, 1, want[i].anchors, 1, 0) };
		const nn_tensor *outs[2] = { &o[0], &o[1] };
		vg_model_config c;
		CHECK(vg_model_config_mediapipe(&c, &in, outs, 2) == 1);
		CHECK_MSG(strstr(c.known_as, want[i].name) && c.keypoints == want[i].keypoints &&
				  c.anchors.n_layers == want[i].layers && c.resize == VG_RESIZE_LETTERBOX &&
				  c.sampling == VG_SAMPLING_WARP && c.n_labels == 1 && !strcmp(c.label_names[0], want[i].label) &&
				  c.keypoint_layout && c.keypoint_layout->count == want[i].keypoints,
			  "%s", c.known_as);
		c.anchors.input_w = c.anchors.input_h = want[i].size;
		CHECK(vg_anchors_generate(&c.anchors, NULL, 0) == want[i].anchors);
		/* The decoder choice follows the settings, with their name in the reason. */
		vg_decoder_kind kind;
		char reason[512], err[256];
		nn_tensor pair[2] = { o[1], o[0] };
		CHECK(vg_decoder_choose(pair, 2, want[i].size, want[i].size, &c, NULL, &kind, reason, sizeof reason, err,
					sizeof err) == 0);
		CHECK_MSG(kind == VG_DECODER_BLAZEFACE && strstr(reason, want[i].name), "%s", reason);
		vg_model_config_free(&c);
		/* The same outputs at another input size are not these models. */
		nn_tensor other = shaped(NULL, 4, 1, want[i].size + 32, want[i].size + 32, 3);
		CHECK(vg_model_config_mediapipe(&c, &other, outs, 2) == 0);
	}
}

/*
 * A tiny video model: image [1,4,4,3] (ignored), state "raw_inputs/init_s"
 * [1,2]; outputs "scores" = state + (0.3, 0.2) and "raw_outputs/s" = state +
 * (0.25, 0.25). With the state fed back, the scores grow by 0.25 a frame.
 */
static const char *write_state_model(char *path, size_t len)
{
	enum { ADD = 0, O_ADD = 11, T_F32 = 0 };
	static const float ca[2] = { 0.3f, 0.2f }, cb[2] = { 0.25f, 0.25f };
	tb_model m;
	memset(&m, 0, sizeof m);
	m.n_buffers = 1;
	int img = tb_add_tensor(&m, "image", T_F32, 4, (int[]){ 1, 4, 4, 3 }, 0);
	int s = tb_add_tensor(&m, "raw_inputs/init_s", T_F32, 2, (int[]){ 1, 2 }, 0);
	int a = tb_add_tensor(&m, "a", T_F32, 2, (int[]){ 1, 2 }, tb_add_buffer(&m, ca, sizeof ca));
	int b = tb_add_tensor(&m, "b", T_F32, 2, (int[]){ 1, 2 }, tb_add_buffer(&m, cb, sizeof cb));
	int scores = tb_add_tensor(&m, "scores", T_F32, 2, (int[]){ 1, 2 }, 0);
	int next = tb_add_tensor(&m, "raw_outputs/s", T_F32, 2, (int[]){ 1, 2 }, 0);
	m.n_in = 2;
	m.in[0] = img;
	m.in[1] = s;
	m.n_out = 2;
	m.out[0] = scores;
	m.out[1] = next;
	tb_opt(tb_add_op(&m, ADD, NULL, 2, (int[]){ s, a }, 1, (int[]){ scores }), O_ADD, 0, 1, 0);
	tb_opt(tb_add_op(&m, ADD, NULL, 2, (int[]){ s, b }, 1, (int[]){ next }), O_ADD, 0, 1, 0);
	size_t n;
	uint8_t *buf = tb_build(&m, &n, NULL);
	CHECK(buf);
	snprintf(path, len, "/tmp/vigil-state-%d.tflite", (int)getpid());
	FILE *f = fopen(path, "wb");
	CHECK(f && fwrite(buf, 1, n, f) == n && fclose(f) == 0);
	free(buf);
	return path;
}

static float top_score(vg_detector *d, vg_frame *f)
{
	vg_detection out[4];
	char err[256];
	int n = vg_detector_run(d, f, out, 4, NULL, NULL, NULL, err, sizeof err);
	CHECK_MSG(n >= 1, "%d %s", n, err);
	return out[0].score;
}

TEST(video_model_state_carried_and_reset)
{
	char path[128];
	write_state_model(path, sizeof path);
	vg_detector_options opt = { .model = path, .sidecar = "none", .top_k = 1 };
	vg_detector *d;
	char err[512];
	int rc = vg_detector_create(&d, &opt, err, sizeof err);
	CHECK_MSG(rc == 0, "%s", err);
	CHECK(vg_detector_state_count(d) == 1);
	CHECK_MSG(strstr(vg_detector_state_summary(d), "'raw_outputs/s' -> 'raw_inputs/init_s'"), "%s",
		  vg_detector_state_summary(d));
	/* The state output is not offered to the decoder: one score vector is left, a classifier. */
	CHECK(!strcmp(vg_detector_decoder_name(d), "classifier"));
	vg_frame_pool *pool = vg_frame_pool_create(8, 8);
	vg_frame *f = vg_frame_pool_get(pool);
	fill(f, 100);
	CHECK(NEAR(top_score(d, f), 0.3f));
	CHECK(NEAR(top_score(d, f), 0.55f));
	CHECK(NEAR(top_score(d, f), 0.8f));
	vg_detector_reset_state(d);
	CHECK(NEAR(top_score(d, f), 0.3f));
	vg_detector_destroy(d);
	/* Without state every frame starts afresh. */
	opt.no_state = 1;
	CHECK(vg_detector_create(&d, &opt, err, sizeof err) == 0);
	CHECK(NEAR(top_score(d, f), 0.3f));
	CHECK(NEAR(top_score(d, f), 0.3f));
	vg_detector_destroy(d);
	vg_frame_unref(f);
	vg_frame_pool_release(pool);
	unlink(path);
}

static void sidecar_fails(const char *text, const char *want)
{
	vg_model_config c;
	char err[512];
	CHECK(vg_model_config_parse(&c, text, strlen(text), "/m/x.vigil.json", err, sizeof err) < 0);
	CHECK_MSG(strstr(err, want), "%s (wanted '%s')", err, want);
}

TEST(sidecar_anchor_options)
{
	const char *text = "{\"anchors\": {\"strides\": [16, 32, 64], \"min_scale\": 0.2, \"max_scale\": 0.9, "
			   "\"aspect_ratios\": [1, 2, 0.5], \"interpolated_scale_aspect_ratio\": 0, \"offset_x\": 0, "
			   "\"offset_y\": 0.25, \"fixed_anchor_size\": false, \"reduce_boxes_in_lowest_layer\": true}, "
			   "\"sampling\": \"warp\", \"keypoint_layout\": \"blazepalm\"}";
	vg_model_config c;
	char err[512];
	CHECK_MSG(vg_model_config_parse(&c, text, strlen(text), "/m/x.vigil.json", err, sizeof err) == 0, "%s", err);
	CHECK(c.has_anchors && c.anchors.n_layers == 3 && c.anchors.strides[2] == 64);
	CHECK(NEAR(c.anchors.min_scale, 0.2f) && NEAR(c.anchors.max_scale, 0.9f) && c.anchors.n_aspect_ratios == 3 &&
	      NEAR(c.anchors.aspect_ratios[2], 0.5f) && c.anchors.interpolated_scale_aspect_ratio == 0 &&
	      c.anchors.offset_x == 0 && NEAR(c.anchors.offset_y, 0.25f) && !c.anchors.fixed_anchor_size &&
	      c.anchors.reduce_boxes_in_lowest_layer);
	CHECK(c.has_sampling && c.sampling == VG_SAMPLING_WARP && c.keypoint_layout && c.keypoint_layout->count == 7);
	/* Anchors at 64x64: layer 0 (stride 16) 4x4 cells of 3, then 2x2 and 1x1 of 3 ratios: 48 + 12 + 3. */
	c.anchors.input_w = c.anchors.input_h = 64;
	CHECK(vg_anchors_generate(&c.anchors, NULL, 0) == 63);
	vg_model_config_free(&c);
	/* What is left out is MediaPipe's face setting; per_layer is the old shorthand. */
	text = "{\"anchors\": {\"strides\": [8, 16], \"per_layer\": 3}}";
	CHECK(vg_model_config_parse(&c, text, strlen(text), "/m/x.vigil.json", err, sizeof err) == 0);
	CHECK(NEAR(c.anchors.min_scale, 0.1484375f) && c.anchors.fixed_anchor_size && NEAR(c.anchors.offset_x, 0.5f));
	c.anchors.input_w = c.anchors.input_h = 64;
	CHECK(vg_anchors_per_cell(&c.anchors, 0) == 3);
	vg_model_config_free(&c);
	sidecar_fails("{\"anchors\": {\"strides\": [8], \"aspect_ratios\": []}}", "key 'anchors.aspect_ratios'");
	sidecar_fails("{\"anchors\": {\"strides\": [8], \"min_scale\": 0.9, \"max_scale\": 0.1}}",
		      "key 'anchors.max_scale': is below min_scale");
	sidecar_fails("{\"anchors\": {\"strides\": [8], \"per_layer\": 2, \"aspect_ratios\": [1]}}",
		      "give either per_layer or aspect_ratios");
	sidecar_fails("{\"anchors\": {\"strides\": [8], \"fixed_anchor_size\": \"yes\"}}",
		      "key 'fixed_anchor_size': expected true or false");
	sidecar_fails("{\"anchors\": {\"strides\": [8], \"scales\": [1]}}", "key 'scales': unknown key in 'anchors'");
	sidecar_fails("{\"sampling\": \"nearest\"}", "key 'sampling': expected \"swscale\", \"warp\" or \"linear\"");
	sidecar_fails("{\"keypoint_layout\": \"hand21\"}", "key 'keypoint_layout'");
}

TEST_SUITE(mediapipe, TEST_ENTRY(anchors_face_short_range), TEST_ENTRY(anchors_palm_detection), TEST_ENTRY(anchors_face_full_range),
	   TEST_ENTRY(anchors_pose_detection), TEST_ENTRY(anchors_ssd_sizes_and_lowest_layer),
	   TEST_ENTRY(nms_weighted_blends_and_hard_keeps), TEST_ENTRY(letterbox_keypoints_wide_and_tall),
	   TEST_ENTRY(mediapipe_models_recognised), TEST_ENTRY(video_model_state_carried_and_reset),
	   TEST_ENTRY(sidecar_anchor_options));
