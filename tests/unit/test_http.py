"""Requests to small endpoints are bounded in time and size, whatever the server does."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from pypi_release import _twine
from pypi_release._console import Console
from pypi_release._errors import IndexAnswerError, NetworkError
from pypi_release._http import (
    RetryPolicy,
    parse_json,
    read_bounded,
    request,
    save_bounded,
    session,
)
from tests.support.distfiles import make_wheel
from tests.support.loopback import REFUSING_URL, Request, Response, serve, trickling_server


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


# -- the retry policy ----------------------------------------------------------------------


def test_the_whole_answer_gets_three_times_the_time_between_bytes() -> None:
    assert RetryPolicy(timeout=2.5).deadline == 7.5


def test_each_wait_doubles_with_up_to_half_of_it_taken_off_at_random() -> None:
    assert all(0.5 <= RetryPolicy().delay(1) <= 1.0 for _ in range(20))  # the first: 1 s at most
    policy = RetryPolicy(backoff=2.0)
    for attempt, full in ((1, 2.0), (2, 4.0), (3, 8.0), (4, 16.0)):
        waits = [policy.delay(attempt) for _ in range(50)]
        assert all(full / 2 <= wait <= full for wait in waits), (attempt, waits)


def _failing_server(statuses: list[int]) -> Callable[[Request], Response]:
    """Answers each status in turn, then 200 with {"ok": true}."""
    answers = iter(statuses)

    def route(request: Request) -> Response:
        status = next(answers, 200)
        return Response.json(status, {"ok": status == 200})

    return route


def test_a_5xx_is_retried_and_each_retry_said_with_its_number() -> None:
    out = io.StringIO()
    console = Console(in_actions=False, out=out, err=io.StringIO())
    policy = RetryPolicy(attempts=4, backoff=0.01)

    with serve(_failing_server([500, 503, 502])) as url:
        answer = request(session(), "GET", url, what="the test server", console=console,
                         policy=policy)  # fmt: skip

    assert answer.json() == {"ok": True}
    lines = out.getvalue().splitlines()
    assert [line.split(" in ")[0] for line in lines] == [
        "the test server: 500 Internal Server Error; retry 1 of 3",
        "the test server: 503 Service Unavailable; retry 2 of 3",
        "the test server: 502 Bad Gateway; retry 3 of 3",
    ]


def test_no_retry_starts_once_max_seconds_would_be_passed() -> None:
    console = Console(in_actions=False, out=io.StringIO(), err=io.StringIO())
    asked: list[str] = []

    def route(request: Request) -> Response:
        asked.append(request.path)
        return Response(503)

    with serve(route) as url:
        # Waits of 0.05-0.1 s: three attempts fit in half a second...
        fits = request(session(), "GET", url, what="x", console=console,
                       policy=RetryPolicy(attempts=3, backoff=0.1, max_seconds=0.5))  # fmt: skip
        tried = len(asked)
        # ... none after the first when the wait alone would pass the limit.
        request(session(), "GET", url, what="x", console=console,
                policy=RetryPolicy(attempts=3, backoff=0.1, max_seconds=0.04))  # fmt: skip

    assert fits.status_code == 503  # the last answer, once the attempts are spent
    assert tried == 3
    assert len(asked) == 4


# -- bounded bodies ------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "refused"), [(1000, False), (1001, True), (50_000, True)])
def test_a_body_of_exactly_the_limit_is_read_one_byte_more_is_not(size: int, refused: bool) -> None:
    with serve(lambda r: Response(200, b"x" * size)) as url:
        response = session().get(url, stream=True, timeout=5)
        if refused:
            with pytest.raises(IndexAnswerError, match="larger than 1,000 bytes"):
                read_bounded(response, 1000, what="the test server")
        else:
            assert read_bounded(response, 1000, what="the test server") == b"x" * size


class _PlainRaw:
    """A response body that is not urllib3's (no read1): read(size) only."""

    def __init__(self, body: bytes) -> None:
        self._body = io.BytesIO(body)

    def read(self, size: int) -> bytes:
        return self._body.read(size)

    def close(self) -> None:
        pass


def test_a_body_that_is_not_urllib3s_is_read_in_whole_chunks() -> None:
    response = requests.Response()
    response.raw = _PlainRaw(b"y" * 200_000)

    assert read_bounded(response, 300_000, what="the test body") == b"y" * 200_000


@pytest.mark.timeout(20)
def test_a_download_that_trickles_is_cut_at_its_deadline_as_bytes_come(tmp_path: Path) -> None:
    """A file saved from the index: no `within` around it, so the deadline is checked as each
    piece arrives (not once 64 KiB are in)."""
    started = time.monotonic()
    with trickling_server(200, pause=0.05) as url:  # 10 s for 200 bytes
        response = session().get(url, stream=True, timeout=5)
        with pytest.raises(requests.Timeout):
            save_bounded(response, tmp_path / "copy", 10_000, what="the file", seconds=1.0)

    assert time.monotonic() - started < 4


def test_the_system_trust_store_is_used_from_the_first_request(tmp_path: Path) -> None:
    """An index under a private CA named by SSL_CERT_FILE (as pip and uv trust it), asked in a
    fresh interpreter: the very first session verifies against the system's store."""
    from tests.support.private_ca import private_ca

    ca = private_ca(tmp_path / "ca")
    with serve(lambda r: Response.json(200, {"trusted": True}), tls=ca.server) as url:
        done = subprocess.run(
            [sys.executable, "-c",
             "import sys; from pypi_release._http import session; "
             "print(session().get(sys.argv[1], timeout=10).json())", url],
            env={**os.environ, "SSL_CERT_FILE": str(ca.ca_file)},
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "{'trusted': True}"


def test_a_server_nobody_answers_at_is_named_with_the_attempts_and_the_time_spent() -> None:
    console = Console(in_actions=False, out=io.StringIO(), err=io.StringIO())

    with pytest.raises(NetworkError) as failed:
        request(session(), "GET", REFUSING_URL, what="the refusing port", console=console,
                policy=RetryPolicy(attempts=2, backoff=0.01))  # fmt: skip

    assert failed.value.message == (
        "Could not reach the refusing port after 2 attempts (0 s): ConnectionError."
    )


def test_a_small_endpoints_answer_may_be_32_mib_and_no_more() -> None:
    console = Console(in_actions=False, out=io.StringIO(), err=io.StringIO())
    limit = 32 * 2**20
    body = b"x" * (limit + 1)
    with (
        serve(lambda r: Response(200, body)) as url,
        pytest.raises(IndexAnswerError, match="larger than 33,554,432 bytes"),
    ):
        request(session(), "GET", url, what="x", console=console,
                policy=RetryPolicy(attempts=1, timeout=30))  # fmt: skip


def test_json_nested_past_the_parsers_limit_is_not_json() -> None:
    with pytest.raises(ValueError, match="nested too deeply"):
        parse_json(b"[" * 200_000)


def test_the_trust_store_is_patched_in_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import truststore

    from pypi_release import _http

    patched: list[int] = []
    monkeypatch.setattr(_http, "_trusting", False)
    monkeypatch.setattr(truststore, "inject_into_ssl", lambda: patched.append(1))

    _http.use_system_trust_store()
    _http.use_system_trust_store()
    session()

    assert patched == [1]


def test_a_retry_policy_cannot_be_changed_in_place() -> None:
    import dataclasses

    policy = RetryPolicy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.attempts = 99  # type: ignore[misc]


def test_a_call_past_its_deadline_is_left_behind_on_a_daemon_thread() -> None:
    """The run does not wait for it at exit (its socket times out on its own)."""
    import threading

    from pypi_release._http import within

    release = threading.Event()
    with pytest.raises(requests.Timeout, match=r"within 0\.1 s"):
        within(0.1, lambda: release.wait(10), what="the stuck call")
    [left] = [t for t in threading.enumerate() if t.name == "request: the stuck call"]
    assert left.daemon
    release.set()


def test_a_download_within_its_deadline_is_saved(tmp_path: Path) -> None:
    with serve(lambda r: Response(200, b"z" * 5000)) as url:
        response = session().get(url, stream=True, timeout=5)
        save_bounded(response, tmp_path / "copy", 10_000, what="the file", seconds=1.0)

    assert (tmp_path / "copy").read_bytes() == b"z" * 5000


def test_a_gzip_encoded_answer_is_read_decoded() -> None:
    import gzip

    console = Console(in_actions=False, out=io.StringIO(), err=io.StringIO())
    body = gzip.compress(b'{"files": []}')
    answer = Response(200, body, {"Content-Type": "application/json", "Content-Encoding": "gzip"})
    with serve(lambda r: answer) as url:
        got = request(session(), "GET", url, what="x", console=console,
                      policy=RetryPolicy(attempts=1, timeout=5))  # fmt: skip

    assert parse_json(got.content) == {"files": []}


def test_a_refusal_below_500_is_never_retried() -> None:
    console = Console(in_actions=False, out=io.StringIO(), err=io.StringIO())
    asked: list[str] = []

    def route(request: Request) -> Response:
        asked.append(request.path)
        return Response(499)  # the highest 4xx in use (nginx: client closed request)

    with serve(route) as url:
        answer = request(session(), "GET", url, what="x", console=console,
                         policy=RetryPolicy(attempts=3, backoff=0.01))  # fmt: skip

    assert answer.status_code == 499
    assert len(asked) == 1
