/*
 * TFLite_Detection_PostProcess, the custom op that ends TensorFlow's SSD
 * models: decodes box encodings against anchors, then non-maximum suppression
 * either class-agnostic on each box's best classes (the fast path) or per
 * class (the regular path). It follows TensorFlow Lite's
 * kernels/detection_postprocess.cc step for step, including its thresholds
 * (score >= threshold is kept, IoU > threshold suppresses) and its output
 * layout. Where TFLite's partial sort leaves the order of equal scores
 * unspecified, this one keeps the earlier box (or earlier class) first.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ref/quant.h"

typedef struct box {
	float ymin, xmin, ymax, xmax;
} box;

/* A candidate in a sort: its score and its position, which breaks ties so that the order is fully defined. */
typedef struct ranked {
	float score;
	int pos;
} ranked;

static int by_score_desc(const void *pa, const void *pb)
{
	const ranked *a = pa, *b = pb;
	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	return (a->pos > b->pos) - (a->pos < b->pos);
}

static int is_float_or_q8(const nn_tensor *t)
{
	return t->dtype == NN_F32 || t->dtype == NN_U8 || t->dtype == NN_I8;
}

int nn_ref_detpp_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	const nn_tensor *enc = nn_ref_input(g, n, 0), *cls = nn_ref_input(g, n, 1), *anchors = nn_ref_input(g, n, 2);
	if (!enc || !cls || !anchors || n->n_outputs != 4)
		return nn_ref_fail(why, whylen, n, 0,
				   "expects box encodings, class predictions and anchors, and four outputs");
	const nn_tensor *ins[3] = { enc, cls, anchors };
	const char *in_names[3] = { "box encodings", "class predictions", "anchors" };
	for (int i = 0; i < 3; i++) {
		if (!is_float_or_q8(ins[i]))
			return nn_ref_fail(why, whylen, n, 0, "%s %s are not supported", nn_dtype_name(ins[i]->dtype),
					   in_names[i]);
		if (!nn_ref_check_quant(n, ins[i], in_names[i], 0, why, whylen))
			return 0;
	}
	for (int i = 0; i < 4; i++) {
		const nn_tensor *out = nn_ref_output(g, n, i);
		if (!out || out->dtype != NN_F32)
			return nn_ref_fail(why, whylen, n, 0, "output %d must be float32", i);
	}
	const nn_detection_postprocess_params *p = &n->p.detpp;
	if (p->max_detections < 0 || p->num_classes < 1)
		return nn_ref_fail(why, whylen, n, 0, "max_detections %d or num_classes %d is invalid",
				   p->max_detections, p->num_classes);
	if (!(p->nms_iou_threshold > 0.0f && p->nms_iou_threshold <= 1.0f))
		return nn_ref_fail(why, whylen, n, 0, "nms_iou_threshold %g is outside (0, 1]",
				   (double)p->nms_iou_threshold);
	if (p->use_regular_nms ? p->detections_per_class < 1 : p->max_classes_per_detection < 1)
		return nn_ref_fail(why, whylen, n, 0, "%s must be positive",
				   p->use_regular_nms ? "detections_per_class" : "max_classes_per_detection");
	float scales[4] = { p->y_scale, p->x_scale, p->h_scale, p->w_scale };
	for (int i = 0; i < 4; i++)
		if (!isfinite(scales[i]) || scales[i] == 0.0f)
			return nn_ref_fail(why, whylen, n, 0, "box scale %g is invalid", (double)scales[i]);
	return 1;
}

/* Working memory for one run. */
typedef struct detpp {
	const nn_detection_postprocess_params *p;
	int num_boxes;
	int classes_with_bg;   /* columns of the class predictions */
	int label_offset;      /* 1 when column 0 is the background class */
	box *boxes;            /* decoded, [num_boxes] */
	const float *scores;   /* [num_boxes][classes_with_bg] */
	ranked *rank_buf;      /* [num_boxes]: the score sort of nms_single_class */
	ranked *merge;         /* [num_boxes + max_detections]: the regular path's merge */
	unsigned char *active; /* [num_boxes] */
	int *kept;             /* [num_boxes] */
	box *sorted;           /* [num_boxes]: the kept boxes in score order, for nms_single_class's inner loop */
	float *area;           /* [num_boxes]: their areas */
	float *class_scores;   /* [num_boxes] */
	float *out_boxes, *out_classes, *out_scores, *out_count;
} detpp;

/*
 * ComputeIntersectionOverUnion, in float as TFLite computes it (std::min and
 * std::max, written as comparisons so that they compile inline), with the
 * two areas already known.
 */
static inline float iou(const box *a, float area_a, const box *b, float area_b)
{
	if (area_a <= 0 || area_b <= 0)
		return 0.0f;
	/* std::max(x, y) is (x < y ? y : x) and std::min(x, y) is (y < x ? y : x), NaN included. */
	float ymin = a->ymin < b->ymin ? b->ymin : a->ymin, xmin = a->xmin < b->xmin ? b->xmin : a->xmin;
	float ymax = b->ymax < a->ymax ? b->ymax : a->ymax, xmax = b->xmax < a->xmax ? b->xmax : a->xmax;
	float h = ymax - ymin, w = xmax - xmin;
	float inter = (h < 0.0f ? 0.0f : h) * (w < 0.0f ? 0.0f : w);
	return inter / (area_a + area_b - inter);
}

static inline float area(const box *b)
{
	return (b->ymax - b->ymin) * (b->xmax - b->xmin);
}

/*
 * NonMaxSuppressionSingleClassHelper: keeps boxes scoring at least the
 * threshold, visits them best first, and drops every later box whose IoU
 * with a selected one exceeds the IoU threshold. Writes at most max_out box
 * indices to selected and returns how many. The kept boxes are copied in
 * score order with their areas first: each selected box is compared with
 * every later one, tens of thousands for an LSTM-SSD with a low score
 * threshold, and a sequential walk over them is several times faster than
 * gathering them through their indices.
 */
static int nms_single_class(detpp *d, const float *scores, int max_out, int *selected)
{
	const nn_detection_postprocess_params *p = d->p;
	int n_kept = 0;
	for (int i = 0; i < d->num_boxes; i++)
		if (scores[i] >= p->nms_score_threshold) {
			d->rank_buf[n_kept].score = scores[i];
			d->rank_buf[n_kept].pos = i;
			n_kept++;
		}
	qsort(d->rank_buf, (size_t)n_kept, sizeof *d->rank_buf, by_score_desc);
	for (int i = 0; i < n_kept; i++) {
		d->kept[i] = d->rank_buf[i].pos;
		d->sorted[i] = d->boxes[d->kept[i]];
		d->area[i] = area(&d->sorted[i]);
	}

	int out_size = n_kept < max_out ? n_kept : max_out;
	int n_selected = 0, n_active = n_kept;
	float thr = p->nms_iou_threshold;
	for (int i = 0; i < n_kept; i++)
		d->active[i] = 1;
	for (int i = 0; i < n_kept; i++) {
		if (n_active == 0 || n_selected >= out_size)
			break;
		if (!d->active[i])
			continue;
		selected[n_selected++] = d->kept[i];
		d->active[i] = 0;
		n_active--;
		const box *bi = &d->sorted[i];
		float ai = d->area[i];
		for (int j = i + 1; j < n_kept; j++)
			if (d->active[j] && iou(bi, ai, &d->sorted[j], d->area[j]) > thr) {
				d->active[j] = 0;
				n_active--;
			}
	}
	return n_selected;
}

static void write_row(detpp *d, size_t row, int box_index, int class_index, float score)
{
	const box *b = &d->boxes[box_index];
	d->out_boxes[row * 4 + 0] = b->ymin;
	d->out_boxes[row * 4 + 1] = b->xmin;
	d->out_boxes[row * 4 + 2] = b->ymax;
	d->out_boxes[row * 4 + 3] = b->xmax;
	d->out_classes[row] = (float)class_index;
	d->out_scores[row] = score;
}

/*
 * NonMaxSuppressionMultiClassFastHelper: each box keeps its best
 * max_classes_per_detection classes, NMS runs once on each box's best score,
 * and every selected box fills max_classes_per_detection consecutive rows.
 */
static int fast_nms(detpp *d, int *selected, int *class_order)
{
	const nn_detection_postprocess_params *p = d->p;
	int per_box = p->max_classes_per_detection < p->num_classes ? p->max_classes_per_detection : p->num_classes;
	for (int b = 0; b < d->num_boxes; b++) {
		const float *s = d->scores + (size_t)b * d->classes_with_bg + d->label_offset;
		int *order = class_order + (size_t)b * per_box;
		/* Selection of the per_box best classes; the earlier class wins a tie. */
		for (int k = 0; k < per_box; k++) {
			int best = -1;
			for (int c = 0; c < p->num_classes; c++) {
				int taken = 0;
				for (int j = 0; j < k && !taken; j++)
					taken = order[j] == c;
				if (!taken && (best < 0 || s[c] > s[best]))
					best = c;
			}
			order[k] = best;
		}
		d->class_scores[b] = s[order[0]];
	}
	int n_selected = nms_single_class(d, d->class_scores, p->max_detections, selected);
	for (int k = 0; k < n_selected; k++) {
		int b = selected[k];
		const float *s = d->scores + (size_t)b * d->classes_with_bg + d->label_offset;
		for (int col = 0; col < per_box; col++) {
			int c = class_order[(size_t)b * per_box + col];
			write_row(d, (size_t)p->max_classes_per_detection * (size_t)k + (size_t)col, b, c, s[c]);
		}
	}
	return n_selected;
}

/*
 * NonMaxSuppressionMultiClassRegularHelper: NMS per class (at most
 * detections_per_class boxes each), merged class after class into one list
 * that keeps the max_detections best scores.
 */
static int regular_nms(detpp *d, int *selected, int *top_box, int *top_class, float *top_score, int *tmp_box,
		       int *tmp_class)
{
	const nn_detection_postprocess_params *p = d->p;
	int n_top = 0;
	ranked *merge = d->merge;
	for (int c = 0; c < p->num_classes; c++) {
		for (int b = 0; b < d->num_boxes; b++)
			d->class_scores[b] = d->scores[(size_t)b * d->classes_with_bg + c + d->label_offset];
		int n_selected = nms_single_class(d, d->class_scores, p->detections_per_class, selected);

		/* Candidates: the current top list first, then this class's selections. */
		int n_cand = 0;
		for (int k = 0; k < n_top; k++, n_cand++) {
			tmp_box[n_cand] = top_box[k], tmp_class[n_cand] = top_class[k];
			merge[n_cand].score = top_score[k], merge[n_cand].pos = n_cand;
		}
		for (int k = 0; k < n_selected; k++, n_cand++) {
			tmp_box[n_cand] = selected[k], tmp_class[n_cand] = c;
			merge[n_cand].score = d->class_scores[selected[k]], merge[n_cand].pos = n_cand;
		}
		qsort(merge, (size_t)n_cand, sizeof *merge, by_score_desc);
		n_top = n_cand < p->max_detections ? n_cand : p->max_detections;
		for (int k = 0; k < n_top; k++) {
			top_box[k] = tmp_box[merge[k].pos];
			top_class[k] = tmp_class[merge[k].pos];
			top_score[k] = merge[k].score;
		}
	}
	for (int k = 0; k < n_top; k++)
		write_row(d, (size_t)k, top_box[k], top_class[k], top_score[k]);
	return n_top;
}

int nn_ref_detpp_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	const nn_tensor *enc = nn_ref_input(g, n, 0), *cls = nn_ref_input(g, n, 1), *anchors = nn_ref_input(g, n, 2);
	nn_tensor *o_boxes = nn_ref_output(g, n, 0), *o_classes = nn_ref_output(g, n, 1);
	nn_tensor *o_scores = nn_ref_output(g, n, 2), *o_count = nn_ref_output(g, n, 3);
	const nn_detection_postprocess_params *p = &n->p.detpp;
	char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF], c[NN_REF_SHAPE_BUF], e[NN_REF_SHAPE_BUF];

	if (enc->rank != 3 || enc->shape[0] != 1 || enc->shape[2] < 4)
		return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE, "box encodings have shape %s, expected [1,N,4+]",
				   nn_ref_shape_str(enc, a));
	int num_boxes = enc->shape[1];
	if (cls->rank != 3 || cls->shape[0] != 1 || cls->shape[1] != num_boxes || cls->shape[2] < p->num_classes ||
	    cls->shape[2] > p->num_classes + 1)
		return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE,
				   "class predictions have shape %s, expected [1,%d,%d or %d] for %d classes",
				   nn_ref_shape_str(cls, a), num_boxes, p->num_classes, p->num_classes + 1,
				   p->num_classes);
	if (anchors->rank != 2 || anchors->shape[0] != num_boxes || anchors->shape[1] != 4)
		return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE, "anchors have shape %s, expected [%d,4]",
				   nn_ref_shape_str(anchors, a), num_boxes);
	int64_t rows = o_boxes->rank >= 1 ? nn_ref_elements(o_boxes) / 4 : 0;
	int64_t needed = p->use_regular_nms ? p->max_detections
					    : (int64_t)p->max_detections * p->max_classes_per_detection;
	if (o_boxes->rank < 1 || o_boxes->shape[o_boxes->rank - 1] != 4 || rows < needed ||
	    nn_ref_elements(o_classes) != rows || nn_ref_elements(o_scores) != rows || nn_ref_elements(o_count) != 1)
		return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE,
				   "outputs %s, %s, %s, %s cannot hold %lld detections",
				   nn_ref_shape_str(o_boxes, a), nn_ref_shape_str(o_classes, b),
				   nn_ref_shape_str(o_scores, c), nn_ref_shape_str(o_count, e), (long long)needed);

	detpp d = {
		.p = p,
		.num_boxes = num_boxes,
		.classes_with_bg = cls->shape[2],
		.label_offset = cls->shape[2] - p->num_classes,
		.out_boxes = o_boxes->data,
		.out_classes = o_classes->data,
		.out_scores = o_scores->data,
		.out_count = o_count->data,
	};
	size_t nb = (size_t)num_boxes, md = (size_t)p->max_detections;
	/* Only the fast path uses (and supports validated) max_classes_per_detection. */
	size_t per_box = p->use_regular_nms ? 0
					    : (size_t)(p->max_classes_per_detection < p->num_classes
							       ? p->max_classes_per_detection
							       : p->num_classes);
	size_t n_scores = nb * (size_t)d.classes_with_bg;
	float *scores_buf = NULL;
	d.boxes = malloc((nb ? nb : 1) * sizeof *d.boxes);
	d.rank_buf = malloc((nb + 1) * sizeof *d.rank_buf);
	d.merge = malloc((nb + md + 1) * sizeof *d.merge);
	d.active = malloc(nb + 1);
	d.kept = malloc((nb + 1) * sizeof *d.kept);
	d.sorted = malloc((nb + 1) * sizeof *d.sorted);
	d.area = malloc((nb + 1) * sizeof *d.area);
	d.class_scores = malloc((nb + 1) * sizeof *d.class_scores);
	int *selected = malloc((nb + 1) * sizeof(int));
	/* Regular path: top boxes and classes, and their merge candidates. Fast path: each box's best classes. */
	int *work = malloc((4 * (nb + md) + nb * per_box + 1) * sizeof(int));
	float *top_score = malloc((md + 1) * sizeof(float));
	if (cls->dtype != NN_F32)
		scores_buf = malloc((n_scores ? n_scores : 1) * sizeof *scores_buf);
	int rc = NN_OK;
	if (!d.boxes || !d.rank_buf || !d.merge || !d.active || !d.kept || !d.sorted || !d.area || !d.class_scores ||
	    !selected || !work ||
	    !top_score || (cls->dtype != NN_F32 && !scores_buf)) {
		rc = nn_ref_fail(err, errlen, n, NN_ERR_NOMEM, "out of memory for %d boxes", num_boxes);
		goto done;
	}
	if (scores_buf && (cls->dtype == NN_U8 || cls->dtype == NN_I8) && cls->quant.count == 1) {
		/* Tens of thousands of 8-bit scores: a table of the 256 possible values beats converting each. */
		float table[256];
		for (int q = 0; q < 256; q++) {
			int v = cls->dtype == NN_U8 ? q : (int)(int8_t)q;
			table[q] = cls->quant.scale[0] * (float)(v - (cls->quant.zero_point ? cls->quant.zero_point[0] : 0));
		}
		const uint8_t *raw = cls->data;
		for (size_t i = 0; i < n_scores; i++)
			scores_buf[i] = table[raw[i]];
		d.scores = scores_buf;
	} else if (scores_buf) {
		for (size_t i = 0; i < n_scores; i++)
			scores_buf[i] = nn_ref_read(cls, i);
		d.scores = scores_buf;
	} else {
		d.scores = cls->data;
	}

	/* DecodeCenterSizeBoxes: in double, rounded to float, as TFLite does. */
	size_t enc_stride = (size_t)enc->shape[2];
	for (int i = 0; i < num_boxes; i++) {
		double ty = nn_ref_read(enc, i * enc_stride + 0), tx = nn_ref_read(enc, i * enc_stride + 1);
		double th = nn_ref_read(enc, i * enc_stride + 2), tw = nn_ref_read(enc, i * enc_stride + 3);
		double ay = nn_ref_read(anchors, (size_t)i * 4 + 0), ax = nn_ref_read(anchors, (size_t)i * 4 + 1);
		double ah = nn_ref_read(anchors, (size_t)i * 4 + 2), aw = nn_ref_read(anchors, (size_t)i * 4 + 3);
		float ycenter = (float)(ty / p->y_scale * ah + ay);
		float xcenter = (float)(tx / p->x_scale * aw + ax);
		float half_h = (float)(0.5 * exp(th / p->h_scale) * ah);
		float half_w = (float)(0.5 * exp(tw / p->w_scale) * aw);
		d.boxes[i] = (box){ ycenter - half_h, xcenter - half_w, ycenter + half_h, xcenter + half_w };
		/* TFLite refuses inverted boxes (negative anchor sizes) before suppressing. */
		if (d.boxes[i].ymin > d.boxes[i].ymax || d.boxes[i].xmin > d.boxes[i].xmax) {
			rc = nn_ref_fail(err, errlen, n, NN_ERR_FORMAT,
					 "decoded box %d is inverted (does its anchor have a negative size?)", i);
			goto done;
		}
	}

	memset(d.out_boxes, 0, (size_t)rows * 4 * sizeof(float));
	memset(d.out_classes, 0, (size_t)rows * sizeof(float));
	memset(d.out_scores, 0, (size_t)rows * sizeof(float));
	int found;
	if (p->use_regular_nms) {
		int *top_box = work, *top_class = work + (nb + md), *tmp_box = work + 2 * (nb + md);
		int *tmp_class = work + 3 * (nb + md);
		found = regular_nms(&d, selected, top_box, top_class, top_score, tmp_box, tmp_class);
	} else {
		found = fast_nms(&d, selected, work);
	}
	d.out_count[0] = (float)found;

done:
	free(d.boxes);
	free(d.rank_buf);
	free(d.merge);
	free(d.active);
	free(d.kept);
	free(d.sorted);
	free(d.area);
	free(d.class_scores);
	free(selected);
	free(work);
	free(top_score);
	free(scores_buf);
	return rc;
}
