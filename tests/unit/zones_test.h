#ifndef VG_ZONES_TEST_H
#define VG_ZONES_TEST_H

#include <stdint.h>

#include "track/zones.h"

#define SEC INT64_C(1000000)
/* 2026-12-06 12:00:00 UTC, a whole hour. */
#define T0 (INT64_C(1796558400) * SEC)

/* A polygon of n points from x, y pairs. */
static inline vg_polygon poly(int n, const float *xy)
{
	vg_polygon p = { .n = n };
	for (int i = 0; i < n; i++) {
		p.x[i] = xy[2 * i];
		p.y[i] = xy[2 * i + 1];
	}
	return p;
}

#endif
