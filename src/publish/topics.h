#ifndef VG_PUBLISH_TOPICS_H
#define VG_PUBLISH_TOPICS_H

#include <stddef.h>
#include <stdint.h>

#include "detect/detection.h"

/*
 * The parts of MQTT publishing that need no broker: topic words, the
 * detections payload, and the rules that decide when a camera's detections
 * are worth a message. mqtt.c uses them; tests call them directly with their
 * own clock.
 */

/* The longest topic word we write (a label or a name), without its NUL. */
#define VG_MQTT_WORD_MAX 63

/*
 * Writes IN as a topic word: lower-cased, every byte outside [a-z0-9_-]
 * replaced by '_', cut to VG_MQTT_WORD_MAX bytes; an empty IN becomes "_".
 * cap must be at least VG_MQTT_WORD_MAX + 2. Returns the word's length.
 */
size_t vg_mqtt_topic_word(const char *in, char *out, size_t cap);

/*
 * A label as a topic word: vg_mqtt_topic_word, and the words the camera
 * topics use themselves (detections, snapshot, enabled, zones, lines) get a trailing '_',
 * so that a label can never overwrite them.
 */
size_t vg_mqtt_label_word(const char *in, char *out, size_t cap);

/*
 * The PREFIX/CAMERA/detections payload, malloc'd:
 * {"camera":"door","frame_id":42,"time":1765000000.123456,"width":768,"height":576,"detections":[...]}
 * with "detections" as vg_detections_json writes it and "time" the capture time in seconds since
 * the Unix epoch (microseconds after the point, as /events writes capture_time). NULL when out of memory.
 */
char *vg_mqtt_detections_payload(const char *camera, const vg_detection *dets, int n, int width, int height,
				 uint64_t frame_id, int64_t capture_wall_us);

/*
 * A node state for vg_mqtt_set_node_state, malloc'd:
 * {"node":"a","online":true,"url":"http://10.0.0.5:8080/","cameras":["door","yard"]}
 * URL NULL leaves "url" out. NULL when out of memory.
 */
char *vg_mqtt_node_state(const char *node, const char *url, const char *const *cameras, int ncameras);

/* How far (as a fraction of the frame) any box edge must move for the detections to count as changed. */
#define VG_MQTT_MOVE_TOLERANCE 0.05f

typedef struct vg_mqtt_label_count {
	char word[VG_MQTT_WORD_MAX + 2];   /* the label as a topic word */
	int count;
} vg_mqtt_label_count;

typedef struct vg_mqtt_box {
	float x0, y0, x1, y1;
	char word[VG_MQTT_WORD_MAX + 2];
} vg_mqtt_box;

/*
 * One camera's publishing state: what its last detections message said and
 * when it went out, and the label counts last published.
 */
typedef struct vg_mqtt_track {
	int published;                     /* a detections message went out */
	int64_t last_us;                   /* its monotonic time */
	vg_mqtt_box *boxes;
	int nboxes;
	vg_mqtt_label_count *counts;       /* every label ever published for this camera */
	int ncounts, counts_cap;
} vg_mqtt_track;

void vg_mqtt_track_init(vg_mqtt_track *t);
void vg_mqtt_track_fini(vg_mqtt_track *t);

/*
 * 1 when DETS differ from the last published detections: nothing was
 * published yet; or the labels present or their counts differ; or some
 * detection cannot be paired with one of the same label whose every box edge
 * lies within VG_MQTT_MOVE_TOLERANCE of the frame. Scores, keypoints and
 * attributes alone are no change. Detections without a box (a classifier's
 * whole-frame answer) pair by label alone.
 */
int vg_mqtt_track_changed(const vg_mqtt_track *t, const vg_detection *dets, int n);

/* 1 when a message may go out at NOW_US under MAX_RATE messages per second (<= 0: no limit). */
int vg_mqtt_track_due(const vg_mqtt_track *t, int64_t now_us, double max_rate);

/*
 * Records DETS as published at NOW_US and writes to CHANGED (room for
 * n + t->ncounts entries, or NULL to skip) the labels whose count differs
 * from the last published one, zeros included. Returns the number of changed
 * labels, or -1 when out of memory.
 */
int vg_mqtt_track_commit(vg_mqtt_track *t, const vg_detection *dets, int n, int64_t now_us,
			 vg_mqtt_label_count *changed);

#endif
