#ifndef VG_YOLO_H
#define VG_YOLO_H

#include "detect/detection.h"

/*
 * Decoders of the YOLO family and of other single-stage detectors exported
 * from PyTorch (YOLOX, YOLOv5/v7, YOLOv8/v11, Yolo-FastestV2, UltraFace) and
 * of models whose graph ends in NMS. Like decode.h's, each writes at most max
 * detections in normalised model-input coordinates, best first, and returns
 * how many (or -1 when the tensors do not fit the parameters).
 */

typedef struct vg_yolo_params {
	int num_classes;
	float in_w, in_h;      /* model input in pixels */
	int sigmoid;           /* objectness and class values are logits (official exports apply the sigmoid) */
	int normalized;        /* boxes in 0..1 of the input (Ultralytics TFLite exports) rather than pixels */
	float iou_threshold;   /* 0 or less: no NMS */
	int per_class_nms;
} vg_yolo_params;

/*
 * YOLOX: rows [n][5 + C] of (x, y, w, h, objectness, classes) over the grids
 * of the given strides, in that order, each grid ceil(in / stride) cells a
 * side, row by row. Centre (x + col, y + row) * stride, size exp(w, h) *
 * stride; score objectness x best class. n must be the grids' total.
 */
int vg_decode_yolox(const float *rows, int n, const int *strides, int n_strides, const vg_yolo_params *p,
		    float threshold, vg_detection *out, int max);

/*
 * Boxes already decoded by the graph as (cx, cy, w, h) followed, when
 * objectness is set, by an objectness (YOLOv5/v7: score objectness x best
 * class), then the C class scores (YOLOv8/v11: score the best class). Value k
 * of box i is at data[i * row_step + k * attr_step]: [N][5+C] is (5+C, 1),
 * YOLOv8's [4+C][N] is (1, N).
 */
int vg_decode_yolo_boxes(const float *data, int n, long row_step, long attr_step, int objectness,
			 const vg_yolo_params *p, float threshold, vg_detection *out, int max);

/*
 * Whether boxes read as vg_decode_yolo_boxes reads them look normalised
 * (every centre and size within -0.1..1.5) rather than in input pixels.
 * Scans at most the first 2000 boxes.
 */
int vg_yolo_boxes_normalized(const float *data, int n, long row_step, long attr_step);

/* One scale of Yolo-FastestV2, NCHW as its ONNX export gives it (no activation applied). */
typedef struct vg_fastestv2_level {
	const float *reg;      /* [n_anchors * 4][h][w]: per anchor x, y, w, h logits */
	const float *obj;      /* [n_anchors][h][w] logits */
	const float *cls;      /* [C][h][w] logits, shared by the anchors (softmax over C) */
	int width, height;
	int n_anchors;         /* at most 4 */
	float anchors[4][2];   /* width, height in input pixels */
} vg_fastestv2_level;

/*
 * Yolo-FastestV2 (its utils.handel_preds): stride = input height / grid
 * height; centre ((sigmoid(x) * 2 - 0.5) + col) * stride, size (sigmoid(w) *
 * 2)^2 * anchor; score sigmoid(obj) x softmax(cls) at the best class.
 */
int vg_decode_fastestv2(const vg_fastestv2_level *levels, int n_levels, const vg_yolo_params *p, float threshold,
			vg_detection *out, int max);

/* Yolo-FastestV2's COCO anchors (data/coco.data): 3 per scale, the 22x22 grid's first, for a 352x352 input. */
extern const float vg_fastestv2_coco_anchors[2][3][2];

/*
 * UltraFace's priors (vision/utils/box_utils.generate_priors with its
 * fd_config): for strides 8, 16, 32, 64 a grid of ceil(in / stride) cells,
 * row by row, centres at (i + 0.5) / cells, min boxes {10,16,24}, {32,48},
 * {64,96}, {128,192,256} pixels; every value clamped to 0..1. Writes up to
 * max priors as (cx, cy, w, h) (priors may be NULL) and returns the count.
 */
int vg_ultraface_priors(int in_w, int in_h, float *priors, int max);

/*
 * UltraFace: scores [n][2] (background, face) and boxes [n][4]. raw: boxes
 * are locations against the priors (centre variance 0.1, size variance
 * 0.2); otherwise corners (x1, y1, x2, y2) normalised, as its ONNX export
 * with post-processing gives them. Class 0 is the face.
 */
int vg_decode_ultraface(const float *scores, const float *boxes, int n, const float *priors, int raw,
			float iou_threshold, float threshold, vg_detection *out, int max);

/*
 * Whether UltraFace's box output holds corners (post-processing in the graph)
 * rather than raw locations: corners have x2 >= x1 and y2 >= y1 on (nearly)
 * every row, raw locations on about half.
 */
int vg_ultraface_boxes_are_corners(const float *boxes, int n);

/*
 * Layouts of detection rows computed by NMS in the graph. vg_nms_rows_layout
 * tells them apart from the values: width 6 is (x1, y1, x2, y2, score,
 * class) (Ultralytics' nms=True exports, CenterNet); width 7 is (batch, x1,
 * y1, x2, y2, class, score) (YOLOv7's end-to-end ONNX) when column 5 holds
 * whole numbers and column 6 values in 0..1, else (batch, x1, y1, x2, y2,
 * score, class). Coordinates are pixels unless every one is within -0.1..1.5.
 */
typedef struct vg_nms_rows_layout {
	int width;              /* 6 or 7 */
	int box;                /* column of x1 */
	int score, cls;         /* columns */
	int normalized;
} vg_nms_rows_layout;

int vg_nms_rows_detect(const float *rows, int k, int width, vg_nms_rows_layout *out);

/* Rows kept at or above threshold, in their order (already after NMS), boxes clipped. */
int vg_decode_nms_rows(const float *rows, int k, const vg_nms_rows_layout *l, float in_w, float in_h,
		       float threshold, vg_detection *out, int max);

#endif
