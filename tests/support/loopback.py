"""A tiny threaded HTTP server on 127.0.0.1 for the fakes, routed by a handler function."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

# A port this process holds bound but never listens on: the kernel refuses every connection
# to it, and no other program can take it meanwhile (a "closed" port like 9 is only assumed).
_REFUSING = socket.socket()
_REFUSING.bind(("127.0.0.1", 0))
REFUSING_URL = f"http://127.0.0.1:{_REFUSING.getsockname()[1]}"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    reason: str | None = None
    drop: bool = False  # close the connection without answering

    @classmethod
    def json(cls, status: int, data: Any, reason: str | None = None) -> Response:
        return cls(status, json.dumps(data).encode(), {"Content-Type": "application/json"}, reason)


Route = Callable[[Request], Response]


def forward(request: Request, base_url: str) -> Response:
    """Pass a request on to a real server (pypiserver) and its answer back."""
    import requests

    headers = {k: v for k, v in request.headers.items() if k not in ("host", "content-length")}
    answer = requests.request(
        request.method, base_url.rstrip("/") + request.path, params=request.query,
        data=request.body, headers=headers, allow_redirects=False, timeout=30,
    )  # fmt: skip
    keep = {k: v for k, v in answer.headers.items() if k.lower() in ("content-type", "location")}
    return Response(answer.status_code, answer.content, keep, answer.reason)


@contextmanager
def serve(route: Route, tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """Serve `route` on a free loopback port; yields the base URL (no trailing slash).
    `tls`: served over https with that server context."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(
                method=self.command,
                path=parts.path,
                query={k: v[-1] for k, v in parse_qs(parts.query).items()},
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
            )
            response = route(request)
            if response.drop:
                self.close_connection = True
                return
            self.send_response(response.status, response.reason)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            try:
                self.end_headers()
                self.wfile.write(response.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a deliberately slow answer)

        do_GET = do_POST = do_PUT = _handle

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    # A short poll: shutdown() waits for the loop to notice (half a second by default).
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def trickling_server(body_size: int, pause: float, *, headers: bool = False) -> Iterator[str]:
    """Answers 200 with `body_size` declared bytes, sent one every `pause` seconds; with
    `headers`, the header block itself never ends (a header value, a byte at a time)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                with contextlib.suppress(OSError):
                    conn.recv(1 << 20)
                head = f"HTTP/1.1 200 OK\r\nContent-Length: {body_size}\r\n"
                conn.sendall((head + ("X-Slow: " if headers else "\r\n")).encode())
                for _ in range(body_size):
                    if stop.is_set():
                        break
                    try:
                        conn.sendall(b"x")
                    except OSError:
                        break
                    time.sleep(pause)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    finally:
        stop.set()
        thread.join(5)
        listener.close()
