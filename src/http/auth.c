#include "http/auth.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http/assets.h"

#define DIGEST_BYTES 32
#define MAX_USER 128

typedef struct auth_user {
	char *name;
	char *hash;
	unsigned char fingerprint[DIGEST_BYTES];  /* of the hash: a new password ends the user's sessions */
	unsigned char verified[DIGEST_BYTES];     /* keyed digest of the last password that verified */
	int has_verified;
} auth_user;

/* One client address's failures. */
typedef struct auth_peer {
	vg_peer_addr addr;
	int used;
	int failures;
	int64_t window_start_us;
	int64_t blocked_until_us;
	int64_t last_us;
} auth_peer;

struct vg_auth {
	int has_token;
	unsigned char token_digest[DIGEST_BYTES];
	unsigned char token_fingerprint[DIGEST_BYTES];
	auth_user *users;
	int nusers;
	/* Random per process: keys the digests compared in constant time. */
	unsigned char digest_key[crypto_generichash_KEYBYTES];
	unsigned char session_key[crypto_auth_KEYBYTES];
	int session_key_random;            /* no session_secret: a key of this process's own */
	auth_peer peers[VG_AUTH_TABLE_SIZE];
	/* Argon2 runs left (a token bucket refilled at VG_AUTH_VERIFY_RATE a second) and when it was last filled. */
	double verify_budget;
	int64_t verify_time_us;
};

static void digest(const vg_auth *a, const void *data, size_t len, unsigned char out[DIGEST_BYTES])
{
	crypto_generichash(out, DIGEST_BYTES, data, len, a->digest_key, sizeof a->digest_key);
}

static void fingerprint(const char *s, unsigned char out[DIGEST_BYTES])
{
	crypto_generichash(out, DIGEST_BYTES, (const unsigned char *)s, strlen(s), NULL, 0);
}

void vg_auth_carry_over(vg_auth *next, const vg_auth *prev)
{
	if (!next || !prev)
		return;
	if (next->session_key_random && prev->session_key_random) {
		memcpy(next->session_key, prev->session_key, sizeof next->session_key);
		next->session_key_random = 1;
	}
	memcpy(next->peers, prev->peers, sizeof next->peers);
	next->verify_budget = prev->verify_budget;
	next->verify_time_us = prev->verify_time_us;
}

void vg_auth_destroy(vg_auth *a)
{
	if (!a)
		return;
	for (int i = 0; i < a->nusers; i++) {
		free(a->users[i].name);
		free(a->users[i].hash);
	}
	free(a->users);
	sodium_memzero(a, sizeof *a);
	free(a);
}

int vg_auth_create(vg_auth **out, const vg_config_auth *cfg, char *err, size_t errlen)
{
	*out = NULL;
	int has_token = cfg && cfg->token && cfg->token[0];
	if (!cfg || (!has_token && cfg->nusers <= 0))
		return 0;
	if (sodium_init() < 0) {
		snprintf(err, errlen, "auth: libsodium cannot start");
		return -1;
	}
	vg_auth *a = calloc(1, sizeof *a);
	if (!a || (cfg->nusers > 0 && !(a->users = calloc((size_t)cfg->nusers, sizeof *a->users)))) {
		free(a);
		snprintf(err, errlen, "auth: out of memory");
		return -1;
	}
	randombytes_buf(a->digest_key, sizeof a->digest_key);
	a->verify_budget = VG_AUTH_VERIFY_BURST;
	if (cfg->session_secret && cfg->session_secret[0])
		crypto_generichash(a->session_key, sizeof a->session_key, (const unsigned char *)cfg->session_secret,
				   strlen(cfg->session_secret), NULL, 0);
	else {
		crypto_auth_keygen(a->session_key);
		a->session_key_random = 1;
	}
	if (has_token) {
		size_t n = strlen(cfg->token);
		if (n > VG_AUTH_SECRET_MAX) {
			snprintf(err, errlen, "auth: token: longer than %d characters", VG_AUTH_SECRET_MAX);
			vg_auth_destroy(a);
			return -1;
		}
		a->has_token = 1;
		digest(a, cfg->token, n, a->token_digest);
		fingerprint(cfg->token, a->token_fingerprint);
	}
	for (int i = 0; i < cfg->nusers; i++) {
		const vg_config_user *u = &cfg->users[i];
		if (!u->name || !u->name[0] || strlen(u->name) > MAX_USER) {
			snprintf(err, errlen, "auth: users: user %d: a name of 1 to %d characters expected", i + 1, MAX_USER);
			vg_auth_destroy(a);
			return -1;
		}
		/* Only libsodium's argon2 strings verify; anything else would refuse every password silently. */
		if (!u->hash || (strncmp(u->hash, "$argon2id$", 10) != 0 && strncmp(u->hash, "$argon2i$", 9) != 0) ||
		    strlen(u->hash) >= crypto_pwhash_STRBYTES) {
			snprintf(err, errlen,
				 "auth: users: '%s': the hash is not a libsodium password hash ($argon2id$...; "
				 "make one with vigil hash-password)", u->name);
			vg_auth_destroy(a);
			return -1;
		}
		a->users[i].name = strdup(u->name);
		a->users[i].hash = strdup(u->hash);
		a->nusers = i + 1;
		if (!a->users[i].name || !a->users[i].hash) {
			snprintf(err, errlen, "auth: out of memory");
			vg_auth_destroy(a);
			return -1;
		}
		fingerprint(u->hash, a->users[i].fingerprint);
	}
	*out = a;
	return 0;
}

/* Failure table. */

/* The key an address is counted under: an IPv6 client by its /64, IPv4 whole. */
static vg_peer_addr peer_key(const vg_peer_addr *from)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	vg_peer_addr k = *from;
	if (memcmp(k.b, mapped, sizeof mapped) != 0)
		memset(k.b + 8, 0, 8);
	return k;
}

static auth_peer *find_peer(vg_auth *a, const vg_peer_addr *from)
{
	vg_peer_addr k = peer_key(from);
	for (int i = 0; i < VG_AUTH_TABLE_SIZE; i++)
		if (a->peers[i].used && memcmp(a->peers[i].addr.b, k.b, sizeof k.b) == 0)
			return &a->peers[i];
	return NULL;
}

/* The entry of from, made when missing; a full table gives up its least recently seen one. */
static auth_peer *take_peer(vg_auth *a, const vg_peer_addr *from, int64_t now_us)
{
	auth_peer *p = find_peer(a, from);
	if (p)
		return p;
	auth_peer *slot = NULL;
	for (int i = 0; i < VG_AUTH_TABLE_SIZE; i++) {
		auth_peer *e = &a->peers[i];
		if (!e->used) {
			slot = e;
			break;
		}
		if (!slot || e->last_us < slot->last_us)
			slot = e;
	}
	memset(slot, 0, sizeof *slot);
	slot->used = 1;
	slot->addr = peer_key(from);
	slot->window_start_us = now_us;
	slot->last_us = now_us;
	return slot;
}

int vg_auth_tracked(const vg_auth *a)
{
	int n = 0;
	for (int i = 0; i < VG_AUTH_TABLE_SIZE; i++)
		n += a->peers[i].used;
	return n;
}

static int blocked(vg_auth *a, const vg_peer_addr *from, int64_t now_us, int *retry_after_s)
{
	auth_peer *p = find_peer(a, from);
	if (!p || p->blocked_until_us <= now_us)
		return 0;
	/* A clock set back must not hold an address out for longer than a block. */
	if (p->blocked_until_us - now_us > (int64_t)VG_AUTH_BLOCK_S * 1000000)
		p->blocked_until_us = now_us + (int64_t)VG_AUTH_BLOCK_S * 1000000;
	p->last_us = now_us;
	if (retry_after_s)
		*retry_after_s = (int)((p->blocked_until_us - now_us + 999999) / 1000000);
	return 1;
}

static void count_failure(vg_auth *a, const vg_peer_addr *from, int64_t now_us)
{
	auth_peer *p = take_peer(a, from, now_us);
	p->last_us = now_us;
	if (now_us - p->window_start_us > (int64_t)VG_AUTH_WINDOW_S * 1000000 || now_us < p->window_start_us) {
		p->window_start_us = now_us;
		p->failures = 0;
	}
	if (++p->failures >= VG_AUTH_MAX_FAILURES) {
		p->blocked_until_us = now_us + (int64_t)VG_AUTH_BLOCK_S * 1000000;
		p->failures = 0;
		p->window_start_us = now_us;
	}
}

static void count_success(vg_auth *a, const vg_peer_addr *from)
{
	auth_peer *p = find_peer(a, from);
	if (p && p->blocked_until_us == 0)
		memset(p, 0, sizeof *p);
}

/* Credentials. */

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* s starts with the word w (ASCII, any case) followed by at least one space; returns what follows them. */
static const char *after_scheme(const char *s, size_t len, const char *w, size_t *rest)
{
	size_t n = strlen(w);
	if (len <= n || s[n] != ' ')
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)s[i]) != w[i])
			return NULL;
	while (n < len && s[n] == ' ')
		n++;
	*rest = len - n;
	return s + n;
}

static int token_matches(const vg_auth *a, const char *t, size_t len)
{
	if (!a->has_token || len == 0 || len > VG_AUTH_SECRET_MAX)
		return 0;
	unsigned char d[DIGEST_BYTES];
	digest(a, t, len, d);
	return sodium_memcmp(d, a->token_digest, DIGEST_BYTES) == 0;
}

static auth_user *find_user(vg_auth *a, const char *name, size_t len)
{
	for (int i = 0; i < a->nusers; i++)
		if (strlen(a->users[i].name) == len && memcmp(a->users[i].name, name, len) == 0)
			return &a->users[i];
	return NULL;
}

/* Takes one argon2 run from the budget; 0 when none is left. */
static int take_verify(vg_auth *a, int64_t now_us)
{
	if (now_us > a->verify_time_us || now_us < a->verify_time_us - 1000000) {
		a->verify_budget += (double)(now_us - a->verify_time_us) / 1e6 * VG_AUTH_VERIFY_RATE;
		if (a->verify_budget > VG_AUTH_VERIFY_BURST || now_us < a->verify_time_us)
			a->verify_budget = VG_AUTH_VERIFY_BURST;
		a->verify_time_us = now_us;
	}
	if (a->verify_budget < 1)
		return 0;
	a->verify_budget -= 1;
	return 1;
}

/* 1 when pw is u's password, 0 when not, -1 when it cannot be checked now (no argon2 run left). */
static int password_matches(vg_auth *a, auth_user *u, const char *pw, size_t len, int64_t now_us)
{
	if (len > VG_AUTH_SECRET_MAX)
		return 0;
	unsigned char d[DIGEST_BYTES];
	digest(a, pw, len, d);
	if (u->has_verified && sodium_memcmp(d, u->verified, DIGEST_BYTES) == 0)
		return 1;
	if (!take_verify(a, now_us))
		return -1;
	if (crypto_pwhash_str_verify(u->hash, pw, len) != 0)
		return 0;
	memcpy(u->verified, d, DIGEST_BYTES);
	u->has_verified = 1;
	return 1;
}

/* "user:password", base64: 1 when a configured user's password, 0 when not, -1 when it cannot be checked now. */
static int basic_matches(vg_auth *a, const char *b64, size_t len, int64_t now_us)
{
	char buf[MAX_USER + VG_AUTH_SECRET_MAX + 2];
	size_t n = 0;
	if (len > (sizeof buf - 1) / 3 * 4 + 4 ||
	    sodium_base642bin((unsigned char *)buf, sizeof buf - 1, b64, len, NULL, &n, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return 0;
	const char *colon = memchr(buf, ':', n);
	if (!colon)
		return 0;
	auth_user *u = find_user(a, buf, (size_t)(colon - buf));
	int ok = u ? password_matches(a, u, colon + 1, n - (size_t)(colon - buf) - 1, now_us) : 0;
	sodium_memzero(buf, sizeof buf);
	return ok;
}

static int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Form / query decoding ('+' is a space, %XX a byte) into out; -1 when it does not fit or is malformed. */
static int url_decode(const char *s, size_t len, char *out, size_t cap, size_t *outlen)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (i + 2 >= len)
				return -1;
			int hi = hex_value((unsigned char)s[i + 1]), lo = hex_value((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		}
		if (n + 1 >= cap)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	*outlen = n;
	return 0;
}

/*
 * The raw value of parameter name in an &-separated list, or NULL. *count
 * is increased per occurrence, so that a caller can refuse repeats.
 */
static const char *form_value(const char *s, size_t len, const char *name, size_t *vlen, int *count)
{
	const char *found = NULL;
	size_t nlen = strlen(name), i = 0;
	while (i < len) {
		size_t start = i;
		while (i < len && s[i] != '&' && s[i] != ';')
			i++;
		if (i - start > nlen && memcmp(s + start, name, nlen) == 0 && s[start + nlen] == '=') {
			found = s + start + nlen + 1;
			*vlen = i - start - nlen - 1;
			(*count)++;
		}
		i++;
	}
	return found;
}

/* The wall-clock second as the cookie carries it. */
static int64_t seconds(int64_t us)
{
	return us / 1000000;
}

static void session_mac(const vg_auth *a, int64_t expiry, const char *user, size_t ulen,
			const unsigned char fp[DIGEST_BYTES], unsigned char mac[crypto_auth_BYTES])
{
	crypto_auth_hmacsha512256_state st;
	char head[32];
	int n = snprintf(head, sizeof head, "v1|%" PRId64 "|", expiry);
	crypto_auth_hmacsha512256_init(&st, a->session_key, sizeof a->session_key);
	crypto_auth_hmacsha512256_update(&st, (const unsigned char *)head, (size_t)n);
	crypto_auth_hmacsha512256_update(&st, (const unsigned char *)user, ulen);
	crypto_auth_hmacsha512256_update(&st, (const unsigned char *)"|", 1);
	crypto_auth_hmacsha512256_update(&st, fp, DIGEST_BYTES);
	crypto_auth_hmacsha512256_final(&st, mac);
}

/* The fingerprint that a session of user is bound to, or NULL when there is no such user. */
static const unsigned char *session_fingerprint(vg_auth *a, const char *user, size_t ulen)
{
	if (ulen == 0)
		return a->has_token ? a->token_fingerprint : NULL;
	auth_user *u = find_user(a, user, ulen);
	return u ? u->fingerprint : NULL;
}

int vg_auth_session_cookie(vg_auth *a, const char *user, int64_t now_us, char *out, size_t cap)
{
	size_t ulen = strlen(user);
	const unsigned char *fp = session_fingerprint(a, user, ulen);
	if (!fp)
		return -1;
	int64_t expiry = seconds(now_us) + VG_AUTH_SESSION_S;
	unsigned char mac[crypto_auth_BYTES];
	session_mac(a, expiry, user, ulen, fp, mac);
	char user64[sodium_base64_ENCODED_LEN(MAX_USER, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	char mac64[sodium_base64_ENCODED_LEN(crypto_auth_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	sodium_bin2base64(user64, sizeof user64, (const unsigned char *)user, ulen,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_bin2base64(mac64, sizeof mac64, mac, sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	int n = snprintf(out, cap, VG_AUTH_COOKIE "=v1.%" PRId64 ".%s.%s; Max-Age=%d; Path=/; HttpOnly; SameSite=Strict",
			 expiry, user64, mac64, VG_AUTH_SESSION_S);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* One cookie value "v1.EXPIRY.USER.MAC": 1 when it is ours, unexpired and its user still exists. */
static int session_valid(vg_auth *a, const char *v, size_t len, int64_t now_us)
{
	if (len < 3 || memcmp(v, "v1.", 3) != 0 || len > VG_AUTH_COOKIE_MAX)
		return 0;
	const char *end = v + len, *p = v + 3;
	int64_t expiry = 0;
	const char *digits = p;
	while (p < end && *p >= '0' && *p <= '9' && p - digits < 18)
		expiry = expiry * 10 + (*p++ - '0');
	if (p == digits || p == end || *p != '.')
		return 0;
	const char *u64 = ++p;
	while (p < end && *p != '.')
		p++;
	if (p == end)
		return 0;
	size_t u64len = (size_t)(p - u64);
	const char *m64 = p + 1;
	size_t m64len = (size_t)(end - m64);
	char user[MAX_USER + 1];
	unsigned char mac[crypto_auth_BYTES];
	size_t ulen = 0, mlen = 0;
	if (sodium_base642bin((unsigned char *)user, MAX_USER, u64, u64len, NULL, &ulen, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    sodium_base642bin(mac, sizeof mac, m64, m64len, NULL, &mlen, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    mlen != sizeof mac)
		return 0;
	int64_t now = seconds(now_us);
	/* An expiry further away than a session lasts was not written by this server's clock. */
	if (expiry <= now || expiry > now + VG_AUTH_SESSION_S + 300)
		return 0;
	const unsigned char *fp = session_fingerprint(a, user, ulen);
	if (!fp)
		return 0;
	unsigned char want[crypto_auth_BYTES];
	session_mac(a, expiry, user, ulen, fp, want);
	return sodium_memcmp(want, mac, sizeof mac) == 0;
}

/* Any vigil_session cookie in a Cookie header that is valid. */
static int cookie_valid(vg_auth *a, const char *s, size_t len, int64_t now_us)
{
	static const char name[] = VG_AUTH_COOKIE "=";
	size_t i = 0;
	while (i < len) {
		while (i < len && (s[i] == ' ' || s[i] == ';'))
			i++;
		size_t start = i;
		while (i < len && s[i] != ';')
			i++;
		size_t end = i;
		while (end > start && s[end - 1] == ' ')
			end--;
		if (end - start > sizeof name - 1 && memcmp(s + start, name, sizeof name - 1) == 0 &&
		    session_valid(a, s + start + sizeof name - 1, end - start - (sizeof name - 1), now_us))
			return 1;
	}
	return 0;
}

int vg_auth_check(vg_auth *a, const vg_auth_credentials *cred, const vg_peer_addr *from, int64_t now_us,
		  int *retry_after_s)
{
	if (blocked(a, from, now_us, retry_after_s))
		return VG_AUTH_LIMITED;
	int offered = 0, ok = 0;
	if (cred->authorization) {
		size_t rest;
		const char *v;
		offered = 1;
		if ((v = after_scheme(cred->authorization, cred->authorization_len, "bearer", &rest)))
			ok = token_matches(a, v, rest);
		else if ((v = after_scheme(cred->authorization, cred->authorization_len, "basic", &rest)))
			ok = a->nusers > 0 ? basic_matches(a, v, rest, now_us) : 0;
	}
	if (ok < 0) {
		/* Too many password checks across all clients: refused for a second, not counted as a failure. */
		if (retry_after_s)
			*retry_after_s = 1;
		return VG_AUTH_LIMITED;
	}
	if (!ok && cred->query) {
		size_t vlen = 0;
		int count = 0;
		const char *v = form_value(cred->query, cred->query_len, "token", &vlen, &count);
		if (v) {
			char t[VG_AUTH_SECRET_MAX + 1];
			size_t tlen;
			offered = 1;
			ok = url_decode(v, vlen, t, sizeof t, &tlen) == 0 && token_matches(a, t, tlen);
			sodium_memzero(t, sizeof t);
		}
	}
	if (!ok && cred->cookie && cookie_valid(a, cred->cookie, cred->cookie_len, now_us))
		ok = 1;
	if (ok) {
		count_success(a, from);
		return VG_AUTH_OK;
	}
	if (!offered)
		return VG_AUTH_MISSING;
	count_failure(a, from, now_us);
	return VG_AUTH_DENIED;
}

int vg_auth_login(vg_auth *a, const char *body, size_t len, const vg_peer_addr *from, int64_t now_us,
		  char *set_cookie, size_t cap, int *retry_after_s)
{
	if (blocked(a, from, now_us, retry_after_s))
		return VG_AUTH_LIMITED;
	size_t ulen_raw = 0, plen_raw = 0, ulen = 0, plen = 0;
	int ucount = 0, pcount = 0;
	const char *u = form_value(body, len, "user", &ulen_raw, &ucount);
	const char *p = form_value(body, len, "password", &plen_raw, &pcount);
	char user[MAX_USER + 1], pw[VG_AUTH_SECRET_MAX + 1];
	int ok = 0;
	if (ucount <= 1 && pcount == 1 && url_decode(u ? u : "", u ? ulen_raw : 0, user, sizeof user, &ulen) == 0 &&
	    url_decode(p, plen_raw, pw, sizeof pw, &plen) == 0 && plen > 0 && memchr(user, '\0', ulen) == NULL) {
		if (ulen == 0) {
			ok = token_matches(a, pw, plen);
		} else {
			auth_user *au = find_user(a, user, ulen);
			ok = au ? password_matches(a, au, pw, plen, now_us) : 0;
		}
	}
	sodium_memzero(pw, sizeof pw);
	if (ok < 0) {
		if (retry_after_s)
			*retry_after_s = 1;
		return VG_AUTH_LIMITED;
	}
	if (ok && vg_auth_session_cookie(a, ulen ? user : "", now_us, set_cookie, cap) == 0) {
		count_success(a, from);
		return VG_AUTH_OK;
	}
	count_failure(a, from, now_us);
	return VG_AUTH_DENIED;
}

char *vg_auth_login_page(const char *error)
{
	static const char mark[] = "<!--error-->";
	const vg_asset *page = NULL;
	for (const vg_asset *x = vg_assets; x->path; x++)
		if (strcmp(x->path, "/login.html") == 0)
			page = x;
	if (!page)
		return NULL;
	const char *html = (const char *)page->data;
	const char *at = strstr(html, mark);
	char shown[256] = "";
	if (error && at)
		snprintf(shown, sizeof shown, "<p class=\"error\" role=\"alert\">%s</p>", error);
	size_t head = at ? (size_t)(at - html) : page->len;
	size_t tail = at ? page->len - head - (sizeof mark - 1) : 0;
	size_t n = head + strlen(shown) + tail;
	char *out = malloc(n + 1);
	if (!out)
		return NULL;
	memcpy(out, html, head);
	memcpy(out + head, shown, strlen(shown));
	if (at)
		memcpy(out + head + strlen(shown), at + sizeof mark - 1, tail);
	out[n] = '\0';
	return out;
}

int vg_auth_read_token_file(const char *path, char **out, char *err, size_t errlen)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: cannot read the token: %s", path, strerror(errno));
		return -1;
	}
	char buf[VG_AUTH_SECRET_MAX + 2];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	int bad = ferror(f);
	int more = n == sizeof buf - 1 && fgetc(f) != EOF;
	fclose(f);
	if (bad) {
		snprintf(err, errlen, "%s: cannot read the token", path);
		return -1;
	}
	buf[n] = '\0';
	size_t s = 0;
	while (s < n && (buf[s] == ' ' || buf[s] == '\t' || buf[s] == '\r' || buf[s] == '\n'))
		s++;
	while (n > s && (buf[n - 1] == ' ' || buf[n - 1] == '\t' || buf[n - 1] == '\r' || buf[n - 1] == '\n'))
		n--;
	int rc = 0;
	if (n == s) {
		snprintf(err, errlen, "%s: the token file is empty", path);
		rc = -1;
	} else if (more || n - s > VG_AUTH_SECRET_MAX) {
		snprintf(err, errlen, "%s: the token is longer than %d characters", path, VG_AUTH_SECRET_MAX);
		rc = -1;
	} else if (memchr(buf + s, '\0', n - s) || memchr(buf + s, '\n', n - s)) {
		snprintf(err, errlen, "%s: the token must be one line of text", path);
		rc = -1;
	} else if (!(*out = strndup(buf + s, n - s))) {
		snprintf(err, errlen, "%s: out of memory", path);
		rc = -1;
	}
	sodium_memzero(buf, sizeof buf);
	return rc;
}
