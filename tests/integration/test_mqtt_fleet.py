"""MQTT from the real server, against Debian's mosquitto started on a loopback port by the test: the node
state, detections, label counts and the enabled state a subscriber sees; the enabled/set command; the
broker killed and restarted during a run (the cameras never stall and everything resumes); and a fleet
of three nodes from one configuration file on one broker, with a node frozen (SIGSTOP), resumed, killed
and restarted."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import vigil_harness as h

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
CACHE = (os.environ.get("VIGIL_CACHE")
         or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
                         "vigil"))
CENTERNET = os.path.join(CACHE, "human-models-3.0.4", "models", "centernet.json")


def requires_mosquitto(cls):
    ok = os.path.exists(MOSQUITTO) and shutil.which("mosquitto_sub") and shutil.which("mosquitto_pub")
    return unittest.skipUnless(ok, "needs Debian's mosquitto and mosquitto-clients (scripts/install-deps)")(cls)


class Broker:
    """mosquitto on a loopback port, without persistence: a restart forgets retained messages."""

    def __init__(self, port=None):
        self.port = port or h.free_port()
        self.dir = tempfile.TemporaryDirectory(prefix="vigil-mqtt-")
        self.conf = os.path.join(self.dir.name, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n" % self.port)
        self.proc = None
        self.start()

    def start(self):
        self.log = open(os.path.join(self.dir.name, "log"), "ab")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", self.conf], stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=self.log, preexec_fn=h._pdeathsig)
        if not h.wait_listening(self.port, 10, self.proc):
            raise AssertionError("mosquitto did not listen on %d" % self.port)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()

    def close(self):
        self.kill()
        self.dir.cleanup()


def retained(port, topic, timeout=3.0):
    """The retained payload of topic (mosquitto_sub -C 1 with a timeout), or None."""
    p = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t", topic, "-C", "1", "-W",
                        str(int(max(1, timeout)))], stdin=subprocess.DEVNULL, capture_output=True,
                       preexec_fn=h._pdeathsig)
    return p.stdout.rstrip(b"\n") if p.returncode == 0 and p.stdout else None


def collect(port, topic, seconds):
    """Every message on topic for a while, as (topic, payload) pairs."""
    p = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t", topic, "-v", "-W",
                        str(int(seconds))], stdin=subprocess.DEVNULL, capture_output=True, preexec_fn=h._pdeathsig)
    pairs = []
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        t, _, payload = line.partition(" ")
        pairs.append((t, payload))
    return pairs


def publish(port, topic, payload):
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-t", topic, "-m", payload],
                   stdin=subprocess.DEVNULL, check=True, timeout=10, preexec_fn=h._pdeathsig)


@requires_mosquitto
class MqttServeTest(h.VigilTestCase):
    def broker(self, port=None):
        b = Broker(port)
        self.addCleanup(b.close)
        return b

    def config_vigil(self, text, ready=True, **kw):
        v = self.track(h.ConfigVigil(text, **kw))
        if ready:
            v.wait_ready(30)
        return v

    @h.requires_vtest
    @unittest.skipUnless(os.path.exists(CENTERNET), "needs the demo model %s (scripts/fetch-demo-assets)" % CENTERNET)
    def test_detections_counts_commands_and_a_broker_restart(self):
        b = self.broker()
        v = self.config_vigil("""
listen: 127.0.0.1:{port}
mqtt:
  host: 127.0.0.1
  port: %d
  max_rate: 5
  keepalive: 5
  stats_interval: 1
cameras:
  street:
    source: %s
    loop: true
    model: %s
  test:
    source: "lavfi:testsrc=size=160x120:rate=10"
""" % (b.port, h.VTEST, CENTERNET))
        state = json.loads(self.assertEventually(lambda: retained(b.port, "vigil/nodes/default"), 10,
                                                 "no retained node state"))
        self.assertEqual(state["node"], "default")
        self.assertTrue(state["online"])
        self.assertEqual(sorted(state["cameras"]), ["street", "test"])
        self.assertEqual(state["url"], "http://127.0.0.1:%d/" % v.port)

        msgs = collect(b.port, "vigil/street/#", 4)
        dets = [json.loads(p) for t, p in msgs if t == "vigil/street/detections"]
        self.assertTrue(dets, "no detections message in 4 s: %r" % msgs[:5])
        self.assertEqual(dets[0]["camera"], "street")
        self.assertTrue(any(d["label"] == "person" for m in dets for d in m["detections"]), dets[:2])
        # At most max_rate (5) a second, with some slack for the window's edges.
        self.assertLessEqual(len(dets), 5 * 4 + 2)
        self.assertGreaterEqual(int(retained(b.port, "vigil/street/person")), 1)
        self.assertEqual(retained(b.port, "vigil/street/enabled"), b"ON")
        # The stats are not retained: the next one published (every second) is the one to read.
        stats = json.loads(self.assertEventually(
            lambda: next((p for _, p in collect(b.port, "vigil/nodes/default/stats", 2)), None), 6, "no stats"))
        self.assertEqual([c["name"] for c in stats["cameras"]], ["street", "test"])

        # enabled/set turns the analysis off and on, and the state follows.
        publish(b.port, "vigil/street/enabled/set", "OFF")
        self.assertEventually(lambda: retained(b.port, "vigil/street/enabled") == b"OFF", 5, "enabled not OFF")
        by = {c["name"]: c for c in v.get("/api/cameras").json()["cameras"]}
        self.assertFalse(by["street"]["analysis"])
        publish(b.port, "vigil/street/enabled/set", "on")
        self.assertEventually(lambda: retained(b.port, "vigil/street/enabled") == b"ON", 5, "enabled not ON")

        # The broker dies: every camera keeps streaming, and the loss shows in the stats.
        b.kill()
        self.assertEventually(lambda: v.stats()["mqtt"]["connected"] is False, 5, "mqtt still shown connected")
        first = int(v.get("/cam/test/snapshot.jpg").header("X-Frame-Id"))
        time.sleep(2.0)
        self.assertGreater(int(v.get("/cam/test/snapshot.jpg").header("X-Frame-Id")), first + 10,
                           "a camera stalled while the broker was down")
        self.assertEqual(v.get("/healthz").status, 200)
        # It comes back on the same port: the client reconnects by itself and states its node again.
        b.start()
        self.assertEventually(lambda: v.stats()["mqtt"]["connected"] is True, 15, "no reconnection")
        state = json.loads(self.assertEventually(lambda: retained(b.port, "vigil/nodes/default"), 10,
                                                 "node state not published again"))
        self.assertTrue(state["online"])
        self.assertTrue(any(t == "vigil/street/detections" for t, _ in collect(b.port, "vigil/street/#", 3)),
                        "no detections after the broker's return")
        self.assertTrue(v.alive())

    def test_fleet_of_three_nodes(self):
        b = self.broker()
        ports = [h.free_port() for _ in range(3)]
        text = """
mqtt:
  host: 127.0.0.1
  port: %d
  keepalive: 5
nodes:
""" % b.port
        for name, port in zip("abc", ports):
            text += "  %s:\n    listen: 127.0.0.1:%d\n    url: http://127.0.0.1:%d/\n" % (name, port, port)
        text += "cameras:\n"
        for name in "abc":
            for k in range(2):
                text += '  %s%d:\n    source: "lavfi:testsrc=size=128x96:rate=5"\n    node: %s\n' % (name, k, name)
        nodes = {}
        for name, port in zip("abc", ports):
            nodes[name] = self.track(h.ConfigVigil(text, port=port, node=name))
        for v in nodes.values():
            v.wait_ready(30)

        def cameras(v):
            r = v.get("/api/cameras", timeout=2)
            return {c["name"]: c for c in r.json()["cameras"]} if r.status == 200 else {}

        everything = {"a0", "a1", "b0", "b1", "c0", "c1"}
        for name, v in nodes.items():
            self.assertEventually(lambda: set(cameras(v)) == everything, 10,
                                  "node %s does not list the whole fleet" % name)
        seen = cameras(nodes["a"])
        self.assertTrue(seen["a0"]["local"])
        self.assertFalse(seen["c1"]["local"])
        self.assertEqual(seen["c1"]["node"], "c")
        self.assertEqual(seen["c1"]["url"], "http://127.0.0.1:%d/" % ports[2])

        def c_online(v):
            cams = cameras(v)
            return cams.get("c0", {}).get("online"), cams.get("c1", {}).get("online")

        # Frozen: its heartbeats (every quarter of the keepalive) stop, and the peers mark it offline after
        # three missed ones, within the keepalive (5 s), before the broker's own 1.5 keepalives run out.
        t0 = time.monotonic()
        nodes["c"].send_signal(signal.SIGSTOP)
        try:
            for name in "ab":
                self.assertEventually(lambda: c_online(nodes[name]) == (False, False), 5.5 - (time.monotonic() - t0),
                                      "node c's cameras not offline on %s within the keepalive" % name)
            frozen_for = time.monotonic() - t0
            self.assertTrue(cameras(nodes["a"])["a0"]["online"])
        finally:
            nodes["c"].send_signal(signal.SIGCONT)
        for name in "ab":
            self.assertEventually(lambda: c_online(nodes[name]) == (True, True), 15,
                                  "node c's cameras not back on %s after SIGCONT" % name)
        # Killed: its socket closes, so the will goes out at once.
        t0 = time.monotonic()
        nodes["c"].proc.kill()
        nodes["c"].proc.wait(5)
        for name in "ab":
            self.assertEventually(lambda: c_online(nodes[name]) == (False, False), 3,
                                  "node c's cameras not offline at once after SIGKILL on %s" % name)
        killed_for = time.monotonic() - t0
        # Restarted: back again.
        nodes["c"] = self.track(h.ConfigVigil(text, port=ports[2], node="c"))
        nodes["c"].wait_ready(30)
        for name in "ab":
            self.assertEventually(lambda: c_online(nodes[name]) == (True, True), 10,
                                  "node c's cameras not back on %s after a restart" % name)
        print("\n    fleet: offline after SIGSTOP in %.1f s, after SIGKILL in %.1f s" % (frozen_for, killed_for),
              end=" ")


if __name__ == "__main__":
    unittest.main()
