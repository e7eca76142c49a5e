/* Placeholder until the configuration file reader lands: the command line as one camera. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vg_config_load(vg_config **out, const char *path, char *err, size_t errlen)
{
	*out = NULL;
	snprintf(err, errlen, "%s: configuration files are not supported yet", path);
	return -1;
}

int vg_config_from_options(vg_config **out, const vg_serve_options *opt, char *err, size_t errlen)
{
	vg_config *cfg = calloc(1, sizeof *cfg);
	vg_config_camera *cam = calloc(1, sizeof *cam);
	if (!cfg || !cam) {
		free(cfg);
		free(cam);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	cfg->global = *opt;
	cfg->global.http.cors_origins = cfg->global.cors_origins;
	cfg->global.http.allowed_hosts = cfg->global.allowed_hosts;
	cfg->global.http.trusted_proxies = cfg->global.trusted_proxies;
	cfg->inference_workers = 1;
	snprintf(cam->name, sizeof cam->name, "default");
	cam->enabled = 1;
	cam->pipeline = opt->pipeline;
	cam->detector = opt->detector;
	cam->classifier = opt->classifier;
	cam->pipeline.detector = opt->pipeline.detector ? &cam->detector : NULL;
	cam->pipeline.classifier = opt->pipeline.classifier ? &cam->classifier : NULL;
	cfg->cameras = cam;
	cfg->ncameras = 1;
	*out = cfg;
	return 0;
}

const vg_config_camera *vg_config_camera_find(const vg_config *cfg, const char *name)
{
	for (int i = 0; i < cfg->ncameras; i++)
		if (!strcmp(cfg->cameras[i].name, name))
			return &cfg->cameras[i];
	return NULL;
}

int vg_config_camera_same(const vg_config_camera *a, const vg_config_camera *b)
{
	return a == b;
}

const vg_config_node *vg_config_node_find(const vg_config *cfg, const char *name)
{
	(void)cfg;
	(void)name;
	return NULL;
}

void vg_config_free(vg_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->cameras);
	free(cfg);
}
