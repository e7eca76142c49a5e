/*
 * Runs the tracker over the JSON lines of `vigil detect` (read from a file
 * or stdin) and prints what it did per 100 frames: births, confirmations,
 * deaths, fragments and recoveries, with the length of the tracks that
 * ended. For a real detector on a real video without ground truth, e.g.
 *   vigil detect -m centernet.json --threshold 0.1 vtest.avi > vtest.jsonl
 *   bench-track-replay vtest.jsonl 10 0.3 tracks.txt
 * Run the detector at a low threshold, so that the tracker's second pass
 * has low-score detections to work with, and give the tracker's high score:
 * the model's usual threshold (CenterNet's is 0.3; the tracker's default of
 * 0.5 suits ByteTrack's YOLOX, whose scores run higher). The optional
 * fourth argument writes MOTChallenge lines (frame, id, left, top, width,
 * height in pixels, score, -1, -1, -1) to look at or score.
 * Usage: bench-track-replay FILE|- FPS [HIGH_SCORE [MOT_OUT]]
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "track/tracker.h"

static int parse_line(const char *line, vg_detection *d, int max, int *frame, int *w, int *h)
{
	cJSON *j = cJSON_Parse(line);
	if (!j)
		return -1;
	int n = 0;
	const cJSON *f = cJSON_GetObjectItem(j, "frame"), *ww = cJSON_GetObjectItem(j, "width"),
		    *hh = cJSON_GetObjectItem(j, "height"), *dets = cJSON_GetObjectItem(j, "detections");
	*frame = cJSON_IsNumber(f) ? f->valueint : *frame + 1;
	*w = cJSON_IsNumber(ww) ? ww->valueint : 1;
	*h = cJSON_IsNumber(hh) ? hh->valueint : 1;
	const cJSON *e;
	cJSON_ArrayForEach(e, dets)
	{
		if (n == max)
			break;
		const cJSON *box = cJSON_GetObjectItem(e, "box"), *s = cJSON_GetObjectItem(e, "score"),
			    *c = cJSON_GetObjectItem(e, "class_id"), *l = cJSON_GetObjectItem(e, "label");
		if (cJSON_GetArraySize(box) != 4 || !cJSON_IsNumber(s))
			continue;
		vg_detection *x = &d[n++];
		memset(x, 0, sizeof *x);
		x->x0 = (float)cJSON_GetArrayItem(box, 0)->valuedouble;
		x->y0 = (float)cJSON_GetArrayItem(box, 1)->valuedouble;
		x->x1 = (float)cJSON_GetArrayItem(box, 2)->valuedouble;
		x->y1 = (float)cJSON_GetArrayItem(box, 3)->valuedouble;
		x->score = (float)s->valuedouble;
		x->class_id = cJSON_IsNumber(c) ? c->valueint : 0;
		if (cJSON_IsString(l))
			snprintf(x->label, sizeof x->label, "%s", l->valuestring);
	}
	cJSON_Delete(j);
	return n;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bench-track-replay FILE|- FPS [HIGH_SCORE [MOT_OUT]]\n");
		return 2;
	}
	FILE *in = strcmp(argv[1], "-") ? fopen(argv[1], "r") : stdin;
	double fps = atof(argv[2]);
	float high = argc > 3 ? (float)atof(argv[3]) : 0;
	FILE *mot = argc > 4 ? fopen(argv[4], "w") : NULL;
	if (!in || !(fps > 0) || (argc > 4 && !mot)) {
		fprintf(stderr, "bench-track-replay: cannot open %s or %s, or bad FPS %s\n", argv[1],
			argc > 4 ? argv[4] : "-", argv[2]);
		return 1;
	}
	vg_tracker *t = NULL;
	static vg_detection d[VG_MAX_DETECTIONS];
	static vg_track_info ended[256];
	char *line = NULL;
	size_t cap = 0;
	int frame = 0, frames = 0, w = 1, h = 1;
	long dets = 0, with_id = 0, n_ended = 0, ended_len = 0, short_lived = 0;
	int64_t us = 0;
	while (getline(&line, &cap, in) > 0) {
		int n = parse_line(line, d, VG_MAX_DETECTIONS, &frame, &w, &h);
		if (n < 0)
			continue;
		if (!t) {
			vg_tracker_options o = { .frame_aspect = (float)w / (float)h, .high_score = high };
			if (!(t = vg_tracker_create(&o)))
				return 1;
		}
		int64_t t0 = vg_mono_us();
		vg_tracker_update(t, d, n, frame / fps);
		us += vg_mono_us() - t0;
		frames++;
		dets += n;
		for (int i = 0; i < n; i++) {
			with_id += d[i].track_id > 0;
			if (mot && d[i].track_id > 0)
				fprintf(mot, "%d,%d,%.1f,%.1f,%.1f,%.1f,%.3f,-1,-1,-1\n", frame, d[i].track_id, d[i].x0 * w,
					d[i].y0 * h, (d[i].x1 - d[i].x0) * w, (d[i].y1 - d[i].y0) * h, d[i].score);
		}
		int k = vg_tracker_ended(t, ended, 256);
		for (int i = 0; i < k; i++) {
			n_ended++;
			ended_len += ended[i].hits;
			short_lived += ended[i].hits < 10;
		}
	}
	free(line);
	if (in != stdin)
		fclose(in);
	if (mot)
		fclose(mot);
	if (!t || !frames) {
		fprintf(stderr, "bench-track-replay: no frames\n");
		return 1;
	}
	vg_tracker_stats s;
	vg_tracker_get_stats(t, &s);
	double per = 100.0 / frames;
	printf("%d frames, %ld detections (%.1f a frame), %.1f%% of them with a track id; %.1f us per update\n", frames,
		dets, (double)dets / frames, 100.0 * (double)with_id / (double)(dets ? dets : 1), (double)us / frames);
	printf("per 100 frames: births %.1f (tentative included), confirmed %.1f, deaths %.1f, fragments %.1f, "
	       "recoveries %.1f\n",
		s.births * per, s.confirmed * per, s.deaths * per, s.fragments * per, s.recoveries * per);
	printf("ended tracks: %ld, mean %.1f matched frames, %ld with fewer than 10; live at the end: %d\n", n_ended,
		n_ended ? (double)ended_len / n_ended : 0, short_lived, s.live);
	printf("RESULT\ttrack-replay-fragments-per-100\t%.1f\tper 100 frames\t\n", s.fragments * per);
	vg_tracker_destroy(t);
	return 0;
}
