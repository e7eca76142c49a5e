#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/redact.h"
#include "test.h"

/* The display form of uri with the built-in words only. */
static const char *shown(const char *uri)
{
	static char out[512];
	CHECK(vg_redact_uri_with(uri, NULL, 0, out, sizeof out) == 0);
	return out;
}

#define CHECK_SHOWN(uri, expected)                                                             \
	do {                                                                                   \
		const char *got_ = shown(uri);                                                 \
		CHECK_MSG(strcmp(got_, expected) == 0, "'%s' shown as '%s', expected '%s'", uri, \
			  got_, expected);                                                     \
	} while (0)

TEST(redact_userinfo)
{
	CHECK_SHOWN("rtsp://user:pw@10.0.0.1/live", "rtsp://***@10.0.0.1/live");
	CHECK_SHOWN("rtsp://user@10.0.0.1:554", "rtsp://***@10.0.0.1:554");
	/* The last '@' of the authority ends the userinfo: passwords may hold an unescaped '@'. */
	CHECK_SHOWN("rtsp://a@b@host:554", "rtsp://***@host:554");
	/* An '@' after the authority is not userinfo. */
	CHECK_SHOWN("http://host/path?a=b@c", "http://host/path?a=b@c");
	CHECK_SHOWN("/home/me/video@2x.mp4", "/home/me/video@2x.mp4");
	CHECK_SHOWN("lavfi:testsrc=size=640x480", "lavfi:testsrc=size=640x480");
	CHECK_SHOWN("", "");
}

TEST(redact_each_secret_word)
{
	static const char *const names[] = {
		"token", "access_token", "password", "pass", "passwd", "pwd", "key", "api_key", "apikey",
		"secret", "client_secret", "auth", "authorization", "signature", "x-amz-signature", "sig",
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char uri[128], want[128];
		snprintf(uri, sizeof uri, "http://h/s?channel=2&%s=SECRET123&x=1", names[i]);
		snprintf(want, sizeof want, "http://h/s?channel=2&%s=***&x=1", names[i]);
		CHECK_SHOWN(uri, want);
	}
	/* "sig" counts only as a whole name; "signal" or "design" are left alone. */
	CHECK_SHOWN("http://h/s?signal=5&design=a", "http://h/s?signal=5&design=a");
	/* Harmless names stay readable. */
	CHECK_SHOWN("http://h/s?channel=1&subtype=0&fps=5", "http://h/s?channel=1&subtype=0&fps=5");
	/* Several secrets, the ';' separator, and a name without a value. */
	CHECK_SHOWN("http://u:p@h/s?token=a;password=b&flag&key=", "http://***@h/s?token=***;password=***&flag&key=***");
}

TEST(redact_case_and_percent_encoding)
{
	CHECK_SHOWN("http://h/?TOKEN=a&PassWord=b&Api_Key=c", "http://h/?TOKEN=***&PassWord=***&Api_Key=***");
	/* %77 is 'w', %5F '_': the decoded names are password and api_key. */
	CHECK_SHOWN("http://h/?pass%77ord=a&api%5Fkey=b&%54oken=c", "http://h/?pass%77ord=***&api%5Fkey=***&%54oken=***");
	/* A '+' is a space; an incomplete escape is taken literally. */
	CHECK_SHOWN("http://h/?my+token=a&x%2=b&%zzpass=c", "http://h/?my+token=***&x%2=b&%zzpass=***");
}

TEST(redact_user_named_params)
{
	const char *extra[] = { "cam_code", "Serial" };
	char out[256];
	CHECK(vg_redact_uri_with("http://h/?cam_code=1&CAM_CODE=2&serial=3&camcode=4&token=5", extra, 2, out,
				 sizeof out) == 0);
	CHECK_MSG(strcmp(out, "http://h/?cam_code=***&CAM_CODE=***&serial=***&camcode=4&token=***") == 0, "%s", out);

	/* The process-wide set (--redact-param) is what vg_redact_uri uses. */
	vg_redact_clear_params();
	CHECK(vg_redact_uri("http://h/?cam_code=1", out, sizeof out) == 0);
	CHECK(strcmp(out, "http://h/?cam_code=1") == 0);
	CHECK(vg_redact_add_param("cam_code") == 0);
	CHECK(vg_redact_add_param("") == -EINVAL);
	CHECK(vg_redact_uri("http://h/?cam_code=1", out, sizeof out) == 0);
	CHECK(strcmp(out, "http://h/?cam_code=***") == 0);
	for (int i = 1; i < 32; i++)
		CHECK(vg_redact_add_param("x") == 0);
	CHECK(vg_redact_add_param("y") == -ENOSPC);
	vg_redact_clear_params();
}

TEST(redact_fragments_and_no_query)
{
	CHECK_SHOWN("http://h/path/file.mjpg", "http://h/path/file.mjpg");
	CHECK_SHOWN("http://h/path?", "http://h/path?");
	/* The query ends at the fragment; a fragment of name=value pairs is redacted too (OAuth). */
	CHECK_SHOWN("http://h/p?a=1&token=x#frag", "http://h/p?a=1&token=***#frag");
	CHECK_SHOWN("http://h/p?a=1#access_token=x&state=2", "http://h/p?a=1#access_token=***&state=2");
	CHECK_SHOWN("http://h/p#token=x", "http://h/p#token=***");
	/* A '?' or '@' inside a fragment is not a query or userinfo. */
	CHECK_SHOWN("http://h/p#a?b@c", "http://h/p#a?b@c");
	/* Userinfo without a path. */
	CHECK_SHOWN("http://u:p@h?token=1", "http://***@h?token=***");
}

TEST(redact_truncates_safely)
{
	const char *uri = "rtsp://admin:hunter2@cam/live?token=abcdefgh&x=1";
	char full[128];
	CHECK(vg_redact_uri_with(uri, NULL, 0, full, sizeof full) == 0);
	CHECK(strcmp(full, "rtsp://***@cam/live?token=***&x=1") == 0);
	/* Every shorter buffer holds a NUL-terminated prefix of the redacted form, never a secret. */
	for (size_t cap = 1; cap <= strlen(full); cap++) {
		char out[128];
		memset(out, 'Z', sizeof out);
		CHECK(vg_redact_uri_with(uri, NULL, 0, out, cap) == -ENOSPC);
		CHECK(strlen(out) == cap - 1);
		CHECK(strncmp(out, full, cap - 1) == 0);
		CHECK(out[cap] == 'Z');
	}
	CHECK(vg_redact_uri_with(uri, NULL, 0, full, strlen(full) + 1) == 0);
	/* A zero-sized buffer is left alone. */
	char none = 'Z';
	CHECK(vg_redact_uri_with(uri, NULL, 0, &none, 0) == -ENOSPC);
	CHECK(none == 'Z');
	char *dup = vg_redact_uri_dup("http://@h/?key=");
	CHECK(dup && strcmp(dup, "http://***@h/?key=***") == 0);
	free(dup);
}

TEST(redact_text)
{
	char out[256];
	CHECK(vg_redact_text("Opening 'http://u:pw@127.0.0.1:9/x?token=abc&n=1' for reading", out, sizeof out) == 0);
	CHECK_MSG(strcmp(out, "Opening 'http://***@127.0.0.1:9/x?token=***&n=1' for reading") == 0, "%s", out);
	CHECK(vg_redact_text("two: rtsp://a:b@h/1 and http://h/?key=k\"x", out, sizeof out) == 0);
	CHECK_MSG(strcmp(out, "two: rtsp://***@h/1 and http://h/?key=***\"x") == 0, "%s", out);
	CHECK(vg_redact_text("no url here, token=abc :// alone", out, sizeof out) == 0);
	CHECK_MSG(strcmp(out, "no url here, token=abc :// alone") == 0, "%s", out);
	CHECK(vg_redact_text("", out, sizeof out) == 0 && out[0] == '\0');
}

TEST(expand_env)
{
	char err[256];
	char *out;
	setenv("VG_TEST_PASS", "s3cr3t", 1);
	setenv("VG_TEST_EMPTY", "", 1);
	unsetenv("VG_TEST_UNSET");
	CHECK(vg_expand_env("rtsp://admin:${VG_TEST_PASS}@cam/live", &out, err, sizeof err) == 0);
	CHECK_MSG(strcmp(out, "rtsp://admin:s3cr3t@cam/live") == 0, "%s", out);
	free(out);
	CHECK(vg_expand_env("${VG_TEST_PASS}${VG_TEST_EMPTY}-${VG_TEST_PASS}", &out, err, sizeof err) == 0);
	CHECK(strcmp(out, "s3cr3t-s3cr3t") == 0);
	free(out);
	/* A '$' not followed by '{' stays as it is. */
	CHECK(vg_expand_env("/videos/$HOME/a$b$/$", &out, err, sizeof err) == 0);
	CHECK(strcmp(out, "/videos/$HOME/a$b$/$") == 0);
	free(out);
	CHECK(vg_expand_env("", &out, err, sizeof err) == 0);
	CHECK(strcmp(out, "") == 0);
	free(out);
	/* A value longer than the URI grows the buffer. */
	setenv("VG_TEST_LONG", "0123456789012345678901234567890123456789", 1);
	CHECK(vg_expand_env("${VG_TEST_LONG}${VG_TEST_LONG}", &out, err, sizeof err) == 0);
	CHECK(strlen(out) == 80);
	free(out);

	out = (char *)1;
	CHECK(vg_expand_env("rtsp://a:${VG_TEST_UNSET}@h", &out, err, sizeof err) == -EINVAL);
	CHECK(out == NULL);
	CHECK_MSG(strstr(err, "VG_TEST_UNSET") && strstr(err, "not set"), "%s", err);
	CHECK(vg_expand_env("rtsp://a:${VG_TEST_PASS@h", &out, err, sizeof err) == -EINVAL);
	CHECK_MSG(strstr(err, "'${' without a closing '}'"), "%s", err);
	CHECK(vg_expand_env("x${}y", &out, err, sizeof err) == -EINVAL);
	CHECK_MSG(strstr(err, "not a variable name"), "%s", err);
	CHECK(vg_expand_env("x${A B}y", &out, err, sizeof err) == -EINVAL);
	CHECK(vg_expand_env("x${1A}y", &out, err, sizeof err) == -EINVAL);
}

TEST_SUITE(redact,
	   TEST_ENTRY(redact_userinfo),
	   TEST_ENTRY(redact_each_secret_word),
	   TEST_ENTRY(redact_case_and_percent_encoding),
	   TEST_ENTRY(redact_user_named_params),
	   TEST_ENTRY(redact_fragments_and_no_query),
	   TEST_ENTRY(redact_truncates_safely),
	   TEST_ENTRY(redact_text),
	   TEST_ENTRY(expand_env));
