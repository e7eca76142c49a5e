#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>

#include "core/clock.h"
#include "core/frame.h"
#include "core/log.h"
#include "core/stats.h"
#include "source/source.h"
#include "test.h"

#define VTEST_AVI "/usr/share/doc/opencv-doc/examples/data/vtest.avi"

/*
 * Every test runs in its own forked process, so this state is per test. A
 * test that passes calls cleanup() itself (the runner leaves with _exit);
 * CHECK failures and SKIP reach it through atexit, and PR_SET_PDEATHSIG
 * takes the ffmpeg children down after a crash or a timeout.
 */
static pid_t children[8];
static int n_children;
static char tmp_dir[64];

static void cleanup(void)
{
	for (int i = 0; i < n_children; i++) {
		if (children[i] > 0) {
			kill(children[i], SIGKILL);
			waitpid(children[i], NULL, 0);
		}
	}
	n_children = 0;
	if (tmp_dir[0]) {
		char cmd[128];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", tmp_dir);
		tmp_dir[0] = '\0';
	}
}

static void register_cleanup(void)
{
	static int done;
	if (!done) {
		atexit(cleanup);
		done = 1;
	}
}

static const char *tmp_path(const char *name)
{
	static char path[4][256];
	static int slot;
	register_cleanup();
	if (!tmp_dir[0]) {
		strcpy(tmp_dir, "/tmp/vg-test-source-XXXXXX");
		CHECK(mkdtemp(tmp_dir) != NULL);
	}
	char *p = path[slot++ % 4];
	snprintf(p, sizeof path[0], "%s/%s", tmp_dir, name);
	return p;
}

static pid_t spawn(char *const argv[])
{
	register_cleanup();
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	CHECK(n_children < (int)(sizeof children / sizeof children[0]));
	children[n_children++] = pid;
	return pid;
}

static void forget_child(pid_t pid)
{
	for (int i = 0; i < n_children; i++) {
		if (children[i] == pid)
			children[i] = -1;
	}
}

static void kill_child(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	forget_child(pid);
}

/* Runs ffmpeg to completion; returns its exit status. */
static int run_ffmpeg(char *const argv[])
{
	pid_t pid = spawn(argv);
	int status = 0;
	waitpid(pid, &status, 0);
	forget_child(pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Makes a clip of testsrc frames; skips the test when this ffmpeg cannot. */
static const char *make_clip(const char *name, int frames, const char *codec)
{
	const char *path = tmp_path(name);
	char src[64], nframes[16];
	snprintf(src, sizeof src, "testsrc=size=320x240:rate=25");
	snprintf(nframes, sizeof nframes, "%d", frames);
	char *argv[] = { "ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i", src,
			 "-frames:v", nframes, "-c:v", (char *)codec, "-pix_fmt", "yuv420p", (char *)path, NULL };
	if (run_ffmpeg(argv) != 0)
		SKIP("ffmpeg cannot make a %s clip", codec);
	return path;
}

static long file_size(const char *path)
{
	struct stat st;
	CHECK(stat(path, &st) == 0);
	return (long)st.st_size;
}

static void copy_prefix(const char *from, const char *to, long n)
{
	FILE *in = fopen(from, "rb");
	FILE *out = fopen(to, "wb");
	CHECK(in && out);
	char buf[4096];
	while (n > 0) {
		size_t want = n < (long)sizeof buf ? (size_t)n : sizeof buf;
		size_t got = fread(buf, 1, want, in);
		CHECK(got > 0);
		CHECK(fwrite(buf, 1, got, out) == got);
		n -= (long)got;
	}
	fclose(in);
	fclose(out);
}

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(fd >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
	socklen_t len = sizeof a;
	CHECK(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	close(fd);
	return ntohs(a.sin_port);
}

static pid_t spawn_mjpeg_server(int port, const char *size)
{
	char src[96], url[64];
	snprintf(src, sizeof src, "testsrc=size=%s:rate=25", size);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
	char *argv[] = { "ffmpeg", "-nostdin", "-loglevel", "quiet", "-re", "-f", "lavfi", "-i", src,
			 "-f", "mpjpeg", "-listen", "1", url, NULL };
	return spawn(argv);
}

/* Opens the server's URL, retrying while ffmpeg is still starting up. */
static vg_source *open_server(const vg_source_options *opt, vg_stats *stats)
{
	char err[512] = "";
	int64_t deadline = vg_mono_us() + 10000000;
	vg_source *src = NULL;
	while (vg_source_open(&src, opt, stats, err, sizeof err) < 0) {
		CHECK_MSG(vg_mono_us() < deadline, "%s", err);
		vg_sleep_us(100000);
	}
	return src;
}

static vg_source *open_ok(const vg_source_options *opt, vg_stats *stats)
{
	char err[512] = "";
	vg_source *src = NULL;
	int ret = vg_source_open(&src, opt, stats, err, sizeof err);
	CHECK_MSG(ret == 0, "%s", err);
	CHECK(src != NULL);
	return src;
}

/* Expects vg_source_open to fail and returns its message. */
static const char *open_fails(const vg_source_options *opt)
{
	static char err[512];
	err[0] = '\0';
	vg_source *src = NULL;
	int ret = vg_source_open(&src, opt, NULL, err, sizeof err);
	CHECK(ret < 0);
	CHECK(src == NULL);
	CHECK(err[0] != '\0');
	CHECK(strchr(err, '\n') == NULL);
	return err;
}

/* Reads until EOF; returns the number of frames. */
static int count_to_eof(vg_source *src, int limit)
{
	int n = 0;
	for (;;) {
		vg_frame *f = NULL;
		int ret = vg_source_read(src, &f);
		if (ret == VG_SOURCE_EOF) {
			CHECK(f == NULL);
			return n;
		}
		CHECK_MSG(ret == 0, "read returned %d", ret);
		CHECK(f != NULL);
		CHECK(f->id == (uint64_t)n + 1);
		vg_frame_unref(f);
		CHECK(++n <= limit);
	}
}

TEST(source_lavfi_frames)
{
	vg_stats stats;
	vg_stats_init(&stats, "lavfi");
	vg_source_options opt = { .uri = "lavfi:testsrc=size=640x480:rate=25" };
	vg_source *src = open_ok(&opt, &stats);
	CHECK(vg_source_width(src) == 640);
	CHECK(vg_source_height(src) == 480);
	CHECK(vg_source_fps(src) > 24.9 && vg_source_fps(src) < 25.1);
	CHECK(!vg_source_is_live(src));
	CHECK(atomic_load(&stats.source_nominal_fps_milli) == 25000);

	int64_t last_mono = 0, last_wall = 0;
	for (uint64_t i = 1; i <= 10; i++) {
		vg_frame *f = NULL;
		CHECK(vg_source_read(src, &f) == 0);
		CHECK(f->id == i);
		CHECK(f->width == 640 && f->height == 480);
		CHECK(f->capture_mono_us >= last_mono);
		CHECK(f->capture_wall_us >= last_wall);
		CHECK(f->decode_us >= 0);
		last_mono = f->capture_mono_us;
		last_wall = f->capture_wall_us;
		vg_frame_unref(f);
	}
	CHECK(atomic_load(&stats.source_frames) == 10);
	CHECK(atomic_load(&stats.source_state) == VG_SOURCE_RUNNING);
	CHECK(atomic_load(&stats.source_width) == 640);
	CHECK(atomic_load(&stats.source_height) == 480);
	CHECK(atomic_load(&stats.source_last_frame_mono_us) == last_mono);
	CHECK(atomic_load(&stats.source_corrupt_packets) == 0);
	vg_source_destroy(src);
}

static double time_frames(int pace, int n)
{
	vg_source_options opt = { .uri = "lavfi:testsrc=size=320x240:rate=25", .pace = pace };
	vg_source *src = open_ok(&opt, NULL);
	int64_t t0 = vg_mono_us();
	for (int i = 0; i < n; i++) {
		vg_frame *f = NULL;
		CHECK(vg_source_read(src, &f) == 0);
		vg_frame_unref(f);
	}
	double secs = (double)(vg_mono_us() - t0) / 1e6;
	vg_source_destroy(src);
	return secs;
}

TEST(source_pacing)
{
	double paced = time_frames(1, 25);
	double fast = time_frames(0, 25);
	CHECK_MSG(paced >= 0.8 && paced < 2.0, "25 paced frames took %.3f s", paced);
	CHECK_MSG(fast < 0.5, "25 unpaced frames took %.3f s", fast);
}

static void count_frame(void *opaque, vg_frame *frame)
{
	(void)frame;
	atomic_fetch_add((atomic_int *)opaque, 1);
}

static double time_reads(vg_source *src, int n)
{
	int64_t t0 = vg_mono_us();
	for (int i = 0; i < n; i++) {
		vg_frame *f = NULL;
		CHECK(vg_source_read(src, &f) == 0);
		vg_frame_unref(f);
	}
	return (double)(vg_mono_us() - t0) / 1e6;
}

TEST(source_pacing_fallbacks)
{
	/* Every timestamp zero: the nominal rate paces instead. */
	vg_source_options opt = { .uri = "lavfi:testsrc=size=160x120:rate=25,setpts=0", .pace = 1 };
	vg_source *src = open_ok(&opt, NULL);
	double secs = time_reads(src, 25);
	CHECK_MSG(secs >= 0.8 && secs < 2.0, "25 frames without timestamps took %.3f s", secs);

	/* A consumer that falls a second behind gets frames at the native rate again, not a burst. */
	vg_sleep_us(1000000);
	secs = time_reads(src, 6);
	CHECK_MSG(secs >= 0.15, "6 frames after a stall took %.3f s", secs);
	vg_source_destroy(src);
}

TEST(source_thread_stop)
{
	vg_stats stats;
	vg_stats_init(&stats, "lavfi");
	vg_source_options opt = { .uri = "lavfi:testsrc=size=160x120:rate=1", .pace = 1 };
	vg_source *src = open_ok(&opt, &stats);
	vg_source_stop(src); /* never started: a no-op apart from the flag */
	vg_source_destroy(src);

	src = open_ok(&opt, &stats);
	atomic_int frames = 0;
	CHECK(vg_source_start(src, count_frame, &frames) == 0);
	int64_t deadline = vg_mono_us() + 3000000;
	while (atomic_load(&frames) < 1 && vg_mono_us() < deadline)
		vg_sleep_us(10000);
	CHECK(atomic_load(&frames) >= 1);
	/* The thread now waits about a second for the next frame at 1 fps; stop cuts that short. */
	vg_sleep_us(100000);
	int64_t t0 = vg_mono_us();
	vg_source_stop(src);
	int64_t took = vg_mono_us() - t0;
	CHECK_MSG(took < 200000, "stop took %lld us", (long long)took);
	vg_source_stop(src);
	CHECK(atomic_load(&stats.source_state) == VG_SOURCE_ENDED);
	vg_frame *f = (vg_frame *)1;
	CHECK(vg_source_read(src, &f) == VG_SOURCE_EOF && f == NULL);
	vg_source_destroy(src);
}

TEST(source_file_eof)
{
	const char *path = make_clip("ten.mp4", 10, "libx264");
	vg_stats stats;
	vg_stats_init(&stats, path);
	vg_source_options opt = { .uri = path };
	vg_source *src = open_ok(&opt, &stats);
	CHECK(vg_source_width(src) == 320 && vg_source_height(src) == 240);
	CHECK(count_to_eof(src, 100) == 10);
	vg_frame *f = NULL;
	CHECK(vg_source_read(src, &f) == VG_SOURCE_EOF);
	CHECK(atomic_load(&stats.source_state) == VG_SOURCE_ENDED);
	CHECK(atomic_load(&stats.source_frames) == 10);
	vg_source_destroy(src);
	cleanup();
}

TEST(source_file_thread_ends)
{
	const char *path = make_clip("ten.mkv", 10, "mpeg4");
	vg_stats stats;
	vg_stats_init(&stats, path);
	vg_source_options opt = { .uri = path };
	vg_source *src = open_ok(&opt, &stats);
	atomic_int frames = 0;
	CHECK(vg_source_start(src, count_frame, &frames) == 0);
	int64_t deadline = vg_mono_us() + 5000000;
	while (atomic_load(&stats.source_state) != VG_SOURCE_ENDED && vg_mono_us() < deadline)
		vg_sleep_us(10000);
	CHECK(atomic_load(&stats.source_state) == VG_SOURCE_ENDED);
	CHECK(atomic_load(&frames) == 10);
	vg_source_stop(src);
	vg_source_destroy(src);
	cleanup();
}

typedef struct tap_counts {
	atomic_int frames, video, audio, video_keys;
	atomic_int_fast64_t first_wall, last_wall;
} tap_counts;

static void tap_frame(void *opaque, vg_frame *f)
{
	(void)f;
	atomic_fetch_add(&((tap_counts *)opaque)->frames, 1);
}

static void tap_packet(void *opaque, const struct AVPacket *pkt, int is_audio, int64_t wall_us)
{
	tap_counts *c = opaque;
	if (is_audio) {
		atomic_fetch_add(&c->audio, 1);
	} else {
		atomic_fetch_add(&c->video, 1);
		if (pkt->flags & AV_PKT_FLAG_KEY)
			atomic_fetch_add(&c->video_keys, 1);
	}
	int_fast64_t zero = 0;
	atomic_compare_exchange_strong(&c->first_wall, &zero, wall_us);
	atomic_store(&c->last_wall, wall_us);
}

/* The packet tap (the recorder's way in when remuxing) sees every video and audio packet, with the streams' parameters. */
TEST(source_packet_tap)
{
	const char *path = tmp_path("tap.mp4");
	char *argv[] = { "ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
			 "testsrc=size=160x120:rate=25", "-f", "lavfi", "-i", "sine=f=440:sample_rate=48000", "-t", "1",
			 "-c:v", "libx264", "-g", "10", "-bf", "0", "-pix_fmt", "yuv420p", "-c:a", "aac", (char *)path, NULL };
	if (run_ffmpeg(argv) != 0)
		SKIP("ffmpeg cannot make an H.264 and AAC clip");
	vg_stats stats;
	vg_stats_init(&stats, path);
	vg_source_options opt = { .uri = path };
	vg_source *src = open_ok(&opt, &stats);
	AVRational vtb = { 0, 0 }, atb = { 0, 0 };
	const AVCodecParameters *vp = vg_source_video_params(src, &vtb);
	const AVCodecParameters *ap = vg_source_audio_params(src, &atb);
	CHECK(vp && vp->codec_id == AV_CODEC_ID_H264 && vtb.num > 0 && vtb.den > 0);
	CHECK(ap && ap->codec_id == AV_CODEC_ID_AAC && atb.num > 0 && atb.den > 0);
	tap_counts c = { 0 };
	vg_source_on_packet(src, tap_packet);
	CHECK(vg_source_start(src, tap_frame, &c) == 0);
	int64_t deadline = vg_mono_us() + 5000000;
	while (atomic_load(&stats.source_state) != VG_SOURCE_ENDED && vg_mono_us() < deadline)
		vg_sleep_us(10000);
	vg_source_stop(src);
	fprintf(stderr, "tap: %d frames, %d video packets (%d keys), %d audio packets\n", atomic_load(&c.frames),
		atomic_load(&c.video), atomic_load(&c.video_keys), atomic_load(&c.audio));
	CHECK(atomic_load(&c.frames) == 25 && atomic_load(&c.video) == 25);
	CHECK(atomic_load(&c.video_keys) == 3);
	/* One second of AAC at 48 kHz: 1024 samples a packet. */
	CHECK(atomic_load(&c.audio) >= 45 && atomic_load(&c.audio) <= 50);
	CHECK(atomic_load(&c.last_wall) >= atomic_load(&c.first_wall) && atomic_load(&c.first_wall) > 0);
	vg_source_destroy(src);
	cleanup();
}

/* Without a tap the audio stays discarded, and the frames are the same. */
TEST(source_no_tap_same_frames)
{
	const char *path = tmp_path("notap.mp4");
	char *argv[] = { "ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
			 "testsrc=size=160x120:rate=25", "-f", "lavfi", "-i", "sine=f=440:sample_rate=48000", "-t", "1",
			 "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", (char *)path, NULL };
	if (run_ffmpeg(argv) != 0)
		SKIP("ffmpeg cannot make an H.264 and AAC clip");
	vg_source_options opt = { .uri = path };
	vg_source *src = open_ok(&opt, NULL);
	CHECK(count_to_eof(src, 100) == 25);
	vg_source_destroy(src);
	cleanup();
}

TEST(source_file_loop)
{
	const char *path = make_clip("ten.mp4", 10, "libx264");
	vg_stats stats;
	vg_stats_init(&stats, path);
	vg_source_options opt = { .uri = path, .loop = 1 };
	vg_source *src = open_ok(&opt, &stats);
	for (uint64_t i = 1; i <= 35; i++) {
		vg_frame *f = NULL;
		CHECK_MSG(vg_source_read(src, &f) == 0, "frame %llu", (unsigned long long)i);
		CHECK(f->id == i);
		vg_frame_unref(f);
	}
	CHECK(atomic_load(&stats.source_state) == VG_SOURCE_RUNNING);
	CHECK(atomic_load(&stats.source_corrupt_packets) == 0);
	vg_source_destroy(src);
	cleanup();
}

/* A looping paced file does not burst at the loop point. */
TEST(source_file_loop_paced)
{
	const char *path = make_clip("ten.mkv", 10, "mpeg4");
	vg_source_options opt = { .uri = path, .loop = 1, .pace = 1 };
	vg_source *src = open_ok(&opt, NULL);
	int64_t t0 = vg_mono_us(), last = 0;
	for (int i = 0; i < 20; i++) {
		vg_frame *f = NULL;
		CHECK(vg_source_read(src, &f) == 0);
		/* The first frame of the second round keeps its distance from the last of the first. */
		if (i == 10)
			CHECK_MSG(f->capture_mono_us - last >= 20000, "gap %lld us", (long long)(f->capture_mono_us - last));
		last = f->capture_mono_us;
		vg_frame_unref(f);
	}
	double secs = (double)(vg_mono_us() - t0) / 1e6;
	CHECK_MSG(secs >= 0.6 && secs < 2.0, "20 paced frames over a loop took %.3f s", secs);
	vg_source_destroy(src);
	cleanup();
}

TEST(source_vtest_avi)
{
	if (access(VTEST_AVI, R_OK) != 0)
		SKIP("%s is absent (Debian package opencv-doc)", VTEST_AVI);
	vg_source_options opt = { .uri = VTEST_AVI };
	vg_source *src = open_ok(&opt, NULL);
	CHECK(vg_source_width(src) == 768 && vg_source_height(src) == 576);
	CHECK(vg_source_fps(src) > 9.9 && vg_source_fps(src) < 10.1);
	for (int i = 0; i < 5; i++) {
		vg_frame *f = NULL;
		CHECK(vg_source_read(src, &f) == 0);
		CHECK(f->width == 768 && f->height == 576);
		vg_frame_unref(f);
	}
	vg_source_destroy(src);
}

TEST(source_missing_file)
{
	const char *path = tmp_path("does-not-exist.mp4");
	vg_source_options opt = { .uri = path };
	const char *err = open_fails(&opt);
	CHECK_MSG(strstr(err, path) && strstr(err, "No such file"), "%s", err);
	cleanup();
}

TEST(source_not_video)
{
	const char *path = tmp_path("noise.mp4");
	FILE *fp = fopen(path, "wb");
	CHECK(fp);
	srand(7);
	for (int i = 0; i < 100000; i++)
		fputc(rand() & 0xff, fp);
	fclose(fp);
	vg_source_options opt = { .uri = path };
	const char *err = open_fails(&opt);
	CHECK_MSG(strstr(err, path), "%s", err);

	path = tmp_path("empty.mkv");
	fp = fopen(path, "wb");
	CHECK(fp);
	fclose(fp);
	opt.uri = path;
	err = open_fails(&opt);
	CHECK_MSG(strstr(err, path), "%s", err);
	cleanup();
}

TEST(source_audio_only)
{
	const char *path = tmp_path("tone.wav");
	char *argv[] = { "ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=d=0.2",
			 (char *)path, NULL };
	if (run_ffmpeg(argv) != 0)
		SKIP("ffmpeg cannot make a wav file");
	vg_source_options opt = { .uri = path };
	const char *err = open_fails(&opt);
	CHECK_MSG(strstr(err, path) && strstr(err, "no video stream"), "%s", err);
	cleanup();
}

TEST(source_truncated)
{
	const char *full = make_clip("fifty.mkv", 50, "libx264");
	const char *half = tmp_path("half.mkv");
	copy_prefix(full, half, file_size(full) / 2);
	vg_stats stats;
	vg_stats_init(&stats, half);
	vg_source_options opt = { .uri = half };
	vg_source *src = open_ok(&opt, &stats);
	int n = count_to_eof(src, 100);
	CHECK_MSG(n > 0 && n < 50, "%d frames", n);
	vg_source_destroy(src);

	/* An MP4 whose index is cut off either opens and ends or fails cleanly. */
	const char *mp4 = make_clip("fifty.mp4", 50, "libx264");
	const char *half_mp4 = tmp_path("half.mp4");
	copy_prefix(mp4, half_mp4, file_size(mp4) / 2);
	opt.uri = half_mp4;
	char err[512];
	src = NULL;
	if (vg_source_open(&src, &opt, NULL, err, sizeof err) == 0) {
		CHECK(count_to_eof(src, 100) <= 50);
		vg_source_destroy(src);
	} else {
		CHECK_MSG(strstr(err, half_mp4), "%s", err);
	}
	cleanup();
}

TEST(source_corrupt_packets)
{
	const char *clip = make_clip("clean.mkv", 100, "libx264");
	const char *bad = tmp_path("damaged.mkv");
	long size = file_size(clip);
	copy_prefix(clip, bad, size);
	/* Scribble over the body, sparing the headers, with a fixed pseudo-random sequence. */
	FILE *fp = fopen(bad, "r+b");
	CHECK(fp);
	uint32_t x = 12345;
	for (int i = 0; i < 400; i++) {
		x = x * 1103515245u + 12345u;
		long pos = size / 10 + (long)((x >> 8) % (uint32_t)(size - size / 10));
		x = x * 1103515245u + 12345u;
		CHECK(fseek(fp, pos, SEEK_SET) == 0);
		fputc((int)(x >> 16) & 0xff, fp);
	}
	fclose(fp);

	vg_stats stats;
	vg_stats_init(&stats, bad);
	vg_source_options opt = { .uri = bad };
	vg_source *src = open_ok(&opt, &stats);
	int n = count_to_eof(src, 200);
	CHECK_MSG(n > 0 && n <= 100, "%d frames", n);
	CHECK(atomic_load(&stats.source_corrupt_packets) > 0);
	CHECK(atomic_load(&stats.source_state) == VG_SOURCE_ENDED);
	vg_source_destroy(src);
	cleanup();
}

TEST(source_odd_size)
{
	const char *uris[] = {
		"lavfi:testsrc=size=321x241:rate=25",                  /* rgb24: converted */
		"lavfi:testsrc=size=321x241:rate=25,format=yuv420p",   /* copied */
		"lavfi:testsrc=size=321x241:rate=25,format=yuv422p",   /* converted */
	};
	for (size_t i = 0; i < sizeof uris / sizeof uris[0]; i++) {
		vg_source_options opt = { .uri = uris[i] };
		vg_source *src = open_ok(&opt, NULL);
		CHECK(vg_source_width(src) == 320 && vg_source_height(src) == 240);
		for (int k = 0; k < 3; k++) {
			vg_frame *f = NULL;
			CHECK(vg_source_read(src, &f) == 0);
			CHECK(f->width == 320 && f->height == 240);
			/* testsrc is colourful: the planes must not be uniform. */
			int lo = 255, hi = 0;
			for (int y = 0; y < 240; y += 7)
				for (int x = 0; x < 320; x += 5) {
					int v = f->plane[0][y * f->stride[0] + x];
					lo = v < lo ? v : lo;
					hi = v > hi ? v : hi;
				}
			CHECK_MSG(hi - lo > 100, "%s: luma %d..%d", uris[i], lo, hi);
			vg_frame_unref(f);
		}
		vg_source_destroy(src);
	}
}

TEST(source_color_conversion)
{
	/*
	 * Frames are full-range (JPEG) BT.601 YCbCr whatever the input: pure red
	 * is Y 76, Cb 85, Cr 255, whether it arrives as RGB (swscale path) or as
	 * limited-range yuv420p (Y 81, Cb 90, Cr 240; the lookup-table copy path).
	 */
	const char *uris[] = { "lavfi:color=c=red:size=64x48:rate=25,format=rgb24",
			       "lavfi:color=c=red:size=64x48:rate=25,format=yuv420p" };
	for (int i = 0; i < 2; i++) {
		vg_source_options opt = { .uri = uris[i] };
		vg_source *src = open_ok(&opt, NULL);
		vg_frame *f = NULL;
		CHECK(vg_source_read(src, &f) == 0);
		int y = f->plane[0][10 * f->stride[0] + 10];
		int u = f->plane[1][5 * f->stride[1] + 5];
		int v = f->plane[2][5 * f->stride[2] + 5];
		CHECK_MSG(abs(y - 76) <= 3 && abs(u - 85) <= 3 && abs(v - 255) <= 3, "%s: YUV %d %d %d", uris[i], y, u, v);
		vg_frame_unref(f);
		vg_source_destroy(src);
	}
}

TEST(source_missing_device)
{
	vg_source_options opt = { .uri = "/dev/video97", .width = 640, .height = 480, .fps = 30, .input_format = "mjpeg" };
	const char *err = open_fails(&opt);
	CHECK_MSG(strstr(err, "/dev/video97"), "%s", err);
}

TEST(source_http_unreachable)
{
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", free_port());
	vg_source_options opt = { .uri = url };
	int64_t t0 = vg_mono_us();
	const char *err = open_fails(&opt);
	CHECK_MSG(vg_mono_us() - t0 < 2000000, "took %lld us", (long long)(vg_mono_us() - t0));
	CHECK_MSG(strstr(err, url) && strstr(err, "cannot connect") && strstr(err, "refused"), "%s", err);
}

struct http_sink {
	atomic_int frames;
	atomic_int width;
	vg_frame *first;  /* held across the size change, so the old pool outlives its release */
};

static void http_frame(void *opaque, vg_frame *frame)
{
	struct http_sink *sink = opaque;
	if (!sink->first)
		sink->first = vg_frame_ref(frame);
	atomic_store(&sink->width, frame->width);
	atomic_fetch_add(&sink->frames, 1);
}

static int wait_frames(struct http_sink *sink, int n, int width, int64_t timeout_us)
{
	int64_t deadline = vg_mono_us() + timeout_us;
	while (vg_mono_us() < deadline) {
		if (atomic_load(&sink->frames) >= n && (!width || atomic_load(&sink->width) == width))
			return 1;
		vg_sleep_us(20000);
	}
	return 0;
}

TEST(source_http_reconnect)
{
	int port = free_port();
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
	pid_t server = spawn_mjpeg_server(port, "320x240");

	vg_stats stats;
	vg_stats_init(&stats, url);
	vg_source_options opt = { .uri = url, .reconnect_max_us = 1000000 };
	vg_source *src = open_server(&opt, &stats);
	CHECK(vg_source_is_live(src));
	CHECK(vg_source_width(src) == 320 && vg_source_height(src) == 240);
	struct http_sink sink = { 0 };
	CHECK(vg_source_start(src, http_frame, &sink) == 0);
	CHECK_MSG(wait_frames(&sink, 10, 320, 10000000), "%d frames", atomic_load(&sink.frames));
	CHECK(atomic_load(&stats.source_state) == VG_SOURCE_RUNNING);
	CHECK(atomic_load(&stats.source_reconnects) == 0);

	/* The server comes back with another frame size: the source follows it. */
	kill_child(server);
	server = spawn_mjpeg_server(port, "640x480");
	int before = atomic_load(&sink.frames);
	CHECK_MSG(wait_frames(&sink, before + 10, 640, 15000000), "%d frames, width %d, state %s",
		  atomic_load(&sink.frames), atomic_load(&sink.width),
		  vg_source_state_name(atomic_load(&stats.source_state)));
	CHECK(atomic_load(&stats.source_reconnects) > 0);
	CHECK(atomic_load(&stats.source_state) == VG_SOURCE_RUNNING);
	CHECK(atomic_load(&stats.source_width) == 640);
	CHECK(vg_source_width(src) == 640);

	vg_source_stop(src);
	CHECK(sink.first && sink.first->width == 320);
	vg_frame_unref(sink.first);
	vg_source_destroy(src);
	kill_child(server);
	cleanup();
}

TEST(source_http_stop_while_blocked)
{
	int port = free_port();
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
	pid_t server = spawn_mjpeg_server(port, "320x240");
	vg_source_options opt = { .uri = url, .io_timeout_us = 30000000 };
	vg_source *src = open_server(&opt, NULL);
	struct http_sink sink = { 0 };
	CHECK(vg_source_start(src, http_frame, &sink) == 0);
	CHECK(wait_frames(&sink, 5, 0, 10000000));

	/* A frozen server keeps the connection open and sends nothing: the read blocks. */
	kill(server, SIGSTOP);
	vg_sleep_us(300000);
	int64_t t0 = vg_mono_us();
	vg_source_stop(src);
	int64_t took = vg_mono_us() - t0;
	CHECK_MSG(took < 1000000, "stop took %lld us", (long long)took);
	vg_frame_unref(sink.first);
	vg_source_destroy(src);
	kill_child(server);
	cleanup();
}

TEST(source_http_stall_times_out)
{
	int port = free_port();
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
	pid_t server = spawn_mjpeg_server(port, "320x240");
	vg_stats stats;
	vg_stats_init(&stats, url);
	vg_source_options opt = { .uri = url, .io_timeout_us = 500000 };
	vg_source *src = open_server(&opt, &stats);
	struct http_sink sink = { 0 };
	CHECK(vg_source_start(src, http_frame, &sink) == 0);
	CHECK(wait_frames(&sink, 5, 0, 10000000));

	kill(server, SIGSTOP);
	int64_t deadline = vg_mono_us() + 3000000;
	while (atomic_load(&stats.source_state) != VG_SOURCE_RECONNECTING && vg_mono_us() < deadline)
		vg_sleep_us(20000);
	CHECK(atomic_load(&stats.source_state) == VG_SOURCE_RECONNECTING);

	/* Stop also cuts the backoff wait short. */
	int64_t t0 = vg_mono_us();
	vg_source_stop(src);
	CHECK(vg_mono_us() - t0 < 1000000);
	vg_frame_unref(sink.first);
	vg_source_destroy(src);
	kill_child(server);
	cleanup();
}

TEST_SUITE(source,
	TEST_ENTRY(source_lavfi_frames),
	TEST_ENTRY(source_pacing),
	TEST_ENTRY(source_pacing_fallbacks),
	TEST_ENTRY(source_thread_stop),
	TEST_ENTRY(source_file_eof),
	TEST_ENTRY(source_file_thread_ends),
	TEST_ENTRY(source_packet_tap),
	TEST_ENTRY(source_no_tap_same_frames),
	TEST_ENTRY(source_file_loop),
	TEST_ENTRY(source_file_loop_paced),
	TEST_ENTRY(source_vtest_avi),
	TEST_ENTRY(source_missing_file),
	TEST_ENTRY(source_not_video),
	TEST_ENTRY(source_audio_only),
	TEST_ENTRY(source_truncated),
	TEST_ENTRY(source_corrupt_packets),
	TEST_ENTRY(source_odd_size),
	TEST_ENTRY(source_color_conversion),
	TEST_ENTRY(source_missing_device),
	TEST_ENTRY(source_http_unreachable),
	TEST_ENTRY(source_http_reconnect),
	TEST_ENTRY(source_http_stop_while_blocked),
	TEST_ENTRY(source_http_stall_times_out));
