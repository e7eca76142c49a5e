/*
 * The object events over HTTP, read from the store (store/event_store.h):
 *
 *   /api/events?camera=&label=&zone=&after=&before=&limit=&in_progress=1
 *                                    recent events, newest first (JSON array)
 *   /api/events/ID                   one event (JSON object)
 *   /api/events/ID/snapshot.jpg      its best frame; ?crop=1: around the object
 *   /api/events/ID/clip.mp4          its clip, with range requests (206) so that a <video> can seek
 *   /api/counts?camera=&from=&to=    zone entries and line crossings per hour
 *
 * Times are Unix seconds. Everything else under /api/events is a 404.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/server_internal.h"
#include "store/event_store.h"

static int path_is(const vg_http_request *req, const char *path)
{
	size_t n = strlen(path);
	return req->path_len == n && memcmp(req->path, path, n) == 0;
}

/* A query parameter as a number; def when absent; -1 in *bad when present but not a number. */
static double number_param(const vg_http_request *req, const char *name, double def, int *bad)
{
	char v[32];
	if (vg_http_query_param(req->query, req->query_len, name, v, sizeof v) <= 0)
		return def;
	char *end;
	double x = strtod(v, &end);
	if (end == v || *end != '\0' || x != x) {
		*bad = 1;
		return def;
	}
	return x;
}

static void serve_list(vg_conn *c, vg_event_store *st, const vg_http_request *req, int head_only, int close)
{
	char camera[VG_OBJECT_CAMERA_MAX], label[VG_OBJECT_LABEL_MAX], zone[VG_ZONE_NAME_MAX + 1];
	vg_event_query q = { 0 };
	if (vg_http_query_param(req->query, req->query_len, "camera", camera, sizeof camera) > 0)
		q.camera = camera;
	if (vg_http_query_param(req->query, req->query_len, "label", label, sizeof label) > 0)
		q.label = label;
	if (vg_http_query_param(req->query, req->query_len, "zone", zone, sizeof zone) > 0)
		q.zone = zone;
	int bad = 0;
	q.after = number_param(req, "after", 0, &bad);
	q.before = number_param(req, "before", 0, &bad);
	double limit = number_param(req, "limit", 50, &bad);
	q.in_progress = number_param(req, "in_progress", 0, &bad) != 0;
	if (bad || limit < 1 || limit > 1000) {
		vg_http__send_error(c, 400, "after, before and in_progress must be numbers, and limit 1 to 1000", head_only,
				    close);
		return;
	}
	q.limit = (int)limit;
	vg_http__send_text(c, vg_event_store_query_json(st, &q), "application/json", head_only, close);
}

static void serve_counts(vg_conn *c, vg_event_store *st, const vg_http_request *req, int head_only, int close)
{
	char camera[VG_OBJECT_CAMERA_MAX];
	int has_camera = vg_http_query_param(req->query, req->query_len, "camera", camera, sizeof camera) > 0;
	int bad = 0;
	double from = number_param(req, "from", 0, &bad), to = number_param(req, "to", 0, &bad);
	if (bad) {
		vg_http__send_error(c, 400, "from and to must be Unix times in seconds", head_only, close);
		return;
	}
	vg_http__send_text(c, vg_event_store_counts_json(st, has_camera ? camera : NULL, from, to), "application/json",
			   head_only, close);
}

/* /api/events/ID[/WHAT]: the event must exist, and its files are found by its camera. */
static void serve_one(vg_conn *c, vg_event_store *st, const vg_http_request *req, int head_only, int close)
{
	const char *rest = req->path + strlen("/api/events/"), *end = req->path + req->path_len;
	const char *slash = memchr(rest, '/', (size_t)(end - rest));
	size_t idlen = (size_t)((slash ? slash : end) - rest);
	char id[VG_OBJECT_ID_MAX];
	if (idlen == 0 || idlen >= sizeof id) {
		vg_http__send_error(c, 404, "no such event", head_only, close);
		return;
	}
	memcpy(id, rest, idlen);
	id[idlen] = '\0';
	vg_object_state s;
	int rc = vg_event_id_valid(id) ? vg_event_store_get(st, id, &s) : -1;
	/*
	 * An event announced on /events a moment ago may still wait in the
	 * store's queue: wait for the writes queued so far (none: no wait).
	 */
	if (rc == 1) {
		vg_event_store_flush(st);
		rc = vg_event_store_get(st, id, &s);
	}
	if (rc != 0) {
		vg_http__send_error(c, 404, "no such event", head_only, close);
		return;
	}
	size_t what_len = slash ? (size_t)(end - slash) : 0;
	char path[4096];
	if (!slash) {
		char *json = malloc(VG_OBJECT_STATE_JSON_MAX);
		if (json && vg_object_state_json(&s, json, VG_OBJECT_STATE_JSON_MAX) == 0) {
			free(json);
			json = NULL;
		}
		vg_http__send_text(c, json, "application/json", head_only, close);
	} else if (what_len == 13 && memcmp(slash, "/snapshot.jpg", 13) == 0) {
		char crop[8];
		int want_crop = vg_http_query_param(req->query, req->query_len, "crop", crop, sizeof crop) > 0 &&
				strcmp(crop, "0") != 0;
		if (!s.has_snapshot ||
		    vg_event_store_snapshot_path(st, s.camera, id, want_crop, path, sizeof path) != 0)
			vg_http__send_error(c, 404, "this event has no snapshot", head_only, close);
		else
			vg_http__send_file(c, req, path, "image/jpeg", head_only, close);
	} else if (what_len == 9 && memcmp(slash, "/clip.mp4", 9) == 0) {
		if (!s.has_clip || vg_event_store_clip_path(st, s.camera, id, path, sizeof path) != 0)
			vg_http__send_error(c, 404, "this event has no clip", head_only, close);
		else
			vg_http__send_file(c, req, path, "video/mp4", head_only, close);
	} else {
		vg_http__send_error(c, 404, "no such resource", head_only, close);
	}
}

int vg_http__serve_events_api(vg_conn *c, const vg_http_request *req, int head_only, int close)
{
	int events = path_is(req, "/api/events"), counts = path_is(req, "/api/counts");
	int one = req->path_len > 12 && memcmp(req->path, "/api/events/", 12) == 0;
	if (!events && !counts && !one)
		return 0;
	vg_event_store *st = c->srv->store;
	if (!st)
		vg_http__send_error(c, 404, "events are not kept on this server (no camera tracks objects)", head_only,
				    close);
	else if (events)
		serve_list(c, st, req, head_only, close);
	else if (counts)
		serve_counts(c, st, req, head_only, close);
	else
		serve_one(c, st, req, head_only, close);
	return 1;
}

void vg_http_server_set_store(vg_http_server *srv, struct vg_event_store *store)
{
	srv->store = store;
}
