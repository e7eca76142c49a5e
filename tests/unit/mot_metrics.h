#ifndef VG_MOT_METRICS_H
#define VG_MOT_METRICS_H

/*
 * Multi-object tracking metrics for the tracker's tests: CLEAR-MOT (MOTA,
 * MOTP, ID switches, fragmentations) and the identity measures IDP, IDR and
 * IDF1. Boxes are compared by IoU; a ground-truth box and a hypothesis box
 * may correspond when their IoU is at least the threshold (0.5 in the
 * MOTChallenge benchmarks). Feed one frame at a time, then read the result.
 */

typedef struct vg_mot_box {
	int id;              /* >= 0 and below the limits given to vg_mot_create */
	float x0, y0, x1, y1;
} vg_mot_box;

typedef struct vg_mot_result {
	int frames;
	long gt, hyp;            /* boxes seen */
	long matches, fn, fp, idsw, frag;
	double mota, motp;       /* motp: mean IoU of the matches (higher is better) */
	long idtp, idfp, idfn;
	double idp, idr, idf1;
	int gt_ids, hyp_ids;     /* distinct identities seen */
} vg_mot_result;

typedef struct vg_mot_acc vg_mot_acc;

vg_mot_acc *vg_mot_create(double iou_threshold, int max_gt_ids, int max_hyp_ids);
void vg_mot_destroy(vg_mot_acc *a);

/* One frame's ground truth and hypotheses. Returns 0, or -1 when an id is out of range. */
int vg_mot_frame(vg_mot_acc *a, const vg_mot_box *gt, int n_gt, const vg_mot_box *hyp, int n_hyp);

void vg_mot_result_get(const vg_mot_acc *a, vg_mot_result *r);

#endif
