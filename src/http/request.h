#ifndef VG_HTTP_REQUEST_H
#define VG_HTTP_REQUEST_H

#include <stddef.h>
#include <stdint.h>

/*
 * An incremental parser for the head of an HTTP/1.x request (request line and
 * header fields). It allocates nothing and keeps no pointers between calls:
 * the caller passes the whole head received so far each time, and the parser
 * resumes its scan for the end of the head where it stopped, so feeding a
 * request byte by byte costs linear time. Strings in vg_http_request point
 * into the caller's buffer.
 *
 * Accepted: "METHOD SP /target SP HTTP/1.x" with exactly one space between
 * the parts, header fields "Name: value", lines ended by CRLF or by a bare LF
 * (RFC 9112 section 2.2 lets a recipient accept a bare LF; a CR not followed
 * by LF is an error), and empty lines before the request line (which a client
 * may send after a previous body). Rejected, with the status to answer:
 *
 *   400  malformed request line, header field or Content-Length; NUL or other
 *        control characters; a target that does not start with "/" or that
 *        has a ".." segment, literal or percent-encoded, or encodes "/", "\"
 *        or NUL; duplicate Host, Origin or Authorization; obsolete line folding
 *   414  a target longer than VG_HTTP_MAX_TARGET
 *   431  a head longer than VG_HTTP_MAX_HEAD or with more than
 *        VG_HTTP_MAX_HEADERS fields
 *   501  a method we do not know, or any Transfer-Encoding (we take no bodies)
 *   505  an HTTP version other than 1.x
 */

#define VG_HTTP_MAX_HEAD 8192
#define VG_HTTP_MAX_TARGET 2048
#define VG_HTTP_MAX_HEADERS 64
/* Largest request body read (the login form); the server answers larger ones without reading them. */
#define VG_HTTP_MAX_BODY 4096

enum vg_http_method {
	VG_HTTP_GET = 1,
	VG_HTTP_HEAD,
	VG_HTTP_POST,
	VG_HTTP_PUT,
	VG_HTTP_DELETE,
	VG_HTTP_CONNECT,
	VG_HTTP_OPTIONS,
	VG_HTTP_TRACE,
	VG_HTTP_PATCH,
};

enum vg_http_parse_result {
	VG_HTTP_PARSE_ERROR = -1,  /* req->status and req->error say why */
	VG_HTTP_PARSE_MORE = 0,    /* the head is not complete yet: call again with more bytes */
	VG_HTTP_PARSE_DONE = 1,    /* req is filled in; req->consumed bytes belong to the head */
};

typedef struct vg_http_request {
	enum vg_http_method method;
	const char *method_name;
	size_t method_len;
	const char *path;          /* from the leading "/" up to "?" or the end of the target */
	size_t path_len;
	const char *query;         /* after "?", NULL when the target has none */
	size_t query_len;
	int version_minor;         /* the x of HTTP/1.x */
	int keep_alive;            /* the version's default, overridden by Connection */
	const char *host;          /* NULL when absent */
	size_t host_len;
	const char *origin;        /* Origin, NULL when absent */
	size_t origin_len;
	const char *forwarded_for; /* the last X-Forwarded-For field, NULL when absent */
	size_t forwarded_for_len;
	const char *authorization; /* Authorization, NULL when absent */
	size_t authorization_len;
	const char *cookie;        /* the last Cookie field, NULL when absent */
	size_t cookie_len;
	const char *accept;        /* the last Accept field, NULL when absent */
	size_t accept_len;
	const char *range;         /* Range, NULL when absent */
	size_t range_len;
	const char *forwarded_proto; /* the last X-Forwarded-Proto field, NULL when absent */
	size_t forwarded_proto_len;
	int64_t content_length;    /* -1 when absent */
	int header_count;
	size_t consumed;           /* VG_HTTP_PARSE_DONE: length of the head, blank line included */
	int status;                /* VG_HTTP_PARSE_ERROR: the HTTP status to answer */
	const char *error;         /* VG_HTTP_PARSE_ERROR: what was wrong, a static string */
} vg_http_request;

typedef struct vg_http_parser {
	size_t scanned;      /* bytes already searched for the end of the head */
	size_t line_start;   /* where the line being scanned starts */
	size_t head_start;   /* where the request line starts (after leading empty lines) */
	int seen_request_line;
} vg_http_parser;

void vg_http_parser_init(vg_http_parser *p);

/*
 * Parses buf[0..len), the bytes received so far for this request; call
 * vg_http_parser_init before each new request. Returns a vg_http_parse_result.
 * The buffer must not change between calls except by growing at the end.
 */
int vg_http_parse(vg_http_parser *p, const char *buf, size_t len, vg_http_request *req);

const char *vg_http_method_name(enum vg_http_method method);

/*
 * The value of the query parameter NAME (its first occurrence),
 * percent-decoded ('+' as a space) into out with a terminating NUL. Returns
 * its length, 0 when the parameter is absent or empty, or -1 when it does not
 * fit in cap or holds a bad escape or a NUL.
 */
int vg_http_query_param(const char *query, size_t query_len, const char *name, char *out, size_t cap);

/*
 * A Range header's value for a resource of size bytes (RFC 9110 14.1.2):
 * one range, "bytes=A-B", "bytes=A-" or "bytes=-N". 1 with the inclusive
 * byte positions, -1 when it cannot be satisfied (416), 0 when it is not a
 * single byte range the server takes (the whole resource is sent).
 */
int vg_http_parse_range(const char *v, size_t len, int64_t size, int64_t *first, int64_t *last);

#endif
