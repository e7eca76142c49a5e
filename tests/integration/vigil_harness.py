"""Shared helpers for vigil's integration tests, load test and benchmarks.

Everything here talks to the real binary over real sockets on loopback. Every
socket has a timeout and every child process is killed when the test that
started it ends (and, through PR_SET_PDEATHSIG, when the test process dies), so
a broken server makes a test fail, never hang.

Environment:
  VIGIL_BIN     the binary (default <repo>/build/vigil)
  VIGIL_ASSETS  the shared assets folder (default <repo>/../shared/assets)
"""

import ctypes
import faulthandler
import json
import os
import resource
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
VIGIL_BIN = os.environ.get("VIGIL_BIN") or os.path.join(REPO, "build", "vigil")
ASSETS = os.environ.get("VIGIL_ASSETS") or os.path.join(os.path.dirname(REPO), "shared", "assets")
VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
FFMPEG = "/usr/bin/ffmpeg"

BOUNDARY = b"vigilframe"
PREAMBLE = b"--" + BOUNDARY + b"\r\n"
TRAILER = b"\r\n--" + BOUNDARY + b"\r\n"

# A test (or class fixture) that runs longer than this is stopped with a
# traceback of every thread instead of hanging the suite.
WATCHDOG_S = float(os.environ.get("VIGIL_TEST_WATCHDOG", "180"))


def _pdeathsig():
    # Runs in the child between fork and exec: die with the test process.
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def have_binary():
    return os.access(VIGIL_BIN, os.X_OK)


def have_ffmpeg():
    return os.access(FFMPEG, os.X_OK)


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    """A port that was free a moment ago (bind port 0, read it, close)."""
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def raise_nofile(want):
    """Raises this process's soft RLIMIT_NOFILE to want (capped by the hard limit). Returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    if soft == resource.RLIM_INFINITY or soft >= want:
        return soft
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


def listening_ports(states=("0A",)):
    """Local TCP ports with a socket in one of states (default LISTEN), from /proc/net/tcp{,6}."""
    ports = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if len(parts) > 3 and parts[3] in states:
                        ports.add(int(parts[1].rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return ports


def wait_listening(port, timeout=10.0, proc=None):
    """Waits until something listens on port, without connecting to it.

    A one-shot server (ffmpeg -listen 1) stops listening once it accepts, which a
    client may do between two polls, so an established socket on the port also counts."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port in listening_ports(("0A", "01")):
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def rss_kib(pid):
    """VmRSS of pid in KiB, or None if it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_times(pid):
    """(utime, stime) of pid (all its threads), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        data = f.read()
    fields = data[data.rindex(")") + 2:].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    tck = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tck, int(fields[12]) / tck


def cpu_seconds(pid):
    """utime + stime of pid (all its threads), in seconds."""
    return sum(cpu_times(pid))


# ---------------------------------------------------------------------------
# Plain HTTP


class Response:
    def __init__(self, status, reason, headers, body, raw_head=b""):
        self.status = status
        self.reason = reason
        self.headers = headers  # lower-case name -> value (last one wins)
        self.body = body
        self.raw_head = raw_head

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<Response %s %s %r>" % (self.status, self.reason, self.body[:80])


def parse_head(head):
    """Parses 'HTTP/1.1 200 OK\\r\\nName: value\\r\\n...' into (status, reason, headers)."""
    lines = head.decode("latin-1").split("\r\n")
    first = lines[0].split(" ", 2)
    if len(first) < 2 or not first[0].startswith("HTTP/"):
        raise ValueError("bad status line: %r" % lines[0])
    status = int(first[1])
    reason = first[2] if len(first) > 2 else ""
    headers = {}
    for line in lines[1:]:
        if not line:
            continue
        if ":" not in line:
            raise ValueError("bad header line: %r" % line)
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    return status, reason, headers


def connect(port, host="127.0.0.1", timeout=5.0, source=None):
    """A connected socket; source is the local address to connect from (another 127.x.y.z, to be another client)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if source:
        s.bind((source, 0))
    s.connect((host, port))
    return s


def host_header(host, port):
    return "%s:%d" % (host if ":" not in host else "[%s]" % host, port)


def recv_until_closed(sock, limit=1 << 24, timeout=5.0):
    """Reads until EOF (or limit bytes, or timeout). Returns the bytes."""
    sock.settimeout(timeout)
    chunks = []
    total = 0
    deadline = time.monotonic() + timeout
    while total < limit and time.monotonic() < deadline:
        try:
            d = sock.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            break
        if not d:
            break
        chunks.append(d)
        total += len(d)
    return b"".join(chunks)


def raw_request(port, data, host="127.0.0.1", timeout=5.0, read_limit=1 << 20, source=None):
    """Sends raw bytes, reads the answer until the server closes or timeout. Returns the bytes."""
    with connect(port, host, timeout, source) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return recv_until_closed(s, read_limit, timeout)


def status_of(raw):
    """The status code of a raw response, or None when the server sent nothing."""
    if not raw:
        return None
    first = raw.split(b"\r\n", 1)[0].split(b" ")
    if len(first) < 2 or not first[0].startswith(b"HTTP/"):
        raise AssertionError("not an HTTP response: %r" % raw[:100])
    return int(first[1])


def _read_exact(sock, buf, n, deadline):
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out reading body")
        sock.settimeout(left)
        d = sock.recv(65536)
        if not d:
            raise ConnectionError("connection closed after %d of %d body bytes" % (len(buf), n))
        buf += d
    return buf


def http_request(port, path, method="GET", headers=None, host="127.0.0.1", timeout=5.0, body=b"", source=None):
    """One HTTP/1.1 request on a new connection (Connection: close). Returns a Response.

    Reads a Content-Length body exactly, a chunked body fully, and otherwise
    reads until the server closes the connection.
    """
    hdrs = {"Host": host_header(host, port), "Connection": "close"}
    if headers:
        hdrs.update(headers)
    if body:
        hdrs["Content-Length"] = str(len(body))
    req = "%s %s HTTP/1.1\r\n" % (method, path)
    req += "".join("%s: %s\r\n" % kv for kv in hdrs.items()) + "\r\n"
    deadline = time.monotonic() + timeout
    with connect(port, host, timeout, source) as s:
        s.sendall(req.encode("latin-1") + body)
        buf = bytearray()
        while b"\r\n\r\n" not in buf:
            if time.monotonic() > deadline:
                raise socket.timeout("timed out reading response head")
            d = s.recv(65536)
            if not d:
                raise ConnectionError("connection closed before the response head ended: %r" % bytes(buf[:200]))
            buf += d
        i = buf.index(b"\r\n\r\n")
        head, rest = bytes(buf[:i]), bytearray(buf[i + 4:])
        status, reason, h = parse_head(head)
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return Response(status, reason, h, b"", head)
        if h.get("transfer-encoding", "").lower() == "chunked":
            dec = ChunkedDecoder()
            out = bytearray(dec.feed(rest))
            while not dec.done:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise socket.timeout("timed out reading chunked body")
                s.settimeout(left)
                d = s.recv(65536)
                if not d:
                    raise ConnectionError("connection closed inside a chunked body")
                out += dec.feed(d)
            return Response(status, reason, h, bytes(out), head)
        if "content-length" in h:
            n = int(h["content-length"])
            rest = _read_exact(s, rest, n, deadline)
            return Response(status, reason, h, bytes(rest[:n]), head)
        rest += recv_until_closed(s, timeout=max(0.1, deadline - time.monotonic()))
        return Response(status, reason, h, bytes(rest), head)


def get(port, path, **kw):
    return http_request(port, path, **kw)


class ChunkedDecoder:
    """Incremental decoder for Transfer-Encoding: chunked."""

    def __init__(self):
        self.buf = bytearray()
        self.left = 0        # bytes of the current chunk still to pass through
        self.need_crlf = False
        self.done = False

    def feed(self, data):
        self.buf += data
        out = bytearray()
        while not self.done:
            if self.left:
                n = min(self.left, len(self.buf))
                if n == 0:
                    break
                out += self.buf[:n]
                del self.buf[:n]
                self.left -= n
                if self.left == 0:
                    self.need_crlf = True
                continue
            if self.need_crlf:
                if len(self.buf) < 2:
                    break
                if self.buf[:2] != b"\r\n":
                    raise ValueError("chunk not followed by CRLF")
                del self.buf[:2]
                self.need_crlf = False
            i = self.buf.find(b"\r\n")
            if i < 0:
                break
            size = int(bytes(self.buf[:i]).split(b";")[0], 16)
            del self.buf[:i + 2]
            if size == 0:
                self.done = True
                break
            self.left = size
        return bytes(out)


# ---------------------------------------------------------------------------
# MJPEG


class ProtocolError(Exception):
    pass


class Part:
    __slots__ = ("headers", "body", "length", "t_done", "frame_id", "capture_time")

    def __init__(self, headers, body, length, t_done):
        self.headers = headers
        self.body = body
        self.length = length
        self.t_done = t_done  # time.time() when the last byte of the JPEG arrived
        fid = headers.get("x-frame-id")
        self.frame_id = int(fid) if fid is not None and fid.isdigit() else None
        try:
            self.capture_time = float(headers["x-capture-time"])
        except (KeyError, ValueError):
            self.capture_time = None


class MultipartParser:
    """Incremental parser of vigil's multipart/x-mixed-replace body.

    The body is PREAMBLE, then parts "headers CRLF CRLF <Content-Length
    bytes> TRAILER". Parts are located by Content-Length only, never by
    searching for the boundary inside JPEG data. With keep_body=False the JPEG
    bytes are counted and dropped without copying (for the load test).
    """

    MAX_HEAD = 4096

    def __init__(self, keep_body=True, on_part=None):
        self.keep_body = keep_body
        self.on_part = on_part
        self.state = "preamble"
        self.buf = bytearray()     # head or boundary bytes being collected
        self.body = bytearray()
        self.left = 0
        self.headers = None
        self.parts = 0
        self.bytes = 0

    def feed(self, data, now=None):
        """Feeds bytes; calls on_part(Part) for every completed part. Raises ProtocolError."""
        if now is None:
            now = time.time()
        mv = memoryview(data)
        pos, end = 0, len(data)
        self.bytes += end
        while pos < end:
            if self.state == "body":
                n = min(self.left, end - pos)
                if self.keep_body:
                    self.body += mv[pos:pos + n]
                pos += n
                self.left -= n
                if self.left == 0:
                    self._finish_part(now)
                continue
            if self.state in ("preamble", "trailer"):
                want = PREAMBLE if self.state == "preamble" else TRAILER
                n = min(len(want) - len(self.buf), end - pos)
                self.buf += mv[pos:pos + n]
                pos += n
                if len(self.buf) == len(want):
                    if bytes(self.buf) != want:
                        raise ProtocolError("expected %r, got %r" % (want, bytes(self.buf)))
                    self.buf = bytearray()
                    self.state = "head"
                elif not want.startswith(bytes(self.buf)):
                    raise ProtocolError("expected %r, got %r" % (want, bytes(self.buf)))
                continue
            # state == "head": collect up to the blank line.
            chunk_end = min(end, pos + self.MAX_HEAD + 4)
            old = len(self.buf)
            self.buf += mv[pos:chunk_end]
            i = self.buf.find(b"\r\n\r\n", max(0, old - 3))
            if i < 0:
                pos = chunk_end
                if len(self.buf) > self.MAX_HEAD:
                    raise ProtocolError("part head longer than %d bytes: %r" % (self.MAX_HEAD, bytes(self.buf[:200])))
                continue
            pos += i + 4 - old
            head = bytes(self.buf[:i])
            self.buf = bytearray()
            self.headers = {}
            for line in head.decode("latin-1").split("\r\n"):
                if ":" not in line:
                    raise ProtocolError("bad part header line %r in %r" % (line, head))
                k, v = line.split(":", 1)
                self.headers[k.strip().lower()] = v.strip()
            cl = self.headers.get("content-length")
            if cl is None or not cl.isdigit():
                raise ProtocolError("part without a valid Content-Length: %r" % head)
            self.left = int(cl)
            self.body = bytearray()
            self.state = "body"
            if self.left == 0:
                self._finish_part(now)

    def _finish_part(self, now):
        self.parts += 1
        length = int(self.headers["content-length"])
        part = Part(self.headers, bytes(self.body) if self.keep_body else None, length, now)
        self.body = bytearray()
        self.state = "trailer"
        if self.on_part is not None:
            self.on_part(part)


def open_stream(port, path="/video_feed", host="127.0.0.1", timeout=5.0, extra_headers="", source=None):
    """Connects and sends a browser-like GET; returns the socket (response not read)."""
    s = connect(port, host, timeout, source)
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: vigil-tests\r\nAccept: */*\r\n%s\r\n"
               % (path, host_header(host, port), extra_headers)).encode("latin-1"))
    return s


class MjpegClient:
    """A blocking MJPEG reader: connect, check the response head, then next_part()."""

    def __init__(self, port, host="127.0.0.1", path="/video_feed", timeout=5.0, keep_body=True, source=None):
        self.sock = open_stream(port, path, host, timeout, source=source)
        self.timeout = timeout
        self.pending = []
        self.parser = MultipartParser(keep_body=keep_body, on_part=self.pending.append)
        self.chunked = None
        self.status = None
        self.headers = None
        self.closed = False
        self._read_head()

    def _read_head(self):
        buf = bytearray()
        deadline = time.monotonic() + self.timeout
        while b"\r\n\r\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no response head within %.1f s" % self.timeout)
            self.sock.settimeout(left)
            d = self.sock.recv(65536)
            if not d:
                raise ConnectionError("closed before the response head: %r" % bytes(buf))
            buf += d
        i = buf.index(b"\r\n\r\n")
        self.status, self.reason, self.headers = parse_head(bytes(buf[:i]))
        rest = bytes(buf[i + 4:])
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            self.chunked = ChunkedDecoder()
        self._leftover = rest

    def _feed(self, data, now):
        if self.chunked is not None:
            data = self.chunked.feed(data)
        if data:
            self.parser.feed(data, now)

    def next_part(self, timeout=None):
        """Returns the next complete Part; raises socket.timeout or ConnectionError."""
        if self.status != 200:
            raise ProtocolError("status %s, not a stream" % self.status)
        if self._leftover:
            d, self._leftover = self._leftover, b""
            self._feed(d, time.time())
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while not self.pending:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no complete part within %.1f s" % timeout)
            self.sock.settimeout(left)
            d = self.sock.recv(262144)
            if not d:
                self.closed = True
                raise ConnectionError("stream closed by the server after %d parts" % self.parser.parts)
            self._feed(d, time.time())
        return self.pending.pop(0)

    def parts(self, n, timeout=10.0):
        """Reads n parts within timeout seconds in total."""
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < n:
            out.append(self.next_part(max(0.01, deadline - time.monotonic())))
        return out

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


class BackgroundMjpeg(threading.Thread):
    """A well-behaved client reading a stream in a thread, recording (t_done, frame_id) per part."""

    def __init__(self, port, host="127.0.0.1"):
        super().__init__(daemon=True)
        self.port = port
        self.host = host
        self.times = []
        self.ids = []
        self.error = None
        self.stop_event = threading.Event()
        self.started_ok = threading.Event()
        self.client = None

    def run(self):
        try:
            self.client = MjpegClient(self.port, self.host, keep_body=False)
            self.started_ok.set()
            while not self.stop_event.is_set():
                try:
                    p = self.client.next_part(timeout=1.0)
                except socket.timeout:
                    continue
                self.times.append(p.t_done)
                self.ids.append(p.frame_id)
        except Exception as e:  # recorded and checked by the test
            if not self.stop_event.is_set():
                self.error = e
        finally:
            self.started_ok.set()
            if self.client:
                self.client.close()

    def count_between(self, t0, t1):
        return sum(1 for t in list(self.times) if t0 <= t < t1)

    def stop(self):
        self.stop_event.set()
        self.join(5)


# ---------------------------------------------------------------------------
# Server-Sent Events


class SseClient:
    """Reads /events. next_event() returns the frame events; the stats messages (event: stats) are kept in
    self.stats as they pass, or returned by next_event(kind="stats")."""

    def __init__(self, port, host="127.0.0.1", path="/events", timeout=5.0, source=None):
        self.stats = []
        self.sock = open_stream(port, path, host, timeout, source=source)
        self.timeout = timeout
        buf = bytearray()
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no response head")
            self.sock.settimeout(left)
            d = self.sock.recv(65536)
            if not d:
                raise ConnectionError("closed before the response head")
            buf += d
        i = buf.index(b"\r\n\r\n")
        self.status, self.reason, self.headers = parse_head(bytes(buf[:i]))
        self.chunked = ChunkedDecoder() if self.headers.get("transfer-encoding", "").lower() == "chunked" else None
        self.buf = bytearray()
        self.retry = None
        self._add(bytes(buf[i + 4:]))

    def _add(self, d):
        if self.chunked is not None:
            d = self.chunked.feed(d)
        self.buf += d.replace(b"\r\n", b"\n")

    def next_event(self, timeout=None, kind="message"):
        """Returns the next message of this kind (its "event" field; "message" when it has none; "*": any)
        with data, as a dict of its fields ('data' lines joined with newlines).

        Comments and data-less messages (such as a lone "retry:") are skipped, as a browser does."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            i = self.buf.find(b"\n\n")
            while i >= 0:
                block = bytes(self.buf[:i]).decode("utf-8")
                del self.buf[:i + 2]
                fields = {}
                for line in block.split("\n"):
                    if not line or line.startswith(":"):
                        continue
                    k, _, v = line.partition(":")
                    if v.startswith(" "):
                        v = v[1:]
                    if k == "data" and "data" in fields:
                        fields["data"] += "\n" + v
                    else:
                        fields[k] = v
                if "retry" in fields:
                    self.retry = fields["retry"]
                # Like a browser, dispatch only messages that carry data.
                if "data" in fields:
                    if fields.get("event", "message") == "stats":
                        self.stats.append(fields)
                    if kind == "*" or fields.get("event", "message") == kind:
                        return fields
                i = self.buf.find(b"\n\n")
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no event within %.1f s" % timeout)
            self.sock.settimeout(left)
            d = self.sock.recv(65536)
            if not d:
                raise ConnectionError("event stream closed by the server")
            self._add(d)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


# ---------------------------------------------------------------------------
# The server process


class Vigil:
    """One `vigil serve` process on a free port. stdout and stderr go to files."""

    def __init__(self, source, *args, port=None, listen_host="127.0.0.1", extra_env=None, cmd="serve"):
        self.port = port or free_port(socket.AF_INET6 if ":" in listen_host else socket.AF_INET, listen_host)
        self.host = listen_host
        listen = "[%s]:%d" % (listen_host, self.port) if ":" in listen_host else "%s:%d" % (listen_host, self.port)
        self.argv = [VIGIL_BIN, cmd]
        if source is not None:
            self.argv += ["--source", source]
        self.argv += ["--listen", listen] + [str(a) for a in args]
        self.tmp = tempfile.TemporaryDirectory(prefix="vigil-test-")
        self.out_path = os.path.join(self.tmp.name, "stdout")
        self.err_path = os.path.join(self.tmp.name, "stderr")
        env = dict(os.environ)
        # Each server keeps its object events in its own folder, never in the user's.
        env["XDG_DATA_HOME"] = os.path.join(self.tmp.name, "data")
        if extra_env:
            env.update(extra_env)
        self._out = open(self.out_path, "wb")
        self._err = open(self.err_path, "wb")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._err,
                                     env=env, preexec_fn=_pdeathsig)
        self.pid = self.proc.pid
        self.returncode = None

    # Convenience: Vigil.start(...) waits until it serves frames.
    @classmethod
    def start(cls, source, *args, ready_timeout=15.0, **kw):
        v = cls(source, *args, **kw)
        try:
            v.wait_ready(ready_timeout)
        except BaseException:
            v.kill()
            raise
        return v

    def wait_ready(self, timeout=15.0):
        """Waits until /healthz answers 200 (the first frame is out). Raises AssertionError on failure."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("vigil exited with %s before it was ready; stderr: %s"
                                     % (self.proc.returncode, self.stderr()[-2000:]))
            try:
                r = http_request(self.port, "/healthz", host=self.host, timeout=2.0)
                last = r.status
                if r.status == 200:
                    return
            except (OSError, ValueError) as e:
                last = e
            time.sleep(0.05)
        raise AssertionError("vigil not ready after %.0f s (last /healthz: %r); stderr: %s"
                             % (timeout, last, self.stderr()[-2000:]))

    def alive(self):
        return self.proc.poll() is None

    def get(self, path, **kw):
        return http_request(self.port, path, host=self.host, **kw)

    def stats(self):
        r = self.get("/api/stats")
        if r.status != 200:
            raise AssertionError("/api/stats: %s" % r.status)
        return r.json()

    def mjpeg(self, **kw):
        return MjpegClient(self.port, self.host, **kw)

    def sse(self, **kw):
        return SseClient(self.port, self.host, **kw)

    def stderr(self):
        try:
            self._err.flush()
            with open(self.err_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stdout(self):
        try:
            with open(self.out_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def sanitizer_report(self):
        """The first AddressSanitizer/LeakSanitizer/UBSan report on stderr, or None."""
        err = self.stderr()
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:", "WARNING: ThreadSanitizer"):
            i = err.find(marker)
            if i >= 0:
                start = err.rfind("\n", 0, max(0, i - 200)) + 1
                return err[start:start + 3000]
        return None

    def send_signal(self, sig):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        """Sends sig and waits. Returns (exit code, seconds from signal to exit); exit code None if it did not exit."""
        if self.proc.poll() is not None:
            self.returncode = self.proc.returncode
            return self.returncode, 0.0
        t0 = time.monotonic()
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None, time.monotonic() - t0
        self.returncode = rc
        return rc, time.monotonic() - t0

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        for f in (self._out, self._err):
            try:
                f.close()
            except OSError:
                pass
        try:
            self.tmp.cleanup()
        except OSError:
            pass


class ConfigVigil(Vigil):
    """`vigil serve --config FILE`: the configuration text is written to a file of its own, with {port}
    replaced by the port the server is to listen on (the file names the listen address, not the command
    line). rewrite() replaces the file's text, for SIGHUP."""

    def __init__(self, config_text, *args, port=None, extra_env=None, node=None):
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.tmp = tempfile.TemporaryDirectory(prefix="vigil-test-")
        self.config_path = os.path.join(self.tmp.name, "vigil.yaml")
        self.rewrite(config_text)
        self.argv = [VIGIL_BIN, "serve", "--config", self.config_path]
        if node:
            self.argv += ["--node", node]
        self.argv += [str(a) for a in args]
        self.out_path = os.path.join(self.tmp.name, "stdout")
        self.err_path = os.path.join(self.tmp.name, "stderr")
        env = dict(os.environ)
        # Each server keeps its object events in its own folder, never in the user's.
        env["XDG_DATA_HOME"] = os.path.join(self.tmp.name, "data")
        if extra_env:
            env.update(extra_env)
        self._out = open(self.out_path, "wb")
        self._err = open(self.err_path, "wb")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._err,
                                     env=env, preexec_fn=_pdeathsig)
        self.pid = self.proc.pid
        self.returncode = None

    def rewrite(self, config_text):
        with open(self.config_path + ".new", "w") as f:
            f.write(config_text.replace("{port}", str(self.port)))
        os.replace(self.config_path + ".new", self.config_path)


def run_vigil(args, timeout=15.0):
    """Runs the binary to completion. Returns (exit code, stdout, stderr, seconds)."""
    t0 = time.monotonic()
    p = subprocess.Popen([VIGIL_BIN] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_pdeathsig)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate(timeout=5)
        return None, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), time.monotonic() - t0
    return p.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), time.monotonic() - t0


def ffmpeg(args, timeout=60.0):
    """Runs the ffmpeg CLI quietly; raises on failure."""
    p = subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", "-y"] + list(args),
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, preexec_fn=_pdeathsig)
    if p.returncode != 0:
        raise RuntimeError("ffmpeg %s failed: %s" % (" ".join(args), p.stderr.decode("utf-8", "replace")))


def jpeg_size(data):
    """(width, height) of a JPEG, checked by decoding it fully with PIL."""
    import io
    from PIL import Image
    with Image.open(io.BytesIO(data)) as im:
        if im.format != "JPEG":
            raise ValueError("not a JPEG: %s" % im.format)
        im.load()
        return im.size


# ---------------------------------------------------------------------------
# Test base class


class VigilTestCase(unittest.TestCase):
    """Skips when the binary is missing, watches for hangs, kills every child on tearDown."""

    @classmethod
    def setUpClass(cls):
        if not have_binary():
            raise unittest.SkipTest("vigil binary not found at %s (set VIGIL_BIN)" % VIGIL_BIN)
        cls._class_children = []

    @classmethod
    def tearDownClass(cls):
        reports = _kill_all(getattr(cls, "_class_children", []))
        if reports:
            raise AssertionError("sanitizer report from vigil:\n" + reports[0])

    @classmethod
    def class_vigil(cls, source, *args, **kw):
        """A server shared by the whole class, killed in tearDownClass."""
        faulthandler.dump_traceback_later(WATCHDOG_S, exit=True)
        try:
            v = Vigil.start(source, *args, **kw)
        finally:
            faulthandler.cancel_dump_traceback_later()
        cls._class_children.append(v)
        return v

    def setUp(self):
        self._children = []
        faulthandler.dump_traceback_later(WATCHDOG_S, exit=True)

    def tearDown(self):
        faulthandler.cancel_dump_traceback_later()
        reports = _kill_all(reversed(self._children))
        if reports:
            self.fail("sanitizer report from vigil:\n" + reports[0])

    def track(self, child):
        """Kills child (a Vigil, a Popen or a socket) on tearDown."""
        self._children.append(child)
        return child

    def vigil(self, source, *args, ready=True, **kw):
        if ready:
            return self.track(Vigil.start(source, *args, **kw))
        return self.track(Vigil(source, *args, **kw))

    def popen(self, argv, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.DEVNULL)
        return self.track(subprocess.Popen(argv, preexec_fn=_pdeathsig, **kw))

    def assertEventually(self, fn, timeout, msg, interval=0.1):
        """Polls fn() until it returns a true value; returns it, or fails with msg and the last value."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                last = fn()
                if last:
                    return last
            except (OSError, ValueError, ProtocolError) as e:
                last = e
            if time.monotonic() > deadline:
                self.fail("%s (after %.1f s; last value: %r)" % (msg, timeout, last))
            time.sleep(interval)


def _kill_all(children):
    """Kills every child; returns the sanitizer reports found in the servers' stderr."""
    reports = []
    for c in children:
        if isinstance(c, Vigil):
            if c.proc.poll() is None:
                c.proc.kill()
                try:
                    c.proc.wait(5)
                except subprocess.TimeoutExpired:
                    pass
            r = c.sanitizer_report()
            if r:
                reports.append(r)
        _kill_child(c)
    return reports


def _kill_child(c):
    try:
        if isinstance(c, Vigil):
            c.kill()
        elif isinstance(c, subprocess.Popen):
            if c.poll() is None:
                c.kill()
                c.wait(5)
        elif hasattr(c, "close"):
            c.close()
    except Exception:
        pass


def requires_vtest(fn):
    return unittest.skipUnless(os.path.exists(VTEST), "vtest.avi not found at %s (Debian opencv-doc)" % VTEST)(fn)


def requires_ffmpeg(fn):
    return unittest.skipUnless(have_ffmpeg(), "ffmpeg CLI not found at %s" % FFMPEG)(fn)


def requires_assets(*names):
    """Skips, naming what is missing, when the shared assets (or one of names in it) are absent."""
    missing = [n for n in names if not os.path.exists(os.path.join(ASSETS, n))]
    if not os.path.isdir(ASSETS):
        reason = "shared assets folder %s absent (set VIGIL_ASSETS)" % ASSETS
    elif missing:
        reason = "shared assets missing: %s" % ", ".join(os.path.join(ASSETS, n) for n in missing)
    else:
        reason = None
    return unittest.skipIf(reason is not None, reason or "")
