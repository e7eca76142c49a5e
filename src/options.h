#ifndef VG_OPTIONS_H
#define VG_OPTIONS_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

#include "core/log.h"
#include "http/server.h"
#include "pipeline.h"

/* The demo's video, from Debian's opencv-doc package. */
#define VG_DEMO_VIDEO "/usr/share/doc/opencv-doc/examples/data/vtest.avi"

/* Entries a repeatable option (--cors-origin, --allowed-host, --trusted-proxy) may be given. */
#define VG_MAX_LIST_OPTION 32
/* Zones and lines one camera may have. */
#define VG_MAX_ZONES 16
#define VG_MAX_LINES 16
/* Object masks and labels with size limits one camera may have. */
#define VG_MAX_MASKS 16
#define VG_MAX_AREA_FILTERS 32

typedef struct vg_serve_options {
	vg_pipeline_options pipeline;
	vg_detector_options detector;
	vg_classifier_options classifier;
	vg_http_options http;
	/* What the lists in http point into. */
	const char *cors_origins[VG_MAX_LIST_OPTION];
	const char *allowed_hosts[VG_MAX_LIST_OPTION];
	vg_peer_net trusted_proxies[VG_MAX_LIST_OPTION];
	/* --zone and --line; pipeline.scene points at copies of them made by the configuration. */
	vg_zone_def zones[VG_MAX_ZONES];
	vg_line_def lines[VG_MAX_LINES];
	vg_polygon masks[VG_MAX_MASKS];                 /* --mask */
	vg_area_filter areas[VG_MAX_AREA_FILTERS];      /* --min-area, --max-area: one entry per label */
	enum vg_log_level log_level;
	int log_level_set;       /* -v or -q was given */
	int json;
	const char *config_path;   /* --config FILE: the cameras and settings come from it */
	const char *node;          /* --node NAME: serve that node's cameras */
	const char *auth_token_file;  /* --auth-token: the file holding the bearer token, or NULL */
	/* The object events' store (store/event_store.h): --data, --retain-days, --max-storage; 0 or NULL: defaults. */
	const char *data_dir;
	const char *clips_dir;   /* --clips: the clips' folder (NULL: DATA/clips) */
	double retain_days;
	int64_t max_storage_bytes;
} vg_serve_options;

/*
 * Parses the arguments of `vigil serve` (argv[0] is "serve"). Returns 0, 1
 * when --help was printed, or -1 with a one-line message in err.
 */
int vg_serve_options_parse(vg_serve_options *opt, int argc, char **argv, char *err, size_t errlen);

void vg_serve_usage(FILE *out);

/* The defaults of every serve option, as if none was given. */
void vg_serve_options_init(vg_serve_options *opt);

/*
 * Applies one option of serve by its long name (with '-' or '_': "max-detections"
 * or "max_detections") and its value as text, exactly as the command line would;
 * options that take no value take a boolean (true/false, yes/no, on/off).
 * Returns 0, or -1 with a message in err (which starts with "--NAME ").
 * --redact-param registers its name process-wide, as on the command line.
 */
int vg_serve_option_apply(vg_serve_options *opt, const char *name, const char *value, char *err, size_t errlen);

/* The checks across options (a classifier needs a detector, ...): 0, or -1 with a message. */
int vg_serve_options_check(const vg_serve_options *opt, char *err, size_t errlen);

/* true/yes/on -> 1, false/no/off -> 0 (any case): 0, or -1 for anything else. */
int vg_parse_bool(const char *s, int *out);

/* Option codes of the model options (getopt_long values), shared by serve, detect, bench and inspect. */
enum {
	OPT_MODEL = 256,
	OPT_LABELS,
	OPT_THREADS,
	OPT_THRESHOLD,
	OPT_CLASSES,
	OPT_MAX_DETECTIONS,
	OPT_TOP_K,
	OPT_RESIZE,
	OPT_MEAN,
	OPT_STD,
	OPT_BGR,
	OPT_DECODER,
	OPT_REFERENCE,
	OPT_SIDECAR,
	OPT_NO_STATE,
	OPT_CLASSIFY,
	OPT_CLASSIFY_CLASSES,
	OPT_CLASSIFY_MAX,
	OPT_CLASSIFY_SIDECAR,
	OPT_INPUT_SIZE,
};

/* Their entries for a struct option table. */
#define VG_MODEL_OPTIONS                                                   \
	{ "model", required_argument, NULL, OPT_MODEL },                   \
	{ "labels", required_argument, NULL, OPT_LABELS },                 \
	{ "threads", required_argument, NULL, OPT_THREADS },               \
	{ "threshold", required_argument, NULL, OPT_THRESHOLD },           \
	{ "classes", required_argument, NULL, OPT_CLASSES },               \
	{ "max-detections", required_argument, NULL, OPT_MAX_DETECTIONS }, \
	{ "top-k", required_argument, NULL, OPT_TOP_K },                   \
	{ "resize", required_argument, NULL, OPT_RESIZE },                 \
	{ "mean", required_argument, NULL, OPT_MEAN },                     \
	{ "std", required_argument, NULL, OPT_STD },                       \
	{ "bgr", no_argument, NULL, OPT_BGR },                             \
	{ "decoder", required_argument, NULL, OPT_DECODER },               \
	{ "reference-kernels", no_argument, NULL, OPT_REFERENCE },         \
	{ "sidecar", required_argument, NULL, OPT_SIDECAR },               \
	{ "no-state", no_argument, NULL, OPT_NO_STATE },                   \
	{ "input-size", required_argument, NULL, OPT_INPUT_SIZE }

/* The second-stage classifier's options (serve and detect). */
#define VG_CLASSIFY_OPTIONS                                                    \
	{ "classify", required_argument, NULL, OPT_CLASSIFY },                 \
	{ "classify-classes", required_argument, NULL, OPT_CLASSIFY_CLASSES }, \
	{ "classify-max", required_argument, NULL, OPT_CLASSIFY_MAX },         \
	{ "classify-sidecar", required_argument, NULL, OPT_CLASSIFY_SIDECAR }

extern const char vg_classify_options_help[];

/* Handles one classifier option: 1 if c was one, 0 if not, -1 with a message in err on a bad value. */
int vg_classify_option(int c, const char *arg, vg_classifier_options *o, char *err, size_t errlen);

/* A classifier option given without --classify: -1 with a message, else 0. */
int vg_classify_options_check(const vg_classifier_options *o, char *err, size_t errlen);

/* The help text of the model options. */
extern const char vg_model_options_help[];

/*
 * Handles one model option (c from getopt_long, or 'm' for -m). Returns 1 if
 * c was one, 0 if not, -1 with a message in err on a bad value.
 */
int vg_model_option(int c, const char *arg, vg_detector_options *d, char *err, size_t errlen);

/* Handles --redact-param NAME (serve and detect): 0, or -1 with a message in err. */
int vg_redact_option(const char *name, char *err, size_t errlen);

/* Parses a whole number in [lo, hi]; 0 or -1. */
int vg_parse_int(const char *s, long lo, long hi, long *out);

#endif
