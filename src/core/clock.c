#include "core/clock.h"

#include <errno.h>
#include <time.h>

static int64_t read_clock(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t vg_mono_us(void)
{
	return read_clock(CLOCK_MONOTONIC);
}

int64_t vg_wall_us(void)
{
	return read_clock(CLOCK_REALTIME);
}

void vg_sleep_us(int64_t us)
{
	if (us <= 0)
		return;
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000 };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}
