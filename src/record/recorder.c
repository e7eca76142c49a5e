#include "record/recorder.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>

#include "core/dirs.h"
#include "core/clock.h"
#include "core/log.h"
#include "encode/yuv_limited.h"

#define US_TB ((AVRational){ 1, 1000000 })
#define ID_MAX 64

/*
 * The queue between the feeding threads and the recorder's thread. Frames
 * are held as references to pooled frames, so fewer of them may wait than
 * packets (each queued frame keeps a pool frame out of circulation); a few
 * places are kept for commands so that a flood of packets cannot turn an
 * event's begin or end away.
 */
#define QUEUE_CAP 1024
#define QUEUE_CMD_RESERVE 64
#define QUEUE_MAX_FRAMES 32

/* The ring keeps a little more than pre_s, for a begin that reaches the recorder late. */
#define RING_SLACK_US 1000000
#define RING_MAX_BYTES (64 << 20)
#define RING_MAX_ENTRIES 65536

/* A timestamp that disagrees with the wall clock by more than this is a discontinuity (a rewind, a reconnection). */
#define JUMP_US 5000000

enum item_kind { IT_FRAME, IT_VIDEO, IT_AUDIO, IT_BEGIN, IT_END, IT_DISCONTINUITY };

typedef struct item {
	enum item_kind kind;
	vg_frame *frame;
	AVPacket *pkt;
	int64_t wall_us;
	char id[ID_MAX];
} item;

typedef struct ring_entry {
	AVPacket *pkt;      /* timestamps in the stream's time base as given */
	int64_t wall_us;
	int audio;
} ring_entry;

typedef struct clip {
	char id[ID_MAX];
	char *path;
	AVFormatContext *oc;
	AVStream *vs, *as;
	int64_t close_at;   /* wall µs; INT64_MAX while the event is open */
	int started;        /* the first (key) video packet is written */
	int need_key;       /* after a discontinuity: video waits for a keyframe */
	int64_t first_wall;
	int64_t v_off, v_last, v_last_wall;  /* out = in - v_off, in the video time base */
	int a_started;
	int64_t a_off, a_last, a_last_wall;
	int refused;        /* packets the muxer turned away (logged once) */
} clip;

struct vg_recorder {
	char *dir;
	int64_t pre_us, post_us;
	int64_t max_us;     /* the longest clip, from its event's start */
	int remux;
	AVCodecParameters *vpar;   /* the clips' video stream */
	AVRational vtb;            /* of the ring's video packets */
	AVCodecParameters *apar;   /* NULL: no audio recorded */
	AVRational atb;
	vg_recorder_done_fn done;
	void *user;

	/* encode */
	AVCodecContext *enc;
	AVFrame *pic;
	AVPacket *epkt;
	vg_limited_luts luts;
	int width, height;
	int64_t enc_base, enc_last_pts, last_key_wall;
	int64_t frame_us;          /* nominal */
	int enc_started, warned_size, warned_encode;

	/* recorder thread only */
	ring_entry *ring;
	size_t ring_cap, ring_head, ring_count, ring_bytes;
	clip *clips[VG_RECORDER_MAX_OPEN];
	int nclips;
	int64_t last_wall;
	AVPacket *wpkt;

	pthread_mutex_t lock;
	pthread_cond_t wake, idle;
	item q[QUEUE_CAP];
	size_t q_head, q_count, q_frames;
	uint64_t seq_in, seq_done;
	int stop;
	pthread_t thread;

	atomic_uint_fast64_t clips_done, clips_failed, dropped;
	atomic_int_fast64_t pause_until_mono;
};

static const char *av_err(int rc, char *buf, size_t len)
{
	av_strerror(rc, buf, len);
	return buf;
}

static int id_ok(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n >= ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

/* The tests' fault hook: every write fails as if the disk were full. Read at each write so a test can lift it. */
static int fault_hook(void)
{
	const char *v = getenv("VIGIL_FAULT_CLIP_WRITE");
	return v && !strcmp(v, "1");
}

static int64_t pause_us(void)
{
	const char *v = getenv("VIGIL_RECORDER_PAUSE_MS");
	if (v && *v) {
		char *end;
		long long ms = strtoll(v, &end, 10);
		if (!*end && ms >= 0)
			return (int64_t)ms * 1000;
	}
	return (int64_t)VG_RECORDER_PAUSE_S * 1000000;
}

static int make_dirs(const char *dir, char *err, size_t errlen)
{
	char bad[4096];
	if (vg_make_dirs(dir, bad, sizeof bad) != 0) {
		snprintf(err, errlen, "cannot create the clip folder %s: %s", bad, strerror(errno));
		return -1;
	}
	return 0;
}

static void report(vg_recorder *r, const char *id, const char *path, int ok)
{
	atomic_fetch_add(ok ? &r->clips_done : &r->clips_failed, 1);
	if (r->done)
		r->done(r->user, id, path, ok);
}

/* ---- the ring ---- */

static ring_entry *ring_at(vg_recorder *r, size_t i)
{
	return &r->ring[(r->ring_head + i) % r->ring_cap];
}

static int entry_is_key(const ring_entry *e)
{
	return !e->audio && (e->pkt->flags & AV_PKT_FLAG_KEY);
}

static void ring_drop_front(vg_recorder *r)
{
	ring_entry *e = ring_at(r, 0);
	r->ring_bytes -= (size_t)e->pkt->size;
	av_packet_free(&e->pkt);
	r->ring_head = (r->ring_head + 1) % r->ring_cap;
	r->ring_count--;
}

static void ring_clear(vg_recorder *r)
{
	while (r->ring_count)
		ring_drop_front(r);
}

/* Index of the first video keyframe after index from, or ring_count. */
static size_t ring_next_key(vg_recorder *r, size_t from)
{
	for (size_t i = from; i < r->ring_count; i++)
		if (entry_is_key(ring_at(r, i)))
			return i;
	return r->ring_count;
}

/* Drops the oldest group of pictures (and the audio among it). */
static void ring_drop_gop(vg_recorder *r)
{
	size_t k = ring_next_key(r, 1);
	if (k == r->ring_count)
		k = 1;
	while (k-- > 0 && r->ring_count > 1)
		ring_drop_front(r);
}

/* Takes pkt. Keeps from the keyframe at or before (newest - pre_s - slack), within the byte and count bounds. */
static void ring_push(vg_recorder *r, AVPacket *pkt, int64_t wall, int audio)
{
	if (r->ring_count == r->ring_cap) {
		size_t cap = r->ring_cap ? r->ring_cap * 2 : 256;
		ring_entry *n = cap <= RING_MAX_ENTRIES ? malloc(cap * sizeof *n) : NULL;
		if (!n) {
			ring_drop_gop(r);
		} else {
			for (size_t i = 0; i < r->ring_count; i++)
				n[i] = *ring_at(r, i);
			free(r->ring);
			r->ring = n;
			r->ring_cap = cap;
			r->ring_head = 0;
		}
		if (r->ring_count == r->ring_cap) {
			av_packet_free(&pkt);
			return;
		}
	}
	ring_entry *e = &r->ring[(r->ring_head + r->ring_count) % r->ring_cap];
	e->pkt = pkt;
	e->wall_us = wall;
	e->audio = audio;
	r->ring_count++;
	r->ring_bytes += (size_t)pkt->size;
	if (audio)
		return;
	int64_t horizon = wall - r->pre_us - RING_SLACK_US;
	for (;;) {
		size_t k = ring_next_key(r, 1);
		if (k == r->ring_count || ring_at(r, k)->wall_us > horizon)
			break;
		while (k-- > 0)
			ring_drop_front(r);
	}
	while (r->ring_bytes > RING_MAX_BYTES && r->ring_count > 1)
		ring_drop_gop(r);
}

/* ---- clips ---- */

/*
 * Only a failed write (the disk) is an error for the caller: a packet the
 * muxer refuses for itself (a timestamp it does not like) is left out with a
 * line, since pausing every clip for it would punish the disk for nothing.
 */
static int put(vg_recorder *r, clip *c, AVPacket *p)
{
	if (fault_hook()) {
		av_packet_unref(p);
		return AVERROR(ENOSPC);
	}
	int rc = av_interleaved_write_frame(c->oc, p);
	av_packet_unref(p);
	if (c->oc->pb && c->oc->pb->error < 0)
		return c->oc->pb->error;
	if (rc < 0 && !c->refused++) {
		char eb[AV_ERROR_MAX_STRING_SIZE];
		vg_warn("recorder %s: the muxer refused a packet of %s: %s", r->dir, c->path, av_err(rc, eb, sizeof eb));
	}
	return 0;
}

static void free_clip(clip *c)
{
	if (c->oc) {
		avio_closep(&c->oc->pb);
		avformat_free_context(c->oc);
	}
	free(c->path);
	free(c);
}

/* Writes one ring packet to a clip with the clip's own timeline (video from 0, audio placed by wall time). */
static int clip_write(vg_recorder *r, clip *c, const AVPacket *pkt, int64_t wall, int audio)
{
	AVPacket *p = r->wpkt;
	if (audio) {
		if (!c->as || !c->started || wall >= c->close_at)
			return 0;
		int64_t in = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
		if (in == AV_NOPTS_VALUE)
			return 0;
		int64_t out;
		int64_t by_wall = av_rescale_q(wall > c->first_wall ? wall - c->first_wall : 0, US_TB, r->atb);
		if (!c->a_started) {
			out = by_wall;
			c->a_started = 1;
		} else {
			out = in - c->a_off;
			int64_t d = av_rescale_q(out - c->a_last, r->atb, US_TB) - (wall - c->a_last_wall);
			if (out <= c->a_last || d > JUMP_US || d < -JUMP_US)
				out = by_wall > c->a_last ? by_wall : c->a_last + 1;
		}
		c->a_off = in - out;
		c->a_last = out;
		c->a_last_wall = wall;
		if (av_packet_ref(p, pkt) < 0)
			return AVERROR(ENOMEM);
		p->pts = p->dts = out;
		av_packet_rescale_ts(p, r->atb, c->as->time_base);
		p->stream_index = c->as->index;
		p->pos = -1;
		return put(r, c, p);
	}
	int key = pkt->flags & AV_PKT_FLAG_KEY;
	if ((!c->started || c->need_key) && !key)
		return 0;
	int64_t in = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
	if (in == AV_NOPTS_VALUE)
		in = av_rescale_q(wall, US_TB, r->vtb);
	int64_t out;
	if (!c->started) {
		c->started = 1;
		c->first_wall = wall;
		out = 0;
	} else {
		out = in - c->v_off;
		int64_t dw = wall - c->v_last_wall;
		int64_t d = av_rescale_q(out - c->v_last, r->vtb, US_TB) - dw;
		if (c->need_key || out <= c->v_last || d > JUMP_US || d < -JUMP_US) {
			/* A new timeline (a rewound file, a reconnected camera): continue from the last packet by wall time. */
			int64_t step = av_rescale_q(dw > 1000 ? (dw < JUMP_US ? dw : JUMP_US) : 1000, US_TB, r->vtb);
			out = c->v_last + (step > 0 ? step : 1);
		}
	}
	c->need_key = 0;
	c->v_off = in - out;
	c->v_last = out;
	c->v_last_wall = wall;
	if (av_packet_ref(p, pkt) < 0)
		return AVERROR(ENOMEM);
	p->dts = out;
	p->pts = pkt->pts != AV_NOPTS_VALUE && pkt->pts - c->v_off > out ? pkt->pts - c->v_off : out;
	av_packet_rescale_ts(p, r->vtb, c->vs->time_base);
	p->stream_index = c->vs->index;
	p->pos = -1;
	return put(r, c, p);
}

static void pause_recording(vg_recorder *r)
{
	atomic_store(&r->pause_until_mono, vg_mono_us() + pause_us());
}

/*
 * A write failed (most likely a full disk): every open clip is given up,
 * since the others share the disk, and recording pauses so that a full disk
 * is not hammered with a new attempt per event.
 */
static void fail_all(vg_recorder *r, const char *path, int rc)
{
	char eb[AV_ERROR_MAX_STRING_SIZE];
	vg_warn("cannot write the clip %s: %s; %d open clip%s dropped, recording paused for %.3g s", path,
		av_err(rc, eb, sizeof eb), r->nclips, r->nclips == 1 ? "" : "s", (double)pause_us() / 1e6);
	for (int i = 0; i < r->nclips; i++) {
		clip *c = r->clips[i];
		if (c->oc)
			avio_closep(&c->oc->pb);
		unlink(c->path);
		report(r, c->id, c->path, 0);
		free_clip(c);
		r->clips[i] = NULL;
	}
	r->nclips = 0;
	pause_recording(r);
}

static void remove_clip(vg_recorder *r, int i)
{
	r->clips[i] = r->clips[--r->nclips];
	r->clips[r->nclips] = NULL;
}

/* Trailer and close; ok. A failure there is a write failure like any other. Returns 0 or the error. */
static int finish_clip(vg_recorder *r, int i)
{
	clip *c = r->clips[i];
	if (!c->started) {
		/* No keyframe came while the event lasted: an empty file is no clip. */
		vg_warn("recorder %s: no clip for event %s: no keyframe arrived while it was recorded", r->dir, c->id);
		avio_closep(&c->oc->pb);
		unlink(c->path);
		remove_clip(r, i);
		report(r, c->id, c->path, 0);
		free_clip(c);
		return 0;
	}
	int rc = fault_hook() ? AVERROR(ENOSPC) : av_write_trailer(c->oc);
	if (rc >= 0)
		rc = avio_closep(&c->oc->pb);
	if (rc < 0) {
		fail_all(r, c->path, rc);
		return rc;
	}
	remove_clip(r, i);
	report(r, c->id, c->path, 1);
	free_clip(c);
	return 0;
}

/*
 * Creates the file and writes its header. On failure *io says whether the
 * disk failed (then every clip is given up and recording pauses) or the
 * muxer would not take the streams (then this clip alone is lost).
 */
static int open_clip(vg_recorder *r, clip *c, int *io)
{
	*io = 0;
	int rc = avformat_alloc_output_context2(&c->oc, NULL, "mp4", c->path);
	if (rc < 0)
		return rc;
	c->vs = avformat_new_stream(c->oc, NULL);
	if (!c->vs || avcodec_parameters_copy(c->vs->codecpar, r->vpar) < 0)
		return AVERROR(ENOMEM);
	/* A source container's tag (an AVI's, a Matroska's) means nothing in MP4. */
	c->vs->codecpar->codec_tag = 0;
	c->vs->time_base = r->vtb;
	if (r->apar) {
		c->as = avformat_new_stream(c->oc, NULL);
		if (!c->as || avcodec_parameters_copy(c->as->codecpar, r->apar) < 0)
			return AVERROR(ENOMEM);
		c->as->codecpar->codec_tag = 0;
		c->as->time_base = r->atb;
	}
	*io = 1;
	if (fault_hook())
		return AVERROR(ENOSPC);
	if ((rc = avio_open(&c->oc->pb, c->path, AVIO_FLAG_WRITE)) < 0)
		return rc;
	/* Each fragment goes to the file at once, so a crash loses only the one under way. */
	c->oc->flush_packets = 1;
	AVDictionary *mux = NULL;
	av_dict_set(&mux, "movflags", "frag_keyframe+empty_moov+default_base_moof", 0);
	rc = avformat_write_header(c->oc, &mux);
	av_dict_free(&mux);
	if (rc < 0 && c->oc->pb->error >= 0)
		*io = 0;
	return rc < 0 ? rc : 0;
}

static void do_begin(vg_recorder *r, const char *id, int64_t start)
{
	if (!id_ok(id)) {
		vg_warn("recorder %s: no clip for the event id '%s' (only digits, a-z, '.' and '-', under %d characters)",
			r->dir, id, ID_MAX);
		report(r, id, "", 0);
		return;
	}
	for (int i = 0; i < r->nclips; i++)
		if (!strcmp(r->clips[i]->id, id)) {
			vg_debug("recorder %s: event %s began twice; its clip goes on", r->dir, id);
			return;
		}
	size_t plen = strlen(r->dir) + strlen(id) + 6;
	char *path = malloc(plen);
	if (path)
		snprintf(path, plen, "%s/%s.mp4", r->dir, id);
	if (vg_mono_us() < atomic_load(&r->pause_until_mono)) {
		vg_debug("recorder %s: no clip for event %s: recording is paused after a write error", r->dir, id);
		report(r, id, path ? path : "", 0);
		free(path);
		return;
	}
	if (r->nclips == VG_RECORDER_MAX_OPEN) {
		vg_warn("recorder %s: no clip for event %s: %d clips are open already", r->dir, id, VG_RECORDER_MAX_OPEN);
		report(r, id, path ? path : "", 0);
		free(path);
		return;
	}
	clip *c = path ? calloc(1, sizeof *c) : NULL;
	if (!c) {
		vg_warn("recorder %s: no clip for event %s: out of memory", r->dir, id);
		report(r, id, path ? path : "", 0);
		free(path);
		return;
	}
	snprintf(c->id, sizeof c->id, "%s", id);
	c->path = path;
	/* An event that lasts (a parked car) gets its first max_us of clip, not a file that grows for ever. */
	c->close_at = start > INT64_MAX - r->max_us ? INT64_MAX : start + r->max_us;
	int io;
	int rc = open_clip(r, c, &io);
	if (rc < 0 && !io) {
		char eb[AV_ERROR_MAX_STRING_SIZE];
		vg_warn("recorder %s: no clip for event %s: cannot start %s: %s", r->dir, id, c->path,
			av_err(rc, eb, sizeof eb));
		if (c->oc)
			avio_closep(&c->oc->pb);
		unlink(c->path);
		report(r, c->id, c->path, 0);
		free_clip(c);
		return;
	}
	r->clips[r->nclips++] = c;
	if (rc < 0) {
		fail_all(r, c->path, rc);
		return;
	}
	/* From the last keyframe at or before the pre-roll; if the memory starts later, from its first keyframe. */
	int64_t target = start - r->pre_us;
	size_t from = r->ring_count;
	for (size_t i = 0; i < r->ring_count; i++) {
		const ring_entry *e = ring_at(r, i);
		if (!entry_is_key(e))
			continue;
		if (from == r->ring_count || e->wall_us <= target)
			from = i;
		if (e->wall_us > target)
			break;
	}
	for (size_t i = from; i < r->ring_count; i++) {
		const ring_entry *e = ring_at(r, i);
		if ((rc = clip_write(r, c, e->pkt, e->wall_us, e->audio)) < 0) {
			fail_all(r, c->path, rc);
			return;
		}
	}
}

static void do_end(vg_recorder *r, const char *id, int64_t end)
{
	for (int i = 0; i < r->nclips; i++) {
		clip *c = r->clips[i];
		if (strcmp(c->id, id))
			continue;
		int64_t at = end > INT64_MAX - r->post_us ? INT64_MAX : end + r->post_us;
		if (at < c->close_at)
			c->close_at = at;
		if (r->last_wall >= c->close_at)
			finish_clip(r, i);
		return;
	}
	vg_debug("recorder %s: event %s ended without an open clip", r->dir, id);
}

/* Takes pkt: writes it to the open clips, closing those whose time is up, then keeps it in the ring. */
static void on_packet(vg_recorder *r, AVPacket *pkt, int64_t wall, int audio)
{
	if (wall > r->last_wall)
		r->last_wall = wall;
	for (int i = 0; i < r->nclips;) {
		if (wall >= r->clips[i]->close_at) {
			if (finish_clip(r, i) < 0)
				break;
			continue;
		}
		int rc = clip_write(r, r->clips[i], pkt, wall, audio);
		if (rc < 0) {
			fail_all(r, r->clips[i]->path, rc);
			break;
		}
		i++;
	}
	ring_push(r, pkt, wall, audio);
}

/* ---- encode ---- */

static int open_encoder(vg_recorder *r, const vg_recorder_options *opt, char *err, size_t errlen)
{
	const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
	if (!codec)
		codec = avcodec_find_encoder(AV_CODEC_ID_H264);
	if (!codec) {
		snprintf(err, errlen, "recorder %s: this FFmpeg has no H.264 encoder (Debian's libavcodec59 has libx264)",
			 opt->dir);
		return -1;
	}
	AVCodecContext *c = r->enc = avcodec_alloc_context3(codec);
	r->pic = av_frame_alloc();
	r->epkt = av_packet_alloc();
	if (!c || !r->pic || !r->epkt) {
		snprintf(err, errlen, "recorder %s: out of memory", opt->dir);
		return -1;
	}
	c->width = opt->width;
	c->height = opt->height;
	c->framerate = opt->frame_rate;
	/* Timed by the frames' wall clock, so a source that slows down or speeds up stays in real time. */
	c->time_base = US_TB;
	c->sample_aspect_ratio = (AVRational){ 1, 1 };
	c->pix_fmt = AV_PIX_FMT_YUV420P;
	c->color_range = AVCOL_RANGE_MPEG;
	c->colorspace = AVCOL_SPC_SMPTE170M;
	/* A keyframe about every second (also forced by time below), so that a pre-roll cut is close to pre_s. */
	double fps = av_q2d(opt->frame_rate);
	r->frame_us = av_rescale_q(1, av_inv_q(opt->frame_rate), US_TB);
	c->gop_size = (int)fmin(fmax(round(fps), 1.0), 300.0);
	/* No B-frames: decoding order is showing order, and a clip's first packet is at 0. */
	c->max_b_frames = 0;
	c->thread_count = opt->width * opt->height <= 1280 * 720 ? 1 : 0;
	/* MP4 keeps the parameter sets in its header. */
	c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	if (!strcmp(codec->name, "libx264")) {
		av_opt_set(c->priv_data, "preset", "veryfast", 0);
		/* No lookahead: each frame's packet comes out at once and reaches the clips without delay. */
		av_opt_set(c->priv_data, "tune", "zerolatency", 0);
		av_opt_set(c->priv_data, "crf", "23", 0);
	}
	int rc = avcodec_open2(c, codec, NULL);
	if (rc < 0) {
		char eb[AV_ERROR_MAX_STRING_SIZE];
		snprintf(err, errlen, "recorder %s: cannot open the H.264 encoder: %s", opt->dir, av_err(rc, eb, sizeof eb));
		return -1;
	}
	r->vpar = avcodec_parameters_alloc();
	if (!r->vpar || avcodec_parameters_from_context(r->vpar, c) < 0) {
		snprintf(err, errlen, "recorder %s: out of memory", opt->dir);
		return -1;
	}
	r->pic->format = c->pix_fmt;
	r->pic->width = c->width;
	r->pic->height = c->height;
	r->pic->color_range = c->color_range;
	r->pic->colorspace = c->colorspace;
	if (av_frame_get_buffer(r->pic, 0) < 0) {
		snprintf(err, errlen, "recorder %s: out of memory", opt->dir);
		return -1;
	}
	return 0;
}

static void encode_frame(vg_recorder *r, vg_frame *f, int64_t wall)
{
	char eb[AV_ERROR_MAX_STRING_SIZE];
	if (f->width != r->width || f->height != r->height) {
		if (!r->warned_size++)
			vg_warn("recorder %s: a %dx%d frame is not recorded (the clips are %dx%d)", r->dir, f->width,
				f->height, r->width, r->height);
		return;
	}
	if (av_frame_make_writable(r->pic) < 0)
		return;
	vg_limited_copy_frame(r->pic, f, &r->luts);
	if (!r->enc_started) {
		r->enc_started = 1;
		r->enc_base = wall;
		r->enc_last_pts = -1;
		r->last_key_wall = INT64_MIN / 2;
	}
	int64_t pts = wall - r->enc_base;
	if (pts <= r->enc_last_pts) {
		/* The wall clock went back (it was set): the timeline goes on a frame later, and packets keep their walls. */
		pts = r->enc_last_pts + (r->frame_us > 0 ? r->frame_us : 1);
		r->enc_base = wall - pts;
	}
	r->enc_last_pts = pts;
	r->pic->pts = pts;
	/* A slow source would stretch a GOP of frames over many seconds: keyframes are also due by time. */
	r->pic->pict_type = wall - r->last_key_wall >= 1000000 ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
	int rc = avcodec_send_frame(r->enc, r->pic);
	for (; rc >= 0;) {
		rc = avcodec_receive_packet(r->enc, r->epkt);
		if (rc < 0)
			break;
		AVPacket *p = av_packet_alloc();
		if (!p) {
			av_packet_unref(r->epkt);
			continue;
		}
		av_packet_move_ref(p, r->epkt);
		p->dts = p->pts;
		/* Not known until the next frame; the nominal one spares the muxer a guess (and its warning) at each fragment's end. */
		p->duration = r->frame_us;
		int64_t pwall = p->pts + r->enc_base;
		if (p->flags & AV_PKT_FLAG_KEY)
			r->last_key_wall = pwall;
		on_packet(r, p, pwall, 0);
	}
	if (rc < 0 && rc != AVERROR(EAGAIN) && rc != AVERROR_EOF && !r->warned_encode++)
		vg_warn("recorder %s: encoding failed: %s", r->dir, av_err(rc, eb, sizeof eb));
}

/* ---- the thread ---- */

static void process(vg_recorder *r, item *it)
{
	switch (it->kind) {
	case IT_FRAME:
		encode_frame(r, it->frame, it->wall_us);
		vg_frame_unref(it->frame);
		break;
	case IT_VIDEO:
	case IT_AUDIO:
		on_packet(r, it->pkt, it->wall_us, it->kind == IT_AUDIO);
		break;
	case IT_BEGIN:
		do_begin(r, it->id, it->wall_us);
		break;
	case IT_END:
		do_end(r, it->id, it->wall_us);
		break;
	case IT_DISCONTINUITY:
		if (r->remux) {
			/* The old packets may belong to other parameter sets: clips go on from the next keyframe. */
			ring_clear(r);
			for (int i = 0; i < r->nclips; i++)
				r->clips[i]->need_key = 1;
		}
		break;
	}
}

static void *recorder_thread(void *arg)
{
	vg_recorder *r = arg;
	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (!r->q_count && !r->stop)
			pthread_cond_wait(&r->wake, &r->lock);
		if (!r->q_count)
			break;
		item it = r->q[r->q_head];
		r->q_head = (r->q_head + 1) % QUEUE_CAP;
		r->q_count--;
		if (it.kind == IT_FRAME)
			r->q_frames--;
		pthread_mutex_unlock(&r->lock);
		process(r, &it);
		pthread_mutex_lock(&r->lock);
		r->seq_done++;
		pthread_cond_broadcast(&r->idle);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* Queues an item without waiting. 0, or -1 when the queue is full (the caller frees what it holds). */
static int push(vg_recorder *r, const item *it)
{
	int cmd = it->kind != IT_FRAME && it->kind != IT_VIDEO && it->kind != IT_AUDIO;
	pthread_mutex_lock(&r->lock);
	size_t limit = cmd ? QUEUE_CAP : QUEUE_CAP - QUEUE_CMD_RESERVE;
	if (r->stop || r->q_count >= limit || (it->kind == IT_FRAME && r->q_frames >= QUEUE_MAX_FRAMES)) {
		pthread_mutex_unlock(&r->lock);
		if (!cmd)
			atomic_fetch_add(&r->dropped, 1);
		return -1;
	}
	r->q[(r->q_head + r->q_count) % QUEUE_CAP] = *it;
	r->q_count++;
	if (it->kind == IT_FRAME)
		r->q_frames++;
	r->seq_in++;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
	return 0;
}

/* ---- the API ---- */

/* The encoder, the packets and parameters, and the recorder itself. */
static void free_codecs(vg_recorder *r)
{
	avcodec_free_context(&r->enc);
	av_frame_free(&r->pic);
	av_packet_free(&r->epkt);
	av_packet_free(&r->wpkt);
	avcodec_parameters_free(&r->vpar);
	avcodec_parameters_free(&r->apar);
	free(r->dir);
	free(r);
}

int vg_recorder_create(vg_recorder **out, const vg_recorder_options *opt, char *err, size_t errlen)
{
	*out = NULL;
	if (!opt->dir || !*opt->dir) {
		snprintf(err, errlen, "recorder: no clip folder given");
		return -1;
	}
	if (!(opt->pre_s >= 0 && opt->pre_s <= 3600) || !(opt->post_s >= 0 && opt->post_s <= 3600)) {
		snprintf(err, errlen, "recorder %s: pre and post must be 0 to 3600 s, not %g and %g", opt->dir, opt->pre_s,
			 opt->post_s);
		return -1;
	}
	if (opt->video) {
		if (opt->video_time_base.num <= 0 || opt->video_time_base.den <= 0) {
			snprintf(err, errlen, "recorder %s: the video to remux has no time base", opt->dir);
			return -1;
		}
	} else if (opt->width <= 0 || opt->height <= 0 || (opt->width & 1) || (opt->height & 1)) {
		snprintf(err, errlen, "recorder %s: H.264 needs an even frame size, not %dx%d", opt->dir, opt->width,
			 opt->height);
		return -1;
	} else if (opt->frame_rate.num <= 0 || opt->frame_rate.den <= 0) {
		snprintf(err, errlen, "recorder %s: bad frame rate %d/%d", opt->dir, opt->frame_rate.num,
			 opt->frame_rate.den);
		return -1;
	}
	if (make_dirs(opt->dir, err, errlen) < 0)
		return -1;
	vg_recorder *r = calloc(1, sizeof *r);
	if (!r || !(r->dir = strdup(opt->dir)) || !(r->wpkt = av_packet_alloc())) {
		snprintf(err, errlen, "recorder %s: out of memory", opt->dir);
		goto fail;
	}
	r->pre_us = llround(opt->pre_s * 1e6);
	r->post_us = llround(opt->post_s * 1e6);
	r->max_us = llround((opt->max_s > 0 ? opt->max_s : VG_RECORDER_MAX_CLIP_S) * 1e6);
	r->done = opt->done;
	r->user = opt->user;
	r->last_wall = INT64_MIN;
	r->width = opt->width;
	r->height = opt->height;
	vg_limited_luts_init(&r->luts);
	if (opt->video) {
		r->remux = 1;
		r->vtb = opt->video_time_base;
		r->vpar = avcodec_parameters_alloc();
		if (!r->vpar || avcodec_parameters_copy(r->vpar, opt->video) < 0) {
			snprintf(err, errlen, "recorder %s: out of memory", opt->dir);
			goto fail;
		}
	} else {
		r->vtb = US_TB;
		if (open_encoder(r, opt, err, errlen) < 0)
			goto fail;
	}
	if (opt->audio) {
		if (!vg_audio_copyable(opt->audio->codec_id)) {
			vg_warn("recorder %s: the source's %s audio is not recorded (only AAC, MP3 and Opus are)", opt->dir,
				avcodec_get_name(opt->audio->codec_id));
		} else if (opt->audio_time_base.num <= 0 || opt->audio_time_base.den <= 0) {
			snprintf(err, errlen, "recorder %s: the audio stream to record has no time base", opt->dir);
			goto fail;
		} else {
			r->atb = opt->audio_time_base;
			r->apar = avcodec_parameters_alloc();
			if (!r->apar || avcodec_parameters_copy(r->apar, opt->audio) < 0) {
				snprintf(err, errlen, "recorder %s: out of memory", opt->dir);
				goto fail;
			}
		}
	}
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->wake, NULL);
	pthread_cond_init(&r->idle, NULL);
	if (pthread_create(&r->thread, NULL, recorder_thread, r) != 0) {
		snprintf(err, errlen, "recorder %s: cannot start its thread", opt->dir);
		pthread_cond_destroy(&r->idle);
		pthread_cond_destroy(&r->wake);
		pthread_mutex_destroy(&r->lock);
		goto fail;
	}
	pthread_setname_np(r->thread, "vg-recorder");
	*out = r;
	return 0;
fail:
	if (r)
		free_codecs(r);
	return -1;
}

void vg_recorder_destroy(vg_recorder *r)
{
	if (!r)
		return;
	/* The thread works through what is queued first, so the clips get every packet given before this call. */
	pthread_mutex_lock(&r->lock);
	r->stop = 1;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	while (r->nclips > 0)
		if (finish_clip(r, r->nclips - 1) < 0)
			break;
	ring_clear(r);
	free(r->ring);
	pthread_cond_destroy(&r->idle);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	free_codecs(r);
}

int vg_recorder_remuxes(const vg_recorder *r)
{
	return r->remux;
}

void vg_recorder_frame(vg_recorder *r, vg_frame *frame, int64_t wall_us)
{
	if (!r || r->remux || !frame)
		return;
	item it = { .kind = IT_FRAME, .frame = vg_frame_ref(frame), .wall_us = wall_us };
	if (push(r, &it) < 0)
		vg_frame_unref(it.frame);
}

static void push_packet(vg_recorder *r, const AVPacket *pkt, int64_t wall_us, enum item_kind kind)
{
	item it = { .kind = kind, .wall_us = wall_us };
	/* A cheap check first: a full queue should not cost a packet copy. */
	pthread_mutex_lock(&r->lock);
	int full = r->q_count >= QUEUE_CAP - QUEUE_CMD_RESERVE;
	pthread_mutex_unlock(&r->lock);
	if (full) {
		atomic_fetch_add(&r->dropped, 1);
		return;
	}
	if (!(it.pkt = av_packet_clone(pkt)))
		return;
	if (push(r, &it) < 0)
		av_packet_free(&it.pkt);
}

void vg_recorder_packet(vg_recorder *r, const AVPacket *pkt, int64_t wall_us)
{
	if (r && r->remux && pkt)
		push_packet(r, pkt, wall_us, IT_VIDEO);
}

void vg_recorder_audio(vg_recorder *r, const AVPacket *pkt, int64_t wall_us)
{
	if (r && r->apar && pkt)
		push_packet(r, pkt, wall_us, IT_AUDIO);
}

static void push_command(vg_recorder *r, enum item_kind kind, const char *id, int64_t wall_us)
{
	item it = { .kind = kind, .wall_us = wall_us };
	if (id)
		snprintf(it.id, sizeof it.id, "%s", id);
	if (push(r, &it) < 0)
		vg_warn("recorder %s: the queue is full; the %s of event %s is lost", r->dir,
			kind == IT_BEGIN ? "beginning" : kind == IT_END ? "end" : "discontinuity", id ? id : "?");
}

void vg_recorder_begin(vg_recorder *r, const char *id, int64_t start_wall_us)
{
	if (r && id)
		push_command(r, IT_BEGIN, id, start_wall_us);
}

void vg_recorder_end(vg_recorder *r, const char *id, int64_t end_wall_us)
{
	if (r && id)
		push_command(r, IT_END, id, end_wall_us);
}

void vg_recorder_discontinuity(vg_recorder *r)
{
	if (r)
		push_command(r, IT_DISCONTINUITY, NULL, 0);
}

void vg_recorder_sync(vg_recorder *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	uint64_t target = r->seq_in;
	while (r->seq_done < target)
		pthread_cond_wait(&r->idle, &r->lock);
	pthread_mutex_unlock(&r->lock);
}

void vg_recorder_get_stats(vg_recorder *r, vg_recorder_stats *out)
{
	memset(out, 0, sizeof *out);
	if (!r)
		return;
	out->clips_done = atomic_load(&r->clips_done);
	out->clips_failed = atomic_load(&r->clips_failed);
	out->dropped = atomic_load(&r->dropped);
	out->paused = vg_mono_us() < atomic_load(&r->pause_until_mono);
}
