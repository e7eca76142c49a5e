#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "http/auth.h"
#include "test.h"

#define T0 ((int64_t)1800000000 * 1000000)  /* a wall-clock time in microseconds */
#define SEC ((int64_t)1000000)

/* A libsodium hash of pw at the lowest cost, so that the tests stay fast. */
static char *quick_hash(const char *pw)
{
	static char hashes[4][crypto_pwhash_STRBYTES];
	static int next;
	CHECK(sodium_init() >= 0);
	char *h = hashes[next++ % 4];
	CHECK(crypto_pwhash_str(h, pw, strlen(pw), crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN) == 0);
	return h;
}

static vg_config_user users[2];

/* Token "tok-123", users alice (wonderland) and bob (builder). */
static vg_auth *make_auth(const char *secret)
{
	users[0] = (vg_config_user){ "alice", quick_hash("wonderland") };
	users[1] = (vg_config_user){ "bob", quick_hash("builder") };
	vg_config_auth cfg = { .token = "tok-123", .users = users, .nusers = 2, .session_secret = secret };
	vg_auth *a = NULL;
	char err[256] = "";
	CHECK_MSG(vg_auth_create(&a, &cfg, err, sizeof err) == 0, "%s", err);
	CHECK(a != NULL);
	return a;
}

static vg_peer_addr addr(const char *s)
{
	vg_peer_addr p;
	CHECK(vg_peer_addr_parse(s, strlen(s), &p) == 0);
	return p;
}

static int check_header(vg_auth *a, const char *authorization, const char *from, int64_t now)
{
	vg_auth_credentials c = { authorization, authorization ? strlen(authorization) : 0, NULL, 0, NULL, 0 };
	vg_peer_addr p = addr(from);
	int retry = 0;
	return vg_auth_check(a, &c, &p, now, &retry);
}

static int check_query(vg_auth *a, const char *query, const char *from, int64_t now)
{
	vg_auth_credentials c = { NULL, 0, NULL, 0, query, strlen(query) };
	vg_peer_addr p = addr(from);
	return vg_auth_check(a, &c, &p, now, NULL);
}

static int check_cookie(vg_auth *a, const char *cookie, const char *from, int64_t now)
{
	vg_auth_credentials c = { NULL, 0, cookie, strlen(cookie), NULL, 0 };
	vg_peer_addr p = addr(from);
	return vg_auth_check(a, &c, &p, now, NULL);
}

static const char *basic(const char *user_pw)
{
	static char out[256];
	strcpy(out, "Basic ");
	sodium_bin2base64(out + 6, sizeof out - 6, (const unsigned char *)user_pw, strlen(user_pw),
			  sodium_base64_VARIANT_ORIGINAL);
	return out;
}

/* The cookie's name=value from a Set-Cookie value. */
static const char *cookie_pair(const char *set_cookie)
{
	static char out[VG_AUTH_COOKIE_MAX];
	snprintf(out, sizeof out, "%s", set_cookie);
	char *semi = strchr(out, ';');
	CHECK(semi != NULL);
	*semi = '\0';
	return out;
}

TEST(auth_off_without_token_or_users)
{
	vg_auth *a = (vg_auth *)1;
	char err[128];
	CHECK(vg_auth_create(&a, NULL, err, sizeof err) == 0 && a == NULL);
	vg_config_auth empty = { .token = "", .session_secret = "s" };
	a = (vg_auth *)1;
	CHECK(vg_auth_create(&a, &empty, err, sizeof err) == 0 && a == NULL);
}

TEST(auth_refuses_a_bad_hash)
{
	vg_config_user u = { "carol", "$6$salt$notsodium" };
	vg_config_auth cfg = { .users = &u, .nusers = 1 };
	vg_auth *a = NULL;
	char err[256] = "";
	CHECK(vg_auth_create(&a, &cfg, err, sizeof err) == -1 && a == NULL);
	CHECK_MSG(strstr(err, "carol") && strstr(err, "hash-password"), "%s", err);
	vg_config_user nameless = { "", quick_hash("x") };
	cfg.users = &nameless;
	CHECK(vg_auth_create(&a, &cfg, err, sizeof err) == -1);
}

TEST(auth_token_header_and_query)
{
	vg_auth *a = make_auth(NULL);
	CHECK(check_header(a, "Bearer tok-123", "10.0.0.1", T0) == VG_AUTH_OK);
	CHECK(check_header(a, "bearer   tok-123", "10.0.0.1", T0) == VG_AUTH_OK);
	CHECK(check_header(a, NULL, "10.0.0.1", T0) == VG_AUTH_MISSING);
	CHECK(check_header(a, "Bearer tok-12", "10.0.0.2", T0) == VG_AUTH_DENIED);
	CHECK(check_header(a, "Bearer tok-1234", "10.0.0.2", T0) == VG_AUTH_DENIED);
	CHECK(check_header(a, "Bearer ", "10.0.0.2", T0) == VG_AUTH_DENIED);
	CHECK(check_header(a, "Token tok-123", "10.0.0.2", T0) == VG_AUTH_DENIED);
	CHECK(check_query(a, "token=tok-123", "10.0.0.1", T0) == VG_AUTH_OK);
	CHECK(check_query(a, "camera=door&token=tok%2D123&x=1", "10.0.0.1", T0) == VG_AUTH_OK);
	CHECK(check_query(a, "mytoken=tok-123", "10.0.0.1", T0) == VG_AUTH_MISSING);
	CHECK(check_query(a, "a=1", "10.0.0.1", T0) == VG_AUTH_MISSING);
	CHECK(check_query(a, "token=nope", "10.0.0.3", T0) == VG_AUTH_DENIED);
	CHECK(check_query(a, "token=tok-123%", "10.0.0.3", T0) == VG_AUTH_DENIED);
	CHECK(check_query(a, "token=", "10.0.0.3", T0) == VG_AUTH_DENIED);
	/* A wrong header with a good query token still lets in: any one credential is enough. */
	vg_auth_credentials both = { "Bearer wrong", 12, NULL, 0, "token=tok-123", 13 };
	vg_peer_addr p = addr("10.0.0.4");
	CHECK(vg_auth_check(a, &both, &p, T0, NULL) == VG_AUTH_OK);
	vg_auth_destroy(a);
}

TEST(auth_basic_users)
{
	vg_auth *a = make_auth(NULL);
	CHECK(check_header(a, basic("alice:wonderland"), "10.0.1.1", T0) == VG_AUTH_OK);
	/* Again: now from the verified-password digest, which must still tell passwords apart. */
	CHECK(check_header(a, basic("alice:wonderland"), "10.0.1.1", T0) == VG_AUTH_OK);
	CHECK(check_header(a, basic("alice:wonderlanD"), "10.0.1.2", T0) == VG_AUTH_DENIED);
	CHECK(check_header(a, basic("alice:builder"), "10.0.1.2", T0) == VG_AUTH_DENIED);
	CHECK(check_header(a, basic("bob:builder"), "10.0.1.1", T0) == VG_AUTH_OK);
	CHECK(check_header(a, basic("mallory:wonderland"), "10.0.1.3", T0) == VG_AUTH_DENIED);
	CHECK(check_header(a, basic("alice"), "10.0.1.3", T0) == VG_AUTH_DENIED);
	CHECK(check_header(a, basic(":tok-123"), "10.0.1.4", T0) == VG_AUTH_DENIED);
	CHECK(check_header(a, "Basic !!!notbase64", "10.0.1.4", T0) == VG_AUTH_DENIED);
	vg_auth_destroy(a);
}

TEST(auth_session_cookie)
{
	vg_auth *a = make_auth(NULL);
	char sc[VG_AUTH_COOKIE_MAX];
	CHECK(vg_auth_session_cookie(a, "alice", T0, sc, sizeof sc) == 0);
	CHECK_MSG(strncmp(sc, "vigil_session=", 14) == 0 && strstr(sc, "; HttpOnly") && strstr(sc, "; SameSite=Strict") &&
			  strstr(sc, "; Path=/") && strstr(sc, "; Max-Age=43200"),
		  "%s", sc);
	char cookie[VG_AUTH_COOKIE_MAX + 32];
	snprintf(cookie, sizeof cookie, "theme=dark; %s; other=1", cookie_pair(sc));
	CHECK(check_cookie(a, cookie, "10.0.2.1", T0 + 5 * SEC) == VG_AUTH_OK);
	CHECK(check_cookie(a, cookie, "10.0.2.1", T0 + (VG_AUTH_SESSION_S - 1) * SEC) == VG_AUTH_OK);
	/* Expired. */
	CHECK(check_cookie(a, cookie, "10.0.2.1", T0 + VG_AUTH_SESSION_S * SEC) == VG_AUTH_MISSING);
	/* Tampered: every single character of the value changed in turn. */
	const char *pair = cookie_pair(sc);
	size_t n = strlen(pair);
	for (size_t i = strlen("vigil_session=v1."); i < n; i++) {
		char t[VG_AUTH_COOKIE_MAX];
		strcpy(t, pair);
		t[i] = t[i] == 'A' ? 'B' : 'A';
		CHECK_MSG(check_cookie(a, t, "10.0.2.2", T0 + SEC) == VG_AUTH_MISSING, "accepted %s", t);
	}
	/* A user's cookie whose name was swapped for another's. */
	char bob[VG_AUTH_COOKIE_MAX];
	CHECK(vg_auth_session_cookie(a, "bob", T0, bob, sizeof bob) == 0);
	CHECK(check_cookie(a, cookie_pair(bob), "10.0.2.1", T0 + SEC) == VG_AUTH_OK);
	CHECK(vg_auth_session_cookie(a, "mallory", T0, bob, sizeof bob) == -1);
	/* The token's holder. */
	CHECK(vg_auth_session_cookie(a, "", T0, bob, sizeof bob) == 0);
	CHECK(check_cookie(a, cookie_pair(bob), "10.0.2.1", T0 + SEC) == VG_AUTH_OK);
	/* Bad cookies are not counted: a page's many requests with a stale one must not lock a browser out. */
	for (int i = 0; i < 20; i++)
		CHECK(check_cookie(a, "vigil_session=v1.1.AA.AA", "10.0.2.3", T0) == VG_AUTH_MISSING);
	CHECK(check_header(a, "Bearer tok-123", "10.0.2.3", T0) == VG_AUTH_OK);
	vg_auth_destroy(a);
}

TEST(auth_session_secret)
{
	/* The same secret signs for another process (a restart); without one, every process has its own key. */
	vg_auth *a = make_auth("a shared secret"), *b = make_auth("a shared secret");
	vg_auth *c = make_auth(NULL), *d = make_auth(NULL);
	char sc[VG_AUTH_COOKIE_MAX];
	CHECK(vg_auth_session_cookie(a, "", T0, sc, sizeof sc) == 0);
	CHECK(check_cookie(b, cookie_pair(sc), "10.0.3.1", T0 + SEC) == VG_AUTH_OK);
	CHECK(vg_auth_session_cookie(c, "", T0, sc, sizeof sc) == 0);
	CHECK(check_cookie(c, cookie_pair(sc), "10.0.3.1", T0 + SEC) == VG_AUTH_OK);
	CHECK(check_cookie(d, cookie_pair(sc), "10.0.3.1", T0 + SEC) == VG_AUTH_MISSING);
	vg_auth_destroy(a);
	vg_auth_destroy(b);
	vg_auth_destroy(c);
	vg_auth_destroy(d);
}

TEST(auth_login_form)
{
	vg_auth *a = make_auth(NULL);
	vg_peer_addr p = addr("10.0.4.1");
	char sc[VG_AUTH_COOKIE_MAX];
	int retry = 0;
	static const char good[] = "user=alice&password=wonderland";
	CHECK(vg_auth_login(a, good, strlen(good), &p, T0, sc, sizeof sc, &retry) == VG_AUTH_OK);
	CHECK(check_cookie(a, cookie_pair(sc), "10.0.4.9", T0 + SEC) == VG_AUTH_OK);
	static const char token[] = "user=&password=tok%2d123";
	CHECK(vg_auth_login(a, token, strlen(token), &p, T0, sc, sizeof sc, &retry) == VG_AUTH_OK);
	static const char spaced[] = "password=tok-123";
	CHECK(vg_auth_login(a, spaced, strlen(spaced), &p, T0, sc, sizeof sc, &retry) == VG_AUTH_OK);
	static const char *const bad[] = {
		"user=alice&password=wonderlan", "user=alice&password=", "user=alice", "", "user=bob&password=wonderland",
		"user=alice&password=wonderland&password=x", "user=&password=nope",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		vg_peer_addr each = addr(i % 2 ? "10.0.4.3" : "10.0.4.4");
		CHECK_MSG(vg_auth_login(a, bad[i], strlen(bad[i]), &each, T0, sc, sizeof sc, &retry) == VG_AUTH_DENIED,
			  "%s", bad[i]);
	}
	vg_auth_destroy(a);
}

TEST(auth_rate_limit)
{
	vg_auth *a = make_auth(NULL);
	for (int i = 0; i < VG_AUTH_MAX_FAILURES; i++)
		CHECK(check_header(a, "Bearer wrong", "192.0.2.7", T0 + i * SEC) == VG_AUTH_DENIED);
	/* Limited now, even with the right token; others are not. */
	vg_auth_credentials c = { "Bearer tok-123", 14, NULL, 0, NULL, 0 };
	vg_peer_addr p = addr("192.0.2.7");
	int retry = 0;
	CHECK(vg_auth_check(a, &c, &p, T0 + 5 * SEC, &retry) == VG_AUTH_LIMITED);
	CHECK_MSG(retry >= VG_AUTH_BLOCK_S - 1 && retry <= VG_AUTH_BLOCK_S, "retry %d", retry);
	CHECK(vg_auth_check(a, &c, &p, T0 + 30 * SEC, &retry) == VG_AUTH_LIMITED);
	CHECK_MSG(retry >= 33 && retry <= 35, "retry %d", retry);
	static const char form[] = "user=alice&password=wonderland";
	char sc[VG_AUTH_COOKIE_MAX];
	CHECK(vg_auth_login(a, form, strlen(form), &p, T0 + 31 * SEC, sc, sizeof sc, &retry) == VG_AUTH_LIMITED);
	CHECK(check_header(a, "Bearer tok-123", "192.0.2.8", T0 + 5 * SEC) == VG_AUTH_OK);
	/* The block ends VG_AUTH_BLOCK_S after the last failure. */
	CHECK(vg_auth_check(a, &c, &p, T0 + (4 + VG_AUTH_BLOCK_S + 1) * SEC, &retry) == VG_AUTH_OK);

	/* Failures spread wider than the window never add up to a block. */
	for (int i = 0; i < 3 * VG_AUTH_MAX_FAILURES; i++)
		CHECK(check_header(a, "Bearer wrong", "192.0.2.9", T0 + (int64_t)i * (VG_AUTH_WINDOW_S / 4 + 1) * SEC) ==
		      VG_AUTH_DENIED);
	/* Missing credentials are never counted. */
	for (int i = 0; i < 3 * VG_AUTH_MAX_FAILURES; i++)
		CHECK(check_header(a, NULL, "192.0.2.10", T0) == VG_AUTH_MISSING);
	CHECK(check_header(a, "Bearer tok-123", "192.0.2.10", T0) == VG_AUTH_OK);
	/* A success clears earlier failures. */
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < VG_AUTH_MAX_FAILURES - 1; i++)
			CHECK(check_header(a, "Bearer wrong", "192.0.2.11", T0) == VG_AUTH_DENIED);
		CHECK(check_header(a, "Bearer tok-123", "192.0.2.11", T0) == VG_AUTH_OK);
	}
	/* An IPv6 client counts by its /64. */
	for (int i = 0; i < VG_AUTH_MAX_FAILURES; i++) {
		char s[64];
		snprintf(s, sizeof s, "2001:db8:1:2::%x", i + 1);
		CHECK(check_header(a, "Bearer wrong", s, T0) == VG_AUTH_DENIED);
	}
	CHECK(check_header(a, "Bearer tok-123", "2001:db8:1:2:ffff::9", T0) == VG_AUTH_LIMITED);
	CHECK(check_header(a, "Bearer tok-123", "2001:db8:1:3::1", T0) == VG_AUTH_OK);
	vg_auth_destroy(a);
}

TEST(auth_table_bounded)
{
	vg_auth *a = make_auth(NULL);
	/* Block one address, then fill the table with others: it stays until it is the oldest. */
	for (int i = 0; i < VG_AUTH_MAX_FAILURES; i++)
		CHECK(check_header(a, "Bearer wrong", "198.51.100.1", T0) == VG_AUTH_DENIED);
	for (int i = 1; i < VG_AUTH_TABLE_SIZE; i++) {
		char s[32];
		snprintf(s, sizeof s, "10.%d.%d.1", i / 250, i % 250);
		CHECK(check_header(a, "Bearer wrong", s, T0 + i) == VG_AUTH_DENIED);
	}
	CHECK(vg_auth_tracked(a) == VG_AUTH_TABLE_SIZE);
	CHECK(check_header(a, "Bearer tok-123", "198.51.100.1", T0 + 1000) == VG_AUTH_LIMITED);
	/* That check touched it: the oldest is now 10.0.1.1, which the next new address evicts. */
	CHECK(check_header(a, "Bearer wrong", "203.0.113.1", T0 + 1001) == VG_AUTH_DENIED);
	CHECK(vg_auth_tracked(a) == VG_AUTH_TABLE_SIZE);
	CHECK(check_header(a, "Bearer tok-123", "198.51.100.1", T0 + 1002) == VG_AUTH_LIMITED);
	/* Thousands of addresses later the table is still bounded, and the blocked one was evicted. */
	for (int i = 0; i < 4000; i++) {
		char s[32];
		snprintf(s, sizeof s, "172.16.%d.%d", i / 250, i % 250);
		CHECK(check_header(a, "Bearer wrong", s, T0 + 2000 + i) == VG_AUTH_DENIED);
		CHECK(vg_auth_tracked(a) <= VG_AUTH_TABLE_SIZE);
	}
	CHECK(check_header(a, "Bearer tok-123", "198.51.100.1", T0 + 9000) == VG_AUTH_OK);
	vg_auth_destroy(a);
}

TEST(auth_verify_budget)
{
	vg_auth *a = make_auth(NULL);
	CHECK(check_header(a, basic("alice:wonderland"), "10.9.0.1", T0) == VG_AUTH_OK);
	/* Wrong passwords from many addresses at once: each costs an argon2 run until the budget is spent. */
	int denied = 0, limited = 0;
	for (int i = 0; i < 3 * VG_AUTH_VERIFY_BURST; i++) {
		char from[32];
		snprintf(from, sizeof from, "10.9.1.%d", i + 1);
		vg_auth_credentials c = { basic("bob:guess"), strlen(basic("bob:guess")), NULL, 0, NULL, 0 };
		vg_peer_addr p = addr(from);
		int retry = 0;
		int rc = vg_auth_check(a, &c, &p, T0, &retry);
		if (rc == VG_AUTH_DENIED)
			denied++;
		else if (rc == VG_AUTH_LIMITED && retry == 1)
			limited++;
	}
	CHECK_MSG(denied == VG_AUTH_VERIFY_BURST - 1 && limited == 2 * VG_AUTH_VERIFY_BURST + 1, "%d denied, %d limited",
		  denied, limited);
	/* Nothing that needs no argon2 run is refused meanwhile, and a refusal is no failure of the address. */
	CHECK(check_header(a, basic("alice:wonderland"), "10.9.1.30", T0) == VG_AUTH_OK);
	CHECK(check_header(a, "Bearer tok-123", "10.9.1.30", T0) == VG_AUTH_OK);
	static const char form[] = "user=bob&password=builder";
	char sc[VG_AUTH_COOKIE_MAX];
	vg_peer_addr p = addr("10.9.2.1");
	int retry = 0;
	CHECK(vg_auth_login(a, form, strlen(form), &p, T0, sc, sizeof sc, &retry) == VG_AUTH_LIMITED && retry == 1);
	/* A second later the budget has grown by the rate. */
	CHECK(vg_auth_login(a, form, strlen(form), &p, T0 + SEC, sc, sizeof sc, &retry) == VG_AUTH_OK);
	vg_auth_destroy(a);
}

TEST(auth_token_file)
{
	char dir[] = "/tmp/vigil-auth-XXXXXX", path[128], err[256];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/token", dir);
	char *tok = NULL;
	CHECK(vg_auth_read_token_file(path, &tok, err, sizeof err) == -1 && tok == NULL);
	CHECK_MSG(strstr(err, path) != NULL, "%s", err);
	FILE *f = fopen(path, "w");
	fputs("  \n", f);
	fclose(f);
	CHECK(vg_auth_read_token_file(path, &tok, err, sizeof err) == -1);
	CHECK_MSG(strstr(err, path) && strstr(err, "empty"), "%s", err);
	f = fopen(path, "w");
	fputs("  abc-DEF_123\r\n\n", f);
	fclose(f);
	CHECK(vg_auth_read_token_file(path, &tok, err, sizeof err) == 0);
	CHECK(strcmp(tok, "abc-DEF_123") == 0);
	free(tok);
	f = fopen(path, "w");
	fputs("two\nlines\n", f);
	fclose(f);
	CHECK(vg_auth_read_token_file(path, &tok, err, sizeof err) == -1);
	f = fopen(path, "w");
	for (int i = 0; i < VG_AUTH_SECRET_MAX + 1; i++)
		fputc('x', f);
	fclose(f);
	CHECK(vg_auth_read_token_file(path, &tok, err, sizeof err) == -1);
	CHECK_MSG(strstr(err, "longer"), "%s", err);
	unlink(path);
	rmdir(dir);
}

TEST(auth_login_page)
{
	char *page = vg_auth_login_page(NULL);
	CHECK(page && strstr(page, "<form method=\"post\" action=\"/login\"") && strstr(page, "name=\"password\""));
	CHECK(!strstr(page, "class=\"error\""));
	free(page);
	page = vg_auth_login_page("Wrong user name, password or token.");
	CHECK(page && strstr(page, "<p class=\"error\" role=\"alert\">Wrong user name, password or token.</p>"));
	free(page);
}

TEST_SUITE(auth,
	   TEST_ENTRY(auth_off_without_token_or_users),
	   TEST_ENTRY(auth_refuses_a_bad_hash),
	   TEST_ENTRY(auth_token_header_and_query),
	   TEST_ENTRY(auth_basic_users),
	   TEST_ENTRY(auth_session_cookie),
	   TEST_ENTRY(auth_session_secret),
	   TEST_ENTRY(auth_login_form),
	   TEST_ENTRY(auth_rate_limit),
	   TEST_ENTRY(auth_table_bounded),
	   TEST_ENTRY(auth_verify_budget),
	   TEST_ENTRY(auth_token_file),
	   TEST_ENTRY(auth_login_page));
