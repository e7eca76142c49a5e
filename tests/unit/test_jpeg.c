#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "core/frame.h"
#include "encode/jpeg.h"
#include "test.h"

/* A gradient with a bright square: something with edges for the encoder. */
static void paint(vg_frame *f)
{
	for (int y = 0; y < f->height; y++)
		for (int x = 0; x < f->width; x++)
			f->plane[0][y * f->stride[0] + x] = (x > 20 && x < 60 && y > 20 && y < 60) ? 235 : (uint8_t)(x + y);
	for (int p = 1; p < 3; p++)
		for (int y = 0; y < f->height / 2; y++)
			memset(f->plane[p] + y * f->stride[p], p == 1 ? 90 : 200, (size_t)f->width / 2);
}

TEST(jpeg_encodes_decodable_image)
{
	vg_frame_pool *pool = vg_frame_pool_create(160, 120);
	vg_frame *f = vg_frame_pool_get(pool);
	paint(f);
	vg_jpeg_encoder *enc = vg_jpeg_encoder_create(85);
	size_t cap = vg_jpeg_max_size(160, 120);
	uint8_t *buf = malloc(cap);
	size_t n = vg_jpeg_encode(enc, f, buf, cap);
	CHECK(n > 100 && n <= cap);
	CHECK(buf[0] == 0xFF && buf[1] == 0xD8 && buf[n - 2] == 0xFF && buf[n - 1] == 0xD9);

	tjhandle d = tjInitDecompress();
	int w, h, sub, cs;
	CHECK(tjDecompressHeader3(d, buf, (unsigned long)n, &w, &h, &sub, &cs) == 0);
	CHECK(w == 160 && h == 120 && sub == TJSAMP_420);
	uint8_t *gray = malloc(160 * 120);
	CHECK(tjDecompress2(d, buf, (unsigned long)n, gray, 160, 0, 120, TJPF_GRAY, 0) == 0);
	/* The bright square survives compression. */
	CHECK_MSG(gray[40 * 160 + 40] > 220, "centre of square is %d", gray[40 * 160 + 40]);
	tjDestroy(d);
	free(gray);
	free(buf);
	vg_jpeg_encoder_destroy(enc);
	vg_frame_unref(f);
	vg_frame_pool_release(pool);
}

TEST(jpeg_refuses_small_buffer)
{
	vg_frame_pool *pool = vg_frame_pool_create(64, 64);
	vg_frame *f = vg_frame_pool_get(pool);
	paint(f);
	vg_jpeg_encoder *enc = vg_jpeg_encoder_create(80);
	uint8_t small[100];
	CHECK(vg_jpeg_encode(enc, f, small, sizeof small) == 0);
	vg_jpeg_encoder_destroy(enc);
	vg_frame_unref(f);
	vg_frame_pool_release(pool);
}

TEST(jpeg_quality_changes_size)
{
	vg_frame_pool *pool = vg_frame_pool_create(320, 240);
	vg_frame *f = vg_frame_pool_get(pool);
	for (int y = 0; y < 240; y++)
		for (int x = 0; x < 320; x++)
			f->plane[0][y * f->stride[0] + x] = (uint8_t)((x * 7) ^ (y * 13));
	for (int p = 1; p < 3; p++)
		for (int y = 0; y < 120; y++)
			memset(f->plane[p] + y * f->stride[p], 128, 160);
	size_t cap = vg_jpeg_max_size(320, 240);
	uint8_t *buf = malloc(cap);
	vg_jpeg_encoder *lo = vg_jpeg_encoder_create(10), *hi = vg_jpeg_encoder_create(95);
	size_t nlo = vg_jpeg_encode(lo, f, buf, cap);
	size_t nhi = vg_jpeg_encode(hi, f, buf, cap);
	CHECK_MSG(nlo > 0 && nhi > nlo * 2, "q10 %zu bytes, q95 %zu bytes", nlo, nhi);
	vg_jpeg_encoder_destroy(lo);
	vg_jpeg_encoder_destroy(hi);
	free(buf);
	vg_frame_unref(f);
	vg_frame_pool_release(pool);
}

TEST_SUITE(jpeg, TEST_ENTRY(jpeg_encodes_decodable_image), TEST_ENTRY(jpeg_refuses_small_buffer),
	   TEST_ENTRY(jpeg_quality_changes_size));
