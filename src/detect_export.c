/*
 * vigil detect --save-video / --save-tracks: one video analysed into an
 * annotated H.264 MP4, a MOTChallenge tracks file and the JSON lines.
 *
 * Three threads share one ring of RING jobs: the decode thread fills a job
 * with the next frame, the inference thread (the caller's) analyses it, and
 * the output thread prints its line, writes its tracks, draws and encodes it.
 * Each stage waits for the one before it and the decode thread waits for the
 * output thread to free a job, so nothing is dropped, memory is bounded, and
 * decoding and encoding run while the model does (the slow stage sets the
 * pace). Jobs are allocated once, with room for the most detections and a
 * mask, so the steady state allocates nothing per frame.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavformat/avformat.h>

#include "cmd_detect.h"
#include "commands.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/redact.h"
#include "encode/video_writer.h"
#include "source/source.h"

/* Jobs in flight: enough to keep every stage busy through a slow frame, few enough to hold little memory. */
#define RING 8

typedef struct job {
	vg_frame *frame;
	vg_detect_result r;
	vg_detection dets[VG_MAX_DETECTIONS];
	vg_seg_mask mask;             /* a copy of the detector's, which the next run overwrites */
	int has_mask;
} job;

/*
 * The input's own streams as libavformat sees them, opened a second time
 * beside the source (which decodes only the video): the frame rate as a
 * rational, the frame count for the progress bar, and the audio to copy.
 */
typedef struct probe {
	AVFormatContext *ic;
	AVRational frame_rate;
	long total;                   /* frames, 0 when unknown */
	int audio;                    /* the audio stream's index, or -1 */
	int64_t audio_offset;         /* the first video frame's time in the audio's time base */
	AVPacket *pkt;                /* the next audio packet, read ahead; pending when pending is set */
	int pending, audio_done;
} probe;

typedef struct exporter {
	vg_detector *det;
	vg_classifier *cls;
	vg_source *src;
	const vg_export_options *opt;
	const char *shown;            /* the input's display form */
	char name[8192];              /* the same, JSON-escaped */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	job *ring;
	long decoded, analysed, written;   /* jobs ever filled by each stage, so decoded >= analysed >= written */
	int decode_done, analyse_done;
	int abort;                    /* the output failed: every stage stops now */
	int read_rc;                  /* vg_source_read's last result */

	probe pr;
	vg_video_writer *writer;
	FILE *tracks;
	vg_mask_map map;
	int64_t t0_us, last_bar_us;
	int bar_shown, stdout_tty;
	int status;
	char err[512];
} exporter;

/* SIGINT / SIGTERM: set by the handler, read by the decode thread before each frame. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

static int local_file(const char *uri)
{
	return !strstr(uri, "://") && strncmp(uri, "lavfi:", 6) != 0 && strncmp(uri, "/dev/", 5) != 0;
}

static void probe_open(probe *p, const char *uri, double source_fps)
{
	memset(p, 0, sizeof *p);
	p->audio = -1;
	char *real = NULL;
	char why[256];
	/* Network and device inputs are not opened twice: no audio and no frame count from them. */
	if (local_file(uri) && vg_expand_env(uri, &real, why, sizeof why) == 0 &&
	    avformat_open_input(&p->ic, real, NULL, NULL) == 0 && avformat_find_stream_info(p->ic, NULL) >= 0) {
		int v = av_find_best_stream(p->ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
		if (v >= 0) {
			AVStream *vs = p->ic->streams[v];
			p->frame_rate = av_guess_frame_rate(p->ic, vs, NULL);
			double fps = av_q2d(p->frame_rate);
			if (vs->nb_frames > 0)
				p->total = (long)vs->nb_frames;
			else if (p->ic->duration > 0 && fps > 0)
				p->total = (long)((double)p->ic->duration / AV_TIME_BASE * fps + 0.5);
			p->audio = av_find_best_stream(p->ic, AVMEDIA_TYPE_AUDIO, -1, v, NULL, 0);
			if (p->audio >= 0) {
				AVStream *as = p->ic->streams[p->audio];
				int64_t start = vs->start_time != AV_NOPTS_VALUE ? vs->start_time : 0;
				p->audio_offset = av_rescale_q(start, vs->time_base, as->time_base);
				/* Only the audio is read here; the demuxer skips the rest. */
				for (unsigned i = 0; i < p->ic->nb_streams; i++)
					if ((int)i != p->audio)
						p->ic->streams[i]->discard = AVDISCARD_ALL;
			}
		}
	} else if (p->ic) {
		avformat_close_input(&p->ic);
	}
	free(real);
	double fps = av_q2d(p->frame_rate);
	if (!(fps >= 0.1 && fps <= 1000))
		p->frame_rate = source_fps > 0 ? av_d2q(source_fps, 100000) : (AVRational){ 25, 1 };
	if (p->audio >= 0 && !(p->pkt = av_packet_alloc()))
		p->audio = -1;
}

static void probe_close(probe *p)
{
	av_packet_free(&p->pkt);
	avformat_close_input(&p->ic);
}

/* Copies the source's audio up to t seconds of video into the file, keeping the first packet past it. */
static int copy_audio_until(exporter *e, double t)
{
	probe *p = &e->pr;
	if (p->audio < 0 || !e->writer || !vg_video_writer_has_audio(e->writer))
		return 0;
	AVRational tb = p->ic->streams[p->audio]->time_base;
	int64_t limit = (int64_t)(t / av_q2d(tb));
	while (!p->audio_done) {
		if (!p->pending) {
			int rc = av_read_frame(p->ic, p->pkt);
			if (rc < 0) {
				p->audio_done = 1;  /* the end, or a damaged tail: the video goes on without it */
				break;
			}
			if (p->pkt->stream_index != p->audio) {
				av_packet_unref(p->pkt);
				continue;
			}
			p->pending = 1;
			int64_t ts = p->pkt->pts != AV_NOPTS_VALUE ? p->pkt->pts : p->pkt->dts;
			if (ts == AV_NOPTS_VALUE) {
				av_packet_unref(p->pkt);
				p->pending = 0;
				continue;
			}
			p->pkt->pts = ts - p->audio_offset;
			if (p->pkt->dts != AV_NOPTS_VALUE)
				p->pkt->dts -= p->audio_offset;
		}
		if (p->pkt->pts >= limit)
			break;
		int rc = vg_video_writer_write_audio(e->writer, p->pkt, e->err, sizeof e->err);
		av_packet_unref(p->pkt);
		p->pending = 0;
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void fmt_duration(char *buf, size_t cap, double s)
{
	long t = (long)(s + 0.5);
	if (t >= 3600)
		snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
}

/* The progress bar: redrawn in place at most five times a second, and once more at the end. */
static void progress(exporter *e, int final)
{
	if (!e->opt->progress)
		return;
	int64_t now = vg_mono_us();
	if (!final && now - e->last_bar_us < 200000)
		return;
	e->last_bar_us = now;
	long done = e->written, total = e->pr.total;
	if (e->opt->max_frames > 0 && (total <= 0 || total > e->opt->max_frames))
		total = e->opt->max_frames;
	if (total > 0 && done > total)
		total = done;
	double secs = (double)(now - e->t0_us) / 1e6;
	double fps = secs > 0 ? done / secs : 0;
	char line[256];
	int n;
	if (total > 0) {
		enum { WIDTH = 30 };
		char bar[WIDTH + 1];
		int fill = (int)((double)done * WIDTH / (double)total);
		for (int i = 0; i < WIDTH; i++)
			bar[i] = i < fill ? '#' : i == fill ? '>' : '.';
		bar[WIDTH] = '\0';
		char eta[32] = "--:--";
		if (fps > 0)
			fmt_duration(eta, sizeof eta, (double)(total - done) / fps);
		n = snprintf(line, sizeof line, "[%s] %ld/%ld frames %3.0f%%  %.1f fps%s%s", bar, done, total,
			     100.0 * (double)done / (double)total, fps, final ? "" : "  ETA ", final ? "" : eta);
	} else {
		n = snprintf(line, sizeof line, "%ld frames  %.1f fps", done, fps);
	}
	if (final) {
		char took[32];
		fmt_duration(took, sizeof took, secs);
		snprintf(line + n, sizeof line - (size_t)n, "  in %s%s", took, stop_signal ? "  (interrupted)" : "");
	}
	fprintf(stderr, "\r%s\033[K%s", line, final ? "\n" : "");
	fflush(stderr);
	e->bar_shown = !final;
}

/*
 * MOTChallenge lines: frame (from 1), id, left, top, width, height in pixels,
 * score, and -1 for x, y, z. With tracking, the tracked objects (a detection
 * whose track is not confirmed yet is no object of the file); with
 * --no-track, every detection, with id -1.
 */
static int write_tracks(exporter *e, const job *j)
{
	const vg_frame *f = j->frame;
	for (int i = 0; i < j->r.n; i++) {
		const vg_detection *d = &j->r.dets[i];
		if (d->whole_frame || (e->opt->trk && d->track_id <= 0))
			continue;
		double x0 = d->x0 * f->width, y0 = d->y0 * f->height;
		double x1 = d->x1 * f->width, y1 = d->y1 * f->height;
		fprintf(e->tracks, "%ld,%d,%.2f,%.2f,%.2f,%.2f,%.4f,-1,-1,-1\n", j->r.frame_no,
			d->track_id > 0 ? d->track_id : -1, x0, y0,
			x1 - x0, y1 - y0, d->score);
	}
	if (ferror(e->tracks)) {
		snprintf(e->err, sizeof e->err, "--save-tracks: cannot write %s: %s", e->opt->tracks_path, strerror(errno));
		return -1;
	}
	return 0;
}

static int output_job(exporter *e, job *j)
{
	if (e->bar_shown && e->stdout_tty) {
		/* stdout and stderr are one terminal: the line goes where the bar was, and the bar comes back under it. */
		fputs("\r\033[K", stderr);
		e->bar_shown = 0;
	}
	if (vg_detect_print_line(stdout, e->name, j->frame, &j->r, vg_detector_labels(e->det)) < 0) {
		snprintf(e->err, sizeof e->err, "%s frame %ld: out of memory", e->shown, j->r.frame_no);
		return -1;
	}
	if (e->tracks && write_tracks(e, j) < 0)
		return -1;
	if (e->writer) {
		/* The frame is this stage's alone now (the source and the model are done with it): drawn in place. */
		vg_detect_annotate(j->frame, &j->r, &e->map, e->opt->priv);
		if (vg_video_writer_write_frame(e->writer, j->frame, e->err, sizeof e->err) < 0)
			return -1;
		double t = (double)vg_video_writer_frames(e->writer) / av_q2d(e->pr.frame_rate);
		if (copy_audio_until(e, t) < 0)
			return -1;
	}
	return 0;
}

static void *output_thread(void *arg)
{
	exporter *e = arg;
	pthread_mutex_lock(&e->lock);
	for (;;) {
		while (e->written == e->analysed && !e->analyse_done)
			pthread_cond_wait(&e->cond, &e->lock);
		if (e->written == e->analysed)
			break;
		job *j = &e->ring[e->written % RING];
		pthread_mutex_unlock(&e->lock);
		int rc = output_job(e, j);
		vg_frame_unref(j->frame);
		j->frame = NULL;
		free(j->r.events);
		j->r.events = NULL;
		pthread_mutex_lock(&e->lock);
		if (rc < 0) {
			e->abort = 1;
			e->status = VG_EXIT_FAILURE;
			pthread_cond_broadcast(&e->cond);
			break;
		}
		e->written++;
		pthread_cond_broadcast(&e->cond);
		pthread_mutex_unlock(&e->lock);
		progress(e, 0);
		pthread_mutex_lock(&e->lock);
	}
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

static void *decode_thread(void *arg)
{
	exporter *e = arg;
	long max = e->opt->max_frames;
	pthread_mutex_lock(&e->lock);
	for (;;) {
		while (e->decoded - e->written == RING && !e->abort && !stop_signal)
			pthread_cond_wait(&e->cond, &e->lock);
		if (e->abort || e->analyse_done || stop_signal || (max > 0 && e->decoded >= max))
			break;
		/* The job at decoded is free: the output stage has passed it. */
		job *j = &e->ring[e->decoded % RING];
		pthread_mutex_unlock(&e->lock);
		vg_frame *f = NULL;
		int rc = vg_source_read(e->src, &f);
		pthread_mutex_lock(&e->lock);
		if (rc != 0) {
			e->read_rc = rc;
			break;
		}
		j->frame = f;
		j->r.frame_no = e->decoded + 1;
		e->decoded++;
		pthread_cond_broadcast(&e->cond);
	}
	e->decode_done = 1;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

/* The inference stage, on the caller's thread (the detector and classifier were made there). */
static void analyse_all(exporter *e)
{
	pthread_mutex_lock(&e->lock);
	for (;;) {
		while (e->analysed == e->decoded && !e->decode_done && !e->abort)
			pthread_cond_wait(&e->cond, &e->lock);
		if (e->abort || e->analysed == e->decoded)
			break;
		job *j = &e->ring[e->analysed % RING];
		pthread_mutex_unlock(&e->lock);
		char err[512];
		int rc = vg_detect_analyse(e->det, e->cls, e->opt->trk, j->frame, &j->r, err, sizeof err);
		if (rc == 0 && j->r.mask) {
			rc = j->has_mask ? vg_seg_mask_copy(&j->mask, j->r.mask) : -1;
			j->r.mask = &j->mask;
			if (rc < 0)
				snprintf(err, sizeof err, "out of memory");
		}
		pthread_mutex_lock(&e->lock);
		if (rc < 0) {
			/* What came before is still written; the decode thread stops at its next frame. */
			fprintf(stderr, "vigil: %s frame %ld: %s\n", e->shown, j->r.frame_no, err);
			e->status = VG_EXIT_FAILURE;
			break;
		}
		e->analysed++;
		pthread_cond_broadcast(&e->cond);
	}
	e->analyse_done = 1;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

static int ring_init(exporter *e)
{
	e->ring = calloc(RING, sizeof *e->ring);
	if (!e->ring)
		return -1;
	const vg_seg_mask *m = vg_detector_segmentation(e->det);
	for (int i = 0; i < RING; i++) {
		e->ring[i].r.dets = e->ring[i].dets;
		if (m) {
			if (vg_seg_mask_init(&e->ring[i].mask, m->capacity) < 0)
				return -1;
			e->ring[i].has_mask = 1;
		}
	}
	return 0;
}

static void ring_free(exporter *e)
{
	if (!e->ring)
		return;
	for (int i = 0; i < RING; i++) {
		vg_frame_unref(e->ring[i].frame);
		free(e->ring[i].r.events);
		if (e->ring[i].has_mask)
			vg_seg_mask_free(&e->ring[i].mask);
	}
	free(e->ring);
}

/* Opens the outputs once the source's size and rate are known: 0, or an exit status. */
static int open_outputs(exporter *e)
{
	const vg_export_options *opt = e->opt;
	if (opt->tracks_path && !(e->tracks = fopen(opt->tracks_path, "w"))) {
		fprintf(stderr, "vigil: --save-tracks: cannot create %s: %s\n", opt->tracks_path, strerror(errno));
		return VG_EXIT_BAD_INPUT;
	}
	if (!opt->video_path)
		return 0;
	vg_video_writer_options wo = {
		.width = vg_source_width(e->src),
		.height = vg_source_height(e->src),
		.frame_rate = e->pr.frame_rate,
	};
	if (e->pr.audio >= 0) {
		wo.audio = e->pr.ic->streams[e->pr.audio]->codecpar;
		wo.audio_time_base = e->pr.ic->streams[e->pr.audio]->time_base;
	}
	if (vg_video_writer_open(&e->writer, opt->video_path, &wo, e->err, sizeof e->err) < 0) {
		fprintf(stderr, "vigil: --save-video: %s\n", e->err);
		return VG_EXIT_BAD_INPUT;
	}
	return 0;
}

/* Finishes the outputs: the rest of the audio, the MP4's trailer, the tracks file. */
static void close_outputs(exporter *e)
{
	if (e->writer) {
		/* Audio stops where the video does, also when it was cut short. */
		if (!e->abort)
			copy_audio_until(e, (double)vg_video_writer_frames(e->writer) / av_q2d(e->pr.frame_rate));
		if (vg_video_writer_close(e->writer, e->err, sizeof e->err) < 0) {
			fprintf(stderr, "vigil: --save-video: %s\n", e->err);
			e->status = VG_EXIT_FAILURE;
		}
		e->writer = NULL;
	}
	if (e->tracks && fclose(e->tracks) != 0) {
		fprintf(stderr, "vigil: --save-tracks: cannot write %s: %s\n", e->opt->tracks_path, strerror(errno));
		e->status = VG_EXIT_FAILURE;
	}
	e->tracks = NULL;
}

int vg_detect_export(vg_detector *det, vg_classifier *cls, const char *input, const vg_export_options *opt)
{
	exporter e = { .det = det, .cls = cls, .opt = opt, .status = VG_EXIT_OK };
	vg_source_options so = { .uri = input, .pace = 0 };
	if (vg_source_open(&e.src, &so, NULL, e.err, sizeof e.err) < 0) {
		fprintf(stderr, "vigil: %s\n", e.err);
		return VG_EXIT_BAD_INPUT;
	}
	e.shown = vg_source_display_uri(e.src);
	vg_detect_json_path(e.shown, e.name, sizeof e.name);
	probe_open(&e.pr, input, vg_source_fps(e.src));
	int status = open_outputs(&e);
	if (status == VG_EXIT_OK && opt->trk && vg_detect_tracking_start(opt->trk, vg_source_fps(e.src)) < 0) {
		fprintf(stderr, "vigil: out of memory\n");
		status = VG_EXIT_FAILURE;
	}
	if (status != VG_EXIT_OK || ring_init(&e) < 0) {
		if (status == VG_EXIT_OK) {
			fprintf(stderr, "vigil: out of memory\n");
			status = VG_EXIT_FAILURE;
		}
		close_outputs(&e);
		ring_free(&e);
		probe_close(&e.pr);
		vg_source_destroy(e.src);
		return status;
	}
	e.stdout_tty = isatty(STDOUT_FILENO);
	pthread_mutex_init(&e.lock, NULL);
	pthread_cond_init(&e.cond, NULL);

	/*
	 * The first Ctrl-C stops the reading and lets what was read finish, so
	 * the file is whole; SA_RESETHAND makes a second one end the process at
	 * once (the fragments written so far still play).
	 */
	struct sigaction sa = { .sa_handler = on_stop_signal, .sa_flags = SA_RESETHAND }, old_int, old_term;
	sigemptyset(&sa.sa_mask);
	stop_signal = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);

	e.t0_us = vg_mono_us();
	pthread_t dec, out;
	int have_dec = pthread_create(&dec, NULL, decode_thread, &e) == 0;
	int have_out = have_dec && pthread_create(&out, NULL, output_thread, &e) == 0;
	if (have_out) {
		analyse_all(&e);
	} else {
		pthread_mutex_lock(&e.lock);
		e.abort = e.analyse_done = 1;
		pthread_cond_broadcast(&e.cond);
		pthread_mutex_unlock(&e.lock);
		fprintf(stderr, "vigil: cannot start a thread\n");
		e.status = VG_EXIT_FAILURE;
	}
	if (have_dec)
		pthread_join(dec, NULL);
	if (have_out)
		pthread_join(out, NULL);
	progress(&e, 1);
	if (opt->trk)
		vg_detect_tracking_print_totals(opt->trk, stdout, e.name);
	if (e.abort)
		fprintf(stderr, "vigil: %s\n", e.err);
	close_outputs(&e);

	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	status = e.status;
	if (e.decoded == 0 && status == VG_EXIT_OK && !stop_signal) {
		/* The source has already said why when it gave up on an undecodable file. */
		if (e.read_rc != VG_SOURCE_UNDECODABLE)
			fprintf(stderr, "vigil: %s: no frame could be decoded\n", e.shown);
		status = VG_EXIT_BAD_INPUT;
	} else if (e.read_rc < 0 && e.read_rc != VG_SOURCE_UNDECODABLE && status == VG_EXIT_OK) {
		fprintf(stderr, "vigil: %s: reading stopped after frame %ld\n", e.shown, e.decoded);
		status = VG_EXIT_FAILURE;
	}
	if (stop_signal && status == VG_EXIT_OK) {
		fprintf(stderr, "vigil: interrupted: %s: %ld frames analysed and written\n", e.shown, e.written);
		status = 128 + stop_signal;
	}
	vg_mask_map_free(&e.map);
	ring_free(&e);
	pthread_cond_destroy(&e.cond);
	pthread_mutex_destroy(&e.lock);
	probe_close(&e.pr);
	vg_source_destroy(e.src);
	return status;
}
