#include "store/snapshot.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/dirs.h"
#include "render/draw.h"

static int clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

void vg_snapshot_crop_rect(const float box[4], int width, int height, int *x, int *y, int *w, int *h)
{
	double bw = (double)(box[2] - box[0]) * width, bh = (double)(box[3] - box[1]) * height;
	double cx = (double)(box[0] + box[2]) / 2 * width, cy = (double)(box[1] + box[3]) / 2 * height;
	double cw = bw * 1.4, ch = bh * 1.4;
	if (!(cw >= VG_SNAPSHOT_MIN_CROP))
		cw = VG_SNAPSHOT_MIN_CROP;
	if (!(ch >= VG_SNAPSHOT_MIN_CROP))
		ch = VG_SNAPSHOT_MIN_CROP;
	if (!(cx == cx))
		cx = width / 2.0;
	if (!(cy == cy))
		cy = height / 2.0;
	int ww = clampi((int)lround(cw), 2, width) & ~1, hh = clampi((int)lround(ch), 2, height) & ~1;
	/* Moved, not cut, at the frame's edges, so that the crop keeps its size. */
	int x0 = clampi((int)lround(cx - ww / 2.0), 0, width - ww) & ~1;
	int y0 = clampi((int)lround(cy - hh / 2.0), 0, height - hh) & ~1;
	*x = x0;
	*y = y0;
	*w = ww;
	*h = hh;
}

static int write_jpeg(vg_jpeg_encoder *enc, const vg_frame *f, const char *path, char *err, size_t errlen)
{
	size_t cap = vg_jpeg_max_size(f->width, f->height);
	uint8_t *buf = malloc(cap);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	size_t len = vg_jpeg_encode(enc, f, buf, cap);
	char tmp[4096 + 8];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int rc = -1;
	if (len == 0) {
		snprintf(err, errlen, "%s: the frame could not be compressed", path);
	} else if (vg_make_parent_dirs(path, NULL, 0) != 0) {
		snprintf(err, errlen, "%s: cannot make its folder: %s", path, strerror(errno));
	} else {
		FILE *fp = fopen(tmp, "wb");
		int ok = fp && fwrite(buf, 1, len, fp) == len;
		int saved = errno;
		if (fp && fclose(fp) != 0)
			ok = 0, saved = errno;
		if (ok && rename(tmp, path) == 0)
			rc = 0;
		else
			snprintf(err, errlen, "%s: %s", path, strerror(ok ? errno : saved ? saved : EIO));
		if (rc != 0)
			unlink(tmp);
	}
	free(buf);
	return rc;
}

int vg_snapshot_save(vg_jpeg_encoder *enc, const vg_snapshot *s, const char *full_path, const char *crop_path,
		     char *err, size_t errlen)
{
	const vg_frame *f = s->frame;
	/* The crop is a view into the frame's planes: nothing is copied. */
	int x, y, w, h;
	const float box[4] = { s->object.x0, s->object.y0, s->object.x1, s->object.y1 };
	vg_snapshot_crop_rect(box, f->width, f->height, &x, &y, &w, &h);
	vg_frame crop = { .id = f->id, .capture_wall_us = f->capture_wall_us, .width = w, .height = h };
	crop.plane[0] = f->plane[0] + (size_t)y * (size_t)f->stride[0] + (size_t)x;
	crop.plane[1] = f->plane[1] + (size_t)(y / 2) * (size_t)f->stride[1] + (size_t)(x / 2);
	crop.plane[2] = f->plane[2] + (size_t)(y / 2) * (size_t)f->stride[2] + (size_t)(x / 2);
	memcpy(crop.stride, f->stride, sizeof crop.stride);
	if (write_jpeg(enc, &crop, crop_path, err, errlen) != 0)
		return -1;
	vg_frame *copy = vg_frame_copy(f);
	if (!copy) {
		snprintf(err, errlen, "%s: out of memory", full_path);
		return -1;
	}
	vg_draw_detections(copy, &s->object, 1);
	int rc = write_jpeg(enc, copy, full_path, err, errlen);
	vg_frame_unref(copy);
	return rc;
}
