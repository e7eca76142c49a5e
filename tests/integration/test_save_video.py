"""`vigil detect VIDEO --save-video OUT.mp4 --save-tracks FILE`: offline analysis of a file.

The outputs are checked with ffprobe, independently of vigil: an H.264 MP4
with as many frames as the input, at its size, frame rate and duration, its
AAC audio copied; a MOTChallenge tracks file with one line per tracked detection that
the JSON lines report; Ctrl-C (SIGINT) mid-run leaves a file that plays; a bad
output path is a one-line error before the model loads; no progress bar
when stderr is not a terminal, and one when it is.

Inputs: a clip FFmpeg's lavfi makes here (testsrc2 and a sine tone as AAC),
with the SSD MobileNet of ../shared/assets (or CenterNet when only that is
there), and Debian's vtest.avi with CenterNet (the demo's model, from
scripts/fetch-demo-assets). Tests skip, by name, when their model is absent.
"""
import json
import os
import pty
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import vigil_harness as h

CACHE = (os.environ.get("VIGIL_CACHE")
         or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
                         "vigil"))
MODELS = os.environ.get("VIGIL_HUMAN_MODELS") or os.path.join(CACHE, "human-models-3.0.4", "models")
CENTERNET = os.path.join(MODELS, "centernet.json")
SSD = os.path.join(h.ASSETS, "models", "tflite", "ssd_mobilenet_v1_coco_quant_2018_06_29_detect.tflite")
FFPROBE = "/usr/bin/ffprobe"
MOT_LINE = re.compile(r"^(\d+),(-?\d+),(-?\d+\.\d+),(-?\d+\.\d+),(\d+\.\d+),(\d+\.\d+),(\d\.\d+),-1,-1,-1$")


def small_model():
    """The quickest detector at hand: SSD MobileNet from the assets, else CenterNet; None when neither is."""
    for m in (SSD, CENTERNET):
        if os.path.exists(m):
            return m
    return None


def probe(path):
    """ffprobe's view of a file: {"format": {...}, "video": {...}, "audio": {...} or None}, frames counted."""
    p = subprocess.run([FFPROBE, "-v", "error", "-count_frames", "-show_entries",
                        "stream=codec_type,codec_name,width,height,nb_read_frames,avg_frame_rate,duration"
                        ":format=duration,format_name", "-of", "json", path],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError("ffprobe cannot read %s: %s" % (path, p.stderr))
    j = json.loads(p.stdout)
    streams = j.get("streams", [])
    video = [s for s in streams if s.get("codec_type") == "video"]
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    return {"format": j.get("format", {}), "video": video[0] if video else None,
            "audio": audio[0] if audio else None, "streams": streams}


def detect(args, timeout=600, stderr=subprocess.PIPE):
    p = subprocess.run([h.VIGIL_BIN, "detect"] + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=stderr, text=True, timeout=timeout, preexec_fn=h._pdeathsig)
    return p.returncode, p.stdout, p.stderr or ""


def boxes_in_pixels(json_lines):
    """Every tracked detection, per frame, in pixels: {frame: [(id, left, top, width, height, score)]}."""
    out = {}
    for line in json_lines:
        j = json.loads(line)
        if "detections" not in j:
            continue  # a zone or line event, or the totals
        w, hgt = j["width"], j["height"]
        for d in j["detections"]:
            if "track_id" not in d:
                continue
            x0, y0, x1, y1 = d["box"]
            out.setdefault(j["frame"], []).append((d["track_id"], x0 * w, y0 * hgt, (x1 - x0) * w, (y1 - y0) * hgt,
                                                   d["score"]))
    return out


def check_tracks(tc, json_lines, tracks_path, n_frames):
    """Asserts one MOTChallenge line per tracked detection of the JSON lines, with the same id and box; returns
    the lines."""
    with open(tracks_path) as f:
        rows = f.read().splitlines()
    for r in rows:
        tc.assertRegex(r, MOT_LINE)
    want = boxes_in_pixels(json_lines)
    tc.assertEqual(len(rows), sum(len(v) for v in want.values()), "one line per tracked detection")
    got = {}
    for r in rows:
        m = MOT_LINE.match(r)
        frame = int(m.group(1))
        tc.assertTrue(1 <= frame <= n_frames, r)
        got.setdefault(frame, []).append(tuple(float(m.group(i)) for i in range(2, 8)))
    tc.assertEqual(sorted(got), sorted(want))
    for frame, dets in want.items():
        for a, b in zip(got[frame], dets):
            for x, y in zip(a, b):
                tc.assertAlmostEqual(x, y, delta=0.02, msg="frame %d: %s vs %s" % (frame, a, b))
    return rows


class SaveVideoTest(h.VigilTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not h.have_ffmpeg() or not os.access(FFPROBE, os.X_OK):
            raise unittest.SkipTest("ffmpeg or ffprobe CLI missing")
        cls.dir = tempfile.mkdtemp(prefix="vigil-save-video-")
        # 3 s at 25 fps with a tone: what a phone or camera clip is made of (H.264 and AAC in MP4).
        cls.clip = os.path.join(cls.dir, "clip.mp4")
        h.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i",
                  "sine=frequency=440:sample_rate=44100", "-t", "3", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                  "-c:a", "aac", "-b:a", "96k", cls.clip])
        cls.model = small_model()
        cls.run_result = None
        if cls.model:
            cls.out = os.path.join(cls.dir, "annotated.mp4")
            cls.tracks = os.path.join(cls.dir, "tracks.txt")
            cls.run_result = detect(["--model", cls.model, "--threshold", "0.2", cls.clip, "--save-video", cls.out,
                                     "--save-tracks", cls.tracks])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(getattr(cls, "dir", "/nonexistent-none"), ignore_errors=True)
        super().tearDownClass()

    def need_model(self):
        if not self.model:
            self.skipTest("no detector: neither %s nor %s" % (SSD, CENTERNET))

    def ran(self):
        self.need_model()
        rc, out, err = self.run_result
        self.assertEqual(rc, 0, err)
        return out, err

    def test_clip_video_matches_input(self):
        self.ran()
        src, got = probe(self.clip), probe(self.out)
        v = got["video"]
        self.assertEqual(v["codec_name"], "h264")
        self.assertEqual((v["width"], v["height"]), (320, 240))
        self.assertEqual(int(v["nb_read_frames"]), int(src["video"]["nb_read_frames"]))
        self.assertEqual(int(v["nb_read_frames"]), 75)
        self.assertEqual(v["avg_frame_rate"], "25/1")
        self.assertAlmostEqual(float(got["format"]["duration"]), 3.0, delta=0.05)
        self.assertIn("mp4", got["format"]["format_name"])

    def test_clip_audio_copied(self):
        self.ran()
        a = probe(self.out)["audio"]
        self.assertIsNotNone(a, "no audio stream in the output")
        self.assertEqual(a["codec_name"], "aac")
        self.assertAlmostEqual(float(a["duration"]), 3.0, delta=0.1)
        # Copied, not re-encoded: the packets are the input's (less an encoder's priming packet before 0).
        src_packets = int(probe(self.clip)["audio"]["nb_read_frames"])
        self.assertIn(int(a["nb_read_frames"]), (src_packets, src_packets - 1))
        # And it decodes.
        h.ffmpeg(["-i", self.out, "-map", "0:a", "-f", "null", "-"])

    def test_clip_json_lines_as_without_save_video(self):
        out, _ = self.ran()
        lines = out.splitlines()
        self.assertEqual([json.loads(l)["frame"] for l in lines], list(range(1, 76)))
        rc, plain, err = detect(["--model", self.model, "--threshold", "0.2", self.clip])
        self.assertEqual(rc, 0, err)
        strip = lambda ls: [{k: v for k, v in json.loads(l).items() if not k.endswith("_ms")} for l in ls]
        self.assertEqual(strip(lines), strip(plain.splitlines()))

    def check_tracks(self, json_lines, tracks_path, n_frames):
        return check_tracks(self, json_lines, tracks_path, n_frames)

    def test_clip_tracks_one_line_per_detection(self):
        out, _ = self.ran()
        self.check_tracks(out.splitlines(), self.tracks, 75)

    def test_no_progress_bar_when_stderr_is_a_pipe(self):
        _, err = self.ran()
        self.assertNotIn("\r", err)
        self.assertNotIn("\033", err)
        self.assertNotIn("frames", err)

    def test_progress_bar_on_a_terminal(self):
        self.need_model()
        out = os.path.join(self.dir, "tty.mp4")
        master, slave = pty.openpty()
        try:
            p = subprocess.Popen([h.VIGIL_BIN, "detect", "--model", self.model, self.clip, "--save-video", out],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave,
                                 preexec_fn=h._pdeathsig)
            self.track(p)
            os.close(slave)
            data = b""
            while True:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the other side closed
                    break
                if not chunk:
                    break
                data += chunk
            self.assertEqual(p.wait(60), 0, data)
        finally:
            os.close(master)
        text = data.decode("utf-8", "replace")
        self.assertIn("\r", text)
        self.assertRegex(text, r"75/75 frames 100%\s+[\d.]+ fps")
        self.assertIn("ETA", text)
        self.assertTrue(text.endswith("\n"), repr(text[-80:]))

    def test_sigint_leaves_a_playable_file(self):
        self.need_model()
        # Long enough that the run is still going when the signal comes.
        long_clip = os.path.join(self.dir, "long.mp4")
        h.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i",
                  "sine=frequency=440:sample_rate=44100", "-t", "120", "-c:v", "libx264", "-preset", "ultrafast",
                  "-pix_fmt", "yuv420p", "-c:a", "aac", long_clip], timeout=120)
        out = os.path.join(self.dir, "interrupted.mp4")
        tracks = os.path.join(self.dir, "interrupted.txt")
        p = self.popen([h.VIGIL_BIN, "detect", "--model", self.model, long_clip, "--save-video", out,
                        "--save-tracks", tracks], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = p.stdout.readline()
        self.assertTrue(first.startswith("{"), first)
        time.sleep(1.0)
        p.send_signal(signal.SIGINT)
        rest, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 130, err)
        self.assertIn("interrupted", err)
        lines = [first] + rest.splitlines()
        n = len(lines)
        self.assertGreater(n, 1)
        self.assertLess(n, 3000, "the whole clip was analysed: the signal came too late to test anything")
        got = probe(out)
        self.assertEqual(got["video"]["codec_name"], "h264")
        # Every frame analysed before the signal is in the file, and nothing else.
        self.assertEqual(int(got["video"]["nb_read_frames"]), n)
        self.assertAlmostEqual(float(got["format"]["duration"]), n / 25.0, delta=0.1)
        self.assertEqual(got["audio"]["codec_name"], "aac")
        h.ffmpeg(["-i", out, "-f", "null", "-"])
        self.check_tracks(lines, tracks, n)

    def test_bad_output_path_is_one_clear_line(self):
        self.need_model()
        missing = os.path.join(self.dir, "no-such-folder", "out.mp4")
        t0 = time.monotonic()
        rc, out, err = detect(["--model", self.model, self.clip, "--save-video", missing])
        self.assertEqual(rc, 2, err)
        self.assertEqual(out, "")
        self.assertEqual(err.strip().count("\n"), 0, err)
        self.assertIn("--save-video", err)
        self.assertIn(missing, err)
        self.assertIn("No such file or directory", err)
        self.assertLess(time.monotonic() - t0, 10)
        self.assertFalse(os.path.exists(missing))
        # A folder where the file should be.
        rc, _, err = detect(["--model", self.model, self.clip, "--save-video", self.dir])
        self.assertEqual(rc, 2, err)
        self.assertIn(self.dir, err)
        self.assertIn("directory", err.lower())
        rc, _, err = detect(["--model", self.model, self.clip, "--save-tracks", os.path.join(missing, "t.txt")])
        self.assertEqual(rc, 2, err)
        self.assertIn("--save-tracks", err)

    def test_full_disk_is_an_error_not_a_hang(self):
        self.need_model()
        if not os.path.exists("/dev/full"):
            self.skipTest("no /dev/full")
        # /dev/full fails every write with ENOSPC, as a full disk does.
        for flag in ("--save-video", "--save-tracks"):
            # At the clip's threshold, so that there are tracked objects to write.
            rc, _, err = detect(["--model", self.model, "--threshold", "0.2", self.clip, flag, "/dev/full"],
                                timeout=120)
            self.assertIn(rc, (1, 2), err)
            self.assertIn(flag, err)
            self.assertIn("No space left on device", err)

    def test_one_input_only(self):
        self.need_model()
        rc, _, err = detect(["--model", self.model, self.clip, self.clip, "--save-video",
                             os.path.join(self.dir, "two.mp4")])
        self.assertEqual(rc, 2)
        self.assertIn("one video", err)

    def test_other_audio_is_left_out_with_a_warning(self):
        self.need_model()
        pcm = os.path.join(self.dir, "pcm.mov")
        h.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-f", "lavfi", "-i",
                  "sine=frequency=440:sample_rate=16000", "-t", "1", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                  "-c:a", "pcm_s16le", pcm])
        out = os.path.join(self.dir, "pcm-out.mp4")
        rc, _, err = detect(["--model", self.model, pcm, "--save-video", out])
        self.assertEqual(rc, 0, err)
        self.assertIn("pcm_s16le audio is not copied", err)
        got = probe(out)
        self.assertIsNone(got["audio"])
        self.assertEqual(int(got["video"]["nb_read_frames"]), 10)


class VtestCenterNetTest(h.VigilTestCase):
    """The demo's model on the demo's video: real detections, no audio, 768x576 at 10 fps."""

    FRAMES = 150

    def test_vtest_centernet(self):
        if not os.path.exists(CENTERNET):
            self.skipTest("CenterNet missing: %s (run scripts/fetch-demo-assets)" % CENTERNET)
        if not os.path.exists(h.VTEST) or not os.access(FFPROBE, os.X_OK):
            self.skipTest("vtest.avi (opencv-doc) or ffprobe missing")
        with tempfile.TemporaryDirectory() as d:
            out, tracks = os.path.join(d, "vtest.mp4"), os.path.join(d, "vtest.txt")
            rc, lines, err = detect(["--model", CENTERNET, h.VTEST, "--max-frames", str(self.FRAMES),
                                     "--save-video", out, "--save-tracks", tracks])
            self.assertEqual(rc, 0, err)
            self.assertNotIn("\r", err)
            got = probe(out)
            v = got["video"]
            self.assertEqual(v["codec_name"], "h264")
            self.assertEqual((v["width"], v["height"]), (768, 576))
            self.assertEqual(int(v["nb_read_frames"]), self.FRAMES)
            self.assertEqual(v["avg_frame_rate"], "10/1")
            self.assertAlmostEqual(float(got["format"]["duration"]), self.FRAMES / 10.0, delta=0.05)
            self.assertIsNone(got["audio"])
            rows = check_tracks(self, lines.splitlines(), tracks, self.FRAMES)
            # People walk through every frame of vtest.avi.
            self.assertGreater(len(rows), self.FRAMES)


if __name__ == "__main__":
    unittest.main()
