#ifndef VG_ASSETS_H
#define VG_ASSETS_H

#include <stddef.h>

/* The files of web/, compiled into the binary by tools/embed.c. */
typedef struct vg_asset {
	const char *path;           /* "/index.html", "/app.js", ... */
	const unsigned char *data;
	size_t len;
} vg_asset;

/* Terminated by an entry with path NULL. */
extern const vg_asset vg_assets[];

#endif
