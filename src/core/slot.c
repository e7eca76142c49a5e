#include "core/slot.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

struct vg_slot {
	pthread_mutex_t lock;
	pthread_cond_t ready;
	void *item;
	int closed;
	vg_slot_release_fn release;
	atomic_uint_fast64_t puts;
	atomic_uint_fast64_t drops;
};

vg_slot *vg_slot_create(vg_slot_release_fn release)
{
	vg_slot *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->ready, &attr);
	pthread_condattr_destroy(&attr);
	pthread_mutex_init(&s->lock, NULL);
	s->release = release;
	return s;
}

void vg_slot_destroy(vg_slot *slot)
{
	if (!slot)
		return;
	if (slot->item)
		slot->release(slot->item);
	pthread_cond_destroy(&slot->ready);
	pthread_mutex_destroy(&slot->lock);
	free(slot);
}

void vg_slot_put(vg_slot *slot, void *item)
{
	void *old;
	pthread_mutex_lock(&slot->lock);
	if (slot->closed) {
		pthread_mutex_unlock(&slot->lock);
		slot->release(item);
		return;
	}
	old = slot->item;
	slot->item = item;
	pthread_cond_signal(&slot->ready);
	pthread_mutex_unlock(&slot->lock);
	atomic_fetch_add(&slot->puts, 1);
	/* Release outside the lock: returning a frame to its pool takes another lock. */
	if (old) {
		atomic_fetch_add(&slot->drops, 1);
		slot->release(old);
	}
}

void *vg_slot_take(vg_slot *slot, int64_t timeout_us)
{
	struct timespec deadline;
	if (timeout_us >= 0) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += timeout_us / 1000000;
		deadline.tv_nsec += (timeout_us % 1000000) * 1000;
		if (deadline.tv_nsec >= 1000000000) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000;
		}
	}
	pthread_mutex_lock(&slot->lock);
	while (!slot->item && !slot->closed) {
		if (timeout_us < 0) {
			pthread_cond_wait(&slot->ready, &slot->lock);
		} else if (pthread_cond_timedwait(&slot->ready, &slot->lock, &deadline) == ETIMEDOUT) {
			break;
		}
	}
	void *item = NULL;
	if (!slot->closed) {
		item = slot->item;
		slot->item = NULL;
	}
	pthread_mutex_unlock(&slot->lock);
	return item;
}

void vg_slot_close(vg_slot *slot)
{
	pthread_mutex_lock(&slot->lock);
	slot->closed = 1;
	void *old = slot->item;
	slot->item = NULL;
	pthread_cond_broadcast(&slot->ready);
	pthread_mutex_unlock(&slot->lock);
	if (old)
		slot->release(old);
}

uint64_t vg_slot_puts(vg_slot *slot)
{
	return atomic_load(&slot->puts);
}

uint64_t vg_slot_drops(vg_slot *slot)
{
	return atomic_load(&slot->drops);
}
