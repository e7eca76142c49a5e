/*
 * vigil detect: runs a model on still images or video files and prints one
 * JSON object per frame, for scripting. Optionally saves annotated JPEGs.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd_detect.h"
#include "commands.h"
#include "core/log.h"
#include "core/clock.h"
#include "detect/classify.h"
#include "detect/detector.h"
#include "encode/jpeg.h"
#include "event.h"
#include "options.h"
#include "render/draw.h"
#include "render/mask.h"
#include "source/source.h"

enum {
	OPT_MAX_FRAMES = 400,
	OPT_SAVE,
	OPT_SEQUENCE,
	OPT_REDACT_PARAM,
	OPT_PRIVACY,
	OPT_PRIVACY_CLASSES,
	OPT_SAVE_VIDEO,
	OPT_SAVE_TRACKS,
	OPT_ZONE,
	OPT_LINE,
	OPT_NO_TRACK,
};

static const struct option detect_options[] = {
	VG_MODEL_OPTIONS,
	VG_CLASSIFY_OPTIONS,
	{ "max-frames", required_argument, NULL, OPT_MAX_FRAMES },
	{ "save", required_argument, NULL, OPT_SAVE },
	{ "save-video", required_argument, NULL, OPT_SAVE_VIDEO },
	{ "save-tracks", required_argument, NULL, OPT_SAVE_TRACKS },
	{ "zone", required_argument, NULL, OPT_ZONE },
	{ "line", required_argument, NULL, OPT_LINE },
	{ "no-track", no_argument, NULL, OPT_NO_TRACK },
	{ "sequence", no_argument, NULL, OPT_SEQUENCE },
	{ "redact-param", required_argument, NULL, OPT_REDACT_PARAM },
	{ "privacy", required_argument, NULL, OPT_PRIVACY },
	{ "privacy-classes", required_argument, NULL, OPT_PRIVACY_CLASSES },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void detect_usage(FILE *out)
{
	fprintf(out,
		"usage: vigil detect --model FILE [options] IMAGE_OR_VIDEO...\n"
		"\n"
		"Prints one JSON object per frame: source, frame number, size, timings and detections\n"
		"(boxes normalised to the frame as [x0, y0, x1, y1]; keypoints, for models that give\n"
		"them, as {name, x, y, score} normalised likewise; with --classify, each classified\n"
		"detection's \"attributes\": [{model, label, class_id, score}], and the line's classify_ms;\n"
		"segmentation models: \"segmentation\": {\"classes\": [{label, class_id, area}]}, each class's\n"
		"share of the frame).\n"
		"\n"
		"Model:\n%s"
		"\n"
		"Second stage:\n%s"
		"\n"
		"      --max-frames N      videos: stop after N frames (default: all)\n"
		"      --save DIR          also write each frame, annotated, as DIR/NAME-FRAME.jpg\n"
		"      --save-video FILE   write the video annotated as an H.264 MP4 at its own size and frame rate,\n"
		"                          its AAC, MP3 or Opus audio copied (other audio is left out); decoding,\n"
		"                          inference and encoding overlap and no frame is dropped. One video only\n"
		"      --save-tracks FILE  write each tracked object as a MOTChallenge line: frame,id,left,top,width,\n"
		"                          height,score,-1,-1,-1 (pixels; frames from 1; with --no-track every\n"
		"                          detection, id -1)\n"
		"                          With either, a progress bar shows on stderr when it is a terminal, and\n"
		"                          Ctrl-C stops the reading, finishes what was read and closes the files\n"
		"                          so that they play (exit status 130)\n"
		"      --privacy MODE      --save, --save-video: hide people in the frames written, as vigil serve\n"
		"                          does (blur, fill or fill:RRGGBB); --privacy-classes A,B hides those\n"
		"                          classes instead\n"
		"      --zone NAME:X1,Y1,X2,Y2,X3,...  a zone (see vigil serve --help): a JSON line for each object\n"
		"                          entering or leaving it, after its frame's line; the totals at the end\n"
		"      --line NAME:X1,Y1,X2,Y2  a counting line: a JSON line per crossing ({\"event\":\"crossed\",\n"
		"                          \"line\", \"direction\", \"track_id\", \"label\", \"frame\", ...}); the totals\n"
		"                          per direction and label at the end of the video\n"
		"      --no-track          no tracking: detections get no track_id\n"
		"      --sequence          video models with state: the files are frames of one video, in\n"
		"                          order, and the state carries from one to the next (default: each\n"
		"                          file starts afresh; within a video file the state always carries)\n"
		"      --redact-param NAME hide this URL query parameter's value in messages (repeatable; see\n"
		"                          vigil serve --help); ${NAME} in a file name or URL is replaced by\n"
		"                          the environment variable NAME\n"
		"  -v, --verbose           log more\n"
		"  -h, --help              show this help\n",
		vg_model_options_help, vg_classify_options_help);
}

/* Whether a file can be created at path: its folder exists and is writable. 1, or 0 with the reason in err. */
static int dir_writable(const char *path, char *err, size_t errlen)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else
		snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
	struct stat st;
	if (stat(dir, &st) != 0 || access(dir, W_OK) != 0) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return 0;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(ENOTDIR));
		return 0;
	}
	return 1;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

void vg_detect_annotate(vg_frame *frame, const vg_detect_result *r, vg_mask_map *map, const vg_detect_privacy *priv)
{
	const vg_seg_mask *mask = r->mask;
	int hide = priv && priv->opt.mode != VG_PRIVACY_OFF;
	if (hide && mask && mask->w > 0)
		vg_privacy_mask(frame, mask, map, priv->set, &priv->opt);
	else if (hide && mask)
		vg_privacy_rect(frame, 0, 0, frame->width, frame->height, &priv->opt);
	else if (hide)
		vg_privacy_detections(frame, r->dets, r->n, priv->set, &priv->opt);
	if (mask && mask->w > 0)
		vg_draw_mask(frame, mask, map, hide ? priv->set : NULL, VG_MASK_ALPHA);
	if (r->trk)
		vg_detect_tracking_draw(r->trk, frame, r);
	vg_draw_detections(frame, r->dets, r->n);
}

static int save_annotated(const char *dir, const char *src, vg_frame *frame, const vg_detect_result *r,
			  const vg_detect_privacy *priv)
{
	vg_frame *copy = vg_frame_copy(frame);
	if (!copy)
		return -1;
	vg_mask_map map = { 0 };
	vg_detect_annotate(copy, r, &map, priv);
	vg_mask_map_free(&map);
	vg_jpeg_encoder *enc = vg_jpeg_encoder_create(90);
	size_t cap = vg_jpeg_max_size(copy->width, copy->height);
	uint8_t *buf = malloc(cap);
	size_t len = enc && buf ? vg_jpeg_encode(enc, copy, buf, cap) : 0;
	int rc = -1;
	if (len) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s-%04ld.jpg", dir, base_name(src), r->frame_no);
		FILE *f = fopen(path, "wb");
		if (f) {
			rc = fwrite(buf, 1, len, f) == len ? 0 : -1;
			rc |= fclose(f);
		}
		if (rc < 0)
			vg_error("cannot write %s: %s", path, strerror(errno));
	}
	free(buf);
	vg_jpeg_encoder_destroy(enc);
	vg_frame_unref(copy);
	return rc;
}

void vg_detect_json_path(const char *s, char *buf, size_t cap)
{
	size_t n = 0;
	for (; *s && n + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			n += (size_t)snprintf(buf + n, cap - n, "\\%c", c);
		else if (c < 0x20)
			n += (size_t)snprintf(buf + n, cap - n, "\\u%04x", c);
		else
			buf[n++] = (char)c;
	}
	buf[n] = '\0';
}

int vg_detect_analyse(vg_detector *det, vg_classifier *cls, vg_detect_tracking *trk, const vg_frame *frame,
		      vg_detect_result *r, char *err, size_t errlen)
{
	r->n = 0;
	r->mask = NULL;
	r->classify_us = -1;
	r->trk = NULL;
	r->events = NULL;
	int n = vg_detector_run(det, frame, r->dets, VG_MAX_DETECTIONS, &r->pre_us, &r->infer_us, &r->post_us, err,
				errlen);
	if (n < 0)
		return -1;
	r->n = n;
	if (trk) {
		vg_detect_track(trk, frame, r);
		n = r->n;
	}
	int64_t c0 = vg_mono_us();
	if (cls && n > 0 && vg_classifier_run(cls, frame, r->dets, n, err, errlen) < 0)
		return -1;
	if (cls)
		r->classify_us = vg_mono_us() - c0;
	r->mask = vg_detector_segmentation(det);
	return 0;
}

int vg_detect_print_line(FILE *out, const char *name, const vg_frame *frame, const vg_detect_result *r,
			 const vg_labels *labels)
{
	char classify_ms[48] = "";
	if (r->classify_us >= 0)
		snprintf(classify_ms, sizeof classify_ms, ",\"classify_ms\":%.3f", (double)r->classify_us / 1e3);
	size_t cap = vg_detections_json_bound(r->dets, r->n);
	char *json = malloc(cap);
	size_t len = json ? vg_detections_json(r->dets, r->n, json, cap) : 0;
	if (!len) {
		free(json);
		return -1;
	}
	char seg[2048] = "";
	if (r->mask && r->mask->w > 0) {
		memcpy(seg, ",\"segmentation\":", 16);
		if (!vg_segment_json(r->mask, (const char *const *)labels->names, labels->count, seg + 16, sizeof seg - 16))
			seg[0] = '\0';
	}
	fprintf(out,
		"{\"source\":\"%s\",\"frame\":%ld,\"width\":%d,\"height\":%d,\"preprocess_ms\":%.3f,"
		"\"inference_ms\":%.3f,\"postprocess_ms\":%.3f%s,\"detections\":%.*s%s}\n",
		name, r->frame_no, frame->width, frame->height, (double)r->pre_us / 1e3, (double)r->infer_us / 1e3,
		(double)r->post_us / 1e3, classify_ms, (int)len, json, seg);
	/* The frame's zone and line events follow its line. */
	if (r->events)
		fputs(r->events, out);
	fflush(out);
	free(json);
	return 0;
}

static int detect_file(vg_detector *det, vg_classifier *cls, vg_detect_tracking *trk, const char *path,
		       long max_frames, const char *save_dir, const vg_detect_privacy *priv)
{
	vg_source_options so = { .uri = path, .pace = 0 };
	vg_source *src;
	char err[512];
	if (vg_source_open(&src, &so, NULL, err, sizeof err) < 0) {
		fprintf(stderr, "vigil: %s\n", err);
		return VG_EXIT_BAD_INPUT;
	}
	static vg_detection dets[VG_MAX_DETECTIONS];
	/* Lines and messages name the input by its display form, which hides secrets in a URL. */
	const char *shown = vg_source_display_uri(src);
	char name[8192];
	vg_detect_json_path(shown, name, sizeof name);
	int status = VG_EXIT_OK;
	long frame_no = 0;
	vg_frame *frame;
	int rc = 0;
	/* Each file is a video of its own: identities and counts start afresh. */
	if (trk && vg_detect_tracking_start(trk, vg_source_fps(src)) < 0) {
		fprintf(stderr, "vigil: out of memory\n");
		vg_source_destroy(src);
		return VG_EXIT_FAILURE;
	}
	while ((max_frames <= 0 || frame_no < max_frames) && (rc = vg_source_read(src, &frame)) == 0) {
		frame_no++;
		vg_detect_result r = { .frame_no = frame_no, .dets = dets };
		if (vg_detect_analyse(det, cls, trk, frame, &r, err, sizeof err) < 0) {
			fprintf(stderr, "vigil: %s frame %ld: %s\n", shown, frame_no, err);
			vg_frame_unref(frame);
			status = VG_EXIT_FAILURE;
			break;
		}
		int printed = vg_detect_print_line(stdout, name, frame, &r, vg_detector_labels(det));
		free(r.events);
		if (printed < 0) {
			fprintf(stderr, "vigil: %s frame %ld: out of memory\n", shown, frame_no);
			vg_frame_unref(frame);
			status = VG_EXIT_FAILURE;
			break;
		}
		if (save_dir && save_annotated(save_dir, shown, frame, &r, priv) < 0)
			status = VG_EXIT_FAILURE;
		vg_frame_unref(frame);
	}
	if (trk && frame_no > 0)
		vg_detect_tracking_print_totals(trk, stdout, name);
	if (frame_no == 0 && status == VG_EXIT_OK) {
		/* The source has already said why when it gave up on an undecodable file. */
		if (rc != VG_SOURCE_UNDECODABLE)
			fprintf(stderr, "vigil: %s: no frame could be decoded\n", shown);
		status = VG_EXIT_BAD_INPUT;
	}
	vg_source_destroy(src);
	return status;
}

int vg_cmd_detect(int argc, char **argv)
{
	vg_detector_options dopt = { 0 };
	vg_classifier_options copt = { 0 };
	long max_frames = 0;
	int sequence = 0;
	const char *save_dir = NULL;
	vg_detect_privacy priv = { 0 };
	vg_export_options eopt = { .priv = &priv };
	static vg_zone_def zones[VG_DETECT_MAX_ZONES];
	static vg_line_def lines[VG_DETECT_MAX_LINES];
	int nzones = 0, nlines = 0, tracking = 1;
	char err[512];
	int c;
	optind = 1;
	opterr = 0;
	vg_log_set_level(VG_LOG_WARN);
	while ((c = getopt_long(argc, argv, ":m:vh", detect_options, NULL)) != -1) {
		int m = vg_model_option(c, optarg, &dopt, err, sizeof err);
		if (m == 0)
			m = vg_classify_option(c, optarg, &copt, err, sizeof err);
		if (m < 0) {
			fprintf(stderr, "vigil: %s\n", err);
			return VG_EXIT_BAD_INPUT;
		}
		if (m > 0)
			continue;
		switch (c) {
		case OPT_MAX_FRAMES:
			if (vg_parse_int(optarg, 1, 1L << 30, &max_frames) < 0) {
				fprintf(stderr, "vigil: --max-frames expects a positive whole number, not '%s'\n", optarg);
				return VG_EXIT_BAD_INPUT;
			}
			break;
		case OPT_SAVE:
			save_dir = optarg;
			break;
		case OPT_SAVE_VIDEO:
			eopt.video_path = optarg;
			break;
		case OPT_SAVE_TRACKS:
			eopt.tracks_path = optarg;
			break;
		case OPT_SEQUENCE:
			sequence = 1;
			break;
		case OPT_ZONE:
		case OPT_LINE: {
			int zone = c == OPT_ZONE;
			int *n = zone ? &nzones : &nlines;
			if (*n == (zone ? VG_DETECT_MAX_ZONES : VG_DETECT_MAX_LINES)) {
				fprintf(stderr, "vigil: --%s: at most %d\n", zone ? "zone" : "line",
					zone ? VG_DETECT_MAX_ZONES : VG_DETECT_MAX_LINES);
				return VG_EXIT_BAD_INPUT;
			}
			if ((zone ? vg_zone_parse(optarg, &zones[*n], err, sizeof err)
				  : vg_line_parse(optarg, &lines[*n], err, sizeof err)) < 0) {
				fprintf(stderr, "vigil: --%s %s\n", zone ? "zone" : "line", err);
				return VG_EXIT_BAD_INPUT;
			}
			(*n)++;
			break;
		}
		case OPT_NO_TRACK:
			tracking = 0;
			break;
		case OPT_PRIVACY:
			if (vg_privacy_parse(optarg, &priv.opt, err, sizeof err) < 0) {
				fprintf(stderr, "vigil: %s\n", err);
				return VG_EXIT_BAD_INPUT;
			}
			break;
		case OPT_PRIVACY_CLASSES:
			priv.opt.classes = optarg;
			break;
		case OPT_REDACT_PARAM:
			if (vg_redact_option(optarg, err, sizeof err) < 0) {
				fprintf(stderr, "vigil: %s\n", err);
				return VG_EXIT_BAD_INPUT;
			}
			break;
		case 'v':
			vg_log_set_level(VG_LOG_DEBUG);
			break;
		case 'h':
			detect_usage(stdout);
			return VG_EXIT_OK;
		case ':':
			fprintf(stderr, "vigil: option '%s' needs a value\n", argv[optind - 1]);
			return VG_EXIT_BAD_INPUT;
		default:
			fprintf(stderr, "vigil: unknown option '%s' (see vigil detect --help)\n", argv[optind - 1]);
			return VG_EXIT_BAD_INPUT;
		}
	}
	if (!dopt.model) {
		fprintf(stderr, "vigil: detect needs --model FILE (see vigil detect --help)\n");
		return VG_EXIT_BAD_INPUT;
	}
	if (optind >= argc) {
		fprintf(stderr, "vigil: detect needs at least one image or video (see vigil detect --help)\n");
		return VG_EXIT_BAD_INPUT;
	}
	if (vg_classify_options_check(&copt, err, sizeof err) < 0) {
		fprintf(stderr, "vigil: %s\n", err);
		return VG_EXIT_BAD_INPUT;
	}
	if (!tracking && (nzones || nlines)) {
		fprintf(stderr, "vigil: --%s follows tracked objects: it cannot go with --no-track\n", nzones ? "zone" : "line");
		return VG_EXIT_BAD_INPUT;
	}
	int exporting = eopt.video_path || eopt.tracks_path;
	if ((priv.opt.mode || priv.opt.classes) && (!priv.opt.mode || !(save_dir || eopt.video_path))) {
		fprintf(stderr, "vigil: %s\n",
			!priv.opt.mode ? "--privacy-classes needs --privacy blur|fill"
				       : "--privacy hides people in the frames --save or --save-video writes; "
					 "give --save DIR or --save-video FILE");
		return VG_EXIT_BAD_INPUT;
	}
	if (exporting && optind + 1 != argc) {
		fprintf(stderr, "vigil: --save-video and --save-tracks take one video, not %d inputs\n", argc - optind);
		return VG_EXIT_BAD_INPUT;
	}
	if (exporting && save_dir) {
		fprintf(stderr, "vigil: --save writes JPEG frames and --save-video a video: choose one\n");
		return VG_EXIT_BAD_INPUT;
	}
	/* A folder that is not there is said before the model takes its time to load. */
	const char *outs[2] = { eopt.video_path, eopt.tracks_path };
	for (int i = 0; i < 2; i++)
		if (outs[i] && !dir_writable(outs[i], err, sizeof err)) {
			fprintf(stderr, "vigil: %s: %s\n", i ? "--save-tracks" : "--save-video", err);
			return VG_EXIT_BAD_INPUT;
		}
	struct stat st;
	if (save_dir && (stat(save_dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
		fprintf(stderr, "vigil: --save: '%s' is not a directory\n", save_dir);
		return VG_EXIT_BAD_INPUT;
	}
	vg_detector *det;
	if (vg_detector_create(&det, &dopt, err, sizeof err) < 0) {
		fprintf(stderr, "vigil: %s\n", err);
		return VG_EXIT_BAD_INPUT;
	}
	const vg_seg_mask *seg = vg_detector_segmentation(det);
	if (priv.opt.mode && vg_privacy_classes(&priv.opt, vg_detector_labels(det), seg ? seg->classes : 0, priv.set, err,
						sizeof err) < 0) {
		fprintf(stderr, "vigil: %s: %s\n", dopt.model, err);
		vg_detector_destroy(det);
		return VG_EXIT_BAD_INPUT;
	}
	int status = VG_EXIT_OK;
	if (sequence && dopt.no_state) {
		fprintf(stderr, "vigil: --sequence and --no-state contradict each other\n");
		vg_detector_destroy(det);
		return VG_EXIT_BAD_INPUT;
	}
	vg_classifier *cls = NULL;
	if (copt.model && vg_classifier_create(&cls, &copt, vg_detector_labels(det), err, sizeof err) < 0) {
		fprintf(stderr, "vigil: %s\n", err);
		vg_detector_destroy(det);
		return VG_EXIT_BAD_INPUT;
	}
	vg_detect_tracking *trk = NULL;
	if (tracking && !(trk = vg_detect_tracking_create(det, &dopt, zones, nzones, lines, nlines, err, sizeof err))) {
		fprintf(stderr, "vigil: %s\n", err);
		vg_classifier_destroy(cls);
		vg_detector_destroy(det);
		return VG_EXIT_BAD_INPUT;
	}
	eopt.trk = trk;
	eopt.max_frames = max_frames;
	eopt.progress = isatty(STDERR_FILENO);
	for (int i = optind; i < argc && exporting; i++)
		status = vg_detect_export(det, cls, argv[i], &eopt);
	for (int i = optind; i < argc && !exporting; i++) {
		/* Each file is a video of its own unless the user said the files are one sequence. */
		if (!sequence)
			vg_detector_reset_state(det);
		int rc = detect_file(det, cls, trk, argv[i], max_frames, save_dir, &priv);
		if (rc > status)
			status = rc;
	}
	vg_detect_tracking_destroy(trk);
	vg_classifier_destroy(cls);
	vg_detector_destroy(det);
	return status;
}
