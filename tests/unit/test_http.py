"""Requests to small endpoints are bounded in time and size, whatever the server does."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
import requests

from pypi_release import _twine
from pypi_release._console import Console
from pypi_release._errors import IndexAnswerError, NetworkError
from pypi_release._http import RetryPolicy, request, session
from tests.support.distfiles import make_wheel
from tests.support.loopback import trickling_server


@pytest.mark.timeout(20)
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


@pytest.mark.timeout(20)
def test_a_server_that_trickles_its_headers_cannot_hold_the_run() -> None:
    """requests' timeout is between bytes: a header block sent a byte at a time never trips
    it. The whole answer, headers included, is bounded (3 x timeout an attempt)."""
    console = Console(in_actions=False, out=io.StringIO(), err=io.StringIO())
    policy = RetryPolicy(attempts=2, timeout=0.5, backoff=0.01)

    with (
        trickling_server(10_000, pause=0.1, headers=True) as url,
        pytest.raises(NetworkError, match="2 attempts"),
    ):
        request(session(), "GET", url, what="the trickling server", console=console, policy=policy)


@pytest.mark.timeout(20)
def test_an_upload_whose_answer_trickles_cannot_hold_the_run(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "demo-pkg", "1.0")
    package = _twine.package_file(wheel)

    with trickling_server(10_000, pause=0.1, headers=True) as url:
        repository = _twine.open_repository(url, "__token__", "pypi-x", timeout=0.5)
        with pytest.raises(requests.Timeout, match="within"):
            _twine.upload(repository, package, RetryPolicy(timeout=0.5))
