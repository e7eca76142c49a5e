#ifndef VG_SOURCE_H
#define VG_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include <libavutil/rational.h>

#include "core/frame.h"
#include "core/stats.h"

/*
 * Video input through FFmpeg: files (any container and codec FFmpeg reads),
 * V4L2 devices (/dev/videoN), network streams (rtsp://, http://, ...) and
 * FFmpeg test sources ("lavfi:<filtergraph>"). Frames come out as pooled I420
 * vg_frames stamped with an id and their capture time.
 */

#define VG_SOURCE_EOF 1   /* vg_source_read: the input ended (and does not loop) */

typedef struct vg_source_options {
	const char *uri;
	int loop;                  /* files: start again at the end */
	int pace;                  /* files and lavfi: deliver at the native frame rate */
	int width, height;         /* V4L2 capture size; 0 = device default */
	int fps;                   /* V4L2 capture rate; 0 = device default */
	const char *input_format;  /* V4L2: "mjpeg" or "yuyv422"; NULL = device default */
	int64_t reconnect_max_us;  /* network: backoff cap (default 5 s) */
	int64_t io_timeout_us;     /* network: a read that stalls this long drops the connection (default 5 s) */
	/*
	 * Network and device sources that cannot be opened at first are retried
	 * with backoff, like a dropped source, instead of failing vg_source_open
	 * (a camera of a configuration file; the command line's one camera fails).
	 */
	int retry_open;
} vg_source_options;

typedef struct vg_source vg_source;

/* Called on the source thread for each frame; the callee takes its own references. */
typedef void (*vg_source_frame_fn)(void *opaque, vg_frame *frame);

/*
 * Opens the input and its decoder synchronously so that a missing file, an
 * unsupported codec or an unreachable host is reported at once. Returns 0, or
 * a negative code with a one-line message in err naming the problem.
 * stats may be NULL.
 */
int vg_source_open(vg_source **out, const vg_source_options *opt, vg_stats *stats, char *err, size_t errlen);

/*
 * Reads and decodes the next frame into *out (the caller owns the
 * reference). Returns 0, VG_SOURCE_EOF at the end of a non-looping input
 * (and once vg_source_stop was called), or a negative code on an error that
 * reopening did not cure; *out is NULL whenever the result is not 0. Paces,
 * loops and reconnects as the options say. Used directly by offline tools and
 * benchmarks; the serving pipeline calls it from the source thread.
 */
int vg_source_read(vg_source *src, vg_frame **out);

/*
 * Called once on the source thread when the input ends by itself (not after
 * vg_source_stop), with the last result of vg_source_read: VG_SOURCE_EOF at
 * the end of a file, or a negative code, VG_SOURCE_UNDECODABLE among them.
 */
typedef void (*vg_source_end_fn)(void *opaque, int result);

/*
 * vg_source_read's result for a file from which no frame could be decoded:
 * it ended, or VG_SOURCE_MAX_PACKETS_WITHOUT_FRAME video packets went by,
 * before the first picture. Logged as an error naming the source.
 */
#define VG_SOURCE_UNDECODABLE (-0x5544) /* distinct from FFmpeg's AVERROR codes, which are tags */
#define VG_SOURCE_MAX_PACKETS_WITHOUT_FRAME 300

/* Sets the end callback (opaque is the one given to vg_source_start); call before vg_source_start. */
void vg_source_on_end(vg_source *src, vg_source_end_fn fn);

struct AVCodecParameters;
struct AVPacket;

/*
 * Called on the source thread for each packet of the video stream, and of
 * the best audio stream if there is one, as av_read_frame gives it (before
 * decoding; the callee copies what it keeps). wall_us is the Unix time of
 * the read, which runs on across rewinds and reconnections although the
 * packets' own timestamps start again (the frames' epoch says when).
 */
typedef void (*vg_source_packet_fn)(void *opaque, const struct AVPacket *pkt, int is_audio, int64_t wall_us);

/* Sets the packet callback (opaque is the one given to vg_source_start); call before vg_source_start. */
void vg_source_on_packet(vg_source *src, vg_source_packet_fn fn);

/*
 * The video (audio) stream's parameters and packet time base, NULL when
 * there is none (no audio stream, or the input is not open). Valid until the
 * input is opened again; call before vg_source_start or on the source thread.
 */
const struct AVCodecParameters *vg_source_video_params(const vg_source *src, AVRational *time_base);
const struct AVCodecParameters *vg_source_audio_params(const vg_source *src, AVRational *time_base);

/* Starts a thread that calls fn for every frame until the input ends or vg_source_stop. */
int vg_source_start(vg_source *src, vg_source_frame_fn fn, void *opaque);

/* Interrupts blocking I/O and sleeps, and joins the thread. Safe to call twice. */
void vg_source_stop(vg_source *src);

void vg_source_destroy(vg_source *src);

int vg_source_width(const vg_source *src);
int vg_source_height(const vg_source *src);
double vg_source_fps(const vg_source *src);       /* nominal; 0 when unknown */
int vg_source_is_live(const vg_source *src);      /* network or device: reconnects instead of ending */
const char *vg_source_display_uri(const vg_source *src); /* the URI with its secrets redacted */

/*
 * FFmpeg's own messages go through vg_log at debug level by default (at most
 * a few lines a second). With verbose, its errors become warnings, its
 * warnings info, and its verbose chatter debug.
 */
void vg_source_set_ffmpeg_log_level(int verbose);

#endif
