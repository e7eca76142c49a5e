/*
 * The server's side of the cameras: each camera's newest frame and event,
 * handed over by its pipeline and delivered to the clients that watch it, and
 * the documents that describe every camera (/api/stats, /metrics,
 * /api/cameras, /healthz).
 */
#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "core/clock.h"
#include "http/server_internal.h"
#include "http/status.h"
#include "store/event_store.h"

/* An SSE client with this much unsent skips events until it catches up. */
#define SSE_MAX_QUEUED (256 * 1024)
/* Cameras a document describes at most (more are served, but not listed past this). */
#define MAX_LISTED 1024

vg_http_camera *vg_http__camera_find(vg_http_server *srv, const char *name, size_t len)
{
	for (vg_http_camera *c = srv->cameras; c; c = c->next)
		if (strlen(c->name) == len && memcmp(c->name, name, len) == 0)
			return c;
	return NULL;
}

vg_http_camera *vg_http_server_add_camera(vg_http_server *srv, const char *name, vg_stats *stats)
{
	if (!vg_config_name_valid(name) || vg_http__camera_find(srv, name, strlen(name)))
		return NULL;
	vg_http_camera *cam = calloc(1, sizeof *cam);
	if (!cam)
		return NULL;
	cam->srv = srv;
	snprintf(cam->name, sizeof cam->name, "%s", name);
	cam->stats = stats;
	vg_http_camera **tail = &srv->cameras;
	while (*tail)
		tail = &(*tail)->next;
	*tail = cam;
	srv->ncameras++;
	return cam;
}

static void camera_free(vg_http_camera *cam)
{
	vg_blob_unref(cam->pending_frame);
	vg_blob_unref(cam->pending_event);
	for (int i = 0; i < cam->nnotices; i++)
		vg_blob_unref(cam->notices[i]);
	vg_blob_unref(cam->frame);
	vg_blob_unref(cam->event);
	free(cam);
}

void vg_http_server_remove_camera(vg_http_server *srv, vg_http_camera *cam)
{
	vg_conn *next;
	for (vg_conn *c = srv->conns; c; c = next) {
		next = c->next;
		/* Its viewers and the event clients that asked for it alone; those of every camera stay. */
		if (c->cam == cam)
			vg_http__conn_free(c);
	}
	for (vg_http_camera **p = &srv->cameras; *p; p = &(*p)->next)
		if (*p == cam) {
			*p = cam->next;
			srv->ncameras--;
			break;
		}
	pthread_mutex_lock(&srv->lock);
	camera_free(cam);
	pthread_mutex_unlock(&srv->lock);
}

void vg_http__cameras_free(vg_http_server *srv)
{
	while (srv->cameras) {
		vg_http_camera *c = srv->cameras;
		srv->cameras = c->next;
		camera_free(c);
	}
	srv->ncameras = 0;
	free(srv->node);
	free(srv->node_url);
	srv->node = srv->node_url = NULL;
}

void vg_http_server_set_fleet(vg_http_server *srv, vg_http_fleet_fn fn, void *opaque)
{
	srv->fleet = fn;
	srv->fleet_opaque = opaque;
}

void vg_http_server_set_node(vg_http_server *srv, const char *node, const char *url)
{
	free(srv->node);
	free(srv->node_url);
	srv->node = node ? strdup(node) : NULL;
	srv->node_url = url ? strdup(url) : NULL;
}

/*
 * The wake-up goes through an eventfd rather than event_active(): event_active
 * from another thread is only safe on a base created after
 * evthread_use_pthreads(), which the caller controls and we cannot check,
 * while a write to an eventfd is safe from any thread on any base. The write
 * happens only when nothing is pending yet, so a burst costs one wake-up.
 */
static void publish(vg_http_camera *cam, int frame, vg_blob *blob)
{
	vg_http_server *srv = cam->srv;
	if (atomic_load(&srv->closed)) {
		vg_blob_unref(blob);
		return;
	}
	pthread_mutex_lock(&srv->lock);
	vg_blob **slot = frame ? &cam->pending_frame : &cam->pending_event;
	vg_blob *old = *slot;
	*slot = blob;
	int wake = !srv->wake_pending;
	srv->wake_pending = 1;
	pthread_mutex_unlock(&srv->lock);
	vg_blob_unref(old);
	if (wake) {
		uint64_t one = 1;
		ssize_t unused = write(srv->wake_fd, &one, sizeof one);
		(void)unused;
	}
}

void vg_http_camera_publish_frame(vg_http_camera *cam, vg_blob *part)
{
	publish(cam, 1, part);
}

void vg_http_camera_publish_event(vg_http_camera *cam, vg_blob *sse_message)
{
	publish(cam, 0, sse_message);
}

void vg_http_camera_publish_notice(vg_http_camera *cam, vg_blob *sse_message)
{
	vg_http_server *srv = cam->srv;
	if (atomic_load(&srv->closed)) {
		vg_blob_unref(sse_message);
		return;
	}
	pthread_mutex_lock(&srv->lock);
	int kept = cam->nnotices < VG_HTTP_NOTICES_MAX;
	if (kept)
		cam->notices[cam->nnotices++] = sse_message;
	int wake = kept && !srv->wake_pending;
	if (wake)
		srv->wake_pending = 1;
	pthread_mutex_unlock(&srv->lock);
	if (!kept) {
		atomic_fetch_add_explicit(&srv->stats->http_notices_dropped, 1, memory_order_relaxed);
		vg_blob_unref(sse_message);
	}
	if (wake) {
		uint64_t one = 1;
		ssize_t unused = write(srv->wake_fd, &one, sizeof one);
		(void)unused;
	}
}

static void deliver_frame(vg_http_camera *cam, vg_blob *frame)
{
	vg_http_server *srv = cam->srv;
	vg_blob_unref(cam->frame);
	cam->frame = frame;
	cam->last_frame_mono_us = vg_mono_us();
	if (cam->nstream == 0)
		return;
	uint64_t sent = 0, skipped = 0;
	for (vg_conn *c = srv->conns; c; c = c->next) {
		if (c->state != CONN_STREAM || c->cam != cam)
			continue;
		vg_delivery_offered(&c->delivery);
		/* A client still sending the previous part skips this one, so a slow client holds one part at most. */
		if (vg_http__ready_for_part(c, frame->len) && vg_http__queue_blob(c, frame, frame->data, frame->len, 1) == 0)
			sent++;
		else
			skipped++;
	}
	atomic_fetch_add_explicit(&srv->stats->http_frames_sent, sent, memory_order_relaxed);
	atomic_fetch_add_explicit(&srv->stats->http_frames_skipped, skipped, memory_order_relaxed);
}

/* Queues an SSE message to every /events client that wants it (cam: the camera it is of; NULL: all want it). */
static void send_to_event_clients(vg_http_server *srv, vg_blob *msg, const vg_http_camera *cam)
{
	for (vg_conn *c = srv->conns; c; c = c->next) {
		if (c->state != CONN_EVENTS || (cam && c->cam && c->cam != cam))
			continue;
		vg_delivery_offered(&c->delivery);
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) < SSE_MAX_QUEUED)
			vg_http__queue_blob(c, msg, msg->data, msg->len, 1);
	}
}

static void deliver_event(vg_http_camera *cam, vg_blob *event)
{
	vg_blob_unref(cam->event);
	cam->event = event;
	send_to_event_clients(cam->srv, event, cam);
}

void vg_http__on_wake(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	vg_http_server *srv = arg;
	uint64_t count;
	ssize_t unused = read(fd, &count, sizeof count);
	(void)unused;
	pthread_mutex_lock(&srv->lock);
	srv->wake_pending = 0;
	pthread_mutex_unlock(&srv->lock);
	/* The list changes on this thread only, so it is walked unlocked; each camera's hand-over is taken locked. */
	for (vg_http_camera *cam = srv->cameras; cam; cam = cam->next) {
		pthread_mutex_lock(&srv->lock);
		vg_blob *frame = cam->pending_frame, *event = cam->pending_event;
		cam->pending_frame = cam->pending_event = NULL;
		vg_blob *notices[VG_HTTP_NOTICES_MAX];
		int nnotices = cam->nnotices;
		memcpy(notices, cam->notices, (size_t)nnotices * sizeof notices[0]);
		cam->nnotices = 0;
		pthread_mutex_unlock(&srv->lock);
		if (frame)
			deliver_frame(cam, frame);
		if (event)
			deliver_event(cam, event);
		for (int i = 0; i < nnotices; i++) {
			send_to_event_clients(srv, notices[i], cam);
			vg_blob_unref(notices[i]);
		}
	}
}

void vg_http__queue_latest_events(vg_conn *c)
{
	for (vg_http_camera *cam = c->srv->cameras; cam; cam = cam->next)
		if (cam->event && (!c->cam || c->cam == cam))
			vg_http__queue_blob(c, cam->event, cam->event->data, cam->event->len, 1);
}

/* The cameras' names and stats for status.c, all of them or only one. Returns how many. */
static int gather(vg_http_server *srv, const vg_http_camera *only, const char **names, const vg_stats **stats)
{
	int n = 0;
	for (vg_http_camera *cam = srv->cameras; cam && n < MAX_LISTED; cam = cam->next) {
		if (only && cam != only)
			continue;
		names[n] = cam->name;
		stats[n++] = cam->stats;
	}
	return n;
}

/* The store's counters join the server's stats when they are read. */
static void copy_store_stats(vg_http_server *srv)
{
	if (!srv->store)
		return;
	vg_store_stats s;
	vg_event_store_get_stats(srv->store, &s);
	vg_stats *st = srv->stats;
	atomic_store(&st->store_enabled, 1);
	atomic_store(&st->store_written, s.events_written);
	atomic_store(&st->store_dropped, s.dropped);
	atomic_store(&st->store_write_errors, s.write_errors);
	atomic_store(&st->store_removed_events, s.removed_events);
	atomic_store(&st->store_removed_files, s.removed_files);
	atomic_store(&st->store_bytes, s.bytes);
}

char *vg_http__stats_json(vg_http_server *srv, const vg_http_camera *only)
{
	copy_store_stats(srv);
	const char *names[MAX_LISTED];
	const vg_stats *stats[MAX_LISTED];
	int n = gather(srv, only, names, stats);
	return vg_status_json_cameras(srv->stats, names, stats, n, vg_mono_us());
}

char *vg_http__metrics(vg_http_server *srv)
{
	copy_store_stats(srv);
	const char *names[MAX_LISTED];
	const vg_stats *stats[MAX_LISTED];
	int n = gather(srv, NULL, names, stats);
	return vg_status_metrics_cameras(srv->stats, names, stats, n, vg_mono_us());
}

vg_blob *vg_http__stats_event(vg_http_server *srv, const vg_http_camera *cam)
{
	char *json = vg_http__stats_json(srv, cam);
	if (!json)
		return NULL;
	static const char head[] = "event: stats\ndata: ";
	size_t jlen = strlen(json);
	vg_blob *b = vg_blob_new(sizeof head - 1 + jlen + 2);
	if (b) {
		memcpy(b->data, head, sizeof head - 1);
		memcpy(b->data + sizeof head - 1, json, jlen);
		memcpy(b->data + sizeof head - 1 + jlen, "\n\n", 2);
		b->payload_off = sizeof head - 1;
		b->payload_len = jlen;
	}
	free(json);
	return b;
}

void vg_http__send_stats(vg_http_server *srv)
{
	/* One document for the clients of every camera, and one per camera that a client asked for alone. */
	vg_blob *all = NULL;
	for (vg_conn *c = srv->conns; c; c = c->next) {
		if (c->state != CONN_EVENTS || evbuffer_get_length(bufferevent_get_output(c->bev)) >= SSE_MAX_QUEUED)
			continue;
		vg_blob *b;
		if (c->cam) {
			b = vg_http__stats_event(srv, c->cam);
		} else {
			if (!all)
				all = vg_http__stats_event(srv, NULL);
			b = all ? vg_blob_ref(all) : NULL;
		}
		if (!b)
			continue;
		vg_delivery_offered(&c->delivery);
		vg_http__queue_blob(c, b, b->data, b->len, 1);
		vg_blob_unref(b);
	}
	vg_blob_unref(all);
}

int vg_http__health(vg_http_server *srv, const vg_http_camera *only, char *msg, size_t cap)
{
	if (!srv->cameras) {
		snprintf(msg, cap, "unhealthy: no camera is configured\n");
		return 503;
	}
	/* Healthy when every camera asked about is; otherwise the reasons, one line per camera. */
	int status = 200;
	size_t len = 0;
	msg[0] = '\0';
	int64_t now = vg_mono_us();
	for (vg_http_camera *cam = srv->cameras; cam; cam = cam->next) {
		if (only && cam != only)
			continue;
		char one[256];
		if (vg_status_health(cam->stats, cam->last_frame_mono_us, now, one, sizeof one) == 200)
			continue;
		status = 503;
		if (len < cap) {
			int w = only || srv->ncameras == 1 ? snprintf(msg + len, cap - len, "%s", one)
							     : snprintf(msg + len, cap - len, "%s: %s", cam->name, one);
			len += w > 0 ? (size_t)w : 0;
		}
	}
	if (status == 200)
		snprintf(msg, cap, "ok");
	return status;
}

/* The paths of a camera's stream, snapshot and events, as every node serves them. 1, or 0 when out of memory. */
static int add_paths(cJSON *o, const char *name)
{
	char path[64 + VG_HTTP_CAMERA_NAME_MAX];
	snprintf(path, sizeof path, "/cam/%s/video_feed", name);
	cJSON_AddStringToObject(o, "video_feed", path);
	snprintf(path, sizeof path, "/cam/%s/snapshot.jpg", name);
	cJSON_AddStringToObject(o, "snapshot", path);
	snprintf(path, sizeof path, "/cam/%s/events", name);
	return cJSON_AddStringToObject(o, "events", path) != NULL;
}

char *vg_http__cameras_json(vg_http_server *srv)
{
	cJSON *root = cJSON_CreateObject();
	if (!root)
		return NULL;
	int ok = 1;
	const char *node = srv->node ? srv->node : "default";
	ok &= cJSON_AddStringToObject(root, "node", node) != NULL;
	cJSON *list = cJSON_AddArrayToObject(root, "cameras");
	ok &= list != NULL;
	for (vg_http_camera *cam = srv->cameras; ok && cam; cam = cam->next) {
		cJSON *o = cJSON_CreateObject();
		ok &= o && cJSON_AddItemToArray(list, o);
		if (!ok)
			break;
		cJSON_AddStringToObject(o, "name", cam->name);
		cJSON_AddStringToObject(o, "node", node);
		if (srv->node_url)
			cJSON_AddStringToObject(o, "url", srv->node_url);
		cJSON_AddBoolToObject(o, "local", 1);
		cJSON_AddBoolToObject(o, "online", 1);
		cJSON_AddStringToObject(o, "state", vg_source_state_name(atomic_load(&cam->stats->source_state)));
		cJSON_AddBoolToObject(o, "analysis", atomic_load(&cam->stats->analysis_enabled));
		cJSON_AddNumberToObject(o, "width", atomic_load(&cam->stats->source_width));
		cJSON_AddNumberToObject(o, "height", atomic_load(&cam->stats->source_height));
		ok &= add_paths(o, cam->name);
	}
	/* The other nodes' cameras ({name, node, url, online}, as the broker last told of them). */
	if (ok && srv->fleet) {
		char *fleet = srv->fleet(srv->fleet_opaque);
		cJSON *more = fleet ? cJSON_Parse(fleet) : NULL;
		free(fleet);
		cJSON *item;
		while (cJSON_IsArray(more) && (item = cJSON_DetachItemFromArray(more, 0)) != NULL) {
			const cJSON *name = cJSON_GetObjectItem(item, "name");
			if (!cJSON_IsString(name) || !vg_config_name_valid(name->valuestring)) {
				cJSON_Delete(item);
				continue;
			}
			int online = cJSON_IsTrue(cJSON_GetObjectItem(item, "online"));
			cJSON_AddBoolToObject(item, "local", 0);
			cJSON_AddStringToObject(item, "state", online ? "remote" : "offline");
			cJSON_AddItemToArray(list, item);
			ok &= add_paths(item, name->valuestring);
		}
		cJSON_Delete(more);
	}
	char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
	cJSON_Delete(root);
	return text;
}
