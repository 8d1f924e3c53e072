"""A loopback stand-in for PyPI's upload endpoint (which cannot run here), answering with the
documented status lines and bodies of docs/platform.md. pypiserver covers the rest."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Answer:
    status: int
    reason: str = ""
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def warehouse(cls, status: int, message: str) -> Answer:
        """Warehouse puts the message in the reason phrase and, for JSON clients, the body."""
        body = json.dumps({"message": message, "code": f"{status} {message}", "title": message})
        return cls(status, message, body, {"Content-Type": "application/json"})


@dataclass
class FakeUploadIndex:
    url: str
    answers: list[Answer]
    received: list[str] = field(default_factory=list)  # the uploaded file names, in order
    by_file: dict[str, Answer] = field(default_factory=dict)  # a fixed answer for a file
    delay: float = 0.0  # seconds each upload takes, to see uploads overlap
    in_flight: int = 0
    most_in_flight: int = 0
    events: list[tuple[str, str]] = field(default_factory=list)  # ("start" | "end", file name)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # What its simple API lists (PEP 691 file entries) at <url>simple/<project>/; None: 404.
    listing: list[dict[str, object]] | None = None


@contextmanager
def fake_upload_index(
    *answers: Answer, by_file: dict[str, Answer] | None = None, delay: float = 0.0
) -> Iterator[FakeUploadIndex]:
    """Answers uploads in order; once the script runs out, every upload gets 200."""
    state = FakeUploadIndex("", list(answers), by_file=by_file or {}, delay=delay)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if state.listing is None or "/simple/" not in self.path:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            payload = json.dumps({"meta": {"api-version": "1.1"}, "files": state.listing}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            marker = b'name="content"; filename="'
            start = body.find(marker) + len(marker)
            name = body[start : body.find(b'"', start)].decode()
            with state.lock:
                state.received.append(name)
                state.events.append(("start", name))
                state.in_flight += 1
                state.most_in_flight = max(state.most_in_flight, state.in_flight)
                answer = state.by_file.get(name) or (
                    state.answers.pop(0) if state.answers else Answer(200, "OK")
                )
            time.sleep(state.delay)
            with state.lock:
                state.in_flight -= 1
                state.events.append(("end", name))
            payload = answer.body.encode()
            self.send_response(answer.status, answer.reason or None)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/legacy/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
