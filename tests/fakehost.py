"""A model host on 127.0.0.1 for the download tests: it serves given files
at given paths, as the npm registry and Hugging Face do, and can refuse, drop
the connection part way, ignore Range, or redirect. Every request is recorded."""
from __future__ import annotations

import http.server
import threading
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Behaviour:
    status: int | None = None  # answer this status instead of the file
    drop_after: int | None = None  # close the first response after this many bytes
    ranges: bool = True  # honour Range requests
    redirect: str | None = None  # answer 302 to this URL


@dataclass
class Seen:
    path: str
    headers: dict
    range: str | None


@dataclass
class FakeHost:
    files: dict[str, Path | bytes] = field(default_factory=dict)
    behaviour: Behaviour = field(default_factory=Behaviour)
    seen: list[Seen] = field(default_factory=list)
    url: str = ""

    def start(self) -> FakeHost:
        host = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                host.seen.append(Seen(self.path, dict(self.headers), self.headers.get("Range")))
                b = host.behaviour
                if b.redirect:
                    self.send_response(302)
                    self.send_header("Location", b.redirect)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if b.status:
                    self.send_response(b.status)
                    self.send_header("Content-Length", "7")
                    self.end_headers()
                    self.wfile.write(b"refused")
                    return
                body = host.files.get(self.path)
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = body.read_bytes() if isinstance(body, Path) else body
                start = 0
                if self.headers.get("Range") and b.ranges:
                    start = int(self.headers["Range"].removeprefix("bytes=").split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                payload = memoryview(data)[start:]
                if b.drop_after is not None:
                    cut, b.drop_after = b.drop_after, None  # once
                    self.wfile.write(payload[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def downloads(self, path: str) -> int:
        return sum(s.path == path for s in self.seen)
