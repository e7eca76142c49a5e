#include "track/tracker.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "track/assign.h"
#include "track/kalman.h"

#define ENDED_CAP 1024
/* Deaths remembered for the fragment heuristic, and for how long. */
#define RECENT_CAP 64
#define RECENT_S 3.0
#define MIN_SIZE 1e-6

typedef struct track {
	vg_kalman kf;
	int id;               /* 0 while tentative */
	int class_id;
	char label[48];
	float score, best_score;
	int hits, misses, age;
	double first_time, last_time;
	float last_box[4];    /* the filter's box just after its last match */
	float trail[VG_TRACK_TRAIL][2];
	int trail_next, n_trail; /* a ring: the next slot to write and how many are filled */
	int matched;          /* in the current update */
} track;

typedef struct recent_death {
	double time;
	float cx, cy, h;      /* isotropic centre and height at the last match */
	int class_id;
} recent_death;

/* A box's x0 for the sweep that finds overlapping pairs without testing every pair. */
typedef struct sweep_key {
	float x0;
	int idx;
} sweep_key;

struct vg_tracker {
	vg_tracker_options o;
	track *tracks;
	int n_tracks, cap_tracks;
	int next_id;
	double last_time;
	int has_time;
	vg_track_info *ended;  /* a ring of ENDED_CAP, allocated at the first death */
	int ended_head, ended_n;
	recent_death recent[RECENT_CAP];
	int recent_next;
	vg_tracker_stats st;
	vg_assign_ws ws;

	/* Scratch for one update, grown as needed and kept. */
	int cap_d, cap_t, cap_pairs;
	float (*pred)[4];      /* predicted box per track */
	int *high, *low, *det_used; /* detection index lists, and which detections found a track */
	int *rows, *row_to_col, *col_to_row;
	sweep_key *keys;
	vg_assign_pair *pairs;
};

void vg_tracker_options_default(vg_tracker_options *o)
{
	if (o->high_score <= 0)
		o->high_score = 0.5f;
	if (o->low_score <= 0)
		o->low_score = 0.1f;
	if (o->new_score <= 0)
		o->new_score = o->high_score + 0.1f;
	if (o->match_iou <= 0)
		o->match_iou = 0.2f;
	if (o->low_match_iou <= 0)
		o->low_match_iou = 0.5f;
	if (o->confirm_hits <= 0)
		o->confirm_hits = 3;
	if (o->max_misses <= 0)
		o->max_misses = 30;
	if (!(o->frame_aspect > 0))
		o->frame_aspect = 1;
}

vg_tracker *vg_tracker_create(const vg_tracker_options *opt)
{
	vg_tracker_options o = { 0 };
	if (opt)
		o = *opt;
	vg_tracker_options_default(&o);
	if (o.low_score > o.high_score || o.match_iou > 1 || o.low_match_iou > 1 || !isfinite(o.frame_aspect))
		return NULL;
	vg_tracker *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->o = o;
	t->next_id = 1;
	return t;
}

void vg_tracker_destroy(vg_tracker *t)
{
	if (!t)
		return;
	free(t->tracks);
	free(t->ended);
	free(t->pred);
	free(t->high);
	free(t->low);
	free(t->det_used);
	free(t->rows);
	free(t->row_to_col);
	free(t->col_to_row);
	free(t->keys);
	free(t->pairs);
	vg_assign_ws_fini(&t->ws);
	free(t);
}

static int grow(void **p, int *cap, int need, size_t size)
{
	if (need <= *cap)
		return 0;
	int n = *cap ? *cap : 64;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, (size_t)n * size);
	if (!q)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

static int reserve_scratch(vg_tracker *t, int n_dets, int n_tracks)
{
	int need_d = n_dets > n_tracks ? n_dets : n_tracks;
	if (need_d > t->cap_d) {
		int cap = need_d * 2;
		void **arrs[] = { (void **)&t->high, (void **)&t->low, (void **)&t->det_used, (void **)&t->rows,
			(void **)&t->row_to_col, (void **)&t->col_to_row };
		for (size_t i = 0; i < sizeof arrs / sizeof *arrs; i++) {
			void *q = realloc(*arrs[i], (size_t)cap * sizeof(int));
			if (!q)
				return -1;
			*arrs[i] = q;
		}
		void *k = realloc(t->keys, (size_t)cap * sizeof *t->keys);
		if (!k)
			return -1;
		t->keys = k;
		t->cap_d = cap;
	}
	if (n_tracks > t->cap_t) {
		int cap = n_tracks * 2;
		void *q = realloc(t->pred, (size_t)cap * sizeof *t->pred);
		if (!q)
			return -1;
		t->pred = q;
		t->cap_t = cap;
	}
	return 0;
}

/* Normalised box -> isotropic measurement (cx, cy, aspect, height), x in units of the frame's height. */
static void box_to_z(const vg_tracker *t, float x0, float y0, float x1, float y1, double z[4])
{
	double A = t->o.frame_aspect;
	double w = ((double)x1 - x0) * A, h = (double)y1 - y0;
	if (h < MIN_SIZE)
		h = MIN_SIZE;
	if (w < MIN_SIZE)
		w = MIN_SIZE;
	z[0] = 0.5 * ((double)x0 + x1) * A;
	z[1] = 0.5 * ((double)y0 + y1);
	z[2] = w / h;
	z[3] = h;
}

static void z_to_box(const vg_tracker *t, const double z[4], float b[4])
{
	double A = t->o.frame_aspect;
	double h = z[3] > MIN_SIZE ? z[3] : MIN_SIZE, a = z[2] > MIN_SIZE ? z[2] : MIN_SIZE;
	double w = a * h / A, cx = z[0] / A;
	b[0] = (float)(cx - 0.5 * w);
	b[1] = (float)(z[1] - 0.5 * h);
	b[2] = (float)(cx + 0.5 * w);
	b[3] = (float)(z[1] + 0.5 * h);
}

static double iou(const float a[4], const float b[4])
{
	double iw = fmin(a[2], b[2]) - fmax(a[0], b[0]), ih = fmin(a[3], b[3]) - fmax(a[1], b[1]);
	if (iw <= 0 || ih <= 0)
		return 0;
	double inter = iw * ih;
	double ua = ((double)a[2] - a[0]) * ((double)a[3] - a[1]) + ((double)b[2] - b[0]) * ((double)b[3] - b[1]) - inter;
	return ua > 0 ? inter / ua : 0;
}

static int cmp_key(const void *a, const void *b)
{
	float x = ((const sweep_key *)a)->x0, y = ((const sweep_key *)b)->x0;
	return x < y ? -1 : x > y;
}

/*
 * Matches the tracks listed in t->rows to the detections listed in cols by
 * IoU (cost 1 - IoU, allowed from min_iou), same class only. Candidate pairs
 * come from a sweep over the detections sorted by left edge, so that a
 * thousand small objects do not make a million IoU tests. Fills
 * t->row_to_col with indices into cols.
 */
static int match(vg_tracker *t, int n_rows, const vg_detection *dets, const int *cols, int n_cols, double min_iou)
{
	if (!n_rows || !n_cols) {
		for (int r = 0; r < n_rows; r++)
			t->row_to_col[r] = -1;
		return 0;
	}
	float max_w = 0;
	for (int c = 0; c < n_cols; c++) {
		const vg_detection *d = &dets[cols[c]];
		t->keys[c] = (sweep_key){ d->x0, c };
		if (d->x1 - d->x0 > max_w)
			max_w = d->x1 - d->x0;
	}
	qsort(t->keys, (size_t)n_cols, sizeof *t->keys, cmp_key);
	int n_pairs = 0;
	for (int r = 0; r < n_rows; r++) {
		const track *tr = &t->tracks[t->rows[r]];
		const float *p = t->pred[t->rows[r]];
		/* Every detection that overlaps p starts after p.x0 - max_w and before p.x1. */
		float from = p[0] - max_w;
		int lo = 0, hi = n_cols;
		while (lo < hi) {
			int mid = (lo + hi) / 2;
			if (t->keys[mid].x0 < from)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (int k = lo; k < n_cols && t->keys[k].x0 < p[2]; k++) {
			const vg_detection *d = &dets[cols[t->keys[k].idx]];
			if (d->class_id != tr->class_id)
				continue;
			float db[4] = { d->x0, d->y0, d->x1, d->y1 };
			double v = iou(p, db);
			if (v < min_iou || v <= 0)
				continue;
			if (grow((void **)&t->pairs, &t->cap_pairs, n_pairs + 1, sizeof *t->pairs) < 0)
				return -1;
			t->pairs[n_pairs++] = (vg_assign_pair){ r, t->keys[k].idx, 1 - v };
		}
	}
	return vg_assign_sparse(&t->ws, n_rows, n_cols, t->pairs, n_pairs, 1 - min_iou, t->row_to_col, NULL);
}

static void track_box(const vg_tracker *t, const track *tr, double dt, float b[4])
{
	double z[4];
	vg_kalman_peek(&tr->kf, dt, z);
	z_to_box(t, z, b);
}

/*
 * A new confirmed track counts as a fragment when another track of its
 * class was last seen where it is (centre within one box height) and is
 * missing now or ended less than RECENT_S seconds ago: most likely the same
 * object under a second id. Without ground truth this is the closest
 * measure of identity breaks the tracker can give about itself.
 */
static int looks_like_fragment(const vg_tracker *t, const track *nt, double now)
{
	double c[4];
	vg_kalman_peek(&nt->kf, 0, c);
	for (int i = 0; i < t->n_tracks; i++) {
		const track *o = &t->tracks[i];
		/* Missing: unmatched before this analysis, or so far in it. */
		if (o == nt || !o->id || (!o->misses && o->matched) || o->class_id != nt->class_id)
			continue;
		double z[4];
		box_to_z(t, o->last_box[0], o->last_box[1], o->last_box[2], o->last_box[3], z);
		if (hypot(z[0] - c[0], z[1] - c[1]) < fmax(z[3], c[3]))
			return 1;
	}
	for (int i = 0; i < RECENT_CAP; i++) {
		const recent_death *r = &t->recent[i];
		if (r->h <= 0 || r->class_id != nt->class_id || now - r->time > RECENT_S)
			continue;
		if (hypot(r->cx - c[0], r->cy - c[1]) < fmax(r->h, c[3]))
			return 1;
	}
	return 0;
}

static void fill_info(const vg_tracker *t, const track *tr, const float box[4], vg_track_info *o)
{
	o->id = tr->id;
	o->class_id = tr->class_id;
	memcpy(o->label, tr->label, sizeof o->label);
	o->x0 = box[0];
	o->y0 = box[1];
	o->x1 = box[2];
	o->y1 = box[3];
	o->score = tr->score;
	o->best_score = tr->best_score;
	o->hits = tr->hits;
	o->misses = tr->misses;
	o->age = tr->age;
	o->first_time = tr->first_time;
	o->last_time = tr->last_time;
	o->n_trail = tr->n_trail;
	int start = (tr->trail_next - tr->n_trail + VG_TRACK_TRAIL) % VG_TRACK_TRAIL;
	for (int i = 0; i < tr->n_trail; i++) {
		o->trail[i][0] = tr->trail[(start + i) % VG_TRACK_TRAIL][0];
		o->trail[i][1] = tr->trail[(start + i) % VG_TRACK_TRAIL][1];
	}
	/* Stationary: the latest centres all within a tenth of the box height of the newest, in isotropic units. */
	o->stationary = 0;
	if (tr->n_trail >= VG_TRACK_STATIONARY_POINTS) {
		double A = t->o.frame_aspect, lim = 0.1 * ((double)tr->last_box[3] - tr->last_box[1]);
		const float *last = o->trail[o->n_trail - 1];
		o->stationary = 1;
		for (int i = o->n_trail - VG_TRACK_STATIONARY_POINTS; i < o->n_trail - 1; i++)
			if (hypot((o->trail[i][0] - last[0]) * A, o->trail[i][1] - last[1]) > lim)
				o->stationary = 0;
	}
}

static void end_track(vg_tracker *t, const track *tr)
{
	t->st.deaths++;
	double z[4];
	box_to_z(t, tr->last_box[0], tr->last_box[1], tr->last_box[2], tr->last_box[3], z);
	t->recent[t->recent_next] = (recent_death){ tr->last_time, (float)z[0], (float)z[1], (float)z[3], tr->class_id };
	t->recent_next = (t->recent_next + 1) % RECENT_CAP;
	if (!t->ended && !(t->ended = malloc(ENDED_CAP * sizeof *t->ended))) {
		t->st.ended_dropped++;
		return;
	}
	if (t->ended_n == ENDED_CAP) {
		t->ended_head = (t->ended_head + 1) % ENDED_CAP;
		t->ended_n--;
		t->st.ended_dropped++;
	}
	fill_info(t, tr, tr->last_box, &t->ended[(t->ended_head + t->ended_n) % ENDED_CAP]);
	t->ended_n++;
}

static void apply_match(vg_tracker *t, track *tr, vg_detection *d, double now)
{
	double z[4];
	box_to_z(t, d->x0, d->y0, d->x1, d->y1, z);
	vg_kalman_update(&tr->kf, z);
	if (tr->id && tr->misses)
		t->st.recoveries++;
	tr->matched = 1;
	tr->misses = 0;
	tr->hits++;
	tr->score = d->score;
	if (d->score > tr->best_score)
		tr->best_score = d->score;
	tr->last_time = now;
	memcpy(tr->label, d->label, sizeof tr->label);
	tr->label[sizeof tr->label - 1] = 0;
	track_box(t, tr, 0, tr->last_box);
	tr->trail[tr->trail_next][0] = 0.5f * (tr->last_box[0] + tr->last_box[2]);
	tr->trail[tr->trail_next][1] = 0.5f * (tr->last_box[1] + tr->last_box[3]);
	tr->trail_next = (tr->trail_next + 1) % VG_TRACK_TRAIL;
	if (tr->n_trail < VG_TRACK_TRAIL)
		tr->n_trail++;
	if (!tr->id && tr->hits >= t->o.confirm_hits) {
		tr->id = t->next_id++;
		t->st.confirmed++;
		if (looks_like_fragment(t, tr, now))
			t->st.fragments++;
	}
	d->track_id = tr->id;
}

/*
 * One pass: the tracks t->rows[0..n_rows) against the detections cols[0..n_cols)
 * (indices into dets), matched optimally at IoU min_iou or more, and each
 * match applied at time. 0, or -1 when memory runs out.
 */
static int associate(vg_tracker *t, int n_rows, vg_detection *dets, const int *cols, int n_cols, double min_iou,
		     double time)
{
	if (match(t, n_rows, dets, cols, n_cols, min_iou) < 0)
		return -1;
	for (int r = 0; r < n_rows; r++)
		if (t->row_to_col[r] >= 0) {
			int di = cols[t->row_to_col[r]];
			apply_match(t, &t->tracks[t->rows[r]], &dets[di], time);
			t->det_used[di] = 1;
		}
	return 0;
}

static int usable(const vg_detection *d)
{
	return !d->whole_frame && d->x1 > d->x0 && d->y1 > d->y0 && isfinite(d->x0) && isfinite(d->y0) &&
	       isfinite(d->x1) && isfinite(d->y1) && isfinite(d->score);
}

int vg_tracker_update(vg_tracker *t, vg_detection *dets, int n, double time)
{
	for (int i = 0; i < n; i++)
		dets[i].track_id = 0;
	/* Time that stands still or goes back (a clock step) predicts nothing. */
	double dt = t->has_time ? time - t->last_time : 0;
	if (!(dt > 0))
		dt = 0;
	if (!t->has_time || dt > 0)
		t->last_time = time;
	t->has_time = 1;
	t->st.updates++;
	if (reserve_scratch(t, n, t->n_tracks + n) < 0)
		return -1;

	for (int i = 0; i < t->n_tracks; i++) {
		track *tr = &t->tracks[i];
		/* As ByteTrack does: a lost track keeps moving but stops growing or shrinking. */
		if (tr->misses)
			tr->kf.x[7] = 0;
		vg_kalman_predict(&tr->kf, dt);
		track_box(t, tr, 0, t->pred[i]);
		tr->age++;
		tr->matched = 0;
	}
	int n_high = 0, n_low = 0;
	for (int i = 0; i < n; i++) {
		t->det_used[i] = 0;
		if (!usable(&dets[i]))
			continue;
		if (dets[i].score >= t->o.high_score)
			t->high[n_high++] = i;
		else if (dets[i].score >= t->o.low_score)
			t->low[n_low++] = i;
	}

	/* First pass: confirmed tracks, missing ones included, against the confident detections. */
	int n_rows = 0;
	for (int i = 0; i < t->n_tracks; i++)
		if (t->tracks[i].id)
			t->rows[n_rows++] = i;
	if (associate(t, n_rows, dets, t->high, n_high, t->o.match_iou, time) < 0)
		return -1;

	/* Second pass: confirmed tracks seen in the previous analysis against the low-score detections. */
	n_rows = 0;
	for (int i = 0; i < t->n_tracks; i++)
		if (t->tracks[i].id && !t->tracks[i].matched && !t->tracks[i].misses)
			t->rows[n_rows++] = i;
	if (associate(t, n_rows, dets, t->low, n_low, t->o.low_match_iou, time) < 0)
		return -1;

	/* Third pass: tentative tracks against the confident detections left. */
	int n_left = 0;
	for (int k = 0; k < n_high; k++)
		if (!t->det_used[t->high[k]])
			t->high[n_left++] = t->high[k];
	n_high = n_left;
	n_rows = 0;
	for (int i = 0; i < t->n_tracks; i++)
		if (!t->tracks[i].id)
			t->rows[n_rows++] = i;
	if (associate(t, n_rows, dets, t->high, n_high, t->o.match_iou, time) < 0)
		return -1;

	/*
	 * Unmatched tracks: a tentative one is dropped at its first miss (it
	 * was most likely a false positive); a confirmed one ends after
	 * max_misses, or at once when its prediction has left the frame.
	 */
	int w = 0;
	for (int i = 0; i < t->n_tracks; i++) {
		track *tr = &t->tracks[i];
		if (!tr->matched) {
			tr->misses++;
			if (!tr->id)
				continue;
			const float *p = t->pred[i];
			int gone = p[2] <= 0 || p[0] >= 1 || p[3] <= 0 || p[1] >= 1;
			if (tr->misses >= t->o.max_misses || gone) {
				end_track(t, tr);
				continue;
			}
		}
		if (w != i)
			t->tracks[w] = *tr;
		w++;
	}
	t->n_tracks = w;

	/* Births: confident detections nobody claimed. */
	for (int k = 0; k < n_high; k++) {
		vg_detection *d = &dets[t->high[k]];
		if (t->det_used[t->high[k]] || d->score < t->o.new_score)
			continue;
		if (grow((void **)&t->tracks, &t->cap_tracks, t->n_tracks + 1, sizeof *t->tracks) < 0)
			return -1;
		track *tr = &t->tracks[t->n_tracks++];
		memset(tr, 0, sizeof *tr);
		double z[4];
		box_to_z(t, d->x0, d->y0, d->x1, d->y1, z);
		vg_kalman_init(&tr->kf, z);
		tr->class_id = d->class_id;
		tr->first_time = time;
		t->st.births++;
		/* The first match: hits, score, trail, and the id when one hit confirms. */
		tr->hits = 0;
		tr->misses = 0;
		apply_match(t, tr, d, time);
	}

	int live = 0, tentative = 0;
	for (int i = 0; i < t->n_tracks; i++)
		if (t->tracks[i].id)
			live++;
		else
			tentative++;
	t->st.live = live;
	t->st.tentative = tentative;
	return 0;
}

int vg_tracker_predict(const vg_tracker *t, double time, vg_track_info *out, int max)
{
	double dt = t->has_time ? time - t->last_time : 0;
	int n = 0;
	for (int i = 0; i < t->n_tracks; i++) {
		const track *tr = &t->tracks[i];
		if (!tr->id || tr->misses)
			continue;
		if (n < max) {
			float b[4];
			track_box(t, tr, dt, b);
			fill_info(t, tr, b, &out[n]);
		}
		n++;
	}
	return n;
}

int vg_tracker_tracks(const vg_tracker *t, vg_track_info *out, int max)
{
	int n = 0;
	for (int i = 0; i < t->n_tracks; i++) {
		const track *tr = &t->tracks[i];
		if (!tr->id)
			continue;
		if (n < max) {
			float b[4];
			track_box(t, tr, 0, b);
			fill_info(t, tr, b, &out[n]);
		}
		n++;
	}
	return n;
}

int vg_tracker_ended(vg_tracker *t, vg_track_info *out, int max)
{
	int n = 0;
	while (n < max && t->ended_n > 0) {
		out[n++] = t->ended[t->ended_head];
		t->ended_head = (t->ended_head + 1) % ENDED_CAP;
		t->ended_n--;
	}
	return n;
}

void vg_tracker_get_stats(const vg_tracker *t, vg_tracker_stats *s)
{
	*s = t->st;
}
