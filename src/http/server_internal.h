#ifndef VG_HTTP_SERVER_INTERNAL_H
#define VG_HTTP_SERVER_INTERNAL_H

/*
 * What server.c (connections, limits, requests) and cameras.c (each camera's
 * frames and events, and their delivery) share. Not for other modules.
 */

#include <event2/bufferevent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "http/delivery.h"
#include "http/request.h"
#include "http/server.h"

struct vg_http_camera {
	vg_http_server *srv;
	char name[VG_HTTP_CAMERA_NAME_MAX + 1];
	vg_stats *stats;
	/* Handed over by the camera's pipeline under srv->lock; the newest wins. */
	vg_blob *pending_frame, *pending_event;
	/* Discrete events (zones, lines) in order: each one is sent, none replaces another. */
	vg_blob *notices[VG_HTTP_NOTICES_MAX];
	int nnotices;
	/* Loop thread only. */
	vg_blob *frame;   /* newest delivered MJPEG part: snapshots and new stream clients */
	vg_blob *event;   /* newest delivered SSE message: new /events clients */
	int64_t last_frame_mono_us;
	int nstream;
	struct vg_http_camera *next;
};

enum conn_state {
	CONN_REQUEST,   /* reading requests and answering them */
	CONN_CLOSING,   /* a final answer is queued; close once it is sent */
	CONN_LINGER,    /* answer sent and write side shut; discarding input until EOF */
	CONN_STREAM,    /* /video_feed */
	CONN_EVENTS,    /* /events */
};

typedef struct vg_conn {
	vg_http_server *srv;
	struct bufferevent *bev;
	struct event *timer;   /* header deadline, idle timeout or linger, by state */
	enum conn_state state;
	int in_head;           /* the header deadline runs: the connection is new or a request has begun */
	int peer_eof;
	size_t discarded;      /* input bytes thrown away after the last request */
	vg_http_parser parser;
	vg_peer *peer;         /* the address it counts against: the socket's, or the client a trusted proxy names */
	int via_proxy;         /* the socket's peer is a --trusted-proxy */
	int pending;           /* counted in peer->pending: a request head is incoming */
	const char *over_limit;  /* why it is turned away (answered 503 after its head), or NULL */
	vg_delivery delivery;  /* CONN_STREAM and CONN_EVENTS: what the client has received */
	vg_http_camera *cam;   /* CONN_STREAM: the camera watched; CONN_EVENTS: the one asked for, or NULL for all */
	/* During handle_request only: the Origin to allow in the answer ("*" or the request's), or NULL. */
	const char *cors;
	size_t cors_len;
	struct vg_conn *prev, *next;
} vg_conn;

struct vg_http_server {
	struct event_base *base;
	vg_http_options opt;
	vg_stats *stats;
	struct evconnlistener *listener;
	struct event *accept_resume;
	struct event *wake;
	struct event *keepalive;
	int wake_fd;
	int port;
	char address[VG_HTTP_ADDRESS_LEN];  /* what was bound, e.g. "127.0.0.1:8080" */
	atomic_int closed;

	/* Guards what other threads hand over: every camera's pending frame and event. */
	pthread_mutex_t lock;
	int wake_pending;

	/* Loop thread only. */
	vg_http_camera *cameras;   /* in the order added; the first also answers /video_feed and /snapshot.jpg */
	int ncameras;
	vg_http_fleet_fn fleet;
	void *fleet_opaque;
	char *node, *node_url;
	int64_t last_accept_warning_us;
	vg_conn *conns;
	int nconns;          /* connections served normally */
	int nstream, nevents;
	int nrejecting;      /* over-limit connections being answered */
	int reserve;         /* connections kept for addresses that hold none */
	int loopback_bind;
	vg_peer_table *peers;
	struct vg_auth *auth;  /* NULL: access control off (auth.h) */
	struct vg_event_store *store; /* NULL: no object events kept (events_api.c) */
	struct event *tick;
	time_t date_sec;
	char date[40];
};

/* server.c */
int vg_http__queue_blob(vg_conn *c, vg_blob *blob, const void *data, size_t len, int message_end);
int vg_http__ready_for_part(vg_conn *c, size_t part_len);
void vg_http__conn_free(vg_conn *c);
/* Answers: a plain-text error; a malloc'd text (taken over; NULL: 503); a file, honouring one Range (206, 416). */
void vg_http__send_error(vg_conn *c, int status, const char *message, int head_only, int close);
void vg_http__send_text(vg_conn *c, char *text, const char *type, int head_only, int close);
void vg_http__send_file(vg_conn *c, const vg_http_request *req, const char *path, const char *type, int head_only,
			int close);

/* events_api.c: /api/events... and /api/counts; 1 when the path was one of them (answered), else 0. */
int vg_http__serve_events_api(vg_conn *c, const vg_http_request *req, int head_only, int close);

/* cameras.c */
vg_http_camera *vg_http__camera_find(vg_http_server *srv, const char *name, size_t len);
void vg_http__on_wake(evutil_socket_t fd, short what, void *arg);
/* The stats as an SSE message of type "stats": every camera's, or only cam's. */
vg_blob *vg_http__stats_event(vg_http_server *srv, const vg_http_camera *cam);
/* Sends the stats to every /events client, each with what it asked for. */
void vg_http__send_stats(vg_http_server *srv);
/* Queues the newest event of every camera (or of c->cam) to a new /events client. */
void vg_http__queue_latest_events(vg_conn *c);
/* The /api/stats and /metrics documents, and /api/cameras; malloc'd, NULL when out of memory. */
char *vg_http__stats_json(vg_http_server *srv, const vg_http_camera *only);
char *vg_http__metrics(vg_http_server *srv);
char *vg_http__cameras_json(vg_http_server *srv);
/* /healthz: every camera's health; writes the body into msg. */
int vg_http__health(vg_http_server *srv, const vg_http_camera *only, char *msg, size_t cap);
void vg_http__cameras_free(vg_http_server *srv);

#endif
