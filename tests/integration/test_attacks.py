"""The attacks an outside probe made on vigil (issue 10), replayed against the real binary.

Reading the camera from another site's page (CORS), DNS rebinding (Host), a port alone that bound every
interface, slow readers holding every viewer slot, trickling readers just fast enough not to stall, and
one address holding every connection. Each attack on availability first measures a well-behaved
client's frame rate with no attack (the baseline), then requires that a new viewer is served during
the attack and that the well-behaved client keeps at least 80% of its baseline rate.

Clients come from several addresses in 127.0.0.0/8 (sockets bound before connecting), so the
per-address limits can be told apart from the global ones. Every loop is bounded in time and count,
and all traffic stays on loopback.
"""

import socket
import sys
import threading
import time
import unittest

import vigil_harness as h

SOURCE = "lavfi:testsrc=size=320x240:rate=25"
BASELINE_S = 3.0
ENDPOINTS = ("/", "/video_feed", "/snapshot.jpg", "/events", "/api/stats", "/metrics", "/healthz")


def head_of(port, path, headers="", host=None, source=None):
    """Status and headers of a GET, reading only the response head (streams never end)."""
    host = host or "127.0.0.1:%d" % port
    with h.connect(port, source=source) as s:
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (path, host, headers)).encode("latin-1"))
        buf = b""
        deadline = time.monotonic() + 5
        while b"\r\n\r\n" not in buf and time.monotonic() < deadline:
            d = s.recv(65536)
            if not d:
                break
            buf += d
    head = buf.split(b"\r\n\r\n", 1)[0]
    status, _, hdrs = h.parse_head(head)
    return status, hdrs


class Readers(threading.Thread):
    """n stream clients in one thread, each reading at most `rate` bytes a second, from the given
    source addresses in turn. Records which were answered 200 and when the server closed each."""

    TICK = 0.1

    def __init__(self, port, n, rate, sources, path="/video_feed", rcvbuf=None):
        super().__init__(daemon=True)
        self.socks = []
        self.first = {}
        self.closed_at = {}
        self.rate = rate
        self.stop_event = threading.Event()
        self.t0 = time.monotonic()
        for i in range(n):
            s = socket.socket()
            if rcvbuf:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            s.bind((sources[i % len(sources)], 0))
            s.settimeout(5)
            s.connect(("127.0.0.1", port))
            s.sendall(("GET %s HTTP/1.1\r\nHost: localhost:%d\r\n\r\n" % (path, port)).encode())
            s.setblocking(False)
            self.socks.append(s)
            self.first[s] = b""

    def run(self):
        budget = max(1, int(self.rate * self.TICK))
        while not self.stop_event.is_set():
            for s in self.socks:
                if s in self.closed_at:
                    continue
                try:
                    d = s.recv(budget)
                except BlockingIOError:
                    continue
                except OSError:
                    d = b""
                if not d:
                    self.closed_at[s] = time.monotonic() - self.t0
                    continue
                if len(self.first[s]) < 12:
                    self.first[s] += d
            self.stop_event.wait(self.TICK)

    def accepted(self):
        return sum(1 for v in self.first.values() if v.startswith(b"HTTP/1.1 200"))

    def stop(self):
        self.stop_event.set()
        self.join(5)
        for s in self.socks:
            s.close()


class AttackTestCase(h.VigilTestCase):
    def start_good_client(self, v):
        """A well-behaved viewer; returns it with its baseline rate (parts per second with no attack)."""
        good = h.BackgroundMjpeg(v.port)
        good.start()
        self.assertTrue(good.started_ok.wait(5))
        self.assertIsNone(good.error)
        self.addCleanup(good.stop)
        time.sleep(0.5)
        t0 = time.time()
        time.sleep(BASELINE_S)
        base = good.count_between(t0, time.time()) / BASELINE_S
        self.assertGreater(base, 10, "the baseline itself is only %.1f fps" % base)
        return good, base

    def check_good_client(self, good, base, t0, t1, what):
        self.assertIsNone(good.error, "the good client failed during %s: %r" % (what, good.error))
        rate = good.count_between(t0, t1) / (t1 - t0)
        print("\n  %s: good client %.1f fps during the attack, %.1f before" % (what, rate, base),
              file=sys.stderr, end=" ")
        self.assertGreaterEqual(rate, 0.8 * base, "the good client fell to %.1f fps (baseline %.1f) during %s"
                                % (rate, base, what))

    def new_viewer_served(self, v, source, within):
        """Polls as a new viewer from source until it gets a frame; returns the seconds it took, or None."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < within:
            try:
                with h.MjpegClient(v.port, timeout=3, source=source) as c:
                    if c.status == 200:
                        c.next_part(timeout=3)
                        return time.monotonic() - t0
            except (h.ProtocolError, OSError):
                pass
            time.sleep(0.5)
        return None


class CrossOriginTest(h.VigilTestCase):
    def test_no_cors_by_default(self):
        """No page from another origin may read the camera: no Access-Control-Allow-Origin anywhere."""
        v = self.vigil(SOURCE)
        for path in ENDPOINTS:
            status, hdrs = head_of(v.port, path, "Origin: http://evil.example\r\n")
            self.assertEqual(status, 200, path)
            self.assertNotIn("access-control-allow-origin", hdrs, "%s answers %r" % (path, hdrs))

    def test_named_origins_only(self):
        v = self.vigil(SOURCE, "--cors-origin", "https://dash.example.test", "--cors-origin", "http://localhost:3000")
        for path in ENDPOINTS:
            _, hdrs = head_of(v.port, path, "Origin: https://dash.example.test\r\n")
            self.assertEqual(hdrs.get("access-control-allow-origin"), "https://dash.example.test", path)
            self.assertEqual(hdrs.get("vary"), "Origin", path)
            _, hdrs = head_of(v.port, path, "Origin: http://localhost:3000\r\n")
            self.assertEqual(hdrs.get("access-control-allow-origin"), "http://localhost:3000", path)
            for evil in ("http://evil.example", "https://dash.example.test.evil.example", "null"):
                _, hdrs = head_of(v.port, path, "Origin: %s\r\n" % evil)
                self.assertNotIn("access-control-allow-origin", hdrs, "%s with Origin %s: %r" % (path, evil, hdrs))
                self.assertEqual(hdrs.get("vary"), "Origin", path)

    def test_bad_cors_origin_option(self):
        for bad in ("evil.example", "https://a.example/path", "ftp://a.example"):
            rc, _, err, _ = h.run_vigil(["serve", "--source", SOURCE, "--cors-origin", bad])
            self.assertEqual(rc, 2, bad)
            self.assertIn("--cors-origin", err)


class HostTest(h.VigilTestCase):
    def test_dns_rebinding_refused(self):
        """A page whose name was pointed at 127.0.0.1 sends its own name as Host: 421 on every path."""
        v = self.vigil(SOURCE)
        for path in ENDPOINTS:
            for host in ("attacker.example", "attacker.example:%d" % v.port, "localhost.attacker.example",
                         "192.168.1.20:%d" % v.port):
                status, _ = head_of(v.port, path, host=host)
                self.assertEqual(status, 421, "%s with Host %s" % (path, host))
        for host in ("localhost", "localhost:%d" % v.port, "LOCALHOST", "127.0.0.1", "127.0.0.1:%d" % v.port,
                     "127.0.0.2:%d" % v.port, "[::1]:%d" % v.port):
            status, _ = head_of(v.port, "/api/stats", host=host)
            self.assertEqual(status, 200, "Host %s" % host)

    def test_host_required_in_http11(self):
        v = self.vigil(SOURCE)
        raw = h.raw_request(v.port, b"GET /api/stats HTTP/1.1\r\nConnection: close\r\n\r\n")
        self.assertEqual(h.status_of(raw), 400)
        self.assertIn(b"Host", raw)
        raw = h.raw_request(v.port, b"GET /api/stats HTTP/1.0\r\n\r\n")
        self.assertEqual(h.status_of(raw), 200)

    def test_allowed_host(self):
        v = self.vigil(SOURCE, "--allowed-host", "cam.example.test")
        for host in ("cam.example.test", "cam.example.test:%d" % v.port, "CAM.Example.Test."):
            status, _ = head_of(v.port, "/snapshot.jpg", host=host)
            self.assertEqual(status, 200, host)
        status, _ = head_of(v.port, "/snapshot.jpg", host="other.example.test")
        self.assertEqual(status, 421)


def listen_address(port):
    """The local address a LISTEN socket on port is bound to, from /proc/net/tcp: '127.0.0.1', '0.0.0.0'."""
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            parts = line.split()
            addr, p = parts[1].split(":")
            if parts[3] == "0A" and int(p, 16) == port:
                return socket.inet_ntoa(bytes.fromhex(addr)[::-1])
    return None


class ListenTest(h.VigilTestCase):
    def test_port_alone_binds_loopback(self):
        port = h.free_port()
        v = self.vigil(SOURCE, "--listen", str(port), port=port)
        self.assertEqual(listen_address(port), "127.0.0.1")
        self.assertNotIn("no authentication", v.stderr())

    def test_every_interface_warns(self):
        for form in ("0.0.0.0:%d", ":%d"):
            # Free on every address, not only on loopback: another process's socket may hold it elsewhere.
            port = h.free_port(host="0.0.0.0")
            v = self.vigil(SOURCE, "--listen", form % port, port=port)
            self.assertEqual(listen_address(port), "0.0.0.0")
            self.assertIn("no authentication", v.stderr(), form)
            v.stop()


class SlowReaderTest(AttackTestCase):
    def wait_dropped(self, v, n, within):
        """The clients stats once at least n clients were dropped, or after `within` seconds."""
        deadline = time.monotonic() + within
        while True:
            clients = v.stats()["clients"]
            if clients["dropped"] >= n or time.monotonic() > deadline:
                return clients
            time.sleep(0.2)

    def test_slow_readers_do_not_keep_the_slots(self):
        """100 stream clients reading 20 bytes/s each (2 KB/s in all) took every slot for good; now each is
        dropped once it has received no whole frame for --stall-timeout, and a new viewer gets in."""
        h.raise_nofile(4096)
        v = self.vigil(SOURCE, "--stall-timeout", "3")
        good, base = self.start_good_client(v)
        # From 10 addresses: 10 connections each, within what one address may open at once.
        readers = Readers(v.port, 100, 20, ["127.0.6.%d" % i for i in range(1, 11)])
        readers.start()
        self.addCleanup(readers.stop)
        t_attack = time.time()
        time.sleep(0.5)
        clients = v.stats()["clients"]
        self.assertEqual(clients["stream"], 100, "the slow readers did not fill the slots: %r" % clients)
        took = self.new_viewer_served(v, "127.0.7.1", 10)
        self.assertIsNotNone(took, "no new viewer was served in 10 s of the attack; stats %r" % v.stats()["clients"])
        t_end = time.time()
        self.check_good_client(good, base, t_attack + 0.5, t_end, "100 slow readers")
        # (The readers themselves see the end only after reading what their sockets hold, at 20 bytes/s.)
        clients = self.wait_dropped(v, 95, 5)
        print("new viewer served after %.1f s; %d slow readers connected, stats %r"
              % (took, readers.accepted(), clients), file=sys.stderr, end=" ")
        self.assertGreaterEqual(clients["dropped"] + clients["evicted"], 99, "slow readers still connected: %r"
                                % clients)
        self.assertLessEqual(clients["stream"], 2)

    def test_event_slow_readers_are_dropped(self):
        """The same on /events: 20-byte/s readers are cut and a new event client is served."""
        v = self.vigil(SOURCE, "--stall-timeout", "3", "--max-event-clients", "20")
        # A small receive buffer: events are small, and a large buffer would take them for a while.
        readers = Readers(v.port, 20, 20, ["127.0.6.20", "127.0.6.21"], path="/events", rcvbuf=4096)
        readers.start()
        self.addCleanup(readers.stop)
        time.sleep(0.5)
        status, _ = head_of(v.port, "/events", source="127.0.7.2")
        self.assertEqual(status, 503, "a 21st event client was let in while 20 readers looked healthy")
        deadline = time.monotonic() + 10
        served = False
        while not served and time.monotonic() < deadline:
            try:
                with h.SseClient(v.port, timeout=3, source="127.0.7.2") as c:
                    served = c.status == 200 and "frame_id" in c.next_event(timeout=3)["data"]
            except (OSError, KeyError):
                pass
            if not served:
                time.sleep(0.5)
        self.assertTrue(served, "no new event client served in 10 s; stats %r" % v.stats()["clients"])
        clients = self.wait_dropped(v, 19, 6)
        self.assertGreaterEqual(clients["dropped"] + clients["evicted"], 20, "event readers kept: %r" % clients)


class TrickleReaderTest(AttackTestCase):
    def test_clients_below_the_floor_make_room(self):
        """Readers that take a whole frame every ~2 s never stall (timeout 4 s) but stay below the 1 fps floor:
        while the slots are full, a new viewer evicts one of them, never the good client."""
        v = self.vigil(SOURCE, "--stall-timeout", "4", "--max-clients", "10")
        good, base = self.start_good_client(v)
        readers = Readers(v.port, 9, 4000, ["127.0.8.1", "127.0.8.2", "127.0.8.3"], rcvbuf=8192)
        readers.start()
        self.addCleanup(readers.stop)
        t_attack = time.time()
        time.sleep(0.5)
        self.assertEqual(v.stats()["clients"]["stream"], 10)
        # Nobody is known to be slow yet (no rate window has ended): a newcomer waits, told when to retry.
        status, hdrs = head_of(v.port, "/video_feed", source="127.0.7.3")
        self.assertEqual(status, 503)
        self.assertIn("retry-after", hdrs)
        took = self.new_viewer_served(v, "127.0.7.3", 14)
        clients = v.stats()["clients"]
        self.assertIsNotNone(took, "no new viewer in 14 s while 9 readers stayed below the floor; %r" % clients)
        self.check_good_client(good, base, t_attack + 0.5, time.time(), "9 trickling readers")
        print("new viewer served after %.1f s by eviction; stats %r" % (took, clients), file=sys.stderr, end=" ")
        self.assertGreaterEqual(clients["evicted"], 1)
        self.assertEqual(clients["dropped"], 0, "the trickling readers stalled instead (test too slow?): %r"
                         % clients)
        # The evicted reader sees the end of its stream once it has read what its socket still holds.
        deadline = time.monotonic() + 8
        while not readers.closed_at and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertGreaterEqual(len(readers.closed_at), 1, "no trickling reader was evicted")

    def test_healthy_viewers_are_never_evicted(self):
        """Every slot holds a client that reads at full rate: a newcomer gets 503 with Retry-After."""
        v = self.vigil(SOURCE, "--stall-timeout", "2", "--max-clients", "2")
        good = [h.BackgroundMjpeg(v.port), h.BackgroundMjpeg(v.port)]
        for g in good:
            g.start()
            self.assertTrue(g.started_ok.wait(5))
            self.addCleanup(g.stop)
        time.sleep(4.5)  # two rate windows
        status, hdrs = head_of(v.port, "/video_feed", source="127.0.7.4")
        self.assertEqual(status, 503)
        self.assertIn("retry-after", hdrs)
        time.sleep(0.5)
        for g in good:
            self.assertIsNone(g.error, "a healthy viewer was cut: %r" % g.error)
        self.assertEqual(v.stats()["clients"]["evicted"], 0)


class SlotsTest(h.VigilTestCase):
    def test_event_clients_have_their_own_cap(self):
        v = self.vigil(SOURCE, "--max-clients", "1", "--max-event-clients", "2")
        stream = self.track(h.MjpegClient(v.port).sock)
        self.assertEqual(head_of(v.port, "/events")[0], 200)
        e1 = h.SseClient(v.port)
        e2 = h.SseClient(v.port)
        self.addCleanup(e1.close)
        self.addCleanup(e2.close)
        self.assertEqual((e1.status, e2.status), (200, 200))
        raw = h.raw_request(v.port, b"GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n")
        self.assertEqual(h.status_of(raw), 503)
        self.assertIn(b"--max-event-clients", raw)
        raw = h.raw_request(v.port, b"GET /video_feed HTTP/1.1\r\nHost: localhost\r\n\r\n")
        self.assertEqual(h.status_of(raw), 503)
        self.assertIn(b"--max-clients", raw)
        stats = v.stats()["clients"]
        self.assertEqual((stats["stream"], stats["events"]), (1, 2))
        stream.close()

    def test_stats_ride_on_events(self):
        """The page's stats come on its /events connection once a second, the same document as /api/stats."""
        v = self.vigil(SOURCE)
        with h.SseClient(v.port) as c:
            first = c.next_event(kind="stats", timeout=3)
            t0 = time.monotonic()
            second = c.next_event(kind="stats", timeout=3)
            gap = time.monotonic() - t0
        import json
        a, b = json.loads(first["data"]), json.loads(second["data"])
        self.assertEqual(set(a), set(v.stats()))
        self.assertGreater(b["output"]["frames"], a["output"]["frames"])
        self.assertEqual(b["clients"]["events"], 1)
        self.assertLess(gap, 2.0)


class ConnectionFloodTest(AttackTestCase):
    def test_one_address_cannot_hold_every_connection(self):
        """One address reopening ~220 connections a second used to keep new connections (and /healthz)
        refused most of the time. Now it holds at most its own share: /healthz and new viewers from other
        addresses are served throughout."""
        h.raise_nofile(4096)
        v = self.vigil(SOURCE)
        good, base = self.start_good_client(v)
        stop = threading.Event()
        opened = [0]

        def flood():
            held = []
            t_end = time.monotonic() + 7
            while not stop.is_set() and time.monotonic() < t_end:
                for _ in range(22):
                    s = socket.socket()
                    s.setblocking(False)
                    s.bind(("127.0.9.1", 0))
                    try:
                        s.connect(("127.0.0.1", v.port))
                    except BlockingIOError:
                        pass
                    held.append((time.monotonic(), s))
                    opened[0] += 1
                # Each is held 6 s (past the 5 s header deadline, so the server is the one to close it if it
                # took it), then closed: about 220 new connections a second, over 1000 open at a time.
                while held and time.monotonic() - held[0][0] > 6.0:
                    held.pop(0)[1].close()
                time.sleep(0.1)
            for _, s in held:
                s.close()

        attacker = threading.Thread(target=flood, daemon=True)
        attacker.start()
        self.addCleanup(stop.set)
        t_attack = time.time()
        time.sleep(5.0)  # until the flood has reached its height
        health = []
        served = None
        t0 = time.monotonic()
        while time.monotonic() - t0 < 4:
            health.append(h.get(v.port, "/healthz", timeout=3).status)
            if served is None:
                served = self.new_viewer_served(v, "127.0.9.2", 3)
            time.sleep(0.2)
        t_end = time.time()
        stats = v.stats()["clients"]
        stop.set()
        attacker.join(5)
        print("\n  flood: %d connections opened; /healthz %d times, all 200: %s; stats %r"
              % (opened[0], len(health), set(health) == {200}, stats), file=sys.stderr, end=" ")
        self.assertGreater(opened[0], 1000)
        self.assertEqual(set(health), {200}, "/healthz answers during the flood: %r" % health)
        self.assertIsNotNone(served, "no new viewer was served during the flood")
        self.assertLessEqual(stats["connections"], 32 + 10, "the flooding address holds %r" % stats)
        self.assertGreater(stats["over_limit"], 0)
        self.check_good_client(good, base, t_attack + 1.0, t_end, "a connection flood from one address")

    def test_over_limit_answers_after_the_request(self):
        """Past an address's limits the connection is read and answered 503 with Retry-After (not reset),
        and /healthz is answered even then."""
        v = self.vigil(SOURCE)
        idle = [self.track(h.connect(v.port, source="127.0.9.3")) for _ in range(16)]
        time.sleep(0.3)
        raw = h.raw_request(v.port, b"GET /snapshot.jpg HTTP/1.1\r\nHost: localhost\r\n\r\n", source="127.0.9.3")
        self.assertEqual(h.status_of(raw), 503)
        self.assertIn(b"Retry-After:", raw)
        self.assertIn(b"unfinished requests", raw)
        raw = h.raw_request(v.port, b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n", source="127.0.9.3")
        self.assertEqual(h.status_of(raw), 200)
        for s in idle:
            s.close()
        # 32 streams held by one address: the 33rd connection is over the limit.
        streams = []
        for i in range(32):
            streams.append(self.track(h.open_stream(v.port, source="127.0.9.4")))
            if i % 8 == 7:
                time.sleep(0.1)  # in batches, within what one address may have unanswered at once
        time.sleep(0.5)
        self.assertEqual(v.stats()["clients"]["stream"], 32)
        raw = h.raw_request(v.port, b"GET /api/stats HTTP/1.1\r\nHost: localhost\r\n\r\n", source="127.0.9.4")
        self.assertEqual(h.status_of(raw), 503)
        self.assertIn(b"too many connections", raw)
        # Another address is served as usual.
        self.assertEqual(h.get(v.port, "/api/stats", source="127.0.9.5").status, 200)
        for s in streams:
            s.close()

    def test_trusted_proxy_limits_the_forwarded_client(self):
        v = self.vigil(SOURCE, "--trusted-proxy", "127.0.10.1", "--max-conns-per-address", "3")

        def stream(source, client):
            return self.track(h.open_stream(v.port, source=source,
                                            extra_headers="X-Forwarded-For: %s\r\n" % client))

        for _ in range(3):
            stream("127.0.10.1", "192.0.2.1")
        stream("127.0.10.1", "192.0.2.2")
        time.sleep(0.3)
        self.assertEqual(v.stats()["clients"]["stream"], 4, "the proxy's connections were limited as one address")
        status, _ = head_of(v.port, "/video_feed", "X-Forwarded-For: 192.0.2.1\r\n", source="127.0.10.1")
        self.assertEqual(status, 503, "a 4th connection of the forwarded client 192.0.2.1 was served")
        status, _ = head_of(v.port, "/snapshot.jpg", "X-Forwarded-For: 192.0.2.3\r\n", source="127.0.10.1")
        self.assertEqual(status, 200)
        # X-Forwarded-For from an address that is not a trusted proxy is not believed.
        for i in range(3):
            stream("127.0.10.2", "192.0.2.%d" % (10 + i))
        time.sleep(0.3)
        status, _ = head_of(v.port, "/snapshot.jpg", "X-Forwarded-For: 192.0.2.99\r\n", source="127.0.10.2")
        self.assertEqual(status, 503)


if __name__ == "__main__":
    unittest.main()
