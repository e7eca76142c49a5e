/*
 * MoveNet single-pose: the model finds the most prominent person itself and
 * outputs its 17 keypoints, so decoding is reading them and framing them.
 */
#include <stdio.h>
#include <string.h>

#include "detect/decode.h"
#include "detect/keypoints.h"

static float clip01(float v)
{
	return v < 0 ? 0 : v > 1 ? 1 : v;
}

int vg_decode_movenet(const float *kp, int n, float threshold, float kp_threshold, vg_detection *out)
{
	if (n <= 0)
		return 0;
	if (n > VG_MAX_KEYPOINTS)
		n = VG_MAX_KEYPOINTS;
	vg_detection d;
	memset(&d, 0, sizeof d);
	float sum = 0, x0 = 1, y0 = 1, x1 = 0, y1 = 0;
	int found = 0;
	for (int k = 0; k < n; k++) {
		/* Each row is (y, x, score). */
		float y = kp[k * 3], x = kp[k * 3 + 1], s = kp[k * 3 + 2];
		d.keypoints[k] = (vg_keypoint){ x, y, s };
		sum += s;
		if (!(s >= kp_threshold))
			continue;
		found++;
		x0 = x < x0 ? x : x0;
		y0 = y < y0 ? y : y0;
		x1 = x > x1 ? x : x1;
		y1 = y > y1 ? y : y1;
	}
	d.n_keypoints = n;
	d.layout = n == vg_keypoints_coco17.count ? &vg_keypoints_coco17 : NULL;
	d.score = sum / (float)n;
	if (!(d.score >= threshold))
		return 0;
	if (found) {
		/* Joints are inside the body: widen the box by a tenth a side so the head and feet fit. */
		float px = 0.1f * (x1 - x0), py = 0.1f * (y1 - y0);
		px = px > 0.02f ? px : 0.02f;
		py = py > 0.02f ? py : 0.02f;
		d.x0 = clip01(x0 - px);
		d.y0 = clip01(y0 - py);
		d.x1 = clip01(x1 + px);
		d.y1 = clip01(y1 + py);
	} else {
		d.x1 = d.y1 = 1;
	}
	d.class_id = 0;
	snprintf(d.label, sizeof d.label, "person");
	*out = d;
	return 1;
}
