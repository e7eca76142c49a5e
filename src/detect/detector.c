#include "detect/detector.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "detect/decode.h"
#include "detect/keypoints.h"
#include "detect/labels.h"
#include "detect/model_config.h"
#include "detect/segment.h"
#include "nn/nn.h"

#define MAX_CLASS_FILTER 256
#define MAX_LEVELS 8
#define MAX_STATE 8

/* A CenterNet-style output of more rows than this is something else (YOLO heads have thousands). */
#define CENTERNET_MAX_ROWS 1000

/* One NanoDet level: its two outputs and its grid. */
typedef struct nanodet_level {
	int scores, dist, width, height;
	float stride;
} nanodet_level;

struct vg_detector {
	vg_detector_options opt;
	nn_model *model;
	const nn_tensor **outs;       /* the model's outputs */
	int n_outs;
	vg_preprocess *pre;
	vg_preprocess_config pre_cfg; /* as resolved from options, sidecar and built-in defaults */
	vg_model_config cfg;          /* sidecar over built-in defaults */
	char cfg_note[256];           /* why built-in defaults were not used, if so */
	vg_labels labels;
	char labels_from[96];
	vg_decoder_kind kind;
	char reason[512];
	char summary[1024];
	int in_w, in_h;
	float threshold, iou;
	int per_class_nms, weighted_nms, top_k;
	/* Output tensor indices bound by the decoder. */
	int out_boxes, out_classes, out_scores, out_count; /* postprocessed, classifier */
	int out_dets;                                       /* centernet; movenet's keypoints */
	int n_pose_keypoints;                               /* movenet */
	int out_heat, out_wh;                               /* centernet-raw */
	float center_offset;
	int n_levels;                                       /* nanodet */
	nanodet_level level[MAX_LEVELS];
	int num_classes, reg_max;
	int n_parts;                                        /* blazeface: one score and box output per part */
	int combined;                                       /* ...or one output, the score before the box */
	int part_scores[MAX_LEVELS], part_boxes[MAX_LEVELS], part_count[MAX_LEVELS];
	vg_blazeface_params bf;
	int n_priors;                                       /* ssd-priorbox: priors in d->anchors */
	vg_detection_output_params dout;
	float *anchors, *bf_boxes, *bf_scores;
	/* Dequantized copies of quantized outputs, per output. */
	float **scratch;
	int n_scratch;
	int n_keep;
	int keep[MAX_CLASS_FILTER];
	vg_detection *candidates;
	/* Recurrent state: inputs fed from outputs of the previous run (an LSTM's c and h). */
	int n_state;
	nn_tensor *state_in[MAX_STATE];
	const nn_tensor *state_out[MAX_STATE];
	int state_fresh;                                    /* the state was reset and not yet run */
	char state_desc[512];
	vg_seg_binding seg;                                 /* segmentation */
	vg_seg_mask mask;
};

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
	{ "segmentation", VG_DECODER_SEGMENTATION },
};

const char vg_decoder_names[] =
	"auto, postprocessed, classifier, movenet, centernet, centernet-raw, nanodet, blazeface, ssd-priorbox, segmentation";

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

static void shape_str(const nn_tensor *t, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "%s[", nn_dtype_name(t->dtype));
	for (int i = 0; i < t->rank && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%d", i ? "," : "", t->shape[i]);
	if (n < len)
		snprintf(buf + n, len - n, "]");
}

/* "'name' [1,100,6]" for messages. */
static const char *out_desc(const vg_detector *d, int i, char *buf, size_t len)
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
	/* The op names its outputs ":0" boxes, ":1" classes, ":2" scores, ":3" count; otherwise keep that order. */
	int classes = pair[0], scores = pair[1];
	if (ends_with(d->outs[pair[0]]->name, ":2") ||
	    ends_with(d->outs[pair[1]]->name, ":1")) {
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
		 found, out_desc(d, found, s, sizeof s), d->n_pose_keypoints,
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
		 found, out_desc(d, found, s, sizeof s), rows);
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
		 out_desc(d, heat, s1, sizeof s1), out_desc(d, box, s2, sizeof s2), (double)d->in_w / h->shape[2]);
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

/*
 * NanoDet: outputs pairing up by anchor count N, each pair a class-score
 * tensor [1,N,C] and a distance-bin tensor [1,N,4*(R+1)], one pair per stride.
 */
static int bind_nanodet(vg_detector *d, int automatic, char *why, size_t whylen)
{
	int n_out = d->n_outs;
	int idx[2 * MAX_LEVELS], n = 0;
	for (int i = 0; i < n_out; i++) {
		const nn_tensor *t = d->outs[i];
		if (t->rank == 3 && t->shape[0] == 1 && t->shape[1] > 0 && t->shape[2] > 0 && n < 2 * MAX_LEVELS)
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
	int wa = d->outs[idx[0]]->shape[2], wb = -1;
	for (int i = 1; i < n; i++) {
		int w = d->outs[idx[i]]->shape[2];
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
		if (t->shape[2] != cls_w)
			continue;
		int partner = -1;
		for (int j = 0; j < n; j++) {
			const nn_tensor *u = d->outs[idx[j]];
			if (u->shape[2] == dist_w && u->shape[1] == t->shape[1]) {
				if (partner >= 0) {
					snprintf(why, whylen, "%s; two distance tensors have %d anchors", need,
						 t->shape[1]);
					return 0;
				}
				partner = idx[j];
			}
		}
		int gw, gh, s = stride_for_cells(d->in_w, d->in_h, t->shape[1], &gw, &gh);
		if (partner < 0 || !s) {
			snprintf(why, whylen, "%s; %d anchors %s", need, t->shape[1],
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
			 n, 4 * n, n, out_desc(d, 0, s0, sizeof s0), out_desc(d, 1, s1, sizeof s1));
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
		 out_desc(d, loc, s0, sizeof s0), out_desc(d, 1 - loc, s1, sizeof s1), d->num_classes, n,
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
	case VG_DECODER_SEGMENTATION:
		return vg_segment_bind(d->outs, d->n_outs, d->in_w, d->in_h, automatic, &d->seg, d->reason,
				       sizeof d->reason, why, whylen);
	case VG_DECODER_AUTO: break;
	}
	return 0;
}

static int choose_decoder(vg_detector *d, char *err, size_t errlen)
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
	static const vg_decoder_kind order[] = { VG_DECODER_SSD_PRIORBOX, VG_DECODER_POSTPROCESSED, VG_DECODER_MOVENET,
						 VG_DECODER_CENTERNET,    VG_DECODER_BLAZEFACE,      VG_DECODER_NANODET,
						 VG_DECODER_SEGMENTATION, VG_DECODER_CLASSIFIER };
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
		shape_str(d->outs[i], s, sizeof s);
		n += (size_t)snprintf(shapes + n, sizeof shapes - n, "%s%s", i ? ", " : "", s);
	}
	snprintf(err, errlen, "%s: cannot tell how to decode outputs %s; pass --decoder (%s)", d->opt.model, shapes,
		 vg_decoder_names);
	return -1;
}

int vg_decoder_choose(const nn_tensor *outputs, int n_outputs, int in_w, int in_h, const vg_model_config *cfg,
		      const char *decoder, vg_decoder_kind *kind, char *reason, size_t reasonlen, char *err,
		      size_t errlen)
{
	vg_detector *d = calloc(1, sizeof *d);
	if (!d || !(d->outs = calloc((size_t)(n_outputs > 0 ? n_outputs : 1), sizeof *d->outs))) {
		free(d);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < n_outputs; i++)
		d->outs[i] = &outputs[i];
	d->n_outs = n_outputs;
	d->in_w = in_w;
	d->in_h = in_h;
	d->opt.model = "model";
	d->opt.decoder = decoder;
	vg_model_config_init(&d->cfg);
	if (cfg) {
		/* Only the decoder-related fields are read; labels stay with the caller. */
		d->cfg = *cfg;
		d->cfg.labels_path = NULL;
		d->cfg.label_names = NULL;
		d->cfg.n_labels = 0;
	}
	int rc = choose_decoder(d, err, errlen);
	*kind = d->kind;
	snprintf(reason, reasonlen, "%s", d->reason);
	free(d->anchors);
	free(d->bf_boxes);
	free(d->bf_scores);
	free(d->outs);
	free(d);
	return rc;
}

/* A tensor name's last path component, without an "init_" prefix: "raw_inputs/init_lstm_c" is "lstm_c". */
static const char *state_key(const char *name, size_t *len)
{
	const char *slash = name ? strrchr(name, '/') : NULL;
	const char *b = slash ? slash + 1 : name ? name : "";
	if (!strncmp(b, "init_", 5))
		b += 5;
	const char *colon = strchr(b, ':');
	*len = colon ? (size_t)(colon - b) : strlen(b);
	return b;
}

static int same_layout(const nn_tensor *a, const nn_tensor *b)
{
	if (a->dtype != b->dtype || a->rank != b->rank)
		return 0;
	for (int i = 0; i < a->rank; i++)
		if (a->shape[i] != b->shape[i])
			return 0;
	return 1;
}

/*
 * Inputs beyond the image are a video model's state: each must match an
 * output by shape and type (by name too, when names tell pairs apart), which
 * is fed back as that input on the next frame. The matched outputs are taken
 * out of the outputs the decoders see.
 */
static int bind_state(vg_detector *d, char *err, size_t errlen)
{
	int n_in = nn_model_input_count(d->model);
	int taken[64] = { 0 };
	size_t m = 0;
	for (int i = 1; i < n_in; i++) {
		nn_tensor *in = nn_model_input(d->model, i);
		size_t kl, ol;
		const char *key = state_key(in->name, &kl);
		int match = -1, candidates = 0, last = -1;
		for (int o = 0; o < d->n_outs && o < 64; o++) {
			if (taken[o] || !same_layout(in, d->outs[o]))
				continue;
			candidates++;
			last = o;
			const char *ok = state_key(d->outs[o]->name, &ol);
			if (match < 0 && kl && ol == kl && !strncmp(ok, key, kl))
				match = o;
		}
		if (match < 0 && candidates == 1)
			match = last;
		if (match < 0 || d->n_state == MAX_STATE) {
			char s[128];
			shape_str(in, s, sizeof s);
			snprintf(err, errlen,
				 "%s: input %d '%s' %s is not the image, and %s, so it cannot be carried as state",
				 d->opt.model, i, in->name ? in->name : "?", s,
				 candidates ? "several outputs of its shape and type could feed it and none by name"
					    : "no output of its shape and type feeds it back");
			return -1;
		}
		if (in->quant.count && d->outs[match]->quant.count &&
		    (in->quant.scale[0] != d->outs[match]->quant.scale[0] ||
		     (in->quant.zero_point ? in->quant.zero_point[0] : 0) !=
			     (d->outs[match]->quant.zero_point ? d->outs[match]->quant.zero_point[0] : 0))) {
			snprintf(err, errlen, "%s: state input '%s' and output '%s' are quantized differently",
				 d->opt.model, in->name ? in->name : "?", d->outs[match]->name ? d->outs[match]->name : "?");
			return -1;
		}
		taken[match] = 1;
		d->state_in[d->n_state] = in;
		d->state_out[d->n_state] = d->outs[match];
		d->n_state++;
		char s[128];
		shape_str(in, s, sizeof s);
		if (m < sizeof d->state_desc)
			m += (size_t)snprintf(d->state_desc + m, sizeof d->state_desc - m, "%s'%s' -> '%s' %s",
					      m ? "; " : "", d->outs[match]->name ? d->outs[match]->name : "?",
					      in->name ? in->name : "?", s);
	}
	if (!d->n_state)
		return 0;
	/* The decoders see only the other outputs. */
	int k = 0;
	for (int o = 0; o < d->n_outs; o++)
		if (o >= 64 || !taken[o])
			d->outs[k++] = d->outs[o];
	d->n_outs = k;
	vg_detector_reset_state(d);
	return 0;
}

void vg_detector_reset_state(vg_detector *d)
{
	/* The state starts at real zero: the quantized zero point, or 0.0. */
	for (int i = 0; i < d->n_state; i++) {
		nn_tensor *t = d->state_in[i];
		size_t n = nn_tensor_bytes(t);
		int32_t zp = t->quant.count && t->quant.zero_point ? t->quant.zero_point[0] : 0;
		if (t->dtype == NN_U8 || t->dtype == NN_I8)
			memset(t->data, (int)(uint8_t)zp, n);
		else
			memset(t->data, 0, n);
	}
	d->state_fresh = 1;
}

int vg_detector_state_count(const vg_detector *d)
{
	return d->n_state;
}

const char *vg_detector_state_summary(const vg_detector *d)
{
	return d->state_desc;
}

/* After a run: each state output becomes its input for the next frame, unless the user turned state off. */
static void carry_state(vg_detector *d)
{
	if (d->opt.no_state) {
		vg_detector_reset_state(d);
		return;
	}
	for (int i = 0; i < d->n_state; i++)
		memcpy(d->state_in[i]->data, d->state_out[i]->data, nn_tensor_bytes(d->state_in[i]));
	d->state_fresh = 0;
}

static int load_labels(vg_detector *d, char *err, size_t errlen)
{
	if (d->opt.labels) {
		snprintf(d->labels_from, sizeof d->labels_from, "--labels");
		return vg_labels_load(&d->labels, d->opt.labels, err, errlen);
	}
	if (d->cfg.labels_path) {
		snprintf(d->labels_from, sizeof d->labels_from, "the sidecar's file");
		return vg_labels_load(&d->labels, d->cfg.labels_path, err, errlen);
	}
	if (d->cfg.label_names || d->cfg.labels_coco80) {
		int coco = d->cfg.labels_coco80;
		snprintf(d->labels_from, sizeof d->labels_from, "%s",
			 coco ? "COCO-80, built in" : "listed in the settings");
		if (vg_labels_from_list(&d->labels, coco ? vg_coco80_labels : (const char *const *)d->cfg.label_names,
					coco ? VG_COCO80_COUNT : d->cfg.n_labels) < 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	}
	int n = 0;
	const char *const *names = nn_model_labels(d->model, &n);
	if ((!names || n == 0) && d->kind == VG_DECODER_MOVENET) {
		/* MoveNet finds people only; naming its class lets --classes person work under any file name. */
		static const char *const person[] = { "person" };
		snprintf(d->labels_from, sizeof d->labels_from, "MoveNet's, built in");
		if (vg_labels_from_list(&d->labels, person, 1) < 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	}
	if (!names || n == 0) {
		snprintf(d->labels_from, sizeof d->labels_from, "none");
		return 0;
	}
	snprintf(d->labels_from, sizeof d->labels_from, "packed in the model");
	/* Detection label maps start with a "???" background entry that class ids skip. */
	int skip = (d->kind == VG_DECODER_POSTPROCESSED && names[0] && !strcmp(names[0], "???")) ? 1 : 0;
	if (vg_labels_from_list(&d->labels, names + skip, n - skip) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int parse_class_filter(vg_detector *d, char *err, size_t errlen)
{
	if (!d->opt.classes)
		return 0;
	int n = vg_labels_parse_classes(&d->labels, d->opt.classes, "--classes", "this model",
					" (it has no labels; give ids or --labels)", d->keep, MAX_CLASS_FILTER, err, errlen);
	if (n < 0)
		return -1;
	d->n_keep = n;
	return 0;
}

int vg_detector_load_settings(vg_model_config *cfg, const vg_detector_options *opt, const nn_tensor *input,
			      const nn_tensor *const *outs, int n_outs, int n_state, char *note, size_t notelen,
			      char *err, size_t errlen)
{
	vg_model_config_init(cfg);
	if (!vg_model_config_builtin(cfg, opt->model, input, note, notelen))
		if (!vg_model_config_mediapipe(cfg, input, outs, n_outs))
			vg_model_config_automl_traffic(cfg, opt->model, input, n_state);
	const char *sidecar = opt->sidecar;
	char found[4096];
	if (sidecar && !strcmp(sidecar, "none"))
		return 0;
	if (!sidecar && vg_model_config_find_sidecar(opt->model, found, sizeof found))
		sidecar = found;
	if (!sidecar)
		return 0;
	vg_model_config side;
	if (vg_model_config_load(&side, sidecar, err, errlen) < 0)
		return -1;
	vg_model_config_overlay(cfg, &side);
	return 0;
}

static int load_model_config(vg_detector *d, char *err, size_t errlen)
{
	return vg_detector_load_settings(&d->cfg, &d->opt, nn_model_input(d->model, 0), d->outs, d->n_outs, d->n_state,
					 d->cfg_note, sizeof d->cfg_note, err, errlen);
}

void vg_detector_resolve_preprocess(const vg_detector_options *opt, const vg_model_config *c, const nn_tensor *in,
				    vg_preprocess_config *out)
{
	vg_preprocess_config p = opt->pre;
	if (c->has_layout)
		p.nchw = c->nchw;
	else
		p.nchw = in->rank == 4 && ((in->shape[1] == 3 && in->shape[3] != 3) ||
					   (in->shape[1] == 1 && in->shape[3] != 1 && in->shape[3] != 3));
	if (!opt->pre.bgr && c->has_color)
		p.bgr = c->bgr;
	if (!opt->resize_set && c->has_resize)
		p.resize = c->resize;
	if (c->has_pad)
		p.pad_value = c->pad_value;
	if (c->has_sampling)
		p.sampling = c->sampling;
	/* has_norm without the flags: a caller that fills mean and std itself. */
	int mean_set = opt->mean_set || (opt->pre.has_norm && !opt->std_set);
	int std_set = opt->std_set || (opt->pre.has_norm && !opt->mean_set);
	if (opt->pre.has_norm || c->has_mean || c->has_std) {
		for (int i = 0; i < 3; i++) {
			p.mean[i] = mean_set ? opt->pre.mean[i] : c->has_mean ? c->mean[i] : 127.5f;
			p.std[i] = std_set ? opt->pre.std[i] : c->has_std ? c->std[i] : 127.5f;
		}
		p.has_norm = 1;
	}
	*out = p;
}

float vg_detector_resolve_threshold(const vg_detector_options *opt, const vg_model_config *c, vg_decoder_kind kind)
{
	if (opt->threshold > 0)
		return opt->threshold;
	if (c->threshold > 0)
		return c->threshold;
	/* MoveNet's score is a mean over all 17 keypoints: people in view score about 0.3 to 0.75, empty rooms less. */
	return kind == VG_DECODER_CLASSIFIER ? 0.1f : kind == VG_DECODER_MOVENET ? 0.3f : 0.5f;
}

static void write_summary(vg_detector *d)
{
	const vg_preprocess_config *p = &d->pre_cfg;
	const nn_tensor *in = nn_model_input(d->model, 0);
	char norm[160];
	if (p->has_norm)
		snprintf(norm, sizeof norm, "(pixel - %g,%g,%g) / %g,%g,%g", (double)p->mean[0], (double)p->mean[1],
			 (double)p->mean[2], (double)p->std[0], (double)p->std[1], (double)p->std[2]);
	else if (in->dtype == NN_F32)
		snprintf(norm, sizeof norm, "(pixel - 127.5) / 127.5");
	else
		snprintf(norm, sizeof norm, "raw pixel values%s", in->dtype == NN_I8 ? " - 128" : "");
	char nms[64] = "none";
	if (d->kind == VG_DECODER_CENTERNET || d->kind == VG_DECODER_CENTERNET_RAW || d->kind == VG_DECODER_NANODET ||
	    d->kind == VG_DECODER_BLAZEFACE || d->kind == VG_DECODER_SSD_PRIORBOX) {
		if (d->iou > 0)
			snprintf(nms, sizeof nms, "%s, IoU %g",
				 d->weighted_nms ? "weighted" : d->per_class_nms ? "per class" : "across classes",
				 (double)d->iou);
	} else {
		snprintf(nms, sizeof nms, "%s",
			 d->kind == VG_DECODER_CLASSIFIER ? "n/a"
			 : d->kind == VG_DECODER_MOVENET  ? "n/a (one person)"
							  : "in the model");
	}
	snprintf(d->summary, sizeof d->summary,
		 "%s to %dx%d (%s sampling), %s, %s, %s; threshold %g; NMS %s; labels: %s (%d); settings: %s%s%s%s",
		 p->resize == VG_RESIZE_LETTERBOX ? "letterbox" : "stretch", d->in_w, d->in_h,
		 p->sampling == VG_SAMPLING_WARP ? "warp" : p->sampling == VG_SAMPLING_LINEAR ? "linear" : "swscale",
		 p->bgr ? "BGR" : "RGB",
		 p->nchw ? "NCHW" : "NHWC", norm, (double)d->threshold, nms, d->labels_from, d->labels.count,
		 d->opt.sidecar && !strcmp(d->opt.sidecar, "none") ? "sidecar disabled, " : "",
		 d->cfg.origin[0] ? d->cfg.origin : "options and generic defaults", d->cfg_note[0] ? "; " : "",
		 d->cfg_note);
}

static int alloc_scratch(vg_detector *d, char *err, size_t errlen)
{
	d->n_scratch = d->n_outs;
	d->scratch = calloc((size_t)(d->n_scratch > 0 ? d->n_scratch : 1), sizeof *d->scratch);
	if (!d->scratch)
		goto nomem;
	for (int i = 0; i < d->n_scratch; i++) {
		const nn_tensor *t = d->outs[i];
		if (t->dtype != NN_F32) {
			d->scratch[i] = malloc((size_t)nn_tensor_elements(t) * sizeof(float));
			if (!d->scratch[i])
				goto nomem;
		}
	}
	if (d->kind == VG_DECODER_SEGMENTATION) {
		if (d->seg.layout == VG_SEG_INDICES && d->labels.count > 0 && d->labels.count <= VG_SEG_MAX_CLASSES)
			d->seg.classes = d->labels.count;
		if (vg_seg_mask_init(&d->mask, (size_t)d->seg.width * (size_t)d->seg.height) < 0)
			goto nomem;
		d->mask.classes = d->seg.classes > 0 ? d->seg.classes : VG_SEG_MAX_CLASSES;
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

int vg_detector_create(vg_detector **out, const vg_detector_options *opt, char *err, size_t errlen)
{
	*out = NULL;
	vg_detector *d = calloc(1, sizeof *d);
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	d->opt = *opt;
	vg_model_config_init(&d->cfg);
	nn_load_options lo = { .input_w = opt->input_w, .input_h = opt->input_h };
	if (!lo.input_w && vg_model_config_input_size(opt->model, opt->sidecar, &lo.input_w, &lo.input_h, err, errlen) < 0)
		goto fail;
	if (nn_model_load_ex(&d->model, opt->model, &lo, err, errlen) < 0)
		goto fail;
	nn_prepare_options po = { .threads = opt->threads > 0 ? opt->threads : 1, .reference_only = opt->reference_only };
	if (nn_model_prepare(d->model, &po, err, errlen) < 0)
		goto fail;
	if (nn_model_input_count(d->model) < 1) {
		snprintf(err, errlen, "%s: the model has no input", opt->model);
		goto fail;
	}
	d->n_outs = nn_model_output_count(d->model);
	d->outs = calloc((size_t)(d->n_outs > 0 ? d->n_outs : 1), sizeof *d->outs);
	if (!d->outs) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (int i = 0; i < d->n_outs; i++)
		d->outs[i] = nn_model_output(d->model, i);
	if (bind_state(d, err, errlen) < 0)
		goto fail;
	if (load_model_config(d, err, errlen) < 0)
		goto fail;
	vg_detector_resolve_preprocess(&d->opt, &d->cfg, nn_model_input(d->model, 0), &d->pre_cfg);
	char why[256];
	if (vg_preprocess_create(&d->pre, nn_model_input(d->model, 0), &d->pre_cfg, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s: %s", opt->model, why);
		goto fail;
	}
	d->in_w = vg_preprocess_width(d->pre);
	d->in_h = vg_preprocess_height(d->pre);
	if (choose_decoder(d, err, errlen) < 0)
		goto fail;

	const vg_model_config *c = &d->cfg;
	d->threshold = vg_detector_resolve_threshold(opt, c, d->kind);
	d->opt.max_detections = opt->max_detections > 0 ? opt->max_detections
				: c->max_detections > 0 ? c->max_detections
							: 100;
	if (d->opt.max_detections > VG_MAX_DETECTIONS)
		d->opt.max_detections = VG_MAX_DETECTIONS;
	d->top_k = opt->top_k > 0		      ? opt->top_k
		   : c->top_k > 0		      ? c->top_k
		   : d->kind == VG_DECODER_CLASSIFIER    ? 5
		   : d->kind == VG_DECODER_SSD_PRIORBOX ? 400
							: 100;
	/* NMS: each decoder's usual kind and overlap unless the settings say otherwise. */
	vg_nms_kind nms = c->nms;
	float iou = c->iou;
	switch (d->kind) {
	case VG_DECODER_CENTERNET:
	case VG_DECODER_CENTERNET_RAW:
		if (nms == VG_NMS_DEFAULT)
			nms = VG_NMS_PER_CLASS;
		if (!(iou > 0))
			iou = 0.5f;
		break;
	case VG_DECODER_NANODET:
		if (nms == VG_NMS_DEFAULT)
			nms = VG_NMS_PER_CLASS;
		if (!(iou > 0))
			iou = 0.6f;
		break;
	case VG_DECODER_BLAZEFACE:
		if (nms == VG_NMS_DEFAULT)
			nms = VG_NMS_WEIGHTED;
		if (!(iou > 0))
			iou = 0.3f;
		break;
	case VG_DECODER_SSD_PRIORBOX:
		/* DetectionOutput suppresses within each class; Caffe's default overlap is 0.45 in SSD's deploy files. */
		if (nms == VG_NMS_DEFAULT)
			nms = VG_NMS_PER_CLASS;
		if (!(iou > 0))
			iou = 0.45f;
		break;
	default: break;
	}
	d->iou = nms == VG_NMS_NONE ? 0 : iou;
	d->per_class_nms = nms == VG_NMS_PER_CLASS;
	d->weighted_nms = nms == VG_NMS_WEIGHTED;
	d->center_offset = c->has_center_offset ? c->center_offset : d->kind == VG_DECODER_NANODET ? 0.5f : 0.0f;
	if (d->kind == VG_DECODER_BLAZEFACE) {
		d->bf.iou_threshold = nms == VG_NMS_NONE ? 1.0f : iou;
		d->bf.weighted = d->weighted_nms;
	}
	if (d->kind == VG_DECODER_SSD_PRIORBOX) {
		static const float caffe_variances[4] = { 0.1f, 0.1f, 0.2f, 0.2f };
		d->dout = (vg_detection_output_params){
			.num_classes = d->num_classes,
			.background_label_id = 0,
			/* No NMS is an overlap nothing exceeds. */
			.nms_threshold = nms == VG_NMS_NONE ? 1.0f : iou,
			.top_k = d->top_k,
			.keep_top_k = c->max_detections > 0 ? c->max_detections : 200,
		};
		memcpy(d->dout.variances, c->has_variances ? c->priors.variances : caffe_variances,
		       sizeof d->dout.variances);
	}

	if (load_labels(d, err, errlen) < 0 || parse_class_filter(d, err, errlen) < 0)
		goto fail;
	if (alloc_scratch(d, err, errlen) < 0)
		goto fail;
	d->candidates = malloc(VG_MAX_DETECTIONS * sizeof *d->candidates);
	if (!d->candidates) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	write_summary(d);
	*out = d;
	return 0;
fail:
	vg_detector_destroy(d);
	return -1;
}

/* An output as float values: itself, or dequantized into scratch. */
static const float *output_floats(vg_detector *d, int index)
{
	const nn_tensor *t = d->outs[index];
	if (t->dtype == NN_F32)
		return t->data;
	float *f = d->scratch[index];
	int64_t n = nn_tensor_elements(t);
	float scale = t->quant.count ? t->quant.scale[0] : 1.0f;
	int32_t zp = t->quant.count && t->quant.zero_point ? t->quant.zero_point[0] : 0;
	for (int64_t i = 0; i < n; i++) {
		int32_t q;
		switch (t->dtype) {
		case NN_U8: q = ((const uint8_t *)t->data)[i]; break;
		case NN_I8: q = ((const int8_t *)t->data)[i]; break;
		case NN_I32: q = ((const int32_t *)t->data)[i]; break;
		default: q = 0; break;
		}
		f[i] = scale * (float)(q - zp);
	}
	return f;
}

static int keep_class(const vg_detector *d, int class_id)
{
	if (d->n_keep == 0)
		return 1;
	for (int i = 0; i < d->n_keep; i++)
		if (d->keep[i] == class_id)
			return 1;
	return 0;
}

static int decode(vg_detector *d)
{
	vg_detection *cand = d->candidates;
	switch (d->kind) {
	case VG_DECODER_POSTPROCESSED: {
		const nn_tensor *boxes = d->outs[d->out_boxes];
		int rows = boxes->shape[1];
		int found = (int)output_floats(d, d->out_count)[0];
		if (found < rows && found >= 0)
			rows = found;
		return vg_decode_postprocessed(output_floats(d, d->out_boxes), output_floats(d, d->out_classes),
					       output_floats(d, d->out_scores), rows, d->threshold, cand,
					       VG_MAX_DETECTIONS);
	}
	case VG_DECODER_CLASSIFIER: {
		const nn_tensor *t = d->outs[d->out_scores];
		int k = d->top_k < VG_MAX_DETECTIONS ? d->top_k : VG_MAX_DETECTIONS;
		return vg_decode_top_k(output_floats(d, d->out_scores), t->shape[t->rank - 1], k, d->threshold, cand);
	}
	case VG_DECODER_MOVENET:
		return vg_decode_movenet(output_floats(d, d->out_dets), d->n_pose_keypoints, d->threshold,
					 VG_KEYPOINT_MIN_SCORE, cand);
	case VG_DECODER_CENTERNET: {
		const nn_tensor *t = d->outs[d->out_dets];
		return vg_decode_centernet(output_floats(d, d->out_dets), t->shape[1], (float)d->in_w, (float)d->in_h,
					   d->threshold, d->iou, d->per_class_nms, cand, VG_MAX_DETECTIONS);
	}
	case VG_DECODER_CENTERNET_RAW: {
		const nn_tensor *h = d->outs[d->out_heat];
		vg_centernet_params p = {
			.height = h->shape[1],
			.width = h->shape[2],
			.num_classes = h->shape[3],
			.in_w = (float)d->in_w,
			.in_h = (float)d->in_h,
			.center_offset = d->center_offset,
			.size_scale = 1,
			.top_k = d->top_k,
			.iou_threshold = d->iou,
			.per_class_nms = d->per_class_nms,
		};
		return vg_decode_centernet_raw(output_floats(d, d->out_heat), output_floats(d, d->out_wh), &p,
					       d->threshold, cand, VG_MAX_DETECTIONS);
	}
	case VG_DECODER_NANODET: {
		vg_nanodet_level lv[MAX_LEVELS];
		for (int i = 0; i < d->n_levels; i++) {
			lv[i] = (vg_nanodet_level){ .scores = output_floats(d, d->level[i].scores),
						    .dist = output_floats(d, d->level[i].dist),
						    .width = d->level[i].width,
						    .height = d->level[i].height,
						    .stride = d->level[i].stride };
		}
		vg_nanodet_params p = {
			.num_classes = d->num_classes,
			.reg_max = d->reg_max,
			.in_w = (float)d->in_w,
			.in_h = (float)d->in_h,
			.center_offset = d->center_offset,
			.iou_threshold = d->iou,
			.per_class_nms = d->per_class_nms,
		};
		return vg_decode_nanodet(lv, d->n_levels, &p, d->threshold, cand, VG_MAX_DETECTIONS);
	}
	case VG_DECODER_BLAZEFACE: {
		const float *boxes = output_floats(d, d->part_boxes[0]), *scores = output_floats(d, d->part_scores[0]);
		if (d->combined) {
			/* Score and box interleaved per anchor: split them. */
			size_t w = (size_t)d->bf.coords + 1;
			for (size_t i = 0; i < (size_t)d->bf.n; i++) {
				d->bf_scores[i] = boxes[i * w];
				memcpy(d->bf_boxes + i * (w - 1), boxes + i * w + 1, (w - 1) * sizeof(float));
			}
			boxes = d->bf_boxes;
			scores = d->bf_scores;
		} else if (d->n_parts > 1) {
			/* The grids' outputs concatenated in anchor order. */
			size_t at = 0;
			for (int p = 0; p < d->n_parts; p++) {
				size_t n = (size_t)d->part_count[p];
				memcpy(d->bf_boxes + at * (size_t)d->bf.coords, output_floats(d, d->part_boxes[p]),
				       n * (size_t)d->bf.coords * sizeof(float));
				memcpy(d->bf_scores + at, output_floats(d, d->part_scores[p]), n * sizeof(float));
				at += n;
			}
			boxes = d->bf_boxes;
			scores = d->bf_scores;
		}
		int n = vg_decode_blazeface(boxes, scores, &d->bf, d->threshold, cand, VG_MAX_DETECTIONS);
		const vg_keypoint_layout *layout = d->cfg.keypoint_layout;
		for (int i = 0; i < n; i++)
			cand[i].layout = layout && layout->count == cand[i].n_keypoints ? layout : NULL;
		return n;
	}
	case VG_DECODER_SSD_PRIORBOX:
		return vg_decode_ssd_priorbox(output_floats(d, d->out_boxes), output_floats(d, d->out_scores), d->anchors,
					      d->n_priors, &d->dout, d->threshold, cand, VG_MAX_DETECTIONS);
	case VG_DECODER_SEGMENTATION: {
		const nn_tensor *t = d->outs[d->seg.output];
		int x0, y0, x1, y1, ids = d->seg.layout == VG_SEG_INDICES && t->dtype != NN_F32;
		vg_segment_crop(d->pre, d->seg.width, d->seg.height, &x0, &y0, &x1, &y1);
		vg_segment_decode(&d->seg, ids ? NULL : output_floats(d, d->seg.output),
				  ids && t->dtype == NN_I64 ? t->data : NULL, ids && t->dtype == NN_I32 ? t->data : NULL,
				  x0, y0, x1, y1, &d->mask);
		return 0;
	}
	case VG_DECODER_AUTO: break;
	}
	return 0;
}

int vg_detector_run(vg_detector *d, const vg_frame *frame, vg_detection *out, int max, int64_t *pre_us,
		    int64_t *infer_us, int64_t *post_us, char *err, size_t errlen)
{
	int64_t t0 = vg_mono_us();
	nn_tensor *input = nn_model_input(d->model, 0);
	if (vg_preprocess_run(d->pre, frame, input) < 0) {
		snprintf(err, errlen, "cannot scale a %dx%d frame to the model's input", frame->width, frame->height);
		return -1;
	}
	int64_t t1 = vg_mono_us();
	if (nn_model_run(d->model, err, errlen) < 0)
		return -1;
	int64_t t2 = vg_mono_us();
	/* The decoders read only the other outputs, so the state can move on before them. */
	carry_state(d);

	int limit = max < d->opt.max_detections ? max : d->opt.max_detections;
	int n = decode(d);
	int kept = 0;
	for (int i = 0; i < n && kept < limit; i++) {
		vg_detection *c = &d->candidates[i];
		if (!keep_class(d, c->class_id))
			continue;
		if (!c->whole_frame) {
			vg_preprocess_map_box(d->pre, c);
			for (int k = 0; k < c->n_keypoints; k++)
				vg_preprocess_map_point(d->pre, &c->keypoints[k].x, &c->keypoints[k].y);
		}
		const char *name = vg_labels_get(&d->labels, c->class_id);
		if (name)
			snprintf(c->label, sizeof c->label, "%s", name);
		out[kept++] = *c;
	}
	int64_t t3 = vg_mono_us();
	if (pre_us)
		*pre_us = t1 - t0;
	if (infer_us)
		*infer_us = t2 - t1;
	if (post_us)
		*post_us = t3 - t2;
	return kept;
}

const char *vg_detector_decoder_name(const vg_detector *d)
{
	return vg_decoder_name(d->kind);
}

const char *vg_detector_decoder_reason(const vg_detector *d)
{
	return d->reason;
}

const char *vg_detector_config_summary(const vg_detector *d)
{
	return d->summary;
}

struct nn_model *vg_detector_model(vg_detector *d)
{
	return d->model;
}

const vg_labels *vg_detector_labels(const vg_detector *d)
{
	return &d->labels;
}

const vg_seg_mask *vg_detector_segmentation(const vg_detector *d)
{
	return d->kind == VG_DECODER_SEGMENTATION ? &d->mask : NULL;
}

void vg_detector_destroy(vg_detector *d)
{
	if (!d)
		return;
	vg_seg_mask_free(&d->mask);
	for (int i = 0; i < d->n_scratch; i++)
		free(d->scratch[i]);
	free(d->scratch);
	free(d->candidates);
	free(d->anchors);
	free(d->bf_boxes);
	free(d->bf_scores);
	free(d->outs);
	vg_labels_free(&d->labels);
	vg_model_config_free(&d->cfg);
	vg_preprocess_destroy(d->pre);
	if (d->model)
		nn_model_free(d->model);
	free(d);
}
