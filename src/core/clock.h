#ifndef VG_CLOCK_H
#define VG_CLOCK_H

#include <stdint.h>

/* Microseconds on the monotonic clock: for durations and deadlines. */
int64_t vg_mono_us(void);

/* Microseconds since the Unix epoch: for timestamps that leave the process. */
int64_t vg_wall_us(void);

/* Sleeps for the given number of microseconds (no-op when <= 0). */
void vg_sleep_us(int64_t us);

#endif
