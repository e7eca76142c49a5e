#ifndef VG_TRACK_PARSE_H
#define VG_TRACK_PARSE_H

#include <stddef.h>

/*
 * Shared by vg_line_parse and vg_zone_parse: splits "NAME:V1,V2,..." into a
 * valid name (vg_track_name_valid) and up to max_values numbers, each
 * within 0..1. what ("line", "zone") starts every message. 0, or -1 with
 * a message in err.
 */
int vg_track__parse_spec(const char *what, const char *arg, char *name, size_t name_cap, float *v, int max_values,
			 int *count, char *err, size_t errlen);

/* The numbers part alone ("V1,V2,..."); name only goes into the messages. */
int vg_track__parse_numbers(const char *what, const char *name, const char *p, float *v, int max_values, int *count,
			    char *err, size_t errlen);

#endif
