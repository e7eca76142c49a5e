#include "http/delivery.h"

#include <string.h>

void vg_delivery_init(vg_delivery *d, int64_t now_us)
{
	memset(d, 0, sizeof *d);
	d->start_us = now_us;
	d->last_complete_us = now_us;
	d->window_start_us = now_us;
	d->last_rate = -1;
	d->last_offered_rate = -1;
}

void vg_delivery_queued(vg_delivery *d, size_t len, int message_end, int64_t now_us)
{
	d->queued += len;
	if (!message_end)
		return;
	if (d->n == 0)
		d->waiting_since_us = now_us;
	if (d->n == VG_DELIVERY_RING) {
		/* So many messages in flight that the client is plainly reading: count exactly, time coarsely. */
		int newest = (d->head + d->n - 1) % VG_DELIVERY_RING;
		d->ends[newest] = d->queued;
		d->counts[newest]++;
		return;
	}
	int slot = (d->head + d->n) % VG_DELIVERY_RING;
	d->ends[slot] = d->queued;
	d->counts[slot] = 1;
	d->n++;
}

void vg_delivery_offered(vg_delivery *d)
{
	d->offered++;
}

void vg_delivery_update(vg_delivery *d, uint64_t delivered, int64_t now_us)
{
	int done = 0;
	while (d->n > 0 && d->ends[d->head] <= delivered) {
		d->completed += d->counts[d->head];
		d->head = (d->head + 1) % VG_DELIVERY_RING;
		d->n--;
		done = 1;
	}
	if (done) {
		d->last_complete_us = now_us;
		/* Whatever is still pending has been waiting only since this completion. */
		d->waiting_since_us = now_us;
	}
}

int64_t vg_delivery_waiting_us(const vg_delivery *d, int64_t now_us)
{
	return d->n > 0 ? now_us - d->waiting_since_us : 0;
}

void vg_delivery_check_rate(vg_delivery *d, int64_t now_us, int64_t window_us, double floor_per_s)
{
	int64_t span = now_us - d->window_start_us;
	if (span < window_us || span <= 0)
		return;
	double secs = (double)span / 1e6;
	d->last_rate = (double)(d->completed - d->window_completed) / secs;
	d->last_offered_rate = (double)(d->offered - d->window_offered) / secs;
	double floor = floor_per_s;
	if (d->last_offered_rate / 2 < floor)
		floor = d->last_offered_rate / 2;
	d->slow = floor_per_s > 0 && d->last_rate < floor;
	d->window_start_us = now_us;
	d->window_completed = d->completed;
	d->window_offered = d->offered;
}
