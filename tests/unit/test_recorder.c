#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "core/clock.h"
#include "core/frame.h"
#include "encode/video_writer.h"
#include "grey_frame.h"
#include "record/recorder.h"
#include "test.h"

#define W 320
#define H 240
#define FPS 25
#define FRAME_US (1000000 / FPS)
/* Synthetic wall times from here: the recorder must go by them, not by its clock. */
#define BASE_US INT64_C(1765000000000000)
#define AT(s) (BASE_US + (int64_t)llround((s) * 1e6))

/* ---- what the done callback saw ---- */

#define MAX_DONE 32
static struct {
	pthread_mutex_t lock;
	int n;
	char id[MAX_DONE][64];
	char path[MAX_DONE][256];
	int ok[MAX_DONE];
} done_log = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void on_done(void *user, const char *id, const char *path, int ok)
{
	(void)user;
	pthread_mutex_lock(&done_log.lock);
	if (done_log.n < MAX_DONE) {
		snprintf(done_log.id[done_log.n], 64, "%s", id);
		snprintf(done_log.path[done_log.n], 256, "%s", path);
		done_log.ok[done_log.n] = ok;
		done_log.n++;
	}
	pthread_mutex_unlock(&done_log.lock);
}

/* ok of the clip called id: 1, 0, or -1 when done was not called for it. */
static int done_of(const char *id)
{
	int r = -1;
	pthread_mutex_lock(&done_log.lock);
	for (int i = 0; i < done_log.n; i++)
		if (!strcmp(done_log.id[i], id))
			r = done_log.ok[i];
	pthread_mutex_unlock(&done_log.lock);
	return r;
}

static const char *test_dir(const char *name)
{
	static char dir[128];
	snprintf(dir, sizeof dir, "/tmp/vg-recorder-%d-%s", (int)getpid(), name);
	return dir;
}

static const char *clip_path(const char *dir, const char *id)
{
	static char path[1024];
	snprintf(path, sizeof path, "%s/%s.mp4", dir, id);
	return path;
}

static int exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static void remove_dir(const char *dir)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
}

/* A bright square moving over grey, so that every frame differs. */
static void paint(vg_frame *f, int i)
{
	int x0 = (i * 4) % (W - 40);
	for (int y = 100; y < 140; y++)
		memset(f->plane[0] + y * f->stride[0] + x0, 235, 40);
}

/* ---- reading a clip back ---- */

typedef struct probe {
	int frames;
	double duration;          /* seconds, from the first packet's time to the end of the last */
	int first_key;
	int keys;
	int width, height;
	AVPacket *pkts[400];      /* the video packets, when asked for */
} probe;

static int probe_clip(const char *path, probe *p, int keep)
{
	memset(p, 0, sizeof *p);
	AVFormatContext *ic = NULL;
	if (avformat_open_input(&ic, path, NULL, NULL) < 0)
		return -1;
	if (avformat_find_stream_info(ic, NULL) < 0) {
		avformat_close_input(&ic);
		return -1;
	}
	int v = av_find_best_stream(ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	if (v < 0) {
		avformat_close_input(&ic);
		return -1;
	}
	AVRational tb = ic->streams[v]->time_base;
	p->width = ic->streams[v]->codecpar->width;
	p->height = ic->streams[v]->codecpar->height;
	AVPacket *pkt = av_packet_alloc();
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	while (av_read_frame(ic, pkt) >= 0) {
		if (pkt->stream_index == v) {
			if (p->frames == 0)
				p->first_key = !!(pkt->flags & AV_PKT_FLAG_KEY);
			p->keys += !!(pkt->flags & AV_PKT_FLAG_KEY);
			if (pkt->pts < lo)
				lo = pkt->pts;
			if (pkt->pts + pkt->duration > hi)
				hi = pkt->pts + pkt->duration;
			if (keep && p->frames < 400)
				p->pkts[p->frames] = av_packet_clone(pkt);
			p->frames++;
		}
		av_packet_unref(pkt);
	}
	av_packet_free(&pkt);
	avformat_close_input(&ic);
	p->duration = p->frames ? (double)(hi - lo) * av_q2d(tb) : 0;
	return 0;
}

static void probe_free(probe *p)
{
	for (int i = 0; i < 400; i++)
		av_packet_free(&p->pkts[i]);
}

/* ---- encode ---- */

static vg_recorder *encode_recorder(const char *dir, double pre, double post)
{
	vg_recorder_options o = { .dir = dir, .pre_s = pre, .post_s = post, .width = W, .height = H,
				  .frame_rate = { FPS, 1 }, .done = on_done };
	vg_recorder *r;
	char err[256];
	int rc = vg_recorder_create(&r, &o, err, sizeof err);
	CHECK_MSG(rc == 0, "%s", err);
	CHECK(!vg_recorder_remuxes(r));
	return r;
}

/* Feeds frames first..last-1 (frame i at i/25 s), each waited for so that none is dropped. */
static void feed_frames(vg_recorder *r, vg_frame_pool *pool, int first, int last)
{
	for (int i = first; i < last; i++) {
		vg_frame *f = vg_test_grey_frame(pool);
		paint(f, i);
		vg_recorder_frame(r, f, BASE_US + (int64_t)i * FRAME_US);
		vg_frame_unref(f);
		vg_recorder_sync(r);
	}
}

TEST(recorder_encode_clip)
{
	const char *dir = test_dir("encode");
	remove_dir(dir);
	vg_recorder *r = encode_recorder(dir, 1.0, 1.0);
	vg_frame_pool *pool = vg_frame_pool_create(W, H);
	const char *id = "1765000003.000000-enc001";
	feed_frames(r, pool, 0, 75);
	vg_recorder_begin(r, id, AT(3.0));
	feed_frames(r, pool, 75, 125);
	vg_recorder_end(r, id, AT(5.0));
	feed_frames(r, pool, 125, 200);
	vg_recorder_sync(r);
	/* The event ended at 5 s; the clip closed at the first frame 1 s after. */
	CHECK_MSG(done_of(id) == 1, "done: %d", done_of(id));
	vg_recorder_stats st;
	vg_recorder_get_stats(r, &st);
	CHECK(st.clips_done == 1 && st.clips_failed == 0 && st.dropped == 0 && !st.paused);
	vg_recorder_destroy(r);
	vg_frame_pool_release(pool);

	probe p;
	CHECK_MSG(probe_clip(clip_path(dir, id), &p, 0) == 0, "cannot read %s", clip_path(dir, id));
	fprintf(stderr, "encode clip: %d frames, %.3f s, %d keyframes\n", p.frames, p.duration, p.keys);
	/* From the keyframe at 2 s (a keyframe a second) to 6 s. */
	CHECK_MSG(fabs(p.duration - 4.0) <= 0.2, "%.3f s", p.duration);
	CHECK_MSG(p.frames == 100, "%d frames", p.frames);
	CHECK(p.first_key);
	CHECK_MSG(p.keys >= 4 && p.keys <= 5, "%d keyframes", p.keys);
	CHECK(p.width == W && p.height == H);
	remove_dir(dir);
}

/* An event that goes on (a parked car) gets a clip of the longest length, closed while it lasts. */
TEST(recorder_longest_clip)
{
	const char *dir = test_dir("longest");
	remove_dir(dir);
	vg_recorder_options o = { .dir = dir, .pre_s = 1, .post_s = 1, .max_s = 2, .width = W, .height = H,
				  .frame_rate = { FPS, 1 }, .done = on_done };
	vg_recorder *r;
	char err[256];
	CHECK_MSG(vg_recorder_create(&r, &o, err, sizeof err) == 0, "%s", err);
	vg_frame_pool *pool = vg_frame_pool_create(W, H);
	const char *id = "1765000003.000000-long01";
	feed_frames(r, pool, 0, 75);
	vg_recorder_begin(r, id, AT(3.0));
	feed_frames(r, pool, 75, 200);
	/* Closed at 5 s, with the event still going on. */
	CHECK_MSG(done_of(id) == 1, "done: %d", done_of(id));
	vg_recorder_end(r, id, AT(7.0));
	feed_frames(r, pool, 200, 225);
	vg_recorder_destroy(r);
	vg_frame_pool_release(pool);
	probe p;
	CHECK(probe_clip(clip_path(dir, id), &p, 0) == 0);
	/* From the keyframe at 2 s to 5 s. */
	CHECK_MSG(fabs(p.duration - 3.0) <= 0.2, "%.3f s", p.duration);
	remove_dir(dir);
}

/* Frames that come slower than the nominal rate keep their real times. */
TEST(recorder_encode_follows_wall_time)
{
	const char *dir = test_dir("vfr");
	remove_dir(dir);
	vg_recorder *r = encode_recorder(dir, 0, 0);
	vg_frame_pool *pool = vg_frame_pool_create(W, H);
	const char *id = "1765000000.000000-vfr001";
	vg_recorder_begin(r, id, AT(0));
	/* 10 fps for 3 s although the nominal rate is 25. */
	for (int i = 0; i < 30; i++) {
		vg_frame *f = vg_test_grey_frame(pool);
		paint(f, i);
		vg_recorder_frame(r, f, BASE_US + (int64_t)i * 100000);
		vg_frame_unref(f);
		vg_recorder_sync(r);
	}
	vg_recorder_end(r, id, AT(2.95));
	vg_recorder_destroy(r);
	vg_frame_pool_release(pool);
	probe p;
	CHECK(probe_clip(clip_path(dir, id), &p, 0) == 0);
	fprintf(stderr, "10 fps clip: %d frames, %.3f s, %d keyframes\n", p.frames, p.duration, p.keys);
	CHECK_MSG(p.frames == 30, "%d frames", p.frames);
	CHECK_MSG(fabs(p.duration - 3.0) <= 0.15, "%.3f s", p.duration);
	/* A keyframe a second, by time. */
	CHECK_MSG(p.keys == 3, "%d keyframes", p.keys);
	remove_dir(dir);
}

/* ---- remux ---- */

typedef struct source_file {
	AVCodecParameters *par;
	AVRational tb;
	AVPacket *pkts[300];
	int n;
} source_file;

/* Ten seconds of H.264 at 25 fps (a keyframe every 2 s), written to an MP4 and read back as a source's packets. */
static void make_source(source_file *s)
{
	char path[64];
	snprintf(path, sizeof path, "/tmp/vg-recorder-src-%d.mp4", (int)getpid());
	vg_video_writer_options o = { .width = W, .height = H, .frame_rate = { FPS, 1 }, .threads = 1,
				      .preset = "ultrafast" };
	vg_video_writer *w;
	char err[256];
	CHECK_MSG(vg_video_writer_open(&w, path, &o, err, sizeof err) == 0, "%s", err);
	vg_frame_pool *pool = vg_frame_pool_create(W, H);
	for (int i = 0; i < 250; i++) {
		vg_frame *f = vg_test_grey_frame(pool);
		paint(f, i);
		CHECK(vg_video_writer_write_frame(w, f, err, sizeof err) == 0);
		vg_frame_unref(f);
	}
	CHECK(vg_video_writer_close(w, err, sizeof err) == 0);
	vg_frame_pool_release(pool);

	memset(s, 0, sizeof *s);
	AVFormatContext *ic = NULL;
	CHECK(avformat_open_input(&ic, path, NULL, NULL) == 0);
	CHECK(avformat_find_stream_info(ic, NULL) >= 0);
	int v = av_find_best_stream(ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	CHECK(v >= 0);
	s->par = avcodec_parameters_alloc();
	CHECK(avcodec_parameters_copy(s->par, ic->streams[v]->codecpar) >= 0);
	s->tb = ic->streams[v]->time_base;
	AVPacket *pkt = av_packet_alloc();
	while (av_read_frame(ic, pkt) >= 0 && s->n < 300) {
		if (pkt->stream_index == v)
			s->pkts[s->n++] = av_packet_clone(pkt);
		av_packet_unref(pkt);
	}
	av_packet_free(&pkt);
	avformat_close_input(&ic);
	unlink(path);
	CHECK_MSG(s->n == 250, "%d packets", s->n);
}

static void free_source(source_file *s)
{
	for (int i = 0; i < s->n; i++)
		av_packet_free(&s->pkts[i]);
	avcodec_parameters_free(&s->par);
}

static int64_t packet_wall(const source_file *s, int i)
{
	return BASE_US + av_rescale_q(s->pkts[i]->pts, s->tb, (AVRational){ 1, 1000000 });
}

static vg_recorder *remux_recorder(const char *dir, const source_file *s, double pre, double post)
{
	vg_recorder_options o = { .dir = dir, .pre_s = pre, .post_s = post, .video = s->par, .video_time_base = s->tb,
				  .done = on_done };
	vg_recorder *r;
	char err[256];
	CHECK_MSG(vg_recorder_create(&r, &o, err, sizeof err) == 0, "%s", err);
	CHECK(vg_recorder_remuxes(r));
	return r;
}

/* Feeds the packets whose wall time is in [from, to) s, with a sync now and then so that none is dropped. */
static int feed_packets(vg_recorder *r, const source_file *s, int i, double to)
{
	for (; i < s->n && packet_wall(s, i) < AT(to); i++) {
		vg_recorder_packet(r, s->pkts[i], packet_wall(s, i));
		if (i % 64 == 0)
			vg_recorder_sync(r);
	}
	vg_recorder_sync(r);
	return i;
}

TEST(recorder_remux_clip)
{
	source_file s;
	make_source(&s);
	const char *dir = test_dir("remux");
	remove_dir(dir);
	vg_recorder *r = remux_recorder(dir, &s, 1.0, 1.0);
	const char *id = "1765000003.500000-rem001";
	int i = feed_packets(r, &s, 0, 3.5);
	vg_recorder_begin(r, id, AT(3.5));
	i = feed_packets(r, &s, i, 5.0);
	vg_recorder_end(r, id, AT(5.0));
	feed_packets(r, &s, i, 8.0);
	CHECK(done_of(id) == 1);
	vg_recorder_destroy(r);

	probe p;
	CHECK(probe_clip(clip_path(dir, id), &p, 1) == 0);
	fprintf(stderr, "remux clip: %d packets, %.3f s, %d keyframes\n", p.frames, p.duration, p.keys);
	/* Keyframes at 0, 2, 4 ... s: the one at or before 2.5 s is at 2 s (packet 50); the clip ends before 6 s. */
	CHECK_MSG(p.frames == 100, "%d packets", p.frames);
	CHECK(p.first_key);
	CHECK_MSG(fabs(p.duration - 4.0) <= 0.05, "%.3f s", p.duration);
	for (int k = 0; k < p.frames; k++) {
		const AVPacket *a = p.pkts[k], *b = s.pkts[50 + k];
		CHECK_MSG(a->size == b->size && !memcmp(a->data, b->data, (size_t)a->size),
			  "packet %d differs from the source's %d (%d and %d bytes)", k, 50 + k, a->size, b->size);
	}
	probe_free(&p);
	free_source(&s);
	remove_dir(dir);
}

TEST(recorder_overlapping_events)
{
	source_file s;
	make_source(&s);
	const char *dir = test_dir("overlap");
	remove_dir(dir);
	vg_recorder *r = remux_recorder(dir, &s, 0.5, 0.5);
	const char *a = "1765000002.000000-aaaaaa", *b = "1765000003.000000-bbbbbb";
	int i = feed_packets(r, &s, 0, 2.0);
	vg_recorder_begin(r, a, AT(2.0));
	i = feed_packets(r, &s, i, 3.0);
	vg_recorder_begin(r, b, AT(3.0));
	i = feed_packets(r, &s, i, 4.0);
	vg_recorder_end(r, a, AT(4.0));
	i = feed_packets(r, &s, i, 6.0);
	vg_recorder_end(r, b, AT(6.0));
	feed_packets(r, &s, i, 9.0);
	CHECK(done_of(a) == 1 && done_of(b) == 1);
	vg_recorder_destroy(r);
	probe pa, pb;
	CHECK(probe_clip(clip_path(dir, a), &pa, 0) == 0);
	CHECK(probe_clip(clip_path(dir, b), &pb, 0) == 0);
	fprintf(stderr, "overlapping clips: %d packets %.3f s, %d packets %.3f s\n", pa.frames, pa.duration, pb.frames,
		pb.duration);
	/* a: from the keyframe at 0 s (at or before 1.5 s) to 4.5 s; b: from 2 s (at or before 2.5 s) to 6.5 s. */
	CHECK_MSG(pa.frames == 113 && fabs(pa.duration - 4.5) <= 0.05, "a: %d, %.3f s", pa.frames, pa.duration);
	CHECK_MSG(pb.frames == 113 && fabs(pb.duration - 4.5) <= 0.05, "b: %d, %.3f s", pb.frames, pb.duration);
	CHECK(pa.first_key && pb.first_key);
	free_source(&s);
	remove_dir(dir);
}

/* A source that starts again (a rewound file): the clip goes on, its timestamps still rising. */
TEST(recorder_remux_discontinuity)
{
	source_file s;
	make_source(&s);
	const char *dir = test_dir("discont");
	remove_dir(dir);
	vg_recorder *r = remux_recorder(dir, &s, 0, 0);
	const char *id = "1765000000.000000-loop01";
	vg_recorder_begin(r, id, AT(0));
	/* 4 s of the file, then from its start again, at wall times 4 to 8 s. */
	for (int i = 0; i < 100; i++)
		vg_recorder_packet(r, s.pkts[i], packet_wall(&s, i));
	vg_recorder_sync(r);
	vg_recorder_discontinuity(r);
	for (int i = 0; i < 100; i++)
		vg_recorder_packet(r, s.pkts[i], packet_wall(&s, i) + 4000000);
	vg_recorder_end(r, id, AT(8.0));
	vg_recorder_destroy(r);
	CHECK(done_of(id) == 1);
	probe p;
	CHECK(probe_clip(clip_path(dir, id), &p, 0) == 0);
	fprintf(stderr, "clip across a rewind: %d packets, %.3f s\n", p.frames, p.duration);
	CHECK_MSG(p.frames == 200, "%d packets", p.frames);
	CHECK_MSG(fabs(p.duration - 8.0) <= 0.1, "%.3f s", p.duration);
	free_source(&s);
	remove_dir(dir);
}

/* ---- audio ---- */

typedef struct audio_source {
	AVCodecParameters *par;
	AVRational tb;
	AVPacket *pkts[512];
	int n;
} audio_source;

/* Eight seconds of a 440 Hz tone as AAC (FFmpeg's own encoder), 48 kHz mono. */
static void make_audio(audio_source *a)
{
	memset(a, 0, sizeof *a);
	const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
	if (!codec)
		SKIP("no AAC encoder");
	AVCodecContext *c = avcodec_alloc_context3(codec);
	c->sample_rate = 48000;
	c->sample_fmt = AV_SAMPLE_FMT_FLTP;
	av_channel_layout_default(&c->ch_layout, 1);
	c->bit_rate = 64000;
	c->time_base = (AVRational){ 1, 48000 };
	c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	CHECK(avcodec_open2(c, codec, NULL) == 0);
	AVFrame *f = av_frame_alloc();
	f->nb_samples = c->frame_size;
	f->format = c->sample_fmt;
	av_channel_layout_copy(&f->ch_layout, &c->ch_layout);
	f->sample_rate = 48000;
	CHECK(av_frame_get_buffer(f, 0) == 0);
	AVPacket *pkt = av_packet_alloc();
	int64_t t = 0;
	for (int k = 0; t < 8 * 48000; k++) {
		CHECK(av_frame_make_writable(f) == 0);
		float *s = (float *)f->data[0];
		for (int j = 0; j < f->nb_samples; j++)
			s[j] = 0.3f * (float)sin(2 * M_PI * 440.0 * (double)(t + j) / 48000.0);
		f->pts = t;
		t += f->nb_samples;
		CHECK(avcodec_send_frame(c, f) == 0);
		while (avcodec_receive_packet(c, pkt) == 0) {
			if (a->n < 512)
				a->pkts[a->n++] = av_packet_clone(pkt);
			av_packet_unref(pkt);
		}
	}
	a->par = avcodec_parameters_alloc();
	CHECK(avcodec_parameters_from_context(a->par, c) >= 0);
	a->tb = c->time_base;
	av_packet_free(&pkt);
	av_frame_free(&f);
	avcodec_free_context(&c);
}

static void free_audio(audio_source *a)
{
	for (int i = 0; i < a->n; i++)
		av_packet_free(&a->pkts[i]);
	avcodec_parameters_free(&a->par);
}

TEST(recorder_copies_audio)
{
	source_file s;
	make_source(&s);
	audio_source a;
	make_audio(&a);
	const char *dir = test_dir("audio");
	remove_dir(dir);
	vg_recorder_options o = { .dir = dir, .pre_s = 1.0, .post_s = 1.0, .video = s.par, .video_time_base = s.tb,
				  .audio = a.par, .audio_time_base = a.tb, .done = on_done };
	vg_recorder *r;
	char err[256];
	CHECK_MSG(vg_recorder_create(&r, &o, err, sizeof err) == 0, "%s", err);
	const char *id = "1765000003.500000-aud001";
	/* Interleaved as a demuxer would give them: each audio packet once the video has reached its time. */
	int k = 0, begun = 0, ended = 0;
	for (int i = 0; i < 200; i++) {
		int64_t w = packet_wall(&s, i);
		if (w >= AT(3.5) && !begun++)
			vg_recorder_begin(r, id, AT(3.5));
		if (w >= AT(5.0) && !ended++)
			vg_recorder_end(r, id, AT(5.0));
		for (; k < a.n && BASE_US + av_rescale_q(a.pkts[k]->pts, a.tb, (AVRational){ 1, 1000000 }) <= w; k++)
			vg_recorder_audio(r, a.pkts[k], BASE_US + av_rescale_q(a.pkts[k]->pts, a.tb, (AVRational){ 1, 1000000 }));
		vg_recorder_packet(r, s.pkts[i], w);
		vg_recorder_sync(r);
	}
	CHECK(done_of(id) == 1);
	vg_recorder_destroy(r);

	AVFormatContext *ic = NULL;
	CHECK(avformat_open_input(&ic, clip_path(dir, id), NULL, NULL) == 0);
	CHECK(avformat_find_stream_info(ic, NULL) >= 0);
	CHECK(ic->nb_streams == 2);
	int as = av_find_best_stream(ic, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
	CHECK(as >= 0 && ic->streams[as]->codecpar->codec_id == AV_CODEC_ID_AAC);
	AVPacket *pkt = av_packet_alloc();
	int n = 0;
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	while (av_read_frame(ic, pkt) >= 0) {
		if (pkt->stream_index == as) {
			n++;
			if (pkt->pts < lo)
				lo = pkt->pts;
			if (pkt->pts + pkt->duration > hi)
				hi = pkt->pts + pkt->duration;
		}
		av_packet_unref(pkt);
	}
	double t0 = (double)lo * av_q2d(ic->streams[as]->time_base), t1 = (double)hi * av_q2d(ic->streams[as]->time_base);
	av_packet_free(&pkt);
	avformat_close_input(&ic);
	fprintf(stderr, "audio in the clip: %d packets, %.3f to %.3f s\n", n, t0, t1);
	/* The video runs from 0 to 4 s; the audio with it, to within a packet (21 ms). */
	CHECK_MSG(t0 >= 0 && t0 < 0.05 && fabs(t1 - 4.0) < 0.05, "audio %.3f to %.3f s", t0, t1);
	CHECK_MSG(n >= 185 && n <= 188, "%d audio packets", n);
	free_audio(&a);
	free_source(&s);
	remove_dir(dir);
}

/* Encoded clips take the source's audio too, in step with the frames by their wall times. */
TEST(recorder_encode_copies_audio)
{
	audio_source a;
	make_audio(&a);
	const char *dir = test_dir("encaudio");
	remove_dir(dir);
	vg_recorder_options o = { .dir = dir, .pre_s = 1.0, .post_s = 1.0, .width = W, .height = H,
				  .frame_rate = { FPS, 1 }, .audio = a.par, .audio_time_base = a.tb, .done = on_done };
	vg_recorder *r;
	char err[256];
	CHECK_MSG(vg_recorder_create(&r, &o, err, sizeof err) == 0, "%s", err);
	vg_frame_pool *pool = vg_frame_pool_create(W, H);
	const char *id = "1765000003.000000-encaud";
	int k = 0;
	for (int i = 0; i < 175; i++) {
		int64_t w = BASE_US + (int64_t)i * FRAME_US;
		if (i == 75)
			vg_recorder_begin(r, id, AT(3.0));
		if (i == 125)
			vg_recorder_end(r, id, AT(5.0));
		for (; k < a.n && BASE_US + av_rescale_q(a.pkts[k]->pts, a.tb, (AVRational){ 1, 1000000 }) <= w; k++)
			vg_recorder_audio(r, a.pkts[k], BASE_US + av_rescale_q(a.pkts[k]->pts, a.tb, (AVRational){ 1, 1000000 }));
		vg_frame *f = vg_test_grey_frame(pool);
		paint(f, i);
		vg_recorder_frame(r, f, w);
		vg_frame_unref(f);
		vg_recorder_sync(r);
	}
	CHECK(done_of(id) == 1);
	vg_recorder_destroy(r);
	vg_frame_pool_release(pool);
	AVFormatContext *ic = NULL;
	CHECK(avformat_open_input(&ic, clip_path(dir, id), NULL, NULL) == 0);
	CHECK(avformat_find_stream_info(ic, NULL) >= 0);
	CHECK_EQ_INT(ic->nb_streams, 2);
	int as = av_find_best_stream(ic, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
	int vs = av_find_best_stream(ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	CHECK(as >= 0 && vs >= 0 && ic->streams[as]->codecpar->codec_id == AV_CODEC_ID_AAC);
	/* Both streams span the clip, 2 s before to 6 s, within a packet or two. */
	double span[2] = { 0, 0 };
	AVPacket *pkt = av_packet_alloc();
	int64_t lo[2] = { INT64_MAX, INT64_MAX }, hi[2] = { INT64_MIN, INT64_MIN };
	while (av_read_frame(ic, pkt) >= 0) {
		int k2 = pkt->stream_index == as;
		if (pkt->pts < lo[k2])
			lo[k2] = pkt->pts;
		if (pkt->pts + pkt->duration > hi[k2])
			hi[k2] = pkt->pts + pkt->duration;
		av_packet_unref(pkt);
	}
	span[0] = (double)(hi[0] - lo[0]) * av_q2d(ic->streams[vs]->time_base);
	span[1] = (double)(hi[1] - lo[1]) * av_q2d(ic->streams[as]->time_base);
	double start_gap = (double)lo[1] * av_q2d(ic->streams[as]->time_base) -
			   (double)lo[0] * av_q2d(ic->streams[vs]->time_base);
	fprintf(stderr, "encoded clip with audio: video %.3f s, audio %.3f s, audio starts %+.3f s after video\n",
		span[0], span[1], start_gap);
	CHECK_MSG(fabs(span[0] - 4.0) <= 0.2 && fabs(span[1] - 4.0) <= 0.2, "%.3f %.3f", span[0], span[1]);
	CHECK_MSG(fabs(start_gap) <= 0.1, "%.3f", start_gap);
	av_packet_free(&pkt);
	avformat_close_input(&ic);
	free_audio(&a);
	remove_dir(dir);
}

TEST(recorder_leaves_out_other_audio)
{
	source_file s;
	make_source(&s);
	AVCodecParameters *pcm = avcodec_parameters_alloc();
	pcm->codec_type = AVMEDIA_TYPE_AUDIO;
	pcm->codec_id = AV_CODEC_ID_PCM_S16LE;
	pcm->sample_rate = 48000;
	const char *dir = test_dir("pcm");
	remove_dir(dir);
	vg_recorder_options o = { .dir = dir, .video = s.par, .video_time_base = s.tb, .audio = pcm,
				  .audio_time_base = { 1, 48000 }, .done = on_done };
	vg_recorder *r;
	char err[256];
	CHECK_MSG(vg_recorder_create(&r, &o, err, sizeof err) == 0, "%s", err);
	const char *id = "1765000000.000000-pcm001";
	vg_recorder_begin(r, id, AT(0));
	AVPacket *ap = av_packet_alloc();
	CHECK(av_new_packet(ap, 1920) == 0);
	memset(ap->data, 0, 1920);
	for (int i = 0; i < 50; i++) {
		ap->pts = ap->dts = i * 960;
		vg_recorder_audio(r, ap, packet_wall(&s, i));
		vg_recorder_packet(r, s.pkts[i], packet_wall(&s, i));
		vg_recorder_sync(r);
	}
	av_packet_free(&ap);
	vg_recorder_destroy(r);
	CHECK(done_of(id) == 1);
	AVFormatContext *ic = NULL;
	CHECK(avformat_open_input(&ic, clip_path(dir, id), NULL, NULL) == 0);
	CHECK(ic->nb_streams == 1);
	avformat_close_input(&ic);
	avcodec_parameters_free(&pcm);
	free_source(&s);
	remove_dir(dir);
}

/* ---- failures, the queue, shutting down ---- */

TEST(recorder_write_fault_pauses)
{
	source_file s;
	make_source(&s);
	const char *dir = test_dir("fault");
	remove_dir(dir);
	setenv("VIGIL_RECORDER_PAUSE_MS", "300", 1);
	vg_recorder *r = remux_recorder(dir, &s, 1.0, 0.5);
	vg_recorder_stats st;

	/* A clip that fails as it opens. */
	setenv("VIGIL_FAULT_CLIP_WRITE", "1", 1);
	int i = feed_packets(r, &s, 0, 1.0);
	vg_recorder_begin(r, "1765000001.000000-fail01", AT(1.0));
	i = feed_packets(r, &s, i, 1.5);
	CHECK(done_of("1765000001.000000-fail01") == 0);
	CHECK(!exists(clip_path(dir, "1765000001.000000-fail01")));
	vg_recorder_get_stats(r, &st);
	CHECK(st.paused && st.clips_failed == 1 && st.clips_done == 0);

	/* The disk is fine again, but the pause is not over: no clip. */
	unsetenv("VIGIL_FAULT_CLIP_WRITE");
	vg_recorder_begin(r, "1765000001.500000-fail02", AT(1.5));
	i = feed_packets(r, &s, i, 2.0);
	CHECK(done_of("1765000001.500000-fail02") == 0);
	CHECK(!exists(clip_path(dir, "1765000001.500000-fail02")));

	vg_sleep_us(350000);
	vg_recorder_get_stats(r, &st);
	CHECK(!st.paused);
	/* Recording again; then the disk fills while the clip is open. */
	vg_recorder_begin(r, "1765000002.000000-fail03", AT(2.0));
	vg_recorder_begin(r, "1765000002.000000-fail04", AT(2.0));
	i = feed_packets(r, &s, i, 3.0);
	CHECK(exists(clip_path(dir, "1765000002.000000-fail03")));
	setenv("VIGIL_FAULT_CLIP_WRITE", "1", 1);
	i = feed_packets(r, &s, i, 5.0);
	CHECK(done_of("1765000002.000000-fail03") == 0 && done_of("1765000002.000000-fail04") == 0);
	CHECK(!exists(clip_path(dir, "1765000002.000000-fail03")));
	CHECK(!exists(clip_path(dir, "1765000002.000000-fail04")));
	vg_recorder_get_stats(r, &st);
	CHECK(st.paused && st.clips_failed == 4);

	/* After the pause, clips are whole again. */
	unsetenv("VIGIL_FAULT_CLIP_WRITE");
	vg_sleep_us(350000);
	vg_recorder_begin(r, "1765000005.000000-fine01", AT(5.0));
	i = feed_packets(r, &s, i, 6.0);
	vg_recorder_end(r, "1765000005.000000-fine01", AT(6.0));
	feed_packets(r, &s, i, 7.0);
	CHECK(done_of("1765000005.000000-fine01") == 1);
	vg_recorder_get_stats(r, &st);
	CHECK(!st.paused && st.clips_done == 1);
	vg_recorder_destroy(r);
	probe p;
	CHECK(probe_clip(clip_path(dir, "1765000005.000000-fine01"), &p, 0) == 0);
	/* From the keyframe at 4 s to the last packet before 6.5 s. */
	CHECK_MSG(p.frames == 63 && p.first_key, "%d packets", p.frames);
	unsetenv("VIGIL_RECORDER_PAUSE_MS");
	free_source(&s);
	remove_dir(dir);
}

/* A real write failure, not the hook: files may not grow past 8 KiB in this process (as a disk that fills). */
TEST(recorder_file_size_limit_fails_clip)
{
	source_file s;
	make_source(&s);
	const char *dir = test_dir("fsize");
	remove_dir(dir);
	setenv("VIGIL_RECORDER_PAUSE_MS", "10000", 1);
	vg_recorder *r = remux_recorder(dir, &s, 0, 0);
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit lim = { 8192, 8192 };
	CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	const char *id = "1765000000.000000-fsize1";
	vg_recorder_begin(r, id, AT(0));
	feed_packets(r, &s, 0, 10.0);
	CHECK_MSG(done_of(id) == 0, "done: %d", done_of(id));
	CHECK(!exists(clip_path(dir, id)));
	vg_recorder_stats st;
	vg_recorder_get_stats(r, &st);
	CHECK(st.paused && st.clips_failed == 1);
	vg_recorder_destroy(r);
	unsetenv("VIGIL_RECORDER_PAUSE_MS");
	free_source(&s);
	remove_dir(dir);
}

TEST(recorder_full_queue_drops)
{
	const char *dir = test_dir("queue");
	remove_dir(dir);
	vg_recorder *r = encode_recorder(dir, 1.0, 1.0);
	vg_frame_pool *pool = vg_frame_pool_create(W, H);
	vg_frame *f = vg_test_grey_frame(pool);
	int64_t worst = 0;
	for (int i = 0; i < 3000; i++) {
		int64_t t0 = vg_mono_us();
		vg_recorder_frame(r, f, BASE_US + (int64_t)i * FRAME_US);
		int64_t dt = vg_mono_us() - t0;
		if (dt > worst)
			worst = dt;
	}
	vg_frame_unref(f);
	vg_recorder_stats st;
	vg_recorder_get_stats(r, &st);
	fprintf(stderr, "3000 frames at once: %llu dropped, slowest call %lld us\n", (unsigned long long)st.dropped,
		(long long)worst);
	CHECK(st.dropped > 0);
	CHECK_MSG(worst < 50000, "a call took %lld us", (long long)worst);
	vg_recorder_destroy(r);
	vg_frame_pool_stats ps;
	vg_frame_pool_get_stats(pool, &ps);
	CHECK(ps.in_use == 0);
	vg_frame_pool_release(pool);
	remove_dir(dir);
}

TEST(recorder_destroy_finishes_open_clips)
{
	const char *dir = test_dir("destroy");
	remove_dir(dir);
	vg_recorder *r = encode_recorder(dir, 1.0, 1.0);
	vg_frame_pool *pool = vg_frame_pool_create(W, H);
	const char *id = "1765000001.000000-open01";
	feed_frames(r, pool, 0, 25);
	vg_recorder_begin(r, id, AT(1.0));
	feed_frames(r, pool, 25, 75);
	vg_recorder_destroy(r);
	vg_frame_pool_release(pool);
	CHECK(done_of(id) == 1);
	probe p;
	CHECK(probe_clip(clip_path(dir, id), &p, 0) == 0);
	fprintf(stderr, "clip of an open event at destroy: %d frames, %.3f s\n", p.frames, p.duration);
	CHECK_MSG(p.frames == 75 && p.first_key, "%d frames", p.frames);
	remove_dir(dir);
}

/* Clips beyond VG_RECORDER_MAX_OPEN get none; one that never saw a keyframe leaves no file and no pause. */
TEST(recorder_limits)
{
	source_file s;
	make_source(&s);
	const char *dir = test_dir("limits");
	remove_dir(dir);
	vg_recorder *r = remux_recorder(dir, &s, 0, 0);
	/* Packets 1 to 49: no keyframe among them. */
	vg_recorder_begin(r, "1765000000.000000-nokey1", AT(0));
	for (int i = 1; i < 45; i++)
		vg_recorder_packet(r, s.pkts[i], packet_wall(&s, i));
	vg_recorder_end(r, "1765000000.000000-nokey1", AT(1.0));
	for (int i = 45; i < 50; i++)
		vg_recorder_packet(r, s.pkts[i], packet_wall(&s, i));
	vg_recorder_sync(r);
	CHECK(done_of("1765000000.000000-nokey1") == 0);
	CHECK(!exists(clip_path(dir, "1765000000.000000-nokey1")));
	vg_recorder_stats st;
	vg_recorder_get_stats(r, &st);
	CHECK(!st.paused && st.clips_failed == 1);

	char ids[VG_RECORDER_MAX_OPEN + 1][32];
	for (int k = 0; k <= VG_RECORDER_MAX_OPEN; k++) {
		snprintf(ids[k], sizeof ids[k], "1765000002.000000-max%03d", k);
		vg_recorder_begin(r, ids[k], AT(2.0));
	}
	int i = feed_packets(r, &s, 50, 3.0);
	(void)i;
	CHECK(done_of(ids[VG_RECORDER_MAX_OPEN]) == 0);
	vg_recorder_destroy(r);
	for (int k = 0; k < VG_RECORDER_MAX_OPEN; k++) {
		CHECK(done_of(ids[k]) == 1);
		probe p;
		CHECK(probe_clip(clip_path(dir, ids[k]), &p, 0) == 0 && p.frames == 25 && p.first_key);
	}
	free_source(&s);
	remove_dir(dir);
}

TEST(recorder_refuses_bad_input)
{
	vg_recorder_options o = { .dir = "/proc/no-such-folder/clips", .width = W, .height = H, .frame_rate = { FPS, 1 } };
	vg_recorder *r = (vg_recorder *)1;
	char err[256];
	CHECK(vg_recorder_create(&r, &o, err, sizeof err) < 0);
	CHECK(r == NULL);
	CHECK_MSG(strstr(err, "/proc/no-such-folder"), "%s", err);
	o.dir = test_dir("bad");
	o.width = 321;
	CHECK(vg_recorder_create(&r, &o, err, sizeof err) < 0);
	CHECK_MSG(strstr(err, "even"), "%s", err);

	/* An id that could name another path gets no clip. */
	o.width = W;
	o.done = on_done;
	CHECK(vg_recorder_create(&r, &o, err, sizeof err) == 0);
	vg_recorder_begin(r, "../../etc/x", AT(0));
	vg_recorder_sync(r);
	CHECK(done_of("../../etc/x") == 0);
	vg_recorder_destroy(r);
	remove_dir(test_dir("bad"));
}

TEST_SUITE(recorder, TEST_ENTRY(recorder_encode_clip), TEST_ENTRY(recorder_longest_clip), TEST_ENTRY(recorder_encode_copies_audio), TEST_ENTRY(recorder_encode_follows_wall_time),
	   TEST_ENTRY(recorder_remux_clip), TEST_ENTRY(recorder_overlapping_events),
	   TEST_ENTRY(recorder_remux_discontinuity), TEST_ENTRY(recorder_copies_audio),
	   TEST_ENTRY(recorder_leaves_out_other_audio), TEST_ENTRY(recorder_write_fault_pauses),
	   TEST_ENTRY(recorder_file_size_limit_fails_clip),
	   TEST_ENTRY(recorder_full_queue_drops), TEST_ENTRY(recorder_destroy_finishes_open_clips),
	   TEST_ENTRY(recorder_limits),
	   TEST_ENTRY(recorder_refuses_bad_input));
