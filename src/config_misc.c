/*
 * The configuration's arena, lookups, comparison (for a reload), and the
 * single-camera command line as a configuration.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_internal.h"
#include "core/redact.h"

/* One allocation of the arena; the arena is the list of them. */
typedef struct arena_block {
	struct arena_block *next;
	max_align_t data[];
} arena_block;

void *vg_config_alloc(vg_config *cfg, size_t n)
{
	if (n > ((size_t)-1) / 2)
		return NULL;
	arena_block *b = calloc(1, sizeof *b + n);
	if (!b)
		return NULL;
	b->next = cfg->arena;
	cfg->arena = b;
	return b->data;
}

char *vg_config_strdup(vg_config *cfg, const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *d = vg_config_alloc(cfg, n);
	if (d)
		memcpy(d, s, n);
	return d;
}

vg_config *vg_config_new(void)
{
	vg_config *cfg = calloc(1, sizeof *cfg);
	if (!cfg)
		return NULL;
	vg_serve_options_init(&cfg->global);
	cfg->inference_workers = 1;
	cfg->mqtt.port = 1883;
	cfg->mqtt.prefix = "vigil";
	cfg->mqtt.max_rate = 5;
	cfg->mqtt.stats_interval = 10;
	cfg->mqtt.keepalive = 10;
	return cfg;
}

void vg_config_free(vg_config *cfg)
{
	if (!cfg)
		return;
	for (arena_block *b = cfg->arena, *next; b; b = next) {
		next = b->next;
		free(b);
	}
	free(cfg);
}

const vg_config_camera *vg_config_camera_find(const vg_config *cfg, const char *name)
{
	for (int i = 0; name && i < cfg->ncameras; i++)
		if (!strcmp(cfg->cameras[i].name, name))
			return &cfg->cameras[i];
	return NULL;
}

const vg_config_node *vg_config_node_find(const vg_config *cfg, const char *name)
{
	if (!name)
		name = "default";
	for (int i = 0; i < cfg->nnodes; i++)
		if (!strcmp(cfg->nodes[i].name, name))
			return &cfg->nodes[i];
	return NULL;
}

int vg_config_apply_redact(const vg_config *cfg, char *err, size_t errlen)
{
	vg_redact_clear_params();
	for (int i = 0; i < cfg->nredact_params; i++)
		if (vg_redact_option(cfg->redact_params[i], err, errlen) < 0)
			return -1;
	return 0;
}

static int str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static int pre_same(const vg_preprocess_config *a, const vg_preprocess_config *b)
{
	for (int i = 0; i < 3; i++)
		if (a->mean[i] != b->mean[i] || a->std[i] != b->std[i])
			return 0;
	return a->resize == b->resize && a->sampling == b->sampling && a->bgr == b->bgr && a->nchw == b->nchw &&
	       a->has_norm == b->has_norm && a->pad_value == b->pad_value && a->align_topleft == b->align_topleft;
}

int vg_config_model_same(const vg_detector_options *a, const vg_detector_options *b)
{
	return str_eq(a->model, b->model) && str_eq(a->labels, b->labels) && a->threads == b->threads &&
	       a->top_k == b->top_k && str_eq(a->decoder, b->decoder) && str_eq(a->sidecar, b->sidecar) &&
	       pre_same(&a->pre, &b->pre) && a->resize_set == b->resize_set && a->mean_set == b->mean_set &&
	       a->std_set == b->std_set && a->reference_only == b->reference_only && a->no_state == b->no_state &&
	       a->input_w == b->input_w && a->input_h == b->input_h;
}

int vg_config_detector_same(const vg_detector_options *a, const vg_detector_options *b)
{
	return vg_config_model_same(a, b) && a->threshold == b->threshold && str_eq(a->classes, b->classes) &&
	       a->max_detections == b->max_detections;
}

int vg_config_classifier_same(const vg_classifier_options *a, const vg_classifier_options *b)
{
	return str_eq(a->model, b->model) && str_eq(a->classes, b->classes) && a->max_crops == b->max_crops &&
	       a->threads == b->threads && str_eq(a->sidecar, b->sidecar);
}

static int source_same(const vg_source_options *a, const vg_source_options *b)
{
	return str_eq(a->uri, b->uri) && a->loop == b->loop && a->pace == b->pace && a->width == b->width &&
	       a->height == b->height && a->fps == b->fps && str_eq(a->input_format, b->input_format) &&
	       a->reconnect_max_us == b->reconnect_max_us && a->io_timeout_us == b->io_timeout_us;
}

/* A copy of n items of size each in cfg (NULL for none); 0, or -1 when out of memory. */
static int own_array(vg_config *cfg, const void **dst, const void *src, int n, size_t size)
{
	void *p = NULL;
	if (n > 0 && !(p = vg_config_alloc(cfg, (size_t)n * size)))
		return -1;
	if (p)
		memcpy(p, src, (size_t)n * size);
	*dst = p;
	return 0;
}

int vg_config_own_scene(vg_config *cfg, vg_scene_options *scene, const vg_serve_options *o)
{
	return own_array(cfg, (const void **)&scene->zones, o->zones, scene->nzones, sizeof o->zones[0]) |
	       own_array(cfg, (const void **)&scene->lines, o->lines, scene->nlines, sizeof o->lines[0]) |
	       own_array(cfg, (const void **)&scene->masks, o->masks, scene->nmasks, sizeof o->masks[0]) |
	       own_array(cfg, (const void **)&scene->areas, o->areas, scene->nareas, sizeof o->areas[0]);
}

/* The definitions are plain data (no pointers), so equal bytes are equal zones. */
static int scene_same(const vg_scene_options *a, const vg_scene_options *b)
{
	return a->tracking == b->tracking && a->nzones == b->nzones && a->nlines == b->nlines &&
	       a->nmasks == b->nmasks && a->nareas == b->nareas && !memcmp(&a->tracker, &b->tracker, sizeof a->tracker) &&
	       (a->nzones == 0 || !memcmp(a->zones, b->zones, (size_t)a->nzones * sizeof *a->zones)) &&
	       (a->nlines == 0 || !memcmp(a->lines, b->lines, (size_t)a->nlines * sizeof *a->lines)) &&
	       (a->nmasks == 0 || !memcmp(a->masks, b->masks, (size_t)a->nmasks * sizeof *a->masks)) &&
	       (a->nareas == 0 || !memcmp(a->areas, b->areas, (size_t)a->nareas * sizeof *a->areas));
}

int vg_config_camera_same(const vg_config_camera *a, const vg_config_camera *b)
{
	const vg_pipeline_options *p = &a->pipeline, *q = &b->pipeline;
	if (strcmp(a->name, b->name) != 0 || !str_eq(a->node ? a->node : "default", b->node ? b->node : "default") ||
	    a->enabled != b->enabled || !str_eq(a->model_key, b->model_key))
		return 0;
	if (!source_same(&p->source, &q->source) || p->quality != q->quality || p->max_fps != q->max_fps ||
	    p->json_out != q->json_out)
		return 0;
	if (p->privacy.mode != q->privacy.mode || p->privacy.fill.y != q->privacy.fill.y ||
	    p->privacy.fill.u != q->privacy.fill.u || p->privacy.fill.v != q->privacy.fill.v ||
	    !str_eq(p->privacy.classes, q->privacy.classes))
		return 0;
	if (!p->detector != !q->detector || (p->detector && !vg_config_detector_same(p->detector, q->detector)))
		return 0;
	if (!p->classifier != !q->classifier || (p->classifier && !vg_config_classifier_same(p->classifier, q->classifier)))
		return 0;
	if (p->clips != q->clips || p->clip_pre_s != q->clip_pre_s || p->clip_post_s != q->clip_post_s)
		return 0;
	return scene_same(&p->scene, &q->scene);
}

/* Copies *s into the arena in place; 0, or -1 when out of memory. */
static int own(vg_config *cfg, const char **s)
{
	if (!*s)
		return 0;
	*s = vg_config_strdup(cfg, *s);
	return *s ? 0 : -1;
}

int vg_config_from_options(vg_config **out, const vg_serve_options *opt, char *err, size_t errlen)
{
	*out = NULL;
	vg_config *cfg = vg_config_new();
	vg_config_camera *cam = cfg ? vg_config_alloc(cfg, sizeof *cam) : NULL;
	if (!cam)
		goto nomem;
	cfg->global = *opt;
	vg_serve_options *g = &cfg->global;
	/* The camera's settings are the camera's; the lists point into the copy, not into opt. */
	memset(&g->pipeline, 0, sizeof g->pipeline);
	memset(&g->detector, 0, sizeof g->detector);
	memset(&g->classifier, 0, sizeof g->classifier);
	g->http.cors_origins = g->cors_origins;
	g->http.allowed_hosts = g->allowed_hosts;
	g->http.trusted_proxies = g->trusted_proxies;
	int bad = own(cfg, &g->http.listen) | own(cfg, &g->config_path) | own(cfg, &g->node);
	for (int i = 0; i < g->http.ncors_origins; i++)
		bad |= own(cfg, &g->cors_origins[i]);
	for (int i = 0; i < g->http.nallowed_hosts; i++)
		bad |= own(cfg, &g->allowed_hosts[i]);

	strcpy(cam->name, "default");
	cam->enabled = 1;
	cam->pipeline = opt->pipeline;
	cam->detector = opt->detector;
	cam->classifier = opt->classifier;
	vg_detector_options *d = &cam->detector;
	vg_classifier_options *c = &cam->classifier;
	bad |= own(cfg, &cam->pipeline.source.uri) | own(cfg, &cam->pipeline.source.input_format) |
	       own(cfg, &cam->pipeline.privacy.classes);
	bad |= own(cfg, &d->model) | own(cfg, &d->labels) | own(cfg, &d->classes) | own(cfg, &d->decoder) |
	       own(cfg, &d->sidecar);
	bad |= own(cfg, &c->model) | own(cfg, &c->classes) | own(cfg, &c->sidecar);
	if (bad)
		goto nomem;
	cam->pipeline.detector = d->model ? d : NULL;
	cam->pipeline.classifier = c->model ? c : NULL;
	if (vg_config_own_scene(cfg, &cam->pipeline.scene, opt) < 0)
		goto nomem;
	cfg->cameras = cam;
	cfg->ncameras = 1;
	*out = cfg;
	return 0;
nomem:
	vg_config_free(cfg);
	snprintf(err, errlen, "out of memory");
	return -1;
}
