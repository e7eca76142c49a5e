"""vigil behind nginx with TLS: docs/nginx.conf.example, tested.

The example configuration runs as it is, with only its ports, certificate and log paths changed, in an
unprivileged nginx on loopback with a self-signed certificate made by `openssl req`. Through it: a
snapshot, MJPEG parts as they come (proxy_buffering off), the events, the 401 without a token, and
X-Forwarded-For believed through --trusted-proxy, so that failed sign-ins count per client and not
against nginx. Skipped when nginx (Debian's nginx-light) or openssl is missing.
"""

import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
import urllib.parse

import vigil_harness as h

SOURCE = "lavfi:testsrc=size=320x240:rate=25"
TOKEN = "nginx-test-token-5c1d"
NAME = "cam.example.org"
EXAMPLE = os.path.join(h.REPO, "docs", "nginx.conf.example")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
NOBODY = 65534


def _unprivileged():
    # Between fork and exec: die with the test process, and never run nginx as root.
    h._pdeathsig()
    if os.getuid() == 0:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)


def nginx_config(tmp, https_port, http_port, vigil_port):
    """The example with the test's ports and paths, inside a minimal main configuration."""
    with open(EXAMPLE) as f:
        site = f.read()
    replaced = {
        "server 127.0.0.1:8080;": "server 127.0.0.1:%d;" % vigil_port,
        "    listen 80;\n": "    listen 127.0.0.1:%d;\n" % http_port,
        "    listen [::]:80;\n": "",
        "    listen 443 ssl http2;\n": "    listen 127.0.0.1:%d ssl http2;\n" % https_port,
        "    listen [::]:443 ssl http2;\n": "",
        "/etc/letsencrypt/live/cam.example.org/fullchain.pem": os.path.join(tmp, "cert.pem"),
        "/etc/letsencrypt/live/cam.example.org/privkey.pem": os.path.join(tmp, "key.pem"),
        "/var/log/nginx/": tmp + "/",
    }
    for old, new in replaced.items():
        if old not in site:
            raise AssertionError("docs/nginx.conf.example no longer has %r" % old)
        site = site.replace(old, new)
    with open(os.path.join(tmp, "vigil.conf"), "w") as f:
        f.write(site)
    temp = "".join("    %s_temp_path %s;\n" % (k, os.path.join(tmp, k))
                   for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main = ("daemon off;\nmaster_process off;\nworker_processes 1;\npid %s/nginx.pid;\nerror_log %s/error.log;\n"
            "events { worker_connections 64; }\nhttp {\n    access_log off;\n%s    include %s/vigil.conf;\n}\n"
            % (tmp, tmp, temp, tmp))
    path = os.path.join(tmp, "nginx.conf")
    with open(path, "w") as f:
        f.write(main)
    return path


class HttpsClient:
    """HTTP/1.1 over TLS to nginx, from a chosen loopback address."""

    def __init__(self, port, source=None):
        self.port = port
        self.source = source
        self.ctx = ssl.create_default_context()
        self.ctx.check_hostname = False
        self.ctx.verify_mode = ssl.CERT_NONE

    def open(self, path, headers=""):
        raw = h.connect(self.port, source=self.source, timeout=10)
        s = self.ctx.wrap_socket(raw, server_hostname=NAME)
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nAccept: */*\r\n%s\r\n" % (path, NAME, headers)).encode())
        buf = bytearray()
        deadline = time.monotonic() + 10
        while b"\r\n\r\n" not in buf:
            if time.monotonic() > deadline:
                raise socket.timeout("no response head")
            d = s.recv(65536)
            if not d:
                raise ConnectionError("closed before the response head: %r" % bytes(buf))
            buf += d
        i = buf.index(b"\r\n\r\n")
        status, _, hdrs = h.parse_head(bytes(buf[:i]))
        return s, status, hdrs, bytes(buf[i + 4:])

    def post_form(self, path, body):
        raw = h.connect(self.port, source=self.source, timeout=10)
        with self.ctx.wrap_socket(raw, server_hostname=NAME) as s:
            s.sendall(("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                       "Content-Length: %d\r\nConnection: close\r\n\r\n" % (path, NAME, len(body))).encode() + body)
            buf = bytearray()
            while b"\r\n\r\n" not in buf:
                d = s.recv(65536)
                if not d:
                    break
                buf += d
        return h.parse_head(bytes(buf).split(b"\r\n\r\n", 1)[0])

    def get(self, path, headers=""):
        s, status, hdrs, rest = self.open(path, headers + "Connection: close\r\n")
        with s:
            body = bytearray(rest)
            if hdrs.get("transfer-encoding", "").lower() == "chunked":
                dec = h.ChunkedDecoder()
                out = bytearray(dec.feed(bytes(body)))
                while not dec.done:
                    d = s.recv(65536)
                    if not d:
                        break
                    out += dec.feed(d)
                return status, hdrs, bytes(out)
            n = int(hdrs.get("content-length", "-1"))
            while n < 0 or len(body) < n:
                try:
                    d = s.recv(65536)
                except (ssl.SSLError, OSError):
                    break
                if not d:
                    break
                body += d
            return status, hdrs, bytes(body if n < 0 else body[:n])


@unittest.skipUnless(os.access(NGINX, os.X_OK), "nginx missing (Debian package nginx-light)")
@unittest.skipUnless(os.access(OPENSSL, os.X_OK), "openssl missing")
class NginxTest(h.VigilTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.TemporaryDirectory(prefix="vigil-nginx-")
        tmp = cls.tmp.name
        token = os.path.join(tmp, "token")
        with open(token, "w") as f:
            f.write(TOKEN + "\n")
        subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=" + NAME,
                        "-keyout", os.path.join(tmp, "key.pem"), "-out", os.path.join(tmp, "cert.pem")],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        cls.v = cls.class_vigil(SOURCE, "--auth-token", token, "--trusted-proxy", "127.0.0.1",
                                "--allowed-host", NAME)
        cls.https_port, http_port = h.free_port(), h.free_port()
        conf = nginx_config(tmp, cls.https_port, http_port, cls.v.port)
        if os.getuid() == 0:
            for root, dirs, files in os.walk(tmp):
                for n in dirs + files + [""]:
                    os.chown(os.path.join(root, n), NOBODY, NOBODY)
        cls.nginx_log = open(os.path.join(tmp, "nginx.stderr"), "wb")
        cls.nginx = subprocess.Popen([NGINX, "-p", tmp, "-e", os.path.join(tmp, "error.log"), "-c", conf],
                                     stdin=subprocess.DEVNULL, stdout=cls.nginx_log, stderr=subprocess.STDOUT,
                                     preexec_fn=_unprivileged)
        cls._class_children.append(cls.nginx)
        if not h.wait_listening(cls.https_port, timeout=10, proc=cls.nginx):
            with open(os.path.join(tmp, "nginx.stderr"), "rb") as f:
                out = f.read().decode("utf-8", "replace")
            raise AssertionError("nginx did not start: %s %s" % (out, cls.error_log()))

    @classmethod
    def error_log(cls):
        try:
            with open(os.path.join(cls.tmp.name, "error.log")) as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.nginx_log.close()
        cls.tmp.cleanup()

    def test_snapshot_over_https(self):
        c = HttpsClient(self.https_port)
        status, _, _ = c.get("/snapshot.jpg")
        self.assertEqual(status, 401, self.error_log())
        status, hdrs, body = c.get("/snapshot.jpg", "Authorization: Bearer %s\r\n" % TOKEN)
        self.assertEqual(status, 200, self.error_log())
        self.assertEqual(hdrs.get("content-type"), "image/jpeg")
        self.assertEqual(h.jpeg_size(body), (320, 240))
        self.assertEqual(c.get("/healthz")[0], 200)

    def test_mjpeg_parts_through_the_proxy(self):
        c = HttpsClient(self.https_port)
        s, status, hdrs, rest = c.open("/video_feed?token=" + urllib.parse.quote(TOKEN))
        with s:
            self.assertEqual(status, 200, self.error_log())
            self.assertTrue(hdrs.get("content-type", "").startswith("multipart/x-mixed-replace"))
            parts = []
            parser = h.MultipartParser(keep_body=True, on_part=parts.append)
            dec = h.ChunkedDecoder() if hdrs.get("transfer-encoding", "").lower() == "chunked" else None
            feed = (lambda d: parser.feed(dec.feed(d), time.time())) if dec else (lambda d: parser.feed(d, time.time()))
            if rest:
                feed(rest)
            t0 = time.monotonic()
            while len(parts) < 5 and time.monotonic() - t0 < 10:
                d = s.recv(262144)
                if not d:
                    break
                feed(d)
            self.assertGreaterEqual(len(parts), 5, "MJPEG parts through nginx within 10 s")
            # Parts arrive as they are made (25 fps), not held back in nginx's buffers.
            self.assertLess(time.monotonic() - t0, 5.0)
            self.assertEqual(h.jpeg_size(parts[-1].body), (320, 240))

    def test_events_through_the_proxy(self):
        c = HttpsClient(self.https_port)
        s, status, hdrs, rest = c.open("/events", "Authorization: Bearer %s\r\n" % TOKEN)
        with s:
            self.assertEqual(status, 200, self.error_log())
            self.assertTrue(hdrs.get("content-type", "").startswith("text/event-stream"))
            data = bytearray(rest)
            deadline = time.monotonic() + 10
            while b"data:" not in data and time.monotonic() < deadline:
                data += s.recv(65536)
            self.assertIn(b"data:", data)

    def test_failures_count_per_client_behind_the_proxy(self):
        bad, good = HttpsClient(self.https_port, "127.0.0.51"), HttpsClient(self.https_port, "127.0.0.52")
        for i in range(5):
            self.assertEqual(bad.get("/api/stats?token=wrong%d" % i)[0], 401)
        self.assertEqual(bad.get("/api/stats", "Authorization: Bearer %s\r\n" % TOKEN)[0], 429)
        # Another client behind the same nginx is not locked out.
        self.assertEqual(good.get("/api/stats", "Authorization: Bearer %s\r\n" % TOKEN)[0], 200)

    def test_login_cookie_is_secure_behind_tls(self):
        c = HttpsClient(self.https_port, "127.0.0.53")
        status, _, hdrs = c.post_form("/login", urllib.parse.urlencode({"user": "", "password": TOKEN}).encode())
        self.assertEqual(status, 303, self.error_log())
        sc = hdrs.get("set-cookie", "")
        self.assertIn("HttpOnly", sc)
        self.assertIn("; Secure", sc)
        cookie = sc.split(";", 1)[0]
        self.assertEqual(c.get("/api/stats", "Cookie: %s\r\n" % cookie)[0], 200)

    def test_token_not_in_nginx_access_log(self):
        c = HttpsClient(self.https_port)
        self.assertEqual(c.get("/api/stats?token=" + TOKEN)[0], 200)
        time.sleep(0.3)
        with open(os.path.join(self.tmp.name, "vigil.access.log")) as f:
            log = f.read()
        self.assertIn("GET /api/stats", log)
        self.assertNotIn(TOKEN, log)


if __name__ == "__main__":
    unittest.main()
