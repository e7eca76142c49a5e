/*
 * Tracking, zones and lines for `vigil detect`: the same scene (track/scene.h)
 * a camera of vigil serve has, fed with a video's frames in order and timed
 * by their place in the video, so that a file analysed slower or faster than
 * it plays tracks the same. Zone and line events go out as JSON lines after
 * their frame's line, the totals after the last frame.
 */
#include <stdlib.h>
#include <string.h>

#include "cmd_detect.h"
#include "core/clock.h"
#include "event.h"
#include "render/overlay.h"

/* When a video does not say its frame rate: a common camera rate. */
#define DEFAULT_FPS 25.0

struct vg_detect_tracking {
	vg_scene_options opt;            /* with zones and lines pointing at our copies */
	vg_zone_def zones[VG_DETECT_MAX_ZONES];
	vg_line_def lines[VG_DETECT_MAX_LINES];
	vg_detection_filter filter;      /* the model's own threshold, classes and count, applied after tracking */
	vg_scene *scene;
	double fps;
	int64_t start_wall_us;           /* when the video's analysis began: its frame 1's time */
	/* The frame being analysed: its number, and its events so far (JSON lines). */
	long frame_no;
	char *events;
	size_t len, cap;
};

static void on_event(const vg_zone_event *ev, void *user)
{
	vg_detect_tracking *t = user;
	char *json = vg_zone_event_json(ev, NULL, t->frame_no);
	size_t n = json ? strlen(json) : 0;
	if (n && t->len + n + 2 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		while (cap < t->len + n + 2)
			cap *= 2;
		char *p = realloc(t->events, cap);
		if (p) {
			t->events = p;
			t->cap = cap;
		}
	}
	if (n && t->len + n + 2 <= t->cap) {
		memcpy(t->events + t->len, json, n);
		t->len += n;
		t->events[t->len++] = '\n';
		t->events[t->len] = '\0';
	}
	free(json);
}

vg_detect_tracking *vg_detect_tracking_create(vg_detector *det, const vg_detector_options *dopt,
					      const vg_zone_def *zones, int nzones, const vg_line_def *lines, int nlines,
					      char *err, size_t errlen)
{
	vg_detect_tracking *t = calloc(1, sizeof *t);
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (vg_detection_filter_init(&t->filter, det, dopt, "--classes", err, errlen) < 0) {
		free(t);
		return NULL;
	}
	memcpy(t->zones, zones, (size_t)nzones * sizeof *zones);
	memcpy(t->lines, lines, (size_t)nlines * sizeof *lines);
	t->opt = (vg_scene_options){ .tracking = 1, .zones = t->zones, .nzones = nzones, .lines = t->lines,
				     .nlines = nlines, .on_zone_event = on_event, .user = t };
	/* As serve sets a camera's tracker: confident at the threshold, a second pass below it. */
	vg_scene_track_settings(&t->opt.tracker, det, t->filter.threshold);
	if (vg_detect_tracking_start(t, 0) < 0) {
		snprintf(err, errlen, "tracking: out of memory");
		free(t);
		return NULL;
	}
	return t;
}

int vg_detect_tracking_start(vg_detect_tracking *t, double fps)
{
	vg_scene_destroy(t->scene);
	t->fps = fps > 0 ? fps : DEFAULT_FPS;
	t->start_wall_us = vg_wall_us();
	t->scene = vg_scene_create(&t->opt);
	return t->scene ? 0 : -1;
}

/* The tracker sees the model's classes at every score down to its low one; the rest of the filter comes after. */
int vg_detect_track(vg_detect_tracking *t, const vg_frame *frame, vg_detect_result *r)
{
	vg_detection_filter wide = t->filter;
	wide.max_detections = VG_MAX_DETECTIONS;
	wide.threshold = t->opt.tracker.low_score;
	int n = vg_detection_filter_apply(&wide, r->dets, r->n);
	t->frame_no = r->frame_no;
	t->len = 0;
	/*
	 * The video's own clock: frame N is (N - 1) / fps seconds in, whether the
	 * analysis runs faster or slower than the video plays, so that times in
	 * zones are the video's. Events are dated as if the video had played
	 * from when its analysis began.
	 */
	int64_t video_us = (int64_t)((double)(r->frame_no - 1) * 1e6 / t->fps);
	vg_scene_update(t->scene, r->dets, n, frame->width, frame->height, video_us, t->start_wall_us + video_us);
	r->n = vg_detection_filter_apply(&t->filter, r->dets, n);
	r->trk = t;
	r->events = t->len ? strdup(t->events) : NULL;
	vg_zones *z = vg_scene_zones(t->scene);
	for (int i = 0; z && i < t->opt.nzones; i++)
		r->zone_count[i] = vg_zones_objects(z, i, NULL);
	for (int i = 0; z && i < t->opt.nlines; i++)
		vg_zones_line_totals(z, i, r->line_count[i]);
	return 0;
}

void vg_detect_tracking_draw(const vg_detect_tracking *t, vg_frame *frame, const vg_detect_result *r)
{
	for (int i = 0; i < t->opt.nzones; i++)
		vg_overlay_zone(frame, &t->zones[i], r->zone_count[i], vg_overlay_zone_color(i));
	for (int i = 0; i < t->opt.nlines; i++)
		vg_overlay_line(frame, &t->lines[i], r->line_count[i], vg_color_rgb(255, 214, 0));
}

void vg_detect_tracking_print_totals(vg_detect_tracking *t, FILE *out, const char *name)
{
	vg_zones *z = vg_scene_zones(t->scene);
	if (!z)
		return;
	char *json = vg_zones_stats_json(z, vg_wall_us());
	vg_tracker_stats st;
	vg_scene_tracker_stats(t->scene, &st);
	if (json)
		fprintf(out,
			"{\"source\":\"%s\",\"tracking\":{\"births\":%llu,\"confirmed\":%llu,\"deaths\":%llu,"
			"\"fragments\":%llu,\"live\":%d},\"totals\":%s}\n",
			name, (unsigned long long)st.births, (unsigned long long)st.confirmed, (unsigned long long)st.deaths,
			(unsigned long long)st.fragments, st.live, json);
	fflush(out);
	free(json);
}

void vg_detect_tracking_destroy(vg_detect_tracking *t)
{
	if (!t)
		return;
	vg_scene_destroy(t->scene);
	free(t->events);
	free(t);
}
