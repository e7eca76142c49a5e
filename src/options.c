#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/redact.h"

/* The demo's model inside the cache folder of scripts/fetch-demo-assets. */
#define VG_DEMO_MODEL "human-models-3.0.4/models/centernet.json"

enum {
	OPT_LOOP = 300,
	OPT_NO_PACE,
	OPT_SIZE,
	OPT_INPUT_FORMAT,
	OPT_RECONNECT_MAX,
	OPT_LISTEN,
	OPT_QUALITY,
	OPT_MAX_CLIENTS,
	OPT_MAX_EVENT_CLIENTS,
	OPT_MAX_CONNS_PER_ADDRESS,
	OPT_STALL_TIMEOUT,
	OPT_MIN_CLIENT_FPS,
	OPT_CORS_ORIGIN,
	OPT_ALLOWED_HOST,
	OPT_TRUSTED_PROXY,
	OPT_FPS,
	OPT_JSON,
	OPT_REDACT_PARAM,
	OPT_PRIVACY,
	OPT_PRIVACY_CLASSES,
	OPT_ZONE,
	OPT_LINE,
	OPT_NO_TRACK,
	OPT_MASK,
	OPT_MIN_AREA,
	OPT_MAX_AREA,
	OPT_CONFIG,
	OPT_NODE,
	OPT_AUTH_TOKEN,
	OPT_DATA,
	OPT_RETAIN_DAYS,
	OPT_MAX_STORAGE,
	OPT_CLIPS,
	OPT_EVENT_CLIPS,
	OPT_PRE_CAPTURE,
	OPT_POST_CAPTURE,
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
	{ "max-event-clients", required_argument, NULL, OPT_MAX_EVENT_CLIENTS },
	{ "max-conns-per-address", required_argument, NULL, OPT_MAX_CONNS_PER_ADDRESS },
	{ "stall-timeout", required_argument, NULL, OPT_STALL_TIMEOUT },
	{ "min-client-fps", required_argument, NULL, OPT_MIN_CLIENT_FPS },
	{ "cors-origin", required_argument, NULL, OPT_CORS_ORIGIN },
	{ "allowed-host", required_argument, NULL, OPT_ALLOWED_HOST },
	{ "trusted-proxy", required_argument, NULL, OPT_TRUSTED_PROXY },
	{ "fps", required_argument, NULL, OPT_FPS },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "redact-param", required_argument, NULL, OPT_REDACT_PARAM },
	{ "privacy", required_argument, NULL, OPT_PRIVACY },
	{ "privacy-classes", required_argument, NULL, OPT_PRIVACY_CLASSES },
	{ "zone", required_argument, NULL, OPT_ZONE },
	{ "line", required_argument, NULL, OPT_LINE },
	{ "no-track", no_argument, NULL, OPT_NO_TRACK },
	{ "mask", required_argument, NULL, OPT_MASK },
	{ "min-area", required_argument, NULL, OPT_MIN_AREA },
	{ "max-area", required_argument, NULL, OPT_MAX_AREA },
	VG_MODEL_OPTIONS,
	VG_CLASSIFY_OPTIONS,
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "node", required_argument, NULL, OPT_NODE },
	{ "auth-token", required_argument, NULL, OPT_AUTH_TOKEN },
	{ "data", required_argument, NULL, OPT_DATA },
	{ "retain-days", required_argument, NULL, OPT_RETAIN_DAYS },
	{ "max-storage", required_argument, NULL, OPT_MAX_STORAGE },
	{ "clips", required_argument, NULL, OPT_CLIPS },
	{ "event-clips", no_argument, NULL, OPT_EVENT_CLIPS },
	{ "pre-capture", required_argument, NULL, OPT_PRE_CAPTURE },
	{ "post-capture", required_argument, NULL, OPT_POST_CAPTURE },
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
		"                          (default: the demo video " VG_DEMO_VIDEO ", looped);\n"
		"                          ${NAME} in it is replaced by the environment variable NAME, so that\n"
		"                          secrets stay out of the command line\n"
		"      --redact-param NAME hide this query parameter's value wherever the URI is shown, besides\n"
		"                          user:password@ and names containing token, password, pass, pwd, key,\n"
		"                          secret, auth, signature, or sig (repeatable)\n"
		"      --loop              start a file again when it ends\n"
		"      --no-pace           read files as fast as they decode instead of at their frame rate\n"
		"      --size WxH          capture size for /dev/videoN\n"
		"      --input-format F    capture format for /dev/videoN: mjpeg or yuyv422\n"
		"      --reconnect-max S   longest wait between reconnection attempts, seconds (default 5)\n"
		"\n"
		"Model:\n"
		"%s"
		"\n"
		"Second stage:\n"
		"%s"
		"\n"
		"Output:\n"
		"      --listen ADDR:PORT  where to serve HTTP (default 127.0.0.1:8080; a port alone is loopback;\n"
		"                          [::1]:PORT for IPv6; 0.0.0.0:PORT or :PORT for every interface,\n"
		"                          reachable by others: use --auth-token or auth: in --config)\n"
		"      --quality N         JPEG quality 1..100 (default 80)\n"
		"      --max-clients N     concurrent /video_feed viewers (default 100); one browser tab takes one\n"
		"      --max-event-clients N  concurrent /events connections (default 100); one per browser tab\n"
		"      --stall-timeout S   drop a stream or event client that has received no whole frame or event\n"
		"                          for S seconds (default 10); also the window --min-client-fps is measured in\n"
		"      --min-client-fps X  when the slots are full, a client below X whole frames per second (or half\n"
		"                          the stream's rate, if less) makes room for a new one (default 1; 0: off)\n"
		"      --max-conns-per-address N  open connections one client address may hold (default 32; 0: no limit)\n"
		"      --cors-origin ORIGIN  let pages from ORIGIN (scheme://host[:port], or *) read the stream,\n"
		"                          snapshots, events and stats; repeatable (default: no other site may)\n"
		"      --allowed-host NAME another Host name to answer to besides localhost, 127.0.0.1 and [::1]\n"
		"                          (DNS rebinding defence; * for any); repeatable\n"
		"      --auth-token FILE   require the token in FILE (Bearer header, ?token=, or the login page)\n"
		"      --trusted-proxy ADDR  a reverse proxy (address or CIDR) whose X-Forwarded-For names the client\n"
		"                          for the per-address limits; repeatable\n"
		"      --fps N             output frame-rate cap; for /dev/videoN also the capture rate\n"
		"      --json              print one JSON event per output frame on stdout\n"
		"      --privacy MODE      hide people on everything that shows the frame (stream, snapshots):\n"
		"                          blur (pixelated beyond recognition), fill or fill:RRGGBB (a flat\n"
		"                          colour, default black); a segmentation model hides its foreground\n"
		"                          pixels, a detector the boxes of its 'person' class\n"
		"      --privacy-classes A,B  the classes --privacy hides instead (names or ids)\n"
		"\n", vg_model_options_help, vg_classify_options_help);
	fputs("Tracking:\n"
		"      --zone NAME:X1,Y1,X2,Y2,X3,Y3,...  a zone: a polygon in coordinates of 0..1 (y down); an object\n"
		"                          is in it when the bottom centre of its box is; counted per label; repeatable\n"
		"      --line NAME:X1,Y1,X2,Y2  a counting line from (X1,Y1) to (X2,Y2); an object crossing it from\n"
		"                          its left to its right (as seen on screen) goes \"in\", the other way \"out\";\n"
		"                          repeatable\n"
		"      --no-track          no tracking: detections get no track_id (and zones and lines cannot work)\n"
		"      --mask X1,Y1,X2,Y2,X3,Y3,...  an object mask: detections whose box's bottom centre is in this\n"
		"                          polygon are ignored (not shown, tracked or counted); repeatable\n"
		"      --min-area LABEL:F, --max-area LABEL:F  ignore LABEL's detections smaller / larger than F of\n"
		"                          the frame's area (0..1; LABEL * for every label without its own); repeatable\n"
		"\n", out);
	fputs("Events (one per tracked object, at /api/events):\n"
		"      --data DIR          keep events, their snapshots and the hourly counts in DIR (default:\n"
		"                          $XDG_DATA_HOME/vigil or ~/.local/share/vigil)\n"
		"      --clips DIR         record a clip of every event into DIR/CAMERA/ID.mp4 (default folder:\n"
		"                          DATA/clips; a configuration's cameras record with event_clips: true)\n"
		"      --pre-capture S, --post-capture S  seconds a clip starts before its event and goes on after\n"
		"                          it (default 5 and 5)\n"
		"      --retain-days D     forget events, snapshots and clips older than D days (default 10)\n"
		"      --max-storage GB    at most this many GiB of snapshots and clips, the oldest go first\n"
		"                          (default 10)\n"
		"\n", out);
	fputs(
		"Configuration:\n"
		"      --config FILE       serve the cameras of a YAML configuration file (see the README, and\n"
		"                          vigil check-config FILE); camera and HTTP options then go in the file\n"
		"      --node NAME         with --config: run the cameras assigned to node NAME\n"
		"\n"
		"  -v, --verbose           log more (debug)\n"
		"  -q, --quiet             log errors only\n"
		"  -h, --help              show this help\n", out);
}

const char vg_model_options_help[] =
	"  -m, --model FILE        TensorFlow Lite (.tflite), TensorFlow.js (model.json), frozen GraphDef (.pb),\n"
	"                          SavedModel (its folder) or Keras (.h5, .keras); without it frames are\n"
	"                          streamed as they are\n"
	"      --sidecar FILE      the model's settings: preprocessing, decoder, labels, threshold (default:\n"
	"                          the model's path with its extension replaced by .vigil.json, else with\n"
	"                          .vigil.json appended, if present; \"none\" to use none)\n"
	"      --labels FILE       class names: one per line, or \"ID NAME\" lines (default: packed in the model)\n"
	"      --threads N         inference threads (default 1)\n"
	"      --threshold X       minimum score 0..1 (default: the model's settings, else 0.5; classifiers 0.1;\n"
	"                          movenet 0.3)\n"
	"      --classes A,B,...   keep only these classes (names or ids)\n"
	"      --max-detections N  at most N per frame (default 100)\n"
	"      --top-k N           classifiers: how many classes to report (default 5);\n"
	"                          centernet-raw: heatmap peaks to decode (default 100)\n"
	"      --resize MODE       stretch (default) or letterbox (keep the aspect ratio)\n"
	"      --mean R,G,B        float models: subtracted from pixel values (default 127.5)\n"
	"      --std R,G,B         float models: pixel values are divided by it (default 127.5)\n"
	"      --bgr               feed channels in BGR order\n"
	"      --decoder NAME      auto (default), postprocessed, classifier, movenet, centernet,\n"
	"                          centernet-raw, nanodet, blazeface, ssd-priorbox, yolox, yolov5,\n"
	"                          yolov8, yolo-fastestv2, ultraface, ssd-anchors, nms-rows\n"
	"                          or segmentation\n"
	"      --no-state          video models with state (LSTM): every frame starts from the initial\n"
	"                          state instead of the previous frame's\n"
	"      --input-size WxH    the input size of models that leave it unknown (TensorFlow graphs whose\n"
	"                          input is [-1, -1, -1, 3]); also the sidecar's \"input_size\": [W, H]\n"
	"  Options override the sidecar, which overrides built-in defaults for the models vigil\n"
	"  knows by name (centernet.json, nanodet.json, blazeface*.json, handdetect.json, *movenet*,\n"
	"  opencv_face_detector*.pb).\n";

const char vg_classify_options_help[] =
	"      --classify MODEL    a classifier run on each detection's crop (largest first); its best class\n"
	"                          is attached to the detection as an attribute (events, JSON lines, drawn\n"
	"                          under the label). Its settings: built-in defaults (fer2013_mini_XCEPTION*)\n"
	"                          and its sidecar (mean, std, color, labels, \"crop_margin\": fraction of the\n"
	"                          box added on each side, default 0); one-channel inputs get grey crops\n"
	"      --classify-classes A,B  classify only detections of these classes (names or ids; default all)\n"
	"      --classify-max N    at most N crops per frame, the largest (default 8)\n"
	"      --classify-sidecar FILE  the classifier's settings (default: its own sidecar; \"none\")\n";

int vg_classify_option(int c, const char *arg, vg_classifier_options *o, char *err, size_t errlen)
{
	long n;
	switch (c) {
	case OPT_CLASSIFY:
		o->model = arg;
		return 1;
	case OPT_CLASSIFY_CLASSES:
		o->classes = arg;
		return 1;
	case OPT_CLASSIFY_MAX:
		if (vg_parse_int(arg, 1, VG_MAX_DETECTIONS, &n) < 0) {
			snprintf(err, errlen, "--classify-max expects a whole number from 1 to %d, not '%s'",
				 VG_MAX_DETECTIONS, arg);
			return -1;
		}
		o->max_crops = (int)n;
		return 1;
	case OPT_CLASSIFY_SIDECAR:
		o->sidecar = arg;
		return 1;
	default:
		return 0;
	}
}

int vg_classify_options_check(const vg_classifier_options *o, char *err, size_t errlen)
{
	if (!o->model && (o->classes || o->max_crops || o->sidecar)) {
		snprintf(err, errlen, "--classify-classes, --classify-max and --classify-sidecar need --classify MODEL");
		return -1;
	}
	return 0;
}

int vg_redact_option(const char *name, char *err, size_t errlen)
{
	int rc = vg_redact_add_param(name);
	if (rc == -EINVAL)
		snprintf(err, errlen, "--redact-param expects a parameter name, not an empty string");
	else if (rc == -ENOSPC)
		snprintf(err, errlen, "too many --redact-param options (at most 32)");
	else if (rc < 0)
		snprintf(err, errlen, "--redact-param: out of memory");
	return rc < 0 ? -1 : 0;
}

int vg_parse_int(const char *s, long lo, long hi, long *out)
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

static int parse_triple(const char *s, float out[3])
{
	float v[3];
	char tail;
	int n = sscanf(s, "%f,%f,%f%c", &v[0], &v[1], &v[2], &tail);
	if (n == 3) {
		memcpy(out, v, sizeof v);
		return 0;
	}
	if (sscanf(s, "%f%c", &v[0], &tail) == 1) {
		out[0] = out[1] = out[2] = v[0];
		return 0;
	}
	return -1;
}

int vg_model_option(int c, const char *arg, vg_detector_options *d, char *err, size_t errlen)
{
	long n;
	double x;
	switch (c) {
	case 'm':
	case OPT_MODEL:
		d->model = arg;
		return 1;
	case OPT_LABELS:
		d->labels = arg;
		return 1;
	case OPT_THREADS:
		if (vg_parse_int(arg, 1, 64, &n) < 0) {
			snprintf(err, errlen, "--threads expects a whole number from 1 to 64, not '%s'", arg);
			return -1;
		}
		d->threads = (int)n;
		return 1;
	case OPT_THRESHOLD:
		if (parse_double(arg, 0.0001, 1, &x) < 0) {
			snprintf(err, errlen, "--threshold expects a score between 0 and 1, not '%s'", arg);
			return -1;
		}
		d->threshold = (float)x;
		return 1;
	case OPT_CLASSES:
		d->classes = arg;
		return 1;
	case OPT_MAX_DETECTIONS:
		if (vg_parse_int(arg, 1, VG_MAX_DETECTIONS, &n) < 0) {
			snprintf(err, errlen, "--max-detections expects a whole number from 1 to %d, not '%s'",
				 VG_MAX_DETECTIONS, arg);
			return -1;
		}
		d->max_detections = (int)n;
		return 1;
	case OPT_TOP_K:
		if (vg_parse_int(arg, 1, VG_MAX_DETECTIONS, &n) < 0) {
			snprintf(err, errlen, "--top-k expects a whole number from 1 to %d, not '%s'", VG_MAX_DETECTIONS,
				 arg);
			return -1;
		}
		d->top_k = (int)n;
		return 1;
	case OPT_RESIZE:
		if (!strcmp(arg, "stretch"))
			d->pre.resize = VG_RESIZE_STRETCH;
		else if (!strcmp(arg, "letterbox"))
			d->pre.resize = VG_RESIZE_LETTERBOX;
		else {
			snprintf(err, errlen, "--resize expects stretch or letterbox, not '%s'", arg);
			return -1;
		}
		d->resize_set = 1;
		return 1;
	case OPT_MEAN:
	case OPT_STD: {
		float *dst = c == OPT_MEAN ? d->pre.mean : d->pre.std;
		if (parse_triple(arg, dst) < 0 || (c == OPT_STD && !(dst[0] != 0 && dst[1] != 0 && dst[2] != 0))) {
			snprintf(err, errlen, "--%s expects one number or three separated by commas%s, not '%s'",
				 c == OPT_MEAN ? "mean" : "std", c == OPT_STD ? " (none zero)" : "", arg);
			return -1;
		}
		if (!d->pre.has_norm) {
			/* Giving one of the two keeps the other at its default (or the model's sidecar's). */
			float *other = c == OPT_MEAN ? d->pre.std : d->pre.mean;
			other[0] = other[1] = other[2] = 127.5f;
		}
		d->pre.has_norm = 1;
		*(c == OPT_MEAN ? &d->mean_set : &d->std_set) = 1;
		return 1;
	}
	case OPT_BGR:
		d->pre.bgr = 1;
		return 1;
	case OPT_DECODER:
		d->decoder = arg;
		return 1;
	case OPT_REFERENCE:
		d->reference_only = 1;
		return 1;
	case OPT_SIDECAR:
		d->sidecar = arg;
		return 1;
	case OPT_NO_STATE:
		d->no_state = 1;
		return 1;
	case OPT_INPUT_SIZE: {
		int w, h;
		char tail;
		if (sscanf(arg, "%dx%d%c", &w, &h, &tail) != 2 || w <= 0 || h <= 0 || w > 8192 || h > 8192) {
			snprintf(err, errlen, "--input-size expects WIDTHxHEIGHT from 1x1 to 8192x8192, e.g. 300x300, not '%s'",
				 arg);
			return -1;
		}
		d->input_w = w;
		d->input_h = h;
		return 1;
	}
	}
	return 0;
}

/*
 * The demo's model, as scripts/fetch-demo-assets caches it:
 * ${VIGIL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil}/human-models-3.0.4/models/centernet.json
 * (empty variables count as unset, as in the script). 0, or -1 with buf
 * empty when no variable gives a place, or the path does not fit.
 */
static int demo_model_path(char *buf, size_t len)
{
	const char *vigil = getenv("VIGIL_CACHE"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	int n;
	if (vigil && *vigil)
		n = snprintf(buf, len, "%s/" VG_DEMO_MODEL, vigil);
	else if (xdg && *xdg)
		n = snprintf(buf, len, "%s/vigil/" VG_DEMO_MODEL, xdg);
	else if (home && *home)
		n = snprintf(buf, len, "%s/.cache/vigil/" VG_DEMO_MODEL, home);
	else
		n = -1;
	if (n < 0 || (size_t)n >= len) {
		buf[0] = 0;
		return -1;
	}
	return 0;
}

/* Adds one entry of a repeatable HTTP option, checked. 0 or -1. */
static int add_list_entry(vg_serve_options *opt, int c, const char *arg, char *err, size_t errlen)
{
	vg_http_options *h = &opt->http;
	int *count = c == OPT_CORS_ORIGIN ? &h->ncors_origins : c == OPT_ALLOWED_HOST ? &h->nallowed_hosts
										: &h->ntrusted_proxies;
	const char *name = c == OPT_CORS_ORIGIN ? "--cors-origin" : c == OPT_ALLOWED_HOST ? "--allowed-host"
											 : "--trusted-proxy";
	if (*count >= VG_MAX_LIST_OPTION) {
		snprintf(err, errlen, "%s may be given at most %d times", name, VG_MAX_LIST_OPTION);
		return -1;
	}
	switch (c) {
	case OPT_CORS_ORIGIN:
		/* An origin is scheme://host[:port]; a path, or a character that cannot be in a header, is a mistake. */
		if (strcmp(arg, "*") != 0 &&
		    ((strncmp(arg, "http://", 7) != 0 && strncmp(arg, "https://", 8) != 0) ||
		     strchr(strstr(arg, "://") + 3, '/') || strpbrk(arg, " \t\r\n,") || strlen(arg) > 255)) {
			snprintf(err, errlen, "--cors-origin expects an origin such as https://example.com:8443 or *, not '%s'",
				 arg);
			return -1;
		}
		opt->cors_origins[*count] = arg;
		break;
	case OPT_ALLOWED_HOST:
		if (!*arg || strpbrk(arg, " \t\r\n/:,") || strlen(arg) > 255) {
			snprintf(err, errlen, "--allowed-host expects a host name without port, such as cam.example.com, not '%s'",
				 arg);
			return -1;
		}
		opt->allowed_hosts[*count] = arg;
		break;
	default:
		if (vg_peer_net_parse(arg, &opt->trusted_proxies[*count]) != 0) {
			snprintf(err, errlen, "--trusted-proxy expects an IP address or CIDR block such as 10.0.0.0/8, not '%s'",
				 arg);
			return -1;
		}
		break;
	}
	(*count)++;
	return 0;
}

/* --min-area / --max-area LABEL:F: the label's entry, made on first use, gets its bound. */
static int add_area(vg_serve_options *opt, int max, const char *arg, char *err, size_t errlen)
{
	const char *flag = max ? "--max-area" : "--min-area";
	const char *colon = strrchr(arg, ':');
	double f;
	if (!colon || colon == arg || (size_t)(colon - arg) >= sizeof opt->areas[0].label ||
	    parse_double(colon + 1, 0, 1, &f) < 0 || f <= 0) {
		snprintf(err, errlen, "%s expects LABEL:FRACTION (a fraction of the frame's area above 0, at most 1), not '%s'",
			 flag, arg);
		return -1;
	}
	vg_scene_options *s = &opt->pipeline.scene;
	size_t len = (size_t)(colon - arg);
	int i = 0;
	while (i < s->nareas && !(strlen(opt->areas[i].label) == len && !strncmp(opt->areas[i].label, arg, len)))
		i++;
	if (i == s->nareas) {
		if (s->nareas == VG_MAX_AREA_FILTERS) {
			snprintf(err, errlen, "%s: at most %d labels per camera", flag, VG_MAX_AREA_FILTERS);
			return -1;
		}
		memset(&opt->areas[i], 0, sizeof opt->areas[i]);
		memcpy(opt->areas[i].label, arg, len);
		s->nareas++;
	}
	*(max ? &opt->areas[i].max_area : &opt->areas[i].min_area) = (float)f;
	vg_area_filter *a = &opt->areas[i];
	if (a->min_area > 0 && a->max_area > 0 && a->min_area > a->max_area) {
		snprintf(err, errlen, "%s: '%s' would keep nothing: its --min-area %g is above its --max-area %g", flag,
			 a->label, (double)a->min_area, (double)a->max_area);
		return -1;
	}
	return 0;
}

/* --zone and --line: parsed, and their names kept apart (a zone and a line may share one). */
static int add_zone_or_line(vg_serve_options *opt, int zone, const char *arg, char *err, size_t errlen)
{
	vg_scene_options *s = &opt->pipeline.scene;
	int *n = zone ? &s->nzones : &s->nlines;
	int max = zone ? VG_MAX_ZONES : VG_MAX_LINES;
	const char *flag = zone ? "--zone" : "--line";
	if (*n >= max) {
		snprintf(err, errlen, "%s: at most %d per camera", flag, max);
		return -1;
	}
	char why[256];
	const char *name;
	if (zone) {
		if (vg_zone_parse(arg, &opt->zones[*n], why, sizeof why) < 0) {
			snprintf(err, errlen, "%s %s", flag, why);
			return -1;
		}
		name = opt->zones[*n].name;
	} else {
		if (vg_line_parse(arg, &opt->lines[*n], why, sizeof why) < 0) {
			snprintf(err, errlen, "%s %s", flag, why);
			return -1;
		}
		name = opt->lines[*n].name;
	}
	for (int i = 0; i < *n; i++)
		if (!strcmp(name, zone ? opt->zones[i].name : opt->lines[i].name)) {
			snprintf(err, errlen, "%s: two %ss named '%s'", flag, zone ? "zone" : "line", name);
			return -1;
		}
	(*n)++;
	return 0;
}

/*
 * Applies one option (its getopt code) with its argument to opt: 0, or -1
 * with a message in err. Shared by the command line and the configuration
 * file, so that both accept and refuse the same values.
 */
static int apply_code(vg_serve_options *opt, int c, const char *arg, char *err, size_t errlen)
{
	vg_source_options *src = &opt->pipeline.source;
	long n;
	double d;
	int m = vg_model_option(c, arg, &opt->detector, err, errlen);
	if (m == 0)
		m = vg_classify_option(c, arg, &opt->classifier, err, errlen);
	if (m != 0)
		return m < 0 ? -1 : 0;
	switch (c) {
	case 's':
		src->uri = arg;
		return 0;
	case OPT_PRIVACY:
		if (vg_privacy_parse(arg, &opt->pipeline.privacy, err, errlen) < 0)
			return -1;
		return 0;
	case OPT_PRIVACY_CLASSES:
		opt->pipeline.privacy.classes = arg;
		return 0;
	case OPT_ZONE:
	case OPT_LINE:
		return add_zone_or_line(opt, c == OPT_ZONE, arg, err, errlen);
	case OPT_NO_TRACK:
		opt->pipeline.scene.tracking = 0;
		return 0;
	case OPT_MASK: {
		vg_scene_options *s = &opt->pipeline.scene;
		char why[256];
		if (s->nmasks == VG_MAX_MASKS) {
			snprintf(err, errlen, "--mask: at most %d per camera", VG_MAX_MASKS);
			return -1;
		}
		if (vg_polygon_parse(arg, &opt->masks[s->nmasks], why, sizeof why) < 0) {
			snprintf(err, errlen, "--mask %s", why);
			return -1;
		}
		s->nmasks++;
		return 0;
	}
	case OPT_MIN_AREA:
	case OPT_MAX_AREA:
		return add_area(opt, c == OPT_MAX_AREA, arg, err, errlen);
	case OPT_DATA:
	case OPT_CLIPS:
		if (!*arg) {
			snprintf(err, errlen, "--%s expects a folder", c == OPT_DATA ? "data" : "clips");
			return -1;
		}
		*(c == OPT_DATA ? &opt->data_dir : &opt->clips_dir) = arg;
		/* The command line's one camera records when told where. */
		if (c == OPT_CLIPS)
			opt->pipeline.clips = 1;
		return 0;
	case OPT_PRE_CAPTURE:
	case OPT_POST_CAPTURE:
		if (parse_double(arg, 0, 300, &d) < 0) {
			snprintf(err, errlen, "--%s expects seconds from 0 to 300, not '%s'",
				 c == OPT_PRE_CAPTURE ? "pre-capture" : "post-capture", arg);
			return -1;
		}
		*(c == OPT_PRE_CAPTURE ? &opt->pipeline.clip_pre_s : &opt->pipeline.clip_post_s) = d;
		return 0;
	case OPT_RETAIN_DAYS:
		if (parse_double(arg, 0.001, 36500, &d) < 0) {
			snprintf(err, errlen, "--retain-days expects days from 0.001 to 36500, not '%s'", arg);
			return -1;
		}
		opt->retain_days = d;
		return 0;
	case OPT_MAX_STORAGE:
		if (parse_double(arg, 0.001, 1e6, &d) < 0) {
			snprintf(err, errlen, "--max-storage expects GiB from 0.001 to 1000000, not '%s'", arg);
			return -1;
		}
		opt->max_storage_bytes = (int64_t)(d * 1073741824.0);
		return 0;
	case OPT_LOOP:
		src->loop = 1;
		return 0;
	case OPT_NO_PACE:
		src->pace = 0;
		return 0;
	case OPT_SIZE: {
		int w, h;
		char tail;
		if (sscanf(arg, "%dx%d%c", &w, &h, &tail) != 2 || w <= 0 || h <= 0 || w > 16384 || h > 16384) {
			snprintf(err, errlen, "--size expects WIDTHxHEIGHT, e.g. 1280x720, not '%s'", arg);
			return -1;
		}
		src->width = w;
		src->height = h;
		return 0;
	}
	case OPT_INPUT_FORMAT:
		if (strcmp(arg, "mjpeg") != 0 && strcmp(arg, "yuyv422") != 0) {
			snprintf(err, errlen, "--input-format expects mjpeg or yuyv422, not '%s'", arg);
			return -1;
		}
		src->input_format = arg;
		return 0;
	case OPT_RECONNECT_MAX:
		if (parse_double(arg, 0.1, 3600, &d) < 0) {
			snprintf(err, errlen, "--reconnect-max expects seconds between 0.1 and 3600, not '%s'", arg);
			return -1;
		}
		src->reconnect_max_us = (int64_t)(d * 1e6);
		return 0;
	case OPT_LISTEN:
		opt->http.listen = arg;
		return 0;
	case OPT_QUALITY:
		if (vg_parse_int(arg, 1, 100, &n) < 0) {
			snprintf(err, errlen, "--quality expects a whole number from 1 to 100, not '%s'", arg);
			return -1;
		}
		opt->pipeline.quality = (int)n;
		return 0;
	case OPT_MAX_CLIENTS:
		if (vg_parse_int(arg, 1, 100000, &n) < 0) {
			snprintf(err, errlen, "--max-clients expects a whole number from 1 to 100000, not '%s'", arg);
			return -1;
		}
		opt->http.max_clients = (int)n;
		return 0;
	case OPT_MAX_EVENT_CLIENTS:
		if (vg_parse_int(arg, 1, 100000, &n) < 0) {
			snprintf(err, errlen, "--max-event-clients expects a whole number from 1 to 100000, not '%s'",
				 arg);
			return -1;
		}
		opt->http.max_event_clients = (int)n;
		return 0;
	case OPT_MAX_CONNS_PER_ADDRESS:
		if (vg_parse_int(arg, 0, 100000, &n) < 0) {
			snprintf(err, errlen,
				 "--max-conns-per-address expects a whole number from 0 (no limit) to 100000, not '%s'",
				 arg);
			return -1;
		}
		opt->http.max_conns_per_address = n == 0 ? -1 : (int)n;
		return 0;
	case OPT_STALL_TIMEOUT:
		if (parse_double(arg, 0.5, 3600, &d) < 0) {
			snprintf(err, errlen, "--stall-timeout expects seconds between 0.5 and 3600, not '%s'", arg);
			return -1;
		}
		opt->http.stall_timeout_us = (int64_t)(d * 1e6);
		return 0;
	case OPT_MIN_CLIENT_FPS:
		if (parse_double(arg, 0, 1000, &d) < 0) {
			snprintf(err, errlen, "--min-client-fps expects frames per second between 0 and 1000, not '%s'",
				 arg);
			return -1;
		}
		opt->http.min_client_fps = d;
		return 0;
	case OPT_CORS_ORIGIN:
	case OPT_ALLOWED_HOST:
	case OPT_TRUSTED_PROXY:
		if (add_list_entry(opt, c, arg, err, errlen) < 0)
			return -1;
		return 0;
	case OPT_FPS:
		if (parse_double(arg, 0.01, 1000, &d) < 0) {
			snprintf(err, errlen, "--fps expects frames per second between 0.01 and 1000, not '%s'", arg);
			return -1;
		}
		opt->pipeline.max_fps = d;
		src->fps = (int)(d + 0.5);
		return 0;
	case OPT_JSON:
		opt->json = 1;
		return 0;
	case OPT_REDACT_PARAM:
		if (vg_redact_option(arg, err, errlen) < 0)
			return -1;
		return 0;
	}
	snprintf(err, errlen, "unknown option");
	return -1;
}

void vg_serve_options_init(vg_serve_options *opt)
{
	memset(opt, 0, sizeof *opt);
	opt->pipeline.source.pace = 1;
	opt->pipeline.source.reconnect_max_us = 5000000;
	opt->pipeline.quality = 80;
	opt->http.listen = "127.0.0.1:8080";
	opt->http.max_clients = 100;
	opt->http.min_client_fps = VG_HTTP_DEFAULT_MIN_CLIENT_FPS;
	opt->http.cors_origins = opt->cors_origins;
	opt->http.allowed_hosts = opt->allowed_hosts;
	opt->http.trusted_proxies = opt->trusted_proxies;
	opt->log_level = VG_LOG_INFO;
	opt->pipeline.scene.tracking = 1;
	opt->pipeline.clip_pre_s = 5;
	opt->pipeline.clip_post_s = 5;
}

/* Options that take no value: the configuration file sets them with a boolean. */
static int set_flag(vg_serve_options *opt, int c, int on)
{
	switch (c) {
	case OPT_LOOP:
		opt->pipeline.source.loop = on;
		return 0;
	case OPT_NO_PACE:
		opt->pipeline.source.pace = !on;
		return 0;
	case OPT_JSON:
		opt->json = on;
		return 0;
	case OPT_BGR:
		opt->detector.pre.bgr = on;
		return 0;
	case OPT_REFERENCE:
		opt->detector.reference_only = on;
		return 0;
	case OPT_NO_STATE:
		opt->detector.no_state = on;
		return 0;
	case OPT_NO_TRACK:
		opt->pipeline.scene.tracking = !on;
		return 0;
	case OPT_EVENT_CLIPS:
		opt->pipeline.clips = on;
		return 0;
	}
	return -1;
}

int vg_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "true", "yes", "on" }, *const no[] = { "false", "no", "off" };
	for (size_t i = 0; i < 3; i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = 1;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/* name, spelled with '-' or '_', equals the long option's name. */
static int same_option_name(const char *name, const char *option)
{
	for (; *name && *option; name++, option++)
		if (*name != *option && !(*name == '_' && *option == '-'))
			return 0;
	return !*name && !*option;
}

int vg_serve_option_apply(vg_serve_options *opt, const char *name, const char *value, char *err, size_t errlen)
{
	for (const struct option *o = long_options; o->name; o++) {
		if (!same_option_name(name, o->name))
			continue;
		/* These concern the command line itself, not a camera or the server. */
		if (o->val == OPT_CONFIG || o->val == OPT_NODE || o->val == OPT_AUTH_TOKEN || o->val == 'v' || o->val == 'q' ||
		    o->val == 'h')
			break;
		if (o->has_arg == no_argument) {
			int on;
			if (vg_parse_bool(value, &on) < 0) {
				snprintf(err, errlen, "--%s expects true or false (yes/no, on/off), not '%s'", o->name,
					 value);
				return -1;
			}
			return set_flag(opt, o->val, on);
		}
		return apply_code(opt, o->val, value, err, errlen);
	}
	snprintf(err, errlen, "unknown option '%s'", name);
	return -1;
}

int vg_serve_options_check(const vg_serve_options *opt, char *err, size_t errlen)
{
	if (vg_classify_options_check(&opt->classifier, err, errlen) < 0)
		return -1;
	if ((opt->pipeline.privacy.mode || opt->pipeline.privacy.classes) &&
	    (!opt->pipeline.privacy.mode || (!opt->detector.model && opt->pipeline.source.uri))) {
		snprintf(err, errlen, opt->pipeline.privacy.mode ? "--privacy needs a model (--model) that finds what it hides"
								 : "--privacy-classes needs --privacy blur|fill");
		return -1;
	}
	const vg_scene_options *sc = &opt->pipeline.scene;
	if ((sc->nmasks || sc->nareas) && opt->pipeline.source.uri && !opt->detector.model) {
		snprintf(err, errlen, "--%s filters a model's detections: it needs a model (--model)",
			 sc->nmasks ? "mask" : "min-area/--max-area");
		return -1;
	}
	if ((sc->nzones || sc->nlines) && opt->pipeline.source.uri && (!opt->detector.model || !sc->tracking)) {
		snprintf(err, errlen, "--%s follows tracked objects: it needs a model (--model) and tracking (not --no-track)",
			 sc->nzones ? "zone" : "line");
		return -1;
	}
	if (opt->pipeline.clips && opt->pipeline.source.uri && (!opt->detector.model || !sc->tracking)) {
		snprintf(err, errlen, "--clips records the events of tracked objects: it needs a model (--model) and "
				      "tracking (not --no-track)");
		return -1;
	}
	if (opt->classifier.model && !opt->detector.model && opt->pipeline.source.uri) {
		snprintf(err, errlen, "--classify needs a detector (--model) whose detections it classifies");
		return -1;
	}
	return 0;
}

int vg_serve_options_parse(vg_serve_options *opt, int argc, char **argv, char *err, size_t errlen)
{
	vg_serve_options_init(opt);
	vg_source_options *src = &opt->pipeline.source;
	/* The first option that, with --config, belongs in the file instead. */
	int in_file = 0;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:m:vqh", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_CONFIG:
			opt->config_path = optarg;
			break;
		case OPT_NODE:
			opt->node = optarg;
			break;
		case OPT_DATA:
		case OPT_CLIPS:
			/* Where this process keeps its events: beside --config too, over the file's data: and clips:. */
			if (apply_code(opt, c, optarg, err, errlen) < 0)
				return -1;
			break;
		case OPT_AUTH_TOKEN:
			/* Read by serve itself, so that the token never sits in the options; it joins the file's auth:. */
			opt->auth_token_file = optarg;
			break;
		case 'v':
			opt->log_level = VG_LOG_DEBUG;
			opt->log_level_set = 1;
			break;
		case 'q':
			opt->log_level = VG_LOG_ERROR;
			opt->log_level_set = 1;
			break;
		case 'h':
			vg_serve_usage(stdout);
			return 1;
		case ':':
			snprintf(err, errlen, "option '%s' needs a value", argv[optind - 1]);
			return -1;
		case '?':
			snprintf(err, errlen, "unknown option '%s' (see vigil serve --help)", argv[optind - 1]);
			return -1;
		default:
			if (!in_file)
				in_file = c;
			if (apply_code(opt, c, optarg, err, errlen) < 0)
				return -1;
			break;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s' (see vigil serve --help)", argv[optind]);
		return -1;
	}
	if (opt->config_path) {
		if (in_file) {
			const char *name = "?";
			for (const struct option *o = long_options; o->name; o++)
				if (o->val == in_file || (in_file == 's' && o->val == 's') ||
				    (in_file == 'm' && o->val == OPT_MODEL)) {
					name = o->name;
					break;
				}
			snprintf(err, errlen,
				 "--%s cannot be combined with --config: put it in the configuration file %s instead",
				 name, opt->config_path);
			return -1;
		}
		return 0;
	}
	if (opt->node) {
		snprintf(err, errlen, "--node needs --config FILE (nodes are declared in a configuration file)");
		return -1;
	}
	if (vg_serve_options_check(opt, err, errlen) < 0)
		return -1;
	/*
	 * Neither --source nor --model: the demo, CenterNet on the pedestrian
	 * video. --model alone: that model on the demo video. --source alone:
	 * the source streamed without a model, as before.
	 */
	if (!src->uri && !opt->detector.model) {
		static char demo_model[4096];
		const char *missing = NULL;
		if (access(VG_DEMO_VIDEO, R_OK) != 0)
			missing = VG_DEMO_VIDEO;
		else if (demo_model_path(demo_model, sizeof demo_model) < 0)
			missing = "model (no VIGIL_CACHE, XDG_CACHE_HOME or HOME to find its cache folder)";
		else if (access(demo_model, R_OK) != 0)
			missing = demo_model;
		if (missing) {
			snprintf(err, errlen,
				 "no --source or --model given and the demo's %s is missing "
				 "(run `make demo`, or scripts/fetch-demo-assets)",
				 missing);
			return -1;
		}
		opt->detector.model = demo_model;
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
	if (opt->detector.model)
		opt->pipeline.detector = &opt->detector;
	if (opt->classifier.model)
		opt->pipeline.classifier = &opt->classifier;
	return 0;
}
