"""Requests to small endpoints are bounded in time and size, whatever the server does."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from pypi_release._console import Console
from pypi_release._errors import IndexAnswerError, NetworkError
from pypi_release._http import RetryPolicy, request, session


@contextmanager
def trickling_server(body_size: int, pause: float) -> Iterator[str]:
    """Answers 200 with `body_size` declared bytes, sent one every `pause` seconds."""
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
                conn.recv(65536)
                conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {body_size}\r\n\r\n".encode())
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


def test_a_server_that_trickles_cannot_hold_the_run() -> None:
    console = Console(in_actions=False, out=io.StringIO(), err=io.StringIO())
    policy = RetryPolicy(attempts=2, timeout=0.5, backoff=0.01)  # 0.5 s between bytes, 1.5 whole
    started = time.monotonic()

    with (
        trickling_server(10_000, pause=0.1) as url,
        pytest.raises(NetworkError, match="2 attempts"),
    ):
        request(session(), "GET", url, what="the trickling server", console=console, policy=policy)

    assert time.monotonic() - started < 6  # two attempts of 1.5 s, not 10_000 x 0.1 s


def test_an_endless_answer_is_refused_past_the_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from pypi_release import _http

    monkeypatch.setattr(_http, "BODY_LIMIT", 200)
    console = Console(in_actions=False, out=io.StringIO(), err=io.StringIO())
    policy = RetryPolicy(attempts=1, timeout=5)

    with trickling_server(1000, pause=0) as url, pytest.raises(IndexAnswerError, match="larger"):
        request(session(), "GET", url, what="the endless server", console=console, policy=policy)
