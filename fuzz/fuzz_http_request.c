/*
 * libFuzzer target for the HTTP request parser and the checks the server
 * makes of its header values (Host, Origin, X-Forwarded-For, Range). Each input is
 * parsed twice: whole, and fed in growing prefixes as a socket would deliver
 * it, and both must agree. Pipelined requests are parsed one after another.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/access.h"
#include "http/peer.h"
#include "http/request.h"

static const char *const allowed_hosts[] = { "cam.example.test", "*.not-a-wildcard" };
static const char *const cors_origins[] = { "https://dash.example.test", "http://localhost:3000/" };

/* The server's checks of the header values: they must stay inside the values and agree with themselves. */
static void check_access(const vg_http_request *req)
{
	if (req->host) {
		int loop = vg_http_host_allowed(req->host, req->host_len, 1, allowed_hosts, 2);
		int any = vg_http_host_allowed(req->host, req->host_len, 0, NULL, 0);
		/* Whatever a loopback bind accepts, an open bind without a list accepts too. */
		if (loop && !any)
			abort();
	}
	if (req->origin) {
		const char *m = vg_http_cors_match(req->origin, req->origin_len, cors_origins, 2);
		if (m && m != cors_origins[0] && m != cors_origins[1])
			abort();
	}
	if (req->range) {
		/* A satisfiable range lies inside the resource, for any size. */
		static const int64_t sizes[] = { 0, 1, 1000, (int64_t)1 << 40 };
		for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
			int64_t a = -1, b = -1;
			int r = vg_http_parse_range(req->range, req->range_len, sizes[i], &a, &b);
			if (r > 0 && (a < 0 || b < a || b >= sizes[i]))
				abort();
		}
	}
	if (req->forwarded_for) {
		vg_peer_net trusted[2];
		if (vg_peer_net_parse("127.0.0.0/8", &trusted[0]) != 0 || vg_peer_net_parse("fd00::/8", &trusted[1]) != 0)
			abort();
		vg_peer_addr client;
		if (vg_peer_forwarded_client(req->forwarded_for, req->forwarded_for_len, trusted, 2, &client) == 0) {
			if (vg_peer_nets_contain(trusted, 2, &client))
				abort();
			char text[VG_PEER_ADDR_STRLEN];
			vg_peer_addr_format(&client, text, sizeof text);
			vg_peer_addr again;
			if (vg_peer_addr_parse(text, strlen(text), &again) != 0 || memcmp(again.b, client.b, 16) != 0)
				abort();
		}
	}
}

static void check_request(const char *buf, size_t len, const vg_http_request *req)
{
	if (req->consumed == 0 || req->consumed > len || req->consumed > VG_HTTP_MAX_HEAD)
		abort();
	if (req->path < buf || req->path + req->path_len > buf + req->consumed || req->path[0] != '/')
		abort();
	if (req->query && (req->query < buf || req->query + req->query_len > buf + req->consumed))
		abort();
	if (req->host && (req->host < buf || req->host + req->host_len > buf + req->consumed))
		abort();
	if (req->origin && (req->origin < buf || req->origin + req->origin_len > buf + req->consumed))
		abort();
	if (req->forwarded_for &&
	    (req->forwarded_for < buf || req->forwarded_for + req->forwarded_for_len > buf + req->consumed))
		abort();
	if (req->path_len > VG_HTTP_MAX_TARGET)
		abort();
	/* No ".." segment may get through, literal or percent-encoded. */
	for (size_t i = 0; i + 2 <= req->path_len; i++) {
		if (req->path[i] == '/' && req->path[i + 1] == '.' && i + 2 < req->path_len && req->path[i + 2] == '.' &&
		    (i + 3 == req->path_len || req->path[i + 3] == '/'))
			abort();
	}
	for (size_t i = 0; i < req->consumed; i++)
		if (buf[i] == 0)
			abort();
}

static int status_ok(int status)
{
	return status == 400 || status == 414 || status == 431 || status == 501 || status == 505;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy, so that reading past the input is caught by the sanitizer. */
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);

	size_t off = 0;
	for (int round = 0; round < 8 && off < size; round++) {
		const char *b = buf + off;
		size_t len = size - off;
		vg_http_parser whole;
		vg_http_request req;
		vg_http_parser_init(&whole);
		int rc = vg_http_parse(&whole, b, len, &req);
		if (rc == VG_HTTP_PARSE_ERROR && (!status_ok(req.status) || !req.error))
			abort();

		/* Incremental feeding must reach the same verdict, or an earlier error (bad bytes seen first). */
		vg_http_parser inc;
		vg_http_request ireq;
		vg_http_parser_init(&inc);
		int irc = VG_HTTP_PARSE_MORE;
		size_t step = 1 + (len > 64 ? (size_t)b[0] % 7 : 0);
		for (size_t n = 0; n <= len && irc == VG_HTTP_PARSE_MORE; n = n + step > len && n < len ? len : n + step)
			irc = vg_http_parse(&inc, b, n, &ireq);
		if (rc == VG_HTTP_PARSE_DONE) {
			if (irc != VG_HTTP_PARSE_DONE || ireq.consumed != req.consumed || ireq.method != req.method ||
			    ireq.path_len != req.path_len || ireq.keep_alive != req.keep_alive)
				abort();
			check_request(b, len, &req);
			check_access(&req);
			off += req.consumed;
			continue;
		}
		if (rc == VG_HTTP_PARSE_MORE && irc != VG_HTTP_PARSE_MORE)
			abort();
		if (rc == VG_HTTP_PARSE_ERROR && irc != VG_HTTP_PARSE_ERROR)
			abort();
		break;
	}
	free(buf);
	return 0;
}
