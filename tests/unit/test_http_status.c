#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/stats.h"
#include "http/status.h"
#include "test.h"

static void fill_stats(vg_stats *st)
{
	vg_stats_init(st, "rtsp://admin:secret@camera.local:554/stream1");
	st->start_mono_us = 1000000;
	atomic_store(&st->source_state, VG_SOURCE_RUNNING);
	atomic_store(&st->source_width, 640);
	atomic_store(&st->source_height, 480);
	atomic_store(&st->source_nominal_fps_milli, 25000);
	atomic_store(&st->source_frames, 1234);
	atomic_store(&st->source_corrupt_packets, 2);
	atomic_store(&st->source_reconnects, 1);
	atomic_store(&st->source_last_frame_mono_us, 60950000);
	atomic_store(&st->source_interval_ewma, 40000);
	atomic_store(&st->decode_ewma, 3000);
	atomic_store(&st->analysis_frames, 600);
	atomic_store(&st->analysis_drops, 634);
	atomic_store(&st->analysis_ewma, 80000);
	atomic_store(&st->analysis_interval_ewma, 80000);
	atomic_store(&st->encode_frames, 1200);
	atomic_store(&st->encode_drops, 30);
	atomic_store(&st->encode_skipped_fps_cap, 4);
	atomic_store(&st->encode_ewma, 5500);
	atomic_store(&st->output_interval_ewma, 40000);
	atomic_store(&st->latency_ewma, 12345);
	atomic_store(&st->output_bytes, 987654321);
	atomic_store(&st->http_stream_clients, 3);
	atomic_store(&st->http_event_clients, 2);
	atomic_store(&st->http_connections, 7);
	atomic_store(&st->http_requests, 99);
	atomic_store(&st->http_rejected, 5);
	atomic_store(&st->http_frames_sent, 3000);
	atomic_store(&st->http_frames_skipped, 12);
	atomic_store(&st->http_bytes_sent, 55555);
}

static double number(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
	CHECK_MSG(cJSON_IsNumber(item), "field %s is missing or not a number", name);
	return item->valuedouble;
}

static int near(double a, double b)
{
	return a - b < 1e-6 && b - a < 1e-6;
}

TEST(http_status_json)
{
	vg_stats st;
	fill_stats(&st);
	char *text = vg_status_json(&st, 61000000);
	CHECK(text);
	cJSON *root = cJSON_Parse(text);
	CHECK_MSG(root, "not JSON: %s", text);

	const cJSON *src = cJSON_GetObjectItemCaseSensitive(root, "source");
	CHECK(cJSON_IsObject(src));
	const cJSON *uri = cJSON_GetObjectItemCaseSensitive(src, "uri");
	CHECK(cJSON_IsString(uri));
	CHECK_MSG(strcmp(uri->valuestring, "rtsp://***@camera.local:554/stream1") == 0, "uri %s", uri->valuestring);
	const cJSON *state = cJSON_GetObjectItemCaseSensitive(src, "state");
	CHECK(cJSON_IsString(state) && strcmp(state->valuestring, "running") == 0);
	CHECK(number(src, "width") == 640 && number(src, "height") == 480);
	CHECK(near(number(src, "fps"), 25.0));
	CHECK(near(number(src, "nominal_fps"), 25.0));
	CHECK(number(src, "frames") == 1234);
	CHECK(number(src, "corrupt_packets") == 2);
	CHECK(number(src, "reconnects") == 1);
	CHECK(near(number(src, "last_frame_age_ms"), 50.0));

	const cJSON *an = cJSON_GetObjectItemCaseSensitive(root, "analysis");
	CHECK(number(an, "frames") == 600 && number(an, "drops") == 634);
	CHECK(near(number(an, "fps"), 12.5));
	CHECK(near(number(an, "latency_ms"), 80.0));

	const cJSON *out = cJSON_GetObjectItemCaseSensitive(root, "output");
	CHECK(number(out, "frames") == 1200 && number(out, "drops") == 30);
	CHECK(near(number(out, "fps"), 25.0));
	CHECK(number(out, "skipped_fps_cap") == 4);
	CHECK(near(number(out, "encode_ms"), 5.5));
	CHECK(near(number(out, "latency_ms"), 12.345));
	CHECK(number(out, "bytes") == 987654321);

	const cJSON *cl = cJSON_GetObjectItemCaseSensitive(root, "clients");
	CHECK(number(cl, "stream") == 3 && number(cl, "events") == 2);
	CHECK(number(cl, "connections") == 7 && number(cl, "requests") == 99);
	CHECK(number(cl, "rejected") == 5);
	CHECK(number(cl, "frames_sent") == 3000 && number(cl, "frames_skipped") == 12);
	CHECK(number(cl, "bytes_sent") == 55555);

	CHECK(near(number(root, "uptime_s"), 60.0));
	cJSON_Delete(root);
	free(text);
}

TEST(http_status_json_fresh)
{
	/* Before any frame: zero rates, a null frame age, and still valid JSON. */
	vg_stats st;
	vg_stats_init(&st, NULL);
	char *text = vg_status_json(&st, st.start_mono_us);
	CHECK(text);
	cJSON *root = cJSON_Parse(text);
	CHECK(root);
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(root, "source");
	CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(src, "last_frame_age_ms")));
	CHECK(number(src, "fps") == 0);
	CHECK(strcmp(cJSON_GetObjectItemCaseSensitive(src, "state")->valuestring, "starting") == 0);
	CHECK(strcmp(cJSON_GetObjectItemCaseSensitive(src, "uri")->valuestring, "") == 0);
	cJSON_Delete(root);
	free(text);
}

TEST(http_status_json_escapes_uri)
{
	vg_stats st;
	vg_stats_init(&st, "/videos/a \"quoted\"\\name\n.mp4");
	char *text = vg_status_json(&st, st.start_mono_us);
	cJSON *root = cJSON_Parse(text);
	CHECK(root);
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(root, "source");
	CHECK(strcmp(cJSON_GetObjectItemCaseSensitive(src, "uri")->valuestring, st.source_uri) == 0);
	cJSON_Delete(root);
	free(text);
}

static int is_name_start(int c)
{
	return isalpha(c) || c == '_' || c == ':';
}

static int is_name_char(int c)
{
	return isalnum(c) || c == '_' || c == ':';
}

/* Checks one sample line; copies the metric name into name. */
static int valid_sample(const char *line, char *name, size_t cap)
{
	const char *p = line;
	if (!is_name_start((unsigned char)*p))
		return 0;
	while (is_name_char((unsigned char)*p))
		p++;
	if ((size_t)(p - line) >= cap)
		return 0;
	memcpy(name, line, (size_t)(p - line));
	name[p - line] = '\0';
	if (*p == '{') {
		p++;
		for (;;) {
			if (!is_name_start((unsigned char)*p))
				return 0;
			while (is_name_char((unsigned char)*p))
				p++;
			if (p[0] != '=' || p[1] != '"')
				return 0;
			p += 2;
			while (*p && *p != '"') {
				if (*p == '\\' && p[1])
					p++;
				p++;
			}
			if (*p != '"')
				return 0;
			p++;
			if (*p == ',') {
				p++;
				continue;
			}
			if (*p != '}')
				return 0;
			p++;
			break;
		}
	}
	if (*p != ' ')
		return 0;
	p++;
	char *end;
	strtod(p, &end);
	return end != p && *end == '\0';
}

TEST(http_status_metrics)
{
	vg_stats st;
	fill_stats(&st);
	char *text = vg_status_metrics(&st, 61000000);
	CHECK(text);
	size_t len = strlen(text);
	CHECK(len > 0 && text[len - 1] == '\n');

	char helped[128][64], typed[128][64], types[128][16];
	int nhelp = 0, ntype = 0, nsamples = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[64];
		if (strncmp(line, "# HELP ", 7) == 0) {
			CHECK(sscanf(line + 7, "%63s", helped[nhelp]) == 1);
			CHECK(strlen(line) > 7 + strlen(helped[nhelp]) + 1);
			nhelp++;
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			CHECK(sscanf(line + 7, "%63s %15s", typed[ntype], types[ntype]) == 2);
			CHECK(strcmp(types[ntype], "counter") == 0 || strcmp(types[ntype], "gauge") == 0);
			/* Counters end in _total; gauges do not. */
			size_t n = strlen(typed[ntype]);
			int total = n > 6 && strcmp(typed[ntype] + n - 6, "_total") == 0;
			CHECK_MSG(total == (strcmp(types[ntype], "counter") == 0), "%s", line);
			ntype++;
			continue;
		}
		CHECK_MSG(line[0] != '#', "unexpected comment: %s", line);
		CHECK_MSG(valid_sample(line, name, sizeof name), "bad sample line: %s", line);
		CHECK_MSG(strncmp(name, "vigil_", 6) == 0, "not a vigil_ name: %s", name);
		int has_help = 0, has_type = 0;
		for (int i = 0; i < nhelp; i++)
			has_help |= strcmp(helped[i], name) == 0;
		for (int i = 0; i < ntype; i++)
			has_type |= strcmp(typed[i], name) == 0;
		CHECK_MSG(has_help && has_type, "no HELP or TYPE before %s", name);
		nsamples++;
		CHECK(nhelp < 128 && ntype < 128);
	}
	CHECK(nhelp == ntype);
	CHECK(nsamples >= nhelp);
	free(text);

	/* A few values, to be sure the fields are wired. */
	text = vg_status_metrics(&st, 61000000);
	CHECK(strstr(text, "\nvigil_source_frames_total{camera=\"default\"} 1234\n"));
	CHECK(strstr(text, "\nvigil_http_frames_skipped_total 12\n"));
	CHECK(strstr(text, "\nvigil_source_state{camera=\"default\",state=\"running\"} 1\n"));
	CHECK(strstr(text, "\nvigil_source_state{camera=\"default\",state=\"ended\"} 0\n"));
	CHECK(strstr(text, "\nvigil_output_latency_seconds{camera=\"default\"} 0.012345\n"));
	CHECK(strstr(text, "\nvigil_uptime_seconds 60\n"));
	CHECK(strstr(text, "\nvigil_http_stream_clients 3\n"));
	free(text);
}

TEST(http_status_health)
{
	vg_stats st;
	vg_stats_init(&st, "x");
	char msg[256];
	int64_t now = 100000000;
	CHECK(vg_status_health(&st, 0, now, msg, sizeof msg) == 503);
	CHECK(strstr(msg, "no frame"));
	CHECK(vg_status_health(&st, now - 1000000, now, msg, sizeof msg) == 200);
	CHECK(strcmp(msg, "ok") == 0);
	CHECK(vg_status_health(&st, now - VG_HEALTH_MAX_AGE_US - 1, now, msg, sizeof msg) == 503);
	CHECK(strstr(msg, "5.0 s"));
	/* Frames no longer flow once a file ended, however fresh the last one is. */
	atomic_store(&st.source_state, VG_SOURCE_ENDED);
	CHECK(vg_status_health(&st, now - 60000000, now, msg, sizeof msg) == 503);
	CHECK(vg_status_health(&st, now - 1000, now, msg, sizeof msg) == 503);
	CHECK_MSG(strstr(msg, "source ended"), "%s", msg);
	/* Nor while the source reconnects, even if a frame went out a moment ago. */
	atomic_store(&st.source_state, VG_SOURCE_RECONNECTING);
	CHECK(vg_status_health(&st, now - 1000, now, msg, sizeof msg) == 503);
	CHECK_MSG(strstr(msg, "reconnecting"), "%s", msg);
	atomic_store(&st.source_state, VG_SOURCE_RUNNING);
	CHECK(vg_status_health(&st, now - 1000, now, msg, sizeof msg) == 200);
}

TEST(http_status_json_redacts_uri)
{
	/* /api/stats shows the display form of core/redact.h, whatever string it was given. */
	vg_stats st;
	vg_stats_init(&st, "rtsp://user:pw@10.0.0.1/live?token=t0k3n&Password=hunter2&channel=1");
	char *text = vg_status_json(&st, 1000000);
	CHECK(text);
	CHECK_MSG(!strstr(text, "pw@") && !strstr(text, "t0k3n") && !strstr(text, "hunter2"), "%s", text);
	CHECK_MSG(strstr(text, "rtsp://***@10.0.0.1/live?token=***&Password=***&channel=1"), "%s", text);
	free(text);
}

TEST_SUITE(http_status,
	   TEST_ENTRY(http_status_json),
	   TEST_ENTRY(http_status_json_fresh),
	   TEST_ENTRY(http_status_json_escapes_uri),
	   TEST_ENTRY(http_status_metrics),
	   TEST_ENTRY(http_status_health),
	   TEST_ENTRY(http_status_json_redacts_uri));
