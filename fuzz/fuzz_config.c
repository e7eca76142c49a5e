/*
 * libFuzzer target for the YAML configuration file (config.c): any bytes are
 * read as a configuration. A load either fails with one message that starts
 * with the file's name and a line and column, or gives cameras whose lookups
 * and comparisons hold; freeing leaves nothing behind (LeakSanitizer).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vg_config *cfg = NULL;
	char err[1024];
	err[0] = '\0';
	if (vg_config_load_buffer(&cfg, (const char *)data, size, "fuzz.yaml", err, sizeof err) < 0) {
		if (cfg || strncmp(err, "fuzz.yaml:", 10) != 0)
			abort();
		return 0;
	}
	if (cfg->ncameras < 1)
		abort();
	for (int i = 0; i < cfg->ncameras; i++) {
		const vg_config_camera *c = &cfg->cameras[i];
		if (vg_config_camera_find(cfg, c->name) != c || !vg_config_camera_same(c, c) || !c->pipeline.source.uri)
			abort();
		if ((c->pipeline.detector != NULL) != (c->detector.model != NULL) ||
		    (c->pipeline.detector && c->pipeline.detector != &c->detector))
			abort();
		if (c->node && cfg->nnodes && !vg_config_node_find(cfg, c->node))
			abort();
	}
	vg_config_free(cfg);
	return 0;
}
