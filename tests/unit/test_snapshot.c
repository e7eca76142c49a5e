/*
 * Event snapshots (store/snapshot.h): the crop's rectangle (around the box
 * with a margin, even, inside the frame, moved rather than cut at the
 * edges, never under the least size), and both files written whole, with
 * the crop showing the object's pixels and the full frame its drawn box.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "grey_frame.h"
#include "store/snapshot.h"
#include "test.h"

TEST(snapshot_crop_rect)
{
	int x, y, w, h;
	/* A box of 100x200 pixels in the middle of 640x480: 1.4 times its size, centred. */
	const float mid[4] = { 270 / 640.f, 140 / 480.f, 370 / 640.f, 340 / 480.f };
	vg_snapshot_crop_rect(mid, 640, 480, &x, &y, &w, &h);
	CHECK_EQ_INT(w, 140);
	CHECK_EQ_INT(h, 280);
	CHECK_EQ_INT(x, 250);
	CHECK_EQ_INT(y, 100);
	/* At the right edge: moved in, same size. */
	const float edge[4] = { 600 / 640.f, 140 / 480.f, 1.0f, 340 / 480.f };
	vg_snapshot_crop_rect(edge, 640, 480, &x, &y, &w, &h);
	CHECK_EQ_INT(x + w, 640);
	CHECK(w >= VG_SNAPSHOT_MIN_CROP && w % 2 == 0 && x % 2 == 0);
	/* A tiny box gets the least size; a box larger than the frame, the frame. */
	const float tiny[4] = { 0.5f, 0.5f, 0.501f, 0.501f };
	vg_snapshot_crop_rect(tiny, 640, 480, &x, &y, &w, &h);
	CHECK(w == VG_SNAPSHOT_MIN_CROP && h == VG_SNAPSHOT_MIN_CROP);
	const float huge[4] = { -1, -1, 2, 2 };
	vg_snapshot_crop_rect(huge, 640, 480, &x, &y, &w, &h);
	CHECK(x == 0 && y == 0 && w == 640 && h == 480);
	/* NaN (a model's garbage) still gives a rectangle inside the frame. */
	const float nan[4] = { 0.0f / 0.0f, 0.2f, 0.3f, 0.0f / 0.0f };
	vg_snapshot_crop_rect(nan, 640, 480, &x, &y, &w, &h);
	CHECK(x >= 0 && y >= 0 && w >= 2 && h >= 2 && x + w <= 640 && y + h <= 480);
	/* A frame smaller than the least crop. */
	vg_snapshot_crop_rect(mid, 48, 32, &x, &y, &w, &h);
	CHECK(x == 0 && y == 0 && w == 48 && h == 32);
}

static void jpeg_size(const char *path, int *w, int *h)
{
	FILE *f = fopen(path, "rb");
	CHECK(f);
	static unsigned char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	tjhandle d = tjInitDecompress();
	int sub, cs;
	CHECK(tjDecompressHeader3(d, buf, (unsigned long)n, w, h, &sub, &cs) == 0);
	tjDestroy(d);
}

TEST(snapshot_save_both_files)
{
	char dir[] = "/tmp/vigil-snapshot-XXXXXX";
	CHECK(mkdtemp(dir));
	vg_frame_pool *pool = vg_frame_pool_create(640, 480);
	vg_frame *f = vg_test_grey_frame(pool);
	vg_jpeg_encoder *enc = vg_jpeg_encoder_create(85);
	vg_snapshot s = { .frame = f, .object = { .x0 = 0.4f, .y0 = 0.3f, .x1 = 0.6f, .y1 = 0.7f, .score = 0.9f,
						.track_id = 3 } };
	snprintf(s.object.label, sizeof s.object.label, "person");
	char full[512], crop[512], err[512];
	/* Folders that do not exist yet are made. */
	snprintf(full, sizeof full, "%s/snapshots/cam/1.5-abcdef.jpg", dir);
	snprintf(crop, sizeof crop, "%s/snapshots/cam/1.5-abcdef-crop.jpg", dir);
	CHECK_MSG(vg_snapshot_save(enc, &s, full, crop, err, sizeof err) == 0, "%s", err);
	int w, h;
	jpeg_size(full, &w, &h);
	CHECK(w == 640 && h == 480);
	jpeg_size(crop, &w, &h);
	CHECK_EQ_INT(w, 178);
	CHECK_EQ_INT(h, 268);
	/* No temporary file is left behind. */
	char tmp[600];
	snprintf(tmp, sizeof tmp, "%s.tmp", full);
	CHECK(access(tmp, F_OK) != 0);
	/* The frame itself is left as it was: the box is drawn on a copy. */
	CHECK(f->plane[0][(size_t)(0.3 * 480) * (size_t)f->stride[0] + (size_t)(0.4 * 640)] == 128);
	/* A folder that cannot be made: a message naming the file. */
	char file[512], bad[600];
	snprintf(file, sizeof file, "%s/plain", dir);
	FILE *fp = fopen(file, "w");
	CHECK(fp);
	fclose(fp);
	snprintf(bad, sizeof bad, "%s/x/y.jpg", file);
	CHECK(vg_snapshot_save(enc, &s, bad, bad, err, sizeof err) < 0);
	CHECK_MSG(strstr(err, bad) != NULL, "%s", err);
	vg_jpeg_encoder_destroy(enc);
	vg_frame_unref(f);
	vg_frame_pool_release(pool);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
}

TEST_SUITE(snapshot, TEST_ENTRY(snapshot_crop_rect), TEST_ENTRY(snapshot_save_both_files));
