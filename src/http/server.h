#ifndef VG_HTTP_SERVER_H
#define VG_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "core/blob.h"
#include "core/stats.h"

struct event_base;

/*
 * The HTTP/1.1 server: one libevent loop serving the web page, the MJPEG
 * stream, snapshots, Server-Sent Events, stats and metrics. Outputs are
 * published from other threads and fanned out to every client without
 * copying. Abusive clients (huge or slow headers, idle sockets, clients that
 * stop reading) are cut off without affecting the others.
 */

typedef struct vg_http_options {
	const char *listen;           /* "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:80", ... */
	int max_clients;              /* concurrent /video_feed and /events clients (default 100) */
	int max_connections;          /* all open sockets (default 1024) */
	int64_t header_timeout_us;    /* a request's headers must be complete this soon (default 5 s) */
	int64_t idle_timeout_us;      /* keep-alive connections with no request (default 15 s) */
	int64_t stall_timeout_us;     /* streaming clients that accept no byte this long (default 30 s) */
} vg_http_options;

typedef struct vg_http_server vg_http_server;

/*
 * Binds and listens. The listen address is "IPV4:PORT", "[IPV6]:PORT",
 * "localhost:PORT", or ":PORT" (every IPv4 interface); options that are zero
 * or negative take their defaults. Returns 0, or a negative code with a
 * one-line message in err (bad address, port in use, ...).
 */
int vg_http_server_create(vg_http_server **out, struct event_base *base, const vg_http_options *opt,
			  vg_stats *stats, char *err, size_t errlen);

/* The port listened on: the one asked for, or the one the system chose for port 0. */
int vg_http_server_port(const vg_http_server *srv);

/*
 * Publishes a complete MJPEG part (see mjpeg.h; its payload range is the bare
 * JPEG, served by /snapshot.jpg). Takes over the caller's reference. Callable
 * from any thread; the loop thread delivers it.
 */
void vg_http_server_publish_frame(vg_http_server *srv, vg_blob *part);

/* Publishes one complete SSE message (see event.h). Same rules as above. */
void vg_http_server_publish_event(vg_http_server *srv, vg_blob *sse_message);

/* Closes every client connection and the listener; the loop can then exit. Loop thread only. */
void vg_http_server_shutdown(vg_http_server *srv);

void vg_http_server_destroy(vg_http_server *srv);

#endif
