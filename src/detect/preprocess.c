#include "detect/preprocess.h"

#include <libswscale/swscale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SWS_SLACK 64

struct vg_preprocess {
	vg_preprocess_config cfg;
	nn_dtype dtype;
	int channels;            /* 3, or 1 for a grey input (the frame's luma) */
	float in_scale;          /* quantized inputs */
	int32_t in_zero_point;
	int width, height;       /* model input */
	/* Letterbox geometry in model pixels, for the current frame size. */
	int frame_w, frame_h;
	int content_x, content_y, content_w, content_h;
	/* The same, exact, for mapping back: the scaled frame's origin and size in model pixels. */
	float origin_x, origin_y, extent_w, extent_h;
	/* warp sampling: per model column and row, the frame positions of luma and chroma. */
	float *warp_x, *warp_y;
	int warp_ready;
	struct SwsContext *sws;
	uint8_t *rgb;            /* width * height * 3, interleaved in model channel order */
	/* Per-channel lookup from pixel value to the tensor's value. */
	float lut_f[3][256];
	int16_t lut_q[3][256];
};

int vg_preprocess_create(vg_preprocess **out, const nn_tensor *input, const vg_preprocess_config *cfg, char *err,
			 size_t errlen)
{
	*out = NULL;
	int c_axis = cfg->nchw ? 1 : 3;
	int h_axis = cfg->nchw ? 2 : 1;
	if (input->rank != 4 || input->shape[0] != 1 || (input->shape[c_axis] != 3 && input->shape[c_axis] != 1)) {
		snprintf(err, errlen, "model input '%s' is not an image of shape %s (rank %d, shape[%d] = %d)",
			 input->name ? input->name : "0", cfg->nchw ? "[1,3,H,W] or [1,1,H,W]" : "[1,H,W,3] or [1,H,W,1]",
			 input->rank, c_axis, input->rank > c_axis ? input->shape[c_axis] : 0);
		return -1;
	}
	if (input->dtype != NN_F32 && input->dtype != NN_U8 && input->dtype != NN_I8) {
		snprintf(err, errlen, "model input '%s' has type %s; images need float32, uint8 or int8",
			 input->name ? input->name : "0", nn_dtype_name(input->dtype));
		return -1;
	}
	vg_preprocess *pp = calloc(1, sizeof *pp);
	if (!pp) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pp->cfg = *cfg;
	pp->dtype = input->dtype;
	pp->channels = input->shape[c_axis];
	pp->height = input->shape[h_axis];
	pp->width = input->shape[h_axis + 1];
	/* swscale's SIMD output may write a few bytes past the last pixel of a row. */
	pp->rgb = malloc((size_t)pp->width * (size_t)pp->height * (size_t)pp->channels + SWS_SLACK);
	if (!pp->rgb) {
		free(pp);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (input->quant.count >= 1) {
		pp->in_scale = input->quant.scale[0];
		pp->in_zero_point = input->quant.zero_point ? input->quant.zero_point[0] : 0;
	}
	if (pp->dtype != NN_F32 && !(pp->in_scale > 0)) {
		/* A quantized input without a scale: take pixel values as they are. */
		pp->in_scale = 0;
	}

	for (int c = 0; c < 3; c++) {
		for (int v = 0; v < 256; v++) {
			float real;
			if (cfg->has_norm)
				real = ((float)v - cfg->mean[c]) / cfg->std[c];
			else
				real = ((float)v - 127.5f) / 127.5f;
			pp->lut_f[c][v] = real;
			int q;
			if (pp->dtype == NN_F32)
				q = 0;
			else if (!cfg->has_norm || pp->in_scale == 0)
				q = pp->dtype == NN_U8 ? v : v - 128;
			else
				q = (int)lrintf(real / pp->in_scale) + pp->in_zero_point;
			int lo = pp->dtype == NN_U8 ? 0 : -128, hi = pp->dtype == NN_U8 ? 255 : 127;
			pp->lut_q[c][v] = (int16_t)(q < lo ? lo : q > hi ? hi : q);
		}
	}
	*out = pp;
	return 0;
}

/*
 * MediaPipe's letterbox: the frame scaled by the smaller of the two ratios,
 * centred, with fractional borders. Model pixel i samples the frame at
 * (i - origin) / scale.
 */
static int warp_geometry(vg_preprocess *pp, const vg_frame *f)
{
	double sx = (double)pp->width / f->width, sy = (double)pp->height / f->height;
	if (pp->cfg.resize == VG_RESIZE_LETTERBOX)
		sx = sy = fmin(sx, sy);
	pp->extent_w = (float)(f->width * sx);
	pp->extent_h = (float)(f->height * sy);
	pp->origin_x = pp->cfg.align_topleft ? 0 : (float)((pp->width - f->width * sx) / 2);
	pp->origin_y = pp->cfg.align_topleft ? 0 : (float)((pp->height - f->height * sy) / 2);
	free(pp->warp_x);
	free(pp->warp_y);
	pp->warp_x = malloc((size_t)pp->width * sizeof(float));
	pp->warp_y = malloc((size_t)pp->height * sizeof(float));
	if (!pp->warp_x || !pp->warp_y)
		return -1;
	if (pp->cfg.sampling == VG_SAMPLING_LINEAR) {
		/*
		 * cv2.resize's grid: centres aligned, positions clamped to the frame
		 * (its border replicated); model pixels outside the scaled frame (a
		 * letterbox's bars) are far outside, so they take the pad value.
		 */
		for (int i = 0; i < pp->width; i++) {
			double v = (i + 0.5 - pp->origin_x) / sx - 0.5;
			int in = i + 0.5 >= pp->origin_x && i + 0.5 < pp->origin_x + pp->extent_w;
			pp->warp_x[i] = in ? (float)fmin(fmax(v, 0), f->width - 1) : -1e9f;
		}
		for (int j = 0; j < pp->height; j++) {
			double v = (j + 0.5 - pp->origin_y) / sy - 0.5;
			int in = j + 0.5 >= pp->origin_y && j + 0.5 < pp->origin_y + pp->extent_h;
			pp->warp_y[j] = in ? (float)fmin(fmax(v, 0), f->height - 1) : -1e9f;
		}
	} else {
		for (int i = 0; i < pp->width; i++)
			pp->warp_x[i] = (float)((i - pp->origin_x) / sx);
		for (int j = 0; j < pp->height; j++)
			pp->warp_y[j] = (float)((j - pp->origin_y) / sy);
	}
	pp->warp_ready = 1;
	return 0;
}

/* Bilinear weights of the two pixels around position v along a line of n; those outside get weight 0. */
static void taps(float v, int n, int idx[2], float w[2])
{
	float fl = floorf(v);
	int i = (int)fl;
	float t = v - fl;
	idx[0] = i;
	idx[1] = i + 1;
	w[0] = 1 - t;
	w[1] = t;
	for (int k = 0; k < 2; k++) {
		if (idx[k] < 0 || idx[k] >= n) {
			w[k] = 0;
			idx[k] = 0;
		}
	}
}

/* The same with the positions clamped to the line (chroma, whose edge half-pixels lie beyond the last sample). */
static void taps_clamped(float v, int n, int idx[2], float w[2])
{
	if (v < 0)
		v = 0;
	if (v > (float)(n - 1))
		v = (float)(n - 1);
	taps(v, n, idx, w);
}

static uint8_t to_u8(float v)
{
	return v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)lrintf(v);
}

/*
 * Samples the I420 frame as OpenCV's INTER_LINEAR warp samples an RGB image
 * with a constant black (pad) border: luma bilinear between the four nearest
 * pixels, those outside the frame counting as the border; chroma bilinear at
 * the same point of its half-resolution plane (samples centred between luma
 * pairs, as JPEG places them). Full-range BT.601 to RGB.
 */
static void warp_run(vg_preprocess *pp, const vg_frame *f)
{
	int cw = (f->width + 1) / 2, ch = (f->height + 1) / 2;
	float pad = pp->cfg.pad_value;
	int ri = pp->cfg.bgr ? 2 : 0, bi = pp->cfg.bgr ? 0 : 2;
	int grey = pp->channels == 1;
	for (int j = 0; j < pp->height; j++) {
		int yi[2], ci[2];
		float yw[2], cwt[2];
		float sy = pp->warp_y[j];
		taps(sy, f->height, yi, yw);
		taps_clamped((sy - 0.5f) / 2, ch, ci, cwt);
		uint8_t *o = pp->rgb + (size_t)j * (size_t)pp->width * (size_t)pp->channels;
		for (int i = 0; i < pp->width; i++, o += pp->channels) {
			int xi[2], cxi[2];
			float xw[2], cxw[2];
			float sx = pp->warp_x[i];
			taps(sx, f->width, xi, xw);
			float inside = (xw[0] + xw[1]) * (yw[0] + yw[1]);
			if (inside <= 0) {
				memset(o, pp->cfg.pad_value, (size_t)pp->channels);
				continue;
			}
			float y = 0;
			for (int a = 0; a < 2; a++)
				for (int b = 0; b < 2; b++)
					y += yw[a] * xw[b] * f->plane[0][(size_t)yi[a] * (size_t)f->stride[0] + (size_t)xi[b]];
			if (grey) {
				/* Full-range BT.601 luma is the grey value (0.299 R + 0.587 G + 0.114 B). */
				o[0] = to_u8(y + (1 - inside) * pad);
				continue;
			}
			taps_clamped((sx - 0.5f) / 2, cw, cxi, cxw);
			float u = 0, v = 0;
			for (int a = 0; a < 2; a++) {
				for (int b = 0; b < 2; b++) {
					float w = cwt[a] * cxw[b];
					u += w * f->plane[1][(size_t)ci[a] * (size_t)f->stride[1] + (size_t)cxi[b]];
					v += w * f->plane[2][(size_t)ci[a] * (size_t)f->stride[2] + (size_t)cxi[b]];
				}
			}
			u -= 128;
			v -= 128;
			/* y holds only the inside neighbours' share; colour scales with it, the border fills the rest. */
			float rest = (1 - inside) * pad;
			o[ri] = to_u8(y + inside * 1.402f * v + rest);
			o[1] = to_u8(y - inside * (0.344136f * u + 0.714136f * v) + rest);
			o[bi] = to_u8(y + inside * 1.772f * u + rest);
		}
	}
}

static int update_geometry(vg_preprocess *pp, const vg_frame *f)
{
	if (f->width == pp->frame_w && f->height == pp->frame_h && (pp->sws || pp->warp_ready))
		return 0;
	pp->warp_ready = 0;
	pp->frame_w = f->width;
	pp->frame_h = f->height;
	if (pp->cfg.resize == VG_RESIZE_LETTERBOX) {
		double s = fmin((double)pp->width / f->width, (double)pp->height / f->height);
		pp->content_w = (int)lround(f->width * s);
		pp->content_h = (int)lround(f->height * s);
		if (pp->content_w < 1)
			pp->content_w = 1;
		if (pp->content_h < 1)
			pp->content_h = 1;
		/* YOLOX pads right and bottom; everyone else centres. */
		pp->content_x = pp->cfg.align_topleft ? 0 : (pp->width - pp->content_w) / 2;
		pp->content_y = pp->cfg.align_topleft ? 0 : (pp->height - pp->content_h) / 2;
	} else {
		pp->content_x = pp->content_y = 0;
		pp->content_w = pp->width;
		pp->content_h = pp->height;
	}
	memset(pp->rgb, pp->cfg.pad_value, (size_t)pp->width * (size_t)pp->height * (size_t)pp->channels);
	pp->origin_x = (float)pp->content_x;
	pp->origin_y = (float)pp->content_y;
	pp->extent_w = (float)pp->content_w;
	pp->extent_h = (float)pp->content_h;
	if (pp->cfg.sampling != VG_SAMPLING_SWSCALE)
		return warp_geometry(pp, f);
	pp->sws = sws_getCachedContext(pp->sws, f->width, f->height, AV_PIX_FMT_YUV420P, pp->content_w,
				       pp->content_h,
				       pp->channels == 1 ? AV_PIX_FMT_GRAY8
				       : pp->cfg.bgr     ? AV_PIX_FMT_BGR24
							 : AV_PIX_FMT_RGB24,
				       SWS_BILINEAR, NULL, NULL, NULL);
	if (!pp->sws)
		return -1;
	/* vigil's frames are full-range (JPEG) YCbCr. */
	const int *coef = sws_getCoefficients(SWS_CS_ITU601);
	sws_setColorspaceDetails(pp->sws, coef, 1, coef, 1, 0, 1 << 16, 1 << 16);
	return 0;
}

static void swscale_run(vg_preprocess *pp, const vg_frame *frame)
{
	const uint8_t *src[4] = { frame->plane[0], frame->plane[1], frame->plane[2], NULL };
	int src_stride[4] = { frame->stride[0], frame->stride[1], frame->stride[2], 0 };
	int ch = pp->channels;
	int row = pp->width * ch;
	uint8_t *dst[4] = { pp->rgb + (size_t)pp->content_y * row + (size_t)pp->content_x * (size_t)ch, NULL, NULL, NULL };
	int dst_stride[4] = { row, 0, 0, 0 };
	sws_scale(pp->sws, src, src_stride, 0, frame->height, dst, dst_stride);
	int right = pp->content_x + pp->content_w;
	if (right < pp->width) {
		/* Restore the right border where the scaler's row overrun reached into it. */
		size_t n = (size_t)(pp->width - right) * (size_t)ch;
		n = n < SWS_SLACK ? n : SWS_SLACK;
		for (int y = pp->content_y; y < pp->content_y + pp->content_h; y++)
			memset(pp->rgb + (size_t)y * (size_t)row + (size_t)right * (size_t)ch, pp->cfg.pad_value, n);
	}
}

int vg_preprocess_run(vg_preprocess *pp, const vg_frame *frame, nn_tensor *input)
{
	if (update_geometry(pp, frame) < 0)
		return -1;
	if (pp->cfg.sampling != VG_SAMPLING_SWSCALE)
		warp_run(pp, frame);
	else
		swscale_run(pp, frame);

	size_t plane = (size_t)pp->width * (size_t)pp->height;
	const uint8_t *px = pp->rgb;
	if (pp->channels == 1) {
		/* One channel: the layouts are the same. */
		if (pp->dtype == NN_F32) {
			float *o = input->data;
			for (size_t i = 0; i < plane; i++)
				o[i] = pp->lut_f[0][px[i]];
		} else {
			uint8_t *o = input->data;
			for (size_t i = 0; i < plane; i++)
				o[i] = (uint8_t)pp->lut_q[0][px[i]];
		}
		return 0;
	}
	if (pp->dtype == NN_F32) {
		float *o = input->data;
		if (pp->cfg.nchw) {
			for (size_t i = 0; i < plane; i++, px += 3)
				for (int c = 0; c < 3; c++)
					o[c * plane + i] = pp->lut_f[c][px[c]];
		} else {
			for (size_t i = 0; i < plane; i++, px += 3, o += 3) {
				o[0] = pp->lut_f[0][px[0]];
				o[1] = pp->lut_f[1][px[1]];
				o[2] = pp->lut_f[2][px[2]];
			}
		}
	} else {
		uint8_t *o = input->data; /* int8 values are written as their two's-complement bytes */
		if (pp->cfg.nchw) {
			for (size_t i = 0; i < plane; i++, px += 3)
				for (int c = 0; c < 3; c++)
					o[c * plane + i] = (uint8_t)pp->lut_q[c][px[c]];
		} else {
			for (size_t i = 0; i < plane * 3; i += 3)
				for (int c = 0; c < 3; c++)
					o[i + c] = (uint8_t)pp->lut_q[c][px[i + c]];
		}
	}
	return 0;
}

static float clip01(float v)
{
	return v < 0 ? 0 : v > 1 ? 1 : v;
}

void vg_preprocess_map_point(const vg_preprocess *pp, float *x, float *y)
{
	float px = *x * (float)pp->width, py = *y * (float)pp->height;
	*x = (px - pp->origin_x) / pp->extent_w;
	*y = (py - pp->origin_y) / pp->extent_h;
}

void vg_preprocess_map_box(const vg_preprocess *pp, vg_detection *d)
{
	vg_preprocess_map_point(pp, &d->x0, &d->y0);
	vg_preprocess_map_point(pp, &d->x1, &d->y1);
	d->x0 = clip01(d->x0);
	d->y0 = clip01(d->y0);
	d->x1 = clip01(d->x1);
	d->y1 = clip01(d->y1);
}

int vg_preprocess_width(const vg_preprocess *pp)
{
	return pp->width;
}

int vg_preprocess_height(const vg_preprocess *pp)
{
	return pp->height;
}

void vg_preprocess_destroy(vg_preprocess *pp)
{
	if (!pp)
		return;
	sws_freeContext(pp->sws);
	free(pp->warp_x);
	free(pp->warp_y);
	free(pp->rgb);
	free(pp);
}
