#!/usr/bin/env python3
"""A scripted HTTP receiver for the webhook tests, on 127.0.0.1 only.

Every POST is appended to --log as one JSON line (time, path, headers, body); the replies
follow --script ("500,429,200": one status per request, then 200), each after --delay
seconds; 429 and 503 replies carry Retry-After: --retry-after. --port 0 picks a free port
and writes it to --port-file. Stops by itself after --lifetime seconds.
"""
import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--log", required=True)
    ap.add_argument("--script", default="")
    ap.add_argument("--delay", type=float, default=0.0)
    ap.add_argument("--retry-after", default="1")
    ap.add_argument("--lifetime", type=float, default=120.0)
    args = ap.parse_args()
    script = [int(s) for s in args.script.split(",") if s]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n).decode("utf-8", "replace")
            with lock:
                status = script.pop(0) if script else 200
                with open(args.log, "a") as f:
                    f.write(json.dumps({"t": time.time(), "path": self.path,
                                        "headers": dict(self.headers.items()),
                                        "body": body, "status": status}) + "\n")
            if args.delay:
                time.sleep(args.delay)
            reply = b'{"error":"scripted"}' if status >= 300 else b"{}"
            try:
                self.send_response(status)
                if status in (429, 503):
                    self.send_header("Retry-After", args.retry_after)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a drain timeout): that is what some tests do

        def log_message(self, fmt, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(srv.server_address[1]))
        import os
        os.rename(args.port_file + ".tmp", args.port_file)
    threading.Timer(args.lifetime, srv.shutdown).start()
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
