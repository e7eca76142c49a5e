/*
 * CLEAR-MOT after Bernardin and Stiefelhagen, "Evaluating Multiple Object
 * Tracking Performance: The CLEAR MOT Metrics", EURASIP JIVP 2008:
 *   - each frame, a correspondence of the previous frame is kept while its
 *     two boxes still overlap by the threshold; the remaining objects and
 *     hypotheses are matched by a minimum-cost assignment (most matches
 *     first, then the least total 1 - IoU);
 *   - a match whose hypothesis differs from the last one that object was
 *     matched to, in any earlier frame, is an identity switch (IDSW);
 *   - MOTA = 1 - (FN + FP + IDSW) / GT, with GT the number of object boxes;
 *     MOTP here is the mean IoU of the matches.
 * A fragmentation (Li et al., CVPR 2009, as MOTChallenge counts it) is an
 * object matched again after being unmatched at its previous appearance.
 *
 * IDF1 after Ristani, Solera, Zou, Cucchiara and Tomasi, "Performance
 * Measures and a Data Set for Multi-Target, Multi-Camera Tracking", ECCV
 * 2016 workshops: each ground-truth identity is paired with at most one
 * hypothesis identity, globally, over the whole sequence, by a bipartite
 * matching that maximises the number of frames in which the paired boxes
 * overlap by the threshold (IDTP). Then IDFN = GT - IDTP, IDFP = HYP - IDTP,
 * IDP = IDTP / HYP, IDR = IDTP / GT, IDF1 = 2 IDTP / (GT + HYP).
 */
#include "mot_metrics.h"

#include <stdlib.h>
#include <string.h>

#include "track/assign.h"

struct vg_mot_acc {
	double thr;
	int max_gt, max_hyp;
	int frame;
	long gt, hyp, matches, fn, fp, idsw, frag;
	double iou_sum;
	int *last_hyp;       /* per object: the hypothesis of its last match ever, -1 before */
	int *prev_hyp;       /* per object: its match in frame prev_frame[] */
	int *prev_frame;
	unsigned char *last_status; /* per object: matched at its previous appearance */
	unsigned char *gt_seen, *hyp_seen;
	int *co;             /* [max_gt][max_hyp]: frames in which the pair overlaps by the threshold */
};

static double box_iou(const vg_mot_box *a, const vg_mot_box *b)
{
	float iw = (a->x1 < b->x1 ? a->x1 : b->x1) - (a->x0 > b->x0 ? a->x0 : b->x0);
	float ih = (a->y1 < b->y1 ? a->y1 : b->y1) - (a->y0 > b->y0 ? a->y0 : b->y0);
	if (iw <= 0 || ih <= 0)
		return 0;
	double in = (double)iw * ih;
	double u = (double)(a->x1 - a->x0) * (a->y1 - a->y0) + (double)(b->x1 - b->x0) * (b->y1 - b->y0) - in;
	return u > 0 ? in / u : 0;
}

vg_mot_acc *vg_mot_create(double iou_threshold, int max_gt_ids, int max_hyp_ids)
{
	vg_mot_acc *a = calloc(1, sizeof *a);
	if (!a)
		return NULL;
	a->thr = iou_threshold;
	a->max_gt = max_gt_ids;
	a->max_hyp = max_hyp_ids;
	size_t g = (size_t)max_gt_ids, h = (size_t)max_hyp_ids;
	a->last_hyp = malloc(g * sizeof(int));
	a->prev_hyp = malloc(g * sizeof(int));
	a->prev_frame = malloc(g * sizeof(int));
	a->last_status = calloc(g, 1);
	a->gt_seen = calloc(g, 1);
	a->hyp_seen = calloc(h, 1);
	a->co = calloc(g * h, sizeof(int));
	if (!a->last_hyp || !a->prev_hyp || !a->prev_frame || !a->last_status || !a->gt_seen || !a->hyp_seen || !a->co) {
		vg_mot_destroy(a);
		return NULL;
	}
	for (size_t i = 0; i < g; i++) {
		a->last_hyp[i] = -1;
		a->prev_hyp[i] = -1;
		a->prev_frame[i] = -2;
	}
	return a;
}

void vg_mot_destroy(vg_mot_acc *a)
{
	if (!a)
		return;
	free(a->last_hyp);
	free(a->prev_hyp);
	free(a->prev_frame);
	free(a->last_status);
	free(a->gt_seen);
	free(a->hyp_seen);
	free(a->co);
	free(a);
}

int vg_mot_frame(vg_mot_acc *a, const vg_mot_box *gt, int n_gt, const vg_mot_box *hyp, int n_hyp)
{
	for (int i = 0; i < n_gt; i++)
		if (gt[i].id < 0 || gt[i].id >= a->max_gt)
			return -1;
	for (int j = 0; j < n_hyp; j++)
		if (hyp[j].id < 0 || hyp[j].id >= a->max_hyp)
			return -1;
	int *gm = malloc((size_t)(n_gt + 1) * sizeof(int)), *hm = malloc((size_t)(n_hyp + 1) * sizeof(int));
	vg_assign_pair *pairs = calloc((size_t)(n_gt * n_hyp + 1), sizeof *pairs);
	if (!gm || !hm || !pairs) {
		free(gm);
		free(hm);
		free(pairs);
		return -1;
	}
	for (int i = 0; i < n_gt; i++)
		gm[i] = -1;
	for (int j = 0; j < n_hyp; j++)
		hm[j] = -1;

	/* Correspondences of the previous frame that still hold are kept. */
	for (int i = 0; i < n_gt; i++) {
		int g = gt[i].id;
		if (a->prev_frame[g] != a->frame - 1 || a->prev_hyp[g] < 0)
			continue;
		for (int j = 0; j < n_hyp; j++)
			if (hm[j] < 0 && hyp[j].id == a->prev_hyp[g] && box_iou(&gt[i], &hyp[j]) >= a->thr) {
				gm[i] = j;
				hm[j] = i;
				break;
			}
	}
	/*
	 * The rest by assignment. Costs are shifted by more than the number of
	 * objects, so that one more match always beats a lower sum of 1 - IoU:
	 * the most matches first, then the best overlaps.
	 */
	int np = 0;
	double shift = n_gt + 1;
	for (int i = 0; i < n_gt; i++)
		for (int j = 0; j < n_hyp; j++) {
			if (gm[i] >= 0 || hm[j] >= 0)
				continue;
			double v = box_iou(&gt[i], &hyp[j]);
			if (v >= a->thr)
				pairs[np++] = (vg_assign_pair){ i, j, (1 - v) - shift };
		}
	int *r2c = malloc((size_t)(n_gt + 1) * sizeof(int));
	if (r2c && vg_assign_sparse(NULL, n_gt, n_hyp, pairs, np, 0, r2c, NULL) >= 0) {
		for (int i = 0; i < n_gt; i++)
			if (r2c[i] >= 0) {
				gm[i] = r2c[i];
				hm[r2c[i]] = i;
			}
	}
	free(r2c);

	for (int i = 0; i < n_gt; i++) {
		int g = gt[i].id;
		a->gt_seen[g] = 1;
		int matched = gm[i] >= 0;
		if (matched) {
			int h = hyp[gm[i]].id;
			a->matches++;
			a->iou_sum += box_iou(&gt[i], &hyp[gm[i]]);
			if (a->last_hyp[g] >= 0 && a->last_hyp[g] != h)
				a->idsw++;
			if (a->last_hyp[g] >= 0 && !a->last_status[g])
				a->frag++;
			a->last_hyp[g] = h;
			a->prev_hyp[g] = h;
		} else {
			a->fn++;
			a->prev_hyp[g] = -1;
		}
		a->prev_frame[g] = a->frame;
		a->last_status[g] = (unsigned char)matched;
		for (int j = 0; j < n_hyp; j++)
			if (box_iou(&gt[i], &hyp[j]) >= a->thr)
				a->co[(size_t)g * (size_t)a->max_hyp + (size_t)hyp[j].id]++;
	}
	for (int j = 0; j < n_hyp; j++) {
		a->hyp_seen[hyp[j].id] = 1;
		if (hm[j] < 0)
			a->fp++;
	}
	a->gt += n_gt;
	a->hyp += n_hyp;
	a->frame++;
	free(gm);
	free(hm);
	free(pairs);
	return 0;
}

void vg_mot_result_get(const vg_mot_acc *a, vg_mot_result *r)
{
	memset(r, 0, sizeof *r);
	r->frames = a->frame;
	r->gt = a->gt;
	r->hyp = a->hyp;
	r->matches = a->matches;
	r->fn = a->fn;
	r->fp = a->fp;
	r->idsw = a->idsw;
	r->frag = a->frag;
	r->mota = a->gt ? 1 - (double)(a->fn + a->fp + a->idsw) / (double)a->gt : 0;
	r->motp = a->matches ? a->iou_sum / (double)a->matches : 0;
	for (int g = 0; g < a->max_gt; g++)
		r->gt_ids += a->gt_seen[g];
	for (int h = 0; h < a->max_hyp; h++)
		r->hyp_ids += a->hyp_seen[h];

	/* The global identity matching: maximise the co-occurring frames (cost -count below a threshold of 0). */
	int np = 0;
	for (size_t k = 0; k < (size_t)a->max_gt * (size_t)a->max_hyp; k++)
		np += a->co[k] > 0;
	vg_assign_pair *pairs = malloc((size_t)(np + 1) * sizeof *pairs);
	int *g2h = malloc((size_t)(a->max_gt + 1) * sizeof(int));
	if (pairs && g2h) {
		int k = 0;
		for (int g = 0; g < a->max_gt; g++)
			for (int h = 0; h < a->max_hyp; h++) {
				int c = a->co[(size_t)g * (size_t)a->max_hyp + (size_t)h];
				if (c > 0)
					pairs[k++] = (vg_assign_pair){ g, h, -(double)c };
			}
		if (vg_assign_sparse(NULL, a->max_gt, a->max_hyp, pairs, np, 0, g2h, NULL) >= 0)
			for (int g = 0; g < a->max_gt; g++)
				if (g2h[g] >= 0)
					r->idtp += a->co[(size_t)g * (size_t)a->max_hyp + (size_t)g2h[g]];
	}
	free(pairs);
	free(g2h);
	r->idfn = a->gt - r->idtp;
	r->idfp = a->hyp - r->idtp;
	r->idp = a->hyp ? (double)r->idtp / (double)a->hyp : 0;
	r->idr = a->gt ? (double)r->idtp / (double)a->gt : 0;
	r->idf1 = a->gt + a->hyp ? 2.0 * (double)r->idtp / (double)(a->gt + a->hyp) : 0;
}
