#ifndef VG_VIDEO_WRITER_H
#define VG_VIDEO_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include <libavutil/rational.h>

#include "core/frame.h"

/*
 * An H.264 MP4 file written through libavcodec (libx264) and libavformat:
 * vigil's I420 frames encoded at a constant frame rate, and optionally one
 * audio stream copied packet for packet from the source. The MP4 is
 * fragmented (a fragment per keyframe, an empty moov up front), so a file
 * whose writer never reached vg_video_writer_close (a crash, a second
 * Ctrl-C) still plays up to its last complete fragment.
 */

struct AVCodecParameters;
struct AVPacket;

typedef struct vg_video_writer vg_video_writer;

typedef struct vg_video_writer_options {
	int width, height;          /* even, > 0: every frame written must have this size */
	AVRational frame_rate;      /* frames per second, e.g. {25, 1} or {30000, 1001} */
	/*
	 * The source's audio stream to copy, or NULL for none. AAC, MP3 and Opus
	 * are copied; any other codec is left out with a log line (MP4 players
	 * handle those three everywhere, and re-encoding audio is not worth its
	 * cost here). audio_time_base is the time base of the packets that
	 * vg_video_writer_write_audio will be given.
	 */
	const struct AVCodecParameters *audio;
	AVRational audio_time_base;
	int crf;                    /* x264 constant rate factor; 0 means 23 */
	const char *preset;         /* x264 preset; NULL means "veryfast" */
	int threads;                /* encoder threads; 0: one up to 1280x720, libx264's choice above */
} vg_video_writer_options;

/*
 * Creates the file and writes its header. Returns 0, or a negative code with
 * a one-line message in err naming the path and the problem (a missing
 * folder, no H.264 encoder, a bad size).
 */
int vg_video_writer_open(vg_video_writer **out, const char *path, const vg_video_writer_options *opt, char *err,
			 size_t errlen);

/* 1 when the audio stream given to open is being copied, 0 when there is none or it was left out. */
int vg_video_writer_has_audio(const vg_video_writer *w);

/*
 * Encodes the next frame; frames are timed 0, 1/fps, 2/fps ... in the order
 * written. The frame is only read (its full-range YCbCr is converted to the
 * limited range that players expect of H.264). Returns 0, or a negative code
 * with a message in err (a full disk, a frame of another size).
 */
int vg_video_writer_write_frame(vg_video_writer *w, const vg_frame *frame, char *err, size_t errlen);

/*
 * Copies one audio packet of the stream given to open; its timestamps are in
 * audio_time_base, with 0 at the first video frame, and are rescaled to the
 * file's. Packets before 0 are dropped. The muxer interleaves audio and
 * video, so audio may run ahead of the frames written by a second or two.
 * A no-op returning 0 when audio is not copied. The packet is left intact.
 */
int vg_video_writer_write_audio(vg_video_writer *w, const struct AVPacket *pkt, char *err, size_t errlen);

/* Frames written so far. */
int64_t vg_video_writer_frames(const vg_video_writer *w);

/*
 * Drains the encoder, writes the trailer and closes the file, then frees the
 * writer (also after an error; NULL is a no-op). Returns 0, or a negative
 * code with a message in err.
 */
int vg_video_writer_close(vg_video_writer *w, char *err, size_t errlen);

#endif
