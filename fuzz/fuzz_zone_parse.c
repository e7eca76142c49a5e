/*
 * libFuzzer target for the --zone and --line parsers and the mask parser
 * (src/track): any bytes are read as a flag's value. A parse either fails
 * with a message that starts with "zone", "line" or "mask", or gives a
 * definition whose invariants hold: a valid name, coordinates within 0..1,
 * a polygon of 3 to VG_POLYGON_MAX_POINTS points that contains its own
 * vertices, a line of distinct ends whose side test and crossing step stay
 * consistent. A parsed zone is also drawn on a small frame (the overlay's
 * polygon fill). The first byte chooses the parser, so one corpus serves all
 * three; a fourth choice reads the bytes as tracked boxes (any floats: NaN,
 * infinities, huge) fed to a camera's zones and lines, whose table must stay
 * bounded.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/frame.h"
#include "render/overlay.h"
#include "track/lines.h"
#include "track/zones.h"

static void check_polygon(const vg_polygon *p)
{
	if (p->n < 3 || p->n > VG_POLYGON_MAX_POINTS)
		abort();
	for (int i = 0; i < p->n; i++) {
		if (!(p->x[i] >= 0 && p->x[i] <= 1 && p->y[i] >= 0 && p->y[i] <= 1))
			abort();
		/* Vertices are on the outline, which is inside. */
		if (!vg_polygon_contains(p, p->x[i], p->y[i]))
			abort();
	}
}

static void draw_zone(const vg_zone_def *d)
{
	static vg_frame_pool *pool;
	if (!pool)
		pool = vg_frame_pool_create(66, 50);
	vg_frame *f = pool ? vg_frame_pool_get(pool) : NULL;
	if (!f)
		return;
	vg_overlay_zone(f, d, 3, vg_overlay_zone_color(1));
	vg_frame_unref(f);
}

/* Boxes of 17 bytes: a track id (0..15, so ids repeat), then x0, y0, x1, y1 as raw floats. */
static void feed_boxes(const uint8_t *data, size_t size)
{
	char err[256];
	vg_zone_def zd;
	vg_line_def ld;
	if (vg_zone_parse("z:0.1,0.1,0.9,0.2,0.5,0.9", &zd, err, sizeof err) < 0 ||
	    vg_line_parse("l:0.1,0.5,0.9,0.5", &ld, err, sizeof err) < 0)
		abort();
	zd.inertia = 1;
	zd.loitering_time_s = 0.5;
	vg_zones *z = vg_zones_create(&zd, 1, &ld, 1, 4, 1000000, NULL, NULL);
	if (!z)
		return;
	vg_zone_obj objs[8];
	int n = 0;
	int64_t t = 0;
	for (size_t off = 0; off + 17 <= size; off += 17) {
		vg_zone_obj *o = &objs[n++];
		float v[4];
		memcpy(v, data + off + 1, sizeof v);
		*o = (vg_zone_obj){ data[off] % 16, 0, (data[off] & 16) ? "a" : "b", v[0], v[1], v[2], v[3] };
		if (n == 8 || off + 34 > size) {
			vg_zones_update(z, objs, n, t += 400000);
			n = 0;
			if (vg_zones_tracked(z) > 4 || vg_zones_objects(z, 0, NULL) > 4)
				abort();
		}
	}
	vg_zones_destroy(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int which = data[0] % 4;
	if (which == 3) {
		feed_boxes(data + 1, size - 1);
		return 0;
	}
	char *in = malloc(size);
	if (!in)
		return 0;
	memcpy(in, data + 1, size - 1);
	in[size - 1] = '\0';
	char err[512];
	err[0] = '\0';
	if (which == 0) {
		vg_zone_def d;
		if (vg_zone_parse(in, &d, err, sizeof err) < 0) {
			if (strncmp(err, "zone", 4) != 0)
				abort();
		} else {
			if (!vg_track_name_valid(d.name) || d.inertia != VG_ZONE_INERTIA)
				abort();
			check_polygon(&d.poly);
			draw_zone(&d);
		}
	} else if (which == 1) {
		vg_line_def d;
		if (vg_line_parse(in, &d, err, sizeof err) < 0) {
			if (strncmp(err, "line", 4) != 0)
				abort();
		} else {
			if (!vg_track_name_valid(d.name) || (d.ax == d.bx && d.ay == d.by))
				abort();
			if (!(d.ax >= 0 && d.ax <= 1 && d.ay >= 0 && d.ay <= 1 && d.bx >= 0 && d.bx <= 1 && d.by >= 0 &&
			      d.by <= 1))
				abort();
			/* A and B lie on their own line; a jump from far on one side to far on the other through the middle crosses it. */
			if (fabs(vg_line_side(&d, d.ax, d.ay)) > 1e-6 || fabs(vg_line_side(&d, d.bx, d.by)) > 1e-6)
				abort();
			double dx = (double)d.bx - d.ax, dy = (double)d.by - d.ay, len = hypot(dx, dy);
			double mx = (d.ax + d.bx) / 2.0, my = (d.ay + d.by) / 2.0, nx = -dy / len, ny = dx / len;
			vg_line_track st = { 0 };
			int a = vg_line_step(&d, &st, (float)(mx - 0.5 * nx), (float)(my - 0.5 * ny));
			int b = vg_line_step(&d, &st, (float)(mx + 0.5 * nx), (float)(my + 0.5 * ny));
			int c = vg_line_step(&d, &st, (float)(mx - 0.5 * nx), (float)(my - 0.5 * ny));
			if (a != -1 || b != VG_LINE_IN || c != VG_LINE_OUT)
				abort();
		}
	} else {
		vg_polygon p;
		if (vg_polygon_parse(in, &p, err, sizeof err) < 0) {
			if (strncmp(err, "mask", 4) != 0)
				abort();
		} else {
			check_polygon(&p);
		}
	}
	free(in);
	return 0;
}
