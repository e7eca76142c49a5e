#ifndef VG_HTTP_DELIVERY_H
#define VG_HTTP_DELIVERY_H

#include <stddef.h>
#include <stdint.h>

/*
 * How well a streaming client (/video_feed or /events) takes what we send:
 * which whole messages (MJPEG parts, SSE events) it has received, when it
 * last received one, and at what rate. A client that reads a few bytes a
 * second keeps its socket alive forever, so "accepts no byte" does not tell
 * a viewer from an attacker holding a slot; whole messages do.
 *
 * The caller reports every byte it queues (vg_delivery_queued, with the end
 * of each message marked) and, from time to time, how many of them the peer
 * has acknowledged (vg_delivery_update: queued minus what is still in our
 * buffer and in the kernel's send queue). Pure bookkeeping on numbers, so
 * tests can drive it with any clock.
 */

/* Message ends tracked one by one; past this, newer ends merge into the newest entry. */
#define VG_DELIVERY_RING 32

typedef struct vg_delivery {
	uint64_t queued;                      /* bytes queued since the connection started */
	uint64_t ends[VG_DELIVERY_RING];      /* cumulative byte offset where a pending message ends */
	uint32_t counts[VG_DELIVERY_RING];    /* messages ending there (more than 1 once merged) */
	int head, n;
	uint64_t completed;                   /* whole messages the peer has received */
	uint64_t offered;                     /* messages there were to send, sent or skipped */
	int64_t start_us;
	int64_t last_complete_us;             /* start_us until the first */
	int64_t waiting_since_us;             /* since when a message is pending and none completes */

	/* The rate window: a whole-message rate measured over each window, against the offered rate. */
	int64_t window_start_us;
	uint64_t window_completed, window_offered;
	double last_rate, last_offered_rate;  /* of the last finished window; -1 before the first */
	int slow;                             /* the last finished window was below the floor */
} vg_delivery;

void vg_delivery_init(vg_delivery *d, int64_t now_us);

/* len more bytes were queued; message_end marks them as the end of a message. */
void vg_delivery_queued(vg_delivery *d, size_t len, int message_end, int64_t now_us);

/* One more message was there to send to this client (queued or skipped). */
void vg_delivery_offered(vg_delivery *d);

/* The peer has acknowledged the first `delivered` bytes: completes the messages they hold. */
void vg_delivery_update(vg_delivery *d, uint64_t delivered, int64_t now_us);

/* A message has been pending this long with none completed (0 when nothing is pending). */
int64_t vg_delivery_waiting_us(const vg_delivery *d, int64_t now_us);

/*
 * Closes the rate window once it is window_us long: the client is slow when
 * it completed fewer messages per second than the floor, or than half of
 * what it was offered if that is less (a 2 fps stream asks no viewer for
 * more than 1 fps). A floor of 0 never makes a client slow.
 */
void vg_delivery_check_rate(vg_delivery *d, int64_t now_us, int64_t window_us, double floor_per_s);

#endif
