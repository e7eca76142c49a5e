#define _XOPEN_SOURCE 700
#include <cjson/cJSON.h>
#include <ftw.h>
#include <math.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/event_store.h"
#include "store/orphans.h"
#include "test.h"

/* Each test runs in its own child, so one temporary folder per process is enough. */
static char tmpdir[256];

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void rm_tmpdir(void)
{
	if (tmpdir[0])
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	tmpdir[0] = '\0';
}

static const char *make_tmpdir(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/vigil-store-XXXXXX");
	CHECK(mkdtemp(tmpdir));
	atexit(rm_tmpdir);
	return tmpdir;
}

static int exists(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0;
}

static void write_file(const char *path, size_t bytes)
{
	/* The camera's folder is the writer's to make, as the recorder and the snapshotter will. */
	char dir[1024];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	CHECK(slash);
	*slash = '\0';
	mkdir(dir, 0755);
	FILE *f = fopen(path, "wb");
	CHECK_MSG(f, "cannot write %s", path);
	for (size_t i = 0; i < bytes; i++)
		fputc('x', f);
	CHECK(fclose(f) == 0);
}

static vg_event_store *open_store(const char *dir, double retain_days, int64_t max_bytes)
{
	vg_store_options o = { .dir = dir, .retain_days = retain_days, .max_bytes = max_bytes };
	vg_event_store *st = NULL;
	char err[512] = "";
	CHECK_MSG(vg_event_store_open(&st, &o, err, sizeof err) == 0, "%s", err);
	CHECK(st);
	return st;
}

static vg_object_state event(const char *id, const char *camera, const char *label, double start, double end)
{
	vg_object_state s;
	memset(&s, 0, sizeof s);
	snprintf(s.id, sizeof s.id, "%s", id);
	snprintf(s.camera, sizeof s.camera, "%s", camera);
	snprintf(s.label, sizeof s.label, "%s", label);
	s.track_id = 7;
	s.class_id = 0;
	s.score = 0.5f;
	s.top_score = 0.75f;
	s.box[0] = 0.1f, s.box[1] = 0.2f, s.box[2] = 0.3f, s.box[3] = 0.4f;
	s.top_box[0] = 0.15f, s.top_box[1] = 0.25f, s.top_box[2] = 0.35f, s.top_box[3] = 0.45f;
	s.start_time = start;
	s.end_time = end;
	s.top_score_time = start + 1;
	return s;
}

static void add_zone(vg_object_state *s, const char *zone, int now)
{
	snprintf(s->entered_zones[s->nentered++], VG_ZONE_NAME_MAX + 1, "%s", zone);
	if (now)
		snprintf(s->zones[s->nzones++], VG_ZONE_NAME_MAX + 1, "%s", zone);
}

/* The ids of a query's answer, comma separated, in its order. */
static void query_ids(vg_event_store *st, const vg_event_query *q, char *out, size_t cap)
{
	char *json = vg_event_store_query_json(st, q);
	CHECK(json);
	cJSON *a = cJSON_Parse(json);
	CHECK_MSG(cJSON_IsArray(a), "not a JSON array: %s", json);
	out[0] = '\0';
	const cJSON *e;
	cJSON_ArrayForEach(e, a)
	{
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
		CHECK(cJSON_IsString(id));
		size_t n = strlen(out);
		snprintf(out + n, cap - n, "%s%s", n ? "," : "", id->valuestring);
	}
	cJSON_Delete(a);
	free(json);
}

/* Events of the tests that do not reopen the store, where retention runs only before their puts. */
static const double T0 = 1765050000.0; /* 2025-12-06 19:40 UTC */

TEST(event_store_open_creates_folders_and_db)
{
	const char *dir = make_tmpdir();
	char sub[512], path[600];
	snprintf(sub, sizeof sub, "%s/a/b/data", dir);
	vg_event_store *st = open_store(sub, 0, 0);
	snprintf(path, sizeof path, "%s/vigil.db", sub);
	CHECK(exists(path));
	snprintf(path, sizeof path, "%s/snapshots", sub);
	CHECK(exists(path));
	snprintf(path, sizeof path, "%s/clips", sub);
	CHECK(exists(path));
	/* The paths follow the layout of the header. */
	char p[600], want[600];
	CHECK(vg_event_store_snapshot_path(st, "front", "1765050000.123456-x7k2qa", 0, p, sizeof p) == 0);
	snprintf(want, sizeof want, "%s/snapshots/front/1765050000.123456-x7k2qa.jpg", sub);
	CHECK(strcmp(p, want) == 0);
	CHECK(vg_event_store_snapshot_path(st, "", "1765050000.123456-x7k2qa", 1, p, sizeof p) == 0);
	snprintf(want, sizeof want, "%s/snapshots/default/1765050000.123456-x7k2qa-crop.jpg", sub);
	CHECK(strcmp(p, want) == 0);
	CHECK(vg_event_store_clip_path(st, NULL, "1.5-abc", p, sizeof p) == 0);
	snprintf(want, sizeof want, "%s/clips/default/1.5-abc.mp4", sub);
	CHECK(strcmp(p, want) == 0);
	/* A buffer too small is refused rather than cut. */
	CHECK(vg_event_store_clip_path(st, NULL, "1.5-abc", p, 10) == -1);
	vg_store_stats s;
	vg_event_store_get_stats(st, &s);
	CHECK(s.events_written == 0 && s.dropped == 0 && s.write_errors == 0 && s.bytes == 0);
	vg_event_store_close(st);

	/* A separate clips folder is made too. */
	char clips[512];
	snprintf(clips, sizeof clips, "%s/elsewhere/clips", dir);
	vg_store_options o = { .dir = sub, .clips_dir = clips };
	char err[256];
	CHECK(vg_event_store_open(&st, &o, err, sizeof err) == 0);
	CHECK(exists(clips));
	CHECK(vg_event_store_clip_path(st, "cam", "1.5-abc", p, sizeof p) == 0);
	snprintf(want, sizeof want, "%s/cam/1.5-abc.mp4", clips);
	CHECK(strcmp(p, want) == 0);
	vg_event_store_close(st);
	vg_event_store_close(NULL);
	rm_tmpdir();
}

TEST(event_store_put_flush_query)
{
	vg_event_store *st = open_store(make_tmpdir(), 0, 0);
	vg_object_state s = event("1765050000.123456-x7k2qa", "front", "person", T0, 0);
	s.class_id = 3;
	s.stationary = 1;
	s.has_snapshot = 1;
	add_zone(&s, "door", 1);
	add_zone(&s, "yard \"east\"", 0);
	vg_event_store_put(st, &s);
	vg_event_store_flush(st);
	char *json = vg_event_store_query_json(st, NULL);
	CHECK(json);
	cJSON *a = cJSON_Parse(json);
	CHECK_MSG(cJSON_IsArray(a) && cJSON_GetArraySize(a) == 1, "%s", json);
	const cJSON *e = cJSON_GetArrayItem(a, 0);
	CHECK(strcmp(cJSON_GetObjectItem(e, "id")->valuestring, "1765050000.123456-x7k2qa") == 0);
	CHECK(strcmp(cJSON_GetObjectItem(e, "camera")->valuestring, "front") == 0);
	CHECK(strcmp(cJSON_GetObjectItem(e, "label")->valuestring, "person") == 0);
	CHECK(cJSON_GetObjectItem(e, "track_id")->valueint == 7);
	CHECK(fabs(cJSON_GetObjectItem(e, "score")->valuedouble - 0.5) < 1e-6);
	CHECK(fabs(cJSON_GetObjectItem(e, "top_score")->valuedouble - 0.75) < 1e-6);
	const cJSON *box = cJSON_GetObjectItem(e, "box");
	CHECK(cJSON_GetArraySize(box) == 4 && fabs(cJSON_GetArrayItem(box, 3)->valuedouble - 0.4) < 1e-6);
	const cJSON *top = cJSON_GetObjectItem(e, "top_box");
	CHECK(cJSON_GetArraySize(top) == 4 && fabs(cJSON_GetArrayItem(top, 0)->valuedouble - 0.15) < 1e-6);
	const cJSON *zones = cJSON_GetObjectItem(e, "zones");
	CHECK(cJSON_GetArraySize(zones) == 1 && strcmp(cJSON_GetArrayItem(zones, 0)->valuestring, "door") == 0);
	const cJSON *entered = cJSON_GetObjectItem(e, "entered_zones");
	CHECK(cJSON_GetArraySize(entered) == 2);
	CHECK(strcmp(cJSON_GetArrayItem(entered, 1)->valuestring, "yard \"east\"") == 0);
	CHECK(fabs(cJSON_GetObjectItem(e, "start_time")->valuedouble - T0) < 1e-6);
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(e, "end_time")));
	CHECK(fabs(cJSON_GetObjectItem(e, "top_score_time")->valuedouble - (T0 + 1)) < 1e-6);
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(e, "stationary")));
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(e, "has_snapshot")));
	CHECK(cJSON_IsFalse(cJSON_GetObjectItem(e, "has_clip")));
	/* The keys are those of vg_object_state_json, in its order, and no others. */
	static const char *const keys[] = { "id", "camera", "label", "track_id", "class_id", "score", "top_score",
					    "box", "top_box", "zones", "entered_zones", "start_time", "end_time",
					    "top_score_time", "stationary", "has_snapshot", "has_clip" };
	CHECK(cJSON_GetArraySize(e) == 17);
	int i = 0;
	for (const cJSON *k = e->child; k; k = k->next, i++)
		CHECK_MSG(strcmp(k->string, keys[i]) == 0, "key %d is %s", i, k->string);
	cJSON_Delete(a);
	free(json);
	vg_store_stats stats;
	vg_event_store_get_stats(st, &stats);
	CHECK(stats.events_written == 1 && stats.write_errors == 0 && stats.dropped == 0);
	vg_event_store_close(st);
	rm_tmpdir();
}

TEST(event_store_replace_by_id_update_then_end)
{
	vg_event_store *st = open_store(make_tmpdir(), 0, 0);
	vg_object_state s = event("100.5-aaaaaa", "front", "car", T0, 0);
	vg_event_store_put(st, &s);
	s.top_score = 0.9f;
	add_zone(&s, "drive", 1);
	vg_event_store_put(st, &s);
	vg_event_store_flush(st);
	vg_object_state g;
	CHECK(vg_event_store_get(st, s.id, &g) == 0);
	CHECK(fabs(g.top_score - 0.9f) < 1e-6 && g.end_time == 0 && g.nentered == 1 && g.nzones == 1);
	vg_event_query live = { .in_progress = 1 };
	char ids[512];
	query_ids(st, &live, ids, sizeof ids);
	CHECK(strcmp(ids, "100.5-aaaaaa") == 0);

	s.nzones = 0;
	s.end_time = T0 + 30;
	s.has_clip = 1;
	vg_event_store_put(st, &s);
	vg_event_store_clip_done(st, s.id, 1);
	vg_event_store_flush(st);
	CHECK(vg_event_store_get(st, s.id, &g) == 0);
	CHECK(fabs(g.end_time - (T0 + 30)) < 1e-6 && g.nzones == 0 && g.nentered == 1 && g.has_clip == 1);
	query_ids(st, &live, ids, sizeof ids);
	CHECK(strcmp(ids, "") == 0);
	vg_event_query all = { 0 };
	query_ids(st, &all, ids, sizeof ids);
	CHECK(strcmp(ids, "100.5-aaaaaa") == 0);

	/* A failed clip is no clip, and a later put of the old state does not bring it back. */
	vg_event_store_clip_done(st, s.id, 0);
	vg_event_store_put(st, &s);
	vg_event_store_flush(st);
	CHECK(vg_event_store_get(st, s.id, &g) == 0);
	CHECK(g.has_clip == 0);
	vg_store_stats stats;
	vg_event_store_get_stats(st, &stats);
	CHECK(stats.events_written == 4 && stats.write_errors == 0);
	vg_event_store_close(st);
	rm_tmpdir();
}

TEST(event_store_filters_newest_first)
{
	vg_event_store *st = open_store(make_tmpdir(), 0, 0);
	vg_object_state a = event("1.0-aaaaaa", "front", "person", T0 + 10, T0 + 20);
	add_zone(&a, "door", 0);
	vg_object_state b = event("2.0-bbbbbb", "front", "car", T0 + 20, 0);
	add_zone(&b, "door2", 1);
	vg_object_state c = event("3.0-cccccc", "back", "person", T0 + 30, T0 + 40);
	add_zone(&c, "yard", 0);
	add_zone(&c, "door", 0);
	vg_object_state d = event("4.0-dddddd", "back", "dog", T0 + 40, 0);
	vg_event_store_put(st, &a);
	vg_event_store_put(st, &c);
	vg_event_store_put(st, &d);
	vg_event_store_put(st, &b);
	vg_event_store_flush(st);
	char ids[512];
	vg_event_query q = { 0 };
	query_ids(st, &q, ids, sizeof ids);
	CHECK_MSG(strcmp(ids, "4.0-dddddd,3.0-cccccc,2.0-bbbbbb,1.0-aaaaaa") == 0, "%s", ids);
	q = (vg_event_query){ .camera = "front" };
	query_ids(st, &q, ids, sizeof ids);
	CHECK(strcmp(ids, "2.0-bbbbbb,1.0-aaaaaa") == 0);
	q = (vg_event_query){ .label = "person" };
	query_ids(st, &q, ids, sizeof ids);
	CHECK(strcmp(ids, "3.0-cccccc,1.0-aaaaaa") == 0);
	q = (vg_event_query){ .zone = "door" };
	query_ids(st, &q, ids, sizeof ids);
	CHECK_MSG(strcmp(ids, "3.0-cccccc,1.0-aaaaaa") == 0, "door matched %s", ids);
	q = (vg_event_query){ .zone = "door2" };
	query_ids(st, &q, ids, sizeof ids);
	CHECK(strcmp(ids, "2.0-bbbbbb") == 0);
	q = (vg_event_query){ .zone = "doo" };
	query_ids(st, &q, ids, sizeof ids);
	CHECK(strcmp(ids, "") == 0);
	q = (vg_event_query){ .zone = "door", .camera = "back", .label = "person" };
	query_ids(st, &q, ids, sizeof ids);
	CHECK(strcmp(ids, "3.0-cccccc") == 0);
	q = (vg_event_query){ .after = T0 + 15, .before = T0 + 35 };
	query_ids(st, &q, ids, sizeof ids);
	CHECK(strcmp(ids, "3.0-cccccc,2.0-bbbbbb") == 0);
	q = (vg_event_query){ .after = T0 + 25 };
	query_ids(st, &q, ids, sizeof ids);
	CHECK(strcmp(ids, "4.0-dddddd,3.0-cccccc") == 0);
	q = (vg_event_query){ .before = T0 + 25 };
	query_ids(st, &q, ids, sizeof ids);
	CHECK(strcmp(ids, "2.0-bbbbbb,1.0-aaaaaa") == 0);
	q = (vg_event_query){ .limit = 2 };
	query_ids(st, &q, ids, sizeof ids);
	CHECK(strcmp(ids, "4.0-dddddd,3.0-cccccc") == 0);
	q = (vg_event_query){ .in_progress = 1 };
	query_ids(st, &q, ids, sizeof ids);
	CHECK(strcmp(ids, "4.0-dddddd,2.0-bbbbbb") == 0);
	q = (vg_event_query){ .in_progress = 1, .camera = "back" };
	query_ids(st, &q, ids, sizeof ids);
	CHECK(strcmp(ids, "4.0-dddddd") == 0);
	q = (vg_event_query){ .camera = "side" };
	query_ids(st, &q, ids, sizeof ids);
	CHECK(strcmp(ids, "") == 0);
	vg_event_store_close(st);
	rm_tmpdir();
}

TEST(event_store_limit_default_and_cap)
{
	vg_event_store *st = open_store(make_tmpdir(), 0, 0);
	for (int i = 0; i < 1100; i++) {
		char id[32];
		snprintf(id, sizeof id, "%d.0-abcdef", 1000 + i);
		vg_object_state s = event(id, "", "person", T0 + i, T0 + i + 1);
		vg_event_store_put(st, &s);
	}
	vg_event_store_flush(st);
	for (int k = 0; k < 3; k++) {
		int limit = k == 0 ? 0 : k == 1 ? 5000 : 3;
		int want = k == 0 ? 50 : k == 1 ? 1000 : 3;
		vg_event_query q = { .limit = limit };
		char *json = vg_event_store_query_json(st, &q);
		cJSON *a = cJSON_Parse(json);
		CHECK_MSG(cJSON_GetArraySize(a) == want, "limit %d gave %d", limit, cJSON_GetArraySize(a));
		CHECK(strcmp(cJSON_GetObjectItem(cJSON_GetArrayItem(a, 0), "id")->valuestring, "2099.0-abcdef") == 0);
		cJSON_Delete(a);
		free(json);
	}
	vg_store_stats s;
	vg_event_store_get_stats(st, &s);
	CHECK(s.events_written == 1100 && s.dropped == 0);
	vg_event_store_close(st);
	rm_tmpdir();
}

TEST(event_store_get)
{
	vg_event_store *st = open_store(make_tmpdir(), 0, 0);
	vg_object_state s = event("5.25-zz9-zz", "gate", "bicycle", T0, T0 + 5);
	s.class_id = 1;
	s.has_snapshot = 1;
	s.has_clip = 1;
	add_zone(&s, "path", 1);
	vg_event_store_put(st, &s);
	vg_event_store_flush(st);
	vg_object_state g;
	memset(&g, 0xab, sizeof g);
	CHECK(vg_event_store_get(st, "5.25-zz9-zz", &g) == 0);
	CHECK(strcmp(g.id, s.id) == 0 && strcmp(g.camera, "gate") == 0 && strcmp(g.label, "bicycle") == 0);
	CHECK(g.track_id == 7 && g.class_id == 1);
	CHECK(g.score == s.score && g.top_score == s.top_score);
	CHECK(memcmp(g.box, s.box, sizeof g.box) == 0 && memcmp(g.top_box, s.top_box, sizeof g.top_box) == 0);
	CHECK(g.nzones == 1 && strcmp(g.zones[0], "path") == 0);
	CHECK(g.nentered == 1 && strcmp(g.entered_zones[0], "path") == 0);
	CHECK(g.start_time == T0 && g.end_time == T0 + 5 && g.top_score_time == T0 + 1);
	CHECK(g.stationary == 0 && g.has_snapshot == 1 && g.has_clip == 1);
	CHECK(vg_event_store_get(st, "6.0-nothere", &g) == 1);
	CHECK(vg_event_store_get(st, "../etc", &g) == 1);
	CHECK(vg_event_store_get(st, "5.25-zz9-zz", NULL) == -1);
	vg_event_store_close(st);
	rm_tmpdir();
}

TEST(event_store_counts_upsert_and_range)
{
	vg_event_store *st = open_store(make_tmpdir(), 0, 0);
	/* Recent hours, so that retention at open keeps them. */
	int64_t h0 = ((int64_t)time(NULL) / 3600 - 5) * 3600;
	int64_t us = h0 * 1000000LL;
	vg_event_store_count(st, "front", "zone", "door", NULL, "person", us + 10 * 1000000LL);
	vg_event_store_count(st, "front", "zone", "door", "", "person", us + 3599 * 1000000LL);
	vg_event_store_count(st, "front", "zone", "door", NULL, "person", us + 3600 * 1000000LL);
	vg_event_store_count(st, "front", "line", "gate", "in", "car", us + 7200 * 1000000LL);
	vg_event_store_count(st, "front", "line", "gate", "in", "car", us + 7300 * 1000000LL);
	vg_event_store_count(st, "front", "line", "gate", "out", "car", us + 7300 * 1000000LL);
	vg_event_store_count(st, "back", "zone", "yard", NULL, "dog", us);
	vg_event_store_flush(st);

	char *json = vg_event_store_counts_json(st, NULL, 0, 0);
	CHECK(json);
	cJSON *a = cJSON_Parse(json);
	CHECK_MSG(cJSON_GetArraySize(a) == 5, "%s", json);
	/* Oldest first; within an hour, by camera, kind, name, direction, label. */
	const cJSON *r = cJSON_GetArrayItem(a, 0);
	CHECK(strcmp(cJSON_GetObjectItem(r, "camera")->valuestring, "back") == 0);
	r = cJSON_GetArrayItem(a, 1);
	CHECK(strcmp(cJSON_GetObjectItem(r, "camera")->valuestring, "front") == 0);
	CHECK(strcmp(cJSON_GetObjectItem(r, "kind")->valuestring, "zone") == 0);
	CHECK(strcmp(cJSON_GetObjectItem(r, "name")->valuestring, "door") == 0);
	CHECK(strcmp(cJSON_GetObjectItem(r, "direction")->valuestring, "") == 0);
	CHECK(strcmp(cJSON_GetObjectItem(r, "label")->valuestring, "person") == 0);
	CHECK(cJSON_GetObjectItem(r, "hour")->valuedouble == (double)h0);
	CHECK(cJSON_GetObjectItem(r, "count")->valueint == 2);
	r = cJSON_GetArrayItem(a, 2);
	CHECK(cJSON_GetObjectItem(r, "hour")->valuedouble == (double)(h0 + 3600));
	CHECK(cJSON_GetObjectItem(r, "count")->valueint == 1);
	r = cJSON_GetArrayItem(a, 3);
	CHECK(strcmp(cJSON_GetObjectItem(r, "direction")->valuestring, "in") == 0);
	CHECK(cJSON_GetObjectItem(r, "hour")->valuedouble == (double)(h0 + 7200));
	CHECK(cJSON_GetObjectItem(r, "count")->valueint == 2);
	r = cJSON_GetArrayItem(a, 4);
	CHECK(strcmp(cJSON_GetObjectItem(r, "direction")->valuestring, "out") == 0);
	CHECK(cJSON_GetObjectItem(r, "count")->valueint == 1);
	cJSON_Delete(a);
	free(json);

	/* [from, to): the hour starting at to is out. */
	json = vg_event_store_counts_json(st, "front", (double)(h0 + 3600), (double)(h0 + 7200));
	CHECK(json);
	a = cJSON_Parse(json);
	CHECK_MSG(cJSON_GetArraySize(a) == 1, "%s", json);
	CHECK(cJSON_GetObjectItem(cJSON_GetArrayItem(a, 0), "hour")->valuedouble == (double)(h0 + 3600));
	cJSON_Delete(a);
	free(json);
	json = vg_event_store_counts_json(st, "back", (double)(h0 + 1), 0);
	CHECK(json && strcmp(json, "[]") == 0);
	free(json);

	/* Missing names are refused and counted, not stored. */
	vg_event_store_count(st, "front", NULL, "door", NULL, "person", us);
	vg_event_store_count(st, "front", "zone", "", NULL, "person", us);
	vg_store_stats s;
	vg_event_store_get_stats(st, &s);
	CHECK(s.write_errors == 2);
	vg_event_store_close(st);
	rm_tmpdir();
}

/* Waits for the store's thread to have run retention until cond holds (or 10 s). */
#define WAIT_FOR(st, stats, cond)                                          \
	do {                                                               \
		for (int i_ = 0; i_ < 1000; i_++) {                        \
			vg_event_store_get_stats((st), &(stats));          \
			if (cond)                                          \
				break;                                     \
			usleep(10000);                                     \
		}                                                          \
		vg_event_store_get_stats((st), &(stats));                  \
		CHECK_MSG(cond, "retention did not reach: %s", #cond);     \
	} while (0)

TEST(event_store_retention_by_age)
{
	const char *dir = make_tmpdir();
	vg_event_store *st = open_store(dir, 0, 0);
	double now = (double)time(NULL);
	vg_object_state old = event("1.0-oldold", "front", "person", now - 21 * 86400, now - 20 * 86400);
	old.has_snapshot = old.has_clip = 1;
	add_zone(&old, "door", 0);
	vg_object_state recent = event("2.0-recent", "front", "person", now - 3600, now - 3000);
	recent.has_snapshot = recent.has_clip = 1;
	/* Started long ago but still live: never removed for its age. */
	vg_object_state live = event("3.0-living", "", "person", now - 30 * 86400, 0);
	live.has_snapshot = live.has_clip = 1;
	char p[3][3][600];
	const vg_object_state *all[] = { &old, &recent, &live };
	for (int i = 0; i < 3; i++) {
		CHECK(vg_event_store_snapshot_path(st, all[i]->camera, all[i]->id, 0, p[i][0], sizeof p[i][0]) == 0);
		CHECK(vg_event_store_snapshot_path(st, all[i]->camera, all[i]->id, 1, p[i][1], sizeof p[i][1]) == 0);
		CHECK(vg_event_store_clip_path(st, all[i]->camera, all[i]->id, p[i][2], sizeof p[i][2]) == 0);
		for (int k = 0; k < 3; k++)
			write_file(p[i][k], 100);
		vg_event_store_put(st, all[i]);
	}
	int64_t h_old = ((int64_t)now - 20 * 86400) * 1000000LL, h_new = ((int64_t)now - 7200) * 1000000LL;
	vg_event_store_count(st, "front", "zone", "door", NULL, "person", h_old);
	vg_event_store_count(st, "front", "zone", "door", NULL, "person", h_new);
	vg_event_store_flush(st);
	vg_event_store_close(st);

	/* Retention runs at open, on the store's thread. */
	st = open_store(dir, 0, 0);
	vg_store_stats s;
	WAIT_FOR(st, s, s.removed_events == 1 && s.removed_files == 3 && s.bytes == 600);
	vg_object_state g;
	CHECK(vg_event_store_get(st, old.id, &g) == 1);
	CHECK(vg_event_store_get(st, recent.id, &g) == 0);
	CHECK(vg_event_store_get(st, live.id, &g) == 0);
	for (int k = 0; k < 3; k++) {
		CHECK_MSG(!exists(p[0][k]), "%s is still there", p[0][k]);
		CHECK(exists(p[1][k]));
		CHECK(exists(p[2][k]));
	}
	vg_event_query q = { .zone = "door" };
	char ids[256];
	query_ids(st, &q, ids, sizeof ids);
	CHECK(strcmp(ids, "") == 0);
	char *json = vg_event_store_counts_json(st, NULL, 0, 0);
	cJSON *a = cJSON_Parse(json);
	CHECK_MSG(cJSON_GetArraySize(a) == 1, "%s", json);
	double h_kept = (double)(h_new / 3600000000LL * 3600);
	CHECK(cJSON_GetObjectItem(cJSON_GetArrayItem(a, 0), "hour")->valuedouble == h_kept);
	cJSON_Delete(a);
	free(json);
	vg_event_store_close(st);

	/* With a shorter retention, the periodic pass removes the recent one too. */
	setenv("VIGIL_STORE_RETENTION_INTERVAL_MS", "20", 1);
	st = open_store(dir, 1.0 / 24 / 60, 0);
	WAIT_FOR(st, s, s.removed_events == 1 && s.removed_files == 3);
	CHECK(vg_event_store_get(st, recent.id, &g) == 1);
	CHECK(vg_event_store_get(st, live.id, &g) == 0);
	CHECK(!exists(p[1][0]) && !exists(p[1][2]) && exists(p[2][2]));
	vg_event_store_close(st);
	rm_tmpdir();
}

/* Files that no event owns go when they are as old as the events retention removes; nothing else does. */
TEST(event_store_sweeps_orphans)
{
	const char *dir = make_tmpdir();
	vg_event_store *st = open_store(dir, 0, 0);
	double now = (double)time(NULL);
	vg_object_state live = event("3.0-living", "", "person", now - 30 * 86400, 0);
	live.has_snapshot = 1;
	vg_event_store_put(st, &live);
	vg_event_store_flush(st);
	char owned[600], orphan[600], orphan_crop[600], orphan_tmp[600], fresh[600], notes[600];
	CHECK(vg_event_store_snapshot_path(st, "", live.id, 0, owned, sizeof owned) == 0);
	CHECK(vg_event_store_snapshot_path(st, "front", "9.0-orphan", 0, orphan, sizeof orphan) == 0);
	CHECK(vg_event_store_snapshot_path(st, "front", "9.0-orphan", 1, orphan_crop, sizeof orphan_crop) == 0);
	CHECK(vg_event_store_clip_path(st, "front", "9.1-orphan", orphan_tmp, sizeof orphan_tmp) == 0);
	strcat(orphan_tmp, ".tmp");
	CHECK(vg_event_store_snapshot_path(st, "front", "9.2-fresh", 0, fresh, sizeof fresh) == 0);
	snprintf(notes, sizeof notes, "%s/snapshots/front/notes.txt", dir);
	vg_event_store_close(st);
	const char *old[] = { owned, orphan, orphan_crop, orphan_tmp, notes };
	for (size_t i = 0; i < sizeof old / sizeof old[0]; i++) {
		write_file(old[i], 10);
		struct timespec t[2] = { { .tv_sec = (time_t)now - 20 * 86400 }, { .tv_sec = (time_t)now - 20 * 86400 } };
		CHECK(utimensat(AT_FDCWD, old[i], t, 0) == 0);
	}
	write_file(fresh, 10);
	st = open_store(dir, 0, 0);
	vg_store_stats s;
	WAIT_FOR(st, s, s.removed_files == 3);
	CHECK(!exists(orphan) && !exists(orphan_crop) && !exists(orphan_tmp));
	/* Its event's, a recent one and one not named as an event's stay. */
	CHECK(exists(owned) && exists(fresh) && exists(notes));
	vg_event_store_close(st);
	/* The names the sweep takes for an event's. */
	char id[64];
	CHECK(vg_store_file_event_id("1.5-ab-crop.jpg.tmp", id, sizeof id) && !strcmp(id, "1.5-ab"));
	CHECK(vg_store_file_event_id("1.5-ab.mp4", id, sizeof id) && !strcmp(id, "1.5-ab"));
	CHECK(!vg_store_file_event_id("Notes.jpg", id, sizeof id));
	CHECK(!vg_store_file_event_id(".jpg", id, sizeof id));
	CHECK(!vg_store_file_event_id("1.5-ab.png", id, sizeof id));
	rm_tmpdir();
}

TEST(event_store_retention_by_age_in_chunks)
{
	const char *dir = make_tmpdir();
	vg_event_store *st = open_store(dir, 0, 0);
	double now = (double)time(NULL);
	/* More than one chunk of old events, and some recent ones among them. */
	for (int i = 0; i < 700; i++) {
		char id[32];
		snprintf(id, sizeof id, "%d.0-chunk", i);
		double end = i % 7 == 0 ? now - 100 : now - 30 * 86400 + i;
		vg_object_state e = event(id, "front", "person", end - 10, end);
		vg_event_store_put(st, &e);
	}
	vg_event_store_flush(st);
	vg_event_store_close(st);
	st = open_store(dir, 0, 0);
	vg_store_stats s;
	WAIT_FOR(st, s, s.removed_events == 600);
	char *json = vg_event_store_query_json(st, &(vg_event_query){ .limit = 1000 });
	cJSON *a = cJSON_Parse(json);
	CHECK_MSG(cJSON_GetArraySize(a) == 100, "%d left", cJSON_GetArraySize(a));
	cJSON_Delete(a);
	free(json);
	vg_event_store_close(st);
	rm_tmpdir();
}

TEST(event_store_retention_by_size_clips_then_snapshots)
{
	setenv("VIGIL_STORE_RETENTION_INTERVAL_MS", "20", 1);
	const char *dir = make_tmpdir();
	double now = (double)time(NULL);
	/* Three ended events of 600 bytes each (a 400-byte clip, two 100-byte snapshots) and a live one. */
	const char *ids[4] = { "1.0-aaaaaa", "2.0-bbbbbb", "3.0-cccccc", "4.0-dddddd" };
	char p[4][3][600];
	vg_event_store *st = open_store(dir, 0, 1000000);
	for (int i = 0; i < 4; i++) {
		double start = now - 400 + i * 100;
		vg_object_state e = event(ids[i], "front", "person", start, i < 3 ? start + 50 : 0);
		e.has_snapshot = e.has_clip = 1;
		CHECK(vg_event_store_snapshot_path(st, "front", ids[i], 0, p[i][0], sizeof p[i][0]) == 0);
		CHECK(vg_event_store_snapshot_path(st, "front", ids[i], 1, p[i][1], sizeof p[i][1]) == 0);
		CHECK(vg_event_store_clip_path(st, "front", ids[i], p[i][2], sizeof p[i][2]) == 0);
		write_file(p[i][0], 100);
		write_file(p[i][1], 100);
		write_file(p[i][2], 400);
		vg_event_store_put(st, &e);
	}
	vg_event_store_flush(st);
	vg_store_stats s;
	WAIT_FOR(st, s, s.bytes == 2400);
	CHECK(s.removed_files == 0);
	vg_event_store_close(st);

	/* 1600 bytes allowed: the two oldest clips go, nothing else. */
	st = open_store(dir, 0, 1600);
	WAIT_FOR(st, s, s.bytes == 1600 && s.removed_files == 2);
	vg_object_state g;
	for (int i = 0; i < 4; i++) {
		CHECK(vg_event_store_get(st, ids[i], &g) == 0);
		CHECK_MSG(g.has_clip == (i >= 2), "event %d has_clip %d", i, g.has_clip);
		CHECK(g.has_snapshot == 1);
		CHECK(exists(p[i][2]) == (i >= 2));
		CHECK(exists(p[i][0]) && exists(p[i][1]));
	}
	vg_event_store_close(st);

	/*
	 * 1000 bytes: the last ended clip (1600 - 400 = 1200) is not enough, so
	 * the oldest event's snapshots go next (1000), and no more.
	 */
	st = open_store(dir, 0, 1000);
	WAIT_FOR(st, s, s.bytes == 1000 && s.removed_files == 3);
	for (int i = 0; i < 3; i++) {
		CHECK(vg_event_store_get(st, ids[i], &g) == 0);
		CHECK(g.has_clip == 0);
		CHECK(!exists(p[i][2]));
		CHECK(g.has_snapshot == (i > 0));
		CHECK(exists(p[i][0]) == (i > 0) && exists(p[i][1]) == (i > 0));
	}
	/* The live event keeps its files whatever the size. */
	CHECK(vg_event_store_get(st, ids[3], &g) == 0 && g.has_clip == 1 && g.has_snapshot == 1);
	CHECK(exists(p[3][0]) && exists(p[3][1]) && exists(p[3][2]));
	vg_event_store_close(st);
	rm_tmpdir();
}

TEST(event_store_bad_ids_and_cameras_refused)
{
	vg_event_store *st = open_store(make_tmpdir(), 0, 0);
	char p[600];
	static const char *const bad[] = { "../x", "a/b", "", ".hidden", "ABC", "1765050000.1-X7K2QA", "a b",
					   "a\\b", "a%b", "0123456789012345678901234567890123456789" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK_MSG(!vg_event_id_valid(bad[i]), "%s accepted", bad[i]);
		CHECK(vg_event_store_snapshot_path(st, "front", bad[i], 0, p, sizeof p) == -1);
		CHECK(vg_event_store_snapshot_path(st, "front", bad[i], 1, p, sizeof p) == -1);
		CHECK(vg_event_store_clip_path(st, "front", bad[i], p, sizeof p) == -1);
	}
	CHECK(!vg_event_id_valid(NULL));
	CHECK(vg_event_store_clip_path(st, "front", NULL, p, sizeof p) == -1);
	CHECK(vg_event_id_valid("1765050000.123456-x7k2qa"));
	CHECK(vg_event_id_valid("a"));
	CHECK(vg_event_id_valid("012345678901234567890123456789012345678")); /* 39 characters: the most */
	static const char *const bad_cam[] = { "a/b", "..", ".x", "/", "../etc" };
	for (size_t i = 0; i < sizeof bad_cam / sizeof bad_cam[0]; i++) {
		CHECK(vg_event_store_snapshot_path(st, bad_cam[i], "1.0-a", 0, p, sizeof p) == -1);
		CHECK(vg_event_store_clip_path(st, bad_cam[i], "1.0-a", p, sizeof p) == -1);
	}
	CHECK(vg_event_store_clip_path(NULL, "front", "1.0-a", p, sizeof p) == -1);
	/* A put with a bad id is refused and counted, never stored. */
	vg_object_state e = event("../x", "front", "person", T0, 0);
	vg_event_store_put(st, &e);
	vg_event_store_clip_done(st, "a/b", 1);
	vg_event_store_flush(st);
	vg_store_stats s;
	vg_event_store_get_stats(st, &s);
	CHECK(s.write_errors == 2 && s.events_written == 0);
	char *json = vg_event_store_query_json(st, NULL);
	CHECK(json && strcmp(json, "[]") == 0);
	free(json);
	vg_event_store_close(st);
	rm_tmpdir();
}

TEST(event_store_survives_restart)
{
	const char *dir = make_tmpdir();
	vg_event_store *st = open_store(dir, 0, 0);
	/* Recent, or retention at the second open would rightly remove it. */
	double t = (double)time(NULL) - 60;
	vg_object_state e = event("9.0-persist", "front", "cat", t, t + 9);
	add_zone(&e, "porch", 0);
	vg_event_store_put(st, &e);
	vg_event_store_count(st, "front", "zone", "porch", NULL, "cat", (int64_t)time(NULL) * 1000000LL);
	/* close writes what is queued, without a flush. */
	vg_event_store_close(st);
	st = open_store(dir, 0, 0);
	vg_object_state g;
	CHECK(vg_event_store_get(st, "9.0-persist", &g) == 0);
	CHECK(strcmp(g.label, "cat") == 0 && g.end_time == t + 9 && g.nentered == 1);
	vg_event_query q = { .zone = "porch" };
	char ids[256];
	query_ids(st, &q, ids, sizeof ids);
	CHECK(strcmp(ids, "9.0-persist") == 0);
	char *json = vg_event_store_counts_json(st, "front", 0, 0);
	cJSON *a = cJSON_Parse(json);
	CHECK(cJSON_GetArraySize(a) == 1 && cJSON_GetObjectItem(cJSON_GetArrayItem(a, 0), "count")->valueint == 1);
	cJSON_Delete(a);
	free(json);
	vg_event_store_close(st);
	rm_tmpdir();
}

TEST(event_store_newer_schema_refused)
{
	const char *dir = make_tmpdir();
	vg_event_store *st = open_store(dir, 0, 0);
	vg_event_store_close(st);
	char path[600];
	snprintf(path, sizeof path, "%s/vigil.db", dir);
	sqlite3 *db = NULL;
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "PRAGMA user_version=7", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	vg_store_options o = { .dir = dir };
	char err[512] = "";
	st = (vg_event_store *)1;
	CHECK(vg_event_store_open(&st, &o, err, sizeof err) == -1);
	CHECK(st == NULL);
	CHECK_MSG(strstr(err, path) && strstr(err, "version 7") && strstr(err, "newer"), "message: %s", err);
	rm_tmpdir();
}

TEST(event_store_garbage_db_refused)
{
	const char *dir = make_tmpdir();
	char path[600];
	snprintf(path, sizeof path, "%s/vigil.db", dir);
	FILE *f = fopen(path, "wb");
	CHECK(f);
	for (int i = 0; i < 4096; i++)
		fputc((i * 7919) & 0xff, f);
	fclose(f);
	vg_store_options o = { .dir = dir };
	char err[512] = "";
	vg_event_store *st = NULL;
	CHECK(vg_event_store_open(&st, &o, err, sizeof err) == -1);
	CHECK(st == NULL);
	CHECK_MSG(strstr(err, path) && strstr(err, "not a vigil database"), "message: %s", err);
	rm_tmpdir();
}

TEST(event_store_unwritable_dir_refused)
{
	const char *dir = make_tmpdir();
	char file[600], under[700];
	snprintf(file, sizeof file, "%s/plain-file", dir);
	write_file(file, 3);
	snprintf(under, sizeof under, "%s/data", file);
	vg_store_options o = { .dir = under };
	char err[512] = "";
	vg_event_store *st = NULL;
	CHECK(vg_event_store_open(&st, &o, err, sizeof err) == -1);
	CHECK(st == NULL);
	CHECK_MSG(strstr(err, under) && strstr(err, "Not a directory"), "message: %s", err);
	/* A clips folder that cannot be made fails the same way. */
	char data[600];
	snprintf(data, sizeof data, "%s/data", dir);
	o = (vg_store_options){ .dir = data, .clips_dir = under };
	CHECK(vg_event_store_open(&st, &o, err, sizeof err) == -1);
	CHECK_MSG(strstr(err, under) && strstr(err, "cannot create"), "message: %s", err);
	o = (vg_store_options){ 0 };
	CHECK(vg_event_store_open(&st, &o, err, sizeof err) == -1);
	CHECK(strstr(err, "no data folder"));
	rm_tmpdir();
}

TEST(event_store_default_dir)
{
	char buf[512];
	setenv("XDG_DATA_HOME", "/srv/data", 1);
	setenv("HOME", "/home/someone", 1);
	CHECK(vg_store_default_dir(buf, sizeof buf) == 0 && strcmp(buf, "/srv/data/vigil") == 0);
	setenv("XDG_DATA_HOME", "relative", 1);
	CHECK(vg_store_default_dir(buf, sizeof buf) == 0 && strcmp(buf, "/home/someone/.local/share/vigil") == 0);
	unsetenv("XDG_DATA_HOME");
	CHECK(vg_store_default_dir(buf, sizeof buf) == 0 && strcmp(buf, "/home/someone/.local/share/vigil") == 0);
	CHECK(vg_store_default_dir(buf, 8) == -1);
	unsetenv("HOME");
	CHECK(vg_store_default_dir(buf, sizeof buf) == -1);
}

TEST(event_store_weird_filter_strings)
{
	vg_event_store *st = open_store(make_tmpdir(), 0, 0);
	static const char *const weird[] = { "it's", "100%", "a_b", "\"quoted\"", "x' OR '1'='1", "caf\xc3\xa9",
					     "\xe2\x9c\x93 \xf0\x9f\x90\x88", "back\\slash", "semi;colon--", "%", "_",
					     "tab\there" };
	size_t n = sizeof weird / sizeof weird[0];
	for (size_t i = 0; i < n; i++) {
		char id[32];
		snprintf(id, sizeof id, "%zu.0-weird", 10 + i);
		vg_object_state e = event(id, "", weird[i], T0 + (double)i, 0);
		snprintf(e.camera, sizeof e.camera, "%s", weird[i]);
		add_zone(&e, weird[i], 1);
		vg_event_store_put(st, &e);
	}
	/* Near misses that LIKE or a formatted query would match. */
	vg_object_state e = event("99.0-plain", "aXb", "aXb", T0 + 100, 0);
	add_zone(&e, "aXb", 1);
	vg_event_store_put(st, &e);
	vg_event_store_flush(st);
	for (size_t i = 0; i < n; i++) {
		char want[32], ids[256];
		snprintf(want, sizeof want, "%zu.0-weird", 10 + i);
		vg_event_query q = { .camera = weird[i] };
		query_ids(st, &q, ids, sizeof ids);
		CHECK_MSG(strcmp(ids, want) == 0, "camera %s gave %s", weird[i], ids);
		q = (vg_event_query){ .label = weird[i] };
		query_ids(st, &q, ids, sizeof ids);
		CHECK_MSG(strcmp(ids, want) == 0, "label %s gave %s", weird[i], ids);
		q = (vg_event_query){ .zone = weird[i] };
		query_ids(st, &q, ids, sizeof ids);
		CHECK_MSG(strcmp(ids, want) == 0, "zone %s gave %s", weird[i], ids);
	}
	/* The answer is valid JSON that gives the strings back as they were. */
	char *json = vg_event_store_query_json(st, &(vg_event_query){ .limit = 100 });
	cJSON *a = cJSON_Parse(json);
	CHECK_MSG(cJSON_GetArraySize(a) == (int)n + 1, "%s", json);
	for (size_t i = 0; i < n; i++) {
		const cJSON *o = cJSON_GetArrayItem(a, (int)(n - i));
		CHECK(strcmp(cJSON_GetObjectItem(o, "label")->valuestring, weird[i]) == 0);
		CHECK(strcmp(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "zones"), 0)->valuestring, weird[i]) == 0);
	}
	cJSON_Delete(a);
	free(json);
	vg_event_store_close(st);
	rm_tmpdir();
}

TEST(event_store_full_queue_drops_and_counts)
{
	vg_event_store *st = open_store(make_tmpdir(), 0, 0);
	/* Far more than the queue holds, faster than one transaction per batch can take them. */
	int total = VG_STORE_QUEUE_MAX * 8;
	int64_t us = ((int64_t)time(NULL) / 3600) * 3600 * 1000000LL;
	for (int i = 0; i < total; i++)
		vg_event_store_count(st, "front", "zone", "door", NULL, "person", us);
	vg_event_store_flush(st);
	vg_store_stats s;
	vg_event_store_get_stats(st, &s);
	char *json = vg_event_store_counts_json(st, NULL, 0, 0);
	cJSON *a = cJSON_Parse(json);
	CHECK(cJSON_GetArraySize(a) == 1);
	int counted = cJSON_GetObjectItem(cJSON_GetArrayItem(a, 0), "count")->valueint;
	CHECK_MSG((uint64_t)counted + s.dropped == (uint64_t)total, "counted %d dropped %llu", counted,
		  (unsigned long long)s.dropped);
	CHECK(counted >= VG_STORE_QUEUE_MAX);
	CHECK(s.write_errors == 0);
	cJSON_Delete(a);
	free(json);
	vg_event_store_close(st);
	rm_tmpdir();
}

TEST(event_store_write_failure_counted_then_recovers)
{
	/* The store waits this long for a lock before a write counts as failed (5 s otherwise). */
	setenv("VIGIL_STORE_BUSY_MS", "300", 1);
	const char *dir = make_tmpdir();
	vg_event_store *st = open_store(dir, 0, 0);
	/* A first write, so that retention at open (which runs before it) is over before the lock is taken. */
	vg_object_state first = event("0.5-first", "front", "person", T0, 0);
	vg_event_store_put(st, &first);
	vg_event_store_flush(st);
	/* Another connection holds the write lock past the store's busy timeout: the write fails and is counted. */
	char path[600];
	snprintf(path, sizeof path, "%s/vigil.db", dir);
	sqlite3 *db = NULL;
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
	vg_object_state e = event("1.0-locked", "front", "person", T0, 0);
	vg_event_store_put(st, &e);
	vg_event_store_flush(st);
	vg_store_stats s;
	vg_event_store_get_stats(st, &s);
	CHECK_MSG(s.write_errors == 1 && s.events_written == 1, "errors %llu written %llu",
		  (unsigned long long)s.write_errors, (unsigned long long)s.events_written);
	CHECK(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	/* The store keeps going once the lock is gone. */
	vg_event_store_put(st, &e);
	vg_event_store_flush(st);
	vg_event_store_get_stats(st, &s);
	CHECK(s.write_errors == 1 && s.events_written == 2);
	vg_object_state g;
	CHECK(vg_event_store_get(st, "1.0-locked", &g) == 0);
	vg_event_store_close(st);
	rm_tmpdir();
}

TEST(event_store_json_numbers_rounded_and_finite)
{
	vg_event_store *st = open_store(make_tmpdir(), 0, 0);
	vg_object_state e = event("1.0-numbers", "front", "person", T0 + 0.1234567, 0);
	e.score = NAN;
	e.top_score = 0.123456f;
	e.box[0] = INFINITY;
	e.box[1] = 0.33333f;
	e.top_score_time = -INFINITY;
	vg_event_store_put(st, &e);
	vg_event_store_flush(st);
	char *json = vg_event_store_query_json(st, NULL);
	cJSON *a = cJSON_Parse(json);
	CHECK_MSG(cJSON_GetArraySize(a) == 1, "not valid JSON: %s", json);
	const cJSON *o = cJSON_GetArrayItem(a, 0);
	CHECK(cJSON_GetObjectItem(o, "score")->valuedouble == 0);
	CHECK(cJSON_GetObjectItem(o, "top_score")->valuedouble == 0.1235);
	CHECK(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "box"), 0)->valuedouble == 0);
	CHECK(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "box"), 1)->valuedouble == 0.3333);
	CHECK(fabs(cJSON_GetObjectItem(o, "start_time")->valuedouble - (T0 + 0.123)) < 1e-6);
	CHECK(cJSON_GetObjectItem(o, "top_score_time")->valuedouble == 0);
	cJSON_Delete(a);
	free(json);
	vg_event_store_close(st);
	rm_tmpdir();
}

TEST_SUITE(event_store, TEST_ENTRY(event_store_sweeps_orphans),
	TEST_ENTRY(event_store_open_creates_folders_and_db),
	TEST_ENTRY(event_store_put_flush_query),
	TEST_ENTRY(event_store_replace_by_id_update_then_end),
	TEST_ENTRY(event_store_filters_newest_first),
	TEST_ENTRY(event_store_limit_default_and_cap),
	TEST_ENTRY(event_store_get),
	TEST_ENTRY(event_store_counts_upsert_and_range),
	TEST_ENTRY(event_store_retention_by_age),
	TEST_ENTRY(event_store_retention_by_age_in_chunks),
	TEST_ENTRY(event_store_retention_by_size_clips_then_snapshots),
	TEST_ENTRY(event_store_bad_ids_and_cameras_refused),
	TEST_ENTRY(event_store_survives_restart),
	TEST_ENTRY(event_store_newer_schema_refused),
	TEST_ENTRY(event_store_garbage_db_refused),
	TEST_ENTRY(event_store_unwritable_dir_refused),
	TEST_ENTRY(event_store_default_dir),
	TEST_ENTRY(event_store_weird_filter_strings),
	TEST_ENTRY(event_store_full_queue_drops_and_counts),
	TEST_ENTRY(event_store_write_failure_counted_then_recovers),
	TEST_ENTRY(event_store_json_numbers_rounded_and_finite));
