#include "http/status.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/redact.h"
#include "track/zones.h"

#ifndef VG_VERSION
#define VG_VERSION "unknown"
#endif

#define LOAD(field) atomic_load_explicit(&stats->field, memory_order_relaxed)

/* Frames per second from a mean interval in microseconds, to two decimals; 0 when unknown. */
static double rate(int64_t interval_us)
{
	return interval_us > 0 ? round(1e8 / (double)interval_us) / 100.0 : 0.0;
}

static double ms(int64_t us)
{
	return round((double)us) / 1000.0;
}

/* The camera's zones and lines with their counts (zones.h): "zones" and "lines" in obj; 0 or -1. */
static int add_zones(cJSON *obj, struct vg_zones *z)
{
	char *text = vg_zones_stats_json(z, vg_wall_us());
	cJSON *j = text ? cJSON_Parse(text) : NULL;
	free(text);
	if (!j)
		return -1;
	for (const char *key = "zones";; key = "lines") {
		cJSON *item = cJSON_DetachItemFromObjectCaseSensitive(j, key);
		if (item)
			cJSON_AddItemToObject(obj, key, item);
		if (!strcmp(key, "lines"))
			break;
	}
	cJSON_Delete(j);
	return 0;
}

/* The source, analysis and output sections of one camera's stats into obj; 0, or -1 when out of memory. */
static int add_camera_sections(cJSON *obj, const vg_stats *stats, int64_t now_mono_us)
{
	/* The caller's string should already be the display form; redacting again costs nothing and is idempotent. */
	char uri[VG_REDACT_MAX];
	vg_redact_uri(stats->source_uri, uri, sizeof uri);
	int64_t last = LOAD(source_last_frame_mono_us);

	cJSON *src = cJSON_AddObjectToObject(obj, "source");
	cJSON_AddStringToObject(src, "uri", uri);
	cJSON_AddStringToObject(src, "state", vg_source_state_name(LOAD(source_state)));
	cJSON_AddNumberToObject(src, "width", LOAD(source_width));
	cJSON_AddNumberToObject(src, "height", LOAD(source_height));
	cJSON_AddNumberToObject(src, "fps", rate(LOAD(source_interval_ewma)));
	cJSON_AddNumberToObject(src, "nominal_fps", (double)LOAD(source_nominal_fps_milli) / 1000.0);
	cJSON_AddNumberToObject(src, "frames", (double)LOAD(source_frames));
	cJSON_AddNumberToObject(src, "corrupt_packets", (double)LOAD(source_corrupt_packets));
	cJSON_AddNumberToObject(src, "reconnects", (double)LOAD(source_reconnects));
	cJSON_AddNumberToObject(src, "decode_ms", ms(LOAD(decode_ewma)));
	if (last > 0)
		cJSON_AddNumberToObject(src, "last_frame_age_ms", ms(now_mono_us - last));
	else
		cJSON_AddNullToObject(src, "last_frame_age_ms");

	cJSON *an = cJSON_AddObjectToObject(obj, "analysis");
	cJSON_AddBoolToObject(an, "enabled", LOAD(analysis_enabled));
	cJSON_AddNumberToObject(an, "frames", (double)LOAD(analysis_frames));
	cJSON_AddNumberToObject(an, "drops", (double)LOAD(analysis_drops));
	cJSON_AddNumberToObject(an, "fps", rate(LOAD(analysis_interval_ewma)));
	cJSON_AddNumberToObject(an, "latency_ms", ms(LOAD(analysis_ewma)));
	cJSON_AddNumberToObject(an, "share", (double)LOAD(analysis_share_milli) / 1000.0);
	cJSON_AddNumberToObject(an, "fair_share", (double)LOAD(analysis_fair_share_milli) / 1000.0);

	if (LOAD(track_enabled)) {
		cJSON *tr = cJSON_AddObjectToObject(obj, "tracking");
		cJSON_AddNumberToObject(tr, "live", LOAD(track_live));
		cJSON_AddNumberToObject(tr, "births", (double)LOAD(track_births));
		cJSON_AddNumberToObject(tr, "confirmed", (double)LOAD(track_confirmed));
		cJSON_AddNumberToObject(tr, "deaths", (double)LOAD(track_deaths));
		cJSON_AddNumberToObject(tr, "fragments", (double)LOAD(track_fragments));
		if (!tr)
			return -1;
	}
	if (stats->zones && add_zones(obj, stats->zones) < 0)
		return -1;
	if (LOAD(events_enabled)) {
		cJSON *ev = cJSON_AddObjectToObject(obj, "events");
		cJSON_AddNumberToObject(ev, "started", (double)LOAD(events_started));
		cJSON_AddNumberToObject(ev, "ended", (double)LOAD(events_ended));
		cJSON_AddNumberToObject(ev, "snapshots", (double)LOAD(snapshots_saved));
		cJSON_AddNumberToObject(ev, "snapshots_failed", (double)LOAD(snapshots_failed));
		if (LOAD(clips_enabled)) {
			cJSON *cl = cJSON_AddObjectToObject(ev, "clips");
			cJSON_AddNumberToObject(cl, "done", (double)LOAD(clips_done));
			cJSON_AddNumberToObject(cl, "failed", (double)LOAD(clips_failed));
			cJSON_AddNumberToObject(cl, "dropped", (double)LOAD(clips_dropped));
			cJSON_AddBoolToObject(cl, "paused", LOAD(clips_paused));
			if (!cl)
				return -1;
		}
		if (!ev)
			return -1;
	}

	cJSON *out = cJSON_AddObjectToObject(obj, "output");
	cJSON_AddNumberToObject(out, "frames", (double)LOAD(encode_frames));
	cJSON_AddNumberToObject(out, "fps", rate(LOAD(output_interval_ewma)));
	cJSON_AddNumberToObject(out, "drops", (double)LOAD(encode_drops));
	cJSON_AddNumberToObject(out, "skipped_fps_cap", (double)LOAD(encode_skipped_fps_cap));
	cJSON_AddNumberToObject(out, "encode_ms", ms(LOAD(encode_ewma)));
	cJSON_AddNumberToObject(out, "latency_ms", ms(LOAD(latency_ewma)));
	cJSON_AddNumberToObject(out, "bytes", (double)LOAD(output_bytes));
	return src && an && out ? 0 : -1;
}

/* The clients section: the server's HTTP counters; 0 or -1. */
static int add_clients_section(cJSON *obj, const vg_stats *stats)
{
	cJSON *cl = cJSON_AddObjectToObject(obj, "clients");
	cJSON_AddNumberToObject(cl, "stream", LOAD(http_stream_clients));
	cJSON_AddNumberToObject(cl, "events", LOAD(http_event_clients));
	cJSON_AddNumberToObject(cl, "connections", LOAD(http_connections));
	cJSON_AddNumberToObject(cl, "requests", (double)LOAD(http_requests));
	cJSON_AddNumberToObject(cl, "rejected", (double)LOAD(http_rejected));
	cJSON_AddNumberToObject(cl, "frames_sent", (double)LOAD(http_frames_sent));
	cJSON_AddNumberToObject(cl, "frames_skipped", (double)LOAD(http_frames_skipped));
	cJSON_AddNumberToObject(cl, "notices_dropped", (double)LOAD(http_notices_dropped));
	cJSON_AddNumberToObject(cl, "bytes_sent", (double)LOAD(http_bytes_sent));
	cJSON_AddNumberToObject(cl, "dropped", (double)LOAD(http_clients_dropped));
	cJSON_AddNumberToObject(cl, "evicted", (double)LOAD(http_clients_evicted));
	cJSON_AddNumberToObject(cl, "over_limit", (double)LOAD(http_over_limit));
	return cl ? 0 : -1;
}

char *vg_status_json(const vg_stats *stats, int64_t now_mono_us)
{
	const char *name = "default";
	return vg_status_json_cameras(stats, &name, &stats, 1, now_mono_us);
}

char *vg_status_json_cameras(const vg_stats *stats, const char *const *names, const vg_stats *const *cams, int n,
			     int64_t now_mono_us)
{
	cJSON *root = cJSON_CreateObject();
	if (!root)
		return NULL;
	/* cJSON reports allocation failures only through NULL members; printing then fails as well. */
	int ok = 1;
	/* The first camera's sections at the top, where one-camera pages and scripts read them. */
	if (n > 0)
		ok &= add_camera_sections(root, cams[0], now_mono_us) == 0;
	ok &= add_clients_section(root, stats) == 0;
	cJSON *list = cJSON_AddArrayToObject(root, "cameras");
	ok &= list != NULL;
	for (int i = 0; ok && i < n; i++) {
		cJSON *cam = cJSON_CreateObject();
		ok &= cam && cJSON_AddItemToArray(list, cam);
		if (!ok)
			break;
		cJSON_AddStringToObject(cam, "name", names[i]);
		ok &= add_camera_sections(cam, cams[i], now_mono_us) == 0;
		cJSON *cl = cJSON_AddObjectToObject(cam, "clients");
		ok &= cl && cJSON_AddNumberToObject(cl, "stream", atomic_load(&cams[i]->http_stream_clients));
	}
	if (LOAD(mqtt_enabled)) {
		cJSON *mq = cJSON_AddObjectToObject(root, "mqtt");
		ok &= mq != NULL;
		cJSON_AddBoolToObject(mq, "connected", LOAD(mqtt_connected));
		cJSON_AddNumberToObject(mq, "published", (double)LOAD(mqtt_published));
		cJSON_AddNumberToObject(mq, "dropped", (double)LOAD(mqtt_dropped));
		cJSON_AddNumberToObject(mq, "errors", (double)LOAD(mqtt_errors));
	}
	if (LOAD(store_enabled)) {
		cJSON *st = cJSON_AddObjectToObject(root, "store");
		ok &= st != NULL;
		cJSON_AddNumberToObject(st, "written", (double)LOAD(store_written));
		cJSON_AddNumberToObject(st, "dropped", (double)LOAD(store_dropped));
		cJSON_AddNumberToObject(st, "write_errors", (double)LOAD(store_write_errors));
		cJSON_AddNumberToObject(st, "removed_events", (double)LOAD(store_removed_events));
		cJSON_AddNumberToObject(st, "removed_files", (double)LOAD(store_removed_files));
		cJSON_AddNumberToObject(st, "bytes", (double)LOAD(store_bytes));
	}
	cJSON_AddNumberToObject(root, "uptime_s", round((double)(now_mono_us - stats->start_mono_us) / 1e3) / 1e3);
	cJSON_AddStringToObject(root, "version", VG_VERSION);
	char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
	cJSON_Delete(root);
	return text;
}

/* A growing string; once an allocation fails it stays failed and yields NULL. */
typedef struct {
	char *p;
	size_t len, cap;
	int failed;
} text_buf;

static void put(text_buf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(text_buf *t, const char *fmt, ...)
{
	for (int attempt = 0; attempt < 2 && !t->failed; attempt++) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->failed = 1;
			return;
		}
		if (t->p && (size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		size_t need = t->len + (size_t)n + 1;
		size_t cap = t->cap ? t->cap : 4096;
		while (cap < need)
			cap *= 2;
		char *p = realloc(t->p, cap);
		if (!p) {
			t->failed = 1;
			return;
		}
		t->p = p;
		t->cap = cap;
	}
}

static void family(text_buf *t, const char *name, const char *type, const char *help)
{
	put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void counter(text_buf *t, const char *name, const char *help, uint64_t value)
{
	family(t, name, "counter", help);
	put(t, "%s %" PRIu64 "\n", name, value);
}

static void gauge(text_buf *t, const char *name, const char *help, double value)
{
	family(t, name, "gauge", help);
	put(t, "%s %.9g\n", name, value);
}

static double seconds(int64_t us)
{
	return (double)us / 1e6;
}

/* One family with a sample per camera, each labelled with its camera. */
#define PER_CAMERA(kind, fmt, name, help, expr)                                                   \
	do {                                                                                       \
		family(&t, name, kind, help);                                                      \
		for (int i_ = 0; i_ < n; i_++) {                                                   \
			const vg_stats *stats = cams[i_];                                          \
			put(&t, "%s{camera=\"%s\"} " fmt "\n", name, names[i_], expr);            \
		}                                                                                  \
	} while (0)
#define CAM_COUNTER(name, help, field) PER_CAMERA("counter", "%" PRIu64, name, help, (uint64_t)LOAD(field))
#define CAM_GAUGE(name, help, expr) PER_CAMERA("gauge", "%.9g", name, help, (double)(expr))

char *vg_status_metrics(const vg_stats *stats, int64_t now_mono_us)
{
	const char *name = "default";
	return vg_status_metrics_cameras(stats, &name, &stats, 1, now_mono_us);
}

char *vg_status_metrics_cameras(const vg_stats *http, const char *const *names, const vg_stats *const *cams, int n,
				int64_t now_mono_us)
{
	text_buf t = { 0 };
	family(&t, "vigil_build_info", "gauge", "Always 1; the version is in the label.");
	put(&t, "vigil_build_info{version=\"%s\"} 1\n", VG_VERSION);
	gauge(&t, "vigil_uptime_seconds", "Seconds since the server started.",
	      seconds(now_mono_us - http->start_mono_us));

	family(&t, "vigil_source_state", "gauge", "1 for the state the camera's source is in, 0 for the others.");
	for (int i = 0; i < n; i++) {
		int state = atomic_load(&cams[i]->source_state);
		for (int s = VG_SOURCE_STARTING; s <= VG_SOURCE_DISABLED; s++)
			put(&t, "vigil_source_state{camera=\"%s\",state=\"%s\"} %d\n", names[i],
			    vg_source_state_name(s), s == state);
	}
	CAM_GAUGE("vigil_source_width_pixels", "Width of the source video.", LOAD(source_width));
	CAM_GAUGE("vigil_source_height_pixels", "Height of the source video.", LOAD(source_height));
	CAM_GAUGE("vigil_source_fps", "Frames per second the source delivers, measured.", rate(LOAD(source_interval_ewma)));
	CAM_GAUGE("vigil_source_nominal_fps", "Frames per second the source declares; 0 if unknown.",
		  (double)LOAD(source_nominal_fps_milli) / 1000.0);
	CAM_COUNTER("vigil_source_frames_total", "Frames decoded from the source.", source_frames);
	CAM_COUNTER("vigil_source_corrupt_packets_total", "Packets the decoder rejected as corrupt.", source_corrupt_packets);
	CAM_COUNTER("vigil_source_reconnects_total", "Times the source was reopened after a failure.", source_reconnects);
	CAM_GAUGE("vigil_source_last_frame_age_seconds", "Seconds since the source delivered a frame; -1 if never.",
		  LOAD(source_last_frame_mono_us) > 0 ? seconds(now_mono_us - LOAD(source_last_frame_mono_us)) : -1.0);
	CAM_GAUGE("vigil_source_decode_seconds", "Time to decode and convert one frame (moving average).",
		  seconds(LOAD(decode_ewma)));

	CAM_GAUGE("vigil_analysis_enabled", "1 when the camera's analysis is on.", LOAD(analysis_enabled));
	CAM_COUNTER("vigil_analysis_frames_total", "Frames analysed by the model.", analysis_frames);
	CAM_COUNTER("vigil_analysis_dropped_frames_total", "Frames replaced before the model could take them.",
		    analysis_drops);
	CAM_GAUGE("vigil_analysis_fps", "Frames analysed per second.", rate(LOAD(analysis_interval_ewma)));
	CAM_GAUGE("vigil_analysis_seconds", "Time to analyse one frame (moving average).", seconds(LOAD(analysis_ewma)));
	CAM_GAUGE("vigil_analysis_share", "Fraction of the inference workers' time the camera had lately.",
		  (double)LOAD(analysis_share_milli) / 1000.0);
	CAM_GAUGE("vigil_analysis_fair_share", "Fraction an equal split among the cameras wanting inference gives.",
		  (double)LOAD(analysis_fair_share_milli) / 1000.0);

	CAM_COUNTER("vigil_output_frames_total", "JPEG frames encoded for clients.", encode_frames);
	CAM_COUNTER("vigil_output_dropped_frames_total", "Frames replaced before the encoder could take them.",
		    encode_drops);
	CAM_COUNTER("vigil_output_skipped_fps_cap_total", "Frames not encoded because of the output frame rate cap.",
		    encode_skipped_fps_cap);
	CAM_GAUGE("vigil_output_fps", "JPEG frames encoded per second.", rate(LOAD(output_interval_ewma)));
	CAM_GAUGE("vigil_output_encode_seconds", "Time to encode one JPEG (moving average).", seconds(LOAD(encode_ewma)));
	CAM_GAUGE("vigil_output_latency_seconds", "Time from capture to JPEG ready (moving average).",
		  seconds(LOAD(latency_ewma)));
	CAM_COUNTER("vigil_output_bytes_total", "Bytes of JPEG encoded.", output_bytes);
	CAM_GAUGE("vigil_camera_stream_clients", "Clients watching the camera's MJPEG stream.", LOAD(http_stream_clients));
	CAM_GAUGE("vigil_track_live", "Confirmed tracks alive now.", LOAD(track_live));
	CAM_COUNTER("vigil_track_births_total", "Tracks started (tentative ones included).", track_births);
	CAM_COUNTER("vigil_track_confirmed_total", "Tracks confirmed (given an id).", track_confirmed);
	CAM_COUNTER("vigil_track_deaths_total", "Confirmed tracks that ended.", track_deaths);
	CAM_COUNTER("vigil_track_fragments_total", "Confirmed tracks that seem to continue another's object.",
		    track_fragments);
	CAM_COUNTER("vigil_events_started_total", "Object events begun (tracks confirmed).", events_started);
	CAM_COUNTER("vigil_events_ended_total", "Object events ended.", events_ended);
	CAM_COUNTER("vigil_event_snapshots_total", "Best snapshots written.", snapshots_saved);
	CAM_COUNTER("vigil_event_snapshots_failed_total", "Best snapshots that could not be written.", snapshots_failed);
	CAM_COUNTER("vigil_clips_total", "Event clips completed.", clips_done);
	CAM_COUNTER("vigil_clips_failed_total", "Event clips that failed (a full disk, ...).", clips_failed);
	CAM_COUNTER("vigil_clips_dropped_total", "Frames or packets the clip recorder's full queue turned away.",
		    clips_dropped);
	CAM_GAUGE("vigil_clips_paused", "1 while clip recording pauses after a write error.", LOAD(clips_paused));
	{
		struct vg_zones **zs = n > 0 ? malloc((size_t)n * sizeof *zs) : NULL;
		for (int i = 0; zs && i < n; i++)
			zs[i] = cams[i]->zones;
		if (n > 0 && (!zs || (!t.failed && vg_zones_metrics(zs, names, n, &t.p, &t.len, &t.cap) < 0)))
			t.failed = 1;
		free(zs);
	}

	const vg_stats *stats = http;
	gauge(&t, "vigil_http_stream_clients", "Clients watching an MJPEG stream.", LOAD(http_stream_clients));
	gauge(&t, "vigil_http_event_clients", "Clients receiving Server-Sent Events.", LOAD(http_event_clients));
	gauge(&t, "vigil_http_connections", "Open HTTP connections.", LOAD(http_connections));
	counter(&t, "vigil_http_requests_total", "HTTP requests received.", LOAD(http_requests));
	counter(&t, "vigil_http_rejected_total", "Error answers and connections cut off for abuse.", LOAD(http_rejected));
	counter(&t, "vigil_http_frames_sent_total", "MJPEG parts queued to clients.", LOAD(http_frames_sent));
	counter(&t, "vigil_http_frames_skipped_total", "MJPEG parts a slow client did not get.",
		LOAD(http_frames_skipped));
	counter(&t, "vigil_http_notices_dropped_total", "Zone and line events dropped before the server could send them.",
		LOAD(http_notices_dropped));
	counter(&t, "vigil_http_sent_bytes_total", "Bytes queued to HTTP clients.", LOAD(http_bytes_sent));
	counter(&t, "vigil_http_clients_dropped_total",
		"Stream and event clients cut off for receiving no whole frame or event.", LOAD(http_clients_dropped));
	counter(&t, "vigil_http_clients_evicted_total", "Slow stream and event clients that made room for a new one.",
		LOAD(http_clients_evicted));
	counter(&t, "vigil_http_over_limit_total", "Connections turned away by a connection limit.",
		LOAD(http_over_limit));
	if (LOAD(mqtt_enabled)) {
		gauge(&t, "vigil_mqtt_connected", "1 while the MQTT broker has the connection.", LOAD(mqtt_connected));
		counter(&t, "vigil_mqtt_published_total", "MQTT messages handed to the client library.",
			LOAD(mqtt_published));
		counter(&t, "vigil_mqtt_dropped_total", "MQTT messages dropped because the queue was full.",
			LOAD(mqtt_dropped));
		counter(&t, "vigil_mqtt_errors_total", "Refused MQTT connections and failed publishes.", LOAD(mqtt_errors));
	}

	if (LOAD(store_enabled)) {
		counter(&t, "vigil_store_written_total", "Event rows written to the store.", LOAD(store_written));
		counter(&t, "vigil_store_dropped_total", "Store writes dropped because the queue was full.",
			LOAD(store_dropped));
		counter(&t, "vigil_store_write_errors_total", "Store statements or files that failed.",
			LOAD(store_write_errors));
		counter(&t, "vigil_store_removed_events_total", "Events retention deleted.", LOAD(store_removed_events));
		counter(&t, "vigil_store_removed_files_total", "Snapshots and clips retention deleted.",
			LOAD(store_removed_files));
		gauge(&t, "vigil_store_bytes", "Bytes of snapshots and clips on disk.", (double)LOAD(store_bytes));
	}

	if (t.failed) {
		free(t.p);
		return NULL;
	}
	return t.p;
}

int vg_status_health(const vg_stats *stats, int64_t last_output_mono_us, int64_t now_mono_us, char *msg,
		     size_t cap)
{
	int state = LOAD(source_state);
	if (state == VG_SOURCE_DISABLED) {
		snprintf(msg, cap, "ok: disabled\n");
		return 200;
	}
	/*
	 * Health means frames flow. An ended file and a source that is
	 * reconnecting deliver none, whatever the age of the last frame says, and
	 * a frame decoded just as a stalled input closed must not hide that.
	 */
	if (state == VG_SOURCE_ENDED) {
		snprintf(msg, cap, "unhealthy: source ended\n");
		return 503;
	}
	if (state == VG_SOURCE_RECONNECTING) {
		snprintf(msg, cap, "unhealthy: source reconnecting (last frame %.1f s ago)\n",
			 last_output_mono_us > 0 ? seconds(now_mono_us - last_output_mono_us) : -1.0);
		return 503;
	}
	if (last_output_mono_us > 0 && now_mono_us - last_output_mono_us <= VG_HEALTH_MAX_AGE_US) {
		snprintf(msg, cap, "ok");
		return 200;
	}
	if (last_output_mono_us > 0)
		snprintf(msg, cap, "unhealthy: no frame produced for %.1f s (source %s)\n",
			 seconds(now_mono_us - last_output_mono_us), vg_source_state_name(state));
	else
		snprintf(msg, cap, "unhealthy: no frame produced yet (source %s)\n", vg_source_state_name(state));
	return 503;
}
