#include "encode/video_writer.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>

#include "core/log.h"
#include "encode/yuv_limited.h"

struct vg_video_writer {
	char *path;
	AVFormatContext *oc;
	AVCodecContext *enc;
	AVStream *vs, *as;          /* as: NULL when no audio is copied */
	AVRational audio_tb;        /* of the packets given to write_audio */
	AVFrame *pic;
	AVPacket *pkt, *apkt;
	int64_t frames;
	int header_written;
	vg_limited_luts luts;
};

static void say_av(char *err, size_t errlen, const char *what, const char *path, int rc)
{
	char why[AV_ERROR_MAX_STRING_SIZE];
	av_strerror(rc, why, sizeof why);
	snprintf(err, errlen, "%s %s: %s", what, path, why);
}

static int open_encoder(vg_video_writer *w, const vg_video_writer_options *opt, char *err, size_t errlen)
{
	const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
	if (!codec)
		codec = avcodec_find_encoder(AV_CODEC_ID_H264);
	if (!codec) {
		snprintf(err, errlen, "%s: this FFmpeg has no H.264 encoder (Debian's libavcodec59 has libx264)", w->path);
		return AVERROR_ENCODER_NOT_FOUND;
	}
	AVCodecContext *c = w->enc = avcodec_alloc_context3(codec);
	if (!c) {
		snprintf(err, errlen, "%s: out of memory", w->path);
		return AVERROR(ENOMEM);
	}
	c->width = opt->width;
	c->height = opt->height;
	c->framerate = opt->frame_rate;
	c->time_base = av_inv_q(opt->frame_rate);
	c->sample_aspect_ratio = (AVRational){ 1, 1 };
	c->pix_fmt = AV_PIX_FMT_YUV420P;
	c->color_range = AVCOL_RANGE_MPEG;
	/* The source converts every input to BT.601's matrix, whatever it was. */
	c->colorspace = AVCOL_SPC_SMPTE170M;
	/*
	 * A keyframe every two seconds: each starts a fragment, so an interrupted
	 * file loses at most that much, and players seek to within it.
	 */
	double fps = av_q2d(opt->frame_rate);
	c->gop_size = (int)fmin(fmax(ceil(2.0 * fps), 1.0), 600.0);
	/*
	 * No B-frames: with them the first decoding time is negative, and the
	 * fragmented MP4 muxer, which cannot write an edit list up front, shifts
	 * the whole video later instead, out of step with its audio. An export's
	 * few percent of size are not worth that.
	 */
	c->max_b_frames = 0;
	/*
	 * Up to 720p one encoder thread: veryfast on one core outruns the models
	 * here several times over, and x264's frame threads cost CPU of their own
	 * (measured: ~7% more user time on vtest.avi) that the model on a busy
	 * machine needs. Larger frames get libx264's own choice.
	 */
	c->thread_count = opt->threads > 0 ? opt->threads : opt->width * opt->height <= 1280 * 720 ? 1 : 0;
	if (w->oc->oformat->flags & AVFMT_GLOBALHEADER)
		c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	if (!strcmp(codec->name, "libx264")) {
		char crf[16];
		snprintf(crf, sizeof crf, "%d", opt->crf > 0 ? opt->crf : 23);
		av_opt_set(c->priv_data, "preset", opt->preset ? opt->preset : "veryfast", 0);
		av_opt_set(c->priv_data, "crf", crf, 0);
	}
	int rc = avcodec_open2(c, codec, NULL);
	if (rc < 0) {
		say_av(err, errlen, "cannot open the H.264 encoder for", w->path, rc);
		return rc;
	}
	w->vs = avformat_new_stream(w->oc, NULL);
	if (!w->vs || (rc = avcodec_parameters_from_context(w->vs->codecpar, c)) < 0) {
		snprintf(err, errlen, "%s: out of memory", w->path);
		return AVERROR(ENOMEM);
	}
	w->vs->time_base = c->time_base;
	w->vs->avg_frame_rate = opt->frame_rate;
	w->pic = av_frame_alloc();
	if (!w->pic) {
		snprintf(err, errlen, "%s: out of memory", w->path);
		return AVERROR(ENOMEM);
	}
	w->pic->format = c->pix_fmt;
	w->pic->width = c->width;
	w->pic->height = c->height;
	w->pic->color_range = c->color_range;
	w->pic->colorspace = c->colorspace;
	if ((rc = av_frame_get_buffer(w->pic, 0)) < 0) {
		snprintf(err, errlen, "%s: out of memory", w->path);
		return rc;
	}
	return 0;
}

static int add_audio(vg_video_writer *w, const vg_video_writer_options *opt, char *err, size_t errlen)
{
	if (!opt->audio)
		return 0;
	if (!vg_audio_copyable(opt->audio->codec_id)) {
		vg_warn("%s: the source's %s audio is not copied (only AAC, MP3 and Opus are)", w->path,
			avcodec_get_name(opt->audio->codec_id));
		return 0;
	}
	if (opt->audio_time_base.num <= 0 || opt->audio_time_base.den <= 0) {
		snprintf(err, errlen, "%s: the audio stream to copy has no time base", w->path);
		return AVERROR(EINVAL);
	}
	w->as = avformat_new_stream(w->oc, NULL);
	int rc = w->as ? avcodec_parameters_copy(w->as->codecpar, opt->audio) : AVERROR(ENOMEM);
	if (rc < 0) {
		snprintf(err, errlen, "%s: out of memory", w->path);
		return rc;
	}
	/* The source container's tag (an AVI's or a Matroska's) means nothing in MP4. */
	w->as->codecpar->codec_tag = 0;
	w->as->time_base = opt->audio_time_base;
	w->audio_tb = opt->audio_time_base;
	return 0;
}

int vg_video_writer_open(vg_video_writer **out, const char *path, const vg_video_writer_options *opt, char *err,
			 size_t errlen)
{
	*out = NULL;
	if (opt->width <= 0 || opt->height <= 0 || (opt->width & 1) || (opt->height & 1)) {
		snprintf(err, errlen, "%s: H.264 needs an even frame size, not %dx%d", path, opt->width, opt->height);
		return AVERROR(EINVAL);
	}
	if (opt->frame_rate.num <= 0 || opt->frame_rate.den <= 0) {
		snprintf(err, errlen, "%s: bad frame rate %d/%d", path, opt->frame_rate.num, opt->frame_rate.den);
		return AVERROR(EINVAL);
	}
	vg_video_writer *w = calloc(1, sizeof *w);
	if (!w || !(w->path = strdup(path))) {
		free(w);
		snprintf(err, errlen, "%s: out of memory", path);
		return AVERROR(ENOMEM);
	}
	vg_limited_luts_init(&w->luts);
	/* MP4 whatever the file's extension: the fragmenting below is MP4's. */
	int rc = avformat_alloc_output_context2(&w->oc, NULL, "mp4", path);
	if (rc < 0) {
		say_av(err, errlen, "cannot set up", path, rc);
		goto fail;
	}
	if ((rc = open_encoder(w, opt, err, errlen)) < 0 || (rc = add_audio(w, opt, err, errlen)) < 0)
		goto fail;
	w->pkt = av_packet_alloc();
	w->apkt = av_packet_alloc();
	if (!w->pkt || !w->apkt) {
		rc = AVERROR(ENOMEM);
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	if ((rc = avio_open(&w->oc->pb, path, AVIO_FLAG_WRITE)) < 0) {
		say_av(err, errlen, "cannot create", path, rc);
		goto fail;
	}
	/*
	 * Each complete fragment goes to the file at once rather than waiting in
	 * avio's buffer, so that a crash loses only the fragment under way.
	 */
	w->oc->flush_packets = 1;
	AVDictionary *mux = NULL;
	av_dict_set(&mux, "movflags", "frag_keyframe+empty_moov+default_base_moof", 0);
	rc = avformat_write_header(w->oc, &mux);
	av_dict_free(&mux);
	if (rc < 0) {
		say_av(err, errlen, "cannot write the header of", path, rc);
		goto fail;
	}
	w->header_written = 1;
	*out = w;
	return 0;
fail:
	vg_video_writer_close(w, NULL, 0);
	return rc;
}

int vg_video_writer_has_audio(const vg_video_writer *w)
{
	return w->as != NULL;
}

int64_t vg_video_writer_frames(const vg_video_writer *w)
{
	return w->frames;
}

/* Hands every packet the encoder has ready to the muxer. */
static int drain(vg_video_writer *w, char *err, size_t errlen)
{
	for (;;) {
		int rc = avcodec_receive_packet(w->enc, w->pkt);
		if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
			return 0;
		if (rc < 0) {
			say_av(err, errlen, "encoding", w->path, rc);
			return rc;
		}
		av_packet_rescale_ts(w->pkt, w->enc->time_base, w->vs->time_base);
		w->pkt->stream_index = w->vs->index;
		rc = av_interleaved_write_frame(w->oc, w->pkt);
		if (rc < 0) {
			say_av(err, errlen, "writing", w->path, rc);
			return rc;
		}
	}
}

int vg_video_writer_write_frame(vg_video_writer *w, const vg_frame *frame, char *err, size_t errlen)
{
	if (frame->width != w->enc->width || frame->height != w->enc->height) {
		snprintf(err, errlen, "%s: frame %" PRId64 " is %dx%d, the video %dx%d", w->path, w->frames + 1,
			 frame->width, frame->height, w->enc->width, w->enc->height);
		return AVERROR(EINVAL);
	}
	/* The encoder may still hold the last picture; then this gives a fresh buffer, else it reuses it. */
	int rc = av_frame_make_writable(w->pic);
	if (rc < 0) {
		snprintf(err, errlen, "%s: out of memory", w->path);
		return rc;
	}
	vg_limited_copy_frame(w->pic, frame, &w->luts);
	w->pic->pts = w->frames;
	if ((rc = avcodec_send_frame(w->enc, w->pic)) < 0) {
		say_av(err, errlen, "encoding", w->path, rc);
		return rc;
	}
	w->frames++;
	return drain(w, err, errlen);
}

int vg_video_writer_write_audio(vg_video_writer *w, const AVPacket *pkt, char *err, size_t errlen)
{
	if (!w->as)
		return 0;
	int64_t pts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
	/* Before the first frame (an AAC encoder's priming packet, audio that starts early): not shown, not copied. */
	if (pts == AV_NOPTS_VALUE || pts < 0)
		return 0;
	int rc = av_packet_ref(w->apkt, pkt);
	if (rc < 0) {
		snprintf(err, errlen, "%s: out of memory", w->path);
		return rc;
	}
	if (w->apkt->pts == AV_NOPTS_VALUE)
		w->apkt->pts = pts;
	if (w->apkt->dts == AV_NOPTS_VALUE || w->apkt->dts > w->apkt->pts)
		w->apkt->dts = w->apkt->pts;
	av_packet_rescale_ts(w->apkt, w->audio_tb, w->as->time_base);
	w->apkt->stream_index = w->as->index;
	w->apkt->pos = -1;
	rc = av_interleaved_write_frame(w->oc, w->apkt);
	av_packet_unref(w->apkt);
	if (rc < 0)
		say_av(err, errlen, "writing", w->path, rc);
	return rc;
}

int vg_video_writer_close(vg_video_writer *w, char *err, size_t errlen)
{
	if (!w)
		return 0;
	char dummy[8];
	if (!err) {
		err = dummy;
		errlen = sizeof dummy;
	}
	int rc = 0;
	if (w->header_written) {
		/* Frames still inside the encoder (lookahead, B-frames) come out when it is flushed. */
		rc = avcodec_send_frame(w->enc, NULL);
		if (rc < 0 && rc != AVERROR_EOF)
			say_av(err, errlen, "encoding", w->path, rc);
		else
			rc = drain(w, err, errlen);
		int trc = av_write_trailer(w->oc);
		if (trc < 0 && rc >= 0) {
			say_av(err, errlen, "cannot finish", w->path, trc);
			rc = trc;
		}
	}
	if (w->oc && w->oc->pb) {
		int crc = avio_closep(&w->oc->pb);
		if (crc < 0 && rc >= 0) {
			say_av(err, errlen, "cannot close", w->path, crc);
			rc = crc;
		}
	}
	avformat_free_context(w->oc);
	avcodec_free_context(&w->enc);
	av_frame_free(&w->pic);
	av_packet_free(&w->pkt);
	av_packet_free(&w->apkt);
	free(w->path);
	free(w);
	return rc;
}
