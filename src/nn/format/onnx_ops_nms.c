/*
 * ONNX NonMaxSuppression (opsets 10 and 11) onto NON_MAX_SUPPRESSION.
 *
 * max_output_boxes_per_class, iou_threshold and score_threshold go into
 * p.nms when they are known at load time, else stay run-time inputs of the
 * node (read by the kernel on every run). The output selected_indices,
 * int64 [K, 3], has K known only at run time: the IR tensor's dimension 0 is
 * its capacity, batches * classes * min(max_output_boxes_per_class, boxes)
 * (boxes when the maximum is a run-time input), and it carries dynamic_rows.
 */
#include "nn/format/onnx_internal.h"

enum { NMS_ABSENT, NMS_CONST, NMS_RUNTIME };

/*
 * Scalar input k: *kind NMS_CONST with its value in *v, NMS_RUNTIME with its
 * tensor in *t, or NMS_ABSENT. Returns 0, 1 (unsupported, recorded) or an error.
 */
static int scalar_input(ox *c, const ox_node *n, int k, int *kind, double *v, int *t)
{
	*t = -1;
	*kind = NMS_ABSENT;
	ox_value *x = ox_in(c, n, k);
	if (!x)
		return 0;
	if (x->c) {
		if (x->c->n != 1)
			return ox_nfail(c, NN_ERR_FORMAT, "input %d has %lld values, not one", k, (long long)x->c->n);
		*v = ox_val_get(x->c, 0);
		*kind = NMS_CONST;
		return 0;
	}
	if ((*t = ox_in_tensor(c, n, k)) < 0)
		return *t;
	const nn_tensor *T = ox_T(c, *t);
	int64_t elems = nn_tensor_elements(T);
	if (elems != 1)
		return ox_nfail(c, NN_ERR_FORMAT, "input %d has %lld values, not one", k, (long long)elems);
	if (k == 2 ? T->dtype != NN_I64 && T->dtype != NN_I32 : T->dtype != NN_F32)
		return ox_unsupported(c, "input %d of type %s", k, nn_dtype_name(T->dtype));
	*kind = NMS_RUNTIME;
	return 0;
}

int ox_map_nms(ox *c, const ox_node *n, int arg)
{
	(void)arg;
	int boxes = ox_in_tensor(c, n, 0);
	int scores = boxes < 0 ? boxes : ox_in_tensor(c, n, 1);
	if (scores < 0)
		return scores;
	const nn_tensor *bt = ox_T(c, boxes), *st = ox_T(c, scores);
	if (bt->dtype != NN_F32 || st->dtype != NN_F32)
		return ox_unsupported(c, "boxes and scores of types %s and %s (float32 only)", nn_dtype_name(bt->dtype),
				      nn_dtype_name(st->dtype));
	if (bt->rank != 3 || bt->shape[2] != 4 || st->rank != 3 || st->shape[0] != bt->shape[0] ||
	    st->shape[2] != bt->shape[1])
		return ox_nfail(c, NN_ERR_SHAPE, "boxes [%d, %d, %d] and scores [%d, %d, %d] are not [B, N, 4] and [B, C, N]",
				bt->rank > 0 ? bt->shape[0] : -1, bt->rank > 1 ? bt->shape[1] : -1,
				bt->rank > 2 ? bt->shape[2] : -1, st->rank > 0 ? st->shape[0] : -1,
				st->rank > 1 ? st->shape[1] : -1, st->rank > 2 ? st->shape[2] : -1);
	int64_t center = ox_attr_i(n, "center_point_box", 0);
	if (center != 0 && center != 1)
		return ox_nfail(c, NN_ERR_FORMAT, "center_point_box %lld is not 0 or 1", (long long)center);

	double maxv = 0, iouv = 0, scorev = 0;
	int in[5] = { boxes, scores, -1, -1, -1 };
	int km, ki, ks, rc;
	if ((rc = scalar_input(c, n, 2, &km, &maxv, &in[2])) || (rc = scalar_input(c, n, 3, &ki, &iouv, &in[3])) ||
	    (rc = scalar_input(c, n, 4, &ks, &scorev, &in[4])))
		return rc;
	if (ki == NMS_CONST && !(iouv >= 0 && iouv <= 1))
		return ox_nfail(c, NN_ERR_FORMAT, "iou_threshold %g is outside [0, 1]", iouv);

	int64_t B = bt->shape[0], N = bt->shape[1], C = st->shape[1];
	int64_t per_class = N;
	if (km != NMS_RUNTIME) /* known, or absent: 0 */
		per_class = maxv <= 0 ? 0 : maxv < (double)N ? (int64_t)maxv : N;
	int64_t cap = B * C * per_class;
	if (cap * 3 > OX_MAX_TENSOR_ELEMENTS)
		return ox_nfail(c, NN_ERR_SHAPE, "%lld batches x %lld classes x %lld boxes is too many rows",
				(long long)B, (long long)C, (long long)per_class);
	int shape[2] = { (int)cap, 3 };
	int out = ox_out_tensor(c, n, 0, NN_I64, 2, shape);
	if (out < 0)
		return out;
	ox_T(c, out)->dynamic_rows = 1;
	int n_in = 5;
	while (n_in > 2 && in[n_in - 1] < 0)
		n_in--;
	nn_node *x = ox_emit(c, n, NN_OP_NON_MAX_SUPPRESSION, n_in, in, 1, &out);
	if (!x)
		return NN_ERR_NOMEM;
	x->p.nms.center_point_box = (int)center;
	x->p.nms.max_per_class = km == NMS_CONST ? (int)(maxv <= 0 ? 0 : maxv > 2147483647.0 ? 2147483647 : maxv) : 0;
	x->p.nms.iou_threshold = ki == NMS_CONST ? (float)iouv : 0.0f;
	x->p.nms.has_score_threshold = ks != NMS_ABSENT;
	x->p.nms.score_threshold = ks == NMS_CONST ? (float)scorev : 0.0f;
	return 0;
}
