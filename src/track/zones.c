#include "track/zones.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "track/parse.h"

int vg_polygon_contains(const vg_polygon *p, float x, float y)
{
	if (p->n < 3 || !isfinite(x) || !isfinite(y))
		return 0;
	/* The outline first: the crossing count below is arbitrary for points on it, and they are inside. */
	for (int i = 0, j = p->n - 1; i < p->n; j = i++)
		if (vg_segments_intersect(x, y, x, y, p->x[j], p->y[j], p->x[i], p->y[i]))
			return 1;
	int in = 0;
	for (int i = 0, j = p->n - 1; i < p->n; j = i++) {
		if ((p->y[i] > y) != (p->y[j] > y)) {
			double xc = p->x[i] + ((double)p->x[j] - p->x[i]) * ((double)y - p->y[i]) / ((double)p->y[j] - p->y[i]);
			if (x < xc)
				in = !in;
		}
	}
	return in;
}

int vg_polygon_parse(const char *arg, vg_polygon *p, char *err, size_t errlen)
{
	float v[2 * VG_POLYGON_MAX_POINTS];
	int n = 0;
	memset(p, 0, sizeof *p);
	if (!arg || !*arg) {
		snprintf(err, errlen, "mask: expected X1,Y1,X2,Y2,X3,Y3,... but the value is empty");
		return -1;
	}
	if (vg_track__parse_numbers("mask", "", arg, v, 2 * VG_POLYGON_MAX_POINTS, &n, err, errlen) < 0)
		return -1;
	if (n % 2) {
		snprintf(err, errlen, "mask: %d coordinates is an odd number; points are X,Y pairs", n);
		return -1;
	}
	if (n < 6) {
		snprintf(err, errlen, "mask: a polygon needs at least 3 points, got %d", n / 2);
		return -1;
	}
	p->n = n / 2;
	for (int i = 0; i < p->n; i++) {
		p->x[i] = v[2 * i];
		p->y[i] = v[2 * i + 1];
	}
	return 0;
}

int vg_zone_parse(const char *arg, vg_zone_def *def, char *err, size_t errlen)
{
	float v[2 * VG_POLYGON_MAX_POINTS];
	int n = 0;
	memset(def, 0, sizeof *def);
	if (vg_track__parse_spec("zone", arg, def->name, sizeof def->name, v, 2 * VG_POLYGON_MAX_POINTS, &n, err,
				 errlen) < 0)
		return -1;
	if (n % 2) {
		snprintf(err, errlen, "zone '%s': %d coordinates is an odd number; points are X,Y pairs", def->name, n);
		return -1;
	}
	if (n < 6) {
		snprintf(err, errlen, "zone '%s': a polygon needs at least 3 points (X1,Y1,X2,Y2,X3,Y3), got %d",
			 def->name, n / 2);
		return -1;
	}
	def->poly.n = n / 2;
	for (int i = 0; i < def->poly.n; i++) {
		def->poly.x[i] = v[2 * i];
		def->poly.y[i] = v[2 * i + 1];
	}
	def->inertia = VG_ZONE_INERTIA;
	return 0;
}

int vg_zone_wants(const vg_zone_def *def, const char *label)
{
	if (def->n_objects <= 0)
		return 1;
	for (int i = 0; i < def->n_objects && i < VG_ZONE_MAX_OBJECTS; i++)
		if (!strcmp(def->objects[i], label))
			return 1;
	return 0;
}

const char *vg_zone_event_kind_name(vg_zone_event_kind k)
{
	switch (k) {
	case VG_ZONE_ENTERED:
		return "entered";
	case VG_ZONE_LEFT:
		return "left";
	case VG_ZONE_LOITERING:
		return "loitering";
	case VG_LINE_CROSSED:
		return "crossed";
	}
	return "?";
}

char *vg_zone_event_json(const vg_zone_event *ev, const char *camera, int64_t frame)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	int ok = cJSON_AddStringToObject(o, "event", vg_zone_event_kind_name(ev->kind)) != NULL;
	if (camera)
		ok &= cJSON_AddStringToObject(o, "camera", camera) != NULL;
	if (ev->kind == VG_LINE_CROSSED) {
		ok &= cJSON_AddStringToObject(o, "line", ev->name) != NULL;
		ok &= cJSON_AddStringToObject(o, "direction", ev->direction_name ? ev->direction_name
									  : ev->direction == VG_LINE_IN ? "in" : "out") != NULL;
	} else {
		ok &= cJSON_AddStringToObject(o, "zone", ev->name) != NULL;
	}
	ok &= cJSON_AddNumberToObject(o, "track_id", ev->track_id) != NULL;
	ok &= cJSON_AddStringToObject(o, "label", ev->label) != NULL;
	/* Milliseconds are as fine as a frame's time needs, and keep the number short. */
	ok &= cJSON_AddNumberToObject(o, "time", round((double)ev->time_us / 1e3) / 1e3) != NULL;
	if (ev->kind == VG_ZONE_LEFT || ev->kind == VG_ZONE_LOITERING)
		ok &= cJSON_AddNumberToObject(o, "dwell_s", round(ev->dwell_s * 1e3) / 1e3) != NULL;
	if (frame >= 0)
		ok &= cJSON_AddNumberToObject(o, "frame", (double)frame) != NULL;
	char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	return text;
}

int vg_masks_hide(const vg_polygon *masks, int n, float x0, float y0, float x1, float y1)
{
	(void)y0;
	float x = (x0 + x1) * 0.5f;
	for (int i = 0; i < n; i++)
		if (vg_polygon_contains(&masks[i], x, y1))
			return 1;
	return 0;
}

int vg_area_ok(const vg_area_filter *f, int n, const char *label, float x0, float y0, float x1, float y1)
{
	const vg_area_filter *use = NULL;
	for (int i = 0; i < n; i++) {
		if (label && !strcmp(f[i].label, label)) {
			use = &f[i];
			break;
		}
		if (!use && !strcmp(f[i].label, "*"))
			use = &f[i];
	}
	if (!use)
		return 1;
	float w = x1 - x0, h = y1 - y0;
	float area = w > 0 && h > 0 ? w * h : 0;
	if (use->min_area > 0 && !(area >= use->min_area))
		return 0;
	if (use->max_area > 0 && !(area <= use->max_area))
		return 0;
	return 1;
}

/* What one zone knows of one track. */
typedef struct zone_track {
	int inside_run, outside_run;  /* frames in a row inside / outside */
	int entered;
	int loitered;                 /* the stay's loitering event was sent */
	int64_t enter_us;
} zone_track;

typedef struct track_slot {
	int track_id;                 /* 0: free */
	int class_id;
	char label[VG_ZONE_LABEL_MAX];
	int64_t last_us;              /* time of the last update that saw it */
	uint64_t seen_gen;            /* the update that last saw it */
	zone_track *zt;               /* nzones entries */
} track_slot;

typedef struct zone_label {
	char label[VG_ZONE_LABEL_MAX];
	int now;
} zone_label;

typedef struct zone_state {
	vg_zone_def def;
	int nlabels;
	zone_label labels[VG_ZONE_MAX_LABELS];
	int total;
} zone_state;

struct vg_zones {
	pthread_mutex_t mu;
	int nzones, nlines;
	zone_state *zones;
	vg_line **lines;
	track_slot *slots;
	zone_track *zt_pool;
	int cap;
	uint64_t gen;
	int64_t forget_us;
	vg_zone_event_fn fn;
	void *user;
	/* Events of the update under way, delivered once the mutex is released. */
	vg_zone_event *ev;
	int nev, evcap;
};

vg_zones *vg_zones_create(const vg_zone_def *zones, int nzones, const vg_line_def *lines, int nlines, int max_tracks,
			  int64_t forget_us, vg_zone_event_fn fn, void *user)
{
	if (nzones < 0 || nlines < 0)
		return NULL;
	vg_zones *z = calloc(1, sizeof *z);
	if (!z)
		return NULL;
	z->cap = max_tracks > 0 ? max_tracks : VG_ZONES_MAX_TRACKS;
	z->forget_us = forget_us > 0 ? forget_us : VG_ZONES_FORGET_US;
	z->fn = fn;
	z->user = user;
	z->nzones = nzones;
	z->nlines = nlines;
	pthread_mutex_init(&z->mu, NULL);
	z->zones = calloc((size_t)(nzones ? nzones : 1), sizeof *z->zones);
	z->lines = calloc((size_t)(nlines ? nlines : 1), sizeof *z->lines);
	z->slots = calloc((size_t)z->cap, sizeof *z->slots);
	z->zt_pool = calloc((size_t)z->cap * (size_t)(nzones ? nzones : 1), sizeof *z->zt_pool);
	if (!z->zones || !z->lines || !z->slots || !z->zt_pool)
		goto fail;
	for (int i = 0; i < nzones; i++) {
		z->zones[i].def = zones[i];
		z->zones[i].def.name[VG_ZONE_NAME_MAX] = '\0';
		if (z->zones[i].def.inertia < 1)
			z->zones[i].def.inertia = 1;
		if (z->zones[i].def.poly.n > VG_POLYGON_MAX_POINTS)
			z->zones[i].def.poly.n = VG_POLYGON_MAX_POINTS;
	}
	for (int i = 0; i < nlines; i++)
		if (!(z->lines[i] = vg_line_create(&lines[i], z->cap)))
			goto fail;
	for (int i = 0; i < z->cap; i++)
		z->slots[i].zt = z->zt_pool + (size_t)i * (size_t)nzones;
	return z;
fail:
	vg_zones_destroy(z);
	return NULL;
}

void vg_zones_destroy(vg_zones *z)
{
	if (!z)
		return;
	for (int i = 0; z->lines && i < z->nlines; i++)
		vg_line_destroy(z->lines[i]);
	free(z->lines);
	free(z->zones);
	free(z->slots);
	free(z->zt_pool);
	free(z->ev);
	pthread_mutex_destroy(&z->mu);
	free(z);
}

/* Queues an event; when memory runs out the event is lost, never the counts. */
static void emit(vg_zones *z, vg_zone_event_kind kind, const char *name, const track_slot *s, int64_t now_us,
		 double dwell_s, int direction, const char *direction_name)
{
	if (!z->fn)
		return;
	if (z->nev == z->evcap) {
		int cap = z->evcap ? 2 * z->evcap : 64;
		vg_zone_event *ev = realloc(z->ev, (size_t)cap * sizeof *ev);
		if (!ev)
			return;
		z->ev = ev;
		z->evcap = cap;
	}
	vg_zone_event *e = &z->ev[z->nev++];
	memset(e, 0, sizeof *e);
	e->kind = kind;
	snprintf(e->name, sizeof e->name, "%s", name);
	e->track_id = s->track_id;
	e->class_id = s->class_id;
	snprintf(e->label, sizeof e->label, "%s", s->label);
	e->direction = direction;
	e->direction_name = direction_name;
	e->time_us = now_us;
	e->dwell_s = dwell_s;
}

static double seconds_since(int64_t then_us, int64_t now_us)
{
	return now_us > then_us ? (double)(now_us - then_us) / 1e6 : 0.0;
}

/* Drops a track: it leaves the zones it was in, and the lines forget it. */
static void forget_slot(vg_zones *z, track_slot *s, int64_t now_us)
{
	for (int i = 0; i < z->nzones; i++)
		if (s->zt[i].entered)
			emit(z, VG_ZONE_LEFT, z->zones[i].def.name, s, now_us, seconds_since(s->zt[i].enter_us, now_us), -1,
			     NULL);
	for (int i = 0; i < z->nlines; i++)
		vg_line_forget(z->lines[i], s->track_id);
	zone_track *zt = s->zt;
	memset(zt, 0, (size_t)z->nzones * sizeof *zt);
	memset(s, 0, sizeof *s);
	s->zt = zt;
}

static track_slot *find_slot(vg_zones *z, int track_id)
{
	for (int i = 0; i < z->cap; i++)
		if (z->slots[i].track_id == track_id)
			return &z->slots[i];
	return NULL;
}

/* A free slot, or the least recently seen one's (which is forgotten); NULL when every slot was seen this update. */
static track_slot *new_slot(vg_zones *z, int track_id, int64_t now_us)
{
	track_slot *victim = NULL;
	for (int i = 0; i < z->cap; i++) {
		track_slot *s = &z->slots[i];
		if (!s->track_id) {
			victim = s;
			break;
		}
		if (!victim || s->seen_gen < victim->seen_gen)
			victim = s;
	}
	if (victim->track_id) {
		if (victim->seen_gen == z->gen)
			return NULL;
		forget_slot(z, victim, now_us);
	}
	victim->track_id = track_id;
	return victim;
}

static void zone_step(vg_zones *z, int i, track_slot *s, float x, float y, int64_t now_us)
{
	const vg_zone_def *d = &z->zones[i].def;
	zone_track *t = &s->zt[i];
	if (vg_polygon_contains(&d->poly, x, y)) {
		t->inside_run++;
		t->outside_run = 0;
	} else {
		t->outside_run++;
		t->inside_run = 0;
	}
	/* Inertia both ways, so that an object standing on the outline does not flap in and out. */
	if (!t->entered && t->inside_run >= d->inertia) {
		t->entered = 1;
		t->loitered = 0;
		t->enter_us = now_us;
		emit(z, VG_ZONE_ENTERED, d->name, s, now_us, 0, -1, NULL);
	} else if (t->entered && t->outside_run >= d->inertia) {
		t->entered = 0;
		emit(z, VG_ZONE_LEFT, d->name, s, now_us, seconds_since(t->enter_us, now_us), -1, NULL);
	}
	if (t->entered && now_us < t->enter_us)
		t->enter_us = now_us; /* the clock went back: the stay restarts rather than waiting for the old time */
	if (t->entered && !t->loitered && d->loitering_time_s > 0 &&
	    (double)(now_us - t->enter_us) >= d->loitering_time_s * 1e6) {
		t->loitered = 1;
		emit(z, VG_ZONE_LOITERING, d->name, s, now_us, seconds_since(t->enter_us, now_us), -1, NULL);
	}
}

static zone_label *zone_label_for(zone_state *zs, const char *label)
{
	for (int i = 0; i < zs->nlabels; i++)
		if (!strcmp(zs->labels[i].label, label))
			return &zs->labels[i];
	/* As for lines: the last entry is "other", so that the table cannot grow with the model's classes. */
	if (zs->nlabels >= VG_ZONE_MAX_LABELS - 1) {
		if (strcmp(label, "other") != 0)
			return zone_label_for(zs, "other");
		if (zs->nlabels == VG_ZONE_MAX_LABELS)
			return &zs->labels[VG_ZONE_MAX_LABELS - 1];
	}
	zone_label *l = &zs->labels[zs->nlabels++];
	memset(l, 0, sizeof *l);
	snprintf(l->label, sizeof l->label, "%s", label);
	return l;
}

static void recount(vg_zones *z)
{
	for (int i = 0; i < z->nzones; i++) {
		zone_state *zs = &z->zones[i];
		zs->total = 0;
		for (int k = 0; k < zs->nlabels; k++)
			zs->labels[k].now = 0;
		for (int k = 0; k < z->cap; k++) {
			const track_slot *s = &z->slots[k];
			if (s->track_id && s->zt[i].entered) {
				zone_label_for(zs, s->label)->now++;
				zs->total++;
			}
		}
	}
}

static void deliver(vg_zones *z)
{
	/* Outside the mutex, so that the callback may read the counts. */
	int n = z->nev;
	z->nev = 0;
	for (int i = 0; i < n; i++)
		z->fn(&z->ev[i], z->user);
}

int vg_zones_update(vg_zones *z, const vg_zone_obj *objs, int n, int64_t now_us)
{
	pthread_mutex_lock(&z->mu);
	z->gen++;
	z->nev = 0;
	for (int k = 0; k < n; k++) {
		const vg_zone_obj *o = &objs[k];
		if (o->track_id <= 0 || !isfinite(o->x0) || !isfinite(o->x1) || !isfinite(o->y1))
			continue;
		track_slot *s = find_slot(z, o->track_id);
		if (!s && !(s = new_slot(z, o->track_id, now_us)))
			continue;
		if (s->seen_gen == z->gen)
			continue; /* the same id twice in one frame: the first one stands */
		s->class_id = o->class_id;
		snprintf(s->label, sizeof s->label, "%s", o->label && *o->label ? o->label : "unknown");
		s->last_us = now_us;
		s->seen_gen = z->gen;
		float x = (o->x0 + o->x1) * 0.5f, y = o->y1;
		for (int i = 0; i < z->nzones; i++)
			if (vg_zone_wants(&z->zones[i].def, s->label))
				zone_step(z, i, s, x, y, now_us);
		for (int i = 0; i < z->nlines; i++) {
			int dir = vg_line_update(z->lines[i], s->track_id, s->label, x, y, now_us);
			if (dir >= 0) {
				const vg_line_def *d = vg_line_get_def(z->lines[i]);
				emit(z, VG_LINE_CROSSED, d->name, s, now_us, 0, dir, d->dir_name[dir]);
			}
		}
	}
	/* Tracks that ended without vg_zones_forget: gone for forget_us, or the clock jumped back past them. */
	for (int k = 0; k < z->cap; k++) {
		track_slot *s = &z->slots[k];
		if (s->track_id && s->seen_gen != z->gen && (now_us - s->last_us > z->forget_us || now_us < s->last_us))
			forget_slot(z, s, now_us);
	}
	recount(z);
	int nev = z->nev;
	pthread_mutex_unlock(&z->mu);
	if (nev)
		deliver(z);
	return nev;
}

void vg_zones_forget(vg_zones *z, int track_id, int64_t now_us)
{
	pthread_mutex_lock(&z->mu);
	z->nev = 0;
	track_slot *s = track_id > 0 ? find_slot(z, track_id) : NULL;
	if (s) {
		forget_slot(z, s, now_us);
		recount(z);
	}
	int nev = z->nev;
	pthread_mutex_unlock(&z->mu);
	if (nev)
		deliver(z);
}

int vg_zones_count(const vg_zones *z)
{
	return z->nzones;
}

int vg_zones_line_count(const vg_zones *z)
{
	return z->nlines;
}

const vg_zone_def *vg_zones_zone(const vg_zones *z, int i)
{
	return i >= 0 && i < z->nzones ? &z->zones[i].def : NULL;
}

const vg_line_def *vg_zones_line(const vg_zones *z, int i)
{
	return i >= 0 && i < z->nlines ? vg_line_get_def(z->lines[i]) : NULL;
}

int vg_zones_objects(vg_zones *z, int i, const char *label)
{
	if (i < 0 || i >= z->nzones)
		return 0;
	pthread_mutex_lock(&z->mu);
	const zone_state *zs = &z->zones[i];
	int n = label ? 0 : zs->total;
	for (int k = 0; label && k < zs->nlabels; k++)
		if (!strcmp(zs->labels[k].label, label))
			n = zs->labels[k].now;
	pthread_mutex_unlock(&z->mu);
	return n;
}

void vg_zones_line_totals(vg_zones *z, int i, uint64_t out[2])
{
	out[0] = out[1] = 0;
	if (i < 0 || i >= z->nlines)
		return;
	pthread_mutex_lock(&z->mu);
	vg_line_totals(z->lines[i], out);
	pthread_mutex_unlock(&z->mu);
}

int vg_zones_line_counts(vg_zones *z, int i, int64_t now_us, vg_line_counts *out, int cap)
{
	if (i < 0 || i >= z->nlines)
		return 0;
	pthread_mutex_lock(&z->mu);
	int n = vg_line_get_counts(z->lines[i], now_us, out, cap);
	pthread_mutex_unlock(&z->mu);
	return n;
}

int vg_zones_restore_line(vg_zones *z, const char *name, const char *direction, const char *label,
			  int64_t hour_start_us, uint64_t count, int64_t now_us)
{
	for (int i = 0; i < z->nlines; i++) {
		const vg_line_def *d = vg_line_get_def(z->lines[i]);
		if (strcmp(d->name, name) != 0)
			continue;
		int dir = !strcmp(d->dir_name[VG_LINE_IN], direction) ? VG_LINE_IN
			  : !strcmp(d->dir_name[VG_LINE_OUT], direction) ? VG_LINE_OUT : -1;
		if (dir < 0)
			return -1;
		pthread_mutex_lock(&z->mu);
		vg_line_restore(z->lines[i], label, dir, hour_start_us, count, now_us);
		pthread_mutex_unlock(&z->mu);
		return 0;
	}
	return -1;
}

int vg_zones_tracked(vg_zones *z)
{
	pthread_mutex_lock(&z->mu);
	int n = 0;
	for (int k = 0; k < z->cap; k++)
		n += z->slots[k].track_id != 0;
	pthread_mutex_unlock(&z->mu);
	return n;
}

/* {label: n} of one kind of count (the field at offset field) in one direction; 0, or -1 when out of memory. */
static int add_label_counts(cJSON *obj, const char *key, const vg_line_counts *c, int n, size_t field, int dir)
{
	cJSON *o = cJSON_AddObjectToObject(obj, key);
	if (!o)
		return -1;
	for (int i = 0; i < n; i++) {
		const uint64_t *v = (const uint64_t *)((const char *)&c[i] + field);
		if (!cJSON_AddNumberToObject(o, c[i].label, (double)v[dir]))
			return -1;
	}
	return 0;
}

static int add_periods(cJSON *line, const vg_line_def *d, const vg_line_counts *c, int n)
{
	static const struct {
		const char *key;
		size_t field;
	} periods[] = {
		{ "hour", offsetof(vg_line_counts, hour) },
		{ "previous_hour", offsetof(vg_line_counts, prev_hour) },
		{ "today", offsetof(vg_line_counts, day) },
	};
	int rc = 0;
	for (int dir = 0; dir < 2; dir++)
		rc |= add_label_counts(line, d->dir_name[dir], c, n, offsetof(vg_line_counts, total), dir);
	for (size_t p = 0; p < sizeof periods / sizeof periods[0]; p++) {
		cJSON *o = cJSON_AddObjectToObject(line, periods[p].key);
		if (!o)
			return -1;
		for (int dir = 0; dir < 2; dir++)
			rc |= add_label_counts(o, d->dir_name[dir], c, n, periods[p].field, dir);
	}
	return rc;
}

char *vg_zones_stats_json(vg_zones *z, int64_t now_us)
{
	cJSON *root = cJSON_CreateObject();
	vg_line_counts *c = malloc(VG_LINE_MAX_LABELS * sizeof *c);
	if (!root || !c) {
		cJSON_Delete(root);
		free(c);
		return NULL;
	}
	int ok = 1;
	pthread_mutex_lock(&z->mu);
	cJSON *zones = cJSON_AddObjectToObject(root, "zones");
	ok &= zones != NULL;
	for (int i = 0; ok && i < z->nzones; i++) {
		const zone_state *zs = &z->zones[i];
		cJSON *zo = cJSON_AddObjectToObject(zones, zs->def.name);
		cJSON *objs = zo ? cJSON_AddObjectToObject(zo, "objects") : NULL;
		ok &= objs != NULL;
		for (int k = 0; ok && k < zs->nlabels; k++)
			ok &= cJSON_AddNumberToObject(objs, zs->labels[k].label, zs->labels[k].now) != NULL;
		ok &= zo && cJSON_AddNumberToObject(zo, "total", zs->total) != NULL;
	}
	cJSON *lines = cJSON_AddObjectToObject(root, "lines");
	ok &= lines != NULL;
	for (int i = 0; ok && i < z->nlines; i++) {
		const vg_line_def *d = vg_line_get_def(z->lines[i]);
		int n = vg_line_get_counts(z->lines[i], now_us, c, VG_LINE_MAX_LABELS);
		cJSON *lo = cJSON_AddObjectToObject(lines, d->name);
		ok &= lo && add_periods(lo, d, c, n) == 0;
	}
	pthread_mutex_unlock(&z->mu);
	char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
	cJSON_Delete(root);
	free(c);
	return text;
}

/* The growing buffer of vg_zones_metrics, as /metrics grows its own; once failed, it stays failed. */
typedef struct text_out {
	char **p;
	size_t *len, *cap;
	int failed;
} text_out;

static void put(text_out *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(text_out *t, const char *fmt, ...)
{
	for (int attempt = 0; attempt < 2 && !t->failed; attempt++) {
		va_list ap;
		va_start(ap, fmt);
		size_t room = *t->p ? *t->cap - *t->len : 0;
		int n = vsnprintf(*t->p ? *t->p + *t->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->failed = 1;
			return;
		}
		if (*t->p && (size_t)n < room) {
			*t->len += (size_t)n;
			return;
		}
		size_t need = *t->len + (size_t)n + 1, cap = *t->cap ? *t->cap : 4096;
		while (cap < need)
			cap *= 2;
		char *p = realloc(*t->p, cap);
		if (!p) {
			t->failed = 1;
			return;
		}
		*t->p = p;
		*t->cap = cap;
	}
}

/* A label value in the Prometheus text format: backslash, double quote and newline escaped. */
static const char *escape(const char *s, char *out, size_t cap)
{
	size_t o = 0;
	for (; *s && o + 3 < cap; s++) {
		if (*s == '\\' || *s == '"') {
			out[o++] = '\\';
			out[o++] = *s;
		} else if (*s == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *s;
		}
	}
	out[o] = '\0';
	return out;
}

int vg_zones_metrics(vg_zones *const *zs, const char *const *cameras, int n, char **buf, size_t *len, size_t *cap)
{
	text_out t = { buf, len, cap, 0 };
	char cam[2 * VG_ZONE_LABEL_MAX + 8], lab[2 * VG_ZONE_LABEL_MAX + 8], dn[2 * VG_LINE_DIR_NAME_MAX + 8];
	vg_line_counts *c = malloc(VG_LINE_MAX_LABELS * sizeof *c);
	if (!c)
		return -1;
	put(&t, "# HELP vigil_zone_objects Objects in the zone now.\n# TYPE vigil_zone_objects gauge\n");
	for (int k = 0; k < n; k++) {
		vg_zones *z = zs[k];
		if (!z)
			continue;
		escape(cameras[k], cam, sizeof cam);
		pthread_mutex_lock(&z->mu);
		for (int i = 0; i < z->nzones; i++) {
			const zone_state *s = &z->zones[i];
			for (int l = 0; l < s->nlabels; l++)
				put(&t, "vigil_zone_objects{camera=\"%s\",zone=\"%s\",label=\"%s\"} %d\n", cam, s->def.name,
				    escape(s->labels[l].label, lab, sizeof lab), s->labels[l].now);
		}
		pthread_mutex_unlock(&z->mu);
	}
	put(&t, "# HELP vigil_line_crossings_total Objects that crossed the line, per direction.\n"
		"# TYPE vigil_line_crossings_total counter\n");
	for (int k = 0; k < n; k++) {
		vg_zones *z = zs[k];
		if (!z)
			continue;
		escape(cameras[k], cam, sizeof cam);
		pthread_mutex_lock(&z->mu);
		for (int i = 0; i < z->nlines; i++) {
			const vg_line_def *d = vg_line_get_def(z->lines[i]);
			int nl = vg_line_get_counts(z->lines[i], 0, c, VG_LINE_MAX_LABELS);
			for (int l = 0; l < nl && l < VG_LINE_MAX_LABELS; l++)
				for (int dir = 0; dir < 2; dir++)
					put(&t,
					    "vigil_line_crossings_total{camera=\"%s\",line=\"%s\",direction=\"%s\","
					    "label=\"%s\"} %" PRIu64 "\n",
					    cam, d->name, escape(d->dir_name[dir], dn, sizeof dn),
					    escape(c[l].label, lab, sizeof lab),
					    c[l].total[dir]);
		}
		pthread_mutex_unlock(&z->mu);
	}
	free(c);
	return t.failed ? -1 : 0;
}
