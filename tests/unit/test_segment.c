#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/frame.h"
#include "detect/detector.h"
#include "detect/labels.h"
#include "detect/model_config.h"
#include "detect/preprocess.h"
#include "detect/segment.h"
#include "event.h"
#include "render/draw.h"
#include "render/mask.h"
#include "shaped_tensor.h"
#include "test.h"

/*
 * Scores of a 3-class, 2-row, 3-column output, NCHW: per pixel the winning
 * class is
 *   row 0: 2 0 1
 *   row 1: 1 1 0   (pixel (2,1) ties classes 0 and 2: the lower id wins)
 */
static const float nchw_scores[3][2][3] = {
	{ { 0.1f, 0.9f, 0.2f }, { 0.0f, 0.3f, 0.5f } },
	{ { 0.3f, 0.05f, 0.7f }, { 0.8f, 0.6f, 0.1f } },
	{ { 0.6f, 0.05f, 0.1f }, { 0.2f, 0.1f, 0.5f } },
};
static const uint8_t expected_classes[6] = { 2, 0, 1, 1, 1, 0 };

static void check_expected(const vg_seg_mask *m)
{
	CHECK(m->w == 3 && m->h == 2 && m->classes == 3);
	for (int i = 0; i < 6; i++)
		CHECK_MSG(m->cls[i] == expected_classes[i], "pixel %d: class %d, want %d", i, m->cls[i],
			  expected_classes[i]);
	CHECK(m->count[0] == 2 && m->count[1] == 3 && m->count[2] == 1);
}

TEST(segment_decode_nchw_argmax)
{
	vg_seg_binding b = { .layout = VG_SEG_NCHW, .classes = 3, .height = 2, .width = 3 };
	vg_seg_mask m;
	CHECK(vg_seg_mask_init(&m, 6) == 0);
	CHECK(vg_segment_decode(&b, &nchw_scores[0][0][0], NULL, NULL, 0, 0, 3, 2, &m) == 0);
	check_expected(&m);
	CHECK(fabs(vg_seg_mask_area(&m, 1) - 0.5) < 1e-12);
	CHECK(fabs(vg_seg_mask_area(&m, 2) - 1.0 / 6) < 1e-12);
	CHECK(vg_seg_mask_area(&m, 3) == 0 && vg_seg_mask_area(&m, -1) == 0);
	/* A crop: column 1..2 of row 1 only. */
	CHECK(vg_segment_decode(&b, &nchw_scores[0][0][0], NULL, NULL, 1, 1, 3, 2, &m) == 0);
	CHECK(m.w == 2 && m.h == 1 && m.cls[0] == 1 && m.cls[1] == 0);
	CHECK(m.count[0] == 1 && m.count[1] == 1 && m.count[2] == 0);
	/* Crops outside the output, empty, or past the capacity are refused and leave an empty mask. */
	CHECK(vg_segment_decode(&b, &nchw_scores[0][0][0], NULL, NULL, 0, 0, 4, 2, &m) < 0 && m.w == 0);
	CHECK(vg_segment_decode(&b, &nchw_scores[0][0][0], NULL, NULL, 1, 0, 1, 2, &m) < 0);
	vg_seg_mask small;
	CHECK(vg_seg_mask_init(&small, 5) == 0);
	CHECK(vg_segment_decode(&b, &nchw_scores[0][0][0], NULL, NULL, 0, 0, 3, 2, &small) < 0);
	vg_seg_mask_free(&small);
	vg_seg_mask_free(&m);
}

TEST(segment_decode_nhwc_and_logits)
{
	/* The same scores, channels last, as logits (log of each): the argmax is the same. */
	float nhwc[2][3][3];
	for (int c = 0; c < 3; c++)
		for (int y = 0; y < 2; y++)
			for (int x = 0; x < 3; x++)
				nhwc[y][x][c] = nchw_scores[c][y][x] > 0 ? logf(nchw_scores[c][y][x]) : -100.0f;
	vg_seg_binding b = { .layout = VG_SEG_NHWC, .classes = 3, .height = 2, .width = 3 };
	vg_seg_mask m;
	CHECK(vg_seg_mask_init(&m, 6) == 0);
	CHECK(vg_segment_decode(&b, &nhwc[0][0][0], NULL, NULL, 0, 0, 3, 2, &m) == 0);
	check_expected(&m);
	vg_seg_mask_free(&m);
}

TEST(segment_decode_indices)
{
	const int64_t i64[6] = { 2, 0, 1, 1, 1, 0 };
	const int32_t i32[6] = { 2, 0, 1, 1, 1, 0 };
	const float f32[6] = { 2, 0, 1, 1, 1, 0 };
	vg_seg_binding b = { .layout = VG_SEG_INDICES, .classes = 3, .height = 2, .width = 3 };
	vg_seg_mask m;
	CHECK(vg_seg_mask_init(&m, 6) == 0);
	CHECK(vg_segment_decode(&b, NULL, i64, NULL, 0, 0, 3, 2, &m) == 0);
	check_expected(&m);
	CHECK(vg_segment_decode(&b, NULL, NULL, i32, 0, 0, 3, 2, &m) == 0);
	check_expected(&m);
	CHECK(vg_segment_decode(&b, f32, NULL, NULL, 0, 0, 3, 2, &m) == 0);
	check_expected(&m);
	/* Ids outside the classes count as the background. */
	const int64_t bad[6] = { 7, -1, 1, 1, 1, 0 };
	CHECK(vg_segment_decode(&b, NULL, bad, NULL, 0, 0, 3, 2, &m) == 0);
	CHECK(m.cls[0] == 0 && m.cls[1] == 0 && m.count[0] == 3 && m.count[1] == 3);
	/* Without a class count, any id up to 254 is one. */
	b.classes = 0;
	CHECK(vg_segment_decode(&b, NULL, bad, NULL, 0, 0, 3, 2, &m) == 0);
	CHECK(m.cls[0] == 7 && m.classes == VG_SEG_MAX_CLASSES && m.count[7] == 1);
	vg_seg_mask_free(&m);
}

TEST(segment_bind_by_shape)
{
	char reason[512], why[256];
	vg_seg_binding b;
	/* PP-HumanSeg: [1,2,224,398] for a 398x224 input, chosen automatically. */
	nn_tensor ppseg = shaped("out", 4, 1, 2, 224, 398);
	const nn_tensor *outs[2] = { &ppseg, NULL };
	CHECK(vg_segment_bind(outs, 1, 398, 224, 1, &b, reason, sizeof reason, why, sizeof why) == 1);
	CHECK(b.layout == VG_SEG_NCHW && b.classes == 2 && b.width == 398 && b.height == 224 && b.output == 0);
	CHECK(strstr(reason, "NCHW") != NULL);
	/* NHWC of 21 classes (DeepLab-like). */
	nn_tensor deeplab = shaped("out", 4, 1, 257, 257, 21);
	outs[0] = &deeplab;
	CHECK(vg_segment_bind(outs, 1, 257, 257, 1, &b, reason, sizeof reason, why, sizeof why) == 1);
	CHECK(b.layout == VG_SEG_NHWC && b.classes == 21);
	/* Quantized scores (a uint8 DeepLab) are scores too. */
	deeplab.dtype = NN_U8;
	CHECK(vg_segment_bind(outs, 1, 257, 257, 1, &b, reason, sizeof reason, why, sizeof why) == 1);
	deeplab.dtype = NN_I32;
	CHECK(vg_segment_bind(outs, 1, 257, 257, 1, &b, reason, sizeof reason, why, sizeof why) == 0);
	deeplab.dtype = NN_F32;
	/* Automatically: not with a second output, not at another size, not with many channels. */
	outs[1] = &ppseg;
	CHECK(vg_segment_bind(outs, 2, 257, 257, 1, &b, reason, sizeof reason, why, sizeof why) == 0);
	nn_tensor half = shaped("out", 4, 1, 2, 112, 199);
	outs[0] = &half;
	CHECK(vg_segment_bind(outs, 1, 398, 224, 1, &b, reason, sizeof reason, why, sizeof why) == 0);
	CHECK(why[0] != '\0');
	nn_tensor picture = shaped("out", 4, 1, 224, 398, 3);
	outs[0] = &picture;
	CHECK(vg_segment_bind(outs, 1, 398, 224, 1, &b, reason, sizeof reason, why, sizeof why) == 0);
	CHECK(vg_segment_bind(outs, 1, 398, 224, 0, &b, reason, sizeof reason, why, sizeof why) == 1);
	CHECK(b.layout == VG_SEG_NHWC && b.classes == 3);
	nn_tensor feat = shaped("out", 4, 1, 64, 224, 398);
	outs[0] = &feat;
	CHECK(vg_segment_bind(outs, 1, 398, 224, 1, &b, reason, sizeof reason, why, sizeof why) == 0);
	/* Detector and classifier outputs are never segmentations. */
	nn_tensor yolo = shaped("out", 3, 1, 84, 8400, 0), cls = shaped("out", 2, 1, 1000, 0, 0);
	outs[0] = &yolo;
	CHECK(vg_segment_bind(outs, 1, 640, 640, 1, &b, reason, sizeof reason, why, sizeof why) == 0);
	CHECK(vg_segment_bind(outs, 1, 640, 640, 0, &b, reason, sizeof reason, why, sizeof why) == 0);
	outs[0] = &cls;
	CHECK(vg_segment_bind(outs, 1, 224, 224, 0, &b, reason, sizeof reason, why, sizeof why) == 0);
	/* Named: half resolution, and class ids of an integer type. */
	outs[0] = &half;
	CHECK(vg_segment_bind(outs, 1, 398, 224, 0, &b, reason, sizeof reason, why, sizeof why) == 1);
	CHECK(b.layout == VG_SEG_NCHW && b.width == 199 && b.height == 112);
	nn_tensor ids = shaped("ids", 3, 1, 224, 398, 0);
	ids.dtype = NN_I64;
	outs[0] = &ids;
	CHECK(vg_segment_bind(outs, 1, 398, 224, 0, &b, reason, sizeof reason, why, sizeof why) == 1);
	CHECK(b.layout == VG_SEG_INDICES && b.width == 398 && b.height == 224);
	/* Floats [1,H,W] say nothing of classes. */
	ids.dtype = NN_F32;
	CHECK(vg_segment_bind(outs, 1, 398, 224, 0, &b, reason, sizeof reason, why, sizeof why) == 0);
}

TEST(segment_decoder_choice)
{
	nn_tensor ppseg = shaped("out", 4, 1, 2, 224, 398);
	vg_decoder_kind kind;
	char reason[512], err[512];
	CHECK(vg_decoder_choose(&ppseg, 1, 398, 224, NULL, NULL, &kind, reason, sizeof reason, err, sizeof err) == 0);
	CHECK(kind == VG_DECODER_SEGMENTATION);
	CHECK(strcmp(vg_decoder_name(kind), "segmentation") == 0);
	/* Named, the half-resolution output fits; automatically nothing takes it. */
	nn_tensor half = shaped("out", 4, 1, 2, 112, 199);
	CHECK(vg_decoder_choose(&half, 1, 398, 224, NULL, "segmentation", &kind, reason, sizeof reason, err,
				sizeof err) == 0);
	CHECK(kind == VG_DECODER_SEGMENTATION);
	CHECK(vg_decoder_choose(&half, 1, 398, 224, NULL, NULL, &kind, reason, sizeof reason, err, sizeof err) < 0);
	CHECK(strstr(err, "segmentation") != NULL); /* the list of decoders names it */
	/* A sidecar can name it. */
	vg_model_config c;
	char perr[256];
	const char *text = "{\"decoder\": \"segmentation\"}";
	CHECK(vg_model_config_parse(&c, text, strlen(text), "x.vigil.json", perr, sizeof perr) == 0);
	CHECK(vg_decoder_choose(&half, 1, 398, 224, &c, NULL, &kind, reason, sizeof reason, err, sizeof err) == 0);
	CHECK(kind == VG_DECODER_SEGMENTATION);
	vg_model_config_free(&c);
}

TEST(segment_builtin_ppseg)
{
	vg_model_config c;
	char note[256] = "";
	nn_tensor in = shaped("x", 4, 1, 224, 398, 3);
	CHECK(vg_model_config_builtin(&c, "/m/humanseg_ppseg_lite_portrait_onnx2tf/", &in, note, sizeof note) == 1);
	CHECK(!strcmp(c.decoder, "segmentation") && c.n_labels == 2 && !strcmp(c.label_names[1], "person"));
	CHECK(c.has_color && !c.bgr && c.has_mean && c.mean[0] == 127.5f && c.std[2] == 127.5f && !c.nchw);
	CHECK(c.has_resize && c.resize == VG_RESIZE_STRETCH);
	vg_model_config_free(&c);
	nn_tensor nchw = shaped("x", 4, 1, 3, 224, 398);
	CHECK(vg_model_config_builtin(&c, "ppseg_lite_portrait_398x224_with_softmax_fixed.onnx", &nchw, note,
				      sizeof note) == 1);
	CHECK(c.nchw == 1);
	vg_model_config_free(&c);
	/* The name with another input: none, and a note saying why. */
	nn_tensor other = shaped("x", 4, 1, 192, 192, 3);
	CHECK(vg_model_config_builtin(&c, "humanseg.tflite", &other, note, sizeof note) == 0);
	CHECK(strstr(note, "398") != NULL);
	vg_model_config_free(&c);
}

/* A 640x360 frame letterboxed into 100x100: content rows 22..77 (56 rows), as preprocess.c rounds. */
TEST(segment_crop_through_letterbox)
{
	vg_frame_pool *pool = vg_frame_pool_create(640, 360);
	vg_frame *f = vg_frame_pool_get(pool);
	for (int y = 0; y < f->height; y++)
		memset(f->plane[0] + y * f->stride[0], 200, (size_t)f->width);
	for (int y = 0; y < f->height / 2; y++) {
		memset(f->plane[1] + y * f->stride[1], 128, (size_t)f->width / 2);
		memset(f->plane[2] + y * f->stride[2], 128, (size_t)f->width / 2);
	}
	static uint8_t data[100 * 100 * 3];
	nn_tensor t = shaped("in", 4, 1, 100, 100, 3);
	t.dtype = NN_U8;
	t.data = data;
	vg_preprocess_config cfg = { .resize = VG_RESIZE_LETTERBOX };
	vg_preprocess *pp;
	char err[128];
	CHECK(vg_preprocess_create(&pp, &t, &cfg, err, sizeof err) == 0);
	CHECK(vg_preprocess_run(pp, f, &t) == 0);
	int x0, y0, x1, y1;
	vg_segment_crop(pp, 100, 100, &x0, &y0, &x1, &y1);
	CHECK_MSG(x0 == 0 && x1 == 100 && y0 == 22 && y1 == 78, "crop %d,%d..%d,%d", x0, y0, x1, y1);
	/* An output at half the input's size: half the rows. */
	vg_segment_crop(pp, 50, 50, &x0, &y0, &x1, &y1);
	CHECK_MSG(x0 == 0 && x1 == 50 && y0 == 11 && y1 == 39, "crop %d,%d..%d,%d", x0, y0, x1, y1);
	vg_preprocess_destroy(pp);
	/* A stretch keeps the whole output. */
	cfg.resize = VG_RESIZE_STRETCH;
	CHECK(vg_preprocess_create(&pp, &t, &cfg, err, sizeof err) == 0);
	CHECK(vg_preprocess_run(pp, f, &t) == 0);
	vg_segment_crop(pp, 100, 100, &x0, &y0, &x1, &y1);
	CHECK(x0 == 0 && x1 == 100 && y0 == 0 && y1 == 100);
	vg_preprocess_destroy(pp);
	vg_frame_unref(f);
	vg_frame_pool_release(pool);
}

TEST(segment_json_areas)
{
	vg_seg_mask m;
	CHECK(vg_seg_mask_init(&m, 6) == 0);
	vg_seg_binding b = { .layout = VG_SEG_NCHW, .classes = 3, .height = 2, .width = 3 };
	CHECK(vg_segment_decode(&b, &nchw_scores[0][0][0], NULL, NULL, 0, 0, 3, 2, &m) == 0);
	const char *names[] = { "background", "person", "ca\"t" };
	char buf[512];
	size_t n = vg_segment_json(&m, names, 3, buf, sizeof buf);
	CHECK(n == strlen(buf));
	CHECK_MSG(!strcmp(buf, "{\"classes\":[{\"label\":\"person\",\"class_id\":1,\"area\":0.5000},"
			       "{\"label\":\"ca\\\"t\",\"class_id\":2,\"area\":0.1667}]}"),
		  "%s", buf);
	/* Unnamed classes; too small a buffer. */
	CHECK(vg_segment_json(&m, names, 2, buf, sizeof buf) > 0 && strstr(buf, "\"class 2\"") != NULL);
	CHECK(vg_segment_json(&m, names, 3, buf, 20) == 0);
	/* The event carries it as "segmentation". */
	char seg[512];
	CHECK(vg_segment_json(&m, names, 3, seg, sizeof seg) > 0);
	vg_event ev = { .frame_id = 1, .width = 3, .height = 2, .segmentation = seg };
	char line[2048];
	CHECK(vg_event_json(&ev, line, sizeof line) > 0);
	CHECK(strstr(line, "\"detections\":[],\"segmentation\":{\"classes\":[{\"label\":\"person\"") != NULL);
	ev.segmentation = NULL;
	CHECK(vg_event_json(&ev, line, sizeof line) > 0 && strstr(line, "segmentation") == NULL);
	vg_blob *sse = (ev.segmentation = seg, vg_event_sse(&ev));
	CHECK(sse && memmem(sse->data, sse->len, "\"area\":0.5000", 13) != NULL);
	vg_blob_unref(sse);
	vg_seg_mask_free(&m);
}

static vg_frame *flat_frame(vg_frame_pool *pool, uint8_t y, uint8_t u, uint8_t v)
{
	vg_frame *f = vg_frame_pool_get(pool);
	for (int r = 0; r < f->height; r++)
		memset(f->plane[0] + r * f->stride[0], y, (size_t)f->width);
	for (int r = 0; r < f->height / 2; r++) {
		memset(f->plane[1] + r * f->stride[1], u, (size_t)f->width / 2);
		memset(f->plane[2] + r * f->stride[2], v, (size_t)f->width / 2);
	}
	return f;
}

#define PY(f, x, y) ((f)->plane[0][(y) * (f)->stride[0] + (x)])
#define PU(f, x, y) ((f)->plane[1][(y) * (f)->stride[1] + (x)])
#define PV(f, x, y) ((f)->plane[2][(y) * (f)->stride[2] + (x)])

/* A 4x4 mask with class 1 in cell (1,1) and class 2 in cell (3,0), on a 32x32 frame: 8x8 pixels a cell. */
static void cell_mask(vg_seg_mask *m)
{
	CHECK(vg_seg_mask_init(m, 16) == 0);
	m->w = m->h = 4;
	m->classes = 3;
	memset(m->cls, 0, 16);
	m->cls[1 * 4 + 1] = 1;
	m->cls[0 * 4 + 3] = 2;
	m->count[0] = 14;
	m->count[1] = m->count[2] = 1;
}

TEST(mask_map_nearest)
{
	vg_mask_map mm = { 0 };
	CHECK(vg_mask_map_update(&mm, 1280, 720, 398, 224) == 0);
	/* Pixel centres: frame column x maps to floor((x + 0.5) * 398 / 1280). */
	CHECK(mm.col[0] == 0 && mm.col[1279] == 397 && mm.col[640] == 199 && mm.col[3] == 1);
	CHECK(mm.row[0] == 0 && mm.row[719] == 223 && mm.row[360] == 112);
	int32_t *col = mm.col;
	CHECK(vg_mask_map_update(&mm, 1280, 720, 398, 224) == 0 && mm.col == col); /* same sizes: kept */
	CHECK(vg_mask_map_update(&mm, 0, 720, 398, 224) < 0);
	vg_mask_map_free(&mm);
}

TEST(mask_overlay_blend_values)
{
	vg_frame_pool *pool = vg_frame_pool_create(32, 32);
	vg_frame *f = flat_frame(pool, 100, 128, 128);
	vg_seg_mask m;
	cell_mask(&m);
	vg_mask_map mm = { 0 };
	CHECK(vg_draw_mask(f, &m, &mm, NULL, 115) == 0);
	vg_color c1 = vg_color_for_class(11), c2 = vg_color_for_class(12);
	int y1 = (100 * 141 + c1.y * 115 + 128) >> 8, u1 = (128 * 141 + c1.u * 115 + 128) >> 8;
	int y2 = (100 * 141 + c2.y * 115 + 128) >> 8, v2 = (128 * 141 + c2.v * 115 + 128) >> 8;
	CHECK_MSG(PY(f, 8, 8) == y1 && PY(f, 15, 15) == y1, "got %d want %d", PY(f, 8, 8), y1);
	CHECK(PU(f, 4, 4) == u1 && PU(f, 7, 7) == u1);
	CHECK(PY(f, 24, 0) == y2 && PY(f, 31, 7) == y2 && PV(f, 12, 0) == v2);
	/* The background and the pixels around the cells stay. */
	CHECK(PY(f, 7, 8) == 100 && PY(f, 16, 8) == 100 && PY(f, 8, 16) == 100 && PY(f, 0, 31) == 100);
	CHECK(PU(f, 3, 4) == 128 && PU(f, 8, 4) == 128);
	/* Skipped classes are not drawn. */
	vg_frame *g = flat_frame(pool, 100, 128, 128);
	uint8_t skip[VG_SEG_MAX_CLASSES + 1] = { 0 };
	skip[1] = 1;
	CHECK(vg_draw_mask(g, &m, &mm, skip, 115) == 0);
	CHECK(PY(g, 8, 8) == 100 && PY(g, 24, 0) == y2);
	vg_frame_unref(g);
	vg_mask_map_free(&mm);
	vg_seg_mask_free(&m);
	vg_frame_unref(f);
	vg_frame_pool_release(pool);
}

TEST(privacy_fill_mask_region)
{
	vg_frame_pool *pool = vg_frame_pool_create(32, 32);
	vg_frame *f = flat_frame(pool, 100, 110, 120);
	vg_seg_mask m;
	cell_mask(&m);
	vg_mask_map mm = { 0 };
	vg_privacy_options o = { 0 };
	char err[256];
	CHECK(vg_privacy_parse("fill:FF0000", &o, err, sizeof err) == 0 && o.mode == VG_PRIVACY_FILL);
	uint8_t set[VG_SEG_MAX_CLASSES + 1] = { 0 };
	set[1] = 1;
	CHECK(vg_privacy_mask(f, &m, &mm, set, &o) == 0);
	vg_color red = vg_color_rgb(255, 0, 0);
	int inside = 0, outside_changed = 0;
	for (int y = 0; y < 32; y++)
		for (int x = 0; x < 32; x++) {
			int in = x >= 8 && x < 16 && y >= 8 && y < 16;
			if (in)
				inside += PY(f, x, y) == red.y;
			else
				outside_changed += PY(f, x, y) != 100;
		}
	CHECK(inside == 64 && outside_changed == 0);
	CHECK(PU(f, 4, 4) == red.u && PV(f, 7, 7) == red.v && PU(f, 3, 4) == 110 && PV(f, 8, 8) == 120);
	/* Class 2 is not in the set. */
	CHECK(PY(f, 24, 0) == 100);
	vg_mask_map_free(&mm);
	vg_seg_mask_free(&m);
	vg_frame_unref(f);
	vg_frame_pool_release(pool);
}

TEST(privacy_blur_pixelates_to_block_means)
{
	/* 64x64, block 8 (the minimum); class 1 covers mask cell (1,1) of 4x4: pixels 16..31. */
	vg_frame_pool *pool = vg_frame_pool_create(64, 64);
	vg_frame *f = vg_frame_pool_get(pool);
	for (int y = 0; y < 64; y++)
		for (int x = 0; x < 64; x++)
			PY(f, x, y) = (uint8_t)(x + 2 * y);
	for (int y = 0; y < 32; y++)
		for (int x = 0; x < 32; x++) {
			PU(f, x, y) = (uint8_t)(100 + x);
			PV(f, x, y) = (uint8_t)(150 - y);
		}
	CHECK(vg_privacy_block(64, 64) == 8 && vg_privacy_block(1280, 720) == 52 && vg_privacy_block(1920, 1080) == 80);
	CHECK(vg_privacy_region_block(1280, 720, 800, 600) == 74 && vg_privacy_region_block(1280, 720, 100, 600) == 52);
	vg_seg_mask m;
	cell_mask(&m);
	vg_mask_map mm = { 0 };
	vg_privacy_options o = { 0 };
	char err[256];
	CHECK(vg_privacy_parse("blur", &o, err, sizeof err) == 0 && o.mode == VG_PRIVACY_BLUR);
	uint8_t set[VG_SEG_MAX_CLASSES + 1] = { 0 };
	set[1] = 1;
	CHECK(vg_privacy_mask(f, &m, &mm, set, &o) == 0);
	/* Block (16..23, 16..23): mean of x + 2y = 19.5 + 39 = 58.5, rounded half up: 59 (sum 3744 / 64). */
	for (int y = 16; y < 24; y++)
		for (int x = 16; x < 24; x++)
			CHECK_MSG(PY(f, x, y) == 59, "(%d,%d) = %d", x, y, PY(f, x, y));
	/* Block (24..31, 24..31): 27.5 + 55 = 82.5: 83. */
	CHECK(PY(f, 24, 24) == 83 && PY(f, 31, 31) == 83);
	/* Chroma blocks of 4x4: U mean of 100 + (8..11) = 109.5 -> 110; V 150 - (8..11) = 140.5 -> 141. */
	CHECK(PU(f, 8, 8) == 110 && PU(f, 11, 11) == 110 && PV(f, 8, 8) == 141);
	/* Outside the class: untouched. */
	CHECK(PY(f, 15, 16) == 15 + 32 && PY(f, 32, 20) == 32 + 40 && PY(f, 0, 0) == 0 && PU(f, 7, 8) == 107);
	vg_mask_map_free(&mm);
	vg_seg_mask_free(&m);
	vg_frame_unref(f);
	vg_frame_pool_release(pool);
}

TEST(privacy_boxes_and_classes)
{
	vg_frame_pool *pool = vg_frame_pool_create(64, 64);
	vg_frame *f = flat_frame(pool, 100, 128, 128);
	const char *names[] = { "person", "car" };
	vg_labels labels;
	CHECK(vg_labels_from_list(&labels, names, 2) == 0);
	vg_privacy_options o = { 0 };
	char err[256];
	CHECK(vg_privacy_parse("fill", &o, err, sizeof err) == 0 && o.fill.y == 0);
	CHECK(vg_privacy_parse("smudge", &o, err, sizeof err) < 0 && strstr(err, "blur, fill") != NULL);
	CHECK(vg_privacy_parse("fill:12345", &o, err, sizeof err) < 0);
	CHECK(vg_privacy_parse("fill:00ff00", &o, err, sizeof err) == 0);
	uint8_t set[VG_SEG_MAX_CLASSES + 1];
	/* Detectors: "person" by default. */
	CHECK(vg_privacy_classes(&o, &labels, 0, set, err, sizeof err) == 0);
	CHECK(set[0] == 1 && set[1] == 0);
	vg_detection d[2] = { { .x0 = 0.25f, .y0 = 0.25f, .x1 = 0.5f, .y1 = 0.5f, .class_id = 0 },
			      { .x0 = 0.75f, .y0 = 0.0f, .x1 = 1.0f, .y1 = 0.25f, .class_id = 1 } };
	vg_privacy_detections(f, d, 2, set, &o);
	vg_color green = vg_color_rgb(0, 255, 0);
	CHECK(PY(f, 16, 16) == green.y && PY(f, 31, 31) == green.y && PU(f, 8, 8) == green.u);
	CHECK(PY(f, 15, 16) == 100 && PY(f, 32, 31) == 100 && PY(f, 50, 5) == 100);
	/* Named classes; a name the labels lack is an error naming the option. */
	o.classes = "car";
	CHECK(vg_privacy_classes(&o, &labels, 0, set, err, sizeof err) == 0 && set[1] == 1 && set[0] == 0);
	o.classes = "dog";
	CHECK(vg_privacy_classes(&o, &labels, 0, set, err, sizeof err) < 0 && strstr(err, "--privacy-classes"));
	/* A detector without a person class: the default fails and says what to give. */
	const char *cars[] = { "car", "bus" };
	vg_labels other;
	CHECK(vg_labels_from_list(&other, cars, 2) == 0);
	o.classes = NULL;
	CHECK(vg_privacy_classes(&o, &other, 0, set, err, sizeof err) < 0 && strstr(err, "--privacy-classes"));
	/* Segmentations: every class but the background. */
	CHECK(vg_privacy_classes(&o, &other, 4, set, err, sizeof err) == 0);
	CHECK(set[0] == 0 && set[1] && set[2] && set[3] && !set[4]);
	/* The whole frame, clipped. */
	vg_privacy_rect(f, -10, -10, 100, 100, &o);
	CHECK(PY(f, 0, 0) == green.y && PY(f, 63, 63) == green.y && PV(f, 31, 31) == green.v);
	vg_labels_free(&labels);
	vg_labels_free(&other);
	vg_frame_unref(f);
	vg_frame_pool_release(pool);
}

TEST_SUITE(segment, TEST_ENTRY(segment_decode_nchw_argmax), TEST_ENTRY(segment_decode_nhwc_and_logits),
	   TEST_ENTRY(segment_decode_indices), TEST_ENTRY(segment_bind_by_shape), TEST_ENTRY(segment_decoder_choice),
	   TEST_ENTRY(segment_builtin_ppseg), TEST_ENTRY(segment_crop_through_letterbox),
	   TEST_ENTRY(segment_json_areas), TEST_ENTRY(mask_map_nearest), TEST_ENTRY(mask_overlay_blend_values),
	   TEST_ENTRY(privacy_fill_mask_region), TEST_ENTRY(privacy_blur_pixelates_to_block_means),
	   TEST_ENTRY(privacy_boxes_and_classes));
