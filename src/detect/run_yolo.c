#include "detect/detector_priv.h"

int vg_det_is_yolo(vg_decoder_kind kind)
{
	(void)kind;
	return 0;
}

int vg_det_bind_yolo(vg_detector *d, vg_decoder_kind kind, int automatic, char *why, size_t whylen)
{
	(void)d; (void)kind; (void)automatic; (void)why; (void)whylen;
	return 0;
}

int vg_det_decode_yolo(vg_detector *d, vg_detection *cand, int max)
{
	(void)d; (void)cand; (void)max;
	return 0;
}
