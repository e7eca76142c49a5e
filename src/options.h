#ifndef VG_OPTIONS_H
#define VG_OPTIONS_H

#include <stddef.h>

#include "core/log.h"
#include "http/server.h"
#include "pipeline.h"

/* The demo's video, from Debian's opencv-doc package. */
#define VG_DEMO_VIDEO "/usr/share/doc/opencv-doc/examples/data/vtest.avi"

typedef struct vg_serve_options {
	vg_pipeline_options pipeline;
	vg_http_options http;
	enum vg_log_level log_level;
	int json;
} vg_serve_options;

/*
 * Parses the arguments of `vigil serve` (argv[0] is "serve"). Returns 0, 1
 * when --help was printed, or -1 with a one-line message in err.
 */
int vg_serve_options_parse(vg_serve_options *opt, int argc, char **argv, char *err, size_t errlen);

void vg_serve_usage(FILE *out);

#endif
