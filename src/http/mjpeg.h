#ifndef VG_MJPEG_H
#define VG_MJPEG_H

#include <stddef.h>
#include <stdint.h>

#include "core/blob.h"

/*
 * multipart/x-mixed-replace framing for /video_feed. Each part is sent as
 *
 *   Content-Type: image/jpeg\r\n
 *   Content-Length: N\r\n
 *   X-Frame-Id: ID\r\n
 *   X-Capture-Time: SECONDS.MICROSECONDS\r\n
 *   \r\n
 *   <N bytes of JPEG>\r\n
 *   --BOUNDARY\r\n
 *
 * The boundary goes out right after each frame, not before the next one:
 * Chrome and WebKit render a part only once they see the boundary that ends
 * it, so trailing boundaries make every frame appear on arrival. The response
 * body starts with one "--BOUNDARY\r\n" (VG_MJPEG_PREAMBLE).
 */

#define VG_MJPEG_BOUNDARY "vigilframe"
#define VG_MJPEG_CONTENT_TYPE "multipart/x-mixed-replace; boundary=" VG_MJPEG_BOUNDARY
#define VG_MJPEG_PREAMBLE "--" VG_MJPEG_BOUNDARY "\r\n"
#define VG_MJPEG_TRAILER "\r\n--" VG_MJPEG_BOUNDARY "\r\n"

/* Room a producer leaves before and after the JPEG for the part's header and trailer. */
#define VG_MJPEG_HEADROOM 192
#define VG_MJPEG_TAILROOM 32

/* Writes the part header; returns its length, or 0 if cap is too small. */
size_t vg_mjpeg_part_header(char *dst, size_t cap, size_t jpeg_len, uint64_t frame_id, int64_t capture_wall_us);

/*
 * Turns a blob holding a JPEG of jpeg_len bytes at data + VG_MJPEG_HEADROOM
 * into a complete part in place: header just before the JPEG, trailer just
 * after; data, len and the payload range are updated, frame_id and
 * capture_wall_us are read from the blob. Returns 0, or -1 if it does not fit.
 */
int vg_mjpeg_frame_part(vg_blob *blob, size_t jpeg_len);

#endif
