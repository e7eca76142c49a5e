#include "http/server.h"

#include <errno.h>
#include <fcntl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "http/access.h"
#include "http/assets.h"
#include "http/auth.h"
#include "http/delivery.h"
#include "http/listen.h"
#include "http/mjpeg.h"
#include "http/peer.h"
#include "http/request.h"
#include "http/server_internal.h"
#include "http/status.h"

#ifndef VG_VERSION
#define VG_VERSION "unknown"
#endif

/* A client that pipelines requests without reading the answers is not served further until it drains this. */
#define MAX_QUEUED_ANSWERS (256 * 1024)
/* libevent stops reading a socket whose input holds this much, which caps what a client can make us buffer. */
#define READ_HIGH_WATER (2 * VG_HTTP_MAX_HEAD)
/* After an answer that closes the connection, unread input is discarded this long so the peer gets no RST. */
#define LINGER_US 2000000
/*
 * Input a closing or streaming connection may send us to be thrown away. Past
 * it a closing connection is cut (whoever keeps sending after an error is not
 * waiting for the answer) and a streaming one is no longer read: its departure
 * then shows as a failed write of the next frame.
 */
#define MAX_DISCARD (64 * 1024)
/* Proxies drop quiet connections; an SSE comment this often keeps /events open while no frames come. */
#define SSE_KEEPALIVE_US 15000000
/* Out of file descriptors: pause accepting this long instead of spinning on a listener that stays readable. */
#define ACCEPT_PAUSE_US 100000
/*
 * A connection over a limit is still read for its request head (this long at
 * most) and answered 503, or /healthz, rather than closed unread: a close
 * with unread input sends a reset, which clients report as a network error
 * instead of "busy, retry". At most REJECT_MAX such connections at a time,
 * REJECT_PER_ADDRESS of them per address; past that they are closed at once.
 */
#define REJECT_HEAD_US 2000000
#define REJECT_MAX 64
#define REJECT_PER_ADDRESS 4
/* An address holding fewer connections than this may still take the reserved slots. */
#define RESERVE_MAX_HELD 4
/* How often streaming clients are checked for stalls and rate, and /events clients get the stats. */
#define TICK_US 1000000

/* The heads of the two streaming answers, less the CORS fields and the blank line that ends them. */
static const char stream_head[] = "HTTP/1.1 200 OK\r\n"
				  "Content-Type: " VG_MJPEG_CONTENT_TYPE "\r\n"
				  "Cache-Control: no-store, no-cache, must-revalidate\r\n"
				  "Pragma: no-cache\r\n"
				  "Connection: close\r\n"
				  "X-Accel-Buffering: no\r\n";

static const char events_head[] = "HTTP/1.1 200 OK\r\n"
				  "Content-Type: text/event-stream\r\n"
				  "Cache-Control: no-cache\r\n"
				  "Connection: close\r\n"
				  "X-Accel-Buffering: no\r\n";

/*
 * No blank line after these: a block with no data is not an event, and some
 * clients count it as one anyway; the retry field takes effect either way.
 */
static const char events_preamble[] = "retry: 1000\n: vigil\n";
static const char events_keepalive[] = ": keepalive\n\n";

static const char *reason_phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 206: return "Partial Content";
	case 416: return "Range Not Satisfiable";
	case 303: return "See Other";
	case 401: return "Unauthorized";
	case 413: return "Content Too Large";
	case 429: return "Too Many Requests";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 414: return "URI Too Long";
	case 421: return "Misdirected Request";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	}
	return "Unknown";
}

static void arm_timer(vg_conn *c, int64_t us)
{
	struct timeval tv = { .tv_sec = us / 1000000, .tv_usec = us % 1000000 };
	evtimer_add(c->timer, &tv);
}

static void count_bytes(vg_http_server *srv, size_t n)
{
	atomic_fetch_add_explicit(&srv->stats->http_bytes_sent, n, memory_order_relaxed);
}

static void count_rejected(vg_http_server *srv)
{
	atomic_fetch_add_explicit(&srv->stats->http_rejected, 1, memory_order_relaxed);
}

static int is_streaming(const vg_conn *c)
{
	return c->state == CONN_STREAM || c->state == CONN_EVENTS;
}

/* Marks whether c is sending a request head, which counts against its address's pending heads. */
static void set_pending(vg_conn *c, int pending)
{
	if (c->over_limit || c->pending == pending)
		return;
	c->pending = pending;
	c->peer->pending += pending ? 1 : -1;
}

/* Counts c against another address: a trusted proxy's connection carrying a request of the client it names. */
static void move_peer(vg_conn *c, vg_peer *to)
{
	vg_peer *from = c->peer;
	from->conns--;
	to->conns++;
	if (c->pending) {
		from->pending--;
		to->pending++;
	}
	c->peer = to;
	vg_peer_put(c->srv->peers, from);
}

void vg_http__conn_free(vg_conn *c)
{
	vg_http_server *srv = c->srv;
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->over_limit) {
		srv->nrejecting--;
		c->peer->rejecting--;
	} else {
		srv->nconns--;
		c->peer->conns--;
		set_pending(c, 0);
		atomic_store(&srv->stats->http_connections, srv->nconns);
	}
	vg_peer_put(srv->peers, c->peer);
	if (c->state == CONN_STREAM) {
		srv->nstream--;
		c->cam->nstream--;
		atomic_fetch_sub(&srv->stats->http_stream_clients, 1);
		atomic_fetch_sub(&c->cam->stats->http_stream_clients, 1);
	} else if (c->state == CONN_EVENTS) {
		srv->nevents--;
		atomic_fetch_sub(&srv->stats->http_event_clients, 1);
	}
	event_free(c->timer);
	/* Frees the output buffer too, which unrefs any blob still queued on it. */
	bufferevent_free(c->bev);
	free(c);
}

static void blob_cleanup(const void *data, size_t len, void *blob)
{
	(void)data;
	(void)len;
	vg_blob_unref(blob);
}

static void free_cleanup(const void *data, size_t len, void *unused)
{
	(void)len;
	(void)unused;
	free((void *)data);
}

/*
 * len more bytes are queued on c: counted for the stats and, for a streaming
 * client, in its delivery record; message_end marks the end of a frame or event.
 */
static void queued(vg_conn *c, size_t len, int message_end)
{
	count_bytes(c->srv, len);
	if (is_streaming(c))
		vg_delivery_queued(&c->delivery, len, message_end, vg_mono_us());
}

/* Queues len bytes of blob by reference: one buffer shared by every client. */
int vg_http__queue_blob(vg_conn *c, vg_blob *blob, const void *data, size_t len, int message_end)
{
	vg_blob_ref(blob);
	if (evbuffer_add_reference(bufferevent_get_output(c->bev), data, len, blob_cleanup, blob) != 0) {
		vg_blob_unref(blob);
		return -1;
	}
	queued(c, len, message_end);
	return 0;
}

static int queue_static(vg_conn *c, const void *data, size_t len)
{
	if (evbuffer_add_reference(bufferevent_get_output(c->bev), data, len, NULL, NULL) != 0)
		return -1;
	queued(c, len, 0);
	return 0;
}

/* The CORS fields of an answer: the allowed origin, and Vary so that caches keep answers per origin. */
static void add_cors_fields(vg_conn *c, struct evbuffer *out)
{
	if (c->srv->opt.ncors_origins == 0)
		return;
	if (c->cors)
		evbuffer_add_printf(out, "Access-Control-Allow-Origin: %.*s\r\n", (int)c->cors_len, c->cors);
	evbuffer_add_printf(out, "Vary: Origin\r\n");
}

static const char *http_date(vg_http_server *srv)
{
	time_t now = time(NULL);
	if (now != srv->date_sec) {
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(srv->date, sizeof srv->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
		srv->date_sec = now;
	}
	return srv->date;
}

/* What an answer is made of; the body is copied unless it is static or lives in a blob. */
typedef struct answer {
	int status;
	const char *type;
	const char *cache;          /* Cache-Control */
	const char *extra;          /* more header lines, each ending in CRLF */
	const void *body;
	size_t len;
	vg_blob *blob;              /* body points into it */
	int body_static;
	char *body_malloced;        /* body is this malloc'd string; ownership passes to the buffer */
	int fd;                     /* > 0: the body is len bytes of this file from offset; the buffer closes it */
	int64_t offset;
} answer;

static void start_linger(vg_conn *c)
{
	c->state = CONN_LINGER;
	if (c->peer_eof) {
		vg_http__conn_free(c);
		return;
	}
	shutdown(bufferevent_getfd(c->bev), SHUT_WR);
	struct evbuffer *in = bufferevent_get_input(c->bev);
	c->discarded += evbuffer_get_length(in);
	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_enable(c->bev, EV_READ);
	arm_timer(c, LINGER_US);
}

/* Queues a complete answer; close means Connection: close and the connection ends once it is sent. */
static void close_fd(int fd)
{
	close(fd);
}

static void send_answer(vg_conn *c, const answer *a, int head_only, int close)
{
	vg_http_server *srv = c->srv;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	size_t before = evbuffer_get_length(out);
	evbuffer_add_printf(out,
			    "HTTP/1.1 %d %s\r\n"
			    "Date: %s\r\n"
			    "Server: vigil/" VG_VERSION "\r\n"
			    "Content-Type: %s\r\n"
			    "Content-Length: %zu\r\n"
			    "Cache-Control: %s\r\n"
			    "X-Content-Type-Options: nosniff\r\n"
			    "Connection: %s\r\n"
			    "%s",
			    a->status, reason_phrase(a->status), http_date(srv), a->type, a->len, a->cache,
			    close ? "close" : "keep-alive", a->extra ? a->extra : "");
	add_cors_fields(c, out);
	evbuffer_add(out, "\r\n", 2);
	count_bytes(srv, evbuffer_get_length(out) - before);
	if (a->fd > 0) {
		/* libevent sends the file with sendfile() and closes it when done. */
		if (head_only || a->len == 0 || evbuffer_add_file(out, a->fd, a->offset, (ev_off_t)a->len) != 0)
			close_fd(a->fd);
		else
			count_bytes(srv, a->len);
	} else if (a->body_malloced) {
		if (head_only || evbuffer_add_reference(out, a->body_malloced, a->len, free_cleanup, NULL) != 0)
			free(a->body_malloced);
		else
			count_bytes(srv, a->len);
	} else if (!head_only && a->len) {
		if (a->blob)
			vg_http__queue_blob(c, a->blob, a->body, a->len, 0);
		else if (a->body_static)
			queue_static(c, a->body, a->len);
		else if (evbuffer_add(out, a->body, a->len) == 0)
			count_bytes(srv, a->len);
	}
	if (a->status >= 400)
		count_rejected(srv);
	if (close) {
		c->state = CONN_CLOSING;
		event_del(c->timer);
	}
}

static void send_error(vg_conn *c, int status, const char *message, const char *extra, int head_only, int close)
{
	char body[256];
	int n = snprintf(body, sizeof body, "%d %s: %s\n", status, reason_phrase(status), message);
	answer a = {
		.status = status,
		.type = "text/plain; charset=utf-8",
		.cache = "no-store",
		.extra = extra,
		.body = body,
		.len = n < 0 ? 0 : (size_t)n < sizeof body ? (size_t)n : sizeof body - 1,
	};
	send_answer(c, &a, head_only, close);
}

static const char *content_type(const char *path)
{
	const char *dot = strrchr(path, '.');
	if (dot && strcmp(dot, ".html") == 0)
		return "text/html; charset=utf-8";
	if (dot && strcmp(dot, ".js") == 0)
		return "text/javascript; charset=utf-8";
	if (dot && strcmp(dot, ".css") == 0)
		return "text/css; charset=utf-8";
	if (dot && strcmp(dot, ".svg") == 0)
		return "image/svg+xml";
	return "application/octet-stream";
}

static int serve_asset(vg_conn *c, const char *path, int head_only, int close)
{
	for (const vg_asset *a = vg_assets; a->path; a++) {
		if (strcmp(a->path, path) != 0)
			continue;
		/* no-cache, not no-store: the page may be cached but is revalidated, so an upgrade shows at once. */
		answer ans = {
			.status = 200,
			.type = content_type(path),
			.cache = "no-cache",
			.body = a->data,
			.len = a->len,
			.body_static = 1,
		};
		send_answer(c, &ans, head_only, close);
		return 0;
	}
	return -1;
}

static void set_nodelay(vg_conn *c)
{
	int one = 1;
	setsockopt(bufferevent_getfd(c->bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Bytes of c's that the peer has acknowledged: all queued less what our buffer and the kernel still hold. */
static uint64_t delivered_bytes(vg_conn *c)
{
	uint64_t held = evbuffer_get_length(bufferevent_get_output(c->bev));
	int unacked = 0;
	if (ioctl(bufferevent_getfd(c->bev), SIOCOUTQ, &unacked) == 0 && unacked > 0)
		held += (uint64_t)unacked;
	return c->delivery.queued > held ? c->delivery.queued - held : 0;
}

static void update_delivery(vg_conn *c, int64_t now)
{
	vg_delivery_update(&c->delivery, delivered_bytes(c), now);
}

/* A client that has received no whole message for the stall timeout while one waited for it. */
static int is_stalled(const vg_conn *c, int64_t now)
{
	return vg_delivery_waiting_us(&c->delivery, now) > c->srv->opt.stall_timeout_us;
}

/*
 * The client of this kind to make room for a new one: among the stalled and
 * the slow (below the rate floor over the last window), the one that has
 * gone longest without a whole message. NULL when every client is healthy.
 */
static vg_conn *eviction_candidate(vg_http_server *srv, enum conn_state kind, int64_t now)
{
	vg_conn *best = NULL;
	for (vg_conn *c = srv->conns; c; c = c->next) {
		if (c->state != kind)
			continue;
		update_delivery(c, now);
		if (!is_stalled(c, now) && !c->delivery.slow)
			continue;
		if (!best || c->delivery.last_complete_us < best->delivery.last_complete_us)
			best = c;
	}
	return best;
}

static void describe_client(const vg_conn *c, char *buf, size_t cap)
{
	char addr[VG_PEER_ADDR_STRLEN];
	vg_peer_addr_format(&c->peer->addr, addr, sizeof addr);
	const vg_delivery *d = &c->delivery;
	if (d->last_rate >= 0)
		snprintf(buf, cap, "%s client %s (%" PRIu64 " whole %s, %.2f/s of %.2f/s offered in the last window)",
			 c->state == CONN_STREAM ? "stream" : "event", addr, d->completed,
			 c->state == CONN_STREAM ? "frames" : "events", d->last_rate, d->last_offered_rate);
	else
		snprintf(buf, cap, "%s client %s (%" PRIu64 " whole %s)", c->state == CONN_STREAM ? "stream" : "event",
			 addr, d->completed, c->state == CONN_STREAM ? "frames" : "events");
}

/* The head of a streaming answer: its fixed fields, the CORS fields, and the blank line. */
static void queue_stream_head(vg_conn *c, const char *head, size_t head_len)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	size_t before = evbuffer_get_length(out);
	evbuffer_add(out, head, head_len);
	add_cors_fields(c, out);
	evbuffer_add(out, "\r\n", 2);
	queued(c, evbuffer_get_length(out) - before, 0);
}

/*
 * Starts /video_feed or /events. When the clients of that kind are at their
 * limit, a stalled or slow one makes room. Returns 0, or -1 when every slot
 * holds a healthy client.
 */
static int start_client(vg_conn *c, enum conn_state kind, vg_http_camera *cam, int head_only)
{
	vg_http_server *srv = c->srv;
	const char *head = kind == CONN_STREAM ? stream_head : events_head;
	size_t head_len = kind == CONN_STREAM ? sizeof stream_head - 1 : sizeof events_head - 1;
	if (head_only) {
		queue_stream_head(c, head, head_len);
		c->state = CONN_CLOSING;
		event_del(c->timer);
		return 0;
	}
	int64_t now = vg_mono_us();
	int count = kind == CONN_STREAM ? srv->nstream : srv->nevents;
	int limit = kind == CONN_STREAM ? srv->opt.max_clients : srv->opt.max_event_clients;
	if (count >= limit) {
		vg_conn *victim = eviction_candidate(srv, kind, now);
		if (!victim)
			return -1;
		char who[160];
		describe_client(victim, who, sizeof who);
		vg_debug("http: %s slots full: evicting the %s to make room", kind == CONN_STREAM ? "stream" : "event",
			 who);
		atomic_fetch_add_explicit(&srv->stats->http_clients_evicted, 1, memory_order_relaxed);
		vg_http__conn_free(victim);
	}
	vg_delivery_init(&c->delivery, now);
	c->state = kind;
	c->cam = cam;
	queue_stream_head(c, head, head_len);
	event_del(c->timer);
	set_nodelay(c);
	if (kind == CONN_STREAM) {
		srv->nstream++;
		cam->nstream++;
		atomic_fetch_add(&srv->stats->http_stream_clients, 1);
		atomic_fetch_add(&cam->stats->http_stream_clients, 1);
		queue_static(c, VG_MJPEG_PREAMBLE, sizeof VG_MJPEG_PREAMBLE - 1);
		if (cam->frame && vg_http__queue_blob(c, cam->frame, cam->frame->data, cam->frame->len, 1) == 0)
			atomic_fetch_add_explicit(&srv->stats->http_frames_sent, 1, memory_order_relaxed);
	} else {
		srv->nevents++;
		atomic_fetch_add(&srv->stats->http_event_clients, 1);
		queue_static(c, events_preamble, sizeof events_preamble - 1);
		/* The stats first, so that a page shows them at once rather than after a tick. */
		vg_blob *stats = vg_http__stats_event(srv, cam);
		if (stats) {
			vg_http__queue_blob(c, stats, stats->data, stats->len, 1);
			vg_blob_unref(stats);
		}
		vg_http__queue_latest_events(c);
	}
	return 0;
}

static void serve_snapshot(vg_conn *c, const vg_http_camera *cam, int head_only, int close)
{
	vg_blob *f = cam ? cam->frame : NULL;
	if (!f) {
		send_error(c, 503, "no frame has been produced yet", "Retry-After: 1\r\n", head_only, close);
		return;
	}
	char extra[160];
	snprintf(extra, sizeof extra,
		 "X-Frame-Id: %" PRIu64 "\r\nX-Capture-Time: %lld.%06lld\r\n",
		 f->frame_id, (long long)(f->capture_wall_us / 1000000), (long long)(f->capture_wall_us % 1000000));
	answer a = {
		.status = 200,
		.type = "image/jpeg",
		.cache = "no-store",
		.extra = extra,
		.body = f->data + f->payload_off,
		.len = f->payload_len,
		.blob = f,
	};
	send_answer(c, &a, head_only, close);
}

static void serve_text(vg_conn *c, char *text, const char *type, int head_only, int close)
{
	if (!text) {
		send_error(c, 503, "out of memory", NULL, head_only, close);
		return;
	}
	answer a = {
		.status = 200,
		.type = type,
		.cache = "no-store",
		.len = strlen(text),
		.body_malloced = text,
	};
	send_answer(c, &a, head_only, close);
}

void vg_http__send_error(vg_conn *c, int status, const char *message, int head_only, int close)
{
	send_error(c, status, message, NULL, head_only, close);
}

void vg_http__send_text(vg_conn *c, char *text, const char *type, int head_only, int close)
{
	serve_text(c, text, type, head_only, close);
}

void vg_http__send_file(vg_conn *c, const vg_http_request *req, const char *path, const char *type, int head_only,
			int close)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close_fd(fd);
		send_error(c, 404, "no such file (yet)", NULL, head_only, close);
		return;
	}
	int64_t size = st.st_size, first = 0, last = size - 1;
	int ranged = req->range ? vg_http_parse_range(req->range, req->range_len, size, &first, &last) : 0;
	char extra[160];
	if (ranged < 0) {
		close_fd(fd);
		snprintf(extra, sizeof extra, "Content-Range: bytes */%lld\r\n", (long long)size);
		send_error(c, 416, "the range asked for is not in the file", extra, head_only, close);
		return;
	}
	if (ranged > 0)
		snprintf(extra, sizeof extra, "Accept-Ranges: bytes\r\nContent-Range: bytes %lld-%lld/%lld\r\n",
			 (long long)first, (long long)last, (long long)size);
	else
		snprintf(extra, sizeof extra, "Accept-Ranges: bytes\r\n");
	answer a = { .status = ranged > 0 ? 206 : 200, .type = type, .cache = "no-cache", .extra = extra,
		     .len = size > 0 ? (size_t)(last - first + 1) : 0, .fd = fd, .offset = first };
	if (a.len == 0)
		close_fd(fd);
	send_answer(c, &a, head_only, close);
}

static void serve_health(vg_conn *c, const vg_http_camera *only, int head_only, int close)
{
	char msg[1024];
	int status = vg_http__health(c->srv, only, msg, sizeof msg);
	answer a = {
		.status = status,
		.type = "text/plain; charset=utf-8",
		.cache = "no-store",
		.body = msg,
		.len = strlen(msg),
	};
	send_answer(c, &a, head_only, close);
}

static int path_is(const vg_http_request *req, const char *path)
{
	return req->path_len == strlen(path) && memcmp(req->path, path, req->path_len) == 0;
}

/*
 * A request that came through a trusted proxy counts against the client the
 * proxy names. Returns 0, or -1 when that client is over its connection limit.
 */
static int attribute_to_client(vg_conn *c, const vg_http_request *req)
{
	vg_http_server *srv = c->srv;
	vg_peer_addr client;
	if (!c->via_proxy || !req->forwarded_for ||
	    vg_peer_forwarded_client(req->forwarded_for, req->forwarded_for_len, srv->opt.trusted_proxies,
				     srv->opt.ntrusted_proxies, &client) != 0 ||
	    memcmp(client.b, c->peer->addr.b, sizeof client.b) == 0)
		return 0;
	vg_peer *p = vg_peer_get(srv->peers, &client);
	if (!p)
		return 0;
	move_peer(c, p);
	return srv->opt.max_conns_per_address > 0 && p->conns > srv->opt.max_conns_per_address ? -1 : 0;
}

/*
 * Access control (auth.h) before a request is routed: the login page and
 * its form are answered here, and so is every request without a valid
 * credential. Returns 1 when it answered, 0 when the request may go on.
 */
static int auth_gate(vg_conn *c, const vg_http_request *req, const char *body, int head_only, int close)
{
	vg_http_server *srv = c->srv;
	/*
	 * Monitors need no credential for /healthz, which says only whether
	 * frames flow. /cam/NAME/healthz stays closed: its 404 for an unknown
	 * NAME would tell strangers which cameras exist.
	 */
	if (path_is(req, "/healthz"))
		return 0;
	int retry = 0, rc;
	char extra[VG_AUTH_COOKIE_MAX + 64];
	if (path_is(req, "/login")) {
		if (req->method == VG_HTTP_POST && !body && req->content_length > VG_HTTP_MAX_BODY) {
			send_error(c, 413, "the login form must be at most 4 KiB", NULL, 0, 1);
			return 1;
		}
		if (req->method != VG_HTTP_POST && req->method != VG_HTTP_GET && req->method != VG_HTTP_HEAD) {
			send_error(c, 405, "only GET, HEAD and POST are allowed", "Allow: GET, HEAD, POST\r\n", 0, close);
			return 1;
		}
		char set_cookie[VG_AUTH_COOKIE_MAX];
		rc = req->method != VG_HTTP_POST ? VG_AUTH_MISSING
			: vg_auth_login(srv->auth, body ? body : "", body ? (size_t)req->content_length : 0,
					&c->peer->addr, vg_wall_us(), set_cookie, sizeof set_cookie, &retry);
		if (rc == VG_AUTH_OK) {
			static const char done[] = "signed in\n";
			/* Behind a TLS proxy (--trusted-proxy) the browser must never send the cookie in clear. */
			int secure = c->via_proxy && req->forwarded_proto && req->forwarded_proto_len == 5 &&
				     strncasecmp(req->forwarded_proto, "https", 5) == 0;
			snprintf(extra, sizeof extra, "Set-Cookie: %s%s\r\nLocation: /\r\n", set_cookie,
				 secure ? "; Secure" : "");
			answer a = { .status = 303, .type = "text/plain; charset=utf-8", .cache = "no-store", .extra = extra,
				     .body = done, .len = sizeof done - 1, .body_static = 1 };
			send_answer(c, &a, 0, close);
			return 1;
		}
		snprintf(extra, sizeof extra, "Retry-After: %d\r\n", retry);
		const char *why = rc == VG_AUTH_LIMITED && retry <= 1 ? "Too many sign-ins at once: try again in a moment."
			: rc == VG_AUTH_LIMITED ? "Too many failed attempts: wait a minute and try again."
			: rc == VG_AUTH_DENIED ? "Wrong user name, password or token." : NULL;
		answer a = { .status = rc == VG_AUTH_LIMITED ? 429 : rc == VG_AUTH_DENIED ? 401 : 200,
			     .type = "text/html; charset=utf-8", .cache = "no-store",
			     .extra = rc == VG_AUTH_LIMITED ? extra : NULL, .body_malloced = vg_auth_login_page(why) };
		if (!a.body_malloced) {
			send_error(c, 503, "out of memory", NULL, head_only, close);
			return 1;
		}
		a.len = strlen(a.body_malloced);
		send_answer(c, &a, head_only, close);
		return 1;
	}
	vg_auth_credentials cred = { req->authorization, req->authorization_len, req->cookie, req->cookie_len,
				     req->query, req->query_len };
	rc = vg_auth_check(srv->auth, &cred, &c->peer->addr, vg_wall_us(), &retry);
	if (rc == VG_AUTH_OK)
		return 0;
	if (rc == VG_AUTH_LIMITED) {
		snprintf(extra, sizeof extra, "Retry-After: %d\r\n", retry);
		send_error(c, 429, "too many failed sign-in attempts from your address", extra, head_only, close);
		return 1;
	}
	/* A browser opening a page is sent to the login page; scripts, <img> and EventSource get a 401. */
	if (req->method == VG_HTTP_GET && req->accept && memmem(req->accept, req->accept_len, "text/html", 9)) {
		static const char see[] = "sign in at /login\n";
		answer a = { .status = 303, .type = "text/plain; charset=utf-8", .cache = "no-store",
			     .extra = "Location: /login\r\n", .body = see, .len = sizeof see - 1, .body_static = 1 };
		send_answer(c, &a, 0, close);
		return 1;
	}
	static const char challenge[] = "WWW-Authenticate: Bearer realm=\"vigil\", Basic realm=\"vigil\"\r\n";
	static const char json[] = "{\"error\":\"unauthorized\",\"message\":\"a token, a user's password or a "
				   "session is needed (see /login)\"}\n";
	if (req->path_len >= 5 && memcmp(req->path, "/api/", 5) == 0) {
		answer a = { .status = 401, .type = "application/json", .cache = "no-store", .extra = challenge,
			     .body = json, .len = sizeof json - 1, .body_static = 1 };
		send_answer(c, &a, head_only, close);
	} else {
		send_error(c, 401, "a token, a user's password or a session is needed (see /login)", challenge,
			   head_only, close);
	}
	return 1;
}

static void handle_request(vg_conn *c, const vg_http_request *req, const char *body)
{
	vg_http_server *srv = c->srv;
	/* We read no bodies but small POST ones, so a request with another is answered and the connection closed. */
	int close = !req->keep_alive || (req->content_length > 0 && !body) || c->over_limit;
	int head_only = req->method == VG_HTTP_HEAD;
	if (vg_log_get_level() >= VG_LOG_DEBUG) {
		char addr[VG_PEER_ADDR_STRLEN];
		vg_peer_addr_format(&c->peer->addr, addr, sizeof addr);
		vg_debug("http: %s %.*s %.*s", addr, (int)req->method_len, req->method_name, (int)req->path_len,
			 req->path);
	}

	const char *cors = vg_http_cors_match(req->origin, req->origin_len, srv->opt.cors_origins,
					      srv->opt.ncors_origins);
	c->cors = cors && strcmp(cors, "*") == 0 ? "*" : cors ? req->origin : NULL;
	c->cors_len = c->cors == req->origin ? req->origin_len : c->cors ? 1 : 0;

	if (!req->host && req->version_minor >= 1) {
		send_error(c, 400, "HTTP/1.1 request without a Host header", NULL, head_only, 1);
		return;
	}
	if (req->host && !vg_http_host_allowed(req->host, req->host_len, srv->loopback_bind,
					       srv->opt.allowed_hosts, srv->opt.nallowed_hosts)) {
		/* The usual cause besides an attack: a name for this machine that --allowed-host does not list. */
		send_error(c, 421, "this server does not answer to that Host name (see --allowed-host)", NULL,
			   head_only, 1);
		return;
	}
	if (!c->over_limit && attribute_to_client(c, req) != 0) {
		/* Served as an over-limit answer but still counted as a connection of that client until it closes. */
		atomic_fetch_add_explicit(&srv->stats->http_over_limit, 1, memory_order_relaxed);
		send_error(c, 503, "too many connections from your address", "Retry-After: 1\r\n", head_only, 1);
		return;
	}
	if (srv->auth && !c->over_limit && auth_gate(c, req, body, head_only, close))
		return;
	if (req->method != VG_HTTP_GET && req->method != VG_HTTP_HEAD) {
		send_error(c, 405, "only GET and HEAD are allowed", "Allow: GET, HEAD\r\n", 0, close);
		return;
	}
	if (path_is(req, "/healthz")) {
		serve_health(c, NULL, head_only, close);
		return;
	}
	if (c->over_limit) {
		send_error(c, 503, c->over_limit, "Retry-After: 1\r\n", head_only, 1);
		return;
	}
	/* /cam/NAME/WHAT: one camera's; the bare paths: the first camera's, or every camera's. */
	vg_http_camera *cam = srv->cameras;
	const char *what = req->path;
	size_t what_len = req->path_len;
	int per_camera = 0;
	if (req->path_len > 5 && memcmp(req->path, "/cam/", 5) == 0) {
		const char *name = req->path + 5, *end = memchr(name, '/', req->path_len - 5);
		if (!end || !(cam = vg_http__camera_find(srv, name, (size_t)(end - name)))) {
			send_error(c, 404, "no such camera (see /api/cameras)", NULL, head_only, close);
			return;
		}
		what = end;
		what_len = req->path_len - (size_t)(end - req->path);
		per_camera = 1;
	}
	vg_http_request sub = *req;
	sub.path = what;
	sub.path_len = what_len;
	if (path_is(&sub, "/video_feed") || path_is(&sub, "/stream") || path_is(&sub, "/stream.mjpg")) {
		if (!cam)
			send_error(c, 503, "no camera is configured", "Retry-After: 5\r\n", head_only, close);
		else if (start_client(c, CONN_STREAM, cam, head_only) != 0)
			send_error(c, 503, "every stream slot holds a viewer (see --max-clients)", "Retry-After: 5\r\n",
				   0, 1);
		return;
	}
	if (path_is(&sub, "/snapshot.jpg")) {
		serve_snapshot(c, cam, head_only, close);
		return;
	}
	if (path_is(&sub, "/events") || (per_camera && path_is(&sub, "/stats"))) {
		vg_http_camera *only = per_camera ? cam : NULL;
		char name[VG_HTTP_CAMERA_NAME_MAX + 1];
		if (!per_camera && vg_http_query_param(req->query, req->query_len, "camera", name, sizeof name) > 0 &&
		    !(only = vg_http__camera_find(srv, name, strlen(name)))) {
			send_error(c, 404, "no such camera (see /api/cameras)", NULL, head_only, close);
			return;
		}
		if (path_is(&sub, "/stats"))
			serve_text(c, vg_http__stats_json(srv, only), "application/json", head_only, close);
		else if (start_client(c, CONN_EVENTS, only, head_only) != 0)
			send_error(c, 503, "every event slot holds a client (see --max-event-clients)",
				   "Retry-After: 5\r\n", 0, 1);
		return;
	}
	if (per_camera && path_is(&sub, "/healthz")) {
		serve_health(c, cam, head_only, close);
		return;
	}
	if (per_camera) {
		send_error(c, 404, "no such resource", NULL, head_only, close);
		return;
	}
	if (vg_http__serve_events_api(c, req, head_only, close))
		return;
	if (path_is(req, "/") || path_is(req, "/index.html")) {
		if (serve_asset(c, "/index.html", head_only, close) == 0)
			return;
	} else if (path_is(req, "/api/stats")) {
		vg_http_camera *only = NULL;
		char name[VG_HTTP_CAMERA_NAME_MAX + 1];
		if (vg_http_query_param(req->query, req->query_len, "camera", name, sizeof name) > 0 &&
		    !(only = vg_http__camera_find(srv, name, strlen(name)))) {
			send_error(c, 404, "no such camera (see /api/cameras)", NULL, head_only, close);
			return;
		}
		serve_text(c, vg_http__stats_json(srv, only), "application/json", head_only, close);
		return;
	} else if (path_is(req, "/api/cameras")) {
		serve_text(c, vg_http__cameras_json(srv), "application/json", head_only, close);
		return;
	} else if (path_is(req, "/metrics")) {
		serve_text(c, vg_http__metrics(srv), "text/plain; version=0.0.4; charset=utf-8", head_only, close);
		return;
	} else if (req->path_len < 64 && memchr(req->path + 1, '/', req->path_len - 1) == NULL) {
		char path[64];
		memcpy(path, req->path, req->path_len);
		path[req->path_len] = '\0';
		if (strcmp(path, "/index.html") != 0 && serve_asset(c, path, head_only, close) == 0)
			return;
	}
	send_error(c, 404, "no such resource", NULL, head_only, close);
}

/* Reads and answers the requests in the input buffer, one after another. */
static void process_input(vg_conn *c)
{
	vg_http_server *srv = c->srv;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer *out = bufferevent_get_output(c->bev);
	while (c->state == CONN_REQUEST) {
		size_t len = evbuffer_get_length(in);
		if (len == 0 || evbuffer_get_length(out) > MAX_QUEUED_ANSWERS)
			return;
		if (!c->in_head) {
			/* The deadline runs from the first byte and is not extended by later ones. */
			c->in_head = 1;
			set_pending(c, 1);
			arm_timer(c, srv->opt.header_timeout_us);
		}
		/* Room for a head and a small body: the head's pointers must stay valid while the body is read. */
		size_t n = len < VG_HTTP_MAX_HEAD + VG_HTTP_MAX_BODY ? len : VG_HTTP_MAX_HEAD + VG_HTTP_MAX_BODY;
		const char *buf = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
		if (!buf)
			return;
		vg_http_request req;
		int rc = vg_http_parse(&c->parser, buf, n, &req);
		if (rc == VG_HTTP_PARSE_MORE)
			return;
		const char *body = NULL;
		if (rc == VG_HTTP_PARSE_DONE && req.method == VG_HTTP_POST && req.content_length > 0 &&
		    req.content_length <= VG_HTTP_MAX_BODY) {
			if (n < req.consumed + (size_t)req.content_length) {
				/* The head is parsed again once the body is here; the header deadline covers both. */
				vg_http_parser_init(&c->parser);
				return;
			}
			body = buf + req.consumed;
		}
		atomic_fetch_add_explicit(&srv->stats->http_requests, 1, memory_order_relaxed);
		set_pending(c, 0);
		if (rc == VG_HTTP_PARSE_ERROR) {
			vg_debug("http: rejected request: %s", req.error);
			send_error(c, req.status, req.error, NULL, 0, 1);
			return;
		}
		handle_request(c, &req, body);
		c->cors = NULL;
		evbuffer_drain(in, req.consumed + (body ? (size_t)req.content_length : 0));
		vg_http_parser_init(&c->parser);
		if (c->state != CONN_REQUEST)
			break;
		c->in_head = 0;
		if (evbuffer_get_length(out) == 0)
			arm_timer(c, srv->opt.idle_timeout_us);
		else
			event_del(c->timer);  /* the idle timeout starts once the answer is sent */
	}
	/* Streaming and closing connections take no more requests; bytes after the last one are dropped. */
	c->discarded += evbuffer_get_length(in);
	evbuffer_drain(in, evbuffer_get_length(in));
}

static void on_read(struct bufferevent *bev, void *arg)
{
	vg_conn *c = arg;
	if (c->state == CONN_REQUEST) {
		process_input(c);
		return;
	}
	struct evbuffer *in = bufferevent_get_input(bev);
	c->discarded += evbuffer_get_length(in);
	evbuffer_drain(in, evbuffer_get_length(in));
	if (c->discarded <= MAX_DISCARD)
		return;
	if (c->state == CONN_STREAM || c->state == CONN_EVENTS) {
		bufferevent_disable(bev, EV_READ);
	} else {
		count_rejected(c->srv);
		vg_http__conn_free(c);
	}
}

static void on_write(struct bufferevent *bev, void *arg)
{
	(void)bev;
	vg_conn *c = arg;
	switch (c->state) {
	case CONN_REQUEST:
		if (!c->in_head)
			arm_timer(c, c->srv->opt.idle_timeout_us);
		process_input(c);
		break;
	case CONN_CLOSING:
		start_linger(c);
		break;
	default:
		break;
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	vg_conn *c = arg;
	if (what & BEV_EVENT_TIMEOUT) {
		/* Only the write timeout is set: the client has accepted no byte for stall_timeout_us. */
		vg_debug("http: closing a client that stopped reading");
		count_rejected(c->srv);
		vg_http__conn_free(c);
		return;
	}
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) && c->state == CONN_CLOSING &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) > 0) {
		/* A client that half-closed after its request still gets the answer. */
		c->peer_eof = 1;
		return;
	}
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) && c->state == CONN_REQUEST &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) > 0) {
		c->peer_eof = 1;
		c->state = CONN_CLOSING;
		event_del(c->timer);
		return;
	}
	vg_http__conn_free(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	vg_conn *c = arg;
	if (c->state == CONN_REQUEST && c->in_head) {
		vg_debug("http: closing a connection that did not send its request head in time");
		count_rejected(c->srv);
	}
	vg_http__conn_free(c);
}

/* Why a new connection from p cannot be served, or NULL when it can. */
static const char *over_limit(const vg_http_server *srv, const vg_peer *p, int trusted)
{
	if (srv->nconns >= srv->opt.max_connections)
		return "the server is at its connection limit";
	/*
	 * The last slots go to addresses that hold next to nothing (a browser tab
	 * holds a stream, its events and a request or two), so that addresses
	 * flooding the server cannot take them all.
	 */
	if (p->conns >= RESERVE_MAX_HELD && srv->nconns >= srv->opt.max_connections - srv->reserve)
		return "the remaining connection slots are kept for other addresses";
	if (trusted || srv->opt.max_conns_per_address < 0)
		return NULL;
	if (p->conns >= srv->opt.max_conns_per_address)
		return "too many connections from your address";
	if (p->pending >= srv->opt.max_pending_per_address)
		return "too many unfinished requests from your address";
	return NULL;
}

/* Closes a connection nobody can be spared for, with a best-effort answer. */
static void refuse(vg_http_server *srv, evutil_socket_t fd)
{
	static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
				   "Connection: close\r\nRetry-After: 1\r\n\r\n";
	ssize_t unused = send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)unused;
	evutil_closesocket(fd);
	count_rejected(srv);
	atomic_fetch_add_explicit(&srv->stats->http_over_limit, 1, memory_order_relaxed);
}

static void on_accept(struct evconnlistener *listener, evutil_socket_t fd, struct sockaddr *addr, int addrlen,
		      void *arg)
{
	(void)listener;
	(void)addrlen;
	vg_http_server *srv = arg;
	vg_peer_addr pa;
	if (vg_peer_addr_from_sockaddr(addr, &pa) != 0)
		memset(&pa, 0, sizeof pa);
	int trusted = vg_peer_nets_contain(srv->opt.trusted_proxies, srv->opt.ntrusted_proxies, &pa);
	vg_peer *p = vg_peer_get(srv->peers, &pa);
	if (!p) {
		refuse(srv, fd);
		return;
	}
	const char *why = over_limit(srv, p, trusted);
	if (why && (srv->nrejecting >= REJECT_MAX || p->rejecting >= REJECT_PER_ADDRESS)) {
		refuse(srv, fd);
		vg_peer_put(srv->peers, p);
		return;
	}
	vg_conn *c = calloc(1, sizeof *c);
	struct bufferevent *bev = c ? bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE) : NULL;
	struct event *timer = bev ? evtimer_new(srv->base, on_timer, c) : NULL;
	if (!timer) {
		vg_warn("http: out of memory accepting a connection");
		if (bev)
			bufferevent_free(bev);
		else
			evutil_closesocket(fd);
		free(c);
		vg_peer_put(srv->peers, p);
		return;
	}
	c->srv = srv;
	c->bev = bev;
	c->timer = timer;
	c->state = CONN_REQUEST;
	c->peer = p;
	c->via_proxy = trusted;
	c->over_limit = why;
	vg_http_parser_init(&c->parser);
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	if (why) {
		srv->nrejecting++;
		p->rejecting++;
		atomic_fetch_add_explicit(&srv->stats->http_over_limit, 1, memory_order_relaxed);
	} else {
		srv->nconns++;
		p->conns++;
		atomic_store(&srv->stats->http_connections, srv->nconns);
	}

	struct timeval stall = { .tv_sec = srv->opt.stall_timeout_us / 1000000,
				 .tv_usec = srv->opt.stall_timeout_us % 1000000 };
	bufferevent_setcb(bev, on_read, on_write, on_event, c);
	bufferevent_setwatermark(bev, EV_READ, 0, READ_HIGH_WATER);
	bufferevent_set_timeouts(bev, NULL, &stall);
	bufferevent_enable(bev, EV_READ);
	c->in_head = 1;
	set_pending(c, 1);
	arm_timer(c, why ? REJECT_HEAD_US : srv->opt.header_timeout_us);
}

static void on_accept_resume(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	vg_http_server *srv = arg;
	if (srv->listener)
		evconnlistener_enable(srv->listener);
}

static void on_accept_error(struct evconnlistener *listener, void *arg)
{
	vg_http_server *srv = arg;
	int err = EVUTIL_SOCKET_ERROR();
	int64_t now = vg_mono_us();
	if (now - srv->last_accept_warning_us > 10000000) {
		vg_warn("http: cannot accept a connection: %s", strerror(err));
		srv->last_accept_warning_us = now;
	}
	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
		evconnlistener_disable(listener);
		struct timeval tv = { 0, ACCEPT_PAUSE_US };
		evtimer_add(srv->accept_resume, &tv);
	}
}

/*
 * Whether a stream client can take another part now: it has drained the
 * previous one from our buffer, and the kernel is not still holding a part's
 * worth of bytes it could not send. Without the second check a slow reader
 * would be fed by the kernel's auto-tuned send buffer (megabytes: hundreds
 * of frames) and watch video seconds late instead of skipping frames.
 */
int vg_http__ready_for_part(vg_conn *c, size_t part_len)
{
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) != 0)
		return 0;
	int unsent = 0;
	if (ioctl(bufferevent_getfd(c->bev), SIOCOUTQNSD, &unsent) != 0)
		return 1;
	return (size_t)unsent < part_len;
}

static void on_keepalive(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	vg_http_server *srv = arg;
	for (vg_conn *c = srv->conns; c; c = c->next)
		if (c->state == CONN_EVENTS && evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
			queue_static(c, events_keepalive, sizeof events_keepalive - 1);
}

/*
 * Once a second: streaming clients that received no whole frame or event for
 * the stall timeout are dropped, every client's rate window is checked, and
 * the /events clients get the stats.
 */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	vg_http_server *srv = arg;
	int64_t now = vg_mono_us();
	vg_conn *next;
	for (vg_conn *c = srv->conns; c; c = next) {
		next = c->next;
		if (!is_streaming(c))
			continue;
		update_delivery(c, now);
		if (is_stalled(c, now)) {
			char who[160];
			describe_client(c, who, sizeof who);
			vg_debug("http: dropping the %s: no whole %s for %.1f s", who,
				 c->state == CONN_STREAM ? "frame" : "event",
				 (double)vg_delivery_waiting_us(&c->delivery, now) / 1e6);
			atomic_fetch_add_explicit(&srv->stats->http_clients_dropped, 1, memory_order_relaxed);
			count_rejected(srv);
			vg_http__conn_free(c);
			continue;
		}
		vg_delivery_check_rate(&c->delivery, now, srv->opt.stall_timeout_us, srv->opt.min_client_fps);
	}
	if (srv->nevents > 0)
		vg_http__send_stats(srv);
}

static int open_listener(vg_http_server *srv, char *err, size_t errlen)
{
	int fd = vg_http_listen(srv->opt.listen, &srv->port, &srv->loopback_bind, srv->address, sizeof srv->address,
				err, errlen);
	if (fd < 0)
		return fd;
	/* Backlog 0: the socket is listening already. */
	srv->listener = evconnlistener_new(srv->base, on_accept, srv,
					   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE, 0, fd);
	if (!srv->listener) {
		snprintf(err, errlen, "cannot listen on %s: out of memory", srv->opt.listen);
		close(fd);
		return -ENOMEM;
	}
	evconnlistener_set_error_cb(srv->listener, on_accept_error);
	return 0;
}

static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			vg_debug("http: cannot raise the open file limit: %s", strerror(errno));
	}
}

/*
 * libevent writes with writev(), which raises SIGPIPE when a client has gone.
 * main ignores SIGPIPE; this covers programs that embed the server and forget.
 */
static void ignore_sigpipe(void)
{
	struct sigaction old;
	if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL && !(old.sa_flags & SA_SIGINFO))
		signal(SIGPIPE, SIG_IGN);
}

static pthread_once_t threads_once = PTHREAD_ONCE_INIT;

static void use_threads(void)
{
	evthread_use_pthreads();
}

static void warn_if_open(const vg_http_server *srv)
{
	if (!srv->loopback_bind && !srv->auth)
		vg_warn("http: listening on %s, which other machines can reach, with no authentication: "
			"anyone who reaches this address can watch the stream (give --auth-token FILE or the "
			"configuration's auth: users, or bind to 127.0.0.1 behind an authenticating reverse proxy)",
			srv->address);
}

int vg_http_server_set_auth(vg_http_server *srv, const struct vg_config_auth *cfg, char *err, size_t errlen)
{
	vg_auth *next;
	if (vg_auth_create(&next, cfg, err, errlen) < 0)
		return -1;
	vg_auth_carry_over(next, srv->auth);
	int was_on = srv->auth != NULL;
	vg_auth_destroy(srv->auth);
	srv->auth = next;
	if (was_on != (next != NULL))
		vg_info("http: access control now %s", next ? "on" : "off");
	warn_if_open(srv);
	return 0;
}

int vg_http_server_create(vg_http_server **out, struct event_base *base, const vg_http_options *opt,
			  vg_stats *stats, char *err, size_t errlen)
{
	pthread_once(&threads_once, use_threads);
	*out = NULL;
	if (!opt || !opt->listen || !stats) {
		snprintf(err, errlen, "http server: no listen address or stats given");
		return -EINVAL;
	}
	vg_http_server *srv = calloc(1, sizeof *srv);
	if (!srv) {
		snprintf(err, errlen, "http server: out of memory");
		return -ENOMEM;
	}
	srv->base = base;
	srv->stats = stats;
	srv->opt = *opt;
	if (srv->opt.max_clients <= 0)
		srv->opt.max_clients = 100;
	if (srv->opt.max_event_clients <= 0)
		srv->opt.max_event_clients = 100;
	if (srv->opt.max_connections <= 0)
		srv->opt.max_connections = 1024;
	if (srv->opt.max_conns_per_address == 0)
		srv->opt.max_conns_per_address = 32;
	if (srv->opt.max_pending_per_address <= 0)
		srv->opt.max_pending_per_address = 16;
	srv->reserve = srv->opt.max_connections / 8;
	if (srv->opt.header_timeout_us <= 0)
		srv->opt.header_timeout_us = 5000000;
	if (srv->opt.idle_timeout_us <= 0)
		srv->opt.idle_timeout_us = 15000000;
	if (srv->opt.stall_timeout_us <= 0)
		srv->opt.stall_timeout_us = 10000000;
	pthread_mutex_init(&srv->lock, NULL);
	srv->wake_fd = -1;
	raise_fd_limit();
	ignore_sigpipe();

	srv->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (srv->wake_fd < 0) {
		int e = errno;
		snprintf(err, errlen, "http server: cannot create an eventfd: %s", strerror(e));
		vg_http_server_destroy(srv);
		return -e;
	}
	srv->wake = event_new(base, srv->wake_fd, EV_READ | EV_PERSIST, vg_http__on_wake, srv);
	srv->keepalive = event_new(base, -1, EV_PERSIST, on_keepalive, srv);
	srv->accept_resume = evtimer_new(base, on_accept_resume, srv);
	srv->tick = event_new(base, -1, EV_PERSIST, on_tick, srv);
	srv->peers = vg_peer_table_create();
	if (!srv->wake || !srv->keepalive || !srv->accept_resume || !srv->tick || !srv->peers) {
		snprintf(err, errlen, "http server: out of memory");
		vg_http_server_destroy(srv);
		return -ENOMEM;
	}
	int rc = vg_auth_create(&srv->auth, opt->auth, err, errlen) < 0 ? -EINVAL : open_listener(srv, err, errlen);
	srv->opt.auth = NULL;  /* vg_auth keeps its own copies; the caller's may go */
	if (rc != 0) {
		vg_http_server_destroy(srv);
		return rc;
	}
	warn_if_open(srv);
	struct timeval ka = { .tv_sec = SSE_KEEPALIVE_US / 1000000, .tv_usec = 0 };
	struct timeval tick = { .tv_sec = TICK_US / 1000000, .tv_usec = TICK_US % 1000000 };
	event_add(srv->wake, NULL);
	event_add(srv->keepalive, &ka);
	event_add(srv->tick, &tick);
	*out = srv;
	return 0;
}

int vg_http_server_port(const vg_http_server *srv)
{
	return srv->port;
}

const char *vg_http_server_address(const vg_http_server *srv)
{
	return srv->address;
}

void vg_http_server_shutdown(vg_http_server *srv)
{
	if (atomic_exchange(&srv->closed, 1))
		return;
	if (srv->listener) {
		evconnlistener_free(srv->listener);
		srv->listener = NULL;
	}
	while (srv->conns)
		vg_http__conn_free(srv->conns);
	/* Remove our own events so that the loop has nothing of ours left to wait for. */
	if (srv->wake)
		event_del(srv->wake);
	if (srv->keepalive)
		event_del(srv->keepalive);
	if (srv->accept_resume)
		event_del(srv->accept_resume);
	if (srv->tick)
		event_del(srv->tick);
}

void vg_http_server_destroy(vg_http_server *srv)
{
	if (!srv)
		return;
	vg_http_server_shutdown(srv);
	if (srv->wake)
		event_free(srv->wake);
	if (srv->keepalive)
		event_free(srv->keepalive);
	if (srv->accept_resume)
		event_free(srv->accept_resume);
	if (srv->tick)
		event_free(srv->tick);
	vg_peer_table_destroy(srv->peers);
	vg_auth_destroy(srv->auth);
	if (srv->wake_fd >= 0)
		close(srv->wake_fd);
	vg_http__cameras_free(srv);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}
