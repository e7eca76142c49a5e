#include "http/mjpeg.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

size_t vg_mjpeg_part_header(char *dst, size_t cap, size_t jpeg_len, uint64_t frame_id, int64_t capture_wall_us)
{
	/* A capture time before 1970 can only be a bug upstream; print it as 0 rather than as garbage. */
	if (capture_wall_us < 0)
		capture_wall_us = 0;
	/* Format into a local buffer so that a header exactly cap bytes long fits without room for a NUL. */
	char tmp[VG_MJPEG_HEADROOM];
	int n = snprintf(tmp, sizeof tmp,
			 "Content-Type: image/jpeg\r\n"
			 "Content-Length: %zu\r\n"
			 "X-Frame-Id: %" PRIu64 "\r\n"
			 "X-Capture-Time: %lld.%06lld\r\n"
			 "\r\n",
			 jpeg_len, frame_id, (long long)(capture_wall_us / 1000000),
			 (long long)(capture_wall_us % 1000000));
	if (n < 0 || (size_t)n >= sizeof tmp || (size_t)n > cap)
		return 0;
	memcpy(dst, tmp, (size_t)n);
	return (size_t)n;
}

int vg_mjpeg_frame_part(vg_blob *blob, size_t jpeg_len)
{
	static const char trailer[] = VG_MJPEG_TRAILER;
	const size_t tlen = sizeof trailer - 1;
	/* The producer has not trimmed the blob yet, so its data starts at the buffer and capacity applies to it. */
	if (jpeg_len > blob->capacity || blob->capacity - jpeg_len < VG_MJPEG_HEADROOM + tlen)
		return -1;
	char head[VG_MJPEG_HEADROOM];
	size_t hlen = vg_mjpeg_part_header(head, sizeof head, jpeg_len, blob->frame_id, blob->capture_wall_us);
	if (hlen == 0)
		return -1;
	uint8_t *jpeg = blob->data + VG_MJPEG_HEADROOM;
	memcpy(jpeg - hlen, head, hlen);
	memcpy(jpeg + jpeg_len, trailer, tlen);
	blob->data = jpeg - hlen;
	blob->len = hlen + jpeg_len + tlen;
	blob->payload_off = hlen;
	blob->payload_len = jpeg_len;
	return 0;
}
