#ifndef VG_CONFIG_INTERNAL_H
#define VG_CONFIG_INTERNAL_H

#include <stddef.h>

#include "config.h"

/* Shared by config.c and config_misc.c: the configuration's arena. */

/* An empty configuration with the defaults (no camera), or NULL when out of memory. */
vg_config *vg_config_new(void);

/* n zeroed bytes that live as long as cfg, or NULL. */
void *vg_config_alloc(vg_config *cfg, size_t n);

/* A copy of s (NULL for NULL) that lives as long as cfg; NULL when out of memory. */
char *vg_config_strdup(vg_config *cfg, const char *s);

/* Points scene's zones, lines, masks and size limits at copies in cfg of those of o; 0, or -1 when out of memory. */
int vg_config_own_scene(vg_config *cfg, vg_scene_options *scene, const vg_serve_options *o);

#endif
