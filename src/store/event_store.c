#include "store/event_store.h"
#include "core/dirs.h"
#include "store/orphans.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "track/lines.h"

/*
 * The schema this code writes. A database of a newer version was written by
 * a newer vigil whose rows this one may misread, so it is refused rather
 * than guessed at; an older one would be migrated here when there is one.
 */
#define VG_STORE_SCHEMA 1
/* Writes taken off the queue at once and committed in one transaction. */
#define VG_STORE_BATCH 256
#define VG_STORE_BUSY_MS 5000
#define VG_STORE_RETENTION_MS_DEFAULT 60000
#define VG_STORE_KIND_MAX 8

enum op_type { OP_PUT, OP_CLIP, OP_COUNT };

typedef struct store_op {
	enum op_type type;
	union {
		vg_object_state put;
		struct {
			char id[VG_OBJECT_ID_MAX];
			int ok;
		} clip;
		struct {
			char camera[VG_OBJECT_CAMERA_MAX];
			char kind[VG_STORE_KIND_MAX];
			char name[VG_ZONE_NAME_MAX + 1];
			char direction[VG_LINE_DIR_NAME_MAX];
			char label[VG_OBJECT_LABEL_MAX];
			int64_t hour;
		} count;
	} u;
} store_op;

/* The kinds of failure, each logged once so that a full disk does not flood the log. */
enum warn_kind {
	W_DROPPED,
	W_BAD_INPUT,
	W_PUT,
	W_CLIP,
	W_COUNT,
	W_COMMIT,
	W_RETENTION,
	W_UNLINK,
	W_COUNT_KINDS,
};

struct vg_event_store {
	char *dir;
	char *clips_dir;
	char *db_path;
	double retain_days;
	int64_t max_bytes;
	int64_t retention_ms;

	sqlite3 *wdb; /* the writer thread's alone once it runs */
	sqlite3_stmt *s_upsert, *s_zones_del, *s_zone_ins, *s_clip_camera, *s_clip_ok, *s_clip_failed,
		*s_count;

	pthread_mutex_t rlock; /* guards rdb */
	sqlite3 *rdb;

	pthread_mutex_t lock; /* guards the queue, the sequence numbers, the stats and warned */
	pthread_cond_t wake;  /* the writer: work, or stop */
	pthread_cond_t done;  /* flushers: done_seq moved */
	store_op *ring;
	size_t head, count;
	uint64_t queued_seq, done_seq;
	int stop;
	int warned[W_COUNT_KINDS];
	vg_store_stats stats;

	store_op *batch; /* the writer's copy of what it took */
	pthread_t thread;
};

static void warn_once(vg_event_store *st, enum warn_kind k, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void warn_once(vg_event_store *st, enum warn_kind k, const char *fmt, ...)
{
	pthread_mutex_lock(&st->lock);
	int first = !st->warned[k];
	st->warned[k] = 1;
	pthread_mutex_unlock(&st->lock);
	if (!first)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	vg_warn("event store %s: %s (further failures of this kind are only counted)", st->dir, msg);
}

static void add_stat(vg_event_store *st, uint64_t *field, uint64_t n)
{
	pthread_mutex_lock(&st->lock);
	*field += n;
	pthread_mutex_unlock(&st->lock);
}

static void write_error(vg_event_store *st, enum warn_kind k, const char *what, sqlite3 *db)
{
	add_stat(st, &st->stats.write_errors, 1);
	warn_once(st, k, "%s failed: %s", what, db ? sqlite3_errmsg(db) : strerror(errno));
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double wall_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int vg_event_id_valid(const char *id)
{
	if (!id || !id[0] || id[0] == '.')
		return 0;
	size_t n = 0;
	for (const char *p = id; *p; p++, n++) {
		char c = *p;
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '.' || c == '-'))
			return 0;
		if (n + 1 >= VG_OBJECT_ID_MAX)
			return 0;
	}
	return 1;
}

/* The camera's folder name; NULL when the name could lead out of the folders. */
static const char *camera_folder(const char *camera)
{
	if (!camera || !camera[0])
		return "default";
	if (camera[0] == '.' || strchr(camera, '/') || strlen(camera) >= VG_OBJECT_CAMERA_MAX)
		return NULL;
	return camera;
}

int vg_event_store_snapshot_path(const vg_event_store *st, const char *camera, const char *id, int crop, char *buf,
				 size_t cap)
{
	const char *cam = camera_folder(camera);
	if (!st || !buf || !cam || !vg_event_id_valid(id))
		return -1;
	int n = snprintf(buf, cap, "%s/snapshots/%s/%s%s.jpg", st->dir, cam, id, crop ? "-crop" : "");
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int vg_event_store_clip_path(const vg_event_store *st, const char *camera, const char *id, char *buf, size_t cap)
{
	const char *cam = camera_folder(camera);
	if (!st || !buf || !cam || !vg_event_id_valid(id))
		return -1;
	int n = snprintf(buf, cap, "%s/%s/%s.mp4", st->clips_dir, cam, id);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

const char *vg_event_store_dir(const vg_event_store *st)
{
	return st->dir;
}

const char *vg_event_store_clips_dir(const vg_event_store *st)
{
	return st->clips_dir;
}

int vg_store_default_dir(char *buf, size_t cap)
{
	const char *xdg = getenv("XDG_DATA_HOME");
	const char *home = getenv("HOME");
	int n;
	/* The XDG specification says a relative XDG_DATA_HOME is to be ignored. */
	if (xdg && xdg[0] == '/')
		n = snprintf(buf, cap, "%s/vigil", xdg);
	else if (home && home[0])
		n = snprintf(buf, cap, "%s/.local/share/vigil", home);
	else
		return -1;
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* A growing string for the JSON answers; a failed allocation sticks and the answer is NULL. */
typedef struct sbuf {
	char *p;
	size_t len, cap;
	int oom;
} sbuf;

static void sb_reserve(sbuf *b, size_t more)
{
	if (b->oom || b->len + more + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 1024;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->oom = 1;
		return;
	}
	b->p = p;
	b->cap = cap;
}

static void sb_put(sbuf *b, const char *s, size_t n)
{
	sb_reserve(b, n);
	if (b->oom)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(sbuf *b, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof tmp) {
		sb_put(b, tmp, (size_t)n);
		return;
	}
	sb_reserve(b, (size_t)n);
	if (b->oom)
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* A JSON string: quotes, backslashes and control characters escaped; other bytes (UTF-8) as they are. */
static void sb_json_str(sbuf *b, const char *s)
{
	sb_put(b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"')
			sb_put(b, "\\\"", 2);
		else if (*p == '\\')
			sb_put(b, "\\\\", 2);
		else if (*p == '\n')
			sb_put(b, "\\n", 2);
		else if (*p == '\r')
			sb_put(b, "\\r", 2);
		else if (*p == '\t')
			sb_put(b, "\\t", 2);
		else if (*p < 0x20)
			sb_printf(b, "\\u%04x", *p);
		else
			sb_put(b, (const char *)p, 1);
	}
	sb_put(b, "\"", 1);
}

/* One event as vg_object_state_json writes it: an event reads the same from the store as from the live stream. */
static void state_json(sbuf *b, const vg_object_state *s)
{
	char json[VG_OBJECT_STATE_JSON_MAX];
	size_t n = vg_object_state_json(s, json, sizeof json);
	if (n == 0)
		b->oom = 1;
	else
		sb_put(b, json, n);
}

static void sb_names(sbuf *b, int n, const char (*names)[VG_ZONE_NAME_MAX + 1])
{
	sb_put(b, "[", 1);
	for (int i = 0; i < n; i++) {
		if (i)
			sb_put(b, ",", 1);
		sb_json_str(b, names[i]);
	}
	sb_put(b, "]", 1);
}

/* The zone names as the JSON array text of the zones and entered_zones columns. */
static char *names_json(int n, const char (*names)[VG_ZONE_NAME_MAX + 1])
{
	sbuf b = { 0 };
	sb_names(&b, n, names);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

static int names_parse(const unsigned char *text, char (*names)[VG_ZONE_NAME_MAX + 1])
{
	if (!text)
		return 0;
	cJSON *a = cJSON_Parse((const char *)text);
	int n = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, a)
	{
		if (n >= VG_OBJECT_MAX_ZONES)
			break;
		if (!cJSON_IsString(it))
			continue;
		snprintf(names[n++], VG_ZONE_NAME_MAX + 1, "%s", it->valuestring);
	}
	cJSON_Delete(a);
	return n;
}

/* The columns every read selects, in the order row_to_state takes them. */
#define EVENT_COLUMNS                                                                                       \
	"id, camera, label, track_id, class_id, score, top_score, box_x0, box_y0, box_x1, box_y1, top_x0, " \
	"top_y0, top_x1, top_y1, zones, entered_zones, start_time, end_time, top_score_time, stationary, "  \
	"has_snapshot, has_clip"

static void copy_text(char *dst, size_t cap, const unsigned char *src)
{
	snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

static void row_to_state(sqlite3_stmt *q, vg_object_state *s)
{
	memset(s, 0, sizeof *s);
	copy_text(s->id, sizeof s->id, sqlite3_column_text(q, 0));
	copy_text(s->camera, sizeof s->camera, sqlite3_column_text(q, 1));
	copy_text(s->label, sizeof s->label, sqlite3_column_text(q, 2));
	s->track_id = sqlite3_column_int(q, 3);
	s->class_id = sqlite3_column_int(q, 4);
	s->score = (float)sqlite3_column_double(q, 5);
	s->top_score = (float)sqlite3_column_double(q, 6);
	for (int i = 0; i < 4; i++) {
		s->box[i] = (float)sqlite3_column_double(q, 7 + i);
		s->top_box[i] = (float)sqlite3_column_double(q, 11 + i);
	}
	s->nzones = names_parse(sqlite3_column_text(q, 15), s->zones);
	s->nentered = names_parse(sqlite3_column_text(q, 16), s->entered_zones);
	s->start_time = sqlite3_column_double(q, 17);
	s->end_time = sqlite3_column_type(q, 18) == SQLITE_NULL ? 0 : sqlite3_column_double(q, 18);
	s->top_score_time = sqlite3_column_double(q, 19);
	s->stationary = sqlite3_column_int(q, 20) != 0;
	s->has_snapshot = sqlite3_column_int(q, 21) != 0;
	s->has_clip = sqlite3_column_int(q, 22) != 0;
}

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS events ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" camera TEXT NOT NULL,"
	" label TEXT NOT NULL,"
	" track_id INTEGER NOT NULL,"
	" class_id INTEGER NOT NULL,"
	" score REAL, top_score REAL,"
	" box_x0 REAL, box_y0 REAL, box_x1 REAL, box_y1 REAL,"
	" top_x0 REAL, top_y0 REAL, top_x1 REAL, top_y1 REAL,"
	" zones TEXT NOT NULL DEFAULT '[]',"
	" entered_zones TEXT NOT NULL DEFAULT '[]',"
	" start_time REAL NOT NULL,"
	" end_time REAL,"
	" top_score_time REAL,"
	" stationary INTEGER NOT NULL DEFAULT 0,"
	" has_snapshot INTEGER NOT NULL DEFAULT 0,"
	" has_clip INTEGER NOT NULL DEFAULT 0,"
	" clip_bytes INTEGER NOT NULL DEFAULT 0,"
	/* Set when retention removed a file or the clip failed, so that a later put cannot claim it back. */
	" snapshot_gone INTEGER NOT NULL DEFAULT 0,"
	" clip_gone INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX IF NOT EXISTS events_start ON events(start_time);"
	"CREATE INDEX IF NOT EXISTS events_camera_start ON events(camera, start_time);"
	"CREATE INDEX IF NOT EXISTS events_label ON events(label);"
	"CREATE INDEX IF NOT EXISTS events_end ON events(end_time);"
	/* One row per zone an event entered: the zone filter is then an exact match, not a LIKE on JSON text. */
	"CREATE TABLE IF NOT EXISTS event_zones ("
	" id TEXT NOT NULL, zone TEXT NOT NULL, PRIMARY KEY(id, zone)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS event_zones_zone ON event_zones(zone);"
	"CREATE TABLE IF NOT EXISTS counts ("
	" camera TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, direction TEXT NOT NULL,"
	" label TEXT NOT NULL, hour INTEGER NOT NULL, count INTEGER NOT NULL,"
	" PRIMARY KEY(camera, kind, name, direction, label, hour));"
	"CREATE INDEX IF NOT EXISTS counts_hour ON counts(hour);";

static int exec_sql(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static int pragma_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &q, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(q);
		if (rc == SQLITE_ROW) {
			*out = sqlite3_column_int64(q, 0);
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(q);
	return rc == SQLITE_OK ? 0 : -1;
}

/* Explains a failed open in the user's terms: the path and what is wrong with it. */
static void db_error(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	int code = db ? sqlite3_errcode(db) : SQLITE_NOMEM;
	const char *why = db ? sqlite3_errmsg(db) : "out of memory";
	if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
		set_err(err, errlen, "%s: not a vigil database (%s)", path, why);
	else if (code == SQLITE_READONLY || code == SQLITE_CANTOPEN || code == SQLITE_PERM)
		set_err(err, errlen, "%s: cannot be opened for writing (%s)", path, why);
	else
		set_err(err, errlen, "%s: %s", path, why);
}

static int64_t env_ms(const char *name, int64_t def);

static int open_conn(const char *path, int create, sqlite3 **out, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_FULLMUTEX;
	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
		db_error(db, path, err, errlen);
		sqlite3_close(db);
		return -1;
	}
	sqlite3_extended_result_codes(db, 0);
	sqlite3_busy_timeout(db, (int)env_ms("VIGIL_STORE_BUSY_MS", VG_STORE_BUSY_MS));
	/* The first statement reads the file: a file that is not a database fails here. */
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &q, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(q);
	if (rc != SQLITE_ROW) {
		db_error(db, path, err, errlen);
		sqlite3_finalize(q);
		sqlite3_close(db);
		return -1;
	}
	const char *mode = (const char *)sqlite3_column_text(q, 0);
	if (!mode || strcmp(mode, "wal") != 0) {
		set_err(err, errlen, "%s: cannot use write-ahead logging (journal mode stays %s)", path,
			mode ? mode : "unknown");
		sqlite3_finalize(q);
		sqlite3_close(db);
		return -1;
	}
	sqlite3_finalize(q);
	/* In WAL mode NORMAL loses at most the last commits on a power cut, never the database. */
	exec_sql(db, "PRAGMA synchronous=NORMAL");
	*out = db;
	return 0;
}

static int init_schema(vg_event_store *st, char *err, size_t errlen)
{
	sqlite3 *db = st->wdb;
	if (exec_sql(db, "BEGIN IMMEDIATE") != 0) {
		db_error(db, st->db_path, err, errlen);
		return -1;
	}
	int64_t version = 0;
	if (pragma_int(db, "PRAGMA user_version", &version) != 0) {
		db_error(db, st->db_path, err, errlen);
		goto fail;
	}
	if (version > VG_STORE_SCHEMA) {
		set_err(err, errlen,
			"%s: schema version %lld is newer than this vigil's (%d);"
			" use a newer vigil or another data folder",
			st->db_path, (long long)version, VG_STORE_SCHEMA);
		goto fail;
	}
	if (version < 0) {
		set_err(err, errlen, "%s: schema version %lld is not one of vigil's", st->db_path, (long long)version);
		goto fail;
	}
	if (exec_sql(db, schema_sql) != 0 || exec_sql(db, "PRAGMA user_version=1") != 0 ||
	    exec_sql(db, "COMMIT") != 0) {
		db_error(db, st->db_path, err, errlen);
		goto fail;
	}
	return 0;
fail:
	exec_sql(db, "ROLLBACK");
	return -1;
}

static int prepare(vg_event_store *st, const char *sql, sqlite3_stmt **q, char *err, size_t errlen)
{
	if (sqlite3_prepare_v3(st->wdb, sql, -1, SQLITE_PREPARE_PERSISTENT, q, NULL) != SQLITE_OK) {
		db_error(st->wdb, st->db_path, err, errlen);
		return -1;
	}
	return 0;
}

static int prepare_all(vg_event_store *st, char *err, size_t errlen)
{
	return prepare(st,
		       "INSERT INTO events (id, camera, label, track_id, class_id, score, top_score,"
		       " box_x0, box_y0, box_x1, box_y1, top_x0, top_y0, top_x1, top_y1, zones, entered_zones,"
		       " start_time, end_time, top_score_time, stationary, has_snapshot, has_clip)"
		       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,"
		       " ?18, ?19, ?20, ?21, ?22, ?23)"
		       " ON CONFLICT(id) DO UPDATE SET camera = excluded.camera, label = excluded.label,"
		       " track_id = excluded.track_id, class_id = excluded.class_id, score = excluded.score,"
		       " top_score = excluded.top_score, box_x0 = excluded.box_x0, box_y0 = excluded.box_y0,"
		       " box_x1 = excluded.box_x1, box_y1 = excluded.box_y1, top_x0 = excluded.top_x0,"
		       " top_y0 = excluded.top_y0, top_x1 = excluded.top_x1, top_y1 = excluded.top_y1,"
		       " zones = excluded.zones, entered_zones = excluded.entered_zones,"
		       " start_time = excluded.start_time, end_time = excluded.end_time,"
		       " top_score_time = excluded.top_score_time, stationary = excluded.stationary,"
		       " has_snapshot = CASE WHEN snapshot_gone THEN 0 ELSE excluded.has_snapshot END,"
		       " has_clip = CASE WHEN clip_gone THEN 0 ELSE excluded.has_clip END",
		       &st->s_upsert, err, errlen) ||
	       prepare(st, "DELETE FROM event_zones WHERE id = ?1", &st->s_zones_del, err, errlen) ||
	       prepare(st, "INSERT OR IGNORE INTO event_zones (id, zone) VALUES (?1, ?2)", &st->s_zone_ins, err,
		       errlen) ||
	       prepare(st, "SELECT camera FROM events WHERE id = ?1", &st->s_clip_camera, err, errlen) ||
	       prepare(st,
		       "UPDATE events SET has_clip = CASE WHEN clip_gone THEN 0 ELSE 1 END, clip_bytes = ?2"
		       " WHERE id = ?1",
		       &st->s_clip_ok, err, errlen) ||
	       prepare(st, "UPDATE events SET has_clip = 0, clip_gone = 1, clip_bytes = 0 WHERE id = ?1",
		       &st->s_clip_failed, err, errlen) ||
	       prepare(st,
		       "INSERT INTO counts (camera, kind, name, direction, label, hour, count)"
		       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1)"
		       " ON CONFLICT(camera, kind, name, direction, label, hour) DO UPDATE SET count = count + 1",
		       &st->s_count, err, errlen);
}

static int step_done(sqlite3_stmt *q)
{
	int rc = sqlite3_step(q);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int write_put(vg_event_store *st, const vg_object_state *s)
{
	char *zones = names_json(s->nzones, s->zones);
	char *entered = names_json(s->nentered, s->entered_zones);
	if (!zones || !entered) {
		free(zones);
		free(entered);
		return -1;
	}
	sqlite3_stmt *q = st->s_upsert;
	sqlite3_bind_text(q, 1, s->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, s->camera, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, s->label, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 4, s->track_id);
	sqlite3_bind_int(q, 5, s->class_id);
	sqlite3_bind_double(q, 6, s->score);
	sqlite3_bind_double(q, 7, s->top_score);
	for (int i = 0; i < 4; i++) {
		sqlite3_bind_double(q, 8 + i, s->box[i]);
		sqlite3_bind_double(q, 12 + i, s->top_box[i]);
	}
	sqlite3_bind_text(q, 16, zones, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 17, entered, -1, SQLITE_STATIC);
	sqlite3_bind_double(q, 18, s->start_time);
	if (s->end_time > 0)
		sqlite3_bind_double(q, 19, s->end_time);
	else
		sqlite3_bind_null(q, 19);
	sqlite3_bind_double(q, 20, s->top_score_time);
	sqlite3_bind_int(q, 21, s->stationary != 0);
	sqlite3_bind_int(q, 22, s->has_snapshot != 0);
	sqlite3_bind_int(q, 23, s->has_clip != 0);
	int rc = step_done(q);
	free(zones);
	free(entered);
	if (rc != 0)
		return -1;
	sqlite3_bind_text(st->s_zones_del, 1, s->id, -1, SQLITE_STATIC);
	if (step_done(st->s_zones_del) != 0)
		return -1;
	int n = s->nentered < VG_OBJECT_MAX_ZONES ? s->nentered : VG_OBJECT_MAX_ZONES;
	for (int i = 0; i < n; i++) {
		sqlite3_bind_text(st->s_zone_ins, 1, s->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st->s_zone_ins, 2, s->entered_zones[i], -1, SQLITE_STATIC);
		if (step_done(st->s_zone_ins) != 0)
			return -1;
	}
	return 0;
}

static int64_t file_size(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) ? (int64_t)sb.st_size : -1;
}

static int write_clip(vg_event_store *st, const char *id, int ok)
{
	if (!ok) {
		sqlite3_bind_text(st->s_clip_failed, 1, id, -1, SQLITE_STATIC);
		return step_done(st->s_clip_failed);
	}
	sqlite3_stmt *q = st->s_clip_camera;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	char camera[VG_OBJECT_CAMERA_MAX] = "";
	if (rc == SQLITE_ROW)
		copy_text(camera, sizeof camera, sqlite3_column_text(q, 0));
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (rc == SQLITE_DONE)
		return 0; /* no such event: nothing to mark */
	if (rc != SQLITE_ROW)
		return -1;
	char path[4096];
	int64_t bytes = 0;
	if (vg_event_store_clip_path(st, camera, id, path, sizeof path) == 0) {
		bytes = file_size(path);
		if (bytes < 0)
			bytes = 0;
	}
	sqlite3_bind_text(st->s_clip_ok, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st->s_clip_ok, 2, bytes);
	return step_done(st->s_clip_ok);
}

static int write_count(vg_event_store *st, const store_op *op)
{
	sqlite3_stmt *q = st->s_count;
	sqlite3_bind_text(q, 1, op->u.count.camera, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, op->u.count.kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, op->u.count.name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, op->u.count.direction, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, op->u.count.label, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 6, op->u.count.hour);
	return step_done(q);
}

static void write_batch(vg_event_store *st, const store_op *ops, size_t n)
{
	sqlite3 *db = st->wdb;
	if (exec_sql(db, "BEGIN") != 0) {
		write_error(st, W_COMMIT, "starting a transaction", db);
		return;
	}
	uint64_t written = 0;
	for (size_t i = 0; i < n; i++) {
		const store_op *op = &ops[i];
		switch (op->type) {
		case OP_PUT:
			if (write_put(st, &op->u.put) == 0)
				written++;
			else
				write_error(st, W_PUT, "writing an event", db);
			break;
		case OP_CLIP:
			if (write_clip(st, op->u.clip.id, op->u.clip.ok) != 0)
				write_error(st, W_CLIP, "marking a clip", db);
			break;
		case OP_COUNT:
			if (write_count(st, op) != 0)
				write_error(st, W_COUNT, "adding a count", db);
			break;
		}
	}
	if (exec_sql(db, "COMMIT") != 0) {
		write_error(st, W_COMMIT, "committing queued writes", db);
		/* A full disk may have rolled the transaction back already. */
		if (!sqlite3_get_autocommit(db))
			exec_sql(db, "ROLLBACK");
		return;
	}
	add_stat(st, &st->stats.events_written, written);
}

static int unlink_counted(vg_event_store *st, const char *path, uint64_t *removed)
{
	if (unlink(path) == 0) {
		(*removed)++;
		return 1;
	}
	if (errno != ENOENT)
		warn_once(st, W_UNLINK, "removing %s failed: %s", path, strerror(errno));
	return 0;
}

static int64_t snapshot_bytes(const vg_event_store *st, const char *camera, const char *id)
{
	char path[4096];
	int64_t total = 0;
	for (int crop = 0; crop < 2; crop++) {
		if (vg_event_store_snapshot_path(st, camera, id, crop, path, sizeof path) == 0) {
			int64_t b = file_size(path);
			if (b > 0)
				total += b;
		}
	}
	return total;
}

static int64_t clip_bytes(const vg_event_store *st, const char *camera, const char *id)
{
	char path[4096];
	if (vg_event_store_clip_path(st, camera, id, path, sizeof path) != 0)
		return 0;
	int64_t b = file_size(path);
	return b > 0 ? b : 0;
}

/*
 * An event retention acts on. They are read out in chunks before anything
 * is changed, since SQLite leaves a read undefined when its own connection
 * writes to the table under it.
 */
typedef struct ev_ref {
	char id[VG_OBJECT_ID_MAX];
	char camera[VG_OBJECT_CAMERA_MAX];
} ev_ref;

#define RETAIN_CHUNK 256

/* Up to RETAIN_CHUNK (id, camera) rows of sql, with ?1 bound to arg when has_arg. The count, or -1. */
static int fetch_refs(sqlite3 *db, const char *sql, int has_arg, double arg, ev_ref *out)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
		return -1;
	if (has_arg)
		sqlite3_bind_double(q, 1, arg);
	int n = 0, rc;
	while (n < RETAIN_CHUNK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		copy_text(out[n].id, sizeof out[n].id, sqlite3_column_text(q, 0));
		copy_text(out[n].camera, sizeof out[n].camera, sqlite3_column_text(q, 1));
		n++;
	}
	if (n < RETAIN_CHUNK && rc != SQLITE_DONE)
		n = -1;
	sqlite3_finalize(q);
	return n;
}

static int commit_or_rollback(vg_event_store *st, const char *what)
{
	if (exec_sql(st->wdb, "COMMIT") == 0)
		return 0;
	write_error(st, W_RETENTION, what, st->wdb);
	if (!sqlite3_get_autocommit(st->wdb))
		exec_sql(st->wdb, "ROLLBACK");
	return -1;
}

/* Deletes the events that ended before cutoff, their zones and their files, and the counts of hours before it. */
static char *join_path(const char *a, const char *b);

/* Whether the store has an event: the orphan sweep asks, on the writer thread. */
static int has_event(void *user, const char *id)
{
	sqlite3_stmt *q = user;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	/* When in doubt (an error), the file stays. */
	return rc != SQLITE_DONE;
}

/* The files no event owns, as old as the events retention removes (store/orphans.h). */
static uint64_t sweep_orphans(vg_event_store *st, double cutoff)
{
	sqlite3_stmt *q = NULL;
	char *snaps = join_path(st->dir, "snapshots");
	uint64_t n = 0;
	if (snaps && sqlite3_prepare_v2(st->wdb, "SELECT 1 FROM events WHERE id = ?1", -1, &q, NULL) == SQLITE_OK)
		n = vg_store_sweep_orphans(snaps, cutoff, has_event, q) +
		    vg_store_sweep_orphans(st->clips_dir, cutoff, has_event, q);
	sqlite3_finalize(q);
	free(snaps);
	return n;
}

static void retain_age(vg_event_store *st, double cutoff)
{
	sqlite3 *db = st->wdb;
	sqlite3_stmt *del = NULL, *delz = NULL, *dc = NULL;
	uint64_t files = 0, rows = 0;
	ev_ref refs[RETAIN_CHUNK];
	if (sqlite3_prepare_v2(db, "DELETE FROM events WHERE id = ?1", -1, &del, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "DELETE FROM event_zones WHERE id = ?1", -1, &delz, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "DELETE FROM counts WHERE hour + 3600 <= ?1", -1, &dc, NULL) != SQLITE_OK) {
		write_error(st, W_RETENTION, "preparing retention", db);
		goto out;
	}
	for (;;) {
		int n = fetch_refs(db,
				   "SELECT id, camera FROM events WHERE end_time IS NOT NULL AND end_time < ?1"
				   " ORDER BY end_time LIMIT 256",
				   1, cutoff, refs);
		if (n < 0)
			write_error(st, W_RETENTION, "listing old events", db);
		if (n <= 0)
			break;
		if (exec_sql(db, "BEGIN") != 0) {
			write_error(st, W_RETENTION, "starting retention", db);
			break;
		}
		uint64_t deleted = 0;
		for (int i = 0; i < n; i++) {
			char path[4096];
			const char *cam = refs[i].camera, *id = refs[i].id;
			/* Files go whatever the flags say: a failed clip may have left a part behind. */
			for (int crop = 0; crop < 2; crop++)
				if (vg_event_store_snapshot_path(st, cam, id, crop, path, sizeof path) == 0)
					unlink_counted(st, path, &files);
			if (vg_event_store_clip_path(st, cam, id, path, sizeof path) == 0)
				unlink_counted(st, path, &files);
			sqlite3_bind_text(del, 1, refs[i].id, -1, SQLITE_STATIC);
			sqlite3_bind_text(delz, 1, refs[i].id, -1, SQLITE_STATIC);
			if (step_done(del) != 0 || step_done(delz) != 0)
				write_error(st, W_RETENTION, "deleting an old event", db);
			else
				deleted++;
		}
		if (commit_or_rollback(st, "committing retention") != 0)
			break;
		rows += deleted;
		/* A row that would not go would come back in the next chunk for ever. */
		if (n < RETAIN_CHUNK || deleted < (uint64_t)n)
			break;
	}
	sqlite3_bind_double(dc, 1, cutoff);
	if (step_done(dc) != 0)
		write_error(st, W_RETENTION, "deleting old counts", db);
	files += sweep_orphans(st, cutoff);
out:
	sqlite3_finalize(del);
	sqlite3_finalize(delz);
	sqlite3_finalize(dc);
	pthread_mutex_lock(&st->lock);
	st->stats.removed_events += rows;
	st->stats.removed_files += files;
	pthread_mutex_unlock(&st->lock);
}

/*
 * Measures the files of the events that have any, then, while they exceed
 * max_bytes, takes the clips of the oldest ended events and then their
 * snapshots. The sizes are measured, not remembered, since a snapshot is
 * rewritten whenever a better frame comes; files no event names are not
 * counted, so that a stray file cannot make the store empty itself.
 */
static void retain_size(vg_event_store *st)
{
	sqlite3 *db = st->wdb;
	sqlite3_stmt *q = NULL;
	int64_t total = 0;
	uint64_t files = 0;
	if (sqlite3_prepare_v2(db, "SELECT id, camera, has_snapshot, has_clip FROM events"
				   " WHERE has_snapshot OR has_clip", -1, &q, NULL) != SQLITE_OK) {
		write_error(st, W_RETENTION, "measuring files", db);
		return;
	}
	while (sqlite3_step(q) == SQLITE_ROW) {
		char id[VG_OBJECT_ID_MAX], camera[VG_OBJECT_CAMERA_MAX];
		copy_text(id, sizeof id, sqlite3_column_text(q, 0));
		copy_text(camera, sizeof camera, sqlite3_column_text(q, 1));
		if (sqlite3_column_int(q, 2))
			total += snapshot_bytes(st, camera, id);
		if (sqlite3_column_int(q, 3))
			total += clip_bytes(st, camera, id);
	}
	sqlite3_finalize(q);

	ev_ref refs[RETAIN_CHUNK];
	for (int pass = 0; pass < 2 && total > st->max_bytes; pass++) {
		int clips = pass == 0;
		const char *sel = clips ? "SELECT id, camera FROM events WHERE end_time IS NOT NULL AND has_clip"
					  " ORDER BY start_time, id LIMIT 256"
					: "SELECT id, camera FROM events WHERE end_time IS NOT NULL AND has_snapshot"
					  " ORDER BY start_time, id LIMIT 256";
		const char *upd = clips ? "UPDATE events SET has_clip = 0, clip_gone = 1, clip_bytes = 0 WHERE id = ?1"
					: "UPDATE events SET has_snapshot = 0, snapshot_gone = 1 WHERE id = ?1";
		sqlite3_stmt *u = NULL;
		if (sqlite3_prepare_v2(db, upd, -1, &u, NULL) != SQLITE_OK) {
			write_error(st, W_RETENTION, "retention by size", db);
			break;
		}
		int failed = 0;
		while (!failed && total > st->max_bytes) {
			int n = fetch_refs(db, sel, 0, 0, refs);
			if (n < 0)
				write_error(st, W_RETENTION, "listing events by age", db);
			if (n <= 0)
				break;
			if (exec_sql(db, "BEGIN") != 0) {
				write_error(st, W_RETENTION, "starting retention", db);
				break;
			}
			for (int i = 0; i < n && total > st->max_bytes; i++) {
				char path[4096];
				const char *cam = refs[i].camera, *id = refs[i].id;
				if (clips) {
					total -= clip_bytes(st, cam, id);
					if (vg_event_store_clip_path(st, cam, id, path, sizeof path) == 0)
						unlink_counted(st, path, &files);
				} else {
					total -= snapshot_bytes(st, cam, id);
					for (int crop = 0; crop < 2; crop++) {
						if (vg_event_store_snapshot_path(st, cam, id, crop, path,
										 sizeof path) == 0)
							unlink_counted(st, path, &files);
					}
				}
				sqlite3_bind_text(u, 1, id, -1, SQLITE_STATIC);
				if (step_done(u) != 0) {
					write_error(st, W_RETENTION, "marking a removed file", db);
					failed = 1;
				}
			}
			if (commit_or_rollback(st, "committing retention") != 0)
				failed = 1;
			if (n < RETAIN_CHUNK)
				break;
		}
		sqlite3_finalize(u);
	}
	pthread_mutex_lock(&st->lock);
	st->stats.bytes = total;
	st->stats.removed_files += files;
	pthread_mutex_unlock(&st->lock);
}

static void retention(vg_event_store *st)
{
	retain_age(st, wall_seconds() - st->retain_days * 86400.0);
	retain_size(st);
}

static void deadline_ts(int64_t ms_from_now, struct timespec *ts)
{
	if (ms_from_now < 0)
		ms_from_now = 0;
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms_from_now / 1000;
	ts->tv_nsec += (ms_from_now % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

static void *writer_main(void *arg)
{
	vg_event_store *st = arg;
	retention(st);
	int64_t next = mono_ms() + st->retention_ms;
	pthread_mutex_lock(&st->lock);
	for (;;) {
		if (mono_ms() >= next) {
			pthread_mutex_unlock(&st->lock);
			retention(st);
			next = mono_ms() + st->retention_ms;
			pthread_mutex_lock(&st->lock);
		}
		if (st->count == 0) {
			if (st->stop)
				break;
			struct timespec ts;
			deadline_ts(next - mono_ms(), &ts);
			pthread_cond_timedwait(&st->wake, &st->lock, &ts);
			continue;
		}
		size_t n = st->count < VG_STORE_BATCH ? st->count : VG_STORE_BATCH;
		for (size_t i = 0; i < n; i++)
			st->batch[i] = st->ring[(st->head + i) % VG_STORE_QUEUE_MAX];
		st->head = (st->head + n) % VG_STORE_QUEUE_MAX;
		st->count -= n;
		pthread_mutex_unlock(&st->lock);
		write_batch(st, st->batch, n);
		pthread_mutex_lock(&st->lock);
		st->done_seq += n;
		pthread_cond_broadcast(&st->done);
	}
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

static void enqueue(vg_event_store *st, const store_op *op)
{
	pthread_mutex_lock(&st->lock);
	if (st->count >= VG_STORE_QUEUE_MAX || st->stop) {
		st->stats.dropped++;
		int first = !st->warned[W_DROPPED];
		st->warned[W_DROPPED] = 1;
		pthread_mutex_unlock(&st->lock);
		if (first)
			vg_warn("event store %s: the write queue is full (%d); writes are dropped and counted", st->dir,
				VG_STORE_QUEUE_MAX);
		return;
	}
	st->ring[(st->head + st->count) % VG_STORE_QUEUE_MAX] = *op;
	st->count++;
	st->queued_seq++;
	pthread_cond_signal(&st->wake);
	pthread_mutex_unlock(&st->lock);
}

static void bad_input(vg_event_store *st, const char *what)
{
	add_stat(st, &st->stats.write_errors, 1);
	warn_once(st, W_BAD_INPUT, "%s", what);
}

void vg_event_store_put(vg_event_store *st, const vg_object_state *s)
{
	if (!st || !s)
		return;
	/* The id names files: one that could not be a file name is refused here, before it is stored. */
	if (memchr(s->id, 0, sizeof s->id) == NULL || !vg_event_id_valid(s->id)) {
		bad_input(st, "an event with a malformed id was refused");
		return;
	}
	store_op op;
	op.type = OP_PUT;
	op.u.put = *s;
	/* The strings come from fixed arrays that a caller may have filled to the brim. */
	op.u.put.camera[sizeof op.u.put.camera - 1] = '\0';
	op.u.put.label[sizeof op.u.put.label - 1] = '\0';
	if (op.u.put.nzones < 0)
		op.u.put.nzones = 0;
	if (op.u.put.nzones > VG_OBJECT_MAX_ZONES)
		op.u.put.nzones = VG_OBJECT_MAX_ZONES;
	if (op.u.put.nentered < 0)
		op.u.put.nentered = 0;
	if (op.u.put.nentered > VG_OBJECT_MAX_ZONES)
		op.u.put.nentered = VG_OBJECT_MAX_ZONES;
	for (int i = 0; i < VG_OBJECT_MAX_ZONES; i++) {
		op.u.put.zones[i][VG_ZONE_NAME_MAX] = '\0';
		op.u.put.entered_zones[i][VG_ZONE_NAME_MAX] = '\0';
	}
	enqueue(st, &op);
}

void vg_event_store_clip_done(vg_event_store *st, const char *id, int ok)
{
	if (!st)
		return;
	if (!vg_event_id_valid(id)) {
		bad_input(st, "a clip of a malformed event id was refused");
		return;
	}
	store_op op;
	memset(&op, 0, sizeof op);
	op.type = OP_CLIP;
	snprintf(op.u.clip.id, sizeof op.u.clip.id, "%s", id);
	op.u.clip.ok = ok != 0;
	enqueue(st, &op);
}

static int copy_field(char *dst, size_t cap, const char *src)
{
	int n = snprintf(dst, cap, "%s", src ? src : "");
	return n >= 0 && (size_t)n < cap ? 0 : -1;
}

void vg_event_store_count(vg_event_store *st, const char *camera, const char *kind, const char *name,
			  const char *direction, const char *label, int64_t wall_us)
{
	if (!st)
		return;
	store_op op;
	memset(&op, 0, sizeof op);
	op.type = OP_COUNT;
	/* A name too long for its column would be a different counter if cut, so it is refused. */
	if (!kind || !kind[0] || !name || !name[0] || copy_field(op.u.count.camera, sizeof op.u.count.camera, camera) ||
	    copy_field(op.u.count.kind, sizeof op.u.count.kind, kind) ||
	    copy_field(op.u.count.name, sizeof op.u.count.name, name) ||
	    copy_field(op.u.count.direction, sizeof op.u.count.direction, direction) ||
	    copy_field(op.u.count.label, sizeof op.u.count.label, label)) {
		bad_input(st, "a count with a missing or too long camera, kind, name, direction or label was refused");
		return;
	}
	/* Floor division, so that an hour before 1970 is still the hour that contains the time. */
	int64_t h = wall_us / 3600000000LL;
	if (wall_us % 3600000000LL < 0)
		h--;
	op.u.count.hour = h * 3600;
	enqueue(st, &op);
}

void vg_event_store_flush(vg_event_store *st)
{
	if (!st)
		return;
	pthread_mutex_lock(&st->lock);
	uint64_t target = st->queued_seq;
	pthread_cond_signal(&st->wake);
	while (st->done_seq < target)
		pthread_cond_wait(&st->done, &st->lock);
	pthread_mutex_unlock(&st->lock);
}

void vg_event_store_get_stats(vg_event_store *st, vg_store_stats *out)
{
	if (!out)
		return;
	memset(out, 0, sizeof *out);
	if (!st)
		return;
	pthread_mutex_lock(&st->lock);
	*out = st->stats;
	pthread_mutex_unlock(&st->lock);
}

char *vg_event_store_query_json(vg_event_store *st, const vg_event_query *q)
{
	if (!st)
		return NULL;
	vg_event_query none = { 0 };
	if (!q)
		q = &none;
	char sql[1024];
	int n = snprintf(sql, sizeof sql, "SELECT " EVENT_COLUMNS " FROM events WHERE 1");
	/* Every value is bound, never written into the SQL, whatever characters it holds. */
	if (q->camera)
		n += snprintf(sql + n, sizeof sql - (size_t)n, " AND camera = ?1");
	if (q->label)
		n += snprintf(sql + n, sizeof sql - (size_t)n, " AND label = ?2");
	if (q->zone)
		n += snprintf(sql + n, sizeof sql - (size_t)n,
			      " AND EXISTS (SELECT 1 FROM event_zones z WHERE z.id = events.id AND z.zone = ?3)");
	if (q->after > 0)
		n += snprintf(sql + n, sizeof sql - (size_t)n, " AND start_time > ?4");
	if (q->before > 0)
		n += snprintf(sql + n, sizeof sql - (size_t)n, " AND start_time < ?5");
	if (q->in_progress)
		n += snprintf(sql + n, sizeof sql - (size_t)n, " AND end_time IS NULL");
	snprintf(sql + n, sizeof sql - (size_t)n, " ORDER BY start_time DESC, id DESC LIMIT ?6");
	int limit = q->limit <= 0 ? 50 : q->limit > 1000 ? 1000 : q->limit;

	sbuf b = { 0 };
	int ok = 0;
	pthread_mutex_lock(&st->rlock);
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(st->rdb, sql, -1, &s, NULL) != SQLITE_OK) {
		vg_warn("event store %s: query failed: %s", st->db_path, sqlite3_errmsg(st->rdb));
		goto out;
	}
	if (q->camera)
		sqlite3_bind_text(s, 1, q->camera, -1, SQLITE_STATIC);
	if (q->label)
		sqlite3_bind_text(s, 2, q->label, -1, SQLITE_STATIC);
	if (q->zone)
		sqlite3_bind_text(s, 3, q->zone, -1, SQLITE_STATIC);
	if (q->after > 0)
		sqlite3_bind_double(s, 4, q->after);
	if (q->before > 0)
		sqlite3_bind_double(s, 5, q->before);
	sqlite3_bind_int(s, 6, limit);
	sb_put(&b, "[", 1);
	int rc, first = 1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		vg_object_state e;
		row_to_state(s, &e);
		if (!first)
			sb_put(&b, ",", 1);
		first = 0;
		state_json(&b, &e);
	}
	sb_put(&b, "]", 1);
	if (rc != SQLITE_DONE) {
		vg_warn("event store %s: query failed: %s", st->db_path, sqlite3_errmsg(st->rdb));
		goto out;
	}
	ok = !b.oom;
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->rlock);
	if (!ok) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

int vg_event_store_get(vg_event_store *st, const char *id, vg_object_state *out)
{
	if (!st || !out)
		return -1;
	if (!vg_event_id_valid(id))
		return 1;
	int ret = -1;
	pthread_mutex_lock(&st->rlock);
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(st->rdb, "SELECT " EVENT_COLUMNS " FROM events WHERE id = ?1", -1, &s, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
		int rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			row_to_state(s, out);
			ret = 0;
		} else if (rc == SQLITE_DONE) {
			ret = 1;
		}
	}
	if (ret < 0)
		vg_warn("event store %s: reading event %s failed: %s", st->db_path, id, sqlite3_errmsg(st->rdb));
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->rlock);
	return ret;
}

char *vg_event_store_counts_json(vg_event_store *st, const char *camera, double from, double to)
{
	if (!st)
		return NULL;
	char sql[512];
	snprintf(sql, sizeof sql,
		 "SELECT camera, kind, name, direction, label, hour, count FROM counts WHERE 1%s%s%s"
		 " ORDER BY hour, camera, kind, name, direction, label",
		 camera ? " AND camera = ?1" : "", from != 0 ? " AND hour >= ?2" : "", to != 0 ? " AND hour < ?3" : "");
	sbuf b = { 0 };
	int ok = 0;
	pthread_mutex_lock(&st->rlock);
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(st->rdb, sql, -1, &s, NULL) != SQLITE_OK) {
		vg_warn("event store %s: counts query failed: %s", st->db_path, sqlite3_errmsg(st->rdb));
		goto out;
	}
	if (camera)
		sqlite3_bind_text(s, 1, camera, -1, SQLITE_STATIC);
	if (from != 0)
		sqlite3_bind_double(s, 2, from);
	if (to != 0)
		sqlite3_bind_double(s, 3, to);
	sb_put(&b, "[", 1);
	int rc, first = 1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (!first)
			sb_put(&b, ",", 1);
		first = 0;
		static const char *const keys[] = { "camera", "kind", "name", "direction", "label" };
		sb_put(&b, "{", 1);
		for (int i = 0; i < 5; i++) {
			sb_printf(&b, "%s\"%s\":", i ? "," : "", keys[i]);
			const unsigned char *t = sqlite3_column_text(s, i);
			sb_json_str(&b, t ? (const char *)t : "");
		}
		sb_printf(&b, ",\"hour\":%lld,\"count\":%lld}", (long long)sqlite3_column_int64(s, 5),
			  (long long)sqlite3_column_int64(s, 6));
	}
	sb_put(&b, "]", 1);
	if (rc != SQLITE_DONE) {
		vg_warn("event store %s: counts query failed: %s", st->db_path, sqlite3_errmsg(st->rdb));
		goto out;
	}
	ok = !b.oom;
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->rlock);
	if (!ok) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* A duration in milliseconds from the environment (the tests shorten them), else def. */
static int64_t env_ms(const char *name, int64_t def)
{
	const char *e = getenv(name);
	if (e && *e) {
		char *end;
		long long v = strtoll(e, &end, 10);
		if (*end == '\0' && v > 0)
			return v;
		vg_warn("%s=%s is not a positive number of milliseconds; using %lld", name, e, (long long)def);
	}
	return def;
}

static int64_t retention_interval_ms(void)
{
	return env_ms("VIGIL_STORE_RETENTION_INTERVAL_MS", VG_STORE_RETENTION_MS_DEFAULT);
}

static void store_free(vg_event_store *st)
{
	sqlite3_finalize(st->s_upsert);
	sqlite3_finalize(st->s_zones_del);
	sqlite3_finalize(st->s_zone_ins);
	sqlite3_finalize(st->s_clip_camera);
	sqlite3_finalize(st->s_clip_ok);
	sqlite3_finalize(st->s_clip_failed);
	sqlite3_finalize(st->s_count);
	sqlite3_close(st->wdb);
	sqlite3_close(st->rdb);
	pthread_mutex_destroy(&st->lock);
	pthread_mutex_destroy(&st->rlock);
	pthread_cond_destroy(&st->wake);
	pthread_cond_destroy(&st->done);
	free(st->ring);
	free(st->batch);
	free(st->dir);
	free(st->clips_dir);
	free(st->db_path);
	free(st);
}

static char *join_path(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", a, b);
	return p;
}

static int ensure_dir(const char *path, char *err, size_t errlen)
{
	char bad[4096];
	if (vg_make_dirs(path, bad, sizeof bad) != 0) {
		if (strcmp(bad, path) == 0)
			set_err(err, errlen, "%s: cannot create the folder (%s)", path, strerror(errno));
		else
			set_err(err, errlen, "%s: cannot create the folder (%s: %s)", path, bad, strerror(errno));
		return -1;
	}
	if (access(path, W_OK | X_OK) != 0) {
		set_err(err, errlen, "%s: the folder is not writable (%s)", path, strerror(errno));
		return -1;
	}
	return 0;
}

int vg_event_store_open(vg_event_store **out, const vg_store_options *opt, char *err, size_t errlen)
{
	if (!out)
		return -1;
	*out = NULL;
	if (!opt || !opt->dir || !opt->dir[0]) {
		set_err(err, errlen, "event store: no data folder given");
		return -1;
	}
	vg_event_store *st = calloc(1, sizeof *st);
	if (!st) {
		set_err(err, errlen, "%s: out of memory", opt->dir);
		return -1;
	}
	pthread_mutex_init(&st->lock, NULL);
	pthread_mutex_init(&st->rlock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	/* The retention timer must not jump with the wall clock. */
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&st->done, NULL);

	/* Trailing slashes would double up in every path made from these. */
	st->dir = strdup(opt->dir);
	if (st->dir)
		for (size_t n = strlen(st->dir); n > 1 && st->dir[n - 1] == '/'; n--)
			st->dir[n - 1] = '\0';
	st->clips_dir = st->dir ? (opt->clips_dir && opt->clips_dir[0] ? strdup(opt->clips_dir)
									: join_path(st->dir, "clips"))
				: NULL;
	if (st->clips_dir)
		for (size_t n = strlen(st->clips_dir); n > 1 && st->clips_dir[n - 1] == '/'; n--)
			st->clips_dir[n - 1] = '\0';
	st->db_path = st->dir ? join_path(st->dir, "vigil.db") : NULL;
	char *snaps = st->dir ? join_path(st->dir, "snapshots") : NULL;
	st->ring = calloc(VG_STORE_QUEUE_MAX, sizeof *st->ring);
	st->batch = calloc(VG_STORE_BATCH, sizeof *st->batch);
	if (!st->dir || !st->clips_dir || !st->db_path || !snaps || !st->ring || !st->batch) {
		set_err(err, errlen, "%s: out of memory", opt->dir);
		free(snaps);
		store_free(st);
		return -1;
	}
	st->retain_days = opt->retain_days > 0 ? opt->retain_days : 10;
	st->max_bytes = opt->max_bytes > 0 ? opt->max_bytes : (int64_t)10 << 30;
	st->retention_ms = retention_interval_ms();

	int bad = ensure_dir(st->dir, err, errlen) || ensure_dir(snaps, err, errlen) ||
		  ensure_dir(st->clips_dir, err, errlen);
	free(snaps);
	if (bad || open_conn(st->db_path, 1, &st->wdb, err, errlen) != 0 || init_schema(st, err, errlen) != 0 ||
	    prepare_all(st, err, errlen) != 0 || open_conn(st->db_path, 0, &st->rdb, err, errlen) != 0) {
		store_free(st);
		return -1;
	}
	exec_sql(st->rdb, "PRAGMA query_only=1");
	if (pthread_create(&st->thread, NULL, writer_main, st) != 0) {
		set_err(err, errlen, "%s: cannot start the store's thread", st->db_path);
		store_free(st);
		return -1;
	}
	*out = st;
	return 0;
}

void vg_event_store_close(vg_event_store *st)
{
	if (!st)
		return;
	pthread_mutex_lock(&st->lock);
	st->stop = 1;
	pthread_cond_signal(&st->wake);
	pthread_mutex_unlock(&st->lock);
	pthread_join(st->thread, NULL);
	store_free(st);
}
