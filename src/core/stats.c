#include "core/stats.h"

#include <string.h>

#include "core/clock.h"

void vg_stats_init(vg_stats *stats, const char *source_uri)
{
	memset(stats, 0, sizeof *stats);
	stats->start_mono_us = vg_mono_us();
	stats->source_uri = source_uri;
}

void vg_stats_ewma(atomic_int_fast64_t *field, int64_t sample)
{
	int64_t old = atomic_load_explicit(field, memory_order_relaxed);
	int64_t next = old == 0 ? sample : old + (sample - old) / 8;
	atomic_store_explicit(field, next, memory_order_relaxed);
}

const char *vg_source_state_name(int state)
{
	switch (state) {
	case VG_SOURCE_STARTING: return "starting";
	case VG_SOURCE_RUNNING: return "running";
	case VG_SOURCE_RECONNECTING: return "reconnecting";
	case VG_SOURCE_ENDED: return "ended";
	case VG_SOURCE_DISABLED: return "disabled";
	}
	return "unknown";
}
