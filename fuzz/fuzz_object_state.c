/*
 * libFuzzer target for an object event's JSON (track/lifecycle.h), which the
 * store and the page read back: any bytes parse or are refused without a
 * crash, and what parses writes out whole and reads back to the same state
 * (the writer rounds numbers, so the second round trip must be exact).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "track/lifecycle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vg_object_state a, b, c;
	if (vg_object_state_parse((const char *)data, size, &a) != 0)
		return 0;
	if (memchr(a.id, '\0', sizeof a.id) == NULL || a.nzones > VG_OBJECT_MAX_ZONES || a.nentered > VG_OBJECT_MAX_ZONES)
		abort();
	static char json[VG_OBJECT_STATE_JSON_MAX * 4];
	size_t n = vg_object_state_json(&a, json, sizeof json);
	if (n == 0)
		abort();
	if (vg_object_state_parse(json, n, &b) != 0)
		abort();
	n = vg_object_state_json(&b, json, sizeof json);
	if (n == 0 || vg_object_state_parse(json, n, &c) != 0)
		abort();
	if (strcmp(b.id, c.id) || strcmp(b.label, c.label) || strcmp(b.camera, c.camera) || b.nzones != c.nzones ||
	    b.nentered != c.nentered || b.track_id != c.track_id || b.has_clip != c.has_clip ||
	    b.stationary != c.stationary || b.start_time != c.start_time || b.top_score != c.top_score)
		abort();
	vg_object_message m = { .type = VG_OBJECT_UPDATE, .before = a, .after = b };
	free(vg_object_message_json(&m));
	return 0;
}
