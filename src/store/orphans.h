#ifndef VG_STORE_ORPHANS_H
#define VG_STORE_ORPHANS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Event files that no event owns: a snapshot written just before a crash
 * lost its event's row, a clip of a database that was deleted, a
 * temporary file a full disk left behind. Retention only reaches the files
 * its rows name, so these are swept by age: under ROOT/CAMERA/, every
 * file named as an event's (ID.jpg, ID-crop.jpg, ID.mp4, each possibly with
 * .tmp after it) last written before cutoff, whose event the store does not
 * have, is removed. Anything else in the folders is left alone.
 */

/* 1 when the store has the event id. */
typedef int (*vg_store_has_event_fn)(void *user, const char *id);

/* Returns how many files were removed. */
uint64_t vg_store_sweep_orphans(const char *root, double cutoff_s, vg_store_has_event_fn has, void *user);

/* The event id a file name stands for (written to id, cap bytes), or 0 when it is not an event's file. */
int vg_store_file_event_id(const char *name, char *id, size_t cap);

#endif
