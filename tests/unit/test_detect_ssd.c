/*
 * The C SSD decoder (anchors + NMS) against TensorFlow Lite's own
 * TFLite_Detection_PostProcess op as the engine runs it, on the same raw heads
 * of a real model: the classic SSD MobileNet v1 COCO detector, on a photo.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/frame.h"
#include "detect/decode.h"
#include "detect/preprocess.h"
#include "nn/model.h"
#include "source/source.h"
#include "test.h"

static float *dequantized(const nn_tensor *t)
{
	int64_t n = nn_tensor_elements(t);
	float *f = malloc((size_t)n * sizeof *f);
	for (int64_t i = 0; i < n; i++) {
		if (t->dtype == NN_F32) {
			f[i] = ((const float *)t->data)[i];
		} else {
			int q = t->dtype == NN_U8 ? ((const uint8_t *)t->data)[i] : ((const int8_t *)t->data)[i];
			f[i] = t->quant.scale[0] * (float)(q - t->quant.zero_point[0]);
		}
	}
	return f;
}

TEST(ssd_raw_decoder_matches_postprocess_op)
{
	char model_path[512], image[512], err[512];
	snprintf(model_path, sizeof model_path, "%s/models/tflite/ssd_mobilenet_v1_coco_quant_2018_06_29_detect.tflite",
		 VG_ASSETS_DIR);
	snprintf(image, sizeof image, "%s/images/coral_kite_and_cold.jpg", VG_ASSETS_DIR);
	nn_model *m;
	if (nn_model_load(&m, model_path, err, sizeof err) < 0)
		SKIP("%s", err);
	nn_prepare_options po = { .threads = 1 };
	CHECK_MSG(nn_model_prepare(m, &po, err, sizeof err) == 0, "%s", err);

	vg_source_options so = { .uri = image };
	vg_source *src;
	CHECK_MSG(vg_source_open(&src, &so, NULL, err, sizeof err) == 0, "%s", err);
	vg_frame *frame;
	CHECK(vg_source_read(src, &frame) == 0);
	vg_preprocess *pp;
	vg_preprocess_config cfg = { 0 };
	CHECK(vg_preprocess_create(&pp, nn_model_input(m, 0), &cfg, err, sizeof err) == 0);
	CHECK(vg_preprocess_run(pp, frame, nn_model_input(m, 0)) == 0);
	CHECK_MSG(nn_model_run(m, err, sizeof err) == 0, "%s", err);

	/* The post-processing node is the last; its inputs are still in the arena after the run. */
	const nn_graph *g = nn_model_graph(m);
	const nn_node *pp_node = &g->nodes[g->n_nodes - 1];
	CHECK(pp_node->op == NN_OP_DETECTION_POSTPROCESS);
	const nn_tensor *enc = &g->tensors[pp_node->inputs[0]];
	const nn_tensor *cls = &g->tensors[pp_node->inputs[1]];
	const nn_tensor *anc = &g->tensors[pp_node->inputs[2]];
	int n = enc->shape[1], classes = cls->shape[2];
	float *e = dequantized(enc), *s = dequantized(cls), *a = dequantized(anc);
	const nn_detection_postprocess_params *dp = &pp_node->p.detpp;
	vg_ssd_params sp = { dp->y_scale, dp->x_scale, dp->h_scale, dp->w_scale, 1, 0, dp->nms_iou_threshold, 0 };
	vg_detection ours[10];
	int count = vg_decode_ssd(e, s, a, n, classes, &sp, 0.3f, ours, 10);

	const float *boxes = nn_model_output(m, 0)->data, *ids = nn_model_output(m, 1)->data;
	const float *scores = nn_model_output(m, 2)->data;
	int op_count = 0;
	for (int i = 0; i < 10; i++)
		op_count += scores[i] >= 0.3f;
	CHECK_MSG(count == op_count && count >= 5, "C decoder found %d, the op %d", count, op_count);
	for (int i = 0; i < count; i++) {
		CHECK(fabsf(ours[i].score - scores[i]) < 1e-5f);
		CHECK(ours[i].class_id == (int)ids[i]);
		/* The op does not clip to the image; the C decoder does. */
		float y0 = fmaxf(boxes[i * 4], 0), x0 = fmaxf(boxes[i * 4 + 1], 0);
		float y1 = fminf(boxes[i * 4 + 2], 1), x1 = fminf(boxes[i * 4 + 3], 1);
		CHECK_MSG(fabsf(ours[i].y0 - y0) < 1e-4f && fabsf(ours[i].x0 - x0) < 1e-4f && fabsf(ours[i].y1 - y1) < 1e-4f &&
				  fabsf(ours[i].x1 - x1) < 1e-4f,
			  "detection %d: C (%f %f %f %f), op (%f %f %f %f)", i, ours[i].y0, ours[i].x0, ours[i].y1, ours[i].x1,
			  y0, x0, y1, x1);
	}
	free(e);
	free(s);
	free(a);
	vg_preprocess_destroy(pp);
	vg_frame_unref(frame);
	vg_source_destroy(src);
	nn_model_free(m);
}

TEST_SUITE(detect_ssd, TEST_ENTRY(ssd_raw_decoder_matches_postprocess_op));
