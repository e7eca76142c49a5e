#ifndef VG_RECORDER_H
#define VG_RECORDER_H

#include <stddef.h>
#include <stdint.h>

#include <libavutil/rational.h>

#include "core/frame.h"

/*
 * Event clips of one camera: an MP4 per event, from pre_s seconds before it
 * began to post_s seconds after it ended. The recorder keeps the last
 * pre_s seconds (from the keyframe before them) of compressed video in
 * memory, and while events are open writes every packet to each open clip.
 *
 * Two ways in, chosen at creation:
 *   remux   the source's own H.264 packets (vg_recorder_packet), copied into
 *           the MP4 without re-encoding; a clip starts at the keyframe
 *           before its pre-roll. For sources that are H.264 and shown
 *           without a privacy mask.
 *   encode  the frames as shown (vg_recorder_frame; masked when privacy
 *           applies), encoded as H.264 (libx264 through libavcodec) with a
 *           keyframe every second so that pre-roll cuts are close.
 * Audio packets (AAC, MP3, Opus) may be given in both ways; other codecs
 * are left out with a log line.
 *
 * Clips are fragmented MP4 (a fragment per keyframe), so a crash leaves a
 * playable file. The recorder has its own thread; the feeding calls only
 * queue (bounded, a full queue drops and counts). When a write fails (a
 * full disk, or VIGIL_FAULT_CLIP_WRITE=1 in the environment, the tests'
 * fault hook), the open clips are closed as failed, the error is logged
 * once, and recording pauses for VG_RECORDER_PAUSE_S; streaming and
 * analysis go on.
 */

#define VG_RECORDER_PAUSE_S 30
#define VG_RECORDER_MAX_OPEN 16  /* clips open at once; events beyond get none */
#define VG_RECORDER_MAX_CLIP_S 600 /* a clip ends this long after its event began, even if the event goes on */

struct AVCodecParameters;
struct AVPacket;

/* A clip was finished (ok 1: complete and closed; 0: failed, its file removed). On the recorder's thread. */
typedef void (*vg_recorder_done_fn)(void *user, const char *id, const char *path, int ok);

typedef struct vg_recorder_options {
	const char *dir;          /* clips are DIR/ID.mp4; created if missing */
	double pre_s, post_s;     /* seconds before and after; 0 is allowed */
	double max_s;             /* the longest clip from its event's start; 0: VG_RECORDER_MAX_CLIP_S */
	/* remux: the source's video stream (H.264) and its packets' time base; NULL: encode */
	const struct AVCodecParameters *video;
	AVRational video_time_base;
	/* encode: the frames' size and nominal rate */
	int width, height;
	AVRational frame_rate;
	/* optional audio to copy, and its packets' time base */
	const struct AVCodecParameters *audio;
	AVRational audio_time_base;
	vg_recorder_done_fn done;
	void *user;
} vg_recorder_options;

typedef struct vg_recorder_stats {
	uint64_t clips_done, clips_failed;
	uint64_t dropped;         /* frames or packets the full queue turned away */
	int paused;               /* 1 while recording is paused after a write error */
} vg_recorder_stats;

typedef struct vg_recorder vg_recorder;

/* 0, or -1 with a message (no H.264 encoder, a folder that cannot be made). */
int vg_recorder_create(vg_recorder **out, const vg_recorder_options *opt, char *err, size_t errlen);

/* Finishes the open clips as they are (ok) and frees. NULL is a no-op. */
void vg_recorder_destroy(vg_recorder *r);

/* 1 when the recorder takes the source's packets (remux), 0 when it encodes frames. */
int vg_recorder_remuxes(const vg_recorder *r);

/* encode: a frame as shown, captured at wall_us (Unix µs). Only reads the frame (the recorder takes its own ref). */
void vg_recorder_frame(vg_recorder *r, vg_frame *frame, int64_t wall_us);

/* remux: a video packet of the source, at wall_us (its capture time); the packet is copied. */
void vg_recorder_packet(vg_recorder *r, const struct AVPacket *pkt, int64_t wall_us);

/* An audio packet of the stream given at creation; copied. */
void vg_recorder_audio(vg_recorder *r, const struct AVPacket *pkt, int64_t wall_us);

/*
 * An event began at start_wall_us: its clip takes what the memory holds
 * from pre_s before that (from the keyframe before, when remuxing) and
 * every packet after. id is a vg_event_id_valid id.
 */
void vg_recorder_begin(vg_recorder *r, const char *id, int64_t start_wall_us);

/* The event ended at end_wall_us: its clip closes after the packet post_s past it, then done is called. */
void vg_recorder_end(vg_recorder *r, const char *id, int64_t end_wall_us);

void vg_recorder_get_stats(vg_recorder *r, vg_recorder_stats *out);

/*
 * remux: the source started again (a looped file rewound, a camera
 * reconnected; its frames' epoch changed). The packets in memory are
 * forgotten, since the new stream may have other parameter sets, and open
 * clips go on from its next keyframe with their timestamps continued.
 * Timestamps that jump are also caught without this call; it is a no-op
 * when encoding.
 */
void vg_recorder_discontinuity(vg_recorder *r);

/* Waits until everything queued so far has been handled (for tests and orderly shutdowns; it blocks). */
void vg_recorder_sync(vg_recorder *r);

#endif
