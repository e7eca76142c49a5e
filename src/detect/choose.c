/*
 * Which decoder reads a model's outputs, and which output is which: named by
 * --decoder or the sidecar, else chosen from the outputs' shapes where they
 * are unambiguous, with the reason for `vigil inspect`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/detector_priv.h"

static const struct {
	const char *name;
	vg_decoder_kind kind;
} decoders[] = {
	{ "auto", VG_DECODER_AUTO },
	{ "postprocessed", VG_DECODER_POSTPROCESSED },
	{ "classifier", VG_DECODER_CLASSIFIER },
	{ "movenet", VG_DECODER_MOVENET },
	{ "centernet", VG_DECODER_CENTERNET },
	{ "centernet-raw", VG_DECODER_CENTERNET_RAW },
	{ "nanodet", VG_DECODER_NANODET },
	{ "blazeface", VG_DECODER_BLAZEFACE },
	{ "ssd-priorbox", VG_DECODER_SSD_PRIORBOX },
	{ "yolox", VG_DECODER_YOLOX },
	{ "yolov5", VG_DECODER_YOLOV5 },
	{ "yolov8", VG_DECODER_YOLOV8 },
	{ "yolo-fastestv2", VG_DECODER_FASTESTV2 },
	{ "ultraface", VG_DECODER_ULTRAFACE },
	{ "ssd-anchors", VG_DECODER_SSD_ANCHORS },
	{ "nms-rows", VG_DECODER_NMS_ROWS },
	{ "segmentation", VG_DECODER_SEGMENTATION },
};

const char vg_decoder_names[] =
	"auto, postprocessed, classifier, movenet, centernet, centernet-raw, nanodet, blazeface, ssd-priorbox, yolox, "
	"yolov5, yolov8, yolo-fastestv2, ultraface, ssd-anchors, nms-rows, segmentation";

int vg_decoder_from_name(const char *name, vg_decoder_kind *out)
{
	for (size_t i = 0; name && i < sizeof decoders / sizeof decoders[0]; i++) {
		if (!strcmp(name, decoders[i].name)) {
			*out = decoders[i].kind;
			return 0;
		}
	}
	return -1;
}

const char *vg_decoder_name(vg_decoder_kind kind)
{
	for (size_t i = 0; i < sizeof decoders / sizeof decoders[0]; i++)
		if (decoders[i].kind == kind)
			return decoders[i].name;
	return "unknown";
}

/* "'name' [1,100,6]" for messages. */
const char *vg_det_out_desc(const vg_detector *d, int i, char *buf, size_t len)
{
	const nn_tensor *t = d->outs[i];
	size_t n = (size_t)snprintf(buf, len, "'%s' [", t->name ? t->name : "?");
	for (int k = 0; k < t->rank && n < len; k++)
		n += (size_t)snprintf(buf + n, len - n, "%s%d", k ? "," : "", t->shape[k]);
	if (n < len)
		snprintf(buf + n, len - n, "]");
	return buf;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = s ? strlen(s) : 0, b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int name_has(const nn_tensor *t, const char *part)
{
	return t->name && strstr(t->name, part) != NULL;
}

/* Binds TFLite_Detection_PostProcess outputs by shape: [1,N,4] boxes, [1] count, two [1,N] classes and scores. */
static int bind_postprocessed(vg_detector *d, char *why, size_t whylen)
{
	int n_out = d->n_outs;
	if (n_out != 4) {
		snprintf(why, whylen, "it needs 4 outputs (boxes, classes, scores, count), the model has %d", n_out);
		return 0;
	}
	int boxes = -1, count = -1, pair[2] = { -1, -1 }, n_pair = 0, n = 0;
	for (int i = 0; i < 4; i++) {
		const nn_tensor *t = d->outs[i];
		if (t->rank == 3 && t->shape[0] == 1 && t->shape[2] == 4) {
			boxes = i;
			n = t->shape[1];
		} else if (nn_tensor_elements(t) == 1) {
			count = i;
		} else if (t->rank == 2 && t->shape[0] == 1 && n_pair < 2) {
			pair[n_pair++] = i;
		}
	}
	if (boxes < 0 || count < 0 || n_pair != 2 || d->outs[pair[0]]->shape[1] != n ||
	    d->outs[pair[1]]->shape[1] != n) {
		snprintf(why, whylen, "it needs boxes [1,N,4], classes [1,N], scores [1,N] and a count [1]");
		return 0;
	}
	/*
	 * The op names its outputs ":0" boxes, ":1" classes, ":2" scores, ":3" count; graphs that end in
	 * NON_MAX_SUPPRESSION_V4/V5 and GATHERs (TF exports with NMS) name them "...scores" and "...classes",
	 * in either order; otherwise keep the op's order.
	 */
	int classes = pair[0], scores = pair[1];
	const nn_tensor *p0 = d->outs[pair[0]], *p1 = d->outs[pair[1]];
	if (ends_with(p0->name, ":2") || ends_with(p1->name, ":1") ||
	    (name_has(p0, "score") && !name_has(p1, "score")) || (name_has(p1, "class") && !name_has(p0, "class"))) {
		classes = pair[1];
		scores = pair[0];
	}
	d->out_boxes = boxes;
	d->out_classes = classes;
	d->out_scores = scores;
	d->out_count = count;
	snprintf(d->reason, sizeof d->reason,
		 "4 outputs shaped like TFLite_Detection_PostProcess: boxes [1,%d,4], classes, scores, count", n);
	return 1;
}

static int bind_classifier(vg_detector *d, char *why, size_t whylen)
{
	if (d->n_outs != 1) {
		snprintf(why, whylen, "it needs one output of class scores, the model has %d outputs",
			 d->n_outs);
		return 0;
	}
	const nn_tensor *t = d->outs[0];
	if (t->rank < 1 || nn_tensor_elements(t) != t->shape[t->rank - 1] || t->shape[t->rank - 1] < 2) {
		snprintf(why, whylen, "its output is not one vector of class scores");
		return 0;
	}
	d->out_scores = 0;
	snprintf(d->reason, sizeof d->reason, "one output of %d class scores", t->shape[t->rank - 1]);
	return 1;
}

/*
 * MoveNet single-pose: an output [1,1,K,3] (or [1,K,3]) of keypoints as (y, x,
 * score). Chosen automatically only for the model's one output of exactly
 * 17 keypoints, [1,1,17,3].
 */
static int bind_movenet(vg_detector *d, int automatic, char *why, size_t whylen)
{
	int found = -1;
	for (int i = 0; i < d->n_outs && found < 0; i++) {
		const nn_tensor *t = d->outs[i];
		if (t->rank < 2 || t->shape[t->rank - 1] != 3 || t->shape[t->rank - 2] < 1 ||
		    t->shape[t->rank - 2] > VG_MAX_KEYPOINTS || nn_tensor_elements(t) != 3 * t->shape[t->rank - 2])
			continue;
		if (automatic && (d->n_outs != 1 || t->rank != 4 || t->shape[2] != 17))
			continue;
		found = i;
	}
	if (found < 0) {
		snprintf(why, whylen, "it needs an output of keypoints shaped [1,1,K,3] (y, x, score), K at most %d",
			 VG_MAX_KEYPOINTS);
		return 0;
	}
	const nn_tensor *t = d->outs[found];
	d->out_dets = found;
	d->n_pose_keypoints = t->shape[t->rank - 2];
	char s[160];
	snprintf(d->reason, sizeof d->reason,
		 "output %d %s holds %d keypoints as (y, x, score): MoveNet single-pose, one person, %s keypoints",
		 found, vg_det_out_desc(d, found, s, sizeof s), d->n_pose_keypoints,
		 d->n_pose_keypoints == 17 ? "COCO-17" : "unnamed");
	return 1;
}

/* One [1,K,6] output: CenterNet's detections computed in the graph. */
static int bind_centernet(vg_detector *d, int automatic, char *why, size_t whylen)
{
	int found = -1, n = 0;
	for (int i = 0; i < d->n_outs; i++) {
		const nn_tensor *t = d->outs[i];
		if (t->rank != 3 || t->shape[0] != 1 || t->shape[2] != 6 || t->shape[1] < 1)
			continue;
		n++;
		if (found < 0 || ends_with(t->name, "detections"))
			found = i;
	}
	if (found < 0) {
		snprintf(why, whylen, "it needs an output of detections shaped [1,K,6]");
		return 0;
	}
	int rows = d->outs[found]->shape[1];
	if (automatic && (n > 1 || rows > CENTERNET_MAX_ROWS))
		return 0;
	d->out_dets = found;
	char s[160];
	snprintf(d->reason, sizeof d->reason,
		 "output %d %s holds %d detections computed in the graph (x1, y1, x2, y2 in input pixels, score, "
		 "class), as CenterNet exports them",
		 found, vg_det_out_desc(d, found, s, sizeof s), rows);
	return 1;
}

/* A heatmap [1,H,W,C] and box distances [1,H,W,4] on the same grid: CenterNet's heads. */
static int bind_centernet_raw(vg_detector *d, char *why, size_t whylen)
{
	int n_out = d->n_outs, box = -1, heat = -1;
	for (int i = 0; i < n_out; i++) {
		const nn_tensor *t = d->outs[i];
		if (t->rank == 4 && t->shape[0] == 1 && t->shape[3] == 4 && (box < 0 || name_has(t, "wh")))
			box = i;
	}
	if (box >= 0) {
		const nn_tensor *b = d->outs[box];
		for (int i = 0; i < n_out; i++) {
			const nn_tensor *t = d->outs[i];
			if (i == box || t->rank != 4 || t->shape[0] != 1 || t->shape[1] != b->shape[1] ||
			    t->shape[2] != b->shape[2])
				continue;
			if (heat < 0 || name_has(t, "keypoints") || name_has(t, "heatmap"))
				heat = i;
		}
	}
	if (box < 0 || heat < 0) {
		snprintf(why, whylen, "it needs a heatmap [1,H,W,C] and box distances [1,H,W,4] on the same grid");
		return 0;
	}
	const nn_tensor *h = d->outs[heat];
	d->out_heat = heat;
	d->out_wh = box;
	d->num_classes = h->shape[3];
	char s1[160], s2[160];
	snprintf(d->reason, sizeof d->reason,
		 "heatmap %s and box distances %s: CenterNet's heads, decoded here (3x3 peaks, top-k), stride %g",
		 vg_det_out_desc(d, heat, s1, sizeof s1), vg_det_out_desc(d, box, s2, sizeof s2), (double)d->in_w / h->shape[2]);
	return 1;
}

/* The stride s at which an input of in_w x in_h makes a grid of n cells, or 0. */
static int stride_for_cells(int in_w, int in_h, int n, int *gw, int *gh)
{
	for (int s = 4; s <= 128; s *= 2) {
		int w = (in_w + s - 1) / s, h = (in_h + s - 1) / s;
		if (w * h == n) {
			*gw = w;
			*gh = h;
			return s;
		}
	}
	return 0;
}

/* NanoDet's outputs are [1,N,C] or, in some ONNX exports, [N,C]. */
static int nd_rows(const nn_tensor *t)
{
	return t->shape[t->rank - 2];
}

static int nd_width(const nn_tensor *t)
{
	return t->shape[t->rank - 1];
}

/*
 * NanoDet: outputs pairing up by anchor count N, each pair a class-score
 * tensor [1,N,C] (or [N,C]) and a distance-bin tensor [1,N,4*(R+1)], one pair per stride.
 */
static int bind_nanodet(vg_detector *d, int automatic, char *why, size_t whylen)
{
	int n_out = d->n_outs;
	int idx[2 * MAX_LEVELS], n = 0;
	for (int i = 0; i < n_out; i++) {
		const nn_tensor *t = d->outs[i];
		if (((t->rank == 3 && t->shape[0] == 1) || t->rank == 2) && t->shape[t->rank - 2] > 0 && t->shape[t->rank - 1] > 0 &&
		    n < 2 * MAX_LEVELS)
			idx[n++] = i;
		else if (automatic)
			return 0;
	}
	const char *need = "it needs pairs of class scores [1,N,C] and distance bins [1,N,4*(R+1)], one pair per stride";
	if (n < 2 || n % 2) {
		snprintf(why, whylen, "%s", need);
		return 0;
	}
	/* The two channel widths: every pair must have one of each. */
	int wa = nd_width(d->outs[idx[0]]), wb = -1;
	for (int i = 1; i < n; i++) {
		int w = nd_width(d->outs[idx[i]]);
		if (w != wa) {
			if (wb >= 0 && w != wb)
				wb = -2;
			else if (wb != -2)
				wb = w;
		}
	}
	if (wb < 0) {
		snprintf(why, whylen, "%s", need);
		return 0;
	}
	int dist_w;
	int a_ok = wa % 4 == 0 && wa / 4 - 1 >= 1 && wa / 4 - 1 <= 64;
	int b_ok = wb % 4 == 0 && wb / 4 - 1 >= 1 && wb / 4 - 1 <= 64;
	if (d->cfg.reg_max > 0)
		dist_w = 4 * (d->cfg.reg_max + 1);
	else if (a_ok != b_ok)
		dist_w = a_ok ? wa : wb;
	else if (!a_ok)
		dist_w = -1;
	else if (wa == 44 || wa == 32 || wb == 44 || wb == 32) /* NanoDet's own reg_max of 10 and 7 */
		dist_w = (wa == 44 || wa == 32) ? wa : wb;
	else
		dist_w = wa < wb ? wa : wb;
	if (dist_w != wa && dist_w != wb) {
		snprintf(why, whylen, "%s; neither width (%d, %d) is 4*(reg_max+1)%s", need, wa, wb,
			 d->cfg.reg_max > 0 ? " for the configured reg_max" : "");
		return 0;
	}
	int cls_w = dist_w == wa ? wb : wa;
	d->n_levels = 0;
	for (int i = 0; i < n; i++) {
		const nn_tensor *t = d->outs[idx[i]];
		if (nd_width(t) != cls_w)
			continue;
		int partner = -1;
		for (int j = 0; j < n; j++) {
			const nn_tensor *u = d->outs[idx[j]];
			if (nd_width(u) == dist_w && nd_rows(u) == nd_rows(t)) {
				if (partner >= 0) {
					snprintf(why, whylen, "%s; two distance tensors have %d anchors", need,
						 nd_rows(t));
					return 0;
				}
				partner = idx[j];
			}
		}
		int gw, gh, s = stride_for_cells(d->in_w, d->in_h, nd_rows(t), &gw, &gh);
		if (partner < 0 || !s) {
			snprintf(why, whylen, "%s; %d anchors %s", need, nd_rows(t),
				 partner < 0 ? "have no distance tensor" : "fit no stride of the input");
			return 0;
		}
		d->level[d->n_levels].scores = idx[i];
		d->level[d->n_levels].dist = partner;
		d->level[d->n_levels].width = gw;
		d->level[d->n_levels].height = gh;
		d->level[d->n_levels].stride = (float)s;
		d->n_levels++;
	}
	if (d->n_levels * 2 != n) {
		snprintf(why, whylen, "%s", need);
		return 0;
	}
	/* Finest stride first, as NanoDet orders its levels. */
	for (int i = 1; i < d->n_levels; i++)
		for (int j = i; j > 0 && d->level[j].stride < d->level[j - 1].stride; j--) {
			nanodet_level tmp = d->level[j];
			d->level[j] = d->level[j - 1];
			d->level[j - 1] = tmp;
		}
	d->num_classes = cls_w;
	d->reg_max = dist_w / 4 - 1;
	char strides[64] = "";
	size_t m = 0;
	for (int i = 0; i < d->n_levels && m < sizeof strides; i++)
		m += (size_t)snprintf(strides + m, sizeof strides - m, "%s%g", i ? ", " : "", (double)d->level[i].stride);
	snprintf(d->reason, sizeof d->reason,
		 "%d outputs pair class scores [1,N,%d] with box distributions [1,N,%d] (4 sides x %d bins) for "
		 "strides %s of a %dx%d input: NanoDet's generalized-focal-loss head",
		 n, cls_w, dist_w, d->reg_max + 1, strides, d->in_w, d->in_h);
	return 1;
}

/* BlazeFace: score [1,n,1] and box [1,n,coords] outputs whose counts are those of the anchor grids. */
static int bind_blazeface(vg_detector *d, int automatic, char *why, size_t whylen)
{
	vg_anchor_config ac;
	if (d->cfg.has_anchors) {
		ac = d->cfg.anchors;
	} else {
		/* MediaPipe's BlazeFace: strides input/16 then 3x input/8, two anchors per layer. */
		memset(&ac, 0, sizeof ac);
		vg_anchor_config_mediapipe(&ac);
		ac.n_layers = 4;
		ac.strides[0] = d->in_w / 16;
		ac.strides[1] = ac.strides[2] = ac.strides[3] = d->in_w / 8;
		if (d->in_w != d->in_h || d->in_w < 16) {
			snprintf(why, whylen, "its input is not square; give the anchors in a sidecar");
			return 0;
		}
	}
	ac.input_w = d->in_w;
	ac.input_h = d->in_h;
	int counts[MAX_LEVELS], strides[MAX_LEVELS];
	int grids = vg_anchors_grids(&ac, counts, strides, MAX_LEVELS);
	if (grids < 1 || grids > MAX_LEVELS) {
		snprintf(why, whylen, "the anchor configuration is invalid");
		return 0;
	}
	int total = 0;
	for (int g = 0; g < grids; g++)
		total += counts[g];
	int n_out = d->n_outs;
	int used[64] = { 0 };
	/* A score output of n anchors and a box output of n anchors, not yet used. */
	int coords = -1;
	d->n_parts = 0;
	for (int pass = 0; pass < 2 && d->n_parts == 0; pass++) {
		/* First one pair per grid, then one pair for all anchors concatenated. */
		int parts = pass == 0 ? grids : 1;
		memset(used, 0, sizeof used);
		coords = -1;
		int ok = 1;
		for (int p = 0; p < parts && ok; p++) {
			int want = pass == 0 ? counts[p] : total, s = -1, b = -1;
			for (int i = 0; i < n_out && i < 64; i++) {
				const nn_tensor *t = d->outs[i];
				if (used[i] || t->shape[0] != 1 || t->rank < 2 || t->shape[1] != want)
					continue;
				int w = t->rank == 2 ? 1 : t->rank == 3 ? t->shape[2] : 0;
				if (w == 1 && s < 0)
					s = i;
				else if (w >= 4 && b < 0 && (coords < 0 || w == coords))
					b = i;
			}
			if (s < 0 || b < 0) {
				ok = 0;
				break;
			}
			used[s] = used[b] = 1;
			coords = d->outs[b]->shape[2];
			d->part_scores[p] = s;
			d->part_boxes[p] = b;
			d->part_count[p] = want;
		}
		if (ok)
			d->n_parts = parts;
	}
	if (d->n_parts == 0) {
		/* Last, one output [1,N,1+coords] with the score first (MediaPipe's palm detector as TF.js has it). */
		memset(used, 0, sizeof used);
		for (int i = 0; i < n_out && i < 64 && !d->n_parts; i++) {
			const nn_tensor *t = d->outs[i];
			if (t->rank == 3 && t->shape[0] == 1 && t->shape[1] == total && t->shape[2] >= 5) {
				d->n_parts = 1;
				d->combined = 1;
				d->part_scores[0] = d->part_boxes[0] = i;
				d->part_count[0] = total;
				coords = t->shape[2] - 1;
				used[i] = 1;
			}
		}
	}
	int all_used = 1;
	for (int i = 0; i < n_out && i < 64; i++)
		all_used &= used[i];
	int kp = d->cfg.keypoints >= 0 ? d->cfg.keypoints : 6;
	if (d->n_parts && (coords - 4) / 2 < kp)
		kp = (coords - 4) / 2;
	if (!d->n_parts || (automatic && (!all_used || n_out > 64 || coords != 4 + 2 * kp))) {
		snprintf(why, whylen,
			 "it needs scores [1,N,1] and boxes [1,N,4+2K] for the %d anchors of the grids (%d per grid %s), "
			 "one pair for all, or one [1,N,1+4+2K]",
			 total, counts[0], grids > 1 ? "first" : "");
		d->n_parts = 0;
		d->combined = 0;
		return 0;
	}
	d->anchors = malloc((size_t)total * 4 * sizeof(float));
	d->bf_boxes = malloc((size_t)total * (size_t)coords * sizeof(float));
	d->bf_scores = malloc((size_t)total * sizeof(float));
	if (!d->anchors || !d->bf_boxes || !d->bf_scores) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	vg_anchors_generate(&ac, d->anchors, total);
	d->bf = (vg_blazeface_params){
		.anchors = d->anchors,
		.n = total,
		.coords = coords,
		.num_keypoints = kp,
		.x_scale = d->cfg.has_box_scale ? d->cfg.box_scale[0] : (float)d->in_w,
		.y_scale = d->cfg.has_box_scale ? d->cfg.box_scale[1] : (float)d->in_h,
		.w_scale = d->cfg.has_box_scale ? d->cfg.box_scale[2] : (float)d->in_w,
		.h_scale = d->cfg.has_box_scale ? d->cfg.box_scale[3] : (float)d->in_h,
		.score_clip = d->cfg.score_clip > 0 ? d->cfg.score_clip : 100,
	};
	char parts[256] = "", grid_desc[128] = "";
	size_t m = 0;
	for (int p = 0; p < d->n_parts && m < sizeof parts; p++) {
		if (d->combined)
			m += (size_t)snprintf(parts + m, sizeof parts - m, "[1,%d,1+%d]", total, coords);
		else
			m += (size_t)snprintf(parts + m, sizeof parts - m, "%s[1,%d,1]+[1,%d,%d]", p ? ", " : "",
					      d->part_count[p], d->part_count[p], coords);
	}
	m = 0;
	for (int g = 0; g < grids && m < sizeof grid_desc; g++)
		m += (size_t)snprintf(grid_desc + m, sizeof grid_desc - m, "%s%d (%d anchors)", g ? ", " : "",
				      strides[g], counts[g]);
	if (d->cfg.known_as[0])
		snprintf(d->reason, sizeof d->reason,
			 "%s: scores and boxes %s fit its %d SSD anchors (MediaPipe's SsdAnchorsCalculator at %dx%d, "
			 "strides %s); box + %d keypoints per anchor, regressed in input pixels",
			 d->cfg.known_as, parts, total, d->in_w, d->in_h, grid_desc, kp);
	else
		snprintf(d->reason, sizeof d->reason,
			 "scores and boxes %s fit %d SSD anchors laid out as MediaPipe does for BlazeFace at %dx%d, "
			 "strides %s; box + %d keypoints per anchor",
			 parts, total, d->in_w, d->in_h, grid_desc, kp);
	return 1;
}

/*
 * Caffe SSD on PriorBox priors: two outputs, the locations (4 values per
 * prior) and the confidences (C per prior), told apart by their sizes; when
 * C is 4 too, by their names ("loc", "conf"), else in Caffe's order.
 */
static int bind_ssd_priorbox(vg_detector *d, char *why, size_t whylen)
{
	if (!d->cfg.has_priors) {
		snprintf(why, whylen, "it needs PriorBox layers: the sidecar's \"priors\" (see model_config.h)");
		return 0;
	}
	vg_prior_config pc = d->cfg.priors;
	char perr[200];
	int n = vg_priors_generate(&pc, d->in_w, d->in_h, NULL, 0, perr, sizeof perr);
	if (n < 1) {
		snprintf(why, whylen, "%s", n < 0 ? perr : "the prior layers make no priors");
		return 0;
	}
	if (d->n_outs != 2) {
		snprintf(why, whylen, "it needs 2 outputs (locations and confidences), the model has %d", d->n_outs);
		return 0;
	}
	int64_t e0 = nn_tensor_elements(d->outs[0]), e1 = nn_tensor_elements(d->outs[1]);
	int loc = -1;
	if (e0 == 4L * n && e1 == 4L * n)
		loc = name_has(d->outs[1], "loc") || name_has(d->outs[0], "conf") ? 1 : 0;
	else if (e0 == 4L * n)
		loc = 0;
	else if (e1 == 4L * n)
		loc = 1;
	int64_t ec = loc < 0 ? 0 : loc ? e0 : e1;
	if (loc < 0 || ec % n || ec / n < 2 || ec > (1L << 30)) {
		char s0[160], s1[160];
		snprintf(why, whylen,
			 "its %d priors need locations of %d values and confidences of %d x classes values; the outputs "
			 "are %s and %s",
			 n, 4 * n, n, vg_det_out_desc(d, 0, s0, sizeof s0), vg_det_out_desc(d, 1, s1, sizeof s1));
		return 0;
	}
	free(d->anchors);
	d->anchors = malloc((size_t)n * 4 * sizeof(float));
	if (!d->anchors) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	vg_priors_generate(&pc, d->in_w, d->in_h, d->anchors, n, NULL, 0);
	d->n_priors = n;
	d->out_boxes = loc;
	d->out_scores = 1 - loc;
	d->num_classes = (int)(ec / n);
	char s0[160], s1[160];
	snprintf(d->reason, sizeof d->reason,
		 "%s%slocations %s and confidences %s (%d classes with the background) fit the %d priors of %d "
		 "PriorBox layers at %dx%d: Caffe SSD, decoded as its DetectionOutput does",
		 d->cfg.known_as[0] ? d->cfg.known_as : "", d->cfg.known_as[0] ? ": " : "",
		 vg_det_out_desc(d, loc, s0, sizeof s0), vg_det_out_desc(d, 1 - loc, s1, sizeof s1), d->num_classes, n,
		 pc.n_layers, d->in_w, d->in_h);
	return 1;
}

static int bind(vg_detector *d, vg_decoder_kind kind, int automatic, char *why, size_t whylen)
{
	why[0] = '\0';
	switch (kind) {
	case VG_DECODER_POSTPROCESSED: return bind_postprocessed(d, why, whylen);
	case VG_DECODER_CLASSIFIER: return bind_classifier(d, why, whylen);
	case VG_DECODER_MOVENET: return bind_movenet(d, automatic, why, whylen);
	case VG_DECODER_CENTERNET: return bind_centernet(d, automatic, why, whylen);
	case VG_DECODER_CENTERNET_RAW: return bind_centernet_raw(d, why, whylen);
	case VG_DECODER_NANODET: return bind_nanodet(d, automatic, why, whylen);
	case VG_DECODER_BLAZEFACE: return bind_blazeface(d, automatic, why, whylen);
	case VG_DECODER_SSD_PRIORBOX: return bind_ssd_priorbox(d, why, whylen);
	case VG_DECODER_YOLOX:
	case VG_DECODER_YOLOV5:
	case VG_DECODER_YOLOV8:
	case VG_DECODER_FASTESTV2:
	case VG_DECODER_ULTRAFACE:
	case VG_DECODER_SSD_ANCHORS:
	case VG_DECODER_NMS_ROWS: return vg_det_bind_yolo(d, kind, automatic, why, whylen);
	case VG_DECODER_SEGMENTATION:
		return vg_segment_bind(d->outs, d->n_outs, d->in_w, d->in_h, automatic, &d->seg, d->reason,
				       sizeof d->reason, why, whylen);
	case VG_DECODER_AUTO: break;
	}
	return 0;
}

int vg_det_choose(vg_detector *d, char *err, size_t errlen)
{
	const char *want = d->opt.decoder && strcmp(d->opt.decoder, "auto") != 0 ? d->opt.decoder : NULL;
	const char *named_by = "--decoder";
	if (!want && d->cfg.decoder[0]) {
		want = d->cfg.decoder;
		named_by = d->cfg.origin[0] ? d->cfg.origin : "the model's settings";
	}
	char why[256];
	if (want) {
		vg_decoder_kind kind;
		if (vg_decoder_from_name(want, &kind) < 0) {
			snprintf(err, errlen, "unknown decoder '%s' (known: %s)", want, vg_decoder_names);
			return -1;
		}
		if (kind != VG_DECODER_AUTO) {
			d->kind = kind;
			int ok = bind(d, kind, 0, why, sizeof why);
			if (ok <= 0) {
				snprintf(err, errlen,
					 "%s: the model's outputs do not fit the '%s' decoder named by %s: %s",
					 d->opt.model, want, named_by, why);
				return -1;
			}
			size_t n = strlen(d->reason);
			snprintf(d->reason + n, sizeof d->reason - n, "; named by %s", named_by);
			return 0;
		}
	}
	/* Most specific first: BlazeFace's anchor counts are exact, NanoDet's grids only have to fit a stride. */
	static const vg_decoder_kind order[] = {
		VG_DECODER_SSD_PRIORBOX, VG_DECODER_POSTPROCESSED, VG_DECODER_MOVENET,   VG_DECODER_CENTERNET,
		VG_DECODER_BLAZEFACE,    VG_DECODER_FASTESTV2,     VG_DECODER_ULTRAFACE, VG_DECODER_SSD_ANCHORS,
		VG_DECODER_YOLOX,        VG_DECODER_YOLOV5,        VG_DECODER_YOLOV8,    VG_DECODER_NMS_ROWS,
		VG_DECODER_NANODET,      VG_DECODER_SEGMENTATION,  VG_DECODER_CLASSIFIER,
	};
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
		/* PriorBox priors come only from settings: without them the outputs say nothing of this decoder. */
		if (order[i] == VG_DECODER_SSD_PRIORBOX && !d->cfg.has_priors)
			continue;
		d->kind = order[i];
		int ok = bind(d, order[i], 1, why, sizeof why);
		if (ok < 0) {
			snprintf(err, errlen, "%s: %s", d->opt.model, why);
			return -1;
		}
		if (ok)
			return 0;
	}
	d->kind = VG_DECODER_AUTO;
	char shapes[512] = "";
	size_t n = 0;
	for (int i = 0; i < d->n_outs && n < sizeof shapes - 64; i++) {
		char s[128];
		nn_tensor_shape_str(d->outs[i], s, sizeof s);
		n += (size_t)snprintf(shapes + n, sizeof shapes - n, "%s%s", i ? ", " : "", s);
	}
	snprintf(err, errlen, "%s: cannot tell how to decode outputs %s; pass --decoder (%s)", d->opt.model, shapes,
		 vg_decoder_names);
	return -1;
}

vg_detector *vg_det_detached(const nn_tensor *outputs, int n_outputs, int in_w, int in_h, const vg_model_config *cfg,
			     const char *decoder, const char *name, char *err, size_t errlen)
{
	vg_detector *d = calloc(1, sizeof *d);
	if (!d || !(d->outs = calloc((size_t)(n_outputs > 0 ? n_outputs : 1), sizeof *d->outs)) ||
	    !(d->candidates = malloc(VG_MAX_DETECTIONS * sizeof *d->candidates))) {
		if (d)
			free(d->outs);
		free(d);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (int i = 0; i < n_outputs; i++)
		d->outs[i] = &outputs[i];
	d->n_outs = n_outputs;
	d->in_w = in_w;
	d->in_h = in_h;
	d->opt.model = name;
	d->opt.decoder = decoder;
	vg_model_config_init(&d->cfg);
	if (cfg) {
		/* Only the decoder-related fields are read; labels stay with the caller. */
		d->cfg = *cfg;
		d->cfg.labels_path = NULL;
		d->cfg.label_names = NULL;
		d->cfg.n_labels = 0;
	}
	return d;
}

void vg_det_detached_free(vg_detector *d)
{
	if (!d)
		return;
	free(d->candidates);
	free(d->anchors);
	free(d->bf_boxes);
	free(d->bf_scores);
	free(d->yolo.priors);
	free(d->outs);
	free(d);
}

int vg_decoder_choose(const nn_tensor *outputs, int n_outputs, int in_w, int in_h, const vg_model_config *cfg,
		      const char *decoder, vg_decoder_kind *kind, char *reason, size_t reasonlen, char *err,
		      size_t errlen)
{
	vg_detector *d = vg_det_detached(outputs, n_outputs, in_w, in_h, cfg, decoder, "model", err, errlen);
	if (!d)
		return -1;
	int rc = vg_det_choose(d, err, errlen);
	*kind = d->kind;
	snprintf(reason, reasonlen, "%s", d->reason);
	vg_det_detached_free(d);
	return rc;
}
