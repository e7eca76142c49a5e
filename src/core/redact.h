#ifndef VG_REDACT_H
#define VG_REDACT_H

#include <stddef.h>

/*
 * Secrets in source URIs. A camera URL often carries credentials, in its
 * user:password@ part or in query parameters (?token=...&password=...). The
 * program keeps two strings per source: the real URI, used only to open it,
 * and its display form, built here, used in every message, log line and
 * status page.
 *
 * The display form replaces the userinfo by "***" and the value of every
 * query (or fragment) parameter whose name, percent-decoded and compared
 * case-insensitively, contains one of token, password, pass, pwd, key,
 * secret, auth, signature, or is exactly "sig", or is one the user named
 * with --redact-param. Matching by substring over-redacts ("keyframe"), which
 * is the safe side.
 */

/* Longest display form kept by the callers that use fixed buffers. */
#define VG_REDACT_MAX 1024

/*
 * Adds a parameter name to redact everywhere (from --redact-param). The set
 * is process-wide, like the log level: call it while parsing options, before
 * any thread starts. Returns 0, -EINVAL for an empty name, or -ENOSPC past 32
 * names.
 */
int vg_redact_add_param(const char *name);

/* Forgets the names added by vg_redact_add_param (for tests). */
void vg_redact_clear_params(void);

/*
 * Writes the display form of uri into dst, always NUL-terminated, redacting
 * the built-in secret words plus the n names in extra (which may be NULL) but
 * not those of vg_redact_add_param. Returns 0, or -ENOSPC when dst was too
 * small; the truncated form never holds a secret, since it is cut from the
 * redacted text.
 */
int vg_redact_uri_with(const char *uri, const char *const *extra, size_t n, char *dst, size_t cap);

/* vg_redact_uri_with with the names given to vg_redact_add_param. */
int vg_redact_uri(const char *uri, char *dst, size_t cap);

/* vg_redact_uri into a malloc'd string, or NULL when out of memory. */
char *vg_redact_uri_dup(const char *uri);

/*
 * Redacts every URL ("scheme://...", up to white space or a quote) inside a
 * line of free text, such as a message FFmpeg logs, into dst. Returns 0 or
 * -ENOSPC as vg_redact_uri does.
 */
int vg_redact_text(const char *text, char *dst, size_t cap);

/*
 * Replaces each ${NAME} in in by the value of the environment variable NAME,
 * so that a secret need not appear on the command line where ps shows it. A
 * '$' not followed by '{' stays as it is. On success *out is a malloc'd string
 * and the result 0; otherwise *out is NULL, the result is -EINVAL (a variable
 * that is not set, an unterminated "${" or a bad name) or -ENOMEM, and err
 * names the problem.
 */
int vg_expand_env(const char *in, char **out, char *err, size_t errlen);

#endif
