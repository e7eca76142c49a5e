#ifndef VG_STATS_H
#define VG_STATS_H

#include <stdatomic.h>
#include <stdint.h>

/*
 * Counters and gauges shared by every stage. Each field has one writer (the
 * stage named in its prefix) and any number of readers (the HTTP loop that
 * renders /api/stats and /metrics), so plain atomic loads and stores suffice.
 * Durations are microseconds; *_ewma fields are exponentially weighted
 * moving averages (weight 1/8 for the newest sample).
 */

struct vg_zones;

enum vg_source_state {
	VG_SOURCE_STARTING = 0,
	VG_SOURCE_RUNNING,
	VG_SOURCE_RECONNECTING,
	VG_SOURCE_ENDED,
	VG_SOURCE_DISABLED,   /* a camera the configuration turns off: no source opened */
};

typedef struct vg_stats {
	int64_t start_mono_us;
	const char *source_uri;

	/* Source thread. */
	atomic_int source_state;
	atomic_int source_width, source_height;
	atomic_int_fast64_t source_nominal_fps_milli;  /* from the container; 0 if unknown */
	atomic_uint_fast64_t source_frames;
	atomic_uint_fast64_t source_corrupt_packets;
	atomic_uint_fast64_t source_reconnects;
	atomic_int_fast64_t source_last_frame_mono_us;
	atomic_int_fast64_t source_interval_ewma;
	atomic_int_fast64_t decode_ewma;

	/* Analysis (inference, on a worker of the pool). */
	atomic_int analysis_enabled;                 /* the camera's analysis is on (set by whoever turns it) */
	atomic_int analysis_share_milli;             /* share of the workers' time lately, in thousandths */
	atomic_int analysis_fair_share_milli;        /* an equal split's share, in thousandths */
	atomic_uint_fast64_t analysis_frames;
	atomic_uint_fast64_t analysis_drops;
	atomic_int_fast64_t analysis_ewma;
	atomic_int_fast64_t analysis_interval_ewma;
	/* Tracking (analysis): its counts after the last analysed frame (track/tracker.h). */
	atomic_int track_enabled;
	atomic_int track_live;
	atomic_uint_fast64_t track_births, track_confirmed, track_deaths, track_fragments;
	/*
	 * The camera's zones and lines (track/zones.h, which locks its counts), or
	 * NULL. Set and cleared on the loop thread, as the pipeline is made and
	 * destroyed there, where the stats are read.
	 */
	struct vg_zones *zones;
	/* Object events (analysis) and their clips (the recorder's thread, and the analysis). */
	atomic_int events_enabled;
	atomic_uint_fast64_t events_started, events_ended, snapshots_saved, snapshots_failed;
	atomic_int clips_enabled, clips_paused;
	atomic_uint_fast64_t clips_done, clips_failed, clips_dropped;

	/* Encode thread. */
	atomic_uint_fast64_t encode_frames;
	atomic_uint_fast64_t encode_drops;
	atomic_uint_fast64_t encode_skipped_fps_cap;
	atomic_int_fast64_t encode_ewma;
	atomic_int_fast64_t output_interval_ewma;
	atomic_int_fast64_t latency_ewma;        /* capture to JPEG ready */
	atomic_uint_fast64_t output_bytes;

	/* HTTP loop. */
	atomic_int http_stream_clients;
	atomic_int http_event_clients;
	atomic_int http_connections;
	atomic_uint_fast64_t http_requests;
	atomic_uint_fast64_t http_rejected;         /* 4xx/5xx answers and dropped abusive connections */
	atomic_uint_fast64_t http_frames_sent;      /* MJPEG parts queued to clients */
	atomic_uint_fast64_t http_frames_skipped;   /* parts a slow client did not get */
	atomic_uint_fast64_t http_notices_dropped;  /* zone and line events past the queue between two loop turns */
	atomic_uint_fast64_t http_bytes_sent;
	atomic_uint_fast64_t http_clients_dropped;  /* stream and event clients cut off for receiving no whole message */
	atomic_uint_fast64_t http_clients_evicted;  /* slow clients that made room for a new one */
	atomic_uint_fast64_t http_over_limit;       /* connections turned away by a connection limit */

	/* MQTT (the server's stats only; copied from the client once a second). */
	atomic_int mqtt_enabled;
	atomic_int mqtt_connected;
	atomic_uint_fast64_t mqtt_published;
	atomic_uint_fast64_t mqtt_dropped;          /* the bounded queue was full */
	atomic_uint_fast64_t mqtt_errors;

	/* The event store (the server's stats only; copied from the store when the stats are read). */
	atomic_int store_enabled;
	atomic_uint_fast64_t store_written, store_dropped, store_write_errors, store_removed_events, store_removed_files;
	atomic_int_fast64_t store_bytes;
} vg_stats;

void vg_stats_init(vg_stats *stats, const char *source_uri);

/* Folds one sample into an EWMA field; the first sample sets it. Single writer only. */
void vg_stats_ewma(atomic_int_fast64_t *field, int64_t sample);

const char *vg_source_state_name(int state);

#endif
