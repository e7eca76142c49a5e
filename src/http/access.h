#ifndef VG_HTTP_ACCESS_H
#define VG_HTTP_ACCESS_H

#include <stddef.h>

/*
 * Which requests a browser may make and read: the Host check that defeats
 * DNS rebinding, and the CORS origins allowed to read our answers from
 * their own pages. Pure functions of the request's header values and the
 * server's options, so they are tested without sockets.
 */

/*
 * Whether a Host header value (len bytes: "name", "name:port", "1.2.3.4:port",
 * "[::1]:port") names this server. A server bound to loopback accepts only
 * names of loopback (localhost, 127.0.0.0/8, [::1]) and the allowed names:
 * a page from another site that got its name pointed at 127.0.0.1 (DNS
 * rebinding) sends its own name and is refused. A server bound to another
 * address accepts any Host unless allowed names are given; then only those,
 * loopback, and IP literals (which no DNS answer can rebind). An allowed
 * name "*" accepts every Host. Names compare case-insensitively, a trailing
 * dot ignored.
 */
int vg_http_host_allowed(const char *host, size_t len, int loopback_bind, const char *const *allowed, int nallowed);

/*
 * The allowed origin an Origin header value matches (scheme://host[:port],
 * compared case-insensitively), or NULL. "*" matches any origin. Without
 * allowed origins no CORS header is sent, and browsers keep other sites'
 * pages from reading our answers.
 */
const char *vg_http_cors_match(const char *origin, size_t len, const char *const *origins, int norigins);

#endif
