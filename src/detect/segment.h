#ifndef VG_SEGMENT_H
#define VG_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "detect/preprocess.h"
#include "nn/nn.h"

/*
 * Semantic segmentation: a model output that gives every pixel a class, as
 * per-class scores (probabilities or logits: the argmax is the same) laid out
 * [1,C,H,W] or [1,H,W,C], or as class indices [1,H,W] (also [1,1,H,W] or
 * [1,H,W,1] of an integer type). The decoded mask keeps only the part of
 * the output that shows the frame (a letterbox's bars are cut off), so the
 * mask covers the frame exactly: mask pixel (i, j) of a w x h mask is what
 * the frame holds around ((i + 0.5) / w, (j + 0.5) / h) in normalised
 * coordinates, and a class's share of the mask's pixels is its share of the
 * frame.
 */

/* Class ids are stored in bytes; 255 marks nothing. */
#define VG_SEG_MAX_CLASSES 255

typedef enum vg_seg_layout {
	VG_SEG_NCHW = 0,  /* scores [1,C,H,W] */
	VG_SEG_NHWC,      /* scores [1,H,W,C] */
	VG_SEG_INDICES,   /* class ids [1,H,W] */
} vg_seg_layout;

/* Where the per-pixel classes sit in an output tensor. */
typedef struct vg_seg_binding {
	int output;           /* index among the model's outputs */
	vg_seg_layout layout;
	int classes;          /* C; for indices, 0 (unknown until labels say) */
	int height, width;    /* the output's spatial size */
} vg_seg_binding;

/*
 * Finds a segmentation output among the model's outputs for an in_w x in_h
 * input. With automatic set, only an output that cannot be anything else
 * qualifies: the model's one output, rank 4, of scores (float32, or uint8
 * or int8 quantized), with the input's height
 * and width and 2 to 32 channels, but not 3, on the other axis (a
 * detector's or classifier's outputs never carry the input's spatial size;
 * three channels of it are more likely a picture, as style transfer and
 * denoising models give). Without it,
 * any output of rank 3 or 4 whose spatial size has the input's aspect ratio
 * (within 2%) does, the channel axis being the one that does not fit the
 * aspect ratio (or the smaller, when both fit). Returns 1 and fills b and
 * reason, or 0 with why.
 */
int vg_segment_bind(const nn_tensor *const *outs, int n_outs, int in_w, int in_h, int automatic, vg_seg_binding *b,
		    char *reason, size_t reasonlen, char *why, size_t whylen);

/* A decoded mask: w x h class ids, row by row, and each class's pixel count. */
typedef struct vg_seg_mask {
	int w, h;
	int classes;                          /* class ids are below this */
	uint8_t *cls;                         /* capacity bytes, allocated by the owner */
	size_t capacity;
	uint32_t count[VG_SEG_MAX_CLASSES];   /* pixels per class, for classes below .classes */
} vg_seg_mask;

/* A mask whose buffer holds capacity pixels; 0, or -1 when out of memory. */
int vg_seg_mask_init(vg_seg_mask *m, size_t capacity);
void vg_seg_mask_free(vg_seg_mask *m);

/* Copies src into dst (whose capacity must hold src's pixels); 0, or -1 when it does not. */
int vg_seg_mask_copy(vg_seg_mask *dst, const vg_seg_mask *src);

/* The share of the mask class c covers, 0..1 (0 for an empty mask or a class out of range). */
double vg_seg_mask_area(const vg_seg_mask *m, int c);

/*
 * The output's pixels [x0,x1) x [y0,y1) that show the frame, for a
 * preprocessing that has run on a frame: all of them for a stretch, those
 * inside the letterbox's bars otherwise (found through
 * vg_preprocess_map_point, so any placement of the bars maps right).
 */
void vg_segment_crop(const vg_preprocess *pp, int out_w, int out_h, int *x0, int *y0, int *x1, int *y1);

/*
 * Decodes the crop [x0,x1) x [y0,y1) of an output laid out as b says into m
 * (whose capacity must hold the crop): per pixel, the class of the highest
 * score (the lowest class id on a tie); for indices, the value itself, ids
 * outside 0..classes-1 (classes as in b, or VG_SEG_MAX_CLASSES when 0)
 * counted as class 0. scores is float data; for indices, ids is int64 or
 * int32 data (ids64 says which) or, when both are NULL, scores holds them as
 * floats. Returns 0, or -1 when the crop is empty, outside the output or
 * larger than the mask's capacity.
 */
int vg_segment_decode(const vg_seg_binding *b, const float *scores, const int64_t *ids64, const int32_t *ids32,
		      int x0, int y0, int x1, int y1, vg_seg_mask *m);

/*
 * The mask's class areas as a JSON object, {"classes":[{"label":"person",
 * "class_id":1,"area":0.2301}, ...]}: every class but the background (class
 * 0) for models of at most 8 classes, so that a class that left the picture
 * shows as 0; for larger models, only the classes present. labels[i] names
 * class i (NULL or past n_labels: "class N"). Returns the length, or 0 when
 * cap is too small.
 */
size_t vg_segment_json(const vg_seg_mask *m, const char *const *labels, int n_labels, char *dst, size_t cap);

/*
 * Built-in defaults for PP-HumanSeg-Lite portrait (file names containing
 * "ppseg_lite_portrait" or "humanseg", folder or file): a 398x224 stretch,
 * RGB, (pixel / 255 - 0.5) / 0.5, decoder "segmentation", labels background
 * and person. 1 when the name matches and the input is [1,224,398,3] or
 * [1,3,224,398] float (0 and a note when the name matches but not the
 * input), 0 otherwise. c must be freshly initialised.
 */
struct vg_model_config;
int vg_segment_builtin(struct vg_model_config *c, const char *model, const nn_tensor *input, char *note,
		       size_t notelen);

#endif
