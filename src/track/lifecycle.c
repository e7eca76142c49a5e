#include "track/lifecycle.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* One live object: its state now, the state its last message carried, and this frame's marks. */
typedef struct object {
	int used;
	int seen;                 /* listed live or ended in the frame being fed */
	float snapshot_score;     /* the top score when the caller was last told of a better frame */
	int stationary_run;       /* analyses in a row the tracker has said otherwise than the state */
	vg_object_state now, sent;
} object;

/* The zone events of the frame being fed, applied once its new objects exist. */
#define PENDING_MAX 512

struct vg_lifecycle {
	char camera[VG_OBJECT_CAMERA_MAX];
	vg_lifecycle_options opt;
	object objs[VG_LIFECYCLE_MAX_OBJECTS];
	int npending;
	vg_zone_event pending[PENDING_MAX];
};

const char *vg_object_message_type_name(vg_object_message_type t)
{
	switch (t) {
	case VG_OBJECT_NEW:
		return "new";
	case VG_OBJECT_UPDATE:
		return "update";
	case VG_OBJECT_END:
		return "end";
	}
	return "?";
}

static cJSON *box_json(const float b[4])
{
	double v[4];
	for (int i = 0; i < 4; i++)
		v[i] = isfinite(b[i]) ? round((double)b[i] * 1e4) / 1e4 : 0;
	return cJSON_CreateDoubleArray(v, 4);
}

static cJSON *names_json(char names[][VG_ZONE_NAME_MAX + 1], int n)
{
	cJSON *a = cJSON_CreateArray();
	for (int i = 0; a && i < n; i++)
		if (!cJSON_AddItemToArray(a, cJSON_CreateString(names[i]))) {
			cJSON_Delete(a);
			return NULL;
		}
	return a;
}

static double rounded(double v, double unit)
{
	return isfinite(v) ? round(v / unit) * unit : 0;
}

static cJSON *state_json(const vg_object_state *s)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	int ok = cJSON_AddStringToObject(o, "id", s->id) && cJSON_AddStringToObject(o, "camera", s->camera) &&
		 cJSON_AddStringToObject(o, "label", s->label) && cJSON_AddNumberToObject(o, "track_id", s->track_id) &&
		 cJSON_AddNumberToObject(o, "class_id", s->class_id) &&
		 cJSON_AddNumberToObject(o, "score", rounded(s->score, 1e-4)) &&
		 cJSON_AddNumberToObject(o, "top_score", rounded(s->top_score, 1e-4)) &&
		 cJSON_AddItemToObject(o, "box", box_json(s->box)) &&
		 cJSON_AddItemToObject(o, "top_box", box_json(s->top_box)) &&
		 cJSON_AddItemToObject(o, "zones", names_json((char (*)[VG_ZONE_NAME_MAX + 1])s->zones, s->nzones)) &&
		 cJSON_AddItemToObject(o, "entered_zones",
				       names_json((char (*)[VG_ZONE_NAME_MAX + 1])s->entered_zones, s->nentered)) &&
		 cJSON_AddNumberToObject(o, "start_time", rounded(s->start_time, 1e-3)) &&
		 (s->end_time > 0 ? cJSON_AddNumberToObject(o, "end_time", rounded(s->end_time, 1e-3)) != NULL
				  : cJSON_AddNullToObject(o, "end_time") != NULL) &&
		 cJSON_AddNumberToObject(o, "top_score_time", rounded(s->top_score_time, 1e-3)) &&
		 cJSON_AddBoolToObject(o, "stationary", s->stationary) &&
		 cJSON_AddBoolToObject(o, "has_snapshot", s->has_snapshot) &&
		 cJSON_AddBoolToObject(o, "has_clip", s->has_clip);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

size_t vg_object_state_json(const vg_object_state *s, char *dst, size_t cap)
{
	cJSON *o = state_json(s);
	if (!o)
		return 0;
	int ok = cap > 0 && cJSON_PrintPreallocated(o, dst, (int)(cap > 0x7fffffff ? 0x7fffffff : cap), 0);
	cJSON_Delete(o);
	return ok ? strlen(dst) : 0;
}

char *vg_object_message_json(const vg_object_message *m)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	int ok = cJSON_AddStringToObject(o, "type", vg_object_message_type_name(m->type)) != NULL;
	if (ok && m->type == VG_OBJECT_NEW)
		ok = cJSON_AddNullToObject(o, "before") != NULL;
	else if (ok)
		ok = cJSON_AddItemToObject(o, "before", state_json(&m->before));
	ok = ok && cJSON_AddItemToObject(o, "after", state_json(&m->after));
	char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	return text;
}

static void copy_string(char *dst, size_t cap, const cJSON *v)
{
	snprintf(dst, cap, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

static float float_of(double v);

static void parse_box(float b[4], const cJSON *v)
{
	for (int i = 0; i < 4; i++) {
		const cJSON *x = cJSON_GetArrayItem(v, i);
		b[i] = cJSON_IsNumber(x) && isfinite(x->valuedouble) ? float_of(x->valuedouble) : 0.0f;
	}
}

static int parse_names(char names[][VG_ZONE_NAME_MAX + 1], const cJSON *v)
{
	int n = 0;
	const cJSON *x;
	cJSON_ArrayForEach(x, v) {
		if (n == VG_OBJECT_MAX_ZONES)
			break;
		copy_string(names[n++], VG_ZONE_NAME_MAX + 1, x);
	}
	return n;
}

static double number(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNumber(v) && isfinite(v->valuedouble) ? v->valuedouble : 0;
}

/* Numbers from a file may be anything: what does not fit the field is cut to what does. */
static int int_number(const cJSON *o, const char *key)
{
	double v = number(o, key);
	return v < INT_MIN ? INT_MIN : v > INT_MAX ? INT_MAX : (int)v;
}

static float float_of(double v)
{
	return v < -FLT_MAX ? -FLT_MAX : v > FLT_MAX ? FLT_MAX : (float)v;
}

int vg_object_state_parse(const char *json, size_t len, vg_object_state *out)
{
	memset(out, 0, sizeof *out);
	cJSON *o = cJSON_ParseWithLength(json, len);
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
	if (!cJSON_IsObject(o) || !cJSON_IsString(id)) {
		cJSON_Delete(o);
		return -1;
	}
	copy_string(out->id, sizeof out->id, id);
	copy_string(out->camera, sizeof out->camera, cJSON_GetObjectItemCaseSensitive(o, "camera"));
	copy_string(out->label, sizeof out->label, cJSON_GetObjectItemCaseSensitive(o, "label"));
	out->track_id = int_number(o, "track_id");
	out->class_id = int_number(o, "class_id");
	out->score = float_of(number(o, "score"));
	out->top_score = float_of(number(o, "top_score"));
	parse_box(out->box, cJSON_GetObjectItemCaseSensitive(o, "box"));
	parse_box(out->top_box, cJSON_GetObjectItemCaseSensitive(o, "top_box"));
	out->nzones = parse_names(out->zones, cJSON_GetObjectItemCaseSensitive(o, "zones"));
	out->nentered = parse_names(out->entered_zones, cJSON_GetObjectItemCaseSensitive(o, "entered_zones"));
	out->start_time = number(o, "start_time");
	out->end_time = number(o, "end_time");
	out->top_score_time = number(o, "top_score_time");
	out->stationary = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "stationary"));
	out->has_snapshot = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "has_snapshot"));
	out->has_clip = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "has_clip"));
	cJSON_Delete(o);
	return 0;
}

vg_lifecycle *vg_lifecycle_create(const vg_lifecycle_options *opt)
{
	vg_lifecycle *lc = calloc(1, sizeof *lc);
	if (!lc)
		return NULL;
	lc->opt = *opt;
	snprintf(lc->camera, sizeof lc->camera, "%s", opt->camera ? opt->camera : "");
	lc->opt.camera = lc->camera;
	return lc;
}

static object *find(vg_lifecycle *lc, int track_id)
{
	for (int i = 0; i < VG_LIFECYCLE_MAX_OBJECTS; i++)
		if (lc->objs[i].used && lc->objs[i].now.track_id == track_id)
			return &lc->objs[i];
	return NULL;
}

const vg_object_state *vg_lifecycle_find(const vg_lifecycle *lc, int track_id)
{
	object *o = find((vg_lifecycle *)lc, track_id);
	return o ? &o->now : NULL;
}

static void send(vg_lifecycle *lc, object *o, vg_object_message_type type)
{
	vg_object_message m = { .type = type, .after = o->now };
	if (type != VG_OBJECT_NEW)
		m.before = o->sent;
	o->sent = o->now;
	if (lc->opt.on_message)
		lc->opt.on_message(&m, lc->opt.user);
}

static void end(vg_lifecycle *lc, object *o, double end_time)
{
	o->now.end_time = end_time > o->now.start_time ? end_time : o->now.start_time;
	o->now.nzones = 0;
	send(lc, o, VG_OBJECT_END);
	o->used = 0;
}

void vg_lifecycle_end_all(vg_lifecycle *lc, int64_t now_wall_us)
{
	for (int i = 0; i < VG_LIFECYCLE_MAX_OBJECTS; i++)
		if (lc->objs[i].used)
			end(lc, &lc->objs[i], (double)now_wall_us / 1e6);
}

void vg_lifecycle_destroy(vg_lifecycle *lc)
{
	free(lc);
}

void vg_lifecycle_zone_event(vg_lifecycle *lc, const vg_zone_event *ev)
{
	if ((ev->kind == VG_ZONE_ENTERED || ev->kind == VG_ZONE_LEFT) && lc->npending < PENDING_MAX)
		lc->pending[lc->npending++] = *ev;
}

/* An event id: its start to the microsecond and six random letters or digits, unique across restarts. */
static void make_id(char *dst, size_t cap, double start)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	char tail[7];
	for (int i = 0; i < 6; i++)
		tail[i] = alphabet[arc4random_uniform(sizeof alphabet - 1)];
	tail[6] = '\0';
	snprintf(dst, cap, "%.6f-%s", start, tail);
}

static int name_index(char names[][VG_ZONE_NAME_MAX + 1], int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

static void apply_zone_event(object *o, const vg_zone_event *ev)
{
	vg_object_state *s = &o->now;
	int i = name_index(s->zones, s->nzones, ev->name);
	if (ev->kind == VG_ZONE_ENTERED) {
		if (i < 0 && s->nzones < VG_OBJECT_MAX_ZONES)
			snprintf(s->zones[s->nzones++], VG_ZONE_NAME_MAX + 1, "%s", ev->name);
		if (name_index(s->entered_zones, s->nentered, ev->name) < 0 && s->nentered < VG_OBJECT_MAX_ZONES)
			snprintf(s->entered_zones[s->nentered++], VG_ZONE_NAME_MAX + 1, "%s", ev->name);
	} else if (i >= 0) {
		memmove(s->zones[i], s->zones[i + 1], (size_t)(s->nzones - i - 1) * sizeof s->zones[0]);
		s->nzones--;
	}
}

/* What a message is worth sending for: a change people act on, not the box's every move. */
static int changed(const vg_object_state *a, const vg_object_state *b)
{
	if (a->nzones != b->nzones || a->nentered != b->nentered || a->stationary != b->stationary ||
	    a->has_snapshot != b->has_snapshot || a->has_clip != b->has_clip)
		return 1;
	if (memcmp(a->zones, b->zones, (size_t)a->nzones * sizeof a->zones[0]) != 0)
		return 1;
	return b->top_score >= a->top_score + VG_LIFECYCLE_SCORE_STEP;
}

static double wall_of(double t, double track_time, int64_t wall_us)
{
	return (double)wall_us / 1e6 - (track_time - t);
}

/*
 * Takes a track's latest into the object and, when it was matched in this
 * frame (this_frame) and its top score rose enough, offers the frame as the
 * best snapshot.
 */
static void take_track(vg_lifecycle *lc, object *o, const vg_track_info *t, int this_frame, double track_time,
		       int64_t wall_us)
{
	vg_object_state *s = &o->now;
	s->class_id = t->class_id;
	snprintf(s->label, sizeof s->label, "%s", t->label);
	/* Matched analyses only: a missed track's flag says nothing new. */
	if (t->misses == 0) {
		o->stationary_run = (t->stationary != 0) != (s->stationary != 0) ? o->stationary_run + 1 : 0;
		if (o->stationary_run >= VG_LIFECYCLE_STATIONARY_RUN) {
			s->stationary = t->stationary != 0;
			o->stationary_run = 0;
		}
	}
	if (t->misses == 0) {
		s->score = t->score;
		s->box[0] = t->x0;
		s->box[1] = t->y0;
		s->box[2] = t->x1;
		s->box[3] = t->y1;
	}
	if (t->misses == 0 && t->score > s->top_score) {
		s->top_score = t->score;
		memcpy(s->top_box, s->box, sizeof s->top_box);
		s->top_score_time = wall_of(t->last_time, track_time, wall_us);
	}
	if (this_frame && t->misses == 0 && s->top_score >= o->snapshot_score + VG_LIFECYCLE_SNAPSHOT_STEP &&
	    lc->opt.on_better_frame) {
		o->snapshot_score = s->top_score;
		if (lc->opt.on_better_frame(s, lc->opt.user) == 0)
			s->has_snapshot = 1;
	}
}

void vg_lifecycle_update(vg_lifecycle *lc, const vg_track_info *live, int nlive, const vg_track_info *ended,
			 int nended, double track_time, int64_t wall_us)
{
	int created[VG_LIFECYCLE_MAX_OBJECTS] = { 0 };
	for (int i = 0; i < VG_LIFECYCLE_MAX_OBJECTS; i++)
		lc->objs[i].seen = 0;
	for (int i = 0; i < nlive; i++) {
		const vg_track_info *t = &live[i];
		object *o = find(lc, t->id);
		if (!o) {
			for (int k = 0; k < VG_LIFECYCLE_MAX_OBJECTS && !o; k++)
				if (!lc->objs[k].used)
					o = &lc->objs[k];
			if (!o)
				continue;
			memset(o, 0, sizeof *o);
			o->used = 1;
			created[o - lc->objs] = 1;
			vg_object_state *s = &o->now;
			s->track_id = t->id;
			snprintf(s->camera, sizeof s->camera, "%s", lc->camera);
			s->start_time = wall_of(t->first_time, track_time, wall_us);
			s->has_clip = lc->opt.clips != 0;
			make_id(s->id, sizeof s->id, s->start_time);
		}
		o->seen = 1;
		take_track(lc, o, t, 1, track_time, wall_us);
	}
	for (int i = 0; i < lc->npending; i++) {
		object *o = find(lc, lc->pending[i].track_id);
		if (o)
			apply_zone_event(o, &lc->pending[i]);
	}
	lc->npending = 0;
	for (int i = 0; i < VG_LIFECYCLE_MAX_OBJECTS; i++) {
		object *o = &lc->objs[i];
		if (!o->used || !o->seen)
			continue;
		if (created[i])
			send(lc, o, VG_OBJECT_NEW);
		else if (changed(&o->sent, &o->now))
			send(lc, o, VG_OBJECT_UPDATE);
	}
	for (int i = 0; i < nended; i++) {
		object *o = find(lc, ended[i].id);
		if (!o)
			continue;
		take_track(lc, o, &ended[i], 0, track_time, wall_us);
		end(lc, o, wall_of(ended[i].last_time, track_time, wall_us));
	}
	/* Tracks the tracker dropped without a word (its queue of ended ones overflowed) end here. */
	for (int i = 0; i < VG_LIFECYCLE_MAX_OBJECTS; i++) {
		object *o = &lc->objs[i];
		if (o->used && !o->seen)
			end(lc, o, (double)wall_us / 1e6);
	}
}
