#ifndef VG_SLOT_H
#define VG_SLOT_H

#include <stdint.h>

/*
 * A latest-wins hand-over between two threads: a one-item mailbox. The
 * producer never blocks; putting an item while the previous one has not been
 * taken releases the older item and counts it as dropped. The consumer always
 * gets the newest item. Items are reference-counted objects; the slot calls
 * the given release function on items it discards.
 */

typedef struct vg_slot vg_slot;

typedef void (*vg_slot_release_fn)(void *item);

vg_slot *vg_slot_create(vg_slot_release_fn release);

/* Releases a pending item, if any. No thread may be using the slot. */
void vg_slot_destroy(vg_slot *slot);

/*
 * Hands over item (the slot takes over the caller's reference). Never blocks.
 * After vg_slot_close the item is released at once.
 */
void vg_slot_put(vg_slot *slot, void *item);

/*
 * Waits until an item is pending and returns it (the caller now owns it), or
 * returns NULL when timeout_us passes (negative: wait forever) or the slot is
 * closed.
 */
void *vg_slot_take(vg_slot *slot, int64_t timeout_us);

/* Wakes every waiter; later takes return NULL at once. */
void vg_slot_close(vg_slot *slot);

/* Items put, and items overwritten before anyone took them. */
uint64_t vg_slot_puts(vg_slot *slot);
uint64_t vg_slot_drops(vg_slot *slot);

#endif
