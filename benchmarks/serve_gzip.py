"""A 127.0.0.1 server that answers like GitHub Pages: gzip for text, `Cache-Control: max-age=600`. For bench.py
(Lighthouse "mobile, gzip + cache", chart timing). Glue written by hand because `python -m http.server` cannot
compress, and lhci's own `staticDistDir` server (express + compression) sends `max-age=0` and lives only inside
`lhci collect`, where the chart probe cannot use it. By hand: `.venv/bin/python benchmarks/serve_gzip.py DIR [PORT]`."""
import contextlib
import functools
import gzip
import os
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path

TEXT = (".html", ".css", ".js", ".json", ".svg", ".txt", ".xml", ".map", ".inv", ".ttf")
gzipped = functools.lru_cache(maxsize=None)(lambda path, mtime: gzip.compress(Path(path).read_bytes(), 6))


class Handler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def end_headers(self):
        self.send_header("Cache-Control", "max-age=600")
        super().end_headers()

    def send_head(self):
        path = self.translate_path(self.path)
        if not ("gzip" in self.headers.get("Accept-Encoding", "") and path.endswith(TEXT) and os.path.isfile(path)):
            return super().send_head()
        mtime = os.stat(path).st_mtime
        body = gzipped(path, mtime)
        self.send_response(200)
        for header in {"Content-Type": self.guess_type(path), "Content-Encoding": "gzip", "Content-Length": len(body),
                       "Vary": "Accept-Encoding", "Last-Modified": self.date_time_string(mtime)}.items():
            self.send_header(*map(str, header))
        self.end_headers()
        return BytesIO(body)


@contextlib.contextmanager
def serve_gzip(directory, port: int = 0):
    """Serve ``directory`` on 127.0.0.1 (a free port by default); yields the base URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", port), functools.partial(Handler, directory=str(directory)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


if __name__ == "__main__":
    with serve_gzip(sys.argv[1], int((sys.argv[2:] or [8000])[0])) as url:
        print(f"Serving {sys.argv[1]} on {url}/ (gzip, max-age=600); Ctrl-C to stop", flush=True)
        threading.Event().wait()
