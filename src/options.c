#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
	OPT_LOOP = 256,
	OPT_NO_PACE,
	OPT_SIZE,
	OPT_INPUT_FORMAT,
	OPT_RECONNECT_MAX,
	OPT_LISTEN,
	OPT_QUALITY,
	OPT_MAX_CLIENTS,
	OPT_FPS,
	OPT_JSON,
};

static const struct option long_options[] = {
	{ "source", required_argument, NULL, 's' },
	{ "loop", no_argument, NULL, OPT_LOOP },
	{ "no-pace", no_argument, NULL, OPT_NO_PACE },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "input-format", required_argument, NULL, OPT_INPUT_FORMAT },
	{ "reconnect-max", required_argument, NULL, OPT_RECONNECT_MAX },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "quality", required_argument, NULL, OPT_QUALITY },
	{ "max-clients", required_argument, NULL, OPT_MAX_CLIENTS },
	{ "fps", required_argument, NULL, OPT_FPS },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

void vg_serve_usage(FILE *out)
{
	fprintf(out,
		"usage: vigil serve [options]\n"
		"\n"
		"Input:\n"
		"  -s, --source URI        video file, /dev/videoN, rtsp://..., http://..., or lavfi:GRAPH\n"
		"                          (default: the demo video " VG_DEMO_VIDEO ", looped)\n"
		"      --loop              start a file again when it ends\n"
		"      --no-pace           read files as fast as they decode instead of at their frame rate\n"
		"      --size WxH          capture size for /dev/videoN\n"
		"      --input-format F    capture format for /dev/videoN: mjpeg or yuyv422\n"
		"      --reconnect-max S   longest wait between reconnection attempts, seconds (default 5)\n"
		"\n"
		"Output:\n"
		"      --listen ADDR:PORT  where to serve HTTP (default 127.0.0.1:8080; [::1]:PORT for IPv6)\n"
		"      --quality N         JPEG quality 1..100 (default 80)\n"
		"      --max-clients N     concurrent stream and event clients (default 100)\n"
		"      --fps N             output frame-rate cap; for /dev/videoN also the capture rate\n"
		"      --json              print one JSON event per output frame on stdout\n"
		"\n"
		"  -v, --verbose           log more (debug)\n"
		"  -q, --quiet             log errors only\n"
		"  -h, --help              show this help\n");
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi))
		return -1;
	*out = v;
	return 0;
}

int vg_serve_options_parse(vg_serve_options *opt, int argc, char **argv, char *err, size_t errlen)
{
	memset(opt, 0, sizeof *opt);
	opt->pipeline.source.pace = 1;
	opt->pipeline.source.reconnect_max_us = 5000000;
	opt->pipeline.quality = 80;
	opt->http.listen = "127.0.0.1:8080";
	opt->http.max_clients = 100;
	opt->log_level = VG_LOG_INFO;

	vg_source_options *src = &opt->pipeline.source;
	long n;
	double d;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:vqh", long_options, NULL)) != -1) {
		switch (c) {
		case 's':
			src->uri = optarg;
			break;
		case OPT_LOOP:
			src->loop = 1;
			break;
		case OPT_NO_PACE:
			src->pace = 0;
			break;
		case OPT_SIZE: {
			int w, h;
			char tail;
			if (sscanf(optarg, "%dx%d%c", &w, &h, &tail) != 2 || w <= 0 || h <= 0 || w > 16384 || h > 16384) {
				snprintf(err, errlen, "--size expects WIDTHxHEIGHT, e.g. 1280x720, not '%s'", optarg);
				return -1;
			}
			src->width = w;
			src->height = h;
			break;
		}
		case OPT_INPUT_FORMAT:
			if (strcmp(optarg, "mjpeg") != 0 && strcmp(optarg, "yuyv422") != 0) {
				snprintf(err, errlen, "--input-format expects mjpeg or yuyv422, not '%s'", optarg);
				return -1;
			}
			src->input_format = optarg;
			break;
		case OPT_RECONNECT_MAX:
			if (parse_double(optarg, 0.1, 3600, &d) < 0) {
				snprintf(err, errlen, "--reconnect-max expects seconds between 0.1 and 3600, not '%s'", optarg);
				return -1;
			}
			src->reconnect_max_us = (int64_t)(d * 1e6);
			break;
		case OPT_LISTEN:
			opt->http.listen = optarg;
			break;
		case OPT_QUALITY:
			if (parse_int(optarg, 1, 100, &n) < 0) {
				snprintf(err, errlen, "--quality expects a whole number from 1 to 100, not '%s'", optarg);
				return -1;
			}
			opt->pipeline.quality = (int)n;
			break;
		case OPT_MAX_CLIENTS:
			if (parse_int(optarg, 1, 100000, &n) < 0) {
				snprintf(err, errlen, "--max-clients expects a whole number from 1 to 100000, not '%s'", optarg);
				return -1;
			}
			opt->http.max_clients = (int)n;
			break;
		case OPT_FPS:
			if (parse_double(optarg, 0.01, 1000, &d) < 0) {
				snprintf(err, errlen, "--fps expects frames per second between 0.01 and 1000, not '%s'", optarg);
				return -1;
			}
			opt->pipeline.max_fps = d;
			src->fps = (int)(d + 0.5);
			break;
		case OPT_JSON:
			opt->json = 1;
			break;
		case 'v':
			opt->log_level = VG_LOG_DEBUG;
			break;
		case 'q':
			opt->log_level = VG_LOG_ERROR;
			break;
		case 'h':
			vg_serve_usage(stdout);
			return 1;
		case ':':
			snprintf(err, errlen, "option '%s' needs a value", argv[optind - 1]);
			return -1;
		default:
			snprintf(err, errlen, "unknown option '%s' (see vigil serve --help)", argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s' (see vigil serve --help)", argv[optind]);
		return -1;
	}
	if (!src->uri) {
		if (access(VG_DEMO_VIDEO, R_OK) != 0) {
			snprintf(err, errlen,
				 "no --source given and the demo video " VG_DEMO_VIDEO
				 " is missing (run `make demo`, or install opencv-doc)");
			return -1;
		}
		src->uri = VG_DEMO_VIDEO;
		src->loop = 1;
	}
	if (opt->json)
		opt->pipeline.json_out = stdout;
	return 0;
}
