"""`vigil check-config FILE`: a good file is summarised with exit 0 (its models loaded); a bad one gives one
line "FILE:LINE:COLUMN: key 'K': what is wrong" on stderr and exit 2. `vigil serve --config` refuses camera
options beside the file."""

import os
import subprocess
import tempfile
import unittest

import vigil_harness as h

CACHE = (os.environ.get("VIGIL_CACHE")
         or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
                         "vigil"))
DEMO_MODEL = os.path.join(CACHE, "human-models-3.0.4", "models", "centernet.json")

requires_demo_model = unittest.skipUnless(os.path.exists(DEMO_MODEL),
                                          "demo model %s absent (scripts/fetch-demo-assets)" % DEMO_MODEL)


class CheckConfigTest(h.VigilTestCase):
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.TemporaryDirectory(prefix="vigil-cfg-")

    def tearDown(self):
        self.tmp.cleanup()
        super().tearDown()

    def write(self, text, name="vigil.yaml"):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def check(self, path, *extra, env=None):
        p = subprocess.run([h.VIGIL_BIN, "check-config", path] + list(extra), stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=60, env=env)
        return p.returncode, p.stdout, [ln for ln in p.stderr.splitlines() if ln.strip()]

    def expect_error(self, text, message, env=None):
        path = self.write(text)
        rc, out, err = self.check(path, env=env)
        self.assertEqual(rc, 2, "exit %s; stdout %r; stderr %r" % (rc, out, err))
        self.assertEqual(err, ["vigil: %s:%s" % (path, message)])
        self.assertNotIn("OK", out)

    def test_valid_without_models(self):
        path = self.write("listen: 127.0.0.1:9100\n"
                          "cameras:\n"
                          "  door:\n"
                          "    source: rtsp://user:${VIGIL_TEST_PW}@192.0.2.1/live\n"
                          "  yard: { source: /no/such/video.mp4, enabled: false }\n")
        rc, out, err = self.check(path, env=dict(os.environ, VIGIL_TEST_PW="hunter2"))
        self.assertEqual((rc, err), (0, []), out)
        self.assertIn("cameras: 2 (1 disabled)", out)
        # The source is shown redacted and with ${NAME} as written, never the secret; sources are not opened.
        self.assertIn("source rtsp://***@192.0.2.1/live", out)
        self.assertNotIn("hunter2", out)
        self.assertIn("listening on 127.0.0.1:9100", out)
        self.assertIn("mqtt: off", out)
        self.assertIn("auth: off", out)
        self.assertTrue(out.rstrip().endswith("%s: OK" % path), out)

    @requires_demo_model
    def test_valid_full_file_loads_its_model(self):
        path = self.write("models:\n"
                          "  people: { model: %s, threshold: 0.4 }\n"
                          "nodes:\n"
                          "  a: { listen: 127.0.0.1:9101, url: http://127.0.0.1:9101/ }\n"
                          "  b: { listen: 127.0.0.1:9102 }\n"
                          "mqtt: { host: 127.0.0.1, port: 1884, qos: 1 }\n"
                          "auth: { token: abc, users: { alice: '$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA' } }\n"
                          "defaults: { model: people, node: a }\n"
                          "cameras:\n"
                          "  door: { source: lavfi:testsrc, threshold: 0.6 }\n"
                          "  yard: { source: lavfi:testsrc, node: b }\n"
                          "  gate: { source: lavfi:testsrc, threshold: 0.6, node: b }\n" % DEMO_MODEL)
        rc, out, err = self.check(path, "--node", "b")
        self.assertEqual((rc, err), (0, []), out)
        # One line per model as serve shares it, naming its cameras: thresholds are each camera's own filter.
        self.assertIn("model 'people': %s loads (decoder centernet) for door yard gate\n" % DEMO_MODEL, out)
        self.assertEqual(out.count(" loads (decoder "), 1, out)
        self.assertRegex(out, r"yard +node b +\(runs here\)")
        self.assertNotRegex(out, r"door .*runs here")
        self.assertIn("mqtt: 127.0.0.1:1884, prefix 'vigil', qos 1", out)
        self.assertIn("auth: on (bearer token, 1 user)", out)
        rc, out, err = self.check(path, "--node", "c")
        self.assertEqual(rc, 2)
        self.assertEqual(err, ["vigil: %s: --node c: no such node under nodes:" % path])

    @requires_demo_model
    def test_a_class_the_shared_model_lacks(self):
        path = self.write("models:\n"
                          "  people: { model: %s }\n"
                          "cameras:\n"
                          "  door: { source: lavfi:testsrc, model: people, classes: person }\n"
                          "  yard: { source: lavfi:testsrc, model: people, classes: [person, unicorn] }\n" % DEMO_MODEL)
        rc, out, err = self.check(path)
        self.assertEqual(rc, 2, out)
        self.assertEqual(len(err), 1, err)
        self.assertTrue(err[0].startswith("vigil: %s: camera 'yard' (line 5): " % path), err)
        self.assertIn("'unicorn'", err[0])

    def test_unknown_key(self):
        self.expect_error("cameras:\n  door:\n    source: lavfi:testsrc\n    treshold: 0.5\n",
                          "4:5: key 'cameras.door.treshold': unknown key; did you mean 'threshold'?")

    def test_bad_value(self):
        self.expect_error("cameras:\n  door:\n    source: lavfi:testsrc\n    threshold: 1.5\n",
                          "4:16: key 'cameras.door.threshold': expects a score between 0 and 1, not '1.5'")

    def test_syntax_error(self):
        self.expect_error("cameras:\n  door: { source: x\n",
                          "3:1: YAML syntax error: did not find expected ',' or '}' while parsing a flow mapping")

    def test_missing_model_file(self):
        missing = os.path.join(self.tmp.name, "nope.tflite")
        self.expect_error("cameras:\n  door:\n    source: lavfi:testsrc\n    model: %s\n" % missing,
                          "4:12: key 'cameras.door.model': '%s' is neither a model declared under models: "
                          "(none is declared) nor an existing file" % missing)

    def test_model_that_does_not_load(self):
        junk = self.write("this is not a model\n", name="junk.tflite")
        path = self.write("models:\n  m: { model: %s }\ncameras:\n  door: { source: lavfi:testsrc, model: m }\n"
                          % junk)
        rc, out, err = self.check(path)
        self.assertEqual(rc, 2, out)
        self.assertEqual(len(err), 1, err)
        self.assertTrue(err[0].startswith("vigil: %s: camera 'door' (line 4): model '%s': " % (path, junk)), err)

    def test_unset_environment_variable(self):
        env = {k: v for k, v in os.environ.items() if k != "VIGIL_TEST_UNSET"}
        self.expect_error("auth:\n  token: ${VIGIL_TEST_UNSET}\ncameras:\n  door: { source: lavfi:testsrc }\n",
                          "2:10: key 'auth.token': uses ${VIGIL_TEST_UNSET}, but the environment variable "
                          "VIGIL_TEST_UNSET is not set", env=env)

    def test_missing_file(self):
        path = os.path.join(self.tmp.name, "absent.yaml")
        rc, out, err = self.check(path)
        self.assertEqual(rc, 2)
        self.assertEqual(err, ["vigil: %s: cannot open: No such file or directory" % path])

    def test_serve_config_refuses_camera_options(self):
        path = self.write("cameras:\n  door: { source: lavfi:testsrc }\n")
        rc, out, err, _ = h.run_vigil(["serve", "--config", path, "--source", "lavfi:testsrc"])
        self.assertEqual(rc, 2)
        self.assertEqual(err.strip(), "vigil: --source cannot be combined with --config: put it in the "
                                      "configuration file %s instead" % path)


if __name__ == "__main__":
    unittest.main()
