#ifndef VG_PREPROCESS_H
#define VG_PREPROCESS_H

#include "core/frame.h"
#include "detect/detection.h"
#include "nn/nn.h"

/*
 * Turns a video frame into a model's input tensor: scales the I420 frame to
 * the model's size (stretched, or letterboxed keeping the aspect ratio),
 * converts to RGB or BGR, and writes the tensor's dtype: float (with mean and
 * std), uint8 or int8 (through the tensor's quantization). Also maps boxes
 * found in model coordinates back to frame coordinates.
 */

typedef enum vg_resize_mode {
	VG_RESIZE_STRETCH = 0,
	VG_RESIZE_LETTERBOX,
} vg_resize_mode;

/*
 * How the frame is sampled at the model's size. swscale's bilinear filter
 * averages over each output pixel's footprint and aligns pixel centres. warp
 * samples as OpenCV's warpAffine/warpPerspective with INTER_LINEAR do in
 * MediaPipe's ImageToTensorCalculator: the tensor's pixel (i, j) takes the
 * frame's value at the point (i, j) maps to, the tensor's corner on the
 * frame's corner, bilinear between the four nearest pixels and nothing
 * averaged; the letterbox geometry is exact rather than rounded to pixels.
 * MediaPipe's models score and place boxes as MediaPipe reports only with
 * the latter. linear samples as OpenCV's cv2.resize with INTER_LINEAR
 * (and so blobFromImage) does: bilinear between the four nearest pixels,
 * nothing averaged, pixel centres aligned (pixel i of n takes the frame at
 * (i + 0.5) * frame / n - 0.5), positions past the edge taking the edge
 * pixel; models trained on OpenCV's resizing, such as OpenCV's face
 * detector, see what they were trained on.
 */
typedef enum vg_sampling {
	VG_SAMPLING_SWSCALE = 0,
	VG_SAMPLING_WARP,
	VG_SAMPLING_LINEAR,
} vg_sampling;

typedef struct vg_preprocess_config {
	vg_resize_mode resize;
	vg_sampling sampling;
	int bgr;                 /* channel order BGR instead of RGB */
	int nchw;                /* planar [1,3,H,W] instead of [1,H,W,3] */
	int has_norm;            /* mean/std given; otherwise the defaults below */
	float mean[3], std[3];   /* real value = (pixel - mean) / std, per channel in model order */
	uint8_t pad_value;       /* letterbox border, per channel */
	int align_topleft;       /* letterbox: the frame at the top left, padded right and bottom (YOLOX); else centred */
} vg_preprocess_config;

typedef struct vg_preprocess vg_preprocess;

/*
 * Checks that the tensor is an image input it can fill ([1,H,W,3] or, with
 * nchw, [1,3,H,W]; or grey, [1,H,W,1] or [1,1,H,W], which takes the frame's
 * full-range luma, 0.299 R + 0.587 G + 0.114 B, with the first channel's
 * mean and std; float32, uint8 or int8) and prepares for it.
 *
 * Without mean/std: float inputs get [-1, 1] (mean 127.5, std 127.5);
 * quantized inputs get the raw pixel values (uint8) or pixel - 128 (int8),
 * which is what TensorFlow Lite's quantized image models expect.
 */
int vg_preprocess_create(vg_preprocess **out, const nn_tensor *input, const vg_preprocess_config *cfg, char *err,
			 size_t errlen);

/* Fills the input tensor's data from the frame. */
int vg_preprocess_run(vg_preprocess *pp, const vg_frame *frame, nn_tensor *input);

/*
 * Maps a box in normalised model-input coordinates to normalised frame
 * coordinates (undoing the letterbox), clipped to 0..1.
 */
void vg_preprocess_map_box(const vg_preprocess *pp, vg_detection *d);

/* Maps a point likewise (for keypoints). */
void vg_preprocess_map_point(const vg_preprocess *pp, float *x, float *y);

int vg_preprocess_width(const vg_preprocess *pp);
int vg_preprocess_height(const vg_preprocess *pp);

void vg_preprocess_destroy(vg_preprocess *pp);

#endif
