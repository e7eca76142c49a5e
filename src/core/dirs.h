#ifndef VG_DIRS_H
#define VG_DIRS_H

#include <stddef.h>

/*
 * mkdir -p: makes path and the folders above it that are missing. 0, or -1
 * with errno set and the component that failed in bad (cap bytes; bad may be
 * NULL), e.g. a regular file where a folder should be (ENOTDIR).
 */
int vg_make_dirs(const char *path, char *bad, size_t cap);

/* vg_make_dirs of the folder that holds the file path. */
int vg_make_parent_dirs(const char *path, char *bad, size_t cap);

#endif
