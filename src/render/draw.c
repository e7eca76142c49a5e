#include "render/draw.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "detect/keypoints.h"
#include "render/font.h"

static uint8_t clamp_u8(double v)
{
	return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)(v + 0.5);
}

vg_color vg_color_rgb(uint8_t r, uint8_t g, uint8_t b)
{
	vg_color c = {
		clamp_u8(0.299 * r + 0.587 * g + 0.114 * b),
		clamp_u8(-0.168736 * r - 0.331264 * g + 0.5 * b + 128),
		clamp_u8(0.5 * r - 0.418688 * g - 0.081312 * b + 128),
	};
	return c;
}

vg_color vg_color_for_class(int class_id)
{
	/* Saturated, easily told apart on video; cycles for large class counts. */
	static const uint8_t palette[][3] = {
		{ 255, 56, 56 },  { 255, 157, 151 }, { 255, 112, 31 }, { 255, 178, 29 }, { 207, 210, 49 },
		{ 72, 249, 10 },  { 146, 204, 23 },  { 61, 219, 134 }, { 26, 147, 52 },  { 0, 212, 187 },
		{ 44, 153, 168 }, { 0, 194, 255 },   { 52, 69, 147 },  { 100, 115, 255 }, { 0, 24, 236 },
		{ 132, 56, 255 }, { 82, 0, 133 },    { 203, 56, 255 }, { 255, 149, 200 }, { 255, 55, 199 },
	};
	const uint8_t *p = palette[(unsigned)class_id % (sizeof palette / sizeof palette[0])];
	return vg_color_rgb(p[0], p[1], p[2]);
}

vg_color vg_color_text_on(vg_color bg)
{
	return bg.y > 140 ? vg_color_rgb(0, 0, 0) : vg_color_rgb(255, 255, 255);
}

static int clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

void vg_draw_fill(vg_frame *f, int x0, int y0, int x1, int y1, vg_color c)
{
	x0 = clampi(x0, 0, f->width);
	x1 = clampi(x1, 0, f->width);
	y0 = clampi(y0, 0, f->height);
	y1 = clampi(y1, 0, f->height);
	if (x0 >= x1 || y0 >= y1)
		return;
	for (int y = y0; y < y1; y++)
		memset(f->plane[0] + (size_t)y * f->stride[0] + x0, c.y, (size_t)(x1 - x0));
	/* Chroma is subsampled 2x2: cover every chroma sample the luma area touches. */
	int cx0 = x0 / 2, cx1 = (x1 + 1) / 2, cy0 = y0 / 2, cy1 = (y1 + 1) / 2;
	for (int y = cy0; y < cy1; y++) {
		memset(f->plane[1] + (size_t)y * f->stride[1] + cx0, c.u, (size_t)(cx1 - cx0));
		memset(f->plane[2] + (size_t)y * f->stride[2] + cx0, c.v, (size_t)(cx1 - cx0));
	}
}

void vg_draw_rect(vg_frame *f, int x0, int y0, int x1, int y1, int thickness, vg_color c)
{
	if (thickness < 1)
		thickness = 1;
	vg_draw_fill(f, x0, y0, x1, y0 + thickness, c);
	vg_draw_fill(f, x0, y1 - thickness, x1, y1, c);
	vg_draw_fill(f, x0, y0, x0 + thickness, y1, c);
	vg_draw_fill(f, x1 - thickness, y0, x1, y1, c);
}

int vg_text_width(const char *text, int scale)
{
	return (int)strlen(text) * VG_FONT_W * scale;
}

static void put_pixel(vg_frame *f, int x, int y, vg_color c)
{
	if (x < 0 || y < 0 || x >= f->width || y >= f->height)
		return;
	f->plane[0][(size_t)y * f->stride[0] + x] = c.y;
	f->plane[1][(size_t)(y / 2) * f->stride[1] + x / 2] = c.u;
	f->plane[2][(size_t)(y / 2) * f->stride[2] + x / 2] = c.v;
}

int vg_draw_text(vg_frame *f, int x, int y, const char *text, int scale, vg_color c)
{
	if (scale < 1)
		scale = 1;
	int pen = x;
	for (const unsigned char *s = (const unsigned char *)text; *s; s++) {
		unsigned ch = *s;
		const unsigned char *glyph = vg_font8x16[(ch >= 0x20 && ch < 0x7f ? ch : '?') - 0x20];
		for (int row = 0; row < VG_FONT_H; row++) {
			for (int col = 0; col < VG_FONT_W; col++) {
				if (!(glyph[row] & (0x80 >> col)))
					continue;
				for (int dy = 0; dy < scale; dy++)
					for (int dx = 0; dx < scale; dx++)
						put_pixel(f, pen + col * scale + dx, y + row * scale + dy, c);
			}
		}
		pen += VG_FONT_W * scale;
	}
	return pen - x;
}

/*
 * Clips the segment to the rectangle [lo_x, hi_x] x [lo_y, hi_y]
 * (Liang-Barsky). Returns 0 when nothing of it is inside.
 */
static int clip_segment(double *x0, double *y0, double *x1, double *y1, double lo_x, double lo_y, double hi_x,
			double hi_y)
{
	double dx = *x1 - *x0, dy = *y1 - *y0, t0 = 0, t1 = 1;
	const double p[4] = { -dx, dx, -dy, dy };
	const double q[4] = { *x0 - lo_x, hi_x - *x0, *y0 - lo_y, hi_y - *y0 };
	for (int i = 0; i < 4; i++) {
		if (p[i] == 0) {
			if (q[i] < 0)
				return 0;
			continue;
		}
		double t = q[i] / p[i];
		if (p[i] < 0) {
			if (t > t1)
				return 0;
			if (t > t0)
				t0 = t;
		} else {
			if (t < t0)
				return 0;
			if (t < t1)
				t1 = t;
		}
	}
	double sx = *x0, sy = *y0;
	*x0 = sx + t0 * dx;
	*y0 = sy + t0 * dy;
	*x1 = sx + t1 * dx;
	*y1 = sy + t1 * dy;
	return 1;
}

void vg_draw_line(vg_frame *f, double x0, double y0, double x1, double y1, int width, vg_color c)
{
	if (width < 1)
		width = 1;
	if (!isfinite(x0) || !isfinite(y0) || !isfinite(x1) || !isfinite(y1))
		return;
	/* Clipping first keeps the walk short (and in int range) whatever the end points. */
	double margin = width;
	if (!clip_segment(&x0, &y0, &x1, &y1, -margin, -margin, f->width + margin, f->height + margin))
		return;
	int ax = (int)lround(x0), ay = (int)lround(y0), bx = (int)lround(x1), by = (int)lround(y1);
	int dx = ax < bx ? bx - ax : ax - bx, dy = ay < by ? ay - by : by - ay;
	int sx = ax < bx ? 1 : -1, sy = ay < by ? 1 : -1, err = dx + dy;
	int half = width / 2;
	/* Bresenham's walk; each step stamps a width x width square, which makes the line that wide. */
	for (;;) {
		vg_draw_fill(f, ax - half, ay - half, ax - half + width, ay - half + width, c);
		if (ax == bx && ay == by)
			break;
		int e2 = 2 * err;
		if (e2 >= dy) {
			err += dy;
			ax += sx;
		}
		if (e2 <= dx) {
			err += dx;
			ay += sy;
		}
	}
}

static void fill_disc(vg_frame *f, int cx, int cy, int r, vg_color c)
{
	for (int dy = -r; dy <= r; dy++) {
		/* r * r + r rounds the disc's outline rather than leaving a lone pixel at each pole. */
		int ext = (int)sqrt((double)(r * r + r - dy * dy));
		vg_draw_fill(f, cx - ext, cy + dy, cx + ext + 1, cy + dy + 1, c);
	}
}

void vg_draw_dot(vg_frame *f, double x, double y, int radius, int outline, vg_color fill, vg_color edge)
{
	if (!isfinite(x) || !isfinite(y) || radius < 0 || outline < 0)
		return;
	int reach = radius + outline;
	if (x < -reach || y < -reach || x > f->width + reach || y > f->height + reach)
		return;
	int cx = (int)lround(x), cy = (int)lround(y);
	if (outline > 0)
		fill_disc(f, cx, cy, reach, edge);
	fill_disc(f, cx, cy, radius, fill);
}

static int keypoint_shown(const vg_keypoint *k)
{
	return k->score >= VG_KEYPOINT_MIN_SCORE && isfinite(k->x) && isfinite(k->y);
}

void vg_draw_keypoints(vg_frame *f, const vg_detection *d, vg_color line)
{
	int n = d->n_keypoints < VG_MAX_KEYPOINTS ? d->n_keypoints : VG_MAX_KEYPOINTS;
	if (n <= 0)
		return;
	int scale = vg_draw_scale(f);
	double w = f->width, h = f->height;
	const vg_keypoint *k = d->keypoints;
	if (d->layout && d->layout->edges) {
		for (int e = 0; e < d->layout->n_edges; e++) {
			int a = d->layout->edges[e][0], b = d->layout->edges[e][1];
			if (a >= n || b >= n || !keypoint_shown(&k[a]) || !keypoint_shown(&k[b]))
				continue;
			vg_draw_line(f, k[a].x * w, k[a].y * h, k[b].x * w, k[b].y * h, scale + 1, line);
		}
	}
	/* Dots on top of the lines, white ringed with black: they show on any background and any line colour. */
	vg_color fill = vg_color_rgb(255, 255, 255), edge = vg_color_rgb(0, 0, 0);
	for (int i = 0; i < n; i++)
		if (keypoint_shown(&k[i]))
			vg_draw_dot(f, k[i].x * w, k[i].y * h, scale + 1, (scale + 1) / 2, fill, edge);
}

int vg_draw_scale(const vg_frame *f)
{
	int shorter = f->width < f->height ? f->width : f->height;
	return shorter >= 1000 ? 3 : shorter >= 600 ? 2 : 1;
}

void vg_draw_detections(vg_frame *f, const vg_detection *dets, int count)
{
	int scale = vg_draw_scale(f);
	int thick = scale + 1;
	int pad = 2 * scale;
	int label_h = VG_FONT_H * scale + 2 * pad;
	int list_y = label_h + 4 * scale; /* whole-frame (classifier) labels stack below the status line */
	for (int i = 0; i < count; i++) {
		const vg_detection *d = &dets[i];
		if (d->whole_frame) {
			char text[80];
			snprintf(text, sizeof text, "%s %d%%", d->label[0] ? d->label : "?", (int)(d->score * 100.0f + 0.5f));
			vg_color c = vg_color_for_class(d->class_id);
			vg_draw_fill(f, 0, list_y, vg_text_width(text, scale) + 2 * pad, list_y + label_h, c);
			vg_draw_text(f, pad, list_y + pad, text, scale, vg_color_text_on(c));
			list_y += label_h;
			continue;
		}
		int x0 = (int)(d->x0 * (float)f->width), x1 = (int)(d->x1 * (float)f->width);
		int y0 = (int)(d->y0 * (float)f->height), y1 = (int)(d->y1 * (float)f->height);
		vg_color c = vg_color_for_class(d->class_id);
		vg_draw_rect(f, x0, y0, x1, y1, thick, c);
		vg_draw_keypoints(f, d, c);

		char text[80];
		int pct = (int)(d->score * 100.0f + 0.5f);
		char track[16] = "";
		if (d->track_id > 0)
			snprintf(track, sizeof track, " #%d", d->track_id);
		if (d->label[0])
			snprintf(text, sizeof text, "%.47s%s %d%%", d->label, track, pct);
		else
			snprintf(text, sizeof text, "class %d%s %d%%", d->class_id, track, pct);
		int tw = vg_text_width(text, scale) + 2 * pad;
		int ly = y0 - label_h >= 0 ? y0 - label_h : y0; /* above the box, or inside it at the top edge */
		int lx = x0 + tw <= f->width ? x0 : f->width - tw;
		vg_draw_fill(f, lx, ly, lx + tw, ly + label_h, c);
		vg_draw_text(f, lx + pad, ly + pad, text, scale, vg_color_text_on(c));
		/* A second-stage classifier's answers, one line each under the label, light on dark. */
		int ay = ly + label_h;
		int na = d->n_attributes < VG_MAX_ATTRIBUTES ? d->n_attributes : VG_MAX_ATTRIBUTES;
		for (int k = 0; k < na; k++, ay += label_h) {
			const vg_attribute *a = &d->attributes[k];
			float sc = a->score >= -1e6f && a->score <= 1e6f ? a->score : 0; /* NaN too */
			snprintf(text, sizeof text, "%.63s %d%%", a->label[0] ? a->label : "?", (int)lroundf(sc * 100.0f));
			int aw = vg_text_width(text, scale) + 2 * pad;
			int ax = x0 + aw <= f->width ? x0 : f->width - aw;
			vg_draw_fill(f, ax, ay, ax + aw, ay + label_h, vg_color_rgb(24, 24, 24));
			vg_draw_text(f, ax + pad, ay + pad, text, scale, vg_color_rgb(255, 255, 255));
		}
	}
}

void vg_draw_trail(vg_frame *f, const float (*points)[2], int n, float x, float y, vg_color c)
{
	if (n <= 0)
		return;
	int width = vg_draw_scale(f);
	double w = f->width, h = f->height;
	for (int i = 1; i < n; i++)
		vg_draw_line(f, points[i - 1][0] * w, points[i - 1][1] * h, points[i][0] * w, points[i][1] * h, width, c);
	vg_draw_line(f, points[n - 1][0] * w, points[n - 1][1] * h, x * w, y * h, width, c);
}

void vg_draw_status(vg_frame *f, const char *text)
{
	int scale = vg_draw_scale(f);
	int pad = 3 * scale;
	vg_draw_fill(f, 0, 0, vg_text_width(text, scale) + 2 * pad, VG_FONT_H * scale + 2 * pad,
		     vg_color_rgb(16, 16, 16));
	vg_draw_text(f, pad, pad, text, scale, vg_color_rgb(255, 255, 255));
}
