#include "camera_set.h"

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "core/log.h"
#include "core/redact.h"
#include "core/clock.h"
#include "core/stats.h"
#include "http/status.h"
#include "infer_pool.h"
#include "publish/topics.h"
#include "pipeline.h"
#include "store/event_store.h"
#include "store/snapshot.h"

/* How often each camera's share of the inference workers is copied into its stats. */
#define SHARE_PERIOD_US 1000000
/* MQTT enabled/set commands waiting for the loop thread at most. */
#define MAX_COMMANDS 64

/* A configuration some camera still points into, freed when the last such camera goes. */
typedef struct config_ref {
	vg_config *cfg;
	int refs;
	struct config_ref *next;
} config_ref;

/* A loaded model and its second stage, shared by the cameras whose settings for them are equal. */
typedef struct model_entry {
	vg_detector_options opts;          /* what it was loaded with: its strings point into cfg */
	const vg_classifier_options *cls;  /* NULL: no second stage */
	config_ref *cfg;                   /* what det and cls point into */
	vg_detector *detector;
	vg_classifier *classifier;
	int shareable;                     /* a model with state is not shared */
	char first[VG_CAMERA_NAME_MAX + 1]; /* the camera it was loaded for */
	int refs;
	struct model_entry *next;
} model_entry;

typedef struct camera {
	vg_camera_set *set;
	const vg_config_camera *conf;
	config_ref *cfg;
	vg_stats stats;
	char display_uri[VG_REDACT_MAX];
	vg_http_camera *http;
	vg_pipeline *pipeline;             /* NULL: disabled */
	model_entry *model;
	vg_detection_filter filter;        /* the camera's threshold, classes and count on the model's results */
	struct event *source_end;          /* made active by the source thread when its input ends */
	atomic_int source_result;
	vg_jpeg_encoder *snapshot_jpeg;    /* the objects' best snapshots, on the camera's inference worker */
	char clips_dir[4096];              /* "" without clips: where the recorder writes this camera's */
	struct camera *next;
} camera;

struct vg_camera_set {
	vg_camera_set_options opt;
	vg_infer_pool *pool;
	config_ref *configs;               /* newest first */
	model_entry *models;
	camera *cameras;                   /* in the configuration's order */
	struct event *share_timer;
	int started;
	/* MQTT: commands handed from the client thread to the loop, and the stats it publishes. */
	pthread_mutex_t mu;
	struct event *command_event;
	int ncommands;
	struct {
		char camera[VG_CAMERA_NAME_MAX + 1];
		int on;
	} commands[MAX_COMMANDS];
	char *stats_json;          /* the newest stats document for PREFIX/nodes/NODE/stats */
};

/* Second stages are equal when both are absent, or both present with equal options. */
static int classifier_same(const vg_classifier_options *a, const vg_classifier_options *b)
{
	return !a || !b ? a == b : vg_config_classifier_same(a, b);
}

static config_ref *config_add(vg_camera_set *set, vg_config *cfg)
{
	config_ref *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->cfg = cfg;
	r->next = set->configs;
	set->configs = r;
	return r;
}

/* Frees the configurations no camera and no model points into, except the newest. */
static void configs_collect(vg_camera_set *set)
{
	config_ref **p = &set->configs;
	while (*p) {
		config_ref *r = *p;
		if (r->refs == 0 && r != set->configs) {
			*p = r->next;
			vg_config_free(r->cfg);
			free(r);
		} else {
			p = &r->next;
		}
	}
}

/*
 * Whether a camera with filter f can use model m: yes when its results
 * filtered by f equal what the camera's own detector would give. A model
 * whose threshold filters decodes at the lowest threshold of its cameras
 * (lowered now if need be); one that does not (weighted NMS, segmentation)
 * was loaded with its first camera's own settings and fits only those.
 */
static int model_fits(model_entry *m, const vg_detector_options *det, const vg_detection_filter *f)
{
	if (!vg_detector_threshold_filters(m->detector))
		return vg_config_detector_same(&m->opts, det);
	vg_detector_lower_threshold(m->detector, f->threshold);
	return 1;
}

/* Loads the model of det for a new entry: keeping every class and count when a camera's filter can narrow them. */
static int model_load(model_entry *m, const vg_detector_options *det, char *err, size_t errlen)
{
	m->opts = *det;
	m->opts.classes = NULL;
	m->opts.max_detections = VG_MAX_DETECTIONS;
	if (vg_detector_create(&m->detector, &m->opts, err, errlen) < 0)
		return -1;
	if (vg_detector_threshold_filters(m->detector))
		return 0;
	vg_detector_destroy(m->detector);
	m->detector = NULL;
	m->opts = *det;
	return vg_detector_create(&m->detector, &m->opts, err, errlen);
}

static model_entry *model_get(vg_camera_set *set, const vg_config_camera *cc, config_ref *cfg,
			      vg_detection_filter *filter, char *err, size_t errlen)
{
	const vg_detector_options *det = cc->pipeline.detector;
	const vg_classifier_options *cls = cc->pipeline.classifier;
	const char *option = set->opt.strict ? "--classes" : "classes";
	char why[512];
	for (model_entry *m = set->models; m; m = m->next) {
		if (!m->shareable || !vg_config_model_same(&m->opts, det) || !classifier_same(m->cls, cls))
			continue;
		if (vg_detection_filter_init(filter, m->detector, det, option, why, sizeof why) < 0) {
			snprintf(err, errlen, "%s", why);
			return NULL;
		}
		if (!model_fits(m, det, filter)) {
			if (!set->opt.strict)
				vg_info("camera '%s': loads its own copy of the model of camera '%s': its decoder (%s) "
					"cannot share a model across thresholds, classes or counts",
					cc->name, m->first, vg_detector_decoder_name(m->detector));
			continue;
		}
		m->refs++;
		if (!set->opt.strict)
			vg_info("camera '%s': shares the model loaded for camera '%s' (threshold %g)", cc->name, m->first,
				(double)filter->threshold);
		return m;
	}
	model_entry *m = calloc(1, sizeof *m);
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (model_load(m, det, why, sizeof why) < 0 ||
	    vg_detection_filter_init(filter, m->detector, det, option, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s", why);
		vg_detector_destroy(m->detector);
		free(m);
		return NULL;
	}
	if (cls && vg_classifier_create(&m->classifier, cls, vg_detector_labels(m->detector), why, sizeof why) < 0) {
		snprintf(err, errlen, "%s", why);
		vg_detector_destroy(m->detector);
		free(m);
		return NULL;
	}
	if (m->classifier)
		vg_info("second stage: %s", vg_classifier_summary(m->classifier));
	m->cls = cls;
	m->cfg = cfg;
	cfg->refs++;
	m->shareable = vg_detector_state_count(m->detector) == 0;
	m->refs = 1;
	snprintf(m->first, sizeof m->first, "%s", cc->name);
	if (!set->opt.strict)
		vg_info("camera '%s': loaded model %s%s", cc->name, det->model,
			m->shareable ? "" : " (a model with state: one copy per camera)");
	m->next = set->models;
	set->models = m;
	return m;
}

static void model_put(vg_camera_set *set, model_entry *m)
{
	if (!m || --m->refs > 0)
		return;
	for (model_entry **p = &set->models; *p; p = &(*p)->next)
		if (*p == m) {
			*p = m->next;
			break;
		}
	vg_classifier_destroy(m->classifier);
	vg_detector_destroy(m->detector);
	m->cfg->refs--;
	free(m);
}

/* ---- a camera's pipeline and its sinks (pipeline threads) ---- */

static void sink_frame(void *opaque, vg_blob *part)
{
	camera *c = opaque;
	/* MQTT keeps its own reference when it sends the snapshot, so the part can go on to the server. */
	vg_mqtt_publish_snapshot(c->set->opt.mqtt, c->conf->name, part);
	vg_http_camera_publish_frame(c->http, part);
}

static void sink_analysed(void *opaque, const vg_detection *dets, int count, int width, int height, uint64_t frame_id,
			  int64_t capture_wall_us)
{
	camera *c = opaque;
	vg_mqtt_publish_detections(c->set->opt.mqtt, c->conf->name, dets, count, width, height, frame_id,
				   capture_wall_us);
}

static void sink_event(void *opaque, vg_blob *sse)
{
	camera *c = opaque;
	vg_http_camera_publish_event(c->http, sse);
}

static void sink_notice(void *opaque, vg_blob *sse)
{
	camera *c = opaque;
	vg_http_camera_publish_notice(c->http, sse);
}

static void sink_zone_event(void *opaque, const vg_zone_event *ev, uint64_t frame_id)
{
	camera *c = opaque;
	/* Called after the zones' lock is released, so their counts can be read: this event is in them. */
	vg_zones *z = vg_pipeline_zones(c->pipeline);
	int count = -1;
	for (int i = 0; z && ev->kind != VG_LINE_CROSSED && i < vg_zones_count(z); i++)
		if (!strcmp(vg_zones_zone(z, i)->name, ev->name))
			count = vg_zones_objects(z, i, ev->label);
	vg_mqtt_publish_zone_event(c->set->opt.mqtt, c->conf->name, ev, frame_id, count);
	/* Entries and crossings are counted per hour in the store, so that history survives a restart. */
	if (ev->kind == VG_ZONE_ENTERED || ev->kind == VG_LINE_CROSSED)
		vg_event_store_count(c->set->opt.store, c->set->opt.strict ? "" : c->conf->name,
				     ev->kind == VG_ZONE_ENTERED ? "zone" : "line", ev->name,
				     ev->kind == VG_LINE_CROSSED && ev->direction_name ? ev->direction_name : "", ev->label,
				     ev->time_us);
}

/* An object event: kept in the store, and sent over MQTT. */
static void sink_object(void *opaque, const vg_object_message *m)
{
	camera *c = opaque;
	vg_event_store *st = c->set->opt.store;
	vg_event_store_put(st, &m->after);
	vg_mqtt_publish_object_event(c->set->opt.mqtt, m);
}

static int sink_snapshot(void *opaque, const vg_object_state *s, const vg_frame *frame)
{
	camera *c = opaque;
	char full[4096], crop[4096], err[512];
	if (!c->snapshot_jpeg ||
	    vg_event_store_snapshot_path(c->set->opt.store, s->camera, s->id, 0, full, sizeof full) != 0 ||
	    vg_event_store_snapshot_path(c->set->opt.store, s->camera, s->id, 1, crop, sizeof crop) != 0)
		return -1;
	vg_snapshot snap = { .frame = frame,
			     .object = { .x0 = s->top_box[0], .y0 = s->top_box[1], .x1 = s->top_box[2],
					 .y1 = s->top_box[3], .score = s->top_score, .class_id = s->class_id,
					 .track_id = s->track_id } };
	snprintf(snap.object.label, sizeof snap.object.label, "%s", s->label);
	if (vg_snapshot_save(c->snapshot_jpeg, &snap, full, crop, err, sizeof err) != 0) {
		/* A full disk would say so at every better frame: once per minute is enough. */
		static _Atomic int64_t last_warning;
		int64_t now = vg_mono_us(), last = atomic_load(&last_warning);
		if (now - last > 60000000 && atomic_compare_exchange_strong(&last_warning, &last, now))
			vg_warn("%s: event snapshot not saved: %s", c->conf->name, err);
		return -1;
	}
	return 0;
}

static void sink_clip_done(void *opaque, const char *id, const char *path, int ok)
{
	camera *c = opaque;
	(void)path;
	vg_event_store_clip_done(c->set->opt.store, id, ok);
}

/*
 * The line counts of this hour, the hour before and today, as the store kept
 * them: a restarted server (or camera) carries on counting from them.
 */
static void restore_counts(camera *c)
{
	vg_zones *z = vg_pipeline_zones(c->pipeline);
	vg_event_store *st = c->set->opt.store;
	if (!z || !st || vg_zones_line_count(z) == 0)
		return;
	/* What the camera's previous run counted last may still wait in the queue. */
	vg_event_store_flush(st);
	int64_t now = vg_wall_us();
	const char *name = c->set->opt.strict ? "" : c->conf->name;
	char *json = vg_event_store_counts_json(st, name, (double)now / 1e6 - 26 * 3600, 0);
	cJSON *rows = json ? cJSON_Parse(json) : NULL;
	free(json);
	const cJSON *row;
	cJSON_ArrayForEach(row, rows) {
		const cJSON *kind = cJSON_GetObjectItemCaseSensitive(row, "kind");
		const cJSON *line = cJSON_GetObjectItemCaseSensitive(row, "name");
		const cJSON *dir = cJSON_GetObjectItemCaseSensitive(row, "direction");
		const cJSON *label = cJSON_GetObjectItemCaseSensitive(row, "label");
		const cJSON *hour = cJSON_GetObjectItemCaseSensitive(row, "hour");
		const cJSON *count = cJSON_GetObjectItemCaseSensitive(row, "count");
		if (cJSON_IsString(kind) && !strcmp(kind->valuestring, "line") && cJSON_IsString(line) &&
		    cJSON_IsString(dir) && cJSON_IsString(label) && cJSON_IsNumber(hour) && cJSON_IsNumber(count) &&
		    count->valuedouble > 0)
			vg_zones_restore_line(z, line->valuestring, dir->valuestring, label->valuestring,
					      (int64_t)hour->valuedouble * 1000000, (uint64_t)count->valuedouble, now);
	}
	cJSON_Delete(rows);
}

static void sink_source_ended(void *opaque, int result)
{
	camera *c = opaque;
	atomic_store(&c->source_result, result);
	event_active(c->source_end, 0, 0);
}

/* On the loop thread, after the camera's source thread said its input ended. */
static void on_source_end(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	camera *c = arg;
	int result = atomic_load(&c->source_result);
	if (result == VG_SOURCE_UNDECODABLE && c->set->opt.strict && c->set->opt.fatal) {
		/* The source logged why; an input that never gives a picture is bad input, as for detect. */
		c->set->opt.fatal(c->set->opt.opaque);
		return;
	}
	vg_info("%s%ssource '%s' ended; the last frame stays available and /healthz answers 503",
		c->set->opt.strict ? "" : c->conf->name, c->set->opt.strict ? "" : ": ", c->display_uri);
}

static void camera_free(vg_camera_set *set, camera *c)
{
	if (c->pipeline) {
		vg_pipeline_stop(c->pipeline);
		vg_pipeline_destroy(c->pipeline);
	}
	/* Only now: the source thread, which activates it, was joined with the pipeline. */
	if (c->source_end)
		event_free(c->source_end);
	vg_jpeg_encoder_destroy(c->snapshot_jpeg);
	if (c->http)
		vg_http_server_remove_camera(set->opt.http, c->http);
	model_put(set, c->model);
	c->cfg->refs--;
	free(c);
}

static camera *camera_create(vg_camera_set *set, const vg_config_camera *cc, config_ref *cfg, char *err,
			     size_t errlen)
{
	camera *c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "camera '%s': out of memory", cc->name);
		return NULL;
	}
	c->set = set;
	c->conf = cc;
	c->cfg = cfg;
	cfg->refs++;
	vg_redact_uri(cc->pipeline.source.uri, c->display_uri, sizeof c->display_uri);
	vg_stats_init(&c->stats, c->display_uri);
	char why[512] = "";
	c->source_end = event_new(set->opt.base, -1, 0, on_source_end, c);
	if (!c->source_end) {
		snprintf(why, sizeof why, "out of memory");
		goto fail;
	}
	if (!cc->enabled) {
		atomic_store(&c->stats.source_state, VG_SOURCE_DISABLED);
	} else {
		vg_pipeline_options po = cc->pipeline;
		po.camera = set->opt.strict ? NULL : cc->name;
		po.source.retry_open = !set->opt.strict;
		po.pool = set->pool;
		if (po.detector) {
			if (!(c->model = model_get(set, cc, cfg, &c->filter, why, sizeof why)))
				goto fail;
			po.filter = &c->filter;
			/* The camera's threshold is its tracker's confident score (on a model shared or not). */
			if (po.scene.tracking)
				vg_scene_track_settings(&po.scene.tracker, c->model->detector, c->filter.threshold);
			po.detector_instance = c->model->detector;
			po.classifier_instance = c->model->classifier;
			po.model_key = c->model;
		}
		vg_pipeline_sink sink = { .opaque = c, .frame = sink_frame, .event = sink_event,
					  .source_ended = sink_source_ended,
					  .analysed = set->opt.mqtt ? sink_analysed : NULL,
					  .zone_event = set->opt.mqtt || set->opt.store ? sink_zone_event : NULL,
					  .notice = sink_notice };
		/* Object events go to /events and MQTT; with a store they are kept, with snapshots and clips. */
		if (po.detector && po.scene.tracking)
			sink.object = sink_object;
		if (sink.object && set->opt.store) {
			sink.clip_done = sink_clip_done;
			sink.snapshot = sink_snapshot;
			if (!(c->snapshot_jpeg = vg_jpeg_encoder_create(85))) {
				snprintf(why, sizeof why, "cannot set up the JPEG encoder of the event snapshots");
				goto fail;
			}
			if (po.clips)
				snprintf(c->clips_dir, sizeof c->clips_dir, "%s/%s",
					 vg_event_store_clips_dir(set->opt.store), set->opt.strict ? "default" : cc->name);
		}
		po.clips_dir = c->clips_dir[0] ? c->clips_dir : NULL;
		if (vg_pipeline_create(&c->pipeline, &po, &sink, &c->stats, why, sizeof why) < 0)
			goto fail;
		restore_counts(c);
	}
	c->http = vg_http_server_add_camera(set->opt.http, cc->name, &c->stats);
	if (!c->http) {
		snprintf(why, sizeof why, "cannot add it to the server (a camera of that name is served already)");
		goto fail;
	}
	return c;
fail:
	if (set->opt.strict)
		snprintf(err, errlen, "%s", why);
	else
		snprintf(err, errlen, "camera '%s': %s", cc->name, why);
	camera_free(set, c);
	return NULL;
}

static int camera_start(camera *c, char *err, size_t errlen)
{
	if (!c->pipeline)
		return 0;
	char why[512];
	if (vg_pipeline_start(c->pipeline, why, sizeof why) < 0) {
		snprintf(err, errlen, "camera '%s': %s", c->conf->name, why);
		return -1;
	}
	if (c->model)
		vg_mqtt_publish_enabled(c->set->opt.mqtt, c->conf->name, vg_pipeline_analysis(c->pipeline));
	return 0;
}

/* ---- MQTT: the node's state, its stats, commands, and the fleet ---- */

/* The retained PREFIX/nodes/NODE: this node's address and cameras. */
static void publish_node_state(vg_camera_set *set)
{
	if (!set->opt.mqtt)
		return;
	const char *names[1024];
	int n = 0;
	for (camera *c = set->cameras; c && n < 1024; c = c->next)
		names[n++] = c->conf->name;
	char *json = vg_mqtt_node_state(set->opt.node ? set->opt.node : "default", set->opt.node_url, names, n);
	if (json)
		vg_mqtt_set_node_state(set->opt.mqtt, json);
	free(json);
}

/* On the MQTT client thread: the loop thread applies it, since only it may walk the cameras. */
static void on_enabled_set(void *opaque, const char *camera, int on)
{
	vg_camera_set *set = opaque;
	pthread_mutex_lock(&set->mu);
	if (set->ncommands < MAX_COMMANDS && strlen(camera) <= VG_CAMERA_NAME_MAX) {
		snprintf(set->commands[set->ncommands].camera, sizeof set->commands[0].camera, "%s", camera);
		set->commands[set->ncommands++].on = on;
	}
	pthread_mutex_unlock(&set->mu);
	event_active(set->command_event, 0, 0);
}

static void on_commands(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	vg_camera_set *set = arg;
	for (;;) {
		char name[VG_CAMERA_NAME_MAX + 1];
		int on;
		pthread_mutex_lock(&set->mu);
		if (set->ncommands == 0) {
			pthread_mutex_unlock(&set->mu);
			return;
		}
		memcpy(name, set->commands[0].camera, sizeof name);
		on = set->commands[0].on;
		memmove(&set->commands[0], &set->commands[1], (size_t)--set->ncommands * sizeof set->commands[0]);
		pthread_mutex_unlock(&set->mu);
		if (vg_camera_set_analysis(set, name, on) == 0) {
			vg_info("mqtt: camera '%s': analysis %s", name, on ? "on" : "off");
			vg_mqtt_publish_enabled(set->opt.mqtt, name, on);
		} else {
			vg_warn("mqtt: enabled/set for '%s', which this node runs no model on: ignored", name);
		}
	}
}

/* On the MQTT client thread, every stats_interval: the newest document the loop thread made. */
static char *stats_source(void *opaque)
{
	vg_camera_set *set = opaque;
	pthread_mutex_lock(&set->mu);
	char *json = set->stats_json ? strdup(set->stats_json) : NULL;
	pthread_mutex_unlock(&set->mu);
	return json;
}

static void refresh_mqtt_stats(vg_camera_set *set)
{
	vg_stats *http = set->opt.http_stats;
	if (!set->opt.mqtt || !http)
		return;
	vg_mqtt_stats ms;
	vg_mqtt_get_stats(set->opt.mqtt, &ms);
	atomic_store(&http->mqtt_connected, ms.connected);
	atomic_store(&http->mqtt_published, ms.published);
	atomic_store(&http->mqtt_dropped, ms.dropped);
	atomic_store(&http->mqtt_errors, ms.errors);
	const char *names[1024];
	const vg_stats *stats[1024];
	int n = 0;
	for (camera *c = set->cameras; c && n < 1024; c = c->next) {
		names[n] = c->conf->name;
		stats[n++] = &c->stats;
	}
	char *json = vg_status_json_cameras(http, names, stats, n, vg_mono_us());
	if (!json)
		return;
	pthread_mutex_lock(&set->mu);
	free(set->stats_json);
	set->stats_json = json;
	pthread_mutex_unlock(&set->mu);
}

/* /api/cameras: the cameras other nodes announced, each linked to its node and marked when it is offline. */
static char *fleet_cameras(void *opaque)
{
	vg_camera_set *set = opaque;
	char *text = vg_mqtt_fleet_json(set->opt.mqtt);
	cJSON *nodes = text ? cJSON_Parse(text) : NULL;
	free(text);
	cJSON *out = cJSON_CreateArray();
	const char *self = set->opt.node ? set->opt.node : "default";
	cJSON *node;
	cJSON_ArrayForEach(node, nodes)
	{
		if (!node->string || strcmp(node->string, self) == 0)
			continue;
		int online = cJSON_IsTrue(cJSON_GetObjectItem(node, "online"));
		const cJSON *url = cJSON_GetObjectItem(node, "url"), *cams = cJSON_GetObjectItem(node, "cameras");
		const cJSON *cam;
		cJSON_ArrayForEach(cam, cams)
		{
			if (!cJSON_IsString(cam))
				continue;
			cJSON *o = cJSON_CreateObject();
			if (!o || !cJSON_AddItemToArray(out, o))
				break;
			cJSON_AddStringToObject(o, "name", cam->valuestring);
			cJSON_AddStringToObject(o, "node", node->string);
			if (cJSON_IsString(url))
				cJSON_AddStringToObject(o, "url", url->valuestring);
			cJSON_AddBoolToObject(o, "online", online);
		}
	}
	cJSON_Delete(nodes);
	char *json = out ? cJSON_PrintUnformatted(out) : NULL;
	cJSON_Delete(out);
	return json;
}

/* ---- the set ---- */

static int for_this_node(const vg_camera_set *set, const vg_config_camera *cc)
{
	const char *node = set->opt.node ? set->opt.node : "default";
	return strcmp(cc->node ? cc->node : "default", node) == 0;
}

static void on_share_timer(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	vg_camera_set *set = arg;
	for (camera *c = set->cameras; c; c = c->next) {
		double got = 0, fair = 0;
		if (c->pipeline)
			vg_pipeline_share(c->pipeline, &got, &fair);
		atomic_store(&c->stats.analysis_share_milli, (int)(got * 1000.0 + 0.5));
		atomic_store(&c->stats.analysis_fair_share_milli, (int)(fair * 1000.0 + 0.5));
	}
	refresh_mqtt_stats(set);
}

int vg_camera_set_create(vg_camera_set **out, const vg_camera_set_options *opt, vg_config *cfg, char *err,
			 size_t errlen)
{
	*out = NULL;
	vg_camera_set *set = calloc(1, sizeof *set);
	if (!set) {
		vg_config_free(cfg);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	set->opt = *opt;
	pthread_mutex_init(&set->mu, NULL);
	config_ref *ref = config_add(set, cfg);
	if (!ref) {
		vg_config_free(cfg);
		free(set);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* The server's settings (listen address, lists of origins and hosts) point into the first one for good. */
	ref->refs++;
	if (vg_infer_pool_create(&set->pool, cfg->inference_workers, err, errlen) < 0) {
		vg_camera_set_destroy(set);
		return -1;
	}
	set->share_timer = event_new(opt->base, -1, EV_PERSIST, on_share_timer, set);
	set->command_event = event_new(opt->base, -1, 0, on_commands, set);
	if (!set->share_timer || !set->command_event) {
		snprintf(err, errlen, "out of memory");
		vg_camera_set_destroy(set);
		return -1;
	}
	camera **tail = &set->cameras;
	int n = 0;
	for (int i = 0; i < cfg->ncameras; i++) {
		const vg_config_camera *cc = &cfg->cameras[i];
		if (!for_this_node(set, cc))
			continue;
		camera *c = camera_create(set, cc, ref, err, errlen);
		if (!c) {
			vg_camera_set_destroy(set);
			return -1;
		}
		*tail = c;
		tail = &c->next;
		n++;
	}
	if (n == 0) {
		snprintf(err, errlen, "%s: no camera is assigned to node '%s'", cfg->path ? cfg->path : "configuration",
			 opt->node ? opt->node : "default");
		vg_camera_set_destroy(set);
		return -1;
	}
	*out = set;
	return 0;
}

int vg_camera_set_start(vg_camera_set *set, char *err, size_t errlen)
{
	for (camera *c = set->cameras; c; c = c->next)
		if (camera_start(c, err, errlen) < 0)
			return -1;
	struct timeval tv = { .tv_sec = SHARE_PERIOD_US / 1000000, .tv_usec = SHARE_PERIOD_US % 1000000 };
	event_add(set->share_timer, &tv);
	set->started = 1;
	if (set->opt.mqtt) {
		publish_node_state(set);
		refresh_mqtt_stats(set);
		vg_mqtt_set_stats_source(set->opt.mqtt, stats_source, set);
		vg_mqtt_on_enabled_set(set->opt.mqtt, on_enabled_set, set);
		vg_http_server_set_fleet(set->opt.http, fleet_cameras, set);
	}
	return 0;
}

void vg_camera_set_reload(vg_camera_set *set, vg_config *cfg, vg_reload_counts *counts)
{
	memset(counts, 0, sizeof *counts);
	config_ref *ref = config_add(set, cfg);
	if (!ref) {
		vg_error("reload: out of memory; the cameras stay as they were");
		vg_config_free(cfg);
		return;
	}
	char err[768];
	/* Cameras gone or changed stop first, so that a changed camera's name is free for its new self. */
	int nrunning = 0;
	for (camera *c = set->cameras; c; c = c->next)
		nrunning++;
	char (*restarting)[VG_CAMERA_NAME_MAX + 1] = calloc((size_t)nrunning + 1, sizeof *restarting);
	camera **p = &set->cameras;
	while (*p) {
		camera *c = *p;
		const vg_config_camera *now = vg_config_camera_find(cfg, c->conf->name);
		if (now && for_this_node(set, now) && vg_config_camera_same(c->conf, now)) {
			/* Unchanged: it keeps running on its old configuration's copy, which equals the new one. */
			counts->unchanged++;
			p = &c->next;
			continue;
		}
		int again = now && for_this_node(set, now);
		vg_info("reload: camera '%s' %s", c->conf->name, again ? "changed: restarting" : "removed: stopping");
		if (again && restarting)
			memcpy(restarting[counts->restarted], c->conf->name, sizeof restarting[0]);
		counts->restarted += again;
		counts->stopped += !again;
		*p = c->next;
		camera_free(set, c);
	}
	for (int i = 0; i < cfg->ncameras; i++) {
		const vg_config_camera *cc = &cfg->cameras[i];
		if (!for_this_node(set, cc))
			continue;
		camera **tail = &set->cameras;
		int running = 0;
		while (*tail) {
			running |= strcmp((*tail)->conf->name, cc->name) == 0;
			tail = &(*tail)->next;
		}
		if (running)
			continue;
		camera *c = camera_create(set, cc, ref, err, sizeof err);
		if (!c || (set->started && camera_start(c, err, sizeof err) < 0)) {
			vg_error("reload: %s; the camera is left out", err);
			if (c)
				camera_free(set, c);
			counts->failed++;
			continue;
		}
		*tail = c;
		/* A restarted camera was counted when it stopped. */
		int restarted = 0;
		for (int k = 0; restarting && k < counts->restarted; k++)
			restarted |= strcmp(restarting[k], cc->name) == 0;
		counts->started += !restarted;
	}
	free(restarting);
	configs_collect(set);
	publish_node_state(set);
}

int vg_camera_set_analysis(vg_camera_set *set, const char *name, int on)
{
	for (camera *c = set->cameras; c; c = c->next)
		if (strcmp(c->conf->name, name) == 0 && c->pipeline) {
			vg_pipeline_set_analysis(c->pipeline, on);
			return 0;
		}
	return -1;
}

void vg_camera_set_stop(vg_camera_set *set)
{
	if (set->share_timer)
		event_del(set->share_timer);
	for (camera *c = set->cameras; c; c = c->next)
		if (c->pipeline)
			vg_pipeline_stop(c->pipeline);
}

void vg_camera_set_destroy(vg_camera_set *set)
{
	if (!set)
		return;
	vg_camera_set_stop(set);
	while (set->cameras) {
		camera *c = set->cameras;
		set->cameras = c->next;
		camera_free(set, c);
	}
	vg_infer_pool_destroy(set->pool);
	if (set->share_timer)
		event_free(set->share_timer);
	if (set->command_event)
		event_free(set->command_event);
	free(set->stats_json);
	pthread_mutex_destroy(&set->mu);
	while (set->configs) {
		config_ref *r = set->configs;
		set->configs = r->next;
		vg_config_free(r->cfg);
		free(r);
	}
	free(set);
}

const vg_config *vg_camera_set_config(const vg_camera_set *set)
{
	return set->configs->cfg;
}
