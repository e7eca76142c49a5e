#ifndef VG_HTTP_SERVER_H
#define VG_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "core/blob.h"
#include "core/stats.h"
#include "http/listen.h"
#include "http/peer.h"

struct event_base;
struct vg_config_auth;

/*
 * The HTTP/1.1 server: one libevent loop serving the web page, the MJPEG
 * stream, snapshots, Server-Sent Events, stats and metrics. Outputs are
 * published from other threads and fanned out to every client without
 * copying. Abusive clients (huge or slow headers, idle sockets, clients that
 * stop reading) are cut off without affecting the others.
 */

typedef struct vg_http_options {
	const char *listen;           /* "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:80", "8080" (loopback), ... */
	int max_clients;              /* concurrent /video_feed viewers (default 100) */
	int max_event_clients;        /* concurrent /events connections (default 100) */
	int max_connections;          /* all open sockets (default 1024) */
	int max_conns_per_address;    /* sockets one client address may hold (default 32; negative: no limit) */
	int max_pending_per_address;  /* of those, sockets still sending a request head (default 16; no limit
	                                 when max_conns_per_address is negative) */
	int64_t header_timeout_us;    /* a request's headers must be complete this soon (default 5 s) */
	int64_t idle_timeout_us;      /* keep-alive connections with no request (default 15 s) */
	/*
	 * A stream or event client that has received no whole frame or event
	 * this long while one was waiting for it is dropped, and so is any
	 * connection that accepts no byte this long (default 10 s). It is also
	 * the window over which a client's rate is measured.
	 */
	int64_t stall_timeout_us;
	/*
	 * Stream and event clients that received fewer whole messages per second
	 * than this (or than half of what they were offered, if that is less)
	 * over the last window may be evicted to make room for a new client.
	 * 0: no floor, so only stalled clients make room.
	 */
	double min_client_fps;
	const char *const *cors_origins;     /* origins whose pages may read our answers (CORS); none by default */
	int ncors_origins;
	const char *const *allowed_hosts;    /* Host names accepted besides loopback's; see access.h */
	int nallowed_hosts;
	const vg_peer_net *trusted_proxies;  /* peers whose X-Forwarded-For names the client */
	int ntrusted_proxies;
	/* Who may come in (see auth.h); NULL, or no token and no users: anyone who reaches the address. */
	const struct vg_config_auth *auth;
} vg_http_options;

/* Defaults of vg_http_options that zero does not stand for. */
#define VG_HTTP_DEFAULT_MIN_CLIENT_FPS 1.0

typedef struct vg_http_server vg_http_server;

/*
 * Binds and listens. The listen address is "IPV4:PORT", "[IPV6]:PORT",
 * "localhost:PORT", "PORT" (127.0.0.1) or ":PORT" (every IPv4 interface,
 * with a warning that anyone who reaches the machine can watch); counts and
 * times that are zero take their defaults. Returns 0, or a negative code with a
 * one-line message in err (bad address, port in use, ...).
 */
int vg_http_server_create(vg_http_server **out, struct event_base *base, const vg_http_options *opt,
			  vg_stats *stats, char *err, size_t errlen);

/* The port listened on: the one asked for, or the one the system chose for port 0. */
int vg_http_server_port(const vg_http_server *srv);

/* The address listened on as "127.0.0.1:8080" or "[::1]:8080", the port being the one bound. */
const char *vg_http_server_address(const vg_http_server *srv);

/*
 * The cameras served: each has /cam/NAME/video_feed, /cam/NAME/snapshot.jpg,
 * /cam/NAME/events and /cam/NAME/healthz; /events carries every camera's
 * events (?camera=NAME: one camera's); /api/stats and /metrics describe each
 * (labelled by camera); /api/cameras lists them. The first camera added also
 * answers /video_feed and /snapshot.jpg, so that one-camera pages keep working.
 */
#define VG_HTTP_CAMERA_NAME_MAX 32

typedef struct vg_http_camera vg_http_camera;

/*
 * Adds a camera whose pipeline writes stats (source, analysis and output
 * fields; the caller keeps it alive until the camera is removed). Loop thread,
 * or before the loop runs. NULL when out of memory or the name is taken.
 */
vg_http_camera *vg_http_server_add_camera(vg_http_server *srv, const char *name, vg_stats *stats);

/*
 * Removes a camera and closes its viewers. Its pipeline must have stopped
 * publishing (joined) before. Loop thread.
 */
void vg_http_server_remove_camera(vg_http_server *srv, vg_http_camera *cam);

/*
 * Publishes a complete MJPEG part (see mjpeg.h; its payload range is the bare
 * JPEG, served by the snapshots). Takes over the caller's reference. Callable
 * from any thread; the loop thread delivers it.
 */
void vg_http_camera_publish_frame(vg_http_camera *cam, vg_blob *part);

/* Publishes one complete SSE message (see event.h). Same rules as above. */
void vg_http_camera_publish_event(vg_http_camera *cam, vg_blob *sse_message);

/*
 * A discrete SSE message (an object entered a zone, crossed a line): unlike
 * frame events, which replace each other, every one is sent to the /events
 * clients of the camera, in order. Up to VG_HTTP_NOTICES_MAX wait between
 * two turns of the loop; further ones are dropped (and counted in
 * http_notices_dropped). Takes over the reference. Any thread.
 */
#define VG_HTTP_NOTICES_MAX 64
void vg_http_camera_publish_notice(vg_http_camera *cam, vg_blob *sse_message);

/*
 * What /api/cameras adds for cameras other servers of the fleet serve: a
 * malloc'd JSON array of {"name", "node", "url", "online"} objects (the
 * server adds their state and paths), or NULL. Called on the
 * loop thread for each /api/cameras request.
 */
typedef char *(*vg_http_fleet_fn)(void *opaque);
void vg_http_server_set_fleet(vg_http_server *srv, vg_http_fleet_fn fn, void *opaque);

/* What /api/cameras says of this server: its node name and the URL other nodes give for it (may be NULL). */
/*
 * Replaces the access control (SIGHUP): from now on requests are checked
 * against cfg (copied). Failure counts carry over, and so do sessions when
 * no session_secret is configured (vg_auth_carry_over). Returns 0, or -1 with
 * err, the old control left in place. Loop thread only.
 */
int vg_http_server_set_auth(vg_http_server *srv, const struct vg_config_auth *cfg, char *err, size_t errlen);

void vg_http_server_set_node(vg_http_server *srv, const char *node, const char *url);

/*
 * The object events' store (store/event_store.h), which /api/events,
 * /api/events/ID, /api/events/ID/snapshot.jpg (?crop=1),
 * /api/events/ID/clip.mp4 and /api/counts answer from; NULL: they answer
 * 404. The store outlives the server. Before the loop runs.
 */
struct vg_event_store;
void vg_http_server_set_store(vg_http_server *srv, struct vg_event_store *store);

/* Closes every client connection and the listener; the loop can then exit. Loop thread only. */
void vg_http_server_shutdown(vg_http_server *srv);

void vg_http_server_destroy(vg_http_server *srv);

#endif
