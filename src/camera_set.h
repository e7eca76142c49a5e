#ifndef VG_CAMERA_SET_H
#define VG_CAMERA_SET_H

#include <stddef.h>

#include "config.h"
#include "http/server.h"
#include "publish/mqtt.h"

struct event_base;

/*
 * The cameras one server runs, from a configuration: a pipeline and an HTTP
 * camera each, the inference workers they share, and the models they share
 * (cameras whose model settings are equal get one loaded copy; a model with
 * state, such as an LSTM detector, gets one per camera so that each keeps
 * its own memory). Everything here runs on the server's loop thread.
 */

typedef struct vg_camera_set vg_camera_set;

typedef struct vg_camera_set_options {
	struct event_base *base;
	vg_http_server *http;
	const char *node;          /* serve the cameras of this node (NULL: "default") */
	/*
	 * The command line's one camera: a source that cannot be opened fails the
	 * start, and one that never gives a picture ends the server with the
	 * bad-input status. Otherwise such a camera is retried or shown ended,
	 * and the others go on.
	 */
	int strict;
	/* Called on the loop thread when strict and the source proved undecodable. */
	void (*fatal)(void *opaque);
	void *opaque;
	/*
	 * NULL, or the MQTT client the cameras publish to: detections, counts,
	 * snapshots, the enabled state and the node's state and stats. The set
	 * also takes its enabled/set commands and lists the fleet's other
	 * cameras in /api/cameras from it.
	 */
	vg_mqtt *mqtt;
	const char *node_url;      /* how others reach this node, for its MQTT state (may be NULL) */
	vg_stats *http_stats;      /* the server's, for the MQTT stats and the MQTT counters */
	/*
	 * NULL, or where the cameras keep their object events (with their best
	 * snapshots and clips) and their hourly counts. Without it, the events
	 * still go to /events and MQTT.
	 */
	struct vg_event_store *store;
} vg_camera_set_options;

/*
 * Loads the models and opens the sources of cfg's cameras for this node; takes
 * over cfg (freed with the set, or when a reload replaces every camera of it).
 * 0, or -1 with a message naming the camera in err.
 */
int vg_camera_set_create(vg_camera_set **out, const vg_camera_set_options *opt, vg_config *cfg, char *err,
			 size_t errlen);

int vg_camera_set_start(vg_camera_set *set, char *err, size_t errlen);

typedef struct vg_reload_counts {
	int started, stopped, restarted, unchanged, failed;
} vg_reload_counts;

/*
 * SIGHUP: brings the running cameras to cfg (taken over): cameras no longer
 * there stop, changed ones restart, new ones start, and unchanged ones are
 * left alone. A camera that fails to start is logged and left out (failed).
 */
void vg_camera_set_reload(vg_camera_set *set, vg_config *cfg, vg_reload_counts *counts);

/* Turns a camera's analysis on or off (MQTT's enabled/set). -1 when there is no such running camera. */
int vg_camera_set_analysis(vg_camera_set *set, const char *camera, int on);

/* Stops every pipeline and joins their threads. */
void vg_camera_set_stop(vg_camera_set *set);

void vg_camera_set_destroy(vg_camera_set *set);

/* The configuration the set runs now (the newest loaded). */
const vg_config *vg_camera_set_config(const vg_camera_set *set);

#endif
