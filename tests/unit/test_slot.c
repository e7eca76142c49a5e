#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "core/clock.h"
#include "core/slot.h"
#include "test.h"

/* Items are heap integers; the release function counts them so leaks and double frees show. */
static atomic_int released;

static void release_item(void *item)
{
	atomic_fetch_add(&released, 1);
	free(item);
}

static int *item(int v)
{
	int *p = malloc(sizeof *p);
	*p = v;
	return p;
}

TEST(slot_latest_wins_and_counts_drops)
{
	vg_slot *s = vg_slot_create(release_item);
	vg_slot_put(s, item(1));
	vg_slot_put(s, item(2));
	vg_slot_put(s, item(3));
	CHECK(vg_slot_drops(s) == 2);
	CHECK(vg_slot_puts(s) == 3);
	CHECK(atomic_load(&released) == 2);
	int *got = vg_slot_take(s, 0);
	CHECK(got && *got == 3);
	free(got);
	CHECK(vg_slot_take(s, 0) == NULL);
	vg_slot_destroy(s);
}

TEST(slot_take_times_out)
{
	vg_slot *s = vg_slot_create(release_item);
	int64_t t0 = vg_mono_us();
	CHECK(vg_slot_take(s, 50000) == NULL);
	int64_t waited = vg_mono_us() - t0;
	CHECK_MSG(waited >= 45000, "waited %lld us", (long long)waited);
	vg_slot_destroy(s);
}

TEST(slot_close_wakes_waiter_and_releases)
{
	vg_slot *s = vg_slot_create(release_item);
	vg_slot_put(s, item(7));
	vg_slot_close(s);
	CHECK(atomic_load(&released) == 1);
	CHECK(vg_slot_take(s, -1) == NULL); /* returns at once after close */
	vg_slot_put(s, item(8));            /* released at once */
	CHECK(atomic_load(&released) == 2);
	vg_slot_destroy(s);
}

static void *close_later(void *arg)
{
	vg_sleep_us(30000);
	vg_slot_close(arg);
	return NULL;
}

TEST(slot_close_unblocks_forever_wait)
{
	vg_slot *s = vg_slot_create(release_item);
	pthread_t t;
	pthread_create(&t, NULL, close_later, s);
	CHECK(vg_slot_take(s, -1) == NULL);
	pthread_join(t, NULL);
	vg_slot_destroy(s);
}

#define N_ITEMS 200000

typedef struct {
	vg_slot *slot;
	atomic_int done;
} pc_state;

static void *producer(void *arg)
{
	pc_state *st = arg;
	for (int i = 1; i <= N_ITEMS; i++)
		vg_slot_put(st->slot, item(i));
	atomic_store(&st->done, 1);
	vg_slot_put(st->slot, item(N_ITEMS + 1)); /* a sentinel that always arrives last */
	return NULL;
}

TEST(slot_concurrent_producer_consumer)
{
	/* The consumer sees strictly increasing values, ends on the newest, and taken + dropped = put. */
	pc_state st = { vg_slot_create(release_item), 0 };
	pthread_t t;
	pthread_create(&t, NULL, producer, &st);
	int last = 0, taken = 0;
	for (;;) {
		int *v = vg_slot_take(st.slot, 1000000);
		CHECK(v != NULL);
		CHECK_MSG(*v > last, "got %d after %d", *v, last);
		last = *v;
		free(v);
		taken++;
		if (last == N_ITEMS + 1)
			break;
	}
	pthread_join(t, NULL);
	CHECK((uint64_t)taken + vg_slot_drops(st.slot) == N_ITEMS + 1);
	CHECK(atomic_load(&released) == (int)vg_slot_drops(st.slot));
	vg_slot_destroy(st.slot);
}

TEST_SUITE(slot, TEST_ENTRY(slot_latest_wins_and_counts_drops), TEST_ENTRY(slot_take_times_out),
	   TEST_ENTRY(slot_close_wakes_waiter_and_releases), TEST_ENTRY(slot_close_unblocks_forever_wait),
	   TEST_ENTRY(slot_concurrent_producer_consumer));
