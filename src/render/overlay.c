#include "render/overlay.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include "render/font.h"

vg_color vg_overlay_zone_color(int index)
{
	/* Shifted from the box colours' start so that a zone's fill seldom matches its people's boxes. */
	return vg_color_for_class(index * 3 + 7);
}

static inline uint8_t blend(uint8_t a, uint8_t b, int alpha)
{
	return (uint8_t)(((int)a * (256 - alpha) + (int)b * alpha + 128) >> 8);
}

/*
 * The x coordinates (pixels) where the row at height yc crosses the polygon's
 * outline, sorted; px, py are the vertices in pixels. Returns their number.
 */
static int row_crossings(const double *px, const double *py, int n, double yc, double *xs)
{
	int k = 0;
	for (int i = 0, j = n - 1; i < n; j = i++) {
		if ((py[i] > yc) != (py[j] > yc))
			xs[k++] = px[i] + (yc - py[i]) * (px[j] - px[i]) / (py[j] - py[i]);
	}
	/* Insertion sort: at most VG_POLYGON_MAX_POINTS crossings. */
	for (int i = 1; i < k; i++) {
		double v = xs[i];
		int j = i - 1;
		while (j >= 0 && xs[j] > v) {
			xs[j + 1] = xs[j];
			j--;
		}
		xs[j + 1] = v;
	}
	return k;
}

/* First index whose sample centre (index * step + off) is at or past x, clamped to [0, limit]. */
static int first_at(double x, double step, double off, int limit)
{
	double v = ceil((x - off) / step);
	if (!(v > 0))
		return 0;
	return v > limit ? limit : (int)v;
}

void vg_overlay_fill_polygon(vg_frame *f, const vg_polygon *p, vg_color c, int alpha)
{
	int n = p->n < VG_POLYGON_MAX_POINTS ? p->n : VG_POLYGON_MAX_POINTS;
	if (n < 3)
		return;
	if (alpha < 0)
		alpha = 0;
	if (alpha > 256)
		alpha = 256;
	double px[VG_POLYGON_MAX_POINTS], py[VG_POLYGON_MAX_POINTS], xs[VG_POLYGON_MAX_POINTS];
	double ymin = INFINITY, ymax = -INFINITY;
	for (int i = 0; i < n; i++) {
		if (!isfinite(p->x[i]) || !isfinite(p->y[i]))
			return;
		px[i] = (double)p->x[i] * f->width;
		py[i] = (double)p->y[i] * f->height;
		ymin = fmin(ymin, py[i]);
		ymax = fmax(ymax, py[i]);
	}
	/* Luma: pixel centres at (x + 0.5, y + 0.5). */
	int y0 = first_at(ymin, 1, 0.5, f->height), y1 = first_at(ymax, 1, 0.5, f->height);
	for (int y = y0; y < y1; y++) {
		int k = row_crossings(px, py, n, y + 0.5, xs);
		uint8_t *row = f->plane[0] + (size_t)y * (size_t)f->stride[0];
		for (int s = 0; s + 1 < k; s += 2) {
			int xa = first_at(xs[s], 1, 0.5, f->width), xb = first_at(xs[s + 1], 1, 0.5, f->width);
			for (int x = xa; x < xb; x++)
				row[x] = blend(row[x], c.y, alpha);
		}
	}
	/* Chroma: a sample stands for a 2x2 block, centred at (2x + 1, 2y + 1) in luma pixels. */
	int cw = (f->width + 1) / 2, ch = (f->height + 1) / 2;
	int cy0 = first_at(ymin, 2, 1, ch), cy1 = first_at(ymax, 2, 1, ch);
	for (int y = cy0; y < cy1; y++) {
		int k = row_crossings(px, py, n, 2.0 * y + 1, xs);
		uint8_t *u = f->plane[1] + (size_t)y * (size_t)f->stride[1];
		uint8_t *v = f->plane[2] + (size_t)y * (size_t)f->stride[2];
		for (int s = 0; s + 1 < k; s += 2) {
			int xa = first_at(xs[s], 2, 1, cw), xb = first_at(xs[s + 1], 2, 1, cw);
			for (int x = xa; x < xb; x++) {
				u[x] = blend(u[x], c.u, alpha);
				v[x] = blend(v[x], c.v, alpha);
			}
		}
	}
}

/* A text label on a filled background with its top-left at (x, y), moved inside the frame. */
static void label_at(vg_frame *f, int x, int y, const char *text, vg_color bg)
{
	int scale = vg_draw_scale(f), pad = 2 * scale;
	int w = vg_text_width(text, scale) + 2 * pad, h = VG_FONT_H * scale + 2 * pad;
	if (x + w > f->width)
		x = f->width - w;
	if (y + h > f->height)
		y = f->height - h;
	if (x < 0)
		x = 0;
	if (y < 0)
		y = 0;
	vg_draw_fill(f, x, y, x + w, y + h, bg);
	vg_draw_text(f, x + pad, y + pad, text, scale, vg_color_text_on(bg));
}

void vg_overlay_zone(vg_frame *f, const vg_zone_def *z, int count, vg_color c)
{
	const vg_polygon *p = &z->poly;
	int n = p->n < VG_POLYGON_MAX_POINTS ? p->n : VG_POLYGON_MAX_POINTS;
	if (n < 3)
		return;
	vg_overlay_fill_polygon(f, p, c, VG_OVERLAY_ALPHA);
	int scale = vg_draw_scale(f);
	double w = f->width, h = f->height;
	int top = 0;
	for (int i = 0, j = n - 1; i < n; j = i++) {
		vg_draw_line(f, p->x[j] * w, p->y[j] * h, p->x[i] * w, p->y[i] * h, scale, c);
		if (p->y[i] < p->y[top])
			top = i;
	}
	char text[96];
	snprintf(text, sizeof text, "%s %d", z->name, count);
	/* Above the topmost vertex when there is room, so that the label hides little of the zone. */
	int lh = VG_FONT_H * scale + 4 * scale;
	int ly = (int)(p->y[top] * h) - lh;
	label_at(f, (int)(p->x[top] * w), ly < 0 ? (int)(p->y[top] * h) : ly, text, c);
}

void vg_overlay_line(vg_frame *f, const vg_line_def *l, const uint64_t counts[2], vg_color c)
{
	int scale = vg_draw_scale(f);
	double w = f->width, h = f->height;
	double ax = l->ax * w, ay = l->ay * h, bx = l->bx * w, by = l->by * h;
	double dx = bx - ax, dy = by - ay, len = hypot(dx, dy);
	if (!(len > 0) || !isfinite(len))
		return;
	vg_draw_line(f, ax, ay, bx, by, scale + 1, c);
	/*
	 * (-dy, dx) points to the right of A->B in pixel coordinates with y
	 * down, the side "in" leads to (a positive scaling of the axes keeps
	 * the side, so the normalised rule holds on any frame shape).
	 */
	double nx = -dy / len, ny = dx / len;
	double shorter = w < h ? w : h, arrow = fmax(12.0, shorter / 14.0), head = arrow * 0.4;
	double mx = (ax + bx) / 2, my = (ay + by) / 2, tx = mx + nx * arrow, ty = my + ny * arrow;
	vg_draw_line(f, mx, my, tx, ty, scale + 1, c);
	/* The head: two strokes back from the tip, 30 degrees either side of the shaft. */
	const double cs = cos(M_PI / 6), sn = sin(M_PI / 6);
	vg_draw_line(f, tx, ty, tx - head * (nx * cs - ny * sn), ty - head * (ny * cs + nx * sn), scale + 1, c);
	vg_draw_line(f, tx, ty, tx - head * (nx * cs + ny * sn), ty - head * (ny * cs - nx * sn), scale + 1, c);
	char text[128];
	snprintf(text, sizeof text, "%s %s:%" PRIu64 " %s:%" PRIu64, l->name, l->dir_name[VG_LINE_IN], counts[VG_LINE_IN],
		 l->dir_name[VG_LINE_OUT], counts[VG_LINE_OUT]);
	/*
	 * On the "out" side of the middle, clear of the arrow: the label's centre
	 * is as far from the line as half the label's extent across it, and a bit.
	 */
	int tw = vg_text_width(text, scale) + 4 * scale, th = VG_FONT_H * scale + 4 * scale;
	double away = fabs(nx) * tw / 2.0 + fabs(ny) * th / 2.0 + 3 * scale + 2;
	double cx = mx - nx * away, cy = my - ny * away;
	label_at(f, (int)(cx - tw / 2.0), (int)(cy - th / 2.0), text, c);
}

void vg_overlay_draw(vg_frame *f, vg_zones *z)
{
	if (!z)
		return;
	for (int i = 0; i < vg_zones_count(z); i++)
		vg_overlay_zone(f, vg_zones_zone(z, i), vg_zones_objects(z, i, NULL), vg_overlay_zone_color(i));
	for (int i = 0; i < vg_zones_line_count(z); i++) {
		uint64_t counts[2];
		vg_zones_line_totals(z, i, counts);
		vg_overlay_line(f, vg_zones_line(z, i), counts, vg_color_rgb(255, 214, 0));
	}
}
