#ifndef VG_HTTP_AUTH_H
#define VG_HTTP_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "http/peer.h"

struct vg_config_auth;

/*
 * Access control: who may see the stream, the events and the API. Built from
 * the configuration's auth: section (config.h); with no token and no users
 * it is off and vg_auth_create gives NULL. A request is let in by any one of:
 *
 *   Authorization: Bearer TOKEN          scripts, curl, Prometheus
 *   ?token=TOKEN                         <img> tags and EventSource, which cannot set headers
 *   Authorization: Basic (user:password) a configured user, its password checked against the
 *                                        libsodium crypt string (argon2id) of the configuration
 *   Cookie: vigil_session=...            set by the login page: the user, an expiry and a MAC
 *
 * Secrets are compared in constant time: tokens through keyed digests of equal
 * length, cookies through crypto_auth_verify. A password is checked with
 * crypto_pwhash_str_verify once; after that a keyed digest of it is kept per
 * user, so that a browser resending Basic credentials with every request
 * costs a hash, not an argon2 run (64 MiB and ~0.1 s) on the event loop.
 *
 * Wrong tokens and passwords are counted per client address (an IPv6 client
 * by its /64, which one host usually holds whole): after VG_AUTH_MAX_FAILURES
 * within VG_AUTH_WINDOW_S seconds, the address is refused (429) for
 * VG_AUTH_BLOCK_S seconds, even with a correct credential. The table holds
 * VG_AUTH_TABLE_SIZE addresses; a new one evicts the least recently seen. A
 * bad or expired cookie is not counted: it cannot be guessed (256-bit MAC),
 * and a browser holding a stale one sends it with every request of a page.
 *
 * Not thread-safe: the HTTP loop thread owns it. Times are wall-clock
 * microseconds (vg_wall_us), passed in so that tests can move them.
 */

#define VG_AUTH_COOKIE "vigil_session"
#define VG_AUTH_SESSION_S (12 * 3600)
#define VG_AUTH_MAX_FAILURES 5
#define VG_AUTH_WINDOW_S 60
#define VG_AUTH_BLOCK_S 60
#define VG_AUTH_TABLE_SIZE 256
/*
 * Argon2 runs (each ~0.1 s of the event loop and 64 MiB) allowed across all
 * clients: VG_AUTH_VERIFY_RATE a second, VG_AUTH_VERIFY_BURST at once. Past
 * that a password not verified before is answered 429 with Retry-After: 1,
 * not counted as a failure, so that many addresses guessing at once cannot
 * stall the stream; tokens, cookies and passwords already verified still pass.
 */
#define VG_AUTH_VERIFY_RATE 4
#define VG_AUTH_VERIFY_BURST 8
/* Room for a whole Set-Cookie value. */
#define VG_AUTH_COOKIE_MAX 512
/* Longest token or password looked at; longer ones are wrong. */
#define VG_AUTH_SECRET_MAX 1024

typedef struct vg_auth vg_auth;

/* What a request carries; any pointer may be NULL. Strings are not NUL-terminated. */
typedef struct vg_auth_credentials {
	const char *authorization;
	size_t authorization_len;
	const char *cookie;          /* the Cookie header's value */
	size_t cookie_len;
	const char *query;           /* the target's query, after "?" */
	size_t query_len;
} vg_auth_credentials;

enum vg_auth_result {
	VG_AUTH_OK = 0,
	VG_AUTH_MISSING,   /* no usable credential: 401 (not counted) */
	VG_AUTH_DENIED,    /* a wrong token or password: 401, counted against the address */
	VG_AUTH_LIMITED,   /* the address failed too often, or no password check is left this second: 429 */
};

/*
 * Builds the checker. *out is NULL (access control off) when cfg is NULL or
 * holds no token and no users. Returns 0, or -1 with a message in err: a user
 * without a name or with a hash that is not a libsodium crypt string, or
 * libsodium that cannot start.
 */
int vg_auth_create(vg_auth **out, const struct vg_config_auth *cfg, char *err, size_t errlen);

/*
 * For a configuration reloaded: next takes over prev's failure counts and
 * password-check budget, so that a reload lifts no block, and, when neither
 * has a configured session_secret, prev's random session key, so that the
 * browsers logged in stay logged in (a session still ends when its user is
 * removed or its password or the token changes).
 */
void vg_auth_carry_over(vg_auth *next, const vg_auth *prev);

void vg_auth_destroy(vg_auth *a);

/*
 * Checks a request's credentials from address from at now_us. Returns a
 * vg_auth_result; for VG_AUTH_LIMITED, *retry_after_s says how long the
 * address stays refused (whole seconds, at least 1).
 */
int vg_auth_check(vg_auth *a, const vg_auth_credentials *cred, const vg_peer_addr *from, int64_t now_us,
		  int *retry_after_s);

/*
 * The login form's body (application/x-www-form-urlencoded: user, password;
 * an empty user with the token as password logs in by token). Returns a
 * vg_auth_result (never VG_AUTH_MISSING: an empty form is DENIED); on
 * VG_AUTH_OK, set_cookie holds the value of a Set-Cookie field.
 */
int vg_auth_login(vg_auth *a, const char *body, size_t len, const vg_peer_addr *from, int64_t now_us,
		  char *set_cookie, size_t cap, int *retry_after_s);

/*
 * The Set-Cookie value of a session for user ("" for the token's holder)
 * from now_us: "vigil_session=...; Max-Age=...; Path=/; HttpOnly;
 * SameSite=Strict". Returns 0, or -1 for a user that does not exist.
 */
int vg_auth_session_cookie(vg_auth *a, const char *user, int64_t now_us, char *out, size_t cap);

/* The login page (web/login.html) with error shown in it, or without one for NULL; malloc'd, or NULL. */
char *vg_auth_login_page(const char *error);

/* Addresses in the failure table (for tests: it never exceeds VG_AUTH_TABLE_SIZE). */
int vg_auth_tracked(const vg_auth *a);

/*
 * Reads a token from a file (--auth-token, token_file:), surrounding white
 * space removed. Returns 0 with a malloc'd string in *out, or -1 with
 * "FILE: why" in err for an unreadable, empty or over-long file.
 */
int vg_auth_read_token_file(const char *path, char **out, char *err, size_t errlen);

#endif
