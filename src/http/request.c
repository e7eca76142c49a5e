#include "http/request.h"

#include <string.h>
#include <strings.h>

/* A method longer than this cannot be one we know, and lets us tell a long method from a long target. */
#define MAX_METHOD 16

static const struct {
	const char *name;
	enum vg_http_method method;
} methods[] = {
	{ "GET", VG_HTTP_GET },         { "HEAD", VG_HTTP_HEAD },   { "POST", VG_HTTP_POST },
	{ "PUT", VG_HTTP_PUT },         { "DELETE", VG_HTTP_DELETE }, { "CONNECT", VG_HTTP_CONNECT },
	{ "OPTIONS", VG_HTTP_OPTIONS }, { "TRACE", VG_HTTP_TRACE }, { "PATCH", VG_HTTP_PATCH },
};

const char *vg_http_method_name(enum vg_http_method method)
{
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
		if (methods[i].method == method)
			return methods[i].name;
	return "?";
}

void vg_http_parser_init(vg_http_parser *p)
{
	memset(p, 0, sizeof *p);
}

static int fail(vg_http_request *req, int status, const char *error)
{
	req->status = status;
	req->error = error;
	return VG_HTTP_PARSE_ERROR;
}

/* RFC 9110 tchar. */
static int is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int equals_nocase(const char *s, size_t len, const char *lit)
{
	size_t n = strlen(lit);
	if (len != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)s[i]) != lit[i])
			return 0;
	return 1;
}

/*
 * We serve no files, so traversal could not reach the disk today; rejecting it
 * here keeps any future handler, log reader or proxy from being surprised.
 * Segments are checked after percent-decoding, and encoded separators are
 * refused so that no later decoding step can create a new segment.
 */
static int check_path(const char *path, size_t len, vg_http_request *req)
{
	size_t i = 0;
	while (i < len) {
		/* path[i] is '/': scan one segment. */
		i++;
		size_t decoded = 0, dots = 0;
		while (i < len && path[i] != '/') {
			unsigned char c = (unsigned char)path[i];
			if (c == '%') {
				if (i + 2 >= len)
					return fail(req, 400, "truncated percent-encoding in request target");
				int hi = hex_value((unsigned char)path[i + 1]);
				int lo = hex_value((unsigned char)path[i + 2]);
				if (hi < 0 || lo < 0)
					return fail(req, 400, "invalid percent-encoding in request target");
				c = (unsigned char)(hi * 16 + lo);
				if (c == '/' || c == '\\' || c == 0)
					return fail(req, 400, "encoded '/', '\\' or NUL in request path");
				i += 3;
			} else {
				if (c == '\\')
					return fail(req, 400, "backslash in request path");
				i++;
			}
			decoded++;
			if (c == '.')
				dots++;
		}
		if (decoded == 2 && dots == 2)
			return fail(req, 400, "\"..\" segment in request path");
	}
	return 0;
}

static int parse_target(const char *t, size_t len, vg_http_request *req)
{
	if (len == 0 || t[0] != '/')
		return fail(req, 400, "request target must start with \"/\"");
	if (len > VG_HTTP_MAX_TARGET)
		return fail(req, 414, "request target too long");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)t[i];
		if (c <= 0x20 || c >= 0x7f || c == '#')
			return fail(req, 400, "invalid character in request target");
	}
	const char *q = memchr(t, '?', len);
	req->path = t;
	req->path_len = q ? (size_t)(q - t) : len;
	req->query = q ? q + 1 : NULL;
	req->query_len = q ? len - req->path_len - 1 : 0;
	return check_path(req->path, req->path_len, req);
}

/* line is the request line without its terminator. */
static int parse_request_line(const char *line, size_t len, vg_http_request *req)
{
	const char *sp1 = memchr(line, ' ', len);
	if (!sp1 || sp1 == line)
		return fail(req, 400, "malformed request line");
	size_t mlen = (size_t)(sp1 - line);
	for (size_t i = 0; i < mlen; i++)
		if (!is_tchar((unsigned char)line[i]))
			return fail(req, 400, "invalid character in method");
	const char *t = sp1 + 1;
	const char *end = line + len;
	const char *sp2 = memchr(t, ' ', (size_t)(end - t));
	if (!sp2 || sp2 == t)
		return fail(req, 400, "malformed request line: expected METHOD TARGET VERSION");
	const char *v = sp2 + 1;
	size_t vlen = (size_t)(end - v);
	if (memchr(v, ' ', vlen))
		return fail(req, 400, "malformed request line: extra space");
	int rc = parse_target(t, (size_t)(sp2 - t), req);
	if (rc)
		return rc;
	if (vlen != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' || v[7] < '0' ||
	    v[7] > '9')
		return fail(req, 400, "malformed HTTP version");
	if (v[5] != '1')
		return fail(req, 505, "HTTP version not supported: only HTTP/1.x");
	req->version_minor = v[7] - '0';
	req->method_name = line;
	req->method_len = mlen;
	req->method = 0;
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
		if (strlen(methods[i].name) == mlen && memcmp(methods[i].name, line, mlen) == 0)
			req->method = methods[i].method;
	if (!req->method)
		return fail(req, 501, "method not implemented");
	return 0;
}

static int parse_connection(const char *v, size_t len, int *close, int *keep)
{
	size_t i = 0;
	while (i < len) {
		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t s = i;
		while (i < len && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
			i++;
		if (equals_nocase(v + s, i - s, "close"))
			*close = 1;
		else if (equals_nocase(v + s, i - s, "keep-alive"))
			*keep = 1;
	}
	return 0;
}

static int parse_content_length(const char *v, size_t len, vg_http_request *req)
{
	if (len == 0)
		return fail(req, 400, "empty Content-Length");
	int64_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return fail(req, 400, "Content-Length is not a number");
		if (n > (INT64_MAX - 9) / 10)
			return fail(req, 400, "Content-Length too large");
		n = n * 10 + (v[i] - '0');
	}
	if (req->content_length >= 0 && req->content_length != n)
		return fail(req, 400, "conflicting Content-Length headers");
	req->content_length = n;
	return 0;
}

/* Stores a field that may appear only once; a second one is refused rather than guessed between. */
static int take_unique(vg_http_request *req, const char **field, size_t *field_len, const char *v, size_t vlen,
		       const char *duplicate)
{
	if (*field)
		return fail(req, 400, duplicate);
	*field = v;
	*field_len = vlen;
	return 0;
}

static int parse_header(const char *line, size_t len, vg_http_request *req, int *close, int *keep)
{
	if (line[0] == ' ' || line[0] == '\t')
		return fail(req, 400, "obsolete header line folding");
	const char *colon = memchr(line, ':', len);
	if (!colon || colon == line)
		return fail(req, 400, "malformed header field: expected \"Name: value\"");
	size_t nlen = (size_t)(colon - line);
	for (size_t i = 0; i < nlen; i++)
		if (!is_tchar((unsigned char)line[i]))
			return fail(req, 400, "invalid character in header field name");
	if (++req->header_count > VG_HTTP_MAX_HEADERS)
		return fail(req, 431, "too many header fields");
	const char *v = colon + 1, *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	size_t vlen = (size_t)(end - v);

	if (equals_nocase(line, nlen, "connection"))
		return parse_connection(v, vlen, close, keep);
	if (equals_nocase(line, nlen, "host"))
		return take_unique(req, &req->host, &req->host_len, v, vlen, "duplicate Host header");
	if (equals_nocase(line, nlen, "origin"))
		return take_unique(req, &req->origin, &req->origin_len, v, vlen, "duplicate Origin header");
	if (equals_nocase(line, nlen, "authorization"))
		return take_unique(req, &req->authorization, &req->authorization_len, v, vlen,
				   "duplicate Authorization header");
	if (equals_nocase(line, nlen, "cookie")) {
		req->cookie = v;
		req->cookie_len = vlen;
		return 0;
	}
	if (equals_nocase(line, nlen, "accept")) {
		req->accept = v;
		req->accept_len = vlen;
		return 0;
	}
	if (equals_nocase(line, nlen, "range"))
		return take_unique(req, &req->range, &req->range_len, v, vlen, "duplicate Range header");
	if (equals_nocase(line, nlen, "x-forwarded-proto")) {
		req->forwarded_proto = v;
		req->forwarded_proto_len = vlen;
		return 0;
	}
	/* A proxy appends to the last field; the entries that matter are at its right end. */
	if (equals_nocase(line, nlen, "x-forwarded-for")) {
		req->forwarded_for = v;
		req->forwarded_for_len = vlen;
		return 0;
	}
	if (equals_nocase(line, nlen, "content-length"))
		return parse_content_length(v, vlen, req);
	if (equals_nocase(line, nlen, "transfer-encoding"))
		return fail(req, 501, "Transfer-Encoding not implemented");
	return 0;
}

/* Length of the line at [s, lf) without a trailing CR. */
static size_t line_length(const char *buf, size_t s, size_t lf)
{
	return lf > s && buf[lf - 1] == '\r' ? lf - 1 - s : lf - s;
}

/* The head is complete at buf[head_start .. end): parse every line of it. */
static int parse_head(const char *buf, size_t head_start, size_t end, vg_http_request *req)
{
	int close = 0, keep = 0;
	size_t s = head_start;
	int first = 1;
	while (s < end) {
		const char *lf = memchr(buf + s, '\n', end - s);
		size_t e = (size_t)(lf - buf);
		size_t len = line_length(buf, s, e);
		if (len == 0)
			break;
		int rc = first ? parse_request_line(buf + s, len, req) : parse_header(buf + s, len, req, &close, &keep);
		if (rc)
			return rc;
		first = 0;
		s = e + 1;
	}
	req->keep_alive = req->version_minor >= 1 ? !close : keep && !close;
	return 0;
}

static void reset_request(vg_http_request *req)
{
	memset(req, 0, sizeof *req);
	req->content_length = -1;
}

/* The request line is still incoming and already long: tell a long method from a long target. */
static int check_long_line(const char *line, size_t len, vg_http_request *req)
{
	const char *sp = memchr(line, ' ', len < MAX_METHOD + 1 ? len : MAX_METHOD + 1);
	if (!sp)
		return fail(req, 400, "malformed request line: no method");
	return fail(req, 414, "request target too long");
}

int vg_http_parse(vg_http_parser *p, const char *buf, size_t len, vg_http_request *req)
{
	reset_request(req);
	size_t limit = len < VG_HTTP_MAX_HEAD ? len : VG_HTTP_MAX_HEAD;
	size_t i = p->scanned;
	for (; i < limit; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c == '\n') {
			size_t llen = line_length(buf, p->line_start, i);
			if (llen == 0 && !p->seen_request_line) {
				p->head_start = i + 1;
			} else if (llen == 0) {
				p->scanned = i + 1;
				int rc = parse_head(buf, p->head_start, i + 1, req);
				if (rc)
					return rc;
				req->consumed = i + 1;
				return VG_HTTP_PARSE_DONE;
			} else if (!p->seen_request_line) {
				/* Check the request line at once, so that a bad one is refused before its headers arrive. */
				p->seen_request_line = 1;
				vg_http_request tmp;
				reset_request(&tmp);
				if (parse_request_line(buf + p->line_start, llen, &tmp)) {
					*req = tmp;
					return VG_HTTP_PARSE_ERROR;
				}
			}
			p->line_start = i + 1;
		} else if (c == '\r') {
			if (i + 1 == len)
				break;  /* decide once the next byte is here */
			if (buf[i + 1] != '\n')
				return fail(req, 400, "CR not followed by LF");
		} else if ((c < 0x20 && c != '\t') || c == 0x7f) {
			return fail(req, 400, c == 0 ? "NUL byte in request head" : "control character in request head");
		}
	}
	p->scanned = i;
	if (!p->seen_request_line && i - p->head_start > VG_HTTP_MAX_TARGET + MAX_METHOD + 16)
		return check_long_line(buf + p->head_start, i - p->head_start, req);
	if (len >= VG_HTTP_MAX_HEAD && i >= VG_HTTP_MAX_HEAD) {
		if (!p->seen_request_line)
			return check_long_line(buf + p->head_start, i - p->head_start, req);
		return fail(req, 431, "request head larger than 8 KiB");
	}
	return VG_HTTP_PARSE_MORE;
}

int vg_http_query_param(const char *query, size_t query_len, const char *name, char *out, size_t cap)
{
	size_t name_len = strlen(name);
	if (cap > 0)
		out[0] = '\0';
	for (size_t i = 0; query && i < query_len;) {
		size_t end = i;
		while (end < query_len && query[end] != '&')
			end++;
		if (end - i > name_len && memcmp(query + i, name, name_len) == 0 && query[i + name_len] == '=') {
			size_t n = 0;
			for (size_t k = i + name_len + 1; k < end; k++) {
				int ch = (unsigned char)query[k];
				if (ch == '+') {
					ch = ' ';
				} else if (ch == '%') {
					int hi = k + 2 < end ? hex_value((unsigned char)query[k + 1]) : -1;
					int lo = hi >= 0 ? hex_value((unsigned char)query[k + 2]) : -1;
					if (lo < 0)
						return -1;
					ch = hi * 16 + lo;
					k += 2;
				}
				if (ch == 0 || n + 1 >= cap)
					return -1;
				out[n++] = (char)ch;
			}
			out[n] = '\0';
			return (int)n;
		}
		if (end - i == name_len && memcmp(query + i, name, name_len) == 0)
			return 0;
		i = end + 1;
	}
	return 0;
}

int vg_http_parse_range(const char *v, size_t len, int64_t size, int64_t *first, int64_t *last)
{
	if (len < 6 || strncasecmp(v, "bytes=", 6) != 0)
		return 0;
	const char *p = v + 6, *end = v + len;
	int64_t a = -1, b = -1;
	/* A number of at most 18 digits, so that nothing overflows. */
	int digits = 0;
	for (; p < end && *p >= '0' && *p <= '9'; p++, digits++) {
		if (digits == 18)
			return 0;
		a = (a < 0 ? 0 : a * 10) + (*p - '0');
	}
	if (p == end || *p != '-')
		return 0;
	p++;
	digits = 0;
	for (; p < end && *p >= '0' && *p <= '9'; p++, digits++) {
		if (digits == 18)
			return 0;
		b = (b < 0 ? 0 : b * 10) + (*p - '0');
	}
	/* Several ranges (a comma) would need multipart/byteranges: the whole file is answered instead. */
	if (p != end)
		return 0;
	if (a < 0 && b < 0)
		return 0;
	if (a < 0) {
		/* "-N": the last N bytes. */
		if (b == 0 || size == 0)
			return -1;
		a = b >= size ? 0 : size - b;
		b = size - 1;
	} else if (b < 0 || b >= size) {
		b = size - 1;
	}
	if (a >= size || b < a)
		return -1;
	*first = a;
	*last = b;
	return 1;
}
