#ifndef VG_YUV_LIMITED_H
#define VG_YUV_LIMITED_H

#include <math.h>
#include <stdint.h>

#include <libavcodec/codec_id.h>
#include <libavutil/frame.h>

#include "core/frame.h"

/*
 * What the H.264 writers share (encode/video_writer.c, record/recorder.c):
 * vigil's frames are full-range (JPEG) YCbCr; H.264 players assume limited
 * range unless told, and many ignore the full-range flag, so the levels are
 * scaled while a frame is copied into the encoder's picture (which costs no
 * extra pass: the copy is needed anyway).
 */
typedef struct vg_limited_luts {
	uint8_t luma[256], chroma[256];
} vg_limited_luts;

static inline void vg_limited_luts_init(vg_limited_luts *l)
{
	for (int v = 0; v < 256; v++) {
		l->luma[v] = (uint8_t)lrint(16.0 + v * 219.0 / 255.0);
		l->chroma[v] = (uint8_t)lrint(128.0 + (v - 128) * 224.0 / 255.0);
	}
}

static inline void vg_limited_copy_plane(uint8_t *dst, int dst_stride, const uint8_t *src, int src_stride, int w,
					 int h, const uint8_t *lut)
{
	for (int y = 0; y < h; y++) {
		const uint8_t *s = src + (size_t)y * (size_t)src_stride;
		uint8_t *d = dst + (size_t)y * (size_t)dst_stride;
		for (int x = 0; x < w; x++)
			d[x] = lut[s[x]];
	}
}

/* Copies a frame of pic's size into the (writable) YUV420P picture, converting to limited range. */
static inline void vg_limited_copy_frame(AVFrame *pic, const vg_frame *frame, const vg_limited_luts *l)
{
	int cw = frame->width / 2, ch = frame->height / 2;
	vg_limited_copy_plane(pic->data[0], pic->linesize[0], frame->plane[0], frame->stride[0], frame->width,
			      frame->height, l->luma);
	vg_limited_copy_plane(pic->data[1], pic->linesize[1], frame->plane[1], frame->stride[1], cw, ch, l->chroma);
	vg_limited_copy_plane(pic->data[2], pic->linesize[2], frame->plane[2], frame->stride[2], cw, ch, l->chroma);
}

/* MP4 players handle these three everywhere; re-encoding other audio is not worth its cost here. */
static inline int vg_audio_copyable(enum AVCodecID id)
{
	return id == AV_CODEC_ID_AAC || id == AV_CODEC_ID_MP3 || id == AV_CODEC_ID_OPUS;
}

#endif
