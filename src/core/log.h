#ifndef VG_LOG_H
#define VG_LOG_H

enum vg_log_level {
	VG_LOG_ERROR = 0,
	VG_LOG_WARN,
	VG_LOG_INFO,
	VG_LOG_DEBUG,
};

/* Messages above this level are dropped. Default: VG_LOG_INFO. */
void vg_log_set_level(enum vg_log_level level);
enum vg_log_level vg_log_get_level(void);

/* Writes one line to stderr: "vigil: <level>: <message>". Thread-safe. */
void vg_log(enum vg_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define vg_error(...) vg_log(VG_LOG_ERROR, __VA_ARGS__)
#define vg_warn(...) vg_log(VG_LOG_WARN, __VA_ARGS__)
#define vg_info(...) vg_log(VG_LOG_INFO, __VA_ARGS__)
#define vg_debug(...) vg_log(VG_LOG_DEBUG, __VA_ARGS__)

#endif
