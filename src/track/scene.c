#include "track/scene.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"

struct vg_scene {
	vg_scene_options opt;
	vg_polygon *masks;
	vg_area_filter *areas;
	pthread_mutex_t mu;           /* the tracker and last_mono_us: analysis writes, encode reads */
	vg_tracker *tracker;          /* made at the first frame, which gives the frame's aspect */
	int64_t last_mono_us;         /* the last analysed frame's capture time */
	vg_zones *zones;              /* NULL: no zones and no lines */
	vg_lifecycle *objects;        /* NULL: no object events */
	vg_zone_obj objs[VG_MAX_DETECTIONS];
	vg_track_info ended[64];
	vg_track_info live[VG_LIFECYCLE_MAX_OBJECTS];
};

/* Zone events go to the object events too, which list the zones an object is in. */
static void on_zone_event(const vg_zone_event *ev, void *user)
{
	vg_scene *s = user;
	if (s->objects)
		vg_lifecycle_zone_event(s->objects, ev);
	if (s->opt.on_zone_event)
		s->opt.on_zone_event(ev, s->opt.user);
}

void vg_scene_track_settings(vg_tracker_options *to, vg_detector *det, float threshold)
{
	/* A score of 0 would read as "the default" to the tracker. */
	to->high_score = threshold > 0.01f ? threshold : 0.01f;
	to->low_score = to->high_score * 0.5f < VG_TRACK_LOW_SCORE ? to->high_score * 0.5f : VG_TRACK_LOW_SCORE;
	to->new_score = to->high_score + 0.1f <= 0.95f ? to->high_score + 0.1f : to->high_score;
	if (vg_detector_threshold_filters(det))
		vg_detector_lower_threshold(det, to->low_score);
	else
		to->low_score = to->high_score;
}

int vg_scene_wanted(const vg_scene_options *opt)
{
	return opt->tracking || opt->nmasks > 0 || opt->nareas > 0;
}

int vg_scene_filter(const vg_scene *s, vg_detection *dets, int n)
{
	if (!s || (s->opt.nmasks == 0 && s->opt.nareas == 0))
		return n;
	int kept = 0;
	for (int i = 0; i < n; i++) {
		const vg_detection *d = &dets[i];
		if (!d->whole_frame && (vg_masks_hide(s->masks, s->opt.nmasks, d->x0, d->y0, d->x1, d->y1) ||
					!vg_area_ok(s->areas, s->opt.nareas, d->label, d->x0, d->y0, d->x1, d->y1)))
			continue;
		if (kept != i)
			dets[kept] = dets[i];
		kept++;
	}
	return kept;
}

vg_scene *vg_scene_create(const vg_scene_options *opt)
{
	vg_scene *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->opt = *opt;
	s->opt.zones = NULL;
	s->opt.lines = NULL;
	pthread_mutex_init(&s->mu, NULL);
	if ((opt->nmasks > 0 && !(s->masks = malloc((size_t)opt->nmasks * sizeof *s->masks))) ||
	    (opt->nareas > 0 && !(s->areas = malloc((size_t)opt->nareas * sizeof *s->areas)))) {
		vg_scene_destroy(s);
		return NULL;
	}
	if (s->masks)
		memcpy(s->masks, opt->masks, (size_t)opt->nmasks * sizeof *s->masks);
	if (s->areas)
		memcpy(s->areas, opt->areas, (size_t)opt->nareas * sizeof *s->areas);
	s->opt.masks = s->masks;
	s->opt.areas = s->areas;
	if (opt->tracking && (opt->nzones > 0 || opt->nlines > 0)) {
		s->zones = vg_zones_create(opt->zones, opt->nzones, opt->lines, opt->nlines, 0, 0, on_zone_event, s);
		if (!s->zones) {
			vg_scene_destroy(s);
			return NULL;
		}
	}
	if (opt->tracking && opt->on_object) {
		vg_lifecycle_options lo = { .camera = opt->camera, .clips = opt->clips, .on_message = opt->on_object,
					    .on_better_frame = opt->on_better_frame, .user = opt->user };
		if (!(s->objects = vg_lifecycle_create(&lo))) {
			vg_scene_destroy(s);
			return NULL;
		}
	}
	/* Options out of range are found now, not at the first frame. */
	if (opt->tracking) {
		vg_tracker *probe = vg_tracker_create(&opt->tracker);
		if (!probe) {
			vg_scene_destroy(s);
			return NULL;
		}
		vg_tracker_destroy(probe);
	}
	return s;
}

void vg_scene_destroy(vg_scene *s)
{
	if (!s)
		return;
	vg_tracker_destroy(s->tracker);
	vg_zones_destroy(s->zones);
	vg_lifecycle_destroy(s->objects);
	free(s->masks);
	free(s->areas);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* Moves the shown tracked objects through the zones and lines, and lets them forget the tracks that ended. */
static int zones_update(vg_scene *s, const vg_detection *dets, int n, int nended, int64_t wall_us)
{
	/*
	 * Zones and lines follow what is shown: a match below the confident score
	 * keeps a track alive, but an object nobody saw on the stream neither
	 * enters a zone nor crosses a line.
	 */
	int k = 0;
	for (int i = 0; i < n; i++) {
		const vg_detection *d = &dets[i];
		if (d->track_id <= 0 || d->whole_frame || d->score < s->opt.tracker.high_score)
			continue;
		s->objs[k++] = (vg_zone_obj){ .track_id = d->track_id, .class_id = d->class_id, .label = d->label,
					      .x0 = d->x0, .y0 = d->y0, .x1 = d->x1, .y1 = d->y1 };
	}
	int events = vg_zones_update(s->zones, s->objs, k, wall_us);
	for (int i = 0; i < nended; i++)
		vg_zones_forget(s->zones, s->ended[i].id, wall_us);
	return events;
}

int vg_scene_update(vg_scene *s, vg_detection *dets, int n, int width, int height, int64_t mono_us, int64_t wall_us)
{
	if (!s->opt.tracking)
		return 0;
	pthread_mutex_lock(&s->mu);
	if (!s->tracker && width > 0 && height > 0) {
		vg_tracker_options to = s->opt.tracker;
		to.frame_aspect = (float)width / (float)height;
		s->tracker = vg_tracker_create(&to);
	}
	if (!s->tracker) {
		pthread_mutex_unlock(&s->mu);
		return 0;
	}
	if (vg_tracker_update(s->tracker, dets, n, (double)mono_us / 1e6) < 0)
		vg_warn("tracking: out of memory; this frame's identities may be missing");
	s->last_mono_us = mono_us;
	int nended = vg_tracker_ended(s->tracker, s->ended, (int)(sizeof s->ended / sizeof s->ended[0]));
	int nlive = s->objects ? vg_tracker_tracks(s->tracker, s->live, VG_LIFECYCLE_MAX_OBJECTS) : 0;
	pthread_mutex_unlock(&s->mu);
	if (nlive > VG_LIFECYCLE_MAX_OBJECTS)
		nlive = VG_LIFECYCLE_MAX_OBJECTS;
	int events = s->zones ? zones_update(s, dets, n, nended, wall_us) : 0;
	if (s->objects)
		vg_lifecycle_update(s->objects, s->live, nlive, s->ended, nended, (double)mono_us / 1e6, wall_us);
	return events;
}

void vg_scene_end_objects(vg_scene *s, int64_t wall_us)
{
	if (s && s->objects)
		vg_lifecycle_end_all(s->objects, wall_us);
}

int vg_scene_predict(vg_scene *s, int64_t mono_us, vg_track_info *out, int max)
{
	pthread_mutex_lock(&s->mu);
	int n = 0;
	if (s->tracker) {
		int64_t limit = s->last_mono_us + (int64_t)(VG_SCENE_MAX_PREDICT_S * 1e6);
		if (mono_us > limit)
			mono_us = limit;
		n = vg_tracker_predict(s->tracker, (double)mono_us / 1e6, out, max);
	}
	pthread_mutex_unlock(&s->mu);
	return n < max ? n : max;
}

vg_zones *vg_scene_zones(const vg_scene *s)
{
	return s ? s->zones : NULL;
}

void vg_scene_tracker_stats(vg_scene *s, vg_tracker_stats *out)
{
	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&s->mu);
	if (s->tracker)
		vg_tracker_get_stats(s->tracker, out);
	pthread_mutex_unlock(&s->mu);
}
