#include <stdio.h>
#include <string.h>

#include "core/blob.h"
#include "http/mjpeg.h"
#include "test.h"

TEST(mjpeg_part_header_bytes)
{
	char buf[VG_MJPEG_HEADROOM];
	size_t n = vg_mjpeg_part_header(buf, sizeof buf, 12345, 42, 1700000000123456LL);
	const char *want = "Content-Type: image/jpeg\r\n"
			   "Content-Length: 12345\r\n"
			   "X-Frame-Id: 42\r\n"
			   "X-Capture-Time: 1700000000.123456\r\n"
			   "\r\n";
	CHECK(n == strlen(want));
	CHECK(memcmp(buf, want, n) == 0);
	/* Microseconds keep their leading zeros. */
	n = vg_mjpeg_part_header(buf, sizeof buf, 1, 1, 5000007);
	CHECK(n > 0);
	CHECK(memmem(buf, n, "X-Capture-Time: 5.000007\r\n", 26) != NULL);
}

TEST(mjpeg_part_header_capacity)
{
	char buf[VG_MJPEG_HEADROOM];
	size_t n = vg_mjpeg_part_header(buf, sizeof buf, 100, 7, 1000000);
	CHECK(n > 0);
	/* Exactly the header's length fits (no NUL is written); one byte less does not. */
	char exact[VG_MJPEG_HEADROOM];
	CHECK(vg_mjpeg_part_header(exact, n, 100, 7, 1000000) == n);
	CHECK(memcmp(exact, buf, n) == 0);
	CHECK(vg_mjpeg_part_header(exact, n - 1, 100, 7, 1000000) == 0);
	CHECK(vg_mjpeg_part_header(exact, 0, 100, 7, 1000000) == 0);
	/* The largest values still fit in the headroom. */
	CHECK(vg_mjpeg_part_header(buf, sizeof buf, (size_t)-1, UINT64_MAX, INT64_MAX) > 0);
}

TEST(mjpeg_frame_part)
{
	const size_t n = 1000;
	vg_blob *b = vg_blob_new(VG_MJPEG_HEADROOM + n + VG_MJPEG_TAILROOM);
	CHECK(b);
	b->frame_id = 9;
	b->capture_wall_us = 1234567890;
	uint8_t *jpeg = b->data + VG_MJPEG_HEADROOM;
	for (size_t i = 0; i < n; i++)
		jpeg[i] = (uint8_t)(i * 7);
	jpeg[0] = 0xff;
	jpeg[1] = 0xd8;
	CHECK(vg_mjpeg_frame_part(b, n) == 0);

	char want_head[VG_MJPEG_HEADROOM];
	size_t hlen = vg_mjpeg_part_header(want_head, sizeof want_head, n, 9, 1234567890);
	const char *trailer = VG_MJPEG_TRAILER;
	size_t tlen = strlen(trailer);
	CHECK(b->len == hlen + n + tlen);
	CHECK(memcmp(b->data, want_head, hlen) == 0);
	CHECK(memmem(b->data, hlen, "Content-Length: 1000\r\n", 22) != NULL);
	CHECK(memmem(b->data, hlen, "X-Frame-Id: 9\r\n", 15) != NULL);
	CHECK(memmem(b->data, hlen, "X-Capture-Time: 1234.567890\r\n", 29) != NULL);
	CHECK(b->payload_off == hlen);
	CHECK(b->payload_len == n);
	CHECK(b->data + b->payload_off == jpeg);
	CHECK(b->data[b->payload_off] == 0xff && b->data[b->payload_off + 1] == 0xd8);
	for (size_t i = 2; i < n; i++)
		CHECK(jpeg[i] == (uint8_t)(i * 7));
	CHECK(memcmp(b->data + hlen + n, trailer, tlen) == 0);
	CHECK(strcmp(trailer, "\r\n--" VG_MJPEG_BOUNDARY "\r\n") == 0);
	vg_blob_unref(b);
}

TEST(mjpeg_frame_part_too_small)
{
	const size_t n = 500;
	size_t tlen = strlen(VG_MJPEG_TRAILER);
	vg_blob *b = vg_blob_new(VG_MJPEG_HEADROOM + n + tlen - 1);
	CHECK(b);
	uint8_t *before = b->data;
	CHECK(vg_mjpeg_frame_part(b, n) == -1);
	CHECK(b->data == before);
	vg_blob_unref(b);

	b = vg_blob_new(100);
	CHECK(vg_mjpeg_frame_part(b, 10) == -1);
	CHECK(vg_mjpeg_frame_part(b, (size_t)-1) == -1);
	vg_blob_unref(b);

	/* The trailer alone after the JPEG is enough; the full tailroom is not required. */
	b = vg_blob_new(VG_MJPEG_HEADROOM + n + tlen);
	CHECK(vg_mjpeg_frame_part(b, n) == 0);
	vg_blob_unref(b);
}

TEST(mjpeg_preamble)
{
	CHECK(strcmp(VG_MJPEG_PREAMBLE, "--vigilframe\r\n") == 0);
	CHECK(strcmp(VG_MJPEG_CONTENT_TYPE, "multipart/x-mixed-replace; boundary=vigilframe") == 0);
}

TEST_SUITE(mjpeg,
	   TEST_ENTRY(mjpeg_part_header_bytes),
	   TEST_ENTRY(mjpeg_part_header_capacity),
	   TEST_ENTRY(mjpeg_frame_part),
	   TEST_ENTRY(mjpeg_frame_part_too_small),
	   TEST_ENTRY(mjpeg_preamble));
