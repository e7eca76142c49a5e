#include "core/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

static atomic_int log_level = VG_LOG_INFO;

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void vg_log_set_level(enum vg_log_level level)
{
	atomic_store(&log_level, (int)level);
}

enum vg_log_level vg_log_get_level(void)
{
	return (enum vg_log_level)atomic_load(&log_level);
}

void vg_log(enum vg_log_level level, const char *fmt, ...)
{
	if ((int)level > atomic_load(&log_level))
		return;
	/* One formatted write per line, so lines from different threads never interleave. */
	char line[1024];
	int n = snprintf(line, sizeof line, "vigil: %s: ", level_names[level]);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	va_end(ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof line - 2)
		len = sizeof line - 2;
	line[len++] = '\n';
	fwrite(line, 1, len, stderr);
}
