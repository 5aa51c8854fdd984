"""A 127.0.0.1 http.server that answers like GitHub Pages: gzip for text, max-age=600.

Used by benchmarks/bench.py for a second, "as deployed" Lighthouse pass next to the
plain `python -m http.server` one (which sends everything uncompressed and with no
Cache-Control, so Lighthouse counts compression and caching against every page).

    python serve_gzip.py PORT DIRECTORY
"""
from __future__ import annotations

import gzip
import os
import sys
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

TEXT = (".html", ".css", ".js", ".json", ".svg", ".txt", ".xml", ".map", ".inv", ".ttf")


class Handler(SimpleHTTPRequestHandler):
    _cache: dict[tuple[str, float], bytes] = {}

    def log_message(self, *args):
        pass

    def end_headers(self):
        self.send_header("Cache-Control", "max-age=600")
        super().end_headers()

    def send_head(self):
        path = self.translate_path(self.path)
        if os.path.isdir(path):
            path = os.path.join(path, "index.html")
        wants = "gzip" in self.headers.get("Accept-Encoding", "")
        if not (wants and path.endswith(TEXT) and os.path.isfile(path)):
            return super().send_head()
        st = os.stat(path)
        key = (path, st.st_mtime)
        body = self._cache.get(key)
        if body is None:
            with open(path, "rb") as f:
                body = gzip.compress(f.read(), 6)
            self._cache[key] = body
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Last-Modified", self.date_time_string(st.st_mtime))
        self.send_header("Vary", "Accept-Encoding")
        self.end_headers()
        from io import BytesIO
        return BytesIO(body)


def main() -> None:
    port, directory = int(sys.argv[1]), sys.argv[2]
    server = ThreadingHTTPServer(("127.0.0.1", port), partial(Handler, directory=directory))
    server.serve_forever()


if __name__ == "__main__":
    main()
