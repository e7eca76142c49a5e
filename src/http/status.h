#ifndef VG_HTTP_STATUS_H
#define VG_HTTP_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "core/stats.h"

/*
 * What /api/stats, /metrics and /healthz say, rendered from the shared
 * counters. These are pure functions of their arguments (the stats are read
 * with atomic loads), so tests can feed them any numbers.
 */

/* A frame older than this makes /healthz unhealthy. */
#define VG_HEALTH_MAX_AGE_US 5000000

/*
 * The /api/stats document, one line of JSON. Returns a malloc'd string the
 * caller frees, or NULL if out of memory.
 */
char *vg_status_json(const vg_stats *stats, int64_t now_mono_us);

/*
 * The same for a server of n cameras: the HTTP counters from stats, each
 * camera's from cams[i] under "cameras" (in this order, with names[i]); the
 * first camera's sections also at the top, where one-camera clients read them.
 * vg_status_json is this with one camera named "default" whose stats are stats.
 */
char *vg_status_json_cameras(const vg_stats *stats, const char *const *names, const vg_stats *const *cams, int n,
			     int64_t now_mono_us);

/* The /metrics page in the Prometheus text format 0.0.4. Malloc'd, or NULL if out of memory. */
char *vg_status_metrics(const vg_stats *stats, int64_t now_mono_us);

/* The same for n cameras: each camera's families labelled camera="NAME", the HTTP ones unlabelled. */
char *vg_status_metrics_cameras(const vg_stats *http, const char *const *names, const vg_stats *const *cams, int n,
				int64_t now_mono_us);

/*
 * The /healthz verdict of one camera: 200 when it is disabled, or when an
 * output frame was produced within VG_HEALTH_MAX_AGE_US (last_output_mono_us, 0 for never) and the source is
 * neither reconnecting nor ended; 503 otherwise. Writes the body ("ok", or
 * the reason) into msg.
 */
int vg_status_health(const vg_stats *stats, int64_t last_output_mono_us, int64_t now_mono_us, char *msg,
		     size_t cap);

#endif
