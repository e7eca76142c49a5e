#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <unistd.h>

#include "http/access.h"
#include "http/delivery.h"
#include "http/listen.h"
#include "http/peer.h"
#include "test.h"

static int host_ok(const char *host, int loopback_bind, const char *const *allowed, int n)
{
	return vg_http_host_allowed(host, strlen(host), loopback_bind, allowed, n);
}

TEST(host_loopback_bind_accepts_loopback_names_only)
{
	const char *ok[] = { "localhost", "localhost:8080", "LOCALHOST:8080", "localhost.", "127.0.0.1",
			     "127.0.0.1:8080", "127.1.2.3:80", "[::1]", "[::1]:8080" };
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		CHECK_MSG(host_ok(ok[i], 1, NULL, 0), "%s refused", ok[i]);
	/* What a DNS-rebinding page sends: its own name, or another machine's address. */
	const char *bad[] = { "attacker.example", "attacker.example:8080", "localhost.attacker.example",
			      "evil-localhost", "10.0.0.5:8080", "[2001:db8::1]:8080", "", ":8080", "[::1",
			      "0.0.0.0:8080", "127.0.0.1.attacker.example" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_MSG(!host_ok(bad[i], 1, NULL, 0), "%s accepted", bad[i]);
}

TEST(host_allowed_names)
{
	const char *allowed[] = { "cam.example.com", "Vigil.Lan." };
	CHECK(host_ok("cam.example.com", 1, allowed, 2));
	CHECK(host_ok("CAM.example.com:8443", 1, allowed, 2));
	CHECK(host_ok("vigil.lan", 1, allowed, 2));
	CHECK(host_ok("vigil.lan.:80", 1, allowed, 2));
	CHECK(!host_ok("example.com", 1, allowed, 2));
	CHECK(!host_ok("x.cam.example.com", 1, allowed, 2));
	CHECK(host_ok("localhost", 1, allowed, 2));
	const char *any[] = { "*" };
	CHECK(host_ok("whatever.example", 1, any, 1));
}

TEST(host_other_bind)
{
	/* Without a list, a server bound to a LAN address answers to every name it is reached by. */
	CHECK(host_ok("camera-box:8080", 0, NULL, 0));
	CHECK(host_ok("192.168.1.5:8080", 0, NULL, 0));
	/* With a list: the names on it, loopback, and IP literals (which no DNS answer can rebind). */
	const char *allowed[] = { "cam.example.com" };
	CHECK(host_ok("cam.example.com", 0, allowed, 1));
	CHECK(host_ok("192.168.1.5:8080", 0, allowed, 1));
	CHECK(host_ok("[fd00::5]:8080", 0, allowed, 1));
	CHECK(host_ok("localhost:8080", 0, allowed, 1));
	CHECK(!host_ok("attacker.example", 0, allowed, 1));
}

static const char *cors(const char *origin, const char *const *list, int n)
{
	return vg_http_cors_match(origin, origin ? strlen(origin) : 0, list, n);
}

TEST(cors_origins)
{
	CHECK(cors("https://evil.example", NULL, 0) == NULL);
	const char *list[] = { "https://dash.example.com", "http://localhost:3000/" };
	CHECK(cors("https://dash.example.com", list, 2) == list[0]);
	CHECK(cors("HTTPS://Dash.Example.com", list, 2) == list[0]);
	CHECK(cors("http://localhost:3000", list, 2) == list[1]);
	CHECK(cors("https://dash.example.com.evil.example", list, 2) == NULL);
	CHECK(cors("https://dash.example.co", list, 2) == NULL);
	CHECK(cors("http://dash.example.com", list, 2) == NULL);
	CHECK(cors("http://localhost:3001", list, 2) == NULL);
	CHECK(cors("null", list, 2) == NULL);
	CHECK(cors(NULL, list, 2) == NULL);
	const char *any[] = { "*" };
	CHECK(cors("https://anything.example", any, 1) == any[0]);
}

static vg_peer_addr addr(const char *s)
{
	vg_peer_addr a;
	CHECK_MSG(vg_peer_addr_parse(s, strlen(s), &a) == 0, "cannot parse %s", s);
	return a;
}

TEST(peer_addresses)
{
	char buf[VG_PEER_ADDR_STRLEN];
	vg_peer_addr a = addr("192.0.2.7");
	vg_peer_addr_format(&a, buf, sizeof buf);
	CHECK(strcmp(buf, "192.0.2.7") == 0);
	a = addr("[2001:db8::1]");
	vg_peer_addr_format(&a, buf, sizeof buf);
	CHECK(strcmp(buf, "2001:db8::1") == 0);
	vg_peer_addr l = addr("127.9.8.7"), six = addr("::1"), lan = addr("10.0.0.1");
	CHECK(vg_peer_addr_is_loopback(&l));
	CHECK(vg_peer_addr_is_loopback(&six));
	CHECK(!vg_peer_addr_is_loopback(&lan));
	vg_peer_addr junk;
	CHECK(vg_peer_addr_parse("1.2.3", 5, &junk) < 0);
	CHECK(vg_peer_addr_parse("", 0, &junk) < 0);
	CHECK(vg_peer_addr_parse("example.com", 11, &junk) < 0);
	CHECK(vg_peer_addr_parse("1.2.3.4 ", 8, &junk) < 0);
}

TEST(peer_nets)
{
	vg_peer_net n;
	CHECK(vg_peer_net_parse("10.0.0.0/8", &n) == 0);
	vg_peer_addr in = addr("10.200.3.4"), out = addr("11.0.0.1"), v6 = addr("::ffff:10.1.1.1");
	CHECK(vg_peer_net_contains(&n, &in));
	CHECK(!vg_peer_net_contains(&n, &out));
	CHECK(vg_peer_net_contains(&n, &v6));
	CHECK(vg_peer_net_parse("192.168.1.5", &n) == 0);
	vg_peer_addr same = addr("192.168.1.5"), next = addr("192.168.1.6");
	CHECK(vg_peer_net_contains(&n, &same));
	CHECK(!vg_peer_net_contains(&n, &next));
	CHECK(vg_peer_net_parse("fd00::/8", &n) == 0);
	vg_peer_addr ula = addr("fd12::1"), gua = addr("2001:db8::1");
	CHECK(vg_peer_net_contains(&n, &ula));
	CHECK(!vg_peer_net_contains(&n, &gua));
	CHECK(vg_peer_net_parse("10.0.0.0/33", &n) < 0);
	CHECK(vg_peer_net_parse("10.0.0.0/", &n) < 0);
	CHECK(vg_peer_net_parse("10.0.0.0/x", &n) < 0);
	CHECK(vg_peer_net_parse("proxy.lan", &n) < 0);
	CHECK(vg_peer_net_parse("::/0", &n) == 0);
	CHECK(vg_peer_net_contains(&n, &gua));
}

static int forwarded(const char *xff, const vg_peer_net *trusted, int n, char *buf)
{
	vg_peer_addr a;
	if (vg_peer_forwarded_client(xff, strlen(xff), trusted, n, &a) != 0)
		return -1;
	vg_peer_addr_format(&a, buf, VG_PEER_ADDR_STRLEN);
	return 0;
}

TEST(peer_forwarded_for)
{
	vg_peer_net trusted[2];
	CHECK(vg_peer_net_parse("127.0.0.1", &trusted[0]) == 0);
	CHECK(vg_peer_net_parse("10.0.0.0/8", &trusted[1]) == 0);
	char buf[VG_PEER_ADDR_STRLEN];
	CHECK(forwarded("203.0.113.9", trusted, 2, buf) == 0 && strcmp(buf, "203.0.113.9") == 0);
	/* The client may write anything on the left; the entry our proxy added is the rightmost. */
	CHECK(forwarded("6.6.6.6, 203.0.113.9", trusted, 2, buf) == 0 && strcmp(buf, "203.0.113.9") == 0);
	/* A chain of our own proxies is walked through. */
	CHECK(forwarded("198.51.100.4,10.1.2.3 , 127.0.0.1", trusted, 2, buf) == 0 &&
	      strcmp(buf, "198.51.100.4") == 0);
	CHECK(forwarded("[2001:db8::9]", trusted, 2, buf) == 0 && strcmp(buf, "2001:db8::9") == 0);
	CHECK(forwarded("unknown", trusted, 2, buf) < 0);
	CHECK(forwarded("", trusted, 2, buf) < 0);
	CHECK(forwarded("10.0.0.1, 127.0.0.1", trusted, 2, buf) < 0);
	CHECK(forwarded("203.0.113.9, garbage", trusted, 2, buf) < 0);
}

TEST(peer_table_counts)
{
	vg_peer_table *t = vg_peer_table_create();
	CHECK(t);
	vg_peer_addr a = addr("192.0.2.1"), b = addr("192.0.2.2");
	vg_peer *pa = vg_peer_get(t, &a);
	CHECK(pa && vg_peer_get(t, &a) == pa);
	pa->conns = 2;
	vg_peer *pb = vg_peer_get(t, &b);
	CHECK(pb && pb != pa);
	CHECK(vg_peer_table_size(t) == 2);
	vg_peer_put(t, pb);  /* all counts zero: freed */
	CHECK(vg_peer_table_size(t) == 1);
	vg_peer_put(t, pa);  /* still counted: kept */
	CHECK(vg_peer_table_size(t) == 1);
	pa->conns = 0;
	pa->rejecting = 1;
	vg_peer_put(t, pa);
	CHECK(vg_peer_table_size(t) == 1);
	pa->rejecting = 0;
	vg_peer_put(t, pa);
	CHECK(vg_peer_table_size(t) == 0);
	/* Many addresses share buckets. */
	for (int i = 0; i < 5000; i++) {
		vg_peer_addr x = { { 0 } };
		x.b[14] = (uint8_t)(i >> 8);
		x.b[15] = (uint8_t)i;
		vg_peer *p = vg_peer_get(t, &x);
		CHECK(p);
		p->conns = 1;
	}
	CHECK(vg_peer_table_size(t) == 5000);
	vg_peer_table_destroy(t);
}

TEST(delivery_whole_messages)
{
	vg_delivery d;
	vg_delivery_init(&d, 0);
	vg_delivery_queued(&d, 100, 0, 0);          /* the response head */
	vg_delivery_queued(&d, 1000, 1, 0);         /* a frame ending at 1100 */
	CHECK(vg_delivery_waiting_us(&d, 5) == 5);
	vg_delivery_update(&d, 1099, 10);           /* one byte short */
	CHECK(d.completed == 0);
	vg_delivery_update(&d, 1100, 20);
	CHECK(d.completed == 1 && d.last_complete_us == 20);
	CHECK(vg_delivery_waiting_us(&d, 30) == 0); /* nothing pending */
	vg_delivery_queued(&d, 1000, 1, 40);
	vg_delivery_queued(&d, 1000, 1, 50);
	/* A client that takes a few bytes a second stays "waiting" since the last whole frame. */
	vg_delivery_update(&d, 1500, 1000000);
	CHECK(d.completed == 1);
	CHECK(vg_delivery_waiting_us(&d, 11000040) == 11000000);
	vg_delivery_update(&d, 3100, 12000000);
	CHECK(d.completed == 3);
}

TEST(delivery_ring_merges_without_losing_count)
{
	vg_delivery d;
	vg_delivery_init(&d, 0);
	for (int i = 0; i < 3 * VG_DELIVERY_RING; i++)
		vg_delivery_queued(&d, 10, 1, i);
	CHECK(d.n == VG_DELIVERY_RING);
	vg_delivery_update(&d, 10 * (VG_DELIVERY_RING - 1), 100);
	CHECK(d.completed == VG_DELIVERY_RING - 1);
	vg_delivery_update(&d, d.queued, 200);
	CHECK(d.completed == 3 * VG_DELIVERY_RING);
	CHECK(d.n == 0);
}

TEST(delivery_rate_floor)
{
	vg_delivery d;
	vg_delivery_init(&d, 0);
	uint64_t bytes = 0;
	/* 25 frames offered per second for 10 s, the client completes 5 a second: below a floor of 10. */
	for (int i = 0; i < 250; i++) {
		vg_delivery_offered(&d);
		if (i % 5 == 0) {
			vg_delivery_queued(&d, 1000, 1, i * 40000);
			bytes += 1000;
			vg_delivery_update(&d, bytes, i * 40000 + 1000);
		}
	}
	vg_delivery_check_rate(&d, 9999999, 10000000, 10);
	CHECK(d.last_rate < 0 && !d.slow);  /* the window is not over yet */
	vg_delivery_check_rate(&d, 10000000, 10000000, 10);
	CHECK(d.last_rate == 5 && d.last_offered_rate == 25);
	CHECK(d.slow);
	/* The floor never asks more than half the offered rate: at 2 frames/s offered, 1/s is enough. */
	vg_delivery_init(&d, 0);
	for (int i = 0; i < 20; i++)
		vg_delivery_offered(&d);
	for (int i = 0; i < 10; i++)
		vg_delivery_queued(&d, 10, 1, 0);
	vg_delivery_update(&d, 100, 1);
	vg_delivery_check_rate(&d, 10000000, 10000000, 10);
	CHECK(!d.slow);
	/* No floor: never slow. */
	vg_delivery_init(&d, 0);
	vg_delivery_offered(&d);
	vg_delivery_check_rate(&d, 10000000, 10000000, 0);
	CHECK(!d.slow);
	/* Nothing offered (the source stopped): not slow either. */
	vg_delivery_init(&d, 0);
	vg_delivery_check_rate(&d, 10000000, 10000000, 1);
	CHECK(!d.slow);
}

static void check_listen(const char *spec, int want_loopback, const char *want_prefix)
{
	char address[VG_HTTP_ADDRESS_LEN], err[256], want[64];
	int port = -1, loopback = -1;
	int fd = vg_http_listen(spec, &port, &loopback, address, sizeof address, err, sizeof err);
	if (fd == -EAFNOSUPPORT || fd == -EADDRNOTAVAIL)
		return;  /* no IPv6 here */
	CHECK_MSG(fd >= 0, "%s: %s", spec, err);
	CHECK(port > 0);
	CHECK_MSG(loopback == want_loopback, "%s: loopback %d", spec, loopback);
	snprintf(want, sizeof want, "%s:%d", want_prefix, port);
	CHECK_MSG(strcmp(address, want) == 0, "%s: bound %s, expected %s", spec, address, want);
	close(fd);
}

TEST(listen_forms)
{
	/* A port alone is loopback: what people type to "just run it" must not expose the camera. */
	check_listen("0", 1, "127.0.0.1");
	check_listen("localhost:0", 1, "127.0.0.1");
	check_listen("127.0.0.1:0", 1, "127.0.0.1");
	check_listen("[::1]:0", 1, "[::1]");
	check_listen(":0", 0, "0.0.0.0");
	check_listen("0.0.0.0:0", 0, "0.0.0.0");
	const char *bad[] = { "", "host.example:80", "1.2.3:80", "[::1]80", "127.0.0.1:", "127.0.0.1:99999",
			      "127.0.0.1:8x", "::1:80", "[nope]:80" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char address[VG_HTTP_ADDRESS_LEN], err[256] = "";
		int port, loopback;
		CHECK_MSG(vg_http_listen(bad[i], &port, &loopback, address, sizeof address, err, sizeof err) == -EINVAL,
			  "%s accepted", bad[i]);
		CHECK(strstr(err, "invalid listen address") != NULL);
	}
}

TEST_SUITE(http_access, TEST_ENTRY(listen_forms), TEST_ENTRY(host_loopback_bind_accepts_loopback_names_only), TEST_ENTRY(host_allowed_names),
	   TEST_ENTRY(host_other_bind), TEST_ENTRY(cors_origins), TEST_ENTRY(peer_addresses), TEST_ENTRY(peer_nets),
	   TEST_ENTRY(peer_forwarded_for), TEST_ENTRY(peer_table_counts), TEST_ENTRY(delivery_whole_messages),
	   TEST_ENTRY(delivery_ring_merges_without_losing_count), TEST_ENTRY(delivery_rate_floor));
