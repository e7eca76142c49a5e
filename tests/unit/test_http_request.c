#include <string.h>

#include "http/request.h"
#include "test.h"

/* Parses a whole request in one call. */
static int parse_all(const char *text, vg_http_request *req)
{
	vg_http_parser p;
	vg_http_parser_init(&p);
	return vg_http_parse(&p, text, strlen(text), req);
}

static int span_is(const char *p, size_t len, const char *want)
{
	return p && len == strlen(want) && memcmp(p, want, len) == 0;
}

/* Expects the request to be refused with the given status. */
static void check_rejected(const char *text, int status)
{
	vg_http_request req;
	int rc = parse_all(text, &req);
	CHECK_MSG(rc == VG_HTTP_PARSE_ERROR, "expected an error for %s", text);
	CHECK_MSG(req.status == status, "expected %d, got %d (%s) for %s", status, req.status, req.error, text);
	CHECK(req.error && req.error[0]);
}

TEST(http_request_simple_get)
{
	const char *text = "GET /index.html HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: test\r\n\r\n";
	vg_http_request req;
	CHECK(parse_all(text, &req) == VG_HTTP_PARSE_DONE);
	CHECK(req.method == VG_HTTP_GET);
	CHECK(span_is(req.method_name, req.method_len, "GET"));
	CHECK(span_is(req.path, req.path_len, "/index.html"));
	CHECK(req.query == NULL);
	CHECK(req.version_minor == 1);
	CHECK(req.keep_alive == 1);
	CHECK(span_is(req.host, req.host_len, "localhost:8080"));
	CHECK(req.content_length == -1);
	CHECK(req.header_count == 2);
	CHECK(req.consumed == strlen(text));
}

TEST(http_request_query_and_head)
{
	vg_http_request req;
	CHECK(parse_all("HEAD /video_feed?t=123&x=%20 HTTP/1.1\r\n\r\n", &req) == VG_HTTP_PARSE_DONE);
	CHECK(req.method == VG_HTTP_HEAD);
	CHECK(span_is(req.path, req.path_len, "/video_feed"));
	CHECK(span_is(req.query, req.query_len, "t=123&x=%20"));
	CHECK(parse_all("GET /? HTTP/1.1\r\n\r\n", &req) == VG_HTTP_PARSE_DONE);
	CHECK(span_is(req.path, req.path_len, "/"));
	CHECK(req.query != NULL && req.query_len == 0);
}

TEST(http_request_connection_header)
{
	vg_http_request req;
	CHECK(parse_all("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", &req) == VG_HTTP_PARSE_DONE);
	CHECK(req.keep_alive == 0);
	CHECK(parse_all("GET / HTTP/1.1\r\nconnection: Upgrade, CLOSE\r\n\r\n", &req) == VG_HTTP_PARSE_DONE);
	CHECK(req.keep_alive == 0);
	CHECK(parse_all("GET / HTTP/1.0\r\n\r\n", &req) == VG_HTTP_PARSE_DONE);
	CHECK(req.version_minor == 0 && req.keep_alive == 0);
	CHECK(parse_all("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &req) == VG_HTTP_PARSE_DONE);
	CHECK(req.keep_alive == 1);
}

TEST(http_request_bare_lf_and_leading_blank_lines)
{
	vg_http_request req;
	const char *text = "\r\n\nGET /a HTTP/1.1\nHost: x\n\n";
	CHECK(parse_all(text, &req) == VG_HTTP_PARSE_DONE);
	CHECK(span_is(req.path, req.path_len, "/a"));
	CHECK(span_is(req.host, req.host_len, "x"));
	CHECK(req.consumed == strlen(text));
}

TEST(http_request_header_whitespace)
{
	vg_http_request req;
	CHECK(parse_all("GET / HTTP/1.1\r\nHost:\t  example  \t\r\nContent-Length: 0\r\n\r\n", &req) ==
	      VG_HTTP_PARSE_DONE);
	CHECK(span_is(req.host, req.host_len, "example"));
	CHECK(req.content_length == 0);
	CHECK(parse_all("GET / HTTP/1.1\r\nX-Empty:\r\n\r\n", &req) == VG_HTTP_PARSE_DONE);
}

TEST(http_request_pipelined_consumed)
{
	const char *text = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
	vg_http_request req;
	CHECK(parse_all(text, &req) == VG_HTTP_PARSE_DONE);
	CHECK(span_is(req.path, req.path_len, "/a"));
	CHECK(req.consumed == strlen("GET /a HTTP/1.1\r\n\r\n"));
	CHECK(parse_all(text + req.consumed, &req) == VG_HTTP_PARSE_DONE);
	CHECK(span_is(req.path, req.path_len, "/b"));
}

TEST(http_request_byte_by_byte)
{
	const char *text = "GET /api/stats?x=1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nEXTRA";
	size_t head = strlen(text) - 5;
	vg_http_parser p;
	vg_http_parser_init(&p);
	vg_http_request req;
	for (size_t n = 0; n < head; n++)
		CHECK_MSG(vg_http_parse(&p, text, n, &req) == VG_HTTP_PARSE_MORE, "at %zu bytes", n);
	CHECK(vg_http_parse(&p, text, head, &req) == VG_HTTP_PARSE_DONE);
	CHECK(req.consumed == head);
	CHECK(span_is(req.path, req.path_len, "/api/stats"));
	CHECK(span_is(req.query, req.query_len, "x=1"));
	CHECK(req.keep_alive == 0);
	/* The whole buffer at once gives the same answer. */
	vg_http_parser_init(&p);
	CHECK(vg_http_parse(&p, text, strlen(text), &req) == VG_HTTP_PARSE_DONE);
	CHECK(req.consumed == head);
}

TEST(http_request_byte_by_byte_error_early)
{
	/* A bad request line is refused as soon as it is complete, before any header arrives. */
	const char *text = "GET nope HTTP/1.1\r\n";
	vg_http_parser p;
	vg_http_parser_init(&p);
	vg_http_request req;
	size_t n = 0;
	int rc = VG_HTTP_PARSE_MORE;
	while (rc == VG_HTTP_PARSE_MORE && n <= strlen(text))
		rc = vg_http_parse(&p, text, n++, &req);
	CHECK(rc == VG_HTTP_PARSE_ERROR);
	CHECK(req.status == 400);
}

TEST(http_request_malformed)
{
	check_rejected("GET\r\n\r\n", 400);
	check_rejected("GET /\r\n\r\n", 400);
	check_rejected("GET  / HTTP/1.1\r\n\r\n", 400);
	check_rejected("GET / HTTP/1.1 \r\n\r\n", 400);
	check_rejected(" GET / HTTP/1.1\r\n\r\n", 400);
	check_rejected("G(T / HTTP/1.1\r\n\r\n", 400);
	check_rejected("GET / HTTP/1.1\r\nNo colon here\r\n\r\n", 400);
	check_rejected("GET / HTTP/1.1\r\n: empty name\r\n\r\n", 400);
	check_rejected("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400);
	check_rejected("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400);
	check_rejected("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400);
	check_rejected("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
	check_rejected("GET / HTTP/1.1\r\nContent-Length: 12x\r\n\r\n", 400);
	check_rejected("GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400);
	check_rejected("GET / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400);
	check_rejected("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400);
	check_rejected("GET / HTTP/1.1\rX: y\r\n\r\n", 400);
	check_rejected("GET / HTP/1.1\r\n\r\n", 400);
	check_rejected("GET / HTTP/1.10\r\n\r\n", 400);
	check_rejected("GET / http/1.1\r\n\r\n", 400);
}

TEST(http_request_control_characters)
{
	vg_http_request req;
	static const char nul[] = "GET /a\0b HTTP/1.1\r\n\r\n";
	vg_http_parser p;
	vg_http_parser_init(&p);
	CHECK(vg_http_parse(&p, nul, sizeof nul - 1, &req) == VG_HTTP_PARSE_ERROR && req.status == 400);
	static const char nul_header[] = "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n";
	vg_http_parser_init(&p);
	CHECK(vg_http_parse(&p, nul_header, sizeof nul_header - 1, &req) == VG_HTTP_PARSE_ERROR && req.status == 400);
	check_rejected("GET / HTTP/1.1\r\nX: a\x01z\r\n\r\n", 400);
	check_rejected("GET / HTTP/1.1\r\nX: a\x7fz\r\n\r\n", 400);
	check_rejected("GET /\x1b[31m HTTP/1.1\r\n\r\n", 400);
	/* Tabs are allowed in values; bytes above 0x7f (obs-text) too, but not in the target. */
	CHECK(parse_all("GET / HTTP/1.1\r\nX: a\tb \xc3\xa9\r\n\r\n", &req) == VG_HTTP_PARSE_DONE);
	check_rejected("GET /\xc3\xa9 HTTP/1.1\r\n\r\n", 400);
	check_rejected("GET /a#frag HTTP/1.1\r\n\r\n", 400);
}

TEST(http_request_target_form)
{
	check_rejected("GET index.html HTTP/1.1\r\n\r\n", 400);
	check_rejected("GET http://example.com/ HTTP/1.1\r\n\r\n", 400);
	check_rejected("OPTIONS * HTTP/1.1\r\n\r\n", 400);
}

TEST(http_request_traversal)
{
	check_rejected("GET /../etc/passwd HTTP/1.1\r\n\r\n", 400);
	check_rejected("GET /%2e%2e/ HTTP/1.1\r\n\r\n", 400);
	check_rejected("GET /%2E%2E/etc/passwd HTTP/1.1\r\n\r\n", 400);
	check_rejected("GET /.%2e/x HTTP/1.1\r\n\r\n", 400);
	check_rejected("GET //.. HTTP/1.1\r\n\r\n", 400);
	check_rejected("GET /a/b/.. HTTP/1.1\r\n\r\n", 400);
	check_rejected("GET /a/../b HTTP/1.1\r\n\r\n", 400);
	check_rejected("GET /..%2fetc HTTP/1.1\r\n\r\n", 400);
	check_rejected("GET /..%5c..%5cwindows HTTP/1.1\r\n\r\n", 400);
	check_rejected("GET /..\\..\\windows HTTP/1.1\r\n\r\n", 400);
	check_rejected("GET /a%00b HTTP/1.1\r\n\r\n", 400);
	check_rejected("GET /%zz HTTP/1.1\r\n\r\n", 400);
	check_rejected("GET /a%2 HTTP/1.1\r\n\r\n", 400);
	check_rejected("GET /a% HTTP/1.1\r\n\r\n", 400);
	/* Dots that are not a whole ".." segment are ordinary names, and a query is not a path. */
	vg_http_request req;
	CHECK(parse_all("GET /a..b/...//x. HTTP/1.1\r\n\r\n", &req) == VG_HTTP_PARSE_DONE);
	CHECK(parse_all("GET /./x HTTP/1.1\r\n\r\n", &req) == VG_HTTP_PARSE_DONE);
	CHECK(parse_all("GET /x?../../etc HTTP/1.1\r\n\r\n", &req) == VG_HTTP_PARSE_DONE);
}

TEST(http_request_uri_too_long)
{
	char text[VG_HTTP_MAX_TARGET + 64];
	size_t n = (size_t)snprintf(text, sizeof text, "GET /");
	memset(text + n, 'a', VG_HTTP_MAX_TARGET);
	n += VG_HTTP_MAX_TARGET;
	memcpy(text + n, " HTTP/1.1\r\n\r\n", 14);
	check_rejected(text, 414);
	/* Exactly the limit is fine. */
	n = (size_t)snprintf(text, sizeof text, "GET /");
	memset(text + n, 'a', VG_HTTP_MAX_TARGET - 1);
	n += VG_HTTP_MAX_TARGET - 1;
	memcpy(text + n, " HTTP/1.1\r\n\r\n", 14);
	vg_http_request req;
	CHECK(parse_all(text, &req) == VG_HTTP_PARSE_DONE);
	CHECK(req.path_len == VG_HTTP_MAX_TARGET);
}

TEST(http_request_uri_too_long_early)
{
	/* A target that keeps coming without a line end is refused without waiting for 8 KiB. */
	static char text[VG_HTTP_MAX_HEAD];
	memcpy(text, "GET /", 5);
	memset(text + 5, 'a', sizeof text - 5);
	vg_http_parser p;
	vg_http_parser_init(&p);
	vg_http_request req;
	CHECK(vg_http_parse(&p, text, VG_HTTP_MAX_TARGET + 100, &req) == VG_HTTP_PARSE_ERROR);
	CHECK(req.status == 414);
	/* A line with no space at all is not a long target but garbage. */
	memset(text, 'A', sizeof text);
	vg_http_parser_init(&p);
	CHECK(vg_http_parse(&p, text, sizeof text, &req) == VG_HTTP_PARSE_ERROR);
	CHECK(req.status == 400);
}

TEST(http_request_head_too_large)
{
	static char text[3 * VG_HTTP_MAX_HEAD];
	size_t n = (size_t)snprintf(text, sizeof text, "GET / HTTP/1.1\r\n");
	while (n + 200 < sizeof text)
		n += (size_t)snprintf(text + n, sizeof text - n, "X-Filler: %0100d\r\n", 0);
	vg_http_request req;
	vg_http_parser p;
	vg_http_parser_init(&p);
	/* Incomplete and over the limit: refused without waiting for the end. */
	CHECK(vg_http_parse(&p, text, VG_HTTP_MAX_HEAD, &req) == VG_HTTP_PARSE_ERROR);
	CHECK(req.status == 431);
	vg_http_parser_init(&p);
	CHECK(vg_http_parse(&p, text, VG_HTTP_MAX_HEAD - 1, &req) == VG_HTTP_PARSE_MORE);
	memcpy(text + n, "\r\n", 3);
	check_rejected(text, 431);
}

TEST(http_request_head_at_limit)
{
	/* A head of exactly VG_HTTP_MAX_HEAD bytes, blank line included, is accepted; one more byte is not. */
	static char text[VG_HTTP_MAX_HEAD + 2];
	const char *start = "GET / HTTP/1.1\r\nX: ";
	size_t s = strlen(start);
	memcpy(text, start, s);
	memset(text + s, 'v', VG_HTTP_MAX_HEAD - s - 4);
	memcpy(text + VG_HTTP_MAX_HEAD - 4, "\r\n\r\n", 4);
	vg_http_request req;
	vg_http_parser p;
	vg_http_parser_init(&p);
	CHECK(vg_http_parse(&p, text, VG_HTTP_MAX_HEAD, &req) == VG_HTTP_PARSE_DONE);
	CHECK(req.consumed == VG_HTTP_MAX_HEAD);
	memset(text + s, 'v', VG_HTTP_MAX_HEAD - s - 3);
	memcpy(text + VG_HTTP_MAX_HEAD - 3, "\r\n\r\n", 4);
	vg_http_parser_init(&p);
	CHECK(vg_http_parse(&p, text, VG_HTTP_MAX_HEAD + 1, &req) == VG_HTTP_PARSE_ERROR);
	CHECK(req.status == 431);
}

TEST(http_request_too_many_headers)
{
	static char text[VG_HTTP_MAX_HEAD];
	size_t n = (size_t)snprintf(text, sizeof text, "GET / HTTP/1.1\r\n");
	for (int i = 0; i <= VG_HTTP_MAX_HEADERS; i++)
		n += (size_t)snprintf(text + n, sizeof text - n, "X%d: y\r\n", i);
	snprintf(text + n, sizeof text - n, "\r\n");
	check_rejected(text, 431);
}

TEST(http_request_version)
{
	check_rejected("GET / HTTP/2.0\r\n\r\n", 505);
	check_rejected("GET / HTTP/0.9\r\n\r\n", 505);
	check_rejected("GET / HTTP/3.0\r\n\r\n", 505);
	vg_http_request req;
	CHECK(parse_all("GET / HTTP/1.2\r\n\r\n", &req) == VG_HTTP_PARSE_DONE);
	CHECK(req.version_minor == 2 && req.keep_alive == 1);
}

TEST(http_request_methods)
{
	vg_http_request req;
	CHECK(parse_all("POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\n", &req) == VG_HTTP_PARSE_DONE);
	CHECK(req.method == VG_HTTP_POST);
	CHECK(req.content_length == 5);
	CHECK(parse_all("DELETE / HTTP/1.1\r\n\r\n", &req) == VG_HTTP_PARSE_DONE && req.method == VG_HTTP_DELETE);
	check_rejected("BREW / HTTP/1.1\r\n\r\n", 501);
	check_rejected("get / HTTP/1.1\r\n\r\n", 501);
	check_rejected("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501);
	CHECK(strcmp(vg_http_method_name(VG_HTTP_HEAD), "HEAD") == 0);
}

TEST(http_request_need_more)
{
	vg_http_parser p;
	vg_http_request req;
	static const char *partial[] = { "", "G", "GET / HTTP/1.1", "GET / HTTP/1.1\r", "GET / HTTP/1.1\r\n",
					 "GET / HTTP/1.1\r\nHost: x\r\n", "GET / HTTP/1.1\r\nHost: x\r\n\r" };
	for (size_t i = 0; i < sizeof partial / sizeof partial[0]; i++) {
		vg_http_parser_init(&p);
		CHECK_MSG(vg_http_parse(&p, partial[i], strlen(partial[i]), &req) == VG_HTTP_PARSE_MORE, "\"%s\"",
			  partial[i]);
	}
}

TEST(http_request_origin_and_forwarded_for)
{
	vg_http_request req;
	CHECK(parse_all("GET / HTTP/1.1\r\nHost: h\r\nOrigin: https://a.example\r\n"
			"X-Forwarded-For: 1.1.1.1\r\nx-forwarded-for:  2.2.2.2, 3.3.3.3 \r\n\r\n",
			&req) == VG_HTTP_PARSE_DONE);
	CHECK(span_is(req.origin, req.origin_len, "https://a.example"));
	/* The last field counts: a proxy appends to it, and what came before is the client's to write. */
	CHECK(span_is(req.forwarded_for, req.forwarded_for_len, "2.2.2.2, 3.3.3.3"));
	CHECK(parse_all("GET / HTTP/1.1\r\nHost: h\r\n\r\n", &req) == VG_HTTP_PARSE_DONE);
	CHECK(req.origin == NULL && req.forwarded_for == NULL);
	/* Two Origins cannot both be the page's: refused like two Hosts. */
	CHECK(parse_all("GET / HTTP/1.1\r\nOrigin: https://a.example\r\nOrigin: https://b.example\r\n\r\n",
			&req) == VG_HTTP_PARSE_ERROR);
	CHECK(req.status == 400);
}

TEST(http_request_credentials)
{
	vg_http_request req;
	CHECK(parse_all("GET /?token=x HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer abc \r\nCookie: a=1\r\n"
			"Cookie: vigil_session=v1\r\nAccept: text/html,*/*\r\nX-Forwarded-Proto: https\r\n\r\n",
			&req) == VG_HTTP_PARSE_DONE);
	CHECK(span_is(req.authorization, req.authorization_len, "Bearer abc"));
	CHECK(span_is(req.cookie, req.cookie_len, "vigil_session=v1"));
	CHECK(span_is(req.accept, req.accept_len, "text/html,*/*"));
	CHECK(span_is(req.forwarded_proto, req.forwarded_proto_len, "https"));
	CHECK(span_is(req.query, req.query_len, "token=x"));
	CHECK(parse_all("GET / HTTP/1.1\r\nHost: h\r\n\r\n", &req) == VG_HTTP_PARSE_DONE);
	CHECK(req.authorization == NULL && req.cookie == NULL && req.accept == NULL && req.forwarded_proto == NULL);
	/* Two Authorization fields: which one would a proxy in front have checked? Refused. */
	check_rejected("GET / HTTP/1.1\r\nAuthorization: Bearer a\r\nauthorization: Bearer b\r\n\r\n", 400);
}

/* Range (RFC 9110 14.1.2): one byte range, from the start, open-ended or the last N bytes. */
TEST(http_request_range)
{
	int64_t a, b;
#define RANGE(v, size) vg_http_parse_range(v, strlen(v), size, &a, &b)
	CHECK(RANGE("bytes=0-99", 1000) == 1 && a == 0 && b == 99);
	CHECK(RANGE("bytes=100-", 1000) == 1 && a == 100 && b == 999);
	CHECK(RANGE("bytes=-10", 1000) == 1 && a == 990 && b == 999);
	CHECK(RANGE("bytes=-5000", 1000) == 1 && a == 0 && b == 999);
	CHECK(RANGE("bytes=900-5000", 1000) == 1 && a == 900 && b == 999);
	CHECK(RANGE("BYTES=1-1", 1000) == 1 && a == 1 && b == 1);
	/* Not satisfiable: past the end, backwards, nothing of an empty file. */
	CHECK(RANGE("bytes=1000-", 1000) == -1);
	CHECK(RANGE("bytes=5-4", 1000) == -1);
	CHECK(RANGE("bytes=-0", 1000) == -1);
	CHECK(RANGE("bytes=0-", 0) == -1);
	/* Not a range the server takes: the whole file is sent. */
	CHECK(RANGE("bytes=0-1,5-6", 1000) == 0);
	CHECK(RANGE("items=0-1", 1000) == 0);
	CHECK(RANGE("bytes=-", 1000) == 0);
	CHECK(RANGE("bytes=a-b", 1000) == 0);
	CHECK(RANGE("bytes= 0-1", 1000) == 0);
	CHECK(RANGE("bytes=1234567890123456789-", 1000) == 0);
#undef RANGE
}

TEST_SUITE(http_request,
	   TEST_ENTRY(http_request_credentials),
	   TEST_ENTRY(http_request_origin_and_forwarded_for),
	   TEST_ENTRY(http_request_simple_get),
	   TEST_ENTRY(http_request_query_and_head),
	   TEST_ENTRY(http_request_connection_header),
	   TEST_ENTRY(http_request_bare_lf_and_leading_blank_lines),
	   TEST_ENTRY(http_request_header_whitespace),
	   TEST_ENTRY(http_request_pipelined_consumed),
	   TEST_ENTRY(http_request_byte_by_byte),
	   TEST_ENTRY(http_request_byte_by_byte_error_early),
	   TEST_ENTRY(http_request_malformed),
	   TEST_ENTRY(http_request_control_characters),
	   TEST_ENTRY(http_request_target_form),
	   TEST_ENTRY(http_request_traversal),
	   TEST_ENTRY(http_request_uri_too_long),
	   TEST_ENTRY(http_request_uri_too_long_early),
	   TEST_ENTRY(http_request_head_too_large),
	   TEST_ENTRY(http_request_head_at_limit),
	   TEST_ENTRY(http_request_too_many_headers),
	   TEST_ENTRY(http_request_version),
	   TEST_ENTRY(http_request_methods),
	   TEST_ENTRY(http_request_need_more), TEST_ENTRY(http_request_range));
