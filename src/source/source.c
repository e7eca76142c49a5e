#include "source/source.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavcodec/avcodec.h>
#include <libavdevice/avdevice.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/redact.h"

#define DEFAULT_TIMEOUT_US 5000000
#define BACKOFF_START_US 250000
/* Pacing that has fallen this far behind the clock starts again from now instead of bursting. */
#define PACE_MAX_LAG_US 500000
/* How long a non-blocking device read waits before asking again. */
#define DEVICE_POLL_US 4000
#define FFMPEG_LINES_PER_SECOND 10

enum source_kind { KIND_FILE, KIND_LAVFI, KIND_DEVICE, KIND_NETWORK };

/* Outcomes of decode_next() besides AVERROR codes. */
#define DECODE_STOPPED 1
#define DECODE_INPUT_LOST 2
#define DECODE_UNDECODABLE 3

struct vg_source {
	char *uri;           /* the real URI, secrets and all: used only to open the input */
	char *display;       /* its redacted form (core/redact.h), used in every message */
	char *input_format;
	enum source_kind kind;
	int loop, pace;
	int req_width, req_height, req_fps;
	int64_t reconnect_max_us;
	int64_t io_timeout_us;
	vg_stats *stats;

	AVFormatContext *fmt;
	AVCodecContext *dec;
	AVPacket *pkt;
	AVFrame *frame;
	int stream_index;
	AVRational time_base;
	int input_eof;       /* the demuxer ended and the decoder is draining */
	int lost_err;        /* the read error that dropped a live input */

	struct SwsContext *sws;
	int sws_w, sws_h, sws_fmt, sws_range;

	vg_frame_pool *pool;
	/* Written by the source thread, read by anyone through the getters. */
	atomic_int width, height;   /* delivered (even) size; 0 until known */
	_Atomic double fps;

	uint64_t next_id;
	uint32_t epoch;             /* restarts so far: loop rewinds and reconnections */
	uint64_t frames_since_rewind;
	int64_t decode_acc_us;
	int64_t last_capture_mono_us;

	int pace_valid;
	int64_t pace_last_target_us;
	int64_t pace_last_pts_us;

	int64_t stall_start_us;     /* non-blocking device: first empty poll, 0 when data flows */
	int64_t backoff_us;
	int connected_since_frame;  /* reconnected, but no frame yet: keep the backoff */
	int ended;

	atomic_int stop;
	atomic_int timed_out;
	atomic_int_fast64_t io_deadline_us;  /* 0 = no deadline */
	pthread_mutex_t lock;
	pthread_cond_t cond;

	pthread_t thread;
	atomic_int thread_running;
	vg_source_frame_fn fn;
	vg_source_end_fn end_fn;
	vg_source_packet_fn packet_fn;
	void *opaque;
	int audio_index;     /* the best audio stream, -1 when none; read only for packet_fn */
	/* Files: video packets given to the decoder while no frame has come out yet. */
	int packets_without_frame;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static atomic_int ffmpeg_verbose;

static void set_state(vg_source *s, int state)
{
	if (s->stats)
		atomic_store(&s->stats->source_state, state);
}

static const char *err_str(int code, char *buf, size_t len)
{
	if (av_strerror(code, buf, len) < 0)
		snprintf(buf, len, "error %d", code);
	return buf;
}

/*
 * FFmpeg writes partial lines through several av_log calls, so each thread
 * collects its pieces until the newline and then forwards one vg_log line.
 */
static _Thread_local char log_line[1024];
static _Thread_local size_t log_len;
static _Thread_local int log_print_prefix = 1;

static pthread_mutex_t log_rate_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t log_window_start;
static int log_window_count;
static int log_suppressed;

static enum vg_log_level map_ffmpeg_level(int level)
{
	if (!atomic_load(&ffmpeg_verbose))
		return VG_LOG_DEBUG;
	if (level <= AV_LOG_ERROR)
		return VG_LOG_WARN;
	if (level <= AV_LOG_WARNING)
		return VG_LOG_INFO;
	return VG_LOG_DEBUG;
}

static void emit_ffmpeg_line(enum vg_log_level level, const char *line)
{
	/* A corrupt stream can make a decoder complain for every packet; keep stderr readable. */
	int64_t now = vg_mono_us();
	int suppressed = 0;
	pthread_mutex_lock(&log_rate_lock);
	if (now - log_window_start >= 1000000) {
		suppressed = log_suppressed;
		log_suppressed = 0;
		log_window_start = now;
		log_window_count = 0;
	}
	int allow = log_window_count < FFMPEG_LINES_PER_SECOND;
	if (allow)
		log_window_count++;
	else
		log_suppressed++;
	pthread_mutex_unlock(&log_rate_lock);
	if (suppressed)
		vg_log(level, "ffmpeg: %d messages suppressed", suppressed);
	if (allow) {
		/* FFmpeg names URLs in some messages ("Opening '...' for reading", redirects, SDP). */
		char shown[sizeof log_line + 64];
		vg_redact_text(line, shown, sizeof shown);
		vg_log(level, "ffmpeg: %s", shown);
	}
}

/*
 * While a source opens, the first error FFmpeg logs on that thread is kept:
 * it often names the cause ("No such filter: 'x'") better than the error code.
 */
static _Thread_local int detail_capture;
static _Thread_local char detail[256];

static void ffmpeg_log_callback(void *avcl, int level, const char *fmt, va_list vl)
{
	if (detail_capture && level <= AV_LOG_ERROR && !detail[0]) {
		char raw[sizeof detail];
		va_list copy;
		va_copy(copy, vl);
		vsnprintf(raw, sizeof raw, fmt, copy);
		va_end(copy);
		vg_redact_text(raw, detail, sizeof detail);
		size_t n = strlen(detail);
		while (n > 0 && (detail[n - 1] == '\n' || detail[n - 1] == '\r' || detail[n - 1] == '.'))
			detail[--n] = '\0';
	}
	int threshold = atomic_load(&ffmpeg_verbose) ? AV_LOG_VERBOSE : AV_LOG_WARNING;
	if (level > threshold)
		return;
	enum vg_log_level vl_level = map_ffmpeg_level(level);
	if (vl_level > vg_log_get_level())
		return;
	char piece[1024];
	av_log_format_line2(avcl, level, fmt, vl, piece, sizeof piece, &log_print_prefix);
	size_t n = strlen(piece);
	size_t room = sizeof log_line - 1 - log_len;
	if (n > room)
		n = room;
	memcpy(log_line + log_len, piece, n);
	log_len += n;
	log_line[log_len] = '\0';
	if (log_len == 0 || (log_line[log_len - 1] != '\n' && log_len < sizeof log_line - 1))
		return;
	while (log_len > 0 && (log_line[log_len - 1] == '\n' || log_line[log_len - 1] == '\r'))
		log_line[--log_len] = '\0';
	if (log_len > 0)
		emit_ffmpeg_line(vl_level, log_line);
	log_len = 0;
	log_line[0] = '\0';
}

static void global_init(void);
static void init_range_luts(void);

void vg_source_set_ffmpeg_log_level(int verbose)
{
	atomic_store(&ffmpeg_verbose, verbose ? 1 : 0);
	pthread_once(&init_once, global_init);
	av_log_set_level(verbose ? AV_LOG_VERBOSE : AV_LOG_WARNING);
}

static void global_init(void)
{
	avdevice_register_all();
	avformat_network_init();
	init_range_luts();
	av_log_set_level(atomic_load(&ffmpeg_verbose) ? AV_LOG_VERBOSE : AV_LOG_WARNING);
	av_log_set_callback(ffmpeg_log_callback);
}

static int interrupt_cb(void *opaque)
{
	vg_source *s = opaque;
	if (atomic_load(&s->stop))
		return 1;
	int64_t deadline = atomic_load(&s->io_deadline_us);
	if (deadline && vg_mono_us() > deadline) {
		atomic_store(&s->timed_out, 1);
		return 1;
	}
	return 0;
}

static void set_io_deadline(vg_source *s)
{
	if (s->kind == KIND_NETWORK || s->kind == KIND_DEVICE)
		atomic_store(&s->io_deadline_us, vg_mono_us() + s->io_timeout_us);
}

static void clear_io_deadline(vg_source *s)
{
	atomic_store(&s->io_deadline_us, 0);
}

/* Describes an FFmpeg error, naming our own interruptions plainly. */
static const char *io_err_str(vg_source *s, int code, char *buf, size_t len)
{
	if (code == AVERROR_EXIT && atomic_load(&s->timed_out)) {
		snprintf(buf, len, "no data for %.1f s", (double)s->io_timeout_us / 1e6);
		return buf;
	}
	if (code == AVERROR_EXIT && atomic_load(&s->stop)) {
		snprintf(buf, len, "interrupted");
		return buf;
	}
	return err_str(code, buf, len);
}

/*
 * Waits until the monotonic deadline or vg_source_stop, whichever comes
 * first. Returns 1 when stop was requested.
 */
static int wait_until(vg_source *s, int64_t deadline_us)
{
	pthread_mutex_lock(&s->lock);
	while (!atomic_load(&s->stop)) {
		if (vg_mono_us() >= deadline_us)
			break;
		struct timespec ts = {
			.tv_sec = deadline_us / 1000000,
			.tv_nsec = (deadline_us % 1000000) * 1000,
		};
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
	}
	int stopped = atomic_load(&s->stop);
	pthread_mutex_unlock(&s->lock);
	return stopped;
}

static enum source_kind classify(const char *uri)
{
	if (strncmp(uri, "lavfi:", 6) == 0)
		return KIND_LAVFI;
	if (strncmp(uri, "/dev/video", 10) == 0)
		return KIND_DEVICE;
	const char *sep = strstr(uri, "://");
	if (sep && sep > uri && strncmp(uri, "file://", 7) != 0) {
		for (const char *p = uri; p < sep; p++) {
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			      (*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.'))
				return KIND_FILE;
		}
		return KIND_NETWORK;
	}
	return KIND_FILE;
}

static double stream_fps(const AVStream *st)
{
	AVRational r = st->avg_frame_rate;
	if (r.num <= 0 || r.den <= 0)
		r = st->r_frame_rate;
	if (r.num <= 0 || r.den <= 0)
		return 0;
	double fps = av_q2d(r);
	/* Containers sometimes report a time base (1/90000, 1/1000) as the frame rate. */
	return fps >= 0.1 && fps <= 500 ? fps : 0;
}

static void close_input(vg_source *s)
{
	avcodec_free_context(&s->dec);
	/* Closing may talk to the peer (an RTSP TEARDOWN); a dead peer must not hold us up. */
	set_io_deadline(s);
	avformat_close_input(&s->fmt);
	clear_io_deadline(s);
	s->input_eof = 0;
	s->pace_valid = 0;
	s->stall_start_us = 0;
}

/*
 * Opens the demuxer and the decoder of the best video stream. On failure
 * everything opened here is closed again and err holds one line.
 */
static int open_input(vg_source *s, char *err, size_t errlen)
{
	char eb[AV_ERROR_MAX_STRING_SIZE + 32];
	const AVInputFormat *ifmt = NULL;
	const char *url = s->uri;
	AVDictionary *opts = NULL;
	int ret;

	atomic_store(&s->timed_out, 0);
	if (s->kind == KIND_LAVFI) {
		ifmt = av_find_input_format("lavfi");
		url = s->uri + 6;
		if (!ifmt) {
			snprintf(err, errlen, "cannot open source '%s': FFmpeg was built without the lavfi input device", s->display);
			return AVERROR(ENOSYS);
		}
	} else if (s->kind == KIND_DEVICE) {
		ifmt = av_find_input_format("v4l2");
		if (!ifmt) {
			snprintf(err, errlen, "cannot open source '%s': FFmpeg was built without V4L2 input", s->display);
			return AVERROR(ENOSYS);
		}
		if (s->req_width > 0 && s->req_height > 0) {
			char size[32];
			snprintf(size, sizeof size, "%dx%d", s->req_width, s->req_height);
			av_dict_set(&opts, "video_size", size, 0);
		}
		if (s->req_fps > 0)
			av_dict_set_int(&opts, "framerate", s->req_fps, 0);
		if (s->input_format)
			av_dict_set(&opts, "input_format", s->input_format, 0);
	} else if (s->kind == KIND_NETWORK) {
		if (strncmp(s->uri, "rtsp://", 7) == 0 || strncmp(s->uri, "rtsps://", 8) == 0) {
			av_dict_set(&opts, "rtsp_transport", "tcp", 0);
			av_dict_set_int(&opts, "timeout", s->io_timeout_us, 0);
		}
		/* Live input: hand packets over as they come rather than buffering them for probing. */
		av_dict_set(&opts, "fflags", "nobuffer", 0);
		av_dict_set_int(&opts, "analyzeduration", 1000000, 0);
		av_dict_set_int(&opts, "probesize", 1 << 20, 0);
	}

	s->fmt = avformat_alloc_context();
	if (!s->fmt) {
		av_dict_free(&opts);
		snprintf(err, errlen, "out of memory opening '%s'", s->display);
		return AVERROR(ENOMEM);
	}
	s->fmt->interrupt_callback.callback = interrupt_cb;
	s->fmt->interrupt_callback.opaque = s;
	/* A stalled camera must not block stop: read it without blocking and poll instead. */
	if (s->kind == KIND_DEVICE)
		s->fmt->flags |= AVFMT_FLAG_NONBLOCK;

	set_io_deadline(s);
	detail_capture = 1;
	detail[0] = '\0';
	ret = avformat_open_input(&s->fmt, url, ifmt, &opts);
	detail_capture = 0;
	clear_io_deadline(s);
	av_dict_free(&opts);
	if (ret < 0) {
		/* avformat_open_input frees the context on failure. */
		const char *what = s->kind == KIND_NETWORK ? "cannot connect to" : "cannot open source";
		if ((ret == AVERROR(EINVAL) || ret == AVERROR_INVALIDDATA) && detail[0])
			snprintf(err, errlen, "%s '%s': %s (%s)", what, s->display, io_err_str(s, ret, eb, sizeof eb), detail);
		else
			snprintf(err, errlen, "%s '%s': %s", what, s->display, io_err_str(s, ret, eb, sizeof eb));
		return ret;
	}

	set_io_deadline(s);
	ret = avformat_find_stream_info(s->fmt, NULL);
	clear_io_deadline(s);
	if (ret < 0) {
		snprintf(err, errlen, "cannot read stream information from '%s': %s", s->display, io_err_str(s, ret, eb, sizeof eb));
		goto fail;
	}

	int idx = av_find_best_stream(s->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	if (idx >= 0 && (s->fmt->streams[idx]->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
		/* Cover art is a single still image, not the video we want. */
		idx = -1;
		for (unsigned i = 0; i < s->fmt->nb_streams; i++) {
			const AVStream *st = s->fmt->streams[i];
			if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && !(st->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
				idx = (int)i;
				break;
			}
		}
	}
	if (idx < 0) {
		snprintf(err, errlen, "source '%s' has no video stream", s->display);
		ret = AVERROR_STREAM_NOT_FOUND;
		goto fail;
	}
	AVStream *st = s->fmt->streams[idx];
	s->audio_index = av_find_best_stream(s->fmt, AVMEDIA_TYPE_AUDIO, -1, idx, NULL, 0);
	if (s->audio_index < 0)
		s->audio_index = -1;
	for (unsigned i = 0; i < s->fmt->nb_streams; i++) {
		if ((int)i != idx && !(s->packet_fn && (int)i == s->audio_index))
			s->fmt->streams[i]->discard = AVDISCARD_ALL;
	}

	/* Frames are cropped to even sizes; a stream whose size is known and under 2x2 would yield nothing. */
	if ((st->codecpar->width > 0 && st->codecpar->width < 2) || (st->codecpar->height > 0 && st->codecpar->height < 2)) {
		snprintf(err, errlen, "source '%s' is %dx%d; video must be at least 2x2", s->display, st->codecpar->width,
			 st->codecpar->height);
		ret = AVERROR(EINVAL);
		goto fail;
	}
	const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
	if (!codec) {
		snprintf(err, errlen, "no decoder for codec '%s' in '%s'", avcodec_get_name(st->codecpar->codec_id), s->display);
		ret = AVERROR_DECODER_NOT_FOUND;
		goto fail;
	}
	s->dec = avcodec_alloc_context3(codec);
	if (!s->dec) {
		snprintf(err, errlen, "out of memory opening '%s'", s->display);
		ret = AVERROR(ENOMEM);
		goto fail;
	}
	ret = avcodec_parameters_to_context(s->dec, st->codecpar);
	if (ret < 0) {
		snprintf(err, errlen, "cannot set up the %s decoder for '%s': %s", codec->name, s->display, err_str(ret, eb, sizeof eb));
		goto fail;
	}
	s->dec->pkt_timebase = st->time_base;
	s->dec->flags |= AV_CODEC_FLAG_LOW_DELAY;
	/* Frame threading delays every frame by one per thread; slice threading does not. */
	s->dec->thread_type = FF_THREAD_SLICE;
	s->dec->thread_count = 0;
	ret = avcodec_open2(s->dec, codec, NULL);
	if (ret < 0) {
		snprintf(err, errlen, "cannot open the %s decoder for '%s': %s", codec->name, s->display, err_str(ret, eb, sizeof eb));
		goto fail;
	}

	s->stream_index = idx;
	s->time_base = st->time_base;
	s->input_eof = 0;
	s->pace_valid = 0;
	double fps = stream_fps(st);
	if (fps > 0 || s->fps <= 0)
		s->fps = fps;
	if (s->width == 0 && st->codecpar->width >= 2 && st->codecpar->height >= 2) {
		s->width = st->codecpar->width & ~1;
		s->height = st->codecpar->height & ~1;
	}
	if (s->stats) {
		atomic_store(&s->stats->source_nominal_fps_milli, (int_fast64_t)(s->fps * 1000 + 0.5));
		atomic_store(&s->stats->source_width, s->width);
		atomic_store(&s->stats->source_height, s->height);
	}
	vg_debug("source '%s': %s %s %dx%d %s, %.3g fps", s->display, s->fmt->iformat->name, codec->name,
		 st->codecpar->width, st->codecpar->height,
		 av_get_pix_fmt_name((enum AVPixelFormat)st->codecpar->format) ? av_get_pix_fmt_name((enum AVPixelFormat)st->codecpar->format) : "?",
		 s->fps);
	return 0;

fail:
	close_input(s);
	return ret;
}

static int64_t first_backoff(const vg_source *s);

int vg_source_open(vg_source **out, const vg_source_options *opt, vg_stats *stats, char *err, size_t errlen)
{
	char dummy[8];
	if (!err || errlen == 0) {
		err = dummy;
		errlen = sizeof dummy;
	}
	err[0] = '\0';
	*out = NULL;
	if (!opt || !opt->uri || !opt->uri[0]) {
		snprintf(err, errlen, "no source given");
		return AVERROR(EINVAL);
	}
	pthread_once(&init_once, global_init);

	/* The display form comes from the URI as given, so ${CAM_PASS} shows as that and never as its value. */
	char shown[VG_REDACT_MAX];
	vg_redact_uri(opt->uri, shown, sizeof shown);
	char *real = NULL;
	char why[384];
	int ret = vg_expand_env(opt->uri, &real, why, sizeof why);
	if (ret < 0) {
		snprintf(err, errlen, "source '%s': %s", shown, why);
		return ret == -ENOMEM ? AVERROR(ENOMEM) : AVERROR(EINVAL);
	}

	vg_source *s = calloc(1, sizeof *s);
	if (!s) {
		free(real);
		snprintf(err, errlen, "out of memory opening '%s'", shown);
		return AVERROR(ENOMEM);
	}
	s->uri = real;
	s->audio_index = -1;
	s->display = strdup(shown);
	s->input_format = opt->input_format ? strdup(opt->input_format) : NULL;
	s->kind = classify(s->uri);
	s->loop = opt->loop;
	s->pace = opt->pace;
	s->req_width = opt->width;
	s->req_height = opt->height;
	s->req_fps = opt->fps;
	s->reconnect_max_us = opt->reconnect_max_us > 0 ? opt->reconnect_max_us : DEFAULT_TIMEOUT_US;
	s->io_timeout_us = opt->io_timeout_us > 0 ? opt->io_timeout_us : DEFAULT_TIMEOUT_US;
	s->stats = stats;
	s->next_id = 1;
	s->stream_index = -1;

	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&s->lock, NULL);

	s->pkt = av_packet_alloc();
	s->frame = av_frame_alloc();
	if (!s->display || (opt->input_format && !s->input_format) || !s->pkt || !s->frame) {
		snprintf(err, errlen, "out of memory opening '%s'", shown);
		vg_source_destroy(s);
		return AVERROR(ENOMEM);
	}

	set_state(s, VG_SOURCE_STARTING);
	ret = open_input(s, err, errlen);
	if (ret < 0 && opt->retry_open && (s->kind == KIND_NETWORK || s->kind == KIND_DEVICE)) {
		/* The source thread's reconnection takes it from here (vg_source_read finds no input open). */
		s->backoff_us = first_backoff(s);
		vg_warn("%s; retrying in %.2g s", err, (double)s->backoff_us / 1e6);
		set_state(s, VG_SOURCE_RECONNECTING);
		err[0] = '\0';
		*out = s;
		return 0;
	}
	if (ret < 0) {
		vg_source_destroy(s);
		return ret;
	}
	*out = s;
	return 0;
}

static int is_corrupt(const AVFrame *f)
{
	return (f->flags & AV_FRAME_FLAG_CORRUPT) || f->decode_error_flags || f->width < 2 || f->height < 2;
}

static void count_corrupt(vg_source *s)
{
	if (s->stats)
		atomic_fetch_add(&s->stats->source_corrupt_packets, 1);
}

/*
 * Runs the demuxer and decoder until a good frame is in s->frame. Returns 0,
 * AVERROR_EOF when a finite input is fully drained, DECODE_STOPPED,
 * DECODE_INPUT_LOST for a live input whose read failed (s->lost_err says
 * why), DECODE_UNDECODABLE for a file whose first packets all failed to
 * decode, or another negative code.
 */
static int decode_next(vg_source *s)
{
	for (;;) {
		if (atomic_load(&s->stop))
			return DECODE_STOPPED;

		int64_t t0 = vg_mono_us();
		int ret = avcodec_receive_frame(s->dec, s->frame);
		s->decode_acc_us += vg_mono_us() - t0;
		if (ret == 0) {
			if (is_corrupt(s->frame)) {
				count_corrupt(s);
				av_frame_unref(s->frame);
				continue;
			}
			return 0;
		}
		if (ret == AVERROR_EOF)
			return AVERROR_EOF;
		if (ret == AVERROR_INVALIDDATA) {
			count_corrupt(s);
			continue;
		}
		if (ret != AVERROR(EAGAIN))
			return ret;

		if (s->input_eof)
			return AVERROR_EOF;
		set_io_deadline(s);
		ret = av_read_frame(s->fmt, s->pkt);
		clear_io_deadline(s);
		if (ret == AVERROR(EAGAIN)) {
			/* A non-blocking device with nothing ready yet: poll, but not forever. */
			int64_t now = vg_mono_us();
			if (!s->stall_start_us)
				s->stall_start_us = now;
			if (now - s->stall_start_us > s->io_timeout_us) {
				s->stall_start_us = 0;
				atomic_store(&s->timed_out, 1);
				s->lost_err = AVERROR_EXIT;
				return DECODE_INPUT_LOST;
			}
			if (wait_until(s, now + DEVICE_POLL_US))
				return DECODE_STOPPED;
			continue;
		}
		s->stall_start_us = 0;
		if (ret >= 0 && atomic_load(&s->timed_out) && (s->kind == KIND_NETWORK || s->kind == KIND_DEVICE)) {
			/*
			 * The read deadline fired, and this is what the demuxer flushed
			 * as the input closed. Decoded now, it would pass for a fresh
			 * capture five seconds into a stall and keep /healthz at 200 for
			 * five more.
			 */
			av_packet_unref(s->pkt);
			s->lost_err = AVERROR_EXIT;
			return DECODE_INPUT_LOST;
		}
		if (ret < 0) {
			if (atomic_load(&s->stop))
				return DECODE_STOPPED;
			if (s->kind == KIND_NETWORK || s->kind == KIND_DEVICE) {
				s->lost_err = ret;
				return DECODE_INPUT_LOST;
			}
			if (ret != AVERROR_EOF) {
				char eb[AV_ERROR_MAX_STRING_SIZE];
				vg_debug("source '%s': read stopped early: %s", s->display, err_str(ret, eb, sizeof eb));
			}
			/* Drain the frames the decoder still holds. */
			s->input_eof = 1;
			t0 = vg_mono_us();
			avcodec_send_packet(s->dec, NULL);
			s->decode_acc_us += vg_mono_us() - t0;
			continue;
		}
		if (s->packet_fn && (s->pkt->stream_index == s->stream_index || s->pkt->stream_index == s->audio_index))
			s->packet_fn(s->opaque, s->pkt, s->pkt->stream_index == s->audio_index, vg_wall_us());
		if (s->pkt->stream_index != s->stream_index) {
			av_packet_unref(s->pkt);
			continue;
		}
		/* The demuxer's own verdict counts once; the decoder may still make something of the packet. */
		int flagged = s->pkt->flags & AV_PKT_FLAG_CORRUPT;
		if (flagged)
			count_corrupt(s);
		t0 = vg_mono_us();
		ret = avcodec_send_packet(s->dec, s->pkt);
		s->decode_acc_us += vg_mono_us() - t0;
		av_packet_unref(s->pkt);
		if (s->kind == KIND_FILE && s->next_id == 1 &&
		    ++s->packets_without_frame >= VG_SOURCE_MAX_PACKETS_WITHOUT_FRAME)
			return DECODE_UNDECODABLE;
		if (ret < 0 && ret != AVERROR(EAGAIN) && ret != AVERROR_EOF && !flagged) {
			/* Any packet the decoder rejects is skipped; the stream goes on. */
			count_corrupt(s);
		}
	}
}

static int ensure_pool(vg_source *s, int w, int h)
{
	if (s->pool && s->width == w && s->height == h)
		return 0;
	vg_frame_pool *pool = vg_frame_pool_create(w, h);
	if (!pool)
		return AVERROR(ENOMEM);
	if (s->pool && (s->width != w || s->height != h))
		vg_info("source '%s': frame size changed from %dx%d to %dx%d", s->display, s->width, s->height, w, h);
	/* Frames still in flight keep the old pool alive until they come back. */
	vg_frame_pool_release(s->pool);
	s->pool = pool;
	s->width = w;
	s->height = h;
	if (s->stats) {
		atomic_store(&s->stats->source_width, w);
		atomic_store(&s->stats->source_height, h);
	}
	return 0;
}

/* Limited-range (video) to full-range (JPEG) YCbCr, BT.601 scaling: 16..235 and 16..240 to 0..255. */
static uint8_t range_lut_luma[256], range_lut_chroma[256];

static void init_range_luts(void)
{
	for (int v = 0; v < 256; v++) {
		int y = (int)lround((v - 16) * 255.0 / 219.0);
		int c = (int)lround((v - 128) * 255.0 / 224.0) + 128;
		range_lut_luma[v] = (uint8_t)(y < 0 ? 0 : y > 255 ? 255 : y);
		range_lut_chroma[v] = (uint8_t)(c < 0 ? 0 : c > 255 ? 255 : c);
	}
}

/*
 * Copies or converts s->frame into a pooled I420 frame in full-range (JPEG)
 * YCbCr, which is what the JPEG encoder and the model's preprocessing expect;
 * odd sizes are cropped to even.
 */
static int convert_frame(vg_source *s, vg_frame **out)
{
	const AVFrame *f = s->frame;
	int w = f->width & ~1, h = f->height & ~1;
	if (w > 16384 || h > 16384) {
		count_corrupt(s);
		return AVERROR_INVALIDDATA;
	}
	int ret = ensure_pool(s, w, h);
	if (ret < 0)
		return ret;
	vg_frame *vf = vg_frame_pool_get(s->pool);
	if (!vf)
		return AVERROR(ENOMEM);

	int full = f->color_range == AVCOL_RANGE_JPEG || f->format == AV_PIX_FMT_YUVJ420P ||
		   f->format == AV_PIX_FMT_YUVJ422P || f->format == AV_PIX_FMT_YUVJ444P ||
		   f->format == AV_PIX_FMT_YUVJ440P || f->format == AV_PIX_FMT_YUVJ411P;
	if (f->format == AV_PIX_FMT_YUVJ420P || (f->format == AV_PIX_FMT_YUV420P && full)) {
		av_image_copy_plane(vf->plane[0], vf->stride[0], f->data[0], f->linesize[0], w, h);
		av_image_copy_plane(vf->plane[1], vf->stride[1], f->data[1], f->linesize[1], w / 2, h / 2);
		av_image_copy_plane(vf->plane[2], vf->stride[2], f->data[2], f->linesize[2], w / 2, h / 2);
	} else if (f->format == AV_PIX_FMT_YUV420P) {
		/* Video's limited range expanded to JPEG's full range while copying: one pass either way. */
		for (int p = 0; p < 3; p++) {
			const uint8_t *lut = p ? range_lut_chroma : range_lut_luma;
			int pw = p ? w / 2 : w, ph = p ? h / 2 : h;
			for (int y = 0; y < ph; y++) {
				const uint8_t *in = f->data[p] + (ptrdiff_t)y * f->linesize[p];
				uint8_t *o = vf->plane[p] + (size_t)y * (size_t)vf->stride[p];
				for (int x = 0; x < pw; x++)
					o[x] = lut[in[x]];
			}
		}
	} else {
		/* Converting only the even top-left part crops odd sizes instead of resampling them. */
		const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get((enum AVPixelFormat)f->format);
		int is_yuv = desc && !(desc->flags & AV_PIX_FMT_FLAG_RGB) && desc->nb_components >= 3;
		int range = full && is_yuv;
		struct SwsContext *ctx = sws_getCachedContext(s->sws, w, h, (enum AVPixelFormat)f->format, w, h,
							      AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL, NULL, NULL);
		if (!ctx) {
			vg_frame_unref(vf);
			count_corrupt(s);
			return AVERROR(EINVAL);
		}
		if (ctx != s->sws || s->sws_w != w || s->sws_h != h || s->sws_fmt != f->format || s->sws_range != range) {
			const int *coef = sws_getCoefficients(SWS_CS_DEFAULT);
			sws_setColorspaceDetails(ctx, coef, range, coef, 1, 0, 1 << 16, 1 << 16);
			s->sws_w = w;
			s->sws_h = h;
			s->sws_fmt = f->format;
			s->sws_range = range;
		}
		s->sws = ctx;
		sws_scale(ctx, (const uint8_t *const *)f->data, f->linesize, 0, h, vf->plane, vf->stride);
	}
	*out = vf;
	return 0;
}

/*
 * Sleeps until the frame is due at its native rate. Returns 1 when stop was
 * requested during the wait.
 */
static int pace_frame(vg_source *s, int64_t pts)
{
	int64_t now = vg_mono_us();
	int64_t nominal = s->fps > 0 ? (int64_t)(1e6 / s->fps) : 40000;
	int64_t pts_us = pts == AV_NOPTS_VALUE ? AV_NOPTS_VALUE : av_rescale_q(pts, s->time_base, AV_TIME_BASE_Q);
	int64_t target;
	if (!s->pace_valid) {
		target = now;
	} else {
		int64_t max_gap = nominal * 4 > 2000000 ? nominal * 4 : 2000000;
		int64_t d = pts_us != AV_NOPTS_VALUE && s->pace_last_pts_us != AV_NOPTS_VALUE ? pts_us - s->pace_last_pts_us : -1;
		/* Missing, backward or wildly jumping timestamps fall back to the nominal rate. */
		target = s->pace_last_target_us + (d > 0 && d <= max_gap ? d : nominal);
		if (target < now - PACE_MAX_LAG_US)
			target = now;
	}
	s->pace_valid = 1;
	s->pace_last_target_us = target;
	s->pace_last_pts_us = pts_us;
	if (target > now)
		return wait_until(s, target);
	return 0;
}

static int rewind_input(vg_source *s)
{
	int64_t start = s->fmt->start_time != AV_NOPTS_VALUE ? s->fmt->start_time : 0;
	int ret = avformat_seek_file(s->fmt, -1, INT64_MIN, start, start, 0);
	if (ret < 0)
		ret = av_seek_frame(s->fmt, s->stream_index, 0, AVSEEK_FLAG_BACKWARD);
	if (ret >= 0) {
		avcodec_flush_buffers(s->dec);
		s->input_eof = 0;
	} else {
		/* Some inputs cannot seek; opening them again gets to the start as well. */
		char err[512];
		int paced = s->pace_valid;
		close_input(s);
		ret = open_input(s, err, sizeof err);
		if (ret < 0) {
			vg_error("%s", err);
			return ret;
		}
		s->pace_valid = paced;
	}
	/* The first frame of the next round follows the last one after one nominal interval. */
	s->pace_last_pts_us = AV_NOPTS_VALUE;
	s->epoch++;
	return 0;
}

/* Waits out the backoff and reopens a live input. Returns 0 when connected, 1 on stop. */
static int reconnect(vg_source *s)
{
	char err[512];
	for (;;) {
		if (wait_until(s, vg_mono_us() + s->backoff_us))
			return 1;
		int ret = open_input(s, err, sizeof err);
		if (atomic_load(&s->stop)) {
			close_input(s);
			return 1;
		}
		int64_t next = s->backoff_us * 2 < s->reconnect_max_us ? s->backoff_us * 2 : s->reconnect_max_us;
		if (ret == 0) {
			if (s->stats)
				atomic_fetch_add(&s->stats->source_reconnects, 1);
			vg_info("source '%s' reconnected", s->display);
			/* The backoff resets only once a frame arrives, so a source that drops at once does not flap. */
			s->connected_since_frame = 1;
			s->backoff_us = next;
			s->epoch++;
			return 0;
		}
		vg_warn("%s; retrying in %.2g s", err, (double)next / 1e6);
		s->backoff_us = next;
	}
}

static int64_t first_backoff(const vg_source *s)
{
	return BACKOFF_START_US < s->reconnect_max_us ? BACKOFF_START_US : s->reconnect_max_us;
}

static void input_lost(vg_source *s)
{
	char eb[AV_ERROR_MAX_STRING_SIZE + 32];
	if (!s->connected_since_frame)
		s->backoff_us = first_backoff(s);
	vg_warn("source '%s' lost: %s; reconnecting in %.2g s", s->display, io_err_str(s, s->lost_err, eb, sizeof eb),
		(double)s->backoff_us / 1e6);
	set_state(s, VG_SOURCE_RECONNECTING);
	close_input(s);
}

static void finish(vg_source *s)
{
	s->ended = 1;
	set_state(s, VG_SOURCE_ENDED);
}

int vg_source_read(vg_source *src, vg_frame **out)
{
	vg_source *s = src;
	*out = NULL;
	if (s->ended)
		return VG_SOURCE_EOF;
	for (;;) {
		if (atomic_load(&s->stop))
			return VG_SOURCE_EOF;
		if (!s->fmt) {
			if (s->kind != KIND_NETWORK && s->kind != KIND_DEVICE) {
				finish(s);
				return AVERROR(EIO);
			}
			if (reconnect(s))
				return VG_SOURCE_EOF;
			continue;
		}

		int ret = decode_next(s);
		if (ret == DECODE_STOPPED)
			return VG_SOURCE_EOF;
		if (ret == DECODE_INPUT_LOST) {
			input_lost(s);
			continue;
		}
		if (s->kind == KIND_FILE && s->next_id == 1 && (ret == DECODE_UNDECODABLE || ret == AVERROR_EOF)) {
			/* Ending quietly, or looping over nothing, would leave the user with a blank page and no reason. */
			if (ret == DECODE_UNDECODABLE)
				vg_error("source '%s': no video frame could be decoded from the first %d packets",
					 s->display, s->packets_without_frame);
			else
				vg_error("source '%s': no video frame could be decoded before the end of the file (%d packets)",
					 s->display, s->packets_without_frame);
			finish(s);
			return VG_SOURCE_UNDECODABLE;
		}
		if (ret == AVERROR_EOF) {
			if (s->loop && s->kind == KIND_FILE && s->frames_since_rewind > 0) {
				s->frames_since_rewind = 0;
				if (rewind_input(s) < 0) {
					finish(s);
					return AVERROR(EIO);
				}
				continue;
			}
			if (s->kind == KIND_NETWORK || s->kind == KIND_DEVICE) {
				s->lost_err = AVERROR_EOF;
				input_lost(s);
				continue;
			}
			finish(s);
			return VG_SOURCE_EOF;
		}
		if (ret < 0) {
			char eb[AV_ERROR_MAX_STRING_SIZE];
			if (s->kind == KIND_NETWORK || s->kind == KIND_DEVICE) {
				s->lost_err = ret;
				input_lost(s);
				continue;
			}
			vg_error("source '%s': decoding failed: %s", s->display, err_str(ret, eb, sizeof eb));
			finish(s);
			return ret;
		}

		int64_t pts = s->frame->best_effort_timestamp;
		int64_t t0 = vg_mono_us();
		vg_frame *vf = NULL;
		ret = convert_frame(s, &vf);
		av_frame_unref(s->frame);
		int64_t decode_us = s->decode_acc_us + (vg_mono_us() - t0);
		if (ret == AVERROR_INVALIDDATA || ret == AVERROR(EINVAL))
			continue;
		if (ret < 0) {
			vg_error("source '%s': out of memory for frames", s->display);
			finish(s);
			return ret;
		}
		s->decode_acc_us = 0;

		if (s->pace && (s->kind == KIND_FILE || s->kind == KIND_LAVFI) && pace_frame(s, pts)) {
			vg_frame_unref(vf);
			return VG_SOURCE_EOF;
		}

		vf->id = s->next_id++;
		vf->capture_mono_us = vg_mono_us();
		vf->capture_wall_us = vg_wall_us();
		vf->decode_us = decode_us;
		vf->epoch = s->epoch;
		s->frames_since_rewind++;
		if (s->connected_since_frame) {
			s->connected_since_frame = 0;
			s->backoff_us = first_backoff(s);
		}
		if (s->stats) {
			vg_stats *st = s->stats;
			if (atomic_load(&st->source_state) != VG_SOURCE_RUNNING)
				atomic_store(&st->source_state, VG_SOURCE_RUNNING);
			atomic_fetch_add(&st->source_frames, 1);
			atomic_store(&st->source_last_frame_mono_us, vf->capture_mono_us);
			if (s->last_capture_mono_us)
				vg_stats_ewma(&st->source_interval_ewma, vf->capture_mono_us - s->last_capture_mono_us);
			vg_stats_ewma(&st->decode_ewma, decode_us > 0 ? decode_us : 1);
		}
		s->last_capture_mono_us = vf->capture_mono_us;
		*out = vf;
		return 0;
	}
}

static void *source_thread(void *arg)
{
	vg_source *s = arg;
	int ret;
	for (;;) {
		vg_frame *f = NULL;
		ret = vg_source_read(s, &f);
		if (ret != 0)
			break;
		s->fn(s->opaque, f);
		vg_frame_unref(f);
	}
	set_state(s, VG_SOURCE_ENDED);
	if (s->end_fn && !atomic_load(&s->stop))
		s->end_fn(s->opaque, ret);
	return NULL;
}

void vg_source_on_end(vg_source *src, vg_source_end_fn fn)
{
	src->end_fn = fn;
}

void vg_source_on_packet(vg_source *src, vg_source_packet_fn fn)
{
	src->packet_fn = fn;
	/* The input is open already, with every stream but the video discarded. */
	if (fn && src->fmt && src->audio_index >= 0)
		src->fmt->streams[src->audio_index]->discard = AVDISCARD_DEFAULT;
}

static const AVCodecParameters *stream_params(const vg_source *src, int idx, AVRational *time_base)
{
	if (!src->fmt || idx < 0 || (unsigned)idx >= src->fmt->nb_streams)
		return NULL;
	if (time_base)
		*time_base = src->fmt->streams[idx]->time_base;
	return src->fmt->streams[idx]->codecpar;
}

const AVCodecParameters *vg_source_video_params(const vg_source *src, AVRational *time_base)
{
	return stream_params(src, src->stream_index, time_base);
}

const AVCodecParameters *vg_source_audio_params(const vg_source *src, AVRational *time_base)
{
	return stream_params(src, src->audio_index, time_base);
}

int vg_source_start(vg_source *src, vg_source_frame_fn fn, void *opaque)
{
	if (!src || !fn || atomic_load(&src->thread_running))
		return AVERROR(EINVAL);
	src->fn = fn;
	src->opaque = opaque;
	int ret = pthread_create(&src->thread, NULL, source_thread, src);
	if (ret != 0)
		return AVERROR(ret);
	pthread_setname_np(src->thread, "vg-source");
	atomic_store(&src->thread_running, 1);
	return 0;
}

void vg_source_stop(vg_source *src)
{
	if (!src)
		return;
	pthread_mutex_lock(&src->lock);
	atomic_store(&src->stop, 1);
	pthread_cond_broadcast(&src->cond);
	pthread_mutex_unlock(&src->lock);
	if (!atomic_exchange(&src->thread_running, 0))
		return;
	/* The frame callback may stop its own source; a thread cannot join itself. */
	if (pthread_equal(pthread_self(), src->thread))
		pthread_detach(src->thread);
	else
		pthread_join(src->thread, NULL);
}

void vg_source_destroy(vg_source *src)
{
	if (!src)
		return;
	vg_source_stop(src);
	close_input(src);
	av_packet_free(&src->pkt);
	av_frame_free(&src->frame);
	sws_freeContext(src->sws);
	vg_frame_pool_release(src->pool);
	pthread_cond_destroy(&src->cond);
	pthread_mutex_destroy(&src->lock);
	free(src->uri);
	free(src->display);
	free(src->input_format);
	free(src);
}

int vg_source_width(const vg_source *src)
{
	return src->width;
}

int vg_source_height(const vg_source *src)
{
	return src->height;
}

double vg_source_fps(const vg_source *src)
{
	return src->fps;
}

const char *vg_source_display_uri(const vg_source *src)
{
	return src->display;
}

int vg_source_is_live(const vg_source *src)
{
	return src->kind == KIND_NETWORK || src->kind == KIND_DEVICE;
}
