#!/usr/bin/python3
"""What recording event clips costs a camera of `vigil serve`, beside FFmpeg doing the same work alone.

CenterNet (the demo's model) on vtest.avi (768x576, 10 fps, MPEG-4 part 2),
looped and paced, with tracking and the event store on, for a window of
seconds after the first events; the CPU time the process used in that
window, in cores:

- events, no clips, on vtest.avi and on an H.264 copy of it (the baseline of
  each source: decode, inference, JPEG, events, snapshots);
- --clips on vtest.avi: the frames shown are encoded (libx264, veryfast,
  a keyframe a second), since the source is not H.264;
- --clips on the H.264 copy: the source's packets are remuxed;
- the peers: ffmpeg encoding vtest.avi with the same x264 settings at its
  native rate (-re), and ffmpeg copying the H.264 file's packets (-re), each
  alone: what the clips' work costs without vigil around it.

Clips are recorded all the time in the encode way (the pre-roll needs the last
seconds encoded before an event begins), so its extra cost is about the
encoder's; remuxing only copies packets.

Usage: bench/clips.py [--seconds S] [--model FILE] [--video FILE]
Environment: VIGIL_BIN, VIGIL_CACHE (see tests/integration).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

from benchlib import h, need_binary, result

CACHE = (os.environ.get("VIGIL_CACHE")
         or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
                         "vigil"))
CENTERNET = os.path.join(CACHE, "human-models-3.0.4", "models", "centernet.json")


def serve(model, video, seconds, data, clips):
    """Cores used over the window, the peak RSS in MiB, and the clips completed."""
    args = ["--loop", "--model", model, "--threads", "1", "--data", data]
    if clips:
        args += ["--clips", os.path.join(data, "clips"), "--pre-capture", "2", "--post-capture", "2"]
    v = h.Vigil(video, *args)
    try:
        v.wait_ready(60)
        time.sleep(3)  # the model warm, the first events begun
        c0, t0 = h.cpu_seconds(v.pid), time.monotonic()
        time.sleep(seconds)
        c1, t1 = h.cpu_seconds(v.pid), time.monotonic()
        rss = h.rss_kib(v.pid) / 1024
        stats = v.stats()
        ev = stats.get("events", {})
        done = ev.get("clips", {}).get("done", 0)
        return (c1 - c0) / (t1 - t0), rss, done, ev.get("started", 0)
    finally:
        v.stop()


def ffmpeg(args, seconds):
    """Cores an ffmpeg command used over the window."""
    p = subprocess.Popen(["ffmpeg", "-v", "error", "-nostdin"] + args, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        time.sleep(2)
        c0, t0 = h.cpu_seconds(p.pid), time.monotonic()
        time.sleep(seconds)
        c1, t1 = h.cpu_seconds(p.pid), time.monotonic()
        return (c1 - c0) / (t1 - t0)
    finally:
        p.kill()
        p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--model", default=CENTERNET)
    ap.add_argument("--video", default=h.VTEST)
    a = ap.parse_args()
    need_binary()
    for path, what in ((a.model, "model (scripts/fetch-demo-assets)"), (a.video, "video (Debian opencv-doc)")):
        if not os.path.exists(path):
            print("clips: skipped: %s %s missing" % (what, path))
            return 0
    with tempfile.TemporaryDirectory() as d:
        h264 = os.path.join(d, "vtest.mp4")
        subprocess.run(["ffmpeg", "-v", "error", "-i", a.video, "-c:v", "libx264", "-preset", "veryfast", "-g", "10",
                        "-bf", "0", h264], check=True)
        rows = []
        for name, video, clips in (("events, vtest.avi", a.video, False),
                                   ("clips encoded, vtest.avi", a.video, True),
                                   ("events, H.264 copy", h264, False),
                                   ("clips remuxed, H.264 copy", h264, True)):
            data = tempfile.mkdtemp(dir=d)
            cores, rss, done, started = serve(a.model, video, a.seconds, data, clips)
            rows.append((name, cores, rss, done, started))
            print("%-28s %5.2f cores  %6.0f MiB  %3d events  %3d clips" % (name, cores, rss, started, done),
                  flush=True)
        x264 = ffmpeg(["-re", "-stream_loop", "-1", "-i", a.video, "-c:v", "libx264", "-preset", "veryfast",
                       "-g", "10", "-bf", "0", "-f", "mp4", "-movflags", "frag_keyframe+empty_moov", "-y",
                       os.path.join(d, "peer.mp4")], a.seconds)
        copy = ffmpeg(["-re", "-stream_loop", "-1", "-i", h264, "-c", "copy", "-f", "mp4", "-movflags",
                       "frag_keyframe+empty_moov", "-y", os.path.join(d, "peer-copy.mp4")], a.seconds)
    print()
    enc_extra = rows[1][1] - rows[0][1]
    remux_extra = rows[3][1] - rows[2][1]
    print("%-44s %6s" % ("", "cores"))
    print("%-44s %6.3f" % ("vigil: clips encoded, over events alone", enc_extra))
    print("%-44s %6.3f" % ("ffmpeg alone: x264 veryfast of vtest.avi", x264))
    print("%-44s %6.3f" % ("vigil: clips remuxed, over events alone", remux_extra))
    print("%-44s %6.3f" % ("ffmpeg alone: stream copy of the H.264 file", copy))
    result("clips_encode_extra_cores", enc_extra, "cores")
    result("clips_ffmpeg_x264_cores", x264, "cores")
    result("clips_remux_extra_cores", remux_extra, "cores")
    result("clips_ffmpeg_copy_cores", copy, "cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
