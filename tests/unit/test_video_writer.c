#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "core/frame.h"
#include "encode/video_writer.h"
#include "test.h"

#define W 320
#define H 240

/* A moving bright square on a gradient, so every frame differs and the encoder has edges to code. */
static void paint(vg_frame *f, int i)
{
	for (int y = 0; y < f->height; y++)
		for (int x = 0; x < f->width; x++) {
			int in = x >= 10 + 5 * i && x < 50 + 5 * i && y >= 40 && y < 80;
			f->plane[0][y * f->stride[0] + x] = in ? 255 : (uint8_t)((x + y) / 4);
		}
	for (int p = 1; p < 3; p++)
		for (int y = 0; y < f->height / 2; y++)
			memset(f->plane[p] + y * f->stride[p], p == 1 ? 100 : 160, (size_t)f->width / 2);
}

static char *temp_path(void)
{
	static char path[64];
	snprintf(path, sizeof path, "/tmp/vg-writer-%d.mp4", (int)getpid());
	return path;
}

/* Opens the file with libavformat and counts the video stream's packets (one per frame for H.264 in MP4). */
static int count_frames(const char *path, int *w, int *h, enum AVCodecID *codec, double *fps, int *streams)
{
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
	*w = ic->streams[v]->codecpar->width;
	*h = ic->streams[v]->codecpar->height;
	*codec = ic->streams[v]->codecpar->codec_id;
	*fps = av_q2d(ic->streams[v]->avg_frame_rate);
	*streams = (int)ic->nb_streams;
	AVPacket *pkt = av_packet_alloc();
	int n = 0;
	while (av_read_frame(ic, pkt) >= 0) {
		if (pkt->stream_index == v)
			n++;
		av_packet_unref(pkt);
	}
	av_packet_free(&pkt);
	avformat_close_input(&ic);
	return n;
}

static vg_video_writer_options options(void)
{
	vg_video_writer_options o = { .width = W, .height = H, .frame_rate = { 15, 1 }, .threads = 1 };
	return o;
}

TEST(video_writer_writes_30_frames)
{
	const char *path = temp_path();
	vg_video_writer_options o = options();
	vg_video_writer *w;
	char err[256];
	int rc = vg_video_writer_open(&w, path, &o, err, sizeof err);
	CHECK_MSG(rc == 0, "%s", err);
	CHECK(!vg_video_writer_has_audio(w));
	vg_frame_pool *pool = vg_frame_pool_create(W, H);
	for (int i = 0; i < 30; i++) {
		vg_frame *f = vg_frame_pool_get(pool);
		paint(f, i);
		rc = vg_video_writer_write_frame(w, f, err, sizeof err);
		CHECK_MSG(rc == 0, "frame %d: %s", i, err);
		vg_frame_unref(f);
	}
	CHECK(vg_video_writer_frames(w) == 30);
	rc = vg_video_writer_close(w, err, sizeof err);
	CHECK_MSG(rc == 0, "%s", err);
	vg_frame_pool_release(pool);

	int fw, fh, streams;
	enum AVCodecID codec;
	double fps;
	int n = count_frames(path, &fw, &fh, &codec, &fps, &streams);
	unlink(path);
	CHECK_MSG(n == 30, "read back %d frames", n);
	CHECK(fw == W && fh == H);
	CHECK(codec == AV_CODEC_ID_H264);
	CHECK_MSG(fps > 14.9 && fps < 15.1, "%.3f fps", fps);
	CHECK(streams == 1);
}

/* A file whose writer never closed (a crash) still holds the fragments written before. */
TEST(video_writer_unclosed_file_plays)
{
	const char *path = temp_path();
	vg_video_writer_options o = options();
	vg_video_writer *w;
	char err[256];
	CHECK(vg_video_writer_open(&w, path, &o, err, sizeof err) == 0);
	vg_frame_pool *pool = vg_frame_pool_create(W, H);
	/* 70 frames at 15 fps: two full two-second fragments (keyframes at 0, 30, 60), then the third one opens. */
	for (int i = 0; i < 70; i++) {
		vg_frame *f = vg_frame_pool_get(pool);
		paint(f, i % 50);
		CHECK(vg_video_writer_write_frame(w, f, err, sizeof err) == 0);
		vg_frame_unref(f);
	}
	/* The file as a crash would leave it: the bytes written so far, no trailer. */
	int fw, fh, streams;
	enum AVCodecID codec;
	double fps;
	int n = count_frames(path, &fw, &fh, &codec, &fps, &streams);
	CHECK(vg_video_writer_close(w, err, sizeof err) == 0);
	vg_frame_pool_release(pool);
	unlink(path);
	CHECK_MSG(n >= 30 && n < 70, "read back %d frames before close", n);
}

TEST(video_writer_leaves_out_uncopyable_audio)
{
	const char *path = temp_path();
	AVCodecParameters *pcm = avcodec_parameters_alloc();
	pcm->codec_type = AVMEDIA_TYPE_AUDIO;
	pcm->codec_id = AV_CODEC_ID_PCM_S16LE;
	pcm->sample_rate = 48000;
	vg_video_writer_options o = options();
	o.audio = pcm;
	o.audio_time_base = (AVRational){ 1, 48000 };
	vg_video_writer *w;
	char err[256];
	CHECK(vg_video_writer_open(&w, path, &o, err, sizeof err) == 0);
	CHECK(!vg_video_writer_has_audio(w));
	CHECK(vg_video_writer_close(w, err, sizeof err) == 0);
	avcodec_parameters_free(&pcm);
	unlink(path);
}

TEST(video_writer_errors_name_the_problem)
{
	vg_video_writer_options o = options();
	vg_video_writer *w = (vg_video_writer *)1;
	char err[256];
	CHECK(vg_video_writer_open(&w, "/nonexistent-dir/x.mp4", &o, err, sizeof err) < 0);
	CHECK(w == NULL);
	CHECK_MSG(strstr(err, "/nonexistent-dir/x.mp4") && strstr(err, "No such file"), "%s", err);

	o.width = 321;
	CHECK(vg_video_writer_open(&w, temp_path(), &o, err, sizeof err) < 0);
	CHECK_MSG(strstr(err, "even"), "%s", err);

	/* A frame of another size than the video's is refused, not encoded out of bounds. */
	o = options();
	CHECK(vg_video_writer_open(&w, temp_path(), &o, err, sizeof err) == 0);
	vg_frame_pool *pool = vg_frame_pool_create(W / 2, H / 2);
	vg_frame *f = vg_frame_pool_get(pool);
	paint(f, 0);
	CHECK(vg_video_writer_write_frame(w, f, err, sizeof err) < 0);
	CHECK_MSG(strstr(err, "160x120"), "%s", err);
	vg_frame_unref(f);
	vg_frame_pool_release(pool);
	vg_video_writer_close(w, NULL, 0);
	unlink(temp_path());
}

TEST_SUITE(video_writer, TEST_ENTRY(video_writer_writes_30_frames), TEST_ENTRY(video_writer_unclosed_file_plays),
	   TEST_ENTRY(video_writer_leaves_out_uncopyable_audio), TEST_ENTRY(video_writer_errors_name_the_problem));
