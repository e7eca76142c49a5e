"""Cached runs of the slow, deterministic oracles: Arm NN (tests/oracle/armnn_tflite.py)
and the TFLite weight rewriter (tests/oracle/tflite_f32_weights.py).

Both run under /usr/bin/python3 and give the same bytes for the same inputs, yet
recomputing them took most of test_models' time in every run (the normal one and
the ASan one alike). Their results are kept in CACHE/<kind>/<key>.entry, where
the key is the sha256 of everything that determines the result:

- Arm NN: the oracle script's source, the model's bytes, the input's bytes and a
  fingerprint of the installed Arm NN (pyarmnn's and Arm NN's versions, the
  bytes of every pyarmnn file and of every Arm NN library the oracle process
  maps, including the CpuRef backend; path, size and mtime of the other shared
  libraries it maps; numpy's and Python's versions);
- the rewriter: its source, its flags, the model's bytes, numpy's and Python's
  versions.

An entry holds its own key and the sha256 of its body, is written to a temporary
file and renamed into place (so a concurrent run never sees half of one), and is
read back only when both check out and numpy parses it without pickles;
anything else is recomputed and overwritten. Arm NN's parser refusing a model
(exit 3) is kept too, but not a crash, whose message varies from run to run.

CACHE is $VIGIL_ORACLE_CACHE when that is a path, else $VIGIL_CACHE, else
$XDG_CACHE_HOME/vigil (~/.cache/vigil); VIGIL_ORACLE_CACHE=0 turns the cache off.
"""
import hashlib
import io
import json
import os
import subprocess
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ORACLE_DIR = os.path.join(os.path.dirname(HERE), "oracle")
ARMNN = os.path.join(ORACLE_DIR, "armnn_tflite.py")
REWRITE = os.path.join(ORACLE_DIR, "tflite_f32_weights.py")
PYTHON = "/usr/bin/python3"
MAGIC = b"vigil-oracle-cache 1\n"


def cache_dir():
    """The cache folder, or None when the cache is off."""
    switch = os.environ.get("VIGIL_ORACLE_CACHE", "")
    if switch == "0":
        return None
    if switch:
        return switch
    return (os.environ.get("VIGIL_CACHE")
            or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
                            "vigil"))


def read(path):
    with open(path, "rb") as f:
        return f.read()


def digest(*parts):
    """sha256 of parts (bytes or str), each length-prefixed so that no two sequences collide."""
    h = hashlib.sha256()
    for p in parts:
        b = p if isinstance(p, bytes) else str(p).encode()
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def load(kind, key):
    """(meta, arrays) of a sound entry, or None when there is none or it does not check out."""
    root = cache_dir()
    if root is None:
        return None
    try:
        blob = read(os.path.join(root, kind, key + ".entry"))
        head = MAGIC + key.encode() + b"\n"
        if not blob.startswith(head):
            return None
        body_sum, body = blob[len(head):len(head) + 64], blob[len(head) + 65:]
        if blob[len(head) + 64:len(head) + 65] != b"\n" or hashlib.sha256(body).hexdigest().encode() != body_sum:
            return None
        with np.load(io.BytesIO(body), allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode())
            if meta.get("key") != key:
                return None
            arrays = [z[f"a{i}"] for i in range(meta["n"])]
        return meta, arrays
    except Exception:  # unreadable, truncated or not ours: recompute
        return None


def store(kind, key, meta, arrays):
    root = cache_dir()
    if root is None:
        return
    meta = dict(meta, key=key, n=len(arrays))
    buf = io.BytesIO()
    np.savez(buf, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
             **{f"a{i}": np.ascontiguousarray(a) for i, a in enumerate(arrays)})
    body = buf.getvalue()
    folder = os.path.join(root, kind)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=key[:16], suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC + key.encode() + b"\n" + hashlib.sha256(body).hexdigest().encode() + b"\n" + body)
        os.replace(tmp, os.path.join(folder, key + ".entry"))
    except BaseException:
        os.unlink(tmp)
        raise


def cached(kind, key, produce):
    """produce() -> (meta, arrays, keep): computed once per key while the cache is on and keep is true."""
    hit = load(kind, key)
    if hit is not None:
        return hit
    meta, arrays, keep = produce()
    if keep:
        store(kind, key, meta, arrays)
    return meta, arrays


_fingerprint = []
_versions = []


def python_versions():
    """Python's and numpy's versions in PYTHON, which runs the oracles (the tests may run in another)."""
    if not _versions:
        p = subprocess.run([PYTHON, "-c", "import sys, numpy; print(sys.version, numpy.__version__)"],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        _versions.append(p.stdout.strip())
    return _versions[0]


def probe_armnn():
    """(exit status, stdout, stderr) of armnn_tflite.py --fingerprint, run once per process."""
    if not _fingerprint:
        try:
            p = subprocess.run([PYTHON, ARMNN, "--fingerprint"], capture_output=True, text=True, timeout=120)
            _fingerprint.append((p.returncode, p.stdout.strip(), p.stderr))
        except (OSError, subprocess.TimeoutExpired) as e:  # as the tests always took these: not installed
            _fingerprint.append((4, "", str(e)))
    return _fingerprint[0]


def have_armnn():
    """Whether pyarmnn is there; a failure of the installed Arm NN is the tests' to report, not a skip."""
    return probe_armnn()[0] != 4


def armnn_fingerprint():
    """What identifies the installed Arm NN (see armnn_tflite.py --fingerprint)."""
    rc, out, err = probe_armnn()
    assert rc == 0 and out, f"armnn_tflite.py --fingerprint failed (exit {rc}): {err[-2000:]}"
    return out


def armnn(model, input_bytes, tmp):
    """(outputs, None) of Arm NN on model with input 0 set to input_bytes, or (None, reason) when it cannot run it.

    Fails the calling test when the oracle fails any other way.
    """
    fingerprint = armnn_fingerprint()
    model_bytes = read(model)

    def produce():
        inp = os.path.join(tmp, "armnn_in.bin")
        with open(inp, "wb") as f:
            f.write(input_bytes)
        out = tempfile.mkdtemp(prefix="armnn-", dir=tmp)
        p = subprocess.run([PYTHON, ARMNN, model, inp, out], capture_output=True, text=True, timeout=900)
        if p.returncode == 3 or p.returncode < 0:
            lines = [ln for ln in p.stderr.splitlines() if "armnn cannot run" in ln or "what()" in ln]
            reason = lines[-1].strip() if lines else f"Arm NN died with signal {-p.returncode}"
            # The key holds the model's bytes, not its path, which may be a temporary file's.
            reason = reason.replace(model, os.path.basename(model))
            # Exit 3 is the parser's refusal, which is deterministic. A crash is not kept: the traffic model's
            # abort says std::bad_alloc in one run and std::bad_array_new_length in another.
            return {"ok": False, "reason": reason}, [], p.returncode == 3
        assert p.returncode == 0, f"Arm NN failed on {os.path.basename(model)}: {p.stderr[-2000:]}"
        with open(os.path.join(out, "outputs.json")) as f:
            desc = json.load(f)
        arrays = [np.fromfile(os.path.join(out, f"{i}.bin"), dtype=d["dtype"]).reshape(d["shape"])
                  for i, d in enumerate(desc)]
        return {"ok": True, "names": [d["name"] for d in desc]}, arrays, True

    key = digest("armnn_tflite", fingerprint, read(ARMNN), model_bytes, input_bytes)
    meta, arrays = cached("armnn-oracle", key, produce)
    return (arrays, None) if meta["ok"] else (None, meta["reason"])


def rewrite(model, out, *flags):
    """Writes model rewritten by tflite_f32_weights.py with flags to out and returns out, or None (exit 3) when
    there is nothing to rewrite. Fails the calling test when the rewriter fails."""
    def produce():
        p = subprocess.run([PYTHON, REWRITE, *flags, model, out], capture_output=True, text=True, timeout=300)
        if p.returncode == 3:
            return {"ok": False}, [], True
        assert p.returncode == 0, f"rewrite: {p.stderr}"
        return {"ok": True}, [np.frombuffer(read(out), dtype=np.uint8)], True

    key = digest("tflite_f32_weights", read(REWRITE), json.dumps(list(flags)), read(model), python_versions())
    meta, arrays = cached("tflite-rewrite", key, produce)
    if not meta["ok"]:
        return None
    if not os.path.exists(out) or read(out) != arrays[0].tobytes():
        with open(out, "wb") as f:
            f.write(arrays[0].tobytes())
    return out
