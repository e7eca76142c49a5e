#include "render/mask.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int vg_privacy_parse(const char *arg, vg_privacy_options *o, char *err, size_t errlen)
{
	o->fill = vg_color_rgb(0, 0, 0);
	if (!strcmp(arg, "blur")) {
		o->mode = VG_PRIVACY_BLUR;
		return 0;
	}
	if (!strcmp(arg, "fill")) {
		o->mode = VG_PRIVACY_FILL;
		return 0;
	}
	if (!strncmp(arg, "fill:", 5) && strlen(arg + 5) == 6 && strspn(arg + 5, "0123456789abcdefABCDEF") == 6) {
		unsigned long rgb = strtoul(arg + 5, NULL, 16);
		o->mode = VG_PRIVACY_FILL;
		o->fill = vg_color_rgb((uint8_t)(rgb >> 16), (uint8_t)(rgb >> 8), (uint8_t)rgb);
		return 0;
	}
	snprintf(err, errlen, "--privacy expects blur, fill or fill:RRGGBB (a hexadecimal colour), not '%s'", arg);
	return -1;
}

int vg_privacy_classes(const vg_privacy_options *o, const vg_labels *labels, int n_seg_classes,
		       uint8_t set[VG_SEG_MAX_CLASSES + 1], char *err, size_t errlen)
{
	memset(set, 0, VG_SEG_MAX_CLASSES + 1);
	if (!o->classes && n_seg_classes > 0) {
		for (int c = 1; c < n_seg_classes && c < VG_SEG_MAX_CLASSES; c++)
			set[c] = 1;
		return 0;
	}
	const char *list = o->classes ? o->classes : "person";
	int ids[VG_SEG_MAX_CLASSES];
	int n = vg_labels_parse_classes(labels, list, "--privacy-classes", "this model",
					" (it has no labels; give ids or --labels)", ids, VG_SEG_MAX_CLASSES, err, errlen);
	if (n < 0) {
		if (!o->classes) {
			char why[384];
			snprintf(why, sizeof why, "%s", err);
			snprintf(err, errlen, "--privacy hides people by default, but %s; name the classes with "
				 "--privacy-classes", why);
		}
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (ids[i] < 0 || ids[i] >= VG_SEG_MAX_CLASSES) {
			snprintf(err, errlen, "--privacy-classes: class id %d is out of range (0 to %d)", ids[i],
				 VG_SEG_MAX_CLASSES - 1);
			return -1;
		}
		set[ids[i]] = 1;
	}
	return 0;
}

int vg_mask_map_update(vg_mask_map *mm, int frame_w, int frame_h, int mask_w, int mask_h)
{
	if (mm->col && mm->frame_w == frame_w && mm->frame_h == frame_h && mm->mask_w == mask_w &&
	    mm->mask_h == mask_h)
		return 0;
	if (frame_w <= 0 || frame_h <= 0 || mask_w <= 0 || mask_h <= 0)
		return -1;
	int32_t *col = realloc(mm->col, (size_t)frame_w * sizeof *col);
	if (!col)
		return -1;
	mm->col = col;
	int32_t *row = realloc(mm->row, (size_t)frame_h * sizeof *row);
	if (!row)
		return -1;
	mm->row = row;
	/* Pixel centres: frame pixel x sits at (x + 0.5) / frame_w, inside mask pixel floor of that times mask_w. */
	for (int x = 0; x < frame_w; x++) {
		int64_t c = ((int64_t)(2 * x + 1) * mask_w) / (2 * (int64_t)frame_w);
		col[x] = (int32_t)(c < mask_w ? c : mask_w - 1);
	}
	for (int y = 0; y < frame_h; y++) {
		int64_t r = ((int64_t)(2 * y + 1) * mask_h) / (2 * (int64_t)frame_h);
		row[y] = (int32_t)(r < mask_h ? r : mask_h - 1);
	}
	mm->frame_w = frame_w;
	mm->frame_h = frame_h;
	mm->mask_w = mask_w;
	mm->mask_h = mask_h;
	return 0;
}

void vg_mask_map_free(vg_mask_map *mm)
{
	free(mm->col);
	free(mm->row);
	memset(mm, 0, sizeof *mm);
}

static inline uint8_t blend(uint8_t a, uint8_t b, int alpha)
{
	return (uint8_t)(((int)a * (256 - alpha) + (int)b * alpha + 128) >> 8);
}

int vg_draw_mask(vg_frame *f, const vg_seg_mask *m, vg_mask_map *mm, const uint8_t *skip, int alpha)
{
	if (m->w <= 0 || m->h <= 0)
		return 0;
	if (vg_mask_map_update(mm, f->width, f->height, m->w, m->h) < 0)
		return -1;
	if (alpha < 0)
		alpha = 0;
	if (alpha > 256)
		alpha = 256;
	uint8_t draw[VG_SEG_MAX_CLASSES + 1] = { 0 };
	vg_color color[VG_SEG_MAX_CLASSES + 1];
	for (int c = 1; c < m->classes; c++) {
		draw[c] = !(skip && skip[c]);
		/* Box colours shifted by ten: class 1's own is a pink that vanishes on skin, its shift a clear blue. */
		color[c] = vg_color_for_class(c + 10);
	}
	for (int y = 0; y < f->height; y++) {
		const uint8_t *mrow = m->cls + (size_t)mm->row[y] * (size_t)m->w;
		uint8_t *py = f->plane[0] + (size_t)y * (size_t)f->stride[0];
		for (int x = 0; x < f->width; x++) {
			int c = mrow[mm->col[x]];
			if (draw[c])
				py[x] = blend(py[x], color[c].y, alpha);
		}
	}
	int cw = (f->width + 1) / 2, ch = (f->height + 1) / 2;
	for (int y = 0; y < ch; y++) {
		const uint8_t *mrow = m->cls + (size_t)mm->row[2 * y] * (size_t)m->w;
		uint8_t *pu = f->plane[1] + (size_t)y * (size_t)f->stride[1];
		uint8_t *pv = f->plane[2] + (size_t)y * (size_t)f->stride[2];
		for (int x = 0; x < cw; x++) {
			int c = mrow[mm->col[2 * x]];
			if (draw[c]) {
				pu[x] = blend(pu[x], color[c].u, alpha);
				pv[x] = blend(pv[x], color[c].v, alpha);
			}
		}
	}
	return 0;
}

int vg_privacy_block(int width, int height)
{
	int side = width > height ? width : height;
	int b = side / 24;
	b &= ~1;
	return b < 8 ? 8 : b;
}

int vg_privacy_region_block(int width, int height, int region_w, int region_h)
{
	int b = vg_privacy_block(width, height);
	int side = region_w < region_h ? region_w : region_h;
	int own = (side / 8) & ~1;
	return own > b ? own : b;
}

/* The pixels to hide: those of the mask's classes in set, or, without a mask, every one. */
typedef struct region {
	const vg_seg_mask *m;
	const vg_mask_map *mm;
	const uint8_t *set;
} region;

static inline int hidden(const region *r, int x, int y)
{
	return !r->m || r->set[r->m->cls[(size_t)r->mm->row[y] * (size_t)r->m->w + (size_t)r->mm->col[x]]];
}

static void fill_region(vg_frame *f, int x0, int y0, int x1, int y1, const region *r, vg_color c)
{
	for (int y = y0; y < y1; y++) {
		uint8_t *py = f->plane[0] + (size_t)y * (size_t)f->stride[0];
		for (int x = x0; x < x1; x++)
			if (hidden(r, x, y))
				py[x] = c.y;
	}
	for (int y = y0 / 2; y < (y1 + 1) / 2; y++) {
		uint8_t *pu = f->plane[1] + (size_t)y * (size_t)f->stride[1];
		uint8_t *pv = f->plane[2] + (size_t)y * (size_t)f->stride[2];
		int ys = 2 * y < y0 ? y0 : 2 * y;
		for (int x = x0 / 2; x < (x1 + 1) / 2; x++) {
			int xs = 2 * x < x0 ? x0 : 2 * x;
			if (hidden(r, xs, ys)) {
				pu[x] = c.u;
				pv[x] = c.v;
			}
		}
	}
}

/*
 * Pixelation on a grid of b x b blocks fixed to the frame (b even, so the
 * chroma blocks line up): a block with a pixel to hide has its hidden
 * pixels replaced by the block's mean. A block holds the frame's pixels
 * whether hidden or not, so the mean of a block on the edge of a person
 * mixes in the background, which reveals nothing of the person. Blocks
 * this large (a 720p frame's are 52 pixels, at least) leave a face a few
 * blocks across, which no one can recognise; vg_privacy_region_block makes
 * them larger for a region that fills much of the picture.
 */
static void pixelate_region(vg_frame *f, int x0, int y0, int x1, int y1, const region *r, int b)
{
	int cw = (f->width + 1) / 2, ch = (f->height + 1) / 2;
	for (int by = (y0 / b) * b; by < y1; by += b) {
		int ye = by + b < f->height ? by + b : f->height;
		int ry0 = by > y0 ? by : y0, ry1 = ye < y1 ? ye : y1;
		for (int bx = (x0 / b) * b; bx < x1; bx += b) {
			int xe = bx + b < f->width ? bx + b : f->width;
			int rx0 = bx > x0 ? bx : x0, rx1 = xe < x1 ? xe : x1;
			int any = 0;
			for (int y = ry0; y < ry1 && !any; y++)
				for (int x = rx0; x < rx1; x++)
					if (hidden(r, x, y)) {
						any = 1;
						break;
					}
			if (!any)
				continue;
			uint32_t sy = 0, su = 0, sv = 0;
			for (int y = by; y < ye; y++) {
				const uint8_t *py = f->plane[0] + (size_t)y * (size_t)f->stride[0];
				for (int x = bx; x < xe; x++)
					sy += py[x];
			}
			int cy0 = by / 2, cy1 = (by + b) / 2 < ch ? (by + b) / 2 : ch;
			int cx0 = bx / 2, cx1 = (bx + b) / 2 < cw ? (bx + b) / 2 : cw;
			for (int y = cy0; y < cy1; y++) {
				const uint8_t *pu = f->plane[1] + (size_t)y * (size_t)f->stride[1];
				const uint8_t *pv = f->plane[2] + (size_t)y * (size_t)f->stride[2];
				for (int x = cx0; x < cx1; x++) {
					su += pu[x];
					sv += pv[x];
				}
			}
			uint32_t n = (uint32_t)((ye - by) * (xe - bx)), nc = (uint32_t)((cy1 - cy0) * (cx1 - cx0));
			vg_color mean = { (uint8_t)((sy + n / 2) / n), nc ? (uint8_t)((su + nc / 2) / nc) : 128,
					  nc ? (uint8_t)((sv + nc / 2) / nc) : 128 };
			fill_region(f, rx0, ry0, rx1, ry1, r, mean);
		}
	}
}

static void hide(vg_frame *f, int x0, int y0, int x1, int y1, const region *r, const vg_privacy_options *o)
{
	if (x0 < 0)
		x0 = 0;
	if (y0 < 0)
		y0 = 0;
	if (x1 > f->width)
		x1 = f->width;
	if (y1 > f->height)
		y1 = f->height;
	if (x1 <= x0 || y1 <= y0)
		return;
	if (o->mode == VG_PRIVACY_FILL)
		fill_region(f, x0, y0, x1, y1, r, o->fill);
	else
		pixelate_region(f, x0, y0, x1, y1, r, vg_privacy_region_block(f->width, f->height, x1 - x0, y1 - y0));
}

int vg_privacy_mask(vg_frame *f, const vg_seg_mask *m, vg_mask_map *mm, const uint8_t *set,
		    const vg_privacy_options *o)
{
	if (o->mode == VG_PRIVACY_OFF || m->w <= 0 || m->h <= 0)
		return 0;
	if (vg_mask_map_update(mm, f->width, f->height, m->w, m->h) < 0) {
		vg_privacy_rect(f, 0, 0, f->width, f->height, o);
		return -1;
	}
	/* Only the bounding box of the hidden classes, found on the small mask, is walked at frame size. */
	int mx0 = m->w, my0 = m->h, mx1 = -1, my1 = -1;
	for (int y = 0; y < m->h; y++) {
		const uint8_t *row = m->cls + (size_t)y * (size_t)m->w;
		for (int x = 0; x < m->w; x++)
			if (set[row[x]]) {
				if (x < mx0)
					mx0 = x;
				if (x > mx1)
					mx1 = x;
				if (y < my0)
					my0 = y;
				if (y > my1)
					my1 = y;
			}
	}
	if (mx1 < 0)
		return 0;
	/* Frame pixels whose centres fall in mask columns mx0..mx1, with a pixel to spare. */
	int x0 = (int)((int64_t)mx0 * f->width / m->w) - 1, x1 = (int)((int64_t)(mx1 + 1) * f->width / m->w) + 2;
	int y0 = (int)((int64_t)my0 * f->height / m->h) - 1, y1 = (int)((int64_t)(my1 + 1) * f->height / m->h) + 2;
	region r = { m, mm, set };
	hide(f, x0, y0, x1, y1, &r, o);
	return 0;
}

void vg_privacy_rect(vg_frame *f, int x0, int y0, int x1, int y1, const vg_privacy_options *o)
{
	if (o->mode == VG_PRIVACY_OFF)
		return;
	region r = { NULL, NULL, NULL };
	hide(f, x0, y0, x1, y1, &r, o);
}

void vg_privacy_detections(vg_frame *f, const vg_detection *dets, int n, const uint8_t *set,
			   const vg_privacy_options *o)
{
	for (int i = 0; i < n; i++) {
		const vg_detection *d = &dets[i];
		if (d->whole_frame || d->class_id < 0 || d->class_id >= VG_SEG_MAX_CLASSES || !set[d->class_id])
			continue;
		/* Outward rounding: a box's edge pixel is hidden rather than shown. */
		int x0 = (int)(d->x0 * (float)f->width), y0 = (int)(d->y0 * (float)f->height);
		int x1 = (int)(d->x1 * (float)f->width + 0.999f), y1 = (int)(d->y1 * (float)f->height + 0.999f);
		vg_privacy_rect(f, x0, y0, x1, y1, o);
	}
}
