"""`vigil serve` without --source or --model: the demo (CenterNet on vtest.avi).

The demo's model lives in the cache folder of scripts/fetch-demo-assets,
${VIGIL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil}/human-models-3.0.4/models/;
vigil computes the same path. Without the model: one line saying how to get
it, exit 2. --source alone streams without a model, as always; --model alone
runs that model on the demo video.
"""
import json
import os
import subprocess
import tempfile
import unittest

import vigil_harness as h

CACHE = (os.environ.get("VIGIL_CACHE")
         or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
                         "vigil"))
DEMO_MODEL = os.path.join(CACHE, "human-models-3.0.4", "models", "centernet.json")
SSD = os.path.join(h.ASSETS, "models", "tflite", "ssd_mobilenet_v1_coco_quant_2018_06_29_detect.tflite")


class DemoDefaultTest(h.VigilTestCase):
    def run_serve(self, args, env, timeout=15):
        p = subprocess.run([h.VIGIL_BIN, "serve", "--listen", "127.0.0.1:%d" % h.free_port()] + args,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=timeout)
        return p.returncode, [ln for ln in p.stderr.splitlines() if ln.strip()]

    def test_without_demo_model_one_line_how_to_get_it(self):
        with tempfile.TemporaryDirectory(prefix="vigil-cache-") as empty:
            env = dict(os.environ, VIGIL_CACHE=empty)
            rc, lines = self.run_serve([], env)
            self.assertEqual(rc, 2, lines)
            self.assertEqual(len(lines), 1, lines)
            self.assertIn("fetch-demo-assets", lines[0])
            self.assertIn("make demo", lines[0])
            if os.path.exists(h.VTEST):
                self.assertIn(os.path.join(empty, "human-models-3.0.4", "models", "centernet.json"), lines[0])

    def test_cache_path_rules(self):
        """VIGIL_CACHE, else XDG_CACHE_HOME/vigil, else HOME/.cache/vigil; empty counts as unset."""
        if not os.path.exists(h.VTEST):
            self.skipTest(f"{h.VTEST} not found (Debian package opencv-doc)")
        with tempfile.TemporaryDirectory(prefix="vigil-home-") as tmp:
            base = {k: v for k, v in os.environ.items() if k not in ("VIGIL_CACHE", "XDG_CACHE_HOME", "HOME")}
            cases = [
                (dict(VIGIL_CACHE=tmp + "/v", XDG_CACHE_HOME=tmp + "/x", HOME=tmp), tmp + "/v"),
                (dict(VIGIL_CACHE="", XDG_CACHE_HOME=tmp + "/x", HOME=tmp), tmp + "/x/vigil"),
                (dict(XDG_CACHE_HOME="", HOME=tmp), tmp + "/.cache/vigil"),
            ]
            for extra, where in cases:
                rc, lines = self.run_serve([], dict(base, **extra))
                self.assertEqual(rc, 2, lines)
                self.assertIn(where + "/human-models-3.0.4/models/centernet.json", lines[0], extra)

    def test_source_alone_streams_without_model(self):
        with tempfile.TemporaryDirectory(prefix="vigil-cache-") as empty:
            v = self.vigil("lavfi:testsrc=size=160x120:rate=25", extra_env={"VIGIL_CACHE": empty})
            events = []
            with v.sse(timeout=10) as sse:
                while len(events) < 3:
                    events.append(json.loads(sse.next_event()["data"]))
            self.assertTrue(all(ev["detections"] == [] for ev in events), events)
            self.assertNotIn("centernet", v.stderr())

    @unittest.skipUnless(os.path.exists(h.VTEST) and os.path.exists(SSD), "needs vtest.avi and the shared assets")
    def test_model_alone_runs_on_the_demo_video(self):
        v = self.vigil(None, "--model", SSD, ready=False)
        v.wait_ready(60)
        self.assertEqual(v.stats()["source"]["uri"], h.VTEST)

    @unittest.skipUnless(os.path.exists(DEMO_MODEL) and os.path.exists(h.VTEST),
                         f"needs the demo model {DEMO_MODEL} (scripts/fetch-demo-assets) and vtest.avi")
    def test_no_arguments_is_the_demo(self):
        v = self.vigil(None, ready=False)
        v.wait_ready(60)
        self.assertEqual(v.stats()["source"]["uri"], h.VTEST)
        events, with_person = [], 0
        with v.sse(timeout=30) as sse:
            while len(events) < 20:
                ev = json.loads(sse.next_event()["data"])
                if ev["detections_frame_id"] is None:
                    continue
                events.append(ev)
                if any(d.get("label") == "person" for d in ev["detections"]):
                    with_person += 1
        self.assertGreaterEqual(with_person, 15, f"only {with_person} of 20 events report a person")
        self.assertIn("centernet.json", v.stderr())


if __name__ == "__main__":
    unittest.main()
