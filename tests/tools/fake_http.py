#!/usr/bin/env python3
"""A misbehaving HTTP server for the collector's fault tests (stdlib only).

usage: fake_http.py [--port N] [--user USER] [--password-file F] [--token-file F] DIR

Binds 127.0.0.1 (port 0: any free one) and prints the port on stdout, one
line, once it listens. Files come from DIR; the behaviour is chosen by the
first path segment, and NAME is a file name in DIR:

  /ok/NAME          the file (Content-Type text/csv)
  /typed/NAME?ct=T  the file with Content-Type T ("text/html; charset=utf-8")
  /slow/NAME        headers (Content-Length of the file), then one body byte
                    every 5 s: slower than 1 byte/s
  /die-once/NAME    first request: the connection is closed before any answer;
                    then the file
  /500-twice/NAME   HTTP 500 twice, then the file
  /429/NAME         HTTP 429 with "Retry-After: 1" the first time, then the file
  /503-wait/NAME    HTTP 503 with "Retry-After: 30", every time
  /truncated/NAME   Content-Length of the whole file, the first half, then close
  /auth/NAME        the file for "Authorization: Basic USER:PASSWORD" (default
                    user:PASSWORD) or "Bearer TOKEN" (both read from files), else 401;
                    ?delay=S waits S seconds before answering. The password
                    and token come from files (first line), so that they are
                    not on this server's command line either.
  /stats            JSON: {"/path": {"count": N, "times": [unix seconds, ...]}}

Counts are per path (so /die-once/a.csv and /die-once/b.csv are separate).
Every request is logged on stderr; credentials are never logged.
"""
import argparse
import base64
import json
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATS = {}  # path -> {"count": n, "times": [...]}


def record(path):
    with LOCK:
        s = STATS.setdefault(path, {"count": 0, "times": []})
        s["count"] += 1
        s["times"].append(time.time())
        return s["count"]


class Handler(BaseHTTPRequestHandler):
    server_version = "fake_http/1"
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (time.strftime("%H:%M:%S"), fmt % args))

    def send_plain(self, status, text, extra=()):
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def read_file(self, name):
        if not name or "/" in name or name.startswith("."):
            return None
        try:
            with open(os.path.join(self.server.root, name), "rb") as f:
                return f.read()
        except OSError:
            return None

    def send_file(self, data, headers_only=False, ctype="text/csv"):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not headers_only:
            self.wfile.write(data)

    def authorised(self):
        got = self.headers.get("Authorization", "")
        basic = ("Basic " + base64.b64encode(self.server.basic.encode()).decode()
                 if self.server.basic else None)
        token = "Bearer " + self.server.token if self.server.token else None
        return got is not None and got in (basic, token)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        n = record(path)
        if path == "/stats":
            with LOCK:
                body = json.dumps(STATS, indent=1, sort_keys=True)
            self.send_plain(200, body + "\n", [("Content-Type", "application/json")])
            return
        parts = path.strip("/").split("/", 1)
        if len(parts) != 2:
            self.send_plain(404, "no such behaviour\n")
            return
        kind, name = parts
        data = self.read_file(name)
        if data is None:
            self.send_plain(404, "no such file\n")
            return
        try:
            self.behave(kind, n, data, urllib.parse.parse_qs(url.query))
        except (BrokenPipeError, ConnectionResetError):
            self.log_message("%s: the client went away", path)
            self.close_connection = True

    def behave(self, kind, n, data, query):
        if kind == "ok":
            self.send_file(data)
        elif kind == "typed":
            self.send_file(data, ctype=query.get("ct", ["text/csv"])[0])
        elif kind == "slow":
            self.send_file(data, headers_only=True)
            self.wfile.flush()
            for i in range(len(data)):
                time.sleep(5)
                self.wfile.write(data[i : i + 1])
                self.wfile.flush()
        elif kind == "die-once":
            if n == 1:
                self.close_connection = True  # nothing written: an empty reply
            else:
                self.send_file(data)
        elif kind == "500-twice":
            if n <= 2:
                self.send_plain(500, "internal error, attempt %d\n" % n)
            else:
                self.send_file(data)
        elif kind == "429":
            if n == 1:
                self.send_plain(429, "slow down\n", [("Retry-After", "1")])
            else:
                self.send_file(data)
        elif kind == "503-wait":
            self.send_plain(503, "down for maintenance\n", [("Retry-After", "30")])
        elif kind == "truncated":
            self.send_file(data, headers_only=True)
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
        elif kind == "auth":
            delay = float(query.get("delay", ["0"])[0])
            if delay > 0:
                time.sleep(delay)
            if self.authorised():
                self.send_file(data)
            else:
                self.send_plain(401, "who are you?\n", [("WWW-Authenticate", 'Basic realm="test"')])
        else:
            self.send_plain(404, "no such behaviour\n")


def first_line(path, default):
    if not path:
        return default
    with open(path, encoding="utf-8") as f:
        return f.readline().rstrip("\r\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--user", default="user", help="user name that /auth/ accepts")
    ap.add_argument("--password-file", help="file holding the password /auth/ accepts")
    ap.add_argument("--token-file", help="file holding the bearer token /auth/ accepts")
    ap.add_argument("root")
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    srv.root = a.root
    # No credential is built in: without the files, /auth/ accepts nothing.
    srv.basic = a.user + ":" + first_line(a.password_file, None) if a.password_file else None
    srv.token = first_line(a.token_file, None) if a.token_file else None
    print(srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
