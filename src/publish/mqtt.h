#ifndef VG_PUBLISH_MQTT_H
#define VG_PUBLISH_MQTT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "core/blob.h"
#include "detect/detection.h"
#include "track/lifecycle.h"
#include "track/zones.h"

/*
 * Publishing to an MQTT broker (libmosquitto), and the fleet of vigil nodes
 * seen through it. Topics (PREFIX is opt->prefix, default "vigil"; NODE the
 * node name; CAMERA and LABEL as vg_mqtt_topic_word writes them):
 *
 *   PREFIX/nodes/NODE            retained JSON node state (vg_mqtt_set_node_state); the last will,
 *                                and the message of a clean shutdown, is {"node":"NODE","online":false}
 *   PREFIX/nodes/NODE/stats      JSON the caller gives (vg_mqtt_publish_stats), not retained
 *   PREFIX/CAMERA/detections     the frame's detections (vg_mqtt_detections_payload), not retained,
 *                                only when they change and at most opt->max_rate per second
 *   PREFIX/CAMERA/LABEL          retained count of LABEL objects in view, when it changes (0 included)
 *   PREFIX/CAMERA/snapshot       retained JPEG (opt->snapshot), rate-limited like detections
 *   PREFIX/CAMERA/enabled        retained ON / OFF
 *   PREFIX/CAMERA/enabled/set    subscribed: ON / OFF (any case) reaches vg_mqtt_on_enabled_set's callback
 *   PREFIX/CAMERA/zones/ZONE     an object entered, left or loitered in the zone (JSON), not retained
 *   PREFIX/CAMERA/zones/ZONE/LABEL  retained count of LABEL objects in the zone, when it changes
 *   PREFIX/CAMERA/lines/LINE     an object crossed the line (JSON), not retained
 *
 * Nothing here blocks the caller. Every publish call takes a mutex for the
 * time of a copy and returns. One thread of ours owns the libmosquitto
 * client: it connects, reconnects with backoff (0.25 s doubling to 8 s),
 * keeps at most VG_MQTT_INFLIGHT messages handed to libmosquitto and not yet
 * written (QoS 0) or acknowledged (QoS 1 and 2), and feeds it from two places:
 *
 * - retained topics (node state, label counts, enabled, snapshot) are kept
 *   as their newest value: a burst of updates sends only the last one, none
 *   is ever dropped, and all are sent again after every reconnect, so that a
 *   broker that restarted without persistence learns them back;
 * - the rest (detections, stats) go through a queue of VG_MQTT_QUEUE messages
 *   and VG_MQTT_QUEUE_BYTES bytes; when it is full the message is dropped and
 *   counted (vg_mqtt_stats.dropped).
 *
 * On every (re)connect the thread subscribes to PREFIX/nodes/+ and
 * PREFIX/+/enabled/set again. The thread runs its own poll loop rather than
 * mosquitto_loop_start, so that waiting out the backoff and shutting down
 * can be interrupted at once without cancelling a thread.
 *
 * All functions are thread-safe; the publish calls may come from several
 * threads at once.
 */

#define VG_MQTT_QUEUE 256
#define VG_MQTT_QUEUE_BYTES (4u << 20)
#define VG_MQTT_INFLIGHT 64

typedef struct vg_mqtt vg_mqtt;

typedef struct vg_mqtt_stats {
	int connected;                     /* 1 while the broker has accepted us */
	uint64_t connects;                 /* successful connections so far */
	uint64_t published;                /* messages handed to libmosquitto */
	uint64_t dropped;                  /* queue full */
	uint64_t errors;                   /* refused connections, failed publishes */
	int queue_depth;                   /* messages waiting in the queue */
	size_t queue_bytes;
} vg_mqtt_stats;

/*
 * Checks OPT (host set, port, qos 0..2, keepalive 0 or 5..65535 as
 * libmosquitto requires, ca_file readable), sets the last will and starts
 * the client thread, which connects in the background: a broker that is down
 * now is no error, the thread keeps trying. NODE NULL is "default". The node
 * state starts as {"node":"NODE","online":true} until vg_mqtt_set_node_state
 * replaces it. Returns 0, or -1 with "mqtt.FIELD: what was expected" in err.
 */
int vg_mqtt_create(vg_mqtt **out, const vg_config_mqtt *opt, const char *node, char *err, size_t errlen);

/*
 * Publishes a clean shutdown: the node state offline (retained), then a
 * disconnect, within about 1.5 s; a broker that is gone costs no wait.
 * Messages still queued are lost. NULL is a no-op.
 */
void vg_mqtt_destroy(vg_mqtt *m);

/*
 * The retained PREFIX/nodes/NODE state (JSON, copied; vg_mqtt_node_state
 * writes one); sent again after every reconnect. It must carry "node": NODE
 * for the fleet to take it.
 */
void vg_mqtt_set_node_state(vg_mqtt *m, const char *json);

/*
 * One analysed frame of CAMERA. Publishes PREFIX/CAMERA/detections when the
 * detections changed since the last message (vg_mqtt_track_changed) and the
 * camera's max_rate allows one now; a change held back by the rate goes out
 * with the first frame after it that the rate allows, if the detections still
 * differ then. With each message, the label counts that changed go to
 * PREFIX/CAMERA/LABEL. The first call for a camera always publishes.
 */
void vg_mqtt_publish_detections(vg_mqtt *m, const char *camera, const vg_detection *dets, int n, int width,
				int height, uint64_t frame_id, int64_t capture_wall_us);

/*
 * The frame's JPEG (the blob's payload range when it has one, else all of
 * it), when opt->snapshot is set: at most max_rate per second, and only when
 * a detections message of CAMERA went out since the last snapshot (or there
 * was none yet), so that a still scene does not resend pictures. Call it
 * after vg_mqtt_publish_detections for the same frame. Takes its own
 * reference; the caller keeps its own.
 */
void vg_mqtt_publish_snapshot(vg_mqtt *m, const char *camera, vg_blob *jpeg);

/* Retained PREFIX/CAMERA/enabled: ON or OFF. */
void vg_mqtt_publish_enabled(vg_mqtt *m, const char *camera, int enabled);

/*
 * A zone or line event (vg_zone_event_json) on PREFIX/CAMERA/zones/ZONE or
 * PREFIX/CAMERA/lines/LINE, not retained; for entered and left, also the
 * retained count of objects of its label in the zone now (count, >= 0) on
 * PREFIX/CAMERA/zones/ZONE/LABEL. frame_id 0: none.
 */
void vg_mqtt_publish_zone_event(vg_mqtt *m, const char *camera, const vg_zone_event *ev, uint64_t frame_id,
				int count);

/*
 * An object event (vg_object_message_json: type, before, after) on
 * PREFIX/events, not retained, as Frigate's frigate/events.
 */
void vg_mqtt_publish_object_event(vg_mqtt *m, const vg_object_message *msg);

/* PREFIX/nodes/NODE/stats, not retained. */
void vg_mqtt_publish_stats(vg_mqtt *m, const char *json);

/*
 * Publishes FN(OPAQUE) (malloc'd JSON, freed here; NULL: nothing) as
 * PREFIX/nodes/NODE/stats every opt->stats_interval seconds (at least 0.1 s;
 * 0: never) while connected, the first time right after connecting. FN runs
 * on the MQTT thread, so it must be thread-safe (vg_status_json is).
 */
void vg_mqtt_set_stats_source(vg_mqtt *m, char *(*fn)(void *opaque), void *opaque);

/*
 * FN(OPAQUE, CAMERA, ON) for every PREFIX/CAMERA/enabled/set message whose
 * payload is ON or OFF (any case, surrounding blanks ignored; other payloads
 * are ignored with a warning). FN runs on the MQTT thread: it may call the
 * publish functions (typically vg_mqtt_publish_enabled, to confirm), never
 * vg_mqtt_destroy. CAMERA is not checked against any list.
 */
void vg_mqtt_on_enabled_set(vg_mqtt *m, void (*fn)(void *opaque, const char *camera, int on), void *opaque);

/*
 * The fleet as the broker tells it: a malloc'd JSON object
 * {"NODE": {...its newest retained state...}, ...}, every state with an
 * "online" boolean (true when the node's message had none). Messages on
 * PREFIX/nodes/NAME that are not a JSON object with "node": "NAME" are
 * ignored. When a node's
 * will or clean shutdown replaces its state with {"node":..,"online":false},
 * the fields it announced before (url, cameras, ...) are kept and only
 * "online" turns false. An empty retained message removes the node. This
 * node is in it too once the broker has echoed its state. NULL when out of
 * memory.
 */
char *vg_mqtt_fleet_json(vg_mqtt *m);

void vg_mqtt_get_stats(const vg_mqtt *m, vg_mqtt_stats *out);

#endif
